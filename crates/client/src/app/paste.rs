//! A paste, which the terminal hands over whole (bracketed paste): one line goes into the
//! input line as if typed; several are sent at once, in order, as text to the tab pasted
//! into, after a confirmation when there are more than `Settings::paste_confirm` of them
//! (irssi asks too: a paste into the wrong window should cost one key, not a flood).
//!
//! Pasted lines are text even when they start with `/` or are a server command word: a
//! pasted log must not run `/quit`. Blank lines are dropped (the server ignores them).
//!
//! Out of scope: where the paste comes from (`crate::terminal`); drawing the question
//! (`ui`); what sending text to a tab means (`submit::say_in`).

use chrono::NaiveTime;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::login::on_prompt_paste;
use super::state::{App, Effect, Paste};
use super::submit::say_in;
use super::tab::TabKind;

/// The lines of a paste: split at any line ending (`\r\n`, `\r` or `\n`: terminals send a
/// pasted line break as `\r`), tabs made spaces, other control characters dropped, blank
/// lines left out.
pub fn paste_lines(text: &str) -> Vec<String> {
    text.split(['\r', '\n'])
        .map(|line| {
            line.chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .filter(|c| !c.is_control())
                .collect::<String>()
        })
        .filter(|line| !line.trim().is_empty())
        .collect()
}

/// A paste arrived: into the input line (one line), sent (a few), or held for confirmation.
/// A paste that comes while another waits joins it.
pub(super) fn on_paste(app: &mut App, text: &str, now: NaiveTime, effects: &mut Vec<Effect>) {
    if app.prompt.is_some() {
        // A password manager's paste: into the password prompt, never sent as text.
        on_prompt_paste(app, text);
        return;
    }
    let lines = paste_lines(text);
    if let Some(waiting) = &mut app.paste {
        waiting.lines.extend(lines);
        return;
    }
    let ask_above = app.settings.paste_confirm;
    match lines.len() {
        0 => {}
        1 => app.editor.insert_str(&lines[0]),
        n if ask_above == 0 || n <= ask_above => send_lines(app, app.current, &lines, now, effects),
        _ => {
            app.paste = Some(Paste {
                lines,
                tab: app.tab().kind.clone(),
            });
        }
    }
}

/// A key while a paste waits: Enter sends it, Esc drops it, Ctrl-C still quits (returns
/// false: the caller handles it); every other key is ignored, so that a key pressed by
/// mistake neither sends the paste nor edits the hidden input line.
pub(super) fn on_key_while_waiting(
    app: &mut App,
    key: KeyEvent,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) -> bool {
    let Some(paste) = app.paste.take() else {
        return false;
    };
    match key.code {
        KeyCode::Enter => {
            let index = match &paste.tab {
                TabKind::Lobby => Some(0),
                TabKind::Room(room) => app.room_tab(room),
                TabKind::Direct(nick) => Some(app.open(TabKind::Direct(nick.clone()))),
            };
            match index {
                Some(index) => send_lines(app, index, &paste.lines, now, effects),
                None => app.error(now, "the room's tab is closed: the paste was not sent"),
            }
        }
        KeyCode::Esc => {
            let n = paste.lines.len();
            app.info(
                now,
                format!("paste of {n} lines cancelled: nothing was sent"),
            );
        }
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            app.paste = Some(paste);
            return false;
        }
        _ => app.paste = Some(paste),
    }
    true
}

/// Sends `lines` to tab `index` in order; stops at the first that cannot go (not connected,
/// too long), and says which were not sent.
fn send_lines(
    app: &mut App,
    index: usize,
    lines: &[String],
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) {
    for (n, line) in lines.iter().enumerate() {
        if !say_in(app, index, line, now, effects) {
            let total = lines.len();
            app.error(
                now,
                format!(
                    "the paste stopped at line {} of {total}: the rest was not sent",
                    n + 1
                ),
            );
            return;
        }
    }
}
