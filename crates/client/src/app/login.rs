//! Accounts in the full-screen client (issue 16): logging in to a registered nick (with the
//! password given on the command line or kept from earlier, else asked for on a masked
//! prompt line), again on every reconnect before anything else is asked; a wrong password
//! asks again; a refusal for a while (`TOO_MANY_ATTEMPTS`, `SERVER_BUSY`) waits as long as
//! the server says, counted in ticks; `/register`, `/login`, `/password`, `/unregister`; and
//! their answers told in plain words in the lobby (and the current tab).
//!
//! Out of scope: the nick side of a login (`nick`: `NICK_REGISTERED` during registration,
//! `OK LOGIN` as the end of registration or a rename, going on as a guest); the bookkeeping
//! of what was asked and of the password kept (`account`); drawing the prompt (`ui`). A
//! password never goes into a tab, the input history or any text: the lines typed are shown
//! with `***` in its place (`crate::commands::redacted`).

use chrono::NaiveTime;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::account::{Answer, Asked, Refusal};
use super::history;
use super::state::{App, Conn, Effect, Prompt, Retry};
use super::tab::Body;
use crate::password::Secret;
use chatd_proto::{Nick, Password};

/// What the caller must do about our nick after an account answer or a key at the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Then {
    Nothing,
    /// `OK LOGIN`: the connection holds this nick now (the end of registration, or a rename).
    HasNick(Nick),
    /// The login that registration waited for will not happen: register as a guest.
    GoOnAsGuest,
}

/// Registration met a registered nick (`NICK_REGISTERED` for the nick wanted): log in with
/// the password kept for it, or wait for a `LOGIN` refused for a while, or ask.
pub(super) fn log_in_or_ask(app: &mut App, nick: Nick, now: NaiveTime, effects: &mut Vec<Effect>) {
    app.login_wait = true;
    if let Some(retry) = &app.login_retry {
        if retry.ticks > 0 {
            // The tick sends it once the server's wait is over.
            return;
        }
        let retry = app.login_retry.take().expect("just seen");
        send_login(app, retry.nick, retry.password, effects);
        return;
    }
    match app.account.password_for(&nick).cloned() {
        Some(password) => send_login(app, nick, password, effects),
        None => ask(
            app,
            nick.clone(),
            format!(
                "{nick} is a registered nick: type its password below (hidden; Enter logs \
                 in, Esc goes on as a guest)"
            ),
            now,
        ),
    }
}

/// Shows the prompt for `nick`'s password (a new one: what was typed for another is gone)
/// and says why in the lobby and the current tab. A prompt for `nick` shown already stays
/// as it is, unsaid again (a reconnect while the user types).
fn ask(app: &mut App, nick: Nick, why: String, now: NaiveTime) {
    let same = app
        .prompt
        .as_ref()
        .is_some_and(|prompt| prompt.nick.key() == nick.key());
    if !same {
        app.prompt = Some(Prompt::new(nick));
        app.notice_here_and_lobby(now, &why);
    }
}

fn send_login(app: &mut App, nick: Nick, password: Secret, effects: &mut Vec<Effect>) {
    effects.push(Effect::Send(app.account.login(nick, password)));
}

/// Whether a `LOGIN` can go now: while registering (`LOGIN` works before `NICK`) or online.
fn can_log_in(app: &App) -> bool {
    app.online() || app.conn == Conn::Registering
}

/// A key while the prompt is shown: typing, Backspace, Ctrl-U, Enter (log in), Esc (do
/// without). Ctrl-C is not taken (returns `None`: it still quits). Every other key is
/// ignored, so that nothing typed for the password reaches the input line.
pub(super) fn on_prompt_key(
    app: &mut App,
    key: KeyEvent,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) -> Option<Then> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let prompt = app.prompt.as_mut()?;
    match key.code {
        KeyCode::Char('c') if ctrl => return None,
        KeyCode::Char('u') if ctrl => prompt.typed.clear(),
        KeyCode::Char(c) if !ctrl => prompt.typed.push(c),
        KeyCode::Backspace => prompt.typed.pop(),
        KeyCode::Enter if !prompt.typed.is_empty() => {
            let Prompt { nick, typed } = app.prompt.take().expect("the prompt is shown");
            submit_password(app, nick, typed, now, effects);
        }
        KeyCode::Esc => {
            let prompt = app.prompt.take().expect("the prompt is shown");
            if app.login_wait && app.conn == Conn::Registering {
                app.login_wait = false;
                app.guest_by_choice = true;
                return Some(Then::GoOnAsGuest);
            }
            app.info(now, format!("not logged in to {}", prompt.nick));
        }
        _ => {}
    }
    Some(Then::Nothing)
}

/// A paste while the prompt is shown: its first line is typed into the prompt (a password
/// manager pastes the password).
pub(super) fn on_prompt_paste(app: &mut App, text: &str) {
    if let Some(prompt) = &mut app.prompt {
        let line = text.split(['\r', '\n']).next().unwrap_or("");
        for c in line.chars().filter(|c| !c.is_control()) {
            prompt.typed.push(c);
        }
    }
}

/// Enter at the prompt: the `LOGIN` goes now if it can; otherwise the password is kept and
/// tried when the server next asks for it (after a reconnect).
fn submit_password(
    app: &mut App,
    nick: Nick,
    password: Secret,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) {
    let registration_waits = app.login_wait && app.conn == Conn::Registering;
    if registration_waits || app.online() {
        send_login(app, nick, password, effects);
    } else {
        app.account.remember(nick.clone(), password);
        app.info(
            now,
            format!("not connected: the password for {nick} is tried once the connection is back"),
        );
    }
}

