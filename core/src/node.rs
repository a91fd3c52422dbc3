//! [`Node`]: one Redis node as a pure state machine.
//!
//! The contract, in the style of quinn-proto and str0m: a driver calls one
//! input method ([`Node::accept`] or [`Node::handle_input`]) with the current
//! time, then drains [`Node::poll_output`] until it returns `None`, then arms
//! a timer for [`Node::next_deadline`] and feeds [`Input::Tick`] when it
//! fires. Nothing else moves the node; the same inputs in the same order give
//! the same outputs, byte for byte.
//!
//! Connection ids are chosen by the node (for accepted and for dialed
//! connections alike), so they never collide. Each id is also the Redis
//! client id that `CLIENT ID` reports.

use crate::cmd::{self, Client};
use crate::config::Config;
use crate::db::Keyspace;
use crate::resp::{ParseLimits, ReplyWriter};
use crate::rng::Rng;
use bytes::Bytes;
use std::collections::VecDeque;

/// Replies up to this size are copied out of the client's output buffer,
/// which is kept for the next reply (Redis's 16 KB static reply buffer).
const REPLY_COPY_MAX: usize = 16 * 1024;

/// A connection (and client) id, chosen by the node.
pub type ConnId = u64;

/// Something that happened to the node, fed in by the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// Bytes arrived on a connection.
    Received(ConnId, Bytes),
    /// The connection was closed by the peer or broke.
    Closed(ConnId),
    /// A connection the node asked for with [`Output::Connect`] is up.
    Connected(ConnId),
    /// A connection the node asked for could not be made.
    ConnectFailed(ConnId, String),
    /// Time advanced; run timers (the deadline from [`Node::next_deadline`]).
    Tick,
    /// A [`Output::WriteFile`] finished.
    FileWritten {
        /// The request's id.
        id: u64,
        /// What happened.
        result: Result<(), String>,
    },
    /// Bytes of the RDB file to load at startup (in order).
    LoadChunk(Bytes),
    /// The startup file ended.
    LoadDone,
    /// Bytes handed over with [`Output::Send`] that the peer has not taken
    /// yet (the driver reports changes while a connection is backed up):
    /// what `client-output-buffer-limit` is checked against.
    OutputPending {
        /// The connection.
        conn: ConnId,
        /// Unsent bytes now.
        bytes: u64,
    },
}

/// Something the node asks its driver to do, or reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// Write these bytes to the connection.
    Send(ConnId, Bytes),
    /// Close the connection once what was sent before is flushed.
    Close(ConnId),
    /// Open a TCP connection to `host:port`; answer with `Connected`/`ConnectFailed`.
    Connect {
        /// The id the node will use for it.
        conn: ConnId,
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// Stop the node (SHUTDOWN).
    Shutdown,
    /// Write `data` to `path` atomically (temp file, fsync, rename), then
    /// answer [`Input::FileWritten`] with the same id. With `more`, further
    /// pieces of the same file follow in `WriteFile`s with the same id (only
    /// after [`Node::stream_file_writes`]); the one without `more` completes
    /// the file and alone is answered.
    WriteFile {
        /// Request id.
        id: u64,
        /// Destination path (`dir/dbfilename`).
        path: String,
        /// The file, or its next piece.
        data: Bytes,
        /// More pieces follow.
        more: bool,
    },
    /// A structured event for logs and the UI.
    Event(Event),
    /// Stop writing file `id` (a background save the node gave up, as
    /// Redis kills its saving child): remove the temp file and leave the
    /// destination as it is, even if the write was about to finish. No
    /// [`Input::FileWritten`] is expected for it.
    AbandonFile {
        /// The request id of the file.
        id: u64,
    },
}

/// A structured record of a decision or a happening, for logs and the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A client connected.
    ClientConnected {
        /// Its id.
        conn: ConnId,
        /// Its address.
        addr: String,
    },
    /// A client connection ended.
    ClientClosed {
        /// Its id.
        conn: ConnId,
        /// Why.
        reason: String,
    },
    /// A client sent something that is not RESP; it was answered and closed.
    ProtocolError {
        /// Its id.
        conn: ConnId,
        /// The error text sent.
        error: String,
    },
    /// A replication decision.
    Repl(crate::repl::ReplEvent),
    /// The startup RDB could not be loaded; the dataset stays empty.
    LoadFailed {
        /// Why.
        error: String,
    },
    /// A message for the log.
    Log {
        /// `debug`, `verbose`, `notice` or `warning`.
        level: &'static str,
        /// The text.
        message: String,
    },
}

