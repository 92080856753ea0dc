//! What each [`Fault`] does on the wire, and the server answers it expects where the
//! protocol promises one (protocol.md): `BYE` then the end of the stream after `QUIT`, a
//! `PONG` after a half-close, `ERR LINE_TOO_LONG` and `ERR BAD_ENCODING` with the connection
//! staying usable, `BYE register timeout` and `BYE ping timeout` never early, a slow reader
//! cut, a half line never executed, an unregistered client told nothing.
//!
//! In scope: one chaos connection from connect to close ([`run`]), and [`FaultEnd`]: whether
//! it registered (so its receivers must see one `JOIN` and one `QUIT`, with which reasons),
//! and the first answer that broke the contract.
//! Out of scope: choosing faults and counting them (`chaos`); the receivers' side
//! (`chatter`).
//!
//! Every wait has a deadline: the reply timeout for answers due at once, the server's
//! timeout plus a quarter plus the reply timeout for the timeouts.

use std::io::{self, ErrorKind, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::loadgen::client;
use crate::soak::chaos::Fault;
use crate::soak::chatter::{HALF_LINE_MARK, Left, Peer, Role};
use crate::soak::shared::Shared;
use chatd_proto::{Command, Nick, ProtocolError, Reply, Room, reason};

/// What the faults need besides the shared state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSettings {
    /// The longest a chatting chaos client stays before it leaves.
    pub linger: Duration,
    /// Lines one flood sends at most.
    pub flood_lines: u32,
}

/// How one chaos connection ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FaultEnd {
    /// Registered for certain: the ways its `QUIT` announcement may read.
    pub registered: Option<Vec<Left>>,
    /// The first thing that broke the contract.
    pub mismatch: Option<String>,
    /// A flood: lines sent, and seconds from its first line to its last `PONG`.
    pub flood: Option<(u32, f64)>,
}

/// Lines a flood writes at once, each batch followed by a `PING`.
const FLOOD_BATCH: u32 = 32;
/// Batches a flood may have unanswered: enough to keep the server busy, few enough that a
/// server that reads a fast client slowly (flood control) drains them in seconds.
const FLOOD_WINDOW: u64 = 8;
/// Receive buffer of a slow reader, so that the server's writes to it stall at once.
const SLOW_RCVBUF: usize = 4096;
/// How long a slow reader may write before the server must have cut it.
const SLOW_DEADLINE: Duration = Duration::from_secs(20);
/// Rooms the chaos clients share.
const ROOMS: u32 = 8;

/// Runs `fault` as chaos connection `index`. `None`: the fault could not start (a flood
/// while `--max-flooders` run) and the slot should choose again.
pub fn run(
    shared: &Arc<Shared>,
    settings: &FaultSettings,
    fault: Fault,
    index: u32,
    rng: &mut fastrand::Rng,
    end: Instant,
) -> Option<FaultEnd> {
    if fault == Fault::Flood {
        return flood(shared, settings, index, end);
    }
    let mut run = Run {
        shared,
        settings,
        index,
        rng,
        registered: None,
    };
    let result = match fault {
        Fault::Quit => run.quit(),
        Fault::Close => run.close(),
        Fault::Reset => run.reset(),
        Fault::HalfLineClose => run.half_line(false),
        Fault::HalfLineReset => run.half_line(true),
        Fault::NoRegister => run.no_register(),
        Fault::SlowReader => run.slow_reader(),
        Fault::LongLine => run.long_line(),
        Fault::BadUtf8 => run.bad_utf8(),
        Fault::Rooms => run.rooms(),
        Fault::IdleTimeout => run.idle_timeout(),
        Fault::Flood => unreachable!("handled above"),
    };
    let mut registered = run.registered;
    if let (Err(_), Some(may_leave)) = (&result, &mut registered) {
        // Given up on at the mismatch: the connection is dropped, with or without unread
        // input, so a close or a reset is announced; the mismatch is counted once, here.
        may_leave.extend([Left::Closed, Left::Reset]);
    }
    Some(FaultEnd {
        registered,
        mismatch: result.err(),
        flood: None,
    })
}

/// One chaos connection being run.
struct Run<'a> {
    shared: &'a Shared,
    settings: &'a FaultSettings,
    index: u32,
    rng: &'a mut fastrand::Rng,
    /// Set once the client has registered: how its `QUIT` may read.
    registered: Option<Vec<Left>>,
}

