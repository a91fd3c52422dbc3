//! The replica side of replication (`replication.c`: `connectWithMaster`,
//! `syncWithMaster`, `readSyncBulkPayload`, `replicationCron`), spec §1, §3.4,
//! §5.3 and §8.2.
//!
//! * Handshake: `PING` (any `+` reply, or `-NOAUTH` / `-NOPERM` /
//!   `-ERR operation not permitted`, is fine), then pipelined `AUTH` (with
//!   `masterauth` / `masteruser`), `REPLCONF listening-port`, `REPLCONF
//!   ip-address` (if `replica-announce-ip`), `REPLCONF capa eof capa psync2`,
//!   replies read in order (an AUTH error ends the attempt), then
//!   `PSYNC <replid> <offset+1>` with the cached master, or `PSYNC ? -1`.
//! * `+FULLRESYNC <id> <off>`: the RDB follows, after optional `\n`
//!   keepalives, framed `$<len>\r\n` or `$EOF:<mark>\r\n...<mark>`; it is
//!   decoded as it arrives into a fresh keyspace that replaces the dataset
//!   only once complete (a failed transfer keeps the old data). In EOF mode
//!   an ACK is sent at once, since the master holds the stream until then.
//! * `+CONTINUE [<id>]`: partial sync; a new id rotates ours into `replid2`
//!   (valid up to our offset + 1) and our own sub-replicas are dropped.
//! * `-NOMASTERLINK` / `-LOADING`: try again later. Any failure closes the
//!   link and retries after a second; `repl-timeout` without data does too.
//! * Streaming: the master's commands run through a master client whose
//!   replies are discarded; the offset advances by each command's bytes once
//!   it is applied, never inside MULTI before EXEC; applied bytes go
//!   unchanged to our backlog and sub-replicas (chained replication).
//!   `REPLCONF ACK <offset>` goes out every second and on `GETACK`.

use super::ReplEvent;
use crate::cmd::Client;
use crate::node::{ConnId, Event, Node, Output};
use crate::resp::encode_command;

/// How the RDB payload is framed.
#[derive(Debug)]
enum Framing {
    /// `$<len>`: this many bytes remain.
    Len(u64),
    /// `$EOF:<mark>`: ends with the 40-byte mark.
    Eof { mark: Vec<u8>, held: Vec<u8> },
}

/// An RDB transfer in progress.
pub struct Transfer {
    master_replid: String,
    offset: i64,
    framing: Option<Framing>,
    decoder: crate::rdb::Decoder,
    received: u64,
}

impl std::fmt::Debug for Transfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transfer")
            .field("master_replid", &self.master_replid)
            .field("offset", &self.offset)
            .field("received", &self.received)
            .finish()
    }
}

/// Which handshake reply the replica waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The reply to PING.
    Pong,
    /// The reply to AUTH.
    Auth,
    /// The reply to a REPLCONF.
    Replconf,
    /// The reply to PSYNC.
    Psync,
}

/// The link to the master.
#[derive(Debug)]
pub enum LinkState {
    /// Not connected; dial at this time.
    Connect {
        /// When to dial (Unix ms).
        at: u64,
    },
    /// Dialing.
    Connecting {
        /// The connection.
        conn: ConnId,
    },
    /// Handshake: replies still expected, in order.
    Handshake {
        /// The connection.
        conn: ConnId,
        /// Replies expected, first first.
        expect: std::collections::VecDeque<Expect>,
    },
    /// Receiving the RDB.
    Transfer {
        /// The connection.
        conn: ConnId,
        /// The transfer.
        transfer: Box<Transfer>,
    },
    /// Streaming; the master client is `node.clients[conn]`.
    Connected {
        /// The connection.
        conn: ConnId,
    },
}

/// A node's replica-side state (present while it is a replica).
#[derive(Debug)]
pub struct ReplicaSide {
    /// Master host.
    pub host: String,
    /// Master port.
    pub port: u16,
    /// The link.
    pub state: LinkState,
    /// Link bytes not yet consumed (handshake lines, payload preamble).
    buf: Vec<u8>,
    /// Whether our replid/offset name a history the master may continue (a cached master).
    pub cached: bool,
    /// Database the master client had selected (kept for a partial resync).
    pub cached_db: usize,
    /// Last time bytes came from the master (Unix ms).
    pub last_io: u64,
    /// When the link went down (Unix ms), for INFO.
    pub down_since: u64,
    /// Bytes of the current transfer, for INFO.
    pub transfer_read: u64,
}

