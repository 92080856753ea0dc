//! `chat --plain`: a line mode for scripts and dumb terminals.
//!
//! Before `NICK` it turns on the extensions of the full-screen client but `presence` (`CAP
//! actions`, `away`, `owner`, see `app::Caps`; it keeps no list of who is online); their
//! answers are the only server lines not written out,
//! so that the output starts as it did before them, and an older server's refusals are silent.
//! Every other line from the server is written to the output as received (the protocol's own
//! spelling, see protocol.md: `ME`, `AWAY` and `OWNER` lines too), one per line, but for the
//! characters the text rule refuses, each written as U+FFFD on the output and on the error
//! output alike (`printable::for_output`; TABs stay), whatever the server or the user sent
//! (issue 13). Input lines are sent once the nick is registered: plain text as `ALL`,
//! `/commands` as in the full-screen client (the ones that need a room need it named, there
//! being no tabs, and `/me` and `/send` go to the lobby, see `files`; `/ignore` is the
//! full-screen client's only, this mode showing every server line). Messages for the user (a suffixed nick, a mistyped
//! command, `/help`, and the help for a server command word typed alone, `HELP`, which is not
//! sent) go to the error output. A `PING` from the server is answered.
//!
//! When the connection is lost (the server closed it, restarted, or the network failed) and
//! the input goes on, it connects again with the full-screen client's back-off (a note on the
//! error output says so once per loss; input lines typed meanwhile wait), registers, joins
//! its rooms again and prints what it missed (issue 15): with `CAP ids` it remembers the
//! last id of the lobby, of each room and of each person it had direct messages with, asks
//! `HISTORY <target> AFTER <id>` (paging on until the server has no more) and prints each
//! missed line as the server's `HIST` line (its id and time included), leaving out those it
//! printed live meanwhile; a note says how many were missed where. A server without ids or
//! `HISTORY` resumes without them, quietly.
//!
//! A registered nick (`ERR NICK_REGISTERED`) is logged in to, on every connection, before
//! anything is resumed; the account commands are sent and their answers noted (`login`,
//! issue 16). The direct conversations resume only while logged in (a guest has no direct
//! history), after the `PONG` of the `PING` sent once `OK LOGIN` is printed: the messages
//! that waited for the login come before it, printed as they come, and are not printed
//! again (`resume`). That `PONG` is not printed. When another client logs in to the account (`BYE logged in elsewhere`) the run
//! ends with an error instead of reconnecting.
//!
//! The run ends when the input ends (after `QUIT`, once the server closed, at most
//! [`QUIT_DEADLINE`] later; or at once if it ends while there is no connection).
//!
//! Threads: `chat-reader` reads the socket (one per connection), `chat-stdin` reads the
//! input; the calling thread registers, writes, prints and waits out the back-off. When the
//! run ends before the input does, `chat-stdin` may still be blocked reading it, which
//! nothing can wake: it is left to end with the process.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, Write};
use std::thread;
use std::time::{Duration, Instant};

use files::{FileLine, PlainFiles};
use login::{PlainLogin, Step};
use resume::{Resume, Taken};

use crossbeam_channel::{Receiver, RecvTimeoutError, never, select};

mod files;
mod login;
mod resume;

pub use login::{Ask, Login};

use crate::app::{Caps, MAX_NICK_ATTEMPTS, NickRefusal, PLAIN_CAPS_WANTED, suffixed};
use crate::commands::{self, Input, Target, UserCommand};
use crate::event::NetEvent;
use crate::net::{self, Connection, NetConfig};
use crate::printable::put_line;
use chatd_proto::reason::LOGGED_IN_ELSEWHERE;
use chatd_proto::{ACTION_PREFIX, Capability, Command, Nick, Reply, Room, RoomKey, Target as To};

/// How long to wait for the server to close after `QUIT`.
pub const QUIT_DEADLINE: Duration = Duration::from_secs(5);

/// Input lines kept while there is no connection; more wait in the input itself.
const HELD_INPUT: usize = 64;

/// What the reader thread reports.
enum Incoming {
    Event(NetEvent),
    /// The connection ended; why.
    End(String),
}

