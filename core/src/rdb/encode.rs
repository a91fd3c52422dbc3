//! The RDB writer: what redis-server 7.0.15 writes (`rdbSaveRio`), produced
//! in chunks from a [`Snapshot`].
//!
//! Per value (the decision table of `rdbSaveObjectType`/`rdbSaveObject`):
//! * string → type 0;
//! * list → type 18 (quicklist 2): listpack nodes cut as 7.0 cuts them
//!   (`list-max-listpack-size`: negative = node size 4/8/16/32/64 KB,
//!   positive = entries per node), an element of 1 GB or more as a PLAIN node;
//! * set → type 11 (intset blob) while its encoding is `intset`, else type 2;
//! * hash → type 16 (listpack of field, value in insertion order) while its
//!   encoding is `listpack`, else type 4;
//! * zset → type 17 (listpack of member, score sorted by score then member,
//!   scores as `d2string` text, which the listpack stores as an integer when
//!   it is one) while its encoding is `listpack`, else type 5 (`ZSET_2`: binary
//!   little-endian doubles, highest score first).
//!
//! Every string, blobs included, goes through `rdbSaveRawString`'s rule: an
//! integer encoding (int8/16/32, little-endian) when the bytes are at most 11
//! long, canonical decimal (`string2ll`) and in int32 range; else LZF when
//! `rdbcompression` is on, the string is over 20 bytes and compresses to at
//! most `len - 4` bytes; else raw.
//!
//! Chunking: [`Encoder::next_chunk`] returns the next piece of the file once
//! at least [`EncodeOptions::chunk_size`] bytes are ready (a single large value
//! can make a chunk bigger). The encoder reads the dataset only through the
//! [`Snapshot`] trait, by database and resumable cursor.
//!
//! ## Snapshots without stopping the world (BGSAVE)
//! Redis forks and lets the child write the file. Tandem encodes from
//! [`Keyspace::snapshot`]: an O(databases × shards) copy-on-write clone of
//! the keyspace (each database is split into shards behind `Arc`s, and
//! collections are behind `Arc`s; writes go through `Arc::make_mut`, so the
//! live keyspace copies a shard or a collection only when it writes to one
//! the snapshot still shares). The node then hands the file out chunk by
//! chunk between commands, or hands the encoder over to the driver to run on
//! another thread (see `persist`), and the snapshot holds exactly the
//! dataset of the moment it was taken.

use super::{crc64, listpack, lzf, opcode::*, RDB_VERSION};
use crate::db::{DbCursor, Keyspace};
use crate::digest::format_g17;
use crate::util::parse_i64;
use crate::value::Value;
use bytes::Bytes;

/// One key as the encoder sees it.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The key.
    pub key: &'a [u8],
    /// Its value.
    pub value: &'a Value,
    /// Absolute expiry time in Unix ms, if it has a TTL.
    pub expire_ms: Option<u64>,
}

/// A frozen view of the dataset, read by database and cursor. It must not
/// change for as long as the encoder runs.
pub trait Snapshot {
    /// Number of databases.
    fn db_count(&self) -> usize;
    /// Keys in one database.
    fn db_len(&self, db: usize) -> usize;
    /// Keys with a TTL in one database (for RESIZEDB).
    fn db_expires_len(&self, db: usize) -> usize;
    /// The key at `cursor` (or the next one), moving the cursor past it;
    /// `None` once the database has been read to its end.
    fn next_entry(&self, db: usize, cursor: &mut DbCursor) -> Option<Entry<'_>>;
    /// The reader is done with database `db` before `cursor` (and with
    /// every database before `db`): an owned snapshot may free that part.
    fn release(&mut self, _db: usize, _cursor: &DbCursor) {}
}

impl Snapshot for Keyspace {
    fn db_count(&self) -> usize {
        Keyspace::db_count(self)
    }
    fn db_len(&self, db: usize) -> usize {
        self.db(db).len()
    }
    fn db_expires_len(&self, db: usize) -> usize {
        self.db(db).expires_len()
    }
    fn next_entry(&self, db: usize, cursor: &mut DbCursor) -> Option<Entry<'_>> {
        let (key, value, expire_ms) = self.db(db).next_entry(cursor)?;
        Some(Entry {
            key,
            value,
            expire_ms,
        })
    }
    fn release(&mut self, db: usize, cursor: &DbCursor) {
        if db < self.db_count() {
            self.db_mut(db).release_before(cursor);
        }
    }
}

