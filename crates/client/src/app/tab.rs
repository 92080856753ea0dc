//! One tab: its scrollback (bounded, numbered so markers survive the oldest lines being
//! dropped), its unread count, highlight and "new" marker, the scroll position, and for a
//! room its members, owner, topic and the key to join again with; the message ids it holds
//! (a line is shown once, however often it arrives) and lines put in place among the others
//! (history: [`Tab::insert`]), and for a direct tab what it has to ask of the account's
//! history ([`CatchUp`]); plus the nick-list helpers and how a message's text becomes a
//! line ([`Body::message`]: `/me ` makes an action).
//!
//! Out of scope: which tab a line goes to, and when a tab opens or closes (`state`); what
//! the lines say (`replies`, `submit`); what history to ask for (`history`); drawing (`ui`).

use std::collections::{HashSet, VecDeque};
use std::fmt;

use chrono::NaiveTime;

use crate::file_names::human_size;
use chatd_proto::{ACTION_PREFIX, MessageId, Nick, Room};

/// Own messages remembered per tab until history shows them back (see [`Tab::own_sent`]).
const OWN_SENT_LEN: usize = 100;

/// Lines kept per tab; older ones are dropped, so memory stays bounded however long the
/// client runs.
pub const SCROLLBACK_LEN: usize = 10_000;

/// What a scrollback line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A message: `ALL`, a room's `MSG`, or a direct `MSG` (`direct`). `own` for what we sent.
    /// `action` for an action (`/me waves`, `ME`), shown as `* alice waves`.
    Chat {
        from: Nick,
        text: String,
        direct: bool,
        own: bool,
        action: bool,
    },
    /// Someone joined, left, renamed; a topic; the connection's ups and downs.
    Notice(String),
    /// An `ERR` from the server or a local mistake (unknown command, bad nick).
    Error(String),
    /// Local output: `/help`, `/who`, `/rooms`, the server's greeting.
    Info(String),
    /// A rule across the pane with a few words: where history ends and the live lines start,
    /// how many lines were missed while away.
    Rule(String),
    /// A file someone sent (a `FILE` line), numbered for `/save` (issue 17).
    File {
        /// What `/save` calls it.
        number: u64,
        from: Nick,
        /// The name as the server sent it (shown, never used as a path).
        name: String,
        size: u64,
        direct: bool,
        own: bool,
    },
    /// A file being sent or saved, by its job's id: the one line that shows its progress,
    /// rewritten in place as it goes (`sending photo.png: 40 %`).
    Transfer { id: u64, text: String },
}

impl Body {
    /// Whether this is a line someone else sent (a message or a file): what counts as
    /// unread, takes the id of the line being handled, and is hidden when its sender is.
    pub fn from_others(&self) -> Option<&Nick> {
        match self {
            Body::Chat {
                from, own: false, ..
            }
            | Body::File {
                from, own: false, ..
            } => Some(from),
            _ => None,
        }
    }

    /// Whether this is a direct line (highlighted when it arrives in another tab).
    pub fn is_direct(&self) -> bool {
        matches!(
            self,
            Body::Chat { direct: true, .. } | Body::File { direct: true, .. }
        )
    }

    /// A message as it arrived or was sent. A text starting with `/me ` is an action: the
    /// form in which a server sends an action to a client without `CAP actions`, and in
    /// which this client sends one to a server without it, so that every client shows it
    /// as one (and an older client, as the text it is).
    pub fn message(from: Nick, text: &str, direct: bool, own: bool) -> Body {
        let (text, action) = match text.strip_prefix(ACTION_PREFIX) {
            Some(action) if !action.trim().is_empty() => (action, true),
            _ => (text, false),
        };
        Body::Chat {
            from,
            text: text.to_owned(),
            direct,
            own,
            action,
        }
    }
}