/// Counters reported by `INFO stats`.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// `total_connections_received`
    pub connections_received: u64,
    /// `total_commands_processed`
    pub commands_processed: u64,
    /// `rejected_connections`
    pub rejected_connections: u64,
    /// `keyspace_hits`
    pub keyspace_hits: u64,
    /// `keyspace_misses`
    pub keyspace_misses: u64,
    /// `total_net_input_bytes`
    pub net_input_bytes: u64,
    /// `total_net_output_bytes`
    pub net_output_bytes: u64,
    /// `total_error_replies`
    pub error_replies: u64,
    /// `sync_full`
    pub sync_full: u64,
    /// `sync_partial_ok`
    pub sync_partial_ok: u64,
    /// `sync_partial_err`
    pub sync_partial_err: u64,
}

/// One Redis node: keyspace, clients, configuration; no IO.
#[allow(dead_code)] // rng, seed, start_time, last_save, run_id: read by INFO and RDB (in progress)
pub struct Node {
    /// Current configuration (CONFIG SET changes it).
    pub(crate) config: Config,
    /// The databases.
    pub(crate) ks: Keyspace,
    /// Connected clients, except the one whose command is running.
    pub(crate) clients: Clients,
    /// The seeded generator.
    pub(crate) rng: Rng,
    /// The seed the node started from.
    pub(crate) seed: u64,
    /// Current time, Unix milliseconds, as last given by the driver.
    pub(crate) now: u64,
    /// When the node started.
    pub(crate) start_time: u64,
    /// Counters.
    pub(crate) stats: Stats,
    /// Changes to the dataset since the last save (`rdb_changes_since_last_save`).
    pub(crate) dirty: u64,
    /// Time of the last successful save (Unix seconds).
    pub(crate) last_save: u64,
    /// A run id: 40 hex characters, fixed for the life of the process.
    pub(crate) run_id: String,
    /// Highest `used_memory` INFO has reported (`used_memory_peak`).
    pub(crate) used_memory_peak: u64,
    /// Next id for a connection.
    pub(crate) next_conn: ConnId,
    /// When the once-a-second replication cron last ran.
    last_repl_cron: u64,
    /// Outputs waiting to be drained.
    pub(crate) outputs: VecDeque<Output>,
    /// Time of the next background cycle.
    next_cron: u64,
    /// Set when SHUTDOWN ran.
    pub(crate) shutting_down: bool,
    /// Replication identity, backlog and the stream being built.
    pub(crate) repl: crate::repl::ReplState,
    /// Saves and loads.
    pub(crate) persist: crate::persist::Persistence,
    /// SHUTDOWN waits for a save before stopping.
    pub(crate) shutdown_after_save: bool,
    /// Some client used WATCH once: writes must look for watchers from now on.
    pub(crate) watch_used: bool,
    /// Clients parked by blocking commands.
    pub(crate) blocking: cmd::BlockingState,
}

