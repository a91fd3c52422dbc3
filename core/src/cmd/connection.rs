//! Connection commands: PING, ECHO, SELECT, QUIT, AUTH, HELLO, RESET and
//! CLIENT (ID, SETNAME, GETNAME, LIST, KILL, INFO, HELP), as Redis 7.0
//! answers them. Tandem speaks RESP2 only: `HELLO 3` answers `-NOPROTO`.

use super::{flags::*, is_opt, parse_int, CmdError, CmdResult, Ctx};
use crate::command;
use crate::resp::ReplyWriter;
use bytes::Bytes;

/// The connection commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!(
        "ping",
        -1,
        FAST | STALE,
        (0, 0, 0),
        "connection",
        "Returns the server's liveliness response.",
        ping
    ),
    command!(
        "echo",
        2,
        FAST,
        (0, 0, 0),
        "connection",
        "Returns the given string.",
        echo
    ),
    command!(
        "select",
        2,
        LOADING | STALE | FAST,
        (0, 0, 0),
        "connection",
        "Changes the selected database.",
        select
    ),
    command!(
        "quit",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        (0, 0, 0),
        "connection",
        "Closes the connection.",
        quit
    ),
    command!(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        (0, 0, 0),
        "connection",
        "Authenticates the connection.",
        auth
    ),
    command!(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        (0, 0, 0),
        "connection",
        "Handshakes with the Redis server.",
        hello
    ),
    command!(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        (0, 0, 0),
        "connection",
        "Resets the connection.",
        reset
    ),
    command!(
        "client",
        -2,
        0,
        (0, 0, 0),
        "connection",
        "A container for client connection commands.",
        client_help,
        CLIENT_SUBCOMMANDS
    ),
];

static CLIENT_SUBCOMMANDS: &[super::CommandSpec] = &[
    command!(
        "id",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "connection",
        "Returns the unique client ID of the connection.",
        client_id
    ),
    command!(
        "setname",
        3,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "connection",
        "Sets the connection name.",
        client_setname
    ),
    command!(
        "getname",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "connection",
        "Returns the name of the connection.",
        client_getname
    ),
    command!(
        "list",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "connection",
        "Lists open connections.",
        client_list
    ),
    command!(
        "info",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "connection",
        "Returns information about the connection.",
        client_info
    ),
    command!(
        "kill",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "connection",
        "Terminates open connections.",
        client_kill
    ),
    command!(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "connection",
        "Returns helpful text about the different subcommands.",
        client_help
    ),
];

