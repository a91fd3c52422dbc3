//! The skiplist with spans of Redis's `t_zset.c` (`zslInsert`,
//! `zslDeleteNode`, `zslGetRank`, `zslGetElementByRank`), in arenas
//! addressed by index (no unsafe, no pointer chasing through `Rc`).
//! Ordered by score, then member bytes (`sdscmp`); scores compare with `<`,
//! so -0 and 0 are equal. Every rank and range lookup is O(log n) expected.
//! Levels come from a private xorshift generator with p = 1/4: they only
//! shape the index, never an observable result.
//!
//! Layout, for few cache misses on a large set: a node holds its member
//! inline when short ([`Member`]), its score, and its level-0 links, so a
//! walk along level 0 (a range) reads one node per element. Levels 1 and
//! up (one node in four has any) live in one shared arena, each node's as
//! a contiguous block, and every such link carries a copy of the score of
//! the node it leads to and where that node's block starts: a search
//! decides each step from the link it is reading and moves on to the next
//! block without visiting the node in between, as Redis's search reads
//! the next node's score, one cache line per step. It visits a node only
//! at level 0 and when two scores tie (then the member decides).
//!
//! A node slot keeps its block for good: a freed slot is reused, with its
//! level, by the next insert (last freed first), so the levels stay the
//! geometric draws they were and a member whose score changes keeps its
//! slot.

use super::member::Member;
use std::cmp::Ordering;

const MAX_LEVEL: usize = 32;
const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

/// A link at level 1 or up.
#[derive(Debug, Clone, Copy)]
struct Link {
    /// The score of node `fwd` (unused at the end of a level).
    score: f64,
    /// The next node at this level, or [`NIL`].
    fwd: u32,
    /// Where `fwd`'s block of links starts.
    fwd_links: u32,
    /// Level-0 steps this link skips.
    span: u32,
}

const END: Link = Link {
    score: 0.0,
    fwd: NIL,
    fwd_links: NIL,
    span: 0,
};

/// A node; a free slot has a NaN score (a sorted set never holds NaN).
#[derive(Debug, Clone)]
struct SNode {
    ele: Member,
    score: f64,
    back: u32,
    /// Level 0: the next node, or [`NIL`] (a span of 1).
    next: u32,
    /// Where this node's links for levels 1 and up start in
    /// [`SkipList::links`]; the block ends where the next slot's starts.
    links: u32,
}

/// A member handed to a search predicate unread: a skiplist fetches it
/// (a visit to its node) only if the predicate asks, which one deciding
/// by score never does.
pub type LazyMember<'a> = &'a dyn Fn() -> &'a [u8];

/// A skiplist of (score, member), indexed by rank.
#[derive(Debug, Clone)]
pub struct SkipList {
    nodes: Vec<SNode>,
    /// The blocks of links of levels 1 and up, in slot order.
    links: Vec<Link>,
    free: Vec<u32>,
    tail: u32,
    len: usize,
    level: usize,
    seed: u64,
}

/// Where a search stopped at each level: the last node it visited there,
/// that node's block of links, and its rank.
struct Path {
    node: [u32; MAX_LEVEL],
    block: [u32; MAX_LEVEL],
    rank: [u32; MAX_LEVEL],
}

/// `(score, member)` order.
pub fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    if s1 < s2 {
        Ordering::Less
    } else if s1 > s2 {
        Ordering::Greater
    } else {
        m1.cmp(m2)
    }
}

/// Whether `(s1, m1)` comes before `(s2, m2)`, reading `m1` only when the
/// scores tie.
#[inline]
pub fn entry_before(s1: f64, m1: LazyMember<'_>, s2: f64, m2: &[u8]) -> bool {
    if s1 < s2 {
        true
    } else if s1 > s2 {
        false
    } else {
        m1() < m2
    }
}

impl Default for SkipList {
    fn default() -> Self {
        Self::new()
    }
}

