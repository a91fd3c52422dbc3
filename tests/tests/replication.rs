//! Replication scenarios against the real binaries, each in three pairings:
//! a Tandem master with a redis-server 7.0.15 replica, a redis-server master
//! with a Tandem replica, and Tandem with Tandem. Convergence is DEBUG DIGEST
//! equality; the kind of sync is read from the master's INFO stats.

use std::time::{Duration, Instant};
use tandem_tests::proxy::Proxy;
use tandem_tests::{have_redis, wait_until, Conn, Kind, Reply, Server};

const PAIRINGS: [(Kind, Kind); 3] = [
    (Kind::Tandem, Kind::Redis),
    (Kind::Redis, Kind::Tandem),
    (Kind::Tandem, Kind::Tandem),
];

fn start(kind: Kind, extra: &[&str]) -> Server {
    assert!(
        have_redis(),
        "redis-server is required (apt-get install redis-server)"
    );
    let mut args = vec!["--repl-diskless-sync-delay", "0"];
    args.extend_from_slice(extra);
    Server::start(kind, &args)
}

fn info(s: &Server, section: &str) -> String {
    match s.conn().cmd(&["INFO", section]) {
        Reply::Bulk(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO {section} on {:?}: {other:?}", s.kind),
    }
}

fn info_field(s: &Server, section: &str, field: &str) -> String {
    let text = info(s, section);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {field} in INFO {section} of {:?}:\n{text}", s.kind))
}

fn stat(s: &Server, field: &str) -> i64 {
    info_field(s, "stats", field).parse().expect("number")
}

fn link_up(s: &Server) -> bool {
    match s.conn().cmd(&["ROLE"]) {
        Reply::Array(Some(items)) => {
            items.get(3) == Some(&Reply::Bulk(Some(b"connected".to_vec())))
        }
        _ => false,
    }
}

fn digest(s: &Server) -> Reply {
    s.conn().cmd(&["DEBUG", "DIGEST"])
}

fn wait_converged(master: &Server, replicas: &[&Server], label: &str) {
    for r in replicas {
        wait_until(
            &format!("{label}: {:?} replica link up", r.kind),
            Duration::from_secs(30),
            || link_up(r),
        );
    }
    wait_until(
        &format!("{label}: digests equal"),
        Duration::from_secs(30),
        || {
            let d = digest(master);
            replicas.iter().all(|r| digest(r) == d)
        },
    );
    assert_ne!(
        digest(master),
        Reply::Simple("0".repeat(40)),
        "{label}: empty dataset proves nothing"
    );
}

/// After a healed cut, the replica converges with the master through one
/// partial sync and no new full one; `before` is the master's
/// (`sync_full`, `sync_partial_ok`) from before the cut.
fn healed_by_one_partial_sync(m: &Server, r: &Server, before: (i64, i64), label: &str) {
    wait_converged(m, &[r], label);
    assert_eq!(stat(m, "sync_full"), before.0, "{label}: no new full sync");
    assert_eq!(
        stat(m, "sync_partial_ok"),
        before.1 + 1,
        "{label}: one partial sync"
    );
}

/// Pipelined SETs: `n` keys `prefix:i`.
fn fill(c: &mut Conn, prefix: &str, n: usize) {
    let mut batch = Vec::new();
    for i in 0..n {
        let key = format!("{prefix}:{i}");
        let val = format!("value-{i}-{}", "x".repeat(i % 40));
        batch.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{val}\r\n",
                key.len(),
                val.len()
            )
            .as_bytes(),
        );
        if i % 1000 == 999 || i == n - 1 {
            c.send_raw(&batch).expect("send");
            batch.clear();
            let count = if i % 1000 == 999 { 1000 } else { n % 1000 };
            for _ in 0..count {
                c.read_reply().expect("reply");
            }
        }
    }
}

/// Send commands pipelined, 1000 at a time, and check none failed.
fn pipeline(c: &mut Conn, cmds: &[Vec<String>]) {
    for chunk in cmds.chunks(1000) {
        let mut out = Vec::new();
        for args in chunk {
            out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for a in args {
                out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
            }
        }
        c.send_raw(&out).expect("send");
        for args in chunk {
            if let Reply::Error(e) = c.read_reply().expect("reply") {
                panic!("{args:?} failed: {e}");
            }
        }
    }
}

