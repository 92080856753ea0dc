//! The client table: who is registered under which nick, and delivery to them.
//!
//! In scope: atomic nick claims, renames and departures with their announcements, direct and
//! broadcast delivery, and dropping slow consumers. Under the table lock only non-blocking
//! work happens: lookups and [`Outbox::push`], which never waits.
//!
//! Out of scope: parsing (`protocol`), what a command means (`session`), sockets (`writer`,
//! `connection`).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::server::conn_id::ConnId;
use crate::server::line::{Line, shared_line};
use crate::server::outbox::{Flush, Outbox, PushError, Wake};
use crate::server::rooms::{Limits, Rooms};
use chatd_proto::reason::SLOW_CONSUMER;
use chatd_proto::{Nick, NickKey, ProtocolError, Reply, Room};

#[derive(Default)]
pub struct Registry {
    /// The registered clients. A read-write lock because delivery (every `MSG`, `ALL`, `WHO`)
    /// only reads and runs on several workers at once, while registering, renaming and
    /// leaving are rare and need the table to themselves. `parking_lot`'s lock is fair enough
    /// that a steady stream of readers cannot starve a writer.
    table: RwLock<Table>,
    /// Held (under the read lock) while one broadcast is enqueued, so every recipient sees
    /// all broadcasts in one order. Writes to sockets happen later, in parallel, in the
    /// writers: only the enqueue is serialised. Lock order: `table`, then `fan_out`.
    fan_out: Mutex<()>,
}

#[derive(Default)]
struct Table {
    ids: HashMap<NickKey, ConnId>,
    clients: HashMap<ConnId, Client>,
    /// Under the same lock as the clients, so that a client leaves its rooms in the same
    /// critical section as the table.
    rooms: Rooms,
}

struct Client {
    nick: Nick,
    outbox: Outbox,
}

/// What a successful `NICK` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// First registration; others were told `JOIN`.
    Joined,
    /// A rename; others were told `NICK <old> <new>`.
    Renamed { old: Nick },
    /// The client already had exactly this nick; nobody was told.
    Unchanged,
}

/// What a delivery leaves to do once the table lock is released: writes to idle clients
/// (system calls, see [`Flush`]), and clients whose outbox overflowed, to drop and cut off.
#[must_use = "finish it with Registry::finish once the table lock is released"]
#[derive(Default)]
pub struct Pending {
    flushes: Vec<Flush>,
    slow: Vec<(ConnId, Outbox)>,
    /// How many recipients the delivery has: a flush that finds the list full makes room for
    /// that many more, so a broadcast allocates its list of flushes once (or not at all)
    /// instead of regrowing it.
    recipients: usize,
}

impl Pending {
    /// Whether no client overflowed.
    #[cfg(test)]
    pub fn no_slow_consumer(&self) -> bool {
        self.slow.is_empty()
    }

    fn for_recipients(recipients: usize) -> Pending {
        Pending {
            recipients,
            ..Pending::default()
        }
    }

    fn add(&mut self, id: ConnId, outbox: &Outbox, pushed: Result<Option<Flush>, PushError>) {
        match pushed {
            Ok(Some(flush)) => {
                if self.flushes.len() == self.flushes.capacity() {
                    self.flushes.reserve(self.recipients.max(1));
                }
                self.flushes.push(flush);
            }
            Ok(None) | Err(PushError::Closed) => {}
            Err(PushError::Full) => self.slow.push((id, outbox.clone())),
        }
    }
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Claims `nick` for client `id` (first time or rename), atomically: of many clients
    /// racing for one nick exactly one wins.
    pub fn claim(
        &self,
        id: ConnId,
        nick: Nick,
        outbox: &Outbox,
    ) -> Result<(Claimed, Pending), ProtocolError> {
        let key = nick.key();
        let mut table = self.table.write();
        if table.ids.get(&key).is_some_and(|&owner| owner != id) {
            return Err(ProtocolError::NickTaken(nick));
        }
        let Table { ids, clients, .. } = &mut *table;
        let (claimed, announcement) = match clients.get_mut(&id) {
            None => {
                let announcement = Reply::Join(nick.clone());
                clients.insert(
                    id,
                    Client {
                        nick: nick.clone(),
                        outbox: outbox.clone(),
                    },
                );
                (Claimed::Joined, announcement)
            }
            Some(client) if client.nick == nick => {
                return Ok((Claimed::Unchanged, Pending::default()));
            }
            Some(client) => {
                let old = std::mem::replace(&mut client.nick, nick.clone());
                ids.remove(&old.key());
                let announcement = Reply::NickChanged {
                    old: old.clone(),
                    new: nick.clone(),
                };
                (Claimed::Renamed { old }, announcement)
            }
        };
        ids.insert(key, id);
        let slow = push_to_all(
            clients,
            Some(id),
            &shared_line(&announcement),
            Wake::Announcement,
        );
        Ok((claimed, slow))
    }

