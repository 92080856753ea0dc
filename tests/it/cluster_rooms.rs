//! Rooms across the nodes of a cluster (issue 19), through a real `nats-server -js`: one
//! room whoever's node its members are on, with its members, topic, key, privacy,
//! invitations and owner the same on every node; its lines in one order with the stream's
//! ids; a node that starts later takes the rooms as they are; a departure takes its client
//! out of its rooms on every node (a killed node's clients: `cluster_faults`).

use std::thread;
use std::time::{Duration, Instant};

use chatd_testkit::nats::NatsServer;

use crate::cluster::{node, node_with};
use crate::history::{Hist, history};
use crate::message_ids::split_id;
use crate::support::{TestClient, with_caps};

/// The next line that is not news of the lobby's presence (`JOIN <nick>`, `QUIT`, `NICK`):
/// which node's registrations reach a client when is the stream's business.
pub fn next_room_line(client: &mut TestClient) -> String {
    loop {
        let line = client.recv();
        let lobby_join = line.starts_with("JOIN ") && !line.starts_with("JOIN #");
        if !lobby_join && !line.starts_with("QUIT ") && !line.starts_with("NICK ") {
            return line;
        }
    }
}

pub fn expect_room(client: &mut TestClient, expected: &str) {
    assert_eq!(next_room_line(client), expected);
}

/// Waits until `client` has heard of `nick`'s registration: its node knows it from then on.
fn wait_for_join(client: &mut TestClient, nick: &str) {
    let joined = format!("JOIN {nick}");
    while client.recv() != joined {}
}

