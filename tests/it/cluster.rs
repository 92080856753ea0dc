//! Several nodes sharing one chat through a real `nats-server -js` (issue 19): nicks unique
//! across nodes, the lobby's one order with the stream's ids, direct lines and presence
//! between nodes, `HISTORY *` the same on every node, and what a `PING` barrier promises.
//! The faults (a node killed, NATS restarted) are in `cluster_faults`.

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

use chatd_testkit::nats::NatsServer;

use crate::history::{Hist, history};
use crate::message_ids::split_id;
use crate::presence::with_presence;
use crate::support::{TestClient, TestServer, with_caps};

/// A node of the cluster at `nats`, in this process.
pub fn node(nats: &str) -> TestServer {
    node_with(nats, |_| {})
}

pub fn node_with(nats: &str, adjust: impl FnOnce(&mut chatd_testkit::Config)) -> TestServer {
    TestServer::with(|config| {
        config.cluster = chatd::config::cluster_urls(nats);
        adjust(config);
    })
}

/// A node with a web listener, which takes uploads.
pub fn web_node(nats: &str) -> TestServer {
    node_with(nats, |config| {
        config.http = Some("127.0.0.1:0".parse().unwrap());
    })
}

/// Sends `NICK nick` until the cluster gives it (a claim another node holds until its release
/// reaches NATS, or its lease ends), for at most `wait`.
pub fn claim_within(client: &mut TestClient, nick: &str, wait: Duration) {
    let deadline = Instant::now() + wait;
    loop {
        client.send(&format!("NICK {nick}"));
        let answer = client.recv();
        if answer == format!("OK NICK {nick}") {
            return;
        }
        assert!(
            answer.starts_with("ERR NICK_TAKEN "),
            "NICK {nick}: {answer:?}"
        );
        assert!(
            Instant::now() < deadline,
            "{nick} still taken after {wait:?}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// The next line that is not a presence announcement (`JOIN`, `QUIT`, `NICK`), with its id.
pub fn next_chat_line(client: &mut TestClient) -> (u64, String) {
    loop {
        let line = client.recv();
        let (id, v1) = split_id(&line);
        if let Some(id) = id {
            return (id, v1.to_owned());
        }
        let word = line.split(' ').next().unwrap_or("");
        assert!(
            matches!(word, "JOIN" | "QUIT" | "NICK"),
            "not a chat line nor presence: {line:?}"
        );
    }
}

/// Every lobby line after `after`, paged forwards 100 at a time.
pub fn lobby_after(client: &mut TestClient, after: u64) -> Vec<Hist> {
    let mut seen: Vec<Hist> = Vec::new();
    loop {
        let from = seen.last().map_or(after, |hist| hist.id);
        let newer = history(client, &format!("HISTORY * 100 AFTER {from}"), "*");
        if newer.is_empty() {
            return seen;
        }
        seen.extend(newer);
    }
}

#[test]
fn issue_19_a_nick_is_held_once_across_nodes_and_free_again_when_its_holder_leaves() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let mut alice = a.client("alice");
    let mut rival = b.connect();
    for wanted in ["alice", "ALICE"] {
        rival.send(&format!("NICK {wanted}"));
        rival.expect_err("NICK_TAKEN");
    }
    // A case change keeps the one claim: nobody else gets it meanwhile.
    alice.send("NICK Alice");
    alice.expect("OK NICK Alice");
    rival.send("NICK alice");
    rival.expect_err("NICK_TAKEN");
    // A rename frees the old nick, a departure the last one.
    alice.send("NICK alicia");
    alice.expect("OK NICK alicia");
    claim_within(&mut rival, "alice", Duration::from_secs(10));
    alice.expect("JOIN alice");
    alice.send("QUIT");
    alice.expect("BYE");
    let mut other = b.connect();
    claim_within(&mut other, "alicia", Duration::from_secs(10));
    // The node's own clients race for one nick as on one server.
    let mut twin = a.connect();
    twin.send("NICK alicia");
    twin.expect_err("NICK_TAKEN");
}

#[test]
fn issue_19_presence_who_and_direct_lines_cross_nodes() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let mut alice = with_caps(&a, "alice", &["ids"]);
    let mut bob = with_caps(&b, "bob", &["ids", "actions"]);
    alice.expect("JOIN bob");
    // Alice's registration may reach bob's node after his: as a JOIN, before the list.
    bob.send("WHO");
    assert_eq!(next_chat_line_or_v1(&mut bob), "WHO alice bob");
    bob.expect("END WHO");
    alice.send("MSG bob psst");
    alice.send("ME bob waves");
    alice.send("MSG nobody hello?");
    alice.expect_err("NO_SUCH_NICK");
    let (first, line) = next_chat_line(&mut bob);
    assert_eq!(line, "MSG alice psst");
    let (second, line) = next_chat_line(&mut bob);
    assert_eq!(line, "ME bob alice waves");
    assert!(second > first, "ids grow: {first} then {second}");
    bob.send("MSG alice back at you");
    let (_, line) = next_chat_line(&mut alice);
    assert_eq!(line, "MSG bob back at you");
    bob.send("NICK robert");
    bob.expect("OK NICK robert");
    alice.expect("NICK bob robert");
    bob.send("QUIT off now");
    bob.expect("BYE");
    alice.expect("QUIT robert off now");
    alice.send("MSG robert still there?");
    alice.expect_err("NO_SUCH_NICK");
}

#[test]
fn issue_19_the_lobby_has_one_order_and_one_id_per_line_on_every_node() {
    const LINES: usize = 300;
    let nats = NatsServer::start();
    let nodes = [node(&nats.url), node(&nats.url)];
    // A sender and a listener on each node; the senders talk at once.
    let mut listeners: Vec<TestClient> = nodes
        .iter()
        .enumerate()
        .map(|(n, node)| with_caps(node, &format!("ear{n}"), &["ids"]))
        .collect();
    let senders: Vec<TestClient> = nodes
        .iter()
        .enumerate()
        .map(|(n, node)| with_caps(node, &format!("mouth{n}"), &[]))
        .collect();
    let talking: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(n, mut sender)| {
            thread::spawn(move || {
                for i in 0..LINES {
                    sender.send(&format!("ALL {n}:{i}"));
                }
                sender.barrier();
                sender
            })
        })
        .collect();
    let _senders: Vec<TestClient> = talking.into_iter().map(|t| t.join().unwrap()).collect();
    let mut heard: Vec<Vec<(u64, String)>> = Vec::new();
    for listener in &mut listeners {
        let lines: Vec<(u64, String)> = (0..2 * LINES).map(|_| next_chat_line(listener)).collect();
        heard.push(lines);
    }
    // Both listeners heard the same lines with the same ids in the same order, ids growing.
    assert_eq!(heard[0], heard[1]);
    assert!(heard[0].windows(2).all(|pair| pair[0].0 < pair[1].0));
    // Each sender's lines in the order it sent them.
    let mut next: HashMap<String, usize> = HashMap::new();
    for (_, line) in &heard[0] {
        let (who, i) = line["ALL mouth".len()..].split_once(' ').unwrap();
        let (n, i) = i.split_once(':').unwrap();
        assert_eq!(who, n);
        let expected = next.entry(n.to_owned()).or_default();
        assert_eq!(i.parse::<usize>().unwrap(), *expected, "{line}");
        *expected += 1;
    }
    // HISTORY answers the same on every node, back to the first line and forwards from it.
    let first = heard[0][0].0;
    let latest: Vec<Vec<(u64, String)>> = listeners
        .iter_mut()
        .map(|listener| {
            let page = history(listener, "HISTORY * 50", "*");
            page.into_iter().map(|hist| (hist.id, hist.line)).collect()
        })
        .collect();
    assert_eq!(latest[0], heard[0][2 * LINES - 50..]);
    assert_eq!(latest[0], latest[1]);
    for listener in &mut listeners {
        let all = lobby_after(listener, first - 1);
        let all: Vec<(u64, String)> = all.into_iter().map(|hist| (hist.id, hist.line)).collect();
        assert_eq!(all, heard[0]);
        let before = history(
            listener,
            &format!("HISTORY * 5 BEFORE {}", heard[0][10].0),
            "*",
        );
        let before: Vec<(u64, String)> = before.into_iter().map(|h| (h.id, h.line)).collect();
        assert_eq!(before, heard[0][5..10]);
    }
}