fn cmd(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// `n` keys of every type, small and past the compact-encoding limits, some with TTLs.
fn fill_every_type(c: &mut Conn, n: usize) {
    let mut cmds = Vec::new();
    for i in 0..n {
        let k = format!("k:{i}");
        let (a, b) = (i.to_string(), (i * 7).to_string());
        cmds.push(match i % 6 {
            0 => cmd(&["SET", &k, &format!("value-{i}")]),
            1 => cmd(&["RPUSH", &k, "a", &a, "c"]),
            2 => cmd(&["HSET", &k, "f1", &a, "f2", "v2"]),
            3 => cmd(&["SADD", &k, &a, &b, "3"]),
            4 => cmd(&["ZADD", &k, "1.5", &a, "-2", "m"]),
            _ => cmd(&["SET", &k, "ttl", "EX", "100000"]),
        });
    }
    for i in 0..1000 {
        let (a, m) = (i.to_string(), format!("member-{i}"));
        cmds.push(cmd(&["RPUSH", "big:list", &m]));
        cmds.push(cmd(&["HSET", "big:hash", &m, &a]));
        cmds.push(cmd(&["SADD", "big:set", &m]));
        cmds.push(cmd(&["SADD", "big:intset", &a]));
        cmds.push(cmd(&["ZADD", "big:zset", &a, &m]));
    }
    cmds.push(cmd(&["SELECT", "3"]));
    cmds.push(cmd(&["SET", "in-db-3", "x"]));
    cmds.push(cmd(&["SELECT", "0"]));
    pipeline(c, &cmds);
}

/// Writes of every type while a sync runs (each with a distinct stream form).
fn writes_during_sync(c: &mut Conn) {
    let mut cmds = Vec::new();
    for i in 0..100 {
        let a = i.to_string();
        cmds.push(cmd(&["SET", &format!("during:{i}"), "v", "PX", "100000"]));
        cmds.push(cmd(&["INCR", "counter"]));
        cmds.push(cmd(&["INCRBYFLOAT", "float", "0.1"]));
        cmds.push(cmd(&["LPUSH", "big:list", &a]));
        cmds.push(cmd(&["HINCRBY", "big:hash", "member-1", "1"]));
        cmds.push(cmd(&["SADD", "big:set", &format!("new-{i}")]));
        cmds.push(cmd(&["ZINCRBY", "big:zset", "1", "member-2"]));
        cmds.push(cmd(&["EXPIRE", &format!("k:{}", i * 6), "100000"]));
        cmds.push(cmd(&["DEL", &format!("k:{}", i * 6 + 1)]));
        cmds.push(cmd(&["SPOP", "big:intset"]));
    }
    pipeline(c, &cmds);
}

fn replicaof(r: &Server, port: u16) {
    assert_eq!(
        r.conn().cmd(&["REPLICAOF", "127.0.0.1", &port.to_string()]),
        Reply::Simple("OK".into())
    );
}

#[test]
fn cold_start_full_sync_with_writes_during_sync() {
    for diskless in ["yes", "no"] {
        for (mk, rk) in PAIRINGS {
            let label = format!("{mk:?} master -> {rk:?} replica, diskless {diskless}");
            let m = start(mk, &["--repl-diskless-sync", diskless]);
            let r = start(rk, &[]);
            fill_every_type(&mut m.conn(), 100_000);
            replicaof(&r, m.port);
            writes_during_sync(&mut m.conn());
            wait_converged(&m, &[&r], &label);
            assert_eq!(stat(&m, "sync_full"), 1, "{label}");
            assert_eq!(
                r.conn().cmd(&["DBSIZE"]),
                m.conn().cmd(&["DBSIZE"]),
                "{label}"
            );
            // A write on the replica is refused.
            match r.conn().cmd(&["SET", "x", "1"]) {
                Reply::Error(e) => assert_eq!(
                    e, "READONLY You can't write against a read only replica.",
                    "{label}"
                ),
                other => panic!("{label}: write on replica answered {other:?}"),
            }
        }
    }
}

#[test]
fn link_blip_continues_partially_with_exactly_the_gap() {
    for (mk, rk) in PAIRINGS {
        let label = format!("{mk:?} master -> {rk:?} replica");
        let m = start(mk, &[]);
        let r = start(rk, &["--repl-timeout", "5"]);
        let proxy = Proxy::start(m.port);
        fill(&mut m.conn(), "blip", 2000);
        replicaof(&r, proxy.port);
        wait_converged(&m, &[&r], &label);
        let full = stat(&m, "sync_full");
        let partial = stat(&m, "sync_partial_ok");
        let offset_before: i64 = info_field(&m, "replication", "master_repl_offset")
            .parse()
            .expect("offset");
        proxy.cut();
        let mut c = m.conn();
        for i in 0..200 {
            c.cmd(&["SET", &format!("gap:{i}"), "during the outage"]);
        }
        let offset_after: i64 = info_field(&m, "replication", "master_repl_offset")
            .parse()
            .expect("offset");
        let before_heal = proxy.downstream_bytes();
        proxy.heal();
        healed_by_one_partial_sync(&m, &r, (full, partial), &label);
        // What crossed the link after the heal: handshake replies, the
        // +CONTINUE line, then the gap (and maybe master PINGs).
        let captured = proxy.captured();
        let after = &captured[before_heal as usize..];
        let cont = after
            .windows(9)
            .position(|w| w == b"+CONTINUE")
            .unwrap_or_else(|| {
                panic!(
                    "{label}: no +CONTINUE in {:?}",
                    String::from_utf8_lossy(after)
                )
            });
        let after = &after[cont..];
        let line_end = after
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a +CONTINUE line")
            + 2;
        let gap = (offset_after - offset_before) as usize;
        assert!(
            after.len() - line_end >= gap,
            "{label}: the whole gap was sent"
        );
        // Anything beyond the gap can only be master PINGs (14 bytes each).
        assert_eq!(
            (after.len() - line_end - gap) % 14,
            0,
            "{label}: only the gap (and PINGs) was sent"
        );
    }
}

#[test]
fn long_outage_overflows_the_backlog_and_forces_a_full_sync() {
    for (mk, rk) in PAIRINGS {
        let label = format!("{mk:?} master -> {rk:?} replica");
        let m = start(mk, &["--repl-backlog-size", "16kb"]);
        let r = start(rk, &[]);
        let proxy = Proxy::start(m.port);
        fill(&mut m.conn(), "outage", 500);
        replicaof(&r, proxy.port);
        wait_converged(&m, &[&r], &label);
        let full = stat(&m, "sync_full");
        proxy.cut();
        fill(&mut m.conn(), "more", 3000); // far more than 16 KB of stream
        proxy.heal();
        wait_converged(&m, &[&r], &label);
        assert_eq!(stat(&m, "sync_full"), full + 1, "{label}: a full sync");
        assert!(
            stat(&m, "sync_partial_err") >= 1,
            "{label}: the partial attempt was refused"
        );
    }
}

#[test]
fn failover_keeps_history_with_replid2() {
    for (mk, rk) in PAIRINGS {
        let label = format!("{mk:?} master, {rk:?} replicas");
        // No stream PINGs from the old master between the promotion and its
        // demotion: its history must end where the promoted replica's does.
        let m = start(mk, &["--repl-ping-replica-period", "3600"]);
        let r1 = start(rk, &[]);
        let r2 = start(rk, &[]);
        fill(&mut m.conn(), "fo", 1000);
        replicaof(&r1, m.port);
        replicaof(&r2, m.port);
        wait_converged(&m, &[&r1, &r2], &label);
        // Promote r1, point r2 and the old master at it.
        let old_id = info_field(&r1, "replication", "master_replid");
        assert_eq!(
            r1.conn().cmd(&["REPLICAOF", "NO", "ONE"]),
            Reply::Simple("OK".into())
        );
        assert_eq!(
            info_field(&r1, "replication", "master_replid2"),
            old_id,
            "{label}"
        );
        replicaof(&r2, r1.port);
        replicaof(&m, r1.port);
        r1.conn().cmd(&["SET", "after", "failover"]);
        wait_converged(&r1, &[&r2, &m], &label);
        assert_eq!(
            stat(&r1, "sync_full"),
            0,
            "{label}: no full sync after the failover; promoted node:\n{}\nold master:\n{}",
            info(&r1, "replication"),
            info(&m, "replication")
        );
        assert_eq!(stat(&r1, "sync_partial_ok"), 2, "{label}: both continued");
        assert_eq!(
            info_field(&r2, "replication", "master_replid"),
            info_field(&r1, "replication", "master_replid")
        );
    }
}

#[test]
fn chained_replicas_carry_the_stream() {
    for (mk, rk) in PAIRINGS {
        let label = format!("{mk:?} A -> {rk:?} B -> {mk:?} C");
        let a = start(mk, &[]);
        let b = start(rk, &[]);
        let c = start(mk, &[]);
        fill(&mut a.conn(), "chain", 1000);
        replicaof(&b, a.port);
        replicaof(&c, b.port);
        let mut w = a.conn();
        for i in 0..200 {
            w.cmd(&["SET", &format!("late:{i}"), "v"]);
        }
        w.cmd(&["SELECT", "2"]);
        w.cmd(&["SET", "in-db-2", "x"]);
        wait_converged(&a, &[&b, &c], &label);
        assert_eq!(
            info_field(&c, "replication", "master_replid"),
            info_field(&a, "replication", "master_replid"),
            "{label}"
        );
    }
}

#[test]
fn replica_restart_from_its_rdb_continues_partially() {
    for (mk, rk) in PAIRINGS {
        let label = format!("{mk:?} master -> {rk:?} replica restarted");
        let m = start(mk, &[]);
        let mport = m.port.to_string();
        // `replicaof` in the replica's own configuration, so that on restart the
        // RDB's repl-id/repl-offset become its cached master.
        let mut r = start(
            rk,
            &["--save", "3600 1", "--replicaof", "127.0.0.1", &mport],
        );
        fill(&mut m.conn(), "restart", 500);
        wait_converged(&m, &[&r], &label);
        let full = stat(&m, "sync_full");
        let partial = stat(&m, "sync_partial_ok");
        r.terminate(); // SIGTERM with save points: the replica saves first
        m.conn().cmd(&["SET", "while-down", "1"]);
        r.restart();
        wait_converged(&m, &[&r], &label);
        assert_eq!(
            r.conn().cmd(&["GET", "while-down"]),
            Reply::Bulk(Some(b"1".to_vec())),
            "{label}"
        );
        assert_eq!(
            stat(&m, "sync_full"),
            full,
            "{label}: no full sync after the restart"
        );
        assert_eq!(
            stat(&m, "sync_partial_ok"),
            partial + 1,
            "{label}: continued from the RDB's aux fields"
        );
    }
}

#[test]
fn wait_counts_acks_and_min_replicas_refuses_writes() {
    for (mk, rk) in PAIRINGS {
        let label = format!("{mk:?} master -> {rk:?} replica");
        let m = start(mk, &[]);
        let r = start(rk, &[]);
        replicaof(&r, m.port);
        m.conn().cmd(&["SET", "seed", "1"]);
        wait_converged(&m, &[&r], &label);
        let mut c = m.conn();
        c.cmd(&["SET", "w", "1"]);
        assert_eq!(
            c.cmd(&["WAIT", "1", "5000"]),
            Reply::Int(1),
            "{label}: one replica acknowledged"
        );
        c.cmd(&["SET", "w", "2"]);
        let t = Instant::now();
        assert_eq!(
            c.cmd(&["WAIT", "2", "300"]),
            Reply::Int(1),
            "{label}: only one replica exists"
        );
        assert!(
            t.elapsed() >= Duration::from_millis(250),
            "{label}: WAIT waited for its timeout"
        );
        match r.conn().cmd(&["WAIT", "0", "0"]) {
            Reply::Error(e) => assert!(
                e.starts_with("ERR WAIT cannot be used with replica instances"),
                "{label}: {e}"
            ),
            other => panic!("{label}: WAIT on a replica answered {other:?}"),
        }
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "min-replicas-to-write", "1"]),
            Reply::Simple("OK".into())
        );
        assert_eq!(
            c.cmd(&["SET", "allowed", "1"]),
            Reply::Simple("OK".into()),
            "{label}"
        );
        // The replica leaves: writes are refused once the master notices.
        assert_eq!(
            r.conn().cmd(&["REPLICAOF", "NO", "ONE"]),
            Reply::Simple("OK".into())
        );
        wait_until(
            &format!("{label}: master sees no replica"),
            Duration::from_secs(15),
            || info_field(&m, "replication", "connected_slaves") == "0",
        );
        wait_until(
            &format!("{label}: NOREPLICAS"),
            Duration::from_secs(15),
            || {
                c.cmd(&["SET", "refused", "1"])
                    == Reply::Error("NOREPLICAS Not enough good replicas to write.".into())
            },
        );
        assert_eq!(
            c.cmd(&["GET", "allowed"]),
            Reply::Bulk(Some(b"1".to_vec())),
            "{label}: reads still work"
        );
    }
}

