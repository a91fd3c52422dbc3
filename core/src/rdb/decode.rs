//! The RDB reader: what redis-server 7.0.15 loads (`rdbLoadRioWithLoadingCtx`,
//! `rdbLoadObject`), fed in chunks.
//!
//! The loader is a loop over one byte: an opcode (`AUX`, `SELECTDB`,
//! `RESIZEDB`, `EXPIRETIME_MS`, `EXPIRETIME`, `IDLE`, `FREQ`, `MODULE_AUX`,
//! `FUNCTION2`, `FUNCTION`, `EOF`) or else a value type, followed by the key
//! and the value. Opcodes may come in any order; the expiry applies to the
//! next key only. After `EOF`, files of version 5 and up carry the CRC-64 of
//! everything before it (0 = not checked); bytes after that are ignored.
//!
//! Values are rebuilt as Redis rebuilds them: types 1, 10, 14, 18 become
//! lists; 2 and 11 sets; 4, 9, 13, 16 hashes; 3, 5, 12, 17 sorted sets; each
//! then takes the encoding its size calls for (`update_encoding` with the
//! configured limits), as Redis converts after loading.
//!
//! Resumable parsing: bytes are buffered and parsed one *item* at a time (an
//! opcode with its payload, a whole string/blob value, or one element of a
//! counted collection). An item that is not complete yet is rolled back and
//! retried once enough bytes have arrived (the parser says how many it
//! needs), so chunk boundaries can fall anywhere and collections of any size
//! load in linear time. Streams being skipped are one item each; once an
//! incomplete item has 64 KB buffered it is retried only after the buffer
//! doubles, so even a huge stream fed in tiny pieces parses in linear time.

#[cfg(feature = "legacy-rdb")]
use super::ziplist;
use super::{crc64, intset, listpack, lzf, opcode::*, Error};
use crate::config::EncodingLimits;
use crate::db::{Key, KeyHashers, Keyspace};
use crate::types::{Hash, List, Set, ZSet};
use crate::value::Value;
use std::borrow::Cow;

/// What to do with data Tandem does not serve (streams, module values and
/// aux data, functions). See the [module docs](super).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unsupported {
    /// Fail the load with [`Error::Unsupported`].
    #[default]
    Error,
    /// Parse, leave out, and list in [`Loaded::skipped`]. Only with the
    /// core's `rdb-skip` feature (default on); without it this acts as
    /// [`Unsupported::Error`].
    Skip,
}

impl DecodeOptions {
    /// What is done with streams, module values and functions: as asked,
    /// or always [`Unsupported::Error`] without the `rdb-skip` feature (the
    /// browser build: its files all come from its own encoder, which
    /// writes none of them, and the skipping code stays out).
    fn unsupported_mode(&self) -> Unsupported {
        if cfg!(feature = "rdb-skip") {
            self.unsupported
        } else {
            Unsupported::Error
        }
    }
}

/// How to load.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// `databases`: a SELECTDB at or beyond it is an error.
    pub databases: usize,
    /// Hash seed for the new keyspace.
    pub seed: u64,
    /// Encoding limits the loaded values are converted with.
    pub limits: EncodingLimits,
    /// Streams, modules, functions: error or skip.
    pub unsupported: Unsupported,
    /// Check the CRC-64 trailer (a stored 0 is never checked).
    pub verify_checksum: bool,
    /// Drop keys whose expiry is at or before this time (Unix ms), as a
    /// master does when it loads a file; `None` keeps them (replicas).
    pub drop_expired_before: Option<u64>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            databases: 16,
            seed: 0,
            limits: EncodingLimits::default(),
            unsupported: Unsupported::Error,
            verify_checksum: true,
            drop_expired_before: None,
        }
    }
}

impl DecodeOptions {
    /// Options from a node's configuration (`databases`, the encoding
    /// limits, `rdbchecksum`: like Redis, a node with `rdbchecksum no`
    /// does not verify the trailer either).
    pub fn from_config(cfg: &crate::config::Config, seed: u64) -> Self {
        DecodeOptions {
            databases: cfg.databases,
            seed,
            limits: cfg.encoding.clone(),
            verify_checksum: cfg.rdbchecksum,
            ..DecodeOptions::default()
        }
    }
}

/// One item left out of the load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Byte offset of the item.
    pub offset: u64,
    /// Its database.
    pub db: usize,
    /// The key (for a function, the first line of the library source; for
    /// module aux data, the module name).
    pub key: Vec<u8>,
    /// "stream", "module value", "module aux data", "function" or "empty key".
    pub kind: &'static str,
}

/// A successfully loaded file.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The data.
    pub keyspace: Keyspace,
    /// The RDB version in the header.
    pub version: u32,
    /// Every AUX field, in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// AUX `repl-id` (only when it is exactly 40 bytes, as Redis requires).
    pub repl_id: Option<String>,
    /// AUX `repl-offset`.
    pub repl_offset: Option<i64>,
    /// AUX `repl-stream-db`.
    pub repl_stream_db: Option<i64>,
    /// The stored CRC-64 (`None` below version 5, `Some(0)` = disabled).
    pub checksum: Option<u64>,
    /// Items left out (see [`Skipped`]).
    pub skipped: Vec<Skipped>,
    /// Keys loaded.
    pub keys: u64,
    /// Keys dropped because they had already expired.
    pub expired_dropped: u64,
    /// Bytes of the file (trailing junk excluded).
    pub bytes: u64,
}

