//! Server commands of the real `tandem` binary (INFO, CONFIG, COMMAND, TIME,
//! LASTSAVE, SHUTDOWN, DEBUG, DBSIZE), compared with a real redis-server
//! 7.0.15 wherever the answer is deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
mod common;

use common::{err, need_redis, ok, run_both};
use tandem_tests::{Conn, Reply, Server};

/// INFO parsed as (section title, [(field, value)]).
fn info_sections(c: &mut Conn, args: &[&str]) -> Vec<(String, Vec<(String, String)>)> {
    let mut cmd = vec!["INFO"];
    cmd.extend_from_slice(args);
    let text = c.cmd(&cmd).text();
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.split("\r\n") {
        if let Some(title) = line.strip_prefix("# ") {
            out.push((title.to_string(), Vec::new()));
        } else if let Some((k, v)) = line.split_once(':') {
            out.last_mut()
                .expect("field before any section")
                .1
                .push((k.to_string(), v.to_string()));
        } else {
            assert!(line.is_empty(), "stray INFO line {line:?}");
        }
    }
    out
}

fn field(sections: &[(String, Vec<(String, String)>)], name: &str) -> String {
    sections
        .iter()
        .flat_map(|(_, f)| f)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("INFO has no field {name}"))
}

#[test]
fn info_has_redis_sections_fields_and_order() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    let ts = info_sections(&mut tc, &["everything"]);
    let rs = info_sections(&mut rc, &["everything"]);
    let rmap: BTreeMap<&str, &Vec<(String, String)>> =
        rs.iter().map(|(t, f)| (t.as_str(), f)).collect();
    for (title, fields) in &ts {
        let rf = rmap
            .get(title.as_str())
            .unwrap_or_else(|| panic!("redis has no section {title}"));
        // Every field Tandem reports exists in the same Redis section, in the same order.
        let mut last = 0;
        for (k, _) in fields {
            if k == "tandem_version" {
                continue;
            }
            let pos = rf
                .iter()
                .position(|(rk, _)| rk == k)
                .unwrap_or_else(|| panic!("redis section {title} has no field {k}"));
            assert!(pos >= last, "field {k} out of Redis's order in {title}");
            last = pos;
        }
    }
    // Sections keep Redis's order.
    let titles: Vec<&str> = ts.iter().map(|(t, _)| t.as_str()).collect();
    let rtitles: Vec<&str> = rs
        .iter()
        .map(|(t, _)| t.as_str())
        .filter(|t| titles.contains(t))
        .collect();
    assert_eq!(titles, rtitles);
    for must in [
        "redis_version",
        "redis_mode",
        "tandem_version",
        "run_id",
        "tcp_port",
        "uptime_in_seconds",
        "hz",
        "connected_clients",
        "blocked_clients",
        "used_memory",
        "loading",
        "rdb_changes_since_last_save",
        "rdb_bgsave_in_progress",
        "rdb_last_save_time",
        "rdb_last_bgsave_status",
        "total_connections_received",
        "total_commands_processed",
        "keyspace_hits",
        "keyspace_misses",
        "expired_keys",
        "sync_full",
        "sync_partial_ok",
        "sync_partial_err",
        "master_replid",
        "repl_backlog_histlen",
    ] {
        field(&ts, must);
    }
    // Deterministic values agree.
    for f in [
        "redis_version",
        "redis_mode",
        "hz",
        "configured_hz",
        "connected_clients",
        "blocked_clients",
        "maxclients",
        "loading",
        "rdb_changes_since_last_save",
        "rdb_bgsave_in_progress",
        "rdb_last_bgsave_status",
        "aof_enabled",
        "sync_full",
        "sync_partial_ok",
        "sync_partial_err",
        "role",
        "connected_slaves",
        "master_failover_state",
        "master_replid2",
        "master_repl_offset",
        "second_repl_offset",
        "repl_backlog_active",
        "repl_backlog_size",
        "repl_backlog_first_byte_offset",
        "repl_backlog_histlen",
        "cluster_enabled",
        "maxmemory_policy",
    ] {
        assert_eq!(field(&ts, f), field(&rs, f), "INFO field {f}");
    }
    assert_eq!(field(&ts, "tcp_port"), t.port.to_string());
    let replid = field(&ts, "master_replid");
    assert_eq!(replid.len(), 40);
    assert_ne!(replid, field(&ts, "run_id"));
}

