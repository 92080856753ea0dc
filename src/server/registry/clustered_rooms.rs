//! The rooms across the nodes of a cluster (`--cluster`, issue 19). A room command (`JOIN`,
//! `PART`, `TOPIC`, `KEY`, `PRIVATE`, `INVITE`, `REGISTER #room`, `MSG #room`, `ME #room`)
//! goes to the stream, and every node carries out every one in the stream's order, through
//! the rules and deliveries a single server uses: the rules are pure, so each node comes to
//! the same decision, and a room's changes and lines reach every member in one order. The
//! command's own node answers its sender (`OK JOIN`, an `ERR`); the others deliver to their
//! members.
//!
//! In scope: carrying out a command the stream brought (and saying what of a registered
//! room changed, for the cluster to keep), an account's rooms disowned where the stream
//! says, the ids the rooms know other nodes' clients by, and the rooms' image a node that
//! starts takes from another. Out of scope: the rules (`rooms`), the single server's side of
//! the same commands (`room_lines`), departures and renames (`clustered`), the stream and
//! the rooms bucket (`cluster`).

use chatd_proto::{Command, MessageId, Nick, ProtocolError, Reply, Room, Target, UtcMillis};
use parking_lot::RwLockWriteGuard;

use crate::server::cluster_link::{Origin, RoomImage};
use crate::server::conn_id::ConnId;
use crate::server::line::{Forms, shared_line};
use crate::server::registry::delivery::Pending;
use crate::server::registry::key_guesses::JoinGuesses;
use crate::server::registry::{Guesser, Registry, Table};
use crate::server::rooms::KeyGuesses;

impl Registry {
    /// Carries out the room command `command` of client `origin` called `nick`, which the
    /// stream holds as sequence `id`, stored at `time`; `invitee` is the client an `INVITE`
    /// names. Its node answers the sender; every node delivers to its own members. Returns
    /// a registered room's lasting part after a change of it (`REGISTER`, `TOPIC`, `KEY`,
    /// `PRIVATE`), which the cluster keeps for when no node runs.
    pub fn clustered_room(
        &self,
        at: (MessageId, UtcMillis),
        origin: &Origin,
        nick: &Nick,
        invitee: Option<&Origin>,
        command: &Command<'_>,
    ) -> Option<RoomImage> {
        self.carry_out_room(at, origin, nick, invitee, command);
        let room = match command {
            Command::RegisterRoom(room)
            | Command::Topic { room, .. }
            | Command::Key { room, .. }
            | Command::Private { room, .. } => room,
            _ => return None,
        };
        // The stream's commands are carried out one at a time, here alone: the room is as
        // this command left it.
        self.table.read().rooms.registered_image(room)
    }

    /// The account called `account` was deleted, at this point of the stream: its registered
    /// rooms are ordinary rooms from here on, forgotten once empty. Returns their names.
    pub fn disown_rooms(&self, account: &Nick) -> Vec<Room> {
        self.table.write().rooms.unregister_owned(account)
    }

