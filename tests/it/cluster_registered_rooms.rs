//! Registered rooms on the nodes of a cluster (issue 19), through a real `nats-server -js`:
//! `REGISTER #room` is carried out on every node in the stream's order, a node that starts
//! later knows the room is registered, the room outlives every node with its topic, key,
//! privacy and history, and an account's deletion leaves its rooms ordinary on every node,
//! and after them.

use chatd_testkit::nats::NatsServer;

use crate::account_support::PASSWORD;
use crate::cluster::{node, until_answered};
use crate::cluster_accounts::account_on;
use crate::cluster_rooms::{expect_room, next_room_line};
use crate::history::history;
use crate::support::{TestClient, TestServer, with_caps};

/// The `ROOMS` list `client` sees, `END ROOMS` left out; the lobby's news aside.
pub fn rooms(client: &mut TestClient) -> Vec<String> {
    client.send("ROOMS");
    let mut listed = Vec::new();
    loop {
        match next_room_line(client) {
            end if end == "END ROOMS" => return listed,
            room => listed.push(room),
        }
    }
}

/// `LOGIN nick` on `server`, the lobby's news before the answer aside, then a barrier.
fn logged_in_on(server: &TestServer, nick: &str) -> TestClient {
    let mut client = server.connect();
    let login = format!("LOGIN {nick} {PASSWORD}");
    until_answered(&mut client, &login, &format!("OK LOGIN {nick}"));
    client.barrier();
    client
}

/// Waits until `client`'s node has carried out everything the stream held before now: a
/// room change is answered once its node has (a `PART` of no room is refused there).
pub fn caught_up(client: &mut TestClient) {
    client.send("PART #nowhere");
    assert!(next_room_line(client).starts_with("ERR NO_SUCH_ROOM "));
}

/// Sends `QUIT` and reads up to the end.
fn leave(mut client: TestClient) {
    client.send("QUIT");
    expect_room(&mut client, "BYE");
    client.expect_closed();
}

#[test]
fn issue_19_a_registered_room_outlives_every_node_with_its_topic_key_privacy_and_history() {
    let nats = NatsServer::start();
    let a = node(&nats.url);
    let mut guest = a.client("guest");
    guest.send("JOIN #Mine");
    expect_room(&mut guest, "OK JOIN #Mine");
    guest.barrier();
    guest.send("REGISTER #mine");
    assert!(next_room_line(&mut guest).starts_with("ERR LOGIN_REQUIRED "));

    let mut alice = account_on(&a, "alice");
    alice.send("REGISTER #mine");
    assert!(next_room_line(&mut alice).starts_with("ERR NOT_IN_ROOM "));
    alice.send("REGISTER #nowhere");
    assert!(next_room_line(&mut alice).starts_with("ERR NO_SUCH_ROOM "));
    alice.send("JOIN #mine");
    expect_room(&mut alice, "OK JOIN #Mine");
    expect_room(&mut guest, "JOIN #Mine alice");
    alice.barrier();
    alice.send("REGISTER #mine");
    assert!(next_room_line(&mut alice).starts_with("ERR NOT_OWNER "));
    alice.send("JOIN #Tea");
    expect_room(&mut alice, "OK JOIN #Tea");
    alice.barrier();
    alice.send("TOPIC #tea green tea only");
    expect_room(&mut alice, "TOPIC #Tea alice green tea only");
    alice.send("KEY #tea sencha");
    expect_room(&mut alice, "OK KEY #Tea");
    alice.send("MSG #tea first pot");
    alice.send("REGISTER #tea");
    expect_room(&mut alice, "OK REGISTER #Tea");

    // A node that starts now takes the room registered, from the running node's image.
    let b = node(&nats.url);
    let mut bob = with_caps(&b, "bob", &["owner"]);
    bob.send("JOIN #tea sencha");
    expect_room(&mut bob, "OK JOIN #Tea");
    expect_room(&mut bob, "TOPIC #Tea alice green tea only");
    expect_room(&mut bob, "WHO #Tea alice bob");
    expect_room(&mut bob, "END WHO #Tea");
    expect_room(&mut bob, "OWNER #Tea alice");
    bob.send("REGISTER #tea");
    assert!(next_room_line(&mut bob).starts_with("ERR LOGIN_REQUIRED "));
    expect_room(&mut alice, "JOIN #Tea bob");
    leave(alice);
    // Its owner away, nobody owns it: the guest left in it cannot change it, on his node.
    while bob.recv() != "QUIT alice" {}
    bob.send("KEY #tea");
    assert!(next_room_line(&mut bob).starts_with("ERR NOT_OWNER "));
    bob.send("PART #tea");
    expect_room(&mut bob, "OK PART #Tea");
    caught_up(&mut guest);
    for client in [&mut bob, &mut guest] {
        assert_eq!(
            rooms(client),
            ["ROOM #Mine 1", "ROOM #Tea 0 green tea only"]
        );
    }
    leave(bob);

    // The owner account comes back on the other node, past the key, and makes it private.
    let mut alice = logged_in_on(&b, "alice");
    alice.send("JOIN #tea");
    expect_room(&mut alice, "OK JOIN #Tea");
    alice.barrier();
    alice.send("PRIVATE #tea on");
    expect_room(&mut alice, "OK PRIVATE #Tea on");
    leave(alice);
    caught_up(&mut guest);
    assert_eq!(rooms(&mut guest), ["ROOM #Mine 1"]);
    leave(guest);

    // Every node stops; one starts on the same NATS: the room is there, as it was left.
    drop(a);
    drop(b);
    let c = node(&nats.url);
    let mut carol = c.client("carol");
    assert!(rooms(&mut carol).is_empty(), "private, as it was left");
    carol.send("JOIN #tea sencha");
    assert!(next_room_line(&mut carol).starts_with("ERR INVITE_ONLY "));
    let mut alice = logged_in_on(&c, "alice");
    alice.send("CAP owner");
    expect_room(&mut alice, "OK CAP owner");
    alice.send("JOIN #tea");
    expect_room(&mut alice, "OK JOIN #Tea");
    expect_room(&mut alice, "TOPIC #Tea alice green tea only");
    expect_room(&mut alice, "WHO #Tea alice");
    expect_room(&mut alice, "END WHO #Tea");
    expect_room(&mut alice, "OWNER #Tea alice");
    alice.barrier();
    let lines = history(&mut alice, "HISTORY #tea 10", "#Tea");
    let texts: Vec<&str> = lines.iter().map(|hist| hist.line.as_str()).collect();
    assert_eq!(texts, ["MSG #Tea alice first pot"]);
    alice.send("PRIVATE #tea off");
    expect_room(&mut alice, "OK PRIVATE #Tea off");
    carol.send("JOIN #tea");
    assert!(next_room_line(&mut carol).starts_with("ERR BAD_KEY "));
    carol.send("JOIN #tea sencha");
    expect_room(&mut carol, "OK JOIN #Tea");
}

