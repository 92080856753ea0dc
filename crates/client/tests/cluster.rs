//! The client and several nodes of a cluster (issue 19): `--addr` lists the nodes, a
//! connection goes to the first that takes it, and when its node stops the client goes on
//! with another: it takes its nick back there and shows every lobby line it missed once, in
//! order, read from the cluster's stream through the other node. A real `nats-server -js`
//! joins the two in-process nodes. Every wait has a deadline.

mod common;

use chatd_client::app::Conn;
use chatd_client::net::NetConfig;
use chatd_testkit::nats::NatsServer;
use chatd_testkit::{TestClient, TestServer};
use common::{Client, Relay, texts};

fn node(nats: &NatsServer) -> TestServer {
    TestServer::with(|config| config.cluster = vec![nats.url.clone()])
}

/// A loopback address nobody listens on.
fn nobody() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

#[test]
fn issue_19_the_client_passes_over_a_node_that_is_down_and_resumes_on_another() {
    let nats = NatsServer::start();
    let (first, second) = (node(&nats), node(&nats));
    let mut bob: TestClient = second.client("bob");
    // The second node is behind a relay kept shut until bob has talked: what alice misses
    // must come from history, not live.
    let door = Relay::start(second.addr);
    door.cut();
    let addr = format!("{},{},{}", nobody(), first.addr, door.addr);
    let mut alice = Client::start_with(NetConfig::new(addr), "alice");
    alice.online();
    while bob.recv() != "JOIN alice" {}
    bob.send("ALL before");
    alice.until("bob's line", |c| c.has_line("lobby", "<bob> before"));

    // Her node stops: she is told, and bob talks meanwhile.
    first.shutdown();
    alice.until("the loss", |c| c.app.conn != Conn::Online);
    while bob.recv() != "QUIT alice node stopped" {}
    for n in 1..=3 {
        bob.send(&format!("ALL missed {n}"));
    }
    bob.barrier();
    door.open();

    // She comes back through the second node, under her nick, with what she missed.
    alice.until("the second node", |c| {
        c.app.conn == Conn::Online && c.has_line("lobby", "── 3 missed while away ──")
    });
    let lines = texts(&alice.app, alice.tab_of("lobby").unwrap());
    let rule = lines
        .iter()
        .position(|l| l == "── 3 missed while away ──")
        .expect("the rule");
    let expected = ["<bob> missed 1", "<bob> missed 2", "<bob> missed 3"];
    assert_eq!(lines[rule + 1..], expected, "{lines:#?}");
    while bob.recv() != "JOIN alice" {}
    alice.enter("back");
    while bob.recv() != "ALL alice back" {}
}
