//! Tests of the protocol's extensions in the client (issue 12): the capabilities asked on
//! connect and an older server's refusals, `/me` and `ME` lines in every kind of tab,
//! `/away` and the away notices (shown once per text), a room's owner, and `/topic` as a
//! question told apart from a change.
//!
//! Out of scope: drawing the owner's `@`, an action and `away` (`ui`'s tests).

use chatd_proto::Capability;

use super::*;
use crate::app::AWAY_NOTICE_REPEAT;

fn at_time(h: u32, m: u32, s: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, s).unwrap()
}

/// A server line that arrives at `time`.
fn server_at(app: &mut App, line: &str, time: NaiveTime) -> Vec<Effect> {
    let reply = Reply::parse(line).unwrap();
    update(app, Event::Net(NetEvent::Line(reply)), time)
}

fn errors(tab: &Tab) -> Vec<String> {
    shown(tab)
        .into_iter()
        .filter(|l| l.starts_with("!!!"))
        .collect()
}

/// `in_rust()` on the server `online` made.
fn join_rust(mut app: App) -> App {
    enter(&mut app, "/join #rust");
    server(&mut app, "OK JOIN #rust");
    server(&mut app, "WHO #rust alice bob");
    server(&mut app, "END WHO #rust");
    app
}

#[test]
fn issue_12_capabilities_are_asked_before_nick_and_turned_on() {
    let app = online();
    for cap in [Capability::Actions, Capability::Away, Capability::Owner] {
        assert!(app.caps.has(cap), "{cap}");
    }
    // The answers are not shown.
    assert_eq!(
        shown(&app.tabs[0]),
        ["-!- connected to 127.0.0.1:7878 as alice"]
    );
}

#[test]
fn issue_12_an_older_server_refuses_quietly_and_the_client_works_as_before() {
    let mut app = join_rust(online_v1());
    assert!(!app.caps.extended());
    assert_eq!(errors(&app.tabs[0]), Vec::<String>::new());
    // `/me` goes as the message the server would have made of it, and shows as an action.
    assert_eq!(sent(&enter(&mut app, "/me waves")), ["MSG #rust /me waves"]);
    assert_eq!(last(app.tab()), "* alice waves");
    app.switch_to(0);
    assert_eq!(sent(&enter(&mut app, "/me waves")), ["ALL /me waves"]);
    assert_eq!(sent(&enter(&mut app, "/msg bob hi")), ["MSG bob hi"]);
    assert_eq!(sent(&enter(&mut app, "/me nods")), ["MSG bob /me nods"]);
    assert_eq!(last(app.tab()), "* alice nods");
    // `/away` is not sent, and the user is told why.
    assert!(sent(&enter(&mut app, "/away lunch")).is_empty());
    assert_eq!(
        last(app.tab()),
        "!!! this server does not know /away (it is older than this client): nothing was sent"
    );
    // `/topic` shows what the tab knows, as it did before servers answered the question.
    app.switch_to(1);
    server(&mut app, "TOPIC #rust bob tea");
    assert!(sent(&enter(&mut app, "/topic")).is_empty());
    assert_eq!(last(app.tab()), "--- topic of #rust: tea (set by bob)");
}

#[test]
fn issue_12_a_server_without_one_capability_refuses_it_quietly() {
    let answers = [
        "OK CAP actions",
        "ERR BAD_CAP no capability called away; there are actions and owner",
        "OK CAP owner",
        "OK CAP presence",
        "OK CAP ids",
        "OK CAP files",
    ];
    let mut app = online_with(answers);
    assert!(app.caps.has(Capability::Actions) && !app.caps.has(Capability::Away));
    assert_eq!(errors(&app.tabs[0]), Vec::<String>::new());
    assert!(sent(&enter(&mut app, "/away lunch")).is_empty());
    assert!(last(app.tab()).contains("does not know /away"));
}

#[test]
fn issue_12_messages_starting_with_me_show_as_actions() {
    let mut app = join_rust(online_v1());
    server(&mut app, "ALL bob /me waves at alice");
    assert_eq!(last(&app.tabs[0]), "* bob waves at alice");
    assert!(app.tabs[0].lines().back().unwrap().mention);
    server(&mut app, "MSG #rust bob /me pours tea");
    assert_eq!(last(&app.tabs[1]), "* bob pours tea");
    server(&mut app, "MSG bob /me nods");
    assert_eq!(last(&app.tabs[2]), "* bob nods");
    assert_eq!(app.tabs[2].unread, 1);
    // Not an action: no text after it, or no space.
    server(&mut app, "ALL bob /me ");
    assert_eq!(last(&app.tabs[0]), "<bob> /me ");
    server(&mut app, "ALL bob /meh");
    assert_eq!(last(&app.tabs[0]), "<bob> /meh");
}

