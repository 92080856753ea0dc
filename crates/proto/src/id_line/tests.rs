//! Tests of message ids: the range, the one spelling, and the `@<id> ` prefix written and
//! read back, with the prefixes that must be refused.

use super::*;
use crate::message_id::MessageId;
use crate::names::{Nick, Room, Target};

fn id(value: u64) -> MessageId {
    MessageId::new(value).unwrap()
}

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

#[test]
fn an_id_is_positive_and_below_two_to_the_53() {
    assert_eq!(MessageId::new(0), None);
    assert_eq!(MessageId::new(1).map(MessageId::get), Some(1));
    assert_eq!(MessageId::MAX.get(), 9_007_199_254_740_991);
    assert_eq!(MessageId::new(MessageId::MAX.get()), Some(MessageId::MAX));
    assert_eq!(MessageId::new(1 << 53), None);
    assert_eq!(MessageId::new(u64::MAX), None);
}

#[test]
fn an_id_has_one_spelling() {
    for value in [1, 42, 1_700_000_000_000_000, MessageId::MAX.get()] {
        let spelled = id(value).to_string();
        assert_eq!(spelled, value.to_string());
        assert_eq!(MessageId::parse(&spelled), Some(id(value)));
    }
    for bad in [
        "",
        "0",
        "007",
        "+7",
        "-7",
        " 7",
        "7 ",
        "abc",
        "1e3",
        "9007199254740992",
        "18446744073709551616",
        "٣",
    ] {
        assert_eq!(MessageId::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn the_id_form_is_the_prefix_then_the_v1_line() {
    let mut out = String::new();
    id(1042).write_line("MSG #tea alice hello\n", &mut out);
    assert_eq!(out, "@1042 MSG #tea alice hello\n");
    let mut out = String::new();
    let action = Reply::Me {
        target: Target::Nick(nick("bob")),
        from: nick("alice"),
        text: "waves".to_owned(),
    };
    id(7).write_reply_line(&action, &mut out);
    assert_eq!(out, "@7 ME bob alice waves\n");
}

#[test]
fn chat_lines_read_back_with_their_ids() {
    let room = Room::parse("#tea").unwrap();
    let lines = [
        Reply::All {
            from: nick("alice"),
            text: "hi  there".to_owned(),
        },
        Reply::Msg {
            from: nick("bob"),
            text: "@5 not an id".to_owned(),
        },
        Reply::RoomMsg {
            room: room.clone(),
            from: nick("alice"),
            text: "hello".to_owned(),
        },
        Reply::Me {
            target: Target::Room(room),
            from: nick("alice"),
            text: "pours the tea".to_owned(),
        },
        Reply::Me {
            target: Target::Lobby,
            from: nick("alice"),
            text: "waves".to_owned(),
        },
    ];
    for reply in lines {
        for value in [1, 1_700_000_000_123_456, MessageId::MAX.get()] {
            let mut out = String::new();
            id(value).write_line(&reply.to_string(), &mut out);
            assert_eq!(
                Reply::parse_with_id(&out),
                Ok((Some(id(value)), reply.clone())),
                "{out:?}"
            );
        }
        let v1 = reply.to_string();
        assert_eq!(Reply::parse_with_id(&v1), Ok((None, reply.clone())));
    }
}

#[test]
fn bad_prefixes_and_ids_on_other_lines_are_refused() {
    // Refused for the prefix itself, or because the line after it carries no id.
    for line in [
        "@",
        "@ ALL alice hi",
        "@0 ALL alice hi",
        "@abc ALL alice hi",
        "@-1 ALL alice hi",
        "@01 ALL alice hi",
        "@9007199254740992 ALL alice hi",
        "@12ALL alice hi",
        "@12",
        "@12\tALL alice hi",
        "@12 JOIN alice",
        "@12 OK CAP ids",
        "@12 ERR BAD_CAP no capability called x",
        "@12 PONG",
        "@12 AWAY bob lunch",
    ] {
        assert_eq!(
            Reply::parse_with_id(line),
            Err(ProtocolError::UnknownCommand(line.to_owned())),
            "{line:?}"
        );
    }
    // After a valid prefix, the rest is read as any line is, and refused with its own error.
    for line in [
        "@12 ",
        "@12  ALL alice hi",
        "@12 @13 ALL alice hi",
        "@12 ALL 1alice hi",
    ] {
        assert!(Reply::parse_with_id(line).is_err(), "{line:?}");
    }
}
