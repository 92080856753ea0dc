//! Tests of plain text and every `/command`: the line sent, the tab shown, the local errors.
//!
//! Out of scope: what the server answers (`replies`), keys other than Enter (`tabs`).

use super::*;

#[test]
fn plain_text_goes_to_the_current_tabs_room_or_person() {
    let mut app = in_rust();
    assert_eq!(sent(&enter(&mut app, "hi room")), ["MSG #rust hi room"]);
    assert_eq!(last(app.tab()), "<alice> hi room");
    assert!(matches!(
        app.tab().lines().back().unwrap().body,
        Body::Chat { own: true, .. }
    ));
    app.switch_to(0);
    assert_eq!(sent(&enter(&mut app, "hi all")), ["ALL hi all"]);
    assert_eq!(last(app.tab()), "<alice> hi all");
    server(&mut app, "MSG bob psst");
    app.switch_to(2);
    assert_eq!(sent(&enter(&mut app, "hi bob")), ["MSG bob hi bob"]);
    assert_eq!(last(app.tab()), "*alice* hi bob");
    // `//` sends a line that starts with `/`.
    assert_eq!(sent(&enter(&mut app, "//shrug")), ["MSG bob /shrug"]);
}

#[test]
fn msg_opens_and_shows_the_conversation_and_r_replies_to_the_last_sender() {
    let mut app = online();
    assert_eq!(sent(&enter(&mut app, "/r hello?")), Vec::<&str>::new());
    assert_eq!(
        last(app.tab()),
        "!!! nobody has sent you a direct message yet"
    );
    assert_eq!(
        sent(&enter(&mut app, "/msg bob hi there")),
        ["MSG bob hi there"]
    );
    assert_eq!(app.tab().label(), "bob");
    assert_eq!(shown(app.tab()), ["*alice* hi there"]);
    app.switch_to(0);
    server(&mut app, "MSG carol hey alice");
    assert_eq!(
        sent(&enter(&mut app, "/r hey carol")),
        ["MSG carol hey carol"]
    );
    assert_eq!(app.tab().label(), "carol");
    assert_eq!(shown(app.tab()), ["*carol* hey alice", "*alice* hey carol"]);
}

#[test]
fn msg_to_a_room_goes_to_its_tab() {
    let mut app = in_rust();
    app.switch_to(0);
    assert_eq!(sent(&enter(&mut app, "/msg #rust yo")), ["MSG #rust yo"]);
    assert_eq!(app.tab().label(), "#rust");
    assert_eq!(last(app.tab()), "<alice> yo");
}

#[test]
fn bad_arguments_and_unknown_commands_are_local_errors() {
    let mut app = online();
    for (line, error) in [
        ("/msg", "usage: /msg NICK|#room TEXT"),
        ("/msg bob", "usage: /msg NICK|#room TEXT"),
        (
            "/msg 1bob hi",
            "\"1bob\" is not a nick: a nick starts with a letter",
        ),
        ("/nick", "usage: /nick NAME"),
        ("/join", "usage: /join #room [key]"),
        ("/join rust", "bad room name rust"),
        ("/private #a maybe", "usage: /private [#room] on|off"),
        ("/invite", "usage: /invite NICK [#room]"),
        ("/frob", "unknown command /frob"),
        ("/part", "/part needs a #room outside a room tab"),
        ("/topic", "/topic needs a #room outside a room tab"),
        ("/invite bob", "/invite needs a #room outside a room tab"),
        ("/key k", "/key needs a #room outside a room tab"),
        ("/private on", "/private needs a #room outside a room tab"),
        ("/close", "the lobby tab stays open"),
    ] {
        assert!(sent(&enter(&mut app, line)).is_empty(), "{line}");
        let shown = last(app.tab());
        assert!(
            shown.starts_with("!!! ") && shown.contains(error),
            "{line}: {shown}"
        );
    }
}

#[test]
fn nick_renames_and_the_new_nick_is_the_one_wanted() {
    let mut app = online();
    assert_eq!(sent(&enter(&mut app, "/nick Alicia")), ["NICK Alicia"]);
    server(&mut app, "OK NICK Alicia");
    assert_eq!(
        (app.nick.as_str(), app.wanted.as_str()),
        ("Alicia", "Alicia")
    );
    assert_eq!(names(&app.users), ["Alicia", "bob"]);
    assert_eq!(last(app.tab()), "-!- you are now known as Alicia");
}

