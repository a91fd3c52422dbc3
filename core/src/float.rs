//! Redis's `long double` arithmetic, emulated exactly: INCRBYFLOAT and
//! HINCRBYFLOAT.
//!
//! redis-server on x86-64 parses a float argument with glibc's `strtold`
//! (`string2ld`), adds in the x87 80-bit extended format (64-bit mantissa
//! with an explicit integer bit, 15-bit exponent, round to nearest even),
//! and prints the result with `snprintf("%.17Lf")` before trimming trailing
//! zeros and the point (`ld2string(..., LD_STR_HUMAN)`, which also turns
//! `-0` into `0`). Rust has no 80-bit type, so this module does the same
//! with integers:
//!
//! - [`parse_long_double`] accepts what `string2ld` accepts: fewer than 5120
//!   bytes, no leading space, the whole input consumed by `strtold` (decimal
//!   with optional exponent, hexadecimal `0x..p..`, `inf`/`infinity`), not
//!   NaN, and not a range error to infinity or to zero. The decimal value is
//!   converted exactly with a small bignum and rounded once to 64 bits.
//! - [`add`] adds exactly and rounds once, like the FPU.
//! - [`format_long_double_human`] rounds the exact binary value to 17
//!   fraction digits, ties to even as glibc's printf does.

use std::cmp::Ordering;

/// Exponent of the smallest x87 value's last mantissa bit: a finite value is
/// `mant * 2^exp` with `exp >= MIN_EXP`.
const MIN_EXP: i64 = -16445;
/// Largest exponent of a finite x87 value (`mant` with its top bit set).
const MAX_EXP: i64 = 16320;
/// `MAX_LONG_DOUBLE_CHARS`: `string2ld` rejects inputs this long or longer.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// An x87 extended-precision value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongDouble {
    /// `(-1)^neg * mant * 2^exp`: normal when `mant`'s top bit is set,
    /// otherwise a subnormal (`exp == -16445`) or zero (`mant == 0`).
    Finite {
        /// Sign.
        neg: bool,
        /// The 64-bit mantissa (integer bit included).
        mant: u64,
        /// Binary exponent of the mantissa's lowest bit.
        exp: i32,
    },
    /// Plus or minus infinity.
    Inf {
        /// Sign.
        neg: bool,
    },
    /// Not a number.
    Nan,
}

impl LongDouble {
    /// Zero (positive).
    pub const ZERO: LongDouble = LongDouble::Finite {
        neg: false,
        mant: 0,
        exp: 0,
    };

    /// Whether the value is neither infinite nor NaN.
    pub fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// The exact value of an integer (`(long double)ll`).
    pub fn from_i64(v: i64) -> LongDouble {
        round_bits(v < 0, v.unsigned_abs() as u128, false, 0)
    }
}

// ---------------------------------------------------------------------------
// A minimal unsigned bignum: little-endian 32-bit limbs, no trailing zeros.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u128(mut v: u128) -> Big {
        let mut limbs = Vec::new();
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Big(limbs)
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn bit_len(&self) -> i64 {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() as i64 * 32 - top.leading_zeros() as i64,
        }
    }

    fn bit(&self, i: i64) -> bool {
        let limb = (i / 32) as usize;
        limb < self.0.len() && (self.0[limb] >> (i % 32)) & 1 == 1
    }

    /// Whether any bit below position `n` is set.
    fn any_below(&self, n: i64) -> bool {
        let full = (n / 32) as usize;
        if self.0.iter().take(full).any(|&l| l != 0) {
            return true;
        }
        let rest = n % 32;
        rest != 0 && full < self.0.len() && self.0[full] & ((1u32 << rest) - 1) != 0
    }

    /// `self * m + a`.
    fn mul_add_small(&mut self, m: u32, a: u32) {
        let mut carry = a as u64;
        for l in self.0.iter_mut() {
            let v = *l as u64 * m as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    /// `self *= 10^n`.
    fn mul_pow10(&mut self, mut n: u64) {
        while n >= 9 {
            self.mul_add_small(1_000_000_000, 0);
            n -= 9;
        }
        if n > 0 {
            self.mul_add_small(10u32.pow(n as u32), 0);
        }
    }

    /// `self / d`, returning the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for l in self.0.iter_mut().rev() {
            let cur = (rem << 32) | *l as u64;
            *l = (cur / d as u64) as u32;
            rem = cur % d as u64;
        }
        self.trim();
        rem as u32
    }

    fn shl(&self, bits: i64) -> Big {
        if self.is_zero() {
            return Big(Vec::new());
        }
        let (limbs, rest) = ((bits / 32) as usize, (bits % 32) as u32);
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &l in &self.0 {
            if rest == 0 {
                out.push(l);
            } else {
                out.push((l << rest) | carry);
                carry = l >> (32 - rest);
            }
        }
        if carry != 0 {
            out.push(carry);
        }
        Big(out)
    }

    /// The bits from position `from` upward (at most 128 of them).
    fn shr_u128(&self, from: i64) -> u128 {
        let mut v = 0u128;
        for i in 0..128 {
            if self.bit(from + i) {
                v |= 1 << i;
            }
        }
        v
    }

    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let o = *other.0.get(i).unwrap_or(&0) as i64;
            let mut v = self.0[i] as i64 - o - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            self.0[i] = v as u32;
        }
        debug_assert_eq!(borrow, 0, "bignum subtraction underflow");
        self.trim();
    }

    fn add(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len().max(other.0.len()) + 1);
        let mut carry = 0u64;
        for i in 0..self.0.len().max(other.0.len()) {
            let v =
                *self.0.get(i).unwrap_or(&0) as u64 + *other.0.get(i).unwrap_or(&0) as u64 + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        if carry != 0 {
            out.push(carry as u32);
        }
        Big(out)
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    /// Decimal digits (`"0"` for zero).
    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(1_000_000_000));
        }
        let mut s = chunks.pop().expect("non-zero").to_string();
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