/// Forward [`Snapshot`] through a pointer type.
macro_rules! forward_snapshot {
    ($($ptr:ty),*) => {$(
        impl<T: Snapshot + ?Sized> Snapshot for $ptr {
            fn db_count(&self) -> usize {
                (**self).db_count()
            }
            fn db_len(&self, db: usize) -> usize {
                (**self).db_len(db)
            }
            fn db_expires_len(&self, db: usize) -> usize {
                (**self).db_expires_len(db)
            }
            fn next_entry(&self, db: usize, cursor: &mut DbCursor) -> Option<Entry<'_>> {
                (**self).next_entry(db, cursor)
            }
        }
    )*};
}

forward_snapshot!(&T, std::sync::Arc<T>, Box<T>);

/// Replication fields written as AUX (`repl-stream-db`, `repl-id`,
/// `repl-offset`): 7.0 writes them only on a replica or on a master that has
/// a replication backlog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplInfo {
    /// The database the replication stream last selected.
    pub stream_db: i64,
    /// The 40-hex-character replication id.
    pub id: String,
    /// The replication offset.
    pub offset: i64,
}

/// What to write besides the data.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// `rdbcompression`: LZF-compress strings over 20 bytes.
    pub compression: bool,
    /// `rdbchecksum`: write the CRC-64 (else 8 zero bytes).
    pub checksum: bool,
    /// AUX `redis-ver`.
    pub redis_ver: String,
    /// AUX `ctime`: Unix seconds at save time (the core has no clock).
    pub ctime_secs: u64,
    /// AUX `used-mem`.
    pub used_mem: u64,
    /// Replication AUX fields, if any.
    pub repl: Option<ReplInfo>,
    /// AUX `aof-base`: true for the base file of a multi-part AOF.
    pub aof_base: bool,
    /// `list-max-listpack-size`, to cut lists into quicklist nodes.
    pub list_max_listpack_size: i64,
    /// Target chunk size for [`Encoder::next_chunk`].
    pub chunk_size: usize,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            compression: true,
            checksum: true,
            redis_ver: "7.0.15".into(),
            ctime_secs: 0,
            used_mem: 0,
            repl: None,
            aof_base: false,
            list_max_listpack_size: -2,
            chunk_size: 64 * 1024,
        }
    }
}

impl EncodeOptions {
    /// Options from a node's configuration (`rdbcompression`, `rdbchecksum`,
    /// `list-max-listpack-size`); the caller adds `ctime`, `used-mem` and
    /// the replication fields.
    pub fn from_config(cfg: &crate::config::Config) -> Self {
        EncodeOptions {
            compression: cfg.rdbcompression,
            checksum: cfg.rdbchecksum,
            list_max_listpack_size: cfg.encoding.list_max_listpack_size,
            ..EncodeOptions::default()
        }
    }
}

/// Elements at least this long get their own PLAIN quicklist node
/// (`packed_threshold`, 1 GB by default).
const PACKED_THRESHOLD: usize = 1 << 30;
/// `SIZE_SAFETY_LIMIT` of `quicklist.c` for count-limited nodes.
const SIZE_SAFETY_LIMIT: usize = 8192;

/// Low-level writer with the string rules; reused buffers.
struct Out {
    buf: Vec<u8>,
    lzf: lzf::Compressor,
    scratch: Vec<u8>,
    compression: bool,
}

