//! The churn: [`Fault`], the kinds of misbehaviour, how often each is chosen, and the chaos
//! slots, threads that each open one connection after another until their phase ends, each
//! with a fault chosen at random ([`run_slot`]), and what they record ([`SlotLog`]).
//!
//! In scope: choosing faults (seeded), starting the one chosen, counting them and their
//! contract mismatches, and the record of every chaos client that registered, with the
//! `QUIT` reasons its receivers may see ([`Registered`]).
//! Out of scope: what each fault does on the wire (`faults`, and `flood` for the flood).

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::soak::chatter::Left;
use crate::soak::faults::{ChaosClient, FaultEnd, FaultSettings};
use crate::soak::figures::Figures;
use crate::soak::shared::Shared;
use crate::soak::{address_flood, bad_text, flood, who_flood, zero_window};

/// One way a chaos connection misbehaves (or, for `Quit`, merely comes and goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Connects, maybe registers and chats, sends `QUIT [reason]`: expects `BYE`, then the
    /// end of the stream.
    Quit,
    /// Closes its side (FIN) without `QUIT`, after a `PING` whose `PONG` must still come.
    Close,
    /// Resets the connection (RST, `SO_LINGER` 0), at any point: before the greeting, after
    /// it, after registering and chatting.
    Reset,
    /// Sends half a line, then closes its side: the half line must not be executed.
    HalfLineClose,
    /// Sends half a line, then resets.
    HalfLineReset,
    /// Never chooses a nick: expects `BYE register timeout`, not before `--register-timeout`.
    NoRegister,
    /// Registers with a tiny receive buffer, sends `WHO`s and reads a little now and then:
    /// must be dropped, and announced as a slow consumer.
    SlowReader,
    /// A line exactly `--max-line` long (answered), one longer (`ERR LINE_TOO_LONG`, up to
    /// hundreds of KiB), then goes on chatting on the same connection.
    LongLine,
    /// Lines of binary garbage with invalid UTF-8, blank lines among them: one
    /// `ERR BAD_ENCODING` each, then goes on chatting.
    BadUtf8,
    /// Sends numbered `ALL` lines as fast as the server takes them: every well-behaved
    /// client must get each one, once, in order.
    Flood,
    /// Joins rooms, talks and sets topics in them, parts.
    Rooms,
    /// Registers and then stays silent, reading: expects `PING idle`, then
    /// `BYE ping timeout`, not early.
    IdleTimeout,
    /// Asks for answers until the server's send buffer is full, sends `QUIT` or FIN, and
    /// never reads: its descriptor must be closed once `--write-timeout` has passed, not
    /// before (seen from the kernel's side).
    ZeroWindow,
    /// Control characters, line separators and bidirectional controls in every kind of
    /// text: `ERR BAD_TEXT` for each; `PART` and `QUIT` reasons relayed mended.
    BadText,
    /// Many connections of one address send `ALL` lines of 4 KiB as fast as the server takes
    /// them: slowed to the address's budget, every line delivered in order.
    AddressFlood,
    /// `WHO` and `ROOMS` as fast as the server answers: slowed to the byte budget, every
    /// answer whole.
    WhoFlood,
}

impl Fault {
    pub const ALL: [Fault; 16] = [
        Fault::Quit,
        Fault::Close,
        Fault::Reset,
        Fault::HalfLineClose,
        Fault::HalfLineReset,
        Fault::NoRegister,
        Fault::SlowReader,
        Fault::LongLine,
        Fault::BadUtf8,
        Fault::Flood,
        Fault::Rooms,
        Fault::IdleTimeout,
        Fault::ZeroWindow,
        Fault::BadText,
        Fault::AddressFlood,
        Fault::WhoFlood,
    ];