impl<'a> Run<'a> {
    fn open(&self) -> Result<Conn<'a>, String> {
        Conn::open(self.shared)
    }

    fn nick(&self) -> String {
        self.shared.names.chaos.nick(self.index)
    }

    /// Registers, and from now on expects the receivers to see the client leave in one of
    /// the `may_leave` ways.
    fn register(&mut self, conn: &mut Conn<'_>, may_leave: Vec<Left>) -> Result<(), String> {
        conn.register(&self.nick())?;
        self.registered = Some(may_leave);
        Ok(())
    }

    /// A few unnumbered `ALL` lines.
    fn chat(&mut self, conn: &mut Conn<'_>) -> Result<(), String> {
        for k in 0..self.rng.u32(0..4) {
            let text = format!("chaos {} says {k}", self.index);
            conn.send(&Command::All { text: &text })?;
        }
        Ok(())
    }

    /// Stays a while, reading what comes.
    fn linger(&mut self, conn: &mut Conn<'_>) -> Result<(), String> {
        let millis = self.rng.u64(0..=self.settings.linger.as_millis() as u64);
        conn.listen_until(Instant::now() + Duration::from_millis(millis))
    }

    /// The client's own `QUIT` reason: none, or one naming it.
    fn quit_reason(&mut self) -> Option<String> {
        self.rng
            .bool()
            .then(|| format!("soak {} leaves", self.index))
    }

    /// `QUIT [reason]`, `BYE`, the end of the stream.
    fn leave(&mut self, mut conn: Conn<'_>) -> Result<(), String> {
        let reason = self.quit_reason();
        if let Some(may_leave) = &mut self.registered {
            *may_leave = vec![Left::Quit(reason.clone())];
        }
        conn.send(&Command::Quit {
            reason: reason.as_deref(),
        })?;
        conn.expect("BYE", |reply| *reply == Reply::Bye { reason: None })?;
        conn.expect_end()
    }

    fn quit(&mut self) -> Result<(), String> {
        let mut conn = self.open()?;
        conn.hello()?;
        if self.rng.bool() {
            self.register(&mut conn, vec![Left::Quit(None)])?;
            self.chat(&mut conn)?;
        }
        self.linger(&mut conn)?;
        self.leave(conn)
    }

    /// FIN after a `PING`: the server still answers lines sent before the FIN, then closes.
    fn close(&mut self) -> Result<(), String> {
        let mut conn = self.open()?;
        conn.hello()?;
        if self.rng.bool() {
            self.register(&mut conn, vec![Left::Closed])?;
            self.chat(&mut conn)?;
            self.linger(&mut conn)?;
        }
        let token = format!("fin-{}", self.index);
        conn.send(&Command::Ping {
            token: Some(&token),
        })?;
        conn.half_close()?;
        conn.expect("PONG after FIN", |reply| is_pong(reply, &token))?;
        conn.expect_end()
    }

    /// RST at one of three points.
    fn reset(&mut self) -> Result<(), String> {
        let mut conn = self.open()?;
        match self.rng.u8(0..3) {
            0 => {}
            1 => conn.hello()?,
            _ => {
                conn.hello()?;
                // Closed, if the server's write fails before its read sees the reset.
                self.register(&mut conn, vec![Left::Reset, Left::Closed])?;
                self.chat(&mut conn)?;
                self.linger(&mut conn)?;
            }
        }
        conn.reset();
        Ok(())
    }

    /// Half a line, then FIN or RST: the half line must never be executed.
    fn half_line(&mut self, reset: bool) -> Result<(), String> {
        let mut conn = self.open()?;
        conn.hello()?;
        let registered = self.rng.u8(0..10) < 7;
        if registered {
            let may_leave = if reset {
                vec![Left::Reset, Left::Closed]
            } else {
                vec![Left::Closed]
            };
            self.register(&mut conn, may_leave)?;
            self.chat(&mut conn)?;
        }
        // A PING's PONG, or an ALL that a receiver sees, would show it executed.
        let half = if registered {
            format!("ALL {HALF_LINE_MARK}{} cut off here", self.index)
        } else {
            format!("PING {HALF_LINE_MARK}{}", self.index)
        };
        conn.send_raw(half.as_bytes())?;
        if reset {
            conn.reset();
            return Ok(());
        }
        conn.half_close()?;
        conn.expect_end()
    }

    /// Never registers: `BYE register timeout`, not before `--register-timeout`.
    fn no_register(&mut self) -> Result<(), String> {
        let start = Instant::now();
        let mut conn = self.open()?;
        conn.hello()?;
        if self.rng.bool() {
            // Allowed before registration; it does not postpone the timeout.
            let token = format!("nr-{}", self.index);
            conn.send(&Command::Ping {
                token: Some(&token),
            })?;
            conn.expect("PONG", |reply| is_pong(reply, &token))?;
        }
        let timeout = self.shared.config.register_timeout;
        let deadline = start + timeout + timeout / 4 + self.shared.reply_timeout();
        let bye = Reply::Bye {
            reason: Some(reason::REGISTER_TIMEOUT.to_owned()),
        };
        conn.expect_by("BYE register timeout", deadline, |reply| {
            step(*reply == bye)
        })?;
        let took = start.elapsed();
        if took < timeout {
            return Err(format!(
                "BYE register timeout after {took:?}, before --register-timeout {timeout:?}"
            ));
        }
        conn.expect_end()
    }

    /// Registers, never reads, and sends `WHO`s whose answers pile up: the server must cut
    /// it, and tell the others it was a slow consumer.
    fn slow_reader(&mut self) -> Result<(), String> {
        let mut conn = Conn::open_with_recv_buffer(self.shared, SLOW_RCVBUF)?;
        // Not reading means not reading OK NICK either: a valid, unused nick registers.
        let nick = Nick::parse(&self.nick()).map_err(|e| e.to_string())?;
        conn.send(&Command::Nick(nick))?;
        self.registered = Some(vec![Left::Slow]);
        // WHO, not PING: flood control lets it send a few hundred lines a second, and WHO's
        // answer (every nick online, kilobytes with the soak's hundreds of clients) fills the
        // kernel's buffers (megabytes on loopback) and then its queue within seconds, where
        // PONGs of a line's length would take the better part of a minute.
        let who = format!("{}\n", Command::Who);
        let batch = who.repeat(16 * 1024 / who.len());
        let deadline = Instant::now() + SLOW_DEADLINE;
        let mut written = 0usize;
        while Instant::now() < deadline {
            match (&conn.stream).write_all(batch.as_bytes()) {
                Ok(()) => written += batch.len(),
                // Cut: the server shut the connection down, and the writes fail.
                Err(e) if is_cut(&e) => return Ok(()),
                // The write timed out: flood control reads it slowly. Go on until the deadline.
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return Err(format!("after {written} bytes of WHO: {e}")),
            }
        }
        Err(format!(
            "still connected after {SLOW_DEADLINE:?} and {written} bytes of WHO with answers unread"
        ))
    }

    /// A line of exactly `--max-line` bytes (answered), a longer one (`ERR LINE_TOO_LONG`),
    /// then the connection is used as before.
    fn long_line(&mut self) -> Result<(), String> {
        let max_line = self.shared.config.max_line;
        let mut conn = self.open()?;
        conn.hello()?;
        if self.rng.bool() {
            self.register(&mut conn, vec![Left::Quit(None)])?;
        }
        // "PING " + token + "\n" is exactly the limit.
        let mut token = format!("fit{}-", self.index);
        let fill = (max_line - "PING \n".len()).saturating_sub(token.len());
        token.extend(std::iter::repeat_n('f', fill));
        conn.send(&Command::Ping {
            token: Some(&token),
        })?;
        conn.expect("PONG of a line at the limit", |reply| {
            is_pong(reply, &token)
        })?;
        let extra = if self.rng.u8(0..10) == 0 {
            self.rng.usize(0..256 * 1024)
        } else {
            self.rng.usize(0..2 * max_line)
        };
        let mut long = b"PING ".to_vec();
        long.resize(max_line + extra, b'y');
        long.push(b'\n');
        conn.send_raw(&long)?;
        let too_long = Reply::from(&ProtocolError::LineTooLong { max: max_line });
        conn.expect("ERR LINE_TOO_LONG", |reply| *reply == too_long)?;
        let token = format!("after-long-{}", self.index);
        conn.send(&Command::Ping {
            token: Some(&token),
        })?;
        conn.expect("PONG after the long line", |reply| is_pong(reply, &token))?;
        if self.registered.is_some() {
            self.chat(&mut conn)?;
        }
        self.leave(conn)
    }

    /// Lines of random bytes with an invalid UTF-8 byte each, and blank lines, in one
    /// write: one `ERR BAD_ENCODING` per bad line, nothing for the blank ones, then the
    /// connection is used as before.
    fn bad_utf8(&mut self) -> Result<(), String> {
        let max_line = self.shared.config.max_line;
        let mut conn = self.open()?;
        conn.hello()?;
        if self.rng.bool() {
            self.register(&mut conn, vec![Left::Quit(None)])?;
        }
        let bad_lines = self.rng.usize(1..=4);
        let mut garbage = Vec::new();
        for _ in 0..bad_lines {
            let len = self.rng.usize(1..=(max_line - 2).min(200));
            let start = garbage.len();
            garbage.extend((0..len).map(|_| match self.rng.u8(..) {
                b'\n' => b'?',
                byte => byte,
            }));
            let at = start + self.rng.usize(0..len);
            // Bytes that never occur in UTF-8, whatever surrounds them (a continuation byte
            // such as 0x80 could complete a random lead byte before it).
            garbage[at] = *self
                .rng
                .choice(&[0xff, 0xfe, 0xc0, 0xc1, 0xf5])
                .expect("not empty");
            garbage.push(b'\n');
            if self.rng.bool() {
                garbage.extend_from_slice(
                    self.rng
                        .choice(["\n", "  \r\n", " \t \n"])
                        .unwrap()
                        .as_bytes(),
                );
            }
        }
        conn.send_raw(&garbage)?;
        let token = format!("utf8-{}", self.index);
        conn.send(&Command::Ping {
            token: Some(&token),
        })?;
        let bad = Reply::from(&ProtocolError::BadEncoding);
        let mut errors = 0;
        conn.expect_steps("ERR BAD_ENCODING for each bad line, then PONG", |reply| {
            if *reply == bad && errors < bad_lines {
                errors += 1;
                Step::More
            } else if errors == bad_lines && is_pong(reply, &token) {
                Step::Done
            } else {
                Step::No
            }
        })?;
        if self.registered.is_some() {
            self.chat(&mut conn)?;
        }
        self.leave(conn)
    }

    /// Joins rooms, talks and sets topics in them, parts: each step answered as promised.
    fn rooms(&mut self) -> Result<(), String> {
        let mut conn = self.open()?;
        conn.hello()?;
        self.register(&mut conn, vec![Left::Quit(None)])?;
        let me = Nick::parse(&self.nick()).map_err(|e| e.to_string())?;
        for _ in 0..self.rng.u32(1..=3) {
            let name = self.shared.names.chaos.room(self.rng.u32(0..ROOMS));
            let room = Room::parse(&name).map_err(|e| e.to_string())?;
            conn.send(&Command::Join {
                room: room.clone(),
                key: None,
            })?;
            conn.expect("OK JOIN", |reply| *reply == Reply::OkJoin(room.clone()))?;
            // The topic, if any, and the member list (us included) follow.
            let mut listed_me = false;
            conn.expect_steps("END WHO #room", |reply| match reply {
                Reply::TopicIs { room: r, .. } if *r == room => Step::More,
                Reply::RoomWho { room: r, nicks } if *r == room => {
                    listed_me |= nicks.contains(&me);
                    Step::More
                }
                Reply::EndRoomWho(r) if *r == room => step(listed_me),
                _ => Step::No,
            })?;
            let text = format!("chaos {} in the room", self.index);
            conn.send(&Command::MsgRoom {
                room: room.clone(),
                text: &text,
            })?;
            if self.rng.bool() {
                let topic = format!("topic of {}", self.index);
                conn.send(&Command::Topic {
                    room: room.clone(),
                    text: &topic,
                })?;
                conn.expect_steps("TOPIC", |reply| match reply {
                    Reply::TopicIs {
                        room: r,
                        setter,
                        text,
                    } => step(*r == room && *setter == me && *text == topic),
                    _ => Step::No,
                })?;
            }
            conn.send(&Command::Part {
                room: room.clone(),
                reason: None,
            })?;
            conn.expect("OK PART", |reply| *reply == Reply::OkPart(room.clone()))?;
        }
        self.leave(conn)
    }

    /// Registers, then says nothing (and reads all): `PING idle` not before
    /// `--idle-timeout`, then `BYE ping timeout`.
    fn idle_timeout(&mut self) -> Result<(), String> {
        let mut conn = self.open()?;
        conn.hello()?;
        let start = Instant::now();
        self.register(&mut conn, vec![Left::PingTimeout])?;
        conn.answer_pings = false;
        let timeout = self.shared.config.idle_timeout;
        let late = timeout + timeout / 4 + self.shared.reply_timeout();
        let ping = Reply::Ping {
            token: Some("idle".to_owned()),
        };
        conn.expect_by("PING idle", Instant::now() + late, |reply| {
            step(*reply == ping)
        })?;
        let took = start.elapsed();
        if took < timeout {
            return Err(format!("PING idle after {took:?}, before --idle-timeout"));
        }
        let bye = Reply::Bye {
            reason: Some(reason::PING_TIMEOUT.to_owned()),
        };
        conn.expect_by("BYE ping timeout", Instant::now() + late, |reply| {
            step(*reply == bye)
        })?;
        let took = start.elapsed();
        if took < timeout * 2 {
            return Err(format!(
                "BYE ping timeout after {took:?}, before twice --idle-timeout"
            ));
        }
        conn.expect_end()
    }
}

