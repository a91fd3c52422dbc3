//! `cargo xtask bench-repl`: replication side by side, tandem→tandem against
//! redis→redis on the same machine (both release/packaged builds, loopback):
//!
//! * full sync of N keys: seconds from `REPLICAOF` to `master_link_status:up`
//!   with the replica's DBSIZE equal to N, and the master's peak RSS;
//! * partial resync after a cut (`CLIENT KILL TYPE master` on the replica,
//!   then writes): seconds until the replica's offset equals the master's;
//! * replication lag under a full-speed `redis-benchmark` write load:
//!   median and p99 of `master_repl_offset - slave_repl_offset`, sampled.
//!
//! Both masters use `repl-diskless-sync-delay 0` so the configured delay does
//! not dominate the timing.

use crate::proc::{build_tandem_release, Server};
use crate::Result;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// A blocking RESP client for the benchmarks.
pub(crate) struct Client {
    r: BufReader<TcpStream>,
    pub(crate) w: TcpStream,
}

impl Client {
    pub(crate) fn connect(port: u16) -> Result<Client> {
        let s =
            TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect {port}: {e}"))?;
        let _ = s.set_nodelay(true);
        Ok(Client {
            r: BufReader::new(s.try_clone().map_err(|e| e.to_string())?),
            w: s,
        })
    }

    fn send(&mut self, args: &[&[u8]]) -> Result {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&out).map_err(|e| e.to_string())
    }

    /// Read one reply, flattened to text (bulk bodies, status, integers).
    pub(crate) fn reply(&mut self) -> Result<String> {
        let mut line = String::new();
        self.r.read_line(&mut line).map_err(|e| e.to_string())?;
        let body = line.trim_end().get(1..).unwrap_or("").to_string();
        match line.as_bytes().first() {
            Some(b'$') => {
                let n: i64 = body.parse().map_err(|_| format!("bad bulk {line:?}"))?;
                if n < 0 {
                    return Ok(String::new());
                }
                let mut buf = vec![0u8; n as usize + 2];
                self.r.read_exact(&mut buf).map_err(|e| e.to_string())?;
                buf.truncate(n as usize);
                Ok(String::from_utf8_lossy(&buf).into_owned())
            }
            Some(b'*') => {
                let n: i64 = body.parse().map_err(|_| format!("bad array {line:?}"))?;
                let mut parts = Vec::new();
                for _ in 0..n.max(0) {
                    parts.push(self.reply()?);
                }
                Ok(parts.join(" "))
            }
            Some(b'-') => Err(format!("server error: {body}")),
            _ => Ok(body),
        }
    }

    pub(crate) fn cmd(&mut self, args: &[&str]) -> Result<String> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.send(&a)?;
        self.reply()
    }

    pub(crate) fn info_field(&mut self, section: &str, field: &str) -> Result<String> {
        let text = self.cmd(&["INFO", section])?;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
            .unwrap_or_default())
    }
}

/// `keys` string keys `key:%010d` = `value-0123456789`, pipelined.
pub(crate) fn fill(port: u16, keys: u64) -> Result {
    let mut c = Client::connect(port)?;
    let batch = 1000;
    let mut i = 0;
    while i < keys {
        let n = batch.min(keys - i);
        let mut out = Vec::new();
        for k in i..i + n {
            let key = format!("key:{k:010}");
            out.extend_from_slice(
                format!(
                    "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$16\r\nvalue-0123456789\r\n",
                    key.len()
                )
                .as_bytes(),
            );
        }
        c.w.write_all(&out).map_err(|e| e.to_string())?;
        for _ in 0..n {
            c.reply()?;
        }
        i += n;
    }
    Ok(())
}

/// The peak resident set size of a process, in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    crate::proc::status_kb(pid, "VmHWM")
}

fn start(kind: &str, bin: &std::path::Path) -> Result<Server> {
    crate::proc::bench_server(kind, bin, &["--repl-diskless-sync-delay", "0"])
}

struct Row {
    full_sync_s: f64,
    peak_rss_kb: u64,
    partial_s: f64,
    lag_median: i64,
    lag_p99: i64,
}

