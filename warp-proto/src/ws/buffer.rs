//! Caller-owned byte storage for the WebSocket connection.
//!
//! The connection never allocates on its own: it works inside storages the caller lends it. A
//! fixed array or a borrowed slice never grows; with the `alloc` feature a `Vec<u8>` grows on
//! demand up to the limit the connection passes (its configured maximum message size).

#[cfg(feature = "alloc")]
use alloc::{boxed::Box, vec::Vec};

/// A byte region the connection reads and writes in place.
///
/// ```
/// use warp_proto::ws::Storage;
///
/// let mut fixed = [0u8; 8];
/// assert!(fixed.grow_to(8, usize::MAX));
/// assert!(!fixed.grow_to(9, usize::MAX)); // a fixed storage never grows
/// assert_eq!(Storage::max_len(&fixed), 8);
/// ```
pub trait Storage {
    /// The bytes currently available.
    fn bytes(&self) -> &[u8];

    /// The bytes currently available, writable.
    fn bytes_mut(&mut self) -> &mut [u8];

    /// Makes at least `min_len` bytes available, growing if this storage can but never past
    /// `limit`. Returns whether `bytes().len() >= min_len` afterwards. Content already in the
    /// storage is kept.
    fn grow_to(&mut self, min_len: usize, limit: usize) -> bool {
        let _ = limit;
        self.bytes().len() >= min_len
    }

    /// The largest size this storage can ever reach (its length for fixed storages).
    fn max_len(&self) -> usize {
        self.bytes().len()
    }
}

impl<const N: usize> Storage for [u8; N] {
    fn bytes(&self) -> &[u8] {
        self
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl Storage for &mut [u8] {
    fn bytes(&self) -> &[u8] {
        self
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

#[cfg(feature = "alloc")]
impl Storage for Box<[u8]> {
    fn bytes(&self) -> &[u8] {
        self
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

/// A growable storage: its length is the region in use; it doubles (up to the limit) when more
/// is needed.
#[cfg(feature = "alloc")]
impl Storage for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }

    fn grow_to(&mut self, min_len: usize, limit: usize) -> bool {
        if self.len() >= min_len {
            return true;
        }
        if min_len > limit {
            return false;
        }
        let doubled = self.len().saturating_mul(2).min(limit);
        self.resize(doubled.max(min_len).max(64.min(limit)), 0);
        true
    }

    fn max_len(&self) -> usize {
        usize::MAX
    }
}
