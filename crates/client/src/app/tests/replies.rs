//! Tests of every server line: where it shows, which lists it changes, what it answers.
//!
//! Out of scope: registration and our nick (`registration`), `/commands` (`user_commands`).

use super::*;

#[test]
fn all_lines_go_to_the_lobby() {
    let mut app = online();
    server(&mut app, "ALL bob hello there");
    assert_eq!(last(&app.tabs[0]), "<bob> hello there");
    assert!(!app.tabs[0].lines().back().unwrap().mention);
}

#[test]
fn direct_messages_open_a_tab_count_as_unread_and_highlight_it() {
    let mut app = online();
    server(&mut app, "MSG bob psst");
    assert_eq!(app.tabs.len(), 2);
    assert_eq!(app.current, 0);
    let tab = &app.tabs[1];
    assert_eq!(tab.kind, TabKind::Direct(nick("bob")));
    assert_eq!(shown(tab), ["*bob* psst"]);
    assert_eq!((tab.unread, tab.highlight), (1, true));
    assert_eq!(app.unread(), 1);
    assert_eq!(app.last_direct_from, Some(nick("bob")));
    // A second message goes to the same tab, even in another case.
    server(&mut app, "MSG BOB again");
    assert_eq!(app.tabs.len(), 2);
    assert_eq!(app.tabs[1].unread, 2);
}

#[test]
fn join_nick_and_quit_keep_the_user_list_and_say_so() {
    let mut app = online();
    server(&mut app, "JOIN carol");
    assert_eq!(names(&app.users), ["alice", "bob", "carol"]);
    assert_eq!(last(&app.tabs[0]), "-!- carol joined");
    server(&mut app, "NICK carol Caroline");
    assert_eq!(names(&app.users), ["alice", "bob", "Caroline"]);
    assert_eq!(last(&app.tabs[0]), "-!- carol is now known as Caroline");
    server(&mut app, "QUIT Caroline bye all");
    assert_eq!(names(&app.users), ["alice", "bob"]);
    assert_eq!(last(&app.tabs[0]), "-!- Caroline quit (bye all)");
    server(&mut app, "QUIT bob");
    assert_eq!(last(&app.tabs[0]), "-!- bob quit");
    assert_eq!(names(&app.users), ["alice"]);
}

#[test]
fn a_rename_follows_into_the_direct_tab_the_rooms_and_the_reply_target() {
    let mut app = in_rust();
    server(&mut app, "MSG bob hi");
    server(&mut app, "NICK bob robert");
    let dm = app.tabs.iter().position(|t| t.label() == "robert").unwrap();
    assert_eq!(last(&app.tabs[dm]), "-!- bob is now known as robert");
    assert_eq!(names(&app.tabs[1].members), ["alice", "robert"]);
    assert_eq!(last(&app.tabs[1]), "-!- bob is now known as robert");
    assert_eq!(sent(&enter(&mut app, "/r yes?")), ["MSG robert yes?"]);
}

#[test]
fn a_quit_is_told_in_the_rooms_and_the_direct_tab_of_the_leaver() {
    let mut app = in_rust();
    server(&mut app, "MSG bob hi");
    server(&mut app, "QUIT bob gone");
    assert_eq!(names(&app.tabs[1].members), ["alice"]);
    assert_eq!(last(&app.tabs[1]), "-!- bob quit (gone)");
    assert_eq!(last(&app.tabs[2]), "-!- bob quit (gone)");
}

#[test]
fn ping_is_answered_with_pong_and_pong_is_quiet() {
    let mut app = online();
    assert_eq!(sent(&server(&mut app, "PING idle")), ["PONG idle"]);
    assert_eq!(sent(&server(&mut app, "PING")), ["PONG"]);
    let lines = app.tabs[0].lines().len();
    assert!(server(&mut app, "PONG 42").is_empty());
    assert_eq!(app.tabs[0].lines().len(), lines);
}

#[test]
fn bye_without_quit_is_shown_and_the_client_stays() {
    let mut app = online();
    assert!(server(&mut app, "BYE server shutting down").is_empty());
    assert_eq!(
        last(&app.tabs[0]),
        "-!- the server closed the connection: server shutting down"
    );
}

