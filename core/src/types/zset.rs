//! Sorted sets: `listpack` while at most `zset-max-listpack-entries` members
//! of at most `zset-max-listpack-value` bytes, `skiplist` after (one-way,
//! except that the destinations of ZUNIONSTORE & co. and ZRANGESTORE are
//! created compact when they fit, as `zsetConvertToListpackIfNeeded` does).
//! Members are ordered by score, then by member bytes; scores compare with
//! `<` so -0 equals 0, and a listpack (which stores integral scores as
//! integers) turns -0 into 0 while a skiplist keeps it.
//!
//! A small set is packed into one buffer as a listpack is: per entry the
//! member's length (a varint), the member, and the score, an integral one
//! (|s| < 2^53) as a zigzag varint and any other as 8 bytes, so an entry
//! costs about what it costs Redis. Lookups walk the buffer, as Redis walks
//! a listpack (the limits keep it short). Large sets are the rank-indexed
//! [`SkipList`] (which owns the members) plus an [`IndexTable`] of node
//! numbers hashed by member (grown one small shard at a time, never all at
//! once, as Redis's dict grows incrementally), so
//! lookups are O(1), ranks and ranges O(log n), and each member is stored
//! once.
//! Every range (by rank, score or lex) is resolved to a rank interval with
//! [`ZSet::count_prefix`], then walked.

use super::hash::{get_len, get_varint, put_len, put_varint};
use super::index_table::{hash32, IndexTable};
use super::member::Member;
use super::skiplist::{cmp_entry, LazyMember, SkipList};
use crate::config::EncodingLimits;
use ahash::RandomState;
use std::cmp::Ordering;

#[derive(Debug, Clone)]
enum Repr {
    Small(Packed),
    Big(Box<Indexed>),
}

/// The `skiplist` encoding.
#[derive(Debug, Clone)]
struct Indexed {
    /// Skiplist node numbers, indexed by their members' hashes (`hasher`).
    dict: IndexTable,
    hasher: RandomState,
    sl: SkipList,
}

impl Indexed {
    /// The stored 32 bits of a member's hash.
    fn hash32(&self, member: &[u8]) -> u32 {
        hash32(&self.hasher, member)
    }
    /// The skiplist node of a member whose hash is `hash`; a node is read
    /// only when the stored hash agrees.
    fn find_hashed(&self, hash: u32, member: &[u8]) -> Option<u32> {
        self.dict.find(hash, |node| self.sl.node(node).0 == member)
    }
    /// The skiplist node of a member.
    fn find(&self, member: &[u8]) -> Option<u32> {
        self.find_hashed(self.hash32(member), member)
    }
}

/// The `listpack` encoding: `[member length][member][score]` per entry, in
/// (score, member) order. A score's first byte tells its form: an even
/// varint is `zigzag(integer) << 1`; the byte 1 is followed by the score's
/// 8 bytes (little-endian f64). An integral score is stored as an integer
/// as a listpack does, so -0 comes back as 0.
#[derive(Debug, Clone, Default)]
struct Packed {
    buf: Vec<u8>,
    len: usize,
}

/// The tag byte of a score stored as 8 bytes.
const FLOAT_SCORE: u8 = 1;
/// Integral scores below this magnitude are stored as integers (exactly).
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

fn put_score(buf: &mut Vec<u8>, score: f64) {
    if score.fract() == 0.0 && score.abs() < EXACT_INT {
        let i = score as i64;
        put_varint(buf, ((i << 1) ^ (i >> 63)) as u64 * 2);
    } else {
        buf.push(FLOAT_SCORE);
        buf.extend_from_slice(&score.to_le_bytes());
    }
}

#[inline]
fn get_score(buf: &[u8], pos: &mut usize) -> f64 {
    if buf[*pos] == FLOAT_SCORE {
        let bytes = buf[*pos + 1..*pos + 9].try_into().expect("8 bytes");
        *pos += 9;
        f64::from_le_bytes(bytes)
    } else {
        let z = get_varint(buf, pos) / 2;
        ((z >> 1) as i64 ^ -((z & 1) as i64)) as f64
    }
}

