//! What the protocol's extensions do in the client (issue 12): `/me` and the `ME` lines,
//! `/away` and its answers, the notice that someone we wrote to is away (`AWAY`, shown once
//! per text and nick, see [`AWAY_NOTICE_REPEAT`]), a room's owner (`OWNER`) and the topic
//! asked for with `/topic` (`TOPIC #room` as a question) told apart from a change.
//!
//! With a server that lacks an extension ([`Caps`](super::Caps)) the client does what it
//! can: `/me` goes as a message starting `/me ` (which every client shows as an action), the
//! topic shown is the one the tab knows, and `/away` says the server lacks it.
//!
//! Out of scope: routing the user's commands and the server's lines here (`submit`,
//! `replies`); asking for the capabilities (`caps`); drawing the owner's `@` (`ui`).

use std::time::Duration;

use chrono::NaiveTime;

use super::state::{App, AwaySent, Effect, can_send, send, send_text};
use super::tab::{Body, TabKind};
use chatd_proto::{ACTION_PREFIX, Capability, Command, Nick, Room, Target};

/// The same away notice (same nick, same text) is shown again only after this long: someone
/// writing several lines to an away person is told once, and reminded when coming back to
/// the conversation later. A new text is shown at once.
pub const AWAY_NOTICE_REPEAT: Duration = Duration::from_secs(5 * 60);

/// `/me TEXT` in tab `index`: an action to its room, its person, or everyone from the lobby,
/// shown there as `* alice TEXT`. A server without `CAP actions` gets the message the same
/// action would have become, `/me TEXT`.
pub(super) fn act_in(
    app: &mut App,
    index: usize,
    text: &str,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) {
    let kind = app.tabs[index].kind.clone();
    if let TabKind::Room(room) = &kind {
        if !app.tabs[index].joined {
            app.error(now, format!("you are not in {room}: /join {room}"));
            return;
        }
    }
    if !can_send(app, now) {
        return;
    }
    let v1_text = format!("{ACTION_PREFIX}{text}");
    let command = match (&kind, app.caps.has(Capability::Actions)) {
        (TabKind::Lobby, true) => Command::Me {
            target: Target::Lobby,
            text,
        },
        (TabKind::Room(room), true) => Command::Me {
            target: Target::Room(room.clone()),
            text,
        },
        (TabKind::Direct(nick), true) => Command::Me {
            target: Target::Nick(nick.clone()),
            text,
        },
        (TabKind::Lobby, false) => Command::All { text: &v1_text },
        (TabKind::Room(room), false) => Command::MsgRoom {
            room: room.clone(),
            text: &v1_text,
        },
        (TabKind::Direct(nick), false) => Command::Msg {
            to: nick.clone(),
            text: &v1_text,
        },
    };
    if send_text(app, effects, &command, now) {
        let body = Body::Chat {
            from: app.nick.clone(),
            text: text.to_owned(),
            direct: matches!(kind, TabKind::Direct(_)),
            own: true,
            action: true,
        };
        app.add(index, now, body);
    }
}

/// `ME <target> <from> <text>`: an action, in the tab its message would go to.
pub(super) fn on_action(app: &mut App, target: Target, from: Nick, text: String, now: NaiveTime) {
    if app.ignores(&from) {
        return;
    }
    let (index, direct) = match target {
        Target::Lobby => (0, false),
        Target::Room(room) => {
            let index = app.open(TabKind::Room(room));
            app.tabs[index].joined = true;
            (index, false)
        }
        // A direct action names us as its target: it belongs in the sender's tab.
        Target::Nick(_) => {
            app.last_direct_from = Some(from.clone());
            (app.open(TabKind::Direct(from.clone())), true)
        }
    };
    let body = Body::Chat {
        from,
        text,
        direct,
        own: false,
        action: true,
    };
    app.add(index, now, body);
}

/// `/away TEXT` or `/away` (back).
pub(super) fn away(app: &mut App, text: Option<&str>, now: NaiveTime, effects: &mut Vec<Effect>) {
    if !can_send(app, now) {
        return;
    }
    if !app.caps.has(Capability::Away) {
        app.error(
            now,
            "this server does not know /away (it is older than this client): nothing was sent",
        );
        return;
    }
    if send_text(app, effects, &Command::Away { text }, now) {
        app.aways_sent.push_back(AwaySent {
            text: text.map(str::to_owned),
            tell: true,
        });
    }
}

/// After a reconnect: the server forgot that we were away; say it again, quietly.
pub(super) fn mark_away_again(app: &mut App, now: NaiveTime, effects: &mut Vec<Effect>) {
    let Some(text) = app.away.clone() else {
        return;
    };
    if !app.caps.has(Capability::Away) {
        app.away = None;
        app.notice(
            0,
            now,
            "you are no longer away: this server does not know /away",
        );
        return;
    }
    send(effects, &Command::Away { text: Some(&text) });
    app.aways_sent.push_back(AwaySent {
        text: Some(text),
        tell: false,
    });
}

