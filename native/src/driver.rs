//! The tokio driver: one thread, one [`Node`], many connections.
//!
//! Redis serves all its clients from one thread; so does Tandem, on a tokio
//! current-thread runtime. Every connection task reads into the node; a
//! flusher task then writes the replies of all the clients served in that
//! turn of the loop together (Redis writes them before it sleeps) and keeps
//! the loop polling a little before it sleeps (see [`flush_loop`]), and a
//! per-connection writer task finishes writes the socket could not take at
//! once. The node is shared as
//! `Rc<RefCell<..>>`: single-threaded, no locks, never borrowed across an
//! `.await`. Files are written on tokio's blocking threads, and a background
//! save is also encoded there, from the copy-on-write snapshot the node hands
//! over, as Redis's forked child does: the serving thread never stalls for
//! it.

use bytes::Bytes;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tandem_core::persist::SnapshotFile;
use tandem_core::rdb;
use tandem_core::{Config, ConnId, Event, Input, Node, Output};
use tokio::io::unix::AsyncFd;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Wall-clock time in Unix milliseconds, the core's only notion of time.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Per-connection output state shared by the reader and writer tasks.
struct Conn {
    stream: Rc<Socket>,
    pending: VecDeque<Bytes>,
    /// Close once `pending` is flushed.
    closing: bool,
    /// Bytes in `pending`.
    pending_bytes: u64,
    /// What the node was last told about `pending_bytes`.
    reported: u64,
    wake_writer: Rc<Notify>,
}

struct Driver {
    node: Node,
    conns: HashMap<ConnId, Conn, BuildHasherDefault<IdHasher>>,
    deadline: u64,
    rearm: Rc<Notify>,
    shutdown: Rc<Notify>,
    stopping: bool,
    /// Files (or pieces of files) the node asked to write, not yet handed
    /// to a writer.
    writes: Vec<FileWork>,
    /// The writer of each file being written piece by piece, by request id.
    files: HashMap<u64, tokio::sync::mpsc::UnboundedSender<(Bytes, bool)>>,
    /// Set when the process stops: file writers still running give up and
    /// remove their temp files (as Redis kills a saving child on exit).
    abandon_writes: Arc<AtomicBool>,
    /// Per file being written, by request id: set when the node abandons
    /// it ([`Output::AbandonFile`]).
    file_abandon: HashMap<u64, Arc<AtomicBool>>,
    /// Connections that got output since the last flush.
    touched: Vec<ConnId>,
    /// Wakes the flusher task; set while a flush is queued.
    flush_wake: Rc<Notify>,
    flush_queued: bool,
    /// Unsent-byte counts to report to the node (output-buffer limits).
    pending_reports: Vec<(ConnId, u64)>,
}

type Shared = Rc<RefCell<Driver>>;

/// A file to write.
enum FileWork {
    /// One [`Output::WriteFile`]: a file, or a piece of one (`more` follow).
    Piece {
        id: u64,
        path: String,
        data: Bytes,
        more: bool,
    },
    /// A background save whose snapshot is encoded by the writer itself,
    /// off the serving thread.
    Snapshot(Box<SnapshotFile>),
}

/// A connected socket, registered with the runtime. `AsyncFd` (rather than
/// tokio's `TcpStream`) lets the reader drop read-readiness after a short
/// read, as Redis's level-triggered loop does, instead of paying one more
/// `read` that would only say `EAGAIN`.
type Socket = AsyncFd<std::net::TcpStream>;

