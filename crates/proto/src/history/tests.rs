//! Tests of `history`: the `HISTORY` grammar, its errors, and the `HIST` and `END HISTORY`
//! lines both ways.

use super::*;
use crate::command::Command;
use crate::command::parse_command;
use crate::error::ErrorCode;

fn id(value: u64) -> MessageId {
    MessageId::new(value).unwrap()
}

fn room(name: &str) -> Room {
    Room::parse(name).unwrap()
}

fn request(target: Target, count: u16, page: Page) -> Command<'static> {
    Command::History(HistoryRequest {
        target,
        count,
        page,
    })
}

#[test]
fn requests_read_as_documented() {
    let lobby = || Target::Lobby;
    let tea = || Target::Room(room("#tea"));
    for (line, expected) in [
        ("HISTORY *", request(lobby(), 50, Page::Latest)),
        ("history #tea 10", request(tea(), 10, Page::Latest)),
        ("HISTORY * 1", request(lobby(), 1, Page::Latest)),
        ("HISTORY * 1000", request(lobby(), 1000, Page::Latest)),
        ("HISTORY * 1001", request(lobby(), 1000, Page::Latest)),
        ("HISTORY * 007", request(lobby(), 7, Page::Latest)),
        (
            "HISTORY * 99999999999999999999999",
            request(lobby(), 1000, Page::Latest),
        ),
        (
            "HISTORY * BEFORE 42",
            request(lobby(), 50, Page::Before(id(42))),
        ),
        (
            "HISTORY #tea 5 after 42",
            request(tea(), 5, Page::After(id(42))),
        ),
        (
            "HISTORY   *   5   AFTER   42  ",
            request(lobby(), 5, Page::After(id(42))),
        ),
        (
            "HISTORY bob",
            request(Target::Nick(Nick::parse("bob").unwrap()), 50, Page::Latest),
        ),
    ] {
        assert_eq!(parse_command(line), Ok(Some(expected)), "{line:?}");
    }
}

#[test]
fn every_request_reads_back_as_itself() {
    for request in [
        request(Target::Lobby, 50, Page::Latest),
        request(Target::Room(room("#Tea")), 1, Page::Before(id(1))),
        request(Target::Lobby, 1000, Page::After(MessageId::MAX)),
        request(Target::Nick(Nick::parse("bob").unwrap()), 3, Page::Latest),
    ] {
        let line = request.to_string();
        assert_eq!(parse_command(&line), Ok(Some(request)), "{line:?}");
    }
}

#[test]
fn malformed_requests_are_bad_history() {
    let bad = |expected, got: Option<&str>| ProtocolError::BadHistory {
        expected,
        got: got.map(str::to_owned),
    };
    let a_count = "a count of 1 to 1000";
    let a_page = "a count (1 to 1000), BEFORE <id> or AFTER <id>";
    for (line, expected) in [
        ("HISTORY * 0", bad(a_count, Some("0"))),
        ("HISTORY * 000", bad(a_count, Some("000"))),
        ("HISTORY * 5x", bad(a_count, Some("5x"))),
        ("HISTORY * -5", bad(a_page, Some("-5"))),
        ("HISTORY * LATEST", bad(a_page, Some("LATEST"))),
        ("HISTORY * 5 6", bad(a_page, Some("6"))),
        ("HISTORY * BEFORE", bad(AN_ID, None)),
        ("HISTORY * BEFORE 0", bad(AN_ID, Some("0"))),
        ("HISTORY * AFTER x1", bad(AN_ID, Some("x1"))),
        (
            "HISTORY * AFTER 9007199254740992",
            bad(AN_ID, Some("9007199254740992")),
        ),
        ("HISTORY * AFTER 1 2", bad(NOTHING_MORE, Some("2"))),
        (
            "HISTORY * BEFORE 1 AFTER 2",
            bad(NOTHING_MORE, Some("AFTER 2")),
        ),
        ("HISTORY 5", bad(THE_TARGET, Some("5"))),
        ("HISTORY ** 5", bad(THE_TARGET, Some("**"))),
    ] {
        let error = parse_command(line).unwrap_err();
        assert_eq!(error, expected, "{line:?}");
        assert_eq!(error.code(), ErrorCode::BadHistory);
        assert!(error.to_string().ends_with("; try HELP HISTORY"), "{error}");
    }
    // As for every command: no argument at all, and a bad room name, have their own codes.
    assert_eq!(
        parse_command("HISTORY").unwrap_err().code(),
        ErrorCode::MissingArgument
    );
    assert_eq!(
        parse_command("HISTORY #").unwrap_err().code(),
        ErrorCode::BadRoom
    );
}

#[test]
fn hist_lines_are_written_from_parts_as_the_reply_spells_them() {
    let time = UtcMillis::parse("2026-12-06T14:00:00.123Z").unwrap();
    let target = Target::Room(room("#tea"));
    let mut out = String::new();
    Reply::write_hist_line(&target, id(1042), time, "MSG #tea alice hello\n", &mut out);
    assert_eq!(
        out,
        "HIST #tea 1042 2026-12-06T14:00:00.123Z MSG #tea alice hello\n"
    );
    let reply = Reply::Hist {
        target,
        id: id(1042),
        time,
        line: "MSG #tea alice hello".to_owned(),
    };
    assert_eq!(reply.to_line(), out);
    assert_eq!(Reply::parse(out.trim_end()), Ok(reply));
    assert!(!Reply::parse(out.trim_end()).unwrap().carries_id());
}

#[test]
fn history_replies_read_back_as_themselves() {
    let time = UtcMillis::new(1_796_565_600_123).unwrap();
    for reply in [
        Reply::Hist {
            target: Target::Lobby,
            id: id(7),
            time,
            line: "ALL ann /me waves".to_owned(),
        },
        Reply::EndHistory {
            target: Target::Lobby,
            count: 0,
        },
        Reply::EndHistory {
            target: Target::Room(room("#Tea")),
            count: 1000,
        },
        Reply::EndHistory {
            target: Target::Nick(Nick::parse("bob").unwrap()),
            count: 3,
        },
    ] {
        let line = reply.to_string();
        assert_eq!(Reply::parse(&line), Ok(reply), "{line:?}");
    }
    for line in [
        "HIST * 7 2026-12-06T14:00:00.123Z",
        "HIST * 0 2026-12-06T14:00:00.123Z ALL a b",
        "HIST * 7 2026-12-06T14:00:00Z ALL a b",
        "END HISTORY *",
        "END HISTORY * -1",
        "END HISTORY * x",
    ] {
        assert!(Reply::parse(line).is_err(), "{line:?}");
    }
}
