//! The invariant checker, independent of the code under test: it reads the
//! nodes' public state (identity, backlog bounds, digest) and the decisions
//! they report, and holds them against its own rules.
//!
//! * **S1** offsets never go backwards (one node, one incarnation, one
//!   replid) and a replica's offset never passes the highest offset any
//!   master reached in that history.
//! * **S3** a `(replid, offset)` pair names one dataset: every node seen at
//!   that pair (with a backlog, not loading) has the same digest.
//! * **S4** a PSYNC verdict is CONTINUE exactly when the spec's rule (§2 of
//!   `reference/replication.md`), evaluated here on the master's state just
//!   before the request, says so.
//! * **L1** (in the simulator) once faults stop, every replica is linked up
//!   with its master's replid, offset and digest within a bounded time.

use std::collections::BTreeMap;

use crate::node::Node;
use crate::repl::identity::NULL_REPLID;

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which invariant (`S1`, `S3`, `S4`, `L1`).
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

/// A master's replication state just before it handles a request, as the
/// oracle needs it.
#[derive(Debug, Clone)]
pub struct PsyncView {
    pub(crate) replid: String,
    pub(crate) replid2: String,
    pub(crate) second_offset: i64,
    /// `(end offset, bytes held)` of the backlog, if any.
    pub(crate) backlog: Option<(i64, i64)>,
}

impl PsyncView {
    /// Read it from a node.
    pub fn of(node: &Node) -> Self {
        let r = node.repl();
        PsyncView {
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
}

/// The checker's memory of a run.
#[derive(Debug, Default)]
pub struct Checker {
    last: BTreeMap<usize, Seen>,
    /// Highest offset a master reached per replid.
    master_max: BTreeMap<String, i64>,
    /// Digest per `(replid, offset)`, first seen.
    datasets: BTreeMap<(String, i64), (usize, String)>,
    /// Violations found so far.
    pub violations: Vec<Violation>,
    /// Check S3 at one `(replid, offset)` in this many (chosen by a hash of
    /// the pair, so every node samples the same points); 0 or 1: all.
    pub sample: u64,
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
        // One report per invariant is enough to replay it; keep the first few.
        if self.violations.len() < 8 {
            self.violations.push(Violation {
                invariant,
                t,
                detail,
            });
        }
    }

    /// Look at node `n` (incarnation `inc`) after it handled an input.
    pub fn observe(&mut self, t: u64, n: usize, inc: u32, node: &Node) {
        let id = &node.repl().identity;
        let (replid, offset) = (id.replid.clone(), id.master_repl_offset);
        let prev = self.last.get(&n).cloned();
        let changed = prev
            .as_ref()
            .is_none_or(|p| p.inc != inc || p.replid != replid || p.offset != offset);
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
            let m = self.master_max.entry(replid.clone()).or_insert(offset);
            *m = (*m).max(offset);
        }
        if node.repl().backlog.is_some() && !node.is_loading() && self.sampled(&replid, offset) {
            let digest = node.digest();
            match self.datasets.get(&(replid.clone(), offset)) {
                Some((first, d)) if *d != digest => {
                    let first = *first;
                    self.fail(
                        "S3",
                        t,
                        format!("n{n} at {replid}:{offset} has digest {digest}, n{first} had {d}"),
                    );
                }
                Some(_) => {}
                None => {
                    self.datasets.insert((replid.clone(), offset), (n, digest));
                }
            }
        }
        self.last.insert(
            n,
            Seen {
                inc,
                replid,
                offset,
                resync: if reset { None } else { resync },
            },
        );
    }

    /// Node `n` accepted a full sync of `replid` at `offset` (its narration
    /// says so): its offset may move there, backwards included.
    pub fn full_sync(&mut self, n: usize, replid: &str, offset: i64) {
        if let Some(p) = self.last.get_mut(&n) {
            p.resync = Some((replid.to_string(), offset));
        }
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
