//! The whole client state, [`App`]: the tabs, the users online, the input line, the
//! connection as last reported and its capabilities, our away text, the account side (the
//! password kept, the prompt asking for one, a login waiting to be sent again), and the bookkeeping of
//! what was asked of the server (the `NICK`, `WHO` lists, `JOIN`s, topics, `AWAY`s and
//! `HISTORY` pages in flight), the away notices shown, the nicks ignored, a paste waiting
//! to be confirmed, and the files sent, offered and saved (`uploads`, `offers`); plus [`Conn`], [`Effect`] and [`Settings`], and the helpers every part
//! uses to find, open, close and write to tabs and to send lines.
//!
//! Out of scope: deciding what an event does (`update` and the parts it calls); one tab's
//! own bookkeeping (`tab`); drawing (`ui`). Nothing here does I/O.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{FixedOffset, NaiveTime};

use super::account::Account;
use super::caps::Caps;
use super::offers::Offers;
use super::tab::{Body, ChatLine, Tab, TabKind, insert_sorted, mentions};
use super::uploads::Uploads;
use crate::event::FileJob;
use crate::input::LineEditor;
use crate::password::Secret;
use chatd_proto::{Command, MessageId, Nick, NickKey, Room, RoomKey, Target};

/// Rows of the screen that are not the scrollback: tab bar, status bar, input line.
pub const CHROME_ROWS: u16 = 3;

/// Pastes of more lines than this ask before sending (`chat --paste-confirm`).
pub const DEFAULT_PASTE_CONFIRM: usize = 5;

/// The server's default `--max-line` (`chat --max-line`).
pub const DEFAULT_MAX_LINE: usize = 4096;

/// What the user chose on the command line that changes what [`update`](super::update()) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// A paste of more lines than this waits for Enter (Esc cancels it); 0: never asks.
    pub paste_confirm: usize,
    /// The server's `--max-line`: the longest line it takes, newline included. A line that
    /// would be longer is not sent, and the user is told why, rather than shown as sent
    /// while the server discards it.
    pub max_line: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            paste_confirm: DEFAULT_PASTE_CONFIRM,
            max_line: DEFAULT_MAX_LINE,
        }
    }
}

/// What the caller must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send this protocol line (without its ending) on the current connection.
    Send(String),
    /// Clear and redraw the whole screen.
    Redraw,
    /// Leave: stop the network threads, restore the terminal, exit.
    Exit,
    /// Close the connection and stop the network side: no reconnecting (another client
    /// logged in to our account, issue 16).
    Disconnect,
    /// Start a file job on a thread of its own (`transfer`); it reports with
    /// [`Event::File`](crate::event::Event::File).
    File(FileJob),
}

/// A paste of many lines waiting for Enter or Esc (`paste` decides what becomes of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paste {
    /// The lines to send, in order, none blank.
    pub lines: Vec<String>,
    /// The tab pasted into: the lines go there even if another tab is shown by then.
    pub(super) tab: TabKind,
}

/// The masked line that asks for a password, shown instead of the input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The account whose password is asked for.
    pub nick: Nick,
    /// What was typed so far: drawn as one `*` per character, never as itself.
    pub(super) typed: Secret,
}

impl Prompt {
    pub(super) fn new(nick: Nick) -> Prompt {
        Prompt {
            nick,
            typed: Secret::default(),
        }
    }

    /// Characters typed so far.
    pub fn typed_chars(&self) -> usize {
        self.typed.chars()
    }
}

/// A `LOGIN` the server refused for a while, to be sent again when the wait is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Retry {
    /// Ticks (about a second each) left to wait.
    pub(super) ticks: u64,
    pub(super) nick: Nick,
    pub(super) password: Secret,
}

/// The connection's state as the network side last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    /// A connection attempt is under way.
    Connecting { attempt: u32 },
    /// Connected; our `NICK` is not answered yet.
    Registering,
    /// Registered: lines can be sent.
    Online,
    /// No connection; the next attempt starts in about this many seconds.
    Waiting { retry_in: u64 },
    /// Left after `/quit`.
    Closed,
    /// Another client logged in to our account and the server ended this connection
    /// (`BYE logged in elsewhere`): no reconnecting, or the two would take the account from
    /// each other in turn.
    LoggedInElsewhere,
}

/// Adds the line `command` formats to the effects: every line sent is built as a `Command`.
pub(super) fn send(effects: &mut Vec<Effect>, command: &Command<'_>) {
    effects.push(Effect::Send(command.to_string()));
}

