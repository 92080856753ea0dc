//! The chatd wire protocol: commands a client sends, replies the server sends, the error
//! codes, and the `Nick` and `Room` types. v1 plus rooms (issue 4), which only add lines.
//!
//! In scope: parsing one line (already framed, without its ending) into a [`Command`] or a
//! [`Reply`], and formatting them back. This is the only module that knows how the protocol is
//! spelled; the server, the tests and later the client go through it.
//!
//! Out of scope: framing bytes into lines (`line_buffer`), deciding what a command does
//! (`server::session`), and any I/O, logging or locking: everything here is pure.

use std::fmt;

/// Longest nick, in bytes (nicks are ASCII, so also in characters).
pub const MAX_NICK_LEN: usize = 32;

/// Longest room name, in characters after the `#` (room names are ASCII, so also in bytes).
pub const MAX_ROOM_LEN: usize = 48;

/// Longest line the server writes in one `WHO` reply, including its `\n`.
pub const MAX_WHO_LINE: usize = 4096;

/// How much of a client's input an `ERR` text quotes back, so an error line stays short.
const MAX_ECHO: usize = 40;

/// The reasons the server gives in `QUIT <nick> <reason>` and `BYE <reason>` when it, not
/// the client, ends a connection. Clients may match on them.
pub mod reason {
    /// The client closed its side without `QUIT`.
    pub const CONNECTION_CLOSED: &str = "connection closed";
    /// The client's connection was reset.
    pub const CONNECTION_RESET: &str = "connection reset";
    /// The client's outbound queue overflowed; contains "slow", as the contract asks.
    pub const SLOW_CONSUMER: &str = "slow consumer: outbound queue full";
    /// The server is stopping (`BYE server shutting down`).
    pub const SHUTTING_DOWN: &str = "server shutting down";
    /// The server could not take a new connection in after greeting it (`BYE server error`).
    pub const SERVER_ERROR: &str = "server error";
    /// The client did not choose a nick within `--register-timeout`.
    pub const REGISTER_TIMEOUT: &str = "register timeout";
    /// The client sent nothing for `--idle-timeout`, then nothing after the server's `PING`.
    pub const PING_TIMEOUT: &str = "ping timeout";
}

/// A valid nick: 1..=32 of `[A-Za-z0-9_-]`, starting with a letter. Keeps the case it was
/// given; compare nicks through [`Nick::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nick(String);

/// A nick folded to ASCII lower case: the identity of a nick in the client table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NickKey(String);

