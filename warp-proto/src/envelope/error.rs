//! The one error type of the envelope codec.

use core::fmt;

use crate::recon;

/// An envelope error: what went wrong, and the byte offset where it was noticed.
///
/// For decoding, the offset is into the frame; for encoding, into the output.
/// `Display` reads like `missing lane at byte 17`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeError {
    /// What went wrong.
    pub kind: EnvelopeErrorKind,
    /// Byte offset into the frame (decoding) or the output (encoding).
    pub offset: usize,
}

/// What went wrong with an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeErrorKind {
    /// The frame is not valid Recon (or, for [`Envelope::decode_bytes`], not UTF-8), or a body
    /// could not be written (for example a NaN float inside a [`Value`] body).
    ///
    /// [`Envelope::decode_bytes`]: super::Envelope::decode_bytes
    /// [`Value`]: crate::recon::Value
    Recon(recon::ErrorKind),
    /// The frame is Recon but does not start with a tag attribute (`{}`, `1`, `"@event"`, the
    /// empty frame, …).
    NotAnEnvelope,
    /// The first attribute is not one of the twelve WARP tags (tags are case-sensitive).
    UnknownTag,
    /// A lane- or link-addressed envelope without a node.
    MissingNode,
    /// A lane- or link-addressed envelope without a lane.
    MissingLane,
    /// The node argument is present but empty (`node:,` or a positional empty value).
    EmptyNode,
    /// The lane argument is present but empty (`lane:)`).
    EmptyLane,
    /// The node is not text: a number, a record or data (`node:1`, `node:{}`).
    NodeNotText,
    /// The lane is not text.
    LaneNotText,
    /// `prio` of a `link`, `sync` or `linked` envelope is not a number (nor a string holding
    /// one).
    BadPrio,
    /// `rate` of a `link`, `sync` or `linked` envelope is not a number (nor a string holding
    /// one).
    BadRate,
    /// Encoding: the output buffer is too small; `required` is the exact size of the frame.
    BufferTooSmall {
        /// Bytes needed for the whole frame.
        required: usize,
    },
    /// Encoding: the `core::fmt::Write` sink reported an error.
    Fmt,
}

impl EnvelopeError {
    /// An error of `kind` at byte `offset`.
    pub const fn new(kind: EnvelopeErrorKind, offset: usize) -> Self {
        EnvelopeError { kind, offset }
    }

    /// The Recon error, with its offset moved by `base` bytes (the start of the text that the
    /// Recon reader or writer saw, within the frame or output).
    pub const fn from_recon(err: recon::Error, base: usize) -> Self {
        EnvelopeError {
            kind: EnvelopeErrorKind::Recon(err.kind),
            offset: base.saturating_add(err.offset),
        }
    }

    /// The underlying Recon error (with this error's offset), if this is a Recon error.
    pub const fn recon_error(&self) -> Option<recon::Error> {
        match self.kind {
            EnvelopeErrorKind::Recon(kind) => Some(recon::Error::new(kind, self.offset)),
            _ => None,
        }
    }
}

impl From<recon::Error> for EnvelopeError {
    fn from(err: recon::Error) -> Self {
        EnvelopeError::from_recon(err, 0)
    }
}

impl fmt::Display for EnvelopeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnvelopeErrorKind::Recon(_) => "Recon error",
            EnvelopeErrorKind::NotAnEnvelope => "not an envelope (no leading tag attribute)",
            EnvelopeErrorKind::UnknownTag => "unknown envelope tag",
            EnvelopeErrorKind::MissingNode => "missing node",
            EnvelopeErrorKind::MissingLane => "missing lane",
            EnvelopeErrorKind::EmptyNode => "empty node",
            EnvelopeErrorKind::EmptyLane => "empty lane",
            EnvelopeErrorKind::NodeNotText => "node is not text",
            EnvelopeErrorKind::LaneNotText => "lane is not text",
            EnvelopeErrorKind::BadPrio => "prio is not a number",
            EnvelopeErrorKind::BadRate => "rate is not a number",
            EnvelopeErrorKind::BufferTooSmall { .. } => "output buffer too small",
            EnvelopeErrorKind::Fmt => "formatter error",
        })
    }
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            EnvelopeErrorKind::Recon(kind) => {
                fmt::Display::fmt(&recon::Error::new(kind, self.offset), f)
            }
            EnvelopeErrorKind::BufferTooSmall { required } => write!(
                f,
                "output buffer too small at byte {} ({} bytes required)",
                self.offset, required
            ),
            kind => write!(f, "{} at byte {}", kind, self.offset),
        }
    }
}

impl core::error::Error for EnvelopeError {}
