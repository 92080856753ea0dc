//! The coordinator's waits: for notices from the readers (a barrier's `PONG`, an `OK NICK`,
//! a lost connection), each with a deadline, updating the progress display meanwhile.
//!
//! In scope: [`Waiter`], and what its timeout errors say: which client did not answer, the
//! lines it had against those it should have had ([`Expected`]), and the likely causes
//! (issue 11: "1 clients did not answer" alone left flood control on the server unnamed).
//! Out of scope: what is waited for and why (`engine`, `idle`), and which causes are likely
//! for the run's server (`probe::likely_causes`).

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::loadgen::board::{Barrier, Board, Notice};
use crate::loadgen::progress::Progress;

/// How often a waiting coordinator looks at the clock and the progress display.
const WAIT_SLICE: Duration = Duration::from_millis(100);
/// How often a coordinator waiting for lines looks at the board: short, as the wait ends
/// the run's window.
const LINES_SLICE: Duration = Duration::from_millis(1);

/// What each client should have by the end of a phase, by index, for the timeout errors
/// (the board has what it has so far). Empty: not known, and not said.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Expected {
    /// Lines each client should receive.
    pub received: Vec<u64>,
    /// Lines each client should send (0 for one that only receives).
    pub sent: Vec<u64>,
}

/// The coordinator's waits for notices from the readers.
pub(super) struct Waiter<'a> {
    notices: &'a Receiver<Notice>,
    board: &'a Board,
    /// Clients whose connection ended: they answer no barrier.
    closed: Vec<bool>,
    progress: Progress,
    /// What a timeout error ends with: `likely causes: ...`.
    causes: &'a str,
}

