//! CRC-64/REDIS, the checksum in an RDB file's trailer (`crc64.c`).
//!
//! Rule: Jones polynomial `0xad93d23594c935a9`, reflected in and out, initial
//! value 0, no final xor (check value of `"123456789"` is
//! `0xe9c6d914c4b8d9ca`). The trailer stores the CRC of every byte from the
//! `R` of `REDIS` through the `0xFF` EOF opcode as a little-endian u64; a
//! stored 0 means the writer had `rdbchecksum no` and nothing is checked.
//!
//! Implemented slicing-by-8 (eight 256-entry tables) so checksumming does not
//! dominate save and load time. The tables are computed on first use rather
//! than stored: 16 KB of random-looking constants would be 16 KB more for the
//! browser playground to download (gzip cannot shrink them).

use std::sync::OnceLock;

const POLY_REFLECTED: u64 = 0x95AC_9329_AC4B_C9B5;

fn make_tables() -> Box<[[u64; 256]; 8]> {
    let mut t = Box::new([[0u64; 256]; 8]);
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ POLY_REFLECTED
            } else {
                c >> 1
            };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

fn tables() -> &'static [[u64; 256]; 8] {
    static TABLES: OnceLock<Box<[[u64; 256]; 8]>> = OnceLock::new();
    TABLES.get_or_init(make_tables)
}

/// Continue a CRC-64/REDIS over `data` (start with `crc = 0`).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    let t = tables();
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let v = crc ^ u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        crc = t[7][(v & 0xff) as usize]
            ^ t[6][((v >> 8) & 0xff) as usize]
            ^ t[5][((v >> 16) & 0xff) as usize]
            ^ t[4][((v >> 24) & 0xff) as usize]
            ^ t[3][((v >> 32) & 0xff) as usize]
            ^ t[2][((v >> 40) & 0xff) as usize]
            ^ t[1][((v >> 48) & 0xff) as usize]
            ^ t[0][(v >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytewise(mut crc: u64, data: &[u8]) -> u64 {
        for &b in data {
            crc = tables()[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
        }
        crc
    }

    #[test]
    fn check_value() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn slicing_equals_bytewise_and_is_incremental() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 3) as u8).collect();
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let a = crc64(crc64(0, &data[..split]), &data[split..]);
            assert_eq!(a, bytewise(0, &data), "split {split}");
        }
    }
}
