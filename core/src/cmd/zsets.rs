//! Sorted-set commands (`t_zset.c`), with Redis 7.0's parsing, errors and
//! reply shapes: ZADD's option rules (`XX and NX ...`, `GT, LT, and/or NX
//! ...`, `INCR option supports a single increment-element pair`), scores
//! through `string2d` (`value is not a valid float`), ranges through
//! `zslParseRange` (`min or max is not a float`) and `zslParseLexRange`
//! (`min or max not valid string range item`), ZRANGE's unified syntax
//! (BYSCORE, BYLEX, REV, LIMIT, WITHSCORES and its two `syntax error, ...`
//! texts), set operations over sorted sets and plain sets (weights,
//! AGGREGATE, `inf + -inf = 0`), and scores answered with `%.17g`.
//!
//! Every range is resolved to an interval of ranks with
//! [`ZSet::count_prefix`] (O(log n) on a skiplist) and then walked.

use super::blocking::{block, may_block, parse_timeout};
use super::collections::{
    clamp_range, finish_removal, optional_count, parse_cursor, remove_if_empty, scan_reply,
    store_or_delete, zset, zset_mut, ScanOpts,
};
use super::hashes::{parse_rand_count, random_positions};
use super::{flags::*, is_opt, parse_int, CmdError, CmdResult, Ctx};
use crate::command;
use crate::resp::ReplyWriter;
use crate::types::score::{format_g17, parse_range_bound, parse_score};
use crate::types::LexBound;
use crate::value::{Value, ZSet};
use bytes::Bytes;

