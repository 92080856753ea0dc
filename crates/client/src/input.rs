//! The input line: cursor editing, history and Tab completion.
//!
//! In scope: the text being typed, where the cursor is, the lines sent before, and cycling
//! through completions. Out of scope: which key does what (`app`), what the candidates are
//! (`app` passes them in) and drawing (`ui`). Pure.

use std::collections::VecDeque;

/// Lines kept for Up/Down; older ones are dropped.
pub const HISTORY_LEN: usize = 500;

/// The input line and its history.
#[derive(Debug, Clone, Default)]
pub struct LineEditor {
    chars: Vec<char>,
    /// Position of the cursor in `chars` (0 ..= len).
    cursor: usize,
    /// Sent lines, oldest first.
    history: VecDeque<String>,
    /// While browsing with Up/Down: the index in `history` shown now.
    browsing: Option<usize>,
    /// What was typed before browsing started, given back when Down goes past the newest line.
    draft: Vec<char>,
    /// The last Tab's state, so that the next Tab cycles; any other edit ends it.
    completion: Option<Completion>,
}

#[derive(Debug, Clone)]
struct Completion {
    /// Where the completed word starts.
    start: usize,
    candidates: Vec<String>,
    /// The candidate inserted now.
    index: usize,
    /// Characters inserted for it (the candidate and its suffix).
    inserted: usize,
}

impl LineEditor {
    pub fn new() -> LineEditor {
        LineEditor::default()
    }

    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The cursor's position in characters.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The text before the cursor: drawn, its width is the cursor's column (`ui` measures
    /// it as drawn, control characters replaced).
    pub fn before_cursor(&self) -> String {
        self.chars[..self.cursor].iter().collect()
    }

    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(String::as_str)
    }

    fn edited(&mut self) {
        self.completion = None;
        self.browsing = None;
    }

    pub fn insert(&mut self, c: char) {
        self.edited();
        self.chars.insert(self.cursor, c);
        self.cursor += 1;
    }

    pub fn insert_str(&mut self, text: &str) {
        for c in text.chars().filter(|c| !c.is_control()) {
            self.insert(c);
        }
    }

    pub fn backspace(&mut self) {
        self.edited();
        if self.cursor > 0 {
            self.cursor -= 1;
            self.chars.remove(self.cursor);
        }
    }

    pub fn delete(&mut self) {
        self.edited();
        if self.cursor < self.chars.len() {
            self.chars.remove(self.cursor);
        }
    }

    pub fn left(&mut self) {
        self.completion = None;
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.completion = None;
        self.cursor = (self.cursor + 1).min(self.chars.len());
    }

    pub fn home(&mut self) {
        self.completion = None;
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.completion = None;
        self.cursor = self.chars.len();
    }

    /// Where the word before `at` starts, skipping the spaces right before `at`.
    fn word_start(&self, at: usize) -> usize {
        let mut i = at;
        while i > 0 && self.chars[i - 1] == ' ' {
            i -= 1;
        }
        while i > 0 && self.chars[i - 1] != ' ' {
            i -= 1;
        }
        i
    }

    pub fn word_left(&mut self) {
        self.completion = None;
        self.cursor = self.word_start(self.cursor);
    }

    pub fn word_right(&mut self) {
        self.completion = None;
        let len = self.chars.len();
        let mut i = self.cursor;
        while i < len && self.chars[i] == ' ' {
            i += 1;
        }
        while i < len && self.chars[i] != ' ' {
            i += 1;
        }
        self.cursor = i;
    }

    /// Ctrl-W: deletes the word before the cursor and the spaces after it.
    pub fn delete_word_back(&mut self) {
        self.edited();
        let start = self.word_start(self.cursor);
        self.chars.drain(start..self.cursor);
        self.cursor = start;
    }

    /// Ctrl-U: deletes everything before the cursor.
    pub fn kill_to_start(&mut self) {
        self.edited();
        self.chars.drain(..self.cursor);
        self.cursor = 0;
    }

    /// Ctrl-K: deletes everything from the cursor on.
    pub fn kill_to_end(&mut self) {
        self.edited();
        self.chars.truncate(self.cursor);
    }

    fn show(&mut self, chars: Vec<char>) {
        self.chars = chars;
        self.cursor = self.chars.len();
        self.completion = None;
    }

