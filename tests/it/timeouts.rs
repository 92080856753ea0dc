//! Dead peers: a connection that never registers is closed after `--register-timeout`; a
//! silent client gets `PING` after `--idle-timeout` and is closed with `ping timeout` if it
//! stays silent as long again; a client that answers (with `PONG` or any line) stays.

use std::time::Duration;

use crate::support::TestServer;

fn server(register: u64, idle: u64) -> TestServer {
    TestServer::with(|c| {
        c.register_timeout = Duration::from_millis(register);
        c.idle_timeout = Duration::from_millis(idle);
    })
}

#[test]
fn a_connection_without_a_nick_is_closed_after_the_register_timeout() {
    let server = server(200, 60_000);
    let mut anon = server.connect();
    let mut alice = server.client("alice");
    anon.expect("BYE register timeout");
    anon.expect_closed();
    // The registered client is untouched, although as old.
    alice.expect_nothing_more();
    alice.send("WHO");
    alice.expect("WHO alice");
    alice.expect("END WHO");
}

#[test]
fn a_silent_client_is_pinged_then_closed_and_the_others_are_told() {
    let server = server(60_000, 200);
    let mut silent = server.client("silent");
    let mut lively = server.client("lively");
    silent.expect("JOIN lively");
    silent.expect("PING idle");
    // `lively` answers every PING and stays; PINGs and the QUIT come in either order.
    let mut quit_seen = false;
    let mut pings = 0;
    while !quit_seen || pings < 2 {
        match lively.recv().as_str() {
            "PING idle" => {
                pings += 1;
                lively.send("PONG idle");
            }
            "QUIT silent ping timeout" => quit_seen = true,
            other => panic!("unexpected {other:?}"),
        }
    }
    silent.expect("BYE ping timeout");
    silent.expect_closed();
    lively.send("WHO");
    lively.expect("WHO lively");
    lively.expect("END WHO");
}
