//! Server commands, as Redis 7.0 answers them: INFO, CONFIG (GET, SET,
//! RESETSTAT, REWRITE, HELP), COMMAND (COUNT, INFO, DOCS, LIST, GETKEYS,
//! GETKEYSANDFLAGS, HELP), TIME, LASTSAVE, SHUTDOWN, DEBUG and DBSIZE.
//!
//! The rules implemented here:
//! * INFO answers one bulk string of `# Section` blocks of `field:value`
//!   lines (CRLF-terminated, sections separated by an empty line) in Redis's
//!   field order; with no argument (or `default`) the default sections,
//!   `all`/`everything` every section, otherwise the named sections in
//!   Redis's order, unknown names ignored. Every section is one function in
//!   [`SECTIONS`]: later work adds its fields there.
//! * CONFIG SET takes several `name value` pairs and applies all or none.
//! * COMMAND INFO / DOCS describe the commands Tandem implements, with the
//!   ACL categories, key specs, tips, summaries, history and argument trees
//!   of redis-server 7.0.15 (its own `COMMAND` and `COMMAND DOCS` replies,
//!   stored under `reference/`), so `redis-cli` builds its hints from them;
//!   GETKEYS walks those key specs as `getKeysUsingKeySpecs` does. Without
//!   the `command-docs` feature (default on; the browser playground turns it
//!   off) the DOCS text is left out and every command is answered as Redis
//!   answers one registered without docs: its `group` (and `subcommands`).
//! * SHUTDOWN saves first when save points are configured or SAVE is given
//!   (not with NOSAVE, nor while loading), and stops once the file is
//!   written; it never answers on success.

use super::{flags::*, is_opt, Client, CmdError, CmdResult, CommandSpec, Ctx};
use crate::command;
use crate::node::Node;
use crate::resp::ReplyWriter;
use crate::small_map::SmallMap;
use crate::value::Value;
use bytes::Bytes;
use std::fmt::Write as _;
use std::sync::OnceLock;

/// The Redis version Tandem reports, so clients enable 7.0 features.
pub const REDIS_VERSION: &str = "7.0.15";

/// The server commands.
pub static COMMANDS: &[CommandSpec] = &[
    command!(
        "info",
        -1,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "Get information and statistics about the server",
        info
    ),
    command!(
        "config",
        -2,
        0,
        (0, 0, 0),
        "server",
        "A container for server configuration commands",
        config_help,
        CONFIG_SUBCOMMANDS
    ),
    command!(
        "command",
        -1,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "Get array of Redis command details",
        command_all,
        COMMAND_SUBCOMMANDS
    ),
    command!(
        "time",
        1,
        LOADING | STALE | FAST,
        (0, 0, 0),
        "server",
        "Return the current server time",
        time
    ),
    command!(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        (0, 0, 0),
        "server",
        "Get the UNIX time stamp of the last successful save to disk",
        lastsave
    ),
    command!(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI,
        (0, 0, 0),
        "server",
        "Synchronously save the dataset to disk and then shut down the server",
        shutdown
    ),
    command!(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "A container for debugging commands",
        debug
    ),
    command!(
        "dbsize",
        1,
        READONLY | FAST,
        (0, 0, 0),
        "server",
        "Return the number of keys in the selected database",
        dbsize
    ),
];

static CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    command!(
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "Get the values of configuration parameters",
        config_get
    ),
    command!(
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "Set configuration parameters to the given values",
        config_set
    ),
    command!(
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "Reset the stats returned by INFO",
        config_resetstat
    ),
    command!(
        "rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "Rewrite the configuration file with the in memory configuration",
        config_rewrite
    ),
    command!(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "Show helpful text about the different subcommands",
        config_help
    ),
];

static COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    command!(
        "count",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "Get total number of Redis commands",
        command_count
    ),
    command!(
        "info",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "Get array of specific Redis command details, or all when no argument is given.",
        command_info
    ),
    command!(
        "docs",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "Get array of specific Redis command documentation",
        command_docs
    ),
    command!(
        "list",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "Get an array of Redis command names",
        command_list
    ),
    command!(
        "getkeys",
        -4,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "Extract keys given a full Redis command",
        command_getkeys
    ),
    command!(
        "getkeysandflags",
        -4,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "Extract keys and access flags given a full Redis command",
        command_getkeysandflags
    ),
    command!(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "Show helpful text about the different subcommands",
        command_help
    ),
];

/// `master` or `slave`, as INFO and HELLO say.
pub fn role_name(node: &Node) -> &'static str {
    if node.is_replica() {
        "slave"
    } else {
        "master"
    }
}

fn help_reply(ctx: &mut Ctx, lines: &[&str]) {
    ctx.client.out.array_len(lines.len());
    for l in lines {
        ctx.client.out.simple(l);
    }
}

// ---------------------------------------------------------------- INFO

/// An INFO section being written: `field:value` lines.
pub struct InfoSection {
    text: String,
}

impl InfoSection {
    /// Add one `name:value` line.
    pub fn field(&mut self, name: &str, value: impl std::fmt::Display) {
        let _ = write!(self.text, "{name}:{value}\r\n");
    }
}

/// What an INFO section may read: the node, and the client asking (if any),
/// which is not in `node.clients` while its command runs.
pub struct InfoCtx<'a> {
    /// The node.
    pub node: &'a Node,
    /// The client running INFO.
    pub current: Option<&'a Client>,
}

impl InfoCtx<'_> {
    fn clients(&self) -> impl Iterator<Item = &Client> {
        self.node.clients.values().chain(self.current)
    }
}

/// One INFO section: its name, its `# Title`, whether plain `INFO` shows
/// it, and the function writing its fields.
pub struct Section {
    /// Lowercase name, as `INFO <name>` selects it.
    pub name: &'static str,
    /// The title after `# `.
    pub title: &'static str,
    /// Part of `INFO` / `INFO default`.
    pub default: bool,
    /// Writes the fields.
    pub write: fn(&InfoCtx, &mut InfoSection),
}

