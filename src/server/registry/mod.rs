//! The client table: who is registered under which nick, with which capabilities, who is
//! away, and delivery to them.
//!
//! In scope: atomic nick claims, renames and departures with their announcements, direct and
//! broadcast delivery (each recipient pushed the form of a line its capabilities call for,
//! see `line::LineFor`), the away notice, and dropping slow consumers. Under the table lock
//! only non-blocking work happens: lookups, formatting, and [`Outbox::enqueue`], which never
//! waits.
//!
//! The write lock is held for the change alone (issue 13): a command that changes the table
//! and tells many (`NICK`, leaving, `JOIN`, `PART`, `TOPIC`) takes the ordering lock of what
//! it tells (`fan_out`, or the room's `order`) while it still holds the write lock, then
//! downgrades to the read lock to push. Deliveries run meanwhile; the ordering lock keeps its
//! lines in the one order, and the downgrade lets no other change in between. Answers that
//! list many (`WHO`, `ROOMS`) copy reference counts under the read lock and sort and format
//! after it.
//!
//! The files: this one holds the table and the lobby (`NICK`, `ALL`, `ME *`, `AWAY`, `CAP`,
//! leaving, `HISTORY`); `direct_lines` the direct lines (`MSG <nick>`, `ME <nick>`) and the
//! direct messages kept for accounts; `room_lines` the room commands; `file_lines` `UPLOAD`
//! and the `FILE` lines; `delivery` the per-client record and the fan-out loops all use;
//! `key_guesses` the throttle on wrong room keys; on a node of a cluster, `clustered` the
//! lines and presence the stream brings, `clustered_rooms` the room commands it brings,
//! `clustered_direct` which account keeps a direct line it brings (and those sent before
//! the node started), and `remote` the other nodes' clients.
//!
//! It also holds the server's counters (`metrics`), counting the deliveries and slow
//! consumers it finishes, and reads them with its own counts for `STATS`: every turn and
//! every delivery already reaches the registry.
//!
//! Out of scope: parsing (`chatd_proto`), what a command means (`session`), the room rules
//! (`rooms`), sockets (`writer`, `connection`).

mod clustered;
mod clustered_direct;
mod clustered_rooms;
mod delivery;
mod direct_lines;
mod fell_behind;
mod file_lines;
mod key_guesses;
mod presence;
mod remote;
mod room_lines;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Mutex, MutexGuard, RwLock, RwLockWriteGuard};

use crate::server::accounts::Accounts;
use crate::server::cluster_link::{ClusterLink, Presence, Request};
use crate::server::conn_id::ConnId;
use crate::server::direct_history::DirectHistory;
use crate::server::files::Files;
use crate::server::history::{self, Entry, History, Keeping};
use crate::server::line::{ChatLine, Forms, LineFor, WithId, line_for_one, shared_line};
use crate::server::message_ids::MessageIds;
use crate::server::metrics::{Load, Metrics};
use crate::server::outbox::{Outbox, Wake};
use crate::server::rooms::{Limits, Rooms};
use chatd_proto::reason::SLOW_CONSUMER;
use chatd_proto::{
    CapSet, Capability, MessageId, Nick, NickKey, Page, ProtocolError, Reply, Target,
};
use delivery::{Client, announce_owner, push_to_all, push_to_members};
use key_guesses::AddressWrongKeys;
use presence::Tell;
use remote::{Remote, RemoteIds};

pub use delivery::{Identity, Pending};
pub use key_guesses::{Guesser, WrongKeys};
pub use remote::{NODE_LOST, NODE_STOPPED};

/// A client of this node the cluster ended, and the reason its `BYE` and `QUIT` give.
#[derive(Debug, Clone, Copy)]
pub struct Displaced {
    pub conn: ConnId,
    pub reason: &'static str,
}

