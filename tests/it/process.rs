//! The `chatd` binary as an operator runs it: its log lines. (Its open-file limit is in
//! `open_files`.)

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