#[test]
fn errors_show_in_the_current_tab_and_change_nothing_else() {
    let mut app = in_rust();
    let effects = server(&mut app, "ERR NOT_IN_ROOM you are not in #rust");
    assert!(effects.is_empty());
    assert_eq!(last(app.tab()), "!!! you are not in #rust (NOT_IN_ROOM)");
    server(
        &mut app,
        "ERR SOMETHING_NEW a code this client does not know",
    );
    assert_eq!(
        last(app.tab()),
        "!!! a code this client does not know (SOMETHING_NEW)"
    );
    assert_eq!(app.conn, Conn::Online);
}

#[test]
fn a_refused_rename_keeps_the_nick() {
    let mut app = online();
    assert_eq!(sent(&enter(&mut app, "/nick bob")), ["NICK bob"]);
    server(&mut app, "ERR NICK_TAKEN nick bob is already in use");
    assert_eq!(app.nick.as_str(), "alice");
    assert_eq!(
        last(app.tab()),
        "!!! nick bob is already in use (NICK_TAKEN)"
    );
}

#[test]
fn server_help_lines_and_unparsed_lines_are_shown() {
    let mut app = online();
    server(&mut app, "HELP NICK <nick>  choose a nick");
    server(&mut app, "END HELP");
    assert_eq!(last(app.tab()), "--- server: NICK <nick>  choose a nick");
    net(&mut app, NetEvent::Unparsed("FROB 1 2".into()));
    assert_eq!(last(&app.tabs[0]), "-!- server: FROB 1 2");
}

#[test]
fn room_lines_update_members_and_show_in_the_room_tab() {
    let mut app = in_rust();
    server(&mut app, "JOIN #rust carol");
    assert_eq!(names(&app.tabs[1].members), ["alice", "bob", "carol"]);
    assert_eq!(last(&app.tabs[1]), "-!- carol joined #rust");
    server(&mut app, "MSG #rust carol hi all");
    assert_eq!(last(&app.tabs[1]), "<carol> hi all");
    server(&mut app, "PART #rust carol off to lunch");
    assert_eq!(last(&app.tabs[1]), "-!- carol left #rust (off to lunch)");
    assert_eq!(names(&app.tabs[1].members), ["alice", "bob"]);
    server(&mut app, "PART #rust bob");
    assert_eq!(last(&app.tabs[1]), "-!- bob left #rust");
    // The side panel shows the room's members in its tab, everyone elsewhere.
    assert_eq!(names(app.side_list()), ["alice"]);
    app.switch_to(0);
    assert_eq!(names(app.side_list()), ["alice", "bob"]);
}

#[test]
fn the_topic_on_join_and_a_topic_change_read_differently() {
    let mut app = online();
    enter(&mut app, "/join #rust");
    server(&mut app, "OK JOIN #rust");
    server(&mut app, "TOPIC #rust bob all about rust");
    server(&mut app, "WHO #rust alice bob");
    server(&mut app, "END WHO #rust");
    assert!(shown(app.tab()).contains(&"-!- topic: all about rust (set by bob)".to_owned()));
    server(&mut app, "TOPIC #rust carol ferris");
    assert_eq!(last(app.tab()), "-!- carol set the topic: ferris");
    assert_eq!(app.tab().topic, Some((nick("carol"), "ferris".to_owned())));
    assert_eq!(sent(&enter(&mut app, "/topic")), ["TOPIC #rust"]);
    server(&mut app, "TOPIC #rust carol ferris");
    assert_eq!(last(app.tab()), "--- topic of #rust: ferris (set by carol)");
}

#[test]
fn rooms_listing_and_its_end() {
    let mut app = online();
    assert_eq!(sent(&enter(&mut app, "/rooms")), ["ROOMS"]);
    server(&mut app, "ROOM #a 1");
    server(&mut app, "ROOM #rust 3 all about rust");
    server(&mut app, "END ROOMS");
    assert_eq!(
        shown(app.tab())[1..],
        [
            "--- rooms:",
            "---   #a  1 member",
            "---   #rust  3 members  all about rust"
        ]
    );
    enter(&mut app, "/rooms");
    server(&mut app, "END ROOMS");
    assert_eq!(last(app.tab()), "--- no rooms yet: /join #name creates one");
}

