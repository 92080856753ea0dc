//! `HISTORY` over TCP (issue 15, point 2): the lobby's and rooms' recent lines from memory,
//! paged both ways and oldest first; complete after a barrier; rooms for members only, and
//! forgotten with the room; the ids `CAP ids` clients saw; `BAD_HISTORY`; the ring's bound.

use chatd_proto::Reply;

use crate::support::{TestClient, TestServer};

/// One `HIST` line read back: its id and the v1 line it holds.
#[derive(Debug, PartialEq)]
pub struct Hist {
    pub id: u64,
    pub line: String,
}

/// Sends `request` and reads its answer: the `HIST` lines for `target`, then
/// `END HISTORY <target> <n>`, whose `n` must count them.
pub fn history(client: &mut TestClient, request: &str, target: &str) -> Vec<Hist> {
    client.send(request);
    let mut lines = Vec::new();
    loop {
        let line = client.recv();
        match Reply::parse(&line).unwrap_or_else(|e| panic!("{line:?}: {e}")) {
            Reply::Hist {
                target: to,
                id,
                line,
                ..
            } => {
                assert_eq!(to.to_string(), target);
                lines.push(Hist { id: id.get(), line });
            }
            Reply::EndHistory { target: to, count } => {
                assert_eq!(to.to_string(), target);
                assert_eq!(count, lines.len(), "END HISTORY counts the HIST lines");
                return lines;
            }
            _ => panic!("expected HIST or END HISTORY, got {line:?}"),
        }
    }
}

/// Pages forward from before the first line with `AFTER`, `page` lines at a time.
pub fn all_forwards(client: &mut TestClient, page: usize) -> Vec<Hist> {
    let mut seen: Vec<Hist> = Vec::new();
    loop {
        let after = seen.last().map_or(1, |hist| hist.id);
        let newer = history(client, &format!("HISTORY * {page} AFTER {after}"), "*");
        if newer.is_empty() {
            return seen;
        }
        seen.extend(newer);
    }
}

fn texts(lines: &[Hist]) -> Vec<&str> {
    lines.iter().map(|hist| hist.line.as_str()).collect()
}

/// `ALL <sender> m<n>` for each n of `range`.
fn lobby_lines(sender: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("ALL {sender} m{n}")).collect()
}

#[test]
fn issue_15_lobby_history_pages_both_ways_oldest_first() {
    let server = TestServer::start();
    let mut ann = server.client("ann");
    let mut bob = server.client("bob");
    ann.barrier();
    for n in 0..10 {
        ann.send(&format!("ALL m{n}"));
    }
    ann.barrier();
    assert_eq!(bob.barrier(), lobby_lines("ann", 0..10));

    let latest = history(&mut bob, "HISTORY *", "*");
    assert_eq!(texts(&latest), lobby_lines("ann", 0..10));
    assert!(latest.windows(2).all(|pair| pair[0].id < pair[1].id));

    let last3 = history(&mut bob, "HISTORY * 3", "*");
    assert_eq!(texts(&last3), lobby_lines("ann", 7..10));
    let before = format!("HISTORY * 3 BEFORE {}", last3[0].id);
    assert_eq!(
        texts(&history(&mut bob, &before, "*")),
        lobby_lines("ann", 4..7)
    );
    let before = format!("history * 50 before {}", latest[2].id);
    assert_eq!(
        texts(&history(&mut bob, &before, "*")),
        lobby_lines("ann", 0..2)
    );
    let before = format!("HISTORY * BEFORE {}", latest[0].id);
    assert!(history(&mut bob, &before, "*").is_empty());

    let after = format!("HISTORY * 4 AFTER {}", latest[0].id);
    assert_eq!(
        texts(&history(&mut bob, &after, "*")),
        lobby_lines("ann", 1..5)
    );
    let after = format!("HISTORY * AFTER {}", latest[8].id);
    assert_eq!(
        texts(&history(&mut bob, &after, "*")),
        lobby_lines("ann", 9..10)
    );
    let after = format!("HISTORY * AFTER {}", latest[9].id);
    assert!(history(&mut bob, &after, "*").is_empty());

    // Paging forward from the start visits every line once.
    let mut seen = Vec::new();
    let mut page = history(
        &mut bob,
        &format!("HISTORY * 3 AFTER {}", latest[0].id - 1),
        "*",
    );
    while let Some(last) = page.last() {
        let next = format!("HISTORY * 3 AFTER {}", last.id);
        seen.extend(page);
        page = history(&mut bob, &next, "*");
    }
    assert_eq!(seen, latest);
}

