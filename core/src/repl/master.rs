//! The master side of replication (`replication.c`: `syncCommand`,
//! `replconfCommand`, `replicationCron`, `replicationFeedSlaves`).
//!
//! * `REPLCONF listening-port | ip-address | capa` record what the replica
//!   announces (`+OK`); `REPLCONF ACK <off>` is never answered.
//! * `PSYNC <id> <off>` continues when [`decide`](super::decide) says so:
//!   `+CONTINUE <replid>` (plain `+CONTINUE` without `capa psync2`) and exactly
//!   the backlog bytes from `off`. Otherwise a full sync: the backlog is
//!   created if missing (with a new replid), the replica waits for a
//!   snapshot, getting a `\n` keepalive every second; with diskless sync and
//!   `capa eof` the snapshot waits `repl-diskless-sync-delay` so replicas that
//!   arrive together share it. At snapshot time every waiting replica gets
//!   `+FULLRESYNC <replid> <offset>`; the snapshot (copy-on-write, see
//!   [`Keyspace::snapshot`]) is then encoded a slice per tick while the node
//!   serves its clients. Diskless (`$EOF:<mark>\r\n...<mark>`): each slice
//!   goes out as it is encoded, and the stream is held until the replica's
//!   first ACK. Disk style (`$<len>\r\n`): the length is known once the whole
//!   file is encoded; meanwhile the replica gets `\n` keepalives, then the
//!   file and the stream at once. The snapshot is taken at one precise
//!   offset; every stream byte after it is kept for the replica. One full
//!   sync runs at a time; replicas arriving meanwhile wait for the next.
//! * A `ping` enters the stream every `repl-ping-replica-period` seconds while
//!   replicas are attached; replicas silent for `repl-timeout` are dropped.

use super::{decide, PsyncVerdict, ReplEvent};
use crate::cmd::Client;
use crate::db::Keyspace;
use crate::node::{ConnId, Node, Output};
use crate::resp::{encode_command, ReplyWriter};

/// Where a replica connection is in its life on the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaState {
    /// REPLCONF seen, no PSYNC yet.
    Handshake,
    /// Waiting for a snapshot (`wait_bgsave`), since this time.
    WaitSnapshot {
        /// When it started waiting (Unix ms).
        since: u64,
    },
    /// Its snapshot is being encoded and sent; `held` keeps the stream
    /// meanwhile. `diskless`: the payload is already flowing (`$EOF:`), so
    /// no keepalive may interrupt it.
    Transfer {
        /// Stream bytes after the snapshot's offset.
        held: Vec<u8>,
        /// `$EOF:` framing.
        diskless: bool,
    },
    /// Streaming; `held` buffers the stream until the first ACK after a diskless transfer.
    Online {
        /// Stream bytes not yet sent.
        held: Option<Vec<u8>>,
    },
}

/// What the master knows of one replica connection.
#[derive(Debug, Clone)]
pub struct ReplicaLink {
    /// Its state.
    pub state: ReplicaState,
    /// `REPLCONF listening-port`.
    pub listening_port: u16,
    /// `REPLCONF ip-address`.
    pub announced_ip: Option<String>,
    /// `capa eof`: can read diskless (EOF-marked) payloads.
    pub capa_eof: bool,
    /// `capa psync2`: understands `+CONTINUE <replid>`.
    pub capa_psync2: bool,
    /// Came with legacy SYNC: no `+FULLRESYNC`, no ACK timeout.
    pub pre_psync: bool,
    /// Highest offset it acknowledged.
    pub ack_off: i64,
    /// When it last acknowledged or sent a newline (Unix ms).
    pub ack_time: u64,
    /// Bytes handed to the driver for this connection since it became a
    /// replica (counted as [`Node::poll_output`] gives them out): the unit
    /// the driver's unsent count ([`Input::OutputPending`]) is in.
    ///
    /// [`Input::OutputPending`]: crate::node::Input::OutputPending
    pub sent: u64,
    /// The value of `sent` at which the replication stream starts: after
    /// the snapshot payload of a full sync, at `+CONTINUE` for a partial
    /// one. `None` while the snapshot is still being sent.
    pub stream_start: Option<u64>,
    /// Unsent bytes of the handshake and snapshot payload last reported.
    pub payload_unsent: u64,
    /// When the payload's unsent bytes last went down (Unix ms): a replica
    /// still taking its snapshot is timed out on no progress, not on ACKs.
    pub payload_progress: u64,
}

