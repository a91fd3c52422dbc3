//! The playground: the simulator as the browser drives it.
//!
//! A [`Playground`] is a [`Sim`] started from a seed and a scenario preset
//! ([`scenario`]), plus what a person needs to watch and poke it:
//!
//! * stepping one event at a time or for a span of simulated time, with the
//!   preset's scripted actions applied when the clock reaches them;
//! * [`Action`]s typed as text (crash, restart, cut a link, promote, ...)
//!   and a console per node ([`Playground::command`]) whose lines travel to
//!   the node as a client's would and whose replies are printed like
//!   `redis-cli` prints them (a write on a replica gets the core's own
//!   `-READONLY`);
//! * an action log: every action is recorded with the step count and clock
//!   at which it was applied, so [`Playground::export`] /
//!   [`Playground::import`] replay a run exactly (same trace hash, same
//!   snapshot);
//! * a [`view::Snapshot`] of every node as the core reports it, the links,
//!   the messages in flight labelled by what their bytes carry ([`wire`]),
//!   the PSYNC decision cards built from the core's own
//!   `ReplEvent::PsyncDecision` (its verdict and reason text), and an event
//!   log with the raw RESP bytes beside their meaning.
//!
//! Nothing here decides anything about replication: the nodes are the real
//! core, and the views only read them.

pub mod action;
pub mod cli;
pub mod scenario;
pub mod view;
pub mod wire;

pub use action::Action;
pub use scenario::{Scenario, SCENARIOS};
pub use view::{Decision, EventPage, EventView, PsyncNow, Snapshot};

use std::collections::VecDeque;

use super::{
    Client, End, Link, NodeId, Packet, PsyncView, Sim, SimNode, SimOptions, TraceEntry, Workload,
    BASE_PORT, HOST,
};
use crate::config::Config;
use crate::node::Event;
use crate::repl::ReplEvent;
use crate::rng::Rng;
use crate::small_map::SmallMap;
use bytes::Bytes;
use wire::Reader;

/// Events kept in the log (older ones are dropped; cursors stay valid).
pub const EVENT_LOG_CAP: usize = 20_000;
/// Events returned by one [`Playground::events_since`] call at most.
pub const EVENTS_PER_PAGE: usize = 2_000;
/// Decision cards kept.
pub const DECISIONS_CAP: usize = 200;
/// A console waits this long (simulated ms) for a reply before giving up.
pub const CONSOLE_WAIT_MS: u64 = 10_000;
/// [`Playground::run_for`] stops after this many events in one call.
pub const RUN_FOR_MAX_STEPS: u64 = 200_000;

/// What the playground observes inside the simulator (fed by hooks in
/// [`Sim`]'s delivery and event paths).
#[derive(Debug, Default)]
pub struct Tap {
    events: VecDeque<EventView>,
    /// Index of `events[0]`.
    first: u64,
    /// The last this many events have no step count yet (see [`Tap::stamp`]).
    unstamped: usize,
    decisions: VecDeque<Decision>,
    /// Reading state per `(connection, direction)`, after what was delivered.
    readers: SmallMap<(u64, usize), Reader>,
    /// RDB bytes received / total per receiving node, for the last transfer.
    rdb_progress: SmallMap<NodeId, (u64, Option<u64>)>,
    /// Size of the last snapshot each master announced.
    rdb_sizes: SmallMap<NodeId, u64>,
    /// Reply bytes per console client.
    console: SmallMap<usize, Vec<u8>>,
}

fn who(e: End) -> String {
    match e {
        End::Node { node, .. } | End::Dialing { node } => format!("n{node}"),
        End::Client(i) => format!("client{i}"),
    }
}

impl Tap {
    fn push(&mut self, mut e: EventView) {
        e.i = self.first + self.events.len() as u64;
        self.events.push_back(e);
        self.unstamped += 1;
        if self.events.len() > EVENT_LOG_CAP {
            self.events.pop_front();
            self.first += 1;
        }
    }

