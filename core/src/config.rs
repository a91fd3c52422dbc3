//! Configuration as `redis-server` takes it: a `redis.conf`-style text (one
//! directive per line, `#` comments, arguments split like `sdssplitargs`),
//! `--name value` command-line arguments appended to it, and `CONFIG GET` /
//! `CONFIG SET` at run time. These are pure functions over text so the native
//! node and the browser share them.
//!
//! Sizes accept Redis's units (`1k` = 1000, `1kb` = 1024, `mb`, `gb`...),
//! booleans are `yes`/`no`, and errors carry Redis's reasons
//! (`argument couldn't be parsed into an integer`, ...).

use crate::util::glob_match;

/// Thresholds that decide when a collection leaves its compact encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodingLimits {
    /// `hash-max-listpack-entries`
    pub hash_max_listpack_entries: usize,
    /// `hash-max-listpack-value`
    pub hash_max_listpack_value: usize,
    /// `set-max-intset-entries`
    pub set_max_intset_entries: usize,
    /// `zset-max-listpack-entries`
    pub zset_max_listpack_entries: usize,
    /// `zset-max-listpack-value`
    pub zset_max_listpack_value: usize,
    /// `list-max-listpack-size`
    pub list_max_listpack_size: i64,
    /// `list-compress-depth`
    pub list_compress_depth: i64,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            // redis-server's built-in default (its sample redis.conf says 128).
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
        }
    }
}

/// One `save <seconds> <changes>` point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavePoint {
    /// Seconds since the last save.
    pub seconds: u64,
    /// Changes since the last save.
    pub changes: u64,
}

/// `client-output-buffer-limit` for one client class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputBufferLimit {
    /// Hard limit in bytes (0 = none).
    pub hard: u64,
    /// Soft limit in bytes (0 = none).
    pub soft: u64,
    /// Seconds over the soft limit before the client is dropped.
    pub soft_seconds: u64,
}