/// Connection ids are small distinct integers: hash them as themselves.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl Driver {
    /// Drain the node's outputs into connection queues; returns connections to dial.
    fn drain(&mut self) -> Vec<(ConnId, String, u16)> {
        let mut dials = Vec::new();
        while let Some(out) = self.node.poll_output() {
            match out {
                Output::Send(c, data) => {
                    if let Some(conn) = self.conns.get_mut(&c) {
                        conn.pending_bytes += data.len() as u64;
                        conn.pending.push_back(data);
                        self.touched.push(c);
                    }
                }
                Output::Close(c) => {
                    if let Some(conn) = self.conns.get_mut(&c) {
                        conn.closing = true;
                        conn.wake_writer.notify_one();
                    }
                }
                Output::Connect { conn, host, port } => dials.push((conn, host, port)),
                Output::Shutdown => {
                    self.stopping = true;
                    self.shutdown.notify_one();
                }
                Output::Event(e) => log_event(&e),
                Output::AbandonFile { id } => {
                    if let Some(flag) = self.file_abandon.get(&id) {
                        flag.store(true, Ordering::Relaxed);
                    }
                    // A writer waiting for more pieces stops waiting.
                    self.files.remove(&id);
                }
                Output::WriteFile {
                    id,
                    path,
                    data,
                    more,
                } => self.writes.push(FileWork::Piece {
                    id,
                    path,
                    data,
                    more,
                }),
                _ => {}
            }
        }
        if let Some(snapshot) = self.node.take_snapshot_file() {
            self.writes.push(FileWork::Snapshot(Box::new(snapshot)));
        }
        let d = self.node.next_deadline();
        if d != self.deadline {
            self.deadline = d;
            self.rearm.notify_one();
        }
        dials
    }

    /// Have the flusher write what the node produced, once the tasks
    /// already woken (the other clients that sent commands in this turn of
    /// the loop) have run.
    fn queue_flush(&mut self) {
        if !self.touched.is_empty() && !self.flush_queued {
            self.flush_queued = true;
            self.flush_wake.notify_one();
        }
    }

    /// Write as much as the sockets take right now, for every connection
    /// that got output; note the ones whose unsent bytes the node must hear of.
    fn flush_all(&mut self) {
        for id in std::mem::take(&mut self.touched) {
            let Some(conn) = self.conns.get_mut(&id) else {
                continue;
            };
            if !conn.pending.is_empty() && !flush(conn) {
                conn.wake_writer.notify_one();
            }
            if conn.pending_bytes != conn.reported {
                conn.reported = conn.pending_bytes;
                self.pending_reports.push((id, conn.pending_bytes));
            }
        }
    }
}