#[test]
fn issue_19_a_node_that_starts_late_knows_who_is_there_and_reads_the_lobby_s_past() {
    let nats = NatsServer::start();
    let a = node(&nats.url);
    let mut alice = with_caps(&a, "alice", &["ids"]);
    for i in 0..20 {
        alice.send(&format!("ALL early {i}"));
    }
    alice.barrier();
    let b = node(&nats.url);
    let mut bob = with_caps(&b, "bob", &["ids"]);
    bob.send("WHO");
    bob.expect("WHO alice bob");
    bob.expect("END WHO");
    let page = history(&mut bob, "HISTORY * 10", "*");
    let texts: Vec<String> = page.iter().map(|hist| hist.line.clone()).collect();
    let expected: Vec<String> = (10..20).map(|i| format!("ALL alice early {i}")).collect();
    assert_eq!(texts, expected);
}

#[test]
fn issue_19_a_pong_means_stored_and_queued_on_the_senders_node() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let mut near = with_caps(&a, "near", &["ids"]);
    let mut far = with_caps(&b, "far", &["ids"]);
    near.expect("JOIN far");
    let mut alice = with_caps(&a, "alice", &[]);
    near.expect("JOIN alice");
    // Near's registration may reach far's node only now.
    while far.recv() != "JOIN alice" {}
    for i in 0..100 {
        alice.send(&format!("ALL line {i}"));
    }
    alice.barrier();
    // Stored: a node started now reads every line from the stream.
    let c = node(&nats.url);
    let mut late = c.client("late");
    let stored = history(&mut late, "HISTORY * 100", "*");
    assert_eq!(stored.len(), 100);
    assert_eq!(stored[99].line, "ALL alice line 99");
    // Queued on the sender's node: all there before a barrier of the listener's own.
    let before = near.barrier();
    let near_lines: Vec<&str> = before
        .iter()
        .map(|line| split_id(line).1)
        .filter(|line| line.starts_with("ALL "))
        .collect();
    assert_eq!(near_lines.len(), 100, "{before:?}");
    // The other node's clients get the lines as their node consumes them: all, in order.
    let far_lines: Vec<String> = (0..100).map(|_| next_chat_line(&mut far).1).collect();
    assert_eq!(far_lines[0], "ALL alice line 0");
    assert_eq!(far_lines[99], "ALL alice line 99");
    // A client that sent nothing gets its PONG at once, as on one server.
    let before = far.barrier();
    assert!(
        before.iter().all(|line| line.starts_with("JOIN ")),
        "{before:?}"
    );
}

