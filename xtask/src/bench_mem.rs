//! Memory of the collection types (issue #3): the resident set size of
//! `tandem` and `redis-server` 7.0.15 after loading the same 1M small hash
//! fields, set members and sorted-set members, as a ratio to redis-server's.
//!
//! Each type is loaded twice, into a fresh server each time, because Redis
//! stores a collection in one of two ways by its size:
//! * as 10,000 keys of 100 items, which Redis keeps compact (listpack for
//!   hashes and sorted sets under 128 entries; a set of strings is a
//!   hashtable in 7.0);
//! * as one key of 1M items (hashtable, hashtable, skiplist).
//!
//! Items are short (`f:123456` / `v:123456`), as in the issue ("small").
//! The ratio is of the whole process's RSS after the load, the way a user
//! reads `ps`; the RSS of the empty server is printed beside it.

use crate::bench_rdb::{pipeline, rss_kb};
use crate::proc::bench_server;
use crate::Result;
use std::path::Path;

/// One way to lay out the items: `keys` keys of `per_key` items each.
struct Layout {
    row: &'static str,
    kind: Kind,
    keys: u64,
    per_key: u64,
}

#[derive(Clone, Copy)]
enum Kind {
    Hash,
    Set,
    Zset,
}

/// Items per command, so a command stays small whatever the layout.
const BATCH: u64 = 100;

fn layouts(items: u64) -> Vec<Layout> {
    let small_keys = (items / 100).max(1);
    let mut rows = Vec::new();
    for (kind, small, big) in [
        (
            Kind::Hash,
            "hash fields, 100 per key",
            "hash fields, one key",
        ),
        (
            Kind::Set,
            "set members, 100 per key",
            "set members, one key",
        ),
        (
            Kind::Zset,
            "zset members, 100 per key",
            "zset members, one key",
        ),
    ] {
        rows.push(Layout {
            row: small,
            kind,
            keys: small_keys,
            per_key: 100,
        });
        rows.push(Layout {
            row: big,
            kind,
            keys: 1,
            per_key: items,
        });
    }
    rows
}

/// The commands that load a layout, `BATCH` items per command.
fn commands(layout: &Layout) -> impl Iterator<Item = Vec<Vec<u8>>> + '_ {
    (0..layout.keys).flat_map(move |k| {
        let key = format!("{}:{k}", key_prefix(layout.kind)).into_bytes();
        (0..layout.per_key)
            .step_by(BATCH as usize)
            .map(move |first| {
                let last = (first + BATCH).min(layout.per_key);
                let mut args: Vec<Vec<u8>> = vec![verb(layout.kind).into(), key.clone()];
                for i in first..last {
                    let n = k * layout.per_key + i;
                    match layout.kind {
                        Kind::Hash => {
                            args.push(format!("f:{n}").into_bytes());
                            args.push(format!("v:{n}").into_bytes());
                        }
                        Kind::Set => args.push(format!("m:{n}").into_bytes()),
                        Kind::Zset => {
                            args.push((n % 1000).to_string().into_bytes());
                            args.push(format!("m:{n}").into_bytes());
                        }
                    }
                }
                args
            })
    })
}

fn key_prefix(kind: Kind) -> &'static str {
    match kind {
        Kind::Hash => "h",
        Kind::Set => "s",
        Kind::Zset => "z",
    }
}

fn verb(kind: Kind) -> &'static str {
    match kind {
        Kind::Hash => "HSET",
        Kind::Set => "SADD",
        Kind::Zset => "ZADD",
    }
}

/// Start a fresh server, load the layout; (RSS empty, RSS loaded) in kB.
fn measure(name: &str, tandem_bin: &Path, layout: &Layout) -> Result<(u64, u64)> {
    let mut server = bench_server(name, tandem_bin, &[])?;
    let port = server.port;
    let empty = rss_kb(server.pid());
    pipeline(port, commands(layout))?;
    let loaded = rss_kb(server.pid());
    server.stop();
    Ok((empty, loaded))
}

/// Print the memory table for `items` items per row.
pub fn report(tandem_bin: &Path, items: u64) -> Result {
    println!("\nRSS after loading {items} items (MB; a fresh server per row)\n");
    println!(
        "| {:<28} | {:>12} | {:>12} | {:>5} |",
        "items", "tandem", "redis", "ratio"
    );
    println!("|{:-<30}|{:->14}|{:->14}|{:->7}|", "", "", "", "");
    let mut empty = [0u64; 2];
    for layout in layouts(items) {
        let (te, t) = measure("tandem", tandem_bin, &layout)?;
        let (re, r) = measure("redis", tandem_bin, &layout)?;
        empty = [te, re];
        println!(
            "| {:<28} | {:>12.1} | {:>12.1} | {:>5.2} |",
            layout.row,
            t as f64 / 1024.0,
            r as f64 / 1024.0,
            t as f64 / r.max(1) as f64
        );
    }
    println!(
        "(an empty server: tandem {:.1} MB, redis {:.1} MB)",
        empty[0] as f64 / 1024.0,
        empty[1] as f64 / 1024.0
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_loads_exactly_its_items_once() {
        for layout in layouts(1000) {
            let mut items = std::collections::BTreeSet::new();
            for args in commands(&layout) {
                let per_item = match layout.kind {
                    Kind::Hash | Kind::Zset => 2,
                    Kind::Set => 1,
                };
                assert_eq!((args.len() - 2) % per_item, 0, "{}", layout.row);
                for item in args[2..].chunks(per_item) {
                    let member = item[per_item - 1].clone();
                    let member = if matches!(layout.kind, Kind::Hash) {
                        item[0].clone()
                    } else {
                        member
                    };
                    assert!(
                        items.insert((args[1].clone(), member)),
                        "{}: an item twice",
                        layout.row
                    );
                }
            }
            assert_eq!(items.len(), 1000, "{}", layout.row);
        }
    }
}
