//! Unit tests of `outbox`: the byte bound and what a line counts, the writer's batches,
//! closing, flushes, deferred wake-ups, and the instant a batch's oldest delivery was read.

use super::state::Writing;
use super::*;
use std::time::Duration;

use crate::server::metrics::TurnClock;

fn line(text: &str) -> Line {
    Arc::from(text)
}

#[test]
fn refuses_past_its_byte_limit() {
    // 64 bytes each up to 8 bytes of text, 80 from 9 to 24.
    let (outbox, queue) = Outbox::detached(144);
    assert_eq!(outbox.send_reply(line("123456789\n")), Ok(()));
    assert_eq!(outbox.send_reply(line("123456789\n")), Err(PushError::Full));
    assert_eq!(outbox.send_reply(line("1234\n")), Ok(()));
    assert_eq!(outbox.queued_bytes(), 144);
    assert_eq!(queue.len(), 2);
    assert_eq!(queue.drain(), [line("123456789\n"), line("1234\n")]);
    assert_eq!(outbox.queued_bytes(), 0);
}

#[test]
fn issue_13_a_line_counts_its_allocation_and_its_queue_slots() {
    // On the 64-bit Linux the server runs on: 16 bytes of reference counts, 8 of
    // allocator header, 16-byte steps of at least 32, two 16-byte slots.
    assert_eq!(footprint(&line("PONG\n")), 64);
    assert_eq!(footprint(&line("12345678")), 64);
    assert_eq!(footprint(&line("123456789")), 80);
    assert_eq!(footprint(&line(&"x".repeat(4096))), 4160);
    // What a stalled client that sends `PING`s can pin with the default queue: 16,384
    // `PONG`s, not 200,000.
    assert_eq!((1 << 20) / footprint(&line("PONG\n")), 16_384);
}

#[test]
fn issue_13_the_writers_batch_counts_until_it_takes_again() {
    let queue = Queue::new(1000, None, None, None);
    let outbox = Outbox::new(&queue);
    outbox.send_reply(line("a\n")).unwrap();
    outbox.send_reply(line(&"b".repeat(100))).unwrap();
    let mut taken = VecDeque::new();
    assert!(matches!(queue.take(&mut taken), Taken::Lines { .. }));
    assert_eq!(
        queue.queued_bytes(),
        64 + 160,
        "counted while being written"
    );
    outbox.send_reply(line("c\n")).unwrap();
    assert_eq!(queue.queued_bytes(), 64 + 160 + 64);
    taken.clear();
    assert!(matches!(queue.take(&mut taken), Taken::Lines { .. }));
    assert_eq!(queue.queued_bytes(), 64, "the first batch given back");
    taken.clear();
    assert!(matches!(queue.take(&mut taken), Taken::Nothing));
    assert_eq!(queue.queued_bytes(), 0);
}

#[test]
fn reports_a_closed_queue() {
    let (outbox, queue) = Outbox::detached(100);
    drop(queue);
    assert_eq!(outbox.send_reply(line("x\n")), Err(PushError::Closed));
    assert_eq!(outbox.queued_bytes(), 0);
}

#[test]
fn the_writer_takes_everything_then_parks_then_closes_after_the_last_outbox() {
    let queue = Queue::new(1000, None, None, None);
    let outbox = Outbox::new(&queue);
    let second = outbox.clone();
    outbox.send_reply(line("a\n")).unwrap();
    second.enqueue(line("b\n"), Wake::Announcement).unwrap();
    let mut taken = VecDeque::new();
    assert!(matches!(queue.take(&mut taken), Taken::Lines { .. }));
    assert_eq!(taken, [line("a\n"), line("b\n")]);
    assert_eq!(queue.queued_bytes(), 128, "counted until written");
    taken.clear();
    assert!(matches!(queue.take(&mut taken), Taken::Nothing));
    assert!(queue.state.lock().writing == Writing::Nobody);
    assert_eq!(queue.queued_bytes(), 0);
    drop(outbox);
    assert!(
        queue.state.lock().writing == Writing::Nobody,
        "one outbox is left"
    );
    drop(second);
    assert!(
        queue.state.lock().writing != Writing::Nobody,
        "the last outbox wakes the writer"
    );
    assert!(matches!(queue.take(&mut taken), Taken::Closed));
}

/// A queue with a waker list, its writer parked `parked_for` ago.
fn parked_queue(parked_for: Duration) -> (Arc<Queue>, Outbox, Arc<DeferredWakes<Queue>>) {
    let deferred = Arc::new(DeferredWakes::default());
    let queue = Queue::new(1000, None, Some(Arc::clone(&deferred)), None);
    let outbox = Outbox::new(&queue);
    assert!(matches!(queue.take(&mut VecDeque::new()), Taken::Nothing));
    queue.state.lock().emptied_at = Instant::now().checked_sub(parked_for);
    (queue, outbox, deferred)
}