/// A second replica link that announces `port`, continued at the master's
/// offset: what a replica's old connection looks like to a master that has
/// not noticed it broke.
fn extra_link(m: &Server, port: u16, label: &str) -> Conn {
    let mut g = m.conn();
    assert_eq!(
        g.cmd(&["REPLCONF", "listening-port", &port.to_string()]),
        Reply::Simple("OK".into()),
        "{label}"
    );
    let replid = info_field(m, "replication", "master_replid");
    let off: i64 = info_field(m, "replication", "master_repl_offset")
        .parse()
        .expect("offset");
    match g.cmd(&["PSYNC", &replid, &(off + 1).to_string()]) {
        Reply::Simple(s) if s.starts_with("CONTINUE") => g,
        other => panic!("{label}: PSYNC answered {other:?}"),
    }
}

/// How many of the master's `slaveN` lines announce `port` with an
/// acknowledged offset of at least `off`.
fn links_acked(m: &Server, port: u16, off: i64) -> usize {
    info(m, "replication")
        .lines()
        .filter(|l| l.starts_with("slave") && l.contains(&format!(",port={port},")))
        .filter(|l| {
            l.split(',')
                .find_map(|f| f.strip_prefix("offset="))
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v >= off)
        })
        .count()
}

/// A replica that reconnects before its master noticed the old connection
/// broke has two links there. WAIT's answer (and min-replicas-to-write's
/// count) is a number of replicas: a Tandem master counts that replica once,
/// by its IP and listening port. redis-server 7.0 counts connections and
/// answers 2 with one replica; the same steps run against it show the
/// difference is real.
#[test]
fn wait_counts_a_replica_with_a_stale_link_once() {
    for kind in [Kind::Tandem, Kind::Redis] {
        let label = format!("{kind:?} master");
        let m = start(kind, &[]);
        let r = start(kind, &[]);
        replicaof(&r, m.port);
        m.conn().cmd(&["SET", "seed", "1"]);
        wait_converged(&m, &[&r], &label);
        let mut stale = extra_link(&m, r.port, &label);
        let mut c = m.conn();
        c.cmd(&["SET", "w", "1"]);
        let target: i64 = info_field(&m, "replication", "master_repl_offset")
            .parse()
            .expect("offset");
        stale
            .send(&["REPLCONF", "ACK", &target.to_string()])
            .expect("ack");
        wait_until(
            &format!("{label}: both links of the replica acknowledged the write"),
            Duration::from_secs(10),
            || links_acked(&m, r.port, target) == 2,
        );
        let once = if kind == Kind::Tandem { 1 } else { 2 };
        assert_eq!(
            c.cmd(&["WAIT", "2", "300"]),
            Reply::Int(once),
            "{label}: one replica, two links"
        );
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "min-replicas-to-write", "2"]),
            Reply::Simple("OK".into())
        );
        let write = c.cmd(&["SET", "x", "1"]);
        if kind == Kind::Tandem {
            assert_eq!(
                write,
                Reply::Error("NOREPLICAS Not enough good replicas to write.".into()),
                "{label}: one good replica, not two"
            );
        } else {
            assert_eq!(write, Reply::Simple("OK".into()), "{label}");
        }
        c.cmd(&["CONFIG", "SET", "min-replicas-to-write", "0"]);
        // Another replica (another listening port) counts.
        let other_port = r.port.wrapping_add(1);
        let mut other = extra_link(&m, other_port, &label);
        c.cmd(&["SET", "w", "2"]);
        let target: i64 = info_field(&m, "replication", "master_repl_offset")
            .parse()
            .expect("offset");
        for link in [&mut stale, &mut other] {
            link.send(&["REPLCONF", "ACK", &target.to_string()])
                .expect("ack");
        }
        wait_until(
            &format!("{label}: every link acknowledged the second write"),
            Duration::from_secs(10),
            || links_acked(&m, r.port, target) == 2 && links_acked(&m, other_port, target) == 1,
        );
        assert_eq!(
            c.cmd(&["WAIT", "3", "300"]),
            Reply::Int(once + 1),
            "{label}: two replicas, three links"
        );
    }
}

