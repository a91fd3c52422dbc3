//! The invariant checker, independent of the code under test: it reads the
//! nodes' public state (identity, backlog bounds, digest) and the decisions
//! they report, and holds them against its own rules.
//!
//! * **S1** offsets never go backwards (one node, one incarnation, one
//!   replid) and a replica's offset never passes the highest offset any
//!   master reached in that history.
//! * **S2** a node never applies a stream byte twice nor skips one. Every
//!   node feeds its own backlog with exactly the stream it produced (a
//!   master) or applied (a replica, which re-encodes what it ran), and its
//!   offset counts those bytes. So (a) a node's backlog must end exactly at
//!   its `master_repl_offset` (an offset bumped without the bytes, or bytes
//!   without the offset, breaks this), and (b) the bytes any node appended
//!   at `(replid, offset)` must equal the bytes every other node appended
//!   there: the checker keeps the canonical stream of each history (the
//!   first bytes seen at each offset, i.e. the master's) and compares each
//!   newly appended range with it. A byte applied twice shifts everything
//!   after it; a skipped byte does the same the other way; both differ from
//!   the canonical stream at the first displaced byte. A change of replid
//!   at the node's `second_replid_offset` (promotion, `+CONTINUE <newid>`)
//!   splits the range between the two histories.
//! * **S3** a `(replid, offset)` pair names one dataset: every node seen at
//!   that pair (with a backlog, not loading) has the same dataset, compared
//!   by the checker's own order-free hash ([`dataset_hash`]) at every point.
//! * **S4** a PSYNC verdict is CONTINUE exactly when the spec's rule (§2 of
//!   `reference/replication.md`: the id is the replid, or replid2 with the
//!   offset at most `second_replid_offset`, and the offset lies in
//!   `[first byte, master_repl_offset + 1]` of a backlog), evaluated by
//!   [`PsyncView::may_continue`] on the master's state just before the
//!   request, says so. The request's id and offset are read off the wire by
//!   the simulator, not taken from the node's report (which must match).
//! * **S5** replid discipline at promotion: a replica that becomes a
//!   master (same incarnation) takes a new replid, keeps the old one as
//!   replid2, and `second_replid_offset` is its offset + 1.
//! * **S7** WAIT. The workload writes a key nobody else writes
//!   (`SET wait:<n> v`) and then `WAIT k t`. (a) When the master answers
//!   `:c`, at least `c` nodes other than it held `wait:<n> = v` at some point
//!   between the write and the answer (ground truth read from the nodes,
//!   not the master's bookkeeping). (b) Durability, as far as Redis's
//!   asynchronous replication promises it: an acknowledged write (`c >= 1`)
//!   stays in the dataset of the deployment's master lineage unless it was
//!   legitimately lost, which happens in exactly two ways: the master
//!   restarts (crash or bounce) and comes back without it (its disk was
//!   saved before the write, or wiped), or a failover promotes a node that
//!   does not hold it (asynchronous replication promotes whoever is chosen;
//!   WAIT does not make the write durable on a majority). The checker looks
//!   at the new master at each of those moments and excuses the writes it
//!   lacks; every other acknowledged write must be in the master's dataset
//!   when the deployment converges (so, by L1, on every replica too). A
//!   write run by a master without a backlog is not checked: it is in no
//!   stream, the offset does not move, and WAIT's target is an older offset
//!   (Redis answers such a WAIT at once; it promises nothing about it).
//! * **S9** resource bounds: a backlog never holds more than
//!   `repl-backlog-size` bytes (16 KB at least), checked whenever a node's
//!   offset moves. (Redis trims whole 16 KB blocks and may hold up to one
//!   more; Tandem keeps exactly the last `size` bytes.)
//! * **L1** (in the simulator) once faults stop, every replica is linked up
//!   with its master's replid, offset and digest within a bounded time.
//! * **L2** no sync loops: once faults stop, a node accepts at most as many
//!   full syncs as links separate it from the master (one for a replica of
//!   the master; a replica of a replica may need one more when its own
//!   master full-syncs and takes a new replid, and so on down a chain). A
//!   replica that keeps full-syncing (a backlog or output buffer too small
//!   for what a sync takes, a PSYNC refused that should continue) breaks it;
//!   real sync loops: redis/redis#9647, valkey-io/valkey#3044. Counted are
//!   the full syncs answering PSYNCs sent after the faults stopped (one
//!   asked for during them may still arrive after: that is the faults'
//!   doing).