// ---------------------------------------------------------------------------
// Rounding to the x87 format.

/// Round `(q + sticky*epsilon) * 2^e2` to the x87 format, ties to even.
fn round_bits(neg: bool, q: u128, sticky: bool, e2: i64) -> LongDouble {
    if q == 0 {
        // Only reachable for an exact zero; sticky bits alone round to zero.
        return LongDouble::Finite {
            neg,
            mant: 0,
            exp: 0,
        };
    }
    let top = 127 - q.leading_zeros() as i64 + e2;
    let mut exp = (top - 63).max(MIN_EXP);
    let drop = exp - e2;
    let mut mant: u128 = if drop <= 0 {
        q << (-drop)
    } else if drop > 128 {
        0
    } else {
        let kept = if drop == 128 { 0 } else { q >> drop };
        let half = (q >> (drop - 1)) & 1 == 1;
        let lower = (drop >= 2 && q & ((1u128 << (drop - 1)) - 1) != 0) || sticky;
        if half && (lower || kept & 1 == 1) {
            kept + 1
        } else {
            kept
        }
    };
    if mant == 1 << 64 {
        mant = 1 << 63;
        exp += 1;
    }
    if exp > MAX_EXP {
        return LongDouble::Inf { neg };
    }
    LongDouble::Finite {
        neg,
        mant: mant as u64,
        exp: exp as i32,
    }
}

/// Round a bignum times `2^e2`.
fn round_big(neg: bool, n: &Big, e2: i64) -> LongDouble {
    let len = n.bit_len();
    if len <= 128 {
        return round_bits(neg, n.shr_u128(0), false, e2);
    }
    let shift = len - 128;
    round_bits(neg, n.shr_u128(shift), n.any_below(shift), e2 + shift)
}

/// Round `num / den * 2^bexp` (`num > 0`).
fn round_ratio(neg: bool, num: Big, den: Big, bexp: i64) -> LongDouble {
    // Scale so that the quotient has 66 or 67 bits, then divide bit by bit.
    let k = num.bit_len() - den.bit_len() - 66;
    let (mut num, den) = if k < 0 {
        (num.shl(-k), den)
    } else {
        (num, den.shl(k))
    };
    let mut q = 0u128;
    for i in (0..=68).rev() {
        let d = den.shl(i);
        if num.cmp(&d) != Ordering::Less {
            num.sub_assign(&d);
            q |= 1 << i;
        }
    }
    round_bits(neg, q, !num.is_zero(), k + bexp)
}

// ---------------------------------------------------------------------------
// Parsing (`string2ld` over glibc's `strtold`).

/// Parse a float argument as Redis's `string2ld` does; `None` when Redis
/// answers `value is not a valid float` (or `hash value is not a float`).
pub fn parse_long_double(s: &[u8]) -> Option<LongDouble> {
    if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
        return None;
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(LongDouble::Inf { neg });
    }
    let value = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        parse_hex(neg, &body[2..])?
    } else {
        parse_decimal(neg, body)?
    };
    match value {
        LongDouble::Inf { .. } => None, // ERANGE overflow to HUGE_VALL
        v => Some(v),
    }
}

