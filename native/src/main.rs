//! `tandem`: a Redis-compatible node. Started like `redis-server`:
//!
//! ```text
//! tandem [/path/to/tandem.conf] [--port 6379] [--bind 127.0.0.1] [--requirepass ..] ...
//! ```
//!
//! This binary only moves bytes: it accepts and dials TCP connections, hands
//! every read to [`tandem_core::Node`], writes what the node asks, arms the
//! node's next deadline and logs its events. All decisions are the core's.
#![forbid(unsafe_code)]

mod driver;
mod log;

use std::process::ExitCode;
use tandem_core::Config;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!(
            "Tandem server v={} (Redis protocol {}) rust",
            env!("CARGO_PKG_VERSION"),
            tandem_core::cmd::server::REDIS_VERSION
        );
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("Usage: tandem [/path/to/tandem.conf] [options] [-]");
        println!("       tandem -v or --version");
        println!("       tandem -h or --help");
        println!();
        println!("Examples:");
        println!("       tandem (run the server with default conf)");
        println!("       tandem /etc/tandem/6379.conf");
        println!("       tandem --port 7777");
        println!("       tandem --port 7777 --replicaof 127.0.0.1 8888");
        println!("       tandem /etc/mytandem.conf --loglevel verbose -");
        return ExitCode::SUCCESS;
    }
    let (file, rest) = match args.first() {
        Some(first) if !first.starts_with("--") => (Some(first.clone()), &args[1..]),
        _ => (None, &args[..]),
    };
    let mut text = None;
    if let Some(path) = &file {
        if path == "-" {
            let mut s = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
                eprintln!("Fatal error, can't read config from stdin: {e}");
                return ExitCode::FAILURE;
            }
            text = Some(s);
        } else {
            match std::fs::read_to_string(path) {
                Ok(s) => text = Some(s),
                Err(e) => {
                    eprintln!("Fatal error, can't open config file '{path}': {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let rest: Vec<String> = rest.iter().filter(|a| a.as_str() != "-").cloned().collect();
    let config = match Config::from_args(text.as_deref(), &rest) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "\n*** FATAL CONFIG FILE ERROR (Tandem {}) ***\n{e}",
                env!("CARGO_PKG_VERSION")
            );
            return ExitCode::FAILURE;
        }
    };
    log::init(&config);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("can't start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    // The node runs as a task of its own: `block_on` polls its future on
    // every turn of the loop, and a join handle is the cheapest thing to poll.
    let node = local.spawn_local(driver::run(config));
    match local.block_on(&rt, node) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!("the node stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
