//! A lying or broken master: a Tandem replica must log, keep its old dataset
//! until a new one is completely loaded, keep serving, and retry the link
//! (replication scenario 9). The fake master speaks the handshake correctly
//! and then misbehaves in one way per case.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tandem_tests::{wait_until, Reply, Server};

/// Read one multibulk command; None on EOF.
fn read_command(r: &mut BufReader<TcpStream>) -> Option<Vec<Vec<u8>>> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let n: usize = line.trim_end().strip_prefix('*')?.parse().ok()?;
    let mut args = Vec::new();
    for _ in 0..n {
        line.clear();
        r.read_line(&mut line).ok()?;
        let len: usize = line.trim_end().strip_prefix('$')?.parse().ok()?;
        let mut buf = vec![0u8; len + 2];
        r.read_exact(&mut buf).ok()?;
        buf.truncate(len);
        args.push(buf);
    }
    Some(args)
}

/// A fake master answering the handshake, then sending `after_psync` and closing.
fn fake_master(after_psync: Vec<u8>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let psyncs = Arc::new(AtomicUsize::new(0));
    let count = psyncs.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let mut w = stream.try_clone().expect("clone");
            let mut r = BufReader::new(stream);
            while let Some(args) = read_command(&mut r) {
                let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
                let reply: &[u8] = match name.as_str() {
                    "PING" => b"+PONG\r\n",
                    "REPLCONF" => b"+OK\r\n",
                    "PSYNC" => {
                        count.fetch_add(1, Ordering::SeqCst);
                        let _ = w.write_all(&after_psync);
                        std::thread::sleep(Duration::from_millis(50));
                        break;
                    }
                    _ => b"-ERR unexpected\r\n",
                };
                if w.write_all(reply).is_err() {
                    break;
                }
            }
        }
    });
    (port, psyncs)
}

const ID: &str = "0123456789abcdef0123456789abcdef01234567";

fn case(name: &str, after_psync: Vec<u8>) {
    let replica = Server::tandem(&[]);
    let mut c = replica.conn();
    c.cmd(&["SET", "old-key", "old-value"]);
    let digest_before = c.cmd(&["DEBUG", "DIGEST"]);
    let (port, psyncs) = fake_master(after_psync);
    assert_eq!(
        c.cmd(&["REPLICAOF", "127.0.0.1", &port.to_string()]),
        Reply::Simple("OK".into())
    );
    // The link is retried after each failure.
    wait_until(
        &format!("{name}: a second PSYNC attempt"),
        Duration::from_secs(15),
        || psyncs.load(Ordering::SeqCst) >= 2,
    );
    // Still serving, with the old dataset intact.
    let mut c = replica.conn();
    assert_eq!(
        c.cmd(&["GET", "old-key"]),
        Reply::Bulk(Some(b"old-value".to_vec())),
        "{name}"
    );
    assert_eq!(c.cmd(&["DEBUG", "DIGEST"]), digest_before, "{name}");
    match c.cmd(&["ROLE"]) {
        Reply::Array(Some(items)) => assert_ne!(
            items.get(3),
            Some(&Reply::Bulk(Some(b"connected".to_vec()))),
            "{name}"
        ),
        other => panic!("{name}: ROLE answered {other:?}"),
    }
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()), "{name}");
}

#[test]
fn garbage_instead_of_fullresync() {
    case("garbage", b"HELLO I am not a master\r\n".to_vec());
}

#[test]
fn bad_offset_in_fullresync() {
    case(
        "bad offset",
        format!("+FULLRESYNC {ID} not-a-number\r\n").into_bytes(),
    );
}

#[test]
fn truncated_rdb_then_disconnect() {
    let mut bytes = format!("+FULLRESYNC {ID} 100\r\n$1000\r\n").into_bytes();
    bytes.extend_from_slice(b"REDIS0010\xfa\x09redis-ver\x067.0.15\xfe\x00\xfb\x01\x00\x00\x03abc");
    case("truncated", bytes);
}

