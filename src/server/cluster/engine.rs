//! [`Engine`]: this node's connection to the cluster, and the stream and buckets the nodes
//! share, made if missing.
//!
//! In scope: connecting to NATS, the stream (`CHATD`: every conversation's lines, whose
//! sequence is their order and id, kept as `--history-lines` and `--history-days` say per
//! subject), the stream of messages waiting for offline accounts (`CHATD_WAITING`), the
//! key-value buckets (nick claims; live nodes, whose keys expire [`NODE_LEASE`] after their
//! last renewal; accounts; registered rooms), and the watermark of what this node has
//! delivered. Out of scope: what goes through them (`publisher`, `feed`, `nicks`, `older`,
//! `registered`).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use chatd_proto::UtcMillis;
use tokio::sync::watch;

use crate::server::accounts::MAILBOX_LINES;
use crate::server::cluster::event::{
    ACCOUNTS_BUCKET, ALL_SUBJECTS, NICKS_BUCKET, NODES_BUCKET, ROOMS_BUCKET, STREAM,
    WAITING_STREAM, WAITING_SUBJECTS,
};
use crate::server::cluster_link::{NodeId, Origin};
use crate::server::conn_id::ConnId;

/// How long a node's key lives after its last renewal: a node that dies (`kill -9`, a lost
/// network) frees its nicks this long after its last renewal, and the other nodes forget its
/// clients at their next look after that ([`NODE_RENEW`]).
pub const NODE_LEASE: Duration = Duration::from_secs(10);
/// How often a node renews its key and looks for nodes whose key expired.
pub const NODE_RENEW: Duration = Duration::from_secs(2);
/// How long a request to NATS (a publish's acknowledgement, a claim) may take before it
/// counts as failed.
pub const REQUEST_WAIT: Duration = Duration::from_secs(5);

/// The fewest messages the stream keeps per subject, whatever `--history-lines` says: the
/// stream is also how lines reach the nodes, and a node that falls further behind on a
/// subject than the stream keeps misses lines (it then ends its clients: `feed`). As many as
/// history keeps by default, which no node was seen to fall behind by under the benchmark's
/// bursts.
pub const STREAM_LINES_AT_LEAST: usize = crate::config::DEFAULT_HISTORY_LINES;

/// How the stream keeps lines: as history keeps them on one server (at least
/// [`STREAM_LINES_AT_LEAST`] per subject).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// `--history-lines`: per conversation (per subject).
    pub lines: usize,
    /// `--history-days`; 0 keeps lines for ever.
    pub days: u32,
    /// Copies of the stream and buckets in a NATS cluster (`--cluster-replicas`).
    pub replicas: usize,
}

pub struct Engine {
    pub node: NodeId,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub stream: stream::Stream,
    /// The messages waiting for offline accounts (`mailbox`).
    pub waiting: stream::Stream,
    pub nicks: kv::Store,
    pub nodes: kv::Store,
    pub accounts: kv::Store,
    /// Registered rooms, for when no node runs (`registered`).
    pub rooms: kv::Store,
    /// Held shared by each save of a registered room under way: a node that leaves takes
    /// it whole first, so a change it carried out just before is kept.
    pub saving: Arc<tokio::sync::RwLock<()>>,
    /// The highest stream sequence this node's feed has delivered: a barrier waits for it.
    pub delivered: watch::Sender<u64>,
}

