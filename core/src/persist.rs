//! Persistence decisions: SAVE, BGSAVE, save points, loading at startup,
//! and the replication state an RDB carries across restarts.
//!
//! The node never touches a file. A save encodes the dataset as it is at
//! that instant (so the file holds exactly the dataset when the save
//! started) and asks the driver to write it atomically with
//! [`Output::WriteFile`] (temp file, fsync, rename); the driver answers
//! [`Input::FileWritten`]. A load at startup arrives as [`Input::LoadChunk`]s
//! and [`Input::LoadDone`]; meanwhile commands without the `loading` flag
//! answer `-LOADING Redis is loading the dataset in memory`, and a failed
//! load leaves the (empty) dataset untouched.
//!
//! Replication state in the file (spec §4.4): every RDB written by a master
//! with a backlog, or by a replica, carries `repl-id`, `repl-offset` and
//! `repl-stream-db`. Loaded by a node configured as a replica, they become
//! its cached master (so it asks `PSYNC <id> <offset+1>`); loaded by a master,
//! the id becomes `replid2` valid up to `offset + 1` and a backlog starts at
//! that offset, so its old replicas can continue.

use crate::node::{Event, Input, Node, Output};
use crate::rdb;
use bytes::Bytes;

/// A save being written by the driver.
#[derive(Debug, Clone)]
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
    /// Bytes loaded so far.
    pub loading_bytes: u64,
    /// Keys loaded at startup (INFO).
    pub loaded_keys: u64,
    /// A BGSAVE was requested while one ran (`BGSAVE SCHEDULE`).
    pub scheduled: bool,
}

impl Node {
    /// Whether a startup load is running.
    pub fn is_loading(&self) -> bool {
        self.persist.loading.is_some()
    }

    /// The RDB bytes of the dataset now, with replication info when there is any.
    pub(crate) fn encode_rdb(&self) -> Vec<u8> {
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
        let opts = rdb::EncodeOptions {
            compression: self.config.rdbcompression,
            checksum: self.config.rdbchecksum,
            ctime_secs: self.now / 1000,
            repl,
            list_max_listpack_size: self.config.encoding.list_max_listpack_size,
            ..Default::default()
        };
        rdb::encode_to_vec(&self.ks, opts)
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
        let data = self.encode_rdb();
        self.queue_save(data, background, waiting_client);
        Ok(())
    }

    /// Hand an encoded file to the driver as the save in progress.
    fn queue_save(
        &mut self,
        data: Vec<u8>,
        background: bool,
        waiting_client: Option<crate::node::ConnId>,
    ) {
        self.persist.next_id += 1;
        let id = self.persist.next_id;
        self.persist.job = Some(SaveJob {
            id,
            dirty_at_start: self.dirty,
            waiting_client,
            background,
            started: self.now,
        });
        let path = self.rdb_path();
        self.log(
            "notice",
            if background {
                format!("Background saving started ({} bytes to {path})", data.len())
            } else {
                format!("DB saving to {path} ({} bytes)", data.len())
            },
        );
        self.outputs.push_back(Output::WriteFile {
            id,
            path,
            data: Bytes::from(data),
        });
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
        if self.persist.job.is_some() {
            // A save is running; stop when it is written.
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
