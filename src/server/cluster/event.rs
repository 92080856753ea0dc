//! What the nodes of a cluster say to each other on the stream: a chat line, a presence
//! change, a room command, the rooms as a node knows them, as text, and the subjects and key
//! names they use.
//!
//! In scope: encoding and decoding (pure: no I/O, no clock), the stream's subjects, and the
//! key a nick's claim is kept under. The lines inside are the protocol's own replies
//! (`ALL alice hi`, `JOIN alice`) and commands (`JOIN #rust`), so `chatd_proto` spells them
//! and nothing is spelled twice. Out of scope: publishing and consuming (`publisher`,
//! `feed`), what a room command does (`registry`, `rooms`).
//!
//! Payloads: `<node> <conn> <reply>` for a lobby line, `<node> <conn> <to> <reply>` for a
//! direct one, `<node> <conn> <announcement>` for a presence change (`AWAY <nick> <text>`
//! or `BACK <nick>` for an away text), `<node> GONE` for a node
//! that stopped cleanly, `<node> LOST <node>` for one whose lease expired, `<node> <conn>
//! <nick> [@<node>/<conn>] <command>` for a room command (the client an `INVITE` names
//! first), `<node> <conn> = <reply>` for a room's `FILE` line, `<node> EVICT <node>/<conn>
//! <nick>` for a login's request to end another node's holder of its nick, `<node> WANTED`
//! for a node asking for the rooms, `<node> ROOMS <for> <part>/<parts>` followed by one
//! line per fact of the rooms' image ([`encode_rooms`]), in parts ([`image_parts`]), and
//! `<node> DISOWNED <nick>` for an account deleted, whose registered rooms are ordinary
//! rooms from there on. A message waiting for an offline account, on a stream of its own, is
//! `<id> <time in ms> <sender> <text>` ([`encode_waiting`]).

use std::borrow::Borrow;
use std::fmt::Write as _;

use std::sync::Arc;

use async_nats::Subject;
use chatd_proto::{Command, MessageId, Nick, NickKey, Reply, Room, UtcMillis, parse_command};

use crate::server::accounts::{Account, Waiting};

pub use crate::server::cluster_link::Origin;
use crate::server::cluster_link::{Conversation, NodeId, Presence, RoomImage};
use crate::server::conn_id::ConnId;

