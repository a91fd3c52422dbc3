//! What the bytes on a simulated connection carry, read the way a replica
//! and a master read them (spec §1, §3 of `reference/replication.md`).
//!
//! * The replica (the end that dialed) sends the handshake (`PING`,
//!   `AUTH`, `REPLCONF listening-port | capa`, `PSYNC <replid> <offset>`),
//!   then `REPLCONF ACK <offset>`.
//! * The master answers with simple strings; `+FULLRESYNC <replid> <offset>`
//!   is followed by the RDB as `$<len>\r\n<len bytes>` (no trailing CRLF) or
//!   `$EOF:<40-byte mark>\r\n...<mark>` (diskless); `+CONTINUE [<replid>]`
//!   by the backlog bytes. Then the stream: the commands the master applied
//!   (`SELECT`, writes, `PING` every `repl-ping-replica-period`, `REPLCONF
//!   GETACK *`), and a lone `\n` keepalive while a replica waits for a
//!   snapshot.
//! * A client sends commands and gets replies.
//!
//! A [`Reader`] keeps one direction's state (inside an RDB payload or not, a
//! partial frame), so a chunk is labelled by what it carries even when a
//! frame spans two chunks. Nothing here changes what the nodes do; it only
//! names bytes for the event log and the in-flight view.

use crate::resp::split_args;

/// Who is at the sending end of a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A replica talking to its master (the end that dialed).
    Replica,
    /// A master (or any node) answering a replica that dialed it.
    Master,
    /// A client sending commands.
    Client,
    /// A node answering a client.
    ToClient,
}

/// The kind of a message, as the playground names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A reply to a client or to a handshake command.
    Reply,
    /// A client's command.
    Client,
    /// A stream `PING` or a `\n` keepalive.
    Ping,
    /// Replicated commands.
    Stream,
    /// Handshake commands (`PING`, `AUTH`, `REPLCONF listening-port | capa`).
    Handshake,
    /// `REPLCONF ACK`.
    Ack,
    /// `REPLCONF GETACK`.
    Getack,
    /// `PSYNC`.
    Psync,
    /// RDB payload bytes.
    Rdb,
    /// `+CONTINUE`.
    Continue,
    /// `+FULLRESYNC`.
    Fullresync,
}

impl Kind {
    /// The name the JS API uses.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Reply => "reply",
            Kind::Client => "client",
            Kind::Ping => "ping",
            Kind::Stream => "stream",
            Kind::Handshake => "handshake",
            Kind::Ack => "ack",
            Kind::Getack => "getack",
            Kind::Psync => "psync",
            Kind::Rdb => "rdb",
            Kind::Continue => "continue",
            Kind::Fullresync => "fullresync",
        }
    }
}

/// One thing found in a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What it is.
    pub kind: Kind,
    /// A short label (`PSYNC ? -1`, `RDB 1200/5000 B`, `SET k1`).
    pub label: String,
    /// What it means, in words.
    pub meaning: String,
}

/// What a chunk carries: its items, and the chunk's overall kind (the most
/// telling item's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The items, in order.
    pub items: Vec<Item>,
    /// RDB bytes in this chunk and the transfer's `(received so far, total)`
    /// after it (`total` unknown for `$EOF:` framing).
    pub rdb: Option<(u64, Option<u64>)>,
}

impl Reading {
    /// The most telling kind (a `+FULLRESYNC` beats the RDB bytes after it,
    /// which beat stream commands), or `None` for an empty chunk.
    pub fn kind(&self) -> Option<Kind> {
        self.items.iter().map(|i| i.kind).max()
    }

    /// Labels joined (`+FULLRESYNC ... · RDB 90 B`), at most three, then `+N`.
    pub fn label(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        let mut more = 0;
        for it in &self.items {
            if parts.len() < 3 {
                if parts.last() != Some(&it.label.as_str()) {
                    parts.push(&it.label);
                }
            } else {
                more += 1;
            }
        }
        let mut s = parts.join(" · ");
        if more > 0 {
            s.push_str(&format!(" · +{more}"));
        }
        s
    }

    /// Meanings joined, one per distinct kind of line.
    pub fn meaning(&self) -> String {
        let mut out: Vec<&str> = Vec::new();
        for it in &self.items {
            if !out.contains(&it.meaning.as_str()) {
                out.push(&it.meaning);
            }
        }
        out.join("; ")
    }
}

