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
use indexmap::map::raw_entry_v1::{RawEntryApiV1, RawEntryMut};
use indexmap::IndexMap;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Key bytes as stored.
pub type Key = Box<[u8]>;

/// log2 of the number of shards a database is split into.
const SHARD_BITS: u32 = 10;
/// Shards per database. A snapshot costs one `Arc` clone per shard; the
/// first write to a shard a snapshot still holds copies that shard only
/// (about `keys / SHARDS` entries).
pub const SHARDS: usize = 1 << SHARD_BITS;
/// Where the shard index is taken from in a key's hash: bits that neither
/// the table position (low bits) nor hashbrown's tag (top 7 bits) of a
/// shard's own table use, so keys spread evenly inside a shard too.
const SHARD_SHIFT: u32 = 40;

/// One slice of a database: the keys whose hash falls in it, with their
/// values and expiry times. Shared (`Arc`) between the live database and
/// the snapshots taken while it was unchanged.
#[derive(Debug, Clone)]
struct Shard {
    map: IndexMap<Key, Value, RandomState>,
    expires: IndexMap<Key, u64, RandomState>,
}

/// A key's hash and the shard it lives in.
#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    shard: usize,
}

/// A position in a database for [`Db::next_entry`]: resumable, and stable
/// as long as the database (or the snapshot) is not changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DbCursor {
    shard: usize,
    index: usize,
}

/// One database.
///
/// The keys are split into [`SHARDS`] shards by hash, each behind an `Arc`,
/// and collection values are behind `Arc`s too (see [`Value`]): cloning a
/// `Db` (a snapshot for BGSAVE or a full sync) costs `SHARDS` reference
/// counts, and every write goes through `Arc::make_mut`, which copies a
/// shard only while a snapshot still shares it. The snapshot thus keeps
/// exactly the dataset of the moment it was taken, as a forked Redis does.
#[derive(Debug, Clone)]
pub struct Db {
    hasher: RandomState,
    shards: Vec<Arc<Shard>>,
    len: usize,
    expires_len: usize,
    /// Cursor of the active expiry cycle over the expiry tables.
    expire_cursor: DbCursor,
    /// Running estimate of the average TTL (INFO keyspace `avg_ttl`).
    pub avg_ttl: u64,
    /// Lists and sorted sets added since the last [`Keyspace::take_created`],
    /// recorded only while some client is blocked (`None` otherwise).
    created: Option<Vec<Key>>,
}

/// The keyed hasher for tables indexed by client-chosen keys: its keys come
/// from the node's seed, so a client cannot aim keys at one bucket without
/// knowing it (Redis seeds its dict hash function at startup for the same
/// reason).
pub(crate) fn hasher(seed: u64) -> RandomState {
    RandomState::with_seeds(
        seed,
        seed.rotate_left(17) ^ 0x5bd1_e995,
        seed.rotate_left(31) ^ 0x27d4_eb2f,
        seed.rotate_left(47) ^ 0x1656_67b1,
    )
}

/// Note an added list or sorted set for blocked clients, if they are being
/// tracked (see [`Db::insert`]).
fn log_created(created: &mut Option<Vec<Key>>, key: &[u8], value: &Value) {
    if let Some(log) = created.as_mut() {
        if matches!(value, Value::List(_) | Value::ZSet(_)) {
            log.push(key.into());
        }
    }
}

impl Shard {
    fn new(hasher: &RandomState) -> Self {
        Shard {
            map: IndexMap::with_hasher(hasher.clone()),
            expires: IndexMap::with_hasher(hasher.clone()),
        }
    }

    fn get(&self, slot: Slot, key: &[u8]) -> Option<&Value> {
        self.map
            .raw_entry_v1()
            .from_key_hashed_nocheck(slot.hash, key)
            .map(|(_, v)| v)
    }

