//! RESP2 as Redis 7.0 reads and writes it.
//!
//! * [`RequestParser`] is the incremental request decoder of `networking.c`:
//!   a request that starts with `*` is a multibulk (`*<n>\r\n` then `n` times
//!   `$<len>\r\n<bytes>\r\n`), anything else is an inline command split like
//!   `sdssplitargs` (quotes, `\xHH` escapes). A frame may be split anywhere
//!   across reads. The limits are Redis's: unterminated header lines and
//!   inline requests stop at 64 KiB, a multibulk count above `i32::MAX` or a
//!   bulk length above `proto-max-bulk-len` is a protocol error, and
//!   unauthenticated clients may send at most 10 arguments of 16 KiB each.
//!   A protocol error is answered with Redis's text and closes only that
//!   connection.
//! * The reply writers append RESP2 replies to an output buffer.

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline request or unterminated header line (`PROTO_INLINE_MAX_SIZE`).
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Largest multibulk count an unauthenticated client may announce.
pub const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// Largest bulk an unauthenticated client may announce.
pub const UNAUTH_MAX_BULK: i64 = 16384;

/// A request that cannot be parsed; the text is what Redis answers (after `-ERR `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// `*` count not a number or out of range.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// `$` length not a number, negative, or above `proto-max-bulk-len`.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// An element of a multibulk did not start with `$`.
    #[error("Protocol error: expected '$', got '{0}'")]
    ExpectedDollar(char),
    /// An inline request with no newline within 64 KiB.
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    /// A `*` line with no terminator within 64 KiB.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMbulkCount,
    /// A `$` line with no terminator within 64 KiB.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// Inline request with an unterminated quote.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// More than 10 arguments before AUTH.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulk,
    /// A bulk over 16 KiB before AUTH.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulk,
}

/// Limits the parser enforces; see the module docs.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// `proto-max-bulk-len`; `None` for a master link, which Redis exempts.
    pub max_bulk_len: Option<i64>,
    /// Whether the connection has authenticated (or needs no auth).
    pub authenticated: bool,
}

/// One parsed request: its arguments, and how it was framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The arguments, command name first. Empty for an empty inline line.
    pub args: Vec<Bytes>,
    /// How many input bytes this request took (replication offsets count them).
    pub wire_len: usize,
}

/// Incremental RESP2 request decoder; feed bytes with [`extend`](Self::extend),
/// take requests with [`next_request`](Self::next_request).
#[derive(Debug, Default)]
pub struct RequestParser {
    buf: BytesMut,
    /// Multibulk in progress: elements still expected.
    pending: usize,
    /// Bulk in progress: its length, once its header was read.
    bulk_len: Option<usize>,
    args: Vec<Bytes>,
    consumed: usize,
}

fn parse_i64(s: &[u8]) -> Option<i64> {
    crate::util::parse_i64(s)
}

impl RequestParser {
    /// A parser with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append bytes read from the connection.
    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered and not yet consumed by a complete request
    /// (what `client-query-buffer-limit` bounds).
    pub fn buffered(&self) -> usize {
        self.buf.len() + self.args.iter().map(|a| a.len()).sum::<usize>()
    }

    /// Whether a request is partially received.
    pub fn in_progress(&self) -> bool {
        !self.buf.is_empty() || self.pending > 0
    }

