//! The client table as one node of a cluster (`--cluster`, issue 19): lines this node's
//! clients send go to the stream instead of straight to their recipients, and what the
//! stream brings back (every node's lines, in the stream's one order, and the other nodes'
//! presence) is delivered here as if said here.
//!
//! In scope: handing a lobby or direct line to the cluster (`ClusterLink`), delivering a line
//! the feed consumed with the stream's sequence as its id, in the same critical sections as
//! a line of this node's alone (the read lock and `fan_out` for the lobby, the read lock for
//! a direct line), the other nodes' clients (`Remote`: their nicks, for `WHO`, direct lines
//! and their `JOIN`, `NICK`, `QUIT`), and forgetting a node that stopped or died. Out of
//! scope: the stream and the claims themselves (`cluster`), the wire (`chatd_proto`).

use std::collections::HashSet;
use std::time::Instant;

use chatd_proto::reason::{LOGGED_IN_ELSEWHERE, LOST_BY_THE_CLUSTER};
use chatd_proto::{CapSet, Capability, MessageId, Nick, ProtocolError, Reply, UtcMillis};
use crossbeam_channel::Receiver;
use parking_lot::RwLockWriteGuard;

use crate::server::cluster_link::{ClusterLink, Conversation, NodeId, Origin, Presence, Request};
use crate::server::conn_id::ConnId;
use crate::server::files::{FileLine, FileTarget, Undelivered};
use crate::server::line::{
    ChatLine, Forms, Line, WithId, chat_line_for_one, line_for_one, shared_line,
};
use crate::server::outbox::Wake;
use crate::server::registry::delivery::{Pending, announce_owner, push_to_all, push_to_members};
use crate::server::registry::direct_lines::Said;
use crate::server::registry::presence::Tell;
use crate::server::registry::remote::Remote;
use crate::server::registry::{Claimed, Displaced, Registry, Table, rooms_to_tell, tell_change};
use crate::server::rooms::{Limits, NewOwner};

impl Registry {
    /// Makes this registry one node of the cluster `link` leads to, whose room commands it
    /// carries out within `limits` (every node must have the same).
    pub fn with_cluster(mut self, link: ClusterLink, limits: Limits) -> Registry {
        self.cluster = Some(link);
        self.cluster_limits = limits;
        self
    }

    pub fn cluster(&self) -> Option<&ClusterLink> {
        self.cluster.as_ref()
    }

    /// Gives back the cluster's claim of `nick` for client `id`, which this server's table did
    /// not take after all (nothing without a cluster).
    pub fn release_in_cluster(&self, id: ConnId, nick: &Nick) {
        if let Some(link) = &self.cluster {
            let release = Request::Release {
                nick: nick.clone(),
                conn: id,
            };
            // Refused only with the runtime gone or far behind: the lease frees it then.
            let _ = link.send(release);
        }
    }

    /// Client `conn` of this node is to end: a `LOGIN` on another node took the account
    /// `nick` it holds (one connection per account). Nothing if it holds it no more.
    pub fn displace(&self, conn: ConnId, nick: &Nick) {
        if self.holder(nick) == Some(conn) {
            log::info!("conn#{conn}: {nick} logged in on another node");
            // The receiver lives as long as the registry.
            let _ = self.displaced.0.send(Displaced {
                conn,
                reason: LOGGED_IN_ELSEWHERE,
            });
        }
    }

