//! Registration and our nick: the `NICK` sent on connect, a suffixed one while ours is taken
//! (`alice_`, `alice_2`, ...), logging in when it is registered (`NICK_REGISTERED`: `login`
//! logs in or asks), a suffixed one as a guest when the user does without, `/nick`, `OK
//! NICK` (and `OK LOGIN`, which ends registration the same way), taking the nick we want back
//! when its holder leaves or renames, and renames (ours and others') followed through the
//! lists and tabs. [`NickRefusal::of`] is, with `caps`' reading of the answers to `CAP`,
//! `account`'s of the answers to the account commands and `history`'s of a refused
//! `HISTORY`, one of the places where error codes are read.
//!
//! Out of scope: routing server lines here (`replies`); the line mode's own registration,
//! which shares [`suffixed`], [`MAX_NICK_ATTEMPTS`] and [`NickRefusal`] (`line_mode`).

use chrono::NaiveTime;

use super::extensions::mark_away_again;
use super::history::resume;
use super::login::log_in_or_ask;
use super::state::{App, Conn, Effect, WhoFor, can_send, send};
use super::tab::{TabKind, insert_sorted};
use chatd_proto::{Command, ErrorCode, MAX_NICK_LEN, Nick, NickKey};

/// Suffixed nicks tried on `NICK_TAKEN` before giving up (`alice_`, `alice_2`, ...).
pub const MAX_NICK_ATTEMPTS: u32 = 20;

/// What an `ERR` code says about the `NICK` we sent.
///
/// [`NickRefusal::of`], [`Caps::answer`](super::Caps::answer) and
/// [`Account::answer`](super::Account::answer) (and `history`, for a refused `HISTORY`) are
/// the places where the client reads error codes: the rest only shows
/// them. `line_mode` asks them too, and reads a refused `HISTORY` itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NickRefusal {
    /// Someone has the nick: while registering, try a suffixed one.
    Taken,
    /// The nick is an account we are not logged in to (`NICK_REGISTERED`): log in to it
    /// (the nick wanted), or try a suffixed one (a suffixed nick).
    Registered,
    /// The server refused the `NICK` line itself: no answer to it is coming.
    Invalid,
}

impl NickRefusal {
    /// The refusal an error code means, if it is one.
    pub fn of(code: &ErrorCode) -> Option<NickRefusal> {
        match code {
            ErrorCode::NickTaken => Some(NickRefusal::Taken),
            ErrorCode::NickRegistered => Some(NickRefusal::Registered),
            ErrorCode::BadNick | ErrorCode::MissingArgument => Some(NickRefusal::Invalid),
            _ => None,
        }
    }
}

/// The nick tried after `attempt` refusals of `base`: `alice_`, `alice_2`, `alice_3`...,
/// the base shortened so the result stays a valid nick.
pub fn suffixed(base: &Nick, attempt: u32) -> Nick {
    let suffix = if attempt <= 1 {
        "_".to_owned()
    } else {
        format!("_{attempt}")
    };
    let keep = base.as_str().len().min(MAX_NICK_LEN - suffix.len());
    Nick::parse(&format!("{}{suffix}", &base.as_str()[..keep]))
        .expect("a valid nick's prefix (it keeps the first letter) plus _ and digits is valid")
}

/// A new connection: claim the nick we want (suffixes start again from none).
pub(super) fn register(app: &mut App, effects: &mut Vec<Effect>) {
    app.conn = Conn::Registering;
    app.nick_attempt = 0;
    app.wanted_registered = false;
    app.nick = app.wanted.clone();
    app.pending_nick = Some((app.wanted.clone(), false));
    send(effects, &Command::Nick(app.wanted.clone()));
}

/// `/nick NAME`: while registering, the nick to register with (no more suffixes of the old
/// one); once online, a rename that becomes the nick wanted when the server agrees.
pub(super) fn ask_for_nick(app: &mut App, nick: Nick, now: NaiveTime, effects: &mut Vec<Effect>) {
    if app.conn == Conn::Registering {
        app.wanted = nick.clone();
        app.nick = nick.clone();
        app.nick_attempt = 0;
        app.pending_nick = Some((nick.clone(), false));
        send(effects, &Command::Nick(nick));
    } else if can_send(app, now) {
        app.pending_nick = Some((nick.clone(), false));
        send(effects, &Command::Nick(nick));
    }
}