    /// Up: the previous history line (the draft is kept for Down).
    pub fn history_prev(&mut self) {
        let index = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.draft = self.chars.clone();
                self.history.len() - 1
            }
            Some(0) => return,
            Some(i) => i - 1,
        };
        self.browsing = Some(index);
        self.show(self.history[index].chars().collect());
    }

    /// Down: the next history line, and after the newest the draft again.
    pub fn history_next(&mut self) {
        let Some(index) = self.browsing else { return };
        if index + 1 < self.history.len() {
            self.browsing = Some(index + 1);
            self.show(self.history[index + 1].chars().collect());
        } else {
            self.browsing = None;
            let draft = std::mem::take(&mut self.draft);
            self.show(draft);
        }
    }

    /// Enter: empties the line and returns it; a non-blank line different from the last one
    /// goes into the history.
    pub fn take(&mut self) -> String {
        let line = self.take_unrecorded();
        self.record(line.clone());
        line
    }

    /// Enter without the history: empties the line and returns it, for the caller to
    /// [`record`](LineEditor::record) what may be kept of it (a password may not).
    pub fn take_unrecorded(&mut self) -> String {
        let line: String = self.chars.drain(..).collect();
        self.cursor = 0;
        self.browsing = None;
        self.completion = None;
        self.draft.clear();
        line
    }

    /// Adds `line` to the history for Up, unless it is blank or the same as the last one.
    pub fn record(&mut self, line: String) {
        if !line.trim().is_empty() && self.history.back() != Some(&line) {
            if self.history.len() == HISTORY_LEN {
                self.history.pop_front();
            }
            self.history.push_back(line);
        }
    }

    /// The word the cursor is at the end of, and where it starts.
    pub fn word_before_cursor(&self) -> (usize, String) {
        let mut start = self.cursor;
        while start > 0 && self.chars[start - 1] != ' ' {
            start -= 1;
        }
        (start, self.chars[start..self.cursor].iter().collect())
    }

    /// Tab: completes the word before the cursor with the first of `candidates` that starts
    /// with it (ignoring ASCII case); Tab again, with nothing typed between, cycles. A nick
    /// completed at the start of the line gets `": "` after it, anything else a space.
    /// Returns whether anything was completed.
    pub fn complete(&mut self, candidates: &[String]) -> bool {
        if let Some(mut completion) = self.completion.take() {
            let end = completion.start + completion.inserted;
            self.chars.drain(completion.start..end);
            completion.index = (completion.index + 1) % completion.candidates.len();
            self.cursor = completion.start;
            self.insert_completion(completion);
            return true;
        }
        let (start, word) = self.word_before_cursor();
        if word.is_empty() {
            return false;
        }
        let word = word.to_ascii_lowercase();
        let mut matching: Vec<String> = candidates
            .iter()
            .filter(|c| c.to_ascii_lowercase().starts_with(&word))
            .cloned()
            .collect();
        matching.dedup();
        if matching.is_empty() {
            return false;
        }
        self.chars.drain(start..self.cursor);
        self.cursor = start;
        self.insert_completion(Completion {
            start,
            candidates: matching,
            index: 0,
            inserted: 0,
        });
        true
    }

    fn insert_completion(&mut self, mut completion: Completion) {
        let candidate = &completion.candidates[completion.index];
        let suffix = if completion.start == 0 && !candidate.starts_with('/') {
            ": "
        } else {
            " "
        };
        let text: Vec<char> = candidate.chars().chain(suffix.chars()).collect();
        completion.inserted = text.len();
        let at = completion.start;
        self.chars.splice(at..at, text);
        self.cursor = at + completion.inserted;
        self.browsing = None;
        self.completion = Some(completion);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> LineEditor {
        let mut editor = LineEditor::new();
        editor.insert_str(text);
        editor
    }

    #[test]
    fn typing_and_moving_the_cursor() {
        let mut e = typed("helo");
        e.left();
        e.insert('l');
        assert_eq!((e.text().as_str(), e.cursor()), ("hello", 4));
        e.home();
        e.insert('>');
        e.end();
        e.insert('!');
        assert_eq!(e.text(), ">hello!");
        e.home();
        e.left();
        assert_eq!(e.cursor(), 0);
        e.end();
        e.right();
        assert_eq!(e.cursor(), 7);
    }

    #[test]
    fn backspace_and_delete() {
        let mut e = typed("abc");
        e.backspace();
        assert_eq!(e.text(), "ab");
        e.home();
        e.delete();
        assert_eq!(e.text(), "b");
        e.backspace();
        assert_eq!((e.text().as_str(), e.cursor()), ("b", 0));
        e.end();
        e.delete();
        assert_eq!(e.text(), "b");
    }

    #[test]
    fn word_movement_and_deletion() {
        let mut e = typed("one two  three");
        e.delete_word_back();
        assert_eq!(e.text(), "one two  ");
        e.delete_word_back();
        assert_eq!(e.text(), "one ");
        let mut e = typed("one two three");
        e.word_left();
        assert_eq!(e.cursor(), 8);
        e.word_left();
        assert_eq!(e.cursor(), 4);
        e.delete_word_back();
        assert_eq!(e.text(), "two three");
        e.word_right();
        assert_eq!(e.cursor(), 3);
        e.word_right();
        assert_eq!(e.cursor(), 9);
    }

    #[test]
    fn kill_to_start_and_end() {
        let mut e = typed("hello world");
        e.word_left();
        e.kill_to_end();
        assert_eq!(e.text(), "hello ");
        e.left();
        e.kill_to_start();
        assert_eq!((e.text().as_str(), e.cursor()), (" ", 0));
    }

    #[test]
    fn the_text_before_the_cursor_is_counted_in_characters() {
        let mut e = typed("日本x");
        e.left();
        assert_eq!(e.before_cursor(), "日本");
    }

    #[test]
    fn history_goes_back_and_returns_to_the_draft() {
        let mut e = LineEditor::new();
        for line in ["first", "second", "second", "  "] {
            e.insert_str(line);
            assert_eq!(e.take(), line);
        }
        // Repeats and blank lines are not kept.
        assert_eq!(e.history().collect::<Vec<_>>(), ["first", "second"]);
        e.insert_str("draft");
        e.history_prev();
        assert_eq!(e.text(), "second");
        e.history_prev();
        assert_eq!(e.text(), "first");
        e.history_prev();
        assert_eq!(e.text(), "first");
        e.history_next();
        assert_eq!(e.text(), "second");
        e.history_next();
        assert_eq!(e.text(), "draft");
        e.history_next();
        assert_eq!(e.text(), "draft");
    }

    #[test]
    fn an_edited_history_line_is_sent_as_edited() {
        let mut e = LineEditor::new();
        e.insert_str("hello");
        e.take();
        e.history_prev();
        e.insert('!');
        assert_eq!(e.take(), "hello!");
        assert_eq!(e.history().count(), 2);
    }

    #[test]
    fn history_is_bounded() {
        let mut e = LineEditor::new();
        for n in 0..HISTORY_LEN + 10 {
            e.insert_str(&n.to_string());
            e.take();
        }
        assert_eq!(e.history().count(), HISTORY_LEN);
        assert_eq!(e.history().next(), Some("10"));
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tab_completes_a_nick_at_the_start_with_a_colon() {
        let mut e = typed("bo");
        assert!(e.complete(&names(&["alice", "Bob", "bobby"])));
        assert_eq!(e.text(), "Bob: ");
        assert!(e.complete(&names(&["alice", "Bob", "bobby"])));
        assert_eq!(e.text(), "bobby: ");
        assert!(e.complete(&names(&["alice", "Bob", "bobby"])));
        assert_eq!(e.text(), "Bob: ");
        e.insert_str("hi");
        assert_eq!(e.text(), "Bob: hi");
    }

    #[test]
    fn tab_completes_inside_the_line_with_a_space() {
        let mut e = typed("hi al and");
        e.word_left();
        e.left();
        assert!(e.complete(&names(&["alice"])));
        assert_eq!(e.text(), "hi alice  and");
        assert_eq!(e.cursor(), 9);
    }

    #[test]
    fn tab_with_no_match_or_no_word_does_nothing() {
        let mut e = typed("zz");
        assert!(!e.complete(&names(&["alice"])));
        assert_eq!(e.text(), "zz");
        let mut e = typed("hi ");
        assert!(!e.complete(&names(&["alice"])));
        assert_eq!(e.text(), "hi ");
    }

    #[test]
    fn tab_completes_commands() {
        let mut e = typed("/jo");
        assert!(e.complete(&names(&["/join", "/quit"])));
        assert_eq!(e.text(), "/join ");
    }
}
