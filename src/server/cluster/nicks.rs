//! Nick claims across the cluster: one holder per nick among all nodes, as atomic operations
//! on the nicks bucket; and the nodes' leases, by which a dead node's nicks and clients go.
//!
//! In scope: claiming (a create, or an update of a claim whose holder is gone, at the
//! revision read), releasing (only a claim this connection still holds), renewing this
//! node's lease and telling the stream of nodes whose lease expired, and reading the
//! claims of live nodes when this node starts. Out of scope: the local table (`registry`),
//! the encoding (`event`).
//!
//! A claim's holder is gone when its node's lease expired (`NODE_LEASE` after its last
//! renewal), or, for a claim of this node's, when the connection it names no longer holds
//! the nick here (its release is still on its way).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::connection::State;
use async_nats::jetstream::kv::{CreateErrorKind, Operation, UpdateErrorKind};
use chatd_proto::Nick;
use futures_util::StreamExt;

use crate::server::cluster::engine::{Engine, NODE_LEASE, NODE_RENEW, REQUEST_WAIT};
use crate::server::cluster::event::{Event, holder, nick_key, parse_holder};
use crate::server::cluster_link::{Answer, NodeId, Origin, Presence};
use crate::server::conn_id::ConnId;
use crate::server::registry::{NODE_LOST, Registry};

/// How often a claim is tried again when the bucket changed between its read and its write.
const CLAIM_ROUNDS: usize = 3;

/// Claims `nick` for connection `conn` of this node. A claim that may have been made after
/// all (no answer in time) is released, so a nick refused as unavailable is not held.
pub async fn claim(engine: &Arc<Engine>, registry: &Registry, nick: &Nick, conn: ConnId) -> Answer {
    if engine.client.connection_state() != State::Connected {
        return Answer::Unreachable;
    }
    match tokio::time::timeout(REQUEST_WAIT, try_claim(engine, registry, nick, conn)).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) => {
            log::warn!("conn#{conn}: the cluster could not claim a nick: {error}");
            release_later(engine, nick, conn);
            Answer::Unreachable
        }
        Err(_) => {
            log::warn!("conn#{conn}: the cluster did not answer a claim in time");
            release_later(engine, nick, conn);
            Answer::Unreachable
        }
    }
}

