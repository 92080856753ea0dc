//! Tests of accounts (issue 16): logging in to a registered nick during registration (a
//! password given, or typed at the masked prompt), a wrong password, a login refused for a
//! while, logging in again on every reconnect before resuming, another client taking the
//! account over, the account commands and their answers, and the password never shown nor
//! kept in the input history.
//!
//! Out of scope: registration without accounts (`registration`); the prompt as drawn (`ui`'s
//! tests); the account bookkeeping alone (`account`'s own tests).

use super::*;
use crate::password::Secret;

const REGISTERED: &str = "ERR NICK_REGISTERED alice is registered; LOGIN alice <password>";

/// An app connected as `alice`, every capability on, whose `NICK alice` the server just
/// refused as registered; `password` given as `--password-file` gives it.
fn refused_as_registered(password: Option<&str>) -> (App, Vec<Effect>) {
    let mut app = App::new("127.0.0.1:7878", nick("alice"), (80, 24));
    if let Some(password) = password {
        app.remember_password(Secret::new(password));
    }
    assert_eq!(sent(&net(&mut app, NetEvent::Connected)), CONNECT);
    for answer in CAPS_ON {
        server(&mut app, answer);
    }
    let effects = server(&mut app, REGISTERED);
    (app, effects)
}

/// Every line of every tab, and the input history: where a password must never be.
fn everything_shown(app: &App) -> String {
    let mut all: Vec<String> = app.tabs.iter().flat_map(shown).collect();
    all.extend(app.editor.history().map(str::to_owned));
    all.push(format!("{app:?}"));
    all.join("\n")
}

fn tick(app: &mut App) -> Vec<Effect> {
    update(app, Event::Tick, at())
}

#[test]
fn issue_16_a_registered_nick_logs_in_with_the_password_given() {
    let (mut app, effects) = refused_as_registered(Some("correct-horse"));
    assert_eq!(sent(&effects), ["LOGIN alice correct-horse"]);
    assert_eq!(app.conn, Conn::Registering);
    assert!(app.prompt.is_none());
    // `OK LOGIN` ends registration as `OK NICK` does; the `PING` is the barrier after the
    // messages that waited for the account.
    assert_eq!(
        sent(&server(&mut app, "OK LOGIN alice")),
        ["WHO", "PING chat-waiting-delivered"]
    );
    assert_eq!((app.conn, app.nick.as_str()), (Conn::Online, "alice"));
    let lobby = shown(&app.tabs[0]);
    assert!(
        lobby[lobby.len() - 2].starts_with("-!- logged in as alice; the password is kept"),
        "{lobby:#?}"
    );
    assert_eq!(
        last(&app.tabs[0]),
        "-!- connected to 127.0.0.1:7878 as alice"
    );
    assert!(!everything_shown(&app).contains("correct-horse"));
}

#[test]
fn issue_16_without_a_password_a_masked_prompt_asks_for_it() {
    let (mut app, effects) = refused_as_registered(None);
    assert!(sent(&effects).is_empty());
    let prompt = app.prompt.clone().expect("a prompt");
    assert_eq!(prompt.nick.as_str(), "alice");
    assert!(last(&app.tabs[0]).contains("alice is a registered nick: type its password"));
    // Typed keys go to the prompt, not to the input line, and nothing is sent yet.
    for c in "typed-secret".chars() {
        assert!(key(&mut app, KeyCode::Char(c)).is_empty());
    }
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Char('T'));
    assert!(app.editor.is_empty());
    assert_eq!(app.prompt.as_ref().unwrap().typed_chars(), 12);
    assert_eq!(
        sent(&key(&mut app, KeyCode::Enter)),
        ["LOGIN alice typed-secreT"]
    );
    assert!(app.prompt.is_none());
    server(&mut app, "OK LOGIN alice");
    assert_eq!(app.conn, Conn::Online);
    assert!(!everything_shown(&app).contains("typed-secre"));
}

