//! The bounded outbound queue of encoded frames, shared by both roles.
//!
//! Frames are stored back to back in one byte buffer, each as a 4-byte little-endian length and
//! then the frame text. Popping only moves the read position, so the popped frame can be lent to
//! the caller until the next call that takes `&mut self`; a push first moves the unread frames to
//! the front.

use core::fmt;

use super::error::{Bound, QueueError};
use super::storage::sealed::Bytes;
use super::Config;
use crate::envelope::Envelope;

const PREFIX: usize = 4;

/// Where the queue stood before a group of pushes, to undo them all if one fails.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark {
    len: usize,
    frames: usize,
    text_bytes: usize,
}

pub(crate) struct Outbound<B> {
    buf: B,
    head: usize,
    frames: usize,
    text_bytes: usize,
    max_frames: usize,
    max_bytes: usize,
}

/// A `fmt::Write` sink appending to the queue, refusing to pass `limit` text bytes.
struct Sink<'q, B> {
    buf: &'q mut B,
    written: usize,
    limit: usize,
    overflow: bool,
}

impl<B: Bytes> fmt::Write for Sink<'_, B> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let Some(total) = self.written.checked_add(s.len()) else {
            self.overflow = true;
            return Err(fmt::Error);
        };
        if total > self.limit || !self.buf.extend(s.as_bytes()) {
            self.overflow = true;
            return Err(fmt::Error);
        }
        self.written = total;
        Ok(())
    }
}

/// A `fmt::Write` sink that only counts, to tell the caller how large a refused frame is.
struct Counter(usize);

impl fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 = self.0.saturating_add(s.len());
        Ok(())
    }
}

impl<B: Bytes> Outbound<B> {
    pub(crate) fn new(config: &Config) -> Self {
        Outbound {
            buf: B::default(),
            head: 0,
            frames: 0,
            text_bytes: 0,
            max_frames: config.max_queued_frames,
            max_bytes: config.max_queued_bytes,
        }
    }

    /// Frames waiting.
    pub(crate) fn frames(&self) -> usize {
        self.frames
    }

    /// Text bytes waiting (without the length prefixes).
    pub(crate) fn bytes(&self) -> usize {
        self.text_bytes
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            len: self.buf.as_slice().len(),
            frames: self.frames,
            text_bytes: self.text_bytes,
        }
    }

    /// Undoes every push made since `mark` (no pop may have happened in between).
    pub(crate) fn rollback(&mut self, mark: Mark) {
        self.buf.truncate(mark.len);
        self.frames = mark.frames;
        self.text_bytes = mark.text_bytes;
    }

    /// Moves the unread frames to the front of the buffer.
    fn compact(&mut self) {
        if self.head == 0 {
            return;
        }
        let len = self.buf.as_slice().len();
        if self.head >= len {
            self.buf.truncate(0);
        } else {
            self.buf.as_mut_slice().copy_within(self.head..len, 0);
            self.buf.truncate(len - self.head);
        }
        self.head = 0;
    }

    /// Encodes `envelope` as one more frame.
    pub(crate) fn push(&mut self, envelope: &Envelope<'_>) -> Result<(), QueueError> {
        if self.frames >= self.max_frames {
            return Err(QueueError::Full {
                bound: Bound::Frames,
            });
        }
        self.compact();
        let start = self.buf.as_slice().len();
        let room = self.max_bytes.saturating_sub(self.text_bytes);
        if !self.buf.extend(&[0; PREFIX]) {
            return Err(self.refusal(envelope, start));
        }
        let mut sink = Sink {
            buf: &mut self.buf,
            written: 0,
            limit: room,
            overflow: false,
        };
        let encoded = encode(envelope, &mut sink);
        let (written, overflow) = (sink.written, sink.overflow);
        if overflow {
            return Err(self.refusal(envelope, start));
        }
        if encoded.is_err() {
            self.buf.truncate(start);
            return Err(QueueError::Unencodable);
        }
        let Ok(len32) = u32::try_from(written) else {
            self.buf.truncate(start);
            return Err(QueueError::FrameTooLarge { len: written });
        };
        if let Some(prefix) = self.buf.as_mut_slice().get_mut(start..start + PREFIX) {
            prefix.copy_from_slice(&len32.to_le_bytes());
        }
        self.frames += 1;
        self.text_bytes += written;
        Ok(())
    }

    /// The error for a frame that did not fit: `Full` when draining would make room,
    /// `FrameTooLarge` when it never fits.
    fn refusal(&mut self, envelope: &Envelope<'_>, start: usize) -> QueueError {
        self.buf.truncate(start);
        if self.frames > 0 {
            return QueueError::Full {
                bound: Bound::Bytes,
            };
        }
        let mut counter = Counter(0);
        let _ = encode(envelope, &mut counter);
        QueueError::FrameTooLarge { len: counter.0 }
    }

    /// Removes the oldest frame and lends it until the queue is next changed.
    pub(crate) fn pop(&mut self) -> Option<&str> {
        if self.frames == 0 {
            return None;
        }
        let bytes = self.buf.as_slice();
        let prefix = bytes.get(self.head..self.head.checked_add(PREFIX)?)?;
        let mut len_bytes = [0u8; PREFIX];
        len_bytes.copy_from_slice(prefix);
        let len = usize::try_from(u32::from_le_bytes(len_bytes)).ok()?;
        let start = self.head + PREFIX;
        let end = start.checked_add(len)?;
        let text = bytes.get(start..end)?;
        self.head = end;
        self.frames -= 1;
        self.text_bytes = self.text_bytes.saturating_sub(len);
        // Only whole `str`s are ever written in, so this never fails.
        core::str::from_utf8(text).ok()
    }

    /// Clears the queue (the connection closed for good).
    pub(crate) fn clear(&mut self) {
        self.buf.truncate(0);
        self.head = 0;
        self.frames = 0;
        self.text_bytes = 0;
    }
}

/// Encodes one envelope into `out`.
fn encode(envelope: &Envelope<'_>, out: &mut impl fmt::Write) -> Result<(), ()> {
    envelope.encode(out).map_err(|_| ())
}
