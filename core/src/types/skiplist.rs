//! The skiplist with spans of Redis's `t_zset.c` (`zslInsert`,
//! `zslDeleteNode`, `zslGetRank`, `zslGetElementByRank`), in an arena of
//! nodes addressed by index (no unsafe, no pointer chasing through `Rc`).
//! Ordered by score, then member bytes (`sdscmp`); scores compare with `<`,
//! so -0 and 0 are equal. Every rank and range lookup is O(log n) expected.
//! Levels come from a private xorshift generator with p = 1/4: they only
//! shape the index, never an observable result.
//! A node holds its member inline when short ([`Member`]) and its level 0
//! in itself; only a node with higher levels (one in four) allocates them.

use super::member::Member;
use std::cmp::Ordering;

const MAX_LEVEL: usize = 32;
const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

#[derive(Debug, Clone, Copy)]
struct Level {
    fwd: u32,
    span: u32,
}

/// A node; a free slot of the arena has a NaN score (a sorted set never
/// holds NaN).
#[derive(Debug, Clone)]
struct SNode {
    ele: Member,
    score: f64,
    back: u32,
    /// Level 0.
    base: Level,
    /// Levels 1 and up (no allocation when there are none).
    upper: Box<[Level]>,
}

impl SNode {
    fn new(ele: Member, score: f64, levels: usize) -> SNode {
        let empty = Level { fwd: NIL, span: 0 };
        SNode {
            ele,
            score,
            back: NIL,
            base: empty,
            upper: vec![empty; levels - 1].into_boxed_slice(),
        }
    }
    #[inline]
    fn level(&self, i: usize) -> Level {
        if i == 0 {
            self.base
        } else {
            self.upper[i - 1]
        }
    }
    #[inline]
    fn level_mut(&mut self, i: usize) -> &mut Level {
        if i == 0 {
            &mut self.base
        } else {
            &mut self.upper[i - 1]
        }
    }
}

/// A skiplist of (score, member), indexed by rank.
#[derive(Debug, Clone)]
pub struct SkipList {
    nodes: Vec<SNode>,
    free: Vec<u32>,
    tail: u32,
    len: usize,
    level: usize,
    seed: u64,
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

impl Default for SkipList {
    fn default() -> Self {
        Self::new()
    }
}

impl SkipList {
    /// An empty skiplist.
    pub fn new() -> Self {
        let head = SNode::new(Member::from(&b""[..]), 0.0, MAX_LEVEL);
        SkipList {
            nodes: vec![head],
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

    #[inline]
    fn lv(&self, n: u32, i: usize) -> Level {
        self.nodes[n as usize].level(i)
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
        let (update, mut rank) =
            self.descend(|s, m| cmp_entry(s, m, score, &ele) == Ordering::Less);
        let mut update = update;
        let lvl = self.random_level();
        if lvl > self.level {
            for i in self.level..lvl {
                rank[i] = 0;
                update[i] = HEAD;
                self.nodes[0].level_mut(i).span = self.len as u32;
            }
            self.level = lvl;
        }
        let node = SNode::new(ele, score, lvl);
        let xi = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        for i in 0..lvl {
            let u = update[i] as usize;
            let ul = self.nodes[u].level(i);
            *self.nodes[xi as usize].level_mut(i) = Level {
                fwd: ul.fwd,
                span: ul.span - (rank[0] - rank[i]),
            };
            *self.nodes[u].level_mut(i) = Level {
                fwd: xi,
                span: (rank[0] - rank[i]) + 1,
            };
        }
        for (i, u) in update.iter().enumerate().take(self.level).skip(lvl) {
            self.nodes[*u as usize].level_mut(i).span += 1;
        }
        self.nodes[xi as usize].back = if update[0] == HEAD { NIL } else { update[0] };
        let f = self.lv(xi, 0).fwd;
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
        let (update, _) = self.descend(|s, m| cmp_entry(s, m, score, ele) == Ordering::Less);
        let x = update[0];
        let x = self.lv(x, 0).fwd;
        if x == NIL {
            return None;
        }
        let n = &self.nodes[x as usize];
        if !(n.score == score && &*n.ele == ele) {
            return None;
        }
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let u = u as usize;
            if self.nodes[u].level(i).fwd == x {
                let xl = self.lv(x, i);
                let ul = self.nodes[u].level_mut(i);
                ul.span += xl.span;
                ul.span -= 1;
                ul.fwd = xl.fwd;
            } else {
                self.nodes[u].level_mut(i).span -= 1;
            }
        }
        let f = self.lv(x, 0).fwd;
        let back = self.nodes[x as usize].back;
        if f != NIL {
            self.nodes[f as usize].back = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.nodes[0].level(self.level - 1).fwd == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        let freed = SNode::new(Member::from(&b""[..]), f64::NAN, 1);
        let ele = std::mem::replace(&mut self.nodes[x as usize], freed).ele;
        self.free.push(x);
        Some(ele)
    }

    /// Number of leading elements for which `pred(score, member)` holds;
    /// `pred` must hold for a prefix of the order (true then false).
    pub fn count_prefix(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        self.descend(pred).1[0] as usize
    }

    /// Walk down from the top level, moving forward while `pred` holds for
    /// the next node: per level, the last node visited and its rank.
    fn descend(&self, pred: impl Fn(f64, &[u8]) -> bool) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        let mut r = 0u32;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(x, i);
                if l.fwd == NIL {
                    break;
                }
                let f = &self.nodes[l.fwd as usize];
                if pred(f.score, &f.ele) {
                    r += l.span;
                    x = l.fwd;
                } else {
                    break;
                }
            }
            update[i] = x;
            rank[i] = r;
        }
        (update, rank)
    }

    /// 0-based rank of an element known to be present.
    pub fn rank(&self, score: f64, ele: &[u8]) -> usize {
        self.count_prefix(|s, m| cmp_entry(s, m, score, ele) == Ordering::Less)
    }

    /// The node at a 0-based rank.
    fn node_at(&self, rank: usize) -> u32 {
        let target = rank + 1;
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(x, i);
                if l.fwd != NIL && traversed + l.span as usize <= target {
                    traversed += l.span as usize;
                    x = l.fwd;
                } else {
                    break;
                }
            }
            if traversed == target {
                return x;
            }
        }
        NIL
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
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = &self.sl.nodes[self.front as usize];
        self.front = n.base.fwd;
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
        self.cur = if self.rev { n.back } else { n.base.fwd };
        Some((&n.ele, n.score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_one_cache_line_and_most_allocate_nothing() {
        assert!(std::mem::size_of::<SNode>() <= 64);
        let mut sl = SkipList::new();
        for i in 0..4000u32 {
            sl.insert(f64::from(i), Member::from(format!("m:{i}").into_bytes()));
        }
        let inline = sl.nodes[1..]
            .iter()
            .filter(|n| n.upper.is_empty() && matches!(n.ele, Member::Inline { .. }))
            .count();
        // Level 1 only with p = 3/4.
        assert!(inline > 2800 && inline < 3200, "{inline}");
        let m = sl.remove(7.0, b"m:7").expect("present");
        assert_eq!(&*m, b"m:7");
        assert_eq!(sl.slot(8), None, "a freed slot holds nothing");
        assert_eq!(sl.len(), 3999);
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
