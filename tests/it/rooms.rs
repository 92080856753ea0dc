//! Rooms over TCP: every room line and error code, keyed and private rooms, invitations,
//! ownership hand-over, leaving on disconnect, per-room order under concurrent senders, and
//! rooms at scale (one of 5,000 members, 200 of 10).

use std::collections::HashSet;
use std::time::Duration;

use crate::support::{TestClient, TestServer, raise_fd_limit};

/// Registered clients with the lobby `JOIN` lines of each other already read.
fn clients<const N: usize>(server: &TestServer, nicks: [&str; N]) -> [TestClient; N] {
    let mut clients = nicks.map(|nick| server.client(nick));
    for client in &mut clients {
        client.barrier();
    }
    clients
}

/// As [`clients`], for a list of nicks.
fn many(server: &TestServer, nicks: &[String]) -> Vec<TestClient> {
    let mut clients: Vec<TestClient> = nicks.iter().map(|nick| server.client(nick)).collect();
    for client in &mut clients {
        client.barrier();
    }
    clients
}

#[test]
fn join_creates_the_room_lists_its_members_and_tells_the_others() {
    let server = TestServer::start();
    let [mut ann, mut bob] = clients(&server, ["ann", "bob"]);
    ann.send("JOIN #Tea");
    ann.expect("OK JOIN #Tea");
    ann.expect("WHO #Tea ann");
    ann.expect("END WHO #Tea");
    // Names ignore case; lines show the name as its creator typed it.
    bob.send("JOIN #tea");
    bob.expect("OK JOIN #Tea");
    bob.expect("WHO #Tea ann bob");
    bob.expect("END WHO #Tea");
    ann.expect("JOIN #Tea bob");
    bob.send("JOIN #TEA");
    bob.expect_err("ALREADY_IN_ROOM");
    bob.send("JOIN tea");
    bob.expect_err("BAD_ROOM");
    bob.send("JOIN");
    bob.expect_err("MISSING_ARGUMENT");
    ann.expect_nothing_more();
}

#[test]
fn room_messages_reach_the_other_members_only() {
    let server = TestServer::start();
    let [mut ann, mut bob, mut cy] = clients(&server, ["ann", "bob", "cy"]);
    for client in [&mut ann, &mut bob] {
        client.send("JOIN #tea");
        client.barrier();
    }
    ann.barrier();
    ann.send("MSG #tea hello room");
    bob.expect("MSG #tea ann hello room");
    cy.send("MSG #tea let me in");
    cy.expect_err("NOT_IN_ROOM");
    cy.send("MSG #nothing hi");
    cy.expect_err("NO_SUCH_ROOM");
    cy.send("MSG #bad! hi");
    cy.expect_err("BAD_ROOM");
    cy.send("MSG #tea");
    cy.expect_err("MISSING_ARGUMENT");
    // No echo to the sender, nothing to the non-member.
    ann.expect_nothing_more();
    cy.expect_nothing_more();
}

#[test]
fn part_tells_the_others_and_an_empty_room_disappears() {
    let server = TestServer::start();
    let [mut ann, mut bob] = clients(&server, ["ann", "bob"]);
    ann.send("JOIN #tea");
    ann.barrier();
    ann.send("TOPIC #tea biscuits");
    ann.send("KEY #tea secret");
    ann.barrier();
    bob.send("JOIN #tea secret");
    bob.barrier();
    ann.barrier();
    bob.send("PART #tea off to bed");
    bob.expect("OK PART #tea");
    ann.expect("PART #tea bob off to bed");
    bob.send("PART #tea");
    bob.expect_err("NOT_IN_ROOM");
    bob.send("PART #nothing");
    bob.expect_err("NO_SUCH_ROOM");
    ann.send("PART #tea");
    ann.expect("OK PART #tea");
    ann.send("ROOMS");
    ann.expect("END ROOMS");
    // Created afresh: no key, no topic.
    bob.send("JOIN #tea");
    bob.expect("OK JOIN #tea");
    bob.expect("WHO #tea bob");
    bob.expect("END WHO #tea");
}

