//! Tests of the resume check: a clean resume, and each fault it must count (a gap in the
//! history, a gap where the live lines join it, a duplicate, ids out of order, a line
//! altered, a line live but not in history), and a gap beyond history that is not a loss.

use super::*;

/// Lobby line `id`: line `seq` of well-behaved sender `sender`.
fn line(id: u64, sender: usize, seq: u32) -> Heard {
    Heard {
        id: MessageId::new(id).unwrap(),
        line: format!("ALL n{sender} line {seq}"),
        numbered: Some((sender, seq)),
    }
}

/// A chaos client's lobby line, which the check only orders.
fn chaos(id: u64) -> Heard {
    Heard {
        id: MessageId::new(id).unwrap(),
        line: format!("ALL c garbage {id}"),
        numbered: None,
    }
}

fn id(value: u64) -> MessageId {
    MessageId::new(value).unwrap()
}

/// Sender 0 says lines 0 and 1 live, the client leaves after id 101; back, it asks from
/// 100 and gets 101 again as the history's first line.
fn left_after_two() -> ResumeCheck {
    let mut check = ResumeCheck::new(2);
    check.live(line(100, 0, 0));
    check.live(line(101, 0, 1));
    assert_eq!(check.last_id(), Some(id(101)));
    assert_eq!(check.start_resume(), id(100));
    check.history(line(101, 0, 1));
    check
}

#[test]
fn a_clean_resume_recovers_every_line_missed_once() {
    let mut check = left_after_two();
    check.history(line(102, 1, 0));
    check.history(chaos(103));
    check.history(line(104, 0, 2));
    // A live line that came while the pages were read, and that the history holds too.
    check.live(line(104, 0, 2));
    check.live(line(105, 1, 1));
    assert_eq!(
        check.next_page(),
        None,
        "the history reached the live lines"
    );
    check.end_resume();
    check.live(line(106, 0, 3));
    let counts = check.finish(|sender| [4, 2][sender]);
    assert_eq!(counts.errors(), 0, "{counts:?}");
    assert_eq!((counts.reconnects, counts.pages), (1, 1));
    assert_eq!((counts.recovered, counts.beyond_history), (2, 0));
}

#[test]
fn pages_go_on_until_one_has_nothing_new_or_reaches_the_live_lines() {
    let mut check = left_after_two();
    check.history(line(102, 1, 0));
    // Each next page is asked from just below the last line, and starts with it again.
    assert_eq!(check.next_page(), Some(id(101)));
    check.live(line(104, 0, 2));
    check.history(line(102, 1, 0));
    check.history(line(103, 1, 1));
    assert_eq!(check.next_page(), Some(id(102)));
    check.history(line(103, 1, 1));
    check.history(line(104, 0, 2));
    assert_eq!(check.next_page(), None);
    check.end_resume();
    let counts = check.finish(|sender| [3, 2][sender]);
    assert_eq!(counts.errors(), 0, "{counts:?}");
    assert_eq!((counts.pages, counts.recovered), (3, 3));
    assert_eq!(counts.beyond_history, 0);

    // Nothing said while away: the one line is the last one heard.
    let mut quiet = left_after_two();
    assert_eq!(quiet.next_page(), None);
    quiet.end_resume();
    assert_eq!(quiet.finish(|sender| [2, 0][sender]).errors(), 0);
}

#[test]
fn lines_dropped_from_history_between_two_pages_are_beyond_it() {
    let mut check = left_after_two();
    check.history(line(102, 0, 2));
    assert_eq!(check.next_page(), Some(id(101)));
    // The next page does not start with 102: the ring moved on meanwhile, and lines 3 and
    // 4 of sender 0 went with it.
    check.history(line(110, 0, 5));
    check.history(line(111, 1, 0));
    assert_eq!(check.next_page(), Some(id(110)));
    check.history(line(111, 1, 0));
    assert_eq!(check.next_page(), None);
    check.end_resume();
    let counts = check.finish(|sender| [6, 1][sender]);
    assert_eq!(counts.errors(), 0, "{counts:?}");
    assert_eq!((counts.beyond_history, counts.recovered), (2, 3));
}