#[test]
fn rdb_with_a_wrong_checksum() {
    // A complete, well-framed file whose CRC-64 trailer is wrong.
    let mut rdb = b"REDIS0010\xfe\x00\xfb\x01\x00\x00\x03new\x03val\xff".to_vec();
    rdb.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    let mut bytes = format!("+FULLRESYNC {ID} 100\r\n${}\r\n", rdb.len()).into_bytes();
    bytes.extend_from_slice(&rdb);
    case("bad crc", bytes);
}

#[test]
fn garbage_rdb_with_eof_framing() {
    let mark = "m".repeat(40);
    let mut bytes = format!("+FULLRESYNC {ID} 100\r\n$EOF:{mark}\r\n").into_bytes();
    bytes.extend_from_slice(b"NOTANRDBFILE at all, just noise");
    bytes.extend_from_slice(mark.as_bytes());
    case("eof garbage", bytes);
}

/// A replica driven by hand over a raw socket: it speaks the handshake,
/// then reads the payload and the stream only when a test says so.
struct RawReplica {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl RawReplica {
    fn connect(port: u16) -> RawReplica {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        RawReplica {
            w: s.try_clone().expect("clone"),
            r: BufReader::new(s),
        }
    }

    fn send(&mut self, args: &[&str]) {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.w.write_all(out.as_bytes()).expect("write");
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.r.read_line(&mut line).expect("line");
        line
    }

    /// `REPLCONF listening-port` and `PSYNC ? -1`: the `+FULLRESYNC`
    /// offset and the payload's length (`$<len>`, after the newlines a
    /// master sends while it makes the snapshot); the payload is left unread.
    fn full_sync_header(&mut self, kind: tandem_tests::Kind) -> (u64, usize) {
        self.send(&["REPLCONF", "listening-port", "1"]);
        assert_eq!(self.line(), "+OK\r\n", "{kind:?}: REPLCONF");
        self.send(&["PSYNC", "?", "-1"]);
        let line = self.line();
        assert!(line.starts_with("+FULLRESYNC "), "{kind:?}: {line}");
        let offset = line.trim_end().rsplit(' ').next().unwrap().parse().unwrap();
        loop {
            let line = self.line();
            if let Some(len) = line.strip_prefix('$') {
                return (offset, len.trim_end().parse().expect("length"));
            }
        }
    }
}

/// A replica that stops reading is dropped once its unsent stream passes
/// `client-output-buffer-limit replica` (both implementations as master).
#[test]
fn slow_replica_is_dropped_at_the_output_buffer_limit() {
    for kind in [tandem_tests::Kind::Tandem, tandem_tests::Kind::Redis] {
        let m = Server::start(
            kind,
            &[
                "--client-output-buffer-limit",
                "replica 1mb 256kb 1",
                "--repl-diskless-sync",
                "no",
            ],
        );
        // A replica that completes the handshake, reads the RDB, then reads nothing more.
        let mut replica = RawReplica::connect(m.port);
        replica.send(&["PING"]);
        assert_eq!(replica.line(), "+PONG\r\n", "{kind:?}");
        let (_, len) = replica.full_sync_header(kind);
        let mut rdb = vec![0u8; len];
        replica.r.read_exact(&mut rdb).expect("rdb");
        let replicas = |m: &Server| match m.conn().cmd(&["ROLE"]) {
            Reply::Array(Some(items)) => match &items[2] {
                Reply::Array(Some(list)) => list.len(),
                other => panic!("ROLE replicas: {other:?}"),
            },
            other => panic!("ROLE: {other:?}"),
        };
        wait_until(
            &format!("{kind:?}: replica online"),
            Duration::from_secs(10),
            || replicas(&m) == 1,
        );
        // Now flood the stream; the replica never reads again.
        let mut c = m.conn();
        let big = "x".repeat(64 * 1024);
        for i in 0..400 {
            c.cmd(&["SET", &format!("k{}", i % 10), &big]);
        }
        wait_until(
            &format!("{kind:?}: slow replica dropped"),
            Duration::from_secs(15),
            || replicas(&m) == 0,
        );
        assert_eq!(
            c.cmd(&["PING"]),
            Reply::Simple("PONG".into()),
            "{kind:?} still serving"
        );
        drop(replica);
    }
}

/// A master without PSYNC (`-ERR unknown command`): the replica falls back
/// to the legacy inline `SYNC` on the same connection, loads the RDB that
/// follows (no `+FULLRESYNC` line) and applies the stream after it.
#[test]
fn legacy_sync_when_the_master_refuses_psync() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut w = stream.try_clone().expect("clone");
        let mut r = BufReader::new(stream);
        while let Some(args) = read_command(&mut r) {
            let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
            match name.as_str() {
                "PING" => w.write_all(b"+PONG\r\n").expect("write"),
                "REPLCONF" => w.write_all(b"+OK\r\n").expect("write"),
                "PSYNC" => {
                    w.write_all(b"-ERR unknown command 'PSYNC'\r\n")
                        .expect("write");
                    break;
                }
                _ => return,
            }
        }
        let mut line = String::new();
        r.read_line(&mut line).expect("SYNC line");
        assert_eq!(line, "SYNC\r\n");
        let mut rdb = b"REDIS0010\xfe\x00\xfb\x01\x00\x00\x03old\x03val\xff".to_vec();
        rdb.extend_from_slice(&[0u8; 8]); // checksum 0: not checked
        let mut bytes = format!("${}\r\n", rdb.len()).into_bytes();
        bytes.extend_from_slice(&rdb);
        bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$4\r\nnewk\r\n$1\r\n1\r\n");
        w.write_all(&bytes).expect("write");
        std::thread::sleep(Duration::from_secs(30));
    });
    let replica = Server::tandem(&[]);
    let mut c = replica.conn();
    assert_eq!(
        c.cmd(&["REPLICAOF", "127.0.0.1", &port.to_string()]),
        Reply::Simple("OK".into())
    );
    wait_until("the streamed write", Duration::from_secs(15), || {
        replica.conn().cmd(&["GET", "newk"]) == Reply::Bulk(Some(b"1".to_vec()))
    });
    assert_eq!(c.cmd(&["GET", "old"]), Reply::Bulk(Some(b"val".to_vec())));
}