/// Bare `\n` bytes (not ending a `\r\n` line) in `bytes`.
fn bare_newlines(bytes: &[u8]) -> usize {
    (0..bytes.len())
        .filter(|&i| bytes[i] == b'\n' && (i == 0 || bytes[i - 1] != b'\r'))
        .count()
}

/// Keepalive newlines before the payload: (before `+FULLRESYNC`, between
/// it and the payload's `$` line) in what a master sent a replica.
fn keepalives_before_payload(down: &[u8]) -> (usize, usize) {
    let at = down
        .windows(11)
        .position(|w| w == b"+FULLRESYNC")
        .expect("a +FULLRESYNC");
    let line_end = at + down[at..].iter().position(|&b| b == b'\n').expect("line") + 1;
    let dollar = line_end
        + down[line_end..]
            .iter()
            .position(|&b| b != b'\n')
            .expect("a payload");
    assert_eq!(down[dollar], b'$', "only newlines before the payload");
    (bare_newlines(&down[..at]), dollar - line_end)
}

/// The `\n` keepalives around a full sync are outside the stream: a master
/// sends them before the payload (while the diskless delay runs, before
/// `+FULLRESYNC`; while a disk snapshot is written, after it), and a
/// replica sends them upstream while it waits for and loads the payload.
/// None of them moves an offset: once synced, the Tandem replica's offset
/// is the master's, the master's view of the replica's offset is its own,
/// and a link blip continues partially (an offset off by the newlines
/// would ask for bytes the master never had and force a full sync).
#[test]
fn keepalive_newlines_never_move_offsets() {
    let cases: [(Kind, &str, &[&str]); 3] = [
        (
            Kind::Redis,
            "diskless delay",
            &[
                "--repl-diskless-sync",
                "yes",
                "--repl-diskless-sync-delay",
                "3",
            ],
        ),
        (
            Kind::Redis,
            "slow disk snapshot",
            &[
                "--repl-diskless-sync",
                "no",
                "--rdb-key-save-delay",
                "10000",
            ],
        ),
        (
            Kind::Tandem,
            "diskless delay",
            &[
                "--repl-diskless-sync",
                "yes",
                "--repl-diskless-sync-delay",
                "3",
            ],
        ),
    ];
    for (mk, what, args) in cases {
        let label = format!("{mk:?} master, {what} -> Tandem replica");
        let m = start(mk, args);
        let r = start(Kind::Tandem, &[]);
        fill(&mut m.conn(), "k", 300);
        let proxy = Proxy::start(m.port);
        replicaof(&r, proxy.port);
        wait_converged(&m, &[&r], &label);
        let (before, after) = keepalives_before_payload(&proxy.captured());
        assert!(before + after >= 2, "{label}: keepalives were sent");
        if what == "diskless delay" {
            assert!(before >= 2, "{label}: newlines before +FULLRESYNC");
        } else {
            assert!(after >= 2, "{label}: newlines before the $ line");
            assert!(
                bare_newlines(&proxy.captured_upstream()) >= 1,
                "{label}: the replica sent newlines while waiting for its payload"
            );
        }
        fill(&mut m.conn(), "after", 50);
        let master_offset = || info_field(&m, "replication", "master_repl_offset");
        wait_until(
            &format!("{label}: the replica's offset is the master's"),
            Duration::from_secs(10),
            || {
                let off = master_offset();
                info_field(&r, "replication", "master_repl_offset") == off
                    && info(&m, "replication").contains(&format!(",offset={off},"))
            },
        );
        let (full, partial) = (stat(&m, "sync_full"), stat(&m, "sync_partial_ok"));
        proxy.cut();
        m.conn().cmd(&["SET", "gap", "1"]);
        proxy.heal();
        healed_by_one_partial_sync(&m, &r, (full, partial), &label);
        wait_until(
            &format!("{label}: offsets equal after the partial sync"),
            Duration::from_secs(10),
            || info_field(&r, "replication", "master_repl_offset") == master_offset(),
        );
    }
}

