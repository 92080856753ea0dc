//! A chaos client's connection: its socket, the bytes read but not yet used, and reading
//! with a deadline until the awaited answer, where every other line is checked: a broadcast
//! is fine once `NICK` was sent, the server's `PING` gets its `PONG`, anything else breaks
//! the contract.
//!
//! In scope: [`Conn`] and how a waited-for line is matched ([`Step`]). Out of scope: what
//! each fault sends and waits for (`faults`), and the well-behaved clients' connections
//! (`chatter`'s `Peer`, which a flood uses too).

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::loadgen::client::{self, SocketOptions};
use crate::soak::chatter::REFUSED_TEXT_MARK;
use crate::soak::shared::Shared;
use chatd_proto::{Command, Nick, Reply, Room, text};

/// How a line a connection waits on fits what it waits for.
pub enum Step {
    /// What was awaited: stop here.
    Done,
    /// Part of it: go on.
    More,
    /// Not it: a broadcast is skipped, anything else breaks the contract.
    No,
}

/// [`Step::Done`] if `done`, else [`Step::No`].
pub fn step(done: bool) -> Step {
    if done { Step::Done } else { Step::No }
}

/// Whether `reply` is the `PONG` of `token`.
pub fn is_pong(reply: &Reply, token: &str) -> bool {
    matches!(reply, Reply::Pong { token: Some(t) } if t == token)
}

/// Lines any registered client may get at any time, from others.
fn is_broadcast(reply: &Reply) -> bool {
    matches!(
        reply,
        Reply::Join(_)
            | Reply::NickChanged { .. }
            | Reply::Msg { .. }
            | Reply::All { .. }
            | Reply::Quit { .. }
            | Reply::RoomJoin { .. }
            | Reply::RoomPart { .. }
            | Reply::RoomMsg { .. }
            | Reply::TopicIs { .. }
            | Reply::Invited { .. }
    )
}

/// The errors of a write to a connection the server has cut.
pub fn is_cut(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

/// A chaos client's socket and the bytes read but not yet used.
pub struct Conn<'a> {
    shared: &'a Shared,
    pub stream: TcpStream,
    pending: Vec<u8>,
    /// `NICK` was sent: broadcasts may come (before that, any is a contract break).
    nick_sent: bool,
    /// Answer the server's `PING idle` (all but the idle-timeout fault).
    pub answer_pings: bool,
}

