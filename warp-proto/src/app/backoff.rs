//! Exponential back-off with a cap and deterministic jitter, for reconnecting clients.

use core::time::Duration;

use crate::ws::Instant;

/// Exponential back-off: the delay before retry `attempt` (0 for the first retry) is
/// `min(max, base · factor^attempt)`, less a jitter of up to `jitter` of it drawn from a
/// caller-provided seed, so the same seed always gives the same delays (and different clients,
/// given different seeds, spread their retries).
///
/// Delays are whole milliseconds, like [`Instant`].
///
/// ```
/// use core::time::Duration;
/// use warp_proto::app::Backoff;
/// use warp_proto::ws::Instant;
///
/// let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
/// assert_eq!(b.next_delay(0), Duration::from_millis(100));
/// assert_eq!(b.next_delay(3), Duration::from_millis(800));
/// assert_eq!(b.next_delay(10), Duration::from_secs(5));
///
/// let now = Instant::from_millis(1_000);
/// assert_eq!(b.schedule(now), Some(Instant::from_millis(1_100)));
/// assert_eq!(b.schedule(now), Some(Instant::from_millis(1_200)));
/// b.reset(); // connected
/// assert_eq!(b.attempt(), 0);
///
/// let jittered = Backoff::new(Duration::from_millis(100), Duration::from_secs(5))
///     .with_jitter(500, 42);
/// let d = jittered.next_delay(2);
/// assert!(d >= Duration::from_millis(200) && d <= Duration::from_millis(400));
/// assert_eq!(d, jittered.next_delay(2)); // deterministic
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Backoff {
    base_ms: u64,
    max_ms: u64,
    factor: u32,
    jitter_permille: u16,
    seed: u64,
    max_attempts: Option<u32>,
    attempt: u32,
}

impl Backoff {
    /// Doubling delays from `base`, capped at `max` (a `base` above `max` is taken as `max`),
    /// no jitter, no limit on attempts.
    pub fn new(base: Duration, max: Duration) -> Backoff {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let max_ms = millis(max);
        Backoff {
            base_ms: millis(base).min(max_ms),
            max_ms,
            factor: 2,
            jitter_permille: 0,
            seed: 0,
            max_attempts: None,
            attempt: 0,
        }
    }

    /// Multiplies the delay by `factor` per attempt (0 and 1 keep it at `base`).
    pub fn with_factor(mut self, factor: u32) -> Backoff {
        self.factor = factor;
        self
    }

    /// Takes off each delay up to `permille`/1000 of it (at most 1000), the fraction drawn
    /// deterministically from `seed` and the attempt number.
    pub fn with_jitter(mut self, permille: u16, seed: u64) -> Backoff {
        self.jitter_permille = permille.min(1000);
        self.seed = seed;
        self
    }

    /// Gives up after `n` retries: [`Backoff::schedule`] then returns `None`.
    pub fn with_max_attempts(mut self, n: u32) -> Backoff {
        self.max_attempts = Some(n);
        self
    }

    /// The delay before retry `attempt` without jitter: `min(max, base · factor^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let mut d = self.base_ms;
        for _ in 0..attempt {
            if d == 0 || d >= self.max_ms || self.factor <= 1 {
                break;
            }
            d = d.saturating_mul(u64::from(self.factor));
        }
        Duration::from_millis(d.min(self.max_ms))
    }

    /// The delay before retry `attempt` (0 for the first): the [ceiling](Backoff::ceiling) less
    /// its jitter. Always within `[ceiling · (1 − jitter), ceiling]` and never above `max`.
    pub fn next_delay(&self, attempt: u32) -> Duration {
        let ceiling = u64::try_from(self.ceiling(attempt).as_millis()).unwrap_or(u64::MAX);
        let r = u128::from(
            mix(self.seed ^ u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 32,
        );
        let cut = u128::from(ceiling) * u128::from(self.jitter_permille) * r / (1000u128 << 32);
        Duration::from_millis(ceiling.saturating_sub(u64::try_from(cut).unwrap_or(u64::MAX)))
    }

    /// Retries scheduled since the last [`Backoff::reset`].
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Schedules the next retry: its deadline `now + next_delay(attempt)`, counting the
    /// attempt; `None` once the attempts allowed are spent.
    pub fn schedule(&mut self, now: Instant) -> Option<Instant> {
        if self.max_attempts.is_some_and(|max| self.attempt >= max) {
            return None;
        }
        let delay = self.next_delay(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        Some(now.saturating_add(delay))
    }

    /// Starts over (after a successful connection).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
