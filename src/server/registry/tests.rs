//! Unit tests of the registry with real outboxes and no sockets: claims, departures, direct
//! and broadcast delivery, slow consumers, and the forms of a line per recipient.

use std::sync::Arc;

use super::*;
use crate::server::admission::AddressGroup;
use crate::server::line::Line;
use crate::server::outbox::DetachedQueue;

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

/// The throttle of a loopback client.
fn guesser(wrong_keys: &mut WrongKeys) -> Guesser<'_> {
    Guesser {
        group: AddressGroup::of(std::net::Ipv4Addr::LOCALHOST.into()),
        wrong_keys,
    }
}

fn drain(queue: &DetachedQueue) -> Vec<String> {
    queue
        .drain()
        .iter()
        .map(|l| l.trim_end().to_owned())
        .collect()
}

#[test]
fn claims_announce_and_rename() {
    let registry = Registry::new();
    let (a, a_rx) = Outbox::detached(1 << 20);
    let (b, b_rx) = Outbox::detached(1 << 20);
    let (claimed, _) = registry
        .claim(
            1,
            nick("alice"),
            &a,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("alice")),
        )
        .unwrap();
    assert_eq!(claimed, Claimed::Joined);
    let (claimed, _) = registry
        .claim(
            2,
            nick("bob"),
            &b,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("bob")),
        )
        .unwrap();
    assert_eq!(claimed, Claimed::Joined);
    // Each claim's confirmation is queued with it, before anything told after it.
    assert_eq!(drain(&a_rx), ["OK NICK alice", "JOIN bob"]);
    assert_eq!(drain(&b_rx), ["OK NICK bob"], "no self-announcement");

    let (claimed, _) = registry
        .claim(
            2,
            nick("Bobby"),
            &b,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("Bobby")),
        )
        .unwrap();
    assert_eq!(claimed, Claimed::Renamed { old: nick("bob") });
    assert_eq!(drain(&a_rx), ["NICK bob Bobby"]);
    let (claimed, _) = registry
        .claim(
            2,
            nick("Bobby"),
            &b,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("Bobby")),
        )
        .unwrap();
    assert_eq!(claimed, Claimed::Unchanged);
    assert!(drain(&a_rx).is_empty());
    // The old nick is free again; the new one is taken whatever its case.
    assert!(
        registry
            .claim(
                1,
                nick("BOB"),
                &a,
                CapSet::NONE,
                Identity::Guest,
                &Reply::OkNick(nick("BOB"))
            )
            .is_ok()
    );
    assert_eq!(
        registry
            .claim(
                1,
                nick("bobby"),
                &a,
                CapSet::NONE,
                Identity::Guest,
                &Reply::OkNick(nick("bobby"))
            )
            .map(|(c, _)| c),
        Err(ProtocolError::NickTaken(nick("bobby")))
    );
}

#[test]
fn leaving_announces_once() {
    let registry = Registry::new();
    let (a, a_rx) = Outbox::detached(1 << 20);
    let (b, _b_rx) = Outbox::detached(1 << 20);
    let _ = registry
        .claim(
            1,
            nick("alice"),
            &a,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("alice")),
        )
        .unwrap();
    let _ = registry
        .claim(
            2,
            nick("bob"),
            &b,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("bob")),
        )
        .unwrap();
    let (left, _) = registry.leave(2, Some("bye"));
    assert_eq!(left, Some(nick("bob")));
    let (again, _) = registry.leave(2, Some("bye"));
    assert_eq!(again, None);
    assert_eq!(drain(&a_rx), ["OK NICK alice", "JOIN bob", "QUIT bob bye"]);
    assert_eq!(registry.nicks(), [nick("alice")]);
}

#[test]
fn send_to_finds_nicks_ignoring_case() {
    let registry = Registry::new();
    let (a, a_rx) = Outbox::detached(1 << 20);
    let _ = registry
        .claim(
            1,
            nick("Alice"),
            &a,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("Alice")),
        )
        .unwrap();
    let slow = registry
        .send_to(1, &nick("aLiCe"), Arc::from("MSG bob hi\n"))
        .unwrap();
    assert!(slow.no_slow_consumer());
    assert_eq!(drain(&a_rx), ["OK NICK Alice", "MSG bob hi"]);
    assert!(matches!(
        registry.send_to(1, &nick("zed"), Arc::from("x\n")),
        Err(ProtocolError::NoSuchNick(_))
    ));
}

