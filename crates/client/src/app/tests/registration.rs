//! Tests of registration, reconnects and nicks: suffixes while a nick is taken, taking it
//! back, telling a lost connection once, joining the rooms again.
//!
//! Out of scope: the other server lines (`replies`), `/commands` (`user_commands`).

use super::*;

#[test]
fn registration_sends_nick_then_who_and_fills_the_user_list_quietly() {
    let mut app = App::new("127.0.0.1:7878", nick("alice"), (80, 24));
    assert_eq!(app.conn, Conn::Connecting { attempt: 1 });
    net(&mut app, NetEvent::Connected);
    assert_eq!(app.conn, Conn::Registering);
    server(&mut app, "HELLO chatd 0.1.0 - type HELP for commands");
    server(&mut app, "OK NICK alice");
    assert_eq!(app.conn, Conn::Online);
    server(&mut app, "WHO alice");
    server(&mut app, "WHO Bob carol");
    server(&mut app, "END WHO");
    assert_eq!(names(&app.users), ["alice", "Bob", "carol"]);
    assert_eq!(
        shown(&app.tabs[0]),
        [
            "--- server: chatd 0.1.0 - type HELP for commands",
            "-!- connected to 127.0.0.1:7878 as alice",
        ]
    );
}

#[test]
fn a_taken_nick_gets_a_suffix_and_the_user_is_told() {
    let mut app = App::new("h:1", nick("alice"), (80, 24));
    net(&mut app, NetEvent::Connected);
    let effects = server(&mut app, "ERR NICK_TAKEN nick alice is already in use");
    assert_eq!(sent(&effects), ["NICK alice_"]);
    let effects = server(&mut app, "ERR NICK_TAKEN nick alice_ is already in use");
    assert_eq!(sent(&effects), ["NICK alice_2"]);
    server(&mut app, "OK NICK alice_2");
    assert_eq!(app.nick.as_str(), "alice_2");
    assert_eq!(app.wanted.as_str(), "alice");
    assert!(last(&app.tabs[0]).contains("alice is taken, so you are alice_2"));
    // No error line for the refusals along the way.
    assert!(!shown(&app.tabs[0]).iter().any(|l| l.starts_with("!!!")));
}

#[test]
fn registration_gives_up_after_many_taken_nicks() {
    let mut app = App::new("h:1", nick("alice"), (80, 24));
    net(&mut app, NetEvent::Connected);
    for _ in 0..MAX_NICK_ATTEMPTS {
        let effects = server(&mut app, "ERR NICK_TAKEN nick x is already in use");
        assert_eq!(sent(&effects).len(), 1);
    }
    let effects = server(&mut app, "ERR NICK_TAKEN nick x is already in use");
    assert!(effects.is_empty());
    assert!(last(app.tab()).contains("/nick NAME"));
    // The user can pick one while still registering.
    assert_eq!(sent(&enter(&mut app, "/nick zed")), ["NICK zed"]);
    server(&mut app, "OK NICK zed");
    assert_eq!((app.conn, app.nick.as_str()), (Conn::Online, "zed"));
}

#[test]
fn suffixed_nicks_stay_valid() {
    assert_eq!(suffixed(&nick("bob"), 1).as_str(), "bob_");
    assert_eq!(suffixed(&nick("bob"), 12).as_str(), "bob_12");
    let long = nick(&"a".repeat(MAX_NICK_LEN));
    let next = suffixed(&long, 20);
    assert_eq!(next.as_str().len(), MAX_NICK_LEN);
    assert!(next.as_str().ends_with("_20"));
}

#[test]
fn the_wanted_nick_is_taken_back_when_its_holder_quits() {
    let mut app = App::new("h:1", nick("alice"), (80, 24));
    net(&mut app, NetEvent::Connected);
    server(&mut app, "ERR NICK_TAKEN nick alice is already in use");
    server(&mut app, "OK NICK alice_");
    let effects = server(&mut app, "QUIT alice ping timeout");
    assert_eq!(sent(&effects), ["NICK alice"]);
    server(&mut app, "OK NICK alice");
    assert_eq!(app.nick.as_str(), "alice");
    assert_eq!(last(&app.tabs[0]), "-!- you have your nick back: alice");
}

