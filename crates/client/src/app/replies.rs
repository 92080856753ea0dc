//! What each server line does, and the connection's ups and downs as the network side
//! reports them: the lists kept up to date (users, room members, topics), messages added to
//! the tab they belong to (opening it) unless their sender is ignored, `/who`, `/rooms` and
//! owner replies shown, `PING` answered. Every line has its arm here (no catch-all: a new
//! kind of line must be decided on).
//!
//! A `BYE logged in elsewhere` (another client logged in to our account) stops the client
//! from reconnecting: [`Effect::Disconnect`], and every later network event is ignored.
//!
//! Out of scope: anything about our own nick, `OK NICK` and `ERR` (`nick`, called from
//! here); the answers to our `CAP` lines (`caps`) and to our account commands (`account`
//! reads them, `login` tells them); the answers to our uploads and the numbering of files
//! (`files`); the extensions' lines (`extensions`); what the user
//! types (`keys`, `submit`); the socket (`crate::net`).

use std::time::Duration;

use chrono::NaiveTime;

use super::caps::CAPS_WANTED;
use super::extensions::{on_action, on_away_notice, on_no_topic, on_ok_away, on_owner, on_topic};
use super::files::{self, file_body};
use super::history::{on_connected, on_end, on_hist, on_joined, on_logged_in, on_waiting, refused};
use super::login::{self, Then};
use super::nick::{go_on_as_guest, on_err, on_ok_nick, reclaim_if_freed, register, rename};
use super::state::{App, Conn, Effect, WhoFor, send};
use super::tab::{Body, TabKind, insert_sorted, sorted};
use crate::event::NetEvent;
use chatd_proto::reason::LOGGED_IN_ELSEWHERE;
use chatd_proto::{Capability, Command, ErrorCode, Nick, Reply};

/// What the network side reports: connecting, connected (registration starts), lost (the
/// lists are emptied, the loss told once), and each line the server sent.
pub(super) fn on_net(app: &mut App, event: NetEvent, now: NaiveTime, effects: &mut Vec<Effect>) {
    if app.conn == Conn::LoggedInElsewhere {
        // The network side is being stopped; what it still reports changes nothing.
        return;
    }
    match event {
        NetEvent::Connecting { attempt } => app.conn = Conn::Connecting { attempt },
        NetEvent::Connected => {
            // Lists asked for on the old connection will never be answered.
            app.who_for.clear();
            app.who_lines.clear();
            app.room_who_for_user.clear();
            app.rooms_listed = 0;
            app.topics_asked.clear();
            app.aways_sent.clear();
            app.history_asked.clear();
            app.no_history = false;
            app.resume_from = app.newest_id;
            on_connected(app);
            app.account.new_connection();
            app.login_wait = false;
            // The capabilities first, so that nothing reaches us in the wrong form.
            for command in app.caps.ask(&CAPS_WANTED) {
                send(effects, &command);
            }
            register(app, effects);
        }
        NetEvent::Lost { reason, retry_in } => {
            let was_up = matches!(app.conn, Conn::Online | Conn::Registering);
            if app.quitting.is_some() {
                app.conn = Conn::Closed;
                effects.push(Effect::Exit);
                return;
            }
            let secs = retry_in.as_secs() + u64::from(retry_in.subsec_nanos() > 0);
            app.conn = Conn::Waiting { retry_in: secs };
            app.login_wait = false;
            app.users.clear();
            app.counted = None;
            for tab in &mut app.tabs {
                tab.members.clear();
                tab.owner = None;
                tab.pending_members = None;
                tab.joining = false;
            }
            if was_up || !app.told_down {
                let what = if was_up {
                    "connection lost"
                } else {
                    "cannot connect"
                };
                let first = seconds(retry_in);
                let text = format!("{what}: {reason}; reconnecting (first try in {first})");
                app.notice_here_and_lobby(now, &text);
                app.told_down = true;
            }
            files::connection_lost(app, now, effects);
        }
        NetEvent::Line(reply) => on_reply(app, reply, now, effects),
        NetEvent::IdLine(id, reply) => {
            // The chat line this adds takes the id (`App::add`).
            app.live_id = Some(id);
            on_reply(app, reply, now, effects);
            app.live_id = None;
        }
        NetEvent::Unparsed(line) => app.notice(0, now, format!("server: {line}")),
    }
}

