//! The coordinator's waits: for notices from the readers (a barrier's `PONG`, an `OK NICK`,
//! a lost connection), each with a deadline, updating the progress display meanwhile.
//!
//! In scope: [`Waiter`]. Out of scope: what is waited for and why (`engine`, `idle`).

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::loadgen::board::{Barrier, Board, Notice};
use crate::loadgen::progress::Progress;

/// How often a waiting coordinator looks at the clock and the progress display.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// The coordinator's waits for notices from the readers.
pub(super) struct Waiter<'a> {
    notices: &'a Receiver<Notice>,
    board: &'a Board,
    /// Clients whose connection ended: they answer no barrier.
    closed: Vec<bool>,
    progress: Progress,
}

impl<'a> Waiter<'a> {
    pub(super) fn new(
        notices: &'a Receiver<Notice>,
        board: &'a Board,
        progress: Progress,
    ) -> Waiter<'a> {
        Waiter {
            notices,
            board,
            closed: vec![false; board.clients()],
            progress,
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
    ) -> Result<(), String> {
        let what = format!("the {} barrier", barrier.token());
        self.wait_for(&what, clients, deadline, |notice| match notice {
            Notice::Pong { client, barrier: b } if b == barrier => Some(client),
            _ => None,
        })
    }

    /// Waits until `answer` has picked every one of `clients` out of the notices, or the
    /// client has gone.
    pub(super) fn wait_for(
        &mut self,
        what: &str,
        clients: impl Iterator<Item = u32>,
        deadline: Instant,
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
        let started = Instant::now();
        while left > 0 {
            self.progress.update(self.board.deliveries());
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "timed out after {:.1} s waiting for {what}: {left} clients did not answer",
                    (now - started).as_secs_f64()
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
}