/// The snapshot a master sends a replica is not part of that replica's
/// output buffer (Redis writes the RDB straight to the socket): a replica
/// that reads a 16+ MB snapshot only after stalling for three seconds stays
/// connected under `client-output-buffer-limit replica 64kb 0 0`, takes the
/// whole payload and then the stream (both implementations as master).
#[test]
fn a_snapshot_far_over_the_output_buffer_limit_reaches_a_slow_replica() {
    for kind in [tandem_tests::Kind::Tandem, tandem_tests::Kind::Redis] {
        let m = Server::start(
            kind,
            &[
                "--client-output-buffer-limit",
                "replica 64kb 0 0",
                "--repl-backlog-size",
                "16kb",
                "--repl-diskless-sync",
                "no",
            ],
        );
        // 384 values of 64 KB of random hex: an RDB of over 16 MB, far more
        // than loopback socket buffers hold.
        let mut c = m.conn();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut value = vec![0u8; 65536];
        for i in 0..384 {
            for b in value.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = b"0123456789abcdef"[(x & 15) as usize];
            }
            let key = format!("big:{i}");
            assert_eq!(
                c.cmd(&[b"SET".as_slice(), key.as_bytes(), &value]),
                Reply::Simple("OK".into())
            );
        }
        let mut replica = RawReplica::connect(m.port);
        let (offset, len) = replica.full_sync_header(kind);
        // The replica stalls with the payload queued for it.
        std::thread::sleep(Duration::from_secs(3));
        assert!(len > 16 << 20, "{kind:?}: RDB of {len} bytes");
        let mut rdb = vec![0u8; len];
        replica
            .r
            .read_exact(&mut rdb)
            .unwrap_or_else(|e| panic!("{kind:?}: dropped during the payload: {e}"));
        replica.send(&["REPLCONF", "ACK", &offset.to_string()]);
        // Still a replica, and the stream flows.
        c.cmd(&["SET", "after", "the-snapshot"]);
        let mut stream = Vec::new();
        let mut buf = [0u8; 4096];
        while !stream.windows(12).any(|w| w == b"the-snapshot") {
            let n = replica
                .r
                .read(&mut buf)
                .unwrap_or_else(|e| panic!("{kind:?}: no stream: {e}"));
            assert!(n > 0, "{kind:?}: closed after the payload");
            stream.extend_from_slice(&buf[..n]);
        }
    }
}
