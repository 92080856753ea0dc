//! The rooms: who is in which, who owns it, its key, privacy, topic and invitations, and the
//! rules of `JOIN`, `PART`, `TOPIC`, `KEY`, `PRIVATE` and `INVITE`.
//!
//! In scope: room state and the decisions, returned as data (who must be told what: a
//! [`NewOwner`] when an owner leaves a room that others stay in), and the limits on rooms
//! (`--max-rooms`, `--max-topic`, `--max-key`, members and rooms per client). Out of scope:
//! locking and delivery (`registry`, which keeps a `Rooms` in its table under the table
//! lock), counting wrong keys over time (the caller's [`KeyGuesses`]), parsing (`protocol`).
//! No I/O, no clock and no logging here, so every rule is unit-tested.
//!
//! Every change is bounded work, because it runs under the table's write lock (issue 13): a
//! member joins or leaves a room in O(log n) of its members, and its nick is kept in the
//! room's sorted list so that `WHO #room` and the list a joiner gets need no sort; a client
//! leaving forgets its invitations through the index of who is invited where, not by visiting
//! every room.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::config::Config;
use crate::server::conn_id::ConnId;
use crate::server::history::{History, Keeping};
use crate::server::store::RoomRecord;
use chatd_proto::{Nick, ProtocolError, Room, RoomKey};

/// Every room, and every client's rooms and invitations.
#[derive(Default)]
pub struct Rooms {
    rooms: HashMap<RoomKey, RoomState>,
    /// The rooms each client is in, for `--max-rooms-per-client`, renames and leaving them
    /// all.
    memberships: HashMap<ConnId, HashSet<RoomKey>>,
    /// The rooms each client is invited to and has not joined since: the other side of
    /// [`RoomState::invited`], so a departure forgets its invitations in O(its own).
    invitations: HashMap<ConnId, HashSet<RoomKey>>,
    /// How a new room keeps its history.
    keeping: Keeping,
    /// On a node of a cluster, the stream's sequence of the command being carried out: a
    /// room it makes remembers it ([`RoomState::since`]).
    position: u64,
}

pub struct RoomState {
    /// The name as its creator typed it.
    pub name: Room,
    /// The members, in no particular order: what a delivery to the room walks.
    list: Vec<ConnId>,
    /// Each member's nick (its place in `by_nick`), join number (its place in `by_age`) and
    /// index in `list`.
    members: HashMap<ConnId, Member>,
    /// The members sorted by nick ignoring case, as `WHO #room` lists them.
    by_nick: BTreeMap<ByNick, ConnId>,
    /// The members by join number: the first owns the room (the creator, then whoever has
    /// been present longest).
    by_age: BTreeMap<u64, ConnId>,
    /// Joins so far, to number the next one.
    joins: u64,
    key: Option<String>,
    private: bool,
    pub topic: Option<Topic>,
    /// Clients invited and not joined yet; an invitation admits once.
    invited: HashSet<ConnId>,
    /// The owner account's nick, for a registered room: the room stays when it empties, and
    /// that account's holder is its owner whenever present (nobody owns it meanwhile).
    registered: Option<Nick>,
    /// The room's conversation number in the history store (`None` without one): a
    /// registered room's row names it.
    conversation: Option<u64>,
    /// Held while one of the room's lines is queued, so every member sees them in one
    /// order: under the table's read lock for `MSG #room`, or from the write lock that
    /// changed the room through its downgrade to a read lock for `JOIN`, `PART`, `TOPIC` and
    /// `OWNER`. One per room, so rooms fan out in parallel; shared (`Arc`) so that a guard
    /// can outlive the write guard it was taken under. It guards the room's history: a
    /// `MSG #room` is recorded in the critical section that takes its id and orders it, and a
    /// room that is forgotten drops its history with it.
    pub order: Arc<Mutex<History>>,
    /// On a node of a cluster, the stream's sequence of the `JOIN` that made the room: its
    /// lines in the stream are the ones after it (0 on a single server).
    since: u64,
}