    /// Another node found this one lost (its lease ran out while it was frozen or cut off
    /// from NATS) and every node took its clients as gone at this point of the stream: they
    /// leave their rooms here too, at the same point, so every node's rooms stay the same,
    /// and their connections are ended, to reconnect (here or elsewhere) and catch up. Their
    /// nicks may have been claimed meanwhile; their releases leave such claims alone.
    pub fn lost_by_the_cluster(&self) {
        let mut table = self.table.write();
        let mine: Vec<ConnId> = table.clients.keys().copied().collect();
        let mut new_owners = Vec::new();
        for &conn in &mine {
            new_owners.extend(table.rooms.leave_all(conn));
        }
        drop(table);
        self.tell_owners(&new_owners);
        log::warn!(
            "the cluster found this node lost (no lease renewed in time): ending its {} \
             client(s), which may reconnect",
            mine.len()
        );
        for conn in mine {
            let _ = self.displaced.0.send(Displaced {
                conn,
                reason: LOST_BY_THE_CLUSTER,
            });
        }
    }

    /// The clients the cluster ended ([`Registry::displace`],
    /// [`Registry::lost_by_the_cluster`]).
    pub fn displaced(&self) -> &Receiver<Displaced> {
        &self.displaced.1
    }

    /// Whether this node still knows `nick` as held by a client of `node` (whose departure
    /// it has not read yet).
    pub fn held_on(&self, nick: &Nick, node: &NodeId) -> bool {
        self.table
            .read()
            .remote
            .get(&nick.key())
            .is_some_and(|remote| &remote.node == node)
    }

    /// Tells the other nodes of a claim this node just made, and releases a rename's old
    /// nick (a case change keeps the one claim). Nothing without a cluster.
    pub(super) fn tell_cluster_claimed(&self, claimed: &Claimed, nick: &Nick, id: ConnId) {
        let Some(link) = &self.cluster else {
            return;
        };
        // A full hand-over only costs the other nodes the news: the claim itself is made.
        let _ = match claimed {
            Claimed::Joined => link.send(Request::Presence {
                conn: id,
                presence: Presence::Joined(nick.clone()),
            }),
            Claimed::Renamed { old } => {
                if old.key() != nick.key() {
                    let release = Request::Release {
                        nick: old.clone(),
                        conn: id,
                    };
                    let _ = link.send(release);
                }
                link.send(Request::Presence {
                    conn: id,
                    presence: Presence::Renamed {
                        old: old.clone(),
                        new: nick.clone(),
                    },
                })
            }
            Claimed::Unchanged | Claimed::Dropped => Ok(()),
        };
    }

    /// Tells the other nodes client `id` left, and releases its nick. Whether they were
    /// told: not without a cluster, nor when its runtime is gone or far behind (the node's
    /// lease then frees the nick, and the others forget its clients with it).
    pub(super) fn tell_cluster_left(&self, nick: &Nick, id: ConnId, reason: Option<&str>) -> bool {
        let Some(link) = &self.cluster else {
            return false;
        };
        let left = Presence::Left {
            nick: nick.clone(),
            reason: reason.map(str::to_owned),
        };
        // The departure goes out before the release, so that whoever claims the nick next
        // (a `LOGIN` that displaced the client waits for it) is told after it in the stream.
        let told = link.send(Request::Presence {
            conn: id,
            presence: left,
        });
        let release = Request::Release {
            nick: nick.clone(),
            conn: id,
        };
        let _ = link.send(release);
        told.is_ok()
    }

    /// Hands `line` (an `ALL` or `ME *` of client `from`, in its forms) to the stream: every
    /// node, this one included, delivers it when it comes back ([`Registry::clustered_line`]).
    pub(super) fn publish_lobby(
        &self,
        link: &ClusterLink,
        from: ConnId,
        line: &impl ChatLine,
    ) -> Pending {
        // The line as its fullest form spells it, which the sender formatted already: the
        // action's `ME` line, or the `ALL` line. Read back into a reply (the stream carries
        // replies); a line that does not read back is the server's own fault.
        let Some((_, spelled)) = line.form(CapSet::NONE.with(Capability::Actions)) else {
            return Pending::default();
        };
        match Reply::parse(spelled.trim_end_matches('\n')) {
            Ok(reply) => self.publish(link, from, Conversation::Lobby, reply),
            Err(error) => {
                log::error!("conn#{from}: a lobby line that does not read back: {error}");
                Pending::default()
            }
        }
    }

