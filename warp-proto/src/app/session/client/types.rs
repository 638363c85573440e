//! The types a client session shares with its drivers and their applications: what a downlink
//! hears ([`DownlinkEvent`], [`UnlinkReason`]), where the client stands ([`ClientState`]), its
//! settings ([`SessionConfig`]), and how calls and the session end ([`SessionError`],
//! [`SessionEnd`], [`AttemptError`]).

use core::fmt;
use core::time::Duration;

use crate::app::{Backoff, BufferError};
use crate::connection::{CallError, Config as WarpConfig};
use crate::endpoint::{CloseReason, EndpointConfig, EndpointError};
use crate::recon::Value;
use crate::ws::WsConfig;

/// The driver's name for one downlink of a session: any number, unique among the session's
/// open downlinks (drivers count up from 0). Downlinks are re-opened in the order of their
/// ids after reconnecting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DownlinkId(u64);

impl DownlinkId {
    /// The downlink named `n`.
    pub const fn new(n: u64) -> DownlinkId {
        DownlinkId(n)
    }

    /// Its number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for DownlinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "downlink {}", self.0)
    }
}

/// What a downlink hears, in the order the server sent it. Owned values.
///
/// A `link` downlink sees `Linked`, then an `Event` per change of the lane. A `sync` downlink
/// sees `Linked`, the lane's state as `Event`s (one per entry of a map lane), `Synced`, then
/// the changes. Downlinks sharing a link all see everything sent on it: a second `sync` on a
/// lane already linked makes every downlink of that lane see the state again and a `Synced`.
///
/// After `Unlinked` the stream ends, except for [`UnlinkReason::Disconnected`] and, while the
/// client reconnects, [`UnlinkReason::Server`]: the downlink is opened again on the next
/// connection and the stream goes on with `Linked` (and, for a `sync` downlink, the state and
/// `Synced` again).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DownlinkEvent {
    /// The server confirmed the link (`linked`), or the downlink joined a link already
    /// confirmed (the server sends no second `linked`; the session says it).
    Linked,
    /// A lane event: a value of a value lane, or `@update(key:K) V` / `@remove(key:K)` of a map
    /// lane, as a Recon value.
    Event(Value),
    /// The state asked for by a `sync` has been sent (`synced`).
    Synced,
    /// The link ended; see [`UnlinkReason`].
    Unlinked(UnlinkReason),
}

/// Why a downlink's link ended.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum UnlinkReason {
    /// The server has no such node (`@unlinked ... @nodeNotFound`). The stream ends.
    NodeNotFound,
    /// The node has no such lane (`@unlinked ... @laneNotFound`). The stream ends.
    LaneNotFound,
    /// The server ended the link with another body (none, or for example SwimOS's
    /// `"Link closed."`), as a Recon value. A server shutting down does this for every link
    /// before closing (SwimOS does). With reconnection on, the downlink stays and is opened
    /// again after the next reconnection (not on the same connection); otherwise the stream
    /// ends.
    Server(Value),
    /// The client could not open the link on a new connection (too many links or handles).
    /// The stream ends.
    Refused(CallError),
    /// The connection was lost and the client is reconnecting: the stream goes on with
    /// `Linked` once the link is open again.
    Disconnected,
    /// The connection ended for good: the client was closed, gave up reconnecting, or does not
    /// reconnect. The stream ends.
    Closed,
}

impl UnlinkReason {
    /// Whether the link is gone for good: node or lane not found, refused, client closed.
    /// `false` for [`UnlinkReason::Disconnected`] and [`UnlinkReason::Server`], after which the
    /// downlink is re-opened when the client reconnects (with reconnection off, the stream
    /// ends after any `Unlinked`).
    pub fn is_final(&self) -> bool {
        !matches!(self, UnlinkReason::Disconnected | UnlinkReason::Server(_))
    }
}

impl fmt::Display for UnlinkReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnlinkReason::NodeNotFound => f.write_str("node not found"),
            UnlinkReason::LaneNotFound => f.write_str("lane not found"),
            UnlinkReason::Server(v) => match v.to_recon_string() {
                Ok(text) if !text.is_empty() => write!(f, "unlinked by the server: {text}"),
                _ => f.write_str("unlinked by the server"),
            },
            UnlinkReason::Refused(e) => write!(f, "link refused by the client: {e}"),
            UnlinkReason::Disconnected => f.write_str("disconnected; reconnecting"),
            UnlinkReason::Closed => f.write_str("connection closed"),
        }
    }
}

/// Where a client's connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientState {
    /// Opening a connection (TCP, TLS, WebSocket handshake).
    Connecting,
    /// Connected: downlinks are open, commands go out at once.
    Connected,
    /// The connection was lost; waiting to reconnect. Commands are buffered.
    Disconnected,
    /// Closed for good: by the application, by giving up reconnecting, or by losing the
    /// connection with reconnection off.
    Closed,
}