#[test]
fn topics_go_to_every_member_and_to_later_joiners_and_show_in_rooms() {
    let server = TestServer::start();
    let [mut ann, mut bob, mut cy] = clients(&server, ["ann", "bob", "cy"]);
    for client in [&mut ann, &mut bob] {
        client.send("JOIN #tea");
        client.barrier();
    }
    ann.barrier();
    bob.send("TOPIC #tea earl grey only");
    bob.expect("TOPIC #tea bob earl grey only");
    ann.expect("TOPIC #tea bob earl grey only");
    cy.send("TOPIC #tea coffee");
    cy.expect_err("NOT_IN_ROOM");
    cy.send("TOPIC");
    cy.expect_err("MISSING_ARGUMENT");
    cy.send("ROOMS");
    cy.expect("ROOM #tea 2 earl grey only");
    cy.expect("END ROOMS");
    cy.send("JOIN #tea");
    cy.expect("OK JOIN #tea");
    cy.expect("TOPIC #tea bob earl grey only");
    cy.expect("WHO #tea ann bob cy");
    cy.expect("END WHO #tea");
}

#[test]
fn a_keyed_room_needs_its_key_and_only_the_owner_sets_it() {
    let server = TestServer::start();
    let [mut ann, mut bob, mut cy] = clients(&server, ["ann", "bob", "cy"]);
    ann.send("JOIN #vault");
    ann.barrier();
    ann.send("KEY #vault open-sesame");
    ann.expect("OK KEY #vault");
    bob.send("JOIN #vault");
    bob.expect_err("BAD_KEY");
    bob.send("JOIN #vault guess");
    bob.expect_err("BAD_KEY");
    bob.send("JOIN #vault open-sesame");
    bob.expect("OK JOIN #vault");
    bob.barrier();
    ann.expect("JOIN #vault bob");
    bob.send("KEY #vault mine");
    bob.expect_err("NOT_OWNER");
    cy.send("KEY #vault mine");
    cy.expect_err("NOT_IN_ROOM");
    ann.send("KEY #vault");
    ann.expect("OK KEY #vault");
    cy.send("JOIN #vault");
    cy.expect("OK JOIN #vault");
}

#[test]
fn a_private_room_is_hidden_and_invite_only_and_an_invitation_admits_once() {
    let server = TestServer::start();
    let [mut ann, mut bob, mut cy] = clients(&server, ["ann", "bob", "cy"]);
    ann.send("JOIN #den");
    ann.barrier();
    ann.send("KEY #den k");
    ann.send("PRIVATE #den on");
    ann.expect("OK KEY #den");
    ann.expect("OK PRIVATE #den on");
    cy.send("ROOMS");
    cy.expect("END ROOMS");
    cy.send("WHO #den");
    cy.expect_err("NO_SUCH_ROOM");
    cy.send("JOIN #den k");
    cy.expect_err("INVITE_ONLY");
    cy.send("INVITE bob #den");
    cy.expect_err("NO_SUCH_ROOM");
    ann.send("INVITE zed #den");
    ann.expect_err("NO_SUCH_NICK");
    ann.send("INVITE ann #den");
    ann.expect_err("ALREADY_IN_ROOM");
    ann.send("INVITE cy #den");
    ann.expect("OK INVITE cy #den");
    cy.expect("INVITE #den ann");
    // The invitation admits past privacy and key, once.
    cy.send("JOIN #den");
    cy.expect("OK JOIN #den");
    cy.barrier();
    ann.expect("JOIN #den cy");
    cy.send("ROOMS");
    cy.expect("ROOM #den 2");
    cy.expect("END ROOMS");
    cy.send("PRIVATE #den off");
    cy.expect_err("NOT_OWNER");
    cy.send("PART #den");
    cy.expect("OK PART #den");
    ann.expect("PART #den cy");
    cy.send("JOIN #den k");
    cy.expect_err("INVITE_ONLY");
    ann.send("PRIVATE #den maybe");
    ann.expect_err("BAD_ARGUMENT");
    ann.send("PRIVATE #den");
    ann.expect_err("MISSING_ARGUMENT");
    ann.send("PRIVATE #den off");
    ann.expect("OK PRIVATE #den off");
    bob.send("JOIN #den k");
    bob.expect("OK JOIN #den");
}

