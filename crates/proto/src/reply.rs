//! Server lines: [`Reply`], formatted into a line and parsed back.
//!
//! In scope: every line the server sends, its spelling in both directions, the `ERR` line a
//! [`ProtocolError`] becomes, and the answer to `STATS` ([`Reply::stats`]; the figures' names
//! are in `stats`). The `WHO` list chunking (`who`) and the greeting and `HELP` text (`help`)
//! build replies in their own modules.
//!
//! Out of scope: when the server sends what (the server), and any I/O.

use std::fmt;

use crate::caps::Capability;
use crate::error::{ErrorCode, ProtocolError};
use crate::message_id::MessageId;
use crate::names::{Nick, Room, Target};
use crate::stats::StatName;
use crate::syntax::{on_off, optional, split_word, with_tail};
use crate::utc_time::UtcMillis;

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
    /// `ERR <CODE> <text>`. A code this version does not know reads as
    /// [`ErrorCode::Unknown`], so a client can still show it.
    Err {
        code: ErrorCode,
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
    /// The answer to `TOPIC #room` when the room has no topic.
    NoTopic(Room),
    /// `CAP <name>` succeeded (also when it was on already).
    OkCap(Capability),
    /// `AWAY <text>` (`on`) or `AWAY` alone (`off`) succeeded.
    OkAway {
        on: bool,
    },
    /// An action, to clients with `CAP actions` (others get
    /// [`Reply::without_capability`]). `target` is `*` for the lobby, the room, or the
    /// recipient's own nick for a direct action.
    Me {
        target: Target,
        from: Nick,
        text: String,
    },
    /// To the sender of a direct `MSG` or `ME` with `CAP away`: its addressee is away.
    Away {
        nick: Nick,
        text: String,
    },
    /// To members with `CAP owner`: who owns the room, after their `JOIN` and whenever it
    /// changes.
    Owner {
        room: Room,
        nick: Nick,
    },
    /// To clients with `CAP presence`: how the lobby's presence is kept now. `exact`: every
    /// registration, rename and departure is announced (`JOIN`, `NICK`, `QUIT`); otherwise
    /// none is (more than `--presence-limit` clients are registered) and `count` is updated
    /// by further `PRESENCE COUNT` lines. `count`: the registered clients.
    Presence {
        exact: bool,
        count: u32,
    },
    /// One figure of the answer to `STATS`.
    Stat {
        name: StatName,
        value: u64,
    },
    /// The end of the answer to `STATS`.
    EndStats,
    /// One line of the answer to `HISTORY`: the line `line` (as it was delivered, without
    /// its ending; [`Reply::parse`] reads it) with id `id`, queued at `time`. `target` is `*`
    /// or the room.
    Hist {
        target: Target,
        id: MessageId,
        time: UtcMillis,
        line: String,
    },
    /// The end of the answer to `HISTORY`: `count` `HIST` lines came before it.
    EndHistory {
        target: Target,
        count: usize,
    },
    /// `REGISTER <password>` succeeded: the nick is an account, and the client is logged in
    /// to it.
    OkRegister(Nick),
    /// `REGISTER #room` succeeded.
    OkRegisterRoom(Room),
    /// `LOGIN` succeeded: the connection holds the account's nick, spelled as registered.
    OkLogin(Nick),
    /// `PASSWORD` succeeded.
    OkPassword,
    /// `UNREGISTER` succeeded: the nick is no account any more.
    OkUnregister(Nick),
    /// A `MSG` to a registered account that is offline was stored, to be delivered at its
    /// next login.
    OkStored(Nick),
    /// `UPLOAD` was accepted: the file's bytes go to `url` with an HTTP `PUT`.
    OkUpload {
        url: String,
    },
    /// All the bytes of an upload arrived and the file was delivered: it can be downloaded
    /// from `url`.
    OkFile {
        url: String,
    },
    /// A file sent to the recipient or to everyone: `size` bytes, downloaded from `url`
    /// (a word), named `name` (the rest of the line).
    File {
        from: Nick,
        size: u64,
        url: String,
        name: String,
    },
    /// A file sent to everyone, to a client with `CAP files` (others get it as [`Reply::File`]).
    LobbyFile {
        from: Nick,
        size: u64,
        url: String,
        name: String,
    },
    /// A file sent to a room the recipient is in.
    RoomFile {
        room: Room,
        from: Nick,
        size: u64,
        url: String,
        name: String,
    },
}

