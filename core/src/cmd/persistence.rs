//! SAVE and BGSAVE (`rdb.c`): SAVE answers `+OK` once the file is written;
//! BGSAVE answers `+Background saving started` at once, or
//! `-ERR Background save already in progress`, or with SCHEDULE
//! `+Background saving scheduled`.

use super::{flags::*, is_opt, CmdError, CmdResult, Ctx};
use crate::command;
use crate::resp::ReplyWriter;
use bytes::Bytes;

/// The persistence commands.
pub static COMMANDS: &[super::CommandSpec] = &[
    command!(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_MULTI,
        (0, 0, 0),
        "server",
        "Synchronously saves the database(s) to disk.",
        save
    ),
    command!(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT,
        (0, 0, 0),
        "server",
        "Asynchronously saves the database(s) to disk.",
        bgsave
    ),
];

fn save(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.node.persist.job.is_some() {
        return Err(CmdError::err("Background save already in progress"));
    }
    let id = ctx.client.id;
    ctx.node
        .start_save(false, Some(id))
        .map_err(CmdError::err)?;
    // The reply comes when the driver reports the file written.
    ctx.client.saving = true;
    Ok(())
}

fn bgsave(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if is_opt(&args[1], "schedule") => true,
        _ => return Err(CmdError::Syntax),
    };
    if ctx.node.persist.job.is_some() {
        if schedule {
            ctx.node.persist.scheduled = true;
            ctx.client.out.simple("Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::err("Background save already in progress"));
    }
    ctx.node.start_save(true, None).map_err(CmdError::err)?;
    ctx.client.out.simple("Background saving started");
    Ok(())
}
