//! Replication: identity, backlog and the PSYNC decision, as pure state.
//!
//! Redis names a replication history by a 40-hex `replid` and positions in
//! it by byte offsets of the replication stream (the first byte is offset 1).
//! A replica asks `PSYNC <replid> <offset+1>`; the master continues
//! ([`psync::decide`]) when the id names its history (or its previous one up
//! to `second_replid_offset`) and its [`backlog::Backlog`] still holds the
//! requested byte, and answers `+FULLRESYNC` otherwise.

pub mod backlog;
pub mod identity;
pub mod master;
pub mod propagate;
pub mod psync;
pub mod replica;

pub use backlog::Backlog;
pub use identity::ReplIdentity;
pub use propagate::Propagation;
pub use psync::{decide, PsyncVerdict, ResyncReason};

use crate::rng::Rng;

/// Bugs planted on purpose, each behind its own switch (all off by
/// default), so tests can show the simulator's checker finds them. Compiled
/// only with the `planted-bugs` feature, which only the tests turn on.
#[cfg(feature = "planted-bugs")]
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Planted {
    /// The master continues a PSYNC whose offset fell out of the backlog
    /// (the check of the backlog's first byte is forgotten).
    pub psync_ignores_first_byte: bool,
    /// A replica advances its offset for commands queued inside MULTI (and
    /// again at EXEC): its offset runs ahead of its data.
    pub replica_counts_queued: bool,
    /// Promotion keeps the replid instead of rotating it into `replid2`.
    pub promotion_keeps_replid: bool,
    /// A replica resuming with PSYNC asks for the start of the last command
    /// it applied instead of the byte after it (its offset is taken before
    /// that command counted): the master sends it again and it is applied twice.
    pub psync_repeats_last_command: bool,
    /// WAIT counts every online replica, whatever offset it acknowledged.
    pub wait_ignores_ack_offset: bool,
}

#[cfg(feature = "planted-bugs")]
impl crate::node::Node {
    /// Turn planted bugs on or off.
    #[doc(hidden)]
    pub fn plant(&mut self, planted: Planted) {
        self.repl.planted = planted;
    }
}

/// A node's replication state (master side for now).
#[derive(Debug)]
pub struct ReplState {
    /// Replication id(s) and offset.
    pub identity: ReplIdentity,
    /// The backlog, once a replica asked for one.
    pub backlog: Option<Backlog>,
    /// Ops being collected for the stream.
    pub propagation: Propagation,
    /// Connections that are replicas of this node (past the handshake).
    /// A sorted `Vec` (few entries, walked on every write; see
    /// `small_map`).
    pub replicas: crate::small_map::SmallSet<crate::node::ConnId>,
    /// When the last stream PING was sent (Unix ms).
    pub last_ping: u64,
    /// Present while this node is a replica.
    pub replica: Option<replica::ReplicaSide>,
    /// An ACK arrived since WAITing clients were last checked.
    pub acks_arrived: bool,
    /// Since when a master with a backlog has had no replica (`repl-backlog-ttl`).
    pub no_replicas_since: Option<u64>,
    /// The full sync whose snapshot is being encoded and sent.
    pub(crate) sync: Option<Box<master::FullSync>>,
    /// Planted bugs (test builds only).
    #[cfg(feature = "planted-bugs")]
    #[doc(hidden)]
    pub planted: Planted,
    /// Stream bytes of the last command batch applied from the master
    /// (for [`Planted::psync_repeats_last_command`]).
    #[cfg(feature = "planted-bugs")]
    #[doc(hidden)]
    pub last_applied_len: i64,
}

/// A replication decision or happening, for logs and the playground.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplEvent {
    /// A PSYNC was decided.
    PsyncDecision {
        /// The replica's connection.
        conn: crate::node::ConnId,
        /// Its address.
        addr: String,
        /// The replid it asked for.
        replid: String,
        /// The offset it asked for.
        offset: i64,
        /// The verdict with its reason and numbers.
        verdict: String,
        /// Whether it continues partially.
        partial: bool,
    },
    /// The backlog was created; the node took a new replication id.
    BacklogCreated {
        /// The new id.
        replid: String,
    },
    /// A full sync's snapshot (taken at `offset`) was encoded and sent.
    FullSyncStarted {
        /// The offset the snapshot stands for.
        offset: i64,
        /// Size of the RDB.
        rdb_bytes: usize,
        /// Replicas served by it.
        replicas: Vec<crate::node::ConnId>,
        /// `$EOF:` framing (diskless) rather than `$<len>`.
        diskless: bool,
    },
    /// A replica is online after a partial sync.
    ReplicaOnline {
        /// Its connection.
        conn: crate::node::ConnId,
        /// Its address.
        addr: String,
    },
    /// This replica's link to its master is up and streaming.
    MasterLinkUp {
        /// The master's address.
        addr: String,
    },
    /// A replica went away.
    ReplicaDropped {
        /// Its connection.
        conn: crate::node::ConnId,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for ReplEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplEvent::PsyncDecision { addr, replid, offset, verdict, .. } => {
                write!(f, "PSYNC from {addr} replid={replid} offset={offset}: {verdict}")
            }
            ReplEvent::BacklogCreated { replid } => write!(f, "Replication backlog created, my new replication id is {replid}"),
            ReplEvent::FullSyncStarted { offset, rdb_bytes, replicas, diskless } => write!(
                f,
                "Full sync snapshot at offset {offset}: {rdb_bytes} bytes of RDB to {} replica(s), {}",
                replicas.len(),
                if *diskless { "diskless ($EOF framing)" } else { "disk-style ($len framing)" }
            ),
            ReplEvent::ReplicaOnline { addr, .. } => write!(f, "Replica {addr} online (partial sync)"),
            ReplEvent::ReplicaDropped { conn, reason } => write!(f, "Replica client {conn} dropped: {reason}"),
            ReplEvent::MasterLinkUp { addr } => write!(f, "MASTER <-> REPLICA link with {addr} is up"),
        }
    }
}

impl ReplState {
    /// A master with a fresh id and no backlog.
    pub fn new(rng: &mut Rng) -> Self {
        ReplState {
            identity: ReplIdentity::new(rng),
            backlog: None,
            propagation: Propagation::default(),
            replicas: Default::default(),
            last_ping: 0,
            replica: None,
            acks_arrived: false,
            no_replicas_since: None,
            sync: None,
            #[cfg(feature = "planted-bugs")]
            planted: Planted::default(),
            #[cfg(feature = "planted-bugs")]
            last_applied_len: 0,
        }
    }

    /// Feed stream bytes: into the backlog and the offset, if a backlog
    /// exists (Redis's offset only grows while it does).
    pub fn feed(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(b) = self.backlog.as_mut() {
            b.append(bytes);
            self.identity.master_repl_offset = b.end_offset();
        }
    }

    /// Create the backlog if missing (`createReplicationBacklog`): a master
    /// creating it from scratch takes a new id and forgets the previous one.
    /// True if it was created now.
    pub fn ensure_backlog(&mut self, size: usize, rng: &mut Rng) -> bool {
        if self.backlog.is_some() {
            return false;
        }
        self.identity.change(rng);
        self.identity.clear2();
        self.backlog = Some(Backlog::new(size, self.identity.master_repl_offset));
        self.propagation.stream_db = -1;
        true
    }
}
