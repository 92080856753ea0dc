//! Tests of `render`, by what they show (this file: the layout, the bars, the scrollback and
//! the input line; `control`: text carrying control characters), drawn on ratatui's
//! `TestBackend` after a conversation driven through `update`; and the helpers they share.
//!
//! Out of scope: what `update` decides (`app`'s tests); wrapping alone (`scrollback`'s).

mod control;

use chrono::NaiveTime;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::update;
use crate::event::{Event, NetEvent};
use chatd_proto::{Nick, Reply};

fn at(minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(12, minute, 0).unwrap()
}

fn server(app: &mut App, line: &str, minute: u32) {
    let reply = Reply::parse(line).unwrap();
    update(app, Event::Net(NetEvent::Line(reply)), at(minute));
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        update(
            app,
            Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
            at(3),
        );
    }
}

fn enter(app: &mut App, text: &str) {
    typed(app, text);
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    update(app, Event::Key(enter), at(3));
}

/// alice's client after a short conversation, on a server that turned every capability
/// on: bob and carol online, bob talks in the lobby, carol sends a direct message, alice
/// answers in the lobby and starts typing.
fn conversation(width: u16, height: u16) -> App {
    let nick = Nick::parse("alice").unwrap();
    let mut app = App::new("127.0.0.1:7878", nick, (width, height));
    update(&mut app, Event::Net(NetEvent::Connected), at(0));
    server(&mut app, "HELLO chatd 0.1.0 - type HELP for commands", 0);
    for cap in ["actions", "away", "owner", "presence", "ids"] {
        server(&mut app, &format!("OK CAP {cap}"), 0);
    }
    server(&mut app, "OK NICK alice", 0);
    server(&mut app, "WHO alice bob", 0);
    server(&mut app, "END WHO", 0);
    server(&mut app, "JOIN carol", 1);
    server(
        &mut app,
        "ALL bob hello alice, how is the new chat client?",
        2,
    );
    server(&mut app, "MSG carol psst", 2);
    enter(&mut app, "it wraps long lines and keeps the scrollback");
    typed(&mut app, "draft");
    app
}

/// The screen as text, one string per row.
fn screen(app: &App) -> Vec<String> {
    let (width, height) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    rows(terminal.backend().buffer())
}

fn rows(buffer: &Buffer) -> Vec<String> {
    let width = usize::from(buffer.area.width);
    buffer
        .content
        .chunks(width)
        .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>())
        .collect()
}

fn find(screen: &[String], text: &str) -> usize {
    screen
        .iter()
        .position(|row| row.contains(text))
        .unwrap_or_else(|| panic!("{text:?} not on screen:\n{}", screen.join("\n")))
}

#[test]
fn the_screen_at_80x24() {
    let app = conversation(80, 24);
    let screen = screen(&app);
    assert_eq!(screen.len(), 24);
    assert!(
        screen[0].starts_with(" 1:lobby  2:carol(1)! "),
        "{}",
        screen[0]
    );
    // The scrollback, newest at the bottom, just above the status bar.
    let bob = find(
        &screen,
        "12:02 <bob> hello alice, how is the new chat client?",
    );
    let own = find(
        &screen,
        "12:03 <alice> it wraps long lines and keeps the scrollback",
    );
    assert_eq!((bob + 1, own), (own, 21));
    assert!(screen[find(&screen, "-!- carol joined")].starts_with("12:01 -!- carol joined"));
    // The side panel: everyone online, sorted.
    let title = find(&screen, "│ online (3)");
    assert_eq!(title, 1);
    for (row, nick) in ["alice", "bob", "carol"].iter().enumerate() {
        let cell = &screen[title + 1 + row][60..];
        assert_eq!(cell.trim_end(), format!("│ {nick}"));
    }
    assert_eq!(
        screen[22].trim_end(),
        " connected │ alice │ 127.0.0.1:7878 │ unread 1"
    );
    assert_eq!(screen[23].trim_end(), "[lobby] draft");
}

