//! Listpacks (`listpack.c`): the blob inside RDB types 16 (hash), 17 (zset),
//! 18 (quicklist nodes) and 19 (stream nodes).
//!
//! Layout: `total_bytes u32 LE`, `count u16 LE` (65535 = "count by
//! walking"), entries, `0xFF`. An entry is an encoding byte with its data
//! (7-bit uint, 6-bit-length string, 13-bit int, 12-bit-length string,
//! 32-bit-length string, int16/24/32/64, all little-endian), then its
//! *backlen*: the entry's header+data size in 7-bit groups, 1 to 5 bytes,
//! with the exact size thresholds of `lpEncodeBacklen`.
//!
//! The writer follows `lpAppend`: a string that `string2ll` accepts (and is
//! under 21 bytes) is stored as the smallest integer form, anything else as
//! the smallest string form. The reader does the deep validation of
//! `lpValidateIntegrity`: every entry inside the blob, every backlen equal to
//! the entry's size, the walk ending on the final `0xFF` exactly, and the
//! count matching unless it is 65535. Integer entries read back as their
//! decimal text.

use crate::util::parse_i64;

/// Size in bytes of the backlen of an entry of `l` bytes.
fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    }
}

/// A listpack under construction.
pub struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// An empty listpack.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; 6]);
        Builder { buf, count: 0 }
    }

    /// Bytes the finished listpack will take.
    pub fn size(&self) -> usize {
        self.buf.len() + 1
    }

    /// Number of entries.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Bytes `e` would add as an entry.
    pub fn entry_size(e: &[u8]) -> usize {
        let l = match lp_int(e) {
            Some(v) => int_size(v),
            None if e.len() < 64 => 1 + e.len(),
            None if e.len() < 4096 => 2 + e.len(),
            None => 5 + e.len(),
        };
        l + backlen_size(l)
    }

    /// Append one entry.
    pub fn push(&mut self, e: &[u8]) {
        let buf = &mut self.buf;
        let start = buf.len();
        match lp_int(e) {
            Some(v) => push_int(buf, v),
            None if e.len() < 64 => {
                buf.push(0x80 | e.len() as u8);
                buf.extend_from_slice(e);
            }
            None if e.len() < 4096 => {
                buf.push(0xE0 | (e.len() >> 8) as u8);
                buf.push(e.len() as u8);
                buf.extend_from_slice(e);
            }
            None => {
                buf.push(0xF0);
                buf.extend_from_slice(&(e.len() as u32).to_le_bytes());
                buf.extend_from_slice(e);
            }
        }
        let l = buf.len() - start;
        let n = backlen_size(l);
        for i in 0..n {
            let mut b = ((l >> (7 * (n - 1 - i))) & 127) as u8;
            if i > 0 {
                b |= 0x80;
            }
            buf.push(b);
        }
        self.count += 1;
    }

    /// The finished blob.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

fn lp_int(e: &[u8]) -> Option<i64> {
    if e.len() >= 21 {
        return None;
    }
    parse_i64(e)
}

fn int_size(v: i64) -> usize {
    if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if i16::try_from(v).is_ok() {
        3
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        4
    } else if i32::try_from(v).is_ok() {
        5
    } else {
        9
    }
}

