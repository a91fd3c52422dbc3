//! `cargo xtask play`: the two ways to watch Tandem replicate, side by side.
//!
//! * The browser playground: builds the WASM package (`www/pkg`) and serves
//!   `www/` at http://127.0.0.1:8080 with a small static file server (std
//!   only; `.wasm` goes out as `application/wasm`, which
//!   `WebAssembly.instantiateStreaming` requires).
//! * A real local cluster: `tandem` (release) as a master on 6379 and two
//!   replicas on 6380 and 6381 (`--replicaof 127.0.0.1 6379`), each with its
//!   own working directory and log file under `target/play/<port>/`, for
//!   redis-cli.
//!
//! Everything stops on Ctrl-C. `--port N` moves the master to N and the
//! replicas to N+1 and N+2; `--web-port W` moves the page.

use crate::proc::{build_tandem_release, ping, target_dir, Server};
use crate::Result;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How many replicas the local cluster has.
const REPLICAS: u16 = 2;

/// Where the playground listens.
#[derive(Debug, Clone)]
pub struct PlayOptions {
    /// The master's port; replica `i` listens on `master_port + i`.
    pub master_port: u16,
    /// The web page's port.
    pub web_port: u16,
}

impl PlayOptions {
    fn parse(args: &[String]) -> Result<PlayOptions> {
        let mut o = PlayOptions {
            master_port: 6379,
            web_port: 8080,
        };
        for (name, value) in crate::options(args, &["port", "web-port"])? {
            let port: u16 = value
                .parse()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("--{name} wants a port number, not {value:?}"))?;
            match name.as_str() {
                "port" => o.master_port = port,
                _ => o.web_port = port,
            }
        }
        if o.master_port.checked_add(REPLICAS).is_none() {
            return Err(format!(
                "--port {} leaves no room for the replicas",
                o.master_port
            ));
        }
        Ok(o)
    }

    fn node_ports(&self) -> impl Iterator<Item = u16> {
        let first = self.master_port;
        (0..=REPLICAS).map(move |i| first + i)
    }
}

/// The running playground: the web server and the nodes, stopped together.
pub struct Playground {
    /// The nodes, master first.
    pub nodes: Vec<Server>,
    web: WebServer,
}

impl Playground {
    /// Serve `www` and start the nodes from the `tandem` binary at `tandem`.
    pub fn start(opts: &PlayOptions, tandem: &Path, www: &Path) -> Result<Playground> {
        for port in opts.node_ports() {
            if ping(port) || TcpListener::bind(("127.0.0.1", port)).is_err() {
                return Err(format!(
                    "port {port} is taken (a system redis-server? `service redis-server stop`); \
                     pick other ports with --port N (uses N, N+1, N+2)"
                ));
            }
        }
        let web = WebServer::start(www, opts.web_port)?;
        let mut nodes = Vec::new();
        let master = opts.master_port;
        for port in opts.node_ports() {
            let dir = target_dir().join("play").join(port.to_string());
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let mut cmd = Command::new(tandem);
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
            cmd.arg("--dir").arg(&dir);
            cmd.arg("--logfile").arg(dir.join("tandem.log"));
            let name = if port == master {
                format!("master on 127.0.0.1:{port}")
            } else {
                cmd.args(["--replicaof", "127.0.0.1", &master.to_string()]);
                format!("replica on 127.0.0.1:{port}")
            };
            nodes.push(Server::start(&name, cmd, port, true)?);
        }
        Ok(Playground { nodes, web })
    }

