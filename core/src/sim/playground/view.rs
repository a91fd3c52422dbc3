//! What the playground shows, as plain data (serializable with the `serde`
//! feature): every node's replication state read from the real core, the
//! links, the messages in flight labelled by what they carry, the PSYNC
//! decision cards and the event log.
//!
//! A node's digest is Redis's `DEBUG DIGEST`, which hashes the whole dataset,
//! so its cost grows with the data. [`Playground::snapshot`] recomputes it for
//! every node whose data changed (exact, for a paused picture and the tests);
//! [`Playground::snapshot_live`], for a picture redrawn every animation frame
//! while writes stream, refreshes at most one changed node's digest per call
//! (the one lagging furthest behind its offset) and says which offset each
//! digest was taken at ([`NodeView::digest_offset`]).

use super::wire::{Reader, Side};
use super::Playground;
use crate::sim::{End, Packet};

#[cfg(feature = "serde")]
use serde::Serialize;

/// The whole picture at one moment.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Snapshot {
    /// Simulated time (ms).
    pub now: u64,
    /// Steps taken.
    pub steps: u64,
    /// The node clients write to.
    pub master: usize,
    /// Nodes (removed ones left out).
    pub nodes: Vec<NodeView>,
    /// Links between live nodes, one per pair.
    pub links: Vec<LinkView>,
    /// Messages in flight.
    pub inflight: Vec<Inflight>,
    /// PSYNC decisions so far (the last 200).
    pub decisions: Vec<Decision>,
    /// Invariant violations the simulator's checker found (should stay empty).
    pub violations: Vec<String>,
    /// Client writes per second.
    pub writes_per_sec: u64,
    /// The event log's end: `events_since(events_next - k)` reads just the
    /// last `k` events (a live view that shows only the newest ones).
    pub events_next: u64,
}

/// The backlog's window over the offset line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct BacklogView {
    /// `repl-backlog-size`.
    pub size: u64,
    /// Offset of the oldest byte held.
    pub first: i64,
    /// Offset of the last byte held (`master_repl_offset`).
    pub last: i64,
}

/// A replica as its master sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct ReplicaView {
    /// The replica node, if known.
    pub id: Option<usize>,
    /// Offset it last acknowledged.
    pub offset: i64,
    /// `handshake`, `wait_bgsave` or `online`.
    pub state: &'static str,
    /// Stream bytes held for it until its first ACK (diskless sync).
    pub buffered: u64,
}

/// What a node's disk holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct DiskView {
    /// Size of the RDB file.
    pub bytes: u64,
    /// Its `repl-id` aux field.
    pub replid: Option<String>,
    /// Its `repl-offset` aux field.
    pub offset: Option<i64>,
    /// Keys in it.
    pub keys: u64,
}

/// One node.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct NodeView {
    /// Index.
    pub id: usize,
    /// `n0`.
    pub name: String,
    /// Running (not crashed).
    pub up: bool,
    /// `master` or `replica`.
    pub role: &'static str,
    /// Current replid (empty while down).
    pub replid: String,
    /// Previous replid (forty `0`s when none).
    pub replid2: String,
    /// Last offset valid for `replid2` (-1 when none).
    pub second_offset: i64,
    /// `master_repl_offset`.
    pub offset: i64,
    /// The node it replicates from.
    pub upstream: Option<usize>,
    /// Link to the upstream: `down`, `connecting`, `handshake`, `sync`, `up`.
    pub link: Option<&'static str>,
    /// Share of the RDB received while a transfer runs.
    pub sync_progress: Option<f64>,
    /// Keys in all databases.
    pub keys: u64,
    /// First 8 hex digits of `DEBUG DIGEST`.
    pub digest: String,
    /// The offset the digest was taken at: `offset` in an exact snapshot; in
    /// a live one it may lag behind (the digest is of an earlier dataset).
    pub digest_offset: i64,
    /// The backlog, if the node has one.
    pub backlog: Option<BacklogView>,
    /// Its replicas.
    pub replicas: Vec<ReplicaView>,
    /// Its RDB file.
    pub disk: Option<DiskView>,
    /// For a replica: what its upstream would answer if it reconnected now.
    pub psync_now: Option<PsyncNow>,
}