/// The stream every conversation's lines are in; its sequence is their order and id.
pub const STREAM: &str = "CHATD";
/// All of the stream's subjects.
pub const ALL_SUBJECTS: &str = "chatd.>";
/// The lobby's lines (`ALL`, `ME *`).
pub const LOBBY: &str = "chatd.lobby";
/// Direct lines (`MSG <nick>`, `ME <nick>`).
pub const DIRECT: &str = "chatd.direct";
/// Registrations, renames and departures, and nodes that stopped.
pub const PRESENCE: &str = "chatd.presence";
/// The rooms' images for nodes that start, and accounts' rooms disowned; each room's
/// commands are on a subject of its own under it ([`room_subject`]), so the stream keeps
/// `--history-lines` of each room.
pub const ROOMS: &str = "chatd.rooms";
/// The start of a room's subject.
const ROOM_PREFIX: &str = "chatd.rooms.";
/// The stream of the messages waiting for offline accounts: a stream of its own, since its
/// lines are kept until a login takes them (no age limit, at most `MAILBOX_LINES` per
/// account) and no node's feed reads them.
pub const WAITING_STREAM: &str = "CHATD_WAITING";
/// Its subjects: one per account ([`waiting_subject`]).
pub const WAITING_SUBJECTS: &str = "chatd_waiting.>";
const WAITING_PREFIX: &str = "chatd_waiting.";
/// The key-value bucket of nick claims: key [`nick_key`], value [`holder`].
pub const NICKS_BUCKET: &str = "chatd_nicks";
/// The key-value bucket of live nodes: key the node id, renewed while it runs.
pub const NODES_BUCKET: &str = "chatd_nodes";
/// The key-value bucket of accounts: key [`nick_key`], value [`account_record`].
pub const ACCOUNTS_BUCKET: &str = "chatd_accounts";
/// The key-value bucket of registered rooms (`cluster::registered`): key the room's subject
/// without its prefix ([`room_key`]).
pub const ROOMS_BUCKET: &str = "chatd_rooms";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Line {
        origin: Origin,
        conversation: Conversation,
        reply: Reply,
    },
    Presence {
        origin: Origin,
        presence: Presence,
    },
    /// The node stopped cleanly: its clients are gone.
    Gone(NodeId),
    /// Node `by` found that `node` stopped renewing its lease: its clients are gone.
    Lost {
        by: NodeId,
        node: NodeId,
    },
    /// A room command of `origin`, called `nick`; `invitee` is the client an `INVITE` names.
    Room {
        origin: Origin,
        nick: Nick,
        invitee: Option<Origin>,
        command: String,
    },
    /// Node `by` asks the node of `holder` to end that client, which holds `nick`: a client
    /// of `by` logged in to the account (one connection per account, as on one server).
    Evict {
        by: NodeId,
        holder: Origin,
        nick: Nick,
    },
    /// The node started into a running cluster and asks for the rooms.
    RoomsWanted(NodeId),
    /// The rooms as node `by` knew them when it read `wanted`'s [`Event::RoomsWanted`]: part
    /// `part` (from 1) of `parts`, each under [`ROOMS_PART_BYTES`] ([`image_parts`]).
    Rooms {
        by: NodeId,
        wanted: NodeId,
        part: usize,
        parts: usize,
        rooms: Vec<RoomImage>,
    },
    /// Node `by` deletes the account called `account` (an `UNREGISTER`, or an operator's
    /// `chatd account delete`): its registered rooms are ordinary rooms from here on.
    Disowned {
        by: NodeId,
        account: Nick,
    },
}

/// A payload that is not one of ours (another program on the subject, or a newer node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed;

impl Event {
    /// The subject and payload to publish.
    pub fn encode(&self) -> (Subject, String) {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let subject = match self {
            Event::Line {
                origin,
                conversation,
                reply,
            } => {
                let _ = write!(out, "{} {} ", origin.node, origin.conn);
                match conversation {
                    Conversation::Lobby => {
                        let _ = write!(out, "{reply}");
                        LOBBY
                    }
                    Conversation::Direct(to) => {
                        let _ = write!(out, "{to} {reply}");
                        DIRECT
                    }
                    // A line of the room's (a `FILE`) in the order of its commands, told
                    // apart from them by a word no nick is.
                    Conversation::Room(room) => {
                        let _ = write!(out, "= {reply}");
                        return (Subject::from(room_subject(room)), out);
                    }
                }
            }
            Event::Presence { origin, presence } => {
                let _ = write!(out, "{} {} ", origin.node, origin.conn);
                match (presence.announcement(), presence) {
                    (Some(announcement), _) => {
                        let _ = write!(out, "{announcement}");
                    }
                    (
                        None,
                        Presence::Away {
                            nick,
                            text: Some(text),
                        },
                    ) => {
                        let _ = write!(
                            out,
                            "{}",
                            Reply::Away {
                                nick: nick.clone(),
                                text: text.clone(),
                            }
                        );
                    }
                    (None, Presence::Away { nick, text: None }) => {
                        let _ = write!(out, "BACK {nick}");
                    }
                    (None, _) => {}
                }
                PRESENCE
            }
            Event::Gone(node) => {
                let _ = write!(out, "{node} GONE");
                PRESENCE
            }
            Event::Lost { by, node } => {
                let _ = write!(out, "{by} LOST {node}");
                PRESENCE
            }
            Event::Room {
                origin,
                nick,
                invitee,
                command,
            } => {
                let _ = write!(out, "{} {} {nick} ", origin.node, origin.conn);
                if let Some(invitee) = invitee {
                    let _ = write!(out, "@{}/{} ", invitee.node, invitee.conn);
                }
                out.push_str(command);
                let room = room_command(command).and_then(|command| match command {
                    Command::Join { room, .. }
                    | Command::Part { room, .. }
                    | Command::Topic { room, .. }
                    | Command::Key { room, .. }
                    | Command::Private { room, .. }
                    | Command::Invite { room, .. }
                    | Command::RegisterRoom(room)
                    | Command::MsgRoom { room, .. }
                    | Command::Me {
                        target: chatd_proto::Target::Room(room),
                        ..
                    } => Some(room),
                    _ => None,
                });
                // Every room command names its room (`room_command`); a node never makes
                // one that does not, and a subject of its own keeps it apart.
                let subject =
                    room.map_or_else(|| format!("{ROOM_PREFIX}none"), |room| room_subject(&room));
                return (Subject::from(subject), out);
            }
            Event::Evict { by, holder, nick } => {
                let _ = write!(out, "{by} EVICT {}/{} {nick}", holder.node, holder.conn);
                PRESENCE
            }
            Event::RoomsWanted(node) => {
                let _ = write!(out, "{node} WANTED");
                ROOMS
            }
            Event::Rooms {
                by,
                wanted,
                part,
                parts,
                rooms,
            } => {
                let _ = write!(out, "{by} ROOMS {wanted} {part}/{parts}");
                encode_rooms(rooms, &mut out);
                ROOMS
            }
            Event::Disowned { by, account } => {
                let _ = write!(out, "{by} DISOWNED {account}");
                ROOMS
            }
        };
        (Subject::from_static(subject), out)
    }

