//! An exhaustive check of the queue's right to write ([`Writing`]): every interleaving of the
//! critical sections of two pushers, the writer thread, the two wakers and the flushes they
//! run, over the real [`State`] methods, with every answer the socket may give.
//!
//! In scope: what the threads of `outbox`, `writer` and `deferred_wake` do between the lock
//! and the socket, reduced to their steps, and the properties every run must keep. Out of
//! scope: the byte bound and the latency instants (`tests`).
//!
//! Why not `loom`: every change to the shared state happens under one mutex, in one call
//! to a `State` method, so the interleavings that matter are those of these calls and of the
//! unlocked steps between them (a send, adding to a waker's list, `park` and `unpark`). A
//! depth-first search over exactly those, with the visited states remembered, covers them all
//! for the scenarios below, using the production code for every locked step; loom would
//! need the queue's mutex and `park` replaced by its own types in the production build.
//!
//! Properties: at most one thread writes the socket at a time; the socket receives exactly
//! the lines queued, in the order they were queued, each once; when no thread can move any
//! more, every line is written, every byte given back, and the writer has closed (nobody
//! sleeps with work left: no lost wake-up).

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use super::state::{
    Fingerprint, FlushStep, PushAction, PushError, State, Taken, Wake, Writing, footprint,
};
use crate::server::deferred_wake::Window;
use crate::server::line::Line;

