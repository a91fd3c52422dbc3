//! Playground actions: what a person can do to the simulated deployment,
//! parsed from one line of text and printed back in the same canonical form
//! (so an action log written as text replays exactly).
//!
//! Verbs: `crash N`, `restart N`, `restart N wipe`, `promote N`,
//! `replicaof N M`, `replicaof N no-one`, `cut A B`, `heal A B`,
//! `cut-oneway A B`, `hold A B`, `release A B`, `slow A B MS`,
//! `add-replica`, `remove N`, `backlog BYTES`, `writes PER_SEC`, `save N`,
//! and `command N LINE` (what the console sends). A node is `N` or `nN`.

use std::fmt;

use super::super::NodeId;

/// One action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Crash a node: its memory is lost, its disk stays.
    Crash(NodeId),
    /// Start a node again, from its disk (`wipe: false`) or with an empty disk.
    Restart {
        /// The node.
        node: NodeId,
        /// Wipe the disk first.
        wipe: bool,
    },
    /// `REPLICAOF NO ONE` on the node; every other node follows it (failover).
    Promote(NodeId),
    /// `REPLICAOF` another node, or `NO ONE` (`None`).
    ReplicaOf(NodeId, Option<NodeId>),
    /// Partition two nodes both ways.
    Cut(NodeId, NodeId),
    /// Heal both ways.
    Heal(NodeId, NodeId),
    /// Drop what goes from the first to the second.
    CutOneway(NodeId, NodeId),
    /// Hold messages between two nodes.
    Hold(NodeId, NodeId),
    /// Deliver what was held.
    Release(NodeId, NodeId),
    /// Set the one-way latency between two nodes (ms).
    Slow(NodeId, NodeId, u64),
    /// Start one more node as a replica of the master.
    AddReplica,
    /// Shut a node down for good.
    Remove(NodeId),
    /// `CONFIG SET repl-backlog-size` on every node.
    Backlog(u64),
    /// Client writes per second (0 stops the workload).
    Writes(u64),
    /// `BGSAVE` on a node.
    Save(NodeId),
    /// A console line sent to a node.
    Command(NodeId, String),
}

/// The verbs, for error messages.
pub const VERBS: &str = "crash N | restart N [wipe] | promote N | replicaof N M | replicaof N no-one | cut A B | heal A B | cut-oneway A B | hold A B | release A B | slow A B MS | add-replica | remove N | backlog BYTES | writes PER_SEC | save N | command N LINE";

fn node(word: Option<&str>, verb: &str) -> Result<NodeId, String> {
    let w = word.ok_or_else(|| format!("'{verb}' needs a node number"))?;
    let digits = w.strip_prefix('n').unwrap_or(w);
    digits
        .parse()
        .map_err(|_| format!("'{w}' is not a node (use a number like 1 or n1)"))
}

fn number(word: Option<&str>, what: &str) -> Result<u64, String> {
    let w = word.ok_or_else(|| format!("missing {what}"))?;
    w.parse()
        .map_err(|_| format!("'{w}' is not a valid {what} (a whole number)"))
}

fn bytes(word: Option<&str>) -> Result<u64, String> {
    let w = word.ok_or_else(|| "missing backlog size in bytes".to_string())?;
    crate::config::parse_memory(w)
        .ok_or_else(|| format!("'{w}' is not a size (like 16384 or 16kb)"))
}

impl std::str::FromStr for Action {
    type Err = String;

