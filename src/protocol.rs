//! The chatd wire protocol, v1: commands a client sends, replies the server sends, the error
//! codes, and the `Nick` type.
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
        }
    }

    /// Every code the server can send, for documentation checks.
    pub const ALL_CODES: [&'static str; 9] = [
        "NOT_REGISTERED",
        "NICK_TAKEN",
        "BAD_NICK",
        "NO_SUCH_NICK",
        "UNKNOWN_COMMAND",
        "MISSING_ARGUMENT",
        "LINE_TOO_LONG",
        "BAD_ENCODING",
        "SERVER_FULL",
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
    Msg { to: Nick, text: &'a str },
    All { text: &'a str },
    Who,
    Ping { token: Option<&'a str> },
    Quit { reason: Option<&'a str> },
    Help,
}

/// Whether a line is a command refused with `NOT_REGISTERED` before `NICK` (`MSG`, `ALL`,
/// `WHO`), judged by its command word alone: before registration that error comes first,
/// whatever is wrong with the arguments.
pub fn needs_registration(line: &str) -> bool {
    let (word, _) = split_word(line.trim_start_matches(' '));
    ["MSG", "ALL", "WHO"]
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
    let command = if word.eq_ignore_ascii_case("NICK") {
        Command::Nick(Nick::parse(required(rest, "NICK")?)?)
    } else if word.eq_ignore_ascii_case("MSG") {
        let (target, text) = split_word(required(rest, "MSG")?);
        let text = required(text, "MSG")?;
        let to = Nick::parse(target).map_err(|_| ProtocolError::NoSuchNick(target.to_owned()))?;
        Command::Msg { to, text }
    } else if word.eq_ignore_ascii_case("ALL") {
        Command::All {
            text: required(rest, "ALL")?,
        }
    } else if word.eq_ignore_ascii_case("WHO") {
        Command::Who
    } else if word.eq_ignore_ascii_case("PING") {
        Command::Ping {
            token: optional(rest),
        }
    } else if word.eq_ignore_ascii_case("QUIT") {
        Command::Quit {
            reason: optional(rest),
        }
    } else if word.eq_ignore_ascii_case("HELP") {
        Command::Help
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
            Command::Quit { reason } => with_tail(f, "QUIT", *reason),
            Command::Help => f.write_str("HELP"),
        }
    }
}

fn with_tail(f: &mut fmt::Formatter<'_>, word: &str, tail: Option<&str>) -> fmt::Result {
    match tail {
        Some(tail) => write!(f, "{word} {tail}"),
        None => f.write_str(word),
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
        let reply = match word {
            "HELLO" => Reply::Hello {
                text: rest.to_owned(),
            },
            "OK" => match split_word(rest) {
                ("NICK", nick_text) => Reply::OkNick(nick(nick_text)?),
                _ => return Err(ProtocolError::UnknownCommand(line.to_owned())),
            },
            "JOIN" => Reply::Join(nick(rest)?),
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
            // A bare `WHO` is the empty list, as `Display` spells it. The server never sends
            // one (a registered asker is on its own list), but without this arm `Who(vec![])`
            // did not read back as itself: `"".split(' ')` yields one empty "nick".
            "WHO" if rest.is_empty() => Reply::Who(Vec::new()),
            "WHO" => Reply::Who(rest.split(' ').map(nick).collect::<Result<_, _>>()?),
            "END" => match rest {
                "WHO" => Reply::EndWho,
                "HELP" => Reply::EndHelp,
                _ => return Err(ProtocolError::UnknownCommand(line.to_owned())),
            },
            "PONG" => Reply::Pong {
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
    pub fn who_list(mut nicks: Vec<Nick>) -> Vec<Reply> {
        nicks.sort_by_cached_key(Nick::key);
        let mut replies = Vec::new();
        let mut line: Vec<Nick> = Vec::new();
        // "WHO" plus "\n"; each nick adds a space and itself.
        let mut line_len = "WHO\n".len();
        for nick in nicks {
            let added = 1 + nick.as_str().len();
            if !line.is_empty() && line_len + added > MAX_WHO_LINE {
                replies.push(Reply::Who(std::mem::take(&mut line)));
                line_len = "WHO\n".len();
            }
            line_len += added;
            line.push(nick);
        }
        if !line.is_empty() {
            replies.push(Reply::Who(line));
        }
        replies.push(Reply::EndWho);
        replies
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
        const LINES: [&str; 8] = [
            "NICK <nick>        choose or change your nick (letters, digits, _ and -)",
            "MSG <nick> <text>  send a private message",
            "ALL <text>         send to everyone",
            "WHO                list who is online",
            "PING [token]       the server answers PONG [token]",
            "QUIT [reason]      leave",
            "HELP               this text",
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
            Reply::Bye { reason } => with_tail(f, "BYE", reason.as_deref()),
            Reply::Quit { nick, reason } => match reason {
                Some(reason) => write!(f, "QUIT {nick} {reason}"),
                None => write!(f, "QUIT {nick}"),
            },
            Reply::Help { text } => write!(f, "HELP {text}"),
            Reply::EndHelp => f.write_str("END HELP"),
            Reply::Err { code, text } => write!(f, "ERR {code} {text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
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
        for line in ["MSG", "msg 1abc hi", "  ALL", "who", "WHO x"] {
            assert!(needs_registration(line), "{line}");
        }
        for line in ["NICK a", "PING", "QUIT", "HELP", "MSGX", "", "FROB"] {
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
            Command::Quit { reason: None },
            Command::Quit {
                reason: Some("bye now"),
            },
            Command::Help,
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
    fn help_ends_with_end_help() {
        let help = Reply::help();
        assert!(help.len() > 5);
        assert_eq!(help.last(), Some(&Reply::EndHelp));
    }
}
