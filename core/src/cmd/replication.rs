//! Replication commands on the master side: REPLCONF, PSYNC, SYNC, ROLE
//! (`replication.c`). Replies and errors are Redis 7.0's (spec §1.3):
//! `REPLCONF ACK` is never answered, an unknown option is
//! `ERR Unrecognized REPLCONF option: <opt>`, an even argument count is a
//! syntax error, PSYNC/SYNC from a connection that is already a replica are
//! ignored, and with pending output they are refused.

use super::{flags::*, parse_int, CmdError, CmdResult, Ctx};
use crate::command;
use crate::repl::master::{link_of, ReplicaState};
use crate::resp::ReplyWriter;
use bytes::Bytes;

/// The replication commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!("replconf", -1, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "server", "An internal command for configuring the replication stream.", replconf),
    command!("psync", -3, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), "server", "An internal command used in replication.", psync),
    command!("sync", 1, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), "server", "An internal command used in replication.", sync),
    command!("replicaof", 3, ADMIN | NOSCRIPT | STALE, (0, 0, 0), "server", "Configures a server as replica of another, or promotes it to a master.", replicaof),
    command!("slaveof", 3, ADMIN | NOSCRIPT | STALE, (0, 0, 0), "server", "Sets a Redis server as a replica of another, or promotes it to being a master.", replicaof),
    command!("wait", 3, NOSCRIPT, (0, 0, 0), "generic", "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", wait),
    command!("role", 1, NOSCRIPT | LOADING | STALE | FAST, (0, 0, 0), "server", "Returns the replication role.", role),
];

fn replconf(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let now = ctx.now();
    let mut i = 1;
    while i < args.len() {
        let opt = crate::util::lower(&args[i]);
        let val = &args[i + 1];
        match opt.as_str() {
            "listening-port" => {
                let port = parse_int(val)?;
                link_of(ctx.client, now).listening_port = port.clamp(0, 65535) as u16;
            }
            "ip-address" => {
                if val.len() >= 256 {
                    return Err(CmdError::err(format!(
                        "REPLCONF ip-address provided by replica instance is too long: {} bytes",
                        val.len()
                    )));
                }
                link_of(ctx.client, now).announced_ip =
                    Some(String::from_utf8_lossy(val).into_owned());
            }
            "capa" => {
                let link = link_of(ctx.client, now);
                if val.eq_ignore_ascii_case(b"eof") {
                    link.capa_eof = true;
                } else if val.eq_ignore_ascii_case(b"psync2") {
                    link.capa_psync2 = true;
                }
            }
            "ack" => {
                // Never answered; ignored from a connection that is not a replica.
                if let Ok(off) = parse_int(val) {
                    let is_replica = ctx.client.replica.as_ref().is_some_and(|l| l.attached());
                    if is_replica {
                        ctx.node.replica_ack(ctx.client, off);
                    }
                }
                return Ok(());
            }
            "getack" => {
                // Only a replica answers, on its master link; a master ignores it.
                if ctx.client.is_master {
                    ctx.node.ack_master(ctx.client);
                }
                return Ok(());
            }
            "rdb-only" => {
                let v = parse_int(val)?;
                if !(0..=1).contains(&v) {
                    return Err(CmdError::err(
                        "value is out of range, value must between 0 and 1",
                    ));
                }
            }
            _ => {
                return Err(CmdError::err(format!(
                    "Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(&args[i])
                )))
            }
        }
        i += 2;
    }
    ctx.client.out.ok();
    Ok(())
}

fn sync_preconditions(ctx: &mut Ctx) -> Result<bool, CmdError> {
    if ctx.client.replica.as_ref().is_some_and(|l| l.attached()) {
        return Ok(false); // already a replica: silently ignored
    }
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("Command not allowed inside a transaction"));
    }
    if !ctx.client.out.is_empty() {
        return Err(CmdError::err(
            "SYNC and PSYNC are invalid with pending output",
        ));
    }
    if let Some(refusal) = ctx.node.sync_refusal() {
        return Err(CmdError::Other(refusal.into()));
    }
    Ok(true)
}

