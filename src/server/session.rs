//! One client's protocol state (registered or not, under which nick, with which
//! capabilities) and what each of its lines does.
//!
//! In scope: executing commands: replies go to the client's own outbox, deliveries and
//! announcements through the registry. Out of scope: sockets (a session never touches one),
//! framing (`line_buffer`), and the table itself (`registry`).

use std::cell::Cell;
use std::net::SocketAddr;

use crate::logging::Escaped;
use crate::server::accounts::Job;
use crate::server::admission::AddressGroup;
use crate::server::conn_id::ConnId;
use crate::server::line::{Forms, Line, line_written_by, shared_line};
use crate::server::login::{Login, Step, Verdict};
use crate::server::outbox::{Outbox, PushError, footprint};
use crate::server::registry::{Claimed, Guesser, Pending, Registry, WrongKeys};
use crate::server::rooms::Limits;
use chatd_proto::reason::SLOW_CONSUMER;
use chatd_proto::text::replace_refused;
use chatd_proto::{
    CapSet, ChatWord, Command, CommandLine, CommandWord, Frame, HistoryRequest, Nick, Page,
    ProtocolError, Reply, Target, redact_passwords,
};

/// What the connection does after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// The client said `QUIT`: it has left and `BYE` is queued. Stop reading; close once the
    /// queue is written.
    Quit,
    /// The client's own queue is full: it does not read what it is sent. Cut it off.
    SlowConsumer,
    /// An account command has a job for the verification threads ([`Session::take_job`]):
    /// read nothing more until its answer ([`Session::resume`]).
    Await,
    /// The account just logged in to is held by this other connection: end it, then give
    /// this one another turn, which claims the nick.
    Evict(ConnId),
    /// The answer is not here yet: stop; the answer queues the next turn.
    Wait,
}

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
    /// The job of the last [`Flow::Await`], until the connection takes it.
    job: Option<Job>,
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
            job: None,
        }
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
        match command {
            Command::Nick(wanted) => self.claim(wanted, registry),
            Command::Msg { to, text } => {
                let from = self.registered_nick();
                let line = line_written_by(|out| {
                    Reply::write_chat_line(ChatWord::Msg, &from, text, out);
                });
                let sent = registry.send_to(self.id, &to, line);
                self.finish(registry, sent)
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
            Command::Ping { token } => self.reply(&Reply::Pong {
                token: token.map(str::to_owned),
            }),
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
            Command::Register(password) => {
                let step = self.login.register(self.registered_nick(), password);
                self.account_step(step, registry)
            }
            Command::Login { nick, password } => {
                let step = self.login.login(nick, password, self.group);
                self.account_step(step, registry)
            }
            Command::Password { old, new } => {
                let nick = self.registered_nick();
                let step = self.login.change_password(&nick, old, new, self.group);
                self.account_step(step, registry)
            }
            Command::Unregister(password) => {
                let nick = self.registered_nick();
                let step = self.login.unregister(&nick, password, self.group);
                self.account_step(step, registry)
            }
            Command::RegisterRoom(room) => self.reply_error(&ProtocolError::BadArgument {
                command: CommandWord::Register,
                takes: "a password (registered rooms are not in this version yet)",
                got: room.to_string(),
            }),
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
    fn act(&self, target: Target, text: &str, registry: &Registry) -> Flow {
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
            Target::Nick(to) => {
                let sent = registry.act_to(self.id, &to, text);
                self.finish(registry, sent)
            }
            Target::Room(room) => {
                let sent = registry.act_in_room(self.id, &room, text);
                self.finish(registry, sent)
            }
        }
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
        match registry.claim(self.id, wanted.clone(), &self.outbox, self.caps) {
            // Cut off by another worker meanwhile: what it still sent is not executed.
            Ok((Claimed::Dropped, _)) => Flow::SlowConsumer,
            Ok((claimed, slow)) => {
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
                // The client's own `PRESENCE` line, with `CAP presence`.
                self.answered.set(self.answered.get() + slow.answered);
                registry.finish(slow);
                self.reply(&Reply::OkNick(wanted))
            }
            Err(error) => self.reply_error(&error),
        }
    }

    /// The job of the last [`Flow::Await`], for the verification threads.
    pub fn take_job(&mut self) -> Option<Job> {
        self.job.take()
    }

    /// What comes before any further line at the start of a turn: the answer to an account
    /// command (`verdict`), a login's second try at its nick once the connection holding it
    /// was ended, or, while the answer is not here yet, [`Flow::Wait`]. `None`: nothing is
    /// pending, read on.
    pub fn resume(&mut self, verdict: Option<Verdict>, registry: &Registry) -> Option<Flow> {
        if let Some(verdict) = verdict {
            let step = self.login.answered(verdict);
            return Some(self.account_step(step, registry));
        }
        if let Some(nick) = self.login.take_takeover() {
            return Some(self.claim_account(nick, registry));
        }
        self.login.is_awaiting().then_some(Flow::Wait)
    }

    fn account_step(&mut self, step: Step, registry: &Registry) -> Flow {
        match step {
            Step::Submit(job) => {
                self.job = Some(job);
                Flow::Await
            }
            Step::Reply(reply) => self.reply(&reply),
            Step::Refuse(error) => self.reply_error(&error),
            Step::Claim(nick) => self.claim_account(nick, registry),
        }
    }

    /// Takes the nick of the account just logged in to: as a first registration or a rename,
    /// the same announcements as `NICK`; a connection holding it is ended first
    /// ([`Flow::Evict`]).
    fn claim_account(&mut self, nick: Nick, registry: &Registry) -> Flow {
        if let Some(holder) = registry.holder(&nick).filter(|&holder| holder != self.id) {
            if self.login.held_elsewhere(nick.clone()) {
                return Flow::Evict(holder);
            }
            return self.reply_error(&ProtocolError::NickTaken(nick));
        }
        match registry.claim(self.id, nick.clone(), &self.outbox, self.caps) {
            Ok((Claimed::Dropped, _)) => Flow::SlowConsumer,
            Ok((_, slow)) => {
                log::info!("conn#{} {}: logged in as {nick}", self.id, self.peer);
                self.login.logged_in(&nick);
                self.nick = Some(nick.clone());
                self.answered.set(self.answered.get() + slow.answered);
                registry.finish(slow);
                self.reply(&Reply::OkLogin(nick))
            }
            // Taken between the look and the claim: by a login, since a guest cannot.
            Err(ProtocolError::NickTaken(_)) => self.claim_account(nick, registry),
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
mod tests {
    use super::*;
    use crate::server::outbox::DetachedQueue;
    use std::net::{Ipv4Addr, SocketAddrV4};

    struct Client {
        session: Session,
        queue: DetachedQueue,
    }

    impl Client {
        fn new(id: ConnId) -> Client {
            Client::with_limit(id, 1 << 20)
        }

        fn with_limit(id: ConnId, send_queue: usize) -> Client {
            let (outbox, queue) = Outbox::detached(send_queue);
            let peer = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40000));
            Client {
                session: Session::new(id, peer, outbox, 4096, Limits::default()),
                queue,
            }
        }

        fn send(&mut self, line: &str, registry: &Registry) -> Flow {
            self.session.on_frame(Frame::Line(line), registry)
        }

        fn received(&self) -> Vec<String> {
            self.queue
                .drain()
                .iter()
                .map(|l| l.trim_end().to_owned())
                .collect()
        }
    }

    #[test]
    fn registration_and_messages() {
        let registry = Registry::new();
        let mut alice = Client::new(1);
        let mut bob = Client::new(2);
        assert_eq!(alice.send("NICK alice", &registry), Flow::Continue);
        assert_eq!(bob.send("NICK bob", &registry), Flow::Continue);
        assert_eq!(alice.received(), ["OK NICK alice", "JOIN bob"]);
        assert_eq!(bob.received(), ["OK NICK bob"]);

        alice.send("ALL hi all", &registry);
        alice.send("MSG BOB psst", &registry);
        assert_eq!(bob.received(), ["ALL alice hi all", "MSG alice psst"]);
        assert!(alice.received().is_empty(), "no echo to the sender");

        bob.send("QUIT off", &registry);
        assert_eq!(bob.received(), ["BYE"]);
        assert_eq!(alice.received(), ["QUIT bob off"]);
    }

    #[test]
    fn before_nick_only_nick_ping_help_and_quit_work() {
        let registry = Registry::new();
        let mut client = Client::new(1);
        for line in ["MSG bob x", "ALL x", "WHO", "MSG", "MSG 1abc x", "all"] {
            client.send(line, &registry);
            let got = client.received();
            assert_eq!(got.len(), 1);
            assert!(got[0].starts_with("ERR NOT_REGISTERED "), "{line}: {got:?}");
        }
        client.send("PING 1", &registry);
        assert_eq!(client.received(), ["PONG 1"]);
        client.send("HELP", &registry);
        assert_eq!(
            client.received().last().map(String::as_str),
            Some("END HELP")
        );
        assert_eq!(client.send("QUIT", &registry), Flow::Quit);
        assert_eq!(client.received(), ["BYE"]);
    }

    #[test]
    fn frames_that_are_not_lines_get_their_errors() {
        let registry = Registry::new();
        let mut client = Client::new(1);
        client.session.on_frame(Frame::TooLong, &registry);
        client.session.on_frame(Frame::BadEncoding, &registry);
        let got = client.received();
        assert!(got[0].starts_with("ERR LINE_TOO_LONG "), "{got:?}");
        assert!(got[1].starts_with("ERR BAD_ENCODING "), "{got:?}");
    }

    #[test]
    fn a_cut_client_executes_nothing_more() {
        let registry = Registry::new();
        let mut alice = Client::new(1);
        alice.send("NICK alice", &registry);
        let mut bob = Client::with_limit(2, 150);
        bob.send("NICK bob", &registry);
        // Alice's worker finds bob's queue full and drops him; bob's own lines stop there.
        alice.send(&format!("ALL {}", "x".repeat(40)), &registry);
        assert_eq!(bob.send("NICK bob", &registry), Flow::SlowConsumer);
        assert_eq!(bob.send("ALL ghost", &registry), Flow::SlowConsumer);
        let seen = alice.received();
        assert_eq!(seen[0], "OK NICK alice");
        assert_eq!(seen[1], "JOIN bob");
        assert!(seen[2].starts_with("QUIT bob slow"), "{seen:?}");
        assert_eq!(seen.len(), 3, "{seen:?}");
    }

    #[test]
    fn issue_13_the_answers_to_a_clients_own_lines_are_counted_and_nothing_else() {
        let registry = Registry::new();
        let mut alice = Client::new(1);
        let mut bob = Client::new(2);
        alice.send("NICK alice", &registry);
        bob.send("NICK bob", &registry);
        for client in [&alice, &bob] {
            client.queue.drain();
            client.session.take_answered_bytes();
        }
        bob.send("JOIN #tea", &registry);
        bob.queue.drain();
        bob.session.take_answered_bytes();
        // JOIN's answer (OK JOIN, the member list, its end) is queued by the registry.
        for line in [
            "WHO",
            "HELP",
            "ROOMS",
            "PING with a token",
            "STATS",
            "FROB",
            "JOIN #tea",
            "PART #tea",
        ] {
            alice.send(line, &registry);
            let queued: usize = alice.queue.drain().iter().map(|line| line.len()).sum();
            assert!(queued > 0, "{line}");
            assert_eq!(alice.session.take_answered_bytes(), queued, "{line}");
            assert_eq!(alice.session.take_answered_bytes(), 0, "taken once");
        }
        // What others send it is their cost, not its own.
        bob.queue.drain();
        bob.session.take_answered_bytes();
        bob.send("ALL hello", &registry);
        bob.send("MSG alice hi", &registry);
        assert_eq!(alice.received(), ["ALL bob hello", "MSG bob hi"]);
        assert_eq!(alice.session.take_answered_bytes(), 0);
        assert_eq!(
            bob.session.take_answered_bytes(),
            0,
            "no answer to ALL or MSG"
        );
    }

    #[test]
    fn a_client_that_does_not_read_its_replies_is_a_slow_consumer() {
        let registry = Registry::new();
        let (outbox, _rx) = Outbox::detached(100);
        let peer = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1));
        let mut session = Session::new(1, peer, outbox, 4096, Limits::default());
        let flows: Vec<Flow> = (0..20)
            .map(|_| session.on_frame(Frame::Line("PING 123456789"), &registry))
            .collect();
        assert_eq!(flows.last(), Some(&Flow::SlowConsumer));
    }
}