/// How one connection ended.
enum Ended {
    /// The run is over: the input ended or `/quit` was sent, and the server closed.
    Done,
    /// The connection was lost while the input goes on; why.
    Lost(String),
}

/// Runs the line mode: connects as `config` says (TLS included) as `nick` (or a suffixed nick if it is taken,
/// or logged in with `login` if it is registered), sends the lines of `input`, writes the
/// server's lines to `output` and notes for the user to `notes`. Returns when the input
/// ended and the server closed, or the server closed.
pub fn run(
    config: NetConfig,
    nick: Nick,
    login: Login,
    input: impl BufRead + Send + 'static,
    output: &mut impl Write,
    notes: &mut impl Write,
) -> io::Result<()> {
    let mut stream = net::connect(&config)?;
    let (typed, from_input) = crossbeam_channel::bounded::<String>(64);
    let stdin_thread = thread::Builder::new()
        .name("chat-stdin".to_owned())
        .spawn(move || {
            for line in input.lines() {
                let Ok(line) = line else { return };
                if typed.send(line).is_err() {
                    return;
                }
            }
        })?;
    let mut session = Session::new(nick, login, &config);
    let mut failures: u32 = 0;
    // The loss is told once, not again for each attempt that fails before registering.
    let mut told = false;
    let result = loop {
        let started = Instant::now();
        let mut reason = match session.connection(stream, &from_input, output, notes) {
            Ok(Ended::Done) => break Ok(()),
            Ok(Ended::Lost(reason)) => reason,
            Err(error) => break Err(error),
        };
        if started.elapsed() >= config.stable_after {
            failures = 0;
        }
        if session.registered {
            told = false;
        }
        // Connect again with the full-screen client's back-off, holding the input meanwhile.
        let mut refusal: Option<io::Error> = None;
        let reconnected = loop {
            failures = failures.saturating_add(1);
            let wait = match &refusal {
                Some(error) => config.backoff_after(failures, error),
                None => config.backoff(failures),
            };
            if !told {
                put_line(
                    notes,
                    format_args!("chat: {reason}; reconnecting (first try in {wait:?})"),
                )?;
                told = true;
            }
            if !session.hold_input(&from_input, Instant::now() + wait) {
                // The input ended while away: nothing is left to send.
                break None;
            }
            match net::connect(&config) {
                Ok(stream) => break Some(stream),
                Err(error) => {
                    reason = error.to_string();
                    refusal = Some(error);
                }
            }
        };
        match reconnected {
            Some(next) => stream = next,
            None => break Ok(()),
        }
    };
    session.files.stop();
    if stdin_thread.is_finished() {
        let _ = stdin_thread.join();
    }
    result
}

/// What the line mode keeps across connections, and the current one.
struct Session {
    /// The current connection; `None` between connections.
    stream: Option<Connection>,
    wanted: Nick,
    registered: bool,
    /// Refusals of the nick so far (the next suffix).
    attempt: u32,
    /// Who sent the last direct message, for `/r`.
    last_from: Option<Nick>,
    /// The extensions the server turned on.
    caps: Caps,
    /// The input has ended.
    input_ended: bool,
    /// Input lines read while there was no connection, sent once registered again.
    held: VecDeque<String>,
    /// We were registered on an earlier connection: the next registration resumes.
    again: bool,
    /// The rooms we are in and the key we joined with, to join again after a reconnect.
    rooms: Vec<(Room, Option<String>)>,
    /// Keys given with `/join`, until its `OK JOIN`.
    keys: HashMap<RoomKey, Option<String>>,
    /// The ids printed and the history asked after a reconnect.
    resume: Resume,
    /// After a reconnect: the direct conversations are to resume, once logged in and the
    /// messages that waited for the login are in.
    direct_due: bool,
    /// Logging in to a registered nick, and the account commands.
    login: PlainLogin,
    /// `/send`, `/save` and the numbered files.
    files: PlainFiles,
}

