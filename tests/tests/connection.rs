//! Connection commands of the real `tandem` binary (PING, ECHO, SELECT,
//! QUIT, AUTH, HELLO, CLIENT, RESET) and `requirepass`, compared with a real
//! redis-server 7.0.15.

mod common;

use common::{err, need_redis, ok, run_both, script_matches_redis};
use std::time::Duration;
use tandem_core::cmd::{all_commands, flags, CommandSpec};
use tandem_tests::{Conn, Reply, Server};

const NOAUTH: &str = "NOAUTH Authentication required.";

#[test]
fn ping_echo_select_match_redis() {
    script_matches_redis(
        &[],
        &[
            &["PING"],
            &["ping", "hello world"],
            &["PING", "a", "b"],
            &["ECHO", ""],
            &["ECHO", "bin\0\r\nary"],
            &["ECHO"],
            &["SELECT", "15"],
            &["SELECT", "16"],
            &["SELECT", "-1"],
            &["SELECT", "x"],
            &["SELECT", "01"],
            &["SELECT", "0"],
            &["SELECT"],
            // PING inside MULTI is queued and answered by EXEC.
            &["MULTI"],
            &["PING"],
            &["PING", "x"],
            &["ECHO", "y"],
            &["EXEC"],
        ],
    );
}

#[test]
fn quit_answers_then_closes() {
    need_redis();
    for s in [Server::tandem(&[]), Server::redis(&[])] {
        let mut c = s.conn();
        c.send(&["QUIT", "extra"]).unwrap();
        c.send(&["PING"]).unwrap();
        assert_eq!(c.read_reply().unwrap(), ok(), "{:?}", s.kind);
        assert!(c.is_closed(Duration::from_secs(5)), "{:?}", s.kind);
        assert_eq!(s.conn().cmd(&["PING"]), Reply::Simple("PONG".into()));
    }
}

#[test]
fn auth_without_password_matches_redis() {
    script_matches_redis(
        &[],
        &[
            &["AUTH", "x"],
            &["AUTH", "someone", "x"],
            &["AUTH", "default", "anything"],
            &["AUTH", "a", "b", "c"],
            &["AUTH"],
            &["HELLO", "2", "AUTH", "someone", "x"],
        ],
    );
}

