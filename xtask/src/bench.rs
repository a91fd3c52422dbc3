//! `cargo xtask bench`: throughput of `tandem` against `redis-server` 7.0.15
//! on the same machine, measured by `redis-benchmark`.
//!
//! Both servers run side by side on free loopback ports (redis-server with
//! `--save '' --appendonly no`). Each round runs every pipeline depth
//! against both servers, tandem first in odd rounds and redis first in even
//! ones (A B B A ...), so slow drifts of the machine hit both alike; the
//! table shows per-row medians and the ratio tandem/redis. The tests (rows) and pipeline depths are parameters:
//! `--tests set,get,lpush,lrange_100` picks rows without code changes.
//! Besides `redis-benchmark`'s own tests there are rows it has no test for,
//! run as a custom command on a key filled the same way in both servers:
//! `zrange_100` (`ZRANGE` of 100 members, `WITHSCORES`, from a 200-member
//! sorted set: the skiplist encoding in both) and `zadd_growing` (`ZADD`
//! of random scores and members to one sorted set, which grows to hundreds
//! of thousands of members over the runs).
//!
//! Servers and client run on separate CPUs: by default both servers (every
//! thread) on CPU 0 and every `redis-benchmark` on CPU 1 (`taskset`), the
//! same for tandem and redis, as Redis's own compiler-benchmark scripts
//! bind server and benchmark to two cores. Unpinned on a 2-CPU machine the
//! two processes take turns on the same CPU and the ratios swing by ±15%
//! from run to run (measured 2026-11-26). `--pin S,C` picks other CPUs,
//! `--pin none` leaves placement to the scheduler; a machine with one CPU
//! is never pinned.
//!
//! Each server first gets one short warm-up run of every row (not counted).
//! The ratio column is the median of the per-round ratios (tandem's run and
//! redis's run of the same round, back to back), with their lowest and
//! highest in the range column. The client columns say how busy
//! `redis-benchmark` was during each server's runs (its CPU time over the
//! wall time, both from the kernel's accounting of the finished process):
//! a row where the client is near 100% against both servers measures the
//! client, which does the same work per request whichever server answers,
//! and the ratio can only be about 1.0 there.
//!
//! `--control on` adds a second redis-server, run in every round like the
//! other two (the order rotates: A B C, B C A, C A B), and a column with
//! the median ratio of the second redis to the first, with its range: the
//! noise floor of each row, what two identical servers differ by on this
//! machine in this tool.

use crate::proc::{bench_server, build_tandem_release, show};
use crate::Result;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;

/// A row `redis-benchmark` has no built-in test for: its name in `--tests`,
/// the name it gets in the table, the setup command, `redis-benchmark`
/// options of its own, and the command timed.
struct CustomTest {
    name: &'static str,
    row: &'static str,
    setup: fn() -> Vec<String>,
    options: &'static [&'static str],
    command: &'static [&'static str],
}

const CUSTOM_TESTS: &[CustomTest] = &[
    CustomTest {
        name: "zrange_100",
        row: "ZRANGE_100 (WITHSCORES)",
        setup: || {
            let mut cmd = vec!["ZADD".to_string(), "bench:zset".to_string()];
            for i in 0..200 {
                cmd.push(i.to_string());
                cmd.push(format!("member:{i:04}"));
            }
            cmd
        },
        options: &[],
        command: &["ZRANGE", "bench:zset", "0", "99", "WITHSCORES"],
    },
    // `redis-benchmark -t zadd` adds one member over and over; with `-r`
    // (random score and member, as its own ZADD test does with `-r`) the
    // set grows by most of the requests of every run, to hundreds of
    // thousands of members: each call is a skiplist search (two when the
    // member is there and its score changes) that misses the CPU caches.
    CustomTest {
        name: "zadd_growing",
        row: "ZADD growing (-r 1000000)",
        setup: || vec!["DEL".to_string(), "bench:zgrow".to_string()],
        options: &["-r", "1000000"],
        command: &[
            "ZADD",
            "bench:zgrow",
            "__rand_int__",
            "element:__rand_int__",
        ],
    },
];

fn custom_test(name: &str) -> Option<&'static CustomTest> {
    CUSTOM_TESTS.iter().find(|t| t.name == name)
}

