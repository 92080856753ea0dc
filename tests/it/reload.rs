//! SIGHUP (issue 13): the `chatd` binary reads its `--config` file again and applies the live
//! limits at once, names the settings that need a restart, keeps its settings when the file
//! is bad, and is never killed by the signal.

use std::time::{Duration, Instant};

use crate::support::{ChatdProcess, TempFile, TestClient};

/// A connection that has read its greeting.
fn connect(chatd: &ChatdProcess) -> TestClient {
    let mut client = TestClient::connect_raw(chatd.addr);
    let hello = client.recv();
    assert!(hello.starts_with("HELLO "), "{hello}");
    client
}

#[test]
fn issue_13_sighup_without_a_config_file_changes_nothing_and_kills_nothing() {
    let mut chatd = ChatdProcess::spawn(&[], None);
    let mut alice = connect(&chatd);
    alice.send("NICK alice");
    alice.expect("OK NICK alice");
    chatd.signal(libc::SIGHUP);
    chatd.expect_log("SIGHUP: no --config file, nothing to reload");
    alice.expect_nothing_more();
    chatd.signal(libc::SIGTERM);
    alice.expect("BYE server shutting down");
    assert!(chatd.wait().success());
}

#[test]
fn issue_13_sighup_applies_the_live_limits_of_the_config_file_at_once() {
    let file = TempFile::new("reload.toml", "max_per_ip = 3\nrate = 1\nburst = 5\n");
    let mut chatd = ChatdProcess::spawn(&["--config", file.path()], None);
    let mut alice = connect(&chatd);
    alice.send("NICK alice");
    alice.expect("OK NICK alice");
    // Four tokens are left: four PONGs now, then one a second.
    let pings: String = (0..20).map(|n| format!("PING {n}\n")).collect();
    alice.send_raw(pings.as_bytes());
    for n in 0..4 {
        alice.expect(&format!("PONG {n}"));
    }

    file.write("max_per_ip = 1\nrate = 0\nburst = 5\nlog_level = \"debug\"\nmax_line = 100\n");
    chatd.signal(libc::SIGHUP);
    let reloaded = chatd.expect_log("SIGHUP: ");
    assert!(
        reloaded.ends_with(&format!(
            "SIGHUP: {} reloaded: max_per_ip, rate, log_level in effect now; max_line \
             changed, but take effect at the next start",
            file.path()
        )),
        "{reloaded}"
    );
    // Flood control is off for the open connection too: the 16 PONGs left come at once, not
    // one a second.
    let start = Instant::now();
    for n in 4..20 {
        alice.expect(&format!("PONG {n}"));
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "the PONGs took {took:?}");
    // One connection per address now.
    let mut second = TestClient::connect_raw(chatd.addr);
    second.expect_err("TOO_MANY_CONNECTIONS");
    // max_line needs a restart: a line of 200 bytes is still fine.
    alice.send(&format!("PING {}", "x".repeat(200)));
    alice.expect(&format!("PONG {}", "x".repeat(200)));
    // The log shows debug lines now.
    alice.send("QUIT");
    alice.expect("BYE");
    chatd.expect_log("alice quit");
    chatd.signal(libc::SIGTERM);
    assert!(chatd.wait().success());
}

#[test]
fn issue_13_a_config_file_with_an_error_on_sighup_keeps_the_settings() {
    let file = TempFile::new("reload-bad.toml", "max_per_ip = 1\n");
    let mut chatd = ChatdProcess::spawn(&["--config", file.path()], None);
    let _alice = connect(&chatd);
    let addr = chatd.addr;
    let refused_again = move || {
        let mut second = TestClient::connect_raw(addr);
        second.expect_err("TOO_MANY_CONNECTIONS");
    };
    refused_again();

    file.write("max_per_ip = \"many\"\n");
    chatd.signal(libc::SIGHUP);
    let error = chatd.expect_log("not applied");
    assert!(
        error.contains(&format!(
            "SIGHUP: {0} not applied, the settings stay as they were: {0}:1: max_per_ip: \
             invalid type",
            file.path()
        )),
        "{error}"
    );
    refused_again();

    // More clients than the open-file limit allows: refused as at start.
    file.write("max_per_ip = 5\nmax_clients = 100000000\n");
    chatd.signal(libc::SIGHUP);
    let error = chatd.expect_log("not applied");
    assert!(
        error.contains("--max-clients 100000000 needs 100000064 open files"),
        "{error}"
    );
    refused_again();

    file.write("max_per_ip = 5\n");
    chatd.signal(libc::SIGHUP);
    chatd.expect_log("reloaded: max_per_ip in effect now");
    connect(&chatd);
    chatd.signal(libc::SIGTERM);
    assert!(chatd.wait().success());
}
