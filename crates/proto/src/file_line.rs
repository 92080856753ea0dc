//! The `FILE` line as a [`Reply`]: read from a server line ([`Reply::parse_file`]).
//!
//! Out of scope: its spelling (`reply`'s `Display`, next to every other line), which lines
//! carry an id ([`Reply::carries_id`], in `forms`), and the file's name rule (`file_name`).

use crate::error::ProtocolError;
use crate::names::{Nick, Room};
use crate::reply::{Reply, digits, one_word};
use crate::syntax::{optional, split_word};

impl Reply {
    /// Reads what follows `FILE` in `line`: `[#room] <from> <size> <url> <name>`, the name
    /// being the rest of the line. As in `MSG #room <from> <text>`, a first word starting
    /// with `#` is a room, since nicks never start with one.
    pub(crate) fn parse_file(line: &str, rest: &str) -> Result<Reply, ProtocolError> {
        let malformed = || ProtocolError::UnknownCommand(line.to_owned());
        let (to, rest) = match rest.starts_with('#') || rest.starts_with("* ") {
            true => split_word(rest),
            false => ("", rest),
        };
        let (from, rest) = split_word(rest);
        let (size, rest) = split_word(rest);
        let (url, name) = split_word(rest);
        let (from, name) = (Nick::parse(from)?, name.to_owned());
        let size = digits(size).ok_or_else(malformed)?;
        let url = one_word(url)
            .filter(|_| optional(&name).is_some())
            .ok_or_else(malformed)?;
        Ok(match to {
            "" => Reply::File {
                from,
                size,
                url,
                name,
            },
            "*" => Reply::LobbyFile {
                from,
                size,
                url,
                name,
            },
            to => Reply::RoomFile {
                room: Room::parse(to)?,
                from,
                size,
                url,
                name,
            },
        })
    }
}