impl Out {
    fn len(&mut self, n: u64) {
        let b = &mut self.buf;
        if n < 1 << 6 {
            b.push(n as u8);
        } else if n < 1 << 14 {
            b.push(0x40 | (n >> 8) as u8);
            b.push(n as u8);
        } else if n <= u32::MAX as u64 {
            b.push(0x80);
            b.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            b.push(0x81);
            b.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn string(&mut self, s: &[u8]) {
        if s.len() <= 11 {
            if let Some(v) = parse_i64(s) {
                if let Ok(v8) = i8::try_from(v) {
                    self.buf.extend_from_slice(&[0xC0, v8 as u8]);
                    return;
                }
                if let Ok(v16) = i16::try_from(v) {
                    self.buf.push(0xC1);
                    self.buf.extend_from_slice(&v16.to_le_bytes());
                    return;
                }
                if let Ok(v32) = i32::try_from(v) {
                    self.buf.push(0xC2);
                    self.buf.extend_from_slice(&v32.to_le_bytes());
                    return;
                }
            }
        }
        if self.compression && s.len() > 20 && self.lzf.compress(s, s.len() - 4, &mut self.scratch)
        {
            self.buf.push(0xC3);
            let clen = self.scratch.len() as u64;
            self.len(clen);
            self.len(s.len() as u64);
            self.buf.extend_from_slice(&self.scratch);
            return;
        }
        self.len(s.len() as u64);
        self.buf.extend_from_slice(s);
    }

    fn aux(&mut self, k: &str, v: &[u8]) {
        self.buf.push(AUX);
        self.string(k.as_bytes());
        self.string(v);
    }

    fn value(&mut self, v: &Value, list_fill: i64) {
        match v {
            Value::Str(s) => self.string(&s.bytes),
            Value::List(l) => {
                let nodes = quicklist_nodes(l.iter(), list_fill);
                self.len(nodes.len() as u64);
                for (container, blob) in &nodes {
                    self.len(*container);
                    self.string(blob);
                }
            }
            Value::Set(s) => {
                if let Some(mut ints) = intset_members(v) {
                    let blob = super::intset::encode(&mut ints);
                    self.string(&blob);
                } else {
                    self.len(s.len() as u64);
                    for m in s.iter() {
                        self.string(m);
                    }
                }
            }
            Value::Hash(h) => {
                if h.encoding_name() == "listpack" {
                    let mut lp = listpack::Builder::new();
                    for (f, val) in h.iter() {
                        lp.push(f);
                        lp.push(val);
                    }
                    self.string(&lp.finish());
                } else {
                    self.len(h.len() as u64);
                    for (f, val) in h.iter() {
                        self.string(f);
                        self.string(val);
                    }
                }
            }
            Value::ZSet(z) => {
                if z.encoding_name() == "listpack" {
                    let mut lp = listpack::Builder::new();
                    for (m, score) in z.iter() {
                        lp.push(m);
                        lp.push(&score_text(score));
                    }
                    self.string(&lp.finish());
                } else {
                    self.len(z.len() as u64);
                    for (m, score) in z.iter().rev() {
                        self.string(m);
                        self.buf.extend_from_slice(&score.to_le_bytes());
                    }
                }
            }
        }
    }
}

/// A score as `d2string` writes it into a listpack: integral values
/// within ±2^52 as integers, anything else as `%.17g` (or `inf`/`-inf`).
fn score_text(score: f64) -> Vec<u8> {
    const LIMIT: f64 = 4_503_599_627_370_496.0; // 2^52
    if score > -LIMIT && score < LIMIT && score == score.trunc() && score != 0.0 {
        crate::util::i64_to_bytes(score as i64)
    } else {
        format_g17(score).into_bytes()
    }
}

/// The members of a set as integers, if it is written as an intset.
fn intset_members(v: &Value) -> Option<Vec<i64>> {
    let Value::Set(s) = v else { return None };
    if s.encoding_name() != "intset" || s.is_empty() {
        return None;
    }
    s.iter().map(parse_i64).collect()
}

/// The RDB type byte 7.0 writes for a value.
pub fn rdb_type(v: &Value) -> u8 {
    match v {
        Value::Str(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST_QUICKLIST_2,
        Value::Set(_) => {
            if intset_members(v).is_some() {
                TYPE_SET_INTSET
            } else {
                TYPE_SET
            }
        }
        Value::Hash(h) => {
            if h.encoding_name() == "listpack" {
                TYPE_HASH_LISTPACK
            } else {
                TYPE_HASH
            }
        }
        Value::ZSet(z) => {
            if z.encoding_name() == "listpack" {
                TYPE_ZSET_LISTPACK
            } else {
                TYPE_ZSET_2
            }
        }
    }
}

/// Cut a list into quicklist nodes: `(container, blob)` with container 2 =
/// PACKED (a listpack) and 1 = PLAIN (one element).
fn quicklist_nodes<'a>(items: impl Iterator<Item = &'a [u8]>, fill: i64) -> Vec<(u64, Vec<u8>)> {
    let max_bytes = if fill < 0 {
        [4096usize, 8192, 16384, 32768, 65536][((-fill - 1) as usize).min(4)]
    } else {
        SIZE_SAFETY_LIMIT
    };
    let max_count = if fill > 0 { fill as usize } else { usize::MAX };
    let mut nodes = Vec::new();
    let mut cur = listpack::Builder::new();
    for e in items {
        if e.len() >= PACKED_THRESHOLD {
            if cur.count() > 0 {
                nodes.push((2, std::mem::take(&mut cur).finish()));
            }
            nodes.push((1, e.to_vec()));
            continue;
        }
        if cur.count() > 0
            && (cur.count() >= max_count
                || cur.size() + listpack::Builder::entry_size(e) > max_bytes)
        {
            nodes.push((2, std::mem::take(&mut cur).finish()));
        }
        cur.push(e);
    }
    if cur.count() > 0 {
        nodes.push((2, cur.finish()));
    }
    nodes
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Header,
    Keys,
    Done,
}

/// Produces an RDB file from a snapshot, chunk by chunk.
///
/// ```
/// use tandem_core::{db::Keyspace, value::Value, rdb};
/// let mut ks = Keyspace::new(16, 0);
/// ks.db_mut(0).insert(b"k", Value::string(b"v".to_vec()), false);
/// let mut enc = rdb::Encoder::new(&ks, rdb::EncodeOptions::default());
/// let mut file = Vec::new();
/// while let Some(chunk) = enc.next_chunk() {
///     file.extend_from_slice(&chunk);
/// }
/// let loaded = rdb::decode(&file, &rdb::DecodeOptions::default()).unwrap();
/// assert_eq!(loaded.keyspace.db(0).len(), 1);
/// ```
pub struct Encoder<S: Snapshot> {
    snap: S,
    opts: EncodeOptions,
    stage: Stage,
    db: usize,
    cursor: DbCursor,
    db_started: bool,
    out: Out,
    crc: u64,
    keys: u64,
    bytes: u64,
}

impl<S: Snapshot> Encoder<S> {
    /// An encoder over `snap`.
    pub fn new(snap: S, opts: EncodeOptions) -> Self {
        let compression = opts.compression;
        Encoder {
            snap,
            opts,
            stage: Stage::Header,
            db: 0,
            cursor: DbCursor::default(),
            db_started: false,
            out: Out {
                buf: Vec::new(),
                lzf: lzf::Compressor::new(),
                scratch: Vec::new(),
                compression,
            },
            crc: 0,
            keys: 0,
            bytes: 0,
        }
    }

    /// Keys written so far.
    pub fn keys_written(&self) -> u64 {
        self.keys
    }

    /// Bytes handed out so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Whether the whole file has been produced.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done && self.out.buf.is_empty()
    }

    /// The snapshot being written.
    pub fn snapshot(&self) -> &S {
        &self.snap
    }

    fn header(&mut self) {
        let o = &mut self.out;
        o.buf
            .extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        let opts = &self.opts;
        o.aux("redis-ver", opts.redis_ver.as_bytes());
        o.aux("redis-bits", b"64");
        o.aux("ctime", opts.ctime_secs.to_string().as_bytes());
        o.aux("used-mem", opts.used_mem.to_string().as_bytes());
        if let Some(r) = &opts.repl {
            o.aux("repl-stream-db", r.stream_db.to_string().as_bytes());
            o.aux("repl-id", r.id.as_bytes());
            o.aux("repl-offset", r.offset.to_string().as_bytes());
        }
        o.aux("aof-base", if opts.aof_base { b"1" } else { b"0" });
    }

    /// The next piece of the file, or `None` once it has all been produced.
    pub fn next_chunk(&mut self) -> Option<Bytes> {
        let target = self.opts.chunk_size.max(1);
        let mut final_crc_done = false;
        while self.out.buf.len() < target && self.stage != Stage::Done {
            match self.stage {
                Stage::Header => {
                    self.header();
                    self.stage = Stage::Keys;
                }
                Stage::Keys => {
                    if self.db >= self.snap.db_count() {
                        self.out.buf.push(EOF);
                        self.crc = crc64(self.crc, &self.out.buf);
                        final_crc_done = true;
                        let stored = if self.opts.checksum { self.crc } else { 0 };
                        self.out.buf.extend_from_slice(&stored.to_le_bytes());
                        self.stage = Stage::Done;
                        break;
                    }
                    let n = self.snap.db_len(self.db);
                    if n == 0 {
                        self.db += 1;
                        continue;
                    }
                    if !self.db_started {
                        self.db_started = true;
                        self.cursor = DbCursor::default();
                        self.out.buf.push(SELECTDB);
                        self.out.len(self.db as u64);
                        self.out.buf.push(RESIZEDB);
                        self.out.len(n as u64);
                        let e = self.snap.db_expires_len(self.db) as u64;
                        self.out.len(e);
                    }
                    let mut db_done = false;
                    while self.out.buf.len() < target {
                        match self.snap.next_entry(self.db, &mut self.cursor) {
                            Some(e) => {
                                write_entry(&mut self.out, &e, self.opts.list_max_listpack_size);
                                self.keys += 1;
                            }
                            None => {
                                db_done = true;
                                break;
                            }
                        }
                    }
                    self.snap.release(self.db, &self.cursor);
                    if db_done {
                        self.db += 1;
                        self.db_started = false;
                    }
                }
                Stage::Done => {}
            }
        }
        if self.out.buf.is_empty() {
            return None;
        }
        if !final_crc_done {
            self.crc = crc64(self.crc, &self.out.buf);
        }
        let chunk = std::mem::take(&mut self.out.buf);
        self.out.buf = Vec::with_capacity(target + target / 4);
        self.bytes += chunk.len() as u64;
        Some(Bytes::from(chunk))
    }
}

fn write_entry(o: &mut Out, e: &Entry<'_>, list_fill: i64) {
    if let Some(t) = e.expire_ms {
        o.buf.push(EXPIRETIME_MS);
        o.buf.extend_from_slice(&(t as i64).to_le_bytes());
    }
    o.buf.push(rdb_type(e.value));
    o.string(e.key);
    o.value(e.value, list_fill);
}

/// The whole file in one buffer.
pub fn encode_to_vec<S: Snapshot>(snap: S, opts: EncodeOptions) -> Vec<u8> {
    let mut enc = Encoder::new(snap, opts);
    let mut out = Vec::new();
    while let Some(c) = enc.next_chunk() {
        out.extend_from_slice(&c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc_string(s: &[u8], compression: bool) -> Vec<u8> {
        let mut o = Out {
            buf: Vec::new(),
            lzf: lzf::Compressor::new(),
            scratch: Vec::new(),
            compression,
        };
        o.string(s);
        o.buf
    }

    #[test]
    fn string_rules_match_redis() {
        assert_eq!(enc_string(b"64", true), vec![0xC0, 0x40]);
        assert_eq!(enc_string(b"-129", true), vec![0xC1, 0x7f, 0xff]);
        assert_eq!(
            enc_string(b"2147483647", true),
            vec![0xC2, 0xff, 0xff, 0xff, 0x7f]
        );
        assert_eq!(enc_string(b"2147483648", true)[0], 10);
        for raw in [&b"007"[..], b"-0", b"+1", b" 1", b"1.5", b""] {
            let e = enc_string(raw, true);
            assert_eq!(e[0] as usize, raw.len());
        }
        assert_eq!(enc_string(&[b'a'; 20], true)[0], 20);
        let a21 = enc_string(&[b'a'; 21], true);
        assert_eq!(&a21[..3], &[0xC3, a21.len() as u8 - 3, 21]);
        assert_eq!(enc_string(&[b'a'; 21], false)[0], 21);
    }

    #[test]
    fn score_text_is_d2string() {
        for (s, t) in [
            (1.0, "1"),
            (-3.0, "-3"),
            (0.0, "0"),
            (-0.0, "-0"),
            (2.5, "2.5"),
            (0.1, "0.10000000000000001"),
            (4503599627370496.0, "4503599627370496"),
            (1e300, "1.0000000000000001e+300"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(score_text(s), t.as_bytes(), "{s}");
        }
    }

    #[test]
    fn lengths() {
        let mut o = Out {
            buf: Vec::new(),
            lzf: lzf::Compressor::new(),
            scratch: Vec::new(),
            compression: true,
        };
        o.len(63);
        o.len(64);
        o.len(16383);
        o.len(16384);
        o.len(1 << 33);
        assert_eq!(
            o.buf,
            vec![63, 0x40, 64, 0x7f, 0xff, 0x80, 0, 0, 0x40, 0, 0x81, 0, 0, 0, 2, 0, 0, 0, 0]
        );
    }

    #[test]
    fn quicklist_cuts_by_size_and_count() {
        let items: Vec<Vec<u8>> = (0..3000)
            .map(|i| format!("item-{i}").into_bytes())
            .collect();
        let nodes = quicklist_nodes(items.iter().map(|v| v.as_slice()), -2);
        assert!(nodes.len() > 1);
        let mut all = Vec::new();
        for (c, blob) in &nodes {
            assert_eq!(*c, 2);
            assert!(blob.len() <= 8192);
            all.extend(listpack::decode(blob).unwrap());
        }
        assert_eq!(all, items);
        let nodes = quicklist_nodes(items.iter().map(|v| v.as_slice()), 128);
        assert_eq!(nodes.len(), 3000usize.div_ceil(128));
    }
}