    /// The event `payload` on `subject` carries.
    pub fn decode(subject: &str, payload: &str) -> Result<Event, Malformed> {
        let (node, rest) = payload.split_once(' ').ok_or(Malformed)?;
        let node = NodeId::parse(node).ok_or(Malformed)?;
        match subject {
            LOBBY | DIRECT => {
                let (conn, rest) = rest.split_once(' ').ok_or(Malformed)?;
                let conn = conn.parse().map_err(|_| Malformed)?;
                let (conversation, line) = if subject == LOBBY {
                    (Conversation::Lobby, rest)
                } else {
                    let (to, line) = rest.split_once(' ').ok_or(Malformed)?;
                    let to = Nick::parse(to).map_err(|_| Malformed)?;
                    (Conversation::Direct(to), line)
                };
                let reply = Reply::parse(line).map_err(|_| Malformed)?;
                if !is_chat_line(&reply) {
                    return Err(Malformed);
                }
                Ok(Event::Line {
                    origin: Origin { node, conn },
                    conversation,
                    reply,
                })
            }
            PRESENCE if rest == "GONE" => Ok(Event::Gone(node)),
            PRESENCE if rest.starts_with("LOST ") => {
                let lost = NodeId::parse(&rest["LOST ".len()..]).ok_or(Malformed)?;
                Ok(Event::Lost {
                    by: node,
                    node: lost,
                })
            }
            PRESENCE if rest.starts_with("EVICT ") => {
                let (holder, nick) = rest["EVICT ".len()..].split_once(' ').ok_or(Malformed)?;
                Ok(Event::Evict {
                    by: node,
                    holder: parse_client(holder)?,
                    nick: Nick::parse(nick).map_err(|_| Malformed)?,
                })
            }
            PRESENCE => {
                let (conn, rest) = rest.split_once(' ').ok_or(Malformed)?;
                let conn = conn.parse().map_err(|_| Malformed)?;
                if let Some(nick) = rest.strip_prefix("BACK ") {
                    let nick = Nick::parse(nick).map_err(|_| Malformed)?;
                    return Ok(Event::Presence {
                        origin: Origin { node, conn },
                        presence: Presence::Away { nick, text: None },
                    });
                }
                let presence = match Reply::parse(rest).map_err(|_| Malformed)? {
                    Reply::Away { nick, text } => Presence::Away {
                        nick,
                        text: Some(text),
                    },
                    Reply::Join(nick) => Presence::Joined(nick),
                    Reply::NickChanged { old, new } => Presence::Renamed { old, new },
                    Reply::Quit { nick, reason } => Presence::Left { nick, reason },
                    _ => return Err(Malformed),
                };
                Ok(Event::Presence {
                    origin: Origin { node, conn },
                    presence,
                })
            }
            ROOMS if rest == "WANTED" => Ok(Event::RoomsWanted(node)),
            ROOMS if rest.starts_with("DISOWNED ") => Ok(Event::Disowned {
                by: node,
                account: Nick::parse(&rest["DISOWNED ".len()..]).map_err(|_| Malformed)?,
            }),
            ROOMS if rest.starts_with("ROOMS ") => {
                let rest = &rest["ROOMS ".len()..];
                let (head, image) = rest.split_once('\n').unwrap_or((rest, ""));
                let (wanted, of) = head.split_once(' ').ok_or(Malformed)?;
                let (part, parts) = of.split_once('/').ok_or(Malformed)?;
                let (part, parts) = (
                    part.parse().map_err(|_| Malformed)?,
                    parts.parse().map_err(|_| Malformed)?,
                );
                if part == 0 || part > parts {
                    return Err(Malformed);
                }
                Ok(Event::Rooms {
                    by: node,
                    wanted: NodeId::parse(wanted).ok_or(Malformed)?,
                    part,
                    parts,
                    rooms: decode_rooms(image)?,
                })
            }
            _ if subject.starts_with(ROOM_PREFIX) => {
                let (conn, rest) = rest.split_once(' ').ok_or(Malformed)?;
                let conn = conn.parse().map_err(|_| Malformed)?;
                if let Some(line) = rest.strip_prefix("= ") {
                    let reply = Reply::parse(line).map_err(|_| Malformed)?;
                    let Reply::RoomFile { room, .. } = &reply else {
                        return Err(Malformed);
                    };
                    if room_subject(room) != subject {
                        return Err(Malformed);
                    }
                    return Ok(Event::Line {
                        origin: Origin { node, conn },
                        conversation: Conversation::Room(room.clone()),
                        reply,
                    });
                }
                let (nick, mut command) = rest.split_once(' ').ok_or(Malformed)?;
                let nick = Nick::parse(nick).map_err(|_| Malformed)?;
                let mut invitee = None;
                if let Some(tagged) = command.strip_prefix('@') {
                    let (client, line) = tagged.split_once(' ').ok_or(Malformed)?;
                    invitee = Some(parse_client(client)?);
                    command = line;
                }
                if room_command(command).is_none() {
                    return Err(Malformed);
                }
                Ok(Event::Room {
                    origin: Origin { node, conn },
                    nick,
                    invitee,
                    command: command.to_owned(),
                })
            }
            _ => Err(Malformed),
        }
    }
}

