//! List commands (`t_list.c`), with Redis 7.0's argument checks, error
//! texts and reply shapes: pushes answer the new length, an emptied list is
//! deleted, `LPOP key count` answers an array (null array for a missing key),
//! LPOS's RANK/COUNT/MAXLEN rules, LMPOP's `numkeys`/`COUNT` rules, and the
//! blocking forms (see [`super::blocking`]), which answer immediately when a
//! list has data and otherwise park the client until a push or the timeout.

use super::blocking::{block, may_block, parse_timeout, propagate_as};
use super::collections::{
    clamp_range, list, list_mut, list_or_create, optional_count, remove_if_empty,
};
use super::{flags::*, is_opt, parse_int, CmdError, CmdResult, Ctx};
use crate::command;
use crate::resp::ReplyWriter;
use crate::value::List;
use bytes::Bytes;

/// The list commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "list", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", lpush),
    command!("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "list", "Appends one or more elements to a list. Creates the key if it doesn't exist.", rpush),
    command!("lpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "list", "Prepends one or more elements to a list only when the list exists.", lpushx),
    command!("rpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "list", "Appends an element to a list only when the list exists.", rpushx),
    command!("lpop", -2, WRITE | FAST, (1, 1, 1), "list", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", lpop),
    command!("rpop", -2, WRITE | FAST, (1, 1, 1), "list", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", rpop),
    command!("llen", 2, READONLY | FAST, (1, 1, 1), "list", "Returns the length of a list.", llen),
    command!("lrange", 4, READONLY, (1, 1, 1), "list", "Returns a range of elements from a list.", lrange),
    command!("lindex", 3, READONLY, (1, 1, 1), "list", "Returns an element from a list by its index.", lindex),
    command!("lset", 4, WRITE | DENYOOM, (1, 1, 1), "list", "Sets the value of an element in a list by its index.", lset),
    command!("linsert", 5, WRITE | DENYOOM, (1, 1, 1), "list", "Inserts an element before or after another element in a list.", linsert),
    command!("lrem", 4, WRITE, (1, 1, 1), "list", "Removes elements from a list. Deletes the list if the last element was removed.", lrem),
    command!("ltrim", 4, WRITE, (1, 1, 1), "list", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", ltrim),
    command!("lpos", -3, READONLY, (1, 1, 1), "list", "Returns the index of matching elements in a list.", lpos),
    command!("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), "list", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", rpoplpush),
    command!("lmove", 5, WRITE | DENYOOM, (1, 2, 1), "list", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", lmove),
    command!("lmpop", -4, WRITE, (0, 0, 0), "list", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", lmpop),
    command!("blpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), "list", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blpop),
    command!("brpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), "list", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", brpop),
    command!("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), "list", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", brpoplpush),
    command!("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), "list", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", blmove),
    command!("blmpop", -5, WRITE | BLOCKING, (0, 0, 0), "list", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blmpop),
];

fn push_generic(ctx: &mut Ctx, args: &[Bytes], head: bool, only_existing: bool) -> CmdResult {
    let (db, key) = (ctx.db(), &args[1]);
    if only_existing && list_mut(ctx.node, db, key)?.is_none() {
        ctx.client.out.int(0);
        return Ok(());
    }
    let l = list_or_create(ctx.node, db, key, List::new)?;
    for v in &args[2..] {
        l.push(v.to_vec(), head);
    }
    let len = l.len();
    ctx.modified(key);
    ctx.client.out.int(len as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, true, false)
}
fn rpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, false, false)
}
fn lpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, true, true)
}
fn rpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, false, true)
}

/// Pop up to `count` elements from the list at `key`, deleting it when
/// emptied. The list must exist.
fn pop_many(ctx: &mut Ctx, key: &[u8], head: bool, count: usize) -> Vec<Vec<u8>> {
    let db = ctx.db();
    let Ok(Some(l)) = list_mut(ctx.node, db, key) else {
        return Vec::new();
    };
    let n = count.min(l.len());
    let out: Vec<Vec<u8>> = (0..n).filter_map(|_| l.pop(head)).collect();
    remove_if_empty(ctx.node, db, key);
    ctx.modified(key);
    out
}

fn pop_generic(ctx: &mut Ctx, args: &[Bytes], head: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Arity(crate::util::lower(&args[0])));
    }
    let count = optional_count(args.get(2))?;
    let (db, key) = (ctx.db(), &args[1]);
    if list_mut(ctx.node, db, key)?.is_none() {
        match count {
            Some(_) => ctx.client.out.null_array(),
            None => ctx.client.out.null_bulk(),
        }
        return Ok(());
    }
    match count {
        Some(0) => ctx.client.out.array_len(0),
        Some(n) => {
            let items = pop_many(ctx, key, head, n);
            ctx.client.out.array_len(items.len());
            for v in items {
                ctx.client.out.bulk(&v);
            }
        }
        None => {
            let v = pop_many(ctx, key, head, 1);
            ctx.client.out.bulk(&v[0]);
        }
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, true)
}
fn rpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, false)
}