#[test]
fn the_longest_present_member_owns_the_room_when_the_owner_leaves() {
    let server = TestServer::start();
    let [mut ann, mut bob, mut cy] = clients(&server, ["ann", "bob", "cy"]);
    for client in [&mut ann, &mut bob, &mut cy] {
        client.send("JOIN #tea");
        client.barrier();
    }
    ann.barrier();
    bob.barrier();
    cy.send("KEY #tea x");
    cy.expect_err("NOT_OWNER");
    ann.send("PART #tea");
    ann.expect("OK PART #tea");
    bob.expect("PART #tea ann");
    cy.expect("PART #tea ann");
    bob.send("KEY #tea x");
    bob.expect("OK KEY #tea");
    cy.send("KEY #tea y");
    cy.expect_err("NOT_OWNER");
    // The owner disconnecting hands over the same way.
    bob.send("QUIT");
    bob.expect("BYE");
    // The lobby QUIT only, no PART.
    cy.expect("QUIT bob");
    cy.send("KEY #tea y");
    cy.expect("OK KEY #tea");
}

#[test]
fn a_client_that_leaves_the_server_leaves_its_rooms_silently() {
    let server = TestServer::start();
    let [mut ann, mut bob] = clients(&server, ["ann", "bob"]);
    for client in [&mut ann, &mut bob] {
        client.send("JOIN #tea");
        client.send("JOIN #cake");
        client.barrier();
    }
    ann.barrier();
    bob.reset();
    // One lobby QUIT, no PART.
    let quit = ann.recv();
    assert!(quit.starts_with("QUIT bob "), "{quit}");
    ann.send("WHO #tea");
    ann.expect("WHO #tea ann");
    ann.expect("END WHO #tea");
    ann.send("ROOMS");
    ann.expect("ROOM #cake 1");
    ann.expect("ROOM #tea 1");
    ann.expect("END ROOMS");
    ann.expect_nothing_more();
}

#[test]
fn room_and_membership_limits_refuse_with_their_codes() {
    let server = TestServer::with(|c| {
        c.max_rooms_per_client = 2;
        c.max_room_members = 2;
    });
    let [mut ann, mut bob, mut cy] = clients(&server, ["ann", "bob", "cy"]);
    ann.send("JOIN #a");
    ann.send("JOIN #b");
    ann.barrier();
    ann.send("JOIN #c");
    ann.expect_err("TOO_MANY_ROOMS");
    bob.send("JOIN #a");
    bob.barrier();
    cy.send("JOIN #a");
    cy.expect_err("ROOM_FULL");
    cy.send("WHO #a");
    cy.expect("WHO #a ann bob");
    cy.expect("END WHO #a");
}

#[test]
fn room_commands_need_a_nick_first() {
    let server = TestServer::start();
    let mut anon = server.connect();
    for line in [
        "JOIN #tea",
        "PART #tea",
        "ROOMS",
        "TOPIC #tea x",
        "KEY #tea",
        "MSG #tea x",
    ] {
        anon.send(line);
        anon.expect_err("NOT_REGISTERED");
    }
}

#[test]
fn twenty_concurrent_senders_and_every_member_sees_one_room_order() {
    const SENDERS: usize = 20;
    const LISTENERS: usize = 3;
    const LINES: usize = 200;
    let server = TestServer::with(|c| c.workers = 4);
    let nicks: Vec<String> = (0..SENDERS)
        .map(|i| format!("s{i}"))
        .chain((0..LISTENERS).map(|i| format!("l{i}")))
        .collect();
    let mut all = many(&server, &nicks);
    for client in &mut all {
        client.send("JOIN #race");
        client.barrier();
    }
    // The room JOIN lines are out of the way after one more barrier each.
    for client in &mut all {
        client.barrier();
    }
    let (senders, listeners) = all.split_at_mut(SENDERS);
    std::thread::scope(|scope| {
        for (i, sender) in senders.iter_mut().enumerate() {
            scope.spawn(move || {
                for n in 0..LINES {
                    sender.send(&format!("MSG #race {i} {n}"));
                }
                sender.barrier();
            });
        }
    });
    let mut orders = Vec::new();
    for listener in listeners.iter_mut() {
        listener.set_deadline(Duration::from_secs(30));
        let mut next = [0usize; SENDERS];
        let mut order = Vec::with_capacity(SENDERS * LINES);
        for _ in 0..SENDERS * LINES {
            let line = listener.recv();
            let mut words = line.split(' ').skip(3);
            let (i, n): (usize, usize) = (
                words.next().unwrap().parse().unwrap(),
                words.next().unwrap().parse().unwrap(),
            );
            assert_eq!(n, next[i], "sender {i} out of order: {line}");
            next[i] += 1;
            order.push((i, n));
        }
        listener.expect_nothing_more();
        orders.push(order);
    }
    assert!(
        orders.windows(2).all(|w| w[0] == w[1]),
        "members disagree on the room order"
    );
}

