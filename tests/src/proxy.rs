//! A TCP proxy for replication tests: replicas connect to the proxy, the
//! proxy forwards to the master, and the test can cut every link (and refuse
//! new ones) or heal, while counting the bytes that flow master → replica.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running proxy; stops accepting when dropped.
pub struct Proxy {
    /// Port replicas should connect to.
    pub port: u16,
    up: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    downstream_bytes: Arc<AtomicU64>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    capture: Arc<Mutex<Vec<u8>>>,
    capture_up: Arc<Mutex<Vec<u8>>>,
}

impl Proxy {
    /// Forward a fresh loopback port to `127.0.0.1:target`.
    pub fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let up = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let downstream_bytes = Arc::new(AtomicU64::new(0));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let capture = Arc::new(Mutex::new(Vec::new()));
        let capture_up = Arc::new(Mutex::new(Vec::new()));
        {
            let (up, stop, bytes, conns, capture, capture_up) = (
                up.clone(),
                stop.clone(),
                downstream_bytes.clone(),
                conns.clone(),
                capture.clone(),
                capture_up.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let (client, _) = match listener.accept() {
                        Ok(x) => x,
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        }
                    };
                    let _ = client.set_nonblocking(false);
                    if !up.load(Ordering::SeqCst) {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    {
                        let mut c = conns.lock().expect("lock");
                        c.push(client.try_clone().expect("clone"));
                        c.push(server.try_clone().expect("clone"));
                    }
                    pump(
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                        None,
                        Some(capture_up.clone()),
                    );
                    pump(server, client, Some(bytes.clone()), Some(capture.clone()));
                }
            });
        }
        Proxy {
            port,
            up,
            stop,
            downstream_bytes,
            conns,
            capture,
            capture_up,
        }
    }

    /// Break every current link and refuse new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().expect("lock").drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    /// Accept links again.
    pub fn heal(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// Bytes forwarded from the master to replicas so far.
    pub fn downstream_bytes(&self) -> u64 {
        self.downstream_bytes.load(Ordering::SeqCst)
    }

    /// Everything forwarded from the master to replicas so far.
    pub fn captured(&self) -> Vec<u8> {
        self.capture.lock().expect("lock").clone()
    }

    /// Everything forwarded from replicas to the master so far.
    pub fn captured_upstream(&self) -> Vec<u8> {
        self.capture_up.lock().expect("lock").clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
    }
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    count: Option<Arc<AtomicU64>>,
    capture: Option<Arc<Mutex<Vec<u8>>>>,
) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(c) = &count {
                        c.fetch_add(n as u64, Ordering::SeqCst);
                    }
                    if let Some(c) = &capture {
                        c.lock().expect("lock").extend_from_slice(&buf[..n]);
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