impl ReplicaSide {
    /// A replica of `host:port` that will dial at `now`.
    pub fn new(host: String, port: u16, now: u64, cached: bool) -> Self {
        ReplicaSide {
            host,
            port,
            state: LinkState::Connect { at: now },
            buf: Vec::new(),
            cached,
            cached_db: 0,
            last_io: now,
            down_since: now,
            transfer_read: 0,
        }
    }

    /// The connection to the master, if any.
    pub fn conn(&self) -> Option<ConnId> {
        match &self.state {
            LinkState::Connect { .. } => None,
            LinkState::Connecting { conn }
            | LinkState::Handshake { conn, .. }
            | LinkState::Connected { conn } => Some(*conn),
            LinkState::Transfer { conn, .. } => Some(*conn),
        }
    }

    /// Whether the link is up and streaming (`master_link_status:up`).
    pub fn link_up(&self) -> bool {
        matches!(self.state, LinkState::Connected { .. })
    }

    /// Whether a sync is in progress (`master_sync_in_progress`).
    pub fn sync_in_progress(&self) -> bool {
        matches!(self.state, LinkState::Transfer { .. })
    }

    /// The state word ROLE reports.
    pub fn role_state(&self) -> &'static str {
        match self.state {
            LinkState::Connect { .. } => "connect",
            LinkState::Connecting { .. } => "connecting",
            LinkState::Handshake { .. } => "handshake",
            LinkState::Transfer { .. } => "sync",
            LinkState::Connected { .. } => "connected",
        }
    }
}

fn cmd_bytes<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(&mut out, args);
    out
}

fn take_line(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let nl = buf.iter().position(|&c| c == b'\n')?;
    let mut line: Vec<u8> = buf.drain(..=nl).collect();
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Some(line)
}

impl Node {
    /// Whether this node is a replica.
    pub fn is_replica(&self) -> bool {
        self.repl.replica.is_some()
    }

    fn repl_event(&mut self, e: ReplEvent) {
        self.event(Event::Repl(e));
    }

    fn send_raw(&mut self, conn: ConnId, bytes: Vec<u8>) {
        self.stats.net_output_bytes += bytes.len() as u64;
        self.outputs.push_back(Output::Send(conn, bytes.into()));
    }

    /// Become a replica of `host:port` (REPLICAOF / `replicaof` config).
    pub(crate) fn become_replica(&mut self, host: String, port: u16) {
        let was_master = self.repl.replica.is_none();
        if let Some(side) = self.repl.replica.take() {
            if let Some(conn) = side.conn() {
                self.drop_master_connection(conn);
            }
            let cached = side.cached || side.link_up();
            self.repl.replica = Some(ReplicaSide::new(host, port, self.now, cached));
        } else {
            // A master turning replica offers its own history (`replicationCacheMasterUsingMyself`).
            let cached_db = self.repl.propagation.stream_db.max(0) as usize;
            let mut side = ReplicaSide::new(host, port, self.now, true);
            side.cached_db = cached_db;
            self.repl.replica = Some(side);
        }
        let _ = was_master;
        self.ks.replica_mode = true;
        self.repl_cron_dial();
    }

