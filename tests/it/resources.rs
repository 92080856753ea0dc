//! Resources come back: after clients leave, in every way a client can leave, the server's
//! threads and open descriptors return to their baseline and its memory stops growing.
//! The server is the `chatd` binary, so that /proc shows its figures alone.

use std::thread;
use std::time::{Duration, Instant};

use crate::support::{ChatdProcess, DEADLINE, Resources, TestClient};

const CLIENTS: usize = 200;
const ROUNDS: usize = 4;

/// One round: `CLIENTS` clients connect, most register, chat a little, and all leave, a
/// quarter each by QUIT, by closing, by a reset, and without ever registering.
fn round(server: &ChatdProcess) {
    let mut clients: Vec<TestClient> = (0..CLIENTS)
        .map(|_| {
            let mut client = TestClient::connect_raw(server.addr);
            assert!(client.recv().starts_with("HELLO "));
            client
        })
        .collect();
    for (i, client) in clients.iter_mut().enumerate() {
        if i % 4 != 3 {
            client.send(&format!("NICK c{i}"));
            client.send("JOIN #r");
            client.send("ALL hello");
        }
        client.barrier();
    }
    for (i, mut client) in clients.into_iter().enumerate() {
        match i % 4 {
            0 => {
                client.send("QUIT");
                while client.recv() != "BYE" {}
            }
            1 => drop(client),
            2 => client.reset(),
            _ => drop(client),
        }
    }
}

/// Waits (polling /proc, with a deadline) until `check` holds for the server's resources.
fn wait_for(server: &ChatdProcess, what: &str, check: impl Fn(Resources) -> bool) -> Resources {
    let end = Instant::now() + DEADLINE;
    loop {
        let now = server.resources();
        if check(now) {
            return now;
        }
        assert!(
            Instant::now() < end,
            "{what}: still {now:?} after {DEADLINE:?}"
        );
        // The teardown happens on server threads the protocol cannot observe.
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn threads_and_descriptors_return_to_their_baseline_and_memory_stops_growing() {
    let server = ChatdProcess::spawn(&["--workers", "2"], None);
    let baseline = server.resources();
    let mut rss_after = Vec::new();
    for _ in 0..ROUNDS {
        round(&server);
        let after = wait_for(&server, "back to the baseline", |now| {
            now.threads == baseline.threads && now.fds == baseline.fds
        });
        rss_after.push(after.rss_kib);
    }
    // The first round grows the allocator's pools; later rounds reuse them.
    let first = rss_after[0];
    let last = *rss_after.last().unwrap();
    assert!(
        last <= first + first / 10 + 512,
        "resident memory kept growing: {rss_after:?} KiB after each round"
    );
}
