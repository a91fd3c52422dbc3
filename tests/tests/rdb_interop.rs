//! RDB interop with the real thing, both ways:
//! * files Tandem writes, for datasets of every type and size class, pass
//!   `redis-check-rdb` 7.0.15 and load into a real `redis-server` (with deep
//!   payload sanitization on) whose DEBUG DIGEST equals Tandem's digest of
//!   the source keyspace;
//! * a real redis-server filled with random data of every type, sizes across
//!   the encoding thresholds and TTLs, SAVEs; Tandem decodes the file (in one
//!   piece and in small chunks) to a keyspace with the same digest.

use std::path::PathBuf;
use tandem_core::config::EncodingLimits;
use tandem_core::db::Keyspace;
use tandem_core::digest::dataset_digest;
use tandem_core::rdb::{self, DecodeOptions, EncodeOptions};
use tandem_core::rng::Rng;
use tandem_core::value::{Hash, List, Set, Value, ZSet};
use tandem_tests::{check_rdb, have_redis, Conn, Reply, Server};

const FAR: u64 = 4_102_444_800_000; // 2100-01-01

fn require_redis() {
    assert!(
        have_redis(),
        "redis-server 7.0.15 is required (apt-get install redis-server)"
    );
}

fn word(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| b'a' + rng.below(26) as u8).collect()
}

/// A string of one of several shapes: integer, short text, compressible,
/// binary, empty.
fn element(rng: &mut Rng, big: bool) -> Vec<u8> {
    match rng.below(if big { 7 } else { 6 }) {
        0 => (rng.next_u64() as i64 >> rng.below(64))
            .to_string()
            .into_bytes(),
        1 => (rng.below(1000) as i64 - 500).to_string().into_bytes(),
        2 => {
            let n = 1 + rng.below(20) as usize;
            word(rng, n)
        }
        3 => {
            let n = rng.below(40) as usize;
            (0..n).map(|_| rng.next_u64() as u8).collect()
        }
        4 => {
            let n = 20 + rng.below(60) as usize;
            b"ab".iter().cycle().take(n).copied().collect()
        }
        5 => b"007".to_vec(),
        _ => {
            let n = 100 + rng.below(20000) as usize;
            b"xyz".iter().cycle().take(n).copied().collect()
        }
    }
}

