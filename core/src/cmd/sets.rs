//! Set commands (`t_set.c`), with Redis 7.0's checks, texts and shapes:
//! SPOP/SRANDMEMBER counts (`value is out of range, must be positive`, the
//! HRANDFIELD-style range for SRANDMEMBER), SMOVE's order of checks (a
//! missing source answers 0 before the destination's type is checked),
//! SINTER & co. check every key's type, SINTERCARD's `numkeys`/`LIMIT`
//! rules, and the `*STORE` forms replace the destination (dropping its TTL)
//! or delete it when the result is empty. Results are built as Redis builds
//! them (an intset until a non-integer arrives), so encodings and the
//! sorted order of intsets match.

use super::collections::{
    finish_removal, optional_count, parse_cursor, remove_if_empty, scan_reply, set, set_mut,
    set_or_create, store_or_delete, ScanOpts,
};
use super::hashes::{parse_rand_count, random_positions};
use super::{flags::*, is_opt, CmdError, CmdResult, Ctx};
use crate::command;
use crate::resp::ReplyWriter;
use crate::value::{Set, Value};
use bytes::Bytes;

/// The set commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "set", "Adds one or more members to a set. Creates the key if it doesn't exist.", sadd),
    command!("srem", -3, WRITE | FAST, (1, 1, 1), "set", "Removes one or more members from a set. Deletes the set if the last member was removed.", srem),
    command!("smembers", 2, READONLY, (1, 1, 1), "set", "Returns all members of a set.", smembers),
    command!("sismember", 3, READONLY | FAST, (1, 1, 1), "set", "Determines whether a member belongs to a set.", sismember),
    command!("smismember", -3, READONLY | FAST, (1, 1, 1), "set", "Determines whether multiple members belong to a set.", smismember),
    command!("scard", 2, READONLY | FAST, (1, 1, 1), "set", "Returns the number of members in a set.", scard),
    command!("spop", -2, WRITE | FAST | RANDOM, (1, 1, 1), "set", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", spop),
    command!("srandmember", -2, READONLY | RANDOM, (1, 1, 1), "set", "Get one or multiple random members from a set", srandmember),
    command!("smove", 4, WRITE | FAST, (1, 2, 1), "set", "Moves a member from one set to another.", smove),
    command!("sinter", -2, READONLY, (1, -1, 1), "set", "Returns the intersect of multiple sets.", sinter),
    command!("sintercard", -3, READONLY, (0, 0, 0), "set", "Returns the number of members of the intersect of multiple sets.", sintercard),
    command!("sunion", -2, READONLY, (1, -1, 1), "set", "Returns the union of multiple sets.", sunion),
    command!("sdiff", -2, READONLY, (1, -1, 1), "set", "Returns the difference of multiple sets.", sdiff),
    command!("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), "set", "Stores the intersect of multiple sets in a key.", sinterstore),
    command!("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), "set", "Stores the union of multiple sets in a key.", sunionstore),
    command!("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), "set", "Stores the difference of multiple sets in a key.", sdiffstore),
    command!("sscan", -3, READONLY | RANDOM, (1, 1, 1), "set", "Iterates over members of a set.", sscan),
];

fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (db, key) = (ctx.db(), &args[1]);
    let limits = ctx.node.config.encoding.clone();
    let s = set_or_create(ctx.node, db, key, Set::new)?;
    let mut added = 0;
    for m in &args[2..] {
        if s.insert(m.to_vec()) {
            added += 1;
        }
    }
    s.update_encoding(&limits);
    if added > 0 {
        ctx.modified(key);
    }
    ctx.client.out.int(added);
    Ok(())
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (db, key) = (ctx.db(), &args[1]);
    let Some(s) = set_mut(ctx.node, db, key)? else {
        ctx.client.out.int(0);
        return Ok(());
    };
    let mut n = 0;
    for m in &args[2..] {
        if s.remove(m) {
            n += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    finish_removal(ctx, key, n);
    Ok(())
}

fn reply_members<'a>(out: &mut Vec<u8>, len: usize, items: impl Iterator<Item = &'a [u8]>) {
    out.array_len(len);
    for m in items {
        out.bulk(m);
    }
}

fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let out = &mut ctx.client.out;
    match set(ctx.node, ctx.client.db, &args[1])? {
        Some(s) => reply_members(out, s.len(), s.iter()),
        None => out.array_len(0),
    }
    Ok(())
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let e = set(ctx.node, ctx.client.db, &args[1])?.is_some_and(|s| s.contains(&args[2]));
    ctx.client.out.int(e as i64);
    Ok(())
}

fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let s = set(ctx.node, ctx.client.db, &args[1])?;
    let out = &mut ctx.client.out;
    out.array_len(args.len() - 2);
    for m in &args[2..] {
        out.int(s.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = set(ctx.node, ctx.client.db, &args[1])?.map_or(0, |s| s.len());
    ctx.client.out.int(n as i64);
    Ok(())
}

fn spop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = optional_count(args.get(2))?;
    let (db, key) = (ctx.db(), &args[1]);
    let Some(len) = set_mut(ctx.node, db, key)?.map(|s| s.len()) else {
        match count {
            Some(_) => ctx.client.out.array_len(0),
            None => ctx.client.out.null_bulk(),
        }
        return Ok(());
    };
    let picks = match count {
        None => vec![ctx.node.rng.below(len as u64) as usize],
        Some(0) => {
            ctx.client.out.array_len(0);
            return Ok(());
        }
        Some(n) => random_positions(&mut ctx.node.rng, len, n as i64),
    };
    let Ok(Some(s)) = set_mut(ctx.node, db, key) else {
        unreachable!("looked up just before")
    };
    // Remove from the highest position down so earlier positions stay valid.
    let mut popped: Vec<Vec<u8>> = Vec::with_capacity(picks.len());
    for &i in picks.iter().rev() {
        popped.extend(s.remove_index(i));
    }
    popped.reverse();
    // Replicated as what it removed (`SREM key m...`), or `DEL key` when
    // it took everything: a replica must not draw its own random members.
    let form = if s.is_empty() && count.is_some() {
        vec![b"DEL".to_vec(), key.to_vec()]
    } else {
        let mut f = vec![b"SREM".to_vec(), key.to_vec()];
        f.extend(popped.iter().cloned());
        f
    };
    ctx.node.repl.propagation.rewrite(form);
    remove_if_empty(ctx.node, db, key);
    ctx.modified(key);
    let out = &mut ctx.client.out;
    if count.is_none() {
        out.bulk(&popped[0]);
    } else {
        reply_members(out, popped.len(), popped.iter().map(|m| m.as_slice()));
    }
    Ok(())
}

fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let db = ctx.db();
    if args.len() == 3 {
        let (count, _) = parse_rand_count(args, "")?;
        let Some(len) = set(ctx.node, db, &args[1])?.map(|s| s.len()) else {
            ctx.client.out.array_len(0);
            return Ok(());
        };
        let picks = random_positions(&mut ctx.node.rng, len, count);
        let s = peek_set(ctx.node, db, &args[1]);
        reply_members(
            &mut ctx.client.out,
            picks.len(),
            picks.iter().map(|&i| s.get_index(i).expect("in range")),
        );
        return Ok(());
    }
    let Some(len) = set(ctx.node, db, &args[1])?.map(|s| s.len()) else {
        ctx.client.out.null_bulk();
        return Ok(());
    };
    let i = ctx.node.rng.below(len as u64) as usize;
    let m = peek_set(ctx.node, db, &args[1])
        .get_index(i)
        .expect("in range");
    ctx.client.out.bulk(m);
    Ok(())
}

/// A set known to exist (looked up just before).
fn peek_set<'a>(node: &'a crate::node::Node, db: usize, key: &[u8]) -> &'a Set {
    match node.ks.db(db).peek(key) {
        Some(Value::Set(s)) => s,
        _ => unreachable!("looked up just before"),
    }
}

