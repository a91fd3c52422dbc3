//! The RDB file format of Redis 7.0 (`RDB_VERSION` 10), both ways, without IO.
//!
//! * [`Encoder`] turns a [`Snapshot`] of the keyspace into the bytes
//!   redis-server 7.0.15 would write, **in chunks** ([`Encoder::next_chunk`]),
//!   so a driver can stream them to a file or a replica's socket while the
//!   node keeps serving. It writes `REDIS0010`, the AUX fields 7.0 writes
//!   (`redis-ver`, `redis-bits`, `ctime`, `used-mem`, then `repl-stream-db`,
//!   `repl-id`, `repl-offset` when replication info is given, then
//!   `aof-base`), `SELECTDB` + `RESIZEDB` per non-empty database,
//!   `EXPIRETIME_MS` before keys with a TTL, each value with the RDB type 7.0
//!   picks from its in-memory encoding (the table in `encode.rs`), `0xFF` and the
//!   CRC-64 trailer (8 zero bytes with `rdbchecksum no`).
//! * [`Decoder`] reads any file 7.0.15 can load (versions 1 to 10, every
//!   string, list, set, hash and zset encoding, the LRU/LFU/expiry opcodes;
//!   the encodings only older servers wrote, [`legacy_encoding`], need the
//!   default `legacy-rdb` feature and give [`Error::LegacyEncoding`]
//!   without it),
//!   **fed in chunks** cut anywhere ([`Decoder::feed`]), into a fresh
//!   [`Keyspace`](crate::db::Keyspace) plus the replication AUX fields
//!   ([`Loaded`]). The caller swaps it in only on success, so a failed load
//!   never touches the running dataset.
//!
//! ## What Tandem does not serve: streams, module values, functions
//! Streams (types 15, 19), module values (types 6, 7), `MODULE_AUX` (0xF7)
//! and function libraries (`FUNCTION2` 0xF5, `FUNCTION` 0xF6) are handled by
//! [`DecodeOptions::unsupported`]:
//! * [`Unsupported::Error`] (the default): the load fails with
//!   [`Error::Unsupported`], naming the key, its database and the type.
//! * [`Unsupported::Skip`]: the item is parsed, checked for structure and
//!   left out; every skipped item is listed in [`Loaded::skipped`] (key,
//!   database, kind, offset) so the driver logs each one. Type 6 (module
//!   values without annotations) cannot be skipped and always fails.
//!   Skipping needs the default `rdb-skip` feature; without it (the
//!   browser build) `Skip` acts as `Error`.
//!
//! Empty collections are skipped the way redis-server skips them ("empty
//! key"), and are listed in [`Loaded::skipped`] too. `IDLE` (0xF8) and
//! `FREQ` (0xF9) are read and dropped: Tandem has no eviction policy to feed.
//!
//! ## Defences
//! Decoding never panics and never allocates from a declared length alone:
//! a string is only copied once all its bytes are in the buffer, LZF output
//! is bounded by 88 times its input, collections grow element by element.
//! Truncation, a wrong CRC, bad length or string encodings, malformed
//! listpacks, intsets, ziplists and zipmaps (deep validation, as
//! `redis-check-rdb` does), unsorted intsets, duplicate keys, duplicate set,
//! hash or zset members, NaN scores, unknown types and out-of-range
//! databases all give an [`Error`] carrying the byte offset where the
//! offending item starts.

mod crc64;
mod decode;
mod encode;
#[doc(hidden)]
pub mod fuzz;
pub mod intset;
pub mod listpack;
pub mod lzf;
#[cfg(feature = "legacy-rdb")]
pub mod ziplist;

pub use crc64::crc64;
pub use decode::{
    decode, DecodeOptions, Decoder, KeyspaceBuilder, LoadStep, Loaded, Skipped, Unsupported,
};
pub use encode::{encode_to_vec, EncodeOptions, Encoder, Entry, ReplInfo, Snapshot};