    /// The name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Quit => "quit",
            Fault::Close => "close",
            Fault::Reset => "reset",
            Fault::HalfLineClose => "half-line-close",
            Fault::HalfLineReset => "half-line-reset",
            Fault::NoRegister => "no-register",
            Fault::SlowReader => "slow-reader",
            Fault::LongLine => "long-line",
            Fault::BadUtf8 => "bad-utf8",
            Fault::Flood => "flood",
            Fault::Rooms => "rooms",
            Fault::IdleTimeout => "idle-timeout",
            Fault::ZeroWindow => "zero-window",
            Fault::BadText => "bad-text",
            Fault::AddressFlood => "address-flood",
            Fault::WhoFlood => "who-flood",
        }
    }

    pub fn parse(name: &str) -> Result<Fault, String> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
                format!("unknown fault {name:?}; the faults: {}", names.join(", "))
            })
    }

    /// How often it is chosen, against the others. Faults that hold a connection for
    /// seconds (the timeouts, slow readers, zero windows, the floods) are rarer, or they
    /// would fill every slot; a flood is limited by `--max-flooders` as well, and an address
    /// flood runs one at a time.
    fn weight(self) -> u32 {
        match self {
            Fault::Quit | Fault::Close | Fault::Reset => 12,
            Fault::HalfLineClose | Fault::HalfLineReset | Fault::BadText => 6,
            Fault::LongLine | Fault::BadUtf8 | Fault::Rooms => 10,
            Fault::NoRegister => 3,
            Fault::SlowReader | Fault::IdleTimeout | Fault::ZeroWindow | Fault::WhoFlood => 2,
            Fault::Flood | Fault::AddressFlood => 1,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault chosen from `faults` by weight.
pub fn pick(rng: &mut fastrand::Rng, faults: &[Fault]) -> Fault {
    let total: u32 = faults.iter().map(|f| f.weight()).sum();
    let mut roll = rng.u32(0..total);
    for &fault in faults {
        if roll < fault.weight() {
            return fault;
        }
        roll -= fault.weight();
    }
    unreachable!("the roll is below the total weight")
}

/// A chaos client that registered for certain, and the ways its `QUIT` may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub index: u32,
    pub fault: Fault,
    pub may_leave: Vec<Left>,
}

/// A connection whose server answers broke the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub fault: Fault,
    pub index: u32,
    pub what: String,
}

/// What one slot did.
#[derive(Debug, Default, Clone)]
pub struct SlotLog {
    /// Connections by fault, in [`Fault::ALL`] order.
    pub runs: [u64; Fault::ALL.len()],
    pub mismatches: [u64; Fault::ALL.len()],
    /// The first few mismatches, for the report.
    pub examples: Vec<Mismatch>,
    pub registered: Vec<Registered>,
    /// Floods: lines sent and seconds from the first line to the last `PONG`.
    pub floods: Vec<(u32, f64)>,
    /// What the attacks measured.
    pub attacks: Vec<Figures>,
}

/// Mismatches kept word for word, per slot.
const EXAMPLES: usize = 3;

impl SlotLog {
    pub fn record(&mut self, fault: Fault, index: u32, end: FaultEnd) {
        let at = fault_position(fault);
        self.runs[at] += 1;
        if let Some(may_leave) = end.registered {
            self.registered.push(Registered {
                index,
                fault,
                may_leave,
            });
        }
        for (index, may_leave) in end.others {
            self.registered.push(Registered {
                index,
                fault,
                may_leave,
            });
        }
        if let Some(flood) = end.flood {
            self.floods.push(flood);
        }
        self.attacks.extend(end.figures);
        if let Some(what) = end.mismatch {
            self.mismatches[at] += 1;
            if self.examples.len() < EXAMPLES {
                self.examples.push(Mismatch { fault, index, what });
            }
        }
    }

    pub fn merge(&mut self, other: SlotLog) {
        for at in 0..Fault::ALL.len() {
            self.runs[at] += other.runs[at];
            self.mismatches[at] += other.mismatches[at];
        }
        self.examples.extend(other.examples);
        self.registered.extend(other.registered);
        self.floods.extend(other.floods);
        self.attacks.extend(other.attacks);
    }
}

pub fn fault_position(fault: Fault) -> usize {
    Fault::ALL
        .iter()
        .position(|&f| f == fault)
        .expect("every fault is in ALL")
}

/// Faults a phase of `phase` seconds can run: one that waits for a server timeout (once for
/// `no-register` and `zero-window`, twice for `idle-timeout`) longer than half the phase
/// would hold its slot long past the phase's end. `zero-window` also needs to see the
/// server's sockets (`sock_diag`: a server on this machine).
pub fn runnable(faults: &[Fault], shared: &Shared, phase: std::time::Duration) -> Vec<Fault> {
    let config = &shared.config;
    faults
        .iter()
        .copied()
        .filter(|fault| match fault {
            Fault::NoRegister => config.register_timeout * 2 <= phase,
            Fault::IdleTimeout => config.idle_timeout * 4 <= phase,
            Fault::ZeroWindow => shared.diag && config.write_timeout * 2 <= phase,
            _ => true,
        })
        .collect()
}

