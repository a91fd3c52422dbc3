//! The four collection types on the shared differential harness
//! (`tandem_tests::diff`): list, hash, set and sorted-set families mixed
//! with the string, generic-key, expiry and MULTI/EXEC families over one
//! small key space, so collections meet COPY/RENAME/MOVE/SWAPDB/EXPIRE,
//! WATCH and transactions, and every type collides with every other
//! (WRONGTYPE). Commands whose order Redis leaves unspecified compare as
//! sorted arrays; random commands are left to the per-type tests.

use tandem_tests::args;
use tandem_tests::diff::{families, one_in, pick, Args, Harness, KeySpace, Rng};

fn member(rng: &mut Rng) -> Vec<u8> {
    match rng.below(8) {
        0 => vec![b'x'; 70],
        1..=3 => rng.below(30).to_string().into_bytes(),
        _ => format!("m{}", rng.below(30)).into_bytes(),
    }
}

fn index(rng: &mut Rng) -> i64 {
    rng.below(13) as i64 - 6
}

fn lists(rng: &mut Rng, ks: &KeySpace) -> Args {
    let k = ks.key(rng);
    match rng.below(12) {
        0 | 1 => args![
            pick(rng, &["LPUSH", "RPUSH", "LPUSHX"]),
            k,
            member(rng),
            member(rng)
        ],
        2 => args![pick(rng, &["LPOP", "RPOP"]), k, rng.below(4) as i64],
        3 => args!["LRANGE", k, index(rng), index(rng)],
        4 => args!["LINDEX", k, index(rng)],
        5 => args!["LSET", k, index(rng), member(rng)],
        6 => args![
            "LINSERT",
            k,
            pick(rng, &["BEFORE", "AFTER"]),
            member(rng),
            member(rng)
        ],
        7 => args!["LREM", k, index(rng), member(rng)],
        8 => args!["LTRIM", k, index(rng), index(rng)],
        9 => args!["LMOVE", k, ks.key(rng), "LEFT", "RIGHT"],
        10 => args!["LMPOP", 2i64, k, ks.key(rng), "RIGHT", "COUNT", 2i64],
        _ => args!["LPOS", k, member(rng), "COUNT", 0i64],
    }
}

fn hashes(rng: &mut Rng, ks: &KeySpace) -> Args {
    let k = ks.key(rng);
    match rng.below(10) {
        0..=2 => args![
            "HSET",
            k,
            member(rng),
            member(rng),
            member(rng),
            member(rng)
        ],
        3 => args!["HDEL", k, member(rng), member(rng)],
        4 => args!["HGETALL", k],
        5 => args!["HMGET", k, member(rng), member(rng)],
        6 => args!["HINCRBY", k, member(rng), index(rng)],
        7 => args!["HINCRBYFLOAT", k, member(rng), "1.25"],
        8 => args!["HSETNX", k, member(rng), member(rng)],
        _ => args!["HLEN", k],
    }
}

fn sets(rng: &mut Rng, ks: &KeySpace) -> Args {
    let k = ks.key(rng);
    match rng.below(9) {
        0..=2 => args!["SADD", k, member(rng), member(rng), member(rng)],
        3 => args!["SREM", k, member(rng)],
        4 => args!["SMEMBERS", k],
        5 => args![pick(rng, &["SINTER", "SUNION", "SDIFF"]), k, ks.key(rng)],
        6 => args![
            pick(rng, &["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]),
            k,
            ks.key(rng),
            ks.key(rng)
        ],
        7 => args!["SMOVE", k, ks.key(rng), member(rng)],
        _ => args!["SMISMEMBER", k, member(rng), member(rng)],
    }
}

fn zsets(rng: &mut Rng, ks: &KeySpace) -> Args {
    let k = ks.key(rng);
    let score = |rng: &mut Rng| index(rng);
    match rng.below(11) {
        0..=2 => args!["ZADD", k, score(rng), member(rng), score(rng), member(rng)],
        3 => args!["ZINCRBY", k, score(rng), member(rng)],
        4 => args!["ZRANGE", k, index(rng), index(rng), "WITHSCORES"],
        5 => args!["ZRANGEBYSCORE", k, "-inf", score(rng), "LIMIT", 0i64, 3i64],
        6 => args![pick(rng, &["ZPOPMIN", "ZPOPMAX"]), k, rng.below(3) as i64],
        7 => args![
            pick(rng, &["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]),
            k,
            2i64,
            ks.key(rng),
            ks.key(rng)
        ],
        8 => args!["ZRANGESTORE", k, ks.key(rng), 0i64, -1i64],
        9 => args!["ZREMRANGEBYRANK", k, index(rng), index(rng)],
        _ => {
            if one_in(rng, 2) {
                args!["ZRANK", k, member(rng)]
            } else {
                args!["ZMSCORE", k, member(rng), member(rng)]
            }
        }
    }
}

#[test]
fn collections_with_strings_keys_expiry_and_transactions() {
    let mut h = Harness::new();
    h.family(lists, 4)
        .family(hashes, 4)
        .family(sets, 4)
        .family(zsets, 4)
        .family(families::strings, 2)
        .family(families::keys, 3)
        .family(families::expire, 1)
        .family(families::transactions, 2);
    for cmd in ["smembers", "sinter", "sunion", "sdiff", "hgetall"] {
        h.unordered(cmd);
    }
    h.run(1..5, 800);
    assert_eq!(h.stats.sequences, 4);
    assert!(h.stats.commands >= 3000, "{:?}", h.stats);
}
