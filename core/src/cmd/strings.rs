//! String commands (`t_string.c`): GET, SET and their relatives.
//!
//! SET's options follow Redis 7.0: `NX|XX`, `GET`, and one of
//! `EX|PX|EXAT|PXAT|KEEPTTL`; a non-positive or overflowing expire time is
//! `ERR invalid expire time in 'set' command`.

use super::{flags::*, is_opt, parse_int, CmdError, CmdResult, Ctx};
use crate::command;
use crate::resp::ReplyWriter;
use crate::value::{StrValue, Value};
use bytes::Bytes;

/// The string commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!("get", 2, READONLY | FAST, (1, 1, 1), "string", "Returns the string value of a key.", get),
    command!("set", -3, WRITE | DENYOOM, (1, 1, 1), "string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", set),
];

/// Read a string value: `Ok(None)` if missing, WRONGTYPE for other types.
pub fn read_string<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a [u8]>, CmdError> {
    let (db, now) = (ctx.db(), ctx.now());
    match ctx.node.ks.get(db, key, now) {
        None => {
            ctx.node.stats.keyspace_misses += 1;
            Ok(None)
        }
        Some(Value::Str(s)) => {
            ctx.node.stats.keyspace_hits += 1;
            Ok(Some(&s.bytes))
        }
        Some(_) => {
            ctx.node.stats.keyspace_hits += 1;
            Err(CmdError::WrongType)
        }
    }
}

fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    match read_string(ctx, key)? {
        Some(v) => {
            // Copy out of the borrow before writing the reply.
            let v = v.to_vec();
            ctx.client.out.bulk(&v);
        }
        None => ctx.client.out.null_bulk(),
    }
    Ok(())
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

/// Turn `EX/PX/EXAT/PXAT <n>` into an absolute time, with Redis's checks.
pub fn expire_time(
    unit_seconds: bool,
    absolute: bool,
    arg: &[u8],
    now: u64,
    cmd: &str,
) -> Result<u64, CmdError> {
    let n = parse_int(arg)?;
    let invalid = || CmdError::err(format!("invalid expire time in '{cmd}' command"));
    if n <= 0 {
        return Err(invalid());
    }
    let ms = if unit_seconds {
        n.checked_mul(1000).ok_or_else(invalid)?
    } else {
        n
    };
    if absolute {
        Ok(ms as u64)
    } else {
        ms.checked_add(now as i64)
            .map(|v| v as u64)
            .ok_or_else(invalid)
    }
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (key, value) = (&args[1], &args[2]);
    let mut nx = false;
    let mut xx = false;
    let mut get = false;
    let mut expiry = Expiry::None;
    let mut expiry_given = false;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        let next = args.get(i + 1);
        if is_opt(a, "nx") && !xx {
            nx = true;
        } else if is_opt(a, "xx") && !nx {
            xx = true;
        } else if is_opt(a, "get") {
            get = true;
        } else if is_opt(a, "keepttl") && !expiry_given {
            expiry = Expiry::Keep;
            expiry_given = true;
        } else if let Some(n) = next.filter(|_| {
            (is_opt(a, "ex") || is_opt(a, "px") || is_opt(a, "exat") || is_opt(a, "pxat"))
                && !expiry_given
        }) {
            let secs = is_opt(a, "ex") || is_opt(a, "exat");
            let abs = is_opt(a, "exat") || is_opt(a, "pxat");
            expiry = Expiry::At(expire_time(secs, abs, n, ctx.now(), "set")?);
            expiry_given = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let (db, now) = (ctx.db(), ctx.now());
    let old = if get {
        match ctx.node.ks.get(db, key, now) {
            None => None,
            Some(Value::Str(s)) => Some(s.bytes.clone()),
            Some(_) => return Err(CmdError::WrongType),
        }
    } else {
        None
    };
    let exists = ctx.node.ks.exists(db, key, now);
    if (nx && exists) || (xx && !exists) {
        if get {
            match old {
                Some(v) => ctx.client.out.bulk(&v),
                None => ctx.client.out.null_bulk(),
            }
        } else {
            ctx.client.out.null_bulk();
        }
        return Ok(());
    }
    set_string(ctx, key, StrValue::new(value.to_vec()), expiry);
    if get {
        match old {
            Some(v) => ctx.client.out.bulk(&v),
            None => ctx.client.out.null_bulk(),
        }
    } else {
        ctx.client.out.ok();
    }
    Ok(())
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
