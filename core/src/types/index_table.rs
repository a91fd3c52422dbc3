//! The index of a large hash, set or sorted set: a hash table from a
//! member's hash to its entry number that never rehashes everything at
//! once, so adding the millionth member costs what adding the tenth did.
//!
//! Redis gets there by growing a dict *incrementally*: it keeps the old and
//! the new table and moves one bucket per operation. Here the index is
//! split into shards by *linear hashing*: shard `i` holds the members whose
//! hash, read from its top bit down, ends in `i`'s bits. Each time the
//! index passes [`SHARD_TARGET`] entries per shard, the next shard in turn
//! is split in two by one more bit, so the index grows by one small table
//! at a time, and a lookup is one probe of one shard (no second table to
//! try while a growth is under way). A shard is an ordinary hash table,
//! which grows itself at once, but it is small enough to stay in cache.
//! Each slot keeps 32 bits of its member's hash, so neither splitting nor a
//! shard's own growth reads the entries. As a collection empties the shards
//! merge back, last split first, and underused tables shrink, as Redis
//! resizes a dict that falls under a tenth full.
//!
//! [`Dense`] is what large hashes and sets are made of: the entries in one
//! vector (insertion order with `swap_remove`, positions for random picks
//! and SCAN cursors) indexed by an [`IndexTable`].

use ahash::RandomState;
use hashbrown::HashTable;

/// Entries per shard, on average, before the next shard is split.
const SHARD_TARGET: usize = 8192;

/// An entry number and 32 bits of its member's hash.
#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u32,
    idx: u32,
}

