//! Unit tests of the text rule in `command` (issue 13): which texts `BAD_TEXT` refuses, in
//! what order against the other errors, and which texts it leaves as sent.

use super::*;
use crate::text::Refused;

fn bad_text(
    what: &'static str,
    found: char,
    at: usize,
) -> Result<Option<Command<'static>>, ProtocolError> {
    Err(ProtocolError::BadText {
        what,
        refused: Refused { found, at },
    })
}

fn check(line: &str, expected: Result<Option<Command<'_>>, ProtocolError>) {
    assert_eq!(parse_command(line), expected, "parsing {line:?}");
}

#[test]
fn issue_13_texts_relayed_or_stored_are_refused_with_what_and_where() {
    check("ALL hi\rMSG admin x", bad_text("the text", '\r', 3));
    check("MSG bob \u{1b}[2J", bad_text("the text", '\u{1b}', 1));
    check("MSG #tea ok\u{85}", bad_text("the text", '\u{85}', 3));
    check("ME * waves\u{2028}", bad_text("the text", '\u{2028}', 6));
    check("ME #tea a\u{202E}b", bad_text("the text", '\u{202E}', 2));
    check("ME bob x\u{7f}", bad_text("the text", '\u{7f}', 2));
    check(
        "TOPIC #tea \u{1b}]0;pwned-title\u{7}",
        bad_text("the topic", '\u{1b}', 1),
    );
    check(
        "AWAY lunch\u{2066}",
        bad_text("the away text", '\u{2066}', 6),
    );
    check("KEY #tea se\u{0}cret", bad_text("the key", '\u{0}', 3));
    check("JOIN #tea se\u{9f}cret", bad_text("the key", '\u{9f}', 3));
}

#[test]
fn issue_13_the_text_is_checked_after_the_arguments_before_it() {
    // Counted first: a text of only whitespace (a vertical tab, U+2028) is no text.
    check(
        "ALL \u{b}",
        Err(ProtocolError::MissingArgument {
            command: CommandWord::All,
            needs: "a text",
            after: None,
        }),
    );
    check(
        "MSG bob \u{2028}",
        Err(ProtocolError::MissingArgument {
            command: CommandWord::Msg,
            needs: "a text",
            after: Some("bob".to_owned()),
        }),
    );
    // Then left to right: a bad target is named before the text.
    check(
        "MSG #a.b \u{1b}",
        Err(ProtocolError::BadRoom("#a.b".to_owned())),
    );
    check(
        "MSG 1abc \u{1b}",
        Err(ProtocolError::NoSuchNick("1abc".to_owned())),
    );
    check(
        "ME *x \u{1b}",
        Err(ProtocolError::NoSuchNick("*x".to_owned())),
    );
    check(
        "TOPIC #a.b \u{1b}",
        Err(ProtocolError::BadRoom("#a.b".to_owned())),
    );
}

#[test]
fn issue_13_tabs_and_text_beyond_ascii_pass_as_sent() {
    check(
        "ALL a\tb été \u{200F} 😀",
        Ok(Some(Command::All {
            text: "a\tb été \u{200F} 😀",
        })),
    );
    check(
        "TOPIC #tea tea\ttime",
        Ok(Some(Command::Topic {
            room: Room::parse("#tea").unwrap(),
            text: "tea\ttime",
        })),
    );
}

#[test]
fn issue_13_leaving_is_never_refused_and_other_texts_are_not_relayed() {
    // Reasons are kept as sent; the server replaces what the rule refuses.
    check(
        "QUIT bye\rMSG admin x",
        Ok(Some(Command::Quit {
            reason: Some("bye\rMSG admin x"),
        })),
    );
    check(
        "PART #tea \u{1b}[2J",
        Ok(Some(Command::Part {
            room: Room::parse("#tea").unwrap(),
            reason: Some("\u{1b}[2J"),
        })),
    );
    // A PING token goes back to its sender only.
    check(
        "PING \u{1b}",
        Ok(Some(Command::Ping {
            token: Some("\u{1b}"),
        })),
    );
}
