//! LZF, the compression Redis applies to RDB strings (`lzf_c.c`, `lzf_d.c`).
//!
//! Format: a sequence of runs. A control byte below 32 starts a literal run
//! of `ctrl + 1` bytes. Otherwise it is a back reference: length
//! `ctrl >> 5` (7 means "add the next byte"), plus 2, copied from
//! `offset = ((ctrl & 0x1f) << 8 | next byte) + 1` bytes back in the output.
//! Back references may overlap the bytes they produce.
//!
//! Redis writes an LZF string only when the input is longer than 20 bytes and
//! the compressed form is at most `len - 4` bytes (`rdbSaveLzfStringObject`).
//! Any valid LZF stream decodes; the output need not be byte-identical to
//! Redis's compressor.

const HLOG: u32 = 14;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);
const MAX_LIT: usize = 1 << 5;

/// The largest ratio of output to input an LZF stream can reach: a 3-byte
/// back reference produces at most 264 bytes.
pub const MAX_EXPANSION: usize = 88;

/// A reusable compressor (its hash table is kept between calls; stale
/// entries are harmless because every candidate match is verified).
pub struct Compressor {
    table: Vec<u32>,
}

impl Default for Compressor {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn hash3(a: u8, b: u8, c: u8) -> usize {
    let v = (a as u32) << 16 | (b as u32) << 8 | c as u32;
    (v.wrapping_mul(2_654_435_761) >> (32 - HLOG)) as usize
}

impl Compressor {
    /// A compressor with an empty table.
    pub fn new() -> Self {
        Compressor {
            table: vec![0; 1 << HLOG],
        }
    }

    /// Compress `input` into `out` (cleared first). Returns false, leaving
    /// `out` unspecified, if the result would exceed `max_out` bytes.
    pub fn compress(&mut self, input: &[u8], max_out: usize, out: &mut Vec<u8>) -> bool {
        out.clear();
        let n = input.len();
        if n == 0 || n >= u32::MAX as usize {
            return false;
        }
        let mut ctrl_pos = 0usize;
        out.push(0);
        let mut lit = 0usize;
        let mut ip = 0usize;
        while ip + 2 < n {
            let h = hash3(input[ip], input[ip + 1], input[ip + 2]);
            let cand = self.table[h] as usize;
            self.table[h] = ip as u32 + 1;
            if cand > 0 {
                let r = cand - 1;
                if r < ip
                    && ip - r <= MAX_OFF
                    && input[r] == input[ip]
                    && input[r + 1] == input[ip + 1]
                    && input[r + 2] == input[ip + 2]
                {
                    let off = ip - r - 1;
                    let maxlen = MAX_REF.min(n - ip);
                    let mut len = 3;
                    while len < maxlen && input[r + len] == input[ip + len] {
                        len += 1;
                    }
                    if lit == 0 {
                        out.pop();
                    } else {
                        out[ctrl_pos] = (lit - 1) as u8;
                    }
                    let l = len - 2;
                    if l < 7 {
                        out.push(((off >> 8) as u8) | ((l as u8) << 5));
                    } else {
                        out.push(((off >> 8) as u8) | (7 << 5));
                        out.push((l - 7) as u8);
                    }
                    out.push(off as u8);
                    ctrl_pos = out.len();
                    out.push(0);
                    lit = 0;
                    let end = ip + len;
                    ip += 1;
                    while ip < end {
                        if ip + 2 < n {
                            let h = hash3(input[ip], input[ip + 1], input[ip + 2]);
                            self.table[h] = ip as u32 + 1;
                        }
                        ip += 1;
                    }
                    if out.len() > max_out + 1 {
                        return false;
                    }
                    continue;
                }
            }
            push_literal(out, input[ip], &mut lit, &mut ctrl_pos);
            ip += 1;
            if out.len() > max_out + 1 {
                return false;
            }
        }
        for &b in &input[ip..] {
            push_literal(out, b, &mut lit, &mut ctrl_pos);
        }
        if lit == 0 {
            out.pop();
        } else {
            out[ctrl_pos] = (lit - 1) as u8;
        }
        out.len() <= max_out
    }
}

/// Append one literal byte, closing the run when it reaches 32 bytes.
#[inline]
fn push_literal(out: &mut Vec<u8>, b: u8, lit: &mut usize, ctrl_pos: &mut usize) {
    *lit += 1;
    out.push(b);
    if *lit == MAX_LIT {
        out[*ctrl_pos] = (MAX_LIT - 1) as u8;
        *ctrl_pos = out.len();
        out.push(0);
        *lit = 0;
    }
}

/// Decompress `input`, which must produce exactly `ulen` bytes. `Err` holds
/// a description of what was wrong.
pub fn decompress(input: &[u8], ulen: usize) -> Result<Vec<u8>, &'static str> {
    if ulen > input.len().saturating_mul(MAX_EXPANSION) {
        return Err("LZF declared length larger than its data can produce");
    }
    let mut out = Vec::with_capacity(ulen);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if ip + run > input.len() {
                return Err("LZF literal run past the end of the input");
            }
            if out.len() + run > ulen {
                return Err("LZF output longer than declared");
            }
            out.extend_from_slice(&input[ip..ip + run]);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                let b = *input.get(ip).ok_or("LZF back reference truncated")?;
                len += b as usize;
                ip += 1;
            }
            let b = *input.get(ip).ok_or("LZF back reference truncated")?;
            ip += 1;
            let off = ((ctrl & 0x1f) << 8 | b as usize) + 1;
            if off > out.len() {
                return Err("LZF back reference before the start of the output");
            }
            let len = len + 2;
            if out.len() + len > ulen {
                return Err("LZF output longer than declared");
            }
            let start = out.len() - off;
            if off >= len {
                out.extend_from_within(start..start + len);
            } else {
                // Overlapping: the copy repeats bytes it has just written.
                for i in 0..len {
                    let c = out[start + i];
                    out.push(c);
                }
            }
        }
    }
    if out.len() != ulen {
        return Err("LZF output shorter than declared");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_a21_decodes() {
        // "a" * 21 as redis-server 7.0.15 writes it: c3 06 15 | 01 61 61 e0 0a 00
        let out = decompress(&[0x01, 0x61, 0x61, 0xe0, 0x0a, 0x00], 21).unwrap();
        assert_eq!(out, vec![b'a'; 21]);
    }

    #[test]
    fn round_trips() {
        let mut c = Compressor::new();
        let mut out = Vec::new();
        let inputs: Vec<Vec<u8>> = vec![
            vec![b'a'; 21],
            b"abc".repeat(300),
            (0..20000u32).map(|i| (i % 251) as u8).collect(),
            (0..5000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ];
        for input in inputs {
            if c.compress(&input, input.len() + 64, &mut out) {
                assert_eq!(decompress(&out, input.len()).unwrap(), input);
            }
        }
        assert!(c.compress(&[b'a'; 21], 17, &mut out));
        assert!(out.len() <= 17);
    }

    #[test]
    fn rejects_bad_streams() {
        assert!(decompress(&[0x05, 1, 2], 6).is_err());
        assert!(decompress(&[0x20, 0x00], 3).is_err());
        assert!(decompress(&[0x00, 1], 2).is_err());
        assert!(decompress(&[0x00, 1], 1000).is_err());
    }
}
