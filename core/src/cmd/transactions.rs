//! MULTI / EXEC / DISCARD / WATCH / UNWATCH (`multi.c`).
//!
//! Between MULTI and EXEC commands are queued and answered `+QUEUED`; a
//! command rejected while queueing (unknown, wrong arity, NOAUTH) makes EXEC
//! answer `-EXECABORT Transaction discarded because of previous errors.`.
//! WATCH is optimistic locking: any change to a watched key (by anyone,
//! including the watcher) before EXEC makes EXEC answer a null array, as does
//! a watched key that expired meanwhile. EXEC, DISCARD and UNWATCH forget
//! the watched keys.

use super::{call, flags::*, lookup, CmdError, CmdResult, Ctx, MultiState};
use crate::command;
use crate::resp::ReplyWriter;
use bytes::Bytes;

/// The transaction commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        (0, 0, 0),
        "transactions",
        "Starts a transaction.",
        multi
    ),
    command!(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "transactions",
        "Executes all commands in a transaction.",
        exec
    ),
    command!(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        (0, 0, 0),
        "transactions",
        "Discards a transaction.",
        discard
    ),
    command!(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST,
        (1, -1, 1),
        "transactions",
        "Monitors changes to keys to determine the execution of a transaction.",
        watch
    ),
    command!(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        (0, 0, 0),
        "transactions",
        "Forgets about watched keys of a transaction.",
        unwatch
    ),
];

fn multi(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(MultiState::default());
    ctx.client.out.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    unwatch_all(ctx);
    ctx.client.out.ok();
    Ok(())
}

/// Forget every watched key of the client.
pub fn unwatch_all(ctx: &mut Ctx) {
    ctx.client.watched.clear();
    ctx.client.dirty_cas = false;
}

fn watched_key_expired(ctx: &Ctx) -> bool {
    let now = ctx.node.now;
    ctx.client
        .watched
        .iter()
        .any(|(db, key, was_expired)| !was_expired && ctx.node.ks.db(*db).is_expired(key, now))
}

fn exec(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let Some(state) = ctx.client.multi.take() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    if state.error {
        unwatch_all(ctx);
        return Err(CmdError::Other(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    if ctx.client.dirty_cas || watched_key_expired(ctx) {
        unwatch_all(ctx);
        ctx.client.out.null_array();
        return Ok(());
    }
    unwatch_all(ctx);
    ctx.client.out.array_len(state.queued.len());
    for args in state.queued {
        match lookup(&args) {
            Ok((spec, full)) => call(ctx.node, ctx.client, spec, &full, &args),
            Err(e) => ctx.client.out.error(&e.text()),
        }
    }
    Ok(())
}

fn watch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    let now = ctx.node.now;
    for key in &args[1..] {
        if ctx
            .client
            .watched
            .iter()
            .any(|(d, k, _)| *d == db && k[..] == key[..])
        {
            continue;
        }
        let expired = ctx.node.ks.db(db).is_expired(key, now);
        ctx.client.watched.push((db, key.to_vec(), expired));
    }
    ctx.client.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    unwatch_all(ctx);
    ctx.client.out.ok();
    Ok(())
}
