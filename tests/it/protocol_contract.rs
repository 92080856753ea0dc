//! Every row of the protocol table and every detail of the contract, over TCP.

use crate::support::{TestClient, TestServer};

#[test]
fn greeting_comes_first() {
    let server = TestServer::start();
    let mut client = TestClient::connect_raw(server.addr);
    let hello = client.recv();
    assert!(hello.starts_with("HELLO chatd "), "{hello}");
}

#[test]
fn nick_registers_and_announces_join_to_others_only() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut lurker = server.connect();
    let mut bob = server.client("bob");
    assert_eq!(alice.barrier(), ["JOIN bob"]);
    bob.expect_nothing_more();
    lurker.expect_nothing_more();
}

#[test]
fn renaming_announces_old_and_new() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    bob.send("NICK robert");
    bob.expect("OK NICK robert");
    assert_eq!(alice.barrier(), ["JOIN bob", "NICK bob robert"]);
    // The old nick is free; the new one answers to messages.
    let mut other = server.client("bob");
    other.send("MSG Robert hi");
    other.barrier();
    assert_eq!(bob.barrier(), ["JOIN bob", "MSG bob hi"]);
}

#[test]
fn same_nick_again_is_ok_and_silent_and_a_case_change_is_a_rename() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    bob.send("NICK bob");
    bob.expect("OK NICK bob");
    bob.send("NICK Bob");
    bob.expect("OK NICK Bob");
    assert_eq!(alice.barrier(), ["JOIN bob", "NICK bob Bob"]);
}

#[test]
fn msg_reaches_only_its_target() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    let mut carol = server.client("carol");
    alice.send("MSG BOB  two  spaces ");
    assert_eq!(alice.barrier(), ["JOIN bob", "JOIN carol"]);
    assert_eq!(bob.barrier(), ["JOIN carol", "MSG alice two  spaces "]);
    carol.expect_nothing_more();
}

#[test]
fn msg_to_yourself_is_delivered() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    alice.send("MSG alice note to self");
    assert_eq!(alice.barrier(), ["MSG alice note to self"]);
}

#[test]
fn all_reaches_every_other_registered_client() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    let mut carol = server.client("carol");
    let mut lurker = server.connect();
    alice.send("ALL hello everyone");
    assert_eq!(
        alice.barrier(),
        ["JOIN bob", "JOIN carol"],
        "no echo to the sender"
    );
    assert_eq!(bob.barrier(), ["JOIN carol", "ALL alice hello everyone"]);
    assert_eq!(carol.barrier(), ["ALL alice hello everyone"]);
    lurker.expect_nothing_more();
}

#[test]
fn who_lists_everyone_sorted_ignoring_case_then_end_who() {
    let server = TestServer::start();
    let mut carol = server.client("carol");
    let _alice = server.client("Alice");
    let _bob = server.client("bob");
    let _lurker = server.connect();
    carol.barrier();
    carol.send("WHO");
    carol.expect("WHO Alice bob carol");
    carol.expect("END WHO");
}

#[test]
fn who_spans_several_lines_of_at_most_4096_bytes() {
    let server = TestServer::start();
    let nicks: Vec<String> = (0..200)
        .map(|i| format!("n{i:03}{}", "x".repeat(28)))
        .collect();
    let _clients: Vec<TestClient> = nicks.iter().map(|n| server.client(n)).collect();
    let mut asker = server.client("asker");
    asker.send("WHO");
    let mut listed = Vec::new();
    let mut lines = 0;
    loop {
        let line = asker.recv();
        if line == "END WHO" {
            break;
        }
        assert!(line.len() < 4096, "WHO line of {} bytes", line.len() + 1);
        let names = line.strip_prefix("WHO ").expect("a WHO line");
        listed.extend(names.split(' ').map(str::to_owned));
        lines += 1;
    }
    assert!(lines >= 2, "{lines} lines");
    let mut expected = nicks.clone();
    expected.push("asker".to_owned());
    expected.sort_by_key(|n| n.to_ascii_lowercase());
    assert_eq!(listed, expected);
}

#[test]
fn ping_answers_pong_with_its_token() {
    let server = TestServer::start();
    let mut client = server.connect();
    client.send("PING");
    client.expect("PONG");
    client.send("PING some token");
    client.expect("PONG some token");
}

#[test]
fn quit_says_bye_closes_and_tells_the_others() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    bob.send("QUIT gone fishing");
    bob.expect("BYE");
    bob.expect_closed();
    assert_eq!(alice.barrier(), ["JOIN bob", "QUIT bob gone fishing"]);
    let mut carol = server.client("carol");
    carol.send("QUIT");
    carol.expect("BYE");
    carol.expect_closed();
    assert_eq!(alice.barrier(), ["JOIN carol", "QUIT carol"]);
}

#[test]
fn help_lists_commands_and_ends_with_end_help() {
    let server = TestServer::start();
    let mut client = server.connect();
    client.send("HELP");
    let mut lines = Vec::new();
    loop {
        let line = client.recv();
        if line == "END HELP" {
            break;
        }
        assert!(line.starts_with("HELP "), "{line}");
        lines.push(line);
    }
    for command in ["NICK", "MSG", "ALL", "WHO", "PING", "QUIT", "HELP"] {
        assert!(
            lines.iter().any(|l| l.contains(command)),
            "HELP does not mention {command}"
        );
    }
}

