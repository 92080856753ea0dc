//! The extensions of issue 12 over TCP: `CAP`, `ME` (each recipient gets the `ME` line or the
//! `/me` message its capabilities call for, in the conversation's one order), `AWAY` and its
//! notice, `OWNER` on joining and on hand-over, and a v1 client beside them seeing only v1
//! lines.

use std::thread;

use crate::support::{TestClient, TestServer, with_caps};

/// Makes every client read what is pending (lobby `JOIN`s and the like), in order.
fn settle(clients: &mut [&mut TestClient]) -> Vec<Vec<String>> {
    clients.iter_mut().map(|client| client.barrier()).collect()
}

#[test]
fn issue_12_cap_turns_on_each_name_before_and_after_registration() {
    let server = TestServer::start();
    let mut client = server.connect();
    for (line, answer) in [
        ("CAP actions", "OK CAP actions"),
        ("cap AWAY", "OK CAP away"),
        ("CAP Owner", "OK CAP owner"),
        // Asking again is answered again.
        ("CAP actions", "OK CAP actions"),
    ] {
        client.send(line);
        client.expect(answer);
    }
    client.send("CAP colors");
    client.expect(
        "ERR BAD_CAP no capability called colors; there are actions, away, owner, presence, ids and files",
    );
    client.send("CAP actions away");
    client.expect_err("BAD_CAP");
    client.send("CAP");
    client.expect_err("MISSING_ARGUMENT");
    // The new commands that act on others need a nick, as MSG does.
    for line in ["ME * hi", "AWAY lunch", "AWAY"] {
        client.send(line);
        client.expect_err("NOT_REGISTERED");
    }
    client.send("NICK ann");
    client.expect("OK NICK ann");
    client.send("CAP owner");
    client.expect("OK CAP owner");
    client.expect_nothing_more();
}

#[test]
fn issue_12_me_reaches_each_client_in_its_form_and_in_one_order() {
    let server = TestServer::start();
    let mut v1 = server.client("val");
    let mut ext = with_caps(&server, "Xena", &["actions"]);
    let mut ann = server.client("ann");
    let mut bob = server.client("bob");
    let mut cy = server.client("cy");
    settle(&mut [&mut v1, &mut ext, &mut ann, &mut bob, &mut cy]);
    for client in [&mut v1, &mut ext, &mut ann, &mut bob] {
        client.send("JOIN #tea");
        client.barrier();
    }
    settle(&mut [&mut v1, &mut ext, &mut ann, &mut bob]);

    // Two senders at once, each mixing messages and actions, in the lobby and in the room.
    const EACH: usize = 200;
    thread::scope(|scope| {
        for sender in [&mut ann, &mut bob] {
            scope.spawn(move || {
                for n in 0..EACH {
                    match n % 4 {
                        0 => sender.send(&format!("ALL {n}")),
                        1 => sender.send(&format!("ME * {n}")),
                        2 => sender.send(&format!("MSG #tea {n}")),
                        _ => sender.send(&format!("ME #tea {n}")),
                    }
                }
                sender.barrier();
            });
        }
    });
    // Every line is queued now; the senders read each other's.
    settle(&mut [&mut ann, &mut bob, &mut cy]);
    let v1_lines: Vec<String> = (0..2 * EACH).map(|_| v1.recv()).collect();
    let ext_lines: Vec<String> = (0..2 * EACH).map(|_| ext.recv()).collect();
    for line in &v1_lines {
        assert!(
            line.starts_with("ALL ") || line.starts_with("MSG #tea "),
            "{line}"
        );
    }
    let actions = ext_lines.iter().filter(|l| l.starts_with("ME ")).count();
    assert_eq!(actions, EACH, "half the lines are actions");
    // Each conversation in one order: the lines differ only in the actions' spelling.
    let as_v1 = |line: &String| {
        if let Some(rest) = line.strip_prefix("ME * ") {
            let (from, text) = rest.split_once(' ').unwrap();
            format!("ALL {from} /me {text}")
        } else if let Some(rest) = line.strip_prefix("ME #tea ") {
            let (from, text) = rest.split_once(' ').unwrap();
            format!("MSG #tea {from} /me {text}")
        } else {
            line.clone()
        }
    };
    let lobby = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(as_v1)
            .filter(|l| l.starts_with("ALL "))
            .collect()
    };
    let room = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(as_v1)
            .filter(|l| l.starts_with("MSG #tea "))
            .collect()
    };
    assert_eq!(lobby(&ext_lines), lobby(&v1_lines));
    assert_eq!(room(&ext_lines), room(&v1_lines));
    assert!(v1_lines.contains(&"ALL ann /me 1".to_owned()));
    assert!(ext_lines.contains(&"ME * ann 1".to_owned()));
    assert!(v1_lines.contains(&"MSG #tea bob /me 3".to_owned()));
    assert!(ext_lines.contains(&"ME #tea bob 3".to_owned()));

    // A direct action: the target is the recipient's own nick, as it spells it.
    ann.send("ME xena waves");
    ann.send("ME VAL waves");
    ann.barrier();
    ext.expect("ME Xena ann waves");
    v1.expect("MSG ann /me waves");
    // No echo to the sender, and the errors of the line it stands for.
    cy.send("ME zed hi");
    cy.expect_err("NO_SUCH_NICK");
    cy.send("ME #tea hi");
    cy.expect_err("NOT_IN_ROOM");
    cy.send("ME #nope hi");
    cy.expect_err("NO_SUCH_ROOM");
    cy.send("ME #a.b hi");
    cy.expect_err("BAD_ROOM");
    cy.send("ME * ");
    cy.expect_err("MISSING_ARGUMENT");
    for client in [&mut ann, &mut bob, &mut cy] {
        client.expect_nothing_more();
    }
    v1.expect_nothing_more();
    ext.expect_nothing_more();
}

