//! The files' side of the client table (issue 17): `UPLOAD` checked as a `MSG` to its target
//! would be, and the `FILE` line of a complete upload delivered as that `MSG` would be, with
//! its id, in the conversation's one order and history.
//!
//! In scope: who may send a file where (the target when it is announced, the sender and the
//! target again when its bytes are all there), and queueing `FILE` for the recipients and
//! `OK FILE` for the sender in one critical section. Out of scope: the quota, the URLs and
//! the disk (`files`), HTTP (`web::files`).
//!
//! A `FILE` line is delivered from the web runtime's blocking threads, not from the sender's
//! turn, so it takes the locks a line of its conversation takes from a worker: the read lock
//! and `fan_out` for the lobby, the read lock and the room's `order` for a room. A direct
//! line's id is otherwise taken in its sender's turn, which orders the lines of a pair; a
//! `FILE` comes from outside that turn, so it takes the table's write lock instead, which no
//! direct line holds a read lock across its id and push against. Files are rare next to
//! messages; one write lock per file costs nobody anything they would notice.

use chatd_proto::{Capability, FileName, ProtocolError, Reply, Target};

use crate::server::conn_id::ConnId;
use crate::server::files::{FileLine, FileTarget, Files, Undelivered};
use crate::server::history;
use crate::server::line::{ChatLine, Forms, Line, WithId, shared_line, with_id};
use crate::server::outbox::Wake;
use crate::server::registry::Registry;
use crate::server::registry::delivery::{Identity, Pending, push_to_all, push_to_members};

impl Registry {
    /// Gives the registry the server's files (none without a web listener): `UPLOAD`
    /// reserves its bytes there.
    pub fn with_files(mut self, files: Option<Files>) -> Registry {
        self.files = files;
        self
    }

    /// `UPLOAD <target> <size> <name>` from client `from`: `NO_FILES` without a web
    /// listener, `FILE_TOO_LARGE`, then the errors `MSG` to that target would get
    /// (`NO_SUCH_NICK`, `NOT_IN_ROOM`, `NO_SUCH_ROOM`), then `QUOTA`. Returns the upload
    /// URL. The target is looked up under the read lock; the quota is taken after it.
    pub fn upload(
        &self,
        from: ConnId,
        target: &Target,
        size: u64,
        name: FileName<'_>,
    ) -> Result<String, ProtocolError> {
        let files = self.files.as_ref().ok_or(ProtocolError::NoFiles)?;
        files.check_size(size)?;
        let (sender, to) = {
            let table = self.table.read();
            // Cut as a slow consumer by another worker while its line waited for the lock.
            let sender = table
                .clients
                .get(&from)
                .ok_or(ProtocolError::NotRegistered)?;
            let to = match target {
                Target::Lobby => FileTarget::Lobby,
                Target::Room(room) => {
                    FileTarget::Room(table.rooms.member_room(from, room)?.name.clone())
                }
                Target::Nick(nick) => {
                    let holder = nick.with_key(|key| table.ids.get(key).copied());
                    let recipient = holder.and_then(|id| Some((id, table.clients.get(&id)?)));
                    match recipient {
                        Some((id, recipient)) => FileTarget::Nick {
                            id,
                            nick: recipient.nick.clone(),
                        },
                        // A client of another node (`--cluster`): its `FILE` line goes to
                        // the nick's holder through the stream, as a direct line does.
                        None => match table.remote.get(&nick.key()) {
                            Some(remote) => FileTarget::Nick {
                                id: remote.conn,
                                nick: remote.nick.clone(),
                            },
                            None => return Err(ProtocolError::NoSuchNick(nick.to_string())),
                        },
                    }
                }
            };
            (sender.nick.clone(), to)
        };
        files.reserve(from, sender, to, size, name.as_str())
    }

    /// Whether client `id` is registered: an upload's bytes are taken only while its sender
    /// is.
    pub fn is_registered(&self, id: ConnId) -> bool {
        self.table.read().clients.contains_key(&id)
    }