/// Walks a [`Packed`]'s entries: the next one starts at `pos`. Walking
/// back, the offsets of the entries left are collected once (a listpack
/// has back-lengths; with at most 128 entries one forward walk does).
#[derive(Debug, Clone)]
pub struct PackedIter<'a> {
    buf: &'a [u8],
    pos: usize,
    left: usize,
    back: Option<Vec<u32>>,
}

impl<'a> PackedIter<'a> {
    #[inline(always)]
    fn decode(buf: &'a [u8], pos: &mut usize) -> (&'a [u8], f64) {
        let n = get_len(buf, pos);
        let m = &buf[*pos..*pos + n];
        *pos += n;
        (m, get_score(buf, pos))
    }
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = (&'a [u8], f64);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(Self::decode(self.buf, &mut self.pos))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for PackedIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (buf, left) = (self.buf, self.left);
        let offsets = self.back.get_or_insert_with(|| {
            let mut pos = self.pos;
            (0..left)
                .map(|_| {
                    let at = pos as u32;
                    Self::decode(buf, &mut pos);
                    at
                })
                .collect()
        });
        let mut at = offsets.pop().expect("one offset per entry left") as usize;
        self.left -= 1;
        Some(Self::decode(buf, &mut at))
    }
}

impl ExactSizeIterator for PackedIter<'_> {}

/// Where a packed entry is: its byte range and its rank.
struct Found {
    from: usize,
    to: usize,
    rank: usize,
    score: f64,
}

