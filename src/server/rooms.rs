//! The rooms: who is in which, who owns it, its key, privacy, topic and invitations, and the
//! rules of `JOIN`, `PART`, `TOPIC`, `KEY`, `PRIVATE` and `INVITE`.
//!
//! In scope: room state and the decisions, returned as data (who must be told what: a
//! [`NewOwner`] when an owner leaves a room that others stay in). Out of
//! scope: locking and delivery (`registry`, which keeps a `Rooms` in its table under the table
//! lock), parsing (`protocol`). No I/O and no logging here, so every rule is unit-tested.

use std::collections::{HashMap, HashSet};

use parking_lot::Mutex;

use crate::server::conn_id::ConnId;
use chatd_proto::{Nick, ProtocolError, Room, RoomKey};

/// Every room, and every client's rooms.
#[derive(Default)]
pub struct Rooms {
    rooms: HashMap<RoomKey, RoomState>,
    /// The rooms each client is in, for `--max-rooms-per-client` and for leaving them all.
    memberships: HashMap<ConnId, HashSet<RoomKey>>,
}

pub struct RoomState {
    /// The name as its creator typed it.
    pub name: Room,
    /// In the order they joined: the first is the owner (the creator, then whoever has been
    /// present longest).
    members: Vec<ConnId>,
    member_set: HashSet<ConnId>,
    key: Option<String>,
    private: bool,
    pub topic: Option<(Nick, String)>,
    /// Clients invited and not joined yet; an invitation admits once.
    invited: HashSet<ConnId>,
    /// Held (under the table's read lock) while one `MSG #room` is queued, so every member
    /// sees the room's lines in one order; the other room lines are queued under the table's
    /// write lock. One per room, so rooms fan out in parallel.
    pub order: Mutex<()>,
}

/// The limits a `JOIN` checks.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub rooms_per_client: usize,
    pub room_members: usize,
}

#[cfg(test)]
impl Default for Limits {
    /// The defaults of `--max-rooms-per-client` and `--max-room-members`.
    fn default() -> Limits {
        Limits {
            rooms_per_client: crate::config::DEFAULT_MAX_ROOMS_PER_CLIENT,
            room_members: crate::config::DEFAULT_MAX_ROOM_MEMBERS,
        }
    }
}

/// What a successful `JOIN` changed.
pub struct Joined<'a> {
    pub room: &'a RoomState,
}

/// What a successful `PART` changed.
#[derive(Debug, PartialEq, Eq)]
pub struct Parted {
    /// The room's name as its creator typed it.
    pub room: Room,
    pub new_owner: Option<NewOwner>,
}

/// The owner of a room left while others stayed: the longest-present member owns it now, and
/// the members with `CAP owner` must be told.
#[derive(Debug, PartialEq, Eq)]
pub struct NewOwner {
    pub room: RoomKey,
    pub owner: ConnId,
}

impl RoomState {
    pub fn members(&self) -> &[ConnId] {
        &self.members
    }

    pub fn is_member(&self, id: ConnId) -> bool {
        self.member_set.contains(&id)
    }

    pub fn owner(&self) -> ConnId {
        self.members[0]
    }

    fn visible_to(&self, id: ConnId) -> bool {
        !self.private || self.is_member(id)
    }
}

