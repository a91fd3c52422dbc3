//! Hash commands (`t_hash.c`), with Redis 7.0's checks and texts: HSET's
//! even arity, HINCRBY's `hash value is not an integer` and overflow
//! error, HRANDFIELD's count range and `WITHVALUES`, HSCAN's cursor and
//! options. Encoding follows `hashTypeTryConversion`: any argument longer
//! than `hash-max-listpack-value` converts before the write (even a HSETNX
//! that then does nothing), and the entry count converts after it. Replies
//! list a listpack hash in insertion order.

use super::collections::{
    finish_removal, hash, hash_mut, hash_or_create, parse_cursor, scan_reply, ScanOpts,
};
use super::{flags::*, is_opt, parse_int, CmdError, CmdResult, Ctx};
use crate::command;
use crate::resp::ReplyWriter;
use crate::value::Hash;
use bytes::Bytes;

/// The hash commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "Creates or modifies the value of a field in a hash.", hset),
    command!("hmset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "Sets the values of multiple fields.", hmset),
    command!("hsetnx", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "Sets the value of a field in a hash only when the field doesn't exist.", hsetnx),
    command!("hget", 3, READONLY | FAST, (1, 1, 1), "hash", "Returns the value of a field in a hash.", hget),
    command!("hmget", -3, READONLY | FAST, (1, 1, 1), "hash", "Returns the values of all fields in a hash.", hmget),
    command!("hgetall", 2, READONLY, (1, 1, 1), "hash", "Returns all fields and values in a hash.", hgetall),
    command!("hkeys", 2, READONLY, (1, 1, 1), "hash", "Returns all fields in a hash.", hkeys),
    command!("hvals", 2, READONLY, (1, 1, 1), "hash", "Returns all values in a hash.", hvals),
    command!("hdel", -3, WRITE | FAST, (1, 1, 1), "hash", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", hdel),
    command!("hlen", 2, READONLY | FAST, (1, 1, 1), "hash", "Returns the number of fields in a hash.", hlen),
    command!("hexists", 3, READONLY | FAST, (1, 1, 1), "hash", "Determines whether a field exists in a hash.", hexists),
    command!("hstrlen", 3, READONLY | FAST, (1, 1, 1), "hash", "Returns the length of the value of a field.", hstrlen),
    command!("hincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", hincrby),
    command!("hincrbyfloat", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", hincrbyfloat),
    command!("hrandfield", -2, READONLY | RANDOM, (1, 1, 1), "hash", "Returns one or more random fields from a hash.", hrandfield),
    command!("hscan", -3, READONLY | RANDOM, (1, 1, 1), "hash", "Iterates over fields and values of a hash.", hscan),
];

fn set_pairs(ctx: &mut Ctx, args: &[Bytes]) -> Result<i64, CmdError> {
    if args.len() % 2 == 1 {
        return Err(CmdError::Arity(crate::util::lower(&args[0])));
    }
    let (db, key) = (ctx.db(), &args[1]);
    let limits = ctx.node.config.encoding.clone();
    let h = hash_or_create(ctx.node, db, key, Hash::new)?;
    h.convert_for_lengths(args[2..].iter().map(|a| a.len()), &limits);
    let mut created = 0;
    for pair in args[2..].chunks(2) {
        if h.insert(pair[0].to_vec(), pair[1].to_vec()) {
            created += 1;
            h.convert_past_entry_limit(&limits);
        }
    }
    h.update_encoding_after_write(&limits);
    ctx.modified(key);
    Ok(created)
}

fn hset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = set_pairs(ctx, args)?;
    ctx.client.out.int(n);
    Ok(())
}

fn hmset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_pairs(ctx, args)?;
    ctx.client.out.ok();
    Ok(())
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (db, key) = (ctx.db(), &args[1]);
    let limits = ctx.node.config.encoding.clone();
    let h = hash_or_create(ctx.node, db, key, Hash::new)?;
    if h.contains(&args[2]) {
        ctx.client.out.int(0);
        return Ok(());
    }
    h.convert_for_lengths([args[2].len(), args[3].len()], &limits);
    h.insert(args[2].to_vec(), args[3].to_vec());
    h.update_encoding_after_write(&limits);
    ctx.modified(key);
    ctx.client.out.int(1);
    Ok(())
}

