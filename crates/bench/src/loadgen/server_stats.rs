//! The server's own figures at the end of a run: one more connection registers, asks
//! `STATS` and reads the answer, so the report can show them beside the generator's.
//!
//! In scope: asking ([`ask`]; every node of a cluster, as one answer: [`ask_all`]) and the
//! figures ([`ServerStats`]). Out of scope: when a run
//! asks (`workload`), and how the report shows them (`report`).
//!
//! Asked while the run's clients are still connected, just after the measured window: the
//! server then has nothing else to do, whereas once thousands of clients close, each of their
//! `QUIT`s goes to all the others first. The new client's `JOIN` reaches the run's clients
//! after their readers stopped, so nobody checks it.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use chatd_proto::{Command, Reply, StatName};

use crate::loadgen::client::{self, IO_TIMEOUT, Naming};

/// The figures of one `STATS` answer, in the order the server sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerStats {
    figures: Vec<(StatName, u64)>,
}

impl ServerStats {
    pub fn new(figures: Vec<(StatName, u64)>) -> ServerStats {
        ServerStats { figures }
    }

    /// Several servers' answers (a cluster's nodes) as one: each figure in the order of
    /// the first answer that has it, counts summed, and for the figures that are no counts
    /// (latency percentiles, a peak, the uptime) the highest of the nodes'.
    pub fn merged(answers: &[ServerStats]) -> ServerStats {
        let mut figures: Vec<(StatName, u64)> = Vec::new();
        for (name, value) in answers.iter().flat_map(|a| &a.figures) {
            let highest = matches!(
                name,
                StatName::FanoutLatencyP50Us
                    | StatName::FanoutLatencyP99Us
                    | StatName::QueuedBytesPeak
                    | StatName::UptimeS
            );
            match figures.iter_mut().find(|(known, _)| known == name) {
                Some((_, sum)) if highest => *sum = (*sum).max(*value),
                Some((_, sum)) => *sum = sum.saturating_add(*value),
                None => figures.push((name.clone(), *value)),
            }
        }
        ServerStats { figures }
    }

    /// The figure called `name`, if the server sent it.
    pub fn get(&self, name: &StatName) -> Option<u64> {
        self.figures
            .iter()
            .find(|(known, _)| known == name)
            .map(|&(_, value)| value)
    }
}

/// [`ask`] of every server at `addrs` (a cluster's nodes), made one answer by
/// [`ServerStats::merged`].
pub fn ask_all(addrs: &[SocketAddr]) -> io::Result<ServerStats> {
    let answers = addrs
        .iter()
        .map(|&addr| ask(addr))
        .collect::<io::Result<Vec<_>>>()?;
    Ok(ServerStats::merged(&answers))
}

/// Registers a client of its own at `addr`, asks `STATS`, reads the answer and quits. Lines
/// for others' clients that come meanwhile are skipped; an `ERR` (a server without `STATS`
/// answers `UNKNOWN_COMMAND`) is the error.
pub fn ask(addr: SocketAddr) -> io::Result<ServerStats> {
    let stream = client::connect(addr)?;
    // A fresh tag: no client of this run or another has this nick.
    let nick = Naming::fresh().nick(u32::MAX);
    let pending = client::register(&stream, &nick)?;
    client::send_command(&stream, &Command::Stats)?;
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut figures = Vec::new();
    client::read_until(
        &stream,
        pending,
        deadline,
        "END STATS",
        |line| match Reply::parse(&String::from_utf8_lossy(line)) {
            Ok(Reply::Stat { name, value }) => {
                figures.push((name, value));
                Ok(false)
            }
            Ok(Reply::EndStats) => Ok(true),
            Ok(Reply::Err { code, text }) => {
                Err(io::Error::other(format!("STATS: ERR {code} {text}")))
            }
            _ => Ok(false),
        },
    )?;
    // The answer is read; whether the goodbye arrives changes nothing.
    let _ = client::send_command(&stream, &Command::Quit { reason: None });
    Ok(ServerStats { figures })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_in_this_process_answers() {
        let target = crate::loadgen::target::Target::in_process(chatd::config::Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 1,
            http: None,
            ..chatd::config::Config::default()
        })
        .unwrap();
        let stats = ask(target.addr()).unwrap();
        // The asking client itself is connected and registered.
        assert_eq!(stats.get(&StatName::Connections), Some(1));
        assert_eq!(stats.get(&StatName::Registered), Some(1));
        target.stop().unwrap();
    }

    #[test]
    fn nodes_answers_are_summed_but_for_latencies_and_peaks() {
        let node = |deliveries: u64, p99: u64, peak: u64| {
            ServerStats::new(vec![
                (StatName::DeliveriesOut, deliveries),
                (StatName::FanoutLatencyP99Us, p99),
                (StatName::QueuedBytesPeak, peak),
            ])
        };
        let mut second = node(300, 900, 10);
        second.figures.push((StatName::LinesIn, 7));
        let merged = ServerStats::merged(&[node(100, 2000, 40), second]);
        assert_eq!(
            merged.figures,
            [
                (StatName::DeliveriesOut, 400),
                (StatName::FanoutLatencyP99Us, 2000),
                (StatName::QueuedBytesPeak, 40),
                (StatName::LinesIn, 7),
            ]
        );
    }
}
