//! What Enter does with the input line: plain text goes to the current tab's room or
//! person, a `/command` (parsed by `crate::commands`) is run: most become one protocol line,
//! some act locally (`/clear`, `/close`, `/help`, `/ignore`); a server command word typed
//! alone (`HELP`) shows the help instead of going to everyone. `/me`, `/away` and `/topic`
//! without a text are the extensions' (`extensions`); `/send` and `/save` are `files`'; the
//! account commands are `login`'s, and a line typed with one is shown with `***` in place
//! of the password.
//! Sending text to a given tab ([`say_in`]) is shared with the paste.
//!
//! Out of scope: what the server answers (`replies`); the bookkeeping of `/nick` (`nick`);
//! parsing the line (`crate::commands`).

use chrono::NaiveTime;

use super::extensions::{act_in, ask_topic, away};
use super::files::{save, send_file};
use super::help::help;
use super::login;
use super::nick::ask_for_nick;
use super::state::{App, Conn, Effect, WhoFor, can_send, send, send_text};
use super::tab::{Body, TabKind};
use crate::commands::{self, Input, Target, UserCommand};
use chatd_proto::{Command, Nick, Room};

/// Enter: plain text to the current tab's room or person, or a `/command`.
pub(super) fn submit(app: &mut App, line: &str, now: NaiveTime, effects: &mut Vec<Effect>) {
    match commands::parse(line) {
        Ok(None) => {}
        Ok(Some(Input::Text(text))) => {
            say_in(app, app.current, text, now, effects);
        }
        Ok(Some(Input::Command(command))) => {
            if matches!(
                command,
                UserCommand::Register(_)
                    | UserCommand::Login { .. }
                    | UserCommand::Password { .. }
                    | UserCommand::Unregister(_)
            ) {
                // What was typed, for the record, but never the password.
                app.info(now, commands::redacted(line).into_owned());
            }
            run(app, command, now, effects);
        }
        Ok(Some(Input::ServerWord { word, command })) => {
            // The server's greeting tells `nc` users to type HELP; here it would have gone
            // to everyone in the lobby (issue 12).
            help(app, now);
            app.info(
                now,
                format!(
                    "{word} is a command of the server's protocol (for nc); in chat, commands \
                     start with / ({command}); /say {word} sends it as a message"
                ),
            );
        }
        Err(message) => app.error(now, message),
    }
}

/// Text for tab `index`: its room, its person, or everyone from the lobby. Returns whether it
/// was sent.
pub(super) fn say_in(
    app: &mut App,
    index: usize,
    text: &str,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) -> bool {
    match app.tabs[index].kind.clone() {
        TabKind::Lobby => {
            let sent = can_send(app, now) && send_text(app, effects, &Command::All { text }, now);
            if sent {
                own_line(app, index, text, false, now);
            }
            sent
        }
        TabKind::Room(room) => {
            if !app.tabs[index].joined {
                app.error(now, format!("you are not in {room}: /join {room}"));
                return false;
            }
            let sent = can_send(app, now)
                && send_text(app, effects, &Command::MsgRoom { room, text }, now);
            if sent {
                own_line(app, index, text, false, now);
            }
            sent
        }
        TabKind::Direct(to) => direct(app, to, text, now, effects),
    }
}

fn own_line(app: &mut App, index: usize, text: &str, direct: bool, now: NaiveTime) {
    let from = app.nick.clone();
    app.add(index, now, Body::message(from, text, direct, true));
}

/// A direct message: sent, shown in the person's tab, which is opened and shown. Returns
/// whether it was sent.
fn direct(app: &mut App, to: Nick, text: &str, now: NaiveTime, effects: &mut Vec<Effect>) -> bool {
    let to_send = Command::Msg {
        to: to.clone(),
        text,
    };
    if !(can_send(app, now) && send_text(app, effects, &to_send, now)) {
        return false;
    }
    let index = app.open(TabKind::Direct(to));
    app.switch_to(index);
    own_line(app, index, text, true, now);
    true
}

/// `/quit` or Ctrl-C: `QUIT` and wait for `BYE` (a few ticks at most), or leave at once
/// when there is no connection to say goodbye on.
pub(super) fn quit(app: &mut App, reason: Option<&str>, effects: &mut Vec<Effect>) {
    if app.online() || app.conn == Conn::Registering {
        send(effects, &Command::Quit { reason });
        app.quitting = Some(0);
    } else {
        app.conn = Conn::Closed;
        effects.push(Effect::Exit);
    }
}

/// The room a command names, or the current tab's, when a line can be sent now.
fn room_to_send(app: &mut App, room: Option<Room>, usage: &str, now: NaiveTime) -> Option<Room> {
    room_or_current(app, room, usage, now).filter(|_| can_send(app, now))
}

/// The room a command names, or the current tab's.
fn room_or_current(app: &mut App, room: Option<Room>, usage: &str, now: NaiveTime) -> Option<Room> {
    let room = room.or_else(|| app.tab().room().cloned());
    if room.is_none() {
        app.error(now, format!("{usage} needs a #room outside a room tab"));
    }
    room
}

