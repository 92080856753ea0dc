//! Unit tests of the cluster's pure parts: the events' encoding (lines, presence, room
//! commands, the rooms' image, an account's rooms disowned), a registered room's record, and
//! the claims' keys.

use chatd_proto::{Nick, Reply, Room, Target};

use super::event::{
    DIRECT, Event, LOBBY, Malformed, Origin, PRESENCE, ROOMS, encode_rooms, holder, image_parts,
    nick_key, parse_holder, room_subject,
};
use super::registered::{parse_record, record};
use crate::server::cluster_link::{Conversation, NodeId, Presence, RoomImage};

fn nick(text: &str) -> Nick {
    Nick::parse(text).expect("a valid nick")
}

fn node() -> NodeId {
    NodeId::parse("0123456789abcdef").expect("hex")
}

fn round_trip(event: Event) -> (String, Event) {
    let (subject, payload) = event.encode();
    let back = Event::decode(&subject, &payload).expect("decodes what it encoded");
    (subject.to_string(), back)
}

#[test]
fn lobby_direct_and_presence_events_survive_the_wire() {
    let origin = Origin {
        node: node(),
        conn: 42,
    };
    let lobby = Event::Line {
        origin: origin.clone(),
        conversation: Conversation::Lobby,
        reply: Reply::All {
            from: nick("alice"),
            text: "hello there, 100% sure".to_owned(),
        },
    };
    assert_eq!(round_trip(lobby.clone()), (LOBBY.to_owned(), lobby));
    let action = Event::Line {
        origin: origin.clone(),
        conversation: Conversation::Lobby,
        reply: Reply::Me {
            target: Target::Lobby,
            from: nick("alice"),
            text: "waves".to_owned(),
        },
    };
    assert_eq!(round_trip(action.clone()), (LOBBY.to_owned(), action));
    let direct = Event::Line {
        origin,
        conversation: Conversation::Direct(nick("Bob")),
        reply: Reply::Msg {
            from: nick("alice"),
            text: "psst".to_owned(),
        },
    };
    assert_eq!(round_trip(direct.clone()), (DIRECT.to_owned(), direct));
    for presence in [
        Presence::Joined(nick("carol")),
        Presence::Renamed {
            old: nick("carol"),
            new: nick("caro"),
        },
        Presence::Left {
            nick: nick("caro"),
            reason: Some("gone fishing".to_owned()),
        },
        Presence::Left {
            nick: nick("caro"),
            reason: None,
        },
        Presence::Away {
            nick: nick("caro"),
            text: Some("out to lunch, back at 2".to_owned()),
        },
        Presence::Away {
            nick: nick("caro"),
            text: None,
        },
    ] {
        let event = Event::Presence {
            origin: Origin {
                node: node(),
                conn: 7,
            },
            presence,
        };
        assert_eq!(round_trip(event.clone()), (PRESENCE.to_owned(), event));
    }
    assert_eq!(
        round_trip(Event::Gone(node())),
        (PRESENCE.to_owned(), Event::Gone(node()))
    );
    let lost = Event::Lost {
        by: node(),
        node: other_node(),
    };
    assert_eq!(round_trip(lost.clone()), (PRESENCE.to_owned(), lost));
    let evict = Event::Evict {
        by: other_node(),
        holder: Origin {
            node: node(),
            conn: 7,
        },
        nick: Nick::parse("Alice").unwrap(),
    };
    assert_eq!(
        evict.encode().1,
        format!("{} EVICT {}/7 Alice", other_node(), node())
    );
    assert_eq!(round_trip(evict.clone()), (PRESENCE.to_owned(), evict));
    for garbage in ["EVICT", "EVICT 0123456789abcdef/7", "EVICT nonsense Alice"] {
        let payload = format!("{} {garbage}", other_node());
        assert_eq!(
            Event::decode(PRESENCE, &payload),
            Err(Malformed),
            "{garbage}"
        );
    }
}

fn other_node() -> NodeId {
    NodeId::parse("fedcba9876543210").expect("hex")
}