pub struct Registry {
    /// The registered clients. A read-write lock because delivery (every `MSG`, `ALL`, `WHO`)
    /// only reads and runs on several workers at once, while registering, renaming and
    /// leaving are rare and need the table to themselves. `parking_lot`'s lock is fair enough
    /// that a steady stream of readers cannot starve a writer.
    table: RwLock<Table>,
    /// Held while one broadcast (`ALL`, `ME *`) or lobby announcement (`JOIN`, `NICK`, `QUIT`)
    /// is enqueued, so every recipient sees them all in one order: under the read lock for a
    /// broadcast; for an announcement, taken under the write lock that made the change and
    /// kept through its downgrade. Writes to sockets happen later, in parallel, in the
    /// writers: only the enqueue is serialised. Lock order: `table`, then `fan_out`, then a
    /// room's `order`; it is only ever taken with the table locked, so a holder of the write
    /// lock gets it at once. It guards the lobby's history: a broadcast is recorded in the
    /// critical section that takes its id and orders it, so a `HISTORY *` after any line was
    /// queued finds it.
    fan_out: Mutex<History>,
    /// The ids of chat lines, taken inside the critical section that fixes a line's order
    /// (`fan_out`, a room's `order`, the sender's turn for a direct line), so ids grow in
    /// the order recipients get the lines. Lock-free: no lock of its own under those.
    ids: Arc<MessageIds>,
    /// How conversations keep their history, and the store behind it.
    keeping: Keeping,
    /// The direct messages kept for accounts (`direct_lines`).
    direct: DirectHistory,
    /// The server's counters: atomics, never under a lock of this registry's.
    metrics: Arc<Metrics>,
    /// The account book: which nicks are registered (`NICK` asks), and the verification
    /// threads the account commands go to.
    accounts: Accounts,
    /// The files `UPLOAD` reserves its bytes in; `None` without a web listener.
    files: Option<Files>,
    /// The cluster this server is a node of (`--cluster`): lobby and direct lines go through
    /// its stream (`clustered`).
    cluster: Option<ClusterLink>,
    /// The room limits a node of a cluster carries out the stream's room commands within.
    cluster_limits: Limits,
    /// This node's clients the cluster ended, and why (a `LOGIN` on another node, or the
    /// other nodes finding this one lost), for the thread that ends connections from outside
    /// their turns (`timeouts`) to end (`--cluster`).
    displaced: (Sender<Displaced>, Receiver<Displaced>),
}

struct Table {
    ids: HashMap<NickKey, ConnId>,
    clients: HashMap<ConnId, Client>,
    /// Under the same lock as the clients, so that a client leaves its rooms in the same
    /// critical section as the table.
    rooms: Rooms,
    /// The text of each away client's `AWAY`. Few clients are away at once: a map of its own
    /// keeps the text out of the `Client` records every broadcast walks.
    away: HashMap<ConnId, String>,
    /// Wrong room keys per address group. Here because every `JOIN` holds the write lock:
    /// checking and counting a guess is one step, however many connections guess at once.
    wrong_keys: AddressWrongKeys,
    /// Whether the lobby's presence is announced or counted (`--presence-limit`); changed
    /// with the clients it counts.
    presence: presence::Presence,
    /// The other nodes' clients (`--cluster`), by nick: nobody here holds their nicks.
    remote: HashMap<NickKey, Remote>,
    /// The ids the rooms know the other nodes' clients by (`--cluster`).
    remote_ids: RemoteIds,
    /// This node's clients whose `JOIN`, carried out for the stream, gave a wrong key: their
    /// sessions count it when they go on (`--cluster`).
    wrong_in_cluster: HashSet<ConnId>,
}

impl Table {
    /// The registered clients the lobby's presence counts (`--presence-limit`): this
    /// server's, and with `--cluster` every other node's it knows of.
    fn lobby_count(&self) -> usize {
        self.clients.len() + self.remote.len()
    }
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
    /// The client was cut off as a slow consumer while its `NICK` waited for the table:
    /// nothing changed, and it must not register again.
    Dropped,
}

impl Registry {
    /// An empty table with counters of its own, whose lobby is always announced
    /// (`--presence-limit 0`).
    #[cfg(test)]
    pub fn new() -> Registry {
        let keeping = Keeping::default();
        let lobby = keeping.lobby(Default::default(), true);
        let direct = DirectHistory::new(history::HISTORY_RING, 0, keeping.store());
        Registry::with(
            0,
            Arc::new(Metrics::default()),
            keeping,
            lobby,
            direct,
            Arc::new(MessageIds::new()),
            Accounts::in_memory(),
        )
    }

