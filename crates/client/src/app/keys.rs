//! What each key and the mouse wheel do: editing the input line, moving between tabs,
//! scrolling the tab shown, Tab completion; Enter hands the line to `submit`.
//!
//! While a password prompt is shown, keys go to `login` first (Esc there may make
//! registration go on as a guest, `nick`); while a paste waits for confirmation, to `paste`.
//! PgUp that reaches the top of a tab asks `history` for older lines. A line that carries a
//! password goes into the input history without it (`commands::for_history`).
//!
//! Out of scope: what a line typed does (`submit`); the list of bindings shown by `/help`
//! and the README (`help::KEYS`, which must follow this file); the editing itself
//! (`crate::input`).

use std::collections::HashSet;

use chrono::NaiveTime;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};

use super::history::older;
use super::login::{Then, on_prompt_key};
use super::nick::go_on_as_guest;
use super::paste::on_key_while_waiting;
use super::state::{App, Conn, Effect};
use super::submit::{quit, submit};
use super::tab::TabKind;
use crate::commands;

/// Lines scrolled per mouse wheel step.
pub const WHEEL_LINES: usize = 3;

/// The wheel scrolls the tab shown.
pub(super) fn on_mouse(app: &mut App, mouse: MouseEvent) {
    let tab = &mut app.tabs[app.current];
    match mouse.kind {
        MouseEventKind::ScrollUp => tab.scroll_up(WHEEL_LINES),
        MouseEventKind::ScrollDown => tab.scroll_down(WHEEL_LINES),
        _ => {}
    }
}

/// A key: editing the input line, switching tabs, scrolling, completion; Enter submits the
/// line and Ctrl-C quits (twice, or while disconnected: leaves at once).
pub(super) fn on_key(app: &mut App, key: KeyEvent, now: NaiveTime, effects: &mut Vec<Effect>) {
    if key.kind == KeyEventKind::Release {
        return;
    }
    if app.prompt.is_some() {
        match on_prompt_key(app, key, now, effects) {
            Some(Then::GoOnAsGuest) => {
                go_on_as_guest(app, now, effects);
                return;
            }
            Some(_) => return,
            None => {}
        }
    }
    if app.paste.is_some() && on_key_while_waiting(app, key, now, effects) {
        return;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let page = app.pane_rows().saturating_sub(2).max(1);
    let editor = &mut app.editor;
    match key.code {
        KeyCode::Char('c') if ctrl => {
            if app.quitting.is_some() || !app.online() {
                app.conn = Conn::Closed;
                effects.push(Effect::Exit);
            } else {
                quit(app, None, effects);
            }
        }
        KeyCode::Char('l') if ctrl => effects.push(Effect::Redraw),
        KeyCode::Char('n') if ctrl => app.switch_to((app.current + 1) % app.tabs.len()),
        KeyCode::Char('p') if ctrl => {
            app.switch_to((app.current + app.tabs.len() - 1) % app.tabs.len());
        }
        KeyCode::Right if alt => app.switch_to((app.current + 1) % app.tabs.len()),
        KeyCode::Left if alt => {
            app.switch_to((app.current + app.tabs.len() - 1) % app.tabs.len());
        }
        KeyCode::Char(digit @ '0'..='9') if alt => {
            let n = digit.to_digit(10).expect("an ASCII digit") as usize;
            app.switch_to(if n == 0 { 9 } else { n - 1 });
        }
        KeyCode::Char('a') if ctrl => editor.home(),
        KeyCode::Char('e') if ctrl => editor.end(),
        KeyCode::Char('w') if ctrl => editor.delete_word_back(),
        KeyCode::Char('u') if ctrl => editor.kill_to_start(),
        KeyCode::Char('k') if ctrl => editor.kill_to_end(),
        KeyCode::Char('b') if alt => editor.word_left(),
        KeyCode::Char('f') if alt => editor.word_right(),
        KeyCode::Backspace if alt || ctrl => editor.delete_word_back(),
        KeyCode::Char(c) if !ctrl && !alt => editor.insert(c),
        KeyCode::Backspace => editor.backspace(),
        KeyCode::Delete => editor.delete(),
        KeyCode::Left if ctrl => editor.word_left(),
        KeyCode::Right if ctrl => editor.word_right(),
        KeyCode::Left => editor.left(),
        KeyCode::Right => editor.right(),
        KeyCode::Home => editor.home(),
        KeyCode::End => editor.end(),
        KeyCode::Up => editor.history_prev(),
        KeyCode::Down => editor.history_next(),
        KeyCode::PageUp => {
            app.tabs[app.current].scroll_up(page);
            // The oldest line is in view (each line taking a row at least): load older ones.
            let tab = app.tab();
            if tab.lines().len() - tab.scroll <= app.pane_rows() {
                older(app, now, effects);
            }
        }
        KeyCode::PageDown => app.tabs[app.current].scroll_down(page),
        KeyCode::Tab => {
            let candidates = completions(app);
            app.editor.complete(&candidates);
        }
        KeyCode::Enter => {
            let line = app.editor.take_unrecorded();
            if let Some(kept) = commands::for_history(&line) {
                app.editor.record(kept.into_owned());
            }
            submit(app, &line, now, effects);
        }
        _ => {}
    }
}

/// Tab candidates: `/commands` at the start of the line, else nicks (this room's members
/// first in a room tab, then everyone online), and room names.
fn completions(app: &App) -> Vec<String> {
    let (start, word) = app.editor.word_before_cursor();
    if start == 0 && word.starts_with('/') {
        return commands::names().map(str::to_owned).collect();
    }
    let mut names: Vec<String> = Vec::new();
    if let TabKind::Room(_) = app.tab().kind {
        names.extend(app.tab().members.iter().map(|n| n.to_string()));
    }
    names.extend(app.users.iter().map(|n| n.to_string()));
    names.extend(
        app.tabs
            .iter()
            .filter_map(|t| t.room())
            .map(|r| r.to_string()),
    );
    let mut seen = HashSet::new();
    names.retain(|n| seen.insert(n.to_ascii_lowercase()) && *n != app.nick.as_str());
    names
}
