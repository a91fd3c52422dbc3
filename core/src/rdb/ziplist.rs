//! Ziplists (`ziplist.c`) and zipmaps (`zipmap.c`): the blobs of the legacy
//! RDB types 10, 12, 13, 14 (ziplist) and 9 (zipmap). Redis 7.0 never writes
//! them but converts them to listpacks when it loads a file from an older
//! server; Tandem reads them into its ordinary values.
//!
//! Ziplist: `zlbytes u32 LE`, `zltail u32 LE` (offset of the last entry),
//! `zllen u16 LE` (65535 = unknown), entries, `0xFF`. An entry is `prevlen`
//! (1 byte below 254, or `0xFE` + u32 LE) then an encoding: `00pppppp`,
//! `01pppppp q` (14-bit, big-endian), `0x80` + u32 BE string lengths;
//! `0xC0` int16, `0xD0` int32, `0xE0` int64, `0xF0` int24, `0xFE` int8
//! (little-endian), `0xF1..=0xFD` immediates 0..12. Validation is what 7.0
//! always does for ziplists: every entry inside the blob, each `prevlen`
//! equal to the previous entry's size, `zltail` pointing at the last entry,
//! the count matching unless 65535.
//!
//! Zipmap: `zmlen u8`, then `(len key len free value free-bytes)*`, `0xFF`;
//! a length is 1 byte below 254 or `0xFE` + u32 LE. `zmlen` must match the
//! pair count when it is below 254.

/// Decode a ziplist into its entries (integers as decimal text).
pub fn decode_ziplist(zl: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if zl.len() < 11 {
        return Err(format!("ziplist of {} bytes is too short", zl.len()));
    }
    let zlbytes = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    let zltail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    let zllen = u16::from_le_bytes([zl[8], zl[9]]) as usize;
    if zlbytes != zl.len() {
        return Err(format!(
            "ziplist header says {zlbytes} bytes, blob has {}",
            zl.len()
        ));
    }
    if zl[zl.len() - 1] != 0xFF {
        return Err("ziplist does not end with 0xFF".into());
    }
    let end = zl.len() - 1;
    let mut p = 10usize;
    let mut prev_size = 0usize;
    let mut last_start = 10usize;
    let mut out = Vec::new();
    let get = |i: usize| -> Result<u8, String> {
        if i < end {
            Ok(zl[i])
        } else {
            Err(format!("ziplist entry runs past the end at byte {i}"))
        }
    };
    while p < end {
        let start = p;
        let prevlen = if get(p)? < 254 {
            p += 1;
            zl[start] as usize
        } else if zl[p] == 0xFE {
            let v = u32::from_le_bytes([get(p + 1)?, get(p + 2)?, get(p + 3)?, get(p + 4)?]);
            p += 5;
            v as usize
        } else {
            return Err(format!("bad ziplist prevlen at byte {p}"));
        };
        if prevlen != prev_size {
            return Err(format!(
                "ziplist prevlen {prevlen} at byte {start}, previous entry has {prev_size}"
            ));
        }
        let b = get(p)?;
        let (hdr, dlen, int): (usize, usize, Option<i64>) = match b >> 6 {
            0 => (1, (b & 0x3f) as usize, None),
            1 => (2, (((b & 0x3f) as usize) << 8) | get(p + 1)? as usize, None),
            2 => {
                if b != 0x80 {
                    return Err(format!("bad ziplist encoding {b:#04x} at byte {p}"));
                }
                let l = u32::from_be_bytes([get(p + 1)?, get(p + 2)?, get(p + 3)?, get(p + 4)?]);
                (5, l as usize, None)
            }
            _ => {
                let rd = |n: usize| -> Result<i64, String> {
                    let mut a = [0u8; 8];
                    for (i, slot) in a.iter_mut().enumerate().take(n) {
                        *slot = get(p + 1 + i)?;
                    }
                    // sign-extend from n bytes
                    let v = i64::from_le_bytes(a);
                    let shift = 64 - 8 * n as u32;
                    Ok((v << shift) >> shift)
                };
                match b {
                    0xC0 => (3, 0, Some(rd(2)?)),
                    0xD0 => (5, 0, Some(rd(4)?)),
                    0xE0 => (9, 0, Some(rd(8)?)),
                    0xF0 => (4, 0, Some(rd(3)?)),
                    0xFE => (2, 0, Some(rd(1)?)),
                    0xF1..=0xFD => (1, 0, Some((b & 0x0f) as i64 - 1)),
                    _ => return Err(format!("bad ziplist encoding {b:#04x} at byte {p}")),
                }
            }
        };
        if hdr + dlen > end - p {
            return Err(format!("ziplist entry at byte {start} runs past the end"));
        }
        out.push(match int {
            Some(v) => crate::util::i64_to_bytes(v),
            None => zl[p + hdr..p + hdr + dlen].to_vec(),
        });
        p += hdr + dlen;
        prev_size = p - start;
        last_start = start;
    }
    if !out.is_empty() && zltail != last_start {
        return Err(format!(
            "ziplist tail offset {zltail}, last entry at {last_start}"
        ));
    }
    if zllen != 65535 && zllen != out.len() {
        return Err(format!(
            "ziplist header count {zllen}, {} entries",
            out.len()
        ));
    }
    Ok(out)
}

