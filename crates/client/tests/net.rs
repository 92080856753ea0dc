//! The terminal client against an in-process server: its network side (`client::net`) and
//! `client::app::update`, wired as the real loop wires them but without a terminal; and the
//! `chat --plain` binary fed through its stdin (the harness is in `common`). Every wait is on
//! events or lines, with a deadline.

mod common;

use chatd_client::app::{Conn, TabKind};
use chatd_proto::{Capability, Nick};

use chatd_testkit::{DEADLINE, TestServer};
use common::{Client, PlainChat, texts};

#[test]
fn two_clients_exchange_all_and_msg() {
    let server = TestServer::start();
    let mut alice = Client::start(server.addr, "alice");
    alice.online();
    let mut bob = Client::start(server.addr, "bob");
    bob.online();
    bob.until("the user list", |c| c.users() == ["alice", "bob"]);
    alice.until("bob's JOIN", |c| c.users() == ["alice", "bob"]);
    assert!(alice.has_line("lobby", "-!- bob joined"));

    alice.enter("hello bob");
    bob.until("alice's ALL", |c| c.has_line("lobby", "<alice> hello bob"));

    bob.enter("/msg alice psst");
    alice.until("bob's MSG", |c| c.has_line("bob", "*bob* psst"));
    let tab = alice.tab_of("bob").unwrap();
    assert_eq!(
        alice.app.tabs[tab].kind,
        TabKind::Direct(Nick::parse("bob").unwrap())
    );
    assert_eq!(alice.app.tabs[tab].unread, 1);

    // Replying to the last sender, then continuing in the conversation's tab.
    alice.enter("/r got it");
    bob.until("alice's reply", |c| c.has_line("alice", "*alice* got it"));
    assert_eq!(alice.app.tab().label(), "bob");
    alice.enter("and more");
    bob.until("more", |c| c.has_line("alice", "*alice* and more"));
}

#[test]
fn a_quit_updates_the_other_clients_user_list() {
    let server = TestServer::start();
    let mut alice = Client::start(server.addr, "alice");
    alice.online();
    let mut bob = Client::start(server.addr, "bob");
    bob.online();
    alice.until("bob", |c| c.users() == ["alice", "bob"]);
    bob.enter("/quit see you");
    bob.until("the end", |c| c.exited);
    assert_eq!(bob.app.conn, Conn::Closed);
    alice.until("bob's QUIT", |c| c.users() == ["alice"]);
    assert!(alice.has_line("lobby", "-!- bob quit (see you)"));
}

#[test]
fn rooms_through_the_client() {
    let server = TestServer::start();
    let mut alice = Client::start(server.addr, "alice");
    alice.online();
    let mut bob = Client::start(server.addr, "bob");
    bob.online();
    alice.enter("/join #rust");
    alice.until("the room tab", |c| {
        c.tab_of("#rust")
            .is_some_and(|i| c.app.tabs[i].members.len() == 1)
    });
    alice.enter("/topic all about rust");
    alice.until("the topic", |c| {
        c.has_line("#rust", "-!- alice set the topic: all about rust")
    });
    bob.enter("/join #rust");
    bob.until("the topic", |c| {
        c.has_line("#rust", "-!- topic: all about rust (set by alice)")
    });
    alice.until("bob in the room", |c| {
        c.has_line("#rust", "-!- bob joined #rust") && c.app.side_list().len() == 2
    });
    bob.enter("hi room");
    alice.until("the room's line", |c| c.has_line("#rust", "<bob> hi room"));
    bob.enter("/part");
    alice.until("the PART", |c| c.has_line("#rust", "-!- bob left #rust"));
    bob.until("the tab closed", |c| c.tab_of("#rust").is_none());
}

#[test]
fn after_a_server_restart_the_client_reconnects_reclaims_its_nick_and_rejoins() {
    let server = TestServer::start_restartable();
    let addr = server.addr;
    let mut alice = Client::start(addr, "alice");
    alice.online();
    alice.enter("/join #rust");
    alice.until("the room", |c| c.tab_of("#rust").is_some());
    alice.enter("before the restart");

    server.shutdown();
    alice.until("the loss", |c| matches!(c.app.conn, Conn::Waiting { .. }));
    assert!(alice.has_line(
        "lobby",
        "-!- the server closed the connection: server shutting down"
    ));
    let server = TestServer::with(|config| config.addr = addr);
    alice.until("the new registration", |c| c.app.conn == Conn::Online);
    assert_eq!(alice.app.nick.as_str(), "alice");
    alice.until("the room again", |c| {
        c.tab_of("#rust")
            .is_some_and(|i| c.app.tabs[i].members.len() == 1)
    });
    alice.until("the user list", |c| c.users() == ["alice"]);
    // The scrollback survived.
    assert!(alice.has_line("#rust", "<alice> before the restart"));
    assert!(
        texts(&alice.app, 0)
            .iter()
            .any(|l| l.starts_with("-!- reconnected to ") && l.ends_with(" as alice"))
    );

    // The server sees her under her nick, in her room.
    let mut bob = server.client("bob");
    bob.send("WHO #rust");
    bob.expect("WHO #rust alice");
    bob.expect("END WHO #rust");
    bob.send("MSG alice welcome back");
    alice.until("the message", |c| c.has_line("bob", "*bob* welcome back"));
}

