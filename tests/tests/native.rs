//! The real `tandem` binary behaves like `redis-server` to real tools: a
//! client library (the `redis` crate), `redis-cli` (one-shot, commands piped
//! on stdin, and interactive on a terminal), and `redis-benchmark`. It is
//! started like redis-server (a config file, then `--name value` flags that
//! override it), honours `databases` and `requirepass` with Redis's exact
//! error texts, and exits with status 0 on SIGTERM and SIGINT. Where an
//! output can be compared, it is compared byte for byte with a real
//! `redis-server` 7.0.15 given the same input.

use redis::Commands;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tandem_tests::{have_redis, Kind, Reply, Server};

fn need_redis() {
    assert!(
        have_redis(),
        "redis-server and redis-tools are required (apt-get install redis-server redis-tools)"
    );
}

fn ok() -> Reply {
    Reply::Simple("OK".into())
}

/// Run a program with `stdin` as its input; its stdout, after it exits
/// (killed after 30 s: a hang fails the test instead of blocking it).
fn run_with_input(cmd: &mut Command, stdin: &[u8]) -> (std::process::ExitStatus, String, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{cmd:?} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, out, err)
}

fn redis_cli(port: u16, args: &[&str], stdin: &str) -> String {
    let (status, out, err) = run_with_input(
        Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args),
        stdin.as_bytes(),
    );
    assert!(status.success(), "redis-cli {args:?}: {status} {err}");
    out
}

#[test]
fn client_library_set_get_incr_multi() {
    let s = Server::tandem(&[]);
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", s.port)).unwrap();
    let mut con = client
        .get_connection()
        .expect("connect with the redis crate");
    let () = con.set("greeting", "hello").unwrap();
    let got: String = con.get("greeting").unwrap();
    assert_eq!(got, "hello");
    let missing: Option<String> = con.get("nope").unwrap();
    assert_eq!(missing, None);
    assert_eq!(con.incr::<_, _, i64>("counter", 1).unwrap(), 1);
    assert_eq!(con.incr::<_, _, i64>("counter", 41).unwrap(), 42);
    let err = con.incr::<_, _, i64>("greeting", 1).unwrap_err();
    assert_eq!(err.code(), Some("ERR"));
    assert!(err
        .to_string()
        .contains("value is not an integer or out of range"));
    // MULTI/EXEC through the crate's atomic pipeline.
    let (a, b, c): (String, i64, String) = redis::pipe()
        .atomic()
        .set("t1", "x")
        .ignore()
        .get("t1")
        .incr("counter", 8)
        .get("greeting")
        .query(&mut con)
        .unwrap();
    assert_eq!((a.as_str(), b, c.as_str()), ("x", 50, "hello"));
    // Many round trips on one connection, values with every byte.
    for i in 0..200u32 {
        let v: Vec<u8> = (0..=255u8).cycle().skip(i as usize).take(300).collect();
        let () = con.set(format!("bin{i}"), &v).unwrap();
        let back: Vec<u8> = con.get(format!("bin{i}")).unwrap();
        assert_eq!(back, v);
    }
}

#[test]
fn redis_cli_one_shot_and_piped_match_redis() {
    need_redis();
    let (t, r) = (Server::tandem(&[]), Server::redis(&[]));
    let one_shot: &[&[&str]] = &[
        &["SET", "k", "v"],
        &["GET", "k"],
        &["GET", "missing"],
        &["PING"],
        &["ECHO", "hello world"],
        &["EXISTS", "k", "missing"],
        &["foo", "bar"],
        &["GET"],
        &["SELECT", "99"],
    ];
    for args in one_shot {
        assert_eq!(
            redis_cli(t.port, args, ""),
            redis_cli(r.port, args, ""),
            "redis-cli {args:?}"
        );
    }
    // Commands on stdin (not a terminal): one reply per line.
    let script = "set a 1\nget a\nping\nfoo bar\nmulti\nset b 2\nexec\nget b\nselect 3\nget a\n";
    let out = redis_cli(t.port, &[], script);
    assert_eq!(out, redis_cli(r.port, &[], script));
    assert!(
        out.starts_with("OK\n1\nPONG\nERR unknown command 'foo'"),
        "{out}"
    );
}

