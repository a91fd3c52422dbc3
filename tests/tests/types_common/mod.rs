//! Shared driver for the `types_*` differential tests: run one seeded
//! random command sequence against `tandem` and a real redis-server 7.0.15,
//! compare every reply (byte for byte, or as a multiset where Redis's order
//! is unspecified), then compare DEBUG DIGEST and, per key, TYPE-visible
//! state through `DEBUG DIGEST-VALUE`.
#![allow(dead_code)]

use tandem_tests::{have_redis, Conn, Reply, Server};

/// How two replies are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// Byte for byte.
    Exact,
    /// An array whose order is unspecified: compared sorted.
    Unordered,
    /// A flat array of pairs (field, value) in unspecified order.
    UnorderedPairs,
    /// `[cursor, [..]]` from a full SCAN-like call with a large COUNT: the
    /// inner array compared sorted (pairs when `pairs`).
    Scan { pairs: bool },
    /// A random answer: same kind of reply and same array length.
    Shape,
}

/// A tiny deterministic generator for the sequences.
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn sort_pairs(items: &[Reply]) -> Vec<(Reply, Reply)> {
    let mut v: Vec<(Reply, Reply)> = items
        .chunks(2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect();
    v.sort();
    v
}

fn normalize(r: &Reply, cmp: Cmp) -> Reply {
    match (cmp, r) {
        (Cmp::Unordered, Reply::Array(Some(items))) => {
            let mut v = items.clone();
            v.sort();
            Reply::Array(Some(v))
        }
        (Cmp::UnorderedPairs, Reply::Array(Some(items))) => Reply::Array(Some(
            sort_pairs(items)
                .into_iter()
                .flat_map(|(a, b)| [a, b])
                .collect(),
        )),
        (Cmp::Scan { pairs }, Reply::Array(Some(outer))) if outer.len() == 2 => {
            let inner = normalize(
                &outer[1],
                if pairs {
                    Cmp::UnorderedPairs
                } else {
                    Cmp::Unordered
                },
            );
            Reply::Array(Some(vec![outer[0].clone(), inner]))
        }
        (Cmp::Shape, Reply::Array(Some(items))) => {
            Reply::Array(Some(vec![Reply::Int(0); items.len()]))
        }
        (Cmp::Shape, Reply::Bulk(Some(_))) => Reply::Bulk(Some(Vec::new())),
        _ => r.clone(),
    }
}

/// Run `steps` generated commands against both servers and compare.
/// `gen` returns the command and how to compare its reply.
/// `server_args` start both servers (e.g. lowered encoding limits).
pub fn differential(
    name: &str,
    seed: u64,
    steps: usize,
    server_args: &[&str],
    setup: &[&[&str]],
    gen: &mut dyn FnMut(&mut Gen) -> (Vec<String>, Cmp),
) {
    assert!(have_redis(), "redis-server is required");
    let t = Server::tandem(server_args);
    let r = Server::redis(server_args);
    let mut ct = t.conn();
    let mut cr = r.conn();
    for cmd in setup {
        let a = ct.cmd(cmd);
        let b = cr.cmd(cmd);
        assert_eq!(a, b, "{name}: setup {cmd:?}");
    }
    let mut g = Gen::new(seed);
    let mut log: Vec<String> = Vec::new();
    for step in 0..steps {
        let (cmd, cmp) = gen(&mut g);
        log.push(cmd.join(" "));
        let a = ct.cmd(&cmd);
        let b = cr.cmd(&cmd);
        let (na, nb) = (normalize(&a, cmp), normalize(&b, cmp));
        if na.to_resp() != nb.to_resp() {
            let tail: Vec<&String> = log.iter().rev().take(12).rev().collect();
            panic!(
                "{name} seed {seed} step {step}: {cmd:?}\n tandem: {:?}\n  redis: {:?}\nlast commands:\n{}",
                String::from_utf8_lossy(&a.to_resp()),
                String::from_utf8_lossy(&b.to_resp()),
                tail.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
            );
        }
    }
    let da = ct.cmd(&["DEBUG", "DIGEST"]);
    let db = cr.cmd(&["DEBUG", "DIGEST"]);
    assert_eq!(
        da, db,
        "{name} seed {seed}: DEBUG DIGEST differs after {steps} steps"
    );
}

/// A connection's reply to a command, for tests that drive one server.
pub fn cmd(c: &mut Conn, args: &[&str]) -> Reply {
    c.cmd(args)
}

/// A bulk reply.
pub fn bulk(s: &str) -> Reply {
    Reply::Bulk(Some(s.as_bytes().to_vec()))
}

/// An array of bulks.
pub fn bulks(items: &[&str]) -> Reply {
    Reply::Array(Some(items.iter().map(|s| bulk(s)).collect()))
}