    /// Give the events logged since the last call the step count `step`
    /// (the playground calls this after every step and action).
    fn stamp(&mut self, step: u64) {
        let n = self.unstamped.min(self.events.len());
        for e in self.events.iter_mut().rev().take(n) {
            e.step = step;
        }
        self.unstamped = 0;
    }

    fn event(&mut self, t: u64, kind: &'static str, node: Option<NodeId>, text: String) {
        self.push(EventView {
            i: 0,
            step: 0,
            t,
            kind,
            node,
            text,
            resp: None,
            meaning: None,
            msg: None,
            from: None,
            to: None,
        });
    }

    /// A node reported `e` at `now` (`before`: its state before a PSYNC).
    pub(crate) fn node_event(
        &mut self,
        now: u64,
        n: NodeId,
        e: &Event,
        before: Option<&PsyncView>,
    ) {
        let (kind, text) = match e {
            Event::Repl(
                r @ ReplEvent::PsyncDecision {
                    addr,
                    replid,
                    offset,
                    verdict,
                    ..
                },
            ) => {
                let (word, reason) = view::verdict_words(verdict);
                let replica = addr
                    .strip_prefix(&format!("{HOST}-"))
                    .and_then(|r| r.split(':').next())
                    .and_then(|r| r.parse().ok());
                let card = Decision {
                    t: now,
                    master: n,
                    replica,
                    asked_replid: replid.clone(),
                    asked_offset: *offset,
                    replid: before.map(|b| b.replid.clone()).unwrap_or_default(),
                    replid2: before.map(|b| b.replid2.clone()).unwrap_or_default(),
                    second_offset: before.map_or(-1, |b| b.second_offset),
                    backlog_first: before.and_then(|b| b.backlog.map(|(end, h)| end - h + 1)),
                    backlog_last: before.and_then(|b| b.backlog.map(|(end, _)| end)),
                    verdict: word,
                    reason,
                };
                self.decisions.push_back(card);
                if self.decisions.len() > DECISIONS_CAP {
                    self.decisions.pop_front();
                }
                let who = replica.map_or(addr.clone(), |r: usize| format!("n{r}"));
                let _ = r;
                (
                    "decision",
                    format!("n{n} answers {who}'s PSYNC {replid} {offset}: {verdict}"),
                )
            }
            Event::Repl(r) => {
                if let ReplEvent::FullSyncStarted { rdb_bytes, .. } = r {
                    self.rdb_sizes.insert(n, *rdb_bytes as u64);
                }
                ("sync", format!("n{n}: {r}"))
            }
            Event::Log { level, message } => {
                if *level == "debug" || *level == "verbose" {
                    return;
                }
                ("log", format!("n{n}: {message}"))
            }
            Event::ClientConnected { .. } | Event::ClientClosed { .. } => return,
            other => ("log", format!("n{n}: {other:?}")),
        };
        self.event(now, kind, Some(n), text);
    }

    /// Bytes were delivered on connection `k`, direction `dir`.
    pub(crate) fn delivered(
        &mut self,
        now: u64,
        k: u64,
        dir: usize,
        from: End,
        to: End,
        data: &Bytes,
    ) {
        let side = view::side_of(from, to, dir);
        let hint = from.node().and_then(|m| self.rdb_sizes.get(&m).copied());
        let reader = self
            .readers
            .get_or_insert_with((k, dir), || Reader::new(side));
        if side == wire::Side::Master {
            reader.eof_total_hint = hint;
        }
        let reading = reader.read(data);
        if let Some(n) = to.node() {
            if let Some(rdb) = reading.rdb {
                self.rdb_progress.insert(n, rdb);
            } else if reading.kind() == Some(wire::Kind::Fullresync) {
                self.rdb_progress.insert(n, (0, None));
            }
        }
        let kind = reading.kind().map_or("reply", |k| k.name());
        self.push(EventView {
            i: 0,
            step: 0,
            t: now,
            kind: "message",
            node: to.node(),
            text: format!("{} → {}: {}", who(from), who(to), reading.label()),
            resp: Some(wire::escape(data, 200)),
            meaning: Some(reading.meaning()),
            msg: Some(kind),
            from: from.node(),
            to: to.node(),
        });
    }
}