impl ReplicaLink {
    fn new(now: u64) -> Self {
        ReplicaLink {
            state: ReplicaState::Handshake,
            listening_port: 0,
            announced_ip: None,
            capa_eof: false,
            capa_psync2: false,
            pre_psync: false,
            ack_off: 0,
            ack_time: now,
            sent: 0,
            stream_start: None,
            payload_unsent: 0,
            payload_progress: now,
        }
    }

    /// Splits the driver's `unsent` bytes for this replica into the part
    /// before the replication stream (handshake replies, keepalives, the
    /// snapshot payload) and the stream part. Bytes leave in order, so of
    /// the unsent bytes the newest `sent - stream_start` are stream.
    fn split_unsent(&self, unsent: u64) -> (u64, u64) {
        let stream = self
            .stream_start
            .map_or(0, |start| unsent.min(self.sent.saturating_sub(start)));
        (unsent - stream, stream)
    }

    /// Stream bytes the master buffers for this replica, given `unsent`
    /// bytes the driver has not written yet: what
    /// `client-output-buffer-limit replica` is checked against. Redis writes
    /// the `+FULLRESYNC` line, keepalives and the RDB payload straight to the
    /// socket (`sendBulkToSlave`, the diskless pipe), outside the client's
    /// output buffer; only the replication stream counts, both the part
    /// kept during the transfer (and until the first ACK after a diskless
    /// one) and the part queued on the socket.
    pub fn stream_pending(&self, unsent: u64) -> u64 {
        let held = match &self.state {
            ReplicaState::Transfer { held, .. } | ReplicaState::Online { held: Some(held) } => {
                held.len() as u64
            }
            _ => 0,
        };
        held + self.split_unsent(unsent).1
    }

    /// The `state=` word of INFO's `slaveN` line.
    pub fn info_state(&self) -> &'static str {
        match self.state {
            ReplicaState::Handshake => "handshake",
            ReplicaState::WaitSnapshot { .. } | ReplicaState::Transfer { .. } => "wait_bgsave",
            ReplicaState::Online { .. } => "online",
        }
    }

    /// Whether it counts as attached (INFO `connected_slaves`).
    pub fn attached(&self) -> bool {
        !matches!(self.state, ReplicaState::Handshake)
    }

    /// The replica's IP as INFO's `slaveN` and ROLE show it: the announced
    /// `ip-address`, else the host part of the connection's `addr`
    /// (`ip:port`, IPv6 without its brackets).
    pub fn ip<'a>(&'a self, addr: &'a str) -> &'a str {
        if let Some(ip) = &self.announced_ip {
            return ip;
        }
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        host.trim_start_matches('[').trim_end_matches(']')
    }

    /// Which replica this link belongs to: its IP and listening port. A
    /// replica that reconnects before the master noticed its old connection
    /// broke has two links here with one endpoint; WAIT and
    /// `min-replicas-to-write` count it once. A link without a listening
    /// port (a tool speaking SYNC) stands for itself: its connection's
    /// `addr`.
    fn endpoint<'a>(&'a self, addr: &'a str) -> (&'a str, u16) {
        match self.listening_port {
            0 => (addr, 0),
            port => (self.ip(addr), port),
        }
    }
}

/// A full sync in progress: its snapshot's encoder and who gets it.
pub struct FullSync {
    encoder: crate::rdb::Encoder<Keyspace>,
    /// The replication offset the snapshot stands for.
    offset: i64,
    /// The replicas it is for.
    replicas: Vec<ConnId>,
    /// The `$EOF:` mark (diskless), or `None` for `$<len>` framing.
    mark: Option<String>,
    /// Disk style: the file so far.
    whole: Vec<u8>,
}

impl std::fmt::Debug for FullSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FullSync")
            .field("offset", &self.offset)
            .field("replicas", &self.replicas)
            .field("diskless", &self.mark.is_some())
            .field("bytes", &self.encoder.bytes_written())
            .finish()
    }
}