    /// The file `file` from client `from` is complete: `FILE` to the recipients of `to`
    /// (with its id for `CAP ids` clients, and kept in history as a `MSG` to them would be),
    /// `OK FILE <url>` to the sender, in one critical section; the sender's nick is the one
    /// it has now. Nothing is queued if the sender is gone, is no longer in the room, or the
    /// connection the file was for has ended.
    pub fn deliver_file(
        &self,
        from: ConnId,
        to: &FileTarget,
        file: &FileLine<'_>,
    ) -> Result<(), Undelivered> {
        let ok = shared_line(&Reply::OkFile {
            url: file.url.to_owned(),
        });
        if let Some(link) = &self.cluster {
            // The lobby's and a pair's lines are ordered by the cluster's stream.
            if let Some(pending) = self.file_in_cluster(link, from, to, file, &ok)? {
                self.finish(pending);
                return Ok(());
            }
        }
        let time = history::now();
        let pending = match to {
            FileTarget::Lobby => {
                let table = self.table.read();
                let sender = table.clients.get(&from).ok_or(Undelivered::SenderGone)?;
                // `FILE * <from> ...` to `CAP files` clients, the contract's `FILE <from> ...`
                // (kept in history) to the others.
                let line = Forms::new(&Reply::LobbyFile {
                    from: sender.nick.clone(),
                    size: file.size,
                    url: file.url.to_owned(),
                    name: file.name.to_owned(),
                });
                let text = self.keeping.text(line.v1());
                let mut lobby = self.fan_out.lock();
                let id = self.ids.next();
                if let Some(text) = text {
                    lobby.record(id, time, text);
                }
                let line = WithId::new(&line, id);
                let mut pending = push_to_all(&table.clients, Some(from), &line, Wake::Delivery);
                pending.answer(from, sender, ok);
                pending
            }
            FileTarget::Room(room) => {
                let table = self.table.read();
                let sender = table.clients.get(&from).ok_or(Undelivered::SenderGone)?;
                let state = table
                    .rooms
                    .member_room(from, room)
                    .map_err(|_| Undelivered::NotInRoom(room.clone()))?;
                let line = shared_line(&Reply::RoomFile {
                    room: state.name.clone(),
                    from: sender.nick.clone(),
                    size: file.size,
                    url: file.url.to_owned(),
                    name: file.name.to_owned(),
                });
                let text = self.keeping.text(line.v1());
                let mut order = state.order.lock();
                let id = self.ids.next();
                if let Some(text) = text {
                    order.record(id, time, text);
                }
                let mut pending = Pending::default();
                let members = state.members();
                let line = WithId::new(&line, id);
                push_to_members(
                    &table.clients,
                    members,
                    Some(from),
                    &line,
                    Wake::Delivery,
                    &mut pending,
                );
                pending.answer(from, sender, ok);
                pending
            }
            FileTarget::Nick { id: to, nick } => {
                let table = self.table.write();
                let sender = table.clients.get(&from).ok_or(Undelivered::SenderGone)?;
                let recipient = table
                    .clients
                    .get(to)
                    .filter(|recipient| recipient.nick.cmp_key(nick).is_eq())
                    .ok_or_else(|| Undelivered::RecipientGone(nick.clone()))?;
                let line: Line = shared_line(&Reply::File {
                    from: sender.nick.clone(),
                    size: file.size,
                    url: file.url.to_owned(),
                    name: file.name.to_owned(),
                });
                let id = self.ids.next();
                // Kept for each party that holds its account now, as `direct_lines` keeps.
                let (sender_key, recipient_key) = (sender.nick.key(), recipient.nick.key());
                if sender.identity == Identity::Account {
                    self.direct
                        .keep(&sender_key, &recipient_key, id, time, &line);
                }
                if recipient.identity == Identity::Account && *to != from {
                    self.direct
                        .keep(&recipient_key, &sender_key, id, time, &line);
                }
                let line = match recipient.caps.has(Capability::Ids) {
                    true => with_id(id, &line),
                    false => line,
                };
                let mut pending = Pending::default();
                pending.push(*to, recipient, line, Wake::Delivery);
                pending.answer(from, sender, ok);
                pending
            }
        };
        self.finish(pending);
        Ok(())
    }
}
