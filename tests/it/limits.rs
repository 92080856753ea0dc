//! Outbound limits: a slow consumer is dropped without slowing anyone, its queue stays
//! bounded, and QUIT still delivers everything that was queued.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::TestServer;

const SEND_QUEUE: usize = 256 * 1024;

#[test]
fn a_client_that_never_reads_is_dropped_as_slow_and_others_are_not_delayed() {
    // Lines of 1 KB per round: well under the healthy client's queue, so however slowly the
    // test reads, only the client that never reads can overflow.
    const ROUND: usize = 100;
    let server = TestServer::with(|c| c.send_queue = SEND_QUEUE);
    let mut healthy = server.client("healthy");
    let mut flooder = server.client("flooder");
    let slow = server.client("slow");
    let mut pinger = server.connect();
    healthy.barrier();
    flooder.barrier();
    let payload = "p".repeat(1000);
    let slow_dropped = AtomicBool::new(false);
    let (round_done, next_round) = crossbeam_channel::unbounded::<usize>();
    let (sent, (received, worst_ping)) = thread::scope(|scope| {
        let reader = scope.spawn(|| {
            healthy.set_deadline(Duration::from_secs(30));
            let mut next = 0usize;
            loop {
                let line = healthy.recv();
                if line.starts_with("QUIT slow ") {
                    assert!(line.contains("slow consumer"), "{line}");
                    slow_dropped.store(true, Ordering::SeqCst);
                } else if line == "ALL flooder end" {
                    return next;
                } else {
                    let (n, text) = line
                        .strip_prefix("ALL flooder ")
                        .and_then(|rest| rest.split_once(' '))
                        .unwrap_or_else(|| panic!("unexpected {line:.60}"));
                    assert_eq!(n.parse::<usize>().unwrap(), next, "lost or reordered");
                    assert_eq!(text.len(), 1000);
                    next += 1;
                    if next % ROUND == 0 {
                        round_done.send(next).unwrap();
                    }
                }
            }
        });
        let pings = scope.spawn(|| {
            let mut worst = Duration::ZERO;
            while !slow_dropped.load(Ordering::SeqCst) {
                let start = Instant::now();
                pinger.barrier();
                worst = worst.max(start.elapsed());
                assert!(
                    server.stats().max_queued_bytes <= SEND_QUEUE,
                    "queue over its bound"
                );
            }
            worst
        });
        // Flood in rounds, each sent once the healthy client has read the last one (it reads
        // as fast as a test can, not as fast as a server writes), until the slow client is
        // dropped; at most 200 MB.
        let mut sent = 0;
        while !slow_dropped.load(Ordering::SeqCst) {
            assert!(sent < 200_000, "the slow consumer was never dropped");
            for _ in 0..ROUND {
                flooder.send(&format!("ALL {sent} {payload}"));
                sent += 1;
            }
            let read = next_round
                .recv_timeout(Duration::from_secs(30))
                .expect("the healthy client stopped receiving");
            assert_eq!(read, sent);
        }
        flooder.send("ALL end");
        (sent, (reader.join().unwrap(), pings.join().unwrap()))
    });
    assert_eq!(received, sent, "the healthy client lost lines");
    // Generous: the point is that the pinger is served while the slow client stalls, not a
    // latency figure (the load benchmark measures those).
    assert!(
        worst_ping < Duration::from_secs(2),
        "a PING took {worst_ping:?}"
    );
    drop(slow);
    assert!(server.stats().max_queued_bytes <= SEND_QUEUE);
    assert_eq!(
        flooder.barrier(),
        [format!("QUIT slow {}", chatd_proto::reason::SLOW_CONSUMER)]
    );
}

#[test]
fn quit_delivers_every_queued_line_before_bye_and_the_close() {
    const LINES: usize = 20_000;
    // Room for everything: the lines pile up in the queue, beyond the kernel's buffers.
    let server = TestServer::with(|c| c.send_queue = 64 * 1024 * 1024);
    let mut quitter = server.client("quitter");
    let mut sender = server.client("sender");
    sender.send_numbered_all(LINES, 1000);
    assert!(
        server.stats().max_queued_bytes > 1024 * 1024,
        "the test needs lines still queued when QUIT arrives"
    );
    quitter.send("QUIT done");
    quitter.set_deadline(Duration::from_secs(30));
    quitter.expect("JOIN sender");
    quitter.expect_numbered_all("sender", LINES);
    quitter.expect("BYE");
    quitter.expect_closed();
    assert_eq!(sender.barrier(), ["QUIT quitter done"]);
}
