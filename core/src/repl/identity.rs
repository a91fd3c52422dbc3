//! Replication identity (`server.replid`, `replid2`, `second_replid_offset`,
//! `master_repl_offset`) and the three ways Redis changes it:
//!
//! * [`ReplIdentity::change`] — a new random id (a master creating its
//!   backlog from scratch, or freeing it after `repl-backlog-ttl`);
//! * [`ReplIdentity::shift`] — promotion (`REPLICAOF NO ONE`): the current id
//!   becomes `replid2`, valid up to `master_repl_offset + 1`, then a new id;
//! * [`ReplIdentity::clear2`] — forget the previous history (`replid2` is
//!   forty `0`s and `second_replid_offset` is -1).

use crate::rng::Rng;

/// Forty `'0'`: the cleared `replid2`.
pub const NULL_REPLID: &str = "0000000000000000000000000000000000000000";

/// A node's place in replication history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplIdentity {
    /// Current history id (40 lowercase hex).
    pub replid: String,
    /// Previous history id, or [`NULL_REPLID`].
    pub replid2: String,
    /// Last offset (inclusive) accepted for `replid2`; -1 when cleared.
    pub second_replid_offset: i64,
    /// Bytes of stream produced (master) or applied (replica).
    pub master_repl_offset: i64,
}

impl ReplIdentity {
    /// A fresh identity: a random id, no previous history, offset 0.
    pub fn new(rng: &mut Rng) -> Self {
        ReplIdentity {
            replid: rng.hex40(),
            replid2: NULL_REPLID.to_string(),
            second_replid_offset: -1,
            master_repl_offset: 0,
        }
    }

    /// `changeReplicationId`: a new random current id.
    pub fn change(&mut self, rng: &mut Rng) {
        self.replid = rng.hex40();
    }

    /// `clearReplicationId2`.
    pub fn clear2(&mut self) {
        self.replid2 = NULL_REPLID.to_string();
        self.second_replid_offset = -1;
    }

    /// `shiftReplicationId` (promotion): keep the old history reachable up to
    /// the next byte, then start a new one.
    pub fn shift(&mut self, rng: &mut Rng) {
        self.replid2 = self.replid.clone();
        self.second_replid_offset = self.master_repl_offset + 1;
        self.change(rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_keeps_old_history_up_to_next_byte() {
        let mut rng = Rng::new(5);
        let mut id = ReplIdentity::new(&mut rng);
        assert_eq!(id.replid2, NULL_REPLID);
        assert_eq!(id.second_replid_offset, -1);
        id.master_repl_offset = 208263;
        let old = id.replid.clone();
        id.shift(&mut rng);
        assert_eq!(id.replid2, old);
        assert_eq!(id.second_replid_offset, 208264);
        assert_ne!(id.replid, old);
        assert_eq!(id.replid.len(), 40);
        id.clear2();
        assert_eq!(
            (id.replid2.as_str(), id.second_replid_offset),
            (NULL_REPLID, -1)
        );
    }
}