/// Send one command and return its reply's first line (setup of custom rows).
fn send_command(port: u16, args: &[String]) -> Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    s.write_all(&req).map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(line.trim_end().to_string())
}

/// What to measure; the defaults are the issue's.
#[derive(Clone)]
struct Plan {
    rounds: usize,
    requests: u64,
    clients: u32,
    /// `redis-benchmark -t` names, in table order.
    tests: Vec<String>,
    pipelines: Vec<u32>,
    /// Items per memory row (`bench_mem`); 0 skips the memory table.
    memory_items: u64,
    /// CPUs for the servers and for the client (`--pin S,C`).
    pin: Option<(u32, u32)>,
    /// A second redis-server as a control (`--control on`).
    control: bool,
}

/// Servers on CPU 0 and the client on CPU 1 when there are two CPUs or
/// more; nothing pinned on a single CPU.
fn default_pin() -> Option<(u32, u32)> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus >= 2).then_some((0, 1))
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            rounds: 3,
            requests: 200_000,
            clients: 50,
            tests: [
                "set",
                "get",
                "incr",
                "lpush",
                "lrange_100",
                "hset",
                "sadd",
                "zadd",
                "zrange_100",
                "zadd_growing",
            ]
            .map(String::from)
            .to_vec(),
            pipelines: vec![1, 16],
            memory_items: 1_000_000,
            pin: default_pin(),
            control: false,
        }
    }
}

fn parse_plan(args: &[String]) -> Result<Plan> {
    let mut plan = Plan::default();
    let opts = crate::options(
        args,
        &[
            "rounds",
            "requests",
            "clients",
            "tests",
            "pipelines",
            "memory",
            "pin",
            "control",
        ],
    )?;
    let num = |name: &str, v: &str| -> Result<u64> {
        v.parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("--{name} wants a positive number, not {v:?}"))
    };
    for (name, v) in opts {
        match name.as_str() {
            "rounds" => plan.rounds = num(&name, &v)? as usize,
            "requests" => plan.requests = num(&name, &v)?,
            "clients" => plan.clients = num(&name, &v)? as u32,
            "tests" => plan.tests = v.split(',').map(|t| t.trim().to_lowercase()).collect(),
            "pipelines" => {
                plan.pipelines = v
                    .split(',')
                    .map(|p| num(&name, p.trim()).map(|n| n as u32))
                    .collect::<Result<_>>()?
            }
            "memory" => {
                plan.memory_items = v
                    .parse()
                    .map_err(|_| format!("--memory wants a number, not {v:?}"))?
            }
            "control" => {
                plan.control = match v.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err(format!("--control wants on or off, not {v:?}")),
                }
            }
            "pin" if v == "none" => plan.pin = None,
            "pin" => {
                let cpus: Vec<u32> = v.split(',').filter_map(|c| c.trim().parse().ok()).collect();
                let [server, client] = cpus[..] else {
                    return Err(format!(
                        "--pin wants SERVER_CPU,CLIENT_CPU (such as 0,1) or none, not {v:?}"
                    ));
                };
                plan.pin = Some((server, client));
            }
            _ => unreachable!("options() only returns known names"),
        }
    }
    Ok(plan)
}

