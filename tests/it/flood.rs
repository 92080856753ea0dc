//! Flood control (`--rate`, `--burst`): a client over its rate is slowed, never dropped; none
//! of its lines is lost or reordered, and nobody else waits for it, even with one worker. A
//! slowed client whose peer goes away (a reset, a FIN) is not kept until its tokens refill.

use std::time::{Duration, Instant};

use crate::support::TestServer;

/// Reads `listener`'s stream until `flooder`'s numbered lines `from..to` have all arrived, in
/// order. Returns the other lines seen in between with when each came, and when the last
/// numbered line came.
fn read_flood(
    listener: &mut crate::support::TestClient,
    from: usize,
    to: usize,
) -> (Vec<(String, Instant)>, Instant) {
    let mut others = Vec::new();
    let mut next = from;
    while next < to {
        let line = listener.recv();
        match line.strip_prefix("ALL flooder ") {
            Some(numbered) => {
                assert_eq!(
                    numbered,
                    format!("{next} line"),
                    "flood line lost or out of order"
                );
                next += 1;
            }
            None => others.push((line, Instant::now())),
        }
    }
    (others, Instant::now())
}

#[test]
fn a_flooder_is_slowed_loses_nothing_and_others_keep_chatting_with_one_worker() {
    const RATE: u32 = 20;
    const BURST: u32 = 10;
    const FLOOD: usize = 60;
    let server = TestServer::with(|c| {
        c.workers = 1;
        c.rate = RATE;
        c.burst = BURST;
    });
    let mut listener = server.client("listener");
    let mut flooder = server.client("flooder");
    let mut other = server.client("other");
    listener.barrier();
    other.barrier();

    // One write: the whole flood and its QUIT sit in the server's socket buffer at once.
    let mut flood: String = (0..FLOOD).map(|n| format!("ALL {n} line\n")).collect();
    flood.push_str("QUIT done\n");
    flooder.send_raw(flood.as_bytes());

    // As soon as the flood shows, another client speaks. With one worker, a worker held by
    // the flooder while it waits for tokens would delay this line until the flood is over.
    let (_, started) = read_flood(&mut listener, 0, 1);
    other.send("ALL probe");
    let (others, ended) = read_flood(&mut listener, 1, FLOOD);
    let took = ended - started;
    let probe = others
        .iter()
        .find(|(line, _)| line == "ALL other probe")
        .unwrap_or_else(|| panic!("the probe was not delivered during the flood: {others:?}"));
    let probe_after = probe.1 - started;
    // The flood runs at RATE after its burst; the probe is not queued behind it.
    let flood_floor = Duration::from_secs_f64((FLOOD - BURST as usize) as f64 / f64::from(RATE));
    assert!(
        took >= flood_floor.mul_f64(0.8),
        "{FLOOD} lines took {took:?}: not slowed to {RATE}/s"
    );
    assert!(
        probe_after < took / 2,
        "the probe came {probe_after:?} into a {took:?} flood"
    );

    // The QUIT behind the flood ran last, and the flooder was told goodbye, not cut.
    listener.expect("QUIT flooder done");
    flooder.expect("JOIN other");
    flooder.expect("ALL other probe");
    flooder.expect("BYE");
    flooder.expect_closed();
    listener.expect_nothing_more();
}

#[test]
fn a_flooder_that_hangs_up_mid_flood_still_has_every_line_delivered() {
    const FLOOD: usize = 40;
    let server = TestServer::with(|c| {
        c.rate = 50;
        c.burst = 5;
    });
    let mut listener = server.client("listener");
    let mut flooder = server.client("flooder");
    listener.barrier();
    let flood: String = (0..FLOOD).map(|n| format!("ALL {n} line\n")).collect();
    flooder.send_raw(flood.as_bytes());
    // A FIN right behind the flood: the server must still run every line before the close.
    flooder.finish_sending();
    let (others, _) = read_flood(&mut listener, 0, FLOOD);
    assert!(others.is_empty(), "{others:?}");
    listener.expect("QUIT flooder connection closed");
}

#[test]
fn a_backlog_held_back_by_flood_control_longer_than_the_idle_timeout_is_not_silence() {
    // One read brings the whole flood in; at 20 lines a second it runs for 2 s, well past
    // twice the idle timeout. Every line that runs counts as hearing from the client, so it
    // is neither pinged nor closed with `ping timeout` while its own lines are still running.
    const FLOOD: usize = 40;
    let server = TestServer::with(|c| {
        c.rate = 20;
        c.burst = 1;
        c.idle_timeout = Duration::from_millis(300);
    });
    let mut listener = server.client("listener");
    let mut flooder = server.client("flooder");
    listener.barrier();
    let mut flood: String = (0..FLOOD).map(|n| format!("ALL {n} line\n")).collect();
    flood.push_str("QUIT done\n");
    flooder.send_raw(flood.as_bytes());
    // The listener answers the server's PINGs itself (as any line would), so only the
    // flooder's fate is in question.
    let mut next = 0;
    while next < FLOOD {
        let line = listener.recv();
        if line == "PING idle" {
            listener.send("PONG idle");
            continue;
        }
        assert_eq!(line, format!("ALL flooder {next} line"), "lost or cut");
        next += 1;
    }
    let mut line = listener.recv();
    while line == "PING idle" {
        listener.send("PONG idle");
        line = listener.recv();
    }
    assert_eq!(line, "QUIT flooder done");
    let mut seen = Vec::new();
    while let Some(line) = flooder.try_recv() {
        seen.push(line);
    }
    assert_eq!(seen.last().map(String::as_str), Some("BYE"), "{seen:?}");
    assert!(!seen.iter().any(|l| l.starts_with("PING")), "{seen:?}");
}

