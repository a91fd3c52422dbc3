//! Hashes: `listpack` while there are at most `hash-max-listpack-entries`
//! fields and no field or value longer than `hash-max-listpack-value`
//! bytes, `hashtable` after; the conversion is one-way.
//!
//! A listpack keeps insertion order (an updated field keeps its place, a
//! deleted one closes the gap), and that is the order HGETALL answers while
//! the hash is small; a hashtable's order is unspecified. Both are kept in
//! one insertion-ordered index map: small hashes delete with `shift_remove`
//! (order kept), large ones with O(1) `swap_remove`. Index access gives
//! HRANDFIELD O(1) random picks. Each field and its value share one heap
//! allocation (`[field length][field][value]`), found by field through
//! indexmap's `Equivalent` lookup: one allocation per entry, as Redis's
//! listpack/dictEntry+sds do with two.

use crate::config::EncodingLimits;
use ahash::RandomState;
use indexmap::map::MutableKeys;
use indexmap::{Equivalent, IndexMap};
use std::hash::{Hash as StdHash, Hasher};

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

impl StdHash for Entry {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.field().hash(h)
    }
}
impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.field() == o.field()
    }
}
impl Eq for Entry {}

/// A lookup by field name.
#[derive(Hash)]
struct Field<'a>(&'a [u8]);

impl Equivalent<Entry> for Field<'_> {
    fn equivalent(&self, e: &Entry) -> bool {
        self.0 == e.field()
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
    map: IndexMap<Entry, (), RandomState>,
    big: bool,
}

impl Default for Hash {
    fn default() -> Self {
        Hash {
            map: IndexMap::with_hasher(fixed_state()),
            big: false,
        }
    }
}

impl PartialEq for Hash {
    fn eq(&self, o: &Self) -> bool {
        self.big == o.big
            && self.map.len() == o.map.len()
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
        self.map.len()
    }
    /// Whether it has no fields.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// An empty hash with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Hash {
            map: IndexMap::with_capacity_and_hasher(n, fixed_state()),
            big: false,
        }
    }
    /// Add a field that is not there yet (RDB load); false, and nothing
    /// changes, if it is there.
    pub fn insert_new(&mut self, field: &[u8], value: &[u8]) -> bool {
        self.map
            .insert_full(Entry::new(field, value), ())
            .1
            .is_none()
    }
    /// Set a field; true if it is new. An existing field keeps its place.
    pub fn insert(&mut self, field: Vec<u8>, value: Vec<u8>) -> bool {
        let e = Entry::new(&field, &value);
        if let Some((_, k, _)) = self.map.get_full_mut2(&Field(&field)) {
            *k = e;
            false
        } else {
            self.map.insert(e, ());
            true
        }
    }
    /// A field's value.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.map
            .get_key_value(&Field(field))
            .map(|(e, _)| e.value())
    }
    /// Whether a field exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.map.contains_key(&Field(field))
    }
    /// Remove a field; true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        if self.big {
            self.map.swap_remove(&Field(field)).is_some()
        } else {
            self.map.shift_remove(&Field(field)).is_some()
        }
    }
    /// The field and value at a position of the iteration order.
    pub fn get_index(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.map.get_index(i).map(|(e, _)| (e.field(), e.value()))
    }
    /// Fields and values, in the order Redis would list them for a listpack.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.map.keys().map(|e| (e.field(), e.value()))
    }
    /// Convert before a write whose arguments have these lengths, as
    /// `hashTypeTryConversion` does (even if the write then does nothing).
    pub fn convert_for_lengths(
        &mut self,
        lens: impl IntoIterator<Item = usize>,
        limits: &EncodingLimits,
    ) {
        if !self.big && lens.into_iter().any(|l| l > limits.hash_max_listpack_value) {
            self.big = true;
        }
    }
    /// After a command's write: switch to `hashtable` past the entry limit
    /// (`hashTypeSet` checks only the count; lengths were checked on the
    /// arguments by [`convert_for_lengths`](Self::convert_for_lengths)).
    pub fn update_encoding_after_write(&mut self, limits: &EncodingLimits) {
        if self.map.len() > limits.hash_max_listpack_entries {
            self.big = true;
        }
    }
    /// Switch to `hashtable` if the contents exceed the limits (one-way),
    /// counting entries and lengths (RDB load).
    pub fn update_encoding(&mut self, limits: &EncodingLimits) {
        if !self.big
            && (self.map.len() > limits.hash_max_listpack_entries
                || self.iter().any(|(k, v)| {
                    k.len() > limits.hash_max_listpack_value
                        || v.len() > limits.hash_max_listpack_value
                }))
        {
            self.big = true;
        }
    }
    /// Whether the hash is in its compact encoding.
    pub fn is_compact(&self) -> bool {
        !self.big
    }
    /// `listpack` or `hashtable`.
    pub fn encoding_name(&self) -> &'static str {
        if self.big {
            "hashtable"
        } else {
            "listpack"
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
}