/// A room's topic. The text is shared so that `ROOMS` and `TOPIC` copy it outside the table
/// lock, not under it.
pub struct Topic {
    pub setter: Nick,
    pub text: Arc<str>,
}

struct Member {
    nick: Nick,
    joined: u64,
    slot: usize,
}

/// A nick ordered as its key, without the key's allocation.
struct ByNick(Nick);

impl Ord for ByNick {
    fn cmp(&self, other: &ByNick) -> Ordering {
        self.0.cmp_key(&other.0)
    }
}

impl PartialOrd for ByNick {
    fn partial_cmp(&self, other: &ByNick) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ByNick {
    fn eq(&self, other: &ByNick) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ByNick {}

/// The limits the room commands check.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `--max-rooms-per-client`.
    pub rooms_per_client: usize,
    /// `--max-room-members`.
    pub room_members: usize,
    /// `--max-rooms`: rooms on the server.
    pub rooms: usize,
    /// `--max-topic`, in bytes.
    pub topic: usize,
    /// `--max-key`, in bytes.
    pub key: usize,
}

impl Limits {
    pub fn of(config: &Config) -> Limits {
        Limits {
            rooms_per_client: config.max_rooms_per_client,
            room_members: config.max_room_members,
            rooms: config.max_rooms,
            topic: config.max_topic,
            key: config.max_key,
        }
    }
}

#[cfg(test)]
impl Default for Limits {
    /// The defaults of the flags.
    fn default() -> Limits {
        Limits::of(&Config::default())
    }
}

/// Whether a `JOIN` may try a room's key now, and where its wrong keys are counted: the
/// caller's throttle (`registry::key_guesses`), which keeps the clock out of the rules here.
/// Consulted only when the key decides: a keyed room, a client not invited.
pub trait KeyGuesses {
    /// How long until a guess is allowed again, or `None` if one is allowed now.
    fn refused_for(&self) -> Option<Duration>;
    /// Counts a wrong (or missing) key.
    fn wrong(&mut self);
}

/// What a successful `PART` changed.
#[derive(Debug, PartialEq, Eq)]
pub struct Parted {
    /// The room's name as its creator typed it.
    pub room: Room,
    pub new_owner: Option<NewOwner>,
}

/// A room's owner changed while others stayed: the owner left and the longest-present member
/// owns it now, or a registered room's owner account came back. The members with `CAP owner`
/// must be told.
#[derive(Debug, PartialEq, Eq)]
pub struct NewOwner {
    pub room: RoomKey,
    pub owner: ConnId,
}

impl RoomState {
    /// The members, in no particular order.
    pub fn members(&self) -> &[ConnId] {
        &self.list
    }

    /// The members' nicks, sorted ignoring case.
    pub fn member_nicks(&self) -> impl Iterator<Item = &Nick> {
        self.by_nick.keys().map(|ByNick(nick)| nick)
    }

    pub fn is_member(&self, id: ConnId) -> bool {
        self.members.contains_key(&id)
    }

    /// The nick member `id` had when it joined, or since its last rename.
    pub fn member_nick(&self, id: ConnId) -> Option<&Nick> {
        self.members.get(&id).map(|member| &member.nick)
    }

    /// Who owns the room: a registered room's owner account when it is a member (nobody
    /// otherwise), any other room's longest-present member.
    pub fn owner(&self) -> Option<ConnId> {
        match &self.registered {
            Some(account) => self.by_nick.get(&ByNick(account.clone())).copied(),
            None => self.by_age.values().next().copied(),
        }
    }

    /// Whether the room is registered to the account called `nick`.
    fn is_registered_to(&self, nick: &Nick) -> bool {
        self.registered
            .as_ref()
            .is_some_and(|account| account.cmp_key(nick) == Ordering::Equal)
    }

    pub fn is_registered(&self) -> bool {
        self.registered.is_some()
    }

