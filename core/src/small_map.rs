//! [`SmallMap`] and [`SmallSet`]: small ordered tables (the simulator's,
//! checker's and playground's per node, per connection and per replid
//! tables, a node's set of replicas: a handful of entries each), kept as
//! one sorted `Vec` rather than a `BTreeMap`/`BTreeSet`.
//!
//! Why: every distinct `BTreeMap<K, V>` instantiates the B-tree's node
//! splitting, merging and stealing code again (about 6 KB of WebAssembly
//! each), and the browser downloads every copy. A sorted vector with a
//! binary search costs a few hundred bytes per key/value type and is as fast
//! for tables this small. Iteration is in key order, as with a `BTreeMap`.

use std::borrow::Borrow;

/// A map from `K` to `V` stored as a `Vec` sorted by key.
#[derive(Debug, Clone)]
pub struct SmallMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn find<Q: Ord + ?Sized>(&self, k: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.entries.binary_search_by(|(e, _)| e.borrow().cmp(k))
    }

    /// The value for `k`.
    pub fn get<Q: Ord + ?Sized>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(k).ok().map(|i| &self.entries[i].1)
    }

    /// The value for `k`, to change.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(k).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `k` has a value.
    pub fn contains_key<Q: Ord + ?Sized>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(k).is_ok()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The values in key order, taken out.
    pub fn into_values(self) -> impl Iterator<Item = V> {
        self.entries.into_iter().map(|(_, v)| v)
    }

    /// The values in key order, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Set `k` to `v`; the value it replaces.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, v)),
            Err(i) => {
                self.entries.insert(i, (k, v));
                None
            }
        }
    }

    /// Remove `k`; its value.
    pub fn remove<Q: Ord + ?Sized>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.find(k).ok().map(|i| self.entries.remove(i).1)
    }

    /// The value for `k`, made with `make` first if there is none.
    pub fn get_or_insert_with(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&k) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (k, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Keep only the entries `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }
}

/// A set of `K` stored as a `Vec` sorted by key: a [`SmallMap`] to `()`,
/// in place of a `BTreeSet` (iteration in order, as with one).
#[derive(Clone)]
pub struct SmallSet<K> {
    map: SmallMap<K, ()>,
}

impl<K> Default for SmallSet<K> {
    fn default() -> Self {
        SmallSet {
            map: SmallMap::default(),
        }
    }
}

impl<K: Ord> SmallSet<K> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `k`; whether it was new.
    pub fn insert(&mut self, k: K) -> bool {
        self.map.insert(k, ()).is_none()
    }

    /// Remove `k`; whether it was there.
    pub fn remove<Q: Ord + ?Sized>(&mut self, k: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.map.remove(k).is_some()
    }

    /// Whether `k` is in the set.
    pub fn contains<Q: Ord + ?Sized>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.map.contains_key(k)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The members, smallest first.
    pub fn iter(&self) -> impl Iterator<Item = &K> {
        self.map.keys()
    }

    /// The smallest member.
    pub fn first(&self) -> Option<&K> {
        self.map.entries.first().map(|(k, _)| k)
    }

    /// Remove the smallest member; it.
    pub fn pop_first(&mut self) -> Option<K> {
        if self.map.entries.is_empty() {
            return None;
        }
        Some(self.map.entries.remove(0).0)
    }

    /// Keep only the members `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.map.retain(|k, _| keep(k));
    }
}

impl<'a, K> IntoIterator for &'a SmallSet<K> {
    type Item = &'a K;
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, ())>, fn(&'a (K, ())) -> &'a K>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.entries.iter().map(|(k, _)| k)
    }
}

/// As a `BTreeSet` prints: `{1, 2}`.
impl<K: std::fmt::Debug> std::fmt::Debug for SmallSet<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.map.entries.iter().map(|(k, _)| k))
            .finish()
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for SmallMap<K, V> {
    type Output = V;

    /// The value for `k`; panics if there is none (as `BTreeMap` does).
    fn index(&self, k: &Q) -> &V {
        self.get(k).expect("no entry for the key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pseudo-random keys in `0..n` from `seed` (a 64-bit LCG's high bits).
    fn keys_below(n: u64, seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % n
        }
    }

    #[test]
    fn behaves_like_a_btree_map() {
        use std::collections::BTreeMap;
        let mut small = SmallMap::new();
        let mut reference = BTreeMap::new();
        let mut keys = keys_below(37, 7);
        for step in 0..2_000u64 {
            let k = keys();
            match step % 5 {
                0 | 1 => assert_eq!(small.insert(k, step), reference.insert(k, step)),
                2 => assert_eq!(small.remove(&k), reference.remove(&k)),
                3 => {
                    *small.get_or_insert_with(k, || 0) += 1;
                    *reference.entry(k).or_insert_with(|| 0) += 1;
                }
                _ => {
                    small.retain(|k, v| (*k + *v) % 11 != 0);
                    reference.retain(|k, v| (*k + *v) % 11 != 0);
                }
            }
            assert_eq!(small.get(&k), reference.get(&k));
            assert_eq!(
                small.get_mut(&k).map(|v| *v),
                reference.get_mut(&k).map(|v| *v)
            );
            assert_eq!(small.len(), reference.len());
            assert!(small.iter().eq(reference.iter()));
            assert!(small.keys().eq(reference.keys()));
            assert!(small.values().eq(reference.values()));
            if reference.contains_key(&k) {
                assert_eq!(small[&k], reference[&k]);
            }
            assert_eq!(small.contains_key(&k), reference.contains_key(&k));
            let pairs: Vec<(u64, u64)> = reference.iter().map(|(k, v)| (*k, *v)).collect();
            assert_eq!(small.entries, pairs);
        }
    }

    #[test]
    fn set_behaves_like_a_btree_set() {
        use std::collections::BTreeSet;
        let mut small = SmallSet::new();
        let mut reference = BTreeSet::new();
        let mut keys = keys_below(29, 11);
        for step in 0..2_000u64 {
            let k = keys();
            match step % 4 {
                0 | 1 => assert_eq!(small.insert(k), reference.insert(k)),
                2 => assert_eq!(small.remove(&k), reference.remove(&k)),
                _ => {
                    small.retain(|k| (*k + step) % 7 != 0);
                    reference.retain(|k| (*k + step) % 7 != 0);
                }
            }
            assert_eq!(small.contains(&k), reference.contains(&k));
            assert_eq!(small.first(), reference.first());
            if step % 13 == 0 {
                assert_eq!(small.pop_first(), reference.pop_first());
            }
            assert_eq!(small.len(), reference.len());
            assert_eq!(small.is_empty(), reference.is_empty());
            assert!(small.iter().eq(reference.iter()));
            assert_eq!(format!("{small:?}"), format!("{reference:?}"));
        }
    }
}