#[test]
fn issue_16_a_wrong_password_says_so_and_asks_again() {
    let (mut app, effects) = refused_as_registered(Some("wrong-password"));
    assert_eq!(sent(&effects), ["LOGIN alice wrong-password"]);
    assert!(server(&mut app, "ERR BAD_LOGIN wrong nick or password").is_empty());
    assert_eq!(app.conn, Conn::Registering);
    assert!(app.prompt.is_some());
    let lobby = shown(&app.tabs[0]);
    assert!(
        lobby.contains(&"!!! wrong password for alice".to_owned()),
        "{lobby:#?}"
    );
    assert!(last(&app.tabs[0]).contains("type the password for alice again"));
    assert_eq!(
        sent(&enter(&mut app, "right-password")),
        ["LOGIN alice right-password"]
    );
    server(&mut app, "OK LOGIN alice");
    assert_eq!(app.conn, Conn::Online);
    // The next connection logs in with the right one, not the wrong one given first.
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_millis(250),
        },
    );
    net(&mut app, NetEvent::Connected);
    assert_eq!(
        sent(&server(&mut app, REGISTERED)),
        ["LOGIN alice right-password"]
    );
}

#[test]
fn issue_16_esc_at_the_prompt_goes_on_as_a_guest() {
    let (mut app, _) = refused_as_registered(None);
    assert_eq!(sent(&key(&mut app, KeyCode::Esc)), ["NICK alice_"]);
    assert!(app.prompt.is_none());
    server(&mut app, "OK NICK alice_");
    assert_eq!((app.conn, app.nick.as_str()), (Conn::Online, "alice_"));
    assert!(
        last(&app.tabs[0]).contains("alice is a registered nick, so you are alice_, a guest"),
        "{:#?}",
        shown(&app.tabs[0])
    );
    // A reconnect does not ask again: the user chose.
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_millis(250),
        },
    );
    net(&mut app, NetEvent::Connected);
    assert_eq!(sent(&server(&mut app, REGISTERED)), ["NICK alice_"]);
    assert!(app.prompt.is_none());
}

#[test]
fn issue_16_too_many_attempts_waits_as_the_server_says_before_trying_again() {
    let (mut app, _) = refused_as_registered(Some("correct-horse"));
    let refusal = "ERR TOO_MANY_ATTEMPTS too many failed logins; try again in 2 s";
    assert!(server(&mut app, refusal).is_empty());
    assert!(
        last(&app.tabs[0])
            .contains("too many failed logins; try again in 2 s; logging in again in 2 s"),
        "{:#?}",
        shown(&app.tabs[0])
    );
    // Two seconds at least: the first tick may come at once after the refusal.
    assert!(sent(&tick(&mut app)).is_empty());
    assert!(sent(&tick(&mut app)).is_empty());
    assert_eq!(sent(&tick(&mut app)), ["LOGIN alice correct-horse"]);
    assert!(sent(&tick(&mut app)).is_empty());
    server(&mut app, "OK LOGIN alice");
    assert_eq!(app.conn, Conn::Online);
}

#[test]
fn issue_16_every_reconnect_logs_in_again_before_resuming() {
    let (mut app, _) = refused_as_registered(Some("correct-horse"));
    server(&mut app, "OK LOGIN alice");
    server(&mut app, "@41 ALL bob hello");
    net(
        &mut app,
        NetEvent::Lost {
            reason: "the server closed the connection".into(),
            retry_in: Duration::from_millis(250),
        },
    );
    assert_eq!(sent(&net(&mut app, NetEvent::Connected)), CONNECT);
    for answer in CAPS_ON {
        server(&mut app, answer);
    }
    // Nothing is asked of the history before the login is through.
    assert_eq!(
        sent(&server(&mut app, REGISTERED)),
        ["LOGIN alice correct-horse"]
    );
    assert_eq!(
        sent(&server(&mut app, "OK LOGIN alice")),
        [
            "WHO",
            "HISTORY * 1000 AFTER 41",
            "PING chat-waiting-delivered"
        ]
    );
    let lobby = shown(&app.tabs[0]);
    assert!(
        lobby[lobby.len() - 2].starts_with("-!- logged in as alice"),
        "{lobby:#?}"
    );
    assert_eq!(
        last(&app.tabs[0]),
        "-!- reconnected to 127.0.0.1:7878 as alice"
    );
}