impl Session {
    fn new(wanted: Nick, login: Login, config: &NetConfig) -> Session {
        Session {
            login: PlainLogin::new(&wanted, login),
            stream: None,
            wanted,
            registered: false,
            attempt: 0,
            last_from: None,
            caps: Caps::default(),
            input_ended: false,
            held: VecDeque::new(),
            again: false,
            rooms: Vec::new(),
            keys: HashMap::new(),
            resume: Resume::default(),
            direct_due: false,
            files: PlainFiles::new(&config.trust),
        }
    }

    fn send(&self, command: &Command<'_>) -> io::Result<()> {
        self.send_line(&command.to_string())
    }

    /// [`Session::send`] for a line built already (the account side's). A write that fails
    /// means the connection is gone (a server or network that closed it, maybe at once after
    /// accepting it): it is shut, so that the reader reports the loss and the run connects
    /// again, rather than ending.
    fn send_line(&self, line: &str) -> io::Result<()> {
        let writer = self
            .stream
            .as_ref()
            .ok_or_else(|| io::Error::other("no connection"))?;
        if writer.write_all(format!("{line}\n").as_bytes()).is_err() {
            writer.shutdown();
        }
        Ok(())
    }

    /// Runs one connection: a reader thread for it, registration, then lines both ways
    /// until it ends.
    fn connection(
        &mut self,
        stream: Connection,
        from_input: &Receiver<String>,
        output: &mut impl Write,
        notes: &mut impl Write,
    ) -> io::Result<Ended> {
        let read_half = stream.clone();
        let (incoming, from_server) = crossbeam_channel::unbounded();
        let reader = thread::Builder::new()
            .name("chat-reader".to_owned())
            .spawn(move || {
                let reason =
                    read_half.read_lines(|event| incoming.send(Incoming::Event(event)).is_ok());
                let _ = incoming.send(Incoming::End(reason));
            })?;
        self.stream = Some(stream);
        self.registered = false;
        self.attempt = 0;
        self.resume.new_connection();
        self.login.new_connection();
        let result = self.serve(&from_server, from_input, output, notes);
        if let Some(stream) = self.stream.take() {
            stream.shutdown();
        }
        self.files.connection_lost(notes)?;
        let _ = reader.join();
        result
    }

    fn serve(
        &mut self,
        from_server: &Receiver<Incoming>,
        from_input: &Receiver<String>,
        output: &mut impl Write,
        notes: &mut impl Write,
    ) -> io::Result<Ended> {
        for command in self.caps.ask(&PLAIN_CAPS_WANTED) {
            self.send(&command)?;
        }
        self.send(&Command::Nick(self.wanted.clone()))?;
        let mut quit_deadline: Option<Instant> = None;
        let no_input = never();
        let from_files = self.files.events();
        loop {
            // Lines held while away go first, once registered; then the end of the input
            // that came meanwhile.
            while self.registered && quit_deadline.is_none() {
                let Some(line) = self.held.pop_front() else {
                    break;
                };
                if self.on_input(&line, notes)? {
                    quit_deadline = Some(Instant::now() + QUIT_DEADLINE);
                }
            }
            // The end of the input waits for the files being sent or saved.
            if self.registered && self.input_ended && quit_deadline.is_none() && self.files.idle() {
                self.send(&Command::Quit { reason: None })?;
                quit_deadline = Some(Instant::now() + QUIT_DEADLINE);
            }
            // Input waits until the nick is registered, and stops being read after QUIT.
            let input = if self.registered && quit_deadline.is_none() {
                from_input
            } else {
                &no_input
            };
            // The next thing due: leaving after QUIT, or a login refused for a while.
            let due = match (quit_deadline, self.login.due(self.registered)) {
                (Some(quit), Some(login)) => Some(quit.min(login)),
                (quit, login) => quit.or(login),
            };
            let timeout = due.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            select! {
                recv(from_server) -> incoming => match incoming {
                    Ok(Incoming::Event(event)) => {
                        self.on_server(event, output, notes)?;
                        self.resume_direct()?;
                    }
                    Ok(Incoming::End(reason)) => {
                        if quit_deadline.is_some() {
                            return Ok(Ended::Done);
                        }
                        if self.login.taken_over {
                            return Err(io::Error::other(format!(
                                "another client logged in as {}, so the server closed this \
                                 connection; not reconnecting, or the two would take the \
                                 account from each other in turn",
                                self.wanted
                            )));
                        }
                        return Ok(Ended::Lost(reason));
                    }
                    Err(_) => return Ok(Ended::Done),
                },
                recv(from_files) -> event => {
                    let event = event.expect("the session holds the file threads' sender");
                    for line in self.files.on_event(event, self.registered, notes)? {
                        self.send_line(&line)?;
                    }
                }
                recv(input) -> line => match line {
                    Ok(line) => {
                        if self.on_input(&line, notes)? {
                            quit_deadline = Some(Instant::now() + QUIT_DEADLINE);
                        }
                    }
                    Err(_) => self.input_ended = true,
                },
                default(timeout) => {
                    if quit_deadline.is_some_and(|quit| quit <= Instant::now()) {
                        put_line(notes, "chat: the server did not close the connection after QUIT")?;
                        return Ok(Ended::Done);
                    }
                    if let Some(line) = self.login.retry(self.registered) {
                        self.send_line(&line)?;
                    }
                }
            }
        }
    }