/// The stream bytes of a master PING.
pub const PING: &[u8] = b"*1\r\n$4\r\nping\r\n";

/// The `REPLCONF GETACK *` command a master sends for WAIT.
pub const GETACK: &[u8] = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";

/// Get (creating) the replica link of a client that started the handshake.
pub fn link_of(client: &mut Client, now: u64) -> &mut ReplicaLink {
    client
        .replica
        .get_or_insert_with(|| Box::new(ReplicaLink::new(now)))
}

impl Node {
    /// Why this node refuses `SYNC` / `PSYNC` now, as its error reply: a
    /// replica serves sub-replicas only while its own master link is up
    /// (Redis's `syncCommand`); otherwise it would invent a history.
    pub fn sync_refusal(&self) -> Option<&'static str> {
        if self.repl.replica.as_ref().is_some_and(|s| !s.link_up()) {
            Some("NOMASTERLINK Can't SYNC while not connected with my master")
        } else {
            None
        }
    }

    /// What this node's [`decide`] answers `PSYNC <id> <offset>` with its
    /// replication state now (once [`Node::sync_refusal`] let it through).
    pub fn psync_verdict(&self, id: &str, offset: i64) -> PsyncVerdict {
        let verdict = || decide(id, offset, &self.repl.identity, self.repl.backlog.as_ref());
        #[cfg(feature = "planted-bugs")]
        if self.repl.planted.psync_ignores_first_byte {
            if let PsyncVerdict::FullResync(super::ResyncReason::OffsetBeforeBacklog {
                offset,
                first_byte,
            }) = verdict()
            {
                let end = self.repl.identity.master_repl_offset;
                return PsyncVerdict::Continue {
                    offset,
                    len: end + 1 - offset,
                    window: (first_byte, end),
                };
            }
        }
        verdict()
    }

    /// Handle `PSYNC <id> <offset>` (or legacy `SYNC` when `legacy`) from `client`.
    pub(crate) fn master_psync(
        &mut self,
        client: &mut Client,
        id: &str,
        offset: i64,
        legacy: bool,
    ) {
        let now = self.now;
        let addr = client.addr.clone();
        let verdict = if legacy {
            None
        } else {
            Some(self.psync_verdict(id, offset))
        };
        if let Some(v) = &verdict {
            self.event(crate::node::Event::Repl(ReplEvent::PsyncDecision {
                conn: client.id,
                addr: addr.clone(),
                replid: id.to_string(),
                offset,
                verdict: v.to_string(),
                partial: matches!(v, PsyncVerdict::Continue { .. }),
            }));
        }
        let link = link_of(client, now);
        link.ack_time = now;
        if let Some(PsyncVerdict::Continue { offset, .. }) = verdict {
            self.mark_stream_start(client.id, Some(client));
            let link = link_of(client, now);
            link.state = ReplicaState::Online { held: None };
            link.ack_off = offset - 1;
            let psync2 = link.capa_psync2;
            if psync2 {
                client.out.extend_from_slice(
                    format!("+CONTINUE {}\r\n", self.repl.identity.replid).as_bytes(),
                );
            } else {
                client.out.extend_from_slice(b"+CONTINUE\r\n");
            }
            let bytes = self
                .repl
                .backlog
                .as_ref()
                .and_then(|b| b.read_from(offset))
                .unwrap_or_default();
            client.out.extend_from_slice(&bytes);
            self.repl.replicas.insert(client.id);
            self.stats.sync_partial_ok += 1;
            self.event(crate::node::Event::Repl(ReplEvent::ReplicaOnline {
                conn: client.id,
                addr,
            }));
            return;
        }
        if let Some(PsyncVerdict::FullResync(reason)) = &verdict {
            if *reason != super::ResyncReason::Requested {
                self.stats.sync_partial_err += 1;
            }
        }
        self.stats.sync_full += 1;
        let link = link_of(client, now);
        link.pre_psync = legacy;
        link.state = ReplicaState::WaitSnapshot { since: now };
        link.stream_start = None;
        let eof = link.capa_eof && !legacy;
        self.repl.replicas.insert(client.id);
        let size = self.config.repl_backlog_size as usize;
        if self.repl.ensure_backlog(size, &mut self.rng) {
            let replid = self.repl.identity.replid.clone();
            self.event(crate::node::Event::Repl(ReplEvent::BacklogCreated {
                replid,
            }));
        }
        let delayed =
            self.config.repl_diskless_sync && eof && self.config.repl_diskless_sync_delay > 0;
        if !delayed {
            self.start_full_sync(Some(client));
        }
    }

    /// Take one snapshot now for every replica waiting for one
    /// (`startBgsaveForReplication`); `current` is the client whose command
    /// is running, if it is one of them. The snapshot is encoded and sent by
    /// [`advance_full_sync`](Self::advance_full_sync); one at a time.
    pub(crate) fn start_full_sync(&mut self, mut current: Option<&mut Client>) {
        if self.repl.sync.is_some() {
            return;
        }
        let waiting: Vec<ConnId> = self
            .repl
            .replicas
            .iter()
            .copied()
            .filter(|id| {
                let c = match &current {
                    Some(c) if c.id == *id => Some(&**c),
                    _ => self.clients.get(id),
                };
                c.and_then(|c| c.replica.as_ref())
                    .is_some_and(|l| matches!(l.state, ReplicaState::WaitSnapshot { .. }))
            })
            .collect();
        if waiting.is_empty() {
            return;
        }
        // One replica without `capa eof` forces disk-style framing for the group.
        let all_eof = waiting.iter().all(|id| {
            let c = match &current {
                Some(c) if c.id == *id => Some(&**c),
                _ => self.clients.get(id),
            };
            c.and_then(|c| c.replica.as_ref())
                .is_some_and(|l| l.capa_eof && !l.pre_psync)
        });
        let diskless = self.config.repl_diskless_sync && all_eof;
        let offset = self.repl.identity.master_repl_offset;
        let encoder = self
            .persist
            .encoder(self.ks.snapshot(), self.sync_encode_options());
        let mark = if diskless {
            Some(self.rng.hex40())
        } else {
            None
        };
        // The stream after the snapshot starts with a SELECT.
        self.repl.propagation.stream_db = -1;
        let replid = self.repl.identity.replid.clone();
        let current_id = current.as_ref().map(|c| c.id);
        for &id in &waiting {
            let client: &mut Client = match current.as_deref_mut() {
                Some(c) if c.id == id => c,
                _ => match self.clients.get_mut(&id) {
                    Some(c) => c,
                    None => continue,
                },
            };
            let link = client.replica.as_mut().expect("waiting replica has a link");
            let mut head = Vec::new();
            if !link.pre_psync {
                head.extend_from_slice(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
            }
            if let Some(m) = &mark {
                head.extend_from_slice(format!("$EOF:{m}\r\n").as_bytes());
            }
            link.state = ReplicaState::Transfer {
                held: Vec::new(),
                diskless,
            };
            // Nothing is acknowledged until the replica loaded the snapshot
            // and says so with REPLCONF ACK (Redis sets repl_ack_off only
            // there): WAIT must not count a replica still receiving its RDB.
            link.ack_off = 0;
            if current_id == Some(id) {
                // Keep the order: what this client was already owed goes first.
                let mut owed = std::mem::take(&mut client.out);
                owed.extend_from_slice(&head);
                head = owed;
            }
            if head.is_empty() {
                continue;
            }
            self.stats.net_output_bytes += head.len() as u64;
            self.outputs.push_back(Output::Send(id, head.into()));
        }
        self.repl.sync = Some(Box::new(FullSync {
            encoder,
            offset,
            replicas: waiting,
            mark,
            whole: Vec::new(),
        }));
    }

    /// Encode the next slice of the full sync's snapshot and send it
    /// (diskless) or keep it (disk style); once all of it is out, the
    /// replicas go online with the stream kept for them.
    pub(crate) fn advance_full_sync(&mut self) {
        let Some(mut sync) = self.repl.sync.take() else {
            return;
        };
        let now = self.now;
        // Replicas that went away (or were dropped) get nothing more.
        sync.replicas.retain(|id| {
            self.clients
                .get(id)
                .and_then(|c| c.replica.as_ref())
                .is_some_and(|l| matches!(l.state, ReplicaState::Transfer { .. }))
        });
        if sync.replicas.is_empty() {
            self.start_full_sync(None);
            return;
        }
        let mut produced = 0;
        let budget = self.persist.tick_bytes();
        while produced < budget {
            let Some(chunk) = sync.encoder.next_chunk() else {
                break;
            };
            produced += chunk.len();
            if sync.mark.is_some() {
                for &id in &sync.replicas {
                    self.stats.net_output_bytes += chunk.len() as u64;
                    self.outputs.push_back(Output::Send(id, chunk.clone()));
                }
            } else {
                sync.whole.extend_from_slice(&chunk);
            }
        }
        if !sync.encoder.is_done() {
            self.repl.sync = Some(sync);
            return;
        }
        let rdb_bytes = sync.encoder.bytes_written() as usize;
        let whole = bytes::Bytes::from(std::mem::take(&mut sync.whole));
        for &id in &sync.replicas {
            let Some(link) = self.clients.get_mut(&id).and_then(|c| c.replica.as_mut()) else {
                continue;
            };
            let ReplicaState::Transfer { held, .. } = &mut link.state else {
                continue;
            };
            let held = std::mem::take(held);
            // Online from now (`replicaPutOnline`, which restarts the ACK
            // clock); a payload still draining is followed in `output_pending`.
            link.ack_time = now;
            link.payload_progress = now;
            let stream = match &sync.mark {
                Some(m) => {
                    link.state = ReplicaState::Online { held: Some(held) };
                    self.stats.net_output_bytes += m.len() as u64;
                    self.outputs
                        .push_back(Output::Send(id, m.clone().into_bytes().into()));
                    Vec::new()
                }
                None => {
                    link.state = ReplicaState::Online { held: None };
                    let len = format!("${}\r\n", whole.len());
                    self.stats.net_output_bytes += (len.len() + whole.len()) as u64;
                    self.outputs
                        .push_back(Output::Send(id, len.into_bytes().into()));
                    self.outputs.push_back(Output::Send(id, whole.clone()));
                    held
                }
            };
            self.mark_stream_start(id, None);
            if !stream.is_empty() {
                self.stats.net_output_bytes += stream.len() as u64;
                self.outputs.push_back(Output::Send(id, stream.into()));
            }
        }
        self.event(crate::node::Event::Repl(ReplEvent::FullSyncStarted {
            offset: sync.offset,
            rdb_bytes,
            replicas: sync.replicas.clone(),
            diskless: sync.mark.is_some(),
        }));
        // Replicas that arrived meanwhile get the next snapshot.
        self.start_full_sync(None);
    }

    /// How a full sync's RDB is written: with the replication aux fields.
    fn sync_encode_options(&self) -> crate::rdb::EncodeOptions {
        crate::rdb::EncodeOptions {
            compression: self.config.rdbcompression,
            checksum: self.config.rdbchecksum,
            ctime_secs: self.now / 1000,
            repl: Some(crate::rdb::ReplInfo {
                stream_db: self.repl.propagation.stream_db.max(0),
                id: self.repl.identity.replid.clone(),
                offset: self.repl.identity.master_repl_offset,
            }),
            list_max_listpack_size: self.config.encoding.list_max_listpack_size,
            ..Default::default()
        }
    }

    /// Send stream bytes to every online replica (held ones buffer them).
    pub(crate) fn feed_replicas(&mut self, bytes: &[u8], mut current: Option<&mut Client>) {
        if self.repl.replicas.is_empty() {
            return;
        }
        let ids: Vec<ConnId> = self.repl.replicas.iter().copied().collect();
        let current_id = current.as_ref().map(|c| c.id);
        let mut held_grew = Vec::new();
        for id in ids {
            let client: &mut Client = match current.as_deref_mut() {
                Some(c) if c.id == id => c,
                _ => match self.clients.get_mut(&id) {
                    Some(c) => c,
                    None => continue,
                },
            };
            let Some(link) = client.replica.as_mut() else {
                continue;
            };
            match &mut link.state {
                ReplicaState::Online { held: Some(held) } | ReplicaState::Transfer { held, .. } => {
                    held.extend_from_slice(bytes);
                    held_grew.push((id, client.cob_pending));
                }
                ReplicaState::Online { held: None } => {
                    let is_current = current_id == Some(id);
                    if is_current {
                        client.out.extend_from_slice(bytes);
                    } else {
                        self.stats.net_output_bytes += bytes.len() as u64;
                        self.outputs
                            .push_back(Output::Send(id, bytes.to_vec().into()));
                    }
                }
                // Bytes before its snapshot are inside the snapshot.
                _ => {}
            }
        }
        // Redis checks a replica's limit whenever its buffered stream grows.
        for (id, unsent) in held_grew {
            self.output_pending(id, unsent);
        }
    }

    /// `REPLCONF ACK <off>` from a replica: never answered.
    pub(crate) fn replica_ack(&mut self, client: &mut Client, off: i64) {
        let now = self.now;
        self.repl.acks_arrived = true;
        let Some(link) = client.replica.as_mut() else {
            return;
        };
        link.ack_off = link.ack_off.max(off);
        link.ack_time = now;
        if let ReplicaState::Online { held } = &mut link.state {
            if let Some(buf) = held.take() {
                // First ACK after a diskless transfer: start the stream.
                client.out.extend_from_slice(&buf);
            }
        }
    }

    /// The replication stream to replica `id` starts after everything
    /// handed out for it so far (its link's `sent`, the outputs not polled
    /// yet, and the replies of `current`, the client whose command runs, if
    /// that is this replica: they are flushed after the command).
    fn mark_stream_start(&mut self, id: ConnId, current: Option<&mut Client>) {
        let queued: u64 = self
            .outputs
            .iter()
            .map(|o| match o {
                Output::Send(c, b) if *c == id => b.len() as u64,
                _ => 0,
            })
            .sum();
        let client = match current {
            Some(c) => c,
            None => match self.clients.get_mut(&id) {
                Some(c) => c,
                None => return,
            },
        };
        let owed = client.out.len() as u64;
        if let Some(link) = client.replica.as_mut() {
            link.stream_start = Some(link.sent + queued + owed);
        }
    }

    /// The driver reports unsent bytes: apply `client-output-buffer-limit`
    /// (hard limit at once, soft limit after `soft_seconds` above it) to
    /// replicas (their stream part only, see
    /// [`ReplicaLink::stream_pending`]) and normal clients. For a replica
    /// the rest is its snapshot payload still draining: progress there keeps
    /// it from timing out, and the moment the payload is all out is when
    /// Redis puts it online (`replicaPutOnline`, which restarts its ACK
    /// clock).
    pub(crate) fn output_pending(&mut self, conn: ConnId, unsent: u64) {
        let now = self.now;
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        client.cob_pending = unsent;
        let (limit, class, bytes) = match client.replica.as_mut() {
            Some(link) if link.attached() => {
                let (payload, _) = link.split_unsent(unsent);
                if payload < link.payload_unsent {
                    link.payload_progress = now;
                    if payload == 0 {
                        link.ack_time = now;
                    }
                }
                link.payload_unsent = payload;
                // Redis 7 never lets a replica's hard limit fall below the
                // backlog size: a replica must be able to hold what a PSYNC
                // could send it.
                let mut limit = self.config.cob_replica;
                if limit.hard > 0 {
                    limit.hard = limit.hard.max(self.config.repl_backlog_size);
                }
                (limit, "replica", link.stream_pending(unsent))
            }
            _ if client.is_master => return,
            _ => (self.config.cob_normal, "normal", unsent),
        };
        let over_hard = limit.hard > 0 && bytes >= limit.hard;
        let over_soft = limit.soft > 0 && bytes >= limit.soft;
        let soft_since = if over_soft {
            *client.cob_soft_since.get_or_insert(now)
        } else {
            client.cob_soft_since = None;
            now
        };
        let soft_expired = over_soft && now.saturating_sub(soft_since) >= limit.soft_seconds * 1000;
        if over_hard || soft_expired {
            let addr = client.addr.clone();
            self.log(
                "warning",
                format!("Client id={conn} addr={addr} ({class}) scheduled to be closed ASAP for overcoming of output buffer limits ({bytes} bytes buffered)."),
            );
            self.kill_client(conn, "output buffer limit");
        }
    }

    /// A replica forgot its connection: stop feeding it.
    pub(crate) fn forget_replica(&mut self, conn: ConnId) {
        if self.repl.replicas.remove(&conn) {
            self.event(crate::node::Event::Repl(ReplEvent::ReplicaDropped {
                conn,
                reason: "connection closed".into(),
            }));
        }
    }

    /// `repl-backlog-ttl`: a master that has had no replica for that long
    /// frees its backlog, takes a new replication id and forgets the old one.
    fn expire_backlog(&mut self, now: u64) {
        let ttl = self.config.repl_backlog_ttl * 1000;
        if self.repl.replica.is_some() || ttl == 0 || self.repl.backlog.is_none() {
            self.repl.no_replicas_since = None;
            return;
        }
        let since = *self.repl.no_replicas_since.get_or_insert(now);
        if now.saturating_sub(since) >= ttl {
            self.repl.backlog = None;
            self.repl.identity.change(&mut self.rng);
            self.repl.identity.clear2();
            self.repl.no_replicas_since = None;
            self.log(
                "notice",
                format!(
                    "Replication backlog freed after {} seconds without connected replicas.",
                    ttl / 1000
                ),
            );
        }
    }

    /// Once a second: keepalives to waiting replicas, the diskless delay,
    /// the stream PING, and replica timeouts (`replicationCron`).
    pub(crate) fn master_cron(&mut self) {
        // Soft output-buffer limits expire with time, not only with new bytes.
        let over_soft: Vec<(ConnId, u64)> = self
            .clients
            .values()
            .filter(|c| c.cob_soft_since.is_some())
            .map(|c| (c.id, c.cob_pending))
            .collect();
        for (conn, bytes) in over_soft {
            self.output_pending(conn, bytes);
        }
        let now = self.now;
        if self.repl.replicas.is_empty() {
            self.expire_backlog(now);
            return;
        }
        self.repl.no_replicas_since = None;
        let mut oldest_wait: Option<u64> = None;
        let mut waiting = 0u64;
        let mut timed_out = Vec::new();
        let timeout_ms = self.config.repl_timeout * 1000;
        for id in self.repl.replicas.iter() {
            let Some(c) = self.clients.get(id) else {
                continue;
            };
            let Some(link) = c.replica.as_ref() else {
                continue;
            };
            match link.state {
                ReplicaState::WaitSnapshot { since } => {
                    self.outputs
                        .push_back(Output::Send(*id, bytes::Bytes::from_static(b"\n")));
                    oldest_wait = Some(oldest_wait.map_or(since, |o: u64| o.min(since)));
                    waiting += 1;
                }
                ReplicaState::Transfer {
                    diskless: false, ..
                } => {
                    // Disk style: nothing of the payload is out yet.
                    self.outputs
                        .push_back(Output::Send(*id, bytes::Bytes::from_static(b"\n")));
                }
                ReplicaState::Online { .. } => {
                    // Its snapshot still draining: timed out when that stalls
                    // (Redis: "Disconnecting timedout replica (full sync)").
                    let phase = if link.payload_unsent > 0 {
                        (now.saturating_sub(link.payload_progress) > timeout_ms)
                            .then_some("full sync")
                    } else {
                        (!link.pre_psync && now.saturating_sub(link.ack_time) > timeout_ms)
                            .then_some("streaming sync")
                    };
                    timed_out.extend(phase.map(|p| (*id, p)));
                }
                _ => {}
            }
        }
        for (id, phase) in timed_out {
            self.log(
                "warning",
                format!("Disconnecting timedout replica ({phase}): client {id}"),
            );
            self.repl.replicas.remove(&id);
            self.kill_client(id, "replica timeout");
        }
        if let Some(since) = oldest_wait {
            // The delay lets replicas that arrive together share one snapshot;
            // `repl-diskless-sync-max-replicas` replicas waiting end it early.
            let max = self.config.repl_diskless_sync_max_replicas;
            if now.saturating_sub(since) >= self.config.repl_diskless_sync_delay * 1000
                || (max > 0 && waiting >= max)
            {
                self.start_full_sync(None);
            }
        }
        let period = self.config.repl_ping_replica_period.max(1) * 1000;
        // A replica forwards its master's PINGs; only a master makes its own.
        if self.repl.replica.is_none() && now.saturating_sub(self.repl.last_ping) >= period {
            self.repl.last_ping = now;
            self.repl.feed(PING);
            self.feed_replicas(PING, None);
        }
    }
}

