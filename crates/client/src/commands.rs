//! What the user typed on the input line: plain text or one of the client's `/commands`.
//!
//! In scope: splitting the line, checking nicks, room names and new passwords with the
//! protocol's types, the usage texts and aliases, noticing a server command word typed alone
//! by habit (`HELP`, which the server's greeting suggests to `nc` users), and the forms of a
//! line that carries a password which may be shown ([`redacted`], `/login alice ***`) or kept
//! in the input history ([`for_history`]); no message here ever quotes a password. Out of
//! scope: what a command does in a given tab (`app`) and the wire spelling (`protocol`):
//! this module never builds a protocol line. Pure.

use std::borrow::Cow;

use chatd_proto::{Nick, Password, Room};

/// A `/command` as the user meant it. Room arguments are optional where the current tab can
/// supply the room; `app` fills them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand<'a> {
    /// `/msg NICK|#room TEXT`.
    Msg { target: Target, text: &'a str },
    /// `/r TEXT`: to the last person who sent a direct message.
    Reply { text: &'a str },
    /// `/nick NAME`.
    Nick(Nick),
    /// `/who [#room]`.
    Who(Option<Room>),
    /// `/quit [reason]`.
    Quit { reason: Option<&'a str> },
    /// `/help`.
    Help,
    /// `/join #room [key]`.
    Join { room: Room, key: Option<&'a str> },
    /// `/part [#room] [reason]`.
    Part {
        room: Option<Room>,
        reason: Option<&'a str>,
    },
    /// `/topic [#room] [text]`: without a text, shows the topic.
    Topic {
        room: Option<Room>,
        text: Option<&'a str>,
    },
    /// `/rooms`.
    Rooms,
    /// `/invite NICK [#room]`.
    Invite { nick: Nick, room: Option<Room> },
    /// `/key [#room] [key]`: without a key, clears it.
    Key {
        room: Option<Room>,
        key: Option<&'a str>,
    },
    /// `/private [#room] on|off`.
    Private { room: Option<Room>, on: bool },
    /// `/close`: closes the current tab (a room tab parts the room).
    Close,
    /// `/clear`: empties the current tab's scrollback.
    Clear,
    /// `/say TEXT`: TEXT as a message to the current tab, whatever it looks like.
    Say { text: &'a str },
    /// `/me TEXT`: an action in the current tab (`* alice TEXT`).
    Me { text: &'a str },
    /// `/away [text]`: away with that text; alone, back.
    Away { text: Option<&'a str> },
    /// `/ignore [NICK]`: hide NICK's messages; alone, list who is ignored.
    Ignore(Option<Nick>),
    /// `/unignore NICK`.
    Unignore(Nick),
    /// `/register PASSWORD`: makes our nick an account; the password meets the rule.
    Register(Password<'a>),
    /// `/register #room`: keeps a room we own over restarts and while it is empty.
    RegisterRoom(Room),
    /// `/login NICK [PASSWORD]`: without the password, it is asked for, hidden.
    Login {
        nick: Nick,
        password: Option<Password<'a>>,
    },
    /// `/password OLD NEW`: the new password meets the rule.
    Password {
        old: Password<'a>,
        new: Password<'a>,
    },
    /// `/unregister PASSWORD`.
    Unregister(Password<'a>),
    /// `/send PATH`: a file to the current tab's room or person, or to everyone. The path
    /// is the rest of the line, spaces included.
    Send { path: &'a str },
    /// `/save N [PATH]`: file number N, in the current folder, or in folder PATH, or as
    /// file PATH.
    Save { number: u64, path: Option<&'a str> },
}

/// Who a `/msg` goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Nick(Nick),
    Room(Room),
}

/// One input line, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// Text for the current tab (`//text` sends `/text`).
    Text(&'a str),
    Command(UserCommand<'a>),
    /// A line that is only a server command word such as `HELP`, typed by habit from `nc`:
    /// not sent (in the lobby it would go to everyone), answered with the client's help.
    ServerWord {
        /// The word as typed.
        word: &'a str,
        /// The client's command for it (`/help`).
        command: &'static str,
    },
}

/// Server command words that people type alone by habit, and the client's command for each.
/// `HELP` first: the server's greeting says "type HELP for commands".
pub const SERVER_WORDS: [(&str, &str); 4] = [
    ("HELP", "/help"),
    ("WHO", "/who"),
    ("ROOMS", "/rooms"),
    ("QUIT", "/quit"),
];

/// One of the client's commands, for `/help`, usage errors, Tab completion and the README.
#[derive(Debug)]
pub struct CommandHelp {
    /// The command and its arguments; its first word is the command's name.
    pub synopsis: &'static str,
    /// Other names that do the same (`/query` for `/msg`), shown next to it by `/help`.
    pub aliases: &'static [&'static str],
    pub about: &'static str,
}

const fn command(
    synopsis: &'static str,
    aliases: &'static [&'static str],
    about: &'static str,
) -> CommandHelp {
    CommandHelp {
        synopsis,
        aliases,
        about,
    }
}

/// The client's commands. The parser accepts a name or alias only through this table, so
/// `/help` lists every alias there is.
pub const COMMANDS: [CommandHelp; 27] = [
    command(
        "/msg NICK|#room TEXT",
        &["/m", "/query"],
        "send a direct message (opens a tab) or to a room",
    ),
    command(
        "/r TEXT",
        &["/reply"],
        "reply to the last person who messaged you",
    ),
    command(
        "/say TEXT",
        &[],
        "send TEXT to this tab as it is, even /text or HELP",
    ),
    command(
        "/me TEXT",
        &[],
        "an action in this tab, shown as * yourname TEXT",
    ),
    command(
        "/join #room [key]",
        &["/j"],
        "join or create a room (opens a tab)",
    ),
    command(
        "/part [#room] [reason]",
        &["/leave"],
        "leave a room (default: this tab's)",
    ),
    command("/topic [#room] [text]", &[], "show or set a room's topic"),
    command("/rooms", &["/list"], "list the rooms you can see"),
    command("/invite NICK [#room]", &[], "let someone into a room once"),
    command(
        "/key [#room] [key]",
        &[],
        "owner: set the room's key; no key clears it",
    ),
    command(
        "/private [#room] on|off",
        &[],
        "owner: make a room invite-only or not",
    ),
    command(
        "/send PATH",
        &[],
        "send a file to this tab's room or person (lobby: everyone)",
    ),
    command(
        "/save N [PATH]",
        &[],
        "save file [N] here, or into folder PATH, or as PATH",
    ),
    command(
        "/who [#room]",
        &["/names"],
        "list this tab's room, or everyone online in the lobby",
    ),
    command("/nick NAME", &[], "change your nick"),
    command(
        "/register PASSWORD",
        &[],
        "make your nick an account (8 to 128 bytes, no spaces)",
    ),
    command(
        "/register #room",
        &[],
        "owner, logged in: keep a room when empty and over restarts",
    ),
    command(
        "/login NICK [PASSWORD]",
        &[],
        "log in to an account; no password: asked, hidden",
    ),
    command("/password OLD NEW", &[], "change your account's password"),
    command(
        "/unregister PASSWORD",
        &[],
        "delete your account (you keep the nick as a guest)",
    ),
    command(
        "/away [text]",
        &[],
        "mark yourself away: who writes to you is told; alone: back",
    ),
    command(
        "/ignore [NICK]",
        &[],
        "hide NICK's messages until you quit; alone: list",
    ),
    command("/unignore NICK", &[], "show NICK's messages again"),
    command("/close", &["/wc"], "close this tab (parts a room)"),
    command("/clear", &[], "clear this tab's scrollback"),
    command("/help", &[], "this text"),
    command("/quit [reason]", &["/exit"], "leave"),
];

/// Splits off the first space-separated word; the rest starts after the spaces that follow.
fn word(text: &str) -> (&str, &str) {
    let text = text.trim_start_matches(' ');
    match text.split_once(' ') {
        Some((first, rest)) => (first, rest.trim_start_matches(' ')),
        None => (text, ""),
    }
}

/// `None` for an empty or blank rest.
fn optional(rest: &str) -> Option<&str> {
    (!rest.trim().is_empty()).then_some(rest)
}

/// The command's name: the first word of its synopsis.
fn name_of(synopsis: &str) -> &str {
    synopsis.split(' ').next().unwrap_or(synopsis)
}

/// The names of the commands (`/msg`, ...), for Tab completion.
pub fn names() -> impl Iterator<Item = &'static str> {
    COMMANDS.iter().map(|c| name_of(c.synopsis))
}

/// `/help`'s lines about the commands, aligned, each with its aliases.
pub fn help_lines() -> impl Iterator<Item = String> {
    COMMANDS.iter().map(|c| {
        let line = format!("{:<24} {}", c.synopsis, c.about);
        if c.aliases.is_empty() {
            line
        } else {
            format!("{line} (also {})", c.aliases.join(", "))
        }
    })
}

fn usage(command: &str) -> String {
    let synopsis = COMMANDS
        .iter()
        .find(|c| name_of(c.synopsis) == command)
        .map_or(command, |c| c.synopsis);
    format!("usage: {synopsis}")
}

/// The command a typed name (without its `/`, any case) stands for: its own name or an alias.
fn command_named(typed: &str) -> Option<&'static str> {
    let is = |name: &str| name[1..].eq_ignore_ascii_case(typed);
    COMMANDS
        .iter()
        .find(|c| is(name_of(c.synopsis)) || c.aliases.iter().any(|alias| is(alias)))
        .map(|c| name_of(c.synopsis))
}

/// The server command word that `line` is, alone (spaces around it allowed, any case).
fn server_word(line: &str) -> Option<Input<'_>> {
    let word = line.trim_matches(' ');
    SERVER_WORDS
        .iter()
        .find(|(server, _)| server.eq_ignore_ascii_case(word))
        .map(|&(_, command)| Input::ServerWord { word, command })
}

fn nick(text: &str) -> Result<Nick, String> {
    Nick::parse(text).map_err(|e| format!("{text:?} is not a nick: {e}"))
}

fn room(text: &str) -> Result<Room, String> {
    Room::parse(text).map_err(|e| e.to_string())
}

/// A new password, held to the protocol's rule before it is sent; the message says what is
/// wrong without quoting it.
fn new_password(text: &str) -> Result<Password<'_>, String> {
    Password::new(text).map_err(|fault| format!("not sent: {fault}"))
}

/// The account command a line is, if it carries a password: its name and what follows it.
fn with_password(line: &str) -> Option<(&'static str, &str)> {
    let command_line = line.strip_prefix('/').filter(|l| !l.starts_with('/'))?;
    let (typed, rest) = word(command_line);
    let name = command_named(typed)?;
    matches!(name, "/register" | "/login" | "/password" | "/unregister").then_some((name, rest))
}

/// `line` as it may be shown: a command that carries a password has `***` in its place
/// (`/login alice ***`, `/password *** ***`); any other line is itself.
pub fn redacted(line: &str) -> Cow<'_, str> {
    let Some((name, rest)) = with_password(line) else {
        return Cow::Borrowed(line);
    };
    let (first, after) = word(rest);
    let shown = match name {
        "/login" if after.is_empty() => return Cow::Borrowed(line),
        "/login" => format!("{name} {first} ***"),
        "/password" => format!("{name} *** ***"),
        _ if rest.is_empty() => return Cow::Borrowed(line),
        _ => format!("{name} ***"),
    };
    Cow::Owned(shown)
}

/// What of `line` the input history may keep for Up: the line itself, `/login alice`
/// without its password (Enter then asks for it, hidden), nothing of the other commands
/// that carry one.
pub fn for_history(line: &str) -> Option<Cow<'_, str>> {
    match with_password(line) {
        None => Some(Cow::Borrowed(line)),
        Some(("/login", rest)) => Some(Cow::Owned(format!("/login {}", word(rest).0))),
        Some(_) => None,
    }
}

/// An optional leading room argument: a first word starting with `#` is a room.
fn leading_room(rest: &str) -> Result<(Option<Room>, &str), String> {
    let (first, after) = word(rest);
    if first.starts_with('#') {
        Ok((Some(room(first)?), after))
    } else {
        Ok((None, rest))
    }
}

/// Parses one input line. `Ok(None)` for a blank line; `Err` holds a message for the user
/// (usage, an unknown command, a bad nick or room).
pub fn parse(line: &str) -> Result<Option<Input<'_>>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    if line.starts_with("//") {
        return Ok(Some(Input::Text(&line[1..])));
    }
    let Some(command_line) = line.strip_prefix('/') else {
        return Ok(Some(server_word(line).unwrap_or(Input::Text(line))));
    };
    let (typed, rest) = word(command_line);
    let Some(name) = command_named(typed) else {
        return Err(format!(
            "unknown command /{}; /help lists them (//text sends text starting with /)",
            typed.to_ascii_lowercase()
        ));
    };
    let command = match name {
        "/msg" => {
            let (to, text) = word(rest);
            if to.is_empty() || text.trim().is_empty() {
                return Err(usage("/msg"));
            }
            let target = if to.starts_with('#') {
                Target::Room(room(to)?)
            } else {
                Target::Nick(nick(to)?)
            };
            UserCommand::Msg { target, text }
        }
        "/r" => {
            if rest.trim().is_empty() {
                return Err(usage("/r"));
            }
            UserCommand::Reply { text: rest }
        }
        "/nick" => {
            let name = rest.trim_end_matches(' ');
            if name.is_empty() {
                return Err(usage("/nick"));
            }
            UserCommand::Nick(nick(name)?)
        }
        "/who" => {
            let (first, _) = word(rest);
            UserCommand::Who(if first.is_empty() {
                None
            } else {
                Some(room(first)?)
            })
        }
        "/quit" => UserCommand::Quit {
            reason: optional(rest),
        },
        "/help" => UserCommand::Help,
        "/join" => {
            let (name, key) = word(rest);
            if name.is_empty() {
                return Err(usage("/join"));
            }
            UserCommand::Join {
                room: room(name)?,
                key: optional(key),
            }
        }
        "/part" => {
            let (room, reason) = leading_room(rest)?;
            UserCommand::Part {
                room,
                reason: optional(reason),
            }
        }
        "/topic" => {
            let (room, text) = leading_room(rest)?;
            UserCommand::Topic {
                room,
                text: optional(text),
            }
        }
        "/rooms" => UserCommand::Rooms,
        "/invite" => {
            let (who, after) = word(rest);
            if who.is_empty() {
                return Err(usage("/invite"));
            }
            let (first, _) = word(after);
            UserCommand::Invite {
                nick: nick(who)?,
                room: if first.is_empty() {
                    None
                } else {
                    Some(room(first)?)
                },
            }
        }
        "/key" => {
            let (room, key) = leading_room(rest)?;
            UserCommand::Key {
                room,
                key: optional(key),
            }
        }
        "/private" => {
            let (room, switch) = leading_room(rest)?;
            let on = match switch.trim().to_ascii_lowercase().as_str() {
                "on" => true,
                "off" => false,
                _ => return Err(usage("/private")),
            };
            UserCommand::Private { room, on }
        }
        "/close" => UserCommand::Close,
        "/clear" => UserCommand::Clear,
        "/say" => {
            if rest.trim().is_empty() {
                return Err(usage("/say"));
            }
            UserCommand::Say { text: rest }
        }
        "/me" => {
            if rest.trim().is_empty() {
                return Err(usage("/me"));
            }
            UserCommand::Me { text: rest }
        }
        "/away" => UserCommand::Away {
            text: optional(rest),
        },
        "/ignore" => {
            let (who, _) = word(rest);
            UserCommand::Ignore(if who.is_empty() {
                None
            } else {
                Some(nick(who)?)
            })
        }
        "/unignore" => {
            let (who, _) = word(rest);
            if who.is_empty() {
                return Err(usage("/unignore"));
            }
            UserCommand::Unignore(nick(who)?)
        }
        "/register" => {
            if rest.is_empty() {
                return Err(usage("/register"));
            }
            if rest.starts_with('#') {
                // `REGISTER #room` registers a room, so a password cannot start with `#`:
                // such a password is set with /password.
                let (room, after) = leading_room(rest)?;
                if !after.trim().is_empty() {
                    return Err(
                        "not sent: /register #room takes the room alone (a password given to \
                         /register cannot start with #; set such a one with /password)"
                            .to_owned(),
                    );
                }
                return Ok(Some(Input::Command(UserCommand::RegisterRoom(
                    room.expect("the word starts with #"),
                ))));
            }
            UserCommand::Register(new_password(rest)?)
        }
        "/login" => {
            let (who, password) = word(rest);
            if who.is_empty() {
                return Err(usage("/login"));
            }
            // Not quoted: whoever leaves out the nick types the password in its place.
            let nick = Nick::parse(who)
                .map_err(|_| format!("{}: the first word is not a nick", usage("/login")))?;
            UserCommand::Login {
                nick,
                password: optional(password).map(Password::given),
            }
        }
        "/password" => {
            let (old, new) = word(rest);
            if old.is_empty() || new.is_empty() {
                return Err(usage("/password"));
            }
            UserCommand::Password {
                old: Password::given(old),
                new: new_password(new)?,
            }
        }
        "/unregister" => {
            if rest.is_empty() {
                return Err(usage("/unregister"));
            }
            UserCommand::Unregister(Password::given(rest))
        }
        "/send" => {
            let path = rest.trim_end_matches(' ');
            if path.is_empty() {
                return Err(usage("/send"));
            }
            UserCommand::Send { path }
        }
        "/save" => {
            let (number, path) = word(rest);
            let Ok(number) = number.parse::<u64>() else {
                return Err(format!(
                    "{}: N is the number in [ ] before a file",
                    usage("/save")
                ));
            };
            UserCommand::Save {
                number,
                path: optional(path).map(|path| path.trim_end_matches(' ')),
            }
        }
        _ => unreachable!("{name} is in COMMANDS but not parsed"),
    };
    Ok(Some(Input::Command(command)))
}

#[cfg(test)]
mod tests;
