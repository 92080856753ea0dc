//! The terminal client against an in-process server: its network side (`client::net`) and
//! `client::app::update`, wired as the real loop wires them but without a terminal. Every
//! wait is on events or lines, with a deadline.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chatd::client::app::{App, Body, Conn, Effect, TabKind, update};
use chatd::client::event::Event;
use chatd::client::net::{Net, NetConfig};
use chatd::protocol::Nick;
use chrono::NaiveTime;
use crossbeam_channel::Receiver;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::support::{DEADLINE, TestServer};

/// One client as the terminal loop runs it: events from `Net` into `update`, effects back
/// out, minus the screen.
struct Client {
    app: App,
    net: Option<Net>,
    events: Receiver<Event>,
    exited: bool,
}

impl Client {
    fn start(addr: SocketAddr, nick: &str) -> Client {
        let (tx, events) = crossbeam_channel::unbounded();
        // Short back-off: a restarted server is found again quickly.
        let config = NetConfig {
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(400),
            ..NetConfig::new(addr.to_string())
        };
        let net = Net::start(config, tx).unwrap();
        let app = App::new(addr.to_string(), Nick::parse(nick).unwrap(), (80, 24));
        Client {
            app,
            net: Some(net),
            events,
            exited: false,
        }
    }

    fn apply(&mut self, event: Event) {
        let now = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        for effect in update(&mut self.app, event, now) {
            match effect {
                Effect::Send(line) => self.net.as_ref().unwrap().send(line),
                Effect::Redraw => {}
                Effect::Exit => self.exited = true,
            }
        }
    }

    /// Handles events until `done` holds; fails the test at the deadline.
    fn until(&mut self, what: &str, done: impl Fn(&Client) -> bool) {
        let end = Instant::now() + DEADLINE;
        while !done(self) {
            match self.events.recv_deadline(end) {
                Ok(event) => self.apply(event),
                Err(_) => panic!(
                    "{}: no {what} within {DEADLINE:?}; lobby: {:?}",
                    self.app.nick,
                    texts(&self.app, 0)
                ),
            }
        }
    }

    fn online(&mut self) {
        self.until("registration", |c| c.app.conn == Conn::Online);
    }

    /// Types a line and presses Enter.
    fn enter(&mut self, line: &str) {
        for c in line.chars() {
            self.apply(Event::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )));
        }
        self.apply(Event::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        )));
    }

    fn users(&self) -> Vec<&str> {
        self.app.users.iter().map(Nick::as_str).collect()
    }

    fn tab_of(&self, label: &str) -> Option<usize> {
        self.app.tabs.iter().position(|t| t.label() == label)
    }

    fn has_line(&self, tab: &str, line: &str) -> bool {
        self.tab_of(tab)
            .is_some_and(|i| texts(&self.app, i).iter().any(|l| l == line))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(net) = self.net.take() {
            net.stop();
        }
    }
}

/// A tab's lines as `<from> text`, `*from* text`, `-!- notice`, `!!! error`, `--- info`.
fn texts(app: &App, tab: usize) -> Vec<String> {
    app.tabs[tab]
        .lines()
        .iter()
        .map(|line| match &line.body {
            Body::Chat {
                from,
                text,
                direct: false,
                ..
            } => format!("<{from}> {text}"),
            Body::Chat { from, text, .. } => format!("*{from}* {text}"),
            Body::Notice(text) => format!("-!- {text}"),
            Body::Error(text) => format!("!!! {text}"),
            Body::Info(text) => format!("--- {text}"),
        })
        .collect()
}

#[test]
fn two_clients_exchange_all_and_msg() {
    let server = TestServer::start();
    let mut alice = Client::start(server.addr, "alice");
    alice.online();
    let mut bob = Client::start(server.addr, "bob");
    bob.online();
    bob.until("the user list", |c| c.users() == ["alice", "bob"]);
    alice.until("bob's JOIN", |c| c.users() == ["alice", "bob"]);
    assert!(alice.has_line("lobby", "-!- bob joined"));

    alice.enter("hello bob");
    bob.until("alice's ALL", |c| c.has_line("lobby", "<alice> hello bob"));

    bob.enter("/msg alice psst");
    alice.until("bob's MSG", |c| c.has_line("bob", "*bob* psst"));
    let tab = alice.tab_of("bob").unwrap();
    assert_eq!(
        alice.app.tabs[tab].kind,
        TabKind::Direct(Nick::parse("bob").unwrap())
    );
    assert_eq!(alice.app.tabs[tab].unread, 1);

    // Replying to the last sender, then continuing in the conversation's tab.
    alice.enter("/r got it");
    bob.until("alice's reply", |c| c.has_line("alice", "*alice* got it"));
    assert_eq!(alice.app.tab().label(), "bob");
    alice.enter("and more");
    bob.until("more", |c| c.has_line("alice", "*alice* and more"));
}

