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

use std::borrow::Cow;
use std::fmt;

use crate::caps::Capability;
use crate::error::ProtocolError;
use crate::file_name::FileName;
use crate::history::HistoryRequest;
use crate::names::{Nick, Room, Target};
use crate::password::Password;
use crate::syntax::{on_off, optional, split_word, with_tail};
use crate::text;
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
    /// `HELP <command>`: that command's `HELP` lines only.
    HelpFor(CommandWord),
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
    /// `TOPIC #room` with no text: asks for the topic.
    TopicQuery(Room),
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
    /// `CAP <name>`: turns a capability on for this connection.
    Cap(Capability),
    /// `ME <target> <text>`: an action (`/me`) to the lobby, a nick or a room.
    Me {
        target: Target,
        text: &'a str,
    },
    /// `AWAY [text]`: away with that text, or back without one.
    Away {
        text: Option<&'a str>,
    },
    /// `STATS`: the server's figures. Words after it are ignored, as after `ROOMS`.
    Stats,
    /// `HISTORY <target> [<count>] [BEFORE <id> | AFTER <id>]`.
    History(HistoryRequest),
    /// `REGISTER <password>`: makes the client's nick an account, the password new and so
    /// held to the rule ([`Password::new`]).
    Register(Password<'a>),
    /// `REGISTER #room`: the `REGISTER` whose argument starts with `#`.
    RegisterRoom(Room),
    /// `LOGIN <nick> <password>`; the password is the rest of the line.
    Login {
        nick: Nick,
        password: Password<'a>,
    },
    /// `PASSWORD <old> <new>`: the old password is the first word, the new one the rest of
    /// the line, held to the rule.
    Password {
        old: Password<'a>,
        new: Password<'a>,
    },
    /// `UNREGISTER <password>`; the password is the rest of the line.
    Unregister(Password<'a>),
    /// `UPLOAD <target> <size> <name>`: a file of `size` bytes for `*`, a room or a nick;
    /// the name is the rest of the line.
    Upload {
        target: Target,
        size: u64,
        name: FileName<'a>,
    },
}

/// A client line whose command word is known and whose arguments are not read yet. Its
/// `Debug` hides the arguments of a word that carries a password.
#[derive(Clone, Copy, PartialEq, Eq)]
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
    /// (`MISSING_ARGUMENT`, naming the missing one), then what they are (`NO_SUCH_NICK`,
    /// `BAD_ROOM`, `BAD_ARGUMENT`, `BAD_TEXT` for a text the server would relay or store
    /// (see [`text`]), `WEAK_PASSWORD` for a new password, `BAD_FILE_NAME`), left to
    /// right, as v1 `MSG` did.
    /// No error quotes a password. `QUIT` and `PART` reasons are kept as sent: leaving is
    /// never refused, and the server replaces what the rule refuses in them
    /// ([`text::replace_refused`]).
    pub fn parse(self) -> Result<Command<'a>, ProtocolError> {
        let CommandLine { word, rest } = self;
        let needs = |needs| Needs { word, needs };
        let command = match word {
            CommandWord::Nick => Command::Nick(Nick::parse(needs("a nick").first(rest)?)?),
            CommandWord::Msg => {
                let (target, text) = split_word(needs("a nick or #room and a text").first(rest)?);
                let text = needs("a text").after(target, text)?;
                // Nicks never start with '#', so the target's first character picks the meaning.
                if target.starts_with('#') {
                    Command::MsgRoom {
                        room: Room::parse(target)?,
                        text: allowed(THE_TEXT, text)?,
                    }
                } else {
                    Command::Msg {
                        to: nick_target(target)?,
                        text: allowed(THE_TEXT, text)?,
                    }
                }
            }
            CommandWord::All => Command::All {
                text: allowed(THE_TEXT, needs("a text").first(rest)?)?,
            },
            CommandWord::Me => {
                let (target, text) = split_word(needs("a target and a text").first(rest)?);
                let text = needs("a text").after(target, text)?;
                Command::Me {
                    target: parse_target(target)?,
                    text: allowed(THE_TEXT, text)?,
                }
            }
            CommandWord::Away => Command::Away {
                text: optional(rest)
                    .map(|text| allowed("the away text", text))
                    .transpose()?,
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
            CommandWord::Help => match optional(rest) {
                None => Command::Help,
                Some(rest) => {
                    // Words after the command's are ignored, as after `WHO #room`.
                    let (topic, _) = split_word(rest);
                    let topic = CommandWord::lookup(topic)
                        .ok_or_else(|| ProtocolError::NoSuchCommand(topic.to_owned()))?;
                    Command::HelpFor(topic)
                }
            },
            CommandWord::Cap => {
                // The name is the whole rest of the line, like the argument of NICK.
                let name = needs("a name").first(rest)?;
                let cap = Capability::parse(name)
                    .ok_or_else(|| ProtocolError::BadCap(name.to_owned()))?;
                Command::Cap(cap)
            }
            CommandWord::Join => {
                let (room, key) = split_word(needs("a room").first(rest)?);
                Command::Join {
                    room: Room::parse(room)?,
                    key: optional_key(key)?,
                }
            }
            CommandWord::Part => {
                let (room, reason) = split_word(needs("a room").first(rest)?);
                Command::Part {
                    room: Room::parse(room)?,
                    reason: optional(reason),
                }
            }
            CommandWord::Rooms => Command::Rooms,
            CommandWord::History => Command::History(HistoryRequest::parse(
                needs("*, a #room or a nick").first(rest)?,
            )?),
            CommandWord::Stats => Command::Stats,
            CommandWord::Topic => {
                let (room, text) = split_word(needs("a room").first(rest)?);
                let room = Room::parse(room)?;
                match optional(text) {
                    Some(text) => Command::Topic {
                        room,
                        text: allowed("the topic", text)?,
                    },
                    None => Command::TopicQuery(room),
                }
            }
            CommandWord::Key => {
                let (room, key) = split_word(needs("a room").first(rest)?);
                Command::Key {
                    room: Room::parse(room)?,
                    key: optional_key(key)?,
                }
            }
            CommandWord::Private => {
                // The switch is the whole rest of the line, like the argument of NICK.
                let (room, switch) = split_word(needs("a room and on or off").first(rest)?);
                let switch = needs("on or off").after(room, switch)?;
                let room = Room::parse(room)?;
                let on = if switch.eq_ignore_ascii_case("on") {
                    true
                } else if switch.eq_ignore_ascii_case("off") {
                    false
                } else {
                    return Err(ProtocolError::BadArgument {
                        command: word,
                        takes: "on or off",
                        got: switch.to_owned(),
                    });
                };
                Command::Private { room, on }
            }
            CommandWord::Register => {
                // The rest of the line, like the argument of NICK: a new password holds no
                // space, so a second word is a WEAK_PASSWORD, not ignored.
                let argument = needs("a password or a #room").first(rest)?;
                // Nicks and passwords are told from rooms as MSG tells its targets: a room
                // starts with '#', so a password cannot start with one here.
                if argument.starts_with('#') {
                    Command::RegisterRoom(Room::parse(argument)?)
                } else {
                    Command::Register(new_password(argument)?)
                }
            }
            CommandWord::Login => {
                let (nick, password) = split_word(needs("a nick and a password").first(rest)?);
                // Unquoted: a client that left out its nick sent its password in its place.
                let password = needs("a password after the nick").unquoted(password)?;
                Command::Login {
                    nick: nick_target(nick)?,
                    password: Password::given(password),
                }
            }
            CommandWord::Password => {
                let (old, new) = split_word(needs("the old and the new password").first(rest)?);
                // Unquoted: the word before it is the old password.
                let new = needs("a new password after the old one").unquoted(new)?;
                Command::Password {
                    old: Password::given(old),
                    new: new_password(new)?,
                }
            }
            CommandWord::Unregister => {
                Command::Unregister(Password::given(needs("a password").first(rest)?))
            }
            CommandWord::Upload => {
                let (target, rest) = split_word(needs("a target, a size and a name").first(rest)?);
                let (size, name) = split_word(needs("a size and a name").after(target, rest)?);
                let name = needs("a file name").after(size, name)?;
                Command::Upload {
                    target: parse_target(target)?,
                    size: parse_size(word, size)?,
                    name: FileName::parse(name).map_err(ProtocolError::BadFileName)?,
                }
            }
            CommandWord::Invite => {
                // The room is the whole rest of the line, like the argument of NICK.
                let (target, room) = split_word(needs("a nick and a room").first(rest)?);
                let room = needs("a room").after(target, room)?;
                Command::Invite {
                    nick: nick_target(target)?,
                    room: Room::parse(room)?,
                }
            }
        };
        Ok(command)
    }
}