/// Try to write a connection's queue without waiting; true if it is empty now.
fn flush(conn: &mut Conn) -> bool {
    while let Some(front) = conn.pending.front_mut() {
        match conn.stream.get_ref().write(front) {
            Ok(n) if n == front.len() => {
                conn.pending_bytes -= n as u64;
                conn.pending.pop_front();
            }
            Ok(n) => {
                conn.pending_bytes -= n as u64;
                let _ = front.split_to(n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                conn.pending.clear();
                conn.pending_bytes = 0;
                conn.closing = true;
                return true;
            }
        }
    }
    true
}

fn log_event(e: &Event) {
    match e {
        Event::Log { level, message } => match *level {
            "warning" => tracing::warn!("{message}"),
            "debug" => tracing::debug!("{message}"),
            _ => tracing::info!("{message}"),
        },
        Event::ProtocolError { conn, error } => {
            tracing::debug!("client {conn}: protocol error: {error}")
        }
        Event::ClientConnected { conn, addr } => {
            tracing::debug!("accepted client {conn} from {addr}")
        }
        Event::ClientClosed { conn, reason } => tracing::debug!("client {conn} closed: {reason}"),
        Event::Repl(r) => tracing::info!("{r}"),
        Event::LoadFailed { error } => {
            tracing::warn!("Fatal error loading the DB: {error}. The dataset stays empty.")
        }
        other => tracing::info!("{other:?}"),
    }
}

/// Run a node until SHUTDOWN or a signal.
pub async fn run(config: Config) -> io::Result<()> {
    let seed = os_seed();
    let mut listeners = Vec::new();
    for addr in &config.bind {
        let optional = addr.starts_with('-');
        let host = addr.trim_start_matches('-');
        let bind_to = if host.contains(':') {
            format!("[{host}]:{}", config.port)
        } else {
            format!("{host}:{}", config.port)
        };
        match TcpListener::bind(&bind_to).await {
            Ok(l) => listeners.push(l),
            Err(e) if optional => tracing::debug!("skipping optional bind {bind_to}: {e}"),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("Could not create server TCP listening socket {bind_to}: {e}"),
                ));
            }
        }
    }
    if listeners.is_empty() {
        return Err(io::Error::other("no address to listen on"));
    }
    let port = config.port;
    let mut node = Node::new(config, seed, now_ms());
    // Background saves are encoded and written on a blocking thread, so
    // the serving thread stays free for clients (as Redis's forked child);
    // other files reach the disk piece by piece as the node produces them.
    node.hand_background_saves_to_driver(true);
    node.stream_file_writes(true);
    tracing::info!(
        "Tandem {} starting, seed {seed:#018x}",
        env!("CARGO_PKG_VERSION")
    );
    let shared: Shared = Rc::new(RefCell::new(Driver {
        deadline: node.next_deadline(),
        node,
        conns: HashMap::default(),
        rearm: Rc::new(Notify::new()),
        shutdown: Rc::new(Notify::new()),
        stopping: false,
        writes: Vec::new(),
        files: HashMap::new(),
        abandon_writes: Arc::new(AtomicBool::new(false)),
        file_abandon: HashMap::new(),
        touched: Vec::new(),
        flush_wake: Rc::new(Notify::new()),
        flush_queued: false,
        pending_reports: Vec::new(),
    }));
    // A file to load makes the node loading before the first client can
    // connect, so nobody sees an empty dataset: they get -LOADING meanwhile.
    let rdb_path = shared.borrow().node.rdb_path();
    if std::path::Path::new(&rdb_path).exists() {
        let opts = shared.borrow_mut().node.begin_load_by_driver();
        tokio::task::spawn_local(load_at_startup(shared.clone(), rdb_path, opts));
    }
    tracing::info!("Ready to accept connections tcp (port {port})");
    for l in listeners {
        tokio::task::spawn_local(accept_loop(shared.clone(), l));
    }
    tokio::task::spawn_local(timer_loop(shared.clone()));
    tokio::task::spawn_local(flush_loop(shared.clone()));
    let shutdown = shared.borrow().shutdown.clone();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let signalled = tokio::select! {
        _ = shutdown.notified() => {
            tracing::info!("SHUTDOWN requested, exiting");
            false
        }
        _ = term.recv() => {
            tracing::info!("Received SIGTERM scheduling shutdown...");
            true
        }
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("Received SIGINT scheduling shutdown...");
            true
        }
    };
    if signalled {
        // The node may want to save first (save points configured).
        let (stop_now, writes) = {
            let mut d = shared.borrow_mut();
            let stop_now = d.node.prepare_shutdown(now_ms());
            d.drain();
            (stop_now, std::mem::take(&mut d.writes))
        };
        spawn_writes(&shared, writes);
        if !stop_now {
            tracing::info!("Saving the final RDB snapshot before exiting.");
            shutdown.notified().await;
        }
    }
    // Give pending replies a last chance to leave; saves still running are
    // abandoned.
    shared.borrow_mut().flush_all();
    shared
        .borrow()
        .abandon_writes
        .store(true, Ordering::Relaxed);
    tracing::info!("Tandem is now ready to exit, bye bye...");
    Ok(())
}

fn os_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now_ms());
    h.write_u32(std::process::id());
    h.finish()
}

async fn accept_loop(shared: Shared, listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let stream = match register(stream) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("Registering client connection: {e}");
                continue;
            }
        };
        let id = {
            let mut d = shared.borrow_mut();
            d.node.accept(now_ms(), peer.to_string())
        };
        start_connection(&shared, id, stream);
    }
}

