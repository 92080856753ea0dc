//! Unit tests of the room rules: ownership, the order of refusals, invitations, topics, the
//! limits, and the indexes that keep each change bounded (issue 13).

use super::*;

fn room(name: &str) -> Room {
    Room::parse(name).unwrap()
}

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

/// Nick `u<id>` for client `id`.
fn nick_of(id: ConnId) -> Nick {
    nick(&format!("u{id}"))
}

const LIMITS: Limits = Limits {
    rooms_per_client: 2,
    room_members: 3,
    rooms: 4,
    topic: 8,
    key: 4,
};

/// A throttle that always allows a guess, and counts the wrong ones.
#[derive(Default)]
struct Guesses {
    wrong: u32,
    refused: Option<Duration>,
}

impl KeyGuesses for Guesses {
    fn refused_for(&self) -> Option<Duration> {
        self.refused
    }

    fn wrong(&mut self) {
        self.wrong += 1;
    }
}

fn join(rooms: &mut Rooms, id: ConnId, name: &str, key: Option<&str>) -> String {
    code(rooms.join(
        id,
        &nick_of(id),
        &room(name),
        key,
        LIMITS,
        &mut Guesses::default(),
    ))
}

fn code(result: Result<impl Sized, ProtocolError>) -> String {
    result
        .err()
        .map_or("ok".to_owned(), |error| error.code().to_string())
}

fn nicks(state: &RoomState) -> Vec<&str> {
    state.member_nicks().map(Nick::as_str).collect()
}

#[test]
fn the_creator_owns_then_the_longest_present_member() {
    let mut rooms = Rooms::default();
    for id in [1, 2, 3] {
        assert_eq!(join(&mut rooms, id, "#Tea", None), "ok");
    }
    let tea = || room("#tea").key();
    assert_eq!(
        rooms.member_room(2, &room("#tea")).unwrap().owner(),
        Some(1)
    );
    // Another member leaving changes nothing.
    let parted = rooms.part(3, &room("#tea")).unwrap();
    assert_eq!(parted.new_owner, None);
    join(&mut rooms, 3, "#tea", None);
    let parted = rooms.part(1, &room("#tea")).unwrap();
    assert_eq!(parted.room, room("#Tea"));
    let new_owner = NewOwner {
        room: tea(),
        owner: 2,
    };
    assert_eq!(parted.new_owner, Some(new_owner));
    assert_eq!(
        rooms.member_room(2, &room("#tea")).unwrap().owner(),
        Some(2)
    );
    assert_eq!(
        code(rooms.set_key(3, &room("#tea"), Some("k"), LIMITS.key)),
        "NOT_OWNER"
    );
    assert_eq!(rooms.leave_all(3), [], "not the owner");
    join(&mut rooms, 3, "#tea", None);
    join(&mut rooms, 2, "#other", None);
    let new_owner = NewOwner {
        room: tea(),
        owner: 3,
    };
    assert_eq!(rooms.leave_all(2), [new_owner], "#other emptied: no owner");
    assert_eq!(
        rooms.member_room(3, &room("#tea")).unwrap().owner(),
        Some(3)
    );
    let parted = rooms.part(3, &room("#tea")).unwrap();
    assert_eq!(parted.new_owner, None, "the room emptied");
    assert_eq!(code(rooms.visible_room(3, &room("#tea"))), "NO_SUCH_ROOM");
    assert!(rooms.get(&tea()).is_none());
}

#[test]
fn join_refusals_come_in_the_documented_order() {
    let mut rooms = Rooms::default();
    assert_eq!(join(&mut rooms, 1, "#a", None), "ok");
    assert_eq!(join(&mut rooms, 1, "#A", None), "ALREADY_IN_ROOM");
    rooms
        .set_key(1, &room("#a"), Some("k"), LIMITS.key)
        .unwrap();
    rooms.set_private(1, &room("#a"), true).unwrap();
    assert_eq!(join(&mut rooms, 2, "#b", None), "ok");
    assert_eq!(join(&mut rooms, 2, "#c", None), "ok");
    assert_eq!(join(&mut rooms, 2, "#a", Some("k")), "TOO_MANY_ROOMS");
    assert_eq!(join(&mut rooms, 2, "#d", None), "TOO_MANY_ROOMS");
    assert_eq!(join(&mut rooms, 3, "#a", Some("k")), "INVITE_ONLY");
    rooms.set_private(1, &room("#a"), false).unwrap();
    let mut locked = Guesses {
        refused: Some(Duration::from_millis(1500)),
        ..Guesses::default()
    };
    let refused = rooms.join(3, &nick_of(3), &room("#a"), Some("k"), LIMITS, &mut locked);
    assert_eq!(
        refused.err(),
        Some(ProtocolError::TooManyAttempts { wait_secs: 2 }),
        "rounded up"
    );
    assert_eq!(locked.wrong, 0);
    assert_eq!(join(&mut rooms, 3, "#a", Some("no")), "BAD_KEY");
    assert_eq!(join(&mut rooms, 3, "#a", Some("k")), "ok");
    assert_eq!(join(&mut rooms, 4, "#a", Some("k")), "ok");
    assert_eq!(join(&mut rooms, 5, "#a", Some("k")), "ROOM_FULL");
    assert_eq!(join(&mut rooms, 5, "#e", None), "ok", "the fourth room");
    assert_eq!(join(&mut rooms, 5, "#f", None), "NO_MORE_ROOMS");
    assert_eq!(
        join(&mut rooms, 5, "#A", Some("k")),
        "ROOM_FULL",
        "not a new room"
    );
}

