//! Every golden file written by redis-server 7.0.15 (`../shared/rdb/golden`)
//! loads, and its contents equal `manifest.json` exactly: types, values,
//! TTLs, databases, AUX fields, checksum. Streams and functions, which
//! Tandem does not serve, fail the load by default (naming the key and the
//! type) and are listed as skipped with `Unsupported::Skip`.

use serde_json::Value as J;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use tandem_core::config::EncodingLimits;
use tandem_core::digest::dataset_digest;
use tandem_core::rdb::{self, DecodeOptions, Error, Unsupported};
use tandem_core::value::Value;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/rdb/golden")
        .canonicalize()
        .expect("../shared/rdb/golden next to the workspace")
}

fn manifest() -> J {
    let text = std::fs::read_to_string(golden_dir().join("manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest is JSON")
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn key_bytes(k: &str) -> Vec<u8> {
    match k.strip_prefix("hex:") {
        Some(h) => unhex(h),
        None => k.as_bytes().to_vec(),
    }
}

/// Check one manifest string form against actual bytes.
fn check_bytes(want: &J, got: &[u8], ctx: &str) {
    match want {
        J::String(s) => assert_eq!(got, s.as_bytes(), "{ctx}"),
        J::Object(o) if o.contains_key("hex") => {
            assert_eq!(got, unhex(o["hex"].as_str().unwrap()), "{ctx}")
        }
        J::Object(o) if o.contains_key("sha256") => {
            assert_eq!(got.len() as u64, o["len"].as_u64().unwrap(), "{ctx} length");
            let h: String = Sha256::digest(got)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(h, o["sha256"].as_str().unwrap(), "{ctx} sha256");
            let head = unhex(o["head_hex"].as_str().unwrap());
            assert_eq!(&got[..head.len()], &head[..], "{ctx} head");
        }
        other => panic!("{ctx}: unexpected manifest form {other}"),
    }
}

fn want_bytes(want: &J) -> Vec<u8> {
    match want {
        J::String(s) => s.as_bytes().to_vec(),
        J::Object(o) if o.contains_key("hex") => unhex(o["hex"].as_str().unwrap()),
        other => panic!("unexpected manifest form {other}"),
    }
}

fn want_score(s: &J) -> f64 {
    match s {
        J::Number(n) => n.as_f64().unwrap(),
        J::String(s) if s == "inf" => f64::INFINITY,
        J::String(s) if s == "-inf" => f64::NEG_INFINITY,
        other => panic!("bad score {other}"),
    }
}

fn limits_of(cfg: &J) -> EncodingLimits {
    let n = |k: &str| cfg[k].as_u64().unwrap() as usize;
    EncodingLimits {
        hash_max_listpack_entries: n("hash-max-listpack-entries"),
        hash_max_listpack_value: n("hash-max-listpack-value"),
        set_max_intset_entries: n("set-max-intset-entries"),
        zset_max_listpack_entries: n("zset-max-listpack-entries"),
        zset_max_listpack_value: n("zset-max-listpack-value"),
        ..EncodingLimits::default()
    }
}

fn check_value(want: &J, got: &Value, ctx: &str) {
    let ty = want["type"].as_str().unwrap();
    assert_eq!(got.type_name(), ty, "{ctx} type");
    let v = &want["value"];
    match got {
        Value::Str(s) => check_bytes(v, &s.bytes, ctx),
        Value::List(l) => {
            let items = v.as_array().unwrap();
            assert_eq!(l.len(), items.len(), "{ctx} length");
            for (i, (w, g)) in items.iter().zip(l.iter()).enumerate() {
                check_bytes(w, g, &format!("{ctx}[{i}]"));
            }
        }
        Value::Set(s) => {
            let mut want: Vec<Vec<u8>> = v.as_array().unwrap().iter().map(want_bytes).collect();
            let mut got: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{ctx}");
        }
        Value::Hash(h) => {
            let want: BTreeMap<Vec<u8>, Vec<u8>> = v
                .as_object()
                .unwrap()
                .iter()
                .map(|(f, x)| (key_bytes(f), want_bytes(x)))
                .collect();
            let got: BTreeMap<Vec<u8>, Vec<u8>> =
                h.iter().map(|(f, x)| (f.to_vec(), x.to_vec())).collect();
            assert_eq!(got, want, "{ctx}");
        }
        Value::ZSet(z) => {
            let want: Vec<(Vec<u8>, f64)> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (want_bytes(&p[0]), want_score(&p[1])))
                .collect();
            let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
            assert_eq!(got, want, "{ctx}");
        }
    }
    // Compact on-disk types must come back compact.
    let compact = match want["rdb_type"].as_u64().unwrap() {
        11 => Some("intset"),
        16 | 17 => Some("listpack"),
        _ => None,
    };
    if let Some(enc) = compact {
        assert_eq!(got.encoding_name(), enc, "{ctx} encoding");
    }
}

/// Feed a file in pseudo-random pieces (1 to 97 bytes).
fn decode_in_pieces(bytes: &[u8], opts: &DecodeOptions, seed: u64) -> Result<rdb::Loaded, Error> {
    let mut d = rdb::Decoder::new(opts.clone());
    let mut x = seed | 1;
    let mut i = 0;
    while i < bytes.len() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = 1 + (x % 97) as usize;
        let end = (i + n).min(bytes.len());
        d.feed(&bytes[i..end])?;
        i = end;
    }
    d.finish()
}