#[test]
fn info_section_selection_matches_redis() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    let titles = |c: &mut Conn, args: &[&str]| -> Vec<String> {
        info_sections(c, args).into_iter().map(|(t, _)| t).collect()
    };
    for args in [
        &["server"][..],
        &["KEYSPACE", "server"],
        &["clients", "nosuch", "replication"],
        &["persistence", "stats", "cpu"],
        &["nosuch"],
    ] {
        assert_eq!(
            titles(&mut tc, args),
            titles(&mut rc, args),
            "INFO {args:?}"
        );
    }
    // Default INFO: Redis's default sections (Tandem keeps no error statistics).
    let mut rdefault = titles(&mut rc, &[]);
    rdefault.retain(|t| t != "Errorstats");
    assert_eq!(titles(&mut tc, &[]), rdefault);
    assert_eq!(titles(&mut tc, &["default"]), rdefault);
    assert_eq!(tc.cmd(&["INFO", "nosuch"]), rc.cmd(&["INFO", "nosuch"]));
}

#[test]
fn info_counters_follow_commands() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    for s in [&t, &r] {
        let mut c = s.conn();
        assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), ok());
        c.cmd(&["SET", "a", "1"]);
        c.cmd(&["SET", "b", "2", "PX", "100000"]);
        c.cmd(&["GET", "a"]);
        c.cmd(&["GET", "a"]);
        c.cmd(&["GET", "nosuch"]);
        c.cmd(&["SELECT", "2"]);
        c.cmd(&["SET", "x", "1"]);
        c.cmd(&["SET", "gone", "1", "PX", "1"]);
        std::thread::sleep(Duration::from_millis(20));
        c.cmd(&["GET", "gone"]);
        c.cmd(&["NOSUCHCOMMAND"]);
        let info = info_sections(&mut c, &[]);
        assert_eq!(field(&info, "keyspace_hits"), "2", "{:?}", s.kind);
        assert_eq!(field(&info, "keyspace_misses"), "2", "{:?}", s.kind);
        assert_eq!(field(&info, "expired_keys"), "1", "{:?}", s.kind);
        assert_eq!(field(&info, "total_error_replies"), "1", "{:?}", s.kind);
        assert_eq!(field(&info, "rdb_changes_since_last_save"), "4");
        let ks = info_sections(&mut c, &["keyspace"]);
        let lines: Vec<(String, String)> = ks[0]
            .1
            .iter()
            .map(|(k, v)| (k.clone(), v.split(",avg_ttl").next().unwrap().to_string()))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("db0".to_string(), "keys=2,expires=1".to_string()),
                ("db2".to_string(), "keys=1,expires=0".to_string())
            ]
        );
        // A second client is counted.
        let mut other = s.conn();
        assert_eq!(other.cmd(&["PING"]), Reply::Simple("PONG".into()));
        let info = info_sections(&mut c, &["clients"]);
        assert_eq!(field(&info, "connected_clients"), "2");
        assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), ok());
        let info = info_sections(&mut c, &["stats"]);
        assert_eq!(field(&info, "keyspace_hits"), "0");
        assert_eq!(field(&info, "expired_keys"), "0");
        assert_eq!(field(&info, "total_error_replies"), "0");
    }
}

#[test]
fn info_memory_grows_with_data() {
    let t = Server::tandem(&[]);
    let mut c = t.conn();
    let before: u64 = field(&info_sections(&mut c, &["memory"]), "used_memory")
        .parse()
        .unwrap();
    let big = "x".repeat(100_000);
    for i in 0..10 {
        c.cmd(&["SET", &format!("k{i}"), &big]);
    }
    let info = info_sections(&mut c, &["memory"]);
    let after: u64 = field(&info, "used_memory").parse().unwrap();
    // 1,000,000 bytes of values; the figure also counts clients (2 KB
    // each), and a connection the harness opened to see the server up may
    // close between the two readings.
    assert!(after >= before + 990_000, "{before} -> {after}");
    let peak: u64 = field(&info, "used_memory_peak").parse().unwrap();
    assert!(peak >= after);
    for i in 0..10 {
        c.cmd(&["DEL", &format!("k{i}")]);
    }
    let info = info_sections(&mut c, &["memory"]);
    let peak2: u64 = field(&info, "used_memory_peak").parse().unwrap();
    assert_eq!(peak2, peak, "peak survives a shrink");
}

