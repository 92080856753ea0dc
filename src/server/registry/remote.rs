//! [`Remote`]: a client of another node of the cluster, as this node's table keeps it, and
//! the reasons its departure is told with when its node stops.
//!
//! A leaf: the table (`registry`) holds these records and `clustered` changes them.

use chatd_proto::Nick;

use crate::server::cluster_link::NodeId;

/// A client of another node, as this node knows it from the stream.
pub struct Remote {
    pub nick: Nick,
    pub node: NodeId,
}

/// Why a node's clients are gone when it stopped without a word (`kill -9`, a lost network):
/// their `QUIT` reason here.
pub const NODE_LOST: &str = "node lost";
/// Their reason when it stopped cleanly.
pub const NODE_STOPPED: &str = "node stopped";
