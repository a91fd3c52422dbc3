//! The simulator over many seeds: every invariant holds, every seed
//! converges after its faults stop, the faults really happen, and a seed
//! replays to the same trace.

use tandem_core::sim::swarm::{build, run_built};
use tandem_core::sim::{run_seed, standard_workload, SwarmOptions};

fn opts() -> SwarmOptions {
    SwarmOptions {
        fault_ms: 3_000,
        ..SwarmOptions::default()
    }
}

fn seeds_clean(range: std::ops::Range<u64>) {
    let opts = opts();
    let mut failures = Vec::new();
    for seed in range {
        let out = run_seed(seed, &opts);
        if !out.violations.is_empty() {
            failures.push(format!(
                "seed {seed} ({}):\n  {}\n  replay: {}",
                out.profile,
                out.violations
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("\n  "),
                out.replay_command()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn seeds_0_to_80_hold_every_invariant() {
    seeds_clean(0..80);
}

#[test]
fn seeds_80_to_160_hold_every_invariant() {
    seeds_clean(80..160);
}

#[test]
fn same_seed_same_trace() {
    let opts = SwarmOptions {
        record: true,
        ..opts()
    };
    for seed in [7, 1234] {
        let mut a = build(seed, &opts, standard_workload());
        let oa = run_built(&mut a, seed, &opts);
        let mut b = build(seed, &opts, standard_workload());
        let ob = run_built(&mut b, seed, &opts);
        assert_eq!(oa.hash, ob.hash, "seed {seed}");
        assert_eq!(a.trace(), b.trace(), "seed {seed}");
        assert!(a.trace().len() > 100);
    }
    let other = run_seed(8, &opts);
    assert_ne!(other.hash, run_seed(7, &opts).hash);
}

#[test]
fn the_swarm_exercises_the_protocol() {
    let opts = SwarmOptions {
        record: true,
        fault_ms: 6_000,
        ..SwarmOptions::default()
    };
    let mut text = String::new();
    for seed in 0..8 {
        let mut sim = build(seed, &opts, standard_workload());
        let out = run_built(&mut sim, seed, &opts);
        assert!(
            out.violations.is_empty(),
            "seed {seed}: {:?}",
            out.violations
        );
        for e in sim.trace() {
            text.push_str(&e.to_string());
            text.push('\n');
        }
    }
    for needle in [
        ": CONTINUE",
        "FULLRESYNC: full resync requested",
        "fault: crash",
        "fault: partition",
        "link with sim:",
        "sees close (connection reset)",
        "disk: wrote",
        "probe: all replicas in sync",
    ] {
        assert!(text.contains(needle), "no {needle:?} in 8 seeds");
    }
}

/// Each fault kind, alone, does what it is for, within a few seeds.
#[test]
fn every_fault_kind_has_its_effect() {
    let effects: &[(&str, &[&str])] = &[
        ("crash", &["fault: crash", "restart n"]),
        ("bounce", &["fault: bounce"]),
        ("partition", &["fault: partition", "fault: repair"]),
        ("oneway", &["fault: partition_oneway"]),
        ("hold", &["fault: hold", "fault: release"]),
        ("latency", &["fault: latency"]),
        (
            "failover",
            &["fault: failover", "new replication IDs", ": CONTINUE"],
        ),
        ("replicaof", &["REPLICAOF n"]),
        ("backlog", &["CONFIG SET repl-backlog-size"]),
        (
            "slow",
            &[
                "fault: bandwidth",
                "overcoming of output buffer limits",
                "Full sync snapshot",
            ],
        ),
        ("clock", &["fault: clock"]),
        ("config", &["CONFIG SET"]),
        ("detach", &["(detach)", "back to the master"]),
    ];
    for (kind, needles) in effects {
        let opts = SwarmOptions {
            record: true,
            fault_ms: 8_000,
            faults: Some(vec![kind.to_string()]),
            ..SwarmOptions::default()
        };
        let mut missing = needles.to_vec();
        for seed in 0..6 {
            let mut sim = build(seed, &opts, standard_workload());
            let out = run_built(&mut sim, seed, &opts);
            assert!(
                out.violations.is_empty() && out.converged_after.is_some(),
                "{kind} seed {seed}: {:?}\nreplay: {}",
                out.violations,
                out.replay_command()
            );
            let text: String = sim.trace().iter().map(|e| e.to_string() + "\n").collect();
            missing.retain(|n| !text.contains(n));
            if missing.is_empty() {
                break;
            }
        }
        assert!(
            missing.is_empty(),
            "{kind}: never saw {missing:?} in 6 seeds"
        );
    }
}
