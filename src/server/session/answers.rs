//! What a session does around the work it waits for: account commands and their answers
//! (a reply, a refusal, a nick to claim, the direct messages that waited), and the cluster's
//! errands (a nick claimed across the nodes, a `PING` barrier) and their answers.
//!
//! Out of scope: the commands themselves (`session`), carrying the work out (`accounts`,
//! `cluster`), and queueing the turn that takes an answer (`turns`).

use chatd_proto::{ChatWord, Nick, ProtocolError, Reply, Target};

use crate::server::line::line_written_by;

use crate::server::accounts::Waiting;
use crate::server::cluster_link::{Answer, Errand};
use crate::server::login::{Login, Step};
use crate::server::registry::{Claimed, Identity, Registry};
use crate::server::session::Session;
use crate::server::session::flow::{Answered, Awaited, ClusterWait, Flow};

impl Session {
    /// Whether an answer is coming ([`Session::resume`] takes it).
    pub fn awaits_answer(&self) -> bool {
        self.login.is_awaiting() || self.cluster_wait.is_some()
    }

    /// The work of the last [`Flow::Await`], for the thread that does it.
    pub fn take_job(&mut self) -> Option<Awaited> {
        self.job.take()
    }

    /// Hands `errand` to the cluster, to go on with `wait` at its answer.
    pub(super) fn await_cluster(&mut self, wait: ClusterWait, errand: Errand) -> Flow {
        self.cluster_wait = Some(wait);
        self.job = Some(Awaited::Cluster(errand));
        Flow::Await
    }

    /// Goes on after the cluster's `answer`: claims the nick here, or answers the `PING`.
    pub(super) fn cluster_answered(&mut self, answer: Answer, registry: &Registry) -> Flow {
        match (self.cluster_wait.take(), answer) {
            (Some(ClusterWait::Claim(nick)), Answer::Claimed) => self.claim_here(nick, registry),
            (Some(ClusterWait::Claim(nick)), Answer::Taken) => {
                self.reply_error(&ProtocolError::NickTaken(nick))
            }
            (Some(ClusterWait::Claim(_)), _) => self.reply_error(&ProtocolError::Unavailable(
                "your nick was not claimed".to_owned(),
            )),
            (Some(ClusterWait::Login(nick, waiting)), Answer::Claimed) => {
                self.claim_account_here(nick, waiting, registry)
            }
            // As when a login elsewhere holds it: told, and what waited is delivered.
            (Some(ClusterWait::Login(nick, waiting)), answer) => {
                let refusal = match answer {
                    Answer::Taken => ProtocolError::NickTaken(nick.clone()),
                    _ => ProtocolError::Unavailable("your nick was not claimed".to_owned()),
                };
                match self.reply_error(&refusal) {
                    Flow::Continue => self.deliver_waiting(&nick, waiting, registry),
                    other => other,
                }
            }
            (Some(ClusterWait::Direct { to, text, action }), Answer::Taken) => {
                let sent = registry.direct_to_holder(self.id, &to, &text, action);
                self.finish(registry, Ok(sent))
            }
            (Some(ClusterWait::Direct { to, .. }), Answer::Free) => {
                self.reply_error(&ProtocolError::NoSuchNick(to.to_string()))
            }
            (Some(ClusterWait::Direct { .. }), _) => self.reply_error(&ProtocolError::Unavailable(
                "your line was not sent".to_owned(),
            )),
            // Its answers were queued where it was carried out; not in time: they come when
            // it is.
            (Some(ClusterWait::Room { joining }), _) => self.room_done(joining, registry),
            (Some(ClusterWait::CatchUp), _) => Flow::Continue,
            // A PONG comes even if the cluster did not answer in time: each line it did not
            // store was refused with its own `ERR UNAVAILABLE` before it.
            (Some(ClusterWait::Pong(token)), _) => self.reply(&Reply::Pong { token }),
            (None, _) => Flow::Continue,
        }
    }

    /// What comes before any further line at the start of a turn: the answer to an account
    /// command (`verdict`), a login's second try at its nick once the connection holding it
    /// was ended, or, while the answer is not here yet, [`Flow::Wait`]. `None`: nothing is
    /// pending, read on.
    pub fn resume(&mut self, answer: Option<Answered>, registry: &Registry) -> Option<Flow> {
        let verdict = match answer {
            Some(Answered::Cluster(answer)) => {
                return Some(self.cluster_answered(answer, registry));
            }
            Some(Answered::Account(verdict)) => Some(verdict),
            None if self.cluster_wait.is_some() => return Some(Flow::Wait),
            None => None,
        };
        if let Some(verdict) = verdict {
            let storing = self.storing.take();
            let step = self.login.answered(verdict);
            self.note_in_direct_history(&step, storing, registry);
            return Some(self.account_step(step, registry));
        }
        if let Some((nick, waiting)) = self.login.take_takeover() {
            return Some(self.claim_account(nick, waiting, registry));
        }
        self.login.is_awaiting().then_some(Flow::Wait)
    }

    /// What an answer changes in the direct messages kept for accounts, before it is told:
    /// a line kept for an offline account is kept in its sender's history too (so a
    /// `HISTORY` after the `OK STORED` finds it), and a deleted account's lines go.
    pub(super) fn note_in_direct_history(
        &self,
        step: &Step,
        storing: Option<(Nick, Waiting)>,
        registry: &Registry,
    ) {
        match (step, storing) {
            (Step::Reply(Reply::OkStored(_)), Some((to, line))) => {
                registry.keep_stored(self.id, &to, &line);
            }
            (Step::Reply(Reply::OkUnregister(account)), _) => registry.forget_direct(account),
            _ => {}
        }
    }