#[test]
fn the_wanted_nick_is_taken_back_when_its_holder_renames_and_a_lost_race_is_quiet() {
    let mut app = App::new("h:1", nick("alice"), (80, 24));
    net(&mut app, NetEvent::Connected);
    server(&mut app, "ERR NICK_TAKEN nick alice is already in use");
    server(&mut app, "OK NICK alice_");
    let effects = server(&mut app, "NICK alice alicia");
    assert_eq!(sent(&effects), ["NICK alice"]);
    let before = app.tabs[0].lines().len();
    server(&mut app, "ERR NICK_TAKEN nick alice is already in use");
    assert_eq!(app.tabs[0].lines().len(), before);
    assert_eq!(app.nick.as_str(), "alice_");
}

#[test]
fn a_lost_connection_is_told_once_and_counted_down() {
    let mut app = online();
    net(
        &mut app,
        NetEvent::Lost {
            reason: "the server closed the connection".into(),
            retry_in: Duration::from_millis(1500),
        },
    );
    assert_eq!(app.conn, Conn::Waiting { retry_in: 2 });
    assert!(app.users.is_empty());
    assert!(last(&app.tabs[0]).starts_with("-!- connection lost: the server closed"));
    update(&mut app, Event::Tick, at());
    assert_eq!(app.conn, Conn::Waiting { retry_in: 1 });
    // Failed attempts after that change only the status.
    let lines = app.tabs[0].lines().len();
    net(&mut app, NetEvent::Connecting { attempt: 2 });
    assert_eq!(app.conn, Conn::Connecting { attempt: 2 });
    net(
        &mut app,
        NetEvent::Lost {
            reason: "connection refused".into(),
            retry_in: Duration::from_secs(1),
        },
    );
    assert_eq!(app.tabs[0].lines().len(), lines);
    // Typing while disconnected sends nothing and says so.
    assert!(enter(&mut app, "anyone?").is_empty());
    assert_eq!(last(&app.tabs[0]), "!!! not connected: nothing was sent");
}

#[test]
fn a_reconnect_claims_the_nick_again_refills_the_list_and_rejoins_the_rooms() {
    let mut app = in_rust();
    enter(&mut app, "/join #keyed secret");
    server(&mut app, "OK JOIN #keyed");
    server(&mut app, "END WHO #keyed");
    enter(&mut app, "/join #gone");
    server(&mut app, "OK JOIN #gone");
    enter(&mut app, "/part");
    server(&mut app, "OK PART #gone");
    let scrollback = app.tabs[1].lines().len();
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_millis(250),
        },
    );
    assert!(app.tabs[1].members.is_empty());
    net(&mut app, NetEvent::Connecting { attempt: 1 });
    assert_eq!(sent(&net(&mut app, NetEvent::Connected)), CONNECT);
    for answer in CAPS_ON {
        server(&mut app, answer);
    }
    let effects = server(&mut app, "OK NICK alice");
    assert_eq!(sent(&effects), ["WHO", "JOIN #rust", "JOIN #keyed secret"]);
    assert!(last(&app.tabs[0]).contains("reconnected to 127.0.0.1:7878 as alice"));
    server(&mut app, "WHO alice bob");
    server(&mut app, "END WHO");
    assert_eq!(names(&app.users), ["alice", "bob"]);
    // The rejoin does not switch tabs; the scrollback was kept.
    let shown_tab = app.current;
    server(&mut app, "OK JOIN #rust");
    server(&mut app, "WHO #rust alice bob");
    server(&mut app, "END WHO #rust");
    assert_eq!(app.current, shown_tab);
    assert!(app.tabs[1].lines().len() > scrollback);
    assert_eq!(names(&app.tabs[1].members), ["alice", "bob"]);
}

#[test]
fn lines_queued_for_nobody_are_not_sent_after_quit_while_disconnected() {
    let mut app = online();
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_secs(1),
        },
    );
    assert_eq!(enter(&mut app, "/quit"), [Effect::Exit]);
    assert_eq!(app.conn, Conn::Closed);
}

#[test]
fn issue_12_the_reconnect_notice_says_the_real_delay() {
    for (retry_in, text) in [
        (Duration::from_millis(250), "first try in 0.25 s"),
        (Duration::from_millis(500), "first try in 0.5 s"),
        (Duration::from_secs(1), "first try in 1 s"),
        (Duration::from_millis(1500), "first try in 1.5 s"),
        (Duration::from_secs(15), "first try in 15 s"),
    ] {
        let mut app = online();
        let reason = "the server closed the connection".to_owned();
        net(&mut app, NetEvent::Lost { reason, retry_in });
        let notice = last(&app.tabs[0]);
        assert!(
            notice.ends_with(&format!("reconnecting ({text})")),
            "{notice}"
        );
    }
}