impl fmt::Debug for CommandLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rest = if self.word.carries_password() {
            "***"
        } else {
            self.rest
        };
        f.debug_struct("CommandLine")
            .field("word", &self.word)
            .field("rest", &rest)
            .finish()
    }
}

/// The client line as a log may show it: the line itself, or for a command that carries a
/// password, its word (and the nick of `LOGIN`) followed by `***`. It allocates only for those
/// commands; a log of client lines calls it only for a line it writes. Control characters are
/// left for the log to escape.
pub fn redact_passwords(line: &str) -> Cow<'_, str> {
    let (word, rest) = split_word(line.trim_start_matches(' '));
    let carries = CommandWord::lookup(word).filter(|command| {
        command.carries_password() && !(*command == CommandWord::Register && rest.starts_with('#'))
    });
    if carries.is_none() || optional(rest).is_none() {
        return Cow::Borrowed(line);
    }
    let (nick, password) = split_word(rest);
    // A LOGIN with one word has its password, not a nick, in the nick's place.
    if carries == Some(CommandWord::Login) && optional(password).is_some() {
        Cow::Owned(format!("{word} {nick} ***"))
    } else {
        Cow::Owned(format!("{word} ***"))
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

/// A password the client sets (`REGISTER`, `PASSWORD`'s new one): `WEAK_PASSWORD` unless it
/// meets the rule.
fn new_password(text: &str) -> Result<Password<'_>, ProtocolError> {
    Password::new(text).map_err(ProtocolError::WeakPassword)
}

