//! The client's state and the one function that changes it: [`update()`], as in ratatui's app
//! templates (state plus `update(state, event)`).
//!
//! In scope: tabs and their scrollback, the users online, the input line, the connection's
//! state as last reported and the extensions the server turned on, the nicks ignored,
//! registration (the nick, a suffixed one when it is taken, taking it back when it is free,
//! logging in when it is registered), what to send on connect (`CAP`s, `NICK`, `LOGIN`,
//! `WHO`, `JOIN` of the room tabs and `AWAY` after a reconnect), what each key, paste,
//! `/command` and server line does.
//!
//! Out of scope: I/O of any kind. [`update()`] gets the time as an argument and returns
//! [`Effect`]s (lines to send, file jobs, leaving) for the caller to carry out; drawing is `ui`'s job.
//! Every protocol line is built as a `Command` and formatted by the protocol crate.
//!
//! This file only declares the parts and re-exports the API; the parts, in reading order:
//! - `tab`: one tab: its scrollback, unread count, markers, a room's members, owner and topic.
//! - `caps`: [`Caps`], the `CAP` lines sent on connect and their answers (also used by the
//!   line mode).
//! - `state`: [`App`], the whole state, with [`Conn`] and [`Effect`].
//! - `update`: [`update()`], which routes each event to the part below that handles it.
//! - `keys`: keys and the mouse wheel: editing, tabs, scrolling, completion.
//! - `paste`: a paste: into the input line, sent line by line, or held for confirmation.
//! - `submit`: Enter: plain text to the tab's room or person, or a `/command`.
//! - `help`: `/help` and the table of key bindings ([`KEYS`]).
//! - `replies`: the server's lines and the connection's ups and downs.
//! - `nick`: registration and our nick: suffixes, taking it back, the `ERR` codes read.
//! - `account`: [`Account`], the password kept for the session and the account commands
//!   waiting for answers (also used by the line mode).
//! - `login`: logging in to a registered nick (kept password, masked [`Prompt`], waits the
//!   server asks for), `/register`, `/login`, `/password`, `/unregister` and their answers.
//! - `extensions`: `/me` and `ME`, `/away` and `AWAY`, `OWNER`, `/topic` as a question.
//! - `history`: `HISTORY` asked after a reconnect, on joining a room, on opening a direct
//!   tab while logged in and by PgUp at the top of a tab, and its answers put in place.
//! - `uploads`: [`Uploads`], the files `/send` sends, from the file looked at to `OK FILE`
//!   (also used by the line mode).
//! - `offers`: [`Offers`], the files offered to us, numbered for `/save` (also used by the
//!   line mode).
//! - `files`: `/send`, `/save`, the numbered `FILE` lines and the file threads' events,
//!   told in their tabs.
//!
//! The parts import `state` and `tab` (and each other, without a cycle); none imports this
//! file, so that the re-exports below never make a cycle.

mod account;
mod caps;
mod extensions;
mod files;
mod help;
mod history;
mod keys;
mod login;
mod nick;
mod offers;
mod paste;
mod replies;
mod state;
mod submit;
mod tab;
mod update;
mod uploads;

#[cfg(test)]
mod tests;

pub use account::{Account, Answer, Asked, BUSY_RETRY, DELIVERED, Refusal};
pub use caps::{CAPS_WANTED, Caps, PLAIN_CAPS_WANTED};
pub use extensions::AWAY_NOTICE_REPEAT;
pub use help::KEYS;
pub use history::HISTORY_PAGE;
pub use keys::WHEEL_LINES;
pub use nick::{MAX_NICK_ATTEMPTS, NickRefusal, suffixed};
pub use offers::{OFFERS_KEPT, Offered, Offers};
pub use paste::paste_lines;
pub use state::{
    App, CHROME_ROWS, Conn, DEFAULT_MAX_LINE, DEFAULT_PASTE_CONFIRM, Effect, Paste, Prompt,
    Settings,
};
pub use tab::{Body, ChatLine, SCROLLBACK_LEN, Tab, TabKind, mentions};
pub use update::{QUIT_GRACE_TICKS, update};
pub use uploads::{Taken, Told, Uploads, What};