#[test]
fn owner_replies_and_invitations() {
    let mut app = in_rust();
    assert_eq!(sent(&enter(&mut app, "/key s3cret")), ["KEY #rust s3cret"]);
    server(&mut app, "OK KEY #rust");
    assert_eq!(last(app.tab()), "--- #rust now needs a key");
    assert_eq!(sent(&enter(&mut app, "/key")), ["KEY #rust"]);
    server(&mut app, "OK KEY #rust");
    assert_eq!(last(app.tab()), "--- #rust needs no key now");
    assert_eq!(sent(&enter(&mut app, "/private on")), ["PRIVATE #rust on"]);
    server(&mut app, "OK PRIVATE #rust on");
    assert_eq!(last(app.tab()), "--- #rust is now invite-only");
    assert_eq!(
        sent(&enter(&mut app, "/private #rust off")),
        ["PRIVATE #rust off"]
    );
    server(&mut app, "OK PRIVATE #rust off");
    assert_eq!(last(app.tab()), "--- #rust is now open to all");
    assert_eq!(
        sent(&enter(&mut app, "/register #rust")),
        ["REGISTER #rust"]
    );
    server(&mut app, "OK REGISTER #rust");
    assert_eq!(
        last(app.tab()),
        "--- #rust is registered: it stays when empty and over restarts, and is yours whenever \
         you are in it"
    );
    assert_eq!(
        sent(&enter(&mut app, "/invite carol")),
        ["INVITE carol #rust"]
    );
    server(&mut app, "OK INVITE carol #rust");
    assert_eq!(last(app.tab()), "--- carol may now join #rust");
    server(&mut app, "INVITE #secret bob");
    assert_eq!(
        last(app.tab()),
        "-!- bob invites you to #secret: /join #secret"
    );
    assert_eq!(
        last(&app.tabs[0]),
        "-!- bob invites you to #secret: /join #secret"
    );
    assert!(app.tabs[0].highlight);
}

#[test]
fn a_key_set_with_key_is_used_when_joining_again() {
    let mut app = in_rust();
    enter(&mut app, "/key k1");
    server(&mut app, "OK KEY #rust");
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: Duration::from_secs(1),
        },
    );
    net(&mut app, NetEvent::Connected);
    assert_eq!(
        sent(&server(&mut app, "OK NICK alice")),
        ["WHO", "JOIN #rust k1"]
    );
}

#[test]
fn issue_14_a_counted_lobby_drops_the_list_keeps_the_count_and_lists_again_when_exact() {
    let mut app = online();
    assert!(server(&mut app, "PRESENCE COUNT 1001").is_empty());
    assert_eq!(app.counted, Some(1001));
    assert!(app.users.is_empty(), "a list that would go stale");
    server(&mut app, "PRESENCE COUNT 1200");
    assert_eq!(app.counted, Some(1200));
    // `/who` still shows everyone, once, without keeping a list that nobody updates.
    assert_eq!(sent(&enter(&mut app, "/who")), ["WHO"]);
    server(&mut app, "WHO alice bob carol");
    server(&mut app, "END WHO");
    assert_eq!(last(&app.tabs[0]), "--- online (3): alice bob carol");
    assert!(app.users.is_empty());
    // Exact again: the list is read afresh.
    assert_eq!(sent(&server(&mut app, "PRESENCE EXACT 899")), ["WHO"]);
    assert_eq!(app.counted, None);
    server(&mut app, "WHO alice dave");
    server(&mut app, "END WHO");
    assert_eq!(names(&app.users), ["alice", "dave"]);
    server(&mut app, "JOIN erin");
    assert_eq!(names(&app.users), ["alice", "dave", "erin"]);
    // A new connection is told afresh.
    server(&mut app, "PRESENCE COUNT 1001");
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".into(),
            retry_in: std::time::Duration::from_millis(250),
        },
    );
    assert_eq!(app.counted, None);
}

#[test]
fn issue_14_registering_into_a_counted_lobby_does_not_ask_for_the_list() {
    let mut app = App::new("127.0.0.1:7878", nick("alice"), (80, 24));
    net(&mut app, NetEvent::Connecting { attempt: 1 });
    net(&mut app, NetEvent::Connected);
    for answer in CAPS_ON {
        server(&mut app, answer);
    }
    assert!(server(&mut app, "PRESENCE COUNT 5000").is_empty());
    assert!(sent(&server(&mut app, "OK NICK alice")).is_empty());
    assert_eq!(app.counted, Some(5000));
}