#[test]
fn issue_15_history_after_a_barrier_has_every_line_queued_before_it() {
    let server = TestServer::start();
    let mut ann = server.client("ann");
    let mut bob = server.client("bob");
    for client in [&mut ann, &mut bob] {
        client.send("JOIN #tea");
    }
    for client in [&mut ann, &mut bob] {
        client.barrier();
    }
    for n in 0..200 {
        ann.send(&format!("ALL a{n}"));
        bob.send(&format!("MSG #tea b{n}"));
        ann.send(&format!("ME * waves {n}"));
    }
    // Once each sender's barrier is answered, each of its lines is queued and recorded.
    // A newcomer asks at once: nothing it was sent comes before the answer.
    ann.barrier();
    bob.barrier();
    let mut cat = server.client("cat");
    let lobby = history(&mut cat, "HISTORY * 1000", "*");
    let expected: Vec<String> = (0..200)
        .flat_map(|n| [format!("ALL ann a{n}"), format!("ALL ann /me waves {n}")])
        .collect();
    assert_eq!(texts(&lobby), expected, "actions are kept in their v1 form");
    cat.send("JOIN #tea");
    cat.barrier();
    let tea = history(&mut cat, "HISTORY #TEA 1000", "#tea");
    let expected: Vec<String> = (0..200).map(|n| format!("MSG #tea bob b{n}")).collect();
    assert_eq!(texts(&tea), expected);
}

