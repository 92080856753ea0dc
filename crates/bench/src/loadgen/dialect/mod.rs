//! The wire protocol a run speaks: chatd's own, or a peer's (Redis pub/sub, NATS), so that
//! the same workloads and checks measure chatd and the servers it is compared with.
//!
//! In scope: [`Dialect`] and [`Peer`], the one seam between the workloads and a peer's
//! protocol: how a client opens its session and subscribes, how a message is published, how
//! a barrier `PING` is spelled and answered, how a reader finds deliveries in the byte
//! stream ([`frame`], [`resp`], [`nats`]), and what each server says about one order of a
//! channel's messages ([`OrderStance`]).
//! Out of scope: chatd's own spelling, which the `chatd_proto` crate owns and `client`,
//! `sender` and `reader` use directly (a chatd run never goes through a peer's code), and
//! when anything is sent (`workload`).
//!
//! What maps to what, on a peer: the lobby (`ALL`) is one channel every client subscribes
//! to, `b<tag>all`; a direct message (`MSG <nick>`) is published to the partner's own
//! channel, named as its nick; a room (`MSG #room`) is one channel, the room's name without
//! `#`. chatd's barriers (`PING <token>`, answered `PONG <token>` after everything queued
//! before it) are the peer's own `PING`: Redis answers with the token, NATS with a bare
//! `PONG`, matched by order.

pub mod frame;
pub mod nats;
pub mod resp;

use std::fmt;

use self::frame::{Event, Frame, Framing};
use chatd_proto::Command;

/// What a server says about one order of the lines every receiver gets (all `ALL` lines;
/// in a rooms run, each room's lines), which decides what a step back in that order means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStance {
    /// Promised (chatd): a step back fails the run.
    Promised,
    /// Given by how the server works, not promised in its documentation (Redis runs every
    /// `PUBLISH` on one thread, so each channel's subscribers get its messages in one
    /// order): what the run saw is reported, never a failure.
    ByDesign,
    /// Not promised (NATS orders each publisher's messages, not several publishers'
    /// between them): what the run saw is reported, never a failure.
    NotPromised,
}

impl OrderStance {
    /// What the report says for `violations` steps back: `yes`, `no (3 steps back)`,
    /// `not promised (this run: one order)`.
    pub fn verdict(self, violations: u64) -> String {
        let seen = match violations {
            0 => "yes".to_owned(),
            1 => "no (1 step back)".to_owned(),
            n => format!("no ({n} steps back)"),
        };
        match self {
            OrderStance::Promised | OrderStance::ByDesign => seen,
            OrderStance::NotPromised if violations == 0 => {
                "not promised (this run: one order)".to_owned()
            }
            OrderStance::NotPromised => format!("not promised (this run: {violations} steps back)"),
        }
    }
}

/// A server the bench measures chatd against. The user starts it; the bench never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Redis 6 or later, pub/sub over RESP3 (`HELLO 3`), one connection per client.
    Redis,
    /// NATS core (no JetStream), one connection per client.
    Nats,
}

/// The protocol of a run's server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Chatd,
    Peer(Peer),
}

impl Peer {
    pub const ALL: [Peer; 2] = [Peer::Redis, Peer::Nats];