/// What a replica's upstream would answer if the replica reconnected now:
/// the replica's own `PSYNC` request ([`crate::node::Node::psync_request`])
/// put to the upstream's own decision ([`crate::node::Node::sync_refusal`],
/// then [`crate::node::Node::psync_verdict`]), in the words of a decision card.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct PsyncNow {
    /// The request's replid (`?` without a cached master).
    pub replid: String,
    /// The request's offset (-1 without a cached master).
    pub offset: i64,
    /// `CONTINUE`, `FULLRESYNC`, or `NOMASTERLINK` (the upstream is a
    /// replica whose own link is down: it refuses every sync).
    pub verdict: String,
    /// Why, in the upstream's words (as in [`Decision::reason`]).
    pub reason: String,
}

/// A link between two nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct LinkView {
    /// Lower node id.
    pub a: usize,
    /// Higher node id.
    pub b: usize,
    /// `up`, `cut`, `cut a→b`, `cut b→a` or `held`.
    pub state: &'static str,
    /// Latency a→b (ms).
    pub latency: u64,
    /// Latency b→a (ms).
    pub latency_back: u64,
}

/// A message in flight.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Inflight {
    /// Sending node (`None`: a client).
    pub from: Option<usize>,
    /// Receiving node (`None`: a client).
    pub to: Option<usize>,
    /// `psync`, `fullresync`, `continue`, `rdb`, `stream`, `ack`, `getack`,
    /// `ping`, `handshake`, `reply`, `client`.
    pub kind: &'static str,
    /// What it carries, short.
    pub label: String,
    /// Bytes.
    pub bytes: u64,
    /// When it was sent (ms, estimated from the link).
    pub sent: u64,
    /// When it arrives (ms).
    pub arrives: u64,
    /// 0..1 along the way.
    pub progress: f64,
    /// Waiting on a held or cut link.
    pub stalled: bool,
}

/// A PSYNC decision card.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Decision {
    /// When (ms).
    pub t: u64,
    /// The node that decided.
    pub master: usize,
    /// The node that asked.
    pub replica: Option<usize>,
    /// The replid asked for (`?` for none).
    pub asked_replid: String,
    /// The offset asked for.
    pub asked_offset: i64,
    /// The master's replid just before.
    pub replid: String,
    /// The master's replid2 just before.
    pub replid2: String,
    /// Last offset valid for replid2 (-1: none).
    pub second_offset: i64,
    /// First byte its backlog held.
    pub backlog_first: Option<i64>,
    /// Last byte its backlog held.
    pub backlog_last: Option<i64>,
    /// `CONTINUE` or `FULLRESYNC`.
    pub verdict: String,
    /// The master's reason, in its own words.
    pub reason: String,
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct EventView {
    /// Index (cursor).
    pub i: u64,
    /// The step count right after the event (`at=STEP` in an imported
    /// fragment replays to it).
    pub step: u64,
    /// Simulated time (ms).
    pub t: u64,
    /// `decision`, `message`, `fault`, `role`, `sync`, `client`, `log`.
    pub kind: &'static str,
    /// The node it happened on (the receiver, for a message).
    pub node: Option<usize>,
    /// One line.
    pub text: String,
    /// The raw bytes, escaped, cut at about 200 characters.
    pub resp: Option<String>,
    /// What they mean.
    pub meaning: Option<String>,
    /// For a message: its kind (as in [`Inflight::kind`]).
    pub msg: Option<&'static str>,
    /// For a message: sender (`None`: a client).
    pub from: Option<usize>,
    /// For a message: receiver (`None`: a client).
    pub to: Option<usize>,
}

/// A page of the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct EventPage {
    /// Cursor for the next call.
    pub next: u64,
    /// Events from the cursor on (at most [`super::EVENTS_PER_PAGE`]).
    pub events: Vec<EventView>,
}

/// A verdict as the core words it (`CONTINUE: offset 812 is within ...`),
/// split into the verdict and its reason.
pub(crate) fn verdict_words(text: &str) -> (String, String) {
    let (word, reason) = text.split_once(": ").unwrap_or((text, ""));
    (word.to_string(), reason.to_string())
}

fn short(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// How a snapshot treats digests of nodes whose data changed since theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Digests {
    /// Recompute every one.
    Exact,
    /// Recompute the one lagging furthest behind its offset; the others keep
    /// their last digest (with the offset it was taken at).
    OneStale,
}

impl Playground {
    /// The picture now, every digest exact.
    pub fn snapshot(&mut self) -> Snapshot {
        self.snapshot_with(Digests::Exact)
    }