#[test]
fn issue_12_away_is_told_to_senders_with_cap_away_only() {
    let server = TestServer::start();
    let mut ann = with_caps(&server, "ann", &["away"]);
    let mut bob = server.client("bob");
    let mut cy = server.client("cy");
    settle(&mut [&mut ann, &mut bob, &mut cy]);
    cy.send("AWAY at lunch,  back at 2");
    cy.expect("OK AWAY on");
    ann.send("MSG cy hi");
    ann.send("PING after");
    // The notice comes right after the delivery, before the answer to the next line.
    ann.expect("AWAY cy at lunch,  back at 2");
    ann.expect("PONG after");
    cy.expect("MSG ann hi");
    ann.send("ME CY waves");
    ann.expect("AWAY cy at lunch,  back at 2");
    cy.expect("MSG ann /me waves");
    // A sender without the capability sees nothing new.
    bob.send("MSG cy hello");
    bob.expect_nothing_more();
    cy.expect("MSG bob hello");
    // Only direct lines are answered with the notice.
    ann.send("ALL everyone");
    ann.send("ME * waves");
    ann.expect_nothing_more();
    cy.expect("ALL ann everyone");
    cy.expect("ALL ann /me waves");
    // WHO is unchanged.
    ann.send("WHO");
    ann.expect("WHO ann bob cy");
    ann.expect("END WHO");
    cy.send("AWAY");
    cy.expect("OK AWAY off");
    ann.send("MSG cy back?");
    ann.expect_nothing_more();
    cy.expect("MSG ann back?");
    // Away ends with the connection.
    cy.send("AWAY gone");
    cy.expect("OK AWAY on");
    cy.send("QUIT");
    cy.expect("BYE");
    let mut cy = server.client("cy");
    ann.send("MSG cy again");
    assert_eq!(ann.barrier(), ["QUIT cy", "JOIN cy"]);
    cy.expect("MSG ann again");
}