#[test]
fn issue_19_a_room_is_one_room_whichever_node_its_members_are_on() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let mut alice = with_caps(&a, "alice", &["owner"]);
    let mut bob = with_caps(&b, "bob", &["owner"]);
    wait_for_join(&mut alice, "bob");
    alice.send("JOIN #Tea");
    expect_room(&mut alice, "OK JOIN #Tea");
    expect_room(&mut alice, "WHO #Tea alice");
    expect_room(&mut alice, "END WHO #Tea");
    expect_room(&mut alice, "OWNER #Tea alice");
    // Only an account registers a room, on a node as on one server (`cluster_registered_rooms`).
    alice.send("REGISTER #tea");
    assert!(next_room_line(&mut alice).starts_with("ERR LOGIN_REQUIRED "));
    // Names ignore case on every node; the creator's spelling is the room's.
    bob.send("JOIN #tea");
    expect_room(&mut bob, "OK JOIN #Tea");
    expect_room(&mut bob, "WHO #Tea alice bob");
    expect_room(&mut bob, "END WHO #Tea");
    expect_room(&mut bob, "OWNER #Tea alice");
    expect_room(&mut alice, "JOIN #Tea bob");
    bob.send("JOIN #TEA");
    expect_room(&mut bob, "ERR ALREADY_IN_ROOM you are already in #Tea");

    // Lines both ways, and the topic for everyone, the setter too.
    bob.send("MSG #tea earl grey?");
    expect_room(&mut alice, "MSG #Tea bob earl grey?");
    alice.send("ME #tea nods");
    expect_room(&mut bob, "MSG #Tea alice /me nods");
    alice.send("TOPIC #tea earl grey only");
    expect_room(&mut alice, "TOPIC #Tea alice earl grey only");
    expect_room(&mut bob, "TOPIC #Tea alice earl grey only");

    // The owner is the owner on every node: bob's node refuses him as alice's would.
    bob.send("KEY #tea mine");
    assert!(next_room_line(&mut bob).starts_with("ERR NOT_OWNER "));
    alice.send("KEY #tea s3cret");
    expect_room(&mut alice, "OK KEY #Tea");
    let mut carol = with_caps(&b, "carol", &["owner"]);
    carol.send("JOIN #tea wrong");
    assert!(next_room_line(&mut carol).starts_with("ERR BAD_KEY "));
    carol.send("JOIN #tea s3cret");
    expect_room(&mut carol, "OK JOIN #Tea");
    expect_room(&mut carol, "TOPIC #Tea alice earl grey only");
    expect_room(&mut carol, "WHO #Tea alice bob carol");
    expect_room(&mut carol, "END WHO #Tea");
    expect_room(&mut carol, "OWNER #Tea alice");
    expect_room(&mut alice, "JOIN #Tea carol");
    expect_room(&mut bob, "JOIN #Tea carol");

    // Private: invisible to outsiders on the other node, open to whom a member invites.
    alice.send("PRIVATE #tea on");
    expect_room(&mut alice, "OK PRIVATE #Tea on");
    let mut dave = b.client("dave");
    wait_for_join(&mut alice, "dave");
    dave.send("JOIN #tea s3cret");
    assert!(next_room_line(&mut dave).starts_with("ERR INVITE_ONLY "));
    dave.send("ROOMS");
    expect_room(&mut dave, "END ROOMS");
    alice.send("INVITE nobody #tea");
    assert!(next_room_line(&mut alice).starts_with("ERR NO_SUCH_NICK "));
    alice.send("INVITE dave #tea");
    expect_room(&mut alice, "OK INVITE dave #Tea");
    expect_room(&mut dave, "INVITE #Tea alice");
    // An invitation admits past the key, once.
    dave.send("JOIN #tea");
    expect_room(&mut dave, "OK JOIN #Tea");
    expect_room(&mut dave, "TOPIC #Tea alice earl grey only");
    expect_room(&mut dave, "WHO #Tea alice bob carol dave");
    expect_room(&mut dave, "END WHO #Tea");
    for member in [&mut alice, &mut bob, &mut carol] {
        expect_room(member, "JOIN #Tea dave");
    }
    // A non-member learns it is not one before whether the nick is online.
    let mut eve = a.client("eve");
    eve.send("INVITE nobody #tea");
    assert!(next_room_line(&mut eve).starts_with("ERR NO_SUCH_ROOM "));

    // Leaving: the others are told, on both nodes; the owner's departure passes the room on.
    bob.send("PART #tea bye all");
    expect_room(&mut bob, "OK PART #Tea");
    expect_room(&mut alice, "PART #Tea bob bye all");
    expect_room(&mut carol, "PART #Tea bob bye all");
    alice.send("QUIT");
    expect_room(&mut alice, "BYE");
    expect_room(&mut carol, "OWNER #Tea carol");
    carol.send("WHO #tea");
    expect_room(&mut carol, "WHO #Tea carol dave");
    expect_room(&mut carol, "END WHO #Tea");
    // A room line reaches its members alone, on every node.
    dave.send("MSG #tea anyone?");
    expect_room(&mut carol, "MSG #Tea dave anyone?");
    dave.barrier();
    let heard = eve.barrier();
    assert!(
        heard.iter().all(|line| !line.contains("anyone?")),
        "a room line reached a client not in the room: {heard:?}"
    );
}