impl Node {
    /// A node with `config`, its randomness fixed by `seed`, started at `now` (Unix ms).
    pub fn new(config: Config, seed: u64, now: u64) -> Node {
        crate::types::seed_members_hash(seed);
        let mut rng = Rng::new(seed);
        let run_id = rng.hex40();
        let ks = Keyspace::new(config.databases, rng.next_u64());
        let mut repl = crate::repl::ReplState::new(&mut rng);
        let mut ks = ks;
        if let Some((host, port)) = config.replicaof.clone() {
            repl.replica = Some(crate::repl::replica::ReplicaSide::new(
                host, port, now, false,
            ));
            ks.replica_mode = true;
        }
        Node {
            config,
            ks,
            clients: Clients::default(),
            rng,
            seed,
            now,
            start_time: now,
            stats: Stats::default(),
            dirty: 0,
            last_save: now / 1000,
            run_id,
            used_memory_peak: 0,
            next_conn: 1,
            last_repl_cron: now,
            outputs: VecDeque::new(),
            next_cron: now,
            shutting_down: false,
            repl,
            persist: crate::persist::Persistence {
                last_bgsave_ok: true,
                ..Default::default()
            },
            shutdown_after_save: false,
            watch_used: false,
            blocking: cmd::BlockingState::new(seed),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The keyspace (for the simulator, RDB and tests).
    pub fn keyspace(&self) -> &Keyspace {
        &self.ks
    }

    /// The keyspace, mutable (RDB load at startup).
    pub fn keyspace_mut(&mut self) -> &mut Keyspace {
        &mut self.ks
    }

    /// `DEBUG DIGEST` of the dataset.
    pub fn digest(&self) -> String {
        crate::digest::dataset_digest(&self.ks)
    }

    /// Number of connected clients.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// A new client connected from `addr` (`ip:port`); returns its id.
    pub fn accept(&mut self, now: u64, addr: String) -> ConnId {
        self.now = self.now.max(now);
        let conn = self.next_conn;
        self.next_conn += 1;
        self.stats.connections_received += 1;
        let mut client = Client::new(conn, addr.clone(), self.now);
        client.authenticated = self.config.requirepass.is_none();
        // Protected mode: no password, not loopback -> refuse with Redis's explanation.
        if self.config.protected_mode && self.config.requirepass.is_none() && !is_loopback(&addr) {
            self.stats.rejected_connections += 1;
            let mut out = Vec::new();
            out.error(PROTECTED_MODE_TEXT);
            self.outputs.push_back(Output::Send(conn, out.into()));
            self.outputs.push_back(Output::Close(conn));
            self.event(Event::ClientClosed {
                conn,
                reason: "protected mode".into(),
            });
            return conn;
        }
        if self.clients.len() as u64 >= self.config.maxclients {
            self.stats.rejected_connections += 1;
            let mut out = Vec::new();
            out.error("ERR max number of clients reached");
            self.outputs.push_back(Output::Send(conn, out.into()));
            self.outputs.push_back(Output::Close(conn));
            return conn;
        }
        self.clients.insert(conn, client);
        self.event(Event::ClientConnected { conn, addr });
        conn
    }

    /// Feed one input at time `now` (Unix ms; never goes backwards).
    pub fn handle_input(&mut self, now: u64, input: Input) {
        self.now = self.now.max(now);
        match input {
            Input::Received(conn, data) => {
                if self.is_master_link_pre_stream(conn) {
                    self.stats.net_input_bytes += data.len() as u64;
                    self.master_link_bytes(conn, &data);
                } else {
                    self.received(conn, &data);
                }
            }
            Input::Closed(conn) => {
                if self
                    .repl
                    .replica
                    .as_ref()
                    .is_some_and(|s| s.conn() == Some(conn))
                {
                    self.master_link_failed("connection lost");
                    return;
                }
                self.forget_replica(conn);
                if self.clients.remove(&conn).is_some() {
                    self.event(Event::ClientClosed {
                        conn,
                        reason: "connection closed by peer".into(),
                    });
                }
            }
            Input::Connected(conn) => self.master_connected(conn),
            Input::ConnectFailed(conn, err) => {
                if self
                    .repl
                    .replica
                    .as_ref()
                    .is_some_and(|s| s.conn() == Some(conn))
                {
                    self.master_link_failed(&format!("Error condition on socket for SYNC: {err}"));
                }
            }
            Input::Tick => {
                self.advance_snapshots();
                self.cron();
            }
            Input::FileWritten { id, result } => self.save_written(id, result),
            input @ (Input::LoadChunk(_) | Input::LoadDone) => self.load_input(input),
            Input::OutputPending { conn, bytes } => self.output_pending(conn, bytes),
        }
    }

    /// The next output, or `None` when everything was drained.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        let out = self.outputs.pop_front()?;
        if let Output::Send(conn, bytes) = &out {
            // What a replica was sent: its unsent bytes are counted from here
            // (see `ReplicaLink::stream_pending`).
            if self.repl.replicas.contains(conn) {
                if let Some(link) = self.clients.get_mut(conn).and_then(|c| c.replica.as_mut()) {
                    link.sent += bytes.len() as u64;
                }
            }
        }
        Some(out)
    }

    /// When the driver should feed [`Input::Tick`] next (Unix ms): now,
    /// while a background snapshot is being encoded.
    pub fn next_deadline(&self) -> u64 {
        if self.snapshot_work_pending() {
            return self.now;
        }
        match self.blocking.next_deadline() {
            Some(d) => d.min(self.next_cron),
            None => self.next_cron,
        }
    }

    pub(crate) fn event(&mut self, e: Event) {
        self.outputs.push_back(Output::Event(e));
    }

    pub(crate) fn log(&mut self, level: &'static str, message: String) {
        self.event(Event::Log { level, message });
    }

    fn received(&mut self, conn: ConnId, data: &[u8]) {
        let Some(mut client) = self.clients.remove(&conn) else {
            return; // bytes for a connection we already closed
        };
        self.stats.net_input_bytes += data.len() as u64;
        client.last_interaction = self.now;
        client.parser.extend(data);
        self.process_client(&mut client);
        self.finish_client(client);
        if std::mem::take(&mut self.repl.acks_arrived) {
            self.serve_waiting_clients();
        }
    }

    /// Run every complete request buffered for `client`.
    pub(crate) fn process_client(&mut self, client: &mut Client) {
        while !client.close_after_reply && !client.is_blocked() {
            let limits = ParseLimits {
                // The master link is exempt from proto-max-bulk-len, as in Redis.
                max_bulk_len: if client.is_master {
                    None
                } else {
                    Some(self.config.proto_max_bulk_len as i64)
                },
                authenticated: client.authenticated,
            };
            match client.parser.next_request(limits) {
                Ok(Some(req)) => {
                    if req.args.is_empty() {
                        // A replica's newline while it loads refreshes its liveness.
                        if let Some(link) = client.replica.as_mut() {
                            link.ack_time = self.now;
                        }
                        continue;
                    }
                    if client.is_master {
                        let before = client.out.len();
                        let args = req.args.clone();
                        self.ks.applying_master = true;
                        cmd::execute(self, client, req.args);
                        self.ks.applying_master = false;
                        // Replies to the master are discarded, except forced ones (ACK).
                        client.out.truncate(before);
                        let forced = std::mem::take(&mut client.forced_reply);
                        client.out.extend_from_slice(&forced);
                        self.master_command_applied(client, &args, req.wire_len);
                    } else {
                        cmd::execute(self, client, req.args);
                    }
                }
                Ok(None) => {
                    if client.parser.buffered() as u64 > self.config.client_query_buffer_limit {
                        self.log(
                            "warning",
                            format!(
                                "Closing client that reached max query buffer length: id={}",
                                client.id
                            ),
                        );
                        client.close_now = true;
                    }
                    break;
                }
                Err(e) => {
                    let text = format!("ERR {e}");
                    client.out.error(&text);
                    self.stats.error_replies += 1;
                    client.close_after_reply = true;
                    self.event(Event::ProtocolError {
                        conn: client.id,
                        error: text,
                    });
                }
            }
        }
    }

    /// Flush a client's replies, then keep it or close it.
    pub(crate) fn finish_client(&mut self, client: impl Into<Box<Client>>) {
        let mut client: Box<Client> = client.into();
        let conn = client.id;
        if !client.out.is_empty() && !client.close_now {
            self.stats.net_output_bytes += client.out.len() as u64;
            // A small reply is copied out into an exact-size buffer and the
            // client keeps its (bounded) output buffer for the next one;
            // a large one is handed over without a copy.
            let out = if client.out.len() <= REPLY_COPY_MAX {
                let b = Bytes::copy_from_slice(&client.out);
                client.out.clear();
                if client.out.capacity() > REPLY_COPY_MAX {
                    client.out = Vec::new();
                }
                b
            } else {
                std::mem::take(&mut client.out).into()
            };
            self.outputs.push_back(Output::Send(conn, out));
        }
        if client.close_after_reply || client.close_now {
            self.forget_replica(conn);
            self.outputs.push_back(Output::Close(conn));
            self.event(Event::ClientClosed {
                conn,
                reason: client
                    .close_reason
                    .take()
                    .unwrap_or_else(|| "closed by server".into()),
            });
        } else {
            self.clients.insert(conn, client);
        }
        if self.shutting_down {
            self.outputs.push_back(Output::Shutdown);
            self.shutting_down = false;
        }
    }

    /// Whether a background save or a full sync still has snapshot bytes to encode.
    fn snapshot_work_pending(&self) -> bool {
        self.save_encoding() || self.repl.sync.is_some()
    }

    /// Encode the next slice of every background snapshot.
    fn advance_snapshots(&mut self) {
        self.advance_save();
        self.advance_full_sync();
    }

    /// The background cycle (`serverCron`), run `hz` times a second.
    fn cron(&mut self) {
        let now = self.now;
        cmd::blocking_timeouts(self);
        if now < self.next_cron {
            return;
        }
        let period = 1000 / self.config.hz.max(1);
        self.next_cron = now + period;
        if self.config.active_expire {
            // Redis's slow cycle: 25% of a tick's time; here a key budget.
            self.ks.active_expire_cycle(now, 200);
            self.after_expiry();
        }
        if self.config.timeout > 0 {
            let limit = self.config.timeout * 1000;
            let idle: Vec<ConnId> = self
                .clients
                .values()
                .filter(|c| c.idle_closable() && now.saturating_sub(c.last_interaction) > limit)
                .map(|c| c.id)
                .collect();
            for conn in idle {
                self.kill_client(conn, "idle timeout");
            }
        }
        self.check_save_points();
        self.serve_waiting_clients();
        if now.saturating_sub(self.last_repl_cron) >= 1000 {
            self.last_repl_cron = now;
            self.master_cron();
            self.replica_cron();
        }
    }

    /// Account for keys deleted by expiry outside a command (the active
    /// cycle): WATCH, and a `DEL` in the replication stream.
    pub(crate) fn after_expiry(&mut self) {
        for (db, key) in self.ks.take_expired() {
            cmd::touch_watched_key(self, None, db, &key);
            self.repl.propagation.also(db, vec![b"DEL".to_vec(), key]);
        }
        self.flush_propagation(None);
    }

    /// Turn the ops collected so far into stream bytes and feed them to the
    /// backlog and the replicas. Without a backlog nobody listens: the ops
    /// are dropped (Redis's offset does not move either).
    pub(crate) fn flush_propagation(&mut self, current: Option<&mut Client>) {
        if !self.repl.propagation.has_pending() {
            return;
        }
        if self.repl.backlog.is_none() {
            self.repl.propagation.discard();
            return;
        }
        let bytes = self.repl.propagation.flush();
        self.repl.feed(&bytes);
        let offset = self.repl.identity.master_repl_offset;
        let mut current = current;
        if let Some(c) = current.as_deref_mut() {
            // WAIT waits for this offset.
            c.woff = offset;
        }
        self.feed_replicas(&bytes, current);
    }

    /// Replication identity and backlog, read-only.
    pub fn repl(&self) -> &crate::repl::ReplState {
        &self.repl
    }

    /// Close another client now (CLIENT KILL, timeouts).
    pub(crate) fn kill_client(&mut self, conn: ConnId, reason: &str) -> bool {
        self.forget_replica(conn);
        if self.clients.remove(&conn).is_some() {
            self.outputs.push_back(Output::Close(conn));
            self.event(Event::ClientClosed {
                conn,
                reason: reason.into(),
            });
            true
        } else {
            false
        }
    }
}

/// The connected clients by id, each boxed: a command runs with its client
/// taken out of the table (so both the node and the client can be borrowed
/// mutably) and put back after.
///
/// A `Vec` sorted by id (ids only grow, so a new client goes at the end),
/// not a `BTreeMap`: the browser build carries one B-tree type less. Taking
/// a client out leaves its slot empty and putting it back fills it (binary
/// search, no shifting); a disconnected client's empty slot is dropped when
/// empty slots outnumber the clients, so each costs O(1) amortized.
#[derive(Default)]
pub(crate) struct Clients {
    slots: Vec<(ConnId, Option<Box<Client>>)>,
    live: usize,
}

impl Clients {
    fn find(&self, id: &ConnId) -> Result<usize, usize> {
        self.slots.binary_search_by(|(k, _)| k.cmp(id))
    }

