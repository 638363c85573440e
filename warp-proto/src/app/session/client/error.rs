//! [`ClientError`]: what the calls of a driver's client can fail with (feature `std`: it
//! carries the driver's `io::Error`). The same type for every driver.

use std::io;
use std::string::String;
use std::time::Duration;

use core::fmt;

use super::types::{AttemptError, SessionError};
use super::url::UrlError;
use crate::app::BufferError;
use crate::connection::CallError;
use crate::endpoint::{CloseReason, EndpointError};

/// Why a client call failed (the `Client` of `warp-tokio` or `warp-smol`).
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not a WARP server URL.
    Url(UrlError),
    /// A `wss://` or `warps://` URL, but the crate was built without the `tls` feature.
    TlsUnavailable,
    /// The TCP connection (or the TLS session) could not be opened.
    Connect {
        /// `host:port` tried.
        addr: String,
        /// Why.
        source: io::Error,
    },
    /// Connecting (TCP, TLS and the WebSocket handshake) took longer than
    /// the client's connect timeout
    /// ([`SessionConfig::connect_timeout`](super::SessionConfig::connect_timeout)).
    ConnectTimeout(Duration),
    /// The connection ended before the WebSocket handshake completed, or the first connection
    /// ended at once: why (an HTTP refusal of the upgrade is
    /// [`CloseReason::Handshake`]).
    Closed(CloseReason),
    /// The endpoint could not be created (a host or path that cannot go in an HTTP head).
    Endpoint(EndpointError),
    /// The connection refused the call: an empty or over-long node or lane URI, too many
    /// links or handles.
    Call(CallError),
    /// The command could not be buffered: while disconnected (or while the connection's queue
    /// is full) commands wait in a bounded buffer, and its bound is reached.
    CommandBufferFull(BufferError),
    /// The command's value has no Recon text (a NaN or infinite float).
    InvalidBody(crate::recon::Error),
    /// The connection was lost while the command was being written; it may or may not have
    /// reached the server.
    ConnectionLost,
    /// The client is closed (by its `close`, or because it gave up reconnecting).
    ClientClosed,
    /// No async runtime is running: with `warp-tokio`, `Client::connect` must be called
    /// within a tokio runtime.
    NoRuntime,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Url(e) => write!(f, "invalid URL: {e}"),
            ClientError::TlsUnavailable => {
                f.write_str("wss:// needs warp-tokio built with the `tls` feature")
            }
            ClientError::Connect { addr, source } => {
                write!(f, "cannot connect to {addr}: {source}")
            }
            ClientError::ConnectTimeout(after) => {
                write!(f, "connecting timed out after {after:?}")
            }
            ClientError::Closed(reason) => write!(f, "connection ended: {reason}"),
            ClientError::Endpoint(e) => fmt::Display::fmt(e, f),
            ClientError::Call(e) => write!(f, "refused: {e}"),
            ClientError::CommandBufferFull(e) => write!(
                f,
                "the command buffer is full ({e}): the connection is down or backed up"
            ),
            ClientError::InvalidBody(e) => write!(f, "the value has no Recon text: {e}"),
            ClientError::ConnectionLost => {
                f.write_str("the connection was lost while the command was being sent")
            }
            ClientError::ClientClosed => f.write_str("the client is closed"),
            ClientError::NoRuntime => f.write_str("no async runtime is running"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Url(e) => Some(e),
            ClientError::Connect { source, .. } => Some(source),
            ClientError::Endpoint(e) => Some(e),
            ClientError::Call(e) => Some(e),
            ClientError::CommandBufferFull(e) => Some(e),
            ClientError::InvalidBody(e) => Some(e),
            ClientError::Closed(e) => Some(e),
            _ => None,
        }
    }
}

impl From<UrlError> for ClientError {
    fn from(e: UrlError) -> Self {
        ClientError::Url(e)
    }
}

impl From<SessionError> for ClientError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Call(e) => ClientError::Call(e),
            SessionError::BufferFull(e) => ClientError::CommandBufferFull(e),
            SessionError::ConnectionLost => ClientError::ConnectionLost,
            SessionError::Closed | SessionError::DuplicateId => ClientError::ClientClosed,
        }
    }
}

impl ClientError {
    /// The error of a failed connection attempt; `transport` gives the driver's own error for
    /// [`AttemptError::Transport`] (it alone knows what the socket said).
    pub fn from_attempt(e: AttemptError, transport: impl FnOnce() -> ClientError) -> ClientError {
        match e {
            AttemptError::Transport => transport(),
            AttemptError::Timeout(after) => ClientError::ConnectTimeout(after),
            AttemptError::Closed(reason) => ClientError::Closed(reason),
            AttemptError::Endpoint(e) => ClientError::Endpoint(e),
        }
    }
}
