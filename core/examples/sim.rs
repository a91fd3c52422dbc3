//! Run the deterministic simulator over a range of seeds, or replay one.
//!
//! ```text
//! cargo run --release -p tandem-core --example sim -- --seeds 0..1000
//! cargo run -p tandem-core --example sim -- --seed 42 --trace
//! ```
//! Options: `--faults crash,partition,...` (only these kinds; see
//! `FAULT_KINDS`), `--fault-ms N` (how long faults run, simulated ms),
//! `--liveness-ms N` (the bound after that), `--shrink` (cut a failing
//! seed's fault schedule down to a minimal one that still fails, and print
//! it with its replay command), `--keep i,j,..` (run only those entries of
//! the seed's schedule: what a shrink prints), `--jobs N` (threads; default:
//! every core), `--progress N` (a line every N seeds), `--regressions FILE`
//! (replay the seeds listed there too: `core/tests/sim_regressions.txt`). Exits 1 on any
//! violation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tandem_core::sim::swarm::{self, build, plan, run_built, Checked};
use tandem_core::sim::{run_seed, shrink, standard_workload, Outcome, SwarmOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seeds = 0..100u64;
    let mut trace = false;
    let mut opts = SwarmOptions::default();
    let mut jobs: Option<usize> = None;
    let mut progress = 0u64;
    let mut shrinking = false;
    let mut regressions = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let val = |i: usize| args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--seeds" => {
                let v = val(i);
                let (a, b) = v.split_once("..").expect("--seeds A..B");
                seeds = a.parse().expect("seed")..b.parse().expect("seed");
                i += 1;
            }
            "--seed" => {
                let s: u64 = val(i).parse().expect("seed");
                seeds = s..s + 1;
                i += 1;
            }
            "--trace" => trace = true,
            "--shrink" => shrinking = true,
            "--jobs" => {
                jobs = Some(val(i).parse().expect("threads"));
                i += 1;
            }
            "--progress" => {
                progress = val(i).parse().expect("seeds");
                i += 1;
            }
            "--regressions" => {
                let path = val(i);
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("reading {path}: {e}"));
                regressions = swarm::regressions(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
                i += 1;
            }
            name @ ("--faults" | "--fault-ms" | "--liveness-ms" | "--keep") => {
                if let Err(e) = opts.set(name, &val(i)) {
                    eprintln!("{e}");
                    std::process::exit(2);
                }
                i += 1;
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
        i += 1;
    }
    if shrinking {
        let seed = seeds.start;
        let Some(s) = shrink(seed, &opts) else {
            println!("seed {seed} does not fail: nothing to shrink");
            return;
        };
        println!(
            "seed {seed}: {} of {} faults still break {} ({} runs):",
            s.keep.len(),
            s.original.len(),
            s.outcome.violations[0].invariant,
            s.runs
        );
        for (i, (t, f)) in s.original.iter().enumerate() {
            if s.keep.contains(&i) {
                println!("  [{i}] t={t}ms {f}");
            }
        }
        for v in &s.outcome.violations {
            println!("VIOLATION {v}");
        }
        println!("replay: {}", s.outcome.replay_command());
        std::process::exit(1);
    }
    if trace {
        let seed = seeds.start;
        let (_, sched, profile) = plan(seed, &opts);
        println!("seed {seed}: {profile}");
        for (t, f) in &sched {
            println!("  schedule t={t}ms {f}");
        }
        let mut sim = build(seed, &opts, standard_workload());
        let deadline = opts.fault_ms + opts.liveness_ms;
        while !sim.converged() && sim.steps() < opts.max_steps {
            match sim.next_event_time() {
                Some(t) if t <= deadline => {
                    if let Some(e) = sim.step() {
                        println!("{e}");
                    }
                }
                _ => break,
            }
        }
        let out = run_built(&mut sim, seed, &opts);
        println!("trace hash {:016x}, {} events", out.hash, out.steps);
        for v in &out.violations {
            println!("VIOLATION {v}");
        }
        std::process::exit(i32::from(!out.violations.is_empty()));
    }
    let started = Instant::now();
    let (mut events, mut failed, mut count) = (0u64, 0u64, 0u64);
    for r in &regressions {
        let out = run_seed(r.seed, &r.opts);
        events += out.steps;
        if !out.violations.is_empty() || out.converged_after.is_none() {
            failed += 1;
            println!("FAIL regression seed={} ({})", r.seed, r.bug);
            for v in &out.violations {
                println!("     {v}");
            }
            println!("replay: {}", out.replay_command());
        }
    }
    if !regressions.is_empty() {
        println!("{} regression seeds replayed", regressions.len());
    }
    let mut checked = Checked::default();
    // Seeds run on every core; results are reported in seed order.
    let workers =
        jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let next = AtomicU64::new(seeds.start);
    let (tx, rx) = std::sync::mpsc::channel::<Outcome>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, opts, end) = (&next, &opts, seeds.end);
            scope.spawn(move || loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= end {
                    break;
                }
                if tx.send(run_seed(seed, opts)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending = std::collections::BTreeMap::new();
        let mut want = seeds.start;
        for out in rx {
            pending.insert(out.seed, out);
            while let Some(out) = pending.remove(&want) {
                want += 1;
                events += out.steps;
                count += 1;
                checked += out.checked;
                if !out.violations.is_empty() {
                    failed += 1;
                    println!("FAIL seed={} {}", out.seed, out.profile);
                    for v in &out.violations {
                        println!("     {v}");
                    }
                    println!("replay: {}", out.replay_command());
                }
                if progress > 0 && count % progress == 0 {
                    let secs = started.elapsed().as_secs_f64().max(1e-9);
                    println!(
                        "progress: {count} seeds, {failed} failing, {:.1} seeds/s",
                        count as f64 / secs
                    );
                }
            }
        }
    });
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    println!(
        "{count} seeds on {workers} threads, {failed} failing, {events} events in {secs:.2}s: {:.1} seeds/s, {:.0} events/s ({:.0} per thread)",
        count as f64 / secs,
        events as f64 / secs,
        events as f64 / secs / workers as f64
    );
    println!(
        "checked: {} stream bytes (S2), {} WAIT answers (S7a), {} acknowledged writes kept, {} lost legitimately (S7b)",
        checked.stream_bytes, checked.waits, checked.acked, checked.excused
    );
    std::process::exit(i32::from(failed > 0));
}