/// What a client session needs to know: the endpoint's limits and timers, reconnection, the
/// connect timeout and the command buffer's bounds. The drivers' `ClientConfig`s hold these
/// and their own runtime settings (channel capacities, TLS).
///
/// The default reconnects with back-off from 100 ms doubling to 10 s (without jitter: the
/// core has no randomness, so drivers add [`Backoff::with_jitter`] with a random seed),
/// buffers up to 1024 commands (1 MiB) while disconnected, pings an idle server every 20 s and
/// gives up on a connection silent for 60 s.
///
/// ```
/// use core::time::Duration;
/// use warp_proto::app::session::client::SessionConfig;
///
/// let config = SessionConfig::default();
/// assert_eq!(config.connect_timeout, Duration::from_secs(10));
/// assert_eq!(config.max_buffered_commands, 1024);
/// assert!(config.reconnect.is_some());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// The endpoint's limits and timers.
    pub endpoint: EndpointConfig,
    /// When to reconnect after the connection is lost; `None`: never. The first connection is
    /// not retried: its failure ends the session ([`SessionEnd::ConnectFailed`]).
    pub reconnect: Option<Backoff>,
    /// Bound on opening a connection: transport (TCP, TLS) and the WebSocket handshake.
    pub connect_timeout: Duration,
    /// Commands held while disconnected (or while the connection's queue is full).
    pub max_buffered_commands: usize,
    /// Bytes (node, lane and body text) of the commands held.
    pub max_buffered_bytes: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        let ws = WsConfig::default()
            .with_ping_interval(Some(Duration::from_secs(20)))
            .with_idle_timeout(Some(Duration::from_secs(60)));
        SessionConfig {
            endpoint: EndpointConfig::default()
                .with_ws(ws)
                .with_warp(WarpConfig::default()),
            reconnect: Some(Backoff::new(
                Duration::from_millis(100),
                Duration::from_secs(10),
            )),
            connect_timeout: Duration::from_secs(10),
            max_buffered_commands: 1024,
            max_buffered_bytes: 1 << 20,
        }
    }
}

impl SessionConfig {
    /// Sets [`endpoint`](Self::endpoint).
    pub fn with_endpoint(mut self, endpoint: EndpointConfig) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// Sets [`reconnect`](Self::reconnect) (`None` turns reconnection off).
    pub fn with_reconnect(mut self, backoff: Option<Backoff>) -> Self {
        self.reconnect = backoff;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`max_buffered_commands`](Self::max_buffered_commands) and
    /// [`max_buffered_bytes`](Self::max_buffered_bytes).
    pub fn with_command_buffer(mut self, commands: usize, bytes: usize) -> Self {
        self.max_buffered_commands = commands;
        self.max_buffered_bytes = bytes;
        self
    }
}

/// Why a call tagged by the driver (a command, a downlink's open) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionError {
    /// The connection refused the call: an empty or over-long node or lane URI, too many
    /// links or handles.
    Call(CallError),
    /// The command could not be buffered: its bound is reached.
    BufferFull(BufferError),
    /// The connection was lost while the command was being written; it may or may not have
    /// reached the server.
    ConnectionLost,
    /// The session is closed (or closing).
    Closed,
    /// A downlink with this id is already open.
    DuplicateId,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Call(e) => write!(f, "refused: {e}"),
            SessionError::BufferFull(e) => write!(f, "the command buffer is full ({e})"),
            SessionError::ConnectionLost => {
                f.write_str("the connection was lost while the command was being sent")
            }
            SessionError::Closed => f.write_str("the client is closed"),
            SessionError::DuplicateId => f.write_str("a downlink with this id is open"),
        }
    }
}

impl core::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            SessionError::Call(e) => Some(e),
            SessionError::BufferFull(e) => Some(e),
            _ => None,
        }
    }
}

/// Why one connection attempt made no connection.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum AttemptError {
    /// The driver could not open the transport (it reported
    /// [`connect_failed`](super::ClientSession::connect_failed); it knows why).
    Transport,
    /// The transport and the WebSocket handshake took longer than
    /// [`SessionConfig::connect_timeout`].
    Timeout(Duration),
    /// The connection ended before the WebSocket handshake completed (an HTTP refusal of the
    /// upgrade is [`CloseReason::Handshake`]).
    Closed(CloseReason),
    /// The endpoint could not be created (a host or path that cannot go in an HTTP head).
    Endpoint(EndpointError),
}

impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptError::Transport => f.write_str("the transport could not be opened"),
            AttemptError::Timeout(after) => write!(f, "connecting timed out after {after:?}"),
            AttemptError::Closed(reason) => write!(f, "connection ended: {reason}"),
            AttemptError::Endpoint(e) => fmt::Display::fmt(e, f),
        }
    }
}

/// Why a session ended, reported once by [`Output::Closed`](super::Output::Closed).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum SessionEnd {
    /// The application closed it ([`ClientSession::close`](super::ClientSession::close)).
    Closed,
    /// No handle can make calls any more and no downlink is open
    /// ([`ClientSession::handles_gone`](super::ClientSession::handles_gone)).
    Abandoned,
    /// The first connection could not be made (it is not retried).
    ConnectFailed(AttemptError),
    /// The connection was lost and reconnection is off.
    Lost(CloseReason),
    /// The reconnection attempts allowed are spent.
    GaveUp,
}

impl fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionEnd::Closed => f.write_str("closed by the application"),
            SessionEnd::Abandoned => f.write_str("no handle or downlink left"),
            SessionEnd::ConnectFailed(e) => write!(f, "the first connection failed: {e}"),
            SessionEnd::Lost(reason) => write!(f, "connection lost: {reason}"),
            SessionEnd::GaveUp => f.write_str("gave up reconnecting"),
        }
    }
}

/// Why the transport the session asked to close ended
/// ([`Output::CloseTransport`](super::Output::CloseTransport)).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum TransportEnd {
    /// The endpoint ended with this reason (after its last bytes were handed out).
    Closed(CloseReason),
    /// The connect timeout passed before the handshake completed: drop the transport, or the
    /// connection attempt under way.
    TimedOut,
    /// The session stopped (closed by the application) while the transport was being opened:
    /// drop the attempt.
    Abandoned,
}

impl fmt::Display for TransportEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportEnd::Closed(reason) => fmt::Display::fmt(reason, f),
            TransportEnd::TimedOut => f.write_str("connect timeout"),
            TransportEnd::Abandoned => f.write_str("connection attempt abandoned"),
        }
    }
}
