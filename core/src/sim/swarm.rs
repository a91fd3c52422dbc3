//! Swarm testing: every seed picks its own deployment (node count,
//! clients, timeouts, backlog size, diskless or not) and its own subset of
//! fault kinds with a random schedule, then [`run_seed`] runs it: faults
//! for a while, then quiescence, then liveness must follow within a bound.
//! [`shrink`] cuts a failing seed's schedule down to a minimal one that
//! still breaks the same invariant (replayed with `SwarmOptions::keep`), and
//! [`regressions`] reads the list of seeds that found bugs.

use super::{Sim, SimOptions, Violation, Workload};
use crate::rng::Rng;
use std::fmt;

/// One fault (or operator action) of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Crash a node (volatile state lost).
    Crash(usize),
    /// Restart a node, from its disk (`true`) or wiped.
    Restart(usize, bool),
    /// Crash and restart from disk.
    Bounce(usize),
    /// Two-way partition.
    Partition(usize, usize),
    /// One-way partition (`a` -> `b` dropped).
    PartitionOneway(usize, usize),
    /// Heal both ways.
    Repair(usize, usize),
    /// Heal `a` -> `b`.
    RepairOneway(usize, usize),
    /// Hold messages between two nodes.
    Hold(usize, usize),
    /// Deliver held messages.
    Release(usize, usize),
    /// Set the latency between two nodes (ms).
    Latency(usize, usize, u64),
    /// Set the bandwidth from one node to another (bytes per ms): a slow reader.
    Bandwidth(usize, usize, u64),
    /// Move a node's clock (ms, either way).
    ClockJump(usize, i64),
    /// `REPLICAOF NO ONE` on a replica (no failover): a second master.
    Detach(usize),
    /// Point a detached node back at the master.
    Reattach(usize),
    /// Promote a replica; the others follow it.
    Failover(usize),
    /// Point a replica at another node.
    ReplicaOf(usize, usize),
    /// `CONFIG SET` on a node.
    ConfigSet(usize, &'static str, String),
    /// `BGSAVE` on a node.
    Save(usize),
    /// Stop all faults; check liveness from now on.
    Quiesce,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Crash(n) => write!(f, "crash n{n}"),
            Fault::Restart(n, keep) => write!(
                f,
                "restart n{n} {}",
                if *keep {
                    "from disk"
                } else {
                    "with disk wiped"
                }
            ),
            Fault::Bounce(n) => write!(f, "bounce n{n}"),
            Fault::Partition(a, b) => write!(f, "partition n{a} n{b}"),
            Fault::PartitionOneway(a, b) => write!(f, "partition_oneway n{a} -> n{b}"),
            Fault::Repair(a, b) => write!(f, "repair n{a} n{b}"),
            Fault::RepairOneway(a, b) => write!(f, "repair_oneway n{a} -> n{b}"),
            Fault::Hold(a, b) => write!(f, "hold n{a} n{b}"),
            Fault::Release(a, b) => write!(f, "release n{a} n{b}"),
            Fault::Latency(a, b, ms) => write!(f, "latency n{a} n{b} {ms}ms"),
            Fault::Bandwidth(a, b, bw) => write!(f, "bandwidth n{a} -> n{b} {bw}B/ms"),
            Fault::ClockJump(n, ms) => write!(f, "clock n{n} {ms:+}ms"),
            Fault::Detach(n) => write!(f, "n{n} REPLICAOF NO ONE (detach)"),
            Fault::Reattach(n) => write!(f, "n{n} back to the master"),
            Fault::Failover(n) => write!(f, "failover to n{n}"),
            Fault::ReplicaOf(n, t) => write!(f, "n{n} REPLICAOF n{t}"),
            Fault::ConfigSet(n, k, v) => write!(f, "n{n} CONFIG SET {k} {v}"),
            Fault::Save(n) => write!(f, "n{n} BGSAVE"),
            Fault::Quiesce => write!(f, "quiesce (faults stop)"),
        }
    }
}

