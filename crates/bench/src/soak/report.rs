//! The soak's report: a short, aligned text of a [`SoakOutcome`], ending with the verdict
//! and one line per failed check.
//!
//! In scope: layout and number formatting. Pure.
//! Out of scope: the figures and the verdict (`outcome`); where the text goes (the binary).

use std::fmt::Write as _;
use std::time::Duration;

use crate::loadgen::report::si;
use crate::soak::chaos::{Fault, fault_position};
use crate::soak::figures::{self, AttackSummary};
use crate::soak::outcome::SoakOutcome;

/// Width of the label column.
const LABEL: usize = 16;

/// The report, ending in a newline.
pub fn render(outcome: &SoakOutcome) -> String {
    let mut out = String::new();
    let mut line = |label: &str, text: String| {
        let _ = writeln!(out, "{label:<LABEL$} {text}");
    };
    line("command", outcome.command.clone());
    line("server", outcome.server.clone());
    line(
        "duration",
        format!(
            "{} of chaos in two halves, {} in all",
            seconds(outcome.duration),
            seconds(outcome.elapsed)
        ),
    );
    line(
        "clients",
        format!(
            "{} well-behaved; {} chaos slots: {} connections, at most {} open at once",
            outcome.well_behaved,
            outcome.churn_clients,
            grouped(outcome.connections),
            outcome.peak_open
        ),
    );
    if !outcome.sources.is_empty() {
        line("sources", outcome.sources.clone());
    }
    let runs: u64 = outcome.chaos.runs.iter().sum();
    line(
        "faults",
        format!(
            "{} injected, {} answered against the contract (per fault: runs/mismatches)",
            grouped(runs),
            outcome.mismatches()
        ),
    );
    for row in Fault::ALL.chunks(3) {
        let cells: Vec<String> = row
            .iter()
            .map(|&fault| {
                let at = fault_position(fault);
                let skipped = outcome.skipped.contains(&fault);
                let figure = if skipped {
                    "skipped".to_owned()
                } else {
                    format!(
                        "{}/{}",
                        grouped(outcome.chaos.runs[at]),
                        outcome.chaos.mismatches[at]
                    )
                };
                format!("{:<16}{figure:>10}", fault.name())
            })
            .collect();
        let _ = writeln!(out, "  {}", cells.join("   ").trim_end());
    }
    for example in &outcome.chaos.examples {
        let _ = writeln!(
            out,
            "  mismatch: {} #{}: {}",
            example.fault, example.index, example.what
        );
    }
    let mut line = |label: &str, text: String| {
        let _ = writeln!(out, "{label:<LABEL$} {text}");
    };
    let c = &outcome.counts;
    let logins_said = match outcome.login.accounts {
        0 => String::new(),
        _ => format!(" + {} login", grouped(outcome.login.lines)),
    };
    line(
        "numbered lines",
        format!(
            "{} chat + {} flood{logins_said} lines sent; {} of {} deliveries to well-behaved \
             clients",
            grouped(outcome.chat_sent),
            grouped(outcome.flood_sent),
            grouped(c.received),
            grouped(outcome.expected_deliveries)
        ),
    );
    line(
        "",
        format!(
            "lost {}, duplicated {}, out of order {}, corrupt {}, order violations {}",
            c.lost, c.duplicated, c.out_of_order, c.corrupt, c.order_violations
        ),
    );
    line(
        "floods",
        match outcome.flood_rates() {
            Some((median, slowest)) => format!(
                "{} floods, {} lines; per flood {} lines/s median, {} slowest",
                outcome.chaos.floods.len(),
                grouped(outcome.flood_sent),
                si(median),
                si(slowest)
            ),
            None => "none".to_owned(),
        },
    );
    line(
        "latency",
        match &outcome.latency {
            Some(l) => format!(
                "chat lines p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms; {} barriers, slowest {:.1} ms",
                l.p50,
                l.p99,
                l.max,
                grouped(outcome.barriers),
                outcome.slowest_barrier.as_secs_f64() * 1000.0
            ),
            None => "no chat line received".to_owned(),
        },
    );
    line(
        "well-behaved",
        format!(
            "{} of {} stayed connected to the end (none cut: {})",
            outcome.well_behaved - outcome.well_behaved_lost.min(outcome.well_behaved),
            outcome.well_behaved,
            if outcome.well_behaved_lost == 0 {
                "yes"
            } else {
                "NO"
            }
        ),
    );
    if outcome.resumers > 0 {
        let r = &outcome.resume;
        line(
            "resume",
            format!(
                "{} clients away {} at a time: {} reconnects, {} lines recovered through \
                 HISTORY * AFTER in {} pages, {} beyond history (older than the history \
                 kept; not lost)",
                outcome.resumers,
                seconds(outcome.resume_away),
                grouped(r.reconnects),
                grouped(r.recovered),
                grouped(r.pages),
                grouped(r.beyond_history)
            ),
        );
        line(
            "",
            format!(
                "missing {}, duplicated {}, out of order {}, altered {}",
                r.missing, r.duplicated, r.out_of_order, r.altered
            ),
        );
    }
    for (label, text) in login_lines(outcome) {
        line(label, text);
    }
    for (label, text) in attack_lines(outcome) {
        line(label, text);
    }
    let a = &outcome.announcements;
    line(
        "announcements",
        format!(
            "{} JOIN + {} QUIT of chaos clients received; missing {}, twice {}, reordered {}, \
             wrong reason {}, unexpected {}",
            grouped(a.joins),
            grouped(a.quits),
            a.missing_join + a.missing_quit,
            a.twice,
            a.out_of_order,
            a.wrong_reason,
            a.unexpected
        ),
    );
    line(
        "other lines",
        format!(
            "{} chaos ALL, {} half lines executed, {} server PINGs answered, {} unexpected, {} foreign",
            grouped(outcome.chaos_lines),
            outcome.partial_executed,
            outcome.server_pings,
            outcome.unexpected_lines,
            outcome.foreign
        ),
    );
    line(
        "alive at end",
        match &outcome.alive {
            Some(Ok(took)) => format!(
                "yes: a new client registered and got PONG in {:.1} ms",
                took.as_secs_f64() * 1000.0
            ),
            Some(Err(why)) => format!("NO: {why}"),
            None => "not checked".to_owned(),
        },
    );
    match &outcome.resources {
        None => line(
            "server process",
            "not measured (server in this process, or --addr without --server-pid)".to_owned(),
        ),
        Some(r) => {
            line(
                "server process",
                format!(
                    "{:>10} {:>10} {:>10} {:>10}",
                    "baseline", "peak", "1st half", "end"
                ),
            );
            let mib = |kib: u64| format!("{:.1}", kib as f64 / 1024.0);
            for (label, values) in [
                (
                    "  RSS MiB",
                    [r.baseline, r.peak, r.half, r.after].map(|s| mib(s.rss_kib)),
                ),
                (
                    "  threads",
                    [r.baseline, r.peak, r.half, r.after].map(|s| s.threads.to_string()),
                ),
                (
                    "  fds",
                    [r.baseline, r.peak, r.half, r.after].map(|s| s.fds.to_string()),
                ),
            ] {
                line(
                    label,
                    format!(
                        "{:>10} {:>10} {:>10} {:>10}",
                        values[0], values[1], values[2], values[3]
                    ),
                );
            }
            line(
                "",
                format!(
                    "RSS limits at the end: {} MiB (first half + slack), {} MiB (baseline + slack)",
                    mib(r.growth_limit_kib()),
                    mib(r.retained_limit_kib())
                ),
            );
        }
    }
    let failures = outcome.failures();
    line(
        "verdict",
        if failures.is_empty() { "PASS" } else { "FAIL" }.to_owned(),
    );
    for failure in failures {
        let _ = writeln!(out, "  FAIL: {failure}");
    }
    out
}

