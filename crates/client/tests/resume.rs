//! Resume after a reconnect (issue 15), end to end: the full-screen client (its net and
//! `update`, no screen) reaches an in-process server through a relay that the test cuts, so
//! that it is away while another client keeps talking; when it comes back, every line it
//! missed shows once, in order, under the rule that counts them, in the lobby and in its
//! room. Once with the server up all along, once with a server restart while it is away;
//! and `chat --plain`, which prints the missed lines as the server's `HIST` lines.
//! The other client speaks the wire directly (`chatd-testkit`). Every wait has a deadline.

mod common;

use chatd_client::app::Conn;
use chatd_testkit::{TestClient, TestServer};
use common::{Client, PlainChat, Relay, texts};

/// Reads `client`'s lines until `line` comes (the lines before it are not looked at).
fn sees(client: &mut TestClient, line: &str) {
    while client.recv() != line {}
}

/// A connection registered as `nick` and a member of `#rust`.
fn talker(server: &TestServer, nick: &str) -> TestClient {
    let mut client = server.client(nick);
    client.send("JOIN #rust");
    sees(&mut client, "END WHO #rust");
    client
}

/// Tab `tab` of `client` shows the rule for `missed.len()` missed lines, then those lines in
/// order, each of them only there.
fn assert_resumed(client: &Client, tab: &str, missed: &[String]) {
    let lines = texts(&client.app, client.tab_of(tab).unwrap());
    let rule = format!("── {} missed while away ──", missed.len());
    let at = lines
        .iter()
        .position(|line| *line == rule)
        .unwrap_or_else(|| panic!("no {rule:?} in {tab}: {lines:#?}"));
    assert_eq!(lines[at + 1..at + 1 + missed.len()], *missed, "{lines:#?}");
    for line in missed {
        let times = lines.iter().filter(|l| *l == line).count();
        assert_eq!(times, 1, "{line:?} in {tab}: {lines:#?}");
    }
}

/// alice, through `relay`, in `#rust`, having seen `bob`'s first lines and said one herself.
fn alice_in_rust(relay: &Relay, bob: &mut TestClient) -> Client {
    let mut alice = Client::start(relay.addr, "alice");
    alice.online();
    alice.enter("/join #rust");
    alice.until("the room", |c| c.tab_of("#rust").is_some());
    bob.send("ALL before");
    bob.send("MSG #rust before in rust");
    alice.until("bob's lines", |c| {
        c.has_line("lobby", "<bob> before") && c.has_line("#rust", "<bob> before in rust")
    });
    // Her own line comes back in the history of the time she was away: shown once.
    alice.enter("mine");
    sees(bob, "MSG #rust alice mine");
    alice
}

fn lines(format: impl Fn(usize) -> String, count: usize) -> Vec<String> {
    (1..=count).map(format).collect()
}

#[test]
fn issue_15_a_client_cut_off_shows_every_missed_line_once_in_order() {
    let server = TestServer::start();
    let relay = Relay::start(server.addr);
    let mut bob = talker(&server, "bob");
    let mut alice = alice_in_rust(&relay, &mut bob);

    relay.cut();
    alice.until("the loss", |c| matches!(c.app.conn, Conn::Waiting { .. }));
    for n in 1..=5 {
        bob.send(&format!("ALL missed {n}"));
    }
    for n in 1..=3 {
        bob.send(&format!("MSG #rust missed {n}"));
    }
    bob.send("MSG #rust /me waves");
    // Every line is kept once the barrier is answered.
    bob.barrier();
    relay.open();

    alice.until("the lobby's missed lines", |c| {
        c.has_line("lobby", "── 5 missed while away ──")
    });
    alice.until("the room's missed lines", |c| {
        c.has_line("#rust", "── 4 missed while away ──")
    });
    assert_resumed(&alice, "lobby", &lines(|n| format!("<bob> missed {n}"), 5));
    let mut in_rust = lines(|n| format!("<bob> missed {n}"), 3);
    in_rust.push("* bob waves".to_owned());
    assert_resumed(&alice, "#rust", &in_rust);
    let rust = texts(&alice.app, alice.tab_of("#rust").unwrap());
    assert_eq!(rust.iter().filter(|l| *l == "<alice> mine").count(), 1);

    // Live again: the next line comes once, after the missed ones.
    bob.send("ALL after");
    alice.until("the next line", |c| c.has_line("lobby", "<bob> after"));
    let lobby = texts(&alice.app, 0);
    assert_eq!(lobby.iter().filter(|l| *l == "<bob> after").count(), 1);
    let last_missed = lobby.iter().position(|l| l == "<bob> missed 5").unwrap();
    let after = lobby.iter().position(|l| l == "<bob> after").unwrap();
    assert!(last_missed < after, "{lobby:#?}");
}

