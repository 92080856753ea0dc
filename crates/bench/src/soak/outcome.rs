//! A soak run's figures ([`SoakOutcome`]) and its verdict: every check that failed, in
//! words ([`SoakOutcome::failures`]); none means PASS. Also the announcement check: each
//! registered chaos client announced to each well-behaved receiver exactly once as joining
//! and once as leaving, in that order, with a reason its fault allows
//! ([`check_announcements`]).
//!
//! In scope: the figures and the rules. Pure.
//! Out of scope: gathering the figures (`mod.rs`) and printing them (`report`).

use std::collections::HashMap;
use std::ops::AddAssign;
use std::time::Duration;

use crate::loadgen::check::Counts;
use crate::loadgen::outcome::Latency;
use crate::soak::chaos::{Fault, Registered, SlotLog};
use crate::soak::chatter::Announced;
use crate::soak::login::LoginFigures;
use crate::soak::resources::ResourceFigures;
use crate::soak::resume::ResumeCounts;

/// What the well-behaved receivers saw of the chaos clients' `JOIN` and `QUIT` lines, summed
/// over receivers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AnnounceCounts {
    pub joins: u64,
    pub quits: u64,
    /// A registered client whose `JOIN` (or `QUIT`) a receiver never got.
    pub missing_join: u64,
    pub missing_quit: u64,
    /// Announced more than once.
    pub twice: u64,
    /// `QUIT` before `JOIN`.
    pub out_of_order: u64,
    /// A `QUIT` reason the client's fault does not allow.
    pub wrong_reason: u64,
    /// Announcements of a client that did not register (as far as it knows).
    pub unexpected: u64,
    pub first_problem: Option<String>,
}

impl AnnounceCounts {
    pub fn errors(&self) -> u64 {
        self.missing_join
            + self.missing_quit
            + self.twice
            + self.out_of_order
            + self.wrong_reason
            + self.unexpected
    }

    fn problem(&mut self, text: impl FnOnce() -> String) {
        if self.first_problem.is_none() {
            self.first_problem = Some(text());
        }
    }
}

impl AddAssign for AnnounceCounts {
    fn add_assign(&mut self, other: AnnounceCounts) {
        self.joins += other.joins;
        self.quits += other.quits;
        self.missing_join += other.missing_join;
        self.missing_quit += other.missing_quit;
        self.twice += other.twice;
        self.out_of_order += other.out_of_order;
        self.wrong_reason += other.wrong_reason;
        self.unexpected += other.unexpected;
        if self.first_problem.is_none() {
            self.first_problem = other.first_problem;
        }
    }
}

/// One receiver's announcements against the registered chaos clients.
pub fn check_announcements(
    registered: &[Registered],
    seen: &HashMap<u32, Announced>,
) -> AnnounceCounts {
    let mut counts = AnnounceCounts::default();
    let none = Announced::default();
    for client in registered {
        let got = seen.get(&client.index).unwrap_or(&none);
        counts.joins += u64::from(got.joins);
        counts.quits += u64::from(got.quits);
        if got.joins == 0 {
            counts.missing_join += 1;
            counts.problem(|| {
                format!(
                    "no JOIN of chaos client {} ({})",
                    client.index, client.fault
                )
            });
        }
        if got.quits == 0 {
            counts.missing_quit += 1;
            counts.problem(|| {
                format!(
                    "no QUIT of chaos client {} ({})",
                    client.index, client.fault
                )
            });
        }
        if got.joins > 1 || got.quits > 1 {
            counts.twice += 1;
            counts.problem(|| {
                format!(
                    "chaos client {} ({}) announced {} JOINs and {} QUITs",
                    client.index, client.fault, got.joins, got.quits
                )
            });
        }
        if got.quit_first {
            counts.out_of_order += 1;
            counts.problem(|| format!("QUIT before JOIN of chaos client {}", client.index));
        }
        // Not a let-chain: those need Rust 1.88, and the workspace builds with 1.85.
        let wrong_reason = got
            .left
            .as_ref()
            .filter(|left| !client.may_leave.contains(left));
        if let Some(left) = wrong_reason {
            counts.wrong_reason += 1;
            counts.problem(|| {
                format!(
                    "chaos client {} ({}) left as {left:?}, expected one of {:?}",
                    client.index, client.fault, client.may_leave
                )
            });
        }
    }
    let known: std::collections::HashSet<u32> = registered.iter().map(|c| c.index).collect();
    for (index, got) in seen {
        if !known.contains(index) {
            counts.joins += u64::from(got.joins);
            counts.quits += u64::from(got.quits);
            counts.unexpected += 1;
            counts.problem(|| {
                format!("announcements of chaos client {index}, which did not register")
            });
        }
    }
    counts
}

