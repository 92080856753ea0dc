//! Direct conversations resumed after a reconnect (issue 16), end to end: a client logged in
//! to its account, cut off through a relay while the other party, a guest, writes to it (to
//! another client of the account meanwhile), the server restarts on its data folder, and the
//! guest writes to the account, offline now. Once logged in again,
//! the full-screen client (its net and `update`, no screen) shows each missed line once, in
//! order, in the direct tab; `chat --plain` prints each once as the server's `HIST` line.
//! The other clients speak the wire directly (`chatd-testkit`). Every wait has a deadline.

mod common;

use chatd_client::app::Conn;
use chatd_testkit::{Config, TestClient, TestServer};
use common::{Client, PlainChat, Relay, register, texts};

const PASSWORD: &str = "correct-horse-battery";

/// Reads `client`'s lines until one starting with `start` comes.
fn sees(client: &mut TestClient, start: &str) {
    while !client.recv().starts_with(start) {}
}

/// A server that keeps its data across a restart, in a folder of the test's own.
struct Restartable {
    data: tempfile::TempDir,
    server: TestServer,
}

impl Restartable {
    fn start() -> Restartable {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().to_owned();
        let server = TestServer::start_restartable_with(|config: &mut Config| {
            config.ephemeral = false;
            config.data_dir = dir.clone();
        });
        Restartable { data, server }
    }

    /// Stops the server cleanly and starts it again on the same address and data.
    fn restart(self) -> Restartable {
        let addr = self.server.addr;
        self.server.shutdown();
        let dir = self.data.path().to_owned();
        let server = TestServer::with(|config| {
            config.ephemeral = false;
            config.data_dir = dir;
            config.addr = addr;
        });
        Restartable {
            data: self.data,
            server,
        }
    }
}

/// While the account `alice` is away (its client cut off): `bob` writes to another client
/// of the account, which answers, and leaves; the server restarts; `bob` writes to the
/// account, offline now. Returns the server restarted and `bob` on it.
fn while_alice_is_away(server: Restartable, mut bob: TestClient) -> (Restartable, TestClient) {
    sees(&mut bob, "QUIT alice");
    let mut phone = server.server.connect();
    phone.send(&format!("LOGIN alice {PASSWORD}"));
    phone.expect("OK LOGIN alice");
    bob.send("MSG alice to the phone");
    phone.expect("MSG bob to the phone");
    phone.send("MSG bob from the phone");
    sees(&mut bob, "MSG alice from the phone");
    phone.send("QUIT");
    phone.expect("BYE");
    sees(&mut bob, "QUIT alice");
    // The lines kept for the account are on disk once the server stopped cleanly.
    bob.send("MSG alice stored before the restart");
    bob.expect("OK STORED alice");
    drop(bob);
    let server = server.restart();
    let mut bob = server.server.client("bob");
    for n in 1..=2 {
        bob.send(&format!("MSG alice stored {n}"));
        bob.expect("OK STORED alice");
    }
    (server, bob)
}

#[test]
fn issue_16_a_logged_in_client_shows_each_missed_direct_line_once_in_order() {
    let server = Restartable::start();
    register(&server.server, "alice", PASSWORD);
    let relay = Relay::start(server.server.addr);
    let mut bob = server.server.client("bob");
    let mut alice = Client::start_with_password(relay.addr, "alice", PASSWORD);
    alice.online();
    bob.send("MSG alice are you there?");
    alice.until("bob's tab", |c| c.has_line("bob", "*bob* are you there?"));
    alice.enter("/msg bob yes, here");
    sees(&mut bob, "MSG alice yes, here");

    relay.cut();
    alice.until("the loss", |c| matches!(c.app.conn, Conn::Waiting { .. }));
    let (_server, mut bob) = while_alice_is_away(server, bob);
    relay.open();

    alice.until("the missed lines", |c| {
        c.has_line("bob", "── 2 missed while away ──")
    });
    bob.send("MSG alice live again");
    alice.until("the next line", |c| c.has_line("bob", "*bob* live again"));
    let lines = texts(&alice.app, alice.tab_of("bob").unwrap());
    let rule = lines
        .iter()
        .position(|l| l == "── 2 missed while away ──")
        .unwrap();
    // After the notices of the reconnect and the login, the missed lines, then those that
    // waited for the login, then the live one.
    assert!(
        lines[..rule]
            .iter()
            .any(|l| l.starts_with("-!- logged in as alice"))
    );
    let in_order = [
        "*bob* to the phone",
        "*alice* from the phone",
        "*bob* stored before the restart",
        "*bob* stored 1",
        "*bob* stored 2",
        "*bob* live again",
    ];
    let at: Vec<usize> = in_order
        .iter()
        .map(|want| lines.iter().position(|l| l == want).unwrap())
        .collect();
    assert_eq!(at[..2], [rule + 1, rule + 2], "{lines:#?}");
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{lines:#?}");
    for line in in_order
        .iter()
        .chain(&["*bob* are you there?", "*alice* yes, here"])
    {
        let times = lines.iter().filter(|l| l == line).count();
        assert_eq!(times, 1, "{line:?}: {lines:#?}");
    }
}

/// `HIST <target> <id> <time> <line>` as `<target> <line>`: the id and time vary.
fn without_id(line: &str) -> Option<String> {
    let mut parts = line.strip_prefix("HIST ")?.splitn(4, ' ');
    let target = parts.next()?;
    let (_id, _time) = (parts.next()?, parts.next()?);
    Some(format!("{target} {}", parts.next()?))
}

#[test]
fn issue_16_plain_prints_each_missed_direct_line_once_after_logging_in_again() {
    let server = Restartable::start();
    register(&server.server, "alice", PASSWORD);
    let relay = Relay::start(server.server.addr);
    let mut bob = server.server.client("bob");
    let mut chat = PlainChat::spawn_with(relay.addr, "alice", &[], Some(PASSWORD));
    chat.expect_line("OK LOGIN alice");
    chat.expect_note("chat: logged in as alice");
    bob.send("MSG alice are you there?");
    chat.expect_line("MSG bob are you there?");
    chat.type_line("/msg bob yes, here");
    sees(&mut bob, "MSG alice yes, here");

    relay.cut();
    chat.expect_note("reconnecting");
    let (_server, mut bob) = while_alice_is_away(server, bob);
    relay.open();

    chat.expect_note("chat: logged in as alice");
    chat.expect_note("chat: 3 missed while away in bob");
    bob.send("MSG alice live again");
    let printed = chat.lines_until("MSG bob live again");
    let hist: Vec<String> = printed.iter().filter_map(|l| without_id(l)).collect();
    // Those that waited for the login, as they came; then the missed ones, our own line
    // from before the loss too (it was not printed live).
    assert_eq!(
        hist,
        [
            "bob MSG bob stored before the restart",
            "bob MSG bob stored 1",
            "bob MSG bob stored 2",
            "bob MSG alice yes, here",
            "bob MSG bob to the phone",
            "bob MSG alice from the phone",
        ],
        "{printed:#?}"
    );
    assert!(
        printed.iter().all(|l| !l.starts_with("PONG")),
        "{printed:#?}"
    );
    chat.close_stdin();
    chat.expect("BYE");
    assert!(chat.wait().success());
}
