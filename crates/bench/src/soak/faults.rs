//! What each fault (`chaos::Fault`) but the flood does on the wire, and the server answers
//! it expects where the protocol promises one (protocol.md): `BYE` then the end of the
//! stream after `QUIT`, a `PONG` after a half-close, `ERR LINE_TOO_LONG` and
//! `ERR BAD_ENCODING` with the connection staying usable, `BYE register timeout` and
//! `BYE ping timeout` never early, a slow reader cut, a half line never executed, an
//! unregistered client told nothing.
//!
//! In scope: one chaos connection from connect to close ([`ChaosClient`], one method per
//! fault), what the faults need ([`FaultSettings`]), and how a connection ended
//! ([`FaultEnd`]): whether it registered (so its receivers must see one `JOIN` and one
//! `QUIT`, with which reasons), and the first answer that broke the contract.
//! Out of scope: choosing faults, running the one chosen and counting them (`chaos`); the
//! flood (`flood`); reading and checking lines (`chaos_conn`); the receivers' side
//! (`chatter`).
//!
//! Every wait has a deadline: the reply timeout for answers due at once, the server's
//! timeout plus a quarter plus the reply timeout for the timeouts.

use std::io::{ErrorKind, Write};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::loadgen::client::{self, SocketOptions};
use crate::soak::chaos_conn::{Conn, Step, is_cut, is_pong, step};
use crate::soak::chatter::{HALF_LINE_MARK, Left};
use crate::soak::figures::Figures;
use crate::soak::shared::Shared;
use chatd_proto::{Command, Nick, ProtocolError, Reply, Room, reason};

/// What the faults need besides the shared state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSettings {
    /// The longest a chatting chaos client stays before it leaves.
    pub linger: Duration,
    /// Lines one flood sends at most.
    pub flood_lines: u32,
    /// Connections of one address flood.
    pub address_flooders: usize,
}

/// How one chaos connection ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FaultEnd {
    /// Registered for certain: the ways its `QUIT` announcement may read.
    pub registered: Option<Vec<Left>>,
    /// Other connections the fault opened that registered for certain (the bad-text fault's
    /// witness, the address flood's connections): their chaos index, and how they may leave.
    pub others: Vec<(u32, Vec<Left>)>,
    /// The first thing that broke the contract.
    pub mismatch: Option<String>,
    /// A flood: lines sent, and seconds from its first line to its last `PONG`.
    pub flood: Option<(u32, f64)>,
    /// What an attack measured, for the report.
    pub figures: Option<Figures>,
}

/// Receive buffer of a client that stops reading, so that the server's writes to it stall
/// at once.
pub const STALL_RCVBUF: usize = 4096;
/// The segment size it asks for, so that the server's send buffer stays small (see
/// `SocketOptions::max_segment`).
pub const STALL_MSS: u32 = 1000;
/// The socket of a client that stops reading.
pub const STALLING: SocketOptions = SocketOptions {
    source: None,
    recv_buffer: Some(STALL_RCVBUF),
    max_segment: Some(STALL_MSS),
};
/// How long a slow reader may write before the server must have cut it.
const SLOW_DEADLINE: Duration = Duration::from_secs(20);
/// A slow reader's `WHO` lines at a time, the bytes it reads then, and its pause after.
/// With few clients online a `WHO` answer is a few hundred bytes: 64 of them every 50 ms
/// still fill the queue within seconds, against 1 KiB read.
const SLOW_BATCH: usize = 64;
const SLOW_SIP: usize = 1024;
const SLOW_PAUSE: Duration = Duration::from_millis(50);
/// Rooms the chaos clients share.
const ROOMS: u32 = 8;

/// One chaos connection being run: each fault is one method, which returns the first
/// answer that broke the contract.
pub struct ChaosClient<'a> {
    shared: &'a Shared,
    settings: &'a FaultSettings,
    index: u32,
    rng: &'a mut fastrand::Rng,
    /// The address its connections come from: its slot's.
    source: Option<IpAddr>,
    /// Set once the client has registered: how its `QUIT` may read.
    registered: Option<Vec<Left>>,
    others: Vec<(u32, Vec<Left>)>,
    figures: Option<Figures>,
}

