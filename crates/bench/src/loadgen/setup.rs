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
    pub command: String,
    /// UTC, `2025-01-31 12:00:00`.
    pub started: String,
}

impl Setup {
    pub fn collect() -> Setup {
        let model = sysstat::cpu_model().unwrap_or_else(|| "unknown CPU".to_owned());
        let kernel = sysstat::kernel_release().unwrap_or_else(|| "unknown".to_owned());
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Setup {
            machine: format!("{model}, {} cores, Linux {kernel}", sysstat::cores()),
            commit: commit(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
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
