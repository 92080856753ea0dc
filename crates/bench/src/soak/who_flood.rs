//! The `WHO`/`ROOMS` flood: a registered client that asks for the list of everyone online
//! and of every room, over and over, as fast as the server answers. Each question is a few
//! bytes and its answer kilobytes (issue 13: `WHO` cost 4 bytes in and 330 KB out at 10,000
//! clients), so flood control prices it by its answers (`--byte-rate`): the client must be
//! slowed to its byte budget, and every question still answered in full, in order.
//!
//! In scope: one such connection ([`run`]) and its price against its budget. Out of scope:
//! choosing and counting it (`chaos`).

use std::time::{Duration, Instant};

use crate::soak::chaos_conn::{Step, is_pong, step};
use crate::soak::chatter::Left;
use crate::soak::faults::ChaosClient;
use crate::soak::figures::{Figures, Priced};
use chatd_proto::{Command, Nick, Reply};

/// Questions sent at once, each batch followed by a `PING` and read to its `PONG`.
const BATCH: usize = 8;
/// How long the flood lasts (or to the end of its half).
const LONGEST: Duration = Duration::from_secs(3);
/// Bytes a connection may read and spend beyond its budget: one read.
const READ_CHUNK: u64 = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Question {
    Who,
    Rooms,
}

/// Runs the fault on `client`, until `end` at the latest.
pub fn run(client: &mut ChaosClient<'_>, end: Instant) -> Result<(), String> {
    let shared = client.shared();
    let mut conn = client.open()?;
    conn.hello()?;
    client.register(&mut conn, vec![Left::Quit(None)])?;
    let me = Nick::parse(&client.nick()).map_err(|e| e.to_string())?;
    let end = end.min(Instant::now() + LONGEST);
    let start = Instant::now();
    let (mut sent, mut answered, mut questions, mut biggest) = (0u64, 0u64, 0u64, 0u64);
    let mut longest_wait: f64 = 0.0;
    let mut batch_number = 0;
    while Instant::now() < end {
        batch_number += 1;
        let asked: Vec<Question> = (0..BATCH)
            .map(|_| {
                if client.rng().u8(0..3) == 0 {
                    Question::Rooms
                } else {
                    Question::Who
                }
            })
            .collect();
        let token = format!("who-{}-{batch_number}", client.index());
        let mut lines = String::new();
        for question in &asked {
            let command = match question {
                Question::Who => Command::Who,
                Question::Rooms => Command::Rooms,
            };
            lines.push_str(&format!("{command}\n"));
        }
        lines.push_str(&format!(
            "{}\n",
            Command::Ping {
                token: Some(&token)
            }
        ));
        conn.send_raw(lines.as_bytes())?;
        let since = Instant::now();
        sent += lines.len() as u64;
        // The answers come at the pace of the byte budget: one batch's worth may be owed.
        let patience = shared.reply_timeout() + shared.flood_delay(BATCH * 64 * 1024);
        let (mut at, mut this_answer, mut listed_me) = (0, 0u64, false);
        let mut failure = None;
        conn.expect_by(
            "the answers to WHO and ROOMS, then PONG",
            Instant::now() + patience,
            |reply| {
                let bytes = reply.to_line().len() as u64;
                let step_to = match (asked.get(at), reply) {
                    (Some(Question::Who), Reply::Who(nicks)) => {
                        listed_me |= nicks.contains(&me);
                        Step::More
                    }
                    (Some(Question::Who), Reply::EndWho) => {
                        if !listed_me {
                            failure = Some("a WHO answer without the asker".to_owned());
                        }
                        at += 1;
                        listed_me = false;
                        Step::More
                    }
                    (Some(Question::Rooms), Reply::RoomInfo { .. }) => Step::More,
                    (Some(Question::Rooms), Reply::EndRooms) => {
                        at += 1;
                        Step::More
                    }
                    (None, reply) if is_pong(reply, &token) => Step::Done,
                    _ => return step(false),
                };
                answered += bytes;
                this_answer += bytes;
                if matches!(reply, Reply::EndWho | Reply::EndRooms) {
                    biggest = biggest.max(this_answer);
                    this_answer = 0;
                }
                step_to
            },
        )?;
        if let Some(failure) = failure {
            return Err(failure);
        }
        longest_wait = longest_wait.max(since.elapsed().as_secs_f64());
        questions += BATCH as u64;
    }
    let seconds = start.elapsed().as_secs_f64();
    let priced = price(client, questions, sent + answered, seconds, biggest).map(|priced| Priced {
        longest_wait,
        ..priced
    });
    let over = priced.as_ref().filter(|p| p.cost > p.allowed).map(|p| {
        format!(
            "{questions} WHO and ROOMS cost {} bytes with their answers in {seconds:.1} s, more \
             than its byte budget allows ({} bytes): the answers were not priced",
            p.cost, p.allowed
        )
    });
    if let Some(priced) = priced {
        client.record(Figures::WhoFlood(priced));
    }
    if let Some(over) = over {
        return Err(over);
    }
    conn.send(&Command::Quit { reason: None })?;
    conn.expect("BYE", |reply| *reply == Reply::Bye { reason: None })?;
    conn.expect_end()
}

/// What the flood cost against what its budget allows over `seconds`: its byte budget's
/// burst and rate (or its address's, if lower), plus what one turn may spend beyond them
/// (one read, and the biggest answer, charged after it is produced).
fn price(
    client: &ChaosClient<'_>,
    questions: u64,
    cost: u64,
    seconds: f64,
    biggest: u64,
) -> Option<Priced> {
    let config = &client.shared().config;
    if config.rate == 0 {
        return None;
    }
    let mut budgets = Vec::new();
    if config.byte_rate > 0 {
        budgets.push((config.byte_rate as u64, config.byte_burst as u64));
    }
    let ip = client.source().unwrap_or(client.shared().addr.ip());
    if config.address_budget_applies(ip) && config.ip_byte_rate > 0 {
        budgets.push((config.ip_byte_rate as u64, 2 * config.ip_byte_rate as u64));
    }
    let allowed =
        |(rate, burst): (u64, u64)| burst + (rate as f64 * seconds) as u64 + READ_CHUNK + biggest;
    let (rate, burst) = budgets.into_iter().min_by_key(|b| allowed(*b))?;
    Some(Priced {
        connections: 1,
        lines: questions,
        cost,
        seconds,
        rate,
        allowed: allowed((rate, burst)),
        longest_wait: 0.0,
    })
}
