//! Issue 13: text carrying control characters, from a server (an older or a hostile one) or
//! typed and pasted by the user, drawn through every part of the screen: the scrollback (each
//! kind of line), the topic bar, the status bar and the input line. The buffer drawn must hold
//! only the harmless form `crate::printable` gives (U+FFFD for each refused character, a TAB
//! as spaces) and the layout around it must stay in place.
//!
//! Out of scope: the rule itself (`printable`'s tests); `--plain` (`tests/plain_text.rs`).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{at, conversation, enter, find, rows, server, typed};
use crate::app::{App, update};
use crate::event::{Event, NetEvent};
use crate::ui::render;
use chatd_proto::Nick;
use chatd_proto::text::is_refused;

/// A text with one of each kind of character that drives a terminal or forges a line: an
/// OSC that sets the window title, a CSI that clears the screen, CR, U+2028, U+202E and the
/// one-byte CSI of C1.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7} \u{1b}[2J hi\rMSG x\u{2028}y \u{202E}olleh \u{9b}31m";

/// [`HOSTILE`] as it must be drawn.
const SHOWN: &str =
    "\u{FFFD}]0;pwned\u{FFFD} \u{FFFD}[2J hi\u{FFFD}MSG x\u{FFFD}y \u{FFFD}olleh \u{FFFD}31m";

/// Draws `app` on a test terminal of its size: the buffer, and where the cursor is.
fn draw(app: &App) -> (Buffer, (u16, u16)) {
    let (width, height) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    let cursor = terminal.get_cursor_position().unwrap();
    (terminal.backend().buffer().clone(), (cursor.x, cursor.y))
}

/// Fails when any cell holds a character the text rule refuses, or a TAB.
fn assert_harmless(buffer: &Buffer) {
    for (i, cell) in buffer.content.iter().enumerate() {
        let symbol = cell.symbol();
        assert!(
            !symbol.chars().any(|c| is_refused(c) || c == '\t'),
            "cell {i} holds {symbol:?}:\n{}",
            rows(buffer).join("\n")
        );
    }
}

/// Draws `app`, checks that nothing harmful was drawn, and returns the rows.
fn harmless_screen(app: &App) -> Vec<String> {
    let (buffer, _) = draw(app);
    assert_harmless(&buffer);
    rows(&buffer)
}

/// Fails unless a row starts with `start` and has the side panel's border in its column:
/// the replaced text took the columns it was measured to take.
fn assert_row(screen: &[String], start: &str) {
    let row = &screen[find(screen, start)];
    assert!(
        row.starts_with(start),
        "{row:?} does not start with {start:?}"
    );
    assert_eq!(row.chars().nth(140), Some('│'), "{row:?}");
}

#[test]
fn issue_13_every_kind_of_lobby_line_draws_control_characters_harmlessly() {
    let mut app = conversation(160, 40);
    app.editor.take();
    server(&mut app, &format!("ALL bob {HOSTILE}"), 5);
    server(&mut app, &format!("ME * bob {HOSTILE}"), 5);
    server(&mut app, &format!("ERR BAD_TEXT {HOSTILE}"), 5);
    server(&mut app, &format!("HELP {HOSTILE}"), 5);
    server(&mut app, &format!("QUIT carol {HOSTILE}"), 5);
    update(
        &mut app,
        Event::Net(NetEvent::Unparsed(format!("JUNK {HOSTILE}"))),
        at(5),
    );
    // The user's own text, echoed in an error.
    enter(&mut app, "/bogus\u{1b}]0;pwned\u{7}");
    let screen = harmless_screen(&app);
    assert_row(&screen, &format!("12:05 <bob> {SHOWN} "));
    assert_row(&screen, &format!("12:05 * bob {SHOWN} "));
    assert_row(&screen, &format!("12:05 !!! {SHOWN} (BAD_TEXT) "));
    assert_row(&screen, &format!("12:05 --- server: {SHOWN} "));
    assert_row(&screen, &format!("12:05 -!- carol quit ({SHOWN}) "));
    assert_row(&screen, &format!("12:05 -!- server: JUNK {SHOWN} "));
    assert_row(
        &screen,
        "12:03 !!! unknown command /bogus\u{FFFD}]0;pwned\u{FFFD}; ",
    );
}

#[test]
fn issue_13_direct_messages_and_away_texts_draw_control_characters_harmlessly() {
    let mut app = conversation(160, 40);
    server(&mut app, &format!("MSG carol {HOSTILE}"), 5);
    server(&mut app, &format!("ME alice carol {HOSTILE}"), 5);
    server(&mut app, &format!("AWAY carol {HOSTILE}"), 5);
    let alt_2 = KeyEvent::new(KeyCode::Char('2'), KeyModifiers::ALT);
    update(&mut app, Event::Key(alt_2), at(5));
    let screen = harmless_screen(&app);
    assert!(screen[0].contains(" 2:carol "), "{}", screen[0]);
    assert_row(&screen, &format!("12:05 *carol* {SHOWN} "));
    assert_row(&screen, &format!("12:05 * carol {SHOWN} "));
    assert_row(&screen, &format!("12:05 -!- carol is away: {SHOWN} "));
}