/// A flood: registers, sends numbered `ALL` lines as fast as the server takes them (at most
/// [`FLOOD_WINDOW`] batches unanswered) until `--flood-lines` or the phase's end, waits for
/// the last `PONG`, and quits. Its lines are checked by every well-behaved receiver.
fn flood(
    shared: &Arc<Shared>,
    settings: &FaultSettings,
    index: u32,
    end: Instant,
) -> Option<FaultEnd> {
    let sender = shared.start_flood(index)?;
    shared.opened();
    let nick = shared.names.chaos.nick(index);
    let reason = format!("soak flood {index} done");
    let mut fault_end = FaultEnd::default();
    let reader_deadline = end + Duration::from_secs(120);
    let result = (|| -> Result<(), String> {
        let peer = Peer::connect(shared, &nick, Role::Flooder, reader_deadline)
            .map_err(|e| format!("connect and register: {e}"))?;
        fault_end.registered = Some(vec![Left::Quit(Some(reason.clone()))]);
        let start = Instant::now();
        let mut sent = 0u32;
        let mut batch = String::new();
        let mut last = 0;
        while sent < settings.flood_lines && Instant::now() < end {
            batch.clear();
            let lines = FLOOD_BATCH.min(settings.flood_lines - sent);
            for seq in sent..sent + lines {
                batch.push_str("ALL ");
                shared.payload(sender, seq, &mut batch);
                batch.push('\n');
            }
            if let Err(e) = peer.write(batch.as_bytes()) {
                let _ = peer.abandon();
                return Err(format!("flood line {sent}: {e}"));
            }
            sent += lines;
            shared.set_sent(sender, sent);
            last = match peer.ping() {
                Ok(number) => number,
                Err(e) => {
                    let _ = peer.abandon();
                    return Err(format!("flood PING: {e}"));
                }
            };
            if let Some(waited) = last.checked_sub(FLOOD_WINDOW).filter(|&n| n > 0)
                && let Err(e) = peer.wait_pong(waited, Instant::now() + shared.reply_timeout())
            {
                let _ = peer.abandon();
                return Err(e);
            }
        }
        if last > 0
            && let Err(e) = peer.wait_pong(last, Instant::now() + shared.reply_timeout())
        {
            let _ = peer.abandon();
            return Err(e);
        }
        fault_end.flood = Some((sent, start.elapsed().as_secs_f64()));
        match peer.quit(Some(&reason)).lost {
            None => Ok(()),
            Some(lost) => Err(format!("the flooder was disconnected: {lost}")),
        }
    })();
    shared.closed();
    shared.end_flood();
    fault_end.mismatch = result.err();
    Some(fault_end)
}