impl Nick {
    pub fn parse(text: &str) -> Result<Nick, ProtocolError> {
        if text.is_empty() {
            return Err(ProtocolError::BadNick(NickFault::Empty));
        }
        if text.len() > MAX_NICK_LEN {
            return Err(ProtocolError::BadNick(NickFault::TooLong));
        }
        if !text.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(ProtocolError::BadNick(NickFault::FirstNotLetter));
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ProtocolError::BadNick(NickFault::BadCharacter));
        }
        Ok(Nick(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> NickKey {
        NickKey(self.0.to_ascii_lowercase())
    }
}

impl fmt::Display for Nick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A room name as typed: `#` then 1..=48 of `[A-Za-z0-9_-]`. Keeps the case it was given;
/// compare room names through [`Room::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Room(String);

/// A room name folded to ASCII lower case, `#` included: the identity of a room.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomKey(String);

impl Room {
    /// Refuses anything but `#` and 1..=[`MAX_ROOM_LEN`] of `[A-Za-z0-9_-]` with
    /// `BadRoom(text)`, the text as typed.
    pub fn parse(text: &str) -> Result<Room, ProtocolError> {
        let valid = text.strip_prefix('#').is_some_and(|name| {
            (1..=MAX_ROOM_LEN).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if valid {
            Ok(Room(text.to_owned()))
        } else {
            Err(ProtocolError::BadRoom(text.to_owned()))
        }
    }

    /// The name as typed, `#` included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> RoomKey {
        RoomKey(self.0.to_ascii_lowercase())
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a nick was refused; the human text of `ERR BAD_NICK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NickFault {
    Empty,
    TooLong,
    FirstNotLetter,
    BadCharacter,
}

/// Everything a client can do wrong, one variant per `ERR` code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// `MSG`, `ALL` or `WHO` before a successful `NICK`.
    NotRegistered,
    NickTaken(Nick),
    BadNick(NickFault),
    /// The target of `MSG` is not online (or cannot be a nick at all).
    NoSuchNick(String),
    UnknownCommand(String),
    /// The command word whose argument is missing, in upper case.
    MissingArgument(&'static str),
    LineTooLong {
        max: usize,
    },
    BadEncoding,
    /// Sent by the acceptor to a connection over `--max-clients`, which is then closed.
    ServerFull {
        max: usize,
    },
    /// Sent by the acceptor to a connection over `--max-per-ip` from its address, which is
    /// then closed.
    TooManyConnections {
        max: usize,
    },
    /// A word in a room's place that is not a room name, as typed.
    BadRoom(String),
    /// The room does not exist, or is private and the client is not in it; the name as typed.
    NoSuchRoom(String),
    NotInRoom(Room),
    AlreadyInRoom(Room),
    /// The room has a key and the `JOIN` gave none or another one (and no invitation).
    BadKey(Room),
    /// The room is private and the client has no invitation.
    InviteOnly(Room),
    /// `KEY` or `PRIVATE` from a member that does not own the room.
    NotOwner(Room),
    /// A `JOIN` over `--max-rooms-per-client`.
    TooManyRooms {
        max: usize,
    },
    /// A `JOIN` to a room that has `--max-room-members` members.
    RoomFull {
        room: Room,
        max: usize,
    },
}

impl ProtocolError {
    /// The wire code, as it appears after `ERR`.
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::NotRegistered => "NOT_REGISTERED",
            ProtocolError::NickTaken(_) => "NICK_TAKEN",
            ProtocolError::BadNick(_) => "BAD_NICK",
            ProtocolError::NoSuchNick(_) => "NO_SUCH_NICK",
            ProtocolError::UnknownCommand(_) => "UNKNOWN_COMMAND",
            ProtocolError::MissingArgument(_) => "MISSING_ARGUMENT",
            ProtocolError::LineTooLong { .. } => "LINE_TOO_LONG",
            ProtocolError::BadEncoding => "BAD_ENCODING",
            ProtocolError::ServerFull { .. } => "SERVER_FULL",
            ProtocolError::TooManyConnections { .. } => "TOO_MANY_CONNECTIONS",
            ProtocolError::BadRoom(_) => "BAD_ROOM",
            ProtocolError::NoSuchRoom(_) => "NO_SUCH_ROOM",
            ProtocolError::NotInRoom(_) => "NOT_IN_ROOM",
            ProtocolError::AlreadyInRoom(_) => "ALREADY_IN_ROOM",
            ProtocolError::BadKey(_) => "BAD_KEY",
            ProtocolError::InviteOnly(_) => "INVITE_ONLY",
            ProtocolError::NotOwner(_) => "NOT_OWNER",
            ProtocolError::TooManyRooms { .. } => "TOO_MANY_ROOMS",
            ProtocolError::RoomFull { .. } => "ROOM_FULL",
        }
    }

    /// Every code the server can send, for documentation checks.
    pub const ALL_CODES: [&'static str; 19] = [
        "NOT_REGISTERED",
        "NICK_TAKEN",
        "BAD_NICK",
        "NO_SUCH_NICK",
        "UNKNOWN_COMMAND",
        "MISSING_ARGUMENT",
        "LINE_TOO_LONG",
        "BAD_ENCODING",
        "SERVER_FULL",
        "TOO_MANY_CONNECTIONS",
        "BAD_ROOM",
        "NO_SUCH_ROOM",
        "NOT_IN_ROOM",
        "ALREADY_IN_ROOM",
        "BAD_KEY",
        "INVITE_ONLY",
        "NOT_OWNER",
        "TOO_MANY_ROOMS",
        "ROOM_FULL",
    ];
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::NotRegistered => f.write_str("choose a nick first: NICK <nick>"),
            ProtocolError::NickTaken(nick) => write!(f, "nick {nick} is already in use"),
            ProtocolError::BadNick(fault) => {
                let why = match fault {
                    NickFault::Empty => "a nick cannot be empty",
                    NickFault::TooLong => "a nick has at most 32 characters",
                    NickFault::FirstNotLetter => "a nick starts with a letter",
                    NickFault::BadCharacter => "a nick has only letters, digits, '_' and '-'",
                };
                f.write_str(why)
            }
            ProtocolError::NoSuchNick(nick) => write!(f, "no one called {} is online", echo(nick)),
            ProtocolError::UnknownCommand(word) => {
                write!(f, "unknown command {}; try HELP", echo(word))
            }
            ProtocolError::MissingArgument(command) => {
                write!(f, "{command} needs an argument; try HELP")
            }
            ProtocolError::LineTooLong { max } => {
                write!(f, "line longer than {max} bytes discarded")
            }
            ProtocolError::BadEncoding => f.write_str("line is not valid UTF-8; discarded"),
            ProtocolError::ServerFull { max } => {
                write!(
                    f,
                    "server is full (at most {max} connections); try again later"
                )
            }
            ProtocolError::TooManyConnections { max } => write!(
                f,
                "too many connections from your address (at most {max}); try again later"
            ),
            ProtocolError::BadRoom(text) => write!(
                f,
                "bad room name {}; a room name is # then 1 to {MAX_ROOM_LEN} letters, \
                 digits, '_' or '-'",
                echo(text)
            ),
            ProtocolError::NoSuchRoom(room) => write!(f, "no room called {}", echo(room)),
            ProtocolError::NotInRoom(room) => write!(f, "you are not in {room}"),
            ProtocolError::AlreadyInRoom(room) => write!(f, "you are already in {room}"),
            ProtocolError::BadKey(room) => {
                write!(f, "{room} needs the right key: JOIN {room} <key>")
            }
            ProtocolError::InviteOnly(room) => write!(f, "{room} is invite-only"),
            ProtocolError::NotOwner(room) => write!(f, "only the owner of {room} can do that"),
            ProtocolError::TooManyRooms { max } => {
                write!(f, "you are in {max} rooms already, the most allowed")
            }
            ProtocolError::RoomFull { room, max } => write!(f, "{room} is full ({max} members)"),
        }
    }
}

/// Quotes at most `MAX_ECHO` characters of client input back in an error text, control
/// characters shown as `?` so they cannot garble the client's terminal.
fn echo(text: &str) -> String {
    text.chars()
        .take(MAX_ECHO)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

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

/// Whether a line is a command refused with `NOT_REGISTERED` before `NICK` (every command but
/// `NICK`, `PING`, `PONG`, `QUIT` and `HELP`), judged by its command word alone: before registration
/// that error comes first, whatever is wrong with the arguments.
pub fn needs_registration(line: &str) -> bool {
    let (word, _) = split_word(line.trim_start_matches(' '));
    [
        "MSG", "ALL", "WHO", "JOIN", "PART", "ROOMS", "TOPIC", "KEY", "PRIVATE", "INVITE",
    ]
    .iter()
    .any(|w| word.eq_ignore_ascii_case(w))
}

/// Parses one client line (without its ending). A blank line is `Ok(None)`: the protocol
/// ignores it.
pub fn parse_command(line: &str) -> Result<Option<Command<'_>>, ProtocolError> {
    let line = line.trim_start_matches(' ');
    if line.trim().is_empty() {
        return Ok(None);
    }
    let (word, rest) = split_word(line);
    let is = |name: &str| word.eq_ignore_ascii_case(name);
    // Each arm first checks that the arguments are there (MISSING_ARGUMENT), then what they
    // are (NO_SUCH_NICK, BAD_ROOM), left to right, as v1 `MSG` did.
    let command = if is("NICK") {
        Command::Nick(Nick::parse(required(rest, "NICK")?)?)
    } else if is("MSG") {
        let (target, text) = split_word(required(rest, "MSG")?);
        let text = required(text, "MSG")?;
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
    } else if is("ALL") {
        Command::All {
            text: required(rest, "ALL")?,
        }
    } else if is("WHO") {
        // v1 ignores words after WHO; only a first word starting with '#' asks for a room.
        let (target, _) = split_word(rest);
        if target.starts_with('#') {
            Command::WhoRoom(Room::parse(target)?)
        } else {
            Command::Who
        }
    } else if is("PING") {
        Command::Ping {
            token: optional(rest),
        }
    } else if is("PONG") {
        Command::Pong {
            token: optional(rest),
        }
    } else if is("QUIT") {
        Command::Quit {
            reason: optional(rest),
        }
    } else if is("HELP") {
        Command::Help
    } else if is("JOIN") {
        let (room, key) = split_word(required(rest, "JOIN")?);
        Command::Join {
            room: Room::parse(room)?,
            key: optional(key),
        }
    } else if is("PART") {
        let (room, reason) = split_word(required(rest, "PART")?);
        Command::Part {
            room: Room::parse(room)?,
            reason: optional(reason),
        }
    } else if is("ROOMS") {
        Command::Rooms
    } else if is("TOPIC") {
        let (room, text) = split_word(required(rest, "TOPIC")?);
        let text = required(text, "TOPIC")?;
        Command::Topic {
            room: Room::parse(room)?,
            text,
        }
    } else if is("KEY") {
        let (room, key) = split_word(required(rest, "KEY")?);
        Command::Key {
            room: Room::parse(room)?,
            key: optional(key),
        }
    } else if is("PRIVATE") {
        // The switch is the whole rest of the line, like the argument of NICK.
        let (room, switch) = split_word(required(rest, "PRIVATE")?);
        let on = if switch.eq_ignore_ascii_case("on") {
            true
        } else if switch.eq_ignore_ascii_case("off") {
            false
        } else {
            return Err(ProtocolError::MissingArgument("PRIVATE"));
        };
        Command::Private {
            room: Room::parse(room)?,
            on,
        }
    } else if is("INVITE") {
        // The room is the whole rest of the line, like the argument of NICK.
        let (target, room) = split_word(required(rest, "INVITE")?);
        let room = required(room, "INVITE")?;
        Command::Invite {
            nick: nick_target(target)?,
            room: Room::parse(room)?,
        }
    } else {
        return Err(ProtocolError::UnknownCommand(word.to_owned()));
    };
    Ok(Some(command))
}

/// Splits off the first space-separated word; the rest starts after the run of spaces.
fn split_word(text: &str) -> (&str, &str) {
    match text.split_once(' ') {
        Some((word, rest)) => (word, rest.trim_start_matches(' ')),
        None => (text, ""),
    }
}

/// A nick the client names as a target (`MSG`, `INVITE`): a word that cannot be a nick is
/// nobody online, `NO_SUCH_NICK`, not `BAD_NICK`.
fn nick_target(target: &str) -> Result<Nick, ProtocolError> {
    Nick::parse(target).map_err(|_| ProtocolError::NoSuchNick(target.to_owned()))
}

fn required<'a>(rest: &'a str, command: &'static str) -> Result<&'a str, ProtocolError> {
    optional(rest).ok_or(ProtocolError::MissingArgument(command))
}

fn optional(rest: &str) -> Option<&str> {
    (!rest.trim().is_empty()).then_some(rest)
}

impl fmt::Display for Command<'_> {
    /// The line a client sends, without its ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Nick(nick) => write!(f, "NICK {nick}"),
            Command::Msg { to, text } => write!(f, "MSG {to} {text}"),
            Command::All { text } => write!(f, "ALL {text}"),
            Command::Who => f.write_str("WHO"),
            Command::Ping { token } => with_tail(f, "PING", *token),
            Command::Pong { token } => with_tail(f, "PONG", *token),
            Command::Quit { reason } => with_tail(f, "QUIT", *reason),
            Command::Help => f.write_str("HELP"),
            Command::Join { room, key } => with_tail(f, format_args!("JOIN {room}"), *key),
            Command::Part { room, reason } => with_tail(f, format_args!("PART {room}"), *reason),
            Command::MsgRoom { room, text } => write!(f, "MSG {room} {text}"),
            Command::WhoRoom(room) => write!(f, "WHO {room}"),
            Command::Rooms => f.write_str("ROOMS"),
            Command::Topic { room, text } => write!(f, "TOPIC {room} {text}"),
            Command::Key { room, key } => with_tail(f, format_args!("KEY {room}"), *key),
            Command::Private { room, on } => write!(f, "PRIVATE {room} {}", on_off(*on)),
            Command::Invite { nick, room } => write!(f, "INVITE {nick} {room}"),
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// `head`, then a space and `tail` if there is one.
fn with_tail(
    f: &mut fmt::Formatter<'_>,
    head: impl fmt::Display,
    tail: Option<&str>,
) -> fmt::Result {
    match tail {
        Some(tail) => write!(f, "{head} {tail}"),
        None => write!(f, "{head}"),
    }
}

/// A line from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The greeting, the first line of every connection.
    Hello {
        text: String,
    },
    /// `NICK` succeeded.
    OkNick(Nick),
    /// Someone registered.
    Join(Nick),
    /// Someone renamed.
    NickChanged {
        old: Nick,
        new: Nick,
    },
    Msg {
        from: Nick,
        text: String,
    },
    All {
        from: Nick,
        text: String,
    },
    /// One line of the nick list; a list may span several.
    Who(Vec<Nick>),
    EndWho,
    Pong {
        token: Option<String>,
    },
    /// Sent after `--idle-timeout` of silence: the client must send a line (`PONG` will do)
    /// within as long again, or be closed with `ping timeout`.
    Ping {
        token: Option<String>,
    },
    /// The server closes the connection after this line: the answer to `QUIT` (no reason) or a
    /// server-initiated close such as shutdown (with a reason).
    Bye {
        reason: Option<String>,
    },
    /// Someone left; the reason of an abrupt close is never empty.
    Quit {
        nick: Nick,
        reason: Option<String>,
    },
    Help {
        text: String,
    },
    EndHelp,
    /// `ERR <CODE> <text>`. The code is kept as text so a client can show codes it does not know.
    Err {
        code: String,
        text: String,
    },
    /// `JOIN #room` succeeded; the topic and the member list follow.
    OkJoin(Room),
    /// `PART #room` succeeded.
    OkPart(Room),
    /// Someone joined a room the recipient is in.
    RoomJoin {
        room: Room,
        nick: Nick,
    },
    /// Someone left a room the recipient is in with `PART`.
    RoomPart {
        room: Room,
        nick: Nick,
        reason: Option<String>,
    },
    RoomMsg {
        room: Room,
        from: Nick,
        text: String,
    },
    /// One line of a room's member list; a list may span several.
    RoomWho {
        room: Room,
        nicks: Vec<Nick>,
    },
    EndRoomWho(Room),
    /// One line of the answer to `ROOMS`; `members` is the member count.
    RoomInfo {
        room: Room,
        members: usize,
        topic: Option<String>,
    },
    EndRooms,
    /// A room's topic: when it is set (to every member) and on `JOIN` (to the joiner).
    TopicIs {
        room: Room,
        setter: Nick,
        text: String,
    },
    OkKey(Room),
    OkPrivate {
        room: Room,
        on: bool,
    },
    OkInvite {
        nick: Nick,
        room: Room,
    },
    /// To the invitee only: `from` invited it into `room`.
    Invited {
        room: Room,
        from: Nick,
    },
}

impl From<&ProtocolError> for Reply {
    fn from(error: &ProtocolError) -> Reply {
        Reply::Err {
            code: error.code().to_owned(),
            text: error.to_string(),
        }
    }
}

impl Reply {
    /// The reply as it goes on the wire, `\n` included.
    pub fn to_line(&self) -> String {
        format!("{self}\n")
    }

    /// Appends the line, ending included, to `out`: lets a caller reuse one buffer.
    pub fn write_line(&self, out: &mut String) {
        use fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{self}");
    }

    /// Parses one server line (without its ending).
    pub fn parse(line: &str) -> Result<Reply, ProtocolError> {
        let (word, rest) = split_word(line);
        let nick = |text: &str| Nick::parse(text);
        let room = |text: &str| Room::parse(text);
        let malformed = || ProtocolError::UnknownCommand(line.to_owned());
        // Nicks never start with '#': where a v1 line has a nick, a word starting with '#'
        // marks the room form of the line (`JOIN <nick>` / `JOIN #room <nick>`).
        let reply = match word {
            "HELLO" => Reply::Hello {
                text: rest.to_owned(),
            },
            "OK" => match split_word(rest) {
                ("NICK", nick_text) => Reply::OkNick(nick(nick_text)?),
                ("JOIN", name) => Reply::OkJoin(room(name)?),
                ("PART", name) => Reply::OkPart(room(name)?),
                ("KEY", name) => Reply::OkKey(room(name)?),
                ("PRIVATE", args) => {
                    let (name, switch) = split_word(args);
                    let on = match switch {
                        "on" => true,
                        "off" => false,
                        _ => return Err(malformed()),
                    };
                    Reply::OkPrivate {
                        room: room(name)?,
                        on,
                    }
                }
                ("INVITE", args) => {
                    let (who, name) = split_word(args);
                    Reply::OkInvite {
                        nick: nick(who)?,
                        room: room(name)?,
                    }
                }
                _ => return Err(malformed()),
            },
            "JOIN" if rest.starts_with('#') => {
                let (name, who) = split_word(rest);
                Reply::RoomJoin {
                    room: room(name)?,
                    nick: nick(who)?,
                }
            }
            "JOIN" => Reply::Join(nick(rest)?),
            "PART" => {
                let (name, rest) = split_word(rest);
                let (who, reason) = split_word(rest);
                Reply::RoomPart {
                    room: room(name)?,
                    nick: nick(who)?,
                    reason: optional(reason).map(str::to_owned),
                }
            }
            "MSG" if rest.starts_with('#') => {
                let (name, rest) = split_word(rest);
                let (from, text) = split_word(rest);
                Reply::RoomMsg {
                    room: room(name)?,
                    from: nick(from)?,
                    text: text.to_owned(),
                }
            }
            "NICK" => {
                let (old, new) = split_word(rest);
                Reply::NickChanged {
                    old: nick(old)?,
                    new: nick(new)?,
                }
            }
            "MSG" | "ALL" => {
                let (from, text) = split_word(rest);
                let (from, text) = (nick(from)?, text.to_owned());
                if word == "MSG" {
                    Reply::Msg { from, text }
                } else {
                    Reply::All { from, text }
                }
            }
            "WHO" if rest.starts_with('#') => {
                let (name, nicks) = split_word(rest);
                Reply::RoomWho {
                    room: room(name)?,
                    nicks: nick_list(nicks)?,
                }
            }
            "WHO" => Reply::Who(nick_list(rest)?),
            "END" => match rest {
                "WHO" => Reply::EndWho,
                "HELP" => Reply::EndHelp,
                "ROOMS" => Reply::EndRooms,
                _ => match split_word(rest) {
                    ("WHO", name) => Reply::EndRoomWho(room(name)?),
                    _ => return Err(malformed()),
                },
            },
            "ROOM" => {
                let (name, rest) = split_word(rest);
                let (members, topic) = split_word(rest);
                Reply::RoomInfo {
                    room: room(name)?,
                    members: members.parse().map_err(|_| malformed())?,
                    topic: optional(topic).map(str::to_owned),
                }
            }
            "TOPIC" => {
                let (name, rest) = split_word(rest);
                let (setter, text) = split_word(rest);
                Reply::TopicIs {
                    room: room(name)?,
                    setter: nick(setter)?,
                    text: text.to_owned(),
                }
            }
            "INVITE" => {
                let (name, from) = split_word(rest);
                Reply::Invited {
                    room: room(name)?,
                    from: nick(from)?,
                }
            }
            "PONG" => Reply::Pong {
                token: optional(rest).map(str::to_owned),
            },
            "PING" => Reply::Ping {
                token: optional(rest).map(str::to_owned),
            },
            "BYE" => Reply::Bye {
                reason: optional(rest).map(str::to_owned),
            },
            "QUIT" => {
                let (who, reason) = split_word(rest);
                Reply::Quit {
                    nick: nick(who)?,
                    reason: optional(reason).map(str::to_owned),
                }
            }
            "HELP" => Reply::Help {
                text: rest.to_owned(),
            },
            "ERR" => {
                let (code, text) = split_word(rest);
                Reply::Err {
                    code: code.to_owned(),
                    text: text.to_owned(),
                }
            }
            _ => return Err(ProtocolError::UnknownCommand(word.to_owned())),
        };
        Ok(reply)
    }

    /// The nick list as `WHO` lines of at most [`MAX_WHO_LINE`] bytes each, then `END WHO`.
    /// Nicks are sorted ignoring case, as the contract promises.
    pub fn who_list(nicks: Vec<Nick>) -> Vec<Reply> {
        who_chunks(nicks, "WHO\n".len())
            .into_iter()
            .map(Reply::Who)
            .chain([Reply::EndWho])
            .collect()
    }

    /// A room's member list as `WHO #room` lines of at most [`MAX_WHO_LINE`] bytes each, then
    /// `END WHO #room`, sorted ignoring case like [`Reply::who_list`]. An empty list is the
    /// `END WHO #room` line alone.
    pub fn room_who_list(room: &Room, nicks: Vec<Nick>) -> Vec<Reply> {
        who_chunks(nicks, "WHO \n".len() + room.as_str().len())
            .into_iter()
            .map(|nicks| Reply::RoomWho {
                room: room.clone(),
                nicks,
            })
            .chain([Reply::EndRoomWho(room.clone())])
            .collect()
    }

    /// The greeting every connection gets first.
    pub fn hello() -> Reply {
        Reply::Hello {
            text: format!(
                "chatd {} - type HELP for commands",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }

    /// The `HELP` text, one reply per line, ending with `END HELP`.
    pub fn help() -> Vec<Reply> {
        const LINES: [&str; 16] = [
            "NICK <nick>           choose or change your nick (letters, digits, _ and -)",
            "MSG <nick> <text>     send a private message",
            "ALL <text>            send to everyone",
            "WHO [#room]           list who is online, or who is in a room",
            "JOIN #room [key]      join a room; the first to join creates and owns it",
            "PART #room [reason]   leave a room",
            "MSG #room <text>      send to a room",
            "ROOMS                 list the rooms you can see",
            "TOPIC #room <text>    set a room's topic",
            "INVITE <nick> #room   let someone in once, past the key and privacy",
            "KEY #room [key]       owner: set the room's key, or clear it",
            "PRIVATE #room on|off  owner: make the room invite-only, or not",
            "PING [token]          the server answers PONG [token]",
            "QUIT [reason]         leave",
            "HELP                  this text",
            "protocol: one command per line; commands are case-insensitive",
        ];
        LINES
            .iter()
            .map(|text| Reply::Help {
                text: (*text).to_owned(),
            })
            .chain([Reply::EndHelp])
            .collect()
    }
}

/// Sorts nicks ignoring case and cuts them into the lists of consecutive `WHO` lines, each
/// line at most [`MAX_WHO_LINE`] bytes when its fixed part (`WHO`, the room if any, `\n`) takes
/// `fixed` bytes. No nicks, no lines.
fn who_chunks(mut nicks: Vec<Nick>, fixed: usize) -> Vec<Vec<Nick>> {
    nicks.sort_by_cached_key(Nick::key);
    let mut chunks = Vec::new();
    let mut line: Vec<Nick> = Vec::new();
    let mut line_len = fixed;
    for nick in nicks {
        // Each nick adds a space and itself.
        let added = 1 + nick.as_str().len();
        if !line.is_empty() && line_len + added > MAX_WHO_LINE {
            chunks.push(std::mem::take(&mut line));
            line_len = fixed;
        }
        line_len += added;
        line.push(nick);
    }
    if !line.is_empty() {
        chunks.push(line);
    }
    chunks
}

/// The nicks of a `WHO` line after its fixed part; none when that is empty.
fn nick_list(text: &str) -> Result<Vec<Nick>, ProtocolError> {
    // A bare `WHO` (or `WHO #room`) is the empty list, as `Display` spells it. The server
    // never sends one, but without this case `Who(vec![])` did not read back as itself:
    // `"".split(' ')` yields one empty "nick".
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(' ').map(Nick::parse).collect()
}

impl fmt::Display for Reply {
    /// The line without its ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Hello { text } => write!(f, "HELLO {text}"),
            Reply::OkNick(nick) => write!(f, "OK NICK {nick}"),
            Reply::Join(nick) => write!(f, "JOIN {nick}"),
            Reply::NickChanged { old, new } => write!(f, "NICK {old} {new}"),
            Reply::Msg { from, text } => write!(f, "MSG {from} {text}"),
            Reply::All { from, text } => write!(f, "ALL {from} {text}"),
            Reply::Who(nicks) => {
                f.write_str("WHO")?;
                nicks.iter().try_for_each(|nick| write!(f, " {nick}"))
            }
            Reply::EndWho => f.write_str("END WHO"),
            Reply::Pong { token } => with_tail(f, "PONG", token.as_deref()),
            Reply::Ping { token } => with_tail(f, "PING", token.as_deref()),
            Reply::Bye { reason } => with_tail(f, "BYE", reason.as_deref()),
            Reply::Quit { nick, reason } => match reason {
                Some(reason) => write!(f, "QUIT {nick} {reason}"),
                None => write!(f, "QUIT {nick}"),
            },
            Reply::Help { text } => write!(f, "HELP {text}"),
            Reply::EndHelp => f.write_str("END HELP"),
            Reply::Err { code, text } => write!(f, "ERR {code} {text}"),
            Reply::OkJoin(room) => write!(f, "OK JOIN {room}"),
            Reply::OkPart(room) => write!(f, "OK PART {room}"),
            Reply::RoomJoin { room, nick } => write!(f, "JOIN {room} {nick}"),
            Reply::RoomPart { room, nick, reason } => match reason {
                Some(reason) => write!(f, "PART {room} {nick} {reason}"),
                None => write!(f, "PART {room} {nick}"),
            },
            Reply::RoomMsg { room, from, text } => write!(f, "MSG {room} {from} {text}"),
            Reply::RoomWho { room, nicks } => {
                write!(f, "WHO {room}")?;
                nicks.iter().try_for_each(|nick| write!(f, " {nick}"))
            }
            Reply::EndRoomWho(room) => write!(f, "END WHO {room}"),
            Reply::RoomInfo {
                room,
                members,
                topic,
            } => match topic {
                Some(topic) => write!(f, "ROOM {room} {members} {topic}"),
                None => write!(f, "ROOM {room} {members}"),
            },
            Reply::EndRooms => f.write_str("END ROOMS"),
            Reply::TopicIs { room, setter, text } => write!(f, "TOPIC {room} {setter} {text}"),
            Reply::OkKey(room) => write!(f, "OK KEY {room}"),
            Reply::OkPrivate { room, on } => write!(f, "OK PRIVATE {room} {}", on_off(*on)),
            Reply::OkInvite { nick, room } => write!(f, "OK INVITE {nick} {room}"),
            Reply::Invited { room, from } => write!(f, "INVITE {room} {from}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    fn room(text: &str) -> Room {
        Room::parse(text).unwrap()
    }

    fn bad_room(text: &str) -> Result<Option<Command<'static>>, ProtocolError> {
        Err(ProtocolError::BadRoom(text.to_owned()))
    }

    fn check(line: &str, expected: Result<Option<Command<'_>>, ProtocolError>) {
        assert_eq!(parse_command(line), expected, "parsing {line:?}");
    }

    #[test]
    fn parses_every_command() {
        check("NICK alice", Ok(Some(Command::Nick(nick("alice")))));
        check(
            "MSG bob hello there",
            Ok(Some(Command::Msg {
                to: nick("bob"),
                text: "hello there",
            })),
        );
        check("ALL hi all", Ok(Some(Command::All { text: "hi all" })));
        check("WHO", Ok(Some(Command::Who)));
        check("PING", Ok(Some(Command::Ping { token: None })));
        check("PING t 1", Ok(Some(Command::Ping { token: Some("t 1") })));
        check("QUIT", Ok(Some(Command::Quit { reason: None })));
        check(
            "QUIT gone home",
            Ok(Some(Command::Quit {
                reason: Some("gone home"),
            })),
        );
        check("HELP", Ok(Some(Command::Help)));
    }

    #[test]
    fn command_words_ignore_case() {
        check("nick Alice", Ok(Some(Command::Nick(nick("Alice")))));
        check(
            "mSg bob x",
            Ok(Some(Command::Msg {
                to: nick("bob"),
                text: "x",
            })),
        );
        check("all x", Ok(Some(Command::All { text: "x" })));
        check("who", Ok(Some(Command::Who)));
        check("Ping", Ok(Some(Command::Ping { token: None })));
        check("quit", Ok(Some(Command::Quit { reason: None })));
        check("help", Ok(Some(Command::Help)));
    }

    #[test]
    fn blank_lines_are_ignored() {
        check("", Ok(None));
        check("   ", Ok(None));
    }

    #[test]
    fn text_keeps_its_own_spacing() {
        check("ALL  a  b ", Ok(Some(Command::All { text: "a  b " })));
        check("  ALL x", Ok(Some(Command::All { text: "x" })));
    }

    #[test]
    fn missing_arguments() {
        check("NICK", Err(ProtocolError::MissingArgument("NICK")));
        check("NICK ", Err(ProtocolError::MissingArgument("NICK")));
        check("MSG", Err(ProtocolError::MissingArgument("MSG")));
        check("MSG bob", Err(ProtocolError::MissingArgument("MSG")));
        check("MSG bob  ", Err(ProtocolError::MissingArgument("MSG")));
        check("ALL", Err(ProtocolError::MissingArgument("ALL")));
        check("ALL   ", Err(ProtocolError::MissingArgument("ALL")));
    }

    #[test]
    fn bad_nicks() {
        let bad = |fault| Err(ProtocolError::BadNick(fault));
        check("NICK has space", bad(NickFault::BadCharacter));
        check("NICK 9lives", bad(NickFault::FirstNotLetter));
        check("NICK _x", bad(NickFault::FirstNotLetter));
        check("NICK a.b", bad(NickFault::BadCharacter));
        check("NICK émile", bad(NickFault::FirstNotLetter));
        check("NICK #room", bad(NickFault::FirstNotLetter));
        check(&format!("NICK {}", "a".repeat(33)), bad(NickFault::TooLong));
        let longest = "a".repeat(MAX_NICK_LEN);
        check(
            &format!("NICK {longest}"),
            Ok(Some(Command::Nick(nick(&longest)))),
        );
        check("NICK a-b_9", Ok(Some(Command::Nick(nick("a-b_9")))));
    }

    #[test]
    fn msg_to_something_that_cannot_be_a_nick_is_no_such_nick() {
        check(
            "MSG 1abc hi",
            Err(ProtocolError::NoSuchNick("1abc".to_owned())),
        );
    }

    #[test]
    fn unknown_commands() {
        check(
            "FROB x",
            Err(ProtocolError::UnknownCommand("FROB".to_owned())),
        );
        check(
            "NICKS a",
            Err(ProtocolError::UnknownCommand("NICKS".to_owned())),
        );
    }

    #[test]
    fn registration_is_judged_by_the_command_word() {
        for line in [
            "MSG",
            "msg 1abc hi",
            "  ALL",
            "who",
            "WHO x",
            "MSG #a hi",
            "WHO #",
            "join",
            "JOIN #a",
            "PART",
            "rooms",
            "TOPIC #a x",
            "KEY",
            "private #a on",
            "INVITE bob #a",
        ] {
            assert!(needs_registration(line), "{line}");
        }
        for line in [
            "NICK a",
            "PING",
            "QUIT",
            "HELP",
            "MSGX",
            "",
            "FROB",
            "ROOM",
            "JOINS",
            "#a",
            // Found by the parse_command fuzzer, whose own rule had not learnt that PONG
            // answers the server's PING before registration too.
            "PONG",
            "pong idle",
        ] {
            assert!(!needs_registration(line), "{line}");
        }
    }

    #[test]
    fn nick_keys_ignore_case() {
        assert_eq!(nick("Alice").key(), nick("aLICE").key());
        assert_ne!(nick("Alice").key(), nick("Alicia").key());
    }

    #[test]
    fn every_error_has_code_and_text() {
        let errors = [
            ProtocolError::NotRegistered,
            ProtocolError::NickTaken(nick("bob")),
            ProtocolError::BadNick(NickFault::Empty),
            ProtocolError::NoSuchNick("zed".to_owned()),
            ProtocolError::UnknownCommand("FROB".to_owned()),
            ProtocolError::MissingArgument("MSG"),
            ProtocolError::LineTooLong { max: 4096 },
            ProtocolError::BadEncoding,
            ProtocolError::ServerFull { max: 10 },
            ProtocolError::TooManyConnections { max: 3 },
            ProtocolError::BadRoom("#a.b".to_owned()),
            ProtocolError::NoSuchRoom("#zed".to_owned()),
            ProtocolError::NotInRoom(room("#a")),
            ProtocolError::AlreadyInRoom(room("#a")),
            ProtocolError::BadKey(room("#a")),
            ProtocolError::InviteOnly(room("#a")),
            ProtocolError::NotOwner(room("#a")),
            ProtocolError::TooManyRooms { max: 32 },
            ProtocolError::RoomFull {
                room: room("#a"),
                max: 10000,
            },
        ];
        for error in &errors {
            let line = Reply::from(error).to_string();
            let mut words = line.splitn(3, ' ');
            assert_eq!(words.next(), Some("ERR"));
            assert_eq!(words.next(), Some(error.code()));
            assert!(words.next().is_some_and(|text| !text.is_empty()), "{line}");
            assert!(ProtocolError::ALL_CODES.contains(&error.code()));
        }
        assert_eq!(errors.len(), ProtocolError::ALL_CODES.len());
    }

    #[test]
    fn error_texts_quote_input_briefly() {
        let long = "X".repeat(5000);
        let text = ProtocolError::UnknownCommand(long).to_string();
        assert!(text.len() < 100, "{text}");
        let text = ProtocolError::NoSuchNick("a\tb\rc\u{1b}[2J".to_owned()).to_string();
        assert!(!text.chars().any(char::is_control), "{text:?}");
        for error in [
            ProtocolError::BadRoom("#".repeat(5000)),
            ProtocolError::NoSuchRoom("#".repeat(5000)),
        ] {
            let text = error.to_string();
            assert!(text.len() < 130, "{text}");
        }
        for error in [
            ProtocolError::BadRoom("#a\tb\n\u{1b}".to_owned()),
            ProtocolError::NoSuchRoom("#a\tb\n\u{1b}".to_owned()),
        ] {
            let text = error.to_string();
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
    }

    #[test]
    fn room_error_lines_are_exactly_as_documented() {
        let a = || room("#Chat");
        let cases = [
            (
                ProtocolError::BadRoom("chat".to_owned()),
                "ERR BAD_ROOM bad room name chat; a room name is # then 1 to 48 letters, \
                 digits, '_' or '-'",
            ),
            (
                ProtocolError::NoSuchRoom("#nope".to_owned()),
                "ERR NO_SUCH_ROOM no room called #nope",
            ),
            (
                ProtocolError::NotInRoom(a()),
                "ERR NOT_IN_ROOM you are not in #Chat",
            ),
            (
                ProtocolError::AlreadyInRoom(a()),
                "ERR ALREADY_IN_ROOM you are already in #Chat",
            ),
            (
                ProtocolError::BadKey(a()),
                "ERR BAD_KEY #Chat needs the right key: JOIN #Chat <key>",
            ),
            (
                ProtocolError::InviteOnly(a()),
                "ERR INVITE_ONLY #Chat is invite-only",
            ),
            (
                ProtocolError::NotOwner(a()),
                "ERR NOT_OWNER only the owner of #Chat can do that",
            ),
            (
                ProtocolError::TooManyRooms { max: 32 },
                "ERR TOO_MANY_ROOMS you are in 32 rooms already, the most allowed",
            ),
            (
                ProtocolError::RoomFull {
                    room: a(),
                    max: 10000,
                },
                "ERR ROOM_FULL #Chat is full (10000 members)",
            ),
        ];
        for (error, line) in cases {
            assert_eq!(Reply::from(&error).to_string(), line);
        }
    }

    #[test]
    fn room_names() {
        let longest = format!("#{}", "a".repeat(MAX_ROOM_LEN));
        for good in ["#a", "#A-b_9", "#9", "#_", "#-", longest.as_str()] {
            assert_eq!(room(good).as_str(), good);
            assert_eq!(room(good).to_string(), good);
        }
        let too_long = format!("#{}", "a".repeat(MAX_ROOM_LEN + 1));
        for bad in [
            "",
            "#",
            "a",
            "room",
            "##a",
            "#a.b",
            "#a b",
            "#a\t",
            "#é",
            "＃a",
            too_long.as_str(),
        ] {
            assert_eq!(
                Room::parse(bad),
                Err(ProtocolError::BadRoom(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn room_keys_ignore_case() {
        assert_eq!(room("#Rust").key(), room("#rUST").key());
        assert_ne!(room("#Rust").key(), room("#Rusty").key());
        assert_ne!(room("#Rust"), room("#rust"));
        assert!(room("#b").key() > room("#A").key());
    }

    #[test]
    fn parses_every_room_command() {
        check(
            "JOIN #a",
            Ok(Some(Command::Join {
                room: room("#a"),
                key: None,
            })),
        );
        check(
            "join  #Chat  s3cret key ",
            Ok(Some(Command::Join {
                room: room("#Chat"),
                key: Some("s3cret key "),
            })),
        );
        check(
            "JOIN #a   ",
            Ok(Some(Command::Join {
                room: room("#a"),
                key: None,
            })),
        );
        check(
            "PART #a",
            Ok(Some(Command::Part {
                room: room("#a"),
                reason: None,
            })),
        );
        check(
            "Part #a see  you",
            Ok(Some(Command::Part {
                room: room("#a"),
                reason: Some("see  you"),
            })),
        );
        check(
            "MSG #a hi  there ",
            Ok(Some(Command::MsgRoom {
                room: room("#a"),
                text: "hi  there ",
            })),
        );
        check("WHO #a", Ok(Some(Command::WhoRoom(room("#a")))));
        check("who #A extra words", Ok(Some(Command::WhoRoom(room("#A")))));
        check("ROOMS", Ok(Some(Command::Rooms)));
        check("rooms please", Ok(Some(Command::Rooms)));
        check(
            "TOPIC #a all about  rust",
            Ok(Some(Command::Topic {
                room: room("#a"),
                text: "all about  rust",
            })),
        );
        check(
            "KEY #a",
            Ok(Some(Command::Key {
                room: room("#a"),
                key: None,
            })),
        );
        check(
            "key #a open sesame",
            Ok(Some(Command::Key {
                room: room("#a"),
                key: Some("open sesame"),
            })),
        );
        for (line, on) in [
            ("PRIVATE #a on", true),
            ("private #a ON", true),
            ("PRIVATE #a Off", false),
        ] {
            check(
                line,
                Ok(Some(Command::Private {
                    room: room("#a"),
                    on,
                })),
            );
        }
        check(
            "INVITE bob #a",
            Ok(Some(Command::Invite {
                nick: nick("bob"),
                room: room("#a"),
            })),
        );
    }

    #[test]
    fn who_without_a_room_stays_v1_who() {
        check("WHO", Ok(Some(Command::Who)));
        check("WHO x", Ok(Some(Command::Who)));
        check("WHO x #a", Ok(Some(Command::Who)));
        check("WHO \t#a", Ok(Some(Command::Who)));
    }

    #[test]
    fn room_commands_with_missing_arguments() {
        for (line, command) in [
            ("JOIN", "JOIN"),
            ("JOIN   ", "JOIN"),
            ("PART", "PART"),
            ("MSG #a", "MSG"),
            ("MSG #a   ", "MSG"),
            ("MSG #", "MSG"),
            ("MSG #bad.name", "MSG"),
            ("TOPIC", "TOPIC"),
            ("TOPIC #a", "TOPIC"),
            ("TOPIC #a  ", "TOPIC"),
            ("KEY", "KEY"),
            ("PRIVATE", "PRIVATE"),
            ("PRIVATE #a", "PRIVATE"),
            ("PRIVATE #a yes", "PRIVATE"),
            ("PRIVATE #a on off", "PRIVATE"),
            ("PRIVATE #a on ", "PRIVATE"),
            ("PRIVATE #bad.name maybe", "PRIVATE"),
            ("INVITE", "INVITE"),
            ("INVITE bob", "INVITE"),
            ("INVITE bob  ", "INVITE"),
        ] {
            check(line, Err(ProtocolError::MissingArgument(command)));
        }
    }

    #[test]
    fn room_commands_with_bad_room_names() {
        let too_long = format!("#{}", "a".repeat(MAX_ROOM_LEN + 1));
        check(&format!("JOIN {too_long}"), bad_room(&too_long));
        check(&format!("JOIN {too_long} key"), bad_room(&too_long));
        let longest = format!("#{}", "a".repeat(MAX_ROOM_LEN));
        check(
            &format!("JOIN {longest}"),
            Ok(Some(Command::Join {
                room: room(&longest),
                key: None,
            })),
        );
        check("JOIN #", bad_room("#"));
        check("JOIN chat", bad_room("chat"));
        check("JOIN #a.b key", bad_room("#a.b"));
        check("JOIN ##a", bad_room("##a"));
        check("JOIN \t#a", bad_room("\t#a"));
        check("PART #", bad_room("#"));
        check("PART chat bye", bad_room("chat"));
        check("MSG # hi", bad_room("#"));
        check("MSG #a! hi", bad_room("#a!"));
        check("WHO #", bad_room("#"));
        check("WHO #é", bad_room("#é"));
        check("TOPIC chat hello", bad_room("chat"));
        check("KEY #a+b", bad_room("#a+b"));
        check("PRIVATE chat on", bad_room("chat"));
        check("INVITE bob chat", bad_room("chat"));
        check("INVITE bob #", bad_room("#"));
        // The room of INVITE is the rest of the line, as the nick of NICK is.
        check("INVITE bob #a extra", bad_room("#a extra"));
        check("INVITE bob #a ", bad_room("#a "));
    }

    #[test]
    fn invite_to_something_that_cannot_be_a_nick_is_no_such_nick() {
        check(
            "INVITE 1abc #a",
            Err(ProtocolError::NoSuchNick("1abc".to_owned())),
        );
        // Nick before room, left to right.
        check(
            "INVITE #a bob",
            Err(ProtocolError::NoSuchNick("#a".to_owned())),
        );
        check(
            "INVITE 1abc #",
            Err(ProtocolError::NoSuchNick("1abc".to_owned())),
        );
    }

    #[test]
    fn commands_round_trip() {
        let commands = [
            Command::Nick(nick("alice")),
            Command::Msg {
                to: nick("bob"),
                text: "hi  there",
            },
            Command::All { text: "x" },
            Command::Who,
            Command::Ping { token: None },
            Command::Ping { token: Some("42") },
            Command::Pong {
                token: Some("idle"),
            },
            Command::Quit { reason: None },
            Command::Quit {
                reason: Some("bye now"),
            },
            Command::Help,
            Command::Join {
                room: room("#a"),
                key: None,
            },
            Command::Join {
                room: room("#Chat"),
                key: Some("two words"),
            },
            Command::Part {
                room: room("#a"),
                reason: None,
            },
            Command::Part {
                room: room("#a"),
                reason: Some("off  home "),
            },
            Command::MsgRoom {
                room: room("#a"),
                text: "hi  all",
            },
            Command::WhoRoom(room("#a-b")),
            Command::Rooms,
            Command::Topic {
                room: room("#a"),
                text: "new topic",
            },
            Command::Key {
                room: room("#a"),
                key: None,
            },
            Command::Key {
                room: room("#a"),
                key: Some("k"),
            },
            Command::Private {
                room: room("#a"),
                on: true,
            },
            Command::Private {
                room: room("#a"),
                on: false,
            },
            Command::Invite {
                nick: nick("bob"),
                room: room("#a"),
            },
        ];
        for command in commands {
            let line = command.to_string();
            assert_eq!(parse_command(&line), Ok(Some(command)), "{line}");
        }
    }

    #[test]
    fn replies_round_trip() {
        let replies = [
            Reply::Hello {
                text: "chatd 0.1".to_owned(),
            },
            Reply::OkNick(nick("alice")),
            Reply::Join(nick("bob")),
            Reply::NickChanged {
                old: nick("bob"),
                new: nick("Bobby"),
            },
            Reply::Msg {
                from: nick("bob"),
                text: "hi  there ".to_owned(),
            },
            Reply::All {
                from: nick("carol"),
                text: "x".to_owned(),
            },
            Reply::Who(vec![nick("a"), nick("b")]),
            Reply::EndWho,
            Reply::Pong { token: None },
            Reply::Ping {
                token: Some("idle".to_owned()),
            },
            Reply::Pong {
                token: Some("7".to_owned()),
            },
            Reply::Bye { reason: None },
            Reply::Bye {
                reason: Some("server shutting down".to_owned()),
            },
            Reply::Quit {
                nick: nick("bob"),
                reason: None,
            },
            Reply::Quit {
                nick: nick("bob"),
                reason: Some("connection reset".to_owned()),
            },
            Reply::Help {
                text: "some help".to_owned(),
            },
            Reply::EndHelp,
            Reply::from(&ProtocolError::NotRegistered),
            Reply::OkJoin(room("#Chat")),
            Reply::OkPart(room("#a")),
            Reply::RoomJoin {
                room: room("#a"),
                nick: nick("bob"),
            },
            Reply::RoomPart {
                room: room("#a"),
                nick: nick("bob"),
                reason: None,
            },
            Reply::RoomPart {
                room: room("#a"),
                nick: nick("bob"),
                reason: Some("see  you ".to_owned()),
            },
            Reply::RoomMsg {
                room: room("#a"),
                from: nick("bob"),
                text: "hi  #b there ".to_owned(),
            },
            Reply::RoomMsg {
                room: room("#a"),
                from: nick("bob"),
                text: String::new(),
            },
            Reply::RoomWho {
                room: room("#a"),
                nicks: vec![nick("a"), nick("B")],
            },
            Reply::RoomWho {
                room: room("#a"),
                nicks: Vec::new(),
            },
            Reply::EndRoomWho(room("#a")),
            Reply::RoomInfo {
                room: room("#a"),
                members: 3,
                topic: None,
            },
            Reply::RoomInfo {
                room: room("#a"),
                members: 0,
                topic: Some("all  about 42 ".to_owned()),
            },
            Reply::EndRooms,
            Reply::TopicIs {
                room: room("#a"),
                setter: nick("carol"),
                text: "new  topic".to_owned(),
            },
            Reply::OkKey(room("#a")),
            Reply::OkPrivate {
                room: room("#a"),
                on: true,
            },
            Reply::OkPrivate {
                room: room("#a"),
                on: false,
            },
            Reply::OkInvite {
                nick: nick("bob"),
                room: room("#a"),
            },
            Reply::Invited {
                room: room("#a"),
                from: nick("alice"),
            },
        ];
        for reply in replies {
            let line = reply.to_line();
            assert!(line.ends_with('\n') && !line.ends_with("\r\n"));
            assert_eq!(
                Reply::parse(line.trim_end_matches('\n')),
                Ok(reply),
                "{line}"
            );
        }
    }

    #[test]
    fn empty_who_list_round_trips() {
        // Found by the property test `every_reply_round_trips`.
        assert_eq!(Reply::parse("WHO"), Ok(Reply::Who(Vec::new())));
        assert_eq!(Reply::Who(Vec::new()).to_line(), "WHO\n");
    }

    #[test]
    fn who_list_is_sorted_ignoring_case() {
        let list = Reply::who_list(vec![nick("carol"), nick("Bob"), nick("alice")]);
        assert_eq!(
            list,
            vec![
                Reply::Who(vec![nick("alice"), nick("Bob"), nick("carol")]),
                Reply::EndWho
            ]
        );
    }

    #[test]
    fn who_lines_stay_within_the_limit_and_keep_every_nick() {
        let nicks: Vec<Nick> = (0..2000)
            .map(|i| nick(&format!("user{i:05}{}", "x".repeat(i % 23))))
            .collect();
        let list = Reply::who_list(nicks.clone());
        assert!(list.len() > 2);
        assert_eq!(list.last(), Some(&Reply::EndWho));
        let mut seen = 0;
        for reply in &list[..list.len() - 1] {
            let line = reply.to_line();
            assert!(line.len() <= MAX_WHO_LINE, "{} bytes", line.len());
            let Reply::Who(chunk) = reply else {
                panic!("expected WHO, got {reply:?}")
            };
            seen += chunk.len();
        }
        assert_eq!(seen, nicks.len());
    }

    #[test]
    fn every_error_reply_round_trips() {
        let errors = [
            ProtocolError::BadRoom("#a b\tc".to_owned()),
            ProtocolError::NoSuchRoom("#zed".to_owned()),
            ProtocolError::NotInRoom(room("#a")),
            ProtocolError::AlreadyInRoom(room("#a")),
            ProtocolError::BadKey(room("#a")),
            ProtocolError::InviteOnly(room("#a")),
            ProtocolError::NotOwner(room("#a")),
            ProtocolError::TooManyRooms { max: 32 },
            ProtocolError::RoomFull {
                room: room("#a"),
                max: 10000,
            },
        ];
        for error in &errors {
            let reply = Reply::from(error);
            assert_eq!(Reply::parse(&reply.to_string()), Ok(reply));
        }
    }

    #[test]
    fn room_lines_are_told_from_v1_lines() {
        let parse = |line| Reply::parse(line).unwrap();
        assert_eq!(parse("JOIN bob"), Reply::Join(nick("bob")));
        assert_eq!(
            parse("JOIN #a bob"),
            Reply::RoomJoin {
                room: room("#a"),
                nick: nick("bob"),
            }
        );
        assert_eq!(
            parse("MSG bob #a hi"),
            Reply::Msg {
                from: nick("bob"),
                text: "#a hi".to_owned(),
            }
        );
        assert_eq!(
            parse("MSG #a bob hi"),
            Reply::RoomMsg {
                room: room("#a"),
                from: nick("bob"),
                text: "hi".to_owned(),
            }
        );
        assert_eq!(parse("WHO a b"), Reply::Who(vec![nick("a"), nick("b")]));
        assert_eq!(
            parse("WHO #a b"),
            Reply::RoomWho {
                room: room("#a"),
                nicks: vec![nick("b")],
            }
        );
        assert_eq!(parse("END WHO"), Reply::EndWho);
        assert_eq!(parse("END WHO #a"), Reply::EndRoomWho(room("#a")));
        assert_eq!(parse("END ROOMS"), Reply::EndRooms);
        assert_eq!(parse("OK NICK bob"), Reply::OkNick(nick("bob")));
        assert_eq!(parse("OK JOIN #a"), Reply::OkJoin(room("#a")));
        assert_eq!(
            parse("ROOM #a 5 a b"),
            Reply::RoomInfo {
                room: room("#a"),
                members: 5,
                topic: Some("a b".to_owned()),
            }
        );
        for bad in [
            "JOIN #a",
            "JOIN #",
            "OK JOIN",
            "OK JOIN a",
            "OK PRIVATE #a yes",
            "OK PRIVATE #a",
            "ROOM #a x",
            "ROOM #a",
            "ROOM #a -1",
            "END WHO #",
            "END WHO ",
            "END ROOM",
            "PART #a",
            "TOPIC #a",
            "INVITE #a",
            "INVITE bob #a",
        ] {
            assert!(Reply::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn room_who_list_is_sorted_ignoring_case() {
        let chat = room("#Chat");
        let list = Reply::room_who_list(&chat, vec![nick("carol"), nick("Bob"), nick("alice")]);
        assert_eq!(
            list,
            vec![
                Reply::RoomWho {
                    room: chat.clone(),
                    nicks: vec![nick("alice"), nick("Bob"), nick("carol")],
                },
                Reply::EndRoomWho(chat)
            ]
        );
    }

    #[test]
    fn empty_who_lists_are_the_end_line_alone() {
        assert_eq!(Reply::who_list(Vec::new()), vec![Reply::EndWho]);
        let a = room("#a");
        assert_eq!(
            Reply::room_who_list(&a, Vec::new()),
            vec![Reply::EndRoomWho(a)]
        );
    }

    #[test]
    fn room_who_lines_stay_within_the_limit_and_keep_every_nick() {
        let longest = room(&format!("#{}", "r".repeat(MAX_ROOM_LEN)));
        let nicks: Vec<Nick> = (0..5000)
            .map(|i| nick(&format!("user{i:05}{}", "x".repeat(i % 23))))
            .collect();
        let list = Reply::room_who_list(&longest, nicks.clone());
        assert!(list.len() > 2);
        assert_eq!(list.last(), Some(&Reply::EndRoomWho(longest.clone())));
        let mut seen = Vec::new();
        for reply in &list[..list.len() - 1] {
            let line = reply.to_line();
            assert!(line.len() <= MAX_WHO_LINE, "{} bytes", line.len());
            let Reply::RoomWho { room, nicks } = reply else {
                panic!("expected WHO #room, got {reply:?}")
            };
            assert_eq!(room, &longest);
            // A line is cut only when the next nick would not fit.
            if seen.len() + nicks.len() < 5000 {
                assert!(line.len() + 33 > MAX_WHO_LINE, "{} bytes", line.len());
            }
            seen.extend(nicks.iter().cloned());
        }
        let mut sorted = nicks;
        sorted.sort_by_cached_key(Nick::key);
        assert_eq!(seen, sorted);
    }

    #[test]
    fn help_names_every_command() {
        let help: Vec<String> = Reply::help().iter().map(Reply::to_string).collect();
        for command in [
            "NICK", "MSG", "ALL", "WHO", "JOIN", "PART", "ROOMS", "TOPIC", "INVITE", "KEY",
            "PRIVATE", "PING", "QUIT", "HELP",
        ] {
            let prefix = format!("HELP {command} ");
            assert!(
                help.iter().any(|line| line.starts_with(&prefix)),
                "HELP does not list {command}"
            );
        }
    }

    #[test]
    fn help_ends_with_end_help() {
        let help = Reply::help();
        assert!(help.len() > 5);
        assert_eq!(help.last(), Some(&Reply::EndHelp));
    }
}
