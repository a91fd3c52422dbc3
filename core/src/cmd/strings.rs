//! String commands (`t_string.c` of Redis 7.0).
//!
//! Rules implemented here, all checked against redis-server 7.0.15:
//! - SET's options (`parseExtendedStringArgumentsOrReply`): `NX|XX`, `GET`,
//!   and one of `EX|PX|EXAT|PXAT|KEEPTTL`; the same option may repeat (the
//!   last value wins), conflicting ones are `ERR syntax error`. GETEX takes
//!   `EX|PX|EXAT|PXAT|PERSIST`. The expire value is checked only after all
//!   options parsed (`getExpireMillisecondsOrReply`): not an integer is
//!   `ERR value is not an integer or out of range`; non-positive, or
//!   overflowing once converted to absolute ms, is
//!   `ERR invalid expire time in '<cmd>' command`.
//! - A string written whole is stored as `tryObjectEncoding` would (`int`,
//!   `embstr`, `raw`); APPEND and SETRANGE on an existing key make it `raw`,
//!   SETRANGE creates `raw` strings, INCR* produce `int`, INCRBYFLOAT
//!   `embstr`/`raw`. Overwriting with SET/GETSET/MSET clears the TTL;
//!   APPEND, SETRANGE, INCR* and INCRBYFLOAT keep it.
//! - Strings cannot grow beyond `proto-max-bulk-len`
//!   (`ERR string exceeds maximum allowed size (proto-max-bulk-len)`).
//! - INCRBYFLOAT uses the exact x87 `long double` emulation of
//!   [`crate::float`].

use super::{flags::*, is_opt, parse_int, CmdError, CmdResult, Ctx};
use crate::command;
use crate::float::{self, parse_long_double, LongDouble};
use crate::resp::ReplyWriter;
use crate::value::{StrValue, Value};
use bytes::Bytes;

