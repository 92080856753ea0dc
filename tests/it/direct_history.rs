//! `HISTORY <nick>` over TCP (issue 16, point 5): an account's direct messages with a nick,
//! both directions, paged both ways with the ids `CAP ids` showed; complete after a barrier;
//! `LOGIN_REQUIRED` for a guest; nothing kept for a guest's side, so nobody reads a
//! conversation it was not part of when a nick or an account changes hands; lines kept for
//! an offline account in both sides' history; a restart; retention. Each scenario runs with
//! history in memory (`--ephemeral`) and in a data folder.

use std::path::Path;
use std::slice;

use crate::account_support::PASSWORD;
use crate::history::{Hist, history};
use crate::message_ids::split_id;
use crate::support::{TestClient, TestServer, with_caps};

/// A server keeping history in `dir` (in memory without one), `lines` per conversation.
fn server(dir: Option<&Path>, lines: usize) -> TestServer {
    let dir = dir.map(Path::to_owned);
    TestServer::with(move |c| {
        c.history_lines = lines;
        if let Some(dir) = dir {
            c.ephemeral = false;
            c.data_dir = dir;
        }
    })
}

/// Runs `scenario` on a server in memory, then on one with a data folder.
fn in_memory_and_on_disk(lines: usize, scenario: impl Fn(&TestServer)) {
    scenario(&server(None, lines));
    let dir = tempfile::tempdir().unwrap();
    scenario(&server(Some(dir.path()), lines));
}

/// A `CAP ids` connection that registered `nick` and made it an account.
fn account(server: &TestServer, nick: &str) -> TestClient {
    let mut client = with_caps(server, nick, &["ids"]);
    client.send(&format!("REGISTER {PASSWORD}"));
    client.expect(&format!("OK REGISTER {nick}"));
    client
}

/// A `CAP ids` connection logged in to `nick`, and the lines after `OK LOGIN` up to a barrier.
fn log_in(server: &TestServer, nick: &str) -> (TestClient, Vec<String>) {
    let mut client = server.connect();
    client.send("CAP ids");
    client.expect("OK CAP ids");
    client.send(&format!("LOGIN {nick} {PASSWORD}"));
    client.expect(&format!("OK LOGIN {nick}"));
    let after = client.barrier();
    (client, after)
}

/// Reads what every client has been sent so far (joins, renames, quits), to start clean.
fn quiet(clients: &mut [&mut TestClient]) {
    for client in clients {
        client.barrier();
    }
}

/// `from` sends `line`; `to` gets it with an id as `seen`. The id and `seen`.
fn said(from: &mut TestClient, to: &mut TestClient, line: &str, seen: &str) -> (u64, String) {
    from.send(line);
    let got = to.recv();
    let (id, v1) = split_id(&got);
    assert_eq!(v1, seen);
    (id.expect("CAP ids"), seen.to_owned())
}

/// `HISTORY <request>`'s lines as (id, v1 line), after reading what was pending.
fn asked(client: &mut TestClient, request: &str, target: &str) -> Vec<(u64, String)> {
    client.barrier();
    let lines: Vec<Hist> = history(client, request, target);
    lines.into_iter().map(|hist| (hist.id, hist.line)).collect()
}

