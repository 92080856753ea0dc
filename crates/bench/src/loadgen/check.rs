//! The integrity check of a run: did every receiver get every line it should have, once, in
//! each sender's order, and did all receivers see the `ALL` lines in one global order (or,
//! in a rooms run, all members of a room that room's lines in one order)?
//!
//! In scope: [`ReceiverCheck`] (per receiver and sender: lost, duplicated and out-of-order
//! lines), [`Counts`], and the order check over the logs receivers keep
//! ([`pick_references`], [`order_violations`], per group of receivers
//! [`grouped_order_violations`]). Pure: no I/O, no clocks, no threads.
//! Out of scope: reading lines and decoding payloads (`reader`, `payload`), and deciding which
//! counts fail a run (`outcome`).

use std::ops::{AddAssign, Range};

/// What the checks found, for one receiver or summed over a run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Deliveries that decoded and were new.
    pub received: u64,
    /// Lines a receiver should have had and never got.
    pub lost: u64,
    pub duplicated: u64,
    /// Lines that arrived after a later line of the same sender.
    pub out_of_order: u64,
    /// Lines that did not decode, came from a client that should not have sent them, or are
    /// numbered beyond what their sender sent.
    pub corrupt: u64,
    /// Times a receiver saw two `ALL` lines in the opposite order from a reference receiver.
    pub order_violations: u64,
}

impl Counts {
    /// The sum of every error counter.
    pub fn errors(&self) -> u64 {
        self.lost + self.duplicated + self.out_of_order + self.corrupt + self.order_violations
    }

    pub fn is_clean(&self) -> bool {
        self.errors() == 0
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.received += other.received;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.out_of_order += other.out_of_order;
        self.corrupt += other.corrupt;
        self.order_violations += other.order_violations;
    }
}

/// One message across all its receivers: sender in the high half, sequence number in the low.
pub type MessageId = u64;

pub fn message_id(sender: u32, seq: u32) -> MessageId {
    u64::from(sender) << 32 | u64::from(seq)
}

fn split_id(id: MessageId) -> (u32, u32) {
    ((id >> 32) as u32, id as u32)
}

/// What happened to one line of a sender, as seen by one receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// The next expected line.
    InOrder,
    /// A later line: this many before it are missing (for now).
    AfterGap(u32),
    /// A line reported missing earlier has turned up.
    Late,
    Duplicate,
}

/// One sender as seen by one receiver.
#[derive(Debug, Default, Clone)]
struct Track {
    /// The sequence number expected next.
    next: u32,
    /// Numbers skipped over and not seen since. Empty unless something went wrong, so a plain
    /// list of ranges is enough.
    missing: Vec<Range<u32>>,
}

impl Track {
    fn arrive(&mut self, seq: u32) -> Arrival {
        if seq == self.next {
            self.next += 1;
            return Arrival::InOrder;
        }
        if seq > self.next {
            self.missing.push(self.next..seq);
            let skipped = seq - self.next;
            self.next = seq + 1;
            return Arrival::AfterGap(skipped);
        }
        match self.missing.iter().position(|r| r.contains(&seq)) {
            Some(at) => {
                let range = self.missing.swap_remove(at);
                self.missing.extend(
                    [range.start..seq, seq + 1..range.end]
                        .into_iter()
                        .filter(|r| !r.is_empty()),
                );
                Arrival::Late
            }
            None => Arrival::Duplicate,
        }
    }
}

/// The checks one receiver runs on the lines it gets, one slot per sender it may hear from.
#[derive(Debug, Clone)]
pub struct ReceiverCheck {
    tracks: Vec<Track>,
    counts: Counts,
    /// Message ids in arrival order, for the global order check; only lines that were new and
    /// not late, so a per-sender fault is not counted a second time as an order fault.
    order: Option<Vec<MessageId>>,
}

impl ReceiverCheck {
    /// A check for `slots` senders; `record_order` keeps the arrival order (8 bytes a line).
    pub fn new(slots: usize, record_order: bool) -> ReceiverCheck {
        ReceiverCheck {
            tracks: vec![Track::default(); slots],
            counts: Counts::default(),
            order: record_order.then(Vec::new),
        }
    }

