//! Unit tests of `update`, by topic (one file each), driven as the real loop drives it:
//! keys typed, server lines parsed by the protocol crate, network events; and the helpers
//! they share (this file).
//!
//! Out of scope: the socket and the terminal (`tests/net.rs` drives the client against a
//! real server); drawing (`ui`'s tests).

mod accounts;
mod direct_history;
mod extensions;
mod files;
mod history;
mod ignore;
mod paste;
mod registration;
mod replies;
mod tabs;
mod user_commands;

use std::time::Duration;

use chrono::NaiveTime;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use super::{
    App, Body, Conn, Effect, KEYS, MAX_NICK_ATTEMPTS, SCROLLBACK_LEN, Tab, TabKind, mentions,
    suffixed, update,
};
use crate::commands;
use crate::event::{Event, NetEvent};
use chatd_proto::{MAX_NICK_LEN, Nick, Reply};

fn at() -> NaiveTime {
    NaiveTime::from_hms_opt(12, 0, 0).unwrap()
}

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

fn net(app: &mut App, event: NetEvent) -> Vec<Effect> {
    update(app, Event::Net(event), at())
}

/// Feeds one server line, parsed by the protocol module as the reader does (`@<id> ` and
/// all).
fn server(app: &mut App, line: &str) -> Vec<Effect> {
    let event = match Reply::parse_with_id(line).unwrap() {
        (None, reply) => NetEvent::Line(reply),
        (Some(id), reply) => NetEvent::IdLine(id, reply),
    };
    net(app, event)
}

fn key_with(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    update(app, Event::Key(KeyEvent::new(code, modifiers)), at())
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    key_with(app, code, KeyModifiers::NONE)
}

/// Types `text` and presses Enter.
fn enter(app: &mut App, text: &str) -> Vec<Effect> {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
    key(app, KeyCode::Enter)
}

fn sent(effects: &[Effect]) -> Vec<&str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(line) => Some(line.as_str()),
            _ => None,
        })
        .collect()
}

/// A tab's lines as text.
fn shown(tab: &Tab) -> Vec<String> {
    tab.lines()
        .iter()
        .map(|line| line.body.to_string())
        .collect()
}

fn last(tab: &Tab) -> String {
    shown(tab).pop().unwrap_or_default()
}

fn names(list: &[Nick]) -> Vec<&str> {
    list.iter().map(Nick::as_str).collect()
}

/// What the client sends on every connection as `alice`: the capabilities, then the nick.
const CONNECT: [&str; 7] = [
    "CAP actions",
    "CAP away",
    "CAP owner",
    "CAP presence",
    "CAP ids",
    "CAP files",
    "NICK alice",
];

/// The answers of a server of this version to [`CONNECT`]'s `CAP` lines.
const CAPS_ON: [&str; 6] = [
    "OK CAP actions",
    "OK CAP away",
    "OK CAP owner",
    "OK CAP presence",
    "OK CAP ids",
    "OK CAP files",
];

/// The answers of a server older than the capabilities.
const NO_CAP: &str = "ERR UNKNOWN_COMMAND unknown command CAP";

/// An app registered as `alice` with `alice` and `bob` online, on a server that answered
/// the capabilities with `answers`.
fn online_with(answers: [&str; 6]) -> App {
    let mut app = App::new("127.0.0.1:7878", nick("alice"), (80, 24));
    net(&mut app, NetEvent::Connecting { attempt: 1 });
    assert_eq!(sent(&net(&mut app, NetEvent::Connected)), CONNECT);
    for answer in answers {
        assert!(server(&mut app, answer).is_empty(), "{answer}");
    }
    assert_eq!(
        server(&mut app, "OK NICK alice"),
        [Effect::Send("WHO".into())]
    );
    server(&mut app, "WHO alice bob");
    server(&mut app, "END WHO");
    app
}

/// An app registered as `alice` with `alice` and `bob` online, every capability on.
fn online() -> App {
    online_with(CAPS_ON)
}

/// `online()` on a server that knows no `CAP`.
fn online_v1() -> App {
    online_with([NO_CAP; 6])
}

/// `online()` plus a tab for #rust with alice and bob in it, shown.
fn in_rust() -> App {
    let mut app = online();
    assert_eq!(sent(&enter(&mut app, "/join #rust")), ["JOIN #rust"]);
    server(&mut app, "OK JOIN #rust");
    server(&mut app, "WHO #rust alice bob");
    server(&mut app, "END WHO #rust");
    assert_eq!(app.tab().label(), "#rust");
    app
}
