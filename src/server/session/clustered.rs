//! A session's room commands on a node of a cluster (`--cluster`, issue 19): they go to the
//! stream, and every node carries each out in the stream's order
//! (`registry::clustered_rooms`), its own node answering the sender from there.
//!
//! In scope: what is decided before a command goes out (a key guess the throttle refuses,
//! the client an `INVITE` names, a guest's `REGISTER #room`), handing it over, and waiting
//! for a change (`JOIN`, `PART`, `TOPIC`, `KEY`, `PRIVATE`, `INVITE`, `REGISTER #room`) to
//! be carried out here, as a `PING` waits, so that
//! the client's next command finds it made. A room line (`MSG #room`, `ME #room`) does not
//! wait, as a lobby line does not, unless the cluster is congested: then any chat line's
//! sender waits for it to catch up. Out of scope: the rules and the deliveries
//! (`registry`).

use chatd_proto::text::replace_refused;
use chatd_proto::{Command, ProtocolError, Target};

use crate::server::cluster_link::{Errand, Request};
use crate::server::registry::{Guesser, Identity, Registry};
use crate::server::session::Session;
use crate::server::session::flow::{ClusterWait, Flow};

impl Session {
    /// Hands `command` to the cluster if it is a room command and this server a node of
    /// one; `None` otherwise, for the single server's way.
    pub(super) fn room_in_cluster(
        &mut self,
        command: &Command<'_>,
        registry: &Registry,
    ) -> Option<Flow> {
        let link = registry.cluster()?;
        let change = match command {
            Command::MsgRoom { .. }
            | Command::Me {
                target: Target::Room(_),
                ..
            } => false,
            Command::Join { .. }
            | Command::Part { .. }
            | Command::Topic { .. }
            | Command::Key { .. }
            | Command::Private { .. }
            | Command::Invite { .. }
            | Command::RegisterRoom(_) => true,
            _ => return None,
        };
        let mut invitee = None;
        let spelled = match command {
            // A line goes out only from a member, so that the stream holds only the lines
            // the room's members got (its history reads them back).
            Command::MsgRoom { room, .. }
            | Command::Me {
                target: Target::Room(room),
                ..
            } => {
                if let Err(error) = registry.room_member(self.id, room) {
                    return Some(self.reply_error(&error));
                }
                command.to_string()
            }
            Command::Join { room, .. } => {
                // The throttle is this node's to apply: the command goes out only if a guess
                // is allowed (every node then takes the key as the rules say).
                let guesser = Guesser {
                    group: self.group,
                    wrong_keys: &mut self.wrong_keys,
                };
                if let Some(refused) = registry.key_guess_refused(self.id, room, guesser) {
                    return Some(self.reply_error(&refused));
                }
                command.to_string()
            }
            Command::Part { room, reason } => {
                // Leaving is never refused: what the text rule refuses is replaced instead.
                let reason = reason.map(replace_refused);
                Command::Part {
                    room: room.clone(),
                    reason: reason.as_deref(),
                }
                .to_string()
            }
            // Only an account's holder registers a room, as on a single server: checked
            // here, where the client's login is known, before anything of the room.
            Command::RegisterRoom(_) if self.identity != Identity::Account => {
                return Some(self.reply_error(&ProtocolError::LoginRequired));
            }
            Command::Invite { nick, .. } => {
                // Found here, as this node knows the nicks; nobody: the command still goes
                // out, so that a non-member learns it is not one before anything else.
                invitee = registry.cluster_client(nick);
                command.to_string()
            }
            _ => command.to_string(),
        };
        let request = Request::Room {
            nick: self.registered_nick(),
            command: spelled,
            invitee,
            from: self.id,
            outbox: self.outbox.clone(),
        };
        if link.send(request).is_err() {
            let refusal = ProtocolError::Unavailable("your line was not sent".to_owned());
            return Some(self.reply_error(&refusal));
        }
        if !change {
            // Its sender may wait for the cluster to catch up (`on_line`).
            return Some(Flow::Continue);
        }
        // The barrier passes once this change, and every line before it, is carried out here.
        self.published = false;
        let joining = matches!(command, Command::Join { .. });
        Some(self.await_cluster(ClusterWait::Room { joining }, Errand::Barrier))
    }

    /// After a chat line went to the cluster: while the cluster's requests pile up, the
    /// sender reads nothing more until this node has caught up with what it sent (a silent
    /// barrier), so a burst slows its senders down instead of being refused.
    pub(super) fn keep_pace(&mut self, registry: &Registry) -> Flow {
        if !registry.cluster().is_some_and(|link| link.is_congested()) {
            return Flow::Continue;
        }
        self.published = false;
        self.await_cluster(ClusterWait::CatchUp, Errand::Barrier)
    }

    /// After a room change was carried out here: a `JOIN` whose key was wrong counts against
    /// the client's guesses.
    pub(super) fn room_done(&mut self, joining: bool, registry: &Registry) -> Flow {
        if joining && registry.took_wrong_key(self.id) {
            registry.count_wrong_key(Guesser {
                group: self.group,
                wrong_keys: &mut self.wrong_keys,
            });
        }
        Flow::Continue
    }
}
