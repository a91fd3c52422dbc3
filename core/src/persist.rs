//! Persistence decisions: SAVE, BGSAVE, save points, loading at startup,
//! and the replication state an RDB carries across restarts.
//!
//! The node never touches a file. A save takes a copy-on-write snapshot of
//! the keyspace ([`Keyspace::snapshot`](crate::db::Keyspace::snapshot), cheap
//! at any size), so the file holds exactly the dataset of the moment the
//! save started, and asks the driver to write it atomically with
//! [`Output::WriteFile`] (temp file, fsync, rename); the driver answers
//! [`Input::FileWritten`]. `SAVE` (and the save before a shutdown) encodes
//! the whole file at once, blocking, as Redis's `SAVE` does. `BGSAVE` and
//! save points encode it a slice at a time on [`Input::Tick`]s
//! ([`Node::next_deadline`] asks for one at once while work remains), so
//! clients are served between slices, like Redis's forked child. A driver
//! that called [`Node::stream_file_writes`] gets each slice as soon as it
//! is encoded (`more: true` until the last); otherwise the node hands over
//! the whole file at the end. A driver with threads to spare can instead
//! take the encoding off the serving thread altogether
//! ([`Node::hand_background_saves_to_driver`]): the node then hands it each
//! background save as a [`SnapshotFile`] (the frozen snapshot and its pure
//! encoder, nothing else), which the driver drains elsewhere and answers
//! with [`Input::FileWritten`]; the serving thread only pays for the
//! snapshot itself and for the copies its own writes make. A load at startup arrives as [`Input::LoadChunk`]s
//! and [`Input::LoadDone`]; meanwhile commands without the `loading` flag
//! answer `-LOADING Redis is loading the dataset in memory`, and a failed
//! load leaves the (empty) dataset untouched.
//!
//! A shutdown that saves (SHUTDOWN SAVE, or a signal with save points)
//! while a background save runs does what Redis does when it kills its
//! saving child: the background save is given up ([`Output::AbandonFile`]
//! tells the driver to drop its file) and the dataset of now is saved.
//!
//! Replication state in the file (spec §4.4): every RDB written by a master
//! with a backlog, or by a replica, carries `repl-id`, `repl-offset` and
//! `repl-stream-db`. Loaded by a node configured as a replica, they become
//! its cached master (so it asks `PSYNC <id> <offset+1>`); loaded by a master,
//! the id becomes `replid2` valid up to `offset + 1` and a backlog starts at
//! that offset, so its old replicas can continue.

use crate::db::Keyspace;
use crate::node::{Event, Input, Node, Output};
use crate::rdb;
use bytes::Bytes;

/// How many bytes of a background snapshot (file or full sync) the node
/// encodes per [`Input::Tick`]: small enough that a client waits at most a
/// fraction of a millisecond for a slice, large enough that ticks are few.
pub const SNAPSHOT_BYTES_PER_TICK: usize = 32 * 1024;

/// A save being encoded by the node or written by the driver.
pub struct SaveJob {
    /// The id of the write request.
    pub id: u64,
    /// `dirty` when the snapshot was taken (subtracted once written).
    pub dirty_at_start: u64,
    /// A SAVE client waiting for the result.
    pub waiting_client: Option<crate::node::ConnId>,
    /// Started by BGSAVE (or a save point) rather than SAVE.
    pub background: bool,
    /// When it started (Unix ms).
    pub started: u64,
    /// The file's path.
    path: String,
    /// The snapshot still being encoded (`None` once all of it went out).
    encoder: Option<rdb::Encoder<Keyspace>>,
    /// The file so far, for a driver that takes whole files.
    whole: Vec<u8>,
}

impl std::fmt::Debug for SaveJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaveJob")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("background", &self.background)
            .field("encoding", &self.encoder.is_some())
            .finish()
    }
}

