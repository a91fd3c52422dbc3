//! Bad input on the wire, the way Redis 7.0 (`networking.c`) handles it:
//! frames split anywhere are reassembled; malformed multibulk headers,
//! bulk lengths above `proto-max-bulk-len` or below zero, `*` elements not
//! starting with `$`, unbalanced quotes and header or inline lines longer
//! than 64 KiB get `-ERR Protocol error: ...` and close that connection only;
//! unauthenticated clients (with `requirepass`) may send at most 10
//! arguments of at most 16 KiB. In every case the node does not panic,
//! other clients keep working, and every byte the client sees is compared
//! with what a real `redis-server` 7.0.15 sends for the same input.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};
use tandem_tests::{have_redis, Reply, Server};

/// What a client saw: every byte, and whether the server closed the connection.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    bytes: String,
    closed: bool,
}

/// Send `input` in `chunk`-byte writes (pausing between them), then read
/// until the server closes or until `until` was seen at the end.
fn exchange(port: u16, input: &[u8], chunk: usize, until: &[u8]) -> Outcome {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).unwrap();
    for part in input.chunks(chunk.max(1)) {
        if s.write_all(part).is_err() {
            break; // the server may close before it has read everything
        }
        if chunk < input.len() {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut got = Vec::new();
    let mut closed = false;
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < Duration::from_secs(10) {
        match s.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if !until.is_empty() && got.ends_with(until) {
                    break;
                }
            }
            Err(_) => {
                closed = true; // reset
                break;
            }
        }
    }
    Outcome {
        bytes: String::from_utf8_lossy(&got).into_owned(),
        closed,
    }
}

/// Both servers, started with the same extra arguments.
fn pair(extra: &[&str]) -> (Server, Server) {
    assert!(
        have_redis(),
        "redis-server is required (apt-get install redis-server)"
    );
    (Server::tandem(extra), Server::redis(extra))
}

/// Run one bad input against tandem and redis-server with a bystander
/// client connected to each; the outcomes must be equal and match
/// `expected`, and both bystanders and fresh clients must still be served.
fn check(extra: &[&str], auth: Option<&str>, input: &[u8], chunk: usize, expected: &Outcome) {
    let (t, r) = pair(extra);
    let mut outcomes = Vec::new();
    for s in [&t, &r] {
        let mut bystander = s.conn();
        if let Some(pass) = auth {
            assert_eq!(bystander.cmd(&["AUTH", pass]), Reply::Simple("OK".into()));
        }
        assert_eq!(
            bystander.cmd(&["SET", "bystander", "still here"]),
            Reply::Simple("OK".into())
        );
        let until: &[u8] = if expected.closed { b"" } else { b"+PONG\r\n" };
        outcomes.push(exchange(s.port, input, chunk, until));
        assert_eq!(
            bystander.cmd(&["GET", "bystander"]),
            Reply::Bulk(Some(b"still here".to_vec())),
            "{:?}: the other client was disturbed",
            s.kind
        );
        let mut fresh = s.conn();
        if let Some(pass) = auth {
            fresh.cmd(&["AUTH", pass]);
        }
        assert_eq!(fresh.cmd(&["PING"]), Reply::Simple("PONG".into()));
    }
    assert_eq!(
        outcomes[0], outcomes[1],
        "tandem (left) vs redis-server (right)"
    );
    assert_eq!(&outcomes[0], expected);
}

fn closed_with(text: &str) -> Outcome {
    Outcome {
        bytes: format!("-ERR Protocol error: {text}\r\n"),
        closed: true,
    }
}

#[test]
fn frames_split_byte_by_byte() {
    let mut input = Vec::new();
    input.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$12\r\nhello\r\nworld\r\n");
    input.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    input.extend_from_slice(b"GET k\r\n"); // inline, split too
    input.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    let expected = Outcome {
        bytes: "+OK\r\n$12\r\nhello\r\nworld\r\n$12\r\nhello\r\nworld\r\n+PONG\r\n".into(),
        closed: false,
    };
    check(&[], None, &input, 1, &expected);
    // The same bytes in one write, and in 5-byte slices.
    check(&[], None, &input, input.len(), &expected);
    check(&[], None, &input, 5, &expected);
}

#[test]
fn oversized_bulk_length() {
    check(
        &[],
        None,
        b"*1\r\n$600000000\r\n",
        usize::MAX,
        &closed_with("invalid bulk length"),
    );
    // A lower proto-max-bulk-len is honoured.
    check(
        &["--proto-max-bulk-len", "1mb"],
        None,
        b"*2\r\n$3\r\nGET\r\n$2000000\r\n",
        usize::MAX,
        &closed_with("invalid bulk length"),
    );
}

