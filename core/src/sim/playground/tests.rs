use super::*;

/// Run a preset to its `by_ms` and return the last decision `master` made
/// for `replica`.
fn verdict_of(sc: &Scenario, seed: u64) -> (Playground, Decision) {
    let mut pg = Playground::new(seed, sc.id).expect("preset exists");
    pg.run_for(sc.expect.by_ms);
    let e = sc.expect;
    let last = pg
        .decisions()
        .filter(|d| d.master == e.master && d.replica == Some(e.replica))
        .last()
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{} seed {seed}: no decision by n{} for n{}",
                sc.id, e.master, e.replica
            )
        });
    (pg, last)
}

#[test]
fn every_preset_reaches_its_expected_verdict_on_several_seeds() {
    for sc in SCENARIOS {
        for seed in [1, 42, 7777] {
            let (pg, d) = verdict_of(sc, seed);
            assert_eq!(d.verdict, sc.expect.verdict, "{} seed {seed}: {d:?}", sc.id);
            assert!(
                d.reason.contains(sc.expect.reason_contains),
                "{} seed {seed}: reason {:?} lacks {:?}",
                sc.id,
                d.reason,
                sc.expect.reason_contains
            );
            assert!(d.t <= sc.expect.by_ms);
            assert!(
                pg.sim().violations().is_empty(),
                "{} seed {seed}: {:?}",
                sc.id,
                pg.sim().violations()
            );
        }
    }
}

#[test]
fn failover_continues_through_replid2() {
    let sc = scenario::find("failover").unwrap();
    let (_, d) = verdict_of(sc, 42);
    assert_eq!(d.asked_replid, d.replid2, "{d:?}");
    assert_ne!(d.asked_replid, d.replid);
    assert!(d.asked_offset <= d.second_offset);
}

#[test]
fn cold_start_replicas_end_equal_to_the_master() {
    let mut pg = Playground::new(3, "cold-start").unwrap();
    pg.run_for(3_000);
    pg.act("writes 0").unwrap();
    pg.run_for(3_000);
    let snap = pg.snapshot();
    let m = &snap.nodes[0];
    assert_eq!(m.role, "master");
    for r in &snap.nodes[1..] {
        assert_eq!((r.role, r.link), ("replica", Some("up")), "{r:?}");
        assert_eq!(
            (r.offset, &r.replid, &r.digest),
            (m.offset, &m.replid, &m.digest)
        );
    }
    assert!(m.backlog.as_ref().is_some_and(|b| b.last == m.offset));
    // Replicas ACK once a second; a stream PING may have followed the last ACK.
    assert_eq!(m.replicas.len(), 2);
    for r in &m.replicas {
        assert!(
            r.state == "online" && r.offset <= m.offset && r.offset + 100 >= m.offset,
            "{r:?} vs {}",
            m.offset
        );
    }
}

#[test]
fn writes_during_a_full_sync_are_buffered_then_streamed() {
    let mut pg = Playground::new(5, "writes-during-sync").unwrap();
    let mut saw_progress = false;
    let mut saw_rdb_in_flight = false;
    let mut saw_buffered = false;
    while pg.now() < 4_000 {
        pg.run_for(50);
        let snap = pg.snapshot();
        let n1 = &snap.nodes[1];
        if let Some(p) = n1.sync_progress {
            saw_progress |= p > 0.1 && p < 0.9;
        }
        saw_rdb_in_flight |= snap
            .inflight
            .iter()
            .any(|m| m.kind == "rdb" || (m.kind == "fullresync" && m.bytes > 1000));
        saw_buffered |= snap.nodes[0].replicas.iter().any(|r| r.buffered > 0);
    }
    assert_eq!(
        (saw_progress, saw_rdb_in_flight, saw_buffered),
        (true, true, true)
    );
    pg.act("writes 0").unwrap();
    pg.run_for(2_000);
    let snap = pg.snapshot();
    assert_eq!(snap.nodes[1].link, Some("up"));
    assert_eq!(snap.nodes[1].digest, snap.nodes[0].digest);
    assert_eq!(snap.nodes[1].offset, snap.nodes[0].offset);
    assert!(snap.nodes[1].keys >= 1_500);
}

#[test]
fn replica_restart_reads_its_offset_from_the_rdb() {
    let mut pg = Playground::new(9, "replica-restart").unwrap();
    pg.run_for(2_400);
    let snap = pg.snapshot();
    let disk = snap.nodes[1].disk.clone().expect("n1 saved");
    assert_eq!(disk.replid.as_deref(), Some(snap.nodes[0].replid.as_str()));
    let (_, d) = verdict_of(scenario::find("replica-restart").unwrap(), 9);
    assert_eq!(Some(d.asked_offset - 1), disk.offset);
}

#[test]
fn console_formats_like_redis_cli_and_replicas_refuse_writes() {
    let mut pg = Playground::new(1, "link-blip").unwrap();
    pg.run_for(1_500);
    assert_eq!(pg.command(0, "SET a 1").unwrap(), "OK");
    assert_eq!(pg.command(0, "INCR a").unwrap(), "(integer) 2");
    assert_eq!(pg.command(0, "GET nope").unwrap(), "(nil)");
    assert_eq!(
        pg.command(1, "SET a 1").unwrap(),
        "(error) READONLY You can't write against a read only replica."
    );
    pg.run_for(100);
    assert_eq!(pg.command(1, "GET a").unwrap(), "\"2\"");
    assert_eq!(
        pg.command(2, "ROLE").unwrap().lines().next(),
        Some("1) \"slave\"")
    );
    assert_eq!(pg.command(0, "WAIT 2 1000").unwrap(), "(integer) 2");
    assert_eq!(
        pg.command(0, "SET \"unbalanced").unwrap(),
        "Invalid argument(s)"
    );
    pg.act("crash 2").unwrap();
    assert!(pg
        .command(2, "PING")
        .unwrap()
        .starts_with("Could not connect to Redis at sim:7002"));
    // The console's traffic is in the event log as client messages.
    let page = pg.events_since(0);
    assert!(page
        .events
        .iter()
        .any(|e| e.msg == Some("client") && e.text.contains("INCR a")));
}