    /// Line `seq` of the sender in `slot` arrived. A slot beyond those given to
    /// [`ReceiverCheck::new`] is a line from a client that should not have sent it.
    pub fn delivery(&mut self, slot: usize, seq: u32) {
        let Some(track) = self.tracks.get_mut(slot) else {
            self.counts.corrupt += 1;
            return;
        };
        let counts = &mut self.counts;
        let arrival = track.arrive(seq);
        if let Arrival::AfterGap(skipped) = arrival {
            counts.lost += u64::from(skipped);
        }
        match arrival {
            Arrival::InOrder | Arrival::AfterGap(_) => {
                counts.received += 1;
                if let Some(order) = &mut self.order {
                    let sender = u32::try_from(slot).expect("slots fit in u32");
                    order.push(message_id(sender, seq));
                }
            }
            Arrival::Late => {
                counts.received += 1;
                counts.lost -= 1;
                counts.out_of_order += 1;
            }
            Arrival::Duplicate => counts.duplicated += 1,
        }
    }

    /// A line that could not be decoded.
    pub fn corrupt(&mut self) {
        self.counts.corrupt += 1;
    }

    /// New lines so far (what flow control and progress look at).
    pub fn received(&self) -> u64 {
        self.counts.received
    }

    /// The final counts, given how many lines the sender in each slot sent to this
    /// receiver: lines never received are lost. Also returns the arrival order if kept.
    pub fn finish(mut self, expected: impl Fn(usize) -> u32) -> (Counts, Option<Vec<MessageId>>) {
        for (slot, track) in self.tracks.iter().enumerate() {
            let expected = expected(slot);
            if track.next < expected {
                self.counts.lost += u64::from(expected - track.next);
            } else {
                self.counts.corrupt += u64::from(track.next - expected);
            }
        }
        (self.counts, self.order)
    }
}

/// One receiver's `ALL` lines in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLog {
    /// The receiver's client index (its slot when it sends).
    pub receiver: u32,
    pub ids: Vec<MessageId>,
}

/// The logs to compare every other log with, so that every pair of messages two receivers
/// both got is compared somewhere.
///
/// A receiver that sends nothing gets every message, so one such reference covers all
/// pairs. Otherwise a reference misses its own messages, and the relative order of a message
/// from X and one from Y is only seen by a reference that is neither X nor Y: three
/// references always include one (two would miss the pairs between their own messages).
pub fn pick_references(logs: &[OrderLog], is_sender: impl Fn(u32) -> bool) -> Vec<usize> {
    match logs.iter().position(|log| !is_sender(log.receiver)) {
        Some(quiet) => vec![quiet],
        None => (0..logs.len().min(3)).collect(),
    }
}

/// Order violations between each reference and every other log: restricted to the messages
/// both received, the two orders must be the same. Each step back in the reference's order
/// counts one violation.
pub fn order_violations(logs: &[OrderLog], references: &[usize]) -> u64 {
    references
        .iter()
        .map(|&reference| {
            let ranks = Ranks::of(&logs[reference].ids);
            logs.iter()
                .enumerate()
                .filter(|&(at, _)| at != reference)
                .map(|(_, log)| ranks.descents(&log.ids))
                .sum::<u64>()
        })
        .sum()
}

/// The order check within groups of receivers that must agree with each other, such as the
/// members of each room: every group is checked on its own, with references picked among its
/// own logs, and the violations are summed. A broadcast run is one group.
pub fn grouped_order_violations(
    mut logs: Vec<OrderLog>,
    group: impl Fn(u32) -> u32,
    is_sender: impl Fn(u32) -> bool,
) -> u64 {
    logs.sort_by_key(|log| group(log.receiver));
    logs.chunk_by(|a, b| group(a.receiver) == group(b.receiver))
        .map(|members| order_violations(members, &pick_references(members, &is_sender)))
        .sum()
}