impl Section {
    /// Whether `INFO <requested...>` (lowercase; empty means `default`)
    /// shows this section.
    fn wanted(&self, requested: &[String]) -> bool {
        requested
            .iter()
            .any(|r| r == "all" || r == "everything" || r == self.name)
            || (self.default && (requested.is_empty() || requested.iter().any(|r| r == "default")))
    }
}

/// Every INFO section, in Redis's order.
pub static SECTIONS: &[Section] = &[
    Section {
        name: "server",
        title: "Server",
        default: true,
        write: info_server,
    },
    Section {
        name: "clients",
        title: "Clients",
        default: true,
        write: info_clients,
    },
    Section {
        name: "memory",
        title: "Memory",
        default: true,
        write: info_memory,
    },
    Section {
        name: "persistence",
        title: "Persistence",
        default: true,
        write: info_persistence,
    },
    Section {
        name: "stats",
        title: "Stats",
        default: true,
        write: info_stats,
    },
    Section {
        name: "replication",
        title: "Replication",
        default: true,
        write: info_replication,
    },
    Section {
        name: "cpu",
        title: "CPU",
        default: true,
        write: info_cpu,
    },
    Section {
        name: "modules",
        title: "Modules",
        default: true,
        write: |_, _| {},
    },
    Section {
        name: "cluster",
        title: "Cluster",
        default: true,
        write: |_, s| s.field("cluster_enabled", 0),
    },
    Section {
        name: "keyspace",
        title: "Keyspace",
        default: true,
        write: info_keyspace,
    },
];

fn info_server(c: &InfoCtx, s: &mut InfoSection) {
    let n = c.node;
    let uptime = n.now.saturating_sub(n.start_time) / 1000;
    s.field("redis_version", REDIS_VERSION);
    s.field("redis_git_sha1", "00000000");
    s.field("redis_git_dirty", 0);
    s.field("redis_build_id", "0");
    s.field("redis_mode", "standalone");
    s.field("tandem_version", env!("CARGO_PKG_VERSION"));
    s.field("arch_bits", usize::BITS);
    s.field("run_id", &n.run_id);
    s.field("tcp_port", n.config.port);
    s.field("server_time_usec", n.now * 1000);
    s.field("uptime_in_seconds", uptime);
    s.field("uptime_in_days", uptime / 86400);
    s.field("hz", n.config.hz);
    s.field("configured_hz", n.config.hz);
    s.field("lru_clock", (n.now / 1000) & ((1 << 24) - 1));
    s.field("io_threads_active", 0);
}

fn info_clients(c: &InfoCtx, s: &mut InfoSection) {
    let blocked = c.clients().filter(|x| x.is_blocked()).count();
    let in_timeout_table = c
        .clients()
        .filter(|x| x.blocked.as_ref().is_some_and(|b| b.deadline.is_some()))
        .count();
    let (max_in, max_out) = c.clients().fold((0, 0), |(i, o), x| {
        (i.max(x.parser.buffered()), o.max(x.out.len()))
    });
    // Redis: every client but the replicas (the master link counts).
    let replicas = c
        .clients()
        .filter(|x| super::connection::client_type(x) == "replica")
        .count();
    s.field("connected_clients", c.clients().count() - replicas);
    s.field("cluster_connections", 0);
    s.field("maxclients", c.node.config.maxclients);
    s.field("client_recent_max_input_buffer", max_in);
    s.field("client_recent_max_output_buffer", max_out);
    s.field("blocked_clients", blocked);
    s.field("tracking_clients", 0);
    s.field("clients_in_timeout_table", in_timeout_table);
}

/// Redis's `bytesToHuman`: `B`, then `K`, `M`, `G`, `T`, `P` with two decimals.
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (size, unit) in UNITS {
        if n >= size {
            return format!(
                "{}{unit}",
                crate::float::format_fixed(n as f64 / size as f64, 2)
            );
        }
    }
    unreachable!("n >= 1024 matches a unit")
}

/// Baseline memory of an empty node (Redis 7.0 reports about 860 KB).
const BASE_MEMORY: u64 = 860_000;

/// An estimate of the memory the dataset and clients use, in the spirit of
/// Redis's `used_memory` (Tandem has no allocator statistics): per key the
/// dictionary entry, the key and the value's bytes with per-element overhead.
pub fn used_memory(node: &Node) -> u64 {
    let mut total = BASE_MEMORY;
    for i in 0..node.ks.db_count() {
        let db = node.ks.db(i);
        total += db.expires_len() as u64 * 32;
        for (key, value) in db.iter() {
            total += 56 + key.len() as u64 + value_memory(value);
        }
    }
    for c in node.clients.values() {
        total += 2048 + c.parser.buffered() as u64 + c.out.len() as u64;
    }
    total
}

fn value_memory(v: &Value) -> u64 {
    let sum = |it: &mut dyn Iterator<Item = usize>| it.map(|n| n as u64 + 16).sum::<u64>();
    match v {
        Value::Str(s) => 16 + s.bytes.len() as u64,
        Value::List(l) => 32 + sum(&mut l.iter().map(|e| e.len())),
        Value::Hash(h) => 48 + sum(&mut h.iter().map(|(f, v)| f.len() + v.len() + 16)),
        Value::Set(st) => 48 + sum(&mut st.iter().map(|m| m.len())),
        Value::ZSet(z) => 64 + sum(&mut z.iter().map(|(m, _)| m.len() + 24)),
    }
}