/// The room command `line` holds, if it is one the stream carries: `JOIN`, `PART`, `TOPIC`
/// with a text, `KEY`, `PRIVATE`, `INVITE`, `REGISTER #room`, `MSG #room`, `ME #room`.
pub fn room_command(line: &str) -> Option<Command<'_>> {
    let command = parse_command(line).ok()??;
    match &command {
        Command::Join { .. }
        | Command::Part { .. }
        | Command::Topic { .. }
        | Command::Key { .. }
        | Command::Private { .. }
        | Command::Invite { .. }
        | Command::RegisterRoom(_)
        | Command::MsgRoom { .. } => Some(command),
        Command::Me {
            target: chatd_proto::Target::Room(_),
            ..
        } => Some(command),
        _ => None,
    }
}

/// The subject of `room`'s commands and lines: its case-folded name in hex, since a room's
/// name may hold characters a subject may not.
pub fn room_subject(room: &Room) -> String {
    format!("{ROOM_PREFIX}{}", room_key(room))
}

/// `room`'s case-folded name in hex: the end of its subject, and its key in the rooms bucket.
pub fn room_key(room: &Room) -> String {
    let mut key = String::new();
    for byte in room.key().into_string().bytes() {
        let _ = write!(key, "{byte:02x}");
    }
    key
}