impl Packed {
    /// The entries from the one at byte `pos` (rank `rank`) on.
    fn iter_at(&self, pos: usize, rank: usize) -> PackedIter<'_> {
        PackedIter {
            buf: &self.buf,
            pos,
            left: self.len - rank,
            back: None,
        }
    }
    fn iter(&self) -> PackedIter<'_> {
        self.iter_at(0, 0)
    }
    /// Byte offset of the entry with rank `rank` (the end for `len`).
    fn offset_of(&self, rank: usize) -> usize {
        let mut it = self.iter();
        for _ in 0..rank.min(self.len) {
            it.next();
        }
        it.pos
    }
    /// Entries with ranks `start..end` (clamped).
    fn range(&self, start: usize, end: usize) -> PackedIter<'_> {
        let end = end.min(self.len);
        let start = start.min(end);
        let mut it = self.iter_at(self.offset_of(start), start);
        it.left = end - start;
        it
    }
    fn find(&self, member: &[u8]) -> Option<Found> {
        let buf = &self.buf[..];
        let mut pos = 0;
        for rank in 0..self.len {
            let from = pos;
            let n = get_len(buf, &mut pos);
            // Members often share a prefix (`user:1001`, `user:1002`):
            // the last byte rejects most of them before a full compare.
            let hit = n == member.len()
                && (n == 0 || buf[pos + n - 1] == member[n - 1])
                && &buf[pos..pos + n] == member;
            pos += n;
            if hit {
                let score = get_score(buf, &mut pos);
                return Some(Found {
                    from,
                    to: pos,
                    rank,
                    score,
                });
            }
            pos += match buf[pos] {
                FLOAT_SCORE => 9,
                0..=0x7f => 1,
                // A longer varint.
                _ => buf[pos..].iter().position(|b| b & 0x80 == 0).expect("end") + 1,
            };
        }
        None
    }
    /// Number of leading entries for which `pred` holds, and the byte
    /// offset where the first one it fails on starts.
    fn partition(&self, pred: impl Fn(f64, &[u8]) -> bool) -> (usize, usize) {
        let mut it = self.iter();
        let mut n = 0;
        loop {
            let at = it.pos;
            match it.next() {
                Some((m, s)) if pred(s, m) => n += 1,
                _ => return (n, at),
            }
        }
    }
    /// Insert an entry for a member that is not there, at its place.
    fn insert_new(&mut self, member: &[u8], score: f64) {
        let (_, at) = self.partition(|s, m| cmp_entry(s, m, score, member) == Ordering::Less);
        // Written at the end, then rotated into place (no temporary).
        let end = self.buf.len();
        self.buf.reserve_exact(member.len() + 12);
        put_len(&mut self.buf, member.len());
        self.buf.extend_from_slice(member);
        put_score(&mut self.buf, score);
        let entry_len = self.buf.len() - end;
        self.buf[at..].rotate_right(entry_len);
        self.len += 1;
    }
    fn remove_bytes(&mut self, from: usize, to: usize, entries: usize) {
        self.buf.drain(from..to);
        self.len -= entries;
    }
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet {
            repr: Repr::Small(Packed::default()),
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

/// A sorted set.
#[derive(Debug, Clone)]
pub struct ZSet {
    repr: Repr,
}

/// Iterator over (member, score) of a [`ZSet`], from either end.
pub enum ZIter<'a> {
    /// Over a listpack.
    Small(PackedIter<'a>),
    /// Over a skiplist.
    Big(super::skiplist::SkipRange<'a>),
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a [u8], f64);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Small(it) => it.next(),
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
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Small(it) => it.next_back(),
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
            repr: Repr::Big(Box::new(Indexed {
                dict: IndexTable::default(),
                hasher: super::hash::members_state(),
                sl: SkipList::new(),
            })),
        }
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(p) => p.len,
            Repr::Big(b) => b.sl.len(),
        }
    }
    /// Whether it has no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A member's score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Small(p) => p.find(member).map(|f| f.score),
            Repr::Big(b) => b.find(member).map(|i| b.sl.node(i).1),
        }
    }
    /// Add or update a member; true if it is new.
    pub fn insert<M: AsRef<[u8]> + Into<Member>>(&mut self, member: M, score: f64) -> bool {
        match &mut self.repr {
            Repr::Small(p) => {
                let member = member.as_ref();
                let mut new = true;
                if let Some(f) = p.find(member) {
                    // -0 and 0 are the same score (and stored alike).
                    if f.score == score {
                        return false;
                    }
                    p.remove_bytes(f.from, f.to, 1);
                    new = false;
                }
                p.insert_new(member, score);
                new
            }
            Repr::Big(b) => {
                let hash = b.hash32(member.as_ref());
                match b.find_hashed(hash, member.as_ref()) {
                    Some(node) => {
                        let old = b.sl.node(node).1;
                        if old != score {
                            // Reinserted into the slot just freed (SCAN
                            // relies on a member keeping its slot, and the
                            // index on its node number).
                            let m = b.sl.remove(old, member.as_ref()).expect("indexed member");
                            let again = b.sl.insert(score, m);
                            debug_assert_eq!(again, node);
                        }
                        false
                    }
                    None => {
                        let node = b.sl.insert(score, member.into());
                        b.dict.insert(hash, node);
                        true
                    }
                }
            }
        }
    }
    /// Add or update a member as `zsetAdd` does: a new member that would
    /// overflow the listpack limits converts the set to a skiplist *before*
    /// it is inserted (so it keeps a -0 score). True if it is new.
    pub fn insert_converting<M: AsRef<[u8]> + Into<Member>>(
        &mut self,
        member: M,
        score: f64,
        limits: &EncodingLimits,
    ) -> bool {
        if let Repr::Small(p) = &self.repr {
            if (p.len + 1 > limits.zset_max_listpack_entries
                || member.as_ref().len() > limits.zset_max_listpack_value)
                && p.find(member.as_ref()).is_none()
            {
                self.convert_to_big();
            }
        }
        self.insert(member, score)
    }
    /// Remove a member; its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Small(p) => {
                let f = p.find(member)?;
                p.remove_bytes(f.from, f.to, 1);
                Some(f.score)
            }
            Repr::Big(b) => {
                let hash = b.hash32(member);
                let node = b.find_hashed(hash, member)?;
                b.dict.remove(hash, node);
                let s = b.sl.node(node).1;
                b.sl.remove(s, member);
                Some(s)
            }
        }
    }
    /// 0-based rank of a member, lowest score first.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Small(p) => p.find(member).map(|f| f.rank),
            Repr::Big(b) => b.find(member).map(|i| {
                let (m, s) = b.sl.node(i);
                b.sl.rank(s, m)
            }),
        }
    }
    /// The member and score at a 0-based rank.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Small(p) => p.range(rank, rank + 1).next(),
            Repr::Big(b) => b.sl.get(rank),
        }
    }
    /// Number of leading members (in order) for which `pred(score, member)`
    /// holds; `pred` must be true on a prefix of the order then false. The
    /// member is read only if `pred` calls for it.
    pub fn count_prefix(&self, pred: impl Fn(f64, LazyMember<'_>) -> bool) -> usize {
        match &self.repr {
            Repr::Small(p) => p.partition(|s, m| pred(s, &|| m)).0,
            Repr::Big(b) => b.sl.count_prefix(pred),
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
        let v: Vec<&[u8]> = match &self.repr {
            Repr::Big(b) => {
                let lo = b.sl.count_prefix(|_, m| min.below_min(m()));
                let hi = b.sl.count_prefix(|_, m| max.within_max(m())).max(lo);
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
            Repr::Small(p) => p.iter().map(|e| e.0).collect(),
        };
        let (Some(first), Some(last)) = (v.first(), v.last()) else {
            return (0, 0);
        };
        if LexBound::empty_range(min, max) || min.below_min(last) || !max.within_max(first) {
            return (0, 0);
        }
        let limit = limit.unwrap_or(usize::MAX);
        if rev {
            let start = v
                .iter()
                .rposition(|m| max.within_max(m))
                .expect("the first member is within max");
            if min.below_min(v[start]) || offset > start {
                return (0, 0);
            }
            let from = start - offset;
            let n = v[..=from]
                .iter()
                .rev()
                .take(limit)
                .take_while(|m| !min.below_min(m))
                .count();
            (from + 1 - n, n)
        } else {
            let start = v
                .iter()
                .position(|m| !min.below_min(m))
                .expect("the last member is not below min");
            if !max.within_max(v[start]) || start + offset >= v.len() {
                return (0, 0);
            }
            let from = start + offset;
            let n = v[from..]
                .iter()
                .take(limit)
                .take_while(|m| max.within_max(m))
                .count();
            (from, n)
        }
    }
    /// Number of positions a SCAN walks: members of a listpack, node
    /// slots of a skiplist (see [`scan_at`](Self::scan_at)).
    pub fn scan_len(&self) -> usize {
        match &self.repr {
            Repr::Small(p) => p.len,
            Repr::Big(b) => b.sl.slot_count() - 1,
        }
    }
    /// The member at a SCAN position, if any. A skiplist is walked by node
    /// slot, not by rank: a member keeps its slot for as long as it is in
    /// the set (score updates included), while inserts and deletes shift
    /// ranks, so walking slots gives SCAN's guarantee.
    pub fn scan_at(&self, pos: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Small(_) => self.get(pos),
            Repr::Big(b) => b.sl.slot(pos + 1),
        }
    }
    /// Members with scores, lowest score first (reversible).
    pub fn iter(&self) -> ZIter<'_> {
        match &self.repr {
            Repr::Small(p) => ZIter::Small(p.iter()),
            Repr::Big(b) => ZIter::Big(b.sl.range(0, b.sl.len())),
        }
    }
    /// Members with ranks `start..end`, ascending (reversible).
    pub fn range(&self, start: usize, end: usize) -> ZIter<'_> {
        match &self.repr {
            Repr::Small(p) => ZIter::Small(p.range(start, end)),
            Repr::Big(b) => ZIter::Big(b.sl.range(start, end)),
        }
    }
    /// Members from rank `start` on, ascending, or descending when `rev`.
    pub fn iter_from(
        &self,
        start: usize,
        rev: bool,
    ) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match &self.repr {
            Repr::Small(p) => {
                if rev {
                    let end = if start < p.len { start + 1 } else { 0 };
                    Box::new(p.range(0, end).rev())
                } else {
                    Box::new(p.range(start, p.len))
                }
            }
            Repr::Big(b) => Box::new(b.sl.iter_from(start, rev)),
        }
    }
    /// Remove the members with ranks `start..end`; how many were removed.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        match &mut self.repr {
            Repr::Small(p) => {
                let from = p.offset_of(start);
                let mut it = p.iter_at(from, start);
                for _ in start..end {
                    it.next();
                }
                let to = it.pos;
                p.remove_bytes(from, to, end - start);
            }
            Repr::Big(_) => {
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
        if let Repr::Small(p) = &mut self.repr {
            p.buf.shrink_to_fit();
        }
    }
    /// Switch to `skiplist` past the listpack limits (one-way).
    pub fn update_encoding(&mut self, limits: &EncodingLimits) {
        if let Repr::Small(p) = &self.repr {
            if p.len > limits.zset_max_listpack_entries
                || p.iter().any(|e| e.0.len() > limits.zset_max_listpack_value)
            {
                self.convert_to_big();
            } else {
                self.release_spare_capacity();
            }
        }
    }
    /// Go back to `listpack` if the contents fit (store destinations only).
    pub fn compact_if_fits(&mut self, limits: &EncodingLimits) {
        if let Repr::Big(b) = &self.repr {
            if b.sl.len() <= limits.zset_max_listpack_entries
                && b.sl
                    .iter_from(0, false)
                    .all(|e| e.0.len() <= limits.zset_max_listpack_value)
            {
                let mut p = Packed::default();
                for (m, s) in b.sl.iter_from(0, false) {
                    put_len(&mut p.buf, m.len());
                    p.buf.extend_from_slice(m);
                    put_score(&mut p.buf, s);
                    p.len += 1;
                }
                p.buf.shrink_to_fit();
                self.repr = Repr::Small(p);
            }
        }
    }
    fn convert_to_big(&mut self) {
        if let Repr::Small(p) = &self.repr {
            let mut big = ZSet::new_big();
            if let Repr::Big(b) = &mut big.repr {
                b.dict = IndexTable::with_capacity(p.len);
                for (m, s) in p.iter() {
                    let hash = b.hash32(m);
                    let node = b.sl.insert(s, m.into());
                    b.dict.insert(hash, node);
                }
            }
            *self = big;
        }
    }
    /// `listpack` or `skiplist`.
    pub fn encoding_name(&self) -> &'static str {
        match self.repr {
            Repr::Small(_) => "listpack",
            Repr::Big(_) => "skiplist",
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
        let below = |s: f64, _: LazyMember<'_>| s < 1.0;
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
            let below = |s: f64, _: LazyMember<'_>| s < score;
            assert_eq!(small.count_prefix(below), big.count_prefix(below));
        }
        check_same(&small, &big);
        assert_eq!(small.len(), big.len());
    }

    /// A skiplist set's index through many shard splits, with a run of
    /// removals after each one (so freed node numbers are reused): every
    /// member is found with its score, and the index holds exactly the
    /// members.
    #[test]
    fn big_set_index_through_shard_splits() {
        let mut big = ZSet::new_big();
        let mut model = std::collections::HashMap::new();
        let mut seed = 7u64;
        let (mut removing_for, mut splits) = (0u32, 0u32);
        for step in 0..80_000u32 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let m = format!("m{}", (seed >> 33) % 50_000).into_bytes();
            let score = ((seed >> 13) % 1000) as f64;
            let Repr::Big(b) = &big.repr else {
                unreachable!("stays a skiplist")
            };
            let shards = b.dict.shard_count();
            if removing_for > 0 && (seed >> 60) < 12 {
                let victim = model.keys().next().cloned().unwrap_or(m);
                assert_eq!(big.remove(&victim), model.remove(&victim));
            } else {
                assert_eq!(
                    big.insert(m.clone(), score),
                    model.insert(m, score).is_none()
                );
            }
            let Repr::Big(b) = &big.repr else {
                unreachable!("stays a skiplist")
            };
            if b.dict.shard_count() > shards {
                (removing_for, splits) = (200, splits + 1);
            } else {
                removing_for = removing_for.saturating_sub(1);
            }
            assert_eq!(b.dict.len(), model.len());
            if step % 4999 == 0 {
                for (m, &s) in &model {
                    assert_eq!(big.score(m), Some(s));
                }
            }
        }
        assert!(splits >= 3, "the index was split: {splits}");
        assert_eq!(big.len(), model.len());
    }

    #[test]
    fn packed_scores_come_back_exactly() {
        let big = EXACT_INT;
        for s in [
            0.0,
            1.0,
            -1.0,
            63.0,
            64.0,
            -64.0,
            999.0,
            0.5,
            -2.25,
            big - 1.0,
            -(big - 1.0),
            big,
            -big,
            1e300,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let mut buf = vec![7];
            put_score(&mut buf, s);
            let mut pos = 1;
            assert_eq!(get_score(&buf, &mut pos).to_bits(), s.to_bits(), "{s}");
            assert_eq!(pos, buf.len(), "{s}");
        }
        // Integral scores are integers, so -0 comes back as 0.
        let mut buf = Vec::new();
        put_score(&mut buf, -0.0);
        assert_eq!(get_score(&buf, &mut 0).to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn a_small_set_takes_about_a_listpacks_bytes() {
        // Members like `m:123456` with scores 0..999: Redis's listpack
        // spends 12-13 bytes an entry (header, member, back-length, and an
        // integer score with its own header and back-length).
        let mut z = ZSet::new();
        for i in 0..100 {
            z.insert(format!("m:{}", 123400 + i).into_bytes(), (i * 10) as f64);
        }
        z.release_spare_capacity();
        let Repr::Small(p) = &z.repr else {
            panic!("100 members stay a listpack")
        };
        assert!(p.buf.len() <= 100 * 11, "{} bytes", p.buf.len());
        assert!(p.buf.capacity() == p.buf.len());
        assert!(std::mem::size_of::<ZSet>() <= 32);
    }

    #[test]
    fn packed_ranges_walk_both_ways() {
        let mut small = ZSet::new();
        let mut big = ZSet::new_big();
        for i in 0..40 {
            let m = format!("m{}", (i * 7) % 40).into_bytes();
            let s = if i % 3 == 0 {
                i as f64 / 4.0
            } else {
                (i % 5) as f64
            };
            small.insert(m.clone(), s);
            big.insert(m, s);
        }
        let all =
            |it: ZIter<'_>| -> Vec<(Vec<u8>, f64)> { it.map(|(m, s)| (m.to_vec(), s)).collect() };
        for (a, b) in [(0, 40), (3, 17), (39, 40), (10, 10), (12, 99)] {
            assert_eq!(all(small.range(a, b)), all(big.range(a, b)));
            let rs: Vec<_> = small
                .range(a, b)
                .rev()
                .map(|(m, s)| (m.to_vec(), s))
                .collect();
            let rb: Vec<_> = big
                .range(a, b)
                .rev()
                .map(|(m, s)| (m.to_vec(), s))
                .collect();
            assert_eq!(rs, rb);
            assert_eq!(small.range(a, b).len(), big.range(a, b).len());
        }
        for start in [0, 5, 39, 40] {
            for rev in [false, true] {
                let a: Vec<_> = small
                    .iter_from(start, rev)
                    .map(|(m, s)| (m.to_vec(), s))
                    .collect();
                let b: Vec<_> = big
                    .iter_from(start, rev)
                    .map(|(m, s)| (m.to_vec(), s))
                    .collect();
                assert_eq!(a, b, "from {start} rev {rev}");
            }
        }
        // Both ends at once meet in the middle without repeating an entry.
        let mut it = small.range(0, 40);
        let mut seen = Vec::new();
        while let Some(e) = it.next() {
            seen.push(e.0.to_vec());
            if let Some(e) = it.next_back() {
                seen.push(e.0.to_vec());
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 40);
        for r in [0, 1, 20, 39, 40] {
            assert_eq!(small.get(r), big.get(r));
            assert_eq!(small.scan_at(r), big.get(r));
        }
        let lex = (
            LexBound::Incl(b"m1".to_vec()),
            LexBound::Excl(b"m3".to_vec()),
        );
        let mut same_score = ZSet::new();
        for i in 0..30 {
            same_score.insert(format!("m{i}").into_bytes(), 1.0);
        }
        let (first, n) = same_score.lex_range(&lex.0, &lex.1, false, 2, Some(5));
        let got: Vec<_> = same_score
            .range(first, first + n)
            .map(|e| e.0.to_vec())
            .collect();
        assert_eq!(
            got,
            [
                b"m11".to_vec(),
                b"m12".to_vec(),
                b"m13".to_vec(),
                b"m14".to_vec(),
                b"m15".to_vec()
            ]
        );
        assert_eq!(small.remove_rank_range(5, 12), big.remove_rank_range(5, 12));
        assert_eq!(all(small.iter()), all(big.iter()));
        assert_eq!(small.len(), 33);
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