#[test]
fn issue_16_logged_in_elsewhere_stops_reconnecting_and_says_so() {
    let (mut app, _) = refused_as_registered(Some("correct-horse"));
    server(&mut app, "OK LOGIN alice");
    let effects = server(&mut app, "BYE logged in elsewhere");
    assert_eq!(effects, [Effect::Disconnect]);
    assert_eq!(app.conn, Conn::LoggedInElsewhere);
    assert!(
        last(&app.tabs[0]).contains("another client logged in as alice")
            && last(&app.tabs[0]).contains("not reconnecting"),
        "{:#?}",
        shown(&app.tabs[0])
    );
    let before = shown(&app.tabs[0]).len();
    // What the network side still reports while it stops changes nothing.
    let lost = NetEvent::Lost {
        reason: "the server closed the connection".into(),
        retry_in: Duration::from_millis(250),
    };
    assert!(net(&mut app, lost).is_empty());
    assert!(net(&mut app, NetEvent::Connected).is_empty());
    assert_eq!(app.conn, Conn::LoggedInElsewhere);
    assert_eq!(shown(&app.tabs[0]).len(), before);
    // Ctrl-C leaves at once: there is no connection to say goodbye on.
    let effects = key_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(effects, [Effect::Exit]);
}

#[test]
fn issue_16_the_account_commands_and_their_answers_in_plain_words() {
    let mut app = online();
    assert_eq!(
        sent(&enter(&mut app, "/register first-password")),
        ["REGISTER first-password"]
    );
    assert_eq!(last(app.tab()), "--- /register ***");
    server(&mut app, "OK REGISTER alice");
    assert!(last(&app.tabs[0]).contains("alice is registered now, and you are logged in to it"));
    assert_eq!(
        sent(&enter(&mut app, "/password first-password second-password")),
        ["PASSWORD first-password second-password"]
    );
    assert_eq!(last(app.tab()), "--- /password *** ***");
    server(&mut app, "ERR BAD_LOGIN wrong nick or password");
    assert_eq!(
        last(&app.tabs[0]),
        "!!! password not changed: the old one is wrong"
    );
    enter(&mut app, "/password first-password second-password");
    server(&mut app, "OK PASSWORD");
    assert_eq!(last(&app.tabs[0]), "-!- password changed");
    // The new password is the one a reconnect logs in with.
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_millis(250),
        },
    );
    net(&mut app, NetEvent::Connected);
    assert_eq!(
        sent(&server(&mut app, REGISTERED)),
        ["LOGIN alice second-password"]
    );
    server(&mut app, "OK LOGIN alice");
    assert_eq!(
        sent(&enter(&mut app, "/unregister second-password")),
        ["UNREGISTER second-password"]
    );
    server(&mut app, "OK UNREGISTER alice");
    assert!(last(&app.tabs[0]).contains("alice is no longer registered"));
    // A weak password is not sent, and the message does not quote it.
    assert!(sent(&enter(&mut app, "/register tiny-pw")).is_empty());
    assert_eq!(
        last(app.tab()),
        "!!! not sent: a password has 8 to 128 bytes and no spaces; this one is too short"
    );
    let everything = everything_shown(&app);
    for password in ["first-password", "second-password", "tiny-pw"] {
        assert!(!everything.contains(password), "{password}: {everything}");
    }
}

#[test]
fn issue_16_login_to_another_account_renames_and_the_history_keeps_no_password() {
    let mut app = online();
    assert_eq!(
        sent(&enter(&mut app, "/login bob bobs-password")),
        ["LOGIN bob bobs-password"]
    );
    assert_eq!(last(app.tab()), "--- /login bob ***");
    server(&mut app, "OK LOGIN bob");
    assert_eq!((app.conn, app.nick.as_str()), (Conn::Online, "bob"));
    assert_eq!(app.wanted.as_str(), "bob");
    let lobby = shown(&app.tabs[0]);
    assert!(
        lobby[lobby.len() - 2].starts_with("-!- logged in as bob"),
        "{lobby:#?}"
    );
    assert_eq!(last(&app.tabs[0]), "-!- you are now known as bob");
    // Without the password, the prompt asks for it; Esc gives up.
    assert!(sent(&enter(&mut app, "/login carol")).is_empty());
    assert_eq!(app.prompt.as_ref().unwrap().nick.as_str(), "carol");
    key(&mut app, KeyCode::Esc);
    assert!(app.prompt.is_none());
    assert_eq!(last(app.tab()), "--- not logged in to carol");
    // Up gives `/login carol`, then `/login bob` without its password: Enter asks for it.
    assert_eq!(
        app.editor.history().collect::<Vec<_>>(),
        ["/login bob", "/login carol"]
    );
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.editor.text(), "/login bob");
    enter(&mut app, "");
    assert_eq!(app.prompt.as_ref().unwrap().nick.as_str(), "bob");
    // A paste goes into the prompt, its first line only, and is sent on Enter.
    update(&mut app, Event::Paste("pasted-password\nmore".into()), at());
    assert_eq!(
        sent(&key(&mut app, KeyCode::Enter)),
        ["LOGIN bob pasted-password"]
    );
    // The commands that only carry passwords are not kept at all.
    enter(&mut app, "/unregister some-password");
    enter(&mut app, "/password old-password new-password");
    assert_eq!(
        app.editor.history().collect::<Vec<_>>(),
        ["/login bob", "/login carol", "/login bob"]
    );
    let everything = everything_shown(&app);
    for password in [
        "bobs-password",
        "pasted-password",
        "some-password",
        "old-password",
    ] {
        assert!(!everything.contains(password), "{password}: {everything}");
    }
}

