//! `cargo xtask test`: install what is missing, then run every check CI runs,
//! in order, stopping at the first failure.
//!
//! Installs: `redis-server`/`redis-tools` (the differential and interop tests
//! compare Tandem with a real redis-server 7.0.15) through apt when running
//! as root, the rustup components `rustfmt` and `clippy`, and the rustup
//! target `wasm32-unknown-unknown` (the core must build for the browser),
//! and for the playground's browser tests `chromium`, `chromium-driver`,
//! `nodejs` and `npm` (see `e2e.rs`).
//! When something cannot be installed, it prints the exact command to run.

use crate::proc::{cargo, have, is_root, run};
use crate::Result;
use std::process::{Command, Stdio};

/// The system packages the tests need, with the program that proves each is there.
const APT_PACKAGES: &[(&str, &str)] = &[
    ("redis-server", "redis-server"),
    ("redis-tools", "redis-cli"),
    ("redis-tools", "redis-benchmark"),
];

/// The wasm target the core is checked against.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Install what the checks need, or explain how.
pub fn ensure_tools() -> Result {
    let mut missing: Vec<&str> = APT_PACKAGES
        .iter()
        .chain(crate::e2e::APT_PACKAGES)
        .filter(|(_, program)| !have(program))
        .map(|(pkg, _)| *pkg)
        .collect();
    missing.dedup();
    if !missing.is_empty() {
        let install = format!(
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y {}",
            missing.join(" ")
        );
        if !is_root() {
            return Err(format!(
                "missing {}; install with: sudo sh -c '{install}'",
                missing.join(", ")
            ));
        }
        println!("==> installing {} (apt)", missing.join(", "));
        run(sh(&install))?;
        // Debian starts the packaged service; it would hold port 6379.
        let _ = run(sh("service redis-server stop || true"));
    }
    if !have("rustup") {
        let ok = have_cargo_sub("fmt") && have_cargo_sub("clippy") && has_wasm_std();
        if ok {
            return Ok(());
        }
        return Err(format!(
            "no rustup: install rustfmt, clippy and the {WASM_TARGET} target for your toolchain"
        ));
    }
    for comp in ["fmt", "clippy"] {
        if !have_cargo_sub(comp) {
            let name = if comp == "fmt" { "rustfmt" } else { "clippy" };
            let mut c = Command::new("rustup");
            c.args(["component", "add", name]);
            run(c)?;
        }
    }
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == WASM_TARGET) {
        let mut c = Command::new("rustup");
        c.args(["target", "add", WASM_TARGET]);
        run(c)?;
    }
    Ok(())
}

fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.args(["-c", script]);
    c
}

fn have_cargo_sub(sub: &str) -> bool {
    cargo()
        .args([sub, "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn has_wasm_std() -> bool {
    Command::new("rustc")
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .is_ok_and(|o| {
            let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
            o.status.success() && std::path::Path::new(&dir).exists()
        })
}

/// The checks, in the order they run: a title and the cargo arguments.
const CHECKS: &[(&str, &[&str])] = &[
    ("formatting", &["fmt", "--all", "--check"]),
    (
        "lints",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    (
        "the core builds for the browser",
        &["build", "-p", "tandem-core", "--target", WASM_TARGET],
    ),
    // The integration tests start the real `tandem` binary; build it up
    // front rather than from inside the first test that needs it.
    ("the binaries", &["build", "--workspace", "--bins"]),
    ("every test", &["test", "--workspace"]),
    (
        "the core's unit tests without its default features, as the browser build has it (no COMMAND DOCS text, no legacy RDB encodings)",
        &["test", "-p", "tandem-core", "--no-default-features", "--lib"],
    ),
    (
        "2,000 simulator seeds with faults and invariants, and the regression seeds",
        &[
            "run",
            "--release",
            "-p",
            "tandem-core",
            "--example",
            "sim",
            "--",
            "--seeds",
            "0..2000",
            "--regressions",
            "core/tests/sim_regressions.txt",
        ],
    ),
    (
        "a short fuzz run of the RDB decoder",
        &[
            "run",
            "-p",
            "tandem-core",
            "--example",
            "fuzz_rdb",
            "--",
            "--seconds",
            "20",
        ],
    ),
];

/// A step that is not a plain cargo command.
type Step = fn() -> Result;

/// `cargo xtask test`.
pub fn test(args: &[String]) -> Result {
    crate::options(args, &[])?;
    ensure_tools()?;
    for (i, (title, cargo_args)) in CHECKS.iter().enumerate() {
        println!("\n### step {}/{}: {title}", i + 1, CHECKS.len() + 2);
        let mut c = cargo();
        c.args(*cargo_args);
        run(c)?;
    }
    let browser: [(&str, Step); 2] = [
        (
            "the web crate's wasm-bindgen tests in headless Chromium (native vs WASM trace hash)",
            crate::web::test_web_in_chromium,
        ),
        (
            "the playground in a real browser (Playwright + Chromium)",
            crate::e2e::run_e2e,
        ),
    ];
    let total = CHECKS.len() + browser.len();
    for (i, (title, step)) in browser.iter().enumerate() {
        println!("\n### step {}/{total}: {title}", CHECKS.len() + i + 1);
        step()?;
    }
    println!("\nxtask test: all {total} steps passed");
    Ok(())
}
