//! A cluster when things go wrong (issue 19, point 4), with real NATS servers: a node killed
//! with `kill -9` loses no line the stream acknowledged, frees its nicks within its lease,
//! and its clients resume on another node with `HISTORY AFTER`; a NATS server restarted
//! under connected clients refuses the lines it cannot take with `ERR UNAVAILABLE` and then
//! carries chat on; a three-server NATS cluster loses a server and chat goes on; a killed
//! node's clients leave their rooms on the other nodes; a node cut off until the stream let
//! go of what it had not read ends its clients and takes the cluster again.

use std::time::{Duration, Instant};

use chatd_testkit::nats::{NatsCluster, NatsDoor, NatsServer};

use crate::cluster::{claim_within, lobby_after, next_chat_line, node, node_with};
use crate::cluster_rooms::expect_room;
use crate::support::{ChatdProcess, TestClient, registered_at, with_caps};

/// A node's lease (10 s) and one renewal period (2 s): the longest a dead node's nicks and
/// clients outlive it, as protocol.md says.
const DEAD_NODE_BOUND: Duration = Duration::from_secs(12);
/// On top of the bound: the other node's look itself, on a loaded machine.
const SLACK: Duration = Duration::from_secs(3);
/// Long enough for NATS to come back and the clients to reconnect.
const RECOVERY: Duration = Duration::from_secs(30);
/// Long enough for a NATS cluster to elect new leaders for the stream and the consumers of
/// a lost server on a loaded machine (seen to take more than 30 s under a full test run).
const FAIL_OVER: Duration = Duration::from_secs(90);

fn cluster_node(url: &str) -> ChatdProcess {
    ChatdProcess::spawn(&["--cluster", url, "--http", "off"], None)
}

/// alice on node `a` and bob (with ids) on node `b`, each with a deadline long enough for
/// NATS to come back, alice having heard of bob.
fn alice_and_bob(
    a: &crate::support::TestServer,
    b: &crate::support::TestServer,
) -> (TestClient, TestClient) {
    let mut alice = with_caps(a, "alice", &[]);
    alice.set_deadline(RECOVERY);
    let mut bob = with_caps(b, "bob", &["ids"]);
    bob.set_deadline(RECOVERY);
    alice.expect("JOIN bob");
    (alice, bob)
}

/// `first` on the node process `doomed` makes `#den`, and `second` on the node `other` joins
/// it, sees both and `first` owning it, with a deadline long enough for a lost node's end.
fn den_across(
    doomed: &ChatdProcess,
    first: &str,
    other: &crate::support::TestServer,
    second: &str,
) -> (TestClient, TestClient) {
    let mut owner = registered_at(doomed.addr, first, &["owner"]);
    owner.send("JOIN #den");
    expect_room(&mut owner, "OK JOIN #den");
    let mut member = with_caps(other, second, &["owner"]);
    member.set_deadline(DEAD_NODE_BOUND + SLACK);
    member.send("JOIN #den");
    expect_room(&mut member, "OK JOIN #den");
    let mut names = [first, second];
    names.sort_unstable();
    expect_room(&mut member, &format!("WHO #den {}", names.join(" ")));
    expect_room(&mut member, "END WHO #den");
    expect_room(&mut member, &format!("OWNER #den {first}"));
    (owner, member)
}

#[test]
fn issue_19_a_killed_node_loses_no_stored_line_and_its_clients_resume_on_another() {
    let nats = NatsServer::start();
    let doomed = cluster_node(&nats.url);
    let survivor = cluster_node(&nats.url);
    let mut alice = registered_at(doomed.addr, "alice", &[]);
    let mut carol = registered_at(doomed.addr, "carol", &["ids"]);
    let mut bob = registered_at(survivor.addr, "bob", &["ids"]);
    bob.set_deadline(DEAD_NODE_BOUND + SLACK);
    alice.expect("JOIN carol");
    for i in 0..50 {
        alice.send(&format!("ALL line {i}"));
    }
    // Acknowledged: every line is in the stream once the PONG comes.
    alice.barrier();
    let seen: Vec<(u64, String)> = (0..20).map(|_| next_chat_line(&mut carol)).collect();
    doomed.signal(libc::SIGKILL);
    let killed = Instant::now();
    drop(doomed);
    // The survivor's clients get every line, then the dead node's clients leave.
    let lines: Vec<(u64, String)> = (0..50).map(|_| next_chat_line(&mut bob)).collect();
    let expected: Vec<String> = (0..50).map(|i| format!("ALL alice line {i}")).collect();
    let texts: Vec<&String> = lines.iter().map(|(_, line)| line).collect();
    assert_eq!(texts, expected.iter().collect::<Vec<_>>());
    assert_eq!(seen, lines[..20]);
    let mut gone = Vec::new();
    while gone.len() < 2 {
        let line = bob.recv();
        if line.starts_with("QUIT ") {
            gone.push(line);
        }
    }
    gone.sort();
    assert_eq!(gone, ["QUIT alice node lost", "QUIT carol node lost"]);
    assert!(
        killed.elapsed() <= DEAD_NODE_BOUND + SLACK,
        "told after {:?}",
        killed.elapsed()
    );
    // Carol comes back on the survivor under her nick, and reads what she missed once.
    let mut carol = TestClient::connect_raw(survivor.addr);
    carol.recv();
    carol.send("CAP ids");
    carol.expect("OK CAP ids");
    claim_within(&mut carol, "carol", DEAD_NODE_BOUND + SLACK);
    let missed = lobby_after(&mut carol, seen[19].0);
    let missed: Vec<(u64, String)> = missed.into_iter().map(|h| (h.id, h.line)).collect();
    assert_eq!(missed, lines[20..]);
}