#[test]
fn issue_12_owner_is_told_after_join_and_on_every_hand_over() {
    let server = TestServer::start();
    let mut ann = with_caps(&server, "ann", &["owner"]);
    let mut bob = with_caps(&server, "bob", &["owner"]);
    let mut cy = server.client("cy");
    let mut dee = with_caps(&server, "dee", &["owner"]);
    settle(&mut [&mut ann, &mut bob, &mut cy, &mut dee]);
    ann.send("JOIN #Tea");
    ann.expect("OK JOIN #Tea");
    ann.expect("WHO #Tea ann");
    ann.expect("END WHO #Tea");
    ann.expect("OWNER #Tea ann");
    bob.send("JOIN #tea");
    bob.expect("OK JOIN #Tea");
    bob.expect("WHO #Tea ann bob");
    bob.expect("END WHO #Tea");
    bob.expect("OWNER #Tea ann");
    // Without the capability, the v1 answer.
    cy.send("JOIN #tea");
    cy.expect("OK JOIN #Tea");
    cy.expect("WHO #Tea ann bob cy");
    cy.expect("END WHO #Tea");
    cy.expect_nothing_more();
    dee.send("JOIN #tea");
    assert_eq!(
        dee.barrier(),
        [
            "OK JOIN #Tea",
            "WHO #Tea ann bob cy dee",
            "END WHO #Tea",
            "OWNER #Tea ann",
        ]
    );
    settle(&mut [&mut ann, &mut bob, &mut cy]);

    // The owner parts: the longest-present member owns it, told after the PART.
    ann.send("PART #tea");
    ann.expect("OK PART #Tea");
    bob.expect("PART #Tea ann");
    bob.expect("OWNER #Tea bob");
    cy.expect("PART #Tea ann");
    dee.expect("PART #Tea ann");
    dee.expect("OWNER #Tea bob");
    // The owner disconnects: after its QUIT.
    bob.send("QUIT");
    bob.expect("BYE");
    cy.expect("QUIT bob");
    dee.expect("QUIT bob");
    dee.expect("OWNER #Tea cy");
    ann.expect("QUIT bob");
    // A member that does not own the room leaves: no change, nothing new.
    dee.send("PART #tea");
    dee.expect("OK PART #Tea");
    cy.expect("PART #Tea dee");
    dee.send("JOIN #tea");
    assert_eq!(
        dee.barrier(),
        [
            "OK JOIN #Tea",
            "WHO #Tea cy dee",
            "END WHO #Tea",
            "OWNER #Tea cy",
        ]
    );
    cy.expect("JOIN #Tea dee");
    cy.send("PART #tea");
    cy.expect("OK PART #Tea");
    assert_eq!(dee.barrier(), ["PART #Tea cy", "OWNER #Tea dee"]);
    // The last member leaves: the room is gone, no owner to tell.
    dee.send("PART #tea");
    dee.expect("OK PART #Tea");
    for client in [&mut ann, &mut cy, &mut dee] {
        client.expect_nothing_more();
    }
}

#[test]
fn issue_12_a_v1_client_among_extension_users_sees_only_v1_lines() {
    let server = TestServer::start();
    let mut val = server.client("val");
    let mut ann = with_caps(&server, "ann", &["actions", "away", "owner"]);
    let mut bob = with_caps(&server, "bob", &["actions", "away", "owner"]);
    settle(&mut [&mut val, &mut ann, &mut bob]);
    ann.send("JOIN #tea");
    ann.barrier();
    val.send("JOIN #tea");
    assert_eq!(
        val.barrier(),
        ["OK JOIN #tea", "WHO #tea ann val", "END WHO #tea"]
    );
    bob.send("JOIN #tea");
    bob.barrier();
    ann.send("ME * waves");
    ann.send("ME #tea nods");
    ann.send("ME val winks");
    ann.barrier();
    bob.send("AWAY brb");
    assert_eq!(
        bob.barrier(),
        ["ME * ann waves", "ME #tea ann nods", "OK AWAY on"]
    );
    ann.send("PART #tea");
    ann.barrier();
    // val messages someone away: delivered, and no notice.
    val.send("MSG bob are you there");
    assert_eq!(
        val.barrier(),
        [
            "JOIN #tea bob",
            "ALL ann /me waves",
            "MSG #tea ann /me nods",
            "MSG ann /me winks",
            "PART #tea ann",
        ]
    );
    // val owns #tea now (joined before bob); nobody tells val, bob is told.
    bob.barrier();
    val.send("KEY #tea k");
    val.expect("OK KEY #tea");
    val.expect_nothing_more();
}