/// The sorted-set commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "sorted_set", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", zadd),
    command!("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "sorted_set", "Increments the score of a member in a sorted set.", zincrby),
    command!("zrem", -3, WRITE | FAST, (1, 1, 1), "sorted_set", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", zrem),
    command!("zscore", 3, READONLY | FAST, (1, 1, 1), "sorted_set", "Returns the score of a member in a sorted set.", zscore),
    command!("zmscore", -3, READONLY | FAST, (1, 1, 1), "sorted_set", "Returns the score of one or more members in a sorted set.", zmscore),
    command!("zcard", 2, READONLY | FAST, (1, 1, 1), "sorted_set", "Returns the number of members in a sorted set.", zcard),
    command!("zcount", 4, READONLY | FAST, (1, 1, 1), "sorted_set", "Returns the count of members in a sorted set that have scores within a range.", zcount),
    command!("zlexcount", 4, READONLY | FAST, (1, 1, 1), "sorted_set", "Returns the number of members in a sorted set within a lexicographical range.", zlexcount),
    command!("zrange", -4, READONLY, (1, 1, 1), "sorted_set", "Returns members in a sorted set within a range of indexes.", zrange),
    command!("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), "sorted_set", "Stores a range of members from sorted set in a key.", zrangestore),
    command!("zrevrange", -4, READONLY, (1, 1, 1), "sorted_set", "Returns members in a sorted set within a range of indexes in reverse order.", zrevrange),
    command!("zrangebyscore", -4, READONLY, (1, 1, 1), "sorted_set", "Returns members in a sorted set within a range of scores.", zrangebyscore),
    command!("zrevrangebyscore", -4, READONLY, (1, 1, 1), "sorted_set", "Returns members in a sorted set within a range of scores in reverse order.", zrevrangebyscore),
    command!("zrangebylex", -4, READONLY, (1, 1, 1), "sorted_set", "Returns members in a sorted set within a lexicographical range.", zrangebylex),
    command!("zrevrangebylex", -4, READONLY, (1, 1, 1), "sorted_set", "Returns members in a sorted set within a lexicographical range in reverse order.", zrevrangebylex),
    command!("zrank", 3, READONLY | FAST, (1, 1, 1), "sorted_set", "Returns the index of a member in a sorted set ordered by ascending scores.", zrank),
    command!("zrevrank", 3, READONLY | FAST, (1, 1, 1), "sorted_set", "Returns the index of a member in a sorted set ordered by descending scores.", zrevrank),
    command!("zpopmin", -2, WRITE | FAST, (1, 1, 1), "sorted_set", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpopmin),
    command!("zpopmax", -2, WRITE | FAST, (1, 1, 1), "sorted_set", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpopmax),
    command!("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, (1, -2, 1), "sorted_set", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzpopmin),
    command!("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, (1, -2, 1), "sorted_set", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", bzpopmax),
    command!("zremrangebyscore", 4, WRITE, (1, 1, 1), "sorted_set", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", zremrangebyscore),
    command!("zremrangebyrank", 4, WRITE, (1, 1, 1), "sorted_set", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", zremrangebyrank),
    command!("zremrangebylex", 4, WRITE, (1, 1, 1), "sorted_set", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", zremrangebylex),
    command!("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), "sorted_set", "Stores the union of multiple sorted sets in a key.", zunionstore),
    command!("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), "sorted_set", "Stores the intersect of multiple sorted sets in a key.", zinterstore),
    command!("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), "sorted_set", "Stores the difference of multiple sorted sets in a key.", zdiffstore),
    command!("zunion", -3, READONLY, (0, 0, 0), "sorted_set", "Returns the union of multiple sorted sets.", zunion),
    command!("zinter", -3, READONLY, (0, 0, 0), "sorted_set", "Returns the intersect of multiple sorted sets.", zinter),
    command!("zdiff", -3, READONLY, (0, 0, 0), "sorted_set", "Returns the difference between multiple sorted sets.", zdiff),
    command!("zrandmember", -2, READONLY | RANDOM, (1, 1, 1), "sorted_set", "Returns one or more random members from a sorted set.", zrandmember),
    command!("zscan", -3, READONLY | RANDOM, (1, 1, 1), "sorted_set", "Iterates over members and scores of a sorted set.", zscan),
];

fn reply_score(out: &mut Vec<u8>, s: f64) {
    // Integral scores (the common case) print as integers under %.17g:
    // format them without building a string.
    if s.abs() < 1e17 && s != 0.0 && (s as i64) as f64 == s {
        out.bulk_int(s as i64);
    } else {
        out.bulk(format_g17(s).as_bytes());
    }
}

const NAN_ERR: &str = "resulting score is not a number (NaN)";

/// A sorted set known to exist (looked up just before).
fn peek_zset<'a>(node: &'a crate::node::Node, db: usize, key: &[u8]) -> &'a ZSet {
    match node.ks.db(db).peek(key) {
        Some(Value::ZSet(z)) => z,
        _ => unreachable!("looked up just before"),
    }
}

/// Create an empty sorted set at `key` as ZADD does: a listpack unless the
/// first member is already too long (or listpacks are disabled).
fn create_zset(ctx: &mut Ctx, key: &[u8], first_member_len: usize) {
    let limits = &ctx.node.config.encoding;
    let z = if limits.zset_max_listpack_entries == 0
        || first_member_len > limits.zset_max_listpack_value
    {
        ZSet::new_big()
    } else {
        ZSet::new()
    };
    let db = ctx.db();
    ctx.node.ks.db_mut(db).insert(key, z.into(), false);
}

fn zadd_generic(ctx: &mut Ctx, args: &[Bytes], mut incr: bool) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch) = (false, false, false, false, false);
    let mut idx = 2;
    if !incr {
        while idx < args.len() {
            let a = &args[idx];
            if is_opt(a, "nx") {
                nx = true;
            } else if is_opt(a, "xx") {
                xx = true;
            } else if is_opt(a, "ch") {
                ch = true;
            } else if is_opt(a, "incr") {
                incr = true;
            } else if is_opt(a, "gt") {
                gt = true;
            } else if is_opt(a, "lt") {
                lt = true;
            } else {
                break;
            }
            idx += 1;
        }
    }
    let rest = &args[idx..];
    if rest.is_empty() || rest.len() % 2 == 1 {
        return Err(CmdError::Syntax);
    }
    if nx && xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && rest.len() > 2 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut scores = Vec::with_capacity(rest.len() / 2);
    for pair in rest.chunks(2) {
        scores.push(parse_score(&pair[0]).ok_or(CmdError::NotFloat)?);
    }
    let (db, key) = (ctx.db(), &args[1]);
    if zset_mut(ctx.node, db, key)?.is_none() {
        if xx {
            if incr {
                ctx.client.out.null_bulk();
            } else {
                ctx.client.out.int(0);
            }
            return Ok(());
        }
        create_zset(ctx, key, rest[1].len());
    }
    let limits = ctx.node.config.encoding.clone();
    let z = zset_mut(ctx.node, db, key)?.expect("exists or created");
    let (mut added, mut updated, mut processed) = (0, 0, 0);
    let mut last = 0.0;
    let mut failed = false;
    for (pair, &score) in rest.chunks(2).zip(&scores) {
        let member = &pair[1];
        match z.score(member) {
            Some(cur) => {
                if nx {
                    continue;
                }
                let mut new = score;
                if incr {
                    new += cur;
                    if new.is_nan() {
                        failed = true;
                        break;
                    }
                }
                if (lt && new >= cur) || (gt && new <= cur) {
                    continue;
                }
                processed += 1;
                last = new;
                if new != cur {
                    z.insert(&member[..], new);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.insert_converting(&member[..], score, &limits);
                added += 1;
                processed += 1;
                last = score;
            }
        }
    }
    if added > 0 {
        z.release_spare_capacity();
    }
    if added + updated > 0 {
        ctx.modified(key);
    }
    if failed {
        return Err(CmdError::err(NAN_ERR));
    }
    if incr {
        if processed > 0 {
            reply_score(&mut ctx.client.out, last);
        } else {
            ctx.client.out.null_bulk();
        }
    } else {
        ctx.client.out.int(if ch { added + updated } else { added });
    }
    Ok(())
}

fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, args, false)
}

fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, args, true)
}

fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (db, key) = (ctx.db(), &args[1]);
    let Some(z) = zset_mut(ctx.node, db, key)? else {
        ctx.client.out.int(0);
        return Ok(());
    };
    let mut n = 0;
    for m in &args[2..] {
        if z.remove(m).is_some() {
            n += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    finish_removal(ctx, key, n);
    Ok(())
}

fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match zset(ctx.node, ctx.client.db, &args[1])?.and_then(|z| z.score(&args[2])) {
        Some(s) => reply_score(&mut ctx.client.out, s),
        None => ctx.client.out.null_bulk(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let z = zset(ctx.node, ctx.client.db, &args[1])?;
    let out = &mut ctx.client.out;
    out.array_len(args.len() - 2);
    for m in &args[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => reply_score(out, s),
            None => out.null_bulk(),
        }
    }
    Ok(())
}

fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = zset(ctx.node, ctx.client.db, &args[1])?.map_or(0, |z| z.len());
    ctx.client.out.int(n as i64);
    Ok(())
}

/// A score or lex interval, parsed.
#[derive(Clone)]
enum Interval {
    Score {
        min: f64,
        minex: bool,
        max: f64,
        maxex: bool,
    },
    Lex {
        min: LexBound,
        max: LexBound,
    },
}

fn parse_score_interval(min: &[u8], max: &[u8]) -> Result<Interval, CmdError> {
    let bad = || CmdError::err("min or max is not a float");
    let (min, minex) = parse_range_bound(min).ok_or_else(bad)?;
    let (max, maxex) = parse_range_bound(max).ok_or_else(bad)?;
    Ok(Interval::Score {
        min,
        minex,
        max,
        maxex,
    })
}

fn parse_lex_interval(min: &[u8], max: &[u8]) -> Result<Interval, CmdError> {
    let bad = || CmdError::err("min or max not valid string range item");
    Ok(Interval::Lex {
        min: LexBound::parse(min).ok_or_else(bad)?,
        max: LexBound::parse(max).ok_or_else(bad)?,
    })
}

/// The members an interval selects, skipping `offset` and taking at most
/// `limit` (from the top when `rev`), as `(first rank, count)`.
fn interval_ranks(
    z: &ZSet,
    iv: &Interval,
    rev: bool,
    offset: usize,
    limit: Option<usize>,
) -> (usize, usize) {
    let (lo, hi) = match iv {
        Interval::Score {
            min,
            minex,
            max,
            maxex,
        } => (
            z.count_prefix(|s, _| s < *min || (*minex && s <= *min)),
            z.count_prefix(|s, _| s < *max || (!*maxex && s <= *max)),
        ),
        Interval::Lex { min, max } => return z.lex_range(min, max, rev, offset, limit),
    };
    let total = hi.saturating_sub(lo);
    if offset >= total {
        return (lo, 0);
    }
    let take = limit.unwrap_or(usize::MAX).min(total - offset);
    if rev {
        (hi - offset - take, take)
    } else {
        (lo + offset, take)
    }
}

fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let iv = parse_score_interval(&args[2], &args[3])?;
    count_in(ctx, args, iv)
}

fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let iv = parse_lex_interval(&args[2], &args[3])?;
    count_in(ctx, args, iv)
}