impl Sim {
    /// Reply bytes for a playground console client.
    pub(super) fn console_bytes(&mut self, i: usize, data: &[u8]) {
        if let Some(tap) = self.tap.as_deref_mut() {
            tap.console
                .get_or_insert_with(i, Vec::new)
                .extend_from_slice(data);
        }
    }
}

/// The playground's client workload: readable writes (`SET k7 v...`,
/// `INCR hits`, `RPUSH events ...`) to the master, `GET`s on a replica;
/// `batch` commands per round trip.
#[derive(Debug, Clone)]
struct Writes {
    batch: usize,
    value_len: usize,
}

impl Workload for Writes {
    fn next_batch(&mut self, rng: &mut Rng, writer: bool) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for _ in 0..if writer { self.batch } else { 1 } {
            let k = format!("k{}", rng.below(50)).into_bytes();
            let cmd: Vec<&[u8]> = if !writer {
                vec![b"GET", &k]
            } else {
                match rng.below(8) {
                    0 => vec![b"INCR", b"hits"],
                    1 => vec![b"DEL", &k],
                    _ => {
                        let c = b'a' + rng.below(26) as u8;
                        let v = vec![c; self.value_len.max(1)];
                        out.push(vec![b"SET".to_vec(), k.clone(), v]);
                        continue;
                    }
                }
            };
            out.push(cmd.iter().map(|a| a.to_vec()).collect());
        }
        out
    }
}

/// Round trips of a writing client per second and commands per round trip
/// for `rate` writes per second: `(batch, think ms)`.
fn pace(rate: u64) -> (usize, u64) {
    let rate = rate.max(1);
    let batch = rate.div_ceil(250).max(1);
    let period = 1000 * batch / rate;
    (batch as usize, period.saturating_sub(2))
}

/// One entry of the action log.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Logged {
    step: u64,
    now: u64,
    action: Action,
}

/// What a cached digest was computed at: incarnation, offset, dirty counter, keys.
pub(crate) type DigestKey = (u32, i64, u64, u64);

/// The simulator as the playground drives it.
pub struct Playground {
    sim: Sim,
    seed: u64,
    scenario: &'static Scenario,
    /// Scripted actions not applied yet, `(time, action)`.
    script: VecDeque<(u64, Action)>,
    script_applied: u64,
    log: Vec<Logged>,
    removed: Vec<bool>,
    /// Console client per node (index in the simulator's clients).
    consoles: SmallMap<NodeId, usize>,
    rate: u64,
    value_len: usize,
    digests: SmallMap<NodeId, (DigestKey, String)>,
    disks: SmallMap<NodeId, ((usize, usize), view::DiskView)>,
}

impl std::fmt::Debug for Playground {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playground")
            .field("seed", &self.seed)
            .field("scenario", &self.scenario.id)
            .field("steps", &self.steps())
            .finish()
    }
}

