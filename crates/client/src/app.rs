//! The client's state and the one function that changes it: [`update`].
//!
//! In scope: tabs and their scrollback, the users online, the input line, the connection's
//! state as last reported, registration (the nick, a suffixed one when it is taken, taking it
//! back when it is free), what to send on connect (`NICK`, `WHO`, `JOIN` of the room tabs
//! after a reconnect), what each key, `/command` and server line does.
//!
//! Out of scope: I/O of any kind. [`update`] gets the time as an argument and returns
//! [`Effect`]s (lines to send, leaving) for the caller to carry out; drawing is `ui`'s job.
//! Every protocol line is built as a [`Command`] and formatted by `protocol`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use chrono::NaiveTime;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};

use crate::commands::{self, Input, Target, UserCommand};
use crate::event::{Event, NetEvent};
use crate::input::LineEditor;
use chatd_proto::{Command, ErrorCode, MAX_NICK_LEN, Nick, NickKey, Reply, Room, RoomKey};

/// Lines kept per tab; older ones are dropped, so memory stays bounded however long the
/// client runs.
pub const SCROLLBACK_LEN: usize = 10_000;

/// Suffixed nicks tried on `NICK_TAKEN` before giving up (`alice_`, `alice_2`, ...).
pub const MAX_NICK_ATTEMPTS: u32 = 20;

/// Ticks (about a second each) to wait for `BYE` after `/quit` before leaving anyway.
pub const QUIT_GRACE_TICKS: u32 = 2;

/// Lines scrolled per mouse wheel step.
pub const WHEEL_LINES: usize = 3;

/// Rows of the screen that are not the scrollback: tab bar, status bar, input line.
pub const CHROME_ROWS: u16 = 3;

/// The key bindings, for `/help` and the README.
pub const KEYS: [(&str, &str); 12] = [
    (
        "Enter",
        "send the line (plain text goes to this tab's room or person)",
    ),
    (
        "Tab",
        "complete a nick or /command; again for the next match",
    ),
    ("Up / Down", "previous / next line sent"),
    (
        "Left / Right, Home / End",
        "move the cursor (also Ctrl-A / Ctrl-E)",
    ),
    (
        "Ctrl-Left / Ctrl-Right",
        "move by word (also Alt-B / Alt-F)",
    ),
    ("Ctrl-W, Alt-Backspace", "delete the word before the cursor"),
    ("Ctrl-U / Ctrl-K", "delete to the start / end of the line"),
    ("PgUp / PgDn, mouse wheel", "scroll this tab"),
    ("Alt-1 .. Alt-9, Alt-0", "go to tab 1 .. 9, 10"),
    (
        "Ctrl-N / Ctrl-P",
        "next / previous tab (also Alt-Right / Alt-Left)",
    ),
    ("Ctrl-L", "redraw the screen"),
    (
        "Ctrl-C",
        "quit (twice: quit without waiting for the server)",
    ),
];

/// What the caller must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send this protocol line (without its ending) on the current connection.
    Send(String),
    /// Clear and redraw the whole screen.
    Redraw,
    /// Leave: stop the network threads, restore the terminal, exit.
    Exit,
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
}

/// What a scrollback line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A message: `ALL`, a room's `MSG`, or a direct `MSG` (`direct`). `own` for what we sent.
    Chat {
        from: Nick,
        text: String,
        direct: bool,
        own: bool,
    },
    /// Someone joined, left, renamed; a topic; the connection's ups and downs.
    Notice(String),
    /// An `ERR` from the server or a local mistake (unknown command, bad nick).
    Error(String),
    /// Local output: `/help`, `/who`, `/rooms`, the server's greeting.
    Info(String),
}

/// The line as plain text, the way the screen shows it without colours: `<from> text`,
/// `*from* text` (direct), `-!- notice`, `!!! error`, `--- info`.
impl fmt::Display for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Chat {
                from,
                text,
                direct: false,
                ..
            } => write!(f, "<{from}> {text}"),
            Body::Chat { from, text, .. } => write!(f, "*{from}* {text}"),
            Body::Notice(text) => write!(f, "-!- {text}"),
            Body::Error(text) => write!(f, "!!! {text}"),
            Body::Info(text) => write!(f, "--- {text}"),
        }
    }
}

/// One line of a tab's scrollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    /// Local time of arrival.
    pub time: NaiveTime,
    pub body: Body,
    /// The line names our nick as a word (drawn highlighted).
    pub mention: bool,
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

/// One tab: a scrollback and what is needed to show and refill it.
#[derive(Debug, Clone)]
pub struct Tab {
    pub kind: TabKind,
    lines: VecDeque<ChatLine>,
    /// Sequence number of `lines[0]`: lines are numbered from the tab's start, so that markers
    /// survive the oldest lines being dropped.
    first_seq: u64,
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
    /// Room tabs: the topic and who set it.
    pub topic: Option<(Nick, String)>,
    /// Room tabs: we are a member, or were before the connection was lost and will `JOIN`
    /// again after reconnecting.
    pub joined: bool,
    /// Room tabs: the key we joined with, for joining again after a reconnect.
    key: Option<String>,
    /// Room tabs: `WHO #room` lines being collected until `END WHO #room`.
    pending_members: Option<Vec<Nick>>,
    /// Room tabs: between `OK JOIN` and `END WHO #room`, a `TOPIC` is the current topic,
    /// not a change.
    joining: bool,
}

