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
        ctx.node.watch_used = true;
    }
    ctx.client.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    unwatch_all(ctx);
    ctx.client.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::node::tests::send;
    use crate::node::{ConnId, Node};

    const T0: u64 = 1_700_000_000_000;

    /// Send one command at time `now`, return the reply text.
    fn run(node: &mut Node, conn: ConnId, now: u64, args: &[&str]) -> String {
        String::from_utf8_lossy(&send(node, now, conn, &[args])).into_owned()
    }

    fn node() -> (Node, ConnId, ConnId) {
        let mut n = Node::new(crate::Config::default(), 7, T0);
        let a = n.accept(T0, "127.0.0.1:1000".into());
        let b = n.accept(T0, "127.0.0.1:1001".into());
        (n, a, b)
    }

    #[test]
    fn expiry_of_a_watched_key_fails_exec_without_any_access() {
        let (mut n, a, _) = node();
        run(&mut n, a, T0, &["SET", "k", "v", "PX", "1000"]);
        assert_eq!(run(&mut n, a, T0, &["WATCH", "k"]), "+OK\r\n");
        assert_eq!(run(&mut n, a, T0 + 500, &["MULTI"]), "+OK\r\n");
        assert_eq!(run(&mut n, a, T0 + 500, &["PING"]), "+QUEUED\r\n");
        // 1 ms after the TTL, the key was never touched, no cycle ran.
        assert_eq!(run(&mut n, a, T0 + 1001, &["EXEC"]), "*-1\r\n");
        // Unwatched after EXEC: the next transaction runs.
        run(&mut n, a, T0 + 1001, &["MULTI"]);
        run(&mut n, a, T0 + 1001, &["PING"]);
        assert_eq!(run(&mut n, a, T0 + 1001, &["EXEC"]), "*1\r\n+PONG\r\n");
    }

    #[test]
    fn a_key_already_expired_when_watched_is_no_change() {
        let (mut n, a, _) = node();
        n.config.active_expire = false;
        run(&mut n, a, T0, &["SET", "k", "v", "PX", "10"]);
        run(&mut n, a, T0 + 20, &["WATCH", "k"]);
        // Its lazy deletion by a read is not a modification either.
        assert_eq!(run(&mut n, a, T0 + 30, &["GET", "k"]), "$-1\r\n");
        run(&mut n, a, T0 + 30, &["MULTI"]);
        run(&mut n, a, T0 + 30, &["PING"]);
        assert_eq!(run(&mut n, a, T0 + 40, &["EXEC"]), "*1\r\n+PONG\r\n");
    }

    #[test]
    fn another_clients_write_and_queueing_errors() {
        let (mut n, a, b) = node();
        run(&mut n, a, T0, &["WATCH", "k"]);
        run(&mut n, b, T0, &["SET", "k", "1"]);
        run(&mut n, a, T0, &["MULTI"]);
        run(&mut n, a, T0, &["GET", "k"]);
        assert_eq!(run(&mut n, a, T0, &["EXEC"]), "*-1\r\n");
        run(&mut n, a, T0, &["MULTI"]);
        assert_eq!(
            run(&mut n, a, T0, &["GET"]),
            "-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(run(&mut n, a, T0, &["GET", "k"]), "+QUEUED\r\n");
        assert_eq!(
            run(&mut n, a, T0, &["EXEC"]),
            "-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
        assert_eq!(run(&mut n, a, T0, &["EXEC"]), "-ERR EXEC without MULTI\r\n");
    }
}
