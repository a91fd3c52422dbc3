//! `cargo xtask play`: build `tandem` (release) and run a node on
//! 127.0.0.1:6379 (like a fresh `redis-server`) until Ctrl-C.
//!
//! The playground is a list of processes started in order and stopped
//! together, so later additions (replica nodes, the web server for the
//! browser simulator) are one more entry each.

use crate::proc::{build_tandem_release, ping, Server};
use crate::Result;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One process of the playground: its name, how to start it, its port.
struct Part {
    name: String,
    cmd: Command,
    port: u16,
    /// What to tell the user once it is up.
    hint: String,
}

/// `cargo xtask play [--port N]`.
pub fn run(args: &[String]) -> Result {
    let mut port: u16 = 6379;
    for (name, value) in crate::options(args, &["port"])? {
        if name == "port" {
            port = value
                .parse()
                .map_err(|_| format!("--port wants a port number, not {value:?}"))?;
        }
    }
    let tandem = build_tandem_release()?;
    if ping(port) {
        return Err(format!(
            "something already answers on 127.0.0.1:{port} (a system redis-server? \
             `service redis-server stop`), or pick another port with --port"
        ));
    }
    let mut cmd = Command::new(&tandem);
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
    let parts = vec![Part {
        name: format!("tandem node on 127.0.0.1:{port}"),
        cmd,
        port,
        hint: format!(
            "redis-cli -p {port}            (e.g. `redis-cli -p {port} set hello world`)"
        ),
    }];

    // Ctrl-C reaches the whole foreground process group: the nodes shut down
    // by themselves; we note it and stop whatever is left.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| format!("cannot handle signal {sig}: {e}"))?;
    }
    let mut running = Vec::new();
    for p in parts {
        running.push((Server::start(&p.name, p.cmd, p.port, false)?, p.hint));
    }
    println!("\nTandem playground is up:");
    for (s, hint) in &running {
        println!("  {:<34} reach it with: {hint}", s.name);
    }
    println!("Press Ctrl-C to stop.\n");
    while !stop.load(Ordering::Relaxed) {
        for (s, _) in running.iter_mut() {
            if let Some(status) = s.exited() {
                return Err(format!("{} exited ({status})", s.name));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for (s, _) in running.iter_mut().rev() {
        s.stop();
    }
    println!("playground stopped");
    Ok(())
}
