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
                Some(Value::$variant(v)) => Ok(Some(std::sync::Arc::make_mut(v))),
                Some(_) => Err(CmdError::WrongType),
            }
        }

        /// Write access creating an empty value if missing (the caller must
        /// fill it or delete it).
        pub fn $create<'a>(
            node: &'a mut Node,
            db: usize,
            key: &[u8],
            make: impl FnOnce() -> $ty,
        ) -> Result<&'a mut $ty, CmdError> {
            let now = node.now;
            let created = match node.ks.get_mut(db, key, now) {
                None => true,
                Some(Value::$variant(_)) => false,
                Some(_) => return Err(CmdError::WrongType),
            };
            if created {
                node.ks
                    .db_mut(db)
                    .insert(key, Value::$variant(std::sync::Arc::new(make())), false);
            }
            match node.ks.db_mut(db).peek_mut(key) {
                Some(Value::$variant(v)) => Ok(std::sync::Arc::make_mut(v)),
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

/// HSCAN/SSCAN/ZSCAN's cursor (`parseScanCursorOrReply`): `strtoul`, so
/// leading spaces and a sign are accepted and `-1` wraps to `u64::MAX`.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let bad = || CmdError::err("invalid cursor");
    let mut s = arg;
    while let [c, rest @ ..] = s {
        if matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            s = rest;
        } else {
            break;
        }
    }
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let v: u64 = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or_else(bad)?;
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// The `MATCH` and `COUNT` options of a collection SCAN.
pub struct ScanOpts {
    /// `MATCH` pattern (`None` for none or `*`).
    pub pattern: Option<Vec<u8>>,
    /// `COUNT` hint (default 10).
    pub count: usize,
}

impl ScanOpts {
    /// Parse the options from `args[from..]`, as `scanGenericCommand` does.
    pub fn parse(args: &[bytes::Bytes], from: usize) -> Result<ScanOpts, CmdError> {
        let mut o = ScanOpts {
            pattern: None,
            count: 10,
        };
        let mut j = from;
        while j < args.len() {
            let more = j + 1 < args.len();
            if super::is_opt(&args[j], "count") && more {
                let n = super::parse_int(&args[j + 1])?;
                if n < 1 {
                    return Err(CmdError::Syntax);
                }
                o.count = n as usize;
            } else if super::is_opt(&args[j], "match") && more {
                let p = args[j + 1].to_vec();
                o.pattern = (p != b"*").then_some(p);
            } else {
                return Err(CmdError::Syntax);
            }
            j += 2;
        }
        Ok(o)
    }

    /// Whether an element passes the `MATCH` filter.
    pub fn matches(&self, item: &[u8]) -> bool {
        match &self.pattern {
            None => true,
            Some(p) => crate::util::glob_match(p, item, false),
        }
    }

    /// The positions a cursor step visits over `len` indexed items, walking
    /// from the end toward the start so that a `swap_remove` (which moves
    /// the last item, already visited, into a hole) never hides an item
    /// that was present for the whole scan. Returns the range and the next
    /// cursor (0 when done).
    /// A compact encoding (listpack, intset) is answered whole in one call
    /// with cursor 0, as Redis does.
    pub fn step(&self, cursor: u64, len: usize, compact: bool) -> (std::ops::Range<usize>, u64) {
        if compact {
            return (0..len, 0);
        }
        let hi = if cursor == 0 {
            len
        } else {
            (cursor as usize).min(len)
        };
        let lo = hi.saturating_sub(self.count);
        (lo..hi, lo as u64)
    }
}

/// Write a SCAN reply: `[cursor, [items...]]`.
pub fn scan_reply<'a>(
    out: &mut Vec<u8>,
    cursor: u64,
    items: impl ExactSizeIterator<Item = &'a [u8]>,
) {
    use crate::resp::ReplyWriter;
    out.array_len(2);
    out.bulk(cursor.to_string().as_bytes());
    out.array_len(items.len());
    for i in items {
        out.bulk(i);
    }
}

/// After removing `n` members from the collection at `key`: delete it if
/// emptied, record the change, reply `n` (HDEL, SREM, ZREM, ...).
pub fn finish_removal(ctx: &mut super::Ctx, key: &[u8], n: i64) {
    use crate::resp::ReplyWriter;
    if n > 0 {
        let db = ctx.db();
        remove_if_empty(ctx.node, db, key);
        ctx.modified(key);
    }
    ctx.client.out.int(n);
}

/// Store a computed collection of `len` members at `dst` (replacing it,
/// TTL dropped), or delete `dst` when empty; reply the size (the `*STORE`
/// commands).
pub fn store_or_delete(ctx: &mut super::Ctx, dst: &[u8], value: Value, len: usize) {
    use crate::resp::ReplyWriter;
    let db = ctx.db();
    if len > 0 {
        ctx.node.ks.db_mut(db).insert(dst, value, false);
        ctx.modified(dst);
    } else if ctx.node.ks.db_mut(db).remove(dst).is_some() {
        ctx.modified(dst);
    }
    ctx.client.out.int(len as i64);
}

/// The optional `count` of LPOP, SPOP, ZPOPMIN and friends
/// (`getPositiveLongFromObjectOrReply`).
pub fn optional_count(arg: Option<&bytes::Bytes>) -> Result<Option<usize>, CmdError> {
    match arg {
        None => Ok(None),
        Some(a) => match crate::util::parse_i64(a) {
            Some(n) if n >= 0 => Ok(Some(n as usize)),
            _ => Err(CmdError::err("value is out of range, must be positive")),
        },
    }
}
