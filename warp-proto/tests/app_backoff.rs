//! The client's reconnection policy: back-off growth, cap and jitter bounds (proptest), the
//! reconnect state machine on a virtual clock and the command buffer.

use core::time::Duration;

use proptest::prelude::*;
use warp_proto::app::{Backoff, BufferError, CommandBuffer, Reconnect, ReconnectState};
use warp_proto::envelope::Body;
use warp_proto::ws::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn delays_double_up_to_the_cap() {
    let b = Backoff::new(ms(250), ms(10_000));
    let delays: Vec<u64> = (0..8).map(|a| b.next_delay(a).as_millis() as u64).collect();
    assert_eq!(delays, [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    assert_eq!(b.next_delay(u32::MAX), ms(10_000));
    let tripled = Backoff::new(ms(10), ms(1_000)).with_factor(3);
    assert_eq!(tripled.next_delay(2), ms(90));
    let flat = Backoff::new(ms(10), ms(1_000)).with_factor(1);
    assert_eq!(flat.next_delay(u32::MAX), ms(10));
    let zero = Backoff::new(ms(0), ms(1_000));
    assert_eq!(zero.next_delay(u32::MAX), ms(0));
    // A base above the cap is the cap.
    assert_eq!(Backoff::new(ms(5_000), ms(1_000)).next_delay(0), ms(1_000));
}

#[test]
fn schedule_counts_attempts_gives_up_and_resets() {
    let mut b = Backoff::new(ms(100), ms(1_000)).with_max_attempts(3);
    let t = Instant::from_millis(50);
    assert_eq!(b.schedule(t), Some(Instant::from_millis(150)));
    assert_eq!(b.schedule(t), Some(Instant::from_millis(250)));
    assert_eq!(b.schedule(t), Some(Instant::from_millis(450)));
    assert_eq!(b.attempt(), 3);
    assert_eq!(b.schedule(t), None);
    b.reset();
    assert_eq!(b.schedule(t), Some(Instant::from_millis(150)));
    // Deadlines saturate rather than wrap.
    let mut b = Backoff::new(ms(100), ms(1_000));
    assert_eq!(
        b.schedule(Instant::from_millis(u64::MAX)),
        Some(Instant::from_millis(u64::MAX))
    );
}

#[test]
fn jitter_differs_between_seeds_and_attempts() {
    let a = Backoff::new(ms(1_000), ms(60_000)).with_jitter(1000, 1);
    let b = Backoff::new(ms(1_000), ms(60_000)).with_jitter(1000, 2);
    let da: Vec<Duration> = (0..16).map(|n| a.next_delay(n)).collect();
    let db: Vec<Duration> = (0..16).map(|n| b.next_delay(n)).collect();
    assert_ne!(da, db);
    // Not all jittered delays equal their ceiling.
    assert!((0..16).any(|n| a.next_delay(n) != a.ceiling(n)));
    // A jitter above 1000‰ is 1000‰: delays stay within [0, ceiling].
    let c = Backoff::new(ms(1_000), ms(60_000)).with_jitter(u16::MAX, 3);
    assert!((0..16).all(|n| c.next_delay(n) <= c.ceiling(n)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn delays_stay_within_jitter_bounds_and_never_exceed_the_cap(
        base in 0u64..100_000,
        max in 0u64..10_000_000,
        factor in 0u32..10,
        permille in 0u16..=1000,
        seed in any::<u64>(),
        attempt in any::<u32>(),
    ) {
        let b = Backoff::new(ms(base), ms(max)).with_factor(factor).with_jitter(permille, seed);
        let ceiling = b.ceiling(attempt).as_millis() as u64;
        let delay = b.next_delay(attempt).as_millis() as u64;
        prop_assert!(ceiling <= max);
        prop_assert!(delay <= ceiling);
        // delay ≥ ceiling · (1 − permille/1000), up to rounding down of the cut.
        let floor = ceiling - (u128::from(ceiling) * u128::from(permille) / 1000) as u64;
        prop_assert!(delay >= floor, "delay {} below floor {}", delay, floor);
        // Deterministic.
        prop_assert_eq!(b.next_delay(attempt), b.next_delay(attempt));
    }

    #[test]
    fn ceilings_grow_monotonically_until_the_cap(
        base in 1u64..10_000,
        max in 1u64..10_000_000,
        factor in 2u32..5,
        attempt in 0u32..80,
    ) {
        let b = Backoff::new(ms(base), ms(max)).with_factor(factor);
        let now = b.ceiling(attempt);
        let next = b.ceiling(attempt + 1);
        prop_assert!(next >= now);
        if now < ms(max) {
            prop_assert_eq!(next, ms((now.as_millis() as u64 * u64::from(factor)).min(max)));
        }
        // Reaches the cap eventually.
        prop_assert_eq!(b.ceiling(200), ms(max));
    }
}

#[test]
fn reconnect_waits_connects_and_gives_up_on_a_virtual_clock() {
    let backoff = Backoff::new(ms(100), ms(400)).with_max_attempts(4);
    let mut r = Reconnect::new(backoff);
    let mut now = Instant::ZERO;
    let mut attempts = Vec::new();
    // Every attempt fails: deadlines at +100, +200, +400, +400, then give up.
    loop {
        assert_eq!(r.state(), ReconnectState::Connecting);
        attempts.push(now.as_millis());
        match r.disconnected(now) {
            Some(deadline) => {
                assert_eq!(r.poll_timeout(), Some(deadline));
                assert_eq!(r.disconnected(now), Some(deadline)); // idempotent while waiting
                assert!(!r.handle_timeout(Instant::from_millis(deadline.as_millis() - 1)));
                now = deadline;
                assert!(r.handle_timeout(now));
            }
            None => break,
        }
    }
    assert_eq!(attempts, [0, 100, 300, 700, 1100]);
    assert_eq!(r.state(), ReconnectState::GaveUp);
    assert_eq!(r.poll_timeout(), None);
    assert!(!r.handle_timeout(Instant::from_millis(u64::MAX)));

    // A connection resets the back-off.
    let mut r = Reconnect::new(Backoff::new(ms(100), ms(400)));
    r.disconnected(Instant::ZERO);
    r.handle_timeout(Instant::from_millis(100));
    r.disconnected(Instant::from_millis(100));
    assert_eq!(r.backoff().attempt(), 2);
    r.handle_timeout(Instant::from_millis(300));
    r.connected();
    assert_eq!(r.state(), ReconnectState::Connected);
    assert_eq!(r.backoff().attempt(), 0);
    assert_eq!(
        r.disconnected(Instant::from_millis(5_000)),
        Some(Instant::from_millis(5_100))
    );
    r.give_up();
    assert_eq!(r.disconnected(Instant::from_millis(6_000)), None);
}

#[test]
fn command_buffer_keeps_order_and_refuses_beyond_its_bounds() {
    let mut b = CommandBuffer::new(3, 40);
    b.push("/unit/1", "add", Body::from_raw("5")).unwrap(); // 11 bytes
    b.push("/unit/1", "set_info", Body::from_raw("\"hi\""))
        .unwrap(); // 19 bytes
    assert_eq!(b.bytes(), 30);
    assert_eq!(
        b.push("/unit/1", "set_info", Body::from_raw("\"too long\"")),
        Err(BufferError::TooLarge { max: 40 })
    );
    b.push("/u", "add", Body::from_raw("1")).unwrap();
    assert_eq!(
        b.push("/u", "a", Body::absent()),
        Err(BufferError::TooMany { max: 3 })
    );
    assert_eq!(b.len(), 3);
    let first = b.pop().unwrap();
    assert_eq!(
        (first.node.as_str(), first.lane.as_str(), first.body().raw()),
        ("/unit/1", "add", "5")
    );
    assert_eq!(b.front().map(|c| c.lane.as_str()), Some("set_info"));
    assert_eq!(b.bytes(), 25);
    b.clear();
    assert!(b.is_empty());
    assert_eq!(b.bytes(), 0);
    assert!(b.pop().is_none());
}
