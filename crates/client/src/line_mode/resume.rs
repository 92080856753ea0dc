//! `--plain`'s resume after a reconnect (issue 15): the last id printed per conversation
//! (the lobby, each room, and each person we had direct messages with), and the
//! `HISTORY <target> AFTER <id>` pages asked on a new connection, whose lines are printed as
//! the server's `HIST` lines, less those printed live meanwhile; a note counts them. A
//! server without ids or `HISTORY` resumes without them, quietly.
//!
//! Direct conversations (issue 16) resume once logged in again and the messages that waited
//! for the login are in ([`Resume::ask_direct`]): those come first, printed as they come
//! (`HIST` blocks), and are in the account's history too, with the same ids, so they are
//! not printed again; the resume is after the last id printed before the connection was
//! lost, noted when it started, so that they do not move it past the lines missed before
//! them. An `ERR LOGIN_REQUIRED` answering one (the account was deleted meanwhile) is quiet.
//!
//! Out of scope: when to resume (`line_mode`: once registered again, on `OK JOIN` of a room
//! joined again, and once the login's barrier is answered) and sending: [`Resume`] gives the
//! `HISTORY` lines for the caller to send.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Write};

use chatd_proto::{
    Command, ErrorCode, HistoryRequest, MAX_HISTORY, MessageId, Nick, NickKey, Page, Reply,
    RoomKey, Target as To,
};

use crate::printable::put_line;

/// A `HISTORY` sent after a reconnect and not answered yet.
struct Resuming {
    target: To,
    /// The id of the last `HIST` line of this page: the next page is after it.
    last: Option<MessageId>,
    /// Missed lines printed so far, over all pages.
    printed: usize,
}

/// A conversation whose history the line mode resumes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Conversation {
    Lobby,
    Room(RoomKey),
    /// Our direct messages with a person.
    Direct(NickKey),
}

fn conversation(target: &To) -> Conversation {
    match target {
        To::Lobby => Conversation::Lobby,
        To::Room(room) => Conversation::Room(room.key()),
        To::Nick(nick) => Conversation::Direct(nick.key()),
    }
}

/// The conversation a chat line with an id belongs to, if its history is kept, and for a
/// direct one the person.
fn conversation_of(reply: &Reply) -> Option<(Conversation, Option<&Nick>)> {
    match reply {
        Reply::All { .. } => Some((Conversation::Lobby, None)),
        Reply::RoomMsg { room, .. } => Some((Conversation::Room(room.key()), None)),
        Reply::Msg { from, .. }
        | Reply::Me {
            target: To::Nick(_),
            from,
            ..
        } => Some((Conversation::Direct(from.key()), Some(from))),
        Reply::Me { target, .. } => Some((conversation(target), None)),
        // A message that waited for our login.
        Reply::Hist {
            target: To::Nick(from),
            ..
        } => Some((Conversation::Direct(from.key()), Some(from))),
        _ => None,
    }
}

/// What a server line was to the resume.
pub(super) enum Taken {
    /// Not an answer to our `HISTORY` lines.
    No,
    /// An answer, printed or noted as it should be.
    Yes,
    /// An answer whose page was full: this line asks for the next one.
    More(Command<'static>),
}

/// The ids printed and the history asked, across connections.
#[derive(Default)]
pub(super) struct Resume {
    /// The last id printed per conversation.
    last_ids: HashMap<Conversation, MessageId>,
    /// `last_ids` when this connection started: history resumes after them (lines printed
    /// since, like the messages that waited for the login, came after the ones missed).
    resume_after: HashMap<Conversation, MessageId>,
    /// The people we had direct messages with, as last spelled: their conversations resume.
    peers: HashMap<NickKey, Nick>,
    /// The newest id printed anywhere.
    newest: Option<MessageId>,
    /// `newest` when this connection started: where a conversation that never printed an id
    /// resumes (the server's ids come from one counter, so the lines after it were missed).
    resume_from: Option<MessageId>,
    /// Ids printed live on this connection: a missed line among them is not printed again.
    printed: HashSet<MessageId>,
    /// `HISTORY` lines sent on this connection and not answered yet, oldest first.
    resuming: VecDeque<Resuming>,
    /// The server refused `HISTORY` on this connection (it is older than it).
    no_history: bool,
}

impl Resume {
    /// A new connection: nothing asked on the old one will be answered.
    pub(super) fn new_connection(&mut self) {
        self.printed.clear();
        self.resuming.clear();
        self.no_history = false;
        self.resume_from = self.newest;
        self.resume_after.clone_from(&self.last_ids);
    }