#[test]
fn export_then_import_replays_the_same_run() {
    let mut pg = Playground::new(11, "link-blip").unwrap();
    pg.run_for(1_300);
    for _ in 0..17 {
        pg.step();
    }
    pg.command(0, "SET shared yes").unwrap();
    pg.act("add-replica").unwrap();
    pg.run_for(700);
    pg.act("hold 0 2").unwrap();
    pg.act("backlog 32kb").unwrap();
    pg.run_for(400);
    pg.act("release 0 2").unwrap();
    pg.act("writes 120").unwrap();
    pg.act("promote 1").unwrap();
    pg.run_for(1_234);
    pg.command(1, "SET \"spaced key\" \"a,b&c=d%\"").unwrap();
    pg.act("remove 3").unwrap();
    pg.run_for(321);
    let fragment = pg.export();
    let mut copy = Playground::import(&fragment).unwrap();
    assert_eq!(copy.trace_hash(), pg.trace_hash());
    assert_eq!(copy.steps(), pg.steps());
    assert_eq!(copy.now(), pg.now());
    assert_eq!(copy.snapshot(), pg.snapshot());
    assert_eq!(copy.export(), fragment);
    assert_eq!(copy.events_since(0), pg.events_since(0));
    // And the two keep running alike.
    pg.run_for(2_000);
    copy.run_for(2_000);
    assert_eq!(copy.trace_hash(), pg.trace_hash());
}

#[test]
fn same_seed_same_hash_different_seed_different_hash() {
    let run = |seed| {
        let mut pg = Playground::new(seed, "backlog-overflow").unwrap();
        pg.run_for(3_000);
        pg.trace_hash()
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn bad_input_gives_errors_not_panics() {
    assert!(Playground::new(1, "nope")
        .unwrap_err()
        .contains("unknown scenario"));
    let mut pg = Playground::new(1, "chained").unwrap();
    for (line, want) in [
        ("crash 9", "no node n9"),
        ("cut 0 7", "no node n7"),
        ("replicaof 0 1", "is the master"),
        ("replicaof 2 2", "from itself"),
        ("remove 0", "is the master"),
        ("fly", "unknown action"),
        ("backlog 0x", "not a size"),
    ] {
        let e = pg.act(line).expect_err(line);
        assert!(e.contains(want), "{line}: {e}");
    }
    assert!(pg.command(5, "PING").unwrap_err().contains("no node n5"));
    assert!(pg.command(0, "   ").is_err());
    pg.act("remove 2").unwrap();
    assert!(pg.act("crash 2").unwrap_err().contains("no node n2"));
    // Failed actions are not logged.
    assert_eq!(pg.export().matches("remove").count(), 1);
    for bad in [
        "",
        "seed=x&scenario=cold-start",
        "scenario=cold-start",
        "seed=1",
        "seed=1&scenario=cold-start&log=5.10",
        "seed=1&scenario=cold-start&log=0.0.crash+9",
        "seed=1&scenario=cold-start&log=0.0.crash+%G1",
        "seed=1&scenario=cold-start&at=50.0",
        "seed=1&scenario=cold-start&at=0.0&log=10.5.crash+1",
        "seed=1&scenario=cold-start&color=red",
    ] {
        assert!(Playground::import(bad).is_err(), "{bad}");
    }
}

#[test]
fn snapshot_shows_links_inflight_and_cards() {
    let mut pg = Playground::new(2, "link-blip").unwrap();
    pg.run_for(2_050);
    let snap = pg.snapshot();
    let l01 = snap.links.iter().find(|l| (l.a, l.b) == (0, 1)).unwrap();
    assert_eq!(l01.state, "cut");
    assert_eq!(snap.links.len(), 3);
    pg.act("cut-oneway 0 2").unwrap();
    pg.act("heal 0 1").unwrap();
    pg.act("hold 1 2").unwrap();
    let snap = pg.snapshot();
    let state = |a, b| {
        snap.links
            .iter()
            .find(|l| (l.a, l.b) == (a, b))
            .unwrap()
            .state
    };
    assert_eq!(
        (state(0, 1), state(0, 2), state(1, 2)),
        ("up", "cut a→b", "held")
    );
    // Messages in flight carry labels and move forward in time.
    let mut kinds = std::collections::BTreeSet::new();
    for _ in 0..200 {
        pg.step();
        for m in pg.snapshot().inflight {
            assert!(m.sent <= m.arrives && (0.0..=1.0).contains(&m.progress));
            kinds.insert(m.kind);
        }
    }
    assert!(
        kinds.contains("stream") && kinds.contains("client"),
        "{kinds:?}"
    );
    let page = pg.events_since(0);
    assert!(page.events.iter().any(|e| e.kind == "decision"));
    assert!(page
        .events
        .iter()
        .any(|e| e.kind == "fault" && e.text.starts_with("scenario: cut 0 1")));
    let again = pg.events_since(page.next);
    assert!(again.events.iter().all(|e| e.i >= page.next));
}
