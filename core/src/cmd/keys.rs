//! Generic key commands (`db.c`, `expire.c`, `object.c` of Redis 7.0): DEL,
//! UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, COPY, MOVE,
//! the EXPIRE family, TTL family, PERSIST, FLUSHDB, FLUSHALL, SWAPDB, OBJECT.
//!
//! Rules implemented here, checked against redis-server 7.0.15:
//! - Every command works on any [`Value`] variant; RENAME, MOVE and COPY keep
//!   the value's encoding and TTL.
//! - EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT take `NX|XX|GT|LT` (a key without TTL
//!   counts as an infinite TTL for GT/LT); a resulting time at or before
//!   now deletes the key and still answers `1` (Redis 7.0).
//! - TTL rounds to the nearest second (`(ms+500)/1000`), as does EXPIRETIME.
//! - SCAN: see [`scan_db`] for the cursor and its guarantee. Expired keys
//!   are skipped, except that `TYPE none` returns them (a Redis 7.0 quirk,
//!   reproduced).
//! - OBJECT FREQ answers Redis's error for a non-LFU policy (Tandem has no
//!   LFU policy); OBJECT IDLETIME answers `0`: Tandem does not track access
//!   times (Redis's answer depends on its LRU clock and on shared objects).
//!   OBJECT REFCOUNT answers `2147483647` for the integers 0..9999 Redis
//!   shares and `1` otherwise (Redis gives `1` for a shared integer that was
//!   COPYed; Tandem does not track that).

use super::{
    flags::*, is_opt, parse_int, touch_all_watched_in_db, touch_watched_key, CmdError, CmdResult,
    Ctx,
};
use crate::command;
use crate::db::Db;
use crate::resp::ReplyWriter;
use crate::value::{StrEncoding, Value};
use bytes::Bytes;

/// The OBJECT subcommands.
static OBJECT_SUBCOMMANDS: &[super::CommandSpec] = &[
    command!(
        "encoding",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "Returns the internal encoding of a Redis object.",
        object_encoding
    ),
    command!(
        "freq",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "Returns the logarithmic access frequency counter of a Redis object.",
        object_freq
    ),
    command!(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "generic",
        "Returns helpful text about the different subcommands.",
        object_help
    ),
    command!(
        "idletime",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "Returns the time since the last access to a Redis object.",
        object_idletime
    ),
    command!(
        "refcount",
        3,
        READONLY,
        (2, 2, 1),
        "generic",
        "Returns the reference count of a value of a key.",
        object_refcount
    ),
];