/// Persistence state of a node.
#[derive(Default)]
pub struct Persistence {
    /// The save in progress.
    pub job: Option<SaveJob>,
    /// Next write-request id.
    pub(crate) next_id: u64,
    /// Whether the last background save succeeded.
    pub last_bgsave_ok: bool,
    /// A loader while the startup load runs.
    pub loading: Option<rdb::Decoder>,
    /// The driver is loading the startup file itself
    /// ([`Node::begin_load_by_driver`]).
    pub(crate) driver_loading: bool,
    /// Bytes loaded so far.
    pub loading_bytes: u64,
    /// Keys loaded at startup (INFO).
    pub loaded_keys: u64,
    /// A BGSAVE was requested while one ran (`BGSAVE SCHEDULE`).
    pub scheduled: bool,
    /// The driver takes a file in pieces ([`Node::stream_file_writes`]).
    pub(crate) stream_writes: bool,
    /// Bytes of snapshot encoded per tick, if not [`SNAPSHOT_BYTES_PER_TICK`]
    /// (tests use small slices).
    pub(crate) tick_bytes: Option<usize>,
    /// The driver encodes background saves itself
    /// ([`Node::hand_background_saves_to_driver`]).
    pub(crate) driver_encodes: bool,
    /// A background save waiting for the driver to take it.
    pub(crate) handed_over: Option<SnapshotFile>,
}

/// A background save for the driver to encode and write wherever it likes
/// (another thread): the snapshot of the moment BGSAVE started and the
/// encoder over it. Pure computation: [`next_chunk`](Self::next_chunk)
/// gives the file piece by piece; once all of it is written (temp file,
/// fsync, rename) the driver answers [`Input::FileWritten`] with
/// [`id`](Self::id). It shares the dataset copy-on-write with the live
/// keyspace, so it may be moved to another thread (`Send`).
pub struct SnapshotFile {
    /// The id to answer [`Input::FileWritten`] with.
    pub id: u64,
    /// Destination path (`dir/dbfilename`).
    pub path: String,
    encoder: rdb::Encoder<Keyspace>,
}

impl SnapshotFile {
    /// The next piece of the file, or `None` once it has all been produced.
    pub fn next_chunk(&mut self) -> Option<Bytes> {
        self.encoder.next_chunk()
    }

    /// Bytes produced so far.
    pub fn bytes_written(&self) -> u64 {
        self.encoder.bytes_written()
    }
}

impl std::fmt::Debug for SnapshotFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotFile")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("bytes_written", &self.bytes_written())
            .finish()
    }
}

impl Persistence {
    /// Bytes of snapshot to encode per tick.
    pub(crate) fn tick_bytes(&self) -> usize {
        self.tick_bytes.unwrap_or(SNAPSHOT_BYTES_PER_TICK)
    }

    /// An encoder over `snapshot` that cuts chunks no bigger than a tick's slice.
    pub(crate) fn encoder(
        &self,
        snapshot: Keyspace,
        opts: rdb::EncodeOptions,
    ) -> rdb::Encoder<Keyspace> {
        let chunk_size = opts.chunk_size.min(self.tick_bytes());
        rdb::Encoder::new(snapshot, rdb::EncodeOptions { chunk_size, ..opts })
    }
}

impl Node {
    /// Whether a startup load is running.
    pub fn is_loading(&self) -> bool {
        self.persist.loading.is_some() || self.persist.driver_loading
    }

    /// The driver loads the startup file itself, off the serving thread
    /// (instead of [`Input::LoadChunk`]s): from now on the node is loading
    /// (commands answer `-LOADING`) until
    /// [`finish_load_by_driver`](Self::finish_load_by_driver). Returns how
    /// to decode the file: with an [`rdb::Decoder::without_keyspace`] on one
    /// thread and an [`rdb::KeyspaceBuilder`] on another, or a plain
    /// [`rdb::Decoder`].
    pub fn begin_load_by_driver(&mut self) -> rdb::DecodeOptions {
        self.persist.driver_loading = true;
        self.file_decode_options()
    }

    /// The end of a load begun with
    /// [`begin_load_by_driver`](Self::begin_load_by_driver): the loaded
    /// dataset is swapped in, or, on an error, the dataset stays as it was
    /// (empty) and [`Event::LoadFailed`] says why (a decoding error or
    /// the driver's own, such as a read failure). Drain
    /// [`poll_output`](Self::poll_output) afterwards.
    pub fn finish_load_by_driver(&mut self, now: u64, result: Result<rdb::Loaded, String>) {
        self.now = self.now.max(now);
        if !std::mem::take(&mut self.persist.driver_loading) {
            return;
        }
        match result {
            Ok(loaded) => self.install_loaded(loaded),
            Err(error) => self.event(Event::LoadFailed { error }),
        }
    }