/// Internal parse failure: not enough bytes yet, or a real error.
enum PErr {
    /// The item needs at least this many buffered bytes (from its start).
    More(usize),
    Bad(Error),
}

impl From<Error> for PErr {
    fn from(e: Error) -> Self {
        PErr::Bad(e)
    }
}

type PResult<T> = Result<T, PErr>;

fn corrupt(offset: u64, what: impl Into<String>) -> PErr {
    PErr::Bad(Error::Corrupt {
        offset,
        what: what.into(),
    })
}

struct Cur<'a> {
    b: &'a [u8],
    p: usize,
    base: u64,
}

impl<'a> Cur<'a> {
    fn off(&self) -> u64 {
        self.base + self.p as u64
    }

    fn take(&mut self, n: u64) -> PResult<&'a [u8]> {
        let avail = self.b.len() - self.p;
        if n > avail as u64 {
            let need = (self.p as u64).saturating_add(n);
            return Err(PErr::More(usize::try_from(need).unwrap_or(usize::MAX)));
        }
        let s = &self.b[self.p..self.p + n as usize];
        self.p += n as usize;
        Ok(s)
    }

    fn u8(&mut self) -> PResult<u8> {
        Ok(self.take(1)?[0])
    }

    fn arr<const N: usize>(&mut self) -> PResult<[u8; N]> {
        let s = self.take(N as u64)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A length, or (true, encoding id) for the `11xxxxxx` form.
    fn len_or_enc(&mut self) -> PResult<(u64, bool)> {
        let at = self.off();
        let b0 = self.u8()?;
        Ok(match b0 >> 6 {
            0 => ((b0 & 0x3f) as u64, false),
            1 => ((((b0 & 0x3f) as u64) << 8) | self.u8()? as u64, false),
            3 => ((b0 & 0x3f) as u64, true),
            _ => match b0 {
                0x80 => (u32::from_be_bytes(self.arr()?) as u64, false),
                0x81 => (u64::from_be_bytes(self.arr()?), false),
                _ => return Err(corrupt(at, format!("unknown length encoding {b0:#04x}"))),
            },
        })
    }

    fn len(&mut self) -> PResult<u64> {
        let at = self.off();
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            (_, true) => Err(corrupt(at, "encoded value where a length was expected")),
        }
    }

    fn string(&mut self) -> PResult<Vec<u8>> {
        self.blob().map(Cow::into_owned)
    }

    /// A string, borrowed from the input when it is stored raw (blobs that
    /// are decoded further, such as listpacks, need no copy).
    fn blob(&mut self) -> PResult<Cow<'a, [u8]>> {
        let at = self.off();
        let (n, enc) = self.len_or_enc()?;
        if !enc {
            return Ok(Cow::Borrowed(self.take(n)?));
        }
        Ok(Cow::Owned(match n {
            0 => crate::util::i64_to_bytes(self.u8()? as i8 as i64),
            1 => crate::util::i64_to_bytes(i16::from_le_bytes(self.arr()?) as i64),
            2 => crate::util::i64_to_bytes(i32::from_le_bytes(self.arr()?) as i64),
            3 => {
                let clen = self.len()?;
                let ulen = self.len()?;
                let data = self.take(clen)?;
                let ulen = usize::try_from(ulen)
                    .map_err(|_| corrupt(at, "LZF length does not fit in memory"))?;
                lzf::decompress(data, ulen).map_err(|e| corrupt(at, e))?
            }
            e => return Err(corrupt(at, format!("unknown string encoding {e}"))),
        }))
    }

    /// A string-encoded double (type 3 scores).
    #[cfg(feature = "legacy-rdb")]
    fn string_double(&mut self) -> PResult<f64> {
        let at = self.off();
        let n = self.u8()?;
        match n {
            253 => Err(corrupt(at, "NaN score")),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let s = self.take(n as u64)?;
                parse_score(s).ok_or_else(|| corrupt(at, "bad string-encoded double"))
            }
        }
    }
}

