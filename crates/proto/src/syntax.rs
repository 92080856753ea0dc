//! The lexical rules both directions share: words are separated by runs of spaces (never
//! tabs), a free text is the rest of the line, and an optional tail is absent when blank.
//!
//! In scope: cutting a line into words and writing an optional tail back. Out of scope: what
//! any word means (`command`, `reply`).

use std::fmt;

/// Splits off the first space-separated word; the rest starts after the run of spaces.
pub(crate) fn split_word(text: &str) -> (&str, &str) {
    match text.split_once(' ') {
        Some((word, rest)) => (word, rest.trim_start_matches(' ')),
        None => (text, ""),
    }
}

/// An optional argument: absent when nothing but whitespace is left.
pub(crate) fn optional(rest: &str) -> Option<&str> {
    (!rest.trim().is_empty()).then_some(rest)
}

/// Writes `head`, then a space and `tail` if there is one.
pub(crate) fn with_tail(
    f: &mut fmt::Formatter<'_>,
    head: impl fmt::Display,
    tail: Option<&str>,
) -> fmt::Result {
    match tail {
        Some(tail) => write!(f, "{head} {tail}"),
        None => write!(f, "{head}"),
    }
}

/// The switch of `PRIVATE` and `OK PRIVATE`, as the server spells it.
pub(crate) fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_split_at_runs_of_spaces_only() {
        for (text, expected) in [
            ("", ("", "")),
            ("MSG", ("MSG", "")),
            ("MSG bob hi", ("MSG", "bob hi")),
            ("MSG   bob  hi ", ("MSG", "bob  hi ")),
            ("MSG ", ("MSG", "")),
            ("MSG\tbob", ("MSG\tbob", "")),
            (" MSG", ("", "MSG")),
        ] {
            assert_eq!(split_word(text), expected, "{text:?}");
        }
    }

    #[test]
    fn a_blank_tail_is_absent() {
        for (text, expected) in [
            ("", None),
            ("  ", None),
            ("\t", None),
            ("x", Some("x")),
            ("x  ", Some("x  ")),
        ] {
            assert_eq!(optional(text), expected, "{text:?}");
        }
    }
}
