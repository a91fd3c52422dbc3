//! Sorted sets: `listpack` while at most `zset-max-listpack-entries` members
//! of at most `zset-max-listpack-value` bytes, `skiplist` after (one-way,
//! except that the destinations of ZUNIONSTORE & co. and ZRANGESTORE are
//! created compact when they fit, as `zsetConvertToListpackIfNeeded` does).
//! Members are ordered by score, then by member bytes; scores compare with
//! `<` so -0 equals 0, and a listpack (which stores integral scores as
//! integers) turns -0 into 0 while a skiplist keeps it.
//!
//! Small sets are a sorted vector (the listpack's order), large ones the
//! rank-indexed [`SkipList`] (which owns the members) plus a hash table of
//! node indices hashed by member, so lookups are O(1), ranks and ranges
//! O(log n), and each member is stored once.
//! Every range (by rank, score or lex) is resolved to a rank interval with
//! [`ZSet::count_prefix`], then walked.

use super::skiplist::{cmp_entry, SkipList};
use crate::config::EncodingLimits;
use ahash::RandomState;
use hashbrown::HashTable;

/// A listpack member: up to 16 bytes inline (no allocation of its own), as
/// a listpack keeps short strings inside its one buffer.
type SmallMember = smallvec::SmallVec<[u8; 16]>;

#[derive(Debug, Clone)]
enum Repr {
    Small(Vec<(SmallMember, f64)>),
    Big {
        /// Skiplist node indices, hashed by member with `hasher`.
        dict: HashTable<u32>,
        hasher: RandomState,
        sl: SkipList,
    },
}

/// A sorted set.
#[derive(Debug, Clone)]
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet {
            repr: Repr::Small(Vec::new()),
        }
    }
}

impl PartialEq for ZSet {
    fn eq(&self, o: &Self) -> bool {
        self.encoding_name() == o.encoding_name()
            && self.len() == o.len()
            && self
                .iter()
                .zip(o.iter())
                .all(|(a, b)| a.0 == b.0 && a.1 == b.1)
    }
}

/// Iterator over (member, score) of a [`ZSet`], from either end.
pub enum ZIter<'a> {
    /// Over a listpack.
    Small(std::slice::Iter<'a, (SmallMember, f64)>),
    /// Over a skiplist.
    Big(super::skiplist::SkipRange<'a>),
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a [u8], f64);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Small(it) => it.next().map(|e| (&*e.0, e.1)),
            ZIter::Big(it) => it.next(),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            ZIter::Small(it) => it.size_hint(),
            ZIter::Big(it) => it.size_hint(),
        }
    }
}

impl DoubleEndedIterator for ZIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Small(it) => it.next_back().map(|e| (&*e.0, e.1)),
            ZIter::Big(it) => it.next_back(),
        }
    }
}

impl ExactSizeIterator for ZIter<'_> {}

/// One end of a lexicographic range (`ZRANGEBYLEX`'s `-`, `+`, `[x`, `(x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`
    NegInf,
    /// `+`
    PosInf,
    /// `[x`
    Incl(Vec<u8>),
    /// `(x`
    Excl(Vec<u8>),
}

