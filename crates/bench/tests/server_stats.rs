//! Issue 14, item 6: `chatd-bench` prints the server's own `STATS` beside its figures. Runs
//! the real binary on a tiny fan-out (a fraction of a second) against a server in its own
//! process, and reads the report on stdout.

use std::process::Command;

#[test]
fn issue_14_the_report_shows_the_servers_stats_after_the_run() {
    let output = Command::new(env!("CARGO_BIN_EXE_chatd-bench"))
        .args([
            "fanout",
            "--clients",
            "3",
            "--senders",
            "1",
            "--messages",
            "20",
        ])
        .arg("--no-files")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stats = stdout
        .lines()
        .find(|line| line.starts_with("server STATS, fan-out workers="))
        .unwrap_or_else(|| panic!("no server STATS line in {stdout}"));
    // A fresh server: 20 ALL lines to each of the two other clients, and nothing else.
    assert!(
        stats.contains(": deliveries_out 40, fanout p50/p99 "),
        "{stats}"
    );
}