#[derive(Debug, Clone, Default)]
enum Payload {
    /// RESP frames.
    #[default]
    Frames,
    /// After `+FULLRESYNC`: the next `$` starts the RDB.
    AwaitRdb,
    /// Inside `$<len>`: bytes left, total.
    Len { left: u64, total: u64 },
    /// Inside `$EOF:<mark>`: bytes so far, the mark, the last bytes seen.
    Eof {
        got: u64,
        mark: Vec<u8>,
        tail: Vec<u8>,
    },
}

/// One direction's reading state.
#[derive(Debug, Clone)]
pub struct Reader {
    side: Side,
    payload: Payload,
    carry: Vec<u8>,
    /// Size of the last snapshot the sending master announced (for `$EOF:`).
    pub eof_total_hint: Option<u64>,
}

/// Longest partial frame kept between chunks (a larger one is labelled as raw bytes).
const MAX_CARRY: usize = 64 * 1024;

impl Reader {
    /// A fresh direction sent by `side`.
    pub fn new(side: Side) -> Self {
        Reader {
            side,
            payload: Payload::Frames,
            carry: Vec::new(),
            eof_total_hint: None,
        }
    }

    /// Read one chunk; the state moves past it.
    pub fn read(&mut self, chunk: &[u8]) -> Reading {
        let mut items = Vec::new();
        let mut rdb = None;
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(chunk);
        let mut at = 0;
        while at < buf.len() {
            match &mut self.payload {
                Payload::Len { left, total } => {
                    let take = (*left).min((buf.len() - at) as u64);
                    *left -= take;
                    at += take as usize;
                    let got = *total - *left;
                    let total = *total;
                    if *left == 0 {
                        self.payload = Payload::Frames;
                    }
                    push_rdb(&mut items, &mut rdb, take, got, Some(total));
                    continue;
                }
                Payload::Eof { got, mark, tail } => {
                    let rest = &buf[at..];
                    let mut joined = tail.clone();
                    joined.extend_from_slice(rest);
                    let end = find(&joined, mark).map(|p| p + mark.len() - tail.len());
                    let take = end.unwrap_or(rest.len());
                    *got += take as u64;
                    let total = self.eof_total_hint.map(|t| t + mark.len() as u64);
                    let so_far = *got;
                    if end.is_some() {
                        self.payload = Payload::Frames;
                    } else {
                        let keep = joined.len().saturating_sub(mark.len());
                        *tail = joined[keep..].to_vec();
                    }
                    at += take;
                    push_rdb(&mut items, &mut rdb, take as u64, so_far, total);
                    continue;
                }
                Payload::Frames | Payload::AwaitRdb => {}
            }
            let rest = &buf[at..];
            if rest[0] == b'\n' {
                items.push(Item {
                    kind: Kind::Ping,
                    label: "\\n".into(),
                    meaning: "keepalive newline: the master is still preparing the snapshot".into(),
                });
                at += 1;
                continue;
            }
            let rdb_next = matches!(self.payload, Payload::AwaitRdb);
            let Some(len) = frame_len(rest, rdb_next) else {
                if rest.len() > MAX_CARRY {
                    items.push(raw(rest.len()));
                } else {
                    self.carry = rest.to_vec();
                }
                break;
            };
            let frame = &rest[..len];
            at += len;
            if rdb_next && frame[0] == b'$' {
                // `frame_len` stopped at the preamble line for an RDB.
                let line = &frame[1..frame.len() - 2];
                if let Some(m) = line.strip_prefix(b"EOF:") {
                    self.payload = Payload::Eof {
                        got: 0,
                        mark: m.to_vec(),
                        tail: Vec::new(),
                    };
                    items.push(Item {
                        kind: Kind::Rdb,
                        label: "$EOF:<mark>".into(),
                        meaning: "diskless RDB follows, ended by a 40-byte mark".into(),
                    });
                } else {
                    let total: u64 = std::str::from_utf8(line)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    self.payload = Payload::Len { left: total, total };
                    items.push(Item {
                        kind: Kind::Rdb,
                        label: format!("${total}"),
                        meaning: format!("RDB of {total} bytes follows"),
                    });
                    if total == 0 {
                        self.payload = Payload::Frames;
                    }
                }
                continue;
            }
            let item = self.frame_item(frame);
            if item.kind == Kind::Fullresync {
                self.payload = Payload::AwaitRdb;
            }
            items.push(item);
        }
        Reading { items, rdb }
    }