/// [`send`] for a line carrying the user's text, which can be of any length: a line the
/// server would refuse as too long is not sent, and the user is told so. Returns whether it
/// was sent.
pub(super) fn send_text(
    app: &mut App,
    effects: &mut Vec<Effect>,
    command: &Command<'_>,
    now: NaiveTime,
) -> bool {
    let line = command.to_string();
    // The newline counts towards the server's limit.
    let bytes = line.len() + 1;
    let max = app.settings.max_line;
    if bytes > max {
        app.error(
            now,
            format!(
                "not sent: too long ({bytes} bytes on the wire, the server takes {max}, \
                 chat --max-line); shorten or split it"
            ),
        );
        return false;
    }
    effects.push(Effect::Send(line));
    true
}

/// Which lobby `WHO` lists are expected, in order: shown in the tab (asked for with `/who`),
/// or only used to refill the side panel (sent on connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WhoFor {
    Panel,
    User,
}

/// An `AWAY` sent and not answered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AwaySent {
    /// Its text; `None` for back.
    pub(super) text: Option<String>,
    /// Whether its answer is told: not when the client marks itself away again after a
    /// reconnect, which the user did not ask for.
    pub(super) tell: bool,
}

/// Why a `HISTORY` was asked for: where its lines go and what is said about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fetch {
    /// After a reconnect: the lines missed while away, in place, under a rule that counts
    /// them; paged on with `AFTER` until the server has no more.
    Resume,
    /// A room just joined, or a direct tab opened since the login: its latest lines, above
    /// the join or the tab's lines, with a rule under them.
    Latest,
    /// PgUp at the top of a tab: older lines, before the oldest shown.
    Older,
}

/// A `HISTORY` sent and not answered yet (answers come in order, one `END HISTORY` each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Asked {
    pub(super) target: Target,
    /// The tab's [`Tab::uid`](super::tab::Tab): the answer goes nowhere if it was closed.
    pub(super) tab: u64,
    pub(super) fetch: Fetch,
    /// The lines asked for: a page with as many is followed by another (`Resume`).
    pub(super) count: u16,
    /// Where the next line of the answer goes (a sequence number of the tab).
    pub(super) at: u64,
    /// Where the rule goes once the fetch ends (`Resume`: above the lines).
    pub(super) rule_at: u64,
    /// Lines put in the tab by this fetch so far, over all its pages.
    pub(super) added: usize,
    /// The id of the last `HIST` line of this page: the next page is after it.
    pub(super) last: Option<MessageId>,
}

/// A file being saved (`/save`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Download {
    /// The number `/save` was given.
    pub(super) number: u64,
    /// The name the server gave it, for what is told.
    pub(super) name: String,
    pub(super) size: u64,
    /// The [`Tab::uid`](super::tab::Tab) of the tab `/save` was typed in, which is told.
    pub(super) tab: u64,
    /// Bytes saved so far.
    pub(super) done: u64,
}