impl Node {
    /// Distinct replicas (by [`ReplicaLink::endpoint`]) with a link `counts`
    /// accepts; `current` is the client whose command is running, if any.
    ///
    /// Redis 7.0 counts replica connections (`replicationCountAcksByOffset`,
    /// `refreshGoodSlavesCount`), so a replica whose stale connection the
    /// master still holds counts twice and `WAIT 2` can answer 2 with one
    /// replica. Here WAIT's answer is a number of replicas: each one counts
    /// once, acknowledged by whichever of its links reached the target.
    fn count_replicas(
        &self,
        current: Option<&Client>,
        counts: impl Fn(&ReplicaLink) -> bool,
    ) -> usize {
        let mut endpoints: Vec<(&str, u16)> = self
            .repl
            .replicas
            .iter()
            .filter_map(|id| match current {
                Some(c) if c.id == *id => Some(c),
                _ => self.clients.get(id),
            })
            .filter_map(|c| c.replica.as_deref().map(|l| (c, l)))
            .filter(|(_, l)| counts(l))
            .map(|(c, l)| l.endpoint(&c.addr))
            .collect();
        crate::util::sort_by(&mut endpoints, Ord::cmp);
        endpoints.dedup();
        endpoints.len()
    }

    /// Replicas online with an ACK younger than `min-replicas-max-lag`.
    pub(crate) fn good_replicas(&self) -> usize {
        let lag = self.config.min_replicas_max_lag * 1000;
        self.count_replicas(None, |l| {
            matches!(l.state, ReplicaState::Online { .. })
                && self.now.saturating_sub(l.ack_time) <= lag
        })
    }

