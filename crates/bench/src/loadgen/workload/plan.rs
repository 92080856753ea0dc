//! The shape of a message run (fan-out, paced, stalled, direct, rooms): who sends what to
//! whom, how fast, and what each client should get.
//!
//! In scope: [`Plan`] with its [`Pattern`] and [`Sending`], and what follows from them
//! alone: who sends, each client's route, channels (on a peer) and destination, the order
//! groups, the lines each client should send and receive, and the run's time limit. Pure.
//! Out of scope: building a plan (`fanout`, `paced`, `direct`, `rooms`) and running it
//! (`engine`).

use std::io;
use std::time::Duration;

use crate::loadgen::client::Naming;
use crate::loadgen::dialect::Dialect;
use crate::loadgen::reader::Route;
use crate::loadgen::sender::To;
use crate::loadgen::workload::waiter::Expected;
use chatd_proto::{Nick, Room};

/// Who sends what to whom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Pattern {
    /// Clients `0..senders` send `ALL`; every client receives the others' lines.
    Broadcast { senders: u32 },
    /// Clients `2k` and `2k + 1` send each other `MSG`s.
    Pairs,
    /// Clients `k * members .. (k + 1) * members` are room k; the first `senders` of each
    /// room send `MSG #room`, and the room's other members receive them.
    Rooms { members: u32, senders: u32 },
}

/// How fast the senders go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Sending {
    /// `messages` lines per sender, as fast as the flow-control window allows.
    Closed { messages: u32 },
    /// `lines_per_second` over all senders for `warmup + duration`, open loop.
    Paced {
        lines_per_second: f64,
        warmup: Duration,
        duration: Duration,
    },
}

/// One message run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Plan {
    /// Healthy clients: registered first, read and checked.
    pub clients: u32,
    pub pattern: Pattern,
    pub sending: Sending,
    pub size: usize,
    /// Clients registered after the healthy ones that never read again.
    pub stalled: u32,
    pub stalled_recv_buffer: usize,
    /// Bytes per second of `PING`s each stalled client sends and never reads the answers
    /// of, from the end of the warm-up (see `sender::run_stuffing`).
    pub stall_rate: u64,
    /// Whether to fill the latency histogram.
    pub latency: bool,
}

impl Plan {
    pub(super) fn is_sender(&self, index: u32) -> bool {
        match self.pattern {
            Pattern::Broadcast { senders } => index < senders,
            Pattern::Pairs => true,
            Pattern::Rooms { members, senders } => index % members < senders,
        }
    }

