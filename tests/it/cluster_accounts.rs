//! Accounts across the nodes of a cluster (issue 19) with a real `nats-server -js`: each
//! account's direct-message history kept on every node (also one that starts later), the
//! messages waiting for an offline account taken by a login on any node, and an operator's
//! changes to the cluster's accounts while its nodes run. The accounts' bucket itself and a
//! login across nodes are in `cluster`.

use chatd_testkit::nats::NatsServer;

use crate::account_support::{PASSWORD, log_in};
use crate::cluster::{next_chat_line, next_chat_line_or_v1, node, node_with, until_answered};
use crate::cluster_registered_rooms::{caught_up, rooms};
use crate::history::history;
use crate::support::{TestClient, TestServer, with_caps};

/// `nick`, registered with [`PASSWORD`] on the node `server`: the lobby's news of other
/// nodes' clients may come before the answer.
pub fn account_on(server: &TestServer, nick: &str) -> TestClient {
    let mut client = server.client(nick);
    let register = format!("REGISTER {PASSWORD}");
    until_answered(&mut client, &register, &format!("OK REGISTER {nick}"));
    client
}

/// Sends `QUIT` and waits for the end, the lobby's news of other nodes' clients before the
/// `BYE` aside, so the nick is free when it returns.
fn leave(mut client: TestClient) {
    client.send("QUIT");
    assert_eq!(next_chat_line_or_v1(&mut client), "BYE");
    client.expect_closed();
}

#[test]
fn issue_19_each_account_keeps_its_direct_lines_with_a_client_of_another_node() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let mut alice = with_caps(&a, "alice", &["ids"]);
    alice.send("REGISTER alice-secret");
    alice.expect("OK REGISTER alice");
    let mut bob = with_caps(&b, "bob", &["ids"]);
    bob.send("REGISTER bob-secret");
    bob.expect("OK REGISTER bob");
    while alice.recv() != "JOIN bob" {}
    alice.send("MSG bob one");
    let (first, _) = next_chat_line(&mut bob);
    bob.send("MSG alice two");
    let (second, _) = next_chat_line(&mut alice);
    alice.barrier();
    bob.barrier();
    let expected = [(first, "MSG alice one"), (second, "MSG bob two")];
    for (client, peer) in [(&mut alice, "bob"), (&mut bob, "alice")] {
        let page = history(client, &format!("HISTORY {peer} 10"), peer);
        let page: Vec<(u64, &str)> = page.iter().map(|h| (h.id, h.line.as_str())).collect();
        assert_eq!(page, expected);
    }
    // Every node kept them for both accounts: alice finds the same page on bob's node.
    alice.send("QUIT");
    alice.expect("BYE");
    let mut moved = b.connect();
    moved.send("CAP ids");
    moved.expect("OK CAP ids");
    until_answered(&mut moved, "LOGIN alice alice-secret", "OK LOGIN alice");
    let page = history(&mut moved, "HISTORY bob 10", "bob");
    let page: Vec<(u64, &str)> = page.iter().map(|h| (h.id, h.line.as_str())).collect();
    assert_eq!(page, expected);
}

#[test]
fn issue_19_a_node_that_starts_late_keeps_the_direct_lines_its_accounts_had_before() {
    let nats = NatsServer::start();
    let a = node(&nats.url);
    let mut alice = with_caps(&a, "alice", &["ids"]);
    alice.send("REGISTER alice-secret");
    alice.expect("OK REGISTER alice");
    let mut bob = with_caps(&a, "bob", &["ids"]);
    // Said while bob was a guest: kept for alice's account, never for bob's.
    bob.send("MSG alice before my account");
    let (guest, _) = next_chat_line(&mut alice);
    bob.send("REGISTER bob-secret");
    bob.expect("OK REGISTER bob");
    alice.send("MSG bob one");
    let (first, _) = next_chat_line(&mut bob);
    bob.send("ME alice waves");
    let (second, _) = next_chat_line(&mut alice);
    alice.barrier();
    bob.barrier();
    let alices = [
        (guest, "MSG bob before my account"),
        (first, "MSG alice one"),
        (second, "MSG bob /me waves"),
    ];
    let bobs = &alices[1..];

    // Node b was not running then; with a data folder, it keeps them in its database, once,
    // also when it starts again and reads them a second time.
    let data = tempfile::tempdir().unwrap();
    let on_disk = |config: &mut chatd_testkit::Config| {
        config.ephemeral = false;
        config.data_dir = data.path().to_owned();
    };
    for _start in 0..2 {
        let b = node_with(&nats.url, on_disk);
        for (nick, peer, expected) in [("alice", "bob", &alices[..]), ("bob", "alice", bobs)] {
            let mut moved = b.connect();
            moved.send("CAP ids");
            moved.expect("OK CAP ids");
            let login = format!("LOGIN {nick} {nick}-secret");
            until_answered(&mut moved, &login, &format!("OK LOGIN {nick}"));
            let page = history(&mut moved, &format!("HISTORY {peer} 10"), peer);
            let page: Vec<(u64, &str)> = page.iter().map(|h| (h.id, h.line.as_str())).collect();
            assert_eq!(
                page, expected,
                "{nick}'s direct history on the node started late"
            );
            moved.send("QUIT");
            moved.expect("BYE");
        }
    }
    // In memory (`--ephemeral`), the same.
    let c = node(&nats.url);
    let mut moved = c.connect();
    moved.send("CAP ids");
    moved.expect("OK CAP ids");
    until_answered(&mut moved, "LOGIN alice alice-secret", "OK LOGIN alice");
    let page = history(&mut moved, "HISTORY bob 10", "bob");
    let page: Vec<(u64, &str)> = page.iter().map(|h| (h.id, h.line.as_str())).collect();
    assert_eq!(page, alices);
}