/// One server line.
fn on_reply(app: &mut App, reply: Reply, now: NaiveTime, effects: &mut Vec<Effect>) {
    // The uploads' first: an `ERR` between the `PONG`s around an `UPLOAD` is its answer,
    // even while an account command waits for one.
    if files::on_reply(app, &reply, now, effects)
        || app.caps.answer(&reply)
        || on_account_answer(app, &reply, now, effects)
    {
        return;
    }
    match reply {
        Reply::Hello { text } => app.add(0, now, Body::Info(format!("server: {text}"))),
        Reply::OkNick(nick) => on_ok_nick(app, nick, now, effects),
        Reply::Err { code, .. } if refused(app, &code) => {}
        Reply::Err { code, text } => on_err(app, &code, text, now, effects),
        Reply::Join(nick) => {
            insert_sorted(&mut app.users, &nick);
            app.notice(0, now, format!("{nick} joined"));
        }
        Reply::NickChanged { old, new } => {
            let text = format!("{old} is now known as {new}");
            app.notice_about(&old, now, &text);
            rename(app, &old, &new);
            reclaim_if_freed(app, &old, effects);
        }
        Reply::Quit { nick, reason } => {
            let text = match reason {
                Some(reason) => format!("{nick} quit ({reason})"),
                None => format!("{nick} quit"),
            };
            app.notice_about(&nick, now, &text);
            app.users.retain(|n| n.key() != nick.key());
            for tab in &mut app.tabs {
                tab.remove_member(&nick);
            }
            // Away notices are per person: whoever takes the nick next is told about afresh.
            app.away_notices.remove(&nick.key());
            reclaim_if_freed(app, &nick, effects);
        }
        Reply::All { from, .. } | Reply::Msg { from, .. } | Reply::RoomMsg { from, .. }
            if app.ignores(&from) => {}
        Reply::All { from, text } => app.add(0, now, Body::message(from, &text, false, false)),
        Reply::Msg { from, text } => {
            let index = app.open(TabKind::Direct(from.clone()));
            app.last_direct_from = Some(from.clone());
            app.add(index, now, Body::message(from, &text, true, false));
        }
        Reply::Me { target, from, text } => on_action(app, target, from, text, now),
        Reply::File { from, .. } | Reply::LobbyFile { from, .. } | Reply::RoomFile { from, .. }
            if app.ignores(&from) => {}
        // `files` says why a `FILE` without a room goes to the lobby without `CAP files`.
        Reply::File {
            from,
            size,
            url,
            name,
        } if app.caps.has(Capability::Files) => {
            let index = app.open(TabKind::Direct(from.clone()));
            app.last_direct_from = Some(from.clone());
            let body = file_body(app, from, size, url, name, true);
            app.add(index, now, body);
        }
        Reply::File {
            from,
            size,
            url,
            name,
        }
        | Reply::LobbyFile {
            from,
            size,
            url,
            name,
        } => {
            let body = file_body(app, from, size, url, name, false);
            app.add(0, now, body);
        }
        Reply::RoomFile {
            room,
            from,
            size,
            url,
            name,
        } => {
            let index = app.open(TabKind::Room(room));
            app.tabs[index].joined = true;
            let body = file_body(app, from, size, url, name, false);
            app.add(index, now, body);
        }
        Reply::Who(nicks) => app.who_lines.extend(nicks),
        Reply::EndWho => {
            let listed = sorted(std::mem::take(&mut app.who_lines));
            if app.who_for.pop_front() == Some(WhoFor::User) {
                let list = nick_list(&listed);
                app.info(now, format!("online ({}): {list}", listed.len()));
            }
            // A counted lobby's list would be out of date at the next registration.
            if app.counted.is_none() {
                app.users = listed;
            }
        }
        Reply::Presence { exact, count } => on_presence(app, exact, count, effects),
        Reply::Ping { token } => send(
            effects,
            &Command::Pong {
                token: token.as_deref(),
            },
        ),
        // Ours after `OK LOGIN` (`history` asks on once it is taken), or one we did not ask.
        Reply::Pong { token } => {
            app.account.delivered(token.as_deref());
        }
        Reply::Bye { reason } if reason.as_deref() == Some(LOGGED_IN_ELSEWHERE) => {
            app.conn = Conn::LoggedInElsewhere;
            app.prompt = None;
            effects.push(Effect::Disconnect);
            let text = format!(
                "another client logged in as {}, so the server closed this connection: not \
                 reconnecting, or the two would take the account from each other in turn \
                 (/quit leaves; start chat again to take it back)",
                app.nick
            );
            app.notice_here_and_lobby(now, &text);
        }
        Reply::Bye { reason } => {
            if app.quitting.is_some() {
                app.conn = Conn::Closed;
                effects.push(Effect::Exit);
            } else {
                let text = match reason {
                    Some(reason) => format!("the server closed the connection: {reason}"),
                    None => "the server closed the connection".to_owned(),
                };
                app.notice_here_and_lobby(now, &text);
            }
        }
        Reply::Help { text } => app.info(now, format!("server: {text}")),
        Reply::EndHelp => {}
        Reply::OkJoin(room) => {
            let index = app.open(TabKind::Room(room.clone()));
            let asked = app.joins_for_user.remove(&room.key());
            let tab = &mut app.tabs[index];
            tab.joined = true;
            tab.joining = true;
            tab.topic = None;
            tab.owner = None;
            tab.pending_members = Some(Vec::new());
            on_joined(app, index, asked.is_none(), effects);
            if let Some(key) = asked {
                app.tabs[index].key = key;
                app.switch_to(index);
                app.notice(index, now, format!("you joined {room}"));
            } else {
                app.notice(index, now, format!("you joined {room} again"));
            }
        }
        Reply::OkPart(room) => {
            if let Some(index) = app.room_tab(&room) {
                app.close(index);
            }
            app.notice(0, now, format!("you left {room}"));
        }
        Reply::RoomJoin { room, nick } => {
            if let Some(index) = app.room_tab(&room) {
                app.tabs[index].add_member(&nick);
                app.notice(index, now, format!("{nick} joined {room}"));
            }
        }
        Reply::RoomPart { room, nick, reason } => {
            if let Some(index) = app.room_tab(&room) {
                app.tabs[index].remove_member(&nick);
                let text = match reason {
                    Some(reason) => format!("{nick} left {room} ({reason})"),
                    None => format!("{nick} left {room}"),
                };
                app.notice(index, now, text);
            }
        }
        Reply::RoomMsg { room, from, text } => {
            let index = app.open(TabKind::Room(room));
            app.tabs[index].joined = true;
            app.add(index, now, Body::message(from, &text, false, false));
        }
        Reply::RoomWho { room, nicks } => {
            if let Some(index) = app.room_tab(&room) {
                let tab = &mut app.tabs[index];
                tab.pending_members
                    .get_or_insert_with(Vec::new)
                    .extend(nicks.iter().cloned());
            }
            if app.room_who_for_user.contains(&room.key()) && app.room_tab(&room).is_none() {
                // A room we are not in has no member list to keep: show each line as it comes.
                app.info(now, format!("in {room}: {}", nick_list(&nicks)));
            }
        }
        Reply::EndRoomWho(room) => {
            let asked = app.room_who_for_user.remove(&room.key());
            if let Some(index) = app.room_tab(&room) {
                let tab = &mut app.tabs[index];
                if let Some(members) = tab.pending_members.take() {
                    tab.members = sorted(members);
                }
                tab.joining = false;
                if asked {
                    let tab = &app.tabs[index];
                    let list = tab
                        .members
                        .iter()
                        .map(|nick| {
                            let mark = if tab.is_owner(nick) { "@" } else { "" };
                            format!("{mark}{nick}")
                        })
                        .collect::<Vec<_>>()
                        .join(" ");
                    let count = tab.members.len();
                    app.info(now, format!("in {room} ({count}): {list}"));
                }
            } else if asked {
                app.info(now, format!("end of the list of {room}"));
            }
        }
        Reply::RoomInfo {
            room,
            members,
            topic,
        } => {
            if app.rooms_listed == 0 {
                app.info(now, "rooms:");
            }
            app.rooms_listed += 1;
            let people = if members == 1 { "member" } else { "members" };
            let text = match topic {
                Some(topic) => format!("  {room}  {members} {people}  {topic}"),
                None => format!("  {room}  {members} {people}"),
            };
            app.info(now, text);
        }
        Reply::EndRooms => {
            if app.rooms_listed == 0 {
                app.info(now, "no rooms yet: /join #name creates one");
            }
            app.rooms_listed = 0;
        }
        Reply::TopicIs { room, setter, text } => on_topic(app, room, setter, text, now),
        Reply::NoTopic(room) => on_no_topic(app, room, now),
        Reply::OkKey(room) => {
            let key = app.keys_sent.remove(&room.key()).flatten();
            let text = match &key {
                Some(_) => format!("{room} now needs a key"),
                None => format!("{room} needs no key now"),
            };
            if let Some(index) = app.room_tab(&room) {
                app.tabs[index].key = key;
            }
            app.info(now, text);
        }
        Reply::OkPrivate { room, on } => {
            let text = if on {
                format!("{room} is now invite-only")
            } else {
                format!("{room} is now open to all")
            };
            app.info(now, text);
        }
        Reply::OkInvite { nick, room } => app.info(now, format!("{nick} may now join {room}")),
        Reply::Invited { room, from } => {
            let text = format!("{from} invites you to {room}: /join {room}");
            app.notice_here_and_lobby(now, &text);
            if app.current != 0 {
                app.tabs[0].highlight = true;
            }
        }
        // The answers to our own `CAP` lines were taken above; one we did not ask for
        // changes nothing.
        Reply::OkCap(_) => {}
        Reply::OkAway { on } => on_ok_away(app, on, now),
        Reply::Away { nick, text } => on_away_notice(app, nick, text, now),
        Reply::Owner { room, nick } => on_owner(app, room, nick, now),
        // The client never asks for `STATS`; a line that comes anyway is shown as it is.
        Reply::Stat { name, value } => app.info(now, format!("server: STATS {name} {value}")),
        Reply::EndStats => {}
        Reply::Hist {
            target,
            id,
            time,
            line,
        } => {
            if !on_hist(app, &target, id, time, &line) && !on_waiting(app, &target, id, time, &line)
            {
                let reply = Reply::Hist {
                    target,
                    id,
                    time,
                    line,
                };
                app.info(now, format!("server: {reply}"));
            }
        }
        Reply::EndHistory { target, count } => {
            if !on_end(app, &target, count, effects) {
                if let chatd_proto::Target::Nick(from) = target {
                    let plural = if count == 1 { "" } else { "s" };
                    app.info(
                        now,
                        format!("{count} message{plural} from {from} waited for you"),
                    );
                }
            }
        }
        Reply::OkStored(to) => {
            let index = app.open(TabKind::Direct(to.clone()));
            app.add(
                index,
                now,
                Body::Notice(format!(
                    "{to} is offline: the message waits for their next login"
                )),
            );
        }
        Reply::OkRegisterRoom(room) => app.info(
            now,
            format!(
                "{room} is registered: it stays when empty and over restarts, and is yours \
                 whenever you are in it"
            ),
        ),
        // An account answer we did not ask for (the account side took ours above) is shown
        // as it is.
        reply @ (Reply::OkRegister(_)
        | Reply::OkLogin(_)
        | Reply::OkPassword
        | Reply::OkUnregister(_)) => app.info(now, format!("server: {reply}")),
        // Our uploads' answers were taken above (`files`): one that answers none is shown
        // as it is.
        reply @ (Reply::OkUpload { .. } | Reply::OkFile { .. }) => {
            app.info(now, format!("server: {reply}"));
        }
    }
}

