//! The zero-window fault: a client that asks for answers, leaves (`QUIT` or FIN) and never
//! reads, so its receive window stays shut and the server's writer can write nothing more.
//! The server must cut it once `--write-timeout` has passed without a byte written, and
//! close its descriptor, which frees its place under `--max-clients` and `--max-per-ip`
//! (issue 13: such writers used to block in `writev` forever, each keeping a thread, a
//! descriptor and, since it had ended, no place in the limits).
//!
//! In scope: one such connection ([`run`]). Out of scope: choosing and counting it (`chaos`).
//!
//! Nothing of this shows on the wire, so the fault watches the server's socket from the
//! kernel's side (`sock_diag`): it fills the server's send buffer, never its queue (`HELP`
//! lines, paced by what the kernel shows has been answered, so that the queue behind the
//! buffer stays far below `--send-queue` and the client is not cut as a slow consumer
//! instead), until the kernel shows no byte written for a while with answers still queued; notes
//! the last instant before the writer's last progress (its stall began after that); leaves;
//! and waits for the descriptor to close: not before `--write-timeout` after that instant,
//! and not much later. It never registers: broadcasts would fill its queue.

use std::net::{SocketAddr, SocketAddrV4};
use std::thread;
use std::time::{Duration, Instant};

use crate::soak::faults::{ChaosClient, STALLING};
use crate::soak::figures::{Figures, ZeroWindowCut};
use crate::sock_diag::{SockDiag, SocketView};
use chatd_proto::{Command, Reply};

/// `HELP` lines written at once.
const BATCH: usize = 8;
/// Answer bytes asked for at most before the buffer must be full.
const MOST: usize = 4 * 1024 * 1024;
/// How often the kernel is asked.
const LOOK_EVERY: Duration = Duration::from_millis(10);
/// How long the writer's progress must have stopped, the send buffer full, before the
/// writer counts as stalled: long enough for the last segments to settle.
const SETTLED: Duration = Duration::from_millis(100);

/// Runs the fault on `client`.
pub fn run(client: &mut ChaosClient<'_>) -> Result<(), String> {
    let shared = client.shared();
    let mut conn = client.open_with(STALLING)?;
    let server = v4(shared.addr)?;
    let me = v4(conn.stream.local_addr().map_err(|e| e.to_string())?)?;
    let diag = SockDiag::open().map_err(|e| format!("sock_diag: {e}"))?;
    let look = |local, peer| {
        diag.lookup(local, peer)
            .map_err(|e| format!("sock_diag: {e}"))
    };
    let start = Instant::now();
    // The server holds the socket once it has accepted it.
    while !look(server, me)?.is_some_and(|view| view.held_open()) {
        if start.elapsed() > shared.reply_timeout() {
            return Err("the server never accepted the connection".to_owned());
        }
        thread::sleep(LOOK_EVERY);
    }
    let help_bytes: usize = Reply::help().iter().map(|r| r.to_line().len()).sum();
    let batch = format!("{}\n", Command::Help).repeat(BATCH);
    // Answers left in the server's queue behind the full buffer: enough that the buffer's
    // growing once more (an incoming segment may let the kernel enlarge it) cannot take
    // them all, few enough to stay far below --send-queue (`HELP` lines count about 2.4
    // times their text there).
    let behind = (shared.config.send_queue / 16).min(64 * 1024);
    let most_unseen = behind + behind / 2;
    let fill_deadline = start + shared.reply_timeout() + shared.flood_delay(2 * MOST);
    let mut asked = Reply::hello().to_line().len();
    let mut watch = Watch::new(start);
    loop {
        let now = Instant::now();
        let Some(theirs) = look(server, me)?.filter(SocketView::held_open) else {
            // Ended before its writer stalled: only the register timeout may do that.
            let waited = now - start;
            if waited >= shared.config.register_timeout {
                client.record(Figures::ZeroWindow(ZeroWindowCut::NotStalled));
                return Ok(());
            }
            return Err(format!(
                "the server closed the connection after {waited:?}, before its send buffer \
                 filled ({asked} bytes of answers asked for)"
            ));
        };
        let mine = look(me, server)?;
        watch.see(now, &theirs, mine.as_ref());
        let queued = unseen(asked, Some(theirs), mine);
        if watch.stalled(now, &theirs) && queued >= behind {
            break;
        }
        if asked > MOST || now > fill_deadline {
            return Err(format!(
                "the server's send buffer was not full after {asked} bytes of answers in {:?} \
                 ({theirs:?}): the fault cannot stall its writer",
                now - start
            ));
        }
        if queued < most_unseen {
            conn.send_raw(batch.as_bytes())?;
            asked += BATCH * help_bytes;
        } else {
            thread::sleep(LOOK_EVERY);
        }
    }
    let by_quit = client.rng().bool();
    let expected = if by_quit {
        conn.send(&Command::Quit { reason: None })?;
        asked + Reply::Bye { reason: None }.to_line().len()
    } else {
        conn.half_close()?;
        asked
    };
    let write_timeout = shared.config.write_timeout;
    // A writer is cut once a write of its has made no progress for --write-timeout; a write
    // that made some returns it when its time is up, and the next one waits as long again.
    let deadline = Instant::now()
        + write_timeout * 2
        + write_timeout / 4
        + shared.reply_timeout()
        + shared.flood_delay(2 * most_unseen);
    loop {
        let now = Instant::now();
        let view = look(server, me)?;
        match view {
            Some(theirs) if theirs.held_open() => {
                watch.see(now, &theirs, look(me, server)?.as_ref());
            }
            _ => {
                conn.reset();
                // Closed: everything written (the buffer grew and took the rest, so there
                // was no stall to cut after all), or cut with answers still queued.
                let wrote_all = view
                    .and_then(|theirs| theirs.written)
                    .is_some_and(|written| written >= expected as u64);
                if wrote_all {
                    client.record(Figures::ZeroWindow(ZeroWindowCut::NotStalled));
                    return Ok(());
                }
                // Measured to when the close was seen, not to `now`, read before the look: a
                // thread held up between the two (a loaded machine) would otherwise see a cut
                // at the deadline as an early one.
                let after = Instant::now() - watch.progress_after;
                if after < write_timeout {
                    return Err(format!(
                        "its descriptor ({me}) was closed {after:?} after its writer's last \
                         progress, before --write-timeout {write_timeout:?}, with answers \
                         still queued"
                    ));
                }
                client.record(Figures::ZeroWindow(ZeroWindowCut::Cut {
                    seconds: after.as_secs_f64(),
                    by_quit,
                }));
                return Ok(());
            }
        }
        if now > deadline {
            conn.reset();
            return Err(format!(
                "its descriptor still open {:?} after its writer's last progress ({} after \
                 --write-timeout {write_timeout:?}): the writer was not cut",
                now - watch.progress_after,
                if by_quit { "QUIT" } else { "FIN" }
            ));
        }
        thread::sleep(LOOK_EVERY * 5);
    }
}

