//! Intsets (`intset.c`): the blob of RDB type 11, a small set of integers.
//!
//! Layout: `encoding u32 LE` (2, 4 or 8 bytes per member), `length u32 LE`,
//! then `length` members of that width, little-endian, strictly ascending.
//! The writer picks the narrowest width that holds every member (an intset
//! that only ever grew in memory). The reader checks what `redis-check-rdb`
//! checks: a valid width, `8 + length * width == size`, a non-zero length,
//! and strictly ascending members.

/// Build an intset from members in any order (must be distinct).
pub fn encode(members: &mut [i64]) -> Vec<u8> {
    crate::util::sort_by(members, Ord::cmp);
    let width: usize = if members.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if members.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + members.len() * width);
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(members.len() as u32).to_le_bytes());
    for &v in members.iter() {
        match width {
            2 => out.extend_from_slice(&(v as i16).to_le_bytes()),
            4 => out.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    out
}

/// Decode and validate an intset.
pub fn decode(blob: &[u8]) -> Result<Vec<i64>, String> {
    if blob.len() < 8 {
        return Err(format!("intset of {} bytes is too short", blob.len()));
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let len = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(format!("intset encoding {width} is not 2, 4 or 8"));
    }
    if len == 0 {
        return Err("intset with no members".into());
    }
    if (len as u64) * (width as u64) + 8 != blob.len() as u64 {
        return Err(format!(
            "intset of {len} members of {width} bytes in a {}-byte blob",
            blob.len()
        ));
    }
    let mut out = Vec::with_capacity(len);
    for c in blob[8..].chunks_exact(width) {
        let v = match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if let Some(&last) = out.last() {
            if v <= last {
                return Err(format!(
                    "intset members not strictly ascending ({last}, {v})"
                ));
            }
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_int16_example() {
        // set:int16 from golden/sets.rdb (spec section 12).
        let blob = [
            2, 0, 0, 0, 6, 0, 0, 0, 0x00, 0x80, 0xfb, 0xff, 1, 0, 2, 0, 3, 0, 0xff, 0x7f,
        ];
        assert_eq!(decode(&blob).unwrap(), vec![-32768, -5, 1, 2, 3, 32767]);
        assert_eq!(encode(&mut [3, 2, 1, -5, 32767, -32768]), blob.to_vec());
    }

    #[test]
    fn widths_and_errors() {
        for set in [vec![1i64, 40000], vec![-1, 1 << 40]] {
            let mut s = set.clone();
            assert_eq!(decode(&encode(&mut s)).unwrap(), set);
        }
        let good = encode(&mut [1, 2, 3]);
        let mut bad = good.clone();
        bad[8] = 5; // 5, 2, 3: unsorted
        assert!(decode(&bad).is_err());
        assert!(decode(&good[..good.len() - 1]).is_err());
        let mut bad = good.clone();
        bad[0] = 3;
        assert!(decode(&bad).is_err());
        assert!(decode(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