#[test]
fn issue_19_a_message_kept_for_an_offline_account_waits_for_a_login_on_any_node() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    leave(account_on(&a, "alice"));
    // A sender on each node. Bob's node refuses a line to alice until it knows the account.
    let mut carol = a.client("carol");
    let mut bob = b.client("bob");
    until_answered(&mut bob, "MSG alice are you there?", "OK STORED alice");
    carol.send("MSG alice lunch at noon");
    // (past bob's JOIN, which reaches carol when her node reads it)
    while carol.recv() != "OK STORED alice" {}
    bob.send("MSG alice call me");
    bob.expect("OK STORED alice");
    // Taken at a login on one node, bob's lines too: every line, once, in order.
    let (alice, waited) = log_in(&a, "alice");
    let waited: Vec<String> = waited
        .iter()
        .map(|line| match line.splitn(5, ' ').collect::<Vec<_>>()[..] {
            ["HIST", from, _id, _time, text] => format!("{from} {text}"),
            _ => line.clone(),
        })
        .collect();
    assert_eq!(
        waited,
        [
            "bob MSG bob are you there?",
            "bob MSG bob call me",
            "END HISTORY bob 2",
            "carol MSG carol lunch at noon",
            "END HISTORY carol 1",
        ]
    );
    leave(alice);
    // Once: a login on the other node finds nothing.
    let mut again = b.connect();
    until_answered(
        &mut again,
        &format!("LOGIN alice {PASSWORD}"),
        "OK LOGIN alice",
    );
    assert_eq!(again.barrier(), Vec::<String>::new());
}

#[test]
fn issue_19_an_operator_changes_the_cluster_s_accounts_while_its_nodes_run() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    leave(account_on(&a, "alice"));
    // bob's registered room goes with his account.
    let mut bob = account_on(&b, "bob");
    bob.send("JOIN #Den");
    assert_eq!(next_chat_line_or_v1(&mut bob), "OK JOIN #Den");
    bob.barrier();
    until_answered(&mut bob, "REGISTER #den", "OK REGISTER #Den");
    leave(bob);
    let account = |args: &[&str]| {
        let output =
            crate::support::chatd_output(&[&["account", "--cluster", &nats.url], args].concat());
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
        assert!(output.status.success(), "{args:?}: {}", text(output.stderr));
        text(output.stdout)
    };
    let listed: Vec<String> = account(&["list"])
        .lines()
        .map(|line| line.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ["alice", "bob"]);
    // A node's configuration file leads to its cluster as well.
    let node_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(node_file.path(), format!("cluster = \"{}\"\n", nats.url)).unwrap();
    let node_file = node_file.path().to_str().unwrap();
    let output = crate::support::chatd_output(&["account", "list", "--config", node_file]);
    assert!(output.status.success(), "{output:?}");
    let listed: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| line.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ["alice", "bob"], "through the node's file");
    let password = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(password.path(), "battery-staple\n").unwrap();
    let file = password.path().to_str().unwrap();
    assert_eq!(
        account(&["reset-password", "ALICE", "--password-file", file]),
        "account alice: password reset\n"
    );
    // A line waiting for bob goes with his account.
    let mut carol = a.client("carol");
    until_answered(&mut carol, "MSG bob are you there?", "OK STORED bob");
    leave(carol);
    assert_eq!(account(&["delete", "bob"]), "account bob deleted\n");
    // Both nodes took both changes, with no restart.
    for node in [&a, &b] {
        let mut client = node.connect();
        until_answered(&mut client, "LOGIN alice battery-staple", "OK LOGIN alice");
        leave(client);
        let mut guest = node.connect();
        until_answered(&mut guest, "NICK bob", "OK NICK bob");
        // The deletion was in the stream before the operator's command returned.
        caught_up(&mut guest);
        assert!(
            rooms(&mut guest).is_empty(),
            "#Den is an ordinary room now, and empty"
        );
        leave(guest);
    }
    // A new account of that nick finds nothing of the old one's.
    leave(account_on(&b, "bob"));
    let (_bob, waited) = log_in(&a, "bob");
    assert_eq!(waited, Vec::<String>::new());
}
