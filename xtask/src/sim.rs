//! `cargo xtask sim`: the deterministic simulator over many seeds, or one
//! seed replayed with its trace (`core/examples/sim.rs`, release build).
//!
//! ```text
//! cargo xtask sim --seeds 0..2000 [--faults crash,partition] [--fault-ms N] [--liveness-ms N] [--jobs N]
//! cargo xtask sim --seed 42 --trace [--keep 0,3]
//! cargo xtask sim --seed 42 --shrink
//! cargo xtask sim --seeds 0..2000 --regressions core/tests/sim_regressions.txt
//! ```
//! Every argument is passed to the example unchanged; it runs seeds on every
//! core and prints seeds/s, events/s and each violation with the command
//! that replays it; `--shrink` cuts a failing seed's fault schedule down to
//! a minimal one and prints it with its replay command. Exits 1 on any
//! violation.

use crate::proc::run_core_example;
use crate::Result;

/// `cargo xtask sim ...`.
pub fn run_sim(args: &[String]) -> Result {
    run_core_example("sim", true, args)
}