/// The clock: a `LOGIN` refused for a while is sent again when its wait is over, if it can
/// go then (else at the next registration that needs it).
pub(super) fn on_tick(app: &mut App, effects: &mut Vec<Effect>) {
    let Some(retry) = &mut app.login_retry else {
        return;
    };
    retry.ticks = retry.ticks.saturating_sub(1);
    let waiting = app.login_wait && app.conn == Conn::Registering;
    if retry.ticks == 0 && (waiting || app.online()) {
        let retry = app.login_retry.take().expect("just seen");
        send_login(app, retry.nick, retry.password, effects);
    }
}

/// `/login NICK [password]`: without the password, the prompt asks for it.
pub(super) fn login(
    app: &mut App,
    nick: Nick,
    password: Option<Password<'_>>,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) {
    if !can_log_in(app) {
        app.error(now, "not connected: nothing was sent");
        return;
    }
    app.guest_by_choice = false;
    match password {
        Some(password) => send_login(app, nick, Secret::new(password.expose()), effects),
        None => {
            let why = format!("type the password for {nick} below (hidden; Esc cancels)");
            ask(app, nick, why, now);
        }
    }
}

/// `/register password`: makes our nick an account.
pub(super) fn register(app: &mut App, password: Password<'_>, effects: &mut Vec<Effect>) {
    effects.push(Effect::Send(app.account.register(password)));
}

/// `/password old new`.
pub(super) fn change_password(
    app: &mut App,
    old: Password<'_>,
    new: Password<'_>,
    effects: &mut Vec<Effect>,
) {
    effects.push(Effect::Send(app.account.change_password(old, new)));
}

/// `/unregister password`.
pub(super) fn unregister(app: &mut App, password: Password<'_>, effects: &mut Vec<Effect>) {
    effects.push(Effect::Send(app.account.unregister(password)));
}

/// An answer to one of our account commands: told in plain words; a login refused is asked
/// again (a wrong password) or sent again after the server's wait.
pub(super) fn on_answer(app: &mut App, answer: Answer, now: NaiveTime) -> Then {
    match answer {
        Answer::LoggedIn(nick) => {
            app.login_wait = false;
            app.login_retry = None;
            app.guest_by_choice = false;
            if app
                .prompt
                .as_ref()
                .is_some_and(|prompt| prompt.nick.key() == nick.key())
            {
                app.prompt = None;
            }
            return Then::HasNick(nick);
        }
        Answer::Registered(nick) => {
            history::nothing_kept(app);
            tell(
                app,
                now,
                format!(
                    "{nick} is registered now, and you are logged in to it: only its \
                     password takes the nick from now on"
                ),
            );
        }
        Answer::PasswordChanged => tell(app, now, "password changed".to_owned()),
        Answer::Unregistered(nick) => tell(
            app,
            now,
            format!(
                "{nick} is no longer registered: you keep the nick as a guest until you \
                 leave or rename"
            ),
        ),
        Answer::Refused {
            asked, why, text, ..
        } => return refused(app, asked, why, &text, now),
    }
    Then::Nothing
}

/// `OK LOGIN` made `nick` ours (`nick` then tells of the registration or the rename).
pub(super) fn logged_in(app: &mut App, nick: &Nick, now: NaiveTime) {
    tell(
        app,
        now,
        format!(
            "logged in as {nick}; the password is kept until you quit, to log in again after \
             a reconnect"
        ),
    );
}

fn refused(app: &mut App, asked: Asked, why: Refusal, text: &str, now: NaiveTime) -> Then {
    let registering = app.login_wait && app.conn == Conn::Registering;
    match (asked, why.retry_after()) {
        (Asked::Login { nick, password }, Some(wait)) => {
            // Not known to be wrong: kept for the next connection too.
            app.account.remember(nick.clone(), password.clone());
            let seconds = wait.as_secs().max(1);
            // One tick more: the first one may come at once.
            app.login_retry = Some(Retry {
                ticks: seconds + 1,
                nick,
                password,
            });
            tell_error(app, now, format!("{text}; logging in again in {seconds} s"));
        }
        (Asked::Login { nick, .. }, None) if why == Refusal::BadLogin => {
            let rest = if registering {
                "Esc goes on as a guest"
            } else {
                "Esc cancels"
            };
            tell_error(app, now, format!("wrong password for {nick}"));
            let again = format!("type the password for {nick} again below (hidden; {rest})");
            ask(app, nick, again, now);
        }
        (Asked::Login { nick, .. }, None) => {
            tell_error(app, now, format!("cannot log in to {nick}: {text}"));
            if registering {
                app.login_wait = false;
                return Then::GoOnAsGuest;
            }
        }
        (Asked::Register { .. }, _) => tell_error(app, now, format!("not registered: {text}")),
        (Asked::Password { .. }, _) if why == Refusal::BadLogin => {
            tell_error(
                app,
                now,
                "password not changed: the old one is wrong".to_owned(),
            );
        }
        (Asked::Password { .. }, _) => {
            tell_error(app, now, format!("password not changed: {text}"));
        }
        (Asked::Unregister, _) if why == Refusal::BadLogin => {
            tell_error(app, now, "not unregistered: wrong password".to_owned());
        }
        (Asked::Unregister, _) => tell_error(app, now, format!("not unregistered: {text}")),
    }
    Then::Nothing
}

/// An account's news, in the lobby and in the current tab.
fn tell(app: &mut App, now: NaiveTime, text: String) {
    app.notice_here_and_lobby(now, &text);
}

/// An account's refusal, in the lobby and in the current tab.
fn tell_error(app: &mut App, now: NaiveTime, text: String) {
    app.add(0, now, Body::Error(text.clone()));
    if app.current != 0 {
        app.add(app.current, now, Body::Error(text));
    }
}