/// Each message's position in a reference log, by sender and sequence number.
struct Ranks {
    by_sender: Vec<Vec<u32>>,
}

impl Ranks {
    const ABSENT: u32 = u32::MAX;

    fn of(ids: &[MessageId]) -> Ranks {
        let mut by_sender: Vec<Vec<u32>> = Vec::new();
        for (rank, &id) in ids.iter().enumerate() {
            let (sender, seq) = split_id(id);
            let (sender, seq) = (sender as usize, seq as usize);
            if by_sender.len() <= sender {
                by_sender.resize(sender + 1, Vec::new());
            }
            let ranks = &mut by_sender[sender];
            if ranks.len() <= seq {
                ranks.resize(seq + 1, Ranks::ABSENT);
            }
            ranks[seq] = u32::try_from(rank).expect("a log holds fewer than 4 billion lines");
        }
        Ranks { by_sender }
    }

    fn get(&self, id: MessageId) -> Option<u32> {
        let (sender, seq) = split_id(id);
        let rank = *self.by_sender.get(sender as usize)?.get(seq as usize)?;
        (rank != Ranks::ABSENT).then_some(rank)
    }

    /// How often `ids`, restricted to messages the reference has, steps back in its order.
    fn descents(&self, ids: &[MessageId]) -> u64 {
        let mut last = None;
        let mut descents = 0;
        for rank in ids.iter().filter_map(|&id| self.get(id)) {
            if last.is_some_and(|last| rank < last) {
                descents += 1;
            }
            last = Some(rank);
        }
        descents
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `arrivals` (slot, seq) through a check with `slots` senders that each sent `sent`.
    fn check(slots: usize, sent: u32, arrivals: &[(usize, u32)]) -> Counts {
        let mut check = ReceiverCheck::new(slots, false);
        for &(slot, seq) in arrivals {
            check.delivery(slot, seq);
        }
        check.finish(|_| sent).0
    }

    fn counts(received: u64, lost: u64, duplicated: u64, out_of_order: u64) -> Counts {
        Counts {
            received,
            lost,
            duplicated,
            out_of_order,
            ..Counts::default()
        }
    }

    #[test]
    fn a_clean_stream_has_no_errors() {
        let got = check(2, 3, &[(0, 0), (1, 0), (0, 1), (1, 1), (1, 2), (0, 2)]);
        assert_eq!(got, counts(6, 0, 0, 0));
        assert!(got.is_clean());
    }

    #[test]
    fn a_lost_line_is_counted() {
        assert_eq!(check(1, 4, &[(0, 0), (0, 1), (0, 3)]), counts(3, 1, 0, 0));
    }

    #[test]
    fn lines_never_received_are_lost() {
        assert_eq!(check(2, 4, &[(0, 0), (0, 1)]), counts(2, 6, 0, 0));
    }

    #[test]
    fn a_duplicated_line_is_counted() {
        let got = check(1, 3, &[(0, 0), (0, 1), (0, 1), (0, 2)]);
        assert_eq!(got, counts(3, 0, 1, 0));
    }

    #[test]
    fn a_reordered_line_is_out_of_order_not_lost() {
        let got = check(1, 4, &[(0, 0), (0, 2), (0, 1), (0, 3)]);
        assert_eq!(got, counts(4, 0, 0, 1));
        // A late line inside a wider gap leaves the rest of the gap lost.
        let got = check(1, 6, &[(0, 0), (0, 5), (0, 2)]);
        assert_eq!(got, counts(3, 3, 0, 1));
        // And a late line seen twice is a duplicate the second time.
        let got = check(1, 3, &[(0, 2), (0, 0), (0, 0), (0, 1)]);
        assert_eq!(got, counts(3, 0, 1, 2));
    }

    #[test]
    fn lines_from_unknown_senders_or_beyond_the_end_are_corrupt() {
        let got = check(1, 2, &[(0, 0), (0, 1), (0, 2), (3, 0)]);
        assert_eq!(got.corrupt, 2);
    }

    fn log(receiver: u32, ids: &[(u32, u32)]) -> OrderLog {
        OrderLog {
            receiver,
            ids: ids.iter().map(|&(s, q)| message_id(s, q)).collect(),
        }
    }

    #[test]
    fn the_recorded_order_skips_duplicates_and_late_lines() {
        let mut check = ReceiverCheck::new(2, true);
        for (slot, seq) in [(0, 0), (1, 0), (0, 0), (0, 2), (0, 1)] {
            check.delivery(slot, seq);
        }
        let (_, order) = check.finish(|_| 3);
        assert_eq!(order.unwrap(), log(9, &[(0, 0), (1, 0), (0, 2)]).ids);
    }

    #[test]
    fn the_same_order_everywhere_passes() {
        // Senders 0 and 1; receiver 2 sends nothing; each sender misses its own lines.
        let logs = [
            log(0, &[(1, 0), (1, 1)]),
            log(1, &[(0, 0), (0, 1)]),
            log(2, &[(0, 0), (1, 0), (0, 1), (1, 1)]),
            log(3, &[(0, 0), (1, 0), (0, 1), (1, 1)]),
        ];
        let references = pick_references(&logs, |r| r < 2);
        assert_eq!(references, vec![2]);
        assert_eq!(order_violations(&logs, &references), 0);
    }

    #[test]
    fn an_order_violation_between_two_receivers_is_detected() {
        let logs = [
            log(2, &[(0, 0), (1, 0), (0, 1), (1, 1)]),
            log(3, &[(0, 0), (0, 1), (1, 0), (1, 1)]),
        ];
        let references = pick_references(&logs, |r| r < 2);
        assert_eq!(order_violations(&logs, &references), 1);
    }

    #[test]
    fn lost_lines_are_not_order_violations() {
        let logs = [
            log(2, &[(0, 0), (1, 0), (0, 1), (1, 1)]),
            log(3, &[(0, 0), (0, 1), (1, 1)]),
        ];
        assert_eq!(order_violations(&logs, &[0]), 0);
    }

    #[test]
    fn when_everyone_sends_three_references_cover_every_pair() {
        // Four clients, all senders. Receivers 2 and 3 disagree on the order of a line from
        // 0 and one from 1: only a reference that is neither 0 nor 1 sees both lines.
        let logs = [
            log(0, &[(1, 0), (2, 0), (3, 0)]),
            log(1, &[(0, 0), (2, 0), (3, 0)]),
            log(2, &[(0, 0), (1, 0), (3, 0)]),
            log(3, &[(1, 0), (0, 0), (2, 0)]),
        ];
        let references = pick_references(&logs, |_| true);
        assert_eq!(references, vec![0, 1, 2]);
        assert!(order_violations(&logs, &references) >= 1);
        // The first two alone would not have seen it.
        assert_eq!(order_violations(&logs, &[0, 1]), 0);
    }

    #[test]
    fn groups_are_checked_each_against_their_own_references() {
        // Two rooms of four, clients 0..4 and 4..8; the first two of each send (slots 0, 1).
        // Each room agrees within itself, but the rooms saw their lines in opposite orders.
        let mut logs = vec![
            log(0, &[(1, 0)]),
            log(1, &[(0, 0)]),
            log(2, &[(0, 0), (1, 0)]),
            log(3, &[(0, 0), (1, 0)]),
            log(4, &[(1, 0)]),
            log(5, &[(0, 0)]),
            log(6, &[(1, 0), (0, 0)]),
            log(7, &[(1, 0), (0, 0)]),
        ];
        let room = |client: u32| client / 4;
        let is_sender = |client: u32| client % 4 < 2;
        assert_eq!(grouped_order_violations(logs.clone(), room, is_sender), 0);
        // Slots of different rooms are different senders: as one group, room 1's order
        // would wrongly count against room 0's.
        assert_eq!(grouped_order_violations(logs.clone(), |_| 0, is_sender), 2);
        // A member that disagrees with its own room is caught.
        logs[7] = log(7, &[(0, 0), (1, 0)]);
        assert_eq!(grouped_order_violations(logs, room, is_sender), 1);
    }
}
