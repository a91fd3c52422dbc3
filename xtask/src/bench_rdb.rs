//! `cargo xtask bench-rdb`: snapshots and RDB files side by side, `tandem`
//! against `redis-server` 7.0.15 on the same data (loopback, one server at a
//! time):
//!
//! * the longest reply a client sees around `BGSAVE` start on N string keys:
//!   a client runs GETs in a tight loop, BGSAVE is sent from a second
//!   connection, and every GET's latency is recorded. Rows: the longest GET
//!   in the 100 ms before BGSAVE (the machine's noise floor), the longest GET
//!   in flight within 100 ms of BGSAVE start, the longest and the 99th
//!   percentile while the save ran (Redis pays for `fork()`, Tandem for its
//!   copy-on-write snapshot; both encode the file off the serving thread).
//!   The client polling for the end uses `INFO persistence`, as a
//!   monitoring tool would. Three BGSAVEs per server; each row is the
//!   median of the three;
//! * `SAVE` time (client round trip) and file size, for N string keys and for
//!   N keys of mixed types (small and big hashes, lists, sets, sorted sets);
//! * startup load time of those files: from starting the process until it
//!   answers PING with `+PONG` (not `-LOADING`), DBSIZE checked;
//! * RSS with the N string keys loaded.
//!
//! Target (issue #4): time and size ratios at most 1.0, longest stall at
//! BGSAVE start under 5 ms.

use crate::bench_repl::{fill, Client};
use crate::proc::{build_tandem_release, free_port, Server};
use crate::Result;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one server measured.
#[derive(Default)]
struct Row {
    rss_kb: u64,
    before_max_ms: f64,
    start_max_ms: f64,
    during_max_ms: f64,
    during_p99_ms: f64,
    bgsave_s: f64,
    save_strings_s: f64,
    size_strings: u64,
    load_strings_s: f64,
    save_mixed_s: f64,
    size_mixed: u64,
    load_mixed_s: f64,
}

/// A server with its data directory; restarting it loads `dump.rdb`.
struct Node {
    kind: &'static str,
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    server: Option<Server>,
}