#[test]
fn a_writer_woken_spuriously_during_a_flush_neither_writes_nor_closes() {
    let (queue, outbox, _deferred) = parked_queue(Duration::from_secs(1));
    let flush = outbox
        .enqueue(line("MSG ann hi\n"), Wake::Delivery)
        .unwrap()
        .expect("an idle writer's queue is flushed by the pusher");
    drop(outbox);
    let mut taken = VecDeque::new();
    assert!(matches!(queue.take(&mut taken), Taken::Nothing));
    assert!(taken.is_empty());
    // This queue has no socket: the flush hands everything to the writer.
    flush.run();
    assert!(matches!(queue.take(&mut taken), Taken::Lines { .. }));
    taken.clear();
    assert!(matches!(queue.take(&mut taken), Taken::Closed));
}

#[test]
fn a_flush_dropped_without_running_hands_the_queue_to_the_writer() {
    let (queue, outbox, _deferred) = parked_queue(Duration::from_secs(1));
    let flush = outbox
        .enqueue(line("MSG ann hi\n"), Wake::Delivery)
        .unwrap()
        .expect("an idle writer's queue is flushed by the pusher");
    drop(flush);
    assert!(
        queue.state.lock().writing != Writing::Nobody,
        "the writer is woken"
    );
    let mut taken = VecDeque::new();
    assert!(matches!(queue.take(&mut taken), Taken::Lines { .. }));
    assert_eq!(taken, [line("MSG ann hi\n")]);
}

#[test]
fn announcements_to_a_parked_writer_wait_for_the_waker() {
    let (queue, outbox, deferred) = parked_queue(Duration::from_secs(1));
    for nick in ["a", "b"] {
        let line = line(&format!("JOIN {nick}\n"));
        outbox.enqueue(line, Wake::Announcement).unwrap();
    }
    assert!(
        queue.state.lock().writing == Writing::Nobody,
        "not woken yet"
    );
    assert_eq!(deferred.due(Window::Announcement), 1, "listed once");
    Arc::clone(&queue).wake_deferred(Window::Announcement);
    assert!(queue.state.lock().writing != Writing::Nobody);
}

#[test]
fn a_line_after_a_long_pause_wakes_the_writer_at_once_with_the_deferred_ones() {
    let (queue, outbox, deferred) = parked_queue(Duration::from_secs(1));
    outbox
        .enqueue(line("JOIN a\n"), Wake::Announcement)
        .unwrap();
    outbox.send_reply(line("PONG\n")).unwrap();
    assert!(queue.state.lock().writing != Writing::Nobody);
    assert_eq!(deferred.due(Window::Burst), 0);
    let mut taken = VecDeque::new();
    assert!(matches!(queue.take(&mut taken), Taken::Lines { .. }));
    assert_eq!(taken, [line("JOIN a\n"), line("PONG\n")]);
}

#[test]
fn a_delivery_right_after_the_writer_parked_waits_for_the_burst_window_a_reply_does_not() {
    let (queue, outbox, deferred) = parked_queue(Duration::ZERO);
    for text in ["ALL x 1\n", "ALL x 2\n"] {
        outbox.enqueue(line(text), Wake::Delivery).unwrap();
    }
    assert!(queue.state.lock().writing == Writing::Nobody);
    assert_eq!(deferred.due(Window::Burst), 1, "listed once");
    outbox.send_reply(line("PONG\n")).unwrap();
    assert!(
        queue.state.lock().writing != Writing::Nobody,
        "a reply wakes the writer at once"
    );
    Arc::clone(&queue).wake_deferred(Window::Burst);
    assert!(queue.state.lock().writing != Writing::Nobody);
}

/// The instant a writer is handed with the lines it took.
fn oldest_taken(queue: &Queue) -> Option<Instant> {
    let mut taken = VecDeque::new();
    match queue.take(&mut taken) {
        Taken::Lines {
            oldest_delivery, ..
        } => oldest_delivery,
        _ => panic!("nothing taken"),
    }
}

#[test]
fn issue_14_a_batch_carries_the_turn_start_of_its_oldest_delivery() {
    let queue = Queue::new(10_000, None, None, None);
    let outbox = Outbox::new(&queue);
    let read = Instant::now();
    let later = read + Duration::from_millis(1);
    {
        let _turn = TurnClock::start(read);
        // A reply is not a delivery: not timed.
        outbox.send_reply(line("PONG\n")).unwrap();
        outbox.enqueue(line("ALL a 1\n"), Wake::Delivery).unwrap();
    }
    let turn = TurnClock::start(later);
    outbox.enqueue(line("ALL a 2\n"), Wake::Delivery).unwrap();
    assert_eq!(oldest_taken(&queue), Some(read), "the oldest of the batch");
    outbox.enqueue(line("ALL a 3\n"), Wake::Delivery).unwrap();
    assert_eq!(oldest_taken(&queue), Some(later), "each batch its own");
    outbox
        .enqueue(line("JOIN b\n"), Wake::Announcement)
        .unwrap();
    assert_eq!(oldest_taken(&queue), None, "an announcement is not timed");
    drop(turn);
    outbox.enqueue(line("ALL a 4\n"), Wake::Delivery).unwrap();
    assert_eq!(
        oldest_taken(&queue),
        None,
        "outside a turn nothing is timed"
    );
}