impl LexBound {
    /// Parse `-`, `+`, `[x` or `(x`; `None` for anything else.
    pub fn parse(s: &[u8]) -> Option<LexBound> {
        match s.first()? {
            b'+' if s.len() == 1 => Some(LexBound::PosInf),
            b'-' if s.len() == 1 => Some(LexBound::NegInf),
            b'[' => Some(LexBound::Incl(s[1..].to_vec())),
            b'(' => Some(LexBound::Excl(s[1..].to_vec())),
            _ => None,
        }
    }
    /// Whether `m` is below this bound taken as a minimum (not in range).
    pub fn below_min(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(x) => m < &x[..],
            LexBound::Excl(x) => m <= &x[..],
        }
    }
    /// Whether a range is empty whatever the set holds (`zslParseLexRange`'s
    /// callers, by `sdscmplex`): `min` after `max`, or equal with either end
    /// exclusive (`-` and `+` count as exclusive).
    pub fn empty_range(min: &LexBound, max: &LexBound) -> bool {
        use std::cmp::Ordering::*;
        let (cmp, exclusive) = match (min, max) {
            (LexBound::NegInf, LexBound::NegInf) | (LexBound::PosInf, LexBound::PosInf) => {
                (Equal, true)
            }
            (LexBound::NegInf, _) | (_, LexBound::PosInf) => (Less, true),
            (LexBound::PosInf, _) | (_, LexBound::NegInf) => (Greater, true),
            (LexBound::Incl(a) | LexBound::Excl(a), LexBound::Incl(b) | LexBound::Excl(b)) => (
                a.cmp(b),
                matches!(min, LexBound::Excl(_)) || matches!(max, LexBound::Excl(_)),
            ),
        };
        cmp == Greater || (cmp == Equal && exclusive)
    }
    /// Whether `m` is within this bound taken as a maximum.
    pub fn within_max(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(x) => m <= &x[..],
            LexBound::Excl(x) => m < &x[..],
        }
    }
}