/// One chaos slot: connections one after the other, until `end`. A connection started
/// before `end` runs to its own end, so the phase's last connections may finish a little
/// later (each wait in them has its deadline).
pub fn run_slot(
    shared: &Arc<Shared>,
    faults: &[Fault],
    settings: &FaultSettings,
    (slot, rng): (usize, &mut fastrand::Rng),
    end: Instant,
) -> SlotLog {
    let mut log = SlotLog::default();
    if faults.is_empty() {
        return log;
    }
    while Instant::now() < end {
        let fault = pick(rng, faults);
        let index = shared.next_chaos_index();
        let Some(result) = run_fault(shared, settings, fault, (index, slot), rng, end) else {
            // A flood with no room for another: the slot chooses again.
            continue;
        };
        log.record(fault, index, result);
    }
    log
}

/// Runs `fault` as chaos connection `index` of chaos slot `slot`. `None`: the fault could
/// not start (a flood while `--max-flooders` run, an address flood while one runs) and the
/// slot should choose again.
fn run_fault(
    shared: &Arc<Shared>,
    settings: &FaultSettings,
    fault: Fault,
    (index, slot): (u32, usize),
    rng: &mut fastrand::Rng,
    end: Instant,
) -> Option<FaultEnd> {
    let source = shared.sources.slot(slot);
    let mut client = ChaosClient::new(shared, settings, index, rng, source);
    let result = match fault {
        Fault::Flood => return flood::run(shared, settings, index, source, end),
        Fault::AddressFlood => {
            return address_flood::run(shared, index, settings.address_flooders, end);
        }
        Fault::Quit => client.quit(),
        Fault::Close => client.close(),
        Fault::Reset => client.reset(),
        Fault::HalfLineClose => client.half_line(false),
        Fault::HalfLineReset => client.half_line(true),
        Fault::NoRegister => client.no_register(),
        Fault::SlowReader => client.slow_reader(),
        Fault::LongLine => client.long_line(),
        Fault::BadUtf8 => client.bad_utf8(),
        Fault::Rooms => client.rooms(),
        Fault::IdleTimeout => client.idle_timeout(),
        Fault::ZeroWindow => zero_window::run(&mut client),
        Fault::BadText => bad_text::run(&mut client),
        Fault::WhoFlood => who_flood::run(&mut client, end),
    };
    Some(client.end(result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_has_a_name_that_parses_back() {
        for fault in Fault::ALL {
            assert_eq!(Fault::parse(fault.name()), Ok(fault));
        }
        assert!(Fault::parse("nope").unwrap_err().contains("slow-reader"));
    }

    #[test]
    fn picks_follow_the_weights_and_stay_in_the_list() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut counts = [0u32; Fault::ALL.len()];
        for _ in 0..100_000 {
            counts[fault_position(pick(&mut rng, &Fault::ALL))] += 1;
        }
        let total: u32 = Fault::ALL.iter().map(|f| f.weight()).sum();
        for fault in Fault::ALL {
            let share = f64::from(counts[fault_position(fault)]) / 100_000.0;
            let want = f64::from(fault.weight()) / f64::from(total);
            assert!((share - want).abs() < 0.01, "{fault}: {share} vs {want}");
        }
        let only = [Fault::Reset, Fault::Flood];
        for _ in 0..1000 {
            assert!(only.contains(&pick(&mut rng, &only)));
        }
    }

    #[test]
    fn a_log_counts_runs_mismatches_and_registrations() {
        let mut log = SlotLog::default();
        log.record(Fault::Reset, 1, FaultEnd::default());
        log.record(
            Fault::Quit,
            2,
            FaultEnd {
                registered: Some(vec![Left::Quit(None)]),
                mismatch: Some("no BYE".to_owned()),
                ..FaultEnd::default()
            },
        );
        let mut other = SlotLog::default();
        other.record(Fault::Reset, 3, FaultEnd::default());
        log.merge(other);
        assert_eq!(log.runs[fault_position(Fault::Reset)], 2);
        assert_eq!(log.runs[fault_position(Fault::Quit)], 1);
        assert_eq!(log.mismatches[fault_position(Fault::Quit)], 1);
        assert_eq!(log.examples[0].what, "no BYE");
        assert_eq!(log.registered.len(), 1);
        assert_eq!(log.registered[0].index, 2);
    }
}
