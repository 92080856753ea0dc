//! Several chatd nodes sharing one chat through NATS JetStream (`--cluster`, issue 19): the
//! cluster seam's far side, on a tokio runtime of its own (`chatd-cluster` threads), so the
//! chat core keeps its threads and never waits for the network.
//!
//! The modules: `engine` (the connection, the stream and the buckets), `event` (what nodes
//! say to each other, pure), `publisher` (this node's requests, in order, and the barriers),
//! `feed` (the stream delivered here), `nicks` (claims and the nodes' leases), `older` (the
//! lobby's history beyond the ring), `accounts` (the accounts' bucket), `mailbox` (the
//! messages waiting for offline accounts), `catch_up` (the direct lines sent before the node
//! started, for its accounts' direct history), `registered` (registered rooms, kept for when
//! no node runs). The core reaches it only through [`ClusterLink`], and it reaches the core
//! only through the `Registry`.
//!
//! What is shared: nicks (one holder across the nodes; a `LOGIN` ends another node's holder
//! through it), the lobby's lines and direct lines (one order, the stream's, whose sequence
//! is their id, delivered by every node to its own clients), the lobby's presence, the
//! lobby's history (the stream), rooms (every node carries out every room command in the
//! stream's order; a registered room also outlives every node, in a bucket), accounts
//! (`accounts`: a bucket every node's book copies), the messages waiting for offline
//! accounts (`mailbox`), and accounts' direct history (every node keeps every account's
//! direct lines as it reads them, and those the stream holds from before it started).

mod accounts;
mod catch_up;
mod engine;
mod event;
mod feed;
mod mailbox;
mod nicks;
mod older;
mod publisher;
mod registered;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use chatd_proto::NickKey;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::server::accounts::AccountAdmin;
use crate::server::cluster_link::{ClusterLink, NodeId, REQUESTS, Request};
use crate::server::history::{OlderLines, RoomStreams};
use crate::server::registry::Registry;
use engine::Engine;
use event::Event;
use feed::Feed;

pub use engine::Retention;

/// The longest a node waits for the cluster at start, and for its goodbye at shutdown.
const CONNECT_WAIT: Duration = Duration::from_secs(10);
const GOODBYE_WAIT: Duration = Duration::from_secs(2);

/// A cluster's accounts for an operator's command (`chatd account --cluster`): read from
/// the accounts bucket of the NATS servers `servers`, every change made there, which the
/// running nodes take within milliseconds. The bucket must exist (a node made it).
pub fn account_admin(servers: &[String]) -> io::Result<AccountAdmin> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("chatd-cluster")
        .enable_all()
        .build()?;
    let listed = servers.join(",");
    let read = runtime.block_on(async {
        let read = async {
            let (_, js) = engine::connect(servers, "chatd account").await?;
            let bucket = js.get_key_value(event::ACCOUNTS_BUCKET).await?;
            let found = accounts::load(&bucket).await?;
            Ok::<_, async_nats::Error>((js, bucket, found))
        };
        tokio::time::timeout(CONNECT_WAIT, read).await
    });
    let (js, bucket, found) = match read {
        Ok(Ok(read)) => read,
        Ok(Err(error)) => {
            return Err(io::Error::other(format!(
                "cannot read the cluster's accounts at {listed}: {error}"
            )));
        }
        Err(_) => {
            return Err(io::Error::other(format!(
                "cannot read the cluster's accounts at {listed}: no answer in 10 s"
            )));
        }
    };
    let shared = Arc::new(accounts::BucketBook {
        accounts: bucket,
        stream: js,
        by: random_node()?,
        runtime: runtime.handle().clone(),
    });
    Ok(AccountAdmin::of_cluster(found, shared, runtime))
}

/// This node's part of the cluster: its runtime, its connection, and what it started.
pub struct Cluster {
    runtime: tokio::runtime::Runtime,
    engine: Arc<Engine>,
    servers: String,
    /// Until [`Cluster::run`]: the link's requests, and the feed subscribed at connection.
    /// Behind a mutex only so that the server's handle may be shared between threads: the
    /// feed's subscription is not `Sync`.
    waiting: Mutex<Option<(mpsc::Receiver<Request>, Feed)>>,
    link: ClusterLink,
}

