//! One client's protocol state (registered or not, under which nick, with which
//! capabilities) and what each of its lines does.
//!
//! In scope: executing commands: replies go to the client's own outbox, deliveries and
//! announcements through the registry. Out of scope: sockets (a session never touches one),
//! framing (`line_buffer`), and the table itself (`registry`).

use std::cell::Cell;
use std::net::SocketAddr;

use crate::logging::Escaped;
use crate::server::accounts::Waiting;
use crate::server::admission::AddressGroup;
use crate::server::cluster_link::Errand;
use crate::server::conn_id::ConnId;
use crate::server::history::now;
use crate::server::line::{Forms, Line, line_written_by, shared_line};
use crate::server::login::Login;
use crate::server::outbox::{Outbox, PushError, footprint};
use crate::server::registry::{Claimed, Guesser, Identity, Pending, Registry, WrongKeys};
use crate::server::rooms::Limits;
use chatd_proto::reason::SLOW_CONSUMER;
use chatd_proto::text::replace_refused;
use chatd_proto::{
    CapSet, ChatWord, Command, CommandLine, Frame, HistoryRequest, Nick, Page, ProtocolError,
    Reply, Target, redact_passwords,
};
use flow::ClusterWait;

mod answers;
mod clustered;
mod flow;

pub use flow::{Answered, Awaited, Flow};

pub struct Session {
    id: ConnId,
    peer: SocketAddr,
    /// What the per-address limits count the peer by (the key-guess throttle).
    group: AddressGroup,
    /// This connection's wrong room keys, for the key-guess throttle.
    wrong_keys: WrongKeys,
    /// `None` until the first successful `NICK`, and again after `QUIT`.
    nick: Option<Nick>,
    /// What `CAP` turned on, before registration too; the registry keeps a copy for
    /// deliveries once the client is registered.
    caps: CapSet,
    outbox: Outbox,
    /// Bytes queued for the client in answer to its own lines since the connection last
    /// asked (`take_answered_bytes`): flood control charges them, so a command costs what it
    /// produces. A `Cell`: replies are queued from `&self` methods.
    answered: Cell<usize>,
    max_line: usize,
    rooms: Limits,
    /// Guest or logged in, and an account command in flight.
    login: Login,
    /// What the registry was last told of this client's login (`Registry::claim`,
    /// `Registry::set_identity`).
    identity: Identity,
    /// The work of the last [`Flow::Await`], until the connection takes it.
    job: Option<Awaited>,
    /// What an errand to the cluster is for, until its answer comes.
    cluster_wait: Option<ClusterWait>,
    /// Whether a chat line went to the cluster since the last barrier: only then does a
    /// `PING` wait for the cluster (`--cluster`).
    published: bool,
    /// A line to an offline account on its way to its mailbox, sent by a logged-in client:
    /// kept in the sender's direct history too once stored (`OK STORED`).
    storing: Option<(Nick, Waiting)>,
    /// Whether password commands are taken (`set_passwords_in_clear`).
    passwords_safe: bool,
}

impl Session {
    pub fn new(
        id: ConnId,
        peer: SocketAddr,
        outbox: Outbox,
        max_line: usize,
        rooms: Limits,
    ) -> Session {
        Session {
            id,
            peer,
            group: AddressGroup::of(peer.ip()),
            wrong_keys: WrongKeys::default(),
            nick: None,
            caps: CapSet::NONE,
            outbox,
            answered: Cell::new(0),
            max_line,
            rooms,
            login: Login::default(),
            identity: Identity::Guest,
            job: None,
            cluster_wait: None,
            published: false,
            storing: None,
            passwords_safe: peer.ip().is_loopback(),
        }
    }

    /// Password commands get `TLS_REQUIRED` unless `encrypted`, from loopback, or `allowed`.
    pub fn set_passwords_in_clear(&mut self, encrypted: bool, allowed: bool) {
        self.passwords_safe = encrypted || allowed || self.peer.ip().is_loopback();
    }

    /// Queues the greeting.
    pub fn greet(&self) -> Flow {
        self.reply(&Reply::hello())
    }

    /// Executes one frame from the client.
    pub fn on_frame(&mut self, frame: Frame<'_>, registry: &Registry) -> Flow {
        if self.outbox.is_cut() {
            // Dropped as a slow consumer by another worker: the rest of what it sent is not
            // executed (a NICK would register it again).
            return Flow::SlowConsumer;
        }
        match frame {
            Frame::Line(line) => self.on_line(line, registry),
            Frame::TooLong => self.reply_error(&ProtocolError::LineTooLong { max: self.max_line }),
            Frame::BadEncoding => self.reply_error(&ProtocolError::BadEncoding),
        }
    }

