//! The checker bites: three realistic replication bugs, planted in the core
//! behind test-only switches (`planted-bugs` feature, see
//! `tandem_core::repl::Planted`), are each found by the simulator within a
//! bounded number of seeds, by the invariant that should catch them. With
//! the switches off the same seeds are clean (`sim_swarm.rs`).

use tandem_core::repl::Planted;
use tandem_core::sim::{run_seed, SwarmOptions};

/// The first seed in `0..limit` whose run breaks `invariant` (or any of them).
fn first_failing(
    planted: Planted,
    faults: &[&str],
    invariants: &[&str],
    limit: u64,
) -> Option<(u64, String)> {
    let opts = SwarmOptions {
        fault_ms: 5_000,
        planted,
        faults: Some(faults.iter().map(|f| f.to_string()).collect()),
        ..SwarmOptions::default()
    };
    for seed in 0..limit {
        let out = run_seed(seed, &opts);
        if let Some(v) = out
            .violations
            .iter()
            .find(|v| invariants.contains(&v.invariant))
        {
            return Some((seed, format!("{v}; replay: {}", out.replay_command())));
        }
    }
    None
}

#[test]
fn psync_that_forgets_the_backlogs_first_byte_is_caught_by_the_psync_oracle() {
    let found = first_failing(
        Planted {
            psync_ignores_first_byte: true,
            ..Planted::default()
        },
        &["partition", "backlog"],
        &["S4"],
        30,
    );
    let (seed, v) = found.expect("S4 found within 30 seeds");
    eprintln!("planted psync_ignores_first_byte: seed {seed}: {v}");
}

#[test]
fn replica_offset_ahead_of_its_data_is_caught() {
    let found = first_failing(
        Planted {
            replica_counts_queued: true,
            ..Planted::default()
        },
        &["latency"],
        &["S1", "S3", "L1"],
        30,
    );
    let (seed, v) = found.expect("found within 30 seeds");
    eprintln!("planted replica_counts_queued: seed {seed}: {v}");
}

#[test]
fn promotion_without_a_new_replid_is_caught() {
    let found = first_failing(
        Planted {
            promotion_keeps_replid: true,
            ..Planted::default()
        },
        &["failover", "latency"],
        &["S1", "S3", "S4", "L1"],
        30,
    );
    let (seed, v) = found.expect("found within 30 seeds");
    eprintln!("planted promotion_keeps_replid: seed {seed}: {v}");
}

#[test]
fn psync_that_repeats_the_last_command_is_caught_by_the_stream_check() {
    let found = first_failing(
        Planted {
            psync_repeats_last_command: true,
            ..Planted::default()
        },
        &["partition", "bounce"],
        &["S2"],
        30,
    );
    let (seed, v) = found.expect("S2 found within 30 seeds");
    eprintln!("planted psync_repeats_last_command: seed {seed}: {v}");
}

#[test]
fn wait_that_ignores_acknowledged_offsets_is_caught() {
    let found = first_failing(
        Planted {
            wait_ignores_ack_offset: true,
            ..Planted::default()
        },
        &["latency"],
        &["S7"],
        30,
    );
    let (seed, v) = found.expect("S7 found within 30 seeds");
    eprintln!("planted wait_ignores_ack_offset: seed {seed}: {v}");
}
