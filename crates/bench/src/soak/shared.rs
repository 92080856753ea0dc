//! What the threads of one soak run share: the server's address and limits, where clients
//! connect from, the run's nicks, the payload codecs and clock, how many lines each numbered
//! sender has sent, and the connection counters.
//!
//! The numbered senders, in order: the well-behaved clients; a number for each resuming
//! client, which sends nothing but holds the chat nick of that number; the login accounts
//! (`login_clients`), whose chat nick is their sender number too, so that a receiver knows
//! a line under a chat nick by its number; then the floods, each a number of its own.
//!
//! In scope: the [`Shared`] struct and its small atomic helpers.
//! Out of scope: what the threads do with it (`chatter`, `chaos`, `faults`).

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::loadgen::client::Naming;
use crate::loadgen::payload::{Codec, Corrupt, Stamp};
use crate::soak::sources::Sources;
use chatd::config::Config;

/// Payload bytes of every numbered line (the smallest the codec allows plus a little
/// padding, as the load benchmark's default).
pub const PAYLOAD_SIZE: usize = 32;

/// Bytes of every line of the address flood, `ALL ` and the line's end included: the
/// longest line a server takes with the default `--max-line`.
pub const BIG_LINE: usize = 4096;

/// Marks a flood slot that no flooder has taken yet.
const NO_OWNER: u32 = u32::MAX;

/// The nicks of a run. Well-behaved client `i` is `chat.nick(i)`; every chaos connection,
/// the flooders and the final check included, gets a new `chaos.nick(n)`; the rooms are
/// `chaos.room(k)`. Two tags, so a line names its sender's kind.
#[derive(Debug, Clone)]
pub struct Names {
    pub chat: Naming,
    pub chaos: Naming,
}

impl Names {
    pub fn from_seed(seed: u64) -> Names {
        // Differs between runs with different seeds (and shared servers), never between the
        // two namings of one run.
        let tag = (seed ^ (seed >> 24) ^ (seed >> 48)) as u32 & 0xff_fffe;
        Names {
            chat: Naming::with_tag(tag),
            chaos: Naming::with_tag(tag | 1),
        }
    }
}

/// How many numbered senders of each kind a run has (see the module's docs for their order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Senders {
    pub well_behaved: usize,
    pub resumers: usize,
    pub logins: usize,
    pub flood_slots: usize,
}

/// Shared by every thread of a run.
pub struct Shared {
    pub addr: SocketAddr,
    /// The server's limits as the soak understands them (`--max-line`, the timeouts).
    pub config: Config,
    pub names: Names,
    /// Where each kind of client connects from.
    pub sources: Sources,
    /// Whether the server's sockets can be looked at from the kernel's side (`sock_diag`):
    /// a server on this machine, in this network namespace.
    pub diag: bool,
    pub codec: Codec,
    /// The payloads of the address flood's lines of [`BIG_LINE`] bytes (or `--max-line`, if
    /// the server takes less).
    pub big_codec: Codec,
    /// Time zero of the payloads' send times.
    pub epoch: Instant,
    /// Well-behaved clients: senders `0..well_behaved`.
    pub well_behaved: usize,
    /// The login accounts' sender numbers, after the resuming clients'.
    logins: Range<usize>,
    /// The first flood sender number, after the login accounts'.
    first_flood: usize,
    /// Lines each sender has written in full, by sender number: what every well-behaved
    /// receiver must get.
    sent: Vec<AtomicU32>,
    /// For each flood sender number, the chaos index of the connection that sends as it:
    /// a numbered line from any other nick is corrupt.
    flood_owner: Vec<AtomicU32>,
    next_flood: AtomicUsize,
    flooders_running: AtomicUsize,
    max_flooders: usize,
    /// An address flood runs: one at a time, so that its address's budget is its own.
    address_flood_running: AtomicBool,
    next_chaos: AtomicU32,
    open: AtomicUsize,
    peak_open: AtomicUsize,
    connections: AtomicU64,
}

impl Shared {
    pub fn new(
        addr: SocketAddr,
        config: Config,
        names: Names,
        sources: Sources,
        diag: bool,
        senders: Senders,
        max_flooders: usize,
    ) -> Shared {
        let Senders {
            well_behaved,
            resumers,
            logins,
            flood_slots,
        } = senders;
        let logins = well_behaved + resumers..well_behaved + resumers + logins;
        let first_flood = logins.end;
        let big_payload = BIG_LINE.min(config.max_line) - "ALL \n".len();
        Shared {
            addr,
            names,
            sources,
            diag,
            codec: Codec::new(PAYLOAD_SIZE).expect("the payload size is above the minimum"),
            big_codec: Codec::new(big_payload.max(PAYLOAD_SIZE))
                .expect("the payload size is above the minimum"),
            config,
            epoch: Instant::now(),
            well_behaved,
            logins,
            first_flood,
            sent: (0..first_flood + flood_slots)
                .map(|_| AtomicU32::new(0))
                .collect(),
            flood_owner: (0..flood_slots).map(|_| AtomicU32::new(NO_OWNER)).collect(),
            next_flood: AtomicUsize::new(0),
            flooders_running: AtomicUsize::new(0),
            max_flooders,
            address_flood_running: AtomicBool::new(false),
            next_chaos: AtomicU32::new(0),
            open: AtomicUsize::new(0),
            peak_open: AtomicUsize::new(0),
            connections: AtomicU64::new(0),
        }
    }

