//! What a client that never reads can make the server hold (issue 13): its queue counts each
//! line's real footprint, so with `--send-queue 1M` a stalled client pins about 1 MiB of the
//! server's memory before it is cut, even when it asks for the smallest lines there are
//! (`PONG`s). Counted as text, 190,000 `PONG`s passed for 780 KB and took 7.3 MiB. The server
//! is the `chatd` binary, so that /proc shows its memory alone.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use socket2::{Domain, Socket, Type};

use crate::support::{ChatdProcess, TestClient};

/// Clients that stall at once: few, so the test stays light, but their sum stands well above
/// the allocator's noise.
const STALLED: usize = 4;
/// `PING`s per step; after each step the server's memory is read.
const STEP: usize = 2_000;
/// 400,000 `PING`s at most: the kernel's buffers take about the first 200,000 answers
/// (1 MB), the queue the rest.
const MAX_STEPS: usize = 600;
const SEND_QUEUE_KIB: usize = 1024;

/// A client that never reads, with a receive buffer of 4 KiB from the start, so that the
/// kernel holds little of what it is sent. (Shrunk after connecting, the buffer can stall
/// the client's own sending on loopback.)
fn stalled_client(addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.into()
}

#[test]
fn issue_13_a_stalled_client_pins_about_its_send_queue_however_small_its_lines() {
    let server = ChatdProcess::spawn(&["--workers", "2", "--rate", "0"], None);
    let mut watcher = TestClient::connect_raw(server.addr);
    assert!(watcher.recv().starts_with("HELLO "));
    watcher.send("NICK watcher");
    watcher.expect("OK NICK watcher");
    let mut stalled: Vec<TcpStream> = (0..STALLED)
        .map(|i| {
            let mut client = stalled_client(server.addr);
            client.write_all(format!("NICK s{i}\n").as_bytes()).unwrap();
            watcher.expect(&format!("JOIN s{i}"));
            client
        })
        .collect();
    let baseline = server.resources().rss_kib;
    let pings = "PING\n".repeat(STEP);
    let mut alive = [true; STALLED];
    let mut worst_kib = 0;
    for step in 0..MAX_STEPS {
        if !alive.contains(&true) {
            break;
        }
        for (i, client) in stalled.iter_mut().enumerate() {
            if alive[i] {
                // A client cut meanwhile refuses the write; the watcher says so below.
                let _ = client.write_all(pings.as_bytes());
                let _ = client.write_all(format!("ALL {step}\n").as_bytes());
            }
        }
        // Each live client's step is done when its ALL comes through, or it was cut.
        let mut pending = alive;
        while pending.contains(&true) {
            let line = watcher.recv();
            let (i, cut) = match line.split_once(' ') {
                Some(("ALL", rest)) => (rest.split(' ').next().unwrap(), false),
                Some(("QUIT", rest)) => {
                    assert!(rest.contains("slow consumer"), "{line}");
                    (rest.split(' ').next().unwrap(), true)
                }
                _ => panic!("unexpected {line:?}"),
            };
            let i: usize = i.strip_prefix('s').unwrap().parse().unwrap();
            pending[i] = false;
            alive[i] &= !cut;
        }
        let grown = server.resources().rss_kib.saturating_sub(baseline);
        worst_kib = worst_kib.max(grown);
    }
    assert!(
        !alive.contains(&true),
        "a client sent {} PINGs unread and was never cut",
        MAX_STEPS * STEP
    );
    let per_client = worst_kib / STALLED;
    assert!(
        per_client <= SEND_QUEUE_KIB * 5 / 4,
        "each stalled client pinned up to {per_client} KiB with --send-queue 1M"
    );
}