fn info_memory(c: &InfoCtx, s: &mut InfoSection) {
    let n = c.node;
    let used = used_memory(n);
    let peak = n.used_memory_peak.max(used);
    let dataset = used - BASE_MEMORY;
    s.field("used_memory", used);
    s.field("used_memory_human", bytes_to_human(used));
    s.field("used_memory_rss", used);
    s.field("used_memory_rss_human", bytes_to_human(used));
    s.field("used_memory_peak", peak);
    s.field("used_memory_peak_human", bytes_to_human(peak));
    s.field(
        "used_memory_peak_perc",
        format!(
            "{}%",
            crate::float::format_fixed(used as f64 * 100.0 / peak as f64, 2)
        ),
    );
    s.field("used_memory_startup", BASE_MEMORY);
    s.field("used_memory_dataset", dataset);
    s.field("maxmemory", n.config.maxmemory);
    s.field("maxmemory_human", bytes_to_human(n.config.maxmemory));
    s.field("maxmemory_policy", "noeviction");
    s.field("mem_replication_backlog", 0);
    s.field("mem_allocator", "tandem");
}

fn info_persistence(c: &InfoCtx, s: &mut InfoSection) {
    let n = c.node;
    let p = &n.persist;
    let bgsave = p.job.as_ref().filter(|j| j.background);
    s.field("loading", n.is_loading() as u8);
    s.field("async_loading", 0);
    s.field("rdb_changes_since_last_save", n.dirty);
    s.field("rdb_bgsave_in_progress", bgsave.is_some() as u8);
    s.field("rdb_last_save_time", n.last_save);
    s.field(
        "rdb_last_bgsave_status",
        if p.last_bgsave_ok { "ok" } else { "err" },
    );
    s.field("rdb_last_bgsave_time_sec", -1);
    s.field(
        "rdb_current_bgsave_time_sec",
        bgsave.map_or(-1, |j| (n.now.saturating_sub(j.started) / 1000) as i64),
    );
    s.field("aof_enabled", 0);
    s.field("aof_rewrite_in_progress", 0);
    s.field("aof_rewrite_scheduled", 0);
    s.field("aof_last_rewrite_time_sec", -1);
    s.field("aof_current_rewrite_time_sec", -1);
    s.field("aof_last_bgrewrite_status", "ok");
    s.field("aof_rewrites", 0);
    s.field("aof_last_write_status", "ok");
}

fn info_stats(c: &InfoCtx, s: &mut InfoSection) {
    let st = &c.node.stats;
    s.field("total_connections_received", st.connections_received);
    s.field("total_commands_processed", st.commands_processed);
    s.field("instantaneous_ops_per_sec", 0);
    s.field("total_net_input_bytes", st.net_input_bytes);
    s.field("total_net_output_bytes", st.net_output_bytes);
    s.field("total_net_repl_input_bytes", 0);
    s.field("total_net_repl_output_bytes", 0);
    s.field("rejected_connections", st.rejected_connections);
    s.field("sync_full", st.sync_full);
    s.field("sync_partial_ok", st.sync_partial_ok);
    s.field("sync_partial_err", st.sync_partial_err);
    s.field("expired_keys", c.node.ks.expired_total);
    s.field("evicted_keys", 0);
    s.field("keyspace_hits", st.keyspace_hits);
    s.field("keyspace_misses", st.keyspace_misses);
    s.field("pubsub_channels", 0);
    s.field("pubsub_patterns", 0);
    s.field("latest_fork_usec", 0);
    s.field("total_forks", 0);
    s.field("unexpected_error_replies", 0);
    s.field("total_error_replies", st.error_replies);
}

fn info_replication(c: &InfoCtx, s: &mut InfoSection) {
    let n = c.node;
    let now_s = n.now / 1000;
    let id = &n.repl.identity;
    s.field("role", role_name(n));
    if let Some(side) = n.repl.replica.as_ref() {
        // Replica-only lines come right after `role:slave` (reference §6.3).
        let offset = if side.link_up() || side.cached {
            id.master_repl_offset
        } else {
            1
        };
        s.field("master_host", &side.host);
        s.field("master_port", side.port);
        s.field(
            "master_link_status",
            if side.link_up() { "up" } else { "down" },
        );
        let last_io = if side.link_up() {
            now_s.saturating_sub(side.last_io / 1000) as i64
        } else {
            -1
        };
        s.field("master_last_io_seconds_ago", last_io);
        s.field("master_sync_in_progress", side.sync_in_progress() as u8);
        s.field("slave_read_repl_offset", offset);
        s.field("slave_repl_offset", offset);
        if side.sync_in_progress() {
            s.field("master_sync_read_bytes", side.transfer_read);
            s.field(
                "master_sync_last_io_seconds_ago",
                now_s.saturating_sub(side.last_io / 1000),
            );
        }
        if !side.link_up() {
            s.field(
                "master_link_down_since_seconds",
                now_s.saturating_sub(side.down_since / 1000),
            );
        }
        s.field("slave_priority", n.config.replica_priority);
        s.field("slave_read_only", n.config.replica_read_only as u8);
        s.field("replica_announced", 1);
    }
    let links: Vec<(&Client, &crate::repl::master::ReplicaLink)> = c
        .clients()
        .filter_map(|cl| cl.replica.as_deref().map(|l| (cl, l)))
        .filter(|(_, l)| l.attached())
        .collect();
    s.field("connected_slaves", links.len());
    for (i, (cl, link)) in links.iter().enumerate() {
        let ip = link.ip(&cl.addr);
        let lag = if link.info_state() == "online" {
            now_s.saturating_sub(link.ack_time / 1000)
        } else {
            0
        };
        s.field(
            &format!("slave{i}"),
            format_args!(
                "ip={ip},port={},state={},offset={},lag={lag}",
                link.listening_port,
                link.info_state(),
                link.ack_off
            ),
        );
    }
    s.field("master_failover_state", "no-failover");
    s.field("master_replid", &id.replid);
    s.field("master_replid2", &id.replid2);
    s.field("master_repl_offset", id.master_repl_offset);
    s.field("second_repl_offset", id.second_replid_offset);
    let backlog = n.repl.backlog.as_ref();
    s.field("repl_backlog_active", backlog.is_some() as u8);
    s.field(
        "repl_backlog_size",
        backlog.map_or(n.config.repl_backlog_size, |b| b.size() as u64),
    );
    s.field(
        "repl_backlog_first_byte_offset",
        backlog.map_or(0, |b| b.first_byte_offset()),
    );
    s.field("repl_backlog_histlen", backlog.map_or(0, |b| b.histlen()));
}

