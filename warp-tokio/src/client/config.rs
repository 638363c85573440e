//! [`ClientConfig`]: reconnection, bounds and timers of a client.

use std::time::Duration;

use warp_proto::app::session::client::SessionConfig;
use warp_proto::app::Backoff;
use warp_proto::connection::Config as WarpConfig;
use warp_proto::endpoint::EndpointConfig;
use warp_proto::ws::WsConfig;

/// How a [`Client`](super::Client) connects, reconnects and buffers.
///
/// The default reconnects with back-off from 100 ms doubling to 10 s (with jitter, so clients
/// do not retry in step), buffers up to 1024 commands (1 MiB) while disconnected, pings an
/// idle server every 20 s and gives up on a connection silent for 60 s.
///
/// ```
/// use std::time::Duration;
/// use warp_proto::app::Backoff;
/// use warp_tokio::client::ClientConfig;
///
/// let config = ClientConfig::default()
///     .with_reconnect(Some(Backoff::new(Duration::from_millis(50), Duration::from_secs(2))))
///     .with_command_buffer(16, 64 * 1024)
///     .with_connect_timeout(Duration::from_secs(3));
/// assert_eq!(config.max_buffered_commands, 16);
/// let no_reconnect = ClientConfig::default().with_reconnect(None);
/// assert!(no_reconnect.reconnect.is_none());
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The endpoint's limits and timers (WebSocket sizes, ping interval, idle timeout; WARP
    /// link and handle bounds, outbound queue).
    pub endpoint: EndpointConfig,
    /// When to reconnect after the connection is lost; `None`: never (downlinks then end with
    /// [`UnlinkReason::Closed`](super::UnlinkReason::Closed)). The first connection is not
    /// retried: [`Client::connect`](super::Client::connect) reports its failure.
    pub reconnect: Option<Backoff>,
    /// Bound on opening a connection: TCP connect, TLS and the WebSocket handshake. Default
    /// 10 s.
    pub connect_timeout: Duration,
    /// Requests (link, sync, command, close) waiting for the connection task; callers wait
    /// beyond it. Default 64 (at least 1).
    pub request_capacity: usize,
    /// Events waiting to be read, per downlink. Default 256 (at least 1).
    pub downlink_capacity: usize,
    /// Commands held while disconnected; more are refused with
    /// [`ClientError::CommandBufferFull`](super::ClientError::CommandBufferFull). Default 1024.
    pub max_buffered_commands: usize,
    /// Bytes (node, lane and body text) of the commands held while disconnected. Default 1 MiB.
    pub max_buffered_bytes: usize,
    /// The TLS settings for `wss://` (feature `tls`); `None`: the webpki roots, no client
    /// certificate.
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        let ws = WsConfig::default()
            .with_ping_interval(Some(Duration::from_secs(20)))
            .with_idle_timeout(Some(Duration::from_secs(60)));
        let seed = u64::from_le_bytes(super::random::bytes::<8>());
        ClientConfig {
            endpoint: EndpointConfig::default()
                .with_ws(ws)
                .with_warp(WarpConfig::default()),
            reconnect: Some(
                Backoff::new(Duration::from_millis(100), Duration::from_secs(10))
                    .with_jitter(250, seed),
            ),
            connect_timeout: Duration::from_secs(10),
            request_capacity: 64,
            downlink_capacity: 256,
            max_buffered_commands: 1024,
            max_buffered_bytes: 1 << 20,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ClientConfig {
    /// The settings of the sans-IO session under the client.
    pub(crate) fn session(&self) -> SessionConfig {
        SessionConfig::default()
            .with_endpoint(self.endpoint)
            .with_reconnect(self.reconnect)
            .with_connect_timeout(self.connect_timeout)
            .with_command_buffer(self.max_buffered_commands, self.max_buffered_bytes)
    }

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

    /// Sets [`request_capacity`](Self::request_capacity).
    pub fn with_request_capacity(mut self, n: usize) -> Self {
        self.request_capacity = n;
        self
    }

    /// Sets [`downlink_capacity`](Self::downlink_capacity).
    pub fn with_downlink_capacity(mut self, n: usize) -> Self {
        self.downlink_capacity = n;
        self
    }

    /// Sets [`max_buffered_commands`](Self::max_buffered_commands) and
    /// [`max_buffered_bytes`](Self::max_buffered_bytes).
    pub fn with_command_buffer(mut self, commands: usize, bytes: usize) -> Self {
        self.max_buffered_commands = commands;
        self.max_buffered_bytes = bytes;
        self
    }

    /// Sets [`tls`](Self::tls): the rustls settings for `wss://` (for example with a private
    /// root certificate).
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: std::sync::Arc<tokio_rustls::rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }
}
