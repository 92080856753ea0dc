//! What the user typed on the input line: plain text or one of the client's `/commands`.
//!
//! In scope: splitting the line, checking nicks and room names with the protocol's types, and
//! the usage texts. Out of scope: what a command does in a given tab (`app`) and the wire
//! spelling (`protocol`): this module never builds a protocol line. Pure.

use chatd_proto::{Nick, Room};

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
}

/// The client's commands: synopsis and what it does, for `/help`, usage errors, Tab
/// completion and the README.
pub const COMMANDS: [(&str, &str); 15] = [
    (
        "/msg NICK|#room TEXT",
        "send a direct message (opens a tab) or to a room",
    ),
    ("/r TEXT", "reply to the last person who messaged you"),
    ("/join #room [key]", "join or create a room (opens a tab)"),
    (
        "/part [#room] [reason]",
        "leave a room (default: this tab's)",
    ),
    ("/topic [#room] [text]", "show or set a room's topic"),
    ("/rooms", "list the rooms you can see"),
    ("/invite NICK [#room]", "let someone into a room once"),
    (
        "/key [#room] [key]",
        "owner: set the room's key; no key clears it",
    ),
    (
        "/private [#room] on|off",
        "owner: make a room invite-only or not",
    ),
    ("/who [#room]", "list who is online, or in a room"),
    ("/nick NAME", "change your nick"),
    ("/close", "close this tab (parts a room)"),
    ("/clear", "clear this tab's scrollback"),
    ("/help", "this text"),
    ("/quit [reason]", "leave"),
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
    COMMANDS.iter().map(|(synopsis, _)| name_of(synopsis))
}

/// `/help`'s lines about the commands, aligned.
pub fn help_lines() -> impl Iterator<Item = String> {
    COMMANDS
        .iter()
        .map(|(synopsis, what)| format!("{synopsis:<24} {what}"))
}

fn usage(command: &str) -> String {
    let synopsis = COMMANDS
        .iter()
        .find(|(synopsis, _)| name_of(synopsis) == command)
        .map_or(command, |(synopsis, _)| synopsis);
    format!("usage: {synopsis}")
}

fn nick(text: &str) -> Result<Nick, String> {
    Nick::parse(text).map_err(|e| format!("{text:?} is not a nick: {e}"))
}

