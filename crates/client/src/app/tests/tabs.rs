//! Tests of tabs, unread counts, mentions, scrolling, the bounded scrollback and the input
//! line's keys (history, editing, completion).
//!
//! Out of scope: what a line typed sends (`user_commands`).

use super::*;

#[test]
fn tabs_switch_with_alt_number_and_ctrl_n_p() {
    let mut app = in_rust();
    server(&mut app, "MSG bob hi");
    assert_eq!(app.tabs.len(), 3);
    key_with(&mut app, KeyCode::Char('1'), KeyModifiers::ALT);
    assert_eq!(app.current, 0);
    key_with(&mut app, KeyCode::Char('3'), KeyModifiers::ALT);
    assert_eq!(app.current, 2);
    key_with(&mut app, KeyCode::Char('9'), KeyModifiers::ALT);
    assert_eq!(app.current, 2, "no tab 9: stays");
    key_with(&mut app, KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert_eq!(app.current, 0, "wraps around");
    key_with(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL);
    assert_eq!(app.current, 2);
    key_with(&mut app, KeyCode::Left, KeyModifiers::ALT);
    assert_eq!(app.current, 1);
    key_with(&mut app, KeyCode::Right, KeyModifiers::ALT);
    assert_eq!(app.current, 2);
}

#[test]
fn unread_counts_clear_when_the_tab_is_shown_and_the_new_marker_stays_until_left() {
    let mut app = in_rust();
    app.switch_to(0);
    server(&mut app, "MSG #rust bob one");
    server(&mut app, "JOIN #rust carol");
    server(&mut app, "MSG #rust carol two");
    // Notices are not counted.
    assert_eq!(app.tabs[1].unread, 2);
    assert!(!app.tabs[1].highlight);
    assert_eq!(app.unread(), 2);
    let first_new = app.tabs[1].read_marker.unwrap();
    assert_eq!(
        app.tabs[1].lines()[(first_new - app.tabs[1].seq(0)) as usize].body,
        Body::Chat {
            from: nick("bob"),
            text: "one".into(),
            direct: false,
            own: false,
            action: false
        }
    );
    app.switch_to(1);
    assert_eq!(app.tabs[1].unread, 0);
    assert_eq!(app.unread(), 0);
    assert!(app.tabs[1].read_marker.is_some());
    app.switch_to(0);
    assert_eq!(app.tabs[1].read_marker, None);
}

#[test]
fn a_mention_highlights_the_line_and_another_tab() {
    let mut app = in_rust();
    server(&mut app, "MSG #rust bob alice: look");
    assert!(app.tab().lines().back().unwrap().mention);
    assert!(!app.tab().highlight, "the tab shown is not marked");
    server(&mut app, "ALL bob ALICE, hi");
    assert!(app.tabs[0].highlight);
    assert_eq!(app.tabs[0].unread, 1);
    server(&mut app, "MSG #rust bob malice aliced");
    assert!(!app.tab().lines().back().unwrap().mention);
    assert!(mentions("@alice!", &nick("alice")));
    assert!(!mentions("alice_x", &nick("alice")));
}

#[test]
fn scrolling_up_keeps_the_view_and_counts_new_lines_below() {
    let mut app = online();
    for n in 0..100 {
        server(&mut app, &format!("ALL bob line {n}"));
    }
    key(&mut app, KeyCode::PageUp);
    let page = app.pane_rows() - 2;
    assert_eq!(app.tab().scroll, page);
    server(&mut app, "ALL bob new one");
    server(&mut app, "ALL bob new two");
    assert_eq!(
        app.tab().scroll,
        page + 2,
        "the view stays on the same lines"
    );
    assert_eq!(app.tab().below, 2);
    assert_eq!(app.unread(), 2);
    key(&mut app, KeyCode::PageDown);
    assert_eq!((app.tab().scroll, app.tab().below), (2, 2));
    update(
        &mut app,
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        }),
        at(),
    );
    assert_eq!((app.tab().scroll, app.tab().below), (0, 0));
    for _ in 0..100 {
        update(
            &mut app,
            Event::Mouse(MouseEvent {
                kind: MouseEventKind::ScrollUp,
                column: 0,
                row: 0,
                modifiers: KeyModifiers::NONE,
            }),
            at(),
        );
    }
    assert_eq!(
        app.tab().scroll,
        app.tab().lines().len() - 1,
        "stops at the top"
    );
}