    /// Removes client `id` and tells the others `QUIT <nick> [reason]`. Returns the nick it
    /// had, or `None` if it was not registered (or already removed).
    pub fn leave(&self, id: ConnId, reason: Option<&str>) -> (Option<Nick>, Pending) {
        let mut table = self.table.write();
        let Some(client) = table.clients.remove(&id) else {
            return (None, Pending::default());
        };
        table.ids.remove(&client.nick.key());
        // Silently: the lobby QUIT below tells everyone.
        table.rooms.leave_all(id);
        let announcement = Reply::Quit {
            nick: client.nick.clone(),
            reason: reason.map(str::to_owned),
        };
        let slow = push_to_all(
            &table.clients,
            None,
            &shared_line(&announcement),
            Wake::Announcement,
        );
        (Some(client.nick), slow)
    }

    /// Removes every client without announcements (the server is shutting down and tells
    /// each one itself). Returns their outboxes.
    pub fn clear(&self) -> Vec<Outbox> {
        let mut table = self.table.write();
        table.ids.clear();
        table.rooms = Rooms::default();
        table
            .clients
            .drain()
            .map(|(_, client)| client.outbox)
            .collect()
    }

    /// Queues `line` from client `from` for the client called `to`.
    pub fn send_to(&self, from: ConnId, to: &Nick, line: Line) -> Result<Pending, ProtocolError> {
        let table = self.table.read();
        if !table.clients.contains_key(&from) {
            // The sender was dropped (slow consumer) while its last lines were being read.
            return Ok(Pending::default());
        }
        let client = table
            .ids
            .get(&to.key())
            .and_then(|id| Some((id, table.clients.get(id)?)));
        let Some((&id, client)) = client else {
            return Err(ProtocolError::NoSuchNick(to.to_string()));
        };
        let mut pending = Pending::default();
        pending.add(
            id,
            &client.outbox,
            client.outbox.push_waking(line, Wake::Delivery),
        );
        Ok(pending)
    }

    /// Queues `line` for every registered client but `from`, in the one global broadcast
    /// order.
    pub fn broadcast(&self, from: ConnId, line: &Line) -> Pending {
        let table = self.table.read();
        if !table.clients.contains_key(&from) {
            return Pending::default();
        }
        let _order = self.fan_out.lock();
        push_to_all(&table.clients, Some(from), line, Wake::Delivery)
    }

    /// `JOIN room [key]`: the joiner gets `OK JOIN`, the topic and the members; the other
    /// members get `JOIN #room <nick>`. All under the write lock, so no room line can reach
    /// the joiner before its `OK JOIN`.
    pub fn join_room(
        &self,
        id: ConnId,
        room: &Room,
        key: Option<&str>,
        limits: Limits,
    ) -> Result<Pending, ProtocolError> {
        let mut table = self.table.write();
        let Table { clients, rooms, .. } = &mut *table;
        let Some(joiner) = clients.get(&id) else {
            return Ok(Pending::default());
        };
        let state = rooms.join(id, room, key, limits)?.room;
        let mut replies = vec![Reply::OkJoin(state.name.clone())];
        if let Some((setter, text)) = &state.topic {
            replies.push(Reply::TopicIs {
                room: state.name.clone(),
                setter: setter.clone(),
                text: text.clone(),
            });
        }
        replies.extend(Reply::room_who_list(
            &state.name,
            nicks_of(clients, state.members()),
        ));
        let mut pending = Pending::default();
        for reply in &replies {
            let pushed = joiner.outbox.push_waking(shared_line(reply), Wake::Reply);
            pending.add(id, &joiner.outbox, pushed);
        }
        let line = shared_line(&Reply::RoomJoin {
            room: state.name.clone(),
            nick: joiner.nick.clone(),
        });
        push_to_members(
            clients,
            state.members(),
            Some(id),
            &line,
            Wake::Announcement,
            &mut pending,
        );
        Ok(pending)
    }

