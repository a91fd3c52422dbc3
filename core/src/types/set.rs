//! Sets: `intset` while every member is the canonical text of a 64-bit
//! integer (`string2ll`) and there are at most `set-max-intset-entries`,
//! `hashtable` after (7.0 has no listpack sets); the conversion is one-way.
//!
//! An intset is sorted by numeric value, which is the order SMEMBERS answers
//! while the set is one; a hashtable's order is unspecified. Here an intset
//! is a numerically sorted vector (binary search), a hashtable a [`Dense`]
//! collection (O(1) membership, O(1) random picks for SPOP and SRANDMEMBER,
//! an index that grows one small shard at a time, never all at once, as
//! Redis's dict grows incrementally). Members
//! are [`Member`]s: short ones take no allocation of their own (an integer's
//! text always fits).

use super::index_table::{Dense, Keyed};
use super::member::Member;
use crate::config::EncodingLimits;
use crate::util::parse_i64;

#[derive(Debug, Clone)]
enum Repr {
    /// Members sorted by integer value, with their integer.
    Ints(Vec<(i64, Member)>),
    Table(Box<Dense<Member>>),
}

/// A set of byte strings.
#[derive(Debug, Clone)]
pub struct Set {
    repr: Repr,
}

impl Default for Set {
    fn default() -> Self {
        Set {
            repr: Repr::Ints(Vec::new()),
        }
    }
}

impl PartialEq for Set {
    fn eq(&self, o: &Self) -> bool {
        self.encoding_name() == o.encoding_name()
            && self.len() == o.len()
            && self.iter().all(|m| o.contains(m))
    }
}
impl Eq for Set {}

impl Set {
    /// An empty set (an intset until a non-integer arrives).
    pub fn new() -> Self {
        Self::default()
    }
    /// An empty set already in the `hashtable` encoding.
    pub fn new_table() -> Self {
        Set {
            repr: Repr::Table(Box::new(Dense::with_capacity(0))),
        }
    }
    /// An intset of strictly increasing integers (a decoded RDB intset);
    /// `None` if they are not strictly increasing.
    pub fn from_sorted_ints(ints: &[i64]) -> Option<Self> {
        if ints.windows(2).any(|w| w[0] >= w[1]) {
            return None;
        }
        let mut text = Vec::with_capacity(20);
        let members = ints
            .iter()
            .map(|&n| {
                text.clear();
                crate::resp::push_int(&mut text, n);
                (n, Member::from(&text[..]))
            })
            .collect();
        Some(Set {
            repr: Repr::Ints(members),
        })
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.len(),
            Repr::Table(t) => t.len(),
        }
    }
    /// Whether it has no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn convert_to_table(&mut self) {
        if let Repr::Ints(v) = &mut self.repr {
            let mut t = Dense::with_capacity(v.len());
            for (_, m) in v.drain(..) {
                t.insert(m);
            }
            self.repr = Repr::Table(Box::new(t));
        }
    }
    /// Add a member; true if it is new. A non-integer member turns an
    /// intset into a hashtable (`setTypeAdd`); the entry limit is applied by
    /// [`update_encoding`](Self::update_encoding).
    pub fn insert(&mut self, m: Vec<u8>) -> bool {
        if let Repr::Ints(v) = &mut self.repr {
            match parse_i64(&m) {
                Some(n) => {
                    return match v.binary_search_by_key(&n, |e| e.0) {
                        Ok(_) => false,
                        Err(pos) => {
                            v.insert(pos, (n, m.into()));
                            true
                        }
                    }
                }
                None => self.convert_to_table(),
            }
        }
        match &mut self.repr {
            Repr::Table(t) => t.insert(m.into()),
            Repr::Ints(_) => unreachable!("converted above"),
        }
    }
    /// Membership test.
    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(v) => {
                parse_i64(m).is_some_and(|n| v.binary_search_by_key(&n, |e| e.0).is_ok())
            }
            Repr::Table(t) => t.get(m).is_some(),
        }
    }
    /// Remove a member; true if it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(v) => match parse_i64(m).map(|n| v.binary_search_by_key(&n, |e| e.0)) {
                Some(Ok(pos)) => {
                    v.remove(pos);
                    true
                }
                _ => false,
            },
            Repr::Table(t) => t.remove(m).is_some(),
        }
    }
    /// The member at a position of the iteration order (`i < len`).
    pub fn get_index(&self, i: usize) -> Option<&[u8]> {
        match &self.repr {
            Repr::Ints(v) => v.get(i).map(|e| &*e.1),
            Repr::Table(t) => t.get_index(i).map(|m| &**m),
        }
    }
    /// Remove and return the member at a position of the iteration order.
    pub fn remove_index(&mut self, i: usize) -> Option<Vec<u8>> {
        match &mut self.repr {
            Repr::Ints(v) => (i < v.len()).then(|| v.remove(i).1.into_vec()),
            Repr::Table(t) => t.swap_remove_index(i).map(Member::into_vec),
        }
    }
    /// The members (ascending integers for an intset).
    pub fn iter(&self) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        match &self.repr {
            Repr::Ints(v) => Box::new(v.iter().map(|e| &*e.1)),
            Repr::Table(t) => Box::new(t.iter().map(|m| &**m)),
        }
    }
    /// Switch to `hashtable` past the intset limits (one-way).
    pub fn update_encoding(&mut self, limits: &EncodingLimits) {
        if let Repr::Ints(v) = &self.repr {
            if v.len() > limits.set_max_intset_entries {
                self.convert_to_table();
            }
        }
    }
    /// `intset` or `hashtable`.
    pub fn encoding_name(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }
}

impl Keyed for Member {
    fn key(&self) -> &[u8] {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intset_sorted_then_table() {
        let mut s = Set::new();
        for m in ["10", "-5", "3", "3"] {
            s.insert(m.into());
        }
        let v: Vec<&[u8]> = s.iter().collect();
        assert_eq!(v, [&b"-5"[..], b"3", b"10"]);
        assert_eq!(s.encoding_name(), "intset");
        assert!(s.contains(b"3") && !s.contains(b"03"));
        s.insert(b"x".to_vec());
        assert_eq!(s.encoding_name(), "hashtable");
        assert!(s.remove(b"x"));
        assert_eq!(s.len(), 3);
        assert_eq!(s.encoding_name(), "hashtable");
        let mut s = Set::new();
        for i in 0..5 {
            s.insert(i.to_string().into_bytes());
        }
        s.update_encoding(&EncodingLimits {
            set_max_intset_entries: 4,
            ..EncodingLimits::default()
        });
        assert_eq!(s.encoding_name(), "hashtable");
    }
}