#[test]
fn config_defaults_match_redis() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let all = |c: &mut Conn| -> BTreeMap<String, String> {
        let Reply::Array(Some(items)) = c.cmd(&["CONFIG", "GET", "*"]) else {
            panic!("CONFIG GET * is not an array")
        };
        items
            .chunks(2)
            .map(|p| (p[0].text(), p[1].text()))
            .collect()
    };
    let tm = all(&mut t.conn());
    let rm = all(&mut r.conn());
    assert!(tm.len() > 50, "{} parameters", tm.len());
    // Set from the command line or different by design (Tandem binds loopback only).
    let differ = [
        "port",
        "dir",
        "bind",
        "logfile",
        "pidfile",
        "daemonize",
        "enable-debug-command",
    ];
    for (name, value) in &tm {
        if differ.contains(&name.as_str()) || name == "active-expire-enabled" {
            continue;
        }
        let rv = rm
            .get(name)
            .unwrap_or_else(|| panic!("redis has no parameter {name}"));
        assert_eq!(value, rv, "default of {name}");
    }
}

fn pairs(reply: Reply) -> BTreeSet<(String, String)> {
    let Reply::Array(Some(items)) = reply else {
        panic!("not an array: {reply:?}")
    };
    assert_eq!(items.len() % 2, 0);
    items
        .chunks(2)
        .map(|p| (p[0].text(), p[1].text()))
        .collect()
}

#[test]
fn config_get_and_set_match_redis() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    for args in [
        &["CONFIG", "GET", "hz", "timeout"][..],
        &["CONFIG", "GET", "HZ", "hz", "Timeout"],
        &["CONFIG", "GET", "slaveof"],
        &["CONFIG", "GET", "nosuch"],
        &["CONFIG", "GET", "maxclient?"],
        &["CONFIG", "GET", "repl-diskless-sync*", "repl-diskless-sync"],
        &["CONFIG", "GET", "*max-*-entries"],
    ] {
        assert_eq!(pairs(tc.cmd(args)), pairs(rc.cmd(args)), "{args:?}");
    }
    run_both(
        &mut tc,
        &mut rc,
        &[
            &["CONFIG", "GET"],
            &["CONFIG"],
            &["CONFIG", "SET"],
            &["CONFIG", "SET", "hz"],
            &["CONFIG", "SET", "hz", "5", "timeout"],
            &["CONFIG", "SET", "nosuch", "1"],
            &["CONFIG", "SET", "port", "abc"],
            &["CONFIG", "SET", "PORT", "abc"],
            &["CONFIG", "SET", "hz", "7", "port", "abc"],
            &["CONFIG", "GET", "hz"],
            &["CONFIG", "SET", "hz", "abc", "nosuch", "1"],
            &["CONFIG", "SET", "hz", "5", "hz", "6"],
            &[
                "CONFIG",
                "SET",
                "replica-read-only",
                "yes",
                "slave-read-only",
                "no",
            ],
            &["CONFIG", "GET", "replica-read-only"],
            &["CONFIG", "SET", "databases", "3"],
            &["CONFIG", "SET", "maxclients", "-1"],
            &["CONFIG", "SET", "maxclients", "0"],
            &["CONFIG", "SET", "timeout", "x"],
            &["CONFIG", "SET", "slave-read-only", "maybe"],
            &["CONFIG", "SET", "save", "1 1 x"],
            &["CONFIG", "SET", "hz", "0"],
            &["CONFIG", "GET", "hz"],
            &["CONFIG", "SET", "hz", "100000"],
            &["CONFIG", "GET", "hz"],
            &[
                "CONFIG",
                "SET",
                "hz",
                "12",
                "timeout",
                "30",
                "maxclients",
                "500",
            ],
            &["CONFIG", "GET", "hz"],
            &["CONFIG", "GET", "timeout"],
            &["CONFIG", "SET", "repl-backlog-size", "2mb"],
            &["CONFIG", "GET", "repl-backlog-size"],
            &["CONFIG", "SET", "hash-max-ziplist-entries", "7"],
            &["CONFIG", "GET", "hash-max-listpack-entries"],
            &["CONFIG", "HELP"],
            &["CONFIG", "HELP", "x"],
            &["CONFIG", "NOSUCH"],
            &["CONFIG", "REWRITE"],
        ],
    );
    assert_eq!(
        pairs(tc.cmd(&["CONFIG", "GET", "hz", "timeout", "maxclients"])),
        pairs(rc.cmd(&["CONFIG", "GET", "hz", "timeout", "maxclients"]))
    );
    // Setting the current port is a no-op; another one cannot be listened on.
    let port = t.port.to_string();
    assert_eq!(tc.cmd(&["CONFIG", "SET", "port", &port]), ok());
    assert_eq!(
        tc.cmd(&["CONFIG", "SET", "port", "1"]),
        err("ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port")
    );
}