/// The hash a shard's table files a slot under. The shard is chosen by the
/// top bits of the 32 (read backwards), the bucket by the low bits and the
/// table's 7-bit tag by the top bits of this product, which mixes all 32.
fn table_hash(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Add a slot (not in the table) to a table.
fn add(table: &mut HashTable<Slot>, slot: Slot) {
    table.insert_unique(table_hash(slot.hash), slot, |s| table_hash(s.hash));
}

/// Whether a table or vector with room for `capacity` holding `len` is
/// worth shrinking: less than a tenth full, and not tiny.
fn underused(len: usize, capacity: usize) -> bool {
    capacity > 64 && len * 10 < capacity
}

/// 32 bits of a member's hash, as slots keep it.
pub(crate) fn hash32(hasher: &RandomState, member: &[u8]) -> u32 {
    (hasher.hash_one(member) >> 32) as u32
}

/// A hash index of entry numbers, grown one shard at a time.
#[derive(Debug, Clone)]
pub(crate) struct IndexTable {
    /// Shard 0, kept inline: most large collections never split.
    first: HashTable<Slot>,
    /// Shards 1 on; `2^level + split` shards in all.
    rest: Vec<HashTable<Slot>>,
    /// Shards below `split` (and those from `2^level` on) use `level + 1`
    /// bits, the others `level`.
    level: u32,
    /// The next shard to split.
    split: usize,
    len: usize,
}

impl Default for IndexTable {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl IndexTable {
    /// An empty index with room for `n` entries, or for one shard's worth
    /// if `n` is more (the shards come as it fills).
    pub fn with_capacity(n: usize) -> Self {
        IndexTable {
            first: HashTable::with_capacity(n.min(SHARD_TARGET)),
            rest: Vec::new(),
            level: 0,
            split: 0,
            len: 0,
        }
    }
    /// Entries indexed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }
    /// Number of shards.
    #[cfg(test)]
    pub fn shard_count(&self) -> usize {
        1 + self.rest.len()
    }
    /// The shards in order.
    #[cfg(test)]
    fn shards(&self) -> impl Iterator<Item = &HashTable<Slot>> {
        std::iter::once(&self.first).chain(&self.rest)
    }
    /// How many entries fit before the next growth, while there is one
    /// shard (a collection that grows its entries with its index, as
    /// indexmap does, leaves none of them unused).
    pub fn unsplit_capacity(&self) -> Option<usize> {
        self.rest.is_empty().then(|| self.first.capacity())
    }
    #[inline]
    fn table(&self, shard: usize) -> &HashTable<Slot> {
        match shard {
            0 => &self.first,
            i => &self.rest[i - 1],
        }
    }
    #[inline]
    fn table_mut(&mut self, shard: usize) -> &mut HashTable<Slot> {
        match shard {
            0 => &mut self.first,
            i => &mut self.rest[i - 1],
        }
    }
    /// The shard of a hash.
    #[inline]
    fn shard(&self, hash: u32) -> usize {
        let bits = hash.reverse_bits() as usize;
        let i = bits & ((1 << self.level) - 1);
        if i < self.split {
            bits & ((2 << self.level) - 1)
        } else {
            i
        }
    }
    /// The number of the entry with this hash for which `is` holds.
    #[inline]
    pub fn find(&self, hash: u32, is: impl Fn(u32) -> bool) -> Option<u32> {
        self.table(self.shard(hash))
            .find(table_hash(hash), |s| s.hash == hash && is(s.idx))
            .map(|s| s.idx)
    }
    /// Index entry `idx` (not indexed yet) under `hash`.
    pub fn insert(&mut self, hash: u32, idx: u32) {
        let shard = self.shard(hash);
        add(self.table_mut(shard), Slot { hash, idx });
        self.len += 1;
        if self.len > (1 + self.rest.len()) * SHARD_TARGET {
            self.split_next();
        }
    }
    /// Split the next shard by one more bit of the hash: the slots with
    /// that bit set make a new shard at the end.
    fn split_next(&mut self) {
        let bit = 1u32 << self.level;
        let from = self.table_mut(self.split);
        let moved: Vec<Slot> = from
            .extract_if(|s| s.hash.reverse_bits() & bit != 0)
            .collect();
        from.shrink_to_fit(|s| table_hash(s.hash));
        let mut shard = HashTable::with_capacity(moved.len());
        for slot in moved {
            add(&mut shard, slot);
        }
        self.rest.push(shard);
        self.split += 1;
        if self.split == 1 << self.level {
            self.level += 1;
            self.split = 0;
        }
    }
    /// Forget entry `idx`, indexed under `hash`; false if it was not there.
    pub fn remove(&mut self, hash: u32, idx: u32) -> bool {
        let shard = self.shard(hash);
        let found = self
            .table_mut(shard)
            .find_entry(table_hash(hash), |s| s.idx == idx);
        match found {
            Ok(e) => {
                e.remove();
                self.len -= 1;
                self.give_back(shard);
                true
            }
            Err(_) => false,
        }
    }
    /// After a removal, give memory back, as Redis resizes a collection's
    /// dict once it is less than a tenth full (`htNeedsResize`): merge the
    /// last shard back into the one it was split from while the shards
    /// average under a quarter of [`SHARD_TARGET`], and shrink a shard's
    /// table that is less than a tenth full.
    fn give_back(&mut self, shard: usize) {
        if !self.rest.is_empty() && self.len * 4 < (1 + self.rest.len()) * SHARD_TARGET {
            self.merge_last();
            return;
        }
        let table = self.table_mut(shard);
        if underused(table.len(), table.capacity()) {
            table.shrink_to_fit(|s| table_hash(s.hash));
        }
    }
    /// Undo the last split: the last shard goes back into its buddy.
    fn merge_last(&mut self) {
        let Some(last) = self.rest.pop() else {
            return;
        };
        if self.split == 0 {
            self.level -= 1;
            self.split = 1 << self.level;
        }
        self.split -= 1;
        let into = self.table_mut(self.split);
        into.reserve(last.len(), |s| table_hash(s.hash));
        for slot in last {
            add(into, slot);
        }
    }
    /// Entry `from` (indexed under `hash`) is now entry `to`.
    pub fn renumber(&mut self, hash: u32, from: u32, to: u32) {
        let shard = self.shard(hash);
        if let Some(s) = self
            .table_mut(shard)
            .find_mut(table_hash(hash), |s| s.idx == from)
        {
            s.idx = to;
        }
    }
}

/// What a [`Dense`] collection's entries are found by.
pub(crate) trait Keyed {
    /// The member (a set's member, a hash's field).
    fn key(&self) -> &[u8];
}

/// An entry and 32 bits of its key's hash (what finding its slot by
/// position needs, to remove or renumber it, without hashing the key).
#[derive(Debug, Clone)]
struct Stored<E> {
    entry: E,
    hash: u32,
}

/// Entries in one vector, found by key through an [`IndexTable`]. The
/// order is insertion order, except that a removal moves the last entry
/// into the gap.
#[derive(Debug, Clone)]
pub(crate) struct Dense<E> {
    entries: Vec<Stored<E>>,
    index: IndexTable,
    hasher: RandomState,
}

impl<E: Keyed> Dense<E> {
    /// An empty collection with room for `n` entries, hashing members with
    /// the process's secret keys.
    pub fn with_capacity(n: usize) -> Self {
        Self::with_hasher(n, super::hash::members_state())
    }
    fn with_hasher(n: usize, hasher: RandomState) -> Self {
        Dense {
            entries: Vec::with_capacity(n),
            index: IndexTable::with_capacity(n),
            hasher,
        }
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// The position of the entry with this key and hash.
    #[inline]
    fn position(&self, hash: u32, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(hash, |i| entries[i as usize].entry.key() == key)
            .map(|i| i as usize)
    }
    /// The entry with this key.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&E> {
        let hash = hash32(&self.hasher, key);
        self.position(hash, key).map(|i| &self.entries[i].entry)
    }
    /// Add `entry` if its key is not there (true), else leave it (false).
    pub fn insert(&mut self, entry: E) -> bool {
        self.insert_or_replace(entry, false)
    }
    /// Add `entry`, or put it in place of the one with its key (which
    /// keeps its position); true if the key is new.
    pub fn upsert(&mut self, entry: E) -> bool {
        self.insert_or_replace(entry, true)
    }
    fn insert_or_replace(&mut self, entry: E, replace: bool) -> bool {
        let hash = hash32(&self.hasher, entry.key());
        let new = match self.position(hash, entry.key()) {
            Some(i) => {
                if replace {
                    self.entries[i].entry = entry;
                }
                false
            }
            None => {
                let idx = u32::try_from(self.entries.len()).expect("fewer than 2^32 entries");
                self.index.insert(hash, idx);
                if self.entries.len() == self.entries.capacity() {
                    if let Some(fit) = self.index.unsplit_capacity() {
                        self.entries.reserve_exact(fit - self.entries.len());
                    }
                }
                self.entries.push(Stored { entry, hash });
                true
            }
        };
        new
    }
    /// Remove the entry with this key.
    pub fn remove(&mut self, key: &[u8]) -> Option<E> {
        let hash = hash32(&self.hasher, key);
        let i = self.position(hash, key)?;
        self.swap_remove_index(i)
    }
    /// Remove the entry at a position; the last one takes its place.
    pub fn swap_remove_index(&mut self, i: usize) -> Option<E> {
        let hash = self.entries.get(i)?.hash;
        self.index.remove(hash, i as u32);
        let last = self.entries.len() - 1;
        if i != last {
            self.index
                .renumber(self.entries[last].hash, last as u32, i as u32);
        }
        let removed = self.entries.swap_remove(i).entry;
        if underused(self.entries.len(), self.entries.capacity()) {
            self.entries.shrink_to_fit();
        }
        Some(removed)
    }
    /// The entry at a position.
    pub fn get_index(&self, i: usize) -> Option<&E> {
        self.entries.get(i).map(|s| &s.entry)
    }
    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.entries.iter().map(|s| &s.entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    impl Keyed for Vec<u8> {
        fn key(&self) -> &[u8] {
            self
        }
    }

    /// Random inserts, updates and removals (by key and by position)
    /// across many shard splits, checked against a std map after every
    /// step: each key finds its own entry, and the index holds exactly the
    /// entries. Each split is followed by a run of mostly removals, which
    /// renumber entries of every shard.
    #[test]
    fn dense_matches_a_map_through_splits() {
        let mut dense = Dense::with_hasher(0, super::super::hash::fixed_state());
        let mut model: HashMap<Vec<u8>, ()> = HashMap::new();
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let (mut splits, mut shrinking_for) = (0u32, 0u32);
        for step in 0..100_000u32 {
            let key = (next() % 60_000).to_string().into_bytes();
            let removing = shrinking_for > 0 && next() % 4 != 0;
            let shards = dense.index.shard_count();
            match next() % 4 {
                _ if removing && next() % 2 == 0 && dense.len() > 0 => {
                    let i = (next() % dense.len() as u64) as usize;
                    let gone = dense.swap_remove_index(i).expect("in range");
                    assert!(model.remove(&gone).is_some());
                }
                _ if removing => {
                    let key = model.keys().next().cloned().unwrap_or(key);
                    assert_eq!(dense.remove(&key).is_some(), model.remove(&key).is_some());
                }
                0 => assert_eq!(dense.remove(&key).is_some(), model.remove(&key).is_some()),
                1 => assert_eq!(dense.upsert(key.clone()), model.insert(key, ()).is_none()),
                _ => assert_eq!(dense.insert(key.clone()), model.insert(key, ()).is_none()),
            }
            if dense.index.shard_count() > shards {
                (shrinking_for, splits) = (300, splits + 1);
            } else {
                shrinking_for = shrinking_for.saturating_sub(1);
            }
            assert_eq!(dense.len(), model.len());
            assert_eq!(dense.index.len(), model.len());
            if step % 997 == 0 {
                for k in model.keys() {
                    assert_eq!(dense.get(k), Some(k));
                }
                for (i, e) in dense.iter().enumerate() {
                    let pos = dense.position(hash32(&dense.hasher, e), e);
                    assert_eq!(pos, Some(i));
                }
            }
            let absent = b"absent".to_vec();
            assert_eq!(dense.get(&absent), None);
        }
        assert!(splits >= 3, "the index was split: {splits}");
    }

    /// The index grows one shard at a time: shards stay near the target
    /// size (no shard, and so no single table growth, holds more than a few
    /// times the target), every entry is found, removals find their slot.
    #[test]
    fn shards_split_one_at_a_time_and_stay_small() {
        let mut index = IndexTable::with_capacity(0);
        let n = 40 * SHARD_TARGET;
        let hashes: Vec<u32> = (0..n as u32).map(|i| i.wrapping_mul(0x9e37_79b9)).collect();
        for (i, &h) in hashes.iter().enumerate() {
            let shards = index.shard_count();
            index.insert(h, i as u32);
            assert!(index.shard_count() <= shards + 1);
        }
        assert_eq!(index.len(), n);
        assert_eq!(index.shard_count(), n / SHARD_TARGET);
        let biggest = index.shards().map(HashTable::len).max();
        assert!(biggest <= Some(3 * SHARD_TARGET), "{biggest:?}");
        for (i, &h) in hashes.iter().enumerate() {
            assert_eq!(index.find(h, |j| j == i as u32), Some(i as u32));
            assert_eq!(index.find(h ^ 1, |j| j == i as u32), None);
        }
        for (i, &h) in hashes.iter().enumerate().step_by(3) {
            assert!(index.remove(h, i as u32));
            assert!(!index.remove(h, i as u32));
        }
        assert_eq!(index.len(), n - n.div_ceil(3));
    }

    /// Removing most entries gives the memory back: shards merge until one
    /// is left, its table and the entries shrink, and every entry left is
    /// still found.
    #[test]
    fn removals_merge_shards_and_shrink() {
        let mut dense = Dense::with_hasher(0, super::super::hash::fixed_state());
        let n = 20 * SHARD_TARGET;
        for i in 0..n {
            assert!(dense.insert(i.to_string().into_bytes()));
        }
        let grown = dense.index.shard_count();
        assert_eq!(grown, 20);
        let mut shard_counts = vec![grown];
        for i in 100..n {
            assert!(dense.remove(i.to_string().as_bytes()).is_some());
            let now = dense.index.shard_count();
            assert!(
                now + 1 >= *shard_counts.last().unwrap(),
                "one merge at a time"
            );
            shard_counts.push(now);
        }
        assert_eq!(dense.index.shard_count(), 1);
        assert!(
            dense.index.first.capacity() < 1000,
            "{}",
            dense.index.first.capacity()
        );
        assert!(
            dense.entries.capacity() < 1000,
            "{}",
            dense.entries.capacity()
        );
        assert_eq!(dense.len(), 100);
        for i in 0..n {
            let key = i.to_string().into_bytes();
            assert_eq!(dense.get(&key).is_some(), i < 100, "{i}");
        }
        // And it grows again.
        for i in 100..n {
            assert!(dense.insert(i.to_string().into_bytes()));
        }
        assert_eq!(dense.index.shard_count(), grown);
        assert!((0..n).all(|i| dense.get(i.to_string().as_bytes()).is_some()));
    }
}
