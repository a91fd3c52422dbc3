//! Small pure helpers with Redis's exact semantics: `string2ll` integer
//! parsing, `stringmatchlen` glob matching, and the ASCII case-folding used
//! for command names; and [`sort_by`], the one sort the core's small sorts
//! share.

use std::cmp::Ordering;

/// Parse a signed 64-bit integer the way Redis's `string2ll` does: optional
/// `-`, no `+`, no spaces, no leading zeros (except `0` itself), no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Decimal text of an integer.
pub fn i64_to_bytes(v: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(20);
    crate::resp::push_int(&mut out, v);
    out
}

/// Redis's `stringmatchlen`: `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    glob_inner(pattern, string, nocase, 0)
}

fn fold(c: u8, nocase: bool) -> u8 {
    if nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

fn glob_inner(mut p: &[u8], mut s: &[u8], nocase: bool, depth: usize) -> bool {
    // Redis caps recursion depth to avoid stack exhaustion on hostile patterns.
    if depth > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if glob_inner(&p[1..], s, nocase, depth + 1) {
                        return true;
                    }
                    s = &s[1..];
                }
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = !p.is_empty() && p[0] == b'^';
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        // Unterminated class: Redis treats the end as the class end.
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut start, mut end) = (p[0], p[2]);
                        let c = fold(s[0], nocase);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        let (start, end) = (fold(start, nocase), fold(end, nocase));
                        p = &p[2..];
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if fold(p[0], nocase) == fold(s[0], nocase) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if p.is_empty() {
                    // Redis steps back so the outer loop's advance lands at the end.
                    let ok = matched != not;
                    if !ok {
                        return false;
                    }
                    s = &s[1..];
                    return s.is_empty();
                }
                if matched == not {
                    return false;
                }
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if fold(p[0], nocase) != fold(s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if fold(c, nocase) != fold(s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while !p.is_empty() && p[0] == b'*' {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

/// ASCII-lowercase copy of a command name (for error texts and lookups).
pub fn lower(s: &[u8]) -> String {
    String::from_utf8_lossy(s).to_ascii_lowercase()
}

/// Hash maps' hasher in the core: ahash with fixed keys, so the same
/// hashes in every run and in every build (the core takes no randomness
/// from the system).
#[derive(Debug, Default, Clone, Copy)]
pub struct FixedKeys;

impl std::hash::BuildHasher for FixedKeys {
    type Hasher = ahash::AHasher;
    fn build_hasher(&self) -> ahash::AHasher {
        ahash::RandomState::with_seeds(1, 2, 3, 4).build_hasher()
    }
}

/// Sort `v` by `cmp`, stably (equal elements keep their order), as
/// `slice::sort_by` does. For the core's small sorts (a command's input
/// sets, CLIENT LIST lines, the command table, an intset's members, ...):
/// the algorithm is one non-generic merge sort of positions, so all of them
/// share one copy of the code, where each `slice::sort_by` instantiates the
/// standard library's sort (about 1.5 KB of WebAssembly, gzipped) per
/// element type and comparison. A sorted input costs one pass.
pub fn sort_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    if let Some(order) = sorted_order(v.len(), &|a, b| cmp(&v[a], &v[b])) {
        permute(order, &mut |a, b| v.swap(a, b));
    }
}

/// The positions `0..n` in sorted order, stably; `None` if already sorted.
fn sorted_order(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Option<Vec<usize>> {
    if (1..n).all(|i| cmp(i - 1, i) != Ordering::Greater) {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    merge_sort(&mut order, &mut Vec::new(), cmp);
    Some(order)
}

/// Move the element at `order[k]` to position `k` for every `k`, with
/// `swap`: follow each cycle of the permutation, marking done positions.
fn permute(mut order: Vec<usize>, swap: &mut dyn FnMut(usize, usize)) {
    for start in 0..order.len() {
        let mut at = start;
        loop {
            let from = order[at];
            order[at] = at;
            if from == start || from == at {
                break;
            }
            swap(at, from);
            at = from;
        }
    }
}

/// [`sort_by`] on a key.
pub fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// Stable merge sort of positions compared by `cmp` (insertion sort for
/// short runs); `scratch` holds the left half while merging.
fn merge_sort(
    order: &mut [usize],
    scratch: &mut Vec<usize>,
    cmp: &dyn Fn(usize, usize) -> Ordering,
) {
    let n = order.len();
    if n <= 12 {
        for i in 1..n {
            let mut j = i;
            while j > 0 && cmp(order[j - 1], order[j]) == Ordering::Greater {
                order.swap(j - 1, j);
                j -= 1;
            }
        }
        return;
    }
    let mid = n / 2;
    merge_sort(&mut order[..mid], scratch, cmp);
    merge_sort(&mut order[mid..], scratch, cmp);
    if cmp(order[mid - 1], order[mid]) != Ordering::Greater {
        return;
    }
    scratch.clear();
    scratch.extend_from_slice(&order[..mid]);
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < scratch.len() {
        // Take from the right only when strictly smaller: stable.
        if j < n && cmp(order[j], scratch[i]) == Ordering::Less {
            order[k] = order[j];
            j += 1;
        } else {
            order[k] = scratch[i];
            i += 1;
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_by_is_a_stable_sort() {
        let mut x: u64 = 3;
        for len in (0..40).chain([100, 257, 1000]) {
            for modulus in [1u64, 2, 5, 50, 1 << 40] {
                let mut v: Vec<(u64, usize)> = (0..len)
                    .map(|i| {
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ((x >> 20) % modulus, i)
                    })
                    .collect();
                let mut expected = v.clone();
                expected.sort_by_key(|e| e.0);
                sort_by_key(&mut v, |e| e.0);
                assert_eq!(v, expected, "len {len} modulus {modulus}");
                // Sorted input, reversed input.
                sort_by(&mut v, |a, b| a.cmp(b));
                expected.sort();
                assert_eq!(v, expected);
                v.reverse();
                expected.reverse();
                sort_by(&mut v, |a, b| b.cmp(a));
                assert_eq!(v, expected);
            }
        }
    }

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"key:*:x", b"key:12:x", false));
        assert!(!glob_match(b"key:*:x", b"key:12:y", false));
        assert!(glob_match(b"a\\*b", b"a*b", false));
        assert!(glob_match(b"HEL*", b"hello", true));
        assert!(glob_match(b"a*", b"a", false));
        assert!(!glob_match(b"a?", b"a", false));
    }
}
