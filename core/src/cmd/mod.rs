//! Command execution, as Redis's `processCommand` and `call` do it.
//!
//! Order of checks for every request: the command is looked up (unknown
//! commands and unknown subcommands get Redis's texts), its arity checked
//! (`wrong number of arguments for 'get' command`), then authentication
//! (`-NOAUTH` for everything not flagged [`flags::NO_AUTH`]), then, inside a
//! transaction, the command is queued (`+QUEUED`) and any of the earlier
//! rejections mark the transaction so EXEC answers `-EXECABORT`.
//!
//! Each command family lives in its own module and exports a `COMMANDS`
//! table; [`lookup`] searches them all. A handler gets a [`Ctx`] (the node,
//! the calling client) and the arguments, writes its reply to
//! `ctx.client.out`, and returns an error to have the dispatcher write it.

pub mod blocking;
pub mod collections;
pub mod connection;
pub mod hashes;
pub mod keys;
pub mod lists;
pub mod persistence;
pub mod replication;
pub mod server;
pub mod sets;
pub mod strings;
pub mod transactions;
pub mod zsets;

use crate::node::{ConnId, Node};
use crate::resp::{ReplyWriter, RequestParser};
use bytes::Bytes;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Command flags, as `COMMAND INFO` reports them.
pub mod flags {
    /// Modifies the dataset.
    pub const WRITE: u32 = 1;
    /// Reads the dataset only.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory use.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 4;
    /// Allowed while loading a dataset.
    pub const LOADING: u32 = 1 << 5;
    /// Allowed on a replica with a broken link.
    pub const STALE: u32 = 1 << 6;
    /// O(1) or O(log N).
    pub const FAST: u32 = 1 << 7;
    /// May block the client.
    pub const BLOCKING: u32 = 1 << 8;
    /// Not allowed in scripts.
    pub const NOSCRIPT: u32 = 1 << 9;
    /// Not allowed inside MULTI.
    pub const NO_MULTI: u32 = 1 << 10;
    /// Random output.
    pub const RANDOM: u32 = 1 << 11;

    /// Names for COMMAND INFO, in Redis's order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (NO_AUTH, "no_auth"),
        (FAST, "fast"),
        (NO_MULTI, "no_multi"),
    ];
}

/// A command handler.
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// What a handler returns: `Err` is written as an error reply.
pub type CmdResult = Result<(), CmdError>;

/// One entry of the command table.
pub struct CommandSpec {
    /// Lowercase name.
    pub name: &'static str,
    /// Redis arity: `n` exactly n arguments (name included), `-n` at least n.
    pub arity: i32,
    /// [`flags`] bits.
    pub flags: u32,
    /// First key argument (0 = none), last (-1 = last argument), step.
    pub keys: (i32, i32, i32),
    /// Command group for COMMAND DOCS (`string`, `generic`, `connection`, ...).
    pub group: &'static str,
    /// One-line summary for COMMAND DOCS (kept only with the `command-docs`
    /// feature, the only place it is shown).
    #[cfg(feature = "command-docs")]
    pub summary: &'static str,
    /// The handler.
    pub handler: Handler,
    /// Subcommands (CLIENT, CONFIG, OBJECT, ...), looked up by the second argument.
    pub subcommands: &'static [CommandSpec],
}

/// Declare a command-table entry:
/// `command!("get", 2, READONLY | FAST, (1, 1, 1), "string", "Get the value of a key", get)`.
#[macro_export]
macro_rules! command {
    ($name:expr, $arity:expr, $flags:expr, $keys:expr, $group:expr, $summary:expr, $handler:expr) => {
        $crate::cmd::CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: $keys,
            group: $group,
            #[cfg(feature = "command-docs")]
            summary: $summary,
            handler: $handler,
            subcommands: &[],
        }
    };
    ($name:expr, $arity:expr, $flags:expr, $keys:expr, $group:expr, $summary:expr, $handler:expr, $subs:expr) => {
        $crate::cmd::CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: $keys,
            group: $group,
            #[cfg(feature = "command-docs")]
            summary: $summary,
            handler: $handler,
            subcommands: $subs,
        }
    };
}