/// Run-wide knobs (the rest comes from the seed).
#[derive(Debug, Clone)]
pub struct SwarmOptions {
    /// How long faults are injected (simulated ms).
    pub fault_ms: u64,
    /// How long replicas may take to converge after that.
    pub liveness_ms: u64,
    /// Give up after this many events.
    pub max_steps: u64,
    /// Keep the trace.
    pub record: bool,
    /// Check S3 at one `(replid, offset)` point in this many.
    pub s3_sample: u64,
    /// Only these fault kinds (names from [`FAULT_KINDS`]) instead of a
    /// random subset per seed.
    pub faults: Option<Vec<String>>,
    /// Keep only these entries (indices into the seed's schedule; the final
    /// quiescence always stays): what [`shrink`] finds.
    pub keep: Option<Vec<usize>>,
    /// Bugs planted in every node (test builds only).
    #[cfg(feature = "planted-bugs")]
    #[doc(hidden)]
    pub planted: crate::repl::Planted,
}

impl Default for SwarmOptions {
    fn default() -> Self {
        SwarmOptions {
            fault_ms: 10_000,
            liveness_ms: 40_000,
            max_steps: 2_000_000,
            record: false,
            s3_sample: 1,
            faults: None,
            keep: None,
            #[cfg(feature = "planted-bugs")]
            planted: Default::default(),
        }
    }
}

impl SwarmOptions {
    /// Set one run option from its command-line form: `--faults a,b`,
    /// `--fault-ms N`, `--liveness-ms N`, `--keep i,j` (or `none`).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: not a number: {v:?}"))
        };
        match name {
            "--faults" => {
                let kinds: Vec<String> = value.split(',').map(String::from).collect();
                if let Some(k) = kinds.iter().find(|k| !FAULT_KINDS.contains(&k.as_str())) {
                    return Err(format!(
                        "--faults: unknown kind {k:?} (kinds: {FAULT_KINDS:?})"
                    ));
                }
                self.faults = Some(kinds);
            }
            "--fault-ms" => self.fault_ms = num(value)?,
            "--liveness-ms" => self.liveness_ms = num(value)?,
            "--keep" => {
                self.keep = Some(if value == "none" {
                    Vec::new()
                } else {
                    value
                        .split(',')
                        .map(|k| num(k).map(|k| k as usize))
                        .collect::<Result<_, _>>()?
                });
            }
            other => return Err(format!("unknown run option {other}")),
        }
        Ok(())
    }
}

/// One entry of the regression list: a seed that found a bug, the options
/// it was found with, and what the bug was.
#[derive(Debug, Clone)]
pub struct Regression {
    /// The seed.
    pub seed: u64,
    /// Its run options.
    pub opts: SwarmOptions,
    /// The bug it found.
    pub bug: String,
}

/// Parse a regression list: one seed per line, `--seed S [run options] |
/// what it found`; `#` starts a comment.
pub fn regressions(text: &str) -> Result<Vec<Regression>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (args, bug) = line
            .split_once('|')
            .ok_or_else(|| format!("line {}: no '|' before the description", n + 1))?;
        let words: Vec<&str> = args.split_whitespace().collect();
        let mut seed = None;
        let mut opts = SwarmOptions::default();
        for pair in words.chunks(2) {
            let [name, value] = pair else {
                return Err(format!("line {}: {pair:?} has no value", n + 1));
            };
            if *name == "--seed" {
                seed = Some(
                    value
                        .parse()
                        .map_err(|_| format!("line {}: bad seed", n + 1))?,
                );
            } else {
                opts.set(name, value)
                    .map_err(|e| format!("line {}: {e}", n + 1))?;
            }
        }
        out.push(Regression {
            seed: seed.ok_or_else(|| format!("line {}: no --seed", n + 1))?,
            opts,
            bug: bug.trim().to_string(),
        });
    }
    Ok(out)
}

/// What one seed did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// The deployment and fault kinds the seed chose.
    pub profile: String,
    /// Events processed.
    pub steps: u64,
    /// Simulated time at the end (ms).
    pub sim_ms: u64,
    /// The trace hash.
    pub hash: u64,
    /// Broken invariants.
    pub violations: Vec<Violation>,
    /// Time from quiescence to convergence (ms), if reached.
    pub converged_after: Option<u64>,
    /// What the checker looked at: stream bytes compared (S2), WAIT
    /// answers checked (S7a), acknowledged writes found in the converged
    /// dataset and those excused by a crash or failover (S7b).
    pub checked: Checked,
    /// The example's arguments that select the same run options.
    pub args: String,
}

impl Outcome {
    /// The command that replays this seed with its trace.
    pub fn replay_command(&self) -> String {
        format!("cargo xtask sim --seed {}{} --trace", self.seed, self.args)
    }
}

