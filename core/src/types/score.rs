//! Doubles as Redis 7.0 reads and writes them for sorted-set scores.
//!
//! * [`parse_score`] is `string2d` (ZADD, ZINCRBY scores): glibc `strtod`
//!   over the whole argument, no leading space, `inf`/`infinity` in any case
//!   with an optional sign, NaN rejected, and an overflow to ±inf or an
//!   underflow to 0 (`ERANGE`) rejected.
//! * [`parse_range_bound`] is `zslParseRange`'s bound: an optional `(` for
//!   an exclusive bound, then `strtod` that must consume the rest; leading
//!   spaces are allowed, the empty string reads as 0, overflow gives ±inf,
//!   NaN is rejected.
//! * [`format_g17`] is `printf("%.17g")`, with `inf`/`-inf`, which is how
//!   7.0 answers scores (`addReplyDouble`) and how DEBUG DIGEST mixes them.

/// The length of the longest prefix of `s` that glibc `strtod` would
/// consume (after leading whitespace), and whether it was an inf/nan word.
/// Returns `None` if no number can be read at all.
fn strtod_prefix(s: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let start = i;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        i += 1;
    }
    let rest = &s[i..];
    let starts_ci = |w: &[u8]| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
    if starts_ci(b"infinity") {
        return Some((start, i + 8));
    }
    if starts_ci(b"inf") {
        return Some((start, i + 3));
    }
    if starts_ci(b"nan") {
        let mut j = i + 3;
        if j < s.len() && s[j] == b'(' {
            let mut k = j + 1;
            while k < s.len() && (s[k].is_ascii_alphanumeric() || s[k] == b'_') {
                k += 1;
            }
            if k < s.len() && s[k] == b')' {
                j = k + 1;
            }
        }
        return Some((start, j));
    }
    if let Some(end) = hex_end(s, i) {
        return Some((start, end));
    }
    let mut digits = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        let mut j = i + 1;
        if j < s.len() && (s[j] == b'+' || s[j] == b'-') {
            j += 1;
        }
        if j < s.len() && s[j].is_ascii_digit() {
            while j < s.len() && s[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    Some((start, i))
}

/// End of a C99 hexadecimal float (`0x1.8p3`) starting at `i`, if there is
/// one with at least one hex digit.
fn hex_end(s: &[u8], i: usize) -> Option<usize> {
    if !(s.len() > i + 2 && s[i] == b'0' && (s[i + 1] | 0x20) == b'x') {
        return None;
    }
    let mut j = i + 2;
    let mut digits = 0;
    while j < s.len() && s[j].is_ascii_hexdigit() {
        j += 1;
        digits += 1;
    }
    if j < s.len() && s[j] == b'.' {
        j += 1;
        while j < s.len() && s[j].is_ascii_hexdigit() {
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if j < s.len() && (s[j] | 0x20) == b'p' {
        let mut k = j + 1;
        if k < s.len() && (s[k] == b'+' || s[k] == b'-') {
            k += 1;
        }
        if k < s.len() && s[k].is_ascii_digit() {
            while k < s.len() && s[k].is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    Some(j)
}

/// Value of a hexadecimal float accepted by [`hex_end`] (sign included).
fn hex_value(t: &str) -> f64 {
    let neg = t.starts_with('-');
    let body = &t.trim_start_matches(['+', '-'])[2..];
    let (mant, exp) = match body.find(['p', 'P']) {
        Some(p) => (&body[..p], body[p + 1..].parse::<i32>().unwrap_or(0)),
        None => (body, 0),
    };
    let mut v = 0f64;
    let mut scale = 0i32;
    let mut frac = false;
    for c in mant.chars() {
        if c == '.' {
            frac = true;
            continue;
        }
        v = v * 16.0 + c.to_digit(16).unwrap_or(0) as f64;
        if frac {
            scale -= 4;
        }
    }
    let v = v * 2f64.powi(exp.saturating_add(scale));
    if neg {
        -v
    } else {
        v
    }
}

/// Value of a slice `strtod_prefix` accepted, and whether `strtod` would set
/// `ERANGE` with a zero or infinite result (overflow or total underflow).
fn strtod_value(text: &[u8]) -> (f64, bool) {
    let t = std::str::from_utf8(text).unwrap_or("0");
    let body = t.trim_start_matches(['+', '-']);
    let neg = t.starts_with('-');
    let starts_with = |word: &[u8]| {
        body.as_bytes()
            .get(..word.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(word))
    };
    if starts_with(b"inf") {
        return (
            if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            },
            false,
        );
    }
    if starts_with(b"nan") {
        return (f64::NAN, false);
    }
    let v: f64 =
        if body.len() > 1 && body.as_bytes()[0] == b'0' && (body.as_bytes()[1] | 0x20) == b'x' {
            hex_value(t)
        } else {
            crate::float::parse_double(t.as_bytes()).unwrap_or(0.0)
        };
    let mantissa_nonzero = body
        .bytes()
        .take_while(|c| *c != b'e' && *c != b'E')
        .any(|c| (b'1'..=b'9').contains(&c));
    let erange = v.is_infinite() || (v == 0.0 && mantissa_nonzero);
    (v, erange)
}

/// `string2d`: a score argument (ZADD, ZINCRBY), or `None` if Redis answers
/// `ERR value is not a valid float`.
pub fn parse_score(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s[0].is_ascii_whitespace() || s[0] == 0x0b {
        return None;
    }
    let (start, end) = strtod_prefix(s)?;
    if end != s.len() {
        return None;
    }
    let (v, erange) = strtod_value(&s[start..end]);
    if erange || v.is_nan() {
        return None;
    }
    Some(v)
}

/// One end of a score range (`zslParseRange`): the value and whether it is
/// exclusive, or `None` for `ERR min or max is not a float`.
pub fn parse_range_bound(s: &[u8]) -> Option<(f64, bool)> {
    let (exclusive, s) = match s.first() {
        Some(b'(') => (true, &s[1..]),
        _ => (false, s),
    };
    let v = match strtod_prefix(s) {
        None => {
            // strtod read nothing: the end pointer stays at the start, which
            // is accepted only when the string is empty.
            if s.is_empty() {
                0.0
            } else {
                return None;
            }
        }
        Some((start, end)) => {
            if end != s.len() {
                return None;
            }
            strtod_value(&s[start..end]).0
        }
    };
    if v.is_nan() {
        return None;
    }
    Some((v, exclusive))
}

/// `%.17g`, with `inf` and `-inf`, as Redis 7.0 replies scores.
pub fn format_g17(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Integral values below 1e17 print as plain integers under %.17g.
    if v.fract() == 0.0 && v.abs() < 1e17 {
        return (v as i64).to_string();
    }
    crate::float::format_g(v, 17)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2d_rules() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-3"), Some(-3.0));
        assert_eq!(parse_score(b"+2"), Some(2.0));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"5."), Some(5.0));
        assert_eq!(parse_score(b"1e3"), Some(1000.0));
        assert_eq!(parse_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+INF"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-iNf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"1e-310"), Some(1e-310));
        assert_eq!(parse_score(b"0e5"), Some(0.0));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"-0x1.8p1"), Some(-3.0));
        assert_eq!(parse_score(b"0x"), None);
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"-NaN",
            b"abc",
            b"1e",
            b"1e400",
            b"1e-400",
            b".",
            b"-",
            b"infx",
        ] {
            assert_eq!(parse_score(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn range_bounds() {
        assert_eq!(parse_range_bound(b"(1"), Some((1.0, true)));
        assert_eq!(parse_range_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(parse_range_bound(b"(+inf"), Some((f64::INFINITY, true)));
        assert_eq!(parse_range_bound(b""), Some((0.0, false)));
        assert_eq!(parse_range_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_range_bound(b" 2"), Some((2.0, false)));
        assert_eq!(parse_range_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_range_bound(b"(0x10"), Some((16.0, true)));
        assert_eq!(parse_range_bound(b"nan"), None);
        assert_eq!(parse_range_bound(b"x"), None);
        assert_eq!(parse_range_bound(b"1x"), None);
        assert_eq!(parse_range_bound(b"((1"), None);
    }

    #[test]
    fn g17() {
        assert_eq!(format_g17(1.0), "1");
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(format_g17(1.5), "1.5");
        assert_eq!(format_g17(-2.25), "-2.25");
        assert_eq!(format_g17(1e20), "1e+20");
        assert_eq!(format_g17(1.5e-7), "1.4999999999999999e-07");
        assert_eq!(format_g17(f64::INFINITY), "inf");
        assert_eq!(format_g17(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_g17(-0.0), "-0");
        assert_eq!(format_g17(12345678901234567.0), "12345678901234568");
        assert_eq!(format_g17(99999999999999984.0), "99999999999999984");
        assert_eq!(format_g17(1e17), "1e+17");
        assert_eq!(format_g17(-42.0), "-42");
        assert_eq!(format_g17(4503599627370497.0), "4503599627370497");
    }
}
