//! The master's PSYNC decision (`masterTryPartialResynchronization`, spec §2).
//!
//! ```text
//! id_ok    = id == replid || (id == replid2 && offset <= second_replid_offset)
//! range_ok = backlog exists && first_byte <= offset <= master_repl_offset + 1
//! "?"      -> FULLRESYNC (requested);  !id_ok -> FULLRESYNC;  !range_ok -> FULLRESYNC
//! else     -> CONTINUE, sending bytes [offset, master_repl_offset]
//! ```
//! Ids compare case-insensitively, as Redis's `strcasecmp` does. The verdict
//! carries its reason and numbers so logs and the playground can explain it.

use super::{Backlog, ReplIdentity};
use std::fmt;

/// Why a master refused to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResyncReason {
    /// `PSYNC ? -1`: the replica asked for a full sync (first contact).
    Requested,
    /// The id is neither the current one nor the previous one.
    ReplidMismatch {
        /// What the replica asked for.
        requested: String,
    },
    /// The id is the previous history, but the offset goes past where it ended.
    SecondIdOffsetTooFar {
        /// The requested offset.
        offset: i64,
        /// The last offset valid for the previous id.
        second_replid_offset: i64,
    },
    /// The master has no backlog.
    NoBacklog,
    /// The offset is before the oldest byte held.
    OffsetBeforeBacklog {
        /// The requested offset.
        offset: i64,
        /// Oldest byte held.
        first_byte: i64,
    },
    /// The offset is beyond the end of the stream (a replica ahead of its master).
    OffsetAheadOfMaster {
        /// The requested offset.
        offset: i64,
        /// The master's offset.
        master_repl_offset: i64,
    },
}

impl fmt::Display for ResyncReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResyncReason::Requested => write!(f, "full resync requested by replica"),
            ResyncReason::ReplidMismatch { requested } => write!(f, "replid {requested} unknown"),
            ResyncReason::SecondIdOffsetTooFar { offset, second_replid_offset } => write!(
                f,
                "requested offset for second ID was {offset}, but I can reply up to {second_replid_offset}"
            ),
            ResyncReason::NoBacklog => write!(f, "no backlog"),
            ResyncReason::OffsetBeforeBacklog { offset, first_byte } => {
                write!(f, "offset {offset} fell out of the backlog (first byte {first_byte})")
            }
            ResyncReason::OffsetAheadOfMaster { offset, master_repl_offset } => write!(
                f,
                "offset {offset} is greater than the master replication offset {master_repl_offset}"
            ),
        }
    }
}

/// What the master answers a PSYNC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsyncVerdict {
    /// `+CONTINUE`: send the backlog from `offset` (`len` bytes).
    Continue {
        /// First byte to send.
        offset: i64,
        /// How many bytes follow.
        len: i64,
        /// The backlog window `[first, end]` that covered it.
        window: (i64, i64),
    },
    /// `+FULLRESYNC`, with the reason.
    FullResync(ResyncReason),
}

impl fmt::Display for PsyncVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PsyncVerdict::Continue { offset, window, .. } => write!(
                f,
                "CONTINUE: offset {offset} is within the backlog [{}, {}]",
                window.0,
                window.1 + 1
            ),
            PsyncVerdict::FullResync(r) => write!(f, "FULLRESYNC: {r}"),
        }
    }
}

