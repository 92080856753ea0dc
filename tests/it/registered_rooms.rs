//! Registered rooms (issue 16, point 6): `REGISTER #room` by the room's logged-in owner; such
//! a room survives being empty and restarts with its topic, key, privacy and history, and
//! its owner account owns it whenever present, and nobody else ever does.

use crate::account_support::{PASSWORD, log_in, registered, server_in};
use crate::support::{TestClient, TestServer};

/// Joins `room` and reads the answer up to the barrier: `OK JOIN`, topic, members.
fn join(client: &mut TestClient, room: &str) -> Vec<String> {
    client.send(&format!("JOIN {room}"));
    client.barrier()
}

fn quit_quietly(mut client: TestClient) {
    client.barrier();
    client.send("QUIT");
    client.expect("BYE");
    client.expect_closed();
}

/// The `ROOMS` list `client` sees, `END ROOMS` left out.
fn rooms(client: &mut TestClient) -> Vec<String> {
    client.send("ROOMS");
    let mut lines = client.barrier();
    assert_eq!(lines.pop().as_deref(), Some("END ROOMS"));
    lines
}

#[test]
fn issue_16_only_the_logged_in_owner_registers_a_room() {
    let server = TestServer::start();
    let mut guest = server.client("guest");
    guest.send("JOIN #Mine");
    guest.barrier();
    guest.send("REGISTER #mine");
    guest.expect_err("LOGIN_REQUIRED");

    let mut alice = registered(&server, "alice");
    alice.send("REGISTER #mine");
    alice.expect_err("NOT_IN_ROOM");
    alice.send("REGISTER #nowhere");
    alice.expect_err("NO_SUCH_ROOM");
    join(&mut alice, "#mine");
    alice.send("REGISTER #mine");
    alice.expect_err("NOT_OWNER");
    guest.barrier();
    guest.send("PRIVATE #mine on");
    guest.expect("OK PRIVATE #Mine on");
    let mut bob = registered(&server, "bob");
    bob.send("REGISTER #mine");
    bob.expect_err("NO_SUCH_ROOM");

    join(&mut alice, "#Tea");
    alice.send("REGISTER #tea");
    alice.expect("OK REGISTER #Tea");
    alice.send("REGISTER #TEA");
    alice.expect("OK REGISTER #Tea");
}

#[test]
fn issue_16_a_registered_room_outlives_its_last_member_and_its_owner_takes_it_back() {
    let server = TestServer::start();
    let mut alice = registered(&server, "alice");
    join(&mut alice, "#Tea");
    alice.send("TOPIC #tea green tea only");
    alice.expect("TOPIC #Tea alice green tea only");
    alice.send("KEY #tea sencha");
    alice.expect("OK KEY #Tea");
    alice.send("REGISTER #tea");
    alice.expect("OK REGISTER #Tea");
    alice.send("MSG #tea first pot");
    let mut bob = server.client("bob");
    bob.send("CAP owner");
    bob.expect("OK CAP owner");
    bob.send("JOIN #tea sencha");
    let joined = bob.barrier();
    assert!(
        joined.contains(&"OWNER #Tea alice".to_owned()),
        "{joined:?}"
    );
    quit_quietly(alice);
    bob.barrier();
    // Its owner away, nobody owns it: the guest left in it cannot change it.
    bob.send("KEY #tea");
    bob.expect_err("NOT_OWNER");
    bob.send("PRIVATE #tea on");
    bob.expect_err("NOT_OWNER");
    bob.send("REGISTER #tea");
    bob.expect_err("LOGIN_REQUIRED");
    bob.send("PART #tea");
    bob.expect("OK PART #Tea");
    assert_eq!(rooms(&mut bob), ["ROOM #Tea 0 green tea only"]);
    bob.send("JOIN #tea");
    bob.expect_err("BAD_KEY");
    bob.send("JOIN #tea sencha");
    let joined = bob.barrier();
    assert_eq!(
        joined,
        [
            "OK JOIN #Tea",
            "TOPIC #Tea alice green tea only",
            "WHO #Tea bob",
            "END WHO #Tea",
        ],
        "nobody owns it: no OWNER line"
    );
    bob.send("HISTORY #tea");
    let history = bob.barrier();
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(
        history[0].ends_with(" MSG #Tea alice first pot"),
        "{history:?}"
    );

    // The owner account comes back, past the key, and owns it again; the others are told.
    let mut alice = log_in(&server, "alice").0;
    let joined = join(&mut alice, "#tea");
    assert_eq!(joined[0], "OK JOIN #Tea");
    assert_eq!(bob.recv(), "JOIN alice");
    assert_eq!(bob.recv(), "JOIN #Tea alice");
    assert_eq!(bob.recv(), "OWNER #Tea alice");
    alice.send("KEY #tea");
    alice.expect("OK KEY #Tea");
}