/// The string commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!("get", 2, READONLY | FAST, (1, 1, 1), "string", "Returns the string value of a key.", get),
    command!("set", -3, WRITE | DENYOOM, (1, 1, 1), "string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", set),
    command!("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "Set the string value of a key only when the key doesn't exist.", setnx),
    command!("setex", 4, WRITE | DENYOOM, (1, 1, 1), "string", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", setex),
    command!("psetex", 4, WRITE | DENYOOM, (1, 1, 1), "string", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", psetex),
    command!("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "Returns the previous string value of a key after setting it to a new value.", getset),
    command!("getdel", 2, WRITE | FAST, (1, 1, 1), "string", "Returns the string value of a key after deleting the key.", getdel),
    command!("getex", -2, WRITE | FAST, (1, 1, 1), "string", "Returns the string value of a key after setting its expiration time.", getex),
    command!("mget", -2, READONLY | FAST, (1, -1, 1), "string", "Atomically returns the string values of one or more keys.", mget),
    command!("mset", -3, WRITE | DENYOOM, (1, -1, 2), "string", "Atomically creates or modifies the string values of one or more keys.", mset),
    command!("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), "string", "Atomically modifies the string values of one or more keys only when all keys don't exist.", msetnx),
    command!("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "Appends a string to the value of a key. Creates the key if it doesn't exist.", append),
    command!("strlen", 2, READONLY | FAST, (1, 1, 1), "string", "Returns the length of a string value.", strlen),
    command!("getrange", 4, READONLY, (1, 1, 1), "string", "Returns a substring of the string stored at a key.", getrange),
    command!("substr", 4, READONLY, (1, 1, 1), "string", "Returns a substring from a string value.", getrange),
    command!("setrange", 4, WRITE | DENYOOM, (1, 1, 1), "string", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", setrange),
    command!("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", incr),
    command!("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", decr),
    command!("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", incrby),
    command!("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", decrby),
    command!("incrbyfloat", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", incrbyfloat),
];

/// `ERR string exceeds maximum allowed size (proto-max-bulk-len)`.
pub fn string_too_long() -> CmdError {
    CmdError::err("string exceeds maximum allowed size (proto-max-bulk-len)")
}

/// `checkStringLength`: whether a string of `size + append` bytes is allowed.
fn check_string_length(ctx: &Ctx, size: u64, append: u64) -> Result<(), CmdError> {
    match size.checked_add(append) {
        Some(total) if total <= ctx.node.config.proto_max_bulk_len => Ok(()),
        _ => Err(string_too_long()),
    }
}

/// Read a string value: `Ok(None)` if missing, WRONGTYPE for other types
/// (`lookupKeyRead` + `checkType`, counting keyspace hits and misses).
pub fn read_string<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a [u8]>, CmdError> {
    match super::keys::lookup_read(ctx, key) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(&s.bytes)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// `lookupKeyWrite` + `checkType` for a string: an owned copy of the value.
fn write_lookup_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<StrValue>, CmdError> {
    let (db, now) = (ctx.db(), ctx.now());
    match ctx.node.ks.get(db, key, now) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// `getGenericCommand`: reply with the string (or null); the value read.
fn reply_get(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    let value = read_string(ctx, key)?.map(<[u8]>::to_vec);
    match &value {
        Some(v) => ctx.client.out.bulk(v),
        None => ctx.client.out.null_bulk(),
    }
    Ok(value)
}

fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    reply_get(ctx, &args[1]).map(|_| ())
}

/// Which expiry a SET-like command asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No expire option: the TTL is cleared.
    None,
    /// KEEPTTL: keep the current TTL.
    Keep,
    /// An absolute time in Unix ms.
    At(u64),
}

/// The unit and base of an expire argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireUnit {
    /// EX: seconds from now.
    Ex,
    /// PX: milliseconds from now.
    Px,
    /// EXAT: Unix seconds.
    ExAt,
    /// PXAT: Unix milliseconds.
    PxAt,
}

impl ExpireUnit {
    fn from_option(opt: &[u8]) -> Option<ExpireUnit> {
        [
            ("ex", ExpireUnit::Ex),
            ("px", ExpireUnit::Px),
            ("exat", ExpireUnit::ExAt),
            ("pxat", ExpireUnit::PxAt),
        ]
        .into_iter()
        .find(|(name, _)| is_opt(opt, name))
        .map(|(_, unit)| unit)
    }

    fn seconds(self) -> bool {
        matches!(self, ExpireUnit::Ex | ExpireUnit::ExAt)
    }

    fn absolute(self) -> bool {
        matches!(self, ExpireUnit::ExAt | ExpireUnit::PxAt)
    }
}

/// `getExpireMillisecondsOrReply`: the absolute expire time in Unix ms.
pub fn expire_millis(unit: ExpireUnit, arg: &[u8], now: u64, cmd: &str) -> Result<u64, CmdError> {
    let n = parse_int(arg)?;
    let invalid = || CmdError::err(format!("invalid expire time in '{cmd}' command"));
    if n <= 0 || (unit.seconds() && n > i64::MAX / 1000) {
        return Err(invalid());
    }
    let mut ms = if unit.seconds() { n * 1000 } else { n };
    if !unit.absolute() {
        ms = ms.wrapping_add(now as i64);
    }
    if ms <= 0 {
        return Err(invalid());
    }
    Ok(ms as u64)
}

/// The options of SET (`COMMAND_SET`) or GETEX (`COMMAND_GET`).
#[derive(Debug, Default)]
struct ExtendedOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    expire: Option<(ExpireUnit, &'a [u8])>,
}

/// `parseExtendedStringArgumentsOrReply`, options starting at `args[from]`.
fn parse_extended(
    args: &[Bytes],
    from: usize,
    is_set: bool,
) -> Result<ExtendedOptions<'_>, CmdError> {
    let mut o = ExtendedOptions::default();
    let mut j = from;
    while j < args.len() {
        let opt = &args[j][..];
        let next = args.get(j + 1);
        let unit = ExpireUnit::from_option(opt);
        if is_set && is_opt(opt, "nx") && !o.xx {
            o.nx = true;
        } else if is_set && is_opt(opt, "xx") && !o.nx {
            o.xx = true;
        } else if is_set && is_opt(opt, "get") {
            o.get = true;
        } else if is_set && is_opt(opt, "keepttl") && o.expire.is_none() {
            o.keep_ttl = true;
        } else if !is_set && is_opt(opt, "persist") && o.expire.is_none() {
            o.persist = true;
        } else if let (Some(unit), Some(next)) = (unit, next) {
            // The same unit may repeat; a different one conflicts.
            if o.keep_ttl || o.persist || o.expire.is_some_and(|(u, _)| u != unit) {
                return Err(CmdError::Syntax);
            }
            o.expire = Some((unit, &next[..]));
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// `setGenericCommand`: SET, SETNX, SETEX, PSETEX. `replies` are the
/// (success, aborted) replies when they are not `+OK` / null.
///
/// Propagation (7.0): a relative or second-based expiry travels as
/// `SET key value PXAT <ms>`; without an expiry, the `GET` options are
/// dropped from the propagated form.
fn set_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    opts: &ExtendedOptions,
    key: &[u8],
    value: &[u8],
    cmd: &str,
    replies: Option<(i64, i64)>,
) -> CmdResult {
    let expire_at = match opts.expire {
        Some((unit, arg)) => Some(expire_millis(unit, arg, ctx.now(), cmd)?),
        None => None,
    };
    if opts.get {
        reply_get(ctx, key)?;
    }
    let (db, now) = (ctx.db(), ctx.now());
    let found = ctx.node.ks.exists(db, key, now);
    if (opts.nx && found) || (opts.xx && !found) {
        if !opts.get {
            match replies {
                Some((_, aborted)) => ctx.client.out.int(aborted),
                None => ctx.client.out.null_bulk(),
            }
        }
        return Ok(());
    }
    let expiry = match expire_at {
        Some(t) => Expiry::At(t),
        None if opts.keep_ttl => Expiry::Keep,
        None => Expiry::None,
    };
    set_string(ctx, key, StrValue::new(value.to_vec()), expiry);
    match (opts.expire, expire_at) {
        (Some((unit, _)), Some(at)) if unit != ExpireUnit::PxAt => {
            let at = at.to_string();
            ctx.rewrite_propagation(&[&b"SET"[..], key, value, b"PXAT", at.as_bytes()]);
        }
        (None, _) if opts.get => {
            let kept: Vec<&[u8]> = args
                .iter()
                .enumerate()
                .filter(|(i, a)| *i < 3 || !is_opt(a, "get"))
                .map(|(_, a)| &a[..])
                .collect();
            ctx.rewrite_propagation(&kept);
        }
        _ => {}
    }
    if !opts.get {
        match replies {
            Some((ok, _)) => ctx.client.out.int(ok),
            None => ctx.client.out.ok(),
        }
    }
    Ok(())
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let opts = parse_extended(args, 3, true)?;
    set_generic(ctx, args, &opts, &args[1], &args[2], "set", None)
}

fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let opts = ExtendedOptions {
        nx: true,
        ..Default::default()
    };
    set_generic(ctx, args, &opts, &args[1], &args[2], "setnx", Some((1, 0)))
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let opts = ExtendedOptions {
        expire: Some((ExpireUnit::Ex, &args[2][..])),
        ..Default::default()
    };
    set_generic(ctx, args, &opts, &args[1], &args[3], "setex", None)
}

fn psetex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let opts = ExtendedOptions {
        expire: Some((ExpireUnit::Px, &args[2][..])),
        ..Default::default()
    };
    set_generic(ctx, args, &opts, &args[1], &args[3], "psetex", None)
}

/// Store a string at `key` in the client's database with the given expiry,
/// and record the change.
pub fn set_string(ctx: &mut Ctx, key: &[u8], value: StrValue, expiry: Expiry) {
    let db = ctx.db();
    let d = ctx.node.ks.db_mut(db);
    d.insert(key, Value::Str(value), expiry == Expiry::Keep);
    if let Expiry::At(t) = expiry {
        d.set_expire(key, t);
    }
    ctx.modified(key);
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    reply_get(ctx, &args[1])?;
    set_string(ctx, &args[1], StrValue::new(args[2].to_vec()), Expiry::None);
    Ok(())
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if reply_get(ctx, key)?.is_some() {
        let db = ctx.db();
        ctx.node.ks.db_mut(db).remove(key);
        ctx.modified(key);
        ctx.rewrite_propagation(&[&b"DEL"[..], key]);
    }
    Ok(())
}

/// GETEX; propagated as `DEL` (absolute time already past), `PEXPIREAT`,
/// or `PERSIST`.
fn getex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let opts = parse_extended(args, 2, false)?;
    let key = &args[1];
    let Some(value) = read_string(ctx, key)?.map(<[u8]>::to_vec) else {
        ctx.client.out.null_bulk();
        return Ok(());
    };
    let expire_at = match opts.expire {
        Some((unit, arg)) => Some((unit, expire_millis(unit, arg, ctx.now(), "getex")?)),
        None => None,
    };
    ctx.client.out.bulk(&value);
    let (db, now) = (ctx.db(), ctx.now());
    // `checkAlreadyExpired`: a replica never deletes by time itself.
    let replica = ctx.node.ks.replica_mode;
    match expire_at {
        Some((unit, at)) if unit.absolute() && at <= now && !replica => {
            ctx.node.ks.db_mut(db).remove(key);
            ctx.modified(key);
            ctx.rewrite_propagation(&[&b"DEL"[..], key]);
        }
        Some((_, at)) => {
            ctx.node.ks.db_mut(db).set_expire(key, at);
            ctx.modified(key);
            let at = at.to_string();
            ctx.rewrite_propagation(&[&b"PEXPIREAT"[..], key, at.as_bytes()]);
        }
        None if opts.persist && ctx.node.ks.db_mut(db).persist(key) => {
            ctx.modified(key);
            ctx.rewrite_propagation(&[&b"PERSIST"[..], key]);
        }
        None => {}
    }
    Ok(())
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.client.out.array_len(args.len() - 1);
    for key in &args[1..] {
        match read_string(ctx, key) {
            Ok(Some(v)) => {
                let v = v.to_vec();
                ctx.client.out.bulk(&v);
            }
            _ => ctx.client.out.null_bulk(),
        }
    }
    Ok(())
}

fn mset_pairs(ctx: &mut Ctx, args: &[Bytes], cmd: &str) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::Arity(cmd.into()));
    }
    for pair in args[1..].chunks(2) {
        set_string(ctx, &pair[0], StrValue::new(pair[1].to_vec()), Expiry::None);
    }
    Ok(())
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    mset_pairs(ctx, args, "mset")?;
    ctx.client.out.ok();
    Ok(())
}

fn msetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::Arity("msetnx".into()));
    }
    let (db, now) = (ctx.db(), ctx.now());
    let any_exists = args[1..]
        .iter()
        .step_by(2)
        .any(|k| ctx.node.ks.exists(db, k, now));
    if any_exists {
        ctx.client.out.int(0);
        return Ok(());
    }
    mset_pairs(ctx, args, "msetnx")?;
    ctx.client.out.int(1);
    Ok(())
}