impl Playground {
    /// A run of `scenario` from `seed`.
    pub fn new(seed: u64, scenario: &str) -> Result<Playground, String> {
        let sc = scenario::find(scenario)?;
        let setup = sc.setup;
        let (batch, think) = pace(setup.rate);
        let opts = SimOptions {
            nodes: setup.nodes,
            writers: 1,
            latency: setup.latency,
            bandwidth: setup.bandwidth,
            think: (think, think),
            config: setup
                .config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            record: false,
            s3_sample: 8,
            ..SimOptions::default()
        };
        let workload = Writes {
            batch,
            value_len: setup.value_len,
        };
        let mut sim = Sim::new(seed, opts, Box::new(workload));
        sim.tap = Some(Box::default());
        sim.workload_on = setup.rate > 0;
        for &n in setup.standalone {
            sim.upstream[n] = None;
            sim.restart(n, false);
        }
        for &(n, up) in setup.chain {
            sim.upstream[n] = Some(up);
            sim.restart(n, false);
        }
        for chunk in (0..setup.preload).collect::<Vec<_>>().chunks(100) {
            let mut args = vec!["MSET".to_string()];
            for i in chunk {
                args.push(format!("key:{i:05}"));
                args.push(format!("{:0>width$}", i, width = 40));
            }
            let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            sim.admin(0, &refs);
        }
        let nodes = sim.nodes.len();
        let mut pg = Playground {
            sim,
            seed,
            scenario: sc,
            script: VecDeque::new(),
            script_applied: 0,
            log: Vec::new(),
            removed: vec![false; nodes],
            consoles: SmallMap::new(),
            rate: setup.rate,
            value_len: setup.value_len,
            digests: SmallMap::new(),
            disks: SmallMap::new(),
        };
        for &(at, line) in sc.script {
            let a: Action = line
                .parse()
                .map_err(|e| format!("scenario {}: {line}: {e}", sc.id))?;
            pg.script.push_back((at, a));
        }
        pg.record(format!("playground: scenario {} seed {seed}", sc.id));
        pg.stamp();
        Ok(pg)
    }