    /// Hands `reply`, said by client `from` in `conversation`, to the stream; a full
    /// hand-over is told to the sender (`UNAVAILABLE`), which nothing else is.
    pub(super) fn publish(
        &self,
        link: &ClusterLink,
        from: ConnId,
        conversation: Conversation,
        reply: Reply,
    ) -> Pending {
        let table = self.table.read();
        let Some(sender) = table.clients.get(&from) else {
            return Pending::default();
        };
        let request = Request::Line {
            conversation,
            reply,
            from,
            outbox: sender.outbox.clone(),
        };
        let mut pending = Pending::default();
        if link.send(request).is_err() {
            let refusal = ProtocolError::Unavailable("your line was not sent".to_owned());
            pending.answer(from, sender, shared_line(&Reply::from(&refusal)));
        }
        pending
    }

    /// A direct line of client `from` to whoever holds `to`, here or on another node, handed
    /// to the stream: `NO_SUCH_NICK` when nobody does.
    pub(super) fn direct_in_cluster(
        &self,
        link: &ClusterLink,
        from: ConnId,
        to: &Nick,
        said: Said<'_>,
    ) -> Result<Pending, ProtocolError> {
        let (sender, recipient, away) = {
            let table = self.table.read();
            let Some(sender) = table.clients.get(&from) else {
                return Ok(Pending::default());
            };
            let key = to.key();
            let here = table
                .ids
                .get(&key)
                .and_then(|id| Some((id, table.clients.get(id)?)));
            let (recipient, away) = match here {
                Some((id, client)) => (client.nick.clone(), table.away.get(id).cloned()),
                None => match table.remote.get(&key) {
                    Some(remote) => (remote.nick.clone(), remote.away.clone()),
                    None => return Err(ProtocolError::NoSuchNick(to.to_string())),
                },
            };
            (sender.nick.clone(), recipient, away)
        };
        let Some(reply) = said.reply(&sender, &recipient) else {
            log::error!("conn#{from}: a direct line that does not read back");
            return Ok(Pending::default());
        };
        let mut pending = self.publish(link, from, Conversation::Direct(recipient.clone()), reply);
        if let Some(text) = away {
            // As on one server: the recipient is away, its sender (with `CAP away`) is told.
            let notice = Reply::Away {
                nick: recipient,
                text,
            };
            let table = self.table.read();
            if let Some(sender) = table.clients.get(&from) {
                if let Some(line) = line_for_one(&notice, sender.caps) {
                    pending.answer(from, sender, line);
                }
            }
        }
        Ok(pending)
    }

    /// A complete file's `FILE` line for the lobby or a nick, handed to the stream like the
    /// conversation's other lines, and `OK FILE` (`ok`) for its sender.
    pub(super) fn file_in_cluster(
        &self,
        link: &ClusterLink,
        from: ConnId,
        to: &FileTarget,
        file: &FileLine<'_>,
        ok: &Line,
    ) -> Result<Option<Pending>, Undelivered> {
        let sender = {
            let table = self.table.read();
            let sender = table.clients.get(&from).ok_or(Undelivered::SenderGone)?;
            sender.nick.clone()
        };
        let (conversation, reply) = match to {
            FileTarget::Room(room) => {
                // Checked as this node knows the room; every node delivers it to the members
                // it has when the stream brings it.
                let table = self.table.read();
                let state = table
                    .rooms
                    .member_room(from, room)
                    .map_err(|_| Undelivered::NotInRoom(room.clone()))?;
                let reply = Reply::RoomFile {
                    room: state.name.clone(),
                    from: sender,
                    size: file.size,
                    url: file.url.to_owned(),
                    name: file.name.to_owned(),
                };
                (Conversation::Room(state.name.clone()), reply)
            }
            FileTarget::Lobby => {
                let reply = Reply::LobbyFile {
                    from: sender,
                    size: file.size,
                    url: file.url.to_owned(),
                    name: file.name.to_owned(),
                };
                (Conversation::Lobby, reply)
            }
            FileTarget::Nick { nick, .. } => {
                let reply = Reply::File {
                    from: sender,
                    size: file.size,
                    url: file.url.to_owned(),
                    name: file.name.to_owned(),
                };
                (Conversation::Direct(nick.clone()), reply)
            }
        };
        let mut pending = self.publish(link, from, conversation, reply);
        let table = self.table.read();
        if let Some(sender) = table.clients.get(&from) {
            pending.answer(from, sender, Line::clone(ok));
        }
        Ok(Some(pending))
    }