    /// The page's address.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.web.port)
    }

    /// Stop the nodes (replicas first) and the web server.
    pub fn stop(&mut self) {
        for s in self.nodes.iter_mut().rev() {
            s.stop();
        }
        self.web.stop();
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `cargo xtask play [--port N] [--web-port W]`.
pub fn run(args: &[String]) -> Result {
    let opts = PlayOptions::parse(args)?;
    // Without the page the local cluster is still worth having: say why and go on.
    let page_error = crate::web::build_web_pkg().err();
    let tandem = build_tandem_release()?;
    let www = crate::proc::root().join("www");

    // Ctrl-C reaches the whole foreground process group: the nodes shut down
    // by themselves; we note it and stop whatever is left.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| format!("cannot handle signal {sig}: {e}"))?;
    }
    let mut play = Playground::start(&opts, &tandem, &www)?;
    let m = opts.master_port;
    println!("\nTandem playground is up.\n");
    println!("  In the browser (the simulator, compiled to WebAssembly):");
    match &page_error {
        None => println!("    {}\n", play.url()),
        Some(e) => println!(
            "    {} (NOT BUILT: {e}; the page shows how to build it)\n",
            play.url()
        ),
    }
    println!("  A real cluster on this machine (the same core, over TCP):");
    for s in &play.nodes {
        println!("    {:<28} redis-cli -p {}", s.name, s.port);
    }
    println!("\n  Try:");
    println!("    redis-cli -p {m} set greeting hello");
    println!("    redis-cli -p {} get greeting", m + 1);
    println!(
        "    redis-cli -p {} set greeting bye      # READONLY: replicas refuse writes",
        m + 1
    );
    println!("    redis-cli -p {m} info replication");
    println!(
        "    redis-cli -p {} replicaof no one      # detach a replica",
        m + 2
    );
    println!(
        "\n  Node logs and RDB files: {}/<port>/",
        target_dir().join("play").display()
    );
    println!("\nPress Ctrl-C to stop everything.\n");
    while !stop.load(Ordering::Relaxed) {
        for s in play.nodes.iter_mut() {
            if let Some(status) = s.exited() {
                return Err(format!("the {} exited ({status})", s.name));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    play.stop();
    println!("playground stopped");
    Ok(())
}

/// A static file server for `www/`: GET and HEAD only, one thread per
/// connection, no path outside the root.
struct WebServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl WebServer {
    fn start(root: &Path, port: u16) -> Result<WebServer> {
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            format!("cannot serve the page on 127.0.0.1:{port}: {e} (try --web-port)")
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("listener: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let root = root.to_path_buf();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let root = root.clone();
                        std::thread::spawn(move || {
                            let _ = serve(conn, &root);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(WebServer {
            port,
            stop,
            thread: Some(thread),
        })
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The content type for a file name, by extension.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ts" | "md" | "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file a request path names under `root`, or None if it climbs out.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let path = url_path.split(['?', '#']).next().unwrap_or("/");
    let mut out = root.to_path_buf();
    for c in Path::new(path.trim_start_matches('/')).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if path.ends_with('/') || out == root {
        out.push("index.html");
    }
    Some(out)
}

fn serve(conn: TcpStream, root: &Path) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        // Skip the headers.
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
                break;
            }
        }
        let mut words = request.split_whitespace();
        let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
        let found = resolve(root, target).and_then(|p| std::fs::read(&p).ok().map(|b| (p, b)));
        let (status, ctype, body) = match (method, found) {
            ("GET" | "HEAD", Some((p, body))) => ("200 OK", content_type(&p), body),
            ("GET" | "HEAD", None) => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
            _ => (
                "405 Method Not Allowed",
                "text/plain",
                b"GET only\n".to_vec(),
            ),
        };
        write!(
            conn,
            "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\ncache-control: no-store\r\n\r\n",
            body.len()
        )?;
        if method != "HEAD" {
            conn.write_all(&body)?;
        }
        conn.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::{cargo, free_port, root};
    use std::io::Read;
    use std::time::Instant;

    #[test]
    fn content_types_and_paths() {
        assert_eq!(
            content_type(Path::new("pkg/tandem_web_bg.wasm")),
            "application/wasm"
        );
        assert!(content_type(Path::new("js/main.js")).starts_with("text/javascript"));
        let r = Path::new("/srv/www");
        assert_eq!(resolve(r, "/"), Some(r.join("index.html")));
        assert_eq!(resolve(r, "/index.html#seed=1"), Some(r.join("index.html")));
        assert_eq!(resolve(r, "/js/main.js?x=1"), Some(r.join("js/main.js")));
        assert_eq!(resolve(r, "/../etc/passwd"), None);
        assert_eq!(resolve(r, "/js/../../etc/passwd"), None);
    }

    /// One HTTP/1.1 GET: (status line, content type, body).
    fn get(port: u16, path: &str) -> (String, String, Vec<u8>) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the web server");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
        let mut r = BufReader::new(s);
        let mut status = String::new();
        r.read_line(&mut status).unwrap();
        let (mut ctype, mut len) = (String::new(), 0usize);
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            if h == "\r\n" {
                break;
            }
            let (k, v) = h.split_once(':').unwrap();
            match k.to_ascii_lowercase().as_str() {
                "content-type" => ctype = v.trim().to_string(),
                "content-length" => len = v.trim().parse().unwrap(),
                _ => {}
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        (status.trim().to_string(), ctype, body)
    }

    /// Send one command in RESP and return the raw reply (read until it looks complete).
    fn redis(port: u16, args: &[&str]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to a node");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).unwrap_or(0);
            out.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&out);
            let done = match text.as_bytes().first() {
                Some(b'$') => text.starts_with("$-1\r\n") || text.matches("\r\n").count() >= 2,
                Some(_) => text.ends_with("\r\n"),
                None => false,
            };
            if n == 0 || done {
                return text.into_owned();
            }
        }
    }

    /// The play task on other ports: the page is served (with the wasm
    /// content type), the replicas follow the master, writes to a replica
    /// are refused, and stopping frees every port.
    #[test]
    fn play_serves_the_page_and_runs_a_replicating_cluster() {
        let mut build = cargo();
        build.args(["build", "-p", "tandem-native", "--bin", "tandem"]);
        crate::proc::run(build).expect("build tandem");
        let tandem = target_dir().join("debug").join("tandem");

        // A page folder of our own, so the test does not depend on www/pkg being built.
        let www = target_dir().join("play-test-www");
        std::fs::create_dir_all(www.join("pkg")).unwrap();
        std::fs::copy(root().join("www/index.html"), www.join("index.html")).unwrap();
        std::fs::write(www.join("pkg/mod.wasm"), b"\0asm\x01\0\0\0").unwrap();

        // Three consecutive free ports for the nodes.
        let master_port = loop {
            let p = free_port().unwrap();
            if p < 65000 && (1..=REPLICAS).all(|i| TcpListener::bind(("127.0.0.1", p + i)).is_ok())
            {
                break p;
            }
        };
        let web_port = free_port().unwrap();
        let opts = PlayOptions::parse(&[
            "--port".into(),
            master_port.to_string(),
            "--web-port".into(),
            web_port.to_string(),
        ])
        .unwrap();
        let mut play = Playground::start(&opts, &tandem, &www).expect("start the playground");

        let (status, ctype, body) = get(web_port, "/");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(ctype.starts_with("text/html"), "{ctype}");
        assert!(String::from_utf8_lossy(&body).contains("Tandem"));
        let (status, ctype, body) = get(web_port, "/pkg/mod.wasm");
        assert_eq!(
            (status.as_str(), ctype.as_str()),
            ("HTTP/1.1 200 OK", "application/wasm")
        );
        assert_eq!(body, b"\0asm\x01\0\0\0");
        assert!(get(web_port, "/../Cargo.toml").0.contains("404"));

        assert_eq!(redis(master_port, &["SET", "greeting", "hello"]), "+OK\r\n");
        for replica in (1..=REPLICAS).map(|i| master_port + i) {
            let start = Instant::now();
            loop {
                let got = redis(replica, &["GET", "greeting"]);
                if got == "$5\r\nhello\r\n" {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "replica {replica} never got the write (last reply {got:?})"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            let refused = redis(replica, &["SET", "greeting", "bye"]);
            assert!(refused.starts_with("-READONLY"), "{refused:?}");
        }

        play.stop();
        for port in opts.node_ports().chain([web_port]) {
            assert!(
                TcpStream::connect(("127.0.0.1", port)).is_err(),
                "port {port} still answers after stop"
            );
        }
    }
}
