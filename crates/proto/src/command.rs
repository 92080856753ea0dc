//! Client lines: [`Command`], parsed from a line and formatted back.
//!
//! A line is read in two steps, each done once: [`CommandLine::read`] finds the command word
//! in [`COMMAND_WORDS`](crate::words::COMMAND_WORDS), which is all the server needs to refuse
//! a command before registration; [`CommandLine::parse`] then reads the arguments.
//! [`parse_command`] does both for callers with no gate in between.
//!
//! Out of scope: framing bytes into lines (`line_buffer`), deciding what a command does (the
//! server's session), and any I/O: everything here is pure, and borrows the line's text
//! rather than copying it.

use std::fmt;

use crate::error::ProtocolError;
use crate::names::{Nick, Room};
use crate::syntax::{on_off, optional, split_word, with_tail};
use crate::words::CommandWord;

/// A line from a client, borrowing its text from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    Nick(Nick),
    Msg {
        to: Nick,
        text: &'a str,
    },
    All {
        text: &'a str,
    },
    Who,
    Ping {
        token: Option<&'a str>,
    },
    /// The answer to the server's `PING` when a connection has been silent; any line would
    /// do, this one has no other effect.
    Pong {
        token: Option<&'a str>,
    },
    Quit {
        reason: Option<&'a str>,
    },
    Help,
    /// `JOIN #room [key]`; the key is the rest of the line, as sent.
    Join {
        room: Room,
        key: Option<&'a str>,
    },
    Part {
        room: Room,
        reason: Option<&'a str>,
    },
    /// `MSG` whose target starts with `#`.
    MsgRoom {
        room: Room,
        text: &'a str,
    },
    /// `WHO` whose first word starts with `#`.
    WhoRoom(Room),
    Rooms,
    Topic {
        room: Room,
        text: &'a str,
    },
    /// `KEY #room [key]`; no key clears it. The key is the rest of the line, as sent.
    Key {
        room: Room,
        key: Option<&'a str>,
    },
    Private {
        room: Room,
        on: bool,
    },
    Invite {
        nick: Nick,
        room: Room,
    },
}

/// A client line whose command word is known and whose arguments are not read yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandLine<'a> {
    word: CommandWord,
    /// What follows the word and the spaces after it.
    rest: &'a str,
}

impl<'a> CommandLine<'a> {
    /// Finds the command word of one client line (without its ending). A blank line is
    /// `Ok(None)`: the protocol ignores it. A word that is no command is `UNKNOWN_COMMAND`,
    /// registered or not.
    pub fn read(line: &'a str) -> Result<Option<CommandLine<'a>>, ProtocolError> {
        let line = line.trim_start_matches(' ');
        if line.trim().is_empty() {
            return Ok(None);
        }
        let (word, rest) = split_word(line);
        match CommandWord::lookup(word) {
            Some(word) => Ok(Some(CommandLine { word, rest })),
            None => Err(ProtocolError::UnknownCommand(word.to_owned())),
        }
    }

    pub fn word(&self) -> CommandWord {
        self.word
    }

    /// Whether the command is refused with `NOT_REGISTERED` before `NICK`, judged by its word
    /// alone: that error comes before anything wrong with the arguments.
    pub fn needs_registration(&self) -> bool {
        self.word.needs_registration()
    }

    /// Reads the arguments. Each command first checks that its arguments are there
    /// (`MISSING_ARGUMENT`), then what they are (`NO_SUCH_NICK`, `BAD_ROOM`), left to right,
    /// as v1 `MSG` did.
    pub fn parse(self) -> Result<Command<'a>, ProtocolError> {
        let CommandLine { word, rest } = self;
        let command = match word {
            CommandWord::Nick => Command::Nick(Nick::parse(required(rest, word)?)?),
            CommandWord::Msg => {
                let (target, text) = split_word(required(rest, word)?);
                let text = required(text, word)?;
                // Nicks never start with '#', so the target's first character picks the meaning.
                if target.starts_with('#') {
                    Command::MsgRoom {
                        room: Room::parse(target)?,
                        text,
                    }
                } else {
                    Command::Msg {
                        to: nick_target(target)?,
                        text,
                    }
                }
            }
            CommandWord::All => Command::All {
                text: required(rest, word)?,
            },
            CommandWord::Who => {
                // v1 ignores words after WHO; only a first word starting with '#' asks for a room.
                let (target, _) = split_word(rest);
                if target.starts_with('#') {
                    Command::WhoRoom(Room::parse(target)?)
                } else {
                    Command::Who
                }
            }
            CommandWord::Ping => Command::Ping {
                token: optional(rest),
            },
            CommandWord::Pong => Command::Pong {
                token: optional(rest),
            },
            CommandWord::Quit => Command::Quit {
                reason: optional(rest),
            },
            CommandWord::Help => Command::Help,
            CommandWord::Join => {
                let (room, key) = split_word(required(rest, word)?);
                Command::Join {
                    room: Room::parse(room)?,
                    key: optional(key),
                }
            }
            CommandWord::Part => {
                let (room, reason) = split_word(required(rest, word)?);
                Command::Part {
                    room: Room::parse(room)?,
                    reason: optional(reason),
                }
            }
            CommandWord::Rooms => Command::Rooms,
            CommandWord::Topic => {
                let (room, text) = split_word(required(rest, word)?);
                let text = required(text, word)?;
                Command::Topic {
                    room: Room::parse(room)?,
                    text,
                }
            }
            CommandWord::Key => {
                let (room, key) = split_word(required(rest, word)?);
                Command::Key {
                    room: Room::parse(room)?,
                    key: optional(key),
                }
            }
            CommandWord::Private => {
                // The switch is the whole rest of the line, like the argument of NICK.
                let (room, switch) = split_word(required(rest, word)?);
                let on = if switch.eq_ignore_ascii_case("on") {
                    true
                } else if switch.eq_ignore_ascii_case("off") {
                    false
                } else {
                    return Err(ProtocolError::MissingArgument(word.name()));
                };
                Command::Private {
                    room: Room::parse(room)?,
                    on,
                }
            }
            CommandWord::Invite => {
                // The room is the whole rest of the line, like the argument of NICK.
                let (target, room) = split_word(required(rest, word)?);
                let room = required(room, word)?;
                Command::Invite {
                    nick: nick_target(target)?,
                    room: Room::parse(room)?,
                }
            }
        };
        Ok(command)
    }
}