    /// Stop being a replica (REPLICAOF NO ONE): promotion keeps the history
    /// reachable as `replid2` and drops our sub-replicas so they learn the new id.
    pub(crate) fn become_master(&mut self) {
        let Some(side) = self.repl.replica.take() else {
            return;
        };
        if let Some(conn) = side.conn() {
            self.drop_master_connection(conn);
        }
        #[cfg(feature = "planted-bugs")]
        let rotate = !self.repl.planted.promotion_keeps_replid;
        #[cfg(not(feature = "planted-bugs"))]
        let rotate = true;
        if rotate {
            self.repl.identity.shift(&mut self.rng);
        }
        self.ks.replica_mode = false;
        self.disconnect_sub_replicas("promoted: replication id changed");
        self.repl.propagation.stream_db = -1;
        let size = self.config.repl_backlog_size as usize;
        if self.repl.backlog.is_none() {
            self.repl.backlog = Some(super::Backlog::new(
                size,
                self.repl.identity.master_repl_offset,
            ));
        }
        let (id, id2) = (
            self.repl.identity.replid.clone(),
            self.repl.identity.replid2.clone(),
        );
        self.log(
            "notice",
            format!("MASTER MODE enabled; new replication IDs are '{id}' and '{id2}'"),
        );
    }

    /// Close every sub-replica connection (they reconnect and learn our new id).
    pub(crate) fn disconnect_sub_replicas(&mut self, reason: &str) {
        let ids: Vec<ConnId> = self.repl.replicas.iter().copied().collect();
        for id in ids {
            self.kill_client(id, reason);
        }
    }

    fn drop_master_connection(&mut self, conn: ConnId) {
        if let Some(client) = self.clients.remove(&conn) {
            if let Some(side) = self.repl.replica.as_mut() {
                side.cached_db = client.db;
            }
        }
        self.outputs.push_back(Output::Close(conn));
    }

    /// Dial the master now if the link is waiting to (called by cron and REPLICAOF).
    pub(crate) fn repl_cron_dial(&mut self) {
        let now = self.now;
        let Some(side) = self.repl.replica.as_mut() else {
            return;
        };
        if let LinkState::Connect { at } = side.state {
            if now >= at {
                let conn = self.next_conn;
                self.next_conn += 1;
                side.state = LinkState::Connecting { conn };
                side.buf.clear();
                side.last_io = now;
                let (host, port) = (side.host.clone(), side.port);
                self.outputs.push_back(Output::Connect {
                    conn,
                    host: host.clone(),
                    port,
                });
                self.log("notice", format!("Connecting to MASTER {host}:{port}"));
            }
        }
    }

    /// The link broke or failed: keep what we know (the cached master) and
    /// retry: at once if the link was streaming (as Redis 7.0 does, so the
    /// backlog has no time to move on), otherwise after a second.
    pub(crate) fn master_link_failed(&mut self, reason: &str) {
        let now = self.now;
        let Some(side) = self.repl.replica.as_mut() else {
            return;
        };
        let was_up = side.link_up();
        let conn = side.conn();
        side.state = LinkState::Connect {
            at: if was_up { now } else { now + 1000 },
        };
        side.buf.clear();
        side.down_since = now;
        if was_up {
            side.cached = true;
        }
        if let Some(conn) = conn {
            self.drop_master_connection(conn);
        }
        self.log("warning", format!("MASTER link down: {reason}"));
        if was_up {
            self.repl_cron_dial();
        }
    }

    /// Whether `conn` is the master link in its handshake or transfer.
    pub(crate) fn is_master_link_pre_stream(&self, conn: ConnId) -> bool {
        self.repl
            .replica
            .as_ref()
            .is_some_and(|s| s.conn() == Some(conn) && !s.link_up())
    }

    /// The dialed connection to the master is up: start the handshake.
    pub(crate) fn master_connected(&mut self, conn: ConnId) {
        let Some(side) = self.repl.replica.as_mut() else {
            return;
        };
        if !matches!(side.state, LinkState::Connecting { conn: c } if c == conn) {
            return;
        }
        side.state = LinkState::Handshake {
            conn,
            expect: [Expect::Pong].into(),
        };
        side.last_io = self.now;
        self.send_raw(conn, cmd_bytes(&[b"PING"]));
    }

