//! The core's limits hold for a WebSocket client as for a TCP one (issue 17): flood control
//! slows a flooding browser without losing a line, and the register timeout closes a
//! WebSocket that never picks a nick, with the `BYE` and then a close frame.

use std::time::Duration;

use chatd_testkit::{TestServer, WsClient, WsEnd};

#[test]
fn issue_17_a_flooding_websocket_client_is_slowed_and_loses_nothing() {
    const LINES: usize = 300;
    let server = TestServer::with_web(|config| {
        config.rate = 100;
        config.burst = 20;
    });
    let mut listener = server.client("listener");
    let mut flooder = WsClient::client(server.web_addr(), "flooder");
    listener.expect("JOIN flooder");
    for n in 0..LINES {
        flooder.send(&format!("ALL {n}"));
    }
    // A TCP client chats on meanwhile: its line is not queued behind the flood.
    let mut other = server.client("other");
    other.send("ALL not held up");
    let mut flood = 0;
    let mut other_seen = false;
    while flood < LINES || !other_seen {
        let line = listener.recv();
        if let Some(n) = line.strip_prefix("ALL flooder ") {
            assert_eq!(n, flood.to_string(), "in order, none lost");
            flood += 1;
        } else if line == "ALL other not held up" {
            assert!(
                flood < LINES,
                "the other client's line came before the flood ended"
            );
            other_seen = true;
        }
    }
    assert!(
        server.stats().load.flood_pauses > 0,
        "the WebSocket client was paused by flood control"
    );
    flooder.barrier();
}

#[test]
fn issue_17_a_websocket_that_never_picks_a_nick_is_closed_after_the_register_timeout() {
    let server = TestServer::with_web(|config| {
        config.register_timeout = Duration::from_millis(200);
    });
    let mut anonymous = WsClient::connect(server.web_addr());
    let (lines, end) = anonymous.until_end();
    assert_eq!(lines, ["BYE register timeout"]);
    assert_eq!(
        end,
        WsEnd::Closed {
            code: 1000,
            reason: "closed by the server".into()
        }
    );
    assert_eq!(server.stats().load.connections, 0);
}