fn smove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (db, src, dst, m) = (ctx.db(), &args[1], &args[2], &args[3]);
    let limits = ctx.node.config.encoding.clone();
    let src_is_set = match set_mut(ctx.node, db, src) {
        Ok(None) => {
            ctx.client.out.int(0);
            return Ok(());
        }
        Ok(Some(_)) => true,
        Err(e) => return Err(e),
    };
    debug_assert!(src_is_set);
    set_mut(ctx.node, db, dst)?;
    if src == dst {
        let e = set(ctx.node, db, src)?.is_some_and(|s| s.contains(m));
        ctx.client.out.int(e as i64);
        return Ok(());
    }
    let Ok(Some(s)) = set_mut(ctx.node, db, src) else {
        unreachable!("checked above")
    };
    if !s.remove(m) {
        ctx.client.out.int(0);
        return Ok(());
    }
    remove_if_empty(ctx.node, db, src);
    ctx.modified(src);
    let d = set_or_create(ctx.node, db, dst, Set::new)?;
    if d.insert(m.to_vec()) {
        d.update_encoding(&limits);
    }
    ctx.modified(dst);
    ctx.client.out.int(1);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Compute an intersection, union or difference of the sets at `keys`
/// (missing keys are empty; any other type is WRONGTYPE), built as Redis
/// builds its result set. `limit` stops an intersection early (0 = none).
fn combine(ctx: &mut Ctx, keys: &[Bytes], op: Op, limit: usize) -> Result<Set, CmdError> {
    let db = ctx.db();
    let mut sets: Vec<Option<&Set>> = Vec::with_capacity(keys.len());
    for k in keys {
        set(ctx.node, db, k)?;
    }
    // A replica running its master's stream sees no key as expired (the
    // master's DEL decides), or its result would differ from the master's.
    let ks = &ctx.node.ks;
    let expiry_applies = !(ks.replica_mode && ks.applying_master);
    for k in keys {
        sets.push(match ks.db(db).peek(k) {
            Some(Value::Set(s)) if !(expiry_applies && ks.db(db).is_expired(k, ctx.node.now)) => {
                Some(s)
            }
            _ => None,
        });
    }
    let limits = &ctx.node.config.encoding;
    let mut out = Set::new();
    match op {
        Op::Inter => {
            if sets.iter().any(|s| s.is_none()) {
                return Ok(out);
            }
            let mut sets: Vec<&Set> = sets.into_iter().flatten().collect();
            crate::util::sort_by_key(&mut sets, |s| s.len());
            for m in sets[0].iter() {
                if sets[1..].iter().all(|s| s.contains(m)) {
                    out.insert(m.to_vec());
                    if limit != 0 && out.len() >= limit {
                        break;
                    }
                }
            }
        }
        Op::Union => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    out.insert(m.to_vec());
                }
            }
        }
        Op::Diff => {
            if let Some(first) = sets[0] {
                for m in first.iter() {
                    if !sets[1..].iter().flatten().any(|s| s.contains(m)) {
                        out.insert(m.to_vec());
                    }
                }
            }
        }
    }
    out.update_encoding(limits);
    Ok(out)
}

