//! Fuzzing support for the decoder, shared by the stable-Rust fuzz driver
//! (`core/examples/fuzz_rdb.rs`), the quick fuzz test in `cargo test` and a
//! cargo-fuzz target: a seeded mutator and the invariants checked on every
//! input. No IO: callers bring the seed files (the golden files).
//!
//! Invariants ([`check`]), on any bytes whatsoever:
//! * decoding never panics, with the checksum checked or not;
//! * decoding in one piece and in random pieces gives the same outcome (the
//!   same error, or data with the same digest);
//! * an error's offset lies within the input;
//! * data that loads re-encodes to a file that loads back to the same digest.

use super::{decode, encode_to_vec, DecodeOptions, Decoder, EncodeOptions, Unsupported};
use crate::digest::dataset_digest;
use crate::rng::Rng;

/// Bytes that tend to mean something in an RDB file.
const INTERESTING: [u8; 16] = [
    0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0x81, 0xC0, 0xC3, 0xF0, 0xF5, 0xF7, 0xFC, 0xFE, 0xFF, 0x12,
];

/// Derive a new input from `corpus[..]` (must not be empty).
pub fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut data = corpus[rng.below(corpus.len() as u64) as usize].clone();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let n = data.len() as u64;
        match rng.below(8) {
            0 if n > 0 => {
                let i = rng.below(n) as usize;
                data[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                let i = rng.below(n) as usize;
                data[i] = INTERESTING[rng.below(16) as usize];
            }
            2 => {
                let cut = rng.below(n + 1) as usize;
                data.truncate(cut);
            }
            3 if n > 0 => {
                let a = rng.below(n) as usize;
                let b = (a + 1 + rng.below(16) as usize).min(data.len());
                data.drain(a..b);
            }
            4 => {
                // Splice a piece of another seed in.
                let other = &corpus[rng.below(corpus.len() as u64) as usize];
                if !other.is_empty() {
                    let a = rng.below(other.len() as u64) as usize;
                    let b = (a + 1 + rng.below(64) as usize).min(other.len());
                    let at = rng.below(n + 1) as usize;
                    data.splice(at..at, other[a..b].iter().copied());
                }
            }
            5 if n >= 4 => {
                // A big 32-bit or 64-bit length where a small one was.
                let i = rng.below(n - 3) as usize;
                let v: [u8; 4] = [0x80, 0x81, 0xFF, 0x7F].map(|b| b ^ (rng.below(2) as u8));
                data[i..i + 4].copy_from_slice(&v);
            }
            6 if n > 0 => {
                let i = rng.below(n) as usize;
                let b = data[i];
                let times = 1 + rng.below(8) as usize;
                data.splice(i..i, std::iter::repeat_n(b, times));
            }
            _ => {
                let i = rng.below(n + 1) as usize;
                data.insert(i, rng.next_u64() as u8);
            }
        }
    }
    data
}

/// Check the invariants on one input (panics if one is broken). `seed`
/// picks the chunk boundaries.
pub fn check(data: &[u8], seed: u64) {
    let lax = DecodeOptions {
        verify_checksum: false,
        unsupported: Unsupported::Skip,
        ..DecodeOptions::default()
    };
    let strict = decode(data, &DecodeOptions::default());
    if let Err(e) = &strict {
        assert!(e.offset() <= data.len() as u64, "offset beyond input: {e}");
    }
    let whole = decode(data, &lax);
    let mut rng = Rng::new(seed);
    let mut dec = Decoder::new(lax.clone());
    let mut i = 0;
    let mut fed = Ok(());
    while i < data.len() && fed.is_ok() {
        let n = (1 + rng.below(64) as usize).min(data.len() - i);
        fed = dec.feed(&data[i..i + n]);
        i += n;
    }
    let pieces = fed.and_then(|()| dec.finish());
    match (&whole, &pieces) {
        (Ok(a), Ok(b)) => {
            let d = dataset_digest(&a.keyspace);
            assert_eq!(d, dataset_digest(&b.keyspace), "chunked load differs");
            assert_eq!(a.skipped, b.skipped, "chunked load skips differently");
            let again = encode_to_vec(&a.keyspace, EncodeOptions::default());
            let back = decode(&again, &DecodeOptions::default())
                .unwrap_or_else(|e| panic!("re-encoded data does not load: {e}"));
            assert_eq!(
                d,
                dataset_digest(&back.keyspace),
                "re-encoding changed the data"
            );
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "chunked load fails differently"),
        (a, b) => panic!(
            "one-shot and chunked loads disagree: {:?} vs {:?}",
            a.as_ref().map(|l| l.keys),
            b.as_ref().map(|l| l.keys)
        ),
    }
}
