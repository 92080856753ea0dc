//! What the stream brings this node: every node's lines and presence changes, in the
//! stream's one order, delivered here to this node's clients.
//!
//! In scope: one ordered consumer of the whole stream from the moment the node starts (it
//! picks up where it was after a lost connection), decoding each message and handing it to
//! the registry (a line with the stream's sequence as its id and the stream's time as its
//! time; another node's presence; a node that stopped), and the watermark barriers wait for.
//! Out of scope: publishing (`publisher`), the deliveries themselves (`registry`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, push};
use chatd_proto::{MessageId, UtcMillis};
use futures_util::StreamExt;

use crate::server::cluster::engine::Engine;
use crate::server::cluster::event::{ALL_SUBJECTS, Event};
use crate::server::registry::{NODE_STOPPED, Registry};

/// How long the feed waits before it subscribes again after its consumer failed for good.
const RESUBSCRIBE: Duration = Duration::from_secs(1);

/// The feed's consumer, made before the node tells anyone it is there, so that nothing
/// published after its start is missed.
pub struct Feed {
    messages: push::Ordered,
    /// The last sequence seen, to go on from after a failure.
    last: u64,
}

impl Feed {
    /// Subscribes to everything published from now on: after the stream's last sequence
    /// now, which is where a failed subscription goes on from if nothing came before it (so
    /// it never replays the stream's past as new lines).
    pub async fn subscribe(engine: &Engine) -> Result<Feed, async_nats::Error> {
        let mut stream = engine.stream.clone();
        let last = stream.info().await?.state.last_sequence;
        let from = DeliverPolicy::ByStartSequence {
            start_sequence: last + 1,
        };
        let messages = consume(engine, from).await?;
        Ok(Feed { messages, last })
    }

    /// Delivers what comes, for as long as the runtime runs.
    pub async fn run(mut self, engine: Arc<Engine>, registry: Arc<Registry>) {
        loop {
            while let Some(message) = self.messages.next().await {
                match message {
                    Ok(message) => self.deliver(&engine, &registry, &message),
                    Err(error) => {
                        log::warn!("the cluster's feed failed: {error}");
                        break;
                    }
                }
            }
            loop {
                tokio::time::sleep(RESUBSCRIBE).await;
                let from = DeliverPolicy::ByStartSequence {
                    start_sequence: self.last + 1,
                };
                match consume(&engine, from).await {
                    Ok(messages) => {
                        self.messages = messages;
                        break;
                    }
                    Err(error) => log::warn!("the cluster's feed cannot subscribe: {error}"),
                }
            }
        }
    }

    fn deliver(
        &mut self,
        engine: &Engine,
        registry: &Registry,
        message: &async_nats::jetstream::Message,
    ) {
        let Ok(info) = message.info() else {
            return;
        };
        let sequence = info.stream_sequence;
        let millis = info.published.unix_timestamp_nanos() / 1_000_000;
        let time = UtcMillis::saturating(u64::try_from(millis).unwrap_or(0));
        let event = std::str::from_utf8(&message.message.payload)
            .ok()
            .and_then(|payload| Event::decode(message.message.subject.as_str(), payload).ok());
        match event {
            Some(Event::Line {
                origin,
                conversation,
                reply,
            }) => {
                if let Some(id) = MessageId::new(sequence) {
                    let skip = (origin.node == engine.node).then_some(origin.conn);
                    registry.clustered_line(id, time, &conversation, &reply, skip);
                }
            }
            Some(Event::Presence { node, presence }) => {
                // This node told its own clients when the change was made.
                if node != engine.node {
                    registry.remote_presence(&node, &presence);
                }
            }
            Some(Event::Gone(node)) => {
                if node != engine.node {
                    registry.forget_nodes(&HashSet::from([node]), NODE_STOPPED);
                }
            }
            None => log::debug!("the cluster's stream holds a message that is not a chat node's"),
        }
        self.last = sequence;
        engine.delivered.send_replace(sequence);
    }
}

async fn consume(
    engine: &Engine,
    deliver_policy: DeliverPolicy,
) -> Result<push::Ordered, async_nats::Error> {
    let consumer = engine
        .stream
        .create_consumer(push::OrderedConfig {
            deliver_subject: engine.client.new_inbox(),
            filter_subject: ALL_SUBJECTS.to_owned(),
            deliver_policy,
            ..Default::default()
        })
        .await?;
    Ok(consumer.messages().await?)
}
