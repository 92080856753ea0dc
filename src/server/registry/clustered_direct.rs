//! A node of a cluster keeping its accounts' direct history: for which party a direct line
//! the stream brings is kept, as the feed delivers it (a party of this node that is logged
//! in, or another node's whose nick is an account's) and for the lines sent before the node
//! started (`cluster::catch_up` reads them: a party whose account is older than the line),
//! and `HISTORY <nick>`'s wait for that pass. Out of scope: reading the stream (`cluster`),
//! delivering the lines (`clustered`), keeping a line (`direct_history`).

use chatd_proto::{MessageId, Nick, Reply, UtcMillis};

use crate::server::direct_history::CatchingUp;
use crate::server::line::{ChatLine, Forms};
use crate::server::registry::delivery::{Client, Identity};
use crate::server::registry::{Registry, Table};

impl Registry {
    /// Keeps a direct line to `to` the stream brought back for each party that holds its
    /// account now, as `direct_lines` keeps one on a single server: so every node keeps the
    /// same direct history of every account, and `HISTORY <nick>` answers the same on each.
    /// A party of this node (`sender`, `recipient`) holds it if logged in; another node's if
    /// its nick is a registered account's, which only a login takes. Under the table's read
    /// lock, as there.
    pub(super) fn keep_clustered_direct(
        &self,
        stamp: (MessageId, UtcMillis),
        reply: &Reply,
        to: &Nick,
        (table, sender, recipient): (&Table, Option<&Client>, Option<&Client>),
    ) {
        let Some(from) = sender_of(reply) else {
            return;
        };
        let holds_account = |nick: &Nick| {
            let client = if nick.key() == from.key() {
                sender
            } else {
                recipient
            };
            match client {
                Some(client) => client.identity == Identity::Account,
                None => {
                    table.remote.contains_key(&nick.key())
                        && self.accounts.is_registered(&nick.key())
                }
            }
        };
        self.keep_direct_for(stamp, reply, to, holds_account);
    }

    /// Keeps a direct line (`MSG`, `FILE` or `ME` from its sender to `to`) for each party
    /// `holds_account` says held its account when it was sent; a line to oneself once.
    fn keep_direct_for(
        &self,
        (id, time): (MessageId, UtcMillis),
        reply: &Reply,
        to: &Nick,
        holds_account: impl Fn(&Nick) -> bool,
    ) {
        let Some(from) = sender_of(reply) else {
            return;
        };
        let keep_sender = holds_account(from);
        let keep_recipient = to.key() != from.key() && holds_account(to);
        if !keep_sender && !keep_recipient {
            return;
        }
        let Some(v1) = Forms::new(reply).v1().cloned() else {
            return;
        };
        if keep_sender {
            self.direct.keep(&from.key(), &to.key(), id, time, &v1);
        }
        if keep_recipient {
            self.direct.keep(&to.key(), &from.key(), id, time, &v1);
        }
    }

    /// The direct lines sent before this node started are about to be kept
    /// ([`Registry::keep_missed_direct`]): `HISTORY <nick>` waits until the guard returned
    /// is dropped.
    pub fn catching_up_direct(&self) -> CatchingUp {
        self.direct.catching_up()
    }

    /// Waits until the direct lines kept so far are written: the pass over the past keeps
    /// thousands at once, more than the store's channel holds.
    pub fn settle_missed_direct(&self) {
        self.direct.settle();
    }

    /// Keeps a direct line to `to` that the stream brought from before this node started
    /// (`cluster::catch_up`), for each party whose account was made before the line was
    /// sent: only a login holds a registered nick, so such a party was logged in, as a
    /// party of a line kept live is. A party whose account was made after (a guest then,
    /// or an earlier account of the same name) gets nothing, as on a single server.
    pub fn keep_missed_direct(&self, stamp: (MessageId, UtcMillis), reply: &Reply, to: &Nick) {
        let made_before = |nick: &Nick| {
            self.accounts
                .created_ms(&nick.key())
                .is_some_and(|created| created <= stamp.1.millis())
        };
        self.keep_direct_for(stamp, reply, to, made_before);
    }
}

/// Who sent a direct line: `None` for a reply that is not one.
fn sender_of(reply: &Reply) -> Option<&Nick> {
    match reply {
        Reply::Msg { from, .. } | Reply::File { from, .. } | Reply::Me { from, .. } => Some(from),
        _ => None,
    }
}
