//! Time as the caller tells it: the core reads no clock.
//!
//! An [`Instant`] is a count of milliseconds since an epoch the driver chooses (process start,
//! boot, the Unix epoch: only differences matter). Drivers convert their clock once, at the edge.

use core::fmt;
use core::time::Duration;

/// A point in time, in milliseconds since an epoch chosen by the caller.
///
/// ```
/// use core::time::Duration;
/// use warp_proto::ws::Instant;
///
/// let t = Instant::from_millis(1_000);
/// assert_eq!(t.saturating_add(Duration::from_secs(2)), Instant::from_millis(3_000));
/// assert_eq!(Instant::from_millis(3_000).saturating_duration_since(t), Duration::from_secs(2));
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant(0);

    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + duration`, rounded down to whole milliseconds and capped at the largest instant.
    pub fn saturating_add(self, duration: Duration) -> Self {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(millis))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}
