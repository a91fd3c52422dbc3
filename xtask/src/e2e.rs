//! The browser end-to-end tests: Playwright (npm `@playwright/test`, pinned in
//! `e2e/package-lock.json`) drives Debian's `/usr/bin/chromium` through the
//! playground page in `www/`, served from `e2e/serve.mjs`. No browser is ever
//! downloaded: `PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1`, and the config points at
//! the system Chromium.
//!
//! Screenshots and failure traces land in `target/e2e-artifacts/`.
//!
//! `cargo xtask bench-web` runs only the page's measurement
//! (`e2e/tests/perf.spec.js`: 8 nodes, 1,000 writes/s, simulated time at
//! 1×): frames per second, frame work split into simulating, reading and
//! drawing, the renderer main thread's CPU time per frame and per simulated
//! second (from a Chromium trace), each frame call's cost timed paused,
//! simulated events per second, and the machine's load average. It reports
//! numbers and asserts no speed (speed targets live in benchmarks), only
//! what holds on any machine: the simulated clock never runs ahead of real
//! time, the replicas keep streaming, the invariants hold.

use crate::proc::{free_port, root, run, target_dir};
use crate::Result;
use std::process::Command;

/// The system packages the browser tests need, with the program that proves each is there.
pub const APT_PACKAGES: &[(&str, &str)] = &[
    ("chromium", "chromium"),
    ("chromium-driver", "chromedriver"),
    ("nodejs", "node"),
    ("npm", "npm"),
];

/// Where the screenshots and Playwright's results go.
pub fn artifacts_dir() -> std::path::PathBuf {
    target_dir().join("e2e-artifacts")
}

/// Build the page's WASM package into `www/pkg`, install the pinned
/// Playwright (`npm ci`), and run the browser tests.
pub fn run_e2e() -> Result {
    playwright(&[], &[])?;
    println!("e2e: screenshots in {}", artifacts_dir().display());
    Ok(())
}

/// `cargo xtask bench-web [--seconds N]`: the page's frame rate and frame
/// work with 8 nodes at 1,000 writes/s (see the module docs).
pub fn run_bench_web(args: &[String]) -> Result {
    let opts = crate::options(args, &["seconds"])?;
    let seconds = match opts.iter().find(|(k, _)| k == "seconds") {
        Some((_, v)) => v
            .parse::<u32>()
            .map_err(|_| format!("--seconds {v}: not a whole number"))?,
        None => 10,
    };
    playwright(
        &["tests/perf.spec.js"],
        &[("PERF_SECONDS", seconds.to_string())],
    )?;
    println!(
        "bench-web: report in {}",
        artifacts_dir().join("perf.json").display()
    );
    Ok(())
}

/// Build the WASM package, `npm ci`, then `playwright test` with `tests`
/// (all when empty) and extra environment variables.
fn playwright(tests: &[&str], env: &[(&str, String)]) -> Result {
    crate::web::build_web_pkg()?;
    let dir = root().join("e2e");
    let mut ci = npm(&dir);
    ci.args(["ci", "--no-audit", "--no-fund"]);
    run(ci)?;
    let mut test = npm(&dir);
    test.args(["exec", "--", "playwright", "test"]).args(tests);
    test.env("E2E_PORT", free_port()?.to_string());
    test.env("E2E_ARTIFACTS", artifacts_dir());
    for (k, v) in env {
        test.env(k, v);
    }
    run(test)
}

fn npm(dir: &std::path::Path) -> Command {
    let mut c = Command::new("npm");
    c.current_dir(dir);
    c.env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    c
}