/// The whole client state. Plain data: drawn by `ui::render`, changed only by `update`.
#[derive(Debug, Clone)]
pub struct App {
    /// The server's address as given, for the status bar.
    pub addr: String,
    pub settings: Settings,
    /// The nick the user asked for (`--nick`, then `/nick`); claimed again on every connect
    /// and taken back when its holder leaves.
    pub wanted: Nick,
    /// Our nick on the server now (or the one being claimed while registering).
    pub nick: Nick,
    pub conn: Conn,
    /// The protocol extensions the server turned on for this connection.
    pub caps: Caps,
    /// Our away text, once the server said `OK AWAY on`; kept across reconnects (the
    /// client marks itself away again), until `/away` alone.
    pub away: Option<String>,
    pub tabs: Vec<Tab>,
    /// Index of the tab shown.
    pub current: usize,
    /// Everyone online, sorted ignoring case: from `WHO` on connect, then kept up to date
    /// by `JOIN`, `NICK` and `QUIT`. Empty while the lobby is counted.
    pub users: Vec<Nick>,
    /// `Some(count)` while the server does not announce the lobby's presence (more clients
    /// than its `--presence-limit`, told by `PRESENCE COUNT`): then only the count is known.
    pub counted: Option<u32>,
    pub editor: LineEditor,
    /// Terminal size (columns, rows), for page scrolling and drawing.
    pub size: (u16, u16),
    /// Nicks whose messages are hidden (`/ignore`), sorted ignoring case; kept until the
    /// client exits, across reconnects.
    pub ignored: Vec<Nick>,
    /// A paste of many lines waiting for Enter (send) or Esc (cancel).
    pub paste: Option<Paste>,
    /// Refusals of our nick during this registration (the next suffix).
    pub(super) nick_attempt: u32,
    /// A `NICK` we sent that is not answered yet, and whether it is taking back `wanted`
    /// automatically (its failure is then not shown).
    pub(super) pending_nick: Option<(Nick, bool)>,
    /// The lobby `WHO` lists asked for, oldest first (replies come in order).
    pub(super) who_for: VecDeque<WhoFor>,
    /// Nicks of the lobby `WHO` list being received.
    pub(super) who_lines: Vec<Nick>,
    /// Rooms whose `WHO #room` the user asked for with `/who #room` (shown in the tab).
    pub(super) room_who_for_user: HashSet<RoomKey>,
    /// Rooms the user asked to `/join`: their tab is shown when `OK JOIN` comes.
    pub(super) joins_for_user: HashMap<RoomKey, Option<String>>,
    /// Rooms whose topic the user asked for (`/topic`), once per question: the next `TOPIC`
    /// line for such a room is the answer, shown as such rather than as a change.
    pub(super) topics_asked: Vec<RoomKey>,
    /// `AWAY` lines sent, oldest first (answers come in order).
    pub(super) aways_sent: VecDeque<AwaySent>,
    /// The away notices shown: per nick, its text and when, so that the same notice is not
    /// shown again on every message to that nick (see `extensions::AWAY_NOTICE_REPEAT`).
    pub(super) away_notices: HashMap<NickKey, (String, NaiveTime)>,
    /// Keys sent with `/key`, stored for the next `JOIN` after a reconnect once `OK KEY` comes.
    pub(super) keys_sent: HashMap<RoomKey, Option<String>>,
    /// `ROOM` lines received since the last `END ROOMS`.
    pub(super) rooms_listed: usize,
    /// Who sent the last direct message (`/r`).
    pub last_direct_from: Option<Nick>,
    /// Ticks since `/quit` while waiting for `BYE`.
    pub(super) quitting: Option<u32>,
    /// We were registered on an earlier connection: the next registration is a reconnect.
    pub(super) was_online: bool,
    /// The loss of the connection (or the first failure to connect) has been told; the
    /// failed attempts after it only change the status bar.
    pub(super) told_down: bool,
    /// Local time's offset from UTC, for the times of history lines (which the server gives
    /// in UTC): set by the caller, since reading the time zone is I/O.
    pub utc_offset: FixedOffset,
    /// The `uid` the next tab opened gets.
    pub(super) next_uid: u64,
    /// `HISTORY` lines sent on this connection and not answered yet, oldest first.
    pub(super) history_asked: VecDeque<Asked>,
    /// The server refused `HISTORY` on this connection (it is older than it): no more is
    /// asked until the next connection.
    pub(super) no_history: bool,
    /// The id of the server line being handled, given to the chat line it adds (see
    /// [`App::add`]); `None` outside the handling of a line with an id.
    pub(super) live_id: Option<MessageId>,
    /// The newest id seen in any tab.
    pub(super) newest_id: Option<MessageId>,
    /// `newest_id` when this connection started: where a tab that never saw an id resumes
    /// from (ids come from one counter at the server, so the lines after it were missed).
    pub(super) resume_from: Option<MessageId>,
    /// The password kept for the session and the account commands waiting for answers.
    pub(super) account: Account,
    /// The masked line asking for a password, shown instead of the input line (keys and
    /// pastes go to it).
    pub prompt: Option<Prompt>,
    /// This registration waits for a login: the nick wanted is registered (the prompt's
    /// Enter sends the `LOGIN` at once, its Esc goes on as a guest).
    pub(super) login_wait: bool,
    /// A `LOGIN` refused for a while, sent again when the wait is over.
    pub(super) login_retry: Option<Retry>,
    /// The files being sent (`/send`), and the ids of all file jobs.
    pub(super) uploads: Uploads,
    /// The files offered to us, numbered for `/save`.
    pub(super) offers: Offers,
    /// The files being saved (`/save`), by job id.
    pub(super) downloads: HashMap<u64, Download>,
    /// The user chose to go on as a guest (Esc at the prompt): later registrations take a
    /// suffixed nick without asking again, until `/login`.
    pub(super) guest_by_choice: bool,
    /// The nick wanted was refused as registered in this registration (the notice after it
    /// says so rather than "taken").
    pub(super) wanted_registered: bool,
}

