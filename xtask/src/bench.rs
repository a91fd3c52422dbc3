//! `cargo xtask bench`: throughput of `tandem` against `redis-server` 7.0.15
//! on the same machine, measured by `redis-benchmark`.
//!
//! Both servers run side by side on free loopback ports (redis-server with
//! `--save '' --appendonly no`). Each round runs every pipeline depth
//! against tandem, then against redis (A B A B ...), so slow drifts of the
//! machine hit both alike; the table shows per-row medians and the ratio
//! tandem/redis. The tests (rows) and pipeline depths are parameters:
//! `--tests set,get,lpush,lrange_100` picks rows without code changes.
//! Besides `redis-benchmark`'s own tests there are rows it has no test for,
//! run as a custom command on a key filled the same way in both servers:
//! `zrange_100` (`ZRANGE` of 100 members, `WITHSCORES`, from a 200-member
//! sorted set: the skiplist encoding in both).
//!
//! Servers and client run on separate CPUs: by default both servers (every
//! thread) on CPU 0 and every `redis-benchmark` on CPU 1 (`taskset`), the
//! same for tandem and redis, as Redis's own compiler-benchmark scripts
//! bind server and benchmark to two cores. Unpinned on a 2-CPU machine the
//! two processes take turns on the same CPU and the ratios swing by ±15%
//! from run to run (measured 2026-11-26). `--pin S,C` picks other CPUs,
//! `--pin none` leaves placement to the scheduler; a machine with one CPU
//! is never pinned.

use crate::proc::{bench_server, build_tandem_release, show};
use crate::Result;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;

/// A row `redis-benchmark` has no built-in test for: its name in `--tests`,
/// the name it gets in the table, the setup command, and the command timed.
struct CustomTest {
    name: &'static str,
    row: &'static str,
    setup: fn() -> Vec<String>,
    command: &'static [&'static str],
}

const CUSTOM_TESTS: &[CustomTest] = &[CustomTest {
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
    command: &["ZRANGE", "bench:zset", "0", "99", "WITHSCORES"],
}];

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
            ]
            .map(String::from)
            .to_vec(),
            pipelines: vec![1, 16],
            memory_items: 1_000_000,
            pin: default_pin(),
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

    let tandem = bench_server("tandem", &tandem_bin, &[])?;
    let redis = bench_server("redis", &tandem_bin, &[])?;
    let targets = [&tandem, &redis];
    if let Some((cpu, _)) = plan.pin {
        for server in targets {
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
        for server in targets {
            let reply = send_command(server.port, &(test.setup)())?;
            if reply.starts_with('-') {
                return Err(format!(
                    "{}: setup of {} failed: {reply}",
                    server.name, test.name
                ));
            }
        }
    }

    // (pipeline, test name as redis-benchmark prints it) -> rps per target.
    let mut samples: BTreeMap<(u32, String), [Vec<f64>; 2]> = BTreeMap::new();
    for round in 1..=plan.rounds {
        for (ti, server) in targets.iter().enumerate() {
            for &p in &plan.pipelines {
                let rows = bench_once(&plan, server.port, p)?;
                let line: Vec<String> = rows
                    .iter()
                    .map(|(name, rps)| format!("{name} {rps:.0}"))
                    .collect();
                println!(
                    "round {round}/{} {:<6} -P {p:<3} {}",
                    plan.rounds,
                    server.name,
                    line.join("  ")
                );
                for (name, rps) in rows {
                    samples.entry((p, name)).or_default()[ti].push(rps);
                }
            }
        }
    }
    drop(tandem);
    drop(redis);

    let pinned = match plan.pin {
        Some((s, c)) => format!(", servers pinned to CPU {s}, client to CPU {c}"),
        None => ", nothing pinned".to_string(),
    };
    println!(
        "\nredis-benchmark -n {} -c {}, {} rounds (median rps){pinned}\n",
        plan.requests, plan.clients, plan.rounds
    );
    println!(
        "| {:<28} | {:>8} | {:>12} | {:>12} | {:>5} |",
        "test", "pipeline", "tandem rps", "redis rps", "ratio"
    );
    println!(
        "|{:-<30}|{:->10}|{:->14}|{:->14}|{:->7}|",
        "", "", "", "", ""
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
        let [t, r] = &samples[key];
        let (mt, mr) = (median(t), median(r));
        let ratio = if mr > 0.0 { mt / mr } else { f64::NAN };
        println!(
            "| {:<28} | {:>8} | {:>12.0} | {:>12.0} | {:>5.2} |",
            key.1, key.0, mt, mr, ratio
        );
    }
    if plan.memory_items > 0 {
        crate::bench_mem::report(&tandem_bin, plan.memory_items)?;
    }
    Ok(())
}

/// The `redis-benchmark` runs of one round on one server: the built-in
/// tests together, then each custom row; (test name, requests per second).
fn bench_once(plan: &Plan, port: u16, pipeline: u32) -> Result<Vec<(String, f64)>> {
    let builtin: Vec<&str> = plan
        .tests
        .iter()
        .map(String::as_str)
        .filter(|t| custom_test(t).is_none())
        .collect();
    let mut rows = Vec::new();
    if !builtin.is_empty() {
        rows.extend(run_benchmark(
            plan,
            port,
            pipeline,
            &["-t", &builtin.join(",")],
        )?);
    }
    for test in plan.tests.iter().filter_map(|t| custom_test(t)) {
        let found = run_benchmark(plan, port, pipeline, test.command)?;
        rows.extend(
            found
                .into_iter()
                .map(|(_, rps)| (test.row.to_string(), rps)),
        );
    }
    Ok(rows)
}

/// One `redis-benchmark` run with `extra` arguments (`-t tests`, or a command).
fn run_benchmark(
    plan: &Plan,
    port: u16,
    pipeline: u32,
    extra: &[&str],
) -> Result<Vec<(String, f64)>> {
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
    let out = c
        .output()
        .map_err(|e| format!("could not run `{line}`: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || stderr.contains("Error") {
        return Err(format!("`{line}` failed ({}): {stderr}", out.status));
    }
    let rows = parse_csv(&String::from_utf8_lossy(&out.stdout));
    if rows.is_empty() {
        return Err(format!("`{line}` printed no results"));
    }
    Ok(rows)
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
