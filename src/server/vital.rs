//! The threads the server cannot run without, and what happens when one dies.
//!
//! In scope: starting such a thread ([`Vital::spawn`]) so that its end is noticed: a panic,
//! an error it returns, or a return before the shutdown asked for it. Each is a [`Failure`]:
//! logged at `error`, kept for [`Vital::failure`], and told to whoever asked
//! ([`Vital::on_failure`]; the `chatd` binary then shuts down and exits non-zero). Out of
//! scope: what the threads do, and the shutdown itself (the wiring).
//!
//! Why: a dead acceptor leaves a server that accepts nobody, a dead poller one that accepts
//! connections it never reads, a dead throttle one whose paused clients never resume; each
//! looks alive from outside. Better a clear exit that a supervisor restarts (issue 13).

use std::any::Any;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use parking_lot::Mutex;

/// A vital thread that died, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The thread's name without the `chatd-` prefix: `acceptor`, `poller`...
    pub thread: String,
    /// What ended it: its error, its panic's message, or that it returned.
    pub why: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} thread died: {}", self.thread, self.why)
    }
}

impl std::error::Error for Failure {}

type Notify = Box<dyn FnOnce() + Send>;

/// The vital threads' common state.
#[derive(Default)]
pub struct Vital {
    /// Set when the shutdown starts: from then on a thread that returns is done, not dead.
    stopping: AtomicBool,
    /// The first failure, and who waits to hear of it. A mutex: taken once per failure and
    /// per registration, with nothing else held.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    failure: Option<Failure>,
    notify: Vec<Notify>,
}

impl Vital {
    /// Starts thread `chatd-<name>` running `body`; its end is a [`Failure`] unless it returns
    /// `Ok` after [`Vital::stopping`].
    pub fn spawn(
        self: &Arc<Self>,
        name: &str,
        body: impl FnOnce() -> io::Result<()> + Send + 'static,
    ) -> io::Result<JoinHandle<()>> {
        let vital = Arc::clone(self);
        let thread = name.to_owned();
        thread::Builder::new()
            .name(format!("chatd-{name}"))
            .spawn(move || {
                let why = match panic::catch_unwind(AssertUnwindSafe(body)) {
                    Ok(Ok(())) if vital.stopping.load(Ordering::SeqCst) => return,
                    Ok(Ok(())) => "it returned before the shutdown".to_owned(),
                    Ok(Err(error)) => error.to_string(),
                    Err(panic) => format!("it panicked: {}", panic_message(&*panic)),
                };
                vital.fail(Failure { thread, why });
            })
    }

    /// The shutdown has started: threads that return from now on have finished.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// The first failure, if a vital thread died.
    pub fn failure(&self) -> Option<Failure> {
        self.state.lock().failure.clone()
    }

    /// Calls `notify` once, on the dying thread, when a vital thread dies; at once if one has
    /// died already.
    pub fn on_failure(&self, notify: impl FnOnce() + Send + 'static) {
        let mut state = self.state.lock();
        if state.failure.is_some() {
            drop(state);
            notify();
        } else {
            state.notify.push(Box::new(notify));
        }
    }

    fn fail(&self, failure: Failure) {
        log::error!("{failure}; the server cannot go on and shuts down");
        let mut state = self.state.lock();
        if state.failure.is_none() {
            state.failure = Some(failure);
        }
        let notify = std::mem::take(&mut state.notify);
        drop(state);
        for notify in notify {
            notify();
        }
    }
}

/// The text a panic was raised with (`panic!("...")`, `expect("...")`).
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "no message"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `body` as vital thread `name` to its end, and returns what was noticed: the
    /// failure kept, and whether the callback was called.
    fn outcome(
        stopping: bool,
        body: impl FnOnce() -> io::Result<()> + Send + 'static,
    ) -> (Option<Failure>, bool) {
        let vital = Arc::new(Vital::default());
        let (told, heard) = crossbeam_channel::unbounded();
        vital.on_failure(move || told.send(()).unwrap());
        if stopping {
            vital.stopping();
        }
        vital.spawn("test", body).unwrap().join().unwrap();
        (vital.failure(), heard.try_recv().is_ok())
    }

    fn failure(why: &str) -> Option<Failure> {
        Some(Failure {
            thread: "test".to_owned(),
            why: why.to_owned(),
        })
    }

    #[test]
    fn issue_13_a_vital_thread_that_panics_errs_or_returns_early_is_a_failure() {
        assert_eq!(
            outcome(false, || panic!("lost it")),
            (failure("it panicked: lost it"), true)
        );
        assert_eq!(
            outcome(false, || Err(io::Error::other("no more reads"))),
            (failure("no more reads"), true)
        );
        assert_eq!(
            outcome(false, || Ok(())),
            (failure("it returned before the shutdown"), true)
        );
        // A failure during the shutdown is one too.
        assert_eq!(
            outcome(true, || Err(io::Error::other("late"))),
            (failure("late"), true)
        );
        assert_eq!(outcome(true, || Ok(())), (None, false));
        assert_eq!(failure("x").unwrap().to_string(), "the test thread died: x");
    }

    #[test]
    fn a_callback_registered_after_the_failure_is_called_at_once() {
        let vital = Arc::new(Vital::default());
        vital
            .spawn("test", || Err(io::Error::other("gone")))
            .unwrap()
            .join()
            .unwrap();
        let (told, heard) = crossbeam_channel::unbounded();
        vital.on_failure(move || told.send(()).unwrap());
        assert!(heard.try_recv().is_ok());
    }
}
