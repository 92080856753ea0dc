//! Accounts in the client (issue 16), end to end against an in-process server: `chat --plain`
//! logs in to a registered nick with `CHAT_PASSWORD` and with `--password-file`; without a
//! terminal, a wrong password or none ends it with a clear message; another client logging
//! in to the account ends it without a reconnect. The full-screen client (its net and
//! `update`, no screen) logs in, and logs in again after a server restart before it resumes
//! what it missed. The accounts are made over the wire (`chatd-testkit`); every wait has a
//! deadline.

mod common;

use chatd_client::app::Conn;
use chatd_testkit::{Config, TestClient, TestServer};
use common::{Client, PlainChat, Relay, register, texts};

const PASSWORD: &str = "correct-horse-battery";
const GREETING: &str = "HELLO chatd 0.1.0 - type HELP for commands";
const REGISTERED: &str = "ERR NICK_REGISTERED alice is registered; LOGIN alice <password>";

/// Reads `client`'s lines until `line` comes.
fn sees(client: &mut TestClient, line: &str) {
    while client.recv() != line {}
}

/// `chat` logged in as alice says a line, which bob gets from alice; then its input ends
/// and it leaves cleanly. Nothing it wrote holds the password.
fn says_hello_and_leaves(mut chat: PlainChat, bob: &mut TestClient) {
    chat.type_line("hello from the account");
    sees(bob, "ALL alice hello from the account");
    chat.close_stdin();
    chat.expect("BYE");
    let notes = chat.stderr.clone();
    assert!(chat.wait().success());
    let notes: Vec<String> = notes.try_iter().collect();
    assert!(notes.iter().all(|n| !n.contains(PASSWORD)), "{notes:#?}");
}

#[test]
fn issue_16_plain_logs_in_to_a_registered_nick_with_chat_password() {
    let server = TestServer::start();
    register(&server, "alice", PASSWORD);
    let mut bob = server.client("bob");
    let chat = PlainChat::spawn_with(server.addr, "alice", &[], Some(PASSWORD));
    chat.expect(GREETING);
    chat.expect(REGISTERED);
    chat.expect("OK LOGIN alice");
    chat.expect_note("chat: logged in as alice");
    sees(&mut bob, "JOIN alice");
    says_hello_and_leaves(chat, &mut bob);
}

#[test]
fn issue_16_plain_logs_in_with_a_password_file() {
    let server = TestServer::start();
    register(&server, "alice", PASSWORD);
    let mut bob = server.client("bob");
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("password");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let file = file.to_str().unwrap();
    // The file wins over the environment.
    let chat = PlainChat::spawn_with(
        server.addr,
        "alice",
        &["--password-file", file],
        Some("not-this-one"),
    );
    chat.expect(GREETING);
    chat.expect(REGISTERED);
    chat.expect("OK LOGIN alice");
    says_hello_and_leaves(chat, &mut bob);
}

#[test]
fn issue_16_plain_without_a_terminal_ends_clearly_on_a_wrong_password() {
    let server = TestServer::start();
    register(&server, "alice", PASSWORD);
    let chat = PlainChat::spawn_with(server.addr, "alice", &[], Some("wrong-horse-battery"));
    chat.expect(GREETING);
    chat.expect(REGISTERED);
    chat.expect("ERR BAD_LOGIN wrong nick or password");
    chat.expect_note("chat: wrong password for alice");
    chat.expect_note("give the right one with --password-file FILE or CHAT_PASSWORD");
    let notes = chat.stderr.clone();
    assert!(!chat.wait().success());
    let rest: Vec<String> = notes.try_iter().collect();
    assert!(rest.is_empty(), "{rest:#?}");
}

#[test]
fn issue_16_plain_without_a_terminal_ends_clearly_without_a_password() {
    let server = TestServer::start();
    register(&server, "alice", PASSWORD);
    let chat = PlainChat::spawn_with(server.addr, "alice", &[], None);
    chat.expect(GREETING);
    chat.expect(REGISTERED);
    chat.expect_note(
        "alice is a registered nick and no password was given: give it with --password-file \
         FILE or CHAT_PASSWORD",
    );
    assert!(!chat.wait().success());
}

#[test]
fn issue_16_plain_stops_when_another_client_logs_in_to_the_account() {
    let server = TestServer::start();
    register(&server, "alice", PASSWORD);
    let mut bob = server.client("bob");
    let chat = PlainChat::spawn_with(server.addr, "alice", &[], Some(PASSWORD));
    chat.expect(GREETING);
    chat.expect(REGISTERED);
    chat.expect("OK LOGIN alice");
    chat.expect_note("chat: logged in as alice");
    // The phone takes over from the laptop.
    let mut phone = server.connect();
    phone.send(&format!("LOGIN alice {PASSWORD}"));
    phone.expect("OK LOGIN alice");
    chat.expect("BYE logged in elsewhere");
    chat.expect_note("another client logged in as alice");
    assert!(!chat.wait().success());
    // The phone keeps the account: the laptop did not come back for it.
    sees(&mut bob, "QUIT alice logged in elsewhere");
    sees(&mut bob, "JOIN alice");
    phone.send("ALL still here");
    sees(&mut bob, "ALL alice still here");
}