fn psync(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if !sync_preconditions(ctx)? {
        return Ok(());
    }
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let offset = parse_int(&args[2])?;
    let id = String::from_utf8_lossy(&args[1]).into_owned();
    ctx.node.master_psync(ctx.client, &id, offset, false);
    Ok(())
}

fn sync(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if !sync_preconditions(ctx)? {
        return Ok(());
    }
    ctx.node.master_psync(ctx.client, "?", -1, true);
    Ok(())
}

fn role(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if let Some(side) = ctx.node.repl.replica.as_ref() {
        let offset = if side.link_up() {
            ctx.node.repl.identity.master_repl_offset
        } else {
            -1
        };
        let (host, port, state) = (side.host.clone(), side.port, side.role_state());
        let out = &mut ctx.client.out;
        out.array_len(5);
        out.bulk(b"slave");
        out.bulk(host.as_bytes());
        out.int(port as i64);
        out.bulk(state.as_bytes());
        out.int(offset);
        return Ok(());
    }
    let offset = ctx.node.repl.identity.master_repl_offset;
    let mut rows = Vec::new();
    for id in &ctx.node.repl.replicas {
        let c = if *id == ctx.client.id {
            Some(&*ctx.client)
        } else {
            ctx.node.clients.get(id)
        };
        let Some(link) = c.and_then(|c| c.replica.as_ref()) else {
            continue;
        };
        if !matches!(link.state, ReplicaState::Online { .. }) {
            continue;
        }
        let addr = c.map_or("", |c| &c.addr);
        rows.push((link.ip(addr).to_string(), link.listening_port, link.ack_off));
    }
    let out = &mut ctx.client.out;
    out.array_len(3);
    out.bulk(b"master");
    out.int(offset);
    out.array_len(rows.len());
    for (ip, port, off) in rows {
        out.array_len(3);
        out.bulk(ip.as_bytes());
        out.bulk(port.to_string().as_bytes());
        out.bulk(off.to_string().as_bytes());
    }
    Ok(())
}

fn replicaof(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.client.is_master || ctx.client.replica.as_ref().is_some_and(|l| l.attached()) {
        return Err(CmdError::err(
            "Command is not valid when client is a replica.",
        ));
    }
    if super::is_opt(&args[1], "no") && super::is_opt(&args[2], "one") {
        if ctx.node.is_replica() {
            ctx.node.become_master();
        }
        ctx.client.out.ok();
        return Ok(());
    }
    let port = parse_int(&args[2])?;
    if !(0..=65535).contains(&port) {
        return Err(CmdError::err("Invalid master port"));
    }
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if let Some(side) = ctx.node.repl.replica.as_ref() {
        if side.host.eq_ignore_ascii_case(&host) && side.port == port as u16 {
            ctx.client
                .out
                .simple("OK Already connected to specified master");
            return Ok(());
        }
    }
    ctx.node.become_replica(host.clone(), port as u16);
    ctx.node.log(
        "notice",
        format!(
            "REPLICAOF {host}:{port} enabled (user request from '{}')",
            ctx.client.addr
        ),
    );
    ctx.client.out.ok();
    Ok(())
}

fn wait(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.node.is_replica() {
        return Err(CmdError::err("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let wanted = parse_int(&args[1])?;
    let timeout = crate::util::parse_i64(&args[2])
        .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let woff = ctx.client.woff;
    let acked = ctx.node.replicas_acked(woff, Some(ctx.client));
    if acked >= wanted || ctx.client.multi.is_some() {
        ctx.client.out.int(acked);
        return Ok(());
    }
    let deadline = if timeout == 0 {
        None
    } else {
        Some(ctx.node.now + timeout as u64)
    };
    ctx.client.wait = Some((wanted, deadline));
    ctx.node.request_acks(Some(ctx.client));
    Ok(())
}
