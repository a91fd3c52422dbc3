//! `client-output-buffer-limit replica` counts the replication stream a
//! master buffers for a replica, never the snapshot payload (Redis writes the
//! RDB straight to the socket, outside the client's output buffer). Each test
//! drives a master [`Node`] the way a driver does, playing a replica whose
//! socket takes nothing (a stalled reader): every byte sent to it stays
//! unsent and is reported with [`Input::OutputPending`].

use std::collections::BTreeMap;

use tandem_core::node::Event;
use tandem_core::{Config, Input, Node, Output};

const T0: u64 = 1_700_000_000_000;
const LIMIT_TEXT: &str = "scheduled to be closed ASAP for overcoming of output buffer limits";

/// A master, its clients' received bytes and what it closed and logged.
struct Master {
    node: Node,
    now: u64,
    received: BTreeMap<u64, Vec<u8>>,
    closed: Vec<u64>,
    logs: Vec<String>,
    writer: u64,
}

impl Master {
    /// A master configured with `config` (CONFIG SET pairs) holding
    /// `keys` keys of 1 KB each.
    fn new(config: &[(&str, &str)], keys: usize) -> Master {
        let mut node = Node::new(Config::default(), 7, T0);
        let writer = node.accept(T0, "127.0.0.1:40000".into());
        let mut m = Master {
            node,
            now: T0,
            received: BTreeMap::new(),
            closed: Vec::new(),
            logs: Vec::new(),
            writer,
        };
        for (name, value) in config {
            m.command(writer, &["CONFIG", "SET", name, value]);
            assert_eq!(m.take(writer), b"+OK\r\n", "CONFIG SET {name} {value}");
        }
        // Values that do not compress, so the RDB is as big as the data.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..keys {
            let value: String = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    format!("{x:016x}")
                })
                .collect();
            m.command(writer, &["SET", &format!("key:{i}"), &value]);
        }
        m.take(writer);
        m
    }

    fn input(&mut self, input: Input) {
        self.node.handle_input(self.now, input);
        while let Some(out) = self.node.poll_output() {
            match out {
                Output::Send(c, b) => self.received.entry(c).or_default().extend_from_slice(&b),
                Output::Close(c) => self.closed.push(c),
                Output::Event(Event::Log { message, .. }) => self.logs.push(message),
                _ => {}
            }
        }
    }

    fn command(&mut self, conn: u64, args: &[&str]) {
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.input(Input::Received(conn, req.into_bytes().into()));
    }

    fn take(&mut self, conn: u64) -> Vec<u8> {
        self.received.remove(&conn).unwrap_or_default()
    }

    fn sent_to(&self, conn: u64) -> u64 {
        self.received.get(&conn).map_or(0, |b| b.len() as u64)
    }

    /// A replica connects and asks for a full sync; its socket takes nothing.
    fn stalled_replica(&mut self) -> u64 {
        let r = self.node.accept(self.now, "127.0.0.1:40001".into());
        self.command(r, &["REPLCONF", "listening-port", "6380"]);
        self.command(r, &["REPLCONF", "capa", "eof", "capa", "psync2"]);
        self.received.remove(&r);
        self.command(r, &["PSYNC", "?", "-1"]);
        r
    }

    /// Run ticks (1 ms apart) until the whole snapshot went out to the
    /// replica: INFO shows it `online`.
    fn until_payload_sent(&mut self) {
        for _ in 0..10_000 {
            self.command(self.writer, &["INFO", "replication"]);
            let info = String::from_utf8_lossy(&self.take(self.writer)).into_owned();
            if info.contains("state=online") {
                return;
            }
            self.now += 1;
            self.input(Input::Tick);
        }
        panic!("the snapshot was never sent");
    }

    /// The driver tells the master that nothing sent to `r` was taken.
    fn report_all_unsent(&mut self, r: u64) {
        let unsent = self.sent_to(r);
        self.input(Input::OutputPending {
            conn: r,
            bytes: unsent,
        });
    }

    /// Write `n` bytes of stream (in 1 KB SETs), reporting `r`'s unsent
    /// bytes after each; stops early when `r` is closed.
    fn write_stream(&mut self, r: u64, n: usize) {
        let value = "w".repeat(1000);
        for i in 0..n / 1024 {
            self.command(self.writer, &["SET", &format!("new:{i}"), &value]);
            self.take(self.writer);
            self.report_all_unsent(r);
            if self.closed.contains(&r) {
                return;
            }
        }
    }

    fn limit_kills(&self) -> usize {
        self.logs.iter().filter(|l| l.contains(LIMIT_TEXT)).count()
    }
}

/// 200 KB of snapshot, a 16 KB limit: the payload sits unsent and the
/// replica stays; then more than 16 KB of stream piles up behind it and the
/// replica is dropped with Redis's words.
#[test]
fn disk_payload_over_the_hard_limit_is_not_counted_but_the_stream_is() {
    let mut m = Master::new(
        &[
            ("repl-diskless-sync", "no"),
            ("client-output-buffer-limit", "replica 16kb 0 0"),
            ("repl-backlog-size", "16kb"),
        ],
        200,
    );
    let r = m.stalled_replica();
    m.until_payload_sent();
    m.report_all_unsent(r);
    assert!(
        m.sent_to(r) > 200_000,
        "the payload went out: {}",
        m.sent_to(r)
    );
    assert!(
        !m.closed.contains(&r),
        "dropped for its payload: {:?}",
        m.logs
    );

    // 12 KB of stream: under the limit, still connected.
    m.write_stream(r, 12 * 1024);
    assert!(!m.closed.contains(&r), "dropped at 12 KB: {:?}", m.logs);
    // 8 KB more: over 16 KB of stream, dropped.
    m.write_stream(r, 8 * 1024);
    assert!(m.closed.contains(&r), "kept with 20 KB of stream unsent");
    assert_eq!(m.limit_kills(), 1, "{:?}", m.logs);
    let log = m.logs.iter().find(|l| l.contains(LIMIT_TEXT)).unwrap();
    assert!(log.contains("(replica)"), "{log}");
}

