//! Two threads, one native ring: the producer pushes a known sequence, the
//! consumer checks every element as it arrives (order, nothing lost, nothing
//! doubled) and both keep a checksum.
//!
//! Items: 10^8 f32 (4-byte, "u32-sized") in a release build, 10^7 in a debug
//! build, so `cargo test` stays at a few seconds on a shared 2-core machine.
//! `RING_STRESS_ITEMS=N` overrides the count, e.g.
//! `RING_STRESS_ITEMS=100000000 cargo test -p wasmbridge-guest --test ring_stress`.

use std::thread;
use std::time::{Duration, Instant};
use wasmbridge_guest::ring::{channel, Consumer, Producer};

const DEFAULT_ITEMS: u64 = if cfg!(debug_assertions) {
    10_000_000
} else {
    100_000_000
};
/// Item `i` is `i mod 2^24` as f32: exact, so any loss, reordering or
/// duplication shows up at the very element where it happens.
const PERIOD: u64 = 1 << 24;
/// Give up instead of hanging if something deadlocks.
const DEADLINE: Duration = Duration::from_secs(300);

fn items() -> u64 {
    std::env::var("RING_STRESS_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ITEMS)
}

fn value(i: u64) -> f32 {
    (i % PERIOD) as f32
}

/// Pushes `total` items in chunks of varying size, never more than `free()`,
/// so no push may come up short. Returns the checksum of what it pushed.
fn produce(mut producer: Producer<f32>, total: u64, channels: u64) -> u64 {
    let started = Instant::now();
    let mut chunk = vec![0.0f32; 4096];
    let mut next = 0u64;
    let mut sum = 0u64;
    let mut round = 0u64;
    while next < total {
        round += 1;
        let want = (1 + (round * 7919) % 4096).min(total - next) as usize;
        let room = producer.free().min(want);
        let room = room - room % channels as usize;
        if room == 0 {
            assert!(
                started.elapsed() < DEADLINE,
                "producer stuck at item {next}"
            );
            thread::yield_now();
            continue;
        }
        for (k, slot) in chunk[..room].iter_mut().enumerate() {
            *slot = value(next + k as u64);
            sum = sum.wrapping_add((next + k as u64) % PERIOD);
        }
        assert_eq!(
            producer.push(&chunk[..room]),
            room,
            "a push within free() came up short"
        );
        next += room as u64;
    }
    assert_eq!(producer.stats().overruns, 0);
    sum
}

/// Pops until `total` items came, checking each one. Returns its checksum.
fn consume(mut consumer: Consumer<f32>, total: u64) -> u64 {
    let started = Instant::now();
    let mut buffer = vec![0.0f32; 3000];
    let mut next = 0u64;
    let mut sum = 0u64;
    let mut round = 0u64;
    while next < total {
        round += 1;
        let want = (1 + (round * 104_729) % 3000).min(total - next) as usize;
        let got = consumer.pop(&mut buffer[..want]);
        if got == 0 {
            assert!(
                started.elapsed() < DEADLINE,
                "consumer stuck at item {next}"
            );
            thread::yield_now();
            continue;
        }
        for (k, v) in buffer[..got].iter().enumerate() {
            let i = next + k as u64;
            if *v != value(i) {
                panic!("item {i}: got {v}, expected {}", value(i));
            }
            sum = sum.wrapping_add(*v as u64);
        }
        next += got as u64;
    }
    assert_eq!(consumer.available(), 0, "more items than were pushed");
    sum
}

fn run(total: u64, capacity: u32, channels: u32) {
    let (producer, consumer) = channel::<f32>(capacity, channels).unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let producer = thread::spawn(move || produce(producer, total, u64::from(channels)));
    let consumer = thread::spawn(move || consume(consumer, total));
    let pushed = producer
        .join()
        .unwrap_or_else(|_| panic!("producer panicked"));
    let popped = consumer
        .join()
        .unwrap_or_else(|_| panic!("consumer panicked"));
    let elapsed = started.elapsed();
    assert_eq!(pushed, popped, "checksums differ");
    eprintln!(
        "ring_stress: {total} f32 through a {capacity}-element ring ({channels} ch) in {:.2?} ({:.0} M items/s)",
        elapsed,
        total as f64 / elapsed.as_secs_f64() / 1e6
    );
}

#[test]
fn two_threads_move_every_item_in_order() {
    run(items(), 1 << 14, 1);
}

#[test]
fn two_threads_move_whole_frames() {
    // 3 channels in a power-of-two ring: frames straddle the end of the data.
    run((items() / 10) / 3 * 3, 1 << 10, 3);
}