fn both_directions_paged(server: &TestServer) {
    let mut alice = account(server, "alice");
    let mut bob = account(server, "bob");
    quiet(&mut [&mut alice, &mut bob]);
    let mut said_all = Vec::new();
    for n in 0..4 {
        let line = format!("MSG bob a{n}");
        said_all.push(said(
            &mut alice,
            &mut bob,
            &line,
            &format!("MSG alice a{n}"),
        ));
        let line = format!("MSG alice b{n}");
        said_all.push(said(&mut bob, &mut alice, &line, &format!("MSG bob b{n}")));
    }
    // An action is kept as its v1 form, whatever form the recipient got.
    said_all.push(said(
        &mut alice,
        &mut bob,
        "ME bob waves",
        "MSG alice /me waves",
    ));
    assert_eq!(asked(&mut alice, "HISTORY bob", "bob"), said_all);
    assert_eq!(asked(&mut bob, "HISTORY alice", "alice"), said_all);
    // Paged both ways, oldest first; the target as the client typed it.
    let latest = asked(&mut alice, "HISTORY BOB 3", "BOB");
    assert_eq!(latest, said_all[6..]);
    let request = format!("HISTORY bob 3 BEFORE {}", latest[0].0);
    assert_eq!(asked(&mut alice, &request, "bob"), said_all[3..6]);
    let request = format!("HISTORY bob 4 AFTER {}", said_all[1].0);
    assert_eq!(asked(&mut alice, &request, "bob"), said_all[2..6]);
    let request = format!("HISTORY bob 4 AFTER {}", said_all[8].0);
    assert_eq!(asked(&mut alice, &request, "bob"), []);
    // The sender's next line finds its line, and so does the other party after its barrier.
    bob.send("MSG alice last");
    let request = history(&mut bob, "HISTORY alice 1", "alice");
    assert_eq!(request[0].line, "MSG bob last");
    bob.barrier();
    let line = alice.recv();
    let (id, v1) = split_id(&line);
    assert_eq!(v1, "MSG bob last");
    let answer = history(&mut alice, "HISTORY bob 1", "bob");
    assert_eq!(
        (Some(answer[0].id), answer[0].line.as_str()),
        (id, "MSG bob last")
    );
}

#[test]
fn issue_16_direct_history_has_both_directions_paged_with_their_ids() {
    in_memory_and_on_disk(10_000, both_directions_paged);
}

fn guests_are_never_kept(server: &TestServer) {
    let mut alice = account(server, "alice");
    let mut bob = with_caps(server, "bob", &["ids"]);
    quiet(&mut [&mut alice, &mut bob]);
    bob.send("HISTORY alice");
    bob.expect_err("LOGIN_REQUIRED");
    let from_guest = said(
        &mut bob,
        &mut alice,
        "MSG alice from guest bob",
        "MSG bob from guest bob",
    );
    let to_guest = said(
        &mut alice,
        &mut bob,
        "MSG bob to guest bob",
        "MSG alice to guest bob",
    );
    assert_eq!(
        asked(&mut alice, "HISTORY bob", "bob"),
        [from_guest.clone(), to_guest.clone()]
    );
    // The nick changes hands: the new bob, an account, reads nothing of the guest's.
    bob.send("QUIT");
    bob.expect("BYE");
    let mut bob = account(server, "bob");
    assert_eq!(asked(&mut bob, "HISTORY alice", "alice"), []);
    // alice's account changes hands: the new alice reads nothing of the old one's.
    alice.barrier();
    alice.send(&format!("UNREGISTER {PASSWORD}"));
    alice.expect("OK UNREGISTER alice");
    alice.send("HISTORY bob");
    alice.expect_err("LOGIN_REQUIRED");
    alice.send("QUIT");
    alice.expect("BYE");
    let mut alice = account(server, "alice");
    assert_eq!(asked(&mut alice, "HISTORY bob", "bob"), []);
    quiet(&mut [&mut alice, &mut bob]);
    let kept = said(
        &mut alice,
        &mut bob,
        "MSG bob hi again",
        "MSG alice hi again",
    );
    assert_eq!(
        asked(&mut alice, "HISTORY bob", "bob"),
        slice::from_ref(&kept)
    );
    assert_eq!(asked(&mut bob, "HISTORY alice", "alice"), [kept]);
}

#[test]
fn issue_16_a_guests_side_is_never_kept_and_a_nick_changing_hands_reads_nothing() {
    in_memory_and_on_disk(10_000, guests_are_never_kept);
}

fn renamed_away_is_a_guest(server: &TestServer) {
    let mut alice = account(server, "alice");
    let mut bob = account(server, "bob");
    quiet(&mut [&mut alice, &mut bob]);
    let before = said(&mut alice, &mut bob, "MSG bob before", "MSG alice before");
    alice.send("NICK al");
    alice.expect("OK NICK al");
    bob.expect("NICK alice al");
    let from_al = said(&mut alice, &mut bob, "MSG bob as al", "MSG al as al");
    let to_al = said(&mut bob, &mut alice, "MSG al to al", "MSG bob to al");
    alice.send("HISTORY bob");
    alice.expect_err("LOGIN_REQUIRED");
    alice.send(&format!("LOGIN alice {PASSWORD}"));
    alice.expect("OK LOGIN alice");
    assert_eq!(
        asked(&mut alice, "HISTORY bob", "bob"),
        slice::from_ref(&before)
    );
    assert_eq!(asked(&mut alice, "HISTORY al", "al"), []);
    // bob's side is bob's: kept, with the nick al had.
    assert_eq!(asked(&mut bob, "HISTORY alice", "alice"), [before]);
    assert_eq!(asked(&mut bob, "HISTORY al", "al"), [from_al, to_al]);
}

