//! Sorted sets: `listpack` while at most `zset-max-listpack-entries` members
//! of at most `zset-max-listpack-value` bytes, `skiplist` after. Members are
//! ordered by score, then by member bytes.

use crate::config::EncodingLimits;
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, Copy, PartialEq)]
struct Score(f64);
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Score {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// A sorted set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZSet {
    by_member: HashMap<Vec<u8>, f64>,
    ordered: BTreeSet<(Score, Vec<u8>)>,
    big: bool,
}

impl ZSet {
    /// An empty sorted set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        self.by_member.len()
    }
    /// Whether it has no members.
    pub fn is_empty(&self) -> bool {
        self.by_member.is_empty()
    }
    /// Add or update a member; true if it is new.
    pub fn insert(&mut self, member: Vec<u8>, score: f64) -> bool {
        if let Some(old) = self.by_member.insert(member.clone(), score) {
            self.ordered.remove(&(Score(old), member.clone()));
            self.ordered.insert((Score(score), member));
            false
        } else {
            self.ordered.insert((Score(score), member));
            true
        }
    }
    /// A member's score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.by_member.get(member).copied()
    }
    /// Members with scores, lowest score first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> {
        self.ordered.iter().map(|(s, m)| (m.as_slice(), s.0))
    }
    /// Switch to `skiplist` past the listpack limits (one-way).
    pub fn update_encoding(&mut self, limits: &EncodingLimits) {
        if !self.big
            && (self.by_member.len() > limits.zset_max_listpack_entries
                || self
                    .by_member
                    .keys()
                    .any(|m| m.len() > limits.zset_max_listpack_value))
        {
            self.big = true;
        }
    }
    /// `listpack` or `skiplist`.
    pub fn encoding_name(&self) -> &'static str {
        if self.big {
            "skiplist"
        } else {
            "listpack"
        }
    }
}