    /// A registered room's row for the store, or `None` for a room that is not registered
    /// (or has no store behind it).
    pub fn record(&self) -> Option<RoomRecord> {
        let (owner, conversation) = (self.registered.as_ref()?, self.conversation?);
        Some(RoomRecord {
            name_key: self.name.key().into_string(),
            name: self.name.to_string(),
            owner: owner.with_key(str::to_owned),
            owner_nick: owner.to_string(),
            topic: self
                .topic
                .as_ref()
                .map(|topic| (topic.setter.to_string(), topic.text.to_string())),
            key: self.key.clone(),
            private: self.private,
            conversation,
        })
    }

    fn visible_to(&self, id: ConnId) -> bool {
        !self.private || self.is_member(id)
    }

    fn add(&mut self, id: ConnId, nick: &Nick) {
        self.joins += 1;
        let member = Member {
            nick: nick.clone(),
            joined: self.joins,
            slot: self.list.len(),
        };
        self.list.push(id);
        self.by_nick.insert(ByNick(nick.clone()), id);
        self.by_age.insert(member.joined, id);
        self.members.insert(id, member);
    }

    fn remove(&mut self, id: ConnId) {
        let Some(member) = self.members.remove(&id) else {
            return;
        };
        self.by_age.remove(&member.joined);
        // Unless another member holds the nick now: on a node of a cluster, a client that
        // left is taken out of its rooms when the stream says so, and its nick may have been
        // taken meanwhile.
        let by_nick = ByNick(member.nick);
        if self.by_nick.get(&by_nick) == Some(&id) {
            self.by_nick.remove(&by_nick);
        }
        self.list.swap_remove(member.slot);
        if let Some(moved) = self.list.get(member.slot) {
            self.members
                .get_mut(moved)
                .expect("every listed member has its record")
                .slot = member.slot;
        }
    }
}

impl Rooms {
    /// No rooms yet; each new one keeps its history as `keeping` says.
    pub fn new(keeping: Keeping) -> Rooms {
        Rooms {
            rooms: HashMap::new(),
            memberships: HashMap::new(),
            invitations: HashMap::new(),
            keeping,
            position: 0,
        }
    }

    /// `JOIN room [key]` by client `id`, called `nick`: creates the room or admits the
    /// client, checking in the documented order: ALREADY_IN_ROOM, TOO_MANY_ROOMS,
    /// NO_MORE_ROOMS (a new room), INVITE_ONLY, TOO_MANY_ATTEMPTS, BAD_KEY, ROOM_FULL.
    pub fn join(
        &mut self,
        id: ConnId,
        nick: &Nick,
        room: &Room,
        key: Option<&str>,
        limits: Limits,
        guesses: &mut dyn KeyGuesses,
    ) -> Result<&RoomState, ProtocolError> {
        let room_key = room.key();
        let count = self.memberships.get(&id).map_or(0, HashSet::len);
        if let Some(state) = self.rooms.get(&room_key) {
            if state.is_member(id) {
                return Err(ProtocolError::AlreadyInRoom(state.name.clone()));
            }
            if count >= limits.rooms_per_client {
                return Err(ProtocolError::TooManyRooms {
                    max: limits.rooms_per_client,
                });
            }
            // A registered room's owner account comes in past its key and privacy: nobody
            // else can invite it into its own room while it is empty.
            let invited = state.invited.contains(&id) || state.is_registered_to(nick);
            if state.private && !invited {
                return Err(ProtocolError::InviteOnly(state.name.clone()));
            }
            if let (Some(wanted), false) = (&state.key, invited) {
                if let Some(wait) = guesses.refused_for() {
                    // Whole seconds, rounded up: "try again in 0 s" would be wrong.
                    let wait_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                    return Err(ProtocolError::TooManyAttempts { wait_secs });
                }
                if key != Some(wanted.as_str()) {
                    guesses.wrong();
                    return Err(ProtocolError::BadKey(state.name.clone()));
                }
            }
            if state.list.len() >= limits.room_members {
                return Err(ProtocolError::RoomFull {
                    room: state.name.clone(),
                    max: limits.room_members,
                });
            }
        } else if count >= limits.rooms_per_client {
            return Err(ProtocolError::TooManyRooms {
                max: limits.rooms_per_client,
            });
        } else if self.rooms.len() >= limits.rooms {
            return Err(ProtocolError::NoMoreRooms { max: limits.rooms });
        }
        self.memberships
            .entry(id)
            .or_default()
            .insert(room_key.clone());
        self.forget_invitation(id, &room_key);
        let (keeping, since) = (&self.keeping, self.position);
        let state = self.rooms.entry(room_key).or_insert_with(|| {
            let mut state = RoomState::new(room.clone(), keeping.room());
            state.since = since;
            state
        });
        state.invited.remove(&id);
        state.add(id, nick);
        Ok(state)
    }

