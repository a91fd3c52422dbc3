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
pub mod psync;

pub use backlog::Backlog;
pub use identity::ReplIdentity;
pub use psync::{decide, PsyncVerdict, ResyncReason};
