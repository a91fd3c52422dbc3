//! Seeds on which the simulator found real bugs in the core, replayed on
//! every run so the fixes stay fixed. Each entry: the seed, the options it
//! was found with, and what was wrong. (Later changes to the core move the
//! traces, so a seed may stop reaching its scenario; keep adding new ones.)

use tandem_core::sim::{run_seed, SwarmOptions};

/// (seed, fault_ms, the bug it found)
const REGRESSIONS: &[(u64, u64, &str)] = &[
    (
        74,
        10_000,
        "a replica whose master link was down served PSYNC with a fresh replid (no -NOMASTERLINK)",
    ),
    (
        177,
        10_000,
        "a master restarted from disk dropped expired keys without DELs; replicas continuing via replid2 kept them",
    ),
    (
        27,
        3_000,
        "a lagging replica treated keys as expired while applying its master's APPEND and diverged",
    ),
];

#[test]
fn regression_seeds_stay_clean() {
    for &(seed, fault_ms, bug) in REGRESSIONS {
        let out = run_seed(
            seed,
            &SwarmOptions {
                fault_ms,
                ..SwarmOptions::default()
            },
        );
        assert!(
            out.violations.is_empty() && out.converged_after.is_some(),
            "seed {seed} ({bug}) fails again: {:?}\nreplay: {}",
            out.violations,
            out.replay_command()
        );
    }
}
