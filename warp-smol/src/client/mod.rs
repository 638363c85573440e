//! The WARP client over `async-net` sockets, run by smol (or async-std): [`Client::connect`] to a server, open [`Downlink`]s with
//! [`Client::link`] / [`Client::sync`], send [`Client::command`]s.
//!
//! Everything that is not IO runs in the sans-IO
//! [`ClientSession`](warp_proto::app::session::client::ClientSession) of `warp-proto` (the
//! same one `warp-tokio` drives, so the two clients behave alike and share their types); this
//! module only moves bytes between it and an `async-net` socket. Each client has one background task
//! owning its connection; its handles ([`Client`], [`Downlink`]) talk to that task over
//! bounded channels.
//!
//! - **Shared links.** Downlinks on the same node and lane share one WARP link; each sees
//!   every event. The last one closing (or dropped) sends `unlink`.
//! - **Not found.** A link the server refuses ends its downlinks with
//!   [`DownlinkEvent::Unlinked`] and [`UnlinkReason::NodeNotFound`] or
//!   [`UnlinkReason::LaneNotFound`].
//! - **Reconnection**, on by default ([`ClientConfig::reconnect`]): when the connection is
//!   lost, linked downlinks hear [`UnlinkReason::Disconnected`]; the client reconnects with
//!   back-off ([`Backoff`](warp_proto::app::Backoff)) and re-opens every downlink, which then
//!   sees `Linked` (and, opened with `sync`, the state and `Synced`) again.
//! - **Commands** resolve once their frame is written to the socket. While disconnected they
//!   wait in a bounded buffer ([`ClientConfig::max_buffered_commands`]) and go out, in order,
//!   after reconnecting; past the bound they are refused with
//!   [`ClientError::CommandBufferFull`]. A command is never sent twice; one written just before
//!   the connection died may be lost with it (WARP has no acknowledgements).
//! - Schemes `ws://` and `warp://` (`wss://` and `warps://` are refused with
//!   [`ClientError::TlsUnavailable`]: this driver has no TLS yet). The client offers the
//!   `warp0` subprotocol, which the SwimOS server requires.
//!
//! - Runtimes: the connection task runs on smol's global executor, or, with the `async-std`
//!   feature, on async-std's (async-std is discontinued upstream; smol is its recommended
//!   successor). Sockets and timers are `async-io`'s, the reactor both share.
//!
//! # Example
//!
//! ```
//! use futures_lite::StreamExt;
//! use warp_proto::recon::Value;
//! use warp_smol::client::{Client, DownlinkEvent};
//!
//! # smol::block_on(async {
//! let server = warp_smol::demo::demo_server("127.0.0.1:0").await?;
//! let url = format!("warp://{}", server.local_addr()?);
//! let server = server.spawn();
//!
//! let client = Client::connect(&url).await?;
//! let mut info = client.sync("/unit/1", "info").await?;
//! assert_eq!(info.next().await, Some(DownlinkEvent::Linked));
//! assert_eq!(info.next().await, Some(DownlinkEvent::Event(Value::text(""))));
//! assert_eq!(info.next().await, Some(DownlinkEvent::Synced));
//! client.command("/unit/1", "set_info", &Value::text("hello")).await?;
//! assert_eq!(info.next().await, Some(DownlinkEvent::Event(Value::text("hello"))));
//! info.close().await?;
//! client.close().await;
//! server.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod config;
mod downlink;
mod random;
mod state;
mod task;
mod transport;

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_channel::Sender;
use warp_proto::recon::Value;

pub use config::ClientConfig;
pub use downlink::Downlink;
pub use warp_proto::app::session::client::{
    ClientError, ClientState, DownlinkEvent, Scheme, ServerUrl, UnlinkReason, UrlError,
};

use downlink::HandleClose;
use state::StateCell;
use task::{Request, Task};