    /// Between connections, until `deadline`: keeps the input lines typed meanwhile (up to
    /// [`HELD_INPUT`]). Returns false when the input ended with nothing left to send.
    fn hold_input(&mut self, from_input: &Receiver<String>, deadline: Instant) -> bool {
        while !self.input_ended && self.held.len() < HELD_INPUT {
            match from_input.recv_deadline(deadline) {
                Ok(line) => self.held.push_back(line),
                Err(RecvTimeoutError::Timeout) => return true,
                Err(RecvTimeoutError::Disconnected) => self.input_ended = true,
            }
        }
        if self.input_ended && self.held.is_empty() {
            return false;
        }
        // The rest of the input waits in its channel; only the back-off is waited out.
        thread::sleep(deadline.saturating_duration_since(Instant::now()));
        true
    }

    fn on_server(
        &mut self,
        event: NetEvent,
        output: &mut impl Write,
        notes: &mut impl Write,
    ) -> io::Result<()> {
        let (id, reply) = match event {
            NetEvent::Line(reply) => (None, reply),
            NetEvent::IdLine(id, reply) => (Some(id), reply),
            NetEvent::Unparsed(line) => {
                put_line(output, &line)?;
                return output.flush();
            }
            _ => return Ok(()),
        };
        if self.caps.answer(&reply) {
            return Ok(());
        }
        if let Reply::Pong { token } = &reply {
            if self.login.delivered(token.as_deref()) {
                return Ok(());
            }
        }
        // An upload's answer is its own, even while an account command or a `HISTORY` waits.
        if let FileLine::Ours { hide } = self.files.on_reply(&reply, notes)? {
            if !hide {
                put_line(output, &reply)?;
            }
            return output.flush();
        }
        match self.resume.on_reply(&reply, output, notes)? {
            Taken::No => {}
            Taken::Yes => return self.files.offered(&reply, notes),
            Taken::More(next) => return self.send(&next),
        }
        put_line(output, &reply)?;
        output.flush()?;
        self.files.offered(&reply, notes)?;
        match self.login.on_reply(&reply, self.registered, notes)? {
            Step::NotMine => {}
            Step::Done => return Ok(()),
            Step::Send(line) => return self.send_line(&line),
            Step::LoggedIn(nick) => {
                if !self.registered {
                    self.on_registered(nick, notes)?;
                }
                if self.caps.has(Capability::Ids) {
                    let barrier = self.login.delivery_barrier();
                    self.send_line(&barrier)?;
                }
                return Ok(());
            }
        }
        // A message that waited for our login is printed as its `HIST` line, with its id.
        let id = match &reply {
            Reply::Hist {
                target: To::Nick(_),
                id,
                ..
            } => Some(*id),
            _ => id,
        };
        if let Some(id) = id {
            self.resume.printed_live(id, &reply);
        }
        match reply {
            Reply::Ping { token } => self.send(&Command::Pong {
                token: token.as_deref(),
            })?,
            Reply::OkNick(nick) if !self.registered => {
                self.login.renamed(&nick);
                self.on_registered(nick, notes)?;
            }
            Reply::OkNick(nick) => self.login.renamed(&nick),
            Reply::Bye {
                reason: Some(reason),
            } if reason == LOGGED_IN_ELSEWHERE => self.login.taken_over = true,
            Reply::OkJoin(room) => {
                let key = room.key();
                if self.rooms.iter().any(|(r, _)| r.key() == key) {
                    self.resume(To::Room(room))?;
                } else {
                    let with = self.keys.remove(&key).flatten();
                    self.rooms.push((room, with));
                }
            }
            Reply::OkPart(room) => self.rooms.retain(|(r, _)| r.key() != room.key()),
            // The nick wanted is registered: log in (a suffixed one is like a taken one).
            Reply::Err { code, .. }
                if NickRefusal::of(&code) == Some(NickRefusal::Registered)
                    && !self.registered
                    && self.attempt == 0 =>
            {
                if let Some(line) = self.login.on_registered_nick(&self.wanted)? {
                    self.send_line(&line)?;
                }
            }
            Reply::Err { code, .. }
                if matches!(
                    NickRefusal::of(&code),
                    Some(NickRefusal::Taken | NickRefusal::Registered)
                ) && !self.registered =>
            {
                self.attempt += 1;
                if self.attempt > MAX_NICK_ATTEMPTS {
                    return Err(io::Error::other(format!(
                        "no free nick like {}",
                        self.wanted
                    )));
                }
                self.send(&Command::Nick(suffixed(&self.wanted, self.attempt)))?;
            }
            Reply::Msg { from, .. }
            | Reply::Me {
                target: To::Nick(_),
                from,
                ..
            } => self.last_from = Some(from),
            _ => {}
        }
        Ok(())
    }