    fn on_line(&mut self, line: &str, registry: &Registry) -> Flow {
        // Never a password, not even at trace level.
        log::trace!("conn#{} <- {}", self.id, Escaped(&redact_passwords(line)));
        let line = match CommandLine::read(line) {
            Ok(Some(line)) => line,
            Ok(None) => return Flow::Continue,
            Err(error) => return self.reply_error(&error),
        };
        // Judged on the command word alone: before registration this error comes first,
        // whatever is wrong with the arguments.
        if self.nick.is_none() && line.needs_registration() {
            return self.reply_error(&ProtocolError::NotRegistered);
        }
        let command = match line.parse() {
            Ok(command) => command,
            Err(error) => return self.reply_error(&error),
        };
        let sends_line = matches!(
            command,
            Command::All { .. }
                | Command::Msg { .. }
                | Command::Me { .. }
                | Command::MsgRoom { .. }
        );
        if sends_line {
            self.published = true;
        }
        let flow = match self.room_in_cluster(&command, registry) {
            Some(flow) => flow,
            None => self.execute(command, registry),
        };
        // A chat line that went to a node's cluster may make its sender wait for it.
        if sends_line && flow == Flow::Continue {
            return self.keep_pace(registry);
        }
        flow
    }

    /// Carries out one command on this server (a node's room commands go to the cluster
    /// before: `room_in_cluster`).
    fn execute(&mut self, command: Command<'_>, registry: &Registry) -> Flow {
        match command {
            Command::Nick(wanted) => self.claim(wanted, registry),
            Command::Msg { to, text } => {
                let from = self.registered_nick();
                let line = line_written_by(|out| {
                    Reply::write_chat_line(ChatWord::Msg, &from, text, out);
                });
                match registry.send_to(self.id, &to, line) {
                    // Not online, but an account: kept for its next login.
                    Err(ProtocolError::NoSuchNick(_))
                        if registry.accounts().is_registered(&to.key()) =>
                    {
                        let waiting = Waiting {
                            id: registry.next_id(),
                            time: now(),
                            from,
                            text: text.to_owned(),
                        };
                        // A guest's side is never kept: no copy for it.
                        if self.login.holds_account() {
                            self.storing = Some((to.clone(), waiting.clone()));
                        }
                        self.account_command(registry, |login| login.keep(to, waiting))
                    }
                    Err(ProtocolError::NoSuchNick(_)) if registry.cluster().is_some() => {
                        self.look_up_in_cluster(to, text, false)
                    }
                    sent => self.finish(registry, sent),
                }
            }
            Command::All { text } => {
                let from = self.registered_nick();
                let line = line_written_by(|out| {
                    Reply::write_chat_line(ChatWord::All, &from, text, out);
                });
                registry.finish(registry.broadcast(self.id, &line));
                Flow::Continue
            }
            Command::Who => self.reply_all(Reply::who_list(registry.nicks())),
            Command::Ping { token } => {
                let token = token.map(str::to_owned);
                if self.published && registry.cluster().is_some() {
                    self.published = false;
                    return self.await_cluster(ClusterWait::Pong(token), Errand::Barrier);
                }
                self.reply(&Reply::Pong { token })
            }
            Command::Quit { reason } => {
                // Leaving is never refused: what the text rule refuses is replaced instead.
                self.leave(reason.map(replace_refused).as_deref(), registry);
                match self.reply(&Reply::Bye { reason: None }) {
                    Flow::Continue => Flow::Quit,
                    other => other,
                }
            }
            Command::Help => self.reply_all(Reply::help()),
            Command::HelpFor(word) => self.reply_all(Reply::help_for(word)),
            Command::Cap(cap) => {
                self.caps = self.caps.with(cap);
                if self.nick.is_some() {
                    let told = registry.set_caps(self.id, self.caps);
                    self.answered.set(self.answered.get() + told.answered);
                    registry.finish(told);
                }
                self.reply(&Reply::OkCap(cap))
            }
            Command::Me { target, text } => self.act(target, text, registry),
            Command::Away { text } => {
                registry.set_away(self.id, text);
                self.reply(&Reply::OkAway { on: text.is_some() })
            }
            // Any line answers the server's PING (the connection notes the activity).
            Command::Pong { .. } => Flow::Continue,
            Command::Join { room, key } => {
                let guesser = Guesser {
                    group: self.group,
                    wrong_keys: &mut self.wrong_keys,
                };
                let joined = registry.join_room(self.id, &room, key, self.rooms, guesser);
                self.finish(registry, joined)
            }
            Command::Part { room, reason } => {
                let reason = reason.map(replace_refused);
                let parted = registry.part_room(self.id, &room, reason.as_deref());
                self.finish(registry, parted)
            }
            Command::MsgRoom { room, text } => {
                let sent = registry.send_to_room(self.id, &room, text);
                self.finish(registry, sent)
            }
            Command::WhoRoom(room) => match registry.room_who(self.id, &room) {
                Ok(replies) => self.reply_all(replies),
                Err(error) => self.reply_error(&error),
            },
            Command::Rooms => self.reply_all(registry.room_list(self.id)),
            Command::History(request) => self.history(&request, registry),
            // Charged to flood control like any answer, so asking often costs its bytes.
            Command::Stats => self.reply_all(Reply::stats(registry.load().figures())),
            Command::Topic { room, text } => {
                let set = registry.set_topic(self.id, &room, text, self.rooms.topic);
                self.finish(registry, set)
            }
            Command::TopicQuery(room) => match registry.topic(self.id, &room) {
                Ok(topic) => self.reply(&topic),
                Err(error) => self.reply_error(&error),
            },
            Command::Key { room, key } => {
                match registry.set_room_key(self.id, &room, key, self.rooms.key) {
                    Ok(room) => self.reply(&Reply::OkKey(room)),
                    Err(error) => self.reply_error(&error),
                }
            }
            Command::Private { room, on } => match registry.set_room_private(self.id, &room, on) {
                Ok(room) => self.reply(&Reply::OkPrivate { room, on }),
                Err(error) => self.reply_error(&error),
            },
            command if command.carries_password() && !self.passwords_safe => {
                self.reply_error(&ProtocolError::TlsRequired)
            }
            Command::Register(password) => {
                // Lines kept for an earlier account of this name reach the disk before this
                // one is made, which clears them there.
                registry.settle_direct();
                let nick = self.registered_nick();
                self.account_command(registry, |login| login.register(nick, password))
            }
            Command::Login { nick, password } => {
                // What waited for the account comes with the answer, as much as half the
                // queue holds (as for a `HISTORY` page); the rest at the next login.
                let (budget, group) = (self.outbox.limit() / 2, self.group);
                self.account_command(registry, |login| login.login(nick, password, group, budget))
            }
            Command::Password { old, new } => {
                let (nick, group) = (self.registered_nick(), self.group);
                self.account_command(registry, |login| {
                    login.change_password(&nick, old, new, group)
                })
            }
            Command::Unregister(password) => {
                let (nick, group) = (self.registered_nick(), self.group);
                self.account_command(registry, |login| login.unregister(&nick, password, group))
            }
            Command::RegisterRoom(room) => match registry.register_room(self.id, &room) {
                Ok(room) => self.reply(&Reply::OkRegisterRoom(room)),
                Err(error) => self.reply_error(&error),
            },
            Command::Upload { target, size, name } => {
                match registry.upload(self.id, &target, size, name) {
                    Ok(url) => self.reply(&Reply::OkUpload { url }),
                    Err(error) => self.reply_error(&error),
                }
            }
            Command::Invite { nick, room } => match registry.invite(self.id, &nick, &room) {
                Ok((room, pending)) => {
                    registry.finish(pending);
                    self.reply(&Reply::OkInvite { nick, room })
                }
                Err(error) => self.reply_error(&error),
            },
        }
    }