/// The generic key commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!(
        "del",
        -2,
        WRITE,
        (1, -1, 1),
        "generic",
        "Deletes one or more keys.",
        del
    ),
    command!(
        "unlink",
        -2,
        WRITE | FAST,
        (1, -1, 1),
        "generic",
        "Asynchronously deletes one or more keys.",
        del
    ),
    command!(
        "exists",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        "generic",
        "Determines whether one or more keys exist.",
        exists
    ),
    command!(
        "type",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "Determines the type of value stored at a key.",
        type_cmd
    ),
    command!(
        "keys",
        2,
        READONLY,
        (0, 0, 0),
        "generic",
        "Returns all key names that match a pattern.",
        keys
    ),
    command!(
        "scan",
        -2,
        READONLY,
        (0, 0, 0),
        "generic",
        "Iterates over the key names in the database.",
        scan
    ),
    command!(
        "randomkey",
        1,
        READONLY | RANDOM,
        (0, 0, 0),
        "generic",
        "Returns a random key name from the database.",
        randomkey
    ),
    command!(
        "rename",
        3,
        WRITE,
        (1, 2, 1),
        "generic",
        "Renames a key and overwrites the destination.",
        rename
    ),
    command!(
        "renamenx",
        3,
        WRITE | FAST,
        (1, 2, 1),
        "generic",
        "Renames a key only when the target key name doesn't exist.",
        renamenx
    ),
    command!(
        "copy",
        -3,
        WRITE | DENYOOM,
        (1, 2, 1),
        "generic",
        "Copies the value of a key to a new key.",
        copy
    ),
    command!(
        "move",
        3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "Moves a key to another database.",
        move_cmd
    ),
    command!(
        "expire",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key in seconds.",
        expire
    ),
    command!(
        "pexpire",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key in milliseconds.",
        pexpire
    ),
    command!(
        "expireat",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key to a Unix timestamp.",
        expireat
    ),
    command!(
        "pexpireat",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        pexpireat
    ),
    command!(
        "ttl",
        2,
        READONLY | FAST | RANDOM,
        (1, 1, 1),
        "generic",
        "Returns the expiration time in seconds of a key.",
        ttl
    ),
    command!(
        "pttl",
        2,
        READONLY | FAST | RANDOM,
        (1, 1, 1),
        "generic",
        "Returns the expiration time in milliseconds of a key.",
        pttl
    ),
    command!(
        "expiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "Returns the expiration time of a key as a Unix timestamp.",
        expiretime
    ),
    command!(
        "pexpiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        pexpiretime
    ),
    command!(
        "persist",
        2,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "Removes the expiration time of a key.",
        persist
    ),
    command!(
        "flushdb",
        -1,
        WRITE,
        (0, 0, 0),
        "server",
        "Remove all keys from the current database.",
        flushdb
    ),
    command!(
        "flushall",
        -1,
        WRITE,
        (0, 0, 0),
        "server",
        "Removes all keys from all databases.",
        flushall
    ),
    command!(
        "swapdb",
        3,
        WRITE | FAST,
        (0, 0, 0),
        "server",
        "Swaps two Redis databases.",
        swapdb
    ),
    command!(
        "object",
        -2,
        0,
        (0, 0, 0),
        "generic",
        "A container for object introspection commands.",
        object_help,
        OBJECT_SUBCOMMANDS
    ),
];

/// `signalModifiedKey` without counting a change (for the second key of
/// RENAME and MOVE, which Redis counts as one change).
fn signal_modified(ctx: &mut Ctx, db: usize, key: &[u8]) {
    touch_watched_key(ctx.node, Some(ctx.client), db, key);
}

/// `lookupKeyRead` in the client's database: lazy expiry, and the
/// keyspace hit/miss counters of INFO stats (write lookups do not count).
pub fn lookup_read<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a Value> {
    let db = ctx.db();
    lookup_read_in(ctx, db, key)
}

/// [`lookup_read`] in an explicit database.
pub fn lookup_read_in<'a>(ctx: &'a mut Ctx, db: usize, key: &[u8]) -> Option<&'a Value> {
    let now = ctx.now();
    let node = &mut *ctx.node;
    let value = node.ks.get(db, key, now);
    if value.is_some() {
        node.stats.keyspace_hits += 1;
    } else {
        node.stats.keyspace_misses += 1;
    }
    value
}

fn del(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now());
    let mut n = 0;
    for key in &args[1..] {
        ctx.node.ks.expire_if_needed(db, key, now);
        if ctx.node.ks.db_mut(db).remove(key).is_some() {
            ctx.modified(key);
            n += 1;
        }
    }
    ctx.client.out.int(n);
    Ok(())
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = args[1..]
        .iter()
        .filter(|k| lookup_read(ctx, k).is_some())
        .count();
    ctx.client.out.int(n as i64);
    Ok(())
}

fn type_cmd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = lookup_read(ctx, &args[1]).map_or("none", Value::type_name);
    ctx.client.out.simple(name);
    Ok(())
}

