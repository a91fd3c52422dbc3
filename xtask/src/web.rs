//! The browser half of `cargo xtask test`: the tools it needs, the wasm
//! package build, and the wasm-bindgen tests in headless Chromium.
//!
//! Tools (installed only when missing or at the wrong version; see
//! `reference/toolchain.md` §1, §6, §7):
//! * `chromium` and `chromium-driver` from Debian (installed by
//!   `setup::ensure_tools` with the other apt packages, in one transaction
//!   so their versions match; wasm-pack finds `/usr/bin/chromedriver` and
//!   never downloads one);
//! * `wasm-pack` 0.15.1 (`cargo install --locked`);
//! * `wasm-bindgen-cli` at exactly the `wasm-bindgen` version in
//!   `Cargo.lock` (without `--locked`: its packaged lock file pins a crate
//!   version the registry mirror does not have). wasm-pack uses the copy on
//!   PATH only when the versions match; `--mode no-install` makes it fail at
//!   once instead of compiling its own copy.
//!
//! wasm-opt is never run: `web/Cargo.toml` turns it off for every profile
//! and the build passes `--no-opt` too (Debian's wasm-opt 108 breaks
//! wasm-bindgen 0.2.130's output).

use crate::proc::{cargo, root, run};
use crate::Result;
use std::process::Command;

/// The wasm-pack version the recipe was checked with.
pub const WASM_PACK_VERSION: &str = "0.15.1";

fn version_of(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace().nth(1).map(str::to_string)
}

/// The `wasm-bindgen` version pinned in `Cargo.lock`.
pub fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen entry".into())
}

/// Install wasm-pack and wasm-bindgen-cli if missing or at another version
/// (chromium and chromium-driver come from apt with the other system
/// packages, see `setup.rs` and `e2e.rs`).
pub fn ensure_web_tools() -> Result {
    if version_of("wasm-pack").as_deref() != Some(WASM_PACK_VERSION) {
        println!("==> installing wasm-pack {WASM_PACK_VERSION} (a few minutes, once)");
        let mut c = cargo();
        c.args([
            "install",
            "--locked",
            "wasm-pack",
            "--version",
            WASM_PACK_VERSION,
        ]);
        run(c)?;
    }
    let wbg = locked_wasm_bindgen()?;
    if version_of("wasm-bindgen").as_deref() != Some(wbg.as_str()) {
        println!("==> installing wasm-bindgen-cli {wbg} (a few minutes, once)");
        let mut c = cargo();
        // Not --locked: see the module docs.
        c.args(["install", "wasm-bindgen-cli", "--version", &wbg]);
        run(c)?;
    }
    Ok(())
}

fn wasm_pack() -> Command {
    let mut c = Command::new("wasm-pack");
    c.current_dir(root());
    c
}

/// `wasm-pack build web --target web --out-dir ../www/pkg` (release, no
/// wasm-opt, never downloading tools). The page and its browser tests load
/// `www/pkg/tandem_web.js`.
pub fn build_web_pkg() -> Result {
    ensure_web_tools()?;
    let mut c = wasm_pack();
    c.args([
        "build",
        "web",
        "--target",
        "web",
        "--out-dir",
        "../www/pkg",
        "--mode",
        "no-install",
        "--no-opt",
        "--release",
    ]);
    run(c)
}

/// The native trace hash of the determinism case (see `web/tests/browser.rs`).
pub fn native_determinism_hash() -> Result<String> {
    let out = cargo()
        .args([
            "run",
            "--quiet",
            "-p",
            "tandem-core",
            "--features",
            "serde",
            "--example",
            "playground_hash",
        ])
        .current_dir(root())
        .output()
        .map_err(|e| format!("running the playground_hash example: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "playground_hash failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if hash.len() != 16 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "playground_hash printed {hash:?}, not 16 hex digits"
        ));
    }
    Ok(hash)
}

/// The wasm-bindgen tests of `web/` in headless Chromium, with the native
/// hash handed to the determinism test.
pub fn test_web_in_chromium() -> Result {
    ensure_web_tools()?;
    let hash = native_determinism_hash()?;
    println!("native playground trace hash: {hash}");
    let mut c = wasm_pack();
    c.args([
        "test",
        "--headless",
        "--chrome",
        "--mode",
        "no-install",
        "web",
    ])
    .env("WASM_BINDGEN_USE_BROWSER", "1")
    .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
    .env("WASM_BINDGEN_TEST_DRIVER_TIMEOUT", "30")
    .env("TANDEM_NATIVE_TRACE_HASH", hash);
    run(c)
}
