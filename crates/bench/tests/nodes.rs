//! Issue 19, point 5: `chatd-bench --nodes 2` runs two chatd processes joined through a
//! nats-server it starts, against one process. Short fan-out and direct runs of the real
//! binaries pass every check (nothing lost, duplicated, reordered or corrupt, one order for
//! all, exactly the deliveries the workload makes, on both rows), the report gives the
//! nodes/one-process ratios, and every process the run started is gone and every folder it
//! made removed when it ends, whether it passed or failed.
//!
//! The chatd binary is the one `cargo test` builds beside `chatd-bench` for the server's own
//! tests; nats-server must be installed (CI installs it): without it these tests fail, they
//! are never skipped. Every wait has a deadline: the runs' own `--timeout`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chatd_bench::loadgen::nodes;

/// The chatd binary next to `chatd-bench`.
fn chatd() -> PathBuf {
    let chatd = Path::new(env!("CARGO_BIN_EXE_chatd-bench")).with_file_name("chatd");
    assert!(
        chatd.is_file(),
        "{} not found: run `cargo test` at the top of the workspace (it builds the server for \
         its tests), or `cargo build --bin chatd` first",
        chatd.display()
    );
    chatd
}

/// Fails, never skips, when the machine has no nats-server.
fn require_nats_server() {
    if let Err(error) = nodes::find_nats_server(None) {
        panic!("these tests need a nats-server with JetStream: {error}");
    }
}

/// A run of `chatd-bench <args> --nodes 2 --spawn <chatd>` with its temporary folders in a
/// folder of the test's own, its CSV in another, and a mark in its environment that every
/// process it starts inherits. Returns the output, the CSV's text if one was written, and
/// what it left behind: processes with the mark, entries of the temporary folder.
struct NodesRun {
    output: Output,
    csv: Option<String>,
    leftover_processes: Vec<u32>,
    leftover_files: Vec<PathBuf>,
}