/// The line as plain text, the way the screen shows it without colours: `<from> text`,
/// `*from* text` (direct), `* from text` (an action), `[3] from sent name (size) — /save 3`
/// (a file), `-!- notice`, `!!! error`, `--- info` (and a transfer's progress).
impl fmt::Display for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Chat {
                from,
                text,
                action: true,
                ..
            } => write!(f, "* {from} {text}"),
            Body::Chat {
                from,
                text,
                direct: false,
                ..
            } => write!(f, "<{from}> {text}"),
            Body::Chat { from, text, .. } => write!(f, "*{from}* {text}"),
            Body::File {
                number,
                from,
                name,
                size,
                ..
            } => write!(
                f,
                "[{number}] {from} sent {name} ({}) — /save {number}",
                human_size(*size)
            ),
            Body::Notice(text) => write!(f, "-!- {text}"),
            Body::Error(text) => write!(f, "!!! {text}"),
            Body::Info(text) | Body::Transfer { text, .. } => write!(f, "--- {text}"),
            Body::Rule(text) => write!(f, "── {text} ──"),
        }
    }
}

/// One line of a tab's scrollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    /// Local time of arrival; for a line from history, the local time the server queued it.
    pub time: NaiveTime,
    pub body: Body,
    /// The line names our nick as a word (drawn highlighted).
    pub mention: bool,
    /// The message id the server gave the line (`CAP ids`, or history); none for our own
    /// messages, notices, and every line from a server without ids.
    pub id: Option<MessageId>,
}

/// What a tab shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TabKind {
    /// `ALL` lines and the server's notices; always tab 1.
    Lobby,
    Room(Room),
    /// A direct conversation with one person.
    Direct(Nick),
}

/// What a direct tab still has to ask of the direct messages the server keeps for our
/// account, once they can be asked for (`history`: logged in, the messages that waited for
/// the login all in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CatchUp {
    /// Nothing: what it shows is in step with the account's history (or it is no direct
    /// tab).
    Nothing,
    /// Opened since the last login: its latest lines go above the lines it shows.
    Latest,
    /// Open when a connection was lost: the lines after `after` (the newest id it had seen
    /// then, or seen anywhere if it had none) go at `at`, where the tab ended when the login
    /// came back (`None` until then), above what came since.
    Resume { after: MessageId, at: Option<u64> },
}

/// One tab: a scrollback and what is needed to show and refill it.
#[derive(Debug, Clone)]
pub struct Tab {
    pub kind: TabKind,
    pub(super) lines: VecDeque<ChatLine>,
    /// Sequence number of `lines[0]`: lines are numbered from the tab's start, so that markers
    /// survive the oldest lines being dropped.
    pub(super) first_seq: u64,
    /// Messages that arrived while another tab was shown.
    pub unread: usize,
    /// A message that arrived while another tab was shown named our nick, or was direct.
    pub highlight: bool,
    /// How many lines the view is scrolled up from the newest (0: follows new lines).
    pub scroll: usize,
    /// Lines that arrived below the view while it was scrolled up (the unread marker).
    pub below: usize,
    /// First line that arrived while the tab was not shown: a "new" marker is drawn above it.
    pub read_marker: Option<u64>,
    /// Room tabs: members, sorted ignoring case (from `WHO #room`, then `JOIN`/`PART`/`QUIT`).
    pub members: Vec<Nick>,
    /// Room tabs: who owns the room, as the server last said with `OWNER` (never, if it
    /// lacks `CAP owner`). It may name someone who left, until the server names the next.
    pub owner: Option<Nick>,
    /// Room tabs: the topic and who set it.
    pub topic: Option<(Nick, String)>,
    /// Room tabs: we are a member, or were before the connection was lost and will `JOIN`
    /// again after reconnecting.
    pub joined: bool,
    /// Room tabs: the key we joined with, for joining again after a reconnect.
    pub(super) key: Option<String>,
    /// Room tabs: `WHO #room` lines being collected until `END WHO #room`.
    pub(super) pending_members: Option<Vec<Nick>>,
    /// Room tabs: between `OK JOIN` and `END WHO #room`, a `TOPIC` is the current topic,
    /// not a change.
    pub(super) joining: bool,
    /// This tab among all the tabs ever opened: an answer to a `HISTORY` asked for a tab that
    /// was closed meanwhile finds no tab, even when one for the same room opened since.
    pub(super) uid: u64,
    /// The ids of the lines in `lines`: a line seen live and then in history, or the other way
    /// round, is shown once.
    ids: HashSet<MessageId>,
    /// The newest id this tab has seen: after a reconnect, history resumes after it.
    pub(super) last_id: Option<MessageId>,
    /// Our own messages shown here as sent, newest last, at most [`OWN_SENT_LEN`]: the server
    /// does not send us our own lines, so they have no id, and history (of the time around a
    /// lost connection, or of a direct tab just opened) gives them back; each is matched
    /// once, so that it is not shown twice, and its line takes the id then.
    own_sent: VecDeque<Body>,
    /// The server said it has no lines older than the oldest shown: PgUp asks no more.
    pub(super) history_start: bool,
    /// Direct tabs: what to ask of the account's history when it can be asked.
    pub(super) catch_up: CatchUp,
}