fn llen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = list(ctx.node, ctx.client.db, &args[1])?.map_or(0, |l| l.len());
    ctx.client.out.int(n as i64);
    Ok(())
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = parse_int(&args[2])?;
    let end = parse_int(&args[3])?;
    let out = &mut ctx.client.out;
    match list(ctx.node, ctx.client.db, &args[1])? {
        None => out.array_len(0),
        Some(l) => match clamp_range(start, end, l.len()) {
            None => out.array_len(0),
            Some((s, e)) => {
                // Size the reply once: a bulk is its bytes plus at most 25.
                let bytes: usize = l.range(s, e + 1).map(|v| v.len() + 25).sum();
                out.reserve(bytes + 24);
                out.array_len(e - s + 1);
                for v in l.range(s, e + 1) {
                    out.bulk(v);
                }
            }
        },
    }
    Ok(())
}

/// A list index (negative from the tail) resolved against `len`.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { index + len as i64 } else { index };
    (i >= 0 && (i as usize) < len).then_some(i as usize)
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let out = &mut ctx.client.out;
    let Some(l) = list(ctx.node, ctx.client.db, &args[1])? else {
        out.null_bulk();
        return Ok(());
    };
    let index = parse_int(&args[2])?;
    match resolve_index(index, l.len()).and_then(|i| l.get(i)) {
        Some(v) => out.bulk(v),
        None => out.null_bulk(),
    }
    Ok(())
}

fn lset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (db, key) = (ctx.db(), &args[1]);
    let Some(l) = list_mut(ctx.node, db, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let index = parse_int(&args[2])?;
    match resolve_index(index, l.len()) {
        Some(i) => {
            l.set(i, args[3].to_vec());
        }
        None => return Err(CmdError::err("index out of range")),
    }
    ctx.modified(key);
    ctx.client.out.ok();
    Ok(())
}

fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let after = if is_opt(&args[2], "after") {
        true
    } else if is_opt(&args[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (db, key) = (ctx.db(), &args[1]);
    let Some(l) = list_mut(ctx.node, db, key)? else {
        ctx.client.out.int(0);
        return Ok(());
    };
    let Some(pos) = l.iter().position(|v| v == &args[3][..]) else {
        ctx.client.out.int(-1);
        return Ok(());
    };
    l.insert(if after { pos + 1 } else { pos }, args[4].to_vec());
    let len = l.len();
    ctx.modified(key);
    ctx.client.out.int(len as i64);
    Ok(())
}

fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = parse_int(&args[2])?;
    let (db, key) = (ctx.db(), &args[1]);
    let Some(l) = list_mut(ctx.node, db, key)? else {
        ctx.client.out.int(0);
        return Ok(());
    };
    let removed = l.remove_matching(&args[3], count.unsigned_abs() as usize, count < 0);
    if removed > 0 {
        remove_if_empty(ctx.node, db, key);
        ctx.modified(key);
    }
    ctx.client.out.int(removed as i64);
    Ok(())
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = parse_int(&args[2])?;
    let end = parse_int(&args[3])?;
    let (db, key) = (ctx.db(), &args[1]);
    let Some(l) = list_mut(ctx.node, db, key)? else {
        ctx.client.out.ok();
        return Ok(());
    };
    match clamp_range(start, end, l.len()) {
        None => l.keep_range(0, 0),
        Some((s, e)) => l.keep_range(s, e + 1),
    }
    remove_if_empty(ctx.node, db, key);
    ctx.modified(key);
    ctx.client.out.ok();
    Ok(())
}

fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        if is_opt(&args[j], "rank") && more {
            rank = parse_int(&args[j + 1])?;
            if rank == 0 {
                return Err(CmdError::err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
        } else if is_opt(&args[j], "count") && more {
            let c = parse_int(&args[j + 1])?;
            if c < 0 {
                return Err(CmdError::err("COUNT can't be negative"));
            }
            count = Some(c);
        } else if is_opt(&args[j], "maxlen") && more {
            maxlen = parse_int(&args[j + 1])?;
            if maxlen < 0 {
                return Err(CmdError::err("MAXLEN can't be negative"));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    let out = &mut ctx.client.out;
    let Some(l) = list(ctx.node, ctx.client.db, &args[1])? else {
        match count {
            Some(_) => out.array_len(0),
            None => out.null_bulk(),
        }
        return Ok(());
    };
    let from_tail = rank < 0;
    // Redis negates the rank with wrap-around: LLONG_MIN stays negative and
    // so matches at the first hit.
    let skip = if rank == i64::MIN {
        0
    } else {
        rank.unsigned_abs() - 1
    };
    let want = match count {
        Some(0) => usize::MAX,
        Some(c) => c as usize,
        None => 1,
    };
    let len = l.len();
    let limit = if maxlen == 0 {
        len
    } else {
        (maxlen as usize).min(len)
    };
    let mut found = Vec::new();
    let mut matches = 0u64;
    for step in 0..limit {
        let i = if from_tail { len - 1 - step } else { step };
        if l.get(i) == Some(&args[2][..]) {
            matches += 1;
            if matches > skip {
                found.push(i);
                if found.len() >= want {
                    break;
                }
            }
        }
    }
    match count {
        Some(_) => {
            out.array_len(found.len());
            for i in found {
                out.int(i as i64);
            }
        }
        None => match found.first() {
            Some(&i) => out.int(i as i64),
            None => out.null_bulk(),
        },
    }
    Ok(())
}

/// `LEFT` (head) or `RIGHT` (tail).
fn parse_side(arg: &[u8]) -> Result<bool, CmdError> {
    if is_opt(arg, "left") {
        Ok(true)
    } else if is_opt(arg, "right") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// LMOVE's core: `Ok(None)` when the source is missing or empty.
fn move_one(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from_head: bool,
    to_head: bool,
) -> Result<Option<Vec<u8>>, CmdError> {
    let db = ctx.db();
    match list_mut(ctx.node, db, src)? {
        Some(l) if !l.is_empty() => {}
        _ => return Ok(None),
    }
    if src != dst {
        list_mut(ctx.node, db, dst)?;
    }
    let l = list_mut(ctx.node, db, src)?.expect("checked above");
    let v = l.pop(from_head).expect("not empty");
    if src == dst {
        l.push(v.clone(), to_head);
    } else {
        remove_if_empty(ctx.node, db, src);
        let d = list_or_create(ctx.node, db, dst, List::new)?;
        d.push(v.clone(), to_head);
    }
    ctx.modified(src);
    if src != dst {
        ctx.modified(dst);
    }
    Ok(Some(v))
}

fn reply_moved(ctx: &mut Ctx, v: Option<Vec<u8>>) {
    match v {
        Some(v) => ctx.client.out.bulk(&v),
        None => ctx.client.out.null_bulk(),
    }
}

fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let v = move_one(ctx, &args[1], &args[2], false, true)?;
    reply_moved(ctx, v);
    Ok(())
}

fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let from = parse_side(&args[3])?;
    let to = parse_side(&args[4])?;
    let v = move_one(ctx, &args[1], &args[2], from, to)?;
    reply_moved(ctx, v);
    Ok(())
}

/// LMPOP/BLMPOP arguments: keys, side, count.
struct MPop {
    keys: Vec<Bytes>,
    head: bool,
    count: usize,
}

fn parse_mpop(args: &[Bytes], numkeys_idx: usize) -> Result<MPop, CmdError> {
    let numkeys = match crate::util::parse_i64(&args[numkeys_idx]) {
        Some(n) if n >= 1 => n as usize,
        _ => return Err(CmdError::err("numkeys should be greater than 0")),
    };
    let where_idx = numkeys_idx
        .checked_add(numkeys)
        .and_then(|v| v.checked_add(1))
        .filter(|&w| w < args.len())
        .ok_or(CmdError::Syntax)?;
    let head = parse_side(&args[where_idx])?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && is_opt(&args[j], "count") && j + 1 < args.len() {
            match crate::util::parse_i64(&args[j + 1]) {
                Some(n) if n >= 1 => count = Some(n as usize),
                _ => return Err(CmdError::err("count should be greater than 0")),
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MPop {
        keys: args[numkeys_idx + 1..where_idx].to_vec(),
        head,
        count: count.unwrap_or(1),
    })
}

/// Pop from the first non-empty list among `keys`, replying `[key, [..]]`;
/// false if all are empty.
fn mpop_keys(ctx: &mut Ctx, keys: &[Bytes], head: bool, count: usize) -> Result<bool, CmdError> {
    let db = ctx.db();
    for key in keys {
        match list_mut(ctx.node, db, key)? {
            Some(l) if !l.is_empty() => {
                let items = pop_many(ctx, key, head, count);
                // Replicated as [LR]POP key count.
                propagate_as(
                    ctx,
                    vec![
                        pop_name(head),
                        key.to_vec(),
                        items.len().to_string().into_bytes(),
                    ],
                );
                let out = &mut ctx.client.out;
                out.array_len(2);
                out.bulk(key);
                out.array_len(items.len());
                for v in items {
                    out.bulk(&v);
                }
                return Ok(true);
            }
            _ => {}
        }
    }
    Ok(false)
}

fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let m = parse_mpop(args, 1)?;
    if !mpop_keys(ctx, &m.keys, m.head, m.count)? {
        ctx.client.out.null_array();
    }
    Ok(())
}

/// Pop one element from the first non-empty list, replying `[key, value]`.
fn bpop_keys(ctx: &mut Ctx, keys: &[Bytes], head: bool) -> Result<bool, CmdError> {
    let db = ctx.db();
    for key in keys {
        match list_mut(ctx.node, db, key)? {
            Some(l) if !l.is_empty() => {
                let v = pop_many(ctx, key, head, 1);
                propagate_as(ctx, vec![pop_name(head), key.to_vec()]);
                let out = &mut ctx.client.out;
                out.array_len(2);
                out.bulk(key);
                out.bulk(&v[0]);
                return Ok(true);
            }
            _ => {}
        }
    }
    Ok(false)
}

fn pop_name(head: bool) -> Vec<u8> {
    if head {
        b"LPOP".to_vec()
    } else {
        b"RPOP".to_vec()
    }
}

/// The non-blocking form of BLMOVE/BRPOPLPUSH, for replication.
fn move_form(args: &[Bytes]) -> Vec<Vec<u8>> {
    if is_opt(&args[0], "blmove") {
        [&b"LMOVE"[..], &args[1], &args[2], &args[3], &args[4]]
            .iter()
            .map(|a| a.to_vec())
            .collect()
    } else {
        vec![b"RPOPLPUSH".to_vec(), args[1].to_vec(), args[2].to_vec()]
    }
}

fn block_or_null(
    ctx: &mut Ctx,
    keys: &[Bytes],
    deadline: Option<u64>,
    args: &[Bytes],
    null_array: bool,
) {
    if may_block(ctx) {
        block(
            ctx,
            keys.iter().map(|k| k.to_vec()).collect(),
            deadline,
            args,
        );
    } else if null_array {
        ctx.client.out.null_array();
    } else {
        ctx.client.out.null_bulk();
    }
}

fn bpop_generic(ctx: &mut Ctx, args: &[Bytes], head: bool) -> CmdResult {
    let deadline = parse_timeout(&args[args.len() - 1], ctx.now())?;
    let keys = &args[1..args.len() - 1];
    if !bpop_keys(ctx, keys, head)? {
        block_or_null(ctx, keys, deadline, args, true);
    }
    Ok(())
}

fn blpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop_generic(ctx, args, true)
}
fn brpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop_generic(ctx, args, false)
}