#[test]
fn a_gap_in_the_history_is_missing() {
    let mut check = left_after_two();
    check.history(line(102, 1, 0));
    // Line 2 of sender 0 is not there.
    check.history(line(104, 0, 3));
    check.end_resume();
    let counts = check.finish(|sender| [4, 1][sender]);
    assert_eq!(
        (counts.missing, counts.beyond_history),
        (1, 0),
        "{counts:?}"
    );
    assert!(
        counts
            .first_problem
            .unwrap()
            .contains("lines 2 to 2 of sender 0")
    );
}

#[test]
fn a_gap_where_the_live_lines_join_the_history_is_missing() {
    let mut check = left_after_two();
    check.history(line(102, 0, 2));
    assert_eq!(check.next_page(), Some(id(101)));
    check.history(line(102, 0, 2));
    assert_eq!(check.next_page(), None);
    check.end_resume();
    // Line 3 was neither in history nor live.
    check.live(line(104, 0, 4));
    let counts = check.finish(|sender| [5, 0][sender]);
    assert_eq!(counts.missing, 1, "{counts:?}");
}

#[test]
fn a_line_twice_is_duplicated() {
    let mut check = left_after_two();
    check.history(line(102, 0, 2));
    check.end_resume();
    // The same line again, live, after the history: a repeat at the join.
    check.live(line(103, 0, 2));
    let counts = check.finish(|sender| [3, 0][sender]);
    assert_eq!(counts.duplicated, 1, "{counts:?}");
    assert_eq!(counts.missing, 0, "{counts:?}");
}

#[test]
fn ids_that_do_not_grow_are_out_of_order() {
    let mut check = left_after_two();
    check.history(chaos(104));
    check.history(line(103, 1, 0));
    check.end_resume();
    let counts = check.finish(|sender| [2, 1][sender]);
    assert_eq!(counts.out_of_order, 1, "{counts:?}");
}

#[test]
fn a_history_that_differs_from_the_live_line_is_altered() {
    let mut check = ResumeCheck::new(1);
    check.live(line(100, 0, 0));
    check.start_resume();
    let mut changed = line(100, 0, 0);
    changed.line.push('!');
    check.history(changed);
    check.end_resume();
    assert_eq!(check.finish(|_| 1).altered, 1);
}

#[test]
fn a_live_line_the_history_lacks_is_missing_from_it() {
    let mut check = left_after_two();
    check.history(line(102, 0, 2));
    check.history(line(104, 0, 3));
    // 103 came live while the pages came, below the history's last id, but not in it.
    check.live(chaos(103));
    check.end_resume();
    let counts = check.finish(|sender| [4, 0][sender]);
    assert_eq!(counts.missing, 1, "{counts:?}");
    assert!(counts.first_problem.unwrap().contains("not in history"));
}

#[test]
fn lines_older_than_the_history_are_beyond_it_not_lost() {
    let mut check = ResumeCheck::new(2);
    check.live(line(100, 0, 0));
    check.start_resume();
    // History starts after 100: it no longer reaches back; lines 1 to 4 of sender 0 and
    // 0 of sender 1 were dropped from it.
    check.history(line(110, 0, 5));
    check.history(line(111, 1, 1));
    check.end_resume();
    check.live(line(112, 0, 6));
    // Later gaps are losses again.
    check.live(line(114, 0, 8));
    let counts = check.finish(|sender| [9, 2][sender]);
    assert_eq!(counts.beyond_history, 5, "{counts:?}");
    assert_eq!(counts.missing, 1, "{counts:?}");
    assert_eq!(counts.recovered, 2);
}

#[test]
fn lines_never_heard_at_the_end_are_missing() {
    let mut check = ResumeCheck::new(2);
    check.live(line(100, 0, 0));
    let counts = check.finish(|sender| [3, 1][sender]);
    assert_eq!(counts.missing, 3);
}