/// The server's writer as the kernel shows it: when it last made progress.
struct Watch {
    /// The writer's last progress came after this instant (so did its stall).
    progress_after: Instant,
    /// The last look: when, and what the writer had written by then.
    last: Option<(Instant, u64)>,
    /// Since when the buffer has been full with nothing more written.
    settled_since: Instant,
}

impl Watch {
    fn new(start: Instant) -> Watch {
        Watch {
            progress_after: start,
            last: None,
            settled_since: start,
        }
    }

    /// A look at `now`: the server's socket, and the client's.
    fn see(&mut self, now: Instant, theirs: &SocketView, mine: Option<&SocketView>) {
        // It grows only when a write makes progress (the kernel moving bytes from one
        // buffer to the other does not change it); on an old kernel, the bytes in both
        // buffers stand in for it.
        let written = theirs.written.unwrap_or(
            u64::from(theirs.unacknowledged) + u64::from(mine.map_or(0, |view| view.unread)),
        );
        // The server's own FIN, once it cuts the connection, is not a write's progress.
        let fin_only =
            theirs.fin_sent() && self.last.is_some_and(|(_, before)| written == before + 1);
        match self.last {
            Some((_, before)) if fin_only => {
                self.last = Some((now, before));
                return;
            }
            Some((at, before)) if before != written => {
                self.progress_after = at;
                self.settled_since = now;
            }
            // Without the kernel's count of bytes written, a send buffer with room stands
            // for progress. (With it, room means nothing: a writer can wait with the buffer
            // not quite full, for as much room as the kernel wakes it for.)
            _ if theirs.written.is_none() && !theirs.send_buffer_full() => {
                self.progress_after = now;
                self.settled_since = now;
            }
            _ => {}
        }
        self.last = Some((now, written));
    }

    fn stalled(&self, now: Instant, theirs: &SocketView) -> bool {
        (theirs.written.is_some() || theirs.send_buffer_full())
            && now - self.settled_since >= SETTLED
    }
}

/// Answer bytes asked for that are in neither socket's buffers: still in the server's
/// queue, or not yet answered. `theirs` is the server's socket, `mine` the client's.
fn unseen(asked: usize, theirs: Option<SocketView>, mine: Option<SocketView>) -> usize {
    let in_kernel =
        theirs.map_or(0, |view| view.unacknowledged) + mine.map_or(0, |view| view.unread);
    asked.saturating_sub(in_kernel as usize)
}

fn v4(addr: SocketAddr) -> Result<SocketAddrV4, String> {
    match addr {
        SocketAddr::V4(v4) => Ok(v4),
        SocketAddr::V6(_) => Err(format!("{addr}: the zero-window fault needs IPv4")),
    }
}
