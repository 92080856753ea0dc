//! The scrollback pane: one chat line as styled spans, wrapping them to the pane's width
//! (at a space where one is, continuation rows indented under the text), and the pane itself,
//! bottom-aligned as in irssi, with its "new" and scrolled-up markers. Every span is wrapped
//! as `printable::for_screen` draws it (issue 13): a control character in a message, a
//! notice, an error or a nick takes the one column of its replacement, and a TAB its spaces.
//!
//! Out of scope: the tabs, bars, side panel and input line (`ui`); the styles (`style`);
//! scrolling itself (the app's state).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::style::{
    DIRECT_TEXT, ERROR, FILE_NUMBER, INFO, MARKER, MENTION, NOTICE, NOTICE_TEXT, TIME, nick_color,
};
use crate::app::{Body, ChatLine, Tab};
use crate::file_names::human_size;
use crate::printable::for_screen;

/// The spans of one line before wrapping, and the width of its prefix (time and nick; for a
/// file, up to its name), the indent of its continuation rows.
fn line_spans(line: &ChatLine) -> (Vec<Span<'static>>, usize) {
    let time = line.time.format("%H:%M ").to_string();
    let mut spans = vec![Span::styled(time, TIME)];
    // Where the text starts, if not at the last span: the indent of continuation rows.
    let mut text_at = 0;
    match &line.body {
        Body::Chat {
            from,
            text,
            direct,
            own,
            action,
        } => {
            let mut nick_style = Style::new().fg(nick_color(from));
            if *own {
                nick_style = nick_style.add_modifier(Modifier::BOLD);
            }
            // An action reads as a sentence about its sender, as in irssi: `* bob waves`.
            let (open, close) = match (*action, *direct) {
                (true, _) => ("* ", " "),
                (false, true) => ("*", "* "),
                (false, false) => ("<", "> "),
            };
            spans.push(Span::styled(open, Style::new().fg(Color::DarkGray)));
            spans.push(Span::styled(from.to_string(), nick_style));
            spans.push(Span::styled(close, Style::new().fg(Color::DarkGray)));
            let text_style = if line.mention {
                MENTION
            } else if *direct {
                DIRECT_TEXT
            } else {
                Style::new()
            };
            spans.push(Span::styled(text.clone(), text_style));
        }
        Body::Notice(text) => {
            spans.push(Span::styled("-!- ", NOTICE));
            spans.push(Span::styled(text.clone(), NOTICE_TEXT));
        }
        Body::Error(text) => {
            spans.push(Span::styled("!!! ", ERROR));
            spans.push(Span::styled(text.clone(), ERROR));
        }
        Body::Info(text) => {
            spans.push(Span::styled("--- ", INFO));
            spans.push(Span::styled(text.clone(), INFO));
        }
        Body::Rule(text) => {
            spans.push(Span::styled("── ", MARKER));
            spans.push(Span::styled(format!("{text} ──"), MARKER));
        }
        Body::File {
            number,
            from,
            name,
            size,
            direct,
            own,
        } => {
            let mut nick_style = Style::new().fg(nick_color(from));
            if *own {
                nick_style = nick_style.add_modifier(Modifier::BOLD);
            }
            let hint = Style::new().fg(Color::DarkGray);
            spans.push(Span::styled(format!("[{number}] "), FILE_NUMBER));
            spans.push(Span::styled(from.to_string(), nick_style));
            spans.push(Span::styled(" sent ", hint));
            // Continuation rows go under the name, as under a message's text.
            text_at = spans.len();
            let name_style = if *direct { DIRECT_TEXT } else { Style::new() };
            spans.push(Span::styled(name.clone(), name_style));
            spans.push(Span::styled(format!(" ({})", human_size(*size)), hint));
            spans.push(Span::styled(format!(" — /save {number}"), hint));
        }
        Body::Transfer { text, .. } => {
            spans.push(Span::styled("--- ", INFO));
            spans.push(Span::styled(text.clone(), INFO));
        }
    }
    let text_at = if text_at == 0 {
        spans.len() - 1
    } else {
        text_at
    };
    let prefix = spans[..text_at]
        .iter()
        .map(|span| for_screen(&span.content).width())
        .sum();
    (spans, prefix)
}