#[test]
fn issue_19_the_presence_limit_counts_the_clients_of_every_node() {
    let nats = NatsServer::start();
    let limit = |config: &mut chatd_testkit::Config| config.presence_limit = 4;
    let (a, b) = (node_with(&nats.url, limit), node_with(&nats.url, limit));
    let (mut watcher, presence) = with_presence(&a, "watcher");
    assert_eq!(presence, "PRESENCE EXACT 1");
    // Up to the limit, the other node's clients are announced...
    let mut others: Vec<TestClient> = (1..=3).map(|n| b.client(&format!("b{n}"))).collect();
    for n in 1..=3 {
        watcher.expect(&format!("JOIN b{n}"));
    }
    // ...and the fifth of the cluster, though the second of its node, makes it counted.
    others.push(b.client("b4"));
    watcher.expect("PRESENCE COUNT 5");
    let (mut late, presence) = with_presence(&a, "late");
    assert_eq!(presence, "PRESENCE COUNT 6");
    late.send("QUIT");
    late.expect("BYE");
    // Back at nine tenths of the limit through a departure on the other node: exact again.
    others.pop().unwrap().send("QUIT");
    watcher.expect("PRESENCE EXACT 4");
    others[0].send("NICK b1x");
    // (past the JOINs of the clients that came after it)
    while others[0].recv() != "OK NICK b1x" {}
    watcher.expect("NICK b1 b1x");
    assert!(watcher.barrier().is_empty());
}

