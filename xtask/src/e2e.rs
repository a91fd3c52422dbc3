//! The browser end-to-end tests: Playwright (npm `@playwright/test`, pinned in
//! `e2e/package-lock.json`) drives Debian's `/usr/bin/chromium` through the
//! playground page in `www/`, served from `e2e/serve.mjs`. No browser is ever
//! downloaded: `PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1`, and the config points at
//! the system Chromium.
//!
//! Screenshots and failure traces land in `target/e2e-artifacts/`.

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
    crate::web::build_web_pkg()?;
    let dir = root().join("e2e");
    let mut ci = npm(&dir);
    ci.args(["ci", "--no-audit", "--no-fund"]);
    run(ci)?;
    let mut test = npm(&dir);
    test.args(["exec", "--", "playwright", "test"]);
    test.env("E2E_PORT", free_port()?.to_string());
    test.env("E2E_ARTIFACTS", artifacts_dir());
    run(test)?;
    println!("e2e: screenshots in {}", artifacts_dir().display());
    Ok(())
}

fn npm(dir: &std::path::Path) -> Command {
    let mut c = Command::new("npm");
    c.current_dir(dir);
    c.env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    c
}
