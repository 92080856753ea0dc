//! Unit tests of `tls`: a client's handshake, lines sealed and opened, records split between
//! reads, and a certificate the client does not trust, against a rustls server on loopback.

use std::io::Read;
use std::net::TcpListener;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

use super::*;
use crate::loadgen::client::IO_TIMEOUT;
use crate::loadgen::pki::{self, RunPki};

/// What the server of one test does once the handshake is done: it gets the session and
/// the socket, and returns what it read.
type Serve = fn(&mut ServerConnection, &mut TcpStream) -> Vec<u8>;

/// A TLS server with `pki`'s certificate for one connection, and the client's endpoint that
/// trusts `trust`.
fn serve(
    pki: &RunPki,
    trust: Arc<ClientConfig>,
    then: Serve,
) -> (TlsEndpoint, JoinHandle<Vec<u8>>) {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.cert_path())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(pki.key_path()).unwrap();
    let config = Arc::new(
        ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut session = ServerConnection::new(config).unwrap();
        while session.is_handshaking() {
            if session.complete_io(&mut socket).is_err() {
                return Vec::new();
            }
        }
        then(&mut session, &mut socket)
    });
    let endpoint = TlsEndpoint {
        addr,
        name: pki::server_name("127.0.0.1").unwrap(),
        config: trust,
    };
    (endpoint, server)
}

fn connect(endpoint: &TlsEndpoint) -> io::Result<(Link, Vec<u8>)> {
    let stream = client::connect(endpoint.addr)?;
    Link::handshake(stream, endpoint, Instant::now() + IO_TIMEOUT)
}

/// 2,000 numbered lines, sealed in one go (many records).
fn numbered_lines() -> Vec<u8> {
    (0..2000)
        .flat_map(|i| format!("ALL x line {i}\n").into_bytes())
        .collect()
}

/// Sends [`numbered_lines`], then reads the client's plaintext until the line `END`.
fn lines_then_read(session: &mut ServerConnection, socket: &mut TcpStream) -> Vec<u8> {
    session.writer().write_all(&numbered_lines()).unwrap();
    while session.wants_write() {
        session.write_tls(socket).unwrap();
    }
    let mut got = Vec::new();
    loop {
        // The client's first lines may have come with its last handshake message.
        let mut chunk = [0u8; 4096];
        while let Ok(n) = session.reader().read(&mut chunk) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
        }
        if got.ends_with(b"END\n") || session.read_tls(socket).unwrap() == 0 {
            break;
        }
        session.process_new_packets().unwrap();
    }
    got
}

#[test]
fn lines_go_both_ways_and_records_split_between_reads_open_whole() {
    let pki = RunPki::new().unwrap();
    let (endpoint, server) = serve(&pki, pki.client_config().unwrap(), lines_then_read);
    let (link, mut plain) = connect(&endpoint).unwrap();
    assert!(link.is_tls());
    // Two batches from the "sender", one of them from another thread: records in order.
    link.write_all(b"ALL first\nALL second\n").unwrap();
    let shared = Arc::new(link);
    let writer = {
        let link = Arc::clone(&shared);
        thread::spawn(move || link.write_all(b"ALL third\nEND\n").unwrap())
    };
    writer.join().unwrap();
    // The server's records arrive in reads of 7 bytes: every record spans several.
    let wanted = numbered_lines();
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut raw = [0u8; 7];
    shared
        .stream()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    while plain.len() < wanted.len() && Instant::now() < deadline {
        let mut socket = shared.stream();
        let n = socket.read(&mut raw).unwrap();
        assert!(n > 0, "the server closed after {} bytes", plain.len());
        assert!(!shared.decrypt(&raw[..n], &mut plain).unwrap());
    }
    assert_eq!(plain, wanted);
    assert_eq!(
        server.join().unwrap(),
        b"ALL first\nALL second\nALL third\nEND\n"
    );
}

#[test]
fn the_set_up_reads_plaintext_lines_over_tls() {
    let pki = RunPki::new().unwrap();
    let (endpoint, server) = serve(&pki, pki.client_config().unwrap(), lines_then_read);
    let (link, pending) = connect(&endpoint).unwrap();
    let mut seen = 0;
    let deadline = Instant::now() + IO_TIMEOUT;
    let rest = client::read_until(&link, pending, deadline, "line 1999", |line| {
        seen += 1;
        Ok(line == b"ALL x line 1999")
    })
    .unwrap();
    assert_eq!((seen, rest.len()), (2000, 0));
    link.write_all(b"END\n").unwrap();
    assert_eq!(server.join().unwrap(), b"END\n");
}

#[test]
fn a_certificate_the_client_does_not_trust_fails_the_handshake_saying_so() {
    let (pki, stranger) = (RunPki::new().unwrap(), RunPki::new().unwrap());
    let (endpoint, server) = serve(&pki, stranger.client_config().unwrap(), lines_then_read);
    let error = connect(&endpoint).unwrap_err().to_string();
    assert!(
        error.contains("refused the server's certificate for 127.0.0.1"),
        "{error}"
    );
    assert!(error.contains("--ca"), "{error}");
    server.join().unwrap();
}