/// Hand a tokio stream over to an [`AsyncFd`] (non-blocking, no Nagle).
// `AsyncFd::new` is deprecated because a `T` that does not own its fd could
// close it under the runtime; `std::net::TcpStream` owns its fd, and the
// replacement, `AsyncFd::register`, is `unsafe`, which this crate forbids.
#[allow(deprecated)]
fn register(stream: TcpStream) -> io::Result<Socket> {
    let std = stream.into_std()?;
    std.set_nodelay(true)?;
    AsyncFd::new(std)
}

fn start_connection(shared: &Shared, id: ConnId, stream: Socket) {
    let stream = Rc::new(stream);
    let wake_writer = Rc::new(Notify::new());
    {
        let mut d = shared.borrow_mut();
        d.conns.insert(
            id,
            Conn {
                stream: stream.clone(),
                pending: VecDeque::new(),
                pending_bytes: 0,
                reported: 0,
                closing: false,
                wake_writer: wake_writer.clone(),
            },
        );
        // The node may already have answered (protected mode, maxclients).
        let dials = d.drain();
        d.flush_all();
        drop(d);
        spawn_dials(shared, dials);
    }
    tokio::task::spawn_local(writer_loop(shared.clone(), id, stream.clone(), wake_writer));
    tokio::task::spawn_local(reader_loop(shared.clone(), id, stream));
}

fn spawn_dials(shared: &Shared, dials: Vec<(ConnId, String, u16)>) {
    for (id, host, port) in dials {
        let shared = shared.clone();
        tokio::task::spawn_local(async move {
            match TcpStream::connect((host.as_str(), port))
                .await
                .and_then(register)
            {
                Ok(stream) => {
                    start_connection(&shared, id, stream);
                    feed(&shared, Input::Connected(id));
                }
                Err(e) => feed(&shared, Input::ConnectFailed(id, e.to_string())),
            }
        });
    }
}

/// Feed one input, route the outputs, write what can be written now.
fn feed(shared: &Shared, input: Input) {
    feed_with(shared, |node, now| node.handle_input(now, input));
}

/// Let `first` act on the node (feed it an input, or hand it something
/// through a method), then route the outputs as [`feed`] does.
fn feed_with(shared: &Shared, first: impl FnOnce(&mut Node, u64)) {
    let mut first = Some(first);
    let mut backlog: Vec<Input> = Vec::new();
    loop {
        let (dials, writes) = {
            let mut d = shared.borrow_mut();
            if let Some(first) = first.take() {
                first(&mut d.node, now_ms());
            } else if let Some(input) = backlog.pop() {
                d.node.handle_input(now_ms(), input);
            } else {
                break;
            }
            let dials = d.drain();
            d.queue_flush();
            // Backpressure the node must know about (client-output-buffer-limit).
            if !d.pending_reports.is_empty() {
                for (conn, bytes) in std::mem::take(&mut d.pending_reports) {
                    backlog.push(Input::OutputPending { conn, bytes });
                }
            }
            let writes = if d.writes.is_empty() {
                Vec::new()
            } else {
                std::mem::take(&mut d.writes)
            };
            (dials, writes)
        };
        if !dials.is_empty() {
            spawn_dials(shared, dials);
        }
        if !writes.is_empty() {
            spawn_writes(shared, writes);
        }
    }
}

