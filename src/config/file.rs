//! The configuration file (`chatd --config chatd.toml`): a TOML table whose keys are the
//! settings' keys, read with serde, every value kept with the place it stands.
//!
//! In scope: reading and parsing the file, and saying where it is wrong when it is not TOML,
//! holds an unknown key or a value of the wrong type. Out of scope: whether a well-typed value
//! is allowed (`max_line = 10`) and how the file's values meet the flags ([`super::args`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, IgnoredAny, Unexpected};
use toml::Spanned;

use super::setting::{ConfigError, Setting};
use super::values::parse_bytes;

/// The settings a file gives, each with its place in the file; a key left out is `None`. The
/// field names are the keys ([`Setting::key`]), the types those of the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileSettings {
    pub addr: Option<Spanned<String>>,
    pub workers: Option<Spanned<usize>>,
    pub max_clients: Option<Spanned<usize>>,
    pub max_per_ip: Option<Spanned<usize>>,
    pub connect_rate: Option<Spanned<u32>>,
    pub send_queue: Option<Spanned<ByteSize>>,
    pub max_line: Option<Spanned<usize>>,
    pub drain_timeout: Option<Spanned<f64>>,
    pub register_timeout: Option<Spanned<f64>>,
    pub idle_timeout: Option<Spanned<f64>>,
    pub write_timeout: Option<Spanned<f64>>,
    pub max_rooms_per_client: Option<Spanned<usize>>,
    pub max_room_members: Option<Spanned<usize>>,
    pub max_rooms: Option<Spanned<usize>>,
    pub max_topic: Option<Spanned<usize>>,
    pub max_key: Option<Spanned<usize>>,
    pub presence_limit: Option<Spanned<usize>>,
    pub rate: Option<Spanned<u32>>,
    pub burst: Option<Spanned<u32>>,
    pub byte_rate: Option<Spanned<ByteSize>>,
    pub byte_burst: Option<Spanned<ByteSize>>,
    pub ip_rate: Option<Spanned<u32>>,
    pub ip_byte_rate: Option<Spanned<ByteSize>>,
    pub data_dir: Option<Spanned<PathBuf>>,
    pub ephemeral: Option<Spanned<bool>>,
    pub history_lines: Option<Spanned<usize>>,
    pub history_days: Option<Spanned<u32>>,
    pub history_flush_ms: Option<Spanned<u64>>,
    pub http: Option<Spanned<String>>,
    pub web_url: Option<Spanned<String>>,
    pub max_file_size: Option<Spanned<ByteSize>>,
    pub file_quota: Option<Spanned<ByteSize>>,
    pub file_days: Option<Spanned<u32>>,
    pub tls_cert: Option<Spanned<PathBuf>>,
    pub tls_key: Option<Spanned<PathBuf>>,
    pub tls_addr: Option<Spanned<String>>,
    pub allow_plain_passwords: Option<Spanned<bool>>,
    pub cluster: Option<Spanned<String>>,
    pub cluster_replicas: Option<Spanned<usize>>,
    pub log_level: Option<Spanned<String>>,
    pub log_file: Option<Spanned<PathBuf>>,
}

/// A size as `--send-queue` (and the byte rates) take it: a number of bytes (`65536`) or a string with a binary
/// unit (`"64K"`, `"1M"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteSize(pub usize);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<ByteSize, D::Error> {
        deserializer.deserialize_any(ByteSizeVisitor)
    }
}

struct ByteSizeVisitor;

impl de::Visitor<'_> for ByteSizeVisitor {
    type Value = ByteSize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a size such as 65536, \"64K\" or \"1M\"")
    }

    fn visit_i64<E: de::Error>(self, bytes: i64) -> Result<ByteSize, E> {
        usize::try_from(bytes)
            .map(ByteSize)
            .map_err(|_| E::invalid_value(Unexpected::Signed(bytes), &self))
    }

    fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<ByteSize, E> {
        usize::try_from(bytes)
            .map(ByteSize)
            .map_err(|_| E::invalid_value(Unexpected::Unsigned(bytes), &self))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<ByteSize, E> {
        parse_bytes(text).map(ByteSize).map_err(E::custom)
    }
}

/// A configuration file, read and parsed.
#[derive(Debug, Default)]
pub(crate) struct ConfigFile {
    /// As the operator gave it, to name it in errors the way they know it.
    pub path: PathBuf,
    pub settings: FileSettings,
    /// The file's text, to turn a value's byte span into its line number when one is named.
    text: String,
}