#[test]
fn issue_16_a_guest_cannot_take_a_registered_room_over_and_an_account_cannot_either() {
    let server = TestServer::start();
    let mut alice = registered(&server, "alice");
    join(&mut alice, "#tea");
    alice.send("REGISTER #tea");
    alice.expect("OK REGISTER #tea");
    alice.send("PRIVATE #tea on");
    alice.expect("OK PRIVATE #tea on");
    quit_quietly(alice);
    // Empty and private: listed to nobody, joined by nobody but its owner account.
    let mut bob = registered(&server, "bob");
    assert_eq!(rooms(&mut bob), Vec::<String>::new());
    bob.send("JOIN #tea");
    bob.expect_err("INVITE_ONLY");
    // The owner account renamed away is a guest: not the owner, not let in.
    let mut alice = log_in(&server, "alice").0;
    alice.send("NICK alice2");
    alice.expect("OK NICK alice2");
    alice.send("JOIN #tea");
    alice.expect_err("INVITE_ONLY");
    alice.send("NICK alice");
    alice.expect_err("NICK_REGISTERED");
    // Logged in again, it is let in and owns it.
    alice.send(&format!("LOGIN alice {PASSWORD}"));
    alice.expect("OK LOGIN alice");
    let joined = join(&mut alice, "#tea");
    assert_eq!(joined[0], "OK JOIN #tea");
    bob.barrier();
    alice.send("INVITE bob #tea");
    alice.expect("OK INVITE bob #tea");
    bob.expect("INVITE #tea alice");
    join(&mut bob, "#tea");
    bob.send("REGISTER #tea");
    bob.expect_err("NOT_OWNER");
    bob.send("PRIVATE #tea off");
    bob.expect_err("NOT_OWNER");
}

#[test]
fn issue_16_registered_rooms_come_back_after_a_restart_with_topic_key_privacy_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path());
    let mut alice = registered(&server, "alice");
    join(&mut alice, "#Tea");
    alice.send("TOPIC #tea oolong");
    alice.expect("TOPIC #Tea alice oolong");
    alice.send("KEY #tea pu-erh");
    alice.expect("OK KEY #Tea");
    alice.send("PRIVATE #tea on");
    alice.expect("OK PRIVATE #Tea on");
    alice.send("REGISTER #tea");
    alice.expect("OK REGISTER #Tea");
    for n in 1..=3 {
        alice.send(&format!("MSG #tea pot {n}"));
    }
    join(&mut alice, "#other");
    alice.send("MSG #other not kept");
    alice.barrier();
    server.shutdown();

    let server = server_in(dir.path());
    let mut bob = server.client("bob");
    assert_eq!(rooms(&mut bob), Vec::<String>::new(), "#Tea is private");
    bob.send("JOIN #tea pu-erh");
    bob.expect_err("INVITE_ONLY");
    let mut alice = log_in(&server, "alice").0;
    let joined = join(&mut alice, "#tea");
    assert_eq!(
        joined,
        [
            "OK JOIN #Tea",
            "TOPIC #Tea alice oolong",
            "WHO #Tea alice",
            "END WHO #Tea"
        ]
    );
    alice.send("HISTORY #tea");
    let history = alice.barrier();
    let texts: Vec<&str> = history
        .iter()
        .map(|line| line.splitn(5, ' ').last().expect("a HIST line"))
        .collect();
    assert_eq!(
        texts,
        [
            "MSG #Tea alice pot 1",
            "MSG #Tea alice pot 2",
            "MSG #Tea alice pot 3",
            "3"
        ],
        "{history:?}"
    );
    // An ordinary room did not survive, nor its lines.
    let joined = join(&mut alice, "#other");
    assert_eq!(joined[0], "OK JOIN #other");
    alice.send("HISTORY #other");
    alice.expect("END HISTORY #other 0");
    // What changes now is kept too.
    alice.send("PRIVATE #tea off");
    alice.expect("OK PRIVATE #Tea off");
    alice.send("MSG #tea pot 4");
    alice.barrier();
    server.shutdown();

    let server = server_in(dir.path());
    let mut bob = server.client("bob");
    assert_eq!(rooms(&mut bob), ["ROOM #Tea 0 oolong"]);
    bob.send("JOIN #tea pu-erh");
    bob.barrier();
    bob.send("HISTORY #tea 1");
    let last = bob.barrier();
    assert!(last[0].ends_with(" MSG #Tea alice pot 4"), "{last:?}");
}

#[test]
fn issue_16_a_room_goes_with_its_account_and_a_new_account_of_the_name_owns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path());
    let mut alice = registered(&server, "alice");
    join(&mut alice, "#Kept");
    alice.send("REGISTER #kept");
    alice.expect("OK REGISTER #Kept");
    join(&mut alice, "#Gone");
    alice.send("REGISTER #gone");
    alice.expect("OK REGISTER #Gone");
    alice.send("MSG #gone secret plans");
    let mut bob = server.client("bob");
    join(&mut bob, "#gone");
    alice.barrier();
    for room in ["#Gone", "#Kept"] {
        alice.send(&format!("PART {room}"));
        alice.expect(&format!("OK PART {room}"));
    }
    alice.send(&format!("UNREGISTER {PASSWORD}"));
    alice.expect("OK UNREGISTER alice");
    // An ordinary room now: the member left in it owns it, and it goes when it empties.
    bob.barrier();
    bob.send("KEY #gone k");
    bob.expect("OK KEY #Gone");
    assert_eq!(
        rooms(&mut bob),
        ["ROOM #Gone 1"],
        "#Kept was empty: gone at once"
    );
    quit_quietly(bob);
    quit_quietly(alice);
    let mut carol = server.client("carol");
    assert_eq!(rooms(&mut carol), Vec::<String>::new());
    server.shutdown();

    // A new account of the same name, after a restart: no room, no line of the old one's.
    let server = server_in(dir.path());
    let mut carol = server.client("carol");
    assert_eq!(rooms(&mut carol), Vec::<String>::new());
    let mut alice = registered(&server, "alice");
    join(&mut alice, "#gone");
    alice.send("HISTORY #gone");
    alice.expect("END HISTORY #gone 0");
}
