//! Server commands: INFO, CONFIG, COMMAND, DEBUG, DBSIZE, FLUSHDB,
//! FLUSHALL, TIME, SHUTDOWN.

use super::{flags::*, is_opt, CmdError, CmdResult, Ctx};
use crate::command;
use crate::node::Node;
use crate::resp::ReplyWriter;
use bytes::Bytes;

/// The Redis version Tandem reports, so clients enable 7.0 features.
pub const REDIS_VERSION: &str = "7.0.15";

/// The server commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "A container for debugging commands.",
        debug
    ),
    command!(
        "dbsize",
        1,
        READONLY | FAST,
        (0, 0, 0),
        "server",
        "Returns the number of keys in the database.",
        dbsize
    ),
];

/// `master` or `slave`, as INFO and HELLO say.
pub fn role_name(_node: &Node) -> &'static str {
    "master"
}

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let n = ctx.node.ks.db(ctx.db()).len();
    ctx.client.out.int(n as i64);
    Ok(())
}

fn debug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if is_opt(&args[1], "digest") && args.len() == 2 {
        let d = crate::digest::dataset_digest(&ctx.node.ks);
        ctx.client.out.simple(&d);
        return Ok(());
    }
    if is_opt(&args[1], "digest-value") {
        let db = ctx.db();
        ctx.client.out.array_len(args.len() - 2);
        for key in &args[2..] {
            let d = crate::digest::value_digest(&ctx.node.ks, db, key);
            ctx.client.out.simple(&d);
        }
        return Ok(());
    }
    Err(CmdError::err(format!(
        "unknown subcommand '{}'. Try DEBUG HELP.",
        String::from_utf8_lossy(&args[1])
    )))
}