#[test]
fn masterauth_and_stale_data_settings() {
    for (mk, rk) in PAIRINGS {
        let label = format!("{mk:?} master -> {rk:?} replica");
        let m = start(mk, &["--requirepass", "s3cret"]);
        // Wrong password: the link never comes up.
        let bad = start(rk, &["--masterauth", "wrong"]);
        replicaof(&bad, m.port);
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!link_up(&bad), "{label}: a wrong masterauth must not sync");
        // Right password: it syncs.
        let good = start(
            rk,
            &["--masterauth", "s3cret", "--replica-serve-stale-data", "no"],
        );
        let mut mc = m.conn();
        assert_eq!(mc.cmd(&["AUTH", "s3cret"]), Reply::Simple("OK".into()));
        mc.cmd(&["SET", "k", "v"]);
        replicaof(&good, m.port);
        wait_until(
            &format!("{label}: link up with masterauth"),
            Duration::from_secs(30),
            || link_up(&good),
        );
        wait_until(
            &format!("{label}: data arrives"),
            Duration::from_secs(30),
            || good.conn().cmd(&["GET", "k"]) == Reply::Bulk(Some(b"v".to_vec())),
        );
        // Link down with replica-serve-stale-data no: reads answer MASTERDOWN.
        drop(m);
        wait_until(
            &format!("{label}: MASTERDOWN"),
            Duration::from_secs(30),
            || {
                good.conn().cmd(&["GET", "k"])
                == Reply::Error("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.".into())
            },
        );
    }
}

