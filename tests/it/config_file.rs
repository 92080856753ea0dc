//! The `chatd` binary with `--config` (issue 11): a bad file stops it before it listens, with
//! a message that names the key and the file; a good one takes effect, under the flags.
//!
//! The merge and every error path are unit-tested in `src/config`; these tests show that the
//! binary really reads the file and really refuses to start.

use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;

use crate::support::{ChatdProcess, DEADLINE, TestClient};

/// A configuration file in the temporary directory, removed when dropped.
struct TempConfig {
    path: PathBuf,
}

impl TempConfig {
    /// `name` keeps tests that run at once apart.
    fn new(name: &str, text: &str) -> TempConfig {
        let file = format!("chatd-it-{}-{name}.toml", std::process::id());
        let path = std::env::temp_dir().join(file);
        std::fs::write(&path, text).unwrap();
        TempConfig { path }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Runs `chatd` with `args` until it exits, at most [`DEADLINE`]: its status and its stderr.
fn run_to_exit(args: &[&str]) -> (ExitStatus, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_chatd"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let waiter = thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(output) = rx.recv_timeout(DEADLINE) else {
        kill(pid);
        panic!("chatd {args:?} still ran after {DEADLINE:?}");
    };
    waiter.join().unwrap();
    let output = output.unwrap();
    (output.status, String::from_utf8(output.stderr).unwrap())
}

#[allow(unsafe_code)]
fn kill(pid: u32) {
    let pid = i32::try_from(pid).unwrap();
    // SAFETY: kill(2) on a child this test spawned and has not reaped; no memory is involved.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

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
        let file = TempConfig::new(name, text);
        let (status, stderr) = run_to_exit(&["--addr", "127.0.0.1:0", "--config", file.path()]);
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
    let file = TempConfig::new("max-line", "# the longest line\nmax_line = 100\n");
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