fn count_in(ctx: &mut Ctx, args: &[Bytes], iv: Interval) -> CmdResult {
    let n = match zset(ctx.node, ctx.client.db, &args[1])? {
        Some(z) => interval_ranks(z, &iv, false, 0, None).1,
        None => 0,
    };
    ctx.client.out.int(n as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// ZRANGE and its relatives (`zrangeGenericCommand`): `start` is the index
/// of the source key; `store` is the destination for ZRANGESTORE.
fn zrange_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    start: usize,
    store: Option<&[u8]>,
    mut rtype: RangeType,
    rev_fixed: Option<bool>,
) -> CmdResult {
    let key = &args[start];
    let (mut minidx, mut maxidx) = (start + 1, start + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut rev = rev_fixed.unwrap_or(false);
    let mut j = start + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if store.is_none() && is_opt(a, "withscores") {
            withscores = true;
        } else if is_opt(a, "limit") && left >= 2 {
            offset = parse_int(&args[j + 1])?;
            limit = parse_int(&args[j + 2])?;
            j += 2;
        } else if rev_fixed.is_none() && !rev && is_opt(a, "rev") {
            rev = true;
        } else if rtype == RangeType::Auto && is_opt(a, "bylex") {
            rtype = RangeType::Lex;
        } else if rtype == RangeType::Auto && is_opt(a, "byscore") {
            rtype = RangeType::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if rtype == RangeType::Auto {
        rtype = RangeType::Rank;
    }
    if limit != -1 && rtype == RangeType::Rank {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rtype == RangeType::Lex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if rev && rtype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let mut ranks = None;
    let mut iv = None;
    match rtype {
        RangeType::Score => iv = Some(parse_score_interval(&args[minidx], &args[maxidx])?),
        RangeType::Lex => iv = Some(parse_lex_interval(&args[minidx], &args[maxidx])?),
        _ => ranks = Some((parse_int(&args[minidx])?, parse_int(&args[maxidx])?)),
    }
    let db = ctx.db();
    // Resolve to (first rank, count, reverse) over the source.
    let (lo, n) = match zset(ctx.node, db, key)? {
        None => (0, 0),
        Some(z) => match (ranks, iv) {
            (Some((s, e)), _) => match clamp_range(s, e, z.len()) {
                None => (0, 0),
                Some((s, e)) => {
                    if rev {
                        (z.len() - 1 - e, e - s + 1)
                    } else {
                        (s, e - s + 1)
                    }
                }
            },
            (None, Some(iv)) => {
                if offset < 0 || limit == 0 {
                    (0, 0)
                } else {
                    let limit = usize::try_from(limit).ok();
                    interval_ranks(z, &iv, rev, offset as usize, limit)
                }
            }
            _ => unreachable!("one of the two is parsed"),
        },
    };
    if let Some(dst) = store {
        let limits = ctx.node.config.encoding.clone();
        let mut out = ZSet::new();
        if n > 0 {
            let z = peek_zset(ctx.node, db, key);
            if n > limits.zset_max_listpack_entries {
                out = ZSet::new_big();
            }
            for (m, s) in z.range(lo, lo + n) {
                out.insert_converting(m, s, &limits);
            }
        }
        store_result(ctx, dst, out);
        return Ok(());
    }
    let out = &mut ctx.client.out;
    if n == 0 {
        out.array_len(0);
        return Ok(());
    }
    let z = peek_zset(ctx.node, db, key);
    // Size the reply once (a score's bulk takes at most 32 bytes).
    let bytes: usize = z.range(lo, lo + n).map(|(m, _)| m.len() + 25).sum();
    out.reserve(bytes + n * 32 * withscores as usize + 24);
    out.array_len(n * (1 + withscores as usize));
    let mut emit = |(m, s): (&[u8], f64)| {
        out.bulk(m);
        if withscores {
            reply_score(out, s);
        }
    };
    if rev {
        z.range(lo, lo + n).rev().for_each(&mut emit);
    } else {
        z.range(lo, lo + n).for_each(&mut emit);
    }
    Ok(())
}

/// Store a computed sorted set at `dst` (see [`store_or_delete`]).
fn store_result(ctx: &mut Ctx, dst: &[u8], z: ZSet) {
    let n = z.len();
    store_or_delete(ctx, dst, z.into(), n);
}

fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeType::Auto, None)
}
fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let dst = args[1].clone();
    zrange_generic(ctx, args, 2, Some(&dst), RangeType::Auto, None)
}
fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeType::Rank, Some(true))
}
fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeType::Score, Some(false))
}
fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeType::Score, Some(true))
}
fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeType::Lex, Some(false))
}
fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeType::Lex, Some(true))
}