impl Tab {
    fn new(kind: TabKind) -> Tab {
        Tab {
            kind,
            lines: VecDeque::new(),
            first_seq: 0,
            unread: 0,
            highlight: false,
            scroll: 0,
            below: 0,
            read_marker: None,
            members: Vec::new(),
            topic: None,
            joined: false,
            key: None,
            pending_members: None,
            joining: false,
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

    fn room(&self) -> Option<&Room> {
        match &self.kind {
            TabKind::Room(room) => Some(room),
            _ => None,
        }
    }

    fn push(&mut self, line: ChatLine, shown: bool) {
        let message = matches!(line.body, Body::Chat { own: false, .. });
        let seq = self.first_seq + self.lines.len() as u64;
        if !shown && message {
            if self.read_marker.is_none() {
                self.read_marker = Some(seq);
            }
            self.unread += 1;
            if line.mention || matches!(line.body, Body::Chat { direct: true, .. }) {
                self.highlight = true;
            }
        }
        if self.scroll > 0 {
            // Keep the view where it is; count what arrives below it.
            self.scroll += 1;
            self.below += 1;
        }
        self.lines.push_back(line);
        if self.lines.len() > SCROLLBACK_LEN {
            self.lines.pop_front();
            self.first_seq += 1;
            self.scroll = self.scroll.min(self.lines.len() - 1);
        }
    }

    fn scroll_up(&mut self, lines: usize) {
        self.scroll = (self.scroll + lines).min(self.lines.len().saturating_sub(1));
    }

    fn scroll_down(&mut self, lines: usize) {
        self.scroll = self.scroll.saturating_sub(lines);
        if self.scroll == 0 {
            self.below = 0;
        }
    }

    fn add_member(&mut self, nick: &Nick) {
        insert_sorted(&mut self.members, nick);
    }

    fn remove_member(&mut self, nick: &Nick) -> bool {
        let before = self.members.len();
        self.members.retain(|m| m.key() != nick.key());
        self.members.len() != before
    }

    fn has_member(&self, nick: &Nick) -> bool {
        self.members.iter().any(|m| m.key() == nick.key())
    }
}

/// Inserts `nick` into a list sorted ignoring case, unless it is there.
fn insert_sorted(list: &mut Vec<Nick>, nick: &Nick) {
    let key = nick.key();
    if let Err(at) = list.binary_search_by(|n| n.key().cmp(&key)) {
        list.insert(at, nick.clone());
    }
}

fn sorted(mut nicks: Vec<Nick>) -> Vec<Nick> {
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

/// The nick tried after `attempt` refusals of `base`: `alice_`, `alice_2`, `alice_3`...,
/// the base shortened so the result stays a valid nick.
pub fn suffixed(base: &Nick, attempt: u32) -> Nick {
    let suffix = if attempt <= 1 {
        "_".to_owned()
    } else {
        format!("_{attempt}")
    };
    let keep = base.as_str().len().min(MAX_NICK_LEN - suffix.len());
    Nick::parse(&format!("{}{suffix}", &base.as_str()[..keep]))
        .expect("a valid nick's prefix (it keeps the first letter) plus _ and digits is valid")
}

/// Which lobby `WHO` lists are expected, in order: shown in the tab (asked for with `/who`),
/// or only used to refill the side panel (sent on connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhoFor {
    Panel,
    User,
}

/// The whole client state. Plain data: drawn by `ui::render`, changed only by [`update`].
#[derive(Debug, Clone)]
pub struct App {
    /// The server's address as given, for the status bar.
    pub addr: String,
    /// The nick the user asked for (`--nick`, then `/nick`); claimed again on every connect
    /// and taken back when its holder leaves.
    pub wanted: Nick,
    /// Our nick on the server now (or the one being claimed while registering).
    pub nick: Nick,
    pub conn: Conn,
    pub tabs: Vec<Tab>,
    /// Index of the tab shown.
    pub current: usize,
    /// Everyone online, sorted ignoring case: from `WHO` on connect, then kept up to date
    /// by `JOIN`, `NICK` and `QUIT`.
    pub users: Vec<Nick>,
    pub editor: LineEditor,
    /// Terminal size (columns, rows), for page scrolling and drawing.
    pub size: (u16, u16),
    /// Refusals of our nick during this registration (the next suffix).
    nick_attempt: u32,
    /// A `NICK` we sent that is not answered yet, and whether it is taking back `wanted`
    /// automatically (its failure is then not shown).
    pending_nick: Option<(Nick, bool)>,
    /// The lobby `WHO` lists asked for, oldest first (replies come in order).
    who_for: VecDeque<WhoFor>,
    /// Nicks of the lobby `WHO` list being received.
    who_lines: Vec<Nick>,
    /// Rooms whose `WHO #room` the user asked for with `/who #room` (shown in the tab).
    room_who_for_user: HashSet<RoomKey>,
    /// Rooms the user asked to `/join`: their tab is shown when `OK JOIN` comes.
    joins_for_user: HashMap<RoomKey, Option<String>>,
    /// Keys sent with `/key`, stored for the next `JOIN` after a reconnect once `OK KEY` comes.
    keys_sent: HashMap<RoomKey, Option<String>>,
    /// `ROOM` lines received since the last `END ROOMS`.
    rooms_listed: usize,
    /// Who sent the last direct message (`/r`).
    pub last_direct_from: Option<Nick>,
    /// Ticks since `/quit` while waiting for `BYE`.
    quitting: Option<u32>,
    /// We were registered on an earlier connection: the next registration is a reconnect.
    was_online: bool,
    /// The loss of the connection (or the first failure to connect) has been told; the
    /// failed attempts after it only change the status bar.
    told_down: bool,
}

impl App {
    pub fn new(addr: impl Into<String>, nick: Nick, size: (u16, u16)) -> App {
        App {
            addr: addr.into(),
            wanted: nick.clone(),
            nick,
            conn: Conn::Connecting { attempt: 1 },
            tabs: vec![Tab::new(TabKind::Lobby)],
            current: 0,
            users: Vec::new(),
            editor: LineEditor::new(),
            size,
            nick_attempt: 0,
            pending_nick: None,
            who_for: VecDeque::new(),
            who_lines: Vec::new(),
            room_who_for_user: HashSet::new(),
            joins_for_user: HashMap::new(),
            keys_sent: HashMap::new(),
            rooms_listed: 0,
            last_direct_from: None,
            quitting: None,
            was_online: false,
            told_down: false,
        }
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

    fn room_tab(&self, room: &Room) -> Option<usize> {
        let key = room.key();
        self.tabs
            .iter()
            .position(|t| t.room().is_some_and(|r| r.key() == key))
    }

    fn direct_tab(&self, nick: &Nick) -> Option<usize> {
        let key = nick.key();
        self.tabs
            .iter()
            .position(|t| matches!(&t.kind, TabKind::Direct(n) if n.key() == key))
    }

    fn open(&mut self, kind: TabKind) -> usize {
        let existing = match &kind {
            TabKind::Lobby => Some(0),
            TabKind::Room(room) => self.room_tab(room),
            TabKind::Direct(nick) => self.direct_tab(nick),
        };
        existing.unwrap_or_else(|| {
            self.tabs.push(Tab::new(kind));
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

    fn close(&mut self, index: usize) {
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

    fn add(&mut self, index: usize, time: NaiveTime, body: Body) {
        let mention = match &body {
            Body::Chat {
                text, own: false, ..
            } => mentions(text, &self.nick),
            _ => false,
        };
        let shown = index == self.current;
        self.tabs[index].push(
            ChatLine {
                time,
                body,
                mention,
            },
            shown,
        );
    }

    fn notice(&mut self, index: usize, time: NaiveTime, text: impl Into<String>) {
        self.add(index, time, Body::Notice(text.into()));
    }

    fn info(&mut self, time: NaiveTime, text: impl Into<String>) {
        self.add(self.current, time, Body::Info(text.into()));
    }

    fn error(&mut self, time: NaiveTime, text: impl Into<String>) {
        self.add(self.current, time, Body::Error(text.into()));
    }

    /// A notice in the lobby and in the current tab if that is another one.
    fn notice_here_and_lobby(&mut self, time: NaiveTime, text: &str) {
        self.notice(0, time, text);
        if self.current != 0 {
            self.notice(self.current, time, text);
        }
    }

    /// A notice about `nick` in the lobby, the rooms it is in and its direct tab.
    fn notice_about(&mut self, nick: &Nick, time: NaiveTime, text: &str) {
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

    fn online(&self) -> bool {
        self.conn == Conn::Online
    }
}

/// Applies one event to the state; returns what the caller must do. `now` is the local time
/// stamped on new lines. No I/O happens here.
pub fn update(app: &mut App, event: Event, now: NaiveTime) -> Vec<Effect> {
    let mut effects = Vec::new();
    match event {
        Event::Key(key) => on_key(app, key, now, &mut effects),
        Event::Mouse(mouse) => on_mouse(app, mouse),
        Event::Resize { width, height } => app.size = (width, height),
        Event::Net(net) => on_net(app, net, now, &mut effects),
        Event::Tick => on_tick(app, &mut effects),
        Event::Signal => {
            if app.online() {
                send(&mut effects, &Command::Quit { reason: None });
            }
            app.conn = Conn::Closed;
            effects.push(Effect::Exit);
        }
    }
    effects
}

fn send(effects: &mut Vec<Effect>, command: &Command<'_>) {
    effects.push(Effect::Send(command.to_string()));
}

fn on_tick(app: &mut App, effects: &mut Vec<Effect>) {
    if let Conn::Waiting { retry_in } = &mut app.conn {
        *retry_in = retry_in.saturating_sub(1);
    }
    if let Some(ticks) = &mut app.quitting {
        *ticks += 1;
        if *ticks >= QUIT_GRACE_TICKS {
            app.conn = Conn::Closed;
            effects.push(Effect::Exit);
        }
    }
}

fn on_mouse(app: &mut App, mouse: MouseEvent) {
    let tab = &mut app.tabs[app.current];
    match mouse.kind {
        MouseEventKind::ScrollUp => tab.scroll_up(WHEEL_LINES),
        MouseEventKind::ScrollDown => tab.scroll_down(WHEEL_LINES),
        _ => {}
    }
}

fn on_key(app: &mut App, key: KeyEvent, now: NaiveTime, effects: &mut Vec<Effect>) {
    if key.kind == KeyEventKind::Release {
        return;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let page = app.pane_rows().saturating_sub(2).max(1);
    let editor = &mut app.editor;
    match key.code {
        KeyCode::Char('c') if ctrl => {
            if app.quitting.is_some() || !app.online() {
                app.conn = Conn::Closed;
                effects.push(Effect::Exit);
            } else {
                quit(app, None, effects);
            }
        }
        KeyCode::Char('l') if ctrl => effects.push(Effect::Redraw),
        KeyCode::Char('n') if ctrl => app.switch_to((app.current + 1) % app.tabs.len()),
        KeyCode::Char('p') if ctrl => {
            app.switch_to((app.current + app.tabs.len() - 1) % app.tabs.len());
        }
        KeyCode::Right if alt => app.switch_to((app.current + 1) % app.tabs.len()),
        KeyCode::Left if alt => {
            app.switch_to((app.current + app.tabs.len() - 1) % app.tabs.len());
        }
        KeyCode::Char(digit @ '0'..='9') if alt => {
            let n = digit.to_digit(10).expect("an ASCII digit") as usize;
            app.switch_to(if n == 0 { 9 } else { n - 1 });
        }
        KeyCode::Char('a') if ctrl => editor.home(),
        KeyCode::Char('e') if ctrl => editor.end(),
        KeyCode::Char('w') if ctrl => editor.delete_word_back(),
        KeyCode::Char('u') if ctrl => editor.kill_to_start(),
        KeyCode::Char('k') if ctrl => editor.kill_to_end(),
        KeyCode::Char('b') if alt => editor.word_left(),
        KeyCode::Char('f') if alt => editor.word_right(),
        KeyCode::Backspace if alt || ctrl => editor.delete_word_back(),
        KeyCode::Char(c) if !ctrl && !alt => editor.insert(c),
        KeyCode::Backspace => editor.backspace(),
        KeyCode::Delete => editor.delete(),
        KeyCode::Left if ctrl => editor.word_left(),
        KeyCode::Right if ctrl => editor.word_right(),
        KeyCode::Left => editor.left(),
        KeyCode::Right => editor.right(),
        KeyCode::Home => editor.home(),
        KeyCode::End => editor.end(),
        KeyCode::Up => editor.history_prev(),
        KeyCode::Down => editor.history_next(),
        KeyCode::PageUp => app.tabs[app.current].scroll_up(page),
        KeyCode::PageDown => app.tabs[app.current].scroll_down(page),
        KeyCode::Tab => {
            let candidates = completions(app);
            app.editor.complete(&candidates);
        }
        KeyCode::Enter => {
            let line = app.editor.take();
            submit(app, &line, now, effects);
        }
        _ => {}
    }
}

/// Tab candidates: `/commands` at the start of the line, else nicks (this room's members
/// first in a room tab, then everyone online), and room names.
fn completions(app: &App) -> Vec<String> {
    let (start, word) = app.editor.word_before_cursor();
    if start == 0 && word.starts_with('/') {
        return commands::names().map(str::to_owned).collect();
    }
    let mut names: Vec<String> = Vec::new();
    if let TabKind::Room(_) = app.tab().kind {
        names.extend(app.tab().members.iter().map(|n| n.to_string()));
    }
    names.extend(app.users.iter().map(|n| n.to_string()));
    names.extend(
        app.tabs
            .iter()
            .filter_map(|t| t.room())
            .map(|r| r.to_string()),
    );
    let mut seen = HashSet::new();
    names.retain(|n| seen.insert(n.to_ascii_lowercase()) && *n != app.nick.as_str());
    names
}

/// Enter: plain text to the current tab's room or person, or a `/command`.
fn submit(app: &mut App, line: &str, now: NaiveTime, effects: &mut Vec<Effect>) {
    match commands::parse(line) {
        Ok(None) => {}
        Ok(Some(Input::Text(text))) => say(app, text, now, effects),
        Ok(Some(Input::Command(command))) => run(app, command, now, effects),
        Err(message) => app.error(now, message),
    }
}

/// Whether a line can be sent now; tells the user when not.
fn can_send(app: &mut App, now: NaiveTime) -> bool {
    if app.online() {
        return true;
    }
    app.error(now, "not connected: nothing was sent");
    false
}

fn say(app: &mut App, text: &str, now: NaiveTime, effects: &mut Vec<Effect>) {
    match app.tab().kind.clone() {
        TabKind::Lobby => {
            if can_send(app, now) {
                send(effects, &Command::All { text });
                own_line(app, app.current, text, false, now);
            }
        }
        TabKind::Room(room) => {
            if !app.tab().joined {
                app.error(now, format!("you are not in {room}: /join {room}"));
            } else if can_send(app, now) {
                send(effects, &Command::MsgRoom { room, text });
                own_line(app, app.current, text, false, now);
            }
        }
        TabKind::Direct(to) => direct(app, to, text, now, effects),
    }
}

fn own_line(app: &mut App, index: usize, text: &str, direct: bool, now: NaiveTime) {
    let from = app.nick.clone();
    app.add(
        index,
        now,
        Body::Chat {
            from,
            text: text.to_owned(),
            direct,
            own: true,
        },
    );
}

/// A direct message: sent, shown in the person's tab, which is opened and shown.
fn direct(app: &mut App, to: Nick, text: &str, now: NaiveTime, effects: &mut Vec<Effect>) {
    if !can_send(app, now) {
        return;
    }
    send(
        effects,
        &Command::Msg {
            to: to.clone(),
            text,
        },
    );
    let index = app.open(TabKind::Direct(to));
    app.switch_to(index);
    own_line(app, index, text, true, now);
}

fn quit(app: &mut App, reason: Option<&str>, effects: &mut Vec<Effect>) {
    if app.online() || app.conn == Conn::Registering {
        send(effects, &Command::Quit { reason });
        app.quitting = Some(0);
    } else {
        app.conn = Conn::Closed;
        effects.push(Effect::Exit);
    }
}

/// The room a command names, or the current tab's, when a line can be sent now.
fn room_to_send(app: &mut App, room: Option<Room>, usage: &str, now: NaiveTime) -> Option<Room> {
    room_or_current(app, room, usage, now).filter(|_| can_send(app, now))
}

/// The room a command names, or the current tab's.
fn room_or_current(app: &mut App, room: Option<Room>, usage: &str, now: NaiveTime) -> Option<Room> {
    let room = room.or_else(|| app.tab().room().cloned());
    if room.is_none() {
        app.error(now, format!("{usage} needs a #room outside a room tab"));
    }
    room
}

fn run(app: &mut App, command: UserCommand<'_>, now: NaiveTime, effects: &mut Vec<Effect>) {
    match command {
        UserCommand::Help => help(app, now),
        UserCommand::Quit { reason } => quit(app, reason, effects),
        UserCommand::Clear => {
            let tab = &mut app.tabs[app.current];
            tab.first_seq += tab.lines.len() as u64;
            tab.lines.clear();
            tab.scroll = 0;
            tab.below = 0;
            tab.read_marker = None;
        }
        UserCommand::Close => match app.tab().kind.clone() {
            TabKind::Lobby => app.error(now, "the lobby tab stays open (/quit leaves)"),
            TabKind::Room(room) if app.tab().joined && app.online() => {
                send(effects, &Command::Part { room, reason: None });
            }
            _ => app.close(app.current),
        },
        UserCommand::Msg { target, text } => match target {
            Target::Nick(to) => direct(app, to, text, now, effects),
            Target::Room(room) => {
                if can_send(app, now) {
                    send(
                        effects,
                        &Command::MsgRoom {
                            room: room.clone(),
                            text,
                        },
                    );
                    if let Some(index) = app.room_tab(&room) {
                        app.switch_to(index);
                        own_line(app, index, text, false, now);
                    }
                }
            }
        },
        UserCommand::Reply { text } => match app.last_direct_from.clone() {
            Some(to) => direct(app, to, text, now, effects),
            None => app.error(now, "nobody has sent you a direct message yet"),
        },
        UserCommand::Nick(nick) => {
            if app.conn == Conn::Registering {
                // Not registered yet: this becomes the nick to register with.
                app.wanted = nick.clone();
                app.nick = nick.clone();
                app.nick_attempt = 0;
                app.pending_nick = Some((nick.clone(), false));
                send(effects, &Command::Nick(nick));
            } else if can_send(app, now) {
                app.pending_nick = Some((nick.clone(), false));
                send(effects, &Command::Nick(nick));
            }
        }
        UserCommand::Who(None) => {
            if can_send(app, now) {
                app.who_for.push_back(WhoFor::User);
                send(effects, &Command::Who);
            }
        }
        UserCommand::Who(Some(room)) => {
            if can_send(app, now) {
                app.room_who_for_user.insert(room.key());
                send(effects, &Command::WhoRoom(room));
            }
        }
        UserCommand::Join { room, key } => {
            if can_send(app, now) {
                app.joins_for_user
                    .insert(room.key(), key.map(str::to_owned));
                send(effects, &Command::Join { room, key });
            }
        }
        UserCommand::Part { room, reason } => {
            if let Some(room) = room_to_send(app, room, "/part", now) {
                send(effects, &Command::Part { room, reason });
            }
        }
        UserCommand::Topic { room, text: None } => {
            if let Some(room) = room_or_current(app, room, "/topic", now) {
                let topic = app.room_tab(&room).and_then(|i| app.tabs[i].topic.clone());
                match topic {
                    Some((setter, text)) => {
                        app.info(now, format!("topic of {room}: {text} (set by {setter})"));
                    }
                    None => app.info(now, format!("{room} has no topic")),
                }
            }
        }
        UserCommand::Topic {
            room,
            text: Some(text),
        } => {
            if let Some(room) = room_to_send(app, room, "/topic", now) {
                send(effects, &Command::Topic { room, text });
            }
        }
        UserCommand::Rooms => {
            if can_send(app, now) {
                send(effects, &Command::Rooms);
            }
        }
        UserCommand::Invite { nick, room } => {
            if let Some(room) = room_to_send(app, room, "/invite", now) {
                send(effects, &Command::Invite { nick, room });
            }
        }
        UserCommand::Key { room, key } => {
            if let Some(room) = room_to_send(app, room, "/key", now) {
                app.keys_sent.insert(room.key(), key.map(str::to_owned));
                send(effects, &Command::Key { room, key });
            }
        }
        UserCommand::Private { room, on } => {
            if let Some(room) = room_to_send(app, room, "/private", now) {
                send(effects, &Command::Private { room, on });
            }
        }
    }
}

fn help(app: &mut App, now: NaiveTime) {
    app.info(
        now,
        "commands (plain text goes to this tab's room or person; //text sends /text):",
    );
    for line in commands::help_lines() {
        app.info(now, format!("  {line}"));
    }
    app.info(now, "keys:");
    for (key, what) in KEYS {
        app.info(now, format!("  {key:<25} {what}"));
    }
}

fn on_net(app: &mut App, event: NetEvent, now: NaiveTime, effects: &mut Vec<Effect>) {
    match event {
        NetEvent::Connecting { attempt } => app.conn = Conn::Connecting { attempt },
        NetEvent::Connected => {
            app.conn = Conn::Registering;
            app.nick_attempt = 0;
            app.nick = app.wanted.clone();
            app.pending_nick = Some((app.wanted.clone(), false));
            app.who_for.clear();
            app.who_lines.clear();
            app.room_who_for_user.clear();
            app.rooms_listed = 0;
            send(effects, &Command::Nick(app.wanted.clone()));
        }
        NetEvent::Lost { reason, retry_in } => {
            let was_up = matches!(app.conn, Conn::Online | Conn::Registering);
            if app.quitting.is_some() {
                app.conn = Conn::Closed;
                effects.push(Effect::Exit);
                return;
            }
            let secs = retry_in.as_secs() + u64::from(retry_in.subsec_nanos() > 0);
            app.conn = Conn::Waiting { retry_in: secs };
            app.users.clear();
            for tab in &mut app.tabs {
                tab.members.clear();
                tab.pending_members = None;
                tab.joining = false;
            }
            if was_up || !app.told_down {
                let what = if was_up {
                    "connection lost"
                } else {
                    "cannot connect"
                };
                let text = format!("{what}: {reason}; reconnecting (first try in {secs}s)");
                app.notice_here_and_lobby(now, &text);
                app.told_down = true;
            }
        }
        NetEvent::Line(reply) => on_reply(app, reply, now, effects),
        NetEvent::Unparsed(line) => app.notice(0, now, format!("server: {line}")),
    }
}

fn on_reply(app: &mut App, reply: Reply, now: NaiveTime, effects: &mut Vec<Effect>) {
    match reply {
        Reply::Hello { text } => app.add(0, now, Body::Info(format!("server: {text}"))),
        Reply::OkNick(nick) => on_ok_nick(app, nick, now, effects),
        Reply::Err { code, text } => on_err(app, &code, text, now, effects),
        Reply::Join(nick) => {
            insert_sorted(&mut app.users, &nick);
            app.notice(0, now, format!("{nick} joined"));
        }
        Reply::NickChanged { old, new } => {
            let text = format!("{old} is now known as {new}");
            app.notice_about(&old, now, &text);
            rename(app, &old, &new);
            reclaim_if_freed(app, &old, effects);
        }
        Reply::Quit { nick, reason } => {
            let text = match reason {
                Some(reason) => format!("{nick} quit ({reason})"),
                None => format!("{nick} quit"),
            };
            app.notice_about(&nick, now, &text);
            app.users.retain(|n| n.key() != nick.key());
            for tab in &mut app.tabs {
                tab.remove_member(&nick);
            }
            reclaim_if_freed(app, &nick, effects);
        }
        Reply::All { from, text } => app.add(
            0,
            now,
            Body::Chat {
                from,
                text,
                direct: false,
                own: false,
            },
        ),
        Reply::Msg { from, text } => {
            let index = app.open(TabKind::Direct(from.clone()));
            app.last_direct_from = Some(from.clone());
            app.add(
                index,
                now,
                Body::Chat {
                    from,
                    text,
                    direct: true,
                    own: false,
                },
            );
        }
        Reply::Who(nicks) => app.who_lines.extend(nicks),
        Reply::EndWho => {
            app.users = sorted(std::mem::take(&mut app.who_lines));
            if app.who_for.pop_front() == Some(WhoFor::User) {
                let list = nick_list(&app.users);
                app.info(now, format!("online ({}): {list}", app.users.len()));
            }
        }
        Reply::Ping { token } => send(
            effects,
            &Command::Pong {
                token: token.as_deref(),
            },
        ),
        Reply::Pong { .. } => {}
        Reply::Bye { reason } => {
            if app.quitting.is_some() {
                app.conn = Conn::Closed;
                effects.push(Effect::Exit);
            } else {
                let text = match reason {
                    Some(reason) => format!("the server closed the connection: {reason}"),
                    None => "the server closed the connection".to_owned(),
                };
                app.notice_here_and_lobby(now, &text);
            }
        }
        Reply::Help { text } => app.info(now, format!("server: {text}")),
        Reply::EndHelp => {}
        Reply::OkJoin(room) => {
            let index = app.open(TabKind::Room(room.clone()));
            let asked = app.joins_for_user.remove(&room.key());
            let tab = &mut app.tabs[index];
            tab.joined = true;
            tab.joining = true;
            tab.topic = None;
            tab.pending_members = Some(Vec::new());
            if let Some(key) = asked {
                tab.key = key;
                app.switch_to(index);
                app.notice(index, now, format!("you joined {room}"));
            } else {
                app.notice(index, now, format!("you joined {room} again"));
            }
        }
        Reply::OkPart(room) => {
            if let Some(index) = app.room_tab(&room) {
                app.close(index);
            }
            app.notice(0, now, format!("you left {room}"));
        }
        Reply::RoomJoin { room, nick } => {
            if let Some(index) = app.room_tab(&room) {
                app.tabs[index].add_member(&nick);
                app.notice(index, now, format!("{nick} joined {room}"));
            }
        }
        Reply::RoomPart { room, nick, reason } => {
            if let Some(index) = app.room_tab(&room) {
                app.tabs[index].remove_member(&nick);
                let text = match reason {
                    Some(reason) => format!("{nick} left {room} ({reason})"),
                    None => format!("{nick} left {room}"),
                };
                app.notice(index, now, text);
            }
        }
        Reply::RoomMsg { room, from, text } => {
            let index = app.open(TabKind::Room(room));
            app.tabs[index].joined = true;
            app.add(
                index,
                now,
                Body::Chat {
                    from,
                    text,
                    direct: false,
                    own: false,
                },
            );
        }
        Reply::RoomWho { room, nicks } => {
            if let Some(index) = app.room_tab(&room) {
                let tab = &mut app.tabs[index];
                tab.pending_members
                    .get_or_insert_with(Vec::new)
                    .extend(nicks.iter().cloned());
            }
            if app.room_who_for_user.contains(&room.key()) && app.room_tab(&room).is_none() {
                // A room we are not in has no member list to keep: show each line as it comes.
                app.info(now, format!("in {room}: {}", nick_list(&nicks)));
            }
        }
        Reply::EndRoomWho(room) => {
            let asked = app.room_who_for_user.remove(&room.key());
            if let Some(index) = app.room_tab(&room) {
                let tab = &mut app.tabs[index];
                if let Some(members) = tab.pending_members.take() {
                    tab.members = sorted(members);
                }
                tab.joining = false;
                if asked {
                    let list = nick_list(&app.tabs[index].members);
                    let count = app.tabs[index].members.len();
                    app.info(now, format!("in {room} ({count}): {list}"));
                }
            } else if asked {
                app.info(now, format!("end of the list of {room}"));
            }
        }
        Reply::RoomInfo {
            room,
            members,
            topic,
        } => {
            if app.rooms_listed == 0 {
                app.info(now, "rooms:");
            }
            app.rooms_listed += 1;
            let people = if members == 1 { "member" } else { "members" };
            let text = match topic {
                Some(topic) => format!("  {room}  {members} {people}  {topic}"),
                None => format!("  {room}  {members} {people}"),
            };
            app.info(now, text);
        }
        Reply::EndRooms => {
            if app.rooms_listed == 0 {
                app.info(now, "no rooms yet: /join #name creates one");
            }
            app.rooms_listed = 0;
        }
        Reply::TopicIs { room, setter, text } => {
            if let Some(index) = app.room_tab(&room) {
                let tab = &mut app.tabs[index];
                let message = if tab.joining {
                    format!("topic: {text} (set by {setter})")
                } else {
                    format!("{setter} set the topic: {text}")
                };
                tab.topic = Some((setter, text));
                app.notice(index, now, message);
            }
        }
        Reply::OkKey(room) => {
            let key = app.keys_sent.remove(&room.key()).flatten();
            let text = match &key {
                Some(_) => format!("{room} now needs a key"),
                None => format!("{room} needs no key now"),
            };
            if let Some(index) = app.room_tab(&room) {
                app.tabs[index].key = key;
            }
            app.info(now, text);
        }
        Reply::OkPrivate { room, on } => {
            let text = if on {
                format!("{room} is now invite-only")
            } else {
                format!("{room} is now open to all")
            };
            app.info(now, text);
        }
        Reply::OkInvite { nick, room } => app.info(now, format!("{nick} may now join {room}")),
        Reply::Invited { room, from } => {
            let text = format!("{from} invites you to {room}: /join {room}");
            app.notice_here_and_lobby(now, &text);
            if app.current != 0 {
                app.tabs[0].highlight = true;
            }
        }
    }
}

fn nick_list(nicks: &[Nick]) -> String {
    nicks.iter().map(Nick::as_str).collect::<Vec<_>>().join(" ")
}

fn on_ok_nick(app: &mut App, nick: Nick, now: NaiveTime, effects: &mut Vec<Effect>) {
    let pending = app.pending_nick.take();
    if app.conn == Conn::Registering {
        app.conn = Conn::Online;
        app.nick = nick.clone();
        app.told_down = false;
        let how = if app.was_online {
            "reconnected"
        } else {
            "connected"
        };
        app.was_online = true;
        app.notice_here_and_lobby(now, &format!("{how} to {} as {nick}", app.addr));
        if nick.key() != app.wanted.key() {
            let text = format!(
                "{} is taken, so you are {nick}; you get {} back when it is free (/nick to choose)",
                app.wanted, app.wanted
            );
            app.notice_here_and_lobby(now, &text);
        }
        app.who_for.push_back(WhoFor::Panel);
        send(effects, &Command::Who);
        for tab in &app.tabs {
            if let (Some(room), true) = (tab.room(), tab.joined) {
                send(
                    effects,
                    &Command::Join {
                        room: room.clone(),
                        key: tab.key.as_deref(),
                    },
                );
            }
        }
        return;
    }
    let old = std::mem::replace(&mut app.nick, nick.clone());
    match pending {
        Some((_, true)) => {
            app.notice_here_and_lobby(now, &format!("you have your nick back: {nick}"));
        }
        _ => {
            app.wanted = nick.clone();
            if old != nick {
                app.notice_here_and_lobby(now, &format!("you are now known as {nick}"));
            }
        }
    }
    rename(app, &old, &nick);
}

fn on_err(
    app: &mut App,
    code: &ErrorCode,
    text: String,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) {
    if *code == ErrorCode::NickTaken {
        match app.pending_nick.take() {
            // Taking our nick back failed (someone else was quicker): say nothing.
            Some((_, true)) => return,
            Some(_) if app.conn == Conn::Registering => {
                app.nick_attempt += 1;
                if app.nick_attempt > MAX_NICK_ATTEMPTS {
                    app.error(now, format!("no free nick like {}: /nick NAME", app.wanted));
                    return;
                }
                let next = suffixed(&app.wanted, app.nick_attempt);
                app.nick = next.clone();
                app.pending_nick = Some((next.clone(), false));
                send(effects, &Command::Nick(next));
                return;
            }
            _ => {}
        }
    } else if matches!(code, ErrorCode::BadNick | ErrorCode::MissingArgument) {
        app.pending_nick = None;
    }
    app.error(now, format!("{text} ({code})"));
}

/// Someone (maybe us) changed nick: the lists, the direct tab and `/r` follow.
fn rename(app: &mut App, old: &Nick, new: &Nick) {
    let old_key = old.key();
    if app.users.iter().any(|n| n.key() == old_key) {
        app.users.retain(|n| n.key() != old_key);
        insert_sorted(&mut app.users, new);
    }
    for tab in &mut app.tabs {
        if tab.remove_member(old) {
            tab.add_member(new);
        }
    }
    if old_key != new.key() && app.direct_tab(new).is_none() {
        if let Some(index) = app.direct_tab(old) {
            app.tabs[index].kind = TabKind::Direct(new.clone());
        }
    }
    if app
        .last_direct_from
        .as_ref()
        .is_some_and(|n| n.key() == old_key)
    {
        app.last_direct_from = Some(new.clone());
    }
}

/// The holder of the nick we want left or renamed: claim it.
fn reclaim_if_freed(app: &mut App, freed: &Nick, effects: &mut Vec<Effect>) {
    let wanted: NickKey = app.wanted.key();
    if app.online()
        && freed.key() == wanted
        && app.nick.key() != wanted
        && app.pending_nick.is_none()
    {
        app.pending_nick = Some((app.wanted.clone(), true));
        send(effects, &Command::Nick(app.wanted.clone()));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at() -> NaiveTime {
        NaiveTime::from_hms_opt(12, 0, 0).unwrap()
    }

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    fn net(app: &mut App, event: NetEvent) -> Vec<Effect> {
        update(app, Event::Net(event), at())
    }

    /// Feeds one server line, parsed by the protocol module as the reader does.
    fn server(app: &mut App, line: &str) -> Vec<Effect> {
        net(app, NetEvent::Line(Reply::parse(line).unwrap()))
    }

    fn key_with(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
        update(app, Event::Key(KeyEvent::new(code, modifiers)), at())
    }

    fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
        key_with(app, code, KeyModifiers::NONE)
    }

    /// Types `text` and presses Enter.
    fn enter(app: &mut App, text: &str) -> Vec<Effect> {
        for c in text.chars() {
            key(app, KeyCode::Char(c));
        }
        key(app, KeyCode::Enter)
    }

    fn sent(effects: &[Effect]) -> Vec<&str> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(line) => Some(line.as_str()),
                _ => None,
            })
            .collect()
    }

    /// A tab's lines as text.
    fn shown(tab: &Tab) -> Vec<String> {
        tab.lines()
            .iter()
            .map(|line| line.body.to_string())
            .collect()
    }

    fn last(tab: &Tab) -> String {
        shown(tab).pop().unwrap_or_default()
    }

    fn names(list: &[Nick]) -> Vec<&str> {
        list.iter().map(Nick::as_str).collect()
    }

    /// An app registered as `alice` with `alice` and `bob` online.
    fn online() -> App {
        let mut app = App::new("127.0.0.1:7878", nick("alice"), (80, 24));
        net(&mut app, NetEvent::Connecting { attempt: 1 });
        assert_eq!(
            net(&mut app, NetEvent::Connected),
            [Effect::Send("NICK alice".into())]
        );
        assert_eq!(
            server(&mut app, "OK NICK alice"),
            [Effect::Send("WHO".into())]
        );
        server(&mut app, "WHO alice bob");
        server(&mut app, "END WHO");
        app
    }

    /// `online()` plus a tab for #rust with alice and bob in it, shown.
    fn in_rust() -> App {
        let mut app = online();
        assert_eq!(sent(&enter(&mut app, "/join #rust")), ["JOIN #rust"]);
        server(&mut app, "OK JOIN #rust");
        server(&mut app, "WHO #rust alice bob");
        server(&mut app, "END WHO #rust");
        assert_eq!(app.tab().label(), "#rust");
        app
    }

    // Registration, reconnects, nicks.

    #[test]
    fn registration_sends_nick_then_who_and_fills_the_user_list_quietly() {
        let mut app = App::new("127.0.0.1:7878", nick("alice"), (80, 24));
        assert_eq!(app.conn, Conn::Connecting { attempt: 1 });
        net(&mut app, NetEvent::Connected);
        assert_eq!(app.conn, Conn::Registering);
        server(&mut app, "HELLO chatd 0.1.0 - type HELP for commands");
        server(&mut app, "OK NICK alice");
        assert_eq!(app.conn, Conn::Online);
        server(&mut app, "WHO alice");
        server(&mut app, "WHO Bob carol");
        server(&mut app, "END WHO");
        assert_eq!(names(&app.users), ["alice", "Bob", "carol"]);
        assert_eq!(
            shown(&app.tabs[0]),
            [
                "--- server: chatd 0.1.0 - type HELP for commands",
                "-!- connected to 127.0.0.1:7878 as alice",
            ]
        );
    }

    #[test]
    fn a_taken_nick_gets_a_suffix_and_the_user_is_told() {
        let mut app = App::new("h:1", nick("alice"), (80, 24));
        net(&mut app, NetEvent::Connected);
        let effects = server(&mut app, "ERR NICK_TAKEN nick alice is already in use");
        assert_eq!(sent(&effects), ["NICK alice_"]);
        let effects = server(&mut app, "ERR NICK_TAKEN nick alice_ is already in use");
        assert_eq!(sent(&effects), ["NICK alice_2"]);
        server(&mut app, "OK NICK alice_2");
        assert_eq!(app.nick.as_str(), "alice_2");
        assert_eq!(app.wanted.as_str(), "alice");
        assert!(last(&app.tabs[0]).contains("alice is taken, so you are alice_2"));
        // No error line for the refusals along the way.
        assert!(!shown(&app.tabs[0]).iter().any(|l| l.starts_with("!!!")));
    }

    #[test]
    fn registration_gives_up_after_many_taken_nicks() {
        let mut app = App::new("h:1", nick("alice"), (80, 24));
        net(&mut app, NetEvent::Connected);
        for _ in 0..MAX_NICK_ATTEMPTS {
            let effects = server(&mut app, "ERR NICK_TAKEN nick x is already in use");
            assert_eq!(sent(&effects).len(), 1);
        }
        let effects = server(&mut app, "ERR NICK_TAKEN nick x is already in use");
        assert!(effects.is_empty());
        assert!(last(app.tab()).contains("/nick NAME"));
        // The user can pick one while still registering.
        assert_eq!(sent(&enter(&mut app, "/nick zed")), ["NICK zed"]);
        server(&mut app, "OK NICK zed");
        assert_eq!((app.conn, app.nick.as_str()), (Conn::Online, "zed"));
    }

    #[test]
    fn suffixed_nicks_stay_valid() {
        assert_eq!(suffixed(&nick("bob"), 1).as_str(), "bob_");
        assert_eq!(suffixed(&nick("bob"), 12).as_str(), "bob_12");
        let long = nick(&"a".repeat(MAX_NICK_LEN));
        let next = suffixed(&long, 20);
        assert_eq!(next.as_str().len(), MAX_NICK_LEN);
        assert!(next.as_str().ends_with("_20"));
    }

    #[test]
    fn the_wanted_nick_is_taken_back_when_its_holder_quits() {
        let mut app = App::new("h:1", nick("alice"), (80, 24));
        net(&mut app, NetEvent::Connected);
        server(&mut app, "ERR NICK_TAKEN nick alice is already in use");
        server(&mut app, "OK NICK alice_");
        let effects = server(&mut app, "QUIT alice ping timeout");
        assert_eq!(sent(&effects), ["NICK alice"]);
        server(&mut app, "OK NICK alice");
        assert_eq!(app.nick.as_str(), "alice");
        assert_eq!(last(&app.tabs[0]), "-!- you have your nick back: alice");
    }

    #[test]
    fn the_wanted_nick_is_taken_back_when_its_holder_renames_and_a_lost_race_is_quiet() {
        let mut app = App::new("h:1", nick("alice"), (80, 24));
        net(&mut app, NetEvent::Connected);
        server(&mut app, "ERR NICK_TAKEN nick alice is already in use");
        server(&mut app, "OK NICK alice_");
        let effects = server(&mut app, "NICK alice alicia");
        assert_eq!(sent(&effects), ["NICK alice"]);
        let before = app.tabs[0].lines().len();
        server(&mut app, "ERR NICK_TAKEN nick alice is already in use");
        assert_eq!(app.tabs[0].lines().len(), before);
        assert_eq!(app.nick.as_str(), "alice_");
    }

    #[test]
    fn a_lost_connection_is_told_once_and_counted_down() {
        let mut app = online();
        net(
            &mut app,
            NetEvent::Lost {
                reason: "the server closed the connection".into(),
                retry_in: Duration::from_millis(1500),
            },
        );
        assert_eq!(app.conn, Conn::Waiting { retry_in: 2 });
        assert!(app.users.is_empty());
        assert!(last(&app.tabs[0]).starts_with("-!- connection lost: the server closed"));
        update(&mut app, Event::Tick, at());
        assert_eq!(app.conn, Conn::Waiting { retry_in: 1 });
        // Failed attempts after that change only the status.
        let lines = app.tabs[0].lines().len();
        net(&mut app, NetEvent::Connecting { attempt: 2 });
        assert_eq!(app.conn, Conn::Connecting { attempt: 2 });
        net(
            &mut app,
            NetEvent::Lost {
                reason: "connection refused".into(),
                retry_in: Duration::from_secs(1),
            },
        );
        assert_eq!(app.tabs[0].lines().len(), lines);
        // Typing while disconnected sends nothing and says so.
        assert!(enter(&mut app, "anyone?").is_empty());
        assert_eq!(last(&app.tabs[0]), "!!! not connected: nothing was sent");
    }

    #[test]
    fn a_reconnect_claims_the_nick_again_refills_the_list_and_rejoins_the_rooms() {
        let mut app = in_rust();
        enter(&mut app, "/join #keyed secret");
        server(&mut app, "OK JOIN #keyed");
        server(&mut app, "END WHO #keyed");
        enter(&mut app, "/join #gone");
        server(&mut app, "OK JOIN #gone");
        enter(&mut app, "/part");
        server(&mut app, "OK PART #gone");
        let scrollback = app.tabs[1].lines().len();
        net(
            &mut app,
            NetEvent::Lost {
                reason: "reset".into(),
                retry_in: Duration::from_millis(250),
            },
        );
        assert!(app.tabs[1].members.is_empty());
        net(&mut app, NetEvent::Connecting { attempt: 1 });
        assert_eq!(sent(&net(&mut app, NetEvent::Connected)), ["NICK alice"]);
        let effects = server(&mut app, "OK NICK alice");
        assert_eq!(sent(&effects), ["WHO", "JOIN #rust", "JOIN #keyed secret"]);
        assert!(last(&app.tabs[0]).contains("reconnected to 127.0.0.1:7878 as alice"));
        server(&mut app, "WHO alice bob");
        server(&mut app, "END WHO");
        assert_eq!(names(&app.users), ["alice", "bob"]);
        // The rejoin does not switch tabs; the scrollback was kept.
        let shown_tab = app.current;
        server(&mut app, "OK JOIN #rust");
        server(&mut app, "WHO #rust alice bob");
        server(&mut app, "END WHO #rust");
        assert_eq!(app.current, shown_tab);
        assert!(app.tabs[1].lines().len() > scrollback);
        assert_eq!(names(&app.tabs[1].members), ["alice", "bob"]);
    }

    #[test]
    fn lines_queued_for_nobody_are_not_sent_after_quit_while_disconnected() {
        let mut app = online();
        net(
            &mut app,
            NetEvent::Lost {
                reason: "reset".into(),
                retry_in: Duration::from_secs(1),
            },
        );
        assert_eq!(enter(&mut app, "/quit"), [Effect::Exit]);
        assert_eq!(app.conn, Conn::Closed);
    }

    // Every server line.

    #[test]
    fn all_lines_go_to_the_lobby() {
        let mut app = online();
        server(&mut app, "ALL bob hello there");
        assert_eq!(last(&app.tabs[0]), "<bob> hello there");
        assert!(!app.tabs[0].lines().back().unwrap().mention);
    }

    #[test]
    fn direct_messages_open_a_tab_count_as_unread_and_highlight_it() {
        let mut app = online();
        server(&mut app, "MSG bob psst");
        assert_eq!(app.tabs.len(), 2);
        assert_eq!(app.current, 0);
        let tab = &app.tabs[1];
        assert_eq!(tab.kind, TabKind::Direct(nick("bob")));
        assert_eq!(shown(tab), ["*bob* psst"]);
        assert_eq!((tab.unread, tab.highlight), (1, true));
        assert_eq!(app.unread(), 1);
        assert_eq!(app.last_direct_from, Some(nick("bob")));
        // A second message goes to the same tab, even in another case.
        server(&mut app, "MSG BOB again");
        assert_eq!(app.tabs.len(), 2);
        assert_eq!(app.tabs[1].unread, 2);
    }

    #[test]
    fn join_nick_and_quit_keep_the_user_list_and_say_so() {
        let mut app = online();
        server(&mut app, "JOIN carol");
        assert_eq!(names(&app.users), ["alice", "bob", "carol"]);
        assert_eq!(last(&app.tabs[0]), "-!- carol joined");
        server(&mut app, "NICK carol Caroline");
        assert_eq!(names(&app.users), ["alice", "bob", "Caroline"]);
        assert_eq!(last(&app.tabs[0]), "-!- carol is now known as Caroline");
        server(&mut app, "QUIT Caroline bye all");
        assert_eq!(names(&app.users), ["alice", "bob"]);
        assert_eq!(last(&app.tabs[0]), "-!- Caroline quit (bye all)");
        server(&mut app, "QUIT bob");
        assert_eq!(last(&app.tabs[0]), "-!- bob quit");
        assert_eq!(names(&app.users), ["alice"]);
    }

    #[test]
    fn a_rename_follows_into_the_direct_tab_the_rooms_and_the_reply_target() {
        let mut app = in_rust();
        server(&mut app, "MSG bob hi");
        server(&mut app, "NICK bob robert");
        let dm = app.tabs.iter().position(|t| t.label() == "robert").unwrap();
        assert_eq!(last(&app.tabs[dm]), "-!- bob is now known as robert");
        assert_eq!(names(&app.tabs[1].members), ["alice", "robert"]);
        assert_eq!(last(&app.tabs[1]), "-!- bob is now known as robert");
        assert_eq!(sent(&enter(&mut app, "/r yes?")), ["MSG robert yes?"]);
    }

    #[test]
    fn a_quit_is_told_in_the_rooms_and_the_direct_tab_of_the_leaver() {
        let mut app = in_rust();
        server(&mut app, "MSG bob hi");
        server(&mut app, "QUIT bob gone");
        assert_eq!(names(&app.tabs[1].members), ["alice"]);
        assert_eq!(last(&app.tabs[1]), "-!- bob quit (gone)");
        assert_eq!(last(&app.tabs[2]), "-!- bob quit (gone)");
    }

    #[test]
    fn ping_is_answered_with_pong_and_pong_is_quiet() {
        let mut app = online();
        assert_eq!(sent(&server(&mut app, "PING idle")), ["PONG idle"]);
        assert_eq!(sent(&server(&mut app, "PING")), ["PONG"]);
        let lines = app.tabs[0].lines().len();
        assert!(server(&mut app, "PONG 42").is_empty());
        assert_eq!(app.tabs[0].lines().len(), lines);
    }

    #[test]
    fn bye_without_quit_is_shown_and_the_client_stays() {
        let mut app = online();
        assert!(server(&mut app, "BYE server shutting down").is_empty());
        assert_eq!(
            last(&app.tabs[0]),
            "-!- the server closed the connection: server shutting down"
        );
    }

    #[test]
    fn errors_show_in_the_current_tab_and_change_nothing_else() {
        let mut app = in_rust();
        let effects = server(&mut app, "ERR NOT_IN_ROOM you are not in #rust");
        assert!(effects.is_empty());
        assert_eq!(last(app.tab()), "!!! you are not in #rust (NOT_IN_ROOM)");
        server(
            &mut app,
            "ERR SOMETHING_NEW a code this client does not know",
        );
        assert_eq!(
            last(app.tab()),
            "!!! a code this client does not know (SOMETHING_NEW)"
        );
        assert_eq!(app.conn, Conn::Online);
    }

    #[test]
    fn a_refused_rename_keeps_the_nick() {
        let mut app = online();
        assert_eq!(sent(&enter(&mut app, "/nick bob")), ["NICK bob"]);
        server(&mut app, "ERR NICK_TAKEN nick bob is already in use");
        assert_eq!(app.nick.as_str(), "alice");
        assert_eq!(
            last(app.tab()),
            "!!! nick bob is already in use (NICK_TAKEN)"
        );
    }

    #[test]
    fn server_help_lines_and_unparsed_lines_are_shown() {
        let mut app = online();
        server(&mut app, "HELP NICK <nick>  choose a nick");
        server(&mut app, "END HELP");
        assert_eq!(last(app.tab()), "--- server: NICK <nick>  choose a nick");
        net(&mut app, NetEvent::Unparsed("FROB 1 2".into()));
        assert_eq!(last(&app.tabs[0]), "-!- server: FROB 1 2");
    }

    #[test]
    fn room_lines_update_members_and_show_in_the_room_tab() {
        let mut app = in_rust();
        server(&mut app, "JOIN #rust carol");
        assert_eq!(names(&app.tabs[1].members), ["alice", "bob", "carol"]);
        assert_eq!(last(&app.tabs[1]), "-!- carol joined #rust");
        server(&mut app, "MSG #rust carol hi all");
        assert_eq!(last(&app.tabs[1]), "<carol> hi all");
        server(&mut app, "PART #rust carol off to lunch");
        assert_eq!(last(&app.tabs[1]), "-!- carol left #rust (off to lunch)");
        assert_eq!(names(&app.tabs[1].members), ["alice", "bob"]);
        server(&mut app, "PART #rust bob");
        assert_eq!(last(&app.tabs[1]), "-!- bob left #rust");
        // The side panel shows the room's members in its tab, everyone elsewhere.
        assert_eq!(names(app.side_list()), ["alice"]);
        app.switch_to(0);
        assert_eq!(names(app.side_list()), ["alice", "bob"]);
    }

    #[test]
    fn the_topic_on_join_and_a_topic_change_read_differently() {
        let mut app = online();
        enter(&mut app, "/join #rust");
        server(&mut app, "OK JOIN #rust");
        server(&mut app, "TOPIC #rust bob all about rust");
        server(&mut app, "WHO #rust alice bob");
        server(&mut app, "END WHO #rust");
        assert!(shown(app.tab()).contains(&"-!- topic: all about rust (set by bob)".to_owned()));
        server(&mut app, "TOPIC #rust carol ferris");
        assert_eq!(last(app.tab()), "-!- carol set the topic: ferris");
        assert_eq!(app.tab().topic, Some((nick("carol"), "ferris".to_owned())));
        enter(&mut app, "/topic");
        assert_eq!(last(app.tab()), "--- topic of #rust: ferris (set by carol)");
    }

    #[test]
    fn rooms_listing_and_its_end() {
        let mut app = online();
        assert_eq!(sent(&enter(&mut app, "/rooms")), ["ROOMS"]);
        server(&mut app, "ROOM #a 1");
        server(&mut app, "ROOM #rust 3 all about rust");
        server(&mut app, "END ROOMS");
        assert_eq!(
            shown(app.tab())[1..],
            [
                "--- rooms:",
                "---   #a  1 member",
                "---   #rust  3 members  all about rust"
            ]
        );
        enter(&mut app, "/rooms");
        server(&mut app, "END ROOMS");
        assert_eq!(last(app.tab()), "--- no rooms yet: /join #name creates one");
    }

    #[test]
    fn owner_replies_and_invitations() {
        let mut app = in_rust();
        assert_eq!(sent(&enter(&mut app, "/key s3cret")), ["KEY #rust s3cret"]);
        server(&mut app, "OK KEY #rust");
        assert_eq!(last(app.tab()), "--- #rust now needs a key");
        assert_eq!(sent(&enter(&mut app, "/key")), ["KEY #rust"]);
        server(&mut app, "OK KEY #rust");
        assert_eq!(last(app.tab()), "--- #rust needs no key now");
        assert_eq!(sent(&enter(&mut app, "/private on")), ["PRIVATE #rust on"]);
        server(&mut app, "OK PRIVATE #rust on");
        assert_eq!(last(app.tab()), "--- #rust is now invite-only");
        assert_eq!(
            sent(&enter(&mut app, "/private #rust off")),
            ["PRIVATE #rust off"]
        );
        server(&mut app, "OK PRIVATE #rust off");
        assert_eq!(last(app.tab()), "--- #rust is now open to all");
        assert_eq!(
            sent(&enter(&mut app, "/invite carol")),
            ["INVITE carol #rust"]
        );
        server(&mut app, "OK INVITE carol #rust");
        assert_eq!(last(app.tab()), "--- carol may now join #rust");
        server(&mut app, "INVITE #secret bob");
        assert_eq!(
            last(app.tab()),
            "-!- bob invites you to #secret: /join #secret"
        );
        assert_eq!(
            last(&app.tabs[0]),
            "-!- bob invites you to #secret: /join #secret"
        );
        assert!(app.tabs[0].highlight);
    }

    #[test]
    fn a_key_set_with_key_is_used_when_joining_again() {
        let mut app = in_rust();
        enter(&mut app, "/key k1");
        server(&mut app, "OK KEY #rust");
        net(
            &mut app,
            NetEvent::Lost {
                reason: "reset".into(),
                retry_in: Duration::from_secs(1),
            },
        );
        net(&mut app, NetEvent::Connected);
        assert_eq!(
            sent(&server(&mut app, "OK NICK alice")),
            ["WHO", "JOIN #rust k1"]
        );
    }

    // Every /command.

    #[test]
    fn plain_text_goes_to_the_current_tabs_room_or_person() {
        let mut app = in_rust();
        assert_eq!(sent(&enter(&mut app, "hi room")), ["MSG #rust hi room"]);
        assert_eq!(last(app.tab()), "<alice> hi room");
        assert!(matches!(
            app.tab().lines().back().unwrap().body,
            Body::Chat { own: true, .. }
        ));
        app.switch_to(0);
        assert_eq!(sent(&enter(&mut app, "hi all")), ["ALL hi all"]);
        assert_eq!(last(app.tab()), "<alice> hi all");
        server(&mut app, "MSG bob psst");
        app.switch_to(2);
        assert_eq!(sent(&enter(&mut app, "hi bob")), ["MSG bob hi bob"]);
        assert_eq!(last(app.tab()), "*alice* hi bob");
        // `//` sends a line that starts with `/`.
        assert_eq!(sent(&enter(&mut app, "//shrug")), ["MSG bob /shrug"]);
    }

    #[test]
    fn msg_opens_and_shows_the_conversation_and_r_replies_to_the_last_sender() {
        let mut app = online();
        assert_eq!(sent(&enter(&mut app, "/r hello?")), Vec::<&str>::new());
        assert_eq!(
            last(app.tab()),
            "!!! nobody has sent you a direct message yet"
        );
        assert_eq!(
            sent(&enter(&mut app, "/msg bob hi there")),
            ["MSG bob hi there"]
        );
        assert_eq!(app.tab().label(), "bob");
        assert_eq!(shown(app.tab()), ["*alice* hi there"]);
        app.switch_to(0);
        server(&mut app, "MSG carol hey alice");
        assert_eq!(
            sent(&enter(&mut app, "/r hey carol")),
            ["MSG carol hey carol"]
        );
        assert_eq!(app.tab().label(), "carol");
        assert_eq!(shown(app.tab()), ["*carol* hey alice", "*alice* hey carol"]);
    }

    #[test]
    fn msg_to_a_room_goes_to_its_tab() {
        let mut app = in_rust();
        app.switch_to(0);
        assert_eq!(sent(&enter(&mut app, "/msg #rust yo")), ["MSG #rust yo"]);
        assert_eq!(app.tab().label(), "#rust");
        assert_eq!(last(app.tab()), "<alice> yo");
    }

    #[test]
    fn bad_arguments_and_unknown_commands_are_local_errors() {
        let mut app = online();
        for (line, error) in [
            ("/msg", "usage: /msg NICK|#room TEXT"),
            ("/msg bob", "usage: /msg NICK|#room TEXT"),
            (
                "/msg 1bob hi",
                "\"1bob\" is not a nick: a nick starts with a letter",
            ),
            ("/nick", "usage: /nick NAME"),
            ("/join", "usage: /join #room [key]"),
            ("/join rust", "bad room name rust"),
            ("/private #a maybe", "usage: /private [#room] on|off"),
            ("/invite", "usage: /invite NICK [#room]"),
            ("/frob", "unknown command /frob"),
            ("/part", "/part needs a #room outside a room tab"),
            ("/topic", "/topic needs a #room outside a room tab"),
            ("/invite bob", "/invite needs a #room outside a room tab"),
            ("/key k", "/key needs a #room outside a room tab"),
            ("/private on", "/private needs a #room outside a room tab"),
            ("/close", "the lobby tab stays open"),
        ] {
            assert!(sent(&enter(&mut app, line)).is_empty(), "{line}");
            let shown = last(app.tab());
            assert!(
                shown.starts_with("!!! ") && shown.contains(error),
                "{line}: {shown}"
            );
        }
    }

    #[test]
    fn nick_renames_and_the_new_nick_is_the_one_wanted() {
        let mut app = online();
        assert_eq!(sent(&enter(&mut app, "/nick Alicia")), ["NICK Alicia"]);
        server(&mut app, "OK NICK Alicia");
        assert_eq!(
            (app.nick.as_str(), app.wanted.as_str()),
            ("Alicia", "Alicia")
        );
        assert_eq!(names(&app.users), ["Alicia", "bob"]);
        assert_eq!(last(app.tab()), "-!- you are now known as Alicia");
    }

    #[test]
    fn who_lists_are_shown_when_asked_for() {
        let mut app = in_rust();
        app.switch_to(0);
        assert_eq!(sent(&enter(&mut app, "/who")), ["WHO"]);
        server(&mut app, "WHO alice bob carol");
        server(&mut app, "END WHO");
        assert_eq!(last(app.tab()), "--- online (3): alice bob carol");
        assert_eq!(sent(&enter(&mut app, "/who #rust")), ["WHO #rust"]);
        server(&mut app, "WHO #rust alice bob");
        server(&mut app, "END WHO #rust");
        assert_eq!(last(app.tab()), "--- in #rust (2): alice bob");
        // A room we are not in.
        assert_eq!(sent(&enter(&mut app, "/who #go")), ["WHO #go"]);
        server(&mut app, "WHO #go carol");
        server(&mut app, "END WHO #go");
        assert_eq!(
            shown(app.tab())[shown(app.tab()).len() - 2..],
            ["--- in #go: carol", "--- end of the list of #go"]
        );
    }

    #[test]
    fn join_opens_a_tab_and_part_closes_it() {
        let mut app = online();
        assert_eq!(sent(&enter(&mut app, "/join #Rust")), ["JOIN #Rust"]);
        server(&mut app, "OK JOIN #rust");
        assert_eq!(app.current, 1);
        assert_eq!(last(app.tab()), "-!- you joined #rust");
        assert_eq!(
            sent(&enter(&mut app, "/part bye now")),
            ["PART #rust bye now"]
        );
        server(&mut app, "OK PART #rust");
        assert_eq!(app.tabs.len(), 1);
        assert_eq!(app.current, 0);
        assert_eq!(last(app.tab()), "-!- you left #rust");
        assert_eq!(sent(&enter(&mut app, "/part #go")), ["PART #go"]);
        assert_eq!(
            sent(&enter(&mut app, "/join #k key with spaces")),
            ["JOIN #k key with spaces"]
        );
    }

    #[test]
    fn topic_rooms_invite_key_private_with_a_named_room() {
        let mut app = online();
        assert_eq!(
            sent(&enter(&mut app, "/topic #a new topic")),
            ["TOPIC #a new topic"]
        );
        assert_eq!(sent(&enter(&mut app, "/invite bob #a")), ["INVITE bob #a"]);
        assert_eq!(sent(&enter(&mut app, "/key #a k")), ["KEY #a k"]);
        assert_eq!(sent(&enter(&mut app, "/key #a")), ["KEY #a"]);
        assert_eq!(sent(&enter(&mut app, "/private #a on")), ["PRIVATE #a on"]);
        enter(&mut app, "/topic #nowhere");
        assert_eq!(last(app.tab()), "--- #nowhere has no topic");
    }

    #[test]
    fn close_parts_a_room_and_closes_a_conversation() {
        let mut app = in_rust();
        assert_eq!(sent(&enter(&mut app, "/close")), ["PART #rust"]);
        server(&mut app, "MSG bob hi");
        app.switch_to(2);
        assert!(sent(&enter(&mut app, "/close")).is_empty());
        assert_eq!(app.tabs.len(), 2);
        assert_eq!(app.current, 1);
    }

    #[test]
    fn clear_empties_the_tab() {
        let mut app = online();
        server(&mut app, "ALL bob one");
        enter(&mut app, "/clear");
        assert!(app.tab().lines().is_empty());
        server(&mut app, "ALL bob two");
        assert_eq!(shown(app.tab()), ["<bob> two"]);
    }

    #[test]
    fn help_lists_every_command_and_key() {
        let mut app = online();
        assert!(enter(&mut app, "/help").is_empty());
        let text = shown(app.tab()).join("\n");
        for name in commands::names() {
            assert!(text.contains(&format!("  {name} ")), "{name}");
        }
        for (key, _) in KEYS {
            assert!(text.contains(key), "{key}");
        }
    }

    #[test]
    fn quit_sends_quit_and_leaves_on_bye_or_after_the_grace_ticks() {
        let mut app = online();
        assert_eq!(sent(&enter(&mut app, "/quit see you")), ["QUIT see you"]);
        assert_eq!(server(&mut app, "BYE"), [Effect::Exit]);
        assert_eq!(app.conn, Conn::Closed);

        let mut app = online();
        assert_eq!(sent(&enter(&mut app, "/quit")), ["QUIT"]);
        assert!(update(&mut app, Event::Tick, at()).is_empty());
        assert_eq!(update(&mut app, Event::Tick, at()), [Effect::Exit]);

        let mut app = online();
        enter(&mut app, "/quit");
        let lost = NetEvent::Lost {
            reason: "closed".into(),
            retry_in: Duration::from_secs(1),
        };
        assert_eq!(net(&mut app, lost), [Effect::Exit]);
    }

    #[test]
    fn ctrl_c_quits_and_twice_leaves_at_once() {
        let mut app = online();
        let effects = key_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(sent(&effects), ["QUIT"]);
        let effects = key_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(effects, [Effect::Exit]);
    }

    #[test]
    fn a_signal_sends_quit_and_leaves() {
        let mut app = online();
        let effects = update(&mut app, Event::Signal, at());
        assert_eq!(effects, [Effect::Send("QUIT".into()), Effect::Exit]);
    }

    // Tabs, unread counts, mentions, scrolling, the input line.

    #[test]
    fn tabs_switch_with_alt_number_and_ctrl_n_p() {
        let mut app = in_rust();
        server(&mut app, "MSG bob hi");
        assert_eq!(app.tabs.len(), 3);
        key_with(&mut app, KeyCode::Char('1'), KeyModifiers::ALT);
        assert_eq!(app.current, 0);
        key_with(&mut app, KeyCode::Char('3'), KeyModifiers::ALT);
        assert_eq!(app.current, 2);
        key_with(&mut app, KeyCode::Char('9'), KeyModifiers::ALT);
        assert_eq!(app.current, 2, "no tab 9: stays");
        key_with(&mut app, KeyCode::Char('n'), KeyModifiers::CONTROL);
        assert_eq!(app.current, 0, "wraps around");
        key_with(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL);
        assert_eq!(app.current, 2);
        key_with(&mut app, KeyCode::Left, KeyModifiers::ALT);
        assert_eq!(app.current, 1);
        key_with(&mut app, KeyCode::Right, KeyModifiers::ALT);
        assert_eq!(app.current, 2);
    }

    #[test]
    fn unread_counts_clear_when_the_tab_is_shown_and_the_new_marker_stays_until_left() {
        let mut app = in_rust();
        app.switch_to(0);
        server(&mut app, "MSG #rust bob one");
        server(&mut app, "JOIN #rust carol");
        server(&mut app, "MSG #rust carol two");
        // Notices are not counted.
        assert_eq!(app.tabs[1].unread, 2);
        assert!(!app.tabs[1].highlight);
        assert_eq!(app.unread(), 2);
        let first_new = app.tabs[1].read_marker.unwrap();
        assert_eq!(
            app.tabs[1].lines()[(first_new - app.tabs[1].seq(0)) as usize].body,
            Body::Chat {
                from: nick("bob"),
                text: "one".into(),
                direct: false,
                own: false
            }
        );
        app.switch_to(1);
        assert_eq!(app.tabs[1].unread, 0);
        assert_eq!(app.unread(), 0);
        assert!(app.tabs[1].read_marker.is_some());
        app.switch_to(0);
        assert_eq!(app.tabs[1].read_marker, None);
    }

    #[test]
    fn a_mention_highlights_the_line_and_another_tab() {
        let mut app = in_rust();
        server(&mut app, "MSG #rust bob alice: look");
        assert!(app.tab().lines().back().unwrap().mention);
        assert!(!app.tab().highlight, "the tab shown is not marked");
        server(&mut app, "ALL bob ALICE, hi");
        assert!(app.tabs[0].highlight);
        assert_eq!(app.tabs[0].unread, 1);
        server(&mut app, "MSG #rust bob malice aliced");
        assert!(!app.tab().lines().back().unwrap().mention);
        assert!(mentions("@alice!", &nick("alice")));
        assert!(!mentions("alice_x", &nick("alice")));
    }

    #[test]
    fn scrolling_up_keeps_the_view_and_counts_new_lines_below() {
        let mut app = online();
        for n in 0..100 {
            server(&mut app, &format!("ALL bob line {n}"));
        }
        key(&mut app, KeyCode::PageUp);
        let page = app.pane_rows() - 2;
        assert_eq!(app.tab().scroll, page);
        server(&mut app, "ALL bob new one");
        server(&mut app, "ALL bob new two");
        assert_eq!(
            app.tab().scroll,
            page + 2,
            "the view stays on the same lines"
        );
        assert_eq!(app.tab().below, 2);
        assert_eq!(app.unread(), 2);
        key(&mut app, KeyCode::PageDown);
        assert_eq!((app.tab().scroll, app.tab().below), (2, 2));
        update(
            &mut app,
            Event::Mouse(MouseEvent {
                kind: MouseEventKind::ScrollDown,
                column: 0,
                row: 0,
                modifiers: KeyModifiers::NONE,
            }),
            at(),
        );
        assert_eq!((app.tab().scroll, app.tab().below), (0, 0));
        for _ in 0..100 {
            update(
                &mut app,
                Event::Mouse(MouseEvent {
                    kind: MouseEventKind::ScrollUp,
                    column: 0,
                    row: 0,
                    modifiers: KeyModifiers::NONE,
                }),
                at(),
            );
        }
        assert_eq!(
            app.tab().scroll,
            app.tab().lines().len() - 1,
            "stops at the top"
        );
    }

    #[test]
    fn page_size_follows_the_terminal() {
        let mut app = online();
        update(
            &mut app,
            Event::Resize {
                width: 40,
                height: 12,
            },
            at(),
        );
        assert_eq!(app.size, (40, 12));
        assert_eq!(app.pane_rows(), 9);
        for n in 0..30 {
            server(&mut app, &format!("ALL bob {n}"));
        }
        key(&mut app, KeyCode::PageUp);
        assert_eq!(app.tab().scroll, 7);
    }

    #[test]
    fn the_scrollback_is_bounded() {
        let mut app = online();
        for n in 0..SCROLLBACK_LEN + 50 {
            server(&mut app, &format!("ALL bob {n}"));
        }
        let tab = app.tab();
        assert_eq!(tab.lines().len(), SCROLLBACK_LEN);
        assert_eq!(last(tab), format!("<bob> {}", SCROLLBACK_LEN + 49));
        assert_eq!(
            tab.seq(0),
            51,
            "the connect notice and 50 more were dropped"
        );
    }

    #[test]
    fn history_with_up_and_down() {
        let mut app = online();
        enter(&mut app, "first");
        enter(&mut app, "second");
        key(&mut app, KeyCode::Up);
        assert_eq!(app.editor.text(), "second");
        key(&mut app, KeyCode::Up);
        assert_eq!(app.editor.text(), "first");
        key(&mut app, KeyCode::Down);
        key(&mut app, KeyCode::Down);
        assert_eq!(app.editor.text(), "");
        key(&mut app, KeyCode::Up);
        assert_eq!(sent(&key(&mut app, KeyCode::Enter)), ["ALL second"]);
    }

    #[test]
    fn editing_keys_reach_the_input_line() {
        let mut app = online();
        for c in "hello big world".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key_with(&mut app, KeyCode::Char('w'), KeyModifiers::CONTROL);
        assert_eq!(app.editor.text(), "hello big ");
        key_with(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
        key(&mut app, KeyCode::Delete);
        key_with(&mut app, KeyCode::Char('e'), KeyModifiers::CONTROL);
        key(&mut app, KeyCode::Backspace);
        assert_eq!(app.editor.text(), "ello big");
        key(&mut app, KeyCode::Home);
        key_with(&mut app, KeyCode::Right, KeyModifiers::CONTROL);
        key_with(&mut app, KeyCode::Char('k'), KeyModifiers::CONTROL);
        assert_eq!(app.editor.text(), "ello");
        key(&mut app, KeyCode::End);
        key(&mut app, KeyCode::Left);
        key_with(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
        assert_eq!(app.editor.text(), "o");
        key_with(&mut app, KeyCode::Backspace, KeyModifiers::ALT);
        assert_eq!(app.editor.text(), "o");
        key(&mut app, KeyCode::End);
        key_with(&mut app, KeyCode::Backspace, KeyModifiers::ALT);
        assert_eq!(app.editor.text(), "");
        assert_eq!(
            key_with(&mut app, KeyCode::Char('l'), KeyModifiers::CONTROL),
            [Effect::Redraw]
        );
    }

    #[test]
    fn tab_completes_nicks_room_members_first_and_commands() {
        let mut app = in_rust();
        server(&mut app, "JOIN bobby");
        server(&mut app, "JOIN #rust zed");
        for c in "b".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Tab);
        assert_eq!(app.editor.text(), "bob: ");
        key(&mut app, KeyCode::Tab);
        assert_eq!(app.editor.text(), "bobby: ");
        app.editor.take();
        key(&mut app, KeyCode::Char('z'));
        key(&mut app, KeyCode::Tab);
        assert_eq!(app.editor.text(), "zed: ");
        app.editor.take();
        // Our own nick is not offered.
        key(&mut app, KeyCode::Char('a'));
        key(&mut app, KeyCode::Tab);
        assert_eq!(app.editor.text(), "a");
        app.editor.take();
        for c in "/jo".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Tab);
        assert_eq!(app.editor.text(), "/join ");
        key(&mut app, KeyCode::Char('#'));
        key(&mut app, KeyCode::Char('r'));
        key(&mut app, KeyCode::Tab);
        assert_eq!(app.editor.text(), "/join #rust ");
    }
}