#[test]
fn a_full_queue_makes_a_slow_consumer_that_is_dropped_and_announced() {
    let registry = Registry::new();
    let (fast, fast_rx) = Outbox::detached(1 << 20);
    let (slow, slow_rx) = Outbox::detached(200);
    let (sender, _sender_rx) = Outbox::detached(1 << 20);
    let _ = registry
        .claim(
            1,
            nick("fast"),
            &fast,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("fast")),
        )
        .unwrap();
    let _ = registry
        .claim(
            2,
            nick("slow"),
            &slow,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("slow")),
        )
        .unwrap();
    // Read at once: the queue's room is for the lines below.
    assert_eq!(drain(&slow_rx), ["OK NICK slow"]);
    let _ = registry
        .claim(
            3,
            nick("sender"),
            &sender,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("sender")),
        )
        .unwrap();
    let line: Line = Arc::from("ALL sender 0123456789012345678901234567\n");
    let first = registry.broadcast(3, &line);
    assert!(first.no_slow_consumer());
    let second = registry.broadcast(3, &line);
    assert!(!second.no_slow_consumer());
    registry.finish(second);
    let mut nicks = registry.nicks();
    nicks.sort_by_key(Nick::key);
    assert_eq!(nicks, [nick("fast"), nick("sender")]);
    let seen = drain(&fast_rx);
    let all = line.trim_end();
    let quit = format!("QUIT slow {SLOW_CONSUMER}");
    assert_eq!(
        seen,
        ["OK NICK fast", "JOIN slow", "JOIN sender", all, all, &quit]
    );
    assert_eq!(drain(&slow_rx), ["JOIN sender", line.trim_end()]);
}

#[test]
fn issue_14_finishing_deliveries_counts_them_and_each_slow_consumer_once() {
    let registry = Registry::new();
    let (fast, _fast_rx) = Outbox::detached(1 << 20);
    let (slow, slow_rx) = Outbox::detached(200);
    let (sender, _sender_rx) = Outbox::detached(1 << 20);
    for (id, name, outbox) in [
        (1, "fast", &fast),
        (2, "slow", &slow),
        (3, "sender", &sender),
    ] {
        let (_, announced) = registry
            .claim(
                id,
                nick(name),
                outbox,
                CapSet::NONE,
                Identity::Guest,
                &Reply::OkNick(nick(name)),
            )
            .unwrap();
        registry.finish(announced);
        if id == 2 {
            // Read at once: the queue's room is for the lines below.
            assert_eq!(drain(&slow_rx), ["OK NICK slow"]);
        }
    }
    let line: Line = Arc::from("ALL sender 0123456789012345678901234567\n");
    // To both; then the slow queue overflows and it is cut; then to the fast one alone.
    for _ in 0..3 {
        registry.finish(registry.broadcast(3, &line));
    }
    registry.finish(
        registry
            .send_to(3, &nick("fast"), Arc::clone(&line))
            .unwrap(),
    );
    let load = registry.load();
    assert_eq!(load.deliveries_out, 2 + 1 + 1 + 1, "{load:?}");
    assert_eq!(load.slow_consumers_cut, 1, "{load:?}");
    assert_eq!(load.registered, 2, "{load:?}");
    // A cut that comes again (the client's own worker ending it) is not counted again.
    assert!(!slow.cut());
}

