//! Drawing: the screen as a pure function of the [`App`].
//!
//! In scope: the layout (tab bar, room topic, scrollback, side panel, status bar, input line)
//! and drawing each of them but the scrollback, which is `scrollback`'s job (a line's spans,
//! wrapping, the pane and its markers); `style` holds the styles and nick colours. Neither
//! child imports this file.
//!
//! Out of scope: any state change and any I/O; ratatui's terminal does the output.
//!
//! ```text
//!  1:lobby  2:#rust(3)  3:bob                               tab bar
//!  12:01 <alice> hello                         │ online (2)  scrollback | side panel
//!  12:01 -!- bob joined                        │ alice       (hidden below 60 columns)
//!  connected │ alice │ 127.0.0.1:7878 │ unread 3          status bar
//!  [lobby] text being typed_                                 input line
//! ```
//!
//! In a room tab whose owner the server told (`OWNER`), the member list marks it, `@alice`,
//! the others indented to match, as irssi does. While we are away, the status bar says
//! `away` after our nick.
//!
//! While a paste of many lines waits, the input line asks about it instead
//! (`[lobby] paste 15 lines? Enter sends them, Esc cancels`).

mod scrollback;
mod style;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

pub use scrollback::wrap;
pub use style::nick_color;

use crate::app::{App, Conn, TabKind};
use scrollback::scrollback;
use style::{BAR, MENTION, NOTICE, NOTICE_TEXT, QUESTION};

/// Below this many columns the side panel is hidden, leaving the scrollback the whole width.
pub const SIDE_PANEL_MIN_WIDTH: u16 = 60;

/// Columns of the side panel, its border included.
pub const SIDE_PANEL_WIDTH: u16 = 20;

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let area = frame.area();
    let [tabs, body, status, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let buf = frame.buffer_mut();
    tab_bar(app, tabs, buf);
    let (pane, side) = if area.width >= SIDE_PANEL_MIN_WIDTH {
        let [pane, side] =
            Layout::horizontal([Constraint::Min(1), Constraint::Length(SIDE_PANEL_WIDTH)])
                .areas(body);
        (pane, Some(side))
    } else {
        (body, None)
    };
    let tab = app.tab();
    let pane = match &tab.topic {
        Some((_, topic)) if pane.height > 1 => {
            let [top, rest] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(pane);
            Paragraph::new(Line::from(vec![
                Span::styled("topic: ", NOTICE),
                Span::styled(topic.as_str(), NOTICE_TEXT),
            ]))
            .render(top, buf);
            rest
        }
        _ => pane,
    };
    scrollback(tab, pane, buf);
    if let Some(side) = side {
        side_panel(app, side, buf);
    }
    status_bar(app, status, buf);
    let cursor = input_line(app, input, buf);
    frame.set_cursor_position(cursor);
}

fn tab_bar(app: &App, area: Rect, buf: &mut Buffer) {
    let labels: Vec<(String, Style)> = app
        .tabs
        .iter()
        .enumerate()
        .map(|(i, tab)| {
            let mut label = format!(" {}:{}", i + 1, tab.label());
            if tab.unread > 0 {
                label.push_str(&format!("({})", tab.unread));
            }
            if tab.highlight {
                label.push('!');
            }
            label.push(' ');
            let style = if i == app.current {
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
            } else if tab.highlight {
                MENTION
            } else if tab.unread > 0 {
                Style::new().fg(Color::White).add_modifier(Modifier::BOLD)
            } else {
                Style::new().fg(Color::Gray)
            };
            (label, style)
        })
        .collect();
    // Leave out tabs on the left until the current one fits.
    let width = usize::from(area.width);
    let mut first = 0;
    while first < app.current
        && labels[first..=app.current]
            .iter()
            .map(|(l, _)| l.width())
            .sum::<usize>()
            > width
    {
        first += 1;
    }
    let mut spans: Vec<Span<'_>> = Vec::new();
    if first > 0 {
        spans.push(Span::styled("<", Style::new().fg(Color::DarkGray)));
    }
    spans.extend(
        labels[first..]
            .iter()
            .map(|(label, style)| Span::styled(label.clone(), *style)),
    );
    Paragraph::new(Line::from(spans)).render(area, buf);
}

