//! [`FileName`]: the name of a file a client sends with `UPLOAD`, as recipients see it in
//! `FILE` lines and as a download offers it.
//!
//! In scope: what a valid name is. A name is only ever shown and offered as a download's
//! name; the server never uses it as a path (it stores a file under a random token), so the
//! rule is about what reaches other people: the text rule ([`crate::text`]), no `/` (a name
//! is one path component wherever a client saves it), not `.` or `..`, at most
//! [`MAX_FILE_NAME_LEN`] bytes (what file systems take). Out of scope: the error text
//! (`error`), and where the name appears in a line (`command`, `reply`).

use std::fmt;

use crate::text::{self, Refused};

/// Longest file name, in bytes: the limit of ext4, XFS, NTFS and most others.
pub const MAX_FILE_NAME_LEN: usize = 255;

/// A valid file name, borrowed from the client's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileName<'a>(&'a str);

/// Why a file name was refused; its `Display` is the human text of `ERR BAD_FILE_NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileNameFault {
    /// Over [`MAX_FILE_NAME_LEN`] bytes; the length it has.
    TooLong(usize),
    /// It holds a `/`.
    Slash,
    /// `.` or `..`, which name folders, not files.
    Dots,
    /// A character the text rule refuses (`\0` among them).
    Refused(Refused),
}

impl<'a> FileName<'a> {
    /// `name` if it is a valid file name. An empty name is not refused here: the parser
    /// reports a missing argument first.
    pub fn parse(name: &'a str) -> Result<FileName<'a>, FileNameFault> {
        if name.len() > MAX_FILE_NAME_LEN {
            return Err(FileNameFault::TooLong(name.len()));
        }
        if name.contains('/') {
            return Err(FileNameFault::Slash);
        }
        if let Some(refused) = text::find_refused(name) {
            return Err(FileNameFault::Refused(refused));
        }
        if name == "." || name == ".." {
            return Err(FileNameFault::Dots);
        }
        Ok(FileName(name))
    }

    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

impl fmt::Display for FileName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Display for FileNameFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileNameFault::TooLong(len) => write!(
                f,
                "a file name has at most {MAX_FILE_NAME_LEN} bytes, not {len}"
            ),
            FileNameFault::Slash => f.write_str("a file name cannot hold '/'"),
            FileNameFault::Dots => f.write_str("a file name cannot be . or .."),
            FileNameFault::Refused(refused) => write!(
                f,
                "the file name has U+{:04X} ({}) at character {}; control characters, line \
                 separators and bidirectional controls are not allowed",
                u32::from(refused.found),
                refused.kind(),
                refused.at
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_any_text_without_a_slash_that_names_no_folder() {
        for name in [
            "photo.jpg",
            "two words.txt",
            "...",
            ".hidden",
            "a\\b",
            "%2F",
            "..\\..\\x",
            "été 😀.png",
            "tab\there",
            &"x".repeat(MAX_FILE_NAME_LEN),
        ] {
            assert_eq!(FileName::parse(name).map(|n| n.as_str()), Ok(name));
        }
    }

    #[test]
    fn a_path_a_folder_or_a_control_character_is_refused() {
        let long = "é".repeat(128);
        for (name, fault) in [
            ("../../x", FileNameFault::Slash),
            ("a/b", FileNameFault::Slash),
            ("/", FileNameFault::Slash),
            (".", FileNameFault::Dots),
            ("..", FileNameFault::Dots),
            (long.as_str(), FileNameFault::TooLong(256)),
        ] {
            assert_eq!(FileName::parse(name), Err(fault), "{name:?}");
        }
        for name in ["a\0b", "a\u{1b}[2J", "a\u{202e}gpj.exe", "a\rb"] {
            assert!(
                matches!(FileName::parse(name), Err(FileNameFault::Refused(_))),
                "{name:?}"
            );
        }
    }

    #[test]
    fn the_fault_reads_as_the_rule() {
        assert_eq!(
            FileNameFault::Slash.to_string(),
            "a file name cannot hold '/'"
        );
        assert_eq!(
            FileName::parse("a\0").unwrap_err().to_string(),
            "the file name has U+0000 (a control character) at character 2; control \
             characters, line separators and bidirectional controls are not allowed"
        );
        assert_eq!(
            FileNameFault::TooLong(300).to_string(),
            "a file name has at most 255 bytes, not 300"
        );
    }
}