#[test]
fn issue_16_an_account_renamed_away_keeps_nothing_of_what_it_says_meanwhile() {
    in_memory_and_on_disk(10_000, renamed_away_is_a_guest);
}

fn offline_lines_in_both_histories(server: &TestServer) {
    let mut alice = account(server, "alice");
    alice.send("QUIT");
    alice.expect("BYE");
    let mut bob = account(server, "bob");
    let mut carol = with_caps(server, "carol", &["ids"]);
    quiet(&mut [&mut bob, &mut carol]);
    bob.send("MSG alice while you were out");
    bob.expect("OK STORED alice");
    let sent = asked(&mut bob, "HISTORY alice", "alice");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, "MSG bob while you were out");
    carol.send("MSG alice from a guest");
    carol.expect("OK STORED alice");
    let (mut alice, waited) = log_in(server, "alice");
    assert_eq!(waited.len(), 4, "{waited:?}");
    let waited_bob: Vec<&str> = waited[0].splitn(5, ' ').collect();
    assert_eq!(
        waited_bob[2],
        sent[0].0.to_string(),
        "the id it was sent with"
    );
    assert_eq!(asked(&mut alice, "HISTORY bob", "bob"), sent);
    let from_guest = asked(&mut alice, "HISTORY carol", "carol");
    assert_eq!(from_guest.len(), 1);
    assert_eq!(from_guest[0].1, "MSG carol from a guest");
}

#[test]
fn issue_16_a_line_kept_for_an_offline_account_is_in_both_sides_history() {
    in_memory_and_on_disk(10_000, offline_lines_in_both_histories);
}

#[test]
fn issue_16_direct_history_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = self::server(Some(dir.path()), 10_000);
    let mut alice = account(&server, "alice");
    let mut bob = account(&server, "bob");
    quiet(&mut [&mut alice, &mut bob]);
    let said_all = vec![
        said(&mut alice, &mut bob, "MSG bob hello", "MSG alice hello"),
        said(&mut bob, &mut alice, "MSG alice hi", "MSG bob hi"),
    ];
    drop((alice, bob));
    server.shutdown();

    let server = self::server(Some(dir.path()), 10_000);
    let (mut alice, _) = log_in(&server, "alice");
    assert_eq!(asked(&mut alice, "HISTORY bob", "bob"), said_all);
}

fn keeps_its_lines(server: &TestServer) {
    let mut alice = account(server, "alice");
    let mut bob = account(server, "bob");
    quiet(&mut [&mut alice, &mut bob]);
    let mut said_all = Vec::new();
    for n in 0..6 {
        let line = format!("MSG bob m{n}");
        said_all.push(said(
            &mut alice,
            &mut bob,
            &line,
            &format!("MSG alice m{n}"),
        ));
        // A batch per line on disk, as lines come on a quiet server.
        alice.barrier();
        asked(&mut bob, "HISTORY alice 1", "alice");
    }
    assert_eq!(asked(&mut alice, "HISTORY bob", "bob"), said_all[3..]);
    assert_eq!(asked(&mut bob, "HISTORY alice", "alice"), said_all[3..]);
}

#[test]
fn issue_16_a_pair_keeps_history_lines_and_none_with_history_off() {
    in_memory_and_on_disk(3, keeps_its_lines);
    in_memory_and_on_disk(0, |server| {
        let mut alice = account(server, "alice");
        let mut bob = account(server, "bob");
        quiet(&mut [&mut alice, &mut bob]);
        said(&mut alice, &mut bob, "MSG bob hello", "MSG alice hello");
        assert_eq!(asked(&mut alice, "HISTORY bob", "bob"), []);
        bob.send("NICK guest");
        bob.expect("OK NICK guest");
        bob.send("HISTORY alice");
        bob.expect_err("LOGIN_REQUIRED");
    });
}
