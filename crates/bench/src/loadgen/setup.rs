//! What results are tied to: the machine, the commit and the command line, and where the
//! result files go.
//!
//! In scope: collecting those (from `/proc`, `git`, the environment) and the output
//! directory (`<target dir>/bench`). Out of scope: writing the files (`report`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::loadgen::sysstat;

/// The circumstances of one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// `AMD EPYC 7B13, 2 cores, Linux 6.8.0`
    pub machine: String,
    /// `180f0f4`, `180f0f4-dirty` or `unknown`.
    pub commit: String,
    /// The command that runs this invocation again from the repository's root
    /// ([`rerun_command`]): `cargo bench --bench load -- --quick`.
    pub command: String,
    /// UTC, `2025-01-31 12:00:00`.
    pub started: String,
}

/// Which front end of the load generator runs: each is run again by its own cargo command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontEnd {
    /// `cargo bench --bench load` (`benches/load.rs`).
    CargoBench,
    /// The `chatd-bench` binary.
    ChatdBench,
}

/// The command that runs a front end again with `args` (its arguments, the program's name
/// left out), from the repository's root. The executable's own path would name a file of one
/// build (`target/release/deps/load-1f2e...`) that the next build replaces (issue 12).
pub fn rerun_command(front_end: FrontEnd, args: impl IntoIterator<Item = String>) -> String {
    let (cargo, args): (&str, Vec<String>) = match front_end {
        // `cargo bench` adds `--bench` to the arguments itself.
        FrontEnd::CargoBench => (
            "cargo bench --bench load",
            args.into_iter().filter(|arg| arg != "--bench").collect(),
        ),
        // The profile of this build, so a rerun measures the same code.
        FrontEnd::ChatdBench if cfg!(debug_assertions) => {
            ("cargo run --bin chatd-bench", args.into_iter().collect())
        }
        FrontEnd::ChatdBench => (
            "cargo run --release --bin chatd-bench",
            args.into_iter().collect(),
        ),
    };
    if args.is_empty() {
        return cargo.to_owned();
    }
    let words: Vec<String> = args.iter().map(|arg| shell_word(arg)).collect();
    format!("{cargo} -- {}", words.join(" "))
}

/// `word` as a POSIX shell reads it back: as it is when it holds no character the shell
/// treats specially, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./,:=+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl Setup {
    /// The circumstances of this process, run as `front_end`.
    pub fn collect(front_end: FrontEnd) -> Setup {
        let model = sysstat::cpu_model().unwrap_or_else(|| "unknown CPU".to_owned());
        let kernel = sysstat::kernel_release().unwrap_or_else(|| "unknown".to_owned());
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Setup {
            machine: format!("{model}, {} cores, Linux {kernel}", sysstat::cores()),
            commit: commit(),
            command: rerun_command(front_end, std::env::args().skip(1)),
            started: utc_timestamp(seconds),
        }
    }

    /// The header printed above the tables and written into the CSV.
    pub fn lines(&self) -> Vec<String> {
        vec![
            format!("machine: {}", self.machine),
            format!("commit:  {}", self.commit),
            format!("command: {}", self.command),
            format!("started: {} UTC", self.started),
        ]
    }

    /// A file name stem that sorts by time: `load-20250131-120000-180f0f4`.
    pub fn file_stem(&self) -> String {
        let compact: String = self
            .started
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == ' ')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        format!("load-{compact}-{}", self.commit)
    }
}

/// `git rev-parse --short HEAD` of the sources this was built from, `-dirty` when
/// `git status --porcelain` lists anything, `unknown` when git cannot tell.
fn commit() -> String {
    let source = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .arg("-C")
            .arg(source)
            .args(args)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]).filter(|h| !h.is_empty()) else {
        return "unknown".to_owned();
    };
    match git(&["status", "--porcelain"]) {
        Some(changes) if changes.is_empty() => head,
        Some(_) => format!("{head}-dirty"),
        None => "unknown".to_owned(),
    }
}

/// `<target dir>/bench`: the target directory is `CARGO_TARGET_DIR`, else the nearest
/// ancestor of the running executable that cargo marked with `CACHEDIR.TAG`, else `target`.
pub fn output_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            exe.ancestors()
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("bench")
}

/// `YYYY-MM-DD HH:MM:SS` for seconds since the Unix epoch, in UTC.
fn utc_timestamp(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(utc_timestamp(951_825_599), "2000-02-29 11:59:59");
        assert_eq!(utc_timestamp(1_738_324_800), "2025-01-31 12:00:00");
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|&arg| arg.to_owned()).collect()
    }

    #[test]
    fn issue_12_the_command_is_one_that_runs_again() {
        let bench = |args: &[&str]| rerun_command(FrontEnd::CargoBench, strings(args));
        assert_eq!(bench(&["--bench"]), "cargo bench --bench load");
        assert_eq!(
            bench(&["--quick", "--no-files", "--bench"]),
            "cargo bench --bench load -- --quick --no-files"
        );
        assert_eq!(
            bench(&["--only", "paced,stalled", "--workers", "2,4", "--bench"]),
            "cargo bench --bench load -- --only paced,stalled --workers 2,4"
        );
        let chatd_bench = rerun_command(
            FrontEnd::ChatdBench,
            strings(&["fanout", "--clients", "50", "--out", "my results"]),
        );
        let cargo_run = if cfg!(debug_assertions) {
            "cargo run --bin chatd-bench"
        } else {
            "cargo run --release --bin chatd-bench"
        };
        assert_eq!(
            chatd_bench,
            format!("{cargo_run} -- fanout --clients 50 --out 'my results'")
        );
    }

    #[test]
    fn words_are_quoted_for_the_shell_when_needed() {
        assert_eq!(shell_word("--addr=127.0.0.1:7878"), "--addr=127.0.0.1:7878");
        assert_eq!(shell_word("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
        assert_eq!(shell_word("a*"), "'a*'");
    }

    #[test]
    fn file_stems_sort_by_time() {
        let setup = Setup {
            machine: String::new(),
            commit: "abc1234-dirty".to_owned(),
            command: String::new(),
            started: "2025-01-31 12:00:00".to_owned(),
        };
        assert_eq!(setup.file_stem(), "load-20250131-120000-abc1234-dirty");
    }
}
