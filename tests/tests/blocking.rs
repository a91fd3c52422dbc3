//! Blocking commands over TCP with several clients, against the real
//! `tandem` binary and, for the same script, a real redis-server 7.0.15:
//! a blocked client is woken by another client's push, timeouts answer
//! `*-1`, several blocked clients are served first-come first-served, a
//! woken BLMOVE's push wakes the next client, a transaction's pushes are
//! served after EXEC, and a woken client's pipelined input runs after.
//! Every way a list or sorted set can come into being wakes the clients
//! blocked on its key (RENAME, RENAMENX, COPY, MOVE, SWAPDB, LMOVE and
//! RPOPLPUSH targets, the `*STORE` destinations, inside EXEC).

use std::time::{Duration, Instant};
use tandem_tests::{have_redis, Conn, Reply, Server};

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Some(s.as_bytes().to_vec()))
}
fn arr(items: Vec<Reply>) -> Reply {
    Reply::Array(Some(items))
}

/// Block `c` with `args`, and make sure the server has parked it before
/// going on (a PING from another connection round-trips after it).
fn block(c: &mut Conn, other: &mut Conn, args: &[&str]) {
    c.send(args).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    other.cmd(&["PING"]);
}

/// Run `script` on both servers; return both transcripts for comparison.
fn both(script: fn(&Server) -> Vec<Reply>) -> (Vec<Reply>, Vec<Reply>) {
    assert!(have_redis(), "redis-server is required");
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    (script(&t), script(&r))
}

#[test]
fn push_wakes_blocked_clients_in_order() {
    fn script(s: &Server) -> Vec<Reply> {
        let (mut a, mut b, mut c, mut p) = (s.conn(), s.conn(), s.conn(), s.conn());
        block(&mut a, &mut p, &["BLPOP", "q", "other", "0"]);
        block(&mut b, &mut p, &["BRPOP", "q", "0"]);
        block(&mut c, &mut p, &["BLPOP", "other", "q", "0"]);
        let mut out = vec![p.cmd(&["RPUSH", "q", "1", "2"])];
        out.push(a.read_reply().unwrap());
        out.push(b.read_reply().unwrap());
        // The list was emptied by the first two: the third still waits.
        out.push(p.cmd(&["EXISTS", "q"]));
        out.push(p.cmd(&["LPUSH", "q", "3"]));
        out.push(c.read_reply().unwrap());
        out
    }
    let (t, r) = both(script);
    assert_eq!(t, r);
    assert_eq!(t[1], arr(vec![bulk("q"), bulk("1")]));
    assert_eq!(t[2], arr(vec![bulk("q"), bulk("2")]));
    assert_eq!(t[5], arr(vec![bulk("q"), bulk("3")]));
}

#[test]
fn timeout_answers_null_array() {
    fn script(s: &Server) -> Vec<Reply> {
        let mut c = s.conn();
        let mut out = Vec::new();
        for cmd in [
            &["BLPOP", "none", "0.2"][..],
            &["BRPOPLPUSH", "none", "dst", "0.2"],
            &["BLMOVE", "none", "dst", "LEFT", "RIGHT", "0.2"],
            &["BLMPOP", "0.2", "1", "none", "LEFT"],
            &["BZPOPMIN", "none", "0.2"],
            &["BZPOPMAX", "none", "0.2"],
        ] {
            let start = Instant::now();
            out.push(c.cmd(cmd));
            let took = start.elapsed();
            assert!(
                took >= Duration::from_millis(190),
                "{cmd:?} returned after {took:?}"
            );
            assert!(
                took < Duration::from_secs(2),
                "{cmd:?} returned after {took:?}"
            );
        }
        out
    }
    let (t, r) = both(script);
    assert_eq!(t, r);
    assert!(t.iter().all(|x| *x == Reply::Array(None)));
}

#[test]
fn blmove_chain_and_exec() {
    fn script(s: &Server) -> Vec<Reply> {
        let (mut a, mut b, mut c, mut p) = (s.conn(), s.conn(), s.conn(), s.conn());
        block(
            &mut a,
            &mut p,
            &["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"],
        );
        block(&mut b, &mut p, &["BLPOP", "dst", "0"]);
        block(&mut c, &mut p, &["BZPOPMIN", "z", "0"]);
        let mut out = vec![p.cmd(&["MULTI"])];
        out.push(p.cmd(&["RPUSH", "src", "x", "y"]));
        out.push(p.cmd(&["ZADD", "z", "2", "m2", "1", "m1"]));
        out.push(p.cmd(&["EXEC"]));
        out.push(a.read_reply().unwrap());
        out.push(b.read_reply().unwrap());
        out.push(c.read_reply().unwrap());
        out.push(p.cmd(&["LRANGE", "src", "0", "-1"]));
        out.push(p.cmd(&["EXISTS", "dst"]));
        out.push(p.cmd(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]));
        out
    }
    let (t, r) = both(script);
    assert_eq!(t, r);
    assert_eq!(t[4], bulk("y"));
    assert_eq!(t[5], arr(vec![bulk("dst"), bulk("y")]));
    assert_eq!(t[6], arr(vec![bulk("z"), bulk("m1"), bulk("1")]));
}

#[test]
fn woken_client_runs_its_pipelined_input() {
    fn script(s: &Server) -> Vec<Reply> {
        let (mut a, mut p) = (s.conn(), s.conn());
        let mut pipeline = Vec::new();
        for cmd in [
            &["BLPOP", "k", "5"][..],
            &["RPUSH", "k2", "after"],
            &["LLEN", "k2"],
        ] {
            pipeline.extend_from_slice(&encode(cmd));
        }
        a.send_raw(&pipeline).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let mut out = vec![p.cmd(&["EXISTS", "k2"])];
        out.push(p.cmd(&["LPUSH", "k", "v"]));
        out.push(a.read_reply().unwrap());
        out.push(a.read_reply().unwrap());
        out.push(a.read_reply().unwrap());
        out
    }
    let (t, r) = both(script);
    assert_eq!(t, r);
    assert_eq!(t[0], Reply::Int(0), "input after BLPOP must wait");
    assert_eq!(t[4], Reply::Int(1));
}

