//! Error codes and [`ProtocolError`]: everything a client can do wrong, its wire code and its
//! human text.
//!
//! In scope: the [`ErrorCode`] enum, the one place the codes are spelled; the errors the
//! server answers with `ERR <CODE> <text>`, and their texts (including those of a refused nick
//! or room name).
//!
//! Out of scope: the `ERR` line itself (`reply`), and deciding when an error happens (the
//! parsers in `command` and `names`, and the server).

use std::fmt;

use crate::caps::Capability;
use crate::file_name::FileNameFault;
use crate::names::{BadRoomName, MAX_NICK_LEN, MAX_ROOM_LEN, Nick, NickFault, Room};
use crate::password::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, PasswordFault};
use crate::text::{self, Refused};
use crate::words::CommandWord;

/// How much of a client's input an `ERR` text quotes back, so an error line stays short.
const MAX_ECHO: usize = 40;

/// Declares [`ErrorCode`] with one wire spelling per code, and the list of them all, so a new
/// code cannot be added without its spelling or be left out of the list.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $code:ident = $wire:literal,)*) => {
        /// The code of an `ERR` line, as a client matches on it.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $code,)*
            /// A code this version does not know, as it was sent (a newer server may add
            /// codes). [`ErrorCode::parse`] never puts a known code here.
            Unknown(String),
        }

        impl ErrorCode {
            /// Every code this version knows, in the order protocol.md lists them.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$code,)*];

            /// The code as it appears after `ERR`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$code => $wire,)*
                    ErrorCode::Unknown(code) => code,
                }
            }

            /// Reads the word after `ERR`: a known code, or [`ErrorCode::Unknown`].
            pub fn parse(code: &str) -> ErrorCode {
                match code {
                    $($wire => ErrorCode::$code,)*
                    other => ErrorCode::Unknown(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    /// A command other than `NICK`, `LOGIN`, `PING`, `PONG`, `CAP`, `QUIT` or `HELP` before
    /// registration.
    NotRegistered = "NOT_REGISTERED",
    NickTaken = "NICK_TAKEN",
    BadNick = "BAD_NICK",
    NoSuchNick = "NO_SUCH_NICK",
    UnknownCommand = "UNKNOWN_COMMAND",
    MissingArgument = "MISSING_ARGUMENT",
    LineTooLong = "LINE_TOO_LONG",
    BadEncoding = "BAD_ENCODING",
    ServerFull = "SERVER_FULL",
    TooManyConnections = "TOO_MANY_CONNECTIONS",
    BadRoom = "BAD_ROOM",
    NoSuchRoom = "NO_SUCH_ROOM",
    NotInRoom = "NOT_IN_ROOM",
    AlreadyInRoom = "ALREADY_IN_ROOM",
    BadKey = "BAD_KEY",
    InviteOnly = "INVITE_ONLY",
    NotOwner = "NOT_OWNER",
    TooManyRooms = "TOO_MANY_ROOMS",
    RoomFull = "ROOM_FULL",
    /// An argument is there but is not one the command takes (`PRIVATE #room maybe`).
    BadArgument = "BAD_ARGUMENT",
    /// `CAP` with a name that is no capability.
    BadCap = "BAD_CAP",
    /// A text that holds a character the text rule refuses (`crate::text`).
    BadText = "BAD_TEXT",
    /// A `JOIN` that would create a room while the server has `--max-rooms` of them.
    NoMoreRooms = "NO_MORE_ROOMS",
    /// A topic over `--max-topic` bytes, a key over `--max-key` bytes.
    TooLong = "TOO_LONG",
    /// A `JOIN` needing a key after too many wrong keys from the client or its address; a
    /// password checked after too many failed logins from the address or for the account.
    TooManyAttempts = "TOO_MANY_ATTEMPTS",
    /// A `HISTORY` that is malformed (a bad count, a bad id, a word it does not take).
    BadHistory = "BAD_HISTORY",
    /// A new password (`REGISTER`, `PASSWORD`) that breaks the rule: 8 to 128 bytes, no
    /// spaces.
    WeakPassword = "WEAK_PASSWORD",
    /// `NICK` with a registered nick (log in to take it), or `REGISTER` of a nick that is an
    /// account already.
    NickRegistered = "NICK_REGISTERED",
    /// A wrong password, or an account that does not exist: the same answer, so it does not
    /// tell which nicks are accounts.
    BadLogin = "BAD_LOGIN",
    /// Something only a logged-in account may do, asked by a guest.
    LoginRequired = "LOGIN_REQUIRED",
    /// A command that checks or sets a password while the server's queue of password checks
    /// is full; nothing was done.
    ServerBusy = "SERVER_BUSY",
    /// `MSG` to an offline account whose mailbox holds as many lines as it may.
    MailboxFull = "MAILBOX_FULL",
    /// An `UPLOAD` whose name is no file name (a `/`, `.` or `..`, a control character, over
    /// 255 bytes).
    BadFileName = "BAD_FILE_NAME",
    /// An `UPLOAD` larger than `--max-file-size`.
    FileTooLarge = "FILE_TOO_LARGE",
    /// An `UPLOAD` that the files kept and the uploads under way leave no room for
    /// (`--file-quota`), or one more while the client has the most uploads waiting.
    Quota = "QUOTA",
    /// An `UPLOAD` to a server without a web listener (`--http off`): it takes no files.
    NoFiles = "NO_FILES",
    /// `REGISTER`, `LOGIN` or `PASSWORD` on a connection without TLS from another machine:
    /// the password would cross the network in clear (unless the server allows it).
    TlsRequired = "TLS_REQUIRED",
    /// A node of a cluster could not reach the cluster in time: the line was not sent, or the
    /// nick not claimed.
    Unavailable = "UNAVAILABLE",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a client can do wrong, one variant per `ERR` code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A command that needs a nick (see `CommandWord::needs_registration`) before a
    /// successful `NICK` or `LOGIN`.
    NotRegistered,
    NickTaken(Nick),
    BadNick(NickFault),
    /// The target of `MSG` is not online (or cannot be a nick at all).
    NoSuchNick(String),
    UnknownCommand(String),
    /// `HELP <word>` where the word is no command; the word as typed. Its code is
    /// `UNKNOWN_COMMAND`, its text says where to look.
    NoSuchCommand(String),
    /// A command without an argument it needs.
    MissingArgument {
        command: CommandWord,
        /// What is missing, as the text names it (`"a text"`).
        needs: &'static str,
        /// The argument, as typed, after which the missing one belongs (`MSG bob`: `bob`);
        /// `None` when nothing follows the command word.
        after: Option<String>,
    },
    /// An argument that is there but is not one the command takes.
    BadArgument {
        command: CommandWord,
        /// What the command takes in its place (`"on or off"`).
        takes: &'static str,
        /// The argument as typed.
        got: String,
    },
    /// `CAP` with a word that is no capability, as typed.
    BadCap(String),
    /// A message text, topic, key or away text with a character the text rule refuses
    /// (`crate::text`): the first one, and where it is.
    BadText {
        /// Which text, as the error names it (`"the topic"`).
        what: &'static str,
        refused: Refused,
    },
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
    /// Sent by the acceptor to a connection from an address that connected more often than
    /// `--connect-rate` allows, which is then closed. Its code is `TOO_MANY_CONNECTIONS`; its
    /// text says too often.
    ConnectingTooOften {
        per_second: u32,
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
    /// A `JOIN` that would create a room while the server has `--max-rooms` rooms.
    NoMoreRooms {
        max: usize,
    },
    /// A text over its limit: a topic over `--max-topic` bytes, a key over `--max-key`.
    TooLong {
        /// What is too long, as the text names it (`"a topic"`).
        what: &'static str,
        max: usize,
        /// Its length, in bytes.
        got: usize,
    },
    /// A `JOIN` that needs a key while wrong keys are throttled; a guess is allowed again in
    /// `wait_secs` seconds.
    TooManyAttempts {
        wait_secs: u64,
    },
    /// A malformed `HISTORY`: what it expected where it went wrong, and the word found
    /// there (`None`: the line ended).
    BadHistory {
        expected: &'static str,
        got: Option<String>,
    },
    /// A new password that breaks the rule; the error never holds the password.
    WeakPassword(PasswordFault),
    /// The nick is an account: `NICK` cannot take it, `REGISTER` cannot make it one again.
    NickRegistered(Nick),
    /// A wrong nick or password in `LOGIN`, a wrong password in `PASSWORD` or `UNREGISTER`.
    BadLogin,
    /// Passwords checked for the client's address or for the account failed too often; a
    /// check is allowed again in `wait_secs` seconds. Its code is `TOO_MANY_ATTEMPTS`.
    TooManyLogins {
        wait_secs: u64,
    },
    /// Only a logged-in client may do this: `PASSWORD`, `UNREGISTER` and `HISTORY <nick>`
    /// from a guest, and `REGISTER #room` when the server keeps registered rooms.
    LoginRequired,
    /// The server's queue of password checks is full; the command did nothing and may be
    /// sent again.
    ServerBusy,
    /// `MSG` to an offline account that has `lines` waiting already: not kept.
    MailboxFull {
        nick: Nick,
        lines: usize,
    },
    /// An `UPLOAD` whose name breaks the rule ([`crate::FileName`]).
    BadFileName(FileNameFault),
    /// An `UPLOAD` of `size` bytes, over the server's `max`.
    FileTooLarge {
        size: u64,
        max: u64,
    },
    /// An `UPLOAD` of more bytes than the quota has `free` now.
    Quota {
        free: u64,
    },
    /// An `UPLOAD` while `max` of the client's uploads wait for their bytes. Its code is
    /// `QUOTA`.
    UploadsWaiting {
        max: usize,
    },
    /// An `UPLOAD` to a server that takes no files.
    NoFiles,
    /// A password sent without TLS from another machine; nothing was done.
    TlsRequired,
    /// The cluster could not be reached: what was not done.
    Unavailable(String),
}

impl ProtocolError {
    /// The code that goes after `ERR`.
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtocolError::NotRegistered => ErrorCode::NotRegistered,
            ProtocolError::NickTaken(_) => ErrorCode::NickTaken,
            ProtocolError::BadNick(_) => ErrorCode::BadNick,
            ProtocolError::NoSuchNick(_) => ErrorCode::NoSuchNick,
            ProtocolError::UnknownCommand(_) | ProtocolError::NoSuchCommand(_) => {
                ErrorCode::UnknownCommand
            }
            ProtocolError::MissingArgument { .. } => ErrorCode::MissingArgument,
            ProtocolError::BadArgument { .. } => ErrorCode::BadArgument,
            ProtocolError::BadCap(_) => ErrorCode::BadCap,
            ProtocolError::BadText { .. } => ErrorCode::BadText,
            ProtocolError::LineTooLong { .. } => ErrorCode::LineTooLong,
            ProtocolError::BadEncoding => ErrorCode::BadEncoding,
            ProtocolError::ServerFull { .. } => ErrorCode::ServerFull,
            ProtocolError::TooManyConnections { .. } | ProtocolError::ConnectingTooOften { .. } => {
                ErrorCode::TooManyConnections
            }
            ProtocolError::BadRoom(_) => ErrorCode::BadRoom,
            ProtocolError::NoSuchRoom(_) => ErrorCode::NoSuchRoom,
            ProtocolError::NotInRoom(_) => ErrorCode::NotInRoom,
            ProtocolError::AlreadyInRoom(_) => ErrorCode::AlreadyInRoom,
            ProtocolError::BadKey(_) => ErrorCode::BadKey,
            ProtocolError::InviteOnly(_) => ErrorCode::InviteOnly,
            ProtocolError::NotOwner(_) => ErrorCode::NotOwner,
            ProtocolError::TooManyRooms { .. } => ErrorCode::TooManyRooms,
            ProtocolError::RoomFull { .. } => ErrorCode::RoomFull,
            ProtocolError::NoMoreRooms { .. } => ErrorCode::NoMoreRooms,
            ProtocolError::TooLong { .. } => ErrorCode::TooLong,
            ProtocolError::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            ProtocolError::BadHistory { .. } => ErrorCode::BadHistory,
            ProtocolError::WeakPassword(_) => ErrorCode::WeakPassword,
            ProtocolError::NickRegistered(_) => ErrorCode::NickRegistered,
            ProtocolError::BadLogin => ErrorCode::BadLogin,
            ProtocolError::TooManyLogins { .. } => ErrorCode::TooManyAttempts,
            ProtocolError::LoginRequired => ErrorCode::LoginRequired,
            ProtocolError::ServerBusy => ErrorCode::ServerBusy,
            ProtocolError::MailboxFull { .. } => ErrorCode::MailboxFull,
            ProtocolError::BadFileName(_) => ErrorCode::BadFileName,
            ProtocolError::FileTooLarge { .. } => ErrorCode::FileTooLarge,
            ProtocolError::Quota { .. } | ProtocolError::UploadsWaiting { .. } => ErrorCode::Quota,
            ProtocolError::NoFiles => ErrorCode::NoFiles,
            ProtocolError::TlsRequired => ErrorCode::TlsRequired,
            ProtocolError::Unavailable(_) => ErrorCode::Unavailable,
        }
    }
}

/// Lets the parsers use `?` on [`Nick::parse`].
impl From<NickFault> for ProtocolError {
    fn from(fault: NickFault) -> ProtocolError {
        ProtocolError::BadNick(fault)
    }
}

/// Lets the parsers use `?` on [`Room::parse`].
impl From<BadRoomName> for ProtocolError {
    fn from(BadRoomName(text): BadRoomName) -> ProtocolError {
        ProtocolError::BadRoom(text)
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::NotRegistered => f.write_str("choose a nick first: NICK <nick>"),
            ProtocolError::NickTaken(nick) => write!(f, "nick {nick} is already in use"),
            ProtocolError::BadNick(fault) => fault.fmt(f),
            ProtocolError::NoSuchNick(nick) => write!(f, "no one called {} is online", Echo(nick)),
            ProtocolError::UnknownCommand(word) => {
                write!(f, "unknown command {}; try HELP", Echo(word))
            }
            ProtocolError::NoSuchCommand(word) => {
                write!(f, "no command {}; HELP lists them", Echo(word))
            }
            ProtocolError::MissingArgument {
                command,
                needs,
                after,
            } => {
                let command = command.name();
                match after {
                    Some(after) => write!(f, "{command} needs {needs} after {}", Echo(after))?,
                    None => write!(f, "{command} needs {needs}")?,
                }
                write!(f, "; try HELP {command}")
            }
            ProtocolError::BadArgument {
                command,
                takes,
                got,
            } => write!(f, "{} takes {takes}, not \"{}\"", command.name(), Echo(got)),
            ProtocolError::BadCap(name) => {
                write!(f, "no capability called {}; there are ", Echo(name))?;
                for (i, cap) in Capability::ALL.iter().enumerate() {
                    let separator = match i {
                        0 => "",
                        i if i + 1 == Capability::ALL.len() => " and ",
                        _ => ", ",
                    };
                    write!(f, "{separator}{cap}")?;
                }
                Ok(())
            }
            ProtocolError::BadText { what, refused } => write!(
                f,
                "{what} has U+{:04X} ({}) at character {}; control characters, line separators \
                 and bidirectional controls are not allowed",
                u32::from(refused.found),
                refused.kind(),
                refused.at
            ),
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
            ProtocolError::ConnectingTooOften { per_second } => write!(
                f,
                "connecting too often from your address (at most {per_second} new connections \
                 a second); try again in a few seconds"
            ),
            ProtocolError::BadRoom(text) => bad_room(f, text),
            ProtocolError::NoSuchRoom(room) => write!(f, "no room called {}", Echo(room)),
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
            ProtocolError::NoMoreRooms { max } => write!(
                f,
                "the server has {max} rooms, the most it allows; join one of them (ROOMS lists them)"
            ),
            ProtocolError::TooLong { what, max, got } => {
                write!(f, "{what} has at most {max} bytes, not {got}")
            }
            ProtocolError::TooManyAttempts { wait_secs } => {
                write!(f, "too many wrong keys; try again in {wait_secs} s")
            }
            ProtocolError::BadHistory { expected, got } => {
                match got {
                    Some(got) => write!(f, "HISTORY takes {expected}, not \"{}\"", Echo(got))?,
                    None => write!(f, "HISTORY needs {expected}")?,
                }
                f.write_str("; try HELP HISTORY")
            }
            ProtocolError::WeakPassword(fault) => fault.fmt(f),
            ProtocolError::NickRegistered(nick) => {
                write!(f, "{nick} is registered; LOGIN {nick} <password>")
            }
            ProtocolError::BadLogin => f.write_str("wrong nick or password"),
            ProtocolError::TooManyLogins { wait_secs } => {
                write!(f, "too many failed logins; try again in {wait_secs} s")
            }
            ProtocolError::LoginRequired => f.write_str(
                "only a logged-in account can do that; LOGIN <nick> <password>, or REGISTER \
                 <password> to make your nick one",
            ),
            ProtocolError::ServerBusy => {
                f.write_str("the server is busy checking passwords; try again in a few seconds")
            }
            ProtocolError::MailboxFull { nick, lines } => write!(
                f,
                "{nick} is offline and has {lines} messages waiting, the most kept; try later"
            ),
            ProtocolError::BadFileName(fault) => fault.fmt(f),
            ProtocolError::FileTooLarge { size, max } => write!(
                f,
                "a file has at most {max} bytes on this server, not {size}"
            ),
            ProtocolError::Quota { free } => write!(
                f,
                "the server has room for {free} more bytes of files now; try a smaller file, or \
                 later"
            ),
            ProtocolError::UploadsWaiting { max } => write!(
                f,
                "{max} of your uploads wait for their bytes already; send those first"
            ),
            ProtocolError::NoFiles => {
                f.write_str("this server takes no files: its web listener is off")
            }
            ProtocolError::TlsRequired => f.write_str(
                "passwords only over TLS: connect to the TLS port (or the web page over \
                 https), and change this password if it was a real one",
            ),
            ProtocolError::Unavailable(what) => {
                write!(f, "the chat's cluster cannot be reached: {what}; try again")
            }
        }
    }
}