    /// The scheme of its `--target` URL: `redis`, `nats`.
    pub fn scheme(self) -> &'static str {
        match self {
            Peer::Redis => "redis",
            Peer::Nats => "nats",
        }
    }

    /// Its port when a `--target` URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Peer::Redis => 6379,
            Peer::Nats => 4222,
        }
    }

    /// Whether a client subscribed to a channel gets its own messages to it back. Redis
    /// sends a publisher's message to every subscriber, the publisher too, so readers drop
    /// a client's copies of its own lines (a fan-out or rooms sender must stay subscribed:
    /// it receives the other senders' lines). NATS does not, after `"echo":false`; nor
    /// does chatd.
    pub fn echoes_own_messages(self) -> bool {
        matches!(self, Peer::Redis)
    }

    /// What the server says about one order of a channel's messages for all subscribers.
    pub fn order_stance(self) -> OrderStance {
        match self {
            Peer::Redis => OrderStance::ByDesign,
            Peer::Nats => OrderStance::NotPromised,
        }
    }

    /// Whether the answer to `PING` names the `PING`'s token.
    pub fn pong_has_token(self) -> bool {
        matches!(self, Peer::Redis)
    }

    /// Opens a client's session and subscribes it to `channels`.
    pub fn handshake(self, channels: &[&[u8]], out: &mut Vec<u8>) {
        match self {
            Peer::Redis => resp::handshake(out, channels),
            Peer::Nats => nats::handshake(out, channels),
        }
    }

    /// Publishes one message.
    pub fn publish(self, channel: &[u8], payload: &[u8], out: &mut Vec<u8>) {
        match self {
            Peer::Redis => resp::publish(out, channel, payload),
            Peer::Nats => nats::publish(out, channel, payload),
        }
    }

    /// A barrier `PING`: answered after everything queued for the client before it.
    pub fn ping(self, token: &str, out: &mut Vec<u8>) {
        match self {
            Peer::Redis => resp::ping(out, token.as_bytes()),
            Peer::Nats => out.extend_from_slice(nats::PING),
        }
    }

    /// What answers the server's own `PING` (`None`: the server sends none).
    pub fn pong(self) -> Option<&'static [u8]> {
        match self {
            Peer::Redis => None,
            Peer::Nats => Some(nats::PONG),
        }
    }

    /// The frame at the start of `bytes`.
    pub fn frame(self, bytes: &[u8]) -> Frame<Event<'_>> {
        match self {
            Peer::Redis => resp::Resp::frame(bytes),
            Peer::Nats => nats::Nats::frame(bytes),
        }
    }

    /// [`frame::split`] in this protocol: one match per read, none per frame.
    pub fn split(
        self,
        carry: &mut Vec<u8>,
        bytes: &[u8],
        each: impl FnMut(Event<'_>),
    ) -> Result<(), &'static str> {
        match self {
            Peer::Redis => frame::split::<resp::Resp>(carry, bytes, each),
            Peer::Nats => frame::split::<nats::Nats>(carry, bytes, each),
        }
    }
}

impl fmt::Display for Peer {
    /// `Redis`, `NATS`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Peer::Redis => "Redis",
            Peer::Nats => "NATS",
        })
    }
}

impl Dialect {
    pub fn peer(self) -> Option<Peer> {
        match self {
            Dialect::Chatd => None,
            Dialect::Peer(peer) => Some(peer),
        }
    }

    /// A barrier `PING` with `token`, as one write.
    pub fn ping(self, token: &str) -> Vec<u8> {
        match self {
            Dialect::Chatd => format!("{}\n", Command::Ping { token: Some(token) }).into_bytes(),
            Dialect::Peer(peer) => {
                let mut out = Vec::new();
                peer.ping(token, &mut out);
                out
            }
        }
    }

    pub fn order_stance(self) -> OrderStance {
        match self {
            Dialect::Chatd => OrderStance::Promised,
            Dialect::Peer(peer) => peer.order_stance(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barrier_pings_are_spelled_by_each_protocol() {
        assert_eq!(Dialect::Chatd.ping("bench-sent"), b"PING bench-sent\n");
        assert_eq!(
            Dialect::Peer(Peer::Redis).ping("bench-sent"),
            b"*2\r\n$4\r\nPING\r\n$10\r\nbench-sent\r\n"
        );
        assert_eq!(Dialect::Peer(Peer::Nats).ping("bench-sent"), b"PING\r\n");
    }

    #[test]
    fn a_published_message_reads_back_as_a_delivery() {
        // What a subscriber gets for one PUBLISH / PUB, as the servers frame it.
        let delivered = [
            (
                Peer::Redis,
                b">3\r\n$7\r\nmessage\r\n$4\r\nbxal\r\n$6\r\n00ff..\r\n".as_slice(),
            ),
            (Peer::Nats, b"MSG bxal 1 6\r\n00ff..\r\n".as_slice()),
        ];
        for (peer, bytes) in delivered {
            let mut carry = Vec::new();
            let mut seen = Vec::new();
            for byte in bytes.chunks(1) {
                peer.split(&mut carry, byte, |event| {
                    if let Event::Delivery { channel, payload } = event {
                        seen.push((channel.to_vec(), payload.to_vec()));
                    }
                })
                .unwrap();
            }
            assert_eq!(seen, [(b"bxal".to_vec(), b"00ff..".to_vec())], "{peer}");
            let mut published = Vec::new();
            peer.publish(b"bxal", b"00ff..", &mut published);
            assert!(published.ends_with(b"00ff..\r\n"), "{peer}");
        }
    }

    #[test]
    fn the_order_verdict_says_yes_no_or_not_promised() {
        assert_eq!(OrderStance::Promised.verdict(0), "yes");
        assert_eq!(OrderStance::ByDesign.verdict(1), "no (1 step back)");
        assert_eq!(OrderStance::Promised.verdict(4), "no (4 steps back)");
        assert_eq!(
            OrderStance::NotPromised.verdict(0),
            "not promised (this run: one order)"
        );
        assert_eq!(
            OrderStance::NotPromised.verdict(12),
            "not promised (this run: 12 steps back)"
        );
    }
}