/// The next line `client` gets about `nick`'s presence (`JOIN`, `QUIT`, `NICK`), skipping
/// the others.
fn next_about(client: &mut TestClient, nick: &str) -> String {
    loop {
        let line = client.recv();
        let mut words = line.split(' ');
        let about = matches!(words.next(), Some("JOIN" | "QUIT" | "NICK"))
            && line.split(' ').skip(1).take(2).any(|word| word == nick);
        if about {
            return line;
        }
    }
}

/// Sends `line` until the answer is `ok` rather than an `ERR` of a change still on its way
/// from another node (a release, an account's record).
pub fn until_answered(client: &mut TestClient, line: &str, ok: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        client.send(line);
        // The lobby's news of other nodes' clients comes when their node's is read: no answer.
        let answer = next_chat_line_or_v1(client);
        if answer == ok {
            return;
        }
        assert!(answer.starts_with("ERR "), "{line}: {answer:?}");
        assert!(Instant::now() < deadline, "{line}: still {answer:?}");
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn issue_19_accounts_are_shared_and_a_login_claims_its_nick_across_nodes() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let mut owner = a.client("alice");
    owner.send("REGISTER correct-horse");
    owner.expect("OK REGISTER alice");
    owner.send("QUIT");
    owner.expect("BYE");
    let mut watchers = [a.client("watcher"), b.client("viewer")];
    // The other node knows the account: its login works there...
    let mut there = b.connect();
    until_answered(&mut there, "LOGIN alice correct-horse", "OK LOGIN alice");
    // A guest cannot take a registered nick on either node.
    let mut guest = a.connect();
    guest.send("NICK alice");
    guest.expect_err("NICK_REGISTERED");
    // ...and a login on the first node ends the connection there, as one server would:
    // one connection per account, and every client of either node sees the old holder
    // leave before the new one comes.
    let mut here = a.connect();
    here.send("LOGIN alice correct-horse");
    here.expect("OK LOGIN alice");
    there.expect("BYE logged in elsewhere");
    there.expect_closed();
    for watcher in &mut watchers {
        let about_alice: Vec<String> = (0..3).map(|_| next_about(watcher, "alice")).collect();
        assert_eq!(
            about_alice,
            ["JOIN alice", "QUIT alice logged in elsewhere", "JOIN alice"]
        );
    }
    let mut there = here;
    // A new password made on one node is the password on the other.
    there.send("PASSWORD correct-horse battery-staple");
    there.expect("OK PASSWORD");
    there.send("QUIT");
    there.expect("BYE");
    let mut back = b.connect();
    until_answered(&mut back, "LOGIN alice battery-staple", "OK LOGIN alice");
    // Unregistered on one node, it is gone on the other: a guest takes the nick there.
    back.send("UNREGISTER battery-staple");
    back.expect("OK UNREGISTER alice");
    back.send("QUIT");
    back.expect("BYE");
    let mut guest = a.connect();
    until_answered(&mut guest, "NICK alice", "OK NICK alice");
}

#[test]
fn issue_19_a_file_s_line_takes_its_place_in_the_lobby_s_one_order() {
    let nats = NatsServer::start();
    let a = web_node(&nats.url);
    let b = node(&nats.url);
    // Alice first: bob's registration then reaches her as a JOIN, and nothing else does.
    let mut alice = with_caps(&a, "alice", &[]);
    let mut bob = with_caps(&b, "bob", &["ids"]);
    alice.expect("JOIN bob");
    alice.send("ALL before");
    let download = crate::file_support::send_file(&mut alice, "*", b"some bytes", "a.txt");
    alice.send("ALL after");
    alice.barrier();
    let (before, line) = next_chat_line(&mut bob);
    assert_eq!(line, "ALL alice before");
    let (file, line) = next_chat_line(&mut bob);
    assert_eq!(line, format!("FILE alice 10 {download} a.txt"));
    let (after, line) = next_chat_line(&mut bob);
    assert_eq!(line, "ALL alice after");
    assert!(before < file && file < after, "{before} {file} {after}");
    let page = history(&mut bob, "HISTORY * 3", "*");
    let ids: Vec<u64> = page.iter().map(|hist| hist.id).collect();
    assert_eq!(ids, [before, file, after]);
}

