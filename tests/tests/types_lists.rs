//! Differential test of the list commands against redis-server 7.0.15:
//! seeded random sequences over a small key space shared with a string key
//! (WRONGTYPE paths), lists long enough for every range rule, replies byte
//! for byte, DEBUG DIGEST equal at the end.

mod types_common;
use types_common::{differential, Cmp, Gen};

const KEYS: &[&str] = &["l1", "l2", "l3", "str"];
const VALS: &[&str] = &[
    "a",
    "b",
    "c",
    "1",
    "2",
    "",
    "long-element-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

fn idx(g: &mut Gen) -> String {
    match g.below(10) {
        0 => "x".into(),
        1 => "-100".into(),
        2 => "100".into(),
        _ => g.range(-8, 8).to_string(),
    }
}

fn side(g: &mut Gen) -> String {
    g.pick(&["LEFT", "RIGHT", "left", "right", "middle"]).into()
}

fn gen(g: &mut Gen) -> (Vec<String>, Cmp) {
    let k = |g: &mut Gen| g.pick(KEYS).to_string();
    let v = |g: &mut Gen| g.pick(VALS).to_string();
    let mut c: Vec<String> = Vec::new();
    match g.below(25) {
        0..=3 => {
            c.push(g.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]).into());
            c.push(k(g));
            for _ in 0..g.range(1, 6) {
                c.push(v(g));
            }
        }
        4 | 5 => {
            c.push(g.pick(&["LPOP", "RPOP"]).into());
            c.push(k(g));
            match g.below(4) {
                0 => c.push(g.range(-1, 5).to_string()),
                1 => c.push("z".into()),
                _ => {}
            }
        }
        6 => c.extend(["LLEN".into(), k(g)]),
        7 | 8 => c.extend(["LRANGE".into(), k(g), idx(g), idx(g)]),
        9 => c.extend(["LINDEX".into(), k(g), idx(g)]),
        10 => c.extend(["LSET".into(), k(g), idx(g), v(g)]),
        11 => c.extend([
            "LINSERT".into(),
            k(g),
            g.pick(&["BEFORE", "AFTER", "after", "x"]).into(),
            v(g),
            v(g),
        ]),
        12 => c.extend(["LREM".into(), k(g), g.range(-3, 3).to_string(), v(g)]),
        13 => c.extend(["LTRIM".into(), k(g), idx(g), idx(g)]),
        14 | 15 => {
            c.extend(["LPOS".into(), k(g), v(g)]);
            for _ in 0..g.below(3) {
                match g.below(4) {
                    0 => c.extend(["RANK".into(), g.range(-3, 3).to_string()]),
                    1 => c.extend(["COUNT".into(), g.range(-1, 3).to_string()]),
                    2 => c.extend(["MAXLEN".into(), g.range(-1, 5).to_string()]),
                    _ => c.push("BOGUS".into()),
                }
            }
        }
        16 => c.extend(["RPOPLPUSH".into(), k(g), k(g)]),
        17 => c.extend(["LMOVE".into(), k(g), k(g), side(g), side(g)]),
        18 | 19 => {
            c.push("LMPOP".into());
            let n = g.range(0, 3);
            c.push(if g.chance(5) {
                "x".into()
            } else {
                n.to_string()
            });
            for _ in 0..n {
                c.push(k(g));
            }
            c.push(side(g));
            if g.chance(50) {
                c.extend(["COUNT".into(), g.range(0, 4).to_string()]);
            }
        }
        24 => c.extend(["OBJECT".into(), "ENCODING".into(), k(g)]),
        20 => c.extend(["BLPOP".into(), k(g), k(g), "0.01".into()]),
        21 => c.extend(["BRPOPLPUSH".into(), k(g), k(g), "0.01".into()]),
        22 => c.extend(["BLMOVE".into(), k(g), k(g), side(g), side(g), "0.01".into()]),
        _ => c.extend([
            "BLMPOP".into(),
            "0.01".into(),
            "2".into(),
            k(g),
            k(g),
            side(g),
        ]),
    }
    (c, Cmp::Exact)
}

#[test]
fn lists_match_redis() {
    for seed in 1..=4 {
        differential("lists", seed, 1500, &[], &[&["SET", "str", "x"]], &mut gen);
    }
}