/// Hand files and file pieces to their writers: one blocking task per
/// file (started by its first piece, or by the snapshot it encodes), which
/// writes it atomically and reports back with [`Input::FileWritten`].
fn spawn_writes(shared: &Shared, writes: Vec<FileWork>) {
    for w in writes {
        let (id, path, data, more) = match w {
            FileWork::Snapshot(mut snapshot) => {
                let (id, path) = (snapshot.id, snapshot.path.clone());
                spawn_file_writer(
                    shared,
                    id,
                    path,
                    std::iter::from_fn(move || snapshot.next_chunk().map(Ok)),
                );
                continue;
            }
            FileWork::Piece {
                id,
                path,
                data,
                more,
            } => (id, path, data, more),
        };
        let tx = {
            let mut d = shared.borrow_mut();
            let tx = match d.files.get(&id) {
                Some(tx) => tx.clone(),
                None => {
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Bytes, bool)>();
                    let mut last_seen = false;
                    let pieces = std::iter::from_fn(move || {
                        if last_seen {
                            return None;
                        }
                        match rx.blocking_recv() {
                            Some((data, more)) => {
                                last_seen = !more;
                                Some(Ok(data))
                            }
                            None => {
                                last_seen = true;
                                Some(Err(io::Error::other("the file was abandoned unfinished")))
                            }
                        }
                    });
                    drop(d);
                    spawn_file_writer(shared, id, path, pieces);
                    d = shared.borrow_mut();
                    d.files.insert(id, tx.clone());
                    tx
                }
            };
            if !more {
                d.files.remove(&id);
            }
            tx
        };
        // A writer that failed already reported it; the rest is dropped.
        let _ = tx.send((data, more));
    }
}

/// Write one file on a blocking thread from its pieces, then answer
/// [`Input::FileWritten`] on the serving thread.
fn spawn_file_writer(
    shared: &Shared,
    id: u64,
    path: String,
    pieces: impl Iterator<Item = io::Result<Bytes>> + Send + 'static,
) {
    let exiting = shared.borrow().abandon_writes.clone();
    let abandoned = Arc::new(AtomicBool::new(false));
    shared
        .borrow_mut()
        .file_abandon
        .insert(id, abandoned.clone());
    let shared = shared.clone();
    tokio::task::spawn_local(async move {
        let result = tokio::task::spawn_blocking(move || {
            write_atomically(&path, id, pieces, &[&exiting, &abandoned])
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(format!("the file writer failed: {e}"))));
        shared.borrow_mut().file_abandon.remove(&id);
        feed(
            &shared,
            Input::FileWritten {
                id,
                result: result.map_err(|e| e.to_string()),
            },
        );
    });
}

