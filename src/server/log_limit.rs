//! Log lines a client can cause at will (a refusal, a cut), at most one per address group per
//! interval (10 s), with the count of those held back.
//!
//! In scope: deciding whether a line is written now ([`LogLimit::note`]) and the summary of
//! the ones held back ([`Held`]), written with the group's next line or, once the interval has
//! passed, by the timeouts thread ([`LogLimit::flush`]). Out of scope: the lines themselves
//! (the acceptor, the writers) and which group an address is in (`admission`).
//!
//! Why: every refused connect used to log a `warn` line, so anyone could fill the log (and
//! the disk under it) by connecting in a loop; one line per group and interval, with a count,
//! says as much.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::server::admission::AddressGroup;

/// A group logs at most one line per this long.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// What happened to a connection of the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Refused: `--max-clients` connections are open.
    ServerFull,
    /// Refused: `--max-per-ip` connections from the group are open.
    TooManyFromAddress,
    /// Refused: over `--connect-rate`.
    TooOften,
    /// Refused: no writer thread could be started.
    NoWriter,
    /// Cut: nothing could be written to it for `--write-timeout`.
    WriteTimeout,
}

impl Event {
    const ALL: [Event; 5] = [
        Event::ServerFull,
        Event::TooManyFromAddress,
        Event::TooOften,
        Event::NoWriter,
        Event::WriteTimeout,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn label(self) -> &'static str {
        match self {
            Event::ServerFull => "refused (server full)",
            Event::TooManyFromAddress => "refused (too many connections)",
            Event::TooOften => "refused (connecting too often)",
            Event::NoWriter => "refused (no writer thread)",
            Event::WriteTimeout => "cut (write timeout)",
        }
    }
}

/// Events held back since a group's last line, by kind. Displays as `41 more in the last 10 s:
/// 30 refused (too many connections), 11 refused (connecting too often)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    counts: [u64; Event::ALL.len()],
    /// How long ago the group's last line was written.
    over: Duration,
}

impl Held {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// What to add to a line: nothing when nothing was held back, else `; ` and this.
    pub fn suffix(&self) -> String {
        if self.total() == 0 {
            String::new()
        } else {
            format!("; {self}")
        }
    }
}

impl fmt::Display for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} more in the last {} s:",
            self.total(),
            self.over.as_secs()
        )?;
        let mut separator = " ";
        for event in Event::ALL {
            let count = self.counts[event.index()];
            if count > 0 {
                write!(f, "{separator}{count} {}", event.label())?;
                separator = ", ";
            }
        }
        Ok(())
    }
}

/// The groups that logged a line within the last interval.
#[derive(Debug, Default)]
pub struct LogLimit {
    /// Taken by the acceptor on a refusal, by a writer on a cut and by the timeouts thread's
    /// flush, with nothing else held: a leaf.
    groups: Mutex<HashMap<AddressGroup, Quiet>>,
}

#[derive(Debug)]
struct Quiet {
    /// When the group's last line was written.
    since: Instant,
    held: [u64; Event::ALL.len()],
}

impl LogLimit {
    /// Whether a line about `event` in `group` may be written at `now`: `Some` with what was
    /// held back since the group's last line (to add to the line), or `None` when the line
    /// is held back and counted.
    pub fn note(&self, group: AddressGroup, event: Event, now: Instant) -> Option<Held> {
        let mut groups = self.groups.lock();
        match groups.get_mut(&group) {
            Some(quiet) if now.saturating_duration_since(quiet.since) < INTERVAL => {
                quiet.held[event.index()] += 1;
                None
            }
            Some(quiet) => {
                let held = Held {
                    counts: std::mem::take(&mut quiet.held),
                    over: now.saturating_duration_since(quiet.since),
                };
                quiet.since = now;
                Some(held)
            }
            None => {
                groups.insert(
                    group,
                    Quiet {
                        since: now,
                        held: [0; Event::ALL.len()],
                    },
                );
                Some(Held::default())
            }
        }
    }

    /// The groups whose interval has passed with events held back, each with what was held
    /// (to be logged now, counting as the group's line); the groups with nothing held are
    /// forgotten, so the map holds only groups heard from within the last interval.
    pub fn flush(&self, now: Instant) -> Vec<(AddressGroup, Held)> {
        let mut due = Vec::new();
        self.groups.lock().retain(|group, quiet| {
            let over = now.saturating_duration_since(quiet.since);
            if over < INTERVAL {
                return true;
            }
            if quiet.held == [0; Event::ALL.len()] {
                return false;
            }
            let counts = std::mem::take(&mut quiet.held);
            due.push((*group, Held { counts, over }));
            quiet.since = now;
            true
        });
        due
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn group(last: u8) -> AddressGroup {
        AddressGroup::of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
    }

    #[test]
    fn issue_13_one_line_per_group_and_interval_then_the_count_of_the_rest() {
        let limit = LogLimit::default();
        let start = Instant::now();
        assert_eq!(
            limit.note(group(1), Event::TooManyFromAddress, start),
            Some(Held::default())
        );
        for n in 0..40 {
            let event = if n % 4 == 0 {
                Event::TooOften
            } else {
                Event::TooManyFromAddress
            };
            assert_eq!(
                limit.note(group(1), event, start + Duration::from_secs(1)),
                None
            );
        }
        // Another group has a line of its own.
        assert!(limit.note(group(2), Event::ServerFull, start).is_some());
        let held = limit
            .note(group(1), Event::TooOften, start + INTERVAL)
            .unwrap();
        assert_eq!(
            format!("refused{}", held.suffix()),
            "refused; 40 more in the last 10 s: 30 refused (too many connections), \
             10 refused (connecting too often)"
        );
        assert_eq!(Held::default().suffix(), "");
    }

    #[test]
    fn issue_13_what_was_held_back_is_flushed_after_the_interval_and_quiet_groups_forgotten() {
        let limit = LogLimit::default();
        let start = Instant::now();
        limit.note(group(1), Event::WriteTimeout, start);
        limit.note(group(1), Event::WriteTimeout, start);
        limit.note(group(2), Event::ServerFull, start);
        assert!(limit.flush(start + Duration::from_secs(9)).is_empty());
        let flushed = limit.flush(start + INTERVAL);
        assert_eq!(flushed.len(), 1);
        let (flushed_group, held) = flushed[0];
        assert_eq!(flushed_group, group(1));
        assert_eq!(
            held.to_string(),
            "1 more in the last 10 s: 1 cut (write timeout)"
        );
        // The flushed line counts as the group's line: the next event waits for its interval.
        assert_eq!(
            limit.note(group(1), Event::WriteTimeout, start + INTERVAL),
            None
        );
        // Group 2 had nothing held back and was forgotten: its next line goes at once.
        assert_eq!(limit.groups.lock().len(), 1);
        assert!(
            limit
                .note(group(2), Event::ServerFull, start + INTERVAL)
                .is_some()
        );
    }
}
