//! Typed access to collection values for the list, hash, set and sorted-set
//! commands, with Redis's rules: a missing (or lazily expired) key reads as
//! empty, a key of another type is `WRONGTYPE`, reads count keyspace hits
//! and misses (`lookupKeyRead`), and an emptied collection is deleted.

use super::CmdError;
use crate::node::Node;
use crate::value::{Hash, List, Set, Value, ZSet};

macro_rules! typed_access {
    ($get:ident, $get_mut:ident, $create:ident, $variant:ident, $ty:ty) => {
        /// Read access: `Ok(None)` if missing, `WRONGTYPE` for other types.
        pub fn $get<'a>(
            node: &'a mut Node,
            db: usize,
            key: &[u8],
        ) -> Result<Option<&'a $ty>, CmdError> {
            let now = node.now;
            match node.ks.get(db, key, now) {
                None => {
                    node.stats.keyspace_misses += 1;
                    Ok(None)
                }
                Some(Value::$variant(v)) => {
                    node.stats.keyspace_hits += 1;
                    Ok(Some(v))
                }
                Some(_) => {
                    node.stats.keyspace_hits += 1;
                    Err(CmdError::WrongType)
                }
            }
        }

        /// Write access: `Ok(None)` if missing, `WRONGTYPE` for other types.
        pub fn $get_mut<'a>(
            node: &'a mut Node,
            db: usize,
            key: &[u8],
        ) -> Result<Option<&'a mut $ty>, CmdError> {
            let now = node.now;
            match node.ks.get_mut(db, key, now) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(v)),
                Some(_) => Err(CmdError::WrongType),
            }
        }

        /// Write access creating an empty value if missing (the caller must
        /// fill it or delete it); `true` when it was created.
        pub fn $create<'a>(
            node: &'a mut Node,
            db: usize,
            key: &[u8],
            make: impl FnOnce() -> $ty,
        ) -> Result<(&'a mut $ty, bool), CmdError> {
            let now = node.now;
            let created = match node.ks.get_mut(db, key, now) {
                None => true,
                Some(Value::$variant(_)) => false,
                Some(_) => return Err(CmdError::WrongType),
            };
            if created {
                node.ks
                    .db_mut(db)
                    .insert(key, Value::$variant(make()), false);
            }
            match node.ks.db_mut(db).peek_mut(key) {
                Some(Value::$variant(v)) => Ok((v, created)),
                _ => unreachable!("just checked or inserted"),
            }
        }
    };
}

typed_access!(list, list_mut, list_or_create, List, List);
typed_access!(hash, hash_mut, hash_or_create, Hash, Hash);
typed_access!(set, set_mut, set_or_create, Set, Set);
typed_access!(zset, zset_mut, zset_or_create, ZSet, ZSet);

/// Delete `key` if it holds an empty collection; true if it was deleted.
pub fn remove_if_empty(node: &mut Node, db: usize, key: &[u8]) -> bool {
    let empty = match node.ks.db(db).peek(key) {
        Some(Value::List(v)) => v.is_empty(),
        Some(Value::Hash(v)) => v.is_empty(),
        Some(Value::Set(v)) => v.is_empty(),
        Some(Value::ZSet(v)) => v.is_empty(),
        _ => false,
    };
    if empty {
        node.ks.db_mut(db).remove(key);
    }
    empty
}

/// Normalize a `start end` rank range over `len` items the way LRANGE,
/// ZRANGE and friends do; `None` when empty, else an inclusive range.
pub fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut end = if end < 0 { end + len } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}