#[test]
fn issue_15_after_a_server_restart_the_lines_said_meanwhile_show_once_in_order() {
    // The history store in a folder of its own, kept across the restart.
    let data = tempfile::tempdir().unwrap();
    let keep_history = |config: &mut chatd_testkit::Config| {
        config.ephemeral = false;
        config.data_dir = data.path().to_owned();
    };
    let server = TestServer::start_restartable_with(keep_history);
    let addr = server.addr;
    let relay = Relay::start(addr);
    let mut bob = talker(&server, "bob");
    let mut alice = alice_in_rust(&relay, &mut bob);

    // alice is kept away (the relay refuses her) while bob talks, the server restarts, and
    // bob, back on the new server, talks on. The lobby's history outlives the restart; the
    // room does not (rooms end with their last member), so its missed lines are those said
    // after the restart.
    relay.cut();
    alice.until("the loss", |c| matches!(c.app.conn, Conn::Waiting { .. }));
    for n in 1..=2 {
        bob.send(&format!("ALL said while away {n}"));
    }
    bob.barrier();
    drop(bob);
    server.shutdown();
    let server = TestServer::with(|config| {
        keep_history(config);
        config.addr = addr;
    });
    let mut bob = talker(&server, "bob");
    for n in 3..=4 {
        bob.send(&format!("ALL said while away {n}"));
    }
    for n in 1..=2 {
        bob.send(&format!("MSG #rust said while away {n}"));
    }
    bob.barrier();
    relay.open();

    alice.until("the lobby's missed lines", |c| {
        c.has_line("lobby", "── 4 missed while away ──")
    });
    alice.until("the room's missed lines", |c| {
        c.has_line("#rust", "── 2 missed while away ──")
    });
    assert_resumed(
        &alice,
        "lobby",
        &lines(|n| format!("<bob> said while away {n}"), 4),
    );
    assert_resumed(
        &alice,
        "#rust",
        &lines(|n| format!("<bob> said while away {n}"), 2),
    );
    // What was shown before the restart is still there, once.
    let rust = texts(&alice.app, alice.tab_of("#rust").unwrap());
    assert_eq!(
        rust.iter().filter(|l| *l == "<bob> before in rust").count(),
        1
    );
}

/// `HIST <target> <id> <time> <line>` as (`<target>`, `<line>`): the id and time vary.
fn hist_parts(line: &str) -> Option<(String, String)> {
    let mut parts = line.strip_prefix("HIST ")?.splitn(4, ' ');
    let target = parts.next()?.to_owned();
    let (_id, _time) = (parts.next()?, parts.next()?);
    Some((target, parts.next()?.to_owned()))
}

#[test]
fn issue_15_plain_mode_reconnects_and_prints_every_missed_line_once_in_order() {
    let server = TestServer::start();
    let relay = Relay::start(server.addr);
    let mut alice = talker(&server, "alice");
    let mut dave = PlainChat::spawn(relay.addr, "dave");
    dave.expect("HELLO chatd 0.1.0 - type HELP for commands");
    dave.expect("OK NICK dave");
    dave.type_line("/join #rust");
    dave.expect("OK JOIN #rust");
    sees(&mut alice, "JOIN #rust dave");
    alice.send("ALL before");
    alice.send("MSG #rust before in rust");
    dave.expect_line("MSG #rust alice before in rust");

    relay.cut();
    dave.expect_note("the server closed the connection; reconnecting");
    for n in 1..=3 {
        alice.send(&format!("ALL missed {n}"));
    }
    for n in 1..=2 {
        alice.send(&format!("MSG #rust missed {n}"));
    }
    alice.barrier();
    relay.open();

    dave.expect_note("chat: 3 missed while away in *");
    dave.expect_note("chat: 2 missed while away in #rust");
    alice.send("ALL after");
    let printed = dave.lines_until("ALL alice after");
    let missed: Vec<(String, String)> = printed.iter().filter_map(|l| hist_parts(l)).collect();
    let want = |target: &str, line: String| (target.to_owned(), line);
    let mut expected: Vec<(String, String)> = (1..=3)
        .map(|n| want("*", format!("ALL alice missed {n}")))
        .collect();
    expected.extend((1..=2).map(|n| want("#rust", format!("MSG #rust alice missed {n}"))));
    assert_eq!(missed, expected, "{printed:#?}");
    // It joined the room again on its own, and nothing was printed twice.
    assert!(printed.iter().any(|l| l == "OK JOIN #rust"), "{printed:#?}");
    assert_eq!(printed.iter().filter(|l| l.contains("before")).count(), 0);
    dave.close_stdin();
    dave.expect("BYE");
    assert!(dave.wait().success());
}
