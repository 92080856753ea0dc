//! The address flood: many connections from one address, each sending numbered `ALL` lines
//! of 4 KiB as fast as the server takes them (issue 13: 256 connections of one address
//! could push 256 x 50 x 4 KiB a second to everyone, fill every reader's queue and get them
//! all cut). Flood control prices each connection's bytes (`--byte-rate`) and the address's
//! together (`--ip-rate`, `--ip-byte-rate`): the flood must be slowed to its address's
//! budget, lose none of its lines and keep their order (every well-behaved receiver checks
//! each one), and cost no well-behaved client its connection.
//!
//! In scope: one address flood from connect to `QUIT` ([`run`]): its connections, and what
//! they cost against what the address's budget allows. Out of scope: choosing and counting
//! it (`chaos`), the sending loop (`flood`), the receivers' checks (`chatter`).
//!
//! One runs at a time, from the address `sources` keeps for it, so that the budget it runs
//! into is its own.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::soak::chatter::{Left, Peer, Role};
use crate::soak::faults::FaultEnd;
use crate::soak::figures::{Figures, Priced};
use crate::soak::flood::{self, Pace, Sent};
use crate::soak::shared::Shared;

/// Lines of 4 KiB: 4 at a time, one batch in flight per connection (16 KiB). Not more: a
/// connection's turn reads what has arrived (up to 64 KiB) before its address is charged, so
/// a deeper backlog would leave the address in debt for seconds, and the server's idle timer
/// runs on while it holds a connection back (see the soak's report on that).
const BIG_LINES: Pace = Pace {
    batch: 4,
    window: 1,
};
/// An address flood lasts at most this long (or to the end of its half).
const LONGEST: Duration = Duration::from_secs(10);
/// Bytes a connection may read and spend in one turn beyond its byte budget: one read.
const READ_CHUNK: u64 = 16 * 1024;
/// Lines a connection runs in one turn at most; its address is charged after the turn.
const LINES_PER_TURN: u64 = 64;

/// Runs an address flood of `connections` connections, the first as chaos client `index`.
/// `None` if one runs already or too few sender numbers are left: the slot chooses again.
pub fn run(shared: &Arc<Shared>, index: u32, connections: usize, end: Instant) -> Option<FaultEnd> {
    if shared.senders_left() < connections || !shared.start_address_flood() {
        return None;
    }
    let end = end.min(Instant::now() + LONGEST);
    let source = shared.sources.address_flood();
    let line = shared.big_codec.size() + "ALL \n".len();
    // Every connection's window waits on the address's budget, which they all share.
    let in_flight = connections * line * (BIG_LINES.batch as usize) * BIG_LINES.window as usize;
    let patience = shared.reply_timeout() + shared.flood_delay(in_flight);
    let start = Instant::now();
    let results: Vec<(u32, Result<Sent, String>)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..connections)
            .map(|k| {
                let chaos = if k == 0 {
                    index
                } else {
                    shared.next_chaos_index()
                };
                thread::Builder::new()
                    .name(format!("soak-addr-flood-{k}"))
                    .stack_size(256 * 1024)
                    .spawn_scoped(scope, move || {
                        (chaos, one(shared, chaos, source, end, patience))
                    })
                    .expect("an address flood thread starts")
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an address flood thread does not panic"))
            .collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    shared.end_address_flood();

    let mut fault_end = FaultEnd::default();
    let mut total = Sent::default();
    for (chaos, result) in results {
        let may_leave = match &result {
            Ok(_) => vec![Left::Quit(Some(reason(chaos)))],
            Err(_) => vec![Left::Quit(Some(reason(chaos))), Left::Closed, Left::Reset],
        };
        match result {
            Ok(sent) => {
                total.lines += sent.lines;
                total.bytes += sent.bytes;
                total.answered += sent.answered;
                total.longest_wait = total.longest_wait.max(sent.longest_wait);
            }
            Err(e) => {
                fault_end
                    .mismatch
                    .get_or_insert_with(|| format!("connection of chaos client {chaos}: {e}"));
            }
        }
        if chaos == index {
            fault_end.registered = Some(may_leave);
        } else {
            fault_end.others.push((chaos, may_leave));
        }
    }
    let priced = price(shared, source, connections, &total, seconds, line);
    if let (None, Some(priced)) = (&fault_end.mismatch, &priced) {
        if priced.cost > priced.allowed {
            fault_end.mismatch = Some(format!(
                "{connections} connections of one address cost {} bytes in {seconds:.1} s, more \
                 than its budget allows ({} bytes): the address budget did not slow them",
                priced.cost, priced.allowed
            ));
        }
    }
    fault_end.figures = priced.map(Figures::AddressFlood);
    fault_end.flood = Some((total.lines, seconds));
    Some(fault_end)
}

fn reason(chaos: u32) -> String {
    format!("soak address flood {chaos} done")
}

/// One connection of the flood: registers, floods, waits for its last `PONG`, quits.
fn one(
    shared: &Arc<Shared>,
    chaos: u32,
    source: Option<std::net::IpAddr>,
    end: Instant,
    patience: Duration,
) -> Result<Sent, String> {
    let Some(sender) = shared.claim_sender(chaos) else {
        return Err("no sender number left".to_owned());
    };
    shared.opened();
    let result = (|| {
        let nick = shared.names.chaos.nick(chaos);
        let peer = Peer::connect(shared, &nick, Role::Flooder, source, end + patience * 4)
            .map_err(|e| format!("connect and register: {e}"))?;
        let pace = (sender, &shared.big_codec);
        let sent =
            match flood::send_numbered(shared, &peer, pace, BIG_LINES, (u32::MAX, end), patience) {
                Ok(sent) => sent,
                Err(e) => {
                    let _ = peer.abandon();
                    return Err(e);
                }
            };
        match peer.quit(Some(&reason(chaos))).lost {
            None => Ok(sent),
            Some(lost) => Err(format!("disconnected: {lost}")),
        }
    })();
    shared.closed();
    result
}

/// What the flood cost against what its address's budget allows over `seconds`, if the
/// server gives that address a budget: its burst (twice its rate), its rate over the time,
/// and what each connection may spend in one turn before its address is charged (its own
/// byte budget's burst plus one read, and at most a turn's lines).
fn price(
    shared: &Shared,
    source: Option<std::net::IpAddr>,
    connections: usize,
    total: &Sent,
    seconds: f64,
    line: usize,
) -> Option<Priced> {
    let config = &shared.config;
    let ip = source.unwrap_or(shared.addr.ip());
    if !config.address_budget_applies(ip) || config.ip_byte_rate == 0 {
        return None;
    }
    let rate = config.ip_byte_rate as u64;
    let own_burst = if config.byte_rate > 0 {
        config.byte_burst as u64 + READ_CHUNK
    } else {
        u64::MAX
    };
    let per_turn = own_burst.min(LINES_PER_TURN * line as u64);
    let allowed = 2 * rate + (rate as f64 * seconds) as u64 + connections as u64 * per_turn;
    Some(Priced {
        connections: connections as u32,
        lines: u64::from(total.lines),
        cost: total.bytes + total.answered,
        seconds,
        rate,
        allowed,
        longest_wait: total.longest_wait,
    })
}