#[test]
fn issue_19_an_account_deleted_leaves_its_rooms_ordinary_on_every_node_and_after_them() {
    let nats = NatsServer::start();
    let (a, b) = (node(&nats.url), node(&nats.url));
    let mut alice = account_on(&a, "alice");
    for room in ["#Tea", "#Empty"] {
        alice.send(&format!("JOIN {room}"));
        expect_room(&mut alice, &format!("OK JOIN {room}"));
        alice.barrier();
        alice.send(&format!("REGISTER {room}"));
        expect_room(&mut alice, &format!("OK REGISTER {room}"));
    }
    alice.send("PART #empty");
    expect_room(&mut alice, "OK PART #Empty");
    let mut bob = with_caps(&b, "bob", &["owner"]);
    bob.send("JOIN #tea");
    expect_room(&mut bob, "OK JOIN #Tea");
    expect_room(&mut bob, "WHO #Tea alice bob");
    expect_room(&mut bob, "END WHO #Tea");
    expect_room(&mut bob, "OWNER #Tea alice");
    assert_eq!(rooms(&mut bob), ["ROOM #Empty 0", "ROOM #Tea 2"]);
    expect_room(&mut alice, "JOIN #Tea bob");

    alice.send(&format!("UNREGISTER {PASSWORD}"));
    expect_room(&mut alice, "OK UNREGISTER alice");
    // Ordinary rooms now, on both nodes: the one that stays passes to whoever stays when its
    // first member leaves (a registered room would have nobody own it), and the empty one is
    // gone (its owner's departure, later in the stream, says the change reached bob's node).
    leave(alice);
    expect_room(&mut bob, "OWNER #Tea bob");
    assert_eq!(rooms(&mut bob), ["ROOM #Tea 1"]);
    bob.send("KEY #tea mine");
    expect_room(&mut bob, "OK KEY #Tea");
    // The same nick made an account again owns nothing.
    let mut alice = account_on(&a, "alice");
    caught_up(&mut alice);
    assert_eq!(rooms(&mut alice), ["ROOM #Tea 1"]);
    leave(alice);
    bob.send("PART #tea");
    expect_room(&mut bob, "OK PART #Tea");
    assert!(rooms(&mut bob).is_empty());
    leave(bob);

    // Nor does the cluster bring them back once every node stopped.
    drop(a);
    drop(b);
    let c = node(&nats.url);
    let mut carol = c.client("carol");
    assert!(rooms(&mut carol).is_empty());
}