/// The subject of the messages waiting for `account`: its key in hex, as a room's.
pub fn waiting_subject(account: &NickKey) -> String {
    let mut subject = String::from(WAITING_PREFIX);
    let key: &str = account.borrow();
    for byte in key.bytes() {
        let _ = write!(subject, "{byte:02x}");
    }
    subject
}

/// A waiting message as its stream holds it: `<id> <time in ms> <sender> <text>`.
pub fn encode_waiting(line: &Waiting) -> String {
    format!(
        "{} {} {} {}",
        line.id.get(),
        line.time.millis(),
        line.from,
        line.text
    )
}

/// The message [`encode_waiting`] wrote.
pub fn decode_waiting(payload: &str) -> Result<Waiting, Malformed> {
    let mut fields = payload.splitn(4, ' ');
    let (Some(id), Some(time), Some(from), Some(text)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(Malformed);
    };
    Ok(Waiting {
        id: id.parse().ok().and_then(MessageId::new).ok_or(Malformed)?,
        time: UtcMillis::saturating(time.parse().map_err(|_| Malformed)?),
        from: Nick::parse(from).map_err(|_| Malformed)?,
        text: text.to_owned(),
    })
}

/// `<node>/<conn>`.
fn parse_client(text: &str) -> Result<Origin, Malformed> {
    let (node, conn) = text.split_once('/').ok_or(Malformed)?;
    Ok(Origin {
        node: NodeId::parse(node).ok_or(Malformed)?,
        conn: conn.parse().map_err(|_| Malformed)?,
    })
}

/// Writes the rooms' image, a line per fact, each line after a newline: `ROOM <name> on|off
/// <since>` (its privacy, and the sequence of the `JOIN` that made it), then its
/// `REGISTERED <owner account>`, `KEY <key>`, `TOPIC <setter> <text>`, `MEMBER
/// <node>/<conn> <nick>` (in the order they joined) and `INVITED <node>/<conn>`. Nothing in
/// them holds a newline: they are the protocol's own words.
pub fn encode_rooms(rooms: &[RoomImage], out: &mut String) {
    for room in rooms {
        let private = if room.private { "on" } else { "off" };
        let _ = write!(out, "\nROOM {} {private} {}", room.name, room.since);
        if let Some(owner) = &room.registered {
            let _ = write!(out, "\nREGISTERED {owner}");
        }
        if let Some(key) = &room.key {
            let _ = write!(out, "\nKEY {key}");
        }
        if let Some((setter, text)) = &room.topic {
            let _ = write!(out, "\nTOPIC {setter} {text}");
        }
        for (member, nick) in &room.members {
            let _ = write!(out, "\nMEMBER {}/{} {nick}", member.node, member.conn);
        }
        for invitee in &room.invited {
            let _ = write!(out, "\nINVITED {}/{}", invitee.node, invitee.conn);
        }
    }
}

/// The most bytes of rooms one part of an image carries: well under the 1 MiB a NATS
/// message holds by default, so a cluster's rooms are told however many there are (a room
/// bigger than this goes alone).
pub const ROOMS_PART_BYTES: usize = 64 * 1024;

/// `rooms` in parts of at most `most` bytes as [`encode_rooms`] writes them, in order; one
/// part (maybe empty) at least, so that the asking node always gets an answer.
pub fn image_parts(rooms: Vec<RoomImage>, most: usize) -> Vec<Vec<RoomImage>> {
    let mut parts = vec![Vec::new()];
    let mut bytes = 0;
    let mut written = String::new();
    for room in rooms {
        written.clear();
        encode_rooms(std::slice::from_ref(&room), &mut written);
        let last = parts.last_mut().expect("one part at least");
        if !last.is_empty() && bytes + written.len() > most {
            parts.push(Vec::new());
            bytes = 0;
        }
        bytes += written.len();
        parts.last_mut().expect("one part at least").push(room);
    }
    parts
}

