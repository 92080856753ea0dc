//! Hostile and broken input: each offender gets its error or its QUIT, everyone else keeps
//! chatting.

use std::thread;

use crate::support::{TestClient, TestServer};

#[test]
fn a_ten_megabyte_line_gets_one_error_and_the_connection_stays_usable() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    let mut flooder = server.client("flooder");
    let chunk = vec![b'x'; 64 * 1024];
    thread::scope(|scope| {
        // Written from its own thread: the server answers while the stream is still coming.
        let writer = &mut flooder.writer;
        scope.spawn(move || {
            use std::io::Write;
            for _ in 0..160 {
                writer.write_all(&chunk).unwrap();
            }
            writer.write_all(b"\nALL after the flood\n").unwrap();
        });
        // Others chat undisturbed meanwhile.
        alice.send("MSG bob during the flood");
        alice.barrier();
        assert_eq!(
            bob.barrier(),
            ["JOIN flooder", "MSG alice during the flood"]
        );
    });
    flooder.expect_err("LINE_TOO_LONG");
    flooder.expect_nothing_more();
    assert_eq!(alice.barrier(), ["ALL flooder after the flood"]);
}

#[test]
fn invalid_utf8_gets_bad_encoding_and_the_next_line_works() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    bob.send_raw(b"ALL caf\xe9\nALL caf\xc3\xa9\n");
    bob.expect_err("BAD_ENCODING");
    bob.expect_nothing_more();
    assert_eq!(alice.barrier(), ["JOIN bob", "ALL bob caf\u{e9}"]);
}

#[test]
fn binary_garbage_on_one_connection_does_not_disturb_the_others() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    let mut garbage = server.connect();
    // A deterministic pseudo-random stream: NULs, newlines, invalid UTF-8, control bytes.
    let mut state: u32 = 0x2545_f491;
    let bytes: Vec<u8> = (0..1_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    thread::scope(|scope| {
        let writer = &mut garbage.writer;
        scope.spawn(move || {
            use std::io::Write;
            // The server may close on us only if we misbehave further; garbage alone is not that.
            writer.write_all(&bytes).unwrap();
            writer.write_all(b"\nPING done\n").unwrap();
        });
        for i in 0..50 {
            alice.send(&format!("MSG bob {i}"));
        }
        alice.barrier();
        let got = bob.barrier();
        assert_eq!(got.len(), 50, "{got:?}");
    });
    // The garbage got one answer per line (errors or whatever a random line meant), then PONG.
    let answers = garbage.barrier();
    assert!(
        answers.iter().any(|a| a == "PONG done"),
        "{} answers",
        answers.len()
    );
    assert!(
        answers.iter().all(|a| a.starts_with("ERR ")
            || a.starts_with("PONG")
            || a.starts_with("OK NICK")
            || a.starts_with("HELP")
            || a.starts_with("END ")
            || a.starts_with("WHO")),
        "unexpected answer"
    );
    alice.send("ALL still fine");
    alice.barrier();
    bob.expect("ALL alice still fine");
}

#[test]
fn a_reset_in_the_middle_of_a_line_is_a_clean_quit() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    bob.send("ALL complete");
    bob.barrier();
    bob.send_raw(b"ALL half a li");
    bob.reset();
    assert_eq!(alice.recv(), "JOIN bob");
    assert_eq!(alice.recv(), "ALL bob complete");
    let quit = alice.recv();
    assert!(quit.starts_with("QUIT bob "), "{quit}");
    assert!(quit.len() > "QUIT bob ".len(), "the reason is never empty");
    alice.expect_nothing_more();
    assert_eq!(server.stats().load.registered, 1);
}

#[test]
fn with_one_worker_a_stalled_half_line_and_a_silent_client_delay_no_one() {
    let server = TestServer::with(|c| c.workers = 1);
    let mut staller = server.connect();
    staller.send_raw(b"NICK stal");
    let _silent = TestClient::connect_raw(server.addr);
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    for i in 0..20 {
        alice.send(&format!("ALL {i}"));
    }
    assert_eq!(alice.barrier(), ["JOIN bob"]);
    for i in 0..20 {
        bob.send(&format!("MSG alice {i}"));
    }
    let expected: Vec<String> = (0..20).map(|i| format!("ALL alice {i}")).collect();
    assert_eq!(bob.barrier(), expected);
    let expected: Vec<String> = (0..20).map(|i| format!("MSG bob {i}")).collect();
    assert_eq!(alice.barrier(), expected);
    // The stalled line completes later and is executed like any other.
    staller.send_raw(b"ler\n");
    staller.expect("OK NICK staller");
    assert_eq!(alice.barrier(), ["JOIN staller"]);
}

#[test]
fn a_burst_of_short_lines_in_one_write_runs_in_full_and_in_order() {
    // Far more lines than one worker turn executes: the rest stay buffered in the server
    // with no new bytes to wake the poller, and must still run, in order.
    const LINES: usize = 30_000;
    let server = TestServer::with(|c| {
        c.workers = 1;
        // Room for every delivery: the listener reads slower than one worker delivers, and
        // this test is about the backlog running, not about slow consumers.
        c.send_queue = 64 * 1024 * 1024;
    });
    let mut listener = server.client("listener");
    let mut sender = server.client("sender");
    let burst: String = (0..LINES).map(|n| format!("MSG listener {n}\n")).collect();
    // Written while the listener reads: a burst this size fills the socket buffers.
    let mut burst_writer = sender.writer.try_clone().unwrap();
    let writing =
        thread::spawn(move || std::io::Write::write_all(&mut burst_writer, burst.as_bytes()));
    listener.expect("JOIN sender");
    for n in 0..LINES {
        listener.expect(&format!("MSG sender {n}"));
    }
    writing.join().unwrap().unwrap();
    sender.barrier();
    listener.expect_nothing_more();
}