    /// A direct line from client `from` to `to`, whom the cluster says a client of some node
    /// holds though this node has not heard of it yet, handed to the stream.
    pub fn direct_to_holder(&self, from: ConnId, to: &Nick, text: &str, action: bool) -> Pending {
        let Some(link) = &self.cluster else {
            return Pending::default();
        };
        let sender = {
            let table = self.table.read();
            match table.clients.get(&from) {
                Some(sender) => sender.nick.clone(),
                None => return Pending::default(),
            }
        };
        let reply = if action {
            Reply::Me {
                target: chatd_proto::Target::Nick(to.clone()),
                from: sender,
                text: text.to_owned(),
            }
        } else {
            Reply::Msg {
                from: sender,
                text: text.to_owned(),
            }
        };
        self.publish(link, from, Conversation::Direct(to.clone()), reply)
    }

    /// Delivers a line the stream brought back, `id` being its sequence there: to the lobby
    /// (everyone but its sender, if the sender is this node's `skip`), or to this node's
    /// holder of a direct line's nick. The lobby keeps it in its history.
    pub fn clustered_line(
        &self,
        id: MessageId,
        time: UtcMillis,
        conversation: &Conversation,
        reply: &Reply,
        skip: Option<ConnId>,
    ) {
        let pending = match conversation {
            Conversation::Lobby => {
                let forms = Forms::new(reply);
                let text = self.keeping.text(forms.v1());
                let table = self.table.read();
                let mut lobby = self.fan_out.lock();
                if let Some(text) = text {
                    lobby.record(id, time, text);
                }
                push_to_all(
                    &table.clients,
                    skip,
                    &WithId::new(&forms, id),
                    Wake::Delivery,
                )
            }
            Conversation::Room(room) => {
                let table = self.table.read();
                let Some(state) = table.rooms.get(&room.key()) else {
                    return;
                };
                let line = shared_line(reply);
                let text = self.keeping.text(Some(&line));
                let mut order = state.order.lock();
                if let Some(text) = text {
                    order.record(id, time, text);
                }
                let mut pending = Pending::default();
                push_to_members(
                    &table.clients,
                    state.members(),
                    skip,
                    &WithId::new(&line, id),
                    Wake::Delivery,
                    &mut pending,
                );
                drop(order);
                pending
            }
            Conversation::Direct(to) => {
                let table = self.table.read();
                let recipient = to
                    .with_key(|key| table.ids.get(key).copied())
                    .and_then(|conn| Some((conn, table.clients.get(&conn)?)));
                let sender = skip.and_then(|conn| table.clients.get(&conn));
                self.keep_clustered_direct(
                    (id, time),
                    reply,
                    to,
                    (&table, sender, recipient.map(|(_, c)| c)),
                );
                let mut pending = Pending::default();
                if let Some((conn, client)) = recipient {
                    if let Some(line) = chat_line_for_one(reply, id, client.caps) {
                        pending.push(conn, client, line, Wake::Delivery);
                    }
                }
                pending
            }
        };
        self.finish(pending);
    }

