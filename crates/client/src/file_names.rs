//! Names and sizes of the files `/send` and `/save` move (issue 17): the name a file from the
//! server is saved under, made safe ([`safe_name`]); the name tried next when one is taken
//! ([`numbered`]: `photo (1).png`); `~` in a path typed by the user ([`expand_home`]); the
//! name a download URL ends with ([`name_in_url`]); a size as people read it
//! ([`human_size`]) and a share of it in percent ([`percent`]).
//!
//! A client must not trust its server: the name in a `FILE` line is used only as the last
//! component of a path in a folder the user chose, never as a path, and never to replace a
//! file. Out of scope: the file system (`transfer` looks at it and writes); what to say
//! (`app`, `line_mode`). Pure.

use std::path::{Path, PathBuf};

use chatd_proto::MAX_FILE_NAME_LEN;
use chatd_proto::text::is_refused;

/// The name a file the server offers is saved under: only what follows the last `/` or `\`
/// (a hostile server's `../../.bashrc` is `bashrc`), without the characters the text rule
/// refuses, without leading dots or spaces (nothing saved is hidden, and `..` is nothing),
/// and at most [`MAX_FILE_NAME_LEN`] bytes. `None` when nothing usable is left.
pub fn safe_name(offered: &str) -> Option<String> {
    let base = offered.rsplit(['/', '\\']).next().unwrap_or(offered);
    let kept: String = base.chars().filter(|&c| !is_refused(c)).collect();
    let name = kept.trim_start_matches(['.', ' ']).trim_end_matches(' ');
    if name.is_empty() {
        return None;
    }
    Some(truncated(name, MAX_FILE_NAME_LEN).to_owned())
}

/// `name` with ` (n)` before its extension, the n-th name tried when the ones before it are
/// taken: `photo.png`, `photo (1).png`, `photo (2).png`; `notes`, `notes (1)`. The stem is
/// shortened if the result would be longer than a file name may be.
pub fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    let mark = format!(" ({n})");
    let room = MAX_FILE_NAME_LEN.saturating_sub(mark.len() + extension.len());
    format!("{}{mark}{extension}", truncated(stem, room))
}