/// A score as `strtod` reads it from a listpack or ziplist entry: the whole
/// entry a decimal number or `inf`/`infinity` (any case, optional sign);
/// NaN refused.
fn parse_score(s: &[u8]) -> Option<f64> {
    let (neg, word) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if word.eq_ignore_ascii_case(b"inf") || word.eq_ignore_ascii_case(b"infinity") {
        return Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    crate::float::parse_double(s)
}

/// A value as decoded, before it is given its final encoding and shared
/// (collections go behind an `Arc` only once complete); a counted
/// collection is built in one element by element.
enum Partial {
    Str(Vec<u8>),
    List(List),
    Set(Set),
    Hash(Hash),
    ZSet(ZSet),
}

impl Partial {
    /// The value with the encoding its contents call for under `limits`,
    /// or `None` if it is empty (Redis refuses to load empty keys).
    fn finish(self, limits: &EncodingLimits) -> Option<Value> {
        Some(match self {
            Partial::Str(s) => Value::string(s),
            Partial::List(l) if l.is_empty() => return None,
            Partial::List(l) => l.into(),
            Partial::Set(s) if s.is_empty() => return None,
            Partial::Set(mut s) => {
                s.update_encoding(limits);
                s.into()
            }
            Partial::Hash(h) if h.is_empty() => return None,
            Partial::Hash(mut h) => {
                h.update_encoding(limits);
                h.into()
            }
            Partial::ZSet(z) if z.is_empty() => return None,
            Partial::ZSet(mut z) => {
                z.update_encoding(limits);
                z.into()
            }
        })
    }
}

struct Coll {
    off: u64,
    ty: u8,
    key: Vec<u8>,
    expire: Option<u64>,
    remaining: u64,
    value: Partial,
}

enum State {
    Magic,
    Top,
    Coll(Box<Coll>),
    Trailer,
    Done,
}

/// A top-level item, parsed and owned, to apply after its bytes are consumed.
enum Item {
    Aux(Vec<u8>, Vec<u8>),
    SelectDb(u64, u64),
    Expire(u64),
    Resize(u64, u64),
    Nothing,
    Skip(Skipped),
    Eof,
    Value(u64, Vec<u8>, Option<Partial>),
    Begin(Box<Coll>),
}

enum Elem<'a> {
    One(Vec<u8>),
    /// A quicklist 1 node's ziplist entries.
    #[cfg(feature = "legacy-rdb")]
    Many(Vec<Vec<u8>>),
    /// A quicklist node's listpack, decoded straight into the list.
    Listpack(Cow<'a, [u8]>),
    Pair(Vec<u8>, Vec<u8>),
    Scored(Vec<u8>, f64),
}

/// An incremental RDB decoder: [`feed`](Self::feed) it bytes, then
/// [`finish`](Self::finish).
///
/// ```
/// use tandem_core::rdb;
/// let file = rdb::encode_to_vec(&tandem_core::db::Keyspace::new(16, 0), Default::default());
/// let mut dec = rdb::Decoder::new(rdb::DecodeOptions::default());
/// for piece in file.chunks(3) {
///     dec.feed(piece).unwrap();
/// }
/// let loaded = dec.finish().unwrap();
/// assert_eq!(loaded.version, 10);
/// ```
pub struct Decoder {
    opts: DecodeOptions,
    buf: Vec<u8>,
    start: usize,
    consumed: u64,
    need: usize,
    crc: u64,
    state: State,
    failed: Option<Error>,
    version: u32,
    db: usize,
    expire: Option<u64>,
    /// Where decoded keys go: straight into a keyspace, or queued for a
    /// [`KeyspaceBuilder`] elsewhere.
    sink: Sink,
    /// The keyspace's hash functions: keys are hashed while they are hot.
    hashers: KeyHashers,
    /// How far into `buf` the CRC has been computed (it is computed over
    /// long runs of consumed bytes, not item by item).
    crc_pos: usize,
    aux: Vec<(Vec<u8>, Vec<u8>)>,
    repl_id: Option<String>,
    repl_offset: Option<i64>,
    repl_stream_db: Option<i64>,
    checksum: Option<u64>,
    skipped: Vec<Skipped>,
    keys: u64,
    expired_dropped: u64,
    attempts: u64,
}

/// Buffered bytes from which an incomplete item waits for the buffer to
/// double before it is parsed again.
const RETRY_DOUBLING_FROM: usize = 64 * 1024;

impl Decoder {
    /// A decoder that builds a fresh keyspace.
    pub fn new(opts: DecodeOptions) -> Self {
        let builder = KeyspaceBuilder::new(&opts);
        Self::with_sink(opts, Sink::Build(builder))
    }

    /// The builder that applies this decoder's [`take_steps`](Self::take_steps)
    /// (the keyspace its options call for).
    pub fn keyspace_builder(&self) -> KeyspaceBuilder {
        KeyspaceBuilder::new(&self.opts)
    }

    /// A decoder that only parses: the keys it decodes wait in
    /// [`take_steps`](Self::take_steps) for a [`KeyspaceBuilder`] (on
    /// another thread, say). After the last [`feed`](Self::feed), call
    /// [`end_of_input`](Self::end_of_input) and take the last steps; then
    /// [`finish`](Self::finish) gives a [`Loaded`] with an empty keyspace
    /// that [`KeyspaceBuilder::complete`] fills.
    pub fn without_keyspace(opts: DecodeOptions) -> Self {
        Self::with_sink(opts, Sink::Queue(Vec::new()))
    }

    fn with_sink(opts: DecodeOptions, sink: Sink) -> Self {
        Decoder {
            hashers: KeyHashers::new(opts.databases, opts.seed),
            opts,
            buf: Vec::new(),
            start: 0,
            consumed: 0,
            need: 0,
            crc: 0,
            state: State::Magic,
            failed: None,
            version: 0,
            db: 0,
            expire: None,
            sink,
            crc_pos: 0,
            aux: Vec::new(),
            repl_id: None,
            repl_offset: None,
            repl_stream_db: None,
            checksum: None,
            skipped: Vec::new(),
            keys: 0,
            expired_dropped: 0,
            attempts: 0,
        }
    }

    /// Bytes consumed so far (the offset parsing has reached).
    pub fn offset(&self) -> u64 {
        self.consumed
    }

    /// Keys loaded so far.
    pub fn keys_loaded(&self) -> u64 {
        self.keys
    }

    /// Whether the end of the file (and its checksum) has been read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Give the decoder more bytes. Errors are sticky: once it failed,
    /// every later call returns the same error.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.is_done() {
            return Ok(());
        }
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.flush_crc();
            self.buf.drain(..self.start);
            self.start = 0;
            self.crc_pos = 0;
        }
        self.buf.extend_from_slice(data);
        self.run()
    }

    /// Parse as far as the buffered bytes allow.
    fn run(&mut self) -> Result<(), Error> {
        while !self.is_done() && self.buf.len() - self.start >= self.need {
            self.attempts += 1;
            match self.step() {
                Ok(()) => self.need = 0,
                Err(PErr::More(n)) => {
                    // A big item that is still incomplete (a stream being
                    // skipped) is retried only once the buffer has doubled,
                    // so re-parsing it costs linear time overall.
                    let avail = self.buf.len() - self.start;
                    self.need = if avail >= RETRY_DOUBLING_FROM {
                        n.max(avail.saturating_mul(2))
                    } else {
                        n
                    };
                    break;
                }
                Err(PErr::Bad(e)) => {
                    self.failed = Some(e.clone());
                    self.buf = Vec::new();
                    return Err(e);
                }
            }
        }
        if self.is_done() {
            self.buf = Vec::new();
            self.start = 0;
        }
        Ok(())
    }

    /// How many times an item parse was attempted (for tests of the
    /// retry policy).
    #[doc(hidden)]
    pub fn parse_attempts(&self) -> u64 {
        self.attempts
    }

    /// No more bytes will come: parse whatever the retry policy was still
    /// waiting for. [`finish`](Self::finish) does it too; a decoder made
    /// with [`without_keyspace`](Self::without_keyspace) calls it, then
    /// [`take_steps`](Self::take_steps) once more, before finishing.
    pub fn end_of_input(&mut self) -> Result<(), Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if !self.is_done() {
            self.need = 0;
            self.run()?;
        }
        Ok(())
    }

    /// End of input: the loaded data, or why the file is not complete.
    pub fn finish(mut self) -> Result<Loaded, Error> {
        self.end_of_input()?;
        if !self.is_done() {
            return Err(Error::Truncated {
                offset: self.consumed + (self.buf.len() - self.start) as u64,
            });
        }
        let keyspace = match self.sink {
            Sink::Build(b) => b.ks,
            Sink::Queue(_) => Keyspace::new(self.opts.databases, self.opts.seed),
        };
        Ok(Loaded {
            keyspace,
            version: self.version,
            aux: self.aux,
            repl_id: self.repl_id,
            repl_offset: self.repl_offset,
            repl_stream_db: self.repl_stream_db,
            checksum: self.checksum,
            skipped: self.skipped,
            keys: self.keys,
            expired_dropped: self.expired_dropped,
            bytes: self.consumed,
        })
    }

    fn commit(&mut self, n: usize) {
        self.start += n;
        self.consumed += n as u64;
    }

    /// Bring the CRC up to the bytes consumed so far (everything before
    /// the trailer: once `EOF` is read the CRC is complete).
    fn flush_crc(&mut self) {
        if matches!(self.state, State::Trailer | State::Done) {
            return;
        }
        self.crc = crc64(self.crc, &self.buf[self.crc_pos..self.start]);
        self.crc_pos = self.start;
    }

    /// The decoded keys (and table size hints) since the last call, in file
    /// order, for a [`KeyspaceBuilder`]; always empty for a decoder made
    /// with [`new`](Self::new), which inserts them itself.
    pub fn take_steps(&mut self) -> Vec<LoadStep> {
        match &mut self.sink {
            // The next batch is likely as big: no regrowing from empty.
            Sink::Queue(q) => std::mem::replace(q, Vec::with_capacity(q.len())),
            Sink::Build(_) => Vec::new(),
        }
    }

    /// Hand one decoded step to the sink.
    fn emit(&mut self, step: LoadStep) -> PResult<()> {
        match &mut self.sink {
            Sink::Queue(q) => q.push(step),
            Sink::Build(b) => b.apply(step)?,
        }
        Ok(())
    }

    fn step(&mut self) -> PResult<()> {
        let mut c = Cur {
            b: &self.buf[self.start..],
            p: 0,
            base: self.consumed,
        };
        match &self.state {
            State::Magic => {
                let m = c.take(9)?;
                if &m[..5] != b"REDIS" || !m[5..].iter().all(|d| d.is_ascii_digit()) {
                    return Err(PErr::Bad(Error::BadMagic { offset: 0 }));
                }
                let v = m[5..].iter().fold(0u32, |a, d| a * 10 + (d - b'0') as u32);
                if !(1..=super::RDB_VERSION).contains(&v) {
                    return Err(PErr::Bad(Error::UnsupportedVersion {
                        offset: 5,
                        version: v,
                    }));
                }
                let n = c.p;
                self.version = v;
                self.commit(n);
                self.state = State::Top;
                Ok(())
            }
            State::Trailer => {
                let at = c.off();
                let stored = u64::from_le_bytes(c.arr()?);
                let n = c.p;
                self.commit(n);
                self.checksum = Some(stored);
                if self.opts.verify_checksum && stored != 0 && stored != self.crc {
                    return Err(PErr::Bad(Error::BadChecksum {
                        offset: at,
                        stored,
                        computed: self.crc,
                    }));
                }
                self.state = State::Done;
                Ok(())
            }
            State::Done => Ok(()),
            State::Top => {
                let item = parse_top(&mut c, self.db, &self.opts)?;
                let n = c.p;
                self.commit(n);
                self.apply(item)
            }
            State::Coll(coll) => {
                let elem = parse_elem(&mut c, coll.ty)?;
                let at = c.base;
                let n = c.p;
                let State::Coll(coll) = &mut self.state else {
                    unreachable!("state checked above")
                };
                // The element may borrow the input: add it, then consume it.
                add_elem(coll, elem, at)?;
                self.commit(n);
                let State::Coll(coll) = &mut self.state else {
                    unreachable!("state checked above")
                };
                coll.remaining -= 1;
                if coll.remaining == 0 {
                    let State::Coll(coll) = std::mem::replace(&mut self.state, State::Top) else {
                        unreachable!("state checked above")
                    };
                    let coll = *coll;
                    self.insert(coll.off, coll.key, coll.expire, coll.value)?;
                }
                Ok(())
            }
        }
    }

    fn apply(&mut self, item: Item) -> PResult<()> {
        match item {
            Item::Nothing => {}
            Item::Expire(t) => self.expire = Some(t),
            Item::Resize(keys, expires) => self.emit(LoadStep(Step::Reserve {
                db: self.db,
                keys,
                expires,
            }))?,
            Item::Aux(k, v) => {
                match k.as_slice() {
                    b"repl-id" if v.len() == 40 => {
                        self.repl_id = Some(String::from_utf8_lossy(&v).into_owned())
                    }
                    b"repl-offset" => {
                        self.repl_offset = std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok())
                    }
                    b"repl-stream-db" => {
                        self.repl_stream_db =
                            std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok())
                    }
                    _ => {}
                }
                self.aux.push((k, v));
            }
            Item::SelectDb(db, at) => {
                if db >= self.opts.databases as u64 {
                    return Err(PErr::Bad(Error::DbOutOfRange {
                        offset: at,
                        db,
                        databases: self.opts.databases,
                    }));
                }
                self.db = db as usize;
            }
            Item::Skip(s) => {
                self.expire = None;
                self.skipped.push(s);
            }
            Item::Eof => {
                self.flush_crc();
                self.state = if self.version >= 5 {
                    State::Trailer
                } else {
                    State::Done
                };
            }
            Item::Value(off, key, value) => {
                let expire = self.expire.take();
                match value {
                    Some(v) => self.insert(off, key, expire, v)?,
                    None => self.skipped.push(Skipped {
                        offset: off,
                        db: self.db,
                        key,
                        kind: "empty key",
                    }),
                }
            }
            Item::Begin(mut coll) => {
                // A duplicate key is found when the collection is inserted
                // (with the offset of its start).
                coll.expire = self.expire.take();
                if coll.remaining == 0 {
                    self.skipped.push(Skipped {
                        offset: coll.off,
                        db: self.db,
                        key: coll.key,
                        kind: "empty key",
                    });
                } else {
                    self.state = State::Coll(coll);
                }
            }
        }
        Ok(())
    }

    fn insert(&mut self, off: u64, key: Vec<u8>, expire: Option<u64>, v: Partial) -> PResult<()> {
        let db = self.db;
        let Some(v) = v.finish(&self.opts.limits) else {
            self.skipped.push(Skipped {
                offset: off,
                db,
                key,
                kind: "empty key",
            });
            return Ok(());
        };
        if let (Some(t), Some(now)) = (expire, self.opts.drop_expired_before) {
            if t <= now {
                self.expired_dropped += 1;
                return Ok(());
            }
        }
        let hash = self.hashers.hash(db, &key);
        self.emit(LoadStep(Step::Key {
            offset: off,
            db,
            hash,
            key: key.into_boxed_slice(),
            value: v,
            expire,
        }))?;
        self.keys += 1;
        Ok(())
    }
}

