//! Flood control that prices work (issue 13): a line costs its bytes as well as a token
//! (`--byte-rate`, `--byte-burst`), a command costs the bytes of its answer, and the
//! connections of one address share one budget (`--ip-rate`, `--ip-byte-rate`) while another
//! address goes on unhindered. Each test times a flood against the floor its budget sets:
//! without the pricing, each flood ran in a few milliseconds.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use crate::support::{DEADLINE, TestClient, TestServer};

/// Lines per second and per client high enough never to be what slows a test down.
const UNLIMITED_LINES: u32 = 1_000_000;

/// How long `bytes` take at `per_second` once `burst` of them went at once; a test asserts at
/// least most of it, which a loaded machine can only lengthen.
fn floor(bytes: usize, burst: usize, per_second: usize) -> Duration {
    Duration::from_secs_f64(bytes.saturating_sub(burst) as f64 / per_second as f64).mul_f64(0.75)
}

#[test]
fn issue_13_a_flood_of_long_lines_is_slowed_by_its_bytes() {
    const BYTE_RATE: usize = 256 * 1024;
    const LINES: usize = 128;
    let server = TestServer::with(|c| {
        c.rate = UNLIMITED_LINES;
        c.burst = UNLIMITED_LINES;
        c.byte_rate = BYTE_RATE;
        c.byte_burst = BYTE_RATE;
    });
    let mut listener = server.client("listener");
    let mut flooder = server.client("flooder");
    listener.barrier();

    // 128 lines of 4 KiB, 512 KiB: far within the line rate, twice the byte burst.
    let payload = "x".repeat(4000);
    let flood: String = (0..LINES)
        .map(|n| format!("ALL {n:03} {payload}\n"))
        .collect();
    let start = Instant::now();
    flooder.send_raw(flood.as_bytes());
    for n in 0..LINES {
        let line = listener.recv();
        assert_eq!(
            line,
            format!("ALL flooder {n:03} {payload}"),
            "lost or reordered"
        );
    }
    let took = start.elapsed();
    let least = floor(flood.len(), BYTE_RATE, BYTE_RATE);
    assert!(
        took >= least,
        "{} bytes in {took:?}: not slowed to {BYTE_RATE} B/s",
        flood.len()
    );
    // Slowed, not refused: the flooder is still here and answers.
    flooder.barrier();
    listener.expect_nothing_more();
}

#[test]
fn issue_13_a_command_costs_the_bytes_of_its_answer() {
    const BYTE_RATE: usize = 32 * 1024;
    const BYTE_BURST: usize = 8 * 1024;
    const ASKS: usize = 40;
    let server = TestServer::with(|c| {
        c.rate = UNLIMITED_LINES;
        c.burst = UNLIMITED_LINES;
        c.byte_rate = BYTE_RATE;
        c.byte_burst = BYTE_BURST;
    });
    let mut asker = server.connect();
    // What one HELP produces, read once: about a kilobyte for five bytes sent.
    asker.send("HELP");
    let mut answer = 0;
    loop {
        let line = asker.recv();
        answer += line.len() + 1;
        if line == "END HELP" {
            break;
        }
    }

    let start = Instant::now();
    asker.send_raw("HELP\n".repeat(ASKS).as_bytes());
    let mut ends = 0;
    while ends < ASKS {
        if asker.recv() == "END HELP" {
            ends += 1;
        }
    }
    let took = start.elapsed();
    let least = floor(ASKS * answer, BYTE_BURST, BYTE_RATE);
    assert!(
        took >= least,
        "{ASKS} HELPs of {answer} bytes each in {took:?}: their answers were not charged"
    );
}

#[test]
fn issue_13_connections_from_one_address_share_its_budget_and_another_address_is_not_slowed() {
    const IP_RATE: u32 = 400;
    const CONNECTIONS: usize = 4;
    const PINGS: usize = 300;
    let server = TestServer::with(|c| {
        c.rate = UNLIMITED_LINES;
        c.burst = UNLIMITED_LINES;
        c.ip_rate = IP_RATE;
        c.ip_byte_rate = 0;
        // Given explicitly, as `--ip-rate` on the command line: loopback counts as a group.
        c.ip_rate_loopback = true;
    });
    let mut flooders: Vec<TestClient> = (0..CONNECTIONS).map(|_| server.connect()).collect();

    // Each sends 300 lines, within its own rate; together 1,200, over the burst of 800.
    let start = Instant::now();
    for flooder in &mut flooders {
        let pings: String = (0..PINGS).map(|n| format!("PING {n}\n")).collect();
        flooder.send_raw(pings.as_bytes());
    }
    // Another address is its own group: it is answered at once, mid-flood.
    let mut other = RawClient::connect_from("127.0.0.2", server.addr);
    other.send("PING other");
    other.expect("PONG other");
    let other_took = start.elapsed();
    for flooder in &mut flooders {
        for n in 0..PINGS {
            flooder.expect(&format!("PONG {n}"));
        }
    }
    let took = start.elapsed();
    let lines = CONNECTIONS * PINGS;
    let burst = 2 * IP_RATE as usize;
    let least = floor(lines, burst, IP_RATE as usize);
    assert!(
        took >= least,
        "{lines} lines from one address in {took:?}: not slowed to {IP_RATE}/s"
    );
    assert!(
        other_took < took / 2,
        "the other address was answered {other_took:?} into a {took:?} flood"
    );
}

/// A bare line client whose connection comes from a chosen loopback address (the testkit's
/// connects from 127.0.0.1).
struct RawClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl RawClient {
    fn connect_from(local: &str, server: SocketAddr) -> RawClient {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let local: SocketAddr = format!("{local}:0").parse().unwrap();
        socket.bind(&local.into()).unwrap();
        socket.connect(&server.into()).unwrap();
        let stream: TcpStream = socket.into();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut client = RawClient {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        let hello = client.recv();
        assert!(hello.starts_with("HELLO "), "{hello}");
        client
    }

    fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    fn recv(&mut self) -> String {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 && line.ends_with('\n') => {
                line.pop();
                line
            }
            Ok(_) => panic!("the server closed the connection after {line:?}"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("no line within {DEADLINE:?}")
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }

    fn expect(&mut self, expected: &str) {
        assert_eq!(self.recv(), expected);
    }
}