#[test]
fn room_commands_and_the_rooms_image_survive_the_wire() {
    let origin = Origin {
        node: node(),
        conn: 42,
    };
    for command in [
        "JOIN #rust",
        "JOIN #rust a key with spaces",
        "PART #rust",
        "PART #rust off to bed",
        "TOPIC #rust all about 100% safe code",
        "KEY #rust",
        "KEY #rust s3cret",
        "PRIVATE #rust on",
        "REGISTER #rust",
        "MSG #rust hello room",
        "ME #rust waves",
    ] {
        let event = Event::Room {
            origin: origin.clone(),
            nick: nick("alice"),
            invitee: None,
            command: command.to_owned(),
        };
        let subject = room_subject(&Room::parse("#rust").unwrap());
        assert_eq!(round_trip(event.clone()), (subject, event), "{command}");
    }
    let invite = Event::Room {
        origin: origin.clone(),
        nick: nick("alice"),
        invitee: Some(Origin {
            node: other_node(),
            conn: 9,
        }),
        command: "INVITE bob #rust".to_owned(),
    };
    let subject = room_subject(&Room::parse("#RUST").unwrap());
    assert_eq!(round_trip(invite.clone()), (subject, invite));
    assert!(
        room_subject(&Room::parse("#Rust-2").unwrap())
            .strip_prefix("chatd.rooms.")
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit())),
        "a subject holds hex digits alone"
    );
    let wanted = Event::RoomsWanted(other_node());
    assert_eq!(round_trip(wanted.clone()), (ROOMS.to_owned(), wanted));
    let rooms = vec![
        RoomImage {
            name: Room::parse("#Rust").unwrap(),
            since: 17,
            registered: Some(nick("Alice")),
            private: true,
            key: Some("two words".to_owned()),
            topic: Some((nick("bob"), "safe code, fast".to_owned())),
            members: vec![
                (origin.clone(), nick("alice")),
                (
                    Origin {
                        node: other_node(),
                        conn: 9,
                    },
                    nick("bob"),
                ),
            ],
            invited: vec![Origin {
                node: other_node(),
                conn: 10,
            }],
        },
        RoomImage {
            name: Room::parse("#empty-topic").unwrap(),
            since: 0,
            registered: None,
            private: false,
            key: None,
            topic: None,
            members: vec![(origin, nick("carol"))],
            invited: Vec::new(),
        },
    ];
    let image = Event::Rooms {
        by: node(),
        wanted: other_node(),
        part: 2,
        parts: 3,
        rooms: rooms.clone(),
    };
    assert_eq!(round_trip(image.clone()), (ROOMS.to_owned(), image));
    let none = Event::Rooms {
        by: node(),
        wanted: other_node(),
        part: 1,
        parts: 1,
        rooms: Vec::new(),
    };
    assert_eq!(round_trip(none.clone()), (ROOMS.to_owned(), none));
    for head in [
        "ROOMS fedcba9876543210",
        "ROOMS fedcba9876543210 0/1",
        "ROOMS fedcba9876543210 3/2",
    ] {
        let payload = format!("{} {head}", node());
        assert_eq!(Event::decode(ROOMS, &payload), Err(Malformed), "{head}");
    }
    // In parts under the size given, in order, each room whole; one part for none.
    let many: Vec<RoomImage> = (0..100).flat_map(|_| rooms.clone()).collect();
    let mut one = String::new();
    encode_rooms(&rooms[..1], &mut one);
    let parts = image_parts(many.clone(), 10 * one.len());
    assert!(parts.len() > 10, "{} parts", parts.len());
    for part in &parts {
        let mut written = String::new();
        encode_rooms(part, &mut written);
        assert!(
            written.len() <= 10 * one.len() || part.len() == 1,
            "{}",
            written.len()
        );
    }
    assert_eq!(parts.concat(), many);
    assert_eq!(image_parts(Vec::new(), 10), vec![Vec::<RoomImage>::new()]);
    let big = image_parts(rooms.clone(), 1);
    assert_eq!(
        big.len(),
        rooms.len(),
        "a room bigger than a part goes alone"
    );
    let disowned = Event::Disowned {
        by: other_node(),
        account: nick("Alice"),
    };
    assert_eq!(round_trip(disowned.clone()), (ROOMS.to_owned(), disowned));
    let payload = format!("{} DISOWNED not a nick", node());
    assert_eq!(Event::decode(ROOMS, &payload), Err(Malformed));
}