fn rank_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult {
    let out = &mut ctx.client.out;
    let r = zset(ctx.node, ctx.client.db, &args[1])?.and_then(|z| {
        z.rank(&args[2])
            .map(|r| if rev { z.len() - 1 - r } else { r })
    });
    match r {
        Some(r) => out.int(r as i64),
        None => out.null_bulk(),
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, false)
}
fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, true)
}

/// Pop up to `count` members from the lowest (or highest, `max`) end of
/// the sorted set at `key`, which must exist; deletes it when emptied.
fn pop_members(ctx: &mut Ctx, key: &[u8], max: bool, count: usize) -> Vec<(Vec<u8>, f64)> {
    let db = ctx.db();
    let Ok(Some(z)) = zset_mut(ctx.node, db, key) else {
        return Vec::new();
    };
    let n = count.min(z.len());
    let len = z.len();
    let (lo, hi) = if max { (len - n, len) } else { (0, n) };
    let mut popped: Vec<(Vec<u8>, f64)> = z.range(lo, hi).map(|(m, s)| (m.to_vec(), s)).collect();
    if max {
        popped.reverse();
    }
    z.remove_rank_range(lo, hi);
    remove_if_empty(ctx.node, db, key);
    ctx.modified(key);
    popped
}

fn zpop_generic(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = optional_count(args.get(2))?;
    let (db, key) = (ctx.db(), &args[1]);
    if zset_mut(ctx.node, db, key)?.is_none() || count == Some(0) {
        ctx.client.out.array_len(0);
        return Ok(());
    }
    let popped = pop_members(ctx, key, max, count.unwrap_or(1));
    let out = &mut ctx.client.out;
    out.array_len(popped.len() * 2);
    for (m, s) in popped {
        out.bulk(&m);
        reply_score(out, s);
    }
    Ok(())
}

fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zpop_generic(ctx, args, false)
}
fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zpop_generic(ctx, args, true)
}

/// Pop one member from the first non-empty sorted set, replying
/// `[key, member, score]`; false if all are empty.
fn bzpop_keys(ctx: &mut Ctx, keys: &[Bytes], max: bool) -> Result<bool, CmdError> {
    let db = ctx.db();
    for key in keys {
        if zset_mut(ctx.node, db, key)?.is_some_and(|z| !z.is_empty()) {
            let popped = pop_members(ctx, key, max, 1);
            let out = &mut ctx.client.out;
            out.array_len(3);
            out.bulk(key);
            out.bulk(&popped[0].0);
            reply_score(out, popped[0].1);
            super::blocking::propagate_as(
                ctx,
                vec![
                    if max {
                        b"ZPOPMAX".to_vec()
                    } else {
                        b"ZPOPMIN".to_vec()
                    },
                    key.to_vec(),
                ],
            );
            return Ok(true);
        }
    }
    Ok(false)
}

fn bzpop_generic(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult {
    let deadline = parse_timeout(&args[args.len() - 1], ctx.now())?;
    let keys = &args[1..args.len() - 1];
    if !bzpop_keys(ctx, keys, max)? {
        if may_block(ctx) {
            block(
                ctx,
                keys.iter().map(|k| k.to_vec()).collect(),
                deadline,
                args,
            );
        } else {
            ctx.client.out.null_array();
        }
    }
    Ok(())
}

fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bzpop_generic(ctx, args, false)
}
fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bzpop_generic(ctx, args, true)
}