#[test]
fn a_room_of_five_thousand_members_gets_every_message() {
    const MEMBERS: usize = 5000;
    assert!(raise_fd_limit(3 * MEMBERS as u64 + 256) >= 2 * MEMBERS as u64 + 256);
    let server = TestServer::with(|c| c.workers = 2);
    let mut members: Vec<TestClient> = (0..MEMBERS)
        .map(|i| {
            let mut client = server.client(&format!("m{i}"));
            client.send("JOIN #big");
            // Its own join is done when its member list ends.
            while client.recv() != "END WHO #big" {}
            client
        })
        .collect();
    let sender = &mut members[0];
    sender.send("WHO #big");
    let mut listed = 0;
    loop {
        let line = sender.recv();
        if line == "END WHO #big" {
            break;
        }
        if let Some(nicks) = line.strip_prefix("WHO #big ") {
            listed += nicks.split(' ').count();
        }
    }
    assert_eq!(listed, MEMBERS);
    sender.send("MSG #big to all five thousand");
    sender.barrier();
    // Reading every member's 10,000 lobby and room JOIN lines would take a minute: a member in
    // every 25 (200 of them, first and last included) reads its stream up to the message.
    let last = MEMBERS - 1;
    let sample = members
        .iter_mut()
        .enumerate()
        .filter(|&(i, _)| i > 0 && (i % 25 == 0 || i == 1 || i == last));
    for (i, member) in sample {
        member.set_deadline(Duration::from_secs(60));
        loop {
            let line = member.recv();
            if line == "MSG #big m0 to all five thousand" {
                break;
            }
            assert!(
                line.starts_with("JOIN ")
                    || line.starts_with("OK ")
                    || line.starts_with("WHO #big")
                    || line == "END WHO #big",
                "member m{i}: {line:.80}"
            );
        }
    }
}

#[test]
fn two_hundred_rooms_of_ten_each_get_their_own_messages_only() {
    const CLIENTS: usize = 100;
    const ROOMS: usize = 200;
    const SIZE: usize = 10;
    let server = TestServer::start();
    let nicks: Vec<String> = (0..CLIENTS).map(|i| format!("c{i}")).collect();
    let mut all = many(&server, &nicks);
    // Room r holds clients r*10 .. r*10+9 (mod 100): each client is in 20 rooms.
    let members = |room: usize| (0..SIZE).map(move |k| (room * SIZE + k) % CLIENTS);
    for room in 0..ROOMS {
        for member in members(room) {
            all[member].send(&format!("JOIN #r{room}"));
        }
    }
    for client in &mut all {
        client.barrier();
    }
    for client in &mut all {
        client.barrier();
    }
    for room in 0..ROOMS {
        let first = members(room).next().unwrap();
        all[first].send(&format!("MSG #r{room} hello r{room}"));
    }
    // Two rounds of barriers: after the first, every MSG is queued; the second collects what
    // came after a client's first barrier.
    let mut got: Vec<Vec<String>> = all.iter_mut().map(TestClient::barrier).collect();
    for (client, got) in all.iter_mut().zip(&mut got) {
        got.extend(client.barrier());
    }
    for (i, got) in got.into_iter().enumerate() {
        let expected: HashSet<String> = (0..ROOMS)
            .filter(|&room| members(room).skip(1).any(|m| m == i))
            .map(|room| {
                let first = members(room).next().unwrap();
                format!("MSG #r{room} c{first} hello r{room}")
            })
            .collect();
        assert_eq!(got.len(), expected.len(), "client c{i}: {got:?}");
        assert_eq!(
            got.into_iter().collect::<HashSet<_>>(),
            expected,
            "client c{i}"
        );
    }
}