/// Decide a `PSYNC <id> <offset>` request.
pub fn decide(id: &str, offset: i64, me: &ReplIdentity, backlog: Option<&Backlog>) -> PsyncVerdict {
    use PsyncVerdict::FullResync;
    if id == "?" {
        return FullResync(ResyncReason::Requested);
    }
    let is_current = id.eq_ignore_ascii_case(&me.replid);
    let is_previous = id.eq_ignore_ascii_case(&me.replid2) && me.second_replid_offset >= 0;
    if !is_current {
        if !is_previous {
            return FullResync(ResyncReason::ReplidMismatch {
                requested: id.to_string(),
            });
        }
        if offset > me.second_replid_offset {
            return FullResync(ResyncReason::SecondIdOffsetTooFar {
                offset,
                second_replid_offset: me.second_replid_offset,
            });
        }
    }
    let Some(b) = backlog else {
        return FullResync(ResyncReason::NoBacklog);
    };
    if offset < b.first_byte_offset() {
        return FullResync(ResyncReason::OffsetBeforeBacklog {
            offset,
            first_byte: b.first_byte_offset(),
        });
    }
    if offset > b.end_offset() + 1 {
        return FullResync(ResyncReason::OffsetAheadOfMaster {
            offset,
            master_repl_offset: b.end_offset(),
        });
    }
    PsyncVerdict::Continue {
        offset,
        len: b.end_offset() + 1 - offset,
        window: (b.first_byte_offset(), b.end_offset()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn master_at_246() -> (ReplIdentity, Backlog) {
        let mut rng = Rng::new(1);
        let mut id = ReplIdentity::new(&mut rng);
        let mut b = Backlog::new(1 << 20, 0);
        b.append(&[b'x'; 246]);
        id.master_repl_offset = 246;
        (id, b)
    }

    #[test]
    fn observed_boundary_table() {
        let (id, b) = master_at_246();
        let r = id.replid.clone();
        assert_eq!(
            decide(&r, 247, &id, Some(&b)),
            PsyncVerdict::Continue {
                offset: 247,
                len: 0,
                window: (1, 246)
            }
        );
        assert!(matches!(
            decide(&r, 246, &id, Some(&b)),
            PsyncVerdict::Continue { len: 1, .. }
        ));
        assert!(matches!(
            decide(&r, 1, &id, Some(&b)),
            PsyncVerdict::Continue { len: 246, .. }
        ));
        assert!(matches!(
            decide(&r, 248, &id, Some(&b)),
            PsyncVerdict::FullResync(ResyncReason::OffsetAheadOfMaster { .. })
        ));
        assert!(matches!(
            decide(&r, 0, &id, Some(&b)),
            PsyncVerdict::FullResync(ResyncReason::OffsetBeforeBacklog { .. })
        ));
        assert!(matches!(
            decide(
                "0123456789012345678901234567890123456789",
                247,
                &id,
                Some(&b)
            ),
            PsyncVerdict::FullResync(ResyncReason::ReplidMismatch { .. })
        ));
        assert_eq!(
            decide("?", -1, &id, Some(&b)),
            PsyncVerdict::FullResync(ResyncReason::Requested)
        );
        assert_eq!(
            decide(&r.to_uppercase(), 247, &id, Some(&b)).to_string(),
            "CONTINUE: offset 247 is within the backlog [1, 247]"
        );
        assert_eq!(
            decide(&r, 247, &id, None),
            PsyncVerdict::FullResync(ResyncReason::NoBacklog)
        );
    }

    #[test]
    fn previous_id_up_to_second_offset() {
        let (mut id, b) = master_at_246();
        let old = id.replid.clone();
        id.shift(&mut Rng::new(9));
        assert!(matches!(
            decide(&old, 247, &id, Some(&b)),
            PsyncVerdict::Continue { .. }
        ));
        // A demoted master that took writes after the promotion asks for more than the old history has.
        assert!(matches!(
            decide(&old, 248, &id, Some(&b)),
            PsyncVerdict::FullResync(ResyncReason::SecondIdOffsetTooFar {
                offset: 248,
                second_replid_offset: 247
            })
        ));
        assert!(matches!(
            decide(
                crate::repl::identity::NULL_REPLID,
                1,
                &ReplIdentity {
                    second_replid_offset: -1,
                    ..id.clone()
                },
                Some(&b)
            ),
            PsyncVerdict::FullResync(ResyncReason::ReplidMismatch { .. })
        ));
    }
}
