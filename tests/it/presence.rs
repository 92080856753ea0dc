//! Presence in a big lobby (`--presence-limit`, issue 14): up to the limit every registration,
//! rename and departure is announced to everyone; above it none is, except to those who share
//! a room with the client, and clients with `CAP presence` are told the mode and the count;
//! below nine tenths of the limit the lobby is announced again.

use std::time::Instant;

use crate::support::{DEADLINE, TestClient, TestServer};

/// The limit of these tests: the lobby is counted from the 11th client, exact again at 9.
const LIMIT: usize = 10;

fn server() -> TestServer {
    TestServer::with(|c| c.presence_limit = LIMIT)
}

/// A client with `CAP presence`, registered as `nick`: its `PRESENCE` line (just before
/// `OK NICK`) is returned.
pub fn with_presence(server: &TestServer, nick: &str) -> (TestClient, String) {
    let mut client = server.connect();
    client.send("CAP presence");
    client.expect("OK CAP presence");
    client.send(&format!("NICK {nick}"));
    let presence = client.recv();
    client.expect(&format!("OK NICK {nick}"));
    (client, presence)
}

#[test]
fn issue_14_above_the_limit_the_lobby_is_counted_and_below_nine_tenths_exact_again() {
    let server = server();
    let (mut watcher, presence) = with_presence(&server, "watcher");
    assert_eq!(presence, "PRESENCE EXACT 1");
    let mut v1 = server.client("v1");
    assert_eq!(watcher.barrier(), ["JOIN v1"]);
    let mut others: Vec<TestClient> = (3..=LIMIT)
        .map(|n| server.client(&format!("c{n}")))
        .collect();
    let joins: Vec<String> = (3..=LIMIT).map(|n| format!("JOIN c{n}")).collect();
    assert_eq!(watcher.barrier(), joins);
    assert_eq!(v1.barrier(), joins);

    // The 11th: nobody is told it came, the CAP presence client is told the count.
    others.push(server.client("c11"));
    assert_eq!(watcher.barrier(), ["PRESENCE COUNT 11"]);
    v1.expect_nothing_more();
    // A client with CAP presence that registers now is told it too.
    let (mut late, presence) = with_presence(&server, "late");
    assert_eq!(presence, "PRESENCE COUNT 12");
    // Renames and departures are not told either (nobody shares a room).
    for client in &mut others {
        client.barrier();
    }
    others[0].send("NICK c3b");
    others[0].expect("OK NICK c3b");
    others.pop().unwrap().send("QUIT");
    late.send("QUIT");
    late.expect("BYE");
    v1.expect_nothing_more();

    // 10 are left; the departure that leaves 9 makes the lobby exact again.
    others.pop().unwrap().send("QUIT");
    let told = wait_for(&mut watcher, "PRESENCE EXACT 9");
    assert!(
        told.iter().all(|line| line.starts_with("PRESENCE COUNT ")),
        "{told:?}"
    );
    v1.expect_nothing_more();
    let mut back = server.client("back");
    assert_eq!(watcher.barrier(), ["JOIN back"]);
    assert_eq!(v1.barrier(), ["JOIN back"]);
    back.send("QUIT bye");
    back.expect("BYE");
    assert_eq!(watcher.barrier(), ["QUIT back bye"]);
}

#[test]
fn issue_14_in_a_counted_lobby_those_who_share_a_room_are_still_told() {
    let server = server();
    let mut clients: Vec<TestClient> = (1..=LIMIT + 1)
        .map(|n| server.client(&format!("c{n}")))
        .collect();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    for client in &mut clients {
        client.barrier();
    }
    for client in [&mut alice, &mut bob] {
        client.send("JOIN #tea");
        client.barrier();
    }
    assert_eq!(alice.barrier(), ["JOIN #tea bob"]);
    alice.send("NICK alicia");
    alice.expect("OK NICK alicia");
    assert_eq!(bob.barrier(), ["NICK alice alicia"]);
    alice.send("QUIT gone");
    alice.expect("BYE");
    assert_eq!(bob.barrier(), ["QUIT alicia gone"]);
    // Nobody else shares a room with her: nobody else is told.
    for client in &mut clients {
        client.expect_nothing_more();
    }
}

#[test]
fn issue_14_a_counted_lobby_is_told_its_count_when_it_changes() {
    let server = server();
    let (mut watcher, _) = with_presence(&server, "watcher");
    let _clients: Vec<TestClient> = (2..=LIMIT + 1)
        .map(|n| server.client(&format!("c{n}")))
        .collect();
    let joins = watcher.barrier();
    assert_eq!(joins.last().map(String::as_str), Some("PRESENCE COUNT 11"));
    let _more: Vec<TestClient> = (0..3).map(|n| server.client(&format!("m{n}"))).collect();
    // Told again within a second or so (a count on the way there, at most once a second).
    let told = wait_for(&mut watcher, "PRESENCE COUNT 14");
    assert!(
        told.iter().all(|line| line.starts_with("PRESENCE COUNT 1")),
        "{told:?}"
    );
}

#[test]
fn issue_14_turning_presence_on_after_registering_tells_the_mode_and_a_limit_of_0_never_counts() {
    let server = TestServer::with(|c| c.presence_limit = 0);
    let mut watcher = server.client("watcher");
    watcher.send("CAP presence");
    watcher.expect("PRESENCE EXACT 1");
    watcher.expect("OK CAP presence");
    let _clients: Vec<TestClient> = (0..LIMIT * 3)
        .map(|n| server.client(&format!("c{n}")))
        .collect();
    let joins: Vec<String> = (0..LIMIT * 3).map(|n| format!("JOIN c{n}")).collect();
    assert_eq!(watcher.barrier(), joins);
}

/// Reads `client`'s lines until `line`, answering nothing, at most [`DEADLINE`]; returns the
/// lines before it.
fn wait_for(client: &mut TestClient, line: &str) -> Vec<String> {
    let end = Instant::now() + DEADLINE;
    let mut before = Vec::new();
    while Instant::now() < end {
        let got = client.recv();
        if got == line {
            return before;
        }
        before.push(got);
    }
    panic!("no {line:?} within {DEADLINE:?}; got {before:?}");
}