#[test]
fn fifty_racers_for_one_nick_one_wins() {
    let registry = Arc::new(Registry::new());
    let winners: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|id| {
                let registry = Arc::clone(&registry);
                scope.spawn(move || {
                    let (outbox, _rx) = Outbox::detached(1 << 20);
                    usize::from(
                        registry
                            .claim(
                                id,
                                nick("prize"),
                                &outbox,
                                CapSet::NONE,
                                Identity::Guest,
                                &Reply::OkNick(nick("prize")),
                            )
                            .is_ok(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(winners, 1);
    assert_eq!(registry.len(), 1);
}

#[test]
fn issue_12_each_form_of_an_action_is_formatted_once_and_shared() {
    use crate::server::line::Forms;
    use crate::server::rooms::Limits;
    use chatd_proto::{Capability, Room};

    let registry = Registry::new();
    let mut wrong = WrongKeys::default();
    let actions = CapSet::NONE.with(Capability::Actions);
    let caps = [CapSet::NONE, CapSet::NONE, actions, actions, CapSet::NONE];
    let queues: Vec<DetachedQueue> = (1..=5)
        .zip(caps)
        .map(|(id, caps)| {
            let (outbox, queue) = Outbox::detached(1 << 20);
            let _ = registry
                .claim(
                    id,
                    nick(&format!("n{id}")),
                    &outbox,
                    caps,
                    Identity::Guest,
                    &Reply::OkNick(nick(&format!("n{id}"))),
                )
                .unwrap();
            let room = Room::parse("#tea").unwrap();
            let _ = registry.join_room(id, &room, None, Limits::default(), guesser(&mut wrong));
            queue
        })
        .collect();
    for queue in &queues {
        queue.drain();
    }
    let forms = Forms::new(&Reply::Me {
        target: Target::Lobby,
        from: nick("n5"),
        text: "waves".to_owned(),
    });
    registry.finish(registry.broadcast(5, &forms));
    let room = Room::parse("#tea").unwrap();
    registry.finish(registry.act_in_room(5, &room, "nods").unwrap());
    let got: Vec<Vec<Line>> = queues.iter().map(DetachedQueue::drain).collect();
    let text = |lines: &[Line]| -> Vec<String> { lines.iter().map(|l| l.to_string()).collect() };
    for v1 in [&got[0], &got[1]] {
        assert_eq!(text(v1), ["ALL n5 /me waves\n", "MSG #tea n5 /me nods\n"]);
    }
    for with_cap in [&got[2], &got[3]] {
        assert_eq!(text(with_cap), ["ME * n5 waves\n", "ME #tea n5 nods\n"]);
    }
    assert!(got[4].is_empty(), "no echo to the sender");
    // One allocation per form, shared by its recipients: nothing is formatted per recipient.
    for (a, b) in got[0].iter().zip(&got[1]).chain(got[2].iter().zip(&got[3])) {
        assert!(Arc::ptr_eq(a, b));
    }
}

#[test]
fn issue_12_a_direct_line_to_an_away_client_tells_a_sender_with_cap_away() {
    use chatd_proto::Capability;

    let registry = Registry::new();
    let (a, a_rx) = Outbox::detached(1 << 20);
    let (b, b_rx) = Outbox::detached(1 << 20);
    let (c, c_rx) = Outbox::detached(1 << 20);
    let away = CapSet::NONE.with(Capability::Away);
    let _ = registry
        .claim(
            1,
            nick("ann"),
            &a,
            away,
            Identity::Guest,
            &Reply::OkNick(nick("ann")),
        )
        .unwrap();
    let _ = registry
        .claim(
            2,
            nick("bob"),
            &b,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("bob")),
        )
        .unwrap();
    let _ = registry
        .claim(
            3,
            nick("Cy"),
            &c,
            CapSet::NONE,
            Identity::Guest,
            &Reply::OkNick(nick("Cy")),
        )
        .unwrap();
    for queue in [&a_rx, &b_rx, &c_rx] {
        queue.drain();
    }
    registry.set_away(3, Some("lunch"));
    registry.finish(
        registry
            .send_to(1, &nick("cy"), Arc::from("MSG ann hi\n"))
            .unwrap(),
    );
    registry.finish(registry.act_to(2, &nick("cy"), "waves").unwrap());
    assert_eq!(drain(&a_rx), ["AWAY Cy lunch"]);
    assert!(drain(&b_rx).is_empty(), "bob has no CAP away");
    assert_eq!(drain(&c_rx), ["MSG ann hi", "MSG bob /me waves"]);
    registry.finish(registry.set_caps(2, away));
    registry.finish(registry.act_to(2, &nick("cy"), "waves").unwrap());
    assert_eq!(drain(&b_rx), ["AWAY Cy lunch"]);
    registry.set_away(3, None);
    registry.finish(
        registry
            .send_to(1, &nick("cy"), Arc::from("MSG ann hi\n"))
            .unwrap(),
    );
    assert!(drain(&a_rx).is_empty(), "back");
}