impl Node {
    fn new(kind: &'static str, bin: &Path) -> Result<Node> {
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("tandem-bench-rdb-{kind}-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Node {
            kind,
            bin: bin.to_path_buf(),
            dir,
            port,
            server: None,
        })
    }

    /// Start the process and wait until it answers PING (after any load).
    fn start(&mut self) -> Result<Duration> {
        let mut cmd = Command::new(if self.kind == "tandem" {
            self.bin.as_os_str()
        } else {
            "redis-server".as_ref()
        });
        let dir = self.dir.to_string_lossy().into_owned();
        cmd.args([
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            &dir,
            "--dbfilename",
            "dump.rdb",
        ]);
        if self.kind == "redis" {
            cmd.args(["--appendonly", "no"]);
        }
        let t = Instant::now();
        self.server = Some(Server::start(self.kind, cmd, self.port, true)?);
        Ok(t.elapsed())
    }

    fn stop(&mut self) {
        if let Some(mut s) = self.server.take() {
            s.stop();
        }
    }

    fn pid(&self) -> u32 {
        self.server.as_ref().map_or(0, Server::pid)
    }

    fn file_size(&self) -> u64 {
        std::fs::metadata(self.dir.join("dump.rdb")).map_or(0, |m| m.len())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The resident set size of a process, in kB (0 if it is gone).
pub(crate) fn rss_kb(pid: u32) -> u64 {
    crate::proc::status_kb(pid, "VmRSS")
}

/// One GET: when it was sent and how long its reply took.
struct Sample {
    sent: Instant,
    took: Duration,
}

/// GETs in a tight loop on their own connection until `stop`.
fn get_loop(port: u16, keys: u64, stop: Arc<AtomicBool>) -> Result<Vec<Sample>> {
    let mut c = Client::connect(port)?;
    let mut samples = Vec::with_capacity(1 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while !stop.load(Ordering::Relaxed) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = format!("key:{:010}", x % keys.max(1));
        let sent = Instant::now();
        c.cmd(&["GET", &key])?;
        samples.push(Sample {
            sent,
            took: sent.elapsed(),
        });
    }
    Ok(samples)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Three BGSAVEs under a GET loop; the stall rows are their medians.
fn measure_stall(node: &Node, keys: u64, row: &mut Row) -> Result {
    let mut runs = Vec::new();
    for _ in 0..3 {
        let mut r = Row::default();
        stall_once(node, keys, &mut r)?;
        runs.push(r);
    }
    let median = |f: &dyn Fn(&Row) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    row.before_max_ms = median(&|r| r.before_max_ms);
    row.start_max_ms = median(&|r| r.start_max_ms);
    row.during_max_ms = median(&|r| r.during_max_ms);
    row.during_p99_ms = median(&|r| r.during_p99_ms);
    row.bgsave_s = median(&|r| r.bgsave_s);
    Ok(())
}

/// One BGSAVE while a client runs GETs.
fn stall_once(node: &Node, keys: u64, row: &mut Row) -> Result {
    let stop = Arc::new(AtomicBool::new(false));
    let port = node.port;
    let flag = stop.clone();
    let getter = std::thread::spawn(move || get_loop(port, keys, flag));
    let mut ctl = Client::connect(node.port)?;
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    let reply = ctl.cmd(&["BGSAVE"])?;
    if !reply.contains("Background saving started") {
        return Err(format!("{}: BGSAVE answered {reply:?}", node.kind));
    }
    loop {
        if ctl.info_field("persistence", "rdb_bgsave_in_progress")? == "0" {
            break;
        }
        if t0.elapsed() > Duration::from_secs(600) {
            return Err(format!("{}: BGSAVE did not finish", node.kind));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let t1 = Instant::now();
    row.bgsave_s = (t1 - t0).as_secs_f64();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let samples = getter
        .join()
        .map_err(|_| "the GET loop panicked".to_string())??;
    let overlaps = |s: &Sample, a: Instant, b: Instant| s.sent <= b && s.sent + s.took >= a;
    let longest = |pick: &dyn Fn(&Sample) -> bool| {
        samples
            .iter()
            .filter(|s| pick(s))
            .map(|s| ms(s.took))
            .fold(0.0, f64::max)
    };
    let window = Duration::from_millis(100);
    row.before_max_ms = longest(&|s| s.sent >= t0 - window && s.sent + s.took < t0);
    row.start_max_ms = longest(&|s| overlaps(s, t0, t0 + window));
    row.during_max_ms = longest(&|s| overlaps(s, t0, t1));
    let mut during: Vec<f64> = samples
        .iter()
        .filter(|s| overlaps(s, t0, t1))
        .map(|s| ms(s.took))
        .collect();
    during.sort_by(f64::total_cmp);
    row.during_p99_ms = during
        .get((during.len().saturating_sub(1)) * 99 / 100)
        .copied()
        .unwrap_or(0.0);
    Ok(())
}

/// Pipelined commands, `batch` at a time, every reply read.
/// Send commands 1,000 at a time on one connection, reading every reply.
pub(crate) fn pipeline(port: u16, commands: impl Iterator<Item = Vec<Vec<u8>>>) -> Result {
    let mut c = Client::connect(port)?;
    let mut out = Vec::new();
    let mut pending = 0;
    let flush = |c: &mut Client, out: &mut Vec<u8>, pending: &mut usize| -> Result {
        c.w.write_all(out).map_err(|e| e.to_string())?;
        out.clear();
        for _ in 0..*pending {
            c.reply()?;
        }
        *pending = 0;
        Ok(())
    };
    for args in commands {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in &args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        pending += 1;
        if pending == 1000 {
            flush(&mut c, &mut out, &mut pending)?;
        }
    }
    flush(&mut c, &mut out, &mut pending)
}

/// `keys` keys of every type: two in five strings, one hash of 5 fields,
/// one list of 8 elements, one intset or sorted set of 8 members; plus 10
/// big ones of each collection type (10,000 elements: hashtable, skiplist,
/// quicklist with many nodes).
fn fill_mixed(port: u16, keys: u64) -> Result {
    let b = |s: String| s.into_bytes();
    let small = (0..keys).map(move |k| {
        let n = |i: u64| (k * 8 + i).to_string();
        match k % 5 {
            0 | 1 => vec![
                b("SET".into()),
                b(format!("s:{k}")),
                b(format!("value-{k}")),
            ],
            2 => {
                let mut c = vec![b("HSET".into()), b(format!("h:{k}"))];
                for i in 0..5 {
                    c.push(b(format!("field{i}")));
                    c.push(b(format!("v{}", n(i))));
                }
                c
            }
            3 => {
                let mut c = vec![b("RPUSH".into()), b(format!("l:{k}"))];
                c.extend((0..8).map(|i| b(format!("item-{}", n(i)))));
                c
            }
            _ if k % 10 == 4 => {
                let mut c = vec![b("SADD".into()), b(format!("i:{k}"))];
                c.extend((0..8).map(|i| b(n(i))));
                c
            }
            _ => {
                let mut c = vec![b("ZADD".into()), b(format!("z:{k}"))];
                for i in 0..8 {
                    c.push(b(format!("{}.5", n(i))));
                    c.push(b(format!("m-{}", n(i))));
                }
                c
            }
        }
    });
    let big = (0..10u64).flat_map(|j| {
        (0..100u64).flat_map(move |chunk| {
            let r = chunk * 100..chunk * 100 + 100;
            let mut h = vec![b("HSET".into()), b(format!("bigh:{j}"))];
            let mut l = vec![b("RPUSH".into()), b(format!("bigl:{j}"))];
            let mut s = vec![b("SADD".into()), b(format!("bigs:{j}"))];
            let mut z = vec![b("ZADD".into()), b(format!("bigz:{j}"))];
            for i in r {
                h.push(b(format!("field-{i}")));
                h.push(b(format!("value-{i}")));
                l.push(b(format!("element-{i}")));
                s.push(b(format!("member-{i}")));
                z.push(b(i.to_string()));
                z.push(b(format!("member-{i}")));
            }
            [h, l, s, z]
        })
    });
    pipeline(port, small.chain(big))
}

/// Restart the node (it loads `dump.rdb`) and check it holds `keys` keys.
fn reload(node: &mut Node, keys: u64) -> Result<f64> {
    node.stop();
    let took = node.start()?;
    let mut c = Client::connect(node.port)?;
    let n: u64 = c.cmd(&["DBSIZE"])?.parse().unwrap_or(0);
    if n != keys {
        return Err(format!(
            "{}: {n} keys after loading, expected {keys}",
            node.kind
        ));
    }
    Ok(took.as_secs_f64())
}

fn save(node: &Node) -> Result<f64> {
    let mut c = Client::connect(node.port)?;
    let t = Instant::now();
    let reply = c.cmd(&["SAVE"])?;
    if reply != "OK" {
        return Err(format!("{}: SAVE answered {reply:?}", node.kind));
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Which parts of the benchmark run (`--only`): all by default.
#[derive(Clone, Copy, Default)]
struct Parts {
    stall: bool,
    strings: bool,
    mixed: bool,
}

impl Parts {
    fn parse(list: &str) -> Result<Parts> {
        let mut p = Parts::default();
        for name in list.split(',') {
            match name.trim() {
                "stall" => p.stall = true,
                "strings" => p.strings = true,
                "mixed" => p.mixed = true,
                other => {
                    return Err(format!(
                        "--only takes stall, strings, mixed (comma-separated), not {other:?}"
                    ))
                }
            }
        }
        Ok(p)
    }
}

fn measure(kind: &'static str, bin: &Path, keys: u64, parts: Parts) -> Result<Row> {
    let mut row = Row::default();
    let mut node = Node::new(kind, bin)?;
    node.start()?;
    if parts.stall || parts.strings {
        println!("{kind}: loading {keys} string keys");
        fill(node.port, keys)?;
        row.rss_kb = rss_kb(node.pid());
    }
    if parts.stall {
        println!("{kind}: BGSAVE under a GET loop");
        measure_stall(&node, keys, &mut row)?;
    }
    if parts.strings {
        println!("{kind}: SAVE and restart (strings)");
        row.save_strings_s = save(&node)?;
        row.size_strings = node.file_size();
        row.load_strings_s = reload(&mut node, keys)?;
    }
    if !parts.mixed {
        return Ok(row);
    }
    println!("{kind}: mixed types");
    Client::connect(node.port)?.cmd(&["FLUSHALL"])?;
    fill_mixed(node.port, keys)?;
    let mixed_keys: u64 = Client::connect(node.port)?
        .cmd(&["DBSIZE"])?
        .parse()
        .unwrap_or(0);
    row.save_mixed_s = save(&node)?;
    row.size_mixed = node.file_size();
    row.load_mixed_s = reload(&mut node, mixed_keys)?;
    Ok(row)
}

/// `cargo xtask bench-rdb [--keys N] [--tandem-bin PATH] [--only PARTS]`:
/// a given binary (e.g. an older build) instead of building this one; only
/// some parts (`stall`, `strings`, `mixed`, comma-separated; rows of the
/// parts left out read 0).
pub fn run(args: &[String]) -> Result {
    let mut keys = 1_000_000;
    let mut bin = None;
    let mut parts = Parts {
        stall: true,
        strings: true,
        mixed: true,
    };
    for (name, v) in crate::options(args, &["keys", "tandem-bin", "only"])? {
        match name.as_str() {
            "keys" => {
                keys = v
                    .parse()
                    .map_err(|_| format!("--keys wants a number, not {v:?}"))?
            }
            "only" => parts = Parts::parse(&v)?,
            _ => bin = Some(PathBuf::from(v)),
        }
    }
    let bin = match bin {
        Some(b) => b,
        None => build_tandem_release()?,
    };
    let t = measure("tandem", &bin, keys, parts)?;
    let r = measure("redis", &bin, keys, parts)?;
    println!("\nRDB snapshots, {keys} keys, tandem vs redis-server\n");
    println!(
        "| {:<44} | {:>12} | {:>12} | {:>6} |",
        "measure", "tandem", "redis", "ratio"
    );
    println!("|{:-<46}|{:->14}|{:->14}|{:->8}|", "", "", "", "");
    let line = |name: &str, a: f64, b: f64, digits: usize| {
        let ratio = if b > 0.0 { a / b } else { f64::NAN };
        println!("| {name:<44} | {a:>12.digits$} | {b:>12.digits$} | {ratio:>6.2} |");
    };
    line(
        "RSS with the string keys (MB)",
        t.rss_kb as f64 / 1024.0,
        r.rss_kb as f64 / 1024.0,
        1,
    );
    line(
        "longest GET in the 100 ms before BGSAVE (ms)",
        t.before_max_ms,
        r.before_max_ms,
        2,
    );
    line(
        "longest GET at BGSAVE start (ms)",
        t.start_max_ms,
        r.start_max_ms,
        2,
    );
    line(
        "longest GET while BGSAVE runs (ms)",
        t.during_max_ms,
        r.during_max_ms,
        2,
    );
    line(
        "99th percentile GET while BGSAVE runs (ms)",
        t.during_p99_ms,
        r.during_p99_ms,
        2,
    );
    line("BGSAVE duration (s)", t.bgsave_s, r.bgsave_s, 3);
    line("SAVE, strings (s)", t.save_strings_s, r.save_strings_s, 3);
    line(
        "file size, strings (bytes)",
        t.size_strings as f64,
        r.size_strings as f64,
        0,
    );
    line(
        "startup load, strings (s)",
        t.load_strings_s,
        r.load_strings_s,
        3,
    );
    line("SAVE, mixed types (s)", t.save_mixed_s, r.save_mixed_s, 3);
    line(
        "file size, mixed types (bytes)",
        t.size_mixed as f64,
        r.size_mixed as f64,
        0,
    );
    line(
        "startup load, mixed types (s)",
        t.load_mixed_s,
        r.load_mixed_s,
        3,
    );
    Ok(())
}
