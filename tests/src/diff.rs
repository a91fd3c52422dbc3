//! The differential harness: the same seeded random command sequences go to
//! `tandem` and to a real `redis-server` 7.0, and every reply must be equal
//! byte for byte (`Reply::to_resp()`), then `DEBUG DIGEST` must be equal at
//! the end of each sequence.
//!
//! Commands come from *families*: `fn(&mut Rng, &KeySpace) -> Args`, each
//! producing one command over a small shared key space (so keys collide and
//! hold every type). Register families with [`Harness::family`]; the
//! strings/keys/expire/transaction families live in [`families`], data-type
//! engineers add theirs in their own test files.
//!
//! Normalization, only where Redis leaves the result unspecified:
//! - commands registered with [`Harness::unordered`] (KEYS by default): an
//!   array reply is compared as a sorted list;
//! - `SCAN 0 ...`: the harness runs the full iteration on each server and
//!   compares the de-duplicated sets of keys (never with `TYPE none`, which
//!   in Redis returns expired keys not yet removed by the active expiry
//!   cycle, whose timing differs between servers);
//! - `RANDOMKEY`: both replies must be null together, or each must name a
//!   key that exists on its server;
//! - TTL/EXPIRETIME (seconds) may differ by 1, PTTL/PEXPIRETIME by
//!   [`MS_TOLERANCE`]: the two servers' clocks read "now" a fraction of a
//!   millisecond apart. To keep everything else exact, families use TTLs of
//!   at least 1000 s (or absolute times far from now), so nothing expires by
//!   accident during a sequence; the only short TTL is [`SHORT_TTL_MS`] (in
//!   ms, with SET PX, PSETEX, PEXPIRE or GETEX PX), and after such a command
//!   (or after the EXEC that ran it) the harness sleeps [`SETTLE`], so both
//!   servers see the key expired before anything else touches it.
//! - Inside MULTI, commands with random results (SCAN, RANDOMKEY, and any
//!   registered with [`Harness::random_in_multi`]) are not sent; EXEC's array
//!   is compared element by element with the queued commands' rules.
//!
//! Before the digest, every key of the key space in every database used is
//! touched with EXISTS so lazily expired keys are gone on both servers.

use crate::{have_redis, Conn, Reply, Server};
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
pub use tandem_core::rng::Rng;

/// One command: name first.
pub type Args = Vec<Vec<u8>>;

/// A generator of one random command.
pub type Family = fn(&mut Rng, &KeySpace) -> Args;

/// The short TTL (milliseconds) families may use to test expiry.
pub const SHORT_TTL_MS: &str = "2";
/// How long the harness waits after a command that set [`SHORT_TTL_MS`].
pub const SETTLE: Duration = Duration::from_millis(6);
/// Allowed difference between the servers' PTTL/PEXPIRETIME replies.
pub const MS_TOLERANCE: i64 = 250;

/// Build an [`Args`] from strings, byte strings and owned bytes.
#[macro_export]
macro_rules! args {
    ($($e:expr),* $(,)?) => { vec![$($crate::diff::AsArg::arg($e)),*] };
}

/// Anything usable as one command argument.
pub trait AsArg {
    /// The argument's bytes.
    fn arg(self) -> Vec<u8>;
}
impl AsArg for &str {
    fn arg(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl AsArg for String {
    fn arg(self) -> Vec<u8> {
        self.into_bytes()
    }
}
impl AsArg for Vec<u8> {
    fn arg(self) -> Vec<u8> {
        self
    }
}
impl AsArg for &[u8] {
    fn arg(self) -> Vec<u8> {
        self.to_vec()
    }
}
impl<const N: usize> AsArg for &[u8; N] {
    fn arg(self) -> Vec<u8> {
        self.to_vec()
    }
}
impl AsArg for i64 {
    fn arg(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

/// Pick one element.
pub fn pick<T: Clone>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len() as u64) as usize].clone()
}

/// True with probability `1/n`.
pub fn one_in(rng: &mut Rng, n: u64) -> bool {
    rng.below(n) == 0
}

/// Integers at the edges of Redis's rules: i64 limits, i32 limits, the
/// shared-integer limit, and texts that are not canonical integers.
pub const EDGE_INTEGERS: &[&str] = &[
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775806",
    "2147483648",
    "-2147483649",
    "9999",
    "10000",
    "-1",
    "0",
    "01",
    "+1",
    " 1",
    "1.0",
    "12345678901234567890",
];

/// The small world random commands act on, with argument generators.
#[derive(Debug, Clone)]
pub struct KeySpace {
    /// Key names (few, so they collide).
    pub keys: Vec<Vec<u8>>,
    /// Databases the families may SELECT/MOVE/COPY/SWAPDB into (`0..dbs`).
    pub dbs: usize,
    /// Wall-clock Unix ms when the harness started (for absolute times).
    pub start_ms: u64,
}

impl Default for KeySpace {
    fn default() -> Self {
        KeySpace {
            keys: ["k1", "k2", "k3", "k4", "s", "n", "{x}a", ""]
                .iter()
                .map(|k| k.as_bytes().to_vec())
                .collect(),
            dbs: 3,
            start_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("clock after 1970")
                .as_millis() as u64,
        }
    }
}

impl KeySpace {
    /// A key name.
    pub fn key(&self, rng: &mut Rng) -> Vec<u8> {
        pick(rng, &self.keys)
    }

