//! Tests of pastes (issue 12): every line sent at once and in order, the confirmation before a
//! long paste and its threshold, a one-line paste into the input line; and of the line limit
//! that a paste or a typed line can reach.
//!
//! Out of scope: how the terminal delivers a paste (the tmux script checks that).

use super::*;
use crate::app::{Settings, paste_lines};

fn paste(app: &mut App, text: &str) -> Vec<Effect> {
    update(app, Event::Paste(text.to_owned()), at())
}

/// `n` lines of 100 bytes, numbered, each ending in `\r` as a terminal sends them.
fn numbered(n: usize) -> (String, Vec<String>) {
    let lines: Vec<String> = (1..=n)
        .map(|i| format!("p{i:02} {}", "y".repeat(96)))
        .collect();
    let text = lines.iter().map(|l| format!("{l}\r")).collect();
    (text, lines)
}

#[test]
fn issue_12_a_paste_below_the_threshold_sends_every_line_in_order_at_once() {
    let mut app = in_rust();
    let (text, lines) = numbered(5);
    let before = shown(app.tab()).len();
    let expected: Vec<String> = lines.iter().map(|l| format!("MSG #rust {l}")).collect();
    assert_eq!(sent(&paste(&mut app, &text)), expected);
    assert_eq!(shown(app.tab()).len(), before + 5);
    assert!(app.paste.is_none());
    assert!(app.editor.is_empty());
}

#[test]
fn issue_12_a_long_paste_waits_for_enter_then_sends_every_line_in_order() {
    let mut app = online();
    enter(&mut app, "/clear");
    let (text, lines) = numbered(15);
    assert!(paste(&mut app, &text).is_empty());
    assert_eq!(app.paste.as_ref().map(|p| p.lines.len()), Some(15));
    assert!(app.tab().lines().is_empty(), "nothing shown as sent yet");
    // Other keys change nothing while it waits.
    for code in [KeyCode::Char('x'), KeyCode::Backspace, KeyCode::Up] {
        assert!(key(&mut app, code).is_empty());
    }
    assert!(key_with(&mut app, KeyCode::Char('2'), KeyModifiers::ALT).is_empty());
    assert!(app.editor.is_empty());
    let expected: Vec<String> = lines.iter().map(|l| format!("ALL {l}")).collect();
    assert_eq!(sent(&key(&mut app, KeyCode::Enter)), expected);
    assert!(app.paste.is_none());
    assert_eq!(shown(app.tab()).len(), 15);
    assert_eq!(last(app.tab()), format!("<alice> {}", lines[14]));
}

#[test]
fn issue_12_esc_cancels_a_waiting_paste() {
    let mut app = online();
    let (text, _) = numbered(6);
    paste(&mut app, &text);
    assert!(key(&mut app, KeyCode::Esc).is_empty());
    assert!(app.paste.is_none());
    assert_eq!(
        last(app.tab()),
        "--- paste of 6 lines cancelled: nothing was sent"
    );
    // Keys work again.
    assert_eq!(sent(&enter(&mut app, "after")), ["ALL after"]);
}

#[test]
fn issue_12_the_threshold_is_a_setting_and_zero_never_asks() {
    let (text, _) = numbered(15);
    let mut app = online();
    app.settings = Settings {
        paste_confirm: 0,
        ..Settings::default()
    };
    assert_eq!(sent(&paste(&mut app, &text)).len(), 15);
    let mut app = online();
    app.settings.paste_confirm = 15;
    assert_eq!(sent(&paste(&mut app, &text)).len(), 15);
    let mut app = online();
    app.settings.paste_confirm = 14;
    assert!(paste(&mut app, &text).is_empty());
    assert!(app.paste.is_some());
}

#[test]
fn issue_12_a_waiting_paste_goes_to_the_tab_pasted_into() {
    let mut app = in_rust();
    let (text, _) = numbered(6);
    paste(&mut app, &text);
    // A direct message arrives meanwhile; the paste still goes to #rust.
    server(&mut app, "MSG bob are you there?");
    let effects = key(&mut app, KeyCode::Enter);
    assert_eq!(sent(&effects).len(), 6);
    assert!(sent(&effects).iter().all(|l| l.starts_with("MSG #rust p0")));
}

#[test]
fn issue_12_a_one_line_paste_goes_into_the_input_line() {
    let mut app = online();
    enter(&mut app, "/clear");
    for c in "say: ".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert!(paste(&mut app, "pasted\ttext\r").is_empty());
    assert_eq!(app.editor.text(), "say: pasted text");
    assert!(app.tab().lines().is_empty());
    assert_eq!(
        sent(&key(&mut app, KeyCode::Enter)),
        ["ALL say: pasted text"]
    );
}

#[test]
fn issue_12_pasted_lines_are_text_even_when_they_look_like_commands() {
    let mut app = online();
    let effects = paste(&mut app, "/quit\nHELP\n\n  \n//x\n");
    assert_eq!(sent(&effects), ["ALL /quit", "ALL HELP", "ALL //x"]);
    assert_eq!(app.conn, Conn::Online);
}

#[test]
fn issue_12_paste_lines_split_at_any_line_ending() {
    assert_eq!(
        paste_lines("a\r\nb\rc\nd\u{1b}e\n\n"),
        ["a", "b", "c", "de"]
    );
    assert!(paste_lines("\r\n  \n").is_empty());
}

#[test]
fn issue_12_a_paste_stops_at_a_line_that_cannot_go_and_says_so() {
    let mut app = online();
    let long = "z".repeat(5000);
    let effects = paste(&mut app, &format!("one\n{long}\nthree\n"));
    assert_eq!(sent(&effects), ["ALL one"]);
    let text = shown(app.tab());
    assert!(text[text.len() - 2].starts_with("!!! not sent: too long"));
    assert_eq!(
        text[text.len() - 1],
        "!!! the paste stopped at line 2 of 3: the rest was not sent"
    );
}

#[test]
fn issue_12_a_line_over_the_servers_limit_is_not_sent_and_says_why() {
    let mut app = in_rust();
    // `MSG #rust ` is 10 bytes, the newline 1: 4085 bytes of text fill 4096 exactly.
    let fits = "x".repeat(4085);
    assert_eq!(sent(&enter(&mut app, &fits)).len(), 1);
    let over = "x".repeat(4086);
    assert!(sent(&enter(&mut app, &over)).is_empty());
    assert_eq!(
        last(app.tab()),
        "!!! not sent: too long (4097 bytes on the wire, the server takes 4096, \
         chat --max-line); shorten or split it"
    );
    // The line is not lost: Up brings it back.
    key(&mut app, KeyCode::Up);
    assert_eq!(app.editor.text(), over);
    app.editor.take();
    // The limit follows --max-line, for every command that carries text.
    app.settings.max_line = 20;
    assert!(sent(&enter(&mut app, "/msg bob 0123456789ab")).is_empty());
    assert!(sent(&enter(&mut app, "/topic 0123456789")).is_empty());
    assert_eq!(sent(&enter(&mut app, "/msg bob 0123456789a")).len(), 1);
}