fn side_panel(app: &App, area: Rect, buf: &mut Buffer) {
    let list = app.side_list();
    let title = match app.tab().kind {
        TabKind::Room(ref room) => format!(" {room} ({}) ", list.len()),
        _ => format!(" online ({}) ", list.len()),
    };
    let block = Block::new()
        .borders(Borders::LEFT)
        .border_style(Style::new().fg(Color::DarkGray))
        .title(Span::styled(
            title,
            Style::new().add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    let rows = usize::from(inner.height);
    // A column for the owner's `@`, only in a room whose owner is known.
    let owner_column = matches!(app.tab().kind, TabKind::Room(_)) && app.tab().owner.is_some();
    let mut lines: Vec<Line<'_>> = Vec::new();
    for (i, nick) in list.iter().enumerate() {
        if i + 1 == rows && list.len() > rows {
            lines.push(Line::styled(
                format!(" +{} more", list.len() - i),
                Style::new().fg(Color::DarkGray),
            ));
            break;
        }
        let mut style = Style::new().fg(nick_color(nick));
        if nick.key() == app.nick.key() {
            style = style.add_modifier(Modifier::BOLD);
        }
        let mark = match (owner_column, app.tab().is_owner(nick)) {
            (false, _) => "",
            (true, true) => "@",
            (true, false) => " ",
        };
        lines.push(Line::from(Span::styled(format!(" {mark}{nick}"), style)));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// The connection state as the status bar says it.
pub fn conn_text(conn: Conn) -> String {
    match conn {
        Conn::Connecting { attempt: 1 } => "connecting".to_owned(),
        Conn::Connecting { attempt } => format!("connecting (try {attempt})"),
        Conn::Registering => "registering".to_owned(),
        Conn::Online => "connected".to_owned(),
        Conn::Waiting { retry_in } => format!("reconnecting in {retry_in}s"),
        Conn::Closed => "disconnected".to_owned(),
    }
}

fn status_bar(app: &App, area: Rect, buf: &mut Buffer) {
    let state_style = match app.conn {
        Conn::Online => BAR.fg(Color::LightGreen),
        Conn::Waiting { .. } | Conn::Closed => BAR.fg(Color::LightRed),
        _ => BAR.fg(Color::LightYellow),
    };
    let sep = Span::styled(" │ ", BAR.fg(Color::Gray));
    let unread = app.unread();
    let unread_style = if unread > 0 {
        BAR.add_modifier(Modifier::BOLD)
    } else {
        BAR
    };
    let mut spans = vec![
        Span::styled(format!(" {}", conn_text(app.conn)), state_style),
        sep.clone(),
        Span::styled(app.nick.to_string(), BAR.add_modifier(Modifier::BOLD)),
        sep.clone(),
    ];
    if app.away.is_some() {
        spans.push(Span::styled("away", BAR.fg(Color::LightYellow)));
        spans.push(sep.clone());
    }
    let unread_at = spans.len();
    spans.push(Span::styled(format!("unread {unread}"), unread_style));
    let addr = [Span::styled(app.addr.clone(), BAR), sep];
    let width: usize = spans.iter().chain(&addr).map(Span::width).sum();
    if width <= usize::from(area.width) {
        // The address goes before the unread count when there is room for it.
        spans.splice(unread_at..unread_at, addr);
    }
    buf.set_style(area, BAR);
    Paragraph::new(Line::from(spans))
        .style(BAR)
        .render(area, buf);
}

/// Draws the prompt and the visible part of the input, or the question about a paste that
/// waits; returns where the cursor goes.
fn input_line(app: &App, area: Rect, buf: &mut Buffer) -> Position {
    let prompt = format!("[{}] ", app.tab().label());
    let width = usize::from(area.width);
    if let Some(paste) = &app.paste {
        let question = format!(
            "paste {} lines? Enter sends them, Esc cancels",
            paste.lines.len()
        );
        let end = (prompt.width() + question.width()).min(width.saturating_sub(1));
        Paragraph::new(Line::from(vec![
            Span::styled(prompt, Style::new().fg(Color::Cyan)),
            Span::styled(question, QUESTION),
        ]))
        .render(area, buf);
        return Position::new(area.x + end as u16, area.y);
    }
    let prompt_width = prompt.width().min(width / 2);
    let room = width.saturating_sub(prompt_width + 1).max(1);
    let text = app.editor.text();
    let cursor = app.editor.cursor_width();
    // Scroll the text left so the cursor stays visible.
    let mut skip_width = 0;
    let mut chars = text.chars();
    let mut rest = text.as_str();
    while cursor - skip_width > room {
        let Some(c) = chars.next() else { break };
        skip_width += c.width().unwrap_or(0);
        rest = chars.as_str();
    }
    let prompt: String = prompt.chars().take(prompt_width).collect();
    Paragraph::new(Line::from(vec![
        Span::styled(prompt, Style::new().fg(Color::Cyan)),
        Span::raw(rest.to_owned()),
    ]))
    .render(area, buf);
    let x = area.x + (prompt_width + cursor - skip_width).min(width.saturating_sub(1)) as u16;
    Position::new(x, area.y)
}

#[cfg(test)]
mod tests {
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
        for cap in ["actions", "away", "owner"] {
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
    fn tiny_and_odd_sizes_do_not_panic() {
        for (width, height) in [(1, 1), (5, 3), (20, 4), (59, 10), (60, 10), (200, 60)] {
            let app = conversation(width, height);
            assert_eq!(screen(&app).len(), usize::from(height));
        }
    }
}
