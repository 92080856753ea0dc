//! Tests of what each job does, on a book in memory with real hashes: every outcome, the
//! account's own spelling, a change that leaves the old password useless, and the throttle
//! as a client meets it (waits, then refusals without hashing, cleared by a success).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::*;
use crate::server::accounts::throttle::{FIRST_DELAY, FREE_FAILURES, LOCK_AFTER};

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

fn secret(text: &str) -> Password {
    Password::from(text.to_owned())
}

fn group(last: u8) -> AddressGroup {
    AddressGroup::of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
}

fn register(verifier: &Verifier, name: &str, password: &str) -> Outcome {
    let answer = verifier.answer(Job::Register {
        nick: nick(name),
        password: secret(password),
    });
    assert_eq!(answer.delay, Duration::ZERO);
    answer.outcome
}

fn login(verifier: &Verifier, name: &str, password: &str, from: AddressGroup) -> Answer {
    verifier.answer(Job::Login {
        nick: nick(name),
        password: secret(password),
        from,
        budget: usize::MAX,
    })
}

fn change(verifier: &Verifier, name: &str, old: &str, new: &str, from: AddressGroup) -> Outcome {
    verifier
        .answer(Job::ChangePassword {
            nick: nick(name),
            old: secret(old),
            new: secret(new),
            from,
        })
        .outcome
}

fn unregister(verifier: &Verifier, name: &str, password: &str, from: AddressGroup) -> Outcome {
    verifier
        .answer(Job::Unregister {
            nick: nick(name),
            password: secret(password),
            from,
        })
        .outcome
}

#[test]
fn every_job_and_its_outcomes() {
    let verifier = Verifier::new(Book::in_memory());
    // Each attempt from an address of its own: the failures here are too few to slow an
    // account, but together they would slow one address.
    let next = std::cell::Cell::new(0);
    let fresh = || {
        next.set(next.get() + 1);
        group(next.get())
    };
    assert_eq!(
        register(&verifier, "Alice", "password1"),
        Outcome::Registered(nick("Alice"))
    );
    assert_eq!(
        register(&verifier, "alice", "password2"),
        Outcome::AlreadyRegistered(nick("Alice"))
    );
    let at_once = |outcome| Answer::now(outcome);
    assert_eq!(
        login(&verifier, "ALICE", "password1", fresh()),
        at_once(Outcome::LoggedIn(nick("Alice"))),
        "the account's own spelling"
    );
    assert_eq!(
        login(&verifier, "alice", "password2", fresh()),
        at_once(Outcome::BadLogin)
    );
    assert_eq!(
        login(&verifier, "nobody", "password1", fresh()),
        at_once(Outcome::BadLogin),
        "an unknown account is a wrong password"
    );
    assert_eq!(
        change(&verifier, "alice", "wrong-one", "password3", fresh()),
        Outcome::BadLogin
    );
    assert_eq!(
        change(&verifier, "alice", "password1", "password3", fresh()),
        Outcome::PasswordChanged
    );
    assert_eq!(
        login(&verifier, "alice", "password1", fresh()).outcome,
        Outcome::BadLogin,
        "the old password no longer works"
    );
    assert_eq!(
        login(&verifier, "alice", "password3", fresh()).outcome,
        Outcome::LoggedIn(nick("Alice"))
    );
    assert_eq!(
        change(&verifier, "nobody", "password3", "password4", fresh()),
        Outcome::BadLogin
    );
    assert_eq!(
        unregister(&verifier, "alice", "password1", fresh()),
        Outcome::BadLogin
    );
    assert_eq!(
        unregister(&verifier, "nobody", "password3", fresh()),
        Outcome::BadLogin
    );
    assert_eq!(
        unregister(&verifier, "aLiCe", "password3", fresh()),
        Outcome::Unregistered(nick("Alice"))
    );
    assert!(!verifier.book.contains(&nick("alice").key()));
    assert_eq!(
        login(&verifier, "alice", "password3", fresh()).outcome,
        Outcome::BadLogin
    );
    assert_eq!(
        register(&verifier, "alice", "password5"),
        Outcome::Registered(nick("alice")),
        "the nick is free again"
    );
}