    fn frame_item(&self, frame: &[u8]) -> Item {
        match frame[0] {
            b'+' => simple(&frame[1..frame.len() - 2], self.side),
            b'-' => {
                let text = String::from_utf8_lossy(&frame[1..frame.len() - 2]).into_owned();
                Item {
                    kind: Kind::Reply,
                    label: format!("-{}", cut(&text, 24)),
                    meaning: format!("error reply: {text}"),
                }
            }
            b'*' if matches!(self.side, Side::Replica | Side::Master | Side::Client) => {
                let args = parse_command(frame).unwrap_or_default();
                command(&args, self.side)
            }
            b'*' | b'$' | b':' | b'_' | b'%' | b'~' | b'#' | b',' => Item {
                kind: Kind::Reply,
                label: reply_label(frame),
                meaning: "reply".into(),
            },
            _ => {
                // An inline command (`PING\r\n`), as redis-cli can send.
                let line = frame.strip_suffix(b"\r\n").unwrap_or(frame);
                let line = line.strip_suffix(b"\n").unwrap_or(line);
                let args = split_args(line).unwrap_or_default();
                command(&args, self.side)
            }
        }
    }
}

fn push_rdb(
    items: &mut Vec<Item>,
    rdb: &mut Option<(u64, Option<u64>)>,
    take: u64,
    got: u64,
    total: Option<u64>,
) {
    let prev = rdb.map_or(0, |(n, _)| n);
    *rdb = Some((got, total));
    let _ = prev;
    let label = match total {
        Some(t) => format!("RDB {got}/{t} B"),
        None => format!("RDB {got} B"),
    };
    items.push(Item {
        kind: Kind::Rdb,
        label,
        meaning: format!("{take} bytes of the RDB snapshot"),
    });
}

fn raw(len: usize) -> Item {
    Item {
        kind: Kind::Reply,
        label: format!("{len} B"),
        meaning: "bytes".into(),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Length of the first complete frame, or `None` if incomplete. After
/// `+FULLRESYNC` (`rdb_next`) a `$` line is the RDB preamble alone.
fn frame_len(buf: &[u8], rdb_next: bool) -> Option<usize> {
    if buf[0] == b'$' && rdb_next {
        return buf.windows(2).position(|w| w == b"\r\n").map(|nl| nl + 2);
    }
    match buf[0] {
        b'+' | b'-' | b':' | b'$' | b'*' | b'_' | b',' | b'#' | b'%' | b'~' => {
            crate::sim::workload::reply_len(buf)
        }
        _ => buf.iter().position(|&c| c == b'\n').map(|p| p + 1),
    }
}

fn parse_command(frame: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut p = crate::resp::RequestParser::new();
    p.extend(frame);
    let req = p
        .next_request(crate::resp::ParseLimits {
            max_bulk_len: None,
            authenticated: true,
        })
        .ok()
        .flatten()?;
    Some(req.args.iter().map(|a| a.to_vec()).collect())
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n).collect();
        format!("{t}…")
    }
}

fn short_id(id: &str) -> String {
    if id.len() == 40 {
        format!("{}…", &id[..6])
    } else {
        id.to_string()
    }
}

fn simple(body: &[u8], side: Side) -> Item {
    let text = String::from_utf8_lossy(body).into_owned();
    let mut words = text.split_whitespace();
    match words.next().unwrap_or("") {
        "FULLRESYNC" => {
            let id = words.next().unwrap_or("");
            let off = words.next().unwrap_or("");
            Item {
                kind: Kind::Fullresync,
                label: format!("+FULLRESYNC {} {off}", short_id(id)),
                meaning: format!(
                    "full resync: a snapshot of history {id} at offset {off} follows, then the stream"
                ),
            }
        }
        "CONTINUE" => {
            let id = words.next();
            Item {
                kind: Kind::Continue,
                label: match id {
                    Some(id) => format!("+CONTINUE {}", short_id(id)),
                    None => "+CONTINUE".into(),
                },
                meaning: match id {
                    Some(id) => format!(
                        "partial resync: the missing bytes follow from the backlog (history {id})"
                    ),
                    None => "partial resync: the missing bytes follow from the backlog".into(),
                },
            }
        }
        _ => Item {
            kind: if side == Side::ToClient {
                Kind::Reply
            } else {
                Kind::Handshake
            },
            label: format!("+{}", cut(&text, 24)),
            meaning: if side == Side::ToClient {
                "reply".into()
            } else {
                "handshake reply".into()
            },
        },
    }
}

fn upper(a: &[u8]) -> String {
    String::from_utf8_lossy(a).to_ascii_uppercase()
}