/// Serve a client blocked by BZPOPMIN/BZPOPMAX now that `key` may hold
/// members (replicated as ZPOPMIN/ZPOPMAX key).
pub fn serve_blocked(ctx: &mut Ctx, args: &[Bytes], key: &[u8]) -> Result<bool, CmdError> {
    let max = is_opt(&args[0], "bzpopmax");
    bzpop_keys(ctx, &[Bytes::copy_from_slice(key)], max)
}

fn zremrange_generic(ctx: &mut Ctx, args: &[Bytes], rtype: RangeType) -> CmdResult {
    let mut ranks = None;
    let mut iv = None;
    match rtype {
        RangeType::Score => iv = Some(parse_score_interval(&args[2], &args[3])?),
        RangeType::Lex => iv = Some(parse_lex_interval(&args[2], &args[3])?),
        _ => ranks = Some((parse_int(&args[2])?, parse_int(&args[3])?)),
    }
    let (db, key) = (ctx.db(), &args[1]);
    let Some(z) = zset_mut(ctx.node, db, key)? else {
        ctx.client.out.int(0);
        return Ok(());
    };
    let (lo, hi) = match (ranks, iv) {
        (Some((s, e)), _) => match clamp_range(s, e, z.len()) {
            Some((s, e)) => (s, e + 1),
            None => (0, 0),
        },
        (None, Some(iv)) => {
            let (lo, n) = interval_ranks(z, &iv, false, 0, None);
            (lo, lo + n)
        }
        _ => unreachable!("one of the two is parsed"),
    };
    let n = z.remove_rank_range(lo, hi);
    if n > 0 {
        remove_if_empty(ctx.node, db, key);
        ctx.modified(key);
    }
    ctx.client.out.int(n as i64);
    Ok(())
}

fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zremrange_generic(ctx, args, RangeType::Score)
}
fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zremrange_generic(ctx, args, RangeType::Rank)
}
fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zremrange_generic(ctx, args, RangeType::Lex)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, val: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// One input of a set operation: a sorted set, a set (scores 1), or missing.
enum Src<'a> {
    Z(&'a ZSet),
    S(&'a crate::value::Set),
    None,
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
            Src::None => 0,
        }
    }
    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
            Src::None => None,
        }
    }
    fn items(&self) -> Vec<(Vec<u8>, f64)> {
        match self {
            Src::Z(z) => z.iter().map(|(m, s)| (m.to_vec(), s)).collect(),
            Src::S(s) => s.iter().map(|m| (m.to_vec(), 1.0)).collect(),
            Src::None => Vec::new(),
        }
    }
}