fn info_cpu(_c: &InfoCtx, s: &mut InfoSection) {
    // The core never reads the OS clock or rusage: CPU time is not known here.
    for f in [
        "used_cpu_sys",
        "used_cpu_user",
        "used_cpu_sys_children",
        "used_cpu_user_children",
    ] {
        s.field(f, "0.000000");
    }
}

fn info_keyspace(c: &InfoCtx, s: &mut InfoSection) {
    let ks = &c.node.ks;
    for i in 0..ks.db_count() {
        let db = ks.db(i);
        if db.is_empty() {
            continue;
        }
        s.field(
            &format!("db{i}"),
            format_args!(
                "keys={},expires={},avg_ttl={}",
                db.len(),
                db.expires_len(),
                db.avg_ttl
            ),
        );
    }
}

/// The INFO text for the requested section names (lowercase; empty means
/// `default`).
pub fn info_text(ctx: &InfoCtx, requested: &[String]) -> String {
    let mut out = String::new();
    for sec in SECTIONS {
        if !sec.wanted(requested) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let mut s = InfoSection {
            text: format!("# {}\r\n", sec.title),
        };
        (sec.write)(ctx, &mut s);
        out.push_str(&s.text);
    }
    out
}

fn info(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let requested: Vec<String> = args[1..].iter().map(|a| crate::util::lower(a)).collect();
    // The estimate walks the whole dataset: only for a section that shows
    // it (monitoring that polls `INFO persistence` must not stall clients).
    if SECTIONS
        .iter()
        .any(|s| s.name == "memory" && s.wanted(&requested))
    {
        let used = used_memory(ctx.node);
        ctx.node.used_memory_peak = ctx.node.used_memory_peak.max(used);
    }
    let text = info_text(
        &InfoCtx {
            node: ctx.node,
            current: Some(ctx.client),
        },
        &requested,
    );
    ctx.client.out.bulk(text.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------- CONFIG

fn config_get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let patterns: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
    let pairs = ctx.node.config.get_matching(&patterns);
    let out = &mut ctx.client.out;
    out.array_len(pairs.len() * 2);
    for (name, value) in pairs {
        out.bulk(name.as_bytes());
        out.bulk(value.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let pairs: Vec<(&[u8], &[u8])> = args[2..]
        .chunks(2)
        .map(|p| (&p[0][..], &p[1][..]))
        .collect();
    ctx.node.config.set_many(&pairs).map_err(CmdError::err)?;
    // `repl-backlog-size` applies to the backlog at once (`updateReplBacklogSize`).
    let size = ctx.node.config.repl_backlog_size as usize;
    if let Some(b) = ctx.node.repl.backlog.as_mut() {
        if b.size() != size.max(crate::repl::backlog::MIN_BACKLOG_SIZE) {
            b.resize(size);
        }
    }
    ctx.client.out.ok();
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.node.stats = Default::default();
    ctx.node.ks.expired_total = 0;
    ctx.node.used_memory_peak = 0;
    ctx.client.out.ok();
    Ok(())
}

fn config_rewrite(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    // The core never knows of a file; drivers that load one may handle it.
    Err(CmdError::err("The server is running without a config file"))
}

fn config_help(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() != 2 {
        return Err(CmdError::Arity("config".into()));
    }
    help_reply(
        ctx,
        &[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- COMMAND

/// A RESP reply tree borrowed from the stored reference replies.
#[derive(Debug)]
enum Ref {
    Simple(&'static [u8]),
    Bulk(&'static [u8]),
    Int(i64),
    Array(Vec<Ref>),
}

/// A stored reference reply as a tree. The files under `reference/` are
/// redis-server 7.0.15's replies re-encoded one item per line: the RESP
/// type byte then the content (`*N` an array of the next N items, `$bytes`
/// a bulk string, `+text` a simple string, `:N` an integer), i.e. RESP
/// without bulk lengths and CRLFs (no item holds a line break), about 1 KB
/// less for the browser to download. The `.resp` files beside them are the
/// replies as redis-server sent them; a test writes the trees back to
/// exactly those bytes.
fn parse_ref_text(text: &'static [u8]) -> Ref {
    parse_ref(&mut text.split(|&b| b == b'\n'))
}

fn parse_ref(lines: &mut dyn Iterator<Item = &'static [u8]>) -> Ref {
    let line = lines.next().expect("reference reply: an item");
    let (kind, content) = line.split_first().expect("reference reply: a type byte");
    let num = || -> i64 { crate::util::parse_i64(content).expect("reference reply: number") };
    match kind {
        b'+' => Ref::Simple(content),
        b'$' => Ref::Bulk(content),
        b':' => Ref::Int(num()),
        b'*' => Ref::Array((0..num()).map(|_| parse_ref(lines)).collect()),
        other => panic!("reference reply: unexpected type byte {other}"),
    }
}

impl Ref {
    fn items(&self) -> &[Ref] {
        match self {
            Ref::Array(v) => v,
            _ => &[],
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Ref::Simple(b) | Ref::Bulk(b) => b,
            _ => b"",
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Ref::Simple(b) => out.simple(&String::from_utf8_lossy(b)),
            Ref::Bulk(b) => out.bulk(b),
            Ref::Int(n) => out.int(*n),
            Ref::Array(v) => {
                out.array_len(v.len());
                for r in v {
                    r.write(out);
                }
            }
        }
    }
}

/// redis-server 7.0.15's `COMMAND` and `COMMAND DOCS` replies, indexed by
/// full command name (`get`, `config|get`; sorted `Vec`s, built once). The docs only with the
/// `command-docs` feature (see [`write_command_docs`]).
struct Reference {
    info: SmallMap<String, &'static Ref>,
    #[cfg(feature = "command-docs")]
    docs: SmallMap<String, &'static Ref>,
}

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    static INFO_TREE: OnceLock<Ref> = OnceLock::new();
    REF.get_or_init(|| {
        let info_tree =
            INFO_TREE.get_or_init(|| parse_ref_text(include_bytes!("reference/command_info.txt")));
        let mut info = SmallMap::new();
        fn index_info(e: &'static Ref, m: &mut SmallMap<String, &'static Ref>) {
            let it = e.items();
            m.insert(String::from_utf8_lossy(it[0].bytes()).into_owned(), e);
            for sub in it[9].items() {
                index_info(sub, m);
            }
        }
        for e in info_tree.items() {
            index_info(e, &mut info);
        }
        Reference {
            info,
            #[cfg(feature = "command-docs")]
            docs: reference_docs(),
        }
    })
}

#[cfg(feature = "command-docs")]
fn reference_docs() -> SmallMap<String, &'static Ref> {
    static DOCS_TREE: OnceLock<Ref> = OnceLock::new();
    let docs_tree =
        DOCS_TREE.get_or_init(|| parse_ref_text(include_bytes!("reference/command_docs.txt")));
    let mut docs = SmallMap::new();
    fn index_docs(pairs: &'static [Ref], m: &mut SmallMap<String, &'static Ref>) {
        for p in pairs.chunks(2) {
            m.insert(String::from_utf8_lossy(p[0].bytes()).into_owned(), &p[1]);
            for kv in p[1].items().chunks(2) {
                if kv[0].bytes() == b"subcommands" {
                    index_docs(kv[1].items(), m);
                }
            }
        }
    }
    index_docs(docs_tree.items(), &mut docs);
    docs
}

/// Tandem's flag names, in Redis's order (used when the reference lacks a command).
fn flag_names(bits: u32) -> Vec<&'static str> {
    super::flags::NAMES
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// ACL categories of a command: the reference's, else derived from its
/// flags and group as Redis's `setImplicitACLCategories` does.
fn acl_categories(spec: &CommandSpec, full: &str) -> Vec<String> {
    if let Some(e) = reference().info.get(full) {
        return e.items()[6]
            .items()
            .iter()
            .map(|r| String::from_utf8_lossy(r.bytes()).into_owned())
            .collect();
    }
    let mut v = Vec::new();
    if spec.flags & WRITE != 0 {
        v.push("@write".to_string());
    }
    if spec.flags & READONLY != 0 {
        v.push("@read".to_string());
    }
    if spec.flags & ADMIN != 0 {
        v.push("@admin".to_string());
        v.push("@dangerous".to_string());
    }
    v.push(
        if spec.flags & FAST != 0 {
            "@fast"
        } else {
            "@slow"
        }
        .to_string(),
    );
    if spec.flags & BLOCKING != 0 {
        v.push("@blocking".to_string());
    }
    v
}

/// Write one `COMMAND INFO` entry: name, arity, flags, key positions, ACL
/// categories, tips, key specs, subcommands.
fn write_command_info(out: &mut Vec<u8>, spec: &'static CommandSpec, full: &str) {
    let r = reference().info.get(full).map(|e| e.items());
    out.array_len(10);
    out.bulk(full.as_bytes());
    out.int(spec.arity as i64);
    match r {
        Some(items) => items[2].write(out),
        None => {
            let names = flag_names(spec.flags);
            out.array_len(names.len());
            for n in names {
                out.simple(n);
            }
        }
    }
    out.int(spec.keys.0 as i64);
    out.int(spec.keys.1 as i64);
    out.int(spec.keys.2 as i64);
    let cats = acl_categories(spec, full);
    out.array_len(cats.len());
    for c in cats {
        out.simple(&c);
    }
    match r {
        Some(items) => {
            items[7].write(out);
            items[8].write(out);
        }
        None => {
            out.array_len(0);
            out.array_len(0);
        }
    }
    out.array_len(spec.subcommands.len());
    for sub in spec.subcommands {
        write_command_info(out, sub, &format!("{full}|{}", sub.name));
    }
}

/// Write one `COMMAND DOCS` map for a command (its subcommands limited to
/// the ones Tandem has): redis-server's own docs when the reference has
/// them, else the fields Tandem knows (summary, since, group).
#[cfg(feature = "command-docs")]
fn write_command_docs(out: &mut Vec<u8>, spec: &'static CommandSpec, full: &str) {
    let Some(doc) = reference().docs.get(full) else {
        let mut fields = vec![
            ("summary", spec.summary.to_string()),
            ("since", String::from("7.0.0")),
            ("group", spec.group.to_string()),
        ];
        if !spec.subcommands.is_empty() {
            fields.push(("complexity", "Depends on subcommand.".into()));
        }
        out.array_len(fields.len() * 2 + if spec.subcommands.is_empty() { 0 } else { 2 });
        for (k, v) in fields {
            out.bulk(k.as_bytes());
            out.bulk(v.as_bytes());
        }
        if !spec.subcommands.is_empty() {
            write_subcommand_docs(out, spec, full);
        }
        return;
    };
    let pairs = doc.items();
    let has_subs = pairs.chunks(2).any(|kv| kv[0].bytes() == b"subcommands");
    let extra = if !has_subs && !spec.subcommands.is_empty() {
        2
    } else {
        0
    };
    out.array_len(pairs.len() + extra);
    for kv in pairs.chunks(2) {
        kv[0].write(out);
        if kv[0].bytes() == b"subcommands" {
            write_subcommand_docs(out, spec, full);
        } else {
            kv[1].write(out);
        }
    }
    if extra > 0 {
        out.bulk(b"subcommands");
        write_subcommand_docs(out, spec, full);
    }
}

/// Write one `COMMAND DOCS` map for a command in a build without the
/// `command-docs` feature (the browser playground, where the docs text would
/// be a sixth of the download): what redis-server 7.0 answers for a command
/// registered without docs (`addReplyCommandDocs` with no summary, since,
/// complexity, history or arguments), the `group` alone, plus `subcommands`
/// for a container.
#[cfg(not(feature = "command-docs"))]
fn write_command_docs(out: &mut Vec<u8>, spec: &'static CommandSpec, full: &str) {
    let subs = !spec.subcommands.is_empty();
    out.array_len(if subs { 4 } else { 2 });
    out.bulk(b"group");
    out.bulk(spec.group.as_bytes());
    if subs {
        out.bulk(b"subcommands");
        write_subcommand_docs(out, spec, full);
    }
}

fn write_subcommand_docs(out: &mut Vec<u8>, spec: &'static CommandSpec, full: &str) {
    out.array_len(spec.subcommands.len() * 2);
    for sub in spec.subcommands {
        let name = format!("{full}|{}", sub.name);
        out.bulk(name.as_bytes());
        write_command_docs(out, sub, &name);
    }
}

fn command_all(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() != 1 {
        return Err(CmdError::Arity("command".into()));
    }
    let all = super::all_commands();
    let out = &mut ctx.client.out;
    out.array_len(all.len());
    for spec in all {
        write_command_info(out, spec, spec.name);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.out.int(super::all_commands().len() as i64);
    Ok(())
}

/// A top-level command or `container|sub` by name.
fn find_full(name: &[u8]) -> Option<(&'static CommandSpec, String)> {
    let lower = crate::util::lower(name);
    match lower.split_once('|') {
        None => super::find(name).map(|s| (s, lower.clone())),
        Some((parent, sub)) => {
            let p = super::find(parent.as_bytes())?;
            let s = p.subcommands.iter().find(|s| s.name == sub)?;
            Some((s, lower.clone()))
        }
    }
}

fn command_info(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return command_all(ctx, &args[..1]);
    }
    let out = &mut ctx.client.out;
    out.array_len(args.len() - 2);
    for name in &args[2..] {
        match find_full(name) {
            Some((spec, full)) => write_command_info(out, spec, &full),
            None => out.null_bulk(),
        }
    }
    Ok(())
}

fn command_docs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let found: Vec<(&'static CommandSpec, String)> = if args.len() == 2 {
        super::all_commands()
            .into_iter()
            .map(|s| (s, s.name.to_string()))
            .collect()
    } else {
        args[2..].iter().filter_map(|n| find_full(n)).collect()
    };
    let out = &mut ctx.client.out;
    out.array_len(found.len() * 2);
    for (spec, full) in found {
        out.bulk(full.as_bytes());
        write_command_docs(out, spec, &full);
    }
    Ok(())
}

fn command_list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    enum Filter {
        None,
        Module,
        AclCat(String),
        Pattern(Bytes),
    }
    let filter = match args.len() {
        2 => Filter::None,
        5 if is_opt(&args[2], "filterby") => {
            if is_opt(&args[3], "module") {
                Filter::Module
            } else if is_opt(&args[3], "aclcat") {
                Filter::AclCat(format!("@{}", crate::util::lower(&args[4])))
            } else if is_opt(&args[3], "pattern") {
                Filter::Pattern(args[4].clone())
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let mut names = Vec::new();
    for spec in super::all_commands() {
        let mut entries = vec![(spec, spec.name.to_string())];
        entries.extend(
            spec.subcommands
                .iter()
                .map(|s| (s, format!("{}|{}", spec.name, s.name))),
        );
        for (s, full) in entries {
            let keep = match &filter {
                Filter::None => true,
                Filter::Module => false,
                Filter::AclCat(c) => acl_categories(s, &full).iter().any(|x| x == c),
                Filter::Pattern(p) => crate::util::glob_match(p, full.as_bytes(), true),
            };
            if keep {
                names.push(full);
            }
        }
    }
    let out = &mut ctx.client.out;
    out.array_len(names.len());
    for n in names {
        out.bulk(n.as_bytes());
    }
    Ok(())
}

impl Ref {
    /// The value of `key` in a flat map.
    fn get(&self, key: &str) -> Option<&Ref> {
        self.items()
            .chunks(2)
            .find(|kv| kv[0].bytes() == key.as_bytes())
            .map(|kv| &kv[1])
    }

    fn int(&self, key: &str) -> i64 {
        match self.get(key) {
            Some(Ref::Int(n)) => *n,
            _ => 0,
        }
    }
}

/// One key spec applied to a command line (Redis's `getKeysUsingKeySpecs`):
/// the argument positions of its keys, `None` when the line does not fit.
fn spec_keys(ks: &Ref, argv: &[Bytes]) -> Option<Vec<usize>> {
    let argc = argv.len() as i64;
    let bs = ks.get("begin_search")?;
    let bss = bs.get("spec")?;
    let first = match bs.get("type")?.bytes() {
        b"index" => bss.int("index"),
        b"keyword" => {
            let kw = bss.get("keyword")?.bytes();
            let from = bss.int("startfrom");
            let (start, end, dir) = if from > 0 {
                (from, argc - 1, 1)
            } else {
                (argc + from, 1, -1)
            };
            let mut i = start;
            let mut found = None;
            while (dir > 0 && i <= end) || (dir < 0 && i >= end) {
                if i < 1 || i >= argc {
                    break;
                }
                if argv[i as usize].eq_ignore_ascii_case(kw) {
                    found = Some(i + 1);
                    break;
                }
                i += dir;
            }
            match found {
                Some(f) => f,
                // The keyword is absent: this spec names no key here.
                None => return Some(Vec::new()),
            }
        }
        _ => return Some(Vec::new()),
    };
    let fk = ks.get("find_keys")?;
    let fks = fk.get("spec")?;
    let (first, last, step) = match fk.get("type")?.bytes() {
        b"range" => {
            let (lastkey, step, limit) = (fks.int("lastkey"), fks.int("keystep"), fks.int("limit"));
            let last = if lastkey >= 0 {
                first + lastkey
            } else if limit == 0 {
                argc + lastkey
            } else {
                first + ((argc - first) / limit + lastkey)
            };
            (first, last, step)
        }
        b"keynum" => {
            let idx = first + fks.int("keynumidx");
            if idx >= argc {
                return None;
            }
            let n = crate::util::parse_i64(&argv[idx as usize]).filter(|&n| n >= 0)?;
            let step = fks.int("keystep");
            let first = first + fks.int("firstkey");
            (first, first + (n - 1) * step, step)
        }
        _ => return Some(Vec::new()),
    };
    if first < 1 || step < 1 || last >= argc || last < first {
        return None;
    }
    Some(
        (first..=last)
            .step_by(step as usize)
            .map(|i| i as usize)
            .collect(),
    )
}

fn command_getkeys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let keys = keys_of(&args[2..])?;
    ctx.client.out.array_len(keys.len());
    for (k, _) in keys {
        ctx.client.out.bulk(&args[2 + k]);
    }
    Ok(())
}

fn command_getkeysandflags(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let keys = keys_of(&args[2..])?;
    let out = &mut ctx.client.out;
    out.array_len(keys.len());
    for (k, flags) in keys {
        out.array_len(2);
        out.bulk(&args[2 + k]);
        match flags {
            Some(f) => f.write(out),
            None => out.array_len(0),
        }
    }
    Ok(())
}

/// The keys of a full command line (COMMAND GETKEYS): argument positions
/// and the flags of the key spec that found each.
fn keys_of(cmd: &[Bytes]) -> Result<Vec<(usize, Option<&'static Ref>)>, CmdError> {
    let Some((spec, full)) =
        find_full(&cmd[0]).map(|(s, f)| match (s.subcommands.is_empty(), cmd.get(1)) {
            (false, Some(sub)) => {
                let sub = crate::util::lower(sub);
                match s.subcommands.iter().find(|x| x.name == sub) {
                    Some(x) => (x, format!("{f}|{sub}")),
                    None => (s, f),
                }
            }
            _ => (s, f),
        })
    else {
        return Err(CmdError::err("Invalid command specified"));
    };
    let specs: &[Ref] = reference()
        .info
        .get(&full)
        .map(|e| e.items()[8].items())
        .unwrap_or(&[]);
    if specs.is_empty() && spec.keys.0 == 0 {
        return Err(CmdError::err("The command has no key arguments"));
    }
    let n = cmd.len() as i32;
    if (spec.arity > 0 && spec.arity != n) || n < -spec.arity {
        return Err(CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let mut keys: Vec<(usize, Option<&'static Ref>)> = Vec::new();
    if specs.is_empty() {
        let (first, last, step) = spec.keys;
        let last = if last < 0 { n + last } else { last };
        keys.extend(
            (first..=last.min(n - 1))
                .step_by(step.max(1) as usize)
                .map(|i| (i as usize, None)),
        );
    }
    for ks in specs {
        let not_key = ks
            .get("flags")
            .is_some_and(|f| f.items().iter().any(|x| x.bytes() == b"not_key"));
        if not_key {
            continue;
        }
        let found = spec_keys(ks, cmd)
            .ok_or_else(|| CmdError::err("Invalid arguments specified for command"))?;
        keys.extend(found.into_iter().map(|i| (i, ks.get("flags"))));
    }
    if keys.is_empty() {
        return Err(CmdError::err("Invalid arguments specified for command"));
    }
    Ok(keys)
}

fn command_help(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    help_reply(
        ctx,
        &[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- misc

fn time(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let now = ctx.node.now;
    let out = &mut ctx.client.out;
    out.array_len(2);
    out.bulk_int((now / 1000) as i64);
    out.bulk_int(((now % 1000) * 1000) as i64);
    Ok(())
}

fn lastsave(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.out.int(ctx.node.last_save as i64);
    Ok(())
}

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let n = ctx.node.ks.db(ctx.db()).len();
    ctx.client.out.int(n as i64);
    Ok(())
}

fn shutdown(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut nosave, mut save, mut abort) = (false, false, false);
    for a in &args[1..] {
        if is_opt(a, "nosave") {
            nosave = true;
        } else if is_opt(a, "save") {
            save = true;
        } else if is_opt(a, "now") || is_opt(a, "force") {
            // NOW: no replicas are waited for anyway. FORCE: see below.
        } else if is_opt(a, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (abort && args.len() != 2) || (nosave && save) {
        return Err(CmdError::Syntax);
    }
    if abort {
        return Err(CmdError::err("No shutdown in progress."));
    }
    // SHUTDOWN is `no_multi`: Redis refuses to queue it. Should it get
    // queued anyway, EXEC must not stop the server.
    if ctx.node.blocking.depth > 1 {
        return Err(CmdError::err("Command not allowed inside a transaction"));
    }
    ctx.node
        .log("warning", "User requested shutdown...".to_string());
    let node = &mut *ctx.node;
    let wants_save = save || (!nosave && !node.config.save.is_empty());
    if wants_save && !node.is_loading() {
        // The save is written by the driver; the node stops once it is on
        // disk (a failed write keeps it running and is logged).
        // A background save holds an older dataset: Redis kills its child
        // and saves the dataset of now.
        node.abandon_background_save();
        if node.persist.job.is_none() {
            node.start_save(false, None)
                .map_err(|e| CmdError::err(format!("Errors trying to SHUTDOWN: {e}")))?;
        }
        node.shutdown_after_save = true;
        return Ok(());
    }
    node.shutting_down = true;
    ctx.client.close_now = true;
    ctx.client.close_reason = Some("SHUTDOWN".into());
    Ok(())
}

// ---------------------------------------------------------------- DEBUG

/// C's `atoi`: optional spaces and sign, then leading digits; 0 if none.
fn atoi(s: &[u8]) -> i64 {
    let t = std::str::from_utf8(s).unwrap_or("").trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |v, d| {
            v.wrapping_mul(10).wrapping_add((d - b'0') as i64)
        });
    if neg {
        -v
    } else {
        v
    }
}

fn debug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = crate::util::lower(&args[1]);
    let n = args.len();
    match (sub.as_str(), n) {
        ("help", 2) => {
            help_reply(
                ctx,
                &[
                    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "CHANGE-REPL-ID",
                    "    Change the replication IDs of the instance.",
                    "    Dangerous: should be used only for testing the replication subsystem.",
                    "DIGEST",
                    "    Output a hex signature representing the current DB content.",
                    "DIGEST-VALUE <key> [<key> ...]",
                    "    Output a hex signature of the values of all the specified keys.",
                    "ERROR <string>",
                    "    Return a Redis protocol error with <string> as message. Useful for clients",
                    "    unit tests to simulate Redis errors.",
                    "LOG <message>",
                    "    Write <message> to the server log.",
                    "RELOAD [option ...]",
                    "    Save the RDB on disk and reload it back to memory. With NOSAVE the dataset is",
                    "    round-tripped through the RDB format in memory without writing the file.",
                    "SET-ACTIVE-EXPIRE <0|1>",
                    "    Setting it to 0 disables expiring keys in background when they are not",
                    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                    "    default.",
                    "SLEEP <seconds>",
                    "    Stop the server for <seconds>. Only 0 is accepted: the core never blocks.",
                    "HELP",
                    "    Prints this help.",
                ],
            );
            Ok(())
        }
        ("digest", 2) => {
            let d = crate::digest::dataset_digest(&ctx.node.ks);
            ctx.client.out.simple(&d);
            Ok(())
        }
        ("digest-value", _) => {
            let db = ctx.db();
            ctx.client.out.array_len(n - 2);
            for key in &args[2..] {
                let d = crate::digest::value_digest(&ctx.node.ks, db, key);
                ctx.client.out.simple(&d);
            }
            Ok(())
        }
        ("set-active-expire", 3) => {
            // Redis reads the flag with atoi(): anything not a number is 0.
            ctx.node.config.active_expire = atoi(&args[2]) != 0;
            ctx.client.out.ok();
            Ok(())
        }
        ("change-repl-id", 2) => {
            // Redis: changeReplicationId() then clearReplicationId2().
            let node = &mut *ctx.node;
            node.repl.identity.change(&mut node.rng);
            node.repl.identity.clear2();
            ctx.client.out.ok();
            Ok(())
        }
        ("error", 3) => Err(CmdError::Other(
            String::from_utf8_lossy(&args[2]).into_owned(),
        )),
        ("log", 3) => {
            let msg = format!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2]));
            ctx.node.log("warning", msg);
            ctx.client.out.ok();
            Ok(())
        }
        ("sleep", 3) => {
            let secs = crate::float::parse_double(&args[2]).ok_or(CmdError::NotFloat)?;
            if secs != 0.0 {
                return Err(CmdError::err(
                    "DEBUG SLEEP is not supported: Tandem's core never blocks",
                ));
            }
            ctx.client.out.ok();
            Ok(())
        }
        ("reload", _) => {
            for a in &args[2..] {
                if !(is_opt(a, "merge") || is_opt(a, "noflush") || is_opt(a, "nosave")) {
                    return Err(CmdError::err(
                        "DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
                    ));
                }
            }
            if args[2..]
                .iter()
                .any(|a| is_opt(a, "merge") || is_opt(a, "noflush"))
            {
                return Err(CmdError::err(
                    "DEBUG RELOAD MERGE and NOFLUSH are not supported by Tandem",
                ));
            }
            let save = !args[2..].iter().any(|a| is_opt(a, "nosave"));
            ctx.node
                .debug_reload(save)
                .map_err(|e| CmdError::err(format!("Error trying to load the RDB dump: {e}")))?;
            ctx.client.out.ok();
            Ok(())
        }
        _ => Err(CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&args[1])
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_references_write_back_as_redis_sent_them() {
        let mut out = Vec::new();
        parse_ref_text(include_bytes!("reference/command_info.txt")).write(&mut out);
        assert!(out == include_bytes!("reference/command_info.resp"));
        out.clear();
        parse_ref_text(include_bytes!("reference/command_docs.txt")).write(&mut out);
        assert!(out == include_bytes!("reference/command_docs.resp"));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(916352), "894.88K");
        assert_eq!(bytes_to_human(6578176), "6.27M");
        assert_eq!(bytes_to_human(25276063744), "23.54G");
    }

    #[test]
    fn reference_covers_every_redis_command() {
        let r = reference();
        assert_eq!(r.info.len(), 366, "240 commands and 126 subcommands");
        #[cfg(feature = "command-docs")]
        assert!(r.docs.contains_key("get") && r.docs.contains_key("config|get"));
        let mut out = Vec::new();
        reference().info["get"].write(&mut out);
        assert!(out.starts_with(b"*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n"));
    }

    #[test]
    fn info_sections_in_order() {
        let node = Node::new(crate::Config::default(), 1, 1_000_000);
        let ctx = InfoCtx {
            node: &node,
            current: None,
        };
        let text = info_text(&ctx, &["keyspace".into(), "server".into(), "nosuch".into()]);
        assert!(text.starts_with("# Server\r\nredis_version:7.0.15\r\n"));
        assert!(text.ends_with("\r\n\r\n# Keyspace\r\n"));
        let all = info_text(&ctx, &[]);
        let titles: Vec<&str> = all.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(
            titles,
            [
                "# Server",
                "# Clients",
                "# Memory",
                "# Persistence",
                "# Stats",
                "# Replication",
                "# CPU",
                "# Modules",
                "# Cluster",
                "# Keyspace"
            ]
        );
        let replid = &node.repl.identity.replid;
        assert!(all.contains(&format!("master_replid:{replid}\r\n")));
        assert_ne!(*replid, node.run_id);
    }
}