/// Wraps spans into rows of at most `width` columns, breaking after a space where one is in
/// the row; continuation rows are indented by `indent` (unless that leaves too little room).
/// Each span is drawn as [`for_screen`] gives it, a TAB's stops counted from the span's start.
pub fn wrap(spans: &[Span<'_>], width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let indent = if indent * 2 <= width { indent } else { 0 };
    let mut cells: Vec<(char, Style)> = Vec::new();
    for span in spans {
        cells.extend(for_screen(&span.content).chars().map(|c| (c, span.style)));
    }
    let mut rows = Vec::new();
    let mut start = 0;
    while start < cells.len() || rows.is_empty() {
        let lead = if rows.is_empty() { 0 } else { indent };
        let room = width - lead;
        let mut used = 0;
        let mut end = start;
        while end < cells.len() {
            let w = cells[end].0.width().unwrap_or(0);
            if used + w > room {
                break;
            }
            used += w;
            end += 1;
        }
        if end == start && end < cells.len() {
            end += 1; // a character wider than the row: show it anyway
        }
        if end < cells.len() {
            if let Some(space) = (start + 1..end).rev().find(|&i| cells[i].0 == ' ') {
                end = space + 1;
            }
        }
        let mut row: Vec<Span<'static>> = Vec::new();
        if lead > 0 {
            row.push(Span::raw(" ".repeat(lead)));
        }
        let mut run = String::new();
        let mut style = cells.get(start).map_or(Style::new(), |c| c.1);
        for &(c, s) in &cells[start..end] {
            if s != style && !run.is_empty() {
                row.push(Span::styled(std::mem::take(&mut run), style));
            }
            style = s;
            run.push(c);
        }
        if !run.is_empty() {
            row.push(Span::styled(run, style));
        }
        rows.push(Line::from(row));
        start = end;
    }
    rows
}

/// Draws the newest lines of `tab` that fit in `area`, wrapped, from its scroll position: a
/// "new" marker above the first unread line, a last row that says when the view is scrolled
/// up.
pub(super) fn scrollback(tab: &Tab, area: Rect, buf: &mut Buffer) {
    let height = usize::from(area.height);
    if height == 0 || area.width == 0 {
        return;
    }
    let width = usize::from(area.width);
    // While scrolled up, the last row says so, and counts the lines that arrived below.
    let marker = (tab.scroll > 0).then(|| {
        let plural = if tab.below == 1 { "" } else { "s" };
        let text = if tab.below > 0 {
            format!(" {} new line{plural} below: PgDn ", tab.below)
        } else {
            format!(" scrolled up {}: PgDn ", tab.scroll)
        };
        Line::from(Span::styled(
            center(&text, width, '─'),
            MARKER.add_modifier(Modifier::BOLD),
        ))
    });
    let rows_wanted = height - usize::from(marker.is_some());
    let lines = tab.lines();
    let newest = lines.len().saturating_sub(1 + tab.scroll);
    let mut rows: Vec<Line<'static>> = Vec::new();
    if !lines.is_empty() {
        for index in (0..=newest).rev() {
            if rows.len() >= rows_wanted {
                break;
            }
            let (spans, indent) = line_spans(&lines[index]);
            let wrapped = wrap(&spans, width, indent);
            rows.extend(wrapped.into_iter().rev());
            if tab.read_marker == Some(tab.seq(index)) && index > 0 && rows.len() < rows_wanted {
                rows.push(Line::from(Span::styled(
                    center(" new ", width, '─'),
                    MARKER,
                )));
            }
        }
    }
    rows.truncate(rows_wanted);
    rows.reverse();
    // Short scrollbacks sit at the bottom of the pane, as in irssi.
    let mut shown: Vec<Line<'static>> = vec![Line::raw(""); rows_wanted - rows.len()];
    shown.extend(rows);
    shown.extend(marker);
    Paragraph::new(shown).render(area, buf);
}

/// `text` centred in `width` columns, padded with `fill`.
fn center(text: &str, width: usize, fill: char) -> String {
    let w = text.width();
    if w >= width {
        return text.chars().take(width).collect();
    }
    let left = (width - w) / 2;
    let right = width - w - left;
    format!(
        "{}{text}{}",
        fill.to_string().repeat(left),
        fill.to_string().repeat(right)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_splits_long_words() {
        let text =
            |lines: Vec<Line<'_>>| -> Vec<String> { lines.iter().map(|l| l.to_string()).collect() };
        let spans = [Span::raw("12:00 "), Span::raw("aaa bbb ccc")];
        assert_eq!(text(wrap(&spans, 10, 6)), ["12:00 aaa ", "bbb ccc"]);
        assert_eq!(text(wrap(&spans, 14, 6)), ["12:00 aaa bbb ", "      ccc"]);
        let long = [Span::raw("x".repeat(25))];
        assert_eq!(
            text(wrap(&long, 10, 0)),
            ["x".repeat(10), "x".repeat(10), "x".repeat(5)]
        );
        assert_eq!(text(wrap(&[Span::raw("")], 10, 0)), [""]);
        assert_eq!(text(wrap(&[Span::raw("日本語")], 4, 0)), ["日本", "語"]);
    }
}