#[test]
fn config_set_takes_effect() {
    let t = Server::tandem(&[]);
    let mut c = t.conn();
    // requirepass: new connections must authenticate, the current one stays in.
    assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", "s3cret"]), ok());
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    let mut other = t.conn();
    assert_eq!(
        other.cmd(&["GET", "a"]),
        err("NOAUTH Authentication required.")
    );
    assert_eq!(other.cmd(&["AUTH", "s3cret"]), ok());
    assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", ""]), ok());
    assert_eq!(t.conn().cmd(&["GET", "a"]), Reply::Bulk(None));
    // maxclients: one more connection than allowed is refused.
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxclients", "2"]), ok());
    let mut third = t.conn();
    assert_eq!(
        third.read_reply().unwrap(),
        err("ERR max number of clients reached")
    );
    drop(other);
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxclients", "100"]), ok());
    // timeout: an idle client is closed.
    assert_eq!(c.cmd(&["CONFIG", "SET", "timeout", "1", "hz", "50"]), ok());
    let mut idle = t.conn();
    assert_eq!(idle.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert!(idle.is_closed(Duration::from_secs(4)), "idle client kept");
    // (`c` was idle too and is gone.)
    let mut c = t.conn();
    assert_eq!(c.cmd(&["CONFIG", "SET", "timeout", "0"]), ok());
    // hz is reported.
    let info = info_sections(&mut c, &["server"]);
    assert_eq!(field(&info, "hz"), "50");
}

/// A `COMMAND INFO` entry without its subcommands, and its subcommands by name.
fn split_entry(e: &Reply) -> (Vec<Reply>, BTreeMap<String, Reply>) {
    let Reply::Array(Some(items)) = e else {
        panic!("bad entry {e:?}")
    };
    let Reply::Array(Some(subs)) = &items[9] else {
        panic!("bad subcommands {e:?}")
    };
    let subs = subs
        .iter()
        .map(|s| {
            let Reply::Array(Some(si)) = s else { panic!() };
            (si[0].text(), s.clone())
        })
        .collect();
    (items[..9].to_vec(), subs)
}

#[test]
fn command_info_matches_redis_for_every_command() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    let Reply::Array(Some(table)) = tc.cmd(&["COMMAND"]) else {
        panic!("COMMAND is not an array")
    };
    assert_eq!(
        tc.cmd(&["COMMAND", "COUNT"]),
        Reply::Int(table.len() as i64)
    );
    assert!(table.len() >= 20);
    for entry in &table {
        let (head, subs) = split_entry(entry);
        let name = head[0].text();
        let theirs = rc.cmd(&["COMMAND", "INFO", &name]);
        let Reply::Array(Some(theirs)) = theirs else {
            panic!()
        };
        assert_ne!(theirs[0], Reply::Bulk(None), "redis has no command {name}");
        let (rhead, rsubs) = split_entry(&theirs[0]);
        assert_eq!(head, rhead, "COMMAND INFO {name}");
        for (sub, e) in subs {
            assert_eq!(Some(&e), rsubs.get(&sub), "COMMAND INFO {sub}");
        }
        // COMMAND INFO of the same name is the same entry.
        assert_eq!(
            tc.cmd(&["COMMAND", "INFO", &name]),
            Reply::Array(Some(vec![entry.clone()]))
        );
    }
    run_both(
        &mut tc,
        &mut rc,
        &[
            &["COMMAND", "INFO", "get", "nosuch", "GET"],
            &["COMMAND", "INFO", "config|get"],
            &["COMMAND", "GETKEYS", "set", "a", "b"],
            &["COMMAND", "GETKEYS", "del", "a", "b", "c"],
            &["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"],
            &["COMMAND", "GETKEYS", "mset", "a", "1", "b"],
            &[
                "COMMAND",
                "GETKEYS",
                "zunionstore",
                "d",
                "2",
                "a",
                "b",
                "WEIGHTS",
                "1",
                "2",
            ],
            &["COMMAND", "GETKEYS", "zunionstore", "d", "3", "a", "b"],
            &["COMMAND", "GETKEYS", "zunionstore", "d", "x", "a"],
            &["COMMAND", "GETKEYS", "lmpop", "2", "a", "b", "LEFT"],
            &["COMMAND", "GETKEYS", "blmpop", "0", "1", "a", "LEFT"],
            &[
                "COMMAND",
                "GETKEYS",
                "sintercard",
                "2",
                "a",
                "b",
                "LIMIT",
                "1",
            ],
            &["COMMAND", "GETKEYS", "smove", "a", "b", "m"],
            &["COMMAND", "GETKEYS", "blpop", "a", "b", "0"],
            &["COMMAND", "GETKEYS", "rename", "a", "b"],
            &["COMMAND", "GETKEYS", "ping", "x", "y"],
            &["COMMAND", "GETKEYS", "PING"],
            &["COMMAND", "GETKEYSANDFLAGS", "smove", "a", "b", "m"],
            &[
                "COMMAND",
                "GETKEYSANDFLAGS",
                "zunionstore",
                "d",
                "2",
                "a",
                "b",
            ],
            &["COMMAND", "GETKEYSANDFLAGS", "get"],
            &["COMMAND", "HELP"],
            &["COMMAND", "GETKEYS", "get"],
            &["COMMAND", "GETKEYS", "get", "a", "b"],
            &["COMMAND", "GETKEYS", "ping"],
            &["COMMAND", "GETKEYS", "nosuch", "a"],
            &["COMMAND", "GETKEYS", "config", "get", "x"],
            &["COMMAND", "GETKEYS"],
            &["COMMAND", "LIST", "bar"],
            &["COMMAND", "LIST", "FILTERBY", "foo", "x"],
            &["COMMAND", "LIST", "FILTERBY", "module", "x"],
            &["COMMAND", "NOSUCH"],
            &["COMMAND", "COUNT", "x"],
        ],
    );
}