impl SkipList {
    /// An empty skiplist.
    pub fn new() -> Self {
        let head = SNode {
            ele: Member::from(&b""[..]),
            score: 0.0,
            back: NIL,
            next: NIL,
            links: 0,
        };
        SkipList {
            nodes: vec![head],
            links: vec![END; MAX_LEVEL - 1],
            free: Vec::new(),
            tail: NIL,
            len: 0,
            level: 1,
            seed: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn random_level(&mut self) -> usize {
        let mut lvl = 1;
        loop {
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 7;
            self.seed ^= self.seed << 17;
            if lvl < MAX_LEVEL && (self.seed & 3) == 0 {
                lvl += 1;
            } else {
                return lvl;
            }
        }
    }

    /// The number of levels of the node in slot `i`.
    fn levels_of(&self, i: u32) -> usize {
        let start = self.nodes[i as usize].links as usize;
        let end = self
            .nodes
            .get(i as usize + 1)
            .map_or(self.links.len(), |n| n.links as usize);
        end - start + 1
    }

    /// The link at level `i` (1 and up) of the node whose block is `block`.
    #[inline]
    fn upper(&self, block: u32, i: usize) -> &Link {
        &self.links[block as usize + i - 1]
    }

    #[inline]
    fn upper_mut(&mut self, block: u32, i: usize) -> &mut Link {
        &mut self.links[block as usize + i - 1]
    }

    /// The member and score of a node (an index [`insert`](Self::insert) returned).
    pub fn node(&self, idx: u32) -> (&[u8], f64) {
        let n = &self.nodes[idx as usize];
        (&n.ele, n.score)
    }

    /// Number of node slots, live or free, for a walk over
    /// [`slot`](Self::slot)s (the arena never shrinks).
    pub fn slot_count(&self) -> usize {
        self.nodes.len()
    }

    /// The element in a node slot, if the slot holds one (slot 0 is the
    /// header).
    pub fn slot(&self, i: usize) -> Option<(&[u8], f64)> {
        let n = self.nodes.get(i).filter(|_| i != HEAD as usize)?;
        (!n.score.is_nan()).then_some((&*n.ele, n.score))
    }

    /// Insert an element that is not present; returns its node index,
    /// stable until the element is removed. Free slots are reused last
    /// freed first, so removing an element and inserting it again with a
    /// new score keeps its slot.
    pub fn insert(&mut self, score: f64, ele: Member) -> u32 {
        let mut path = self.descend(|s, m| entry_before(s, m, score, &ele));
        let node = SNode {
            ele,
            score,
            back: NIL,
            next: NIL,
            links: self.links.len() as u32,
        };
        let (xi, lvl) = match self.free.pop() {
            Some(i) => {
                let links = self.nodes[i as usize].links;
                self.nodes[i as usize] = SNode { links, ..node };
                (i, self.levels_of(i))
            }
            None => {
                let lvl = self.random_level();
                self.links.extend(std::iter::repeat_n(END, lvl - 1));
                self.nodes.push(node);
                ((self.nodes.len() - 1) as u32, lvl)
            }
        };
        let xb = self.nodes[xi as usize].links;
        if lvl > self.level {
            for i in self.level..lvl {
                path.rank[i] = 0;
                path.node[i] = HEAD;
                path.block[i] = 0;
                self.upper_mut(0, i).span = self.len as u32;
            }
            self.level = lvl;
        }
        let rank0 = path.rank[0];
        let u0 = path.node[0] as usize;
        self.nodes[xi as usize].next = self.nodes[u0].next;
        self.nodes[u0].next = xi;
        for i in 1..lvl {
            let ul = *self.upper(path.block[i], i);
            *self.upper_mut(xb, i) = Link {
                span: ul.span - (rank0 - path.rank[i]),
                ..ul
            };
            *self.upper_mut(path.block[i], i) = Link {
                score,
                fwd: xi,
                fwd_links: xb,
                span: (rank0 - path.rank[i]) + 1,
            };
        }
        for i in lvl..self.level {
            self.upper_mut(path.block[i], i).span += 1;
        }
        self.nodes[xi as usize].back = if u0 == HEAD as usize { NIL } else { u0 as u32 };
        let f = self.nodes[xi as usize].next;
        if f != NIL {
            self.nodes[f as usize].back = xi;
        } else {
            self.tail = xi;
        }
        self.len += 1;
        xi
    }

    /// Remove an element; its member if it was present.
    pub fn remove(&mut self, score: f64, ele: &[u8]) -> Option<Member> {
        let path = self.descend(|s, m| entry_before(s, m, score, ele));
        let u0 = path.node[0] as usize;
        let x = self.nodes[u0].next;
        if x == NIL {
            return None;
        }
        let n = &self.nodes[x as usize];
        if !(n.score == score && &*n.ele == ele) {
            return None;
        }
        let (xb, after) = (n.links, n.next);
        self.nodes[u0].next = after;
        for i in 1..self.level {
            if self.upper(path.block[i], i).fwd == x {
                let xl = *self.upper(xb, i);
                let ul = self.upper_mut(path.block[i], i);
                ul.span += xl.span;
                ul.span -= 1;
                ul.fwd = xl.fwd;
                ul.fwd_links = xl.fwd_links;
                ul.score = xl.score;
            } else {
                self.upper_mut(path.block[i], i).span -= 1;
            }
        }
        let back = self.nodes[x as usize].back;
        if after != NIL {
            self.nodes[after as usize].back = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.upper(0, self.level - 1).fwd == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        let freed = SNode {
            ele: Member::from(&b""[..]),
            score: f64::NAN,
            back: NIL,
            next: NIL,
            links: xb,
        };
        let ele = std::mem::replace(&mut self.nodes[x as usize], freed).ele;
        self.free.push(x);
        Some(ele)
    }

    /// Number of leading elements for which `pred(score, member)` holds;
    /// `pred` must hold for a prefix of the order (true then false).
    pub fn count_prefix(&self, pred: impl Fn(f64, LazyMember<'_>) -> bool) -> usize {
        self.descend(pred).rank[0] as usize
    }

    /// Walk down from the top level, moving forward while `pred` holds for
    /// the next node: per level, the last node visited and its rank.
    fn descend(&self, pred: impl Fn(f64, LazyMember<'_>) -> bool) -> Path {
        let mut path = Path {
            node: [HEAD; MAX_LEVEL],
            block: [0; MAX_LEVEL],
            rank: [0; MAX_LEVEL],
        };
        let (mut x, mut xb, mut r) = (HEAD, 0u32, 0u32);
        for i in (1..self.level).rev() {
            loop {
                let l = self.upper(xb, i);
                if l.fwd == NIL || !pred(l.score, &|| &self.nodes[l.fwd as usize].ele) {
                    break;
                }
                r += l.span;
                x = l.fwd;
                xb = l.fwd_links;
            }
            path.node[i] = x;
            path.block[i] = xb;
            path.rank[i] = r;
        }
        loop {
            let f = self.nodes[x as usize].next;
            if f == NIL {
                break;
            }
            let n = &self.nodes[f as usize];
            if !pred(n.score, &|| &n.ele) {
                break;
            }
            r += 1;
            x = f;
            xb = n.links;
        }
        path.node[0] = x;
        path.block[0] = xb;
        path.rank[0] = r;
        path
    }

    /// 0-based rank of an element known to be present.
    pub fn rank(&self, score: f64, ele: &[u8]) -> usize {
        self.count_prefix(|s, m| entry_before(s, m, score, ele))
    }

    /// The node at a 0-based rank.
    fn node_at(&self, rank: usize) -> u32 {
        let target = rank + 1;
        let (mut x, mut xb, mut traversed) = (HEAD, 0u32, 0usize);
        for i in (1..self.level).rev() {
            loop {
                let l = self.upper(xb, i);
                if l.fwd != NIL && traversed + l.span as usize <= target {
                    traversed += l.span as usize;
                    x = l.fwd;
                    xb = l.fwd_links;
                } else {
                    break;
                }
            }
            if traversed == target {
                return x;
            }
        }
        while traversed < target && x != NIL {
            x = self.nodes[x as usize].next;
            traversed += 1;
        }
        x
    }

    /// Element at a 0-based rank.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        if rank >= self.len {
            return None;
        }
        let n = &self.nodes[self.node_at(rank) as usize];
        Some((&n.ele, n.score))
    }

    /// Elements from rank `start`, ascending (or descending when `rev`).
    pub fn iter_from(&self, start: usize, rev: bool) -> SkipIter<'_> {
        let cur = if start < self.len {
            self.node_at(start)
        } else {
            NIL
        };
        SkipIter { sl: self, cur, rev }
    }
}

/// Ranks `start..end` of a [`SkipList`], walkable from both ends.
pub struct SkipRange<'a> {
    sl: &'a SkipList,
    front: u32,
    back: u32,
    left: usize,
}

impl SkipList {
    /// The elements with ranks `start..end`, ascending (reversible).
    pub fn range(&self, start: usize, end: usize) -> SkipRange<'_> {
        let end = end.min(self.len);
        if start >= end {
            return SkipRange {
                sl: self,
                front: NIL,
                back: NIL,
                left: 0,
            };
        }
        let front = self.node_at(start);
        let back = if end == self.len {
            self.tail
        } else {
            self.node_at(end - 1)
        };
        SkipRange {
            sl: self,
            front,
            back,
            left: end - start,
        }
    }
}