fn run(app: &mut App, command: UserCommand<'_>, now: NaiveTime, effects: &mut Vec<Effect>) {
    match command {
        UserCommand::Help => help(app, now),
        UserCommand::Quit { reason } => quit(app, reason, effects),
        UserCommand::Clear => app.tabs[app.current].clear(),
        UserCommand::Close => match app.tab().kind.clone() {
            TabKind::Lobby => app.error(now, "the lobby tab stays open (/quit leaves)"),
            TabKind::Room(room) if app.tab().joined && app.online() => {
                send(effects, &Command::Part { room, reason: None });
            }
            _ => app.close(app.current),
        },
        UserCommand::Msg { target, text } => match target {
            Target::Nick(to) => {
                direct(app, to, text, now, effects);
            }
            Target::Room(room) => {
                let to_send = Command::MsgRoom {
                    room: room.clone(),
                    text,
                };
                if can_send(app, now) && send_text(app, effects, &to_send, now) {
                    if let Some(index) = app.room_tab(&room) {
                        app.switch_to(index);
                        own_line(app, index, text, false, now);
                    }
                }
            }
        },
        UserCommand::Reply { text } => match app.last_direct_from.clone() {
            Some(to) => {
                direct(app, to, text, now, effects);
            }
            None => app.error(now, "nobody has sent you a direct message yet"),
        },
        UserCommand::Say { text } => {
            say_in(app, app.current, text, now, effects);
        }
        UserCommand::Me { text } => act_in(app, app.current, text, now, effects),
        UserCommand::Send { path } => send_file(app, path, now, effects),
        UserCommand::Save { number, path } => save(app, number, path, now, effects),
        UserCommand::Away { text } => away(app, text, now, effects),
        UserCommand::Ignore(None) => {
            let text = if app.ignored.is_empty() {
                "you ignore nobody (/ignore NICK hides someone's messages)".to_owned()
            } else {
                let list: Vec<&str> = app.ignored.iter().map(Nick::as_str).collect();
                format!("ignored until you quit: {}", list.join(" "))
            };
            app.info(now, text);
        }
        UserCommand::Ignore(Some(nick)) => {
            let text = if app.ignore(&nick) {
                format!(
                    "ignoring {nick}: their messages are hidden until you quit (/unignore {nick})"
                )
            } else {
                format!("{nick} is ignored already (/unignore {nick})")
            };
            app.info(now, text);
        }
        UserCommand::Unignore(nick) => {
            let text = if app.unignore(&nick) {
                format!("{nick} is no longer ignored")
            } else {
                format!("{nick} was not ignored")
            };
            app.info(now, text);
        }
        UserCommand::Nick(wanted) => ask_for_nick(app, wanted, now, effects),
        // In a room tab a bare `/who` is that room's members, as in IRC clients.
        UserCommand::Who(room) => match room.or_else(|| app.tab().room().cloned()) {
            None => {
                if can_send(app, now) {
                    app.who_for.push_back(WhoFor::User);
                    send(effects, &Command::Who);
                }
            }
            Some(room) => {
                if can_send(app, now) {
                    app.room_who_for_user.insert(room.key());
                    send(effects, &Command::WhoRoom(room));
                }
            }
        },
        UserCommand::Join { room, key } => {
            if can_send(app, now) {
                app.joins_for_user
                    .insert(room.key(), key.map(str::to_owned));
                send(effects, &Command::Join { room, key });
            }
        }
        UserCommand::Part { room, reason } => {
            if let Some(room) = room_to_send(app, room, "/part", now) {
                send(effects, &Command::Part { room, reason });
            }
        }
        UserCommand::Topic { room, text: None } => {
            if let Some(room) = room_or_current(app, room, "/topic", now) {
                ask_topic(app, room, now, effects);
            }
        }
        UserCommand::Topic {
            room,
            text: Some(text),
        } => {
            if let Some(room) = room_to_send(app, room, "/topic", now) {
                send_text(app, effects, &Command::Topic { room, text }, now);
            }
        }
        UserCommand::Rooms => {
            if can_send(app, now) {
                send(effects, &Command::Rooms);
            }
        }
        UserCommand::Invite { nick, room } => {
            if let Some(room) = room_to_send(app, room, "/invite", now) {
                send(effects, &Command::Invite { nick, room });
            }
        }
        UserCommand::Key { room, key } => {
            if let Some(room) = room_to_send(app, room, "/key", now) {
                app.keys_sent.insert(room.key(), key.map(str::to_owned));
                send(effects, &Command::Key { room, key });
            }
        }
        UserCommand::Private { room, on } => {
            if let Some(room) = room_to_send(app, room, "/private", now) {
                send(effects, &Command::Private { room, on });
            }
        }
        UserCommand::Login { nick, password } => login::login(app, nick, password, now, effects),
        UserCommand::Register(password) => {
            if can_send(app, now) {
                login::register(app, password, effects);
            }
        }
        UserCommand::RegisterRoom(room) => {
            if can_send(app, now) {
                send(effects, &Command::RegisterRoom(room));
            }
        }
        UserCommand::Password { old, new } => {
            if can_send(app, now) {
                login::change_password(app, old, new, effects);
            }
        }
        UserCommand::Unregister(password) => {
            if can_send(app, now) {
                login::unregister(app, password, effects);
            }
        }
    }
}