    /// `PART room [reason]`: `OK PART` to the client, `PART #room <nick> [reason]` to the
    /// other members.
    pub fn part_room(
        &self,
        id: ConnId,
        room: &Room,
        reason: Option<&str>,
    ) -> Result<Pending, ProtocolError> {
        let mut table = self.table.write();
        let Table { clients, rooms, .. } = &mut *table;
        let Some(leaver) = clients.get(&id) else {
            return Ok(Pending::default());
        };
        let others: Vec<ConnId> = rooms.member_room(id, room)?.members().to_vec();
        let name = rooms.part(id, room)?;
        let mut pending = Pending::default();
        let pushed = leaver
            .outbox
            .push_waking(shared_line(&Reply::OkPart(name.clone())), Wake::Reply);
        pending.add(id, &leaver.outbox, pushed);
        let line = shared_line(&Reply::RoomPart {
            room: name,
            nick: leaver.nick.clone(),
            reason: reason.map(str::to_owned),
        });
        push_to_members(
            clients,
            &others,
            Some(id),
            &line,
            Wake::Announcement,
            &mut pending,
        );
        Ok(pending)
    }

    /// `MSG #room text`: to every other member, in the room's one order.
    pub fn send_to_room(
        &self,
        from: ConnId,
        room: &Room,
        text: &str,
    ) -> Result<Pending, ProtocolError> {
        let table = self.table.read();
        let Some(sender) = table.clients.get(&from) else {
            return Ok(Pending::default());
        };
        let state = table.rooms.member_room(from, room)?;
        let line = shared_line(&Reply::RoomMsg {
            room: state.name.clone(),
            from: sender.nick.clone(),
            text: text.to_owned(),
        });
        let mut pending = Pending::default();
        let _order = state.order.lock();
        push_to_members(
            &table.clients,
            state.members(),
            Some(from),
            &line,
            Wake::Delivery,
            &mut pending,
        );
        Ok(pending)
    }

    /// `WHO #room`: the member list, for anyone who may see the room.
    pub fn room_who(&self, id: ConnId, room: &Room) -> Result<Vec<Reply>, ProtocolError> {
        let table = self.table.read();
        let state = table.rooms.visible_room(id, room)?;
        Ok(Reply::room_who_list(
            &state.name,
            nicks_of(&table.clients, state.members()),
        ))
    }

    /// `ROOMS`: one `ROOM` line per room the client may see, then `END ROOMS`.
    pub fn room_list(&self, id: ConnId) -> Vec<Reply> {
        let table = self.table.read();
        let mut replies: Vec<Reply> = table
            .rooms
            .visible_to(id)
            .into_iter()
            .map(|state| Reply::RoomInfo {
                room: state.name.clone(),
                members: state.members().len(),
                topic: state.topic.as_ref().map(|(_, text)| text.clone()),
            })
            .collect();
        replies.push(Reply::EndRooms);
        replies
    }

    /// `TOPIC room text`: every member, the setter too, gets `TOPIC #room <setter> <text>`.
    pub fn set_topic(&self, id: ConnId, room: &Room, text: &str) -> Result<Pending, ProtocolError> {
        let mut table = self.table.write();
        let Table { clients, rooms, .. } = &mut *table;
        let Some(setter) = clients.get(&id) else {
            return Ok(Pending::default());
        };
        let state = rooms.set_topic(id, room, setter.nick.clone(), text)?;
        let line = shared_line(&Reply::TopicIs {
            room: state.name.clone(),
            setter: setter.nick.clone(),
            text: text.to_owned(),
        });
        let mut pending = Pending::default();
        push_to_members(
            clients,
            state.members(),
            None,
            &line,
            Wake::Delivery,
            &mut pending,
        );
        Ok(pending)
    }

    /// `KEY room [key]` (the owner only).
    pub fn set_room_key(
        &self,
        id: ConnId,
        room: &Room,
        key: Option<&str>,
    ) -> Result<Room, ProtocolError> {
        self.table.write().rooms.set_key(id, room, key)
    }

    /// `PRIVATE room on|off` (the owner only).
    pub fn set_room_private(
        &self,
        id: ConnId,
        room: &Room,
        on: bool,
    ) -> Result<Room, ProtocolError> {
        self.table.write().rooms.set_private(id, room, on)
    }