#[test]
fn issue_15_history_ids_are_the_ids_cap_ids_clients_saw() {
    let server = TestServer::start();
    let mut ann = server.client("ann");
    let mut bob = server.connect();
    bob.send("CAP ids");
    bob.expect("OK CAP ids");
    bob.send("NICK bob");
    bob.expect("OK NICK bob");
    ann.barrier();
    for client in [&mut ann, &mut bob] {
        client.send("JOIN #tea");
        client.barrier();
    }
    ann.send("ALL hi");
    ann.send("MSG #tea hello");
    ann.barrier();
    let mut seen = Vec::new();
    for line in bob.barrier() {
        if let (Some(id), reply) = Reply::parse_with_id(&line).unwrap() {
            seen.push((id.get(), reply.to_string()));
        }
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    let lobby = history(&mut bob, "HISTORY *", "*");
    let tea = history(&mut bob, "HISTORY #tea", "#tea");
    let kept: Vec<(u64, String)> = lobby
        .into_iter()
        .chain(tea)
        .map(|hist| (hist.id, hist.line))
        .collect();
    assert_eq!(kept, seen);
    // HIST lines never carry an id prefix, even to a `CAP ids` client.
    bob.send("HISTORY * 1");
    let line = bob.recv();
    assert!(
        line.starts_with(&format!("HIST * {} ", seen[0].0)),
        "{line}"
    );
    bob.expect("END HISTORY * 1");
}

#[test]
fn issue_15_room_history_is_for_members_only_and_forgotten_with_the_room() {
    let server = TestServer::start();
    let mut ann = server.client("ann");
    let mut bob = server.client("bob");
    ann.barrier();
    bob.send("HISTORY #nowhere");
    bob.expect_err("NO_SUCH_ROOM");

    ann.send("JOIN #Tea");
    ann.send("MSG #tea one");
    ann.send("JOIN #den");
    ann.send("PRIVATE #den on");
    ann.send("MSG #den secret");
    ann.barrier();
    assert_eq!(
        texts(&history(&mut ann, "HISTORY #tea", "#Tea")),
        ["MSG #Tea ann one"]
    );
    assert_eq!(
        texts(&history(&mut ann, "HISTORY #den", "#den")),
        ["MSG #den ann secret"]
    );
    bob.barrier();
    bob.send("HISTORY #tea");
    bob.expect_err("NOT_IN_ROOM");
    bob.send("HISTORY #den 5");
    bob.expect_err("NO_SUCH_ROOM");

    // A member that joins later reads what was said before it came.
    bob.send("JOIN #tea");
    bob.barrier();
    assert_eq!(
        texts(&history(&mut bob, "HISTORY #tea", "#Tea")),
        ["MSG #Tea ann one"]
    );
    bob.send("PART #tea");
    bob.barrier();
    bob.send("HISTORY #tea");
    bob.expect_err("NOT_IN_ROOM");

    // The room empties and is forgotten: created again, it starts with no history.
    ann.send("PART #tea");
    ann.send("JOIN #tea");
    ann.barrier();
    assert!(history(&mut ann, "HISTORY #tea", "#tea").is_empty());
    ann.send("MSG #tea two");
    ann.barrier();
    assert_eq!(
        texts(&history(&mut ann, "HISTORY #tea", "#tea")),
        ["MSG #tea ann two"]
    );
    ann.expect_nothing_more();
    bob.expect_nothing_more();
}

#[test]
fn issue_15_bad_history_requests_are_refused_and_the_connection_stays() {
    let server = TestServer::start();
    let mut guest = server.connect();
    guest.send("HISTORY *");
    guest.expect_err("NOT_REGISTERED");
    let mut ann = server.client("ann");
    for request in [
        "HISTORY * 0",
        "HISTORY * -1",
        "HISTORY * ten",
        "HISTORY * 5 BEFORE",
        "HISTORY * BEFORE 0",
        "HISTORY * AFTER abc",
        "HISTORY * AFTER 5 6",
        "HISTORY * SINCE 5",
        "HISTORY bob 10 BEFORE",
    ] {
        ann.send(request);
        ann.expect_err("BAD_HISTORY");
    }
    ann.send("HISTORY");
    ann.expect_err("MISSING_ARGUMENT");
    ann.send("HISTORY #");
    ann.expect_err("BAD_ROOM");
    // A count above the most is taken as the most.
    ann.send("ALL hi");
    ann.barrier();
    assert_eq!(
        texts(&history(&mut ann, "HISTORY * 5000", "*")),
        ["ALL ann hi"]
    );
    ann.expect_nothing_more();
}

#[test]
fn issue_15_the_ring_keeps_the_last_history_ring_lines() {
    // The ring's size: as many lines as one HISTORY may ask for (server::history::HISTORY_RING).
    const RING: usize = 1000;
    let server = TestServer::start();
    let mut ann = server.client("ann");
    for n in 0..RING + 25 {
        ann.send(&format!("ALL m{n}"));
    }
    ann.barrier();
    let kept = history(&mut ann, "HISTORY * 1000", "*");
    assert_eq!(texts(&kept), lobby_lines("ann", 25..RING + 25));
    let before = format!("HISTORY * 1000 BEFORE {}", kept[0].id);
    assert!(
        history(&mut ann, &before, "*").is_empty(),
        "older lines are gone"
    );
}

#[test]
fn issue_15_a_page_too_big_for_the_queue_is_cut_and_the_client_pages_on() {
    // Half the queue is 4 KiB: three HIST lines of a 1000-byte text fit, a fourth does not.
    let server = TestServer::with(|c| {
        c.max_line = 1024;
        c.send_queue = 8 * 1024;
    });
    let mut ann = server.client("ann");
    let text = "x".repeat(1000);
    let long = |n: usize| format!("ALL ann m{n} {text}");
    for n in 0..10 {
        ann.send(&format!("ALL m{n} {text}"));
    }
    ann.barrier();
    let latest = history(&mut ann, "HISTORY * 10", "*");
    assert_eq!(texts(&latest), (7..10).map(long).collect::<Vec<_>>());
    let before = format!("HISTORY * 10 BEFORE {}", latest[0].id);
    let earlier = history(&mut ann, &before, "*");
    assert_eq!(texts(&earlier), (4..7).map(long).collect::<Vec<_>>());
    let after = format!("HISTORY * 10 AFTER {}", earlier[0].id);
    assert_eq!(
        texts(&history(&mut ann, &after, "*")),
        (5..8).map(long).collect::<Vec<_>>()
    );
    ann.expect_nothing_more();
}