#[test]
fn issue_19_an_away_client_s_notice_reaches_senders_on_every_node() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let mut alice = with_caps(&a, "alice", &["away"]);
    let mut bob = with_caps(&b, "bob", &[]);
    let mut carol = with_caps(&b, "carol", &["away"]);
    alice.expect("JOIN bob");
    alice.expect("JOIN carol");
    bob.expect("JOIN carol");
    bob.send("AWAY out to lunch");
    bob.expect("OK AWAY on");
    // Its node's sender and the other node's: each told once, after its line went.
    carol.send("MSG bob psst");
    assert_eq!(next_chat_line_or_v1(&mut carol), "AWAY bob out to lunch");
    // The other node hears of it through the stream: a line to bob after bob's next line.
    bob.send("MSG alice noted");
    assert_eq!(next_chat_line_or_v1(&mut alice), "MSG bob noted");
    alice.send("MSG bob are you there?");
    assert_eq!(next_chat_line_or_v1(&mut alice), "AWAY bob out to lunch");
    assert_eq!(next_chat_line_or_v1(&mut bob), "MSG carol psst");
    assert_eq!(next_chat_line_or_v1(&mut bob), "MSG alice are you there?");
    bob.send("AWAY");
    bob.expect("OK AWAY off");
    bob.send("MSG alice back");
    assert_eq!(next_chat_line_or_v1(&mut alice), "MSG bob back");
    alice.send("MSG bob welcome back");
    alice.send("PING after");
    assert_eq!(next_chat_line_or_v1(&mut alice), "PONG after");
}

#[test]
fn issue_19_a_file_reaches_a_nick_on_another_node() {
    let nats = NatsServer::start();
    let a = web_node(&nats.url);
    let b = node(&nats.url);
    let mut alice = with_caps(&a, "alice", &[]);
    let mut bob = with_caps(&b, "bob", &["ids"]);
    alice.expect("JOIN bob");
    let download = crate::file_support::send_file(&mut alice, "bob", b"for bob", "b.txt");
    let (_, line) = next_chat_line(&mut bob);
    assert_eq!(line, format!("FILE alice 7 {download} b.txt"));
    alice.send("UPLOAD nobody 3 c.txt");
    alice.expect_err("NO_SUCH_NICK");
}

#[test]
fn issue_19_a_direct_line_reaches_a_client_of_another_node_right_after_its_ok_nick() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let mut alice = with_caps(&a, "alice", &[]);
    for i in 0..20 {
        let mut newcomer = b.client(&format!("new{i}"));
        // At once: node A may not have read the registration from the stream yet.
        alice.send(&format!("MSG new{i} welcome {i}"));
        alice.send(&format!("ME new{i} waves"));
        loop {
            let line = newcomer.recv();
            if line.starts_with("MSG ") {
                assert_eq!(line, format!("MSG alice welcome {i}"));
                break;
            }
        }
        assert_eq!(next_chat_line_or_v1(&mut newcomer), "MSG alice /me waves");
    }
    alice.send("MSG nobody hello?");
    let answer = next_chat_line_or_v1(&mut alice);
    assert!(answer.starts_with("ERR NO_SUCH_NICK "), "{answer:?}");
}

/// The next line that is not a presence announcement.
pub fn next_chat_line_or_v1(client: &mut TestClient) -> String {
    loop {
        let line = client.recv();
        if !line.starts_with("JOIN ") && !line.starts_with("QUIT ") {
            return line;
        }
    }
}
