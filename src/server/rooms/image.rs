//! The rooms on a node of a cluster (`--cluster`): where in the stream's order a command is
//! carried out, whether a `JOIN` would be decided by its key (the throttle's question before
//! it goes out), and the rooms as an image for a node that starts into a running cluster:
//! what a running node's rooms hold, in ids of the cluster's clients, and taking such an
//! image in place of the rooms known so far; and a registered room's lasting part (no
//! members), which the cluster keeps for when no node runs.
//!
//! Out of scope: turning an image into text (`cluster::event`), and which id a client of
//! another node has here (`registry::RemoteIds`).

use std::sync::Arc;

use crate::server::cluster_link::{Origin, RoomImage};
use crate::server::conn_id::ConnId;
use crate::server::rooms::{RoomState, Rooms, Topic};
use chatd_proto::Room;

impl Rooms {
    /// On a node of a cluster: the command carried out next is the stream's `sequence`.
    pub fn at(&mut self, sequence: u64) {
        self.position = sequence;
    }

    /// Whether a `JOIN room` by client `id` would be decided by its key: a keyed room it is
    /// neither in nor invited to.
    pub fn needs_key(&self, id: ConnId, room: &Room) -> bool {
        self.rooms.get(&room.key()).is_some_and(|state| {
            state.key.is_some() && !state.is_member(id) && !state.invited.contains(&id)
        })
    }

    /// Every room as ids, for a node that starts into a running cluster: `client` says who
    /// each member and invitee is across the cluster (none: left out).
    pub fn image(&self, client: impl Fn(ConnId) -> Option<Origin>) -> Vec<RoomImage> {
        self.rooms
            .values()
            .map(|state| RoomImage {
                members: state
                    .by_age
                    .values()
                    .filter_map(|&id| Some((client(id)?, state.members.get(&id)?.nick.clone())))
                    .collect(),
                invited: state.invited.iter().filter_map(|&id| client(id)).collect(),
                ..state.lasting()
            })
            .collect()
    }

    /// What outlives the members of `room` if it is registered: its image without members
    /// or invitations, as the cluster's rooms bucket keeps it. `None` for a room that is not
    /// registered (or not there).
    pub fn registered_image(&self, room: &Room) -> Option<RoomImage> {
        self.rooms
            .get(&room.key())
            .filter(|state| state.is_registered())
            .map(RoomState::lasting)
    }

    /// Takes the rooms of another node's image in place of these; `id_of` says which id
    /// each client has here. Their lines from before are read from the stream.
    pub fn install(&mut self, rooms: Vec<RoomImage>, mut id_of: impl FnMut(&Origin) -> ConnId) {
        *self = Rooms::new(self.keeping.clone());
        for image in rooms {
            let room_key = image.name.key();
            let history = self.keeping.taken_room(&image.name, image.since);
            let mut state = RoomState::new(image.name, history);
            state.since = image.since;
            state.registered = image.registered;
            state.private = image.private;
            state.key = image.key;
            state.topic = image.topic.map(|(setter, text)| Topic {
                setter,
                text: Arc::from(text),
            });
            for (client, nick) in &image.members {
                let id = id_of(client);
                if state.is_member(id) {
                    continue;
                }
                state.add(id, nick);
                self.memberships
                    .entry(id)
                    .or_default()
                    .insert(room_key.clone());
            }
            for client in &image.invited {
                let id = id_of(client);
                state.invited.insert(id);
                self.invitations
                    .entry(id)
                    .or_default()
                    .insert(room_key.clone());
            }
            self.rooms.insert(room_key, state);
        }
    }
}

impl RoomState {
    /// The room's image without its members and invitations.
    fn lasting(&self) -> RoomImage {
        RoomImage {
            name: self.name.clone(),
            since: self.since,
            registered: self.registered.clone(),
            private: self.private,
            key: self.key.clone(),
            topic: self
                .topic
                .as_ref()
                .map(|topic| (topic.setter.clone(), topic.text.to_string())),
            members: Vec::new(),
            invited: Vec::new(),
        }
    }
}