    /// The picture now for a live view redrawn every frame: at most one
    /// node's digest is recomputed (see the module docs).
    pub fn snapshot_live(&mut self) -> Snapshot {
        self.snapshot_with(Digests::OneStale)
    }

    fn snapshot_with(&mut self, digests: Digests) -> Snapshot {
        let inflight = self.inflight();
        let mut nodes = Vec::new();
        for n in 0..self.sim.nodes.len() {
            if self.removed[n] {
                continue;
            }
            nodes.push(self.node_view(n, &inflight, digests));
        }
        if digests == Digests::OneStale {
            let lagging = nodes
                .iter_mut()
                .filter(|v| {
                    v.up && self
                        .digest_key(v.id)
                        .is_some_and(|k| !self.digest_fresh(v.id, k))
                })
                .max_by_key(|v| (v.offset - v.digest_offset, std::cmp::Reverse(v.id)));
            if let Some(v) = lagging {
                let key = self.digest_key(v.id).expect("an up node has a digest key");
                (v.digest, v.digest_offset) = self.digest_of(v.id, key, true);
            }
        }
        let sim = &self.sim;
        let live = |n: usize| !self.removed[n];
        let mut links = Vec::new();
        for (&(a, b), l) in sim.links.iter() {
            if a >= b || !live(a) || !live(b) {
                continue;
            }
            let back = &sim.links[&(b, a)];
            let state = match (l.blocked, back.blocked) {
                (true, true) => "cut",
                (true, false) => "cut a→b",
                (false, true) => "cut b→a",
                _ if l.held || back.held => "held",
                _ => "up",
            };
            links.push(LinkView {
                a,
                b,
                state,
                latency: l.latency,
                latency_back: back.latency,
            });
        }
        Snapshot {
            now: sim.now,
            steps: self.steps(),
            master: sim.master,
            nodes,
            links,
            inflight,
            decisions: self.tap().decisions.iter().cloned().collect(),
            violations: sim.violations().iter().map(|v| v.to_string()).collect(),
            writes_per_sec: self.rate,
            events_next: self.tap().first + self.tap().events.len() as u64,
        }
    }

    /// What node `n`'s digest depends on: incarnation, offset, dirty counter
    /// and key count (`None` while it is down).
    fn digest_key(&self, n: usize) -> Option<super::DigestKey> {
        let sn = &self.sim.nodes[n];
        let node = sn.node.as_ref()?;
        let keys = (0..node.keyspace().db_count())
            .map(|d| node.keyspace().db(d).len() as u64)
            .sum();
        Some((
            sn.inc,
            node.repl().identity.master_repl_offset,
            node.dirty,
            keys,
        ))
    }

    fn digest_fresh(&self, n: usize, key: super::DigestKey) -> bool {
        self.digests.get(&n).is_some_and(|(k, _)| *k == key)
    }

    /// Node `n`'s digest and the offset it was taken at: the cached one when
    /// still fresh (or when `recompute` is false and there is one), else
    /// computed now.
    fn digest_of(&mut self, n: usize, key: super::DigestKey, recompute: bool) -> (String, i64) {
        if let Some((k, d)) = self.digests.get(&n) {
            if *k == key || !recompute {
                return (d.clone(), k.1);
            }
        }
        let node = self.sim.nodes[n].node.as_ref().expect("an up node");
        let d = short(&node.digest(), 8);
        self.digests.insert(n, (key, d.clone()));
        (d, key.1)
    }