/// Every parameter Tandem understands.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `port`
    pub port: u16,
    /// `bind`
    pub bind: Vec<String>,
    /// `protected-mode`
    pub protected_mode: bool,
    /// `requirepass` (empty = none)
    pub requirepass: Option<Vec<u8>>,
    /// `databases`
    pub databases: usize,
    /// `proto-max-bulk-len`
    pub proto_max_bulk_len: u64,
    /// `client-query-buffer-limit`
    pub client_query_buffer_limit: u64,
    /// `maxclients`
    pub maxclients: u64,
    /// `timeout` (idle seconds before a client is closed; 0 = never)
    pub timeout: u64,
    /// `hz` (background task frequency)
    pub hz: u64,
    /// `dir`
    pub dir: String,
    /// `dbfilename`
    pub dbfilename: String,
    /// `save`
    pub save: Vec<SavePoint>,
    /// `rdbcompression`
    pub rdbcompression: bool,
    /// `rdbchecksum`
    pub rdbchecksum: bool,
    /// `appendonly` (accepted, always `no`)
    pub appendonly: bool,
    /// `loglevel`
    pub loglevel: String,
    /// `logfile`
    pub logfile: String,
    /// `daemonize` (accepted; Tandem never forks)
    pub daemonize: bool,
    /// `pidfile`
    pub pidfile: String,
    /// `tcp-backlog`
    pub tcp_backlog: u64,
    /// `tcp-keepalive`
    pub tcp_keepalive: u64,
    /// `maxmemory` (accepted, reported)
    pub maxmemory: u64,
    /// `replicaof` / `slaveof`
    pub replicaof: Option<(String, u16)>,
    /// `masterauth`
    pub masterauth: Option<Vec<u8>>,
    /// `masteruser`
    pub masteruser: Option<Vec<u8>>,
    /// `repl-backlog-size`
    pub repl_backlog_size: u64,
    /// `repl-backlog-ttl`
    pub repl_backlog_ttl: u64,
    /// `repl-ping-replica-period`
    pub repl_ping_replica_period: u64,
    /// `repl-timeout`
    pub repl_timeout: u64,
    /// `repl-diskless-sync`
    pub repl_diskless_sync: bool,
    /// `repl-diskless-sync-delay`
    pub repl_diskless_sync_delay: u64,
    /// `repl-diskless-sync-max-replicas`
    pub repl_diskless_sync_max_replicas: u64,
    /// `repl-diskless-load`
    pub repl_diskless_load: String,
    /// `replica-read-only`
    pub replica_read_only: bool,
    /// `replica-serve-stale-data`
    pub replica_serve_stale_data: bool,
    /// `replica-announce-ip`
    pub replica_announce_ip: String,
    /// `replica-announce-port`
    pub replica_announce_port: u64,
    /// `replica-priority`
    pub replica_priority: u64,
    /// `min-replicas-to-write`
    pub min_replicas_to_write: u64,
    /// `min-replicas-max-lag`
    pub min_replicas_max_lag: u64,
    /// `client-output-buffer-limit` for normal clients
    pub cob_normal: OutputBufferLimit,
    /// `client-output-buffer-limit` for replicas
    pub cob_replica: OutputBufferLimit,
    /// `client-output-buffer-limit` for pubsub clients
    pub cob_pubsub: OutputBufferLimit,
    /// Collection encoding thresholds.
    pub encoding: EncodingLimits,
    /// `active-expire-enabled` (Redis's DEBUG SET-ACTIVE-EXPIRE, as a parameter)
    pub active_expire: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into(), "-::1".into()],
            protected_mode: true,
            requirepass: None,
            databases: 16,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            maxclients: 10000,
            timeout: 0,
            hz: 10,
            dir: ".".into(),
            dbfilename: "dump.rdb".into(),
            save: vec![
                SavePoint {
                    seconds: 3600,
                    changes: 1,
                },
                SavePoint {
                    seconds: 300,
                    changes: 100,
                },
                SavePoint {
                    seconds: 60,
                    changes: 10000,
                },
            ],
            rdbcompression: true,
            rdbchecksum: true,
            appendonly: false,
            loglevel: "notice".into(),
            logfile: String::new(),
            daemonize: false,
            pidfile: String::new(),
            tcp_backlog: 511,
            tcp_keepalive: 300,
            maxmemory: 0,
            replicaof: None,
            masterauth: None,
            masteruser: None,
            repl_backlog_size: 1024 * 1024,
            repl_backlog_ttl: 3600,
            repl_ping_replica_period: 10,
            repl_timeout: 60,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            repl_diskless_load: "disabled".into(),
            replica_read_only: true,
            replica_serve_stale_data: true,
            replica_announce_ip: String::new(),
            replica_announce_port: 0,
            replica_priority: 100,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            cob_normal: OutputBufferLimit {
                hard: 0,
                soft: 0,
                soft_seconds: 0,
            },
            cob_replica: OutputBufferLimit {
                hard: 256 * 1024 * 1024,
                soft: 64 * 1024 * 1024,
                soft_seconds: 60,
            },
            cob_pubsub: OutputBufferLimit {
                hard: 32 * 1024 * 1024,
                soft: 8 * 1024 * 1024,
                soft_seconds: 60,
            },
            encoding: EncodingLimits::default(),
            active_expire: true,
        }
    }
}

/// A configuration text that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A line of a config file was rejected (the message mirrors redis-server's FATAL CONFIG FILE ERROR).
    #[error("Reading the configuration file, at line {line}\n>>> '{text}'\n{reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// The directive as written.
        text: String,
        /// Why it was rejected.
        reason: String,
    },
}

/// Parse a size with Redis's units (`memtoll`): `k`=1000, `kb`=1024, `m`, `mb`, `g`, `gb`.
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1_000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, mul)| lower.strip_suffix(suffix).map(|n| (n.to_string(), *mul)))
    .unwrap_or((lower.clone(), 1));
    let v: i64 = crate::util::parse_i64(num.as_bytes())?;
    if v < 0 {
        return None;
    }
    (v as u64).checked_mul(mul)
}