#[test]
fn the_screen_at_40x12_hides_the_side_panel_and_wraps() {
    let app = conversation(40, 12);
    let screen = screen(&app);
    assert_eq!(screen.len(), 12);
    assert!(
        !screen
            .iter()
            .any(|row| row.contains('│') && row.contains("online"))
    );
    assert!(!screen[1..10].iter().any(|row| row.contains('│')));
    // Long lines wrap at a space, continuation rows indented under the text.
    let own = find(&screen, "12:03 <alice> it wraps long lines and");
    assert_eq!(
        screen[own + 1].trim_end(),
        "              keeps the scrollback"
    );
    let bob = find(&screen, "12:02 <bob> hello alice, how is the new");
    assert_eq!(screen[bob + 1].trim_end(), "            chat client?");
    // The address does not fit: the status bar leaves it out.
    assert_eq!(screen[10].trim_end(), " connected │ alice │ unread 1");
    assert_eq!(screen[11].trim_end(), "[lobby] draft");
}

#[test]
fn a_room_tab_shows_its_topic_and_members() {
    let mut app = conversation(80, 24);
    app.editor.take();
    enter(&mut app, "/join #rust");
    server(&mut app, "OK JOIN #rust", 4);
    server(&mut app, "TOPIC #rust bob all about rust", 4);
    server(&mut app, "WHO #rust alice bob", 4);
    server(&mut app, "END WHO #rust", 4);
    server(&mut app, "MSG #rust bob welcome", 5);
    let screen = screen(&app);
    assert!(screen[0].contains(" 3:#rust "));
    assert!(screen[1].starts_with("topic: all about rust"));
    assert!(screen[1].contains("│ #rust (2)"));
    assert_eq!(screen[2][60..].trim_end(), "│ alice");
    assert_eq!(screen[3][60..].trim_end(), "│ bob");
    assert!(screen[21].starts_with("12:05 <bob> welcome"));
    assert_eq!(screen[23].trim_end(), "[#rust]");
}

#[test]
fn issue_14_a_counted_lobby_shows_its_count_and_how_to_list_it() {
    let mut app = conversation(80, 24);
    server(&mut app, "PRESENCE COUNT 5000", 3);
    let screen = screen(&app);
    let title = find(&screen, "│ online (5000)");
    assert_eq!(screen[title + 1][60..].trim_end(), "│ too many");
    assert_eq!(screen[title + 3][60..].trim_end(), "│ /who lists");
}

#[test]
fn issue_12_the_rooms_owner_is_marked_in_the_member_list() {
    let mut app = conversation(80, 24);
    app.editor.take();
    enter(&mut app, "/join #rust");
    server(&mut app, "OK JOIN #rust", 4);
    server(&mut app, "WHO #rust alice bob carol", 4);
    server(&mut app, "END WHO #rust", 4);
    server(&mut app, "OWNER #rust bob", 4);
    let screen = screen(&app);
    let title = find(&screen, "│ #rust (3)");
    let members: Vec<&str> = (1..=3)
        .map(|i| screen[title + i][60..].trim_end())
        .collect();
    assert_eq!(members, ["│  alice", "│ @bob", "│  carol"]);
    // The owner leaves: no mark until the server names the next one.
    server(&mut app, "PART #rust bob", 5);
    let screen = self::screen(&app);
    let members: Vec<&str> = (1..=2)
        .map(|i| screen[title + i][60..].trim_end())
        .collect();
    assert_eq!(members, ["│  alice", "│  carol"]);
    server(&mut app, "OWNER #rust alice", 5);
    assert_eq!(self::screen(&app)[title + 1][60..].trim_end(), "│ @alice");
    // The lobby's list has no such column.
    let alt_1 = KeyEvent::new(KeyCode::Char('1'), KeyModifiers::ALT);
    update(&mut app, Event::Key(alt_1), at(5));
    assert_eq!(self::screen(&app)[2][60..].trim_end(), "│ alice");
}

#[test]
fn issue_12_actions_and_being_away_on_screen() {
    let mut app = conversation(80, 24);
    server(&mut app, "ME * bob waves at everyone", 4);
    app.editor.take();
    enter(&mut app, "/me waves back");
    enter(&mut app, "/away at lunch");
    server(&mut app, "OK AWAY on", 5);
    let screen = screen(&app);
    let bob = find(&screen, "12:04 * bob waves at everyone");
    assert!(screen[bob + 1].starts_with("12:03 * alice waves back"));
    assert_eq!(
        screen[22].trim_end(),
        " connected │ alice │ away │ 127.0.0.1:7878 │ unread 1"
    );
    enter(&mut app, "/away");
    server(&mut app, "OK AWAY off", 6);
    assert_eq!(
        self::screen(&app)[22].trim_end(),
        " connected │ alice │ 127.0.0.1:7878 │ unread 1"
    );
}

