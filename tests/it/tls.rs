//! The line protocol over TLS (issue 18): TLS and plain clients in one client table and one
//! order, bad handshakes that disturb no one, and a large burst through TLS records.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::thread;
use std::time::Duration;

use chatd_testkit::tls::{TestPki, TlsClient, Validity};
use chatd_testkit::{Config, DEADLINE, TestClient, TestServer};
use rustls::pki_types::ServerName;
use socket2::{Domain, Socket, Type};

#[test]
fn issue_18_tls_and_plain_clients_chat_in_one_order() {
    let pki = TestPki::new();
    let server = TestServer::with_tls(&pki, |_| {});
    let mut alice = server.tls_client(&pki, "alice");
    let mut bob = server.client("bob");
    let mut carol = server.tls_client(&pki, "carol");
    let mut dave = server.client("dave");
    for _ in 0..2 {
        alice.barrier();
        bob.barrier();
        carol.barrier();
        dave.barrier();
    }
    for n in 0..50 {
        alice.send(&format!("ALL tls {n}"));
        bob.send(&format!("ALL plain {n}"));
    }
    // The two watchers, one of each kind, see all 100 lines in one order.
    let by_carol: Vec<String> = (0..100).map(|_| carol.recv()).collect();
    let by_dave: Vec<String> = (0..100).map(|_| dave.recv()).collect();
    assert_eq!(by_carol, by_dave);
    assert!(by_carol.contains(&"ALL alice tls 49".to_owned()));
    assert!(by_carol.contains(&"ALL bob plain 49".to_owned()));
    assert_eq!(alice.barrier().len(), 50, "alice gets bob's lines");
    assert_eq!(bob.barrier().len(), 50, "bob gets alice's lines");
    // A direct message crosses from plain to TLS and back.
    bob.send("MSG alice psst");
    alice.expect("MSG bob psst");
    alice.send("MSG bob yes?");
    bob.expect("MSG alice yes?");
}

#[test]
fn issue_18_garbage_and_plain_lines_on_the_tls_port_are_closed_and_disturb_no_one() {
    let pki = TestPki::new();
    let server = TestServer::with_tls(&pki, |_| {});
    let mut alice = server.tls_client(&pki, "alice");
    let mut bob = server.client("bob");
    alice.barrier();
    for bad in [
        &b"NICK mallory\n"[..],
        &[0xff; 300][..],
        b"\x16\x03\x01\x00\x05hello",
    ] {
        let mut stranger = TcpStream::connect(server.tls_addr()).unwrap();
        stranger.set_read_timeout(Some(DEADLINE)).unwrap();
        stranger.write_all(bad).unwrap();
        // A TLS alert at most, then the end: never a line of the protocol in clear.
        let mut answer = Vec::new();
        stranger.read_to_end(&mut answer).unwrap();
        assert!(answer.len() < 16, "an alert at most, not {answer:?}");
        assert!(!answer.windows(3).any(|w| w == b"ERR"), "{answer:?}");
    }
    bob.send("ALL still here");
    alice.expect("ALL bob still here");
    alice.send("MSG bob and me");
    bob.expect("MSG alice and me");
}

#[test]
fn issue_18_a_client_refusing_the_certificate_disturbs_no_one() {
    let expired = TestPki::with_server_cert(Validity::Expired);
    let server = TestServer::with_tls(&expired, |_| {});
    let mut bob = server.client("bob");
    let refused = TlsClient::try_connect(server.tls_addr(), expired.client_config())
        .err()
        .expect("an expired certificate is refused");
    assert!(refused.to_string().contains("expired"), "{refused}");
    // A client of another CA refuses a current certificate too.
    let current = TestPki::new();
    let server_of_current = TestServer::with_tls(&current, |_| {});
    let other = TestPki::new();
    let refused = TlsClient::try_connect(server_of_current.tls_addr(), other.client_config())
        .err()
        .expect("an unknown issuer is refused");
    assert!(refused.to_string().contains("UnknownIssuer"), "{refused}");
    bob.send("PING still");
    bob.expect("PONG still");
}