/// How `BAD_TEXT` names the text of `MSG`, `ALL` and `ME`.
const THE_TEXT: &str = "the text";

/// `text`, if the text rule lets it through (`BAD_TEXT` otherwise): every text the server
/// relays to others or stores goes through here.
fn allowed<'a>(what: &'static str, text: &'a str) -> Result<&'a str, ProtocolError> {
    match text::find_refused(text) {
        None => Ok(text),
        Some(refused) => Err(ProtocolError::BadText { what, refused }),
    }
}

/// The optional key of `JOIN` and `KEY`. A `JOIN` key is only compared, but one the rule
/// refuses can never match a key that was set, so both are refused alike.
fn optional_key(rest: &str) -> Result<Option<&str>, ProtocolError> {
    optional(rest)
        .map(|key| allowed("the key", key))
        .transpose()
}

/// The target of `ME`: `*`, a room, or (as for `MSG`) a nick.
fn parse_target(target: &str) -> Result<Target, ProtocolError> {
    if target == Target::LOBBY {
        Ok(Target::Lobby)
    } else if target.starts_with('#') {
        Ok(Target::Room(Room::parse(target)?))
    } else {
        nick_target(target).map(Target::Nick)
    }
}

/// The size of `UPLOAD`: decimal digits (`u64::from_str` would also take a sign), at most
/// `u64::MAX`; `BAD_ARGUMENT` otherwise.
fn parse_size(word: CommandWord, size: &str) -> Result<u64, ProtocolError> {
    let bad = || ProtocolError::BadArgument {
        command: word,
        takes: "a size in bytes",
        got: size.to_owned(),
    };
    if !size.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    size.parse().map_err(|_| bad())
}

