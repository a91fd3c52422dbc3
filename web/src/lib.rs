//! tandem-web: the browser's handle on the core's playground
//! (`tandem_core::sim::playground`), through wasm-bindgen.
//!
//! Every method only converts between JS and Rust values (numbers and
//! strings as they are, views through serde-wasm-bindgen as plain objects,
//! errors as thrown `Error`s); what the playground does and shows is decided
//! in the core, where it is tested natively. The JS API is documented in
//! `web/README.md`.
#![forbid(unsafe_code)]

use serde::Serialize;
use tandem_core::sim::playground as core;
use wasm_bindgen::prelude::*;

pub use tandem_core;

/// Install the panic hook (a Rust panic shows its message in the console).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

fn err(e: String) -> JsError {
    JsError::new(&e)
}

/// The scenario presets: `[{id, title, summary, expect, tour, script}]`.
#[wasm_bindgen]
pub fn scenarios() -> Result<JsValue, JsError> {
    to_js(&core::Playground::scenarios())
}

/// A simulated deployment running one scenario from one seed.
#[wasm_bindgen]
pub struct Playground {
    inner: core::Playground,
}

#[wasm_bindgen]
impl Playground {
    /// `new Playground("42", "link-blip")`; the seed is a u64 as a string.
    #[wasm_bindgen(constructor)]
    pub fn new(seed: &str, scenario: &str) -> Result<Playground, JsError> {
        let seed = seed
            .trim()
            .parse::<u64>()
            .map_err(|_| err(format!("seed '{seed}' is not a whole number (0 to 2^64-1)")))?;
        let inner = core::Playground::new(seed, scenario).map_err(err)?;
        Ok(Playground { inner })
    }

    /// The seed, as a string.
    #[wasm_bindgen(getter)]
    pub fn seed(&self) -> String {
        self.inner.seed().to_string()
    }

    /// The scenario id.
    #[wasm_bindgen(getter)]
    pub fn scenario(&self) -> String {
        self.inner.scenario().id.to_string()
    }

    /// Process one event; false when nothing is queued.
    pub fn step(&mut self) -> bool {
        self.inner.step()
    }

    /// Advance the simulated clock by `ms`; returns the events processed.
    pub fn run_for(&mut self, ms: f64) -> f64 {
        self.inner.run_for(ms.max(0.0) as u64) as f64
    }

    /// Simulated ms since the start.
    pub fn now(&self) -> f64 {
        self.inner.now() as f64
    }

    /// Events processed so far.
    pub fn steps(&self) -> f64 {
        self.inner.steps() as f64
    }

    /// The picture now (see README: Snapshot).
    pub fn snapshot(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.inner.snapshot())
    }

    /// The picture for a view redrawn every frame: at most one node's
    /// digest is recomputed (see README: Snapshot, `digest_offset`).
    pub fn snapshot_live(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.inner.snapshot_live())
    }

    /// `{next, events}` from `cursor` on.
    pub fn events_since(&self, cursor: f64) -> Result<JsValue, JsError> {
        to_js(&self.inner.events_since(cursor.max(0.0) as u64))
    }

    /// Send a console line to node `node`; the reply as redis-cli prints it.
    pub fn command(&mut self, node: u32, line: &str) -> Result<String, JsError> {
        self.inner.command(node as usize, line).map_err(err)
    }

    /// Apply an action (`crash 1`, `cut 0 2`, ...); what happened.
    pub fn act(&mut self, line: &str) -> Result<String, JsError> {
        self.inner.act(line).map_err(err)
    }

    /// The run as a URL fragment (seed, scenario, action log, position).
    pub fn export(&self) -> String {
        self.inner.export()
    }

    /// Replay an exported run to the same step.
    #[wasm_bindgen(js_name = import)]
    pub fn import_run(fragment: &str) -> Result<Playground, JsError> {
        let inner = core::Playground::import(fragment).map_err(err)?;
        Ok(Playground { inner })
    }

    /// 16 hex digits; the same natively for the same seed and action log.
    pub fn trace_hash(&self) -> String {
        self.inner.trace_hash()
    }
}