impl Engine {
    /// Connects to the first reachable of `servers` and makes the stream and buckets if they
    /// are missing (a running cluster's are taken as they are).
    pub async fn connect(
        node: NodeId,
        servers: &[String],
        retention: Retention,
    ) -> Result<Engine, async_nats::Error> {
        let (client, js) = connect(servers, &format!("chatd node {node}")).await?;
        let max_age = Duration::from_secs(u64::from(retention.days) * 86_400);
        let stream = js
            .get_or_create_stream(stream::Config {
                name: STREAM.to_owned(),
                subjects: vec![ALL_SUBJECTS.to_owned()],
                max_messages_per_subject: i64::try_from(retention.lines.max(STREAM_LINES_AT_LEAST))
                    .unwrap_or(i64::MAX),
                max_age,
                storage: stream::StorageType::File,
                num_replicas: retention.replicas,
                allow_direct: true,
                ..Default::default()
            })
            .await?;
        // A stream of its own: kept until taken (no age), and no feed reads it. The limit per
        // account is the mailbox's own, checked before a line is kept, so none is dropped.
        let waiting = js
            .get_or_create_stream(stream::Config {
                name: WAITING_STREAM.to_owned(),
                subjects: vec![WAITING_SUBJECTS.to_owned()],
                max_messages_per_subject: i64::try_from(MAILBOX_LINES).unwrap_or(i64::MAX),
                storage: stream::StorageType::File,
                num_replicas: retention.replicas,
                allow_direct: true,
                ..Default::default()
            })
            .await?;
        let nicks = bucket(&js, NICKS_BUCKET, Duration::ZERO, retention.replicas).await?;
        let nodes = bucket(&js, NODES_BUCKET, NODE_LEASE, retention.replicas).await?;
        let accounts = bucket(&js, ACCOUNTS_BUCKET, Duration::ZERO, retention.replicas).await?;
        let rooms = bucket(&js, ROOMS_BUCKET, Duration::ZERO, retention.replicas).await?;
        let (delivered, _) = watch::channel(0);
        Ok(Engine {
            node,
            client,
            js,
            stream,
            waiting,
            nicks,
            nodes,
            accounts,
            rooms,
            saving: Arc::new(tokio::sync::RwLock::new(())),
            delivered,
        })
    }

    /// This node's connection `conn`, as the other nodes know it.
    pub fn origin(&self, conn: ConnId) -> Origin {
        Origin {
            node: self.node.clone(),
            conn,
        }
    }

    /// Whether `node` renewed its key within [`NODE_LEASE`].
    pub async fn is_alive(&self, node: &NodeId) -> Result<bool, async_nats::Error> {
        Ok(self.nodes.get(node.as_str()).await?.is_some())
    }

    /// The sequence of `subject`'s newest message in the stream, if it holds one.
    pub async fn last_of(&self, subject: &str) -> Result<Option<u64>, async_nats::Error> {
        match self.stream.get_last_raw_message_by_subject(subject).await {
            Ok(message) => Ok(Some(message.sequence)),
            Err(error)
                if matches!(
                    error.kind(),
                    stream::LastRawMessageErrorKind::NoMessageFound
                ) =>
            {
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// When a message of the stream was stored: a line's time on every node.
pub fn published(info: &jetstream::message::Info<'_>) -> UtcMillis {
    let millis = info.published.unix_timestamp_nanos() / 1_000_000;
    UtcMillis::saturating(u64::try_from(millis).unwrap_or(0))
}

/// A connection to the first reachable of `servers`, named `name` there, and its JetStream.
pub async fn connect(
    servers: &[String],
    name: &str,
) -> Result<(async_nats::Client, jetstream::Context), async_nats::Error> {
    let addresses = servers
        .iter()
        .map(|server| server.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()?;
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(REQUEST_WAIT)
        .connect(addresses)
        .await?;
    let js = jetstream::ContextBuilder::new()
        .timeout(REQUEST_WAIT)
        .build(client.clone());
    Ok((client, js))
}

/// The bucket `name`, made if missing, whose keys expire `max_age` after their last write
/// (never for zero), keeping only the latest value. Made as the stream a bucket is (the
/// client's own `create_key_value` first reads the account's limits in a form Debian's
/// nats-server 2.9 does not answer), then opened as a bucket.
async fn bucket(
    js: &jetstream::Context,
    name: &str,
    max_age: Duration,
    replicas: usize,
) -> Result<kv::Store, async_nats::Error> {
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_age,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    })
    .await?;
    Ok(js.get_key_value(name).await?)
}