#[test]
fn issue_16_a_reconnect_while_the_password_is_typed_keeps_the_prompt() {
    // The server closes a connection that does not register in time: the user may still be
    // typing when it does.
    let (mut app, _) = refused_as_registered(None);
    for c in "half".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    net(
        &mut app,
        NetEvent::Lost {
            reason: "the server closed the connection".into(),
            retry_in: Duration::from_millis(250),
        },
    );
    net(&mut app, NetEvent::Connected);
    let told = shown(&app.tabs[0]).len();
    assert!(sent(&server(&mut app, REGISTERED)).is_empty());
    assert_eq!(shown(&app.tabs[0]).len(), told);
    assert_eq!(app.prompt.as_ref().unwrap().typed_chars(), 4);
    for c in "-typed".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(
        sent(&key(&mut app, KeyCode::Enter)),
        ["LOGIN alice half-typed"]
    );
    // Enter while there is no connection: kept, and tried when the server asks.
    let (mut app, _) = refused_as_registered(None);
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_millis(250),
        },
    );
    enter(&mut app, "offline-typed");
    assert!(last(app.tab()).contains("tried once the connection is back"));
    net(&mut app, NetEvent::Connected);
    assert_eq!(
        sent(&server(&mut app, REGISTERED)),
        ["LOGIN alice offline-typed"]
    );
}

#[test]
fn issue_16_messages_that_waited_show_in_their_senders_tabs_with_their_time() {
    let (mut app, _) = refused_as_registered(Some("correct-horse"));
    server(&mut app, "OK LOGIN alice");
    for line in [
        "HIST bob 7 2026-12-07T01:02:03.000Z MSG bob are you there?",
        "HIST bob 9 2026-12-07T01:05:00.000Z MSG bob call me",
        "END HISTORY bob 2",
        "HIST carol 8 2026-12-07T01:03:00.000Z MSG carol lunch?",
        "END HISTORY carol 1",
    ] {
        server(&mut app, line);
    }
    let tab = |app: &App, who: &str| {
        let index = app
            .tabs
            .iter()
            .position(|tab| tab.kind == TabKind::Direct(nick(who)))
            .unwrap_or_else(|| panic!("a tab for {who}"));
        shown(&app.tabs[index])
    };
    let bob = tab(&app, "bob");
    assert!(
        bob[0].ends_with("are you there?") && bob[1].ends_with("call me"),
        "{bob:#?}"
    );
    assert!(tab(&app, "carol")[0].ends_with("lunch?"));
    let said = everything_shown(&app);
    assert!(
        said.contains("2 messages from bob waited for you"),
        "{said}"
    );
    assert!(
        said.contains("1 message from carol waited for you"),
        "{said}"
    );
    // Their times are when they were sent, not when they came.
    let times: Vec<_> = app
        .tabs
        .iter()
        .flat_map(|t| t.lines())
        .map(|l| l.time)
        .collect();
    assert!(
        times
            .iter()
            .any(|time| time.format("%M:%S").to_string() == "02:03")
    );
    // A message to an account that is offline is said to wait, in its tab.
    server(&mut app, "OK STORED dave");
    assert!(tab(&app, "dave")[0].contains("dave is offline: the message waits"));
}
