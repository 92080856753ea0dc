//! A conversation's lines older than a node's ring, read from the cluster's stream: what
//! `HISTORY *` adds on a node of a cluster, the same on every node, and what `HISTORY #room`
//! adds for a room the node took from another's image (the lines it did not deliver).
//!
//! In scope: a page of one subject of the stream (the lobby's, or a room's from after the
//! `JOIN` that made it) before or after an id (a sequence), read with a short-lived ordered
//! consumer from a start sequence, widening its window backwards until the page is full or
//! the stream's start is reached; a room's commands that are lines (`MSG #room`, `ME #room`,
//! a `FILE`) spelled as the room's members got them. Out of scope: the ring and the page's
//! assembly (`history`), the stream's retention (`engine`).
//!
//! It runs on the asking worker, after every lock, as a read of the SQLite store does, and
//! waits for the stream at most [`READ_WAIT`]: a page the cluster cannot give in time is
//! answered with the ring's lines alone, and the log says so.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use chatd_proto::{Command, MessageId, Reply, Room, Target};
use futures_util::StreamExt;

use crate::server::cluster::engine::{Engine, published};
use crate::server::cluster::event::{Event, LOBBY, room_command, room_subject};
use crate::server::history::{Entry, OlderLines, RoomStreams};
use crate::server::line::{ChatLine, Forms};
use crate::server::store::Range;

/// The longest a page waits for the stream.
const READ_WAIT: Duration = Duration::from_secs(5);
/// How long a read waits for one more message once the stream says more are pending.
const NEXT_WAIT: Duration = Duration::from_secs(2);

/// One conversation's subject of the stream, as its history reads it.
pub struct StreamLines {
    engine: Arc<Engine>,
    runtime: tokio::runtime::Handle,
    subject: String,
    /// For a room: its name as its members see it, and the sequence that made it (nothing
    /// at or before it is the room's).
    room: Option<(Room, u64)>,
}

impl StreamLines {
    pub fn lobby(engine: Arc<Engine>, runtime: tokio::runtime::Handle) -> StreamLines {
        StreamLines {
            engine,
            runtime,
            subject: LOBBY.to_owned(),
            room: None,
        }
    }
}

/// Makes each room's [`StreamLines`].
pub struct RoomsStream {
    pub engine: Arc<Engine>,
    pub runtime: tokio::runtime::Handle,
}

impl RoomStreams for RoomsStream {
    fn older(&self, room: &Room, since: u64) -> Arc<dyn OlderLines> {
        Arc::new(StreamLines {
            engine: Arc::clone(&self.engine),
            runtime: self.runtime.clone(),
            subject: room_subject(room),
            room: Some((room.clone(), since)),
        })
    }
}

impl OlderLines for StreamLines {
    fn read(&self, count: usize, range: Range) -> Vec<Entry> {
        // Built inside the runtime: a timer belongs to the runtime that polls it.
        let read = async { tokio::time::timeout(READ_WAIT, self.page(count, range)).await };
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

impl StreamLines {
    async fn page(&self, count: usize, range: Range) -> Result<Vec<Entry>, async_nats::Error> {
        let Some(last) = self.last_line().await? else {
            return Ok(Vec::new());
        };
        // A room's lines are the ones after the `JOIN` that made it.
        let first = self.room.as_ref().map_or(1, |(_, since)| since + 1);
        match range {
            Range::Oldest { above, below } => {
                self.scan(
                    above.saturating_add(1).max(first),
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
                    let start = below.saturating_sub(window).max(first);
                    let mut lines = self.scan(start, below, usize::MAX, last).await?;
                    if lines.len() >= count || start == first {
                        let extra = lines.len().saturating_sub(count);
                        lines.drain(..extra);
                        return Ok(lines);
                    }
                    window = window.saturating_mul(4);
                }
            }
        }
    }

    /// The sequence of the subject's newest message in the stream, if it holds one.
    async fn last_line(&self) -> Result<Option<u64>, async_nats::Error> {
        self.engine.last_of(&self.subject).await
    }

    /// At most `count` lines from sequence `start` up to (not including) `below`; `last` is the
    /// subject's newest message, past which nothing is waited for.
    async fn scan(
        &self,
        start: u64,
        below: u64,
        count: usize,
        last: u64,
    ) -> Result<Vec<Entry>, async_nats::Error> {
        let mut entries = Vec::new();
        if start >= below || count == 0 {
            return Ok(entries);
        }
        let consumer = self
            .engine
            .stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: self.subject.clone(),
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
            let time = published(&info);
            let pending = info.pending;
            let event = std::str::from_utf8(&message.message.payload)
                .ok()
                .and_then(|payload| Event::decode(&self.subject, payload).ok());
            let reply = event.and_then(|event| self.line_of(event));
            if let (Some(reply), Some(id)) = (reply, MessageId::new(sequence)) {
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

    /// The line `event` was for the conversation's members, if it was one: a chat line, or a
    /// room's `MSG` or `ME` (which went out only from a member: its node checks before).
    fn line_of(&self, event: Event) -> Option<Reply> {
        match event {
            Event::Line { reply, .. } => Some(reply),
            Event::Room { nick, command, .. } => {
                let (room, _) = self.room.as_ref()?;
                match room_command(&command)? {
                    Command::MsgRoom { text, .. } => Some(Reply::RoomMsg {
                        room: room.clone(),
                        from: nick,
                        text: text.to_owned(),
                    }),
                    Command::Me { text, .. } => Some(Reply::Me {
                        target: Target::Room(room.clone()),
                        from: nick,
                        text: text.to_owned(),
                    }),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}
