//! The check of the soak's resuming clients ([`ResumeCheck`]): what one client that leaves
//! the lobby and comes back hears, stitched from its live lines and the `HISTORY * AFTER`
//! pages it asks for after each reconnect, must hold every numbered line of every
//! well-behaved sender once and in order, with ids strictly growing, and the first live
//! line after the history must follow its last `HIST` line with no gap and no repeat.
//! [`ResumeCounts`] has the figures: reconnects, lines recovered from history, and lines
//! missing, duplicated, out of order, altered, or beyond history (older than the oldest
//! line the server still keeps, which is not counted as lost).
//!
//! In scope: the stitching and the counts. Pure: the lines come in read and decoded.
//! Out of scope: the connection and the reading (`resumer`), the verdict (`outcome`).
//!
//! How a resume is stitched: the client asks `AFTER` the id just below the last line it
//! heard, so the answer starts with that very line while history still reaches back to it,
//! and each next page `AFTER` the id just below the last line of the page before, so it
//! starts with that line again. While every page starts so, every gap is a lost line. When
//! one does not (the lobby said more than history keeps while the client was away, or
//! between two pages), each sender's gap there, up to its next line heard, is beyond
//! history: history keeps a suffix of the lobby, so nothing after its oldest line may miss.
//! Live lines that come while the pages are read wait; those at or below the last `HIST`
//! id must be among the `HIST` lines (the same line under the same id), the later ones
//! follow the history.

use std::collections::HashMap;
use std::ops::AddAssign;

use chatd_proto::MessageId;

/// A lobby line as the check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    pub id: MessageId,
    /// The line as a client without capabilities gets it (`ALL <from> <text>`): what a
    /// `HIST` line holds.
    pub line: String,
    /// Line `seq` of well-behaved sender `sender`; `None` for anyone else's line.
    pub numbered: Option<(usize, u32)>,
}

/// What the resuming clients found, summed over clients.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResumeCounts {
    /// Comebacks: a reconnect under the same nick and its `HISTORY` pages.
    pub reconnects: u64,
    /// `HISTORY` requests, pages included.
    pub pages: u64,
    /// Numbered lines that reached the client through history, not live.
    pub recovered: u64,
    /// Numbered lines missed while away that history no longer kept.
    pub beyond_history: u64,
    /// Numbered lines the client never got, live or from history.
    pub missing: u64,
    /// Numbered lines it got more than once.
    pub duplicated: u64,
    /// Lines whose id did not grow past the one before.
    pub out_of_order: u64,
    /// Lines whose history differs from what was delivered live under the same id.
    pub altered: u64,
    pub first_problem: Option<String>,
}

impl ResumeCounts {
    pub fn errors(&self) -> u64 {
        self.missing + self.duplicated + self.out_of_order + self.altered
    }

    fn problem(&mut self, text: impl FnOnce() -> String) {
        if self.first_problem.is_none() {
            self.first_problem = Some(text());
        }
    }
}

impl AddAssign for ResumeCounts {
    fn add_assign(&mut self, other: ResumeCounts) {
        self.reconnects += other.reconnects;
        self.pages += other.pages;
        self.recovered += other.recovered;
        self.beyond_history += other.beyond_history;
        self.missing += other.missing;
        self.duplicated += other.duplicated;
        self.out_of_order += other.out_of_order;
        self.altered += other.altered;
        if self.first_problem.is_none() {
            self.first_problem = other.first_problem;
        }
    }
}

/// The id to ask `AFTER` so that the page starts with `line`.
fn just_below(line: Option<&Heard>) -> MessageId {
    line.and_then(|heard| MessageId::new(heard.id.get() - 1))
        .or(MessageId::new(1))
        .expect("1 is an id")
}

/// One resuming client's check over its whole run, all its connections together.
#[derive(Debug)]
pub struct ResumeCheck {
    /// The next line expected of each well-behaved sender.
    next: Vec<u32>,
    /// Per sender: its gap up to its next line is beyond history (set by a resume whose
    /// history no longer reached back to the last line heard).
    beyond: Vec<bool>,
    /// The last line heard, live or from history: the id order, and where to resume.
    last: Option<Heard>,
    resume: Option<Resume>,
    counts: ResumeCounts,
}

/// A resume under way.
#[derive(Debug)]
struct Resume {
    /// The line the page being read must start with: the last line heard before leaving,
    /// then the last line of the page before.
    overlap: Option<Heard>,
    /// No line of the page being read has come yet.
    page_start: bool,
    /// New lines in the page being read (its overlap line left out).
    page_new: usize,
    history: Vec<Heard>,
    /// Positions in `history` before which history no longer reached back: lines may be
    /// missing there that are beyond history.
    holes: Vec<usize>,
    /// Live lines heard while the pages came, held back until the history is in.
    live: Vec<Heard>,
}

impl ResumeCheck {
    /// A check of the lines of `senders` well-behaved senders, from their first line on.
    pub fn new(senders: usize) -> ResumeCheck {
        ResumeCheck {
            next: vec![0; senders],
            beyond: vec![false; senders],
            last: None,
            resume: None,
            counts: ResumeCounts::default(),
        }
    }

    /// The id of the last line heard: `None` while the client has heard nothing, so a
    /// resume would have nothing to start from.
    pub fn last_id(&self) -> Option<MessageId> {
        self.last.as_ref().map(|heard| heard.id)
    }

    /// A live lobby line.
    pub fn live(&mut self, heard: Heard) {
        match &mut self.resume {
            Some(resume) => resume.live.push(heard),
            None => self.take(heard, false),
        }
    }