impl From<&ProtocolError> for Reply {
    fn from(error: &ProtocolError) -> Reply {
        Reply::Err {
            code: error.code(),
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

    /// The answer to `STATS`: one `STATS <name> <value>` line per figure, in the order given,
    /// then `END STATS`.
    pub fn stats(figures: impl IntoIterator<Item = (StatName, u64)>) -> Vec<Reply> {
        figures
            .into_iter()
            .map(|(name, value)| Reply::Stat { name, value })
            .chain([Reply::EndStats])
            .collect()
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
                ("CAP", name) => Reply::OkCap(Capability::parse(name).ok_or_else(malformed)?),
                ("AWAY", "on") => Reply::OkAway { on: true },
                ("AWAY", "off") => Reply::OkAway { on: false },
                // Nicks never start with '#', as in `JOIN #room <nick>`.
                ("REGISTER", name) if name.starts_with('#') => Reply::OkRegisterRoom(room(name)?),
                ("REGISTER", nick_text) => Reply::OkRegister(nick(nick_text)?),
                ("LOGIN", nick_text) => Reply::OkLogin(nick(nick_text)?),
                ("PASSWORD", "") => Reply::OkPassword,
                ("UNREGISTER", nick_text) => Reply::OkUnregister(nick(nick_text)?),
                ("STORED", nick_text) => Reply::OkStored(nick(nick_text)?),
                ("UPLOAD", url) => Reply::OkUpload {
                    url: one_word(url).ok_or_else(malformed)?,
                },
                ("FILE", url) => Reply::OkFile {
                    url: one_word(url).ok_or_else(malformed)?,
                },
                _ => return Err(malformed()),
            },
            "FILE" => Reply::parse_file(line, rest)?,
            "ME" => {
                let (to, rest) = split_word(rest);
                let (from, text) = split_word(rest);
                Reply::Me {
                    target: target(to)?,
                    from: nick(from)?,
                    text: text.to_owned(),
                }
            }
            "AWAY" => {
                let (who, text) = split_word(rest);
                Reply::Away {
                    nick: nick(who)?,
                    text: text.to_owned(),
                }
            }
            "PRESENCE" => {
                let (mode, count) = split_word(rest);
                let exact = match mode {
                    "EXACT" => true,
                    "COUNT" => false,
                    _ => return Err(malformed()),
                };
                Reply::Presence {
                    exact,
                    count: count.parse().map_err(|_| malformed())?,
                }
            }
            "OWNER" => {
                let (name, who) = split_word(rest);
                Reply::Owner {
                    room: room(name)?,
                    nick: nick(who)?,
                }
            }
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
                "STATS" => Reply::EndStats,
                _ => match split_word(rest) {
                    ("WHO", name) => Reply::EndRoomWho(room(name)?),
                    ("HISTORY", args) => {
                        let (to, count) = split_word(args);
                        Reply::EndHistory {
                            target: target(to)?,
                            count: digits(count).ok_or_else(malformed)?,
                        }
                    }
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
            "STATS" => {
                let (name, value) = split_word(rest);
                Reply::Stat {
                    name: StatName::parse(name).ok_or_else(malformed)?,
                    value: digits(value).ok_or_else(malformed)?,
                }
            }
            "TOPIC" => {
                let (name, rest) = split_word(rest);
                if rest.is_empty() {
                    Reply::NoTopic(room(name)?)
                } else {
                    let (setter, text) = split_word(rest);
                    Reply::TopicIs {
                        room: room(name)?,
                        setter: nick(setter)?,
                        text: text.to_owned(),
                    }
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
            "HIST" => {
                let (to, rest) = split_word(rest);
                let (id, rest) = split_word(rest);
                let (time, line) = split_word(rest);
                if line.is_empty() {
                    return Err(malformed());
                }
                Reply::Hist {
                    target: target(to)?,
                    id: MessageId::parse(id).ok_or_else(malformed)?,
                    time: UtcMillis::parse(time).ok_or_else(malformed)?,
                    line: line.to_owned(),
                }
            }
            "HELP" => Reply::Help {
                text: rest.to_owned(),
            },
            "ERR" => {
                let (code, text) = split_word(rest);
                Reply::Err {
                    code: ErrorCode::parse(code),
                    text: text.to_owned(),
                }
            }
            _ => return Err(ProtocolError::UnknownCommand(word.to_owned())),
        };
        Ok(reply)
    }
}

/// The target of an `ME` or `HIST` line: `*`, a room, or a nick.
fn target(to: &str) -> Result<Target, ProtocolError> {
    if to == Target::LOBBY {
        Ok(Target::Lobby)
    } else if to.starts_with('#') {
        Ok(Target::Room(Room::parse(to)?))
    } else {
        Ok(Target::Nick(Nick::parse(to)?))
    }
}

/// A word that is the whole rest of a line (a URL): not empty, no space.
pub(crate) fn one_word(text: &str) -> Option<String> {
    (!text.is_empty() && !text.contains(' ')).then(|| text.to_owned())
}

/// A number as the server writes one: decimal digits only (`from_str` would also take a
/// sign), in range.
pub(crate) fn digits<N: std::str::FromStr>(text: &str) -> Option<N> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}

/// The nicks of a `WHO` line after its fixed part; none when that is empty.
fn nick_list(text: &str) -> Result<Vec<Nick>, ProtocolError> {
    // A bare `WHO` (or `WHO #room`) is the empty list, as `Display` spells it. The server
    // never sends one, but without this case `Who(vec![])` did not read back as itself:
    // `"".split(' ')` yields one empty "nick".
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let nicks = text.split(' ').map(Nick::parse).collect::<Result<_, _>>()?;
    Ok(nicks)
}

/// The word of a chat line from one client: `MSG` (to one) or `ALL` (to everyone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatWord {
    Msg,
    All,
}

/// `<word> <from> <text>`, without its ending: the one spelling of [`Reply::Msg`] and
/// [`Reply::All`], whether from a reply or from borrowed parts ([`Reply::write_chat_line`]).
fn write_chat(out: &mut impl fmt::Write, word: ChatWord, from: &Nick, text: &str) -> fmt::Result {
    out.write_str(match word {
        ChatWord::Msg => "MSG ",
        ChatWord::All => "ALL ",
    })?;
    out.write_str(from.as_str())?;
    out.write_char(' ')?;
    out.write_str(text)
}

impl Reply {
    /// Appends `MSG <from> <text>` or `ALL <from> <text>` and its ending to `out`, as
    /// [`Reply::write_line`] would for the reply, without building one: a server relaying a
    /// message has the sender's nick and the text borrowed, and copying them into a `Reply`
    /// for each line was two allocations per message.
    pub fn write_chat_line(word: ChatWord, from: &Nick, text: &str, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = write_chat(out, word, from, text);
        out.push('\n');
    }
}

impl fmt::Display for Reply {
    /// The line without its ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Hello { text } => write!(f, "HELLO {text}"),
            Reply::OkNick(nick) => write!(f, "OK NICK {nick}"),
            Reply::Join(nick) => write!(f, "JOIN {nick}"),
            Reply::NickChanged { old, new } => write!(f, "NICK {old} {new}"),
            Reply::Msg { from, text } => write_chat(f, ChatWord::Msg, from, text),
            Reply::All { from, text } => write_chat(f, ChatWord::All, from, text),
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
            Reply::NoTopic(room) => write!(f, "TOPIC {room}"),
            Reply::OkCap(cap) => write!(f, "OK CAP {cap}"),
            Reply::OkAway { on } => write!(f, "OK AWAY {}", on_off(*on)),
            Reply::Me { target, from, text } => write!(f, "ME {target} {from} {text}"),
            Reply::Away { nick, text } => write!(f, "AWAY {nick} {text}"),
            Reply::Owner { room, nick } => write!(f, "OWNER {room} {nick}"),
            Reply::Presence { exact: true, count } => write!(f, "PRESENCE EXACT {count}"),
            Reply::Presence {
                exact: false,
                count,
            } => write!(f, "PRESENCE COUNT {count}"),
            Reply::Stat { name, value } => write!(f, "STATS {name} {value}"),
            Reply::EndStats => f.write_str("END STATS"),
            Reply::Hist {
                target,
                id,
                time,
                line,
            } => write!(f, "HIST {target} {id} {time} {line}"),
            Reply::EndHistory { target, count } => write!(f, "END HISTORY {target} {count}"),
            Reply::OkRegister(nick) => write!(f, "OK REGISTER {nick}"),
            Reply::OkRegisterRoom(room) => write!(f, "OK REGISTER {room}"),
            Reply::OkLogin(nick) => write!(f, "OK LOGIN {nick}"),
            Reply::OkPassword => f.write_str("OK PASSWORD"),
            Reply::OkUnregister(nick) => write!(f, "OK UNREGISTER {nick}"),
            Reply::OkStored(nick) => write!(f, "OK STORED {nick}"),
            Reply::OkUpload { url } => write!(f, "OK UPLOAD {url}"),
            Reply::OkFile { url } => write!(f, "OK FILE {url}"),
            Reply::File {
                from,
                size,
                url,
                name,
            } => write!(f, "FILE {from} {size} {url} {name}"),
            Reply::LobbyFile {
                from,
                size,
                url,
                name,
            } => write!(f, "FILE * {from} {size} {url} {name}"),
            Reply::RoomFile {
                room,
                from,
                size,
                url,
                name,
            } => write!(f, "FILE {room} {from} {size} {url} {name}"),
        }
    }
}

#[cfg(test)]
mod account_tests;
#[cfg(test)]
mod file_tests;
#[cfg(test)]
mod tests;
