//! Refusals at the door (issue 13): the connect rate per address (`--connect-rate`), which a
//! churn of short connections cannot escape, and refusal log lines limited per address.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};

use socket2::{Domain, Socket, Type};

use crate::support::{ChatdProcess, DEADLINE, TestClient, TestServer};

#[test]
fn issue_13_a_churn_of_connects_from_one_address_is_limited_by_the_connect_rate() {
    // One a second in bursts of two; given explicitly, so loopback counts.
    let server = TestServer::with(|c| {
        c.connect_rate = 1;
        c.connect_rate_loopback = true;
    });
    // Each closes before the next: never more than one open at once.
    for _ in 0..2 {
        let mut client = server.connect();
        client.send("QUIT");
        client.expect("BYE");
        client.expect_closed();
    }
    let mut third = TestClient::connect_raw(server.addr);
    assert_eq!(
        third.recv(),
        "ERR TOO_MANY_CONNECTIONS connecting too often from your address (at most 1 new \
         connections a second); try again in a few seconds"
    );
    third.expect_closed();
    // Refused before it had a place (or a writer).
    assert_eq!(server.stats().load.connections, 0);
}

#[test]
fn issue_13_loopback_clients_are_not_limited_by_the_default_connect_rate() {
    let server = TestServer::start();
    // Far more than the default burst (40) at once.
    let clients: Vec<TestClient> = (0..100).map(|_| server.connect()).collect();
    assert_eq!(server.stats().load.connections, clients.len());
}

/// Connects to `server` from `local` (any 127.0.0.0/8 address) and returns the first line the
/// server sends.
fn first_line_from(local: Ipv4Addr, server: SocketAddr) -> String {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((local, 0)).into()).unwrap();
    socket.connect(&server.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line
}

#[test]
fn issue_13_refusals_log_one_line_per_address_per_interval() {
    let mut chatd = ChatdProcess::spawn(&["--max-clients", "1"], None);
    let mut inside = TestClient::connect_raw(chatd.addr);
    assert!(inside.recv().starts_with("HELLO "));
    for _ in 0..20 {
        let mut refused = TestClient::connect_raw(chatd.addr);
        refused.expect_err("SERVER_FULL");
        refused.expect_closed();
    }
    // Another address has a line of its own, which is also the end of the lines about the
    // first one.
    let other = first_line_from(Ipv4Addr::new(127, 0, 0, 2), chatd.addr);
    assert!(other.starts_with("ERR SERVER_FULL "), "{other}");
    let lines = chatd.log_until("127.0.0.2:");
    let refusals: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("127.0.0.1:") && line.contains("refused"))
        .collect();
    assert_eq!(refusals.len(), 1, "{lines:#?}");
    assert!(
        refusals[0].ends_with(": refused, server full (1 connections)"),
        "{refusals:?}"
    );
    inside.expect_nothing_more();
}
