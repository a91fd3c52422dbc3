//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
//! BZPOPMAX), as Redis 7.0's `blocked.c` serves them.
//!
//! * A blocking command that finds nothing to pop, run at top level (not
//!   inside MULTI/EXEC, where it answers at once as if timed out), parks the
//!   client: no reply, no further input processed, an entry in a per-key FIFO
//!   queue and, unless the timeout is 0, in the deadline index that
//!   [`Node::next_deadline`](crate::node::Node::next_deadline) consults.
//! * Every way a list or sorted set comes into being (a push, a `*STORE`
//!   destination, RENAME, COPY, MOVE, LMOVE's target, a master's stream...)
//!   signals its key as ready, because Redis calls `signalKeyAsReady` from
//!   `dbAdd`: here the keyspace logs the lists and sorted sets it adds while
//!   some client is blocked, and [`signal_created_keys`] turns that log into
//!   ready keys after each command call. SWAPDB rescans the blocked keys of
//!   both databases (`scanDatabaseForReadyKeys`).
//!   After the whole command (after EXEC for a transaction) the ready keys
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

use super::{is_opt, Blocked, Client, Ctx};
use crate::node::{ConnId, Node};
use crate::resp::ReplyWriter;
use crate::small_map::SmallSet;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};

/// A key in a database.
type DbKey = (usize, Vec<u8>);

/// Every blocked client, indexed by key and by deadline.
#[derive(Debug)]
pub struct BlockingState {
    /// Keyed by client-chosen keys: hashed with the node's seeded keys.
    waiting: HashMap<DbKey, VecDeque<(u64, ConnId)>, ahash::RandomState>,
    /// Sorted `Vec` (see `small_map`): clients with a timeout are few, and
    /// one B-tree type less in the browser build.
    deadlines: SmallSet<(u64, ConnId)>,
    ready: Vec<(usize, Vec<u8>)>,
    next_seq: u64,
    /// Nesting of command calls (1 = top level, 2 = inside EXEC).
    pub(crate) depth: u32,
    /// A woken client is being served (outside any command call).
    serving: bool,
}