    fn node_view(&mut self, n: usize, inflight: &[Inflight], digests: Digests) -> NodeView {
        let disk = self.disk_view(n);
        let key = self.digest_key(n);
        let recompute = digests == Digests::Exact || !self.digests.contains_key(&n);
        let digest = key.map(|k| self.digest_of(n, k, recompute));
        let sim = &self.sim;
        let sn = &sim.nodes[n];
        let upstream = sim.upstream[n];
        let (Some(node), Some(key), Some((digest, digest_offset))) =
            (sn.node.as_ref(), key, digest)
        else {
            return NodeView {
                id: n,
                name: format!("n{n}"),
                up: false,
                role: if upstream.is_some() {
                    "replica"
                } else {
                    "master"
                },
                replid: String::new(),
                replid2: String::new(),
                second_offset: -1,
                offset: 0,
                upstream,
                link: None,
                sync_progress: None,
                keys: 0,
                digest: String::new(),
                digest_offset: 0,
                backlog: None,
                replicas: Vec::new(),
                disk,
                psync_now: None,
            };
        };
        let repl = node.repl();
        let id = &repl.identity;
        let side = repl.replica.as_ref();
        let upstream = side.map(|s| (s.port.saturating_sub(crate::sim::BASE_PORT)) as usize);
        let link = side.map(|s| match s.role_state() {
            "connect" => "down",
            "connecting" => "connecting",
            "handshake" => "handshake",
            "sync" => "sync",
            _ => "up",
        });
        // RDB bytes received plus the share of those in flight that has travelled.
        let sync_progress = match (link, upstream) {
            (Some("sync"), Some(m)) => {
                let tap = self.tap();
                let got = tap.rdb_progress.get(&n).map_or(0, |p| p.0) as f64;
                let flying: f64 = inflight
                    .iter()
                    .filter(|f| f.to == Some(n) && (f.kind == "rdb" || f.kind == "fullresync"))
                    .map(|f| f.progress * f.bytes as f64)
                    .sum();
                let total = tap.rdb_sizes.get(&m).copied().unwrap_or(0).max(1) as f64;
                Some(((got + flying) / total).min(1.0))
            }
            (Some("sync"), None) => Some(0.0),
            _ => None,
        };
        let keys = key.3;
        let mut replicas = Vec::new();
        for &cid in &repl.replicas {
            let Some(client) = node.clients.get(&cid) else {
                continue;
            };
            let Some(link) = client.replica.as_ref() else {
                continue;
            };
            let peer = sn
                .conns
                .get(&cid)
                .and_then(|k| sim.conns.get(k))
                .and_then(|c| c.ends[0].node());
            let buffered = match &link.state {
                crate::repl::master::ReplicaState::Online { held: Some(h) } => h.len() as u64,
                _ => 0,
            };
            replicas.push(ReplicaView {
                id: peer,
                offset: link.ack_off,
                state: link.info_state(),
                buffered,
            });
        }
        NodeView {
            id: n,
            name: format!("n{n}"),
            up: true,
            role: if side.is_some() { "replica" } else { "master" },
            replid: id.replid.clone(),
            replid2: id.replid2.clone(),
            second_offset: id.second_replid_offset,
            offset: id.master_repl_offset,
            upstream,
            link,
            sync_progress,
            keys,
            digest,
            digest_offset,
            backlog: repl.backlog.as_ref().map(|b| BacklogView {
                size: b.size() as u64,
                first: b.first_byte_offset(),
                last: b.end_offset(),
            }),
            replicas,
            disk,
            psync_now: self.psync_now(n),
        }
    }

    /// What node `n`'s upstream would answer its PSYNC now (`None`: `n` is
    /// down or no replica, or its upstream is down or gone, so nothing would
    /// answer).
    pub fn psync_now(&self, n: usize) -> Option<PsyncNow> {
        let node = self.sim.nodes.get(n)?.node.as_ref()?;
        let (replid, offset) = node.psync_request()?;
        let m = usize::from(
            node.repl()
                .replica
                .as_ref()?
                .port
                .checked_sub(crate::sim::BASE_PORT)?,
        );
        if self.removed.get(m).copied().unwrap_or(true) {
            return None;
        }
        let upstream = self.sim.nodes.get(m)?.node.as_ref()?;
        let (verdict, reason) = match upstream.sync_refusal() {
            Some(refusal) => {
                let (word, reason) = refusal.split_once(' ').unwrap_or((refusal, ""));
                (word.to_string(), reason.to_string())
            }
            None => verdict_words(&upstream.psync_verdict(&replid, offset).to_string()),
        };
        Some(PsyncNow {
            replid,
            offset,
            verdict,
            reason,
        })
    }

    fn disk_view(&mut self, n: usize) -> Option<DiskView> {
        let data = self.sim.nodes[n].disk.clone()?;
        let key = (data.as_ptr() as usize, data.len());
        if let Some((k, v)) = self.disks.get(&n) {
            if *k == key {
                return Some(v.clone());
            }
        }
        let loaded = crate::rdb::decode(&data, &Default::default()).ok();
        let view = DiskView {
            bytes: data.len() as u64,
            replid: loaded.as_ref().and_then(|l| l.repl_id.clone()),
            offset: loaded.as_ref().and_then(|l| l.repl_offset),
            keys: loaded.as_ref().map_or(0, |l| l.keys),
        };
        self.disks.insert(n, (key, view.clone()));
        Some(view)
    }

