//! The resuming clients: well-behaved clients that listen to the lobby with `CAP ids`, and
//! every so often leave (`QUIT`, `BYE`, the end of the stream), stay away a while, come back
//! under the same nick and catch up with `HISTORY * AFTER`, page after page until the
//! history joins the live lines. A [`ResumeCheck`] judges what each heard. They send no
//! chat lines, so the other clients' checks are those of a run without them.
//!
//! In scope: one resuming client's connections and its loop ([`Resumer`]).
//! Out of scope: the check (`resume`), the verdict (`outcome`).

use std::io::{self, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};

use crate::loadgen::client;
use crate::soak::resume::{Heard, ResumeCheck, ResumeCounts};
use crate::soak::shared::Shared;
use chatd_proto::{Capability, Command, HistoryRequest, MAX_HISTORY, Nick, Page, Reply, Target};

/// Pages one resume may take: far more than a lobby says while a client is away.
const MAX_PAGES: u32 = 1000;

/// How one resuming client ended.
#[derive(Debug)]
pub struct ResumerEnd {
    pub counts: ResumeCounts,
    /// What went wrong on the wire (a refused `NICK`, a lost connection); the client
    /// stopped there.
    pub failure: Option<String>,
}

/// A resuming client, registered and hearing the lobby.
pub struct Resumer<'a> {
    /// Which resuming client: where it connects from.
    number: usize,
    nick: String,
    conn: Conn<'a>,
    check: ResumeCheck,
}

impl<'a> Resumer<'a> {
    /// Connects resuming client `number`: before the well-behaved senders start, so that
    /// it hears every one of their lines. Its nick comes after the chatting clients'.
    pub fn connect(shared: &'a Shared, number: usize) -> io::Result<Resumer<'a>> {
        let index = u32::try_from(shared.well_behaved + number).expect("nicks fit in u32");
        let nick = shared.names.chat.nick(index);
        let conn = Conn::open(shared, number, &nick)?;
        Ok(Resumer {
            number,
            nick,
            conn,
            check: ResumeCheck::new(shared.well_behaved),
        })
    }

    /// Listens for `every`, leaves, stays away for `away`, comes back and catches up, until
    /// `stop` is dropped (seen at its next leave). It then reads everything queued for it
    /// (a `PING` barrier) and quits: every well-behaved sender must have finished sending
    /// by then.
    pub fn run(self, every: Duration, away: Duration, stop: &Receiver<()>) -> ResumerEnd {
        let Resumer {
            number,
            nick,
            mut conn,
            mut check,
        } = self;
        let shared = conn.shared;
        let result = (|| -> io::Result<()> {
            loop {
                conn.listen(&mut check, Instant::now() + every)?;
                if stop.try_recv() == Err(TryRecvError::Disconnected) {
                    break;
                }
                if check.last_id().is_none() {
                    // Nothing heard yet: a resume would have nowhere to start from.
                    continue;
                }
                conn.quit(&mut check)?;
                // The stop channel doubles as the pace of the absence; a stop cuts it short.
                let _ = stop.recv_timeout(away);
                conn = Conn::open(shared, number, &nick)?;
                conn.resume(&mut check)?;
            }
            conn.barrier(&mut check)?;
            conn.quit(&mut check)
        })();
        ResumerEnd {
            counts: check.finish(|sender| shared.sent(sender)),
            failure: result.err().map(|e| format!("{nick}: {e}")),
        }
    }
}

/// One connection of a resuming client.
struct Conn<'a> {
    shared: &'a Shared,
    stream: TcpStream,
    /// Bytes read and not yet handed over as lines.
    pending: Vec<u8>,
    /// The number of the next `PING` barrier.
    next_barrier: u64,
}

/// What the line handler makes of a line the resume machinery does not take itself.
type Until<'f> = &'f mut dyn FnMut(&Reply) -> io::Result<bool>;

