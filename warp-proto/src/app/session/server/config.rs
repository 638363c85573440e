//! The configuration every server driver exposes.

use alloc::sync::Arc;
use core::time::Duration;

use crate::app::{PlaneConfig, Published, Uplinks};
use crate::endpoint::EndpointConfig;
use crate::ws::WsConfig;

/// Checks the credentials of an `auth` envelope (its body as Recon text): `true` answers
/// `@authed`, `false` answers `@deauthed` and closes the connection (1008).
pub type Authenticator = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The bounds and timers of a server, the same for every driver.
///
/// ```
/// use core::time::Duration;
/// use warp_proto::app::session::server::ServerConfig;
///
/// let config = ServerConfig::default()
///     .with_max_connections(1_000)
///     .with_shutdown_timeout(Duration::from_secs(2));
/// assert_eq!(config.max_connections, 1_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Each connection's endpoint: WebSocket sizes and timers, WARP link and queue bounds.
    /// The server's default differs from [`EndpointConfig::default`] in its keep-alive: a
    /// ping after 30 s without input, and the connection dropped after 90 s without any.
    pub endpoint: EndpointConfig,
    /// The plane of agents: how many may run at once.
    pub plane: PlaneConfig,
    /// Connections served at once; further clients wait in the listen backlog. Default 10,000.
    pub max_connections: usize,
    /// Published changes waiting for one connection; when full, the connection is closed as
    /// overloaded (code 1013). This also bounds the bursts the application may publish (with
    /// the server handle's `modify`) faster than a connection is served: size it for the
    /// largest burst. Default 1024.
    pub fanout_capacity: usize,
    /// Sync replays and changes accepted but not yet written into one connection
    /// ([`Uplinks::new`]). Default [`Uplinks::DEFAULT_MAX_PENDING`].
    pub max_pending: usize,
    /// Bytes read from the socket at a time. Default 16 KiB.
    pub read_buffer_len: usize,
    /// While more bytes than this wait to be written to a connection, it takes no new input.
    /// Default 256 KiB.
    pub write_high_water: usize,
    /// How long a shutdown waits for connections to close before dropping them. Default 10 s.
    pub shutdown_timeout: Duration,
    /// How long a TLS handshake may take (drivers with TLS). Default 10 s.
    pub tls_handshake_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let ws = WsConfig::default()
            .with_ping_interval(Some(Duration::from_secs(30)))
            .with_idle_timeout(Some(Duration::from_secs(90)));
        ServerConfig {
            endpoint: EndpointConfig::default().with_ws(ws),
            plane: PlaneConfig::default(),
            max_connections: 10_000,
            fanout_capacity: 1024,
            max_pending: Uplinks::<Published>::DEFAULT_MAX_PENDING,
            read_buffer_len: 16 * 1024,
            write_high_water: 256 * 1024,
            shutdown_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl ServerConfig {
    /// Sets [`endpoint`](Self::endpoint).
    pub fn with_endpoint(mut self, endpoint: EndpointConfig) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// Sets [`plane`](Self::plane).
    pub fn with_plane(mut self, plane: PlaneConfig) -> Self {
        self.plane = plane;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    pub fn with_max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets [`fanout_capacity`](Self::fanout_capacity).
    pub fn with_fanout_capacity(mut self, n: usize) -> Self {
        self.fanout_capacity = n;
        self
    }

    /// Sets [`max_pending`](Self::max_pending).
    pub fn with_max_pending(mut self, n: usize) -> Self {
        self.max_pending = n;
        self
    }

    /// Sets [`read_buffer_len`](Self::read_buffer_len).
    pub fn with_read_buffer_len(mut self, n: usize) -> Self {
        self.read_buffer_len = n;
        self
    }

    /// Sets [`write_high_water`](Self::write_high_water).
    pub fn with_write_high_water(mut self, n: usize) -> Self {
        self.write_high_water = n;
        self
    }

    /// Sets [`shutdown_timeout`](Self::shutdown_timeout).
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets [`tls_handshake_timeout`](Self::tls_handshake_timeout).
    pub fn with_tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.tls_handshake_timeout = timeout;
        self
    }

    /// How long a closed connection's last bytes (its close frame) may take to be written:
    /// the endpoint's close timeout, 5 s when it has none.
    pub fn final_write_timeout(&self) -> Duration {
        self.endpoint
            .ws
            .close_timeout
            .unwrap_or(Duration::from_secs(5))
    }
}