/// Counts of what the checker verified in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked {
    /// Stream bytes held against the canonical stream (S2).
    pub stream_bytes: u64,
    /// WAIT answers checked against the nodes (S7a).
    pub waits: u64,
    /// Acknowledged writes tracked to the end (S7b).
    pub acked: u64,
    /// Acknowledged writes lost legitimately (S7b).
    pub excused: u64,
}

impl std::ops::AddAssign for Checked {
    fn add_assign(&mut self, o: Checked) {
        self.stream_bytes += o.stream_bytes;
        self.waits += o.waits;
        self.acked += o.acked;
        self.excused += o.excused;
    }
}

/// The fault kinds a swarm draws from: crash (then restart from disk, or
/// wiped), bounce, partition, oneway (partition), hold (then release),
/// latency (spikes), failover, replicaof (re-point a replica, chaining),
/// backlog (resize it at run time; a seed may also start with the 16 KB
/// minimum, forcing full syncs), slow (a slow reader: the link's bandwidth
/// drops and the master's output buffer for that replica grows to its
/// `client-output-buffer-limit`), clock (per-node clock offsets, and jumps
/// either way), config (other `CONFIG SET`s at run time), detach
/// (`REPLICAOF NO ONE` on a replica, later pointed back).
pub const FAULT_KINDS: [&str; 13] = [
    "crash",
    "bounce",
    "partition",
    "oneway",
    "hold",
    "latency",
    "failover",
    "replicaof",
    "backlog",
    "slow",
    "clock",
    "config",
    "detach",
];

/// A random run-time `CONFIG SET` (name, value) for the "config" kind.
fn random_config(rng: &mut Rng) -> (&'static str, String) {
    match rng.below(8) {
        0 => ("repl-timeout", (3 + rng.below(8)).to_string()),
        1 => ("repl-ping-replica-period", (1 + rng.below(2)).to_string()),
        2 => (
            "repl-diskless-sync",
            ["yes", "no"][rng.below(2) as usize].into(),
        ),
        3 => ("repl-diskless-sync-delay", rng.below(2).to_string()),
        4 => (
            "repl-backlog-ttl",
            ["0", "2", "3600"][rng.below(3) as usize].into(),
        ),
        5 => (
            "client-output-buffer-limit",
            ["replica 64kb 32kb 1", "replica 256mb 64mb 60"][rng.below(2) as usize].into(),
        ),
        6 => ("min-replicas-to-write", rng.below(2).to_string()),
        _ => (
            "repl-backlog-size",
            ["16kb", "64kb", "1mb"][rng.below(3) as usize].into(),
        ),
    }
}