/// `OK NICK`: the end of registration (then `WHO` for the side panel and, after a reconnect,
/// `JOIN` of the room tabs and `AWAY` if we were away), or a rename, ours or taking our nick
/// back.
pub(super) fn on_ok_nick(app: &mut App, nick: Nick, now: NaiveTime, effects: &mut Vec<Effect>) {
    let pending = app.pending_nick.take();
    app.account.renamed(&nick);
    if app.conn == Conn::Registering {
        app.conn = Conn::Online;
        app.nick = nick.clone();
        app.told_down = false;
        let again = app.was_online;
        let how = if again { "reconnected" } else { "connected" };
        app.was_online = true;
        app.notice_here_and_lobby(now, &format!("{how} to {} as {nick}", app.addr));
        if nick.key() != app.wanted.key() {
            let wanted = &app.wanted;
            let text = if app.wanted_registered {
                format!(
                    "{wanted} is a registered nick, so you are {nick}, a guest (/login {wanted} to log in)"
                )
            } else {
                format!(
                    "{wanted} is taken, so you are {nick}; you get {wanted} back when it is free (/nick to choose)"
                )
            };
            app.notice_here_and_lobby(now, &text);
        }
        // A counted lobby (its `PRESENCE` line came just before `OK NICK`) is too big to list.
        if app.counted.is_none() {
            app.who_for.push_back(WhoFor::Panel);
            send(effects, &Command::Who);
        }
        for tab in &app.tabs {
            if let (Some(room), true) = (tab.room(), tab.joined) {
                send(
                    effects,
                    &Command::Join {
                        room: room.clone(),
                        key: tab.key.as_deref(),
                    },
                );
            }
        }
        mark_away_again(app, now, effects);
        // The rooms resume once joined again (`OK JOIN`).
        if again {
            resume(app, 0, effects);
        }
        return;
    }
    let old = std::mem::replace(&mut app.nick, nick.clone());
    match pending {
        Some((_, true)) => {
            app.notice_here_and_lobby(now, &format!("you have your nick back: {nick}"));
        }
        _ => {
            app.wanted = nick.clone();
            if old != nick {
                app.notice_here_and_lobby(now, &format!("you are now known as {nick}"));
            }
        }
    }
    rename(app, &old, &nick);
}

/// An `ERR`. A refusal of our `NICK` is handled here: while registering, the next suffixed
/// nick is tried; a failed attempt to take our nick back is not shown. Every other error is
/// shown in the current tab, its code after the text.
pub(super) fn on_err(
    app: &mut App,
    code: &ErrorCode,
    text: String,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) {
    match NickRefusal::of(code) {
        Some(NickRefusal::Taken) => match app.pending_nick.take() {
            // Taking our nick back failed (someone else was quicker): say nothing.
            Some((_, true)) => return,
            Some(_) if app.conn == Conn::Registering => {
                next_suffix(app, now, effects);
                return;
            }
            _ => {}
        },
        Some(NickRefusal::Registered) => match app.pending_nick.take() {
            // The nick we wanted back became an account meanwhile: say nothing.
            Some((_, true)) => return,
            Some((refused, false)) if app.conn == Conn::Registering => {
                let wanted = refused.key() == app.wanted.key();
                if wanted {
                    app.wanted_registered = true;
                }
                if wanted && !app.guest_by_choice {
                    log_in_or_ask(app, refused, now, effects);
                } else {
                    next_suffix(app, now, effects);
                }
                return;
            }
            Some((refused, false)) => {
                app.error(
                    now,
                    format!("{refused} is a registered nick: /login {refused} if it is yours"),
                );
                return;
            }
            None => {}
        },
        Some(NickRefusal::Invalid) => app.pending_nick = None,
        None => {}
    }
    app.error(now, format!("{text} ({code})"));
}

/// While registering: the next suffixed nick (the one wanted is taken, or registered and
/// the user does without it), or, after too many, a word on choosing one.
fn next_suffix(app: &mut App, now: NaiveTime, effects: &mut Vec<Effect>) {
    app.nick_attempt += 1;
    if app.nick_attempt > MAX_NICK_ATTEMPTS {
        app.error(now, format!("no free nick like {}: /nick NAME", app.wanted));
        return;
    }
    let next = suffixed(&app.wanted, app.nick_attempt);
    app.nick = next.clone();
    app.pending_nick = Some((next.clone(), false));
    send(effects, &Command::Nick(next));
}

/// Registration does without the login it waited for (Esc at the prompt, or a refusal that
/// asking again would not change): a suffixed nick, as a guest.
pub(super) fn go_on_as_guest(app: &mut App, now: NaiveTime, effects: &mut Vec<Effect>) {
    if app.conn == Conn::Registering {
        next_suffix(app, now, effects);
    }
}

/// Someone (maybe us) changed nick: the lists, the direct tab and `/r` follow.
pub(super) fn rename(app: &mut App, old: &Nick, new: &Nick) {
    let old_key = old.key();
    if app.users.iter().any(|n| n.key() == old_key) {
        app.users.retain(|n| n.key() != old_key);
        insert_sorted(&mut app.users, new);
    }
    for tab in &mut app.tabs {
        if tab.remove_member(old) {
            tab.add_member(new);
        }
        if tab.is_owner(old) {
            tab.owner = Some(new.clone());
        }
    }
    // Away notices are kept by nick, and whoever takes the old nick next is someone else.
    app.away_notices.remove(&old_key);
    if old_key != new.key() && app.direct_tab(new).is_none() {
        if let Some(index) = app.direct_tab(old) {
            app.tabs[index].kind = TabKind::Direct(new.clone());
        }
    }
    if app
        .last_direct_from
        .as_ref()
        .is_some_and(|n| n.key() == old_key)
    {
        app.last_direct_from = Some(new.clone());
    }
}

/// The holder of the nick we want left or renamed: claim it.
pub(super) fn reclaim_if_freed(app: &mut App, freed: &Nick, effects: &mut Vec<Effect>) {
    let wanted: NickKey = app.wanted.key();
    if app.online()
        && freed.key() == wanted
        && app.nick.key() != wanted
        && app.pending_nick.is_none()
    {
        app.pending_nick = Some((app.wanted.clone(), true));
        send(effects, &Command::Nick(app.wanted.clone()));
    }
}