#[test]
fn issue_13_a_pause_of_flood_control_longer_than_the_idle_timeout_is_not_silence() {
    // One read brings 5 lines of 1,000 bytes in and is charged at once: at 2,000 bytes a
    // second the connection is paused about 1.5 s before its first line runs, five times
    // the idle timeout. (Many connections of one address sharing its byte budget wait as
    // long for their turn.) It was pinged, its PONG left unread, and closed with
    // `ping timeout`, its lines lost.
    const LINES: usize = 5;
    let server = TestServer::with(|c| {
        c.rate = 2000;
        c.burst = 4000;
        c.byte_rate = 2000;
        c.byte_burst = 2000;
        c.idle_timeout = Duration::from_millis(300);
    });
    let mut listener = server.client("listener");
    let mut flooder = server.client("flooder");
    listener.barrier();
    let text = "x".repeat(990);
    let mut flood: String = (0..LINES).map(|n| format!("ALL {n} {text}\n")).collect();
    flood.push_str("QUIT done\n");
    flooder.send_raw(flood.as_bytes());
    let mut next = 0;
    loop {
        let line = listener.recv();
        if line == "PING idle" {
            listener.send("PONG idle");
        } else if next < LINES {
            assert_eq!(line, format!("ALL flooder {next} {text}"), "lost or cut");
            next += 1;
        } else {
            assert_eq!(line, "QUIT flooder done");
            break;
        }
    }
    let mut seen = Vec::new();
    while let Some(line) = flooder.try_recv() {
        seen.push(line);
    }
    assert_eq!(seen.last().map(String::as_str), Some("BYE"), "{seen:?}");
    assert!(!seen.iter().any(|l| l.starts_with("PING")), "{seen:?}");
}

/// A burst big enough for the listener's barriers, and a rate so low that a paused flooder's
/// next token is a second away and its backlog nearly a minute.
const SLOW_BURST: usize = 10_000;
const BACKLOG: usize = 50;

/// A server whose flood control pauses a flooder for seconds, and where two connections
/// from 127.0.0.1 use up the address's places.
fn slow_flood_server() -> TestServer {
    TestServer::with(|c| {
        c.rate = 1;
        c.burst = SLOW_BURST as u32;
        c.max_per_ip = 2;
        c.max_per_ip_loopback = true;
    })
}

/// Has `flooder` send `SLOW_BURST + BACKLOG` numbered `ALL` lines (then `tail`) in one go,
/// and returns once `listener` has seen the last line its tokens allow (its `NICK` took
/// one): the flooder is paused then, with its backlog not yet executed.
fn flood_until_paused(
    listener: &mut crate::support::TestClient,
    flooder: &mut crate::support::TestClient,
    tail: &str,
) {
    let mut flood: String = (0..SLOW_BURST + BACKLOG)
        .map(|n| format!("ALL {n} line\n"))
        .collect();
    flood.push_str(tail);
    flooder.send_raw(flood.as_bytes());
    read_flood(listener, 0, SLOW_BURST - 1);
}

/// Waits, yielding, until `done` holds; fails the test after `within`.
fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        std::thread::yield_now();
    }
}

#[test]
fn issue_11_a_paused_connection_reset_by_its_peer_is_gone_within_100_ms() {
    let server = slow_flood_server();
    let mut listener = server.client("listener");
    let mut flooder = server.client("flooder");
    listener.barrier();
    flood_until_paused(&mut listener, &mut flooder, "");

    let reset = Instant::now();
    flooder.reset();
    // The announcement reaches an idle listener within the announcement window (100 ms),
    // or at once with any reply: each barrier's PONG brings everything queued before it, so
    // this loop sees the QUIT as soon as the server has announced it.
    let quit = loop {
        let seen = listener.barrier();
        if let Some(quit) = seen.into_iter().find(|line| line.starts_with("QUIT ")) {
            break quit;
        }
        assert!(
            reset.elapsed() < Duration::from_secs(1),
            "no QUIT within a second of the reset"
        );
    };
    let took = reset.elapsed();
    assert_eq!(quit, "QUIT flooder connection reset");
    assert!(
        took < Duration::from_millis(100),
        "announced {took:?} after the reset"
    );

    // Its writer ends, and with it the last handle on its descriptor, which gives its place
    // back (issue 13: not before).
    wait_until(Duration::from_secs(1), "the flooder's writer ended", || {
        server.stats().writer_threads == 1 && server.stats().load.connections == 1
    });
    // Its place from 127.0.0.1 is free: a third connection is let in.
    let mut newcomer = crate::support::TestClient::connect_raw(server.addr);
    let hello = newcomer.recv();
    assert!(hello.starts_with("HELLO "), "{hello}");
    assert_eq!(server.stats().load.connections, 2);
    listener.expect_nothing_more();
}

#[test]
fn issue_11_a_paused_connection_whose_peer_sends_fin_runs_its_backlog_then_ends_at_once() {
    let server = slow_flood_server();
    let mut listener = server.client("listener");
    let mut flooder = server.client("flooder");
    listener.barrier();
    flood_until_paused(&mut listener, &mut flooder, "PING tail\n");

    let fin = Instant::now();
    flooder.finish_sending();
    // Every line sent before the FIN runs, in order, without waiting the minute its tokens
    // would take; then the connection ends.
    let (others, _) = read_flood(&mut listener, SLOW_BURST - 1, SLOW_BURST + BACKLOG);
    assert!(others.is_empty(), "{others:?}");
    listener.expect("QUIT flooder connection closed");
    let took = fin.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "the backlog of {BACKLOG} lines and the close took {took:?} after the FIN"
    );
    // The flooder's own replies are still written before the server's FIN.
    flooder.expect("PONG tail");
    flooder.expect_closed();
    assert_eq!(server.stats().load.connections, 1);
}