#[test]
fn redis_cli_interactive_on_a_terminal() {
    need_redis();
    // `script` gives redis-cli a pseudo-terminal, so it runs its REPL
    // (prompt, typed replies such as `"1"` and `(error)`); TERM=dumb keeps
    // linenoise from asking the terminal for its cursor position.
    let (t, r) = (Server::tandem(&[]), Server::redis(&[]));
    let session = "set a 1\nget a\nincr a\nget nope\nfoo\nselect 2\nget a\nquit\n";
    let mut outs = Vec::new();
    for s in [&t, &r] {
        let (status, out, err) = run_with_input(
            Command::new("script")
                .args(["-qfec", &format!("redis-cli -p {}", s.port), "/dev/null"])
                .env("TERM", "dumb"),
            session.as_bytes(),
        );
        assert!(status.success(), "script/redis-cli: {status} {err}");
        // The terminal echoes the typed lines; when they arrive relative to
        // redis-cli's output is up to the scheduler, so take them out.
        let mut out = out.replace(&format!("127.0.0.1:{}", s.port), "PROMPT");
        for line in session.lines() {
            out = out.replacen(&format!("{line}\r\n"), "", 1);
        }
        outs.push(out);
    }
    assert_eq!(outs[0], outs[1]);
    assert!(outs[0].contains("PROMPT> \"1\""), "{}", outs[0]);
    assert!(outs[0].contains("PROMPT> (integer) 2"), "{}", outs[0]);
    assert!(outs[0].contains("PROMPT[2]> (nil)"), "{}", outs[0]);
}

#[test]
fn redis_benchmark_runs_without_errors() {
    need_redis();
    let s = Server::tandem(&[]);
    let (status, out, err) = run_with_input(
        Command::new("redis-benchmark").args([
            "-p",
            &s.port.to_string(),
            "-q",
            "-n",
            "2000",
            "-t",
            "set,get",
        ]),
        b"",
    );
    assert!(status.success(), "redis-benchmark: {status}\n{out}\n{err}");
    assert!(
        !err.contains("Error") && !out.contains("Error"),
        "{out}\n{err}"
    );
    for test in ["SET: ", "GET: "] {
        assert!(
            out.lines()
                .any(|l| l.contains(test) && l.contains("requests per second")),
            "no {test} line in {out}"
        );
    }
    // redis-benchmark's SETs wrote its 3-byte value.
    match s.conn().cmd(&["GET", "key:__rand_int__"]) {
        Reply::Bulk(Some(v)) => assert_eq!(v.len(), 3),
        other => panic!("GET after redis-benchmark: {other:?}"),
    }
}