#[test]
fn issue_19_a_room_line_has_one_id_and_one_order_on_every_node() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let mut alice = with_caps(&a, "alice", &["ids"]);
    let mut bob = with_caps(&b, "bob", &["ids"]);
    let mut carol = with_caps(&b, "carol", &["ids"]);
    wait_for_join(&mut alice, "carol");
    for client in [&mut alice, &mut bob, &mut carol] {
        client.send("JOIN #race");
        expect_room(client, "OK JOIN #race");
        while !next_room_line(client).starts_with("END WHO ") {}
    }
    // Both nodes' senders at once: every member sees one order, with the same ids.
    for n in 0..20 {
        alice.send(&format!("MSG #race a{n}"));
        bob.send(&format!("MSG #race b{n}"));
    }
    let mut seen_by_carol = Vec::new();
    while seen_by_carol.len() < 40 {
        let line = next_room_line(&mut carol);
        if let (Some(id), text) = split_id(&line) {
            seen_by_carol.push((id, text.to_owned()));
        }
    }
    let mut ids: Vec<u64> = seen_by_carol.iter().map(|(id, _)| *id).collect();
    ids.dedup();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{seen_by_carol:?}");
    // Each sender sees the other's lines with the ids carol saw them with, in her order.
    for (client, own) in [
        (&mut alice, "MSG #race alice "),
        (&mut bob, "MSG #race bob "),
    ] {
        let others: Vec<&(u64, String)> = seen_by_carol
            .iter()
            .filter(|(_, text)| !text.starts_with(own))
            .collect();
        for expected in others {
            // Skipping the news of who joined the room after it.
            let line = loop {
                let line = next_room_line(client);
                if !line.starts_with("JOIN #race ") {
                    break line;
                }
            };
            let (id, text) = split_id(&line);
            assert_eq!((id, text), (Some(expected.0), expected.1.as_str()));
        }
    }
}

#[test]
fn issue_19_a_node_that_starts_later_takes_the_rooms_as_they_are() {
    let nats = NatsServer::start();
    let a = node(&nats.url);
    let mut alice = a.client("alice");
    alice.send("JOIN #vault");
    expect_room(&mut alice, "OK JOIN #vault");
    alice.barrier();
    alice.send("TOPIC #vault gold");
    expect_room(&mut alice, "TOPIC #vault alice gold");
    alice.send("KEY #vault s3cret");
    expect_room(&mut alice, "OK KEY #vault");
    alice.send("MSG #vault one");
    alice.send("ME #vault counts");
    alice.send("JOIN #open");
    expect_room(&mut alice, "OK JOIN #open");
    alice.barrier();
    let before = history(&mut alice, "HISTORY #vault 10", "#vault");
    assert_eq!(before.len(), 2, "{before:?}");
    for line in [
        "JOIN #again",
        "MSG #again secret",
        "PART #again",
        "JOIN #again",
    ] {
        alice.send(line);
    }
    alice.send("MSG #again fresh");
    alice.barrier();
    let c = node(&nats.url);
    let mut carol = c.client("carol");
    carol.send("ROOMS");
    expect_room(&mut carol, "ROOM #again 1");
    expect_room(&mut carol, "ROOM #open 1");
    expect_room(&mut carol, "ROOM #vault 1 gold");
    expect_room(&mut carol, "END ROOMS");
    carol.send("JOIN #vault");
    assert!(next_room_line(&mut carol).starts_with("ERR BAD_KEY "));
    carol.send("JOIN #vault s3cret");
    expect_room(&mut carol, "OK JOIN #vault");
    expect_room(&mut carol, "TOPIC #vault alice gold");
    expect_room(&mut carol, "WHO #vault alice carol");
    expect_room(&mut carol, "END WHO #vault");
    expect_room(&mut alice, "JOIN #vault carol");
    // The lines from before the node started, read from the stream: the same page, ids
    // and all, as on the node that delivered them.
    let taken = history(&mut carol, "HISTORY #vault 10", "#vault");
    let ids = |page: &[Hist]| {
        page.iter()
            .map(|h| (h.id, h.line.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&taken), ids(&before));
    assert_eq!(taken[0].line, "MSG #vault alice one");
    // A room made again after it emptied is another room: none of the first one's lines.
    carol.send("JOIN #again");
    expect_room(&mut carol, "OK JOIN #again");
    expect_room(&mut carol, "WHO #again alice carol");
    expect_room(&mut carol, "END WHO #again");
    let again = history(&mut carol, "HISTORY #again 10", "#again");
    let texts: Vec<&str> = again.iter().map(|h| h.line.as_str()).collect();
    assert_eq!(texts, ["MSG #again alice fresh"]);
    // The first member owns it on the new node as on the old one.
    carol.send("KEY #vault other");
    assert!(next_room_line(&mut carol).starts_with("ERR NOT_OWNER "));
    carol.send("MSG #vault hello");
    expect_room(&mut alice, "JOIN #again carol");
    expect_room(&mut alice, "MSG #vault carol hello");
}

#[test]
fn issue_19_a_file_for_a_room_reaches_its_members_on_every_node_in_the_room_s_order() {
    let nats = NatsServer::start();
    let a = crate::cluster::web_node(&nats.url);
    let b = node(&nats.url);
    let mut alice = a.client("alice");
    let mut bob = with_caps(&b, "bob", &["ids"]);
    let mut outsider = b.client("carol");
    for member in [&mut alice, &mut bob] {
        member.send("JOIN #tea");
        expect_room(member, "OK JOIN #tea");
        while !next_room_line(member).starts_with("END WHO ") {}
    }
    expect_room(&mut alice, "JOIN #tea bob");
    alice.send("MSG #tea before");
    let download = crate::file_support::send_file(&mut alice, "#tea", b"some bytes", "a.txt");
    alice.send("MSG #tea after");
    alice.barrier();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let line = next_room_line(&mut bob);
        if let (Some(id), text) = split_id(&line) {
            seen.push((id, text.to_owned()));
        }
    }
    let texts: Vec<&str> = seen.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "MSG #tea alice before",
            &format!("FILE #tea alice 10 {download} a.txt"),
            "MSG #tea alice after"
        ]
    );
    assert!(seen[0].0 < seen[1].0 && seen[1].0 < seen[2].0, "{seen:?}");
    let heard = outsider.barrier();
    assert!(
        heard.iter().all(|line| !line.contains("a.txt")),
        "{heard:?}"
    );
}