/// Mantissa digits with an optional point, then an optional exponent
/// (`e` for decimal, `p` for hex): (digit values, digits after the point,
/// exponent), or `None` if the text does not match exactly.
fn split_number(body: &[u8], radix: u32, exp_char: u8) -> Option<(Vec<u8>, i64, i64)> {
    let mut digits = Vec::new();
    let mut frac = 0i64;
    let mut seen_point = false;
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if let Some(d) = (c as char).to_digit(radix) {
            digits.push(d as u8);
            if seen_point {
                frac += 1;
            }
        } else if c == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        i += 1;
    }
    if digits.is_empty() {
        return None;
    }
    let mut exp = 0i64;
    if i < body.len() {
        if body[i] | 0x20 != exp_char {
            return None;
        }
        i += 1;
        let neg = match body.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        if i >= body.len() {
            return None;
        }
        for &c in &body[i..] {
            if !c.is_ascii_digit() {
                return None;
            }
            // Saturate: anything this large over- or underflows anyway.
            exp = (exp * 10 + (c - b'0') as i64).min(1 << 40);
        }
        if neg {
            exp = -exp;
        }
    }
    Some((digits, frac, exp))
}

fn parse_decimal(neg: bool, body: &[u8]) -> Option<LongDouble> {
    let (digits, frac, exp) = split_number(body, 10, b'e')?;
    let first = digits.iter().position(|&d| d != 0);
    let Some(first) = first else {
        return Some(LongDouble::Finite {
            neg,
            mant: 0,
            exp: 0,
        });
    };
    let sig = &digits[first..];
    let dexp = exp - frac;
    // The value lies in [10^(magnitude-1), 10^magnitude).
    let magnitude = sig.len() as i64 + dexp;
    if magnitude > 4934 {
        return None;
    }
    if magnitude < -4952 {
        return None; // rounds to zero: ERANGE
    }
    let mut num = Big(Vec::new());
    for chunk in sig.chunks(9) {
        let v = chunk.iter().fold(0u32, |a, &d| a * 10 + d as u32);
        num.mul_add_small(10u32.pow(chunk.len() as u32), v);
    }
    let mut den = Big::from_u128(1);
    if dexp >= 0 {
        num.mul_pow10(dexp as u64);
    } else {
        den.mul_pow10((-dexp) as u64);
    }
    nonzero_result(round_ratio(neg, num, den, 0))
}

fn parse_hex(neg: bool, body: &[u8]) -> Option<LongDouble> {
    let (digits, frac, exp) = split_number(body, 16, b'p')?;
    let first = digits.iter().position(|&d| d != 0);
    let Some(first) = first else {
        return Some(LongDouble::Finite {
            neg,
            mant: 0,
            exp: 0,
        });
    };
    let sig = &digits[first..];
    let bexp = exp - 4 * frac;
    let magnitude = sig.len() as i64 * 4 + bexp;
    if magnitude > MAX_EXP + 64 + 4 {
        return None;
    }
    if magnitude < MIN_EXP - 8 {
        return None;
    }
    let mut num = Big(Vec::new());
    for &d in sig {
        num.mul_add_small(16, d as u32);
    }
    nonzero_result(round_big(neg, &num, bexp))
}

/// A non-zero input that rounded to zero is a range error.
fn nonzero_result(v: LongDouble) -> Option<LongDouble> {
    match v {
        LongDouble::Finite { mant: 0, .. } => None,
        v => Some(v),
    }
}

// ---------------------------------------------------------------------------
// Arithmetic.