    /// `OK NICK` or `OK LOGIN` while registering: registered; after a reconnect, the rooms
    /// are joined again and what was missed is asked for.
    fn on_registered(&mut self, nick: Nick, notes: &mut impl Write) -> io::Result<()> {
        self.registered = true;
        if nick.key() != self.wanted.key() {
            put_line(
                notes,
                format_args!("chat: {} is taken; you are {nick}", self.wanted),
            )?;
        }
        if self.again {
            for (room, key) in &self.rooms {
                self.send(&Command::Join {
                    room: room.clone(),
                    key: key.as_deref(),
                })?;
            }
            self.resume(To::Lobby)?;
            self.direct_due = true;
        }
        self.again = true;
        Ok(())
    }

    /// After a reconnect, once the account's direct messages can be asked for: asks what
    /// each direct conversation missed. A guest never asks (it would get `LOGIN_REQUIRED`).
    fn resume_direct(&mut self) -> io::Result<()> {
        if !(self.direct_due && self.login.direct_history()) {
            return Ok(());
        }
        self.direct_due = false;
        for command in self.resume.ask_direct(self.caps.has(Capability::Ids)) {
            self.send(&command)?;
        }
        Ok(())
    }

    /// After a reconnect: asks for what `target` missed, if the server can tell.
    fn resume(&mut self, target: To) -> io::Result<()> {
        match self.resume.ask(target, self.caps.has(Capability::Ids)) {
            Some(command) => self.send(&command),
            None => Ok(()),
        }
    }