#[test]
fn replicas_arriving_together_share_one_diskless_snapshot() {
    for mk in [Kind::Tandem, Kind::Redis] {
        let label = format!("{mk:?} master");
        // A long delay, ended early once two replicas wait.
        let m = Server::start(
            mk,
            &[
                "--repl-diskless-sync-delay",
                "30",
                "--repl-diskless-sync-max-replicas",
                "2",
            ],
        );
        fill(&mut m.conn(), "shared", 1000);
        let r1 = start(Kind::Tandem, &[]);
        let r2 = start(Kind::Redis, &[]);
        let t = Instant::now();
        replicaof(&r1, m.port);
        replicaof(&r2, m.port);
        wait_converged(&m, &[&r1, &r2], &label);
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{label}: the second replica ended the delay"
        );
        assert_eq!(stat(&m, "sync_full"), 2, "{label}");
        // One snapshot: both replicas started from the same offset, so with no
        // writes since, both stand at the master's offset.
        let off = info_field(&m, "replication", "master_repl_offset");
        wait_until(
            &format!("{label}: replicas at the master's offset"),
            Duration::from_secs(15),
            || {
                info_field(&r1, "replication", "slave_repl_offset") == off
                    && info_field(&r2, "replication", "slave_repl_offset") == off
            },
        );
    }
}
