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

/// A binary floating-point format to round to: `mant * 2^exp` with `mant`
/// below `2^bits` and `exp` in `[min_exp, max_exp]`.
#[derive(Clone, Copy)]
struct Format {
    bits: u32,
    min_exp: i64,
    max_exp: i64,
    /// Decimal magnitudes (value in `[10^(m-1), 10^m)`) above this overflow.
    max_magnitude: i64,
    /// Decimal magnitudes below this round to zero.
    min_magnitude: i64,
}

/// x87 extended precision (`long double`).
const X87: Format = Format {
    bits: 64,
    min_exp: MIN_EXP,
    max_exp: MAX_EXP,
    max_magnitude: 4934,
    min_magnitude: -4952,
};

/// IEEE 754 double.
const DOUBLE: Format = Format {
    bits: 53,
    min_exp: -1074,
    max_exp: 971,
    max_magnitude: 310,
    min_magnitude: -325,
};
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
        round_bits(X87, v < 0, v.unsigned_abs() as u128, false, 0)
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

/// Round `(q + sticky*epsilon) * 2^e2` to `fmt`, ties to even.
fn round_bits(fmt: Format, neg: bool, q: u128, sticky: bool, e2: i64) -> LongDouble {
    if q == 0 {
        // Only reachable for an exact zero; sticky bits alone round to zero.
        return LongDouble::Finite {
            neg,
            mant: 0,
            exp: 0,
        };
    }
    let top = 127 - q.leading_zeros() as i64 + e2;
    let mut exp = (top - (fmt.bits as i64 - 1)).max(fmt.min_exp);
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
    if mant == 1 << fmt.bits {
        mant = 1 << (fmt.bits - 1);
        exp += 1;
    }
    if exp > fmt.max_exp {
        return LongDouble::Inf { neg };
    }
    LongDouble::Finite {
        neg,
        mant: mant as u64,
        exp: exp as i32,
    }
}

/// Round a bignum times `2^e2` to `fmt`.
fn round_big(fmt: Format, neg: bool, n: &Big, e2: i64) -> LongDouble {
    let len = n.bit_len();
    if len <= 128 {
        return round_bits(fmt, neg, n.shr_u128(0), false, e2);
    }
    let shift = len - 128;
    round_bits(fmt, neg, n.shr_u128(shift), n.any_below(shift), e2 + shift)
}

/// Round `num / den * 2^bexp` (`num > 0`) to `fmt`.
fn round_ratio(fmt: Format, neg: bool, num: Big, den: Big, bexp: i64) -> LongDouble {
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
    round_bits(fmt, neg, q, !num.is_zero(), k + bexp)
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
        match parse_decimal(X87, neg, body)? {
            (v, false) => v,
            (v, true) => nonzero_result(v)?,
        }
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
        exp = parse_exponent(&body[i + 1..])?;
    }
    Some((digits, frac, exp))
}

/// The exponent after `e` (or `p`): an optional sign and at least one
/// digit, saturated far beyond any exponent that does not over- or
/// underflow.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (neg, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut exp = 0i64;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        exp = (exp * 10 + (c - b'0') as i64).min(1 << 40);
    }
    Some(if neg { -exp } else { exp })
}