    /// A client of another node (`client`) registered, renamed or left: this node's
    /// clients are told, as of a client of its own, in the lobby's order, and the lobby's
    /// count (`--presence-limit`) is the cluster's; one that left leaves its rooms here, as
    /// on every node at this point of the stream.
    pub fn remote_presence(&self, client: &Origin, presence: &Presence) {
        let node = &client.node;
        let mut table = self.table.write();
        if let Presence::Away { nick, text } = presence {
            if let Some(remote) = table
                .remote
                .get_mut(&nick.key())
                .filter(|remote| &remote.node == node)
            {
                remote.away = text.clone();
            }
            return;
        }
        let Table {
            ids,
            clients,
            remote,
            remote_ids,
            rooms,
            presence: mode,
            ..
        } = &mut *table;
        // The bucket gives a nick one holder: a record of one held here is stale.
        let held_here = |nick: &Nick| ids.contains_key(&nick.key());
        let told = match presence {
            Presence::Away { .. } => false,
            Presence::Joined(nick) if held_here(nick) => false,
            Presence::Renamed { old, new } if held_here(new) => {
                remote.remove(&old.key());
                false
            }
            // Its holder here is told nothing of a departure that came before its claim.
            Presence::Left { nick, .. } if held_here(nick) => {
                remote.remove(&nick.key());
                false
            }
            Presence::Joined(nick) => {
                remote.insert(
                    nick.key(),
                    Remote {
                        nick: nick.clone(),
                        node: node.clone(),
                        conn: client.conn,
                        away: None,
                    },
                );
                true
            }
            Presence::Renamed { old, new } => {
                let away = remote.remove(&old.key()).and_then(|old| old.away);
                remote.insert(
                    new.key(),
                    Remote {
                        nick: new.clone(),
                        node: node.clone(),
                        conn: client.conn,
                        away,
                    },
                );
                true
            }
            // Only if it is still that node's: a claim taken over from a node found lost may
            // have been made elsewhere already, and that node's clients were told of the
            // departure when it was found lost.
            Presence::Left { nick, .. } => {
                let held = remote
                    .get(&nick.key())
                    .is_some_and(|held| &held.node == node);
                if held {
                    remote.remove(&nick.key());
                }
                held
            }
        };
        let count = clients.len() + remote.len();
        let now = Instant::now();
        let tell = match presence {
            _ if !told => None,
            Presence::Joined(_) => Some(mode.joined(count, now)),
            Presence::Left { .. } => Some(mode.left(count, now)),
            Presence::Renamed { .. } | Presence::Away { .. } => Some(mode.renamed()),
        };
        // Its rooms' members, while it is still one of them; a room only has it once its
        // node's JOIN was read (`clustered_rooms`), so the id is known then.
        let in_rooms = remote_ids.get(client);
        let co_members = match (&tell, in_rooms) {
            (Some(tell), Some(id)) => rooms_to_tell(tell, rooms, id),
            _ => Vec::new(),
        };
        let mut new_owners = Vec::new();
        match presence {
            Presence::Renamed { new, .. } => {
                if let Some(id) = in_rooms {
                    rooms.rename(id, new);
                }
            }
            Presence::Left { .. } => {
                if let Some(id) = remote_ids.remove(client) {
                    new_owners = rooms.leave_all(id);
                }
            }
            Presence::Joined(_) | Presence::Away { .. } => {}
        }
        if let (Some(tell), Some(announcement)) = (tell, presence.announcement()) {
            // Nobody here has the id: everyone is told, or only the rooms' members.
            let id = in_rooms.unwrap_or(ConnId::MAX);
            let order = self.fan_out.lock();
            let table = RwLockWriteGuard::downgrade(table);
            let mut pending = Pending::for_recipients(table.clients.len());
            tell_change(
                &table.clients,
                id,
                &announcement,
                &tell,
                &co_members,
                &mut pending,
            );
            drop(order);
            drop(table);
            self.finish(pending);
        } else {
            drop(table);
        }
        self.tell_owners(&new_owners);
    }

