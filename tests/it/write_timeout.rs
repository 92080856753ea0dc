//! A client that stops reading cannot keep the server's threads and descriptors (issue 13,
//! point 1): a writer that could write nothing for `--write-timeout` cuts its connection, and
//! a connection counts against `--max-per-ip` until its writer has exited and its descriptor
//! is closed, whether it ended by `QUIT`, by FIN or not at all.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use crate::support::{ChatdProcess, DEADLINE, Resources, TestClient};

/// Bytes of one `HELP` answer, at least.
const HELP_ANSWER: usize = 1_000;

/// How many `HELP` lines a stalled client sends: enough answers to fill the largest send
/// buffer the kernel may give a socket (`net.ipv4.tcp_wmem`, 4 MiB by default; on loopback it
/// does grow that far) and 2 MiB more, so the writer blocks.
fn helps_to_stall() -> usize {
    let wmem = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem").unwrap();
    let largest: usize = wmem.split_whitespace().nth(2).unwrap().parse().unwrap();
    (largest + 2 * 1024 * 1024) / HELP_ANSWER
}

/// A connection with a small receive buffer that sends `lines` and then reads nothing, so
/// its window closes and the server's writer blocks.
fn stalled(addr: SocketAddr, lines: &str) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    stream.write_all(lines.as_bytes()).unwrap();
    stream
}

/// Waits (polling /proc, with a deadline) until `check` holds for the server's resources.
fn wait_for(server: &ChatdProcess, what: &str, check: impl Fn(Resources) -> bool) {
    let end = Instant::now() + DEADLINE;
    loop {
        let now = server.resources();
        if check(now) {
            return;
        }
        assert!(Instant::now() < end, "{what}: still {now:?}");
        // The teardown happens on server threads the protocol cannot observe.
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn issue_13_a_client_that_reads_nothing_keeps_its_place_until_its_writer_is_cut() {
    let helps = helps_to_stall();
    // Room in the queue for all the answers: the clients must stall, not be slow consumers.
    // A queued line counts its footprint, about twice the text of a short HELP line, and
    // HELP_ANSWER is only a lower bound of the text: four times it is room to spare.
    let send_queue = (4 * helps * HELP_ANSWER).to_string();
    let mut chatd = ChatdProcess::spawn(
        &[
            "--max-per-ip",
            "4",
            "--write-timeout",
            "2",
            "--send-queue",
            &send_queue,
            "--rate",
            "0",
            "--log-level",
            "debug",
        ],
        None,
    );
    let baseline = chatd.resources();
    let mut watcher = TestClient::connect_raw(chatd.addr);
    assert!(watcher.recv().starts_with("HELLO "));
    watcher.send("NICK watcher");
    watcher.expect("OK NICK watcher");

    let helps = "HELP\n".repeat(helps);
    // One ends with QUIT, one with FIN, and one stays connected, registered and silent.
    let quits = stalled(chatd.addr, &format!("{helps}QUIT\n"));
    let fin = stalled(chatd.addr, &helps);
    fin.shutdown(Shutdown::Write).unwrap();
    let silent = stalled(chatd.addr, &format!("NICK silent\n{helps}"));
    watcher.expect("JOIN silent");
    let ended: Vec<String> = (0..2).map(|_| chatd.expect_log(": closed (")).collect();
    for why in ["closed (quit)", "closed (connection closed)"] {
        assert!(ended.iter().any(|line| line.contains(why)), "{ended:?}");
    }

    // Two of them have ended, but their writers still hold their places: the address has
    // its four connections.
    let mut fifth = TestClient::connect_raw(chatd.addr);
    fifth.expect_err("TOO_MANY_CONNECTIONS");
    fifth.expect_closed();
    assert_eq!(chatd.resources().threads, baseline.threads + 4, "writers");

    // Nothing could be written to any of them for 2 s: each is cut, and the silent one is
    // announced with the reason.
    watcher.expect("QUIT silent write timeout");
    chatd.expect_log("closed (write timeout)");
    wait_for(&chatd, "back to the watcher alone", |now| {
        now.threads == baseline.threads + 1 && now.fds == baseline.fds + 1
    });
    let mut again = TestClient::connect_raw(chatd.addr);
    assert!(again.recv().starts_with("HELLO "));
    // The refusal of the fifth was this address's log line for 10 s; the cuts are counted,
    // and said once the 10 s have passed.
    let held = chatd.expect_log("127.0.0.1: 3 more in the last ");
    assert!(held.ends_with(" s: 3 cut (write timeout)"), "{held}");
    drop((quits, fin, silent));
}
