//! `--plain`'s resume after a reconnect (issue 15): the last id printed per conversation
//! (the lobby and each room), and the `HISTORY <target> AFTER <id>` pages asked on a new
//! connection, whose lines are printed as the server's `HIST` lines, less those printed live
//! meanwhile; a note counts them. A server without ids or `HISTORY` resumes without them,
//! quietly.
//!
//! Out of scope: when to resume (`line_mode`: once registered again, and on `OK JOIN` of a
//! room joined again) and sending: [`Resume`] gives the `HISTORY` lines for the caller to
//! send.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Write};

use chatd_proto::{
    Command, ErrorCode, HistoryRequest, MAX_HISTORY, MessageId, Page, Reply, RoomKey, Target as To,
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

/// A conversation whose history the line mode resumes: the lobby (`None`) or a room.
type Conversation = Option<RoomKey>;

fn conversation(target: &To) -> Option<Conversation> {
    match target {
        To::Lobby => Some(None),
        To::Room(room) => Some(Some(room.key())),
        To::Nick(_) => None,
    }
}

/// The conversation a chat line with an id belongs to, if its history is kept.
fn conversation_of(reply: &Reply) -> Option<Conversation> {
    match reply {
        Reply::All { .. } => Some(None),
        Reply::RoomMsg { room, .. } => Some(Some(room.key())),
        Reply::Me { target, .. } => conversation(target),
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
    /// The last id printed per conversation: history resumes after it.
    last_ids: HashMap<Conversation, MessageId>,
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
    }

    /// A chat line printed live with its id.
    pub(super) fn printed_live(&mut self, id: MessageId, reply: &Reply) {
        self.printed.insert(id);
        if let Some(conversation) = conversation_of(reply) {
            self.seen(conversation, id);
        }
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
        let key = conversation(&target)?;
        let after = self.last_ids.get(&key).copied().or(self.resume_from)?;
        Some(self.ask_after(target, after, 0))
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
        let same = |a: &To, b: &To| conversation(a).is_some() && conversation(a) == conversation(b);
        match reply {
            Reply::Hist { target, id, .. } => {
                let Some(at) = self.resuming.iter().position(|r| same(&r.target, target)) else {
                    return Ok(Taken::No);
                };
                self.resuming[at].last = Some(*id);
                if let Some(key) = conversation(target) {
                    self.seen(key, *id);
                }
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
                match code {
                    ErrorCode::UnknownCommand => self.no_history = true,
                    ErrorCode::BadHistory => {}
                    _ => return Ok(Taken::No),
                }
                self.resuming.pop_front();
                Ok(Taken::Yes)
            }
            _ => Ok(Taken::No),
        }
    }
}
