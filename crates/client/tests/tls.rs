//! `chat --tls` and `--ca` (issue 18) against a real server's TLS port (the testkit's
//! `TestPki`: a CA of the test's own, a certificate for `localhost` and `127.0.0.1`): the
//! full-screen client's network side and `chat --plain` chat over TLS; a certificate that
//! the roots do not vouch for is refused with a clear reason and retried only after the
//! longest back-off; and a file's `https://` link, from a server whose web listener speaks
//! HTTPS, is sent and fetched trusting `--ca`.

mod common;

use std::fs;

use chatd_client::app::Conn;
use chatd_client::event::{FileEvent, FileJob};
use chatd_client::net::{self, NetConfig};
use chatd_client::transfer::Transfers;
use chatd_client::trust::Trust;
use chatd_testkit::{DEADLINE, TestPki, TestServer};
use common::{Client, PlainChat};

/// How `chat --tls --ca <ca>` reaches `server`'s TLS port, by the IP address its certificate
/// names.
fn over_tls(server: &TestServer, ca: &TestPki) -> NetConfig {
    NetConfig {
        tls: true,
        trust: Trust::ca_file(&ca.ca_pem_path()).unwrap(),
        ..NetConfig::new(server.tls_addr().to_string())
    }
}

#[test]
fn issue_18_the_client_chats_over_tls_trusting_the_ca() {
    let ca = TestPki::new();
    let server = TestServer::with_tls(&ca, |_| {});
    let mut bob = server.client("bob");
    let mut alice = Client::start_with(over_tls(&server, &ca), "alice");
    alice.online();
    bob.expect("JOIN alice");
    alice.enter("hello over tls");
    bob.expect("ALL alice hello over tls");
    bob.send("MSG alice psst");
    alice.until("bob's MSG", |c| c.has_line("bob", "*bob* psst"));
}

#[test]
fn issue_18_plain_mode_chats_over_tls_by_host_name_with_ca() {
    let ca = TestPki::new();
    let server = TestServer::with_tls(&ca, |_| {});
    let mut bob = server.client("bob");
    let ca_path = ca.ca_pem_path();
    let flags = ["--tls", "--ca", ca_path.to_str().unwrap()];
    let addr = format!("localhost:{}", server.tls_addr().port());
    let mut alice = PlainChat::spawn_at(&addr, "alice", &flags, None);
    alice.expect_line("OK NICK alice");
    bob.expect("JOIN alice");
    alice.type_line("hi from a script");
    bob.expect("ALL alice hi from a script");
    bob.send("ALL hi alice");
    alice.expect("ALL bob hi alice");
    alice.close_stdin();
    alice.expect("BYE");
    assert!(alice.wait().success());
}

#[test]
fn issue_18_a_certificate_from_another_ca_is_refused_clearly_and_not_retried_soon() {
    let ca = TestPki::new();
    let other = TestPki::new();
    let server = TestServer::with_tls(&ca, |_| {});
    let wrong = over_tls(&server, &other);

    let error = net::connect(&wrong).err().expect("a refused handshake");
    assert!(net::refused(&error), "{error:?}");
    let told = error.to_string();
    assert!(told.contains("127.0.0.1"), "{told}");
    assert!(told.contains("unknown issuer"), "{told}");
    assert!(
        told.contains(other.ca_pem_path().to_str().unwrap()),
        "{told}"
    );
    // Not a certificate matter: the usual back-off.
    let plain_port = NetConfig {
        tls: true,
        ..NetConfig::new("127.0.0.1:1")
    };
    let unreachable = net::connect(&plain_port)
        .err()
        .expect("nothing listens on port 1");
    assert!(!net::refused(&unreachable), "{unreachable:?}");
    // The first wait after a refusal is the longest one; after a failure that may mend, the
    // shortest.
    assert_eq!(wrong.backoff_after(1, &error), wrong.backoff_max);
    assert_eq!(wrong.backoff_after(1, &unreachable), wrong.backoff_initial);

    let mut alice = Client::start_with(wrong, "alice");
    alice.until("the refusal", |c| {
        matches!(c.app.conn, Conn::Waiting { .. })
    });
    let lost = alice.app.tabs[0].lines().back().unwrap().body.to_string();
    assert!(lost.contains("unknown issuer"), "{lost}");

    // `chat --plain` ends at once, saying why.
    let other_path = other.ca_pem_path();
    let flags = ["--tls", "--ca", other_path.to_str().unwrap()];
    let addr = format!("localhost:{}", server.tls_addr().port());
    let chat = PlainChat::spawn_at(&addr, "alice", &flags, None);
    chat.expect_note("the TLS certificate of localhost is refused: unknown issuer");
    assert!(!chat.wait().success());
}

#[test]
fn issue_18_a_files_https_link_is_fetched_trusting_the_ca() {
    let ca = TestPki::new();
    let server = TestServer::with_tls(&ca, |config| {
        config.http = Some("127.0.0.1:0".parse().unwrap());
    });
    let mut bob = server.connect();
    bob.send("CAP files");
    bob.expect("OK CAP files");
    bob.send("NICK bob");
    bob.expect("OK NICK bob");
    // A plain chat connection; the files go over the web listener's HTTPS, trusting `--ca`.
    let plain_with_ca = NetConfig {
        trust: Trust::ca_file(&ca.ca_pem_path()).unwrap(),
        ..NetConfig::new(server.addr.to_string())
    };
    let mut alice = Client::start_with(plain_with_ca, "alice");
    alice.online();
    bob.expect("JOIN alice");
    let folder = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..100_000u32).map(|n| (n % 251) as u8).collect();
    fs::write(folder.path().join("notes.txt"), &bytes).unwrap();
    alice.enter(&format!(
        "/send {}",
        folder.path().join("notes.txt").display()
    ));
    alice.until("the upload's end", |c| {
        c.has_line("lobby", "-!- sent notes.txt (100.0 kB)")
    });
    let file = bob.recv();
    assert!(file.starts_with("FILE "), "{file:?}");
    let https = file
        .split(' ')
        .find(|word| word.starts_with("https://"))
        .unwrap_or_else(|| panic!("no https link in {file:?}"))
        .to_owned();

    let download = |trust: &Trust, to: &str| {
        let (report, events) = crossbeam_channel::unbounded();
        let mut transfers = Transfers::new(move |event| report.send(event).is_ok(), trust);
        transfers.start(FileJob::Download {
            id: 1,
            url: https.clone(),
            size: 100_000,
            name: Some("notes.txt".to_owned()),
            to: Some(folder.path().join(to).display().to_string()),
        });
        let result = loop {
            match events.recv_timeout(DEADLINE).expect("the download's end") {
                FileEvent::Saved { result, .. } => break result,
                _ => continue,
            }
        };
        transfers.stop();
        result
    };
    fs::create_dir(folder.path().join("trusted")).unwrap();
    let saved = download(&Trust::ca_file(&ca.ca_pem_path()).unwrap(), "trusted").unwrap();
    assert_eq!(fs::read(saved).unwrap(), bytes);
    let other = TestPki::new();
    fs::create_dir(folder.path().join("refused")).unwrap();
    let refused = download(&Trust::ca_file(&other.ca_pem_path()).unwrap(), "refused");
    let why = refused.unwrap_err();
    assert!(
        why.contains("unknown issuer") && why.contains("127.0.0.1"),
        "{why}"
    );
}