impl Cluster {
    /// Connects to `servers` (`nats://host:port`, the first reachable), makes the stream and
    /// buckets if missing, and subscribes to the stream: from now on nothing is missed.
    pub fn connect(servers: &[String], retention: Retention) -> io::Result<Cluster> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("chatd-cluster")
            .enable_all()
            .build()?;
        let node = random_node()?;
        let listed = servers.join(",");
        let unreachable = |error: &dyn std::fmt::Display| {
            io::Error::other(format!("cannot join the cluster at {listed}: {error}"))
        };
        let engine = runtime.block_on(async {
            let connected = tokio::time::timeout(
                CONNECT_WAIT,
                Engine::connect(node.clone(), servers, retention),
            )
            .await;
            match connected {
                Ok(Ok(engine)) => {
                    let feed = Feed::subscribe(&engine)
                        .await
                        .map_err(|e| unreachable(&e))?;
                    Ok((engine, feed))
                }
                Ok(Err(error)) => Err(unreachable(&error)),
                Err(_) => Err(unreachable(&"no answer in 10 s")),
            }
        });
        let (engine, feed) = engine?;
        let (requests, waiting) = mpsc::channel(REQUESTS);
        Ok(Cluster {
            runtime,
            engine: Arc::new(engine),
            servers: listed,
            waiting: Mutex::new(Some((waiting, feed))),
            link: ClusterLink::new(node, requests),
        })
    }

    /// The handle the registry and the sessions hand their requests to.
    pub fn link(&self) -> ClusterLink {
        self.link.clone()
    }

    /// Where the lobby's history reads what is older than its ring.
    pub fn lobby_history(&self) -> Arc<dyn OlderLines> {
        Arc::new(older::StreamLines::lobby(
            Arc::clone(&self.engine),
            self.runtime.handle().clone(),
        ))
    }

    /// Where a room this node took from another's image reads what it did not deliver.
    pub fn room_history(&self) -> Arc<dyn RoomStreams> {
        Arc::new(older::RoomsStream {
            engine: Arc::clone(&self.engine),
            runtime: self.runtime.handle().clone(),
        })
    }

    /// Takes this node into the cluster: its lease, the other nodes' clients, then the
    /// feed, the requests and the lease's renewal, delivering to `registry`. The [`Watch`]
    /// returned waits for any of them to end, which only the shutdown may make them do.
    pub fn run(&mut self, registry: Arc<Registry>) -> io::Result<Watch> {
        let Some((requests, feed)) = self.waiting.lock().take() else {
            return Err(io::Error::other("the cluster runs already"));
        };
        let engine = Arc::clone(&self.engine);
        let servers = self.servers.clone();
        let cannot_join = move |error: async_nats::Error| {
            io::Error::other(format!("cannot join the cluster at {servers}: {error}"))
        };
        self.runtime
            .block_on(nicks::join(&engine, &registry))
            .map_err(&cannot_join)?;
        let mut feed = feed;
        if !registry.remote_nodes().is_empty() {
            // Other nodes run, and may have rooms: this one asks for them, and its feed,
            // subscribed before the question, holds the room commands until an answer.
            feed.want_rooms();
            let (subject, payload) = Event::RoomsWanted(engine.node.clone()).encode();
            self.runtime
                .block_on(async {
                    let ack = engine.js.publish(subject, payload.into()).await?;
                    ack.await.map_err(async_nats::Error::from)
                })
                .map_err(&cannot_join)?;
        }
        // Accounts: this node's shared where the cluster lacks them, the cluster's taken here,
        // and every change made through the bucket from now on.
        let book = registry.accounts().clone();
        self.runtime
            .block_on(accounts::share_local(&engine, &book))
            .map_err(&cannot_join)?;
        let shared = self
            .runtime
            .block_on(accounts::load(&engine.accounts))
            .map_err(&cannot_join)?;
        let owners: HashSet<NickKey> = shared.iter().map(|account| account.nick.key()).collect();
        for account in shared {
            book.apply_shared(&account.nick.key(), Some(account));
        }
        book.share(Arc::new(accounts::BucketBook {
            accounts: engine.accounts.clone(),
            stream: engine.js.clone(),
            by: engine.node.clone(),
            runtime: self.runtime.handle().clone(),
        }));
        // The registered rooms, as the cluster kept them: what this node has of the rooms if
        // no running node tells it more (an image, which the feed then takes in their place).
        let kept = self
            .runtime
            .block_on(registered::load(&engine.rooms, |owner| {
                owners.contains(owner)
            }))
            .map_err(&cannot_join)?;
        if !kept.is_empty() {
            log::info!("took {} registered room(s) the cluster kept", kept.len());
            registry.install_rooms(kept);
        }
        // The messages waiting for offline accounts: kept for a login on any node. Those a
        // single server's run left in this node's database wait there until it runs alone.
        book.share_mailbox(Arc::new(mailbox::StreamMailbox {
            engine: Arc::clone(&engine),
            runtime: self.runtime.handle().clone(),
        }));
        let handle = self.runtime.handle();
        // Not watched: the pass ends once it has read the past.
        handle.spawn(catch_up::direct_lines(
            Arc::clone(&engine),
            Arc::clone(&registry),
            feed.starts_after(),
            registry.catching_up_direct(),
        ));
        let tasks = vec![
            (
                "feed",
                handle.spawn(feed.run(Arc::clone(&engine), Arc::clone(&registry))),
            ),
            (
                "requests",
                handle.spawn(publisher::serve(
                    Arc::clone(&engine),
                    Arc::clone(&registry),
                    requests,
                )),
            ),
            (
                "accounts",
                handle.spawn(accounts::mirror(Arc::clone(&engine), book)),
            ),
            ("lease", handle.spawn(nicks::keep_alive(engine, registry))),
        ];
        log::info!(
            "joined the cluster at {} as node {}",
            self.servers,
            self.link.node()
        );
        Ok(Watch {
            runtime: handle.clone(),
            tasks,
        })
    }

    /// Leaves the cluster: tells the other nodes this node's clients are gone, gives its
    /// lease up (its claims are free from then on), and stops the runtime.
    pub fn leave(self) {
        let engine = Arc::clone(&self.engine);
        let goodbye = async move {
            // The registered rooms' changes it carried out are saved first.
            let _saved = engine.saving.write().await;
            let (subject, payload) = Event::Gone(engine.node.clone()).encode();
            if let Ok(ack) = engine.js.publish(subject, payload.into()).await {
                let _ = ack.await;
            }
            let _ = engine.nodes.purge(engine.node.as_str()).await;
        };
        // The timer is made inside the runtime, which it belongs to.
        let told = async { tokio::time::timeout(GOODBYE_WAIT, goodbye).await };
        if self.runtime.block_on(told).is_err() {
            log::warn!("the cluster was not told of this node's stop in time");
        }
        self.runtime.shutdown_timeout(GOODBYE_WAIT);
    }
}