    /// 1 to `max` keys.
    pub fn some_keys(&self, rng: &mut Rng, max: u64) -> Vec<Vec<u8>> {
        (0..1 + rng.below(max)).map(|_| self.key(rng)).collect()
    }

    /// A string value: integers (edges included), floats, words, strings
    /// around the 44-byte embstr limit, binary bytes.
    pub fn value(&self, rng: &mut Rng) -> Vec<u8> {
        match rng.below(10) {
            0..=2 => (rng.below(41) as i64 - 20).to_string().into_bytes(),
            3 => pick(rng, EDGE_INTEGERS).into(),
            4 => self.float(rng),
            5 => {
                let n = rng.below(8);
                (0..n).map(|_| b"abcxyz"[rng.below(6) as usize]).collect()
            }
            6 => vec![b'x'; 40 + rng.below(10) as usize],
            7 => (0..rng.below(6))
                .map(|_| pick(rng, &[0u8, b'\r', b'\n', 0xff, b' ', b'a']))
                .collect(),
            8 => rng.next_u64().to_string().into_bytes(),
            _ => pick(rng, &["hello", "v", "inf", "nan", "-0", "1e3", "0x10", ""]).into(),
        }
    }

    /// An integer argument: mostly small, sometimes an edge or invalid.
    pub fn int(&self, rng: &mut Rng) -> Vec<u8> {
        match rng.below(10) {
            0..=6 => (rng.below(30) as i64 - 10).to_string().into_bytes(),
            7 => pick(rng, EDGE_INTEGERS).into(),
            _ => pick(
                rng,
                &["abc", "1.5", "", "9223372036854775808", " 1", "+1", "0x1"],
            )
            .into(),
        }
    }

    /// A float argument in every form `strtold` knows, plus invalid ones.
    pub fn float(&self, rng: &mut Rng) -> Vec<u8> {
        let mut s = String::new();
        match rng.below(12) {
            0 => {
                return pick(
                    rng,
                    &[
                        "inf", "-inf", "nan", "Infinity", "abc", "", "1e", ".", " 1", "1e5000",
                        "1e-5000", "0x",
                    ],
                )
                .into()
            }
            1 => {
                s.push_str(pick(rng, &["0x", "-0x", "0X"]));
                for _ in 0..1 + rng.below(8) {
                    s.push(b"0123456789abcdef"[rng.below(16) as usize] as char);
                }
                if one_in(rng, 2) {
                    s.push_str(&format!(
                        ".{:x}p{}",
                        rng.below(4096),
                        rng.below(40) as i64 - 20
                    ));
                }
                return s.into_bytes();
            }
            _ => {}
        }
        if one_in(rng, 3) {
            s.push('-');
        }
        let long = one_in(rng, 4);
        let int_digits = rng.below(if long { 22 } else { 6 });
        for _ in 0..int_digits {
            s.push((b'0' + rng.below(10) as u8) as char);
        }
        let long = one_in(rng, 4);
        let frac_digits = rng.below(if long { 30 } else { 6 });
        if frac_digits > 0 || int_digits == 0 {
            s.push('.');
            for _ in 0..frac_digits.max(1) {
                s.push((b'0' + rng.below(10) as u8) as char);
            }
        }
        if one_in(rng, 5) {
            let e = if one_in(rng, 10) {
                rng.below(9800) as i64 - 4900
            } else {
                rng.below(41) as i64 - 20
            };
            s.push_str(&format!("e{e}"));
        }
        s.into_bytes()
    }