#[test]
fn issue_12_me_goes_to_the_tabs_lobby_room_or_person() {
    let mut app = in_rust();
    assert_eq!(
        sent(&enter(&mut app, "/me pours tea")),
        ["ME #rust pours tea"]
    );
    assert_eq!(last(app.tab()), "* alice pours tea");
    assert!(matches!(
        app.tab().lines().back().unwrap().body,
        Body::Chat {
            own: true,
            action: true,
            direct: false,
            ..
        }
    ));
    app.switch_to(0);
    assert_eq!(sent(&enter(&mut app, "/me  waves  hi")), ["ME * waves  hi"]);
    assert_eq!(last(app.tab()), "* alice waves  hi");
    enter(&mut app, "/msg bob hi");
    assert_eq!(sent(&enter(&mut app, "/me nods")), ["ME bob nods"]);
    assert_eq!(last(app.tab()), "* alice nods");
    assert_eq!(app.tab().unread, 0);
    // Not in the room any more, not connected: nothing is sent, the user is told.
    app.tabs[1].joined = false;
    app.switch_to(1);
    assert!(sent(&enter(&mut app, "/me waves")).is_empty());
    assert_eq!(last(app.tab()), "!!! you are not in #rust: /join #rust");
    let lost = NetEvent::Lost {
        reason: "reset".into(),
        retry_in: Duration::from_secs(1),
    };
    net(&mut app, lost);
    app.switch_to(0);
    assert!(sent(&enter(&mut app, "/me waves")).is_empty());
    assert_eq!(last(app.tab()), "!!! not connected: nothing was sent");
}

#[test]
fn issue_12_actions_arrive_in_their_tab_counted_and_highlighted_like_messages() {
    let mut app = in_rust();
    app.switch_to(0);
    server(&mut app, "ME * bob waves");
    assert_eq!(last(&app.tabs[0]), "* bob waves");
    server(&mut app, "ME #rust bob pours tea");
    assert_eq!(last(&app.tabs[1]), "* bob pours tea");
    assert_eq!((app.tabs[1].unread, app.tabs[1].highlight), (1, false));
    server(&mut app, "ME #rust bob hands alice a cup");
    assert!(app.tabs[1].highlight, "a mention");
    // A direct action opens the sender's tab, as a direct message does, and `/r` answers it.
    server(&mut app, "ME alice carol nods");
    let tab = &app.tabs[2];
    assert_eq!(tab.kind, TabKind::Direct(nick("carol")));
    assert_eq!(shown(tab), ["* carol nods"]);
    assert_eq!((tab.unread, tab.highlight), (1, true));
    assert_eq!(app.last_direct_from, Some(nick("carol")));
    assert_eq!(sent(&enter(&mut app, "/r hi")), ["MSG carol hi"]);
}

#[test]
fn issue_12_ignore_hides_actions_too() {
    let mut app = in_rust();
    app.switch_to(0);
    enter(&mut app, "/ignore BOB");
    let lines: Vec<usize> = app.tabs.iter().map(|t| t.lines().len()).collect();
    server(&mut app, "ME * bob waves");
    server(&mut app, "ME #rust bob pours tea");
    server(&mut app, "ME alice bob nods");
    server(&mut app, "ALL bob /me waves");
    assert_eq!(
        app.tabs.iter().map(|t| t.lines().len()).collect::<Vec<_>>(),
        lines
    );
    assert_eq!(app.unread(), 0);
    server(&mut app, "ME * carol waves");
    assert_eq!(last(&app.tabs[0]), "* carol waves");
}

#[test]
fn issue_12_away_and_back_are_confirmed_and_kept_across_a_reconnect() {
    let mut app = online();
    assert_eq!(sent(&enter(&mut app, "/away at lunch")), ["AWAY at lunch"]);
    assert_eq!(app.away, None, "not away before the server says so");
    server(&mut app, "OK AWAY on");
    assert_eq!(last(app.tab()), "--- you are marked away: at lunch");
    assert_eq!(app.away.as_deref(), Some("at lunch"));
    // After a reconnect the client marks itself away again, quietly.
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_secs(1),
        },
    );
    assert_eq!(app.away.as_deref(), Some("at lunch"));
    net(&mut app, NetEvent::Connected);
    for answer in CAPS_ON {
        server(&mut app, answer);
    }
    let effects = server(&mut app, "OK NICK alice");
    assert_eq!(sent(&effects), ["WHO", "AWAY at lunch"]);
    let before = shown(&app.tabs[0]).len();
    server(&mut app, "OK AWAY on");
    assert_eq!(shown(&app.tabs[0]).len(), before);
    assert_eq!(sent(&enter(&mut app, "/away")), ["AWAY"]);
    server(&mut app, "OK AWAY off");
    assert_eq!(last(app.tab()), "--- you are back");
    assert_eq!(app.away, None);
}

