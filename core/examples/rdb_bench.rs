//! One quick measurement of RDB throughput: encode and decode 1M keys
//! (strings shaped like `DEBUG POPULATE`'s, and a mix of every type).
//!
//! ```text
//! cargo run --release -p tandem-core --example rdb_bench [-- --keys N] [--file dump.rdb]
//! ```
//! With `--file`, also decodes that file (e.g. a redis-server SAVE).

use std::time::Instant;
use tandem_core::db::Keyspace;
use tandem_core::rdb::{self, DecodeOptions, EncodeOptions};
use tandem_core::value::{Hash, List, Set, Value, ZSet};

fn strings(n: usize) -> Keyspace {
    let mut ks = Keyspace::new(16, 1);
    let d = ks.db_mut(0);
    for i in 0..n {
        d.insert(
            format!("key:{i}").as_bytes(),
            Value::string(format!("value:{i}").into_bytes()),
            false,
        );
    }
    ks
}

fn mixed(n: usize) -> Keyspace {
    let limits = tandem_core::config::EncodingLimits::default();
    let mut ks = Keyspace::new(16, 1);
    let d = ks.db_mut(0);
    for i in 0..n {
        let key = format!("key:{i}").into_bytes();
        let v = match i % 5 {
            0 => Value::string(format!("value:{i}").into_bytes()),
            1 => {
                let mut l = List::new();
                (0..8).for_each(|j| l.push_back(format!("item:{j}").into_bytes()));
                Value::List(l.into())
            }
            2 => {
                let mut s = Set::new();
                (0..8).for_each(|j| {
                    s.insert((i * 8 + j).to_string().into_bytes());
                });
                s.update_encoding(&limits);
                Value::Set(s.into())
            }
            3 => {
                let mut h = Hash::new();
                (0..8).for_each(|j| {
                    h.insert(format!("f{j}").into_bytes(), format!("v{i}").into_bytes());
                });
                h.update_encoding(&limits);
                Value::Hash(h.into())
            }
            _ => {
                let mut z = ZSet::new();
                (0..8).for_each(|j| {
                    z.insert(format!("m{j}").into_bytes(), j as f64 * 1.5);
                });
                z.update_encoding(&limits);
                Value::ZSet(z.into())
            }
        };
        d.insert(&key, v, false);
        if i % 10 == 0 {
            d.set_expire(&key, 4_102_444_800_000);
        }
    }
    ks
}

fn measure(name: &str, ks: &Keyspace) {
    // The stall of BGSAVE's copy-on-write snapshot.
    let t = Instant::now();
    let copy = ks.snapshot();
    let tc = t.elapsed();
    drop(copy);
    let t = Instant::now();
    let mut enc = rdb::Encoder::new(ks, EncodeOptions::default());
    let mut file = Vec::new();
    let mut chunks = 0;
    while let Some(c) = enc.next_chunk() {
        file.extend_from_slice(&c);
        chunks += 1;
    }
    let te = t.elapsed();
    let t = Instant::now();
    let mut dec = rdb::Decoder::new(DecodeOptions::default());
    for c in file.chunks(64 * 1024) {
        dec.feed(c).unwrap();
    }
    let loaded = dec.finish().unwrap();
    let td = t.elapsed();
    let mb = file.len() as f64 / 1e6;
    println!(
        "{name}: {} keys, {:.1} MB in {chunks} chunks; encode {:.0} ms ({:.0} MB/s), decode {:.0} ms ({:.0} MB/s); snapshot {:.3} ms",
        loaded.keys,
        mb,
        te.as_secs_f64() * 1e3,
        mb / te.as_secs_f64(),
        td.as_secs_f64() * 1e3,
        mb / td.as_secs_f64(),
        tc.as_secs_f64() * 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let n: usize = arg("--keys")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    measure("strings", &strings(n));
    measure("mixed", &mixed(n));
    if let Some(path) = arg("--file") {
        let bytes = std::fs::read(&path).expect("read --file");
        let t = Instant::now();
        let loaded = rdb::decode(&bytes, &DecodeOptions::default()).expect("decode --file");
        let td = t.elapsed();
        println!(
            "{path}: {} keys, {:.1} MB, decode {:.0} ms",
            loaded.keys,
            bytes.len() as f64 / 1e6,
            td.as_secs_f64() * 1e3
        );
    }
}