impl Tab {
    pub(super) fn new(kind: TabKind) -> Tab {
        let catch_up = match &kind {
            TabKind::Direct(_) => CatchUp::Latest,
            TabKind::Lobby | TabKind::Room(_) => CatchUp::Nothing,
        };
        Tab {
            catch_up,
            kind,
            lines: VecDeque::new(),
            first_seq: 0,
            unread: 0,
            highlight: false,
            scroll: 0,
            below: 0,
            read_marker: None,
            members: Vec::new(),
            owner: None,
            topic: None,
            joined: false,
            key: None,
            pending_members: None,
            joining: false,
            uid: 0,
            ids: HashSet::new(),
            last_id: None,
            own_sent: VecDeque::new(),
            history_start: false,
        }
    }

    /// The tab's name in the tab bar and the prompt.
    pub fn label(&self) -> &str {
        match &self.kind {
            TabKind::Lobby => "lobby",
            TabKind::Room(room) => room.as_str(),
            TabKind::Direct(nick) => nick.as_str(),
        }
    }

    pub fn lines(&self) -> &VecDeque<ChatLine> {
        &self.lines
    }

    /// Sequence number of `lines()[i]`.
    pub fn seq(&self, index: usize) -> u64 {
        self.first_seq + index as u64
    }

    pub(super) fn room(&self) -> Option<&Room> {
        match &self.kind {
            TabKind::Room(room) => Some(room),
            _ => None,
        }
    }

    /// Sequence number the next line pushed gets.
    pub fn end_seq(&self) -> u64 {
        self.first_seq + self.lines.len() as u64
    }

    /// Whether the line with this id is in the scrollback.
    pub fn has_id(&self, id: MessageId) -> bool {
        self.ids.contains(&id)
    }

    /// The oldest id in the scrollback: history before it is what PgUp asks for.
    pub(super) fn oldest_id(&self) -> Option<MessageId> {
        self.lines.iter().find_map(|line| line.id)
    }

    /// Adds `line` as the line numbered `seq` (clamped to the scrollback), moving the later
    /// lines down by one: the view stays on the lines it showed, the "new" marker on its line.
    /// Returns false, adding nothing, when the line's id is shown already.
    pub(super) fn insert(&mut self, seq: u64, line: ChatLine, shown: bool) -> bool {
        if let Some(id) = line.id {
            if !self.ids.insert(id) {
                return false;
            }
            self.last_id = self.last_id.max(Some(id));
        }
        // Only our lines as sent, without an id: one from history has its id to be known by.
        if let (Body::Chat { own: true, .. }, None) = (&line.body, line.id) {
            if self.own_sent.len() == OWN_SENT_LEN {
                self.own_sent.pop_front();
            }
            self.own_sent.push_back(line.body.clone());
        }
        let seq = seq.clamp(self.first_seq, self.end_seq());
        let index = (seq - self.first_seq) as usize;
        // The marker stays on its line, which moves down with the insertion.
        match &mut self.read_marker {
            Some(marker) if *marker >= seq && index < self.lines.len() => *marker += 1,
            _ => {}
        }
        let message = line.body.from_others().is_some();
        if !shown && message {
            self.read_marker = Some(self.read_marker.map_or(seq, |marker| marker.min(seq)));
            self.unread += 1;
            if line.mention || line.body.is_direct() {
                self.highlight = true;
            }
        }
        // The newest line in view is `len - 1 - scroll`: a line inserted below it leaves the
        // view where it is and counts as arriving below it.
        if self.scroll > 0 && index + self.scroll >= self.lines.len() {
            self.scroll += 1;
            self.below += 1;
        }
        self.lines.insert(index, line);
        if self.lines.len() > SCROLLBACK_LEN {
            if let Some(dropped) = self.lines.pop_front().and_then(|line| line.id) {
                self.ids.remove(&dropped);
            }
            self.first_seq += 1;
            self.scroll = self.scroll.min(self.lines.len() - 1);
        }
        true
    }

