//! History and resume (issue 15): what is asked after a reconnect, on joining a room and by
//! PgUp at the top of a tab, and where the answers go: in place, each line once, under or
//! above their rule; answers for closed tabs dropped; older servers left alone.

use super::*;
use chatd_proto::MessageId;

/// `HIST` of a lobby line at 11:58:`sec` UTC.
fn hist_all(id: u64, sec: u32, from: &str, text: &str) -> String {
    format!("HIST * {id} 2026-12-06T11:58:{sec:02}.000Z ALL {from} {text}")
}

/// Loses the connection and registers again, on a server that answers the capabilities
/// with `answers`; returns what `OK NICK` made the client send.
fn reconnect_with(app: &mut App, answers: [&str; 6]) -> Vec<String> {
    net(
        app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_millis(250),
        },
    );
    net(app, NetEvent::Connecting { attempt: 1 });
    net(app, NetEvent::Connected);
    for answer in answers {
        server(app, answer);
    }
    sent(&server(app, "OK NICK alice"))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn reconnect(app: &mut App) -> Vec<String> {
    reconnect_with(app, CAPS_ON)
}

#[test]
fn issue_15_a_reconnect_shows_the_missed_lines_in_place_once_each_under_a_rule() {
    let mut app = online();
    server(&mut app, "@10 ALL bob before");
    assert_eq!(reconnect(&mut app), ["WHO", "HISTORY * 1000 AFTER 10"]);
    // A line said after the reconnect arrives live before the answer, which holds it too.
    server(&mut app, "@13 ALL bob live");
    server(&mut app, &hist_all(11, 1, "bob", "one"));
    server(&mut app, &hist_all(12, 2, "carol", "two"));
    server(&mut app, &hist_all(13, 3, "bob", "live"));
    let effects = server(&mut app, "END HISTORY * 3");
    assert_eq!(sent(&effects), ["HISTORY * 1000 AFTER 13"]);
    assert!(server(&mut app, "END HISTORY * 0").is_empty());
    let lines = shown(&app.tabs[0]);
    let from = lines.iter().position(|l| l == "<bob> before").unwrap();
    assert!(lines[from + 1].starts_with("-!- connection lost"));
    assert!(lines[from + 2].starts_with("-!- reconnected"));
    assert_eq!(
        lines[from + 3..],
        [
            "── 2 missed while away ──",
            "<bob> one",
            "<carol> two",
            "<bob> live",
        ]
    );
    // Each missed line has the time it was sent (local time; the offset here is UTC).
    let tab = &app.tabs[0];
    let one = &tab.lines()[from + 4];
    assert_eq!(one.time, NaiveTime::from_hms_opt(11, 58, 1).unwrap());
    assert_eq!(one.id, MessageId::new(11));
    // The same line seen live again is not shown twice.
    server(&mut app, "@12 ALL carol two");
    assert_eq!(shown(&app.tabs[0]).len(), lines.len());
    // The next reconnect resumes after the newest line seen.
    assert_eq!(reconnect(&mut app), ["WHO", "HISTORY * 1000 AFTER 13"]);
}

#[test]
fn issue_15_history_times_are_shown_in_local_time() {
    let mut app = online();
    app.utc_offset = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
    server(&mut app, "@10 ALL bob before");
    reconnect(&mut app);
    server(&mut app, &hist_all(11, 1, "bob", "one"));
    let line = app.tabs[0].lines().back().unwrap();
    assert_eq!(line.time, NaiveTime::from_hms_opt(13, 58, 1).unwrap());
}

#[test]
fn issue_15_our_own_lines_from_before_the_loss_are_not_shown_again() {
    let mut app = online();
    server(&mut app, "@10 ALL bob before");
    enter(&mut app, "mine");
    enter(&mut app, "/me waves");
    reconnect(&mut app);
    server(&mut app, &hist_all(11, 1, "alice", "mine"));
    server(&mut app, &hist_all(12, 2, "alice", "/me waves"));
    server(&mut app, &hist_all(13, 3, "bob", "missed"));
    server(&mut app, "END HISTORY * 3");
    server(&mut app, "END HISTORY * 0");
    let lines = shown(&app.tabs[0]);
    assert_eq!(lines.iter().filter(|l| *l == "<alice> mine").count(), 1);
    assert_eq!(lines.iter().filter(|l| *l == "* alice waves").count(), 1);
    assert_eq!(
        lines[lines.len() - 2..],
        ["── 1 missed while away ──", "<bob> missed"]
    );
}