    /// `INVITE nick room` (members only): the invitee alone gets `INVITE #room <from>`.
    pub fn invite(
        &self,
        id: ConnId,
        nick: &Nick,
        room: &Room,
    ) -> Result<(Room, Pending), ProtocolError> {
        let mut table = self.table.write();
        let Table {
            ids,
            clients,
            rooms,
        } = &mut *table;
        let Some(inviter) = clients.get(&id) else {
            return Err(ProtocolError::NoSuchRoom(room.to_string()));
        };
        // Membership first: a non-member learns nothing about who is online from the error.
        rooms.member_room(id, room)?;
        let invitee = ids
            .get(&nick.key())
            .and_then(|invitee| Some((*invitee, clients.get(invitee)?)));
        let Some((invitee_id, invitee)) = invitee else {
            return Err(ProtocolError::NoSuchNick(nick.to_string()));
        };
        let name = rooms.invite(id, room, invitee_id)?;
        let line = shared_line(&Reply::Invited {
            room: name.clone(),
            from: inviter.nick.clone(),
        });
        let mut pending = Pending::default();
        let pushed = invitee.outbox.push_waking(line, Wake::Delivery);
        pending.add(invitee_id, &invitee.outbox, pushed);
        Ok((name, pending))
    }

    /// Every registered nick, unsorted.
    pub fn nicks(&self) -> Vec<Nick> {
        let table = self.table.read();
        table.clients.values().map(|c| c.nick.clone()).collect()
    }

    pub fn len(&self) -> usize {
        self.table.read().clients.len()
    }

    /// Does what deliveries left for after the lock: writes to idle clients, then removes
    /// each slow consumer, tells the others `QUIT <nick> slow consumer...`, and cuts its
    /// socket. An announcement may overflow yet another queue; those go the same way.
    pub fn finish(&self, pending: Pending) {
        let Pending {
            flushes, mut slow, ..
        } = pending;
        for flush in flushes {
            flush.run();
        }
        while let Some((id, outbox)) = slow.pop() {
            let (nick, more) = self.leave(id, Some(SLOW_CONSUMER));
            if let Some(nick) = nick {
                let peer = outbox.peer_addr().map(|p| p.to_string());
                log::warn!(
                    "conn#{id} {}: dropped {nick} as a slow consumer ({} bytes queued)",
                    peer.as_deref().unwrap_or("-"),
                    outbox.queued_bytes()
                );
            }
            // Cut even if it had already left: its socket must not linger on a full queue.
            outbox.cut();
            for flush in more.flushes {
                flush.run();
            }
            slow.extend(more.slow);
        }
    }
}

/// The nicks of `members`, in their order.
fn nicks_of(clients: &HashMap<ConnId, Client>, members: &[ConnId]) -> Vec<Nick> {
    members
        .iter()
        .filter_map(|id| clients.get(id))
        .map(|client| client.nick.clone())
        .collect()
}

/// Pushes one shared line to each of `members` except `skip`, adding flushes and slow
/// consumers to `pending`.
fn push_to_members(
    clients: &HashMap<ConnId, Client>,
    members: &[ConnId],
    skip: Option<ConnId>,
    line: &Line,
    wake: Wake,
    pending: &mut Pending,
) {
    pending.recipients = members.len();
    for &id in members {
        if Some(id) == skip {
            continue;
        }
        if let Some(client) = clients.get(&id) {
            let pushed = client.outbox.push_waking(Arc::clone(line), wake);
            pending.add(id, &client.outbox, pushed);
        }
    }
}