/// The deployment, fault kinds and schedule a seed picks.
pub fn plan(seed: u64, opts: &SwarmOptions) -> (SimOptions, Vec<(u64, Fault)>, String) {
    let mut rng = Rng::new(seed ^ 0x5eed_f00d_cafe_d00d);
    let nodes = 2 + rng.below(3) as usize;
    let tiny = rng.below(3) == 0;
    let diskless = rng.below(2) == 0;
    let timeout = 3 + rng.below(6);
    let mut config = vec![
        (
            "repl-diskless-sync".to_string(),
            if diskless { "yes" } else { "no" }.to_string(),
        ),
        ("repl-diskless-sync-delay".into(), rng.below(2).to_string()),
        ("repl-timeout".into(), timeout.to_string()),
        (
            "repl-ping-replica-period".into(),
            (1 + rng.below(3)).to_string(),
        ),
    ];
    if tiny {
        config.push(("repl-backlog-size".into(), "16kb".into()));
    }
    let mut sim = SimOptions {
        nodes,
        writers: 1 + rng.below(3) as usize,
        latency: (1, 1 + rng.below(20)),
        bandwidth: 100 + rng.below(20_000),
        think: (1, 5 + rng.below(60)),
        config,
        record: opts.record,
        s3_sample: opts.s3_sample,
        clock_skew_ms: 0,
        #[cfg(feature = "planted-bugs")]
        planted: opts.planted,
    };
    let mut kinds: Vec<&str> = FAULT_KINDS
        .iter()
        .copied()
        .filter(|_| rng.below(2) == 0)
        .collect();
    if let Some(only) = &opts.faults {
        kinds = FAULT_KINDS
            .iter()
            .copied()
            .filter(|k| only.iter().any(|o| o == k))
            .collect();
    }
    if kinds.contains(&"clock") {
        sim.clock_skew_ms = 2_000;
    }
    if kinds.contains(&"slow") {
        // Small enough for a stalled replica to reach in a few seconds.
        sim.config.push((
            "client-output-buffer-limit".into(),
            "replica 16kb 8kb 1".into(),
        ));
        sim.config.push(("repl-backlog-size".into(), "16kb".into()));
    }
    let bandwidth = sim.bandwidth;
    let mut sched = Vec::new();
    let pair = |rng: &mut Rng| {
        let a = rng.below(nodes as u64) as usize;
        let b = (a + 1 + rng.below(nodes as u64 - 1) as usize) % nodes;
        (a, b)
    };
    if !kinds.is_empty() {
        let mut t = 200 + rng.below(1000);
        while t < opts.fault_ms {
            let d = 100 + rng.below(5000);
            let end = (t + d).min(opts.fault_ms);
            let n = rng.below(nodes as u64) as usize;
            let (a, b) = pair(&mut rng);
            match kinds[rng.below(kinds.len() as u64) as usize] {
                "crash" => {
                    sched.push((t.saturating_sub(50), Fault::Save(n)));
                    sched.push((t, Fault::Crash(n)));
                    sched.push((end, Fault::Restart(n, rng.below(5) != 0)));
                }
                "bounce" => {
                    // The bounce itself lands before the faults stop.
                    let t = t.min(opts.fault_ms.saturating_sub(20));
                    sched.push((t, Fault::Save(n)));
                    sched.push((t + 20, Fault::Bounce(n)));
                }
                "partition" => {
                    sched.push((t, Fault::Partition(a, b)));
                    sched.push((end, Fault::Repair(a, b)));
                }
                "oneway" => {
                    sched.push((t, Fault::PartitionOneway(a, b)));
                    sched.push((end, Fault::RepairOneway(a, b)));
                }
                "hold" => {
                    sched.push((t, Fault::Hold(a, b)));
                    sched.push((t + d.min(3000), Fault::Release(a, b)));
                }
                "latency" => {
                    sched.push((t, Fault::Latency(a, b, 100 + rng.below(2000))));
                    sched.push((end, Fault::Latency(a, b, 1 + rng.below(5))));
                }
                "failover" => sched.push((t, Fault::Failover(n))),
                "replicaof" => sched.push((t, Fault::ReplicaOf(a, b))),
                "slow" => {
                    // Mostly from node 0 (the first master) to a replica;
                    // the reader stalls (0) or crawls.
                    let (a, b) = if rng.below(2) == 0 {
                        (0, 1 + rng.below(nodes as u64 - 1) as usize)
                    } else {
                        (a, b)
                    };
                    sched.push((t, Fault::Bandwidth(a, b, rng.below(3))));
                    let back = (t + 4_000 + rng.below(4_000)).min(opts.fault_ms);
                    sched.push((back, Fault::Bandwidth(a, b, bandwidth)));
                }
                "clock" => {
                    let ms = if rng.below(4) == 0 {
                        5_000 + rng.below(20_000) as i64
                    } else {
                        rng.below(6_001) as i64 - 3_000
                    };
                    sched.push((t, Fault::ClockJump(n, ms)));
                }
                "config" => {
                    let (name, value) = random_config(&mut rng);
                    sched.push((t, Fault::ConfigSet(n, name, value)));
                }
                "detach" => {
                    sched.push((t, Fault::Detach(n)));
                    sched.push((end, Fault::Reattach(n)));
                }
                _ => sched.push((
                    t,
                    Fault::ConfigSet(
                        n,
                        "repl-backlog-size",
                        if rng.below(2) == 0 { "16kb" } else { "1mb" }.into(),
                    ),
                )),
            }
            t += 100 + rng.below(3000);
        }
    }
    if let Some(keep) = &opts.keep {
        sched = sched
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep.contains(i))
            .map(|(_, f)| f)
            .collect();
    }
    sched.push((opts.fault_ms, Fault::Quiesce));
    let profile = format!(
        "nodes={} writers={} latency<={}ms bw={}B/ms diskless={diskless} tiny_backlog={tiny} repl-timeout={timeout}s faults=[{}] scheduled={}",
        sim.nodes,
        sim.writers,
        sim.latency.1,
        sim.bandwidth,
        kinds.join(","),
        sched.len()
    );
    (sim, sched, profile)
}

/// Run one seed with the standard workload (strings with WAIT, and the
/// other data types).
pub fn run_seed(seed: u64, opts: &SwarmOptions) -> Outcome {
    run_seed_with(seed, opts, super::workload::standard())
}

