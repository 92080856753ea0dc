//! The clients as recipients, and the loops that queue one delivery for many of them.
//!
//! In scope: [`Client`] (what the table keeps per registered client), [`Pending`] (what a
//! delivery leaves for after the table lock), and the fan-out loops, which push each
//! recipient the line its capabilities call for ([`LineFor`]). Out of scope: who the
//! recipients of a command are and the locks held while pushing (the registry's methods), and
//! choosing a line's forms (`line`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::server::conn_id::ConnId;
use crate::server::line::{Forms, Line, LineFor};
use crate::server::outbox::{Flush, Outbox, PushError, Wake, footprint};
use crate::server::rooms::{NewOwner, Rooms};
use chatd_proto::{CapSet, Nick, Reply};

/// A registered client, as the table keeps it.
pub struct Client {
    pub nick: Nick,
    pub outbox: Outbox,
    /// What it turned on with `CAP`: which form of a line it is pushed. A copy of its
    /// session's set (which also holds the set before registration), updated under the write
    /// lock, so a delivery sees the set as of the client's latest `CAP`. One byte, so the
    /// records a broadcast walks stay small.
    pub caps: CapSet,
    /// Whether it is logged in to the account its nick names: its direct messages are kept
    /// for that account, and the rooms the account registered are its own.
    pub identity: Identity,
}

/// Whether a client holds its nick as a guest or logged in to the account of that name. A
/// copy of its session's login, changed under the write lock in the same critical section as
/// the nick (`Registry::claim`) or before the account changes (`Registry::set_identity`), so
/// that nothing is ever kept for an account on behalf of a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    Guest,
    Account,
}

/// What a delivery leaves to do once the table lock is released: writes to idle clients
/// (system calls, see [`Flush`]), and clients whose outbox overflowed, to drop and cut off.
#[must_use = "finish it with Registry::finish once the table lock is released"]
#[derive(Default)]
pub struct Pending {
    pub flushes: Vec<Flush>,
    pub slow: Vec<(ConnId, Outbox)>,
    /// Bytes queued for the client whose command this is ([`Pending::answer`]): flood control
    /// charges them, so a `JOIN` costs its member list as a `WHO` does.
    pub answered: usize,
    /// The footprints of every line queued, and how many of them were deliveries: counted
    /// here, and into the server's `Metrics` once per delivery, not once per recipient.
    pub queued: usize,
    pub delivered: usize,
    /// How many recipients the delivery has: a flush that finds the list full makes room for
    /// that many more, so a broadcast allocates its list of flushes once (or not at all)
    /// instead of regrowing it.
    recipients: usize,
}

impl Pending {
    /// Whether no client overflowed.
    #[cfg(test)]
    pub fn no_slow_consumer(&self) -> bool {
        self.slow.is_empty()
    }

    pub fn for_recipients(recipients: usize) -> Pending {
        Pending {
            recipients,
            ..Pending::default()
        }
    }

    /// Adds what `other` left to do to this.
    pub fn merge(&mut self, mut other: Pending) {
        self.flushes.append(&mut other.flushes);
        self.slow.append(&mut other.slow);
        self.queued += other.queued;
        self.delivered += other.delivered;
        self.answered += other.answered;
        self.recipients = self.recipients.max(other.recipients);
    }

    /// Pushes `line` to one client and notes what the push leaves to do.
    pub fn push(&mut self, id: ConnId, client: &Client, line: Line, wake: Wake) {
        let cost = footprint(&line);
        let pushed = client.outbox.enqueue(line, wake);
        if pushed.is_ok() {
            self.queued += cost;
            self.delivered += usize::from(wake == Wake::Delivery);
        }
        self.add(id, &client.outbox, pushed);
    }

    /// Pushes a reply to the client whose command this is, counting its bytes as answered.
    pub fn answer(&mut self, id: ConnId, client: &Client, line: Line) {
        self.answered += line.len();
        self.push(id, client, line, Wake::Reply);
    }

    fn add(&mut self, id: ConnId, outbox: &Outbox, pushed: Result<Option<Flush>, PushError>) {
        match pushed {
            Ok(Some(flush)) => {
                if self.flushes.len() == self.flushes.capacity() {
                    self.flushes.reserve(self.recipients.max(1));
                }
                self.flushes.push(flush);
            }
            Ok(None) | Err(PushError::Closed) => {}
            Err(PushError::Full) => self.slow.push((id, outbox.clone())),
        }
    }
}

/// Pushes each of `members` except `skip` its line of `line`, adding flushes and slow
/// consumers to `pending`.
pub fn push_to_members(
    clients: &HashMap<ConnId, Client>,
    members: &[ConnId],
    skip: Option<ConnId>,
    line: &impl LineFor,
    wake: Wake,
    pending: &mut Pending,
) {
    pending.recipients = members.len();
    for &id in members {
        if Some(id) == skip {
            continue;
        }
        if let Some(client) = clients.get(&id) {
            if let Some(line) = line.line_for(client.caps) {
                pending.push(id, client, Arc::clone(line), wake);
            }
        }
    }
}

/// Pushes every client except `skip` its line of `line`; the ones whose queue is full are
/// returned to be dropped once the lock is released.
pub fn push_to_all(
    clients: &HashMap<ConnId, Client>,
    skip: Option<ConnId>,
    line: &impl LineFor,
    wake: Wake,
) -> Pending {
    let mut pending = Pending::for_recipients(clients.len());
    for (&id, client) in clients {
        if Some(id) != skip {
            if let Some(line) = line.line_for(client.caps) {
                pending.push(id, client, Arc::clone(line), wake);
            }
        }
    }
    pending
}

/// Tells the members of a room whose owner left who owns it now: `OWNER #room <nick>` to
/// those with `CAP owner`, nothing to the others. The caller holds the write lock, so the
/// line follows the `PART` or `QUIT` that caused it in the room's order.
pub fn announce_owner(
    clients: &HashMap<ConnId, Client>,
    rooms: &Rooms,
    change: &NewOwner,
    pending: &mut Pending,
) {
    let Some(state) = rooms.get(&change.room) else {
        return;
    };
    // The room's record of the nick: the owner may be a client of another node.
    let Some(owner) = state.member_nick(change.owner) else {
        return;
    };
    let line = Forms::new(&Reply::Owner {
        room: state.name.clone(),
        nick: owner.clone(),
    });
    push_to_members(
        clients,
        state.members(),
        None,
        &line,
        Wake::Announcement,
        pending,
    );
}