    pub(super) fn senders(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.clients).filter(|&i| self.is_sender(i))
    }

    pub(super) fn route(&self, index: u32) -> Route {
        match self.pattern {
            Pattern::Broadcast { senders } => Route::Broadcast { senders },
            Pattern::Pairs => Route::Partner(index ^ 1),
            Pattern::Rooms { members, senders } => Route::Room {
                room: index / members,
                first: index / members * members,
                senders,
            },
        }
    }

    /// The channels client `index` listens on, on a peer: the lobby's, its own, or its
    /// room's.
    pub(super) fn channels(&self, index: u32, naming: &Naming) -> Vec<String> {
        match self.pattern {
            Pattern::Broadcast { .. } => vec![naming.lobby_channel().to_owned()],
            Pattern::Pairs => vec![naming.nick(index)],
            Pattern::Rooms { members, .. } => vec![naming.room_channel(index / members)],
        }
    }

    /// Where client `index` sends its lines.
    pub(super) fn destination(
        &self,
        index: u32,
        naming: &Naming,
        dialect: Dialect,
    ) -> io::Result<To> {
        let invalid = |e: &dyn std::fmt::Display| io::Error::other(e.to_string());
        if let Dialect::Peer(peer) = dialect {
            let channel = match self.pattern {
                Pattern::Broadcast { .. } => naming.lobby_channel().to_owned(),
                Pattern::Pairs => naming.nick(index ^ 1),
                Pattern::Rooms { members, .. } => naming.room_channel(index / members),
            };
            return Ok(To::Published { peer, channel });
        }
        Ok(match self.pattern {
            Pattern::Broadcast { .. } => To::Everyone,
            Pattern::Pairs => {
                To::Nick(Nick::parse(&naming.nick(index ^ 1)).map_err(|e| invalid(&e))?)
            }
            Pattern::Rooms { members, .. } => {
                To::Room(Room::parse(&naming.room(index / members)).map_err(|e| invalid(&e))?)
            }
        })
    }

    /// Which receivers must see the same lines in the same order: the members of a room,
    /// all clients of a broadcast. Numbered by the room, or 0.
    pub(super) fn order_group(&self, index: u32) -> u32 {
        match self.pattern {
            Pattern::Rooms { members, .. } => index / members,
            Pattern::Broadcast { .. } | Pattern::Pairs => 0,
        }
    }

    /// What each healthy client should send and receive when each sender sends
    /// `sent(index)` lines.
    pub(super) fn expected(&self, sent: impl Fn(u32) -> u64) -> Expected {
        let sent: Vec<u64> = (0..self.clients)
            .map(|index| {
                if self.is_sender(index) {
                    sent(index)
                } else {
                    0
                }
            })
            .collect();
        let all: u64 = sent.iter().sum();
        let received = (0..self.clients)
            .map(|index| {
                let own = sent[index as usize];
                match self.pattern {
                    Pattern::Broadcast { .. } => all - own,
                    Pattern::Pairs => sent[(index ^ 1) as usize],
                    Pattern::Rooms { members, senders } => {
                        let first = index / members * members;
                        let room: u64 = (first..first + senders).map(|s| sent[s as usize]).sum();
                        room - own
                    }
                }
            })
            .collect();
        Expected { received, sent }
    }

    /// Lines each client will send (paced: by the schedule's arithmetic, for progress only).
    pub(super) fn lines_per_sender(&self) -> f64 {
        match self.sending {
            Sending::Closed { messages } => f64::from(messages),
            Sending::Paced {
                lines_per_second,
                warmup,
                duration,
            } => {
                let senders = self.senders().count().max(1) as f64;
                lines_per_second * (warmup + duration).as_secs_f64() / senders
            }
        }
    }

    /// Deliveries the healthy clients should get.
    pub(super) fn expected_deliveries(&self) -> u64 {
        let recipients = match self.pattern {
            Pattern::Broadcast { .. } => f64::from(self.clients - 1),
            Pattern::Pairs => 1.0,
            Pattern::Rooms { members, .. } => f64::from(members - 1),
        };
        let senders = self.senders().count() as f64;
        (self.lines_per_sender() * senders * recipients) as u64
    }

    /// How long the senders may take: a paced run's length plus a margin, or for a closed
    /// run as if it delivered no faster than 50k lines a second.
    pub(super) fn send_timeout(&self) -> Duration {
        match self.sending {
            Sending::Paced {
                warmup, duration, ..
            } => warmup + duration + Duration::from_secs(30),
            Sending::Closed { .. } => {
                Duration::from_secs(30) + Duration::from_secs(self.expected_deliveries() / 50_000)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(clients: u32, pattern: Pattern) -> Plan {
        Plan {
            clients,
            pattern,
            sending: Sending::Closed { messages: 10 },
            size: 32,
            stalled: 0,
            stalled_recv_buffer: 0,
            stall_rate: 0,
            latency: false,
        }
    }

    #[test]
    fn each_client_expects_its_senders_lines_but_its_own() {
        // Sender k sends 10 + k lines.
        let sent = |index: u32| 10 + u64::from(index);
        let broadcast = plan(4, Pattern::Broadcast { senders: 2 }).expected(sent);
        assert_eq!(broadcast.sent, [10, 11, 0, 0]);
        assert_eq!(broadcast.received, [11, 10, 21, 21]);
        let pairs = plan(4, Pattern::Pairs).expected(sent);
        assert_eq!(pairs.sent, [10, 11, 12, 13]);
        assert_eq!(pairs.received, [11, 10, 13, 12]);
        let rooms = plan(
            6,
            Pattern::Rooms {
                members: 3,
                senders: 2,
            },
        )
        .expected(sent);
        assert_eq!(rooms.sent, [10, 11, 0, 13, 14, 0]);
        assert_eq!(rooms.received, [11, 10, 21, 14, 13, 27]);
    }
}