    /// This node's client `conn` left, as the stream says now: it leaves its rooms here, at
    /// the point of the rooms' order where every node takes it out of them.
    pub fn departed(&self, conn: ConnId) {
        let new_owners = self.table.write().rooms.leave_all(conn);
        self.tell_owners(&new_owners);
    }

    /// Forgets the clients of the nodes `gone`, telling this node's clients they left with
    /// `reason` (`NODE_LOST`, `NODE_STOPPED`); they leave their rooms here.
    pub fn forget_nodes(&self, gone: &HashSet<NodeId>, reason: &str) {
        let mut table = self.table.write();
        let mut new_owners = Vec::new();
        for id in table.remote_ids.remove_nodes(gone) {
            new_owners.extend(table.rooms.leave_all(id));
        }
        let gone: Vec<Nick> = table
            .remote
            .values()
            .filter(|remote| gone.contains(&remote.node))
            .map(|remote| remote.nick.clone())
            .collect();
        for nick in &gone {
            table.remote.remove(&nick.key());
        }
        // The lobby's count fell by all of them at once: exact again, or still counted.
        let tell = if gone.is_empty() {
            None
        } else {
            let count = table.lobby_count();
            Some(table.presence.left(count, Instant::now()))
        };
        match tell {
            Some(Tell::Everyone) => {
                let quits: Vec<Reply> = gone
                    .into_iter()
                    .map(|nick| Reply::Quit {
                        nick,
                        reason: Some(reason.to_owned()),
                    })
                    .collect();
                self.announce(table, &quits);
            }
            // Only to the clients with `CAP presence`: `PRESENCE EXACT <n>` says to read
            // the list again.
            Some(Tell::Switched(exact)) => {
                let order = self.fan_out.lock();
                let table = RwLockWriteGuard::downgrade(table);
                let line = Forms::new(&exact);
                let pending = push_to_all(&table.clients, None, &line, Wake::Announcement);
                drop(order);
                drop(table);
                self.finish(pending);
            }
            Some(Tell::RoomsOnly) | None => drop(table),
        }
        self.tell_owners(&new_owners);
    }

    /// Tells the members of each room in `changes` who owns it now, in the room's order.
    fn tell_owners(&self, changes: &[NewOwner]) {
        if changes.is_empty() {
            return;
        }
        let table = self.table.read();
        let mut pending = Pending::default();
        for change in changes {
            let Some(state) = table.rooms.get(&change.room) else {
                continue;
            };
            let _order = state.order.lock();
            announce_owner(&table.clients, &table.rooms, change, &mut pending);
        }
        drop(table);
        self.finish(pending);
    }

    /// Every other node's clients' nicks, for `WHO`.
    pub(super) fn remote_nicks(&self, into: &mut Vec<Nick>) {
        let table = self.table.read();
        into.extend(table.remote.values().map(|remote| remote.nick.clone()));
    }

    /// The nodes this one knows clients of.
    pub fn remote_nodes(&self) -> HashSet<NodeId> {
        let table = self.table.read();
        table
            .remote
            .values()
            .map(|remote| remote.node.clone())
            .collect()
    }

    /// Pushes `lines` to every client of this node, in the lobby's order: `fan_out` taken
    /// under the write lock, kept through the downgrade, as for a change of this node's.
    fn announce(&self, table: parking_lot::RwLockWriteGuard<'_, Table>, lines: &[Reply]) {
        let order = self.fan_out.lock();
        let table = parking_lot::RwLockWriteGuard::downgrade(table);
        let mut pending = Pending::default();
        for line in lines {
            let line = shared_line(line);
            let mut more = push_to_all(&table.clients, None, &line, Wake::Announcement);
            pending.flushes.append(&mut more.flushes);
            pending.slow.append(&mut more.slow);
            pending.queued += more.queued;
        }
        drop(order);
        drop(table);
        self.finish(pending);
    }
}
