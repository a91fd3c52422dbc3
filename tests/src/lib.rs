//! Shared helpers for the integration tests: start the real `tandem` binary
//! and a real `redis-server` on free loopback ports, and talk RESP to them
//! with a tiny blocking client that keeps replies as parsed trees.

pub mod diff;
pub mod proxy;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Path of the `tandem` binary, built (once per test process) if needed.
pub fn tandem_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = workspace_root();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let profile = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&root)
            .args(["build", "--quiet", "-p", "tandem-native", "--bin", "tandem"]);
        if profile == "release" {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "building tandem failed");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("target"));
        target.join(profile).join("tandem")
    })
    .clone()
}

/// Poll `f` until it is true, panicking with `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

/// Whether `redis-server` is installed.
/// Assert that `redis-check-rdb` (7.0.15) accepts the file at `path`.
pub fn check_rdb(path: &std::path::Path) {
    let out = Command::new("redis-check-rdb")
        .arg(path)
        .output()
        .expect("run redis-check-rdb");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb rejected {}:\n{text}",
        path.display()
    );
}

pub fn have_redis() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Which implementation a [`Server`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The `tandem` binary.
    Tandem,
    /// A real `redis-server`.
    Redis,
}

/// A server process on a loopback port, killed on drop.
pub struct Server {
    /// Which implementation.
    pub kind: Kind,
    /// Its port.
    pub port: u16,
    child: Child,
    /// Its working directory (RDB files land here).
    pub dir: PathBuf,
    bin: PathBuf,
    args: Vec<String>,
}

impl Server {
    /// Start `tandem` with extra `--name value` arguments.
    pub fn tandem(extra: &[&str]) -> Server {
        Self::start(Kind::Tandem, extra)
    }

    /// Start `redis-server` with extra arguments (no persistence, DEBUG allowed).
    pub fn redis(extra: &[&str]) -> Server {
        Self::start(Kind::Redis, extra)
    }

    /// Start either kind.
    pub fn start(kind: Kind, extra: &[&str]) -> Server {
        Self::start_with_config(kind, None, extra)
    }