/// The cluster's tasks, for a vital thread to wait on: a node whose feed or requests stopped
/// would look alive and be deaf, so their end is the server's failure.
pub struct Watch {
    runtime: tokio::runtime::Handle,
    tasks: Vec<(&'static str, tokio::task::JoinHandle<()>)>,
}

impl Watch {
    /// Waits until a task ends: `Ok` when the runtime was shut down (the node left), the
    /// task's end otherwise.
    pub fn wait(self) -> io::Result<()> {
        let Watch { runtime, tasks } = self;
        let (names, handles): (Vec<&str>, Vec<_>) = tasks.into_iter().unzip();
        let (ended, index, _) = runtime.block_on(futures_util::future::select_all(handles));
        match ended {
            Err(error) if error.is_cancelled() => Ok(()),
            Err(error) => Err(io::Error::other(format!(
                "the cluster's {} task panicked: {error}",
                names[index]
            ))),
            Ok(()) => Err(io::Error::other(format!(
                "the cluster's {} task ended",
                names[index]
            ))),
        }
    }
}

/// A node id of 64 random bits.
fn random_node() -> io::Result<NodeId> {
    let mut bytes = [0_u8; 8];
    getrandom::fill(&mut bytes).map_err(|error| io::Error::other(error.to_string()))?;
    let mut hex = String::with_capacity(16);
    for byte in bytes {
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(NodeId::parse(&hex).expect("16 hex digits"))
}

#[cfg(test)]
mod tests;
