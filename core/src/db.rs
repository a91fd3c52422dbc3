//! The keyspace: `databases` numbered databases, each a dictionary of keys
//! to values plus a dictionary of expiry times (absolute Unix milliseconds),
//! as Redis keeps them.
//!
//! Expiry follows Redis's two rules:
//! * lazily: a key whose time has passed is deleted when it is looked up
//!   (on a replica it only *reads* as missing; the master's DEL removes it);
//! * actively: [`Keyspace::active_expire_cycle`] samples keys with a TTL and
//!   deletes the expired ones, repeating while more than a quarter of a
//!   sample was expired, within a time budget.
//!
//! Every deletion by expiry is recorded in [`Keyspace::take_expired`], so the
//! node can propagate it as a `DEL` and wake `WATCH`ers.

use crate::value::Value;
use ahash::RandomState;
use indexmap::IndexMap;

/// Key bytes as stored.
pub type Key = Box<[u8]>;

/// One database.
#[derive(Debug, Clone)]
pub struct Db {
    map: IndexMap<Key, Value, RandomState>,
    expires: IndexMap<Key, u64, RandomState>,
    /// Cursor of the active expiry cycle over `expires`.
    expire_cursor: usize,
    /// Running estimate of the average TTL (INFO keyspace `avg_ttl`).
    pub avg_ttl: u64,
    /// Lists and sorted sets added since the last [`Keyspace::take_created`],
    /// recorded only while some client is blocked (`None` otherwise).
    created: Option<Vec<Key>>,
}

fn hasher(seed: u64) -> RandomState {
    RandomState::with_seeds(
        seed,
        seed.rotate_left(17) ^ 0x5bd1_e995,
        seed.rotate_left(31) ^ 0x27d4_eb2f,
        seed.rotate_left(47) ^ 0x1656_67b1,
    )
}

impl Db {
    fn new(seed: u64) -> Self {
        Db {
            map: IndexMap::with_hasher(hasher(seed)),
            expires: IndexMap::with_hasher(hasher(seed ^ 0xabcdef)),
            expire_cursor: 0,
            avg_ttl: 0,
            created: None,
        }
    }

    /// Number of keys (including logically expired ones not yet deleted).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the database has no keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of keys with an expiry.
    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// A key's value without any expiry check.
    pub fn peek(&self, key: &[u8]) -> Option<&Value> {
        self.map.get(key)
    }

    /// A key's value, mutable, without any expiry check.
    pub fn peek_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.map.get_mut(key)
    }

    /// A key's expiry time (absolute ms), if any.
    pub fn expire_of(&self, key: &[u8]) -> Option<u64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get(key).copied()
    }

    /// Whether the key has an expiry in the past.
    pub fn is_expired(&self, key: &[u8], now: u64) -> bool {
        matches!(self.expire_of(key), Some(t) if t <= now)
    }

    /// Insert or overwrite a value. The old TTL is removed unless `keep_ttl`.
    /// Adding a list or sorted set is logged for blocked clients (Redis's
    /// `dbAdd` calls `signalKeyAsReady`; overwriting does not).
    pub fn insert(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        if let Some(slot) = self.map.get_mut(key) {
            *slot = value;
            if !keep_ttl && !self.expires.is_empty() {
                self.expires.swap_remove(key);
            }
        } else {
            if let Some(log) = self.created.as_mut() {
                if matches!(value, Value::List(_) | Value::ZSet(_)) {
                    log.push(key.into());
                }
            }
            self.map.insert(key.into(), value);
        }
    }

    /// Remove a key and its TTL; the old value if it existed.
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let v = self.map.swap_remove(key)?;
        if !self.expires.is_empty() {
            self.expires.swap_remove(key);
        }
        Some(v)
    }

    /// Set the expiry of an existing key. False if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) -> bool {
        if !self.map.contains_key(key) {
            return false;
        }
        if let Some(t) = self.expires.get_mut(key) {
            *t = at_ms;
        } else {
            self.expires.insert(key.into(), at_ms);
        }
        true
    }

    /// Remove a key's expiry; true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        self.expires.swap_remove(key).is_some()
    }

    /// Remove every key.
    pub fn clear(&mut self) {
        self.map.clear();
        self.expires.clear();
        self.expire_cursor = 0;
        self.avg_ttl = 0;
    }

    /// All keys with their values (in dictionary order).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Value)> {
        self.map.iter().map(|(k, v)| (&**k, v))
    }

    /// The key at a dictionary position (for RANDOMKEY and SCAN).
    pub fn key_at(&self, index: usize) -> Option<&[u8]> {
        self.map.get_index(index).map(|(k, _)| &**k)
    }

    /// The entry at a dictionary position.
    pub fn entry_at(&self, index: usize) -> Option<(&[u8], &Value)> {
        self.map.get_index(index).map(|(k, v)| (&**k, v))
    }

    /// Whether the key exists, ignoring expiry.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.map.contains_key(key)
    }
}

