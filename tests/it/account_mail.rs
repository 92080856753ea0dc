//! Messages that wait (issue 16, point 5): a `MSG` to an account that is offline is kept and
//! delivered at its next login, once, in order, one block per sender, also after a restart.

use crate::account_support::{PASSWORD, log_in, quit, registered, server_in};
use crate::support::TestServer;

/// Registers `nick` on a connection of its own and leaves.
fn register_and_leave(server: &TestServer, nick: &str) {
    quit(registered(server, nick));
}

/// `HIST <from> <id> <time> MSG <from> <text>` read back as `<from> MSG <from> <text>`,
/// the ids growing within each sender's block.
fn hist_lines(lines: &[String]) -> Vec<String> {
    let mut last_id = 0;
    lines
        .iter()
        .map(|line| {
            let words: Vec<&str> = line.splitn(5, ' ').collect();
            if words[0] == "END" {
                last_id = 0;
                return line.clone();
            }
            assert_eq!(words[0], "HIST", "{line}");
            let id: u64 = words[2].parse().expect("an id");
            assert!(id > last_id, "ids grow: {line}");
            last_id = id;
            assert!(words[3].ends_with('Z'), "a UTC time: {line}");
            format!("{} {}", words[1], words[4])
        })
        .collect()
}

#[test]
fn issue_16_a_message_to_an_offline_account_waits_for_its_login_and_comes_once() {
    let server = TestServer::start();
    register_and_leave(&server, "alice");
    let mut bob = server.client("bob");
    let mut carol = server.client("carol");
    bob.expect("JOIN carol");
    bob.send("MSG alice are you there?");
    bob.expect("OK STORED alice");
    carol.send("MSG alice lunch at noon");
    carol.expect("OK STORED alice");
    bob.send("MSG alice call me");
    bob.expect("OK STORED alice");
    // A nick that is no account is still just not online.
    bob.send("MSG nobody hello");
    bob.expect_err("NO_SUCH_NICK");
    let (alice, waited) = log_in(&server, "alice");
    assert_eq!(
        hist_lines(&waited),
        [
            "bob MSG bob are you there?",
            "bob MSG bob call me",
            "END HISTORY bob 2",
            "carol MSG carol lunch at noon",
            "END HISTORY carol 1",
        ]
    );
    // Once: the next login finds nothing.
    drop(alice);
    let (mut alice, waited) = log_in(&server, "alice");
    assert_eq!(waited, Vec::<String>::new());
    // Online again: a message is delivered, not kept.
    bob.send("MSG alice welcome back");
    bob.barrier();
    assert_eq!(alice.recv(), "MSG bob welcome back");
}

#[test]
fn issue_16_waiting_messages_and_accounts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path());
    register_and_leave(&server, "alice");
    let mut bob = server.client("bob");
    bob.send("MSG alice while you were out");
    bob.expect("OK STORED alice");
    drop(bob);
    server.shutdown();

    let server = server_in(dir.path());
    let mut guest = server.connect();
    guest.send("NICK alice");
    guest.expect_err("NICK_REGISTERED");
    let (_alice, waited) = log_in(&server, "alice");
    assert_eq!(
        hist_lines(&waited),
        ["bob MSG bob while you were out", "END HISTORY bob 1"]
    );
}

#[test]
fn issue_16_an_account_deleted_takes_its_waiting_messages_with_it() {
    let server = TestServer::start();
    register_and_leave(&server, "alice");
    let mut bob = server.client("bob");
    bob.send("MSG alice for alice only");
    bob.expect("OK STORED alice");
    let (mut alice, _) = log_in(&server, "alice");
    alice.send(&format!("UNREGISTER {PASSWORD}"));
    alice.expect("OK UNREGISTER alice");
    alice.send("QUIT");
    alice.expect("BYE");
    let told = bob.barrier();
    assert_eq!(told, ["JOIN alice", "QUIT alice"]);
    // Nobody can read alice's mail by taking her nick: a new account of the same name
    // starts with an empty mailbox.
    bob.send("MSG alice after she left");
    bob.expect_err("NO_SUCH_NICK");
    register_and_leave(&server, "alice");
    let (_new_alice, waited) = log_in(&server, "alice");
    assert_eq!(waited, Vec::<String>::new());
}

#[test]
fn issue_16_a_full_mailbox_refuses_the_next_line_and_keeps_what_it_has() {
    let server = TestServer::start();
    register_and_leave(&server, "alice");
    let mut bob = server.client("bob");
    for n in 1..=1_000 {
        bob.send(&format!("MSG alice line {n}"));
    }
    for _ in 1..=1_000 {
        bob.expect("OK STORED alice");
    }
    bob.send("MSG alice one too many");
    bob.expect_err("MAILBOX_FULL");
    // The sender is told, and chats on.
    bob.send("PING full");
    bob.expect("PONG full");
    // The first thousand come at the login (they fit in half its queue), in order; the
    // refused one does not.
    let (_alice, waited) = log_in(&server, "alice");
    let mut expected: Vec<String> = (1..=1_000)
        .map(|n| format!("bob MSG bob line {n}"))
        .collect();
    expected.push("END HISTORY bob 1000".to_owned());
    assert_eq!(hist_lines(&waited), expected);
}

#[test]
fn issue_16_a_message_is_kept_for_an_offline_account_while_the_store_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    // A batch every millisecond: the store thread holds the database's write lock most of
    // the time, as a busy server's does.
    let server = TestServer::with(move |c| {
        c.ephemeral = false;
        c.data_dir = path;
        c.history_flush = std::time::Duration::from_millis(1);
    });
    register_and_leave(&server, "alice");
    let mut chatter = server.client("chatter");
    let mut bob = server.client("bob");
    for round in 0..100 {
        for n in 0..50 {
            chatter.send(&format!("ALL round {round} line {n} keeps the store busy"));
        }
        bob.send(&format!("MSG alice kept {round}"));
        // The answer, among the chatter's lines.
        let answer = loop {
            let line = bob.recv();
            if !line.starts_with("ALL chatter ") {
                break line;
            }
        };
        assert_eq!(answer, "OK STORED alice", "round {round}");
    }
    chatter.barrier();
    let (_alice, waited) = log_in(&server, "alice");
    assert_eq!(waited.len(), 101, "every line, then END HISTORY");
}