#[test]
fn issue_13_only_a_key_that_decides_is_a_guess() {
    let mut rooms = Rooms::default();
    join(&mut rooms, 1, "#open", None);
    join(&mut rooms, 1, "#keyed", None);
    rooms
        .set_key(1, &room("#keyed"), Some("k"), LIMITS.key)
        .unwrap();
    rooms.invite(1, &room("#keyed"), 3).unwrap();
    let mut guesses = Guesses::default();
    let mut try_join = |guesses: &mut Guesses, id, name: &str, key| {
        code(rooms.join(id, &nick_of(id), &room(name), key, LIMITS, guesses))
    };
    assert_eq!(try_join(&mut guesses, 2, "#open", Some("x")), "ok");
    assert_eq!(try_join(&mut guesses, 2, "#keyed", None), "BAD_KEY");
    assert_eq!(try_join(&mut guesses, 2, "#keyed", Some("x")), "BAD_KEY");
    assert_eq!(
        try_join(&mut guesses, 3, "#keyed", Some("x")),
        "ok",
        "invited"
    );
    assert_eq!(try_join(&mut guesses, 4, "#keyed", Some("k")), "ok");
    assert_eq!(guesses.wrong, 2);
    // While guesses are refused, even the right key waits: a guesser learns nothing.
    guesses.refused = Some(Duration::from_secs(60));
    let refused = try_join(&mut guesses, 5, "#keyed", Some("k"));
    assert_eq!(refused, "TOO_MANY_ATTEMPTS");
    assert_eq!(
        try_join(&mut guesses, 5, "#open", None),
        "ok",
        "no key needed"
    );
}

#[test]
fn an_invitation_admits_once_past_privacy_and_key() {
    let mut rooms = Rooms::default();
    join(&mut rooms, 1, "#den", None);
    rooms
        .set_key(1, &room("#den"), Some("k"), LIMITS.key)
        .unwrap();
    rooms.set_private(1, &room("#den"), true).unwrap();
    assert_eq!(code(rooms.invite(2, &room("#den"), 3)), "NO_SUCH_ROOM");
    assert_eq!(code(rooms.invite(1, &room("#den"), 1)), "ALREADY_IN_ROOM");
    rooms.invite(1, &room("#den"), 2).unwrap();
    assert_eq!(
        rooms.visible_to(2).count(),
        0,
        "still hidden from the invitee"
    );
    assert_eq!(join(&mut rooms, 2, "#den", None), "ok");
    rooms.part(2, &room("#den")).unwrap();
    assert_eq!(join(&mut rooms, 2, "#den", Some("k")), "INVITE_ONLY");
}

#[test]
fn issue_13_invitations_are_indexed_by_invitee_and_forgotten_both_ways() {
    let mut rooms = Rooms::default();
    join(&mut rooms, 1, "#a", None);
    join(&mut rooms, 1, "#b", None);
    for name in ["#a", "#b"] {
        rooms.set_private(1, &room(name), true).unwrap();
        rooms.invite(1, &room(name), 2).unwrap();
        rooms.invite(1, &room(name), 3).unwrap();
    }
    assert_eq!(rooms.invitations[&2].len(), 2);
    // Joining uses the invitation up, in the room and in the index.
    assert_eq!(join(&mut rooms, 2, "#a", None), "ok");
    assert_eq!(rooms.invitations[&2].len(), 1);
    // A departure forgets the rest without visiting other rooms.
    rooms.leave_all(2);
    assert!(!rooms.invitations.contains_key(&2));
    assert!(!rooms.get(&room("#b").key()).unwrap().invited.contains(&2));
    // A room that empties takes its invitations out of the index.
    rooms.leave_all(1);
    assert!(rooms.rooms.is_empty());
    assert!(rooms.invitations.is_empty(), "{:?}", rooms.invitations);
    assert!(rooms.memberships.is_empty());
}

