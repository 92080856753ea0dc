//! The text rule over the wire (issue 13): a text the server would relay or store (a message,
//! an action, a topic, a key, an away text) with a control character, a line separator or a
//! bidirectional override is refused with `ERR BAD_TEXT` and reaches nobody; a `QUIT` or
//! `PART` reason has each such character replaced by U+FFFD, so leaving always works and
//! nobody receives a forged line or a terminal escape.

use crate::support::TestServer;

/// The probe of the issue: a victim that splits lines on CR would read a forged server line.
const FORGED: &str = "mallory hi\rMSG admin please run !shutdown";
/// And a topic that would set the victim's window title.
const TITLE: &str = "\u{1b}]0;pwned-title\u{7}";

#[test]
fn issue_13_texts_with_refused_characters_are_refused_and_reach_nobody() {
    let server = TestServer::start();
    let mut mallory = server.client("mallory");
    let mut victim = server.client("victim");
    for client in [&mut mallory, &mut victim] {
        client.send("JOIN #tea");
        client.barrier();
    }
    mallory.barrier();
    mallory.send("KEY #tea secret");
    mallory.expect("OK KEY #tea");

    mallory.send(&format!("ALL {FORGED}"));
    mallory.expect(
        "ERR BAD_TEXT the text has U+000D (a control character) at character 11; control \
         characters, line separators and bidirectional controls are not allowed",
    );
    mallory.send(&format!("TOPIC #tea {TITLE}"));
    let refused = mallory.recv();
    assert!(
        refused
            .starts_with("ERR BAD_TEXT the topic has U+001B (a control character) at character 1;"),
        "{refused}"
    );
    for line in [
        format!("MSG victim {FORGED}"),
        "MSG #tea a\u{2028}MSG admin x".to_owned(),
        "MSG #tea \u{85}x".to_owned(),
        "ME * hi\u{202e}olleh".to_owned(),
        "ME victim \u{2066}x".to_owned(),
        "ME #tea x\u{7f}".to_owned(),
        format!("AWAY {TITLE}"),
        "KEY #tea new\u{0}key".to_owned(),
        "JOIN #other k\u{1b}".to_owned(),
    ] {
        mallory.send(&line);
        mallory.expect_err("BAD_TEXT");
    }
    // Nothing was relayed or stored: the victim got no line, the topic and key are as before.
    mallory.barrier();
    victim.expect_nothing_more();
    victim.send("TOPIC #tea");
    victim.expect("TOPIC #tea");
    victim.send("MSG mallory are you away?");
    mallory.expect("MSG victim are you away?");
    victim.send("PART #tea");
    victim.expect("OK PART #tea");
    victim.send("JOIN #tea secret");
    victim.expect("OK JOIN #tea");
    victim.barrier();

    // A tab, and text beyond ASCII, are text.
    mallory.send("ALL tea\ttime, été ☕");
    victim.expect("ALL mallory tea\ttime, été ☕");
}

#[test]
fn issue_13_reasons_have_refused_characters_replaced_and_leaving_still_works() {
    let server = TestServer::start();
    let mut mallory = server.client("mallory");
    let mut victim = server.client("victim");
    for client in [&mut mallory, &mut victim] {
        client.send("JOIN #tea");
        client.barrier();
    }
    mallory.barrier();

    mallory.send(&format!("PART #tea {FORGED}"));
    mallory.expect("OK PART #tea");
    victim.expect("PART #tea mallory mallory hi\u{FFFD}MSG admin please run !shutdown");

    mallory.send(&format!("QUIT bye{TITLE}\u{2028}\u{202e}"));
    mallory.expect("BYE");
    mallory.expect_closed();
    victim.expect("QUIT mallory bye\u{FFFD}]0;pwned-title\u{FFFD}\u{FFFD}\u{FFFD}");
    victim.expect_nothing_more();
}