#[test]
fn issue_16_after_a_server_restart_the_client_logs_in_again_and_resumes() {
    let data = tempfile::tempdir().unwrap();
    let keep = |config: &mut Config| {
        config.ephemeral = false;
        config.data_dir = data.path().to_owned();
    };
    let server = TestServer::start_restartable_with(keep);
    let addr = server.addr;
    register(&server, "alice", PASSWORD);
    let relay = Relay::start(addr);
    let mut bob = server.client("bob");
    let mut alice = Client::start_with_password(relay.addr, "alice", PASSWORD);
    alice.online();
    assert_eq!(alice.app.nick.as_str(), "alice");
    bob.send("ALL before");
    alice.until("bob's line", |c| c.has_line("lobby", "<bob> before"));

    // alice is kept away while the server restarts (the account outlives it, on disk) and
    // bob talks on both sides of the restart.
    relay.cut();
    alice.until("the loss", |c| matches!(c.app.conn, Conn::Waiting { .. }));
    bob.send("ALL said while away 1");
    bob.barrier();
    drop(bob);
    server.shutdown();
    let server = TestServer::with(|config| {
        keep(config);
        config.addr = addr;
    });
    let mut bob = server.client("bob");
    bob.send("ALL said while away 2");
    bob.barrier();
    relay.open();

    alice.until("the missed lines", |c| {
        c.has_line("lobby", "── 2 missed while away ──")
    });
    assert_eq!(
        (alice.app.conn, alice.app.nick.as_str()),
        (Conn::Online, "alice")
    );
    let lobby = texts(&alice.app, 0);
    let logins: Vec<usize> = (0..lobby.len())
        .filter(|&i| lobby[i].starts_with("-!- logged in as alice"))
        .collect();
    assert_eq!(logins.len(), 2, "{lobby:#?}");
    // Logged in again before the missed lines were asked for and shown.
    let rule = lobby
        .iter()
        .position(|l| l == "── 2 missed while away ──")
        .unwrap();
    assert!(logins[1] < rule, "{lobby:#?}");
    assert_eq!(
        lobby[rule + 1..rule + 3],
        ["<bob> said while away 1", "<bob> said while away 2"],
        "{lobby:#?}"
    );
    assert!(lobby.iter().all(|l| !l.contains(PASSWORD)), "{lobby:#?}");
    // bob saw alice come back as herself, on the account.
    sees(&mut bob, "JOIN alice");
}

#[test]
fn issue_16_plain_logs_in_again_after_a_server_restart_and_prints_what_it_missed() {
    let data = tempfile::tempdir().unwrap();
    let keep = |config: &mut Config| {
        config.ephemeral = false;
        config.data_dir = data.path().to_owned();
    };
    let server = TestServer::start_restartable_with(keep);
    let addr = server.addr;
    register(&server, "alice", PASSWORD);
    let relay = Relay::start(addr);
    let mut bob = server.client("bob");
    let mut chat = PlainChat::spawn_with(relay.addr, "alice", &[], Some(PASSWORD));
    chat.expect(GREETING);
    chat.expect(REGISTERED);
    chat.expect("OK LOGIN alice");
    chat.expect_note("chat: logged in as alice");
    bob.send("ALL before");
    chat.expect_line("ALL bob before");

    relay.cut();
    chat.expect_note("reconnecting");
    bob.send("ALL said while away 1");
    bob.barrier();
    drop(bob);
    server.shutdown();
    let server = TestServer::with(|config| {
        keep(config);
        config.addr = addr;
    });
    let mut bob = server.client("bob");
    bob.send("ALL said while away 2");
    bob.barrier();
    relay.open();

    chat.expect_note("chat: logged in as alice");
    chat.expect_note("chat: 2 missed while away in *");
    bob.send("ALL after");
    let printed = chat.lines_until("ALL bob after");
    let login = printed.iter().position(|l| l == "OK LOGIN alice");
    let first_missed = printed.iter().position(|l| l.starts_with("HIST "));
    assert!(login.is_some() && login < first_missed, "{printed:#?}");
    let missed: Vec<&String> = printed.iter().filter(|l| l.starts_with("HIST ")).collect();
    assert_eq!(missed.len(), 2, "{printed:#?}");
    assert!(
        missed[0].ends_with(" ALL bob said while away 1"),
        "{printed:#?}"
    );
    assert!(
        missed[1].ends_with(" ALL bob said while away 2"),
        "{printed:#?}"
    );
    chat.close_stdin();
    chat.expect("BYE");
    assert!(chat.wait().success());
}