/// An argument a command needs, and how `MISSING_ARGUMENT` names it when it is not there.
struct Needs {
    word: CommandWord,
    needs: &'static str,
}

impl Needs {
    /// The argument that starts `rest`, right after the command word.
    fn first(self, rest: &str) -> Result<&str, ProtocolError> {
        optional(rest).ok_or(ProtocolError::MissingArgument {
            command: self.word,
            needs: self.needs,
            after: None,
        })
    }

    /// The argument that starts `rest`, after an argument that the error must not quote
    /// (a password, or what may be one).
    fn unquoted(self, rest: &str) -> Result<&str, ProtocolError> {
        self.first(rest)
    }

    /// The argument that starts `rest`, after the argument `before`.
    fn after<'a>(self, before: &str, rest: &'a str) -> Result<&'a str, ProtocolError> {
        optional(rest).ok_or_else(|| ProtocolError::MissingArgument {
            command: self.word,
            needs: self.needs,
            after: Some(before.to_owned()),
        })
    }
}

impl Command<'_> {
    /// Whether the command sends a password (`REGISTER`, `LOGIN`, `PASSWORD`, `UNREGISTER`):
    /// a server takes those only where they do not cross a network in clear.
    pub fn carries_password(&self) -> bool {
        matches!(
            self,
            Command::Register(_)
                | Command::Login { .. }
                | Command::Password { .. }
                | Command::Unregister(_)
        )
    }

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
            Command::Help | Command::HelpFor(_) => CommandWord::Help,
            Command::Join { .. } => CommandWord::Join,
            Command::Part { .. } => CommandWord::Part,
            Command::Rooms => CommandWord::Rooms,
            Command::Topic { .. } | Command::TopicQuery(_) => CommandWord::Topic,
            Command::Key { .. } => CommandWord::Key,
            Command::Private { .. } => CommandWord::Private,
            Command::Invite { .. } => CommandWord::Invite,
            Command::Cap(_) => CommandWord::Cap,
            Command::Me { .. } => CommandWord::Me,
            Command::Away { .. } => CommandWord::Away,
            Command::Stats => CommandWord::Stats,
            Command::History(_) => CommandWord::History,
            Command::Register(_) | Command::RegisterRoom(_) => CommandWord::Register,
            Command::Login { .. } => CommandWord::Login,
            Command::Password { .. } => CommandWord::Password,
            Command::Unregister(_) => CommandWord::Unregister,
            Command::Upload { .. } => CommandWord::Upload,
        }
    }
}

impl fmt::Display for Command<'_> {
    /// The line a client sends, without its ending. Passwords are written as they are, since
    /// they go on the wire: `Debug`, not this, is what may be logged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word().name();
        match self {
            Command::Nick(nick) => write!(f, "{word} {nick}"),
            Command::Msg { to, text } => write!(f, "{word} {to} {text}"),
            Command::All { text } => write!(f, "{word} {text}"),
            Command::Who | Command::Help | Command::Rooms | Command::Stats => f.write_str(word),
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
            Command::HelpFor(topic) => write!(f, "{word} {}", topic.name()),
            Command::TopicQuery(room) => write!(f, "{word} {room}"),
            Command::Cap(cap) => write!(f, "{word} {cap}"),
            Command::Me { target, text } => write!(f, "{word} {target} {text}"),
            Command::Away { text } => with_tail(f, word, *text),
            Command::History(request) => write!(f, "{word} {request}"),
            Command::Register(password) | Command::Unregister(password) => {
                write!(f, "{word} {}", password.expose())
            }
            Command::RegisterRoom(room) => write!(f, "{word} {room}"),
            Command::Login { nick, password } => {
                write!(f, "{word} {nick} {}", password.expose())
            }
            Command::Password { old, new } => {
                write!(f, "{word} {} {}", old.expose(), new.expose())
            }
            Command::Upload { target, size, name } => write!(f, "{word} {target} {size} {name}"),
        }
    }
}

#[cfg(test)]
mod account_tests;
#[cfg(test)]
mod registration_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod text_tests;
#[cfg(test)]
mod upload_tests;