/// The same with a diskless transfer: the stream is kept for the replica
/// until its first ACK, and that kept stream is what the limit counts.
#[test]
fn diskless_payload_is_not_counted_but_the_stream_kept_for_the_first_ack_is() {
    let mut m = Master::new(
        &[
            ("repl-diskless-sync", "yes"),
            ("repl-diskless-sync-delay", "0"),
            ("client-output-buffer-limit", "replica 16kb 0 0"),
            ("repl-backlog-size", "16kb"),
        ],
        200,
    );
    let r = m.stalled_replica();
    m.until_payload_sent();
    m.report_all_unsent(r);
    assert!(m.sent_to(r) > 200_000);
    assert!(
        !m.closed.contains(&r),
        "dropped for its payload: {:?}",
        m.logs
    );
    m.write_stream(r, 12 * 1024);
    assert!(!m.closed.contains(&r), "dropped at 12 KB: {:?}", m.logs);
    m.write_stream(r, 8 * 1024);
    assert!(m.closed.contains(&r), "kept with 20 KB of stream held");
    assert_eq!(m.limit_kills(), 1, "{:?}", m.logs);
}

/// Stream written while the snapshot is still being produced is kept for
/// the replica and counts at once (Redis checks on every append), even
/// though the driver has reported nothing.
#[test]
fn stream_kept_during_the_transfer_counts() {
    let mut m = Master::new(
        &[
            ("repl-diskless-sync", "no"),
            ("client-output-buffer-limit", "replica 16kb 0 0"),
            ("repl-backlog-size", "16kb"),
        ],
        2_000,
    );
    let r = m.stalled_replica();
    // No tick: the snapshot has not been encoded yet.
    let value = "w".repeat(1000);
    for i in 0..20 {
        m.command(m.writer, &["SET", &format!("new:{i}"), &value]);
    }
    assert!(m.closed.contains(&r), "kept with 20 KB of stream held");
    assert_eq!(m.limit_kills(), 1, "{:?}", m.logs);
}

/// A replica whose payload is still draining is not timed out while bytes
/// keep leaving (Redis does not time out a replica still receiving its
/// snapshot); when the transfer stalls for `repl-timeout`, it is, with
/// Redis's words for a full sync.
#[test]
fn a_draining_payload_is_timed_out_on_no_progress_only() {
    let mut m = Master::new(
        &[
            ("repl-diskless-sync", "no"),
            ("repl-timeout", "2"),
            ("repl-backlog-size", "16kb"),
        ],
        200,
    );
    let r = m.stalled_replica();
    m.until_payload_sent();
    let total = m.sent_to(r);
    // The peer takes 10 KB a second for 8 seconds: no ACK, yet progress.
    for s in 1..=8u64 {
        m.now += 1000;
        m.input(Input::OutputPending {
            conn: r,
            bytes: total - s * 10_000,
        });
        m.input(Input::Tick);
        assert!(
            !m.closed.contains(&r),
            "timed out while draining at {s}s: {:?}",
            m.logs
        );
    }
    // Then it stalls.
    for _ in 0..4 {
        m.now += 1000;
        m.input(Input::Tick);
    }
    assert!(
        m.closed.contains(&r),
        "a stalled transfer was never timed out"
    );
    assert!(
        m.logs
            .iter()
            .any(|l| l.starts_with("Disconnecting timedout replica (full sync)")),
        "{:?}",
        m.logs
    );
}

/// Once the payload is all out the replica's ACK clock starts then (Redis's
/// `replicaPutOnline`): a replica that needed longer than `repl-timeout` to
/// take its snapshot is not dropped before it could ACK.
#[test]
fn the_ack_clock_starts_when_the_payload_is_out() {
    let mut m = Master::new(
        &[
            ("repl-diskless-sync", "no"),
            ("repl-timeout", "2"),
            ("repl-backlog-size", "16kb"),
        ],
        200,
    );
    let r = m.stalled_replica();
    m.until_payload_sent();
    let total = m.sent_to(r);
    for s in 1..=5u64 {
        m.now += 1000;
        let left = total.saturating_sub(s * 50_000);
        m.input(Input::OutputPending {
            conn: r,
            bytes: left,
        });
        m.input(Input::Tick);
    }
    // Drained at 5 s; 1.5 s later it has not ACKed yet and is still there.
    m.now += 1500;
    m.input(Input::Tick);
    assert!(!m.closed.contains(&r), "{:?}", m.logs);
    // No ACK for more than repl-timeout after that: dropped.
    m.now += 1500;
    m.input(Input::Tick);
    assert!(m.closed.contains(&r));
    assert!(
        m.logs
            .iter()
            .any(|l| l.starts_with("Disconnecting timedout replica (streaming sync)")),
        "{:?}",
        m.logs
    );
}
