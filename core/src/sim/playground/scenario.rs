//! Scenario presets: each a deterministic starting deployment plus a script
//! of timed actions, chosen so that one PSYNC verdict of Redis's rule
//! (spec §2) shows up: a cold replica's FULLRESYNC, a CONTINUE after a
//! short blip, a FULLRESYNC once the outage outgrew the backlog, a restart
//! that keeps its offset through the RDB's `repl-id`/`repl-offset` aux
//! fields, a failover that keeps history through `replid2`, a chain of
//! replicas, and WAIT with `min-replicas-to-write`.
//!
//! The expected verdict is part of the preset (`expect`), and the tests
//! check that the real core reaches it for every preset.

use super::super::NodeId;

/// One line of a guided tour, shown when the simulated clock reaches `at_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TourStep {
    /// Simulated time (ms).
    pub at_ms: u64,
    /// What to look at.
    pub text: &'static str,
}

/// The verdict a preset is built to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Expect {
    /// `CONTINUE` or `FULLRESYNC`.
    pub verdict: &'static str,
    /// Text found in the master's reason.
    pub reason_contains: &'static str,
    /// The node that decides (the master asked).
    pub master: NodeId,
    /// The replica that asks.
    pub replica: NodeId,
    /// By this simulated time the decision has been made (and is the last
    /// one `master` made for `replica`).
    pub by_ms: u64,
}

/// How a preset's deployment starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup {
    pub nodes: usize,
    /// Nodes that start as masters of their own (no `replicaof`).
    pub standalone: &'static [NodeId],
    /// `(replica, upstream)` for replicas of a replica.
    pub chain: &'static [(NodeId, NodeId)],
    /// Config applied to every node.
    pub config: &'static [(&'static str, &'static str)],
    /// Link latency range (ms).
    pub latency: (u64, u64),
    /// Link bandwidth (bytes per ms).
    pub bandwidth: u64,
    /// Keys written on node 0 before the start (`preload` keys of `value_len` bytes).
    pub preload: u64,
    /// Client writes per second.
    pub rate: u64,
    /// Length of the values the workload writes.
    pub value_len: usize,
}

/// A preset.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Scenario {
    /// Stable id (`link-blip`).
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// One paragraph on what happens and why.
    pub summary: &'static str,
    /// The verdict to look for.
    pub expect: Expect,
    /// The guided tour.
    pub tour: &'static [TourStep],
    /// The scripted actions, `(time ms, action text)`.
    pub script: &'static [(u64, &'static str)],
    #[cfg_attr(feature = "serde", serde(skip))]
    pub(crate) setup: Setup,
}

const BASE: &[(&str, &str)] = &[
    ("repl-diskless-sync-delay", "0"),
    ("repl-ping-replica-period", "2"),
];

const DEFAULT_SETUP: Setup = Setup {
    nodes: 3,
    standalone: &[],
    chain: &[],
    config: BASE,
    latency: (8, 20),
    bandwidth: 2_000,
    preload: 20,
    rate: 20,
    value_len: 8,
};

