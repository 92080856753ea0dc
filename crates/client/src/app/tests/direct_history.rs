//! Direct tabs and the direct messages the server keeps for a logged-in account (issue 16):
//! a tab opened while logged in shows its latest lines above, once each; nothing is asked
//! before the messages that waited for the login are in, nor as a guest; after a reconnect
//! each direct tab resumes once the login is back, its missed lines under their rule, above
//! the messages that waited; PgUp loads older lines; a refusal is quiet.
//!
//! Out of scope: the history of the lobby and rooms (`history`); the login itself
//! (`accounts`).

use super::*;
use crate::password::Secret;

const REGISTERED: &str = "ERR NICK_REGISTERED alice is registered; LOGIN alice <password>";

/// The barrier after `OK LOGIN`, and its answer.
const BARRIER: &str = "PING chat-waiting-delivered";
const BARRIER_ANSWER: &str = "PONG chat-waiting-delivered";

/// `HIST <with> <id> <time> MSG <from> <text>`: a direct line between us and `with`, sent
/// by `from`, at 11:58:`sec` UTC.
fn hist(with: &str, id: u64, sec: u32, from: &str, text: &str) -> String {
    format!("HIST {with} {id} 2026-12-06T11:58:{sec:02}.000Z MSG {from} {text}")
}

/// Registration of `alice` on a new connection, her nick registered and the password
/// given: returns what `OK LOGIN` made the client send.
fn log_in(app: &mut App) -> Vec<String> {
    assert_eq!(sent(&net(app, NetEvent::Connected)), CONNECT);
    for answer in CAPS_ON {
        server(app, answer);
    }
    assert_eq!(
        sent(&server(app, REGISTERED)),
        ["LOGIN alice correct-horse"]
    );
    sent(&server(app, "OK LOGIN alice"))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// An app logged in to the account `alice`, every capability on, the messages that waited
/// for the login (none) in.
fn logged_in() -> App {
    let mut app = App::new("127.0.0.1:7878", nick("alice"), (80, 24));
    app.remember_password(Secret::new("correct-horse"));
    assert_eq!(log_in(&mut app), ["WHO", BARRIER]);
    server(&mut app, "WHO alice bob");
    server(&mut app, "END WHO");
    assert!(sent(&server(&mut app, BARRIER_ANSWER)).is_empty());
    app
}

fn lose(app: &mut App) {
    net(
        app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_millis(250),
        },
    );
}

fn direct_tab(app: &App, who: &str) -> usize {
    app.tabs
        .iter()
        .position(|tab| tab.kind == TabKind::Direct(nick(who)))
        .unwrap_or_else(|| panic!("no tab for {who}"))
}

fn count(lines: &[String], line: &str) -> usize {
    lines.iter().filter(|l| *l == line).count()
}

#[test]
fn issue_16_a_direct_tab_opened_while_logged_in_shows_its_latest_lines_above_once() {
    let mut app = logged_in();
    // The line that opens the tab is in the answer too.
    assert_eq!(
        sent(&server(&mut app, "@20 MSG bob are you there?")),
        ["HISTORY bob 50"]
    );
    for line in [
        hist("bob", 10, 1, "bob", "lunch?"),
        hist("bob", 11, 2, "alice", "/me nods"),
        hist("bob", 20, 3, "bob", "are you there?"),
    ] {
        assert!(sent(&server(&mut app, &line)).is_empty());
    }
    assert!(sent(&server(&mut app, "END HISTORY bob 3")).is_empty());
    let index = direct_tab(&app, "bob");
    assert_eq!(
        shown(&app.tabs[index]),
        [
            "*bob* lunch?",
            "* alice nods",
            "── 2 earlier lines above, new below ──",
            "*bob* are you there?",
        ]
    );
    // Our own line is ours, with the time it was sent; the old lines are not unread.
    let tab = &app.tabs[index];
    assert!(matches!(tab.lines()[1].body, Body::Chat { own: true, .. }));
    assert_eq!(
        tab.lines()[0].time,
        NaiveTime::from_hms_opt(11, 58, 1).unwrap()
    );
    assert_eq!(tab.unread, 1);
    // A tab opened by our own line: that line comes back in the answer, shown once.
    assert_eq!(
        sent(&enter(&mut app, "/msg carol hi there")),
        ["MSG carol hi there", "HISTORY carol 50"]
    );
    server(&mut app, &hist("carol", 5, 1, "carol", "long time no see"));
    server(&mut app, &hist("carol", 30, 9, "alice", "hi there"));
    server(&mut app, "END HISTORY carol 2");
    assert_eq!(
        shown(app.tab()),
        [
            "*carol* long time no see",
            "── 1 earlier line above, new below ──",
            "*alice* hi there",
        ]
    );
    // Asked once per tab: more lines in it ask nothing.
    assert!(sent(&server(&mut app, "@31 MSG carol still here")).is_empty());
}

