//! The messages waiting for offline accounts, shared by the nodes of a cluster: a line kept
//! for an account on one node is taken by the account's login on any node, once.
//!
//! In scope: the mailbox's [`SharedMailbox`] on the `CHATD_WAITING` stream, a subject per
//! account: keeping a line (refused once [`MAILBOX_LINES`] wait, counted on the subject
//! first and published only if no line came meanwhile, so the stream's own limit never drops
//! one), taking the oldest that fit a login's budget and purging them, and purging an
//! account's subject when it is deleted. Called on
//! a verification thread, which waits here for NATS (at most [`REQUEST_WAIT`]). Out of scope:
//! who may send and when lines are delivered (the session, `accounts`), the payload's
//! spelling (`event`).
//!
//! Why the stream rather than each node's database: a login on another node than the
//! sender's would not find them. One connection per account (a `LOGIN` ends another node's
//! holder first) keeps two takes of one mailbox from overlapping.

use std::sync::Arc;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{DirectGetErrorKind, LastRawMessageErrorKind};
use chatd_proto::NickKey;
use futures_util::TryStreamExt;

use crate::server::accounts::{MAILBOX_LINES, NotKept, SharedMailbox, Waiting, fitting};
use crate::server::cluster::engine::{Engine, REQUEST_WAIT};
use crate::server::cluster::event::{decode_waiting, encode_waiting, waiting_subject};

/// The waiting stream as the mailbox's shared copy.
pub struct StreamMailbox {
    pub engine: Arc<Engine>,
    pub runtime: tokio::runtime::Handle,
}

impl StreamMailbox {
    /// Runs `work` on the runtime from a verification thread, at most [`REQUEST_WAIT`];
    /// `None` (logged) if NATS failed or did not answer in time.
    fn run<T, F>(&self, what: &str, work: F) -> Option<T>
    where
        F: std::future::Future<Output = Result<T, async_nats::Error>>,
    {
        let timed = async { tokio::time::timeout(REQUEST_WAIT, work).await };
        match self.runtime.block_on(timed) {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                log::warn!("the cluster's mailbox could not {what}: {error}");
                None
            }
            Err(_) => {
                log::warn!("the cluster's mailbox did not {what} in time");
                None
            }
        }
    }
}

impl SharedMailbox for StreamMailbox {
    fn keep(&self, to: &NickKey, line: &Waiting) -> Result<(), NotKept> {
        let subject = waiting_subject(to);
        let kept = self.run("keep a line", async {
            for _ in 0..KEEP_ROUNDS {
                // The subject's last line before its count: a line kept by another node in
                // between makes the publish below fail, and the count is read again.
                let last = last_sequence(&self.engine, &subject).await?;
                if waiting(&self.engine, &subject).await? >= MAILBOX_LINES {
                    return Ok(Err(NotKept::Full));
                }
                let publish = PublishMessage::build()
                    .payload(encode_waiting(line).into())
                    .expected_last_subject_sequence(last);
                let ack = self
                    .engine
                    .js
                    .send_publish(subject.clone(), publish)
                    .await?;
                match ack.await {
                    Ok(_) => return Ok(Ok(())),
                    Err(error) if error.kind() == PublishErrorKind::WrongLastSequence => {}
                    Err(error) => return Err(error.into()),
                }
            }
            // Other nodes kept lines for the account all along: as a full disk would be.
            Ok(Err(NotKept::Store))
        });
        kept.unwrap_or(Err(NotKept::Store))
    }

    fn take(&self, account: &NickKey, budget: usize) -> Vec<Waiting> {
        let subject = waiting_subject(account);
        let taken = self.run("take an account's lines", async {
            let stream = &self.engine.waiting;
            let mut lines = Vec::new();
            let mut last = None;
            let mut from = None;
            loop {
                let message = match stream.direct_get_next_for_subject(&subject, from).await {
                    Ok(message) => message,
                    Err(error) if error.kind() == DirectGetErrorKind::NotFound => break,
                    Err(error) => return Err(error.into()),
                };
                from = Some(message.sequence + 1);
                let line = std::str::from_utf8(&message.payload)
                    .ok()
                    .and_then(|payload| decode_waiting(payload).ok());
                match line {
                    Some(line) => lines.push((message.sequence, line)),
                    // Not one of ours: purged with the rest, never delivered.
                    None => log::warn!("the cluster's mailbox holds a message it cannot read"),
                }
                if fitting(lines.iter().map(|(_, line)| line), budget) < lines.len() {
                    lines.pop();
                    break;
                }
                last = Some(message.sequence);
            }
            if let Some(last) = last {
                // Only what was read: a line kept meanwhile waits for the next login.
                stream
                    .purge()
                    .filter(subject.clone())
                    .sequence(last + 1)
                    .await?;
            }
            Ok(lines.into_iter().map(|(_, line)| line).collect())
        });
        // Nothing taken: the lines wait for the next login.
        taken.unwrap_or_default()
    }

    fn discard(&self, account: &NickKey) {
        let subject = waiting_subject(account);
        self.run("drop an account's lines", async {
            self.engine.waiting.purge().filter(subject).await?;
            Ok(())
        });
    }
}

/// How often a line is offered again when another node's line came between the count and
/// the publish.
const KEEP_ROUNDS: usize = 3;

/// The stream sequence of the last line waiting on `subject`, 0 if there is none.
async fn last_sequence(engine: &Engine, subject: &str) -> Result<u64, async_nats::Error> {
    match engine
        .waiting
        .get_last_raw_message_by_subject(subject)
        .await
    {
        Ok(message) => Ok(message.sequence),
        Err(error) if error.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(0),
        Err(error) => Err(error.into()),
    }
}

/// The lines waiting on `subject`.
async fn waiting(engine: &Engine, subject: &str) -> Result<usize, async_nats::Error> {
    let mut counts = engine.waiting.info_with_subjects(subject).await?;
    let mut count = 0;
    while let Some((counted, n)) = counts.try_next().await? {
        if counted == subject {
            count = n;
        }
    }
    Ok(count)
}