#[test]
fn issue_13_members_stay_sorted_by_nick_through_joins_renames_and_departures() {
    let mut rooms = Rooms::default();
    let limits = Limits {
        room_members: 100,
        ..LIMITS
    };
    let mut guesses = Guesses::default();
    for (id, name) in [(1, "carol"), (2, "Bob"), (3, "alice"), (4, "dave")] {
        rooms
            .join(id, &nick(name), &room("#r"), None, limits, &mut guesses)
            .unwrap();
    }
    let sorted = |rooms: &Rooms| -> Vec<String> {
        let state = rooms.get(&room("#r").key()).unwrap();
        nicks(state).into_iter().map(str::to_owned).collect()
    };
    assert_eq!(sorted(&rooms), ["alice", "Bob", "carol", "dave"]);
    rooms.rename(3, &nick("Zed"));
    assert_eq!(sorted(&rooms), ["Bob", "carol", "dave", "Zed"]);
    // The first member leaving swaps the last into its slot: every record stays right.
    rooms.part(1, &room("#r")).unwrap();
    assert_eq!(sorted(&rooms), ["Bob", "dave", "Zed"]);
    let listed = rooms.get(&room("#r").key()).unwrap();
    let mut members = listed.members().to_vec();
    members.sort_unstable();
    assert_eq!(members, [2, 3, 4]);
    for (slot, id) in listed.members().iter().enumerate() {
        assert_eq!(listed.members[id].slot, slot);
    }
    assert_eq!(listed.owner(), Some(2), "the longest present");
    rooms.part(4, &room("#r")).unwrap();
    rooms.part(2, &room("#r")).unwrap();
    assert_eq!(sorted(&rooms), ["Zed"]);
    assert_eq!(rooms.get(&room("#r").key()).unwrap().owner(), Some(3));
}

#[test]
fn topics_need_membership_and_an_empty_room_forgets_everything() {
    let mut rooms = Rooms::default();
    join(&mut rooms, 1, "#tea", None);
    assert_eq!(
        code(rooms.set_topic(2, &room("#tea"), nick("bob"), "x", LIMITS.topic)),
        "NOT_IN_ROOM"
    );
    rooms
        .set_topic(1, &room("#tea"), nick("ann"), "biscuits", LIMITS.topic)
        .unwrap();
    rooms
        .set_key(1, &room("#tea"), Some("k"), LIMITS.key)
        .unwrap();
    rooms.leave_all(1);
    assert_eq!(join(&mut rooms, 2, "#TEA", None), "ok");
    let state = rooms.get(&room("#tea").key()).unwrap();
    assert!(state.topic.is_none());
    assert_eq!(state.name.as_str(), "#TEA");
}

#[test]
fn issue_13_topics_and_keys_have_a_length_limit_in_bytes() {
    let mut rooms = Rooms::default();
    join(&mut rooms, 1, "#tea", None);
    join(&mut rooms, 2, "#tea", None);
    let topic = |rooms: &mut Rooms, id, text: &str| {
        code(rooms.set_topic(id, &room("#tea"), nick_of(id), text, LIMITS.topic))
    };
    assert_eq!(topic(&mut rooms, 1, "12345678"), "ok");
    assert_eq!(
        rooms
            .set_topic(1, &room("#tea"), nick("u1"), "ééééé", LIMITS.topic)
            .err(),
        Some(ProtocolError::TooLong {
            what: "a topic",
            max: 8,
            got: 10,
        })
    );
    assert_eq!(
        topic(&mut rooms, 3, "123456789"),
        "NOT_IN_ROOM",
        "who first"
    );
    let key = |rooms: &mut Rooms, id, key| code(rooms.set_key(id, &room("#tea"), key, LIMITS.key));
    assert_eq!(key(&mut rooms, 1, Some("1234")), "ok");
    assert_eq!(key(&mut rooms, 1, Some("12345")), "TOO_LONG");
    assert_eq!(key(&mut rooms, 2, Some("12345")), "NOT_OWNER", "who first");
    assert_eq!(key(&mut rooms, 1, None), "ok");
    let text = &rooms
        .get(&room("#tea").key())
        .unwrap()
        .topic
        .as_ref()
        .unwrap()
        .text;
    assert_eq!(&**text, "12345678", "the refused topic changed nothing");
}