/// Pushes one shared line to every client except `skip`; the ones whose queue is full are
/// returned to be dropped once the lock is released.
fn push_to_all(
    clients: &HashMap<ConnId, Client>,
    skip: Option<ConnId>,
    line: &Line,
    wake: Wake,
) -> Pending {
    let mut pending = Pending::for_recipients(clients.len());
    for (&id, client) in clients {
        if Some(id) != skip {
            let pushed = client.outbox.push_waking(Arc::clone(line), wake);
            pending.add(id, &client.outbox, pushed);
        }
    }
    pending
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::outbox::DetachedQueue;

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    fn drain(queue: &DetachedQueue) -> Vec<String> {
        queue
            .drain()
            .iter()
            .map(|l| l.trim_end().to_owned())
            .collect()
    }

    #[test]
    fn claims_announce_and_rename() {
        let registry = Registry::new();
        let (a, a_rx) = Outbox::detached(1 << 20);
        let (b, b_rx) = Outbox::detached(1 << 20);
        let (claimed, _) = registry.claim(1, nick("alice"), &a).unwrap();
        assert_eq!(claimed, Claimed::Joined);
        let (claimed, _) = registry.claim(2, nick("bob"), &b).unwrap();
        assert_eq!(claimed, Claimed::Joined);
        assert_eq!(drain(&a_rx), ["JOIN bob"]);
        assert!(drain(&b_rx).is_empty(), "no self-announcement");

        let (claimed, _) = registry.claim(2, nick("Bobby"), &b).unwrap();
        assert_eq!(claimed, Claimed::Renamed { old: nick("bob") });
        assert_eq!(drain(&a_rx), ["NICK bob Bobby"]);
        let (claimed, _) = registry.claim(2, nick("Bobby"), &b).unwrap();
        assert_eq!(claimed, Claimed::Unchanged);
        assert!(drain(&a_rx).is_empty());
        // The old nick is free again; the new one is taken whatever its case.
        assert!(registry.claim(1, nick("BOB"), &a).is_ok());
        assert_eq!(
            registry.claim(1, nick("bobby"), &a).map(|(c, _)| c),
            Err(ProtocolError::NickTaken(nick("bobby")))
        );
    }

    #[test]
    fn leaving_announces_once() {
        let registry = Registry::new();
        let (a, a_rx) = Outbox::detached(1 << 20);
        let (b, _b_rx) = Outbox::detached(1 << 20);
        let _ = registry.claim(1, nick("alice"), &a).unwrap();
        let _ = registry.claim(2, nick("bob"), &b).unwrap();
        let (left, _) = registry.leave(2, Some("bye"));
        assert_eq!(left, Some(nick("bob")));
        let (again, _) = registry.leave(2, Some("bye"));
        assert_eq!(again, None);
        assert_eq!(drain(&a_rx), ["JOIN bob", "QUIT bob bye"]);
        assert_eq!(registry.nicks(), [nick("alice")]);
    }

    #[test]
    fn send_to_finds_nicks_ignoring_case() {
        let registry = Registry::new();
        let (a, a_rx) = Outbox::detached(1 << 20);
        let _ = registry.claim(1, nick("Alice"), &a).unwrap();
        let slow = registry
            .send_to(1, &nick("aLiCe"), Arc::from("MSG bob hi\n"))
            .unwrap();
        assert!(slow.no_slow_consumer());
        assert_eq!(drain(&a_rx), ["MSG bob hi"]);
        assert!(matches!(
            registry.send_to(1, &nick("zed"), Arc::from("x\n")),
            Err(ProtocolError::NoSuchNick(_))
        ));
    }

    #[test]
    fn a_full_queue_makes_a_slow_consumer_that_is_dropped_and_announced() {
        let registry = Registry::new();
        let (fast, fast_rx) = Outbox::detached(1 << 20);
        let (slow, slow_rx) = Outbox::detached(64);
        let (sender, _sender_rx) = Outbox::detached(1 << 20);
        let _ = registry.claim(1, nick("fast"), &fast).unwrap();
        let _ = registry.claim(2, nick("slow"), &slow).unwrap();
        let _ = registry.claim(3, nick("sender"), &sender).unwrap();
        let line: Line = Arc::from("ALL sender 0123456789012345678901234567\n");
        let first = registry.broadcast(3, &line);
        assert!(first.no_slow_consumer());
        let second = registry.broadcast(3, &line);
        assert!(!second.no_slow_consumer());
        registry.finish(second);
        let mut nicks = registry.nicks();
        nicks.sort_by_key(Nick::key);
        assert_eq!(nicks, [nick("fast"), nick("sender")]);
        let seen = drain(&fast_rx);
        let all = line.trim_end();
        let quit = format!("QUIT slow {SLOW_CONSUMER}");
        assert_eq!(seen, ["JOIN slow", "JOIN sender", all, all, &quit]);
        assert_eq!(drain(&slow_rx), ["JOIN sender", line.trim_end()]);
    }

    #[test]
    fn fifty_racers_for_one_nick_one_wins() {
        let registry = Arc::new(Registry::new());
        let winners: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..50)
                .map(|id| {
                    let registry = Arc::clone(&registry);
                    scope.spawn(move || {
                        let (outbox, _rx) = Outbox::detached(1 << 20);
                        usize::from(registry.claim(id, nick("prize"), &outbox).is_ok())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(winners, 1);
        assert_eq!(registry.len(), 1);
    }
}