    /// Add or put back a client.
    pub(crate) fn insert(&mut self, id: ConnId, client: impl Into<Box<Client>>) {
        let client = Some(client.into());
        match self.find(&id) {
            Ok(i) => {
                if self.slots[i].1.is_none() {
                    self.live += 1;
                }
                self.slots[i].1 = client;
            }
            Err(i) => {
                self.slots.insert(i, (id, client));
                self.live += 1;
            }
        }
    }

    /// Take the client with this id out.
    pub(crate) fn remove(&mut self, id: &ConnId) -> Option<Box<Client>> {
        let i = self.find(id).ok()?;
        let c = self.slots[i].1.take()?;
        self.live -= 1;
        if self.slots.len() > 2 * self.live + 16 {
            self.slots.retain(|(_, c)| c.is_some());
        }
        Some(c)
    }

    /// The client with this id.
    pub(crate) fn get(&self, id: &ConnId) -> Option<&Client> {
        self.find(id).ok().and_then(|i| self.slots[i].1.as_deref())
    }

    /// The client with this id, mutable.
    pub(crate) fn get_mut(&mut self, id: &ConnId) -> Option<&mut Client> {
        let i = self.find(id).ok()?;
        self.slots[i].1.as_deref_mut()
    }

    /// Whether a client with this id is in the table.
    pub(crate) fn contains_key(&self, id: &ConnId) -> bool {
        self.get(id).is_some()
    }

