//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
//! BZPOPMAX), as Redis 7.0's `blocked.c` serves them.
//!
//! * A blocking command that finds nothing to pop, run at top level (not
//!   inside MULTI/EXEC, where it answers at once as if timed out), parks the
//!   client: no reply, no further input processed, an entry in a per-key FIFO
//!   queue and, unless the timeout is 0, in the deadline index that
//!   [`Node::next_deadline`](crate::node::Node::next_deadline) consults.
//! * A command that creates a list or sorted set calls [`signal_key_ready`];
//!   after the whole command (after EXEC for a transaction) the ready keys
//!   are handled in the order they were signalled, and for each key the
//!   clients blocked on it are served first-come first-served while the key
//!   holds data. A served client gets its reply as if its command had just
//!   run against that one key, and then its pending input is processed
//!   (`processUnblockedClients`).
//! * On timeout the client gets a null array (`*-1`), whatever the command.
//!
//! Replication hook: the serve path runs the command's non-blocking form
//! (`lists::serve_blocked`, `zsets::serve_blocked`), so what a replica
//! must receive is that form (`LPOP key`, `LMOVE ...`, `ZPOPMIN key`), as
//! Redis propagates it.

use super::{Blocked, Client, Ctx};
use crate::node::{ConnId, Node};
use crate::resp::ReplyWriter;
use bytes::Bytes;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// A key in a database.
type DbKey = (usize, Vec<u8>);

/// Every blocked client, indexed by key and by deadline.
#[derive(Debug, Default)]
pub struct BlockingState {
    waiting: HashMap<DbKey, VecDeque<(u64, ConnId)>>,
    deadlines: BTreeSet<(u64, ConnId)>,
    ready: Vec<(usize, Vec<u8>)>,
    next_seq: u64,
    /// Nesting of command calls (1 = top level, 2 = inside EXEC).
    pub(crate) depth: u32,
    /// A woken client is being served (outside any command call).
    serving: bool,
}

impl BlockingState {
    /// The earliest timeout of a blocked client (Unix ms).
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|d| d.0)
    }

    /// Number of keys some client is blocked on.
    pub fn blocked_keys(&self) -> usize {
        self.waiting.len()
    }

    fn drop_waiter(&mut self, db: usize, key: &[u8], seq: u64) {
        let k = (db, key.to_vec());
        if let Some(q) = self.waiting.get_mut(&k) {
            q.retain(|e| e.0 != seq);
            if q.is_empty() {
                self.waiting.remove(&k);
            }
        }
    }
}

/// Whether the running command may block: at top level only, not inside
/// EXEC (there Redis answers as on timeout).
pub fn may_block(ctx: &Ctx) -> bool {
    ctx.node.blocking.depth <= 1 && ctx.client.multi.is_none()
}

/// Park the calling client on `keys` until one is served or `deadline`.
pub fn block(ctx: &mut Ctx, keys: Vec<Vec<u8>>, deadline: Option<u64>, args: &[Bytes]) {
    let st = &mut ctx.node.blocking;
    let seq = st.next_seq;
    st.next_seq += 1;
    let (db, id) = (ctx.client.db, ctx.client.id);
    for k in &keys {
        let q = st.waiting.entry((db, k.clone())).or_default();
        if !q.iter().any(|e| e.0 == seq) {
            q.push_back((seq, id));
        }
    }
    if let Some(d) = deadline {
        st.deadlines.insert((d, id));
    }
    ctx.client.blocked = Some(Blocked {
        db,
        keys,
        deadline,
        args: args.to_vec(),
        seq,
    });
}

fn unblock(st: &mut BlockingState, c: &mut Client) {
    if let Some(b) = c.blocked.take() {
        for k in &b.keys {
            st.drop_waiter(b.db, k, b.seq);
        }
        if let Some(d) = b.deadline {
            st.deadlines.remove(&(d, c.id));
        }
    }
}

/// A list or sorted set was created at `key` (`signalKeyAsReady`): clients
/// blocked on it are served after the current command.
pub fn signal_key_ready(node: &mut Node, db: usize, key: &[u8]) {
    let st = &mut node.blocking;
    if st.waiting.is_empty() {
        return;
    }
    let k = (db, key.to_vec());
    if st.waiting.contains_key(&k) && !st.ready.contains(&k) {
        st.ready.push(k);
    }
}

