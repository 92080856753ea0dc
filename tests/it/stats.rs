//! `STATS` (issue 14): registered clients only; its figures count at least what the test did
//! (lines in, deliveries out, registered clients, rooms, a slow consumer cut, a flood
//! paused), and the fan-out latency percentiles are there once deliveries were written.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use chatd_proto::{Reply, StatName, reason};
use socket2::{Domain, Socket, Type};

use crate::support::{DEADLINE, TestClient, TestServer};

/// Asks for `STATS` and reads the answer: each figure by name, after checking that every
/// documented name came, in the documented order, and nothing else.
pub fn stats(client: &mut TestClient) -> HashMap<String, u64> {
    client.send("STATS");
    let mut names = Vec::new();
    let mut figures = HashMap::new();
    loop {
        let line = client.recv();
        match Reply::parse(&line) {
            Ok(Reply::Stat { name, value }) => {
                names.push(name.clone());
                figures.insert(name.as_str().to_owned(), value);
            }
            Ok(Reply::EndStats) => break,
            _ => panic!("not a STATS line: {line:?}"),
        }
    }
    assert_eq!(names, StatName::KNOWN);
    figures
}

#[test]
fn issue_14_stats_is_for_registered_clients_ignores_its_arguments_and_has_help() {
    let server = TestServer::start();
    let mut client = server.connect();
    client.send("HELP stats");
    client.expect("HELP STATS                 the server's load: STATS <name> <value> lines");
    client.expect("END HELP");
    client.send("STATS");
    client.expect_err("NOT_REGISTERED");
    client.send("stats now please");
    client.expect_err("NOT_REGISTERED");
    client.send("NICK alice");
    client.expect("OK NICK alice");
    client.send("stats now please");
    let mut lines = 0;
    while client.recv() != "END STATS" {
        lines += 1;
    }
    assert_eq!(lines, StatName::KNOWN.len());
    // The answer is complete and nothing follows it.
    client.expect_nothing_more();
}

#[test]
fn issue_14_stats_counts_the_lines_and_deliveries_of_a_broadcast() {
    const CLIENTS: usize = 4;
    const MESSAGES: usize = 50;
    let server = TestServer::start();
    let mut clients: Vec<TestClient> = (0..CLIENTS)
        .map(|n| server.client(&format!("c{n}")))
        .collect();
    for client in &mut clients {
        client.barrier();
    }
    clients[0].send_numbered_all(MESSAGES, 100);
    for client in &mut clients[1..] {
        client.expect_numbered_all("c0", MESSAGES);
        // After the deliveries were written: their latency is recorded by then.
        client.barrier();
    }
    let figures = stats(&mut clients[0]);
    assert_eq!(figures["connections"], CLIENTS as u64, "{figures:?}");
    assert_eq!(figures["registered"], CLIENTS as u64, "{figures:?}");
    assert_eq!(figures["rooms"], 0, "{figures:?}");
    // Every ALL, NICK and PING that ran; the STATS line counts once its turn is over.
    assert!(
        figures["lines_in"] >= (MESSAGES + CLIENTS) as u64,
        "{figures:?}"
    );
    // Announcements are not deliveries: these are exactly the ALL lines, once per recipient.
    assert_eq!(
        figures["deliveries_out"],
        (MESSAGES * (CLIENTS - 1)) as u64,
        "{figures:?}"
    );
    assert!(
        figures["lines_written"] >= (MESSAGES * (CLIENTS - 1)) as u64,
        "{figures:?}"
    );
    assert!(figures["write_calls"] > 0, "{figures:?}");
    assert_eq!(figures["slow_consumers_cut"], 0, "{figures:?}");
    assert_eq!(figures["flood_pauses"], 0, "{figures:?}");
    // The peak is sampled (at least once a second, and by this STATS): at least what is
    // queued now.
    assert!(
        figures["queued_bytes"] <= figures["queued_bytes_peak"],
        "{figures:?}"
    );
    let (p50, p99) = (
        figures["fanout_latency_p50_us"],
        figures["fanout_latency_p99_us"],
    );
    assert!(0 < p99 && p50 <= p99, "{figures:?}");
    // Anything near a second would be a unit mistake on loopback, not a slow machine.
    assert!(p99 < 5_000_000, "{figures:?}");
}

#[test]
fn issue_14_stats_counts_the_rooms_that_exist() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    alice.send("JOIN #tea");
    alice.barrier();
    bob.send("JOIN #tea");
    bob.send("JOIN #cake");
    bob.barrier();
    // Takes `JOIN #tea bob` off alice's stream.
    alice.barrier();
    assert_eq!(stats(&mut alice)["rooms"], 2);
    bob.send("PART #cake");
    bob.barrier();
    assert_eq!(stats(&mut alice)["rooms"], 1);
}

/// A client that reads nothing, with a small receive buffer from the start, so that what the
/// server sends it backs up into its queue soon.
fn non_reader(addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let stream: TcpStream = socket.into();
    // A server that stopped reading must fail the test, not hang it in a write.
    stream.set_write_timeout(Some(DEADLINE)).unwrap();
    stream
}

#[test]
fn issue_14_stats_counts_a_slow_consumer_cut() {
    let server = TestServer::with(|c| c.send_queue = 64 * 1024);
    let mut watcher = server.client("watcher");
    let mut sloth = non_reader(server.addr);
    // About 30 MB of answers to 100 KB of questions: far more than its queue and the
    // sockets' buffers hold. Once it is cut, what it still writes may be refused.
    let mut flood = String::from("NICK sloth\n");
    flood.push_str(&"HELP\n".repeat(20_000));
    let _ = sloth.write_all(flood.as_bytes());
    watcher.expect("JOIN sloth");
    watcher.expect(&format!("QUIT sloth {}", reason::SLOW_CONSUMER));
    let figures = stats(&mut watcher);
    assert_eq!(figures["slow_consumers_cut"], 1, "{figures:?}");
    assert_eq!(figures["registered"], 1, "{figures:?}");
}

#[test]
fn issue_14_stats_counts_the_pauses_of_flood_control() {
    let server = TestServer::with(|c| {
        c.rate = 100;
        c.burst = 5;
    });
    let mut flooder = server.client("flooder");
    assert_eq!(stats(&mut flooder)["flood_pauses"], 0);
    // Twenty lines at once against a burst of five: paused at least once, nothing lost.
    let pings: String = (0..20).map(|n| format!("PING {n}\n")).collect();
    flooder.send_raw(pings.as_bytes());
    for n in 0..20 {
        flooder.expect(&format!("PONG {n}"));
    }
    let figures = stats(&mut flooder);
    assert!(figures["flood_pauses"] >= 1, "{figures:?}");
}
