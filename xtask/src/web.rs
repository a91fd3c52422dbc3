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

/// `wasm-pack build web --target web --out-dir ../www/pkg` with the
/// `wasm-release` profile (LTO, size-optimized; see the workspace
/// `Cargo.toml`), no wasm-opt, never downloading tools. The page and its
/// browser tests load `www/pkg/tandem_web.js`.
///
/// The module is linked unstripped, so wasm-bindgen sees its target
/// features and writes the shorter externref glue (4,072 B gzipped rather
/// than 4,212 with `strip = true`); the name and producers sections are
/// then cut out of the package's `.wasm` here ([`without_custom_sections`]).
pub fn build_web_pkg() -> Result {
    ensure_web_tools()?;
    let mut c = wasm_pack();
    c.env("CARGO_PROFILE_WASM_RELEASE_STRIP", "false");
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
        "--profile",
        "wasm-release",
    ]);
    run(c)?;
    let wasm = root().join("www/pkg/tandem_web_bg.wasm");
    let bytes = std::fs::read(&wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
    let small = without_custom_sections(&bytes, &["name", "producers"])?;
    std::fs::write(&wasm, &small).map_err(|e| format!("writing {}: {e}", wasm.display()))?;
    println!(
        "==> {}: {} bytes ({} without its name and producers sections)",
        wasm.display(),
        bytes.len(),
        small.len()
    );
    Ok(())
}

/// A WebAssembly module without its custom sections of these names (the
/// binary format: 8 header bytes, then sections of an id byte, a LEB128
/// size and the payload; a custom section, id 0, starts with its name).
pub fn without_custom_sections(module: &[u8], names: &[&str]) -> Result<Vec<u8>> {
    fn leb(b: &[u8], at: &mut usize) -> Result<usize> {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = *b.get(*at).ok_or("truncated LEB128")?;
            *at += 1;
            value |= ((byte & 0x7f) as usize) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
            shift += 7;
            if shift > 35 {
                return Err("LEB128 too long".into());
            }
        }
    }
    if module.len() < 8 || &module[..4] != b"\0asm" {
        return Err("not a WebAssembly module".into());
    }
    let mut out = module[..8].to_vec();
    let mut at = 8;
    while at < module.len() {
        let start = at;
        let id = module[at];
        at += 1;
        let size = leb(module, &mut at)?;
        let end = at
            .checked_add(size)
            .filter(|&e| e <= module.len())
            .ok_or("section past the end")?;
        let drop = id == 0 && {
            let mut p = at;
            let len = leb(module, &mut p)?;
            module
                .get(p..p + len)
                .is_some_and(|n| names.iter().any(|w| w.as_bytes() == n))
        };
        if !drop {
            out.extend_from_slice(&module[start..end]);
        }
        at = end;
    }
    Ok(out)
}

/// The native trace hash of the determinism case (see `web/tests/browser.rs`).
pub fn native_determinism_hash() -> Result<String> {
    let out = cargo()
        .args([
            "run",
            "--quiet",
            "-p",
            "tandem-core",
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

#[cfg(test)]
mod tests {
    use super::without_custom_sections;

    fn custom(name: &str, payload: &[u8]) -> Vec<u8> {
        let mut body = vec![name.len() as u8];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(payload);
        let mut s = vec![0, body.len() as u8];
        s.extend(body);
        s
    }

    #[test]
    fn cuts_only_the_named_custom_sections() {
        let header = b"\0asm\x01\0\0\0".to_vec();
        let types = vec![1, 4, 1, 0x60, 0, 0]; // one `() -> ()` type
        let mut module = header.clone();
        module.extend(custom("name", b"\x01\x02ab"));
        module.extend(&types);
        module.extend(custom("target_features", b"\x00"));
        module.extend(custom("producers", b"xyz"));
        let mut expected = header;
        expected.extend(&types);
        expected.extend(custom("target_features", b"\x00"));
        assert_eq!(
            without_custom_sections(&module, &["name", "producers"]).unwrap(),
            expected
        );
        assert!(without_custom_sections(b"\0asm\x01\0\0\0\x01\x09", &[]).is_err());
        assert!(without_custom_sections(b"not wasm", &[]).is_err());
    }
}
