//! Hostile and old input: every truncation point, random byte flips,
//! hand-made malformed items, and the legacy encodings of older Redis
//! versions (types 1, 3, 9, 10, 12, 13, 14, versions 1 to 9, EXPIRETIME in
//! seconds, module values and aux data, FUNCTION). Errors carry offsets;
//! nothing panics.

use tandem_core::db::Keyspace;
use tandem_core::rdb::{self, ziplist, DecodeOptions, EncodeOptions, Error, Unsupported};
use tandem_core::value::{Hash, List, Set, Value, ZSet};

/// A hand-made RDB file.
struct File(Vec<u8>);

impl File {
    fn new(version: u32) -> Self {
        File(format!("REDIS{version:04}").into_bytes())
    }
    fn byte(mut self, b: u8) -> Self {
        self.0.push(b);
        self
    }
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    fn len(mut self, n: u64) -> Self {
        if n < 64 {
            self.0.push(n as u8);
        } else if n < 16384 {
            self.0.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
        } else {
            self.0.push(0x81);
            self.0.extend_from_slice(&n.to_be_bytes());
        }
        self
    }
    fn s(self, b: &[u8]) -> Self {
        self.len(b.len() as u64).raw(b)
    }
    /// EOF plus a correct CRC.
    fn end(self) -> Vec<u8> {
        let mut v = self.byte(0xFF).0;
        let crc = rdb::crc64(0, &v);
        v.extend_from_slice(&crc.to_le_bytes());
        v
    }
}

fn load(file: &[u8]) -> Result<rdb::Loaded, Error> {
    rdb::decode(file, &DecodeOptions::default())
}

fn sample_keyspace() -> Keyspace {
    let mut ks = Keyspace::new(16, 9);
    let d = ks.db_mut(0);
    d.insert(b"s", Value::string(b"hello".to_vec()), false);
    d.insert(b"n", Value::string(b"12345".to_vec()), false);
    d.insert(b"long", Value::string(b"abc".repeat(40)), false);
    let mut l = List::new();
    for i in 0..5 {
        l.push_back(format!("e{i}").into_bytes());
    }
    d.insert(b"l", Value::List(l.into()), false);
    let limits = tandem_core::config::EncodingLimits::default();
    let mut s = Set::new();
    for m in ["1", "2", "300"] {
        s.insert(m.as_bytes().to_vec());
    }
    s.update_encoding(&limits);
    d.insert(b"is", Value::Set(s.into()), false);
    let mut s = Set::new();
    for m in ["a", "b"] {
        s.insert(m.as_bytes().to_vec());
    }
    s.update_encoding(&limits);
    d.insert(b"ss", Value::Set(s.into()), false);
    let mut h = Hash::new();
    h.insert(b"f".to_vec(), b"v".to_vec());
    h.update_encoding(&limits);
    d.insert(b"h", Value::Hash(h.into()), false);
    let mut h = Hash::new();
    h.insert(b"f".to_vec(), vec![b'v'; 100]);
    h.update_encoding(&limits);
    d.insert(b"bh", Value::Hash(h.into()), false);
    let mut z = ZSet::new();
    z.insert(b"m".to_vec(), 1.5);
    z.insert(b"n".to_vec(), 2.0);
    z.update_encoding(&limits);
    d.insert(b"z", Value::ZSet(z.into()), false);
    let mut z = ZSet::new();
    z.insert(vec![b'm'; 80], 1.5);
    z.update_encoding(&limits);
    d.insert(b"bz", Value::ZSet(z.into()), false);
    d.set_expire(b"s", 4_102_444_800_000);
    ks.db_mut(3)
        .insert(b"other", Value::string(b"x".to_vec()), false);
    ks
}

