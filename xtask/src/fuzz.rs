//! `cargo xtask fuzz rdb --seconds N [--seed S]`: the RDB decoder fuzzer on
//! stable Rust (`core/examples/fuzz_rdb.rs`: seeded mutations of the golden
//! files, every input decoded whole and in random chunks, no panic allowed;
//! failing inputs are saved under `target/fuzz-rdb/`). The cargo-fuzz target
//! in `fuzz/` runs the same checks under libFuzzer on a nightly toolchain.

use crate::proc::run_core_example;
use crate::Result;

/// `cargo xtask fuzz <target> [--seconds N] [--seed S]`.
pub fn run_fuzz(args: &[String]) -> Result {
    let Some((target, rest)) = args.split_first() else {
        return Err("usage: cargo xtask fuzz rdb [--seconds N] [--seed S]".into());
    };
    if target != "rdb" {
        return Err(format!("unknown fuzz target {target:?} (known: rdb)"));
    }
    let mut extra = Vec::new();
    for (name, value) in crate::options(rest, &["seconds", "seed"])? {
        extra.push(format!("--{name}"));
        extra.push(value);
    }
    run_core_example("fuzz_rdb", true, &extra)
}