/// ZUNION/ZINTER/ZDIFF and their STORE forms (`zunionInterDiffGenericCommand`).
fn zsetop(ctx: &mut Ctx, args: &[Bytes], dst: Option<&[u8]>, op: SetOp) -> CmdResult {
    let nidx = if dst.is_some() { 2 } else { 1 };
    let setnum = parse_int(&args[nidx])?;
    if setnum < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{}' command",
            crate::util::lower(&args[0])
        )));
    }
    let setnum = setnum as usize;
    if setnum > args.len() - (nidx + 1) {
        return Err(CmdError::Syntax);
    }
    let keys = &args[nidx + 1..nidx + 1 + setnum];
    let db = ctx.db();
    let now = ctx.now();
    for k in keys {
        match ctx.node.ks.get(db, k, now) {
            None | Some(Value::ZSet(_)) | Some(Value::Set(_)) => {}
            Some(_) => return Err(CmdError::WrongType),
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut j = nidx + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        if op != SetOp::Diff && remaining > setnum && is_opt(&args[j], "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = parse_score(&args[j])
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff && remaining >= 2 && is_opt(&args[j], "aggregate") {
            agg = if is_opt(&args[j + 1], "sum") {
                Aggregate::Sum
            } else if is_opt(&args[j + 1], "min") {
                Aggregate::Min
            } else if is_opt(&args[j + 1], "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && is_opt(&args[j], "withscores") {
            withscores = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let ks = ctx.node.ks.db(db);
    let mut srcs: Vec<(Src, f64)> = keys
        .iter()
        .zip(&weights)
        .map(|(k, &w)| {
            let s = match ks.peek(k) {
                Some(Value::ZSet(z)) => Src::Z(z),
                Some(Value::Set(s)) => Src::S(s),
                _ => Src::None,
            };
            (s, w)
        })
        .collect();
    if op != SetOp::Diff {
        crate::util::sort_by_key(&mut srcs, |s| s.0.len());
    }
    let mut result = ZSet::new_big();
    match op {
        SetOp::Inter => {
            if srcs[0].0.len() > 0 {
                for (m, s0) in srcs[0].0.items() {
                    let mut score = srcs[0].1 * s0;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    let mut all = true;
                    for (src, w) in &srcs[1..] {
                        match src.score(&m) {
                            Some(v) => aggregate(&mut score, v * w, agg),
                            None => {
                                all = false;
                                break;
                            }
                        }
                    }
                    if all {
                        result.insert(m, score);
                    }
                }
            }
        }
        SetOp::Union => {
            let mut acc: indexmap::IndexMap<Vec<u8>, f64> = indexmap::IndexMap::new();
            for (src, w) in &srcs {
                for (m, s) in src.items() {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(&m) {
                        Some(t) => aggregate(t, score, agg),
                        None => {
                            acc.insert(m, score);
                        }
                    }
                }
            }
            for (m, s) in acc {
                result.insert(m, s);
            }
        }
        SetOp::Diff => {
            for (m, s) in srcs[0].0.items() {
                if !srcs[1..].iter().any(|(src, _)| src.score(&m).is_some()) {
                    result.insert(m, s);
                }
            }
        }
    }
    if let Some(dst) = dst {
        let limits = ctx.node.config.encoding.clone();
        result.compact_if_fits(&limits);
        store_result(ctx, dst, result);
        return Ok(());
    }
    let out = &mut ctx.client.out;
    out.array_len(result.len() * (1 + withscores as usize));
    for (m, s) in result.iter() {
        out.bulk(m);
        if withscores {
            reply_score(out, s);
        }
    }
    Ok(())
}

fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let dst = args[1].clone();
    zsetop(ctx, args, Some(&dst), SetOp::Union)
}
fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let dst = args[1].clone();
    zsetop(ctx, args, Some(&dst), SetOp::Inter)
}
fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let dst = args[1].clone();
    zsetop(ctx, args, Some(&dst), SetOp::Diff)
}
fn zunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zsetop(ctx, args, None, SetOp::Union)
}
fn zinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zsetop(ctx, args, None, SetOp::Inter)
}
fn zdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zsetop(ctx, args, None, SetOp::Diff)
}

fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = ctx.db();
    if args.len() >= 3 {
        let (count, with) = parse_rand_count(args, "withscores")?;
        let Some(len) = zset(ctx.node, db, &args[1])?.map(|z| z.len()) else {
            ctx.client.out.array_len(0);
            return Ok(());
        };
        let mut picks = random_positions(&mut ctx.node.rng, len, count);
        if count >= len as i64 {
            // The whole set, walked from the tail as Redis's iterator does.
            picks.reverse();
        }
        let z = peek_zset(ctx.node, db, &args[1]);
        let out = &mut ctx.client.out;
        out.array_len(picks.len() * (1 + with as usize));
        for i in picks {
            let (m, s) = z.get(i).expect("rank in range");
            out.bulk(m);
            if with {
                reply_score(out, s);
            }
        }
        return Ok(());
    }
    let Some(len) = zset(ctx.node, db, &args[1])?.map(|z| z.len()) else {
        ctx.client.out.null_bulk();
        return Ok(());
    };
    let i = ctx.node.rng.below(len as u64) as usize;
    let (m, _) = peek_zset(ctx.node, db, &args[1])
        .get(i)
        .expect("rank in range");
    ctx.client.out.bulk(m);
    Ok(())
}

fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(z) = zset(ctx.node, ctx.client.db, &args[1])? else {
        scan_reply(&mut ctx.client.out, 0, std::iter::empty());
        return Ok(());
    };
    let opts = ScanOpts::parse(args, 3)?;
    let (range, next) = opts.step(cursor, z.scan_len(), z.encoding_name() == "listpack");
    let mut items: Vec<Vec<u8>> = Vec::new();
    for (m, s) in range.filter_map(|p| z.scan_at(p)) {
        if opts.matches(m) {
            items.push(m.to_vec());
            items.push(format_g17(s).into_bytes());
        }
    }
    scan_reply(
        &mut ctx.client.out,
        next,
        items.iter().map(|v| v.as_slice()),
    );
    Ok(())
}
