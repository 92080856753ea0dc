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
//! (`[lobby] paste 15 lines? Enter sends them, Esc cancels`). While a password is asked for,
//! the input line is the prompt, masked: `[password for alice] ******` (never the text).
//!
//! Every text drawn that the client did not write itself (from the server, the command line
//! or the keyboard: messages, topics, reasons, names, the address, the input) goes through
//! `printable::for_screen` first, and is measured (wrapping, what fits, the cursor) as it
//! comes out: a control character never reaches the terminal, and the layout stays right
//! (issue 13). Names are drawn through it too, though the protocol crate validates them.

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
use crate::printable::for_screen;
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
                Span::styled(for_screen(topic), NOTICE_TEXT),
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
            let mut label = format!(" {}:{}", i + 1, for_screen(tab.label()));
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
        TabKind::Room(ref room) => format!(" {} ({}) ", for_screen(room.as_str()), list.len()),
        _ => match app.counted {
            Some(count) => format!(" online ({count}) "),
            None => format!(" online ({}) ", list.len()),
        },
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
    if let (Some(_), false) = (app.counted, matches!(app.tab().kind, TabKind::Room(_))) {
        // The server does not tell who comes and goes in so big a lobby.
        for text in [" too many", " to list:", " /who lists", " them"] {
            lines.push(Line::styled(text, Style::new().fg(Color::DarkGray)));
        }
    }
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
        let nick = for_screen(nick.as_str());
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
        Conn::LoggedInElsewhere => "logged in elsewhere".to_owned(),
    }
}

fn status_bar(app: &App, area: Rect, buf: &mut Buffer) {
    let state_style = match app.conn {
        Conn::Online => BAR.fg(Color::LightGreen),
        Conn::Waiting { .. } | Conn::Closed | Conn::LoggedInElsewhere => BAR.fg(Color::LightRed),
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
        Span::styled(
            for_screen(app.nick.as_str()),
            BAR.add_modifier(Modifier::BOLD),
        ),
        sep.clone(),
    ];
    if app.away.is_some() {
        spans.push(Span::styled("away", BAR.fg(Color::LightYellow)));
        spans.push(sep.clone());
    }
    let unread_at = spans.len();
    spans.push(Span::styled(format!("unread {unread}"), unread_style));
    let addr = [Span::styled(for_screen(&app.addr), BAR), sep];
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
    let width = usize::from(area.width);
    if let Some(asking) = &app.prompt {
        let prompt = format!("[password for {}] ", for_screen(asking.nick.as_str()));
        // One star per character typed, at most a line of them: the length is all it shows.
        let stars = "*".repeat(asking.typed_chars().min(width / 2));
        let end = (prompt.width() + stars.len()).min(width.saturating_sub(1));
        Paragraph::new(Line::from(vec![
            Span::styled(prompt, QUESTION),
            Span::raw(stars),
        ]))
        .render(area, buf);
        return Position::new(area.x + end as u16, area.y);
    }
    let prompt = format!("[{}] ", for_screen(app.tab().label()));
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
    // Measured as drawn: a pasted or typed control character is drawn, and takes a column,
    // as its replacement.
    let typed = app.editor.text();
    let text = for_screen(&typed);
    let cursor = for_screen(&app.editor.before_cursor())
        .chars()
        .map(|c| c.width().unwrap_or(0))
        .sum::<usize>();
    // Scroll the text left so the cursor stays visible.
    let mut skip_width = 0;
    let mut chars = text.chars();
    let mut rest = &*text;
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
mod tests;
