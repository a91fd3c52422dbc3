//! Stable-Rust fuzz driver for the RDB decoder (cargo-fuzz needs nightly).
//!
//! Seeds: the golden files in `../shared/rdb/golden` plus files the encoder
//! writes. Each iteration mutates a seed (bit flips, interesting bytes,
//! truncations, deletions, splices, big lengths, repeats, insertions) and
//! checks `tandem_core::rdb::fuzz::check`'s invariants; a panic means a bug,
//! and the offending input is saved under `target/fuzz-rdb/` first.
//!
//! ```text
//! cargo run --release -p tandem-core --example fuzz_rdb -- --seconds 60 [--seed N]
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};
use tandem_core::db::Keyspace;
use tandem_core::rdb::{self, fuzz};
use tandem_core::rng::Rng;
use tandem_core::value::{Hash, List, Set, Value, ZSet};

fn seeds() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/rdb/golden");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "rdb"))
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    // A file of our own with every encoding, for when shared/ is absent.
    let mut ks = Keyspace::new(16, 1);
    let d = ks.db_mut(0);
    d.insert(b"s", Value::string(b"abc".repeat(20)), false);
    d.insert(b"i", Value::string(b"-1234".to_vec()), false);
    let mut l = List::new();
    (0..50).for_each(|i| l.push_back(format!("{i}").into_bytes()));
    d.insert(b"l", Value::List(l.into()), false);
    let mut s = Set::new();
    s.insert(b"1".to_vec());
    s.insert(b"70000".to_vec());
    d.insert(b"is", Value::Set(s.into()), false);
    let mut h = Hash::new();
    h.insert(b"f".to_vec(), b"v".to_vec());
    d.insert(b"h", Value::Hash(h.into()), false);
    let mut z = ZSet::new();
    z.insert(b"m".to_vec(), 0.5);
    d.insert(b"z", Value::ZSet(z.into()), false);
    d.set_expire(b"s", 4_102_444_800_000);
    out.push(rdb::encode_to_vec(&ks, rdb::EncodeOptions::default()));
    out
}

fn main() {
    let (mut seconds, mut seed) = (10u64, 0x7a6d_656e_u64);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), value) {
            ("--seconds", Some(v)) => seconds = v,
            ("--seed", Some(v)) => seed = v,
            _ => {
                eprintln!("usage: fuzz_rdb [--seconds N] [--seed N]");
                std::process::exit(2);
            }
        }
    }
    let corpus = seeds();
    let mut rng = Rng::new(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let crash_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-rdb");
    let mut iterations = 0u64;
    let mut loaded = 0u64;
    while Instant::now() < deadline {
        for _ in 0..64 {
            let input = fuzz::mutate(&mut rng, &corpus);
            let split = rng.next_u64();
            let result = std::panic::catch_unwind(|| fuzz::check(&input, split));
            if result.is_err() {
                let _ = std::fs::create_dir_all(&crash_dir);
                let path = crash_dir.join(format!("crash-{seed}-{iterations}.rdb"));
                let _ = std::fs::write(&path, &input);
                eprintln!(
                    "fuzz_rdb: invariant broken; input saved to {}",
                    path.display()
                );
                std::process::exit(1);
            }
            if rdb::decode(&input, &Default::default()).is_ok() {
                loaded += 1;
            }
            iterations += 1;
        }
    }
    println!(
        "fuzz_rdb: {iterations} inputs in {seconds}s from {} seeds (seed {seed}), {loaded} loaded cleanly, no invariant broken",
        corpus.len()
    );
}
