//! The `chatd` binary and its open-file limit (issue 13): it raises its soft limit to the hard
//! one at start, refuses to start when `--max-clients` cannot fit, and if descriptors still run
//! out (the limit lowered while it runs), its acceptor backs off and recovers.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{ChatdProcess, TestClient, run_to_exit};

/// This process's soft and hard limits on open files.
#[allow(unsafe_code)]
fn own_limits() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the call.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    (limit.rlim_cur, limit.rlim_max)
}

/// The soft and hard limits on open files of process `pid`, from /proc.
fn limits_of(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn issue_13_too_many_clients_for_the_open_file_limit_stop_chatd_naming_both_numbers() {
    // Both limits at 200: nothing can raise them.
    let script = "ulimit -n 200 && exec \"$0\" \"$@\"";
    let mut command = Command::new("sh");
    command.args([
        "-c",
        script,
        env!("CARGO_BIN_EXE_chatd"),
        "--addr",
        "127.0.0.1:0",
    ]);
    let (status, stderr) = run_to_exit(command);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "chatd: --max-clients 10000 needs 10064 open files (one per connection and 64 for \
             the server), but the open-file limit is 200 (hard limit 200): raise it \
             (`ulimit -n 10064` in the shell that starts chatd, `LimitNOFILE=10064` in its \
             systemd unit), or lower --max-clients (max_clients in the configuration file) to \
             136\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("listening on"), "{stderr}");
}

#[test]
fn issue_13_chatd_raises_its_soft_open_file_limit_to_the_hard_one() {
    const CLIENTS: usize = 150;
    let (_, hard) = own_limits();
    assert!(
        hard >= 1024,
        "this test needs a hard open-file limit of 1024 at least, not {hard}"
    );
    // A soft limit far below the clients, as a login shell often starts with.
    let chatd = ChatdProcess::spawn(&["--max-clients", "300"], Some(64));
    assert_eq!(limits_of(chatd.pid()), (hard, hard));
    // Unraised, the acceptor met EMFILE near 55 clients and the others waited.
    let clients: Vec<TestClient> = (0..CLIENTS)
        .map(|_| {
            let mut client = TestClient::connect_raw(chatd.addr);
            let hello = client.recv();
            assert!(hello.starts_with("HELLO "), "{hello}");
            client
        })
        .collect();
    assert_eq!(clients.len(), CLIENTS);
}

/// Lowers the soft open-file limit of process `pid`, as `prlimit --nofile` would.
#[allow(unsafe_code)]
fn lower_soft_limit(pid: u32, soft: u64) {
    let (_, hard) = limits_of(pid);
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    let pid = i32::try_from(pid).unwrap();
    // SAFETY: `limit` is a valid rlimit, only read; the old value is not asked for (null).
    let done = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &limit, std::ptr::null_mut()) };
    assert_eq!(done, 0, "prlimit: {}", std::io::Error::last_os_error());
}

#[test]
fn out_of_file_descriptors_the_acceptor_backs_off_and_recovers() {
    // The start-up check keeps client sockets within the limit, so descriptors run out only
    // when something else takes them, or the limit is lowered while the server runs, as here:
    // room for the server's own descriptors and a handful of clients.
    let mut chatd = ChatdProcess::spawn(&["--workers", "1", "--max-clients", "40"], None);
    lower_soft_limit(chatd.pid(), 24);
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
        client.set_deadline(Duration::from_secs(5));
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
