//! The `chatd` binary as an operator runs it: its log lines, and how it copes when it runs
//! out of file descriptors.

use std::time::Instant;

use crate::support::{ChatdProcess, TestClient};

#[test]
fn debug_log_has_one_line_per_connection_event_with_the_peer_address() {
    let log_file = std::env::temp_dir().join(format!("chatd-test-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log_file);
    let log_arg = log_file.to_str().unwrap();
    let mut chatd = ChatdProcess::spawn(&["--log-level", "debug", "--log-file", log_arg], None);
    let mut alice = TestClient::connect_raw(chatd.addr);
    let peer = alice.writer.local_addr().unwrap().to_string();
    assert!(alice.recv().starts_with("HELLO "));
    alice.send("NICK alice");
    alice.expect("OK NICK alice");
    alice.send("ALL secret body");
    alice.send("QUIT bye");
    alice.expect("BYE");
    for event in [
        "connected",
        "registered alice",
        "alice quit (bye)",
        "closed (quit)",
    ] {
        let line = chatd.expect_log(event);
        assert!(
            line.contains(&peer),
            "{line:?} lacks the peer address {peer}"
        );
    }
    chatd.signal(libc::SIGTERM);
    chatd.expect_log("stopped");
    assert!(chatd.wait().success());
    // The file gets the same lines as the terminal, message bodies never (trace only).
    let written = std::fs::read_to_string(&log_file).unwrap();
    std::fs::remove_file(&log_file).unwrap();
    for event in [
        "listening on",
        "registered alice",
        "closed (quit)",
        "stopped",
    ] {
        assert!(written.contains(event), "the log file lacks {event:?}");
    }
    assert!(!written.contains("secret body"));
}

#[test]
fn out_of_file_descriptors_the_acceptor_backs_off_and_recovers() {
    // Room for the server's own descriptors and a handful of clients.
    let mut chatd = ChatdProcess::spawn(&["--workers", "1"], Some(24));
    let mut clients: Vec<TestClient> = (0..40)
        .map(|_| TestClient::connect_raw(chatd.addr))
        .collect();
    chatd.expect_log("accept failed");
    let first_error = Instant::now();
    // The back-off doubles from 10 ms: the next five failures are 10+20+40+80+160 ms apart
    // in all. Half of that leaves room for log-pipe latency; a busy loop would log them
    // within microseconds.
    for _ in 0..5 {
        chatd.expect_log("accept failed");
    }
    let errors_took = first_error.elapsed();
    assert!(
        errors_took.as_millis() >= 150,
        "accept retried after {errors_took:?}: a spin"
    );
    assert!(
        chatd.cpu_time().as_millis() < 1000,
        "{:?} of CPU",
        chatd.cpu_time()
    );
    // Every client was either greeted, or waits in the backlog: free the descriptors of the
    // greeted ones and the others must be greeted in turn.
    let total = clients.len();
    let mut greeted = 0;
    while !clients.is_empty() {
        let mut client = clients.remove(0);
        client.set_deadline(std::time::Duration::from_secs(5));
        assert!(client.recv().starts_with("HELLO "));
        greeted += 1;
        client.send("QUIT");
        client.expect("BYE");
        client.expect_closed();
    }
    assert_eq!(greeted, total);
    chatd.signal(libc::SIGTERM);
    assert!(chatd.wait().success());
}