/// A WARP client: one connection to one server, shared by every clone.
///
/// Cheap to clone; every clone talks to the same connection task. The connection stays up
/// while a clone or a [`Downlink`] lives, or until [`Client::close`].
///
/// ```
/// use futures_lite::StreamExt;
/// use warp_proto::recon::Value;
/// use warp_smol::client::{Client, DownlinkEvent};
///
/// # smol::block_on(async {
/// # let server = warp_smol::demo::demo_server("127.0.0.1:0").await?;
/// # let url = format!("ws://{}", server.local_addr()?);
/// # let server = server.spawn();
/// let client = Client::connect(&url).await?;
/// let mut a = client.link("/unit/1", "count").await?;
/// let mut b = client.link("/unit/1", "count").await?; // shares a's link
/// assert_eq!(a.next().await, Some(DownlinkEvent::Linked));
/// assert_eq!(b.next().await, Some(DownlinkEvent::Linked));
/// client.clone().command("/unit/1", "add", &Value::Int(2)).await?;
/// assert_eq!(a.next().await, Some(DownlinkEvent::Event(Value::Int(2))));
/// assert_eq!(b.next().await, Some(DownlinkEvent::Event(Value::Int(2))));
/// client.close().await;
/// # server.shutdown().await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Client {
    requests: Sender<Request>,
    closes: Sender<HandleClose>,
    state: Arc<StateCell>,
    next_id: Arc<AtomicU64>,
    downlink_capacity: usize,
    url: Arc<ServerUrl>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url.to_string())
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to `url` (`ws://`, `warp://`) with the
    /// default [`ClientConfig`], and returns once the WebSocket handshake is done.
    ///
    /// Fails when the URL is invalid, the server cannot be reached, refuses the upgrade or
    /// does not answer within the connect timeout; this first connection is not retried.
    /// The connection task is spawned on smol's global executor (on async-std's with the
    /// `async-std` feature).
    pub async fn connect(url: &str) -> Result<Client, ClientError> {
        Client::connect_with(url, ClientConfig::default()).await
    }

    /// [`Client::connect`] with the given configuration.
    pub async fn connect_with(url: &str, config: ClientConfig) -> Result<Client, ClientError> {
        let url = ServerUrl::parse(url)?;
        if url.is_tls() {
            return Err(ClientError::TlsUnavailable);
        }
        let (requests, requests_rx) = async_channel::bounded(config.request_capacity.max(1));
        let (closes, closes_rx) = async_channel::unbounded();
        let state = Arc::new(StateCell::new(ClientState::Connecting));
        let (first_tx, first) = async_channel::bounded(1);
        let downlink_capacity = config.downlink_capacity.max(1);
        let task = Task::new(
            url.clone(),
            config,
            requests_rx,
            closes_rx,
            state.clone(),
            first_tx,
        );
        crate::rt::spawn(task.run());
        match first.recv().await {
            Ok(Ok(())) => Ok(Client {
                requests,
                closes,
                state,
                next_id: Arc::new(AtomicU64::new(0)),
                downlink_capacity,
                url: Arc::new(url),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ClientError::ClientClosed),
        }
    }

    /// The server's URL.
    pub fn url(&self) -> &ServerUrl {
        &self.url
    }

    /// Where the connection stands now.
    pub fn state(&self) -> ClientState {
        self.state.get()
    }

    /// Waits until the client is connected (at once if it is). Fails with
    /// [`ClientError::ClientClosed`] once it is closed.
    pub async fn connected(&self) -> Result<(), ClientError> {
        let reached = self
            .state
            .wait_for(|s| matches!(s, ClientState::Connected | ClientState::Closed))
            .await;
        match reached {
            ClientState::Connected => Ok(()),
            _ => Err(ClientError::ClientClosed),
        }
    }

    /// Waits until the client is not connected (at once if it is not): the connection was
    /// lost (it may be reconnecting already) or the client is closed. For tools and tests that
    /// need to know the connection was lost.
    pub async fn disconnected(&self) {
        self.state.wait_for(|s| s != ClientState::Connected).await;
    }

    /// Opens a downlink on `node`/`lane` that receives the lane's events (`link`).
    ///
    /// Resolves once the connection task has taken it; its first item is
    /// [`DownlinkEvent::Linked`] (or `Unlinked` if the server refuses). While disconnected the
    /// downlink is opened after reconnecting. Fails on an empty or over-long URI, too many
    /// downlinks, or a closed client. The future borrows nothing: it can be spawned.
    pub fn link(
        &self,
        node: &str,
        lane: &str,
    ) -> impl Future<Output = Result<Downlink, ClientError>> + Send + 'static {
        self.open(node, lane, false)
    }

    /// Opens a downlink on `node`/`lane` that receives the lane's state, then its events
    /// (`sync`): `Linked`, the state as events, `Synced`, then the changes. See
    /// [`Client::link`].
    pub fn sync(
        &self,
        node: &str,
        lane: &str,
    ) -> impl Future<Output = Result<Downlink, ClientError>> + Send + 'static {
        self.open(node, lane, true)
    }

    fn open(
        &self,
        node: &str,
        lane: &str,
        sync: bool,
    ) -> impl Future<Output = Result<Downlink, ClientError>> + Send + 'static {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (events, events_rx) = async_channel::bounded(self.downlink_capacity);
        let (reply, answer) = async_channel::bounded(1);
        let request = Request::Open {
            id,
            node: node.to_string(),
            lane: lane.to_string(),
            sync,
            events,
            reply,
        };
        // Built first so that, should the call be cancelled after the task took the request,
        // dropping it closes the downlink.
        let mut downlink = Downlink::new(
            id,
            node.to_string(),
            lane.to_string(),
            events_rx,
            self.closes.clone(),
        );
        let requests = self.requests.clone();
        async move {
            if requests.send(request).await.is_err() {
                downlink.forget();
                return Err(ClientError::ClientClosed);
            }
            match answer.recv().await {
                Ok(Ok(())) => Ok(downlink),
                Ok(Err(e)) => {
                    downlink.forget();
                    Err(e)
                }
                Err(_) => {
                    downlink.forget();
                    Err(ClientError::ClientClosed)
                }
            }
        }
    }

    /// Sends `body` as a `command` to `node`/`lane`; resolves once its frame is written to
    /// the socket.
    ///
    /// While disconnected the command waits in the bounded buffer and is sent after
    /// reconnecting (the future resolves then); beyond the bound it fails with
    /// [`ClientError::CommandBufferFull`]. Fails with [`ClientError::ClientClosed`] when the
    /// client closes first, [`ClientError::ConnectionLost`] when the connection dies while
    /// the frame is being written, [`ClientError::InvalidBody`] for a NaN or infinite float.
    /// The future borrows nothing: it can be spawned.
    pub fn command(
        &self,
        node: &str,
        lane: &str,
        body: &Value,
    ) -> impl Future<Output = Result<(), ClientError>> + Send + 'static {
        let (reply, answer) = async_channel::bounded(1);
        let request = warp_proto::app::body_text(body)
            .map_err(ClientError::InvalidBody)
            .map(|body| Request::Command {
                node: node.to_string(),
                lane: lane.to_string(),
                body,
                reply,
            });
        let requests = self.requests.clone();
        async move {
            requests
                .send(request?)
                .await
                .map_err(|_| ClientError::ClientClosed)?;
            answer.recv().await.map_err(|_| ClientError::ClientClosed)?
        }
    }

    /// Closes the client: the connection closes (1000) after what is already queued, the
    /// client stops reconnecting, every downlink ends with
    /// [`UnlinkReason::Closed`], commands still buffered are refused. Returns once the
    /// connection is closed. Closing a closed client does nothing.
    pub async fn close(&self) {
        let (reply, done) = async_channel::bounded(1);
        if self.requests.send(Request::Close { reply }).await.is_ok() {
            let _ = done.recv().await;
        }
    }
}
