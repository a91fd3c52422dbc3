//! Property: for random datasets of every type and size class (compact and
//! large encodings, TTLs, several databases), decode(encode(ds)) == ds, with
//! the encoder's chunk size and the decoder's feed boundaries both random.

use proptest::prelude::*;
use std::collections::BTreeMap;
use tandem_core::config::EncodingLimits;
use tandem_core::db::Keyspace;
use tandem_core::digest::dataset_digest;
use tandem_core::rdb::{self, DecodeOptions, EncodeOptions};
use tandem_core::value::{Hash, List, Set, Value, ZSet};

fn bytes_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // short binary
        prop::collection::vec(any::<u8>(), 0..24),
        // integers (int-encoded in the RDB and in listpacks)
        any::<i64>().prop_map(|v| v.to_string().into_bytes()),
        (-200i64..200).prop_map(|v| v.to_string().into_bytes()),
        // non-canonical numbers stay strings
        prop::sample::select(vec!["007", "-0", "+1", " 1", "1.5", "", "2147483648"])
            .prop_map(|s| s.as_bytes().to_vec()),
        // compressible, across the 20-byte LZF threshold and listpack widths
        (prop::sample::select(vec![b'a', b'x']), 15usize..5000)
            .prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
        // incompressible, 60..70 bytes (the 64-byte listpack value limit)
        prop::collection::vec(any::<u8>(), 60..70),
    ]
}

fn score_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1000i64..1000).prop_map(|v| v as f64),
        any::<f64>().prop_filter("no NaN", |f| !f.is_nan()),
        prop::sample::select(vec![
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1,
            -0.5,
            1e300,
            4503599627370496.0
        ]),
    ]
}

/// Collections come in a small and a large size class.
fn count(max_small: usize, max_large: usize) -> impl Strategy<Value = usize> {
    prop_oneof![3 => 1..max_small, 1 => max_small..max_large]
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let limits = EncodingLimits::default();
    let (l1, l2, l3) = (limits.clone(), limits.clone(), limits.clone());
    prop_oneof![
        bytes_strategy().prop_map(Value::string),
        count(10, 1500)
            .prop_flat_map(|n| prop::collection::vec(bytes_strategy(), n))
            .prop_map(|items| {
                let mut l = List::new();
                for i in items {
                    l.push_back(i);
                }
                Value::List(l.into())
            }),
        prop_oneof![
            count(20, 700)
                .prop_flat_map(|n| prop::collection::vec(any::<i64>(), n))
                .prop_map(|v| v
                    .into_iter()
                    .map(|i| i.to_string().into_bytes())
                    .collect::<Vec<_>>()),
            count(20, 300).prop_flat_map(|n| prop::collection::vec(bytes_strategy(), n)),
        ]
        .prop_map(move |members| {
            let mut s = Set::new();
            for m in members {
                s.insert(m);
            }
            s.update_encoding(&l1);
            Value::Set(s.into())
        }),
        count(20, 300)
            .prop_flat_map(|n| prop::collection::vec((bytes_strategy(), bytes_strategy()), n))
            .prop_map(move |pairs| {
                let mut h = Hash::new();
                for (f, v) in pairs {
                    h.insert(f, v);
                }
                h.update_encoding(&l2);
                Value::Hash(h.into())
            }),
        count(20, 300)
            .prop_flat_map(|n| prop::collection::vec((bytes_strategy(), score_strategy()), n))
            .prop_map(move |pairs| {
                let mut z = ZSet::new();
                for (m, s) in pairs {
                    z.insert(m, s);
                }
                z.update_encoding(&l3);
                Value::ZSet(z.into())
            }),
    ]
}

type Dataset = Vec<(usize, Vec<u8>, Value, Option<u64>)>;

fn dataset_strategy() -> impl Strategy<Value = Dataset> {
    prop::collection::vec(
        (
            prop_oneof![4 => Just(0usize), 1 => 0usize..16],
            prop::collection::vec(any::<u8>(), 0..12),
            value_strategy(),
            prop::option::of(1_000_000_000_000u64..5_000_000_000_000),
        ),
        0..12,
    )
}