/// `cargo xtask bench`.
pub fn run(args: &[String]) -> Result {
    let plan = parse_plan(args)?;
    for tool in ["redis-server", "redis-benchmark"] {
        if !crate::proc::have(tool) {
            return Err(format!(
                "{tool} is missing: apt-get install -y redis-server redis-tools"
            ));
        }
    }
    let version = Command::new("redis-server")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if !version.contains("v=7.0.15") {
        println!("note: the reference is redis-server 7.0.15; this is: {version}");
    }
    let tandem_bin = build_tandem_release()?;

    let mut targets = vec![
        bench_server("tandem", &tandem_bin, &[])?,
        bench_server("redis", &tandem_bin, &[])?,
    ];
    if plan.control {
        targets.push(bench_server("redis-control", &tandem_bin, &[])?);
    }
    if let Some((cpu, _)) = plan.pin {
        for server in &targets {
            // `-a`: every thread of the process.
            let mut c = Command::new("taskset");
            c.args([
                "-a",
                "-p",
                "-c",
                &cpu.to_string(),
                &server.pid().to_string(),
            ]);
            c.stdout(std::process::Stdio::null());
            let status = c.status().map_err(|e| format!("`{}`: {e}", show(&c)))?;
            if !status.success() {
                return Err(format!("`{}` failed ({status})", show(&c)));
            }
        }
    }
    for test in plan.tests.iter().filter_map(|t| custom_test(t)) {
        for server in &targets {
            let reply = send_command(server.port, &(test.setup)())?;
            if reply.starts_with('-') {
                return Err(format!(
                    "{}: setup of {} failed: {reply}",
                    server.name, test.name
                ));
            }
        }
    }

    let warmup = Plan {
        requests: (plan.requests / 10).max(1),
        ..plan.clone()
    };
    for server in &targets {
        for &p in &plan.pipelines {
            bench_once(&warmup, server.port, p)?;
        }
    }
    println!("warm-up done ({} requests per row)", warmup.requests);

    // (pipeline, test name as redis-benchmark prints it) -> samples per target.
    let mut samples: BTreeMap<(u32, String), Vec<Vec<Sample>>> = BTreeMap::new();
    for round in 1..=plan.rounds {
        for ti in round_order(round, targets.len()) {
            let server = &targets[ti];
            for &p in &plan.pipelines {
                let rows = bench_once(&plan, server.port, p)?;
                let line: Vec<String> = rows
                    .iter()
                    .map(|(name, s)| format!("{name} {:.0} ({:.0}%)", s.rps, s.client_busy * 100.0))
                    .collect();
                println!(
                    "round {round}/{} {:<6} -P {p:<3} {}",
                    plan.rounds,
                    server.name,
                    line.join("  ")
                );
                for (name, sample) in rows {
                    samples
                        .entry((p, name))
                        .or_insert_with(|| vec![Vec::new(); targets.len()])[ti]
                        .push(sample);
                }
            }
        }
    }
    drop(targets);

    let pinned = match plan.pin {
        Some((s, c)) => format!(", servers pinned to CPU {s}, client to CPU {c}"),
        None => ", nothing pinned".to_string(),
    };
    println!(
        "\nredis-benchmark -n {} -c {}, {} rounds (median rps){pinned}\n",
        plan.requests, plan.clients, plan.rounds
    );
    let (control_head, control_rule) = match plan.control {
        true => (
            format!(" {:>23} |", "redis/redis (range)"),
            format!("{:->25}|", ""),
        ),
        false => (String::new(), String::new()),
    };
    println!(
        "| {:<28} | {:>8} | {:>12} | {:>12} | {:>5} | {:>11} | {:>13} | {:>12} |{control_head}",
        "test",
        "pipeline",
        "tandem rps",
        "redis rps",
        "ratio",
        "ratio range",
        "client tandem",
        "client redis"
    );
    println!(
        "|{:-<30}|{:->10}|{:->14}|{:->14}|{:->7}|{:->13}|{:->15}|{:->14}|{control_rule}",
        "", "", "", "", "", "", "", ""
    );
    let order = |name: &str| {
        plan.tests
            .iter()
            .position(|t| name.to_lowercase().starts_with(t.as_str()))
            .unwrap_or(usize::MAX)
    };
    let mut keys: Vec<&(u32, String)> = samples.keys().collect();
    keys.sort_by_key(|(p, name)| (*p, order(name), name.clone()));
    for key in keys {
        let runs = &samples[key];
        let summary = Summary::of(&runs[0], &runs[1]);
        let control = match runs.get(2) {
            Some(c) => {
                let c = Summary::of(c, &runs[1]);
                format!(
                    " {:>23} |",
                    format!("{:.2} ({:.2}-{:.2})", c.ratio, c.ratio_low, c.ratio_high)
                )
            }
            None => String::new(),
        };
        println!(
            "| {:<28} | {:>8} | {:>12.0} | {:>12.0} | {:>5.2} | {:>11} | {:>12.0}% | {:>11.0}% |{control}",
            key.1,
            key.0,
            summary.tandem_rps,
            summary.redis_rps,
            summary.ratio,
            format!("{:.2}-{:.2}", summary.ratio_low, summary.ratio_high),
            summary.tandem_client_busy * 100.0,
            summary.redis_client_busy * 100.0
        );
    }
    if plan.memory_items > 0 {
        crate::bench_mem::report(&tandem_bin, plan.memory_items)?;
    }
    Ok(())
}

