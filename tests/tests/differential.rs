//! Differential test for strings, generic keys, expiry and transactions:
//! seeded random command sequences sent to `tandem` and to a real
//! redis-server 7.0, replies compared byte for byte (see
//! `tandem_tests::diff` for the normalization rules), DEBUG DIGEST compared
//! after each sequence.

use tandem_tests::args;
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

/// The generic commands (TYPE, RENAME, COPY, MOVE, SWAPDB, OBJECT ENCODING,
/// SCAN TYPE, EXPIRE...) and the string commands' WRONGTYPE checks over keys
/// holding every value type.
#[test]
fn generic_commands_on_every_type_match_redis() {
    let mut h = Harness::new();
    h.family(families::collections, 6)
        .family(families::keys, 8)
        .family(families::strings, 4)
        .family(families::expire, 2)
        .family(families::transactions, 1);
    let n = seeds(40);
    h.run(5000..5000 + n, 400);
    assert_eq!(h.stats.sequences, n);
}

/// Fixed cases the random families leave out: OBJECT REFCOUNT (shared
/// integers), OBJECT FREQ, DBSIZE, a rounding tie in INCRBYFLOAT, the
/// string size limit.
#[test]
fn fixed_cases_match_redis() {
    let mut h = Harness::new();
    h.run_script(&[
        args!["CONFIG", "RESETSTAT"],
        args!["SET", "a", "5"],
        args!["OBJECT", "REFCOUNT", "a"],
        args!["SET", "b", "12345"],
        args!["OBJECT", "REFCOUNT", "b"],
        args!["INCR", "a"],
        args!["OBJECT", "REFCOUNT", "a"],
        args!["SET", "c", "hello"],
        args!["OBJECT", "REFCOUNT", "c"],
        args!["RPUSH", "l", "x"],
        args!["OBJECT", "REFCOUNT", "l"],
        args!["OBJECT", "REFCOUNT", "missing"],
        args!["OBJECT", "FREQ", "a"],
        args!["OBJECT", "FREQ", "missing"],
        args!["OBJECT", "IDLETIME", "missing"],
        args!["OBJECT"],
        args!["OBJECT", "ENCODING"],
        args!["DBSIZE"],
        // Ties at the 18th fraction digit: even and odd preceding digit.
        args!["INCRBYFLOAT", "f", "0.000003814697265625"],
        args!["INCRBYFLOAT", "g", "0.000011444091796875"],
        args!["INCRBYFLOAT", "h", "-0.000011444091796875"],
        args!["OBJECT", "ENCODING", "g"],
        args!["SET", "big", "1"],
        args!["SETRANGE", "big", "536870911", "ab"],
        args!["SETRANGE", "big", "536870912", "a"],
        args!["APPEND", "big", "tail"],
        args!["OBJECT", "ENCODING", "big"],
        args!["SETRANGE", "new", "3", "x"],
        args!["GET", "new"],
        args!["OBJECT", "ENCODING", "new"],
        args!["SET", "s44", "x".repeat(44)],
        args!["OBJECT", "ENCODING", "s44"],
        args!["SET", "s45", "x".repeat(45)],
        args!["OBJECT", "ENCODING", "s45"],
        args!["SWAPDB", "0", "1"],
        args!["DBSIZE"],
        args!["SELECT", "1"],
        args!["DBSIZE"],
        args!["RANDOMKEY"],
        args!["FLUSHDB"],
        args!["RANDOMKEY"],
        args!["DBSIZE"],
        // Read lookups count keyspace hits and misses, write lookups do not.
        args!["SELECT", "0"],
        args!["SET", "a", "1"],
        args!["GET", "nope"],
        args!["EXISTS", "a", "nope"],
        args!["TYPE", "nope"],
        args!["MGET", "a", "nope"],
        args!["TTL", "a"],
        args!["GETEX", "nope"],
        args!["COPY", "a", "a2"],
        args!["GETSET", "a", "2"],
        args!["INCR", "a"],
        args!["RENAME", "a", "a3"],
    ]);
    for field in ["keyspace_hits", "keyspace_misses"] {
        let (t, r) = h.info_field("stats", field);
        assert!(r.is_some(), "redis INFO stats has {field}");
        assert_eq!(t, r, "INFO stats {field}");
    }
}
