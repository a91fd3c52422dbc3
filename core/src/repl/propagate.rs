//! Command propagation: how writes become the replication stream
//! (`call` → `alsoPropagate` → `propagatePendingCommands`, spec §5).
//!
//! * Only effects travel: a command that changed nothing (its dirty count did
//!   not move) produces no bytes; a command may replace its own form
//!   (`SET k v EX 10` travels as `SET k v PXAT <abs>`) or add others.
//! * Keys deleted by expiry travel as `DEL key`, before the command that
//!   noticed them.
//! * A `SELECT <db>` precedes any op whose database differs from the last
//!   one selected in the stream (`slaveseldb`; -1 forces one).
//! * When one top-level command (EXEC included) produced more than one op,
//!   they are wrapped in `MULTI` ... `EXEC`, MULTI taking the first op's
//!   database; a transaction is never nested.

use crate::resp::encode_command;

/// One propagated operation: its database and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// Database the op applies to.
    pub db: usize,
    /// Arguments, command name first.
    pub args: Vec<Vec<u8>>,
}

/// Ops collected while a top-level command runs, and the stream's selected db.
#[derive(Debug, Clone)]
pub struct Propagation {
    pending: Vec<Op>,
    /// The command's own form replaced by the handler, if any.
    rewrite: Option<Vec<Vec<u8>>>,
    /// The handler asked that its own form not travel.
    prevent: bool,
    /// Nesting of `call` (EXEC runs commands inside a call).
    pub(crate) depth: usize,
    /// Database last selected in the stream, -1 for none (`slaveseldb`).
    pub stream_db: i64,
}

impl Default for Propagation {
    fn default() -> Self {
        Propagation {
            pending: Vec::new(),
            rewrite: None,
            prevent: false,
            depth: 0,
            stream_db: -1,
        }
    }
}

impl Propagation {
    /// Add an op (`alsoPropagate`).
    pub fn also(&mut self, db: usize, args: Vec<Vec<u8>>) {
        self.pending.push(Op { db, args });
    }

    /// Replace the running command's own form (`rewriteClientCommandVector`).
    pub fn rewrite(&mut self, args: Vec<Vec<u8>>) {
        self.rewrite = Some(args);
    }

    /// Whether the running command already chose its stream form.
    pub fn has_rewrite(&self) -> bool {
        self.rewrite.is_some()
    }

    /// Keep the running command's own form out of the stream (`preventCommandPropagation`).
    pub fn prevent(&mut self) {
        self.prevent = true;
    }

    /// Start of one command's execution: forget per-command choices.
    pub(crate) fn begin_command(&mut self) -> (Option<Vec<Vec<u8>>>, bool) {
        (self.rewrite.take(), std::mem::take(&mut self.prevent))
    }

    /// End of one command's execution: queue its own form if it changed the dataset.
    pub(crate) fn end_command(
        &mut self,
        db: usize,
        argv: impl FnOnce() -> Vec<Vec<u8>>,
        changed: bool,
        saved: (Option<Vec<Vec<u8>>>, bool),
    ) {
        let rewrite = std::mem::replace(&mut self.rewrite, saved.0);
        let prevent = std::mem::replace(&mut self.prevent, saved.1);
        if changed && !prevent {
            let args = rewrite.unwrap_or_else(argv);
            self.pending.push(Op { db, args });
        }
    }

    /// Drop the pending ops (nobody listens: no backlog).
    pub fn discard(&mut self) {
        self.pending.clear();
    }

    /// Whether ops are waiting.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Encode the pending ops as stream bytes (SELECTs, MULTI/EXEC), and forget them.
    pub fn flush(&mut self) -> Vec<u8> {
        let ops = std::mem::take(&mut self.pending);
        let mut out = Vec::new();
        if ops.is_empty() {
            return out;
        }
        let wrap = ops.len() > 1;
        if wrap {
            self.select(&mut out, ops[0].db);
            encode_command(&mut out, &[b"MULTI"]);
        }
        for op in &ops {
            self.select(&mut out, op.db);
            encode_command(&mut out, &op.args);
        }
        if wrap {
            encode_command(&mut out, &[b"EXEC"]);
        }
        out
    }

    fn select(&mut self, out: &mut Vec<u8>, db: usize) {
        if self.stream_db != db as i64 {
            encode_command(out, &[b"SELECT".to_vec(), db.to_string().into_bytes()]);
            self.stream_db = db as i64;
        }
    }
}