/// Field/value pairs.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Decode a zipmap into its field/value pairs.
pub fn decode_zipmap(zm: &[u8]) -> Result<Pairs, String> {
    if zm.len() < 2 {
        return Err("zipmap too short".into());
    }
    let zmlen = zm[0] as usize;
    let mut p = 1usize;
    let mut out = Vec::new();
    let len_at = |p: &mut usize| -> Result<Option<usize>, String> {
        let b = *zm.get(*p).ok_or("zipmap runs past the end")?;
        match b {
            0xFF => Ok(None),
            0xFE => {
                let s = zm
                    .get(*p + 1..*p + 5)
                    .ok_or("zipmap length runs past the end")?;
                *p += 5;
                Ok(Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize))
            }
            _ => {
                *p += 1;
                Ok(Some(b as usize))
            }
        }
    };
    while let Some(klen) = len_at(&mut p)? {
        let key = zm
            .get(p..p.saturating_add(klen))
            .ok_or("zipmap key runs past the end")?
            .to_vec();
        p += klen;
        let vlen = len_at(&mut p)?.ok_or("zipmap key without a value")?;
        let free = *zm.get(p).ok_or("zipmap runs past the end")? as usize;
        p += 1;
        let val = zm
            .get(p..p.saturating_add(vlen))
            .ok_or("zipmap value runs past the end")?
            .to_vec();
        p = p.saturating_add(vlen).saturating_add(free);
        out.push((key, val));
    }
    if p + 1 != zm.len() {
        return Err("zipmap has bytes after its end marker".into());
    }
    if out.is_empty() {
        return Err("empty zipmap".into());
    }
    if zmlen < 254 && zmlen != out.len() {
        return Err(format!("zipmap header count {zmlen}, {} pairs", out.len()));
    }
    Ok(out)
}

/// Build a ziplist (for tests of the legacy decoders: Redis 7.0 never writes one).
pub fn encode_ziplist(entries: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut last = 10usize;
    for e in entries {
        let start = body.len();
        last = 10 + start;
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(0xFE);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match crate::util::parse_i64(e) {
            Some(v) if (0..=12).contains(&v) => body.push(0xF1 + v as u8),
            Some(v) if i8::try_from(v).is_ok() => {
                body.push(0xFE);
                body.push(v as u8);
            }
            Some(v) if i16::try_from(v).is_ok() => {
                body.push(0xC0);
                body.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                body.push(0xF0);
                body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                body.push(0xD0);
                body.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                body.push(0xE0);
                body.extend_from_slice(&v.to_le_bytes());
            }
            None if e.len() < 64 => {
                body.push(e.len() as u8);
                body.extend_from_slice(e);
            }
            None if e.len() < 16384 => {
                body.push(0x40 | (e.len() >> 8) as u8);
                body.push(e.len() as u8);
                body.extend_from_slice(e);
            }
            None => {
                body.push(0x80);
                body.extend_from_slice(&(e.len() as u32).to_be_bytes());
                body.extend_from_slice(e);
            }
        }
        prev = body.len() - start;
    }
    let mut zl = Vec::with_capacity(body.len() + 11);
    zl.extend_from_slice(&((body.len() + 11) as u32).to_le_bytes());
    zl.extend_from_slice(&(last as u32).to_le_bytes());
    zl.extend_from_slice(&(entries.len().min(65535) as u16).to_le_bytes());
    zl.extend_from_slice(&body);
    zl.push(0xFF);
    zl
}

/// Build a zipmap (for tests of the legacy decoder).
pub fn encode_zipmap(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut zm = vec![pairs.len().min(254) as u8];
    let push_len = |zm: &mut Vec<u8>, n: usize| {
        if n < 254 {
            zm.push(n as u8);
        } else {
            zm.push(0xFE);
            zm.extend_from_slice(&(n as u32).to_le_bytes());
        }
    };
    for (k, v) in pairs {
        push_len(&mut zm, k.len());
        zm.extend_from_slice(k);
        push_len(&mut zm, v.len());
        zm.push(0);
        zm.extend_from_slice(v);
    }
    zm.push(0xFF);
    zm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ziplist_round_trip_every_encoding() {
        let items: Vec<Vec<u8>> = [
            "0",
            "12",
            "13",
            "-1",
            "127",
            "-128",
            "128",
            "32767",
            "-32768",
            "32768",
            "8388607",
            "-8388608",
            "8388608",
            "2147483647",
            "-2147483648",
            "2147483648",
            "-9223372036854775808",
            "",
            "abc",
            "007",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([vec![b'x'; 300], vec![b'y'; 20000]])
        .collect();
        let refs: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
        let zl = encode_ziplist(&refs);
        assert_eq!(decode_ziplist(&zl).unwrap(), items);
        let mut bad = zl.clone();
        bad[4] ^= 1; // zltail
        assert!(decode_ziplist(&bad).is_err());
        let mut bad = zl.clone();
        bad[11] = 0xF6; // second entry's prevlen-sized encoding → prevlen mismatch
        let _ = decode_ziplist(&bad); // must not panic
        assert!(decode_ziplist(&zl[..zl.len() - 2]).is_err());
    }

    #[test]
    fn zipmap_round_trip() {
        let big = vec![b'v'; 300];
        let pairs: Vec<(&[u8], &[u8])> = vec![(b"a", b"1"), (b"field", &big), (b"", b"")];
        let zm = encode_zipmap(&pairs);
        let got = decode_zipmap(&zm).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1, big);
        assert!(decode_zipmap(&zm[..zm.len() - 1]).is_err());
        assert!(decode_zipmap(&[0, 0xFF]).is_err());
    }
}