fn command(args: &[Vec<u8>], side: Side) -> Item {
    let name = args.first().map(|a| upper(a)).unwrap_or_default();
    let arg = |i: usize| {
        args.get(i)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .unwrap_or_default()
    };
    let words = || {
        args.iter()
            .take(3)
            .map(|a| cut(&String::from_utf8_lossy(a), 16))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if side == Side::Client {
        return Item {
            kind: Kind::Client,
            label: words(),
            meaning: format!("client command {name}"),
        };
    }
    match (name.as_str(), side) {
        ("PSYNC", _) => {
            let (id, off) = (arg(1), arg(2));
            let meaning = if id == "?" {
                "PSYNC ? -1: the replica has no history and asks for a full sync".to_string()
            } else {
                format!("the replica asks to continue history {id} from byte {off}")
            };
            Item {
                kind: Kind::Psync,
                label: format!("PSYNC {} {off}", short_id(&id)),
                meaning,
            }
        }
        ("SYNC", _) => Item {
            kind: Kind::Psync,
            label: "SYNC".into(),
            meaning: "legacy SYNC: the replica asks for a full sync".into(),
        },
        ("REPLCONF", _) => {
            let sub = upper(args.get(1).map_or(&[][..], |a| a));
            match sub.as_str() {
                "ACK" => Item {
                    kind: Kind::Ack,
                    label: format!("ACK {}", arg(2)),
                    meaning: format!("the replica has applied the stream up to offset {}", arg(2)),
                },
                "GETACK" => Item {
                    kind: Kind::Getack,
                    label: "GETACK".into(),
                    meaning: "the master asks its replicas for their offsets (WAIT)".into(),
                },
                "LISTENING-PORT" => Item {
                    kind: Kind::Handshake,
                    label: format!("REPLCONF listening-port {}", arg(2)),
                    meaning: "the replica announces the port it listens on".into(),
                },
                "CAPA" => Item {
                    kind: Kind::Handshake,
                    label: "REPLCONF capa".into(),
                    meaning: format!(
                        "the replica's capabilities: {}",
                        args[2..]
                            .iter()
                            .filter(|a| !a.eq_ignore_ascii_case(b"capa"))
                            .map(|a| String::from_utf8_lossy(a).into_owned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
                _ => Item {
                    kind: Kind::Handshake,
                    label: format!("REPLCONF {}", arg(1)),
                    meaning: "replication configuration".into(),
                },
            }
        }
        ("PING", Side::Master) => Item {
            kind: Kind::Ping,
            label: "PING".into(),
            meaning: "a PING in the replication stream keeps the link alive".into(),
        },
        ("PING" | "AUTH", _) => Item {
            kind: Kind::Handshake,
            label: name.clone(),
            meaning: if name == "PING" {
                "the replica checks the master answers before the handshake".into()
            } else {
                "the replica authenticates (masterauth)".into()
            },
        },
        ("SELECT", Side::Master) => Item {
            kind: Kind::Stream,
            label: format!("SELECT {}", arg(1)),
            meaning: format!("the stream switches to database {}", arg(1)),
        },
        (_, Side::Master) => Item {
            kind: Kind::Stream,
            label: words(),
            meaning: format!("replicated write {name}"),
        },
        _ => Item {
            kind: Kind::Handshake,
            label: words(),
            meaning: format!("command {name}"),
        },
    }
}

fn reply_label(frame: &[u8]) -> String {
    let first = frame
        .split(|&c| c == b'\n')
        .next()
        .unwrap_or(b"")
        .strip_suffix(b"\r")
        .unwrap_or(b"");
    let s = String::from_utf8_lossy(first);
    match frame[0] {
        b'$' if first != b"$-1" => {
            let body = &frame[first.len() + 2..frame.len().saturating_sub(2).max(first.len() + 2)];
            format!("\"{}\"", cut(&String::from_utf8_lossy(body), 20))
        }
        b'*' => format!("[{} items]", &s[1..]),
        _ => cut(&s, 24),
    }
}

/// Bytes as text a person can read: printable ASCII as is, `\r` `\n` `\t`
/// `\\` `\"` escaped, others as `\xHH`; cut after `max` characters with the
/// number of bytes left.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for (i, &b) in bytes.iter().enumerate() {
        if out.len() >= max {
            out.push_str(&format!("…(+{} bytes)", bytes.len() - i));
            break;
        }
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        crate::resp::encode_command(&mut v, args);
        v
    }

    #[test]
    fn handshake_and_psync_from_a_replica() {
        let mut r = Reader::new(Side::Replica);
        let mut bytes = cmd(&["PING"]);
        bytes.extend(cmd(&["REPLCONF", "listening-port", "7001"]));
        let reading = r.read(&bytes);
        assert_eq!(reading.kind(), Some(Kind::Handshake));
        assert_eq!(reading.label(), "PING · REPLCONF listening-port 7001");
        let reading = r.read(&cmd(&["PSYNC", "?", "-1"]));
        assert_eq!(reading.kind(), Some(Kind::Psync));
        assert!(reading.meaning().contains("full sync"), "{reading:?}");
        let reading = r.read(&cmd(&["REPLCONF", "ACK", "812"]));
        assert_eq!(reading.kind(), Some(Kind::Ack));
        assert_eq!(reading.label(), "ACK 812");
    }

    #[test]
    fn fullresync_then_rdb_across_chunks_then_stream() {
        let mut r = Reader::new(Side::Master);
        let id = "a".repeat(40);
        let mut rdb = b"REDIS0011".to_vec();
        rdb.extend(vec![7u8; 91]);
        let mut first = format!("+FULLRESYNC {id} 0\r\n$100\r\n").into_bytes();
        first.extend_from_slice(&rdb[..40]);
        let reading = r.read(&first);
        assert_eq!(reading.kind(), Some(Kind::Fullresync));
        assert_eq!(reading.rdb, Some((40, Some(100))));
        let mut second = rdb[40..].to_vec();
        second.extend(cmd(&["SELECT", "0"]));
        second.extend(cmd(&["SET", "k", "v"]));
        let reading = r.read(&second);
        assert_eq!(reading.kind(), Some(Kind::Rdb));
        assert_eq!(reading.rdb, Some((100, Some(100))));
        assert_eq!(reading.label(), "RDB 100/100 B · SELECT 0 · SET k v");
        let reading = r.read(&cmd(&["PING"]));
        assert_eq!(reading.kind(), Some(Kind::Ping));
    }

    #[test]
    fn diskless_rdb_ends_at_its_mark_even_split() {
        let mut r = Reader::new(Side::Master);
        let mark = "m".repeat(40);
        let mut all = format!(
            "+FULLRESYNC {} 5\r\n$EOF:{mark}\r\nREDISxxxx",
            "b".repeat(40)
        )
        .into_bytes();
        all.extend_from_slice(&mark.as_bytes()[..10]);
        let reading = r.read(&all);
        assert_eq!(reading.kind(), Some(Kind::Fullresync));
        let mut rest = mark.as_bytes()[10..].to_vec();
        rest.extend(cmd(&["REPLCONF", "GETACK", "*"]));
        let reading = r.read(&rest);
        assert_eq!(reading.items.last().unwrap().kind, Kind::Getack);
        assert_eq!(reading.rdb, Some((9 + 40, None)));
    }

    #[test]
    fn continue_and_a_partial_frame() {
        let mut r = Reader::new(Side::Master);
        let reading = r.read(format!("+CONTINUE {}\r\n", "c".repeat(40)).as_bytes());
        assert_eq!(reading.kind(), Some(Kind::Continue));
        let set = cmd(&["SET", "key", "value"]);
        assert!(r.read(&set[..7]).items.is_empty());
        let reading = r.read(&set[7..]);
        assert_eq!(reading.label(), "SET key value");
        assert_eq!(reading.kind(), Some(Kind::Stream));
    }

    #[test]
    fn client_traffic_and_escaping() {
        let mut c = Reader::new(Side::Client);
        assert_eq!(c.read(&cmd(&["SET", "a", "1"])).kind(), Some(Kind::Client));
        let mut back = Reader::new(Side::ToClient);
        let reading = back.read(b"+OK\r\n:5\r\n$-1\r\n-READONLY no\r\n");
        assert_eq!(reading.kind(), Some(Kind::Reply));
        assert_eq!(reading.items.len(), 4);
        assert_eq!(escape(b"+OK\r\n\x01", 200), "+OK\\r\\n\\x01");
        assert_eq!(escape(b"abcdef", 3), "abc…(+3 bytes)");
        // Garbage never panics.
        let mut g = Reader::new(Side::Master);
        for chunk in [
            &b"*2\r\n$3\r\nSE"[..],
            b"\xff\xfe",
            b"$5\r\nREDIS",
            b"+FULLRESYNC\r\n$x\r\n",
        ] {
            let _ = g.read(chunk);
        }
    }
}
