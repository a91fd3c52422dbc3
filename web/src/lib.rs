//! tandem-web: browser bindings over the core. For now it only re-exports the
//! core; the simulator bindings arrive with the playground issue.
#![forbid(unsafe_code)]
pub use tandem_core as core;
