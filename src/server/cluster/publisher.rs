//! What this node hands to the cluster: the requests of its workers, in the order they came.
//!
//! In scope: publishing chat lines, presence changes and room commands to the stream in
//! one order (one NATS connection keeps it: the stream gets one node's lines as its workers
//! handed them over), waiting for each acknowledgement in that order and telling a sender
//! whose line or room command was not stored (`UNAVAILABLE`), and the errands: claims,
//! releases, and barriers, which pass once every line handed over before them is stored and
//! this node's feed has delivered it.
//! Out of scope: delivering (`feed`), the claims' rules (`nicks`).

use std::sync::Arc;

use async_nats::connection::State;
use async_nats::jetstream::context::PublishAckFuture;
use chatd_proto::{ProtocolError, Reply};
use tokio::sync::{mpsc, watch};

use crate::server::cluster::engine::{Engine, REQUEST_WAIT};
use crate::server::cluster::event::Event;
use crate::server::cluster::nicks;
use crate::server::cluster_link::{Answer, Errand, Presence, Request};
use crate::server::conn_id::ConnId;
use crate::server::line::shared_line;
use crate::server::outbox::Outbox;
use crate::server::registry::Registry;

/// A published event waiting for its acknowledgement: its number in this node's order, and
/// the sender to tell if it was not stored.
struct Unacked {
    serial: u64,
    sent: Sent,
    sender: Option<Outbox>,
    /// The connection of this node whose departure it is, if it is one.
    left: Option<ConnId>,
}

/// What became of a publish.
enum Sent {
    /// Handed to the connection: the acknowledgement tells whether it was stored.
    Waiting(PublishAckFuture),
    /// Not handed over (no connection to NATS): certainly not stored.
    Refused,
}

/// What a sender whose line was refused is told: certainly not sent, or sent without an
/// acknowledgement in time, which a NATS server coming back may still store (the client
/// keeps what it was handed while it reconnects).
const NOT_SENT: &str = "your line was not sent";
const NOT_CONFIRMED: &str = "your line may not have been stored (see HISTORY)";

/// Serves this node's requests until the link's last sender is gone.
pub async fn serve(
    engine: Arc<Engine>,
    registry: Arc<Registry>,
    mut requests: mpsc::Receiver<Request>,
) {
    let (to_acknowledge, unacked) = mpsc::unbounded_channel();
    // (the serial of the last event dealt with, the highest sequence acknowledged so far)
    let (acked, acked_seen) = watch::channel((0_u64, 0_u64));
    tokio::spawn(acknowledge(unacked, acked, Arc::clone(&registry)));
    let mut serial = 0_u64;
    while let Some(request) = requests.recv().await {
        let mut left = None;
        let (event, sender) = match request {
            Request::Line {
                conversation,
                reply,
                from,
                outbox,
            } => {
                let event = Event::Line {
                    origin: engine.origin(from),
                    conversation,
                    reply,
                };
                (event, Some(outbox))
            }
            Request::Presence { conn, presence } => {
                // A departure that is not stored takes the client out of its rooms here all
                // the same (the others forget it with its node's lease).
                left = matches!(presence, Presence::Left { .. }).then_some(conn);
                let origin = engine.origin(conn);
                (Event::Presence { origin, presence }, None)
            }
            Request::Room {
                nick,
                command,
                invitee,
                from,
                outbox,
            } => {
                let event = Event::Room {
                    origin: engine.origin(from),
                    nick,
                    invitee,
                    command,
                };
                (event, Some(outbox))
            }
            Request::Release { nick, conn } => {
                let engine = Arc::clone(&engine);
                tokio::spawn(async move { nicks::release(&engine, &nick, conn).await });
                continue;
            }
            Request::Errand {
                errand: Errand::Claim { nick, conn },
                done,
            } => {
                let (engine, registry) = (Arc::clone(&engine), Arc::clone(&registry));
                tokio::spawn(
                    async move { done(nicks::claim(&engine, &registry, &nick, conn).await) },
                );
                continue;
            }
            Request::Errand {
                errand: Errand::TakeOver { nick, conn },
                done,
            } => {
                let (engine, registry) = (Arc::clone(&engine), Arc::clone(&registry));
                tokio::spawn(async move {
                    done(nicks::take_over(&engine, &registry, &nick, conn).await)
                });
                continue;
            }
            Request::Errand {
                errand: Errand::Lookup { nick },
                done,
            } => {
                let (engine, registry) = (Arc::clone(&engine), Arc::clone(&registry));
                tokio::spawn(async move { done(nicks::lookup(&engine, &registry, &nick).await) });
                continue;
            }
            Request::Errand {
                errand: Errand::Barrier,
                done,
            } => {
                let (acked, delivered) = (acked_seen.clone(), engine.delivered.subscribe());
                tokio::spawn(async move { done(barrier(serial, acked, delivered).await) });
                continue;
            }
        };
        serial += 1;
        let (subject, payload) = event.encode();
        // Not handed over while disconnected: the client would keep it and send it once
        // reconnected, after its sender was told it failed.
        let sent = if engine.client.connection_state() != State::Connected {
            Sent::Refused
        } else {
            match engine.js.publish(subject, payload.into()).await {
                Ok(ack) => Sent::Waiting(ack),
                Err(error) => {
                    log::warn!("the cluster refused a line: {error}");
                    Sent::Refused
                }
            }
        };
        // Fails only once the acknowledging task is gone, with the runtime.
        let _ = to_acknowledge.send(Unacked {
            serial,
            sent,
            sender,
            left,
        });
    }
}

/// Waits for each acknowledgement in order, tells the sender of a line that was not stored,
/// and publishes how far it got.
async fn acknowledge(
    mut unacked: mpsc::UnboundedReceiver<Unacked>,
    acked: watch::Sender<(u64, u64)>,
    registry: Arc<Registry>,
) {
    let mut highest = 0;
    while let Some(Unacked {
        serial,
        sent,
        sender,
        left,
    }) = unacked.recv().await
    {
        let failure = match sent {
            Sent::Waiting(ack) => match ack.await {
                Ok(ack) => {
                    highest = highest.max(ack.sequence);
                    None
                }
                Err(error) => {
                    log::warn!("the cluster did not acknowledge a line: {error}");
                    Some(NOT_CONFIRMED)
                }
            },
            Sent::Refused => Some(NOT_SENT),
        };
        if let (Some(_), Some(conn)) = (failure, left) {
            registry.departed(conn);
        }
        if let (Some(failure), Some(sender)) = (failure, sender) {
            let refusal = ProtocolError::Unavailable(failure.to_owned());
            let _ = sender.send_reply(shared_line(&Reply::from(&refusal)));
        }
        acked.send_replace((serial, highest));
    }
}

/// Passes once the event numbered `serial` (and every one before it) was acknowledged or
/// refused, and the feed delivered every sequence acknowledged by then; `Unreachable` after
/// [`REQUEST_WAIT`] twice over (a publish's wait, then the feed's).
async fn barrier(
    serial: u64,
    mut acked: watch::Receiver<(u64, u64)>,
    mut delivered: watch::Receiver<u64>,
) -> Answer {
    let passed = tokio::time::timeout(REQUEST_WAIT * 2, async move {
        let highest = acked.wait_for(|(dealt, _)| *dealt >= serial).await.ok()?.1;
        delivered
            .wait_for(|through| *through >= highest)
            .await
            .ok()?;
        Some(())
    })
    .await;
    match passed {
        Ok(Some(())) => Answer::Passed,
        _ => Answer::Unreachable,
    }
}