async fn try_claim(
    engine: &Engine,
    registry: &Registry,
    nick: &Nick,
    conn: ConnId,
) -> Result<Answer, async_nats::Error> {
    let key = nick_key(nick);
    let value = holder(&engine.node, conn, nick);
    for _ in 0..CLAIM_ROUNDS {
        match engine.nicks.create(&key, value.clone().into()).await {
            Ok(_) => return Ok(Answer::Claimed),
            Err(error) if error.kind() == CreateErrorKind::AlreadyExists => {}
            Err(error) => return Err(error.into()),
        }
        let Some(entry) = engine.nicks.entry(&key).await? else {
            continue;
        };
        if entry.operation != Operation::Put {
            // Released between the two: the create may succeed now.
            continue;
        }
        let holder_gone = match parse_holder(&entry.value) {
            Some((node, held_by, _)) if node == engine.node => {
                held_by == conn || registry.holder(nick).is_none_or(|here| here == conn)
            }
            Some((node, _, _)) => !engine.is_alive(&node).await?,
            // Not a claim of ours: whatever wrote it is no chat node.
            None => true,
        };
        if !holder_gone {
            return Ok(Answer::Taken);
        }
        match engine
            .nicks
            .update(&key, value.clone().into(), entry.revision)
            .await
        {
            Ok(_) => return Ok(Answer::Claimed),
            Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Ok(Answer::Taken)
}

/// How long a `LOGIN` waits for another node to end the client that holds the account's
/// nick and let the nick go, and for this node to read that client's departure.
const TAKE_OVER_WAIT: Duration = Duration::from_secs(5);

/// How often it looks meanwhile.
const TAKE_OVER_LOOK: Duration = Duration::from_millis(10);

/// Claims `nick` for connection `conn` as [`claim`] does; if a live client of another node
/// holds it, asks that node to end the client (one connection per account, as on one
/// server) and claims the nick once it is let go. `Taken` if it was not let go within
/// [`TAKE_OVER_WAIT`].
pub async fn take_over(
    engine: &Arc<Engine>,
    registry: &Registry,
    nick: &Nick,
    conn: ConnId,
) -> Answer {
    let answer = claim(engine, registry, nick, conn).await;
    if answer != Answer::Taken {
        return answer;
    }
    let holder = match tokio::time::timeout(REQUEST_WAIT, holder_elsewhere(engine, nick)).await {
        Ok(Ok(Some(holder))) => holder,
        // Let go meanwhile, or held here (the session ends a holder of this node itself).
        Ok(Ok(None)) => return claim(engine, registry, nick, conn).await,
        Ok(Err(error)) => {
            log::warn!("conn#{conn}: the cluster could not read a nick's holder: {error}");
            return Answer::Unreachable;
        }
        Err(_) => return Answer::Unreachable,
    };
    let evict = Event::Evict {
        by: engine.node.clone(),
        holder: holder.clone(),
        nick: nick.clone(),
    };
    let (subject, payload) = evict.encode();
    let asked = async {
        let ack = engine.js.publish(subject, payload.into()).await?;
        ack.await?;
        Ok::<(), async_nats::Error>(())
    };
    match tokio::time::timeout(REQUEST_WAIT, asked).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            log::warn!("conn#{conn}: the cluster could not ask a node to end a client: {error}");
            return Answer::Unreachable;
        }
        Err(_) => return Answer::Unreachable,
    }
    let deadline = Instant::now() + TAKE_OVER_WAIT;
    loop {
        tokio::time::sleep(TAKE_OVER_LOOK).await;
        match claim(engine, registry, nick, conn).await {
            Answer::Claimed => break,
            Answer::Taken if Instant::now() < deadline => {}
            other => return other,
        }
    }
    // The holder's node published its departure before it let the nick go: once this node
    // has read it, its clients hear of the new holder after the old one's `QUIT`.
    while registry.held_on(nick, &holder.node) && Instant::now() < deadline {
        tokio::time::sleep(TAKE_OVER_LOOK).await;
    }
    Answer::Claimed
}

/// The client of another node the bucket names as `nick`'s holder, if any.
async fn holder_elsewhere(
    engine: &Engine,
    nick: &Nick,
) -> Result<Option<Origin>, async_nats::Error> {
    let Some(entry) = engine.nicks.entry(nick_key(nick)).await? else {
        return Ok(None);
    };
    if entry.operation != Operation::Put {
        return Ok(None);
    }
    Ok(parse_holder(&entry.value)
        .filter(|(node, _, _)| node != &engine.node)
        .map(|(node, conn, _)| Origin { node, conn }))
}

/// Whether a live client of any node holds `nick`: [`Answer::Taken`] if so, [`Answer::Free`]
/// if not.
pub async fn lookup(engine: &Engine, registry: &Registry, nick: &Nick) -> Answer {
    let held = async {
        let Some(entry) = engine.nicks.entry(nick_key(nick)).await? else {
            return Ok(false);
        };
        if entry.operation != Operation::Put {
            return Ok(false);
        }
        match parse_holder(&entry.value) {
            Some((node, _, _)) if node == engine.node => Ok(registry.holder(nick).is_some()),
            Some((node, _, _)) => engine.is_alive(&node).await,
            None => Ok(false),
        }
    };
    match tokio::time::timeout(REQUEST_WAIT, held).await {
        Ok(Ok(true)) => Answer::Taken,
        Ok(Ok(false)) => Answer::Free,
        Ok(Err(error)) => {
            log::warn!("the cluster could not look a nick up: {error}");
            Answer::Unreachable
        }
        Err(_) => Answer::Unreachable,
    }
}

/// Releases `nick` for `conn` in the background: the claim may still reach NATS.
fn release_later(engine: &Arc<Engine>, nick: &Nick, conn: ConnId) {
    let (engine, nick) = (Arc::clone(engine), nick.clone());
    tokio::spawn(async move { release(&engine, &nick, conn).await });
}