    /// Number of clients in the table.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Every client, by id.
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &Client> {
        self.slots.iter().filter_map(|(_, c)| c.as_deref())
    }

    /// Every client, by id, mutable.
    pub(crate) fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Client> {
        self.slots.iter_mut().filter_map(|(_, c)| c.as_deref_mut())
    }
}

/// What Redis answers a non-loopback client in protected mode (one line).
pub const PROTECTED_MODE_TEXT: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

fn is_loopback(addr: &str) -> bool {
    let host = match addr.rsplit_once(':') {
        Some((h, _)) => h.trim_start_matches('[').trim_end_matches(']'),
        None => addr,
    };
    host.starts_with("127.")
        || host == "::1"
        || host == "localhost"
        || host.starts_with("sim")
        || host.is_empty()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Send commands on `conn` at `now`; the bytes sent back to it.
    pub(crate) fn send(node: &mut Node, now: u64, conn: ConnId, cmds: &[&[&str]]) -> Vec<u8> {
        let mut req = Vec::new();
        for c in cmds {
            crate::resp::encode_command(&mut req, c);
        }
        node.handle_input(now, Input::Received(conn, req.into()));
        let mut out = Vec::new();
        while let Some(o) = node.poll_output() {
            if let Output::Send(c, b) = o {
                if c == conn {
                    out.extend_from_slice(&b);
                }
            }
        }
        out
    }

    fn stream(node: &Node) -> Vec<u8> {
        let b = node.repl.backlog.as_ref().expect("backlog");
        b.read_from(b.first_byte_offset()).expect("covered")
    }

    #[test]
    fn writes_reach_the_stream_as_redis_sends_them() {
        let now = 1_700_000_000_000;
        let mut node = Node::new(Config::default(), 7, now);
        let conn = node.accept(now, "127.0.0.1:1".into());
        let mut rng = Rng::new(1);
        node.repl.ensure_backlog(1 << 20, &mut rng);
        send(
            &mut node,
            now,
            conn,
            &[&["set", "k1", "v"], &["get", "k1"], &["del", "nosuchkey"]],
        );
        assert_eq!(
            stream(&node),
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$2\r\nk1\r\n$1\r\nv\r\n"
        );
        let mark = stream(&node).len();
        send(
            &mut node,
            now,
            conn,
            &[
                &["MULTI"],
                &["SET", "a", "1"],
                &["SET", "b", "2"],
                &["EXEC"],
            ],
        );
        assert_eq!(
            &stream(&node)[mark..],
            b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n*1\r\n$4\r\nEXEC\r\n"
        );
        let mark = stream(&node).len();
        send(
            &mut node,
            now,
            conn,
            &[&["MULTI"], &["SET", "a", "2"], &["GET", "a"], &["EXEC"]],
        );
        assert_eq!(
            &stream(&node)[mark..],
            b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n2\r\n"
        );
        let mark = stream(&node).len();
        send(
            &mut node,
            now,
            conn,
            &[&["SELECT", "3"], &["SET", "x", "y"]],
        );
        assert_eq!(
            &stream(&node)[mark..],
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\ny\r\n"
        );
        assert_eq!(
            node.repl.identity.master_repl_offset,
            stream(&node).len() as i64
        );
    }

    #[test]
    fn expiry_travels_as_del() {
        let now = 1_700_000_000_000;
        let mut node = Node::new(Config::default(), 7, now);
        let conn = node.accept(now, "127.0.0.1:1".into());
        node.repl.ensure_backlog(1 << 20, &mut Rng::new(1));
        send(
            &mut node,
            now,
            conn,
            &[
                &["SET", "ek", "v", "PX", "10"],
                &["SET", "ak", "v", "PX", "10"],
            ],
        );
        let mark = stream(&node).len();
        // Lazy: a read notices the expired key.
        assert_eq!(
            send(&mut node, now + 20, conn, &[&["GET", "ek"]]),
            b"$-1\r\n"
        );
        assert_eq!(&stream(&node)[mark..], b"*2\r\n$3\r\nDEL\r\n$2\r\nek\r\n");
        // Active: the timer finds the other.
        let mark = stream(&node).len();
        node.handle_input(now + 200, Input::Tick);
        assert_eq!(&stream(&node)[mark..], b"*2\r\n$3\r\nDEL\r\n$2\r\nak\r\n");
    }

    #[test]
    fn relative_expiry_travels_as_absolute() {
        let now = 1_700_000_000_000;
        let mut node = Node::new(Config::default(), 7, now);
        let conn = node.accept(now, "127.0.0.1:1".into());
        node.repl.ensure_backlog(1 << 20, &mut Rng::new(1));
        send(&mut node, now, conn, &[&["set", "k1", "v", "EX", "100"]]);
        let at = (now + 100_000).to_string();
        let mut want = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*5\r\n$3\r\nSET\r\n$2\r\nk1\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$13\r\n".to_vec();
        want.extend_from_slice(at.as_bytes());
        want.extend_from_slice(b"\r\n");
        assert_eq!(stream(&node), want);
    }

    #[test]
    fn backlog_is_freed_after_the_ttl_without_replicas() {
        let now = 1_700_000_000_000;
        let config = Config {
            repl_backlog_ttl: 5,
            ..Config::default()
        };
        let mut node = Node::new(config, 7, now);
        node.repl.ensure_backlog(1 << 20, &mut Rng::new(1));
        let id = node.repl.identity.replid.clone();
        node.handle_input(now + 1_000, Input::Tick);
        node.handle_input(now + 4_000, Input::Tick);
        assert!(node.repl.backlog.is_some(), "kept within the TTL");
        node.handle_input(now + 7_000, Input::Tick);
        assert!(node.repl.backlog.is_none(), "freed after the TTL");
        assert_ne!(node.repl.identity.replid, id, "a new replication id");
        assert_eq!(node.repl.identity.second_replid_offset, -1);
    }

    #[test]
    fn protected_mode_refuses_non_loopback_clients_without_a_password() {
        let now = 1_700_000_000_000;
        let outputs =
            |node: &mut Node| std::iter::from_fn(|| node.poll_output()).collect::<Vec<_>>();
        let mut node = Node::new(Config::default(), 7, now);
        let conn = node.accept(now, "10.1.2.3:5555".into());
        let out = outputs(&mut node);
        let denied = out.iter().any(|o| matches!(o, Output::Send(c, b) if *c == conn && b.starts_with(b"-DENIED Redis is running in protected mode")));
        assert!(denied, "{out:?}");
        assert!(out.contains(&Output::Close(conn)));
        assert_eq!(node.client_count(), 0);
        // Loopback is served.
        node.accept(now, "127.0.0.1:5555".into());
        assert_eq!(node.client_count(), 1);
        // A password, or protected-mode no, lets remote clients in.
        for config in [
            Config {
                requirepass: Some(b"pw".to_vec()),
                ..Config::default()
            },
            Config {
                protected_mode: false,
                ..Config::default()
            },
        ] {
            let mut node = Node::new(config, 7, now);
            let conn = node.accept(now, "10.1.2.3:5555".into());
            assert!(!outputs(&mut node).contains(&Output::Close(conn)));
            assert_eq!(node.client_count(), 1);
        }
    }
}