    /// The driver can write a file in pieces: [`Output::WriteFile`]s with
    /// the same id, `more: true` on all but the last, which alone is
    /// answered with [`Input::FileWritten`]. Without this the node hands a
    /// background save over in one piece once it is encoded.
    pub fn stream_file_writes(&mut self, on: bool) {
        self.persist.stream_writes = on;
    }

    /// The driver encodes background saves itself, off the serving thread:
    /// BGSAVE and save points take their snapshot and leave it, as a
    /// [`SnapshotFile`], for [`take_snapshot_file`](Self::take_snapshot_file)
    /// instead of encoding it a slice per [`Input::Tick`]. `SAVE` still
    /// encodes in place (it blocks by definition).
    pub fn hand_background_saves_to_driver(&mut self, on: bool) {
        self.persist.driver_encodes = on;
    }

    /// The background save that just started, for a driver that encodes
    /// them itself; `None` if none is waiting. Check after every input.
    pub fn take_snapshot_file(&mut self) -> Option<SnapshotFile> {
        self.persist.handed_over.take()
    }

    /// The RDB bytes of the dataset now, with replication info when there is any.
    pub(crate) fn encode_rdb(&self) -> Vec<u8> {
        rdb::encode_to_vec(&self.ks, self.file_encode_options())
    }

    /// How this node's own RDB files are written: its configuration, and the
    /// replication info when there is any.
    fn file_encode_options(&self) -> rdb::EncodeOptions {
        let repl = if let Some(side) = self.repl.replica.as_ref() {
            if side.cached || side.link_up() {
                let db = side
                    .conn()
                    .and_then(|c| self.clients.get(&c))
                    .map(|c| c.db)
                    .unwrap_or(side.cached_db);
                Some(rdb::ReplInfo {
                    stream_db: db as i64,
                    id: self.repl.identity.replid.clone(),
                    offset: self.repl.identity.master_repl_offset,
                })
            } else {
                None
            }
        } else if self.repl.backlog.is_some() {
            Some(rdb::ReplInfo {
                stream_db: self.repl.propagation.stream_db.max(0),
                id: self.repl.identity.replid.clone(),
                offset: self.repl.identity.master_repl_offset,
            })
        } else {
            None
        };
        rdb::EncodeOptions {
            compression: self.config.rdbcompression,
            checksum: self.config.rdbchecksum,
            ctime_secs: self.now / 1000,
            repl,
            list_max_listpack_size: self.config.encoding.list_max_listpack_size,
            ..Default::default()
        }
    }

    /// The file a save goes to (`dir/dbfilename`).
    pub fn rdb_path(&self) -> String {
        let dir = self.config.dir.trim_end_matches('/');
        if dir.is_empty() || dir == "." {
            self.config.dbfilename.clone()
        } else {
            format!("{dir}/{}", self.config.dbfilename)
        }
    }