#[test]
fn issue_15_nothing_missed_adds_no_rule_and_a_tab_without_ids_resumes_after_the_newest() {
    let mut app = online();
    enter(&mut app, "/join #rust");
    server(&mut app, "OK JOIN #rust");
    server(&mut app, "END HISTORY #rust 0");
    server(&mut app, "@20 ALL bob hi");
    let before = shown(&app.tabs[0]).len();
    reconnect(&mut app);
    server(&mut app, "END HISTORY * 0");
    assert_eq!(
        shown(&app.tabs[0]).len(),
        before + 2,
        "the two notices only"
    );
    // #rust never saw an id: it resumes after the newest one seen before the loss.
    let effects = server(&mut app, "OK JOIN #rust");
    assert_eq!(sent(&effects), ["HISTORY #rust 1000 AFTER 20"]);
}

#[test]
fn issue_15_a_room_joined_again_resumes_above_the_join() {
    let mut app = in_rust();
    server(&mut app, "@30 MSG #rust bob before");
    // A guest's direct conversation is not asked for: the server keeps nothing for a guest.
    server(&mut app, "@31 MSG bob psst");
    let joins = reconnect(&mut app);
    assert_eq!(joins, ["WHO", "JOIN #rust", "HISTORY * 1000 AFTER 31"]);
    let effects = server(&mut app, "OK JOIN #rust");
    assert_eq!(sent(&effects), ["HISTORY #rust 1000 AFTER 30"]);
    server(&mut app, "@33 MSG #rust bob after");
    server(
        &mut app,
        "HIST #rust 32 2026-12-06T11:59:00.000Z MSG #rust carol missed",
    );
    server(&mut app, "END HISTORY #rust 1");
    server(&mut app, "END HISTORY #rust 0");
    let lines = shown(&app.tabs[1]);
    // The tab is shown, so the loss and the reconnect are told in it too.
    let from = lines.iter().position(|l| l == "<bob> before").unwrap();
    assert!(lines[from + 2].starts_with("-!- reconnected"));
    assert_eq!(
        lines[from + 3..],
        [
            "── 1 missed while away ──",
            "<carol> missed",
            "-!- you joined #rust again",
            "<bob> after",
        ]
    );
}

#[test]
fn issue_15_joining_a_room_shows_its_recent_lines_above_the_join() {
    let mut app = online();
    assert_eq!(sent(&enter(&mut app, "/join #tea")), ["JOIN #tea"]);
    let effects = server(&mut app, "OK JOIN #tea");
    assert_eq!(sent(&effects), ["HISTORY #tea 50"]);
    server(&mut app, "WHO #tea alice bob");
    server(&mut app, "END WHO #tea");
    server(
        &mut app,
        "HIST #tea 5 2026-12-06T10:00:00.000Z MSG #tea bob old one",
    );
    server(
        &mut app,
        "HIST #tea 6 2026-12-06T10:01:00.000Z MSG #tea bob /me pours",
    );
    server(&mut app, "END HISTORY #tea 2");
    assert_eq!(
        shown(app.tab()),
        [
            "<bob> old one",
            "* bob pours",
            "── 2 earlier lines above, new below ──",
            "-!- you joined #tea",
        ]
    );
    assert_eq!(app.tab().unread, 0);
}

#[test]
fn issue_15_an_answer_for_a_tab_closed_meanwhile_goes_nowhere() {
    let mut app = online();
    enter(&mut app, "/join #tea");
    server(&mut app, "OK JOIN #tea");
    assert_eq!(sent(&enter(&mut app, "/close")), ["PART #tea"]);
    server(&mut app, "OK PART #tea");
    // Joined again before the first answer came: the new tab gets only its own answer.
    enter(&mut app, "/join #tea");
    assert_eq!(sent(&server(&mut app, "OK JOIN #tea")), ["HISTORY #tea 50"]);
    let lobby = shown(&app.tabs[0]);
    server(
        &mut app,
        "HIST #tea 5 2026-12-06T10:00:00.000Z MSG #tea bob first answer",
    );
    server(&mut app, "END HISTORY #tea 1");
    server(
        &mut app,
        "HIST #tea 5 2026-12-06T10:00:00.000Z MSG #tea bob second answer",
    );
    server(&mut app, "END HISTORY #tea 1");
    assert_eq!(shown(&app.tabs[0]), lobby);
    let tea = shown(app.tab());
    assert!(!tea.iter().any(|l| l.contains("first")), "{tea:?}");
    assert_eq!(tea[0], "<bob> second answer");
}

