//! Unit tests of the cluster's pure parts: the events' encoding and the claims' keys.

use chatd_proto::{Nick, Reply, Target};

use super::event::{
    DIRECT, Event, LOBBY, Malformed, Origin, PRESENCE, holder, nick_key, parse_holder,
};
use crate::server::cluster_link::{Conversation, NodeId, Presence};

fn nick(text: &str) -> Nick {
    Nick::parse(text).expect("a valid nick")
}

fn node() -> NodeId {
    NodeId::parse("0123456789abcdef").expect("hex")
}

fn round_trip(event: Event) -> (&'static str, Event) {
    let (subject, payload) = event.encode();
    let back = Event::decode(subject, &payload).expect("decodes what it encoded");
    (subject, back)
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
    assert_eq!(round_trip(lobby.clone()), (LOBBY, lobby));
    let action = Event::Line {
        origin: origin.clone(),
        conversation: Conversation::Lobby,
        reply: Reply::Me {
            target: Target::Lobby,
            from: nick("alice"),
            text: "waves".to_owned(),
        },
    };
    assert_eq!(round_trip(action.clone()), (LOBBY, action));
    let direct = Event::Line {
        origin,
        conversation: Conversation::Direct(nick("Bob")),
        reply: Reply::Msg {
            from: nick("alice"),
            text: "psst".to_owned(),
        },
    };
    assert_eq!(round_trip(direct.clone()), (DIRECT, direct));
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
    ] {
        let event = Event::Presence {
            node: node(),
            presence,
        };
        assert_eq!(round_trip(event.clone()), (PRESENCE, event));
    }
    assert_eq!(
        round_trip(Event::Gone(node())),
        (PRESENCE, Event::Gone(node()))
    );
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
