//! What can go wrong on a connection: bad frames from the peer, a full outbound queue, and
//! application calls that do not fit the link's state.

use core::fmt;

use crate::envelope::{EnvelopeError, Tag};

/// Which bound of the outbound queue is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bound {
    /// [`Config::max_queued_frames`](super::Config::max_queued_frames).
    Frames,
    /// [`Config::max_queued_bytes`](super::Config::max_queued_bytes) (or the capacity of
    /// [`Fixed`](super::Fixed) storage).
    Bytes,
}

/// The outbound queue refused an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QueueError {
    /// Backpressure: the queue is at `bound`. Nothing was changed; drain
    /// `poll_transmit` and make the same call again.
    Full {
        /// The bound reached.
        bound: Bound,
    },
    /// The encoded frame is longer than the queue can ever hold, even empty.
    FrameTooLarge {
        /// Its encoded length in bytes.
        len: usize,
    },
    /// The envelope encoder refused the envelope (for example a body that is not Recon).
    Unencodable,
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::Full {
                bound: Bound::Frames,
            } => f.write_str("outbound queue full (frame count bound)"),
            QueueError::Full {
                bound: Bound::Bytes,
            } => f.write_str("outbound queue full (byte bound)"),
            QueueError::FrameTooLarge { len } => {
                write!(
                    f,
                    "frame of {len} bytes exceeds the outbound queue capacity"
                )
            }
            QueueError::Unencodable => f.write_str("envelope cannot be encoded"),
        }
    }
}

impl core::error::Error for QueueError {}

/// Why a connection closes: the WebSocket close frame the driver must send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Close {
    /// The application closed the connection (code 1000).
    Normal,
    /// The server is shutting down or the client is going away (code 1001).
    GoingAway,
    /// The peer could not keep up (a slow consumer) or the server is overloaded; it may try
    /// again later (code 1013).
    Overloaded,
    /// The client sent `deauth`; the server answered `deauthed` (code 1000).
    Deauthed,
    /// The server's authenticator refused the credentials of an `auth` (code 1008, policy).
    AuthRefused,
    /// Too many frames were not valid envelopes (code 1002, protocol error).
    ProtocolError,
    /// Too many frames, the last one included, were not valid UTF-8 (code 1007).
    InvalidUtf8,
    /// A frame was longer than [`Config::max_frame_len`](super::Config::max_frame_len)
    /// (code 1009, message too big).
    FrameTooLarge,
}

impl Close {
    /// The WebSocket close code.
    pub const fn code(self) -> u16 {
        match self {
            Close::Normal | Close::Deauthed => 1000,
            Close::GoingAway => 1001,
            Close::Overloaded => 1013,
            Close::AuthRefused => 1008,
            Close::ProtocolError => 1002,
            Close::InvalidUtf8 => 1007,
            Close::FrameTooLarge => 1009,
        }
    }

    /// A short reason for the close frame (at most 123 bytes, as WebSocket requires).
    pub const fn reason(self) -> &'static str {
        match self {
            Close::Normal => "",
            Close::GoingAway => "Going away",
            Close::Overloaded => "Try again later",
            Close::Deauthed => "Deauthed",
            Close::AuthRefused => "Forbidden",
            Close::ProtocolError => "Protocol error",
            Close::InvalidUtf8 => "Invalid UTF-8",
            Close::FrameTooLarge => "Frame too large",
        }
    }
}

/// What was wrong with a received frame.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ProtocolErrorKind {
    /// The text is not a valid envelope.
    Envelope(EnvelopeError),
    /// The frame bytes are not UTF-8 (only from `handle_frame_bytes`).
    InvalidUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// A binary WebSocket frame: WARP uses text frames only.
    Binary,
    /// A valid envelope that this role never receives (for example `linked` sent to a server).
    Unexpected(Tag),
    /// A frame longer than [`Config::max_frame_len`](super::Config::max_frame_len); this closes
    /// the connection at once.
    FrameTooLarge {
        /// The frame's length in bytes.
        len: usize,
    },
}