fn keys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let pattern = &args[1][..];
    let all = pattern == b"*";
    let (db, now) = (ctx.db(), ctx.now());
    let d = ctx.node.ks.db(db);
    let found: Vec<Vec<u8>> = d
        .iter()
        .filter(|(k, _)| {
            (all || crate::util::glob_match(pattern, k, false)) && !d.is_expired(k, now)
        })
        .map(|(k, _)| k.to_vec())
        .collect();
    ctx.client.out.array_len(found.len());
    for k in &found {
        ctx.client.out.bulk(k);
    }
    Ok(())
}

/// `parseScanCursorOrReply`: `strtoul` rules (optional sign, a negative
/// value wraps, the empty string is 0), no leading space, no overflow.
pub fn parse_scan_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::err("invalid cursor");
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if arg.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((c - b'0') as u64))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// One SCAN step over a database: up to `count` keys and the cursor to
/// continue from (0 when done). The cursor walks each shard of the database
/// from its end towards its start (see [`Db::scan`]); that gives Redis's
/// guarantee: a full iteration returns every key present from its start to
/// its end at least once; keys added or deleted meanwhile may or may not be
/// returned, and a key may be returned twice.
pub fn scan_db(db: &Db, cursor: u64, count: usize) -> (Vec<Vec<u8>>, u64) {
    db.scan(cursor, count)
}

fn scan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_scan_cursor(&args[1])?;
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if is_opt(&args[i], "count") && has_value {
            let n = parse_int(&args[i + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            count = n as usize;
        } else if is_opt(&args[i], "match") && has_value {
            pattern = Some(&args[i + 1][..]).filter(|p| *p != b"*");
        } else if is_opt(&args[i], "type") && has_value {
            type_name = Some(&args[i + 1][..]);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let (db, now) = (ctx.db(), ctx.now());
    let (batch, next) = scan_db(ctx.node.ks.db(db), cursor, count);
    let mut found = Vec::with_capacity(batch.len());
    for key in batch {
        if pattern.is_some_and(|p| !crate::util::glob_match(p, &key, false)) {
            continue;
        }
        // Redis 7.0 order: the TYPE check looks the key up (deleting it if
        // expired, so its type is "none"), then expired keys are skipped. An
        // expired key thus matches `TYPE none` and is returned: Redis does so.
        if let Some(wanted) = type_name {
            let actual = lookup_read(ctx, &key).map_or("none", Value::type_name);
            if !wanted.eq_ignore_ascii_case(actual.as_bytes()) {
                continue;
            }
        }
        if ctx.node.ks.expire_if_needed(db, &key, now) {
            continue;
        }
        found.push(key);
    }
    ctx.client.out.array_len(2);
    ctx.client.out.bulk(next.to_string().as_bytes());
    ctx.client.out.array_len(found.len());
    for k in &found {
        ctx.client.out.bulk(k);
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now());
    // On a replica expired keys are not deleted: give up after 100 tries
    // when every key is volatile, as Redis does.
    let mut tries = 100;
    loop {
        let d = ctx.node.ks.db(db);
        if d.is_empty() {
            ctx.client.out.null_bulk();
            return Ok(());
        }
        let all_volatile = d.len() == d.expires_len();
        let i = ctx.node.rng.below(d.len() as u64) as usize;
        let key = d.key_at(i).expect("index below len").to_vec();
        if d.expire_of(&key).is_some() {
            tries -= 1;
            let give_up = all_volatile && ctx.node.ks.replica_mode && tries == 0;
            if !give_up && ctx.node.ks.expire_if_needed(db, &key, now) {
                continue;
            }
        }
        ctx.client.out.bulk(&key);
        return Ok(());
    }
}

fn rename_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let (db, now) = (ctx.db(), ctx.now());
    if !ctx.node.ks.exists(db, src, now) {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        if nx {
            ctx.client.out.int(0);
        } else {
            ctx.client.out.ok();
        }
        return Ok(());
    }
    if ctx.node.ks.exists(db, dst, now) {
        if nx {
            ctx.client.out.int(0);
            return Ok(());
        }
        ctx.node.ks.db_mut(db).remove(dst);
    }
    let d = ctx.node.ks.db_mut(db);
    let expire = d.expire_of(src);
    let value = d.remove(src).expect("source exists");
    d.insert(dst, value, false);
    if let Some(t) = expire {
        d.set_expire(dst, t);
    }
    ctx.modified(src);
    signal_modified(ctx, db, dst);
    if nx {
        ctx.client.out.int(1);
    } else {
        ctx.client.out.ok();
    }
    Ok(())
}

fn rename(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, true)
}