#[test]
fn who_lists_are_shown_when_asked_for() {
    let mut app = in_rust();
    app.switch_to(0);
    assert_eq!(sent(&enter(&mut app, "/who")), ["WHO"]);
    server(&mut app, "WHO alice bob carol");
    server(&mut app, "END WHO");
    assert_eq!(last(app.tab()), "--- online (3): alice bob carol");
    assert_eq!(sent(&enter(&mut app, "/who #rust")), ["WHO #rust"]);
    server(&mut app, "WHO #rust alice bob");
    server(&mut app, "END WHO #rust");
    assert_eq!(last(app.tab()), "--- in #rust (2): alice bob");
    // A room we are not in.
    assert_eq!(sent(&enter(&mut app, "/who #go")), ["WHO #go"]);
    server(&mut app, "WHO #go carol");
    server(&mut app, "END WHO #go");
    assert_eq!(
        shown(app.tab())[shown(app.tab()).len() - 2..],
        ["--- in #go: carol", "--- end of the list of #go"]
    );
}

#[test]
fn join_opens_a_tab_and_part_closes_it() {
    let mut app = online();
    assert_eq!(sent(&enter(&mut app, "/join #Rust")), ["JOIN #Rust"]);
    server(&mut app, "OK JOIN #rust");
    assert_eq!(app.current, 1);
    assert_eq!(last(app.tab()), "-!- you joined #rust");
    assert_eq!(
        sent(&enter(&mut app, "/part bye now")),
        ["PART #rust bye now"]
    );
    server(&mut app, "OK PART #rust");
    assert_eq!(app.tabs.len(), 1);
    assert_eq!(app.current, 0);
    assert_eq!(last(app.tab()), "-!- you left #rust");
    assert_eq!(sent(&enter(&mut app, "/part #go")), ["PART #go"]);
    assert_eq!(
        sent(&enter(&mut app, "/join #k key with spaces")),
        ["JOIN #k key with spaces"]
    );
}

#[test]
fn topic_rooms_invite_key_private_with_a_named_room() {
    let mut app = online();
    assert_eq!(
        sent(&enter(&mut app, "/topic #a new topic")),
        ["TOPIC #a new topic"]
    );
    assert_eq!(sent(&enter(&mut app, "/invite bob #a")), ["INVITE bob #a"]);
    assert_eq!(sent(&enter(&mut app, "/key #a k")), ["KEY #a k"]);
    assert_eq!(sent(&enter(&mut app, "/key #a")), ["KEY #a"]);
    assert_eq!(sent(&enter(&mut app, "/private #a on")), ["PRIVATE #a on"]);
    assert_eq!(
        sent(&enter(&mut app, "/topic #nowhere")),
        ["TOPIC #nowhere"]
    );
    server(&mut app, "TOPIC #nowhere");
    assert_eq!(last(app.tab()), "--- #nowhere has no topic");
}

#[test]
fn close_parts_a_room_and_closes_a_conversation() {
    let mut app = in_rust();
    assert_eq!(sent(&enter(&mut app, "/close")), ["PART #rust"]);
    server(&mut app, "MSG bob hi");
    app.switch_to(2);
    assert!(sent(&enter(&mut app, "/close")).is_empty());
    assert_eq!(app.tabs.len(), 2);
    assert_eq!(app.current, 1);
}

#[test]
fn clear_empties_the_tab() {
    let mut app = online();
    server(&mut app, "ALL bob one");
    enter(&mut app, "/clear");
    assert!(app.tab().lines().is_empty());
    server(&mut app, "ALL bob two");
    assert_eq!(shown(app.tab()), ["<bob> two"]);
}

#[test]
fn help_lists_every_command_and_key() {
    let mut app = online();
    assert!(enter(&mut app, "/help").is_empty());
    let text = shown(app.tab()).join("\n");
    for name in commands::names() {
        assert!(text.contains(&format!("  {name} ")), "{name}");
    }
    for (key, _) in KEYS {
        assert!(text.contains(key), "{key}");
    }
}

#[test]
fn quit_sends_quit_and_leaves_on_bye_or_after_the_grace_ticks() {
    let mut app = online();
    assert_eq!(sent(&enter(&mut app, "/quit see you")), ["QUIT see you"]);
    assert_eq!(server(&mut app, "BYE"), [Effect::Exit]);
    assert_eq!(app.conn, Conn::Closed);

    let mut app = online();
    assert_eq!(sent(&enter(&mut app, "/quit")), ["QUIT"]);
    assert!(update(&mut app, Event::Tick, at()).is_empty());
    assert_eq!(update(&mut app, Event::Tick, at()), [Effect::Exit]);

    let mut app = online();
    enter(&mut app, "/quit");
    let lost = NetEvent::Lost {
        reason: "closed".into(),
        retry_in: Duration::from_secs(1),
    };
    assert_eq!(net(&mut app, lost), [Effect::Exit]);
}

