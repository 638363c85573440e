//! How an endpoint ends ([`CloseReason`]) and what its calls can refuse ([`InputError`],
//! [`EndpointError`]).

use core::fmt;

use crate::connection::{Close, ProtocolError};
use crate::ws::{CloseCode, HandshakeError, WsError};

/// Why an endpoint ended, reported once by [`Output::Closed`](super::Output::Closed).
///
/// A reason decided by this end (a WARP protocol error, the application closing) stays the
/// reason even when the close handshake then times out or the transport drops.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum CloseReason {
    /// This end closed with `code`: the application called `close` (1000), the client sent
    /// `deauth` (1000) or an `auth` was refused (1008).
    Local {
        /// The code of the close frame this end sent.
        code: CloseCode,
    },
    /// The peer closed with `code` (`None`: its close frame had no code).
    Remote {
        /// The code in the peer's close frame.
        code: Option<CloseCode>,
    },
    /// The opening handshake failed: a server answered the request with an HTTP error (400,
    /// 426 or 431); a client got no valid `101` answer.
    Handshake(HandshakeError),
    /// The peer broke RFC 6455 (framing, masking, invalid UTF-8, a message over the size
    /// limit); this end sent a close frame with [`WsError::close_code`] (1002, 1007 or 1009).
    /// `offset` counts bytes from the first byte after the handshake (in message mode: bytes
    /// of the messages handed in).
    WebSocket(WsError),
    /// The peer sent frames that are not WARP envelopes (too many of them, or one too large);
    /// this end sent a close frame with the code in [`ProtocolError::close`]. The error says
    /// what was wrong with the last frame and where.
    Warp(ProtocolError),
    /// The transport ended without a close handshake (what RFC 6455 reports as 1006).
    TransportClosed,
    /// No input arrived within [`WsConfig::idle_timeout`](crate::ws::WsConfig::idle_timeout)
    /// (also while the opening handshake is incomplete).
    IdleTimeout,
}

impl CloseReason {
    /// The status code that describes the end: the code sent (local close, protocol errors),
    /// the peer's code (1005 when it sent none), or 1006 when no close frame was exchanged.
    pub fn code(&self) -> CloseCode {
        match self {
            CloseReason::Local { code } => *code,
            CloseReason::Remote { code } => code.unwrap_or(CloseCode::NO_STATUS),
            CloseReason::WebSocket(e) => e.close_code(),
            CloseReason::Warp(e) => match e.close {
                Some(close) => CloseCode::new(close.code()),
                None => CloseCode::PROTOCOL_ERROR,
            },
            CloseReason::Handshake(_) | CloseReason::TransportClosed | CloseReason::IdleTimeout => {
                CloseCode::ABNORMAL
            }
        }
    }

    /// The close frame this end sends because of this reason: code and reason text. A framed
    /// endpoint has already sent it; in message mode the caller sends it on its WebSocket.
    /// `None` when this end sends no close frame (the peer closed, the transport is gone, the
    /// idle timeout passed, the handshake failed).
    pub fn close_frame(&self) -> Option<(CloseCode, &'static str)> {
        match self {
            CloseReason::Local { code } => Some((*code, local_reason(*code))),
            CloseReason::WebSocket(e) => Some((e.close_code(), e.kind.close_reason())),
            CloseReason::Warp(e) => {
                let close = e.close.unwrap_or(Close::ProtocolError);
                Some((CloseCode::new(close.code()), close.reason()))
            }
            CloseReason::Remote { .. }
            | CloseReason::Handshake(_)
            | CloseReason::TransportClosed
            | CloseReason::IdleTimeout => None,
        }
    }
}

/// The reason text that goes with a locally chosen close code.
pub(crate) fn local_reason(code: CloseCode) -> &'static str {
    match code.as_u16() {
        1008 => Close::AuthRefused.reason(),
        1011 => "Internal error",
        _ => "",
    }
}

impl core::error::Error for CloseReason {}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Local { code } => write!(f, "closed by this end with code {code}"),
            CloseReason::Remote { code: Some(code) } => {
                write!(f, "closed by the peer with code {code}")
            }
            CloseReason::Remote { code: None } => f.write_str("closed by the peer without a code"),
            CloseReason::Handshake(e) => write!(f, "opening handshake failed: {e}"),
            CloseReason::WebSocket(e) => write!(f, "WebSocket protocol error: {e}"),
            CloseReason::Warp(e) => write!(f, "WARP protocol error: {e}"),
            CloseReason::TransportClosed => {
                f.write_str("transport closed without a close handshake")
            }
            CloseReason::IdleTimeout => f.write_str("no input within the idle timeout"),
        }
    }
}

/// [`handle_input`](super::ServerEndpoint::handle_input) refused its input; nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputError {
    /// Output is pending: drain `poll_output` until it returns
    /// [`Output::Timeout`](super::Output::Timeout) first (the drain contract).
    NotDrained,
    /// Bytes handed to a message-mode endpoint, or a message to a framed one.
    WrongMode,
    /// [`Output::Closed`](super::Output::Closed) has been returned: the endpoint takes no more
    /// input.
    Closed,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputError::NotDrained => "output pending: drain poll_output before handing in input",
            InputError::WrongMode => "input of the wrong kind for this endpoint's mode",
            InputError::Closed => "the endpoint is closed",
        })
    }
}

impl core::error::Error for InputError {}

/// An endpoint could not be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointError {
    /// The transmit storage cannot hold [`MIN_TRANSMIT_LEN`](super::MIN_TRANSMIT_LEN) bytes.
    TransmitStorageTooSmall {
        /// Bytes required.
        needed: usize,
        /// Bytes it can hold (the smaller of its size and `max_transmit_len`).
        capacity: usize,
    },
    /// The client's upgrade request cannot be written: a host or path with characters not
    /// allowed in an HTTP head, or a transmit storage too small for it.
    Request(HandshakeError),
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::TransmitStorageTooSmall { needed, capacity } => write!(
                f,
                "transmit storage of {capacity} bytes is smaller than the {needed} required"
            ),
            EndpointError::Request(e) => write!(f, "cannot write the upgrade request: {e}"),
        }
    }
}

impl core::error::Error for EndpointError {}