fn names(reply: Reply) -> BTreeSet<String> {
    let Reply::Array(Some(items)) = reply else {
        panic!("not an array: {reply:?}")
    };
    items.iter().map(|i| i.text()).collect()
}

#[test]
fn command_list_and_docs_match_redis() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    let ours = names(tc.cmd(&["COMMAND", "LIST"]));
    let theirs = names(rc.cmd(&["COMMAND", "LIST"]));
    assert!(ours.is_subset(&theirs), "{:?}", ours.difference(&theirs));
    for name in [
        "get",
        "config",
        "config|get",
        "info",
        "multi",
        "client|list",
    ] {
        assert!(ours.contains(name), "COMMAND LIST lacks {name}");
    }
    for filter in [
        &["PATTERN", "con*"][..],
        &["ACLCAT", "transaction"],
        &["ACLCAT", "connection"],
        &["PATTERN", "*"],
    ] {
        let mut args = vec!["COMMAND", "LIST", "FILTERBY"];
        args.extend_from_slice(filter);
        let o = names(tc.cmd(&args));
        let th = names(rc.cmd(&args));
        assert!(!o.is_empty(), "{filter:?}");
        assert_eq!(o, th.intersection(&ours).cloned().collect(), "{filter:?}");
    }
    // DOCS: byte-equal for commands without subcommands; containers list
    // only the subcommands Tandem implements.
    for name in &ours {
        if name.contains('|') {
            continue;
        }
        let o = tc.cmd(&["COMMAND", "DOCS", name]);
        let th = rc.cmd(&["COMMAND", "DOCS", name]);
        let Reply::Array(Some(oi)) = &o else { panic!() };
        assert_eq!(oi.len(), 2, "{name}");
        let Reply::Array(Some(doc)) = &oi[1] else {
            panic!()
        };
        let has_subs = doc.chunks(2).any(|kv| kv[0].text() == "subcommands");
        if !has_subs {
            assert_eq!(o, th, "COMMAND DOCS {name}");
        } else {
            for kv in doc.chunks(2) {
                assert!(
                    [
                        "summary",
                        "since",
                        "group",
                        "complexity",
                        "subcommands",
                        "arguments",
                        "history",
                        "doc_flags"
                    ]
                    .contains(&kv[0].text().as_str()),
                    "{name}: {kv:?}"
                );
            }
        }
    }
    // All docs in one reply: one name/map pair per command.
    let Reply::Array(Some(all)) = tc.cmd(&["COMMAND", "DOCS"]) else {
        panic!()
    };
    let top: BTreeSet<String> = ours.iter().filter(|n| !n.contains('|')).cloned().collect();
    assert_eq!(all.len(), top.len() * 2);
    assert_eq!(
        tc.cmd(&["COMMAND", "DOCS", "nosuch", "get"]),
        rc.cmd(&["COMMAND", "DOCS", "nosuch", "get"])
    );
    assert_eq!(
        tc.cmd(&["COMMAND", "DOCS", "config|get"]),
        rc.cmd(&["COMMAND", "DOCS", "config|get"])
    );
}

