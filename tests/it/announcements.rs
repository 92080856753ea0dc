//! Announcements keep their order now that they are pushed under the read lock (issue 13):
//! `NICK` among `ALL`s from others is in the one global order; `JOIN #room` and `PART #room`
//! among a room's messages are in the room's one order, and the joiner's member list agrees
//! with the lines after it; `OWNER` comes right after the `QUIT` that caused it.

use std::thread;

use crate::support::{TestClient, TestServer};

/// Registered clients with the lobby `JOIN` lines of each other already read.
fn clients(server: &TestServer, nicks: &[String]) -> Vec<TestClient> {
    let mut clients: Vec<TestClient> = nicks.iter().map(|nick| server.client(nick)).collect();
    for client in &mut clients {
        client.barrier();
    }
    clients
}

fn nicks(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn issue_13_a_nick_racing_alls_from_others_is_in_the_one_global_order() {
    let server = TestServer::with(|c| c.workers = 4);
    let mut senders = clients(&server, &nicks("s", 4));
    // Many recipients, so that pushing one line to all of them takes long enough for a
    // broken order to show; and several rounds, as a race may go right once.
    let mut listeners = clients(&server, &nicks("l", 8));
    let mut renamer = server.client("ra");
    for client in senders.iter_mut().chain(&mut listeners) {
        client.barrier();
    }
    for _ in 0..5 {
        renames_among_alls(&mut senders, &mut listeners, &mut renamer);
    }
}

/// The renamer renames itself back and forth while the senders send `ALL`s: every listener
/// hears the same sequence, and the renamer hears the `ALL`s in that same order.
fn renames_among_alls(
    senders: &mut [TestClient],
    listeners: &mut [TestClient],
    renamer: &mut TestClient,
) {
    const LINES: usize = 500;
    const RENAMES: usize = 1000;
    let heard_per_listener = senders.len() * LINES + RENAMES;
    let (heard, renamer_heard): (Vec<Vec<String>>, Vec<String>) = thread::scope(|scope| {
        let listening: Vec<_> = listeners
            .iter_mut()
            .map(|listener| {
                scope.spawn(move || {
                    (0..heard_per_listener)
                        .map(|_| listener.recv())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let renaming = scope.spawn(|| {
            // An even number of renames: the round ends with the nick it began with.
            for i in 0..RENAMES {
                let to = if i % 2 == 0 { "rb" } else { "ra" };
                renamer.send(&format!("NICK {to}"));
            }
            let mut heard = Vec::new();
            while heard.len() < heard_per_listener {
                heard.push(renamer.recv());
            }
            heard
        });
        for sender in senders.iter_mut() {
            scope.spawn(move || {
                for n in 0..LINES {
                    sender.send(&format!("ALL {n}"));
                }
            });
        }
        (
            listening.into_iter().map(|h| h.join().unwrap()).collect(),
            renaming.join().unwrap(),
        )
    });
    let reference = &heard[0];
    let renames = reference.iter().filter(|l| l.starts_with("NICK ")).count();
    assert_eq!(renames, RENAMES, "every rename announced once");
    for other in &heard[1..] {
        assert!(other == reference, "listeners disagree on the global order");
    }
    // The renamer sees the ALL lines in that same order, its own answers in between.
    let alls = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.starts_with("ALL "))
            .cloned()
            .collect()
    };
    assert!(
        alls(&renamer_heard) == alls(reference),
        "the renamer disagrees"
    );
    let answers = renamer_heard.iter().filter(|l| l.starts_with("OK NICK "));
    assert_eq!(answers.count(), RENAMES);
    for sender in senders.iter_mut() {
        sender.barrier();
    }
    for listener in listeners.iter_mut() {
        listener.expect_nothing_more();
    }
}

/// Reads `client` up to its `OK PART #r` line; checks that every room line it got came after
/// its `OK JOIN #r` and its member list, and that the list and the room lines agree: a member
/// listed is never announced joining, nor one announced leaving left unlisted before.
fn one_visit(client: &mut TestClient, chatters: &[String]) {
    assert_eq!(client.recv(), "OK JOIN #r");
    let mut present = std::collections::HashSet::new();
    loop {
        let line = client.recv();
        if line == "END WHO #r" {
            break;
        }
        let listed = line.strip_prefix("WHO #r ").expect("the member list first");
        present.extend(listed.split(' ').map(str::to_owned));
    }
    for chatter in chatters {
        assert!(present.contains(chatter), "{chatter} missing: {present:?}");
    }
    loop {
        let line = client.recv();
        if line == "OK PART #r" {
            return;
        }
        if let Some(nick) = line.strip_prefix("JOIN #r ") {
            assert!(present.insert(nick.to_owned()), "{nick} listed and joined");
        } else if let Some(rest) = line.strip_prefix("PART #r ") {
            let nick = rest.split(' ').next().unwrap();
            assert!(present.remove(nick), "{nick} left unlisted");
        } else {
            assert!(line.starts_with("MSG #r "), "a room line: {line}");
        }
    }
}

#[test]
fn issue_13_joins_and_parts_racing_room_messages_keep_the_rooms_one_order() {
    const CHATTERS: usize = 3;
    const LINES: usize = 300;
    const VISITS: usize = 200;
    let server = TestServer::with(|c| c.workers = 4);
    let chatter_nicks = nicks("c", CHATTERS);
    let mut chatters = clients(&server, &chatter_nicks);
    let mut listeners = clients(&server, &nicks("l", 2));
    let mut visitors = clients(&server, &nicks("v", 2));
    for client in chatters.iter_mut().chain(&mut listeners) {
        client.send("JOIN #r");
        client.barrier();
    }
    for client in chatters
        .iter_mut()
        .chain(&mut listeners)
        .chain(&mut visitors)
    {
        client.barrier();
    }
    // Each listener hears every message and each visitor's JOIN and PART.
    let per_listener = CHATTERS * LINES + visitors.len() * VISITS * 2;
    let heard: Vec<Vec<String>> = thread::scope(|scope| {
        let listening: Vec<_> = listeners
            .iter_mut()
            .map(|listener| {
                scope.spawn(move || (0..per_listener).map(|_| listener.recv()).collect())
            })
            .collect();
        for visitor in &mut visitors {
            let chatter_nicks = &chatter_nicks;
            scope.spawn(move || {
                let mut writer = visitor.writer.try_clone().unwrap();
                let sending = thread::spawn(move || {
                    for _ in 0..VISITS {
                        std::io::Write::write_all(&mut writer, b"JOIN #r\nPART #r\n").unwrap();
                    }
                });
                for _ in 0..VISITS {
                    one_visit(visitor, chatter_nicks);
                }
                sending.join().unwrap();
            });
        }
        for chatter in &mut chatters {
            scope.spawn(move || {
                for n in 0..LINES {
                    chatter.send(&format!("MSG #r {n}"));
                }
            });
        }
        listening.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(heard[0] == heard[1], "members disagree on the room's order");
    for client in chatters.iter_mut().chain(&mut visitors) {
        client.barrier();
    }
    for listener in &mut listeners {
        listener.expect_nothing_more();
    }
}

#[test]
fn issue_13_owner_comes_right_after_the_quit_that_caused_it_while_others_chat() {
    const ROUNDS: usize = 20;
    let server = TestServer::with(|c| c.workers = 4);
    let mut chatter = server.client("chatter");
    let mut watchers = clients(&server, &nicks("w", 2));
    for watcher in &mut watchers {
        watcher.send("CAP owner");
        watcher.expect("OK CAP owner");
    }
    chatter.barrier();
    for round in 0..ROUNDS {
        let room = format!("#r{round}");
        let mut owner = server.client(&format!("o{round}"));
        owner.send(&format!("JOIN {room}"));
        owner.barrier();
        for client in [&mut chatter].into_iter().chain(&mut watchers) {
            client.send(&format!("JOIN {room}"));
            client.barrier();
        }
        let heard = thread::scope(|scope| {
            scope.spawn(|| {
                // Until the owner's QUIT is queued for the chatter too.
                for n in 0.. {
                    chatter.send(&format!("MSG {room} {n}"));
                    let lines = chatter.barrier();
                    if lines
                        .iter()
                        .any(|l| l.starts_with(&format!("QUIT o{round}")))
                    {
                        return;
                    }
                }
            });
            owner.send("QUIT");
            let watcher_lines: Vec<Vec<String>> = watchers
                .iter_mut()
                .map(|watcher| {
                    let mut lines = Vec::new();
                    loop {
                        let line = watcher.recv();
                        let done = line.starts_with("OWNER ");
                        lines.push(line);
                        if done {
                            return lines;
                        }
                    }
                })
                .collect();
            watcher_lines
        });
        for lines in &heard {
            let quit = lines
                .iter()
                .position(|l| l.starts_with(&format!("QUIT o{round}")))
                .expect("the QUIT before the OWNER");
            assert_eq!(
                lines[quit + 1..],
                [format!("OWNER {room} chatter")],
                "round {round}: {lines:?}"
            );
        }
        // The rest of the chatter's messages follow; then the watchers leave the room.
        for watcher in &mut watchers {
            watcher.barrier();
            watcher.send(&format!("PART {room}"));
            watcher.expect(&format!("OK PART {room}"));
        }
        chatter.send(&format!("PART {room}"));
        chatter.barrier();
    }
}
