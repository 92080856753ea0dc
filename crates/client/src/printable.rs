//! Text as the client shows it: the one place that decides how a character that could drive
//! the terminal or forge a line is drawn (issue 13).
//!
//! A client must not trust its server (an older one relays anything; a hostile one sends
//! anything) nor the user's own input echoed back, so everything the client puts on the
//! screen or on `--plain`'s output goes through here first. The characters are those the
//! server's text rule refuses (`chatd_proto::text`): the C0 controls but TAB, DEL, the C1
//! controls, U+2028 and U+2029, and the bidirectional overrides, embeddings and isolates.
//! Each is drawn as U+FFFD, the replacement character, as the server itself replaces them in
//! the reasons of `QUIT` and `PART`: one column wide, visible, and never mistaken for text a
//! person typed (as caret notation, `^[`, could be).
//!
//! A TAB is text, and the server relays it. On the screen it becomes spaces up to the next
//! stop ([`TAB_STOP`]), counted from the start of the text (a cell holds no TAB, and a raw one
//! would move the terminal's cursor past what ratatui believes it drew). On `--plain`'s
//! output it stays a TAB: a terminal draws it as spaces, and a script reads the text as sent.
//!
//! Widths (wrapping, the cursor, what fits in a bar) are measured on the text as returned
//! here, never on the text as received.
//!
//! In scope: the two forms, [`for_screen`] and [`for_output`], and [`put_line`], which
//! writes a line in the output's form. Out of scope: where they are applied (`ui` for the
//! screen, `line_mode` and `main` for the output streams).

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

use chatd_proto::text::{is_refused, replace_refused};
use unicode_width::UnicodeWidthChar;

/// Writes `line` and a line break to `out` as [`for_output`] gives it: whatever the server
/// sent or the user typed, no control character reaches the terminal or the script reading,
/// and no CR or U+2028 in a text splits it into a line of its own.
pub fn put_line(out: &mut impl Write, line: impl fmt::Display) -> io::Result<()> {
    writeln!(out, "{}", for_output(&line.to_string()))
}

/// Columns from one tab stop to the next on the screen.
pub const TAB_STOP: usize = 4;

/// `text` as the screen draws it: each refused character replaced by U+FFFD, each TAB by
/// spaces up to the next stop. Borrowed, without allocating, when there is neither.
///
/// The form of a text's start is the start of the text's form (a TAB's spaces depend only on
/// what comes before it), so the width of the form of the text before the cursor is where
/// the cursor is drawn.
pub fn for_screen(text: &str) -> Cow<'_, str> {
    if !text.contains('\t') {
        return replace_refused(text);
    }
    let mut shown = String::with_capacity(text.len() + TAB_STOP);
    let mut column = 0;
    for c in text.chars() {
        if c == '\t' {
            let spaces = TAB_STOP - column % TAB_STOP;
            shown.extend(std::iter::repeat_n(' ', spaces));
            column += spaces;
        } else {
            let c = if is_refused(c) {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            };
            shown.push(c);
            column += c.width().unwrap_or(0);
        }
    }
    Cow::Owned(shown)
}

/// `text` as `--plain` writes it to its output and error streams: each refused character
/// replaced by U+FFFD, TABs kept. Borrowed when nothing is refused.
pub fn for_output(text: &str) -> Cow<'_, str> {
    replace_refused(text)
}

#[cfg(test)]
mod tests {
    use unicode_width::UnicodeWidthStr;

    use super::*;

    #[test]
    fn issue_13_every_refused_character_is_one_replacement_character() {
        for n in 0..=0x10FFFF {
            let Some(c) = char::from_u32(n) else { continue };
            if c == '\t' {
                continue;
            }
            let text = c.to_string();
            let expected = if is_refused(c) { "\u{FFFD}" } else { &text };
            assert_eq!(for_screen(&text), expected, "U+{n:04X}");
            assert_eq!(for_output(&text), expected, "U+{n:04X}");
        }
        // Nothing that drives a terminal is left, and each character takes one column.
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n\u{7f}\u{85}\u{9b}\u{2028}\u{2029}\u{202E}";
        assert!(!for_screen(hostile).chars().any(char::is_control));
        assert!(!for_output(hostile).chars().any(char::is_control));
        assert_eq!(for_screen(hostile).width(), hostile.chars().count());
    }

    #[test]
    fn issue_13_a_tab_is_spaces_to_the_next_stop_on_screen_and_kept_on_output() {
        for (text, shown) in [
            ("\t", "    "),
            ("a\tb", "a   b"),
            ("abc\td", "abc d"),
            ("abcd\te", "abcd    e"),
            ("\t\tx", "        x"),
            // Wide characters take two columns, a replacement one.
            ("日本\tx", "日本    x"),
            ("日\tx", "日  x"),
            ("\u{1b}\tx", "\u{FFFD}   x"),
        ] {
            assert_eq!(for_screen(text), shown, "{text:?}");
        }
        assert_eq!(for_output("a\tb\u{1b}"), "a\tb\u{FFFD}");
    }

    #[test]
    fn the_form_of_a_start_is_the_start_of_the_form() {
        let text = "a\tbc\u{1b}[2J\t日本\td\u{202E}\te";
        let whole = for_screen(text);
        for (at, _) in text.char_indices() {
            assert!(whole.starts_with(&*for_screen(&text[..at])), "{at}");
        }
    }

    #[test]
    fn clean_text_is_borrowed() {
        for text in ["", "plain", "été €5 😀 日本", "\u{200F}"] {
            assert!(matches!(for_screen(text), Cow::Borrowed(t) if t == text));
            assert!(matches!(for_output(text), Cow::Borrowed(t) if t == text));
        }
        assert!(matches!(for_output("a\tb"), Cow::Borrowed("a\tb")));
    }
}
