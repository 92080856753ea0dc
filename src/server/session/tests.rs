//! Tests of `session`: a session executing lines against a registry, with detached queues.

use super::*;
use crate::server::outbox::DetachedQueue;
use std::net::{Ipv4Addr, SocketAddrV4};

struct Client {
    session: Session,
    queue: DetachedQueue,
}

impl Client {
    fn new(id: ConnId) -> Client {
        Client::with_limit(id, 1 << 20)
    }

    fn with_limit(id: ConnId, send_queue: usize) -> Client {
        let (outbox, queue) = Outbox::detached(send_queue);
        let peer = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40000));
        Client {
            session: Session::new(id, peer, outbox, 4096, Limits::default()),
            queue,
        }
    }

    fn send(&mut self, line: &str, registry: &Registry) -> Flow {
        self.session.on_frame(Frame::Line(line), registry)
    }

    fn received(&self) -> Vec<String> {
        self.queue
            .drain()
            .iter()
            .map(|l| l.trim_end().to_owned())
            .collect()
    }
}

#[test]
fn registration_and_messages() {
    let registry = Registry::new();
    let mut alice = Client::new(1);
    let mut bob = Client::new(2);
    assert_eq!(alice.send("NICK alice", &registry), Flow::Continue);
    assert_eq!(bob.send("NICK bob", &registry), Flow::Continue);
    assert_eq!(alice.received(), ["OK NICK alice", "JOIN bob"]);
    assert_eq!(bob.received(), ["OK NICK bob"]);

    alice.send("ALL hi all", &registry);
    alice.send("MSG BOB psst", &registry);
    assert_eq!(bob.received(), ["ALL alice hi all", "MSG alice psst"]);
    assert!(alice.received().is_empty(), "no echo to the sender");

    bob.send("QUIT off", &registry);
    assert_eq!(bob.received(), ["BYE"]);
    assert_eq!(alice.received(), ["QUIT bob off"]);
}

#[test]
fn before_nick_only_nick_ping_help_and_quit_work() {
    let registry = Registry::new();
    let mut client = Client::new(1);
    for line in ["MSG bob x", "ALL x", "WHO", "MSG", "MSG 1abc x", "all"] {
        client.send(line, &registry);
        let got = client.received();
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("ERR NOT_REGISTERED "), "{line}: {got:?}");
    }
    client.send("PING 1", &registry);
    assert_eq!(client.received(), ["PONG 1"]);
    client.send("HELP", &registry);
    assert_eq!(
        client.received().last().map(String::as_str),
        Some("END HELP")
    );
    assert_eq!(client.send("QUIT", &registry), Flow::Quit);
    assert_eq!(client.received(), ["BYE"]);
}

#[test]
fn frames_that_are_not_lines_get_their_errors() {
    let registry = Registry::new();
    let mut client = Client::new(1);
    client.session.on_frame(Frame::TooLong, &registry);
    client.session.on_frame(Frame::BadEncoding, &registry);
    let got = client.received();
    assert!(got[0].starts_with("ERR LINE_TOO_LONG "), "{got:?}");
    assert!(got[1].starts_with("ERR BAD_ENCODING "), "{got:?}");
}

#[test]
fn a_cut_client_executes_nothing_more() {
    let registry = Registry::new();
    let mut alice = Client::new(1);
    alice.send("NICK alice", &registry);
    let mut bob = Client::with_limit(2, 150);
    bob.send("NICK bob", &registry);
    // Alice's worker finds bob's queue full and drops him; bob's own lines stop there.
    alice.send(&format!("ALL {}", "x".repeat(40)), &registry);
    assert_eq!(bob.send("NICK bob", &registry), Flow::SlowConsumer);
    assert_eq!(bob.send("ALL ghost", &registry), Flow::SlowConsumer);
    let seen = alice.received();
    assert_eq!(seen[0], "OK NICK alice");
    assert_eq!(seen[1], "JOIN bob");
    assert!(seen[2].starts_with("QUIT bob slow"), "{seen:?}");
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[test]
fn issue_13_the_answers_to_a_clients_own_lines_are_counted_and_nothing_else() {
    let registry = Registry::new();
    let mut alice = Client::new(1);
    let mut bob = Client::new(2);
    alice.send("NICK alice", &registry);
    bob.send("NICK bob", &registry);
    for client in [&alice, &bob] {
        client.queue.drain();
        client.session.take_answered_bytes();
    }
    bob.send("JOIN #tea", &registry);
    bob.queue.drain();
    bob.session.take_answered_bytes();
    // JOIN's answer (OK JOIN, the member list, its end) is queued by the registry.
    for line in [
        "WHO",
        "HELP",
        "ROOMS",
        "PING with a token",
        "STATS",
        "FROB",
        "JOIN #tea",
        "PART #tea",
    ] {
        alice.send(line, &registry);
        let queued: usize = alice.queue.drain().iter().map(|line| line.len()).sum();
        assert!(queued > 0, "{line}");
        assert_eq!(alice.session.take_answered_bytes(), queued, "{line}");
        assert_eq!(alice.session.take_answered_bytes(), 0, "taken once");
    }
    // What others send it is their cost, not its own.
    bob.queue.drain();
    bob.session.take_answered_bytes();
    bob.send("ALL hello", &registry);
    bob.send("MSG alice hi", &registry);
    assert_eq!(alice.received(), ["ALL bob hello", "MSG bob hi"]);
    assert_eq!(alice.session.take_answered_bytes(), 0);
    assert_eq!(
        bob.session.take_answered_bytes(),
        0,
        "no answer to ALL or MSG"
    );
}

#[test]
fn a_client_that_does_not_read_its_replies_is_a_slow_consumer() {
    let registry = Registry::new();
    let (outbox, _rx) = Outbox::detached(100);
    let peer = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1));
    let mut session = Session::new(1, peer, outbox, 4096, Limits::default());
    let flows: Vec<Flow> = (0..20)
        .map(|_| session.on_frame(Frame::Line("PING 123456789"), &registry))
        .collect();
    assert_eq!(flows.last(), Some(&Flow::SlowConsumer));
}