#[test]
fn issue_16_a_guest_never_asks_for_direct_history() {
    let mut app = online();
    assert!(sent(&server(&mut app, "@20 MSG bob psst")).is_empty());
    assert_eq!(sent(&enter(&mut app, "/msg bob hi")), ["MSG bob hi"]);
    assert!(sent(&key(&mut app, KeyCode::PageUp)).is_empty());
    // Nor after a reconnect, still a guest.
    lose(&mut app);
    net(&mut app, NetEvent::Connected);
    for answer in CAPS_ON {
        server(&mut app, answer);
    }
    let effects = server(&mut app, "OK NICK alice");
    assert_eq!(sent(&effects), ["WHO", "HISTORY * 1000 AFTER 20"]);
    server(&mut app, "END HISTORY * 0");
    assert!(sent(&key(&mut app, KeyCode::PageUp)).is_empty());
    // Renamed away from the account, a logged-in client is a guest too.
    let mut app = logged_in();
    enter(&mut app, "/nick al");
    server(&mut app, "OK NICK al");
    assert!(sent(&server(&mut app, "@40 MSG bob hi al")).is_empty());
}

#[test]
fn issue_16_messages_that_waited_are_not_taken_for_an_answer_nor_shown_twice() {
    let mut app = App::new("127.0.0.1:7878", nick("alice"), (80, 24));
    app.remember_password(Secret::new("correct-horse"));
    assert_eq!(log_in(&mut app), ["WHO", BARRIER]);
    // The tab opened by a message that waited asks nothing until the barrier is answered,
    // nor does one opened by a live line meanwhile.
    for line in [
        hist("bob", 7, 3, "bob", "are you there?"),
        hist("bob", 9, 5, "bob", "call me"),
        "END HISTORY bob 2".to_owned(),
        "@12 MSG carol hello".to_owned(),
    ] {
        assert!(sent(&server(&mut app, &line)).is_empty(), "{line}");
    }
    assert!(
        shown(app.tab())
            .last()
            .unwrap()
            .contains("2 messages from bob waited for you")
    );
    assert_eq!(
        sent(&server(&mut app, BARRIER_ANSWER)),
        ["HISTORY bob 50", "HISTORY carol 50"]
    );
    // The answer holds the messages that waited, with the same ids.
    server(&mut app, &hist("bob", 3, 1, "alice", "back soon"));
    server(&mut app, &hist("bob", 7, 3, "bob", "are you there?"));
    server(&mut app, &hist("bob", 9, 5, "bob", "call me"));
    server(&mut app, "END HISTORY bob 3");
    server(&mut app, "END HISTORY carol 0");
    let bob = shown(&app.tabs[direct_tab(&app, "bob")]);
    assert_eq!(
        bob,
        [
            "*alice* back soon",
            "── 1 earlier line above, new below ──",
            "*bob* are you there?",
            "*bob* call me",
        ]
    );
    assert_eq!(
        shown(&app.tabs[direct_tab(&app, "carol")]),
        ["*carol* hello"]
    );
}

