//! The `chatd` binary started with no flags keeps the contract's promises to scripts and
//! load tests (`protocol-core.md`, issue 11): flood control leaves a scripted client alone
//! up to 2,000 lines/s in bursts of 4,000, and many clients from one loopback address are
//! not limited as a group.

use std::time::{Duration, Instant};

use crate::support::{ChatdProcess, TestClient, raise_fd_limit};

/// A default server takes this many registered clients from 127.0.0.1.
const LOOPBACK_CLIENTS: usize = 2_000;

#[test]
fn issue_11_a_default_server_takes_2000_clients_from_one_loopback_address() {
    assert!(raise_fd_limit(2 * LOOPBACK_CLIENTS as u64 + 256) >= LOOPBACK_CLIENTS as u64 + 256);
    let chatd = ChatdProcess::spawn(&[], None);
    let mut clients = Vec::with_capacity(LOOPBACK_CLIENTS);
    for n in 0..LOOPBACK_CLIENTS {
        let mut client = TestClient::connect_raw(chatd.addr);
        let hello = client.recv();
        assert!(hello.starts_with("HELLO "), "client {n} got {hello:?}");
        client.send(&format!("NICK c{n}"));
        client.expect(&format!("OK NICK c{n}"));
        clients.push(client);
    }
    // The last one sees every one of them registered.
    let last = clients.last_mut().unwrap();
    last.send("WHO");
    let mut listed = 0;
    loop {
        let line = last.recv();
        if line == "END WHO" {
            break;
        }
        listed += line.split(' ').skip(1).count();
    }
    assert_eq!(listed, LOOPBACK_CLIENTS);
}

#[test]
fn issue_11_a_default_server_answers_a_ping_after_1000_alls_within_a_second() {
    let chatd = ChatdProcess::spawn(&[], None);
    let mut listener = TestClient::connect_raw(chatd.addr);
    listener.recv();
    listener.send("NICK listener");
    listener.expect("OK NICK listener");
    let mut script = TestClient::connect_raw(chatd.addr);
    script.recv();
    script.send("NICK script");
    script.expect("OK NICK script");
    listener.expect("JOIN script");

    let mut lines = String::new();
    for n in 0..1_000 {
        lines.push_str(&format!("ALL line {n}\n"));
    }
    lines.push_str("PING done\n");
    let sent = Instant::now();
    script.send_raw(lines.as_bytes());
    script.expect("PONG done");
    let waited = sent.elapsed();
    // The old defaults (50 lines/s after a burst of 200) took 16 s here.
    assert!(
        waited < Duration::from_secs(1),
        "PONG after {waited:?}: the script was slowed"
    );
    for n in 0..1_000 {
        listener.expect(&format!("ALL script line {n}"));
    }
}