impl BlockingState {
    /// No client blocked; key hashes keyed by the node's `seed`.
    pub fn new(seed: u64) -> BlockingState {
        BlockingState {
            waiting: HashMap::with_hasher(crate::db::hasher(seed ^ 0xb10c_4ed0)),
            deadlines: SmallSet::default(),
            ready: Vec::new(),
            next_seq: 0,
            depth: 0,
            serving: false,
        }
    }

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

/// Keep the keyspace's log of added lists and sorted sets on exactly while
/// some client is blocked, and signal each logged key (`dbAdd`'s call to
/// `signalKeyAsReady`). Runs around every command call and after every
/// served client, so a keyspace replaced by a load is logged again too.
pub(crate) fn signal_created_keys(node: &mut Node) {
    let blocked = !node.blocking.waiting.is_empty();
    if blocked != node.ks.tracks_created() {
        node.ks.track_created(blocked);
    }
    if blocked {
        for (db, key) in node.ks.take_created() {
            signal_key_ready(node, db, &key);
        }
    }
}

/// Signal every key of `db` that a client is blocked on and that now holds
/// a list or sorted set (`scanDatabaseForReadyKeys`, after SWAPDB), in the
/// order the clients blocked.
pub fn signal_ready_keys_in_db(node: &mut Node, db: usize) {
    let mut keys: Vec<(u64, Vec<u8>)> = node
        .blocking
        .waiting
        .iter()
        .filter(|((d, _), _)| *d == db)
        .map(|((_, k), q)| (q.front().map_or(0, |e| e.0), k.clone()))
        .collect();
    crate::util::sort_by(&mut keys, Ord::cmp);
    for (_, key) in keys {
        if matches!(
            node.ks.db(db).peek(&key),
            Some(crate::value::Value::List(_) | crate::value::Value::ZSet(_))
        ) {
            signal_key_ready(node, db, &key);
        }
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
                // Only clients waiting for the key's type are served
                // (`serveClientsBlockedOnListKey` skips other block types).
                let is_zset = match node.ks.db(db).peek(&key) {
                    Some(crate::value::Value::List(_)) => false,
                    Some(crate::value::Value::ZSet(_)) => true,
                    _ => break,
                };
                let waits_for_zset = node
                    .clients
                    .get(&id)
                    .and_then(|c| c.blocked.as_ref())
                    .is_some_and(|b| {
                        is_opt(&b.args[0], "bzpopmin") || is_opt(&b.args[0], "bzpopmax")
                    });
                if node.clients.contains_key(&id) && waits_for_zset != is_zset {
                    continue;
                }
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
                    let r = if is_zset {
                        super::zsets::serve_blocked(&mut ctx, &args, &key)
                    } else {
                        super::lists::serve_blocked(&mut ctx, &args, &key)
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
                // A served BLMOVE may have created its destination.
                signal_created_keys(node);
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

#[cfg(test)]
mod tests {
    use crate::node::{ConnId, Input, Node, Output};
    use crate::Config;
    use std::collections::HashMap;

    const T0: u64 = 1_700_000_000_000;

    /// Feed `cmds` on `conn` at `now`; every client's bytes, by connection.
    fn feed(node: &mut Node, now: u64, conn: ConnId, cmds: &[&[&str]]) -> HashMap<ConnId, Vec<u8>> {
        let mut req = Vec::new();
        for c in cmds {
            crate::resp::encode_command(&mut req, c);
        }
        node.handle_input(now, Input::Received(conn, req.into()));
        drain(node)
    }

    fn drain(node: &mut Node) -> HashMap<ConnId, Vec<u8>> {
        let mut out: HashMap<ConnId, Vec<u8>> = HashMap::new();
        while let Some(o) = node.poll_output() {
            if let Output::Send(c, b) = o {
                out.entry(c).or_default().extend_from_slice(&b);
            }
        }
        out
    }

    fn tick(node: &mut Node, now: u64) -> HashMap<ConnId, Vec<u8>> {
        node.handle_input(now, Input::Tick);
        drain(node)
    }

    #[test]
    fn timeout_follows_the_time_input_and_next_deadline() {
        let mut node = Node::new(Config::default(), 1, T0);
        let a = node.accept(T0, "127.0.0.1:1".into());
        let out = feed(&mut node, T0, a, &[&["BLPOP", "k", "0.25"], &["PING"]]);
        assert!(!out.contains_key(&a), "blocked: no reply, PING waits");
        assert!(node.next_deadline() <= T0 + 250);
        assert!(!tick(&mut node, T0 + 249).contains_key(&a));
        let out = tick(&mut node, T0 + 250);
        assert_eq!(out[&a], b"*-1\r\n+PONG\r\n");
    }

    #[test]
    fn pushes_serve_blocked_clients_first_come_first_served() {
        let mut node = Node::new(Config::default(), 1, T0);
        let (a, b, c, p) = (
            node.accept(T0, "127.0.0.1:1".into()),
            node.accept(T0, "127.0.0.1:2".into()),
            node.accept(T0, "127.0.0.1:3".into()),
            node.accept(T0, "127.0.0.1:4".into()),
        );
        feed(&mut node, T0, a, &[&["BRPOP", "k", "0"]]);
        feed(&mut node, T0, b, &[&["BLPOP", "other", "k", "0"]]);
        feed(&mut node, T0, c, &[&["BZPOPMIN", "k", "0"]]);
        let out = feed(&mut node, T0 + 1, p, &[&["RPUSH", "k", "x", "y", "z"]]);
        assert_eq!(out[&p], b":3\r\n");
        assert_eq!(out[&a], b"*2\r\n$1\r\nk\r\n$1\r\nz\r\n");
        assert_eq!(out[&b], b"*2\r\n$1\r\nk\r\n$1\r\nx\r\n");
        assert!(!out.contains_key(&c), "a list does not serve BZPOPMIN");
        // The list still holds y, and nobody else waits for a list.
        let out = feed(
            &mut node,
            T0 + 2,
            p,
            &[&["LLEN", "k"], &["DEL", "k"], &["ZADD", "k", "1", "m"]],
        );
        assert_eq!(out[&p], b":1\r\n:1\r\n:1\r\n");
        assert_eq!(out[&c], b"*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n1\r\n");
        assert_eq!(node.blocking.blocked_keys(), 0);
        assert_eq!(node.blocking.next_deadline(), None);
    }

    #[test]
    fn a_closed_blocked_client_is_skipped() {
        let mut node = Node::new(Config::default(), 1, T0);
        let (a, b, p) = (
            node.accept(T0, "127.0.0.1:1".into()),
            node.accept(T0, "127.0.0.1:2".into()),
            node.accept(T0, "127.0.0.1:3".into()),
        );
        feed(&mut node, T0, a, &[&["BLPOP", "k", "0"]]);
        feed(&mut node, T0, b, &[&["BLPOP", "k", "0"]]);
        node.handle_input(T0, Input::Closed(a));
        let out = feed(&mut node, T0, p, &[&["LPUSH", "k", "v"]]);
        assert_eq!(out[&b], b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
        assert_eq!(node.blocking.blocked_keys(), 0);
    }

    fn stream(node: &Node) -> String {
        let b = node.repl.backlog.as_ref().expect("backlog");
        String::from_utf8_lossy(&b.read_from(b.first_byte_offset()).expect("covered"))
            .replace("\r\n", " ")
    }

    #[test]
    fn replicas_receive_the_non_blocking_form() {
        let mut node = Node::new(Config::default(), 1, T0);
        let mut rng = crate::rng::Rng::new(1);
        node.repl.ensure_backlog(1 << 20, &mut rng);
        let (a, p) = (
            node.accept(T0, "127.0.0.1:1".into()),
            node.accept(T0, "127.0.0.1:2".into()),
        );
        feed(&mut node, T0, p, &[&["RPUSH", "k", "v"]]);
        // Served at once: BLPOP travels as LPOP, BLMOVE as LMOVE.
        feed(
            &mut node,
            T0,
            a,
            &[
                &["BLPOP", "k", "0"],
                &["RPUSH", "k", "w"],
                &["BLMOVE", "k", "d", "LEFT", "RIGHT", "0"],
            ],
        );
        // Served on wake-up: the push, then the pop.
        feed(&mut node, T0, a, &[&["BZPOPMAX", "z", "0"]]);
        feed(&mut node, T0, p, &[&["ZADD", "z", "1", "m"]]);
        // SPOP travels as the SREM of what it drew.
        feed(&mut node, T0, p, &[&["SADD", "s", "x"], &["SPOP", "s"]]);
        let s = stream(&node);
        let want = [
            "$5 RPUSH $1 k $1 v",
            "$4 LPOP $1 k",
            "$5 RPUSH $1 k $1 w",
            "$5 LMOVE $1 k $1 d $4 LEFT $5 RIGHT",
            "$4 ZADD $1 z $1 1 $1 m",
            "$7 ZPOPMAX $1 z",
            "$4 SADD $1 s $1 x",
            "$4 SREM $1 s $1 x",
        ];
        let mut at = 0;
        for w in want {
            let found = s[at..]
                .find(w)
                .unwrap_or_else(|| panic!("{w:?} not in order in {s:?}"));
            at += found + w.len();
        }
        assert!(
            !s.contains("BLPOP")
                && !s.contains("BLMOVE")
                && !s.contains("BZPOPMAX")
                && !s.contains("SPOP"),
            "{s}"
        );
    }
}
