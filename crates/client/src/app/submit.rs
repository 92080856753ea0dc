//! What Enter does with the input line: plain text goes to the current tab's room or
//! person, a `/command` (parsed by `crate::commands`) is run: most become one protocol line,
//! some act locally (`/clear`, `/close`, `/help`, `/topic` without a text).
//!
//! Out of scope: what the server answers (`replies`); the bookkeeping of `/nick` (`nick`);
//! parsing the line (`crate::commands`).

use chrono::NaiveTime;

use super::help::help;
use super::nick::ask_for_nick;
use super::state::{App, Conn, Effect, WhoFor, can_send, send};
use super::tab::{Body, TabKind};
use crate::commands::{self, Input, Target, UserCommand};
use chatd_proto::{Command, Nick, Room};

/// Enter: plain text to the current tab's room or person, or a `/command`.
pub(super) fn submit(app: &mut App, line: &str, now: NaiveTime, effects: &mut Vec<Effect>) {
    match commands::parse(line) {
        Ok(None) => {}
        Ok(Some(Input::Text(text))) => say(app, text, now, effects),
        Ok(Some(Input::Command(command))) => run(app, command, now, effects),
        Err(message) => app.error(now, message),
    }
}

fn say(app: &mut App, text: &str, now: NaiveTime, effects: &mut Vec<Effect>) {
    match app.tab().kind.clone() {
        TabKind::Lobby => {
            if can_send(app, now) {
                send(effects, &Command::All { text });
                own_line(app, app.current, text, false, now);
            }
        }
        TabKind::Room(room) => {
            if !app.tab().joined {
                app.error(now, format!("you are not in {room}: /join {room}"));
            } else if can_send(app, now) {
                send(effects, &Command::MsgRoom { room, text });
                own_line(app, app.current, text, false, now);
            }
        }
        TabKind::Direct(to) => direct(app, to, text, now, effects),
    }
}

fn own_line(app: &mut App, index: usize, text: &str, direct: bool, now: NaiveTime) {
    let from = app.nick.clone();
    app.add(
        index,
        now,
        Body::Chat {
            from,
            text: text.to_owned(),
            direct,
            own: true,
        },
    );
}

/// A direct message: sent, shown in the person's tab, which is opened and shown.
fn direct(app: &mut App, to: Nick, text: &str, now: NaiveTime, effects: &mut Vec<Effect>) {
    if !can_send(app, now) {
        return;
    }
    send(
        effects,
        &Command::Msg {
            to: to.clone(),
            text,
        },
    );
    let index = app.open(TabKind::Direct(to));
    app.switch_to(index);
    own_line(app, index, text, true, now);
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
        UserCommand::Clear => {
            let tab = &mut app.tabs[app.current];
            tab.first_seq += tab.lines.len() as u64;
            tab.lines.clear();
            tab.scroll = 0;
            tab.below = 0;
            tab.read_marker = None;
        }
        UserCommand::Close => match app.tab().kind.clone() {
            TabKind::Lobby => app.error(now, "the lobby tab stays open (/quit leaves)"),
            TabKind::Room(room) if app.tab().joined && app.online() => {
                send(effects, &Command::Part { room, reason: None });
            }
            _ => app.close(app.current),
        },
        UserCommand::Msg { target, text } => match target {
            Target::Nick(to) => direct(app, to, text, now, effects),
            Target::Room(room) => {
                if can_send(app, now) {
                    send(
                        effects,
                        &Command::MsgRoom {
                            room: room.clone(),
                            text,
                        },
                    );
                    if let Some(index) = app.room_tab(&room) {
                        app.switch_to(index);
                        own_line(app, index, text, false, now);
                    }
                }
            }
        },
        UserCommand::Reply { text } => match app.last_direct_from.clone() {
            Some(to) => direct(app, to, text, now, effects),
            None => app.error(now, "nobody has sent you a direct message yet"),
        },
        UserCommand::Nick(wanted) => ask_for_nick(app, wanted, now, effects),
        UserCommand::Who(None) => {
            if can_send(app, now) {
                app.who_for.push_back(WhoFor::User);
                send(effects, &Command::Who);
            }
        }
        UserCommand::Who(Some(room)) => {
            if can_send(app, now) {
                app.room_who_for_user.insert(room.key());
                send(effects, &Command::WhoRoom(room));
            }
        }
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
                let topic = app.room_tab(&room).and_then(|i| app.tabs[i].topic.clone());
                match topic {
                    Some((setter, text)) => {
                        app.info(now, format!("topic of {room}: {text} (set by {setter})"));
                    }
                    None => app.info(now, format!("{room} has no topic")),
                }
            }
        }
        UserCommand::Topic {
            room,
            text: Some(text),
        } => {
            if let Some(room) = room_to_send(app, room, "/topic", now) {
                send(effects, &Command::Topic { room, text });
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
    }
}