/// The order of the servers in a round: rotated by one each round (two
/// servers: A B, B A, ...; three: A B C, B C A, C A B, ...), so none
/// always runs on a machine another just warmed or tired, and a steady
/// drift of the machine's speed cancels out.
fn round_order(round: usize, servers: usize) -> Vec<usize> {
    (0..servers).map(|i| (round - 1 + i) % servers).collect()
}

/// One row of one run: requests per second, and how busy the client was.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    rps: f64,
    /// `redis-benchmark`'s CPU time (user + system) over its wall time, for
    /// the run that printed the row.
    client_busy: f64,
}

/// One row of the table, from the samples of every round.
#[derive(Debug, PartialEq)]
struct Summary {
    tandem_rps: f64,
    redis_rps: f64,
    /// Median of the per-round ratios tandem/redis.
    ratio: f64,
    ratio_low: f64,
    ratio_high: f64,
    tandem_client_busy: f64,
    redis_client_busy: f64,
}

impl Summary {
    /// `tandem[i]` and `redis[i]` are round i's runs.
    fn of(tandem: &[Sample], redis: &[Sample]) -> Summary {
        let ratios: Vec<f64> = tandem
            .iter()
            .zip(redis)
            .map(|(t, r)| if r.rps > 0.0 { t.rps / r.rps } else { f64::NAN })
            .collect();
        let field =
            |v: &[Sample], f: fn(&Sample) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
        Summary {
            tandem_rps: field(tandem, |s| s.rps),
            redis_rps: field(redis, |s| s.rps),
            ratio: median(&ratios),
            ratio_low: ratios.iter().copied().fold(f64::INFINITY, f64::min),
            ratio_high: ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            tandem_client_busy: field(tandem, |s| s.client_busy),
            redis_client_busy: field(redis, |s| s.client_busy),
        }
    }
}

/// The `redis-benchmark` runs of one round on one server: one run per
/// test, so each row gets its own client CPU figure (a `lrange_*` run
/// includes the `LPUSH` that fills its list, as `redis-benchmark` does it).
fn bench_once(plan: &Plan, port: u16, pipeline: u32) -> Result<Vec<(String, Sample)>> {
    let mut rows = Vec::new();
    for test in &plan.tests {
        match custom_test(test) {
            None => rows.extend(run_benchmark(plan, port, pipeline, &["-t", test])?),
            Some(custom) => {
                let args: Vec<&str> = custom
                    .options
                    .iter()
                    .chain(custom.command)
                    .copied()
                    .collect();
                let found = run_benchmark(plan, port, pipeline, &args)?;
                rows.extend(found.into_iter().map(|(_, s)| (custom.row.to_string(), s)));
            }
        }
    }
    Ok(rows)
}

/// CPU time (user + system, seconds) of this process's finished and
/// waited-for children: fields 16 and 17 of `/proc/self/stat`, in clock
/// ticks of 1/100 s (Linux's `USER_HZ`).
fn children_cpu_seconds() -> Result<f64> {
    let stat =
        std::fs::read_to_string("/proc/self/stat").map_err(|e| format!("/proc/self/stat: {e}"))?;
    children_cpu_from_stat(&stat).ok_or_else(|| format!("/proc/self/stat: unexpected {stat:?}"))
}

fn children_cpu_from_stat(stat: &str) -> Option<f64> {
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `after_name` starts at field 3: field n is fields[n - 3].
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some((cutime + cstime) as f64 / 100.0)
}

/// One `redis-benchmark` run with `extra` arguments (`-t tests`, or a command).
fn run_benchmark(
    plan: &Plan,
    port: u16,
    pipeline: u32,
    extra: &[&str],
) -> Result<Vec<(String, Sample)>> {
    let mut c = match plan.pin {
        Some((_, cpu)) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpu.to_string(), "redis-benchmark"]);
            c
        }
        None => Command::new("redis-benchmark"),
    };
    c.args(["-h", "127.0.0.1", "-p", &port.to_string()]);
    c.args([
        "-n",
        &plan.requests.to_string(),
        "-c",
        &plan.clients.to_string(),
        "-P",
        &pipeline.to_string(),
        "-q",
        "--csv",
    ]);
    // A custom command goes last, after the options.
    c.args(extra);
    let line = show(&c);
    let cpu_before = children_cpu_seconds()?;
    let started = std::time::Instant::now();
    let out = c
        .output()
        .map_err(|e| format!("could not run `{line}`: {e}"))?;
    let wall = started.elapsed().as_secs_f64();
    let client_busy = (children_cpu_seconds()? - cpu_before) / wall.max(1e-9);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || stderr.contains("Error") {
        return Err(format!("`{line}` failed ({}): {stderr}", out.status));
    }
    let rows = parse_csv(&String::from_utf8_lossy(&out.stdout));
    if rows.is_empty() {
        return Err(format!("`{line}` printed no results"));
    }
    Ok(rows
        .into_iter()
        .map(|(name, rps)| (name, Sample { rps, client_busy }))
        .collect())
}

