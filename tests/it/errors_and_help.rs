//! Errors that name the actual problem, and the two queries that replaced errors (issue 12):
//! `MISSING_ARGUMENT` texts that say what is missing, `TOPIC #room` as a question,
//! `BAD_ARGUMENT` for a switch that is neither `on` nor `off`, and `HELP <command>`.

use crate::support::{TestClient, TestServer};

/// Registered clients with the lobby `JOIN` lines of each other already read.
fn clients<const N: usize>(server: &TestServer, nicks: [&str; N]) -> [TestClient; N] {
    let mut clients = nicks.map(|nick| server.client(nick));
    for client in &mut clients {
        client.barrier();
    }
    clients
}

#[test]
fn issue_12_missing_argument_texts_name_what_is_missing() {
    let server = TestServer::start();
    let [mut ann, _bob] = clients(&server, ["ann", "bob"]);
    ann.send("JOIN #tea");
    ann.barrier();
    for (line, text) in [
        ("MSG bob", "MSG needs a text after bob; try HELP MSG"),
        ("MSG bob   ", "MSG needs a text after bob; try HELP MSG"),
        ("MSG #tea", "MSG needs a text after #tea; try HELP MSG"),
        ("MSG", "MSG needs a nick or #room and a text; try HELP MSG"),
        ("NICK", "NICK needs a nick; try HELP NICK"),
        ("ALL", "ALL needs a text; try HELP ALL"),
        ("JOIN", "JOIN needs a room; try HELP JOIN"),
        ("PART", "PART needs a room; try HELP PART"),
        ("TOPIC", "TOPIC needs a room; try HELP TOPIC"),
        ("KEY", "KEY needs a room; try HELP KEY"),
        (
            "PRIVATE",
            "PRIVATE needs a room and on or off; try HELP PRIVATE",
        ),
        (
            "PRIVATE #tea",
            "PRIVATE needs on or off after #tea; try HELP PRIVATE",
        ),
        ("INVITE", "INVITE needs a nick and a room; try HELP INVITE"),
        (
            "INVITE bob",
            "INVITE needs a room after bob; try HELP INVITE",
        ),
        ("CAP", "CAP needs a name; try HELP CAP"),
        ("ME", "ME needs a target and a text; try HELP ME"),
        ("ME bob", "ME needs a text after bob; try HELP ME"),
    ] {
        ann.send(line);
        ann.expect(&format!("ERR MISSING_ARGUMENT {text}"));
    }
    ann.expect_nothing_more();
}

#[test]
fn issue_12_topic_alone_shows_the_topic_to_whoever_may_see_the_room() {
    let server = TestServer::start();
    let [mut ann, mut bob] = clients(&server, ["ann", "bob"]);
    ann.send("JOIN #Tea");
    ann.barrier();
    // No topic yet: the room's name alone. Bob is no member; the room is public.
    bob.send("TOPIC #tea");
    bob.expect("TOPIC #Tea");
    ann.send("TOPIC #tea biscuits  and cake");
    ann.expect("TOPIC #Tea ann biscuits  and cake");
    bob.send("TOPIC #TEA");
    bob.expect("TOPIC #Tea ann biscuits  and cake");
    // A question is answered to the asker alone.
    ann.expect_nothing_more();
    ann.send("PRIVATE #tea on");
    ann.expect("OK PRIVATE #Tea on");
    bob.send("TOPIC #tea");
    bob.expect_err("NO_SUCH_ROOM");
    ann.send("TOPIC #tea");
    ann.expect("TOPIC #Tea ann biscuits  and cake");
    bob.send("TOPIC #nope");
    bob.expect_err("NO_SUCH_ROOM");
    bob.send("TOPIC #a.b");
    bob.expect_err("BAD_ROOM");
    // Setting stays members-only.
    bob.send("TOPIC #tea coffee");
    bob.expect_err("NO_SUCH_ROOM");
    ann.expect_nothing_more();
}

#[test]
fn issue_12_a_switch_that_is_neither_on_nor_off_is_a_bad_argument() {
    let server = TestServer::start();
    let [mut ann] = clients(&server, ["ann"]);
    ann.send("JOIN #tea");
    ann.barrier();
    ann.send("PRIVATE #tea maybe");
    ann.expect("ERR BAD_ARGUMENT PRIVATE takes on or off, not \"maybe\"");
    ann.send("PRIVATE #tea on off");
    ann.expect("ERR BAD_ARGUMENT PRIVATE takes on or off, not \"on off\"");
    // Counted first, then checked left to right: the room is wrong before the switch.
    ann.send("PRIVATE #a.b maybe");
    ann.expect_err("BAD_ROOM");
    ann.send("PRIVATE #tea");
    ann.expect_err("MISSING_ARGUMENT");
    ann.send("PRIVATE #tea ON");
    ann.expect("OK PRIVATE #tea on");
}

/// The lines of one `HELP` answer, up to and without `END HELP`.
fn help_lines(client: &mut TestClient, line: &str) -> Vec<String> {
    client.send(line);
    let mut lines = Vec::new();
    loop {
        let line = client.recv();
        if line == "END HELP" {
            return lines;
        }
        lines.push(line);
    }
}

#[test]
fn issue_12_help_with_a_command_shows_that_command_only() {
    let server = TestServer::start();
    // Before registration, like HELP alone.
    let mut client = server.connect();
    let msg = [
        "HELP MSG <nick> <text>     send a private message",
        "HELP MSG #room <text>      send to a room",
    ];
    assert_eq!(help_lines(&mut client, "HELP MSG"), msg);
    assert_eq!(help_lines(&mut client, "help msg extra words"), msg);
    assert_eq!(
        help_lines(&mut client, "HELP me"),
        ["HELP ME <target> <text>    an action (/me) to * (everyone), a nick or a #room"]
    );
    client.send("HELP bogus");
    client.expect("ERR UNKNOWN_COMMAND no command bogus; HELP lists them");
    // HELP alone still lists every command, the new ones included.
    let all = help_lines(&mut client, "HELP");
    assert_eq!(all.len(), 27, "{all:?}");
    for word in [
        "ME",
        "UPLOAD <t> <n> <name>",
        "AWAY",
        "CAP",
        "STATS",
        "HISTORY <target> [n]",
        "TOPIC #room [text]",
        "HELP [command]",
    ] {
        let prefix = format!("HELP {word} ");
        assert!(all.iter().any(|line| line.starts_with(&prefix)), "{word}");
    }
    client.expect_nothing_more();
}
