//! The bindings in a real browser (headless Chromium through
//! `wasm-pack test --headless --chrome web`, run by `cargo xtask test`).
//!
//! The determinism test compares the trace hash of the core's reference run
//! replayed here, in WebAssembly, through the JS-facing API, with the hash
//! the same run gives natively: xtask computes the native one first and
//! passes it in `TANDEM_NATIVE_TRACE_HASH`; building these tests without it
//! fails.
#![cfg(target_arch = "wasm32")]

use serde::Deserialize;
use tandem_web::tandem_core::sim::playground::REFERENCE_RUN;
use tandem_web::{scenarios, Playground};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const NATIVE_HASH: &str = env!("TANDEM_NATIVE_TRACE_HASH");

#[derive(Deserialize, Debug)]
struct Expect {
    verdict: String,
    reason_contains: String,
    master: usize,
    replica: usize,
    by_ms: f64,
}

#[derive(Deserialize, Debug)]
struct Preset {
    id: String,
    expect: Expect,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Card {
    master: usize,
    replica: Option<usize>,
    verdict: String,
    reason: String,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Node {
    name: String,
    role: String,
    offset: i64,
    digest: String,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Snap {
    now: f64,
    nodes: Vec<Node>,
    decisions: Vec<Card>,
    violations: Vec<String>,
}

fn new(seed: &str, scenario: &str) -> Playground {
    Playground::new(seed, scenario)
        .ok()
        .expect("a preset from a valid seed")
}

fn snap(pg: &mut Playground) -> Snap {
    let v = pg.snapshot().ok().expect("snapshot converts");
    serde_wasm_bindgen::from_value(v).expect("snapshot shape")
}

fn json(v: &JsValue) -> String {
    js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .expect("JSON")
}

#[wasm_bindgen_test]
fn same_trace_hash_as_native() {
    let (seed, scenario, steps) = REFERENCE_RUN;
    let mut pg = new(&seed.to_string(), scenario);
    for step in steps {
        match step.strip_prefix("run ") {
            Some(ms) => {
                pg.run_for(ms.parse().expect("ms"));
            }
            None => {
                pg.act(step).ok().expect("reference action");
            }
        }
    }
    assert_eq!(pg.trace_hash(), NATIVE_HASH);
}

#[wasm_bindgen_test]
fn every_preset_shows_its_verdict() {
    let presets: Vec<Preset> =
        serde_wasm_bindgen::from_value(scenarios().ok().expect("scenarios")).expect("shape");
    let ids: Vec<&str> = presets.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "cold-start",
            "writes-during-sync",
            "link-blip",
            "backlog-overflow",
            "replica-restart",
            "failover",
            "chained",
            "wait"
        ]
    );
    for p in &presets {
        let mut pg = new("42", &p.id);
        pg.run_for(p.expect.by_ms);
        let s = snap(&mut pg);
        let card = s
            .decisions
            .iter()
            .filter(|d| d.master == p.expect.master && d.replica == Some(p.expect.replica))
            .last()
            .unwrap_or_else(|| panic!("{}: no decision", p.id));
        assert_eq!(card.verdict, p.expect.verdict, "{}: {card:?}", p.id);
        assert!(
            card.reason.contains(&p.expect.reason_contains),
            "{}: {card:?}",
            p.id
        );
        assert!(s.violations.is_empty(), "{}: {:?}", p.id, s.violations);
    }
}

#[wasm_bindgen_test]
fn console_actions_errors_and_shared_runs() {
    let mut pg = new("7", "link-blip");
    assert_eq!(pg.seed(), "7");
    assert_eq!(pg.scenario(), "link-blip");
    assert!(!Playground::new("x", "link-blip").is_ok());
    assert!(!Playground::new("7", "no-such").is_ok());
    pg.run_for(1500.0);
    assert_eq!(pg.command(0, "SET a 1").ok().as_deref(), Some("OK"));
    assert_eq!(
        pg.command(1, "SET a 2").ok().as_deref(),
        Some("(error) READONLY You can't write against a read only replica.")
    );
    assert!(pg.act("explode 1").is_err());
    assert!(pg.command(9, "PING").is_err());
    assert!(pg.act("crash 2").ok().expect("crash").contains("crashed"));
    pg.run_for(800.0);
    assert!(pg.step());
    let events = pg.events_since(0.0).ok().expect("events");
    let text = json(&events);
    assert!(text.contains("\"kind\":\"decision\""), "{}", &text[..200]);
    assert!(text.contains("\\\\r\\\\n"), "RESP bytes are escaped");
    let fragment = pg.export();
    let mut copy = Playground::import_run(&fragment).ok().expect("import");
    assert_eq!(copy.trace_hash(), pg.trace_hash());
    assert_eq!(copy.steps(), pg.steps());
    assert_eq!(snap(&mut copy), snap(&mut pg));
    assert!(Playground::import_run("seed=1").is_err());
}

/// The web build leaves the core's `command-docs` feature out: COMMAND DOCS
/// answers as redis-server does for a command registered without docs (the
/// group alone, subcommands for a container), while COMMAND INFO keeps
/// redis-server's data (ACL categories here).
#[wasm_bindgen_test]
fn command_docs_without_the_docs_text() {
    let mut pg = new("3", "cold-start");
    pg.run_for(500.0);
    assert_eq!(
        pg.command(0, "COMMAND DOCS get").ok().as_deref(),
        Some("1) \"get\"\n2) 1) \"group\"\n   2) \"string\"")
    );
    let config = pg.command(0, "COMMAND DOCS config").ok().expect("reply");
    assert!(
        config.starts_with(
            "1) \"config\"\n2) 1) \"group\"\n   2) \"server\"\n   3) \"subcommands\"\n"
        ),
        "{config}"
    );
    assert!(config.contains("\"config|get\""), "{config}");
    assert!(!config.contains("summary"), "{config}");
    let info = pg.command(0, "COMMAND INFO get").ok().expect("reply");
    assert!(
        info.contains(") @read\n") && info.contains(") @string\n"),
        "{info}"
    );
}

#[wasm_bindgen_test]
fn simulated_events_per_second() {
    let mut pg = new("1", "backlog-overflow");
    let t0 = js_sys::Date::now();
    let events = pg.run_for(8_000.0);
    let ms = (js_sys::Date::now() - t0).max(1.0);
    let s = snap(&mut pg);
    assert!(s.now >= 8_000.0 && events > 1_000.0);
    console_log!(
        "backlog-overflow: {events} events in {ms} ms = {} simulated events/s ({} nodes)",
        (events / ms * 1000.0).round(),
        s.nodes.len()
    );
}

#[derive(Deserialize, Debug, PartialEq)]
struct PsyncNow {
    replid: String,
    offset: i64,
    verdict: String,
    reason: String,
}

#[derive(Deserialize, Debug)]
struct NodeNow {
    replid: String,
    offset: i64,
    psync_now: Option<PsyncNow>,
}

#[derive(Deserialize, Debug)]
struct SnapNow {
    nodes: Vec<NodeNow>,
}

#[derive(Deserialize, Debug)]
struct Event {
    step: f64,
    kind: String,
}

#[derive(Deserialize, Debug)]
struct Page {
    events: Vec<Event>,
}

/// `EventView.step`, `import` with `at=STEP` and `nodes[].psync_now`, as
/// the page reads them.
#[wasm_bindgen_test]
fn event_steps_jump_to_a_step_and_psync_now() {
    let mut pg = new("3", "link-blip");
    pg.run_for(2_600.0); // n0–n1 cut at 2000 ms
    let s: SnapNow =
        serde_wasm_bindgen::from_value(pg.snapshot().ok().expect("snapshot")).expect("shape");
    assert_eq!(s.nodes[0].psync_now, None);
    let n1 = &s.nodes[1];
    let now = n1.psync_now.as_ref().expect("n1 is a replica of a live n0");
    assert_eq!((&now.replid, now.offset), (&n1.replid, n1.offset + 1));
    assert_eq!(now.verdict, "CONTINUE", "{now:?}");
    assert!(now.reason.contains("within the backlog"), "{now:?}");

    let page: Page =
        serde_wasm_bindgen::from_value(pg.events_since(0.0).ok().expect("events")).expect("shape");
    let cut = page
        .events
        .iter()
        .find(|e| e.kind == "fault")
        .expect("the scripted cut");
    assert!(cut.step > 0.0 && cut.step <= pg.steps());
    let fragment = pg.export();
    let (head, rest) = fragment.split_once("&at=").expect("at");
    let log = rest.split_once("&log=").expect("log").1;
    let jump = format!("{head}&at={}&log={log}", cut.step);
    let copy = Playground::import_run(&jump).ok().expect("import at=STEP");
    assert_eq!(copy.steps(), cut.step);
    let mut replay = new("3", "link-blip");
    while replay.steps() < cut.step {
        assert!(replay.step());
    }
    assert_eq!(copy.trace_hash(), replay.trace_hash());
    assert!(Playground::import_run(&format!("{head}&at=1x")).is_err());
}