use std::collections::HashMap;

use crate::node::Node;
use crate::repl::identity::NULL_REPLID;
use crate::small_map::{SmallMap, SmallSet};
use crate::value::Value;

/// How much of each history's stream the checker keeps (bytes).
const STREAM_WINDOW: usize = 4 << 20;
/// Histories whose stream the checker keeps (the most recently extended).
const STREAMS_KEPT: usize = 32;
/// `(replid, offset)` points whose dataset the checker remembers (the newest).
const DATASETS_KEPT: usize = 200_000;

/// The canonical bytes of one history: `bytes[i]` is the byte at offset `base + i`.
#[derive(Debug, Default)]
struct Stream {
    base: i64,
    bytes: Vec<u8>,
    /// [`Checker::stream_clock`] when last extended.
    touched: u64,
}

/// A `SET wait:<n> v` + `WAIT` in flight.
#[derive(Debug, Clone)]
struct PendingWait {
    key: Vec<u8>,
    value: Vec<u8>,
    /// The node the write went to.
    writer: usize,
    /// The simulator's master epoch when the write was sent.
    epoch: u64,
    /// Nodes (other than the writer) seen holding the write since.
    holders: SmallSet<usize>,
}

/// A write WAIT acknowledged on at least one replica.
#[derive(Debug, Clone)]
struct AckedWrite {
    key: Vec<u8>,
    value: Vec<u8>,
    acked: i64,
    t: u64,
}

/// The checker's own dataset fingerprint: an order-free 64-bit hash of
/// every key, its type, value and whether it has a TTL (like `DEBUG
/// DIGEST`, which the nodes compute with SHA-1; this one is ~20 times
/// cheaper and needs nothing from the code under test but its keyspace).
pub fn dataset_hash(node: &Node) -> u64 {
    fn fmix(mut h: u64) -> u64 {
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn bytes(seed: u64, data: &[u8]) -> u64 {
        let mut h = seed ^ (data.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut chunks = data.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
        }
        let mut w = [0u8; 8];
        w[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(0x0000_0100_0000_01b3);
        fmix(h)
    }
    fn value(v: &Value) -> u64 {
        match v {
            Value::Str(s) => bytes(1, &s.bytes),
            Value::List(l) => l.iter().fold(2, |acc, e| fmix(acc ^ bytes(acc, e))),
            Value::Set(s) => s.iter().fold(3, |acc, m| acc ^ bytes(3, m)),
            Value::Hash(h) => h.iter().fold(4, |acc, (f, x)| acc ^ bytes(bytes(4, f), x)),
            Value::ZSet(z) => z.iter().fold(5, |acc, (m, score)| {
                acc ^ bytes(bytes(5, m), &score.to_bits().to_le_bytes())
            }),
        }
    }
    let ks = node.keyspace();
    let mut total = 0u64;
    for i in 0..ks.db_count() {
        let db = ks.db(i);
        if db.is_empty() {
            // Most of the 16 are: skip their shards (most of this hash's cost).
            continue;
        }
        for (k, v) in db.iter() {
            let ttl = if db.expire_of(k).is_some() { 0x5eed } else { 0 };
            total ^= fmix(bytes(i as u64, k) ^ value(v).rotate_left(17) ^ ttl);
        }
    }
    total
}

/// Whether `node` holds `key = value` in database 0.
fn holds(node: &Node, key: &[u8], value: &[u8]) -> bool {
    matches!(node.keyspace().db(0).peek(key), Some(Value::Str(s)) if s.bytes[..] == value[..])
}

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which invariant (`S1`, `S2`, `S3`, `S4`, `S5`, `S7`, `S9`, `L1`, `L2`).
    pub invariant: &'static str,
    /// Simulated time (ms).
    pub t: u64,
    /// What was seen.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at t={}ms: {}", self.invariant, self.t, self.detail)
    }
}

