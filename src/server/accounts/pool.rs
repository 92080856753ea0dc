//! The verification threads (`chatd-auth-N`): the only threads that hash passwords or write
//! accounts, fed by one bounded queue.
//!
//! In scope: starting the threads at a lower scheduling priority, queueing without waiting
//! ([`Pool::submit`]: a full queue is [`Busy`]), calling each job's `done` on the thread that
//! did it, and stopping. Out of scope: what a job does (`verifier`).
//!
//! The numbers: max(1, cores / 2) threads, at most [`MAX_THREADS`] ([`thread_count`]), and a
//! queue of [`QUEUE_JOBS`] jobs. Half the cores: a hash keeps a core busy for tens of
//! milliseconds, so a flood of logins that fills every verification thread still leaves the
//! other half to the workers; the cap bounds the memory hashes take at once (19 MiB each).
//! The threads also run [`NICE`] steps nicer than the rest of the server, so even on the
//! cores they share, the scheduler runs the workers first and a flood of logins cannot delay
//! chat.
//!
//! Stopping ([`Pool::close`]): each thread finishes the job it is doing and calls its `done`;
//! the jobs still queued are dropped without being answered (their `done` is dropped, never
//! called), so a shutdown waits for at most one hash per thread, not for the whole queue.

use std::io;
use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, TrySendError, select_biased};
use parking_lot::Mutex;

use super::job::{Answer, Busy, Job};
use super::verifier::Verifier;

/// Jobs that may wait for a thread; beyond them a job is [`Busy`]. Room for a burst of
/// hundreds of logins (every client coming back after a restart); at some 20 ms a hash, a
/// full queue is 20 s of work for one thread: past that a client is better told to try
/// again than left waiting.
pub const QUEUE_JOBS: usize = 1024;
/// The most verification threads, whatever the cores: 8 hashes at once take 152 MiB, and
/// answer some 400 logins a second.
pub const MAX_THREADS: usize = 8;
/// How much nicer than the server the verification threads run (Linux nice steps; 19 is
/// the nicest there is).
pub const NICE: i32 = 10;

/// What `done` is given.
pub type Done = Box<dyn FnOnce(Answer) + Send>;

/// A job waiting for a thread, with what to call when it is done.
struct Queued {
    job: Job,
    done: Done,
}

/// The verification threads and their queue.
pub struct Pool {
    jobs: Sender<Queued>,
    /// Dropped by `close`: every thread sees it disconnect and stops. A mutex, taken only
    /// by `close`, so that any handle can close.
    stop: Mutex<Option<Sender<()>>>,
    /// A receiving end kept to drop the jobs still queued at `close` (their `done` holds
    /// what the server gave it), instead of when the last handle goes.
    queued: Mutex<Option<Receiver<Queued>>>,
    /// Joined by `close`.
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// max(1, cores / 2), at most [`MAX_THREADS`]: see the module's doc.
pub fn thread_count() -> usize {
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    (cores / 2).clamp(1, MAX_THREADS)
}

impl Pool {
    /// Starts `threads` threads doing `verifier`'s jobs from a queue of `capacity`.
    pub fn start(verifier: Arc<Verifier>, threads: usize, capacity: usize) -> io::Result<Pool> {
        return_large_blocks_to_the_system();
        let (jobs, jobs_in) = crossbeam_channel::bounded(capacity);
        let (stop, stop_in) = crossbeam_channel::bounded(0);
        let pool = Pool {
            jobs,
            stop: Mutex::new(Some(stop)),
            queued: Mutex::new(Some(jobs_in.clone())),
            threads: Mutex::new(Vec::with_capacity(threads)),
        };
        for number in 1..=threads.max(1) {
            let (verifier, jobs_in, stop_in) =
                (Arc::clone(&verifier), jobs_in.clone(), stop_in.clone());
            let spawned = thread::Builder::new()
                .name(format!("chatd-auth-{number}"))
                .spawn(move || run(&verifier, &jobs_in, &stop_in));
            match spawned {
                Ok(handle) => pool.threads.lock().push(handle),
                Err(error) => {
                    pool.close();
                    return Err(error);
                }
            }
        }
        Ok(pool)
    }