/// What became of a line, as its sender was told before its barrier's `PONG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// No error: stored.
    Taken,
    /// `ERR UNAVAILABLE ... was not sent`: never delivered.
    NotSent,
    /// `ERR UNAVAILABLE ... may not have been stored`: delivered later or never.
    Unconfirmed,
}

/// Sends `ALL <text>` and a barrier from `client`, and what it was told of the line.
fn send_checked(client: &mut TestClient, text: &str) -> Fate {
    client.send(&format!("ALL {text}"));
    let before = client.barrier();
    match before.as_slice() {
        [] => Fate::Taken,
        [refusal] if refusal.contains("your line was not sent") => Fate::NotSent,
        [refusal] if refusal.contains("your line may not have been stored") => Fate::Unconfirmed,
        other => panic!("{other:?}"),
    }
}

/// Sends numbered lines from `client` until one is taken and reaches `listener`, for at most
/// [`RECOVERY`]: chat is back. Returns the lines taken (all of which `listener` must get).
fn talk_until_heard(client: &mut TestClient, listener: &mut TestClient, tag: &str) -> Vec<String> {
    let deadline = Instant::now() + RECOVERY;
    let mut n = 0;
    loop {
        let text = format!("{tag} {n}");
        n += 1;
        if send_checked(client, &text) == Fate::Taken {
            // Earlier unconfirmed lines may come first: the taken one comes.
            let wanted = format!("ALL alice {text}");
            loop {
                let (_, line) = next_chat_line(listener);
                if line == wanted {
                    return vec![line];
                }
                assert!(line.starts_with(&format!("ALL alice {tag} ")), "{line}");
            }
        }
        assert!(
            Instant::now() < deadline,
            "chat not back after {RECOVERY:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn issue_19_a_nats_restart_refuses_lines_meanwhile_and_chat_goes_on_after() {
    let mut nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let (mut alice, mut bob) = alice_and_bob(&a, &b);
    assert_eq!(send_checked(&mut alice, "before"), Fate::Taken);
    let (before_id, line) = next_chat_line(&mut bob);
    assert_eq!(line, "ALL alice before");
    nats.stop();
    // Refused, with the reason.
    let during = send_checked(&mut alice, "during");
    assert_ne!(during, Fate::Taken);
    nats.run();
    let after = talk_until_heard(&mut alice, &mut bob, "after");
    // The stream kept its past across the restart; a line refused as not sent is not in it.
    let all = lobby_after(&mut bob, before_id - 1);
    let texts: Vec<&str> = all
        .iter()
        .map(|hist| hist.line.as_str())
        .filter(|line| !line.starts_with("ALL alice after ") || *line == after[0])
        .collect();
    let during_stored = texts.contains(&"ALL alice during");
    assert!(
        !(during == Fate::NotSent && during_stored),
        "a line refused as not sent was stored"
    );
    let mut expected = vec!["ALL alice before"];
    if during_stored {
        expected.push("ALL alice during");
    }
    expected.push(after[0].as_str());
    assert_eq!(texts, expected);
    // Both nodes claim nicks again.
    let mut carol = a.connect();
    claim_within(&mut carol, "carol", RECOVERY);
    while bob.recv() != "JOIN carol" {}
    bob.send("WHO");
    bob.expect("WHO alice bob carol");
}

#[test]
fn issue_19_a_nats_outage_longer_than_a_lease_ends_no_client_and_forgets_no_one() {
    let mut nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let (mut alice, mut bob) = alice_and_bob(&a, &b);
    nats.stop();
    // The fault itself: NATS away for longer than a lease, so no node's lease outlives it.
    std::thread::sleep(DEAD_NODE_BOUND + SLACK);
    nats.run();
    talk_until_heard(&mut alice, &mut bob, "after");
    // Every node was cut off alike: none is found lost, by the others or by itself, once
    // its lease and a look have passed since NATS came back.
    std::thread::sleep(DEAD_NODE_BOUND + SLACK);
    alice.send("ALL still here");
    let mut heard = alice.barrier();
    loop {
        let line = bob.recv();
        let done = line.ends_with("ALL alice still here");
        heard.push(line);
        if done {
            break;
        }
    }
    let ended = |line: &String| line.starts_with("QUIT ") || line.starts_with("BYE");
    assert!(!heard.iter().any(ended), "{heard:?}");
    for client in [&mut alice, &mut bob] {
        client.send("WHO");
        client.expect("WHO alice bob");
        client.expect("END WHO");
    }
}

#[test]
fn issue_19_a_nats_cluster_that_loses_a_server_keeps_the_chat_and_every_line_taken() {
    let mut nats = NatsCluster::start();
    let urls = nats.urls();
    let replicated = |config: &mut chatd_testkit::Config| config.cluster_replicas = 3;
    let (a, b) = (node_with(&urls, replicated), node_with(&urls, replicated));
    let mut alice = with_caps(&a, "alice", &[]);
    alice.set_deadline(FAIL_OVER);
    let mut bob = with_caps(&b, "bob", &["ids"]);
    bob.set_deadline(FAIL_OVER);
    alice.expect("JOIN bob");
    let mut taken = Vec::new();
    for i in 0..5 {
        assert_eq!(send_checked(&mut alice, &format!("one {i}")), Fate::Taken);
        taken.push(format!("ALL alice one {i}"));
    }
    nats.servers[0].stop();
    // Lines taken while the cluster fails over all arrive, in order; lines refused as not
    // sent never do; unconfirmed ones may.
    let deadline = Instant::now() + FAIL_OVER;
    let mut unconfirmed = Vec::new();
    let mut not_sent = 0;
    let mut n = 0;
    while taken.len() < 10 {
        let text = format!("two {n}");
        n += 1;
        match send_checked(&mut alice, &text) {
            Fate::Taken => taken.push(format!("ALL alice {text}")),
            Fate::Unconfirmed => unconfirmed.push(format!("ALL alice {text}")),
            Fate::NotSent => not_sent += 1,
        }
        assert!(
            Instant::now() < deadline,
            "{} of 5 lines taken in {FAIL_OVER:?} ({} unconfirmed, {not_sent} not sent)",
            taken.len() - 5,
            unconfirmed.len()
        );
    }
    nats.servers[0].run();
    let mut heard = Vec::new();
    while heard.len() < taken.len() {
        let (_, line) = next_chat_line(&mut bob);
        if taken.contains(&line) {
            heard.push(line);
        } else {
            assert!(
                unconfirmed.contains(&line),
                "a refused line arrived: {line}"
            );
        }
    }
    assert_eq!(heard, taken);
}

#[test]
fn issue_19_a_killed_node_s_clients_leave_their_rooms_on_the_others() {
    let nats = NatsServer::start();
    let survivor = node(&nats.url);
    let doomed = cluster_node(&nats.url);
    let (_bob, mut alice) = den_across(&doomed, "bob", &survivor, "alice");
    doomed.signal(libc::SIGKILL);
    drop(doomed);
    // Within the lease and a look, the room passes to the member left.
    expect_room(&mut alice, "OWNER #den alice");
    alice.send("WHO #den");
    expect_room(&mut alice, "WHO #den alice");
    expect_room(&mut alice, "END WHO #den");
}

#[test]
fn issue_19_a_node_that_starts_while_no_node_answers_starts_with_no_rooms_in_time() {
    let nats = NatsServer::start();
    let silent = cluster_node(&nats.url);
    let mut bob = registered_at(silent.addr, "bob", &[]);
    bob.send("JOIN #den");
    expect_room(&mut bob, "OK JOIN #den");
    // Alive by its lease, deaf to the question: the new node asks and nobody answers.
    silent.signal(libc::SIGSTOP);
    let late = node(&nats.url);
    let mut carol = late.client("carol");
    carol.set_deadline(Duration::from_secs(10) + SLACK);
    let asked = Instant::now();
    carol.send("JOIN #den");
    expect_room(&mut carol, "OK JOIN #den");
    expect_room(&mut carol, "WHO #den carol");
    expect_room(&mut carol, "END WHO #den");
    assert!(asked.elapsed() <= Duration::from_secs(10) + SLACK);
    silent.signal(libc::SIGKILL);
}

#[test]
fn issue_19_a_node_found_lost_while_it_was_frozen_ends_its_clients_when_it_wakes() {
    let nats = NatsServer::start();
    let frozen = cluster_node(&nats.url);
    let survivor = node(&nats.url);
    // A third node, whose clients know the nick's new holder as another node's.
    let third = node(&nats.url);
    let mut erin = with_caps(&third, "erin", &[]);
    erin.set_deadline(RECOVERY);
    let (mut alice, mut bob) = den_across(&frozen, "alice", &survivor, "bob");
    // Frozen longer than its lease: the survivor finds it lost, alice leaves, and her nick
    // is free for someone else.
    frozen.signal(libc::SIGSTOP);
    while bob.recv() != "QUIT alice node lost" {}
    expect_room(&mut bob, "OWNER #den bob");
    let mut carol = TestClient::connect_raw(survivor.addr);
    carol.recv();
    claim_within(&mut carol, "alice", SLACK);
    frozen.signal(libc::SIGCONT);
    // Awake, it reads that it was found lost: it ends its client, which would otherwise
    // hold a nick that is carol's now, in a room the others say it left.
    alice.set_deadline(RECOVERY);
    loop {
        let line = alice.recv();
        if line.starts_with("BYE") {
            assert_eq!(line, "BYE node lost by the cluster");
            break;
        }
    }
    // Then it is a node like any other, with the same room: a newcomer there finds bob
    // owning #den, and no other node tells of a second departure of alice's.
    let mut dan = registered_at(frozen.addr, "dan", &["owner"]);
    dan.set_deadline(RECOVERY);
    dan.send("JOIN #den");
    expect_room(&mut dan, "OK JOIN #den");
    expect_room(&mut dan, "WHO #den bob dan");
    expect_room(&mut dan, "END WHO #den");
    expect_room(&mut dan, "OWNER #den bob");
    loop {
        let line = bob.recv();
        assert!(
            !line.starts_with("QUIT alice"),
            "a second departure: {line:?}"
        );
        if line == "JOIN #den dan" {
            break;
        }
    }
    let mut alices = Vec::new();
    loop {
        let line = erin.recv();
        if line == "JOIN dan" {
            break;
        }
        if line.ends_with(" alice") || line.starts_with("QUIT alice") {
            alices.push(line);
        }
    }
    assert_eq!(alices, ["JOIN alice", "QUIT alice node lost", "JOIN alice"]);
}

#[test]
fn issue_19_a_node_that_fell_behind_the_stream_ends_its_clients_and_takes_the_cluster_again() {
    let nats = NatsServer::start();
    let door = NatsDoor::to(&nats);
    let (a, b) = (node(&door.url), node(&nats.url));
    let (mut alice, mut bob) = alice_and_bob(&a, &b);
    alice.send("JOIN #den");
    expect_room(&mut alice, "OK JOIN #den");
    alice.barrier();
    bob.send("JOIN #den");
    expect_room(&mut bob, "OK JOIN #den");
    expect_room(&mut alice, "JOIN #den bob");

    door.shut();
    let mut carol = b.client("carol");
    carol.send("JOIN #den");
    expect_room(&mut carol, "OK JOIN #den");
    carol.barrier();
    // More than the stream keeps of a room (10,000 messages), so it lets carol's `JOIN` and
    // bob's first lines go; in steps, each stored and read before the next, so that bob's
    // node never falls behind.
    let step = 500;
    // The server's floor is the default of `--history-lines`.
    let kept = chatd::config::DEFAULT_HISTORY_LINES;
    for first in (0..kept + step).step_by(step) {
        for i in first..first + step {
            bob.send(&format!("MSG #den line {i}"));
        }
        bob.barrier();
        let heard = carol.barrier();
        assert_eq!(heard.len(), step, "{:?}", heard.last());
    }
    door.open();

    // alice's node reads on from where it stopped, finds the gap, and ends her: she may
    // have missed lines, and her node the room's news.
    loop {
        let line = alice.recv();
        if line.starts_with("BYE") {
            assert_eq!(line, "BYE node fell behind the cluster");
            break;
        }
    }
    loop {
        let line = bob.recv();
        if line.starts_with("QUIT alice") {
            assert_eq!(line, "QUIT alice node fell behind the cluster");
            break;
        }
    }
    // Back on her node, she finds the cluster as it is.
    let mut alice = a.connect();
    alice.set_deadline(RECOVERY);
    claim_within(&mut alice, "alice", RECOVERY);
    alice.send("JOIN #den");
    expect_room(&mut alice, "OK JOIN #den");
    expect_room(&mut alice, "WHO #den alice bob carol");
    expect_room(&mut alice, "END WHO #den");
    expect_room(&mut bob, "JOIN #den alice");
}
