//! Flood control for one connection: what its turn may still do, and what the turn cost.
//!
//! Work is priced three ways (issue 13):
//! - one token per line, whatever the line (`--rate`, `--burst`);
//! - bytes (`--byte-rate`, `--byte-burst`): what the client sends, charged as each read
//!   brings it in (a line that is too long or never ends costs its bytes too), and the answers
//!   to its own commands, charged once produced: a 4-byte `WHO` costs what its list of every
//!   nick costs, and may leave the bucket in debt, so the next turn waits that much longer;
//! - outside loopback, a share of its address group's budget (`--ip-rate`, `--ip-byte-rate`,
//!   see `address_budget`), charged once per turn with everything the turn cost, so the
//!   group's lock is taken once per turn, never per line.
//!
//! A connection out of any of them pauses until it is worth coming back (`Turn::OverRate` in
//! `connection`, then the `throttle` thread), with its bytes unread. `--rate 0` turns all of
//! it off: the connection has no `Flood` at all.
//!
//! In scope: the per-connection buckets, what a turn counts for its group, and the instant a
//! paused connection may go on. Out of scope: the arithmetic (`token_bucket`), the groups'
//! table (`address_budget`), and pausing itself (`connection`, `throttle`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::server::address_budget::{AddressBudgets, GroupShare};
use crate::server::admission::AddressGroup;
use crate::server::token_bucket::TokenBucket;

/// One connection's flood control.
pub struct Flood {
    lines: TokenBucket,
    /// `None` with `--byte-rate 0`.
    bytes: Option<TokenBucket>,
    /// `None` for a loopback address (unless an address budget was given explicitly), or
    /// with `--ip-rate 0 --ip-byte-rate 0`.
    group: Option<GroupShare>,
    /// What the turn under way has cost so far, for the group at its end.
    turn_lines: u64,
    turn_bytes: u64,
}

impl Flood {
    /// Flood control for a new connection from `ip`, with full buckets; `None` when it is off
    /// (`--rate 0`).
    pub fn new(
        config: &Config,
        ip: IpAddr,
        budgets: &Arc<AddressBudgets>,
        now: Instant,
    ) -> Option<Flood> {
        if config.rate == 0 {
            return None;
        }
        let bytes = (config.byte_rate > 0)
            .then(|| TokenBucket::new(config.byte_rate as u64, config.byte_burst as u64, now));
        let group = config
            .address_budget_applies(ip)
            .then(|| budgets.join(AddressGroup::of(ip), now));
        Some(Flood {
            lines: TokenBucket::new(u64::from(config.rate), u64::from(config.burst), now),
            bytes,
            group,
            turn_lines: 0,
            turn_bytes: 0,
        })
    }

    /// Starts a turn at `now`: the buckets refill. `Err` with the instant to come back when
    /// the group's budget is used up: then nothing is read or run.
    pub fn start_turn(&mut self, now: Instant) -> Result<(), Instant> {
        if let Some(until) = self.group.as_ref().and_then(|g| g.empty_until(now)) {
            return Err(until);
        }
        self.lines.refill(now);
        if let Some(bytes) = &mut self.bytes {
            bytes.refill(now);
        }
        Ok(())
    }

    /// Whether another line may run, or the socket be read: `Err` with the instant the
    /// connection is worth coming back to, once both its buckets hold tokens again.
    pub fn check(&self) -> Result<(), Instant> {
        let lines_ok = self.lines.has_token();
        let bytes_ok = self.bytes.as_ref().is_none_or(TokenBucket::has_token);
        if lines_ok && bytes_ok {
            return Ok(());
        }
        let lines_at = (!lines_ok).then(|| self.lines.resume_at());
        let bytes_at = self
            .bytes
            .as_ref()
            .filter(|bytes| !bytes.has_token())
            .map(TokenBucket::resume_at);
        Err(lines_at.max(bytes_at).expect("one of the buckets is empty"))
    }

    /// One line is about to run.
    pub fn take_line(&mut self) {
        self.lines.try_take();
        self.turn_lines += 1;
    }

    /// `count` bytes were read from the client, or queued for it in answer to its command.
    pub fn charge_bytes(&mut self, count: usize) {
        let count = count as u64;
        if let Some(bytes) = &mut self.bytes {
            bytes.charge(count);
        }
        self.turn_bytes += count;
    }