/// Renames of finished files, one at a time: a file abandoned before its
/// rename never replaces one written after it.
static RENAMES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Write a file atomically: every piece into a temp file of its own (named
/// after the request id), fsync, rename over `path`. On any failure (or
/// once one of `abandon` is set, up to the rename) the temp file is removed
/// and `path` is left as it was.
fn write_atomically(
    path: &str,
    id: u64,
    pieces: impl Iterator<Item = io::Result<Bytes>>,
    abandon: &[&AtomicBool],
) -> io::Result<()> {
    let tmp = format!("{path}.tmp-{}-{id}", std::process::id());
    let abandoned = || {
        if abandon.iter().any(|a| a.load(Ordering::Relaxed)) {
            Err(io::Error::other("abandoned"))
        } else {
            Ok(())
        }
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        for piece in pieces {
            abandoned()?;
            f.write_all(&piece?)?;
        }
        f.sync_all()?;
        drop(f);
        let _one_at_a_time = RENAMES.lock().unwrap_or_else(|e| e.into_inner());
        abandoned()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Load the RDB file at startup off the serving thread, which meanwhile
/// answers `-LOADING`: a blocking thread reads and parses the file (the
/// core's decoder without a keyspace), a second one inserts what it decodes
/// (the core's keyspace builder), so parsing and inserting overlap; the
/// serving thread then swaps the dataset in, or keeps its empty one if the
/// load failed.
async fn load_at_startup(shared: Shared, path: String, opts: rdb::DecodeOptions) {
    let started = std::time::Instant::now();
    let abandon = shared.borrow().abandon_writes.clone();
    let result = tokio::task::spawn_blocking(move || load_file(&path, opts, &abandon))
        .await
        .unwrap_or_else(|e| Err(format!("the loader failed: {e}")));
    let loaded = result.is_ok();
    feed_with(&shared, |node, now| node.finish_load_by_driver(now, result));
    if loaded {
        tracing::info!(
            "DB loaded from disk: {:.3} seconds",
            started.elapsed().as_secs_f64()
        );
    }
}

/// Decoded keys travelling from the parsing thread to the inserting one.
const LOAD_BATCHES_IN_FLIGHT: usize = 8;

/// Read, parse and insert a whole RDB file on two threads (this one parses).
/// Stops early, failing, when `abandon` is set (the server is exiting).
fn load_file(
    path: &str,
    opts: rdb::DecodeOptions,
    abandon: &AtomicBool,
) -> Result<rdb::Loaded, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("Can't read {path}: {e}"))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    tracing::info!("Loading RDB {path} ({size} bytes)");
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<rdb::LoadStep>>(LOAD_BATCHES_IN_FLIGHT);
    let mut parser = rdb::Decoder::without_keyspace(opts);
    let mut builder = parser.keyspace_builder();
    let inserter = std::thread::Builder::new()
        .name("tandem-load".into())
        .spawn(move || {
            for batch in rx {
                for step in batch {
                    builder.apply(step)?;
                }
            }
            Ok::<_, rdb::Error>(builder)
        })
        .map_err(|e| format!("can't start the loading thread: {e}"))?;
    let mut buf = vec![0u8; 1 << 20];
    let parsed = loop {
        if abandon.load(Ordering::Relaxed) {
            break Err("abandoned: the server is exiting".to_string());
        }
        let n = match file.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(format!("Can't read {path}: {e}")),
        };
        if let Err(e) = parser.feed(&buf[..n]) {
            break Err(e.to_string());
        }
        let steps = parser.take_steps();
        // A closed channel means the inserter failed: its error says why.
        if !steps.is_empty() && tx.send(steps).is_err() {
            break Ok(());
        }
    };
    let parsed = parsed.and_then(|()| parser.end_of_input().map_err(|e| e.to_string()));
    if parsed.is_ok() {
        let _ = tx.send(parser.take_steps());
    }
    drop(tx);
    let built = inserter
        .join()
        .map_err(|_| "the loading thread panicked".to_string())?;
    // The inserter's error first: the parser stops when it fails.
    let builder = built.map_err(|e| e.to_string())?;
    parsed?;
    let mut loaded = parser.finish().map_err(|e| e.to_string())?;
    builder.complete(&mut loaded);
    Ok(loaded)
}

