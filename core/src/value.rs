//! The values a key can hold, and the encodings Redis 7.0 reports for them
//! through `OBJECT ENCODING`.
//!
//! Redis keeps small collections compact (listpack, intset) and converts them
//! to real indexes (hashtable, skiplist) once they pass the `*-max-listpack-*`
//! / `set-max-intset-entries` limits; the conversion is one-way. Lists are
//! always `quicklist` in 7.0. Strings are `int` when they are the canonical
//! text of a 64-bit integer of at most 20 bytes, `embstr` up to 44 bytes,
//! `raw` beyond that or once modified in place (APPEND, SETRANGE).

pub use crate::types::{Hash, List, Set, ZSet};

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
    List(List),
    /// A hash.
    Hash(Hash),
    /// A set.
    Set(Set),
    /// A sorted set.
    ZSet(ZSet),
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