    /// Numbered senders: the well-behaved clients, the resuming clients, the login
    /// accounts and every flood slot.
    pub fn senders(&self) -> usize {
        self.sent.len()
    }

    /// The login accounts' sender numbers, which are their chat nicks' numbers too.
    pub fn login_senders(&self) -> Range<usize> {
        self.logins.clone()
    }

    /// The floods' sender numbers.
    pub fn flood_senders(&self) -> Range<usize> {
        self.first_flood..self.sent.len()
    }

    /// The payload of line `seq` of `sender`, stamped now.
    pub fn payload(&self, sender: usize, seq: u32, out: &mut String) {
        self.payload_with(&self.codec, sender, seq, out);
    }

    /// The same with `codec` (the big lines' or the usual).
    pub fn payload_with(&self, codec: &Codec, sender: usize, seq: u32, out: &mut String) {
        let stamp = Stamp {
            sender: u32::try_from(sender).expect("senders are checked to fit"),
            seq,
            sent_us: self.micros_now(),
        };
        codec.encode(stamp, out);
    }

    /// The stamp of a numbered line's text, of either size.
    pub fn decode(&self, text: &[u8]) -> Result<Stamp, Corrupt> {
        if text.len() == self.big_codec.size() {
            self.big_codec.decode(text)
        } else {
            self.codec.decode(text)
        }
    }

    /// Microseconds since [`Shared::epoch`].
    pub fn micros_now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Records that `sender` has written `count` lines in full.
    pub fn set_sent(&self, sender: usize, count: u32) {
        self.sent[sender].store(count, Ordering::Release);
    }

    pub fn sent(&self, sender: usize) -> u32 {
        self.sent[sender].load(Ordering::Acquire)
    }

    /// A new chaos index (and so a new nick).
    pub fn next_chaos_index(&self) -> u32 {
        self.next_chaos.fetch_add(1, Ordering::Relaxed)
    }

    /// A flood sender number for chaos connection `owner`, if fewer than `max_flooders`
    /// floods run and numbers are left. Give it back with [`Shared::end_flood`].
    pub fn start_flood(&self, owner: u32) -> Option<usize> {
        let running = self.flooders_running.fetch_add(1, Ordering::AcqRel);
        if running >= self.max_flooders {
            self.flooders_running.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let sender = self.claim_sender(owner);
        if sender.is_none() {
            self.flooders_running.fetch_sub(1, Ordering::AcqRel);
        }
        sender
    }

    pub fn end_flood(&self) {
        self.flooders_running.fetch_sub(1, Ordering::AcqRel);
    }

    /// A new flood sender number for chaos connection `owner`, while numbers are left.
    pub fn claim_sender(&self, owner: u32) -> Option<usize> {
        let slot = self.next_flood.fetch_add(1, Ordering::AcqRel);
        let owner_of = self.flood_owner.get(slot)?;
        owner_of.store(owner, Ordering::Release);
        Some(self.first_flood + slot)
    }

    /// Flood sender numbers left.
    pub fn senders_left(&self) -> usize {
        self.flood_owner
            .len()
            .saturating_sub(self.next_flood.load(Ordering::Acquire))
    }

    /// Takes the address flood's turn: `false` if one runs. Give it back with
    /// [`Shared::end_address_flood`].
    pub fn start_address_flood(&self) -> bool {
        !self.address_flood_running.swap(true, Ordering::AcqRel)
    }

    pub fn end_address_flood(&self) {
        self.address_flood_running.store(false, Ordering::Release);
    }

    /// Whether chaos connection `index` sends as flood sender `sender`.
    pub fn is_flood_owner(&self, sender: usize, index: u32) -> bool {
        sender
            .checked_sub(self.first_flood)
            .and_then(|slot| self.flood_owner.get(slot))
            .is_some_and(|owner| owner.load(Ordering::Acquire) == index)
    }

    /// Floods started so far.
    pub fn floods(&self) -> usize {
        self.next_flood
            .load(Ordering::Acquire)
            .min(self.flood_owner.len())
    }

    /// A chaos connection opened: counts it and the peak of those open at once.
    pub fn opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        let open = self.open.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak_open.fetch_max(open, Ordering::AcqRel);
    }

    pub fn closed(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }

    /// Chaos connections opened so far, and the most open at once.
    pub fn connection_counts(&self) -> (u64, usize) {
        (
            self.connections.load(Ordering::Acquire),
            self.peak_open.load(Ordering::Acquire),
        )
    }

    /// Longest wait for a reply the protocol promises at once.
    pub fn reply_timeout(&self) -> Duration {
        crate::loadgen::client::IO_TIMEOUT
    }

    /// How long flood control may hold back a client whose lines and answers cost `bytes`:
    /// the time its byte budget, or its address's, takes to pay them back, whichever is
    /// slower. Added to the deadline of an answer that follows something big.
    pub fn flood_delay(&self, bytes: usize) -> Duration {
        let config = &self.config;
        if config.rate == 0 {
            return Duration::ZERO;
        }
        let slowest = [config.byte_rate, config.ip_byte_rate]
            .into_iter()
            .filter(|&rate| rate > 0)
            .min();
        slowest.map_or(Duration::ZERO, |rate| {
            Duration::from_secs_f64(bytes as f64 / rate as f64)
        })
    }
}
