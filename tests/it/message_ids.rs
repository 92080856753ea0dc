//! Message ids over TCP (issue 15): `CAP ids` and the `@<id> ` form of chat lines, on chat
//! lines only; v1 clients beside them unchanged; one id per line at every recipient; ids
//! growing in delivery order under concurrent senders; a restarted server above the first.

use std::thread;

use chatd_proto::{MessageId, Reply};

use crate::support::{TestClient, TestServer, with_caps};

/// Splits a line of a `CAP ids` client into its id and the v1 line, failing the test on a
/// line that is not in the protocol (a bad prefix, or an id on a line that carries none).
pub fn split_id(line: &str) -> (Option<u64>, &str) {
    let (id, reply) = Reply::parse_with_id(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    let id = id.map(MessageId::get);
    let v1 = match id {
        Some(_) => {
            line.split_once(' ')
                .expect("an id is followed by a space")
                .1
        }
        None => line,
    };
    assert_eq!(reply.to_string(), v1);
    (id, v1)
}

/// The next line: it must carry an id and be `v1` after it. Returns the id.
fn expect_with_id(client: &mut TestClient, v1: &str) -> u64 {
    let line = client.recv();
    match split_id(&line) {
        (Some(id), rest) if rest == v1 => id,
        _ => panic!("expected @<id> {v1}, got {line:?}"),
    }
}

/// Makes every client read what is pending (lobby `JOIN`s and the like).
fn settle(clients: &mut [&mut TestClient]) {
    for client in clients {
        client.barrier();
    }
}

#[test]
fn issue_15_cap_ids_is_answered_before_and_after_registration() {
    let server = TestServer::start();
    let mut early = server.connect();
    early.send("CAP ids");
    early.expect("OK CAP ids");
    early.send("cap IDS");
    early.expect("OK CAP ids");
    early.send("NICK ann");
    early.expect("OK NICK ann");
    let mut late = server.client("bob");
    late.send("CAP ids");
    late.expect("OK CAP ids");
    early.barrier();

    early.send("ALL hi");
    expect_with_id(&mut late, "ALL ann hi");
    late.send("MSG ann hello");
    expect_with_id(&mut early, "MSG bob hello");
    early.expect_nothing_more();
    late.expect_nothing_more();
}

#[test]
fn issue_15_ids_come_on_chat_lines_only_and_v1_clients_see_v1_lines() {
    let server = TestServer::start();
    let mut ids = with_caps(&server, "ida", &["ids", "away", "owner"]);
    let mut both = with_caps(&server, "ivo", &["ids", "actions"]);
    let mut v1 = server.client("val");
    let mut sender = server.client("sam");
    settle(&mut [&mut ids, &mut both, &mut v1, &mut sender]);

    for client in [&mut ids, &mut both, &mut v1] {
        client.send("JOIN #tea");
        client.barrier();
    }
    sender.send("JOIN #tea");
    sender.barrier();
    settle(&mut [&mut ids, &mut both, &mut v1]);

    // Chat lines: with an id to the `CAP ids` clients, exactly v1 to the other.
    sender.send("ALL hello all");
    sender.send("MSG #tea hello tea");
    sender.send("ME * waves");
    sender.send("ME #tea pours");
    sender.barrier();
    for (client, action_all, action_room) in [
        (&mut ids, "ALL sam /me waves", "MSG #tea sam /me pours"),
        (&mut both, "ME * sam waves", "ME #tea sam pours"),
    ] {
        expect_with_id(client, "ALL sam hello all");
        expect_with_id(client, "MSG #tea sam hello tea");
        expect_with_id(client, action_all);
        expect_with_id(client, action_room);
    }
    for line in [
        "ALL sam hello all",
        "MSG #tea sam hello tea",
        "ALL sam /me waves",
        "MSG #tea sam /me pours",
    ] {
        v1.expect(line);
    }
    for (to, v1_line) in [
        ("ida", "MSG sam psst"),
        ("ivo", "MSG sam psst"),
        ("val", "MSG sam psst"),
    ] {
        sender.send(&format!("MSG {to} psst"));
        let client = match to {
            "ida" => &mut ids,
            "ivo" => &mut both,
            _ => &mut v1,
        };
        if to == "val" {
            client.expect(v1_line);
        } else {
            expect_with_id(client, v1_line);
        }
    }
    sender.send("ME ida nods");
    expect_with_id(&mut ids, "MSG sam /me nods");
    sender.send("ME ivo nods");
    expect_with_id(&mut both, "ME ivo sam nods");

    // Every other line, to them and from them, carries no id.
    ids.send("AWAY out");
    ids.expect("OK AWAY on");
    both.send("MSG ida back soon?");
    expect_with_id(&mut ids, "MSG ivo back soon?");
    ids.send("MSG ivo yes");
    expect_with_id(&mut both, "MSG ida yes");
    sender.send("TOPIC #tea green");
    sender.expect("TOPIC #tea sam green");
    sender.send("NICK sal");
    sender.expect("OK NICK sal");
    sender.send("PART #tea");
    sender.expect("OK PART #tea");
    sender.send("QUIT");
    sender.expect("BYE");
    for client in [&mut ids, &mut both, &mut v1] {
        for line in [
            "TOPIC #tea sam green",
            "NICK sam sal",
            "PART #tea sal",
            "QUIT sal",
        ] {
            client.expect(line);
        }
    }
    ids.send("PART #tea");
    ids.expect("OK PART #tea");
    for client in [&mut both, &mut v1] {
        client.expect("PART #tea ida");
    }
    let who = [&mut ids, &mut both, &mut v1]
        .into_iter()
        .flat_map(|client| {
            client.send("WHO");
            client.barrier()
        })
        .collect::<Vec<_>>();
    for line in who {
        assert!(!line.starts_with('@'), "{line:?}");
    }
    for client in [&mut ids, &mut both, &mut v1] {
        client.expect_nothing_more();
    }
}

#[test]
fn issue_15_one_line_has_one_id_at_every_recipient() {
    let server = TestServer::start();
    let mut ann = with_caps(&server, "ann", &["ids"]);
    let mut bob = with_caps(&server, "bob", &["ids", "actions"]);
    let mut cy = with_caps(&server, "cy", &["ids"]);
    let mut sam = server.client("sam");
    settle(&mut [&mut ann, &mut bob, &mut cy, &mut sam]);
    for client in [&mut ann, &mut bob, &mut cy, &mut sam] {
        client.send("JOIN #tea");
        client.barrier();
    }
    settle(&mut [&mut ann, &mut bob, &mut cy]);

    sam.send("ALL one");
    sam.send("MSG #tea two");
    sam.send("ME * three");
    sam.barrier();
    let ids = |client: &mut TestClient, action: &str| {
        [
            expect_with_id(client, "ALL sam one"),
            expect_with_id(client, "MSG #tea sam two"),
            expect_with_id(client, action),
        ]
    };
    let at_ann = ids(&mut ann, "ALL sam /me three");
    assert_eq!(ids(&mut bob, "ME * sam three"), at_ann);
    assert_eq!(ids(&mut cy, "ALL sam /me three"), at_ann);
    assert!(at_ann[0] < at_ann[1] && at_ann[1] < at_ann[2], "{at_ann:?}");
}

/// How many lines each sender sends to the lobby and to the room.
const EACH: usize = 300;

#[test]
fn issue_15_ids_grow_in_delivery_order_under_concurrent_senders() {
    let server = TestServer::with(|c| c.workers = 4);
    let names = ["ann", "bob", "cy", "dee"];
    let mut senders: Vec<TestClient> = names
        .iter()
        .map(|nick| with_caps(&server, nick, &["ids"]))
        .collect();
    let mut watcher = with_caps(&server, "wat", &["ids", "actions"]);
    let mut v1 = server.client("val");
    for client in senders.iter_mut().chain([&mut watcher, &mut v1]) {
        client.send("JOIN #tea");
        client.barrier();
    }
    for client in senders.iter_mut().chain([&mut watcher, &mut v1]) {
        client.barrier();
    }

    // Each sender mixes lobby and room lines, messages and actions, and direct lines to the
    // watcher, all at once with the others; what it receives meanwhile is kept.
    let early: Vec<Vec<String>> = thread::scope(|scope| {
        let running: Vec<_> = senders
            .iter_mut()
            .map(|sender| {
                scope.spawn(move || {
                    for n in 0..EACH {
                        let line = match n % 4 {
                            0 => format!("ALL {n}"),
                            1 => format!("MSG #tea {n}"),
                            2 => format!("ME * {n}"),
                            _ => format!("ME #tea {n}"),
                        };
                        sender.send(&line);
                        sender.send(&format!("MSG wat {n}"));
                    }
                    sender.barrier()
                })
            })
            .collect();
        running.into_iter().map(|s| s.join().unwrap()).collect()
    });

    let mut receivers: Vec<(&str, Vec<String>, &mut TestClient)> = names
        .iter()
        .copied()
        .zip(early)
        .zip(&mut senders)
        .map(|((nick, early), client)| (nick, early, client))
        .collect();
    receivers.push(("wat", Vec::new(), &mut watcher));
    for (nick, mut lines, client) in receivers {
        lines.extend(client.barrier());
        let others = names.iter().filter(|&&n| n != nick).count();
        let (mut lobby, mut room) = (Vec::new(), Vec::new());
        let mut direct: Vec<(String, u64)> = Vec::new();
        for line in &lines {
            let (id, v1) = split_id(line);
            let id = id.unwrap_or_else(|| panic!("{nick}: no id on {line:?}"));
            if v1.starts_with("ALL ") || v1.starts_with("ME * ") {
                lobby.push(id);
            } else if v1.starts_with("MSG #tea ") || v1.starts_with("ME #tea ") {
                room.push(id);
            } else {
                let from = v1.split(' ').nth(1).expect("MSG <from> <text>");
                direct.push((from.to_owned(), id));
            }
        }
        assert_eq!(lobby.len(), others * EACH / 2, "{nick}'s lobby lines");
        assert_eq!(room.len(), others * EACH / 2, "{nick}'s room lines");
        for (what, ids) in [("lobby", &lobby), ("room", &room)] {
            if let Some(pair) = ids.windows(2).find(|pair| pair[0] >= pair[1]) {
                panic!(
                    "{nick}'s {what} ids do not grow: {} then {}",
                    pair[0], pair[1]
                );
            }
        }
        // A pair conversation: each sender's lines to the watcher grow too.
        for from in names {
            let ids: Vec<u64> = direct
                .iter()
                .filter(|(f, _)| f == from)
                .map(|&(_, id)| id)
                .collect();
            let expected = if nick == "wat" { EACH } else { 0 };
            assert_eq!(ids.len(), expected, "{nick} from {from}");
            assert!(
                ids.windows(2).all(|pair| pair[0] < pair[1]),
                "{from} to {nick}"
            );
        }
    }
    // The v1 client got the same lines with no id at all.
    let lines = v1.barrier();
    assert_eq!(lines.len(), names.len() * EACH);
    assert!(lines.iter().all(|line| !line.starts_with('@')));
}

#[test]
fn issue_15_a_restarted_server_hands_out_larger_ids() {
    let last_id = |server: &TestServer| {
        let mut ann = server.client("ann");
        let mut bob = with_caps(server, "bob", &["ids"]);
        ann.barrier();
        let mut last = 0;
        for n in 0..100 {
            ann.send(&format!("ALL {n}"));
            let id = expect_with_id(&mut bob, &format!("ALL ann {n}"));
            assert!(id > last);
            last = id;
        }
        last
    };
    let first = TestServer::start();
    let before = last_id(&first);
    first.shutdown();
    let second = TestServer::start();
    let after = last_id(&second);
    assert!(after > before, "{after} after a restart, {before} before");
}
