//! What the stream brings this node: every node's lines, presence changes and room
//! commands, in the stream's one order, delivered here to this node's clients.
//!
//! In scope: one ordered consumer of the whole stream from the moment the node starts (it
//! picks up where it was after a lost connection), decoding each message and handing it to
//! the registry (a line with the stream's sequence as its id and the stream's time as its
//! time; another node's presence; a room command, saving what it changed of a registered
//! room; an account's rooms disowned; a node that stopped), the watermark
//! barriers wait for, and the rooms of a node that starts into a running cluster: it asks for
//! them, holds the room commands (and rooms' `FILE` lines) that come after its question,
//! takes the first image another node answers with (the rooms as they were at the question,
//! in parts) and then carries the held ones out; and a node that finds the stream removed
//! messages it had not read takes the cluster again (ends its clients, reads the others'
//! clients and asks for the rooms). Out of scope: publishing (`publisher`), the deliveries
//! themselves (`registry`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{DeliverPolicy, push};
use chatd_proto::{MessageId, UtcMillis};
use futures_util::StreamExt;

use crate::server::cluster::engine::{Engine, published};
use crate::server::cluster::event::{
    ALL_SUBJECTS, Event, ROOMS_PART_BYTES, image_parts, room_command,
};
use crate::server::cluster::{nicks, registered};
use crate::server::cluster_link::{Conversation, NodeId, Presence, RoomImage};
use crate::server::registry::{NODE_LOST, NODE_STOPPED, Registry};

/// How long the feed waits before it subscribes again after its consumer failed for good.
const RESUBSCRIBE: Duration = Duration::from_secs(1);

/// How long a node that starts waits for another's image of the rooms before it takes them
/// as empty (the node that would have answered stopped meanwhile).
const ROOMS_WAIT: Duration = Duration::from_secs(10);
/// How often a node waiting for the rooms looks whether it waited long enough, when the
/// stream is quiet.
const ROOMS_LOOK: Duration = Duration::from_secs(1);

/// The feed's consumer, made before the node tells anyone it is there, so that nothing
/// published after its start is missed.
pub struct Feed {
    messages: push::Ordered,
    /// The last sequence seen, to go on from after a failure.
    last: u64,
    rooms: Rooms,
    /// The stream removed messages this node had not read: it takes the cluster again.
    behind: bool,
}

/// Where this node's rooms stand.
enum Rooms {
    /// They are the cluster's: each room command is carried out as it comes.
    Live,
    /// Asked for (`asked`: the question's sequence, once read back): the room commands after
    /// the question wait in `held` for an image.
    Wanted {
        asked: Option<u64>,
        held: Vec<Held>,
        since: Instant,
        /// The image being taken, part by part: the first node whose first part came.
        taking: Option<Taking>,
    },
}

/// An image of the rooms whose parts are coming.
struct Taking {
    by: NodeId,
    rooms: Vec<RoomImage>,
    /// The part expected next.
    next: usize,
}