/// `a + b` in x87 extended precision, rounded to nearest even.
pub fn add(a: LongDouble, b: LongDouble) -> LongDouble {
    use LongDouble::*;
    match (a, b) {
        (Nan, _) | (_, Nan) => Nan,
        (Inf { neg: x }, Inf { neg: y }) => {
            if x == y {
                Inf { neg: x }
            } else {
                Nan
            }
        }
        (Inf { neg }, _) | (_, Inf { neg }) => Inf { neg },
        (
            Finite {
                neg: na,
                mant: ma,
                exp: ea,
            },
            Finite {
                neg: nb,
                mant: mb,
                exp: eb,
            },
        ) => {
            if mb == 0 {
                return if ma == 0 {
                    Finite {
                        neg: na && nb,
                        mant: 0,
                        exp: 0,
                    }
                } else {
                    a
                };
            }
            if ma == 0 {
                return b;
            }
            let e = ea.min(eb) as i64;
            let big_a = Big::from_u128(ma as u128).shl(ea as i64 - e);
            let big_b = Big::from_u128(mb as u128).shl(eb as i64 - e);
            if na == nb {
                return round_big(na, &big_a.add(&big_b), e);
            }
            match big_a.cmp(&big_b) {
                Ordering::Equal => LongDouble::ZERO,
                Ordering::Greater => {
                    let mut d = big_a;
                    d.sub_assign(&big_b);
                    round_big(na, &d, e)
                }
                Ordering::Less => {
                    let mut d = big_b;
                    d.sub_assign(&big_a);
                    round_big(nb, &d, e)
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Formatting.

/// `ld2string(..., LD_STR_HUMAN)`: `%.17Lf`, trailing zeros and a bare
/// point removed, `-0` written `0`; `inf`/`-inf`/`nan` for the others.
pub fn format_long_double_human(v: LongDouble) -> Vec<u8> {
    let (neg, mant, exp) = match v {
        LongDouble::Nan => return b"nan".to_vec(),
        LongDouble::Inf { neg } => {
            return if neg {
                b"-inf".to_vec()
            } else {
                b"inf".to_vec()
            }
        }
        LongDouble::Finite { neg, mant, exp } => (neg, mant, exp as i64),
    };
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if exp >= 0 {
        s.push_str(&Big::from_u128(mant as u128).shl(exp).to_decimal());
    } else {
        const SCALE: u128 = 100_000_000_000_000_000; // 10^17
        let shift = -exp;
        // mant < 2^64, so with shift >= 128 the value is under 2^-64: it rounds to 0.
        let q = if shift >= 128 {
            0
        } else {
            let p = mant as u128 * SCALE;
            let q = p >> shift;
            let rem = p & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            if rem > half || (rem == half && q & 1 == 1) {
                q + 1
            } else {
                q
            }
        };
        let frac = format!("{:017}", q % SCALE);
        let frac = frac.trim_end_matches('0');
        s.push_str(&(q / SCALE).to_string());
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s.into_bytes()
}

/// INCRBYFLOAT's arithmetic: the new value's text, or `None` when the sum is
/// infinite or NaN (`ERR increment would produce NaN or Infinity`).
pub fn incr_by_float(current: LongDouble, incr: LongDouble) -> Option<Vec<u8>> {
    let sum = add(current, incr);
    sum.is_finite().then(|| format_long_double_human(sum))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> LongDouble {
        parse_long_double(s.as_bytes()).unwrap_or_else(|| panic!("{s} should parse"))
    }

    fn fmt(v: LongDouble) -> String {
        String::from_utf8(format_long_double_human(v)).expect("ascii")
    }

    fn sum(a: &str, b: &str) -> String {
        fmt(add(p(a), p(b)))
    }

    #[test]
    fn accepts_what_strtold_accepts() {
        for ok in [
            "1",
            "-1",
            "+1",
            "1.",
            ".5",
            "1e3",
            "1E+3",
            "1e-3",
            "0x10",
            "0X1.8p1",
            "inf",
            "-Infinity",
            "00012",
            "0e99999999999999",
            "1e-4950",
        ] {
            assert!(parse_long_double(ok.as_bytes()).is_some(), "{ok}");
        }
        for bad in [
            "", " 1", "1 ", ".", "e3", "1e", "1e+", "0x", "0xp1", "0x1p", "nan", "-nan", "1e5000",
            "1e-4960", "abc", "1.2.3", "inf ", "infin", "1\0",
        ] {
            assert!(parse_long_double(bad.as_bytes()).is_none(), "{bad:?}");
        }
        assert!(parse_long_double(&vec![b'1'; 5120]).is_none());
    }

    #[test]
    fn exact_decimal_conversion() {
        // 0.1 in 64-bit mantissa: 0xCCCCCCCCCCCCCCCD * 2^-67.
        assert_eq!(
            p("0.1"),
            LongDouble::Finite {
                neg: false,
                mant: 0xCCCC_CCCC_CCCC_CCCD,
                exp: -67
            }
        );
        assert_eq!(p("3"), LongDouble::from_i64(3));
        assert_eq!(p("0x1.8p1"), LongDouble::from_i64(3));
        assert_eq!(p("-9223372036854775808"), LongDouble::from_i64(i64::MIN));
    }

    #[test]
    fn human_format_matches_redis() {
        // Values checked against redis-server 7.0.15 on x86-64.
        assert_eq!(sum("1", "0.1"), "1.1");
        assert_eq!(sum("10.5", "0.1"), "10.6");
        assert_eq!(sum("1.5", "2.5"), "4");
        assert_eq!(sum("10.5e-1", "0"), "1.05");
        assert_eq!(sum("0", "-0.0000000000000000001"), "0");
        assert_eq!(sum("0", "0x1p3"), "8");
        assert_eq!(sum("0", "1e-4950"), "0");
        // A tie at the 18th fraction digit rounds to even.
        assert_eq!(sum("0", "0.000003814697265625"), "0.00000381469726562");
        assert!(fmt(p("1e4000")).starts_with("99999999999999999999654638730996237849324925835069"));
    }

    #[test]
    fn infinities_and_nan() {
        assert_eq!(incr_by_float(p("inf"), p("1")), None);
        assert_eq!(incr_by_float(p("inf"), p("-inf")), None);
        let max = p("1.18973149535723176502e4932");
        assert_eq!(incr_by_float(max, max), None);
        assert_eq!(incr_by_float(p("5"), p("-5")), Some(b"0".to_vec()));
    }
}