impl<'a> Conn<'a> {
    /// Connects, turns ids on and registers `nick`: every lobby line from then on comes
    /// with its id.
    fn open(shared: &'a Shared, number: usize, nick: &str) -> io::Result<Conn<'a>> {
        let options = client::SocketOptions {
            source: shared.sources.resumer(number),
            ..client::SocketOptions::default()
        };
        let stream = client::connect_with(shared.addr, &options)?;
        let parsed = Nick::parse(nick).map_err(|e| io::Error::other(format!("{nick}: {e}")))?;
        let hello = format!(
            "{}\n{}\n",
            Command::Cap(Capability::Ids),
            Command::Nick(parsed)
        );
        (&stream).write_all(hello.as_bytes())?;
        let mut conn = Conn {
            shared,
            stream,
            pending: Vec::new(),
            next_barrier: 1,
        };
        let mut ids = false;
        let what = format!("OK CAP ids and OK NICK {nick}");
        let deadline = Instant::now() + conn.wait();
        conn.read(None, deadline, &what, &mut |reply| match reply {
            Reply::OkCap(Capability::Ids) => {
                ids = true;
                Ok(false)
            }
            Reply::OkNick(got) if got.as_str() == nick && ids => Ok(true),
            Reply::Err { code, text } => Err(io::Error::other(format!("ERR {code} {text}"))),
            Reply::Hello { .. } => Ok(false),
            other => Err(io::Error::other(format!("{other} before {what}"))),
        })?;
        Ok(conn)
    }

    /// The longest wait for an answer: history pages are big answers, and flood control
    /// may hold the next line back until this client's byte budget has paid for them.
    fn wait(&self) -> Duration {
        self.shared.reply_timeout() + self.shared.flood_delay(self.shared.config.send_queue)
    }

    /// Hears the lobby until `until`.
    fn listen(&mut self, check: &mut ResumeCheck, until: Instant) -> io::Result<()> {
        let heard = self.read(Some(check), until, "the end of a stay", &mut |_| Ok(false));
        match heard {
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(()),
            other => other,
        }
    }

    /// `HISTORY * AFTER`, page after page, until the history joins the live lines.
    fn resume(&mut self, check: &mut ResumeCheck) -> io::Result<()> {
        let mut after = check.start_resume();
        let wait = self.wait();
        for _ in 0..MAX_PAGES {
            let request = HistoryRequest {
                target: Target::Lobby,
                count: MAX_HISTORY,
                page: Page::After(after),
            };
            self.stream
                .write_all(format!("{}\n", Command::History(request)).as_bytes())?;
            self.read(
                Some(check),
                Instant::now() + wait,
                "END HISTORY *",
                &mut |reply| match reply {
                    Reply::EndHistory {
                        target: Target::Lobby,
                        ..
                    } => Ok(true),
                    Reply::Err { code, text } => {
                        Err(io::Error::other(format!("HISTORY: ERR {code} {text}")))
                    }
                    _ => Ok(false),
                },
            )?;
            match check.next_page() {
                Some(next) => after = next,
                None => {
                    check.end_resume();
                    return Ok(());
                }
            }
        }
        Err(io::Error::other(format!(
            "HISTORY * AFTER: still not caught up after {MAX_PAGES} pages"
        )))
    }

    /// `PING`, and every line queued for this client before its `PONG`.
    fn barrier(&mut self, check: &mut ResumeCheck) -> io::Result<()> {
        let token = format!("resume-{}", self.next_barrier);
        self.next_barrier += 1;
        let ping = Command::Ping {
            token: Some(&token),
        };
        self.stream.write_all(format!("{ping}\n").as_bytes())?;
        let deadline = Instant::now() + self.wait();
        self.read(Some(check), deadline, "PONG", &mut |reply| {
            Ok(matches!(reply, Reply::Pong { token: Some(got) } if *got == token))
        })
    }

    /// `QUIT`: the lines before `BYE` are heard, and the end of the stream must follow it.
    fn quit(&mut self, check: &mut ResumeCheck) -> io::Result<()> {
        self.stream
            .write_all(format!("{}\n", Command::Quit { reason: None }).as_bytes())?;
        let deadline = Instant::now() + self.wait();
        self.read(Some(check), deadline, "BYE", &mut |reply| {
            Ok(matches!(reply, Reply::Bye { reason: None }))
        })?;
        let after = self.read(None, deadline, "the end after BYE", &mut |reply| {
            Err(io::Error::other(format!("{reply} after BYE")))
        });
        match after {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(()),
            Err(e) => Err(e),
            Ok(()) => Err(io::Error::other("no end of stream after BYE")),
        }
    }

    /// Reads lines until `until` says so, by `deadline`. Lobby lines go to `check` (live,
    /// or `HIST *`), the server's `PING` is answered; the rest goes to `until`.
    fn read(
        &mut self,
        mut check: Option<&mut ResumeCheck>,
        deadline: Instant,
        what: &str,
        until: Until<'_>,
    ) -> io::Result<()> {
        let shared = self.shared;
        let stream = &self.stream;
        client::read_lines(stream, &mut self.pending, deadline, what, |bytes| {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| io::Error::other("a line that is not UTF-8"))?;
            let (id, reply) = Reply::parse_with_id(text)
                .map_err(|e| io::Error::other(format!("{text:?}: {e}")))?;
            match (id, reply, check.as_deref_mut()) {
                (Some(id), Reply::All { from, text: body }, Some(check)) => {
                    let line = text.split_once(' ').map_or(text, |(_, line)| line);
                    check.live(heard(shared, id, line, from.as_str(), &body));
                    Ok(false)
                }
                (
                    None,
                    Reply::Hist {
                        target: Target::Lobby,
                        id,
                        line,
                        ..
                    },
                    Some(check),
                ) => {
                    let Ok(Reply::All { from, text: body }) = Reply::parse(&line) else {
                        return Err(io::Error::other(format!("HIST * {id} {line:?}")));
                    };
                    check.history(heard(shared, id, &line, from.as_str(), &body));
                    Ok(false)
                }
                (None, Reply::Ping { token }, _) => {
                    let pong = Command::Pong {
                        token: token.as_deref(),
                    };
                    (&*stream).write_all(format!("{pong}\n").as_bytes())?;
                    Ok(false)
                }
                // Others joining and leaving, and lines from others' rooms: not the lobby's.
                (None, Reply::Join(_) | Reply::Quit { .. }, _) => Ok(false),
                (_, reply, _) => until(&reply),
            }
        })
    }
}

/// A lobby line: numbered if it is a well-behaved sender's line under its own nick.
fn heard(shared: &Shared, id: chatd_proto::MessageId, line: &str, from: &str, body: &str) -> Heard {
    let numbered = shared
        .names
        .chat
        .index_of(from.as_bytes())
        .map(|index| index as usize)
        .filter(|&index| index < shared.well_behaved)
        .and_then(|index| {
            let stamp = shared.decode(body.as_bytes()).ok()?;
            (stamp.sender as usize == index).then_some((index, stamp.seq))
        });
    Heard {
        id,
        line: line.to_owned(),
        numbered,
    }
}
