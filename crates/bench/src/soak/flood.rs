//! The flood fault: a registered client that sends numbered `ALL` lines as fast as the
//! server takes them, whose every line each well-behaved receiver checks; and the sending
//! loop it shares with the address flood ([`send_numbered`]).
//!
//! In scope: one flood connection from connect to `QUIT` ([`run`]) and its pace (batches,
//! each followed by a `PING`, at most a window of them unanswered). Out of scope: choosing
//! it and counting it (`chaos`), the other faults (`faults`), and the receivers' checks
//! (`chatter`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::loadgen::payload::Codec;
use crate::soak::chatter::{Left, Peer, Role};
use crate::soak::faults::{FaultEnd, FaultSettings};
use crate::soak::shared::Shared;

/// How a flood paces itself: lines written at once, each batch followed by a `PING`, and
/// the batches it may have unanswered: enough to keep the server busy, few enough that a
/// server that reads a fast client slowly (flood control) drains them well within the reply
/// timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub batch: u32,
    pub window: u64,
}

/// Short lines: 8 batches of 32 in flight.
pub const SHORT_LINES: Pace = Pace {
    batch: 32,
    window: 8,
};

/// What [`send_numbered`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sent {
    pub lines: u32,
    /// Every byte written, `PING`s included.
    pub bytes: u64,
    /// `PONG`s received for them, in bytes.
    pub answered: u64,
    /// From the first line written to the last `PONG` read.
    pub seconds: f64,
    /// The longest wait for one `PONG`: with one batch in flight, the longest a batch took.
    pub longest_wait: f64,
}

/// A flood: registers, sends numbered `ALL` lines as fast as the server takes them until
/// `--flood-lines` or the phase's end, waits for the last `PONG`, and quits. Its lines are
/// checked by every well-behaved receiver.
pub fn run(
    shared: &Arc<Shared>,
    settings: &FaultSettings,
    index: u32,
    source: Option<IpAddr>,
    end: Instant,
) -> Option<FaultEnd> {
    let sender = shared.start_flood(index)?;
    shared.opened();
    let nick = shared.names.chaos.nick(index);
    let reason = format!("soak flood {index} done");
    let mut fault_end = FaultEnd::default();
    let reader_deadline = end + Duration::from_secs(120);
    let result = (|| -> Result<(), String> {
        let peer = Peer::connect(shared, &nick, Role::Flooder, source, reader_deadline)
            .map_err(|e| format!("connect and register: {e}"))?;
        fault_end.registered = Some(vec![Left::Quit(Some(reason.clone()))]);
        let window = shared.codec.size() * (SHORT_LINES.batch as u64 * SHORT_LINES.window) as usize;
        let patience = shared.reply_timeout() + shared.flood_delay(window);
        let sent = send_numbered(
            shared,
            &peer,
            (sender, &shared.codec),
            SHORT_LINES,
            (settings.flood_lines, end),
            patience,
        );
        let sent = match sent {
            Ok(sent) => sent,
            Err(e) => {
                let _ = peer.abandon();
                return Err(e);
            }
        };
        fault_end.flood = Some((sent.lines, sent.seconds));
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

/// Sends numbered `ALL` lines as `sender`, with payloads of `codec`, at most `max_lines` or
/// until `end`, at most `pace.window` batches unanswered, and waits for the last `PONG`,
/// each `PONG` at most `patience` (a `PONG` waits behind every line before it, which flood
/// control may read slowly). `Err` when a write fails or a `PONG` is late; the peer should
/// then be abandoned.
pub fn send_numbered(
    shared: &Shared,
    peer: &Peer,
    (sender, codec): (usize, &Codec),
    pace: Pace,
    (max_lines, end): (u32, Instant),
    patience: Duration,
) -> Result<Sent, String> {
    let start = Instant::now();
    let mut sent = Sent::default();
    let mut batch = String::new();
    let mut last = 0;
    while sent.lines < max_lines && Instant::now() < end {
        batch.clear();
        let lines = pace.batch.min(max_lines - sent.lines);
        for seq in sent.lines..sent.lines + lines {
            batch.push_str("ALL ");
            shared.payload_with(codec, sender, seq, &mut batch);
            batch.push('\n');
        }
        peer.write(batch.as_bytes())
            .map_err(|e| format!("flood line {}: {e}", sent.lines))?;
        sent.lines += lines;
        sent.bytes += batch.len() as u64;
        shared.set_sent(sender, sent.lines);
        last = peer.ping().map_err(|e| format!("flood PING: {e}"))?;
        sent.bytes += ping_bytes(last);
        let unanswered = last.checked_sub(pace.window).filter(|&n| n > 0);
        if let Some(waited) = unanswered {
            let since = Instant::now();
            peer.wait_pong(waited, since + patience)?;
            sent.longest_wait = sent.longest_wait.max(since.elapsed().as_secs_f64());
        }
    }
    if last > 0 {
        let since = Instant::now();
        peer.wait_pong(last, since + patience)?;
        sent.longest_wait = sent.longest_wait.max(since.elapsed().as_secs_f64());
    }
    // `PONG <n>` is as long as `PING <n>`.
    sent.answered = (1..=last).map(ping_bytes).sum();
    sent.seconds = start.elapsed().as_secs_f64();
    Ok(sent)
}

/// Bytes of `PING <number>\n`.
fn ping_bytes(number: u64) -> u64 {
    format!("PING {number}\n").len() as u64
}
