//! What a connection hands out: messages, how it ended, and why a send failed.

use core::fmt;

use crate::ws::close::CloseCode;
use crate::ws::error::{EncodeError, WsError};

/// A complete message received, borrowed from the reassembly storage.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message, valid UTF-8 (checked).
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

/// Which side started the close handshake.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CloseInitiator {
    /// This endpoint sent the first close frame.
    Local,
    /// The peer did.
    Remote,
}

/// How a connection ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The close handshake completed.
    Closed {
        /// Who sent the first close frame.
        initiator: CloseInitiator,
        /// The status code in the peer's close frame, if it had one.
        code: Option<CloseCode>,
    },
    /// The peer broke the protocol; this endpoint sent a close frame with
    /// [`WsError::close_code`] and stopped reading.
    ProtocolError(WsError),
    /// The transport ended without a close handshake (what RFC 6455 reports as 1006).
    Abnormal,
    /// No input within the idle timeout, or no close frame back within the close timeout.
    TimedOut,
}

impl CloseReason {
    /// The status code to report: the peer's code (1005 if it sent none), the code sent for
    /// a protocol error, or 1006 when no close frame was received.
    pub fn code(&self) -> CloseCode {
        match self {
            CloseReason::Closed { code, .. } => code.unwrap_or(CloseCode::NO_STATUS),
            CloseReason::ProtocolError(e) => e.close_code(),
            CloseReason::Abnormal | CloseReason::TimedOut => CloseCode::ABNORMAL,
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Closed { initiator, code } => {
                let by = match initiator {
                    CloseInitiator::Local => "locally",
                    CloseInitiator::Remote => "by the peer",
                };
                match code {
                    Some(code) => write!(f, "closed {by} with code {code}"),
                    None => write!(f, "closed {by} without a code"),
                }
            }
            CloseReason::ProtocolError(e) => write!(f, "protocol error: {e}"),
            CloseReason::Abnormal => f.write_str("transport closed without a close handshake"),
            CloseReason::TimedOut => f.write_str("timed out"),
        }
    }
}

/// Where a connection is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum WsState {
    /// Messages flow both ways.
    Open,
    /// A close frame was sent or received (or the connection failed) and bytes remain to
    /// be transmitted, or the peer's close frame is awaited. No more messages can be sent.
    Closing,
    /// Finished: [`WsConnection::poll_closed`](crate::ws::WsConnection::poll_closed) tells why.
    Closed,
}

/// Why a message or control frame could not be queued.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame was sent or received: no more messages may be sent.
    Closing,
    /// The connection is closed.
    Closed,
    /// The transmit storage is too full now: transmit what is queued and try again.
    WouldBlock {
        /// Bytes the frame(s) need.
        needed: usize,
        /// Bytes free now.
        available: usize,
    },
    /// The frame(s) can never fit the transmit storage (or `max_transmit_len`).
    TooLarge {
        /// Bytes the frame(s) need.
        needed: usize,
        /// The most the transmit storage can hold.
        limit: usize,
    },
    /// The frame itself is invalid (control payload too long, invalid close code, ...).
    Encode(EncodeError),
    /// The writer given to [`WsConnection::send_text_with`](crate::ws::WsConnection::send_text_with) produced invalid UTF-8.
    InvalidUtf8 {
        /// Offset of the first invalid byte in the text written.
        offset: usize,
    },
    /// The writer given to [`WsConnection::send_text_with`](crate::ws::WsConnection::send_text_with) reported more bytes than it was
    /// given room for.
    WriterOverrun {
        /// What it reported.
        written: usize,
        /// The room it had.
        capacity: usize,
    },
}

impl From<EncodeError> for SendError {
    fn from(e: EncodeError) -> Self {
        SendError::Encode(e)
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SendError::Closing => f.write_str("the connection is closing"),
            SendError::Closed => f.write_str("the connection is closed"),
            SendError::WouldBlock { needed, available } => {
                write!(
                    f,
                    "transmit storage full: {needed} bytes needed, {available} free"
                )
            }
            SendError::TooLarge { needed, limit } => {
                write!(
                    f,
                    "{needed} bytes can never fit a transmit storage of {limit}"
                )
            }
            SendError::Encode(e) => fmt::Display::fmt(&e, f),
            SendError::InvalidUtf8 { offset } => {
                write!(f, "text written is not valid UTF-8 at byte {offset}")
            }
            SendError::WriterOverrun { written, capacity } => {
                write!(
                    f,
                    "writer reported {written} bytes with room for {capacity}"
                )
            }
        }
    }
}

impl core::error::Error for SendError {}

/// The error of [`WsConnection::send_text_with`](crate::ws::WsConnection::send_text_with): the connection's, or the writer's own.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SendWithError<E> {
    /// The message could not be queued.
    Send(SendError),
    /// The writer failed (nothing was queued).
    Write(E),
}

impl<E> From<SendError> for SendWithError<E> {
    fn from(e: SendError) -> Self {
        SendWithError::Send(e)
    }
}

impl<E: fmt::Display> fmt::Display for SendWithError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendWithError::Send(e) => fmt::Display::fmt(e, f),
            SendWithError::Write(e) => write!(f, "message writer failed: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for SendWithError<E> {}

/// Why a connection could not be created.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The transmit storage cannot hold one control frame (139 bytes).
    TransmitStorageTooSmall {
        /// Bytes required.
        needed: usize,
        /// Bytes it can hold.
        capacity: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::TransmitStorageTooSmall { needed, capacity } => write!(
                f,
                "transmit storage of {capacity} bytes is smaller than the {needed} required"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}