/// A dataset with every type in every size class, in DBs 0, 1 and 15.
fn tandem_dataset(seed: u64) -> Keyspace {
    let mut rng = Rng::new(seed);
    let limits = EncodingLimits::default();
    let mut ks = Keyspace::new(16, seed);
    let mut n = 0;
    let mut put = |ks: &mut Keyspace, rng: &mut Rng, v: Value| {
        n += 1;
        let db = [0usize, 0, 1, 15][rng.below(4) as usize];
        let key = format!("key:{n}:{}", v.type_name()).into_bytes();
        ks.db_mut(db).insert(&key, v, false);
        if rng.below(3) == 0 {
            ks.db_mut(db).set_expire(&key, FAR + rng.below(1_000_000));
        }
    };
    for big in [false, true] {
        for _ in 0..4 {
            let s = element(&mut rng, big);
            put(&mut ks, &mut rng, Value::string(s));
            // Lists: tiny, across the 8 KB node size, with huge elements.
            let len = if big {
                500 + rng.below(3000)
            } else {
                1 + rng.below(10)
            } as usize;
            let mut l = List::new();
            for _ in 0..len {
                l.push_back({
                    let b = big && rng.below(50) == 0;
                    element(&mut rng, b)
                });
            }
            put(&mut ks, &mut rng, Value::List(l.into()));
            // Sets: intsets (16/32/64-bit), past 512 members, mixed.
            let mut s = Set::new();
            let count = if big {
                400 + rng.below(400)
            } else {
                1 + rng.below(20)
            };
            let ints = rng.below(2) == 0;
            for _ in 0..count {
                let m = if ints {
                    ((rng.next_u64() as i64) >> rng.below(64))
                        .to_string()
                        .into_bytes()
                } else {
                    element(&mut rng, false)
                };
                s.insert(m);
            }
            s.update_encoding(&limits);
            put(&mut ks, &mut rng, Value::Set(s.into()));
            // Hashes: listpack, past 128 fields, with values over 64 bytes.
            let mut h = Hash::new();
            let count = if big {
                100 + rng.below(500)
            } else {
                1 + rng.below(20)
            };
            for _ in 0..count {
                let f = element(&mut rng, false);
                let v = {
                    let b = big && rng.below(10) == 0;
                    element(&mut rng, b)
                };
                h.insert(f, v);
            }
            h.update_encoding(&limits);
            put(&mut ks, &mut rng, Value::Hash(h.into()));
            // Sorted sets: listpack, skiplist, special and fractional scores.
            let mut z = ZSet::new();
            let count = if big {
                100 + rng.below(300)
            } else {
                1 + rng.below(20)
            };
            for i in 0..count {
                let score = match rng.below(6) {
                    0 => f64::INFINITY,
                    1 => f64::NEG_INFINITY,
                    2 => rng.below(100) as f64,
                    3 => (rng.next_f64() - 0.5) * 1e10,
                    4 => f64::from_bits(rng.next_u64() & !(0x7ff << 52)) * 1e300,
                    _ => -(rng.below(1 << 40) as f64) / 7.0,
                };
                let mut m = element(&mut rng, false);
                m.extend_from_slice(format!(":{i}").as_bytes());
                if big && rng.below(20) == 0 {
                    m.extend(std::iter::repeat_n(b'm', 70));
                }
                z.insert(m, score);
            }
            z.update_encoding(&limits);
            put(&mut ks, &mut rng, Value::ZSet(z.into()));
        }
    }
    ks
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tandem-rdb-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn digest_of(c: &mut Conn) -> String {
    match c.cmd(&["DEBUG", "DIGEST"]) {
        Reply::Simple(s) => s,
        Reply::Bulk(Some(b)) => String::from_utf8(b).unwrap(),
        other => panic!("DEBUG DIGEST: {other:?}"),
    }
}

#[test]
fn tandem_files_load_into_redis_with_equal_digest() {
    require_redis();
    for (i, (seed, compression, checksum, chunk)) in [
        (1u64, true, true, 64 * 1024),
        (2, false, true, 100),
        (3, true, false, 7),
    ]
    .into_iter()
    .enumerate()
    {
        let ks = tandem_dataset(seed);
        let want = dataset_digest(&ks);
        let opts = EncodeOptions {
            compression,
            checksum,
            chunk_size: chunk,
            ctime_secs: 1_795_678_400,
            ..EncodeOptions::default()
        };
        let mut enc = rdb::Encoder::new(&ks, opts);
        let dir = temp_dir(&format!("out{i}"));
        let path = dir.join("tandem.rdb");
        let mut file = Vec::new();
        while let Some(c) = enc.next_chunk() {
            file.extend_from_slice(&c);
        }
        std::fs::write(&path, &file).unwrap();
        check_rdb(&path);
        let dir_s = dir.to_string_lossy().into_owned();
        let server = Server::redis(&[
            "--dir",
            &dir_s,
            "--dbfilename",
            "tandem.rdb",
            "--sanitize-dump-payload",
            "yes",
        ]);
        let mut c = server.conn();
        let keys: usize = (0..16).map(|d| ks.db(d).len()).sum();
        let info = c.cmd(&["INFO", "keyspace"]).text();
        let loaded: usize = info
            .lines()
            .filter_map(|l| {
                l.split_once("keys=")?
                    .1
                    .split(',')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .sum();
        assert_eq!(loaded, keys, "seed {seed}: {info}");
        assert_eq!(digest_of(&mut c), want, "seed {seed}");
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Fill a real redis-server with random data of every type.
fn fill_redis(c: &mut Conn, seed: u64) {
    let mut rng = Rng::new(seed);
    // Compressed quicklist nodes and small node sizes too.
    c.cmd(&["CONFIG", "SET", "list-compress-depth", "1"]);
    for db in ["0", "1", "9"] {
        assert_eq!(c.cmd(&["SELECT", db]), Reply::Simple("OK".into()));
        for k in 0..40u64 {
            let key = format!("{db}:{k}");
            let big = rng.below(3) == 0;
            match rng.below(5) {
                0 => {
                    let v = element(&mut rng, big);
                    c.cmd(&[b"SET".to_vec(), key.clone().into_bytes(), v]);
                    if rng.below(2) == 0 {
                        c.cmd(&["APPEND", &key, "tail"]);
                    }
                }
                1 => {
                    let n = if big {
                        200 + rng.below(2000)
                    } else {
                        1 + rng.below(20)
                    };
                    let mut args = vec![b"RPUSH".to_vec(), key.clone().into_bytes()];
                    for _ in 0..n {
                        args.push({
                            let b = big && rng.below(100) == 0;
                            element(&mut rng, b)
                        });
                    }
                    c.cmd(&args);
                }
                2 => {
                    let n = if big {
                        300 + rng.below(400)
                    } else {
                        1 + rng.below(30)
                    };
                    let ints = rng.below(2) == 0;
                    let mut args = vec![b"SADD".to_vec(), key.clone().into_bytes()];
                    for _ in 0..n {
                        args.push(if ints {
                            ((rng.next_u64() as i64) >> rng.below(64))
                                .to_string()
                                .into_bytes()
                        } else {
                            element(&mut rng, false)
                        });
                    }
                    c.cmd(&args);
                }
                3 => {
                    let n = if big {
                        100 + rng.below(600)
                    } else {
                        1 + rng.below(30)
                    };
                    let mut args = vec![b"HSET".to_vec(), key.clone().into_bytes()];
                    for _ in 0..n {
                        args.push(element(&mut rng, false));
                        args.push({
                            let b = big && rng.below(10) == 0;
                            element(&mut rng, b)
                        });
                    }
                    c.cmd(&args);
                }
                _ => {
                    let n = if big {
                        100 + rng.below(200)
                    } else {
                        1 + rng.below(30)
                    };
                    let mut args = vec![b"ZADD".to_vec(), key.clone().into_bytes()];
                    for i in 0..n {
                        let score = match rng.below(5) {
                            0 => "inf".to_string(),
                            1 => "-inf".to_string(),
                            2 => rng.below(1000).to_string(),
                            3 => format!("{}", (rng.next_f64() - 0.5) * 1e6),
                            _ => format!("{:e}", rng.next_f64() * 1e200),
                        };
                        args.push(score.into_bytes());
                        let mut m = element(&mut rng, false);
                        m.extend_from_slice(format!("#{i}").as_bytes());
                        if big && rng.below(30) == 0 {
                            m.extend(std::iter::repeat_n(b'q', 80));
                        }
                        args.push(m);
                    }
                    c.cmd(&args);
                }
            }
            if rng.below(4) == 0 {
                let at = (FAR + rng.below(1_000_000)).to_string();
                assert_eq!(c.cmd(&["PEXPIREAT", &key, &at]), Reply::Int(1));
            }
        }
    }
}

#[test]
fn redis_files_decode_with_equal_digest() {
    require_redis();
    for seed in [11u64, 12] {
        let server = Server::redis(&[]);
        let mut c = server.conn();
        fill_redis(&mut c, seed);
        let want = digest_of(&mut c);
        assert_eq!(c.cmd(&["SAVE"]), Reply::Simple("OK".into()));
        let bytes = std::fs::read(server.dir.join("dump.rdb")).expect("dump.rdb");
        let loaded = rdb::decode(&bytes, &DecodeOptions::default()).expect("decode");
        assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
        assert_eq!(dataset_digest(&loaded.keyspace), want, "seed {seed}");
        // Small chunks, cut anywhere.
        let mut d = rdb::Decoder::new(DecodeOptions::default());
        for piece in bytes.chunks(13) {
            d.feed(piece).unwrap();
        }
        let again = d.finish().unwrap();
        assert_eq!(dataset_digest(&again.keyspace), want, "seed {seed} chunked");
        // And Tandem's re-encoding of it loads back into Redis unchanged.
        let dir = temp_dir(&format!("back{seed}"));
        std::fs::write(
            dir.join("back.rdb"),
            rdb::encode_to_vec(&loaded.keyspace, EncodeOptions::default()),
        )
        .unwrap();
        check_rdb(&dir.join("back.rdb"));
        let dir_s = dir.to_string_lossy().into_owned();
        let back = Server::redis(&["--dir", &dir_s, "--dbfilename", "back.rdb"]);
        assert_eq!(digest_of(&mut back.conn()), want, "seed {seed} re-encoded");
        drop(back);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
