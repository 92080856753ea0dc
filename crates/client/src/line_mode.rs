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
//! being no tabs, and `/me` goes to the lobby; `/ignore` is the full-screen client's only,
//! this mode showing every server line). Messages for the user (a suffixed nick, a mistyped
//! command, `/help`, and the help for a server command word typed alone, `HELP`, which is not
//! sent) go to the error output. A `PING` from the server is answered.
//!
//! The run ends when the input ends (after `QUIT`, once the server closed, at most
//! [`QUIT_DEADLINE`] later) or when the server closes the connection. No reconnecting.
//!
//! Threads: `chat-reader` reads the socket, `chat-stdin` reads the input; the calling thread
//! registers, writes and prints. When the server closes first, `chat-stdin` may still be
//! blocked reading the input, which nothing can wake: it is left to end with the process.

use std::fmt;
use std::io::{self, BufRead, Write};
use std::net::Shutdown;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, never, select};

use crate::app::{Caps, MAX_NICK_ATTEMPTS, NickRefusal, PLAIN_CAPS_WANTED, suffixed};
use crate::commands::{self, Input, Target, UserCommand};
use crate::event::NetEvent;
use crate::net::{self, NetConfig};
use crate::printable::for_output;
use chatd_proto::{ACTION_PREFIX, Capability, Command, Nick, Reply, Target as To};

/// How long to wait for the server to close after `QUIT`.
pub const QUIT_DEADLINE: Duration = Duration::from_secs(5);

/// Writes `line` and a line break to `out` as `printable::for_output` gives it (issue 13):
/// whatever the server sent or the user typed, no control character reaches the terminal or
/// the script reading, and no CR or U+2028 in a text splits it into a line of its own.
fn put_line(out: &mut impl Write, line: impl fmt::Display) -> io::Result<()> {
    writeln!(out, "{}", for_output(&line.to_string()))
}

/// What the reader thread reports.
enum Incoming {
    Event(NetEvent),
    /// The connection ended; why.
    End(String),
}

/// Runs the line mode: connects to `addr` as `nick` (or a suffixed nick if it is taken),
/// sends the lines of `input`, writes the server's lines to `output` and notes for the user
/// to `notes`. Returns when the input ended and the server closed, or the server closed.
pub fn run(
    addr: &str,
    nick: Nick,
    input: impl BufRead + Send + 'static,
    output: &mut impl Write,
    notes: &mut impl Write,
) -> io::Result<()> {
    let stream = net::connect(&NetConfig::new(addr))?;
    let read_half = stream.try_clone()?;
    let (incoming, from_server) = crossbeam_channel::unbounded();
    let reader = thread::Builder::new()
        .name("chat-reader".to_owned())
        .spawn(move || {
            let reason = net::read_lines(&read_half, |event| {
                incoming.send(Incoming::Event(event)).is_ok()
            });
            let _ = incoming.send(Incoming::End(reason));
        })?;
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
    let mut session = Session {
        writer: &stream,
        wanted: nick,
        registered: false,
        attempt: 0,
        last_from: None,
        caps: Caps::default(),
    };
    let result = session.run(&from_server, &from_input, output, notes);
    let _ = stream.shutdown(Shutdown::Both);
    let _ = reader.join();
    if stdin_thread.is_finished() {
        let _ = stdin_thread.join();
    }
    result
}

struct Session<'a> {
    writer: &'a std::net::TcpStream,
    wanted: Nick,
    registered: bool,
    /// Refusals of the nick so far (the next suffix).
    attempt: u32,
    /// Who sent the last direct message, for `/r`.
    last_from: Option<Nick>,
    /// The extensions the server turned on.
    caps: Caps,
}

impl Session<'_> {
    fn send(&self, command: &Command<'_>) -> io::Result<()> {
        let mut writer = self.writer;
        writer.write_all(format!("{command}\n").as_bytes())
    }

    fn run(
        &mut self,
        from_server: &Receiver<Incoming>,
        from_input: &Receiver<String>,
        output: &mut impl Write,
        notes: &mut impl Write,
    ) -> io::Result<()> {
        for command in self.caps.ask(&PLAIN_CAPS_WANTED) {
            self.send(&command)?;
        }
        self.send(&Command::Nick(self.wanted.clone()))?;
        let mut quit_deadline: Option<Instant> = None;
        let no_input = never();
        loop {
            // Input waits until the nick is registered, and stops being read after QUIT.
            let input = if self.registered && quit_deadline.is_none() {
                from_input
            } else {
                &no_input
            };
            let timeout = quit_deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            select! {
                recv(from_server) -> incoming => match incoming {
                    Ok(Incoming::Event(event)) => self.on_server(event, output, notes)?,
                    Ok(Incoming::End(reason)) => {
                        if quit_deadline.is_none() {
                            put_line(notes, format_args!("chat: {reason}"))?;
                        }
                        return Ok(());
                    }
                    Err(_) => return Ok(()),
                },
                recv(input) -> line => match line {
                    Ok(line) => {
                        if self.on_input(&line, notes)? {
                            quit_deadline = Some(Instant::now() + QUIT_DEADLINE);
                        }
                    }
                    Err(_) => {
                        self.send(&Command::Quit { reason: None })?;
                        quit_deadline = Some(Instant::now() + QUIT_DEADLINE);
                    }
                },
                default(timeout) => {
                    put_line(notes, "chat: the server did not close the connection after QUIT")?;
                    return Ok(());
                }
            }
        }
    }

    fn on_server(
        &mut self,
        event: NetEvent,
        output: &mut impl Write,
        notes: &mut impl Write,
    ) -> io::Result<()> {
        let reply = match event {
            NetEvent::Line(reply) | NetEvent::IdLine(_, reply) => reply,
            NetEvent::Unparsed(line) => {
                put_line(output, &line)?;
                return output.flush();
            }
            _ => return Ok(()),
        };
        if self.caps.answer(&reply) {
            return Ok(());
        }
        put_line(output, &reply)?;
        output.flush()?;
        match reply {
            Reply::Ping { token } => self.send(&Command::Pong {
                token: token.as_deref(),
            })?,
            Reply::OkNick(nick) if !self.registered => {
                self.registered = true;
                if nick != self.wanted {
                    put_line(
                        notes,
                        format_args!("chat: {} is taken; you are {nick}", self.wanted),
                    )?;
                }
            }
            Reply::Err { code, .. }
                if NickRefusal::of(&code) == Some(NickRefusal::Taken) && !self.registered =>
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
            } => self.send(&Command::Msg { to, text })?,
            UserCommand::Msg {
                target: Target::Room(room),
                text,
            } => self.send(&Command::MsgRoom { room, text })?,
            UserCommand::Reply { text } => match self.last_from.clone() {
                Some(to) => self.send(&Command::Msg { to, text })?,
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
            UserCommand::Join { room, key } => self.send(&Command::Join { room, key })?,
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
            UserCommand::Close | UserCommand::Clear => {
                put_line(notes, "chat: there are no tabs in --plain mode")?;
            }
            UserCommand::Ignore(_) | UserCommand::Unignore(_) => {
                put_line(
                    notes,
                    "chat: /ignore is for the full-screen client; --plain shows every line",
                )?;
            }
        }
        Ok(false)
    }
}