    /// `ME <target> <text>`: delivered as `ALL`, `MSG <nick>` and `MSG #room` are, each
    /// recipient getting the `ME` line or the `/me` message its capabilities call for.
    fn act(&mut self, target: Target, text: &str, registry: &Registry) -> Flow {
        match target {
            Target::Lobby => {
                // Both forms formatted before the lock, as an `ALL` line is.
                let forms = Forms::new(&Reply::Me {
                    target: Target::Lobby,
                    from: self.registered_nick(),
                    text: text.to_owned(),
                });
                registry.finish(registry.broadcast(self.id, &forms));
                Flow::Continue
            }
            Target::Nick(to) => match registry.act_to(self.id, &to, text) {
                Err(ProtocolError::NoSuchNick(_)) if registry.cluster().is_some() => {
                    self.look_up_in_cluster(to, text, true)
                }
                sent => self.finish(registry, sent),
            },
            Target::Room(room) => {
                let sent = registry.act_in_room(self.id, &room, text);
                self.finish(registry, sent)
            }
        }
    }

    /// A direct line to `to`, whom this node has not heard of: the cluster is asked whether
    /// someone holds the nick (its registration may still be on its way to this node).
    fn look_up_in_cluster(&mut self, to: Nick, text: &str, action: bool) -> Flow {
        let wait = ClusterWait::Direct {
            to: to.clone(),
            text: text.to_owned(),
            action,
        };
        self.await_cluster(wait, Errand::Lookup { nick: to })
    }