impl<'a> Waiter<'a> {
    pub(super) fn new(
        notices: &'a Receiver<Notice>,
        board: &'a Board,
        progress: Progress,
        causes: &'a str,
    ) -> Waiter<'a> {
        Waiter {
            notices,
            board,
            closed: vec![false; board.clients()],
            progress,
            causes,
        }
    }

    /// Removes the progress display.
    pub(super) fn finish(&mut self) {
        self.progress.finish();
    }

    /// Waits until each of `clients` has answered `barrier` or has gone.
    pub(super) fn wait_for_barrier(
        &mut self,
        barrier: Barrier,
        clients: impl Iterator<Item = u32>,
        deadline: Instant,
        expected: &Expected,
    ) -> Result<(), String> {
        let what = format!("the {} barrier", barrier.token());
        self.wait_for(&what, clients, deadline, expected, |notice| match notice {
            Notice::Pong { client, barrier: b } if b == barrier => Some(client),
            _ => None,
        })
    }

    /// Waits until `answer` has picked every one of `clients` out of the notices, or the
    /// client has gone. A timeout's error names the first client that did not answer, with
    /// its lines against `expected`.
    pub(super) fn wait_for(
        &mut self,
        what: &str,
        clients: impl Iterator<Item = u32>,
        deadline: Instant,
        expected: &Expected,
        answer: impl Fn(Notice) -> Option<u32>,
    ) -> Result<(), String> {
        let mut pending = vec![false; self.closed.len()];
        let mut left = 0usize;
        for client in clients {
            if !self.closed[client as usize] {
                pending[client as usize] = true;
                left += 1;
            }
        }
        let asked = left;
        let started = Instant::now();
        while left > 0 {
            self.progress.update(self.board.deliveries());
            let now = Instant::now();
            if now >= deadline {
                let first = (0u32..)
                    .zip(&pending)
                    .find_map(|(client, &waiting)| waiting.then_some(client))
                    .expect("a client is left");
                return Err(format!(
                    "timed out after {:.1} s waiting for {what}: {left} of {asked} clients did \
                     not answer (the first: client {first}{}); {}",
                    (now - started).as_secs_f64(),
                    self.lines_of(first, expected),
                    self.causes
                ));
            }
            let notice = match self.notices.recv_timeout((deadline - now).min(WAIT_SLICE)) {
                Ok(notice) => notice,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("the readers stopped while waiting for {what}"));
                }
            };
            let done = match notice {
                Notice::Closed(client) => {
                    self.closed[client as usize] = true;
                    Some(client)
                }
                other => answer(other),
            };
            if let Some(client) = done {
                if std::mem::take(&mut pending[client as usize]) {
                    left -= 1;
                }
            }
        }
        Ok(())
    }

    /// Waits until each of `clients` has received the lines `expected` of it, or has gone:
    /// after the drain barrier of a cluster's run, whose `PONG` comes before the lines
    /// of other nodes' senders have all arrived (each node delivers a line when it reads it
    /// from the stream). The board has no notice for a line, so it is looked at every
    /// [`LINES_SLICE`], while the notices tell which clients have gone.
    pub(super) fn wait_for_lines(
        &mut self,
        clients: impl Iterator<Item = u32>,
        deadline: Instant,
        expected: &Expected,
    ) -> Result<(), String> {
        let mut pending: Vec<u32> = clients.collect();
        let asked = pending.len();
        let started = Instant::now();
        loop {
            let (board, closed) = (self.board, &self.closed);
            pending.retain(|&client| {
                let want = expected.received.get(client as usize).copied().unwrap_or(0);
                !closed[client as usize] && board.received(client) < want
            });
            let Some(&first) = pending.first() else {
                return Ok(());
            };
            self.progress.update(self.board.deliveries());
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "timed out after {:.1} s waiting for the lines of other nodes' senders: {} \
                     of {asked} clients did not get all theirs (the first: client {first}{}); {}",
                    (now - started).as_secs_f64(),
                    pending.len(),
                    self.lines_of(first, expected),
                    self.causes
                ));
            }
            match self.notices.recv_timeout((deadline - now).min(LINES_SLICE)) {
                Ok(Notice::Closed(client)) => self.closed[client as usize] = true,
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("the readers stopped while waiting for lines".to_owned());
                }
            }
        }
    }

    /// `, which had sent 20000 of its 20000 lines and received 180 of its 80000 lines`, as
    /// far as `expected` knows: a sender that should receive nothing is said to send only.
    fn lines_of(&self, client: u32, expected: &Expected) -> String {
        let at = client as usize;
        let mut said = Vec::new();
        let sends = expected.sent.get(at).is_some_and(|&want| want > 0);
        if let Some(&want) = expected.sent.get(at).filter(|_| sends) {
            let sent = self.board.sent(client);
            said.push(format!("sent {sent} of its {want} lines"));
        }
        if let Some(&want) = expected
            .received
            .get(at)
            .filter(|&&want| want > 0 || !sends)
        {
            let received = self.board.received(client);
            said.push(format!("received {received} of its {want} lines"));
        }
        if said.is_empty() {
            String::new()
        } else {
            format!(", which had {}", said.join(" and "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_names_the_client_its_lines_and_the_likely_causes() {
        let board = Board::new(3, Instant::now());
        board.set_sent(0, 20_000);
        board.set_received(0, 180);
        board.set_received(1, 20_000);
        board.set_received(2, 40_000);
        let (_notify, notices) = crossbeam_channel::unbounded();
        let progress = Progress::new("test", None);
        let causes = "likely causes: flood control on the server";
        let mut waiter = Waiter::new(&notices, &board, progress, causes);
        let expected = Expected {
            received: vec![40_000, 40_000, 40_000],
            sent: vec![20_000, 20_000, 0],
        };
        // A deadline already passed: nobody has answered.
        let error = waiter
            .wait_for_barrier(Barrier::Sent, 0..2, Instant::now(), &expected)
            .unwrap_err();
        assert!(
            error.contains(
                "waiting for the bench-sent barrier: 2 of 2 clients did not answer (the first: \
                 client 0, which had sent 20000 of its 20000 lines and received 180 of its \
                 40000 lines); likely causes: flood control on the server"
            ),
            "{error}"
        );
        let error = waiter
            .wait_for_barrier(Barrier::Drain, 2..3, Instant::now(), &Expected::default())
            .unwrap_err();
        assert!(
            error.contains("1 of 1 clients did not answer (the first: client 2); likely"),
            "{error}"
        );
    }

    #[test]
    fn issue_19_the_wait_for_lines_ends_when_each_client_has_its_own() {
        let board = Board::new(3, Instant::now());
        let (notify, notices) = crossbeam_channel::unbounded();
        let causes = "likely causes: a node behind the stream";
        let mut waiter = Waiter::new(&notices, &board, Progress::new("test", None), causes);
        let expected = Expected {
            received: vec![10, 20, 20],
            sent: vec![10, 0, 0],
        };
        board.set_received(0, 10);
        board.set_received(1, 20);
        board.set_received(2, 19);
        let soon = || Instant::now() + Duration::from_millis(20);
        // Client 2 lacks a line: after a PONG, the wait goes on until its deadline.
        let error = waiter.wait_for_lines(0..3, soon(), &expected).unwrap_err();
        assert!(
            error.contains(
                "waiting for the lines of other nodes' senders: 1 of 3 clients did not get all \
                 theirs (the first: client 2, which had received 19 of its 20 lines); likely \
                 causes: a node behind the stream"
            ),
            "{error}"
        );
        board.set_received(2, 20);
        assert_eq!(waiter.wait_for_lines(0..3, soon(), &expected), Ok(()));
        // A client that has gone is not waited for.
        board.set_received(2, 0);
        notify.send(Notice::Closed(2)).unwrap();
        let far = Instant::now() + Duration::from_secs(30);
        assert_eq!(waiter.wait_for_lines(0..3, far, &expected), Ok(()));
    }
}