    /// Start a save: snapshot now, ask the driver to write it. `Err` if one runs.
    pub(crate) fn start_save(
        &mut self,
        background: bool,
        waiting_client: Option<crate::node::ConnId>,
    ) -> Result<(), &'static str> {
        if self.persist.job.is_some() {
            return Err("Background save already in progress");
        }
        if background && self.persist.driver_encodes {
            let encoder = rdb::Encoder::new(self.ks.snapshot(), self.file_encode_options());
            let job = self.new_save_job(true, None, None);
            self.log(
                "notice",
                format!(
                    "Background saving started (snapshot for {}, encoded by the driver)",
                    job.path
                ),
            );
            self.persist.handed_over = Some(SnapshotFile {
                id: job.id,
                path: job.path.clone(),
                encoder,
            });
            self.persist.job = Some(job);
        } else if background {
            let encoder = self
                .persist
                .encoder(self.ks.snapshot(), self.file_encode_options());
            let job = self.new_save_job(true, None, Some(encoder));
            self.log(
                "notice",
                format!("Background saving started (snapshot for {})", job.path),
            );
            self.persist.job = Some(job);
        } else {
            let data = self.encode_rdb();
            self.queue_save(data, false, waiting_client);
        }
        Ok(())
    }

    fn new_save_job(
        &mut self,
        background: bool,
        waiting_client: Option<crate::node::ConnId>,
        encoder: Option<rdb::Encoder<Keyspace>>,
    ) -> SaveJob {
        self.persist.next_id += 1;
        SaveJob {
            id: self.persist.next_id,
            dirty_at_start: self.dirty,
            waiting_client,
            background,
            started: self.now,
            path: self.rdb_path(),
            encoder,
            whole: Vec::new(),
        }
    }

    /// Hand a whole encoded file to the driver as the save in progress.
    fn queue_save(
        &mut self,
        data: Vec<u8>,
        background: bool,
        waiting_client: Option<crate::node::ConnId>,
    ) {
        let job = self.new_save_job(background, waiting_client, None);
        let (id, path) = (job.id, job.path.clone());
        self.persist.job = Some(job);
        self.log(
            "notice",
            format!("DB saving to {path} ({} bytes)", data.len()),
        );
        self.outputs.push_back(Output::WriteFile {
            id,
            path,
            data: Bytes::from(data),
            more: false,
        });
    }

    /// Give up a running background save (SHUTDOWN SAVE wants the dataset
    /// of now): the driver is told to abandon its file.
    pub(crate) fn abandon_background_save(&mut self) {
        let Some(job) = self.persist.job.take_if(|j| j.background) else {
            return;
        };
        self.persist.handed_over = None;
        self.log(
            "warning",
            "There is a child saving an .rdb. Killing it!".into(),
        );
        self.outputs.push_back(Output::AbandonFile { id: job.id });
    }

    /// Whether a background save is still encoding its snapshot.
    pub(crate) fn save_encoding(&self) -> bool {
        self.persist
            .job
            .as_ref()
            .is_some_and(|j| j.encoder.is_some())
    }

    /// Encode the next slice of a background save and hand it to the driver
    /// (or keep it, for a driver that takes whole files).
    pub(crate) fn advance_save(&mut self) {
        let stream = self.persist.stream_writes;
        let budget = self.persist.tick_bytes();
        let Some(job) = self.persist.job.as_mut() else {
            return;
        };
        let Some(encoder) = job.encoder.as_mut() else {
            return;
        };
        let mut produced = 0;
        while produced < budget {
            let Some(chunk) = encoder.next_chunk() else {
                break;
            };
            produced += chunk.len();
            let last = encoder.is_done();
            if stream {
                self.outputs.push_back(Output::WriteFile {
                    id: job.id,
                    path: job.path.clone(),
                    data: chunk,
                    more: !last,
                });
            } else {
                job.whole.extend_from_slice(&chunk);
            }
            if last {
                break;
            }
        }
        if !encoder.is_done() {
            return;
        }
        let bytes = encoder.bytes_written();
        job.encoder = None;
        if !stream {
            self.outputs.push_back(Output::WriteFile {
                id: job.id,
                path: job.path.clone(),
                data: Bytes::from(std::mem::take(&mut job.whole)),
                more: false,
            });
        }
        self.log(
            "notice",
            format!("Background save snapshot encoded ({bytes} bytes)"),
        );
    }

    /// The driver finished (or failed) writing a save.
    pub(crate) fn save_written(&mut self, id: u64, result: Result<(), String>) {
        let Some(job) = self.persist.job.take_if(|j| j.id == id) else {
            return;
        };
        let ok = result.is_ok();
        match &result {
            Ok(()) => {
                self.dirty = self.dirty.saturating_sub(job.dirty_at_start);
                self.last_save = self.now / 1000;
                self.log(
                    "notice",
                    if job.background {
                        "Background saving terminated with success".into()
                    } else {
                        "DB saved on disk".into()
                    },
                );
            }
            Err(e) => self.log("warning", format!("Failed saving the DB: {e}")),
        }
        if job.background {
            self.persist.last_bgsave_ok = ok;
        }
        if let Some(conn) = job.waiting_client {
            if let Some(mut c) = self.clients.remove(&conn) {
                use crate::resp::ReplyWriter;
                c.saving = false;
                if ok {
                    c.out.ok();
                } else {
                    c.out.error("ERR");
                }
                self.process_client(&mut c);
                self.finish_client(c);
            }
        }
        if self.shutdown_after_save {
            self.shutdown_after_save = false;
            if ok {
                self.outputs.push_back(Output::Shutdown);
            } else {
                self.log("warning", "Error trying to save the DB, can't exit.".into());
            }
        }
        if std::mem::take(&mut self.persist.scheduled) {
            let _ = self.start_save(true, None);
        }
    }

    /// Save points (`save <seconds> <changes>`), checked by the timer.
    pub(crate) fn check_save_points(&mut self) {
        if self.persist.job.is_some() || self.is_loading() {
            return;
        }
        let now_s = self.now / 1000;
        let due = self.config.save.iter().any(|p| {
            self.dirty >= p.changes
                && now_s.saturating_sub(self.last_save) >= p.seconds
                && p.changes > 0
        });
        if due {
            let _ = self.start_save(true, None);
        }
    }

    /// Feed a startup-load input.
    pub(crate) fn load_input(&mut self, input: Input) {
        match input {
            Input::LoadChunk(data) => {
                if self.persist.loading.is_none() {
                    let opts = self.file_decode_options();
                    self.persist.loading = Some(rdb::Decoder::new(opts));
                    self.persist.loading_bytes = 0;
                }
                self.persist.loading_bytes += data.len() as u64;
                let failed = match self.persist.loading.as_mut() {
                    Some(d) => d.feed(&data).err(),
                    None => None,
                };
                if let Some(e) = failed {
                    self.persist.loading = None;
                    self.event(Event::LoadFailed {
                        error: e.to_string(),
                    });
                }
            }
            Input::LoadDone => {
                let Some(decoder) = self.persist.loading.take() else {
                    return;
                };
                match decoder.finish() {
                    Ok(loaded) => self.install_loaded(loaded),
                    Err(e) => self.event(Event::LoadFailed {
                        error: e.to_string(),
                    }),
                }
            }
            _ => {}
        }
    }

    /// Swap in a dataset loaded from a file, and take its replication state.
    /// A master then deletes the keys that expired in the file and, as Redis
    /// does, feeds them to its backlog as DELs: replicas that continue the
    /// file's history (through `replid2`) delete them too.
    pub(crate) fn install_loaded(&mut self, loaded: rdb::Loaded) {
        self.install_loaded_state(loaded);
        self.expire_loaded_keys();
    }

    /// On a master, delete the keys of a freshly loaded dataset whose time
    /// has passed, feeding each to the stream as a DEL (replicas never
    /// expire keys themselves).
    fn expire_loaded_keys(&mut self) {
        if self.is_replica() {
            return;
        }
        let now = self.now;
        for db in 0..self.ks.db_count() {
            let expired: Vec<Vec<u8>> = self
                .ks
                .db(db)
                .iter()
                .filter(|(k, _)| self.ks.db(db).is_expired(k, now))
                .map(|(k, _)| k.to_vec())
                .collect();
            for key in expired {
                self.ks.expire_if_needed(db, &key, now);
            }
        }
        self.after_expiry();
    }

    fn install_loaded_state(&mut self, loaded: rdb::Loaded) {
        let mut ks = loaded.keyspace;
        ks.replica_mode = self.is_replica();
        self.ks = ks;
        self.persist.loaded_keys = loaded.keys;
        for s in &loaded.skipped {
            self.log(
                "warning",
                format!(
                    "Skipped key '{}' of type {} in db {} (not served by Tandem)",
                    String::from_utf8_lossy(&s.key),
                    s.kind,
                    s.db
                ),
            );
        }
        self.log(
            "notice",
            format!(
                "Done loading RDB, keys loaded: {}, keys expired: {}.",
                loaded.keys, loaded.expired_dropped
            ),
        );
        let (Some(id), Some(offset)) = (loaded.repl_id.clone(), loaded.repl_offset) else {
            return;
        };
        if id.len() != 40 || loaded.repl_stream_db.is_none_or(|d| d < 0) {
            return;
        }
        let db = loaded.repl_stream_db.unwrap_or(0).max(0) as usize;
        if let Some(side) = self.repl.replica.as_mut() {
            self.repl.identity.replid = id;
            self.repl.identity.master_repl_offset = offset;
            side.cached = true;
            side.cached_db = db;
            self.log(
                "notice",
                "Restored the replication state from the RDB file: a partial resync may follow."
                    .into(),
            );
        } else {
            self.repl.identity.replid2 = id;
            self.repl.identity.second_replid_offset = offset + 1;
            self.repl.identity.master_repl_offset = offset;
            let size = self.config.repl_backlog_size as usize;
            self.repl.backlog = Some(crate::repl::Backlog::new(size, offset));
            self.repl.propagation.stream_db = -1;
            self.log(
                "notice",
                "Restored the replication history from the RDB file (as replid2).".into(),
            );
        }
    }
}