/// What the login clients saw: the right logins, the wrong passwords' answers, and the
/// server's count of failed checks.
fn login_lines(outcome: &SoakOutcome) -> Vec<(&'static str, String)> {
    let login = &outcome.login;
    if login.accounts == 0 {
        return Vec::new();
    }
    let c = &login.counts;
    let wrong = if login.wrong_sent {
        format!(
            "{} wrong: {} BAD_LOGIN, {} TOO_MANY_ATTEMPTS, {} accepted",
            grouped(c.wrong()),
            grouped(c.bad_login),
            grouped(c.too_many),
            c.accepted
        )
    } else {
        "no wrong passwords (every client comes from one address, whose lock would refuse the \
         right ones too)"
            .to_owned()
    };
    let stats = match login.logins_failed_growth() {
        Some(grew) => format!("STATS logins_failed grew by {}", grouped(grew)),
        None => "STATS logins_failed not read".to_owned(),
    };
    vec![
        (
            "logins",
            format!(
                "{} right ({} failed, {} cut by the register timeout), {wrong}",
                grouped(c.right),
                c.right_failed,
                c.right_cut
            ),
        ),
        (
            "",
            format!(
                "{} accounts; wrong passwords {} for them, {} for unknown nicks, {} cut by the \
                 register timeout before their answer, {} otherwise answered; {stats}; {} \
                 passwords echoed",
                login.accounts,
                grouped(c.wrong_on_accounts),
                grouped(c.wrong_on_unknown),
                grouped(c.cut),
                c.wrong_broken,
                c.echoed
            ),
        ),
    ]
}

