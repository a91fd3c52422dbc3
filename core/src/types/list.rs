//! Lists. Redis 7.0 stores every list as a quicklist (a linked list of
//! listpacks), so `OBJECT ENCODING` always answers `quicklist`. Here a ring
//! buffer of boxed byte strings: O(1) push and pop at both ends and O(1)
//! indexing (LINDEX, LSET, LRANGE's start).

use crate::config::EncodingLimits;
use std::collections::VecDeque;

/// A list of byte strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List {
    items: VecDeque<Box<[u8]>>,
}

impl List {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Make room for `n` more elements.
    pub fn reserve(&mut self, n: usize) {
        self.items.reserve(n);
    }
    /// Append at the tail.
    pub fn push_back(&mut self, v: Vec<u8>) {
        self.items.push_back(v.into_boxed_slice());
    }
    /// Prepend at the head.
    pub fn push_front(&mut self, v: Vec<u8>) {
        self.items.push_front(v.into_boxed_slice());
    }
    /// Push at the head (`head`) or the tail.
    pub fn push(&mut self, v: Vec<u8>, head: bool) {
        if head {
            self.push_front(v)
        } else {
            self.push_back(v)
        }
    }
    /// Pop from the head (`head`) or the tail.
    pub fn pop(&mut self, head: bool) -> Option<Vec<u8>> {
        let v = if head {
            self.items.pop_front()
        } else {
            self.items.pop_back()
        };
        v.map(|b| b.into_vec())
    }
    /// Element at a 0-based index from the head.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.items.get(i).map(|v| &**v)
    }
    /// Replace the element at `i`; false if out of range.
    pub fn set(&mut self, i: usize, v: Vec<u8>) -> bool {
        match self.items.get_mut(i) {
            Some(slot) => {
                *slot = v.into_boxed_slice();
                true
            }
            None => false,
        }
    }
    /// Insert before index `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, v: Vec<u8>) {
        self.items.insert(i, v.into_boxed_slice());
    }
    /// Keep only the elements `start..end` (LTRIM).
    pub fn keep_range(&mut self, start: usize, end: usize) {
        self.items.truncate(end);
        self.items.drain(..start.min(self.items.len()));
    }
    /// Remove up to `count` elements equal to `v` (0 = all), scanning from
    /// the head, or from the tail when `from_tail`. Returns how many.
    pub fn remove_matching(&mut self, v: &[u8], count: usize, from_tail: bool) -> usize {
        let mut removed = 0;
        let n = self.items.len();
        let mut keep = vec![true; n];
        let order: Box<dyn Iterator<Item = usize>> = if from_tail {
            Box::new((0..n).rev())
        } else {
            Box::new(0..n)
        };
        for i in order {
            if count != 0 && removed == count {
                break;
            }
            if &*self.items[i] == v {
                keep[i] = false;
                removed += 1;
            }
        }
        if removed > 0 {
            let mut i = 0;
            self.items.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        }
        removed
    }
    /// Elements from head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(|v| &**v)
    }
    /// Elements `start..end` from the head.
    pub fn range(&self, start: usize, end: usize) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.items.range(start..end).map(|v| &**v)
    }
    /// Lists have a single encoding in 7.0: nothing to convert.
    pub fn update_encoding(&mut self, _limits: &EncodingLimits) {}
    /// `quicklist`, as 7.0 reports for every list.
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> List {
        let mut l = List::new();
        for i in items {
            l.push_back(i.as_bytes().to_vec());
        }
        l
    }
    fn items(l: &List) -> Vec<String> {
        l.iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    #[test]
    fn remove_matching_both_directions() {
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(l.remove_matching(b"a", 2, true), 2);
        assert_eq!(items(&l), ["a", "b", "c"]);
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(l.remove_matching(b"a", 0, false), 3);
        assert_eq!(items(&l), ["b", "c"]);
    }

    #[test]
    fn keep_range_trims() {
        let mut l = list(&["a", "b", "c", "d"]);
        l.keep_range(1, 3);
        assert_eq!(items(&l), ["b", "c"]);
        l.keep_range(2, 2);
        assert!(l.is_empty());
    }
}
