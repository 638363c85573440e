//! Errors of the WebSocket frame layer: what the peer did wrong, and where.

use core::fmt;

use super::close::CloseCode;

/// What is wrong with the bytes a peer sent (RFC 6455 section 5).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WsErrorKind {
    /// One of RSV1..RSV3 is set; no extension was negotiated. Holds the three bits.
    ReservedBits(u8),
    /// The opcode is not one RFC 6455 defines.
    UnknownOpcode(u8),
    /// A control frame (close, ping, pong) without the FIN bit.
    FragmentedControl,
    /// A control frame whose payload is longer than 125 bytes.
    ControlTooLong,
    /// A 64-bit payload length with its most significant bit set.
    LengthMsbSet,
    /// A server received a frame the client did not mask.
    UnmaskedFrame,
    /// A client received a frame the server masked.
    MaskedFrame,
    /// A frame longer than the configured maximum frame size.
    FrameTooLarge {
        /// The announced payload length.
        len: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A message longer than the configured maximum message size (or the receive storage).
    MessageTooLarge {
        /// The length the message would reach with this frame.
        len: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A continuation frame with no fragmented message in progress.
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is still open.
    ExpectedContinuation,
    /// A text message that is not valid UTF-8.
    InvalidUtf8,
    /// A close frame whose status code may not appear on the wire.
    InvalidCloseCode(u16),
    /// A close frame with a one-byte payload.
    ClosePayloadTooShort,
    /// A close frame whose reason is not valid UTF-8.
    InvalidCloseReason,
}

impl WsErrorKind {
    /// The close code an endpoint sends when it fails the connection for this error: 1009 for
    /// sizes, 1007 for bad UTF-8, 1002 for everything else.
    pub fn close_code(self) -> CloseCode {
        match self {
            WsErrorKind::FrameTooLarge { .. } | WsErrorKind::MessageTooLarge { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            WsErrorKind::InvalidUtf8 | WsErrorKind::InvalidCloseReason => {
                CloseCode::INVALID_PAYLOAD
            }
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A short reason text for the close frame sent because of this error.
    pub fn close_reason(self) -> &'static str {
        match self {
            WsErrorKind::FrameTooLarge { .. } => "frame too large",
            WsErrorKind::MessageTooLarge { .. } => "message too large",
            WsErrorKind::InvalidUtf8 => "invalid UTF-8",
            WsErrorKind::InvalidCloseReason => "invalid UTF-8 in close reason",
            _ => "protocol error",
        }
    }
}

impl fmt::Display for WsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WsErrorKind::ReservedBits(bits) => {
                write!(f, "reserved bits {bits:#05b} set without an extension")
            }
            WsErrorKind::UnknownOpcode(op) => write!(f, "unknown opcode {op:#x}"),
            WsErrorKind::FragmentedControl => f.write_str("fragmented control frame"),
            WsErrorKind::ControlTooLong => f.write_str("control frame payload over 125 bytes"),
            WsErrorKind::LengthMsbSet => {
                f.write_str("64-bit payload length with the most significant bit set")
            }
            WsErrorKind::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            WsErrorKind::MaskedFrame => f.write_str("masked frame from a server"),
            WsErrorKind::FrameTooLarge { len, limit } => {
                write!(f, "frame of {len} bytes exceeds the limit of {limit}")
            }
            WsErrorKind::MessageTooLarge { len, limit } => {
                write!(f, "message of {len} bytes exceeds the limit of {limit}")
            }
            WsErrorKind::UnexpectedContinuation => {
                f.write_str("continuation frame without a message in progress")
            }
            WsErrorKind::ExpectedContinuation => {
                f.write_str("new data frame while a fragmented message is in progress")
            }
            WsErrorKind::InvalidUtf8 => f.write_str("text message is not valid UTF-8"),
            WsErrorKind::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            WsErrorKind::ClosePayloadTooShort => f.write_str("close payload of one byte"),
            WsErrorKind::InvalidCloseReason => f.write_str("close reason is not valid UTF-8"),
        }
    }
}

/// A protocol violation by the peer, with the byte offset where it was found.
///
/// For the stand-alone decoders the offset counts from the start of the input slice; for a
/// [`WsConnection`](super::WsConnection) it counts from the first byte fed after the handshake.
///
/// ```
/// use warp_proto::ws::{decode_frame, CloseCode, Role, WsErrorKind};
///
/// // A text frame with RSV1 set.
/// let err = decode_frame(&[0xC1, 0x80, 1, 2, 3, 4], Role::Server, 1024).unwrap_err();
/// assert_eq!(err.kind, WsErrorKind::ReservedBits(0b100));
/// assert_eq!(err.offset, 0);
/// assert_eq!(err.close_code(), CloseCode::PROTOCOL_ERROR);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct WsError {
    /// What is wrong.
    pub kind: WsErrorKind,
    /// Byte offset of the offending byte (for sizes: the frame header; for UTF-8: the first
    /// invalid byte of the payload).
    pub offset: u64,
}

impl WsError {
    /// An error of `kind` at `offset`.
    pub const fn new(kind: WsErrorKind, offset: u64) -> Self {
        WsError { kind, offset }
    }

    /// The close code to fail the connection with (see [`WsErrorKind::close_code`]).
    pub fn close_code(&self) -> CloseCode {
        self.kind.close_code()
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl core::error::Error for WsError {}

/// Why a frame could not be written.
///
/// ```
/// use warp_proto::ws::{encode_frame, EncodeError, Opcode};
///
/// let mut out = [0u8; 4];
/// let err = encode_frame(&mut out, true, Opcode::Text, None, b"Hello").unwrap_err();
/// assert_eq!(err, EncodeError::BufferTooSmall { needed: 7 });
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is too small; `needed` bytes would do.
    BufferTooSmall {
        /// Total bytes the output needs.
        needed: usize,
    },
    /// A control frame payload over 125 bytes.
    ControlTooLong {
        /// The payload length asked for.
        len: usize,
    },
    /// A control frame without the FIN bit.
    FragmentedControl,
    /// A close code that may not be sent (1005, 1006, 1015, codes below 1000, ...).
    InvalidCloseCode(u16),
    /// A payload length of 2^63 bytes or more, which the frame format cannot carry.
    LengthTooLarge,
    /// A close reason over 123 bytes.
    CloseReasonTooLong {
        /// The reason length in bytes.
        len: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            EncodeError::ControlTooLong { len } => {
                write!(f, "control frame payload of {len} bytes exceeds 125")
            }
            EncodeError::FragmentedControl => f.write_str("control frames cannot be fragmented"),
            EncodeError::LengthTooLarge => f.write_str("payload length of 2^63 bytes or more"),
            EncodeError::InvalidCloseCode(code) => write!(f, "close code {code} cannot be sent"),
            EncodeError::CloseReasonTooLong { len } => {
                write!(f, "close reason of {len} bytes exceeds 123")
            }
        }
    }
}

impl core::error::Error for EncodeError {}