/// An answer to one of our account commands, read by `account` and told by `login`; an
/// `OK LOGIN` then makes its nick ours as an `OK NICK` does. Returns false for every other
/// line. A `NICK_REGISTERED` while a `NICK` of ours waits is that `NICK`'s (`nick`).
fn on_account_answer(
    app: &mut App,
    reply: &Reply,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) -> bool {
    if app.pending_nick.is_some()
        && matches!(
            reply,
            Reply::Err {
                code: ErrorCode::NickRegistered,
                ..
            }
        )
    {
        return false;
    }
    let Some(answer) = app.account.answer(reply) else {
        return false;
    };
    match login::on_answer(app, answer, now) {
        Then::Nothing => {}
        Then::HasNick(nick) => {
            // Told first: the lines missed while away, asked for once registered, go below.
            login::logged_in(app, &nick, now);
            on_ok_nick(app, nick, now, effects);
            on_logged_in(app, effects);
        }
        Then::GoOnAsGuest => go_on_as_guest(app, now, effects),
    }
    true
}

/// A delay as people write it: `0.25 s`, `1 s`, `1.5 s` (not rounded to whole seconds:
/// the first retry comes after a quarter of a second).
fn seconds(delay: Duration) -> String {
    let text = format!("{:.3}", delay.as_secs_f64());
    match text.trim_end_matches('0').trim_end_matches('.') {
        "" => "0 s".to_owned(),
        text => format!("{text} s"),
    }
}

/// Nicks as `/who` shows them: separated by spaces.
fn nick_list(nicks: &[Nick]) -> String {
    nicks.iter().map(Nick::as_str).collect::<Vec<_>>().join(" ")
}

/// `PRESENCE`: whether the server announces the lobby's presence. Counted: the list of
/// everyone online is dropped (it would only go stale) and the count shown instead. Exact
/// again: the list is read afresh, since the registrations and departures meanwhile were not
/// told.
fn on_presence(app: &mut App, exact: bool, count: u32, effects: &mut Vec<Effect>) {
    if !exact {
        app.counted = Some(count);
        app.users.clear();
        return;
    }
    let was_counted = app.counted.take().is_some();
    if was_counted && app.online() {
        app.who_for.push_back(WhoFor::Panel);
        send(effects, &Command::Who);
    }
}