fn hget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let out = &mut ctx.client.out;
    match hash(ctx.node, ctx.client.db, &args[1])?.and_then(|h| h.get(&args[2])) {
        Some(v) => out.bulk(v),
        None => out.null_bulk(),
    }
    Ok(())
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let out = &mut ctx.client.out;
    let h = hash(ctx.node, ctx.client.db, &args[1])?;
    out.array_len(args.len() - 2);
    for f in &args[2..] {
        match h.and_then(|h| h.get(f)) {
            Some(v) => out.bulk(v),
            None => out.null_bulk(),
        }
    }
    Ok(())
}

fn getall(ctx: &mut Ctx, args: &[Bytes], fields: bool, values: bool) -> CmdResult {
    let out = &mut ctx.client.out;
    let Some(h) = hash(ctx.node, ctx.client.db, &args[1])? else {
        out.array_len(0);
        return Ok(());
    };
    out.array_len(h.len() * (fields as usize + values as usize));
    for (f, v) in h.iter() {
        if fields {
            out.bulk(f);
        }
        if values {
            out.bulk(v);
        }
    }
    Ok(())
}

fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    getall(ctx, args, true, true)
}
fn hkeys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    getall(ctx, args, true, false)
}
fn hvals(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    getall(ctx, args, false, true)
}

fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (db, key) = (ctx.db(), &args[1]);
    let Some(h) = hash_mut(ctx.node, db, key)? else {
        ctx.client.out.int(0);
        return Ok(());
    };
    let mut n = 0;
    for f in &args[2..] {
        if h.remove(f) {
            n += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    finish_removal(ctx, key, n);
    Ok(())
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = hash(ctx.node, ctx.client.db, &args[1])?.map_or(0, |h| h.len());
    ctx.client.out.int(n as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let e = hash(ctx.node, ctx.client.db, &args[1])?.is_some_and(|h| h.contains(&args[2]));
    ctx.client.out.int(e as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = hash(ctx.node, ctx.client.db, &args[1])?
        .and_then(|h| h.get(&args[2]))
        .map_or(0, |v| v.len());
    ctx.client.out.int(n as i64);
    Ok(())
}

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let incr = parse_int(&args[3])?;
    let (db, key) = (ctx.db(), &args[1]);
    let limits = ctx.node.config.encoding.clone();
    let h = hash_or_create(ctx.node, db, key, Hash::new)?;
    let cur = match h.get(&args[2]) {
        None => 0,
        Some(v) => crate::util::parse_i64(v)
            .ok_or_else(|| CmdError::err("hash value is not an integer"))?,
    };
    let new = cur
        .checked_add(incr)
        .ok_or_else(|| CmdError::err("increment or decrement would overflow"))?;
    let v = crate::util::i64_to_bytes(new);
    h.convert_for_lengths([args[2].len(), v.len()], &limits);
    h.insert(args[2].to_vec(), v);
    h.update_encoding_after_write(&limits);
    ctx.modified(key);
    ctx.client.out.int(new);
    Ok(())
}

/// HINCRBYFLOAT: Redis's `long double` arithmetic and formatting (shared
/// with INCRBYFLOAT in [`crate::float`]); replicas receive the result as
/// `HSET` (see `repl::propagate`).
fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    use crate::float::{incr_by_float, parse_long_double, LongDouble};
    let incr = parse_long_double(&args[3]).ok_or(CmdError::NotFloat)?;
    if !incr.is_finite() {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let (db, key) = (ctx.db(), &args[1]);
    let limits = ctx.node.config.encoding.clone();
    let h = hash_or_create(ctx.node, db, key, Hash::new)?;
    let cur = match h.get(&args[2]) {
        None => LongDouble::ZERO,
        Some(v) => {
            parse_long_double(v).ok_or_else(|| CmdError::err("hash value is not a float"))?
        }
    };
    let text = incr_by_float(cur, incr)
        .ok_or_else(|| CmdError::err("increment would produce NaN or Infinity"))?;
    h.convert_for_lengths([args[2].len(), text.len()], &limits);
    h.insert(args[2].to_vec(), text.clone());
    h.update_encoding_after_write(&limits);
    ctx.modified(key);
    ctx.client.out.bulk(&text);
    Ok(())
}

/// Parse HRANDFIELD/ZRANDMEMBER's `count [WITHVALUES|WITHSCORES]`:
/// `(count, with)`, with Redis's range and syntax errors.
pub fn parse_rand_count(args: &[Bytes], with_word: &str) -> Result<(i64, bool), CmdError> {
    let n = parse_int(&args[2])?;
    if n == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if args.len() > 4 || (args.len() == 4 && !is_opt(&args[3], with_word)) {
        return Err(CmdError::Syntax);
    }
    let with = args.len() == 4;
    if with && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
        return Err(CmdError::err("value is out of range"));
    }
    Ok((n, with))
}

/// Positions to answer for a random-pick-with-count over `len` items, as
/// Redis's cases do: negative counts repeat, a count at least the size is
/// everything in order, otherwise distinct random positions.
pub fn random_positions(rng: &mut crate::rng::Rng, len: usize, count: i64) -> Vec<usize> {
    if count < 0 {
        return (0..count.unsigned_abs())
            .map(|_| rng.below(len as u64) as usize)
            .collect();
    }
    let count = count as usize;
    if count >= len {
        return (0..len).collect();
    }
    // Selection sampling (Knuth's algorithm S): distinct, in position order.
    let mut out = Vec::with_capacity(count);
    for i in 0..len {
        let need = count - out.len();
        if need == 0 {
            break;
        }
        if rng.below((len - i) as u64) < need as u64 {
            out.push(i);
        }
    }
    out
}

/// A hash known to exist (looked up just before).
fn peek_hash<'a>(node: &'a crate::node::Node, db: usize, key: &[u8]) -> &'a Hash {
    match node.ks.db(db).peek(key) {
        Some(crate::value::Value::Hash(h)) => h,
        _ => unreachable!("looked up just before"),
    }
}

fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() >= 3 {
        let (count, with) = parse_rand_count(args, "withvalues")?;
        let Some(len) = hash(ctx.node, ctx.client.db, &args[1])?.map(|h| h.len()) else {
            ctx.client.out.array_len(0);
            return Ok(());
        };
        let picks = random_positions(&mut ctx.node.rng, len, count);
        let h = peek_hash(ctx.node, ctx.client.db, &args[1]);
        let out = &mut ctx.client.out;
        out.array_len(picks.len() * (1 + with as usize));
        for (f, v) in h.entries_at(picks) {
            out.bulk(f);
            if with {
                out.bulk(v);
            }
        }
        return Ok(());
    }
    let Some(len) = hash(ctx.node, ctx.client.db, &args[1])?.map(|h| h.len()) else {
        ctx.client.out.null_bulk();
        return Ok(());
    };
    let i = ctx.node.rng.below(len as u64) as usize;
    let h = peek_hash(ctx.node, ctx.client.db, &args[1]);
    let (f, _) = h.get_index(i).expect("position in range");
    ctx.client.out.bulk(f);
    Ok(())
}

fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(h) = hash(ctx.node, ctx.client.db, &args[1])? else {
        scan_reply(&mut ctx.client.out, 0, std::iter::empty());
        return Ok(());
    };
    let opts = ScanOpts::parse(args, 3)?;
    let (range, next) = opts.step(cursor, h.len(), h.is_compact());
    let mut items: Vec<&[u8]> = Vec::new();
    for (f, v) in h.entries_at(range) {
        if opts.matches(f) {
            items.push(f);
            items.push(v);
        }
    }
    scan_reply(&mut ctx.client.out, next, items.into_iter());
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::node::tests::send;
    use crate::node::Node;

    const T0: u64 = 1_700_000_000_000;

    #[test]
    fn hset_converts_to_a_hashtable_as_soon_as_it_passes_the_entry_limit() {
        let mut n = Node::new(crate::Config::default(), 7, T0);
        let c = n.accept(T0, "127.0.0.1:1000".into());
        let mut run = |args: Vec<String>| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            String::from_utf8_lossy(&send(&mut n, T0, c, &[&args])).into_owned()
        };
        let hset = |key: &str, fields: usize| {
            let mut args = vec!["HSET".to_string(), key.to_string()];
            for i in 0..fields {
                args.push(format!("f{i}"));
                args.push(i.to_string());
            }
            args
        };
        let words = |s: &[&str]| s.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        // hash-max-listpack-entries is 512 by default.
        assert_eq!(run(hset("small", 512)), ":512\r\n");
        assert_eq!(
            run(words(&["OBJECT", "ENCODING", "small"])),
            "$8\r\nlistpack\r\n"
        );
        assert_eq!(run(hset("big", 513)), ":513\r\n");
        assert_eq!(
            run(words(&["OBJECT", "ENCODING", "big"])),
            "$9\r\nhashtable\r\n"
        );
        // One command adding many fields: linear (a listpack walked per
        // field would make this quadratic), every field there.
        assert_eq!(run(hset("many", 100_000)), ":100000\r\n");
        assert_eq!(run(words(&["HLEN", "many"])), ":100000\r\n");
        assert_eq!(run(words(&["HGET", "many", "f99999"])), "$5\r\n99999\r\n");
    }
}