#[test]
fn issue_16_a_registered_room_stays_empty_and_its_owner_account_owns_it_whenever_present() {
    let mut rooms = Rooms::default();
    for id in [1, 2, 3] {
        assert_eq!(join(&mut rooms, id, "#Tea", None), "ok");
    }
    let tea = || room("#tea");
    assert_eq!(code(rooms.register(4, &tea(), &nick_of(4))), "NOT_IN_ROOM");
    assert_eq!(code(rooms.register(2, &tea(), &nick_of(2))), "NOT_OWNER");
    assert_eq!(code(rooms.register(1, &tea(), &nick_of(1))), "ok");
    assert_eq!(
        code(rooms.register(1, &tea(), &nick_of(1))),
        "ok",
        "again: no change"
    );
    assert_eq!(code(rooms.set_key(1, &tea(), Some("k"), LIMITS.key)), "ok");
    assert_eq!(code(rooms.set_private(1, &tea(), true)), "ok");
    // The owner away: nobody owns it, and nobody is told of a new owner.
    assert_eq!(rooms.part(1, &tea()).unwrap().new_owner, None);
    assert_eq!(rooms.member_room(2, &tea()).unwrap().owner(), None);
    assert_eq!(code(rooms.set_private(2, &tea(), false)), "NOT_OWNER");
    assert_eq!(rooms.leave_all(2), []);
    assert_eq!(rooms.leave_all(3), []);
    let state = rooms
        .get(&tea().key())
        .expect("a registered room stays when empty");
    assert_eq!(state.members().len(), 0);
    assert_eq!(rooms.count(), 1);
    // Private and keyed: others need an invitation; its owner account comes in.
    assert_eq!(join(&mut rooms, 2, "#tea", Some("k")), "INVITE_ONLY");
    assert_eq!(join(&mut rooms, 1, "#tea", None), "ok");
    assert_eq!(rooms.member_room(1, &tea()).unwrap().owner(), Some(1));
    // A member who joined before the owner came back does not take it over.
    rooms.invite(1, &tea(), 2).unwrap();
    assert_eq!(join(&mut rooms, 2, "#tea", None), "ok");
    assert_eq!(rooms.part(1, &tea()).unwrap().new_owner, None);
    assert_eq!(join(&mut rooms, 1, "#tea", None), "ok");
    assert_eq!(rooms.member_room(2, &tea()).unwrap().owner(), Some(1));
}

#[test]
fn issue_16_an_unregistered_account_leaves_ordinary_rooms_forgotten_once_empty() {
    let mut rooms = Rooms::default();
    for (id, name) in [(1, "#one"), (1, "#two"), (2, "#two")] {
        assert_eq!(join(&mut rooms, id, name, None), "ok");
    }
    rooms.register(1, &room("#one"), &nick_of(1)).unwrap();
    rooms.register(1, &room("#two"), &nick_of(1)).unwrap();
    rooms.leave_all(1);
    assert_eq!(rooms.count(), 2, "both registered rooms stay");
    let mut names: Vec<String> = rooms
        .unregister_owned(&nick("U1"))
        .iter()
        .map(ToString::to_string)
        .collect();
    names.sort();
    assert_eq!(names, ["#one", "#two"]);
    assert!(rooms.get(&room("#one").key()).is_none(), "empty: forgotten");
    let two = rooms.get(&room("#two").key()).expect("a member stays");
    assert!(!two.is_registered());
    assert_eq!(
        two.owner(),
        Some(2),
        "an ordinary room: its longest-present member"
    );
    rooms.part(2, &room("#two")).unwrap();
    assert_eq!(rooms.count(), 0);
}

#[test]
fn issue_16_a_restored_room_keeps_its_topic_key_and_privacy() {
    let mut rooms = Rooms::default();
    let saved = SavedRoom {
        name: room("#Tea"),
        owner: nick("Ann"),
        topic: Some(Topic {
            setter: nick("bob"),
            text: Arc::from("green"),
        }),
        key: Some("k".to_owned()),
        private: false,
    };
    rooms.restore(saved, Keeping::default().room());
    let state = rooms.get(&room("#tea").key()).expect("restored");
    assert!(state.is_registered());
    assert_eq!(state.topic.as_ref().map(|t| &*t.text), Some("green"));
    assert_eq!(state.record(), None, "no store behind it: nothing to save");
    assert_eq!(join(&mut rooms, 2, "#tea", None), "BAD_KEY");
    assert_eq!(
        code(rooms.join(
            7,
            &nick("ann"),
            &room("#tea"),
            None,
            LIMITS,
            &mut Guesses::default()
        )),
        "ok"
    );
    assert_eq!(
        rooms.member_room(7, &room("#tea")).unwrap().owner(),
        Some(7)
    );
}