impl App {
    pub fn new(addr: impl Into<String>, nick: Nick, size: (u16, u16)) -> App {
        App {
            addr: addr.into(),
            settings: Settings::default(),
            wanted: nick.clone(),
            nick,
            conn: Conn::Connecting { attempt: 1 },
            caps: Caps::default(),
            away: None,
            tabs: vec![Tab::new(TabKind::Lobby)],
            current: 0,
            users: Vec::new(),
            editor: LineEditor::new(),
            size,
            ignored: Vec::new(),
            counted: None,
            paste: None,
            nick_attempt: 0,
            pending_nick: None,
            who_for: VecDeque::new(),
            who_lines: Vec::new(),
            room_who_for_user: HashSet::new(),
            joins_for_user: HashMap::new(),
            topics_asked: Vec::new(),
            aways_sent: VecDeque::new(),
            away_notices: HashMap::new(),
            keys_sent: HashMap::new(),
            rooms_listed: 0,
            last_direct_from: None,
            quitting: None,
            was_online: false,
            told_down: false,
            utc_offset: FixedOffset::east_opt(0).expect("UTC is a valid offset"),
            next_uid: 1,
            history_asked: VecDeque::new(),
            no_history: false,
            live_id: None,
            newest_id: None,
            resume_from: None,
            account: Account::default(),
            prompt: None,
            login_wait: false,
            login_retry: None,
            guest_by_choice: false,
            wanted_registered: false,
            uploads: Uploads::default(),
            offers: Offers::default(),
            downloads: HashMap::new(),
        }
    }

    /// Keeps `password` (`--password-file`, `CHAT_PASSWORD`) to log in to the nick wanted
    /// when the server says it is registered; it is never shown.
    pub fn remember_password(&mut self, password: Secret) {
        self.account = Account::new(&self.wanted, Some(password));
    }

    pub fn tab(&self) -> &Tab {
        &self.tabs[self.current]
    }

    /// Unread lines: messages in the other tabs plus lines below the view of this one.
    pub fn unread(&self) -> usize {
        self.tabs
            .iter()
            .enumerate()
            .map(|(i, tab)| {
                if i == self.current {
                    tab.below
                } else {
                    tab.unread
                }
            })
            .sum()
    }

    /// Rows the scrollback pane has (the screen less the bars; a room's topic takes one).
    pub fn pane_rows(&self) -> usize {
        let topic = usize::from(self.tab().topic.is_some());
        usize::from(self.size.1.saturating_sub(CHROME_ROWS)).saturating_sub(topic)
    }

    /// The nicks shown in the side panel: the room's members in a room tab, else everyone.
    pub fn side_list(&self) -> &[Nick] {
        match &self.tab().kind {
            TabKind::Room(_) => &self.tab().members,
            _ => &self.users,
        }
    }

    pub(super) fn room_tab(&self, room: &Room) -> Option<usize> {
        let key = room.key();
        self.tabs
            .iter()
            .position(|t| t.room().is_some_and(|r| r.key() == key))
    }

    pub(super) fn direct_tab(&self, nick: &Nick) -> Option<usize> {
        let key = nick.key();
        self.tabs
            .iter()
            .position(|t| matches!(&t.kind, TabKind::Direct(n) if n.key() == key))
    }

    pub(super) fn open(&mut self, kind: TabKind) -> usize {
        let existing = match &kind {
            TabKind::Lobby => Some(0),
            TabKind::Room(room) => self.room_tab(room),
            TabKind::Direct(nick) => self.direct_tab(nick),
        };
        existing.unwrap_or_else(|| {
            let mut tab = Tab::new(kind);
            tab.uid = self.next_uid;
            self.next_uid += 1;
            self.tabs.push(tab);
            self.tabs.len() - 1
        })
    }

    /// Shows tab `index`: its unread count and highlight are cleared; the tab left gets a
    /// fresh "new" marker next time something arrives in it.
    pub fn switch_to(&mut self, index: usize) {
        if index >= self.tabs.len() || index == self.current {
            return;
        }
        self.tabs[self.current].read_marker = None;
        self.current = index;
        let tab = &mut self.tabs[index];
        tab.unread = 0;
        tab.highlight = false;
    }

