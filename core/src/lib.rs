//! # tandem-core
//!
//! The no-IO heart of Tandem: everything a Redis node *decides* lives here, and
//! nothing here touches a socket, a file, a thread, a clock or the OS's
//! randomness. Time (Unix milliseconds) and a `u64` seed come in as inputs.
//!
//! The entry point is [`Node`]: a driver (the tokio node, the simulator, the
//! browser) feeds it one [`Input`] at a time and then drains [`Output`]s until
//! none are left, in the sans-IO style of quinn-proto and str0m:
//!
//! ```
//! use tandem_core::{Config, Input, Node, Output};
//! let mut node = Node::new(Config::default(), 42, 1_700_000_000_000);
//! let conn = node.accept(1_700_000_000_000, "127.0.0.1:50000".into());
//! node.handle_input(1_700_000_000_000, Input::Received(conn, b"PING\r\n".to_vec().into()));
//! let mut sent = Vec::new();
//! while let Some(out) = node.poll_output() {
//!     if let Output::Send(c, bytes) = out { assert_eq!(c, conn); sent.extend_from_slice(&bytes); }
//! }
//! assert_eq!(sent, b"+PONG\r\n");
//! ```
#![forbid(unsafe_code)]
#![deny(unused_must_use)]

pub mod cmd;
pub mod config;
pub mod db;
pub mod digest;
pub mod float;
pub mod node;
pub mod persist;
pub mod rdb;
pub mod repl;
pub mod resp;
pub mod rng;
pub mod sim;
pub mod small_map;
pub mod types;
pub mod util;
pub mod value;

pub use config::Config;
pub use node::{ConnId, Event, Input, Node, Output};
