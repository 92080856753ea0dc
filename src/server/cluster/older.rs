//! The lobby's lines older than a node's ring, read from the cluster's stream: what
//! `HISTORY *` adds on a node of a cluster, the same on every node.
//!
//! In scope: a page of the stream's lobby subject before or after an id (a sequence), read
//! with a short-lived ordered consumer from a start sequence, widening its window backwards
//! until the page is full or the stream's start is reached. Out of scope: the ring and the
//! page's assembly (`history`), the stream's retention (`engine`).
//!
//! It runs on the asking worker, after every lock, as a read of the SQLite store does, and
//! waits for the stream at most [`READ_WAIT`]: a page the cluster cannot give in time is
//! answered with the ring's lines alone, and the log says so.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use chatd_proto::{MessageId, UtcMillis};
use futures_util::StreamExt;

use crate::server::cluster::engine::Engine;
use crate::server::cluster::event::{Event, LOBBY};
use crate::server::history::{Entry, OlderLines};
use crate::server::line::{ChatLine, Forms};
use crate::server::store::Range;

/// The longest a page waits for the stream.
const READ_WAIT: Duration = Duration::from_secs(5);
/// How long a read waits for one more message once the stream says more are pending.
const NEXT_WAIT: Duration = Duration::from_secs(2);

/// The lobby's stream, as the lobby's history reads it.
pub struct LobbyStream {
    pub engine: Arc<Engine>,
    pub runtime: tokio::runtime::Handle,
}

impl OlderLines for LobbyStream {
    fn read(&self, count: usize, range: Range) -> Vec<Entry> {
        // Built inside the runtime: a timer belongs to the runtime that polls it.
        let read =
            async { tokio::time::timeout(READ_WAIT, page(&self.engine, count, range)).await };
        match self.runtime.block_on(read) {
            Ok(Ok(entries)) => entries,
            Ok(Err(error)) => {
                log::warn!("the cluster's stream could not be read for history: {error}");
                Vec::new()
            }
            Err(_) => {
                log::warn!("the cluster's stream did not give a history page in time");
                Vec::new()
            }
        }
    }
}

async fn page(
    engine: &Engine,
    count: usize,
    range: Range,
) -> Result<Vec<Entry>, async_nats::Error> {
    let Some(last) = last_lobby_line(engine).await? else {
        return Ok(Vec::new());
    };
    match range {
        Range::Oldest { above, below } => {
            scan(
                engine,
                above.saturating_add(1),
                below.min(last + 1),
                count,
                last,
            )
            .await
        }
        Range::Newest { below } => {
            let below = below.min(last + 1);
            // Other subjects share the sequence: a window a few times the page usually holds it.
            let mut window = (count as u64).saturating_mul(4).max(64);
            loop {
                let start = below.saturating_sub(window).max(1);
                let mut lines = scan(engine, start, below, usize::MAX, last).await?;
                if lines.len() >= count || start == 1 {
                    let extra = lines.len().saturating_sub(count);
                    lines.drain(..extra);
                    return Ok(lines);
                }
                window = window.saturating_mul(4);
            }
        }
    }
}

/// The sequence of the lobby's newest line in the stream, if it holds one.
async fn last_lobby_line(engine: &Engine) -> Result<Option<u64>, async_nats::Error> {
    match engine.stream.get_last_raw_message_by_subject(LOBBY).await {
        Ok(message) => Ok(Some(message.sequence)),
        Err(error)
            if matches!(
                error.kind(),
                async_nats::jetstream::stream::LastRawMessageErrorKind::NoMessageFound
            ) =>
        {
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// At most `count` lobby lines from sequence `start` up to (not including) `below`; `last` is
/// the lobby's newest, past which nothing is waited for.
async fn scan(
    engine: &Engine,
    start: u64,
    below: u64,
    count: usize,
    last: u64,
) -> Result<Vec<Entry>, async_nats::Error> {
    let mut entries = Vec::new();
    if start >= below || count == 0 {
        return Ok(entries);
    }
    let consumer = engine
        .stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: LOBBY.to_owned(),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    while let Ok(Some(message)) = tokio::time::timeout(NEXT_WAIT, messages.next()).await {
        let message = message?;
        let info = message.info()?;
        let sequence = info.stream_sequence;
        if sequence >= below {
            break;
        }
        let millis = info.published.unix_timestamp_nanos() / 1_000_000;
        let time = UtcMillis::saturating(u64::try_from(millis).unwrap_or(0));
        let pending = info.pending;
        let event = std::str::from_utf8(&message.message.payload)
            .ok()
            .and_then(|payload| Event::decode(LOBBY, payload).ok());
        if let (Some(Event::Line { reply, .. }), Some(id)) = (event, MessageId::new(sequence)) {
            if let Some(line) = Forms::new(&reply).v1() {
                entries.push(Entry {
                    id,
                    time,
                    line: Arc::clone(line),
                    stored: true,
                });
            }
        }
        if entries.len() >= count || pending == 0 || sequence >= last {
            break;
        }
    }
    Ok(entries)
}