    /// The client is back: returns the id to ask `HISTORY * AFTER` first, the one just
    /// below the last line heard, so the answer starts with that line if history still
    /// has it.
    pub fn start_resume(&mut self) -> MessageId {
        self.counts.reconnects += 1;
        let overlap = self.last.clone();
        let after = just_below(overlap.as_ref());
        self.resume = Some(Resume {
            overlap,
            page_start: true,
            page_new: 0,
            history: Vec::new(),
            holes: Vec::new(),
            live: Vec::new(),
        });
        after
    }

    /// A `HIST *` line of the resume under way.
    pub fn history(&mut self, heard: Heard) {
        let Some(resume) = &mut self.resume else {
            self.counts.out_of_order += 1;
            self.counts
                .problem(|| format!("HIST {} when no history was asked for", heard.id));
            return;
        };
        if resume.page_start {
            resume.page_start = false;
            match &resume.overlap {
                Some(overlap) if overlap.id == heard.id => {
                    if overlap.line != heard.line {
                        self.counts.altered += 1;
                        let before = overlap.line.clone();
                        self.counts.problem(|| {
                            format!("HIST {} is {:?}, before {before:?}", heard.id, heard.line)
                        });
                    }
                    return;
                }
                _ => resume.holes.push(resume.history.len()),
            }
        }
        resume.page_new += 1;
        resume.history.push(heard);
    }

    /// After a page: the id to ask `AFTER` next, or `None` when the history is in (a page
    /// with nothing new, or one that reached the first live line heard since the client
    /// came back).
    pub fn next_page(&mut self) -> Option<MessageId> {
        self.counts.pages += 1;
        let resume = self.resume.as_mut()?;
        let new = std::mem::take(&mut resume.page_new);
        if resume.page_start {
            // Not even the line the page was to start with: history holds nothing from
            // there on.
            resume.holes.push(resume.history.len());
        }
        let last = resume.history.last()?;
        if new == 0 || resume.live.first().is_some_and(|first| first.id <= last.id) {
            return None;
        }
        resume.overlap = Some(last.clone());
        resume.page_start = true;
        Some(just_below(Some(last)))
    }

    /// The history is in: stitches it and the live lines held back meanwhile.
    pub fn end_resume(&mut self) {
        let Some(resume) = self.resume.take() else {
            return;
        };
        let end = resume.history.last().map(|heard| heard.id);
        let kept: HashMap<MessageId, &str> = resume
            .history
            .iter()
            .map(|heard| (heard.id, heard.line.as_str()))
            .collect();
        let mut after_history = Vec::new();
        for heard in resume.live {
            if end.is_none_or(|end| heard.id > end) {
                after_history.push(heard);
                continue;
            }
            match kept.get(&heard.id) {
                Some(line) if *line == heard.line => {}
                Some(line) => {
                    self.counts.altered += 1;
                    self.counts.problem(|| {
                        format!(
                            "HIST {} is {line:?}, delivered as {:?}",
                            heard.id, heard.line
                        )
                    });
                }
                None => {
                    self.counts.missing += 1;
                    self.counts.problem(|| {
                        format!(
                            "{} ({:?}) came live but not in history",
                            heard.id, heard.line
                        )
                    });
                }
            }
        }
        drop(kept);
        let kept_lines = resume.history.len();
        for (at, heard) in resume.history.into_iter().enumerate() {
            if resume.holes.contains(&at) {
                self.beyond.fill(true);
            }
            self.take(heard, true);
        }
        if resume.holes.last().is_some_and(|&at| at >= kept_lines) {
            self.beyond.fill(true);
        }
        for heard in after_history {
            self.take(heard, false);
        }
    }

    /// The counts, given how many lines each well-behaved sender sent in all: lines never
    /// heard are missing (or beyond history, if the last resume left them there).
    pub fn finish(mut self, sent: impl Fn(usize) -> u32) -> ResumeCounts {
        self.end_resume();
        for (sender, next) in self.next.iter().enumerate() {
            let sent = sent(sender);
            if *next < sent {
                let gap = u64::from(sent - next);
                if self.beyond[sender] {
                    self.counts.beyond_history += gap;
                } else {
                    self.counts.missing += gap;
                    let next = *next;
                    self.counts.problem(|| {
                        format!("lines {next} to {} of sender {sender} never came", sent - 1)
                    });
                }
            }
        }
        self.counts
    }

    /// The next line of the stitched stream.
    fn take(&mut self, heard: Heard, from_history: bool) {
        if let Some(last) = &self.last {
            if heard.id <= last.id {
                self.counts.out_of_order += 1;
                let last = last.id;
                self.counts
                    .problem(|| format!("{} ({:?}) after {last}", heard.id, heard.line));
            }
        }
        if let Some((sender, seq)) = heard.numbered {
            self.numbered(&heard, sender, seq, from_history);
        }
        if self.last_id().is_none_or(|last| last < heard.id) {
            self.last = Some(heard);
        }
    }

    fn numbered(&mut self, heard: &Heard, sender: usize, seq: u32, from_history: bool) {
        let Some(next) = self.next.get_mut(sender) else {
            return;
        };
        let expected = *next;
        if seq < expected {
            self.counts.duplicated += 1;
            self.counts
                .problem(|| format!("{} ({:?}) came again", heard.id, heard.line));
            return;
        }
        *next = seq + 1;
        if seq > expected {
            let gap = u64::from(seq - expected);
            if self.beyond[sender] {
                self.counts.beyond_history += gap;
            } else {
                self.counts.missing += gap;
                self.counts.problem(|| {
                    format!(
                        "lines {expected} to {} of sender {sender} missing before {}",
                        seq - 1,
                        heard.id
                    )
                });
            }
        }
        self.beyond[sender] = false;
        if from_history {
            self.counts.recovered += 1;
        }
    }
}

#[cfg(test)]
mod tests;