#[test]
fn time_lastsave_dbsize() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let Reply::Array(Some(tm)) = tc.cmd(&["TIME"]) else {
        panic!()
    };
    let secs: i64 = tm[0].text().parse().unwrap();
    let usecs: i64 = tm[1].text().parse().unwrap();
    assert!((secs - now).abs() <= 2, "{secs} vs {now}");
    assert!((0..1_000_000).contains(&usecs));
    let last = tc.cmd(&["LASTSAVE"]).int();
    assert!((last - now).abs() <= 30, "{last} vs {now}");
    run_both(
        &mut tc,
        &mut rc,
        &[
            &["TIME", "x"],
            &["LASTSAVE", "x"],
            &["DBSIZE"],
            &["SET", "a", "1"],
            &["SET", "b", "1"],
            &["DBSIZE"],
            &["SELECT", "1"],
            &["DBSIZE"],
            &["DBSIZE", "x"],
            &["ECHO"],
            &["ECHO", "a", "b"],
            &["ECHO", "héllo\r\n\0"],
            &["PING", "a", "b"],
        ],
    );
}

#[test]
fn debug_subcommands() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    run_both(
        &mut tc,
        &mut rc,
        &[
            &["DEBUG"],
            &["DEBUG", "nosuch"],
            &["DEBUG", "digest", "x"],
            &["DEBUG", "set-active-expire", "x"],
            &["DEBUG", "ERROR", "MYERR something bad"],
            &["DEBUG", "LOG", "hello"],
            &["DEBUG", "SLEEP", "0"],
            &["DEBUG", "RELOAD", "x"],
            &["SET", "a", "1"],
            &["DEBUG", "DIGEST-VALUE", "a", "nosuch"],
            &["DEBUG", "DIGEST-VALUE"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
            &["SET", "gone", "1", "PX", "30"],
        ],
    );
    // With active expiry off the expired key stays counted until touched.
    std::thread::sleep(Duration::from_millis(400));
    run_both(
        &mut tc,
        &mut rc,
        &[
            &["DBSIZE"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
            &["DEBUG", "DIGEST"],
        ],
    );
    std::thread::sleep(Duration::from_millis(400));
    run_both(&mut tc, &mut rc, &[&["DBSIZE"]]);
    // CHANGE-REPL-ID draws a new replication id.
    let before = field(&info_sections(&mut tc, &["replication"]), "master_replid");
    assert_eq!(tc.cmd(&["DEBUG", "CHANGE-REPL-ID"]), ok());
    let after = field(&info_sections(&mut tc, &["replication"]), "master_replid");
    assert_ne!(before, after);
    assert_eq!(after.len(), 40);
    // HELP has Redis's shape and names what Tandem offers.
    let Reply::Array(Some(help)) = tc.cmd(&["DEBUG", "HELP"]) else {
        panic!()
    };
    assert_eq!(
        help[0].text(),
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    let text: Vec<String> = help.iter().map(|l| l.text()).collect();
    for sub in [
        "DIGEST",
        "DIGEST-VALUE <key> [<key> ...]",
        "SET-ACTIVE-EXPIRE <0|1>",
        "HELP",
    ] {
        assert!(text.iter().any(|l| l == sub), "DEBUG HELP lacks {sub}");
    }
    assert_eq!(tc.cmd(&["DEBUG", "RELOAD"]), Reply::Simple("OK".into()));
    assert!(matches!(
        tc.cmd(&["DEBUG", "RELOAD", "MERGE"]),
        Reply::Error(e) if e.starts_with("ERR ")
    ));
}

#[test]
fn shutdown_options() {
    need_redis();
    let mut t = Server::tandem(&["--save", "3600 1"]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    run_both(
        &mut tc,
        &mut rc,
        &[
            &["SHUTDOWN", "ABORT"],
            &["SHUTDOWN", "ABORT", "NOW"],
            &["SHUTDOWN", "foo"],
            &["SHUTDOWN", "NOSAVE", "SAVE"],
            &["SET", "k", "v"],
        ],
    );
    // NOSAVE stops the process without a reply and without a file.
    tc.send(&["SHUTDOWN", "NOSAVE", "NOW"]).unwrap();
    assert!(tc.read_reply().is_err(), "SHUTDOWN answered");
    assert!(
        t.wait_exit(Duration::from_secs(10)).is_some(),
        "still running"
    );
    assert!(!t.dir.join("dump.rdb").exists());
}

#[test]
fn shutdown_saves_with_save_points() {
    let mut t = Server::tandem(&["--save", "3600 1"]);
    let mut c = t.conn();
    c.cmd(&["SET", "k", "v"]);
    c.send(&["SHUTDOWN"]).unwrap();
    assert!(c.read_reply().is_err());
    assert!(t.wait_exit(Duration::from_secs(10)).is_some());
    let rdb = std::fs::read(t.dir.join("dump.rdb")).expect("dump.rdb written");
    assert!(rdb.starts_with(b"REDIS0010"));
    // Without save points (the test default) plain SHUTDOWN exits without saving;
    // SAVE forces one.
    let mut t = Server::tandem(&[]);
    let mut c = t.conn();
    c.send(&["SHUTDOWN"]).unwrap();
    assert!(c.read_reply().is_err());
    assert!(t.wait_exit(Duration::from_secs(10)).is_some());
    assert!(!t.dir.join("dump.rdb").exists());
    let mut t = Server::tandem(&[]);
    let mut c = t.conn();
    c.send(&["SHUTDOWN", "SAVE"]).unwrap();
    assert!(c.read_reply().is_err());
    assert!(t.wait_exit(Duration::from_secs(10)).is_some());
    assert!(t.dir.join("dump.rdb").exists());
}

/// Start a master and a replica of `kind`, wait for the link, then return
/// their INFO replication sections.
fn replication_pair(kind: tandem_tests::Kind) -> [Vec<(String, String)>; 2] {
    // (`connected_clients` is added to the replication fields for comparison.)
    let master = Server::start(kind, &[]);
    let port = master.port.to_string();
    let replica = Server::start(kind, &["--replicaof", "127.0.0.1", &port]);
    let mut mc = master.conn();
    let mut rc = replica.conn();
    mc.cmd(&["SET", "k", "v"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut r = info_sections(&mut rc, &["replication"]);
        let mut m = info_sections(&mut mc, &["replication"]);
        let up = field(&r, "master_link_status") == "up";
        let online = m[0]
            .1
            .iter()
            .any(|(k, v)| k == "slave0" && v.contains("state=online"));
        if up && online {
            let clients = |c: &mut Conn| {
                let info = info_sections(c, &["clients"]);
                (
                    "connected_clients".to_string(),
                    field(&info, "connected_clients"),
                )
            };
            let (mut m, mut r) = (m.swap_remove(0).1, r.swap_remove(0).1);
            m.push(clients(&mut mc));
            r.push(clients(&mut rc));
            return [m, r];
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{kind:?} replica never came up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn info_replication_matches_redis_on_master_and_replica() {
    need_redis();
    let ours = replication_pair(tandem_tests::Kind::Tandem);
    let theirs = replication_pair(tandem_tests::Kind::Redis);
    for (role, (o, t)) in ["master", "replica"]
        .iter()
        .zip(ours.iter().zip(theirs.iter()))
    {
        let names =
            |f: &Vec<(String, String)>| f.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        assert_eq!(names(o), names(t), "INFO replication fields on the {role}");
        for k in [
            "role",
            "connected_slaves",
            "connected_clients",
            "master_link_status",
            "master_sync_in_progress",
            "slave_priority",
            "slave_read_only",
            "replica_announced",
            "master_failover_state",
            "repl_backlog_active",
            "repl_backlog_size",
            "master_host",
        ] {
            let ov = o.iter().find(|(n, _)| n == k);
            let tv = t.iter().find(|(n, _)| n == k);
            assert_eq!(ov, tv, "{k} on the {role}");
        }
    }
    // slaveN lines have Redis's shape.
    let line = |f: &[(String, String)]| {
        let v = &f.iter().find(|(k, _)| k == "slave0").unwrap().1;
        v.split(',')
            .map(|kv| kv.split_once('=').unwrap().0.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(line(&ours[0]), line(&theirs[0]));
    let ol = &ours[0].iter().find(|(k, _)| k == "slave0").unwrap().1;
    assert!(ol.starts_with("ip=127.0.0.1,port="), "{ol}");
    assert!(ol.contains(",state=online,"), "{ol}");
}

#[test]
fn encoding_limits_set_at_run_time_take_effect() {
    common::script_matches_redis(
        &[],
        &[
            &["CONFIG", "SET", "set-max-intset-entries", "2"],
            &["SADD", "s", "1", "2"],
            &["OBJECT", "ENCODING", "s"],
            &["SADD", "s", "3"],
            &["OBJECT", "ENCODING", "s"],
            &[
                "CONFIG",
                "SET",
                "hash-max-listpack-entries",
                "1",
                "hash-max-listpack-value",
                "3",
            ],
            &["HSET", "h", "a", "1"],
            &["OBJECT", "ENCODING", "h"],
            &["HSET", "h", "b", "2"],
            &["OBJECT", "ENCODING", "h"],
            &["HSET", "h2", "a", "long value"],
            &["OBJECT", "ENCODING", "h2"],
            &["CONFIG", "SET", "zset-max-listpack-entries", "1"],
            &["ZADD", "z", "1", "a"],
            &["OBJECT", "ENCODING", "z"],
            &["ZADD", "z", "2", "b"],
            &["OBJECT", "ENCODING", "z"],
            &["CONFIG", "SET", "zset-max-ziplist-value", "2"],
            &["ZADD", "z2", "1", "abc"],
            &["OBJECT", "ENCODING", "z2"],
        ],
    );
}

#[test]
fn shutdown_inside_a_transaction_never_stops_the_server() {
    let mut t = Server::tandem(&[]);
    let mut c = t.conn();
    assert_eq!(c.cmd(&["MULTI"]), ok());
    let queued = c.cmd(&["SHUTDOWN", "NOSAVE"]);
    let exec = c.cmd(&["EXEC"]);
    // Redis rejects it while queueing (and EXEC then aborts); either way
    // the error is Redis's text and the server keeps running.
    let text = "ERR Command not allowed inside a transaction";
    assert!(
        queued == err(text) || exec == Reply::Array(Some(vec![err(text)])),
        "{queued:?} {exec:?}"
    );
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert!(!t.exited());
}