/// The longest start of `text` of at most `max` bytes that ends on a character boundary.
fn truncated(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A path as the user typed it, with a leading `~` (alone or before a `/`) as `home`, as a
/// shell would; `~user` and a `~` elsewhere stay as they are, as does everything without a
/// home to expand to.
pub fn expand_home(typed: &str, home: Option<&Path>) -> PathBuf {
    match (typed.strip_prefix('~'), home) {
        (Some(""), Some(home)) => home.to_path_buf(),
        (Some(rest), Some(home)) if rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(typed),
    }
}

/// The file name a download URL ends with (its last path segment, percent-decoded), which
/// the server builds from the name it announced; `None` if it does not decode to UTF-8.
pub fn name_in_url(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let segment = path.rsplit('/').next()?;
    let mut bytes = Vec::with_capacity(segment.len());
    let mut rest = segment.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        let decoded = match (byte, after) {
            (b'%', [high, low, ..]) => hex(*high).zip(hex(*low)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match decoded {
            Some(decoded) => {
                bytes.push(decoded);
                rest = &after[2..];
            }
            None => {
                bytes.push(byte);
                rest = after;
            }
        }
    }
    String::from_utf8(bytes).ok()
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .map(|value| u8::try_from(value).expect("a hex digit is below 16"))
}

/// A size as people read it: `512 bytes`, `1.2 kB`, `3.4 MB`, `1.0 GB` (powers of 1000, as
/// file managers and disk makers count).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        let plural = if bytes == 1 { "" } else { "s" };
        return format!("{bytes} byte{plural}");
    }
    // Tenths of the unit, in integers: no rounding up past 999.9 shown as "1000.0".
    let mut tenths = u128::from(bytes) * 10 / 1000;
    let mut unit = 0;
    while tenths >= 10_000 && unit + 1 < UNITS.len() {
        tenths /= 1000;
        unit += 1;
    }
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

/// `done` out of `size` in whole percent, rounded down (100 only when all is done; an empty
/// file is done at once).
pub fn percent(done: u64, size: u64) -> u8 {
    if size == 0 || done >= size {
        return 100;
    }
    let share = u128::from(done) * 100 / u128::from(size);
    u8::try_from(share).expect("a share below the whole is below 100")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_17_a_name_from_the_server_is_only_ever_a_base_name() {
        for (offered, saved) in [
            ("photo.png", Some("photo.png")),
            ("two words.txt", Some("two words.txt")),
            ("../../.bashrc", Some("bashrc")),
            ("/etc/passwd", Some("passwd")),
            ("..\\..\\evil.exe", Some("evil.exe")),
            ("a\u{1b}[2Jb.txt", Some("a[2Jb.txt")),
            ("..", None),
            (".", None),
            ("dir/", None),
            ("...", None),
            (" . ", None),
            ("", None),
            ("été 😀.png", Some("été 😀.png")),
        ] {
            assert_eq!(safe_name(offered).as_deref(), saved, "{offered:?}");
        }
        let long = "é".repeat(200);
        let saved = safe_name(&long).unwrap();
        assert!(saved.len() <= MAX_FILE_NAME_LEN, "{}", saved.len());
        assert_eq!(saved, "é".repeat(127));
    }

    #[test]
    fn issue_17_a_taken_name_gets_a_number_before_its_extension() {
        assert_eq!(numbered("photo.png", 0), "photo.png");
        assert_eq!(numbered("photo.png", 1), "photo (1).png");
        assert_eq!(numbered("photo.png", 12), "photo (12).png");
        assert_eq!(numbered("archive.tar.gz", 2), "archive.tar (2).gz");
        assert_eq!(numbered("notes", 1), "notes (1)");
        let long = format!("{}.txt", "x".repeat(251));
        let tried = numbered(&long, 3);
        assert_eq!(tried.len(), MAX_FILE_NAME_LEN);
        assert!(tried.ends_with("x (3).txt"), "{tried}");
    }

    #[test]
    fn issue_17_a_tilde_is_the_home_folder() {
        let home = Some(Path::new("/home/al"));
        assert_eq!(expand_home("~", home), PathBuf::from("/home/al"));
        assert_eq!(
            expand_home("~/a b.png", home),
            PathBuf::from("/home/al/a b.png")
        );
        assert_eq!(expand_home("~bob/x", home), PathBuf::from("~bob/x"));
        assert_eq!(expand_home("x/~/y", home), PathBuf::from("x/~/y"));
        assert_eq!(expand_home("~/x", None), PathBuf::from("~/x"));
        assert_eq!(expand_home("/tmp/x", home), PathBuf::from("/tmp/x"));
    }

    #[test]
    fn issue_17_the_name_in_a_download_url() {
        let url = "http://127.0.0.1:8080/files/0123abcd/two%20words%2F%C3%A9.txt";
        assert_eq!(name_in_url(url).as_deref(), Some("two words/é.txt"));
        assert_eq!(
            name_in_url("http://h/files/t/a.png?x=1").as_deref(),
            Some("a.png")
        );
        assert_eq!(
            name_in_url("http://h/files/t/100%").as_deref(),
            Some("100%")
        );
        assert_eq!(name_in_url("http://h/files/t/%FF"), None);
    }

    #[test]
    fn issue_17_sizes_as_people_read_them() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(1000), "1.0 kB");
        assert_eq!(human_size(1_234_567), "1.2 MB");
        assert_eq!(human_size(999_999), "999.9 kB");
        assert_eq!(human_size(26_214_400), "26.2 MB");
        assert_eq!(human_size(5_000_000_000), "5.0 GB");
        assert_eq!(human_size(u64::MAX), "18446.7 PB");
    }

    #[test]
    fn issue_17_percent_rounds_down_and_an_empty_file_is_done() {
        assert_eq!(percent(0, 10), 0);
        assert_eq!(percent(4, 10), 40);
        assert_eq!(percent(999, 1000), 99);
        assert_eq!(percent(1000, 1000), 100);
        assert_eq!(percent(0, 0), 100);
        assert_eq!(percent(u64::MAX - 1, u64::MAX), 99);
    }
}
