//! The text rule: which characters a text from a client may not carry to others (issue 13).
//!
//! Refused: the C0 controls but TAB (U+0000 to U+0008, U+000A to U+001F), DEL (U+007F), the
//! C1 controls (U+0080 to U+009F), the line and paragraph separators (U+2028, U+2029), and
//! the bidirectional overrides, embeddings and isolates (U+202A to U+202E, U+2066 to U+2069).
//! A CR, or a Unicode line break, lets a text read as a line of its own to a client that
//! splits lines there (a forged `MSG admin ...`); ESC and the C1 controls drive a terminal
//! (a window title, a cleared screen); the bidirectional controls make a text display in
//! another order than it reads. TAB stays: it is text, harmless, and people paste it.
//!
//! Everything the server relays or stores from a client follows this one rule: message texts
//! (`MSG`, `ALL`, `ME`), topics, keys and away texts are refused whole (`ERR BAD_TEXT`, see
//! [`Refused`]), while `QUIT` and `PART` reasons, which must never stop a client from leaving,
//! have each refused character replaced by U+FFFD ([`replace_refused`]). File names will
//! follow it too.
//!
//! In scope: the rule for one character ([`is_refused`]) and for a text, as one pass over its
//! bytes that skips eight at a time where no refused character can start ([`find_refused`]). Out of scope:
//! which command texts it applies to (`command`, and the server for reasons), and how a
//! client draws what it receives.

use std::borrow::Cow;

/// The first character of a text that the rule refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub found: char,
    /// Its place in the text, counted in characters from 1, as a person would count.
    pub at: usize,
}

impl Refused {
    /// What kind of character it is, for an error text: "a control character".
    pub fn kind(&self) -> &'static str {
        match self.found {
            '\u{2028}' => "a line separator",
            '\u{2029}' => "a paragraph separator",
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => "a bidirectional control",
            _ => "a control character",
        }
    }
}

/// Whether the rule refuses `c`.
pub fn is_refused(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}'
            | '\u{A}'..='\u{1F}'
            | '\u{7F}'..='\u{9F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// The first character of `text` the rule refuses, if any. One pass; no allocation.
pub fn find_refused(text: &str) -> Option<Refused> {
    let byte = first_refused_byte(text.as_bytes())?;
    let found = text[byte..]
        .chars()
        .next()
        .expect("a refused byte starts a character");
    // Counted only on the way to an error: characters before it, plus itself.
    let at = text[..byte].chars().count() + 1;
    Some(Refused { found, at })
}

/// `text` with each refused character replaced by U+FFFD. Borrowed, without allocating,
/// when nothing is refused: the common case, found by the same fast pass as [`find_refused`].
pub fn replace_refused(text: &str) -> Cow<'_, str> {
    let Some(first) = first_refused_byte(text.as_bytes()) else {
        return Cow::Borrowed(text);
    };
    let mut replaced = String::with_capacity(text.len() + 2);
    replaced.push_str(&text[..first]);
    for c in text[first..].chars() {
        replaced.push(if is_refused(c) {
            char::REPLACEMENT_CHARACTER
        } else {
            c
        });
    }
    Cow::Owned(replaced)
}

/// One in each byte of a word.
const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
/// The top bit of each byte of a word.
const TOPS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The top bit of each byte of `word` that is below `limit` (at most 0x80), and maybe of bytes
/// above one: subtracting `limit` from each byte borrows into the top bit of the lowest such
/// byte (and `!word` drops bytes whose top bit was set already), and a borrow may carry into
/// the byte above it. So the marks say exactly whether there is such a byte, not which.
fn marks_below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & TOPS
}

/// As [`marks_below`], for bytes equal to `byte`: the zero bytes of `word ^ byte`.
fn marks_of(word: u64, byte: u8) -> u64 {
    marks_below(word ^ (ONES * u64::from(byte)), 1)
}

/// Whether every byte of `word` is printable ASCII (0x20 to 0x7E): none below 0x20, and none
/// at 0x7F or above (adding 1 to each byte sets the top bit of 0x7F, and a byte of 0x80 or
/// above has it already; a carry out of 0xFF into the next byte only comes with 0xFF itself
/// marked).
fn all_printable_ascii(word: u64) -> bool {
    ((word.wrapping_add(ONES) | word) & TOPS) | marks_below(word, 0x20) == 0
}

/// Whether a refused character may start in `word`: it holds a byte below 0x20 or 0x7F, or a
/// lead byte of the refused characters above ASCII (0xC2, 0xE2). Printable ASCII never does,
/// nor does most text beyond it (é is C3 A9, Cyrillic starts with D0 or D1, CJK with E3 to
/// E9), so such words are skipped whole.
fn may_start_refused(word: u64) -> bool {
    // Printable ASCII, the common case, is told by the cheaper test alone.
    !all_printable_ascii(word)
        && marks_below(word, 0x20)
            | marks_of(word, 0x7F)
            | marks_of(word, 0xC2)
            | marks_of(word, 0xE2)
            != 0
}

/// The index of the first byte of `bytes` (valid UTF-8) that starts a refused character.
fn first_refused_byte(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for word in bytes.chunks_exact(8) {
        let word: [u8; 8] = word.try_into().expect("chunks of eight");
        if may_start_refused(u64::from_le_bytes(word)) {
            if let Some(found) = (at..at + 8).find(|&i| starts_refused(bytes, i)) {
                return Some(found);
            }
        }
        at += 8;
    }
    (at..bytes.len()).find(|&i| starts_refused(bytes, i))
}