    /// A TTL argument Redis rejects (never a small positive number, which
    /// would expire mid-sequence at a time that differs between servers).
    pub fn bad_ttl(&self, rng: &mut Rng) -> Vec<u8> {
        pick(
            rng,
            &[
                "0",
                "-5",
                "abc",
                "",
                "1.5",
                "9223372036854775807",
                "-9223372036854775808",
            ],
        )
        .into()
    }

    /// A relative TTL in seconds that cannot run out during a test.
    pub fn ttl_seconds(&self, rng: &mut Rng) -> Vec<u8> {
        (1000 + rng.below(100_000) as i64).to_string().into_bytes()
    }

    /// A relative TTL in milliseconds that cannot run out during a test.
    pub fn ttl_millis(&self, rng: &mut Rng) -> Vec<u8> {
        (1_000_000 + rng.below(100_000_000) as i64)
            .to_string()
            .into_bytes()
    }

    /// An absolute time in Unix seconds, in the future or (1 in 4) the past.
    pub fn unix_seconds(&self, rng: &mut Rng) -> Vec<u8> {
        self.around_now(rng, 1000, (self.start_ms / 1000) as i64)
    }

    /// An absolute time in Unix ms, in the future or (1 in 4) the past.
    pub fn unix_millis(&self, rng: &mut Rng) -> Vec<u8> {
        self.around_now(rng, 1_000_000, self.start_ms as i64)
    }

    /// `now` plus or minus `min..101*min` (in `now`'s unit).
    fn around_now(&self, rng: &mut Rng, min: i64, now: i64) -> Vec<u8> {
        let offset = min + rng.below(100 * min as u64) as i64;
        let t = if one_in(rng, 4) {
            now - offset
        } else {
            now + offset
        };
        t.to_string().into_bytes()
    }

