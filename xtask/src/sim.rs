//! `cargo xtask sim`: the deterministic simulator over many seeds, or one
//! seed replayed with its trace (`core/examples/sim.rs`, release build).
//!
//! ```text
//! cargo xtask sim --seeds 0..2000 [--faults crash,partition] [--fault-ms N] [--liveness-ms N]
//! cargo xtask sim --seed 42 --trace
//! ```
//! Every argument is passed to the example unchanged; it prints seeds/s,
//! events/s and each violation with the command that replays it, and exits 1
//! on any violation.

use crate::proc::run_core_example;
use crate::Result;

/// `cargo xtask sim ...`.
pub fn run_sim(args: &[String]) -> Result {
    run_core_example("sim", true, args)
}
