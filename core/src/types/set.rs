//! Sets: `intset` while every member is an integer and there are at most
//! `set-max-intset-entries`, `hashtable` after (7.0 has no listpack sets).

use crate::config::EncodingLimits;
use indexmap::IndexSet;

/// A set of byte strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Set {
    members: IndexSet<Vec<u8>>,
    big: bool,
}

impl Set {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }
    /// Whether it has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
    /// Add a member; true if it is new.
    pub fn insert(&mut self, m: Vec<u8>) -> bool {
        self.members.insert(m)
    }
    /// Membership test.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.contains(m)
    }
    /// The members.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.members.iter().map(|m| m.as_slice())
    }
    /// Switch to `hashtable` past the intset limits (one-way).
    pub fn update_encoding(&mut self, limits: &EncodingLimits) {
        if !self.big
            && (self.members.len() > limits.set_max_intset_entries
                || self
                    .members
                    .iter()
                    .any(|m| crate::util::parse_i64(m).is_none()))
        {
            self.big = true;
        }
    }
    /// `intset` or `hashtable`.
    pub fn encoding_name(&self) -> &'static str {
        if self.big {
            "hashtable"
        } else {
            "intset"
        }
    }
}