/// A received frame the connection could not use. The frame is consumed and counted; the
/// connection goes on unless `close` is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProtocolError {
    /// What was wrong.
    pub kind: ProtocolErrorKind,
    /// Bad frames received on this connection so far, this one included.
    pub count: u32,
    /// Set when this frame made the connection close (the close is queued behind the frames
    /// already in the outbound queue).
    pub close: Option<Close>,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ProtocolErrorKind::Envelope(e) => write!(f, "invalid envelope: {e}")?,
            ProtocolErrorKind::InvalidUtf8 { valid_up_to } => {
                write!(f, "frame is not UTF-8 (valid up to byte {valid_up_to})")?
            }
            ProtocolErrorKind::Binary => f.write_str("binary frame")?,
            ProtocolErrorKind::Unexpected(tag) => {
                write!(f, "unexpected @{} envelope for this role", tag.name())?
            }
            ProtocolErrorKind::FrameTooLarge { len } => write!(f, "frame of {len} bytes")?,
        }
        write!(f, " (bad frame {})", self.count)?;
        if let Some(close) = self.close {
            write!(f, "; closing with {}", close.code())?;
        }
        Ok(())
    }
}

impl core::error::Error for ProtocolError {}

/// A `handle_*` call did not complete.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum HandleError {
    /// The frame was bad; it is consumed and counted (see [`ProtocolError::close`]).
    Protocol(ProtocolError),
    /// The outbound queue cannot take the answer the frame requires. Nothing changed: drain
    /// `poll_transmit` and hand in the same frame again.
    Backpressure(Bound),
    /// The connection is closed or closing; the frame is ignored.
    Closed,
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleError::Protocol(e) => fmt::Display::fmt(e, f),
            HandleError::Backpressure(_) => f.write_str("outbound queue full; drain and retry"),
            HandleError::Closed => f.write_str("connection closed"),
        }
    }
}

impl core::error::Error for HandleError {}

impl From<ProtocolError> for HandleError {
    fn from(e: ProtocolError) -> Self {
        HandleError::Protocol(e)
    }
}

/// An application call on a connection was refused. Nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallError {
    /// The link id is not (or no longer) one of this connection's links.
    UnknownLink,
    /// The handle id is not (or no longer) one of this connection's handles.
    UnknownHandle,
    /// Server: `accept`/`reject` on a link already answered.
    NotPending,
    /// Server: an event or `unlink` on a link not yet accepted.
    NotOpen,
    /// Server: `sync_event`/`synced` on a link with no `sync` to answer.
    NotSyncing,
    /// Server: `authenticate` with no `auth` to answer.
    NoAuthPending,
    /// Client: the link table is full ([`Config::max_links`](super::Config::max_links)).
    TooManyLinks,
    /// Client: the handle table is full ([`Config::max_handles`](super::Config::max_handles)).
    TooManyHandles,
    /// A node or lane URI is longer than [`Config::max_uri_len`](super::Config::max_uri_len)
    /// (or the [`Fixed`](super::Fixed) capacity).
    UriTooLong,
    /// A node or lane URI is empty.
    EmptyUri,
    /// The outbound queue refused the envelope ([`QueueError::Full`] is backpressure).
    Queue(QueueError),
    /// The connection is closed or closing.
    Closed,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::UnknownLink => f.write_str("unknown link"),
            CallError::UnknownHandle => f.write_str("unknown handle"),
            CallError::NotPending => f.write_str("link already answered"),
            CallError::NotOpen => f.write_str("link not open"),
            CallError::NotSyncing => f.write_str("no sync to answer on this link"),
            CallError::NoAuthPending => f.write_str("no auth to answer"),
            CallError::TooManyLinks => f.write_str("link table full"),
            CallError::TooManyHandles => f.write_str("handle table full"),
            CallError::UriTooLong => f.write_str("node or lane URI too long"),
            CallError::EmptyUri => f.write_str("empty node or lane URI"),
            CallError::Queue(e) => fmt::Display::fmt(e, f),
            CallError::Closed => f.write_str("connection closed"),
        }
    }
}

impl core::error::Error for CallError {}

impl From<QueueError> for CallError {
    fn from(e: QueueError) -> Self {
        CallError::Queue(e)
    }
}
