//! [`WsConfig`]: the limits and timers of a connection.

use core::time::Duration;

/// Limits and timers of a [`WsConnection`](crate::ws::WsConnection).
///
/// ```
/// use core::time::Duration;
/// use warp_proto::ws::WsConfig;
///
/// let config = WsConfig::default()
///     .with_max_message_len(64 * 1024)
///     .with_ping_interval(Some(Duration::from_secs(30)))
///     .with_idle_timeout(Some(Duration::from_secs(90)));
/// assert_eq!(config.max_message_len, 64 * 1024);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsConfig {
    /// Largest frame payload accepted; a larger frame fails the connection with 1009.
    /// Default 16 MiB.
    pub max_frame_len: usize,
    /// Largest message accepted (all fragments together); larger fails with 1009. The
    /// reassembly storage's own size also bounds it. Default 16 MiB.
    pub max_message_len: usize,
    /// Outgoing messages from [`WsConnection::send_text`](crate::ws::WsConnection::send_text) and [`WsConnection::send_binary`](crate::ws::WsConnection::send_binary) are
    /// split into frames of at most this many payload bytes. Default: no splitting.
    pub max_send_frame_len: usize,
    /// Bound on a growable transmit storage. Default 16 MiB plus 4 KiB.
    pub max_transmit_len: usize,
    /// Send a ping after this long without input. Default: never.
    pub ping_interval: Option<Duration>,
    /// Give up on the connection after this long without input. Default: never.
    pub idle_timeout: Option<Duration>,
    /// After sending a close frame, wait this long for the peer's. Default 5 seconds.
    pub close_timeout: Option<Duration>,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            max_frame_len: 16 * 1024 * 1024,
            max_message_len: 16 * 1024 * 1024,
            max_send_frame_len: usize::MAX,
            max_transmit_len: 16 * 1024 * 1024 + 4096,
            ping_interval: None,
            idle_timeout: None,
            close_timeout: Some(Duration::from_secs(5)),
        }
    }
}

impl WsConfig {
    /// Sets [`max_frame_len`](Self::max_frame_len).
    pub fn with_max_frame_len(mut self, len: usize) -> Self {
        self.max_frame_len = len;
        self
    }

    /// Sets [`max_message_len`](Self::max_message_len).
    pub fn with_max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }

    /// Sets [`max_send_frame_len`](Self::max_send_frame_len) (0 counts as 1).
    pub fn with_max_send_frame_len(mut self, len: usize) -> Self {
        self.max_send_frame_len = len;
        self
    }

    /// Sets [`max_transmit_len`](Self::max_transmit_len).
    pub fn with_max_transmit_len(mut self, len: usize) -> Self {
        self.max_transmit_len = len;
        self
    }

    /// Sets [`ping_interval`](Self::ping_interval).
    pub fn with_ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`close_timeout`](Self::close_timeout).
    pub fn with_close_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.close_timeout = timeout;
        self
    }
}
