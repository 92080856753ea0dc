//! A node of a cluster keeping the direct lines sent before it started (`cluster::catch_up`
//! reads them from the stream): for which party each is kept, and `HISTORY <nick>`'s wait
//! for the pass. Its own file: the live lines' rule is `clustered`'s, this is the past's.
//! Out of scope: reading the stream (`cluster`), keeping a line (`direct_history`).

use chatd_proto::{MessageId, Nick, Reply, UtcMillis};

use crate::server::direct_history::CatchingUp;
use crate::server::line::{ChatLine, Forms};
use crate::server::registry::Registry;

impl Registry {
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
    pub fn keep_missed_direct(&self, (id, time): (MessageId, UtcMillis), reply: &Reply, to: &Nick) {
        let from = match reply {
            Reply::Msg { from, .. } | Reply::File { from, .. } | Reply::Me { from, .. } => from,
            _ => return,
        };
        let held = |nick: &Nick| {
            self.accounts
                .created_ms(&nick.key())
                .is_some_and(|created| created <= time.millis())
        };
        let keep_sender = held(from);
        let keep_recipient = held(to) && to.key() != from.key();
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
}