#[test]
fn issue_15_pgup_at_the_top_loads_older_lines_keeping_the_view() {
    let mut app = online();
    for id in 100..110 {
        server(&mut app, &format!("@{id} ALL bob line {id}"));
    }
    // Not at the top yet: 2 notices and 10 lines fit in the pane, so one PgUp reaches it.
    let effects = key(&mut app, KeyCode::PageUp);
    assert_eq!(sent(&effects), ["HISTORY * 50 BEFORE 100"]);
    // A second PgUp while the first is not answered asks nothing more.
    assert!(sent(&key(&mut app, KeyCode::PageUp)).is_empty());
    let scroll = app.tab().scroll;
    let newest_in_view = |app: &App| {
        let tab = app.tab();
        tab.lines()[tab.lines().len() - 1 - tab.scroll]
            .body
            .to_string()
    };
    let in_view = newest_in_view(&app);
    // The page overlaps what is shown (the server's page edge): that line is not repeated.
    server(&mut app, &hist_all(98, 1, "carol", "older a"));
    server(&mut app, &hist_all(99, 2, "carol", "older b"));
    server(&mut app, &hist_all(100, 3, "bob", "line 100"));
    server(&mut app, "END HISTORY * 3");
    let lines = shown(app.tab());
    assert_eq!(lines[..2], ["<carol> older a", "<carol> older b"]);
    assert_eq!(lines.iter().filter(|l| *l == "<bob> line 100").count(), 1);
    assert_eq!(app.tab().scroll, scroll);
    assert_eq!(newest_in_view(&app), in_view, "the view stays put");
    // The next PgUp at the top asks before the oldest shown; nothing older is said so, once.
    assert_eq!(
        sent(&key(&mut app, KeyCode::PageUp)),
        ["HISTORY * 50 BEFORE 98"]
    );
    server(&mut app, "END HISTORY * 0");
    assert_eq!(shown(app.tab())[0], "── no older lines ──");
    assert!(sent(&key(&mut app, KeyCode::PageUp)).is_empty());
}

#[test]
fn issue_15_a_resume_pages_on_until_the_server_has_no_more() {
    let mut app = online();
    server(&mut app, "@1 ALL bob before");
    reconnect(&mut app);
    // A page may hold fewer lines than asked (the server's byte cap): only 0 ends it.
    server(&mut app, &hist_all(2, 1, "bob", "a"));
    assert_eq!(
        sent(&server(&mut app, "END HISTORY * 1")),
        ["HISTORY * 1000 AFTER 2"]
    );
    server(&mut app, &hist_all(3, 2, "bob", "b"));
    assert_eq!(
        sent(&server(&mut app, "END HISTORY * 1")),
        ["HISTORY * 1000 AFTER 3"]
    );
    assert!(sent(&server(&mut app, "END HISTORY * 0")).is_empty());
    let lines = shown(&app.tabs[0]);
    assert_eq!(
        lines[lines.len() - 3..],
        ["── 2 missed while away ──", "<bob> a", "<bob> b"]
    );
}

#[test]
fn issue_15_a_server_without_ids_is_asked_no_history() {
    let mut app = online_v1();
    server(&mut app, "ALL bob hi");
    enter(&mut app, "/join #tea");
    assert!(sent(&server(&mut app, "OK JOIN #tea")).is_empty());
    assert_eq!(reconnect_with(&mut app, [NO_CAP; 6]), ["WHO", "JOIN #tea"]);
    assert!(sent(&server(&mut app, "OK JOIN #tea")).is_empty());
    assert!(sent(&key(&mut app, KeyCode::PageUp)).is_empty());
}

#[test]
fn issue_15_a_server_without_history_refuses_quietly_once() {
    let mut app = online();
    server(&mut app, "@10 ALL bob hi");
    enter(&mut app, "/join #tea");
    assert_eq!(sent(&server(&mut app, "OK JOIN #tea")), ["HISTORY #tea 50"]);
    let before = shown(app.tab());
    assert!(server(&mut app, "ERR UNKNOWN_COMMAND unknown command HISTORY").is_empty());
    assert_eq!(shown(app.tab()), before, "nothing said");
    // Nothing more is asked on this connection.
    app.switch_to(0);
    assert!(sent(&key(&mut app, KeyCode::PageUp)).is_empty());
    // A request refused as a bad one is quiet too, and the user's own errors are still
    // shown.
    assert_eq!(
        reconnect(&mut app),
        ["WHO", "JOIN #tea", "HISTORY * 1000 AFTER 10"]
    );
    server(&mut app, "ERR BAD_HISTORY no history with bob");
    assert!(!last(app.tab()).starts_with("!!!"));
    server(&mut app, "ERR NOT_IN_ROOM you are not in #x");
    assert!(last(app.tab()).starts_with("!!! you are not in #x"));
}