impl NodesRun {
    fn of(args: &[&str]) -> NodesRun {
        require_nats_server();
        let temp = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let mark = format!("{}-{}", std::process::id(), args.join("-"));
        let output = Command::new(env!("CARGO_BIN_EXE_chatd-bench"))
            .args(args)
            .args(["--nodes", "2", "--spawn"])
            .arg(chatd())
            .arg("--out")
            .arg(out.path())
            .env("TMPDIR", temp.path())
            .env("CHATD_BENCH_NODES_TEST", &mark)
            .output()
            .unwrap();
        let csv = fs::read_dir(out.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.extension().is_some_and(|e| e == "csv"))
            .map(|path| fs::read_to_string(path).unwrap());
        NodesRun {
            output,
            csv,
            leftover_processes: processes_marked(&format!("CHATD_BENCH_NODES_TEST={mark}")),
            leftover_files: fs::read_dir(temp.path())
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .collect(),
        }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Nothing the run started is left: no process, no folder.
    fn assert_left_nothing(&self) {
        assert_eq!(self.leftover_processes, [] as [u32; 0], "{}", self.stderr());
        assert_eq!(self.leftover_files, [] as [PathBuf; 0], "{}", self.stderr());
    }

    /// The CSV's `column` of each row, by the row's workload.
    fn column(&self, column: &str) -> Vec<(String, String)> {
        let csv = self.csv.as_deref().expect("a CSV was written");
        let mut rows = csv.lines().filter(|line| !line.starts_with('#'));
        let header: Vec<&str> = rows.next().unwrap().split(',').collect();
        let at = header.iter().position(|c| *c == column).unwrap();
        rows.map(|row| {
            let cells: Vec<&str> = row.split(',').collect();
            (cells[0].to_owned(), cells[at].to_owned())
        })
        .collect()
    }
}

/// The processes whose environment holds `entry` (`NAME=value`).
fn processes_marked(entry: &str) -> Vec<u32> {
    let mut marked = Vec::new();
    for process in fs::read_dir("/proc").unwrap() {
        let process = process.unwrap();
        let Some(pid) = process
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // Another user's process, or one that has just exited: not one of ours.
        let Ok(environ) = fs::read(process.path().join("environ")) else {
            continue;
        };
        if environ.split(|&b| b == 0).any(|e| e == entry.as_bytes()) {
            marked.push(pid);
        }
    }
    marked
}

/// Two senders' 300 `ALL`s to six clients, three on each node: the senders get each other's
/// 300, the other four all 600, on both rows.
#[test]
fn issue_19_fanout_over_two_nodes_passes_its_checks_against_one_process() {
    let run = NodesRun::of(&[
        "fanout",
        "--clients",
        "6",
        "--senders",
        "2",
        "--messages",
        "300",
        "--workers",
        "2",
        "--timeout",
        "30",
    ]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let deliveries = (2 * 300 + 4 * 600).to_string();
    assert_eq!(
        run.column("deliveries"),
        [
            ("fan-out".to_owned(), deliveries.clone()),
            ("fan-out (2 nodes)".to_owned(), deliveries)
        ]
    );
    assert_eq!(
        run.column("one_global_order"),
        [
            ("fan-out".to_owned(), "yes".to_owned()),
            ("fan-out (2 nodes)".to_owned(), "yes".to_owned())
        ]
    );
    let stdout = run.stdout();
    assert!(
        stdout.contains("2 nodes/one process, fan-out workers=2: deliveries/s "),
        "{stdout}"
    );
    run.assert_left_nothing();
}

/// Three pairs, each a client of node 1 and one of node 2, 300 `MSG`s each way.
#[test]
fn issue_19_direct_over_two_nodes_passes_its_checks_against_one_process() {
    let run = NodesRun::of(&[
        "direct",
        "--pairs",
        "3",
        "--messages",
        "300",
        "--workers",
        "2",
        "--timeout",
        "30",
    ]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let deliveries = (6 * 300).to_string();
    assert_eq!(
        run.column("deliveries"),
        [
            ("direct".to_owned(), deliveries.clone()),
            ("direct (2 nodes)".to_owned(), deliveries)
        ]
    );
    assert_eq!(
        run.column("nodes"),
        [
            ("direct".to_owned(), String::new()),
            ("direct (2 nodes)".to_owned(), "2".to_owned())
        ]
    );
    let stdout = run.stdout();
    assert!(
        stdout.contains("2 nodes/one process, direct workers=2: deliveries/s "),
        "{stdout}"
    );
    run.assert_left_nothing();
}

/// A run that fails after its processes started (no phase can end within a millisecond:
/// here the wait for every node to list every client) still stops the nodes and the
/// nats-server and removes the store.
#[test]
fn issue_19_a_failed_nodes_run_leaves_nothing_behind() {
    let run = NodesRun::of(&[
        "fanout",
        "--clients",
        "4",
        "--senders",
        "1",
        "--messages",
        "100000",
        "--timeout",
        "0.001",
        "--no-files",
    ]);
    assert_eq!(run.output.status.code(), Some(1), "{}", run.stderr());
    let stderr = run.stderr();
    assert!(stderr.contains("FAILED: fan-out (2 nodes)"), "{stderr}");
    run.assert_left_nothing();
}

/// Three rooms of four members, spread over both nodes, two senders each with 200 lines:
/// every member gets every line of its room but its own, in one order, on both rows.
#[test]
fn issue_19_rooms_over_two_nodes_pass_their_checks_against_one_process() {
    let run = NodesRun::of(&[
        "rooms",
        "--rooms",
        "3",
        "--members",
        "4",
        "--senders",
        "2",
        "--messages",
        "200",
        "--workers",
        "2",
        "--timeout",
        "30",
    ]);
    assert!(run.output.status.success(), "{}", run.stderr());
    // Per room: each sender gets the other's 200, each other member both senders' 400.
    let deliveries = (3 * (2 * 200 + 2 * 400)).to_string();
    assert_eq!(
        run.column("deliveries"),
        [
            ("rooms".to_owned(), deliveries.clone()),
            ("rooms (2 nodes)".to_owned(), deliveries)
        ]
    );
    run.assert_left_nothing();
}

#[test]
fn issue_19_help_documents_nodes_and_nats_server() {
    let output = Command::new(env!("CARGO_BIN_EXE_chatd-bench"))
        .args(["fanout", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    for says in [
        "--nodes <N>",
        "--nats-server <PATH>",
        "Threads against processes",
    ] {
        assert!(help.contains(says), "{says}\n{help}");
    }
}
