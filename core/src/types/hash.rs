//! Hashes: `listpack` while at most `hash-max-listpack-entries` fields of at
//! most `hash-max-listpack-value` bytes, `hashtable` after.

use crate::config::EncodingLimits;
use indexmap::IndexMap;

/// A map of fields to values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hash {
    map: IndexMap<Vec<u8>, Vec<u8>>,
    big: bool,
}

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
    /// Set a field; true if it is new.
    pub fn insert(&mut self, field: Vec<u8>, value: Vec<u8>) -> bool {
        self.map.insert(field, value).is_none()
    }
    /// A field's value.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.map.get(field).map(|v| v.as_slice())
    }
    /// Fields and values, in the order Redis would list them for a listpack.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.map.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }
    /// Switch to `hashtable` if the contents exceed the limits (one-way).
    pub fn update_encoding(&mut self, limits: &EncodingLimits) {
        if !self.big
            && (self.map.len() > limits.hash_max_listpack_entries
                || self.map.iter().any(|(k, v)| {
                    k.len() > limits.hash_max_listpack_value
                        || v.len() > limits.hash_max_listpack_value
                }))
        {
            self.big = true;
        }
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