impl fmt::Display for NickFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NickFault::Empty => f.write_str("a nick cannot be empty"),
            NickFault::TooLong => write!(f, "a nick has at most {MAX_NICK_LEN} characters"),
            NickFault::FirstNotLetter => f.write_str("a nick starts with a letter"),
            NickFault::BadCharacter => f.write_str("a nick has only letters, digits, '_' and '-'"),
        }
    }
}

impl fmt::Display for PasswordFault {
    /// The rule, then what is wrong; never the password itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            PasswordFault::TooShort => "this one is too short",
            PasswordFault::TooLong => "this one is too long",
            PasswordFault::HasSpace => "this one has a space",
        };
        write!(
            f,
            "a password has {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} bytes and no spaces; {what}"
        )
    }
}

impl fmt::Display for BadRoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bad_room(f, &self.0)
    }
}

fn bad_room(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    write!(
        f,
        "bad room name {}; a room name is # then 1 to {MAX_ROOM_LEN} letters, digits, '_' or '-'",
        Echo(text)
    )
}

/// Client input quoted back in an error text: at most `MAX_ECHO` characters, control
/// characters (TAB too) and whatever else the text rule refuses shown as `?`, so they cannot
/// garble the client's terminal or reorder its line.
struct Echo<'a>(&'a str);

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        self.0.chars().take(MAX_ECHO).try_for_each(|c| {
            let shown = if c.is_control() || text::is_refused(c) {
                '?'
            } else {
                c
            };
            f.write_char(shown)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ProtocolError::NoSuchCommand("X".repeat(5000)),
            ProtocolError::BadCap("x".repeat(5000)),
            ProtocolError::BadArgument {
                command: CommandWord::Private,
                takes: "on or off",
                got: "x".repeat(5000),
            },
            ProtocolError::MissingArgument {
                command: CommandWord::Invite,
                needs: "a room",
                after: Some("x".repeat(5000)),
            },
        ] {
            let text = error.to_string();
            assert!(text.len() < 130, "{text}");
        }
        let text = ProtocolError::NoSuchNick("a\u{202e}b\u{2028}".to_owned()).to_string();
        assert!(text.contains("a?b?"), "{text:?}");
        for error in [
            ProtocolError::BadRoom("#a\tb\n\u{1b}".to_owned()),
            ProtocolError::NoSuchRoom("#a\tb\n\u{1b}".to_owned()),
            ProtocolError::NoSuchCommand("a\tb\n\u{1b}".to_owned()),
            ProtocolError::BadCap("a\tb\n\u{1b}".to_owned()),
        ] {
            let text = error.to_string();
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
    }

    #[test]
    fn issue_13_a_refused_text_names_the_character_and_its_place() {
        let error = ProtocolError::BadText {
            what: "the topic",
            refused: text::find_refused("hi \u{1b}]0;x").unwrap(),
        };
        assert_eq!(error.code(), ErrorCode::BadText);
        assert_eq!(
            error.to_string(),
            "the topic has U+001B (a control character) at character 4; control characters, \
             line separators and bidirectional controls are not allowed"
        );
        let error = ProtocolError::BadText {
            what: "the text",
            refused: text::find_refused("été\u{2028}").unwrap(),
        };
        assert!(
            error
                .to_string()
                .starts_with("the text has U+2028 (a line separator) at character 4;"),
            "{error}"
        );
    }

    #[test]
    fn a_refused_name_reads_as_the_error_it_becomes() {
        let too_long = "a".repeat(MAX_NICK_LEN + 1);
        for (text, why) in [
            ("", "a nick cannot be empty"),
            (too_long.as_str(), "a nick has at most 32 characters"),
            ("9lives", "a nick starts with a letter"),
            ("a b", "a nick has only letters, digits, '_' and '-'"),
        ] {
            let fault = Nick::parse(text).unwrap_err();
            assert_eq!(fault.to_string(), why);
            assert_eq!(ProtocolError::from(fault).to_string(), why);
        }
        for text in ["chat", "#", "#a\tb"] {
            let bad = Room::parse(text).unwrap_err();
            assert_eq!(
                bad.to_string(),
                ProtocolError::BadRoom(text.to_owned()).to_string()
            );
            assert_eq!(
                ProtocolError::from(bad),
                ProtocolError::BadRoom(text.to_owned())
            );
        }
    }
}
