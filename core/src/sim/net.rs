//! Simulated TCP: connections between two ends with TCP's guarantees.
//!
//! Each direction of a [`Conn`] is a FIFO of [`Packet`]s with arrival
//! times. Bytes are delivered in order and exactly once while the
//! connection is up; a cut drops what is in flight and each live end learns
//! of it on its own, possibly at different times. A [`Link`] (one per
//! ordered pair of nodes) gives latency and bandwidth, and can be blocked
//! (partition: packets wait, the connection breaks after an RTO) or held
//! (packets wait and are delivered on release).

use bytes::Bytes;
use std::collections::VecDeque;

use super::NodeId;
use crate::node::ConnId;

/// One end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// A node's connection, in one incarnation of the node.
    Node {
        /// The node.
        node: NodeId,
        /// The node's id for the connection.
        conn: ConnId,
        /// The incarnation (bumped by every crash).
        inc: u32,
    },
    /// A dial that has not reached its target yet.
    Dialing {
        /// The target node.
        node: NodeId,
    },
    /// A simulated client.
    Client(usize),
}

impl End {
    /// The node behind this end, if any.
    pub fn node(&self) -> Option<NodeId> {
        match *self {
            End::Node { node, .. } | End::Dialing { node } => Some(node),
            End::Client(_) => None,
        }
    }
}

/// What travels in one direction.
#[derive(Debug, Clone)]
pub enum Packet {
    /// The dialed side accepted: the dialer learns it is connected.
    SynAck,
    /// Stream bytes.
    Data(Bytes),
    /// The sender closed its end.
    Fin,
}

/// A simulated TCP connection; direction `d` goes from `ends[d]` to `ends[1 - d]`.
#[derive(Debug)]
pub struct Conn {
    /// The two ends; `ends[0]` opened the connection.
    pub ends: [End; 2],
    /// Whether each end is still open (has not closed nor been told of a close).
    pub open: [bool; 2],
    /// Packets in flight per direction, with arrival times.
    pub queue: [VecDeque<(u64, Packet)>; 2],
    /// Arrival time of the last packet per direction (FIFO).
    pub last_arrival: [u64; 2],
    /// Cut: nothing more is delivered.
    pub broken: bool,
    /// Data bytes in flight per direction.
    pub queued: [u64; 2],
    /// Unsent bytes (beyond the TCP window) last reported to the sender.
    pub reported: [u64; 2],
}

impl Conn {
    /// A connection from `a` to `b`.
    pub fn new(a: End, b: End) -> Self {
        Conn {
            ends: [a, b],
            open: [true, true],
            queue: [VecDeque::new(), VecDeque::new()],
            last_arrival: [0, 0],
            broken: false,
            queued: [0, 0],
            reported: [0, 0],
        }
    }

    /// Both nodes of a node-to-node connection.
    pub fn nodes(&self) -> Option<(NodeId, NodeId)> {
        Some((self.ends[0].node()?, self.ends[1].node()?))
    }
}

/// The path from one node to another.
#[derive(Debug, Clone)]
pub struct Link {
    /// One-way latency (ms).
    pub latency: u64,
    /// Bytes per ms.
    pub bandwidth: u64,
    /// Partitioned: nothing passes, new connections fail.
    pub blocked: bool,
    /// Held: packets wait and are delivered on release.
    pub held: bool,
}