/// Parses one client line (without its ending): [`CommandLine::read`], then
/// [`CommandLine::parse`]. A blank line is `Ok(None)`: the protocol ignores it.
pub fn parse_command(line: &str) -> Result<Option<Command<'_>>, ProtocolError> {
    CommandLine::read(line)?.map(CommandLine::parse).transpose()
}

/// A nick the client names as a target (`MSG`, `INVITE`): a word that cannot be a nick is
/// nobody online, `NO_SUCH_NICK`, not `BAD_NICK`.
fn nick_target(target: &str) -> Result<Nick, ProtocolError> {
    Nick::parse(target).map_err(|_| ProtocolError::NoSuchNick(target.to_owned()))
}

fn required(rest: &str, word: CommandWord) -> Result<&str, ProtocolError> {
    optional(rest).ok_or(ProtocolError::MissingArgument(word.name()))
}

impl Command<'_> {
    /// The word the command's line starts with.
    pub fn word(&self) -> CommandWord {
        match self {
            Command::Nick(_) => CommandWord::Nick,
            Command::Msg { .. } | Command::MsgRoom { .. } => CommandWord::Msg,
            Command::All { .. } => CommandWord::All,
            Command::Who | Command::WhoRoom(_) => CommandWord::Who,
            Command::Ping { .. } => CommandWord::Ping,
            Command::Pong { .. } => CommandWord::Pong,
            Command::Quit { .. } => CommandWord::Quit,
            Command::Help => CommandWord::Help,
            Command::Join { .. } => CommandWord::Join,
            Command::Part { .. } => CommandWord::Part,
            Command::Rooms => CommandWord::Rooms,
            Command::Topic { .. } => CommandWord::Topic,
            Command::Key { .. } => CommandWord::Key,
            Command::Private { .. } => CommandWord::Private,
            Command::Invite { .. } => CommandWord::Invite,
        }
    }
}

impl fmt::Display for Command<'_> {
    /// The line a client sends, without its ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word().name();
        match self {
            Command::Nick(nick) => write!(f, "{word} {nick}"),
            Command::Msg { to, text } => write!(f, "{word} {to} {text}"),
            Command::All { text } => write!(f, "{word} {text}"),
            Command::Who | Command::Help | Command::Rooms => f.write_str(word),
            Command::Ping { token } | Command::Pong { token } => with_tail(f, word, *token),
            Command::Quit { reason } => with_tail(f, word, *reason),
            Command::Join { room, key } | Command::Key { room, key } => {
                with_tail(f, format_args!("{word} {room}"), *key)
            }
            Command::Part { room, reason } => with_tail(f, format_args!("{word} {room}"), *reason),
            Command::MsgRoom { room, text } | Command::Topic { room, text } => {
                write!(f, "{word} {room} {text}")
            }
            Command::WhoRoom(room) => write!(f, "{word} {room}"),
            Command::Private { room, on } => write!(f, "{word} {room} {}", on_off(*on)),
            Command::Invite { nick, room } => write!(f, "{word} {nick} {room}"),
        }
    }
}

#[cfg(test)]
mod tests;
