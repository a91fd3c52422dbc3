//! SCAN's guarantee for ZSCAN, HSCAN and SSCAN over large collections
//! (skiplist, hashtable encodings): a full iteration returns every element
//! that was present from its start to its end at least once, however the
//! collection changes between calls. Between every two calls the script
//! adds members (for a sorted set with scores spread over the whole range,
//! so ranks shift), deletes some of the added ones, and updates stable
//! ones (new scores, new values). The same script runs against `tandem`
//! and redis-server 7.0.15 (cursors differ, the guarantee must hold on
//! both); a compact collection is answered whole with cursor 0.

mod types_common;
use std::collections::HashSet;
use tandem_tests::{have_redis, Conn, Reply, Server};
use types_common::Gen;

const STABLE: usize = 1500;

#[derive(Clone, Copy, Debug)]
enum Kind {
    ZSet,
    Hash,
    Set,
}

impl Kind {
    fn scan(self) -> &'static str {
        match self {
            Kind::ZSet => "ZSCAN",
            Kind::Hash => "HSCAN",
            Kind::Set => "SSCAN",
        }
    }
    fn encoding(self) -> &'static str {
        match self {
            Kind::ZSet => "skiplist",
            Kind::Hash | Kind::Set => "hashtable",
        }
    }
    /// Add (or update) `m`.
    fn add(self, c: &mut Conn, g: &mut Gen, m: &str) {
        let score = g.range(-1_000_000, 1_000_000).to_string();
        let r = match self {
            Kind::ZSet => c.cmd(&["ZADD", "k", &score, m]),
            Kind::Hash => c.cmd(&["HSET", "k", m, &score]),
            Kind::Set => c.cmd(&["SADD", "k", m]),
        };
        assert!(matches!(r, Reply::Int(_)), "{r:?}");
    }
    fn remove(self, c: &mut Conn, m: &str) {
        let cmd = match self {
            Kind::ZSet => "ZREM",
            Kind::Hash => "HDEL",
            Kind::Set => "SREM",
        };
        assert!(matches!(c.cmd(&[cmd, "k", m]), Reply::Int(_)));
    }
}

fn text(r: &Reply) -> String {
    match r {
        Reply::Bulk(Some(b)) => String::from_utf8(b.clone()).unwrap(),
        other => panic!("not a bulk: {other:?}"),
    }
}

/// Scan `k` to the end with `COUNT count`, mutating between calls; return
/// the members returned and the number of calls.
fn scan_while_mutating(
    c: &mut Conn,
    kind: Kind,
    seed: u64,
    count: &str,
) -> (HashSet<String>, usize) {
    let mut g = Gen::new(seed);
    let mut volatile: Vec<String> = Vec::new();
    let mut next_volatile = 0;
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = c.cmd(&[kind.scan(), "k", &cursor, "COUNT", count]);
        calls += 1;
        let Reply::Array(Some(parts)) = r else {
            panic!("{r:?}")
        };
        cursor = text(&parts[0]);
        let Reply::Array(Some(items)) = &parts[1] else {
            panic!("{parts:?}")
        };
        let step = if matches!(kind, Kind::Set) { 1 } else { 2 };
        for it in items.iter().step_by(step) {
            seen.insert(text(it));
        }
        if cursor == "0" {
            return (seen, calls);
        }
        assert!(calls < 100_000, "{kind:?}: the scan does not end");
        for _ in 0..g.range(5, 40) {
            let m = format!("v{next_volatile}");
            next_volatile += 1;
            kind.add(c, &mut g, &m);
            volatile.push(m);
        }
        for _ in 0..g.range(0, 30) {
            if volatile.is_empty() {
                break;
            }
            let i = g.below(volatile.len() as u64) as usize;
            let m = volatile.swap_remove(i);
            kind.remove(c, &m);
        }
        for _ in 0..g.range(0, 10) {
            let m = format!("s{}", g.below(STABLE as u64));
            kind.add(c, &mut g, &m);
        }
    }
}

fn check(s: &Server, kind: Kind, seed: u64) {
    let mut c = s.conn();
    c.cmd(&["DEL", "k"]);
    let mut g = Gen::new(seed ^ 0xfeed);
    for i in 0..STABLE {
        kind.add(&mut c, &mut g, &format!("s{i}"));
    }
    assert_eq!(
        c.cmd(&["OBJECT", "ENCODING", "k"]),
        Reply::Bulk(Some(kind.encoding().into()))
    );
    for count in ["7", "100"] {
        let (seen, calls) = scan_while_mutating(&mut c, kind, seed, count);
        let missing: Vec<String> = (0..STABLE)
            .map(|i| format!("s{i}"))
            .filter(|m| !seen.contains(m))
            .collect();
        assert!(
            missing.is_empty(),
            "{kind:?} COUNT {count}: {} stable members never returned, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        assert!(calls > 5, "{kind:?} COUNT {count}: only {calls} calls");
    }
}

#[test]
fn scan_returns_every_member_present_throughout() {
    assert!(have_redis(), "redis-server is required");
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    for (seed, kind) in [(1, Kind::ZSet), (2, Kind::Hash), (3, Kind::Set)] {
        check(&t, kind, seed);
        check(&r, kind, seed);
    }
}

#[test]
fn compact_collections_are_answered_whole() {
    assert!(have_redis(), "redis-server is required");
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let script = |s: &Server| {
        let mut c = s.conn();
        c.cmd(&["ZADD", "z", "3", "c", "1", "a", "2", "b"]);
        c.cmd(&["HSET", "h", "f1", "1", "f2", "2", "f3", "3"]);
        c.cmd(&["SADD", "s", "3", "1", "2", "10"]);
        [
            "ZSCAN z 0 COUNT 1",
            "HSCAN h 0 COUNT 1",
            "SSCAN s 0 COUNT 1",
        ]
        .iter()
        .map(|cmd| c.cmd(&cmd.split(' ').collect::<Vec<_>>()))
        .collect::<Vec<_>>()
    };
    let (a, b) = (script(&t), script(&r));
    assert_eq!(a, b);
    assert_eq!(a[0].to_resp(), b"*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n");
}