    /// Take the next complete request, `Ok(None)` if more bytes are needed.
    pub fn next_request(&mut self, limits: ParseLimits) -> Result<Option<Request>, ProtocolError> {
        {
            if self.pending == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                if self.buf[0] == b'*' {
                    let Some(line_end) = find_cr(&self.buf) else {
                        if self.buf.len() > PROTO_INLINE_MAX_SIZE {
                            return Err(ProtocolError::TooBigMbulkCount);
                        }
                        return Ok(None);
                    };
                    if line_end + 1 >= self.buf.len() {
                        return Ok(None); // need the '\n' too
                    }
                    let n = parse_i64(&self.buf[1..line_end]);
                    let n = match n {
                        Some(n) if n <= i32::MAX as i64 => n,
                        _ => return Err(ProtocolError::InvalidMultibulkLength),
                    };
                    if n > UNAUTH_MAX_MULTIBULK && !limits.authenticated {
                        return Err(ProtocolError::UnauthenticatedMultibulk);
                    }
                    self.buf.advance(line_end + 2);
                    self.consumed += line_end + 2;
                    if n <= 0 {
                        // `*0` and `*-1` are consumed and ignored, as Redis does.
                        let wire_len = std::mem::take(&mut self.consumed);
                        return Ok(Some(Request {
                            args: Vec::new(),
                            wire_len,
                        }));
                    }
                    self.pending = n as usize;
                    // Never trust the declared count for the allocation.
                    self.args = Vec::with_capacity(self.pending.min(1024));
                } else {
                    return self.inline();
                }
            }
            // Multibulk elements.
            while self.pending > 0 {
                let len = match self.bulk_len {
                    Some(l) => l,
                    None => {
                        let Some(line_end) = find_cr(&self.buf) else {
                            if self.buf.len() > PROTO_INLINE_MAX_SIZE {
                                return Err(ProtocolError::TooBigBulkCount);
                            }
                            return Ok(None);
                        };
                        if line_end + 1 >= self.buf.len() {
                            return Ok(None);
                        }
                        if self.buf[0] != b'$' {
                            return Err(ProtocolError::ExpectedDollar(self.buf[0] as char));
                        }
                        let l = parse_i64(&self.buf[1..line_end]);
                        let l = match l {
                            Some(l) if l >= 0 && limits.max_bulk_len.is_none_or(|m| l <= m) => l,
                            _ => return Err(ProtocolError::InvalidBulkLength),
                        };
                        if l > UNAUTH_MAX_BULK && !limits.authenticated {
                            return Err(ProtocolError::UnauthenticatedBulk);
                        }
                        self.buf.advance(line_end + 2);
                        self.consumed += line_end + 2;
                        let l = l as usize;
                        self.bulk_len = Some(l);
                        if self.buf.capacity() < l + 2 {
                            // Big argument: reserve once, as Redis does for PROTO_MBULK_BIG_ARG.
                            self.buf.reserve(l + 2 - self.buf.len().min(l + 2));
                        }
                        l
                    }
                };
                if self.buf.len() < len + 2 {
                    return Ok(None);
                }
                let arg = self.buf.split_to(len).freeze();
                self.buf.advance(2); // Redis does not check the CRLF bytes either
                self.consumed += len + 2;
                self.args.push(arg);
                self.bulk_len = None;
                self.pending -= 1;
            }
            let wire_len = std::mem::take(&mut self.consumed);
            Ok(Some(Request {
                args: std::mem::take(&mut self.args),
                wire_len,
            }))
        }
    }

    fn inline(&mut self) -> Result<Option<Request>, ProtocolError> {
        let Some(nl) = self.buf.iter().position(|&c| c == b'\n') else {
            if self.buf.len() > PROTO_INLINE_MAX_SIZE {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(None);
        };
        let line = self.buf.split_to(nl + 1);
        let mut end = nl;
        if end > 0 && line[end - 1] == b'\r' {
            end -= 1;
        }
        let args = split_args(&line[..end]).ok_or(ProtocolError::UnbalancedQuotes)?;
        Ok(Some(Request {
            args: args.into_iter().map(Bytes::from).collect(),
            wire_len: nl + 1,
        }))
    }
}

