//! The direct side of the client table: `MSG <nick>` and `ME <nick>` to a client online, and
//! the direct messages kept for accounts (`HISTORY <nick>`, issue 16).
//!
//! In scope: queueing a direct line for its one recipient with its id and the away notice;
//! keeping it for each party that holds an account at that moment, as the `identity` of the
//! client records says (a guest's side is never kept, so whoever holds a nick later reads
//! nothing its earlier holder said or got); the same for a line kept for an offline account
//! (`OK STORED`, the sender's side) and the lines delivered at a login (the account's side);
//! and a page of an account's lines with a nick. Out of scope: where lines are kept
//! (`direct_history`), the mailbox (`accounts`), the wire (`chatd_proto`).
//!
//! A line is kept under the table's read lock: an `UNREGISTER` makes its client a guest under
//! the write lock before the account is deleted (`Registry::set_identity`), so once that
//! returns, every keep that saw the account has handed its line over, and none comes after.

use chatd_proto::{
    CapSet, Capability, ChatWord, MessageId, Nick, Page, ProtocolError, Reply, Target,
};

use crate::server::accounts::Waiting;
use crate::server::conn_id::ConnId;
use crate::server::history::{Entry, now};
use crate::server::line::{Line, chat_line_for_one, line_for_one, line_written_by, with_id};
use crate::server::outbox::Wake;
use crate::server::registry::Registry;
use crate::server::registry::delivery::{Client, Identity, Pending};

impl Registry {
    /// `MSG <nick> <text>`: queues `line` from client `from` for the client called `to`, with
    /// its id if `to` has `CAP ids`.
    pub fn send_to(&self, from: ConnId, to: &Nick, line: Line) -> Result<Pending, ProtocolError> {
        self.direct(from, to, Said::Msg(line))
    }

    /// `ME <nick> <text>`: the action from client `from` for the client called `to`, as
    /// `ME <to> <from> <text>` or, without `CAP actions`, `MSG <from> /me <text>` (the form
    /// history keeps).
    pub fn act_to(&self, from: ConnId, to: &Nick, text: &str) -> Result<Pending, ProtocolError> {
        self.direct(from, to, Said::Me(text))
    }

    /// Queues what was said from client `from` for the client called `to`, with its id, and
    /// keeps its v1 form for each of them that holds an account (formatted only then); then,
    /// if `to` is away and the sender has `CAP away`, `AWAY <to> <text>` for the sender,
    /// before anything it sends later.
    ///
    /// The id is taken here, under the read lock only: one sender's lines run one at a time
    /// and in order (its connection is with one worker at a time), so the lines of one pair
    /// of nicks, each recipient getting those of the other, reach it with growing ids.
    fn direct(&self, from: ConnId, to: &Nick, said: Said<'_>) -> Result<Pending, ProtocolError> {
        if let Some(link) = &self.cluster {
            return self.direct_in_cluster(link, from, to, said);
        }
        let table = self.table.read();
        let Some(sender) = table.clients.get(&from) else {
            // The sender was dropped (slow consumer) while its last lines were being read.
            return Ok(Pending::default());
        };
        let recipient = to
            .with_key(|key| table.ids.get(key).copied())
            .and_then(|id| Some((id, table.clients.get(&id)?)));
        let Some((id, recipient)) = recipient else {
            return Err(ProtocolError::NoSuchNick(to.to_string()));
        };
        let message = self.ids.next();
        // Two bytes already at hand: a guest's line costs nothing more.
        let sender_keeps = sender.identity == Identity::Account;
        let recipient_keeps = recipient.identity == Identity::Account && id != from;
        let kept = (sender_keeps || recipient_keeps).then(|| said.v1(sender, recipient));
        let line = said.line_for(sender, recipient, message);
        let mut pending = Pending::default();
        pending.push(id, recipient, line, Wake::Delivery);
        if let Some(kept) = kept {
            let time = now();
            let (sender_key, recipient_key) = (sender.nick.key(), recipient.nick.key());
            if sender_keeps {
                self.direct
                    .keep(&sender_key, &recipient_key, message, time, &kept);
            }
            if recipient_keeps {
                self.direct
                    .keep(&recipient_key, &sender_key, message, time, &kept);
            }
        }
        if let Some(text) = table.away.get(&id) {
            let notice = Reply::Away {
                nick: recipient.nick.clone(),
                text: text.clone(),
            };
            if let Some(line) = line_for_one(&notice, sender.caps) {
                pending.answer(from, sender, line);
            }
        }
        Ok(pending)
    }