/// Where a decoder's keys go.
enum Sink {
    Build(KeyspaceBuilder),
    Queue(Vec<LoadStep>),
}

/// One thing a decoded file does to the keyspace being built, in file
/// order: made by a [`Decoder`], applied by its
/// [`keyspace_builder`](Decoder::keyspace_builder).
#[derive(Debug)]
pub struct LoadStep(Step);

#[derive(Debug)]
enum Step {
    /// `RESIZEDB`: room for this many keys (a hint).
    Reserve { db: usize, keys: u64, expires: u64 },
    /// A key with its value (already in its final encoding), its hash in
    /// its database, and the offset of its item (for a duplicate-key error).
    Key {
        offset: u64,
        db: usize,
        hash: u64,
        key: Key,
        value: Value,
        expire: Option<u64>,
    },
}

/// The half of loading that fills the keyspace: it applies a decoder's
/// [`LoadStep`]s. A [`Decoder::new`] owns one; a driver with a thread to
/// spare runs one ([`Decoder::keyspace_builder`]) beside a
/// [`Decoder::without_keyspace`], so parsing and inserting overlap.
pub struct KeyspaceBuilder {
    ks: Keyspace,
}

impl KeyspaceBuilder {
    /// A builder of a fresh keyspace for a file decoded with `opts`.
    fn new(opts: &DecodeOptions) -> Self {
        KeyspaceBuilder {
            ks: Keyspace::new(opts.databases, opts.seed),
        }
    }