fn find_cr(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&c| c == b'\r')
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Split a line into arguments the way `sdssplitargs` does: whitespace
/// separates, `"..."` understands `\n \r \t \b \a \\ \" \xHH`, `'...'`
/// understands `\'`; a closing quote must be followed by a space or the end.
/// `None` on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex_val(line[i + 2]).is_some()
                    && hex_val(line[i + 3]).is_some()
                {
                    cur.push(hex_val(line[i + 2]).unwrap() * 16 + hex_val(line[i + 3]).unwrap());
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

/// Two-digit decimal pairs, `00` to `99`.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Write the decimal digits of `u` so that they end just before `buf[end]`.
/// Two digits per division (a reply holds many small numbers).
fn write_digits(buf: &mut [u8], mut end: usize, mut u: u64) {
    while u >= 100 {
        let d = (u % 100) as usize * 2;
        u /= 100;
        end -= 2;
        buf[end..end + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    }
    if u >= 10 {
        let d = u as usize * 2;
        buf[end - 2..end].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    } else {
        buf[end - 1] = b'0' + u as u8;
    }
}

/// Number of decimal digits of `u`.
fn digit_count(u: u64) -> usize {
    u.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// Write the decimal text of `v` at the start of `buf`; returns its length.
fn format_int(v: i64, buf: &mut [u8; 24]) -> usize {
    let sign = usize::from(v < 0);
    buf[0] = b'-';
    let len = sign + digit_count(v.unsigned_abs());
    write_digits(buf, len, v.unsigned_abs());
    len
}

/// Append a decimal integer without allocating.
pub fn push_int(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 24];
    let len = format_int(v, &mut buf);
    out.extend_from_slice(&buf[..len]);
}

/// Append `<prefix><n>\r\n` (an array, bulk or integer header). The text
/// is built in a fixed-size buffer appended whole and cut back, so the copy
/// has a constant size (no call to `memcpy` per header).
#[inline]
fn push_header(out: &mut Vec<u8>, prefix: u8, n: i64) {
    if (0..100).contains(&n) {
        // Most lengths and counts in replies.
        let n = n as usize;
        if n < 10 {
            out.extend_from_slice(&[prefix, b'0' + n as u8, b'\r', b'\n']);
        } else {
            let (hi, lo) = (DIGIT_PAIRS[n * 2], DIGIT_PAIRS[n * 2 + 1]);
            out.extend_from_slice(&[prefix, hi, lo, b'\r', b'\n']);
        }
        return;
    }
    let mut buf = [0u8; 26];
    buf[0] = prefix;
    let mut text = [0u8; 24];
    let len = format_int(n, &mut text);
    buf[1..25].copy_from_slice(&text);
    buf[1 + len] = b'\r';
    buf[2 + len] = b'\n';
    let used = out.len() + 3 + len;
    out.extend_from_slice(&buf);
    out.truncate(used);
}

/// RESP2 reply writers over an output buffer.
pub trait ReplyWriter {
    /// `+text\r\n`
    fn simple(&mut self, s: &str);
    /// `-text\r\n` (the text carries its own prefix such as `ERR`).
    fn error(&mut self, s: &str);
    /// `:n\r\n`
    fn int(&mut self, n: i64);
    /// `$len\r\nbytes\r\n`
    fn bulk(&mut self, b: &[u8]);
    /// `$-1\r\n`
    fn null_bulk(&mut self);
    /// `*-1\r\n`
    fn null_array(&mut self);
    /// `*n\r\n`
    fn array_len(&mut self, n: usize);
    /// `$len\r\n<decimal>\r\n`
    fn bulk_int(&mut self, n: i64);
    /// `+OK\r\n`
    fn ok(&mut self) {
        self.simple("OK");
    }
}

impl ReplyWriter for Vec<u8> {
    fn simple(&mut self, s: &str) {
        self.push(b'+');
        self.extend_from_slice(s.as_bytes());
        self.extend_from_slice(b"\r\n");
    }
    fn error(&mut self, s: &str) {
        self.push(b'-');
        // Redis replaces newlines in error strings so the reply stays one line.
        for &c in s.as_bytes() {
            self.push(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.extend_from_slice(b"\r\n");
    }
    fn int(&mut self, n: i64) {
        push_header(self, b':', n);
    }
    fn bulk(&mut self, b: &[u8]) {
        let n = b.len();
        if n < 10 {
            // Short values (list items, members): a 4-byte header of
            // constant size, no digit formatting.
            self.reserve(n + 6);
            self.extend_from_slice(&[b'$', b'0' + n as u8, b'\r', b'\n']);
        } else {
            self.reserve(n + 28);
            push_header(self, b'$', n as i64);
        }
        self.extend_from_slice(b);
        self.extend_from_slice(b"\r\n");
    }
    fn null_bulk(&mut self) {
        self.extend_from_slice(b"$-1\r\n");
    }
    fn null_array(&mut self) {
        self.extend_from_slice(b"*-1\r\n");
    }
    fn array_len(&mut self, n: usize) {
        push_header(self, b'*', n as i64);
    }
    fn bulk_int(&mut self, n: i64) {
        // `$<len>\r\n<digits>\r\n`, at most 26 bytes: built whole in a
        // fixed-size buffer, appended whole and cut back.
        let mut text = [0u8; 24];
        let len = format_int(n, &mut text);
        let mut buf = [0u8; 30];
        buf[0] = b'$';
        let at = if len < 10 {
            buf[1] = b'0' + len as u8;
            2
        } else {
            buf[1..3].copy_from_slice(&DIGIT_PAIRS[len * 2..len * 2 + 2]);
            3
        };
        buf[at..at + 2].copy_from_slice(b"\r\n");
        buf[at + 2..at + 26].copy_from_slice(&text);
        buf[at + 2 + len..at + 4 + len].copy_from_slice(b"\r\n");
        let used = self.len() + at + 4 + len;
        self.extend_from_slice(&buf);
        self.truncate(used);
    }
}

/// Encode a command as a RESP multibulk (what replicas and masters exchange).
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    out.array_len(args.len());
    for a in args {
        out.bulk(a.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: ParseLimits = ParseLimits {
        max_bulk_len: Some(512 * 1024 * 1024),
        authenticated: true,
    };

    #[test]
    fn integers_format_as_decimal_text() {
        let mut cases = vec![
            0,
            9,
            10,
            99,
            100,
            101,
            999,
            1000,
            12345,
            i64::MAX,
            i64::MIN,
            -1,
            -10,
            -99,
            -100,
        ];
        let mut x: i64 = 1;
        while let Some(n) = x.checked_mul(7) {
            cases.extend([n, n - 1, -n]);
            x = n;
        }
        for v in cases {
            let mut out = Vec::new();
            push_int(&mut out, v);
            assert_eq!(out, v.to_string().into_bytes());
            let mut out = Vec::new();
            out.int(v);
            out.bulk_int(v);
            assert_eq!(
                out,
                format!(":{v}\r\n${}\r\n{v}\r\n", v.to_string().len()).into_bytes()
            );
        }
        let mut out = Vec::new();
        out.array_len(3);
        out.bulk(b"");
        out.bulk(&[b'x'; 100]);
        assert_eq!(out[..11], *b"*3\r\n$0\r\n\r\n$");
        assert_eq!(out[11..16], *b"100\r\n");
        assert_eq!(out.len(), 16 + 102);
    }

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = RequestParser::new();
        p.extend(input);
        let mut out = Vec::new();
        while let Some(r) = p.next_request(OPEN)? {
            out.push(r.args.iter().map(|a| a.to_vec()).collect());
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline() {
        let r = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nSET a \"b c\"\r\nPING\n").unwrap();
        assert_eq!(
            r,
            vec![
                vec![b"GET".to_vec(), b"k".to_vec()],
                vec![b"SET".to_vec(), b"a".to_vec(), b"b c".to_vec()],
                vec![b"PING".to_vec()],
            ]
        );
    }

    #[test]
    fn split_anywhere() {
        let frame = b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$11\r\nwor\r\nld\x00xyz\r\n";
        for cut in 0..frame.len() {
            let mut p = RequestParser::new();
            p.extend(&frame[..cut]);
            assert!(p.next_request(OPEN).unwrap().is_none(), "cut {cut}");
            p.extend(&frame[cut..]);
            let r = p.next_request(OPEN).unwrap().unwrap();
            assert_eq!(r.args[2].as_ref(), b"wor\r\nld\x00xyz");
            assert_eq!(r.wire_len, frame.len());
            assert!(p.next_request(OPEN).unwrap().is_none());
        }
    }

    #[test]
    fn protocol_errors() {
        assert_eq!(
            parse_all(b"*abc\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*3000000000\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$-5\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$600000000\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\nfoo\r\n"),
            Err(ProtocolError::ExpectedDollar('f'))
        );
        assert_eq!(
            parse_all(b"SET \"a\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(
            parse_all(&vec![b'a'; 70000]),
            Err(ProtocolError::TooBigInline)
        );
        let mut big = b"*".to_vec();
        big.extend(vec![b'1'; 70000]);
        assert_eq!(parse_all(&big), Err(ProtocolError::TooBigMbulkCount));
        assert_eq!(
            ProtocolError::InvalidMultibulkLength.to_string(),
            "Protocol error: invalid multibulk length"
        );
    }

    #[test]
    fn unauthenticated_limits() {
        let lim = ParseLimits {
            max_bulk_len: Some(1 << 29),
            authenticated: false,
        };
        let mut p = RequestParser::new();
        p.extend(b"*100\r\n");
        assert_eq!(
            p.next_request(lim),
            Err(ProtocolError::UnauthenticatedMultibulk)
        );
        let mut p = RequestParser::new();
        p.extend(b"*1\r\n$100000000\r\n");
        assert_eq!(p.next_request(lim), Err(ProtocolError::UnauthenticatedBulk));
    }

    #[test]
    fn inline_quotes_like_sdssplitargs() {
        assert_eq!(
            split_args(br#"set "a\x41\n" 'it\'s' plain"#).unwrap(),
            vec![
                b"set".to_vec(),
                b"aA\n".to_vec(),
                b"it's".to_vec(),
                b"plain".to_vec()
            ]
        );
        assert!(split_args(br#""abc"def"#).is_none());
        assert_eq!(split_args(b"   ").unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn writers() {
        let mut out = Vec::new();
        out.int(-42);
        out.bulk(b"hi");
        out.null_bulk();
        out.error("ERR x\ny");
        assert_eq!(out, b":-42\r\n$2\r\nhi\r\n$-1\r\n-ERR x y\r\n");
    }

    #[test]
    fn bulk_of_every_short_length() {
        // One-digit lengths take a path of their own; the rest do not.
        let mut out = Vec::new();
        let mut expected = Vec::new();
        for n in 0..130 {
            let value: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            out.bulk(&value);
            expected.extend_from_slice(format!("${n}\r\n").as_bytes());
            expected.extend_from_slice(&value);
            expected.extend_from_slice(b"\r\n");
        }
        assert_eq!(out, expected);
    }
}