#[test]
fn a_quit_updates_the_other_clients_user_list() {
    let server = TestServer::start();
    let mut alice = Client::start(server.addr, "alice");
    alice.online();
    let mut bob = Client::start(server.addr, "bob");
    bob.online();
    alice.until("bob", |c| c.users() == ["alice", "bob"]);
    bob.enter("/quit see you");
    bob.until("the end", |c| c.exited);
    assert_eq!(bob.app.conn, Conn::Closed);
    alice.until("bob's QUIT", |c| c.users() == ["alice"]);
    assert!(alice.has_line("lobby", "-!- bob quit (see you)"));
}

#[test]
fn rooms_through_the_client() {
    let server = TestServer::start();
    let mut alice = Client::start(server.addr, "alice");
    alice.online();
    let mut bob = Client::start(server.addr, "bob");
    bob.online();
    alice.enter("/join #rust");
    alice.until("the room tab", |c| {
        c.tab_of("#rust")
            .is_some_and(|i| c.app.tabs[i].members.len() == 1)
    });
    alice.enter("/topic all about rust");
    alice.until("the topic", |c| {
        c.has_line("#rust", "-!- alice set the topic: all about rust")
    });
    bob.enter("/join #rust");
    bob.until("the topic", |c| {
        c.has_line("#rust", "-!- topic: all about rust (set by alice)")
    });
    alice.until("bob in the room", |c| {
        c.has_line("#rust", "-!- bob joined #rust") && c.app.side_list().len() == 2
    });
    bob.enter("hi room");
    alice.until("the room's line", |c| c.has_line("#rust", "<bob> hi room"));
    bob.enter("/part");
    alice.until("the PART", |c| c.has_line("#rust", "-!- bob left #rust"));
    bob.until("the tab closed", |c| c.tab_of("#rust").is_none());
}

#[test]
fn after_a_server_restart_the_client_reconnects_reclaims_its_nick_and_rejoins() {
    let server = TestServer::start();
    let addr = server.addr;
    let mut alice = Client::start(addr, "alice");
    alice.online();
    alice.enter("/join #rust");
    alice.until("the room", |c| c.tab_of("#rust").is_some());
    alice.enter("before the restart");

    server.shutdown();
    alice.until("the loss", |c| matches!(c.app.conn, Conn::Waiting { .. }));
    assert!(alice.has_line(
        "lobby",
        "-!- the server closed the connection: server shutting down"
    ));
    let server = TestServer::with(|config| config.addr = addr);
    alice.until("the new registration", |c| c.app.conn == Conn::Online);
    assert_eq!(alice.app.nick.as_str(), "alice");
    alice.until("the room again", |c| {
        c.tab_of("#rust")
            .is_some_and(|i| c.app.tabs[i].members.len() == 1)
    });
    alice.until("the user list", |c| c.users() == ["alice"]);
    // The scrollback survived.
    assert!(alice.has_line("#rust", "<alice> before the restart"));
    assert!(
        texts(&alice.app, 0)
            .iter()
            .any(|l| l.starts_with("-!- reconnected to ") && l.ends_with(" as alice"))
    );

    // The server sees her under her nick, in her room.
    let mut bob = server.client("bob");
    bob.send("WHO #rust");
    bob.expect("WHO #rust alice");
    bob.expect("END WHO #rust");
    bob.send("MSG alice welcome back");
    alice.until("the message", |c| c.has_line("bob", "*bob* welcome back"));
}

#[test]
fn a_taken_nick_is_suffixed_then_taken_back_when_freed() {
    let server = TestServer::start();
    let mut holder = server.client("alice");
    let mut alice = Client::start(server.addr, "alice");
    alice.online();
    assert_eq!(alice.app.nick.as_str(), "alice_");
    assert!(
        texts(&alice.app, 0)
            .iter()
            .any(|l| l.contains("alice is taken, so you are alice_"))
    );
    holder.expect("JOIN alice_");
    holder.send("QUIT");
    holder.expect("BYE");
    alice.until("the nick back", |c| c.app.nick.as_str() == "alice");
    assert!(alice.has_line("lobby", "-!- you have your nick back: alice"));
    let mut bob = server.client("bob");
    bob.send("WHO");
    bob.expect("WHO alice bob");
}
