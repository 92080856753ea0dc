//! Graceful shutdown, in-process and of the `chatd` binary on SIGTERM/SIGINT.

use std::net::TcpStream;
use std::time::Duration;

use crate::support::{ChatdProcess, TestClient, TestServer};

#[test]
fn shutdown_tells_every_client_drains_queues_and_closes_cleanly() {
    let server = TestServer::start();
    let addr = server.addr;
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    let mut lurker = server.connect();
    alice.send("ALL last words");
    alice.barrier();
    let report = server.shutdown();
    assert_eq!((report.clients, report.cut), (3, 0));
    bob.expect("ALL alice last words");
    for client in [&mut alice, &mut bob, &mut lurker] {
        client.expect("BYE server shutting down");
        client.expect_closed();
    }
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn shutdown_drains_a_queue_larger_than_the_socket_buffers() {
    const LINES: usize = 10_000;
    let server = TestServer::with(|c| c.send_queue = 64 * 1024 * 1024);
    let mut reader = server.client("reader");
    let mut sender = server.client("sender");
    sender.send_numbered_all(LINES, 1000);
    let report = std::thread::scope(|scope| {
        let shutdown = scope.spawn(|| server.shutdown());
        reader.set_deadline(Duration::from_secs(30));
        reader.expect("JOIN sender");
        reader.expect_numbered_all("sender", LINES);
        reader.expect("BYE server shutting down");
        reader.expect_closed();
        shutdown.join().unwrap()
    });
    assert_eq!(report.cut, 0);
}

#[test]
fn shutdown_cuts_a_client_that_does_not_read_at_the_drain_deadline() {
    let server = TestServer::with(|c| {
        c.send_queue = 64 * 1024 * 1024;
        c.drain_timeout = Duration::from_millis(300);
    });
    let _stuck = server.client("stuck");
    let mut sender = server.client("sender");
    sender.send_numbered_all(20_000, 1000);
    let report = server.shutdown();
    assert_eq!(report.cut, 1, "{report:?}");
}

fn binary_stops_gracefully_on(signal: i32) {
    let chatd = ChatdProcess::spawn(&["--workers", "2"], None);
    let mut client = TestClient::connect_raw(chatd.addr);
    assert!(client.recv().starts_with("HELLO "));
    client.send("NICK alice");
    client.expect("OK NICK alice");
    chatd.signal(signal);
    client.expect("BYE server shutting down");
    client.expect_closed();
    let status = chatd.wait();
    assert!(status.success(), "exit status {status}");
}

#[test]
fn the_binary_exits_0_after_sigterm() {
    binary_stops_gracefully_on(libc::SIGTERM);
}

#[test]
fn the_binary_exits_0_after_sigint() {
    binary_stops_gracefully_on(libc::SIGINT);
}