#[test]
fn auth_with_password_matches_redis() {
    need_redis();
    let t = Server::tandem(&["--requirepass", "s3cret"]);
    let r = Server::redis(&["--requirepass", "s3cret"]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    run_both(
        &mut tc,
        &mut rc,
        &[
            &["GET", "a"],
            &["PING"],
            &["nosuch", "x"],
            &["CLIENT"],
            &["CLIENT", "nosuch"],
            &["CLIENT", "ID"],
            &["HELLO"],
            &["HELLO", "2"],
            &["HELLO", "2", "SETNAME", "x"],
            &["AUTH", "wrong"],
            &["AUTH", "S3CRET"],
            &["AUTH", "default", "wrong"],
            &["AUTH", "nobody", "s3cret"],
            &["HELLO", "2", "AUTH", "default", "wrong"],
            &["GET", "a"],
            &["AUTH", "s3cret"],
            &["GET", "a"],
            &["AUTH", "wrong"],
            // A failed AUTH does not log an authenticated client out.
            &["GET", "a"],
            &["RESET"],
            &["GET", "a"],
            &["AUTH", "default", "s3cret"],
            &["SET", "a", "1"],
            &["RESET"],
        ],
    );
    // HELLO AUTH authenticates (the id differs between servers).
    for c in [&mut tc, &mut rc] {
        let Reply::Array(Some(h)) =
            c.cmd(&["HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "bob"])
        else {
            panic!("HELLO AUTH failed")
        };
        assert_eq!(h[0].text(), "server");
        assert_eq!(
            c.cmd(&["CLIENT", "GETNAME"]),
            Reply::Bulk(Some(b"bob".to_vec()))
        );
        assert_eq!(c.cmd(&["GET", "a"]), Reply::Bulk(Some(b"1".to_vec())));
    }
    // Binary passwords: NUL, CR LF and any byte.
    let bin: &[u8] = b"p\0w\r\n\xff\x01 x";
    for (s, c) in [(&t, &mut tc), (&r, &mut rc)] {
        assert_eq!(c.cmd(&[&b"CONFIG"[..], b"SET", b"requirepass", bin]), ok());
        let mut n = s.conn();
        assert_eq!(n.cmd(&["PING"]), err(NOAUTH));
        assert_eq!(
            n.cmd(&[&b"AUTH"[..], b"p\0w\r\n\xff\x01"]),
            err("WRONGPASS invalid username-password pair or user is disabled.")
        );
        assert_eq!(n.cmd(&[&b"AUTH"[..], bin]), ok(), "{:?}", s.kind);
        assert_eq!(n.cmd(&["PING"]), Reply::Simple("PONG".into()));
    }
}

/// HELLO's reply with the client id blanked (ids differ between servers).
fn hello(c: &mut Conn, args: &[&str]) -> Reply {
    match c.cmd(args) {
        Reply::Array(Some(mut items)) => {
            let pos = items
                .iter()
                .position(|i| *i == Reply::Bulk(Some(b"id".to_vec())));
            if let Some(p) = pos {
                assert!(matches!(items[p + 1], Reply::Int(n) if n > 0));
                items[p + 1] = Reply::Int(0);
            }
            Reply::Array(Some(items))
        }
        other => other,
    }
}

#[test]
fn hello_matches_redis() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    for args in [
        &["HELLO"][..],
        &["HELLO", "2"],
        &["hello", "2", "SETNAME", "alice"],
        &["CLIENT", "GETNAME"],
        &["HELLO", "2", "SETNAME", ""],
        &["CLIENT", "GETNAME"],
        &["HELLO", "1"],
        &["HELLO", "4"],
        &["HELLO", "x"],
        &["HELLO", "2", "foo"],
        &["HELLO", "2", "AUTH", "default"],
        &["HELLO", "2", "SETNAME"],
        &["HELLO", "2", "SETNAME", "a b"],
        &["HELLO", "2", "AUTH", "default", "x", "SETNAME", "carol"],
        &["CLIENT", "GETNAME"],
    ] {
        assert_eq!(hello(&mut tc, args), hello(&mut rc, args), "{args:?}");
    }
    // The id HELLO reports is CLIENT ID.
    let id = tc.cmd(&["CLIENT", "ID"]);
    let Reply::Array(Some(h)) = tc.cmd(&["HELLO"]) else {
        panic!()
    };
    assert_eq!(h[7], id);
    // Tandem speaks RESP2 only.
    assert_eq!(
        tc.cmd(&["HELLO", "3"]),
        err("NOPROTO unsupported protocol version")
    );
    assert_eq!(tc.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

fn client_list_fields(c: &mut Conn) -> Vec<String> {
    let text = c.cmd(&["CLIENT", "LIST"]).text();
    let line = text.lines().next().expect("one client");
    line.split(' ')
        .map(|kv| kv.split_once('=').expect("k=v").0.to_string())
        .collect()
}

#[test]
fn client_subcommands_match_redis() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    assert_eq!(client_list_fields(&mut tc), client_list_fields(&mut rc));
    run_both(
        &mut tc,
        &mut rc,
        &[
            &["CLIENT"],
            &["CLIENT", "nosuch"],
            &["CLIENT", "GETNAME"],
            &["CLIENT", "GETNAME", "x"],
            &["CLIENT", "SETNAME"],
            &["CLIENT", "SETNAME", "a b"],
            &["CLIENT", "SETNAME", "a\nb"],
            &["CLIENT", "SETNAME", "name-1"],
            &["CLIENT", "GETNAME"],
            &["CLIENT", "SETNAME", ""],
            &["CLIENT", "GETNAME"],
            &["CLIENT", "ID", "x"],
            &["CLIENT", "INFO", "x"],
            &["CLIENT", "KILL"],
            &["CLIENT", "KILL", "1.2.3.4:5"],
            &["CLIENT", "KILL", "1.2.3.4:5", "x"],
            &["CLIENT", "KILL", "id", "0"],
            &["CLIENT", "KILL", "id", "x"],
            &["CLIENT", "KILL", "id", "99999"],
            &["CLIENT", "KILL", "foo", "bar"],
            &["CLIENT", "KILL", "maxage", "1"],
            &["CLIENT", "KILL", "user", "nosuch"],
            &["CLIENT", "KILL", "type", "foo"],
            &["CLIENT", "KILL", "type", "master"],
            &["CLIENT", "KILL", "addr", "1.2.3.4:5"],
            &["CLIENT", "KILL", "laddr", "1.2.3.4:5"],
            &["CLIENT", "KILL", "type", "normal", "skipme"],
            &["CLIENT", "KILL", "skipme", "maybe"],
            &["CLIENT", "LIST", "id"],
            &["CLIENT", "LIST", "id", "x"],
            &["CLIENT", "LIST", "type", "foo"],
            &["CLIENT", "LIST", "type", "master"],
            &["CLIENT", "LIST", "type", "replica"],
            &["CLIENT", "LIST", "foo"],
            &["CLIENT", "LIST", "id", "99999"],
        ],
    );
    // CLIENT INFO is this client's CLIENT LIST line; CLIENT LIST ID filters.
    let id = tc.cmd(&["CLIENT", "ID"]).int();
    let info = tc.cmd(&["CLIENT", "INFO"]).text();
    assert!(
        info.starts_with(&format!("id={id} addr=127.0.0.1:")),
        "{info}"
    );
    assert!(
        info.ends_with(" cmd=client|info user=default redir=-1 resp=2\n"),
        "{info}"
    );
    let listed = tc
        .cmd(&["CLIENT", "LIST", "ID", &id.to_string(), "99999"])
        .text();
    assert_eq!(listed.lines().count(), 1);
    assert!(listed.contains(" cmd=client|list "));
}

#[test]
fn client_kill_filters() {
    let t = Server::tandem(&[]);
    let mut me = t.conn();
    let mut a = t.conn();
    let mut b = t.conn();
    a.cmd(&["CLIENT", "SETNAME", "a"]);
    let a_id = a.cmd(&["CLIENT", "ID"]).int();
    let b_info = b.cmd(&["CLIENT", "INFO"]).text();
    let b_addr = b_info
        .split(' ')
        .find_map(|kv| kv.strip_prefix("addr="))
        .unwrap()
        .to_string();
    let laddr = b_info
        .split(' ')
        .find_map(|kv| kv.strip_prefix("laddr="))
        .unwrap()
        .to_string();
    assert_eq!(laddr, format!("127.0.0.1:{}", t.port));
    // By id.
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "ID", &a_id.to_string()]),
        Reply::Int(1)
    );
    assert!(a.is_closed(Duration::from_secs(5)));
    // Old form by address.
    assert_eq!(me.cmd(&["CLIENT", "KILL", &b_addr]), ok());
    assert!(b.is_closed(Duration::from_secs(5)));
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", &b_addr]),
        err("ERR No such client")
    );
    // By local address and user: everyone else, not me (SKIPME defaults to yes).
    let mut c1 = t.conn();
    let mut c2 = t.conn();
    c1.cmd(&["PING"]);
    c2.cmd(&["PING"]);
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "LADDR", "10.0.0.1:1"]),
        Reply::Int(0)
    );
    assert_eq!(
        me.cmd(&["CLIENT", "KILL", "LADDR", &laddr, "USER", "default"]),
        Reply::Int(2)
    );
    assert!(c1.is_closed(Duration::from_secs(5)));
    assert!(c2.is_closed(Duration::from_secs(5)));
    assert_eq!(me.cmd(&["PING"]), Reply::Simple("PONG".into()));
    // SKIPME no: the caller goes too, after its reply.
    me.send(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"])
        .unwrap();
    assert_eq!(me.read_reply().unwrap(), Reply::Int(1));
    assert!(me.is_closed(Duration::from_secs(5)));
}