    fn from_str(line: &str) -> Result<Action, String> {
        let line = line.trim();
        let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let verb_lc = verb.to_ascii_lowercase();
        if verb_lc == "command" {
            let rest = rest.trim_start();
            let (n, cmd) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let n = node(Some(n).filter(|s| !s.is_empty()), "command")?;
            let cmd = cmd.trim();
            if cmd.is_empty() {
                return Err("'command' needs a node and a command line".into());
            }
            return Ok(Action::Command(n, cmd.to_string()));
        }
        let mut w = rest.split_whitespace();
        let a = match verb_lc.as_str() {
            "crash" => Action::Crash(node(w.next(), verb)?),
            "restart" => {
                let n = node(w.next(), verb)?;
                let wipe = match w.next() {
                    None => false,
                    Some(x) if x.eq_ignore_ascii_case("wipe") => true,
                    Some(x) => {
                        return Err(format!("'restart N' takes only 'wipe' after it, not '{x}'"))
                    }
                };
                Action::Restart { node: n, wipe }
            }
            "promote" => Action::Promote(node(w.next(), verb)?),
            "replicaof" => {
                let n = node(w.next(), verb)?;
                match w.next() {
                    Some(x) if x.eq_ignore_ascii_case("no-one") => Action::ReplicaOf(n, None),
                    Some(x) if x.eq_ignore_ascii_case("no") => match w.next() {
                        Some(y) if y.eq_ignore_ascii_case("one") => Action::ReplicaOf(n, None),
                        _ => return Err("use 'replicaof N no-one'".into()),
                    },
                    x => Action::ReplicaOf(n, Some(node(x, verb)?)),
                }
            }
            "cut" | "heal" | "cut-oneway" | "hold" | "release" | "slow" => {
                let a = node(w.next(), verb)?;
                let b = node(w.next(), verb)?;
                if a == b {
                    return Err(format!("'{verb}' needs two different nodes"));
                }
                match verb_lc.as_str() {
                    "cut" => Action::Cut(a, b),
                    "heal" => Action::Heal(a, b),
                    "cut-oneway" => Action::CutOneway(a, b),
                    "hold" => Action::Hold(a, b),
                    "release" => Action::Release(a, b),
                    _ => Action::Slow(a, b, number(w.next(), "latency in ms")?),
                }
            }
            "add-replica" => Action::AddReplica,
            "remove" => Action::Remove(node(w.next(), verb)?),
            "backlog" => Action::Backlog(bytes(w.next())?),
            "writes" => Action::Writes(number(w.next(), "rate in writes per second")?),
            "save" => Action::Save(node(w.next(), verb)?),
            "" => return Err(format!("empty action; verbs: {VERBS}")),
            _ => return Err(format!("unknown action '{verb}'; verbs: {VERBS}")),
        };
        if let Some(extra) = w.next() {
            return Err(format!("unexpected '{extra}' after '{a}'"));
        }
        Ok(a)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Crash(n) => write!(f, "crash {n}"),
            Action::Restart { node, wipe } => {
                write!(f, "restart {node}{}", if *wipe { " wipe" } else { "" })
            }
            Action::Promote(n) => write!(f, "promote {n}"),
            Action::ReplicaOf(n, Some(m)) => write!(f, "replicaof {n} {m}"),
            Action::ReplicaOf(n, None) => write!(f, "replicaof {n} no-one"),
            Action::Cut(a, b) => write!(f, "cut {a} {b}"),
            Action::Heal(a, b) => write!(f, "heal {a} {b}"),
            Action::CutOneway(a, b) => write!(f, "cut-oneway {a} {b}"),
            Action::Hold(a, b) => write!(f, "hold {a} {b}"),
            Action::Release(a, b) => write!(f, "release {a} {b}"),
            Action::Slow(a, b, ms) => write!(f, "slow {a} {b} {ms}"),
            Action::AddReplica => write!(f, "add-replica"),
            Action::Remove(n) => write!(f, "remove {n}"),
            Action::Backlog(b) => write!(f, "backlog {b}"),
            Action::Writes(r) => write!(f, "writes {r}"),
            Action::Save(n) => write!(f, "save {n}"),
            Action::Command(n, line) => write!(f, "command {n} {line}"),
        }
    }
}

impl Action {
    /// The nodes the action names.
    pub fn nodes(&self) -> Vec<NodeId> {
        match self {
            Action::Crash(n)
            | Action::Restart { node: n, .. }
            | Action::Promote(n)
            | Action::ReplicaOf(n, None)
            | Action::Remove(n)
            | Action::Save(n)
            | Action::Command(n, _) => vec![*n],
            Action::ReplicaOf(a, Some(b))
            | Action::Cut(a, b)
            | Action::Heal(a, b)
            | Action::CutOneway(a, b)
            | Action::Hold(a, b)
            | Action::Release(a, b)
            | Action::Slow(a, b, _) => vec![*a, *b],
            Action::AddReplica | Action::Backlog(_) | Action::Writes(_) => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        for line in [
            "crash 1",
            "restart 2",
            "restart 2 wipe",
            "promote 1",
            "replicaof 2 1",
            "replicaof 1 no-one",
            "cut 0 1",
            "heal 0 1",
            "cut-oneway 1 0",
            "hold 0 2",
            "release 0 2",
            "slow 0 1 300",
            "add-replica",
            "remove 3",
            "backlog 16384",
            "writes 0",
            "save 1",
            "command 0 SET a \"x y\"",
        ] {
            let a: Action = line.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(a.to_string(), line);
        }
        assert_eq!("CRASH n1".parse::<Action>(), Ok(Action::Crash(1)));
        assert_eq!(
            "replicaof 1 no one".parse::<Action>(),
            Ok(Action::ReplicaOf(1, None))
        );
        assert_eq!("backlog 16kb".parse::<Action>(), Ok(Action::Backlog(16384)));
    }

    #[test]
    fn bad_actions_are_errors() {
        for (line, want) in [
            ("", "empty action"),
            ("explode 1", "unknown action 'explode'"),
            ("crash", "needs a node"),
            ("crash x", "'x' is not a node"),
            ("cut 1 1", "two different nodes"),
            ("slow 0 1", "missing latency"),
            ("writes -5", "not a valid rate"),
            ("backlog lots", "not a size"),
            ("crash 1 2", "unexpected '2'"),
            ("restart 1 now", "only 'wipe'"),
            ("command 0", "needs a node and a command line"),
            ("replicaof 1 no", "no-one"),
        ] {
            let e = line.parse::<Action>().expect_err(line);
            assert!(e.contains(want), "{line}: {e}");
        }
    }
}