#[test]
fn issue_12_away_ends_when_the_client_reconnects_to_a_server_without_it() {
    let mut app = online();
    enter(&mut app, "/away at lunch");
    server(&mut app, "OK AWAY on");
    let lost = NetEvent::Lost {
        reason: "reset".into(),
        retry_in: Duration::from_secs(1),
    };
    net(&mut app, lost);
    net(&mut app, NetEvent::Connected);
    for _ in CAPS_ON {
        server(&mut app, NO_CAP);
    }
    assert_eq!(sent(&server(&mut app, "OK NICK alice")), ["WHO"]);
    assert_eq!(app.away, None);
    assert_eq!(
        last(&app.tabs[0]),
        "-!- you are no longer away: this server does not know /away"
    );
}

#[test]
fn issue_12_an_away_notice_is_shown_once_per_text_and_again_after_a_while() {
    let mut app = online();
    let noon = at_time(12, 0, 0);
    enter(&mut app, "/msg bob are you there?");
    server_at(&mut app, "AWAY bob at lunch", noon);
    let bob = app.current;
    assert_eq!(last(&app.tabs[bob]), "-!- bob is away: at lunch");
    let count = |app: &App| {
        shown(&app.tabs[bob])
            .iter()
            .filter(|l| l.contains("is away"))
            .count()
    };
    // More lines to bob within the next minutes: no more notices.
    for minute in [0, 1, 4] {
        enter(&mut app, "hello?");
        server_at(&mut app, "AWAY bob at lunch", at_time(12, minute, 59));
    }
    assert_eq!(count(&app), 1);
    // A new text is told at once; the same text again after the repeat delay.
    server_at(&mut app, "AWAY bob in a meeting", at_time(12, 5, 0));
    assert_eq!(last(&app.tabs[bob]), "-!- bob is away: in a meeting");
    server_at(&mut app, "AWAY BOB in a meeting", at_time(12, 9, 59));
    assert_eq!(count(&app), 2);
    assert_eq!(AWAY_NOTICE_REPEAT, Duration::from_secs(300));
    server_at(&mut app, "AWAY bob in a meeting", at_time(12, 10, 0));
    assert_eq!(count(&app), 3);
    // Across midnight the clock goes on counting.
    server_at(&mut app, "AWAY bob sleeping", at_time(23, 58, 0));
    server_at(&mut app, "AWAY bob sleeping", at_time(0, 1, 0));
    assert_eq!(count(&app), 4);
    server_at(&mut app, "AWAY bob sleeping", at_time(0, 3, 0));
    assert_eq!(count(&app), 5);
    // Someone new under that nick is told about again.
    server(&mut app, "QUIT bob");
    server(&mut app, "JOIN bob");
    server_at(&mut app, "AWAY bob sleeping", at_time(0, 3, 1));
    assert_eq!(count(&app), 6);
}

#[test]
fn issue_12_an_away_notice_opens_the_conversation_if_it_was_closed() {
    let mut app = online();
    enter(&mut app, "/msg bob hi");
    enter(&mut app, "/close");
    assert_eq!(app.tabs.len(), 1);
    server(&mut app, "AWAY bob gone");
    assert_eq!(app.tabs[1].kind, TabKind::Direct(nick("bob")));
    assert_eq!(shown(&app.tabs[1]), ["-!- bob is away: gone"]);
}