    fn expire(&self, slot: Slot, key: &[u8]) -> Option<u64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires
            .raw_entry_v1()
            .from_key_hashed_nocheck(slot.hash, key)
            .map(|(_, t)| *t)
    }

    /// Remove the expiry of a key; true if it had one.
    fn remove_expire(&mut self, slot: Slot, key: &[u8]) -> bool {
        if self.expires.is_empty() {
            return false;
        }
        match self
            .expires
            .raw_entry_mut_v1()
            .from_key_hashed_nocheck(slot.hash, key)
        {
            RawEntryMut::Occupied(e) => {
                e.swap_remove();
                true
            }
            RawEntryMut::Vacant(_) => false,
        }
    }
}

impl Db {
    fn new(hasher: RandomState) -> Self {
        // Every shard starts as the same empty one; the first write to a
        // shard makes it its own (`Arc::make_mut`).
        let empty = Arc::new(Shard::new(&hasher));
        Db {
            shards: vec![empty; SHARDS],
            hasher,
            len: 0,
            expires_len: 0,
            expire_cursor: DbCursor::default(),
            avg_ttl: 0,
            created: None,
        }
    }

    #[inline]
    fn slot(&self, key: &[u8]) -> Slot {
        let hash = BuildHasher::hash_one(&self.hasher, key);
        Slot {
            hash,
            shard: (hash >> SHARD_SHIFT) as usize & (SHARDS - 1),
        }
    }

    /// A shard for writing: copied first if a snapshot still shares it.
    #[inline]
    fn shard_mut(&mut self, shard: usize) -> &mut Shard {
        Arc::make_mut(&mut self.shards[shard])
    }

    /// The shard holding `key`, writable, or `None` if no shard holds it.
    /// A shard still shared with a snapshot is not copied for a key it does
    /// not hold.
    fn shard_holding_mut(&mut self, key: &[u8]) -> Option<(Slot, &mut Shard)> {
        if self.len == 0 {
            return None;
        }
        let slot = self.slot(key);
        if Arc::get_mut(&mut self.shards[slot.shard]).is_none()
            && self.shards[slot.shard].get(slot, key).is_none()
        {
            return None;
        }
        Some((slot, self.shard_mut(slot.shard)))
    }

    /// Number of keys (including logically expired ones not yet deleted).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the database has no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of keys with an expiry.
    pub fn expires_len(&self) -> usize {
        self.expires_len
    }

    /// Make room for `additional` more keys (RESIZEDB while loading), spread
    /// over the shards with some slack for the uneven spread of hashes.
    pub fn reserve(&mut self, additional: usize, with_expiry: usize) {
        let per_shard = |n: usize| {
            let avg = n / SHARDS;
            avg + 4 * (avg as f64).sqrt() as usize + 4
        };
        if additional >= SHARDS {
            let n = per_shard(additional);
            for s in 0..SHARDS {
                self.shard_mut(s).map.reserve(n);
            }
        }
        if with_expiry >= SHARDS {
            let n = per_shard(with_expiry);
            for s in 0..SHARDS {
                self.shard_mut(s).expires.reserve(n);
            }
        }
    }

    /// A key's value without any expiry check.
    #[inline]
    pub fn peek(&self, key: &[u8]) -> Option<&Value> {
        if self.len == 0 {
            return None;
        }
        let slot = self.slot(key);
        self.shards[slot.shard].get(slot, key)
    }