impl Rooms {
    /// `JOIN room [key]` by client `id`: creates the room or admits the client, checking in
    /// the documented order: ALREADY_IN_ROOM, TOO_MANY_ROOMS, INVITE_ONLY, BAD_KEY, ROOM_FULL.
    pub fn join(
        &mut self,
        id: ConnId,
        room: &Room,
        key: Option<&str>,
        limits: Limits,
    ) -> Result<Joined<'_>, ProtocolError> {
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
            let invited = state.invited.contains(&id);
            if state.private && !invited {
                return Err(ProtocolError::InviteOnly(state.name.clone()));
            }
            let key_fits = invited
                || state
                    .key
                    .as_deref()
                    .is_none_or(|wanted| key == Some(wanted));
            if !key_fits {
                return Err(ProtocolError::BadKey(state.name.clone()));
            }
            if state.members.len() >= limits.room_members {
                return Err(ProtocolError::RoomFull {
                    room: state.name.clone(),
                    max: limits.room_members,
                });
            }
        } else if count >= limits.rooms_per_client {
            return Err(ProtocolError::TooManyRooms {
                max: limits.rooms_per_client,
            });
        }
        self.memberships
            .entry(id)
            .or_default()
            .insert(room_key.clone());
        let state = self
            .rooms
            .entry(room_key)
            .or_insert_with(|| RoomState::new(room.clone()));
        state.invited.remove(&id);
        state.members.push(id);
        state.member_set.insert(id);
        Ok(Joined { room: state })
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

    /// `TOPIC room text`: members only.
    pub fn set_topic(
        &mut self,
        id: ConnId,
        room: &Room,
        setter: Nick,
        text: &str,
    ) -> Result<&RoomState, ProtocolError> {
        self.member_room(id, room)?;
        let state = self.rooms.get_mut(&room.key()).expect("checked above");
        state.topic = Some((setter, text.to_owned()));
        Ok(state)
    }

    /// `KEY room [key]`: the owner only; no key clears it.
    pub fn set_key(
        &mut self,
        id: ConnId,
        room: &Room,
        key: Option<&str>,
    ) -> Result<Room, ProtocolError> {
        let state = self.owned_room(id, room)?;
        state.key = key.map(str::to_owned);
        Ok(state.name.clone())
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
        let state = self.rooms.get_mut(&room.key()).expect("checked above");
        if state.is_member(invitee) {
            return Err(ProtocolError::AlreadyInRoom(state.name.clone()));
        }
        state.invited.insert(invitee);
        Ok(state.name.clone())
    }

    /// The rooms `id` may see, sorted by name ignoring case.
    pub fn visible_to(&self, id: ConnId) -> Vec<&RoomState> {
        let mut rooms: Vec<(&RoomKey, &RoomState)> = self
            .rooms
            .iter()
            .filter(|(_, state)| state.visible_to(id))
            .collect();
        rooms.sort_by(|a, b| a.0.cmp(b.0));
        rooms.into_iter().map(|(_, state)| state).collect()
    }

    /// Removes `id` from every room, silently (its lobby `QUIT` tells everyone), and forgets
    /// its invitations. Returns the rooms it owned that others stay in.
    pub fn leave_all(&mut self, id: ConnId) -> Vec<NewOwner> {
        let mut new_owners = Vec::new();
        for key in self.memberships.remove(&id).unwrap_or_default() {
            new_owners.extend(self.remove_member(id, &key));
        }
        for state in self.rooms.values_mut() {
            state.invited.remove(&id);
        }
        new_owners
    }

    fn owned_room(&mut self, id: ConnId, room: &Room) -> Result<&mut RoomState, ProtocolError> {
        let state = self.member_room(id, room)?;
        if state.owner() != id {
            return Err(ProtocolError::NotOwner(state.name.clone()));
        }
        Ok(self.rooms.get_mut(&room.key()).expect("checked above"))
    }

    /// Takes `id` out of the room; the longest-present member becomes the owner (returned when
    /// that is a change), and an empty room disappears with its key, privacy, topic and
    /// invitations.
    fn remove_member(&mut self, id: ConnId, key: &RoomKey) -> Option<NewOwner> {
        if let Some(rooms) = self.memberships.get_mut(&id) {
            rooms.remove(key);
            if rooms.is_empty() {
                self.memberships.remove(&id);
            }
        }
        let state = self.rooms.get_mut(key)?;
        let owned = state.members.first() == Some(&id);
        state.members.retain(|&member| member != id);
        state.member_set.remove(&id);
        match state.members.first() {
            None => {
                self.rooms.remove(key);
                None
            }
            Some(&owner) if owned => Some(NewOwner {
                room: key.clone(),
                owner,
            }),
            Some(_) => None,
        }
    }
}

