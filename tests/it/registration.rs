//! Nick claims over TCP: atomic under a race, case-insensitive.

use std::sync::{Arc, Barrier};
use std::thread;

use crate::support::{TestClient, TestServer};

#[test]
fn fifty_clients_racing_for_one_nick_exactly_one_wins() {
    let server = TestServer::with(|c| c.workers = 4);
    let start = Arc::new(Barrier::new(50));
    // Every client is handed back and kept until the end: a winner that left early would
    // free the nick for a later racer.
    let outcomes: Vec<(String, TestClient)> = thread::scope(|scope| {
        let racers: Vec<_> = (0..50)
            .map(|i| {
                let mut client = server.connect();
                let start = Arc::clone(&start);
                scope.spawn(move || {
                    start.wait();
                    // Alternate the case: the claim must be case-insensitive too.
                    client.send(if i % 2 == 0 {
                        "NICK prize"
                    } else {
                        "NICK PRIZE"
                    });
                    (client.recv(), client)
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let outcomes: Vec<String> = outcomes.into_iter().map(|(answer, _)| answer).collect();
    let winners = outcomes
        .iter()
        .filter(|o| o.starts_with("OK NICK "))
        .count();
    let losers = outcomes
        .iter()
        .filter(|o| o.starts_with("ERR NICK_TAKEN "))
        .count();
    assert_eq!((winners, losers), (1, 49), "{outcomes:?}");
}

#[test]
fn a_nick_is_free_again_after_its_owner_leaves() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    alice.send("QUIT");
    alice.expect("BYE");
    alice.expect_closed();
    let mut watcher = server.client("watcher");
    watcher.barrier();
    let _again = server.client("ALICE");
    assert_eq!(watcher.barrier(), ["JOIN ALICE"]);
}