#[test]
fn commands_ignore_case_and_crlf_and_blank_lines() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.connect();
    bob.send_raw(b"nick bob\r\n\r\n   \n\nall Hi\r\nping x\r\n");
    bob.expect("OK NICK bob");
    bob.expect("PONG x");
    assert_eq!(alice.barrier(), ["JOIN bob", "ALL bob Hi"]);
}

#[test]
fn nick_ping_help_and_quit_work_before_registration_the_rest_does_not() {
    let server = TestServer::start();
    let mut client = server.connect();
    for line in ["MSG bob hi", "ALL hi", "WHO"] {
        client.send(line);
        client.expect_err("NOT_REGISTERED");
    }
    client.send("PING");
    client.expect("PONG");
    client.send("QUIT");
    client.expect("BYE");
    client.expect_closed();
}

#[test]
fn unregistered_connections_are_never_announced() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let lurker = server.connect();
    drop(lurker);
    let mut quitter = server.connect();
    quitter.send("QUIT");
    quitter.expect("BYE");
    alice.expect_nothing_more();
}

#[test]
fn every_error_code_with_a_text_and_the_connection_stays() {
    let server = TestServer::with(|c| c.max_line = 128);
    let _bob = server.client("bob");
    let mut client = server.connect();
    client.send("ALL too early");
    client.expect_err("NOT_REGISTERED");
    client.send("NICK bob");
    client.expect_err("NICK_TAKEN");
    client.send("NICK BOB");
    client.expect_err("NICK_TAKEN");
    for bad in ["has space", "9lives", "_x", "a.b", &"a".repeat(33)] {
        client.send(&format!("NICK {bad}"));
        client.expect_err("BAD_NICK");
    }
    client.send("NICK alice");
    client.expect("OK NICK alice");
    client.send("MSG zed hi");
    client.expect_err("NO_SUCH_NICK");
    client.send("FROB x");
    client.expect_err("UNKNOWN_COMMAND");
    for bare in ["NICK", "MSG", "MSG bob", "MSG bob   ", "ALL", "ALL  "] {
        client.send(bare);
        client.expect_err("MISSING_ARGUMENT");
    }
    client.send(&format!("ALL {}", "x".repeat(200)));
    client.expect_err("LINE_TOO_LONG");
    client.send_raw(b"ALL \xff\xfe\n");
    client.expect_err("BAD_ENCODING");
    // After all that, one error per line and nothing else: the connection still works.
    client.expect_nothing_more();
    client.send("MSG bob still here");
    client.expect_nothing_more();
}

#[test]
fn server_full_refuses_with_an_error_and_closes() {
    let server = TestServer::with(|c| c.max_clients = 2);
    let mut first = server.connect();
    let _second = server.connect();
    let mut third = TestClient::connect_raw(server.addr);
    third.expect_err("SERVER_FULL");
    third.expect_closed();
    // Once one leaves there is room again.
    first.send("QUIT");
    first.expect("BYE");
    first.expect_closed();
    let mut next = reconnect_until_admitted(&server);
    next.expect_nothing_more();
}

#[test]
fn too_many_connections_from_one_address_are_refused_and_the_others_keep_chatting() {
    let server = TestServer::with(|c| {
        c.max_per_ip = 2;
        c.max_per_ip_loopback = true;
    });
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    alice.expect("JOIN bob");
    let mut third = TestClient::connect_raw(server.addr);
    third.expect_err("TOO_MANY_CONNECTIONS");
    third.expect_closed();
    bob.send("ALL still here");
    alice.expect("ALL bob still here");
    // A connection that has closed no longer counts.
    bob.send("QUIT");
    bob.expect("BYE");
    bob.expect_closed();
    alice.expect("QUIT bob");
    let mut carol = server.connect();
    carol.send("NICK carol");
    carol.expect("OK NICK carol");
}

/// The slot of a closed connection is freed when the server has processed its end, which
/// the client cannot observe; retry, each time reading the server's verdict.
fn reconnect_until_admitted(server: &TestServer) -> TestClient {
    let deadline = std::time::Instant::now() + crate::support::DEADLINE;
    loop {
        let mut client = TestClient::connect_raw(server.addr);
        let first = client.recv();
        if first.starts_with("HELLO ") {
            return client;
        }
        assert!(first.starts_with("ERR SERVER_FULL "), "{first}");
        assert!(std::time::Instant::now() < deadline, "never admitted again");
    }
}

#[test]
fn a_closed_connection_is_announced_with_a_reason() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let bob = server.client("bob");
    drop(bob);
    assert_eq!(alice.recv(), "JOIN bob");
    assert_eq!(alice.recv(), "QUIT bob connection closed");
}

#[test]
fn lines_before_fin_are_executed_and_answered_a_cut_line_is_not() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    bob.send_raw(b"ALL one\nPING two\nALL cut off");
    bob.writer.shutdown(std::net::Shutdown::Write).unwrap();
    bob.expect("PONG two");
    bob.expect_closed();
    assert_eq!(alice.recv(), "JOIN bob");
    assert_eq!(alice.recv(), "ALL bob one");
    assert_eq!(alice.recv(), "QUIT bob connection closed");
    alice.expect_nothing_more();
}

#[test]
fn barrier_orders_deliveries_before_pong() {
    let server = TestServer::start();
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    alice.barrier();
    for i in 0..100 {
        bob.send(&format!("MSG alice {i}"));
    }
    bob.barrier();
    // Everything bob sent before his PONG is queued for alice ahead of her own PONG.
    let got = alice.barrier();
    let expected: Vec<String> = (0..100).map(|i| format!("MSG bob {i}")).collect();
    assert_eq!(got, expected);
}
