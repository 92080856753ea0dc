//! The line protocol over TLS (issue 18): TLS and plain clients in one client table and one
//! order, bad handshakes that disturb no one, and a large burst through TLS records.

use chatd_testkit::TestServer;
use chatd_testkit::tls::TestPki;

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