#[test]
fn client_help_is_redis_help_for_what_tandem_has() {
    need_redis();
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let Reply::Array(Some(ours)) = t.conn().cmd(&["CLIENT", "HELP"]) else {
        panic!()
    };
    let Reply::Array(Some(theirs)) = r.conn().cmd(&["CLIENT", "HELP"]) else {
        panic!()
    };
    // Every line of ours is a line of Redis's help, in the same order.
    let mut pos = 0;
    for l in &ours {
        pos += theirs[pos..]
            .iter()
            .position(|x| x == l)
            .unwrap_or_else(|| panic!("not in Redis's CLIENT HELP: {l:?}"));
    }
    let text: Vec<String> = ours.iter().map(|l| l.text()).collect();
    for sub in [
        "GETNAME",
        "ID",
        "INFO",
        "LIST [options ...]",
        "SETNAME <name>",
        "HELP",
    ] {
        assert!(text.iter().any(|l| l == sub), "{sub}");
    }
}

#[test]
fn reset_matches_redis() {
    script_matches_redis(
        &[],
        &[
            &["SELECT", "3"],
            &["SET", "k", "in3"],
            &["CLIENT", "SETNAME", "x"],
            &["WATCH", "k"],
            &["MULTI"],
            &["SET", "k", "queued"],
            &["RESET", "x"],
            &["RESET"],
            &["CLIENT", "GETNAME"],
            &["GET", "k"],
            &["EXEC"],
            &["SELECT", "3"],
            &["GET", "k"],
        ],
    );
}

/// Arguments that satisfy a command's arity (for the NOAUTH walk).
fn args_for(name: &str, spec: &CommandSpec) -> Vec<String> {
    let n = spec.arity.unsigned_abs() as usize;
    let mut args: Vec<String> = name.split('|').map(String::from).collect();
    while args.len() < n.max(1) {
        args.push("x".into());
    }
    args
}

