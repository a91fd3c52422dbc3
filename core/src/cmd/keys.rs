//! Generic key commands (`db.c`, `expire.c`): DEL, EXISTS, TYPE and friends.

use super::{flags::*, CmdResult, Ctx};
use crate::command;
use crate::resp::ReplyWriter;
use bytes::Bytes;

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
        "exists",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        "generic",
        "Determines whether one or more keys exist.",
        exists
    ),
];

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
    let (db, now) = (ctx.db(), ctx.now());
    let n = args[1..]
        .iter()
        .filter(|k| ctx.node.ks.exists(db, k, now))
        .count();
    ctx.client.out.int(n as i64);
    Ok(())
}
