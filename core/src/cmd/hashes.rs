//! placeholder
/// Commands.
pub static COMMANDS: &[super::CommandSpec] = &[];