#[test]
fn issue_19_a_node_that_starts_later_takes_rooms_too_many_for_one_message() {
    let nats = NatsServer::start();
    const ROOMS: usize = 3_000;
    let many = |config: &mut chatd_testkit::Config| config.max_rooms_per_client = ROOMS;
    let a = node_with(&nats.url, many);
    let mut alice = a.client("alice");
    // 3,000 rooms with 380-byte topics: an image of 1.3 MB, more than a NATS message
    // holds (1 MiB), told in parts of 64 KiB.
    let topic = |n: usize| format!("{n:04}{}", "t".repeat(376));
    for n in 0..ROOMS {
        alice.send(&format!("JOIN #r{n:04}"));
        alice.send(&format!("TOPIC #r{n:04} {}", topic(n)));
    }
    let answers = alice.barrier();
    let count = |start: &str| {
        answers
            .iter()
            .filter(|line| line.starts_with(start))
            .count()
    };
    assert_eq!((count("OK JOIN #r"), count("TOPIC #r")), (ROOMS, ROOMS));
    let c = node_with(&nats.url, many);
    let mut carol = c.client("carol");
    // `ROOMS` answers from what carol's node has taken so far: the image comes in a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let listed = loop {
        carol.send("ROOMS");
        let mut listed = Vec::new();
        loop {
            match next_room_line(&mut carol) {
                line if line == "END ROOMS" => break,
                line => listed.push(line),
            }
        }
        if !listed.is_empty() || Instant::now() > deadline {
            break listed;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let expected: Vec<String> = (0..ROOMS)
        .map(|n| format!("ROOM #r{n:04} 1 {}", topic(n)))
        .collect();
    assert_eq!(listed, expected);
    // And they are the rooms themselves: the owner, and a line across the nodes.
    carol.send("JOIN #r2999");
    expect_room(&mut carol, "OK JOIN #r2999");
    expect_room(&mut carol, &format!("TOPIC #r2999 alice {}", topic(2999)));
    expect_room(&mut carol, "WHO #r2999 alice carol");
    expect_room(&mut carol, "END WHO #r2999");
    carol.send("MSG #r2999 found it");
    expect_room(&mut alice, "JOIN #r2999 carol");
    expect_room(&mut alice, "MSG #r2999 carol found it");
}