    /// Online replicas that acknowledged at least `offset`.
    pub(crate) fn replicas_acked(&self, offset: i64, current: Option<&Client>) -> i64 {
        #[cfg(feature = "planted-bugs")]
        let offset = if self.repl.planted.wait_ignores_ack_offset {
            i64::MIN
        } else {
            offset
        };
        self.count_replicas(current, |l| {
            matches!(l.state, ReplicaState::Online { .. }) && l.ack_off >= offset
        }) as i64
    }

    /// Ask every replica for an ACK (`REPLCONF GETACK *` in the stream, as WAIT does).
    pub(crate) fn request_acks(&mut self, current: Option<&mut Client>) {
        if self.repl.backlog.is_none() || self.repl.replicas.is_empty() {
            return;
        }
        self.repl.feed(GETACK);
        self.feed_replicas(GETACK, current);
    }

    /// Answer WAITing clients whose target is reached, or whose time ran out.
    pub(crate) fn serve_waiting_clients(&mut self) {
        let now = self.now;
        let waiting: Vec<(ConnId, i64, i64, Option<u64>)> = self
            .clients
            .values()
            .filter_map(|c| c.wait.map(|(n, d)| (c.id, c.woff, n, d)))
            .collect();
        for (id, woff, wanted, deadline) in waiting {
            let acked = self.replicas_acked(woff, None);
            if acked >= wanted || deadline.is_some_and(|d| d <= now) {
                if let Some(mut c) = self.clients.remove(&id) {
                    c.wait = None;
                    c.out.int(acked);
                    self.process_client(&mut c);
                    self.finish_client(c);
                }
            }
        }
    }
}

/// Encode `REPLCONF ACK <off>` (what a replica sends).
pub fn ack_command(off: i64) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(
        &mut out,
        &[
            b"REPLCONF".to_vec(),
            b"ACK".to_vec(),
            off.to_string().into_bytes(),
        ],
    );
    out
}