#[test]
fn scrolled_up_the_new_lines_below_are_counted_on_the_last_row() {
    let mut app = conversation(80, 24);
    for n in 0..40 {
        server(&mut app, &format!("ALL bob line {n}"), 6);
    }
    let page_up = KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE);
    update(&mut app, Event::Key(page_up), at(6));
    let before = screen(&app);
    assert!(
        before[21].contains(" scrolled up 19: PgDn "),
        "{}",
        before[21]
    );
    server(&mut app, "ALL bob news", 7);
    server(&mut app, "ALL bob more news", 7);
    let after = screen(&app);
    // The lines shown did not move; the marker counts what arrived below.
    assert_eq!(before[1..21], after[1..21]);
    assert!(
        after[21].contains(" 2 new lines below: PgDn "),
        "{}",
        after[21]
    );
    assert!(after[22].contains("unread 3"));
    assert!(!after.iter().any(|row| row.contains("more news")));
}

#[test]
fn a_tab_with_unread_lines_shows_where_they_start() {
    let mut app = conversation(80, 24);
    app.editor.take();
    let alt = |n| Event::Key(KeyEvent::new(KeyCode::Char(n), KeyModifiers::ALT));
    update(&mut app, alt('2'), at(8));
    enter(&mut app, "hi");
    update(&mut app, alt('1'), at(8));
    server(&mut app, "MSG carol are you there?", 9);
    server(&mut app, "MSG carol hello?", 9);
    update(&mut app, alt('2'), at(10));
    let screen = screen(&app);
    let marker = find(&screen, " new ");
    assert!(screen[marker - 1].starts_with("12:03 *alice* hi"));
    assert!(screen[marker + 1].starts_with("12:09 *carol* are you there?"));
    assert!(screen[0].contains(" 2:carol "));
    assert!(screen[22].contains("unread 0"));
}

#[test]
fn mentions_are_highlighted_and_nicks_keep_their_colour() {
    let mut app = conversation(80, 24);
    server(&mut app, "ALL bob alice: ping", 9);
    let (width, height) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(&app, frame)).unwrap();
    let buffer = terminal.backend().buffer();
    // "12:09 <bob> " is 12 columns; the text starts after it.
    assert_eq!(buffer[(12, 21)].symbol(), "a");
    assert_eq!(buffer[(12, 21)].fg, Color::LightYellow);
    let bob = Nick::parse("bob").unwrap();
    assert_eq!(buffer[(7, 21)].fg, nick_color(&bob));
    assert_eq!(nick_color(&bob), nick_color(&Nick::parse("BOB").unwrap()));
}

#[test]
fn a_long_input_line_scrolls_to_keep_the_cursor_visible() {
    let mut app = conversation(40, 12);
    app.editor.take();
    let text: String = ('a'..='z').cycle().take(60).collect();
    typed(&mut app, &text);
    let mut terminal = Terminal::new(TestBackend::new(40, 12)).unwrap();
    terminal.draw(|frame| render(&app, frame)).unwrap();
    let screen = rows(terminal.backend().buffer());
    // "[lobby] " then the end of the text, the cursor just after it.
    assert_eq!(screen[11], format!("[lobby] {} ", &text[29..]));
    let cursor = terminal.get_cursor_position().unwrap();
    assert_eq!((cursor.x, cursor.y), (39, 11));
    let home = KeyEvent::new(KeyCode::Home, KeyModifiers::NONE);
    update(&mut app, Event::Key(home), at(3));
    terminal.draw(|frame| render(&app, frame)).unwrap();
    let screen = rows(terminal.backend().buffer());
    assert_eq!(screen[11], format!("[lobby] {}", &text[..32]));
    let cursor = terminal.get_cursor_position().unwrap();
    assert_eq!((cursor.x, cursor.y), (8, 11));
}

