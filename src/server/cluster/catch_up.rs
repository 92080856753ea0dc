//! What a node that starts catches up on from the stream's past: the direct lines sent
//! while it was not running, kept in its direct history for the accounts that were their
//! parties, so that `HISTORY <nick>` answers the same on every node, as far as the stream
//! still holds them (its last `--history-lines` direct lines, none older than
//! `--history-days`).
//!
//! In scope: one pass over the stream's direct subject, up to the sequence after which the
//! node's feed starts, with a short-lived ordered consumer, beside the feed at the node's
//! start. Out of scope: which party keeps a line (the registry), the lines from the feed's
//! start on (`feed`), the lobby's and rooms' past, which pages read from the stream itself
//! (`older`).
//!
//! A line a node kept live is read again when it restarts: the database keeps one row per
//! (owner, peer, id), so it is kept once; in memory (`--ephemeral`) a restarted node starts
//! with nothing.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use chatd_proto::MessageId;
use futures_util::StreamExt;

use crate::server::cluster::engine::{Engine, published};
use crate::server::cluster::event::{DIRECT, Event};
use crate::server::cluster_link::Conversation;
use crate::server::direct_history::CatchingUp;
use crate::server::registry::Registry;

/// Lines kept between two waits for the store to write them: a quarter of its direct
/// channel, so the pass never fills it (a full channel would count live lines as not
/// stored).
const SETTLE_EVERY: usize = 1_024;

/// How long the pass waits for the next message before it takes the stream as read.
const NEXT_WAIT: Duration = Duration::from_secs(5);

/// Keeps the direct lines up to sequence `through` (the feed's start) for their parties,
/// and logs how it went; `catching_up` is dropped at the end, which lets the pages waiting
/// for the past go on.
pub async fn direct_lines(
    engine: Arc<Engine>,
    registry: Arc<Registry>,
    through: u64,
    catching_up: CatchingUp,
) {
    let read = read(&engine, &registry, through).await;
    drop(catching_up);
    match read {
        Ok(0) => {}
        Ok(read) => log::info!(
            "read {read} direct line(s) sent before this node started, for its accounts' \
             direct history"
        ),
        Err(error) => log::warn!(
            "the direct lines sent before this node started could not be read ({error}): \
             HISTORY of direct messages on this node misses them"
        ),
    }
}

/// The pass: the direct lines read.
async fn read(
    engine: &Engine,
    registry: &Registry,
    through: u64,
) -> Result<usize, async_nats::Error> {
    // An ordered consumer of a subject with no message would only wait.
    if through == 0 || engine.last_of(DIRECT).await?.is_none() {
        return Ok(0);
    }
    let consumer = engine
        .stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: DIRECT.to_owned(),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let mut read = 0;
    while let Ok(Some(message)) = tokio::time::timeout(NEXT_WAIT, messages.next()).await {
        let message = message?;
        let info = message.info()?;
        let sequence = info.stream_sequence;
        if sequence > through {
            break;
        }
        let time = published(&info);
        let pending = info.pending;
        let event = std::str::from_utf8(&message.message.payload)
            .ok()
            .and_then(|payload| Event::decode(DIRECT, payload).ok());
        if let (
            Some(Event::Line {
                conversation: Conversation::Direct(to),
                reply,
                ..
            }),
            Some(id),
        ) = (event, MessageId::new(sequence))
        {
            registry.keep_missed_direct((id, time), &reply, &to);
            read += 1;
            if read % SETTLE_EVERY == 0 {
                tokio::task::block_in_place(|| registry.settle_missed_direct());
            }
        }
        if pending == 0 || sequence == through {
            break;
        }
    }
    Ok(read)
}