#[test]
fn issue_13_a_rooms_topic_bar_and_lines_draw_control_characters_harmlessly() {
    let mut app = conversation(160, 40);
    app.editor.take();
    enter(&mut app, "/join #tea");
    server(&mut app, "OK JOIN #tea", 4);
    server(&mut app, "WHO #tea alice bob", 4);
    server(&mut app, "END WHO #tea", 4);
    // The topic from the issue's probe, which reached the terminal raw.
    server(&mut app, "TOPIC #tea mallory \u{1b}]0;pwned-title\u{7}", 4);
    server(&mut app, &format!("TOPIC #tea bob {HOSTILE}"), 5);
    server(&mut app, &format!("MSG #tea bob {HOSTILE}"), 5);
    server(&mut app, &format!("PART #tea bob {HOSTILE}"), 5);
    let screen = harmless_screen(&app);
    assert_eq!(screen[1].chars().nth(140), Some('│'), "{}", screen[1]);
    assert!(
        screen[1].starts_with(&format!("topic: {SHOWN} ")),
        "{}",
        screen[1]
    );
    assert_row(
        &screen,
        "12:04 -!- mallory set the topic: \u{FFFD}]0;pwned-title\u{FFFD} ",
    );
    assert_row(&screen, &format!("12:05 <bob> {SHOWN} "));
    assert_row(&screen, &format!("12:05 -!- bob left #tea ({SHOWN}) "));
}

#[test]
fn issue_13_a_tab_is_drawn_as_spaces_to_the_next_stop() {
    let mut app = conversation(160, 40);
    server(&mut app, "ALL bob a\tb\tend", 5);
    server(&mut app, "ALL bob wide\tcolumns\there", 5);
    let screen = harmless_screen(&app);
    // Stops every four columns from the start of the text.
    assert_row(&screen, "12:05 <bob> a   b   end ");
    assert_row(&screen, "12:05 <bob> wide    columns here ");
}

#[test]
fn issue_13_control_characters_in_the_address_stay_out_of_the_status_bar() {
    let nick = Nick::parse("alice").unwrap();
    let mut app = App::new("127.0.0.1:7878\u{1b}]0;pwned\u{7}", nick, (80, 24));
    update(
        &mut app,
        Event::Net(NetEvent::Connecting { attempt: 1 }),
        at(0),
    );
    let screen = harmless_screen(&app);
    assert_eq!(
        screen[22].trim_end(),
        " connecting │ alice │ 127.0.0.1:7878\u{FFFD}]0;pwned\u{FFFD} │ unread 0"
    );
}

#[test]
fn issue_13_typed_and_pasted_control_characters_show_harmlessly_in_the_input_line() {
    let mut app = conversation(80, 24);
    app.editor.take();
    typed(&mut app, "日a\u{1b}[2J");
    // A bracketed paste of one line: its C0 controls are dropped, but not these.
    update(
        &mut app,
        Event::Paste("\u{202E}b\u{2028}c".to_owned()),
        at(3),
    );
    typed(&mut app, "\u{9b}");
    let (buffer, cursor) = draw(&app);
    assert_harmless(&buffer);
    let screen = rows(&buffer);
    // The cell behind a wide character holds a space.
    assert_eq!(
        screen[23].trim_end(),
        "[lobby] 日 a\u{FFFD}[2J\u{FFFD}b\u{FFFD}c\u{FFFD}"
    );
    // The cursor after the last character drawn: every replacement takes one column, 日 two.
    assert_eq!(cursor, (8 + 12, 23));
    let home = KeyEvent::new(KeyCode::Home, KeyModifiers::NONE);
    let right = KeyEvent::new(KeyCode::Right, KeyModifiers::NONE);
    update(&mut app, Event::Key(home), at(3));
    update(&mut app, Event::Key(right), at(3));
    update(&mut app, Event::Key(right), at(3));
    assert_eq!(draw(&app).1, (8 + 3, 23));
}

#[test]
fn issue_13_a_long_input_of_control_characters_scrolls_by_what_is_drawn() {
    let mut app = conversation(40, 12);
    app.editor.take();
    typed(&mut app, &"\u{1b}".repeat(60));
    let (buffer, cursor) = draw(&app);
    assert_harmless(&buffer);
    let screen = rows(&buffer);
    // As for any long line: the end of the text, the cursor just after it.
    assert_eq!(screen[11], format!("[lobby] {} ", "\u{FFFD}".repeat(31)));
    assert_eq!(cursor, (39, 11));
}
