//! Tests of the verification threads: every job answered exactly once whoever submits it, a
//! full queue, what stopping answers and what it drops, and the threads' lower priority.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use chatd_proto::Nick;

use super::*;
use crate::server::accounts::book::Book;
use crate::server::accounts::job::Outcome;
use crate::server::accounts::password::Password;
use crate::server::admission::AddressGroup;

/// Long enough for fifty hashes on a loaded machine, short enough to fail a hanging test.
const DEADLINE: Duration = Duration::from_secs(60);

fn pool(threads: usize, capacity: usize) -> Pool {
    Pool::start(
        Arc::new(Verifier::new(Book::in_memory())),
        threads,
        capacity,
    )
    .unwrap()
}

fn login(name: &str, from: u8) -> Job {
    Job::Login {
        nick: Nick::parse(name).unwrap(),
        password: Password::from("password1".to_owned()),
        from: AddressGroup::of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, from))),
        budget: usize::MAX,
    }
}

fn register(name: &str) -> Job {
    Job::Register {
        nick: Nick::parse(name).unwrap(),
        password: Password::from("password1".to_owned()),
    }
}

#[test]
fn fifty_jobs_from_several_threads_are_each_answered_once_on_a_verification_thread() {
    let pool = pool(2, QUEUE_JOBS);
    let (answered, answers) = crossbeam_channel::unbounded();
    std::thread::scope(|scope| {
        for submitter in 0..5u8 {
            let (pool, answered) = (&pool, answered.clone());
            scope.spawn(move || {
                for n in 0..10u8 {
                    let id = (submitter, n);
                    // Registers and logins, some for accounts being made meanwhile.
                    let name = format!("user{submitter}x{}", n / 2);
                    let job = if n % 2 == 0 {
                        register(&name)
                    } else {
                        login(&name, submitter)
                    };
                    let answered = answered.clone();
                    let submitted_on = std::thread::current().id();
                    let done = Box::new(move |answer: Answer| {
                        let current = std::thread::current();
                        assert_ne!(current.id(), submitted_on);
                        let name = current.name().unwrap().to_owned();
                        answered.send((id, answer.outcome, name)).unwrap();
                    });
                    pool.submit(job, done).unwrap();
                }
            });
        }
    });
    drop(answered);
    let mut seen = HashMap::new();
    for _ in 0..50 {
        let (id, outcome, thread) = answers.recv_timeout(DEADLINE).expect("every answer");
        assert!(thread.starts_with("chatd-auth-"), "{thread}");
        let (_, n) = id;
        if n % 2 == 0 {
            assert!(matches!(outcome, Outcome::Registered(_)), "{outcome:?}");
        } else {
            assert!(
                matches!(
                    outcome,
                    Outcome::LoggedIn(_) | Outcome::BadLogin | Outcome::TooManyAttempts { .. }
                ),
                "{outcome:?}"
            );
        }
        assert!(seen.insert(id, outcome).is_none(), "{id:?} answered twice");
    }
    pool.close();
    assert_eq!(seen.len(), 50);
    assert!(answers.try_recv().is_err(), "no answer beyond the fifty");
}

/// A `done` that tells when it has started, then waits for the gate to open.
fn blocking(started: Sender<()>, gate: Receiver<()>, answered: Sender<Outcome>) -> Done {
    Box::new(move |answer| {
        started.send(()).unwrap();
        gate.recv_timeout(DEADLINE).expect("the gate opens");
        answered.send(answer.outcome).unwrap();
    })
}

/// Notes, when dropped, that a `done` was never called.
struct Uncalled(Sender<&'static str>);

impl Drop for Uncalled {
    fn drop(&mut self) {
        let _ = self.0.send("dropped");
    }
}

#[test]
fn a_full_queue_is_busy_and_stopping_answers_the_job_in_hand_and_drops_the_queued() {
    let pool = pool(1, 4);
    let (started, has_started) = crossbeam_channel::bounded(1);
    let (open, gate) = crossbeam_channel::bounded(1);
    let (answered, answers) = crossbeam_channel::unbounded();
    pool.submit(register("first"), blocking(started, gate, answered))
        .unwrap();
    has_started
        .recv_timeout(DEADLINE)
        .expect("the first job runs");
    // The one thread is busy: four jobs fill the queue, the fifth is refused.
    let (fate, fates) = crossbeam_channel::unbounded();
    for n in 0..4 {
        let uncalled = Uncalled(fate.clone());
        let done: Done = Box::new(move |_| {
            let _ = uncalled.0.send("called");
        });
        assert_eq!(pool.submit(login(&format!("queued{n}"), 1), done), Ok(()));
    }
    let refused = Uncalled(fate.clone());
    assert_eq!(
        pool.submit(login("fifth", 1), Box::new(move |_| drop(refused))),
        Err(Busy)
    );
    assert_eq!(
        fates.try_recv(),
        Ok("dropped"),
        "a refused job's done is dropped"
    );
    // Stop as `close` does, then let the job in hand finish.
    drop(pool.stop.lock().take());
    open.send(()).unwrap();
    assert_eq!(
        answers.recv_timeout(DEADLINE),
        Ok(Outcome::Registered(Nick::parse("first").unwrap())),
        "the job in hand is answered"
    );
    pool.close();
    drop(fate);
    let fates: Vec<&str> = fates.iter().collect();
    assert_eq!(fates, ["dropped"; 4], "no queued job started once stopping");
    assert_eq!(pool.submit(register("late"), Box::new(|_| {})), Err(Busy));
}

#[test]
fn the_threads_run_nicer_than_the_server() {
    let pool = pool(1, 4);
    let (sender, nice) = crossbeam_channel::bounded(1);
    let done = Box::new(move |_| sender.send(this_thread_nice()).unwrap());
    pool.submit(register("alice"), done).unwrap();
    let theirs = nice.recv_timeout(DEADLINE).expect("an answer");
    pool.close();
    assert_eq!(theirs, (this_thread_nice() + NICE).min(19));
    assert!(this_thread_nice() < 19 || theirs == 19);
}
