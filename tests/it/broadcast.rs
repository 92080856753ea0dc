//! Fan-out at scale and under concurrency: nothing lost, per-sender order, one global order.

use std::collections::HashMap;
use std::thread;
use std::time::Duration;

use crate::support::{TestClient, TestServer, raise_fd_limit};

#[test]
fn two_thousand_clients_with_two_workers_all_register_and_receive_an_all() {
    const CLIENTS: usize = 2000;
    // Each client is two sockets in this process (ours and the server's), plus slack.
    assert!(raise_fd_limit(3 * CLIENTS as u64 + 256) >= 2 * CLIENTS as u64 + 256);
    let server = TestServer::with(|c| c.workers = 2);
    let mut clients: Vec<TestClient> = (0..CLIENTS)
        .map(|i| server.client(&format!("u{i}")))
        .collect();
    assert_eq!(server.stats().load.registered, CLIENTS);
    let (sender, receivers) = clients.split_first_mut().unwrap();
    sender.send("ALL hello thousands");
    sender.barrier();
    for (i, client) in receivers.iter_mut().enumerate() {
        client.set_deadline(Duration::from_secs(30));
        // First the JOINs of everyone who registered after this client while the lobby was
        // announced (up to --presence-limit clients), then the ALL.
        let announced = CLIENTS.min(chatd::config::DEFAULT_PRESENCE_LIMIT);
        let joins_expected = announced.saturating_sub(2 + i);
        for _ in 0..joins_expected {
            let line = client.recv();
            assert!(line.starts_with("JOIN u"), "client u{}: {line}", i + 1);
        }
        client.expect("ALL u0 hello thousands");
    }
}

#[test]
fn twenty_concurrent_senders_lose_nothing_keep_order_and_agree_on_one_global_order() {
    const SENDERS: usize = 20;
    const LISTENERS: usize = 3;
    const LINES: usize = 500;
    let server = TestServer::with(|c| c.workers = 4);
    let mut senders: Vec<TestClient> = (0..SENDERS)
        .map(|i| server.client(&format!("s{i}")))
        .collect();
    let mut listeners: Vec<TestClient> = (0..LISTENERS)
        .map(|i| server.client(&format!("l{i}")))
        .collect();
    // Get the JOIN lines out of the way: after these barriers only ALL lines follow.
    for client in senders.iter_mut().chain(listeners.iter_mut()) {
        client.barrier();
    }
    let total = SENDERS * LINES;
    let (sent, heard): (Vec<Vec<String>>, Vec<Vec<String>>) = thread::scope(|scope| {
        let receiving: Vec<_> = listeners
            .iter_mut()
            .map(|listener| {
                scope.spawn(move || (0..total).map(|_| listener.recv()).collect::<Vec<_>>())
            })
            .collect();
        let sending: Vec<_> = senders
            .iter_mut()
            .enumerate()
            .map(|(s, sender)| {
                scope.spawn(move || {
                    for n in 0..LINES {
                        sender.send(&format!("ALL {s}:{n}"));
                    }
                    // Every ALL line of the others, in the order this sender saw them.
                    let mut seen = Vec::new();
                    while seen.len() < total - LINES {
                        seen.push(sender.recv());
                    }
                    seen
                })
            })
            .collect();
        (
            sending.into_iter().map(|h| h.join().unwrap()).collect(),
            receiving.into_iter().map(|h| h.join().unwrap()).collect(),
        )
    });
    let reference = &heard[0];
    check_complete_and_in_sender_order(reference, SENDERS, LINES);
    for other in &heard[1..] {
        assert!(other == reference, "listeners disagree on the global order");
    }
    for (s, seen) in sent.iter().enumerate() {
        let own = format!("ALL s{s} ");
        let expected: Vec<&String> = reference.iter().filter(|l| !l.starts_with(&own)).collect();
        let seen: Vec<&String> = seen.iter().collect();
        assert!(seen == expected, "sender s{s} saw another order");
    }
    for client in senders.iter_mut().chain(listeners.iter_mut()) {
        client.expect_nothing_more();
    }
}

/// Every `ALL s<i> <i>:<n>` line exactly once, and each sender's `n` increasing.
fn check_complete_and_in_sender_order(lines: &[String], senders: usize, per_sender: usize) {
    let mut next: HashMap<usize, usize> = HashMap::new();
    for line in lines {
        let body = line.split(' ').nth(2).unwrap_or_else(|| panic!("{line}"));
        let (s, n) = body.split_once(':').unwrap();
        let (s, n): (usize, usize) = (s.parse().unwrap(), n.parse().unwrap());
        assert!(line.starts_with(&format!("ALL s{s} ")), "{line}");
        let expected = next.entry(s).or_insert(0);
        assert_eq!(
            n, *expected,
            "sender {s}: got {n}, expected {expected} (lost, duplicated or reordered)"
        );
        *expected += 1;
    }
    assert_eq!(next.len(), senders);
    assert!(next.values().all(|&n| n == per_sender), "{next:?}");
}
