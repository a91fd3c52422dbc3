//! The checker bites: three realistic replication bugs, planted in the core
//! behind test-only switches (`planted-bugs` feature, see
//! `tandem_core::repl::Planted`), are each found by the simulator within a
//! bounded number of seeds, by the invariant that should catch them. With
//! the switches off the same seeds are clean (`sim_swarm.rs`).

use tandem_core::repl::Planted;
use tandem_core::sim::{run_seed, shrink, SwarmOptions};

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
fn promotion_without_a_new_replid_is_caught_by_the_replid_rule() {
    let found = first_failing(
        Planted {
            promotion_keeps_replid: true,
            ..Planted::default()
        },
        &["failover", "latency"],
        &["S5"],
        30,
    );
    let (seed, v) = found.expect("found within 30 seeds");
    assert!(v.contains("kept its replid"), "{v}");
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

#[test]
fn the_shrinker_cuts_a_failing_schedule_down_and_it_replays() {
    let opts = SwarmOptions {
        fault_ms: 5_000,
        planted: Planted {
            psync_repeats_last_command: true,
            ..Planted::default()
        },
        faults: Some(vec!["partition".into(), "bounce".into(), "latency".into()]),
        ..SwarmOptions::default()
    };
    let seed = (0..30)
        .find(|&s| !run_seed(s, &opts).violations.is_empty())
        .expect("a failing seed");
    let s = shrink(seed, &opts).expect("it fails");
    let invariant = run_seed(seed, &opts).violations[0].invariant;
    assert!(
        s.keep.len() < s.original.len(),
        "nothing dropped from {} faults",
        s.original.len()
    );
    assert!(s
        .outcome
        .violations
        .iter()
        .any(|v| v.invariant == invariant));
    // The printed replay (`--keep ...`) runs the same schedule again.
    assert!(s.outcome.replay_command().contains("--keep"));
    let again = run_seed(
        seed,
        &SwarmOptions {
            keep: Some(s.keep.clone()),
            ..opts.clone()
        },
    );
    assert_eq!(again.hash, s.outcome.hash);
    // Minimal: dropping any one remaining fault loses the violation.
    for i in 0..s.keep.len() {
        let mut fewer = s.keep.clone();
        fewer.remove(i);
        let out = run_seed(
            seed,
            &SwarmOptions {
                keep: Some(fewer),
                ..opts.clone()
            },
        );
        assert!(
            !out.violations.iter().any(|v| v.invariant == invariant),
            "fault {} was not needed",
            s.keep[i]
        );
    }
    eprintln!(
        "seed {seed}: {} of {} faults kept: {:?}",
        s.keep.len(),
        s.original.len(),
        s.keep
    );
}