const fn tour(steps: &'static [TourStep]) -> &'static [TourStep] {
    steps
}

macro_rules! step {
    ($at:expr, $text:expr) => {
        TourStep {
            at_ms: $at,
            text: $text,
        }
    };
}

/// Every preset, in the order a newcomer should try them.
pub static SCENARIOS: &[Scenario] = &[
    Scenario {
        id: "cold-start",
        title: "Cold start: a full sync",
        summary: "Three servers start on their own. n1, then n2, are told REPLICAOF n0. Each offers n0 its own history (its replid and offset + 1); n0 has never heard of that replid, so it answers +FULLRESYNC with its own replid and offset and streams an RDB snapshot, then the commands that follow it.",
        expect: Expect {
            verdict: "FULLRESYNC",
            reason_contains: "unknown",
            master: 0,
            replica: 2,
            by_ms: 2_500,
        },
        tour: tour(&[
            step!(0, "Three independent masters: each has its own random replid and offset 0. n0 takes writes from a client."),
            step!(300, "REPLICAOF: n1 connects to n0, says PING, REPLCONF listening-port and capa, then PSYNC with its own replid and offset + 1."),
            step!(700, "n0 does not know that replid: FULLRESYNC. The decision card shows what was asked and what n0 had."),
            step!(1200, "The RDB snapshot travelled (diskless: $EOF framing); commands written meanwhile followed it in the stream."),
            step!(2500, "Both replicas' links are up: they now have n0's replid and offset, and their digests match n0's at the same offset."),
        ]),
        script: &[(300, "replicaof 1 0"), (900, "replicaof 2 0")],
        setup: Setup {
            standalone: &[1, 2],
            ..DEFAULT_SETUP
        },
    },
    Scenario {
        id: "writes-during-sync",
        title: "Writes during a full sync",
        summary: "n0 holds a few thousand keys and the link is slow, so the RDB takes a while to travel. Writes keep arriving at n0 meanwhile: they enter the replication stream after the snapshot's offset and wait in n1's output buffer (diskless sync holds them until n1's first ACK), then are streamed, so n1 ends with exactly n0's data.",
        expect: Expect {
            verdict: "FULLRESYNC",
            reason_contains: "unknown",
            master: 0,
            replica: 1,
            by_ms: 1_000,
        },
        tour: tour(&[
            step!(0, "n0 has 1,500 keys; n1 runs on its own. The link carries 40 bytes per ms."),
            step!(800, "REPLICAOF: n1's PSYNC got FULLRESYNC; the snapshot is taken at one exact offset."),
            step!(1000, "RDB bytes in flight: watch the progress on the link and on n1. Writes to n0 keep coming; their stream bytes wait for n1."),
            step!(2500, "The transfer ends; n1 ACKs, and the buffered commands are streamed. n1's offset catches up with n0's."),
        ]),
        script: &[(500, "replicaof 1 0")],
        setup: Setup {
            nodes: 2,
            standalone: &[1],
            bandwidth: 40,
            preload: 1_500,
            rate: 50,
            ..DEFAULT_SETUP
        },
    },
    Scenario {
        id: "link-blip",
        title: "A link blip, then CONTINUE",
        summary: "The link between n0 and n1 is cut for a second and a half while writes go on. n1 keeps its replid and offset; when the link heals it asks PSYNC <replid> <offset + 1>, and because n0's backlog still holds that byte, n0 answers +CONTINUE and sends only the missing bytes.",
        expect: Expect {
            verdict: "CONTINUE",
            reason_contains: "within the backlog",
            master: 0,
            replica: 1,
            by_ms: 8_000,
        },
        tour: tour(&[
            step!(0, "A master and two replicas, synced, with a trickle of writes."),
            step!(2000, "The n0–n1 link is cut. Each end notices on its own; n1 retries every second and fails."),
            step!(3500, "The link heals. n1 retries once a second; when it gets through it asks to continue from its offset + 1."),
            step!(8000, "CONTINUE: the offset was inside n0's backlog window, so only the missing bytes travelled."),
        ]),
        script: &[(2000, "cut 0 1"), (3500, "heal 0 1")],
        setup: DEFAULT_SETUP,
    },
    Scenario {
        id: "backlog-overflow",
        title: "A long outage overflows the backlog",
        summary: "The backlog is the minimum 16 KB and n0 takes a few hundred writes a second. While n1 is cut off, more than 16 KB of stream is written, so the byte n1 needs next has left the backlog: n0 must answer FULLRESYNC and send a whole snapshot again.",
        expect: Expect {
            verdict: "FULLRESYNC",
            reason_contains: "fell out of the backlog",
            master: 0,
            replica: 1,
            by_ms: 9_000,
        },
        tour: tour(&[
            step!(0, "repl-backlog-size is 16 KB: watch n0's backlog window slide along the offset line."),
            step!(1500, "n1 is cut off. n0 keeps writing: n1's offset mark falls behind the window's first byte."),
            step!(4500, "The link heals; n1 asks PSYNC from its old offset."),
            step!(9000, "FULLRESYNC: the offset fell out of the backlog. A snapshot travelled again."),
        ]),
        script: &[(1500, "cut 0 1"), (4500, "heal 0 1")],
        setup: Setup {
            config: &[
                ("repl-diskless-sync-delay", "0"),
                ("repl-ping-replica-period", "2"),
                ("repl-backlog-size", "16kb"),
            ],
            rate: 300,
            value_len: 40,
            ..DEFAULT_SETUP
        },
    },
    Scenario {
        id: "replica-restart",
        title: "A replica restarts and keeps its offset",
        summary: "n1 saves an RDB (BGSAVE); a replica's RDB carries its master's replid and its offset in the repl-id and repl-offset aux fields. n1 then restarts: it loads the file, knows where it stood, and asks PSYNC from there, so n0 answers CONTINUE with only the bytes written since the save.",
        expect: Expect {
            verdict: "CONTINUE",
            reason_contains: "within the backlog",
            master: 0,
            replica: 1,
            by_ms: 5_000,
        },
        tour: tour(&[
            step!(0, "A master and two replicas, synced."),
            step!(2000, "BGSAVE on n1: its disk now holds the data, n0's replid and n1's offset."),
            step!(2500, "n1 restarts from that file: memory is rebuilt from the RDB."),
            step!(5000, "PSYNC <replid> <saved offset + 1>: still in n0's backlog, so CONTINUE."),
        ]),
        script: &[(2000, "save 1"), (2500, "restart 1")],
        setup: DEFAULT_SETUP,
    },
    Scenario {
        id: "failover",
        title: "Failover keeps the history (replid2)",
        summary: "n0 crashes and n1 is promoted. Promotion moves n1's replid to replid2, valid up to its offset + 1, and starts a new replid. n2 then asks n1 to continue n0's old history: since that id is n1's replid2 and the offset is within the limit, n1 answers CONTINUE instead of a full sync.",
        expect: Expect {
            verdict: "CONTINUE",
            reason_contains: "within the backlog",
            master: 1,
            replica: 2,
            by_ms: 5_000,
        },
        tour: tour(&[
            step!(0, "n0 is the master; n1 and n2 replicate it."),
            step!(2000, "n0 crashes."),
            step!(2500, "n1 is promoted (REPLICAOF NO ONE): new replid, old one kept as replid2 up to its offset + 1. n2 is pointed at n1."),
            step!(5000, "n2 asked PSYNC with n0's replid: it is n1's replid2, so CONTINUE."),
        ]),
        script: &[(2000, "crash 0"), (2500, "promote 1")],
        setup: DEFAULT_SETUP,
    },
    Scenario {
        id: "chained",
        title: "Chained replicas",
        summary: "n2 replicates n1, which replicates n0: n1 passes on exactly the stream it applies, so its backlog, replid and offsets match n0's. When the n1–n2 link blips, n2 asks n1 (not n0) to continue, and n1 answers CONTINUE from its own backlog.",
        expect: Expect {
            verdict: "CONTINUE",
            reason_contains: "within the backlog",
            master: 1,
            replica: 2,
            by_ms: 10_000,
        },
        tour: tour(&[
            step!(0, "n0 → n1 → n2: n2's master is a replica."),
            step!(1500, "Writes reach n0, flow to n1 and on to n2 unchanged; all three share one replid and offset."),
            step!(4000, "The n1–n2 link is cut."),
            step!(5500, "It heals; n2 retries once a second."),
            step!(10_000, "n2 asked n1 to continue; n1's own backlog covered the offset: CONTINUE."),
        ]),
        script: &[(4000, "cut 1 2"), (5500, "heal 1 2")],
        setup: Setup {
            chain: &[(2, 1)],
            ..DEFAULT_SETUP
        },
    },
    Scenario {
        id: "wait",
        title: "WAIT and min-replicas",
        summary: "WAIT numreplicas timeout blocks a client until that many replicas acknowledged its writes (the master sends REPLCONF GETACK, replicas answer ACK). With n2 cut off, WAIT 2 returns 1 after its timeout, and with min-replicas-to-write 2 the master refuses writes with -NOREPLICAS until n2 is back.",
        expect: Expect {
            verdict: "CONTINUE",
            reason_contains: "within the backlog",
            master: 0,
            replica: 2,
            by_ms: 9_000,
        },
        tour: tour(&[
            step!(1700, "SET then WAIT 2 1000 on n0: GETACK goes out, two ACKs come back, WAIT answers 2."),
            step!(2500, "The n0–n2 link is cut."),
            step!(4600, "WAIT 2 500 timed out with 1: only n1 acknowledged."),
            step!(4800, "min-replicas-to-write 2: n0 refuses writes (-NOREPLICAS) while only one replica is good."),
            step!(5000, "The link heals; n2 retries once a second."),
            step!(9000, "n2 continued from the backlog (CONTINUE), and writes are accepted again."),
        ]),
        script: &[
            (1500, "command 0 SET greeting hello"),
            (1600, "command 0 WAIT 2 1000"),
            (2500, "cut 0 2"),
            (4000, "command 0 WAIT 2 500"),
            (4600, "command 0 CONFIG SET min-replicas-to-write 2"),
            (4700, "command 0 SET greeting again"),
            (5000, "heal 0 2"),
            (7500, "command 0 SET greeting back"),
        ],
        setup: DEFAULT_SETUP,
    },
];

/// The preset with this id.
pub fn find(id: &str) -> Result<&'static Scenario, String> {
    SCENARIOS.iter().find(|s| s.id == id).ok_or_else(|| {
        format!(
            "unknown scenario '{id}'; scenarios: {}",
            SCENARIOS
                .iter()
                .map(|s| s.id)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}