impl ZSet {
    /// An empty sorted set (listpack).
    pub fn new() -> Self {
        Self::default()
    }
    /// An empty sorted set already in the `skiplist` encoding.
    pub fn new_big() -> Self {
        ZSet {
            repr: Repr::Big {
                dict: HashTable::new(),
                hasher: super::hash::fixed_state(),
                sl: SkipList::new(),
            },
        }
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(v) => v.len(),
            Repr::Big { sl, .. } => sl.len(),
        }
    }
    /// Whether it has no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A member's score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Small(v) => v.iter().find(|e| &*e.0 == member).map(|e| e.1),
            Repr::Big { dict, hasher, sl } => {
                let h = hasher.hash_one(member);
                dict.find(h, |&i| sl.node(i).0 == member)
                    .map(|&i| sl.node(i).1)
            }
        }
    }
    /// Add or update a member; true if it is new.
    pub fn insert(&mut self, member: Vec<u8>, score: f64) -> bool {
        match &mut self.repr {
            Repr::Small(v) => {
                // A listpack stores an integral score as an integer: -0
                // comes back as 0.
                let score = if score == 0.0 { 0.0 } else { score };
                let mut new = true;
                if let Some(pos) = v.iter().position(|e| *e.0 == member[..]) {
                    if v[pos].1 == score {
                        return false;
                    }
                    v.remove(pos);
                    new = false;
                }
                let pos = v.partition_point(|e| cmp_entry(e.1, &e.0, score, &member).is_lt());
                v.insert(pos, (SmallMember::from_vec(member), score));
                new
            }
            Repr::Big { dict, hasher, sl } => {
                let h = hasher.hash_one(&member[..]);
                match dict.find_mut(h, |&i| sl.node(i).0 == &member[..]) {
                    Some(slot) => {
                        let old = sl.node(*slot).1;
                        if old != score {
                            // Reinserted into the slot just freed (SCAN
                            // relies on a member keeping its slot).
                            let m = sl.remove(old, &member).expect("indexed member");
                            let idx = sl.insert(score, m);
                            debug_assert_eq!(idx, *slot);
                            *slot = idx;
                        }
                        false
                    }
                    None => {
                        let idx = sl.insert(score, member.into_boxed_slice());
                        dict.insert_unique(h, idx, |&i| hasher.hash_one(sl.node(i).0));
                        true
                    }
                }
            }
        }
    }
    /// Add or update a member as `zsetAdd` does: a new member that would
    /// overflow the listpack limits converts the set to a skiplist *before*
    /// it is inserted (so it keeps a -0 score). True if it is new.
    pub fn insert_converting(
        &mut self,
        member: Vec<u8>,
        score: f64,
        limits: &EncodingLimits,
    ) -> bool {
        if let Repr::Small(v) = &self.repr {
            if (v.len() + 1 > limits.zset_max_listpack_entries
                || member.len() > limits.zset_max_listpack_value)
                && !v.iter().any(|e| *e.0 == member[..])
            {
                self.convert_to_big();
            }
        }
        self.insert(member, score)
    }
    /// Remove a member; its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Small(v) => {
                let pos = v.iter().position(|e| &*e.0 == member)?;
                Some(v.remove(pos).1)
            }
            Repr::Big { dict, hasher, sl } => {
                let h = hasher.hash_one(member);
                let entry = dict.find_entry(h, |&i| sl.node(i).0 == member).ok()?;
                let (idx, _) = entry.remove();
                let s = sl.node(idx).1;
                sl.remove(s, member);
                Some(s)
            }
        }
    }
    /// 0-based rank of a member, lowest score first.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Small(v) => v.iter().position(|e| &*e.0 == member),
            Repr::Big { .. } => self.score(member).map(|s| match &self.repr {
                Repr::Big { sl, .. } => sl.rank(s, member),
                Repr::Small(_) => unreachable!("big"),
            }),
        }
    }
    /// The member and score at a 0-based rank.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Small(v) => v.get(rank).map(|e| (&*e.0, e.1)),
            Repr::Big { sl, .. } => sl.get(rank),
        }
    }
    /// Number of leading members (in order) for which `pred(score, member)`
    /// holds; `pred` must be true on a prefix of the order then false.
    pub fn count_prefix(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Small(v) => v.partition_point(|e| pred(e.1, &e.0)),
            Repr::Big { sl, .. } => sl.count_prefix(pred),
        }
    }
    /// The members a lexicographic range selects, skipping `offset` and
    /// taking at most `limit`, as `(first rank, count)` (ascending ranks;
    /// `rev` walks from the top as ZREVRANGEBYLEX does).
    ///
    /// Redis defines lex ranges only when all scores are equal, but a
    /// listpack answers deterministically otherwise, and this follows its
    /// walk exactly (`zzlFirstInLexRange`/`zzlLastInLexRange`, then the
    /// loop of `genericZrangebylexCommand`): a range whose ends are out of
    /// order, or whose set's last member is below `min` or first member
    /// above `max`, is empty; the walk starts at the first member (from the
    /// end: the last) within the near end, skips `offset` members unchecked,
    /// then takes members while they are within the far end. A skiplist's
    /// answer with mixed scores depends on Redis's random node levels, so
    /// there the range is resolved with two O(log n) rank searches (the
    /// same answer whenever the order by member agrees with the order).
    pub fn lex_range(
        &self,
        min: &LexBound,
        max: &LexBound,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> (usize, usize) {
        let v = match &self.repr {
            Repr::Big { sl, .. } => {
                let lo = sl.count_prefix(|_, m| min.below_min(m));
                let hi = sl.count_prefix(|_, m| max.within_max(m)).max(lo);
                let total = hi - lo;
                if offset >= total {
                    return (lo, 0);
                }
                let take = limit.unwrap_or(usize::MAX).min(total - offset);
                return if rev {
                    (hi - offset - take, take)
                } else {
                    (lo + offset, take)
                };
            }
            Repr::Small(v) => v,
        };
        let (Some(first), Some(last)) = (v.first(), v.last()) else {
            return (0, 0);
        };
        if LexBound::empty_range(min, max) || min.below_min(&last.0) || !max.within_max(&first.0) {
            return (0, 0);
        }
        let limit = limit.unwrap_or(usize::MAX);
        if rev {
            let start = v
                .iter()
                .rposition(|e| max.within_max(&e.0))
                .expect("the first member is within max");
            if min.below_min(&v[start].0) || offset > start {
                return (0, 0);
            }
            let from = start - offset;
            let n = v[..=from]
                .iter()
                .rev()
                .take(limit)
                .take_while(|e| !min.below_min(&e.0))
                .count();
            (from + 1 - n, n)
        } else {
            let start = v
                .iter()
                .position(|e| !min.below_min(&e.0))
                .expect("the last member is not below min");
            if !max.within_max(&v[start].0) || start + offset >= v.len() {
                return (0, 0);
            }
            let from = start + offset;
            let n = v[from..]
                .iter()
                .take(limit)
                .take_while(|e| max.within_max(&e.0))
                .count();
            (from, n)
        }
    }
    /// Number of positions a SCAN walks: members of a listpack, node
    /// slots of a skiplist (see [`scan_at`](Self::scan_at)).
    pub fn scan_len(&self) -> usize {
        match &self.repr {
            Repr::Small(v) => v.len(),
            Repr::Big { sl, .. } => sl.slot_count() - 1,
        }
    }
    /// The member at a SCAN position, if any. A skiplist is walked by node
    /// slot, not by rank: a member keeps its slot for as long as it is in
    /// the set (score updates included), while inserts and deletes shift
    /// ranks, so walking slots gives SCAN's guarantee.
    pub fn scan_at(&self, pos: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Small(v) => v.get(pos).map(|e| (&*e.0, e.1)),
            Repr::Big { sl, .. } => sl.slot(pos + 1),
        }
    }
    /// Members with scores, lowest score first (reversible).
    pub fn iter(&self) -> ZIter<'_> {
        self.range(0, self.len())
    }
    /// Members with ranks `start..end`, ascending (reversible).
    pub fn range(&self, start: usize, end: usize) -> ZIter<'_> {
        match &self.repr {
            Repr::Small(v) => {
                let end = end.min(v.len());
                ZIter::Small(v[start.min(end)..end].iter())
            }
            Repr::Big { sl, .. } => ZIter::Big(sl.range(start, end)),
        }
    }
    /// Members from rank `start` on, ascending, or descending when `rev`.
    pub fn iter_from(
        &self,
        start: usize,
        rev: bool,
    ) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match &self.repr {
            Repr::Small(v) => {
                if rev {
                    let end = (start + 1).min(v.len());
                    Box::new(v[..end].iter().rev().map(|e| (&*e.0, e.1)))
                } else {
                    Box::new(v[start.min(v.len())..].iter().map(|e| (&*e.0, e.1)))
                }
            }
            Repr::Big { sl, .. } => Box::new(sl.iter_from(start, rev)),
        }
    }
    /// Remove the members with ranks `start..end`; how many were removed.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        match &mut self.repr {
            Repr::Small(v) => {
                v.drain(start..end);
            }
            Repr::Big { .. } => {
                let victims: Vec<Vec<u8>> = self
                    .iter_from(start, false)
                    .take(end - start)
                    .map(|e| e.0.to_vec())
                    .collect();
                for m in victims {
                    self.remove(&m);
                }
            }
        }
        end - start
    }
    /// A listpack keeps no spare room between commands (it is one exact
    /// allocation in Redis); called after a command added members.
    pub fn release_spare_capacity(&mut self) {
        if let Repr::Small(v) = &mut self.repr {
            v.shrink_to_fit();
        }
    }
    /// Switch to `skiplist` past the listpack limits (one-way).
    pub fn update_encoding(&mut self, limits: &EncodingLimits) {
        if let Repr::Small(v) = &self.repr {
            if v.len() > limits.zset_max_listpack_entries
                || v.iter().any(|e| e.0.len() > limits.zset_max_listpack_value)
            {
                self.convert_to_big();
            }
        }
    }
    /// Go back to `listpack` if the contents fit (store destinations only).
    pub fn compact_if_fits(&mut self, limits: &EncodingLimits) {
        if let Repr::Big { sl, .. } = &self.repr {
            if sl.len() <= limits.zset_max_listpack_entries
                && sl
                    .iter_from(0, false)
                    .all(|e| e.0.len() <= limits.zset_max_listpack_value)
            {
                let v = sl
                    .iter_from(0, false)
                    .map(|(m, s)| (SmallMember::from_slice(m), if s == 0.0 { 0.0 } else { s }))
                    .collect();
                self.repr = Repr::Small(v);
            }
        }
    }
    fn convert_to_big(&mut self) {
        if let Repr::Small(v) = &mut self.repr {
            let v = std::mem::take(v);
            let mut big = ZSet::new_big();
            if let Repr::Big { dict, hasher, sl } = &mut big.repr {
                for (m, s) in v {
                    let h = hasher.hash_one(&m[..]);
                    let idx = sl.insert(s, Box::from(&m[..]));
                    dict.insert_unique(h, idx, |&i| hasher.hash_one(sl.node(i).0));
                }
            }
            *self = big;
        }
    }
    /// `listpack` or `skiplist`.
    pub fn encoding_name(&self) -> &'static str {
        match self.repr {
            Repr::Small(_) => "listpack",
            Repr::Big { .. } => "skiplist",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_same(a: &ZSet, b: &ZSet) {
        let x: Vec<_> = a.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        let y: Vec<_> = b.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(x, y);
    }

    #[test]
    fn small_and_big_agree() {
        let mut small = ZSet::new();
        let mut big = ZSet::new_big();
        for (i, m) in ["c", "a", "b", "d", "a", "e"].iter().enumerate() {
            let s = (i % 3) as f64;
            assert_eq!(
                small.insert(m.as_bytes().to_vec(), s),
                big.insert(m.as_bytes().to_vec(), s)
            );
        }
        check_same(&small, &big);
        assert_eq!(small.rank(b"b"), big.rank(b"b"));
        assert_eq!(small.remove(b"c"), big.remove(b"c"));
        check_same(&small, &big);
        let below = |s: f64, _: &[u8]| s < 1.0;
        assert_eq!(small.count_prefix(below), big.count_prefix(below));
        assert_eq!(small.remove_rank_range(1, 3), big.remove_rank_range(1, 3));
        check_same(&small, &big);
        small.insert(b"z".to_vec(), -0.0);
        small.insert(b"y".to_vec(), 0.0);
        // -0 and 0 tie, so the member decides: y before z.
        assert_eq!(small.rank(b"y").unwrap() + 1, small.rank(b"z").unwrap());
        let mut c = small.clone();
        c.update_encoding(&EncodingLimits {
            zset_max_listpack_entries: 1,
            ..EncodingLimits::default()
        });
        assert_eq!(c.encoding_name(), "skiplist");
        check_same(&c, &small);
        c.compact_if_fits(&EncodingLimits::default());
        assert_eq!(c.encoding_name(), "listpack");
    }

    #[test]
    fn big_matches_small_under_random_operations() {
        let mut small = ZSet::new();
        let mut big = ZSet::new_big();
        let mut seed = 99u64;
        for _ in 0..5000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let m = format!("m{}", (seed >> 33) % 200).into_bytes();
            let score = ((seed >> 13) % 7) as f64 - 3.0;
            if (seed >> 60) < 5 {
                assert_eq!(small.remove(&m), big.remove(&m));
            } else {
                assert_eq!(small.insert(m.clone(), score), big.insert(m.clone(), score));
            }
            assert_eq!(small.score(&m), big.score(&m));
            assert_eq!(small.rank(&m), big.rank(&m));
        }
        check_same(&small, &big);
        assert_eq!(small.len(), big.len());
    }

    #[test]
    fn a_member_keeps_its_scan_position_while_it_stays() {
        let mut z = ZSet::new_big();
        for i in 0..100 {
            z.insert(format!("m{i}").into_bytes(), i as f64);
        }
        let position = |z: &ZSet, m: &[u8]| {
            (0..z.scan_len()).find(|&p| z.scan_at(p).is_some_and(|e| e.0 == m))
        };
        let before = position(&z, b"m50").expect("present");
        z.insert(b"m50".to_vec(), -7.0);
        z.insert(b"new".to_vec(), -100.0);
        z.remove(b"m3");
        z.insert(b"m50".to_vec(), 1e9);
        assert_eq!(position(&z, b"m50"), Some(before));
        assert_eq!(z.scan_at(before), Some((&b"m50"[..], 1e9)));
        let live = (0..z.scan_len())
            .filter(|&p| z.scan_at(p).is_some())
            .count();
        assert_eq!(live, z.len());
    }
}