/// The rooms an image written by [`encode_rooms`] holds.
pub fn decode_rooms(image: &str) -> Result<Vec<RoomImage>, Malformed> {
    let mut rooms: Vec<RoomImage> = Vec::new();
    for line in image.split('\n').filter(|line| !line.is_empty()) {
        let (word, rest) = line.split_once(' ').ok_or(Malformed)?;
        if word == "ROOM" {
            let mut words = rest.split(' ');
            let (Some(name), Some(private), Some(since), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(Malformed);
            };
            rooms.push(RoomImage {
                name: Room::parse(name).map_err(|_| Malformed)?,
                since: since.parse().map_err(|_| Malformed)?,
                registered: None,
                private: match private {
                    "on" => true,
                    "off" => false,
                    _ => return Err(Malformed),
                },
                key: None,
                topic: None,
                members: Vec::new(),
                invited: Vec::new(),
            });
            continue;
        }
        let room = rooms.last_mut().ok_or(Malformed)?;
        match word {
            "REGISTERED" => room.registered = Some(Nick::parse(rest).map_err(|_| Malformed)?),
            "KEY" => room.key = Some(rest.to_owned()),
            "TOPIC" => {
                let (setter, text) = rest.split_once(' ').ok_or(Malformed)?;
                let setter = Nick::parse(setter).map_err(|_| Malformed)?;
                room.topic = Some((setter, text.to_owned()));
            }
            "MEMBER" => {
                let (client, nick) = rest.split_once(' ').ok_or(Malformed)?;
                let nick = Nick::parse(nick).map_err(|_| Malformed)?;
                room.members.push((parse_client(client)?, nick));
            }
            "INVITED" => room.invited.push(parse_client(rest)?),
            _ => return Err(Malformed),
        }
    }
    Ok(rooms)
}

/// Whether `reply` is a line a client says to others: the only kind the stream carries.
fn is_chat_line(reply: &Reply) -> bool {
    matches!(
        reply,
        Reply::All { .. }
            | Reply::Msg { .. }
            | Reply::Me { .. }
            | Reply::LobbyFile { .. }
            | Reply::File { .. }
    )
}

/// The key `nick`'s claim is kept under: its case-folded form in hex, since a nick may hold
/// characters a key may not.
pub fn nick_key(nick: &Nick) -> String {
    nick.with_key(|folded| {
        let mut key = String::with_capacity(folded.len() * 2);
        for byte in folded.bytes() {
            let _ = write!(key, "{byte:02x}");
        }
        key
    })
}

/// The record of an account in the accounts bucket: `<created ms> <nick> <hash>` (a PHC
/// string holds no space).
pub fn account_record(account: &Account) -> String {
    format!("{} {} {}", account.created_ms, account.nick, account.hash)
}

/// The account a record holds, if it is one of ours.
pub fn parse_account(value: &[u8]) -> Option<Account> {
    let text = std::str::from_utf8(value).ok()?;
    let mut fields = text.splitn(3, ' ');
    let created_ms = fields.next()?.parse().ok()?;
    let nick = Nick::parse(fields.next()?).ok()?;
    let hash = fields
        .next()
        .filter(|hash| !hash.is_empty() && !hash.contains(' '))?;
    Some(Account {
        nick,
        hash: Arc::from(hash),
        created_ms,
    })
}

/// The value of a claim: the node and connection holding the nick, and the nick as spelled.
pub fn holder(node: &NodeId, conn: ConnId, nick: &Nick) -> String {
    format!("{node} {conn} {nick}")
}

/// What a claim's value says, if it is one of ours: the holding node and connection, and
/// the nick as spelled.
pub fn parse_holder(value: &[u8]) -> Option<(NodeId, ConnId, Nick)> {
    let text = std::str::from_utf8(value).ok()?;
    let mut fields = text.splitn(3, ' ');
    let node = NodeId::parse(fields.next()?)?;
    let conn = fields.next()?.parse::<ConnId>().ok()?;
    let nick = Nick::parse(fields.next()?).ok()?;
    Some((node, conn, nick))
}
