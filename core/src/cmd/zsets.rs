//! placeholder
/// Commands.
pub static COMMANDS: &[super::CommandSpec] = &[];

/// Serve a blocked client.
pub fn serve_blocked(
    _c: &mut super::Ctx,
    _a: &[bytes::Bytes],
    _k: &[u8],
) -> Result<bool, super::CmdError> {
    Ok(false)
}
