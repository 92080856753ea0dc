//! Readings from the operating system: the CPU clocks of this thread and this process,
//! `/proc` figures of a process (CPU, RSS, threads, descriptors) and of the machine (busy
//! time, CPU model, kernel), and the open-file limit.
//!
//! In scope: taking each reading, and parsing the `/proc` texts (pure helpers, unit-tested).
//! Out of scope: what a run makes of the readings (`meter`) and how they are shown (`report`).
//! Linux only, as the server is.

use std::fs;
use std::io;
use std::time::Duration;

/// CPU time (user and system) the calling thread has used since it started.
#[allow(unsafe_code)]
pub fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if rc != 0 {
        // Cannot happen for this clock on Linux; a zero reading only understates.
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// CPU time (user and system) of the whole process so far, finished threads included.
#[allow(unsafe_code)]
pub fn process_cpu() -> Duration {
    // SAFETY: `rusage` is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage for the duration of the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Clock ticks per second, the unit of CPU times in `/proc/<pid>/stat`.
#[allow(unsafe_code)]
fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// What `/proc` says about one process at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcSample {
    /// User plus system CPU time, at clock-tick resolution (usually 10 ms).
    pub cpu: Duration,
    pub rss_kib: u64,
    pub threads: u64,
    /// Open file descriptors.
    pub fds: u64,
}

/// Reads `/proc/<pid>/stat`, `status` and `fd`.
pub fn sample_process(pid: u32) -> io::Result<ProcSample> {
    let dir = format!("/proc/{pid}");
    let stat = fs::read_to_string(format!("{dir}/stat"))?;
    let status = fs::read_to_string(format!("{dir}/status"))?;
    let bad = |what: &str| io::Error::other(format!("cannot parse {what} of process {pid}"));
    let ticks = parse_stat_ticks(&stat).ok_or_else(|| bad("stat"))?;
    let per_second = clock_ticks_per_second();
    Ok(ProcSample {
        cpu: Duration::from_secs(ticks / per_second)
            + Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second),
        rss_kib: parse_status_number(&status, "VmRSS:").ok_or_else(|| bad("VmRSS"))?,
        threads: parse_status_number(&status, "Threads:").ok_or_else(|| bad("Threads"))?,
        fds: fs::read_dir(format!("{dir}/fd"))?.count() as u64,
    })
}

/// utime + stime in clock ticks: fields 14 and 15 of `/proc/<pid>/stat`, counted after the
/// command name, which is in parentheses and may itself contain spaces.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(") ")?;
    let mut fields = after_name.split(' ').skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The number after `field` in `/proc/<pid>/status` (`VmRSS:   1234 kB` gives 1234).
fn parse_status_number(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// The machine's cumulative CPU time from the first line of `/proc/stat`, in clock ticks
/// summed over all cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineCpu {
    busy: u64,
    total: u64,
}

impl MachineCpu {
    pub fn read() -> io::Result<MachineCpu> {
        let text = fs::read_to_string("/proc/stat")?;
        parse_machine_cpu(&text).ok_or_else(|| io::Error::other("cannot parse /proc/stat"))
    }

    /// The fraction of all cores' time that was busy between `earlier` and `self`.
    pub fn busy_since(&self, earlier: &MachineCpu) -> Option<f64> {
        let total = self.total.checked_sub(earlier.total)?;
        let busy = self.busy.checked_sub(earlier.busy)?;
        (total > 0).then(|| busy as f64 / total as f64)
    }
}

/// `cpu  user nice system idle iowait irq softirq steal ...`: busy is everything but idle and
/// iowait. (guest time is already part of user.)
fn parse_machine_cpu(proc_stat: &str) -> Option<MachineCpu> {
    let line = proc_stat.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = line
        .split_whitespace()
        .take(8)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = values[..] else {
        return None;
    };
    let busy = user + nice + system + irq + softirq + steal;
    Some(MachineCpu {
        busy,
        total: busy + idle + iowait,
    })
}

/// Cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The CPU model from `/proc/cpuinfo`.
pub fn cpu_model() -> Option<String> {
    parse_cpu_model(&fs::read_to_string("/proc/cpuinfo").ok()?)
}

fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    let line = cpuinfo.lines().find(|l| l.starts_with("model name"))?;
    let (_, model) = line.split_once(':')?;
    Some(model.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The kernel release, such as `6.8.0-45-generic`.
pub fn kernel_release() -> Option<String> {
    let text = fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    Some(text.trim().to_owned())
}

/// Raises this process's soft limit on open files towards `wanted`, capped at the hard
/// limit, and returns the soft limit in force. Children started afterwards inherit it.
#[allow(unsafe_code)]
pub fn raise_fd_limit(wanted: u64) -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < wanted {
        limit.rlim_cur = wanted.min(limit.rlim_max);
        // SAFETY: `limit` is a valid rlimit for the duration of the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_are_fields_14_and_15_even_with_spaces_in_the_name() {
        let stat = "4242 (chat d) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 9 0 \
                    123 456 789";
        assert_eq!(parse_stat_ticks(stat), Some(287));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }

    #[test]
    fn status_numbers_are_found_by_field_name() {
        let status = "Name:\tchatd\nVmPeak:\t  9000 kB\nVmRSS:\t    5120 kB\nThreads:\t17\n";
        assert_eq!(parse_status_number(status, "VmRSS:"), Some(5120));
        assert_eq!(parse_status_number(status, "Threads:"), Some(17));
        assert_eq!(parse_status_number(status, "VmSwap:"), None);
    }

    #[test]
    fn machine_cpu_counts_everything_but_idle_and_iowait_as_busy() {
        let before = parse_machine_cpu("cpu  10 0 5 80 5 0 0 0 0 0\ncpu0 1 2 3\n").unwrap();
        let after = parse_machine_cpu("cpu  100 0 50 120 10 5 5 0 0 0\n").unwrap();
        // busy 15 -> 160 (+145), total 100 -> 290 (+190).
        let busy = after.busy_since(&before).unwrap();
        assert!((busy - 145.0 / 190.0).abs() < 1e-9, "{busy}");
        assert_eq!(before.busy_since(&before), None);
        assert_eq!(parse_machine_cpu("intr 1 2 3"), None);
    }

    #[test]
    fn the_cpu_model_is_the_first_model_name() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD   EPYC 7B13\nprocessor\t: 1\n";
        assert_eq!(parse_cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B13"));
    }

    #[test]
    fn this_process_can_be_sampled() {
        let sample = sample_process(std::process::id()).unwrap();
        assert!(sample.threads >= 1 && sample.fds >= 1 && sample.rss_kib > 0);
        assert!(thread_cpu() <= process_cpu() + Duration::from_millis(20));
    }
}
