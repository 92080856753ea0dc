//! The `chatd` binary with `--config` (issue 11): a bad file stops it before it listens, with
//! a message that names the key and the file; a good one takes effect, under the flags.
//!
//! The merge and every error path are unit-tested in `src/config`; these tests show that the
//! binary really reads the file and really refuses to start.

use crate::support::{ChatdProcess, TempFile, TestClient, run_chatd_to_exit};

#[test]
fn issue_11_a_bad_config_file_stops_chatd_before_it_listens_naming_key_and_file() {
    for (name, text, says) in [
        (
            "unknown",
            "rate = 50\nmax_lines = 100\n",
            ":2: unknown key `max_lines`",
        ),
        (
            "type",
            "rate = 50\nburst = \"lots\"\n",
            ":2: burst: invalid type",
        ),
        (
            "value",
            "\nmax_line = 10\n",
            "max_line at {file}:2 must be between",
        ),
    ] {
        let file = TempFile::new(&format!("{name}.toml"), text);
        let (status, stderr) =
            run_chatd_to_exit(&["--addr", "127.0.0.1:0", "--config", file.path()]);
        assert_eq!(status.code(), Some(1), "{name}: {stderr}");
        let says = says.replace("{file}", file.path());
        assert!(stderr.contains(&says), "{name}: {stderr:?} lacks {says:?}");
        assert!(stderr.contains(file.path()), "{name}: {stderr:?}");
        assert!(!stderr.contains("listening on"), "{name}: {stderr:?}");
    }
}

/// Registers on `chatd`, sends an `ALL` line of `bytes` bytes, ending included, and quits:
/// the server's answer to the line, or `None` when it took the line without one.
fn send_line_of(chatd: &ChatdProcess, bytes: usize) -> Option<String> {
    let mut alice = TestClient::connect_raw(chatd.addr);
    assert!(alice.recv().starts_with("HELLO "));
    alice.send("NICK alice");
    alice.expect("OK NICK alice");
    alice.send(&format!("ALL {}", "x".repeat(bytes - "ALL \n".len())));
    let mut answers = alice.barrier();
    // Gone for sure before the next call registers `alice` again.
    alice.send("QUIT");
    alice.expect("BYE");
    assert!(answers.len() <= 1, "{answers:?}");
    answers.pop()
}

#[test]
fn issue_11_a_value_from_the_config_file_takes_effect_and_a_flag_overrides_it() {
    let file = TempFile::new("max-line.toml", "# the longest line\nmax_line = 100\n");
    let too_long = |limit: usize| {
        Some(format!(
            "ERR LINE_TOO_LONG line longer than {limit} bytes discarded"
        ))
    };

    let from_file = ChatdProcess::spawn(&["--config", file.path()], None);
    assert_eq!(send_line_of(&from_file, 100), None);
    assert_eq!(send_line_of(&from_file, 101), too_long(100));
    drop(from_file);

    let flag_over_file = ChatdProcess::spawn(&["--config", file.path(), "--max-line", "200"], None);
    assert_eq!(send_line_of(&flag_over_file, 200), None);
    assert_eq!(send_line_of(&flag_over_file, 201), too_long(200));
}