    /// A key's value, mutable, without any expiry check.
    #[inline]
    pub fn peek_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        let (slot, shard) = self.shard_holding_mut(key)?;
        match shard
            .map
            .raw_entry_mut_v1()
            .from_key_hashed_nocheck(slot.hash, key)
        {
            RawEntryMut::Occupied(e) => Some(e.into_mut()),
            RawEntryMut::Vacant(_) => None,
        }
    }

    /// A key's expiry time (absolute ms), if any.
    #[inline]
    pub fn expire_of(&self, key: &[u8]) -> Option<u64> {
        if self.expires_len == 0 {
            return None;
        }
        let slot = self.slot(key);
        self.shards[slot.shard].expire(slot, key)
    }

    /// Whether the key has an expiry in the past.
    #[inline]
    pub fn is_expired(&self, key: &[u8], now: u64) -> bool {
        matches!(self.expire_of(key), Some(t) if t <= now)
    }

    /// Insert or overwrite a value. The old TTL is removed unless `keep_ttl`.
    /// Adding a list or sorted set is logged for blocked clients (Redis's
    /// `dbAdd` calls `signalKeyAsReady`; overwriting does not).
    pub fn insert(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        let slot = self.slot(key);
        let has_expires = self.expires_len > 0;
        let shard = Arc::make_mut(&mut self.shards[slot.shard]);
        match shard
            .map
            .raw_entry_mut_v1()
            .from_key_hashed_nocheck(slot.hash, key)
        {
            RawEntryMut::Occupied(mut e) => {
                *e.get_mut() = value;
                if !keep_ttl && has_expires && shard.remove_expire(slot, key) {
                    self.expires_len -= 1;
                }
            }
            RawEntryMut::Vacant(e) => {
                log_created(&mut self.created, key, &value);
                e.insert_hashed_nocheck(slot.hash, key.into(), value);
                self.len += 1;
            }
        }
    }

    /// Add a key that is not there yet, with its expiry (RDB load: the key
    /// is stored as given, no copy). `Err` gives the key back, and nothing
    /// changes, if the key exists.
    pub fn insert_new(&mut self, key: Key, value: Value, expire: Option<u64>) -> Result<(), Key> {
        let hash = self.slot(&key).hash;
        self.insert_new_hashed(hash, key, value, expire)
    }

    /// [`insert_new`](Self::insert_new) with the key's hash computed ahead
    /// by [`KeyHashers`] (made with this keyspace's seed): an RDB loader
    /// hashes on its parsing thread, while the key is in its cache.
    pub(crate) fn insert_new_hashed(
        &mut self,
        hash: u64,
        key: Key,
        value: Value,
        expire: Option<u64>,
    ) -> Result<(), Key> {
        debug_assert_eq!(hash, self.slot(&key).hash, "a hash from another seed");
        let slot = Slot {
            hash,
            shard: (hash >> SHARD_SHIFT) as usize & (SHARDS - 1),
        };
        let shard = Arc::make_mut(&mut self.shards[slot.shard]);
        let RawEntryMut::Vacant(e) = shard
            .map
            .raw_entry_mut_v1()
            .from_key_hashed_nocheck(slot.hash, &key)
        else {
            return Err(key);
        };
        log_created(&mut self.created, &key, &value);
        match expire {
            Some(at_ms) => {
                e.insert_hashed_nocheck(slot.hash, key.clone(), value);
                shard.expires.insert(key, at_ms);
                self.expires_len += 1;
            }
            None => {
                e.insert_hashed_nocheck(slot.hash, key, value);
            }
        }
        self.len += 1;
        Ok(())
    }

    /// Remove a key and its TTL; the old value if it existed.
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let (slot, shard) = self.shard_holding_mut(key)?;
        let v = match shard
            .map
            .raw_entry_mut_v1()
            .from_key_hashed_nocheck(slot.hash, key)
        {
            RawEntryMut::Occupied(e) => e.swap_remove(),
            RawEntryMut::Vacant(_) => return None,
        };
        let had_ttl = shard.remove_expire(slot, key);
        self.len -= 1;
        if had_ttl {
            self.expires_len -= 1;
        }
        Some(v)
    }

    /// Set the expiry of an existing key. False if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) -> bool {
        if self.len == 0 {
            return false;
        }
        let slot = self.slot(key);
        if self.shards[slot.shard].get(slot, key).is_none() {
            return false;
        }
        let shard = self.shard_mut(slot.shard);
        match shard
            .expires
            .raw_entry_mut_v1()
            .from_key_hashed_nocheck(slot.hash, key)
        {
            RawEntryMut::Occupied(mut e) => *e.get_mut() = at_ms,
            RawEntryMut::Vacant(e) => {
                e.insert_hashed_nocheck(slot.hash, key.into(), at_ms);
                self.expires_len += 1;
            }
        }
        true
    }

    /// Remove a key's expiry; true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        if self.expires_len == 0 {
            return false;
        }
        let slot = self.slot(key);
        if self.shards[slot.shard].expire(slot, key).is_none() {
            return false;
        }
        let removed = self.shard_mut(slot.shard).remove_expire(slot, key);
        if removed {
            self.expires_len -= 1;
        }
        removed
    }

    /// Remove every key (a snapshot keeps its own view).
    pub fn clear(&mut self) {
        let empty = Arc::new(Shard::new(&self.hasher));
        self.shards = vec![empty; SHARDS];
        self.len = 0;
        self.expires_len = 0;
        self.expire_cursor = DbCursor::default();
        self.avg_ttl = 0;
    }

    /// All keys with their values (shard by shard, each in dictionary order).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Value)> {
        self.shards
            .iter()
            .flat_map(|s| s.map.iter().map(|(k, v)| (&**k, v)))
    }

    /// The key at a position `0..len()` in [`iter`](Self::iter) order (for
    /// RANDOMKEY); O(shards).
    pub fn key_at(&self, index: usize) -> Option<&[u8]> {
        let mut rest = index;
        for s in &self.shards {
            if rest < s.map.len() {
                return s.map.get_index(rest).map(|(k, _)| &**k);
            }
            rest -= s.map.len();
        }
        None
    }

    /// The entry at `cursor` or the first one after it, with its expiry; the
    /// cursor moves past it. `None` at the end of the database.
    pub fn next_entry(&self, cursor: &mut DbCursor) -> Option<(&[u8], &Value, Option<u64>)> {
        while cursor.shard < self.shards.len() {
            let s = &self.shards[cursor.shard];
            if let Some((k, v)) = s.map.get_index(cursor.index) {
                cursor.index += 1;
                let expire = if s.expires.is_empty() {
                    None
                } else {
                    s.expires.get(&**k).copied()
                };
                return Some((&**k, v, expire));
            }
            cursor.shard += 1;
            cursor.index = 0;
        }
        None
    }

    /// Let go of the shards before `cursor` (a snapshot whose reader has
    /// passed them): the copies that only the snapshot still holds are
    /// freed a shard at a time rather than all at once at its end.
    pub fn release_before(&mut self, cursor: &DbCursor) {
        for s in &mut self.shards[..cursor.shard.min(SHARDS)] {
            if s.map.capacity() > 0 || s.expires.capacity() > 0 {
                *s = Arc::new(Shard::new(&self.hasher));
            }
        }
    }

    /// One step of SCAN: up to `count` keys, and the cursor to continue
    /// from (0 when done).
    ///
    /// The cursor is `shard << 40 | index`: keys of `shard` below `index`
    /// and every key of the shards below `shard` are still to visit. Shards
    /// are visited from the last to the first and each shard from its end
    /// to its start. A shard only ever changes by appending (new keys land
    /// at its end, above the cursor) and by swap-removal (its last key
    /// moves into the hole), so a key that is present for the whole scan
    /// stays below the cursor until it is returned: SCAN's guarantee that
    /// such keys are returned at least once holds. Cursor 0 starts (and
    /// ends) a scan.
    pub fn scan(&self, cursor: u64, count: usize) -> (Vec<Vec<u8>>, u64) {
        const INDEX_BITS: u32 = 40;
        const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
        let (mut shard, mut index) = if cursor == 0 {
            (SHARDS - 1, usize::MAX)
        } else {
            (
                ((cursor >> INDEX_BITS) as usize).min(SHARDS - 1),
                (cursor & INDEX_MASK) as usize,
            )
        };
        let mut keys = Vec::new();
        loop {
            let map = &self.shards[shard].map;
            index = index.min(map.len());
            while index > 0 && keys.len() < count {
                index -= 1;
                keys.push(map.get_index(index).expect("below len").0.to_vec());
            }
            if index == 0 {
                if shard == 0 {
                    return (keys, 0);
                }
                shard -= 1;
                index = usize::MAX;
                if keys.len() >= count {
                    return (keys, ((shard as u64) << INDEX_BITS) | INDEX_MASK);
                }
            } else {
                return (keys, ((shard as u64) << INDEX_BITS) | index as u64);
            }
        }
    }

    /// Whether the key exists, ignoring expiry.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.peek(key).is_some()
    }

    /// The expiry entry at the active-expiry cursor (moving it to the next
    /// non-empty shard, wrapping), or `None` if no key has a TTL.
    fn expire_at_cursor(&mut self) -> Option<(Vec<u8>, u64)> {
        if self.expires_len == 0 {
            return None;
        }
        loop {
            let c = &mut self.expire_cursor;
            if c.shard >= SHARDS {
                c.shard = 0;
                c.index = 0;
            }
            if let Some((k, t)) = self.shards[c.shard].expires.get_index(c.index) {
                return Some((k.to_vec(), *t));
            }
            c.shard += 1;
            c.index = 0;
        }
    }
}

