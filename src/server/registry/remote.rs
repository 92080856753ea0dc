//! [`Remote`]: a client of another node of the cluster, as this node's table keeps it, the
//! ids the rooms know such clients by ([`RemoteIds`]), and the reasons its departure is told
//! with when its node stops.
//!
//! A leaf: the table (`registry`) holds these records and `clustered` changes them.

use std::collections::{HashMap, HashSet};

use chatd_proto::Nick;

use crate::server::cluster_link::{NodeId, Origin};
use crate::server::conn_id::ConnId;

/// A client of another node, as this node knows it from the stream.
pub struct Remote {
    pub nick: Nick,
    pub node: NodeId,
    /// Its connection on its node.
    pub conn: ConnId,
    /// Its `AWAY` text, told to whoever sends it a direct line.
    pub away: Option<String>,
}

/// Why a node's clients are gone when it stopped without a word (`kill -9`, a lost network):
/// their `QUIT` reason here.
pub const NODE_LOST: &str = "node lost";
/// Their reason when it stopped cleanly.
pub const NODE_STOPPED: &str = "node stopped";

/// The first id this node gives another node's client: far above any connection of its own
/// (the acceptor counts those up from 1), so the rooms can know both kinds by one number.
const FIRST_REMOTE_ID: ConnId = 1 << 62;

/// The ids this node knows other nodes' clients by in its rooms (`--cluster`): each client,
/// by node and connection there, which no rename changes, has one for as long as it is
/// connected.
pub struct RemoteIds {
    ids: HashMap<Origin, ConnId>,
    origins: HashMap<ConnId, Origin>,
    next: ConnId,
}

impl Default for RemoteIds {
    fn default() -> RemoteIds {
        RemoteIds {
            ids: HashMap::new(),
            origins: HashMap::new(),
            next: FIRST_REMOTE_ID,
        }
    }
}

impl RemoteIds {
    /// The id of `client`, if it has one here.
    pub fn get(&self, client: &Origin) -> Option<ConnId> {
        self.ids.get(client).copied()
    }

    /// The id of `client`, given now if it had none.
    pub fn get_or_give(&mut self, client: &Origin) -> ConnId {
        if let Some(&id) = self.ids.get(client) {
            return id;
        }
        let id = self.next;
        self.next += 1;
        self.ids.insert(client.clone(), id);
        self.origins.insert(id, client.clone());
        id
    }

    /// Who the client with id `id` is, if it is another node's.
    pub fn origin(&self, id: ConnId) -> Option<&Origin> {
        self.origins.get(&id)
    }

    /// Forgets `client`, returning the id it had.
    pub fn remove(&mut self, client: &Origin) -> Option<ConnId> {
        let id = self.ids.remove(client)?;
        self.origins.remove(&id);
        Some(id)
    }

    /// Forgets the clients of the nodes `gone`, returning the ids they had.
    pub fn remove_nodes(&mut self, gone: &HashSet<NodeId>) -> Vec<ConnId> {
        let ids: Vec<ConnId> = self
            .ids
            .iter()
            .filter(|(client, _)| gone.contains(&client.node))
            .map(|(_, &id)| id)
            .collect();
        for id in &ids {
            if let Some(client) = self.origins.remove(id) {
                self.ids.remove(&client);
            }
        }
        ids
    }

    /// Forgets every client of another node, returning the ids they had.
    pub fn take_all(&mut self) -> Vec<ConnId> {
        self.ids.clear();
        self.origins.drain().map(|(id, _)| id).collect()
    }

    pub fn clear(&mut self) {
        self.ids.clear();
        self.origins.clear();
    }
}
