//! Differential test for strings, generic keys, expiry and transactions:
//! seeded random command sequences sent to `tandem` and to a real
//! redis-server 7.0, replies compared byte for byte (see
//! `tandem_tests::diff` for the normalization rules), DEBUG DIGEST compared
//! after each sequence.

use tandem_tests::diff::{families, Harness};

/// Number of seeds: `TANDEM_DIFF_SEEDS` overrides the default for longer
/// local runs.
fn seeds(default: u64) -> u64 {
    std::env::var("TANDEM_DIFF_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Mixed strings/keys/expire/transaction sequences.
#[test]
fn strings_and_keys_match_redis() {
    let mut h = Harness::new();
    h.family(families::strings, 10)
        .family(families::keys, 6)
        .family(families::expire, 4)
        .family(families::transactions, 1);
    let n = seeds(80);
    h.run(0..n, 400);
    assert_eq!(h.stats.sequences, n);
    eprintln!(
        "strings_and_keys: {} sequences, {} commands compared",
        h.stats.sequences, h.stats.commands
    );
}

/// INCRBYFLOAT with random decimal, hexadecimal, huge and tiny operands:
/// the x87 `long double` emulation must print exactly what Redis prints.
#[test]
fn incrbyfloat_matches_redis() {
    let mut h = Harness::new();
    h.family(families::incrbyfloat, 1);
    let n = seeds(20);
    h.run(1000..1000 + n, 400);
    assert_eq!(h.stats.sequences, n);
    eprintln!(
        "incrbyfloat: {} sequences, {} commands compared",
        h.stats.sequences, h.stats.commands
    );
}