/// The RDB version Redis 7.0 writes.
pub const RDB_VERSION: u32 = 10;

/// Opcodes and type bytes (`rdb.h`).
pub mod opcode {
    /// Function library (7.0 GA).
    pub const FUNCTION2: u8 = 245;
    /// Function (7.0 release candidates).
    pub const FUNCTION: u8 = 246;
    /// Module auxiliary data.
    pub const MODULE_AUX: u8 = 247;
    /// LRU idle time.
    pub const IDLE: u8 = 248;
    /// LFU counter.
    pub const FREQ: u8 = 249;
    /// Auxiliary field.
    pub const AUX: u8 = 250;
    /// Hash table size hint.
    pub const RESIZEDB: u8 = 251;
    /// Expiry in milliseconds.
    pub const EXPIRETIME_MS: u8 = 252;
    /// Expiry in seconds (old files).
    pub const EXPIRETIME: u8 = 253;
    /// Database switch.
    pub const SELECTDB: u8 = 254;
    /// End of file.
    pub const EOF: u8 = 255;

    /// String.
    pub const TYPE_STRING: u8 = 0;
    /// List of strings (≤ 3.0).
    pub const TYPE_LIST: u8 = 1;
    /// Hashtable set.
    pub const TYPE_SET: u8 = 2;
    /// Zset with string scores (< 4.0).
    pub const TYPE_ZSET: u8 = 3;
    /// Hashtable hash.
    pub const TYPE_HASH: u8 = 4;
    /// Skiplist zset with binary scores.
    pub const TYPE_ZSET_2: u8 = 5;
    /// Module value (no annotations).
    pub const TYPE_MODULE: u8 = 6;
    /// Module value (annotated).
    pub const TYPE_MODULE_2: u8 = 7;
    /// Zipmap hash (< 2.6).
    pub const TYPE_HASH_ZIPMAP: u8 = 9;
    /// Ziplist list (< 3.2).
    pub const TYPE_LIST_ZIPLIST: u8 = 10;
    /// Intset set.
    pub const TYPE_SET_INTSET: u8 = 11;
    /// Ziplist zset (< 7.0).
    pub const TYPE_ZSET_ZIPLIST: u8 = 12;
    /// Ziplist hash (< 7.0).
    pub const TYPE_HASH_ZIPLIST: u8 = 13;
    /// Quicklist of ziplists (3.2 to 6.2).
    pub const TYPE_LIST_QUICKLIST: u8 = 14;
    /// Stream (5.0 to 6.2).
    pub const TYPE_STREAM_LISTPACKS: u8 = 15;
    /// Listpack hash.
    pub const TYPE_HASH_LISTPACK: u8 = 16;
    /// Listpack zset.
    pub const TYPE_ZSET_LISTPACK: u8 = 17;
    /// Quicklist of listpacks.
    pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
    /// Stream (7.0).
    pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
}

/// The encoding of a value type only servers before 7.0 wrote (7.0 reads
/// them and converts them; it never writes them), in words; `None` for the
/// types 7.0 writes and for the non-value types. Without the `legacy-rdb`
/// feature the decoder answers these with [`Error::LegacyEncoding`].
pub fn legacy_encoding(type_byte: u8) -> Option<&'static str> {
    use opcode::*;
    Some(match type_byte {
        TYPE_LIST => "linked list",
        TYPE_ZSET => "zset with string scores",
        TYPE_HASH_ZIPMAP => "zipmap hash",
        TYPE_LIST_ZIPLIST => "ziplist list",
        TYPE_ZSET_ZIPLIST => "ziplist zset",
        TYPE_HASH_ZIPLIST => "ziplist hash",
        TYPE_LIST_QUICKLIST => "quicklist of ziplists",
        _ => return None,
    })
}