#[test]
fn a_taken_nick_is_suffixed_then_taken_back_when_freed() {
    let server = TestServer::start();
    let mut holder = server.client("alice");
    let mut alice = Client::start(server.addr, "alice");
    alice.online();
    assert_eq!(alice.app.nick.as_str(), "alice_");
    assert!(
        texts(&alice.app, 0)
            .iter()
            .any(|l| l.contains("alice is taken, so you are alice_"))
    );
    holder.expect("JOIN alice_");
    holder.send("QUIT");
    holder.expect("BYE");
    alice.until("the nick back", |c| c.app.nick.as_str() == "alice");
    assert!(alice.has_line("lobby", "-!- you have your nick back: alice"));
    let mut bob = server.client("bob");
    bob.send("WHO");
    bob.expect("WHO alice bob");
}

#[test]
fn issue_12_actions_away_and_the_owner_between_two_clients() {
    let server = TestServer::start();
    let mut alice = Client::start(server.addr, "alice");
    alice.online();
    let mut bob = Client::start(server.addr, "bob");
    bob.online();
    for cap in [Capability::Actions, Capability::Away, Capability::Owner] {
        assert!(alice.app.caps.has(cap) && bob.app.caps.has(cap), "{cap}");
    }
    let owner_is = |c: &Client, room: &str, nick: &str| {
        c.tab_of(room)
            .is_some_and(|i| c.app.tabs[i].is_owner(&Nick::parse(nick).unwrap()))
    };
    alice.enter("/join #tea");
    alice.until("her room", |c| owner_is(c, "#tea", "alice"));
    assert!(alice.has_line("#tea", "-!- you own #tea"));
    bob.enter("/join #tea");
    bob.until("the room's owner", |c| owner_is(c, "#tea", "alice"));
    alice.until("bob in the room", |c| c.app.side_list().len() == 2);

    // Actions in a room, the lobby and a conversation.
    alice.enter("/me pours tea");
    bob.until("the room's action", |c| {
        c.has_line("#tea", "* alice pours tea")
    });
    bob.app.switch_to(0);
    bob.enter("/me waves");
    alice.until("the lobby's action", |c| c.has_line("lobby", "* bob waves"));

    // bob goes away; alice, writing to him, is told once.
    bob.enter("/away at lunch");
    bob.until("the answer", |c| c.app.away.as_deref() == Some("at lunch"));
    assert!(bob.has_line("lobby", "--- you are marked away: at lunch"));
    alice.enter("/msg bob are you there?");
    alice.until("the away notice", |c| {
        c.has_line("bob", "-!- bob is away: at lunch")
    });
    alice.enter("/me knocks");
    alice.enter("/who");
    alice.until("the answer to /who", |c| {
        c.has_line("bob", "--- online (2): alice bob")
    });
    let bob_tab = alice.tab_of("bob").unwrap();
    let notices = texts(&alice.app, bob_tab)
        .iter()
        .filter(|l| l.contains("is away"))
        .count();
    assert_eq!(notices, 1, "{:?}", texts(&alice.app, bob_tab));
    bob.until("the direct action", |c| {
        c.has_line("alice", "* alice knocks")
    });
    assert!(bob.has_line("alice", "*alice* are you there?"));

    // The owner leaves: bob owns the room, and his member list says so.
    alice.app.switch_to(alice.tab_of("#tea").unwrap());
    alice.enter("/part");
    bob.until("the hand-over", |c| {
        owner_is(c, "#tea", "bob") && c.has_line("#tea", "-!- you now own #tea")
    });
    let tea = bob.tab_of("#tea").unwrap();
    let members: Vec<&str> = bob.app.tabs[tea].members.iter().map(Nick::as_str).collect();
    assert_eq!(members, ["bob"]);
}

#[test]
fn plain_mode_sends_stdin_prints_the_server_and_exits_when_stdin_ends() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = PlainChat::spawn(server.addr, "bob");
    bob.expect("HELLO chatd 0.1.0 - type HELP for commands");
    bob.expect("OK NICK bob");
    alice.expect("JOIN bob");
    alice.send("ALL hi bob");
    bob.expect("ALL alice hi bob");
    alice.send("MSG bob psst");
    bob.expect("MSG alice psst");
    bob.type_line("hello everyone");
    bob.type_line("/r  got it");
    bob.type_line("/frob");
    bob.expect_note("unknown command /frob");
    bob.type_line("/join #tea");
    bob.expect("OK JOIN #tea");
    bob.expect("WHO #tea bob");
    bob.expect("END WHO #tea");
    bob.expect("OWNER #tea bob");
    bob.type_line("/who");
    bob.expect("WHO alice bob");
    bob.expect("END WHO");
    bob.close_stdin();
    bob.expect("BYE");
    assert!(bob.wait().success());
    alice.expect("ALL bob hello everyone");
    alice.expect("MSG bob got it");
    alice.expect("QUIT bob");
}