    /// Apply one step. A key already present is [`Error::DuplicateKey`],
    /// as redis-server refuses it.
    pub fn apply(&mut self, step: LoadStep) -> Result<(), Error> {
        match step.0 {
            Step::Reserve { db, keys, expires } => {
                // A hint, never trusted beyond a bound: a lying file costs at
                // most the room for RESIZE_TRUST keys.
                const RESIZE_TRUST: u64 = 1 << 20;
                let d = self.ks.db_mut(db);
                if d.is_empty() {
                    d.reserve(
                        keys.min(RESIZE_TRUST) as usize,
                        expires.min(keys).min(RESIZE_TRUST) as usize,
                    );
                }
                Ok(())
            }
            Step::Key {
                offset,
                db,
                hash,
                key,
                value,
                expire,
            } => self
                .ks
                .db_mut(db)
                .insert_new_hashed(hash, key, value, expire)
                .map_err(|key| Error::DuplicateKey {
                    offset,
                    db,
                    key: key.into_vec(),
                }),
        }
    }

    /// Put the built keyspace into what a [`Decoder::without_keyspace`]
    /// finished with.
    pub fn complete(self, loaded: &mut Loaded) {
        loaded.keyspace = self.ks;
    }
}

fn parse_top(c: &mut Cur<'_>, db: usize, opts: &DecodeOptions) -> PResult<Item> {
    let unsup = opts.unsupported_mode();
    let at = c.off();
    let op = c.u8()?;
    match op {
        EOF => Ok(Item::Eof),
        SELECTDB => Ok(Item::SelectDb(c.len()?, at)),
        RESIZEDB => Ok(Item::Resize(c.len()?, c.len()?)),
        EXPIRETIME_MS => {
            let t = i64::from_le_bytes(c.arr()?);
            Ok(Item::Expire(t.max(0) as u64))
        }
        EXPIRETIME => {
            let t = i32::from_le_bytes(c.arr()?);
            Ok(Item::Expire((t.max(0) as u64) * 1000))
        }
        IDLE => {
            c.len()?;
            Ok(Item::Nothing)
        }
        FREQ => {
            c.u8()?;
            Ok(Item::Nothing)
        }
        AUX => {
            let k = c.string()?;
            let v = c.string()?;
            Ok(Item::Aux(k, v))
        }
        MODULE_AUX => {
            let id = c.len()?;
            let name = module_name(id).into_bytes();
            if unsup == Unsupported::Error {
                return Err(PErr::Bad(Error::Unsupported {
                    offset: at,
                    db,
                    key: name,
                    kind: "module aux data",
                }));
            }
            let when_op = c.len()?;
            if when_op != 2 {
                return Err(corrupt(at, "module aux data without its 'when' opcode"));
            }
            c.len()?;
            skip_module_payload(c)?;
            Ok(Item::Skip(Skipped {
                offset: at,
                db,
                key: name,
                kind: "module aux data",
            }))
        }
        FUNCTION2 | FUNCTION => {
            let src = if op == FUNCTION2 {
                c.string()?
            } else {
                let name = c.string()?;
                let _engine = c.string()?;
                if c.len()? != 0 {
                    c.string()?;
                }
                c.string()?;
                name
            };
            let first_line: Vec<u8> = src.split(|&b| b == b'\n').next().unwrap_or(&[]).to_vec();
            if unsup == Unsupported::Error {
                return Err(PErr::Bad(Error::Unsupported {
                    offset: at,
                    db,
                    key: first_line,
                    kind: "function",
                }));
            }
            Ok(Item::Skip(Skipped {
                offset: at,
                db,
                key: first_line,
                kind: "function",
            }))
        }
        ty => {
            if ty == 8 || ty >= 20 {
                return Err(PErr::Bad(Error::UnknownType {
                    offset: at,
                    type_byte: ty,
                }));
            }
            let key = c.string()?;
            parse_value(c, at, ty, key, db, opts)
        }
    }
}

