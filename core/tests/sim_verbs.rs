//! The simulator's verbs, one scripted scenario each, with the outcome the
//! replication spec predicts (and the checker silent throughout).

use tandem_core::sim::{Sim, SimOptions, Strings};

fn sim(seed: u64, nodes: usize, config: &[(&str, &str)]) -> Sim {
    let opts = SimOptions {
        nodes,
        record: true,
        s3_sample: 1,
        config: [("repl-diskless-sync-delay", "0")]
            .iter()
            .chain(config)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..SimOptions::default()
    };
    Sim::new(seed, opts, Box::new(Strings::default()))
}

/// Quiesce, run to convergence, return the trace text.
fn settle(sim: &mut Sim) -> String {
    sim.quiesce();
    let end = sim.now() + 40_000;
    while !sim.converged() && sim.next_event_time().is_some_and(|t| t <= end) {
        sim.step();
    }
    assert!(sim.converged(), "not converged: {:?}", sim.in_sync());
    assert!(sim.violations().is_empty(), "{:?}", sim.violations());
    trace_text(sim)
}

fn trace_text(sim: &Sim) -> String {
    sim.trace()
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn partition_then_repair_continues_partially() {
    let mut s = sim(1, 2, &[("repl-timeout", "3")]);
    s.run_until(3_000);
    let before = count(&trace_text(&s), ": CONTINUE");
    s.partition(0, 1);
    s.run_until(8_000);
    s.repair(0, 1);
    s.run_until(10_000);
    let text = settle(&mut s);
    assert!(count(&text, ": CONTINUE") > before, "{text}");
    assert_eq!(
        count(&text, "Full sync snapshot"),
        1,
        "only the first sync is full"
    );
}

#[test]
fn tiny_backlog_forces_a_full_sync() {
    let mut s = sim(
        2,
        2,
        &[("repl-timeout", "3"), ("repl-backlog-size", "16kb")],
    );
    s.run_until(3_000);
    s.partition(0, 1);
    // Enough writes to overflow 16 KB of backlog.
    s.run_until(30_000);
    s.repair(0, 1);
    let text = settle(&mut s);
    assert!(text.contains("fell out of the backlog"), "{text}");
    assert_eq!(count(&text, "Full sync snapshot"), 2);
}

#[test]
fn failover_keeps_the_history_for_the_other_replica() {
    let mut s = sim(3, 3, &[("repl-timeout", "3")]);
    s.run_until(3_000);
    s.failover(1);
    assert_eq!(s.master(), 1);
    s.run_until(6_000);
    let text = settle(&mut s);
    // n2 follows n1 with n0's old id, now n1's replid2: a partial resync.
    assert!(
        text.contains("n1: PSYNC from sim-2:7002") && text.contains("MASTER MODE enabled"),
        "{text}"
    );
    let n1 = s.node(1).expect("up");
    assert!(!n1.is_replica());
    assert!(n1.repl().identity.second_replid_offset > 0);
}

#[test]
fn replica_restarts_from_its_disk_and_continues() {
    let mut s = sim(4, 2, &[("repl-timeout", "3")]);
    s.run_until(3_000);
    s.save(1);
    s.run_until(3_100);
    s.crash(1);
    assert!(s.node(1).is_none());
    s.run_until(4_000);
    s.restart(1, true);
    s.run_until(5_000);
    let text = settle(&mut s);
    assert!(
        text.contains("Restored the replication state from the RDB file"),
        "{text}"
    );
    let after_restart = &text[text.find("Restored the replication state").unwrap()..];
    assert!(after_restart.contains(": CONTINUE"), "{after_restart}");
}

#[test]
fn wiped_replica_syncs_fully() {
    let mut s = sim(5, 2, &[]);
    s.run_until(3_000);
    s.restart(1, false);
    s.run_until(4_000);
    let text = settle(&mut s);
    assert_eq!(count(&text, "Full sync snapshot"), 2, "{text}");
}

#[test]
fn hold_delays_and_release_delivers_without_a_break() {
    let mut s = sim(6, 2, &[("repl-timeout", "10")]);
    s.run_until(3_000);
    s.hold(0, 1);
    s.run_until(5_000);
    let held: usize = s
        .connections()
        .values()
        .map(|c| c.queue[0].len() + c.queue[1].len())
        .sum();
    assert!(held > 0, "something waits on the held link");
    s.release(0, 1);
    let text = settle(&mut s);
    assert!(!text.contains("MASTER link down"), "{text}");
    assert_eq!(count(&text, "Full sync snapshot"), 1);
}

#[test]
fn oneway_partition_breaks_by_timeout_and_heals() {
    let mut s = sim(7, 2, &[("repl-timeout", "3")]);
    s.run_until(3_000);
    s.partition_oneway(0, 1);
    s.run_until(14_000);
    let mid = trace_text(&s);
    assert!(
        mid.contains("MASTER link down"),
        "the replica notices silence"
    );
    s.repair_oneway(0, 1);
    settle(&mut s);
}

#[test]
fn bounce_of_the_master_keeps_replicas_partial() {
    let mut s = sim(8, 3, &[("repl-timeout", "3")]);
    s.run_until(3_000);
    s.save(0);
    s.run_until(3_050);
    s.bounce(0);
    s.run_until(5_000);
    let text = settle(&mut s);
    assert!(
        text.contains("Restored the replication history from the RDB file"),
        "{text}"
    );
}

#[test]
fn latency_spike_and_chained_replica() {
    let mut s = sim(9, 3, &[("repl-timeout", "5")]);
    s.run_until(3_000);
    s.set_link_latency(0, 1, 800);
    s.replicaof(2, 1);
    assert_eq!(s.upstream(2), Some(1));
    s.run_until(7_000);
    s.set_link_latency(0, 1, 2);
    settle(&mut s);
}

/// Write `kb` KiB of stream on node `n` at once (1 KiB values).
fn write_kib(s: &mut Sim, n: usize, tag: &str, kb: usize) {
    let value = "v".repeat(1024);
    for i in 0..kb {
        let key = format!("{tag}:{i}");
        assert_eq!(s.admin(n, &["SET", &key, &value]).as_deref(), Some("+OK"));
    }
}

#[test]
fn stalled_replica_is_dropped_at_its_output_buffer_limit_and_syncs_fully() {
    let mut s = sim(
        7,
        2,
        &[
            ("repl-timeout", "60"),
            ("repl-backlog-size", "16kb"),
            ("client-output-buffer-limit", "replica 16kb 0 0"),
        ],
    );
    s.run_until(3_000);
    s.set_link_bandwidth(0, 1, 0);
    // 8 KiB in the socket plus 16 KiB in the master's buffer: the limit.
    write_kib(&mut s, 0, "a", 12);
    s.run_until(3_500);
    assert!(
        !trace_text(&s).contains("overcoming of output buffer limits"),
        "dropped below the limit"
    );
    write_kib(&mut s, 0, "b", 20);
    s.run_until(4_000);
    let text = trace_text(&s);
    assert!(
        text.contains(
            "(replica) scheduled to be closed ASAP for overcoming of output buffer limits"
        ),
        "{text}"
    );
    s.set_link_bandwidth(0, 1, 10_000);
    let text = settle(&mut s);
    // The backlog (16 KB) no longer covers what the replica missed.
    assert_eq!(count(&text, "Full sync snapshot"), 2, "{text}");
}

#[test]
fn replica_output_buffer_hard_limit_is_never_below_the_backlog() {
    // Redis raises the replica class's hard limit to repl-backlog-size.
    let mut s = sim(
        8,
        2,
        &[
            ("repl-timeout", "60"),
            ("repl-backlog-size", "128kb"),
            ("client-output-buffer-limit", "replica 16kb 0 0"),
        ],
    );
    s.run_until(3_000);
    s.set_link_bandwidth(0, 1, 0);
    write_kib(&mut s, 0, "a", 64);
    s.run_until(3_500);
    assert!(
        !trace_text(&s).contains("overcoming of output buffer limits"),
        "dropped at the configured 16kb although the backlog is 128kb"
    );
    s.set_link_bandwidth(0, 1, 10_000);
    s.run_until(4_500);
    s.set_link_bandwidth(0, 1, 0);
    write_kib(&mut s, 0, "b", 160);
    s.run_until(5_000);
    assert!(trace_text(&s).contains("overcoming of output buffer limits"));
    s.set_link_bandwidth(0, 1, 10_000);
    let text = settle(&mut s);
    assert!(text.contains("probe: all replicas in sync"));
}

#[test]
fn a_snapshot_bigger_than_the_output_buffer_limit_crosses_a_slow_link() {
    // Redis writes the RDB to the socket outside the replica's output
    // buffer: a 400 KB snapshot queued on a slow link is no reason to drop
    // the replica at a 64 KB limit (it used to be, and the retry fell out
    // of the backlog: a sync loop).
    let mut s = sim(
        10,
        2,
        &[
            ("repl-timeout", "60"),
            ("repl-backlog-size", "64kb"),
            ("client-output-buffer-limit", "replica 64kb 32kb 1"),
        ],
    );
    s.run_until(2_000);
    // 400 values of 1 KB that do not compress.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..400 {
        let value: String = (0..64)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("{x:016x}")
            })
            .collect();
        let key = format!("big:{i}");
        assert_eq!(s.admin(0, &["SET", &key, &value]).as_deref(), Some("+OK"));
        if i % 20 == 19 {
            // Let the stream drain (it does count against the limit).
            let t = s.now() + 20;
            s.run_until(t);
        }
    }
    let t = s.now() + 500;
    s.run_until(t);
    assert!(!trace_text(&s).contains("overcoming of output buffer limits"));
    s.set_link_bandwidth(0, 1, 200);
    // The replica loses its disk: a full sync of ~410 KB at 200 B/ms.
    s.restart(1, false);
    let t = s.now() + 3_500;
    s.run_until(t);
    let text = trace_text(&s);
    assert!(
        !text.contains("overcoming of output buffer limits"),
        "{text}"
    );
    s.set_link_bandwidth(0, 1, 10_000);
    let text = settle(&mut s);
    assert_eq!(count(&text, "Full sync snapshot"), 2, "{text}");
}

#[test]
fn config_set_at_run_time_takes_effect() {
    // The same partition twice: with the default 1 MB backlog the replica
    // continues; after `CONFIG SET repl-backlog-size 16kb` at run time on
    // the master (Redis resizes the backlog in place) the same outage
    // falls out of it and costs a full sync.
    let mut s = sim(11, 2, &[("repl-timeout", "3")]);
    s.run_until(3_000);
    s.partition(0, 1);
    write_kib(&mut s, 0, "a", 40);
    s.run_until(8_000);
    s.repair(0, 1);
    s.run_until(12_000);
    let text = trace_text(&s);
    assert!(text.contains(": CONTINUE"), "{text}");
    assert_eq!(count(&text, "Full sync snapshot"), 1, "{text}");
    s.config_set(0, "repl-backlog-size", "16kb");
    s.partition(0, 1);
    write_kib(&mut s, 0, "b", 40);
    s.run_until(17_000);
    s.repair(0, 1);
    let text = settle(&mut s);
    assert!(text.contains("fell out of the backlog"), "{text}");
    assert_eq!(count(&text, "Full sync snapshot"), 2, "{text}");
}
