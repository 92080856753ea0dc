//! The flood fault: a registered client that sends numbered `ALL` lines as fast as the
//! server takes them, whose every line each well-behaved receiver checks.
//!
//! In scope: one flood connection from connect to `QUIT` ([`run`]) and its pace (batches,
//! each followed by a `PING`, at most a window of them unanswered). Out of scope: choosing
//! it and counting it (`chaos`), the other faults (`faults`), and the receivers' checks
//! (`chatter`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::soak::chatter::{Left, Peer, Role};
use crate::soak::faults::{FaultEnd, FaultSettings};
use crate::soak::shared::Shared;

/// Lines a flood writes at once, each batch followed by a `PING`.
const FLOOD_BATCH: u32 = 32;
/// Batches a flood may have unanswered: enough to keep the server busy, few enough that a
/// server that reads a fast client slowly (flood control) drains them in seconds.
const FLOOD_WINDOW: u64 = 8;
/// A flood: registers, sends numbered `ALL` lines as fast as the server takes them (at most
/// [`FLOOD_WINDOW`] batches unanswered) until `--flood-lines` or the phase's end, waits for
/// the last `PONG`, and quits. Its lines are checked by every well-behaved receiver.
pub fn run(
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
            let unanswered = last.checked_sub(FLOOD_WINDOW).filter(|&n| n > 0);
            if let Some(waited) = unanswered {
                if let Err(e) = peer.wait_pong(waited, Instant::now() + shared.reply_timeout()) {
                    let _ = peer.abandon();
                    return Err(e);
                }
            }
        }
        if last > 0 {
            if let Err(e) = peer.wait_pong(last, Instant::now() + shared.reply_timeout()) {
                let _ = peer.abandon();
                return Err(e);
            }
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