fn module_name(id: u64) -> String {
    const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut v = id >> 10;
    let mut name = [0u8; 9];
    for slot in name.iter_mut().rev() {
        *slot = CHARSET[(v & 63) as usize];
        v >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

fn skip_module_payload(c: &mut Cur<'_>) -> PResult<()> {
    loop {
        let at = c.off();
        match c.len()? {
            0 => return Ok(()),
            1 | 2 => {
                c.len()?;
            }
            3 => {
                c.take(4)?;
            }
            4 => {
                c.take(8)?;
            }
            5 => {
                c.string()?;
            }
            op => return Err(corrupt(at, format!("unknown module opcode {op}"))),
        }
    }
}

fn skip_stream(c: &mut Cur<'_>, ty: u8) -> PResult<()> {
    let nodes = c.len()?;
    for _ in 0..nodes {
        let at = c.off();
        let k = c.string()?;
        if k.len() != 16 {
            return Err(corrupt(at, "stream node key is not 16 bytes"));
        }
        let at = c.off();
        let lp = c.string()?;
        let n = listpack::decode_each(&lp, |_| {}).map_err(|e| corrupt(at, e))?;
        if n == 0 {
            return Err(corrupt(at, "empty stream listpack"));
        }
    }
    let metadata = if ty == TYPE_STREAM_LISTPACKS_2 { 8 } else { 3 };
    for _ in 0..metadata {
        c.len()?;
    }
    let groups = c.len()?;
    for _ in 0..groups {
        c.string()?;
        c.len()?;
        c.len()?;
        if ty == TYPE_STREAM_LISTPACKS_2 {
            c.len()?;
        }
        let pel = c.len()?;
        for _ in 0..pel {
            c.take(16 + 8)?;
            c.len()?;
        }
        let consumers = c.len()?;
        for _ in 0..consumers {
            c.string()?;
            c.take(8)?;
            let pel = c.len()?;
            for _ in 0..pel {
                c.take(16)?;
            }
        }
    }
    Ok(())
}

fn blob_err(at: u64, what: &str) -> impl Fn(String) -> PErr + '_ {
    move |e| corrupt(at, format!("{what}: {e}"))
}

fn parse_value(
    c: &mut Cur<'_>,
    at: u64,
    ty: u8,
    key: Vec<u8>,
    db: usize,
    opts: &DecodeOptions,
) -> PResult<Item> {
    let unsup = opts.unsupported_mode();
    let limits = &opts.limits;
    #[cfg(not(feature = "legacy-rdb"))]
    if let Some(encoding) = super::legacy_encoding(ty) {
        return Err(PErr::Bad(Error::LegacyEncoding {
            offset: at,
            type_byte: ty,
            encoding,
        }));
    }
    let unsupported = |kind: &'static str, key: Vec<u8>| -> PResult<Item> {
        Err(PErr::Bad(Error::Unsupported {
            offset: at,
            db,
            key,
            kind,
        }))
    };
    match ty {
        TYPE_STRING => {
            let v = c.string()?;
            Ok(Item::Value(at, key, Some(Partial::Str(v))))
        }
        TYPE_LIST
        | TYPE_SET
        | TYPE_ZSET
        | TYPE_HASH
        | TYPE_ZSET_2
        | TYPE_LIST_QUICKLIST
        | TYPE_LIST_QUICKLIST_2 => {
            let count = c.len()?;
            // Like Redis, a collection declared past the compact limits
            // starts in its indexed encoding (no quadratic compact inserts).
            let value = match ty {
                TYPE_LIST | TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
                    Partial::List(List::new())
                }
                TYPE_SET if count > limits.set_max_intset_entries as u64 => {
                    Partial::Set(Set::new_table())
                }
                TYPE_SET => Partial::Set(Set::new()),
                TYPE_HASH if count > limits.hash_max_listpack_entries as u64 => {
                    // Room for what the declared count promises, within reason.
                    Partial::Hash(Hash::new_table(count.min(1 << 16) as usize))
                }
                TYPE_HASH => Partial::Hash(Hash::new()),
                _ if count > limits.zset_max_listpack_entries as u64 => {
                    Partial::ZSet(ZSet::new_big())
                }
                _ => Partial::ZSet(ZSet::new()),
            };
            Ok(Item::Begin(Box::new(Coll {
                off: at,
                ty,
                key,
                expire: None,
                remaining: count,
                value,
            })))
        }
        TYPE_SET_INTSET => {
            let bat = c.off();
            let blob = c.blob()?;
            let members = intset::decode(&blob).map_err(blob_err(bat, "intset"))?;
            let s = Set::from_sorted_ints(&members)
                .ok_or_else(|| corrupt(bat, "intset members out of order"))?;
            Ok(Item::Value(at, key, Some(Partial::Set(s))))
        }
        TYPE_HASH_LISTPACK => {
            let bat = c.off();
            let blob = c.blob()?;
            let h = hash_from_listpack(&blob, limits).map_err(blob_err(bat, "hash listpack"))?;
            Ok(Item::Value(at, key, Some(Partial::Hash(h))))
        }
        #[cfg(feature = "legacy-rdb")]
        TYPE_HASH_ZIPLIST | TYPE_HASH_ZIPMAP => {
            let bat = c.off();
            let blob = c.blob()?;
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = if ty == TYPE_HASH_ZIPMAP {
                ziplist::decode_zipmap(&blob).map_err(blob_err(bat, "zipmap"))?
            } else {
                let entries =
                    ziplist::decode_ziplist(&blob).map_err(blob_err(bat, "hash ziplist"))?;
                pairs_of(entries)
                    .ok_or_else(|| corrupt(bat, "hash with an odd number of entries"))?
            };
            // Past the entry limit it starts as a hashtable (no quadratic
            // compact inserts).
            let mut h = if pairs.len() > limits.hash_max_listpack_entries {
                Hash::new_table(pairs.len())
            } else {
                Hash::new()
            };
            for (f, v) in pairs {
                if !h.insert(f, v) {
                    return Err(corrupt(bat, "hash with duplicate fields"));
                }
            }
            Ok(Item::Value(at, key, Some(Partial::Hash(h))))
        }
        TYPE_ZSET_LISTPACK => {
            let bat = c.off();
            let blob = c.blob()?;
            let z = zset_from_listpack(&blob, limits).map_err(blob_err(bat, "zset listpack"))?;
            Ok(Item::Value(at, key, Some(Partial::ZSet(z))))
        }
        #[cfg(feature = "legacy-rdb")]
        TYPE_ZSET_ZIPLIST => {
            let bat = c.off();
            let blob = c.blob()?;
            let entries = ziplist::decode_ziplist(&blob).map_err(blob_err(bat, "zset ziplist"))?;
            let pairs = pairs_of(entries)
                .ok_or_else(|| corrupt(bat, "zset with an odd number of entries"))?;
            let mut z = if pairs.len() > limits.zset_max_listpack_entries {
                ZSet::new_big()
            } else {
                ZSet::new()
            };
            for (m, s) in pairs {
                let score = parse_score(&s).ok_or_else(|| corrupt(bat, "zset with a bad score"))?;
                if !z.insert(m, score) {
                    return Err(corrupt(bat, "zset with duplicate members"));
                }
            }
            Ok(Item::Value(at, key, Some(Partial::ZSet(z))))
        }
        #[cfg(feature = "legacy-rdb")]
        TYPE_LIST_ZIPLIST => {
            let bat = c.off();
            let blob = c.blob()?;
            let entries = ziplist::decode_ziplist(&blob).map_err(blob_err(bat, "list ziplist"))?;
            let mut l = List::new();
            for e in entries {
                l.push_back(e);
            }
            Ok(Item::Value(at, key, Some(Partial::List(l))))
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => {
            if unsup == Unsupported::Error {
                return unsupported("stream", key);
            }
            skip_stream(c, ty)?;
            Ok(Item::Skip(Skipped {
                offset: at,
                db,
                key,
                kind: "stream",
            }))
        }
        TYPE_MODULE_2 => {
            if unsup == Unsupported::Error {
                return unsupported("module value", key);
            }
            c.len()?;
            skip_module_payload(c)?;
            Ok(Item::Skip(Skipped {
                offset: at,
                db,
                key,
                kind: "module value",
            }))
        }
        TYPE_MODULE => unsupported("module value", key),
        _ => Err(PErr::Bad(Error::UnknownType {
            offset: at,
            type_byte: ty,
        })),
    }
}

