//! `core::sim`: the deterministic simulator.
//!
//! A whole replicated deployment (nodes running the real, unchanged
//! [`Node`], the network between them, their disks, clients and a fault
//! schedule) runs inside one loop with a virtual clock, driven by one `u64`
//! seed. Events wait in a queue ordered by `(time, sequence number)`, so
//! ties break the same way on every run and every platform; nothing
//! iterates a hash map. [`Sim::step`] processes exactly one event and
//! returns its [`TraceEntry`]; the same seed gives the same trace, byte for
//! byte (compare [`Sim::trace_hash`]).
//!
//! The verbs follow turmoil: [`Sim::crash`], [`Sim::restart`],
//! [`Sim::bounce`], [`Sim::partition`], [`Sim::partition_oneway`],
//! [`Sim::repair`], [`Sim::repair_oneway`], [`Sim::hold`], [`Sim::release`],
//! [`Sim::set_link_latency`], plus [`Sim::set_link_bandwidth`] (a slow
//! reader: the sender's unsent bytes beyond a TCP window are reported to it
//! as [`Input::OutputPending`], so `client-output-buffer-limit` applies),
//! [`Sim::jump_clock`] (each node reads its own clock: the simulated time
//! plus a per-node offset that faults move), and replication ones:
//! [`Sim::failover`], [`Sim::replicaof`], [`Sim::detach`],
//! [`Sim::config_set`], [`Sim::save`].
//!
//! Node `i` listens on port `7000 + i` of host `sim`; a node's
//! `Output::Connect` to `sim:700i` reaches node `i`. A [`Checker`] looks at
//! every node after every input; [`swarm`] builds a random fault schedule per
//! seed and [`run_seed`] runs one seed end to end, liveness included.

mod check;
mod net;
pub mod playground;
pub mod swarm;
mod trace;
pub mod workload;

pub use check::{Checker, PsyncView, Violation};
pub use net::{Conn, End, Link, Packet};
pub use swarm::{run_seed, shrink, Fault, Outcome, Shrunk, SwarmOptions};
pub use trace::{TraceEntry, TraceHash};
pub use workload::{standard as standard_workload, Mix, Strings, Types, Workload};

use crate::config::Config;
use crate::node::{ConnId, Event, Input, Node, Output};
use crate::repl::ReplEvent;
use crate::rng::Rng;
use crate::small_map::SmallMap;
use bytes::Bytes;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Unix time (ms) of the simulation's time 0, given to the nodes.
pub const EPOCH_MS: u64 = 1_700_000_000_000;
/// Node `i` listens on `BASE_PORT + i`.
pub const BASE_PORT: u16 = 7000;
/// The host name every node has.
pub const HOST: &str = "sim";
/// A stalled direction breaks its connection after this long (TCP's retransmission timeout).
pub const RTO_MS: u64 = 8_000;
/// Bytes in flight one way that the kernel buffers; beyond that the sender
/// holds them (its output buffer, which `client-output-buffer-limit` limits).
pub const TCP_WINDOW: u64 = 8 * 1024;

/// A node's index.
pub type NodeId = usize;

/// How a simulation is set up.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Nodes; node 0 starts as the master, the others as its replicas.
    pub nodes: usize,
    /// Clients writing to the master (one more reads from a replica if there is one).
    pub writers: usize,
    /// Link latency range (ms), drawn per link.
    pub latency: (u64, u64),
    /// Link bandwidth (bytes per ms).
    pub bandwidth: u64,
    /// Pause of a client between two batches (ms range).
    pub think: (u64, u64),
    /// Configuration applied to every node (`name`, `value`).
    pub config: Vec<(String, String)>,
    /// Keep every trace entry (not only the hash).
    pub record: bool,
    /// Check S3 at one `(replid, offset)` point in this many (1: all).
    pub s3_sample: u64,
    /// Each node's clock starts off by up to this many ms either way.
    pub clock_skew_ms: u64,
    /// Bugs planted in every node (test builds only).
    #[cfg(feature = "planted-bugs")]
    #[doc(hidden)]
    pub planted: crate::repl::Planted,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            nodes: 3,
            writers: 2,
            latency: (1, 5),
            bandwidth: 10_000,
            think: (5, 40),
            config: Vec::new(),
            record: false,
            s3_sample: 1,
            clock_skew_ms: 0,
            #[cfg(feature = "planted-bugs")]
            planted: Default::default(),
        }
    }
}

struct SimNode {
    node: Option<Node>,
    inc: u32,
    config: Config,
    disk: Option<Bytes>,
    /// The node's connection ids -> simulated connections.
    conns: SmallMap<ConnId, u64>,
    wake_at: Option<u64>,
    /// The node's clock minus the simulated time (ms).
    skew: i64,
    /// Output-buffer reports waiting to be fed (connection, unsent bytes).
    cob_reports: Vec<(ConnId, u64)>,
}