/// All databases, plus the log of keys deleted by expiry.
#[derive(Debug, Clone)]
pub struct Keyspace {
    dbs: Vec<Db>,
    expired: Vec<(usize, Vec<u8>)>,
    /// Total keys deleted by expiry (INFO stats `expired_keys`).
    pub expired_total: u64,
    /// On a replica, expired keys read as missing but are not deleted.
    pub replica_mode: bool,
    /// Set while a replica runs a command from its master's stream: then no
    /// key counts as expired (the master decides, and sends a DEL), as in
    /// Redis's `expireIfNeeded` for the master client.
    pub applying_master: bool,
}

impl Keyspace {
    /// `n` empty databases, with hash seeds derived from `seed`.
    pub fn new(n: usize, seed: u64) -> Self {
        Keyspace {
            dbs: (0..n)
                .map(|i| Db::new(seed.wrapping_add(i as u64)))
                .collect(),
            expired: Vec::new(),
            expired_total: 0,
            replica_mode: false,
            applying_master: false,
        }
    }

    /// Number of databases.
    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    /// One database, read-only.
    pub fn db(&self, i: usize) -> &Db {
        &self.dbs[i]
    }

    /// One database, mutable.
    pub fn db_mut(&mut self, i: usize) -> &mut Db {
        &mut self.dbs[i]
    }

    /// Swap two databases (SWAPDB).
    pub fn swap(&mut self, a: usize, b: usize) {
        self.dbs.swap(a, b);
    }

    /// Whether added lists and sorted sets are being logged.
    pub fn tracks_created(&self) -> bool {
        self.dbs.first().is_some_and(|d| d.created.is_some())
    }

    /// Start (or stop, dropping the log) logging added lists and sorted sets.
    pub fn track_created(&mut self, on: bool) {
        for d in &mut self.dbs {
            if on != d.created.is_some() {
                d.created = on.then(Vec::new);
            }
        }
    }

    /// Lists and sorted sets added since the last call, in order, per database.
    pub fn take_created(&mut self) -> Vec<(usize, Key)> {
        let mut out = Vec::new();
        for (i, d) in self.dbs.iter_mut().enumerate() {
            if let Some(log) = d.created.as_mut() {
                out.extend(log.drain(..).map(|k| (i, k)));
            }
        }
        out
    }