fn ping(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match args.len() {
        1 => ctx.client.out.simple("PONG"),
        2 => ctx.client.out.bulk(&args[1]),
        _ => return Err(CmdError::Arity("ping".into())),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.client.out.bulk(&args[1]);
    Ok(())
}

fn select(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let idx = parse_int(&args[1])?;
    if idx < 0 || idx as usize >= ctx.node.ks.db_count() {
        return Err(CmdError::err("DB index is out of range"));
    }
    ctx.client.db = idx as usize;
    ctx.client.out.ok();
    Ok(())
}

fn quit(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.out.ok();
    ctx.client.close_after_reply = true;
    ctx.client.close_reason = Some("QUIT".into());
    Ok(())
}

/// Check a username/password pair against `requirepass` (the `default` user).
fn check_password(ctx: &Ctx, user: Option<&[u8]>, pass: &[u8]) -> bool {
    if let Some(u) = user {
        if u != b"default" {
            return false;
        }
    }
    match &ctx.node.config.requirepass {
        // No password: the default user is `nopass`.
        None => true,
        Some(p) => constant_time_eq(p, pass),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= (x ^ y) as usize;
    }
    diff == 0
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if args.len() == 2 && ctx.node.config.requirepass.is_none() {
        return Err(CmdError::err(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    let (user, pass) = if args.len() == 3 {
        (Some(&args[1][..]), &args[2][..])
    } else {
        (None, &args[1][..])
    };
    if check_password(ctx, user, pass) {
        ctx.client.authenticated = true;
        ctx.client.out.ok();
        Ok(())
    } else {
        Err(CmdError::Other(WRONGPASS.into()))
    }
}

fn hello(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut i = 1;
    if args.len() >= 2 {
        let ver = parse_int(&args[1]).map_err(|_| {
            CmdError::Other("ERR Protocol version is not an integer or out of range".into())
        })?;
        i = 2;
        if ver != 2 {
            return Err(CmdError::Other(
                "NOPROTO unsupported protocol version".into(),
            ));
        }
    }
    let mut setname = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if is_opt(&args[i], "auth") && more >= 2 {
            let (u, p) = (&args[i + 1][..], &args[i + 2][..]);
            if !check_password(ctx, Some(u), p) {
                return Err(CmdError::Other(WRONGPASS.into()));
            }
            ctx.client.authenticated = true;
            i += 3;
        } else if is_opt(&args[i], "setname") && more >= 1 {
            setname = Some(args[i + 1].to_vec());
            i += 2;
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            )));
        }
    }
    if !ctx.client.authenticated {
        return Err(CmdError::Other(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into(),
        ));
    }
    if let Some(name) = setname {
        validate_name(&name)?;
        ctx.client.name = if name.is_empty() { None } else { Some(name) };
    }
    let out = &mut ctx.client.out;
    out.array_len(14);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::cmd::server::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(2);
    out.bulk(b"id");
    out.int(ctx.client.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    // HELLO says `replica` where INFO says `slave`.
    out.bulk(if ctx.node.is_replica() {
        b"replica"
    } else {
        b"master"
    });
    out.bulk(b"modules");
    out.array_len(0);
    Ok(())
}

fn reset(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.multi = None;
    super::transactions::unwatch_all(ctx);
    ctx.client.db = 0;
    ctx.client.name = None;
    ctx.client.authenticated = ctx.node.config.requirepass.is_none();
    ctx.client.out.simple("RESET");
    Ok(())
}

fn client_id(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.out.int(ctx.client.id as i64);
    Ok(())
}

fn validate_name(name: &[u8]) -> CmdResult {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn client_setname(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    validate_name(&args[2])?;
    ctx.client.name = if args[2].is_empty() {
        None
    } else {
        Some(args[2].to_vec())
    };
    ctx.client.out.ok();
    Ok(())
}

fn client_getname(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    match &ctx.client.name {
        Some(n) => {
            let n = n.clone();
            ctx.client.out.bulk(&n)
        }
        None => ctx.client.out.null_bulk(),
    }
    Ok(())
}

/// Redis's client type: `master` (this replica's link to its master),
/// `replica` (a connection past PSYNC/SYNC), else `normal`.
pub fn client_type(c: &super::Client) -> &'static str {
    if c.is_master {
        "master"
    } else if c.replica.as_ref().is_some_and(|l| l.attached()) {
        "replica"
    } else {
        "normal"
    }
}

/// A `TYPE` argument of CLIENT LIST / CLIENT KILL as a [`client_type`]
/// (`pubsub` matches nobody: Tandem has no Pub/Sub).
fn parse_client_type(arg: &[u8]) -> Result<&'static str, CmdError> {
    match crate::util::lower(arg).as_str() {
        "normal" => Ok("normal"),
        "master" => Ok("master"),
        "replica" | "slave" => Ok("replica"),
        "pubsub" => Ok("pubsub"),
        _ => Err(CmdError::err(format!(
            "Unknown client type '{}'",
            String::from_utf8_lossy(arg)
        ))),
    }
}

/// Close another client for CLIENT KILL; killing the master link makes the
/// replica reconnect, as in Redis.
fn kill_other(node: &mut crate::node::Node, id: u64) -> bool {
    if node.clients.get(&id).is_some_and(|c| c.is_master) {
        node.master_link_failed("killed by CLIENT KILL");
        return true;
    }
    node.kill_client(id, "CLIENT KILL")
}

/// The local address clients connect to (`laddr=`): the first bind
/// address and the port.
fn local_addr(node: &crate::node::Node) -> String {
    format!(
        "{}:{}",
        node.config
            .bind
            .first()
            .map(|b| b.trim_start_matches('-'))
            .unwrap_or("127.0.0.1"),
        node.config.port
    )
}

/// One `CLIENT LIST` line (without the newline), with Redis 7.0's fields.
pub fn client_line(node: &crate::node::Node, c: &super::Client) -> String {
    let now = node.now;
    let laddr = local_addr(node);
    let mut flags = String::new();
    match client_type(c) {
        "replica" => flags.push('S'),
        "master" => flags.push('M'),
        _ => {}
    }
    if c.multi.is_some() {
        flags.push('x');
    }
    if c.is_blocked() {
        flags.push('b');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let qbuf = c.parser.buffered();
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl={} oll=0 omem=0 tot-mem={} events=r cmd={} user=default redir=-1 resp=2",
        c.id,
        c.addr,
        laddr,
        c.id + 7,
        c.name.as_deref().map(String::from_utf8_lossy).unwrap_or_default(),
        now.saturating_sub(c.created) / 1000,
        now.saturating_sub(c.last_interaction) / 1000,
        flags,
        c.db,
        c.multi.as_ref().map(|m| m.queued.len() as i64).unwrap_or(-1),
        qbuf,
        1024usize.saturating_sub(qbuf),
        c.out.len(),
        2048 + qbuf + c.out.len(),
        c.last_cmd,
    )
}