fn bmove_generic(ctx: &mut Ctx, args: &[Bytes], from: bool, to: bool, timeout: &[u8]) -> CmdResult {
    let deadline = parse_timeout(timeout, ctx.now())?;
    let v = move_one(ctx, &args[1], &args[2], from, to)?;
    match v {
        Some(v) => {
            propagate_as(ctx, move_form(args));
            ctx.client.out.bulk(&v);
        }
        None => block_or_null(ctx, &args[1..2], deadline, args, false),
    }
    Ok(())
}

fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bmove_generic(ctx, args, false, true, &args[3])
}

fn blmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let from = parse_side(&args[3])?;
    let to = parse_side(&args[4])?;
    bmove_generic(ctx, args, from, to, &args[5])
}

fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let m = parse_mpop(args, 2)?;
    let deadline = parse_timeout(&args[1], ctx.now())?;
    if !mpop_keys(ctx, &m.keys, m.head, m.count)? {
        block_or_null(ctx, &m.keys, deadline, args, true);
    }
    Ok(())
}

/// Serve a client blocked by a list command now that `key` may hold data:
/// the command runs in its non-blocking form against that key only (and
/// that form — LPOP/RPOP, LMOVE, LMPOP — is what replication carries).
/// False if there was nothing to serve.
pub fn serve_blocked(ctx: &mut Ctx, args: &[Bytes], key: &[u8]) -> Result<bool, CmdError> {
    let keys = [Bytes::copy_from_slice(key)];
    match crate::util::lower(&args[0]).as_str() {
        "blpop" => bpop_keys(ctx, &keys, true),
        "brpop" => bpop_keys(ctx, &keys, false),
        "blmpop" => {
            let m = parse_mpop(args, 2)?;
            mpop_keys(ctx, &keys, m.head, m.count)
        }
        name @ ("brpoplpush" | "blmove") => {
            let (from, to) = if name == "blmove" {
                (parse_side(&args[3])?, parse_side(&args[4])?)
            } else {
                (false, true)
            };
            match move_one(ctx, &args[1], &args[2], from, to)? {
                Some(v) => {
                    propagate_as(ctx, move_form(args));
                    ctx.client.out.bulk(&v);
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        _ => Ok(false),
    }
}
