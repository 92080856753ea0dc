//! The chat core's end of the cluster (`--cluster`, issue 19): what the registry and the
//! sessions hand to the nodes' shared engine, never waiting for it.
//!
//! In scope: the requests a worker hands over with a `try_send` (a chat line for the stream,
//! a presence change, a nick to release, an errand whose answer queues the connection's next
//! turn) and their answers. Out of scope: carrying them out (`cluster`, on its own runtime),
//! and what a line means (`session`, `registry`).
//!
//! A leaf: the registry, the sessions and the turns use it, and `cluster`, which uses the
//! registry, implements the other end, so no module imports one that imports it.

use std::fmt;
use std::sync::Arc;

use chatd_proto::{Nick, Reply, Room};

use crate::server::conn_id::ConnId;
use crate::server::outbox::Outbox;

/// Requests waiting for the cluster's runtime: a burst of lines from every worker at once
/// fits, and a full channel refuses a line (`UNAVAILABLE`) rather than blocking a worker.
pub const REQUESTS: usize = 65_536;

/// One node of a cluster: 16 hex digits drawn at start, so a restarted node is a new one
/// and nothing of a dead run's is taken for its own.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NodeId(Arc<str>);

impl NodeId {
    /// A node id from its text; `None` unless 1 to 32 hex digits (what a peer sent).
    pub fn parse(text: &str) -> Option<NodeId> {
        let valid = (1..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| NodeId(Arc::from(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {}", self.0)
    }
}

/// A client of some node: the node, and the connection there. A room's member across the
/// cluster is one of these, which no rename changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub node: NodeId,
    pub conn: ConnId,
}

/// A room as a node knows it, for a node that starts into a running cluster; a registered
/// room's, without members, is also what the cluster's rooms bucket keeps of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomImage {
    pub name: Room,
    /// The stream's sequence of the `JOIN` that made it: its lines are the ones after.
    pub since: u64,
    /// The owner account's nick, for a registered room.
    pub registered: Option<Nick>,
    pub private: bool,
    pub key: Option<String>,
    /// The setter and the text.
    pub topic: Option<(Nick, String)>,
    /// The members in the order they joined (the first owns the room), with their nicks.
    pub members: Vec<(Origin, Nick)>,
    pub invited: Vec<Origin>,
}

/// The conversation a chat line belongs to on the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conversation {
    /// `ALL`, `ME *`.
    Lobby,
    /// `MSG <nick>`, `ME <nick>`: for whoever holds that nick, on whichever node.
    Direct(Nick),
    /// A room's `FILE` line (its other lines travel as the commands that make them).
    Room(Room),
}

/// A change of the lobby's presence made on this node, for the other nodes to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Joined(Nick),
    Renamed {
        old: Nick,
        new: Nick,
    },
    Left {
        nick: Nick,
        reason: Option<String>,
    },
    /// `AWAY <text>`, or `AWAY` alone (`text` none): nobody is told, but a direct line to the
    /// client then tells its sender, on every node.
    Away {
        nick: Nick,
        text: Option<String>,
    },
}

impl Presence {
    /// The announcement local clients got for it (`JOIN`, `NICK`, `QUIT`); none for `AWAY`.
    pub fn announcement(&self) -> Option<Reply> {
        Some(match self {
            Presence::Joined(nick) => Reply::Join(nick.clone()),
            Presence::Renamed { old, new } => Reply::NickChanged {
                old: old.clone(),
                new: new.clone(),
            },
            Presence::Left { nick, reason } => Reply::Quit {
                nick: nick.clone(),
                reason: reason.clone(),
            },
            Presence::Away { .. } => return None,
        })
    }
}

/// Work a connection waits for, reading nothing meanwhile: its answer queues the
/// connection's next turn, which goes on with the session ([`Answer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Errand {
    /// `NICK`: claim the nick across the cluster (an atomic create) for connection `conn`.
    Claim { nick: Nick, conn: ConnId },
    /// `LOGIN`: claim the account's nick for connection `conn`; a client of another node
    /// that holds it is ended first, as on one server (its node is asked, and the claim made
    /// once it let the nick go).
    TakeOver { nick: Nick, conn: ConnId },
    /// `PING` after lines went to the stream: answer once every line before it is stored
    /// and this node has queued it to its own recipients.
    Barrier,
    /// A direct line to a nick this node has not heard of: whether a live client of any
    /// node holds it (its registration may still be on its way here).
    Lookup { nick: Nick },
}

/// What an [`Errand`] came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The cluster records this connection as the nick's holder.
    Claimed,
    /// A live holder elsewhere has it.
    Taken,
    /// Nobody holds it.
    Free,
    /// The barrier passed: stored, and queued here.
    Passed,
    /// The cluster could not be reached in time: nothing was claimed.
    Unreachable,
}

/// Called with an errand's answer, on the cluster's runtime.
pub type Done = Box<dyn FnOnce(Answer) + Send>;

pub enum Request {
    /// A chat line (`reply`, as a client without capabilities gets it, or an action) from
    /// connection `from` of this node, whose `outbox` hears if the stream refused it.
    Line {
        conversation: Conversation,
        reply: Reply,
        from: ConnId,
        outbox: Outbox,
    },
    /// Connection `conn` of this node registered, renamed or left.
    Presence {
        conn: ConnId,
        presence: Presence,
    },
    /// A room command (`JOIN`, `PART`, `TOPIC`, `KEY`, `PRIVATE`, `INVITE`, `MSG #room`,
    /// `ME #room`) of connection `from`, called `nick`, as the client's line spells it: every
    /// node carries it out in the stream's order, so each comes to the same decision.
    /// `invitee` is the client an `INVITE` names, as this node found it. `outbox` hears if
    /// the stream refused it.
    Room {
        nick: Nick,
        command: String,
        invitee: Option<Origin>,
        from: ConnId,
        outbox: Outbox,
    },
    /// Connection `conn` of this node no longer holds `nick`.
    Release {
        nick: Nick,
        conn: ConnId,
    },
    Errand {
        errand: Errand,
        done: Done,
    },
}

/// What a refused request says: the cluster's runtime is gone or behind by [`REQUESTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

/// The handle the core holds: cheap to clone, and every call returns at once.
#[derive(Clone)]
pub struct ClusterLink {
    node: NodeId,
    requests: tokio::sync::mpsc::Sender<Request>,
}

impl ClusterLink {
    pub fn new(node: NodeId, requests: tokio::sync::mpsc::Sender<Request>) -> ClusterLink {
        ClusterLink { node, requests }
    }

    /// This node.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// Whether over half of [`REQUESTS`] wait for the runtime: a sender then waits for the
    /// cluster to catch up before it reads more (`session`), rather than see its lines
    /// refused once the channel is full.
    pub fn is_congested(&self) -> bool {
        self.requests.capacity() < REQUESTS / 2
    }

    /// Hands `request` over without waiting.
    pub fn send(&self, request: Request) -> Result<(), Refused> {
        self.requests.try_send(request).map_err(|_| Refused)
    }

    /// Hands `errand` over; `done` gets its answer, or [`Answer::Unreachable`] at once when
    /// it could not be handed over.
    pub fn submit(&self, errand: Errand, done: Done) {
        if let Err(refused) = self.requests.try_send(Request::Errand { errand, done }) {
            let request = match refused {
                tokio::sync::mpsc::error::TrySendError::Full(request)
                | tokio::sync::mpsc::error::TrySendError::Closed(request) => request,
            };
            if let Request::Errand { done, .. } = request {
                done(Answer::Unreachable);
            }
        }
    }
}
