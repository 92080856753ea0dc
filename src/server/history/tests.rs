//! Tests of `history`: the ring's bound and its paging.

use super::*;
use std::sync::Arc;

fn id(value: u64) -> MessageId {
    MessageId::new(value).unwrap()
}

/// A history of the lines with ids `ids`, each line naming its id, at time = id.
fn history(ids: impl IntoIterator<Item = u64>) -> History {
    let mut history = Keeping::default().room();
    for value in ids {
        let line: Line = Arc::from(format!("ALL ann {value}\n"));
        history.record(id(value), UtcMillis::new(value).unwrap(), Text::of(&line));
    }
    history
}

/// A page as `HISTORY` answers it.
fn page(history: &History, count: usize, page: Page) -> Vec<Entry> {
    history.page(count, page).finish(count)
}

fn ids(entries: &[Entry]) -> Vec<u64> {
    entries.iter().map(|entry| entry.id.get()).collect()
}

#[test]
fn pages_are_oldest_first_both_ways() {
    // Ids with gaps, as a room's are (the source is shared by every conversation).
    let history = history((1..=10).map(|n| n * 10));
    assert_eq!(ids(&page(&history, 3, Page::Latest)), [80, 90, 100]);
    assert_eq!(ids(&page(&history, 50, Page::Latest)).len(), 10);
    assert_eq!(ids(&page(&history, 3, Page::Before(id(80)))), [50, 60, 70]);
    assert_eq!(ids(&page(&history, 3, Page::Before(id(75)))), [50, 60, 70]);
    assert_eq!(ids(&page(&history, 3, Page::Before(id(20)))), [10]);
    assert_eq!(
        ids(&page(&history, 3, Page::Before(id(10)))),
        [] as [u64; 0]
    );
    assert_eq!(ids(&page(&history, 3, Page::After(id(30)))), [40, 50, 60]);
    assert_eq!(ids(&page(&history, 3, Page::After(id(35)))), [40, 50, 60]);
    assert_eq!(ids(&page(&history, 3, Page::After(id(90)))), [100]);
    assert_eq!(
        ids(&page(&history, 3, Page::After(id(100)))),
        [] as [u64; 0]
    );
    assert_eq!(ids(&page(&history, 3, Page::After(id(1)))), [10, 20, 30]);
    assert_eq!(
        ids(&page(&history, 1000, Page::After(MessageId::MAX))),
        [] as [u64; 0]
    );
    assert_eq!(
        &*page(&history, 1, Page::Latest)[0].line,
        "ALL ann 100\n",
        "the line recorded with the id"
    );
}

#[test]
fn paging_back_from_the_latest_visits_every_line_once() {
    let history = history(1..=95);
    let mut seen = Vec::new();
    let mut answer = page(&history, 10, Page::Latest);
    while let Some(first) = answer.first() {
        let before = first.id;
        seen.splice(0..0, ids(&answer));
        answer = page(&history, 10, Page::Before(before));
    }
    assert_eq!(seen, (1..=95).collect::<Vec<_>>());
}

#[test]
fn the_ring_keeps_the_last_lines_and_reuses_its_storage() {
    let mut history = history(1..=HISTORY_RING as u64);
    let capacity = history.ring.capacity();
    let line: Line = Arc::from("ALL ann more\n");
    for value in 1..=500 {
        let value = HISTORY_RING as u64 + value;
        history.record(id(value), UtcMillis::new(value).unwrap(), Text::of(&line));
    }
    assert_eq!(history.ring.len(), HISTORY_RING);
    assert_eq!(history.ring.capacity(), capacity, "no growth once full");
    let kept = ids(&page(&history, HISTORY_RING, Page::Latest));
    assert_eq!(kept, (501..=1500).collect::<Vec<_>>());
    assert_eq!(ids(&page(&history, 2, Page::Before(id(502)))), [501]);
}

#[test]
fn a_line_never_shows_an_earlier_time_than_the_one_before_it() {
    let mut history = Keeping::default().room();
    let line: Line = Arc::from("ALL ann hi\n");
    history.record(id(1), UtcMillis::new(5_000).unwrap(), Text::of(&line));
    history.record(id(2), UtcMillis::new(4_999).unwrap(), Text::of(&line));
    history.record(id(3), UtcMillis::new(6_000).unwrap(), Text::of(&line));
    let times: Vec<u64> = page(&history, 3, Page::Latest)
        .iter()
        .map(|entry| entry.time.millis())
        .collect();
    assert_eq!(times, [5_000, 5_000, 6_000]);
    assert!(now().millis() > 1_600_000_000_000);
}