/// Everything a run found.
#[derive(Debug, Default, Clone)]
pub struct SoakOutcome {
    /// The command line that repeats the run (seed included).
    pub command: String,
    /// How the server was run: binary and flags, in-process, or an address.
    pub server: String,
    pub seed: u64,
    pub duration: Duration,
    /// Wall time of the whole run, set-up and checks included.
    pub elapsed: Duration,
    pub churn_clients: usize,
    pub well_behaved: usize,
    /// Well-behaved clients that leave and come back, and how long they stay away.
    pub resumers: usize,
    pub resume_away: Duration,
    /// What the resuming clients found, summed.
    pub resume: ResumeCounts,
    /// What the login clients found, and the server's count of failed checks.
    pub login: LoginFigures,
    /// Where the clients connected from (`sources`).
    pub sources: String,
    /// The server's `--write-timeout`, which the zero-window cuts are measured against.
    pub write_timeout: Duration,
    /// Chaos connections opened, and the most open at once.
    pub connections: u64,
    pub peak_open: usize,
    pub chaos: SlotLog,
    /// Faults left out because the run is too short for the server's timeouts.
    pub skipped: Vec<Fault>,
    /// Numbered lines the well-behaved clients and the floods sent.
    pub chat_sent: u64,
    pub flood_sent: u64,
    /// Deliveries to well-behaved receivers the numbered lines call for.
    pub expected_deliveries: u64,
    /// Summed over well-behaved receivers; `order_violations` from the global `ALL` order.
    pub counts: Counts,
    /// Send to receipt of the well-behaved clients' lines.
    pub latency: Option<Latency>,
    pub barriers: u64,
    pub slowest_barrier: Duration,
    pub announcements: AnnounceCounts,
    /// Half-written lines some receiver got as an `ALL`.
    pub partial_executed: u64,
    /// Lines to well-behaved clients holding a character the text rule refuses, and lines
    /// carrying a text the server should have refused; the first such line.
    pub refused_characters: u64,
    pub refused_delivered: u64,
    pub first_refused: Option<String>,
    /// Unnumbered chaos `ALL` lines received, summed over receivers.
    pub chaos_lines: u64,
    /// The server's `PING idle` to well-behaved clients, answered.
    pub server_pings: u64,
    /// Lines about clients not in this run.
    pub foreign: u64,
    /// Lines a well-behaved client should never get.
    pub unexpected_lines: u64,
    pub first_unexpected: Option<String>,
    /// Well-behaved clients that were disconnected, or whose sending failed.
    pub well_behaved_failures: Vec<String>,
    /// Well-behaved clients whose connection ended before their `QUIT` was answered.
    pub well_behaved_lost: usize,
    /// A phase's end that did not come in time (announcements, barriers).
    pub settle_failures: Vec<String>,
    /// A fresh client registered and got its `PONG` at the end: how long it took.
    pub alive: Option<Result<Duration, String>>,
    /// `None` when the server's process is not known (in-process, or `--addr` without
    /// `--server-pid`).
    pub resources: Option<ResourceFigures>,
}

impl SoakOutcome {
    pub fn mismatches(&self) -> u64 {
        self.chaos.mismatches.iter().sum()
    }