/// `getIntFromObjectOrReply`: a 32-bit integer, with `msg` (as `ERR msg`)
/// replacing both of Redis's default errors when given.
fn parse_i32(arg: &[u8], msg: Option<&str>) -> Result<i64, CmdError> {
    let custom = || msg.map(CmdError::err);
    let v = parse_int(arg).map_err(|e| custom().unwrap_or(e))?;
    if v < i32::MIN as i64 || v > i32::MAX as i64 {
        return Err(custom().unwrap_or_else(|| {
            CmdError::err("value is out of range, value must between -2147483648 and 2147483647")
        }));
    }
    Ok(v)
}

/// A database index argument: 32-bit, then in range (`selectDb`).
fn parse_db_index(ctx: &Ctx, arg: &[u8]) -> Result<usize, CmdError> {
    let v = parse_i32(arg, None)?;
    if v < 0 || v as usize >= ctx.node.ks.db_count() {
        return Err(CmdError::err("DB index is out of range"));
    }
    Ok(v as usize)
}

fn same_object() -> CmdError {
    CmdError::err("source and destination objects are the same")
}

fn copy(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let src_db = ctx.db();
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < args.len() {
        if is_opt(&args[j], "replace") {
            replace = true;
        } else if is_opt(&args[j], "db") && j + 1 < args.len() {
            dst_db = parse_db_index(ctx, &args[j + 1])?;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if src_db == dst_db && src == dst {
        return Err(same_object());
    }
    let now = ctx.now();
    let Some(value) = lookup_read_in(ctx, src_db, src).cloned() else {
        ctx.client.out.int(0);
        return Ok(());
    };
    let expire = ctx.node.ks.db(src_db).expire_of(src);
    if ctx.node.ks.exists(dst_db, dst, now) {
        if !replace {
            ctx.client.out.int(0);
            return Ok(());
        }
        ctx.node.ks.db_mut(dst_db).remove(dst);
    }
    let d = ctx.node.ks.db_mut(dst_db);
    d.insert(dst, value, false);
    if let Some(t) = expire {
        d.set_expire(dst, t);
    }
    ctx.modified_in(dst_db, dst);
    ctx.client.out.int(1);
    Ok(())
}

fn move_cmd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let src_db = ctx.db();
    let dst_db = parse_db_index(ctx, &args[2])?;
    if src_db == dst_db {
        return Err(same_object());
    }
    let now = ctx.now();
    if !ctx.node.ks.exists(src_db, key, now) || ctx.node.ks.exists(dst_db, key, now) {
        ctx.client.out.int(0);
        return Ok(());
    }
    let expire = ctx.node.ks.db(src_db).expire_of(key);
    let value = ctx.node.ks.db_mut(src_db).remove(key).expect("key exists");
    let d = ctx.node.ks.db_mut(dst_db);
    d.insert(key, value, false);
    if let Some(t) = expire {
        d.set_expire(key, t);
    }
    ctx.modified_in(src_db, key);
    signal_modified(ctx, dst_db, key);
    ctx.client.out.int(1);
    Ok(())
}

/// The `NX|XX|GT|LT` options of the EXPIRE family.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExpireFlags {
    /// Only if the key has no TTL.
    pub nx: bool,
    /// Only if the key has a TTL.
    pub xx: bool,
    /// Only if the new time is later than the current one.
    pub gt: bool,
    /// Only if the new time is earlier than the current one.
    pub lt: bool,
}

