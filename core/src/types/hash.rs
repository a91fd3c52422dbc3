//! Hashes: `listpack` while there are at most `hash-max-listpack-entries`
//! fields and no field or value longer than `hash-max-listpack-value`
//! bytes, `hashtable` after; the conversion is one-way.
//!
//! A listpack keeps insertion order (an updated field keeps its place, a
//! deleted one closes the gap), and that is the order HGETALL answers while
//! the hash is small; a hashtable's order is unspecified.
//!
//! A small hash is packed into one buffer as a listpack is (about the same
//! bytes per entry as Redis's), and found by walking it. A large one is a
//! [`Dense`] collection (insertion order, O(1) `swap_remove`, positions for
//! HRANDFIELD and HSCAN; its index grows one small shard at a time, never
//! all at once, as Redis's dict grows incrementally) in which each field and its value share one heap allocation
//! (`[field length][field][value]`): one allocation per entry, as Redis's
//! dictEntry+sds do with two.

use super::index_table::{Dense, Keyed};
use crate::config::EncodingLimits;
use ahash::RandomState;

/// A field and its value in one allocation: `[u32 LE field length][field][value]`.
#[derive(Debug, Clone)]
struct Entry(Box<[u8]>);

impl Entry {
    fn new(field: &[u8], value: &[u8]) -> Entry {
        let mut b = Vec::with_capacity(4 + field.len() + value.len());
        b.extend_from_slice(&(field.len() as u32).to_le_bytes());
        b.extend_from_slice(field);
        b.extend_from_slice(value);
        Entry(b.into_boxed_slice())
    }
    fn flen(&self) -> usize {
        u32::from_le_bytes(self.0[..4].try_into().expect("4 bytes")) as usize
    }
    fn field(&self) -> &[u8] {
        &self.0[4..4 + self.flen()]
    }
    fn value(&self) -> &[u8] {
        &self.0[4 + self.flen()..]
    }
}

impl Keyed for Entry {
    fn key(&self) -> &[u8] {
        self.field()
    }
}

/// The seed of the hash that indexes the members of large hashes, sets and
/// sorted sets, set once per process by the first node ([`seed_members_hash`]).
static MEMBERS_HASH_SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// Seed the members' hash from a node's seed (the first call in a process
/// wins). Members are client-chosen, so the hash keys must be secret for a
/// client not to aim members at one bucket; Redis seeds its dict hash
/// function at startup for the same reason. The hash never shows in a
/// reply (iteration follows insertion or score order), only in speed.
pub(crate) fn seed_members_hash(seed: u64) {
    let _ = MEMBERS_HASH_SEED.set(seed);
}

/// Keys from a node's seed, other than the keyspace's.
fn members_hasher(seed: u64) -> RandomState {
    crate::db::hasher(seed.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15)
}

/// The hash keys for a new large collection: from the process's seed, or
/// fixed keys before any node exists (a tool that only decodes RDB files).
pub(crate) fn members_state() -> RandomState {
    match MEMBERS_HASH_SEED.get() {
        Some(&seed) => members_hasher(seed),
        None => fixed_state(),
    }
}

pub(crate) fn fixed_state() -> RandomState {
    RandomState::with_seeds(
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
        0x082e_fa98_ec4e_6c89,
    )
}

/// A map of fields to values.
#[derive(Debug, Clone)]
pub struct Hash {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    /// `listpack`: the entries packed in one buffer, in insertion order.
    Small(Packed),
    /// `hashtable`.
    Big(Box<Dense<Entry>>),
}

/// A listpack's contents: `[field length][field][value length][value]` per
/// entry, lengths as LEB128 varints (one byte under 128). Lookups walk the
/// buffer, as Redis walks a listpack; the limits keep it short.
#[derive(Debug, Clone, Default)]
struct Packed {
    buf: Vec<u8>,
    len: usize,
}

/// Append `n` as an LEB128 varint (one byte under 128).
pub(super) fn put_varint(buf: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        buf.push(n as u8 | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// Read an LEB128 varint at `*pos` and move past it.
#[inline]
pub(super) fn get_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let b = buf[*pos];
    if b < 0x80 {
        *pos += 1;
        return u64::from(b);
    }
    if let Some(&c) = buf.get(*pos + 1).filter(|&&c| c < 0x80) {
        *pos += 2;
        return u64::from(b & 0x7f) | u64::from(c) << 7;
    }
    get_long_varint(buf, pos)
}

fn get_long_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let (mut n, mut shift) = (0u64, 0);
    loop {
        let b = buf[*pos];
        *pos += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return n;
        }
        shift += 7;
    }
}

/// Append a length as a varint.
pub(super) fn put_len(buf: &mut Vec<u8>, n: usize) {
    put_varint(buf, n as u64);
}

