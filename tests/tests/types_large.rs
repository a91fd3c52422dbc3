//! Collections far past the compact encodings against redis-server: a hash,
//! a set and a sorted set of tens of thousands of members, grown, thinned,
//! grown again and then cut to a sixteenth (so the index of each splits
//! into many shards, removals renumber entries all over it, and the shards
//! merge back as it empties). Both servers get the same
//! commands; their replies, DEBUG DIGEST-VALUE of each key, full SCANs
//! and ordered ranges must agree.

use tandem_tests::{Conn, Reply, Server};

/// Both servers answer `commands` alike.
fn same_replies(t: &mut Conn, r: &mut Conn, commands: &[Vec<String>]) {
    let (tr, rr) = (run(t, commands), run(r, commands));
    for (i, (a, b)) in tr.iter().zip(&rr).enumerate() {
        assert_eq!(a, b, "reply to {:?}", commands[i]);
    }
}

/// Send `commands` pipelined in batches; every reply of one server.
fn run(conn: &mut Conn, commands: &[Vec<String>]) -> Vec<Reply> {
    let mut replies = Vec::with_capacity(commands.len());
    for batch in commands.chunks(1000) {
        for c in batch {
            conn.send(c).expect("send");
        }
        for _ in batch {
            replies.push(conn.read_reply().expect("reply"));
        }
    }
    replies
}

fn cmd(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// Grow each collection to `upto` members, remove every `thin`-th one,
/// and change some sorted-set scores.
fn workload(from: u32, upto: u32, thin: u32) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for i in from..upto {
        let (m, f, v) = (format!("m:{i}"), format!("f:{i}"), format!("v{i}"));
        out.push(cmd(&["SADD", "s", &m]));
        out.push(cmd(&["HSET", "h", &f, &v]));
        out.push(cmd(&["ZADD", "z", &(i % 977).to_string(), &m]));
    }
    for i in (from..upto).step_by(thin as usize) {
        let (m, f) = (format!("m:{i}"), format!("f:{i}"));
        out.push(cmd(&["SREM", "s", &m]));
        out.push(cmd(&["HDEL", "h", &f]));
        out.push(cmd(&["ZINCRBY", "z", "5", &format!("m:{}", i + 1)]));
        out.push(cmd(&["ZREM", "z", &m]));
    }
    out
}

/// Every element a full SCAN-family iteration returns, sorted.
fn scan_all(conn: &mut Conn, command: &str, key: &str) -> Vec<Vec<u8>> {
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    loop {
        let reply = conn.cmd(&[command, key, &cursor, "COUNT", "500"]);
        let Reply::Array(Some(parts)) = reply else {
            panic!("{command}: {reply:?}")
        };
        cursor = parts[0].text();
        let Reply::Array(Some(items)) = &parts[1] else {
            panic!("{command} items: {:?}", parts[1])
        };
        seen.extend(items.iter().map(Reply::to_resp));
        if cursor == "0" {
            break;
        }
    }
    seen.sort();
    seen.dedup();
    seen
}

#[test]
fn large_collections_match_redis_as_their_index_grows_and_shrinks() {
    let tandem = Server::tandem(&[]);
    let redis = Server::redis(&[]);
    let (mut t, mut r) = (tandem.conn(), redis.conn());
    for (from, upto, thin) in [(0, 40_000, 3), (40_000, 70_000, 7), (70_000, 75_000, 2)] {
        same_replies(&mut t, &mut r, &workload(from, upto, thin));
    }
    let mut cut = Vec::new();
    for i in (0..75_000u32).filter(|i| i % 16 != 0) {
        let (m, f) = (format!("m:{i}"), format!("f:{i}"));
        cut.push(cmd(&["SREM", "s", &m]));
        cut.push(cmd(&["HDEL", "h", &f]));
        cut.push(cmd(&["ZREM", "z", &m]));
    }
    same_replies(&mut t, &mut r, &cut);
    for key in ["s", "h", "z"] {
        let digest = |c: &mut Conn| c.cmd(&["DEBUG", "DIGEST-VALUE", key]);
        assert_eq!(digest(&mut t), digest(&mut r), "digest of {key}");
        assert_eq!(
            t.cmd(&["OBJECT", "ENCODING", key]),
            r.cmd(&["OBJECT", "ENCODING", key])
        );
    }
    assert!(t.cmd(&["SCARD", "s"]).int() > 3_000);
    for (command, key) in [("SSCAN", "s"), ("HSCAN", "h"), ("ZSCAN", "z")] {
        assert_eq!(
            scan_all(&mut t, command, key),
            scan_all(&mut r, command, key),
            "{command}"
        );
    }
    let range = ["ZRANGE", "z", "0", "-1", "WITHSCORES"];
    assert_eq!(t.cmd(&range), r.cmd(&range));
    for m in ["m:1", "m:16", "m:40001", "m:40016", "m:74992", "m:nope"] {
        for c in [["SISMEMBER", "s", m], ["ZRANK", "z", m], ["ZSCORE", "z", m]] {
            assert_eq!(t.cmd(&c), r.cmd(&c), "{c:?}");
        }
    }
}