#[test]
fn failures_are_slowed_then_refused_without_hashing_and_a_success_clears_the_account() {
    let verifier = Verifier::new(Book::in_memory());
    register(&verifier, "alice", "password1");
    let mut delays = Vec::new();
    for _ in 0..FREE_FAILURES + 1 {
        let answer = login(&verifier, "alice", "wrong-pass", group(1));
        assert_eq!(answer.outcome, Outcome::BadLogin);
        delays.push(answer.delay);
    }
    assert_eq!(delays[..3], [Duration::ZERO; 3]);
    assert_eq!(delays[3], FIRST_DELAY);
    // While that answer waits, even the right password is not checked, from anywhere.
    let parallel = login(&verifier, "alice", "password1", group(2));
    let Outcome::TooManyAttempts { retry_after } = parallel.outcome else {
        panic!("{parallel:?}");
    };
    assert!(retry_after <= FIRST_DELAY && retry_after > Duration::ZERO);
    assert_eq!(parallel.delay, Duration::ZERO);
    // Another account from another address is not slowed.
    register(&verifier, "bob", "password2");
    assert_eq!(
        login(&verifier, "bob", "password2", group(2)).outcome,
        Outcome::LoggedIn(nick("bob"))
    );
}

#[test]
fn ten_failures_lock_the_account_and_a_locked_check_does_not_hash() {
    let verifier = Verifier::new(Book::in_memory());
    register(&verifier, "alice", "password1");
    // Each failure from a fresh address, with the wait already over: only the account's
    // count adds up, and no refusal for a waiting answer gets in the way.
    for last in 0..LOCK_AFTER {
        let answer = login(&verifier, "alice", "wrong-pass", group(10 + last as u8));
        assert_eq!(answer.outcome, Outcome::BadLogin, "failure {last}");
        end_waits(&verifier, "alice");
    }
    let started = Instant::now();
    for _ in 0..50 {
        let answer = login(&verifier, "alice", "password1", group(99));
        assert!(
            matches!(answer.outcome, Outcome::TooManyAttempts { retry_after }
                if retry_after > LOCK - Duration::from_secs(60)),
            "{answer:?}"
        );
    }
    // Fifty hashes take a second at the very least; fifty refusals take microseconds.
    assert!(started.elapsed() < Duration::from_millis(500));
    let other = login(&verifier, "bob", "whatever1", group(99));
    assert_eq!(
        other.outcome,
        Outcome::BadLogin,
        "the address is not locked"
    );
}

#[test]
fn a_success_forgets_the_accounts_failures() {
    let verifier = Verifier::new(Book::in_memory());
    register(&verifier, "alice", "password1");
    for last in 0..LOCK_AFTER - 1 {
        login(&verifier, "alice", "wrong-pass", group(10 + last as u8));
        end_waits(&verifier, "alice");
    }
    assert_eq!(
        login(&verifier, "alice", "password1", group(50)).outcome,
        Outcome::LoggedIn(nick("alice"))
    );
    // Without the success, this would be the tenth failure and lock the account.
    let answer = login(&verifier, "alice", "wrong-pass", group(51));
    assert_eq!(answer, Answer::now(Outcome::BadLogin));
    assert_eq!(
        login(&verifier, "alice", "password1", group(52)).outcome,
        Outcome::LoggedIn(nick("alice"))
    );
}

/// Lets the answer to the latest failure for `name` have come: what a client does by waiting
/// for it, without the test waiting.
fn end_waits(verifier: &Verifier, name: &str) {
    let mut throttle = verifier.throttle.lock();
    throttle.end_wait(&nick(name).key(), Instant::now());
}

#[test]
fn issue_16_a_line_is_kept_only_for_an_account_and_given_at_its_login() {
    let verifier = Verifier::new(Book::in_memory());
    assert_eq!(
        register(&verifier, "Alice", "password1"),
        Outcome::Registered(nick("Alice"))
    );
    let line = |text: &str| Waiting {
        id: chatd_proto::MessageId::new(7).unwrap(),
        time: chatd_proto::UtcMillis::saturating(7),
        from: nick("bob"),
        text: text.to_owned(),
    };
    let keep = |to: &str, text: &str| {
        verifier
            .answer(Job::Keep {
                to: nick(to),
                line: line(text),
            })
            .outcome
    };
    assert_eq!(keep("nobody", "hi"), Outcome::NoSuchAccount(nick("nobody")));
    assert_eq!(keep("alice", "hi"), Outcome::Kept(nick("Alice")));
    // A wrong password takes nothing; the right one takes the line, once.
    assert!(
        login(&verifier, "alice", "wrong-one", group(1))
            .waiting
            .is_empty()
    );
    let answer = login(&verifier, "alice", "password1", group(1));
    assert_eq!(answer.outcome, Outcome::LoggedIn(nick("Alice")));
    assert_eq!(answer.waiting, [line("hi")]);
    assert!(
        login(&verifier, "alice", "password1", group(1))
            .waiting
            .is_empty()
    );
}