/// Why an RDB file could not be read. Every variant carries `offset`, the
/// byte position in the file where the offending item starts (or, for
/// [`Error::Truncated`], where the input ended).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file does not start with `REDIS` and four digits.
    #[error("offset {offset}: not an RDB file (bad magic)")]
    BadMagic {
        /// Byte offset.
        offset: u64,
    },
    /// A version this reader (like redis-server 7.0) refuses.
    #[error("offset {offset}: can't handle RDB format version {version}")]
    UnsupportedVersion {
        /// Byte offset.
        offset: u64,
        /// The version in the header.
        version: u32,
    },
    /// The input ended before the end of the file.
    #[error("offset {offset}: unexpected end of the RDB file")]
    Truncated {
        /// Where the input ended.
        offset: u64,
    },
    /// The CRC-64 trailer does not match the file.
    #[error("offset {offset}: wrong RDB checksum: stored {stored:016x}, computed {computed:016x}")]
    BadChecksum {
        /// Byte offset of the trailer.
        offset: u64,
        /// The stored checksum.
        stored: u64,
        /// The checksum of the bytes read.
        computed: u64,
    },
    /// A structurally invalid item.
    #[error("offset {offset}: {what}")]
    Corrupt {
        /// Byte offset.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A value in an encoding only servers before 7.0 wrote, read only
    /// with the core's `legacy-rdb` feature (the browser build leaves it
    /// out: its files all come from its own encoder).
    #[error("offset {offset}: RDB value type {type_byte} ({encoding}) is not readable without the legacy-rdb feature")]
    LegacyEncoding {
        /// Byte offset.
        offset: u64,
        /// The type byte.
        type_byte: u8,
        /// The encoding, in words (e.g. "ziplist hash").
        encoding: &'static str,
    },
    /// A type byte no 7.0 file can hold.
    #[error("offset {offset}: unknown RDB value type {type_byte}")]
    UnknownType {
        /// Byte offset.
        offset: u64,
        /// The type byte.
        type_byte: u8,
    },
    /// A key appears twice in one database.
    #[error(
        "offset {offset}: duplicate key {:?} in DB {db}",
        String::from_utf8_lossy(key)
    )]
    DuplicateKey {
        /// Byte offset.
        offset: u64,
        /// The database.
        db: usize,
        /// The key.
        key: Vec<u8>,
    },
    /// SELECTDB beyond the configured number of databases.
    #[error(
        "offset {offset}: the file selects DB {db} but only {databases} databases are configured"
    )]
    DbOutOfRange {
        /// Byte offset.
        offset: u64,
        /// The selected database.
        db: u64,
        /// The configured count.
        databases: usize,
    },
    /// A stream, module value or function, which Tandem does not serve.
    #[error(
        "offset {offset}: {kind} {:?} in DB {db}: Tandem does not support this type",
        String::from_utf8_lossy(key)
    )]
    Unsupported {
        /// Byte offset.
        offset: u64,
        /// The database (0 for file-level items such as functions).
        db: usize,
        /// The key (the library source's first line for functions).
        key: Vec<u8>,
        /// "stream", "module value", "module aux data" or "function".
        kind: &'static str,
    },
}

