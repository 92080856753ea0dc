//! What the nodes of a cluster say to each other on the stream: a chat line or a presence
//! change, as one text line, and the subjects and key names they use.
//!
//! In scope: encoding and decoding (pure: no I/O, no clock), the stream's subjects, and the
//! key a nick's claim is kept under. The lines inside are the protocol's own replies
//! (`ALL alice hi`, `JOIN alice`), so `chatd_proto` spells them and nothing is spelled twice.
//! Out of scope: publishing and consuming (`publisher`, `feed`).
//!
//! Payloads: `<node> <conn> <reply>` for a lobby line, `<node> <conn> <to> <reply>` for a
//! direct one, `<node> <announcement>` for a presence change, `<node> GONE` for a node that
//! stopped cleanly.

use std::fmt::Write as _;

use std::sync::Arc;

use chatd_proto::{Nick, Reply};

use crate::server::accounts::Account;

use crate::server::cluster_link::{Conversation, NodeId, Presence};
use crate::server::conn_id::ConnId;

/// The stream every conversation's lines are in; its sequence is their order and id.
pub const STREAM: &str = "CHATD";
/// All of the stream's subjects.
pub const ALL_SUBJECTS: &str = "chatd.>";
/// The lobby's lines (`ALL`, `ME *`).
pub const LOBBY: &str = "chatd.lobby";
/// Direct lines (`MSG <nick>`, `ME <nick>`).
pub const DIRECT: &str = "chatd.direct";
/// Registrations, renames and departures.
pub const PRESENCE: &str = "chatd.presence";
/// The key-value bucket of nick claims: key [`nick_key`], value [`holder`].
pub const NICKS_BUCKET: &str = "chatd_nicks";
/// The key-value bucket of live nodes: key the node id, renewed while it runs.
pub const NODES_BUCKET: &str = "chatd_nodes";
/// The key-value bucket of accounts: key [`nick_key`], value [`account_record`].
pub const ACCOUNTS_BUCKET: &str = "chatd_accounts";

/// Where a line came from: which node, and which of its connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub node: NodeId,
    pub conn: ConnId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Line {
        origin: Origin,
        conversation: Conversation,
        reply: Reply,
    },
    Presence {
        node: NodeId,
        presence: Presence,
    },
    /// The node stopped cleanly: its clients are gone.
    Gone(NodeId),
}

/// A payload that is not one of ours (another program on the subject, or a newer node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed;

impl Event {
    /// The subject and payload to publish.
    pub fn encode(&self) -> (&'static str, String) {
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
                }
            }
            Event::Presence { node, presence } => {
                let _ = write!(out, "{node} {}", presence.announcement());
                PRESENCE
            }
            Event::Gone(node) => {
                let _ = write!(out, "{node} GONE");
                PRESENCE
            }
        };
        (subject, out)
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
            PRESENCE => {
                let presence = match Reply::parse(rest).map_err(|_| Malformed)? {
                    Reply::Join(nick) => Presence::Joined(nick),
                    Reply::NickChanged { old, new } => Presence::Renamed { old, new },
                    Reply::Quit { nick, reason } => Presence::Left { nick, reason },
                    _ => return Err(Malformed),
                };
                Ok(Event::Presence { node, presence })
            }
            _ => Err(Malformed),
        }
    }
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