    /// Bytes from the master before the stream (handshake replies, RDB payload).
    pub(crate) fn master_link_bytes(&mut self, conn: ConnId, data: &[u8]) {
        let now = self.now;
        let Some(side) = self.repl.replica.as_mut() else {
            return;
        };
        side.last_io = now;
        side.buf.extend_from_slice(data);
        loop {
            let Some(side) = self.repl.replica.as_mut() else {
                return;
            };
            match &mut side.state {
                LinkState::Handshake { .. } => {
                    let Some(line) = take_line(&mut side.buf) else {
                        return;
                    };
                    if let Err(reason) = self.handshake_line(conn, line) {
                        self.master_link_failed(&reason);
                        return;
                    }
                }
                LinkState::Transfer { .. } => {
                    match self.transfer_bytes(conn) {
                        Ok(true) => continue, // loaded: the rest is stream
                        Ok(false) => return,
                        Err(reason) => {
                            self.master_link_failed(&reason);
                            return;
                        }
                    }
                }
                LinkState::Connected { .. } => {
                    let rest = std::mem::take(&mut side.buf);
                    if !rest.is_empty() {
                        self.master_stream_bytes(conn, &rest);
                    }
                    return;
                }
                _ => return,
            }
        }
    }

    fn handshake_line(&mut self, conn: ConnId, line: Vec<u8>) -> Result<(), String> {
        let text = String::from_utf8_lossy(&line).into_owned();
        let side = self.repl.replica.as_mut().expect("replica side");
        let LinkState::Handshake { expect, .. } = &mut side.state else {
            return Ok(());
        };
        let Some(&what) = expect.front() else {
            return Ok(());
        };
        if line.is_empty() {
            // Keepalive newlines before the PSYNC reply.
            return Ok(());
        }
        expect.pop_front();
        match what {
            Expect::Pong => {
                let ok = text.starts_with('+')
                    || text.starts_with("-NOAUTH")
                    || text.starts_with("-NOPERM")
                    || text.starts_with("-ERR operation not permitted");
                if !ok {
                    return Err(format!("Error reply to PING from master: '{text}'"));
                }
                let mut burst = Vec::new();
                let mut expects = Vec::new();
                if let Some(pass) = self.config.masterauth.clone() {
                    match self.config.masteruser.clone() {
                        Some(user) => burst.extend(cmd_bytes(&[b"AUTH".to_vec(), user, pass])),
                        None => burst.extend(cmd_bytes(&[b"AUTH".to_vec(), pass])),
                    }
                    expects.push(Expect::Auth);
                }
                let port = if self.config.replica_announce_port > 0 {
                    self.config.replica_announce_port
                } else {
                    self.config.port as u64
                };
                burst.extend(cmd_bytes(&[
                    b"REPLCONF".to_vec(),
                    b"listening-port".to_vec(),
                    port.to_string().into_bytes(),
                ]));
                expects.push(Expect::Replconf);
                if !self.config.replica_announce_ip.is_empty() {
                    burst.extend(cmd_bytes(&[
                        b"REPLCONF".to_vec(),
                        b"ip-address".to_vec(),
                        self.config.replica_announce_ip.clone().into_bytes(),
                    ]));
                    expects.push(Expect::Replconf);
                }
                burst.extend(cmd_bytes(&[
                    &b"REPLCONF"[..],
                    b"capa",
                    b"eof",
                    b"capa",
                    b"psync2",
                ]));
                expects.push(Expect::Replconf);
                let side = self.repl.replica.as_mut().expect("replica side");
                if let LinkState::Handshake { expect, .. } = &mut side.state {
                    expect.extend(expects);
                }
                self.send_raw(conn, burst);
            }
            Expect::Auth => {
                if text.starts_with('-') {
                    return Err(format!("Unable to AUTH to MASTER: {text}"));
                }
            }
            Expect::Replconf => {
                let done = expect.is_empty();
                if text.starts_with('-') {
                    self.log(
                        "notice",
                        format!("(Non critical) Master does not understand REPLCONF: {text}"),
                    );
                }
                if done {
                    self.send_psync(conn);
                }
            }
            Expect::Psync => return self.psync_reply(conn, &text),
        }
        Ok(())
    }

    /// The `PSYNC <id> <offset>` this node sends when its link to the master
    /// reaches that point of the handshake (now, were it to reconnect):
    /// `<replid> <offset+1>` with a cached master, `? -1` without one.
    /// `None` when it is not a replica.
    pub fn psync_request(&self) -> Option<(String, i64)> {
        let side = self.repl.replica.as_ref()?;
        if !side.cached {
            return Some(("?".to_string(), -1));
        }
        #[cfg(not(feature = "planted-bugs"))]
        let resume = self.repl.identity.master_repl_offset + 1;
        #[cfg(feature = "planted-bugs")]
        let resume = self.repl.identity.master_repl_offset + 1
            - if self.repl.planted.psync_repeats_last_command {
                self.repl.last_applied_len
            } else {
                0
            };
        Some((self.repl.identity.replid.clone(), resume))
    }

