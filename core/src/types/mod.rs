//! The collection types behind lists, hashes, sets and sorted sets.
//!
//! Each type keeps Redis's compact encoding (listpack / intset) while it is
//! small and switches for good to an indexed one past the configured limits
//! ([`EncodingLimits`](crate::config::EncodingLimits)); callers that modify a
//! collection call `update_encoding` afterwards.

mod hash;
mod index_table;
mod list;
pub mod member;
pub mod score;
mod set;
pub mod skiplist;
mod zset;

pub(crate) use hash::seed_members_hash;
pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use zset::{LexBound, ZIter, ZSet};