    /// A database index: mostly valid, sometimes out of range or invalid.
    pub fn db_index(&self, rng: &mut Rng) -> Vec<u8> {
        if one_in(rng, 8) {
            pick(rng, &["16", "-1", "abc", "2147483648"]).into()
        } else {
            rng.below(self.dbs as u64).to_string().into_bytes()
        }
    }
}

/// Lowercase command name.
fn name_of(args: &[Vec<u8>]) -> String {
    args.first()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .unwrap_or_default()
}

/// Printable form of a command.
pub fn show_command(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Printable form of a reply.
pub fn show_reply(r: &Reply) -> String {
    let s = String::from_utf8_lossy(&r.to_resp()).into_owned();
    let s: String = s.chars().take(600).collect();
    format!("{s:?}")
}

/// Whether the command sets the short TTL.
fn sets_short_ttl(args: &[Vec<u8>]) -> bool {
    matches!(
        name_of(args).as_str(),
        "set" | "psetex" | "pexpire" | "getex"
    ) && args[1..].iter().any(|a| a == SHORT_TTL_MS.as_bytes())
}

/// Counts of what a harness compared.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// Sequences run (each ended with a digest check).
    pub sequences: u64,
    /// Commands compared.
    pub commands: u64,
}

/// Two servers, one connection to each, and the registered families.
pub struct Harness {
    _tandem: Server,
    _redis: Server,
    t: Conn,
    r: Conn,
    families: Vec<(Family, u64)>,
    unordered: HashSet<String>,
    random_in_multi: HashSet<String>,
    /// The key space families draw from.
    pub keyspace: KeySpace,
    in_multi: bool,
    queued: Vec<Args>,
    pending_settle: bool,
    history: Vec<String>,
    /// What was compared so far.
    pub stats: Stats,
}

impl Harness {
    /// Start `tandem` and `redis-server` (which must be installed).
    pub fn new() -> Harness {
        assert!(
            have_redis(),
            "redis-server 7.0 is required (apt-get install redis-server)"
        );
        let tandem = Server::tandem(&[]);
        let redis = Server::redis(&[]);
        let (t, r) = (tandem.conn(), redis.conn());
        Harness {
            _tandem: tandem,
            _redis: redis,
            t,
            r,
            families: Vec::new(),
            unordered: ["keys"].iter().map(|s| s.to_string()).collect(),
            random_in_multi: ["scan", "randomkey"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            keyspace: KeySpace::default(),
            in_multi: false,
            queued: Vec::new(),
            pending_settle: false,
            history: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// Add a family with a relative weight.
    pub fn family(&mut self, f: Family, weight: u64) -> &mut Self {
        self.families.push((f, weight));
        self
    }

    /// Compare this command's array replies as sets (sorted).
    pub fn unordered(&mut self, command: &str) -> &mut Self {
        self.unordered.insert(command.to_ascii_lowercase());
        self
    }

    /// Do not send this command inside MULTI (its reply is random).
    pub fn random_in_multi(&mut self, command: &str) -> &mut Self {
        self.random_in_multi.insert(command.to_ascii_lowercase());
        self
    }

    /// Whether tandem knows a command (it does not answer `unknown command`).
    pub fn tandem_supports(&mut self, args: &[&str]) -> bool {
        !matches!(self.t.cmd(args), Reply::Error(e) if e.starts_with("ERR unknown command"))
    }

    /// Run sequences for every seed, `len` commands each; panics with a
    /// report on the first difference.
    pub fn run(&mut self, seeds: std::ops::Range<u64>, len: usize) {
        for seed in seeds {
            if let Err(report) = self.run_sequence(seed, len) {
                panic!("differential mismatch\n{report}");
            }
        }
    }

    /// One sequence from a clean state, ending with the digest check.
    pub fn run_sequence(&mut self, seed: u64, len: usize) -> Result<(), String> {
        assert!(!self.families.is_empty(), "no families registered");
        self.reset();
        let mut rng = Rng::new(seed);
        let total: u64 = self.families.iter().map(|f| f.1).sum();
        for i in 0..len {
            let mut roll = rng.below(total);
            let family = self
                .families
                .iter()
                .find(|(_, w)| {
                    if roll < *w {
                        true
                    } else {
                        roll -= w;
                        false
                    }
                })
                .expect("weights cover the roll")
                .0;
            let args = family(&mut rng, &self.keyspace);
            self.exec(&args)
                .map_err(|e| self.report(seed, Some(i), &args, &e))?;
        }
        self.check_digest()
            .map_err(|e| self.report(seed, None, &[b"DEBUG DIGEST".to_vec()], &e))?;
        self.stats.sequences += 1;
        Ok(())
    }

    /// Run a fixed list of commands from a clean state, comparing every
    /// reply and the final digest; panics with a report on a difference.
    pub fn run_script(&mut self, commands: &[Args]) {
        self.reset();
        for (i, args) in commands.iter().enumerate() {
            if let Err(e) = self.exec(args) {
                panic!("script mismatch\n{}", self.report(0, Some(i), args, &e));
            }
        }
        if let Err(e) = self.check_digest() {
            panic!("script mismatch\n{}", self.report(0, None, &[], &e));
        }
    }

    /// One `INFO <section>` field from each server: (tandem, redis).
    pub fn info_field(&mut self, section: &str, field: &str) -> (Option<String>, Option<String>) {
        let find = |reply: Reply| -> Option<String> {
            let text = match reply {
                Reply::Bulk(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
                _ => return None,
            };
            text.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':').map(str::to_string))
        };
        let (t, r) = (
            self.t.cmd(&["INFO", section]),
            self.r.cmd(&["INFO", section]),
        );
        (find(t), find(r))
    }

    fn report(&self, seed: u64, index: Option<usize>, args: &[Vec<u8>], err: &str) -> String {
        let at = index.map_or("end of sequence".to_string(), |i| format!("command #{i}"));
        let recent: Vec<&String> = self.history.iter().rev().take(200).rev().collect();
        format!(
            "seed {seed}, {at}: {}\n{err}\nrecent commands (oldest first):\n  {}",
            show_command(args),
            recent
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        )
    }

    fn reset(&mut self) {
        for c in [&mut self.t, &mut self.r] {
            c.cmd(&["DISCARD"]);
            c.cmd(&["UNWATCH"]);
            c.cmd(&["SELECT", "0"]);
            c.cmd(&["FLUSHALL"]);
        }
        self.in_multi = false;
        self.queued.clear();
        self.pending_settle = false;
        self.history.clear();
    }

    fn both<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<(Reply, Reply), String> {
        self.t
            .send(args)
            .map_err(|e| format!("tandem: send failed: {e}"))?;
        self.r
            .send(args)
            .map_err(|e| format!("redis: send failed: {e}"))?;
        let t = self.t.read_reply().map_err(|e| format!("tandem: {e}"))?;
        let r = self.r.read_reply().map_err(|e| format!("redis: {e}"))?;
        Ok((t, r))
    }

    /// Send one command to both servers and compare the replies.
    pub fn exec(&mut self, args: &[Vec<u8>]) -> Result<(), String> {
        let name = name_of(args);
        if self.in_multi && self.random_in_multi.contains(&name) {
            return Ok(());
        }
        self.history.push(show_command(args));
        self.stats.commands += 1;
        if name == "scan" && !self.in_multi && args.get(1).is_some_and(|c| c == b"0") {
            let t = full_scan(&mut self.t, args).map_err(|e| format!("tandem: {e}"))?;
            let r = full_scan(&mut self.r, args).map_err(|e| format!("redis: {e}"))?;
            return compare("full SCAN iteration", &t, &r);
        }
        let (t, r) = self.both(args)?;
        if self.in_multi
            && name != "exec"
            && name != "discard"
            && name != "multi"
            && name != "watch"
        {
            self.queued.push(args.to_vec());
        }
        if sets_short_ttl(args) {
            self.pending_settle = true;
        }
        let result = if name == "exec" && self.in_multi {
            let queued = std::mem::take(&mut self.queued);
            match (&t, &r) {
                (Reply::Array(Some(ts)), Reply::Array(Some(rs)))
                    if ts.len() == rs.len() && ts.len() == queued.len() =>
                {
                    let mut res = Ok(());
                    for ((q, a), b) in queued.iter().zip(ts).zip(rs) {
                        res = res.and_then(|_| self.equivalent(q, a, b));
                    }
                    res
                }
                _ => compare("reply", &t, &r),
            }
        } else {
            self.equivalent(args, &t, &r)
        };
        if name == "multi" && matches!((&t, &r), (Reply::Simple(_), Reply::Simple(_))) {
            self.in_multi = true;
            self.queued.clear();
        }
        if (name == "exec" || name == "discard") && self.in_multi {
            self.in_multi = false;
            self.queued.clear();
        }
        if self.pending_settle && !self.in_multi {
            std::thread::sleep(SETTLE);
            self.pending_settle = false;
        }
        result
    }

    /// Compare two replies to one command with its normalization rule.
    fn equivalent(&mut self, args: &[Vec<u8>], t: &Reply, r: &Reply) -> Result<(), String> {
        let name = name_of(args);
        match (name.as_str(), t, r) {
            (_, Reply::Array(Some(a)), Reply::Array(Some(b))) if self.unordered.contains(&name) => {
                let (mut a, mut b) = (a.clone(), b.clone());
                a.sort();
                b.sort();
                compare(
                    "reply (as a set)",
                    &Reply::Array(Some(a)),
                    &Reply::Array(Some(b)),
                )
            }
            ("randomkey", Reply::Bulk(Some(a)), Reply::Bulk(Some(b))) if !self.in_multi => {
                let ta = self.t.cmd(&[&b"EXISTS"[..], a]);
                let rb = self.r.cmd(&[&b"EXISTS"[..], b]);
                if ta == Reply::Int(1) && rb == Reply::Int(1) {
                    Ok(())
                } else {
                    Err(format!(
                        "RANDOMKEY named a missing key: tandem {} (EXISTS {}), redis {} (EXISTS {})",
                        show_reply(t),
                        show_reply(&ta),
                        show_reply(r),
                        show_reply(&rb)
                    ))
                }
            }
            ("ttl" | "expiretime", Reply::Int(a), Reply::Int(b))
                if *a >= 0 && *b >= 0 && (a - b).abs() <= 1 =>
            {
                Ok(())
            }
            ("pttl" | "pexpiretime", Reply::Int(a), Reply::Int(b))
                if *a >= 0 && *b >= 0 && (a - b).abs() <= MS_TOLERANCE =>
            {
                Ok(())
            }
            _ => compare("reply", t, r),
        }
    }

    /// Delete lazily expired keys on both servers, then compare DEBUG DIGEST.
    fn check_digest(&mut self) -> Result<(), String> {
        if self.in_multi {
            self.both(&["DISCARD"])?;
            self.in_multi = false;
        }
        for db in 0..self.keyspace.dbs {
            let (t, r) = self.both(&["SELECT".to_string(), db.to_string()])?;
            compare("SELECT", &t, &r)?;
            let mut exists = args!["EXISTS"];
            exists.extend(self.keyspace.keys.iter().cloned());
            let (t, r) = self.both(&exists)?;
            compare(&format!("EXISTS of every key in db {db}"), &t, &r)?;
        }
        let (t, r) = self.both(&["DEBUG", "DIGEST"])?;
        compare("DEBUG DIGEST", &t, &r)
    }
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

fn compare(what: &str, t: &Reply, r: &Reply) -> Result<(), String> {
    if t.to_resp() == r.to_resp() {
        Ok(())
    } else {
        Err(format!(
            "{what} differs:\n  tandem: {}\n  redis:  {}",
            show_reply(t),
            show_reply(r)
        ))
    }
}

/// Follow a SCAN from cursor 0 to the end; the keys as a sorted set (or the
/// first error reply).
fn full_scan(conn: &mut Conn, args: &[Vec<u8>]) -> Result<Reply, String> {
    let mut args = args.to_vec();
    let mut keys = BTreeSet::new();
    for _ in 0..100_000 {
        let reply = conn.try_cmd(&args).map_err(|e| e.to_string())?;
        let Reply::Array(Some(parts)) = &reply else {
            return Ok(reply);
        };
        let [Reply::Bulk(Some(cursor)), Reply::Array(Some(batch))] = &parts[..] else {
            return Err(format!("malformed SCAN reply {}", show_reply(&reply)));
        };
        for k in batch {
            keys.insert(k.clone());
        }
        if cursor == b"0" {
            return Ok(Reply::Array(Some(keys.into_iter().collect())));
        }
        args[1] = cursor.clone();
    }
    Err("SCAN did not finish after 100000 calls".into())
}

/// Families for strings, generic keys, expiry and transactions.
pub mod families {
    use super::*;

    /// String commands with valid and invalid arguments.
    pub fn strings(rng: &mut Rng, ks: &KeySpace) -> Args {
        let k = ks.key(rng);
        match rng.below(24) {
            0 => args!["GET", k],
            1 => set(rng, ks),
            2 => args!["SETNX", k, ks.value(rng)],
            3 => {
                let ttl = if one_in(rng, 4) {
                    ks.bad_ttl(rng)
                } else {
                    ks.ttl_seconds(rng)
                };
                args!["SETEX", k, ttl, ks.value(rng)]
            }
            4 => {
                let ttl = if one_in(rng, 4) {
                    ks.bad_ttl(rng)
                } else {
                    ks.ttl_millis(rng)
                };
                args!["PSETEX", k, ttl, ks.value(rng)]
            }
            5 => args!["GETSET", k, ks.value(rng)],
            6 => args!["GETDEL", k],
            7 => getex(rng, ks),
            8 => {
                let mut a = args!["MGET"];
                a.extend(ks.some_keys(rng, 4));
                a
            }
            9 | 10 => {
                let mut a = args![pick(rng, &["MSET", "MSETNX"])];
                for _ in 0..1 + rng.below(3) {
                    a.push(ks.key(rng));
                    a.push(ks.value(rng));
                }
                if one_in(rng, 8) {
                    a.pop();
                }
                a
            }
            11 => args!["APPEND", k, ks.value(rng)],
            12 => args!["STRLEN", k],
            13 => args![
                pick(rng, &["GETRANGE", "SUBSTR"]),
                k,
                range_index(rng, ks),
                range_index(rng, ks)
            ],
            14 => setrange(rng, ks),
            15 => args!["INCR", k],
            16 => args!["DECR", k],
            17 => args![pick(rng, &["INCRBY", "DECRBY"]), k, ks.int(rng)],
            18 | 19 => args!["INCRBYFLOAT", k, ks.float(rng)],
            20 => args!["OBJECT", "ENCODING", k],
            21 => args!["TYPE", k],
            22 => args!["SET", k, ks.value(rng)],
            _ => wrong_arity(rng, ks),
        }
    }

    fn range_index(rng: &mut Rng, ks: &KeySpace) -> Vec<u8> {
        if one_in(rng, 8) {
            ks.int(rng)
        } else {
            (rng.below(120) as i64 - 60).to_string().into_bytes()
        }
    }

    fn setrange(rng: &mut Rng, ks: &KeySpace) -> Args {
        let k = ks.key(rng);
        match rng.below(8) {
            // Offsets that pass the size check must stay small: both servers
            // would allocate the whole string.
            0 => args![
                "SETRANGE",
                k,
                pick(rng, &["536870911", "536870912", "9223372036854775807"]),
                "ab"
            ],
            1 => args![
                "SETRANGE",
                k,
                pick(rng, &["-1", "abc", "1.5"]),
                ks.value(rng)
            ],
            _ => args!["SETRANGE", k, rng.below(60) as i64, ks.value(rng)],
        }
    }

    /// An expiry option for SET/GETEX: long TTLs, absolute times, the
    /// short TTL, or bad values.
    fn expire_option(rng: &mut Rng, ks: &KeySpace, a: &mut Args) {
        match rng.below(10) {
            0 => a.extend(args![pick(rng, &["EX", "ex"]), ks.ttl_seconds(rng)]),
            1 => a.extend(args!["PX", ks.ttl_millis(rng)]),
            2 => a.extend(args!["EXAT", ks.unix_seconds(rng)]),
            3 => a.extend(args!["PXAT", ks.unix_millis(rng)]),
            4 => a.extend(args!["PX", SHORT_TTL_MS]),
            5 => a.extend(args![
                pick(rng, &["EX", "PX", "EXAT", "PXAT"]),
                ks.bad_ttl(rng)
            ]),
            6 => a.extend(args![pick(rng, &["EX", "PX"])]),
            _ => {}
        }
    }

    fn set(rng: &mut Rng, ks: &KeySpace) -> Args {
        let mut a = args!["SET", ks.key(rng), ks.value(rng)];
        for _ in 0..rng.below(4) {
            match rng.below(8) {
                0 => a.push(pick(rng, &["NX", "nx"]).into()),
                1 => a.push("XX".into()),
                2 => a.push(pick(rng, &["GET", "get"]).into()),
                3 => a.push("KEEPTTL".into()),
                4 => a.push(pick(rng, &["FOO", "PERSIST", ""]).into()),
                _ => expire_option(rng, ks, &mut a),
            }
        }
        a
    }

    fn getex(rng: &mut Rng, ks: &KeySpace) -> Args {
        let mut a = args!["GETEX", ks.key(rng)];
        for _ in 0..rng.below(3) {
            match rng.below(5) {
                0 => a.push(pick(rng, &["PERSIST", "persist"]).into()),
                1 => a.push(pick(rng, &["NX", "KEEPTTL", "GET"]).into()),
                _ => expire_option(rng, ks, &mut a),
            }
        }
        a
    }

    fn wrong_arity(rng: &mut Rng, ks: &KeySpace) -> Args {
        let name = pick(
            rng,
            &[
                "GET",
                "SET",
                "SETNX",
                "SETEX",
                "GETDEL",
                "STRLEN",
                "APPEND",
                "INCR",
                "INCRBY",
                "INCRBYFLOAT",
                "GETRANGE",
                "SETRANGE",
                "MGET",
                "TTL",
                "RENAME",
                "MOVE",
                "OBJECT",
                "EXPIRE",
                "SWAPDB",
            ],
        );
        let mut a = args![name];
        for _ in 0..rng.below(6) {
            a.push(ks.key(rng));
        }
        a
    }

    /// Generic key commands.
    pub fn keys(rng: &mut Rng, ks: &KeySpace) -> Args {
        let k = ks.key(rng);
        match rng.below(22) {
            0 | 1 => {
                let mut a = args![pick(rng, &["DEL", "UNLINK", "EXISTS"])];
                a.extend(ks.some_keys(rng, 3));
                a
            }
            2 => args!["TYPE", k],
            3 => args![
                "KEYS",
                pick(
                    rng,
                    &["*", "k*", "?", "k[12]", "*a*", "[^k]*", "\\{x\\}*", "k[2-"]
                )
            ],
            4 => {
                let mut a = args!["SCAN", "0"];
                for _ in 0..rng.below(3) {
                    match rng.below(5) {
                        0 => a.extend(args!["MATCH", pick(rng, &["k*", "*", "s", "*1"])]),
                        1 => a.extend(args![
                            "COUNT",
                            pick(rng, &["1", "2", "100", "0", "-1", "abc"])
                        ]),
                        2 => a.extend(args![
                            pick(rng, &["TYPE", "type"]),
                            pick(
                                rng,
                                &["string", "STRING", "list", "hash", "set", "zset", "foo"]
                            )
                        ]),
                        3 => a.push(pick(rng, &["MATCH", "FOO"]).into()),
                        _ => {}
                    }
                }
                a
            }
            5 => args![
                "SCAN",
                pick(rng, &["abc", "-", " 1", "18446744073709551616"])
            ],
            6 => args!["RANDOMKEY"],
            7 | 8 => args![pick(rng, &["RENAME", "RENAMENX"]), k, ks.key(rng)],
            9 => {
                let mut a = args!["COPY", k, ks.key(rng)];
                for _ in 0..rng.below(3) {
                    match rng.below(4) {
                        0 | 1 => a.extend(args!["DB", ks.db_index(rng)]),
                        2 => a.push(pick(rng, &["REPLACE", "replace"]).into()),
                        _ => a.push(pick(rng, &["FOO", "DB"]).into()),
                    }
                }
                a
            }
            10 => args!["MOVE", k, ks.db_index(rng)],
            11 => args!["SELECT", rng.below(ks.dbs as u64) as i64],
            12 => args!["SWAPDB", ks.db_index(rng), ks.db_index(rng)],
            13 => {
                if one_in(rng, 4) {
                    args![
                        pick(rng, &["FLUSHDB", "FLUSHALL"]),
                        pick(rng, &["ASYNC", "sync", "foo"])
                    ]
                } else {
                    args!["FLUSHDB"]
                }
            }
            14 => args![
                "OBJECT",
                pick(rng, &["ENCODING", "encoding", "FREQ", "HELP", "foo"]),
                k
            ],
            15 => args!["OBJECT", "HELP"],
            16 => args!["EXISTS", k.clone(), k],
            _ => expire(rng, ks),
        }
    }

    /// The EXPIRE and TTL families, PERSIST, and the short TTL.
    pub fn expire(rng: &mut Rng, ks: &KeySpace) -> Args {
        let k = ks.key(rng);
        match rng.below(12) {
            0..=3 => {
                let (name, when) = match rng.below(4) {
                    0 => ("EXPIRE", ks.ttl_seconds(rng)),
                    1 => ("PEXPIRE", ks.ttl_millis(rng)),
                    2 => ("EXPIREAT", ks.unix_seconds(rng)),
                    _ => ("PEXPIREAT", ks.unix_millis(rng)),
                };
                let when = match rng.below(10) {
                    0 => ks.bad_ttl(rng),
                    _ => when,
                };
                let mut a = args![name, k, when];
                for _ in 0..rng.below(3) {
                    a.push(pick(rng, &["NX", "XX", "GT", "LT", "gt", "FOO"]).into());
                }
                a
            }
            4 => args!["PEXPIRE", k, SHORT_TTL_MS],
            5 => args!["PSETEX", k, SHORT_TTL_MS, ks.value(rng)],
            6 => args![pick(rng, &["TTL", "PTTL"]), k],
            7 => args![pick(rng, &["EXPIRETIME", "PEXPIRETIME"]), k],
            8 => args!["PERSIST", k],
            9 => args!["SET", k, ks.value(rng), "EX", ks.ttl_seconds(rng)],
            _ => args!["EXISTS", k],
        }
    }

    /// MULTI / EXEC / DISCARD / WATCH / UNWATCH.
    pub fn transactions(rng: &mut Rng, ks: &KeySpace) -> Args {
        match rng.below(8) {
            0 | 1 => args!["MULTI"],
            2 | 3 => args!["EXEC"],
            4 => args!["DISCARD"],
            5 | 6 => {
                let mut a = args!["WATCH"];
                a.extend(ks.some_keys(rng, 2));
                a
            }
            _ => args!["UNWATCH"],
        }
    }

    /// Writes that put lists, sets, hashes and sorted sets on the shared
    /// keys (small and large, so encodings convert), so the generic
    /// commands and WRONGTYPE checks meet every value type.
    pub fn collections(rng: &mut Rng, ks: &KeySpace) -> Args {
        let k = ks.key(rng);
        let elem = |rng: &mut Rng| -> Vec<u8> {
            match rng.below(6) {
                0 => vec![b'e'; 70],
                1 | 2 => rng.below(20).to_string().into_bytes(),
                _ => pick(rng, &["a", "b", "c", "d"]).into(),
            }
        };
        let mut a = match rng.below(5) {
            0 => args![pick(rng, &["RPUSH", "LPUSH"]), k],
            1 => args!["SADD", k],
            2 => args!["HSET", k],
            3 => args!["ZADD", k],
            _ => return args!["OBJECT", "ENCODING", k],
        };
        for _ in 0..1 + rng.below(3) {
            match &a[0][..] {
                b"HSET" => {
                    a.push(elem(rng));
                    a.push(elem(rng));
                }
                b"ZADD" => {
                    a.push((rng.below(10) as i64 - 3).to_string().into_bytes());
                    a.push(elem(rng));
                }
                _ => a.push(elem(rng)),
            }
        }
        a
    }

    /// INCRBYFLOAT only: the exactness of the `long double` emulation.
    pub fn incrbyfloat(rng: &mut Rng, ks: &KeySpace) -> Args {
        let k = pick(rng, &ks.keys[..3]);
        match rng.below(10) {
            0 => args!["SET", k, ks.float(rng)],
            1 => args!["GET", k],
            _ => args!["INCRBYFLOAT", k, ks.float(rng)],
        }
    }
}
