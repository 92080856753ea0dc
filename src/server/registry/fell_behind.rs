//! A node of a cluster that fell further behind the stream than the stream keeps
//! (`--cluster`, issue 19): the stream removed messages before the node's feed read them, so
//! its clients may have missed lines, and what it knows of the other nodes' clients and of
//! the rooms may be wrong.
//!
//! In scope: ending this node's clients (`BYE node fell behind the cluster`: they reconnect,
//! here or on another node, and catch up from the history) and forgetting every other
//! node's client, which the node then reads again from the cluster as a node that starts
//! does. Out of scope: noticing the gap and asking for the clients and rooms again
//! (`cluster::feed`).

use std::time::Instant;

use chatd_proto::reason::FELL_BEHIND;

use crate::server::conn_id::ConnId;
use crate::server::registry::{Displaced, Registry, Table};

impl Registry {
    /// Ends every client of this node and forgets every client of the others, silently:
    /// the only clients to tell are being ended. Each ended client's departure goes to the
    /// stream as a timeout's would, so the other nodes take it out of its rooms; the other
    /// nodes' clients are taken out of the rooms here now (an image of the rooms, asked for
    /// next, replaces them).
    pub fn fell_behind(&self) {
        let mut table = self.table.write();
        let Table {
            clients,
            remote,
            remote_ids,
            rooms,
            ..
        } = &mut *table;
        let mine: Vec<ConnId> = clients.keys().copied().collect();
        for id in remote_ids.take_all() {
            rooms.leave_all(id);
        }
        remote.clear();
        let count = table.lobby_count();
        // Counted or exact again for the clients still here: told to nobody, as above.
        let _ = table.presence.left(count, Instant::now());
        drop(table);
        log::warn!(
            "this node fell behind the cluster's stream: ending its {} client(s), which may \
             reconnect, and reading the cluster's clients and rooms again",
            mine.len()
        );
        for conn in mine {
            let _ = self.displaced.0.send(Displaced {
                conn,
                reason: FELL_BEHIND,
            });
        }
    }
}