#[test]
fn every_golden_file_matches_the_manifest() {
    let m = manifest();
    let files = m["files"].as_array().unwrap();
    assert_eq!(files.len(), 16);
    for f in files {
        let name = f["file"].as_str().unwrap();
        let bytes = std::fs::read(golden_dir().join(name)).unwrap();
        assert_eq!(bytes.len() as u64, f["bytes"].as_u64().unwrap(), "{name}");
        let opts = DecodeOptions {
            limits: limits_of(&f["server_config"]),
            unsupported: Unsupported::Skip,
            ..DecodeOptions::default()
        };
        let loaded = rdb::decode(&bytes, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            loaded.version,
            f["rdb_version"].as_u64().unwrap() as u32,
            "{name}"
        );
        assert_eq!(loaded.bytes, bytes.len() as u64, "{name}");

        // AUX fields, in order, with their values.
        let order: Vec<&str> = f["aux_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let got_order: Vec<String> = loaded
            .aux
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        assert_eq!(got_order, order, "{name} aux order");
        for (k, v) in &loaded.aux {
            let k = String::from_utf8_lossy(k);
            let want = f["aux"][k.as_ref()]["value"].as_str().unwrap();
            assert_eq!(v.as_slice(), want.as_bytes(), "{name} aux {k}");
        }
        if let Some(id) = f["aux"].get("repl-id") {
            assert_eq!(loaded.repl_id.as_deref(), id["value"].as_str(), "{name}");
            let off: i64 = f["aux"]["repl-offset"]["value"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(loaded.repl_offset, Some(off), "{name}");
            let db: i64 = f["aux"]["repl-stream-db"]["value"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(loaded.repl_stream_db, Some(db), "{name}");
        } else {
            assert_eq!(loaded.repl_id, None, "{name}");
        }
        let crc = u64::from_str_radix(f["checksum"].as_str().unwrap(), 16).unwrap();
        assert_eq!(loaded.checksum, Some(crc), "{name} checksum");

        // Every key, with its type, value, TTL and database.
        let ks = &loaded.keyspace;
        let mut want_keys = 0;
        let mut want_streams = Vec::new();
        for (db, keys) in f["dbs"].as_object().unwrap() {
            let db: usize = db.parse().unwrap();
            for (k, want) in keys.as_object().unwrap() {
                let key = key_bytes(k);
                let ctx = format!("{name} db{db} {k}");
                if want["type"] == "stream" {
                    want_streams.push((db, key));
                    assert!(ks.db(db).peek(&key_bytes(k)).is_none(), "{ctx}");
                    continue;
                }
                want_keys += 1;
                let got = ks
                    .db(db)
                    .peek(&key)
                    .unwrap_or_else(|| panic!("{ctx}: missing"));
                check_value(want, got, &ctx);
                assert_eq!(
                    ks.db(db).expire_of(&key),
                    want["expire_ms"].as_u64(),
                    "{ctx} TTL"
                );
            }
            let resize = &f["resizedb"][db.to_string()];
            assert_eq!(
                resize[0].as_u64().unwrap() as usize,
                keys.as_object().unwrap().len()
            );
        }
        let total: usize = (0..ks.db_count()).map(|i| ks.db(i).len()).sum();
        assert_eq!(total, want_keys, "{name}: no extra keys");
        assert_eq!(loaded.keys, want_keys as u64);

        // What was skipped is listed: streams by key, functions by library.
        let mut skipped_streams: Vec<(usize, Vec<u8>)> = loaded
            .skipped
            .iter()
            .filter(|s| s.kind == "stream")
            .map(|s| (s.db, s.key.clone()))
            .collect();
        skipped_streams.sort();
        want_streams.sort();
        assert_eq!(skipped_streams, want_streams, "{name} skipped streams");
        let want_funcs: Vec<Vec<u8>> = f["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                s.as_str()
                    .unwrap()
                    .lines()
                    .next()
                    .unwrap()
                    .as_bytes()
                    .to_vec()
            })
            .collect();
        let got_funcs: Vec<Vec<u8>> = loaded
            .skipped
            .iter()
            .filter(|s| s.kind == "function")
            .map(|s| s.key.clone())
            .collect();
        assert_eq!(got_funcs, want_funcs, "{name} skipped functions");
        assert_eq!(
            loaded.skipped.len(),
            want_streams.len() + want_funcs.len(),
            "{name}: nothing else skipped"
        );

        // The same file fed in random pieces gives the same data.
        for seed in [1u64, 7, 1234] {
            let l2 = decode_in_pieces(&bytes, &opts, seed).unwrap();
            assert_eq!(dataset_digest(&l2.keyspace), dataset_digest(ks), "{name}");
            assert_eq!(l2.skipped, loaded.skipped, "{name}");
        }

        // By default, unsupported content fails the load and names itself.
        let strict = DecodeOptions {
            unsupported: Unsupported::Error,
            ..opts.clone()
        };
        match rdb::decode(&bytes, &strict) {
            Ok(_) => assert!(loaded.skipped.is_empty(), "{name} loaded strictly"),
            Err(Error::Unsupported { kind, key, db, .. }) => {
                let first = &loaded.skipped[0];
                assert_eq!(
                    (kind, key, db),
                    (first.kind, first.key.clone(), first.db),
                    "{name}"
                );
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn golden_streams_are_refused_by_name() {
    let bytes = std::fs::read(golden_dir().join("kitchen_sink.rdb")).unwrap();
    let err = rdb::decode(&bytes, &DecodeOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("stream") && msg.contains("\"stream\""),
        "{msg}"
    );
    assert!(err.offset() > 9);
}

#[test]
fn golden_wrong_crc_is_refused() {
    let mut bytes = std::fs::read(golden_dir().join("lists.rdb")).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x10;
    match rdb::decode(&bytes, &DecodeOptions::default()) {
        Err(Error::BadChecksum { offset, .. }) => assert_eq!(offset, n as u64 - 8),
        other => panic!("{other:?}"),
    }
    let lax = DecodeOptions {
        verify_checksum: false,
        ..DecodeOptions::default()
    };
    assert!(rdb::decode(&bytes, &lax).is_ok());
}

#[test]
fn golden_files_reencode_to_equal_data() {
    // decode(redis file) → encode → decode gives the same digest, and the
    // re-encoded file of a stream-free dataset is no larger than Redis's.
    for name in [
        "strings.rdb",
        "lists.rdb",
        "sets.rdb",
        "hashes.rdb",
        "zsets.rdb",
        "expiry_multidb.rdb",
    ] {
        let bytes = std::fs::read(golden_dir().join(name)).unwrap();
        let opts = DecodeOptions {
            limits: EncodingLimits {
                hash_max_listpack_entries: 512,
                ..EncodingLimits::default()
            },
            ..DecodeOptions::default()
        };
        let a = rdb::decode(&bytes, &opts).unwrap();
        let out = rdb::encode_to_vec(&a.keyspace, rdb::EncodeOptions::default());
        let b = rdb::decode(&out, &opts).unwrap();
        assert_eq!(
            dataset_digest(&a.keyspace),
            dataset_digest(&b.keyspace),
            "{name}"
        );
        assert!(
            out.len() <= bytes.len() + 64,
            "{name}: {} bytes vs Redis's {}",
            out.len(),
            bytes.len()
        );
    }
}
