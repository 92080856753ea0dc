//! The progress display of a long run: an indicatif bar on stderr, only on a terminal, and
//! only once a run has gone on for a few seconds (short runs print nothing).
//!
//! In scope: when to show the bar and what it says. Out of scope: what counts as progress
//! (the callers pass lines delivered so far). No ticker thread: the coordinator updates the
//! bar as it waits, so no thread outside the generator's accounting is started.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Runs shorter than this show no bar.
const SHOW_AFTER: Duration = Duration::from_secs(3);

pub struct Progress {
    title: String,
    total: Option<u64>,
    started: Instant,
    enabled: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A display for `title`, counting towards `total` lines if known.
    pub fn new(title: &str, total: Option<u64>) -> Progress {
        Progress {
            title: title.to_owned(),
            total,
            started: Instant::now(),
            enabled: std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    /// `done` lines so far.
    pub fn update(&mut self, done: u64) {
        if !self.enabled {
            return;
        }
        if self.bar.is_none() && self.started.elapsed() >= SHOW_AFTER {
            self.bar = Some(self.make_bar());
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    fn make_bar(&self) -> ProgressBar {
        let (bar, template) = match self.total {
            Some(total) => (
                ProgressBar::new(total),
                "{msg} [{elapsed}] {wide_bar} {human_pos}/{human_len} lines",
            ),
            None => (
                ProgressBar::no_length(),
                "{msg} [{elapsed}] {human_pos} lines",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        // The bar appears late; its clock counts from the start of the run.
        let bar = bar.with_elapsed(self.started.elapsed());
        bar.set_message(self.title.clone());
        bar
    }

    /// Removes the bar, leaving the terminal as it was.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