/// A `PSYNC` request as the simulator read it off the wire, and the
/// master's replication state just before it handles it, as the oracle
/// needs them.
#[derive(Debug, Clone)]
pub struct PsyncView {
    /// The request's `(replid, offset)`.
    request: (String, i64),
    pub(crate) replid: String,
    pub(crate) replid2: String,
    pub(crate) second_offset: i64,
    /// `(end offset, bytes held)` of the backlog, if any.
    pub(crate) backlog: Option<(i64, i64)>,
}

impl PsyncView {
    /// Read the state from a node about to handle `request`.
    pub fn of(node: &Node, request: (String, i64)) -> Self {
        let r = node.repl();
        PsyncView {
            request,
            replid: r.identity.replid.clone(),
            replid2: r.identity.replid2.clone(),
            second_offset: r.identity.second_replid_offset,
            backlog: r
                .backlog
                .as_ref()
                .map(|b| (b.end_offset(), b.histlen() as i64)),
        }
    }

    /// The spec's rule: may `PSYNC id offset` continue?
    pub fn may_continue(&self, id: &str, offset: i64) -> bool {
        if id == "?" {
            return false;
        }
        let id_ok = id.eq_ignore_ascii_case(&self.replid)
            || (self.replid2 != NULL_REPLID
                && id.eq_ignore_ascii_case(&self.replid2)
                && offset <= self.second_offset);
        let range_ok = match self.backlog {
            // Bytes held are (end - histlen, end]; the next wanted byte may be end + 1.
            Some((end, histlen)) => end - histlen < offset && offset <= end + 1,
            None => false,
        };
        id_ok && range_ok
    }
}

#[derive(Debug, Clone)]
struct Seen {
    inc: u32,
    /// A full sync announced this `(replid, offset)`: the offset may jump there.
    resync: Option<(String, i64)>,
    replid: String,
    offset: i64,
    /// Whether the node had a backlog.
    backlog: bool,
}

/// A node's role, incarnation and identity when last observed (S5).
#[derive(Debug, Clone)]
struct Role {
    inc: u32,
    replica: bool,
    replid: String,
    offset: i64,
}

/// The checker's memory of a run.
#[derive(Debug, Default)]
pub struct Checker {
    last: SmallMap<usize, Seen>,
    /// Highest offset a master reached per replid.
    master_max: SmallMap<String, i64>,
    /// Dataset hash per `(replid, offset)`, first seen (looked up, never
    /// iterated; hashed with fixed keys).
    datasets: HashMap<(String, i64), (usize, u64), crate::util::FixedKeys>,
    /// `datasets`' keys, oldest first (to forget the oldest).
    dataset_order: std::collections::VecDeque<(String, i64)>,
    /// Bumped on every stream extension; each stream's last value.
    stream_clock: u64,
    /// Canonical stream per replid (S2).
    streams: SmallMap<String, Stream>,
    /// Stream bytes compared against the canonical stream (S2).
    pub stream_bytes_checked: u64,
    /// WAITs in flight, by client (S7).
    waits: SmallMap<usize, PendingWait>,
    /// Acknowledged writes still expected in the master lineage (S7).
    acked: Vec<AckedWrite>,
    /// Acknowledged writes lost legitimately (S7), with the reason.
    pub excused: Vec<String>,
    /// WAIT answers checked (S7).
    pub waits_checked: u64,
    /// Violations found so far.
    pub violations: Vec<Violation>,
    /// Check S3 at one `(replid, offset)` in this many (chosen by a hash of
    /// the pair, so every node samples the same points); 0 or 1: all.
    pub sample: u64,
    /// Faults have stopped (L2 counts full syncs from then on).
    quiet: bool,
    /// Full syncs each node accepted since faults stopped (L2).
    full_syncs_quiet: SmallMap<usize, u32>,
    /// Nodes whose latest PSYNC request went out after faults stopped (L2
    /// counts only the full syncs that answer those: one asked for during
    /// the faults may still arrive after them).
    asked_quiet: SmallSet<usize>,
    /// Each node's distance from the master when faults stopped (L2).
    depths: Vec<u32>,
    /// Each node's role at its last observation (S5).
    roles: SmallMap<usize, Role>,
}

