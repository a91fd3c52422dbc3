//! `cargo xtask`: the task runner (under construction).
fn main() {}