/// What the attacks of issue 13 measured, a line each.
fn attack_lines(outcome: &SoakOutcome) -> Vec<(&'static str, String)> {
    let summary = AttackSummary::of(&outcome.chaos.attacks);
    let runs = |fault| outcome.chaos.runs[fault_position(fault)];
    let mut lines = Vec::new();
    let write_timeout = outcome.write_timeout.as_secs_f64();
    if runs(Fault::ZeroWindow) > 0 {
        let cut = match summary.cut_range() {
            Some((fewest, median, most)) => format!(
                "{} descriptors closed {fewest:.2}/{median:.2}/{most:.2} s (fewest/median/most) \
                 after the writer stalled, --write-timeout {write_timeout} s; {} after QUIT, {} \
                 after FIN",
                summary.cuts.len(),
                summary.cuts_after_quit,
                summary.cuts.len() - summary.cuts_after_quit
            ),
            None => "no cut measured".to_owned(),
        };
        let early = if summary.not_stalled > 0 {
            format!(
                "; {} ended by the register timeout before they stalled",
                summary.not_stalled
            )
        } else {
            String::new()
        };
        lines.push(("zero-window", format!("{cut}{early}")));
    }
    if runs(Fault::BadText) > 0 {
        lines.push((
            "bad text",
            format!(
                "{} texts refused with ERR BAD_TEXT, {} reasons relayed mended; to well-behaved \
                 clients {} lines with a refused character, {} refused texts",
                grouped(summary.refused),
                grouped(summary.mended),
                outcome.refused_characters,
                outcome.refused_delivered
            ),
        ));
    }
    let kib = |bytes: f64| format!("{:.0} KiB/s", bytes / 1024.0);
    if let Some((median, most, budget)) = figures::rates(&summary.address_floods) {
        let lines_sent: u64 = summary.address_floods.iter().map(|p| p.lines).sum();
        let connections = summary.address_floods[0].connections;
        lines.push((
            "address flood",
            format!(
                "{} floods of {connections} connections of one address, {} lines of 4 KiB: {} \
                 median, {} most, against --ip-byte-rate {}; longest wait for a batch {:.2} s",
                summary.address_floods.len(),
                grouped(lines_sent),
                kib(median),
                kib(most),
                kib(budget as f64),
                figures::longest_wait(&summary.address_floods)
            ),
        ));
    }
    if let Some((median, most, budget)) = figures::rates(&summary.who_floods) {
        let questions: u64 = summary.who_floods.iter().map(|p| p.lines).sum();
        lines.push((
            "who flood",
            format!(
                "{} floods, {} WHO and ROOMS answered: {} median, {} most with their answers \
                 (floods of {} s or more), against a byte budget of {}",
                summary.who_floods.len(),
                grouped(questions),
                kib(median),
                kib(most),
                figures::RATED_SECONDS,
                kib(budget as f64)
            ),
        ));
    }
    lines
}

/// `12.3 s`.
fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