#[test]
fn issue_16_after_a_reconnect_a_direct_tab_resumes_once_logged_in_again() {
    let mut app = logged_in();
    server(&mut app, "@20 MSG bob hello");
    server(&mut app, "END HISTORY bob 0");
    enter(&mut app, "/msg bob I am here");
    lose(&mut app);
    // Not before the login is through (the server would answer LOGIN_REQUIRED), and not
    // before the messages that waited for it are in.
    assert_eq!(
        log_in(&mut app),
        ["WHO", "HISTORY * 1000 AFTER 20", BARRIER]
    );
    server(&mut app, "END HISTORY * 0");
    assert!(sent(&server(&mut app, &hist("bob", 40, 9, "bob", "stored"))).is_empty());
    assert!(sent(&server(&mut app, "END HISTORY bob 1")).is_empty());
    assert_eq!(
        sent(&server(&mut app, BARRIER_ANSWER)),
        ["HISTORY bob 1000 AFTER 20"]
    );
    // Our line from before the loss, a missed line, our line from another client of the
    // account while away, and the message that waited.
    server(&mut app, &hist("bob", 21, 1, "alice", "I am here"));
    server(&mut app, &hist("bob", 25, 2, "bob", "missed"));
    server(&mut app, &hist("bob", 26, 3, "alice", "from the phone"));
    server(&mut app, &hist("bob", 40, 9, "bob", "stored"));
    assert_eq!(
        sent(&server(&mut app, "END HISTORY bob 4")),
        ["HISTORY bob 1000 AFTER 40"]
    );
    server(&mut app, "@41 MSG bob live");
    assert!(sent(&server(&mut app, "END HISTORY bob 0")).is_empty());
    let lines = shown(app.tab());
    let rule = lines
        .iter()
        .position(|l| l == "── 2 missed while away ──")
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(lines[rule - 1].starts_with("-!- reconnected"), "{lines:#?}");
    assert_eq!(
        lines[rule + 1..],
        [
            "*bob* missed",
            "*alice* from the phone",
            "*bob* stored",
            "--- 1 message from bob waited for you",
            "*bob* live",
        ]
    );
    for line in ["*bob* hello", "*alice* I am here", "*bob* stored"] {
        assert_eq!(count(&lines, line), 1, "{line}: {lines:#?}");
    }
}

#[test]
fn issue_16_pgup_at_the_top_of_a_direct_tab_loads_older_lines() {
    let mut app = logged_in();
    enter(&mut app, "/msg bob hi");
    server(&mut app, &hist("bob", 50, 5, "alice", "hi"));
    server(&mut app, "END HISTORY bob 1");
    assert_eq!(
        sent(&key(&mut app, KeyCode::PageUp)),
        ["HISTORY bob 50 BEFORE 50"]
    );
    server(&mut app, &hist("bob", 30, 1, "bob", "older"));
    server(&mut app, "END HISTORY bob 1");
    assert_eq!(shown(app.tab()), ["*bob* older", "*alice* hi"]);
    assert_eq!(
        sent(&key(&mut app, KeyCode::PageUp)),
        ["HISTORY bob 50 BEFORE 30"]
    );
    server(&mut app, "END HISTORY bob 0");
    assert_eq!(shown(app.tab())[0], "── no older lines ──");
}

#[test]
fn issue_16_login_required_for_a_direct_history_is_quiet_and_stops_asking() {
    let mut app = logged_in();
    assert_eq!(
        sent(&enter(&mut app, "/msg bob hi")),
        ["MSG bob hi", "HISTORY bob 50"]
    );
    let before = shown(app.tab());
    let refusal = "ERR LOGIN_REQUIRED only a logged-in account can do that";
    assert!(sent(&server(&mut app, refusal)).is_empty());
    assert_eq!(shown(app.tab()), before, "nothing said");
    assert!(sent(&key(&mut app, KeyCode::PageUp)).is_empty());
    assert_eq!(sent(&enter(&mut app, "/msg carol hi")), ["MSG carol hi"]);
    // The same error for a line of the user's is still shown.
    enter(&mut app, "/register #tea");
    server(&mut app, refusal);
    assert!(last(app.tab()).starts_with("!!! only a logged-in account"));
}

#[test]
fn issue_16_a_new_account_has_no_direct_history_to_ask() {
    let mut app = online();
    server(&mut app, "@20 MSG bob psst");
    assert_eq!(
        sent(&enter(&mut app, "/register correct-horse")),
        ["REGISTER correct-horse"]
    );
    assert!(sent(&server(&mut app, "OK REGISTER alice")).is_empty());
    // A tab opened since asks, no barrier being needed without a login.
    assert_eq!(
        sent(&server(&mut app, "@21 MSG carol hello")),
        ["HISTORY carol 50"]
    );
}