impl<'a> Iterator for SkipRange<'a> {
    type Item = (&'a [u8], f64);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = &self.sl.nodes[self.front as usize];
        self.front = n.next;
        Some((&n.ele, n.score))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for SkipRange<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = &self.sl.nodes[self.back as usize];
        self.back = n.back;
        Some((&n.ele, n.score))
    }
}

impl ExactSizeIterator for SkipRange<'_> {}

/// Walks a [`SkipList`] along level 0.
pub struct SkipIter<'a> {
    sl: &'a SkipList,
    cur: u32,
    rev: bool,
}

impl<'a> Iterator for SkipIter<'a> {
    type Item = (&'a [u8], f64);
    fn next(&mut self) -> Option<Self::Item> {
        if self.cur == NIL {
            return None;
        }
        let n = &self.sl.nodes[self.cur as usize];
        self.cur = if self.rev { n.back } else { n.next };
        Some((&n.ele, n.score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_small_and_most_have_no_upper_links() {
        assert!(std::mem::size_of::<SNode>() <= 48);
        let mut sl = SkipList::new();
        for i in 0..4000u32 {
            sl.insert(f64::from(i), Member::from(format!("m:{i}").into_bytes()));
        }
        let level_one = (1..sl.nodes.len() as u32)
            .filter(|&i| sl.levels_of(i) == 1)
            .count();
        // Level 1 only with p = 3/4.
        assert!(level_one > 2800 && level_one < 3200, "{level_one}");
        // About 1/3 of an upper link per node (1/4 + 1/16 + ...), plus the
        // header's.
        let per_node = (sl.links.len() - (MAX_LEVEL - 1)) as f64 / 4000.0;
        assert!(per_node > 0.28 && per_node < 0.39, "{per_node}");
        let m = sl.remove(7.0, b"m:7").expect("present");
        assert_eq!(&*m, b"m:7");
        assert_eq!(sl.slot(8), None, "a freed slot holds nothing");
        assert_eq!(sl.len(), 3999);
        // The freed slot comes back, with its level, for the next insert.
        let levels = sl.levels_of(8);
        assert_eq!(sl.insert(7.5, Member::from(&b"m:7"[..])), 8);
        assert_eq!(sl.levels_of(8), levels);
        assert_eq!(sl.rank(7.5, b"m:7"), 7);
    }

    /// Every upper link's copy of the next node's score, and its block
    /// start, match that node.
    fn assert_links_cached(sl: &SkipList) {
        for (i, n) in sl.nodes.iter().enumerate() {
            if i != 0 && n.score.is_nan() {
                continue;
            }
            for lvl in 1..sl.levels_of(i as u32) {
                let l = sl.upper(n.links, lvl);
                if l.fwd != NIL {
                    let f = &sl.nodes[l.fwd as usize];
                    assert_eq!(l.score.to_bits(), f.score.to_bits());
                    assert_eq!(l.fwd_links, f.links);
                }
            }
        }
    }

    #[test]
    fn ranks_match_a_sorted_vector() {
        let mut sl = SkipList::new();
        let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
        let mut seed = 12345u64;
        for step in 0..4000u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let k = (seed >> 33) % 300;
            let member = format!("m{k}").into_bytes();
            let score = ((seed >> 20) % 50) as f64;
            if let Some(pos) = model.iter().position(|e| e.1 == member) {
                let (s, m) = model.remove(pos);
                assert!(sl.remove(s, &m).is_some());
            }
            if step % 3 != 0 {
                sl.insert(score, Member::from(&member[..]));
                model.push((score, member));
                model.sort_by(|a, b| cmp_entry(a.0, &a.1, b.0, &b.1));
            }
            assert_eq!(sl.len(), model.len());
        }
        // After inserts, removes and slot reuse.
        assert_links_cached(&sl);
        for (i, (s, m)) in model.iter().enumerate() {
            assert_eq!(sl.rank(*s, m), i);
            assert_eq!(sl.get(i), Some((&m[..], *s)));
        }
        let fwd: Vec<_> = sl.iter_from(0, false).map(|(m, _)| m.to_vec()).collect();
        let want: Vec<_> = model.iter().map(|e| e.1.clone()).collect();
        assert_eq!(fwd, want);
        let both: Vec<_> = sl
            .range(0, model.len())
            .rev()
            .map(|(m, _)| m.to_vec())
            .collect();
        assert_eq!(both, fwd.iter().rev().cloned().collect::<Vec<_>>());
        assert_eq!(
            sl.range(3, 7).map(|(m, _)| m.to_vec()).collect::<Vec<_>>(),
            fwd[3..7].to_vec()
        );
        let back: Vec<_> = sl
            .iter_from(model.len() - 1, true)
            .map(|(m, _)| m.to_vec())
            .collect();
        assert_eq!(back, want.into_iter().rev().collect::<Vec<_>>());
        assert_eq!(
            sl.count_prefix(|s, _| s < 10.0),
            model.iter().filter(|e| e.0 < 10.0).count()
        );
    }
}