/// Releases `nick` if connection `conn` of this node still holds it in the bucket.
pub async fn release(engine: &Engine, nick: &Nick, conn: ConnId) {
    let key = nick_key(nick);
    let released = async {
        let Some(entry) = engine.nicks.entry(&key).await? else {
            return Ok(());
        };
        let ours = entry.operation == Operation::Put
            && parse_holder(&entry.value)
                .is_some_and(|(node, held_by, _)| node == engine.node && held_by == conn);
        if ours {
            // At the revision read: a claim taken over meanwhile stays.
            let _ = engine
                .nicks
                .delete_expect_revision(&key, Some(entry.revision))
                .await;
        }
        Ok::<(), async_nats::Error>(())
    };
    match tokio::time::timeout(REQUEST_WAIT, released).await {
        Ok(Ok(())) => {}
        // The node's lease frees it when the node stops.
        Ok(Err(error)) => log::warn!("conn#{conn}: the cluster could not release a nick: {error}"),
        Err(_) => log::warn!("conn#{conn}: the cluster did not answer a release in time"),
    }
}

/// Renews this node's lease every [`NODE_RENEW`], and forgets the clients of the nodes whose
/// lease expired. Runs until the runtime stops.
///
/// After NATS could not be reached, no node is found lost for one [`NODE_LEASE`]: the other
/// nodes could not renew their leases either, and would otherwise be found lost (and end
/// their clients, reading so) for an outage that cut them all off alike.
pub async fn keep_alive(engine: Arc<Engine>, registry: Arc<Registry>) {
    let mut tick = tokio::time::interval(NODE_RENEW);
    let mut failing = false;
    let mut looks_from = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let renewed = engine.nodes.put(engine.node.as_str(), "alive".into()).await;
        match (renewed, failing) {
            (Ok(_), true) => {
                log::info!("the cluster is reachable again");
                failing = false;
                looks_from = tokio::time::Instant::now() + NODE_LEASE;
            }
            (Err(error), false) => {
                log::warn!("the cluster is unreachable, this node's lease is not renewed: {error}");
                failing = true;
            }
            _ => {}
        }
        if failing || tokio::time::Instant::now() < looks_from {
            continue;
        }
        // Each node known asked by its key, which a direct read answers exactly; a node
        // that joins during the look is not known yet.
        let mut gone = HashSet::new();
        for node in registry.remote_nodes() {
            match engine.is_alive(&node).await {
                Ok(true) => {}
                Ok(false) => {
                    gone.insert(node);
                }
                // Unknown this time: asked again at the next look.
                Err(_) => {}
            }
        }
        if !gone.is_empty() {
            log::info!(
                "{} node(s) of the cluster stopped renewing their lease",
                gone.len()
            );
            tell_lost(&engine, &registry, gone).await;
        }
    }
}

/// Tells every node, through the stream, that the nodes `gone` stopped: each forgets their
/// clients when it reads it, at the same point of the rooms' order. Forgotten here at once
/// if the stream cannot be told (every node that finds them gone says so; the first one
/// read counts).
async fn tell_lost(engine: &Engine, registry: &Registry, gone: HashSet<NodeId>) {
    for node in gone {
        let (subject, payload) = Event::Lost {
            by: engine.node.clone(),
            node: node.clone(),
        }
        .encode();
        let stored = match engine.js.publish(subject, payload.into()).await {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        };
        if !stored {
            registry.forget_nodes(&HashSet::from([node]), NODE_LOST);
        }
    }
}

/// Puts this node's lease, then tells the registry of every client of a live node: what a
/// node starting into a running cluster knows before its first client.
pub async fn join(engine: &Engine, registry: &Registry) -> Result<(), async_nats::Error> {
    engine
        .nodes
        .put(engine.node.as_str(), "alive".into())
        .await?;
    let mut alive: HashMap<NodeId, bool> = HashMap::new();
    let mut keys = engine.nicks.keys().await?;
    while let Some(key) = keys.next().await {
        let Some(value) = engine.nicks.get(key?).await? else {
            continue;
        };
        let Some((node, conn, nick)) = parse_holder(&value) else {
            continue;
        };
        if node == engine.node {
            continue;
        }
        let live = match alive.get(&node) {
            Some(live) => *live,
            None => {
                let live = engine.is_alive(&node).await?;
                alive.insert(node.clone(), live);
                live
            }
        };
        if live {
            let client = Origin { node, conn };
            registry.remote_presence(&client, &Presence::Joined(nick));
        }
    }
    Ok(())
}