    /// `PART room` by client `id`. The room keeps the others, if any.
    pub fn part(&mut self, id: ConnId, room: &Room) -> Result<Parted, ProtocolError> {
        let state = self.member_room(id, room)?;
        let name = state.name.clone();
        let new_owner = self.remove_member(id, &room.key());
        Ok(Parted {
            room: name,
            new_owner,
        })
    }

    /// Client `id` is called `nick` now: its place in the sorted member list of each of its
    /// rooms follows.
    pub fn rename(&mut self, id: ConnId, nick: &Nick) {
        let Some(keys) = self.memberships.get(&id) else {
            return;
        };
        for key in keys {
            let Some(state) = self.rooms.get_mut(key) else {
                continue;
            };
            let Some(member) = state.members.get_mut(&id) else {
                continue;
            };
            let old = std::mem::replace(&mut member.nick, nick.clone());
            state.by_nick.remove(&ByNick(old));
            state.by_nick.insert(ByNick(nick.clone()), id);
        }
    }

    /// Rooms that exist, private ones included.
    pub fn count(&self) -> usize {
        self.rooms.len()
    }

    /// The room called `key`, whoever asks.
    pub fn get(&self, key: &RoomKey) -> Option<&RoomState> {
        self.rooms.get(key)
    }

    /// The room `id` is a member of, or the error a non-member gets (NO_SUCH_ROOM for a room
    /// it cannot see).
    pub fn member_room(&self, id: ConnId, room: &Room) -> Result<&RoomState, ProtocolError> {
        let state = self.visible_room(id, room)?;
        if state.is_member(id) {
            Ok(state)
        } else {
            Err(ProtocolError::NotInRoom(state.name.clone()))
        }
    }

    /// The room, if `id` may see it (public, or private with `id` a member).
    pub fn visible_room(&self, id: ConnId, room: &Room) -> Result<&RoomState, ProtocolError> {
        match self.rooms.get(&room.key()) {
            Some(state) if state.visible_to(id) => Ok(state),
            _ => Err(ProtocolError::NoSuchRoom(room.to_string())),
        }
    }

    /// `TOPIC room text`: members only, at most `max` bytes.
    pub fn set_topic(
        &mut self,
        id: ConnId,
        room: &Room,
        setter: Nick,
        text: &str,
        max: usize,
    ) -> Result<&RoomState, ProtocolError> {
        self.member_room(id, room)?;
        check_length("a topic", text, max)?;
        let state = self.rooms.get_mut(&room.key()).expect("checked above");
        state.topic = Some(Topic {
            setter,
            text: Arc::from(text),
        });
        Ok(state)
    }

    /// `KEY room [key]`: the owner only, at most `max` bytes; no key clears it.
    pub fn set_key(
        &mut self,
        id: ConnId,
        room: &Room,
        key: Option<&str>,
        max: usize,
    ) -> Result<Room, ProtocolError> {
        let state = self.owned_room(id, room)?;
        if let Some(key) = key {
            check_length("a key", key, max)?;
        }
        state.key = key.map(str::to_owned);
        Ok(state.name.clone())
    }