/// The kinds of line one pusher queues, in order.
type Plan = Vec<Wake>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FlushPc {
    /// About to lock and look at the queue, `written` bytes of the last batch sent.
    Next { written: usize },
    /// Holds a batch to send, the first line from `front_written`.
    Sending {
        batch: VecDeque<Line>,
        front_written: usize,
    },
    /// The socket took only part of the batch: about to put `rest` back.
    Stopped {
        written: usize,
        rest: VecDeque<Line>,
        front_written: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PusherPc {
    /// About to push its line `k` (or drop its outbox, past the last).
    Push(usize),
    /// Pushed line `k - 1`, which listed the queue: about to add it to the waker's list.
    List(Window, usize),
    /// Runs the flush its push claimed, then pushes line `k`.
    Flushing(FlushPc, usize),
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum WriterPc {
    Take,
    Writing(VecDeque<Line>),
    Parked,
    Closed,
}

#[derive(Debug, Clone)]
struct World {
    state: State,
    writer: WriterPc,
    /// `unpark` was called and `park` has not consumed it.
    token: bool,
    /// Spurious returns from `park` still allowed.
    spurious: u8,
    pushers: Vec<PusherPc>,
    plans: Vec<Plan>,
    /// Entries of each window's list, and the flush its waker runs.
    listed: [u8; 2],
    wakers: [Option<FlushPc>; 2],
    queued: Vec<Line>,
    written: Vec<Line>,
    /// How lines are numbered: the next one's number.
    next_line: usize,
}

type Key = (
    Fingerprint,
    WriterPc,
    bool,
    u8,
    Vec<PusherPc>,
    [u8; 2],
    [Option<FlushPc>; 2],
    Vec<Line>,
    usize,
);

/// The instants of the model: a queue is always emptied at `recent()`, which counts as within
/// the stream gap for a push that looks at `recent()`, and not for one at `later()`.
struct Clock {
    base: Instant,
}

impl Clock {
    fn recent(&self) -> Instant {
        self.base
    }
    fn later(&self) -> Instant {
        self.base + Duration::from_secs(1)
    }
}

impl World {
    fn new(plans: Vec<Plan>, spurious: u8) -> World {
        let mut state = State::default();
        state.outboxes = plans.len();
        World {
            state,
            writer: WriterPc::Take,
            token: false,
            spurious,
            pushers: vec![PusherPc::Push(0); plans.len()],
            plans,
            listed: [0; 2],
            wakers: [None, None],
            queued: Vec::new(),
            written: Vec::new(),
            next_line: 0,
        }
    }

    fn key(&self) -> Key {
        (
            self.state.fingerprint(),
            self.writer.clone(),
            self.token,
            self.spurious,
            self.pushers.clone(),
            self.listed,
            self.wakers.clone(),
            self.queued.clone(),
            self.written.len(),
        )
    }

    /// Threads sending to the socket right now.
    fn senders(&self) -> usize {
        let flushing = |pc: &FlushPc| matches!(pc, FlushPc::Sending { .. });
        let pushers = self
            .pushers
            .iter()
            .filter(|pc| matches!(pc, PusherPc::Flushing(f, _) if flushing(f)))
            .count();
        let wakers = self.wakers.iter().flatten().filter(|f| flushing(f)).count();
        let writer = usize::from(matches!(self.writer, WriterPc::Writing(_)));
        pushers + wakers + writer
    }

    /// The socket takes `lines`: each must be the next one queued.
    fn send(&mut self, lines: impl IntoIterator<Item = Line>) {
        for line in lines {
            let at = self.written.len();
            assert_eq!(
                self.queued.get(at),
                Some(&line),
                "line {at} written out of order, twice, or never queued: {self:?}"
            );
            self.written.push(line);
        }
    }

    fn unpark(&mut self, unpark: bool) {
        self.token |= unpark;
    }

    /// Every world one step of any thread leads to.
    fn successors(&self, clock: &Clock) -> Vec<World> {
        let mut next = Vec::new();
        for pusher in 0..self.pushers.len() {
            self.step_pusher(pusher, clock, &mut next);
        }
        for window in Window::ALL {
            self.step_waker(window, clock, &mut next);
        }
        self.step_writer(clock, &mut next);
        next
    }

    fn step_pusher(&self, pusher: usize, clock: &Clock, next: &mut Vec<World>) {
        match self.pushers[pusher].clone() {
            PusherPc::Done => {}
            PusherPc::Push(k) if k == self.plans[pusher].len() => {
                let mut world = self.clone();
                let unpark = world.state.drop_outbox();
                world.unpark(unpark);
                world.pushers[pusher] = PusherPc::Done;
                next.push(world);
            }
            PusherPc::Push(k) => {
                let wake = self.plans[pusher][k];
                // Whether the queue looks emptied within the stream gap matters only to a
                // delivery: both answers are explored.
                let nows: &[Instant] = if wake == Wake::Delivery {
                    &[clock.recent(), clock.later()]
                } else {
                    &[clock.later()]
                };
                for &now in nows {
                    let mut world = self.clone();
                    let line: Line = format!("L{}\n", world.next_line).into();
                    world.next_line += 1;
                    let pushed = world
                        .state
                        .push(line.clone(), wake, usize::MAX, || None, || now);
                    world.pushers[pusher] = match pushed {
                        Ok(action) => {
                            world.queued.push(line);
                            match action {
                                PushAction::Queued => PusherPc::Push(k + 1),
                                PushAction::Flush => {
                                    PusherPc::Flushing(FlushPc::Next { written: 0 }, k + 1)
                                }
                                PushAction::List(window) => PusherPc::List(window, k + 1),
                            }
                        }
                        Err(PushError::Closed) => PusherPc::Push(k + 1),
                        Err(PushError::Full) => unreachable!("no limit here"),
                    };
                    next.push(world);
                }
            }
            PusherPc::List(window, k) => {
                let mut world = self.clone();
                world.listed[window.index()] += 1;
                world.pushers[pusher] = PusherPc::Push(k);
                next.push(world);
            }
            PusherPc::Flushing(flush, k) => {
                for (world, flush) in self.step_flush(flush, clock) {
                    let mut world = world;
                    world.pushers[pusher] = match flush {
                        Some(flush) => PusherPc::Flushing(flush, k),
                        None => PusherPc::Push(k),
                    };
                    next.push(world);
                }
            }
        }
    }

    fn step_waker(&self, window: Window, clock: &Clock, next: &mut Vec<World>) {
        let index = window.index();
        match self.wakers[index].clone() {
            Some(flush) => {
                for (mut world, flush) in self.step_flush(flush, clock) {
                    world.wakers[index] = flush;
                    next.push(world);
                }
            }
            None if self.listed[index] > 0 => {
                let mut world = self.clone();
                world.listed[index] -= 1;
                if world.state.wake_deferred(window) {
                    world.wakers[index] = Some(FlushPc::Next { written: 0 });
                }
                next.push(world);
            }
            None => {}
        }
    }

    /// One step of a flush; `None` once it has ended.
    fn step_flush(&self, flush: FlushPc, clock: &Clock) -> Vec<(World, Option<FlushPc>)> {
        match flush {
            FlushPc::Next { written } => {
                let mut world = self.clone();
                let mut batch = VecDeque::new();
                let (step, _) = world
                    .state
                    .flush_next(written, &mut batch, || clock.recent());
                let pc = match step {
                    FlushStep::Done { unpark_writer } => {
                        world.unpark(unpark_writer);
                        None
                    }
                    FlushStep::Send { front_written, .. } => Some(FlushPc::Sending {
                        batch,
                        front_written,
                    }),
                };
                vec![(world, pc)]
            }
            FlushPc::Sending {
                batch,
                front_written,
            } => {
                assert_eq!(self.senders(), 1, "two threads send at once: {self:?}");
                // The socket takes any number of whole lines, or all but part of the next.
                let mut next = Vec::new();
                for taken in 0..=batch.len() {
                    let mut world = self.clone();
                    let mut rest = batch.clone();
                    let sent: Vec<Line> = rest.drain(..taken).collect();
                    let written = sent.iter().map(footprint).sum();
                    world.send(sent);
                    let pc = if rest.is_empty() {
                        FlushPc::Next { written }
                    } else {
                        let front = if taken == 0 { front_written } else { 0 };
                        FlushPc::Stopped {
                            written,
                            rest,
                            front_written: front + 1,
                        }
                    };
                    next.push((world, Some(pc)));
                }
                next
            }
            FlushPc::Stopped {
                written,
                mut rest,
                front_written,
            } => {
                let mut world = self.clone();
                let (unpark, _) =
                    world
                        .state
                        .flush_stopped(written, &mut rest, front_written, None, || clock.recent());
                world.unpark(unpark);
                vec![(world, None)]
            }
        }
    }

    fn step_writer(&self, clock: &Clock, next: &mut Vec<World>) {
        match self.writer.clone() {
            WriterPc::Take => {
                let mut world = self.clone();
                let mut batch = VecDeque::new();
                let (taken, _) = world.state.take(&mut batch, clock.recent());
                world.writer = match taken {
                    Taken::Lines { .. } => WriterPc::Writing(batch),
                    Taken::Nothing => WriterPc::Parked,
                    Taken::Closed => WriterPc::Closed,
                };
                next.push(world);
            }
            WriterPc::Writing(batch) => {
                assert_eq!(self.senders(), 1, "two threads send at once: {self:?}");
                // The writer blocks until the socket takes all of it.
                let mut world = self.clone();
                world.send(batch);
                world.writer = WriterPc::Take;
                next.push(world);
            }
            WriterPc::Parked => {
                if self.token {
                    let mut world = self.clone();
                    world.token = false;
                    world.writer = WriterPc::Take;
                    next.push(world);
                }
                if self.spurious > 0 {
                    let mut world = self.clone();
                    world.spurious -= 1;
                    world.writer = WriterPc::Take;
                    next.push(world);
                }
            }
            WriterPc::Closed => {}
        }
    }

    /// Nothing can move: everything must be done.
    fn check_final(&self) {
        assert!(
            self.pushers.iter().all(|pc| *pc == PusherPc::Done),
            "a pusher is stuck: {self:?}"
        );
        assert_eq!(self.listed, [0, 0], "a waker is stuck: {self:?}");
        assert_eq!(
            self.writer,
            WriterPc::Closed,
            "the writer sleeps with work left: {self:?}"
        );
        assert_eq!(self.written, self.queued, "lines lost: {self:?}");
        let state = self.state.fingerprint();
        assert_eq!((state.bytes, state.in_flight), (0, 0), "{self:?}");
    }
}

/// Explores every interleaving from `world`; returns how many distinct states it saw.
fn explore(world: World) -> usize {
    let clock = Clock {
        base: Instant::now(),
    };
    let mut seen = HashSet::new();
    let mut stack = vec![world];
    while let Some(world) = stack.pop() {
        if !seen.insert(world.key()) {
            continue;
        }
        let next = world.successors(&clock);
        if next.is_empty() {
            world.check_final();
        }
        stack.extend(next);
    }
    seen.len()
}

/// Every plan of `lines` lines, each line any kind.
fn plans(lines: usize) -> Vec<Plan> {
    const KINDS: [Wake; 3] = [Wake::Reply, Wake::Delivery, Wake::Announcement];
    let mut plans = vec![Vec::new()];
    for _ in 0..lines {
        plans = plans
            .into_iter()
            .flat_map(|plan: Plan| {
                KINDS.iter().map(move |&kind| {
                    let mut plan = plan.clone();
                    plan.push(kind);
                    plan
                })
            })
            .collect();
    }
    plans
}

#[test]
fn issue_14_two_pushers_the_writer_and_the_wakers_never_lose_reorder_or_share_a_write() {
    let mut states = 0;
    for first in plans(2) {
        for second in plans(1) {
            states += explore(World::new(vec![first.clone(), second], 0));
        }
    }
    // Not a property, a guard: a model that stopped exploring would pass vacuously.
    assert!(states > 10_000, "only {states} states explored");
}

#[test]
fn issue_14_a_spurious_return_from_park_never_makes_a_second_writer() {
    for plan in plans(3) {
        explore(World::new(vec![plan], 2));
    }
}

#[test]
fn issue_14_the_model_finds_a_writer_that_takes_during_a_flush() {
    // The check must be able to fail: a queue whose writer also took lines while a flush held
    // the right would write the socket from two threads.
    let mut world = World::new(vec![vec![Wake::Reply]], 0);
    let clock = Clock {
        base: Instant::now(),
    };
    world.state.writing = Writing::Nobody;
    world.writer = WriterPc::Parked;
    let mut pushed = world.successors(&clock);
    let mut world = pushed.swap_remove(0);
    let mut batch = VecDeque::new();
    let (step, _) = world.state.flush_next(0, &mut batch, || clock.recent());
    assert!(matches!(step, FlushStep::Send { .. }));
    world.pushers[0] = PusherPc::Flushing(
        FlushPc::Sending {
            batch: batch.clone(),
            front_written: 0,
        },
        1,
    );
    world.writer = WriterPc::Writing(batch);
    let caught = std::panic::catch_unwind(|| world.successors(&clock));
    assert!(caught.is_err(), "two senders went unnoticed");
}