/// A hash from a listpack of field, value, field, value... One declared
/// past the entry limit starts as a hashtable (no quadratic compact inserts).
fn hash_from_listpack(blob: &[u8], limits: &EncodingLimits) -> Result<Hash, String> {
    let fields = listpack::count_hint(blob) / 2;
    let mut h = if fields > limits.hash_max_listpack_entries {
        Hash::new_table(fields)
    } else {
        Hash::new()
    };
    let mut field: Vec<u8> = Vec::new();
    let mut have_field = false;
    let mut duplicate = false;
    listpack::decode_each(blob, |e| {
        if have_field {
            duplicate |= !h.insert_new(&field, e);
        } else {
            field.clear();
            field.extend_from_slice(e);
        }
        have_field = !have_field;
    })?;
    if have_field {
        return Err("hash with an odd number of entries".into());
    }
    if duplicate {
        return Err("hash with duplicate fields".into());
    }
    Ok(h)
}

/// A sorted set from a listpack of member, score, member, score...
fn zset_from_listpack(blob: &[u8], limits: &EncodingLimits) -> Result<ZSet, String> {
    let mut z = if listpack::count_hint(blob) / 2 > limits.zset_max_listpack_entries {
        ZSet::new_big()
    } else {
        ZSet::new()
    };
    let mut member: Option<Vec<u8>> = None;
    let mut problem = None;
    listpack::decode_each(blob, |e| match member.take() {
        None => member = Some(e.to_vec()),
        Some(m) => match parse_score(e) {
            None => {
                problem.get_or_insert("zset with a bad score");
            }
            Some(score) => {
                if !z.insert(m, score) {
                    problem.get_or_insert("zset with duplicate members");
                }
            }
        },
    })?;
    if member.is_some() {
        return Err("zset with an odd number of entries".into());
    }
    match problem {
        Some(p) => Err(p.into()),
        None => Ok(z),
    }
}