/// Serve clients blocked on keys signalled ready (`handleClientsBlockedOnKeys`).
pub(crate) fn handle_ready_keys(node: &mut Node) {
    if node.blocking.ready.is_empty() {
        return;
    }
    let mut woken = Vec::new();
    while !node.blocking.ready.is_empty() {
        let ready = std::mem::take(&mut node.blocking.ready);
        for (db, key) in ready {
            let queue: Vec<(u64, ConnId)> = node
                .blocking
                .waiting
                .get(&(db, key.clone()))
                .map(|q| q.iter().copied().collect())
                .unwrap_or_default();
            for (seq, id) in queue {
                let Some(mut c) = node.clients.remove(&id) else {
                    node.blocking.drop_waiter(db, &key, seq);
                    continue;
                };
                let Some(args) = c
                    .blocked
                    .as_ref()
                    .filter(|b| b.seq == seq)
                    .map(|b| b.args.clone())
                else {
                    node.clients.insert(id, c);
                    node.blocking.drop_waiter(db, &key, seq);
                    continue;
                };
                node.blocking.serving = true;
                let served = {
                    let mut ctx = Ctx {
                        node,
                        client: &mut c,
                    };
                    let name = crate::util::lower(&args[0]);
                    let r = match name.as_str() {
                        "bzpopmin" | "bzpopmax" => {
                            super::zsets::serve_blocked(&mut ctx, &args, &key)
                        }
                        _ => super::lists::serve_blocked(&mut ctx, &args, &key),
                    };
                    match r {
                        Ok(served) => served,
                        Err(e) => {
                            ctx.node.stats.error_replies += 1;
                            ctx.client.out.error(&e.text());
                            true
                        }
                    }
                };
                node.blocking.serving = false;
                if served {
                    unblock(&mut node.blocking, &mut c);
                    woken.push(id);
                }
                node.flush_propagation(Some(&mut c));
                node.finish_client(c);
            }
        }
    }
    for id in woken {
        if let Some(mut c) = node.clients.remove(&id) {
            node.process_client(&mut c);
            node.finish_client(c);
        }
    }
}

/// Answer `*-1` to blocked clients whose deadline passed, then process
/// their pending input.
pub fn blocking_timeouts(node: &mut Node) {
    let now = node.now;
    while let Some(&(d, id)) = node.blocking.deadlines.first() {
        if d > now {
            break;
        }
        node.blocking.deadlines.pop_first();
        let Some(mut c) = node.clients.remove(&id) else {
            continue;
        };
        if c.blocked.as_ref().is_some_and(|b| b.deadline == Some(d)) {
            unblock(&mut node.blocking, &mut c);
            c.out.null_array();
            node.process_client(&mut c);
        }
        node.finish_client(c);
    }
}

/// Record what replication must carry for a blocking command that was
/// served: its non-blocking form. Served at once, the form replaces the
/// command (`rewriteClientCommandVector`); served on wake-up, it is added
/// to the stream (`alsoPropagate`), which is flushed after each client.
pub fn propagate_as(ctx: &mut Ctx, args: Vec<Vec<u8>>) {
    if ctx.node.blocking.serving {
        let db = ctx.client.db;
        ctx.node.repl.propagation.also(db, args);
    } else {
        ctx.node.repl.propagation.rewrite(args);
    }
}

/// Parse a blocking timeout in seconds (`getTimeoutFromObjectOrReply`):
/// `None` for 0 (forever), else the absolute deadline in ms.
pub fn parse_timeout(arg: &[u8], now: u64) -> Result<Option<u64>, super::CmdError> {
    let bad = || super::CmdError::err("timeout is not a float or out of range");
    let s = std::str::from_utf8(arg).map_err(|_| bad())?;
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(bad());
    }
    let v: f64 = crate::types::score::parse_range_bound(arg)
        .filter(|(_, excl)| !excl)
        .map(|(v, _)| v)
        .ok_or_else(bad)?;
    let ms = (v * 1000.0).ceil();
    // Past LLONG_MAX the cast in Redis wraps to a negative number.
    if !(0.0..9.223_372_036_854_776e18).contains(&ms) {
        return Err(super::CmdError::err("timeout is negative"));
    }
    let ms = ms as u64;
    if ms == 0 {
        return Ok(None);
    }
    Ok(Some(now.saturating_add(ms)))
}