impl Error {
    /// The byte offset the error refers to.
    pub fn offset(&self) -> u64 {
        match self {
            Error::BadMagic { offset }
            | Error::UnsupportedVersion { offset, .. }
            | Error::Truncated { offset }
            | Error::BadChecksum { offset, .. }
            | Error::Corrupt { offset, .. }
            | Error::UnknownType { offset, .. }
            | Error::LegacyEncoding { offset, .. }
            | Error::DuplicateKey { offset, .. }
            | Error::DbOutOfRange { offset, .. }
            | Error::Unsupported { offset, .. } => *offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `REDIS0010`, DB 0, one value of RDB type `ty` under key `k` with
    /// `payload` as its bytes, EOF, no checksum. Returns the file and the
    /// offset of the value's type byte.
    fn file_with(ty: u8, payload: &[u8]) -> (Vec<u8>, u64) {
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&[opcode::SELECTDB, 0]);
        let at = f.len() as u64;
        f.extend_from_slice(&[ty, 1, b'k']);
        f.extend_from_slice(payload);
        f.push(opcode::EOF);
        f.extend_from_slice(&[0; 8]);
        (f, at)
    }

    /// A ziplist of "f", "v" as an RDB string: zlbytes 17, zltail 13,
    /// zllen 2, two 1-byte string entries, the end byte.
    const ZIPLIST_F_V: &[u8] = &[
        17, 17, 0, 0, 0, 13, 0, 0, 0, 2, 0, 0, 0x01, b'f', 3, 0x01, b'v', 0xff,
    ];

    /// The value types only servers older than 7.0 write.
    const LEGACY_TYPES: [u8; 7] = [
        opcode::TYPE_LIST,
        opcode::TYPE_ZSET,
        opcode::TYPE_HASH_ZIPMAP,
        opcode::TYPE_LIST_ZIPLIST,
        opcode::TYPE_ZSET_ZIPLIST,
        opcode::TYPE_HASH_ZIPLIST,
        opcode::TYPE_LIST_QUICKLIST,
    ];

    #[test]
    fn only_the_types_older_servers_wrote_are_legacy() {
        let legacy: Vec<u8> = (0..=255u8)
            .filter(|&t| legacy_encoding(t).is_some())
            .collect();
        assert_eq!(legacy, LEGACY_TYPES);
    }

    #[cfg(feature = "legacy-rdb")]
    #[test]
    fn a_ziplist_hash_loads_with_the_legacy_feature() {
        let (file, _) = file_with(opcode::TYPE_HASH_ZIPLIST, ZIPLIST_F_V);
        let mut loaded = decode(&file, &DecodeOptions::default()).expect("loads");
        match loaded.keyspace.get(0, b"k", 0) {
            Some(crate::value::Value::Hash(h)) => assert_eq!(h.get(b"f"), Some(&b"v"[..])),
            other => panic!("expected a hash, got {other:?}"),
        }
    }

    #[test]
    fn streams_are_skipped_only_with_the_skip_feature() {
        // A stream (type 15) with no nodes, 3 metadata lengths, no groups.
        let (file, at) = file_with(opcode::TYPE_STREAM_LISTPACKS, &[0, 0, 0, 0, 0]);
        let opts = DecodeOptions {
            unsupported: Unsupported::Skip,
            ..DecodeOptions::default()
        };
        let loaded = decode(&file, &opts);
        if cfg!(feature = "rdb-skip") {
            let loaded = loaded.expect("skipped");
            assert_eq!(loaded.skipped.len(), 1);
            assert_eq!(loaded.skipped[0].kind, "stream");
        } else {
            assert_eq!(
                loaded.expect_err("no skipping"),
                Error::Unsupported {
                    offset: at,
                    db: 0,
                    key: b"k".to_vec(),
                    kind: "stream"
                }
            );
        }
    }

    #[cfg(not(feature = "legacy-rdb"))]
    #[test]
    fn legacy_encodings_are_named_errors_without_the_feature() {
        for ty in LEGACY_TYPES {
            let (file, at) = file_with(ty, ZIPLIST_F_V);
            let err = decode(&file, &DecodeOptions::default()).expect_err("legacy type");
            let encoding = legacy_encoding(ty).expect("legacy");
            assert_eq!(
                err,
                Error::LegacyEncoding {
                    offset: at,
                    type_byte: ty,
                    encoding
                }
            );
            assert_eq!(
                err.to_string(),
                format!("offset {at}: RDB value type {ty} ({encoding}) is not readable without the legacy-rdb feature")
            );
        }
        // The types 7.0 writes still load.
        let (file, _) = file_with(opcode::TYPE_STRING, &[1, b'v']);
        assert!(decode(&file, &DecodeOptions::default()).is_ok());
    }
}