/// Read a length written by [`put_len`].
#[inline]
pub(super) fn get_len(buf: &[u8], pos: &mut usize) -> usize {
    get_varint(buf, pos) as usize
}

/// One packed entry: where it starts, where its value's length starts, and
/// where it ends, with its field and value.
struct PackedEntry<'a> {
    start: usize,
    value_at: usize,
    end: usize,
    field: &'a [u8],
    value: &'a [u8],
}

struct PackedIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = PackedEntry<'a>;
    fn next(&mut self) -> Option<PackedEntry<'a>> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let start = self.pos;
        let flen = get_len(self.buf, &mut self.pos);
        let field = &self.buf[self.pos..self.pos + flen];
        self.pos += flen;
        let value_at = self.pos;
        let vlen = get_len(self.buf, &mut self.pos);
        let value = &self.buf[self.pos..self.pos + vlen];
        self.pos += vlen;
        Some(PackedEntry {
            start,
            value_at,
            end: self.pos,
            field,
            value,
        })
    }
}

impl Packed {
    fn entries(&self) -> PackedIter<'_> {
        PackedIter {
            buf: &self.buf,
            pos: 0,
        }
    }
    fn find(&self, field: &[u8]) -> Option<PackedEntry<'_>> {
        self.entries().find(|e| e.field == field)
    }
    fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(e) = self.find(field) {
            let (from, to) = (e.value_at, e.end);
            let mut v = Vec::with_capacity(value.len() + 5);
            put_len(&mut v, value.len());
            v.extend_from_slice(value);
            self.buf.splice(from..to, v);
            false
        } else {
            self.append(field, value);
            true
        }
    }
    /// Add an entry at the end (the field is not there).
    fn append(&mut self, field: &[u8], value: &[u8]) {
        put_len(&mut self.buf, field.len());
        self.buf.extend_from_slice(field);
        put_len(&mut self.buf, value.len());
        self.buf.extend_from_slice(value);
        self.len += 1;
    }
    fn remove(&mut self, field: &[u8]) -> bool {
        let Some((from, to)) = self.find(field).map(|e| (e.start, e.end)) else {
            return false;
        };
        self.buf.drain(from..to);
        self.len -= 1;
        true
    }
}

impl Default for Hash {
    fn default() -> Self {
        Hash {
            repr: Repr::Small(Packed::default()),
        }
    }
}

impl PartialEq for Hash {
    fn eq(&self, o: &Self) -> bool {
        self.is_compact() == o.is_compact()
            && self.len() == o.len()
            && self.iter().all(|(f, v)| o.get(f) == Some(v))
    }
}
impl Eq for Hash {}