fn signal(s: &Server, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &s.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn sigterm_and_sigint_exit_zero() {
    for sig in ["-TERM", "-INT"] {
        let mut s = Server::tandem(&[]);
        let mut c = s.conn();
        assert_eq!(c.cmd(&["SET", "k", "v"]), ok());
        signal(&s, sig);
        let status = s
            .wait_exit(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("tandem still running 10 s after kill {sig}"));
        assert_eq!(status.code(), Some(0), "kill {sig}: {status}");
        assert!(c.is_closed(Duration::from_secs(2)));
    }
}

#[test]
fn config_file_then_flags() {
    need_redis();
    // The file sets databases and a password; a flag overrides the file.
    let conf = "# a redis.conf\ndatabases 4\nrequirepass fromfile\n";
    for kind in [Kind::Tandem, Kind::Redis] {
        let s = Server::start_with_config(kind, Some(conf), &[]);
        let mut c = s.conn();
        assert_eq!(
            c.cmd(&["SELECT", "1"]),
            Reply::Error("NOAUTH Authentication required.".into()),
            "{kind:?}"
        );
        assert_eq!(c.cmd(&["AUTH", "fromfile"]), ok());
        assert_eq!(c.cmd(&["SELECT", "3"]), ok());
        assert_eq!(
            c.cmd(&["SELECT", "4"]),
            Reply::Error("ERR DB index is out of range".into()),
            "{kind:?}"
        );
        let s = Server::start_with_config(kind, Some(conf), &["--databases", "8"]);
        let mut c = s.conn();
        assert_eq!(c.cmd(&["AUTH", "fromfile"]), ok());
        assert_eq!(
            c.cmd(&["SELECT", "7"]),
            ok(),
            "{kind:?}: flag overrides file"
        );
    }
}

#[test]
fn databases_flag() {
    need_redis();
    for kind in [Kind::Tandem, Kind::Redis] {
        let s = Server::start(kind, &["--databases", "4"]);
        let mut c = s.conn();
        assert_eq!(c.cmd(&["SELECT", "3"]), ok());
        assert_eq!(
            c.cmd(&["SELECT", "5"]),
            Reply::Error("ERR DB index is out of range".into()),
            "{kind:?}"
        );
    }
}

#[test]
fn requirepass_flag() {
    need_redis();
    let mut replies = Vec::new();
    for kind in [Kind::Tandem, Kind::Redis] {
        let s = Server::start(kind, &["--requirepass", "s3cret"]);
        let mut c = s.conn();
        let mut seen = Vec::new();
        for args in [
            &["GET", "k"][..],
            &["SET", "k", "v"],
            &["PING"],
            &["AUTH", "wrong"],
            &["AUTH", "s3cret"],
            &["SET", "k", "v"],
            &["GET", "k"],
        ] {
            seen.push(c.cmd(args));
        }
        assert_eq!(
            seen[0],
            Reply::Error("NOAUTH Authentication required.".into())
        );
        replies.push(seen);
    }
    assert_eq!(replies[0], replies[1]);
}

#[test]
fn big_values_and_deep_pipelines() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    // A value larger than any socket buffer, both ways.
    let big: Vec<u8> = (0..6_000_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(c.cmd(&[&b"SET"[..], b"big", &big]), ok());
    assert_eq!(c.cmd(&["GET", "big"]), Reply::Bulk(Some(big.clone())));
    // 20,000 commands written before any reply is read: the node must
    // keep writing while the client is not reading.
    let n = 20_000;
    let mut batch = Vec::new();
    for i in 0..n {
        let k = format!("k{i}");
        let v = format!("v{i}");
        batch.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                k.len(),
                v.len()
            )
            .as_bytes(),
        );
        batch.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{k}\r\n", k.len()).as_bytes());
    }
    c.send_raw(&batch).unwrap();
    for i in 0..n {
        assert_eq!(c.read_reply().unwrap(), ok());
        assert_eq!(
            c.read_reply().unwrap(),
            Reply::Bulk(Some(format!("v{i}").into_bytes()))
        );
    }
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(n + 1));
}

#[test]
fn many_clients_at_once() {
    let s = Server::tandem(&[]);
    let port = s.port;
    let handles: Vec<_> = (0..24)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = tandem_tests::Conn::connect(port);
                for i in 0..300 {
                    let k = format!("c{t}:{i}");
                    assert_eq!(c.cmd(&["SET", &k, &format!("{t}/{i}")]), ok());
                    assert_eq!(c.cmd(&["GET", &k]).text(), format!("{t}/{i}"));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread");
    }
    assert_eq!(s.conn().cmd(&["DBSIZE"]), Reply::Int(24 * 300));
}

#[test]
fn shutdown_command_exits_zero() {
    // From a client library connection.
    let mut s = Server::tandem(&[]);
    let mut c = s.conn();
    let mut other = s.conn();
    c.send(&["SHUTDOWN", "NOSAVE"]).unwrap();
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("tandem still running 10 s after SHUTDOWN");
    assert_eq!(status.code(), Some(0), "SHUTDOWN: {status}");
    assert!(c.is_closed(Duration::from_secs(2)));
    assert!(other.is_closed(Duration::from_secs(2)));
    // From redis-cli, as redis-server is stopped.
    let mut s = Server::tandem(&[]);
    let (status, _out, err) = run_with_input(
        Command::new("redis-cli").args(["-p", &s.port.to_string(), "shutdown", "nosave"]),
        b"",
    );
    assert!(status.success(), "redis-cli shutdown: {err}");
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("tandem still running 10 s after redis-cli shutdown");
    assert_eq!(status.code(), Some(0));
}