fn build(ds: &Dataset) -> Keyspace {
    let mut ks = Keyspace::new(16, 3);
    for (db, key, value, ttl) in ds {
        let d = ks.db_mut(*db);
        if d.contains(key) {
            continue;
        }
        let empty = match value {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        };
        if empty {
            continue;
        }
        d.insert(key, value.clone(), false);
        if let Some(t) = ttl {
            d.set_expire(key, *t);
        }
    }
    ks
}

/// A value in a comparable form (sets and hashes as sorted maps, scores as bits).
#[derive(Debug, PartialEq)]
enum Plain {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    ZSet(Vec<(Vec<u8>, u64)>),
}

fn plain(v: &Value) -> (Plain, &'static str) {
    let p = match v {
        Value::Str(s) => Plain::Str(s.bytes.clone()),
        Value::List(l) => Plain::List(l.iter().map(|e| e.to_vec()).collect()),
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().map(|e| e.to_vec()).collect();
            m.sort();
            Plain::Set(m)
        }
        Value::Hash(h) => Plain::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
        Value::ZSet(z) => Plain::ZSet(z.iter().map(|(m, s)| (m.to_vec(), s.to_bits())).collect()),
    };
    (p, v.encoding_name())
}

fn assert_same(a: &Keyspace, b: &Keyspace) {
    assert_same_values(a, b);
    assert_eq!(dataset_digest(a), dataset_digest(b));
}