/// The stream form of a command whose effect depends on the moment it ran,
/// derived from the dataset right after it (`rewriteClientCommandVector` in
/// Redis's `t_string.c`, `expire.c`, `t_hash.c`): relative expiries become
/// absolute, float increments become the value they produced. `None` keeps
/// the command as the client sent it.
///
/// * `SET k v EX|PX|EXAT n`, `SETEX`, `PSETEX` → `SET k v PXAT <ms>`
/// * `EXPIRE`, `PEXPIRE`, `EXPIREAT` → `PEXPIREAT k <ms>` (`DEL k` if the time
///   was in the past and the key is gone)
/// * `GETEX k EX|PX|EXAT|PXAT n` → `PEXPIREAT k <ms>`; `GETEX k PERSIST` → `PERSIST k`
/// * `GETDEL k` → `DEL k`
/// * `INCRBYFLOAT k n` → `SET k <new value> KEEPTTL`
/// * `HINCRBYFLOAT k f n` → `HSET k f <new value>`
pub fn absolute_form(
    name: &str,
    args: &[bytes::Bytes],
    ks: &crate::db::Keyspace,
    db: usize,
) -> Option<Vec<Vec<u8>>> {
    use crate::value::Value;
    let key = args.get(1)?;
    let d = ks.db(db);
    let expire_ms = || d.expire_of(key).map(|t| t.to_string().into_bytes());
    let v = |s: &[u8]| s.to_vec();
    let has_opt = |names: &[&str]| {
        args[2..]
            .iter()
            .any(|a| names.iter().any(|n| a.eq_ignore_ascii_case(n.as_bytes())))
    };
    match name {
        "set" if args.len() > 3 && has_opt(&["ex", "px", "exat"]) => {
            let at = expire_ms()?;
            Some(vec![
                v(b"SET"),
                key.to_vec(),
                args[2].to_vec(),
                v(b"PXAT"),
                at,
            ])
        }
        "setex" | "psetex" => {
            let at = expire_ms()?;
            Some(vec![
                v(b"SET"),
                key.to_vec(),
                args.get(3)?.to_vec(),
                v(b"PXAT"),
                at,
            ])
        }
        "expire" | "pexpire" | "expireat" => match expire_ms() {
            Some(at) => Some(vec![v(b"PEXPIREAT"), key.to_vec(), at]),
            None if !d.contains(key) => Some(vec![v(b"DEL"), key.to_vec()]),
            None => None,
        },
        "getex" if has_opt(&["persist"]) => Some(vec![v(b"PERSIST"), key.to_vec()]),
        "getex" if has_opt(&["ex", "px", "exat", "pxat"]) => {
            let at = expire_ms()?;
            Some(vec![v(b"PEXPIREAT"), key.to_vec(), at])
        }
        "getdel" => Some(vec![v(b"DEL"), key.to_vec()]),
        "incrbyfloat" => match d.peek(key) {
            Some(Value::Str(s)) => Some(vec![
                v(b"SET"),
                key.to_vec(),
                s.bytes.clone(),
                v(b"KEEPTTL"),
            ]),
            _ => None,
        },
        "hincrbyfloat" => match d.peek(key) {
            Some(Value::Hash(h)) => {
                let field = args.get(2)?;
                Some(vec![
                    v(b"HSET"),
                    key.to_vec(),
                    field.to_vec(),
                    h.get(field)?.to_vec(),
                ])
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn select_then_single_op_unwrapped() {
        let mut p = Propagation::default();
        let saved = p.begin_command();
        p.end_command(0, || argv(&["set", "k1", "v"]), true, saved);
        assert_eq!(
            p.flush(),
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$2\r\nk1\r\n$1\r\nv\r\n"
        );
        let saved = p.begin_command();
        p.end_command(0, || argv(&["del", "k1"]), true, saved);
        assert_eq!(p.flush(), b"*2\r\n$3\r\ndel\r\n$2\r\nk1\r\n");
    }

    #[test]
    fn no_change_no_bytes_and_rewrite_wins() {
        let mut p = Propagation::default();
        let saved = p.begin_command();
        p.end_command(0, || argv(&["del", "nosuchkey"]), false, saved);
        assert!(p.flush().is_empty());
        let saved = p.begin_command();
        p.rewrite(argv(&["SET", "k", "v", "PXAT", "1795677761870"]));
        p.end_command(3, || argv(&["set", "k", "v", "ex", "100"]), true, saved);
        assert_eq!(
            p.flush(),
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$13\r\n1795677761870\r\n"
        );
    }

    #[test]
    fn several_ops_are_wrapped_in_multi_exec() {
        let mut p = Propagation {
            stream_db: 0,
            ..Default::default()
        };
        p.also(0, argv(&["SET", "a", "1"]));
        p.also(0, argv(&["INCR", "b"]));
        assert_eq!(
            p.flush(),
            b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n"
        );
    }

    #[test]
    fn nested_command_keeps_outer_choices() {
        let mut p = Propagation::default();
        let outer = p.begin_command();
        p.prevent(); // EXEC itself never travels
        let inner = p.begin_command();
        p.end_command(0, || argv(&["set", "a", "1"]), true, inner);
        p.end_command(0, || argv(&["EXEC"]), true, outer);
        assert_eq!(
            p.flush(),
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n"
        );
    }
}
