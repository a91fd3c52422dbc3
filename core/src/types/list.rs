//! Lists. Redis 7.0 stores every list as a quicklist (a linked list of
//! listpacks), so `OBJECT ENCODING` always answers `quicklist`.

use std::collections::VecDeque;

/// A list of byte strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List {
    items: VecDeque<Vec<u8>>,
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
    /// Append at the tail.
    pub fn push_back(&mut self, v: Vec<u8>) {
        self.items.push_back(v);
    }
    /// Prepend at the head.
    pub fn push_front(&mut self, v: Vec<u8>) {
        self.items.push_front(v);
    }
    /// Elements from head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(|v| v.as_slice())
    }
    /// `quicklist`, as 7.0 reports for every list.
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }
}