#[test]
fn noauth_for_every_command_but_the_allow_list() {
    need_redis();
    // Redis 7.0's `no_auth` commands.
    const ALLOWED: [&str; 4] = ["auth", "hello", "quit", "reset"];
    let t = Server::tandem(&["--requirepass", "pw"]);
    let r = Server::redis(&["--requirepass", "pw"]);
    let mut walked = 0;
    for spec in all_commands() {
        let mut entries: Vec<(String, &CommandSpec)> = Vec::new();
        if spec.subcommands.is_empty() {
            entries.push((spec.name.to_string(), spec));
        }
        for sub in spec.subcommands {
            entries.push((format!("{}|{}", spec.name, sub.name), sub));
        }
        for (name, s) in entries {
            let allowed = ALLOWED.contains(&spec.name);
            assert_eq!(
                s.flags & flags::NO_AUTH != 0,
                allowed,
                "{name}: no_auth flag disagrees with Redis's allow-list"
            );
            if allowed {
                continue;
            }
            let args = args_for(&name, s);
            let mut tc = t.conn();
            let mut rc = r.conn();
            if name == "exec" {
                // Redis words a rejected EXEC as an aborted transaction.
                let why = format!("EXECABORT Transaction discarded because of: {NOAUTH}");
                assert_eq!(rc.cmd(&args), err(&why));
                assert_eq!(tc.cmd(&args), err(&why), "tandem {args:?}");
                walked += 1;
                continue;
            }
            assert_eq!(tc.cmd(&args), err(NOAUTH), "tandem {args:?}");
            assert_eq!(rc.cmd(&args), err(NOAUTH), "redis {args:?}");
            walked += 1;
        }
    }
    assert!(walked >= 30, "walked {walked} commands");
    // The allowed ones answer without authentication.
    let mut c = t.conn();
    assert_eq!(
        c.cmd(&["AUTH", "nope"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(c.cmd(&["RESET"]), Reply::Simple("RESET".into()));
    assert!(matches!(
        c.cmd(&["HELLO", "2", "AUTH", "default", "pw"]),
        Reply::Array(Some(_))
    ));
    assert_eq!(c.cmd(&["QUIT"]), ok());
}

/// Wait until `cond` holds on `c`'s `CLIENT LIST TYPE <t>` line count.
fn wait_clients(c: &mut Conn, t: &str, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let list = c.cmd(&["CLIENT", "LIST", "TYPE", t]).text();
        if list.lines().count() == n {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{t} clients: {list}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn replica_and_master_clients_match_redis() {
    need_redis();
    for kind in [tandem_tests::Kind::Tandem, tandem_tests::Kind::Redis] {
        let master = Server::start(kind, &[]);
        let port = master.port.to_string();
        let replica = Server::start(kind, &["--replicaof", "127.0.0.1", &port]);
        let (mut mc, mut rc) = (master.conn(), replica.conn());
        wait_clients(&mut mc, "replica", 1);
        wait_clients(&mut rc, "master", 1);
        let line = mc.cmd(&["CLIENT", "LIST", "TYPE", "slave"]).text();
        assert!(line.contains(" flags=S "), "{kind:?}: {line}");
        let line = rc.cmd(&["CLIENT", "LIST", "TYPE", "master"]).text();
        assert!(line.contains(" flags=M "), "{kind:?}: {line}");
        assert_eq!(
            mc.cmd(&["CLIENT", "LIST", "TYPE", "normal"])
                .text()
                .lines()
                .count(),
            1
        );
        let Reply::Array(Some(h)) = rc.cmd(&["HELLO"]) else {
            panic!()
        };
        assert_eq!(h[11], Reply::Bulk(Some(b"replica".to_vec())), "{kind:?}");
        // Killing the replica's link on the master: it reconnects.
        assert_eq!(
            mc.cmd(&["CLIENT", "KILL", "TYPE", "replica"]),
            Reply::Int(1)
        );
        wait_clients(&mut mc, "replica", 1);
        // Killing the master link on the replica: it reconnects too.
        assert_eq!(rc.cmd(&["CLIENT", "KILL", "TYPE", "master"]), Reply::Int(1));
        wait_clients(&mut rc, "master", 1);
        // Normal-type kills leave replication alone.
        assert_eq!(mc.cmd(&["CLIENT", "KILL", "TYPE", "normal"]), Reply::Int(0));
        mc.cmd(&["SET", "after", "kill"]);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while rc.cmd(&["GET", "after"]) != Reply::Bulk(Some(b"kill".to_vec())) {
            assert!(
                std::time::Instant::now() < deadline,
                "{kind:?}: write not replicated"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