impl Checker {
    /// A checker that checks S3 at one point in `sample`.
    pub fn new(sample: u64) -> Self {
        Checker {
            sample,
            ..Checker::default()
        }
    }

    fn sampled(&self, replid: &str, offset: i64) -> bool {
        if self.sample <= 1 {
            return true;
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in replid.bytes().chain(offset.to_le_bytes()) {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        h.is_multiple_of(self.sample)
    }

    fn fail(&mut self, invariant: &'static str, t: u64, detail: String) {
        // A few reports are enough to replay it; keep the first few, and
        // the first of every invariant.
        if self.violations.len() < 8 || self.violations.iter().all(|v| v.invariant != invariant) {
            self.violations.push(Violation {
                invariant,
                t,
                detail,
            });
        }
    }

    /// Look at node `n` (incarnation `inc`) after it handled an input.
    pub fn observe(&mut self, t: u64, n: usize, inc: u32, node: &Node) {
        self.check_promotion(t, n, inc, node);
        if !self.waits.is_empty() {
            for w in self.waits.values_mut() {
                if w.writer != n && holds(node, &w.key, &w.value) {
                    w.holders.insert(n);
                }
            }
        }
        let id = &node.repl().identity;
        let (replid, offset) = (id.replid.clone(), id.master_repl_offset);
        let prev = self.last.get(&n).cloned();
        let has_backlog = node.repl().backlog.is_some();
        let changed = prev.as_ref().is_none_or(|p| {
            p.inc != inc || p.replid != replid || p.offset != offset || p.backlog != has_backlog
        });
        if !changed {
            return;
        }
        let resync = prev.as_ref().and_then(|p| p.resync.clone());
        let reset = resync
            .as_ref()
            .is_some_and(|(r, o)| *r == replid && *o == offset);
        if let Some(p) = &prev {
            if p.inc == inc && p.replid == replid && offset < p.offset && !reset {
                self.fail(
                    "S1",
                    t,
                    format!(
                        "n{n}: offset went back from {} to {offset} in history {replid}",
                        p.offset
                    ),
                );
            }
        }
        if let Some(p) = &prev {
            if p.inc == inc && !reset {
                self.check_stream(t, n, node, p);
            }
        }
        if let Some(b) = node.repl().backlog.as_ref() {
            // Redis's own floor: a smaller setting means 16 KB.
            let limit = (node.config().repl_backlog_size as usize).max(16 * 1024);
            if b.histlen() > limit {
                self.fail(
                    "S9",
                    t,
                    format!(
                        "n{n}: backlog holds {} bytes, repl-backlog-size is {limit}",
                        b.histlen()
                    ),
                );
            }
        }
        if node.is_replica() {
            match self.master_max.get(&replid) {
                Some(&max) if offset > max => self.fail(
                    "S1",
                    t,
                    format!("n{n}: replica offset {offset} passes its master's {max} in history {replid}"),
                ),
                None if offset > 0 => self.fail(
                    "S1",
                    t,
                    format!("n{n}: replica at offset {offset} of a history no master had ({replid})"),
                ),
                _ => {}
            }
        } else {
            let m = self
                .master_max
                .get_or_insert_with(replid.clone(), || offset);
            *m = (*m).max(offset);
        }
        if node.repl().backlog.is_some() && !node.is_loading() && self.sampled(&replid, offset) {
            let digest = dataset_hash(node);
            match self.datasets.get(&(replid.clone(), offset)) {
                Some((first, d)) if *d != digest => {
                    let first = *first;
                    self.fail(
                        "S3",
                        t,
                        format!("n{n} at {replid}:{offset} has dataset hash {digest:016x}, n{first} had {d:016x}"),
                    );
                }
                Some(_) => {}
                None => {
                    self.datasets.insert((replid.clone(), offset), (n, digest));
                    self.dataset_order.push_back((replid.clone(), offset));
                    if self.dataset_order.len() > DATASETS_KEPT {
                        if let Some(old) = self.dataset_order.pop_front() {
                            self.datasets.remove(&old);
                        }
                    }
                }
            }
        }
        self.last.insert(
            n,
            Seen {
                inc,
                replid,
                offset,
                backlog: has_backlog,
                resync: if reset { None } else { resync },
            },
        );
    }

    /// S5: a replica promoted to master (same incarnation) takes a new
    /// replid and keeps the old one as replid2, valid up to the byte after
    /// its offset (`shiftReplicationId`).
    fn check_promotion(&mut self, t: u64, n: usize, inc: u32, node: &Node) {
        let id = &node.repl().identity;
        let replica = node.is_replica();
        let same = self.roles.get(&n).is_some_and(|r| {
            r.inc == inc
                && r.replica == replica
                && r.replid == id.replid
                && r.offset == id.master_repl_offset
        });
        if same {
            return;
        }
        let now = Role {
            inc,
            replica,
            replid: id.replid.clone(),
            offset: id.master_repl_offset,
        };
        let Some(before) = self.roles.insert(n, now) else {
            return;
        };
        if before.inc != inc || !before.replica || replica {
            return;
        }
        let wrong = if id.replid == before.replid {
            Some("kept its replid")
        } else if id.replid2 != before.replid {
            Some("did not keep its old replid as replid2")
        } else if id.second_replid_offset != before.offset + 1 {
            Some("took a second_replid_offset other than its offset + 1")
        } else {
            None
        };
        if let Some(wrong) = wrong {
            self.fail(
                "S5",
                t,
                format!(
                    "n{n} promoted at {}:{} {wrong}: now {}:{}, replid2 {} up to {}",
                    before.replid,
                    before.offset,
                    id.replid,
                    id.master_repl_offset,
                    id.replid2,
                    id.second_replid_offset
                ),
            );
        }
    }

    /// S2 for node `n`, which moved from `prev` to its current `(replid,
    /// offset)` in the same incarnation, not by a full sync.
    fn check_stream(&mut self, t: u64, n: usize, node: &Node, prev: &Seen) {
        let r = node.repl();
        let id = &r.identity;
        let offset = id.master_repl_offset;
        let Some(b) = r.backlog.as_ref() else {
            // (A backlog freed in this step may have taken bytes first.)
            if offset != prev.offset && !prev.backlog {
                self.fail(
                    "S2",
                    t,
                    format!(
                        "n{n}: offset moved from {} to {offset} without a backlog",
                        prev.offset
                    ),
                );
            }
            return;
        };
        if b.end_offset() != offset {
            self.fail(
                "S2",
                t,
                format!(
                    "n{n}: backlog ends at {} but master_repl_offset is {offset} (history {})",
                    b.end_offset(),
                    id.replid
                ),
            );
            return;
        }
        if offset <= prev.offset {
            return;
        }
        // The ranges appended since `prev`, per history.
        let mut ranges: Vec<(String, i64, i64)> = Vec::with_capacity(2);
        if prev.replid == id.replid {
            ranges.push((id.replid.clone(), prev.offset + 1, offset));
        } else if id.replid2 == prev.replid && id.second_replid_offset > 0 {
            let switch = id.second_replid_offset - 1;
            if prev.offset <= switch && switch <= offset {
                ranges.push((prev.replid.clone(), prev.offset + 1, switch));
                ranges.push((id.replid.clone(), switch + 1, offset));
            }
        }
        for (replid, lo, hi) in ranges {
            let lo = lo.max(b.first_byte_offset());
            if lo > hi {
                continue;
            }
            let Some(bytes) = b.read_from(lo) else {
                continue;
            };
            let len = (hi - lo + 1) as usize;
            self.compare_stream(t, n, &replid, lo, &bytes[..len.min(bytes.len())]);
        }
    }

    /// Hold `data`, appended by node `n` at `replid:lo..`, against the
    /// canonical stream of `replid`, and extend that stream with it.
    fn compare_stream(&mut self, t: u64, n: usize, replid: &str, lo: i64, data: &[u8]) {
        self.stream_bytes_checked += data.len() as u64;
        let s = match self.streams.get_mut(replid) {
            Some(s) => s,
            None => {
                if self.streams.len() >= STREAMS_KEPT {
                    // Forget the history extended longest ago.
                    let oldest = self
                        .streams
                        .iter()
                        .min_by_key(|(_, s)| s.touched)
                        .map(|(k, _)| k.clone());
                    if let Some(k) = oldest {
                        self.streams.remove(&k);
                    }
                }
                self.streams
                    .get_or_insert_with(replid.to_string(), || Stream {
                        base: lo,
                        bytes: Vec::new(),
                        touched: 0,
                    })
            }
        };
        let end = s.base + s.bytes.len() as i64;
        if lo > end {
            if !s.bytes.is_empty() {
                // A hole in what the checker saw: nothing to compare with.
                return;
            }
            s.base = lo;
        }
        let end = s.base + s.bytes.len() as i64;
        let from = lo.max(s.base);
        let upto = (lo + data.len() as i64).min(end);
        if from < upto {
            let mine = &data[(from - lo) as usize..(upto - lo) as usize];
            let theirs = &s.bytes[(from - s.base) as usize..(upto - s.base) as usize];
            if mine != theirs {
                let i = mine
                    .iter()
                    .zip(theirs)
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                let show = |x: &[u8]| {
                    let a = i.saturating_sub(16);
                    let z = (i + 24).min(x.len());
                    format!("{:?}", String::from_utf8_lossy(&x[a..z]))
                };
                let detail = format!(
                    "n{n} applied a different stream byte at {replid}:{}: {} where the history has {}",
                    from + i as i64,
                    show(mine),
                    show(theirs)
                );
                self.fail("S2", t, detail);
                return;
            }
        }
        let next = lo + data.len() as i64;
        self.stream_clock += 1;
        s.touched = self.stream_clock;
        if next > end {
            s.bytes.extend_from_slice(&data[(end - lo) as usize..]);
            if s.bytes.len() > 2 * STREAM_WINDOW {
                let cut = s.bytes.len() - STREAM_WINDOW;
                s.bytes.drain(..cut);
                s.base += cut as i64;
            }
        }
    }

    /// A client sent `SET key value` then `WAIT` to node `writer`.
    pub fn wait_sent(
        &mut self,
        client: usize,
        key: &[u8],
        value: &[u8],
        writer: usize,
        epoch: u64,
    ) {
        self.waits.insert(
            client,
            PendingWait {
                key: key.to_vec(),
                value: value.to_vec(),
                writer,
                epoch,
                holders: SmallSet::new(),
            },
        );
    }

    /// The client's write or its WAIT failed, or its connection went away.
    pub fn wait_dropped(&mut self, client: usize) {
        self.waits.remove(&client);
    }

    /// The writer answered the client's WAIT with `count` (S7a); `master`
    /// is the deployment's master now and `epoch` its epoch.
    pub fn wait_answered(
        &mut self,
        t: u64,
        client: usize,
        count: i64,
        master: Option<(usize, &Node)>,
        epoch: u64,
    ) {
        let Some(w) = self.waits.remove(&client) else {
            return;
        };
        self.waits_checked += 1;
        let key = String::from_utf8_lossy(&w.key).into_owned();
        if (w.holders.len() as i64) < count {
            self.fail(
                "S7",
                t,
                format!(
                    "n{}: WAIT answered {count} for {key} but only {:?} ever held it",
                    w.writer, w.holders
                ),
            );
            return;
        }
        if count < 1 {
            return;
        }
        if w.epoch != epoch {
            // The master changed while the WAIT ran: the new one is checked now.
            if let Some((m, node)) = master {
                if !holds(node, &w.key, &w.value) {
                    self.excused.push(format!(
                        "{key}: acknowledged by {count} after n{m} took over without it"
                    ));
                    return;
                }
            }
        }
        self.acked.push(AckedWrite {
            key: w.key,
            value: w.value,
            acked: count,
            t,
        });
    }

    /// Node `n` became the master lineage's head (a promotion, or the
    /// master came back from a restart): acknowledged writes it lacks were
    /// lost the way asynchronous replication allows (S7b).
    pub fn master_changed(&mut self, n: usize, node: &Node, why: &str) {
        let mut excused = Vec::new();
        self.acked.retain(|a| {
            let keep = holds(node, &a.key, &a.value);
            if !keep {
                excused.push(format!(
                    "{}: acknowledged by {} at t={}ms, lost at {why} of n{n}",
                    String::from_utf8_lossy(&a.key),
                    a.acked,
                    a.t
                ));
            }
            keep
        });
        self.excused.extend(excused);
    }

    /// The deployment converged with `node` (`n`) as its master: every
    /// acknowledged write not excused is there (S7b).
    pub fn final_check(&mut self, t: u64, n: usize, node: &Node) {
        let missing: Vec<String> = self
            .acked
            .iter()
            .filter(|a| !holds(node, &a.key, &a.value))
            .map(|a| {
                format!(
                    "{} (acknowledged by {} at t={}ms)",
                    String::from_utf8_lossy(&a.key),
                    a.acked,
                    a.t
                )
            })
            .collect();
        if !missing.is_empty() {
            self.fail(
                "S7",
                t,
                format!(
                    "master n{n} lost acknowledged writes without a crash or failover that excuses it: {}",
                    missing.join(", ")
                ),
            );
        }
    }

    /// Acknowledged writes still tracked.
    pub fn acked_writes(&self) -> usize {
        self.acked.len()
    }

    /// Node `n` accepted a full sync of `replid` at `offset` (its narration
    /// says so): its offset may move there, backwards included.
    pub fn full_sync(&mut self, t: u64, n: usize, replid: &str, offset: i64) {
        if let Some(p) = self.last.get_mut(&n) {
            p.resync = Some((replid.to_string(), offset));
        }
        if self.quiet && self.asked_quiet.contains(&n) {
            let count = self.full_syncs_quiet.get_or_insert_with(n, u32::default);
            *count += 1;
            let depth = self.depths.get(n).copied().unwrap_or(1).max(1);
            if *count > depth {
                let count = *count;
                self.fail(
                    "L2",
                    t,
                    format!("n{n}: full sync number {count} since faults stopped (a sync loop), this one of {replid}:{offset}"),
                );
            }
        }
    }

    /// Node `n` sent a PSYNC request (its narration says so).
    pub fn psync_asked(&mut self, n: usize) {
        if self.quiet {
            self.asked_quiet.insert(n);
        } else {
            self.asked_quiet.remove(&n);
        }
    }

    /// Faults stopped: from now on full syncs are counted (L2); `depths`:
    /// how many links separate each node from the master.
    pub fn faults_stopped(&mut self, depths: Vec<u32>) {
        self.quiet = true;
        self.depths = depths;
    }

    /// A node decided a PSYNC; `before` is its state before the request.
    pub fn psync(
        &mut self,
        t: u64,
        n: usize,
        before: &PsyncView,
        id: &str,
        offset: i64,
        partial: bool,
    ) {
        if before.request.1 != offset || !before.request.0.eq_ignore_ascii_case(id) {
            self.fail(
                "S4",
                t,
                format!(
                    "n{n}: decided PSYNC {id} {offset} but the request was PSYNC {} {}",
                    before.request.0, before.request.1
                ),
            );
            return;
        }
        let expected = before.may_continue(id, offset);
        if expected != partial {
            self.fail(
                "S4",
                t,
                format!(
                    "n{n}: PSYNC {id} {offset} answered {} but the spec says {} (replid {}, replid2 {} up to {}, backlog {:?})",
                    if partial { "CONTINUE" } else { "FULLRESYNC" },
                    if expected { "CONTINUE" } else { "FULLRESYNC" },
                    before.replid,
                    before.replid2,
                    before.second_offset,
                    before.backlog.map(|(end, h)| (end - h + 1, end)),
                ),
            );
        }
    }

    /// Record a violation found by the simulator itself (liveness).
    pub fn report(&mut self, invariant: &'static str, t: u64, detail: String) {
        self.fail(invariant, t, detail);
    }
}

#[cfg(test)]
mod tests {
    use super::Checker;
    use crate::config::Config;
    use crate::node::Node;
    use crate::rng::Rng;

    #[test]
    fn s9_catches_a_backlog_larger_than_its_setting() {
        let now = 1_700_000_000_000;
        let mut node = Node::new(Config::default(), 7, now);
        node.repl.ensure_backlog(1 << 20, &mut Rng::new(1));
        node.repl.feed(&[b'x'; 20_000]);
        let mut c = Checker::new(1);
        c.observe(1, 0, 0, &node);
        assert!(c.violations.is_empty(), "{:?}", c.violations);
        // The setting shrinks but the backlog is not resized (the bug S9 is for).
        node.config.repl_backlog_size = 1;
        node.repl.feed(b"y");
        c.observe(2, 0, 0, &node);
        assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
        assert_eq!(c.violations[0].invariant, "S9");
        assert_eq!(
            c.violations[0].detail,
            "n0: backlog holds 20001 bytes, repl-backlog-size is 16384"
        );
    }

    #[test]
    fn l2_allows_one_full_sync_per_link_to_the_master_after_faults_stop() {
        let mut c = Checker::new(1);
        // Before faults stop, full syncs are not counted.
        for _ in 0..5 {
            c.full_sync(10, 1, "a", 100);
        }
        // n0 the master, n1 its replica, n2 a replica of n1. n1 asked for
        // a sync during the faults; it arrives after them, and is not
        // counted: it answers a request made during the faults.
        c.psync_asked(1);
        c.faults_stopped(vec![0, 1, 2]);
        c.full_sync(19, 1, "a", 150);
        c.psync_asked(1);
        c.full_sync(20, 1, "a", 200);
        c.psync_asked(2);
        c.full_sync(21, 2, "a", 200);
        c.psync_asked(2);
        c.full_sync(22, 2, "b", 300);
        assert!(c.violations.is_empty(), "{:?}", c.violations);
        c.psync_asked(1);
        c.full_sync(23, 1, "b", 300);
        assert_eq!(c.violations.len(), 1, "{:?}", c.violations);
        assert_eq!(c.violations[0].invariant, "L2");
        assert!(c.violations[0].detail.starts_with("n1: full sync number 2"));
        c.psync_asked(2);
        c.full_sync(24, 2, "c", 400);
        assert_eq!(c.violations.len(), 2, "{:?}", c.violations);
    }
}
