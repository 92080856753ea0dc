//! The figures `STATS` answers with: [`StatName`], the one place their names are spelled.
//!
//! In scope: the documented, stable set of names (lower-case words joined by `_`, so a script
//! can split a `STATS <name> <value>` line on spaces), the order the answer lists them in,
//! and reading a name that a newer server may add. Out of scope: the `STATS` lines themselves
//! (`reply`), and measuring the figures (the server).

/// Declares [`StatName`] with one wire spelling per figure, and the list of them all in the
/// order of the answer, so a new figure cannot be added without its name or be left out.
macro_rules! stat_names {
    ($($(#[$doc:meta])* $name:ident = $wire:literal,)*) => {
        /// The name of one figure in a `STATS <name> <value>` line.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum StatName {
            $($(#[$doc])* $name,)*
            /// A name this version does not know, as it was sent (a newer server may add
            /// figures). [`StatName::parse`] never puts a known name here.
            Unknown(String),
        }

        impl StatName {
            /// Every name this version knows, in the order the server answers with them and
            /// protocol.md lists them.
            pub const KNOWN: &'static [StatName] = &[$(StatName::$name,)*];

            /// The name as it appears after `STATS`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(StatName::$name => $wire,)*
                    StatName::Unknown(name) => name,
                }
            }

            /// Reads the word after `STATS`: a known name, [`StatName::Unknown`] for another
            /// word spelled as names are, `None` for a word that cannot be a name.
            pub fn parse(word: &str) -> Option<StatName> {
                match word {
                    $($wire => Some(StatName::$name),)*
                    other if is_name(other) => Some(StatName::Unknown(other.to_owned())),
                    _ => None,
                }
            }
        }
    };
}

stat_names! {
    /// Connections open now, registered or not: those holding a place under `--max-clients`.
    Connections = "connections",
    /// Clients with a nick now.
    Registered = "registered",
    /// Rooms that exist now, private ones included.
    Rooms = "rooms",
    /// Lines read from clients and executed since the server started, blank and refused
    /// ones included.
    LinesIn = "lines_in",
    /// Lines one client's command queued for others since the start: `MSG`, `ALL`, `ME`,
    /// `MSG #room`, `TOPIC` (the setter's copy too) and `INVITE`, one per recipient.
    DeliveriesOut = "deliveries_out",
    /// Clients cut off as slow consumers since the start.
    SlowConsumersCut = "slow_consumers_cut",
    /// Times flood control stopped reading from a connection since the start.
    FloodPauses = "flood_pauses",
    /// Bytes queued for clients and not yet written, counted as `--send-queue` counts them.
    QueuedBytes = "queued_bytes",
    /// The most `queued_bytes` has been since the start.
    QueuedBytesPeak = "queued_bytes_peak",
    /// The median fan-out latency in microseconds, from the server reading a line to writing
    /// a delivery of it: over the writes that carried deliveries, each counted with its
    /// oldest one.
    FanoutLatencyP50Us = "fanout_latency_p50_us",
    /// The 99th percentile of the same, in microseconds.
    FanoutLatencyP99Us = "fanout_latency_p99_us",
    /// Write system calls to client sockets since the start.
    WriteCalls = "write_calls",
    /// Lines written to client sockets since the start, replies and deliveries.
    LinesWritten = "lines_written",
    /// Whole seconds since the server started.
    UptimeS = "uptime_s",
    /// Lines of history written to the store since the start.
    HistoryStored = "history_stored",
    /// Lines of history the store could not keep since the start (a full or failing disk,
    /// or a store that fell behind): they were delivered, but a restart forgets them.
    HistoryUnstored = "history_unstored",
    /// `LOGIN`s, `PASSWORD`s and `UNREGISTER`s refused for a wrong password or an unknown
    /// account since the start (not those refused unchecked by the throttle).
    LoginsFailed = "logins_failed",
}

/// Whether `word` is spelled as a figure's name: a lower-case letter, then lower-case
/// letters, digits and `_`.
fn is_name(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl std::fmt::Display for StatName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_reads_back_as_itself_and_is_a_name() {
        for name in StatName::KNOWN {
            assert_eq!(StatName::parse(name.as_str()).as_ref(), Some(name));
            assert!(is_name(name.as_str()), "{name}");
        }
    }

    #[test]
    fn the_names_are_the_documented_ones_in_order() {
        let names: Vec<&str> = StatName::KNOWN.iter().map(StatName::as_str).collect();
        assert_eq!(
            names,
            [
                "connections",
                "registered",
                "rooms",
                "lines_in",
                "deliveries_out",
                "slow_consumers_cut",
                "flood_pauses",
                "queued_bytes",
                "queued_bytes_peak",
                "fanout_latency_p50_us",
                "fanout_latency_p99_us",
                "write_calls",
                "lines_written",
                "uptime_s",
                "history_stored",
                "history_unstored",
                "logins_failed",
            ]
        );
    }

    #[test]
    fn a_newer_servers_name_still_reads_and_a_non_name_does_not() {
        assert_eq!(
            StatName::parse("rooms_private"),
            Some(StatName::Unknown("rooms_private".to_owned()))
        );
        assert_eq!(
            StatName::parse("x9"),
            Some(StatName::Unknown("x9".to_owned()))
        );
        for word in [
            "", "Rooms", "ROOMS", "9rooms", "_rooms", "rooms-x", "rooms x", "é",
        ] {
            assert_eq!(StatName::parse(word), None, "{word:?}");
        }
    }
}