/// How a line a connection waits on fits what it waits for.
enum Step {
    /// What was awaited: stop here.
    Done,
    /// Part of it: go on.
    More,
    /// Not it: a broadcast is skipped, anything else breaks the contract.
    No,
}

fn step(done: bool) -> Step {
    if done { Step::Done } else { Step::No }
}

fn is_pong(reply: &Reply, token: &str) -> bool {
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
fn is_cut(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

/// A chaos client's socket and the bytes read but not yet used.
struct Conn<'a> {
    shared: &'a Shared,
    stream: TcpStream,
    pending: Vec<u8>,
    /// `NICK` was sent: broadcasts may come (before that, any is a contract break).
    nick_sent: bool,
    /// Answer the server's `PING idle` (all but the idle-timeout fault).
    answer_pings: bool,
}

impl<'a> Conn<'a> {
    fn open(shared: &'a Shared) -> Result<Conn<'a>, String> {
        Conn::opened(shared, client::connect(shared.addr))
    }

    fn open_with_recv_buffer(shared: &'a Shared, bytes: usize) -> Result<Conn<'a>, String> {
        Conn::opened(shared, client::connect_with_recv_buffer(shared.addr, bytes))
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

    fn hello(&mut self) -> Result<(), String> {
        self.expect("HELLO", |reply| matches!(reply, Reply::Hello { .. }))
    }

    fn register(&mut self, nick: &str) -> Result<(), String> {
        let nick = Nick::parse(nick).map_err(|e| e.to_string())?;
        self.send(&Command::Nick(nick.clone()))?;
        self.expect("OK NICK", |reply| *reply == Reply::OkNick(nick.clone()))
    }

    fn send(&mut self, command: &Command<'_>) -> Result<(), String> {
        if matches!(command, Command::Nick(_)) {
            self.nick_sent = true;
        }
        self.send_raw(format!("{command}\n").as_bytes())
    }

    fn send_raw(&self, bytes: &[u8]) -> Result<(), String> {
        (&self.stream)
            .write_all(bytes)
            .map_err(|e| format!("write: {e}"))
    }

    /// FIN: no more lines from us; the server still answers those sent.
    fn half_close(&self) -> Result<(), String> {
        self.stream
            .shutdown(Shutdown::Write)
            .map_err(|e| format!("shutdown: {e}"))
    }

    /// RST instead of FIN.
    fn reset(self) {
        // If it fails, the close is a FIN: the server copes with both.
        let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
    }

    /// Waits, at most the reply timeout, for the lines `want` accepts.
    fn expect(&mut self, what: &str, mut want: impl FnMut(&Reply) -> bool) -> Result<(), String> {
        let deadline = Instant::now() + self.shared.reply_timeout();
        self.expect_by(what, deadline, |reply| step(want(reply)))
    }

    /// Waits, at most the reply timeout, for the lines `want` takes.
    fn expect_steps(&mut self, what: &str, want: impl FnMut(&Reply) -> Step) -> Result<(), String> {
        let deadline = Instant::now() + self.shared.reply_timeout();
        self.expect_by(what, deadline, want)
    }

    /// Reads lines until `want` says [`Step::Done`], skipping broadcasts (and answering the
    /// server's `PING` unless told not to). Any other line, the end of the stream or the
    /// deadline is a contract break.
    fn expect_by(
        &mut self,
        what: &str,
        deadline: Instant,
        mut want: impl FnMut(&Reply) -> Step,
    ) -> Result<(), String> {
        let pending = std::mem::take(&mut self.pending);
        let (stream, nick_sent, answer_pings) = (&self.stream, self.nick_sent, self.answer_pings);
        let rest = client::read_until(stream, pending, deadline, what, |line| {
            let reply = parse(line)?;
            match want(&reply) {
                Step::Done => return Ok(true),
                Step::More => return Ok(false),
                Step::No => {}
            }
            other_line(stream, &reply, line, nick_sent, answer_pings)?;
            Ok(false)
        })
        .map_err(|e| format!("waiting for {what}: {e}"))?;
        self.pending = rest;
        Ok(())
    }

    /// Reads (broadcasts only) until `deadline`.
    fn listen_until(&mut self, deadline: Instant) -> Result<(), String> {
        let pending = std::mem::take(&mut self.pending);
        let (stream, nick_sent, answer_pings) = (&self.stream, self.nick_sent, self.answer_pings);
        let result = client::read_until(stream, pending, deadline, "nothing", |line| {
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
    fn expect_end(&mut self) -> Result<(), String> {
        let pending = std::mem::take(&mut self.pending);
        let deadline = Instant::now() + self.shared.reply_timeout();
        let (stream, nick_sent) = (&self.stream, self.nick_sent);
        let result =
            client::read_until(stream, pending, deadline, "the end of the stream", |line| {
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

fn parse(line: &[u8]) -> io::Result<Reply> {
    let text = std::str::from_utf8(line)
        .map_err(|_| io::Error::other(format!("a line that is not UTF-8: {line:?}")))?;
    Reply::parse(text).map_err(|e| io::Error::other(format!("unparsable line {text:?}: {e}")))
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
