//! Incremental UTF-8 validation for text messages that arrive in fragments.
//!
//! RFC 6455 allows a code point to straddle two fragments, so each fragment cannot be checked
//! alone; but a byte that can never start or continue valid UTF-8 must fail the connection at
//! once ("fail fast"), not at the end of the message.

use core::fmt;

/// Where invalid UTF-8 was found: the offset of the first byte that cannot be valid, counted
/// from the first byte fed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Utf8Error {
    /// Offset of the first invalid byte (for a truncated sequence at the end: of its first byte).
    pub offset: u64,
}

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid UTF-8 at byte {}", self.offset)
    }
}

impl core::error::Error for Utf8Error {}

/// Validates UTF-8 fed in arbitrary pieces.
///
/// [`feed`](Self::feed) fails as soon as the bytes seen cannot begin any valid text;
/// a sequence cut at the end of a piece is kept (at most 3 bytes) until the next piece;
/// [`finish`](Self::finish) fails if one is still open.
///
/// ```
/// use warp_proto::ws::Utf8Validator;
///
/// let euro = "€".as_bytes(); // E2 82 AC
/// let mut v = Utf8Validator::new();
/// v.feed(&euro[..1]).unwrap();
/// v.feed(&euro[1..]).unwrap();
/// v.finish().unwrap();
///
/// let mut v = Utf8Validator::new();
/// v.feed(b"ok\xE2\x82").unwrap(); // incomplete is fine for now
/// assert_eq!(v.finish().unwrap_err().offset, 2);
///
/// let mut v = Utf8Validator::new();
/// assert_eq!(v.feed(b"abc\xFF").unwrap_err().offset, 3);
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    pending: [u8; 4],
    pending_len: u8,
    fed: u64,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Self {
        Utf8Validator {
            pending: [0; 4],
            pending_len: 0,
            fed: 0,
        }
    }

    /// Total bytes fed so far.
    pub const fn fed(&self) -> u64 {
        self.fed
    }

    /// Whether the bytes fed so far end inside a code point.
    pub const fn is_incomplete(&self) -> bool {
        self.pending_len != 0
    }

    /// Checks the next piece of text.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), Utf8Error> {
        // Finish a code point left open by the previous piece, one byte at a time.
        while self.pending_len != 0 {
            let Some((&byte, rest)) = chunk.split_first() else {
                return Ok(());
            };
            let len = usize::from(self.pending_len);
            let seq_start = self.fed.saturating_sub(len as u64);
            let Some(slot) = self.pending.get_mut(len) else {
                // Four pending bytes would have formed a complete or an invalid sequence.
                return Err(Utf8Error { offset: seq_start });
            };
            *slot = byte;
            self.pending_len = self.pending_len.saturating_add(1);
            self.fed = self.fed.saturating_add(1);
            chunk = rest;
            let seq = self.pending.get(..len + 1).unwrap_or(&[]);
            match core::str::from_utf8(seq) {
                Ok(_) => self.pending_len = 0,
                Err(e) if e.error_len().is_some() => return Err(Utf8Error { offset: seq_start }),
                Err(_) => {}
            }
        }
        match core::str::from_utf8(chunk) {
            Ok(_) => {
                self.fed = self.fed.saturating_add(chunk.len() as u64);
                Ok(())
            }
            Err(e) => {
                let valid = e.valid_up_to();
                let at = self.fed.saturating_add(valid as u64);
                if e.error_len().is_some() {
                    return Err(Utf8Error { offset: at });
                }
                // A valid but unfinished sequence ends the chunk: keep it (1 to 3 bytes).
                let tail = chunk.get(valid..).unwrap_or(&[]);
                for (slot, &byte) in self.pending.iter_mut().zip(tail) {
                    *slot = byte;
                }
                self.pending_len = u8::try_from(tail.len().min(4)).unwrap_or(4);
                self.fed = self.fed.saturating_add(chunk.len() as u64);
                Ok(())
            }
        }
    }

    /// Checks that the text ends on a code point boundary.
    pub fn finish(&self) -> Result<(), Utf8Error> {
        if self.pending_len == 0 {
            Ok(())
        } else {
            Err(Utf8Error {
                offset: self.fed.saturating_sub(u64::from(self.pending_len)),
            })
        }
    }

    /// Forgets everything: ready for a new text.
    pub fn reset(&mut self) {
        *self = Utf8Validator::new();
    }
}