#[test]
fn every_truncation_point_is_an_error() {
    let file = rdb::encode_to_vec(sample_keyspace(), EncodeOptions::default());
    assert!(load(&file).is_ok());
    for cut in 0..file.len() {
        // One shot, and fed byte by byte.
        match load(&file[..cut]) {
            Err(Error::Truncated { offset }) => assert_eq!(offset, cut as u64),
            Err(Error::BadMagic { .. }) if cut < 9 => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
        let mut d = rdb::Decoder::new(DecodeOptions::default());
        for b in &file[..cut] {
            d.feed(std::slice::from_ref(b)).unwrap();
        }
        assert!(
            matches!(d.finish(), Err(Error::Truncated { .. })),
            "cut {cut}"
        );
    }
}

#[test]
fn every_byte_flip_is_caught_by_the_crc_or_the_parser() {
    let file = rdb::encode_to_vec(sample_keyspace(), EncodeOptions::default());
    let lax = DecodeOptions {
        verify_checksum: false,
        ..DecodeOptions::default()
    };
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..file.len() {
        for _ in 0..3 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut bad = file.clone();
            bad[i] ^= (x as u8) | 1;
            let e = load(&bad).expect_err("a flipped byte must not load with the CRC on");
            assert!(e.offset() <= file.len() as u64);
            // Without the CRC the parser alone must still never panic.
            let _ = rdb::decode(&bad, &lax);
        }
    }
}

