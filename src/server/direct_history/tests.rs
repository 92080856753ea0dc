//! Tests of the direct history in memory: pages both ways in id order whatever order lines
//! came in, the bounds per pair and per account (the pair used least recently goes), an
//! account forgotten, `--history-lines 0` and `--history-days`.

use std::sync::Arc;

use chatd_proto::{MessageId, Nick, NickKey, Page, UtcMillis};

use super::*;
use crate::server::history_entry::now;

fn key(nick: &str) -> NickKey {
    Nick::parse(nick).unwrap().key()
}

fn id(n: u64) -> MessageId {
    MessageId::new(n).unwrap()
}

fn in_memory(lines: usize) -> DirectHistory {
    DirectHistory::new(lines, 0, &Store::default())
}

/// Keeps `MSG <peer> m<n>` with id `n` for `owner`.
fn keep(history: &DirectHistory, owner: &str, peer: &str, n: u64) {
    let line: Line = Arc::from(format!("MSG {peer} m{n}\n"));
    history.keep(&key(owner), &key(peer), id(n), now(), &line);
}

fn ids(history: &DirectHistory, owner: &str, peer: &str, count: usize, page: Page) -> Vec<u64> {
    history
        .page(&key(owner), &key(peer), count, page)
        .iter()
        .map(|entry| entry.id.get())
        .collect()
}

#[test]
fn issue_16_lines_kept_out_of_order_page_in_id_order_both_ways() {
    let history = in_memory(10_000);
    // Two senders' turns: the lines of the two directions may come in any order.
    for n in [2, 1, 4, 3, 6, 5, 8, 7, 10, 9] {
        keep(&history, "alice", "bob", n);
    }
    // A line kept twice (never expected) is kept once.
    keep(&history, "alice", "bob", 5);
    assert_eq!(
        ids(&history, "alice", "bob", 50, Page::Latest),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(ids(&history, "alice", "bob", 3, Page::Latest), [8, 9, 10]);
    assert_eq!(
        ids(&history, "alice", "bob", 3, Page::Before(id(8))),
        [5, 6, 7]
    );
    assert_eq!(ids(&history, "alice", "bob", 3, Page::Before(id(2))), [1]);
    assert_eq!(
        ids(&history, "alice", "bob", 3, Page::After(id(8))),
        [9, 10]
    );
    assert_eq!(ids(&history, "alice", "bob", 2, Page::After(id(1))), [2, 3]);
    assert!(ids(&history, "alice", "bob", 3, Page::After(id(10))).is_empty());
    let line = &history.page(&key("alice"), &key("bob"), 1, Page::Latest)[0].line;
    assert_eq!(&**line, "MSG bob m10\n");
    // Only the owner's lines with that peer: not the other way round, not another pair.
    assert!(ids(&history, "bob", "alice", 50, Page::Latest).is_empty());
    assert!(ids(&history, "alice", "carol", 50, Page::Latest).is_empty());
}

#[test]
fn issue_16_a_pair_keeps_its_newest_lines_up_to_the_memory_bound() {
    let small = in_memory(5);
    let big = in_memory(10_000);
    for n in 1..=300 {
        keep(&small, "alice", "bob", n);
        keep(&big, "alice", "bob", n);
    }
    assert_eq!(
        ids(&small, "alice", "bob", 1_000, Page::Latest),
        (296..=300).collect::<Vec<_>>()
    );
    let kept = ids(&big, "alice", "bob", 1_000, Page::Latest);
    assert_eq!(
        kept,
        (173..=300).collect::<Vec<_>>(),
        "{MEMORY_LINES} in memory"
    );
    // A late line older than every line kept is past the bound too.
    keep(&small, "alice", "bob", 100);
    assert_eq!(ids(&small, "alice", "bob", 10, Page::Latest)[0], 296);
}

#[test]
fn issue_16_an_account_keeps_its_most_recently_used_peers() {
    let history = in_memory(10_000);
    for peer in 0..MEMORY_PEERS as u64 {
        keep(&history, "alice", &format!("p{peer}"), peer + 1);
    }
    // Read, p0 is used most recently; p1 is now the least.
    assert_eq!(ids(&history, "alice", "p0", 10, Page::Latest), [1]);
    keep(&history, "alice", "newcomer", 1_000);
    assert_eq!(ids(&history, "alice", "p0", 10, Page::Latest), [1]);
    assert!(ids(&history, "alice", "p1", 10, Page::Latest).is_empty());
    assert_eq!(ids(&history, "alice", "p2", 10, Page::Latest), [3]);
    assert_eq!(
        ids(&history, "alice", "newcomer", 10, Page::Latest),
        [1_000]
    );
}

#[test]
fn issue_16_a_forgotten_account_has_nothing_and_history_off_keeps_nothing() {
    let history = in_memory(10_000);
    keep(&history, "alice", "bob", 1);
    keep(&history, "bob", "alice", 1);
    history.forget(&key("ALICE"));
    assert!(ids(&history, "alice", "bob", 10, Page::Latest).is_empty());
    assert_eq!(ids(&history, "bob", "alice", 10, Page::Latest), [1]);

    let off = in_memory(0);
    keep(&off, "alice", "bob", 1);
    assert!(ids(&off, "alice", "bob", 10, Page::Latest).is_empty());
}

#[test]
fn issue_16_lines_older_than_history_days_are_left_out() {
    let history = DirectHistory::new(10_000, 1, &Store::default());
    let line: Line = Arc::from("MSG bob old\n");
    history.keep(
        &key("alice"),
        &key("bob"),
        id(1),
        UtcMillis::saturating(5),
        &line,
    );
    keep(&history, "alice", "bob", 2);
    assert_eq!(ids(&history, "alice", "bob", 10, Page::Latest), [2]);
}