    /// An empty table whose lobby stops being announced above `presence_limit` registered
    /// clients, counting into the server's `metrics`, keeping history as `keeping` says
    /// (the lobby's starts as `lobby`) and accounts' direct messages in `direct`, with ids
    /// from `ids`, and its accounts in `accounts`.
    pub fn with(
        presence_limit: usize,
        metrics: Arc<Metrics>,
        keeping: Keeping,
        lobby: History,
        direct: DirectHistory,
        ids: Arc<MessageIds>,
        accounts: Accounts,
    ) -> Registry {
        Registry {
            table: RwLock::new(Table {
                ids: HashMap::new(),
                clients: HashMap::new(),
                rooms: Rooms::new(keeping.clone()),
                away: HashMap::new(),
                wrong_keys: AddressWrongKeys::default(),
                presence: presence::Presence::new(presence_limit),
                remote: HashMap::new(),
                remote_ids: RemoteIds::default(),
                wrong_in_cluster: HashSet::new(),
            }),
            fan_out: Mutex::new(lobby),
            ids,
            keeping,
            direct,
            metrics,
            accounts,
            files: None,
            cluster: None,
            cluster_limits: Limits::of(&crate::config::Config::default()),
            displaced: crossbeam_channel::unbounded(),
        }
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// A fresh message id, for a line ordered outside every conversation's lock (a direct
    /// message kept for an offline account).
    pub fn next_id(&self) -> MessageId {
        self.ids.next()
    }

    /// The connection holding `nick`, if any.
    pub fn holder(&self, nick: &Nick) -> Option<ConnId> {
        self.table.read().ids.get(&nick.key()).copied()
    }

    /// The server's counters, for the events noticed outside the registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The figures of `STATS`, with the registered clients and rooms counted now.
    pub fn load(&self) -> Load {
        let (registered, rooms) = {
            let table = self.table.read();
            (table.clients.len(), table.rooms.count())
        };
        let (history_unstored, history_stored) = self.keeping.store().counts();
        Load {
            history_stored,
            history_unstored,
            history_backlog: self.keeping.store().backlog(),
            logins_failed: self.accounts.failed_checks(),
            ..self.metrics.load(registered, rooms)
        }
    }

    /// Claims `nick` for client `id` (first time or rename), atomically: of many clients
    /// racing for one nick exactly one wins. A first claim registers the client with the
    /// capabilities `caps` it turned on so far. A registration or rename queues the client
    /// `confirm` (its `OK NICK` or `OK LOGIN`) in the critical section that tells the others,
    /// so that no line sent to it after the change can come before it; an unchanged nick
    /// queues nothing, for the caller to answer.
    pub fn claim(
        &self,
        id: ConnId,
        nick: Nick,
        outbox: &Outbox,
        caps: CapSet,
        identity: Identity,
        confirm: &Reply,
    ) -> Result<(Claimed, Pending), ProtocolError> {
        let key = nick.key();
        let mut table = self.table.write();
        if table.ids.get(&key).is_some_and(|&owner| owner != id) {
            return Err(ProtocolError::NickTaken(nick));
        }
        let Table {
            ids,
            clients,
            rooms,
            presence,
            remote,
            ..
        } = &mut *table;
        let (claimed, announcement, tell) = match clients.get_mut(&id) {
            // Cut before it left the table (see `finish`): checked under the lock, so a
            // `NICK` that raced the cut cannot bring it back.
            None if outbox.is_cut() => return Ok((Claimed::Dropped, Pending::default())),
            None => {
                let announcement = Reply::Join(nick.clone());
                let client = Client {
                    nick: nick.clone(),
                    outbox: outbox.clone(),
                    caps,
                    identity,
                };
                clients.insert(id, client);
                let tell = presence.joined(clients.len() + remote.len(), Instant::now());
                (Claimed::Joined, announcement, tell)
            }
            Some(client) if client.nick == nick => {
                client.identity = identity;
                return Ok((Claimed::Unchanged, Pending::default()));
            }
            Some(client) => {
                client.identity = identity;
                let old = std::mem::replace(&mut client.nick, nick.clone());
                ids.remove(&old.key());
                rooms.rename(id, &nick);
                let announcement = Reply::NickChanged {
                    old: old.clone(),
                    new: nick.clone(),
                };
                (Claimed::Renamed { old }, announcement, presence.renamed())
            }
        };
        // The cluster's claim was made before (`Errand::Claim`): a record of the nick on
        // another node is past.
        remote.remove(&key);
        ids.insert(key, id);
        self.tell_cluster_claimed(&claimed, &nick, id);
        let co_members = rooms_to_tell(&tell, rooms, id);
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
        let client = table.clients.get(&id).expect("inserted or renamed above");
        if claimed == Claimed::Joined {
            // Its own mode and count, in order with every change told after it; just before
            // its `OK NICK`.
            let current = table.presence.current(table.lobby_count());
            if let Some(line) = line_for_one(&current, client.caps) {
                pending.answer(id, client, line);
            }
        }
        // Before the order is released: another worker's broadcast may reach the client
        // as soon as it is, and must come after this.
        pending.answer(id, client, shared_line(confirm));
        drop(order);
        Ok((claimed, pending))
    }

    /// Removes client `id` and tells the others `QUIT <nick> [reason]`, then the members of
    /// the rooms it owned who owns them now (`OWNER`, to those with `CAP owner`). Returns the
    /// nick it had, or `None` if it was not registered (or already removed).
    pub fn leave(&self, id: ConnId, reason: Option<&str>) -> (Option<Nick>, Pending) {
        let mut table = self.table.write();
        let Table {
            ids,
            clients,
            rooms,
            away,
            presence,
            wrong_in_cluster,
            remote,
            ..
        } = &mut *table;
        let Some(client) = clients.remove(&id) else {
            return (None, Pending::default());
        };
        ids.remove(&client.nick.key());
        away.remove(&id);
        wrong_in_cluster.remove(&id);
        let told_cluster = self.tell_cluster_left(&client.nick, id, reason);
        let tell = presence.left(clients.len() + remote.len(), Instant::now());
        let co_members = rooms_to_tell(&tell, rooms, id);
        // Silently: the QUIT below tells everyone, or everyone who shares a room with it. On
        // a node of a cluster, when the stream brings the departure back, in the rooms' order
        // on every node (`clustered_rooms`).
        let new_owners = if told_cluster {
            Vec::new()
        } else {
            rooms.leave_all(id)
        };
        // A room whose owner changed keeps its order locked from before the QUIT to after its
        // OWNER line, so none of its lines comes between them. Under the write lock nobody
        // holds a room's order, so taking several cannot wait.
        let room_orders: Vec<Arc<Mutex<History>>> = new_owners
            .iter()
            .filter_map(|change| rooms.get(&change.room))
            .map(|state| Arc::clone(&state.order))
            .collect();
        let fan_out = self.fan_out.lock();
        let held: Vec<MutexGuard<'_, History>> =
            room_orders.iter().map(|order| order.lock()).collect();
        let table = RwLockWriteGuard::downgrade(table);
        let announcement = Reply::Quit {
            nick: client.nick.clone(),
            reason: reason.map(str::to_owned),
        };
        let mut pending = Pending::for_recipients(table.clients.len());
        tell_change(
            &table.clients,
            id,
            &announcement,
            &tell,
            &co_members,
            &mut pending,
        );
        for change in &new_owners {
            announce_owner(&table.clients, &table.rooms, change, &mut pending);
        }
        drop(held);
        drop(fan_out);
        (Some(client.nick), pending)
    }

    /// `CAP`: client `id` (if registered) now has the capabilities `caps`. A registered
    /// client that turns `presence` on is queued the lobby's mode and count, just before its
    /// `OK CAP presence`, in order with every change told after it.
    /// Client `id` keeps its nick and becomes a guest or the account's holder (`REGISTER`,
    /// `UNREGISTER`).
    pub fn set_identity(&self, id: ConnId, identity: Identity) {
        if let Some(client) = self.table.write().clients.get_mut(&id) {
            client.identity = identity;
        }
    }

    pub fn set_caps(&self, id: ConnId, caps: CapSet) -> Pending {
        let mut table = self.table.write();
        let count = table.lobby_count();
        let Some(client) = table.clients.get_mut(&id) else {
            return Pending::default();
        };
        let newly = caps.has(Capability::Presence) && !client.caps.has(Capability::Presence);
        client.caps = caps;
        let mut pending = Pending::default();
        if newly {
            let _order = self.fan_out.lock();
            let current = table.presence.current(count);
            let client = &table.clients[&id];
            let line = line_for_one(&current, caps).expect("the client has CAP presence");
            pending.answer(id, client, line);
        }
        pending
    }

    /// Tells a counted lobby's `CAP presence` clients its count, if it changed and was last
    /// told long enough ago (see `presence`). The timeouts thread calls it at each look.
    pub fn tell_count(&self) -> Pending {
        // The write lock only when there may be something to tell: an exact lobby, the usual
        // case, costs a read.
        if !self.table.read().presence.is_counted() {
            return Pending::default();
        }
        let mut table = self.table.write();
        let count = table.lobby_count();
        let Some(line) = table.presence.tick(count, Instant::now()) else {
            return Pending::default();
        };
        let order = self.fan_out.lock();
        let table = RwLockWriteGuard::downgrade(table);
        let pending = push_to_all(&table.clients, None, &Forms::new(&line), Wake::Announcement);
        drop(order);
        pending
    }

    /// `AWAY [text]`: client `id` (if registered) is away with that text, or back.
    pub fn set_away(&self, id: ConnId, text: Option<&str>) {
        let mut table = self.table.write();
        if !table.clients.contains_key(&id) {
            return;
        }
        match text {
            Some(text) => table.away.insert(id, text.to_owned()),
            None => table.away.remove(&id),
        };
        if let (Some(link), Some(client)) = (&self.cluster, table.clients.get(&id)) {
            // The other nodes tell their clients' senders too; a full hand-over costs them
            // only the notice.
            let away = Presence::Away {
                nick: client.nick.clone(),
                text: text.map(str::to_owned),
            };
            let _ = link.send(Request::Presence {
                conn: id,
                presence: away,
            });
        }
    }

    /// Removes every client without announcements (the server is shutting down and tells
    /// each one itself). Returns their outboxes.
    pub fn clear(&self) -> Vec<Outbox> {
        let mut table = self.table.write();
        table.ids.clear();
        table.remote.clear();
        table.remote_ids.clear();
        table.wrong_in_cluster.clear();
        table.rooms = Rooms::new(self.keeping.clone());
        table.away.clear();
        table.wrong_keys = AddressWrongKeys::default();
        table
            .clients
            .drain()
            .map(|(_, client)| client.outbox)
            .collect()
    }

    /// Queues `line` (`ALL`, or an `ME *` in its forms) for every registered client but
    /// `from`, in the one global broadcast order, with an id taken in that order, and records
    /// it in the lobby's history there.
    pub fn broadcast(&self, from: ConnId, line: &impl ChatLine) -> Pending {
        if let Some(link) = &self.cluster {
            return self.publish_lobby(link, from, line);
        }
        let table = self.table.read();
        if !table.clients.contains_key(&from) {
            return Pending::default();
        }
        let time = history::now();
        let text = self.keeping.text(line.v1());
        let mut lobby = self.fan_out.lock();
        let id = self.ids.next();
        if let Some(text) = text {
            lobby.record(id, time, text);
        }
        push_to_all(
            &table.clients,
            Some(from),
            &WithId::new(line, id),
            Wake::Delivery,
        )
    }

    /// `HISTORY`: at most `count` lines of `target` as `page` asks, oldest first, and the
    /// target as the lines name it (a room as its creator spelled it, a nick as asked). The
    /// lobby's history for any registered client; a room's for its members only
    /// (`NOT_IN_ROOM`, or `NO_SUCH_ROOM` for a private room, as `WHO #room` decides); a
    /// nick's for a logged-in client, its account's lines with that nick (`direct_lines`).
    /// Reference counts are taken under the locks; the store is read and the lines are
    /// formatted after.
    pub fn history(
        &self,
        id: ConnId,
        target: &Target,
        count: usize,
        page: Page,
    ) -> Result<(Target, Vec<Entry>), ProtocolError> {
        let (target, paged) = {
            let table = self.table.read();
            match target {
                Target::Lobby => (Target::Lobby, self.fan_out.lock().page(count, page)),
                Target::Room(room) => {
                    let state = table.rooms.member_room(id, room)?;
                    let paged = state.order.lock().page(count, page);
                    (Target::Room(state.name.clone()), paged)
                }
                Target::Nick(nick) => {
                    // Not under this lock: the store's barrier waits for its thread.
                    drop(table);
                    let entries = self.direct_history(id, nick, count, page)?;
                    return Ok((target.clone(), entries));
                }
            }
        };
        // After the locks: the part older than the ring may be read from the disk.
        Ok((target, paged.finish(count)))
    }

    /// Every registered nick, unsorted: a reference count each under the read lock; `WHO`
    /// sorts them after.
    pub fn nicks(&self) -> Vec<Nick> {
        let mut nicks: Vec<Nick> = {
            let table = self.table.read();
            table.clients.values().map(|c| c.nick.clone()).collect()
        };
        if self.cluster.is_some() {
            self.remote_nicks(&mut nicks);
        }
        nicks
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table.read().clients.len()
    }

    /// Does what deliveries left for after the lock: writes to idle clients, then cuts each
    /// slow consumer's socket, removes it, and tells the others
    /// `QUIT <nick> slow consumer...`. An announcement may overflow yet another queue; those
    /// go the same way.
    pub fn finish(&self, pending: Pending) {
        let Pending {
            flushes,
            mut slow,
            queued,
            delivered,
            ..
        } = pending;
        // Counted before the flushes give bytes back, to keep the count from going negative.
        self.metrics.queued(queued);
        self.metrics.delivered(delivered);
        for flush in flushes {
            flush.run();
        }
        while let Some((id, outbox)) = slow.pop() {
            // Cut before it leaves the table: its session executes nothing once cut, and a
            // `NICK` of its that already waits for the table finds it cut there (`claim`).
            // The other way round, that `NICK` could register it again in between (issue 13).
            // Noted for the log before the cut, which empties the queue and closes the socket.
            let queued = outbox.queued_bytes();
            let peer = outbox.peer_addr().map(|p| p.to_string());
            // Once per client: a fan-out may find the same full queue more than once.
            if outbox.cut() {
                self.metrics.slow_consumer_cut();
            }
            let (nick, more) = self.leave(id, Some(SLOW_CONSUMER));
            if let Some(nick) = nick {
                log::warn!(
                    "conn#{id} {}: dropped {nick} as a slow consumer ({queued} bytes queued)",
                    peer.as_deref().unwrap_or("-"),
                );
            }
            self.metrics.queued(more.queued);
            for flush in more.flushes {
                flush.run();
            }
            slow.extend(more.slow);
        }
    }
}

/// The clients told of client `id`'s change when the lobby is not (`tell`): those sharing a
/// room with it. Read before a departure takes it out of its rooms.
fn rooms_to_tell(tell: &Tell, rooms: &Rooms, id: ConnId) -> Vec<ConnId> {
    match tell {
        Tell::Everyone => Vec::new(),
        Tell::RoomsOnly | Tell::Switched(_) => rooms.co_members(id),
    }
}

/// Tells the others of client `id`'s registration, rename or departure (`announcement`),
/// as `tell` says: everyone, or only `co_members` (those sharing a room with it), and on a
/// switch of the lobby's mode the `PRESENCE` line to every client with `CAP presence`.
fn tell_change(
    clients: &HashMap<ConnId, Client>,
    id: ConnId,
    announcement: &Reply,
    tell: &Tell,
    co_members: &[ConnId],
    pending: &mut Pending,
) {
    let line = shared_line(announcement);
    match tell {
        Tell::Everyone => {
            for (&other, client) in clients {
                if other != id {
                    pending.push(other, client, Arc::clone(&line), Wake::Announcement);
                }
            }
        }
        Tell::RoomsOnly | Tell::Switched(_) => {
            if let Tell::Switched(presence) = tell {
                let presence = Forms::new(presence);
                for (&other, client) in clients {
                    if let Some(line) = presence.line_for(client.caps) {
                        pending.push(other, client, Arc::clone(line), Wake::Announcement);
                    }
                }
            }
            push_to_members(
                clients,
                co_members,
                Some(id),
                &line,
                Wake::Announcement,
                pending,
            );
        }
    }
}

#[cfg(test)]
mod tests;