    /// Start either kind with a config file holding `config` (passed first,
    /// as `redis-server /path/to/redis.conf --port ..` takes it).
    pub fn start_with_config(kind: Kind, config: Option<&str>, extra: &[&str]) -> Server {
        for _attempt in 0..5 {
            let port = free_port();
            let dir =
                std::env::temp_dir().join(format!("tandem-test-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let port_s = port.to_string();
            let dir_s = dir.to_string_lossy().into_owned();
            let conf_path = dir.join("test.conf");
            let conf_s = conf_path.to_string_lossy().into_owned();
            let mut args: Vec<&str> = Vec::new();
            if let Some(text) = config {
                std::fs::write(&conf_path, text).expect("write config file");
                args.push(&conf_s);
            }
            args.extend(["--port", &port_s, "--dir", &dir_s, "--save", ""]);
            let bin: PathBuf = match kind {
                Kind::Tandem => tandem_bin(),
                Kind::Redis => {
                    args.extend(["--enable-debug-command", "yes", "--appendonly", "no"]);
                    PathBuf::from("redis-server")
                }
            };
            args.extend_from_slice(extra);
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let child = spawn(&bin, &args, &dir);
            let mut server = Server {
                kind,
                port,
                child,
                dir,
                bin,
                args,
            };
            if server.wait_ready(Duration::from_secs(20)) {
                return server;
            }
            let _ = server.child.kill();
        }
        panic!("could not start {kind:?}");
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut c) = Conn::try_connect(self.port) {
                match c.try_cmd(&["PING"]) {
                    Ok(Reply::Simple(s)) if s == "PONG" => return true,
                    // Up, but behind `requirepass`.
                    Ok(Reply::Error(e)) if e.starts_with("NOAUTH") => return true,
                    _ => {}
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Stop with SIGTERM (a node with save points saves first) and wait for the exit.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait_exit(Duration::from_secs(20))
            .expect("server exited after SIGTERM");
    }

    /// Start again on the same port, directory and arguments (after [`terminate`](Self::terminate)).
    pub fn restart(&mut self) {
        self.respawn();
        assert!(
            self.wait_ready(Duration::from_secs(60)),
            "{:?} restarted",
            self.kind
        );
    }

    /// Start again like [`restart`](Self::restart), without waiting until it serves.
    pub fn respawn(&mut self) {
        self.child = spawn(&self.bin, &self.args, &self.dir);
    }

    /// A new client connection.
    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Wait for the process to exit, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn spawn(bin: &PathBuf, args: &[String], dir: &PathBuf) -> Child {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()))
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A RESP2 reply as a tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reply {
    /// `+...`
    Simple(String),
    /// `-...`
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n ...` or `$-1` (None)
    Bulk(Option<Vec<u8>>),
    /// `*n ...` or `*-1` (None)
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The bulk's bytes as text (panics otherwise).
    pub fn text(&self) -> String {
        match self {
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            Reply::Simple(s) => s.clone(),
            other => panic!("not a string reply: {other:?}"),
        }
    }

    /// The integer (panics otherwise).
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(n) => *n,
            other => panic!("not an integer reply: {other:?}"),
        }
    }

    /// Encode back to RESP bytes.
    pub fn to_resp(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_resp(&mut out);
        out
    }

    fn write_resp(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
            Reply::Error(s) => out.extend_from_slice(format!("-{s}\r\n").as_bytes()),
            Reply::Int(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
            Reply::Bulk(None) => out.extend_from_slice(b"$-1\r\n"),
            Reply::Bulk(Some(b)) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Array(None) => out.extend_from_slice(b"*-1\r\n"),
            Reply::Array(Some(items)) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                for i in items {
                    i.write_resp(out);
                }
            }
        }
    }
}

/// A blocking RESP2 client connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    /// Connect to a loopback port (panics on failure).
    pub fn connect(port: u16) -> Conn {
        Self::try_connect(port).unwrap_or_else(|e| panic!("connect to {port}: {e}"))
    }

    /// Connect to a loopback port.
    pub fn try_connect(port: u16) -> std::io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    /// Send raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// Send a command as a multibulk without reading the reply.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> std::io::Result<()> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            let a = a.as_ref();
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out)
    }

    /// Read one reply.
    pub fn read_reply(&mut self) -> std::io::Result<Reply> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        if !line.ends_with(b"\r\n") {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("bad line {:?}", String::from_utf8_lossy(&line)),
            ));
        }
        let body = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad length");
        Ok(match line[0] {
            b'+' => Reply::Simple(body),
            b'-' => Reply::Error(body),
            b':' => Reply::Int(body.parse().map_err(|_| bad())?),
            b'$' => {
                let n: i64 = body.parse().map_err(|_| bad())?;
                if n < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut b = vec![0u8; n as usize + 2];
                    self.reader.read_exact(&mut b)?;
                    b.truncate(n as usize);
                    Reply::Bulk(Some(b))
                }
            }
            b'*' => {
                let n: i64 = body.parse().map_err(|_| bad())?;
                if n < 0 {
                    Reply::Array(None)
                } else {
                    let mut items = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        items.push(self.read_reply()?);
                    }
                    Reply::Array(Some(items))
                }
            }
            other => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("bad type byte {other}"),
                ))
            }
        })
    }

    /// Send a command and read its reply.
    pub fn try_cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> std::io::Result<Reply> {
        self.send(args)?;
        self.read_reply()
    }

    /// Send a command and read its reply (panics on IO errors).
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        self.try_cmd(args).unwrap_or_else(|e| {
            panic!(
                "command {:?}: {e}",
                args.first()
                    .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
            )
        })
    }

    /// Whether the server closed the connection (reads EOF within `wait`).
    pub fn is_closed(&mut self, wait: Duration) -> bool {
        let _ = self.writer.set_read_timeout(Some(wait));
        let mut b = [0u8; 1];
        let r = matches!(self.reader.read(&mut b), Ok(0))
            || matches!(self.reader.read(&mut b), Err(ref e) if e.kind() == std::io::ErrorKind::ConnectionReset);
        let _ = self.writer.set_read_timeout(Some(Duration::from_secs(30)));
        r
    }
}