fn assert_same_values(a: &Keyspace, b: &Keyspace) {
    for db in 0..16 {
        assert_eq!(a.db(db).len(), b.db(db).len(), "db {db} size");
        for (k, v) in a.db(db).iter() {
            let w = b
                .db(db)
                .peek(k)
                .unwrap_or_else(|| panic!("missing key {k:?}"));
            assert_eq!(plain(v), plain(w), "key {k:?}");
            assert_eq!(a.db(db).expire_of(k), b.db(db).expire_of(k), "TTL of {k:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn decode_of_encode_is_identity(
        ds in dataset_strategy(),
        chunk in 1usize..300,
        feed in prop::collection::vec(1usize..500, 1..20),
        compression in any::<bool>(),
        checksum in any::<bool>(),
    ) {
        let ks = build(&ds);
        let opts = EncodeOptions { chunk_size: chunk, compression, checksum, ..EncodeOptions::default() };
        let mut enc = rdb::Encoder::new(&ks, opts);
        let mut file = Vec::new();
        while let Some(c) = enc.next_chunk() {
            prop_assert!(!c.is_empty());
            file.extend_from_slice(&c);
        }
        prop_assert!(enc.next_chunk().is_none());
        // The one-shot helper writes the same bytes.
        let again = rdb::encode_to_vec(&ks, EncodeOptions { compression, checksum, ..EncodeOptions::default() });
        prop_assert_eq!(&again, &file);

        let mut dec = rdb::Decoder::new(DecodeOptions::default());
        let mut i = 0;
        let mut f = feed.iter().cycle();
        while i < file.len() {
            let n = (*f.next().unwrap()).min(file.len() - i);
            dec.feed(&file[i..i + n]).unwrap();
            i += n;
        }
        let loaded = dec.finish().unwrap();
        prop_assert!(loaded.skipped.is_empty());
        prop_assert_eq!(loaded.checksum, Some(if checksum { rdb::crc64(0, &file[..file.len() - 8]) } else { 0 }));
        assert_same(&ks, &loaded.keyspace);

        // Parsing and inserting apart (as the native driver does on two
        // threads) builds the same keyspace, whatever the chunks.
        let mut parser = rdb::Decoder::without_keyspace(DecodeOptions::default());
        let mut builder = parser.keyspace_builder();
        let mut steps = 0;
        for piece in file.chunks(chunk * 3) {
            parser.feed(piece).unwrap();
            for step in parser.take_steps() {
                builder.apply(step).unwrap();
                steps += 1;
            }
        }
        parser.end_of_input().unwrap();
        for step in parser.take_steps() {
            builder.apply(step).unwrap();
            steps += 1;
        }
        let mut split = parser.finish().unwrap();
        prop_assert_eq!(split.keyspace.db(0).len(), 0, "the parser keeps no keys");
        builder.complete(&mut split);
        prop_assert!(steps as u64 >= split.keys);
        prop_assert_eq!(split.keys, loaded.keys);
        assert_same(&ks, &split.keyspace);
    }
}

#[test]
fn replication_aux_round_trips() {
    let mut ks = Keyspace::new(16, 1);
    ks.db_mut(5)
        .insert(b"k", Value::string(b"v".to_vec()), false);
    let id = "0123456789abcdef0123456789abcdef01234567".to_string();
    let opts = EncodeOptions {
        repl: Some(rdb::ReplInfo {
            stream_db: 5,
            id: id.clone(),
            offset: 1_234_567_890_123,
        }),
        ctime_secs: 1_795_678_400,
        used_mem: 3_000_000_000,
        aof_base: true,
        ..EncodeOptions::default()
    };
    let file = rdb::encode_to_vec(&ks, opts);
    assert_eq!(&file[..9], b"REDIS0010");
    let l = rdb::decode(&file, &DecodeOptions::default()).unwrap();
    assert_eq!(l.repl_id.as_deref(), Some(id.as_str()));
    assert_eq!(l.repl_offset, Some(1_234_567_890_123));
    assert_eq!(l.repl_stream_db, Some(5));
    let keys: Vec<&[u8]> = l.aux.iter().map(|(k, _)| k.as_slice()).collect();
    let want: Vec<&[u8]> = vec![
        b"redis-ver",
        b"redis-bits",
        b"ctime",
        b"used-mem",
        b"repl-stream-db",
        b"repl-id",
        b"repl-offset",
        b"aof-base",
    ];
    assert_eq!(keys, want);
    assert_eq!(l.aux[3].1, b"3000000000");
    assert_eq!(l.aux[7].1, b"1");
    assert_same(&ks, &l.keyspace);
}

#[test]
fn empty_dataset_is_header_aux_eof_crc() {
    let ks = Keyspace::new(16, 1);
    let file = rdb::encode_to_vec(&ks, EncodeOptions::default());
    assert_eq!(file[file.len() - 9], 0xFF);
    assert!(!file.contains(&0xFE), "no SELECTDB for an empty dataset");
    let crc = u64::from_le_bytes(file[file.len() - 8..].try_into().unwrap());
    assert_eq!(crc, rdb::crc64(0, &file[..file.len() - 8]));
    let nocrc = rdb::encode_to_vec(
        &ks,
        EncodeOptions {
            checksum: false,
            ..EncodeOptions::default()
        },
    );
    assert_eq!(&nocrc[nocrc.len() - 8..], &[0; 8]);
}

#[test]
fn large_collections_load_in_linear_time() {
    let limits = EncodingLimits::default();
    let mut ks = Keyspace::new(16, 1);
    let n = 30_000;
    let mut s = Set::new_table();
    let mut z = ZSet::new_big();
    let mut h = Hash::new();
    let mut l = List::new();
    for i in 0..n {
        s.insert(i.to_string().into_bytes());
        z.insert(format!("m{i}").into_bytes(), (i % 1000) as f64);
        h.insert(format!("f{i}").into_bytes(), i.to_string().into_bytes());
        h.convert_past_entry_limit(&limits);
        l.push_back(i.to_string().into_bytes());
    }
    h.update_encoding(&limits);
    let d = ks.db_mut(0);
    d.insert(b"s", Value::Set(s.into()), false);
    d.insert(b"z", Value::ZSet(z.into()), false);
    d.insert(b"h", Value::Hash(h.into()), false);
    d.insert(b"l", Value::List(l.into()), false);
    let file = rdb::encode_to_vec(&ks, EncodeOptions::default());
    let t = std::time::Instant::now();
    let loaded = rdb::decode(&file, &DecodeOptions::default()).unwrap();
    // Quadratic inserts would take minutes here, even in a debug build.
    assert!(t.elapsed().as_secs() < 30, "{:?}", t.elapsed());
    assert_same_values(&ks, &loaded.keyspace);
}