    /// `REGISTER room` by member `id`, the holder of the account called `account`: the
    /// owner only (again is no change).
    pub fn register(
        &mut self,
        id: ConnId,
        room: &Room,
        account: &Nick,
    ) -> Result<&RoomState, ProtocolError> {
        let state = self.owned_room(id, room)?;
        state.registered = Some(account.clone());
        Ok(state)
    }

    /// A registered room from a previous run, empty, with `history` going on from its
    /// stored lines. Taken as it comes: the database held at most one row per name.
    pub fn restore(&mut self, saved: SavedRoom, history: History) {
        let mut state = RoomState::new(saved.name, history);
        state.registered = Some(saved.owner);
        state.topic = saved.topic;
        state.key = saved.key;
        state.private = saved.private;
        self.rooms.insert(state.name.key(), state);
    }

    /// The account called `account` is gone (`UNREGISTER`): its rooms are ordinary rooms
    /// now, kept while they have members, their stored lines deleted when forgotten. Returns
    /// their names. Walks every room: an account goes rarely, and an index would cost every
    /// `REGISTER #room`.
    pub fn unregister_owned(&mut self, account: &Nick) -> Vec<Room> {
        let owned: Vec<RoomKey> = self
            .rooms
            .iter()
            .filter(|(_, state)| state.is_registered_to(account))
            .map(|(key, _)| key.clone())
            .collect();
        let mut names = Vec::with_capacity(owned.len());
        for key in owned {
            let state = self.rooms.get_mut(&key).expect("listed above");
            state.registered = None;
            state.order.lock().keep_on_disk(false);
            names.push(state.name.clone());
            if state.list.is_empty() {
                self.forget_room(&key);
            }
        }
        names
    }

    /// `PRIVATE room on|off`: the owner only.
    pub fn set_private(
        &mut self,
        id: ConnId,
        room: &Room,
        on: bool,
    ) -> Result<Room, ProtocolError> {
        let state = self.owned_room(id, room)?;
        state.private = on;
        Ok(state.name.clone())
    }

    /// `INVITE nick room` by member `id`, for client `invitee`.
    pub fn invite(
        &mut self,
        id: ConnId,
        room: &Room,
        invitee: ConnId,
    ) -> Result<Room, ProtocolError> {
        self.member_room(id, room)?;
        let room_key = room.key();
        let state = self.rooms.get_mut(&room_key).expect("checked above");
        if state.is_member(invitee) {
            return Err(ProtocolError::AlreadyInRoom(state.name.clone()));
        }
        state.invited.insert(invitee);
        let name = state.name.clone();
        self.invitations
            .entry(invitee)
            .or_default()
            .insert(room_key);
        Ok(name)
    }

    /// The rooms `id` may see, in no particular order (`ROOMS` sorts them once the table lock
    /// is released).
    pub fn visible_to(&self, id: ConnId) -> impl Iterator<Item = &RoomState> {
        self.rooms
            .values()
            .filter(move |state| state.visible_to(id))
    }

    /// The clients that share at least one room with `id`, each once, `id` left out: who
    /// is told of its rename or departure when the lobby is not (`--presence-limit`).
    pub fn co_members(&self, id: ConnId) -> Vec<ConnId> {
        let Some(keys) = self.memberships.get(&id) else {
            return Vec::new();
        };
        let mut seen = HashSet::new();
        for state in keys.iter().filter_map(|key| self.rooms.get(key)) {
            seen.extend(state.list.iter().copied().filter(|&member| member != id));
        }
        seen.into_iter().collect()
    }