/// An error reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// `ERR syntax error`
    Syntax,
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`
    WrongType,
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// `ERR value is not a valid float`
    NotFloat,
    /// `ERR no such key`
    NoSuchKey,
    /// `ERR wrong number of arguments for '<name>' command`
    Arity(String),
    /// Any other error; the text includes its prefix (`ERR ...`, `NOAUTH ...`).
    Other(String),
}

impl CmdError {
    /// The reply text (without `-` and CRLF).
    pub fn text(&self) -> String {
        match self {
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::Arity(name) => format!("ERR wrong number of arguments for '{name}' command"),
            CmdError::Other(s) => s.clone(),
        }
    }

    /// `ERR <text>`
    pub fn err(text: impl std::fmt::Display) -> CmdError {
        CmdError::Other(format!("ERR {text}"))
    }
}

/// A transaction being queued.
#[derive(Debug, Default)]
pub struct MultiState {
    /// Queued commands.
    pub queued: Vec<Vec<Bytes>>,
    /// A command was rejected while queueing: EXEC must abort.
    pub error: bool,
}

/// A client blocked by a blocking command (BLPOP, WAIT, ...); see
/// [`blocking`] for how it is served.
#[derive(Debug, Clone)]
pub struct Blocked {
    /// Database the keys belong to.
    pub db: usize,
    /// Keys whose change may serve the client.
    pub keys: Vec<Vec<u8>>,
    /// When to give up (Unix ms), `None` for never.
    pub deadline: Option<u64>,
    /// The command to run again when a key is ready.
    pub args: Vec<Bytes>,
    /// Order of blocking, to serve clients first-come first-served.
    pub seq: u64,
}

/// One client connection's state.
#[derive(Debug)]
pub struct Client {
    /// Client id (the connection id).
    pub id: ConnId,
    /// Peer address, `ip:port`.
    pub addr: String,
    /// CLIENT SETNAME.
    pub name: Option<Vec<u8>>,
    /// Selected database.
    pub db: usize,
    /// Whether AUTH succeeded (or no password is set).
    pub authenticated: bool,
    /// Request decoder.
    pub parser: RequestParser,
    /// Replies not yet handed to the driver.
    pub out: Vec<u8>,
    /// MULTI state.
    pub multi: Option<MultiState>,
    /// Keys under WATCH: (db, key, already expired when watched).
    pub watched: Vec<(usize, Vec<u8>, bool)>,
    /// A watched key changed: EXEC fails.
    pub dirty_cas: bool,
    /// Close once the replies are written (QUIT, protocol error).
    pub close_after_reply: bool,
    /// Close without writing (query buffer overflow, killed).
    pub close_now: bool,
    /// Why the client is being closed.
    pub close_reason: Option<String>,
    /// Connection time (Unix ms).
    pub created: u64,
    /// Last time a request arrived (Unix ms).
    pub last_interaction: u64,
    /// Last command run (for CLIENT LIST `cmd=`).
    pub last_cmd: String,
    /// Blocking state, if blocked.
    pub blocked: Option<Blocked>,
    /// Set once this connection started a replica handshake (REPLCONF/PSYNC/SYNC).
    pub replica: Option<Box<crate::repl::master::ReplicaLink>>,
    /// This is our master's connection: replies are discarded, offsets counted.
    pub is_master: bool,
    /// Master stream bytes applied but not yet counted (inside MULTI).
    pub master_pending: Vec<u8>,
    /// Wire length of `master_pending`.
    pub master_pending_len: i64,
    /// A reply that must reach the master despite the discarding (REPLCONF ACK).
    pub forced_reply: Vec<u8>,
    /// Stream offset after this client's last propagated write (WAIT's target).
    pub woff: i64,
    /// Blocked in WAIT: (replicas wanted, deadline or None for ever).
    pub wait: Option<(i64, Option<u64>)>,
    /// Waiting for its SAVE to be written.
    pub saving: bool,
    /// Since when its unsent output is above the soft limit (Unix ms).
    pub cob_soft_since: Option<u64>,
    /// Unsent bytes last reported by the driver.
    pub cob_pending: u64,
}

impl Client {
    /// A fresh client.
    pub fn new(id: ConnId, addr: String, now: u64) -> Client {
        Client {
            id,
            addr,
            name: None,
            db: 0,
            authenticated: true,
            parser: RequestParser::new(),
            out: Vec::new(),
            multi: None,
            watched: Vec::new(),
            dirty_cas: false,
            close_after_reply: false,
            close_now: false,
            close_reason: None,
            created: now,
            last_interaction: now,
            last_cmd: "NULL".into(),
            blocked: None,
            replica: None,
            is_master: false,
            master_pending: Vec::new(),
            master_pending_len: 0,
            forced_reply: Vec::new(),
            woff: 0,
            wait: None,
            saving: false,
            cob_soft_since: None,
            cob_pending: 0,
        }
    }

    /// Whether a blocking command holds the client.
    pub fn is_blocked(&self) -> bool {
        self.blocked.is_some() || self.wait.is_some() || self.saving
    }

    /// Whether `timeout` may close this client when idle.
    pub fn idle_closable(&self) -> bool {
        self.blocked.is_none()
    }
}

/// The calling context of a handler.
pub struct Ctx<'a> {
    /// The node (every other client is in `node.clients`).
    pub node: &'a mut Node,
    /// The client running the command.
    pub client: &'a mut Client,
}

impl Ctx<'_> {
    /// The client's selected database.
    pub fn db(&self) -> usize {
        self.client.db
    }

    /// Current time, Unix ms.
    pub fn now(&self) -> u64 {
        self.node.now
    }

    /// Record that `key` in the client's database was modified: WATCH
    /// invalidation and the change counter.
    pub fn modified(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.modified_in(db, key);
    }

    /// Replace this command's form in the replication stream (Redis's
    /// `rewriteClientCommandVector`), e.g. relative expiries made absolute.
    pub fn rewrite_propagation<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        self.node
            .repl
            .propagation
            .rewrite(args.iter().map(|a| a.as_ref().to_vec()).collect());
    }

    /// Add an op to the replication stream in the client's database
    /// (`alsoPropagate`); combine with [`prevent_propagation`](Self::prevent_propagation)
    /// when the ops replace the command.
    pub fn also_propagate<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let db = self.client.db;
        self.node
            .repl
            .propagation
            .also(db, args.iter().map(|a| a.as_ref().to_vec()).collect());
    }

    /// Keep this command's own form out of the stream.
    pub fn prevent_propagation(&mut self) {
        self.node.repl.propagation.prevent();
    }

    /// Like [`modified`](Self::modified) for an explicit database.
    pub fn modified_in(&mut self, db: usize, key: &[u8]) {
        self.node.dirty += 1;
        touch_watched_key(self.node, Some(self.client), db, key);
    }
}

fn all_tables() -> Vec<&'static [CommandSpec]> {
    vec![
        connection::COMMANDS,
        strings::COMMANDS,
        keys::COMMANDS,
        server::COMMANDS,
        transactions::COMMANDS,
        replication::COMMANDS,
        persistence::COMMANDS,
        lists::COMMANDS,
        hashes::COMMANDS,
        sets::COMMANDS,
        zsets::COMMANDS,
    ]
}

/// The command table: a fast fixed-seed hash, looked up once per request.
type Table = HashMap<&'static str, &'static CommandSpec, ahash::RandomState>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = Table::with_hasher(ahash::RandomState::with_seeds(1, 2, 3, 4));
        for t in all_tables() {
            for c in t {
                let prev = m.insert(c.name, c);
                assert!(prev.is_none(), "command {} defined twice", c.name);
            }
        }
        m
    })
}

/// Every top-level command, sorted by name.
pub fn all_commands() -> Vec<&'static CommandSpec> {
    let mut v: Vec<_> = table().values().copied().collect();
    crate::util::sort_by_key(&mut v, |c| c.name);
    v
}

/// Find a top-level command by name (any case).
pub fn find(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    for (i, c) in name.iter().enumerate() {
        buf[i] = c.to_ascii_lowercase();
    }
    let s = std::str::from_utf8(&buf[..name.len()]).ok()?;
    table().get(s).copied()
}

/// Resolve a request to its command (or subcommand), checking arity; the
/// error is the reply Redis gives.
pub fn lookup(args: &[Bytes]) -> Result<(&'static CommandSpec, Cow<'static, str>), CmdError> {
    let Some(spec) = find(&args[0]) else {
        let mut rest = String::new();
        for a in &args[1..] {
            if rest.len() >= 128 {
                break;
            }
            let s = String::from_utf8_lossy(a);
            let room = 128 - rest.len();
            let s: String = s.chars().take(room).collect();
            rest.push_str(&format!("'{s}' "));
        }
        let name: String = String::from_utf8_lossy(&args[0])
            .chars()
            .take(128)
            .collect();
        return Err(CmdError::err(format!(
            "unknown command '{name}', with args beginning with: {rest}"
        )));
    };
    if !spec.subcommands.is_empty() && args.len() >= 2 {
        let sub = crate::util::lower(&args[1]);
        let Some(subspec) = spec.subcommands.iter().find(|s| s.name == sub) else {
            let given: String = String::from_utf8_lossy(&args[1])
                .chars()
                .take(128)
                .collect();
            return Err(CmdError::err(format!(
                "unknown subcommand '{given}'. Try {} HELP.",
                spec.name.to_ascii_uppercase()
            )));
        };
        let full = format!("{}|{}", spec.name, subspec.name);
        check_arity(subspec.arity, args.len(), &full)?;
        return Ok((subspec, Cow::Owned(full)));
    }
    check_arity(spec.arity, args.len(), spec.name)?;
    Ok((spec, Cow::Borrowed(spec.name)))
}

fn check_arity(arity: i32, n: usize, name: &str) -> Result<(), CmdError> {
    let n = n as i32;
    if (arity > 0 && arity != n) || (arity < 0 && n < -arity) {
        return Err(CmdError::Arity(name.to_string()));
    }
    Ok(())
}

/// Whether running `spec` now writes: a write command, or an EXEC whose
/// queued commands include one.
fn is_write(spec: &CommandSpec, client: &Client) -> bool {
    if spec.flags & flags::WRITE != 0 {
        return true;
    }
    spec.name == "exec"
        && client.multi.as_ref().is_some_and(|m| {
            m.queued
                .iter()
                .any(|args| lookup(args).is_ok_and(|(s, _)| s.flags & flags::WRITE != 0))
        })
}

/// Commands that run immediately even inside MULTI.
fn is_multi_control(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// Run one request from `client` (the `processCommand` path).
pub fn execute(node: &mut Node, client: &mut Client, args: Vec<Bytes>) {
    let is_exec = args[0].eq_ignore_ascii_case(b"exec");
    let reject = if is_exec { reject_exec } else { reject };
    let (spec, fullname) = match lookup(&args) {
        Ok(found) => found,
        Err(e) => {
            reject(node, client, e);
            return;
        }
    };
    if !client.authenticated && spec.flags & flags::NO_AUTH == 0 {
        reject(
            node,
            client,
            CmdError::Other("NOAUTH Authentication required.".into()),
        );
        return;
    }
    if node.is_loading() && spec.flags & flags::LOADING == 0 {
        reject(
            node,
            client,
            CmdError::Other("LOADING Redis is loading the dataset in memory".into()),
        );
        return;
    }
    if let Some(side) = node.repl.replica.as_ref() {
        if !client.is_master {
            if node.config.replica_read_only && spec.flags & flags::WRITE != 0 {
                reject(
                    node,
                    client,
                    CmdError::Other("READONLY You can't write against a read only replica.".into()),
                );
                return;
            }
            if !side.link_up()
                && !node.config.replica_serve_stale_data
                && spec.flags & flags::STALE == 0
            {
                reject(
                    node,
                    client,
                    CmdError::Other("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.".into()),
                );
                return;
            }
        }
    }
    if node.repl.replica.is_none()
        && node.config.min_replicas_to_write > 0
        && node.config.min_replicas_max_lag > 0
        && is_write(spec, client)
        && (node.good_replicas() as u64) < node.config.min_replicas_to_write
    {
        reject(
            node,
            client,
            CmdError::Other("NOREPLICAS Not enough good replicas to write.".into()),
        );
        return;
    }
    if client.multi.is_some() && spec.flags & flags::NO_MULTI != 0 {
        reject(
            node,
            client,
            CmdError::err("Command not allowed inside a transaction"),
        );
        return;
    }
    if let Some(multi) = client.multi.as_mut() {
        if !is_multi_control(spec.name) {
            multi.queued.push(args);
            client.out.simple("QUEUED");
            return;
        }
    }
    call(node, client, spec, &fullname, &args);
    blocking::handle_ready_keys(node);
}

fn reject(node: &mut Node, client: &mut Client, e: CmdError) {
    if let Some(m) = client.multi.as_mut() {
        m.error = true;
    }
    node.stats.error_replies += 1;
    client.out.error(&e.text());
}

/// A rejected EXEC discards the transaction and says why (`execCommandAbort`):
/// `-EXECABORT Transaction discarded because of: <the error without "ERR ">`.
fn reject_exec(node: &mut Node, client: &mut Client, e: CmdError) {
    client.multi = None;
    client.watched.clear();
    client.dirty_cas = false;
    node.stats.error_replies += 1;
    let text = e.text();
    let reason = text.strip_prefix("ERR ").unwrap_or(&text);
    client.out.error(&format!(
        "EXECABORT Transaction discarded because of: {reason}"
    ));
}

/// Run a resolved command (the `call` path): the handler, then bookkeeping.
pub fn call(
    node: &mut Node,
    client: &mut Client,
    spec: &'static CommandSpec,
    fullname: &str,
    args: &[Bytes],
) {
    node.stats.commands_processed += 1;
    client.last_cmd.clear();
    client.last_cmd.push_str(fullname);
    let dirty_before = node.dirty;
    let saved = node.repl.propagation.begin_command();
    node.repl.propagation.depth += 1;
    node.blocking.depth += 1;
    blocking::signal_created_keys(node);
    let result = {
        let mut ctx = Ctx { node, client };
        (spec.handler)(&mut ctx, args)
    };
    blocking::signal_created_keys(node);
    node.blocking.depth -= 1;
    node.repl.propagation.depth -= 1;
    if let Err(e) = result {
        node.stats.error_replies += 1;
        client.out.error(&e.text());
    }
    if node.ks.has_expired() {
        for (db, key) in node.ks.take_expired() {
            touch_watched_key(node, Some(client), db, &key);
            node.repl.propagation.also(db, vec![b"DEL".to_vec(), key]);
        }
    }
    // EXEC's effects are the commands it ran; it never travels itself. What
    // our master sends travels as its own bytes (see `master_command_applied`).
    // Without a backlog nobody listens: skip building the op at all.
    let changed = node.dirty > dirty_before
        && spec.name != "exec"
        && !client.is_master
        && node.repl.backlog.is_some();
    if changed && node.repl.backlog.is_some() && !node.repl.propagation.has_rewrite() {
        if let Some(form) =
            crate::repl::propagate::absolute_form(spec.name, args, &node.ks, client.db)
        {
            node.repl.propagation.rewrite(form);
        }
    }
    node.repl.propagation.end_command(
        client.db,
        || args.iter().map(|a| a.to_vec()).collect(),
        changed,
        saved,
    );
    if node.repl.propagation.depth == 0 {
        if client.is_master {
            node.repl.propagation.discard();
        } else {
            node.flush_propagation(Some(client));
        }
    }
}

/// Mark every client watching `key` in `db` as dirty (`touchWatchedKey`),
/// including `current` (the client running the command) when given.
pub fn touch_watched_key(node: &mut Node, current: Option<&mut Client>, db: usize, key: &[u8]) {
    if !node.watch_used {
        return; // nobody ever used WATCH: nothing to invalidate
    }
    let key_exists = node.ks.db(db).contains(key);
    let touch = |c: &mut Client| {
        if c.watched.is_empty() {
            return;
        }
        for w in c.watched.iter_mut() {
            if w.0 == db && w.1 == key {
                if w.2 && !key_exists {
                    // Watched while already expired, now deleted: no logical change.
                    w.2 = false;
                    continue;
                }
                c.dirty_cas = true;
            }
        }
    };
    if let Some(c) = current {
        touch(c);
    }
    for c in node.clients.values_mut() {
        touch(c);
    }
}

/// Mark every client watching any key of `db` that exists (or, with
/// `also_missing`, any watched key at all) as dirty (FLUSHDB, SWAPDB).
pub fn touch_all_watched_in_db(
    node: &mut Node,
    current: &mut Client,
    db: usize,
    other: Option<usize>,
) {
    if !node.watch_used {
        return;
    }
    let ks = &node.ks;
    let touch = |c: &mut Client| {
        for w in &c.watched {
            if w.0 == db || Some(w.0) == other {
                let exists_here = ks.db(db).contains(&w.1);
                let exists_other = other.is_some_and(|o| ks.db(o).contains(&w.1));
                if exists_here || exists_other {
                    c.dirty_cas = true;
                }
            }
        }
    };
    touch(current);
    for c in node.clients.values_mut() {
        touch(c);
    }
}

pub use blocking::{blocking_timeouts, signal_key_ready, BlockingState};

/// Parse an integer argument (`string2ll`), with Redis's error.
pub fn parse_int(arg: &[u8]) -> Result<i64, CmdError> {
    crate::util::parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Case-insensitive comparison of an argument with an option name.
pub fn is_opt(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}