#[test]
fn negative_and_malformed_lengths() {
    let bad_bulk = closed_with("invalid bulk length");
    check(&[], None, b"*1\r\n$-5\r\n", usize::MAX, &bad_bulk);
    check(&[], None, b"*1\r\n$abc\r\n", usize::MAX, &bad_bulk);
    let bad_count = closed_with("invalid multibulk length");
    check(&[], None, b"*abc\r\n", usize::MAX, &bad_count);
    check(&[], None, b"*3000000000\r\n", usize::MAX, &bad_count);
    // A negative or zero count is skipped silently; the connection goes on.
    check(
        &[],
        None,
        b"*-5\r\n*0\r\nPING\r\n",
        usize::MAX,
        &Outcome {
            bytes: "+PONG\r\n".into(),
            closed: false,
        },
    );
    check(
        &[],
        None,
        b"*2\r\n$3\r\nGET\r\nfoo\r\n",
        usize::MAX,
        &closed_with("expected '$', got 'f'"),
    );
}

#[test]
fn garbage_bytes() {
    // Not RESP: read as an inline command, an unknown one.
    let input = b"\x01\x02 garbage \x7f\xfe\r\nPING\r\n";
    let (t, r) = pair(&[]);
    let a = exchange(t.port, input, usize::MAX, b"+PONG\r\n");
    let b = exchange(r.port, input, usize::MAX, b"+PONG\r\n");
    assert_eq!(a, b);
    assert!(a.bytes.starts_with("-ERR unknown command"), "{a:?}");
    assert!(!a.closed);
    check(
        &[],
        None,
        b"SET \"abc\r\n",
        usize::MAX,
        &closed_with("unbalanced quotes in request"),
    );
}

#[test]
fn lines_over_64k() {
    let mut inline = vec![b'a'; 70 * 1024];
    check(
        &[],
        None,
        &inline,
        usize::MAX,
        &closed_with("too big inline request"),
    );
    inline[0] = b'*';
    check(
        &[],
        None,
        &inline,
        usize::MAX,
        &closed_with("too big mbulk count string"),
    );
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', 70 * 1024));
    check(
        &[],
        None,
        &bulk,
        usize::MAX,
        &closed_with("too big bulk count string"),
    );
}

#[test]
fn disconnect_mid_command() {
    let (t, r) = pair(&[]);
    for s in [&t, &r] {
        let mut other = s.conn();
        // Half a SET, then gone.
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        c.write_all(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$10\r\nabc")
            .unwrap();
        c.shutdown(Shutdown::Both).unwrap();
        drop(c);
        // A client that asks for a big reply and leaves before reading it.
        let big = vec![b'x'; 8 << 20];
        assert_eq!(
            other.cmd(&[&b"SET"[..], b"big", &big]),
            Reply::Simple("OK".into())
        );
        for _ in 0..5 {
            let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
            c.write_all(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n").unwrap();
            let mut first = [0u8; 16];
            c.read_exact(&mut first).unwrap();
            drop(c);
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(other.cmd(&["EXISTS", "half"]), Reply::Int(0));
        assert_eq!(other.cmd(&["GET", "big"]), Reply::Bulk(Some(big)));
        assert_eq!(s.conn().cmd(&["PING"]), Reply::Simple("PONG".into()));
    }
}

#[test]
fn pre_auth_limits() {
    let extra = ["--requirepass", "s3cret"];
    check(
        &extra,
        Some("s3cret"),
        b"*100\r\n",
        usize::MAX,
        &closed_with("unauthenticated multibulk length"),
    );
    check(
        &extra,
        Some("s3cret"),
        b"*2\r\n$3\r\nGET\r\n$20000\r\n",
        usize::MAX,
        &closed_with("unauthenticated bulk length"),
    );
    // Within the limits: an answer, not a protocol error; after AUTH no limit.
    check(
        &extra,
        Some("s3cret"),
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n*12\r\n$6\r\nEXISTS\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\nPING\r\n",
        usize::MAX,
        &Outcome {
            bytes: "-NOAUTH Authentication required.\r\n+OK\r\n:0\r\n+PONG\r\n".into(),
            closed: false,
        },
    );
}

#[test]
fn many_bad_clients_at_once() {
    let (t, r) = pair(&[]);
    for s in [&t, &r] {
        let mut keeper = s.conn();
        let port = s.port;
        let handles: Vec<_> = (0..16)
            .map(|i| {
                std::thread::spawn(move || {
                    let input: &[u8] = match i % 4 {
                        0 => b"*1\r\n$600000000\r\n",
                        1 => b"*abc\r\n",
                        2 => b"*1\r\n$-1\r\n",
                        _ => b"*2\r\nxx\r\n",
                    };
                    exchange(port, input, 1, b"")
                })
            })
            .collect();
        for h in handles {
            let o = h.join().expect("client thread");
            assert!(
                o.closed && o.bytes.starts_with("-ERR Protocol error"),
                "{o:?}"
            );
        }
        assert_eq!(keeper.cmd(&["PING"]), Reply::Simple("PONG".into()));
    }
}