impl ConfigFile {
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
            file: path.to_owned(),
            reason: e.to_string(),
        })?;
        ConfigFile::parse(path, text)
    }

    /// Parses `text` as the file at `path`.
    pub fn parse(path: &Path, text: String) -> Result<ConfigFile, ConfigError> {
        match toml::from_str::<FileSettings>(&text) {
            Ok(settings) => Ok(ConfigFile {
                path: path.to_owned(),
                settings,
                text,
            }),
            Err(error) => Err(explain(path, &text, &error)),
        }
    }

    /// The line (from 1) where `value` stands.
    pub fn line<T>(&self, value: &Spanned<T>) -> usize {
        line_at(&self.text, value.span().start)
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.matches('\n').count() + 1
}

/// Turns serde's complaint into one that names the key: the strict parse stops at the first
/// problem with a byte span; a loose parse of the same text then says which key stands there,
/// or which key is not a setting at all.
fn explain(path: &Path, text: &str, error: &toml::de::Error) -> ConfigError {
    let at = error.span().map(|span| span.start);
    let line = at.map(|at| line_at(text, at));
    let Ok(entries) = toml::from_str::<BTreeMap<Spanned<String>, Spanned<IgnoredAny>>>(text) else {
        // Not TOML at all: show the line, which names the key if there is one.
        let source = line
            .and_then(|line| text.lines().nth(line - 1))
            .map(|source| format!(" in `{}`", source.trim()))
            .unwrap_or_default();
        return ConfigError::Malformed {
            file: path.to_owned(),
            line,
            key: None,
            reason: format!("{}{source}", error.message()),
        };
    };
    let unknown = entries
        .keys()
        .filter(|key| Setting::from_key(key.get_ref()).is_none())
        .min_by_key(|key| key.span().start);
    if let Some(key) = unknown {
        return ConfigError::UnknownKey {
            file: path.to_owned(),
            line: line_at(text, key.span().start),
            key: key.get_ref().clone(),
        };
    }
    let key = at.and_then(|at| {
        entries
            .iter()
            .find(|(key, value)| key.span().contains(&at) || value.span().contains(&at))
            .map(|(key, _)| key.get_ref().clone())
    });
    ConfigError::Malformed {
        file: path.to_owned(),
        line,
        key,
        reason: in_plain_words(error.message()),
    }
}