    /// Every failed check, in words; empty means PASS.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        match &self.alive {
            Some(Ok(_)) => {}
            Some(Err(why)) => failures.push(format!("the server is not alive at the end: {why}")),
            None => failures.push("the server was not checked at the end".to_owned()),
        }
        let c = &self.counts;
        if !c.is_clean() {
            failures.push(format!(
                "numbered lines: {} lost, {} duplicated, {} out of order, {} corrupt, {} order \
                 violations",
                c.lost, c.duplicated, c.out_of_order, c.corrupt, c.order_violations
            ));
        }
        if c.received + c.lost != self.expected_deliveries && c.is_clean() {
            failures.push(format!(
                "{} deliveries of numbered lines, {} expected",
                c.received, self.expected_deliveries
            ));
        }
        let r = &self.resume;
        if r.errors() > 0 {
            failures.push(format!(
                "resume through HISTORY AFTER: {} lines missing, {} duplicated, {} out of order, \
                 {} altered; first: {}",
                r.missing,
                r.duplicated,
                r.out_of_order,
                r.altered,
                r.first_problem.as_deref().unwrap_or("-")
            ));
        }
        failures.extend(self.login.failures());
        failures.extend(self.well_behaved_failures.iter().cloned());
        failures.extend(self.settle_failures.iter().cloned());
        let mismatches = self.mismatches();
        if mismatches > 0 {
            let example = self.chaos.examples.first().map_or(String::new(), |m| {
                format!("; first: {} #{}: {}", m.fault, m.index, m.what)
            });
            failures.push(format!(
                "{mismatches} chaos connections got answers against the contract{example}"
            ));
        }
        let a = &self.announcements;
        if a.errors() > 0 {
            failures.push(format!(
                "announcements: {} missing JOIN, {} missing QUIT, {} twice, {} QUIT before JOIN, \
                 {} wrong reason, {} of unregistered clients; first: {}",
                a.missing_join,
                a.missing_quit,
                a.twice,
                a.out_of_order,
                a.wrong_reason,
                a.unexpected,
                a.first_problem.as_deref().unwrap_or("-")
            ));
        }
        if self.partial_executed > 0 {
            failures.push(format!(
                "{} half-written lines were executed",
                self.partial_executed
            ));
        }
        if self.refused_characters + self.refused_delivered > 0 {
            failures.push(format!(
                "well-behaved clients got {} lines with a control character, line separator or \
                 bidirectional control, and {} texts the server should have refused; first: {}",
                self.refused_characters,
                self.refused_delivered,
                self.first_refused.as_deref().unwrap_or("-")
            ));
        }
        if self.unexpected_lines > 0 {
            failures.push(format!(
                "{} unexpected lines to well-behaved clients; first: {}",
                self.unexpected_lines,
                self.first_unexpected.as_deref().unwrap_or("-")
            ));
        }
        if let Some(resources) = &self.resources {
            failures.extend(resources.failures());
        }
        failures
    }

    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// Lines per second of each flood, from its first line to its last `PONG`: the
    /// median and the slowest.
    pub fn flood_rates(&self) -> Option<(f64, f64)> {
        let mut rates: Vec<f64> = self
            .chaos
            .floods
            .iter()
            .filter(|(lines, secs)| *lines > 0 && *secs > 0.0)
            .map(|(lines, secs)| f64::from(*lines) / secs)
            .collect();
        if rates.is_empty() {
            return None;
        }
        rates.sort_by(f64::total_cmp);
        Some((rates[rates.len() / 2], rates[0]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::chatter::Left;

    fn client(index: u32, may_leave: Vec<Left>) -> Registered {
        Registered {
            index,
            fault: Fault::Quit,
            may_leave,
        }
    }

    fn seen(joins: u32, quits: u32, left: Left) -> Announced {
        Announced {
            joins,
            quits,
            quit_first: false,
            left: Some(left),
        }
    }

    #[test]
    fn announcements_once_each_with_an_allowed_reason_pass() {
        let registered = [
            client(1, vec![Left::Quit(None)]),
            client(2, vec![Left::Reset, Left::Closed]),
        ];
        let got = HashMap::from([
            (1, seen(1, 1, Left::Quit(None))),
            (2, seen(1, 1, Left::Closed)),
        ]);
        let counts = check_announcements(&registered, &got);
        assert_eq!(counts.errors(), 0, "{counts:?}");
        assert_eq!((counts.joins, counts.quits), (2, 2));
    }

    #[test]
    fn each_announcement_fault_is_counted() {
        let registered = [
            client(1, vec![Left::Slow]),
            client(2, vec![Left::Quit(None)]),
            client(3, vec![Left::Quit(None)]),
            client(4, vec![Left::Quit(None)]),
        ];
        let mut reversed = seen(1, 1, Left::Quit(None));
        reversed.quit_first = true;
        let got = HashMap::from([
            (1, seen(1, 1, Left::Closed)),
            (2, seen(2, 1, Left::Quit(None))),
            (3, reversed),
            (9, seen(1, 0, Left::Quit(None))),
        ]);
        let counts = check_announcements(&registered, &got);
        assert_eq!(counts.wrong_reason, 1);
        assert_eq!(counts.twice, 1);
        assert_eq!(counts.out_of_order, 1);
        assert_eq!((counts.missing_join, counts.missing_quit), (1, 1));
        assert_eq!(counts.unexpected, 1);
        assert!(counts.first_problem.unwrap().contains("chaos client 1"));
    }

    fn clean() -> SoakOutcome {
        SoakOutcome {
            alive: Some(Ok(Duration::from_millis(1))),
            expected_deliveries: 10,
            counts: Counts {
                received: 10,
                ..Counts::default()
            },
            ..SoakOutcome::default()
        }
    }

    #[test]
    fn a_clean_run_passes() {
        assert_eq!(clean().failures(), Vec::<String>::new());
    }

    #[test]
    fn every_kind_of_problem_fails_the_run() {
        let mut lost = clean();
        lost.counts.lost = 1;
        lost.counts.received = 9;
        assert!(lost.failures()[0].contains("1 lost"));

        let mut dead = clean();
        dead.alive = Some(Err("connection refused".to_owned()));
        assert!(dead.failures()[0].contains("not alive"));

        let mut unchecked = clean();
        unchecked.alive = None;
        assert!(!unchecked.passed());

        let mut mismatch = clean();
        mismatch.chaos.mismatches[0] = 2;
        mismatch.chaos.examples.push(crate::soak::chaos::Mismatch {
            fault: Fault::Quit,
            index: 7,
            what: "no BYE".to_owned(),
        });
        let failures = mismatch.failures();
        assert!(failures[0].contains("2 chaos connections"), "{failures:?}");
        assert!(failures[0].contains("quit #7: no BYE"), "{failures:?}");

        let mut short = clean();
        short.counts.received = 9;
        assert!(short.failures()[0].contains("9 deliveries"));

        let mut partial = clean();
        partial.partial_executed = 1;
        assert!(!partial.passed());

        let mut relayed = clean();
        relayed.refused_characters = 1;
        relayed.first_refused = Some("\"ALL x a\\u{1b}b\"".to_owned());
        assert!(relayed.failures()[0].contains("1 lines with a control"));

        let mut dropped = clean();
        dropped
            .well_behaved_failures
            .push("b1n0 disconnected".to_owned());
        assert_eq!(dropped.failures(), ["b1n0 disconnected"]);

        let mut let_in = clean();
        let_in.login = crate::soak::login::LoginFigures {
            accounts: 4,
            logins_failed: Some((0, 0)),
            ..Default::default()
        };
        assert!(let_in.passed(), "{:?}", let_in.failures());
        let_in.login.counts.accepted = 1;
        assert!(let_in.failures()[0].contains("1 wrong passwords were accepted"));

        let mut told_twice = clean();
        told_twice.announcements.twice = 1;
        assert!(told_twice.failures()[0].contains("1 twice"));

        for fault in 0..4 {
            let mut resumed = clean();
            resumed.resume.recovered = 10;
            resumed.resume.beyond_history = 3;
            assert!(resumed.passed(), "beyond history is not a loss");
            let r = &mut resumed.resume;
            *[
                &mut r.missing,
                &mut r.duplicated,
                &mut r.out_of_order,
                &mut r.altered,
            ][fault] = 1;
            r.first_problem = Some("lines 2 to 2 of sender 0 missing".to_owned());
            let failures = resumed.failures();
            assert!(
                failures[0].starts_with("resume through HISTORY AFTER"),
                "{failures:?}"
            );
            assert!(failures[0].contains("sender 0 missing"), "{failures:?}");
        }
    }

    #[test]
    fn flood_rates_are_the_median_and_the_slowest() {
        let mut outcome = clean();
        assert_eq!(outcome.flood_rates(), None);
        outcome.chaos.floods = vec![(1000, 1.0), (1000, 0.5), (1000, 4.0), (0, 0.0)];
        assert_eq!(outcome.flood_rates(), Some((1000.0, 250.0)));
    }
}
