//! The limits on rooms (issue 13): `--max-rooms` rooms on the server, topics of at most
//! `--max-topic` bytes and keys of at most `--max-key`, and wrong keys throttled per
//! connection and per address.

use crate::support::{TestClient, TestServer};

/// The text of an `ERR <code>` line, which must come next.
fn error_text(client: &mut TestClient, code: &str) -> String {
    let line = client.recv();
    let prefix = format!("ERR {code} ");
    line.strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("expected ERR {code}, got {line:?}"))
        .to_owned()
}

#[test]
fn issue_13_a_join_that_would_make_one_room_too_many_is_no_more_rooms() {
    let server = TestServer::with(|c| c.max_rooms = 2);
    let mut ann = server.client("ann");
    let mut bob = server.client("bob");
    for room in ["#a", "#b"] {
        ann.send(&format!("JOIN {room}"));
        ann.barrier();
    }
    bob.barrier();
    bob.send("JOIN #c");
    assert_eq!(
        error_text(&mut bob, "NO_MORE_ROOMS"),
        "the server has 2 rooms, the most it allows; join one of them (ROOMS lists them)"
    );
    // Joining a room that exists is no new room.
    bob.send("JOIN #A");
    bob.expect("OK JOIN #a");
    bob.barrier();
    // A room that empties makes room for another.
    ann.barrier();
    ann.send("PART #b");
    ann.expect("OK PART #b");
    bob.send("JOIN #c");
    bob.expect("OK JOIN #c");
}

#[test]
fn issue_13_a_topic_over_390_bytes_or_a_key_over_64_is_too_long_by_default() {
    let server = TestServer::start();
    let mut ann = server.client("ann");
    ann.send("JOIN #a");
    ann.barrier();
    // Bytes, not characters: 195 two-byte characters are 390 bytes.
    let longest = "é".repeat(195);
    ann.send(&format!("TOPIC #a {longest}"));
    ann.expect(&format!("TOPIC #a ann {longest}"));
    ann.send(&format!("TOPIC #a {longest}x"));
    assert_eq!(
        error_text(&mut ann, "TOO_LONG"),
        "a topic has at most 390 bytes, not 391"
    );
    ann.send("TOPIC #a");
    ann.expect(&format!("TOPIC #a ann {longest}"));
    let key = "k".repeat(64);
    ann.send(&format!("KEY #a {key}"));
    ann.expect("OK KEY #a");
    ann.send(&format!("KEY #a {key}k"));
    assert_eq!(
        error_text(&mut ann, "TOO_LONG"),
        "a key has at most 64 bytes, not 65"
    );
    // The refused key changed nothing.
    let mut bob = server.client("bob");
    bob.send(&format!("JOIN #a {key}"));
    bob.expect("OK JOIN #a");
}

#[test]
fn issue_13_topic_and_key_limits_follow_their_flags() {
    let server = TestServer::with(|c| {
        c.max_topic = 5;
        c.max_key = 3;
    });
    let mut ann = server.client("ann");
    ann.send("JOIN #a");
    ann.barrier();
    ann.send("TOPIC #a 12345");
    ann.expect("TOPIC #a ann 12345");
    ann.send("TOPIC #a 123456");
    ann.expect_err("TOO_LONG");
    ann.send("KEY #a 1234");
    ann.expect_err("TOO_LONG");
    // Who may do it is checked first.
    let mut bob = server.client("bob");
    bob.send("TOPIC #a 123456");
    bob.expect_err("NOT_IN_ROOM");
    bob.send("JOIN #a");
    bob.barrier();
    bob.send("KEY #a 1234");
    bob.expect_err("NOT_OWNER");
}

/// Joins `#vault` with a wrong key and expects `BAD_KEY`.
fn guess_wrong(client: &mut TestClient) {
    client.send("JOIN #vault wrong");
    client.expect_err("BAD_KEY");
}

/// Expects `TOO_MANY_ATTEMPTS` with a wait of 1 to 60 seconds.
fn expect_throttled(client: &mut TestClient) {
    let text = error_text(client, "TOO_MANY_ATTEMPTS");
    let wait: u64 = text
        .strip_prefix("too many wrong keys; try again in ")
        .and_then(|rest| rest.strip_suffix(" s"))
        .and_then(|secs| secs.parse().ok())
        .unwrap_or_else(|| panic!("{text:?}"));
    assert!((1..=60).contains(&wait), "{text}");
}

#[test]
fn issue_13_wrong_keys_are_throttled_per_connection_and_per_address() {
    let server = TestServer::start();
    let mut owner = server.client("owner");
    owner.send("JOIN #vault");
    owner.send("KEY #vault s3cret");
    owner.send("JOIN #open");
    owner.barrier();
    let mut first = server.client("g0");
    for _ in 0..5 {
        guess_wrong(&mut first);
    }
    // The sixth is refused before its key is looked at, even the right key.
    first.send("JOIN #vault s3cret");
    expect_throttled(&mut first);
    // Rooms without a key still open.
    first.send("JOIN #open");
    first.expect("OK JOIN #open");
    // More connections from the same address buy no more guesses: 20 a minute in all. They
    // stay connected: a departure would be announced to the next guesser between its
    // answers.
    let mut guessers = Vec::new();
    for g in 1..4 {
        let mut guesser = server.client(&format!("g{g}"));
        for _ in 0..5 {
            guess_wrong(&mut guesser);
        }
        guessers.push(guesser);
    }
    let mut late = server.client("late");
    late.send("JOIN #vault s3cret");
    expect_throttled(&mut late);
    // An invitation needs no key, so it still admits.
    owner.barrier();
    owner.send("INVITE late #vault");
    owner.expect("OK INVITE late #vault");
    late.expect("INVITE #vault owner");
    late.send("JOIN #vault");
    late.expect("OK JOIN #vault");
}