fn client_list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut type_f: Option<&str> = None;
    let mut i = 2;
    while i < args.len() {
        if is_opt(&args[i], "type") && i + 1 < args.len() {
            type_f = Some(parse_client_type(&args[i + 1])?);
            i += 2;
        } else if is_opt(&args[i], "id") && i + 1 < args.len() {
            let mut v = Vec::new();
            for a in &args[i + 1..] {
                let id = parse_int(a)
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| CmdError::err("Invalid client ID"))?;
                v.push(id as u64);
            }
            ids = Some(v);
            i = args.len();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut text = String::new();
    let mut lines: Vec<(u64, String)> = ctx
        .node
        .clients
        .values()
        .chain(std::iter::once(&*ctx.client))
        .filter(|c| type_f.is_none_or(|t| t == client_type(c)))
        .map(|c| (c.id, client_line(ctx.node, c)))
        .collect();
    crate::util::sort_by_key(&mut lines, |(id, _)| *id);
    for (id, line) in lines {
        if ids.as_ref().is_some_and(|v| !v.contains(&id)) {
            continue;
        }
        text.push_str(&line);
        text.push('\n');
    }
    ctx.client.out.bulk(text.as_bytes());
    Ok(())
}

fn client_info(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let mut line = client_line(ctx.node, ctx.client);
    line.push('\n');
    ctx.client.out.bulk(line.as_bytes());
    Ok(())
}

fn client_kill(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Old form: CLIENT KILL ip:port
    if args.len() == 3 {
        let addr = String::from_utf8_lossy(&args[2]).into_owned();
        if ctx.client.addr == addr {
            ctx.client.out.ok();
            ctx.client.close_after_reply = true;
            return Ok(());
        }
        let target = ctx
            .node
            .clients
            .values()
            .find(|c| c.addr == addr)
            .map(|c| c.id);
        return match target {
            Some(id) => {
                kill_other(ctx.node, id);
                ctx.client.out.ok();
                Ok(())
            }
            None => Err(CmdError::err("No such client")),
        };
    }
    let mut id_f: Option<u64> = None;
    let mut addr_f: Option<String> = None;
    let mut type_f: Option<&str> = None;
    let mut laddr_f: Option<String> = None;
    let mut skipme = true;
    let mut i = 2;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(CmdError::Syntax);
        }
        let v = &args[i + 1];
        if is_opt(&args[i], "id") {
            let n = parse_int(v)
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| CmdError::err("client-id should be greater than 0"))?;
            id_f = Some(n as u64);
        } else if is_opt(&args[i], "addr") {
            addr_f = Some(String::from_utf8_lossy(v).into_owned());
        } else if is_opt(&args[i], "type") {
            type_f = Some(parse_client_type(v)?);
        } else if is_opt(&args[i], "skipme") {
            skipme = if is_opt(v, "yes") {
                true
            } else if is_opt(v, "no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else if is_opt(&args[i], "laddr") {
            laddr_f = Some(String::from_utf8_lossy(v).into_owned());
        } else if is_opt(&args[i], "user") {
            // Only the `default` user exists.
            if &v[..] != b"default" {
                return Err(CmdError::err(format!(
                    "No such user '{}'",
                    String::from_utf8_lossy(v)
                )));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let my_laddr = local_addr(ctx.node);
    let matches = |c: &super::Client| {
        id_f.is_none_or(|id| c.id == id)
            && laddr_f.as_ref().is_none_or(|a| *a == my_laddr)
            && addr_f.as_ref().is_none_or(|a| &c.addr == a)
            && type_f.is_none_or(|t| t == client_type(c))
    };
    let targets: Vec<u64> = ctx
        .node
        .clients
        .values()
        .filter(|c| matches(c))
        .map(|c| c.id)
        .collect();
    let mut killed = 0;
    for id in targets {
        if kill_other(ctx.node, id) {
            killed += 1;
        }
    }
    if !skipme && matches(ctx.client) {
        ctx.client.close_after_reply = true;
        killed += 1;
    }
    ctx.client.out.int(killed);
    Ok(())
}

fn client_help(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() != 2 || !is_opt(&args[1], "help") {
        return Err(CmdError::Arity("client".into()));
    }
    // Redis 7.0's CLIENT HELP, limited to the subcommands Tandem has.
    let lines = [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.client.out.array_len(lines.len());
    for l in lines {
        ctx.client.out.simple(l);
    }
    Ok(())
}
