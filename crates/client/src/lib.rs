//! The terminal client `chat`: an irssi-like screen, or a line mode for scripts.
//!
//! It speaks to a server only over TCP, through `chatd-proto`'s `Command` and `Reply`, and must
//! never depend on the server crate (its network tests start one through `chatd-testkit`) nor
//! on the benchmark.
//!
//! Modules, in reading order:
//! - [`event`]: the one event type the loop handles.
//! - [`commands`]: `/commands` typed by the user. Pure.
//! - [`input`]: the input line: editing, history, completion. Pure.
//! - [`app`]: the state and `update(state, event)`, which decides everything. Pure. Its
//!   parts: `tab` (one tab's scrollback) and `state` (`App`), the state; `update`, the entry
//!   point, which routes to `keys` (keys and the wheel), `submit` (Enter: text and
//!   `/commands`), `help`, `replies` (server lines) and `nick` (registration, our nick, the
//!   one place `ERR` codes are read).
//! - [`ui`]: `render(state, frame)`. Pure. Its parts: `scrollback` (wrapping, the pane) and
//!   `style` (styles, nick colours).
//! - [`net`]: the socket: connect with back-off, reader and writer threads.
//! - [`terminal`]: the full-screen loop: terminal set-up and restore, key and tick thread.
//! - [`line_mode`]: `--plain`: stdin lines in, server lines out.

pub mod app;
pub mod commands;
pub mod event;
pub mod input;
pub mod line_mode;
pub mod net;
pub mod terminal;
pub mod ui;

use clap::Parser;

use chatd_proto::Nick;

/// The command line of `chat`.
#[derive(Debug, Parser)]
#[command(name = "chat", version, about = "A terminal client for chatd")]
pub struct Args {
    /// Server address (host:port).
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub addr: String,
    /// Nick to use; defaults to $USER. When it is taken, a suffixed one is used
    /// (alice_, alice_2, ...) until it is free again.
    #[arg(long)]
    pub nick: Option<String>,
    /// Line mode for scripts and dumb terminals: input lines are sent, server lines printed.
    #[arg(long)]
    pub plain: bool,
}

impl Args {
    /// The nick to use: `--nick`, or `$USER`, checked by the protocol's rules.
    pub fn nick(&self) -> Result<Nick, String> {
        let (text, source) = match &self.nick {
            Some(nick) => (nick.clone(), "--nick"),
            None => (std::env::var("USER").unwrap_or_default(), "$USER"),
        };
        if text.is_empty() {
            return Err("no nick: give --nick NAME".to_owned());
        }
        Nick::parse(&text).map_err(|e| format!("{source} {text:?} is not a valid nick: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_readme_documents_every_flag_key_and_command() {
        let readme = include_str!("../../../README.md");
        for arg in Args::command().get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(readme.contains(&format!("`--{long}")), "--{long}");
            }
        }
        for (key, _) in app::KEYS {
            assert!(readme.contains(&format!("| {key} |")), "{key}");
        }
        for (synopsis, _) in commands::COMMANDS {
            // A `|` in a table cell is escaped, even inside code.
            let cell = synopsis.replace('|', "\\|");
            assert!(readme.contains(&format!("| `{cell}` |")), "{synopsis}");
        }
    }
}