#[test]
fn a_registered_room_s_record_holds_its_lasting_part_or_its_end() {
    let room = RoomImage {
        name: Room::parse("#Tea").unwrap(),
        since: 41,
        registered: Some(nick("alice")),
        private: true,
        key: Some("sen cha".to_owned()),
        topic: Some((nick("bob"), "green only".to_owned())),
        members: Vec::new(),
        invited: Vec::new(),
    };
    let kept = record(97, Some(&room));
    assert_eq!(
        kept,
        "AT 97\nROOM #Tea on 41\nREGISTERED alice\nKEY sen cha\nTOPIC bob green only"
    );
    assert_eq!(
        parse_record(kept.as_bytes()),
        Some((97, Some(room.clone())))
    );
    assert_eq!(record(120, None), "AT 120\nGONE");
    assert_eq!(parse_record(b"AT 120\nGONE"), Some((120, None)));
    // Not registered (an older node's image), or with members: nothing to bring back.
    let plain = RoomImage {
        registered: None,
        ..room.clone()
    };
    assert_eq!(
        parse_record(record(5, Some(&plain)).as_bytes()),
        Some((5, None))
    );
    for value in [
        "",
        "AT 5",
        "AT x\nGONE",
        "ROOM #Tea on 41",
        "AT 5\nROOM #Tea on 41\nMEMBER 0123456789abcdef/1 alice",
        "AT 5\nROOM #Tea on 41\nROOM #Cake off 3",
    ] {
        assert_eq!(parse_record(value.as_bytes()), None, "{value:?}");
    }
}

#[test]
fn what_is_not_ours_is_malformed() {
    let id = "0123456789abcdef";
    for (subject, payload) in [
        (LOBBY, ""),
        (LOBBY, "nothex 1 ALL alice hi"),
        (LOBBY, &format!("{id} x ALL alice hi") as &str),
        (LOBBY, &format!("{id} 1 JOIN alice")),
        (LOBBY, &format!("{id} 1 OK NICK alice")),
        (DIRECT, &format!("{id} 1 ALL alice hi")),
        (PRESENCE, &format!("{id} ALL alice hi")),
        (PRESENCE, &format!("{id} 1 ALL alice hi")),
        (PRESENCE, &format!("{id} LOST nothex")),
        // Only the room commands travel, each as the protocol reads it.
        ("chatd.rooms.23", &format!("{id} 1 alice NICK bob")),
        ("chatd.rooms.23", &format!("{id} 1 alice ALL hi")),
        ("chatd.rooms.23", &format!("{id} 1 alice TOPIC #rust")),
        ("chatd.rooms.23", &format!("{id} 1 alice JOIN rust")),
        ("chatd.rooms.23", &format!("{id} 1 bad! JOIN #rust")),
        ("chatd.rooms.23", &format!("{id} x alice JOIN #rust")),
        (
            "chatd.rooms.23",
            &format!("{id} 1 alice @{id} INVITE bob #rust"),
        ),
        (ROOMS, &format!("{id} ROOMS {id}\nMEMBER {id}/1 alice")),
        (ROOMS, &format!("{id} ROOMS {id}\nROOM #rust maybe 1")),
        (ROOMS, &format!("{id} ROOMS {id}\nROOM #rust on")),
        (
            ROOMS,
            &format!("{id} ROOMS {id}\nROOM #rust on 1\nWHAT is this"),
        ),
        ("chatd.other", &format!("{id} 1 ALL alice hi")),
    ] {
        assert_eq!(
            Event::decode(subject, payload),
            Err(Malformed),
            "{subject} {payload}"
        );
    }
}

#[test]
fn a_claim_key_is_the_folded_nick_in_hex_and_its_value_names_the_node() {
    assert_eq!(nick_key(&nick("Ab")), nick_key(&nick("aB")));
    let key = nick_key(&nick("Zed-9_x"));
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    let value = holder(&node(), 7, &nick("Alice"));
    assert_eq!(
        parse_holder(value.as_bytes()),
        Some((node(), 7, nick("Alice")))
    );
    assert_eq!(parse_holder(b"garbage"), None);
    assert_eq!(parse_holder(b"0123 x alice"), None);
}

#[test]
fn an_account_s_record_holds_its_nick_time_and_hash_and_nothing_else() {
    use crate::server::accounts::Account;
    use crate::server::cluster::event::{account_record, parse_account};
    let account = Account {
        nick: nick("Alice"),
        hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_ms: 1_765_000_000_000,
    };
    let record = account_record(&account);
    assert_eq!(parse_account(record.as_bytes()), Some(account));
    for bad in [
        "",
        "x Alice $h",
        "1 bad! $h",
        "1 Alice",
        "1 Alice two words",
    ] {
        assert_eq!(parse_account(bad.as_bytes()), None, "{bad:?}");
    }
}