#[cfg(feature = "legacy-rdb")]
fn pairs_of(entries: Vec<Vec<u8>>) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if entries.len() & 1 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(entries.len() / 2);
    let mut it = entries.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Some(out)
}

fn parse_elem<'a>(c: &mut Cur<'a>, ty: u8) -> PResult<Elem<'a>> {
    Ok(match ty {
        TYPE_LIST | TYPE_SET => Elem::One(c.string()?),
        TYPE_HASH => {
            let f = c.string()?;
            Elem::Pair(f, c.string()?)
        }
        #[cfg(feature = "legacy-rdb")]
        TYPE_ZSET => {
            let m = c.string()?;
            Elem::Scored(m, c.string_double()?)
        }
        TYPE_ZSET_2 => {
            let m = c.string()?;
            let at = c.off();
            let s = f64::from_le_bytes(c.arr()?);
            if s.is_nan() {
                return Err(corrupt(at, "NaN score"));
            }
            Elem::Scored(m, s)
        }
        #[cfg(feature = "legacy-rdb")]
        TYPE_LIST_QUICKLIST => {
            let at = c.off();
            let blob = c.string()?;
            Elem::Many(
                ziplist::decode_ziplist(&blob).map_err(blob_err(at, "quicklist ziplist node"))?,
            )
        }
        TYPE_LIST_QUICKLIST_2 => {
            let at = c.off();
            let container = c.len()?;
            let blob = c.blob()?;
            match container {
                1 => Elem::One(blob.into_owned()),
                2 => Elem::Listpack(blob),
                other => return Err(corrupt(at, format!("quicklist container {other}"))),
            }
        }
        _ => unreachable!("only counted collection types reach parse_elem"),
    })
}

fn add_elem(coll: &mut Coll, elem: Elem<'_>, at: u64) -> PResult<()> {
    match (&mut coll.value, elem) {
        (Partial::List(l), Elem::One(e)) => l.push_back(e),
        #[cfg(feature = "legacy-rdb")]
        (Partial::List(l), Elem::Many(es)) => {
            for e in es {
                l.push_back(e);
            }
        }
        (Partial::List(l), Elem::Listpack(blob)) => {
            l.reserve(listpack::count_hint(&blob));
            listpack::decode_each(&blob, |e| l.push_back(e.to_vec()))
                .map_err(blob_err(at, "quicklist listpack node"))?;
        }
        (Partial::Set(s), Elem::One(m)) => {
            if !s.insert(m) {
                return Err(corrupt(at, "duplicate set member"));
            }
        }
        (Partial::Hash(h), Elem::Pair(f, v)) => {
            if !h.insert(f, v) {
                return Err(corrupt(at, "duplicate hash field"));
            }
        }
        (Partial::ZSet(z), Elem::Scored(m, s)) => {
            if !z.insert(m, s) {
                return Err(corrupt(at, "duplicate zset member"));
            }
        }
        _ => unreachable!("element kinds follow the collection type"),
    }
    Ok(())
}

/// Decode a whole file held in memory.
pub fn decode(file: &[u8], opts: &DecodeOptions) -> Result<Loaded, Error> {
    let mut d = Decoder::new(opts.clone());
    d.feed(file)?;
    d.finish()
}