fn room(text: &str) -> Result<Room, String> {
    Room::parse(text).map_err(|e| e.to_string())
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
        return Ok(Some(Input::Text(line)));
    };
    let (name, rest) = word(command_line);
    let name = name.to_ascii_lowercase();
    let command = match name.as_str() {
        "msg" | "m" | "query" => {
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
        "r" | "reply" => {
            if rest.trim().is_empty() {
                return Err(usage("/r"));
            }
            UserCommand::Reply { text: rest }
        }
        "nick" => {
            let name = rest.trim_end_matches(' ');
            if name.is_empty() {
                return Err(usage("/nick"));
            }
            UserCommand::Nick(nick(name)?)
        }
        "who" | "names" => {
            let (first, _) = word(rest);
            UserCommand::Who(if first.is_empty() {
                None
            } else {
                Some(room(first)?)
            })
        }
        "quit" | "exit" => UserCommand::Quit {
            reason: optional(rest),
        },
        "help" => UserCommand::Help,
        "join" | "j" => {
            let (name, key) = word(rest);
            if name.is_empty() {
                return Err(usage("/join"));
            }
            UserCommand::Join {
                room: room(name)?,
                key: optional(key),
            }
        }
        "part" | "leave" => {
            let (room, reason) = leading_room(rest)?;
            UserCommand::Part {
                room,
                reason: optional(reason),
            }
        }
        "topic" => {
            let (room, text) = leading_room(rest)?;
            UserCommand::Topic {
                room,
                text: optional(text),
            }
        }
        "rooms" | "list" => UserCommand::Rooms,
        "invite" => {
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
        "key" => {
            let (room, key) = leading_room(rest)?;
            UserCommand::Key {
                room,
                key: optional(key),
            }
        }
        "private" => {
            let (room, switch) = leading_room(rest)?;
            let on = match switch.trim().to_ascii_lowercase().as_str() {
                "on" => true,
                "off" => false,
                _ => return Err(usage("/private")),
            };
            UserCommand::Private { room, on }
        }
        "close" | "wc" => UserCommand::Close,
        "clear" => UserCommand::Clear,
        _ => {
            return Err(format!(
                "unknown command /{name}; /help lists them (//text sends text starting with /)"
            ));
        }
    };
    Ok(Some(Input::Command(command)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expected: Result<Option<Input<'_>>, &str>) {
        let got = parse(line);
        match expected {
            Ok(input) => assert_eq!(got, Ok(input), "{line}"),
            Err(start) => {
                let error = got.expect_err(line);
                assert!(error.starts_with(start), "{line}: {error}");
            }
        }
    }

    fn command(c: UserCommand<'_>) -> Result<Option<Input<'_>>, &str> {
        Ok(Some(Input::Command(c)))
    }

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    fn room(text: &str) -> Room {
        Room::parse(text).unwrap()
    }

    #[test]
    fn text_blank_and_escaped_lines() {
        check("hello  there ", Ok(Some(Input::Text("hello  there "))));
        check("   ", Ok(None));
        check("", Ok(None));
        check("//not a command", Ok(Some(Input::Text("/not a command"))));
    }

    #[test]
    fn every_command() {
        let msg = |target, text| command(UserCommand::Msg { target, text });
        check(
            "/msg bob hi  there",
            msg(Target::Nick(nick("bob")), "hi  there"),
        );
        check("/MSG   bob hi", msg(Target::Nick(nick("bob")), "hi"));
        check("/m #rust hi", msg(Target::Room(room("#rust")), "hi"));
        check("/query bob hi", msg(Target::Nick(nick("bob")), "hi"));
        check("/r yes", command(UserCommand::Reply { text: "yes" }));
        check("/reply yes", command(UserCommand::Reply { text: "yes" }));
        check("/nick Bob2", command(UserCommand::Nick(nick("Bob2"))));
        check("/who", command(UserCommand::Who(None)));
        check("/who #a extra", command(UserCommand::Who(Some(room("#a")))));
        check("/names #a", command(UserCommand::Who(Some(room("#a")))));
        check("/quit", command(UserCommand::Quit { reason: None }));
        check(
            "/quit  gone  fishing",
            command(UserCommand::Quit {
                reason: Some("gone  fishing"),
            }),
        );
        check("/exit", command(UserCommand::Quit { reason: None }));
        check("/help", command(UserCommand::Help));
        check(
            "/join #a",
            command(UserCommand::Join {
                room: room("#a"),
                key: None,
            }),
        );
        check(
            "/j #a k y",
            command(UserCommand::Join {
                room: room("#a"),
                key: Some("k y"),
            }),
        );
        check(
            "/part",
            command(UserCommand::Part {
                room: None,
                reason: None,
            }),
        );
        check(
            "/part bye",
            command(UserCommand::Part {
                room: None,
                reason: Some("bye"),
            }),
        );
        check(
            "/part #a bye",
            command(UserCommand::Part {
                room: Some(room("#a")),
                reason: Some("bye"),
            }),
        );
        check(
            "/topic",
            command(UserCommand::Topic {
                room: None,
                text: None,
            }),
        );
        check(
            "/topic #a",
            command(UserCommand::Topic {
                room: Some(room("#a")),
                text: None,
            }),
        );
        check(
            "/topic new one",
            command(UserCommand::Topic {
                room: None,
                text: Some("new one"),
            }),
        );
        check(
            "/topic #a t",
            command(UserCommand::Topic {
                room: Some(room("#a")),
                text: Some("t"),
            }),
        );
        check("/rooms", command(UserCommand::Rooms));
        check("/list", command(UserCommand::Rooms));
        check(
            "/invite bob",
            command(UserCommand::Invite {
                nick: nick("bob"),
                room: None,
            }),
        );
        check(
            "/invite bob #a",
            command(UserCommand::Invite {
                nick: nick("bob"),
                room: Some(room("#a")),
            }),
        );
        check(
            "/key",
            command(UserCommand::Key {
                room: None,
                key: None,
            }),
        );
        check(
            "/key k",
            command(UserCommand::Key {
                room: None,
                key: Some("k"),
            }),
        );
        check(
            "/key #a k",
            command(UserCommand::Key {
                room: Some(room("#a")),
                key: Some("k"),
            }),
        );
        check(
            "/private ON",
            command(UserCommand::Private {
                room: None,
                on: true,
            }),
        );
        check(
            "/private #a off",
            command(UserCommand::Private {
                room: Some(room("#a")),
                on: false,
            }),
        );
        check("/close", command(UserCommand::Close));
        check("/clear", command(UserCommand::Clear));
    }

    #[test]
    fn mistakes_are_explained() {
        check("/msg", Err("usage: /msg NICK|#room TEXT"));
        check("/msg bob   ", Err("usage: /msg"));
        check("/msg 9 hi", Err("\"9\" is not a nick"));
        check("/msg #a.b hi", Err("bad room name #a.b"));
        check("/r", Err("usage: /r TEXT"));
        check("/nick", Err("usage: /nick NAME"));
        check("/nick two words", Err("\"two words\" is not a nick"));
        check("/who nope", Err("bad room name nope"));
        check("/join", Err("usage: /join"));
        check("/join nope", Err("bad room name"));
        check("/part #", Err("bad room name #"));
        check("/invite", Err("usage: /invite"));
        check("/invite bob nope", Err("bad room name"));
        check("/private", Err("usage: /private"));
        check("/private #a maybe", Err("usage: /private"));
        check("/frob", Err("unknown command /frob"));
        check("/", Err("unknown command /"));
    }

    #[test]
    fn every_command_has_a_usage_line() {
        for name in names() {
            assert!(name.starts_with('/'), "{name}");
            assert!(usage(name).starts_with(&format!("usage: {name}")));
        }
        assert_eq!(usage("/part"), "usage: /part [#room] [reason]");
        assert!(help_lines().all(|line| line.len() > 26));
    }
}
