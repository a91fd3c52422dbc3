//! The console: a line typed as in `redis-cli` (split like `sdssplitargs`)
//! and a RESP reply printed the way `redis-cli` prints it on a terminal
//! (`cliFormatReplyTTY`): `OK`, `(integer) 1`, `"v"`, `(nil)`,
//! `(error) ERR ...`, `(empty array)`, numbered nested lists.

/// One RESP2/RESP3 reply value.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+text`
    Status(String),
    /// `-text`
    Error(String),
    /// `:n`
    Integer(i64),
    /// `$n` (bytes)
    Bulk(Vec<u8>),
    /// `$-1`, `*-1`, `_`
    Nil,
    /// `*n`, `~n`, `>n`
    Array(Vec<Reply>),
    /// `%n`: key, value pairs flattened
    Map(Vec<Reply>),
    /// `,d`
    Double(String),
    /// `#t` / `#f`
    Bool(bool),
}

/// Parse one reply from the front of `buf`; `None` if incomplete or not RESP.
pub fn parse_reply(buf: &[u8]) -> Option<(Reply, usize)> {
    let nl = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&buf[1..nl]).into_owned();
    let next = nl + 2;
    let count = |s: &str| s.parse::<i64>().ok();
    let items = |n: i64, mut at: usize| -> Option<(Vec<Reply>, usize)> {
        let mut v = Vec::new();
        for _ in 0..n.max(0) {
            let (r, used) = parse_reply(buf.get(at..)?)?;
            v.push(r);
            at += used;
        }
        Some((v, at))
    };
    Some(match *buf.first()? {
        b'+' => (Reply::Status(line), next),
        b'-' => (Reply::Error(line), next),
        b':' => (Reply::Integer(count(&line)?), next),
        b',' => (Reply::Double(line), next),
        b'#' => (Reply::Bool(line == "t"), next),
        b'_' => (Reply::Nil, next),
        b'$' | b'=' => {
            let n = count(&line)?;
            if n < 0 {
                return Some((Reply::Nil, next));
            }
            let end = next + n as usize;
            let body = buf.get(next..end)?.to_vec();
            buf.get(end..end + 2)?;
            (Reply::Bulk(body), end + 2)
        }
        b'*' | b'~' | b'>' => {
            let n = count(&line)?;
            if n < 0 {
                return Some((Reply::Nil, next));
            }
            let (v, at) = items(n, next)?;
            (Reply::Array(v), at)
        }
        b'%' => {
            let n = count(&line)?;
            let (v, at) = items(n * 2, next)?;
            (Reply::Map(v), at)
        }
        _ => return None,
    })
}

/// `sdscatrepr`: a quoted string with `\n \r \t \a \b \\ \"` and `\xHH`.
pub fn repr(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

/// The reply as `redis-cli` prints it (no trailing newline).
pub fn format_reply(r: &Reply) -> String {
    let mut out = String::new();
    format_into(r, "", &mut out);
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

fn format_into(r: &Reply, prefix: &str, out: &mut String) {
    match r {
        Reply::Status(s) => out.push_str(s),
        Reply::Error(e) => {
            out.push_str("(error) ");
            out.push_str(e);
        }
        Reply::Integer(n) => out.push_str(&format!("(integer) {n}")),
        Reply::Double(d) => out.push_str(&format!("(double) {d}")),
        Reply::Bool(b) => out.push_str(if *b { "(true)" } else { "(false)" }),
        Reply::Bulk(b) => out.push_str(&repr(b)),
        Reply::Nil => out.push_str("(nil)"),
        Reply::Array(items) | Reply::Map(items) => {
            if items.is_empty() {
                out.push_str(if matches!(r, Reply::Map(_)) {
                    "(empty hash)"
                } else {
                    "(empty array)"
                });
                out.push('\n');
                return;
            }
            let width = items.len().to_string().len();
            let inner = format!("{prefix}{}", " ".repeat(width + 2));
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(prefix);
                }
                out.push_str(&format!("{:>width$}) ", i + 1));
                format_into(item, &inner, out);
                if !out.ends_with('\n') {
                    out.push('\n');
                }
            }
            return;
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(resp: &[u8]) -> String {
        let (r, used) = parse_reply(resp).expect("complete");
        assert_eq!(used, resp.len());
        format_reply(&r)
    }

    #[test]
    fn like_redis_cli() {
        assert_eq!(show(b"+OK\r\n"), "OK");
        assert_eq!(show(b":1\r\n"), "(integer) 1");
        assert_eq!(show(b"$1\r\nv\r\n"), "\"v\"");
        assert_eq!(show(b"$-1\r\n"), "(nil)");
        assert_eq!(
            show(b"-READONLY You can't write against a read only replica.\r\n"),
            "(error) READONLY You can't write against a read only replica."
        );
        assert_eq!(show(b"*0\r\n"), "(empty array)");
        assert_eq!(show(b"$3\r\na\nb\r\n"), "\"a\\nb\"");
        assert_eq!(
            show(b"*2\r\n$1\r\na\r\n*2\r\n:1\r\n$1\r\nb\r\n"),
            "1) \"a\"\n2) 1) (integer) 1\n   2) \"b\""
        );
        let many: Vec<u8> = {
            let mut v = b"*10\r\n".to_vec();
            for i in 0..10 {
                v.extend(format!(":{i}\r\n").bytes());
            }
            v
        };
        assert!(show(&many).starts_with(" 1) (integer) 0\n 2) (integer) 1"));
        assert!(parse_reply(b"$5\r\nab").is_none());
        assert!(parse_reply(b"*2\r\n:1\r\n").is_none());
    }
}