    /// Delete a key if its TTL has passed (lazy expiry). True if the key is
    /// (logically) expired, whether or not it was deleted.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8], now: u64) -> bool {
        if self.replica_mode && self.applying_master {
            return false;
        }
        if !self.dbs[db].is_expired(key, now) {
            return false;
        }
        if self.replica_mode {
            return true;
        }
        self.dbs[db].remove(key);
        self.expired.push((db, key.to_vec()));
        self.expired_total += 1;
        true
    }

    /// Look a key up for reading, applying lazy expiry.
    pub fn get(&mut self, db: usize, key: &[u8], now: u64) -> Option<&Value> {
        if self.expire_if_needed(db, key, now) {
            return None;
        }
        self.dbs[db].peek(key)
    }

    /// Look a key up for writing, applying lazy expiry.
    pub fn get_mut(&mut self, db: usize, key: &[u8], now: u64) -> Option<&mut Value> {
        if self.expire_if_needed(db, key, now) {
            return None;
        }
        self.dbs[db].peek_mut(key)
    }

    /// Whether a key exists (after lazy expiry).
    pub fn exists(&mut self, db: usize, key: &[u8], now: u64) -> bool {
        self.get(db, key, now).is_some()
    }

    /// Keys deleted by expiry since the last call, with their database.
    pub fn take_expired(&mut self) -> Vec<(usize, Vec<u8>)> {
        std::mem::take(&mut self.expired)
    }

    /// Whether any expiry deletions are waiting in [`take_expired`](Self::take_expired).
    pub fn has_expired(&self) -> bool {
        !self.expired.is_empty()
    }

    /// One run of the active expiry cycle (`activeExpireCycle`): for each
    /// database sample up to 20 keys with a TTL, delete the expired ones,
    /// and repeat while more than 25% of the sample had expired, visiting at
    /// most `budget` keys in total. Returns the number of keys deleted.
    pub fn active_expire_cycle(&mut self, now: u64, budget: usize) -> usize {
        if self.replica_mode {
            return 0;
        }
        const SAMPLE: usize = 20;
        let mut visited = 0;
        let mut deleted = 0;
        for dbi in 0..self.dbs.len() {
            loop {
                let db = &mut self.dbs[dbi];
                let n = db.expires.len();
                if n == 0 {
                    break;
                }
                let mut expired_here = 0;
                let mut sampled = 0;
                let mut ttl_sum: u64 = 0;
                let mut ttl_count: u64 = 0;
                while sampled < SAMPLE.min(n) {
                    if db.expire_cursor >= db.expires.len() {
                        db.expire_cursor = 0;
                        if db.expires.is_empty() {
                            break;
                        }
                    }
                    let (k, &t) = db
                        .expires
                        .get_index(db.expire_cursor)
                        .expect("cursor in range");
                    sampled += 1;
                    if t <= now {
                        let key = k.to_vec();
                        db.remove(&key);
                        self.expired.push((dbi, key));
                        self.expired_total += 1;
                        expired_here += 1;
                        // swap_remove moved another key into this slot: look at it next.
                    } else {
                        ttl_sum += t - now;
                        ttl_count += 1;
                        db.expire_cursor += 1;
                    }
                }
                if let Some(avg) = ttl_sum.checked_div(ttl_count) {
                    // Redis keeps a running average weighted toward history.
                    db.avg_ttl = if db.avg_ttl == 0 {
                        avg
                    } else {
                        (db.avg_ttl / 50) * 49 + avg / 50
                    };
                }
                visited += sampled;
                deleted += expired_here;
                if expired_here * 4 <= sampled || visited >= budget {
                    break;
                }
            }
            if visited >= budget {
                break;
            }
        }
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_expiry_deletes_and_logs() {
        let mut ks = Keyspace::new(2, 1);
        ks.db_mut(0)
            .insert(b"a", Value::string(b"1".to_vec()), false);
        ks.db_mut(0).set_expire(b"a", 1000);
        assert!(ks.get(0, b"a", 999).is_some());
        assert!(ks.get(0, b"a", 1000).is_none());
        assert_eq!(ks.take_expired(), vec![(0, b"a".to_vec())]);
        assert_eq!(ks.db(0).len(), 0);
    }

    #[test]
    fn replica_mode_hides_but_keeps() {
        let mut ks = Keyspace::new(1, 1);
        ks.replica_mode = true;
        ks.db_mut(0)
            .insert(b"a", Value::string(b"1".to_vec()), false);
        ks.db_mut(0).set_expire(b"a", 10);
        assert!(ks.get(0, b"a", 20).is_none());
        assert_eq!(ks.db(0).len(), 1);
        assert!(ks.take_expired().is_empty());
    }

    #[test]
    fn active_cycle_removes_expired() {
        let mut ks = Keyspace::new(1, 1);
        for i in 0..1000u32 {
            let k = i.to_string().into_bytes();
            ks.db_mut(0).insert(&k, Value::string(b"v".to_vec()), false);
            if i % 2 == 0 {
                ks.db_mut(0).set_expire(&k, 100);
            } else if i % 3 == 0 {
                ks.db_mut(0).set_expire(&k, 10_000);
            }
        }
        let mut total = 0;
        for _ in 0..100 {
            total += ks.active_expire_cycle(200, 1000);
        }
        assert_eq!(total, 500);
        assert_eq!(ks.db(0).len(), 500);
        assert_eq!(ks.db(0).expires_len(), 167);
    }

    #[test]
    fn overwrite_drops_ttl_unless_kept() {
        let mut ks = Keyspace::new(1, 1);
        let db = ks.db_mut(0);
        db.insert(b"k", Value::string(b"1".to_vec()), false);
        db.set_expire(b"k", 50);
        db.insert(b"k", Value::string(b"2".to_vec()), true);
        assert_eq!(db.expire_of(b"k"), Some(50));
        db.insert(b"k", Value::string(b"3".to_vec()), false);
        assert_eq!(db.expire_of(b"k"), None);
    }
}