    /// Runs an account command on the login, then its step.
    pub(super) fn account_command(
        &mut self,
        registry: &Registry,
        command: impl FnOnce(&mut Login) -> Step,
    ) -> Flow {
        let step = command(&mut self.login);
        self.account_step(step, registry)
    }

    /// Takes `step`, which an account command or its answer made, and tells the registry
    /// what the login holds now if that changed.
    pub(super) fn account_step(&mut self, step: Step, registry: &Registry) -> Flow {
        let flow = self.take_step(step, registry);
        // `REGISTER` and `UNREGISTER` keep the nick and change what it is (a login's claim
        // changed it with the nick): the registry's copy follows before anything is kept for
        // the account, and before an `UNREGISTER` deletes it.
        let identity = if self.login.holds_account() {
            Identity::Account
        } else {
            Identity::Guest
        };
        if identity != self.identity && self.nick.is_some() {
            registry.set_identity(self.id, identity);
            self.identity = identity;
        }
        flow
    }

    pub(super) fn take_step(&mut self, step: Step, registry: &Registry) -> Flow {
        match step {
            Step::Submit(job) => {
                self.job = Some(Awaited::Account(job));
                Flow::Await
            }
            Step::Reply(reply) => {
                if let Reply::OkUnregister(nick) = &reply {
                    registry.unregister_rooms(nick);
                }
                self.reply(&reply)
            }
            Step::Refuse(error) => self.reply_error(&error),
            Step::Claim(nick, waiting) => self.claim_account(nick, waiting, registry),
        }
    }

    /// Takes the nick of the account just logged in to: as a first registration or a rename,
    /// the same announcements as `NICK`; a connection holding it is ended first
    /// ([`Flow::Evict`]). Then the direct messages that waited for the account.
    pub(super) fn claim_account(
        &mut self,
        nick: Nick,
        waiting: Vec<Waiting>,
        registry: &Registry,
    ) -> Flow {
        if let Some(holder) = registry.holder(&nick).filter(|&holder| holder != self.id) {
            return match self.login.held_elsewhere(nick.clone(), waiting) {
                Ok(()) => Flow::Evict(holder),
                Err(waiting) => match self.reply_error(&ProtocolError::NickTaken(nick.clone())) {
                    Flow::Continue => self.deliver_waiting(&nick, waiting, registry),
                    other => other,
                },
            };
        }
        if registry.cluster().is_some() {
            // Held by nobody here: the cluster's claim first, ending a holder of another
            // node as this server would end its own.
            let errand = Errand::TakeOver {
                nick: nick.clone(),
                conn: self.id,
            };
            return self.await_cluster(ClusterWait::Login(nick, waiting), errand);
        }
        self.claim_account_here(nick, waiting, registry)
    }

    /// Claims the account's nick in this server's table (the cluster's claim, if any, made).
    fn claim_account_here(
        &mut self,
        nick: Nick,
        waiting: Vec<Waiting>,
        registry: &Registry,
    ) -> Flow {
        let confirm = Reply::OkLogin(nick.clone());
        let claimed = registry.claim(
            self.id,
            nick.clone(),
            &self.outbox,
            self.caps,
            Identity::Account,
            &confirm,
        );
        match claimed {
            Ok((Claimed::Dropped, _)) => {
                registry.release_in_cluster(self.id, &nick);
                Flow::SlowConsumer
            }
            Ok((claimed, slow)) => {
                log::info!("conn#{} {}: logged in as {nick}", self.id, self.peer);
                self.identity = Identity::Account;
                self.login.logged_in(&nick);
                self.nick = Some(nick.clone());
                self.answered.set(self.answered.get() + slow.answered);
                registry.finish(slow);
                // Queued with the claim when the nick changed hands.
                if claimed == Claimed::Unchanged {
                    let confirmed = self.reply(&confirm);
                    if confirmed != Flow::Continue {
                        return confirmed;
                    }
                }
                self.deliver_waiting(&nick, waiting, registry)
            }
            // Taken between the look and the claim: by a login, since a guest cannot.
            Err(ProtocolError::NickTaken(_)) => {
                registry.release_in_cluster(self.id, &nick);
                self.claim_account(nick, waiting, registry)
            }
            Err(error) => {
                registry.release_in_cluster(self.id, &nick);
                self.reply_error(&error)
            }
        }
    }

    /// The direct messages that waited for the account: for each sender, in the order of
    /// its first line, its `HIST` lines then `END HISTORY <sender> <n>`. Kept in the
    /// account's direct history first, if the client holds it (not when its takeover of the
    /// nick was given up).
    pub(super) fn deliver_waiting(
        &self,
        account: &Nick,
        waiting: Vec<Waiting>,
        registry: &Registry,
    ) -> Flow {
        registry.keep_delivered(self.id, account, &waiting);
        let mut senders: Vec<Nick> = Vec::new();
        for line in &waiting {
            if !senders.iter().any(|sender| sender.key() == line.from.key()) {
                senders.push(line.from.clone());
            }
        }
        for sender in senders {
            let target = Target::Nick(sender.clone());
            let mut count = 0;
            for line in waiting
                .iter()
                .filter(|line| line.from.key() == sender.key())
            {
                let hist = line_written_by(|out| {
                    let mut v1 = String::new();
                    Reply::write_chat_line(ChatWord::Msg, &line.from, &line.text, &mut v1);
                    Reply::write_hist_line(&target, line.id, line.time, &v1, out);
                });
                if !matches!(self.reply_line(hist), Flow::Continue) {
                    return Flow::SlowConsumer;
                }
                count += 1;
            }
            let end = self.reply(&Reply::EndHistory { target, count });
            if !matches!(end, Flow::Continue) {
                return end;
            }
        }
        Flow::Continue
    }
}