fn format_memory(v: u64) -> String {
    v.to_string()
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn parse_int_in(v: &str, min: i64, max: i64) -> Result<i64, String> {
    let n = crate::util::parse_i64(v.as_bytes())
        .ok_or("argument couldn't be parsed into an integer")?;
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

fn parse_mem_in(v: &str, min: u64, max: u64) -> Result<u64, String> {
    let n = parse_memory(v).ok_or("argument must be a memory value")?;
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

fn opt_bytes(v: &str) -> Option<Vec<u8>> {
    if v.is_empty() {
        None
    } else {
        Some(v.as_bytes().to_vec())
    }
}

fn show_bytes(v: &Option<Vec<u8>>) -> String {
    v.as_ref()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

fn parse_cob(cfg: &mut Config, v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if parts.is_empty() || !parts.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut next = cfg.clone();
    for chunk in parts.chunks(4) {
        let lim = OutputBufferLimit {
            hard: parse_memory(chunk[1]).ok_or(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            )?,
            soft: parse_memory(chunk[2]).ok_or(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            )?,
            soft_seconds: chunk[3].parse().map_err(|_| {
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
            })?,
        };
        match chunk[0].to_ascii_lowercase().as_str() {
            "normal" => next.cob_normal = lim,
            "replica" | "slave" => next.cob_replica = lim,
            "pubsub" => next.cob_pubsub = lim,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        }
    }
    *cfg = next;
    Ok(())
}

fn show_cob(cfg: &Config) -> String {
    let f = |name: &str, l: &OutputBufferLimit| {
        format!("{name} {} {} {}", l.hard, l.soft, l.soft_seconds)
    };
    format!(
        "{} {} {}",
        f("normal", &cfg.cob_normal),
        f("slave", &cfg.cob_replica),
        f("pubsub", &cfg.cob_pubsub)
    )
}

fn parse_save(cfg: &mut Config, v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if !parts.len().is_multiple_of(2) {
        return Err("Invalid save parameters".into());
    }
    let mut points = Vec::new();
    for pair in parts.chunks(2) {
        let seconds = pair[0].parse().map_err(|_| "Invalid save parameters")?;
        let changes = pair[1].parse().map_err(|_| "Invalid save parameters")?;
        points.push(SavePoint { seconds, changes });
    }
    cfg.save = points;
    Ok(())
}

fn parse_replicaof(cfg: &mut Config, v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    match parts.as_slice() {
        [no, one] if no.eq_ignore_ascii_case("no") && one.eq_ignore_ascii_case("one") => {
            cfg.replicaof = None;
            Ok(())
        }
        [host, port] => {
            let port =
                parse_int_in(port, 0, 65535).map_err(|_| "Invalid master port".to_string())?;
            cfg.replicaof = Some((host.to_string(), port as u16));
            Ok(())
        }
        _ => Err("wrong number of arguments".into()),
    }
}

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &str) -> Result<(), String>;

/// One configuration parameter.
pub struct Param {
    /// Its name (lowercase).
    pub name: &'static str,
    /// Another name it answers to (`slaveof` for `replicaof`...).
    pub alias: Option<&'static str>,
    /// Whether the file may give it several arguments (joined by spaces).
    pub multi_arg: bool,
    /// Whether CONFIG SET may change it at run time.
    pub mutable: bool,
    get: Getter,
    set: Setter,
}

macro_rules! p {
    ($name:expr, $alias:expr, $multi:expr, $mutable:expr, |$c:ident| $get:expr, |$cs:ident, $v:ident| $set:expr) => {
        Param {
            name: $name,
            alias: $alias,
            multi_arg: $multi,
            mutable: $mutable,
            get: |$c: &Config| $get,
            set: |$cs: &mut Config, $v: &str| $set,
        }
    };
}

/// Every parameter, in a fixed order.
pub static PARAMS: &[Param] = &[
    p!("port", None, false, true, |c| c.port.to_string(), |c, v| {
        c.port = parse_int_in(v, 0, 65535)? as u16;
        Ok(())
    }),
    p!("bind", None, true, true, |c| c.bind.join(" "), |c, v| {
        c.bind = v.split_whitespace().map(String::from).collect();
        Ok(())
    }),
    p!(
        "protected-mode",
        None,
        false,
        true,
        |c| yes_no(c.protected_mode),
        |c, v| {
            c.protected_mode = parse_bool(v)?;
            Ok(())
        }
    ),
    p!(
        "requirepass",
        None,
        false,
        true,
        |c| show_bytes(&c.requirepass),
        |c, v| {
            c.requirepass = opt_bytes(v);
            Ok(())
        }
    ),
    p!(
        "databases",
        None,
        false,
        false,
        |c| c.databases.to_string(),
        |c, v| {
            c.databases = parse_int_in(v, 1, i32::MAX as i64)? as usize;
            Ok(())
        }
    ),
    p!(
        "proto-max-bulk-len",
        None,
        false,
        true,
        |c| format_memory(c.proto_max_bulk_len),
        |c, v| {
            c.proto_max_bulk_len = parse_mem_in(v, 1024 * 1024, i64::MAX as u64)?;
            Ok(())
        }
    ),
    p!(
        "client-query-buffer-limit",
        None,
        false,
        true,
        |c| format_memory(c.client_query_buffer_limit),
        |c, v| {
            c.client_query_buffer_limit = parse_mem_in(v, 1024 * 1024, i64::MAX as u64)?;
            Ok(())
        }
    ),
    p!(
        "maxclients",
        None,
        false,
        true,
        |c| c.maxclients.to_string(),
        |c, v| {
            c.maxclients = parse_int_in(v, 1, u32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!(
        "timeout",
        None,
        false,
        true,
        |c| c.timeout.to_string(),
        |c, v| {
            c.timeout = parse_int_in(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!("hz", None, false, true, |c| c.hz.to_string(), |c, v| {
        c.hz = parse_int_in(v, 0, i32::MAX as i64)?.clamp(1, 500) as u64;
        Ok(())
    }),
    p!("dir", None, false, true, |c| c.dir.clone(), |c, v| {
        c.dir = v.to_string();
        Ok(())
    }),
    p!(
        "dbfilename",
        None,
        false,
        true,
        |c| c.dbfilename.clone(),
        |c, v| {
            if v.contains('/') {
                return Err("dbfilename can't be a path, just a filename".into());
            }
            c.dbfilename = v.to_string();
            Ok(())
        }
    ),
    p!(
        "save",
        None,
        true,
        true,
        |c| c
            .save
            .iter()
            .map(|s| format!("{} {}", s.seconds, s.changes))
            .collect::<Vec<_>>()
            .join(" "),
        |c, v| parse_save(c, v)
    ),
    p!(
        "rdbcompression",
        None,
        false,
        true,
        |c| yes_no(c.rdbcompression),
        |c, v| {
            c.rdbcompression = parse_bool(v)?;
            Ok(())
        }
    ),
    p!(
        "rdbchecksum",
        None,
        false,
        false,
        |c| yes_no(c.rdbchecksum),
        |c, v| {
            c.rdbchecksum = parse_bool(v)?;
            Ok(())
        }
    ),
    p!(
        "appendonly",
        None,
        false,
        true,
        |c| yes_no(c.appendonly),
        |c, v| {
            if parse_bool(v)? {
                return Err("appendonly is not supported by Tandem".into());
            }
            c.appendonly = false;
            Ok(())
        }
    ),
    p!(
        "loglevel",
        None,
        false,
        true,
        |c| c.loglevel.clone(),
        |c, v| {
            match v.to_ascii_lowercase().as_str() {
            l @ ("debug" | "verbose" | "notice" | "warning" | "nothing") => { c.loglevel = l.into(); Ok(()) }
            _ => Err("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into()),
        }
        }
    ),
    p!(
        "logfile",
        None,
        false,
        false,
        |c| c.logfile.clone(),
        |c, v| {
            c.logfile = v.to_string();
            Ok(())
        }
    ),
    p!(
        "daemonize",
        None,
        false,
        false,
        |c| yes_no(c.daemonize),
        |c, v| {
            c.daemonize = parse_bool(v)?;
            Ok(())
        }
    ),
    p!(
        "pidfile",
        None,
        false,
        false,
        |c| c.pidfile.clone(),
        |c, v| {
            c.pidfile = v.to_string();
            Ok(())
        }
    ),
    p!(
        "tcp-backlog",
        None,
        false,
        false,
        |c| c.tcp_backlog.to_string(),
        |c, v| {
            c.tcp_backlog = parse_int_in(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!(
        "tcp-keepalive",
        None,
        false,
        true,
        |c| c.tcp_keepalive.to_string(),
        |c, v| {
            c.tcp_keepalive = parse_int_in(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!(
        "maxmemory",
        None,
        false,
        true,
        |c| c.maxmemory.to_string(),
        |c, v| {
            c.maxmemory = parse_mem_in(v, 0, i64::MAX as u64)?;
            Ok(())
        }
    ),
    p!(
        "replicaof",
        Some("slaveof"),
        true,
        false,
        |c| c
            .replicaof
            .as_ref()
            .map(|(h, p)| format!("{h} {p}"))
            .unwrap_or_default(),
        |c, v| parse_replicaof(c, v)
    ),
    p!(
        "masterauth",
        None,
        false,
        true,
        |c| show_bytes(&c.masterauth),
        |c, v| {
            c.masterauth = opt_bytes(v);
            Ok(())
        }
    ),
    p!(
        "masteruser",
        None,
        false,
        true,
        |c| show_bytes(&c.masteruser),
        |c, v| {
            c.masteruser = opt_bytes(v);
            Ok(())
        }
    ),
    p!(
        "repl-backlog-size",
        None,
        false,
        true,
        |c| c.repl_backlog_size.to_string(),
        |c, v| {
            c.repl_backlog_size = parse_mem_in(v, 1, i64::MAX as u64)?.max(16 * 1024);
            Ok(())
        }
    ),
    p!(
        "repl-backlog-ttl",
        None,
        false,
        true,
        |c| c.repl_backlog_ttl.to_string(),
        |c, v| {
            c.repl_backlog_ttl = parse_int_in(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        false,
        true,
        |c| c.repl_ping_replica_period.to_string(),
        |c, v| {
            c.repl_ping_replica_period = parse_int_in(v, 1, i32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!(
        "repl-timeout",
        None,
        false,
        true,
        |c| c.repl_timeout.to_string(),
        |c, v| {
            c.repl_timeout = parse_int_in(v, 1, i32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!(
        "repl-diskless-sync",
        None,
        false,
        true,
        |c| yes_no(c.repl_diskless_sync),
        |c, v| {
            c.repl_diskless_sync = parse_bool(v)?;
            Ok(())
        }
    ),
    p!(
        "repl-diskless-sync-delay",
        None,
        false,
        true,
        |c| c.repl_diskless_sync_delay.to_string(),
        |c, v| {
            c.repl_diskless_sync_delay = parse_int_in(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!(
        "repl-diskless-sync-max-replicas",
        None,
        false,
        true,
        |c| c.repl_diskless_sync_max_replicas.to_string(),
        |c, v| {
            c.repl_diskless_sync_max_replicas = parse_int_in(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!(
        "repl-diskless-load",
        None,
        false,
        true,
        |c| c.repl_diskless_load.clone(),
        |c, v| {
            match v.to_ascii_lowercase().as_str() {
                l @ ("disabled" | "on-empty-db" | "swapdb") => {
                    c.repl_diskless_load = l.into();
                    Ok(())
                }
                _ => Err(
                    "argument(s) must be one of the following: disabled, on-empty-db, swapdb"
                        .into(),
                ),
            }
        }
    ),
    p!(
        "replica-read-only",
        Some("slave-read-only"),
        false,
        true,
        |c| yes_no(c.replica_read_only),
        |c, v| {
            c.replica_read_only = parse_bool(v)?;
            Ok(())
        }
    ),
    p!(
        "replica-serve-stale-data",
        Some("slave-serve-stale-data"),
        false,
        true,
        |c| yes_no(c.replica_serve_stale_data),
        |c, v| {
            c.replica_serve_stale_data = parse_bool(v)?;
            Ok(())
        }
    ),
    p!(
        "replica-announce-ip",
        Some("slave-announce-ip"),
        false,
        true,
        |c| c.replica_announce_ip.clone(),
        |c, v| {
            c.replica_announce_ip = v.to_string();
            Ok(())
        }
    ),
    p!(
        "replica-announce-port",
        Some("slave-announce-port"),
        false,
        true,
        |c| c.replica_announce_port.to_string(),
        |c, v| {
            c.replica_announce_port = parse_int_in(v, 0, 65535)? as u64;
            Ok(())
        }
    ),
    p!(
        "replica-priority",
        Some("slave-priority"),
        false,
        true,
        |c| c.replica_priority.to_string(),
        |c, v| {
            c.replica_priority = parse_int_in(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!(
        "min-replicas-to-write",
        Some("min-slaves-to-write"),
        false,
        true,
        |c| c.min_replicas_to_write.to_string(),
        |c, v| {
            c.min_replicas_to_write = parse_int_in(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!(
        "min-replicas-max-lag",
        Some("min-slaves-max-lag"),
        false,
        true,
        |c| c.min_replicas_max_lag.to_string(),
        |c, v| {
            c.min_replicas_max_lag = parse_int_in(v, 0, i32::MAX as i64)? as u64;
            Ok(())
        }
    ),
    p!(
        "client-output-buffer-limit",
        None,
        true,
        true,
        |c| show_cob(c),
        |c, v| parse_cob(c, v)
    ),
    p!(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        false,
        true,
        |c| c.encoding.hash_max_listpack_entries.to_string(),
        |c, v| {
            c.encoding.hash_max_listpack_entries = parse_int_in(v, 0, i64::MAX)? as usize;
            Ok(())
        }
    ),
    p!(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        false,
        true,
        |c| c.encoding.hash_max_listpack_value.to_string(),
        |c, v| {
            c.encoding.hash_max_listpack_value = parse_mem_in(v, 0, i64::MAX as u64)? as usize;
            Ok(())
        }
    ),
    p!(
        "set-max-intset-entries",
        None,
        false,
        true,
        |c| c.encoding.set_max_intset_entries.to_string(),
        |c, v| {
            c.encoding.set_max_intset_entries = parse_int_in(v, 0, i64::MAX)? as usize;
            Ok(())
        }
    ),
    p!(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        false,
        true,
        |c| c.encoding.zset_max_listpack_entries.to_string(),
        |c, v| {
            c.encoding.zset_max_listpack_entries = parse_int_in(v, 0, i64::MAX)? as usize;
            Ok(())
        }
    ),
    p!(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        false,
        true,
        |c| c.encoding.zset_max_listpack_value.to_string(),
        |c, v| {
            c.encoding.zset_max_listpack_value = parse_mem_in(v, 0, i64::MAX as u64)? as usize;
            Ok(())
        }
    ),
    p!(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        false,
        true,
        |c| c.encoding.list_max_listpack_size.to_string(),
        |c, v| {
            c.encoding.list_max_listpack_size = parse_int_in(v, i32::MIN as i64, i32::MAX as i64)?;
            Ok(())
        }
    ),
    p!(
        "list-compress-depth",
        None,
        false,
        true,
        |c| c.encoding.list_compress_depth.to_string(),
        |c, v| {
            c.encoding.list_compress_depth = parse_int_in(v, 0, i32::MAX as i64)?;
            Ok(())
        }
    ),
];

/// Find a parameter by name or alias (case-insensitive).
pub fn find_param(name: &str) -> Option<&'static Param> {
    let lower = name.to_ascii_lowercase();
    PARAMS
        .iter()
        .find(|p| p.name == lower || p.alias == Some(lower.as_str()))
}

impl Config {
    /// `CONFIG GET`: name/value pairs whose name matches any of the globs.
    /// As in Redis 7.0, a pattern without glob characters (`*?[`) is an
    /// exact lookup (any case) and answers under the name as given; every
    /// name appears once.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let seen = |out: &Vec<(String, String)>, n: &str| {
            out.iter().any(|(m, _)| m.eq_ignore_ascii_case(n))
        };
        for pat in patterns {
            if !pat.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                let name = String::from_utf8_lossy(pat).into_owned();
                if let Some(p) = find_param(&name) {
                    if !seen(&out, &name) {
                        out.push((name, (p.get)(self)));
                    }
                }
                continue;
            }
            for p in PARAMS {
                for name in std::iter::once(p.name).chain(p.alias) {
                    if glob_match(pat, name.as_bytes(), true) && !seen(&out, name) {
                        out.push((name.to_string(), (p.get)(self)));
                    }
                }
            }
        }
        out
    }

    /// `CONFIG SET name value [name value ...]`, all or nothing, with Redis
    /// 7.0's checks and texts (without the `ERR ` prefix): every name is
    /// looked up first (unknown, immutable, given twice), then all values
    /// are applied to a copy that replaces `self` only if each one parsed.
    pub fn set_many(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<(), String> {
        let mut params = Vec::with_capacity(pairs.len());
        for (i, (name, value)) in pairs.iter().enumerate() {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            let failed = |why: &str| {
                format!("CONFIG SET failed (possibly related to argument '{name}') - {why}")
            };
            let Some(p) = find_param(&name) else {
                return Err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{}'",
                    String::from_utf8_lossy(pairs[i].0)
                ));
            };
            if !p.mutable {
                return Err(failed("can't set immutable config"));
            }
            if pairs[..i]
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            {
                return Err(failed("duplicate parameter"));
            }
            params.push((name, p, String::from_utf8_lossy(value).into_owned(), *value));
        }
        let mut next = self.clone();
        for (name, p, value, raw) in &params {
            let why = match (p.set)(&mut next, value) {
                Err(why) => why,
                // The driver listens once, at startup: a new address or port
                // fails the way Redis's failed re-listen does.
                Ok(()) if p.name == "port" && next.port != self.port => {
                    "Unable to listen on this port".into()
                }
                Ok(()) if p.name == "bind" && next.bind != self.bind => {
                    "Failed to bind to specified addresses.".into()
                }
                Ok(()) => {
                    next.set_secret(p.name, raw);
                    continue;
                }
            };
            return Err(format!(
                "CONFIG SET failed (possibly related to argument '{name}') - {why}"
            ));
        }
        *self = next;
        Ok(())
    }

    /// Passwords are binary-safe in Redis: keep the exact bytes CONFIG SET
    /// was given (the text path above may have replaced invalid UTF-8).
    fn set_secret(&mut self, name: &str, raw: &[u8]) {
        let bytes = (!raw.is_empty()).then(|| raw.to_vec());
        match name {
            "requirepass" => self.requirepass = bytes,
            "masterauth" => self.masterauth = bytes,
            "masteruser" => self.masteruser = bytes,
            _ => {}
        }
    }

    /// Set one parameter from its text value (CONFIG SET or a config line).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let p = find_param(name).ok_or_else(|| {
            format!("Unknown option or number of arguments for CONFIG SET - '{name}'")
        })?;
        (p.set)(self, value)
    }

    /// A parameter's current value as CONFIG GET shows it.
    pub fn get(&self, name: &str) -> Option<String> {
        find_param(name).map(|p| (p.get)(self))
    }

    /// Apply a `redis.conf`-style text on top of this configuration.
    pub fn apply_text(&mut self, text: &str) -> Result<(), ConfigError> {
        for (i, raw_line) in text.lines().enumerate() {
            let line = raw_line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: String| ConfigError::Line {
                line: i + 1,
                text: line.to_string(),
                reason,
            };
            let args = crate::resp::split_args(line.as_bytes())
                .ok_or_else(|| err("Unbalanced quotes in configuration line".into()))?;
            let args: Vec<String> = args
                .into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect();
            let Some((name, values)) = args.split_first() else {
                continue;
            };
            if name.eq_ignore_ascii_case("include") || name.eq_ignore_ascii_case("rename-command") {
                return Err(err(format!("'{name}' is not supported by Tandem")));
            }
            let p = find_param(name)
                .ok_or_else(|| err("Bad directive or wrong number of arguments".into()))?;
            if !p.multi_arg && values.len() != 1 {
                return Err(err("wrong number of arguments".into()));
            }
            (p.set)(self, &values.join(" ")).map_err(err)?;
        }
        Ok(())
    }

    /// Build a configuration the way `redis-server [file] [--name value ...]`
    /// does: the file's text (if any) first, then every `--name value...` as
    /// one more directive line.
    pub fn from_args(file_text: Option<&str>, args: &[String]) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut text = String::new();
        if let Some(t) = file_text {
            text.push_str(t);
            text.push('\n');
        }
        text.push_str(&args_to_config_text(args));
        cfg.apply_text(&text)?;
        Ok(cfg)
    }
}

/// Turn `--port 7000 --save "" --replicaof 127.0.0.1 6379` into config lines.
pub fn args_to_config_text(args: &[String]) -> String {
    let mut text = String::new();
    let mut first = true;
    for a in args {
        if let Some(name) = a.strip_prefix("--") {
            if !first {
                text.push('\n');
            }
            text.push_str(name);
            first = false;
        } else {
            text.push(' ');
            text.push_str(&quote_arg(a));
        }
    }
    text.push('\n');
    text
}

fn quote_arg(a: &str) -> String {
    if !a.is_empty()
        && !a
            .bytes()
            .any(|c| c.is_ascii_whitespace() || c == b'"' || c == b'\'' || c == b'\\')
    {
        return a.to_string();
    }
    let mut s = String::from("\"");
    for c in a.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1kb"), Some(1024));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("512MB"), Some(512 << 20));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("12"), Some(12));
        assert_eq!(parse_memory("x"), None);
    }

    #[test]
    fn file_and_args() {
        let cfg = Config::from_args(
            Some("# comment\nport 7000\nsave 900 1 300 10\nrequirepass \"p w\"\n"),
            &[
                "--databases".into(),
                "4".into(),
                "--replicaof".into(),
                "127.0.0.1".into(),
                "6379".into(),
                "--save".into(),
                "".into(),
            ],
        )
        .unwrap();
        assert_eq!(cfg.port, 7000);
        assert_eq!(cfg.databases, 4);
        assert_eq!(cfg.requirepass.as_deref(), Some(&b"p w"[..]));
        assert_eq!(cfg.replicaof, Some(("127.0.0.1".into(), 6379)));
        assert!(cfg.save.is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let e = Config::from_args(Some("port 1\nport abc\n"), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Reading the configuration file, at line 2\n>>> 'port abc'\nargument couldn't be parsed into an integer"
        );
        assert!(Config::from_args(Some("nosuch 1\n"), &[]).is_err());
        assert!(Config::from_args(Some("protected-mode maybe\n"), &[]).is_err());
    }

    #[test]
    fn config_get_globs() {
        let cfg = Config::default();
        let got = cfg.get_matching(&[b"port"]);
        assert_eq!(got, vec![("port".to_string(), "6379".to_string())]);
        let got = cfg.get_matching(&[b"repl-diskless-*"]);
        assert_eq!(got.len(), 4);
        assert_eq!(cfg.get("slaveof"), Some(String::new()));
    }

    #[test]
    fn config_set_is_all_or_nothing() {
        let mut cfg = Config::default();
        let err = cfg
            .set_many(&[(b"hz", b"20"), (b"timeout", b"x")])
            .unwrap_err();
        assert_eq!(
            err,
            "CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"
        );
        assert_eq!(cfg.hz, 10, "nothing applied");
        assert_eq!(
            cfg.set_many(&[(b"hz", b"1"), (b"HZ", b"2")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"
        );
        assert_eq!(
            cfg.set_many(&[(b"hz", b"x"), (b"Nosuch", b"1")])
                .unwrap_err(),
            "Unknown option or number of arguments for CONFIG SET - 'Nosuch'"
        );
        assert_eq!(
            cfg.set_many(&[(b"databases", b"2")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
        );
        cfg.set_many(&[
            (b"hz", b"20"),
            (b"timeout", b"5"),
            (b"requirepass", b"a\xffb"),
        ])
        .unwrap();
        assert_eq!((cfg.hz, cfg.timeout), (20, 5));
        assert_eq!(cfg.requirepass.as_deref(), Some(&b"a\xffb"[..]));
        // The port the node listens on cannot move; setting it again is fine.
        assert!(cfg.set_many(&[(b"port", b"6379")]).is_ok());
        assert!(cfg.set_many(&[(b"port", b"7000")]).is_err());
    }

    #[test]
    fn exact_names_answer_as_given() {
        let cfg = Config::default();
        assert_eq!(
            cfg.get_matching(&[b"PORT", b"port", b"Hz"]),
            vec![
                ("PORT".to_string(), "6379".to_string()),
                ("Hz".to_string(), "10".to_string())
            ]
        );
        assert!(cfg.get_matching(&[b"nosuch"]).is_empty());
    }
}