impl ExpireFlags {
    /// `parseExtendedExpireArgumentsOrReply`.
    pub fn parse(opts: &[Bytes]) -> Result<ExpireFlags, CmdError> {
        let mut f = ExpireFlags::default();
        for opt in opts {
            if is_opt(opt, "nx") {
                f.nx = true;
            } else if is_opt(opt, "xx") {
                f.xx = true;
            } else if is_opt(opt, "gt") {
                f.gt = true;
            } else if is_opt(opt, "lt") {
                f.lt = true;
            } else {
                // Redis prints the option as a C string: up to a NUL byte.
                let shown = opt.split(|&b| b == 0).next().unwrap_or_default();
                return Err(CmdError::err(format!(
                    "Unsupported option {}",
                    String::from_utf8_lossy(shown)
                )));
            }
        }
        if f.nx && (f.xx || f.gt || f.lt) {
            return Err(CmdError::err(
                "NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if f.gt && f.lt {
            return Err(CmdError::err(
                "GT and LT options at the same time are not compatible",
            ));
        }
        Ok(f)
    }

    /// Whether a key whose TTL is `current` (absolute ms) may get `when`.
    pub fn allows(self, current: Option<u64>, when: i64) -> bool {
        match current {
            None => !self.xx && !self.gt,
            Some(cur) => {
                let cur = cur as i64;
                !(self.nx || (self.gt && when <= cur) || (self.lt && when >= cur))
            }
        }
    }
}

/// `expireGenericCommand`: `basetime` is now for relative commands, 0 for
/// the `AT` ones. Propagated as `DEL` when the time is past, otherwise as
/// `PEXPIREAT key <ms>` (PEXPIREAT itself travels unchanged).
fn expire_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    relative: bool,
    seconds: bool,
    cmd: &str,
) -> CmdResult {
    let key = &args[1];
    let flags = ExpireFlags::parse(&args[3..])?;
    let mut when = parse_int(&args[2])?;
    let invalid = || CmdError::err(format!("invalid expire time in '{cmd}' command"));
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(invalid());
        }
        when *= 1000;
    }
    let basetime = if relative { ctx.now() as i64 } else { 0 };
    if when > i64::MAX - basetime {
        return Err(invalid());
    }
    when += basetime;
    let (db, now) = (ctx.db(), ctx.now());
    if !ctx.node.ks.exists(db, key, now) {
        ctx.client.out.int(0);
        return Ok(());
    }
    if !flags.allows(ctx.node.ks.db(db).expire_of(key), when) {
        ctx.client.out.int(0);
        return Ok(());
    }
    let replica = ctx.node.ks.replica_mode;
    let d = ctx.node.ks.db_mut(db);
    if when <= now as i64 && !replica {
        d.remove(key);
        ctx.rewrite_propagation(&[&b"DEL"[..], key]);
    } else {
        d.set_expire(key, when.max(0) as u64);
        if cmd != "pexpireat" {
            let when = when.to_string();
            ctx.rewrite_propagation(&[&b"PEXPIREAT"[..], key, when.as_bytes()]);
        }
    }
    ctx.modified(key);
    ctx.client.out.int(1);
    Ok(())
}

fn expire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, true, true, "expire")
}

fn pexpire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, true, false, "pexpire")
}

fn expireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, false, true, "expireat")
}

fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, false, false, "pexpireat")
}

/// `ttlGenericCommand`.
fn ttl_generic(ctx: &mut Ctx, key: &[u8], millis: bool, absolute: bool) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now());
    if lookup_read(ctx, key).is_none() {
        ctx.client.out.int(-2);
        return Ok(());
    }
    let Some(at) = ctx.node.ks.db(db).expire_of(key) else {
        ctx.client.out.int(-1);
        return Ok(());
    };
    let ms = if absolute {
        at as i64
    } else {
        (at as i64 - now as i64).max(0)
    };
    ctx.client
        .out
        .int(if millis { ms } else { (ms + 500) / 1000 });
    Ok(())
}

fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &args[1], false, false)
}

fn pttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &args[1], true, false)
}

fn expiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &args[1], false, true)
}

fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &args[1], true, true)
}

fn persist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let (db, now) = (ctx.db(), ctx.now());
    let removed = ctx.node.ks.exists(db, key, now) && ctx.node.ks.db_mut(db).persist(key);
    if removed {
        ctx.modified(key);
    }
    ctx.client.out.int(removed as i64);
    Ok(())
}

/// `getFlushCommandFlags`: nothing, `SYNC` or `ASYNC` (both flush at once here).
fn check_flush_args(args: &[Bytes]) -> CmdResult {
    match args.len() {
        1 => Ok(()),
        2 if is_opt(&args[1], "sync") || is_opt(&args[1], "async") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

/// Empty one database, invalidating WATCHes on its existing keys.
fn flush_db(ctx: &mut Ctx, db: usize) {
    touch_all_watched_in_db(ctx.node, ctx.client, db, None);
    let d = ctx.node.ks.db_mut(db);
    let removed = d.len() as u64;
    d.clear();
    // Redis propagates a flush even of an empty database.
    ctx.node.dirty += removed.max(1);
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    check_flush_args(args)?;
    let db = ctx.db();
    flush_db(ctx, db);
    ctx.client.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    check_flush_args(args)?;
    for db in 0..ctx.node.ks.db_count() {
        flush_db(ctx, db);
    }
    ctx.node.dirty += 1;
    ctx.client.out.ok();
    Ok(())
}

fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let a = parse_i32(&args[1], Some("invalid first DB index"))?;
    let b = parse_i32(&args[2], Some("invalid second DB index"))?;
    let n = ctx.node.ks.db_count() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(CmdError::err("DB index is out of range"));
    }
    let (a, b) = (a as usize, b as usize);
    if a != b {
        touch_all_watched_in_db(ctx.node, ctx.client, a, Some(b));
        touch_all_watched_in_db(ctx.node, ctx.client, b, Some(a));
        ctx.node.ks.swap(a, b);
        // Blocked clients stay with their database number: its new
        // contents may serve them.
        super::blocking::signal_ready_keys_in_db(ctx.node, a);
        super::blocking::signal_ready_keys_in_db(ctx.node, b);
    }
    ctx.node.dirty += 1;
    ctx.client.out.ok();
    Ok(())
}

/// `objectCommandLookupOrReply`: the value, or a null reply if missing.
fn object_lookup<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a Value> {
    lookup_read(ctx, key)
}

fn object_encoding(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match object_lookup(ctx, &args[2]).map(Value::encoding_name) {
        Some(name) => ctx.client.out.bulk(name.as_bytes()),
        None => ctx.client.out.null_bulk(),
    }
    Ok(())
}

/// Redis shares the integer objects 0..9999 (`OBJ_SHARED_INTEGERS`).
const SHARED_INTEGERS: i64 = 10_000;
/// The reference count Redis reports for a shared object (`INT_MAX`).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

fn object_refcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let refcount = object_lookup(ctx, &args[2]).map(|v| match v {
        Value::Str(s) if s.encoding == StrEncoding::Int => {
            let n = crate::util::parse_i64(&s.bytes).unwrap_or(-1);
            if (0..SHARED_INTEGERS).contains(&n) {
                SHARED_REFCOUNT
            } else {
                1
            }
        }
        _ => 1,
    });
    match refcount {
        Some(n) => ctx.client.out.int(n),
        None => ctx.client.out.null_bulk(),
    }
    Ok(())
}

fn object_idletime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match object_lookup(ctx, &args[2]) {
        Some(_) => ctx.client.out.int(0),
        None => ctx.client.out.null_bulk(),
    }
    Ok(())
}

