//! What the attacks of issue 13 measured: one [`Figures`] per attack (the zero-window cut,
//! the bad-text fault's refusals, the cost of the floods flood control prices), and their
//! summary for the report ([`AttackSummary`]).
//!
//! In scope: the figures and their summary. Pure.
//! Out of scope: measuring them (`zero_window`, `bad_text`, `address_flood`, `who_flood`)
//! and printing them (`report`).

/// What one attack measured.
#[derive(Debug, Clone, PartialEq)]
pub enum Figures {
    ZeroWindow(ZeroWindowCut),
    /// Lines refused with `ERR BAD_TEXT`, and reasons (`PART`, `QUIT`) relayed mended.
    BadText {
        refused: u32,
        mended: u32,
    },
    AddressFlood(Priced),
    WhoFlood(Priced),
}

/// How a zero-window connection ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZeroWindowCut {
    /// Its descriptor was closed this many seconds after its writer was last seen able to
    /// write; it left by `QUIT` (or else by FIN).
    Cut { seconds: f64, by_quit: bool },
    /// The register timeout ended it before its writer stalled (a slow machine).
    NotStalled,
}

/// What a flood that flood control prices by bytes cost, against what its budget allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Priced {
    pub connections: u32,
    /// Lines it sent (questions, for a `WHO` flood).
    pub lines: u64,
    /// Bytes counted against the budget: those it sent, and the answers to its own lines.
    pub cost: u64,
    pub seconds: f64,
    /// The budget's rate, in bytes per second.
    pub rate: u64,
    /// The most the budget allows in `seconds`: its burst, its rate, and the documented
    /// slack of a turn.
    pub allowed: u64,
    /// The longest one batch of it waited for its answer, in seconds: with a fair share of
    /// the budget, about the batches in flight times a batch's cost over the rate.
    pub longest_wait: f64,
}

impl Priced {
    pub fn bytes_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.cost as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// The attacks of a run, summed up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttackSummary {
    /// Seconds from each zero-window writer's stall to its descriptor's close, sorted.
    pub cuts: Vec<f64>,
    pub cuts_after_quit: usize,
    pub not_stalled: usize,
    pub refused: u64,
    pub mended: u64,
    pub address_floods: Vec<Priced>,
    pub who_floods: Vec<Priced>,
}

impl AttackSummary {
    pub fn of(figures: &[Figures]) -> AttackSummary {
        let mut summary = AttackSummary::default();
        for figure in figures {
            match figure {
                Figures::ZeroWindow(ZeroWindowCut::Cut { seconds, by_quit }) => {
                    summary.cuts.push(*seconds);
                    summary.cuts_after_quit += usize::from(*by_quit);
                }
                Figures::ZeroWindow(ZeroWindowCut::NotStalled) => summary.not_stalled += 1,
                Figures::BadText { refused, mended } => {
                    summary.refused += u64::from(*refused);
                    summary.mended += u64::from(*mended);
                }
                Figures::AddressFlood(priced) => summary.address_floods.push(*priced),
                Figures::WhoFlood(priced) => summary.who_floods.push(*priced),
            }
        }
        summary.cuts.sort_by(f64::total_cmp);
        summary
    }

    /// The fewest, median and most seconds from a stall to its cut.
    pub fn cut_range(&self) -> Option<(f64, f64, f64)> {
        let first = *self.cuts.first()?;
        let last = *self.cuts.last()?;
        Some((first, self.cuts[self.cuts.len() / 2], last))
    }
}

/// Floods shorter than this are left out of the rates: their burst dominates.
pub const RATED_SECONDS: f64 = 1.0;

/// The median and the highest bytes per second of the `floods` that lasted at least
/// [`RATED_SECONDS`] (all of them if none did), and the budget's rate (the same for all).
pub fn rates(floods: &[Priced]) -> Option<(f64, f64, u64)> {
    let long = floods.iter().filter(|p| p.seconds >= RATED_SECONDS);
    let mut rates: Vec<f64> = if long.clone().next().is_some() {
        long.map(Priced::bytes_per_second).collect()
    } else {
        floods.iter().map(Priced::bytes_per_second).collect()
    };
    rates.sort_by(f64::total_cmp);
    let budget = floods.first()?.rate;
    Some((rates[rates.len() / 2], *rates.last()?, budget))
}

/// The longest a batch of any of `floods` waited, in seconds.
pub fn longest_wait(floods: &[Priced]) -> f64 {
    floods.iter().map(|p| p.longest_wait).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn priced(cost: u64, seconds: f64) -> Priced {
        Priced {
            connections: 4,
            lines: 10,
            cost,
            seconds,
            rate: 1000,
            allowed: 5000,
            longest_wait: seconds / 4.0,
        }
    }

    #[test]
    fn a_summary_sorts_and_sums_each_kind() {
        let summary = AttackSummary::of(&[
            Figures::ZeroWindow(ZeroWindowCut::Cut {
                seconds: 2.5,
                by_quit: true,
            }),
            Figures::ZeroWindow(ZeroWindowCut::Cut {
                seconds: 2.1,
                by_quit: false,
            }),
            Figures::ZeroWindow(ZeroWindowCut::NotStalled),
            Figures::BadText {
                refused: 9,
                mended: 2,
            },
            Figures::BadText {
                refused: 9,
                mended: 2,
            },
            Figures::AddressFlood(priced(3000, 2.0)),
            Figures::WhoFlood(priced(100, 1.0)),
        ]);
        assert_eq!(summary.cuts, [2.1, 2.5]);
        assert_eq!(summary.cut_range(), Some((2.1, 2.5, 2.5)));
        assert_eq!((summary.cuts_after_quit, summary.not_stalled), (1, 1));
        assert_eq!((summary.refused, summary.mended), (18, 4));
        assert_eq!(rates(&summary.address_floods), Some((1500.0, 1500.0, 1000)));
        assert_eq!(rates(&summary.who_floods), Some((100.0, 100.0, 1000)));
        assert_eq!(rates(&[]), None);
        assert_eq!(longest_wait(&summary.address_floods), 0.5);
        // A flood too short to rate is left out once a longer one is there.
        assert_eq!(
            rates(&[priced(100, 0.1), priced(2000, 2.0)]),
            Some((1000.0, 1000.0, 1000))
        );
        assert_eq!(AttackSummary::default().cut_range(), None);
    }
}
