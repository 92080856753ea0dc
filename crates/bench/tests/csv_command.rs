//! Issue 12, point 7: the CSV of a `chatd-bench` run records the command that runs it again
//! (`cargo run --release --bin chatd-bench -- fanout ...`), not the path of the executable
//! of one build. Runs the real binary on a tiny fan-out (a fraction of a second) with
//! `--out` in a directory of its own.

use std::path::PathBuf;
use std::process::Command;

/// A fresh directory under the system's temporary one, for this test alone.
fn out_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chatd-bench-csv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn issue_12_the_csv_records_a_command_that_runs_again() {
    let dir = out_dir();
    let workload = [
        "fanout",
        "--clients",
        "3",
        "--senders",
        "1",
        "--messages",
        "20",
    ];
    let output = Command::new(env!("CARGO_BIN_EXE_chatd-bench"))
        .args(workload)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let csv: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "csv"))
        .collect();
    assert_eq!(csv.len(), 1, "{csv:?}");
    let text = std::fs::read_to_string(&csv[0]).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    let command = text
        .lines()
        .find_map(|line| line.strip_prefix("# command: "))
        .unwrap_or_else(|| panic!("no command line in {text}"));
    let cargo_run = if cfg!(debug_assertions) {
        "cargo run --bin chatd-bench"
    } else {
        "cargo run --release --bin chatd-bench"
    };
    let out = command
        .strip_prefix(&format!("{cargo_run} -- {} --out ", workload.join(" ")))
        .unwrap_or_else(|| panic!("{command}"));
    // Quoted for the shell if the temporary directory's path needs it.
    assert_eq!(
        out.trim_matches('\''),
        dir.display().to_string(),
        "{command}"
    );
    // The report on stdout names the same command.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&format!("command: {command}")), "{stdout}");
}