    /// Runs what a command left for after the table lock, or replies its error.
    fn finish(&self, registry: &Registry, done: Result<Pending, ProtocolError>) -> Flow {
        match done {
            Ok(pending) => {
                self.answered.set(self.answered.get() + pending.answered);
                registry.finish(pending);
                Flow::Continue
            }
            Err(error) => self.reply_error(&error),
        }
    }

    fn claim(&mut self, wanted: Nick, registry: &Registry) -> Flow {
        let key = wanted.key();
        if !self
            .login
            .may_claim(&key, registry.accounts().is_registered(&key))
        {
            return self.reply_error(&ProtocolError::NickRegistered(wanted));
        }
        if registry.cluster().is_some() && self.nick.as_ref() != Some(&wanted) {
            let conn = self.id;
            let errand = Errand::Claim {
                nick: wanted.clone(),
                conn,
            };
            return self.await_cluster(ClusterWait::Claim(wanted), errand);
        }
        self.claim_here(wanted, registry)
    }

    /// Claims `wanted` in this server's table; on a node of a cluster, once the cluster's
    /// claim is made (and given back if this one fails).
    fn claim_here(&mut self, wanted: Nick, registry: &Registry) -> Flow {
        let key = wanted.key();
        // A rename away from the account's nick leaves the account, in the same critical
        // section as the rename.
        let identity = if self.login.is_account(&key) {
            Identity::Account
        } else {
            Identity::Guest
        };
        let confirm = Reply::OkNick(wanted.clone());
        let claimed = registry.claim(
            self.id,
            wanted.clone(),
            &self.outbox,
            self.caps,
            identity,
            &confirm,
        );
        if matches!(claimed, Ok((Claimed::Dropped, _)) | Err(_)) {
            registry.release_in_cluster(self.id, &wanted);
        }
        match claimed {
            // Cut off by another worker meanwhile: what it still sent is not executed.
            Ok((Claimed::Dropped, _)) => Flow::SlowConsumer,
            Ok((claimed, slow)) => {
                self.identity = identity;
                match &claimed {
                    Claimed::Joined => {
                        log::debug!("conn#{} {}: registered {wanted}", self.id, self.peer);
                    }
                    Claimed::Renamed { old } => {
                        log::debug!("conn#{} {}: renamed {old} to {wanted}", self.id, self.peer);
                    }
                    Claimed::Unchanged | Claimed::Dropped => {}
                }
                self.login.renamed(&key);
                self.nick = Some(wanted.clone());
                // The client's own `PRESENCE` line, with `CAP presence`, and its `OK NICK`
                // unless nothing changed.
                self.answered.set(self.answered.get() + slow.answered);
                registry.finish(slow);
                if claimed == Claimed::Unchanged {
                    return self.reply(&confirm);
                }
                Flow::Continue
            }
            Err(error) => self.reply_error(&error),
        }
    }

    /// Leaves the client table, telling the others `QUIT <nick> [reason]`. Safe to call more
    /// than once, and for a client that never registered (nobody is told).
    pub fn leave(&mut self, reason: Option<&str>, registry: &Registry) {
        // Cut off as a slow consumer by another worker: it leaves as one even when its own
        // reader, seeing the cut socket, gets here first with "connection closed".
        let reason = if self.outbox.is_cut() {
            Some(SLOW_CONSUMER)
        } else {
            reason
        };
        let (left, slow) = registry.leave(self.id, reason);
        if let Some(nick) = left {
            log::debug!(
                "conn#{} {}: {nick} quit ({})",
                self.id,
                self.peer,
                Escaped(reason.unwrap_or("no reason"))
            );
        }
        self.nick = None;
        registry.finish(slow);
    }

