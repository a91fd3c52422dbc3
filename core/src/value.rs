//! The values a key can hold, and the encodings Redis 7.0 reports for them
//! through `OBJECT ENCODING`.
//!
//! Redis keeps small collections compact (listpack, intset) and converts them
//! to real indexes (hashtable, skiplist) once they pass the `*-max-listpack-*`
//! / `set-max-intset-entries` limits; the conversion is one-way. Lists are
//! always `quicklist` in 7.0. Strings are `int` when they are the canonical
//! text of a 64-bit integer of at most 20 bytes, `embstr` up to 44 bytes,
//! `raw` beyond that or once modified in place (APPEND, SETRANGE).
//!
//! Collections sit behind an `Arc`: a snapshot of the keyspace (BGSAVE, a
//! full sync) shares them, and a write goes through `Arc::make_mut`, which
//! copies a collection only if a snapshot still holds it. Strings are kept
//! inline (copied with the shard that holds them; see [`crate::db::Db`]).

pub use crate::types::{Hash, List, Set, ZSet};
use std::sync::Arc;

/// How a string value is stored, as `OBJECT ENCODING` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrEncoding {
    /// A 64-bit integer.
    Int,
    /// A short string allocated with its header.
    Embstr,
    /// A string modified in place or longer than 44 bytes.
    Raw,
}

impl StrEncoding {
    /// The name `OBJECT ENCODING` answers.
    pub fn name(self) -> &'static str {
        match self {
            StrEncoding::Int => "int",
            StrEncoding::Embstr => "embstr",
            StrEncoding::Raw => "raw",
        }
    }
}

/// A string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrValue {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Its encoding, as Redis would report it.
    pub encoding: StrEncoding,
}

/// Longest string Redis stores as `embstr`.
pub const EMBSTR_MAX: usize = 44;

impl StrValue {
    /// A string as `tryObjectEncoding` would store it (SET, MSET, RDB load...).
    pub fn new(bytes: Vec<u8>) -> Self {
        let encoding = if bytes.len() <= 20 && crate::util::parse_i64(&bytes).is_some() {
            StrEncoding::Int
        } else if bytes.len() <= EMBSTR_MAX {
            StrEncoding::Embstr
        } else {
            StrEncoding::Raw
        };
        StrValue { bytes, encoding }
    }

    /// A string created without integer detection (`createStringObject`).
    pub fn plain(bytes: Vec<u8>) -> Self {
        let encoding = if bytes.len() <= EMBSTR_MAX {
            StrEncoding::Embstr
        } else {
            StrEncoding::Raw
        };
        StrValue { bytes, encoding }
    }

    /// An integer value (INCR and friends).
    pub fn from_i64(v: i64) -> Self {
        StrValue {
            bytes: crate::util::i64_to_bytes(v),
            encoding: StrEncoding::Int,
        }
    }

    /// A string about to be modified in place (APPEND, SETRANGE): always raw.
    pub fn raw(bytes: Vec<u8>) -> Self {
        StrValue {
            bytes,
            encoding: StrEncoding::Raw,
        }
    }
}

/// What a key holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    Str(StrValue),
    /// A list.
    List(Arc<List>),
    /// A hash.
    Hash(Arc<Hash>),
    /// A set.
    Set(Arc<Set>),
    /// A sorted set.
    ZSet(Arc<ZSet>),
}

impl From<List> for Value {
    fn from(v: List) -> Self {
        Value::List(Arc::new(v))
    }
}

impl From<Hash> for Value {
    fn from(v: Hash) -> Self {
        Value::Hash(Arc::new(v))
    }
}

impl From<Set> for Value {
    fn from(v: Set) -> Self {
        Value::Set(Arc::new(v))
    }
}

impl From<ZSet> for Value {
    fn from(v: ZSet) -> Self {
        Value::ZSet(Arc::new(v))
    }
}

impl Value {
    /// The name `TYPE` answers.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The name `OBJECT ENCODING` answers.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding.name(),
            Value::List(l) => l.encoding_name(),
            Value::Hash(h) => h.encoding_name(),
            Value::Set(s) => s.encoding_name(),
            Value::ZSet(z) => z.encoding_name(),
        }
    }

    /// A string value from bytes, encoded as SET would.
    pub fn string(bytes: Vec<u8>) -> Self {
        Value::Str(StrValue::new(bytes))
    }
}
