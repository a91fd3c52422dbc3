//! Processes and paths shared by the tasks: running a command with its
//! command line printed, finding the workspace and its binaries, free ports,
//! and server processes (`tandem`, `redis-server`) that are stopped when
//! dropped.

use crate::Result;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The cargo target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The cargo that runs us.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Print a command line the way a shell would show it.
pub fn show(cmd: &Command) -> String {
    let program = cmd.get_program().to_string_lossy();
    // `$CARGO` is a full path into the toolchain; show it as typed.
    let mut s = if std::env::var("CARGO").is_ok_and(|c| c == program) {
        "cargo".to_string()
    } else {
        program.into_owned()
    };
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(' ') {
            s.push_str(&format!(" '{a}'"));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

/// Run a command to completion, echoing it first; error if it fails.
pub fn run(mut cmd: Command) -> Result {
    let line = show(&cmd);
    println!("\n==> {line}");
    let _ = std::io::stdout().flush();
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Whether `program` is on PATH (it runs with `--version`).
pub fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether we run as root (may install system packages).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Build `tandem` in release mode and return its path.
pub fn build_tandem_release() -> Result<PathBuf> {
    let mut c = cargo();
    c.args([
        "build",
        "--release",
        "-p",
        "tandem-native",
        "--bin",
        "tandem",
    ]);
    run(c)?;
    Ok(target_dir().join("release").join("tandem"))
}

/// `cargo run [--release] -p tandem-core --example <name> -- <args>`.
pub fn run_core_example(name: &str, release: bool, args: &[String]) -> Result {
    let mut c = cargo();
    c.arg("run");
    if release {
        c.arg("--release");
    }
    c.args(["-p", "tandem-core", "--example", name, "--"]);
    c.args(args);
    run(c)
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind port 0: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local addr: {e}"))
}

/// A benchmark's server: `tandem` (from `tandem_bin`) or `redis-server`
/// (`name` says which), on a free loopback port, with no save points and
/// an empty directory of its own, so it neither loads a `dump.rdb` left
/// in the working directory nor writes one there when it stops.
pub fn bench_server(name: &str, tandem_bin: &Path, extra_args: &[&str]) -> Result<Server> {
    let port = free_port()?;
    let dir = std::env::temp_dir().join(format!("tandem-bench-{name}-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut cmd = Command::new(if name == "tandem" {
        tandem_bin.as_os_str()
    } else {
        "redis-server".as_ref()
    });
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
    ]);
    cmd.arg("--dir").arg(&dir);
    cmd.args(extra_args);
    if name != "tandem" {
        cmd.args(["--appendonly", "no"]);
    }
    Server::start(name, cmd, port, true)
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`); 0 if the
/// process is gone.
pub fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(field)
                    .and_then(|v| v.strip_prefix(':'))
                    .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
            })
        })
        .unwrap_or(0)
}

/// A server process (`tandem` or `redis-server`) killed when dropped.
pub struct Server {
    /// What it is, for messages.
    pub name: String,
    /// Its loopback port.
    pub port: u16,
    child: Child,
}

impl Server {
    /// Start `program args..` and wait until it answers PING on `port`.
    pub fn start(name: &str, mut cmd: Command, port: u16, quiet: bool) -> Result<Server> {
        if quiet {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let line = show(&cmd);
        println!("==> {line}");
        let child = cmd
            .spawn()
            .map_err(|e| format!("could not start `{line}`: {e}"))?;
        let mut s = Server {
            name: name.to_string(),
            port,
            child,
        };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = s.child.try_wait() {
                return Err(format!("{name} exited at start ({status}): `{line}`"));
            }
            if ping(port) {
                return Ok(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "{name} did not answer PING on port {port} within 20 s"
        ))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Ask the process to stop (SIGTERM via `kill`), wait a little, then kill it.
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether something on `port` answers `PING` with `+PONG`.
pub fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}