#[test]
fn malformed_items_give_offsets() {
    let hdr = || File::new(10).byte(0xFE).len(0);
    // Declared lengths far beyond the input.
    let f = hdr().byte(0).s(b"k").byte(0x81).raw(&[0x7f; 8]).end();
    assert!(matches!(load(&f), Err(Error::Truncated { .. })));
    let f = hdr().byte(2).s(b"k").byte(0x81).raw(&[0xff; 8]).end();
    assert!(load(&f).is_err());
    // LZF claiming a huge output.
    let f = hdr()
        .byte(0)
        .s(b"k")
        .byte(0xC3)
        .len(2)
        .len(1 << 40)
        .raw(&[0x00, b'a'])
        .end();
    match load(&f) {
        Err(Error::Corrupt { offset, what }) => {
            assert_eq!(offset, 14, "the string starts after 9 + 2 + 1 + 2 bytes");
            assert!(what.contains("LZF"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    // Unknown string and length encodings.
    let f = hdr().byte(0).s(b"k").byte(0xC7).end();
    assert!(matches!(load(&f), Err(Error::Corrupt { .. })));
    let f = hdr().byte(0).s(b"k").byte(0x90).end();
    assert!(matches!(load(&f), Err(Error::Corrupt { .. })));
    // Unsorted intset.
    let mut blob = vec![2, 0, 0, 0, 3, 0, 0, 0];
    for v in [3i16, 1, 2] {
        blob.extend_from_slice(&v.to_le_bytes());
    }
    let f = hdr().byte(11).s(b"is").s(&blob).end();
    match load(&f) {
        Err(Error::Corrupt { offset, what }) => {
            assert_eq!(offset, 15);
            assert!(what.contains("ascending"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    // Listpack with a wrong backlen.
    let mut lp = vec![0, 0, 0, 0, 2, 0, 0x81, b'a', 9, 0x81, b'b', 2, 0xFF];
    lp[0] = lp.len() as u8;
    let f = hdr().byte(16).s(b"h").s(&lp).end();
    assert!(matches!(load(&f), Err(Error::Corrupt { .. })));
    // Hash listpack with an odd count; zset listpack with duplicates.
    let mut b = rdb::listpack::Builder::new();
    b.push(b"f");
    let f = hdr().byte(16).s(b"h").s(&b.finish()).end();
    assert!(matches!(load(&f), Err(Error::Corrupt { .. })));
    let mut b = rdb::listpack::Builder::new();
    for e in [&b"m"[..], b"1", b"m", b"2"] {
        b.push(e);
    }
    let f = hdr().byte(17).s(b"z").s(&b.finish()).end();
    assert!(matches!(load(&f), Err(Error::Corrupt { .. })));
    // Duplicate key.
    let f = hdr().byte(0).s(b"k").s(b"1").byte(0).s(b"k").s(b"2").end();
    match load(&f) {
        Err(Error::DuplicateKey { offset, db, key }) => {
            assert_eq!((offset, db, key), (16, 0, b"k".to_vec()))
        }
        other => panic!("{other:?}"),
    }
    // A duplicate collection key, in one piece and parsed apart from the
    // inserting (the keyspace builder finds it, with the offset of the
    // second key's item).
    let f = hdr()
        .byte(2)
        .s(b"k")
        .len(1)
        .s(b"a")
        .byte(2)
        .s(b"k")
        .len(1)
        .s(b"b")
        .end();
    match load(&f) {
        Err(Error::DuplicateKey { offset, db, key }) => {
            assert_eq!((offset, db, key), (17, 0, b"k".to_vec()))
        }
        other => panic!("{other:?}"),
    }
    let mut parser = rdb::Decoder::without_keyspace(rdb::DecodeOptions::default());
    parser.feed(&f).expect("parsing alone sees no duplicate");
    let mut builder = parser.keyspace_builder();
    let steps = parser.take_steps();
    assert_eq!(steps.len(), 2);
    let mut results = steps.into_iter().map(|s| builder.apply(s));
    assert!(matches!(results.next(), Some(Ok(()))));
    match results.next() {
        Some(Err(Error::DuplicateKey { offset, db, key })) => {
            assert_eq!((offset, db, key), (17, 0, b"k".to_vec()))
        }
        other => panic!("{other:?}"),
    }
    // Duplicate set members, hash fields, zset members; NaN scores.
    let f = hdr().byte(2).s(b"s").len(2).s(b"a").s(b"a").end();
    assert!(matches!(load(&f), Err(Error::Corrupt { .. })));
    let f = hdr()
        .byte(4)
        .s(b"h")
        .len(2)
        .s(b"a")
        .s(b"1")
        .s(b"a")
        .s(b"2")
        .end();
    assert!(matches!(load(&f), Err(Error::Corrupt { .. })));
    let f = hdr()
        .byte(5)
        .s(b"z")
        .len(1)
        .s(b"a")
        .raw(&f64::NAN.to_le_bytes())
        .end();
    assert!(matches!(load(&f), Err(Error::Corrupt { .. })));
    let f = hdr().byte(3).s(b"z").len(1).s(b"a").byte(253).end();
    assert!(matches!(load(&f), Err(Error::Corrupt { .. })));
    // Quicklist container other than 1 or 2.
    let f = hdr().byte(18).s(b"l").len(1).len(3).s(b"x").end();
    assert!(matches!(load(&f), Err(Error::Corrupt { .. })));
    // Types 8 and 20+ (7.2's set listpack), version 11, SELECTDB 16, bad magic.
    let f = hdr().byte(20).s(b"k").end();
    assert!(matches!(
        load(&f),
        Err(Error::UnknownType {
            type_byte: 20,
            offset: 11
        })
    ));
    let f = hdr().byte(8).s(b"k").end();
    assert!(matches!(
        load(&f),
        Err(Error::UnknownType { type_byte: 8, .. })
    ));
    let f = File::new(11).end();
    assert!(matches!(
        load(&f),
        Err(Error::UnsupportedVersion { version: 11, .. })
    ));
    let f = File::new(10).byte(0xFE).len(16).end();
    assert!(matches!(
        load(&f),
        Err(Error::DbOutOfRange {
            db: 16,
            offset: 9,
            ..
        })
    ));
    assert!(matches!(
        load(b"RADIS0010\xff"),
        Err(Error::BadMagic { .. })
    ));
    // A v10 file must carry its 8-byte checksum.
    let mut f = File::new(10).byte(0xFF).0;
    assert!(matches!(load(&f), Err(Error::Truncated { .. })));
    f.extend_from_slice(&[0; 8]);
    assert!(load(&f).is_ok(), "a zero checksum is not checked");
}

#[test]
fn errors_are_sticky_and_trailing_junk_is_ignored() {
    let mut d = rdb::Decoder::new(DecodeOptions::default());
    assert!(d.feed(b"REDIS0099").is_err());
    assert!(d.feed(b"more").is_err());
    assert!(d.finish().is_err());
    let mut f = File::new(10).byte(0).s(b"k").s(b"v").end();
    f.extend_from_slice(b"junk after the checksum");
    let l = load(&f).unwrap();
    assert_eq!(l.keys, 1);
}

#[test]
fn empty_collections_are_skipped_and_listed() {
    let f = File::new(10)
        .byte(1)
        .s(b"emptylist")
        .len(0)
        .byte(18)
        .s(b"emptynodes")
        .len(1)
        .len(2)
        .s(&rdb::listpack::Builder::new().finish())
        .byte(0)
        .s(b"k")
        .s(b"v")
        .end();
    let l = load(&f).unwrap();
    assert_eq!(l.keys, 1);
    let kinds: Vec<(&[u8], &str)> = l
        .skipped
        .iter()
        .map(|s| (s.key.as_slice(), s.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (&b"emptylist"[..], "empty key"),
            (&b"emptynodes"[..], "empty key")
        ]
    );
}

#[test]
fn legacy_encodings_load() {
    let zl = |items: &[&[u8]]| ziplist::encode_ziplist(items);
    // Version 4: no checksum trailer, EXPIRETIME in seconds, types 1, 3, 9, 10, 12, 13, 14.
    let f = File::new(4)
        .byte(0xFE)
        .len(1)
        .byte(0xFD)
        .raw(&2_000_000_000i32.to_le_bytes())
        .byte(1)
        .s(b"list1")
        .len(3)
        .s(b"a")
        .byte(0xC0)
        .byte(7)
        .s(b"c")
        .byte(3)
        .s(b"zset3")
        .len(3)
        .s(b"x")
        .byte(3)
        .raw(b"1.5")
        .s(b"y")
        .byte(254)
        .s(b"z")
        .byte(255)
        .byte(9)
        .s(b"zipmap")
        .s(&ziplist::encode_zipmap(&[(b"f", b"v"), (b"g", b"123")]))
        .byte(10)
        .s(b"ziplist")
        .s(&zl(&[b"1", b"two", b"-70000"]))
        .byte(12)
        .s(b"zsetzl")
        .s(&zl(&[b"m", b"2", b"n", b"0.25"]))
        .byte(13)
        .s(b"hashzl")
        .s(&zl(&[b"f", b"1", b"g", b"hello"]))
        .byte(14)
        .s(b"quick")
        .len(2)
        .s(&zl(&[b"a", b"b"]))
        .s(&zl(&[b"c"]))
        .byte(0xFF)
        .0;
    let l = load(&f).unwrap();
    assert_eq!(l.version, 4);
    assert_eq!(l.checksum, None);
    let db = l.keyspace.db(1);
    let list = |k: &[u8]| match db.peek(k) {
        Some(Value::List(l)) => l.iter().map(|e| e.to_vec()).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        list(b"list1"),
        vec![b"a".to_vec(), b"7".to_vec(), b"c".to_vec()]
    );
    assert_eq!(db.expire_of(b"list1"), Some(2_000_000_000_000));
    assert_eq!(db.expire_of(b"zset3"), None, "an expiry applies to one key");
    assert_eq!(
        list(b"ziplist"),
        vec![b"1".to_vec(), b"two".to_vec(), b"-70000".to_vec()]
    );
    assert_eq!(list(b"quick").len(), 3);
    let Some(Value::ZSet(z)) = db.peek(b"zset3") else {
        panic!()
    };
    let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
    assert_eq!(
        got,
        vec![
            (b"z".to_vec(), f64::NEG_INFINITY),
            (b"x".to_vec(), 1.5),
            (b"y".to_vec(), f64::INFINITY)
        ]
    );
    let Some(Value::ZSet(z)) = db.peek(b"zsetzl") else {
        panic!()
    };
    assert_eq!(z.score(b"n"), Some(0.25));
    let Some(Value::Hash(h)) = db.peek(b"zipmap") else {
        panic!()
    };
    assert_eq!(h.get(b"g"), Some(&b"123"[..]));
    let Some(Value::Hash(h)) = db.peek(b"hashzl") else {
        panic!()
    };
    assert_eq!(h.get(b"g"), Some(&b"hello"[..]));
    // Every prefix of an old file is still a clean error.
    for cut in 0..f.len() {
        assert!(load(&f[..cut]).is_err(), "cut {cut}");
    }
    // Versions 1 to 10 are accepted; 5 and up carry the trailer.
    for v in 1..=10 {
        let mut f = File::new(v).byte(0).s(b"k").s(b"v").byte(0xFF).0;
        if v >= 5 {
            f.extend_from_slice(&[0; 8]);
        }
        assert_eq!(load(&f).unwrap().keys, 1, "version {v}");
    }
}

#[test]
fn modules_and_functions_error_or_skip() {
    // A type-7 module value: module id, then (opcode, value)* and 0.
    let module_id: u64 = 0x1234_5678_9abc_d000 | 3;
    let f = File::new(10)
        .byte(0xF5)
        .s(b"#!lua name=lib\nreturn 1")
        .byte(0xF6)
        .s(b"oldfn")
        .s(b"LUA")
        .len(1)
        .s(b"desc")
        .s(b"return 1")
        .byte(0xF7)
        .len(module_id)
        .len(2)
        .len(1)
        .len(2)
        .len(99)
        .len(0)
        .byte(7)
        .s(b"modkey")
        .len(module_id)
        .len(1)
        .len(5)
        .len(3)
        .raw(&1.5f32.to_le_bytes())
        .len(4)
        .raw(&2.5f64.to_le_bytes())
        .len(5)
        .s(b"str")
        .len(0)
        .byte(0)
        .s(b"k")
        .s(b"v")
        .end();
    match load(&f) {
        Err(Error::Unsupported {
            kind, key, offset, ..
        }) => {
            assert_eq!(
                (kind, key.as_slice(), offset),
                ("function", &b"#!lua name=lib"[..], 9)
            );
        }
        other => panic!("{other:?}"),
    }
    let skip = DecodeOptions {
        unsupported: Unsupported::Skip,
        ..DecodeOptions::default()
    };
    let l = rdb::decode(&f, &skip).unwrap();
    let kinds: Vec<&str> = l.skipped.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        vec!["function", "function", "module aux data", "module value"]
    );
    assert_eq!(l.skipped[3].key, b"modkey");
    assert_eq!(l.keys, 1);
    // Type 6 has no annotations and cannot be skipped.
    let f = File::new(10).byte(6).s(b"m").len(module_id).end();
    assert!(matches!(
        rdb::decode(&f, &skip),
        Err(Error::Unsupported {
            kind: "module value",
            ..
        })
    ));
}

#[test]
fn expired_keys_can_be_dropped_like_a_master_does() {
    let f = File::new(10)
        .byte(0xFC)
        .raw(&1000i64.to_le_bytes())
        .byte(0)
        .s(b"old")
        .s(b"v")
        .byte(0xFC)
        .raw(&5000i64.to_le_bytes())
        .byte(0)
        .s(b"new")
        .s(b"v")
        .byte(0xF8)
        .len(10)
        .byte(0xF9)
        .byte(5)
        .byte(0)
        .s(b"plain")
        .s(b"v")
        .end();
    let l = load(&f).unwrap();
    assert_eq!(l.keys, 3, "a replica keeps everything");
    let master = DecodeOptions {
        drop_expired_before: Some(2000),
        ..DecodeOptions::default()
    };
    let l = rdb::decode(&f, &master).unwrap();
    assert_eq!((l.keys, l.expired_dropped), (2, 1));
    assert_eq!(l.keyspace.db(0).expire_of(b"new"), Some(5000));
    assert_eq!(l.keyspace.db(0).expire_of(b"plain"), None);
}

#[test]
fn a_big_skipped_stream_fed_in_small_pieces_is_parsed_in_linear_time() {
    // A type-19 stream of 20,000 nodes (about 1 MB), no groups.
    let mut f = File::new(10).byte(19).s(b"bigstream").len(20_000);
    for i in 0..20_000u64 {
        let mut lp = rdb::listpack::Builder::new();
        for e in [
            &b"1"[..],
            b"0",
            b"1",
            b"field",
            b"0",
            b"2",
            b"0",
            b"0",
            b"value-xxxxxxxxxxxx",
            b"4",
        ] {
            lp.push(e);
        }
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&i.to_be_bytes());
        f = f.s(&key).s(&lp.finish());
    }
    for _ in 0..8 {
        f = f.len(1);
    }
    let file = f.len(0).byte(0).s(b"k").s(b"v").end();
    assert!(file.len() > 900_000);
    let skip = DecodeOptions {
        unsupported: Unsupported::Skip,
        ..DecodeOptions::default()
    };
    let mut d = rdb::Decoder::new(skip);
    for piece in file.chunks(512) {
        d.feed(piece).unwrap();
    }
    // Retrying the whole stream after every 512-byte piece would take
    // about 1,800 attempts; doubling the wait keeps it near 64 KB / 512.
    let attempts = d.parse_attempts();
    assert!(attempts < 400, "{attempts} parse attempts");
    let l = d.finish().unwrap();
    assert_eq!(l.keys, 1);
    assert_eq!(l.skipped.len(), 1);
    assert_eq!(
        (l.skipped[0].kind, l.skipped[0].key.as_slice()),
        ("stream", &b"bigstream"[..])
    );
}