#[test]
fn inside_multi_blocking_answers_at_once() {
    fn script(s: &Server) -> Vec<Reply> {
        let mut c = s.conn();
        let mut out = vec![c.cmd(&["MULTI"])];
        for cmd in [
            &["BLPOP", "none", "0"][..],
            &["BRPOPLPUSH", "none", "d", "0"],
            &["BLMOVE", "none", "d", "LEFT", "LEFT", "0"],
            &["BLMPOP", "0", "1", "none", "LEFT"],
            &["BZPOPMAX", "none", "0"],
        ] {
            out.push(c.cmd(cmd));
        }
        out.push(c.cmd(&["EXEC"]));
        out
    }
    let (t, r) = both(script);
    assert_eq!(t, r);
}

/// One way of creating a key, and the clients it must (or must not) wake.
#[test]
fn every_way_a_key_comes_into_being_wakes_blocked_clients() {
    // (database of the blocked client, its command, commands of the
    // creating client (which starts in db 0), whether it is served).
    type Case = (
        &'static str,
        &'static [&'static str],
        &'static [&'static [&'static str]],
        bool,
    );
    const CASES: &[Case] = &[
        (
            "0",
            &["BLPOP", "l", "5"],
            &[&["RPUSH", "t", "x", "y"], &["RENAME", "t", "l"]],
            true,
        ),
        (
            "0",
            &["BZPOPMIN", "z", "5"],
            &[&["ZADD", "t", "1", "m"], &["RENAMENX", "t", "z"]],
            true,
        ),
        (
            "0",
            &["BRPOP", "l", "5"],
            &[&["RPUSH", "t", "x"], &["COPY", "t", "l"]],
            true,
        ),
        (
            "4",
            &["BLPOP", "l", "5"],
            &[&["RPUSH", "t", "x"], &["COPY", "t", "l", "DB", "4"]],
            true,
        ),
        (
            "1",
            &["BLPOP", "l", "5"],
            &[&["RPUSH", "l", "x"], &["MOVE", "l", "1"]],
            true,
        ),
        (
            "2",
            &["BZPOPMAX", "z", "5"],
            &[
                &["SELECT", "3"],
                &["ZADD", "z", "1", "a", "2", "b"],
                &["SWAPDB", "2", "3"],
            ],
            true,
        ),
        (
            "0",
            &["BLPOP", "d", "5"],
            &[
                &["RPUSH", "s", "x", "y"],
                &["LMOVE", "s", "d", "LEFT", "RIGHT"],
            ],
            true,
        ),
        (
            "0",
            &["BLPOP", "d", "5"],
            &[&["RPUSH", "s", "x", "y"], &["RPOPLPUSH", "s", "d"]],
            true,
        ),
        (
            "0",
            &["BZPOPMIN", "d", "5"],
            &[&["ZADD", "s", "1", "a"], &["ZUNIONSTORE", "d", "1", "s"]],
            true,
        ),
        (
            "0",
            &["BZPOPMIN", "d", "5"],
            &[&["ZADD", "s", "1", "a"], &["ZINTERSTORE", "d", "1", "s"]],
            true,
        ),
        (
            "0",
            &["BZPOPMIN", "d", "5"],
            &[&["ZADD", "s", "1", "a"], &["ZDIFFSTORE", "d", "1", "s"]],
            true,
        ),
        (
            "0",
            &["BZPOPMAX", "d", "5"],
            &[
                &["ZADD", "s", "1", "a", "2", "b"],
                &["ZRANGESTORE", "d", "s", "0", "-1"],
            ],
            true,
        ),
        (
            "0",
            &["BLMPOP", "5", "2", "a", "d", "RIGHT"],
            &[
                &["MULTI"],
                &["RPUSH", "t", "x"],
                &["RENAME", "t", "d"],
                &["EXEC"],
            ],
            true,
        ),
        // A sorted set does not serve a client waiting for a list.
        (
            "0",
            &["BLPOP", "z", "1"],
            &[&["ZADD", "t", "1", "m"], &["RENAME", "t", "z"]],
            false,
        ),
        // A set or hash never serves anyone.
        (
            "0",
            &["BLPOP", "d", "1"],
            &[
                &["SADD", "s", "x"],
                &["SUNIONSTORE", "d", "s"],
                &["RENAME", "d", "d2"],
                &["HSET", "h", "f", "v"],
                &["RENAME", "h", "d"],
            ],
            false,
        ),
    ];
    fn script(s: &Server) -> Vec<Reply> {
        let mut out = Vec::new();
        for (db, blocking, creating, _) in CASES {
            let (mut b, mut p) = (s.conn(), s.conn());
            out.push(p.cmd(&["FLUSHALL"]));
            out.push(b.cmd(&["SELECT", db]));
            block(&mut b, &mut p, blocking);
            for c in creating.iter() {
                out.push(p.cmd(c));
            }
            out.push(b.read_reply().unwrap());
        }
        out
    }
    let (t, r) = both(script);
    assert_eq!(t, r);
    // The blocked client's reply follows each case's creating commands.
    let mut at = 0;
    for (_, blocking, creating, served) in CASES {
        at += 2 + creating.len();
        assert_eq!(
            t[at] != Reply::Array(None),
            *served,
            "{blocking:?} after {creating:?}: {:?}",
            t[at]
        );
        at += 1;
    }
}

fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}