    fn inflight(&self) -> Vec<Inflight> {
        let sim = &self.sim;
        let now = sim.now;
        let mut out = Vec::new();
        for (&k, c) in sim.conns.iter() {
            for dir in 0..2 {
                if c.queue[dir].is_empty() {
                    continue;
                }
                let (from_end, to_end) = (c.ends[dir], c.ends[1 - dir]);
                let (from, to) = (from_end.node(), to_end.node());
                let (lat, bw, stalled) = match (from, to) {
                    (Some(f), Some(t)) => {
                        sim.links.get(&(f, t)).map_or((1, u64::MAX, false), |l| {
                            (l.latency, l.bandwidth, l.blocked || l.held)
                        })
                    }
                    _ => (1, u64::MAX, false),
                };
                let mut reader = self
                    .tap()
                    .readers
                    .get(&(k, dir))
                    .cloned()
                    .unwrap_or_else(|| Reader::new(side_of(from_end, to_end, dir)));
                if let Some(m) = from {
                    reader.eof_total_hint = self.tap().rdb_sizes.get(&m).copied();
                }
                for (arrives, p) in c.queue[dir].iter() {
                    let (kind, label, bytes) = match p {
                        Packet::SynAck => ("handshake", "connected".to_string(), 0),
                        Packet::Fin => ("handshake", "FIN".to_string(), 0),
                        Packet::Data(d) => {
                            let r = reader.read(d);
                            (
                                r.kind().map_or("reply", |k| k.name()),
                                r.label(),
                                d.len() as u64,
                            )
                        }
                    };
                    let transit = lat + bytes / bw.max(1);
                    let sent = arrives.saturating_sub(transit).min(now);
                    let span = arrives.saturating_sub(sent).max(1);
                    let progress = (now.saturating_sub(sent) as f64 / span as f64).min(1.0);
                    out.push(Inflight {
                        from,
                        to,
                        kind,
                        label,
                        bytes,
                        sent,
                        arrives: *arrives,
                        progress,
                        stalled,
                    });
                }
            }
        }
        out
    }
}

/// Which side sends direction `dir` of a connection between these ends.
pub(crate) fn side_of(from: End, to: End, dir: usize) -> Side {
    match (from, to) {
        (End::Client(_), _) => Side::Client,
        (_, End::Client(_)) => Side::ToClient,
        _ if dir == 0 => Side::Replica,
        _ => Side::Master,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Playground;

    /// Eight nodes taking writes: a live snapshot recomputes at most one
    /// changed digest, says which offset each digest is of, and an exact
    /// snapshot right after has every digest at its node's offset.
    #[test]
    fn live_snapshots_refresh_one_digest_and_say_where_it_was_taken() {
        let mut pg = Playground::new(4, "cold-start").unwrap();
        for _ in 0..5 {
            pg.act("add-replica").unwrap();
        }
        pg.act("writes 1000").unwrap();
        pg.run_for(3_000);
        let exact = pg.snapshot();
        assert_eq!(exact.nodes.len(), 8);
        assert!(exact.nodes.iter().all(|n| n.digest_offset == n.offset));
        pg.run_for(50);
        let live = pg.snapshot_live();
        let moved: Vec<_> = exact
            .nodes
            .iter()
            .zip(&live.nodes)
            .filter(|(a, b)| b.offset != a.offset)
            .collect();
        assert!(moved.len() >= 7, "writes reach every node in 50 ms");
        let refreshed = live.nodes.iter().filter(|n| n.digest_offset == n.offset);
        assert_eq!(refreshed.count(), 1, "{:?}", live.nodes);
        for (a, b) in &moved {
            if b.digest_offset != b.offset {
                assert_eq!((&b.digest, b.digest_offset), (&a.digest, a.offset));
            }
        }
        // The newest events, without reading the ones before them.
        let page = pg.events_since(live.events_next - 5);
        assert_eq!(page.events.len(), 5);
        assert_eq!(
            (page.next, page.events[0].i),
            (live.events_next, live.events_next - 5)
        );
        // The paused page asks for an exact one: every digest is current,
        // and those of nodes at the same offset agree.
        pg.act("writes 0").unwrap();
        pg.run_for(2_000);
        let exact = pg.snapshot();
        assert!(exact.nodes.iter().all(|n| n.digest_offset == n.offset));
        assert!(exact
            .nodes
            .iter()
            .all(|n| n.digest == exact.nodes[0].digest));
    }
}