    fn send_psync(&mut self, conn: ConnId) {
        let (id, off) = self.psync_request().expect("replica side");
        let off = off.to_string();
        let side = self.repl.replica.as_mut().expect("replica side");
        if let LinkState::Handshake { expect, .. } = &mut side.state {
            expect.push_back(Expect::Psync);
        }
        self.log(
            "notice",
            format!("Trying a partial resynchronization (request {id}:{off})."),
        );
        self.send_raw(
            conn,
            cmd_bytes(&[b"PSYNC".to_vec(), id.into_bytes(), off.into_bytes()]),
        );
    }

    fn psync_reply(&mut self, conn: ConnId, text: &str) -> Result<(), String> {
        if let Some(rest) = text.strip_prefix("+FULLRESYNC") {
            let mut parts = rest.split_whitespace();
            let id = parts.next().unwrap_or("").to_string();
            let offset: i64 = parts
                .next()
                .and_then(|o| o.parse().ok())
                .ok_or_else(|| format!("Bad +FULLRESYNC reply: '{text}'"))?;
            let id = if id.len() == 40 { id } else { String::new() };
            self.log("notice", format!("Full resync from master: {id}:{offset}"));
            self.start_transfer(conn, id, offset);
            return Ok(());
        }
        if let Some(rest) = text.strip_prefix("+CONTINUE") {
            let new_id = rest.trim().to_string();
            let ident = &mut self.repl.identity;
            if new_id.len() == 40 && !new_id.eq_ignore_ascii_case(&ident.replid) {
                ident.replid2 = std::mem::replace(&mut ident.replid, new_id.clone());
                ident.second_replid_offset = ident.master_repl_offset + 1;
                self.log(
                    "notice",
                    format!("Master replication ID changed to {new_id}"),
                );
                self.disconnect_sub_replicas("master replication id changed");
            }
            let size = self.config.repl_backlog_size as usize;
            if self.repl.backlog.is_none() {
                self.repl.backlog = Some(super::Backlog::new(
                    size,
                    self.repl.identity.master_repl_offset,
                ));
            }
            self.log(
                "notice",
                "Successful partial resynchronization with master.".into(),
            );
            let db = self.repl.replica.as_ref().map(|s| s.cached_db).unwrap_or(0);
            self.master_link_up(conn, db);
            return Ok(());
        }
        if text.starts_with("-NOMASTERLINK") || text.starts_with("-LOADING") {
            return Err(format!(
                "Master is currently unable to PSYNC but should be in the future: {text}"
            ));
        }
        if text.starts_with('-') {
            // A master that does not know PSYNC: legacy SYNC on the same
            // connection; the RDB follows with no +FULLRESYNC line.
            self.log(
                "notice",
                format!("Master does not support PSYNC or is in error state (reply: {text}): falling back to SYNC"),
            );
            self.start_transfer(conn, String::new(), 0);
            self.send_raw(conn, b"SYNC\r\n".to_vec());
            return Ok(());
        }
        Err(format!("Unexpected reply to PSYNC from master: {text}"))
    }

    /// Expect the RDB payload next on `conn` (after `+FULLRESYNC`, or a legacy SYNC).
    fn start_transfer(&mut self, conn: ConnId, master_replid: String, offset: i64) {
        let opts = crate::rdb::DecodeOptions::from_config(&self.config, self.rng.next_u64());
        let side = self.repl.replica.as_mut().expect("replica side");
        side.transfer_read = 0;
        side.state = LinkState::Transfer {
            conn,
            transfer: Box::new(Transfer {
                master_replid,
                offset,
                framing: None,
                decoder: crate::rdb::Decoder::new(opts),
                received: 0,
            }),
        };
    }