/// A room command held until the rooms' image comes, as the stream brought it.
struct Held {
    sequence: u64,
    time: UtcMillis,
    event: Event,
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
        Ok(Feed {
            messages,
            last,
            rooms: Rooms::Live,
            behind: false,
        })
    }

    /// The stream's last sequence before the feed's first: what came before is the past.
    pub fn starts_after(&self) -> u64 {
        self.last
    }

    /// After the stream removed messages this node had not read: its clients may have missed
    /// lines, and what it knows of the cluster may be wrong. It ends its clients (they
    /// reconnect and catch up from the history), then reads the other nodes' clients from
    /// the nicks' bucket and asks for the rooms, as a node that starts does.
    async fn take_the_cluster_again(&mut self, engine: &Engine, registry: &Registry) {
        self.behind = false;
        registry.fell_behind();
        if let Err(error) = nicks::join(engine, registry).await {
            log::warn!("could not read the cluster's clients again: {error}");
        }
        if registry.remote_nodes().is_empty() || matches!(self.rooms, Rooms::Wanted { .. }) {
            return;
        }
        self.want_rooms();
        let (subject, payload) = Event::RoomsWanted(engine.node.clone()).encode();
        let asked = async {
            let ack = engine.js.publish(subject, payload.into()).await?;
            ack.await.map_err(async_nats::Error::from)
        };
        if let Err(error) = asked.await {
            log::warn!("could not ask the cluster for its rooms again: {error}");
            self.rooms_live(engine, registry);
        }
    }

    /// This node asks the running cluster for its rooms: room commands wait for the answer.
    pub fn want_rooms(&mut self) {
        self.rooms = Rooms::Wanted {
            asked: None,
            held: Vec::new(),
            since: Instant::now(),
            taking: None,
        };
    }

    /// Delivers what comes, for as long as the runtime runs.
    pub async fn run(mut self, engine: Arc<Engine>, registry: Arc<Registry>) {
        loop {
            loop {
                // A quiet stream still lets a wait for the rooms end on time.
                let Ok(next) = tokio::time::timeout(ROOMS_LOOK, self.messages.next()).await else {
                    self.give_up_waiting(&engine, &registry);
                    continue;
                };
                match next {
                    Some(Ok(message)) => {
                        self.deliver(&engine, &registry, &message);
                        if self.behind {
                            self.take_the_cluster_again(&engine, &registry).await;
                        }
                    }
                    Some(Err(error)) => {
                        log::warn!("the cluster's feed failed: {error}");
                        break;
                    }
                    None => break,
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
        if sequence > self.last + 1 && self.last != 0 {
            // Only the stream's limits remove messages: a node that fell this far behind
            // lost them (see README, several nodes).
            log::warn!(
                "the cluster's stream removed {} message(s) before this node read them",
                sequence - self.last - 1
            );
            self.behind = true;
        }
        let time = published(&info);
        let event = std::str::from_utf8(&message.message.payload)
            .ok()
            .and_then(|payload| Event::decode(message.message.subject.as_str(), payload).ok());
        match event {
            Some(event) => self.take(engine, registry, sequence, time, event),
            None => log::debug!("the cluster's stream holds a message that is not a chat node's"),
        }
        self.last = sequence;
        engine.delivered.send_replace(sequence);
    }

    /// Carries out or holds one event.
    fn take(
        &mut self,
        engine: &Engine,
        registry: &Registry,
        sequence: u64,
        time: UtcMillis,
        event: Event,
    ) {
        if let Rooms::Wanted { asked, taking, .. } = &mut self.rooms {
            match event {
                Event::RoomsWanted(node) if node == engine.node => {
                    *asked = Some(sequence);
                    return;
                }
                Event::Rooms {
                    by,
                    wanted,
                    part,
                    parts,
                    rooms,
                } if wanted == engine.node => {
                    if asked.is_none() {
                        return;
                    }
                    // The first node's image whose first part came; the parts of one node
                    // come in order, so a gap is a part the stream lost: the next image.
                    let current = match taking.take() {
                        Some(current) if current.by == by && current.next == part => current,
                        Some(current) if current.by != by => {
                            *taking = Some(current);
                            return;
                        }
                        _ if part == 1 => Taking {
                            by,
                            rooms: Vec::new(),
                            next: 1,
                        },
                        _ => return,
                    };
                    let mut current = current;
                    current.rooms.extend(rooms);
                    current.next += 1;
                    if part < parts {
                        *taking = Some(current);
                        return;
                    }
                    log::info!("took the cluster's {} room(s)", current.rooms.len());
                    registry.install_rooms(current.rooms);
                    self.rooms_live(engine, registry);
                    return;
                }
                event => self.hold_or_deliver(engine, registry, sequence, time, event),
            }
            return;
        }
        deliver(engine, registry, sequence, time, event);
    }

    /// While the rooms are wanted: holds an event of the rooms read after the question,
    /// delivers the rest.
    fn hold_or_deliver(
        &mut self,
        engine: &Engine,
        registry: &Registry,
        sequence: u64,
        time: UtcMillis,
        event: Event,
    ) {
        if let Rooms::Wanted { asked, held, .. } = &mut self.rooms {
            match &event {
                // Its rooms are not the cluster's yet: another node answers.
                Event::RoomsWanted(_) | Event::Rooms { .. } => return,
                Event::Room { .. }
                | Event::Disowned { .. }
                | Event::Line {
                    conversation: Conversation::Room(_),
                    ..
                }
                | Event::Presence { .. }
                | Event::Lost { .. }
                | Event::Gone(_)
                    if asked.is_none() =>
                {
                    // Before the question: the image will hold what it changed in the rooms
                    // (and the stream their lines), and this node knew the clients from the
                    // nicks' bucket when it started.
                    let of_rooms = matches!(
                        event,
                        Event::Room { .. }
                            | Event::Disowned { .. }
                            | Event::Line {
                                conversation: Conversation::Room(_),
                                ..
                            }
                    );
                    if !of_rooms {
                        deliver(engine, registry, sequence, time, event);
                    }
                    return;
                }
                Event::Room { .. }
                | Event::Disowned { .. }
                | Event::Line {
                    conversation: Conversation::Room(_),
                    ..
                }
                | Event::Presence { .. }
                | Event::Lost { .. }
                | Event::Gone(_) => {
                    held.push(Held {
                        sequence,
                        time,
                        event,
                    });
                    self.give_up_waiting(engine, registry);
                    return;
                }
                _ => {}
            }
        }
        deliver(engine, registry, sequence, time, event);
    }

    /// Stops waiting for another node's rooms after [`ROOMS_WAIT`]: this node then starts
    /// with the registered rooms it took from the bucket alone (the node that would have
    /// answered stopped meanwhile).
    fn give_up_waiting(&mut self, engine: &Engine, registry: &Registry) {
        if let Rooms::Wanted { since, .. } = &self.rooms {
            if since.elapsed() >= ROOMS_WAIT {
                log::warn!(
                    "no node of the cluster told this one its rooms in {} s: it starts with the \
                     registered ones alone",
                    ROOMS_WAIT.as_secs()
                );
                self.rooms_live(engine, registry);
            }
        }
    }

    /// The rooms are the cluster's from now on: what was held is carried out.
    fn rooms_live(&mut self, engine: &Engine, registry: &Registry) {
        let wanted = std::mem::replace(&mut self.rooms, Rooms::Live);
        if let Rooms::Wanted { held, .. } = wanted {
            for Held {
                sequence,
                time,
                event,
            } in held
            {
                deliver(engine, registry, sequence, time, event);
            }
        }
    }
}

/// Hands one event to the registry (or, for another node's question, answers it).
fn deliver(engine: &Engine, registry: &Registry, sequence: u64, time: UtcMillis, event: Event) {
    match event {
        Event::Line {
            origin,
            conversation,
            reply,
        } => {
            if let Some(id) = MessageId::new(sequence) {
                let skip = (origin.node == engine.node).then_some(origin.conn);
                registry.clustered_line(id, time, &conversation, &reply, skip);
            }
        }
        Event::Presence { origin, presence } => {
            if origin.node != engine.node {
                registry.remote_presence(&origin, &presence);
            } else if matches!(presence, Presence::Left { .. }) {
                // This node told its own clients when the change was made; the client leaves
                // its rooms now, where every node takes it out of them.
                registry.departed(origin.conn);
            }
        }
        Event::Gone(node) => {
            if node != engine.node {
                registry.forget_nodes(&HashSet::from([node]), NODE_STOPPED);
            }
        }
        Event::Lost { node, .. } => {
            if node == engine.node {
                registry.lost_by_the_cluster();
            } else {
                registry.forget_nodes(&HashSet::from([node]), NODE_LOST);
            }
        }
        Event::Room {
            origin,
            nick,
            invitee,
            command,
        } => {
            let (Some(id), Some(command)) = (MessageId::new(sequence), room_command(&command))
            else {
                return;
            };
            let registered =
                registry.clustered_room((id, time), &origin, &nick, invitee.as_ref(), &command);
            // Every node saves what it carried out: the room outlives any one of them.
            if let Some(lasting) = registered {
                let room = lasting.name.clone();
                save_room(engine, sequence, room, Some(lasting));
            }
        }
        Event::Disowned { account, .. } => {
            for room in registry.disown_rooms(&account) {
                save_room(engine, sequence, room, None);
            }
        }
        Event::Evict { holder, nick, .. } => {
            if holder.node == engine.node {
                registry.displace(holder.conn, &nick);
            }
        }
        Event::RoomsWanted(node) => {
            if node != engine.node {
                answer_rooms(engine, registry, node);
            }
        }
        // An answer to another node's question.
        Event::Rooms { .. } => {}
    }
}

/// Saves what the command at `sequence` left of registered room `room` in the background
/// (not while this node leaves: the other nodes save it too).
fn save_room(engine: &Engine, sequence: u64, room: chatd_proto::Room, lasting: Option<RoomImage>) {
    let Ok(saving) = Arc::clone(&engine.saving).try_read_owned() else {
        return;
    };
    let bucket = engine.rooms.clone();
    tokio::spawn(async move {
        registered::save(bucket, sequence, room, lasting).await;
        drop(saving);
    });
}

/// Publishes this node's rooms for node `wanted`, as they are at its question.
fn answer_rooms(engine: &Engine, registry: &Registry, wanted: NodeId) {
    let parts = image_parts(registry.rooms_image(), ROOMS_PART_BYTES);
    let count = parts.len();
    let events: Vec<Event> = parts
        .into_iter()
        .enumerate()
        .map(|(at, rooms)| Event::Rooms {
            by: engine.node.clone(),
            wanted: wanted.clone(),
            part: at + 1,
            parts: count,
            rooms,
        })
        .collect();
    let js = engine.js.clone();
    tokio::spawn(async move {
        // In order: the asking node takes the parts as they come.
        for event in events {
            let (subject, payload) = event.encode();
            let published = match js.publish(subject, payload.into()).await {
                Ok(ack) => ack.await.map(|_| ()).map_err(async_nats::Error::from),
                Err(error) => Err(error.into()),
            };
            if let Err(error) = published {
                log::warn!("could not tell a starting node the rooms: {error}");
                return;
            }
        }
    });
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
