//! TLS on the web listener and its reload (issue 18): with `--tls-cert` the page, `/ws` and
//! the files are served over HTTPS only; `SIGHUP` gives new handshakes a renewed certificate
//! while open connections chat on.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use chatd_testkit::tls::{TestPki, TlsClient, Validity};
use chatd_testkit::{DEADLINE, TestServer};
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};
use tungstenite::Message;

use crate::support::ChatdProcess;

/// An HTTPS client that trusts `pki`'s CA only, every answer read within the deadline.
fn https(pki: &TestPki) -> ureq::Agent {
    let ca = ureq::tls::Certificate::from_pem(&std::fs::read(pki.ca_pem_path()).unwrap())
        .unwrap()
        .to_owned();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![ca])))
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(DEADLINE))
        .build()
        .into()
}

fn tls_stream(addr: SocketAddr, pki: &TestPki) -> StreamOwned<ClientConnection, TcpStream> {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(DEADLINE)).unwrap();
    let name = ServerName::IpAddress(addr.ip().into());
    let conn = ClientConnection::new(pki.client_config(), name).unwrap();
    StreamOwned::new(conn, tcp)
}

#[test]
fn issue_18_the_page_ws_and_files_are_served_over_https_only() {
    let pki = TestPki::new();
    let server = TestServer::with_tls(&pki, |config| {
        config.http = Some("127.0.0.1:0".parse().unwrap());
    });
    let web = server.web_addr();
    let page = https(&pki).get(&format!("https://{web}/")).call().unwrap();
    assert_eq!(page.status(), 200);
    let mut body = page.into_body();
    assert!(body.read_to_string().unwrap().contains("<html"));
    // Plain HTTP on the HTTPS port gets no page, only the end of the connection.
    let mut plain = TcpStream::connect(web).unwrap();
    plain.set_read_timeout(Some(DEADLINE)).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    // wss:// carries the protocol, in one chat with the TLS port's clients.
    let url = format!("wss://{web}/ws");
    let (mut ws, _) = tungstenite::client(url.as_str(), tls_stream(web, &pki)).unwrap();
    let mut next = || loop {
        match ws.read().unwrap() {
            Message::Text(text) => return text.to_string(),
            _ => continue,
        }
    };
    assert!(next().starts_with("HELLO "));
    let mut alice = server.tls_client(&pki, "alice");
    alice.barrier();
    ws.send(Message::text("NICK bob")).unwrap();
    let ok = loop {
        match ws.read().unwrap() {
            Message::Text(text) => break text.to_string(),
            _ => continue,
        }
    };
    assert_eq!(ok, "OK NICK bob");
    ws.send(Message::text("MSG alice over wss")).unwrap();
    alice.expect("JOIN bob");
    alice.expect("MSG bob over wss");
    // A file's links are https://, and its bytes come back over HTTPS.
    alice.send("UPLOAD bob 5 note.txt");
    let upload = alice.recv();
    let url = upload.strip_prefix("OK UPLOAD ").expect("OK UPLOAD");
    assert!(url.starts_with(&format!("https://{web}/")), "{url}");
    let put = https(&pki).put(url).send(&b"hello"[..]).unwrap();
    assert_eq!(put.status(), 201);
    let download = alice.recv();
    let download = download.strip_prefix("OK FILE ").expect("OK FILE");
    let mut got = https(&pki).get(download).call().unwrap();
    assert_eq!(got.body_mut().read_to_vec().unwrap(), b"hello");
    // The metrics count each connection by the way it came.
    let mut metrics = https(&pki)
        .get(&format!("https://{web}/metrics"))
        .call()
        .unwrap();
    let metrics = metrics.body_mut().read_to_string().unwrap();
    for transport in ["tls", "websocket"] {
        let line = format!("chatd_connections{{transport=\"{transport}\"}} 1\n");
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
}

#[test]
fn issue_18_sighup_gives_new_handshakes_the_renewed_certificate_and_drops_no_one() {
    let mut pki = TestPki::new();
    let first = pki.server_cert().clone();
    let (cert, key) = (pki.cert_path(), pki.key_path());
    let mut chatd = ChatdProcess::spawn(
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--tls-addr",
            "127.0.0.1:0",
        ],
        None,
    );
    let listening = chatd.expect_log("listening with TLS on ");
    let tls_addr: SocketAddr = listening
        .rsplit("listening with TLS on ")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut old = TlsClient::connect(tls_addr, pki.client_config());
    assert_eq!(old.server_cert(), first);
    old.recv();
    old.send("NICK old");
    old.expect("OK NICK old");
    // A renewal writes both files; the signal makes the server read them.
    let renewed = pki.issue(Validity::Current);
    assert_ne!(renewed, first);
    chatd.signal(libc::SIGHUP);
    chatd.expect_log("SIGHUP: TLS certificate");
    let mut new = TlsClient::connect(tls_addr, pki.client_config());
    assert_eq!(new.server_cert(), renewed);
    new.recv();
    new.send("NICK new");
    new.expect("OK NICK new");
    old.expect("JOIN new");
    old.send("MSG new still here");
    new.expect("MSG old still here");
    // A pair that cannot be read leaves the one in force.
    std::fs::write(&key, "not a key").unwrap();
    chatd.signal(libc::SIGHUP);
    let refused = chatd.expect_log("SIGHUP: TLS certificate not changed");
    assert!(refused.contains("key.pem"), "{refused}");
    let mut third = TlsClient::connect(tls_addr, pki.client_config());
    assert_eq!(third.server_cert(), renewed);
    third.recv();
}