#[test]
fn page_size_follows_the_terminal() {
    let mut app = online();
    update(
        &mut app,
        Event::Resize {
            width: 40,
            height: 12,
        },
        at(),
    );
    assert_eq!(app.size, (40, 12));
    assert_eq!(app.pane_rows(), 9);
    for n in 0..30 {
        server(&mut app, &format!("ALL bob {n}"));
    }
    key(&mut app, KeyCode::PageUp);
    assert_eq!(app.tab().scroll, 7);
}

#[test]
fn the_scrollback_is_bounded() {
    let mut app = online();
    for n in 0..SCROLLBACK_LEN + 50 {
        server(&mut app, &format!("ALL bob {n}"));
    }
    let tab = app.tab();
    assert_eq!(tab.lines().len(), SCROLLBACK_LEN);
    assert_eq!(last(tab), format!("<bob> {}", SCROLLBACK_LEN + 49));
    assert_eq!(
        tab.seq(0),
        51,
        "the connect notice and 50 more were dropped"
    );
}

#[test]
fn history_with_up_and_down() {
    let mut app = online();
    enter(&mut app, "first");
    enter(&mut app, "second");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.editor.text(), "second");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.editor.text(), "first");
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    assert_eq!(app.editor.text(), "");
    key(&mut app, KeyCode::Up);
    assert_eq!(sent(&key(&mut app, KeyCode::Enter)), ["ALL second"]);
}

#[test]
fn editing_keys_reach_the_input_line() {
    let mut app = online();
    for c in "hello big world".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key_with(&mut app, KeyCode::Char('w'), KeyModifiers::CONTROL);
    assert_eq!(app.editor.text(), "hello big ");
    key_with(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
    key(&mut app, KeyCode::Delete);
    key_with(&mut app, KeyCode::Char('e'), KeyModifiers::CONTROL);
    key(&mut app, KeyCode::Backspace);
    assert_eq!(app.editor.text(), "ello big");
    key(&mut app, KeyCode::Home);
    key_with(&mut app, KeyCode::Right, KeyModifiers::CONTROL);
    key_with(&mut app, KeyCode::Char('k'), KeyModifiers::CONTROL);
    assert_eq!(app.editor.text(), "ello");
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Left);
    key_with(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(app.editor.text(), "o");
    key_with(&mut app, KeyCode::Backspace, KeyModifiers::ALT);
    assert_eq!(app.editor.text(), "o");
    key(&mut app, KeyCode::End);
    key_with(&mut app, KeyCode::Backspace, KeyModifiers::ALT);
    assert_eq!(app.editor.text(), "");
    assert_eq!(
        key_with(&mut app, KeyCode::Char('l'), KeyModifiers::CONTROL),
        [Effect::Redraw]
    );
}

#[test]
fn tab_completes_nicks_room_members_first_and_commands() {
    let mut app = in_rust();
    server(&mut app, "JOIN bobby");
    server(&mut app, "JOIN #rust zed");
    for c in "b".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "bob: ");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "bobby: ");
    app.editor.take();
    key(&mut app, KeyCode::Char('z'));
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "zed: ");
    app.editor.take();
    // Our own nick is not offered.
    key(&mut app, KeyCode::Char('a'));
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "a");
    app.editor.take();
    for c in "/jo".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "/join ");
    key(&mut app, KeyCode::Char('#'));
    key(&mut app, KeyCode::Char('r'));
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "/join #rust ");
}
