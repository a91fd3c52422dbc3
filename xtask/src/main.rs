//! `cargo xtask`: Tandem's task runner, the two commands of the README and
//! the benchmark.
//!
//! * `cargo xtask play`: the browser playground at http://127.0.0.1:8080
//!   and a local cluster (master on 6379, replicas on 6380 and 6381) until
//!   Ctrl-C.
//! * `cargo xtask e2e`: the playground page's browser tests (Playwright).
//! * `cargo xtask bench-web`: the page's frame rate with 8 nodes at 1,000
//!   simulated writes/s.
//! * `cargo xtask test`: install what is missing, then every check CI runs
//!   (fmt, clippy `-D warnings`, the core's wasm32 build, all tests including
//!   the differential tests against a real `redis-server`).
//! * `cargo xtask bench`: `redis-benchmark` against `tandem` and
//!   `redis-server` in alternating rounds, medians and ratios.
//!
//! Everything here is plain `std::process`: each step prints the command it
//! runs, so a failing step can be rerun by hand.
#![forbid(unsafe_code)]

mod bench;
mod bench_mem;
mod bench_rdb;
mod bench_repl;
mod e2e;
mod fuzz;
mod play;
mod proc;
mod setup;
mod sim;
mod web;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  play     the browser playground (WASM) at http://127.0.0.1:8080, and a local
           cluster: master on 6379, replicas on 6380 and 6381, until Ctrl-C
           options: --port N (master; replicas N+1, N+2)  --web-port W (8080)
  e2e      build the WASM package and run the page's Playwright tests in
           Chromium (screenshots in target/e2e-artifacts)
  bench-web  the page's frames per second and frame work (simulate, read,
           draw) with 8 nodes at 1,000 writes/s, in Chromium; no assertion on speed
           options: --seconds N (10)
  test     install what is missing, then fmt, clippy -D warnings, the core's
           wasm32 build and every test (cargo test --workspace)
  bench    redis-benchmark against tandem and redis-server, alternating rounds
           after a warm-up; per row the median of paired ratios, their range,
           and the client's CPU use
           options: --rounds N (3)  --requests N (200000)  --clients N (50)
                    --tests set,get,incr  --pipelines 1,16
                    --pin S,C (servers on CPU S, client on C; 0,1) | none
                    --control on|off (off; a second redis-server, whose ratio
                    to the first is each row's noise floor)
                    --memory N (1000000; RSS after N hash fields / set members /
                    zset members, 100 per key and all in one key; 0 skips)
  bench-repl  replication tandem->tandem vs redis->redis: full sync time and
           master peak RSS, partial resync time, lag under write load
           options: --keys N (100000)
  bench-rdb  snapshots on 1M keys, tandem vs redis-server: longest client stall
           at BGSAVE start, SAVE time and file size (strings, mixed types),
           startup load time, RSS
           options: --keys N (1000000)  --tandem-bin PATH (instead of building)
           --only stall,strings,mixed (some parts)
  sim      the deterministic simulator: --seeds A..B [--faults k1,k2] [--regressions FILE], --seed S --trace, --seed S --shrink
  fuzz rdb the RDB decoder fuzzer (stable Rust, seeded mutations of the golden files)
           options: --seconds N  --seed S
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("play") => play::run(&args[1..]),
        Some("test") => setup::test(&args[1..]),
        Some("e2e") => crate::options(&args[1..], &[]).and_then(|_| e2e::run_e2e()),
        Some("bench-web") => e2e::run_bench_web(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("bench-repl") => bench_repl::run(&args[1..]),
        Some("bench-rdb") => bench_rdb::run(&args[1..]),
        Some("fuzz") => fuzz::run_fuzz(&args[1..]),
        Some("sim") => sim::run_sim(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What every task returns: a message for the user on failure.
pub type Result<T = ()> = std::result::Result<T, String>;

/// Parse `--name value` options into a list of pairs; rejects anything else.
pub fn options(args: &[String], known: &[&str]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let name = a
            .strip_prefix("--")
            .filter(|n| known.contains(n))
            .ok_or_else(|| match known {
                [] => format!("unknown option {a:?}: this command takes no options"),
                _ => format!("unknown option {a:?} (known: --{})", known.join(", --")),
            })?;
        let value = it
            .next()
            .ok_or_else(|| format!("option {a} needs a value"))?;
        out.push((name.to_string(), value.clone()));
    }
    Ok(out)
}