impl Node {
    /// A signal asks the node to stop (SIGTERM/SIGINT): with save points
    /// configured it saves first, as Redis does, and reports
    /// [`Output::Shutdown`] once the file is written. Returns true when the
    /// driver may stop right away.
    pub fn prepare_shutdown(&mut self, now: u64) -> bool {
        self.now = self.now.max(now);
        if self.config.save.is_empty() || self.is_loading() {
            return true;
        }
        // As on SHUTDOWN SAVE: a background save holds an older dataset.
        self.abandon_background_save();
        if self.persist.job.is_some() {
            // A SAVE is running; stop when it is written.
            self.shutdown_after_save = true;
            return false;
        }
        match self.start_save(false, None) {
            Ok(()) => {
                self.shutdown_after_save = true;
                false
            }
            Err(_) => true,
        }
    }
}

impl Node {
    /// How this node loads its own RDB files: types it does not serve are
    /// skipped and logged, and expired keys are loaded so that a master can
    /// delete them with a DEL in the stream (see `install_loaded`).
    fn file_decode_options(&mut self) -> rdb::DecodeOptions {
        rdb::DecodeOptions {
            unsupported: rdb::Unsupported::Skip,
            drop_expired_before: None,
            ..rdb::DecodeOptions::from_config(&self.config, self.rng.next_u64())
        }
    }