#[test]
fn issue_18_a_stalled_handshake_holds_no_worker_and_meets_the_register_timeout() {
    let pki = TestPki::new();
    let server = TestServer::with_tls(&pki, |config| {
        config.workers = 1;
        config.register_timeout = Duration::from_secs(1);
    });
    // Half a ClientHello, then silence.
    let mut stalled = TcpStream::connect(server.tls_addr()).unwrap();
    stalled.write_all(b"\x16\x03\x01\x02\x00\x01").unwrap();
    let mut silent = TcpStream::connect(server.tls_addr()).unwrap();
    // The one worker serves everyone else meanwhile.
    let mut alice = server.tls_client(&pki, "alice");
    let mut bob = server.client("bob");
    alice.barrier();
    bob.send("ALL meanwhile");
    alice.expect("ALL bob meanwhile");
    for stranger in [&mut stalled, &mut silent] {
        stranger.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut rest = Vec::new();
        // Closed by the register timeout, well within the deadline.
        stranger.read_to_end(&mut rest).unwrap();
    }
}

#[test]
fn issue_18_a_burst_larger_than_every_buffer_arrives_whole_and_in_order() {
    let pki = TestPki::new();
    // A queue that holds it all: the test's reader decrypts slower than the server sends.
    let server = TestServer::with_tls(&pki, |config| config.send_queue = 16 << 20);
    let mut reader = server.tls_client(&pki, "reader");
    let mut sender = server.client("sender");
    reader.barrier();
    // 3 MiB, read while it is sent: far more than the sockets' and rustls's buffers, so the
    // writer waits for the reader, with ciphertext left over, many times.
    let reading = thread::spawn(move || {
        for n in 0..3000 {
            let line = reader.recv();
            assert!(
                line.starts_with(&format!("ALL sender {n} ")),
                "{n}: {line:.40}"
            );
        }
        reader
    });
    sender.send_numbered_all(3000, 1000);
    let mut reader = reading.join().unwrap();
    assert!(reader.barrier().is_empty());
}

#[test]
fn issue_18_a_tls_client_that_reads_nothing_is_cut_alone() {
    let pki = TestPki::new();
    // A queue that holds it all: the stalled client is cut by the write timeout, once
    // nothing could be written to it for that long, not by its queue.
    let server = TestServer::with_tls(&pki, |config| {
        config.send_queue = 16 << 20;
        config.write_timeout = Duration::from_millis(500);
    });
    // A small receive buffer (autotuning would take the whole flood in): the server's
    // socket fills, then rustls's buffer, then the queue.
    let tcp = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    tcp.connect(&server.tls_addr().into()).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut stalled = TlsClient::over(tcp.into(), name, pki.client_config()).unwrap();
    stalled.recv();
    stalled.send("NICK stalled");
    stalled.expect("OK NICK stalled");
    let mut other = server.tls_client(&pki, "other");
    let mut sender = server.client("sender");
    stalled.barrier();
    other.barrier();
    // 6 MiB for each: more than the stalled client's queue and buffers hold. The stalled
    // one's cut may be announced in the middle of the flood (a slow test run takes longer
    // than the write timeout): the other takes the announcement wherever it comes.
    const QUIT: &str = "QUIT stalled write timeout";
    let reading = thread::spawn(move || {
        let mut heard_quit = false;
        let mut n = 0;
        while n < 6000 {
            let line = other.recv();
            if line == QUIT && !heard_quit {
                heard_quit = true;
                continue;
            }
            assert!(
                line.starts_with(&format!("ALL sender {n} ")),
                "{n}: {line:.40}"
            );
            n += 1;
        }
        (other, heard_quit)
    });
    sender.send_numbered_all(6000, 1000);
    let (mut other, heard_quit) = reading.join().unwrap();
    // The stalled one is cut once nothing could be written to it for the write timeout;
    // everyone else goes on, and hears it leave.
    if !heard_quit {
        other.expect(QUIT);
    }
    let mut seen = 0;
    while let Some(line) = stalled.try_recv() {
        assert!(line.starts_with("ALL sender "), "{line:.40}");
        seen += 1;
    }
    assert!(seen < 6000, "the stalled client got everything");
    sender.send("ALL after");
    // The sender's barrier: its line is queued for the others before their own barrier.
    sender.barrier();
    assert_eq!(other.barrier(), ["ALL sender after"]);
}

