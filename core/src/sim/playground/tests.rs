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

#[test]
fn add_remove_backlog_and_rate_change_the_deployment() {
    let mut pg = Playground::new(4, "link-blip").unwrap();
    pg.run_for(1_500);
    assert_eq!(
        pg.act("add-replica").unwrap(),
        "n3 added as a replica of n0"
    );
    pg.act("backlog 32kb").unwrap();
    pg.run_for(2_500);
    let snap = pg.snapshot();
    assert_eq!(snap.nodes.len(), 4);
    let (m, n3) = (&snap.nodes[0], &snap.nodes[3]);
    assert_eq!(
        (n3.role, n3.link, n3.upstream),
        ("replica", Some("up"), Some(0))
    );
    assert_eq!(m.backlog.as_ref().map(|b| b.size), Some(32 * 1024));
    assert_eq!(snap.links.len(), 6);
    pg.act("writes 0").unwrap();
    pg.run_for(1_500);
    let before = pg.snapshot().nodes[0].offset;
    pg.run_for(1_000);
    let after = pg.snapshot().nodes[0].offset;
    // Only the stream's keepalive PINGs (14 bytes every 2 s) may move it now.
    assert!(after - before <= 14, "{before} -> {after}");
    assert_eq!(pg.snapshot().writes_per_sec, 0);
    pg.act("writes 500").unwrap();
    pg.run_for(1_000);
    let moved = pg.snapshot().nodes[0].offset - after;
    assert!(
        moved > 10_000,
        "500 writes/s moved the offset by only {moved}"
    );
    pg.act("remove 3").unwrap();
    let snap = pg.snapshot();
    assert_eq!(
        snap.nodes.iter().map(|n| n.id).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(snap.links.len(), 3);
}

#[test]
fn tours_are_in_time_order_within_the_expected_window() {
    for sc in SCENARIOS {
        let times: Vec<u64> = sc.tour.iter().map(|s| s.at_ms).collect();
        assert!(
            times.windows(2).all(|w| w[0] < w[1]),
            "{}: {times:?}",
            sc.id
        );
        assert!(
            *times.last().unwrap() >= sc.expect.by_ms,
            "{}: the tour ends before the verdict is due",
            sc.id
        );
        let last = sc.tour.last().unwrap().text;
        assert!(
            last.contains(sc.expect.verdict)
                || sc.id == "cold-start"
                || sc.id == "writes-during-sync",
            "{}: {last}",
            sc.id
        );
    }
}

/// The whole event log, every page.
fn all_events(pg: &Playground) -> Vec<EventView> {
    let (mut out, mut cursor) = (Vec::new(), 0);
    loop {
        let page = pg.events_since(cursor);
        if page.events.is_empty() {
            return out;
        }
        cursor = page.next;
        out.extend(page.events);
    }
}

#[test]
fn every_event_carries_the_step_count_right_after_it() {
    let mut pg = Playground::new(9, "link-blip").unwrap();
    let mut cursor = 0;
    let mut check = |pg: &Playground, what: &str| {
        let page = pg.events_since(cursor);
        cursor = page.next;
        page.events.iter().map(|e| e.step).collect::<Vec<_>>()
            == vec![pg.steps(); page.events.len()]
            || panic!("{what}: {:?} at step {}", page.events, pg.steps())
    };
    check(&pg, "new");
    for i in 0..2_500 {
        pg.step();
        check(&pg, "step");
        if i == 1_000 {
            pg.act("crash 2").unwrap();
            check(&pg, "crash");
            pg.act("restart 2").unwrap();
            check(&pg, "restart");
        }
    }
    // A console command runs the simulation until its reply: the events
    // of that wait carry the steps at which they happened.
    let before = pg.steps();
    let from = all_events(&pg).last().map_or(0, |e| e.i + 1);
    pg.command(0, "SET k v").unwrap();
    let steps: Vec<u64> = pg
        .events_since(from)
        .events
        .iter()
        .map(|e| e.step)
        .collect();
    assert!(steps.len() >= 2, "{steps:?}");
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
    assert!(steps[0] > before, "{before} {steps:?}");
    assert_eq!(steps.last(), Some(&pg.steps()), "{steps:?}");
}

#[test]
fn import_at_a_bare_step_replays_to_exactly_that_step() {
    let mut pg = Playground::new(21, "link-blip").unwrap();
    // (hash, now, snapshot) after each step and the actions taken there.
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..2_400 {
        pg.step();
        match i {
            400 => drop(pg.act("cut 0 2").unwrap()),
            900 => drop(pg.command(0, "SET during cut").unwrap()),
            1_300 => drop(pg.act("heal 0 2").unwrap()),
            1_900 => drop(pg.act("add-replica").unwrap()),
            _ => {}
        }
        seen.insert(pg.steps(), (pg.trace_hash(), pg.now()));
    }
    pg.run_for(250);
    let full = pg.export();
    let log = all_events(&pg);
    assert_eq!(log[0].i, 0);
    let (head, _) = full.split_once("&at=").unwrap();
    let log_part = full.split_once("&log=").unwrap().1;
    // A few events with a recorded step, and the actions' own.
    let mut targets: Vec<u64> = log.iter().map(|e| e.step).step_by(log.len() / 4).collect();
    targets.extend(log.iter().filter(|e| e.kind == "fault").map(|e| e.step));
    targets.retain(|s| seen.contains_key(s));
    assert!(targets.len() >= 6, "{targets:?}");
    for &target in &targets {
        let fragment = format!("{head}&at={target}&log={log_part}");
        let mut copy = Playground::import(&fragment).unwrap();
        assert_eq!(copy.steps(), target, "{fragment}");
        let (hash, now) = &seen[&target];
        assert_eq!(
            (&copy.trace_hash(), copy.now()),
            (hash, *now),
            "step {target}"
        );
        let upto: Vec<_> = log.iter().filter(|e| e.step <= target).cloned().collect();
        assert_eq!(all_events(&copy), upto, "step {target}");
        // Log entries after the step are dropped, those at or before kept.
        let kept: Vec<&str> = log_part
            .split(',')
            .filter(|e| e.split('.').next().unwrap().parse::<u64>().unwrap() <= target)
            .collect();
        let exported = copy.export();
        assert_eq!(exported.split_once("&log=").unwrap().1, kept.join(","));
        assert!(exported.contains(&format!("&at={target}.{now}&")));
        // And the copy runs on like a run that never had the later actions.
        copy.snapshot();
    }
    assert!(Playground::import(&format!("{head}&at=12x")).is_err());
}

/// For every PSYNC a replica sends, the `psync_now` read just before its
/// upstream handles it is the decision card that follows.
#[test]
fn psync_now_foretells_every_decision_card() {
    let mut total = 0;
    for sc in SCENARIOS {
        for seed in [1, 42] {
            let mut pg = Playground::new(seed, sc.id).unwrap();
            let mut checked = 0;
            loop {
                let before: Vec<_> = (0..pg.sim().nodes.len())
                    .map(|n| (n, pg.psync_now(n)))
                    .collect();
                let cards = pg.decisions().count();
                if pg.now() > sc.expect.by_ms || !pg.step() {
                    break;
                }
                if pg.decisions().count() == cards {
                    continue;
                }
                let card = pg.decisions().last().unwrap().clone();
                let r = card.replica.expect("a simulated replica");
                let now = before
                    .iter()
                    .find(|(n, _)| *n == r)
                    .and_then(|(_, p)| p.clone())
                    .unwrap_or_else(|| panic!("{} seed {seed}: {card:?}", sc.id));
                assert_eq!(
                    (&now.replid, now.offset, &now.verdict, &now.reason),
                    (
                        &card.asked_replid,
                        card.asked_offset,
                        &card.verdict,
                        &card.reason
                    ),
                    "{} seed {seed} at {} ms",
                    sc.id,
                    card.t
                );
                checked += 1;
            }
            assert!(checked >= 1, "{} seed {seed}: no card", sc.id);
            total += checked;
        }
    }
    assert!(total >= 30, "{total} cards checked");
}

#[test]
fn psync_now_while_cut_off_and_through_a_chain() {
    let mut pg = Playground::new(3, "link-blip").unwrap();
    pg.run_for(2_600); // n0–n1 cut at 2000, healed at 3500
    let snap = pg.snapshot();
    let n1 = &snap.nodes[1];
    assert_ne!(n1.link, Some("up"), "{n1:?}");
    let now = n1.psync_now.as_ref().unwrap();
    assert_eq!(
        (now.replid.as_str(), now.offset),
        (n1.replid.as_str(), n1.offset + 1)
    );
    assert_eq!(now.verdict, "CONTINUE", "{now:?}");
    assert!(now.reason.contains("within the backlog"), "{now:?}");
    assert_eq!(snap.nodes[0].psync_now, None, "the master has no upstream");

    let mut pg = Playground::new(3, "backlog-overflow").unwrap();
    pg.run_for(4_400); // the cut lasts long enough for the backlog to move on
    let now = pg.snapshot().nodes[1].psync_now.clone().unwrap();
    assert_eq!(now.verdict, "FULLRESYNC", "{now:?}");
    assert!(now.reason.contains("fell out of the backlog"), "{now:?}");

    // n2 replicates from n1: with n0 down, n1 refuses every sync.
    let mut pg = Playground::new(3, "chained").unwrap();
    pg.run_for(3_000);
    pg.act("crash 0").unwrap();
    pg.run_for(200);
    let snap = pg.snapshot();
    assert_eq!(snap.nodes[1].psync_now, None, "n0 is down: nothing answers");
    let now = snap.nodes[2].psync_now.clone().unwrap();
    assert_eq!(now.verdict, "NOMASTERLINK", "{now:?}");
    assert_eq!(now.reason, "Can't SYNC while not connected with my master");
    pg.act("crash 2").unwrap();
    assert_eq!(pg.snapshot().nodes[2].psync_now, None, "n2 is down");
}