    fn carry_out_room(
        &self,
        (id, time): (MessageId, UtcMillis),
        origin: &Origin,
        nick: &Nick,
        invitee: Option<&Origin>,
        command: &Command<'_>,
    ) {
        let Some(link) = &self.cluster else {
            return;
        };
        let here = (&origin.node == link.node()).then_some(origin.conn);
        let limits = self.cluster_limits;
        if matches!(command, Command::MsgRoom { .. } | Command::Me { .. }) {
            // Under the read lock, as a single server's room line.
            return self.clustered_room_line(id, time, origin, here, nick, command);
        }
        let mut table = self.table.write();
        table.rooms.at(id.get());
        // Only a `JOIN` or an `INVITE` makes another node's client known to the rooms here:
        // one with no id here is in no room, so anything else it asks of one is refused on
        // its own node and changes nothing here.
        let actor = match (here, command) {
            (Some(conn), _) => conn,
            (None, Command::Join { .. }) => table.remote_ids.get_or_give(origin),
            (None, _) => match table.remote_ids.get(origin) {
                Some(actor) => actor,
                None => return,
            },
        };
        let done = match command {
            Command::Join { room, key } => {
                self.join_as(table, actor, nick, room, *key, limits, None)
            }
            Command::Part { room, reason } => self.part_as(table, actor, nick, room, *reason),
            Command::Topic { room, text } => {
                self.set_topic_as(table, actor, nick.clone(), room, text, limits.topic)
            }
            // Each arm lets the lock go: a refusal is answered under a lock of its own.
            Command::Key { room, key } => {
                let set = table.rooms.set_key(actor, room, *key, limits.key);
                let done = set.map(|room| answer(&table, here, &Reply::OkKey(room)));
                drop(table);
                done
            }
            Command::Private { room, on } => {
                let set = table.rooms.set_private(actor, room, *on);
                let done =
                    set.map(|room| answer(&table, here, &Reply::OkPrivate { room, on: *on }));
                drop(table);
                done
            }
            // Its sender's node let it out for a logged-in client only, and only an
            // account's holder holds its nick: `nick` is the account.
            Command::RegisterRoom(room) => {
                let registered = table.rooms.register(actor, room, nick);
                let done = registered
                    .map(|state| state.name.clone())
                    .map(|room| answer(&table, here, &Reply::OkRegisterRoom(room)));
                drop(table);
                done
            }
            Command::Invite {
                nick: invited,
                room,
            } => {
                let Some(invitee) = invitee else {
                    // Nobody held the nick on the sender's node: refused there, members
                    // first, as on a single server.
                    if here.is_some() {
                        let refusal = match table.rooms.member_room(actor, room) {
                            Ok(_) => ProtocolError::NoSuchNick(invited.to_string()),
                            Err(error) => error,
                        };
                        drop(table);
                        self.refuse(here, refusal);
                    }
                    return;
                };
                let invitee = if &invitee.node == link.node() {
                    invitee.conn
                } else {
                    table.remote_ids.get_or_give(invitee)
                };
                let invited = invited.clone();
                self.invite_as(table, actor, nick, room, invitee)
                    .map(|(room, mut pending)| {
                        let ok = Reply::OkInvite {
                            nick: invited,
                            room,
                        };
                        let table = self.table.read();
                        pending.merge(answer(&table, here, &ok));
                        pending
                    })
            }
            // The stream carries no other command (`cluster::event::room_command`).
            _ => return,
        };
        match done {
            Ok(pending) => self.finish(pending),
            Err(error) => self.refuse(here, error),
        }
    }

    /// A room line (`MSG #room`, `ME #room`) of client `origin` (`here` if it is this
    /// node's) called `nick`, with the stream's `id` and `time`.
    fn clustered_room_line(
        &self,
        id: MessageId,
        time: UtcMillis,
        origin: &Origin,
        here: Option<ConnId>,
        nick: &Nick,
        command: &Command<'_>,
    ) {
        let table = self.table.read();
        let Some(actor) = here.or_else(|| table.remote_ids.get(origin)) else {
            // In no room here: refused on its own node.
            return;
        };
        let stamp = Some((id, time));
        let done = match command {
            Command::MsgRoom { room, text } => {
                let line_of = |room: &_, from: &Nick| {
                    shared_line(&Reply::RoomMsg {
                        room: Clone::clone(room),
                        from: from.clone(),
                        text: (*text).to_owned(),
                    })
                };
                self.room_line_as(&table, actor, nick, room, line_of, stamp)
            }
            Command::Me {
                target: Target::Room(room),
                text,
            } => {
                let line_of = |room: &_, from: &Nick| {
                    Forms::new(&Reply::Me {
                        target: Target::Room(Clone::clone(room)),
                        from: from.clone(),
                        text: (*text).to_owned(),
                    })
                };
                self.room_line_as(&table, actor, nick, room, line_of, stamp)
            }
            _ => return,
        };
        drop(table);
        match done {
            Ok(pending) => self.finish(pending),
            Err(error) => self.refuse(here, error),
        }
    }