fn combine_reply(ctx: &mut Ctx, args: &[Bytes], op: Op) -> CmdResult {
    let s = combine(ctx, &args[1..], op, 0)?;
    reply_members(&mut ctx.client.out, s.len(), s.iter());
    Ok(())
}

fn combine_store(ctx: &mut Ctx, args: &[Bytes], op: Op) -> CmdResult {
    let s = combine(ctx, &args[2..], op, 0)?;
    let dst = &args[1];
    let n = s.len();
    store_or_delete(ctx, dst, s.into(), n);
    Ok(())
}

fn sinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    combine_reply(ctx, args, Op::Inter)
}
fn sunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    combine_reply(ctx, args, Op::Union)
}
fn sdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    combine_reply(ctx, args, Op::Diff)
}
fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    combine_store(ctx, args, Op::Inter)
}
fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    combine_store(ctx, args, Op::Union)
}
fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    combine_store(ctx, args, Op::Diff)
}

fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let numkeys = match crate::util::parse_i64(&args[1]) {
        Some(n) if n >= 1 => n as usize,
        _ => return Err(CmdError::err("numkeys should be greater than 0")),
    };
    if numkeys > args.len() - 2 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    let mut j = 2 + numkeys;
    while j < args.len() {
        if is_opt(&args[j], "limit") && j + 1 < args.len() {
            limit = match crate::util::parse_i64(&args[j + 1]) {
                Some(n) if n >= 0 => n as usize,
                _ => return Err(CmdError::err("LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let s = combine(ctx, &args[2..2 + numkeys], Op::Inter, limit)?;
    ctx.client.out.int(s.len() as i64);
    Ok(())
}

fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(s) = set(ctx.node, ctx.client.db, &args[1])? else {
        scan_reply(&mut ctx.client.out, 0, std::iter::empty());
        return Ok(());
    };
    let opts = ScanOpts::parse(args, 3)?;
    let (range, next) = opts.step(cursor, s.len(), s.encoding_name() == "intset");
    let items: Vec<&[u8]> = range
        .filter_map(|i| s.get_index(i))
        .filter(|m| opts.matches(m))
        .collect();
    scan_reply(&mut ctx.client.out, next, items.into_iter());
    Ok(())
}