    /// Queues `job` without waiting; `done` is called with its answer on a verification
    /// thread. [`Busy`] when the queue is full or the pool closed: `done` is then dropped.
    pub fn submit(&self, job: Job, done: Done) -> Result<(), Busy> {
        match self.jobs.try_send(Queued { job, done }) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }

    /// Stops the threads: each finishes and answers its current job, and the queued jobs are
    /// dropped unanswered. Returns once every thread has ended; a second call does nothing.
    pub fn close(&self) {
        drop(self.stop.lock().take());
        let threads = std::mem::take(&mut *self.threads.lock());
        for handle in threads {
            // A `done` that closes the pool must not wait for its own thread.
            if handle.thread().id() == thread::current().id() {
                continue;
            }
            if handle.join().is_err() {
                log::error!("a verification thread panicked");
            }
        }
        if let Some(queued) = self.queued.lock().take() {
            let dropped = queued.try_iter().count();
            if dropped > 0 {
                log::info!("{dropped} account requests dropped unanswered at shutdown");
            }
        }
    }
}

fn run(verifier: &Verifier, jobs: &Receiver<Queued>, stop: &Receiver<()>) {
    if let Err(error) = lower_priority() {
        log::warn!("a verification thread runs at the workers' priority: {error}");
    }
    loop {
        // Biased to `stop`, which is ready (disconnected) once the pool is closing: then no
        // queued job starts, however many there are.
        let queued = select_biased! {
            recv(stop) -> _ => return,
            recv(jobs) -> queued => match queued {
                Ok(queued) => queued,
                Err(_) => return,
            },
        };
        let Queued { job, done } = queued;
        // A panic in a job (or in the server's `done`) loses that answer, not the thread:
        // with every thread gone, no login would ever be answered again.
        if panic::catch_unwind(AssertUnwindSafe(move || done(verifier.answer(job)))).is_err() {
            log::error!("an account request panicked; its client gets no answer");
        }
    }
}

/// Allocations of at least this many bytes come straight from the system (`mmap`) and go
/// back to it when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 4 << 20;

/// Makes glibc return large freed blocks to the system. Each hash takes 19 MiB of Argon2
/// memory and frees it; glibc raises its mmap threshold past a block that size after the
/// first free, then serves and keeps the next ones in the hashing thread's arena: a server
/// held about 19 MiB more per login until some 160 MiB, and the soak's memory rule failed.
/// A fixed threshold keeps every such block out of the arenas (a few more page faults per
/// hash, tens of microseconds against its 20 ms). Process-wide and idempotent; the chat's
/// own allocations are far below it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn return_large_blocks_to_the_system() {
    // SAFETY: `mallopt` takes two integers and only changes the allocator's settings; glibc
    // makes it safe to call at any time, from any thread.
    let applied = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
    if applied == 0 {
        log::warn!("the allocator refused a fixed mmap threshold: password hashes may keep memory");
    }
}

/// Other allocators than glibc's give large blocks back by themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}

/// Makes this thread [`NICE`] steps nicer than it is. On Linux the nice value belongs to
/// each thread (`PRIO_PROCESS` with a thread id), so the workers keep theirs.
fn lower_priority() -> io::Result<()> {
    let lower = (this_thread_nice() + NICE).min(19);
    set_this_thread_nice(lower)
}

/// The nice value of the calling thread.
#[allow(unsafe_code)]
pub fn this_thread_nice() -> i32 {
    // SAFETY: `gettid` and `getpriority` take and return plain integers. `getpriority`
    // cannot fail for the calling thread's own id; its -1 is then the nice value -1.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, this_thread_id()) }
}

#[allow(unsafe_code)]
fn set_this_thread_nice(nice: i32) -> io::Result<()> {
    // SAFETY: plain integers in, an integer out.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, this_thread_id(), nice) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[allow(unsafe_code)]
fn this_thread_id() -> libc::id_t {
    // SAFETY: `gettid` has no arguments and cannot fail.
    let id = unsafe { libc::gettid() };
    libc::id_t::try_from(id).expect("a thread id is positive")
}

#[cfg(test)]
mod tests;