    /// The presets.
    pub fn scenarios() -> &'static [Scenario] {
        SCENARIOS
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The preset.
    pub fn scenario(&self) -> &'static Scenario {
        self.scenario
    }

    /// The simulator (read-only).
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Simulated time (ms).
    pub fn now(&self) -> u64 {
        self.sim.now
    }

    /// Steps taken: simulator events plus scripted actions applied.
    pub fn steps(&self) -> u64 {
        self.sim.steps() + self.script_applied
    }

    /// The trace hash as 16 hex digits.
    pub fn trace_hash(&self) -> String {
        format!("{:016x}", self.sim.trace_hash())
    }

    fn tap(&self) -> &Tap {
        self.sim.tap.as_deref().expect("the playground always taps")
    }

    fn tap_mut(&mut self) -> &mut Tap {
        self.sim
            .tap
            .as_deref_mut()
            .expect("the playground always taps")
    }

    fn record(&mut self, what: String) {
        let notes = std::mem::take(&mut self.sim.notes);
        let t = self.sim.now;
        self.sim.record(TraceEntry {
            t,
            seq: 0,
            what,
            notes,
        });
    }

    /// Process one event (or apply the next scripted action if it is due
    /// first); false when nothing is left.
    pub fn step(&mut self) -> bool {
        if let Some(&(at, _)) = self.script.front() {
            if self.sim.next_event_time().is_none_or(|t| at <= t) {
                let (at, a) = self.script.pop_front().expect("front checked");
                self.sim.now = self.sim.now.max(at);
                self.script_applied += 1;
                let text = a.to_string();
                let result = self.apply(a);
                let t = self.sim.now;
                let line = match result {
                    Ok(r) => format!("scenario: {text} → {r}"),
                    Err(e) => format!("scenario: {text} failed: {e}"),
                };
                self.tap_mut().event(t, "fault", None, line.clone());
                self.record(line);
                self.stamp();
                return true;
            }
        }
        let stepped = self.sim.step().is_some();
        self.stamp();
        if stepped && self.sim.steps().is_multiple_of(4096) {
            let conns = &self.sim.conns;
            let tap = self.sim.tap.as_deref_mut().expect("tap");
            tap.readers.retain(|(k, _), _| conns.contains_key(k));
        }
        stepped
    }

    /// Stamp the events logged since the last stamp with the step count now.
    fn stamp(&mut self) {
        let step = self.steps();
        self.tap_mut().stamp(step);
    }

    fn next_time(&self) -> Option<u64> {
        let script = self.script.front().map(|s| s.0);
        match (script, self.sim.next_event_time()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advance the clock by `ms`, processing every event due; returns how
    /// many steps were taken (at most [`RUN_FOR_MAX_STEPS`]; the clock then
    /// stays at the last event's time).
    pub fn run_for(&mut self, ms: u64) -> u64 {
        let target = self.sim.now.saturating_add(ms);
        let start = self.steps();
        while self.next_time().is_some_and(|t| t <= target) {
            if self.steps() - start >= RUN_FOR_MAX_STEPS {
                return self.steps() - start;
            }
            self.step();
        }
        self.sim.now = self.sim.now.max(target);
        self.steps() - start
    }

    /// Apply an action typed as text; returns what happened.
    pub fn act(&mut self, line: &str) -> Result<String, String> {
        let a: Action = line.parse()?;
        self.act_logged(a)
    }

    /// Send a console line to node `n`; returns the reply as `redis-cli`
    /// prints it.
    pub fn command(&mut self, n: NodeId, line: &str) -> Result<String, String> {
        let line = line.trim();
        if line.is_empty() {
            return Err("empty command".into());
        }
        self.act_logged(Action::Command(n, line.to_string()))
    }

    fn act_logged(&mut self, a: Action) -> Result<String, String> {
        let (step, now) = (self.steps(), self.sim.now);
        self.check_nodes(&a)?;
        let text = a.to_string();
        let result = self.apply(a.clone())?;
        let kind = match a {
            Action::Command(..) => "client",
            Action::Promote(_) | Action::ReplicaOf(..) => "role",
            _ => "fault",
        };
        self.tap_mut()
            .event(now, kind, None, format!("{text} → {result}"));
        self.record(format!("action: {text} → {result}"));
        self.log.push(Logged {
            step,
            now,
            action: a,
        });
        self.stamp();
        Ok(result)
    }

    fn check_nodes(&self, a: &Action) -> Result<(), String> {
        for n in a.nodes() {
            if n >= self.sim.nodes.len() || self.removed[n] {
                return Err(format!("there is no node n{n}"));
            }
        }
        Ok(())
    }

    fn up(&self, n: NodeId) -> bool {
        self.sim.nodes[n].node.is_some()
    }

    fn apply(&mut self, a: Action) -> Result<String, String> {
        self.check_nodes(&a)?;
        let sim = &mut self.sim;
        Ok(match a {
            Action::Crash(n) => {
                if !self.up(n) {
                    return Ok(format!("n{n} is already down"));
                }
                self.sim.crash(n);
                format!("n{n} crashed: its memory is lost, its disk stays")
            }
            Action::Restart { node: n, wipe } => {
                self.sim.restart(n, !wipe);
                if wipe {
                    format!("n{n} restarted with an empty disk")
                } else {
                    match &self.sim.nodes[n].disk {
                        Some(d) => format!("n{n} restarted from its RDB ({} bytes)", d.len()),
                        None => format!("n{n} restarted (no RDB on its disk)"),
                    }
                }
            }
            Action::Promote(n) => {
                if n == sim.master && sim.upstream[n].is_none() {
                    return Ok(format!("n{n} is already the master"));
                }
                if !self.up(n) {
                    return Err(format!("n{n} is down; restart it first"));
                }
                self.sim.failover(n);
                format!("n{n} promoted (REPLICAOF NO ONE); the other nodes now replicate from it")
            }
            Action::ReplicaOf(n, Some(m)) => {
                if n == m {
                    return Err(format!("n{n} cannot replicate from itself"));
                }
                if n == sim.master {
                    return Err(format!("n{n} is the master; promote another node first"));
                }
                sim.replicaof(n, m);
                format!("n{n} now replicates from n{m}")
            }
            Action::ReplicaOf(n, None) => {
                sim.admin(n, &["REPLICAOF", "NO", "ONE"]);
                sim.upstream[n] = None;
                format!("n{n} is a master of its own (REPLICAOF NO ONE)")
            }
            Action::Cut(a, b) => {
                sim.partition(a, b);
                format!("link n{a}–n{b} cut both ways")
            }
            Action::Heal(a, b) => {
                sim.repair(a, b);
                format!("link n{a}–n{b} healed")
            }
            Action::CutOneway(a, b) => {
                sim.partition_oneway(a, b);
                format!("n{a} → n{b} dropped")
            }
            Action::Hold(a, b) => {
                sim.hold(a, b);
                format!("messages between n{a} and n{b} held")
            }
            Action::Release(a, b) => {
                sim.release(a, b);
                format!("held messages between n{a} and n{b} released")
            }
            Action::Slow(a, b, ms) => {
                sim.set_link_latency(a, b, ms);
                format!("latency n{a}–n{b} set to {ms} ms")
            }
            Action::AddReplica => {
                let n = self.add_replica();
                format!("n{n} added as a replica of n{}", self.sim.master)
            }
            Action::Remove(n) => {
                if n == sim.master {
                    return Err(format!("n{n} is the master; promote another node first"));
                }
                sim.crash(n);
                self.removed[n] = true;
                self.consoles.remove(&n);
                format!("n{n} removed")
            }
            Action::Backlog(bytes) => {
                let value = bytes.to_string();
                Config::default().set("repl-backlog-size", &value)?;
                for n in 0..sim.nodes.len() {
                    sim.config_set(n, "repl-backlog-size", &value);
                }
                format!("repl-backlog-size set to {bytes} bytes on every node")
            }
            Action::Writes(rate) => {
                self.set_rate(rate);
                if rate == 0 {
                    "client writes stopped".to_string()
                } else {
                    format!("client writes at about {rate} per second")
                }
            }
            Action::Save(n) => match sim.admin(n, &["BGSAVE"]) {
                Some(r) => format!("BGSAVE on n{n}: {}", r.trim_start_matches('+')),
                None => return Err(format!("n{n} is down")),
            },
            Action::Command(n, line) => self.console(n, &line),
        })
    }

    fn set_rate(&mut self, rate: u64) {
        let was_on = self.sim.workload_on;
        self.rate = rate;
        let (batch, think) = pace(rate);
        self.sim.opts.think = (think, think);
        self.sim.workload = Box::new(Writes {
            batch,
            value_len: self.value_len,
        });
        self.sim.workload_on = rate > 0;
        if rate > 0 && !was_on {
            for i in 0..self.sim.clients.len() {
                if !self.sim.clients[i].console {
                    let at = self.sim.now;
                    self.sim.schedule(at, super::Ev::ClientWake { client: i });
                }
            }
        }
    }

    fn add_replica(&mut self) -> NodeId {
        let sim = &mut self.sim;
        let n = sim.nodes.len();
        let (lo, hi) = sim.opts.latency;
        let bandwidth = sim.opts.bandwidth.max(1);
        for a in 0..n {
            for (x, y) in [(a, n), (n, a)] {
                let latency = lo + sim.rng.below(hi.saturating_sub(lo) + 1);
                sim.links.insert(
                    (x, y),
                    Link {
                        latency,
                        bandwidth,
                        blocked: false,
                        held: false,
                    },
                );
            }
        }
        let master = sim.master;
        let mut config = sim.nodes[master].config.clone();
        config.port = BASE_PORT + n as u16;
        sim.nodes.push(SimNode::new(config, 0));
        sim.upstream.push(Some(master));
        sim.boot(n, false);
        self.removed.push(false);
        n
    }

    /// The console client of node `n`, connected (false: the node is down).
    fn console_client(&mut self, n: NodeId) -> Option<usize> {
        let sim = &mut self.sim;
        let i = *self.consoles.get_or_insert_with(n, || {
            sim.clients.push(Client {
                console: true,
                ..Client::new(false, n)
            });
            sim.clients.len() - 1
        });
        if let Some(k) = sim.clients[i].conn {
            // A connection cut by a crash or a partition is dropped for a new one.
            let usable = sim
                .conns
                .get(&k)
                .is_some_and(|c| !c.broken && c.open[0] && c.open[1]);
            if !usable {
                sim.clients[i].conn = None;
                if let Some(c) = sim.conns.get_mut(&k) {
                    c.open[0] = false;
                }
            }
        }
        if sim.clients[i].conn.is_none() && !sim.connect_client(i) {
            return None;
        }
        Some(i)
    }

    fn console(&mut self, n: NodeId, line: &str) -> String {
        let Some(args) = crate::resp::split_args(line.as_bytes()) else {
            return "Invalid argument(s)".into();
        };
        if args.is_empty() {
            return String::new();
        }
        let console = if self.up(n) {
            self.console_client(n)
        } else {
            None
        };
        let Some(i) = console else {
            return format!(
                "Could not connect to Redis at {HOST}:{}: Connection refused",
                BASE_PORT + n as u16
            );
        };
        let mut bytes = Vec::new();
        crate::resp::encode_command(&mut bytes, &args);
        self.tap_mut().console.insert(i, Vec::new());
        let k = self.sim.clients[i].conn.expect("connected");
        self.sim.push(k, 0, Packet::Data(bytes.into()));
        let deadline = self.sim.now + CONSOLE_WAIT_MS;
        loop {
            let buf = self.tap().console.get(&i).cloned().unwrap_or_default();
            if let Some((reply, _)) = cli::parse_reply(&buf) {
                return cli::format_reply(&reply);
            }
            if self.sim.clients[i].conn.is_none() {
                return "Error: Server closed the connection".into();
            }
            // Only the simulator moves while the console waits: scripted
            // actions due meanwhile are applied after the reply.
            if self.sim.next_event_time().is_none_or(|t| t > deadline) || self.sim.step().is_none()
            {
                break;
            }
            self.stamp();
        }
        // Still blocked: give this console up (its reply would arrive late).
        if let Some(k) = self.sim.clients[i].conn.take() {
            self.sim.push(k, 0, Packet::Fin);
            if let Some(c) = self.sim.conns.get_mut(&k) {
                c.open[0] = false;
            }
        }
        self.consoles.remove(&n);
        format!(
            "(no reply within {} s of simulated time; the client gave up)",
            CONSOLE_WAIT_MS / 1000
        )
    }

    /// Events from `cursor` on (at most [`EVENTS_PER_PAGE`]).
    pub fn events_since(&self, cursor: u64) -> EventPage {
        let tap = self.tap();
        let start = cursor.max(tap.first);
        let skip = (start - tap.first) as usize;
        let events: Vec<EventView> = tap
            .events
            .iter()
            .skip(skip)
            .take(EVENTS_PER_PAGE)
            .cloned()
            .collect();
        let next = events.last().map_or(start.max(cursor), |e| e.i + 1);
        EventPage { next, events }
    }

    /// The decision cards so far.
    pub fn decisions(&self) -> impl Iterator<Item = &Decision> {
        self.tap().decisions.iter()
    }

    /// The run as a URL fragment: `seed=42&scenario=link-blip&at=STEP.MS&log=...`
    /// where the log lists `STEP.MS.ACTION` entries separated by `,`.
    pub fn export(&self) -> String {
        let log: Vec<String> = self
            .log
            .iter()
            .map(|l| format!("{}.{}.{}", l.step, l.now, encode(&l.action.to_string())))
            .collect();
        format!(
            "seed={}&scenario={}&at={}.{}&log={}",
            self.seed,
            self.scenario.id,
            self.steps(),
            self.sim.now,
            log.join(",")
        )
    }

    /// Replay an exported run to the same step.
    ///
    /// `at=STEP.MS` replays to step STEP with the clock at MS (what
    /// [`Playground::export`] writes). `at=STEP` replays to step STEP
    /// exactly, with the clock at that step's event, and leaves out the log
    /// entries recorded after it; entries recorded at STEP itself are
    /// applied. (A console command runs the simulation until its reply, so
    /// a STEP inside that wait lands at the reply.)
    pub fn import(fragment: &str) -> Result<Playground, String> {
        let fragment = fragment.trim_start_matches('#');
        let (mut seed, mut scenario, mut at, mut log) = (None, None, None, "");
        for part in fragment.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            match k {
                "seed" => seed = Some(v.parse::<u64>().map_err(|_| format!("bad seed '{v}'"))?),
                "scenario" => scenario = Some(v),
                "at" => {
                    at = Some(match v.split_once('.') {
                        Some(_) => position(v).map(|(s, t)| (s, Some(t)))?,
                        None => (v.parse().map_err(|_| format!("bad step '{v}'"))?, None),
                    })
                }
                "log" => log = v,
                _ => return Err(format!("unknown field '{k}' in the shared run")),
            }
        }
        let seed = seed.ok_or("the shared run has no seed")?;
        let mut pg = Playground::new(seed, scenario.ok_or("the shared run has no scenario")?)?;
        for (i, entry) in log.split(',').filter(|e| !e.is_empty()).enumerate() {
            let mut parts = entry.splitn(3, '.');
            let step = parts.next().unwrap_or("");
            let now = parts.next().unwrap_or("");
            let (step, now) = position(&format!("{step}.{now}"))?;
            let text = decode(parts.next().ok_or(format!("log entry {i} has no action"))?)?;
            let a: Action = text.parse().map_err(|e| format!("log entry {i}: {e}"))?;
            if matches!(at, Some((last, None)) if step > last) {
                break;
            }
            pg.replay_to(step, now)
                .map_err(|e| format!("log entry {i}: {e}"))?;
            pg.act_logged(a)
                .map_err(|e| format!("log entry {i} ({text}): {e}"))?;
        }
        match at {
            Some((step, Some(now))) => pg.replay_to(step, now)?,
            Some((step, None)) => pg.run_to_step(step)?,
            None => {}
        }
        Ok(pg)
    }

    /// Step until `step` steps are taken (or more already were).
    fn run_to_step(&mut self, step: u64) -> Result<(), String> {
        while self.steps() < step {
            if !self.step() {
                return Err(format!("the run ends before step {step}"));
            }
        }
        Ok(())
    }

    fn replay_to(&mut self, step: u64, now: u64) -> Result<(), String> {
        self.run_to_step(step)?;
        if self.steps() != step || now < self.sim.now {
            return Err(format!(
                "cannot reach step {step} at {now} ms (at step {} and {} ms)",
                self.steps(),
                self.sim.now
            ));
        }
        self.sim.now = now;
        Ok(())
    }
}