/// `1234567` as `1,234,567`.
pub fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::check::Counts;
    use crate::loadgen::sysstat::ProcSample;
    use crate::soak::resources::ResourceFigures;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    fn outcome() -> SoakOutcome {
        let sample = |rss_kib, threads, fds| ProcSample {
            cpu: Duration::ZERO,
            rss_kib,
            threads,
            fds,
        };
        let mut outcome = SoakOutcome {
            command: "chatd-soak --duration 20s --seed 5".to_owned(),
            server: "chatd --max-line 512".to_owned(),
            seed: 5,
            duration: Duration::from_secs(20),
            elapsed: Duration::from_millis(23_400),
            churn_clients: 300,
            well_behaved: 8,
            connections: 5123,
            peak_open: 300,
            chat_sent: 3200,
            expected_deliveries: 22_400,
            counts: Counts {
                received: 22_400,
                ..Counts::default()
            },
            alive: Some(Ok(Duration::from_micros(1500))),
            resources: Some(ResourceFigures {
                baseline: sample(5 * 1024, 13, 20),
                peak: sample(60 * 1024, 320, 330),
                half: sample(20 * 1024, 13, 20),
                after: sample(21 * 1024, 13, 20),
                half_settled: true,
                after_settled: true,
            }),
            ..SoakOutcome::default()
        };
        outcome.chaos.runs[fault_position(Fault::Reset)] = 1234;
        outcome.resumers = 2;
        outcome.resume_away = Duration::from_millis(300);
        outcome.resume.reconnects = 14;
        outcome.resume.pages = 30;
        outcome.resume.recovered = 1234;
        outcome.skipped = vec![Fault::IdleTimeout];
        outcome.login.accounts = 4;
        outcome.login.wrong_sent = true;
        outcome.login.lines = 120;
        outcome.login.logins_failed = Some((0, 31));
        outcome.login.counts.right = 120;
        outcome.login.counts.wrong_on_accounts = 40;
        outcome.login.counts.wrong_on_unknown = 260;
        outcome.login.counts.bad_login = 30;
        outcome.login.counts.too_many = 262;
        outcome.login.counts.cut = 8;
        outcome
    }

    #[test]
    fn the_report_shows_the_figures_aligned_and_the_verdict() {
        let text = render(&outcome());
        assert!(
            text.contains("command          chatd-soak --duration 20s --seed 5\n"),
            "{text}"
        );
        assert!(
            text.contains("20.0 s of chaos in two halves, 23.4 s in all"),
            "{text}"
        );
        assert!(
            text.contains("5,123 connections, at most 300 open at once"),
            "{text}"
        );
        assert!(text.contains("reset              1,234/0"), "{text}");
        assert!(text.contains("idle-timeout       skipped"), "{text}");
        assert!(text.contains("22,400 of 22,400 deliveries"), "{text}");
        assert!(
            text.contains("lost 0, duplicated 0, out of order 0, corrupt 0"),
            "{text}"
        );
        assert!(
            text.contains("  RSS MiB               5.0       60.0       20.0       21.0"),
            "{text}"
        );
        assert!(
            text.contains("  threads                13        320         13         13"),
            "{text}"
        );
        assert!(
            text.contains(
                "resume           2 clients away 0.3 s at a time: 14 reconnects, 1,234 lines \
                 recovered through HISTORY * AFTER in 30 pages, 0 beyond history"
            ),
            "{text}"
        );
        assert!(
            text.contains("missing 0, duplicated 0, out of order 0, altered 0"),
            "{text}"
        );
        assert!(
            text.contains("3,200 chat + 0 flood + 120 login lines sent"),
            "{text}"
        );
        assert!(
            text.contains(
                "logins           120 right (0 failed, 0 cut by the register timeout), 300 wrong: \
                 30 BAD_LOGIN, 262 TOO_MANY_ATTEMPTS, 0 accepted\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "4 accounts; wrong passwords 40 for them, 260 for unknown nicks, 8 cut by the \
                 register timeout before their answer, 0 otherwise answered; STATS \
                 logins_failed grew by 31; 0 passwords echoed"
            ),
            "{text}"
        );
        assert!(text.ends_with("verdict          PASS\n"), "{text}");
    }

    #[test]
    fn a_failed_run_lists_why() {
        let mut failed = outcome();
        failed.counts.lost = 3;
        failed.counts.received -= 3;
        let text = render(&failed);
        assert!(
            text.contains("verdict          FAIL\n  FAIL: numbered lines: 3 lost"),
            "{text}"
        );
    }
}