impl SimNode {
    fn new(config: Config, skew: i64) -> SimNode {
        SimNode {
            node: None,
            inc: 0,
            config,
            disk: None,
            conns: SmallMap::new(),
            wake_at: None,
            skew,
            cob_reports: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct Client {
    /// Writes go to the master; a reader stays on one replica.
    writer: bool,
    node: NodeId,
    conn: Option<u64>,
    buf: Vec<u8>,
    awaiting: usize,
    first_cmd: String,
    /// A playground console: never driven by the workload; replies go to the tap.
    console: bool,
    /// Replies still expected for a `SET wait:..` + `WAIT` batch (S7), as
    /// the node sends them.
    wait_frames: usize,
    wait_buf: Vec<u8>,
}

impl Client {
    fn new(writer: bool, node: NodeId) -> Client {
        Client {
            writer,
            node,
            conn: None,
            buf: Vec::new(),
            awaiting: 0,
            first_cmd: String::new(),
            console: false,
            wait_frames: 0,
            wait_buf: Vec::new(),
        }
    }
}

#[derive(Debug)]
enum Ev {
    Wake {
        node: NodeId,
        inc: u32,
        at: u64,
    },
    Deliver {
        conn: u64,
        dir: usize,
    },
    Syn {
        conn: u64,
        inc: u32,
    },
    ConnectFailed {
        conn: u64,
        why: &'static str,
    },
    CutSeen {
        conn: u64,
        end: usize,
    },
    Rto {
        conn: u64,
        dir: usize,
    },
    FileWritten {
        node: NodeId,
        inc: u32,
        id: u64,
        data: Bytes,
    },
    ClientWake {
        client: usize,
    },
    Fault(Fault),
    Probe,
}

/// An event waiting in the queue, ordered by `(time, sequence number)`
/// alone (the sequence number is unique, so the order is total).
#[derive(Debug)]
struct Queued {
    at: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The simulator.
pub struct Sim {
    now: u64,
    seq: u64,
    /// Events by `(time, sequence number)`, earliest first (a binary heap,
    /// not a `BTreeMap`: one B-tree type less in the browser's download).
    queue: BinaryHeap<Reverse<Queued>>,
    rng: Rng,
    wl_rng: Rng,
    opts: SimOptions,
    nodes: Vec<SimNode>,
    conns: SmallMap<u64, Conn>,
    next_conn: u64,
    links: SmallMap<(NodeId, NodeId), Link>,
    clients: Vec<Client>,
    workload: Box<dyn Workload>,
    workload_on: bool,
    master: NodeId,
    upstream: Vec<Option<NodeId>>,
    /// The invariant checker.
    pub checker: Checker,
    hash: TraceHash,
    trace: Vec<TraceEntry>,
    steps: u64,
    notes: Vec<String>,
    /// Set by [`Sim::quiesce`]: liveness is checked from then on.
    quiet_since: Option<u64>,
    /// When all replicas were seen in sync after quiescing.
    pub converged_at: Option<u64>,
    /// What the playground observes (bytes delivered, node events), when on.
    tap: Option<Box<playground::Tap>>,
    /// Bumped whenever the master lineage may have lost data (a failover,
    /// the master restarting).
    master_epoch: u64,
}

fn cmd_bytes(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::resp::encode_command(&mut out, args);
    out
}

impl Sim {
    /// A deployment: node 0 the master, the others its replicas, clients
    /// running `workload`, everything fixed by `seed`.
    pub fn new(seed: u64, opts: SimOptions, workload: Box<dyn Workload>) -> Sim {
        let mut root = Rng::new(seed);
        let mut rng = Rng::new(root.next_u64());
        let wl_rng = Rng::new(root.next_u64());
        let mut clock_rng = Rng::new(root.next_u64());
        let mut links = SmallMap::new();
        for a in 0..opts.nodes {
            for b in 0..opts.nodes {
                if a != b {
                    let (lo, hi) = opts.latency;
                    let latency = lo + rng.below(hi.saturating_sub(lo) + 1);
                    links.insert(
                        (a, b),
                        Link {
                            latency,
                            bandwidth: opts.bandwidth.max(1),
                            blocked: false,
                            held: false,
                        },
                    );
                }
            }
        }
        let mut sim = Sim {
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            rng,
            wl_rng,
            nodes: Vec::new(),
            conns: SmallMap::new(),
            next_conn: 1,
            links,
            clients: Vec::new(),
            workload,
            workload_on: true,
            master: 0,
            upstream: (0..opts.nodes)
                .map(|i| if i == 0 { None } else { Some(0) })
                .collect(),
            checker: Checker::new(opts.s3_sample),
            hash: TraceHash::default(),
            trace: Vec::new(),
            steps: 0,
            notes: Vec::new(),
            quiet_since: None,
            converged_at: None,
            tap: None,
            master_epoch: 0,
            opts,
        };
        for i in 0..sim.opts.nodes {
            let mut config = Config {
                port: BASE_PORT + i as u16,
                save: Vec::new(),
                ..Config::default()
            };
            for (k, v) in &sim.opts.config {
                config.set(k, v).expect("valid sim config");
            }
            let skew = match sim.opts.clock_skew_ms {
                0 => 0,
                k => clock_rng.below(2 * k + 1) as i64 - k as i64,
            };
            sim.nodes.push(SimNode::new(config, skew));
            sim.boot(i, false);
        }
        let writers = sim.opts.writers;
        for c in 0..writers + usize::from(sim.opts.nodes > 1) {
            sim.clients
                .push(Client::new(c < writers, if c < writers { 0 } else { 1 }));
            let at = sim.rng.below(20);
            sim.schedule(at, Ev::ClientWake { client: c });
        }
        let notes = std::mem::take(&mut sim.notes);
        sim.record(TraceEntry {
            t: 0,
            seq: 0,
            what: format!(
                "start: seed={seed} nodes={} links={:?}",
                sim.opts.nodes,
                sim.links.values().map(|l| l.latency).collect::<Vec<_>>()
            ),
            notes,
        });
        sim
    }

    // ----- reading -----

    /// Node `n`'s clock now (Unix ms): the simulated time plus its skew.
    pub fn clock(&self, n: NodeId) -> u64 {
        (EPOCH_MS as i64 + self.now as i64 + self.nodes[n].skew).max(0) as u64
    }

    /// Simulated time (ms since the start).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Events processed so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Node `n`, unless it is crashed.
    pub fn node(&self, n: NodeId) -> Option<&Node> {
        self.nodes[n].node.as_ref()
    }

    /// The node the simulator treats as the master.
    pub fn master(&self) -> NodeId {
        self.master
    }

    /// Whom node `n` replicates from, per the simulator's topology.
    pub fn upstream(&self, n: NodeId) -> Option<NodeId> {
        self.upstream[n]
    }

    /// The links, by (from, to).
    pub fn links(&self) -> &SmallMap<(NodeId, NodeId), Link> {
        &self.links
    }

    /// Connections open or in flight.
    pub fn connections(&self) -> &SmallMap<u64, Conn> {
        &self.conns
    }

    /// Hash of the trace so far.
    pub fn trace_hash(&self) -> u64 {
        self.hash.value()
    }

    /// The recorded trace (empty unless [`SimOptions::record`]).
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// Violations found so far.
    pub fn violations(&self) -> &[Violation] {
        &self.checker.violations
    }

    /// Time of the next event, if any.
    pub fn next_event_time(&self) -> Option<u64> {
        self.queue.peek().map(|q| q.0.at)
    }

    // ----- the loop -----

    fn schedule(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at: at.max(self.now),
            seq: self.seq,
            ev,
        }));
    }

    /// Schedule a fault at time `at`.
    pub fn schedule_fault(&mut self, at: u64, f: Fault) {
        self.schedule(at, Ev::Fault(f));
    }

    fn record(&mut self, e: TraceEntry) -> TraceEntry {
        self.hash.add(&e);
        if self.opts.record {
            self.trace.push(e.clone());
        }
        e
    }

    /// Process exactly one event; `None` when nothing is left.
    pub fn step(&mut self) -> Option<TraceEntry> {
        let Reverse(Queued { at: t, seq, ev }) = self.queue.pop()?;
        self.now = t;
        self.steps += 1;
        let what = self.handle(ev);
        let notes = std::mem::take(&mut self.notes);
        Some(self.record(TraceEntry {
            t,
            seq,
            what,
            notes,
        }))
    }

    /// Run every event up to time `t` (inclusive); the clock ends at `t`.
    pub fn run_until(&mut self, t: u64) {
        while self.next_event_time().is_some_and(|n| n <= t) {
            self.step();
        }
        self.now = self.now.max(t);
    }

    fn handle(&mut self, ev: Ev) -> String {
        match ev {
            Ev::Wake { node, inc, at } => {
                let sn = &mut self.nodes[node];
                if sn.inc != inc || sn.wake_at != Some(at) || sn.node.is_none() {
                    return format!("n{node} stale timer");
                }
                sn.wake_at = None;
                self.input(node, Input::Tick);
                format!("n{node} tick")
            }
            Ev::Deliver { conn, dir } => self.deliver(conn, dir),
            Ev::Syn { conn, inc } => self.syn(conn, inc),
            Ev::ConnectFailed { conn, why } => {
                let Some(c) = self.conns.remove(&conn) else {
                    return "dial gone".into();
                };
                if let End::Node {
                    node,
                    conn: cid,
                    inc,
                } = c.ends[0]
                {
                    if self.alive(node, inc) && c.open[0] {
                        self.nodes[node].conns.remove(&cid);
                        self.input(node, Input::ConnectFailed(cid, why.into()));
                        return format!("n{node} connect c{cid} failed: {why}");
                    }
                }
                "dial failed (dialer gone)".into()
            }
            Ev::CutSeen { conn, end } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return "cut (connection gone)".into();
                };
                if !c.open[end] {
                    return "cut (end closed)".into();
                }
                c.open[end] = false;
                let e = c.ends[end];
                let done = !c.open[0] && !c.open[1];
                if done {
                    self.conns.remove(&conn);
                }
                self.end_closed(e, "connection reset")
            }
            Ev::Rto { conn, dir } => {
                let Some(c) = self.conns.get(&conn) else {
                    return "rto (gone)".into();
                };
                let stalled = !c.broken
                    && !c.queue[dir].is_empty()
                    && c.nodes().is_some_and(|(a, b)| {
                        let (f, t) = if dir == 0 { (a, b) } else { (b, a) };
                        self.links.get(&(f, t)).is_some_and(|l| l.blocked)
                    });
                if stalled {
                    self.cut(conn, None);
                    format!("conn {conn}: retransmission timeout, connection broken")
                } else {
                    "rto (flowing)".into()
                }
            }
            Ev::FileWritten {
                node,
                inc,
                id,
                data,
            } => {
                if !self.alive(node, inc) {
                    return format!("n{node} write {id} lost (crashed)");
                }
                let len = data.len();
                self.nodes[node].disk = Some(data);
                self.input(node, Input::FileWritten { id, result: Ok(()) });
                format!("n{node} disk: wrote {len} bytes (write {id})")
            }
            Ev::ClientWake { client } => self.client_wake(client),
            Ev::Fault(f) => self.apply(f),
            Ev::Probe => self.probe(),
        }
    }

    fn alive(&self, n: NodeId, inc: u32) -> bool {
        self.nodes[n].inc == inc && self.nodes[n].node.is_some()
    }

    /// Feed one input to node `n`, route its outputs, check it.
    fn input(&mut self, n: NodeId, input: Input) {
        let now = self.clock(n);
        let psync_view = match &input {
            Input::Received(_, data) if contains(data, b"PSYNC") => self.nodes[n]
                .node
                .as_ref()
                .and_then(|node| Some(PsyncView::of(node, parse_psync(data)?))),
            _ => None,
        };
        let Some(node) = self.nodes[n].node.as_mut() else {
            return;
        };
        node.handle_input(now, input);
        self.drain(n, psync_view.as_ref());
    }

    /// Route one output of node `n`; false if the node stopped.
    fn route(&mut self, n: NodeId, out: Output, psync_view: Option<&PsyncView>) -> bool {
        let inc = self.nodes[n].inc;
        match out {
            Output::Send(c, data) => {
                if let Some(&k) = self.nodes[n].conns.get(&c) {
                    let dir = self.dir_of(k, n);
                    if let Some(i) = self.waiting_client(k) {
                        self.wait_reply(n, i, &data);
                    }
                    self.push(k, dir, Packet::Data(data));
                }
            }
            Output::Close(c) => {
                if let Some(k) = self.nodes[n].conns.remove(&c) {
                    let dir = self.dir_of(k, n);
                    self.discard_unsent(k, dir);
                    self.push(k, dir, Packet::Fin);
                    if let Some(conn) = self.conns.get_mut(&k) {
                        conn.open[dir] = false;
                    }
                }
            }
            Output::Connect { conn, host, port } => self.dial(n, inc, conn, &host, port),
            Output::Shutdown => {
                self.notes.push(format!("n{n}: SHUTDOWN"));
                self.crash_now(n);
                return false;
            }
            Output::WriteFile { id, data, .. } => {
                let at = self.now + 1 + data.len() as u64 / 50_000;
                self.schedule(
                    at,
                    Ev::FileWritten {
                        node: n,
                        inc,
                        id,
                        data,
                    },
                );
            }
            Output::Event(e) => self.event(n, e, psync_view),
            // The file's write, if scheduled, lands before a later one.
            Output::AbandonFile { .. } => {}
        }
        true
    }

    /// Route node `n`'s outputs, arm its timer, run the checker.
    fn drain(&mut self, n: NodeId, psync_view: Option<&PsyncView>) {
        let inc = self.nodes[n].inc;
        loop {
            while let Some(out) = self.nodes[n].node.as_mut().and_then(|x| x.poll_output()) {
                if !self.route(n, out, psync_view) {
                    return;
                }
            }
            if self.nodes[n].cob_reports.is_empty() {
                break;
            }
            let now = self.clock(n);
            let reports = std::mem::take(&mut self.nodes[n].cob_reports);
            let Some(node) = self.nodes[n].node.as_mut() else {
                return;
            };
            for (conn, bytes) in reports {
                node.handle_input(now, Input::OutputPending { conn, bytes });
            }
        }
        let Some(node) = self.nodes[n].node.as_ref() else {
            return;
        };
        let skew = self.nodes[n].skew;
        let deadline =
            (node.next_deadline() as i64 - EPOCH_MS as i64 - skew).max(self.now as i64) as u64;
        if self.nodes[n].wake_at.is_none_or(|w| w != deadline) {
            self.nodes[n].wake_at = Some(deadline);
            self.schedule(
                deadline,
                Ev::Wake {
                    node: n,
                    inc,
                    at: deadline,
                },
            );
        }
        let t = self.now;
        let node = self.nodes[n].node.as_ref().expect("checked above");
        self.checker.observe(t, n, inc, node);
    }

    fn event(&mut self, n: NodeId, e: Event, psync_view: Option<&PsyncView>) {
        if let Some(tap) = self.tap.as_deref_mut() {
            tap.node_event(self.now, n, &e, psync_view);
        }
        match &e {
            Event::Repl(ReplEvent::PsyncDecision {
                replid,
                offset,
                partial,
                ..
            }) => {
                if let Some(v) = psync_view {
                    self.checker
                        .psync(self.now, n, v, replid, *offset, *partial);
                }
            }
            Event::Log { message, .. } if message.starts_with("Full resync from master: ") => {
                let rest = &message["Full resync from master: ".len()..];
                if let Some((id, off)) = rest.rsplit_once(':') {
                    if let Ok(off) = off.parse() {
                        self.checker.full_sync(self.now, n, id, off);
                    }
                }
            }
            Event::Log { message, .. }
                if message.starts_with("Trying a partial resynchronization") =>
            {
                self.checker.psync_asked(n);
            }
            Event::ClientConnected { .. } | Event::ClientClosed { .. } => return,
            Event::Log { level, .. } if *level == "debug" || *level == "verbose" => return,
            _ => {}
        }
        let text = match e {
            Event::Repl(r) => r.to_string(),
            Event::Log { message, .. } => message,
            other => format!("{other:?}"),
        };
        self.notes.push(format!("n{n}: {text}"));
    }

    fn dir_of(&self, k: u64, n: NodeId) -> usize {
        match self.conns.get(&k) {
            Some(c) if matches!(c.ends[1], End::Node { node, .. } if node == n) => {
                // A node dialing itself has both ends; the dialer is end 0.
                if matches!(c.ends[0], End::Node { node, .. } if node == n) {
                    0
                } else {
                    1
                }
            }
            _ => 0,
        }
    }

    /// Put a packet in flight from `ends[dir]`.
    fn push(&mut self, k: u64, dir: usize, p: Packet) {
        let now = self.now;
        let Some(c) = self.conns.get(&k) else {
            return;
        };
        if c.broken || !c.open[dir] {
            return;
        }
        let (lat, bw, stalled) = match c.nodes() {
            Some((a, b)) => {
                let (from, to) = if dir == 0 { (a, b) } else { (b, a) };
                match self.links.get(&(from, to)) {
                    Some(l) => (l.latency, l.bandwidth, l.blocked || l.held),
                    None => (0, u64::MAX, false),
                }
            }
            None => (1, u64::MAX, false),
        };
        let blocked = c.nodes().is_some_and(|(a, b)| {
            let (from, to) = if dir == 0 { (a, b) } else { (b, a) };
            self.links.get(&(from, to)).is_some_and(|l| l.blocked)
        });
        let len = match &p {
            Packet::Data(d) => d.len() as u64,
            _ => 0,
        };
        let c = self.conns.get_mut(&k).expect("checked above");
        let arrival = (now + lat + len / bw).max(c.last_arrival[dir]);
        c.last_arrival[dir] = arrival;
        c.queue[dir].push_back((arrival, p));
        c.queued[dir] += len;
        self.report_unsent(k, dir, true);
        if !stalled {
            self.schedule(arrival, Ev::Deliver { conn: k, dir });
        } else if blocked {
            self.schedule(now + RTO_MS, Ev::Rto { conn: k, dir });
        }
    }

    fn deliver(&mut self, k: u64, dir: usize) -> String {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&k) else {
            return "deliver (connection gone)".into();
        };
        let paused = c.nodes().is_some_and(|(a, b)| {
            let (from, to) = if dir == 0 { (a, b) } else { (b, a) };
            self.links
                .get(&(from, to))
                .is_some_and(|l| l.blocked || l.held)
        });
        let c = self.conns.get_mut(&k).expect("present");
        if paused || c.queue[dir].front().is_none_or(|(at, _)| *at > now) {
            return "deliver (nothing due)".into();
        }
        let (_, p) = c.queue[dir].pop_front().expect("front checked");
        if let Packet::Data(d) = &p {
            c.queued[dir] -= d.len() as u64;
        }
        self.report_unsent(k, dir, false);
        let Some(c) = self.conns.get_mut(&k) else {
            return "deliver (sender closed)".into();
        };
        let to = 1 - dir;
        let end = c.ends[to];
        let from = c.ends[dir];
        if !c.open[to] {
            return "deliver (receiver closed)".into();
        }
        let who = |e: End| match e {
            End::Node { node, conn, .. } => format!("n{node}/c{conn}"),
            End::Client(i) => format!("client{i}"),
            End::Dialing { node } => format!("n{node}/?"),
        };
        let label = format!("{} -> {}", who(from), who(end));
        match p {
            Packet::SynAck => {
                if let End::Node { node, conn, inc } = end {
                    if self.alive(node, inc) {
                        self.input(node, Input::Connected(conn));
                    }
                }
                format!("{label}: connected")
            }
            Packet::Fin => {
                c.open[to] = false;
                if !c.open[0] && !c.open[1] {
                    self.conns.remove(&k);
                }
                let r = self.end_closed(end, "closed by peer");
                format!("{label}: FIN; {r}")
            }
            Packet::Data(data) => {
                let len = data.len();
                if let Some(tap) = self.tap.as_deref_mut() {
                    tap.delivered(now, k, dir, from, end, &data);
                }
                match end {
                    End::Node { node, conn, inc } => {
                        if self.alive(node, inc) {
                            self.input(node, Input::Received(conn, data));
                        }
                    }
                    End::Client(i) => self.client_bytes(i, &data),
                    End::Dialing { .. } => {}
                }
                format!("{label}: {len} bytes")
            }
        }
    }

    /// A close drops what the sender still held (beyond the TCP window):
    /// the kernel delivers what it had taken, the process's output buffer
    /// goes with the connection (Redis's `freeClient`).
    fn discard_unsent(&mut self, k: u64, dir: usize) {
        let Some(c) = self.conns.get_mut(&k) else {
            return;
        };
        if c.queued[dir] <= TCP_WINDOW {
            return;
        }
        let mut room = TCP_WINDOW;
        let mut kept = std::collections::VecDeque::new();
        for (at, p) in c.queue[dir].drain(..) {
            match p {
                Packet::Data(d) if room == 0 => drop(d),
                Packet::Data(d) if (d.len() as u64) > room => {
                    kept.push_back((at, Packet::Data(d.slice(..room as usize))));
                    room = 0;
                }
                Packet::Data(d) => {
                    room -= d.len() as u64;
                    kept.push_back((at, Packet::Data(d)));
                }
                other => kept.push_back((at, other)),
            }
        }
        c.queue[dir] = kept;
        c.queued[dir] = TCP_WINDOW - room;
    }

    /// Tell the node at `ends[dir]` how many of its bytes wait beyond the
    /// TCP window, when that changed (queued for its drain if `draining`).
    fn report_unsent(&mut self, k: u64, dir: usize, draining: bool) {
        let Some(c) = self.conns.get_mut(&k) else {
            return;
        };
        let unsent = c.queued[dir].saturating_sub(TCP_WINDOW);
        if unsent == c.reported[dir] {
            return;
        }
        c.reported[dir] = unsent;
        let End::Node { node, conn, inc } = c.ends[dir] else {
            return;
        };
        if !self.alive(node, inc) {
            return;
        }
        if draining {
            self.nodes[node].cob_reports.push((conn, unsent));
        } else {
            self.input(
                node,
                Input::OutputPending {
                    conn,
                    bytes: unsent,
                },
            );
        }
    }

    /// An end learned its connection is gone.
    fn end_closed(&mut self, e: End, why: &str) -> String {
        match e {
            End::Node { node, conn, inc } => {
                if self.alive(node, inc) && self.nodes[node].conns.remove(&conn).is_some() {
                    self.input(node, Input::Closed(conn));
                }
                format!("n{node}/c{conn} sees close ({why})")
            }
            End::Client(i) => {
                self.clients[i].wait_frames = 0;
                self.checker.wait_dropped(i);
                self.clients[i].conn = None;
                self.clients[i].awaiting = 0;
                self.clients[i].buf.clear();
                let at = self.now + 100;
                self.schedule(at, Ev::ClientWake { client: i });
                format!("client{i} sees close ({why})")
            }
            End::Dialing { .. } => String::new(),
        }
    }

    fn dial(&mut self, n: NodeId, inc: u32, cid: ConnId, host: &str, port: u16) {
        let k = self.next_conn;
        self.next_conn += 1;
        let target = (host == HOST)
            .then(|| port.checked_sub(BASE_PORT))
            .flatten()
            .map(|p| p as usize)
            .filter(|&t| t < self.nodes.len());
        let a = End::Node {
            node: n,
            conn: cid,
            inc,
        };
        self.nodes[n].conns.insert(cid, k);
        let Some(t) = target else {
            self.conns.insert(k, Conn::new(a, End::Dialing { node: n }));
            let at = self.now + 1;
            self.schedule(
                at,
                Ev::ConnectFailed {
                    conn: k,
                    why: "Name or service not known",
                },
            );
            return;
        };
        self.conns.insert(k, Conn::new(a, End::Dialing { node: t }));
        let lat = self.links.get(&(n, t)).map_or(0, |l| l.latency);
        let blocked = self.links.get(&(n, t)).is_some_and(|l| l.blocked)
            || self.links.get(&(t, n)).is_some_and(|l| l.blocked);
        if blocked {
            let at = self.now + 1000;
            self.schedule(
                at,
                Ev::ConnectFailed {
                    conn: k,
                    why: "Connection timed out",
                },
            );
        } else {
            let tinc = self.nodes[t].inc;
            let at = self.now + lat;
            self.schedule(at, Ev::Syn { conn: k, inc: tinc });
        }
    }

    fn syn(&mut self, k: u64, tinc: u32) -> String {
        let Some(c) = self.conns.get(&k) else {
            return "syn (dial gone)".into();
        };
        let (End::Node { node: n, .. }, End::Dialing { node: t }) = (c.ends[0], c.ends[1]) else {
            return "syn (bad)".into();
        };
        let back = self.links.get(&(t, n)).map_or(0, |l| l.latency);
        let blocked = self.links.get(&(n, t)).is_some_and(|l| l.blocked)
            || self.links.get(&(t, n)).is_some_and(|l| l.blocked);
        if !c.open[0] {
            self.conns.remove(&k);
            return format!("syn to n{t}: dialer gave up");
        }
        if !self.alive(t, tinc) || blocked {
            let at = self.now + back;
            self.schedule(
                at,
                Ev::ConnectFailed {
                    conn: k,
                    why: "Connection refused",
                },
            );
            return format!("syn to n{t}: refused");
        }
        let port = BASE_PORT + n as u16;
        let now = self.clock(t);
        let node = self.nodes[t].node.as_mut().expect("alive");
        let cid = node.accept(now, format!("{HOST}-{n}:{port}"));
        self.nodes[t].conns.insert(cid, k);
        let c = self.conns.get_mut(&k).expect("present");
        c.ends[1] = End::Node {
            node: t,
            conn: cid,
            inc: tinc,
        };
        self.push(k, 1, Packet::SynAck);
        self.drain(t, None);
        format!("n{t} accepts c{cid} from n{n}")
    }

    /// Break a connection: drop what is in flight; each open end (except
    /// `silent`, a crashed one) learns of it after its own delay.
    fn cut(&mut self, k: u64, silent: Option<NodeId>) {
        let Some(c) = self.conns.get_mut(&k) else {
            return;
        };
        c.broken = true;
        c.queue[0].clear();
        c.queue[1].clear();
        c.queued = [0, 0];
        for end in 0..2 {
            if !c.open[end] {
                continue;
            }
            if c.ends[end].node().is_some() && c.ends[end].node() == silent {
                c.open[end] = false;
                continue;
            }
            if matches!(c.ends[end], End::Dialing { .. }) {
                c.open[end] = false;
                continue;
            }
            let at = self.now + self.rng.below(1500);
            self.seq += 1;
            self.queue.push(Reverse(Queued {
                at,
                seq: self.seq,
                ev: Ev::CutSeen { conn: k, end },
            }));
        }
        let c = self.conns.get(&k).expect("present");
        if !c.open[0] && !c.open[1] {
            self.conns.remove(&k);
        }
    }

    fn conns_between(&self, a: NodeId, b: NodeId) -> Vec<u64> {
        self.conns
            .iter()
            .filter(|(_, c)| {
                c.nodes()
                    .is_some_and(|(x, y)| (x == a && y == b) || (x == b && y == a))
            })
            .map(|(k, _)| *k)
            .collect()
    }

    /// Re-time what waits on links a->b after a repair or release.
    fn retime(&mut self, a: NodeId, b: NodeId) {
        let lat = self.links.get(&(a, b)).map_or(0, |l| l.latency);
        let now = self.now;
        let mut wakes = Vec::new();
        for k in self.conns_between(a, b) {
            let c = self.conns.get_mut(&k).expect("listed");
            let dir = if c.ends[0].node() == Some(a) { 0 } else { 1 };
            let mut t = now + lat;
            for (at, _) in c.queue[dir].iter_mut() {
                t = t.max(*at);
                *at = t;
                wakes.push((t, k, dir));
            }
            c.last_arrival[dir] = c.last_arrival[dir].max(t);
        }
        for (t, k, dir) in wakes {
            self.schedule(t, Ev::Deliver { conn: k, dir });
        }
    }

    // ----- nodes -----

    fn boot(&mut self, n: NodeId, from_disk: bool) {
        let seed = self.rng.next_u64();
        let now = self.clock(n);
        let sn = &mut self.nodes[n];
        let mut config = sn.config.clone();
        config.replicaof = self.upstream[n].map(|u| (HOST.to_string(), BASE_PORT + u as u16));
        let node = Node::new(config, seed, now);
        #[cfg(feature = "planted-bugs")]
        let node = {
            let mut node = node;
            node.plant(self.opts.planted);
            node
        };
        sn.node = Some(node);
        sn.wake_at = None;
        if from_disk {
            if let Some(data) = sn.disk.clone() {
                let node = sn.node.as_mut().expect("just made");
                node.handle_input(now, Input::LoadChunk(data));
                node.handle_input(now, Input::LoadDone);
            }
        }
        self.drain(n, None);
        if n == self.master {
            self.master_epoch += 1;
            if let Some(node) = self.nodes[n].node.as_ref() {
                self.checker.master_changed(n, node, "a restart");
            }
        }
    }

    fn crash_now(&mut self, n: NodeId) {
        let sn = &mut self.nodes[n];
        sn.node = None;
        sn.inc += 1;
        sn.wake_at = None;
        let conns: Vec<u64> = std::mem::take(&mut sn.conns).into_values().collect();
        for k in conns {
            self.cut(k, Some(n));
        }
    }

    /// Send a command to node `n` as an operator would, now; returns the reply.
    pub fn admin(&mut self, n: NodeId, args: &[&str]) -> Option<String> {
        let now = self.clock(n);
        let node = self.nodes[n].node.as_mut()?;
        let cid = node.accept(now, format!("{HOST}-admin:0"));
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        node.handle_input(now, Input::Received(cid, cmd_bytes(&args).into()));
        // Take the reply, leave the rest for routing.
        let mut reply = Vec::new();
        let mut rest = Vec::new();
        while let Some(o) = node.poll_output() {
            match o {
                Output::Send(c, b) if c == cid => reply.extend_from_slice(&b),
                Output::Close(c) if c == cid => {}
                o => rest.push(o),
            }
        }
        node.handle_input(now, Input::Closed(cid));
        while let Some(o) = node.poll_output() {
            rest.push(o);
        }
        // Put the outputs back in order through a tiny replay.
        self.route_outputs(n, rest);
        Some(String::from_utf8_lossy(&reply).trim_end().to_string())
    }

    fn route_outputs(&mut self, n: NodeId, outs: Vec<Output>) {
        for out in outs {
            if !self.route(n, out, None) {
                return;
            }
        }
        self.drain(n, None);
    }

    // ----- clients -----

    fn client_wake(&mut self, i: usize) -> String {
        if self.clients[i].console {
            return format!("console{i} idle");
        }
        if !self.workload_on {
            return format!("client{i} idle");
        }
        if self.clients[i].writer {
            self.clients[i].node = self.master;
        }
        let n = self.clients[i].node;
        if self.clients[i].conn.is_none() && !self.connect_client(i) {
            let at = self.now + 200;
            self.schedule(at, Ev::ClientWake { client: i });
            return format!("client{i}: n{n} is down");
        }
        if self.clients[i].awaiting > 0 {
            return format!("client{i} waiting");
        }
        let writer = self.clients[i].writer;
        let batch = self.workload.next_batch(&mut self.wl_rng, writer);
        if batch.is_empty() {
            let at = self.now + 10;
            self.schedule(at, Ev::ClientWake { client: i });
            return format!("client{i} nothing to do");
        }
        let mut bytes = Vec::new();
        for c in &batch {
            crate::resp::encode_command(&mut bytes, c);
        }
        let text = batch
            .iter()
            .map(|c| {
                c.iter()
                    .map(|a| {
                        let s = String::from_utf8_lossy(a);
                        if s.len() > 12 {
                            format!("{}..({})", &s[..8], s.len())
                        } else {
                            s.into_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("; ");
        if let [set, wait] = &batch[..] {
            if set.len() == 3
                && set[0] == b"SET"
                && set[1].starts_with(b"wait:")
                && wait.first().is_some_and(|w| w == b"WAIT")
            {
                let epoch = self.master_epoch;
                self.checker.wait_sent(i, &set[1], &set[2], n, epoch);
                self.clients[i].wait_frames = 2;
                self.clients[i].wait_buf.clear();
            }
        }
        let cl = &mut self.clients[i];
        cl.awaiting = batch.len();
        cl.first_cmd = text.clone();
        let k = cl.conn.expect("connected above");
        self.push(k, 0, Packet::Data(bytes.into()));
        format!("client{i} -> n{n}: {text}")
    }

    /// Connect client `i` to its node; false if the node is down.
    fn connect_client(&mut self, i: usize) -> bool {
        let n = self.clients[i].node;
        let inc = self.nodes[n].inc;
        let now = self.clock(n);
        let Some(node) = self.nodes[n].node.as_mut() else {
            return false;
        };
        let cid = node.accept(now, format!("{HOST}-client{i}:1"));
        let k = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(
            k,
            Conn::new(
                End::Client(i),
                End::Node {
                    node: n,
                    conn: cid,
                    inc,
                },
            ),
        );
        self.nodes[n].conns.insert(cid, k);
        self.clients[i].conn = Some(k);
        self.drain(n, None);
        true
    }

    fn client_bytes(&mut self, i: usize, data: &[u8]) {
        if self.clients[i].console {
            return self.console_bytes(i, data);
        }
        let cl = &mut self.clients[i];
        cl.buf.extend_from_slice(data);
        let mut replies = Vec::new();
        while cl.awaiting > 0 {
            let Some(len) = workload::reply_len(&cl.buf) else {
                break;
            };
            let r: Vec<u8> = cl.buf.drain(..len).collect();
            cl.awaiting -= 1;
            replies.push(r);
        }
        for r in &replies {
            let s = String::from_utf8_lossy(r).replace("\r\n", " ");
            let s = if s.len() > 60 {
                format!("{}..", &s[..60])
            } else {
                s
            };
            self.notes.push(format!("client{i} <- {}", s.trim_end()));
        }
        if self.clients[i].awaiting == 0 && !replies.is_empty() {
            let (lo, hi) = self.opts.think;
            let at = self.now + lo + self.wl_rng.below(hi.saturating_sub(lo) + 1);
            self.schedule(at, Ev::ClientWake { client: i });
        }
    }

    /// The client on connection `k` whose `SET wait:..` + `WAIT` replies are awaited.
    fn waiting_client(&self, k: u64) -> Option<usize> {
        match self.conns.get(&k)?.ends[0] {
            End::Client(i) if self.clients[i].wait_frames > 0 => Some(i),
            _ => None,
        }
    }

    /// Bytes node `n` sends to client `i` while its WAIT is tracked: the
    /// first reply must be `+OK` (the SET), the second the WAIT's count. A
    /// SET run by a master without a backlog is not in any stream (the
    /// offset does not move, so WAIT's target is an older offset and Redis
    /// promises nothing about this write): such a WAIT is not checked.
    fn wait_reply(&mut self, n: NodeId, i: usize, data: &[u8]) {
        self.clients[i].wait_buf.extend_from_slice(data);
        while self.clients[i].wait_frames > 0 {
            let cl = &mut self.clients[i];
            let Some(len) = workload::reply_len(&cl.wait_buf) else {
                return;
            };
            let frame: Vec<u8> = cl.wait_buf.drain(..len).collect();
            cl.wait_frames -= 1;
            if cl.wait_frames == 1 {
                let streamed = self.nodes[n]
                    .node
                    .as_ref()
                    .is_some_and(|x| x.repl().backlog.is_some());
                let cl = &mut self.clients[i];
                if !frame.starts_with(b"+") || !streamed {
                    cl.wait_frames = 0;
                    self.checker.wait_dropped(i);
                }
                continue;
            }
            let count = std::str::from_utf8(&frame[1..])
                .ok()
                .and_then(|x| x.trim_end().parse::<i64>().ok());
            match count {
                Some(c) if frame[0] == b':' => {
                    let m = self.master;
                    let (t, epoch) = (self.now, self.master_epoch);
                    let master = self.nodes[m].node.as_ref().map(|node| (m, node));
                    self.checker.wait_answered(t, i, c, master, epoch);
                }
                _ => self.checker.wait_dropped(i),
            }
        }
    }

    /// Close every writer's connection (they reconnect to the current master).
    fn reconnect_writers(&mut self) {
        for i in 0..self.clients.len() {
            if !self.clients[i].writer {
                continue;
            }
            if let Some(k) = self.clients[i].conn.take() {
                self.clients[i].wait_frames = 0;
                self.checker.wait_dropped(i);
                self.push(k, 0, Packet::Fin);
                if let Some(c) = self.conns.get_mut(&k) {
                    c.open[0] = false;
                }
                self.clients[i].awaiting = 0;
                self.clients[i].buf.clear();
                let at = self.now + 50;
                self.schedule(at, Ev::ClientWake { client: i });
            }
        }
    }

    // ----- verbs -----

    /// Crash node `n`: its volatile state is lost; its disk stays.
    pub fn crash(&mut self, n: NodeId) {
        self.crash_now(n);
    }

    /// Start node `n` again (crashing it first if up), from its disk or wiped.
    pub fn restart(&mut self, n: NodeId, keep_disk: bool) {
        if self.nodes[n].node.is_some() {
            self.crash_now(n);
        }
        if !keep_disk {
            self.nodes[n].disk = None;
        }
        self.boot(n, keep_disk);
    }

    /// Crash and restart from disk at once.
    pub fn bounce(&mut self, n: NodeId) {
        self.restart(n, true);
    }

    /// Cut `a` from `b` both ways: open connections break, new ones fail.
    pub fn partition(&mut self, a: NodeId, b: NodeId) {
        for (x, y) in [(a, b), (b, a)] {
            if let Some(l) = self.links.get_mut(&(x, y)) {
                l.blocked = true;
            }
        }
        for k in self.conns_between(a, b) {
            self.cut(k, None);
        }
    }

    /// Drop everything from `a` to `b`: connections stall that way (and
    /// break after an RTO if bytes wait), new ones fail.
    pub fn partition_oneway(&mut self, a: NodeId, b: NodeId) {
        if let Some(l) = self.links.get_mut(&(a, b)) {
            l.blocked = true;
        }
        for k in self.conns_between(a, b) {
            let c = &self.conns[&k];
            let dir = if c.ends[0].node() == Some(a) { 0 } else { 1 };
            if !c.queue[dir].is_empty() {
                let at = self.now + RTO_MS;
                self.schedule(at, Ev::Rto { conn: k, dir });
            }
        }
    }

    /// Heal `a` <-> `b` both ways.
    pub fn repair(&mut self, a: NodeId, b: NodeId) {
        self.repair_oneway(a, b);
        self.repair_oneway(b, a);
    }

    /// Heal `a` -> `b`.
    pub fn repair_oneway(&mut self, a: NodeId, b: NodeId) {
        if let Some(l) = self.links.get_mut(&(a, b)) {
            l.blocked = false;
        }
        self.retime(a, b);
    }

    /// Hold what travels between `a` and `b` (both ways) until [`Sim::release`].
    pub fn hold(&mut self, a: NodeId, b: NodeId) {
        for (x, y) in [(a, b), (b, a)] {
            if let Some(l) = self.links.get_mut(&(x, y)) {
                l.held = true;
            }
        }
    }

    /// Deliver what was held between `a` and `b`.
    pub fn release(&mut self, a: NodeId, b: NodeId) {
        for (x, y) in [(a, b), (b, a)] {
            if let Some(l) = self.links.get_mut(&(x, y)) {
                l.held = false;
            }
            self.retime(x, y);
        }
    }

    /// Set the latency of `a` <-> `b` (a spike, or back to normal).
    pub fn set_link_latency(&mut self, a: NodeId, b: NodeId, ms: u64) {
        for (x, y) in [(a, b), (b, a)] {
            if let Some(l) = self.links.get_mut(&(x, y)) {
                l.latency = ms;
            }
        }
    }

    /// Set the bandwidth of `a` -> `b` (bytes per ms): a slow reader at `b`
    /// backs up `a`'s output buffer. 0 stalls the reader: nothing is
    /// delivered (and the connection stays up, as TCP's zero window keeps
    /// it) until the bandwidth is set again.
    pub fn set_link_bandwidth(&mut self, a: NodeId, b: NodeId, bytes_per_ms: u64) {
        let Some(l) = self.links.get_mut(&(a, b)) else {
            return;
        };
        let was_held = l.held;
        l.bandwidth = bytes_per_ms.max(1);
        l.held = bytes_per_ms == 0;
        if was_held && !l.held {
            self.retime(a, b);
        }
    }

    /// Move node `n`'s clock by `ms` (forwards or backwards). The core never
    /// sees its time go back (it keeps the latest `now`), so a backward jump
    /// freezes its clock until the simulated time catches up.
    pub fn jump_clock(&mut self, n: NodeId, ms: i64) {
        self.nodes[n].skew += ms;
        if self.nodes[n].node.is_some() {
            // Re-arm its timer on the new clock.
            self.nodes[n].wake_at = None;
            self.drain(n, None);
        }
    }

    /// `REPLICAOF NO ONE` on replica `n` without a failover: it becomes a
    /// master of its own (a new history) until [`Sim::reattach`].
    pub fn detach(&mut self, n: NodeId) {
        self.upstream[n] = None;
        self.admin(n, &["REPLICAOF", "NO", "ONE"]);
    }

    /// Point a detached node back at the master.
    pub fn reattach(&mut self, n: NodeId) {
        let m = self.master;
        self.replicaof(n, m);
    }

    /// Promote `n` (`REPLICAOF NO ONE`) and point every other node at it.
    pub fn failover(&mut self, n: NodeId) {
        self.admin(n, &["REPLICAOF", "NO", "ONE"]);
        self.upstream[n] = None;
        self.master = n;
        self.master_epoch += 1;
        if let Some(node) = self.nodes[n].node.as_ref() {
            self.checker.master_changed(n, node, "a failover");
        }
        let port = (BASE_PORT + n as u16).to_string();
        for o in 0..self.nodes.len() {
            if o != n {
                self.upstream[o] = Some(n);
                self.admin(o, &["REPLICAOF", HOST, &port]);
            }
        }
        self.reconnect_writers();
    }

    /// `REPLICAOF` node `n` to `target` (the master or a replica: chaining).
    pub fn replicaof(&mut self, n: NodeId, target: NodeId) {
        self.upstream[n] = Some(target);
        let port = (BASE_PORT + target as u16).to_string();
        self.admin(n, &["REPLICAOF", HOST, &port]);
    }

    /// `CONFIG SET name value` on `n` now, and for its future restarts.
    pub fn config_set(&mut self, n: NodeId, name: &str, value: &str) {
        let _ = self.nodes[n].config.set(name, value);
        self.admin(n, &["CONFIG", "SET", name, value]);
    }

    /// `BGSAVE` on `n`.
    pub fn save(&mut self, n: NodeId) {
        self.admin(n, &["BGSAVE"]);
    }

    /// Stop the faults: heal every link, restart crashed nodes from disk,
    /// stop the clients, and from now on check liveness.
    pub fn quiesce(&mut self) {
        let keys: Vec<(NodeId, NodeId)> = self.links.keys().copied().collect();
        for (a, b) in keys {
            let l = self.links.get_mut(&(a, b)).expect("listed");
            let was = l.blocked || l.held;
            l.blocked = false;
            l.held = false;
            l.bandwidth = self.opts.bandwidth.max(1);
            if l.latency > 50 {
                l.latency = 5;
            }
            if was {
                self.retime(a, b);
            }
        }
        for n in 0..self.nodes.len() {
            if self.nodes[n].node.is_none() {
                self.boot(n, true);
            }
            if n != self.master && self.upstream[n].is_none() {
                self.reattach(n);
            }
        }
        self.workload_on = false;
        self.quiet_since = Some(self.now);
        // How many links separate each node from the master: a full sync
        // anywhere up its chain may cascade down to it (L2).
        let depths = (0..self.nodes.len())
            .map(|n| {
                let mut d = 0;
                let mut at = n;
                while let Some(up) = self.upstream[at] {
                    d += 1;
                    at = up;
                    if d as usize > self.nodes.len() {
                        break;
                    }
                }
                d
            })
            .collect();
        self.checker.faults_stopped(depths);
        let at = self.now + 250;
        self.schedule(at, Ev::Probe);
    }

    /// Whether every replica is linked up and equal to the master; `Err` says who is not.
    pub fn in_sync(&self) -> Result<(), String> {
        let m = self.master;
        let Some(master) = self.nodes[m].node.as_ref() else {
            return Err(format!("master n{m} is down"));
        };
        if master.is_replica() {
            return Err(format!("master n{m} is a replica"));
        }
        let mid = &master.repl().identity;
        let mdigest = master.digest();
        for (n, sn) in self.nodes.iter().enumerate() {
            if n == m {
                continue;
            }
            let Some(node) = sn.node.as_ref() else {
                return Err(format!("n{n} is down"));
            };
            let Some(side) = node.repl().replica.as_ref() else {
                return Err(format!("n{n} is not a replica"));
            };
            if !side.link_up() {
                return Err(format!("n{n}: link is {}", side.role_state()));
            }
            let id = &node.repl().identity;
            if id.replid != mid.replid || id.master_repl_offset != mid.master_repl_offset {
                return Err(format!(
                    "n{n} at {}:{} vs master {}:{}",
                    id.replid, id.master_repl_offset, mid.replid, mid.master_repl_offset
                ));
            }
            if node.digest() != mdigest {
                return Err(format!(
                    "n{n} digest {} vs master {mdigest} at the same offset",
                    node.digest()
                ));
            }
        }
        Ok(())
    }

    fn probe(&mut self) -> String {
        match self.in_sync() {
            Ok(()) => {
                self.converged_at = Some(self.now);
                let m = self.master;
                if let Some(node) = self.nodes[m].node.as_ref() {
                    self.checker.final_check(self.now, m, node);
                }
                "probe: all replicas in sync".into()
            }
            Err(why) => {
                let at = self.now + 250;
                self.schedule(at, Ev::Probe);
                format!("probe: {why}")
            }
        }
    }

    /// Whether liveness has been reached (after [`Sim::quiesce`]).
    pub fn converged(&self) -> bool {
        self.converged_at.is_some()
    }

    /// Record a liveness failure (the run gave up waiting).
    pub fn fail_liveness(&mut self, bound_ms: u64) {
        let why = self.in_sync().err().unwrap_or_default();
        let t = self.now;
        self.checker.report(
            "L1",
            t,
            format!("not in sync {bound_ms}ms after faults stopped: {why}"),
        );
    }

    /// Apply one fault now; returns the trace line.
    pub fn apply(&mut self, f: Fault) -> String {
        let line = f.to_string();
        match f {
            Fault::Crash(n) => self.crash(n),
            Fault::Restart(n, keep) => self.restart(n, keep),
            Fault::Bounce(n) => self.bounce(n),
            Fault::Partition(a, b) => self.partition(a, b),
            Fault::PartitionOneway(a, b) => self.partition_oneway(a, b),
            Fault::Repair(a, b) => self.repair(a, b),
            Fault::RepairOneway(a, b) => self.repair_oneway(a, b),
            Fault::Hold(a, b) => self.hold(a, b),
            Fault::Release(a, b) => self.release(a, b),
            Fault::Latency(a, b, ms) => self.set_link_latency(a, b, ms),
            Fault::Bandwidth(a, b, bw) => self.set_link_bandwidth(a, b, bw),
            Fault::ClockJump(n, ms) => self.jump_clock(n, ms),
            Fault::Detach(n) => {
                if n == self.master
                    || self.nodes[n].node.is_none()
                    || self.upstream[n] != Some(self.master)
                    || self.upstream.contains(&Some(n))
                {
                    return format!("{line} (skipped)");
                }
                self.detach(n)
            }
            Fault::Reattach(n) => {
                if n == self.master || self.upstream[n].is_some() {
                    return format!("{line} (skipped)");
                }
                self.reattach(n)
            }
            Fault::Failover(n) => {
                if self.nodes[n].node.is_none() || n == self.master {
                    return format!("{line} (skipped)");
                }
                self.failover(n)
            }
            Fault::ReplicaOf(n, t) => {
                let chain_ok = t == self.master
                    || (self.upstream[t] == Some(self.master) && !self.upstream.contains(&Some(n)));
                if n == self.master || n == t || !chain_ok || self.nodes[n].node.is_none() {
                    return format!("{line} (skipped)");
                }
                self.replicaof(n, t)
            }
            Fault::ConfigSet(n, name, value) => self.config_set(n, name, &value),
            Fault::Save(n) => self.save(n),
            Fault::Quiesce => self.quiesce(),
        }
        format!("fault: {line}")
    }
}

/// The `(replid, offset)` of the `PSYNC` command in `data`, read by the
/// simulator itself (not taken from the node's report).
fn parse_psync(data: &[u8]) -> Option<(String, i64)> {
    let parts: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    let at = parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case(b"PSYNC"))?;
    let id = String::from_utf8(parts.get(at + 2)?.to_vec()).ok()?;
    let offset = std::str::from_utf8(parts.get(at + 4)?).ok()?.parse().ok()?;
    Some((id, offset))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