    /// Removes `id` from every room, silently (its lobby `QUIT` tells everyone), and forgets
    /// its invitations. Returns the rooms it owned that others stay in.
    pub fn leave_all(&mut self, id: ConnId) -> Vec<NewOwner> {
        let mut new_owners = Vec::new();
        for key in self.memberships.remove(&id).unwrap_or_default() {
            new_owners.extend(self.remove_member(id, &key));
        }
        for key in self.invitations.remove(&id).unwrap_or_default() {
            if let Some(state) = self.rooms.get_mut(&key) {
                state.invited.remove(&id);
            }
        }
        new_owners
    }

    fn owned_room(&mut self, id: ConnId, room: &Room) -> Result<&mut RoomState, ProtocolError> {
        let state = self.member_room(id, room)?;
        if state.owner() != Some(id) {
            return Err(ProtocolError::NotOwner(state.name.clone()));
        }
        Ok(self.rooms.get_mut(&room.key()).expect("checked above"))
    }

    /// Takes `id` out of the room; the longest-present member becomes the owner (returned when
    /// that is a change; a registered room has none while its owner account is away), and an
    /// empty room disappears with its key, privacy, topic and invitations, unless it is
    /// registered.
    fn remove_member(&mut self, id: ConnId, key: &RoomKey) -> Option<NewOwner> {
        if let Some(rooms) = self.memberships.get_mut(&id) {
            rooms.remove(key);
            if rooms.is_empty() {
                self.memberships.remove(&id);
            }
        }
        let state = self.rooms.get_mut(key)?;
        let owner = state.owner();
        state.remove(id);
        if state.list.is_empty() {
            if !state.is_registered() {
                self.forget_room(key);
            }
            return None;
        }
        match state.owner() {
            Some(new) if owner != Some(new) => Some(NewOwner {
                room: key.clone(),
                owner: new,
            }),
            _ => None,
        }
    }

    /// Removes the room `key` with its invitations.
    fn forget_room(&mut self, key: &RoomKey) {
        if let Some(state) = self.rooms.remove(key) {
            for invitee in state.invited {
                self.forget_invitation(invitee, key);
            }
        }
    }

    /// Drops `invitee`'s entry for the room `key` from the index (not from the room).
    fn forget_invitation(&mut self, invitee: ConnId, key: &RoomKey) {
        if let Some(rooms) = self.invitations.get_mut(&invitee) {
            rooms.remove(key);
            if rooms.is_empty() {
                self.invitations.remove(&invitee);
            }
        }
    }
}

/// Refuses `text` if it is longer than `max` bytes.
fn check_length(what: &'static str, text: &str, max: usize) -> Result<(), ProtocolError> {
    if text.len() > max {
        return Err(ProtocolError::TooLong {
            what,
            max,
            got: text.len(),
        });
    }
    Ok(())
}

/// A registered room as a previous run left it.
pub struct SavedRoom {
    pub name: Room,
    /// The owner account's nick as registered.
    pub owner: Nick,
    pub topic: Option<Topic>,
    pub key: Option<String>,
    pub private: bool,
}

impl SavedRoom {
    /// The room of a stored row, or `None` if a name in it does not parse.
    pub fn of(record: &RoomRecord) -> Option<SavedRoom> {
        let topic = match &record.topic {
            Some((setter, text)) => Some(Topic {
                setter: Nick::parse(setter).ok()?,
                text: Arc::from(text.as_str()),
            }),
            None => None,
        };
        Some(SavedRoom {
            name: Room::parse(&record.name).ok()?,
            owner: Nick::parse(&record.owner_nick).ok()?,
            topic,
            key: record.key.clone(),
            private: record.private,
        })
    }
}

impl RoomState {
    fn new(name: Room, history: History) -> RoomState {
        RoomState {
            conversation: history.conversation(),
            registered: None,
            name,
            list: Vec::new(),
            members: HashMap::new(),
            by_nick: BTreeMap::new(),
            by_age: BTreeMap::new(),
            joins: 0,
            key: None,
            private: false,
            topic: None,
            invited: HashSet::new(),
            order: Arc::new(Mutex::new(history)),
            since: 0,
        }
    }
}

mod image;
#[cfg(test)]
mod tests;