/// Run one seed with a given workload.
pub fn run_seed_with(seed: u64, opts: &SwarmOptions, workload: Box<dyn Workload>) -> Outcome {
    let mut sim = build(seed, opts, workload);
    run_built(&mut sim, seed, opts)
}

/// The simulator for `seed`, with its fault schedule queued, not yet run.
pub fn build(seed: u64, opts: &SwarmOptions, workload: Box<dyn Workload>) -> Sim {
    let (simopts, sched, _) = plan(seed, opts);
    let mut sim = Sim::new(seed, simopts, workload);
    for (t, f) in sched {
        sim.schedule_fault(t, f);
    }
    sim
}

/// Run a built simulator to the end: quiescence, then liveness or its bound.
pub fn run_built(sim: &mut Sim, seed: u64, opts: &SwarmOptions) -> Outcome {
    let (_, _, profile) = plan(seed, opts);
    let deadline = opts.fault_ms + opts.liveness_ms;
    while !sim.converged() && sim.steps() < opts.max_steps {
        match sim.next_event_time() {
            Some(t) if t <= deadline => {
                sim.step();
            }
            _ => break,
        }
    }
    if !sim.converged() {
        sim.fail_liveness(opts.liveness_ms);
    }
    Outcome {
        seed,
        profile,
        steps: sim.steps(),
        sim_ms: sim.now(),
        hash: sim.trace_hash(),
        violations: sim.violations().to_vec(),
        converged_after: sim.converged_at.map(|t| t - opts.fault_ms),
        checked: Checked {
            stream_bytes: sim.checker.stream_bytes_checked,
            waits: sim.checker.waits_checked,
            acked: sim.checker.acked_writes() as u64,
            excused: sim.checker.excused.len() as u64,
        },
        args: format!(
            " --fault-ms {} --liveness-ms {}{}",
            opts.fault_ms,
            opts.liveness_ms,
            opts.faults
                .as_ref()
                .map(|f| format!(" --faults {}", f.join(",")))
                .unwrap_or_default()
        ) + &opts
            .keep
            .as_ref()
            .map(|k| {
                let k: Vec<String> = k.iter().map(|i| i.to_string()).collect();
                if k.is_empty() {
                    " --keep none".to_string()
                } else {
                    format!(" --keep {}", k.join(","))
                }
            })
            .unwrap_or_default(),
    }
}

/// A failing seed's fault schedule cut down to a minimal one that still
/// breaks the same invariant.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The seed's schedule, in full (quiescence excluded).
    pub original: Vec<(u64, Fault)>,
    /// Indices into `original` of the faults kept.
    pub keep: Vec<usize>,
    /// The run with only those faults.
    pub outcome: Outcome,
    /// Runs tried.
    pub runs: u64,
}

/// Shrink `seed`'s fault schedule (delta debugging: drop halves, quarters,
/// ... single faults while the run still breaks the invariant it broke
/// first). `None` if the seed does not fail.
pub fn shrink(seed: u64, opts: &SwarmOptions) -> Option<Shrunk> {
    let base = SwarmOptions {
        keep: None,
        ..opts.clone()
    };
    let first = run_seed(seed, &base);
    let invariant = first.violations.first()?.invariant;
    let (_, mut original, _) = plan(seed, &base);
    original.pop(); // the quiescence
    let mut keep: Vec<usize> = (0..original.len()).collect();
    let mut best = first;
    let mut runs = 1;
    let mut chunk = keep.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        let mut removed = false;
        while i < keep.len() {
            let trial: Vec<usize> = keep
                .iter()
                .enumerate()
                .filter(|(j, _)| *j < i || *j >= i + chunk)
                .map(|(_, k)| *k)
                .collect();
            let topts = SwarmOptions {
                keep: Some(trial.clone()),
                ..base.clone()
            };
            let out = run_seed(seed, &topts);
            runs += 1;
            if out.violations.iter().any(|v| v.invariant == invariant) {
                keep = trial;
                best = out;
                removed = true;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 && !removed {
            break;
        }
        if !removed {
            chunk = chunk.div_ceil(2);
        }
    }
    if best.args.is_empty() || !best.args.contains("--keep") {
        // Nothing could go: replay with every fault, spelled out.
        best = run_seed(
            seed,
            &SwarmOptions {
                keep: Some(keep.clone()),
                ..base.clone()
            },
        );
        runs += 1;
    }
    Some(Shrunk {
        original,
        keep,
        outcome: best,
        runs,
    })
}
