//! Counting allocator: how many heap allocations the server makes while it is under load.
//!
//! In scope: [`CountingAlloc`], the system allocator plus a counter of the allocations made by
//! threads that are not the load generator's, and the per-thread mark that tells them apart.
//! Out of scope: installing it (the `chatd-bench` binary and `benches/load.rs` do, with
//! `#[global_allocator]`) and turning counts into per-line figures (`outcome`).
//!
//! Nothing here may allocate: the counter is an atomic, the mark a const-initialised
//! thread-local `Cell` (no lazy registration, no destructor).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Allocations (and reallocations) by threads not marked as the generator's.
static COUNTED: AtomicU64 = AtomicU64::new(0);
/// Set by the first allocation through [`CountingAlloc`]: without it the count means nothing.
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Whether this thread belongs to the load generator, whose allocations are not counted.
    static GENERATOR: Cell<bool> = const { Cell::new(false) };
}

/// The system allocator, counting the allocations of every thread that is not marked with
/// [`mark_generator_thread`] or inside a [`GeneratorScope`].
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc;

impl CountingAlloc {
    pub const fn new() -> CountingAlloc {
        CountingAlloc
    }
}

fn count_one() {
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
    // A thread being torn down may have lost its thread-locals: count it, it is not ours.
    let generator = GENERATOR.try_with(Cell::get).unwrap_or(false);
    if !generator {
        COUNTED.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counting around it touches only atomics and a const-initialised
// thread-local, so it neither allocates nor unwinds.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's guarantees about `layout` are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through this wrapper) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` was allocated by `System` with `layout`; the rest is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations counted so far, or `None` when [`CountingAlloc`] is not the global allocator.
pub fn allocations() -> Option<u64> {
    INSTALLED
        .load(Ordering::Relaxed)
        .then(|| COUNTED.load(Ordering::Relaxed))
}

/// Marks the calling thread as the generator's for the rest of its life.
pub fn mark_generator_thread() {
    GENERATOR.with(|g| g.set(true));
}

/// Marks the calling thread as the generator's until dropped: for the thread that
/// coordinates a run and is also the one that prints the report afterwards.
#[derive(Debug)]
pub struct GeneratorScope {
    was: bool,
}

impl GeneratorScope {
    pub fn enter() -> GeneratorScope {
        GeneratorScope {
            was: GENERATOR.with(|g| g.replace(true)),
        }
    }
}

impl Drop for GeneratorScope {
    fn drop(&mut self) {
        GENERATOR.with(|g| g.set(self.was));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lib's unit tests run with the counting allocator, so it is exercised for real.
    #[global_allocator]
    static ALLOC: CountingAlloc = CountingAlloc::new();

    fn allocate_many(n: usize) {
        for i in 0..n {
            std::hint::black_box(vec![i; 4]);
        }
    }

    #[test]
    fn counts_the_allocations_of_unmarked_threads() {
        let before = allocations().expect("installed in this test binary");
        std::thread::spawn(|| allocate_many(1000)).join().unwrap();
        assert!(allocations().unwrap() - before >= 1000);
    }

    #[test]
    fn the_generator_mark_is_per_thread_and_scoped() {
        std::thread::spawn(|| {
            assert!(!GENERATOR.with(Cell::get));
            {
                let _scope = GeneratorScope::enter();
                assert!(GENERATOR.with(Cell::get));
            }
            assert!(!GENERATOR.with(Cell::get));
            mark_generator_thread();
            assert!(GENERATOR.with(Cell::get));
        })
        .join()
        .unwrap();
    }
}
