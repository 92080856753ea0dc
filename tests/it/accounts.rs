//! Accounts over TCP (issue 16, points 1 to 4): `REGISTER`, `LOGIN`, `PASSWORD` and
//! `UNREGISTER` with every answer and error of the contract, protected nicks, one connection
//! per account, throttled failures, and chat that stays quick while logins are hashed.

use std::thread;
use std::time::{Duration, Instant};

use crate::account_support::{PASSWORD, logged_in, quit, registered};
use crate::stats::stats;
use crate::support::{TestClient, TestServer};

#[test]
fn issue_16_a_registered_nick_is_taken_only_by_logging_in() {
    let server = TestServer::start();
    let alice = registered(&server, "alice");
    quit(alice);
    let mut guest = server.connect();
    guest.send("NICK alice");
    assert_eq!(
        guest.recv(),
        "ERR NICK_REGISTERED alice is registered; LOGIN alice <password>"
    );
    // Case does not matter to a nick, nor to its protection.
    guest.send("NICK ALICE");
    guest.expect_err("NICK_REGISTERED");
    guest.send("LOGIN alice wrong-password");
    assert_eq!(guest.recv(), "ERR BAD_LOGIN wrong nick or password");
    let mut bob = server.client("bob");
    guest.send(&format!("LOGIN alice {PASSWORD}"));
    guest.expect("OK LOGIN alice");
    // Logged in is registered: the others are told as for a NICK.
    assert_eq!(bob.recv(), "JOIN alice");
    guest.send("ALL hello");
    assert_eq!(bob.recv(), "ALL alice hello");
}

#[test]
fn issue_16_a_login_before_nick_registers_the_connection_and_lines_after_it_wait_for_it() {
    let server = TestServer::start();
    quit(registered(&server, "alice"));
    let mut bob = server.client("bob");
    let mut alice = server.connect();
    // Pipelined: the ALL is read with the LOGIN, and must wait for its answer.
    alice.send_raw(format!("LOGIN alice {PASSWORD}\nALL first words\n").as_bytes());
    alice.expect("OK LOGIN alice");
    assert_eq!(bob.recv(), "JOIN alice");
    assert_eq!(bob.recv(), "ALL alice first words");
}

#[test]
fn issue_16_an_unknown_account_and_a_wrong_password_get_the_same_answer() {
    let server = TestServer::start();
    let _alice = registered(&server, "alice");
    let mut guest = server.connect();
    guest.send("LOGIN alice not-her-password");
    let wrong = guest.recv();
    guest.send("LOGIN nobody not-a-password");
    let unknown = guest.recv();
    assert_eq!(wrong, "ERR BAD_LOGIN wrong nick or password");
    assert_eq!(unknown, wrong);
}

#[test]
fn issue_16_register_needs_a_nick_a_strong_password_and_a_free_account() {
    let server = TestServer::start();
    let mut guest = server.connect();
    guest.send(&format!("REGISTER {PASSWORD}"));
    guest.expect_err("NOT_REGISTERED");
    let mut ann = server.client("ann");
    for weak in ["pw12", &"x".repeat(129), "two words"] {
        ann.send(&format!("REGISTER {weak}"));
        let answer = ann.recv();
        assert!(
            answer.starts_with("ERR WEAK_PASSWORD "),
            "{weak:?}: {answer}"
        );
        assert!(
            !answer.contains(weak),
            "the password is never echoed: {answer}"
        );
    }
    // 8 and 128 bytes are fine.
    ann.send("REGISTER 12345678");
    ann.expect("OK REGISTER ann");
    ann.send(&format!("REGISTER {}", "y".repeat(128)));
    assert_eq!(
        ann.recv(),
        "ERR NICK_REGISTERED ann is registered; LOGIN ann <password>"
    );
}

#[test]
fn issue_16_password_changes_the_password_of_the_logged_in_account_only() {
    let server = TestServer::start();
    let mut guest = server.client("guest");
    guest.send(&format!("PASSWORD {PASSWORD} new-password"));
    guest.expect_err("LOGIN_REQUIRED");
    let mut alice = registered(&server, "alice");
    alice.send("PASSWORD wrong-password new-password");
    guest.barrier();
    assert_eq!(alice.recv(), "ERR BAD_LOGIN wrong nick or password");
    alice.send(&format!("PASSWORD {PASSWORD} short"));
    alice.expect_err("WEAK_PASSWORD");
    alice.send(&format!("PASSWORD {PASSWORD} new-password"));
    alice.expect("OK PASSWORD");
    quit(alice);
    let mut again = server.connect();
    again.send(&format!("LOGIN alice {PASSWORD}"));
    again.expect_err("BAD_LOGIN");
    again.send("LOGIN alice new-password");
    again.expect("OK LOGIN alice");
}

#[test]
fn issue_16_unregister_frees_the_nick() {
    let server = TestServer::start();
    let mut guest = server.client("guest");
    guest.send(&format!("UNREGISTER {PASSWORD}"));
    guest.expect_err("LOGIN_REQUIRED");
    let mut alice = registered(&server, "alice");
    alice.send("UNREGISTER wrong-password");
    alice.expect_err("BAD_LOGIN");
    alice.send(&format!("UNREGISTER {PASSWORD}"));
    alice.expect("OK UNREGISTER alice");
    // No longer logged in: nothing to change.
    alice.send(&format!("PASSWORD {PASSWORD} new-password"));
    alice.expect_err("LOGIN_REQUIRED");
    quit(alice);
    let mut taker = server.connect();
    taker.send("NICK alice");
    taker.expect("OK NICK alice");
    taker.send(&format!("LOGIN alice {PASSWORD}"));
    taker.expect_err("BAD_LOGIN");
}