#[test]
fn issue_12_the_owner_is_kept_per_room_and_a_hand_over_is_told() {
    let mut app = online();
    enter(&mut app, "/join #rust");
    server(&mut app, "OK JOIN #rust");
    server(&mut app, "WHO #rust bob alice carol");
    server(&mut app, "END WHO #rust");
    let before = shown(app.tab()).len();
    server(&mut app, "OWNER #rust bob");
    assert_eq!(app.tab().owner, Some(nick("bob")));
    assert_eq!(shown(app.tab()).len(), before, "learnt on joining: quiet");
    assert_eq!(sent(&enter(&mut app, "/who")), ["WHO #rust"]);
    server(&mut app, "WHO #rust alice bob carol");
    server(&mut app, "END WHO #rust");
    assert_eq!(last(app.tab()), "--- in #rust (3): alice @bob carol");
    // The owner renames: the mark follows.
    server(&mut app, "NICK bob Robert");
    assert!(app.tab().is_owner(&nick("robert")));
    // The owner leaves: the next one is told, after the PART.
    server(&mut app, "PART #rust Robert");
    assert_eq!(names(&app.tab().members), ["alice", "carol"]);
    server(&mut app, "OWNER #rust carol");
    assert_eq!(last(app.tab()), "-!- carol now owns #rust");
    // The same owner again says nothing; we get it when the owner quits.
    server(&mut app, "OWNER #rust carol");
    assert_eq!(last(app.tab()), "-!- carol now owns #rust");
    server(&mut app, "QUIT carol");
    server(&mut app, "OWNER #rust alice");
    assert_eq!(last(app.tab()), "-!- you now own #rust");
    assert_eq!(names(&app.tab().members), ["alice"]);
    // A room we create is ours from the start.
    enter(&mut app, "/join #new");
    server(&mut app, "OK JOIN #new");
    server(&mut app, "WHO #new alice");
    server(&mut app, "END WHO #new");
    server(&mut app, "OWNER #new alice");
    assert_eq!(last(app.tab()), "-!- you own #new");
    // A room we are not in is not ours to track.
    server(&mut app, "OWNER #elsewhere bob");
    assert_eq!(app.tabs.len(), 3);
}

#[test]
fn issue_12_the_owner_is_forgotten_on_a_reconnect_and_learnt_again_quietly() {
    let mut app = in_rust();
    server(&mut app, "OWNER #rust bob");
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_secs(1),
        },
    );
    assert_eq!(app.tabs[1].owner, None);
    net(&mut app, NetEvent::Connected);
    server(&mut app, "OK NICK alice");
    server(&mut app, "OK JOIN #rust");
    server(&mut app, "END WHO #rust");
    let before = shown(&app.tabs[1]).len();
    server(&mut app, "OWNER #rust carol");
    assert_eq!(shown(&app.tabs[1]).len(), before);
    assert_eq!(app.tabs[1].owner, Some(nick("carol")));
}

#[test]
fn issue_12_topic_asks_the_server_and_its_answer_is_no_change() {
    let mut app = in_rust();
    assert_eq!(sent(&enter(&mut app, "/topic")), ["TOPIC #rust"]);
    server(&mut app, "TOPIC #rust bob all about rust");
    assert_eq!(
        last(app.tab()),
        "--- topic of #rust: all about rust (set by bob)"
    );
    assert_eq!(
        app.tab().topic,
        Some((nick("bob"), "all about rust".to_owned()))
    );
    // The next TOPIC line, unasked, is a change.
    server(&mut app, "TOPIC #rust carol ferris");
    assert_eq!(last(app.tab()), "-!- carol set the topic: ferris");
    // Asked twice, answered twice.
    enter(&mut app, "/topic");
    enter(&mut app, "/topic #RUST");
    server(&mut app, "TOPIC #rust carol ferris");
    server(&mut app, "TOPIC #rust carol ferris");
    let text = shown(app.tab());
    assert_eq!(
        text[text.len() - 2..],
        [
            "--- topic of #rust: ferris (set by carol)",
            "--- topic of #rust: ferris (set by carol)"
        ]
    );
    // No topic: the answer is the room alone, and the tab forgets the old one.
    enter(&mut app, "/topic");
    server(&mut app, "TOPIC #rust");
    assert_eq!(last(app.tab()), "--- #rust has no topic");
    assert_eq!(app.tab().topic, None);
    // Another room's topic, asked from here, is shown here.
    assert_eq!(sent(&enter(&mut app, "/topic #go")), ["TOPIC #go"]);
    server(&mut app, "TOPIC #go carol gophers");
    assert_eq!(last(app.tab()), "--- topic of #go: gophers (set by carol)");
    assert_eq!(app.tabs.len(), 2, "no tab for a room we are not in");
}

#[test]
fn issue_12_topic_while_disconnected_shows_what_the_tab_knows() {
    let mut app = in_rust();
    server(&mut app, "TOPIC #rust bob tea");
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_secs(1),
        },
    );
    assert!(sent(&enter(&mut app, "/topic")).is_empty());
    assert_eq!(last(app.tab()), "--- topic of #rust: tea (set by bob)");
}

#[test]
fn issue_12_help_lists_me_and_away_with_their_usage() {
    let mut app = online();
    enter(&mut app, "/help");
    let text = shown(app.tab());
    for usage in ["/me TEXT ", "/away [text] "] {
        assert!(
            text.iter()
                .any(|l| l.starts_with(&format!("---   {usage}"))),
            "no {usage} in {text:?}"
        );
    }
    assert!(sent(&enter(&mut app, "/me")).is_empty());
    assert_eq!(last(app.tab()), "!!! usage: /me TEXT");
}
