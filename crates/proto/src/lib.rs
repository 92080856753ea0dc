//! The chatd wire protocol, shared by the server, the `chat` client and the benchmark.
//!
//! In scope: framing bytes into lines ([`line_buffer`]), parsing a line into a [`Command`] or
//! a [`Reply`] and formatting them back, the error codes, and the [`Nick`] and [`Room`] types.
//! This crate is the only place that knows how the protocol is spelled. Everything its users
//! need is re-exported here, at the root.
//!
//! The modules, in reading order:
//! - `names`: [`Nick`], [`Room`], their case-folded keys and length limits; [`Target`].
//! - `words`: [`COMMAND_WORDS`], the one table of command words (spelling, whether the word
//!   needs registration, its `HELP` lines) that the parser, the server's registration gate and
//!   `HELP` read.
//! - `command`: [`Command`], read from a line in two steps ([`CommandLine::read`] finds the
//!   word, [`CommandLine::parse`] the arguments) so a line is split once.
//! - `reply`: [`Reply`], every server line, parsed and formatted; `who` cuts nick lists into
//!   `WHO` lines; `help` holds the greeting and the `HELP` text.
//! - `stats`: [`StatName`], the names of the figures `STATS` answers with.
//! - `caps`: [`Capability`] and [`CapSet`], what `CAP` turns on; `forms`: which lines need
//!   which capability, and the v1 line that stands for one (a client that never sends `CAP`
//!   gets only v1 lines).
//! - `history`: [`HistoryRequest`], the arguments of `HISTORY`, and the `HIST` line written
//!   from borrowed parts; `utc_time`: [`UtcMillis`], the `<time>` of a `HIST` line, spelled
//!   as RFC 3339 without a dependency.
//! - `message_id`: [`MessageId`], and the `@<id> ` prefix of a chat line to a client with
//!   `CAP ids`; `id_line`: that form written from a `Reply` and split off again
//!   ([`Reply::parse_with_id`]).
//! - `file_name`: [`FileName`], the name an `UPLOAD` gives its file, and its rule;
//!   `file_line`: the `FILE` line read back.
//! - `password`: [`Password`], a password borrowed from a client line whose `Debug` hides
//!   it, and the rule a new one meets.
//! - `error`: [`ErrorCode`] (the codes, spelled in one place) and [`ProtocolError`].
//! - [`reason`]: the reasons of `QUIT` and `BYE` lines the server ends a connection with.
//! - `syntax`: the word-splitting rules both directions share.
//! - [`text`]: the text rule, which characters a client's text may not carry to others
//!   (controls, line separators, bidirectional overrides), checked in one fast pass.
//! - [`line_buffer`]: the framer.
//! - [`oracle`]: reference models and checks for the property tests and fuzz targets.
//!
//! Must never depend on anything: no crates, no I/O, no logging, no locks, no threads. It has
//! no `[dependencies]`, so the build itself keeps it pure, and the fuzz targets and property
//! tests can drive it alone. Files import each other directly, never through this root, so
//! the re-exports below make no import cycle.

mod caps;
mod command;
mod error;
mod file_line;
mod file_name;
mod forms;
mod help;
mod history;
mod id_line;
pub mod line_buffer;
mod message_id;
mod names;
pub mod oracle;
mod password;
pub mod reason;
mod reply;
mod stats;
mod syntax;
pub mod text;
mod utc_time;
mod who;
mod words;

pub use caps::{CapSet, Capability};
pub use command::{Command, CommandLine, parse_command, redact_passwords};
pub use error::{ErrorCode, ProtocolError};
pub use file_name::{FileName, FileNameFault, MAX_FILE_NAME_LEN};
pub use forms::ACTION_PREFIX;
pub use history::{DEFAULT_HISTORY, HistoryRequest, MAX_HISTORY, Page};
pub use line_buffer::{Frame, LineBuffer};
pub use message_id::MessageId;
pub use names::{
    BadRoomName, MAX_NICK_LEN, MAX_ROOM_LEN, Nick, NickFault, NickKey, Room, RoomKey, Target,
};
pub use password::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, Password, PasswordFault};
pub use reply::{ChatWord, Reply};
pub use stats::StatName;
pub use utc_time::UtcMillis;
pub use who::MAX_WHO_LINE;
pub use words::{COMMAND_WORDS, CommandWord, Topic, Usage, WordInfo};