/// Whether a refused character starts at `bytes[i]`. In UTF-8 the refused characters above
/// ASCII are C2 80..9F (C1), E2 80 A8..AE (U+2028 to U+202E) and E2 81 A6..A9 (U+2066 to
/// U+2069); a lead byte never appears inside another character, so looking at the bytes
/// after one is enough, wherever a word of eight cut it.
fn starts_refused(bytes: &[u8], i: usize) -> bool {
    match bytes[i] {
        b'\t' => false,
        0x00..=0x1F | 0x7F => true,
        0xC2 => matches!(bytes.get(i + 1), Some(0x80..=0x9F)),
        0xE2 => matches!(
            (bytes.get(i + 1), bytes.get(i + 2)),
            (Some(0x80), Some(0xA8..=0xAE)) | (Some(0x81), Some(0xA6..=0xA9))
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule as the module doc states it, range by range.
    fn stated(c: char) -> bool {
        let n = u32::from(c);
        (n < 0x20 && c != '\t')
            || (0x7F..=0x9F).contains(&n)
            || n == 0x2028
            || n == 0x2029
            || (0x202A..=0x202E).contains(&n)
            || (0x2066..=0x2069).contains(&n)
    }

    #[test]
    fn the_rule_for_one_character_is_the_stated_one_for_every_character() {
        for n in 0..=0x10FFFF {
            if let Some(c) = char::from_u32(n) {
                assert_eq!(is_refused(c), stated(c), "U+{n:04X}");
            }
        }
    }

    #[test]
    fn every_character_is_found_wherever_it_stands_in_a_word() {
        // Each character that matters, at every offset of the eight-byte words and past
        // their end, after ASCII or after a multi-byte character.
        let probes: Vec<char> = (0u32..0xA0)
            .chain(0x2020..0x2070)
            .chain([0xA0, 0xFF, 0x100, 0x2000, 0xFEFF, 0x1F600])
            .filter_map(char::from_u32)
            .collect();
        for probe in probes {
            for lead in ["", "é", "€"] {
                for before in 0..20 {
                    let text = format!("{lead}{}{probe}tail text", "a".repeat(before));
                    let expected = stated(probe).then(|| Refused {
                        found: probe,
                        at: lead.chars().count() + before + 1,
                    });
                    assert_eq!(find_refused(&text), expected, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn a_word_is_skipped_only_when_no_refused_character_can_start_in_it() {
        let interesting = |byte: u8| byte < 0x20 || matches!(byte, 0x7F | 0xC2 | 0xE2);
        // Every pair of byte values, side by side at every place in the word: a borrow from
        // one byte can reach the next.
        for first in 0..=255u8 {
            for second in 0..=255u8 {
                for at in 0..7 {
                    let mut word = *b"abcdefgh";
                    word[at] = first;
                    word[at + 1] = second;
                    assert_eq!(
                        may_start_refused(u64::from_le_bytes(word)),
                        interesting(first) || interesting(second),
                        "{first:#04x} {second:#04x} at {at}"
                    );
                }
            }
        }
        for byte in 0..=255u8 {
            for at in 0..8 {
                let mut word = *b"abcdefgh";
                word[at] = byte;
                assert_eq!(
                    all_printable_ascii(u64::from_le_bytes(word)),
                    (0x20..=0x7E).contains(&byte),
                    "{byte:#04x} at {at}"
                );
            }
        }
        assert!(all_printable_ascii(u64::from_le_bytes(*b" ~ ~ ~ ~")));
        assert!(!may_start_refused(u64::from_le_bytes(*b" ~ ~ ~ ~")));
        assert!(!may_start_refused(u64::from_le_bytes([0xFF; 8])));
        assert!(may_start_refused(u64::from_le_bytes([0x00; 8])));
    }

    #[test]
    fn refused_characters_are_named_with_their_kind() {
        for (text, found, at, kind) in [
            ("hi\rMSG admin x", '\r', 3, "a control character"),
            ("\u{1b}]0;pwned\u{7}", '\u{1b}', 1, "a control character"),
            ("ok\u{85}", '\u{85}', 3, "a control character"),
            ("été\u{7f}", '\u{7f}', 4, "a control character"),
            ("a\u{2028}b", '\u{2028}', 2, "a line separator"),
            ("a\u{2029}", '\u{2029}', 2, "a paragraph separator"),
            ("abc\u{202E}cba", '\u{202E}', 4, "a bidirectional control"),
            ("\u{2066}x", '\u{2066}', 1, "a bidirectional control"),
        ] {
            let refused = find_refused(text).unwrap();
            assert_eq!(refused, Refused { found, at }, "{text:?}");
            assert_eq!(refused.kind(), kind, "{text:?}");
        }
        // U+200F, a right-to-left mark, reorders nothing around it: allowed.
        for text in ["", "plain", "tab\there", "été €5 😀", "\u{200F}"] {
            assert_eq!(find_refused(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_reason_has_refused_characters_replaced_and_allocates_only_then() {
        assert!(matches!(
            replace_refused("gone\tfishing, été"),
            Cow::Borrowed("gone\tfishing, été")
        ));
        assert_eq!(
            replace_refused("bye\rMSG admin run \u{1b}[2J\u{2028}ok"),
            "bye\u{FFFD}MSG admin run \u{FFFD}[2J\u{FFFD}ok"
        );
        assert_eq!(replace_refused("\u{9b}"), "\u{FFFD}");
    }
}