fn append(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (key, tail) = (&args[1], &args[2]);
    let total = match write_lookup_string(ctx, key)? {
        None => {
            set_string(ctx, key, StrValue::new(tail.to_vec()), Expiry::None);
            tail.len()
        }
        Some(old) => {
            check_string_length(ctx, old.bytes.len() as u64, tail.len() as u64)?;
            let mut bytes = old.bytes;
            bytes.extend_from_slice(tail);
            let len = bytes.len();
            set_string(ctx, key, StrValue::raw(bytes), Expiry::Keep);
            len
        }
    };
    ctx.client.out.int(total as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = read_string(ctx, &args[1])?.map_or(0, <[u8]>::len);
    ctx.client.out.int(n as i64);
    Ok(())
}

fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = parse_int(&args[2])?;
    let end = parse_int(&args[3])?;
    let Some(s) = read_string(ctx, &args[1])? else {
        ctx.client.out.bulk(b"");
        return Ok(());
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        ctx.client.out.bulk(b"");
        return Ok(());
    }
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    if start > end || len == 0 {
        ctx.client.out.bulk(b"");
    } else {
        let part = s[start as usize..=end as usize].to_vec();
        ctx.client.out.bulk(&part);
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (key, patch) = (&args[1], &args[3]);
    let offset = parse_int(&args[2])?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let offset = offset as u64;
    let mut bytes = match write_lookup_string(ctx, key)? {
        None if patch.is_empty() => {
            ctx.client.out.int(0);
            return Ok(());
        }
        None => Vec::new(),
        Some(old) if patch.is_empty() => {
            ctx.client.out.int(old.bytes.len() as i64);
            return Ok(());
        }
        Some(old) => old.bytes,
    };
    check_string_length(ctx, offset, patch.len() as u64)?;
    let offset = offset as usize;
    let end = offset + patch.len();
    if bytes.len() < end {
        bytes.resize(end, 0);
    }
    bytes[offset..end].copy_from_slice(patch);
    let len = bytes.len();
    set_string(ctx, key, StrValue::raw(bytes), Expiry::Keep);
    ctx.client.out.int(len as i64);
    Ok(())
}

/// `incrDecrCommand`: add `incr` to the integer at `args[1]`.
fn incr_decr(ctx: &mut Ctx, key: &[u8], incr: i64) -> CmdResult {
    let (db, now) = (ctx.db(), ctx.now());
    let new = match ctx.node.ks.get_mut(db, key, now) {
        // In place: the value's buffer is reused and its TTL stays.
        Some(Value::Str(s)) => {
            let old = crate::util::parse_i64(&s.bytes).ok_or(CmdError::NotInteger)?;
            let new = old
                .checked_add(incr)
                .ok_or_else(|| CmdError::err("increment or decrement would overflow"))?;
            s.bytes.clear();
            crate::resp::push_int(&mut s.bytes, new);
            s.encoding = crate::value::StrEncoding::Int;
            ctx.modified(key);
            new
        }
        Some(_) => return Err(CmdError::WrongType),
        None => {
            set_string(ctx, key, StrValue::from_i64(incr), Expiry::Keep);
            incr
        }
    };
    ctx.client.out.int(new);
    Ok(())
}

fn incr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    incr_decr(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    incr_decr(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let incr = parse_int(&args[2])?;
    incr_decr(ctx, &args[1], incr)
}

fn decrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let decr = parse_int(&args[2])?;
    if decr == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_decr(ctx, &args[1], -decr)
}

fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let current = match write_lookup_string(ctx, key)? {
        None => LongDouble::ZERO,
        Some(s) => parse_long_double(&s.bytes).ok_or(CmdError::NotFloat)?,
    };
    let incr = parse_long_double(&args[2]).ok_or(CmdError::NotFloat)?;
    let Some(text) = float::incr_by_float(current, incr) else {
        return Err(CmdError::err("increment would produce NaN or Infinity"));
    };
    ctx.client.out.bulk(&text);
    // Replicas get the result, never the float arithmetic.
    ctx.rewrite_propagation(&[&b"SET"[..], key, &text, b"KEEPTTL"]);
    set_string(ctx, key, StrValue::plain(text), Expiry::Keep);
    Ok(())
}