/// serde names the Rust type it wanted (`expected usize`); an operator knows numbers.
fn in_plain_words(message: &str) -> String {
    message
        .replace("expected usize", "expected a whole number, 0 or more")
        .replace("expected u64", "expected a whole number, 0 or more")
        .replace(
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        )
        .replace("expected f64", "expected a number")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        ConfigFile::parse(Path::new("chatd.toml"), text.to_owned())
    }

    fn malformed(text: &str) -> (Option<usize>, Option<String>, String) {
        match parse(text).unwrap_err() {
            ConfigError::Malformed {
                file,
                line,
                key,
                reason,
            } => {
                assert_eq!(file, Path::new("chatd.toml"));
                (line, key, reason)
            }
            other => panic!("expected a malformed file, got {other:?}"),
        }
    }

    #[test]
    fn every_setting_has_its_key() {
        // One value of the right type for each, so that only the key can be wrong.
        for setting in Setting::ALL {
            let value = match setting {
                Setting::Addr | Setting::DataDir | Setting::LogLevel | Setting::LogFile => "\"x\"",
                Setting::Http | Setting::WebUrl => "\"x\"",
                Setting::TlsCert | Setting::TlsKey | Setting::TlsAddr => "\"x\"",
                Setting::Cluster => "\"nats://x:4222\"",
                Setting::Ephemeral | Setting::AllowPlainPasswords => "true",
                Setting::DrainTimeout
                | Setting::RegisterTimeout
                | Setting::IdleTimeout
                | Setting::WriteTimeout => "1.5",
                _ => "7",
            };
            let text = format!("{} = {value}\n", setting.key());
            assert!(parse(&text).is_ok(), "{text}");
        }
    }

    #[test]
    fn values_keep_their_line() {
        let file = parse("# a comment\n\nmax_line = 100\nrate = 5 # lines/s\n").unwrap();
        let max_line = file.settings.max_line.as_ref().unwrap();
        assert_eq!((*max_line.get_ref(), file.line(max_line)), (100, 3));
        let rate = file.settings.rate.as_ref().unwrap();
        assert_eq!((*rate.get_ref(), file.line(rate)), (5, 4));
        assert!(file.settings.burst.is_none());
        assert!(parse("").unwrap().settings.addr.is_none());
    }

    #[test]
    fn seconds_may_be_written_as_integers_and_sizes_with_units() {
        let file = parse("idle_timeout = 60\ndrain_timeout = 0.5\nsend_queue = \"64K\"\n").unwrap();
        let settings = file.settings;
        assert_eq!(settings.idle_timeout.unwrap().into_inner(), 60.0);
        assert_eq!(settings.drain_timeout.unwrap().into_inner(), 0.5);
        assert_eq!(settings.send_queue.unwrap().into_inner(), ByteSize(65536));
        let bytes = parse("send_queue = 65536").unwrap().settings.send_queue;
        assert_eq!(bytes.unwrap().into_inner(), ByteSize(65536));
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let unknown = |text: &str| match parse(text).unwrap_err() {
            ConfigError::UnknownKey { file, line, key } => {
                assert_eq!(file, Path::new("chatd.toml"));
                (line, key)
            }
            other => panic!("expected an unknown key, got {other:?}"),
        };
        assert_eq!(
            unknown("rate = 5\nmax_lines = 10\n"),
            (2, "max_lines".into())
        );
        assert_eq!(unknown("max-line = 100\n"), (1, "max-line".into()));
        // The file cannot point at another one, and a value of the wrong type further down
        // does not hide the unknown key.
        assert_eq!(unknown("config = \"other.toml\"\n"), (1, "config".into()));
        assert_eq!(unknown("x = 1\nrate = \"fast\"\n"), (1, "x".into()));
        // Settings are top-level keys: a table is a key of its own.
        assert_eq!(unknown("\n[server]\nrate = 5\n"), (2, "server".into()));
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key_and_line() {
        let (line, key, reason) = malformed("rate = 5\nmax_line = \"big\"\n");
        assert_eq!((line, key.as_deref()), (Some(2), Some("max_line")));
        assert_eq!(
            reason,
            "invalid type: string \"big\", expected a whole number, 0 or more"
        );
        let (line, key, reason) = malformed("max_clients = -1");
        assert_eq!((line, key.as_deref()), (Some(1), Some("max_clients")));
        assert!(reason.contains("-1"), "{reason}");
        let (_, key, reason) = malformed("rate = 5000000000");
        assert_eq!(key.as_deref(), Some("rate"));
        assert!(reason.ends_with("expected a whole number from 0 to 4294967295"));
        let (_, key, reason) = malformed("register_timeout = \"30\"");
        assert_eq!(key.as_deref(), Some("register_timeout"));
        assert!(reason.ends_with("expected a number"), "{reason}");
        let (_, key, reason) = malformed("history_flush_ms = \"100ms\"");
        assert_eq!(key.as_deref(), Some("history_flush_ms"));
        assert!(
            reason.ends_with("expected a whole number, 0 or more"),
            "{reason}"
        );
        let (_, key, reason) = malformed("ephemeral = 1");
        assert_eq!(key.as_deref(), Some("ephemeral"));
        assert!(reason.ends_with("expected a boolean"), "{reason}");
        let (_, key, _) = malformed("addr = 7878");
        assert_eq!(key.as_deref(), Some("addr"));
        let (_, key, _) = malformed("log_file = [\"a\", \"b\"]");
        assert_eq!(key.as_deref(), Some("log_file"));
    }

    #[test]
    fn a_size_must_be_one() {
        for (text, says) in [
            ("send_queue = \"1X\"", "unknown unit"),
            ("send_queue = -5", "a size such as 65536"),
            ("send_queue = 1.5", "a size such as 65536"),
            ("send_queue = \"99999999999999999999M\"", "is not a size"),
        ] {
            let (line, key, reason) = malformed(text);
            assert_eq!((line, key.as_deref()), (Some(1), Some("send_queue")));
            assert!(reason.contains(says), "{text}: {reason}");
        }
    }

    #[test]
    fn text_that_is_not_toml_says_where() {
        let (line, key, reason) = malformed("rate = 5\nmax_line =\n");
        assert_eq!((line, key), (Some(2), None));
        assert!(reason.ends_with("in `max_line =`"), "{reason}");
        let (line, _, reason) = malformed("rate = 5\nrate = 6\n");
        assert_eq!(line, Some(2));
        assert!(reason.contains("duplicate key in `rate = 6`"), "{reason}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let missing = Path::new("/nonexistent/chatd.toml");
        match ConfigFile::read(missing).unwrap_err() {
            ConfigError::Unreadable { file, reason } => {
                assert_eq!(file, missing);
                assert!(!reason.is_empty());
            }
            other => panic!("expected an unreadable file, got {other:?}"),
        }
    }
}