fn object_freq(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if object_lookup(ctx, &args[2]).is_none() {
        ctx.client.out.null_bulk();
        return Ok(());
    }
    Err(CmdError::err("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."))
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn object_help(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.out.array_len(OBJECT_HELP.len());
    for line in OBJECT_HELP {
        ctx.client.out.simple(line);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Keyspace;

    fn full_scan(
        ks: &mut Keyspace,
        count: usize,
        mut between: impl FnMut(&mut Keyspace, usize),
    ) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            let (keys, next) = scan_db(ks.db(0), cursor, count);
            seen.extend(keys);
            between(ks, step);
            step += 1;
            if next == 0 {
                return seen;
            }
            cursor = next;
        }
    }

    #[test]
    fn scan_returns_every_key_once_without_changes() {
        let mut ks = Keyspace::new(1, 5);
        for i in 0..100 {
            ks.db_mut(0).insert(
                format!("k{i}").as_bytes(),
                Value::string(b"v".to_vec()),
                false,
            );
        }
        let mut seen = full_scan(&mut ks, 7, |_, _| {});
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 100);
    }

    #[test]
    fn scan_keeps_guarantee_under_deletes_and_inserts() {
        let mut ks = Keyspace::new(1, 5);
        for i in 0..200 {
            ks.db_mut(0).insert(
                format!("k{i}").as_bytes(),
                Value::string(b"v".to_vec()),
                false,
            );
        }
        // Between steps delete keys k0, k1, ... (some visited, some not)
        // and add new ones; keys 100..200 are never touched.
        let seen = full_scan(&mut ks, 5, |ks, step| {
            ks.db_mut(0).remove(format!("k{step}").as_bytes());
            ks.db_mut(0).insert(
                format!("new{step}").as_bytes(),
                Value::string(b"v".to_vec()),
                false,
            );
        });
        for i in 100..200 {
            assert!(seen.contains(&format!("k{i}").into_bytes()), "k{i} missed");
        }
    }

    #[test]
    fn scan_cursor_parsing() {
        assert_eq!(parse_scan_cursor(b"0"), Ok(0));
        assert_eq!(parse_scan_cursor(b""), Ok(0));
        assert_eq!(parse_scan_cursor(b"+7"), Ok(7));
        assert_eq!(parse_scan_cursor(b"-1"), Ok(u64::MAX));
        assert!(parse_scan_cursor(b"18446744073709551616").is_err());
        assert!(parse_scan_cursor(b" 1").is_err());
        assert!(parse_scan_cursor(b"1a").is_err());
        assert!(parse_scan_cursor(b"+").is_err());
    }

    #[test]
    fn expire_flags_rules() {
        let parse = |opts: &[&str]| {
            let v: Vec<Bytes> = opts.iter().map(|s| Bytes::from(s.to_string())).collect();
            ExpireFlags::parse(&v)
        };
        assert!(parse(&["nx", "xx"]).is_err());
        assert!(parse(&["gt", "lt"]).is_err());
        assert_eq!(
            parse(&["foo"]).unwrap_err().text(),
            "ERR Unsupported option foo"
        );
        let gt = parse(&["GT"]).expect("gt");
        assert!(!gt.allows(None, 10), "no TTL is infinite: GT fails");
        assert!(gt.allows(Some(5), 10));
        assert!(!gt.allows(Some(10), 10));
        let lt = parse(&["lt"]).expect("lt");
        assert!(lt.allows(None, 10), "no TTL is infinite: LT succeeds");
        assert!(!lt.allows(Some(5), 10));
        let nx = parse(&["nx"]).expect("nx");
        assert!(nx.allows(None, 1) && !nx.allows(Some(1), 1));
        let xx = parse(&["xx", "xx"]).expect("xx");
        assert!(!xx.allows(None, 1) && xx.allows(Some(1), 1));
    }
}