impl RoomState {
    fn new(name: Room) -> RoomState {
        RoomState {
            name,
            members: Vec::new(),
            member_set: HashSet::new(),
            key: None,
            private: false,
            topic: None,
            invited: HashSet::new(),
            order: Mutex::new(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> Room {
        Room::parse(name).unwrap()
    }

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    const LIMITS: Limits = Limits {
        rooms_per_client: 2,
        room_members: 3,
    };

    fn code(result: Result<impl Sized, ProtocolError>) -> String {
        result
            .err()
            .map_or("ok".to_owned(), |error| error.code().to_string())
    }

    #[test]
    fn the_creator_owns_then_the_longest_present_member() {
        let mut rooms = Rooms::default();
        for id in [1, 2, 3] {
            assert!(rooms.join(id, &room("#Tea"), None, LIMITS).is_ok());
        }
        let tea = || room("#tea").key();
        assert_eq!(rooms.member_room(2, &room("#tea")).unwrap().owner(), 1);
        // Another member leaving changes nothing.
        let parted = rooms.part(3, &room("#tea")).unwrap();
        assert_eq!(parted.new_owner, None);
        rooms.join(3, &room("#tea"), None, LIMITS).unwrap();
        let parted = rooms.part(1, &room("#tea")).unwrap();
        assert_eq!(parted.room, room("#Tea"));
        let new_owner = NewOwner {
            room: tea(),
            owner: 2,
        };
        assert_eq!(parted.new_owner, Some(new_owner));
        assert_eq!(rooms.member_room(2, &room("#tea")).unwrap().owner(), 2);
        assert_eq!(
            code(rooms.set_key(3, &room("#tea"), Some("k"))),
            "NOT_OWNER"
        );
        assert_eq!(rooms.leave_all(3), [], "not the owner");
        rooms.join(3, &room("#tea"), None, LIMITS).unwrap();
        rooms.join(2, &room("#other"), None, LIMITS).unwrap();
        let new_owner = NewOwner {
            room: tea(),
            owner: 3,
        };
        assert_eq!(rooms.leave_all(2), [new_owner], "#other emptied: no owner");
        assert_eq!(rooms.member_room(3, &room("#tea")).unwrap().owner(), 3);
        let parted = rooms.part(3, &room("#tea")).unwrap();
        assert_eq!(parted.new_owner, None, "the room emptied");
        assert_eq!(code(rooms.visible_room(3, &room("#tea"))), "NO_SUCH_ROOM");
        assert!(rooms.get(&tea()).is_none());
    }

    #[test]
    fn join_refusals_come_in_the_documented_order() {
        let mut rooms = Rooms::default();
        assert!(rooms.join(1, &room("#a"), None, LIMITS).is_ok());
        assert_eq!(
            code(rooms.join(1, &room("#A"), None, LIMITS)),
            "ALREADY_IN_ROOM"
        );
        rooms.set_key(1, &room("#a"), Some("k")).unwrap();
        rooms.set_private(1, &room("#a"), true).unwrap();
        assert!(rooms.join(2, &room("#b"), None, LIMITS).is_ok());
        assert!(rooms.join(2, &room("#c"), None, LIMITS).is_ok());
        assert_eq!(
            code(rooms.join(2, &room("#a"), Some("k"), LIMITS)),
            "TOO_MANY_ROOMS"
        );
        assert_eq!(
            code(rooms.join(3, &room("#a"), Some("k"), LIMITS)),
            "INVITE_ONLY"
        );
        rooms.set_private(1, &room("#a"), false).unwrap();
        assert_eq!(
            code(rooms.join(3, &room("#a"), Some("no"), LIMITS)),
            "BAD_KEY"
        );
        assert!(rooms.join(3, &room("#a"), Some("k"), LIMITS).is_ok());
        assert!(rooms.join(4, &room("#a"), Some("k"), LIMITS).is_ok());
        assert_eq!(
            code(rooms.join(5, &room("#a"), Some("k"), LIMITS)),
            "ROOM_FULL"
        );
    }

    #[test]
    fn an_invitation_admits_once_past_privacy_and_key() {
        let mut rooms = Rooms::default();
        rooms.join(1, &room("#den"), None, LIMITS).unwrap();
        rooms.set_key(1, &room("#den"), Some("k")).unwrap();
        rooms.set_private(1, &room("#den"), true).unwrap();
        assert_eq!(code(rooms.invite(2, &room("#den"), 3)), "NO_SUCH_ROOM");
        assert_eq!(code(rooms.invite(1, &room("#den"), 1)), "ALREADY_IN_ROOM");
        rooms.invite(1, &room("#den"), 2).unwrap();
        assert!(
            rooms.visible_to(2).is_empty(),
            "still hidden from the invitee"
        );
        assert!(rooms.join(2, &room("#den"), None, LIMITS).is_ok());
        rooms.part(2, &room("#den")).unwrap();
        assert_eq!(
            code(rooms.join(2, &room("#den"), Some("k"), LIMITS)),
            "INVITE_ONLY"
        );
    }

    #[test]
    fn topics_need_membership_and_an_empty_room_forgets_everything() {
        let mut rooms = Rooms::default();
        rooms.join(1, &room("#tea"), None, LIMITS).unwrap();
        assert_eq!(
            code(rooms.set_topic(2, &room("#tea"), nick("bob"), "x")),
            "NOT_IN_ROOM"
        );
        rooms
            .set_topic(1, &room("#tea"), nick("ann"), "biscuits")
            .unwrap();
        rooms.set_key(1, &room("#tea"), Some("k")).unwrap();
        rooms.leave_all(1);
        let joined = rooms.join(2, &room("#TEA"), None, LIMITS).unwrap();
        assert!(joined.room.topic.is_none());
        assert_eq!(joined.room.name.as_str(), "#TEA");
    }
}