impl<'a> Conn<'a> {
    pub fn open(shared: &'a Shared, options: &SocketOptions) -> Result<Conn<'a>, String> {
        Conn::opened(shared, client::connect_with(shared.addr, options))
    }

    fn opened(shared: &'a Shared, stream: io::Result<TcpStream>) -> Result<Conn<'a>, String> {
        let stream = stream.map_err(|e| format!("connect: {e}"))?;
        shared.opened();
        Ok(Conn {
            shared,
            stream,
            pending: Vec::new(),
            nick_sent: false,
            answer_pings: true,
        })
    }

    pub fn hello(&mut self) -> Result<(), String> {
        self.expect("HELLO", |reply| matches!(reply, Reply::Hello { .. }))
    }

    pub fn register(&mut self, nick: &str) -> Result<(), String> {
        let nick = Nick::parse(nick).map_err(|e| e.to_string())?;
        self.send(&Command::Nick(nick.clone()))?;
        self.expect("OK NICK", |reply| *reply == Reply::OkNick(nick.clone()))
    }

    pub fn send(&mut self, command: &Command<'_>) -> Result<(), String> {
        if matches!(command, Command::Nick(_)) {
            self.nick_sent = true;
        }
        self.send_raw(format!("{command}\n").as_bytes())
    }

    pub fn send_raw(&self, bytes: &[u8]) -> Result<(), String> {
        (&self.stream)
            .write_all(bytes)
            .map_err(|e| format!("write: {e}"))
    }

    /// FIN: no more lines from us; the server still answers those sent.
    pub fn half_close(&self) -> Result<(), String> {
        self.stream
            .shutdown(Shutdown::Write)
            .map_err(|e| format!("shutdown: {e}"))
    }

    /// RST instead of FIN.
    pub fn reset(self) {
        // If it fails, the close is a FIN: the server copes with both.
        let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
    }

    /// Waits, at most the reply timeout, for the lines `want` accepts.
    pub fn expect(
        &mut self,
        what: &str,
        mut want: impl FnMut(&Reply) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + self.shared.reply_timeout();
        self.expect_by(what, deadline, |reply| step(want(reply)))
    }

    /// Waits, at most the reply timeout, for the lines `want` takes.
    pub fn expect_steps(
        &mut self,
        what: &str,
        want: impl FnMut(&Reply) -> Step,
    ) -> Result<(), String> {
        let deadline = Instant::now() + self.shared.reply_timeout();
        self.expect_by(what, deadline, want)
    }

    /// `JOIN #room` without a key, then its `OK JOIN`, the room's topic if it has one, and
    /// its member list, which must hold `me`.
    pub fn join(&mut self, room: &Room, me: &Nick) -> Result<(), String> {
        self.send(&Command::Join {
            room: room.clone(),
            key: None,
        })?;
        self.expect("OK JOIN", |reply| *reply == Reply::OkJoin(room.clone()))?;
        let mut listed_me = false;
        self.expect_steps("END WHO #room", |reply| match reply {
            Reply::TopicIs { room: r, .. } if r == room => Step::More,
            Reply::RoomWho { room: r, nicks } if r == room => {
                listed_me |= nicks.contains(me);
                Step::More
            }
            Reply::EndRoomWho(r) if r == room => step(listed_me),
            _ => Step::No,
        })
    }

    /// Reads lines until `want` says [`Step::Done`], skipping broadcasts (and answering the
    /// server's `PING` unless told not to). Any other line, the end of the stream or the
    /// deadline is a contract break.
    pub fn expect_by(
        &mut self,
        what: &str,
        deadline: Instant,
        mut want: impl FnMut(&Reply) -> Step,
    ) -> Result<(), String> {
        let (stream, nick_sent, answer_pings) = (&self.stream, self.nick_sent, self.answer_pings);
        client::read_lines(stream, &mut self.pending, deadline, what, |line| {
            let reply = parse(line)?;
            match want(&reply) {
                Step::Done => return Ok(true),
                Step::More => return Ok(false),
                Step::No => {}
            }
            other_line(stream, &reply, line, nick_sent, answer_pings)?;
            Ok(false)
        })
        .map_err(|e| format!("waiting for {what}: {e}"))
    }

    /// Reads (broadcasts only) until `deadline`.
    pub fn listen_until(&mut self, deadline: Instant) -> Result<(), String> {
        let (stream, nick_sent, answer_pings) = (&self.stream, self.nick_sent, self.answer_pings);
        let result = client::read_lines(stream, &mut self.pending, deadline, "nothing", |line| {
            other_line(stream, &parse(line)?, line, nick_sent, answer_pings)?;
            Ok(false)
        });
        match result {
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(()),
            Err(e) => Err(format!("while lingering: {e}")),
            Ok(_) => unreachable!("the callback never stops the wait"),
        }
    }

    /// The server closes cleanly (FIN, not RST), with only broadcasts before.
    pub fn expect_end(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + self.shared.reply_timeout();
        let (stream, nick_sent) = (&self.stream, self.nick_sent);
        let pending = &mut self.pending;
        let result =
            client::read_lines(stream, pending, deadline, "the end of the stream", |line| {
                other_line(stream, &parse(line)?, line, nick_sent, false)?;
                Ok(false)
            });
        match result {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(()),
            Err(e) => Err(format!("waiting for the server to close: {e}")),
            Ok(_) => unreachable!("the callback never stops the wait"),
        }
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        self.shared.closed();
    }
}

/// A line from the server, which must hold no character the text rule refuses and no text
/// the server should have refused.
fn parse(line: &[u8]) -> io::Result<Reply> {
    let line = std::str::from_utf8(line)
        .map_err(|_| io::Error::other(format!("a line that is not UTF-8: {line:?}")))?;
    if let Some(refused) = text::find_refused(line) {
        return Err(io::Error::other(format!(
            "a line with U+{:04X} at character {}: {line:?}",
            u32::from(refused.found),
            refused.at
        )));
    }
    if line.contains(REFUSED_TEXT_MARK) {
        return Err(io::Error::other(format!(
            "a text the server should have refused: {line:?}"
        )));
    }
    Reply::parse(line).map_err(|e| io::Error::other(format!("unparsable line {line:?}: {e}")))
}

/// A line nobody waited for: a broadcast is fine once `NICK` was sent, the server's `PING`
/// gets its `PONG`, and anything else is a contract break.
fn other_line(
    stream: &TcpStream,
    reply: &Reply,
    line: &[u8],
    nick_sent: bool,
    answer_pings: bool,
) -> io::Result<()> {
    match reply {
        Reply::Ping { token } if answer_pings => {
            let pong = Command::Pong {
                token: token.as_deref(),
            };
            (&*stream).write_all(format!("{pong}\n").as_bytes())
        }
        _ if nick_sent && is_broadcast(reply) => Ok(()),
        _ => Err(io::Error::other(format!(
            "unexpected line {:?}",
            String::from_utf8_lossy(&line[..line.len().min(120)])
        ))),
    }
}