    /// Ends a turn: the group is charged with what the turn cost, under its lock, once. `Some`
    /// with the instant to come back when that leaves the group's budget used up: the
    /// connection then pauses rather than go on.
    pub fn end_turn(&mut self, now: Instant) -> Option<Instant> {
        let (lines, bytes) = (self.turn_lines, self.turn_bytes);
        self.turn_lines = 0;
        self.turn_bytes = 0;
        let group = self.group.as_ref()?;
        if lines == 0 && bytes == 0 {
            return group.empty_until(now);
        }
        group.charge(lines, bytes, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const REMOTE: &str = "192.0.2.7";
    const LOOPBACK: &str = "127.0.0.1";

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn config(adjust: impl FnOnce(&mut Config)) -> Config {
        let mut config = Config::default();
        adjust(&mut config);
        config
    }

    fn budgets(config: &Config) -> Arc<AddressBudgets> {
        Arc::new(AddressBudgets::new(config.ip_rate, config.ip_byte_rate))
    }

    /// Runs lines of `bytes` bytes each until flood control says to wait; how many ran.
    fn run_until_paused(flood: &mut Flood, bytes: usize, now: Instant) -> usize {
        let mut ran = 0;
        flood.start_turn(now).unwrap();
        while flood.check().is_ok() {
            flood.take_line();
            flood.charge_bytes(bytes);
            ran += 1;
        }
        ran
    }

    #[test]
    fn the_defaults_keep_the_contracts_promise_to_one_scripted_client() {
        // 4,000 lines at once, then 2,000 lines and 4 MiB per second, before anything waits:
        // lines of 2 KiB use both at the same pace.
        let config = Config::default();
        let now = Instant::now();
        let mut flood = Flood::new(&config, ip(REMOTE), &budgets(&config), now).unwrap();
        assert_eq!(run_until_paused(&mut flood, 2048, now), 4000);
        assert_eq!(flood.end_turn(now), None, "within the address's budget");
        for second in 1..=3 {
            let then = now + Duration::from_secs(second);
            assert_eq!(run_until_paused(&mut flood, 2048, then), 2000);
            assert_eq!(flood.end_turn(then), None);
        }
    }

    #[test]
    fn issue_13_a_line_costs_its_bytes_too() {
        let config = config(|c| {
            c.byte_rate = 40_960;
            c.byte_burst = 40_960;
        });
        let now = Instant::now();
        let mut flood = Flood::new(&config, ip(REMOTE), &budgets(&config), now).unwrap();
        // Ten 4 KiB lines use the byte burst long before the 4,000 lines of the line burst.
        assert_eq!(run_until_paused(&mut flood, 4096, now), 10);
        let at = flood.check().unwrap_err();
        // 20 ms at 40 KiB/s is 819 bytes: that is worth coming back for.
        assert!(at > now && at < now + Duration::from_millis(21), "{at:?}");
    }

    #[test]
    fn issue_13_an_answer_charged_after_the_fact_delays_what_comes_next() {
        let config = config(|c| {
            c.byte_rate = 100_000;
            c.byte_burst = 100_000;
        });
        let now = Instant::now();
        let mut flood = Flood::new(&config, ip(REMOTE), &budgets(&config), now).unwrap();
        flood.start_turn(now).unwrap();
        assert!(flood.check().is_ok());
        flood.take_line();
        // A 4-byte WHO and its 330 KB answer.
        flood.charge_bytes(4);
        flood.charge_bytes(330_000);
        let at = flood.check().unwrap_err();
        // 230,004 bytes in debt at 100,000/s, plus a 20 ms batch.
        let wait = at - now;
        assert!(
            wait > Duration::from_millis(2300) && wait < Duration::from_millis(2330),
            "{wait:?}"
        );
    }

    #[test]
    fn issue_13_many_connections_of_one_address_share_its_budget_but_loopback_does_not() {
        let config = config(|c| {
            c.ip_rate = 1000;
            c.ip_byte_rate = 0;
        });
        let budgets = budgets(&config);
        let now = Instant::now();
        let mut floods: Vec<Flood> = (0..4)
            .map(|_| Flood::new(&config, ip(REMOTE), &budgets, now).unwrap())
            .collect();
        // Each of four connections runs 600 lines, well within its own burst: together
        // 2,400, over the group's 2,000 at once. The turn that goes over learns it at its end.
        let mut paused_after = None;
        for (n, flood) in floods.iter_mut().enumerate() {
            flood.start_turn(now).unwrap();
            for _ in 0..600 {
                flood.take_line();
            }
            if let Some(until) = flood.end_turn(now) {
                paused_after = Some((n, until));
                break;
            }
        }
        let (n, until) = paused_after.expect("the group's budget ran out");
        assert_eq!(n, 3, "the fourth turn takes the group over 2,000");
        // Every connection of the group now waits before reading or running anything.
        for flood in &mut floods {
            assert_eq!(flood.start_turn(now), Err(until));
            assert_eq!(flood.start_turn(until), Ok(()));
        }

        let mut local = Flood::new(&config, ip(LOOPBACK), &budgets, now).unwrap();
        assert!(local.group.is_none(), "loopback has no group unless given");
        local.start_turn(now).unwrap();
        for _ in 0..3000 {
            local.take_line();
        }
        assert_eq!(local.end_turn(now), None);
        let explicit = Config {
            ip_rate_loopback: true,
            ..config
        };
        assert!(
            Flood::new(&explicit, ip(LOOPBACK), &budgets, now)
                .unwrap()
                .group
                .is_some()
        );
    }

    #[test]
    fn issue_13_rate_0_turns_every_part_off() {
        let config = config(|c| {
            c.rate = 0;
            c.byte_rate = 1;
            c.ip_rate = 1;
            c.ip_rate_loopback = true;
        });
        let now = Instant::now();
        assert!(Flood::new(&config, ip(REMOTE), &budgets(&config), now).is_none());
        assert!(Flood::new(&config, ip(LOOPBACK), &budgets(&config), now).is_none());
    }
}