#[test]
fn issue_16_a_second_login_ends_the_first_connection() {
    let server = TestServer::start();
    let mut laptop = registered(&server, "alice");
    let mut bob = server.client("bob");
    assert_eq!(laptop.recv(), "JOIN bob");
    let mut phone = logged_in(&server, "alice");
    assert_eq!(laptop.recv(), "BYE logged in elsewhere");
    laptop.expect_closed();
    assert_eq!(bob.recv(), "QUIT alice logged in elsewhere");
    assert_eq!(bob.recv(), "JOIN alice");
    phone.send("ALL from the phone");
    assert_eq!(bob.recv(), "ALL alice from the phone");
}

#[test]
fn issue_16_renaming_leaves_the_account() {
    let server = TestServer::start();
    let mut alice = registered(&server, "alice");
    alice.send("NICK al");
    alice.expect("OK NICK al");
    alice.send("NICK alice");
    alice.expect_err("NICK_REGISTERED");
    alice.send(&format!("PASSWORD {PASSWORD} new-password"));
    alice.expect_err("LOGIN_REQUIRED");
    // Logging in again renames the connection back.
    alice.send(&format!("LOGIN alice {PASSWORD}"));
    alice.expect("OK LOGIN alice");
}

#[test]
fn issue_16_a_logged_in_client_may_change_the_case_of_its_nick() {
    let server = TestServer::start();
    let mut alice = registered(&server, "alice");
    alice.send("NICK Alice");
    alice.expect("OK NICK Alice");
    alice.send(&format!("PASSWORD {PASSWORD} new-password"));
    alice.expect("OK PASSWORD");
}

/// Waits (with a deadline) until `STATS logins_failed` is `count`: the server has checked
/// that many wrong passwords, whether or not their answers have been sent.
fn wait_for_failed_checks(watcher: &mut TestClient, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let failed = stats(watcher)["logins_failed"];
        if failed == count {
            return;
        }
        assert!(failed < count, "{failed} failed checks, expected {count}");
        assert!(
            Instant::now() < deadline,
            "{failed} failed checks, expected {count}"
        );
    }
}

#[test]
fn issue_16_repeated_failures_are_slowed_then_refused() {
    let server = TestServer::start();
    let _alice = registered(&server, "alice");
    let mut watcher = server.client("watcher");
    let mut guesser = server.connect();
    guesser.set_deadline(Duration::from_secs(20));
    // The first three wrong passwords are answered at once.
    for n in 0..3 {
        guesser.send(&format!("LOGIN alice guess-{n}"));
        guesser.expect("ERR BAD_LOGIN wrong nick or password");
    }
    // The fourth one's answer waits a second, the fifth's two.
    for (n, wait) in [(3, 1), (4, 2)] {
        let asked = Instant::now();
        guesser.send(&format!("LOGIN alice guess-{n}"));
        // While it waits, nobody from this address and nobody for this account is checked,
        // not even with the right password: parallel connections do not skip the waits.
        wait_for_failed_checks(&mut watcher, n + 1);
        let mut owner = server.connect();
        owner.send(&format!("LOGIN alice {PASSWORD}"));
        let answer = owner.recv();
        assert!(
            answer.starts_with("ERR TOO_MANY_ATTEMPTS too many failed logins; try again in "),
            "{answer}"
        );
        guesser.expect("ERR BAD_LOGIN wrong nick or password");
        assert!(asked.elapsed() >= Duration::from_secs(wait));
    }
    // Once the wait is over, the right password works, and the answer comes at once.
    guesser.send(&format!("LOGIN alice {PASSWORD}"));
    guesser.expect("OK LOGIN alice");
    // The registering connection held the account: ended, as any second login does.
    watcher.expect("QUIT alice logged in elsewhere");
    watcher.expect("JOIN alice");
    assert_eq!(stats(&mut watcher)["logins_failed"], 5);
}

#[test]
fn issue_16_chat_stays_quick_during_two_hundred_parallel_logins() {
    let server = TestServer::start();
    quit(registered(&server, "target"));
    let mut watcher = server.client("watcher");
    let mut idle_rtt = Duration::ZERO;
    for _ in 0..20 {
        let sent = Instant::now();
        watcher.barrier();
        idle_rtt = idle_rtt.max(sent.elapsed());
    }
    let flood_started = Instant::now();
    let (answers, worst) = thread::scope(|scope| {
        let logins: Vec<_> = (0..200)
            .map(|_| {
                let mut client = server.connect();
                client.set_deadline(Duration::from_secs(120));
                scope.spawn(move || {
                    client.send(&format!("LOGIN target {PASSWORD}"));
                    let answer = client.recv();
                    (answer, client)
                })
            })
            .collect();
        // While they are hashed: the watcher's round trips.
        let mut worst = Duration::ZERO;
        let mut pings = 0;
        while pings < 20 || (flood_started.elapsed() < Duration::from_secs(2) && pings < 500) {
            let sent = Instant::now();
            watcher.barrier();
            worst = worst.max(sent.elapsed());
            pings += 1;
        }
        let answers: Vec<String> = logins
            .into_iter()
            .map(|login| login.join().unwrap().0)
            .collect();
        (answers, worst)
    });
    let flood_took = flood_started.elapsed();
    assert!(
        answers.iter().all(|a| a == "OK LOGIN target"),
        "{answers:#?}"
    );
    // The logins take seconds of hashing; a chat line's round trip stays far below a
    // single hash's share of that.
    assert!(
        worst < Duration::from_millis(250),
        "PING round trip {worst:?} during {flood_took:?} of logins (idle: {idle_rtt:?})"
    );
}