    /// The last line before a server-initiated close (shutdown). Best effort: a client whose
    /// queue is full does not get it.
    pub fn say_goodbye(&self, reason: &str) {
        let _ = self.outbox.send_reply(shared_line(&Reply::Bye {
            reason: Some(reason.to_owned()),
        }));
    }

    /// Asks a silent client for a sign of life (`--idle-timeout`).
    pub fn ping(&self) {
        let _ = self.outbox.send_reply(shared_line(&Reply::Ping {
            token: Some("idle".to_owned()),
        }));
    }

    /// The bytes queued for the client in answer to its own lines since the last call.
    pub fn take_answered_bytes(&self) -> usize {
        self.answered.take()
    }

    /// Whether the client has a nick.
    pub fn is_registered(&self) -> bool {
        self.nick.is_some()
    }

    /// The client's own outbox, to cut the connection when it ends badly.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The sender's nick, for commands that `on_line` only lets through once registered.
    fn registered_nick(&self) -> Nick {
        self.nick
            .clone()
            .expect("on_line refuses the commands that need a nick before NICK")
    }

    /// `HISTORY`: a `HIST` line per line kept, formatted from the shared lines outside every
    /// lock, then `END HISTORY`; through the reply path, so flood control charges them as it
    /// does `WHO`.
    ///
    /// A page of long lines could be larger than the client's queue (1000 lines of 4 KB are
    /// 4 MB; `--send-queue` is 1 MiB by default), and would cut it off as a slow consumer for
    /// asking. So an answer holds at most half the queue's bytes, always at least one line,
    /// keeping the lines nearest to where the page starts (the latest, or those just before
    /// or after the id); `END HISTORY <n>` says how many came, and the client pages on.
    fn history(&self, request: &HistoryRequest, registry: &Registry) -> Flow {
        let count = usize::from(request.count);
        let (target, entries) =
            match registry.history(self.id, &request.target, count, request.page) {
                Ok(found) => found,
                Err(error) => return self.reply_error(&error),
            };
        let mut lines: Vec<Line> = entries
            .iter()
            .map(|entry| {
                line_written_by(|out| {
                    Reply::write_hist_line(&target, entry.id, entry.time, &entry.line, out);
                })
            })
            .collect();
        let from_the_start = matches!(request.page, Page::After(_));
        let budget = self.outbox.limit() / 2;
        if from_the_start {
            lines.truncate(fitting_lines(lines.iter(), budget));
        } else {
            let fitting = fitting_lines(lines.iter().rev(), budget);
            lines.drain(..lines.len() - fitting);
        }
        let sent = lines.len();
        for line in lines {
            if self.reply_line(line) != Flow::Continue {
                return Flow::SlowConsumer;
            }
        }
        self.reply(&Reply::EndHistory {
            target,
            count: sent,
        })
    }

    fn reply_error(&self, error: &ProtocolError) -> Flow {
        log::trace!("conn#{} -> ERR {}", self.id, error.code());
        self.reply(&Reply::from(error))
    }

    fn reply_all(&self, replies: Vec<Reply>) -> Flow {
        for reply in &replies {
            if self.reply(reply) != Flow::Continue {
                return Flow::SlowConsumer;
            }
        }
        Flow::Continue
    }

    fn reply(&self, reply: &Reply) -> Flow {
        self.reply_line(shared_line(reply))
    }

    fn reply_line(&self, line: Line) -> Flow {
        let len = line.len();
        match self.outbox.send_reply(line) {
            Ok(()) => {
                self.answered.set(self.answered.get() + len);
                Flow::Continue
            }
            Err(PushError::Full) => Flow::SlowConsumer,
            // The writer already stopped: the peer is gone and the reader will see it.
            Err(PushError::Closed) => Flow::Continue,
        }
    }
}

/// How many of `lines`, in the order given, fit in `budget` bytes of queue: at least one, if
/// there is one.
fn fitting_lines<'a>(lines: impl Iterator<Item = &'a Line>, budget: usize) -> usize {
    let mut used = 0;
    let mut fitting = 0;
    for line in lines {
        used += footprint(line);
        if fitting > 0 && used > budget {
            break;
        }
        fitting += 1;
    }
    fitting
}

#[cfg(test)]
mod tests;