    /// Tells client `here` of this node, if it is one, that its room command was refused; a
    /// wrong key is noted for its session to count.
    fn refuse(&self, here: Option<ConnId>, error: ProtocolError) {
        let Some(conn) = here else {
            return;
        };
        let mut table = self.table.write();
        if matches!(error, ProtocolError::BadKey(_)) {
            table.wrong_in_cluster.insert(conn);
        }
        let table = RwLockWriteGuard::downgrade(table);
        let pending = answer(&table, here, &Reply::from(&error));
        drop(table);
        self.finish(pending);
    }

    /// `TOO_MANY_ATTEMPTS` if client `id`'s `JOIN room` would be decided by its key as this
    /// node knows the room, and `guesser`'s throttle allows no guess now.
    pub fn key_guess_refused(
        &self,
        id: ConnId,
        room: &Room,
        guesser: Guesser<'_>,
    ) -> Option<ProtocolError> {
        let mut table = self.table.write();
        if !table.rooms.needs_key(id, room) {
            return None;
        }
        let guesses = JoinGuesses {
            guesser,
            addresses: &mut table.wrong_keys,
        };
        let wait = guesses.refused_for()?;
        // Whole seconds, rounded up, as a single server says it.
        let wait_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Some(ProtocolError::TooManyAttempts { wait_secs })
    }

    /// Whether client `id` is in `room`, as this node knows it: the error its line would get
    /// otherwise. Exact for the client's own lines: only its own `JOIN`, `PART` and
    /// departure change its membership, and each is carried out here before its next line
    /// is read.
    pub fn room_member(&self, id: ConnId, room: &Room) -> Result<(), ProtocolError> {
        self.table.read().rooms.member_room(id, room).map(|_| ())
    }

    /// Counts a wrong key against `guesser`'s connection and address group.
    pub fn count_wrong_key(&self, guesser: Guesser<'_>) {
        let mut table = self.table.write();
        JoinGuesses {
            guesser,
            addresses: &mut table.wrong_keys,
        }
        .wrong();
    }

    /// The client of some node that holds `nick`, as this node knows it.
    pub fn cluster_client(&self, nick: &Nick) -> Option<Origin> {
        let link = self.cluster.as_ref()?;
        let table = self.table.read();
        let key = nick.key();
        if let Some(&conn) = table.ids.get(&key) {
            return Some(Origin {
                node: link.node().clone(),
                conn,
            });
        }
        let remote = table.remote.get(&key)?;
        Some(Origin {
            node: remote.node.clone(),
            conn: remote.conn,
        })
    }

    /// Whether client `id`'s last `JOIN`, carried out for the stream, gave a wrong key (asked
    /// once: the answer is forgotten).
    pub fn took_wrong_key(&self, id: ConnId) -> bool {
        self.table.write().wrong_in_cluster.remove(&id)
    }

    /// The rooms as this node knows them, for a node that starts into the cluster.
    pub fn rooms_image(&self) -> Vec<RoomImage> {
        let Some(link) = &self.cluster else {
            return Vec::new();
        };
        let table = self.table.read();
        table.rooms.image(|id| match table.remote_ids.origin(id) {
            Some(client) => Some(client.clone()),
            None => Some(Origin {
                node: link.node().clone(),
                conn: id,
            }),
        })
    }

    /// Takes another node's image of the rooms in place of what this node knew of them.
    pub fn install_rooms(&self, rooms: Vec<RoomImage>) {
        let Some(link) = &self.cluster else {
            return;
        };
        let mut table = self.table.write();
        let Table {
            rooms: here,
            remote_ids,
            ..
        } = &mut *table;
        here.install(rooms, |client| {
            if &client.node == link.node() {
                client.conn
            } else {
                remote_ids.get_or_give(client)
            }
        });
    }
}

/// `reply` for the command's sender, if it is client `here` of this node and still connected.
fn answer(table: &Table, here: Option<ConnId>, reply: &Reply) -> Pending {
    let mut pending = Pending::default();
    if let Some((conn, client)) = here.and_then(|conn| Some((conn, table.clients.get(&conn)?))) {
        pending.answer(conn, client, shared_line(reply));
    }
    pending
}