/// This machine's address on its default route: a peer that is not loopback.
fn non_loopback_ip() -> IpAddr {
    let probe = UdpSocket::bind("0.0.0.0:0").unwrap();
    // No packet is sent: connecting a UDP socket only picks the route and its source.
    probe
        .connect("192.0.2.1:9")
        .expect("a default route, whose source address is a non-loopback one");
    let ip = probe.local_addr().unwrap().ip();
    assert!(!ip.is_loopback() && !ip.is_unspecified(), "{ip}");
    ip
}

#[test]
fn issue_18_passwords_from_another_machine_need_tls_or_the_operators_leave() {
    let pki = TestPki::new();
    let ip = non_loopback_ip();
    let every_interface = |config: &mut Config| {
        config.addr = "0.0.0.0:0".parse().unwrap();
        config.tls_addr = Some("0.0.0.0:0".parse().unwrap());
    };
    let server = TestServer::with_tls(&pki, every_interface);
    let plain_addr = SocketAddr::new(ip, server.addr.port());
    let mut remote = TestClient::connect_raw(plain_addr);
    remote.recv();
    remote.send("NICK alice");
    remote.expect("OK NICK alice");
    for command in [
        "REGISTER correct-horse",
        "LOGIN alice correct-horse",
        "PASSWORD correct-horse battery-staple",
        "UNREGISTER correct-horse",
    ] {
        remote.send(command);
        remote.expect_err("TLS_REQUIRED");
    }
    // Over TLS from the same address, and over plain TCP from loopback, they are taken.
    let tls_addr = SocketAddr::new(ip, server.tls_addr().port());
    let mut secure = TlsClient::connect_as(tls_addr, "localhost", pki.client_config());
    secure.recv();
    secure.send("NICK carol");
    secure.expect("OK NICK carol");
    secure.send("REGISTER correct-horse");
    secure.expect("OK REGISTER carol");
    let mut local = TestClient::connect_raw(SocketAddr::new(
        Ipv4Addr::LOCALHOST.into(),
        server.addr.port(),
    ));
    local.recv();
    local.send("NICK dave");
    local.expect("OK NICK dave");
    local.send("REGISTER correct-horse");
    local.expect("OK REGISTER dave");
    // The operator's leave lets them through everywhere.
    let allowing = TestServer::with(|config| {
        config.addr = "0.0.0.0:0".parse().unwrap();
        config.allow_plain_passwords = true;
    });
    let mut remote = TestClient::connect_raw(SocketAddr::new(ip, allowing.addr.port()));
    remote.recv();
    remote.send("NICK erin");
    remote.expect("OK NICK erin");
    remote.send("REGISTER correct-horse");
    remote.expect("OK REGISTER erin");
}

#[test]
fn issue_18_handshakes_count_against_the_per_address_limits() {
    let pki = TestPki::new();
    let server = TestServer::with_tls(&pki, |config| {
        // Given explicitly, so that loopback is limited too.
        config.max_per_ip = 2;
        config.max_per_ip_loopback = true;
    });
    // Two connections that never start their handshake hold the address's two places.
    let _first = TcpStream::connect(server.tls_addr()).unwrap();
    let _second = TcpStream::connect(server.tls_addr()).unwrap();
    let mut third = TcpStream::connect(server.tls_addr()).unwrap();
    third.set_read_timeout(Some(DEADLINE)).unwrap();
    // Refused before any handshake: closed, with no line in clear.
    let mut answer = Vec::new();
    third.read_to_end(&mut answer).unwrap();
    assert!(answer.is_empty(), "{answer:?}");
    let refused = TlsClient::try_connect(server.tls_addr(), pki.client_config());
    assert!(refused.is_err(), "a handshake past the limit");
}