impl Hash {
    /// An empty hash.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(p) => p.len,
            Repr::Big(m) => m.len(),
        }
    }
    /// Whether it has no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// An empty hash already in the `hashtable` encoding, with room for
    /// `n` fields (RDB load of a hash known to be past the limits).
    pub fn new_table(n: usize) -> Self {
        Hash {
            repr: Repr::Big(Box::new(Dense::with_capacity(n))),
        }
    }
    /// Add a field that is not there yet (RDB load); false, and nothing
    /// changes, if it is there.
    pub fn insert_new(&mut self, field: &[u8], value: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Small(p) => {
                if p.find(field).is_some() {
                    return false;
                }
                p.append(field, value);
                true
            }
            Repr::Big(m) => m.insert(Entry::new(field, value)),
        }
    }
    /// Set a field; true if it is new. An existing field keeps its place.
    pub fn insert(&mut self, field: Vec<u8>, value: Vec<u8>) -> bool {
        match &mut self.repr {
            Repr::Small(p) => p.insert(&field, &value),
            Repr::Big(m) => m.upsert(Entry::new(&field, &value)),
        }
    }
    /// A field's value.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Small(p) => p.find(field).map(|e| e.value),
            Repr::Big(m) => m.get(field).map(Entry::value),
        }
    }
    /// Whether a field exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }
    /// Remove a field; true if it existed. A listpack closes the gap (the
    /// order is kept); a hashtable moves its last entry into it.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Small(p) => p.remove(field),
            Repr::Big(m) => m.remove(field).is_some(),
        }
    }
    /// The field and value at a position of the iteration order (a walk
    /// from the start for a listpack).
    pub fn get_index(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Small(p) => p.entries().nth(i).map(|e| (e.field, e.value)),
            Repr::Big(m) => m.get_index(i).map(|e| (e.field(), e.value())),
        }
    }
    /// The fields and values at these positions of the iteration order
    /// (random picks, a scan step): one walk of a listpack for them all.
    pub fn entries_at(&self, positions: impl IntoIterator<Item = usize>) -> Vec<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Small(p) => {
                let all: Vec<_> = p.entries().map(|e| (e.field, e.value)).collect();
                positions.into_iter().map(|i| all[i]).collect()
            }
            Repr::Big(m) => positions
                .into_iter()
                .map(|i| {
                    let e = m.get_index(i).expect("position in range");
                    (e.field(), e.value())
                })
                .collect(),
        }
    }
    /// Fields and values, in the order Redis would list them for a listpack.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let (small, big) = match &self.repr {
            Repr::Small(p) => (Some(p.entries().map(|e| (e.field, e.value))), None),
            Repr::Big(m) => (None, Some(m.iter().map(|e| (e.field(), e.value())))),
        };
        small.into_iter().flatten().chain(big.into_iter().flatten())
    }
    /// Become a `hashtable` (one-way).
    fn convert(&mut self) {
        if let Repr::Small(p) = &self.repr {
            let mut m = Dense::with_capacity(p.len);
            for e in p.entries() {
                m.insert(Entry::new(e.field, e.value));
            }
            self.repr = Repr::Big(Box::new(m));
        }
    }
    /// Convert before a write whose arguments have these lengths, as
    /// `hashTypeTryConversion` does (even if the write then does nothing).
    pub fn convert_for_lengths(
        &mut self,
        lens: impl IntoIterator<Item = usize>,
        limits: &EncodingLimits,
    ) {
        if self.is_compact() && lens.into_iter().any(|l| l > limits.hash_max_listpack_value) {
            self.convert();
        }
    }
    /// After a command's write: switch to `hashtable` past the entry limit
    /// (`hashTypeSet` checks only the count; lengths were checked on the
    /// arguments by [`convert_for_lengths`](Self::convert_for_lengths)). A
    /// listpack keeps no spare capacity between commands.
    pub fn update_encoding_after_write(&mut self, limits: &EncodingLimits) {
        self.convert_past_entry_limit(limits);
        if let Repr::Small(p) = &mut self.repr {
            p.buf.shrink_to_fit();
        }
    }
    /// Switch to `hashtable` once past the entry limit, as `hashTypeSet`
    /// does after each field it adds (so a command adding many fields
    /// never walks a long listpack).
    pub fn convert_past_entry_limit(&mut self, limits: &EncodingLimits) {
        if self.is_compact() && self.len() > limits.hash_max_listpack_entries {
            self.convert();
        }
    }
    /// Switch to `hashtable` if the contents exceed the limits (one-way),
    /// counting entries and lengths (RDB load).
    pub fn update_encoding(&mut self, limits: &EncodingLimits) {
        if self.is_compact()
            && (self.len() > limits.hash_max_listpack_entries
                || self.iter().any(|(k, v)| {
                    k.len() > limits.hash_max_listpack_value
                        || v.len() > limits.hash_max_listpack_value
                }))
        {
            self.convert();
        } else if let Repr::Small(p) = &mut self.repr {
            p.buf.shrink_to_fit();
        }
    }
    /// Whether the hash is in its compact encoding.
    pub fn is_compact(&self) -> bool {
        matches!(self.repr, Repr::Small(_))
    }
    /// `listpack` or `hashtable`.
    pub fn encoding_name(&self) -> &'static str {
        if self.is_compact() {
            "listpack"
        } else {
            "hashtable"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_order_and_conversion() {
        let limits = EncodingLimits {
            hash_max_listpack_entries: 3,
            ..EncodingLimits::default()
        };
        let mut h = Hash::new();
        for f in ["a", "b", "c"] {
            assert!(h.insert(f.into(), b"1".to_vec()));
        }
        assert!(!h.insert(b"a".to_vec(), b"2".to_vec()));
        assert!(h.remove(b"b"));
        let order: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(order, [&b"a"[..], b"c"]);
        assert_eq!(h.get(b"a"), Some(&b"2"[..]));
        h.update_encoding(&limits);
        assert_eq!(h.encoding_name(), "listpack");
        h.insert(b"d".to_vec(), vec![]);
        h.insert(b"e".to_vec(), vec![]);
        h.update_encoding(&limits);
        assert_eq!(h.encoding_name(), "hashtable");
        h.remove(b"a");
        h.remove(b"c");
        h.update_encoding(&limits);
        assert_eq!(h.encoding_name(), "hashtable");
    }

    #[test]
    fn members_hash_is_seeded_by_the_first_node() {
        crate::node::Node::new(crate::Config::default(), 0x5eed, 0);
        let seed = *MEMBERS_HASH_SEED.get().expect("a node seeds it");
        // Later nodes leave it as it is.
        seed_members_hash(seed ^ 1);
        assert_eq!(MEMBERS_HASH_SEED.get(), Some(&seed));
        let keyed = members_hasher(seed);
        let member: &[u8] = b"member:1";
        assert_eq!(members_state().hash_one(member), keyed.hash_one(member));
        assert_ne!(
            members_state().hash_one(member),
            fixed_state().hash_one(member)
        );
    }
}