    /// A line client `from` sent to the offline account `to` was kept for it (`OK STORED`):
    /// kept in the sender's history too if it holds the account it sent the line as, with
    /// the line's id and time.
    pub fn keep_stored(&self, from: ConnId, to: &Nick, line: &Waiting) {
        let table = self.table.read();
        let Some(sender) = table.clients.get(&from) else {
            return;
        };
        if holds(sender, &line.from) {
            let owner = sender.nick.key();
            self.direct
                .keep(&owner, &to.key(), line.id, line.time, &v1_line(line));
        }
    }

    /// The lines that waited for `account`, which client `id` just logged in to, delivered
    /// now: kept in its history with their own ids and times, if it holds the account (not
    /// when its takeover of the nick was given up: it may hold another account).
    pub fn keep_delivered(&self, id: ConnId, account: &Nick, waiting: &[Waiting]) {
        let table = self.table.read();
        let Some(client) = table.clients.get(&id) else {
            return;
        };
        if !holds(client, account) {
            return;
        }
        let owner = client.nick.key();
        for line in waiting {
            self.direct
                .keep(&owner, &line.from.key(), line.id, line.time, &v1_line(line));
        }
    }

    /// `HISTORY <nick>`: at most `count` of the direct lines kept for client `id`'s account
    /// with `peer`, as `page` asks, oldest first. `LOGIN_REQUIRED` for a guest. The store is
    /// read after the lock.
    pub fn direct_history(
        &self,
        id: ConnId,
        peer: &Nick,
        count: usize,
        page: Page,
    ) -> Result<Vec<Entry>, ProtocolError> {
        let owner = match self.table.read().clients.get(&id) {
            Some(client) if client.identity == Identity::Account => client.nick.key(),
            _ => return Err(ProtocolError::LoginRequired),
        };
        Ok(self.direct.page(&owner, &peer.key(), count, page))
    }

    /// The account `account` was deleted: its direct lines go with it.
    pub fn forget_direct(&self, account: &Nick) {
        self.direct.forget(&account.key());
    }

    /// Returns once every direct line kept so far is written: before an account is made, so
    /// that the account's table clears what an earlier account of its name left.
    pub fn settle_direct(&self) {
        self.direct.settle();
    }
}

/// What a direct line says: a `MSG` (its v1 line, formatted before the lock), or the text of
/// an `ME`, formatted for its one recipient.
pub(super) enum Said<'a> {
    Msg(Line),
    Me(&'a str),
}

impl Said<'_> {
    /// What the stream carries for it, from `from` to `to` (the nick as its holder spells
    /// it): the `MSG` line read back, or the action in its `ME` form.
    pub(super) fn reply(&self, from: &Nick, to: &Nick) -> Option<Reply> {
        match self {
            Said::Msg(line) => Reply::parse(line.trim_end_matches('\n')).ok(),
            Said::Me(text) => Some(Reply::Me {
                target: Target::Nick(to.clone()),
                from: from.clone(),
                text: (*text).to_owned(),
            }),
        }
    }

    /// The line `recipient` gets, with the id `id` if it has `CAP ids`. A `MSG` line without
    /// the id is the line itself, moved, not shared once more.
    fn line_for(self, sender: &Client, recipient: &Client, id: MessageId) -> Line {
        match self {
            Said::Msg(line) if recipient.caps.has(Capability::Ids) => with_id(id, &line),
            Said::Msg(line) => line,
            // A direct line has one recipient: only the form it gets is formatted.
            Said::Me(text) => {
                chat_line_for_one(&action(sender, recipient, text), id, recipient.caps)
                    .expect("an action has a form for everyone")
            }
        }
    }

    /// The line a client without capabilities gets, which history keeps.
    fn v1(&self, sender: &Client, recipient: &Client) -> Line {
        match self {
            Said::Msg(line) => Line::clone(line),
            Said::Me(text) => line_for_one(&action(sender, recipient, text), CapSet::NONE)
                .expect("an action has a form for everyone"),
        }
    }
}

fn action(sender: &Client, recipient: &Client, text: &str) -> Reply {
    Reply::Me {
        target: Target::Nick(recipient.nick.clone()),
        from: sender.nick.clone(),
        text: text.to_owned(),
    }
}

/// Whether `client` holds the account `account`: logged in to it, under its nick.
fn holds(client: &Client, account: &Nick) -> bool {
    client.identity == Identity::Account && client.nick.cmp_key(account).is_eq()
}

/// A line that waited for an account, as its recipient gets it: `MSG <from> <text>`.
fn v1_line(line: &Waiting) -> Line {
    line_written_by(|out| Reply::write_chat_line(ChatWord::Msg, &line.from, &line.text, out))
}