    /// Consume payload bytes; `Ok(true)` when called again it may progress
    /// (a keepalive was skipped, or the dataset is loaded and the rest is stream).
    fn transfer_bytes(&mut self, conn: ConnId) -> Result<bool, String> {
        let side = self.repl.replica.as_mut().expect("replica side");
        let LinkState::Transfer { transfer, .. } = &mut side.state else {
            return Ok(false);
        };
        if transfer.framing.is_none() {
            let Some(line) = take_line(&mut side.buf) else {
                return Ok(false);
            };
            if line.is_empty() {
                // A keepalive before the payload; look at the next line, if any.
                return Ok(!side.buf.is_empty());
            }
            if line[0] == b'-' {
                return Err(format!(
                    "MASTER aborted replication with an error: {}",
                    String::from_utf8_lossy(&line)
                ));
            }
            if line[0] != b'$' {
                return Err(format!("Bad protocol from MASTER, the first byte is not '$' (we received '{}'), are you sure the host and port are right?", String::from_utf8_lossy(&line)));
            }
            if let Some(mark) = line.strip_prefix(b"$EOF:") {
                if mark.len() != 40 {
                    return Err("Bad EOF mark from MASTER".into());
                }
                transfer.framing = Some(Framing::Eof {
                    mark: mark.to_vec(),
                    held: Vec::new(),
                });
            } else {
                let len = crate::util::parse_i64(&line[1..])
                    .filter(|&l| l >= 0)
                    .ok_or("Bad RDB length from MASTER")?;
                transfer.framing = Some(Framing::Len(len as u64));
            }
        }
        let data = std::mem::take(&mut side.buf);
        side.transfer_read += data.len() as u64;
        let done = match transfer.framing.as_mut().expect("framing") {
            Framing::Len(remaining) => {
                let n = (*remaining).min(data.len() as u64) as usize;
                transfer.decoder.feed(&data[..n]).map_err(|e| {
                    format!("Failed trying to load the MASTER synchronization DB from socket: {e}")
                })?;
                *remaining -= n as u64;
                side.buf = data[n..].to_vec();
                *remaining == 0
            }
            Framing::Eof { mark, held } => {
                held.extend_from_slice(&data);
                if held.len() >= 40 && held[held.len() - 40..] == mark[..] {
                    let body = held.len() - 40;
                    transfer.decoder.feed(&held[..body]).map_err(|e| {
                        format!(
                            "Failed trying to load the MASTER synchronization DB from socket: {e}"
                        )
                    })?;
                    held.clear();
                    true
                } else {
                    if held.len() > 40 {
                        let body = held.len() - 40;
                        transfer.decoder.feed(&held[..body]).map_err(|e| format!("Failed trying to load the MASTER synchronization DB from socket: {e}"))?;
                        held.drain(..body);
                    }
                    false
                }
            }
        };
        transfer.received += data.len() as u64;
        if !done {
            return Ok(false);
        }
        let LinkState::Transfer { transfer, .. } =
            std::mem::replace(&mut side.state, LinkState::Connect { at: 0 })
        else {
            unreachable!("state checked above")
        };
        let eof_mode = matches!(transfer.framing, Some(Framing::Eof { .. }));
        let loaded = transfer.decoder.finish().map_err(|e| {
            format!("Failed trying to load the MASTER synchronization DB from socket: {e}")
        })?;
        let keys = loaded.keys;
        // Replace the dataset only now that the new one is complete.
        let mut ks = loaded.keyspace;
        ks.replica_mode = true;
        self.ks = ks;
        self.dirty += 1;
        let ident = &mut self.repl.identity;
        // A legacy SYNC (or a malformed id) names no history: take a fresh id.
        ident.replid = if transfer.master_replid.is_empty() {
            self.rng.hex40()
        } else {
            transfer.master_replid.clone()
        };
        ident.master_repl_offset = transfer.offset;
        ident.clear2();
        let size = self.config.repl_backlog_size as usize;
        self.repl.backlog = Some(super::Backlog::new(size, transfer.offset));
        self.disconnect_sub_replicas("full resync with a new master dataset");
        let db = loaded.repl_stream_db.filter(|&d| d >= 0).unwrap_or(0) as usize;
        self.log(
            "notice",
            format!(
                "MASTER <-> REPLICA sync: Finished with success ({keys} keys, {} bytes)",
                transfer.received
            ),
        );
        self.master_link_up(conn, db.min(self.config.databases.saturating_sub(1)));
        if eof_mode {
            self.send_raw(conn, super::master::ack_command(transfer.offset));
        }
        Ok(true)
    }