    /// Sends what one input line asks for; returns true for `/quit`.
    fn on_input(&mut self, line: &str, notes: &mut impl Write) -> io::Result<bool> {
        let command = match commands::parse(line) {
            Ok(None) => return Ok(false),
            Ok(Some(Input::Text(text))) => {
                self.send(&Command::All { text })?;
                return Ok(false);
            }
            Ok(Some(Input::Command(command))) => command,
            Ok(Some(Input::ServerWord { word, command })) => {
                for line in commands::help_lines() {
                    put_line(notes, &line)?;
                }
                put_line(
                    notes,
                    format_args!(
                        "chat: {word} is a command of the server's protocol (for nc); in chat, \
                     commands start with / ({command}); /say {word} sends it as a message"
                    ),
                )?;
                return Ok(false);
            }
            Err(message) => {
                put_line(notes, format_args!("chat: {message}"))?;
                return Ok(false);
            }
        };
        let need_room = |name: &str| format!("chat: {name} needs a #room in --plain mode");
        match command {
            UserCommand::Msg {
                target: Target::Nick(to),
                text,
            } => {
                self.resume.wrote_with(&to);
                self.send(&Command::Msg { to, text })?;
            }
            UserCommand::Msg {
                target: Target::Room(room),
                text,
            } => self.send(&Command::MsgRoom { room, text })?,
            UserCommand::Reply { text } => match self.last_from.clone() {
                Some(to) => {
                    self.resume.wrote_with(&to);
                    self.send(&Command::Msg { to, text })?;
                }
                None => put_line(notes, "chat: nobody has sent you a direct message yet")?,
            },
            UserCommand::Nick(nick) => self.send(&Command::Nick(nick))?,
            UserCommand::Who(None) => self.send(&Command::Who)?,
            UserCommand::Who(Some(room)) => self.send(&Command::WhoRoom(room))?,
            UserCommand::Quit { reason } => {
                self.send(&Command::Quit { reason })?;
                return Ok(true);
            }
            UserCommand::Help => {
                for line in commands::help_lines() {
                    put_line(notes, &line)?;
                }
            }
            UserCommand::Join { room, key } => {
                self.keys.insert(room.key(), key.map(str::to_owned));
                self.send(&Command::Join { room, key })?;
            }
            UserCommand::Rooms => self.send(&Command::Rooms)?,
            UserCommand::Part { room, reason } => match room {
                Some(room) => self.send(&Command::Part { room, reason })?,
                None => put_line(notes, need_room("/part"))?,
            },
            UserCommand::Topic {
                room: Some(room),
                text: Some(text),
            } => self.send(&Command::Topic { room, text })?,
            UserCommand::Topic {
                room: Some(room),
                text: None,
            } if self.caps.extended() => self.send(&Command::TopicQuery(room))?,
            UserCommand::Topic { room: Some(_), .. } => {
                put_line(notes, "chat: usage: /topic #room TEXT")?;
            }
            UserCommand::Topic { room: None, .. } => put_line(notes, need_room("/topic"))?,
            UserCommand::Invite { nick, room } => match room {
                Some(room) => self.send(&Command::Invite { nick, room })?,
                None => put_line(notes, need_room("/invite"))?,
            },
            UserCommand::Key { room, key } => match room {
                Some(room) => self.send(&Command::Key { room, key })?,
                None => put_line(notes, need_room("/key"))?,
            },
            UserCommand::Private { room, on } => match room {
                Some(room) => self.send(&Command::Private { room, on })?,
                None => put_line(notes, need_room("/private"))?,
            },
            UserCommand::RegisterRoom(room) => self.send(&Command::RegisterRoom(room))?,
            UserCommand::Say { text } => self.send(&Command::All { text })?,
            UserCommand::Me { text } => {
                if self.caps.has(Capability::Actions) {
                    self.send(&Command::Me {
                        target: To::Lobby,
                        text,
                    })?;
                } else {
                    // What the server itself sends in its place to a client without actions.
                    let text = format!("{ACTION_PREFIX}{text}");
                    self.send(&Command::All { text: &text })?;
                }
            }
            UserCommand::Away { text } => {
                if self.caps.has(Capability::Away) {
                    self.send(&Command::Away { text })?;
                } else {
                    put_line(notes, "chat: this server does not know /away")?;
                }
            }
            UserCommand::Send { path } => self.files.send(path),
            UserCommand::Save { number, path } => self.files.save(number, path, notes)?,
            UserCommand::Close | UserCommand::Clear => {
                put_line(notes, "chat: there are no tabs in --plain mode")?;
            }
            UserCommand::Ignore(_) | UserCommand::Unignore(_) => {
                put_line(
                    notes,
                    "chat: /ignore is for the full-screen client; --plain shows every line",
                )?;
            }
            command @ (UserCommand::Register(_)
            | UserCommand::Login { .. }
            | UserCommand::Password { .. }
            | UserCommand::Unregister(_)) => {
                if let Some(line) = self.login.on_input(command, notes)? {
                    self.send_line(&line)?;
                }
            }
        }
        Ok(false)
    }
}