#[test]
fn plain_mode_works_in_a_pipe_and_exits_zero() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = PlainChat::spawn(server.addr, "bob");
    // Everything typed at once, before registration: sent after it, in order.
    bob.type_line("hello");
    bob.type_line("/quit done");
    bob.expect("HELLO chatd 0.1.0 - type HELP for commands");
    bob.expect("OK NICK bob");
    bob.expect("BYE");
    assert!(bob.wait().success());
    alice.expect("JOIN bob");
    alice.expect("ALL bob hello");
    alice.expect("QUIT bob done");
}

#[test]
fn issue_12_plain_mode_does_not_send_help_typed_alone_and_say_sends_it() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = PlainChat::spawn(server.addr, "bob");
    bob.expect("HELLO chatd 0.1.0 - type HELP for commands");
    bob.expect("OK NICK bob");
    bob.type_line("HELP");
    bob.type_line("/say HELP");
    // The client's help, then what to type instead.
    let mut notes = Vec::new();
    while !notes
        .iter()
        .any(|n: &String| n.contains("/say HELP sends it"))
    {
        match bob.stderr.recv_timeout(DEADLINE) {
            Ok(line) => notes.push(line),
            Err(_) => panic!("no hint about HELP within {DEADLINE:?}: {notes:?}"),
        }
    }
    assert!(notes.iter().any(|n| n.starts_with("/join #room [key]")));
    bob.close_stdin();
    bob.expect("BYE");
    assert!(bob.wait().success());
    // Only the /say line reached alice.
    alice.expect("JOIN bob");
    alice.expect("ALL bob HELP");
    alice.expect("QUIT bob");
}

#[test]
fn issue_12_plain_mode_sends_me_and_away_and_prints_the_extensions_lines() {
    let server = TestServer::start();
    // alice speaks v1 only: she gets an action as the message that stands for it.
    let mut alice = server.client("alice");
    let mut bob = PlainChat::spawn(server.addr, "bob");
    // The answers to the client's own CAP lines are not printed.
    bob.expect("HELLO chatd 0.1.0 - type HELP for commands");
    bob.expect("OK NICK bob");
    alice.expect("JOIN bob");
    bob.type_line("/me waves");
    alice.expect("ALL bob /me waves");
    alice.send("ME * waves back");
    bob.expect("ME * alice waves back");
    alice.send("AWAY out for a bit");
    alice.expect("OK AWAY on");
    bob.type_line("/msg alice there?");
    bob.expect("AWAY alice out for a bit");
    alice.expect("MSG bob there?");
    bob.type_line("/away brb");
    bob.expect("OK AWAY on");
    bob.type_line("/join #tea");
    bob.expect("OK JOIN #tea");
    bob.expect("WHO #tea bob");
    bob.expect("END WHO #tea");
    bob.expect("OWNER #tea bob");
    bob.type_line("/topic #tea");
    bob.expect("TOPIC #tea");
    bob.close_stdin();
    bob.expect("BYE");
    assert!(bob.wait().success());
}

#[test]
fn plain_mode_takes_a_suffixed_nick_and_says_so() {
    let server = TestServer::start();
    let _alice = server.client("alice");
    let mut other = PlainChat::spawn(server.addr, "alice");
    other.expect("HELLO chatd 0.1.0 - type HELP for commands");
    other.expect("ERR NICK_TAKEN nick alice is already in use");
    other.expect("OK NICK alice_");
    other.expect_note("alice is taken; you are alice_");
    other.close_stdin();
    other.expect("BYE");
    assert!(other.wait().success());
}

#[test]
fn issue_15_plain_mode_reconnects_when_the_server_closes_and_exits_when_stdin_ends() {
    let server = TestServer::start();
    let mut bob = PlainChat::spawn(server.addr, "bob");
    bob.expect("HELLO chatd 0.1.0 - type HELP for commands");
    bob.expect("OK NICK bob");
    server.shutdown();
    bob.expect("BYE server shutting down");
    bob.expect_note("the server closed the connection; reconnecting (first try in");
    // Nothing to connect to, and nothing left to send: it ends.
    bob.close_stdin();
    assert!(bob.wait().success());
}

#[test]
fn plain_mode_without_a_server_fails() {
    // A port that was just free: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let bob = PlainChat::spawn(addr, "bob");
    bob.expect_note("chat: --plain with 127.0.0.1:");
    assert_eq!(bob.wait().code(), Some(1));
}