    /// `/clear`: the scrollback emptied (the ids it held with it: PgUp at the top loads them
    /// again); the numbering goes on.
    pub(super) fn clear(&mut self) {
        self.first_seq += self.lines.len() as u64;
        self.lines.clear();
        self.ids.clear();
        self.scroll = 0;
        self.below = 0;
        self.read_marker = None;
        self.history_start = false;
    }

    /// Whether `body`, from history with `id`, is one of our own messages shown here (they
    /// come back without the id they never had); if so, it is matched and forgotten, with any
    /// older ones that history skipped, and the line shown takes the id: PgUp then asks for
    /// the lines before it, a resume for those after it, and it is never matched again.
    pub(super) fn take_own(&mut self, body: &Body, id: MessageId) -> bool {
        let Body::Chat {
            from, text, action, ..
        } = body
        else {
            return false;
        };
        let same = |own: &Body| {
            matches!(own, Body::Chat { from: f, text: t, action: a, .. }
                if f.key() == from.key() && t == text && a == action)
        };
        let Some(at) = self.own_sent.iter().position(same) else {
            return false;
        };
        self.own_sent.drain(..=at);
        let shown = self.lines.iter_mut().find(|line| {
            line.id.is_none()
                && matches!(line.body, Body::Chat { own: true, .. })
                && same(&line.body)
        });
        if let Some(line) = shown {
            line.id = Some(id);
            self.ids.insert(id);
            self.last_id = self.last_id.max(Some(id));
        }
        true
    }

    /// The line that shows the progress of file job `id`, if the tab still has it (the
    /// newest such line: it is near the end).
    pub(super) fn transfer_line(&mut self, id: u64) -> Option<&mut ChatLine> {
        self.lines
            .iter_mut()
            .rev()
            .find(|line| matches!(line.body, Body::Transfer { id: of, .. } if of == id))
    }

    pub(super) fn scroll_up(&mut self, lines: usize) {
        self.scroll = (self.scroll + lines).min(self.lines.len().saturating_sub(1));
    }

    pub(super) fn scroll_down(&mut self, lines: usize) {
        self.scroll = self.scroll.saturating_sub(lines);
        if self.scroll == 0 {
            self.below = 0;
        }
    }

    pub(super) fn add_member(&mut self, nick: &Nick) {
        insert_sorted(&mut self.members, nick);
    }

    pub(super) fn remove_member(&mut self, nick: &Nick) -> bool {
        let before = self.members.len();
        self.members.retain(|m| m.key() != nick.key());
        self.members.len() != before
    }

    pub(super) fn has_member(&self, nick: &Nick) -> bool {
        self.members.iter().any(|m| m.key() == nick.key())
    }

    /// Whether `nick` owns the room, as far as the server said (the member list marks the
    /// owner with `@`).
    pub fn is_owner(&self, nick: &Nick) -> bool {
        self.owner.as_ref().is_some_and(|o| o.key() == nick.key())
    }
}

/// Inserts `nick` into a list sorted ignoring case, unless it is there.
pub(super) fn insert_sorted(list: &mut Vec<Nick>, nick: &Nick) {
    let key = nick.key();
    if let Err(at) = list.binary_search_by(|n| n.key().cmp(&key)) {
        list.insert(at, nick.clone());
    }
}

/// `nicks` sorted ignoring case, each once (a `WHO` list may repeat a nick across lines).
pub(super) fn sorted(mut nicks: Vec<Nick>) -> Vec<Nick> {
    nicks.sort_by_cached_key(Nick::key);
    nicks.dedup_by(|a, b| a.key() == b.key());
    nicks
}

/// Whether `text` names `nick` as a word (ignoring ASCII case): `bob:` and `@bob` do,
/// `bobby` does not.
pub fn mentions(text: &str, nick: &Nick) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .any(|word| word.eq_ignore_ascii_case(nick.as_str()))
}
