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
pub mod propagate;
pub mod psync;

pub use backlog::Backlog;
pub use identity::ReplIdentity;
pub use propagate::Propagation;
pub use psync::{decide, PsyncVerdict, ResyncReason};

use crate::rng::Rng;

/// A node's replication state (master side for now).
#[derive(Debug, Clone)]
pub struct ReplState {
    /// Replication id(s) and offset.
    pub identity: ReplIdentity,
    /// The backlog, once a replica asked for one.
    pub backlog: Option<Backlog>,
    /// Ops being collected for the stream.
    pub propagation: Propagation,
}

impl ReplState {
    /// A master with a fresh id and no backlog.
    pub fn new(rng: &mut Rng) -> Self {
        ReplState {
            identity: ReplIdentity::new(rng),
            backlog: None,
            propagation: Propagation::default(),
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
    pub fn ensure_backlog(&mut self, size: usize, rng: &mut Rng) {
        if self.backlog.is_none() {
            self.identity.change(rng);
            self.identity.clear2();
            self.backlog = Some(Backlog::new(size, self.identity.master_repl_offset));
            self.propagation.stream_db = -1;
        }
    }
}