/// The run the native-versus-WASM determinism check replays: a seed, a
/// preset, and steps that are either `run MS` or an action line (`command N
/// LINE` included). Both sides follow these same steps: natively through
/// [`reference_run`], in the browser through the JS-facing bindings.
pub const REFERENCE_RUN: (u64, &str, &[&str]) = (
    42,
    "failover",
    &[
        "run 1500",
        "command 0 SET greeting hello",
        "command 1 SET greeting nope",
        "writes 200",
        "run 300",
        "cut 0 2",
        "run 700",
        "heal 0 2",
        "save 2",
        "run 1200",
        "command 0 WAIT 2 500",
        "add-replica",
        "run 2000",
        "backlog 20000",
        "restart 2",
        "run 1500",
        "command 1 INCR hits",
        "run 500",
    ],
);

/// Follow [`REFERENCE_RUN`] natively; the trace hash at the end.
pub fn reference_run() -> String {
    let (seed, scenario, steps) = REFERENCE_RUN;
    let mut pg = Playground::new(seed, scenario).expect("the reference preset exists");
    for step in steps {
        match step.strip_prefix("run ") {
            Some(ms) => {
                pg.run_for(ms.parse().expect("reference run step"));
            }
            None => {
                pg.act(step).expect("reference action");
            }
        }
    }
    pg.trace_hash()
}

fn position(v: &str) -> Result<(u64, u64), String> {
    let (s, t) = v.split_once('.').ok_or(format!("bad position '{v}'"))?;
    Ok((
        s.parse().map_err(|_| format!("bad step '{s}'"))?,
        t.parse().map_err(|_| format!("bad time '{t}'"))?,
    ))
}

/// Percent-encode for a URL fragment; a space becomes `+`.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3).ok_or(format!("bad escape in '{s}'"))?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad escape in '{s}'"))?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("'{s}' is not UTF-8"))
}

#[cfg(test)]
mod tests;