    pub(super) fn close(&mut self, index: usize) {
        if index == 0 || index >= self.tabs.len() {
            return;
        }
        self.tabs.remove(index);
        if self.current == index {
            self.current = index - 1;
            let tab = &mut self.tabs[self.current];
            tab.unread = 0;
            tab.highlight = false;
        } else if self.current > index {
            self.current -= 1;
        }
    }

    /// Adds a line at the end of tab `index`. A message from someone else takes the id of
    /// the server line being handled, and is dropped if the tab shows that id already.
    pub(super) fn add(&mut self, index: usize, time: NaiveTime, body: Body) {
        let id = body.from_others().and(self.live_id);
        let line = self.line(time, body, id);
        let seq = self.tabs[index].end_seq();
        self.put(index, seq, line);
    }

    /// A line for the scrollback, a mention of our nick noted.
    pub(super) fn line(&self, time: NaiveTime, body: Body, id: Option<MessageId>) -> ChatLine {
        let mention = match &body {
            Body::Chat {
                text, own: false, ..
            } => mentions(text, &self.nick),
            _ => false,
        };
        ChatLine {
            time,
            body,
            mention,
            id,
        }
    }

    /// Puts `line` in tab `index` as its line numbered `seq`; returns false if its id was
    /// shown there already.
    pub(super) fn put(&mut self, index: usize, seq: u64, line: ChatLine) -> bool {
        let shown = index == self.current;
        self.put_as(index, seq, line, shown)
    }

    /// [`App::put`] for a line older than the lines it goes above (a tab's earlier history):
    /// never counted as unread, as nobody missed it.
    pub(super) fn put_old(&mut self, index: usize, seq: u64, line: ChatLine) -> bool {
        self.put_as(index, seq, line, true)
    }

    fn put_as(&mut self, index: usize, seq: u64, line: ChatLine, shown: bool) -> bool {
        let id = line.id;
        let added = self.tabs[index].insert(seq, line, shown);
        self.newest_id = self.newest_id.max(id);
        added
    }

    pub(super) fn notice(&mut self, index: usize, time: NaiveTime, text: impl Into<String>) {
        self.add(index, time, Body::Notice(text.into()));
    }

    pub(super) fn info(&mut self, time: NaiveTime, text: impl Into<String>) {
        self.add(self.current, time, Body::Info(text.into()));
    }

    pub(super) fn error(&mut self, time: NaiveTime, text: impl Into<String>) {
        self.add(self.current, time, Body::Error(text.into()));
    }

    /// A notice in the lobby and in the current tab if that is another one.
    pub(super) fn notice_here_and_lobby(&mut self, time: NaiveTime, text: &str) {
        self.notice(0, time, text);
        if self.current != 0 {
            self.notice(self.current, time, text);
        }
    }

    /// A notice about `nick` in the lobby, the rooms it is in and its direct tab.
    pub(super) fn notice_about(&mut self, nick: &Nick, time: NaiveTime, text: &str) {
        self.notice(0, time, text);
        for index in 1..self.tabs.len() {
            let concerned = match &self.tabs[index].kind {
                TabKind::Room(_) => self.tabs[index].has_member(nick),
                TabKind::Direct(n) => n.key() == nick.key(),
                TabKind::Lobby => false,
            };
            if concerned {
                self.notice(index, time, text);
            }
        }
    }

    pub(super) fn online(&self) -> bool {
        self.conn == Conn::Online
    }

    /// Whether `nick`'s messages are hidden (nicks compared ignoring ASCII case).
    pub fn ignores(&self, nick: &Nick) -> bool {
        let key = nick.key();
        self.ignored.iter().any(|n| n.key() == key)
    }

    /// `/ignore NICK`; returns false when it was ignored already.
    pub(super) fn ignore(&mut self, nick: &Nick) -> bool {
        let before = self.ignored.len();
        insert_sorted(&mut self.ignored, nick);
        self.ignored.len() != before
    }

    /// `/unignore NICK`; returns false when it was not ignored.
    pub(super) fn unignore(&mut self, nick: &Nick) -> bool {
        let before = self.ignored.len();
        let key = nick.key();
        self.ignored.retain(|n| n.key() != key);
        self.ignored.len() != before
    }
}

/// Whether a line can be sent now; tells the user when not.
pub(super) fn can_send(app: &mut App, now: NaiveTime) -> bool {
    if app.online() {
        return true;
    }
    app.error(now, "not connected: nothing was sent");
    false
}