/// Read a connection until the peer closes it or the node does. A close
/// the node asked for reaches this task through the socket itself: the
/// writer shuts it down once the last reply is out, which makes it
/// readable (end of stream), so the hot path waits on one future only.
async fn reader_loop(shared: Shared, id: ConnId, stream: Rc<Socket>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if shared.borrow().conns.get(&id).is_none_or(|c| c.closing) {
            return;
        }
        let mut ready = match stream.readable().await {
            Ok(guard) => guard,
            Err(_) => break,
        };
        match stream.get_ref().read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if n < buf.len() {
                    // The socket is drained; edge-triggered readiness fires
                    // again when more arrives.
                    ready.clear_ready();
                } else if buf.len() < 1024 * 1024 {
                    buf.resize(buf.len() * 2, 0);
                }
                drop(ready);
                feed(
                    &shared,
                    Input::Received(id, Bytes::copy_from_slice(&buf[..n])),
                );
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready.clear_ready(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    // Peer closed, the socket broke, or the writer shut it down. Replies
    // still batched for the flusher go out first (a client that sends its
    // commands and then closes its side still gets them).
    let known = {
        let mut d = shared.borrow_mut();
        d.flush_all();
        d.conns.remove(&id)
    };
    if let Some(conn) = known {
        conn.wake_writer.notify_one();
        feed(&shared, Input::Closed(id));
    }
}

async fn writer_loop(shared: Shared, id: ConnId, stream: Rc<Socket>, wake: Rc<Notify>) {
    loop {
        wake.notified().await;
        loop {
            // Stale readiness makes this return at once; a write that then
            // hits `EAGAIN` clears it below, so the next wait is real.
            let mut ready = match stream.writable().await {
                Ok(guard) => guard,
                Err(_) => break,
            };
            let (empty, closing) = {
                let mut d = shared.borrow_mut();
                let Some(conn) = d.conns.get_mut(&id) else {
                    return;
                };
                let empty = flush(conn);
                let report = (conn.pending_bytes != conn.reported).then(|| {
                    conn.reported = conn.pending_bytes;
                    (id, conn.pending_bytes)
                });
                let closing = conn.closing;
                d.pending_reports.extend(report);
                (empty, closing)
            };
            let reports = std::mem::take(&mut shared.borrow_mut().pending_reports);
            for (conn, bytes) in reports {
                feed(&shared, Input::OutputPending { conn, bytes });
            }
            if empty {
                if closing {
                    let mut d = shared.borrow_mut();
                    d.conns.remove(&id);
                    // Wake the reader (end of stream); the socket closes
                    // when its handle and this task's drop.
                    let _ = stream.get_ref().shutdown(std::net::Shutdown::Both);
                    return;
                }
                break;
            }
            ready.clear_ready();
        }
    }
}

/// How long the flusher keeps the loop polling the sockets, without
/// sleeping, after it wrote a batch of replies (see [`flush_loop`]).
const POLL_BEFORE_SLEEP: Duration = Duration::from_micros(50);

/// Write replies in batches, as Redis does before it sleeps: every client
/// whose command arrived in one turn of the loop is served first, then all
/// their replies go out together. Clients then find several replies ready
/// at once instead of waking up for each one.
///
/// After a batch the loop does not go to sleep at once: for
/// [`POLL_BEFORE_SLEEP`] it keeps polling the sockets without blocking (a
/// task that yields makes the runtime poll with a zero timeout). Clients
/// that answer replies with new commands (redis-benchmark, pipelines of one)
/// send them a few microseconds apart; a server that sleeps between them
/// must be woken for each, and the wake-up is paid inside the sending
/// client's `send` (measured on loopback with redis-benchmark LRANGE_100:
/// about one wake-up per four requests, 1-1.5 us more client CPU per
/// request than against redis-server, which spends longer per request and
/// so is still busy when the next one arrives). An idle server still
/// sleeps: the polling only follows replies.
async fn flush_loop(shared: Shared) {
    let wake = shared.borrow().flush_wake.clone();
    loop {
        wake.notified().await;
        let reports = {
            let mut d = shared.borrow_mut();
            d.flush_queued = false;
            d.flush_all();
            std::mem::take(&mut d.pending_reports)
        };
        for (conn, bytes) in reports {
            feed(&shared, Input::OutputPending { conn, bytes });
        }
        let until = std::time::Instant::now() + POLL_BEFORE_SLEEP;
        loop {
            tokio::task::yield_now().await;
            if shared.borrow().flush_queued || std::time::Instant::now() >= until {
                break;
            }
        }
    }
}

async fn timer_loop(shared: Shared) {
    loop {
        let (deadline, rearm) = {
            let d = shared.borrow();
            (d.deadline, d.rearm.clone())
        };
        let wait = deadline.saturating_sub(now_ms());
        if wait == 0 {
            // Work is waiting (a snapshot being encoded): let the
            // connections run first, then do the next slice.
            tokio::task::yield_now().await;
            feed(&shared, Input::Tick);
            if shared.borrow().stopping {
                return;
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {
                feed(&shared, Input::Tick);
            }
            _ = rearm.notified() => {}
        }
        if shared.borrow().stopping {
            return;
        }
    }
}