    /// The link is streaming: create the master client.
    fn master_link_up(&mut self, conn: ConnId, db: usize) {
        let now = self.now;
        let side = self.repl.replica.as_mut().expect("replica side");
        side.state = LinkState::Connected { conn };
        side.cached = true;
        let addr = format!("{}:{}", side.host, side.port);
        let mut client = Client::new(conn, addr.clone(), now);
        client.is_master = true;
        client.db = db;
        self.clients.insert(conn, client);
        self.repl_event(ReplEvent::MasterLinkUp { addr });
    }

    /// Stream bytes from the master once the link is up.
    pub(crate) fn master_stream_bytes(&mut self, conn: ConnId, data: &[u8]) {
        if let Some(side) = self.repl.replica.as_mut() {
            side.last_io = self.now;
        }
        let Some(mut client) = self.clients.remove(&conn) else {
            return;
        };
        client.last_interaction = self.now;
        client.parser.extend(data);
        self.process_client(&mut client);
        self.finish_client(client);
    }

    /// Account one applied master command: advance the offset (unless inside
    /// MULTI) and forward its bytes to our backlog and sub-replicas.
    pub(crate) fn master_command_applied(
        &mut self,
        client: &mut Client,
        args: &[bytes::Bytes],
        wire_len: usize,
    ) {
        let bytes = cmd_bytes(args);
        client.master_pending.extend_from_slice(&bytes);
        client.master_pending_len += wire_len as i64;
        if client.multi.is_some() {
            #[cfg(feature = "planted-bugs")]
            if self.repl.planted.replica_counts_queued {
                self.repl.identity.master_repl_offset += wire_len as i64;
            }
            return;
        }
        let pending = std::mem::take(&mut client.master_pending);
        let len = std::mem::take(&mut client.master_pending_len);
        if let Some(b) = self.repl.backlog.as_mut() {
            b.append(&pending);
        }
        self.repl.identity.master_repl_offset += len;
        #[cfg(feature = "planted-bugs")]
        {
            self.repl.last_applied_len = len;
        }
        self.feed_replicas(&pending, Some(client));
    }

    /// `REPLCONF GETACK` on the master link: answer with the applied offset
    /// (before the GETACK itself, as Redis does).
    pub(crate) fn ack_master(&mut self, client: &mut Client) {
        let ack = super::master::ack_command(self.repl.identity.master_repl_offset);
        client.forced_reply.extend_from_slice(&ack);
    }

    /// Once a second on a replica: dial, ACK, keepalives while loading, timeouts.
    pub(crate) fn replica_cron(&mut self) {
        let now = self.now;
        let timeout = self.config.repl_timeout * 1000;
        let Some(side) = self.repl.replica.as_ref() else {
            return;
        };
        let conn = side.conn();
        let silent = now.saturating_sub(side.last_io) > timeout;
        match &side.state {
            LinkState::Connect { .. } => self.repl_cron_dial(),
            LinkState::Connecting { .. } | LinkState::Handshake { .. } if silent => {
                self.master_link_failed("Timeout connecting to the MASTER...");
            }
            LinkState::Transfer { .. } if silent => {
                self.master_link_failed("Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
            }
            LinkState::Transfer { .. } => {
                // Liveness for the master while we load.
                if let Some(c) = conn {
                    self.send_raw(c, b"\n".to_vec());
                }
            }
            LinkState::Connected { conn } if silent => {
                let _ = conn;
                self.master_link_failed("MASTER timeout: no data nor PING received...");
            }
            LinkState::Connected { conn } => {
                let c = *conn;
                let ack = super::master::ack_command(self.repl.identity.master_repl_offset);
                self.send_raw(c, ack);
            }
            _ => {}
        }
    }
}