#[test]
fn issue_12_a_waiting_paste_asks_in_the_input_line() {
    let mut app = conversation(80, 24);
    let text: String = (1..=15).map(|i| format!("line {i}\r")).collect();
    update(&mut app, Event::Paste(text), at(4));
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|frame| render(&app, frame)).unwrap();
    let screen = rows(terminal.backend().buffer());
    assert_eq!(
        screen[23].trim_end(),
        "[lobby] paste 15 lines? Enter sends them, Esc cancels"
    );
    assert_eq!(terminal.get_cursor_position().unwrap().x, 53);
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    update(&mut app, Event::Key(esc), at(4));
    assert_eq!(self::screen(&app)[23].trim_end(), "[lobby] draft");
}

#[test]
fn issue_16_the_password_prompt_is_masked() {
    let mut app = conversation(80, 24);
    let ctrl_u = KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL);
    update(&mut app, Event::Key(ctrl_u), at(4));
    enter(&mut app, "/login bob");
    typed(&mut app, "s3cret-pw");
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|frame| render(&app, frame)).unwrap();
    let screen = rows(terminal.backend().buffer());
    assert_eq!(screen[23].trim_end(), "[password for bob] *********");
    assert_eq!(terminal.get_cursor_position().unwrap().x, 28);
    assert!(
        screen.iter().all(|row| !row.contains("s3cret")),
        "{screen:#?}"
    );
    find(&screen, "--- /login bob");
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    update(&mut app, Event::Key(esc), at(4));
    assert_eq!(self::screen(&app)[23].trim_end(), "[lobby]");
    // Another client took the account: the status bar says so.
    server(&mut app, "BYE logged in elsewhere", 5);
    let status = &self::screen(&app)[22];
    assert!(
        status.starts_with(" logged in elsewhere │ alice"),
        "{status}"
    );
}

#[test]
fn issue_15_history_shows_with_its_own_time_above_the_rule() {
    let mut app = conversation(80, 24);
    let kill_line = KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL);
    update(&mut app, Event::Key(kill_line), at(4));
    enter(&mut app, "/join #tea");
    server(&mut app, "OK JOIN #tea", 4);
    server(&mut app, "END WHO #tea", 4);
    let hist = "HIST #tea 7 2026-12-06T09:41:00.000Z MSG #tea bob an old line";
    server(&mut app, hist, 4);
    server(&mut app, "END HISTORY #tea 1", 4);
    let screen = screen(&app);
    let old = find(&screen, "09:41 <bob> an old line");
    let rule = find(&screen, "── 1 earlier line above, new below ──");
    let join = find(&screen, "12:04 -!- you joined #tea");
    assert_eq!((old + 1, rule + 1), (rule, join), "{}", screen.join("\n"));
}

#[test]
fn tiny_and_odd_sizes_do_not_panic() {
    for (width, height) in [(1, 1), (5, 3), (20, 4), (59, 10), (60, 10), (200, 60)] {
        let app = conversation(width, height);
        assert_eq!(screen(&app).len(), usize::from(height));
    }
}

#[test]
fn issue_17_a_file_shows_its_number_its_sender_in_colour_and_how_to_save_it() {
    let mut app = conversation(60, 24);
    let url = "http://127.0.0.1:8080/files/0123/a%20long%20name.png";
    server(
        &mut app,
        &format!("FILE bob 1234567 {url} a long name for a holiday photo.png"),
        9,
    );
    let (width, height) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(&app, frame)).unwrap();
    let buffer = terminal.backend().buffer();
    let screen = rows(buffer);
    let row = find(&screen, "12:09 [1] bob sent");
    let pane: Vec<&str> = screen[row..row + 3]
        .iter()
        .map(|line| line.split('│').next().unwrap().trim_end())
        .collect();
    // Continuation rows go under the name, as under a message's text.
    assert_eq!(
        pane,
        [
            "12:09 [1] bob sent a long name for a",
            "                   holiday photo.png",
            "                   (1.2 MB) — /save 1",
        ]
    );
    let bob = Nick::parse("bob").unwrap();
    assert_eq!(buffer[(10, u16::try_from(row).unwrap())].symbol(), "b");
    assert_eq!(
        buffer[(10, u16::try_from(row).unwrap())].fg,
        nick_color(&bob)
    );
}