#[test]
fn ctrl_c_quits_and_twice_leaves_at_once() {
    let mut app = online();
    let effects = key_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(sent(&effects), ["QUIT"]);
    let effects = key_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(effects, [Effect::Exit]);
}

#[test]
fn a_signal_sends_quit_and_leaves() {
    let mut app = online();
    let effects = update(&mut app, Event::Signal, at());
    assert_eq!(effects, [Effect::Send("QUIT".into()), Effect::Exit]);
}

#[test]
fn issue_12_who_in_a_room_tab_lists_that_rooms_members() {
    let mut app = in_rust();
    assert_eq!(sent(&enter(&mut app, "/who")), ["WHO #rust"]);
    server(&mut app, "WHO #rust alice bob");
    server(&mut app, "END WHO #rust");
    assert_eq!(last(app.tab()), "--- in #rust (2): alice bob");
    assert_eq!(sent(&enter(&mut app, "/names")), ["WHO #rust"]);
    // Another room from a room tab; everyone from the lobby and from a conversation.
    assert_eq!(sent(&enter(&mut app, "/who #go")), ["WHO #go"]);
    app.switch_to(0);
    assert_eq!(sent(&enter(&mut app, "/who")), ["WHO"]);
    server(&mut app, "MSG bob hi");
    app.switch_to(2);
    assert_eq!(sent(&enter(&mut app, "/who")), ["WHO"]);
}

#[test]
fn issue_12_a_server_command_word_typed_alone_shows_help_and_sends_nothing() {
    let mut app = online();
    for (line, word, command) in [
        ("HELP", "HELP", "/help"),
        ("help", "help", "/help"),
        ("  Help ", "Help", "/help"),
        ("WHO", "WHO", "/who"),
        ("rooms", "rooms", "/rooms"),
        ("QUIT", "QUIT", "/quit"),
    ] {
        enter(&mut app, "/clear");
        assert!(sent(&enter(&mut app, line)).is_empty(), "{line}");
        let text = shown(app.tab());
        assert!(
            text.iter().any(|l| l.contains("/join #room [key]")),
            "{line}: no /help in {text:?}"
        );
        assert_eq!(
            text.last().unwrap(),
            &format!(
                "--- {word} is a command of the server's protocol (for nc); in chat, \
                 commands start with / ({command}); /say {word} sends it as a message"
            ),
            "{line}"
        );
    }
    // Sent as a message when asked; in a sentence, or with a slash, the word is no command.
    assert_eq!(sent(&enter(&mut app, "/say HELP")), ["ALL HELP"]);
    assert_eq!(last(app.tab()), "<alice> HELP");
    assert_eq!(sent(&enter(&mut app, "/say /who")), ["ALL /who"]);
    assert_eq!(sent(&enter(&mut app, "help me")), ["ALL help me"]);
    assert_eq!(sent(&enter(&mut app, "/say")), Vec::<&str>::new());
    assert_eq!(last(app.tab()), "!!! usage: /say TEXT");
}

#[test]
fn issue_12_help_lists_the_aliases_next_to_their_commands() {
    let mut app = online();
    enter(&mut app, "/help");
    let text = shown(app.tab());
    for (command, aliases) in [
        ("/msg ", "(also /m, /query)"),
        ("/r ", "(also /reply)"),
        ("/join ", "(also /j)"),
        ("/part ", "(also /leave)"),
        ("/rooms ", "(also /list)"),
        ("/who ", "(also /names)"),
        ("/close ", "(also /wc)"),
        ("/quit ", "(also /exit)"),
    ] {
        let line = text
            .iter()
            .find(|l| l.starts_with(&format!("---   {command}")))
            .unwrap_or_else(|| panic!("no {command} in {text:?}"));
        assert!(line.ends_with(aliases), "{line}");
    }
    // Every alias /help names works.
    assert_eq!(sent(&enter(&mut app, "/query bob hi")), ["MSG bob hi"]);
    app.switch_to(0);
    assert_eq!(sent(&enter(&mut app, "/j #a")), ["JOIN #a"]);
    assert_eq!(sent(&enter(&mut app, "/list")), ["ROOMS"]);
    assert_eq!(sent(&enter(&mut app, "/leave #a")), ["PART #a"]);
}