    /// A chat line printed live with its id (a message that waited for our login too).
    pub(super) fn printed_live(&mut self, id: MessageId, reply: &Reply) {
        self.printed.insert(id);
        if let Some((conversation, peer)) = conversation_of(reply) {
            if let Some(peer) = peer {
                self.wrote_with(peer);
            }
            self.seen(conversation, id);
        }
    }

    /// We sent `peer` a direct message: that conversation resumes too.
    pub(super) fn wrote_with(&mut self, peer: &Nick) {
        self.peers.insert(peer.key(), peer.clone());
    }

    fn seen(&mut self, conversation: Conversation, id: MessageId) {
        let last = self.last_ids.entry(conversation).or_insert(id);
        *last = (*last).max(id);
        self.newest = self.newest.max(Some(id));
    }

    /// After a reconnect: the line asking what `target` missed, after the last id printed
    /// there; none when the server gives no ids (`ids` off) or refused `HISTORY`.
    pub(super) fn ask(&mut self, target: To, ids: bool) -> Option<Command<'static>> {
        if !ids || self.no_history {
            return None;
        }
        let key = conversation(&target);
        let after = self.resume_after.get(&key).copied().or(self.resume_from)?;
        Some(self.ask_after(target, after, 0))
    }

    /// After a reconnect, logged in again and the messages that waited for it in: the lines
    /// asking what each direct conversation missed (see [`Resume::ask`]).
    pub(super) fn ask_direct(&mut self, ids: bool) -> Vec<Command<'static>> {
        let mut peers: Vec<Nick> = self.peers.values().cloned().collect();
        peers.sort_by_cached_key(Nick::key);
        peers
            .into_iter()
            .filter_map(|peer| self.ask(To::Nick(peer), ids))
            .collect()
    }

    fn ask_after(&mut self, target: To, after: MessageId, printed: usize) -> Command<'static> {
        self.resuming.push_back(Resuming {
            target: target.clone(),
            last: None,
            printed,
        });
        Command::History(HistoryRequest {
            target,
            count: MAX_HISTORY,
            page: Page::After(after),
        })
    }

    /// The answers to our own `HISTORY` lines: each missed line printed as its `HIST` line
    /// unless it was printed live on this connection; `END HISTORY` pages on or, at the end,
    /// gives a note; a refusal is quiet.
    pub(super) fn on_reply(
        &mut self,
        reply: &Reply,
        output: &mut impl Write,
        notes: &mut impl Write,
    ) -> io::Result<Taken> {
        let same = |a: &To, b: &To| conversation(a) == conversation(b);
        match reply {
            Reply::Hist { target, id, .. } => {
                let Some(at) = self.resuming.iter().position(|r| same(&r.target, target)) else {
                    return Ok(Taken::No);
                };
                self.resuming[at].last = Some(*id);
                self.seen(conversation(target), *id);
                if self.printed.insert(*id) {
                    self.resuming[at].printed += 1;
                    put_line(output, reply)?;
                    output.flush()?;
                }
                Ok(Taken::Yes)
            }
            Reply::EndHistory { target, count } => {
                let Some(at) = self.resuming.iter().position(|r| same(&r.target, target)) else {
                    return Ok(Taken::No);
                };
                let asked = self
                    .resuming
                    .remove(at)
                    .expect("the position was just found");
                match asked.last {
                    Some(last) if *count > 0 => {
                        return Ok(Taken::More(self.ask_after(
                            asked.target,
                            last,
                            asked.printed,
                        )));
                    }
                    _ if asked.printed > 0 => put_line(
                        notes,
                        format_args!("chat: {} missed while away in {target}", asked.printed),
                    )?,
                    _ => {}
                }
                Ok(Taken::Yes)
            }
            Reply::Err { code, .. } if !self.resuming.is_empty() => {
                let direct =
                    matches!(self.resuming.front(), Some(r) if matches!(r.target, To::Nick(_)));
                match code {
                    ErrorCode::UnknownCommand => self.no_history = true,
                    ErrorCode::BadHistory => {}
                    // An answer to a direct conversation's `HISTORY` (the account commands
                    // that get it too are read after this, and hardly sent meanwhile).
                    ErrorCode::LoginRequired if direct => {}
                    _ => return Ok(Taken::No),
                }
                self.resuming.pop_front();
                Ok(Taken::Yes)
            }
            _ => Ok(Taken::No),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(line: &str) -> Reply {
        Reply::parse(line).unwrap()
    }

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    fn id(n: u64) -> MessageId {
        MessageId::new(n).unwrap()
    }

    /// Feeds `line` as an answer; returns what it was, what it printed and noted.
    fn answer(resume: &mut Resume, line: &str) -> (Option<String>, String, String) {
        let (mut output, mut notes) = (Vec::new(), Vec::new());
        let taken = resume
            .on_reply(&reply(line), &mut output, &mut notes)
            .unwrap();
        let taken = match taken {
            Taken::No => None,
            Taken::Yes => Some(String::new()),
            Taken::More(next) => Some(next.to_string()),
        };
        let text = |bytes| String::from_utf8(bytes).unwrap();
        (taken, text(output), text(notes))
    }

    #[test]
    fn issue_16_direct_conversations_resume_after_what_was_printed_before_the_loss() {
        let mut resume = Resume::default();
        resume.printed_live(id(10), &reply("MSG bob hello"));
        resume.wrote_with(&nick("carol"));
        resume.printed_live(id(12), &reply("ALL dave hi all"));
        resume.new_connection();
        // A message that waited for the login, printed as it came, moves nothing back.
        let waited = "HIST bob 20 2026-12-06T11:58:00.000Z MSG bob stored";
        resume.printed_live(id(20), &reply(waited));
        let asked: Vec<String> = resume
            .ask_direct(true)
            .iter()
            .map(ToString::to_string)
            .collect();
        // carol never printed an id: after the newest printed anywhere before the loss.
        assert_eq!(
            asked,
            ["HISTORY bob 1000 AFTER 10", "HISTORY carol 1000 AFTER 12"]
        );
        let missed = "HIST bob 15 2026-12-06T11:57:00.000Z MSG alice from the phone";
        let (taken, printed, _) = answer(&mut resume, missed);
        assert_eq!(
            (taken.as_deref(), printed.as_str()),
            (Some(""), format!("{missed}\n").as_str())
        );
        let (_, printed, _) = answer(&mut resume, waited);
        assert_eq!(printed, "", "printed once");
        let (taken, _, _) = answer(&mut resume, "END HISTORY bob 2");
        assert_eq!(taken.as_deref(), Some("HISTORY bob 1000 AFTER 20"));
        let (_, _, notes) = answer(&mut resume, "END HISTORY bob 0");
        assert_eq!(notes, "chat: 1 missed while away in bob\n");
        // A refusal of a direct conversation's history is quiet; other errors are not ours.
        let refused = "ERR LOGIN_REQUIRED only a logged-in account can do that";
        let (taken, printed, notes) = answer(&mut resume, refused);
        assert_eq!(
            (taken.as_deref(), printed, notes),
            (Some(""), String::new(), String::new())
        );
        let (taken, _, _) = answer(&mut resume, refused);
        assert_eq!(taken, None, "nothing asked any more");
        // Without ids, nothing is asked.
        assert!(resume.ask_direct(false).is_empty());
    }
}