fn push_int(buf: &mut Vec<u8>, v: i64) {
    match int_size(v) {
        1 => buf.push(v as u8),
        2 => {
            let u = (v as u16) & 0x1fff;
            buf.push(0xC0 | (u >> 8) as u8);
            buf.push(u as u8);
        }
        3 => {
            buf.push(0xF1);
            buf.extend_from_slice(&(v as i16).to_le_bytes());
        }
        4 => {
            buf.push(0xF2);
            buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        }
        5 => {
            buf.push(0xF3);
            buf.extend_from_slice(&(v as i32).to_le_bytes());
        }
        _ => {
            buf.push(0xF4);
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// Decode a listpack into its entries (integers as decimal text). `Err`
/// describes the first problem and its byte position inside the blob.
pub fn decode(lp: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::with_capacity(count_hint(lp));
    decode_each(lp, |e| out.push(e.to_vec()))?;
    Ok(out)
}

/// The entry count a listpack's header declares, bounded by what its size
/// can hold (a hint for reserving room; 0 when unknown).
pub fn count_hint(lp: &[u8]) -> usize {
    if lp.len() < 7 {
        return 0;
    }
    // 65535 means "at least that many": the size bounds it either way.
    let declared = u16::from_le_bytes([lp[4], lp[5]]) as usize;
    declared.min(lp.len() / 2)
}

/// Walk a listpack, handing each entry to `f` (integers as decimal text);
/// returns the entry count. Entries before a malformed one have been
/// handed out when the error comes back.
pub fn decode_each(lp: &[u8], mut f: impl FnMut(&[u8])) -> Result<usize, String> {
    walk(lp, &mut f)
}

/// [`decode_each`]'s walk, compiled once for every caller (`f` behind a
/// pointer: one copy of this code in the browser's download, not one per
/// closure).
fn walk(lp: &[u8], f: &mut dyn FnMut(&[u8])) -> Result<usize, String> {
    if lp.len() < 7 {
        return Err(format!("listpack of {} bytes is too short", lp.len()));
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return Err(format!(
            "listpack header says {total} bytes, blob has {}",
            lp.len()
        ));
    }
    if lp[lp.len() - 1] != 0xFF {
        return Err("listpack does not end with 0xFF".into());
    }
    let declared = u16::from_le_bytes([lp[4], lp[5]]) as usize;
    let end = lp.len() - 1;
    let mut p = 6usize;
    let mut n = 0usize;
    let mut int_text = Vec::new();
    let need = |p: usize, k: usize| -> Result<(), String> {
        if p + k > end {
            Err(format!("listpack entry at byte {p} runs past the end"))
        } else {
            Ok(())
        }
    };
    while p < end {
        let b = lp[p];
        let (hdr, dlen, int): (usize, usize, Option<i64>) = if b & 0x80 == 0 {
            (1, 0, Some((b & 0x7f) as i64))
        } else if b & 0xC0 == 0x80 {
            (1, (b & 0x3f) as usize, None)
        } else if b & 0xE0 == 0xC0 {
            need(p, 2)?;
            let u = (((b & 0x1f) as i64) << 8) | lp[p + 1] as i64;
            (2, 0, Some(if u >= 1 << 12 { u - (1 << 13) } else { u }))
        } else if b & 0xF0 == 0xE0 {
            need(p, 2)?;
            (2, (((b & 0x0f) as usize) << 8) | lp[p + 1] as usize, None)
        } else {
            match b {
                0xF0 => {
                    need(p, 5)?;
                    let l = u32::from_le_bytes([lp[p + 1], lp[p + 2], lp[p + 3], lp[p + 4]]);
                    (5, l as usize, None)
                }
                0xF1 => {
                    need(p, 3)?;
                    (
                        3,
                        0,
                        Some(i16::from_le_bytes([lp[p + 1], lp[p + 2]]) as i64),
                    )
                }
                0xF2 => {
                    need(p, 4)?;
                    let u = i32::from_le_bytes([0, lp[p + 1], lp[p + 2], lp[p + 3]]) >> 8;
                    (4, 0, Some(u as i64))
                }
                0xF3 => {
                    need(p, 5)?;
                    let v = i32::from_le_bytes([lp[p + 1], lp[p + 2], lp[p + 3], lp[p + 4]]);
                    (5, 0, Some(v as i64))
                }
                0xF4 => {
                    need(p, 9)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(&lp[p + 1..p + 9]);
                    (9, 0, Some(i64::from_le_bytes(a)))
                }
                _ => return Err(format!("bad listpack encoding byte {b:#04x} at byte {p}")),
            }
        };
        let l = hdr
            .checked_add(dlen)
            .ok_or_else(|| format!("listpack entry at byte {p} too long"))?;
        let bl = backlen_size(l);
        if l + bl > end - p {
            return Err(format!("listpack entry at byte {p} runs past the end"));
        }
        // The backlen must decode to l.
        let mut v: usize = 0;
        for i in 0..bl {
            let byte = lp[p + l + i];
            if (i == 0) == (byte & 0x80 != 0) {
                return Err(format!("bad listpack backlen at byte {}", p + l + i));
            }
            v = (v << 7) | (byte & 0x7f) as usize;
        }
        if v != l {
            return Err(format!(
                "listpack backlen at byte {} is {v}, entry has {l}",
                p + l
            ));
        }
        match int {
            Some(x) => {
                int_text.clear();
                crate::resp::push_int(&mut int_text, x);
                f(&int_text);
            }
            None => f(&lp[p + hdr..p + l]),
        }
        n += 1;
        p += l + bl;
    }
    if declared != 65535 && declared != n {
        return Err(format!("listpack header count {declared}, {n} entries"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_hash_small_decodes() {
        // hash:small from golden/hashes.rdb (spec section 11).
        let mut lp = vec![0x2f, 0, 0, 0, 0x0a, 0];
        lp.extend_from_slice(&[0x82, b'f', b'1', 3, 0x82, b'v', b'1', 3]);
        lp.extend_from_slice(&[0x82, b'f', b'2', 3, 0x02, 1]);
        lp.extend_from_slice(&[0x03, 1, 0x85, b't', b'h', b'r', b'e', b'e', 6]);
        lp.extend_from_slice(&[0x83, b'n', b'e', b'g', 4, 0xdf, 0x9c, 2]);
        lp.extend_from_slice(&[0x85, b'e', b'm', b'p', b't', b'y', 6, 0x80, 1, 0xff]);
        let e = decode(&lp).unwrap();
        let want: Vec<&[u8]> = vec![
            b"f1", b"v1", b"f2", b"2", b"3", b"three", b"neg", b"-100", b"empty", b"",
        ];
        assert_eq!(e, want.iter().map(|x| x.to_vec()).collect::<Vec<_>>());
        // And the builder writes the very same bytes.
        let mut b = Builder::new();
        for x in &want {
            b.push(x);
        }
        assert_eq!(b.finish(), lp);
    }

    #[test]
    fn every_width_round_trips() {
        let samples: Vec<Vec<u8>> = [
            "0",
            "127",
            "128",
            "-1",
            "-4096",
            "4095",
            "4096",
            "-4097",
            "32767",
            "-32768",
            "32768",
            "8388607",
            "-8388608",
            "8388608",
            "2147483647",
            "-2147483648",
            "2147483648",
            "9223372036854775807",
            "-9223372036854775808",
            "007",
            "-0",
            "+1",
            "",
            "x",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([
            vec![b'a'; 63],
            vec![b'b'; 64],
            vec![b'c'; 4095],
            vec![b'd'; 4096],
            vec![b'e'; 20000],
        ])
        .collect();
        let mut b = Builder::new();
        for s in &samples {
            let before = b.size();
            b.push(s);
            assert_eq!(b.size() - before, Builder::entry_size(s));
        }
        let lp = b.finish();
        assert_eq!(decode(&lp).unwrap(), samples);
    }

    #[test]
    fn backlen_thresholds() {
        assert_eq!(backlen_size(127), 1);
        assert_eq!(backlen_size(128), 2);
        assert_eq!(backlen_size(16382), 2);
        assert_eq!(backlen_size(16383), 3);
    }

    #[test]
    fn rejects_malformed() {
        let mut b = Builder::new();
        b.push(b"hello");
        b.push(b"12");
        let good = b.finish();
        assert!(decode(&good).is_ok());
        let mut bad = good.clone();
        bad[4] = 3; // count
        assert!(decode(&bad).is_err());
        let mut bad = good.clone();
        bad[12] = 9; // backlen of "hello"
        assert!(decode(&bad).is_err());
        let mut bad = good.clone();
        bad[6] = 0xF6; // invalid encoding byte
        assert!(decode(&bad).is_err());
        let mut bad = good.clone();
        bad[0] += 1;
        assert!(decode(&bad).is_err());
        assert!(decode(&good[..good.len() - 1]).is_err());
    }
}
