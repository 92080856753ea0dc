//! What the account tests share: the password they use, a client registered or logged in,
//! and a server keeping its data in a folder of the test's (for what must outlive a
//! restart).

use std::path::Path;

use crate::support::{TestClient, TestServer};

pub const PASSWORD: &str = "correct-horse";

/// `nick`, registered with [`PASSWORD`] and logged in, on a connection of its own.
pub fn registered(server: &TestServer, nick: &str) -> TestClient {
    let mut client = server.client(nick);
    client.send(&format!("REGISTER {PASSWORD}"));
    client.expect(&format!("OK REGISTER {nick}"));
    client
}

/// A connection that logged in to `nick` (before any `NICK`).
pub fn logged_in(server: &TestServer, nick: &str) -> TestClient {
    let mut client = server.connect();
    client.send(&format!("LOGIN {nick} {PASSWORD}"));
    client.expect(&format!("OK LOGIN {nick}"));
    client
}

/// A connection that logged in to `nick`, and every line after `OK LOGIN` up to a barrier
/// (the messages that waited for it).
pub fn log_in(server: &TestServer, nick: &str) -> (TestClient, Vec<String>) {
    let mut client = logged_in(server, nick);
    let after = client.barrier();
    (client, after)
}

/// Sends `QUIT` and waits for the end, so the nick is free when it returns.
pub fn quit(mut client: TestClient) {
    client.send("QUIT");
    client.expect("BYE");
    client.expect_closed();
}

/// A server whose database is in `dir`, as a restart finds it.
pub fn server_in(dir: &Path) -> TestServer {
    let dir = dir.to_owned();
    TestServer::with(move |c| {
        c.ephemeral = false;
        c.data_dir = dir;
    })
}