/// A decimal number rounded to `fmt` (infinite when it overflows, zero when
/// it underflows), and whether its digits were not all zero; `None` if the
/// text is not a decimal number.
fn parse_decimal(fmt: Format, neg: bool, body: &[u8]) -> Option<(LongDouble, bool)> {
    let (digits, frac, exp) = split_number(body, 10, b'e')?;
    let zero = LongDouble::Finite {
        neg,
        mant: 0,
        exp: 0,
    };
    let first = digits.iter().position(|&d| d != 0);
    let Some(first) = first else {
        return Some((zero, false));
    };
    let sig = &digits[first..];
    let dexp = exp - frac;
    // The value lies in [10^(magnitude-1), 10^magnitude).
    let magnitude = sig.len() as i64 + dexp;
    if magnitude > fmt.max_magnitude {
        return Some((LongDouble::Inf { neg }, true));
    }
    if magnitude < fmt.min_magnitude {
        return Some((zero, true));
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
    Some((round_ratio(fmt, neg, num, den, 0), true))
}

/// `strtod` of a decimal number (`[+-]digits[.digits][e[+-]digits]`),
/// correctly rounded to the nearest double (ties to even): infinite when it
/// overflows, a zero when it underflows; `None` if the text is not such a
/// number. (glibc's `strtod` rounds exactly too; `str::parse::<f64>` would
/// give the same values but brings 15 KB of tables and code to the browser
/// build, this reuses the bignum the x87 parser needs anyway.)
pub fn parse_double(s: &[u8]) -> Option<f64> {
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if let Some(v) = exact_fast_path(body) {
        return Some(if neg { -v } else { v });
    }
    let v = match parse_decimal(DOUBLE, neg, body)?.0 {
        LongDouble::Finite { mant, exp, .. } if mant != 0 => {
            // A normal double has its 53rd bit set; a subnormal has exp -1074.
            let bits = if mant >> 52 == 1 {
                ((exp + 1075) as u64) << 52 | (mant & ((1 << 52) - 1))
            } else {
                mant
            };
            f64::from_bits(bits)
        }
        LongDouble::Finite { .. } => 0.0,
        _ => f64::INFINITY,
    };
    Some(if neg { -v } else { v })
}

/// Powers of ten that a double holds exactly.
const EXACT_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Clinger's fast path, without allocating: when the digits make an integer
/// `w` below 2^53 and the decimal exponent is within ±22, both `w` and
/// `10^|exp|` are exact doubles, so one multiplication or division rounds
/// once, correctly. `None` sends the text to the bignum (which also rejects
/// malformed text): more digits, a larger exponent, or anything unusual.
fn exact_fast_path(body: &[u8]) -> Option<f64> {
    let mut w: u64 = 0;
    let mut digits = 0;
    let mut frac: i64 = 0;
    let mut seen_point = false;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            c @ b'0'..=b'9' => {
                if w >= 1 << 53 {
                    return None;
                }
                w = w * 10 + (c - b'0') as u64;
                digits += 1;
                if seen_point {
                    frac += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 || w >= 1 << 53 {
        return None;
    }
    let mut exp: i64 = 0;
    if i < body.len() {
        if body[i] | 0x20 != b'e' {
            return None;
        }
        exp = parse_exponent(&body[i + 1..])?;
    }
    let dexp = exp - frac;
    if !(-22..=22).contains(&dexp) {
        return None;
    }
    let v = w as f64;
    Some(if dexp >= 0 {
        v * EXACT_POW10[dexp as usize]
    } else {
        v / EXACT_POW10[(-dexp) as usize]
    })
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
    nonzero_result(round_big(X87, neg, &num, bexp))
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
                return round_big(X87, na, &big_a.add(&big_b), e);
            }
            match big_a.cmp(&big_b) {
                Ordering::Equal => LongDouble::ZERO,
                Ordering::Greater => {
                    let mut d = big_a;
                    d.sub_assign(&big_b);
                    round_big(X87, na, &d, e)
                }
                Ordering::Less => {
                    let mut d = big_b;
                    d.sub_assign(&big_a);
                    round_big(X87, nb, &d, e)
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
        // Both fit a u64 (mant < 2^64, shift >= 1), and u64 formatting is
        // already in the build where u128's is not.
        let frac = format!("{:017}", (q % SCALE) as u64);
        let frac = frac.trim_end_matches('0');
        s.push_str(&((q / SCALE) as u64).to_string());
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

/// The exact decimal expansion of a finite double's magnitude: its digits
/// (no leading or trailing zeros, empty for zero) and the position of the
/// point, so that the value is `0.d1 d2 d3 ... * 10^point`.
fn exact_digits(v: f64) -> (Vec<u8>, i64) {
    let bits = v.to_bits();
    let (biased, fraction) = ((bits >> 52) & 0x7ff, bits & ((1 << 52) - 1));
    let (mut mant, mut exp) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | 1 << 52, biased as i64 - 1075)
    };
    if mant == 0 {
        return (Vec::new(), 0);
    }
    let tz = mant.trailing_zeros();
    mant >>= tz;
    exp += tz as i64;
    let mut n = Big::from_u128(mant as u128);
    // mant * 2^exp = mant * 5^-exp / 10^-exp for a negative exp.
    let scale = if exp >= 0 {
        n = n.shl(exp);
        0
    } else {
        let mut k = -exp;
        while k >= 13 {
            n.mul_add_small(1_220_703_125, 0); // 5^13
            k -= 13;
        }
        n.mul_add_small(5u32.pow(k as u32), 0);
        -exp
    };
    let mut digits: Vec<u8> = n.to_decimal().bytes().map(|c| c - b'0').collect();
    let point = digits.len() as i64 - scale;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    (digits, point)
}

/// Round `0.digits * 10^point` to its first `keep` digits (which may be
/// zero or negative: the rounding position lies left of the first digit),
/// ties to even, as glibc's printf rounds the exact value.
fn round_digits(mut digits: Vec<u8>, mut point: i64, keep: i64) -> (Vec<u8>, i64) {
    if keep >= digits.len() as i64 {
        return (digits, point);
    }
    if keep < 0 {
        return (Vec::new(), point);
    }
    let k = keep as usize;
    let first_dropped = digits[k];
    let rest_nonzero = digits[k + 1..].iter().any(|&d| d != 0);
    let last_odd = k > 0 && digits[k - 1] % 2 == 1;
    let up = first_dropped > 5 || (first_dropped == 5 && (rest_nonzero || last_odd));
    digits.truncate(k);
    if up {
        loop {
            match digits.last_mut() {
                Some(9) => {
                    digits.pop();
                }
                Some(d) => {
                    *d += 1;
                    break;
                }
                None => {
                    digits.push(1);
                    point += 1;
                    break;
                }
            }
        }
        // Carried past the kept digits: `digits` is shorter, its point unchanged
        // unless every digit was a 9.
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    (digits, point)
}

fn push_digits(s: &mut String, digits: &[u8]) {
    s.extend(digits.iter().map(|&d| (b'0' + d) as char));
}

/// `printf("%.Nf", v)` for a finite `v`: exactly rounded, ties to even.
pub fn format_fixed(v: f64, decimals: usize) -> String {
    let (digits, point) = exact_digits(v);
    let (digits, point) = round_digits(digits, point, point + decimals as i64);
    let mut s = String::new();
    if v.is_sign_negative() {
        s.push('-');
    }
    let whole = point.max(0) as usize;
    if whole == 0 {
        s.push('0');
    } else {
        push_digits(&mut s, &digits[..whole.min(digits.len())]);
        s.extend(std::iter::repeat_n('0', whole.saturating_sub(digits.len())));
    }
    if decimals > 0 {
        s.push('.');
        let lead = ((-point).max(0) as usize).min(decimals);
        s.extend(std::iter::repeat_n('0', lead));
        let frac = digits.get(whole..).unwrap_or(&[]);
        push_digits(&mut s, frac);
        s.extend(std::iter::repeat_n('0', decimals - lead - frac.len()));
    }
    s
}

/// `printf("%.Pg", v)` for a finite non-zero `v` (`precision` >= 1): `P`
/// significant digits, exactly rounded with ties to even; scientific
/// (`1.5e+20`, at least two exponent digits) when the decimal exponent is
/// below -4 or at least `P`, else fixed; trailing zeros and a bare point
/// removed.
pub fn format_g(v: f64, precision: usize) -> String {
    let (digits, point) = exact_digits(v);
    let (digits, point) = round_digits(digits, point, precision as i64);
    let mut s = String::new();
    if v.is_sign_negative() {
        s.push('-');
    }
    let x = point - 1;
    if x < -4 || x >= precision as i64 {
        push_digits(&mut s, &digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            push_digits(&mut s, &digits[1..]);
        }
        let sign = if x < 0 { '-' } else { '+' };
        let e = x.unsigned_abs();
        s.push('e');
        s.push(sign);
        if e < 10 {
            s.push('0');
        }
        s.push_str(&e.to_string());
    } else if point <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-point) as usize));
        push_digits(&mut s, &digits);
    } else {
        let whole = point as usize;
        push_digits(&mut s, &digits[..whole.min(digits.len())]);
        s.extend(std::iter::repeat_n('0', whole.saturating_sub(digits.len())));
        if digits.len() > whole {
            s.push('.');
            push_digits(&mut s, &digits[whole..]);
        }
    }
    s
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

    /// `%.17g` through Rust's own (exact, ties-to-even) float formatting: the
    /// oracle for [`format_g`].
    fn std_g17(v: f64) -> String {
        let trim = |s: &str| -> String {
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s.to_string()
            }
        };
        let sci = format!("{:.16e}", v);
        let (mant, exp) = sci.split_once('e').expect("exponent");
        let exp: i32 = exp.parse().expect("digits");
        if !(-4..17).contains(&exp) {
            let sign = if exp < 0 { '-' } else { '+' };
            format!("{}e{sign}{:02}", trim(mant), exp.abs())
        } else {
            trim(&format!("{:.*}", (16 - exp).max(0) as usize, v))
        }
    }

    /// Finite doubles of every kind: random bit patterns (all exponents,
    /// subnormals), short decimals, and dyadic values whose expansion ends
    /// in a 5 right where the rounding happens (ties).
    fn sample_doubles() -> Vec<f64> {
        let mut out = vec![
            0.1,
            0.5,
            1.5,
            2.5,
            0.125,
            0.375,
            1e-5,
            1e-4,
            123456789012345678.0,
            1e17,
            1e16,
            5e-324,
            2.2250738585072014e-308,
            f64::MAX,
            f64::MIN_POSITIVE,
            0.3,
            2.0 / 3.0,
            1e21,
            1e22,
            1e23,
            0.000123,
            99.995,
            0.005,
            0.015,
            0.025,
            1.005,
            1234.5678,
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..6_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match i % 3 {
                0 => f64::from_bits(x),
                1 => (x % 2_000_000) as f64 / 1000.0 - 1000.0,
                _ => (x % (1 << 30)) as f64 / (1u64 << (x >> 58)) as f64,
            };
            if v.is_finite() {
                out.push(v);
                out.push(-v);
            }
        }
        out
    }

    #[test]
    fn g17_and_fixed_match_exact_formatting() {
        for v in sample_doubles() {
            if v != 0.0 {
                assert_eq!(format_g(v, 17), std_g17(v), "{v:e}");
            }
            if v.abs() < 1e30 {
                assert_eq!(format_fixed(v, 2), format!("{v:.2}"), "{v:e}");
            }
        }
        assert_eq!(format_fixed(0.5, 0), "0");
        assert_eq!(format_fixed(1.5, 0), "2");
        assert_eq!(format_fixed(0.125, 2), "0.12");
        assert_eq!(format_fixed(894.875, 2), "894.88");
        assert_eq!(format_g(1e100, 17), "1e+100");
        assert_eq!(format_g(0.1, 17), "0.10000000000000001");
    }

    #[test]
    fn parse_double_rounds_like_strtod() {
        let mut texts: Vec<String> = vec![
            "0".into(),
            "-0".into(),
            "+1.5".into(),
            "1.".into(),
            ".5".into(),
            "1e400".into(),
            "-1e400".into(),
            "1e-400".into(),
            "2.4703282292062327e-324".into(), // just under half the smallest subnormal
            "2.4703282292062328e-324".into(), // just over: rounds up to it
            "4.9406564584124654e-324".into(),
            "1.7976931348623157e308".into(),
            "1.7976931348623158e308".into(),
            "1.7976931348623159e308".into(), // rounds to infinity
            "9007199254740993".into(),       // 2^53 + 1: a tie, to even
            "9007199254740995".into(),
            "0.1000000000000000055511151231257827021181583404541015625".into(),
            "0.1000000000000000055511151231257827021181583404541015626".into(),
            format!("1{}e-100", "0".repeat(300)),
        ];
        // Short decimals (the fast path and its edges: 2^53, exponent ±22).
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut t = (x >> 8).to_string();
            t.truncate((x % 18) as usize + 1);
            let digits = t.len();
            let point = (x >> 40) as usize % (digits + 1);
            if point < digits && x & 1 == 0 {
                t.insert(point, '.');
            }
            if x & 2 == 0 {
                t.push_str(&format!("e{}", ((x >> 50) % 61) as i64 - 30));
            }
            texts.push(t);
        }
        texts.extend(
            [
                "9007199254740992",
                "9007199254740993e0",
                "1e22",
                "1e23",
                "123e-22",
            ]
            .map(String::from),
        );
        for v in sample_doubles() {
            texts.push(format!("{v:e}"));
            texts.push(format!("{v}"));
            texts.push(format!("{:.25e}", v));
        }
        for t in &texts {
            let want: f64 = t.parse().expect("std parses it");
            let got = parse_double(t.as_bytes()).unwrap_or_else(|| panic!("{t}"));
            assert_eq!(got.to_bits(), want.to_bits(), "{t}");
        }
        for bad in [
            "", "-", ".", "e5", "1e", "1e+", "1.2.3", "0x10", "inf", "1 ",
        ] {
            assert_eq!(parse_double(bad.as_bytes()), None, "{bad:?}");
        }
    }
}
