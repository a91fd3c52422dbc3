//! `DEBUG DIGEST` and `DEBUG DIGEST-VALUE`, computed exactly as redis-server
//! 7.0 computes them (`debug.c`), so any two nodes, Tandem or Redis, can be
//! compared with one command.
//!
//! The rule: a key's digest starts at 20 zero bytes; the key name is *mixed*
//! in (xor its SHA-1, then SHA-1 the result), then the type as a big-endian
//! u32, then the value: string bytes mixed; list elements mixed in order;
//! set members xored (order-free); hash field/value pairs and sorted-set
//! member/score pairs each mixed into their own zeroed 20 bytes, then their SHA-1
//! xored in (order-free); then `!!expire!!` xored if the key has a TTL (its value does
//! not count). The dataset digest mixes each non-empty database's number,
//! then xors in the SHA-1 of every key's digest. An empty dataset is forty `0`s.

use crate::db::Keyspace;
use crate::value::Value;
use sha1_smol::Sha1;

type Digest = [u8; 20];

fn sha1(data: &[u8]) -> Digest {
    let mut h = Sha1::new();
    h.update(data);
    h.digest().bytes()
}

fn xor_digest(d: &mut Digest, data: &[u8]) {
    let h = sha1(data);
    for (a, b) in d.iter_mut().zip(h.iter()) {
        *a ^= b;
    }
}

fn mix_digest(d: &mut Digest, data: &[u8]) {
    xor_digest(d, data);
    *d = sha1(d);
}

/// Redis's type number (`OBJ_STRING` = 0, LIST 1, SET 2, ZSET 3, HASH 4).
fn type_code(v: &Value) -> u32 {
    match v {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
    }
}

/// `%.17g` formatting of a score, as 7.0's digest uses (shared with replies).
pub use crate::types::score::format_g17;

/// Fold one value (and whether its key has a TTL) into `d` (`xorObjectDigest`).
fn object_digest(d: &mut Digest, v: &Value, has_expire: bool) {
    mix_digest(d, &type_code(v).to_be_bytes());
    match v {
        Value::Str(s) => mix_digest(d, &s.bytes),
        Value::List(l) => {
            for e in l.iter() {
                mix_digest(d, e);
            }
        }
        Value::Set(s) => {
            for m in s.iter() {
                xor_digest(d, m);
            }
        }
        Value::ZSet(z) => {
            for (m, score) in z.iter() {
                let mut e = [0u8; 20];
                mix_digest(&mut e, m);
                mix_digest(&mut e, format_g17(score).as_bytes());
                xor_digest(d, &e);
            }
        }
        Value::Hash(h) => {
            for (f, val) in h.iter() {
                let mut e = [0u8; 20];
                mix_digest(&mut e, f);
                mix_digest(&mut e, val);
                xor_digest(d, &e);
            }
        }
    }
    if has_expire {
        xor_digest(d, b"!!expire!!");
    }
}

fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The whole dataset's digest as 40 hex characters (`DEBUG DIGEST`).
pub fn dataset_digest(ks: &Keyspace) -> String {
    let mut fin = [0u8; 20];
    for i in 0..ks.db_count() {
        let db = ks.db(i);
        if db.is_empty() {
            continue;
        }
        mix_digest(&mut fin, &(i as u32).to_be_bytes());
        for (k, v) in db.iter() {
            let mut d = [0u8; 20];
            mix_digest(&mut d, k);
            object_digest(&mut d, v, db.expire_of(k).is_some());
            xor_digest(&mut fin, &d);
        }
    }
    hex(&fin)
}

/// One key's value digest (`DEBUG DIGEST-VALUE`): forty `0`s for a missing key.
pub fn value_digest(ks: &Keyspace, db: usize, key: &[u8]) -> String {
    let mut d = [0u8; 20];
    if let Some(v) = ks.db(db).peek(key) {
        object_digest(&mut d, v, ks.db(db).expire_of(key).is_some());
    }
    hex(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_zeros() {
        let ks = Keyspace::new(16, 0);
        assert_eq!(dataset_digest(&ks), "0".repeat(40));
    }
}
