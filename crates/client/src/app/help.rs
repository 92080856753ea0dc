//! What `/help` shows: the `/commands` (from `crate::commands`) and the key bindings, whose
//! table [`KEYS`] the README is checked against.
//!
//! Out of scope: what the keys do (`keys`, which this table must follow); the server's
//! `HELP` (shown by `replies`).

use chrono::NaiveTime;

use super::state::App;
use crate::commands;

/// The key bindings, for `/help` and the README.
pub const KEYS: [(&str, &str); 13] = [
    (
        "Enter",
        "send the line (plain text goes to this tab's room or person)",
    ),
    (
        "Tab",
        "complete a nick or /command; again for the next match",
    ),
    ("Up / Down", "previous / next line sent"),
    (
        "Left / Right, Home / End",
        "move the cursor (also Ctrl-A / Ctrl-E)",
    ),
    (
        "Ctrl-Left / Ctrl-Right",
        "move by word (also Alt-B / Alt-F)",
    ),
    ("Ctrl-W, Alt-Backspace", "delete the word before the cursor"),
    ("Ctrl-U / Ctrl-K", "delete to the start / end of the line"),
    (
        "PgUp / PgDn, mouse wheel",
        "scroll this tab; PgUp at the top loads older lines",
    ),
    ("Alt-1 .. Alt-9, Alt-0", "go to tab 1 .. 9, 10"),
    (
        "Ctrl-N / Ctrl-P",
        "next / previous tab (also Alt-Right / Alt-Left)",
    ),
    ("Ctrl-L", "redraw the screen"),
    (
        "Enter / Esc on a paste",
        "send / cancel a paste that asks first (see --paste-confirm)",
    ),
    (
        "Ctrl-C",
        "quit (twice: quit without waiting for the server)",
    ),
];

/// `/help`: the commands, then the keys, in the current tab.
pub(super) fn help(app: &mut App, now: NaiveTime) {
    app.info(
        now,
        "commands (plain text goes to this tab's room or person; //text sends /text):",
    );
    for line in commands::help_lines() {
        app.info(now, format!("  {line}"));
    }
    app.info(now, "keys:");
    for (key, what) in KEYS {
        app.info(now, format!("  {key:<25} {what}"));
    }
}