/// `OK AWAY on|off`: the answer to the oldest `AWAY` sent.
pub(super) fn on_ok_away(app: &mut App, on: bool, now: NaiveTime) {
    let sent = app.aways_sent.pop_front();
    let tell = sent.as_ref().is_none_or(|s| s.tell);
    if on {
        let text = sent.and_then(|s| s.text).unwrap_or_default();
        if tell {
            app.info(now, format!("you are marked away: {text}"));
        }
        app.away = Some(text);
    } else {
        app.away = None;
        if tell {
            app.info(now, "you are back");
        }
    }
}

/// `AWAY <nick> <text>`, after we wrote to an away client: told in the conversation's tab,
/// unless the same text was told there less than [`AWAY_NOTICE_REPEAT`] ago.
pub(super) fn on_away_notice(app: &mut App, nick: Nick, text: String, now: NaiveTime) {
    let key = nick.key();
    let repeat = app
        .away_notices
        .get(&key)
        .is_some_and(|(told, at)| *told == text && since(*at, now) < AWAY_NOTICE_REPEAT);
    if repeat {
        return;
    }
    let index = app.open(TabKind::Direct(nick.clone()));
    app.notice(index, now, format!("{nick} is away: {text}"));
    app.away_notices.insert(key, (text, now));
}

/// Time from `then` to `now` on the clock, across midnight (the clock is all `update` gets).
fn since(then: NaiveTime, now: NaiveTime) -> Duration {
    let seconds = (now - then).num_seconds().rem_euclid(24 * 60 * 60);
    Duration::from_secs(seconds.unsigned_abs())
}

/// `OWNER #room <nick>`: kept in the room's tab for its member list. Learning it when we
/// join is quiet (unless the room is ours); a change of owner is told.
pub(super) fn on_owner(app: &mut App, room: Room, nick: Nick, now: NaiveTime) {
    let Some(index) = app.room_tab(&room) else {
        return;
    };
    let ours = nick.key() == app.nick.key();
    let before = app.tabs[index].owner.replace(nick.clone());
    let text = match before {
        None if ours => format!("you own {room}"),
        None => return,
        Some(before) if before.key() == nick.key() => return,
        Some(_) if ours => format!("you now own {room}"),
        Some(_) => format!("{nick} now owns {room}"),
    };
    app.notice(index, now, text);
}

/// `/topic` without a text: a question to the server, whose answer the next `TOPIC` line for
/// the room is. Without a connection, or with a server that takes no such question, the
/// topic the tab knows is shown.
pub(super) fn ask_topic(app: &mut App, room: Room, now: NaiveTime, effects: &mut Vec<Effect>) {
    if app.online() && app.caps.extended() {
        app.topics_asked.push(room.key());
        send(effects, &Command::TopicQuery(room));
        return;
    }
    let topic = app.room_tab(&room).and_then(|i| app.tabs[i].topic.clone());
    match topic {
        Some((setter, text)) => app.info(now, topic_line(&room, &setter, &text)),
        None => app.info(now, format!("{room} has no topic")),
    }
}

fn topic_line(room: &Room, setter: &Nick, text: &str) -> String {
    format!("topic of {room}: {text} (set by {setter})")
}

/// Whether a `TOPIC` line for `room` answers our question (and the question is done).
fn answers_question(app: &mut App, room: &Room) -> bool {
    let key = room.key();
    match app.topics_asked.iter().position(|asked| *asked == key) {
        Some(at) => {
            app.topics_asked.remove(at);
            true
        }
        None => false,
    }
}

/// `TOPIC #room <setter> <text>`: the answer to `/topic`, the topic on joining, or a change.
pub(super) fn on_topic(app: &mut App, room: Room, setter: Nick, text: String, now: NaiveTime) {
    let answer = answers_question(app, &room);
    let index = app.room_tab(&room);
    if answer {
        app.info(now, topic_line(&room, &setter, &text));
    }
    let Some(index) = index else {
        return;
    };
    let tab = &mut app.tabs[index];
    let notice = if answer {
        None
    } else if tab.joining {
        Some(format!("topic: {text} (set by {setter})"))
    } else {
        Some(format!("{setter} set the topic: {text}"))
    };
    tab.topic = Some((setter, text));
    if let Some(notice) = notice {
        app.notice(index, now, notice);
    }
}

/// `TOPIC #room` alone: the answer to `/topic` for a room without a topic.
pub(super) fn on_no_topic(app: &mut App, room: Room, now: NaiveTime) {
    answers_question(app, &room);
    if let Some(index) = app.room_tab(&room) {
        app.tabs[index].topic = None;
    }
    app.info(now, format!("{room} has no topic"));
}
