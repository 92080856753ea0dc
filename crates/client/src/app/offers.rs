//! The files offered to us (issue 17): every `FILE` line, live or from history, gets a
//! number as it arrives, which `/save <n>` names. [`Offers`] is shared by the full-screen
//! client and the line mode.
//!
//! One number per file, across all tabs, counted from 1 for the whole run (so `/save 3`
//! means the same file in every tab and after a reconnect): a file seen again (live, then in
//! a room's history) keeps its number, known by its download URL, which the server draws at
//! random for each file. The oldest are forgotten past [`OFFERS_KEPT`], as tabs forget their
//! oldest lines. Out of scope: showing them (`files`), downloading (`transfer`). Pure.

use std::collections::{HashMap, VecDeque};

use chatd_proto::Nick;

/// Files remembered for `/save`; older ones are forgotten, so memory stays bounded.
pub const OFFERS_KEPT: usize = 10_000;

/// A file someone sent, as its `FILE` line said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    pub from: Nick,
    pub size: u64,
    pub url: String,
    /// The name as the server sent it: never used as a path (`file_names::safe_name`).
    pub name: String,
}

/// The numbered files.
#[derive(Debug, Clone, Default)]
pub struct Offers {
    /// The number of `list[0]`, less one (0 before any file).
    dropped: u64,
    list: VecDeque<Offered>,
    /// Each remembered file's number, by URL.
    numbers: HashMap<String, u64>,
}

impl Offers {
    /// The number of the file at `url`: its own if it was seen before, else the next one.
    pub fn offer(&mut self, offered: Offered) -> u64 {
        if let Some(&number) = self.numbers.get(&offered.url) {
            return number;
        }
        if self.list.len() == OFFERS_KEPT {
            if let Some(old) = self.list.pop_front() {
                self.numbers.remove(&old.url);
            }
            self.dropped += 1;
        }
        let number = self.dropped + self.list.len() as u64 + 1;
        self.numbers.insert(offered.url.clone(), number);
        self.list.push_back(offered);
        number
    }

    /// File `number`, if it is remembered.
    pub fn get(&self, number: u64) -> Option<&Offered> {
        let index = number.checked_sub(self.dropped + 1)?;
        self.list.get(usize::try_from(index).ok()?)
    }

    /// The newest file's number (`None` before any).
    pub fn last(&self) -> Option<u64> {
        (!self.list.is_empty()).then(|| self.dropped + self.list.len() as u64)
    }

    /// Whether file `number` was offered but is forgotten since.
    pub fn forgotten(&self, number: u64) -> bool {
        number >= 1 && number <= self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(url: &str) -> Offered {
        Offered {
            from: Nick::parse("alice").unwrap(),
            size: 3,
            url: url.to_owned(),
            name: "a.txt".to_owned(),
        }
    }

    #[test]
    fn issue_17_files_are_numbered_from_one_and_a_file_seen_again_keeps_its_number() {
        let mut offers = Offers::default();
        assert_eq!(offers.last(), None);
        assert_eq!(offers.get(1), None);
        assert_eq!(offers.offer(offered("http://h/files/a/a.txt")), 1);
        assert_eq!(offers.offer(offered("http://h/files/b/a.txt")), 2);
        assert_eq!(offers.offer(offered("http://h/files/a/a.txt")), 1);
        assert_eq!(offers.last(), Some(2));
        assert_eq!(offers.get(2).unwrap().url, "http://h/files/b/a.txt");
        assert_eq!(offers.get(0), None);
        assert_eq!(offers.get(3), None);
    }

    #[test]
    fn issue_17_the_oldest_files_are_forgotten_past_the_limit() {
        let mut offers = Offers::default();
        for n in 0..OFFERS_KEPT + 2 {
            offers.offer(offered(&format!("http://h/files/{n}/a.txt")));
        }
        assert!(offers.forgotten(1) && offers.forgotten(2) && !offers.forgotten(3));
        assert_eq!(offers.get(2), None);
        assert_eq!(offers.get(3).unwrap().url, "http://h/files/2/a.txt");
        let last = (OFFERS_KEPT + 2) as u64;
        assert_eq!(offers.last(), Some(last));
        assert_eq!(
            offers.get(last).unwrap().url,
            format!("http://h/files/{}/a.txt", OFFERS_KEPT + 1)
        );
        // A forgotten file seen again is a new one.
        assert_eq!(offers.offer(offered("http://h/files/0/a.txt")), last + 1);
    }
}