impl<'a> ChaosClient<'a> {
    pub fn new(
        shared: &'a Shared,
        settings: &'a FaultSettings,
        index: u32,
        rng: &'a mut fastrand::Rng,
        source: Option<IpAddr>,
    ) -> ChaosClient<'a> {
        ChaosClient {
            shared,
            settings,
            index,
            rng,
            source,
            registered: None,
            others: Vec::new(),
            figures: None,
        }
    }

    /// How the connection ended, once its fault's method returned `result`.
    pub fn end(self, result: Result<(), String>) -> FaultEnd {
        let mut registered = self.registered;
        let mut others = self.others;
        if result.is_err() {
            // Given up on at the mismatch: the connections are dropped, with or without
            // unread input, so a close or a reset is announced; the mismatch is counted once,
            // here.
            for may_leave in registered
                .iter_mut()
                .chain(others.iter_mut().map(|(_, may_leave)| may_leave))
            {
                may_leave.extend([Left::Closed, Left::Reset]);
            }
        }
        FaultEnd {
            registered,
            others,
            mismatch: result.err(),
            flood: None,
            figures: self.figures,
        }
    }

    pub fn shared(&self) -> &'a Shared {
        self.shared
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    /// The address its connections come from.
    pub fn source(&self) -> Option<IpAddr> {
        self.source
    }

    pub fn rng(&mut self) -> &mut fastrand::Rng {
        self.rng
    }

    pub fn open(&self) -> Result<Conn<'a>, String> {
        self.open_with(SocketOptions::default())
    }

    /// A connection from the client's address, with `options` for the rest.
    pub fn open_with(&self, options: SocketOptions) -> Result<Conn<'a>, String> {
        let options = SocketOptions {
            source: self.source,
            ..options
        };
        Conn::open(self.shared, &options)
    }

    pub fn nick(&self) -> String {
        self.shared.names.chaos.nick(self.index)
    }

    /// Registers, and from now on expects the receivers to see the client leave in one of
    /// the `may_leave` ways.
    pub fn register(&mut self, conn: &mut Conn<'_>, may_leave: Vec<Left>) -> Result<(), String> {
        conn.register(&self.nick())?;
        self.registered = Some(may_leave);
        Ok(())
    }

    /// Changes how the receivers may see the registered client leave.
    pub fn may_leave(&mut self, ways: Vec<Left>) {
        if let Some(may_leave) = &mut self.registered {
            *may_leave = ways;
        }
    }

    /// Another connection of this fault, chaos client `index`, registered: the receivers
    /// must see it leave in one of the `may_leave` ways.
    pub fn also_registered(&mut self, index: u32, may_leave: Vec<Left>) {
        self.others.push((index, may_leave));
    }

    /// Changes how the receivers may see another of the fault's connections leave.
    pub fn other_may_leave(&mut self, index: u32, ways: Vec<Left>) {
        if let Some((_, may_leave)) = self.others.iter_mut().find(|(i, _)| *i == index) {
            *may_leave = ways;
        }
    }

    pub fn record(&mut self, figures: Figures) {
        self.figures = Some(figures);
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

    pub fn quit(&mut self) -> Result<(), String> {
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
    pub fn close(&mut self) -> Result<(), String> {
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
    pub fn reset(&mut self) -> Result<(), String> {
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
    pub fn half_line(&mut self, reset: bool) -> Result<(), String> {
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
    pub fn no_register(&mut self) -> Result<(), String> {
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

    /// Registers, asks for `WHO` over and over, and reads a little now and then, far less
    /// than its answers and the broadcasts bring: its queue fills, and the server must cut
    /// it and tell the others it was a slow consumer. (Reading a little keeps its writer
    /// from stalling for `--write-timeout`, the other cut of a client that does not read;
    /// on a machine so slow that it stalls anyway, that cut is taken too.)
    pub fn slow_reader(&mut self) -> Result<(), String> {
        let mut conn = self.open_with(STALLING)?;
        // Not reading means not reading OK NICK either: a valid, unused nick registers.
        let nick = Nick::parse(&self.nick()).map_err(|e| e.to_string())?;
        conn.send(&Command::Nick(nick))?;
        self.registered = Some(vec![Left::Slow, Left::WriteTimeout]);
        // WHO's answer (every nick online, kilobytes with the soak's hundreds of clients)
        // fills the queue at the pace flood control prices answers at, and the broadcasts
        // add theirs.
        let batch = format!("{}\n", Command::Who).repeat(SLOW_BATCH);
        let deadline = Instant::now() + SLOW_DEADLINE;
        let mut written = 0usize;
        let mut sip = [0u8; SLOW_SIP];
        while Instant::now() < deadline {
            match (&conn.stream).write_all(batch.as_bytes()) {
                Ok(()) => written += batch.len(),
                // Cut: the server shut the connection down, and the writes fail.
                Err(e) if is_cut(&e) => return Ok(()),
                // The write timed out: flood control reads it slowly. Go on until the deadline.
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return Err(format!("after {written} bytes of WHO: {e}")),
            }
            match client::recv_now(&conn.stream, &mut sip) {
                Ok(0) => return Ok(()),
                Err(e) if is_cut(&e) => return Ok(()),
                _ => {}
            }
            std::thread::sleep(SLOW_PAUSE);
        }
        Err(format!(
            "still connected after {SLOW_DEADLINE:?} and {written} bytes of WHO with answers \
             mostly unread"
        ))
    }

    /// A line of exactly `--max-line` bytes (answered), a longer one (`ERR LINE_TOO_LONG`),
    /// then the connection is used as before.
    pub fn long_line(&mut self) -> Result<(), String> {
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
        // Flood control reads the line's bytes at the pace of its byte budget.
        let deadline =
            Instant::now() + self.shared.reply_timeout() + self.shared.flood_delay(long.len());
        let too_long = Reply::from(&ProtocolError::LineTooLong { max: max_line });
        conn.expect_by("ERR LINE_TOO_LONG", deadline, |reply| {
            step(*reply == too_long)
        })?;
        let token = format!("after-long-{}", self.index);
        conn.send(&Command::Ping {
            token: Some(&token),
        })?;
        conn.expect_by("PONG after the long line", deadline, |reply| {
            step(is_pong(reply, &token))
        })?;
        if self.registered.is_some() {
            self.chat(&mut conn)?;
        }
        self.leave(conn)
    }

    /// Lines of random bytes with an invalid UTF-8 byte each, and blank lines, in one
    /// write: one `ERR BAD_ENCODING` per bad line, nothing for the blank ones, then the
    /// connection is used as before.
    pub fn bad_utf8(&mut self) -> Result<(), String> {
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
    pub fn rooms(&mut self) -> Result<(), String> {
        let mut conn = self.open()?;
        conn.hello()?;
        self.register(&mut conn, vec![Left::Quit(None)])?;
        let me = Nick::parse(&self.nick()).map_err(|e| e.to_string())?;
        for _ in 0..self.rng.u32(1..=3) {
            let name = self.shared.names.chaos.room(self.rng.u32(0..ROOMS));
            let room = Room::parse(&name).map_err(|e| e.to_string())?;
            conn.join(&room, &me)?;
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
    pub fn idle_timeout(&mut self) -> Result<(), String> {
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