    /// `DEBUG RELOAD`: encode the dataset as an RDB, write it (unless
    /// `save` is false), and replace the dataset with what decoding those
    /// very bytes gives; the replication state is kept.
    pub(crate) fn debug_reload(&mut self, save: bool) -> Result<(), String> {
        let data = self.encode_rdb();
        let opts = self.file_decode_options();
        let loaded = rdb::decode(&data, &opts).map_err(|e| e.to_string())?;
        let mut ks = loaded.keyspace;
        ks.replica_mode = self.is_replica();
        self.ks = ks;
        self.expire_loaded_keys();
        if save && self.persist.job.is_none() {
            self.queue_save(data, false, None);
        }
        self.log("notice", "DB reloaded by DEBUG RELOAD".into());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::digest::dataset_digest;
    use crate::node::{ConnId, Input, Node, Output};
    use crate::rdb;

    const NOW: u64 = 1_700_000_000_000;

    /// Run `cmds` from `conn`; the file pieces written meanwhile go to `file`.
    fn run(node: &mut Node, conn: ConnId, cmds: &[Vec<String>], file: &mut FileOut) {
        let mut req = Vec::new();
        for c in cmds {
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            crate::resp::encode_command(&mut req, &args);
        }
        node.handle_input(NOW, Input::Received(conn, req.into()));
        file.drain(node);
    }

    #[derive(Default)]
    struct FileOut {
        id: Option<u64>,
        bytes: Vec<u8>,
        pieces: usize,
        complete: bool,
    }

    impl FileOut {
        fn drain(&mut self, node: &mut Node) {
            while let Some(o) = node.poll_output() {
                if let Output::WriteFile { id, data, more, .. } = o {
                    assert!(!self.complete, "a piece after the last one");
                    assert_eq!(*self.id.get_or_insert(id), id);
                    self.bytes.extend_from_slice(&data);
                    self.pieces += 1;
                    self.complete = !more;
                }
            }
        }
    }

    fn cmd(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn fill(node: &mut Node, conn: ConnId, file: &mut FileOut) {
        let mut cmds = Vec::new();
        for i in 0..4000 {
            cmds.push(cmd(&["SET", &format!("s{i}"), &format!("value-{i}")]));
        }
        for i in 0..300 {
            cmds.push(cmd(&["SET", &format!("t{i}"), "v", "EX", "100000"]));
        }
        for i in 0..2000 {
            let n = i.to_string();
            cmds.push(cmd(&["HSET", "bighash", &format!("f{i}"), &n]));
            cmds.push(cmd(&["RPUSH", "biglist", &n]));
            cmds.push(cmd(&["SADD", "bigset", &format!("m{i}")]));
            cmds.push(cmd(&["ZADD", "bigzset", &n, &format!("m{i}")]));
            cmds.push(cmd(&["SADD", "intset", &n]));
        }
        cmds.push(cmd(&["HSET", "smallhash", "a", "1"]));
        cmds.push(cmd(&["SELECT", "3"]));
        for i in 0..500 {
            cmds.push(cmd(&["SET", &format!("db3-{i}"), "x"]));
        }
        cmds.push(cmd(&["SELECT", "0"]));
        run(node, conn, &cmds, file);
    }

    /// Fill a node, then send BGSAVE and a round of writes in one input
    /// (the writes run before any of the snapshot is encoded); the client,
    /// the file so far and the digest of the dataset at BGSAVE start.
    fn bgsave_then_writes(node: &mut Node) -> (ConnId, FileOut, String) {
        let conn = node.accept(NOW, "127.0.0.1:1".into());
        let mut file = FileOut::default();
        fill(node, conn, &mut file);
        let at_start = dataset_digest(&node.ks);
        let mut cmds = vec![cmd(&["BGSAVE"])];
        cmds.extend(writes(0));
        run(node, conn, &cmds, &mut file);
        (conn, file, at_start)
    }

    /// Writes of every kind, different in each round.
    fn writes(round: usize) -> Vec<Vec<String>> {
        let r = round.to_string();
        let mut w = vec![
            cmd(&["SET", &format!("s{round}"), "overwritten"]),
            cmd(&["DEL", &format!("s{}", 1000 + round)]),
            cmd(&["SET", &format!("new{round}"), "x"]),
            cmd(&["EXPIRE", &format!("s{}", 2000 + round), "100000"]),
            cmd(&["PERSIST", &format!("t{round}")]),
            cmd(&["APPEND", &format!("s{}", 3000 + round), "-more"]),
            cmd(&["HSET", "bighash", &format!("f{round}"), "changed"]),
            cmd(&["HDEL", "bighash", &format!("f{}", 1000 + round)]),
            cmd(&["LPUSH", "biglist", &r]),
            cmd(&["RPOP", "biglist"]),
            cmd(&["SREM", "bigset", &format!("m{round}")]),
            cmd(&["ZADD", "bigzset", "-1", &format!("m{round}")]),
            cmd(&["SADD", "intset", &format!("{}", 100_000 + round)]),
            cmd(&["HSET", "smallhash", "b", &r]),
        ];
        if round == 3 {
            w.push(cmd(&["SELECT", "3"]));
            w.push(cmd(&["FLUSHDB"]));
            w.push(cmd(&["SELECT", "0"]));
        }
        w
    }

    fn bgsave_holds_its_starting_dataset(streamed: bool) {
        let mut node = Node::new(Config::default(), 7, NOW);
        node.stream_file_writes(streamed);
        node.persist.tick_bytes = Some(4096);
        let (conn, mut file, at_start) = bgsave_then_writes(&mut node);
        assert_eq!(node.next_deadline(), NOW, "encoding work is pending");
        let mut rounds = 0;
        while !file.complete {
            rounds += 1;
            assert!(rounds < 1000, "the save never completes");
            node.handle_input(NOW, Input::Tick);
            file.drain(&mut node);
            run(&mut node, conn, &writes(rounds), &mut file);
        }
        assert!(rounds > 2, "the file took {rounds} ticks: no interleaving");
        if streamed {
            assert!(file.pieces > 2, "{} pieces", file.pieces);
        } else {
            assert_eq!(file.pieces, 1);
        }
        let loaded = rdb::decode(&file.bytes, &rdb::DecodeOptions::default()).expect("decodes");
        assert_eq!(dataset_digest(&loaded.keyspace), at_start);
        assert_ne!(dataset_digest(&node.ks), at_start);
        assert!(node.persist.job.is_some());
        node.handle_input(
            NOW,
            Input::FileWritten {
                id: file.id.expect("an id"),
                result: Ok(()),
            },
        );
        assert!(node.persist.job.is_none());
        assert!(node.next_deadline() > NOW);
    }

    #[test]
    fn bgsave_streamed_holds_its_starting_dataset() {
        bgsave_holds_its_starting_dataset(true);
    }

    #[test]
    fn bgsave_whole_file_holds_its_starting_dataset() {
        bgsave_holds_its_starting_dataset(false);
    }

    /// SHUTDOWN SAVE while a background save runs abandons it (the driver
    /// is told which file) and saves the dataset of now, then stops once
    /// that file is written.
    #[test]
    fn shutdown_save_abandons_a_background_save_for_the_dataset_of_now() {
        let mut node = Node::new(Config::default(), 7, NOW);
        node.hand_background_saves_to_driver(true);
        let (conn, mut file, at_start) = bgsave_then_writes(&mut node);
        let snapshot = node.take_snapshot_file().expect("a save to encode");
        let now_digest = dataset_digest(&node.ks);
        assert_ne!(now_digest, at_start);
        let mut req = Vec::new();
        crate::resp::encode_command(&mut req, &["SHUTDOWN", "SAVE"]);
        node.handle_input(NOW, Input::Received(conn, req.into()));
        let mut abandoned = Vec::new();
        let mut saved = None;
        while let Some(o) = node.poll_output() {
            match o {
                Output::AbandonFile { id } => abandoned.push(id),
                Output::WriteFile { id, data, more, .. } => {
                    assert!(!more);
                    saved = Some((id, data));
                }
                Output::Shutdown => panic!("stopped before the file was written"),
                _ => {}
            }
        }
        assert_eq!(abandoned, vec![snapshot.id]);
        let (id, data) = saved.expect("a save of the dataset of now");
        assert_ne!(id, snapshot.id);
        let loaded = rdb::decode(&data, &rdb::DecodeOptions::default()).expect("decodes");
        assert_eq!(dataset_digest(&loaded.keyspace), now_digest);
        // The abandoned file's late answer changes nothing.
        node.handle_input(
            NOW,
            Input::FileWritten {
                id: snapshot.id,
                result: Ok(()),
            },
        );
        assert!(node.poll_output().is_none());
        node.handle_input(NOW, Input::FileWritten { id, result: Ok(()) });
        let mut stopped = false;
        while let Some(o) = node.poll_output() {
            stopped |= matches!(o, Output::Shutdown);
        }
        assert!(stopped, "stops once the file is written");
        file.drain(&mut node);
    }

    /// A background save handed to the driver is encoded on another thread
    /// while the node goes on writing; the file is the dataset of BGSAVE's
    /// start, and the node never asks for ticks to encode it.
    #[test]
    fn bgsave_encoded_by_the_driver_on_another_thread_holds_its_starting_dataset() {
        fn sendable<T: Send + 'static>(_: &T) {}
        let mut node = Node::new(Config::default(), 7, NOW);
        node.hand_background_saves_to_driver(true);
        let (conn, mut file, at_start) = bgsave_then_writes(&mut node);
        node.handle_input(NOW, Input::Tick);
        file.drain(&mut node);
        assert_eq!(file.pieces, 0, "the node wrote nothing itself");
        assert!(
            node.next_deadline() > NOW,
            "no ticks for a handed-over save"
        );
        let mut snapshot = node.take_snapshot_file().expect("a save to encode");
        assert!(node.take_snapshot_file().is_none(), "handed over once");
        sendable(&snapshot);
        let (id, path) = (snapshot.id, snapshot.path.clone());
        assert_eq!(path, node.rdb_path());
        // BGSAVE while one runs is refused, as before.
        run(&mut node, conn, &[cmd(&["BGSAVE"])], &mut file);
        assert!(node.take_snapshot_file().is_none());
        let encoder = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let mut pieces = 0;
            while let Some(chunk) = snapshot.next_chunk() {
                bytes.extend_from_slice(&chunk);
                pieces += 1;
                std::thread::yield_now();
            }
            (bytes, pieces)
        });
        let mut round = 1;
        while !encoder.is_finished() {
            run(&mut node, conn, &writes(round % 500 + 1), &mut file);
            round += 1;
        }
        let (bytes, pieces) = encoder.join().expect("the encoder thread");
        assert!(pieces > 2, "{pieces} pieces");
        let loaded = rdb::decode(&bytes, &rdb::DecodeOptions::default()).expect("decodes");
        assert_eq!(dataset_digest(&loaded.keyspace), at_start);
        assert_ne!(dataset_digest(&node.ks), at_start);
        assert!(node.persist.job.is_some(), "running until written");
        node.handle_input(NOW, Input::FileWritten { id, result: Ok(()) });
        assert!(node.persist.job.is_none());
        assert_eq!(file.pieces, 0);
    }
}