fn wait_link(c: &mut Client, keys: Option<u64>, limit: Duration) -> Result {
    let start = Instant::now();
    while start.elapsed() < limit {
        if c.info_field("replication", "master_link_status")? == "up"
            && keys.is_none_or(|k| {
                c.cmd(&["DBSIZE"]).ok().and_then(|s| s.parse::<u64>().ok()) == Some(k)
            })
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err("replica did not come up in time".into())
}

fn measure(kind: &str, bin: &std::path::Path, keys: u64) -> Result<Row> {
    let master = start(kind, bin)?;
    let replica = start(kind, bin)?;
    fill(master.port, keys)?;
    let mut r = Client::connect(replica.port)?;
    let mut m = Client::connect(master.port)?;
    let t0 = Instant::now();
    r.cmd(&["REPLICAOF", "127.0.0.1", &master.port.to_string()])?;
    wait_link(&mut r, Some(keys), Duration::from_secs(600))?;
    let full_sync_s = t0.elapsed().as_secs_f64();
    let peak_rss_kb = peak_rss_kb(master.pid());

    // Partial resync after a cut.
    r.cmd(&["CLIENT", "KILL", "TYPE", "master"])?;
    for i in 0..1000 {
        m.cmd(&["SET", &format!("gap:{i}"), "x"])?;
    }
    let target: i64 = m
        .info_field("replication", "master_repl_offset")?
        .parse()
        .unwrap_or(0);
    let t1 = Instant::now();
    loop {
        let off: i64 = r
            .info_field("replication", "slave_repl_offset")?
            .parse()
            .unwrap_or(0);
        if off >= target {
            break;
        }
        if t1.elapsed() > Duration::from_secs(60) {
            return Err(format!("{kind}: partial resync did not finish"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let partial_s = t1.elapsed().as_secs_f64();

    // Lag under a full-speed write load.
    let mut load = Command::new("redis-benchmark")
        .args([
            "-p",
            &master.port.to_string(),
            "-t",
            "set",
            "-n",
            "300000",
            "-c",
            "50",
            "-P",
            "16",
            "-r",
            "100000",
            "-q",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("redis-benchmark: {e}"))?;
    let mut lags = Vec::new();
    while load.try_wait().map_err(|e| e.to_string())?.is_none() {
        let mo: i64 = m
            .info_field("replication", "master_repl_offset")?
            .parse()
            .unwrap_or(0);
        let ro: i64 = r
            .info_field("replication", "slave_repl_offset")?
            .parse()
            .unwrap_or(0);
        lags.push((mo - ro).max(0));
        std::thread::sleep(Duration::from_millis(5));
    }
    lags.sort_unstable();
    let pick = |q: f64| {
        lags.get(((lags.len().saturating_sub(1)) as f64 * q) as usize)
            .copied()
            .unwrap_or(0)
    };
    Ok(Row {
        full_sync_s,
        peak_rss_kb,
        partial_s,
        lag_median: pick(0.5),
        lag_p99: pick(0.99),
    })
}

/// `cargo xtask bench-repl [--keys N]`.
pub fn run(args: &[String]) -> Result {
    let mut keys = 100_000;
    for (name, v) in crate::options(args, &["keys"])? {
        if name == "keys" {
            keys = v
                .parse()
                .map_err(|_| format!("--keys wants a number, not {v:?}"))?;
        }
    }
    let bin = build_tandem_release()?;
    let t = measure("tandem", &bin, keys)?;
    let r = measure("redis", &bin, keys)?;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    println!("\nreplication, {keys} keys, tandem->tandem vs redis->redis\n");
    println!(
        "| {:<34} | {:>12} | {:>12} | {:>6} |",
        "measure", "tandem", "redis", "ratio"
    );
    println!("|{:-<36}|{:->14}|{:->14}|{:->8}|", "", "", "", "");
    println!(
        "| {:<34} | {:>12.3} | {:>12.3} | {:>6.2} |",
        "full sync (s)",
        t.full_sync_s,
        r.full_sync_s,
        ratio(t.full_sync_s, r.full_sync_s)
    );
    println!(
        "| {:<34} | {:>12} | {:>12} | {:>6.2} |",
        "master peak RSS (kB)",
        t.peak_rss_kb,
        r.peak_rss_kb,
        ratio(t.peak_rss_kb as f64, r.peak_rss_kb as f64)
    );
    println!(
        "| {:<34} | {:>12.3} | {:>12.3} | {:>6.2} |",
        "partial resync after a cut (s)",
        t.partial_s,
        r.partial_s,
        ratio(t.partial_s, r.partial_s)
    );
    println!(
        "| {:<34} | {:>12} | {:>12} | {:>6.2} |",
        "lag under load, median (bytes)",
        t.lag_median,
        r.lag_median,
        ratio(t.lag_median as f64, r.lag_median as f64)
    );
    println!(
        "| {:<34} | {:>12} | {:>12} | {:>6.2} |",
        "lag under load, p99 (bytes)",
        t.lag_p99,
        r.lag_p99,
        ratio(t.lag_p99 as f64, r.lag_p99 as f64)
    );
    Ok(())
}