/// Parse `redis-benchmark --csv` output: `"SET","75930.14",...` per test.
fn parse_csv(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split("\",\"");
            let name = f.next()?.trim_start_matches('"').to_string();
            let rps = f.next()?.trim_end_matches('"').parse::<f64>().ok()?;
            Some((name, rps))
        })
        .collect()
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_and_medians() {
        let text = "\"test\",\"rps\",\"avg_latency_ms\"\n\"SET\",\"75930.14\",\"0.365\"\n\"LRANGE_100 (first 100 elements)\",\"1000.5\",\"1\"\n";
        assert_eq!(
            parse_csv(text),
            vec![
                ("SET".to_string(), 75930.14),
                ("LRANGE_100 (first 100 elements)".to_string(), 1000.5)
            ]
        );
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn ratio_is_the_median_of_paired_rounds() {
        let s = |rps, client_busy| Sample { rps, client_busy };
        // Round 2 is slow for both servers: pairing keeps its ratio at 1.
        let tandem = [s(100.0, 0.9), s(50.0, 1.0), s(120.0, 0.8)];
        let redis = [s(110.0, 0.5), s(50.0, 0.7), s(100.0, 0.6)];
        let summary = Summary::of(&tandem, &redis);
        assert_eq!(summary.tandem_rps, 100.0);
        assert_eq!(summary.redis_rps, 100.0);
        assert_eq!(summary.ratio, 1.0);
        assert_eq!(summary.ratio_low, 100.0 / 110.0);
        assert_eq!(summary.ratio_high, 1.2);
        assert_eq!(summary.tandem_client_busy, 0.9);
        assert_eq!(summary.redis_client_busy, 0.6);
    }

    #[test]
    fn rounds_alternate_which_server_goes_first() {
        let firsts: Vec<usize> = (1..=4).map(|r| round_order(r, 2)[0]).collect();
        assert_eq!(firsts, [0, 1, 0, 1]);
        let firsts: Vec<usize> = (1..=4).map(|r| round_order(r, 3)[0]).collect();
        assert_eq!(firsts, [0, 1, 2, 0]);
        for (r, n) in [(1, 2), (2, 2), (1, 3), (2, 3), (3, 3)] {
            let mut all = round_order(r, n);
            all.sort();
            assert_eq!(all, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn children_cpu_from_proc_stat() {
        // A command name with spaces and parentheses; cutime 250, cstime 125.
        let stat = "4242 (x (a b)) S 1 4242 4242 0 -1 4194304 100 200 0 0 7 3 250 125 20 0 1 0 99";
        assert_eq!(children_cpu_from_stat(stat), Some(3.75));
        assert_eq!(children_cpu_from_stat("4242 (x) S 1"), None);
        let own = children_cpu_seconds().unwrap();
        assert!(own >= 0.0, "{own}");
    }

    #[test]
    fn control_option() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!parse_plan(&args(&[])).unwrap().control);
        assert!(parse_plan(&args(&["--control", "on"])).unwrap().control);
        assert!(!parse_plan(&args(&["--control", "off"])).unwrap().control);
        assert!(parse_plan(&args(&["--control", "yes"])).is_err());
    }

    #[test]
    fn pin_option() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_plan(&args(&[])).unwrap().pin, default_pin());
        assert_eq!(parse_plan(&args(&["--pin", "none"])).unwrap().pin, None);
        assert_eq!(
            parse_plan(&args(&["--pin", "0,1"])).unwrap().pin,
            Some((0, 1))
        );
        for bad in ["0", "0,1,2", "a,b", ""] {
            assert!(parse_plan(&args(&["--pin", bad])).is_err(), "{bad:?}");
        }
    }
}