/// The key hash functions of the databases of a keyspace made with
/// [`Keyspace::new`]`(n, seed)`, usable apart from it (on another thread).
#[derive(Debug, Clone)]
pub struct KeyHashers(Vec<RandomState>);

impl KeyHashers {
    /// The hashers of `n` databases seeded from `seed`, as [`Keyspace::new`] seeds them.
    pub fn new(n: usize, seed: u64) -> Self {
        KeyHashers((0..n).map(|i| db_hasher(seed, i)).collect())
    }

    /// The hash database `db` gives `key`.
    #[inline]
    pub fn hash(&self, db: usize, key: &[u8]) -> u64 {
        BuildHasher::hash_one(&self.0[db], key)
    }
}

/// The hasher of database `i` of a keyspace seeded with `seed`.
fn db_hasher(seed: u64, i: usize) -> RandomState {
    hasher(seed.wrapping_add(i as u64))
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
            dbs: (0..n).map(|i| Db::new(db_hasher(seed, i))).collect(),
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
                let n = db.expires_len();
                if n == 0 {
                    break;
                }
                let mut expired_here = 0;
                let mut sampled = 0;
                let mut ttl_sum: u64 = 0;
                let mut ttl_count: u64 = 0;
                while sampled < SAMPLE.min(n) {
                    let Some((key, t)) = db.expire_at_cursor() else {
                        break;
                    };
                    sampled += 1;
                    if t <= now {
                        db.remove(&key);
                        self.expired.push((dbi, key));
                        self.expired_total += 1;
                        expired_here += 1;
                        // swap_remove moved another key into this slot: look at it next.
                    } else {
                        ttl_sum += t - now;
                        ttl_count += 1;
                        db.expire_cursor.index += 1;
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

    /// A frozen copy of every database for BGSAVE or a full sync, in
    /// O(databases × [`SHARDS`]): it shares all data with the live
    /// keyspace, and later writes copy what they touch (see [`Db`]).
    pub fn snapshot(&self) -> Keyspace {
        let mut dbs = self.dbs.clone();
        for d in &mut dbs {
            d.created = None;
        }
        Keyspace {
            dbs,
            expired: Vec::new(),
            expired_total: 0,
            replica_mode: self.replica_mode,
            applying_master: false,
        }
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

    /// Every key of every database with its value and expiry, sorted.
    fn contents(ks: &Keyspace) -> Vec<(usize, Vec<u8>, Value, Option<u64>)> {
        let mut out = Vec::new();
        for db in 0..ks.db_count() {
            let mut cur = DbCursor::default();
            while let Some((k, v, t)) = ks.db(db).next_entry(&mut cur) {
                out.push((db, k.to_vec(), v.clone(), t));
            }
        }
        out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        out
    }

    #[test]
    fn snapshot_keeps_the_dataset_of_its_moment() {
        let mut ks = Keyspace::new(2, 7);
        for i in 0..5000u32 {
            let k = format!("k{i}").into_bytes();
            ks.db_mut((i % 2) as usize).insert(
                &k,
                Value::string(i.to_string().into_bytes()),
                false,
            );
            if i % 3 == 0 {
                ks.db_mut((i % 2) as usize).set_expire(&k, 1000 + i as u64);
            }
        }
        let mut list = crate::value::List::new();
        list.push_back(b"a".to_vec());
        ks.db_mut(0).insert(b"list", list.into(), false);
        let before = contents(&ks);
        let snap = ks.snapshot();
        // Writes of every kind after the snapshot.
        for i in 0..5000u32 {
            let k = format!("k{i}").into_bytes();
            let db = ks.db_mut((i % 2) as usize);
            match i % 5 {
                0 => {
                    db.remove(&k);
                }
                1 => db.insert(&k, Value::string(b"new".to_vec()), i % 2 == 0),
                2 => {
                    db.set_expire(&k, 5);
                }
                3 => {
                    db.persist(&k);
                }
                _ => {}
            }
        }
        ks.db_mut(1)
            .insert(b"added", Value::string(b"x".to_vec()), false);
        if let Some(Value::List(l)) = ks.db_mut(0).peek_mut(b"list") {
            std::sync::Arc::make_mut(l).push_back(b"b".to_vec());
        }
        let expired = ks.active_expire_cycle(u64::MAX, 100_000);
        assert!(expired > 0);
        ks.db_mut(1).clear();
        assert_eq!(contents(&snap), before);
        assert_ne!(contents(&ks), before);
        assert_eq!(snap.db(0).len() + snap.db(1).len(), 5001);
        assert_eq!(
            snap.db(0).expires_len() + snap.db(1).expires_len(),
            (0..5000).filter(|i| i % 3 == 0).count()
        );
        match ks.db(0).peek(b"list") {
            Some(Value::List(l)) => assert_eq!(l.len(), 2),
            other => panic!("list: {other:?}"),
        }
        match snap.db(0).peek(b"list") {
            Some(Value::List(l)) => assert_eq!(l.len(), 1),
            other => panic!("list: {other:?}"),
        }
    }

    #[test]
    fn counts_follow_inserts_removes_and_ttls() {
        let mut ks = Keyspace::new(1, 3);
        let db = ks.db_mut(0);
        db.reserve(10_000, 2_000);
        for i in 0..3000u32 {
            let k = i.to_be_bytes();
            db.insert(&k, Value::string(b"v".to_vec()), false);
            db.insert(&k, Value::string(b"w".to_vec()), false);
            if i % 2 == 0 {
                assert!(db.set_expire(&k, 10));
            }
        }
        assert!(!db.set_expire(b"missing", 10));
        assert_eq!((db.len(), db.expires_len()), (3000, 1500));
        assert!(db.persist(&0u32.to_be_bytes()));
        assert!(!db.persist(&0u32.to_be_bytes()));
        db.insert(&2u32.to_be_bytes(), Value::string(b"x".to_vec()), false);
        assert_eq!(
            db.remove(&4u32.to_be_bytes()),
            Some(Value::string(b"w".to_vec()))
        );
        assert_eq!(db.remove(&4u32.to_be_bytes()), None);
        assert_eq!((db.len(), db.expires_len()), (2999, 1497));
        assert_eq!(db.iter().count(), 2999);
        let keys: std::collections::HashSet<Vec<u8>> = (0..db.len())
            .map(|i| db.key_at(i).unwrap().to_vec())
            .collect();
        assert_eq!(keys.len(), 2999);
        assert_eq!(db.key_at(2999), None);
    }
}
