//! A WARP server over tokio: listens on a TCP port (optionally TLS), upgrades each connection
//! to WebSocket and serves the WARP links of its clients from one shared
//! [`Plane`] of agents.
//!
//! - **Routes** map node URI patterns (`/unit/:id`, `/files/*`) to agents made on first use:
//!   ready-made stateful lanes ([`ValueLane`], [`MapLane`], [`CommandLane`]) and, for
//!   anything else, your own [`AgentLogic`] reacting to commands, or changes pushed from
//!   outside with [`ServerHandle::modify`].
//! - **One agent per node**: every connection linked to `/unit/1` sees the same state; a change
//!   is published to every link on that lane, on every connection, in one order.
//! - **One task per connection**, moving bytes between the socket and the sans-IO
//!   [`ServerEndpoint`](warp_proto::ServerEndpoint); all protocol and application logic is in
//!   `warp_proto` ([`warp_proto::endpoint`], [`warp_proto::app`]).
//! - **Clients** offering the `warp0` subprotocol and clients offering none (the JavaScript
//!   client `@swim/client`) are both accepted.
//! - **Bounded**: per connection, the endpoint's buffers and queues
//!   ([`ServerConfig::endpoint`]), the changes waiting for it ([`ServerConfig::fanout_capacity`],
//!   [`ServerConfig::max_pending`]) and the bytes waiting to be written
//!   ([`ServerConfig::write_high_water`]). A connection that does not keep up with its changes
//!   is closed with code 1013 ("try again later"); nothing is buffered without bound, and the
//!   other connections are not slowed down.
//! - **Graceful shutdown**: [`ServerHandle::shutdown`] stops accepting, closes every
//!   connection with 1001 ("going away") and waits for their tasks (at most
//!   [`ServerConfig::shutdown_timeout`]).
//! - Logs go through `tracing` (spans `warp_conn` with the connection number and peer
//!   address); nothing is printed unless the application installs a subscriber.
//!
//! # Example
//!
//! ```
//! use warp_proto::app::{Agent, CommandLane, MapLane, NoLogic, ValueLane, ValueType};
//! use warp_tokio::server::Server;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = Server::builder()
//!     .route("/sensor/:id", |_params| {
//!         Some(
//!             Agent::new(NoLogic)
//!                 .with_lane("status", ValueLane::text("idle"))
//!                 .with_lane("readings", MapLane::new(ValueType::Int, ValueType::Float))
//!                 .with_lane("ping", CommandLane::any()),
//!         )
//!     })?
//!     .bind("127.0.0.1:0")
//!     .await?;
//! println!("serving ws://{}", server.local_addr()?);
//! let handle = server.spawn();
//! // Push a change to every client linked to /sensor/1's `status` lane.
//! handle.modify("/sensor/1", |lanes| lanes.set_value("status", "running"))?;
//! handle.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod conn;
mod hub;
mod request;
#[cfg(feature = "tls")]
mod tls;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use warp_proto::app::{
    Agent, AgentContext, CommandError, LaneError, Params, Plane, PlaneConfig, RouteError,
    RoutePattern, Uplinks,
};
use warp_proto::endpoint::EndpointConfig;
use warp_proto::recon::Value;
use warp_proto::ws::{Instant as WarpInstant, WsConfig};

#[doc(no_inline)]
pub use warp_proto::app::{AgentLogic, CommandLane, MapLane, NoLogic, ValueLane, ValueType};

use hub::{Hub, SharedHub};

/// Checks the credentials of an `auth` envelope (its body as Recon text): `true` answers
/// `@authed`, `false` answers `@deauthed` and closes the connection (1008).
pub type Authenticator = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Makes the agent of a node from the parameters its URI binds in the route's pattern; `None`
/// when there is no such node (links are refused with `@nodeNotFound`).
type Factory = Box<dyn Fn(&Params) -> Option<Agent> + Send + Sync>;

/// The bounds and timers of a [`Server`].
///
/// ```
/// use std::time::Duration;
/// use warp_tokio::server::ServerConfig;
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
    /// Published changes waiting for one connection's task; when full, the connection is
    /// closed as overloaded (code 1013). This also bounds the bursts the application may
    /// publish (with [`ServerHandle::modify`]) faster than a connection's task runs: size it for
    /// the largest burst. Default 1024.
    pub fanout_capacity: usize,
    /// Sync replays and changes accepted but not yet written into one connection
    /// ([`Uplinks::new`]). Default [`Uplinks::DEFAULT_MAX_PENDING`].
    pub max_pending: usize,
    /// Bytes read from the socket at a time. Default 16 KiB.
    pub read_buffer_len: usize,
    /// While more bytes than this wait to be written to a connection, it takes no new input.
    /// Default 256 KiB.
    pub write_high_water: usize,
    /// How long [`ServerHandle::shutdown`] waits for connections to close before dropping
    /// them. Default 10 s.
    pub shutdown_timeout: Duration,
    /// How long a TLS handshake may take (feature `tls`). Default 10 s.
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
            max_pending: Uplinks::<warp_proto::app::Published>::DEFAULT_MAX_PENDING,
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
}

/// Where a server is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    /// Bound, [`Server::run`] not started.
    Idle,
    /// [`Server::run`] is accepting or shutting down.
    Running,
    /// [`Server::run`] has returned.
    Stopped,
}

/// What the server's tasks and handles share.
pub(crate) struct Shared {
    hub: SharedHub,
    config: ServerConfig,
    authenticator: Option<Authenticator>,
    /// Time zero of the endpoints' clocks.
    epoch: tokio::time::Instant,
    /// `true` once shutdown was asked for.
    stop: watch::Sender<bool>,
    life: watch::Sender<Life>,
}

impl Shared {
    /// Now, on the endpoints' clock.
    pub(crate) fn now(&self) -> WarpInstant {
        let millis = self.epoch.elapsed().as_millis();
        WarpInstant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    /// An endpoint deadline on tokio's clock.
    pub(crate) fn instant(&self, at: WarpInstant) -> tokio::time::Instant {
        let since = Duration::from_millis(at.as_millis());
        self.epoch
            .checked_add(since)
            .unwrap_or_else(|| self.epoch + Duration::from_secs(86_400 * 365))
    }
}

/// Builds a [`Server`]: routes, configuration, authentication, TLS; then
/// [`bind`](ServerBuilder::bind).
#[derive(Default)]
pub struct ServerBuilder {
    config: ServerConfig,
    routes: Vec<(String, Factory)>,
    authenticator: Option<Authenticator>,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("config", &self.config)
            .field(
                "routes",
                &self
                    .routes
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("authenticator", &self.authenticator.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// Sets the bounds and timers.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Routes node URIs matching `pattern` (`/unit/:id`, `/files/*`; see [`RoutePattern`]) to
    /// agents made by `factory` on first use. Fails on a malformed pattern.
    pub fn route<F>(mut self, pattern: &str, factory: F) -> Result<Self, RouteError>
    where
        F: Fn(&Params) -> Option<Agent> + Send + Sync + 'static,
    {
        RoutePattern::parse(pattern)?;
        self.routes.push((pattern.to_owned(), Box::new(factory)));
        Ok(self)
    }

    /// Checks the credentials of `auth` envelopes (by default every `auth` is accepted).
    pub fn authenticator<F>(mut self, check: F) -> Self
    where
        F: Fn(&str) -> bool + Send + Sync + 'static,
    {
        self.authenticator = Some(Arc::new(check));
        self
    }

    /// Serves `wss://`: every accepted connection is first a TLS server handshake with
    /// `config` (see [`tls_config_from_pem`]).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<tokio_rustls::rustls::ServerConfig>) -> Self {
        self.tls = Some(tokio_rustls::TlsAcceptor::from(config));
        self
    }

    /// Binds a TCP listener to `addr` (port 0: any free port) and makes the server; it
    /// accepts connections once [`Server::run`] (or [`Server::spawn`]) runs.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        self.listener(listener)
    }

    /// Makes the server on a listener bound already.
    pub fn listener(self, listener: TcpListener) -> io::Result<Server> {
        let mut plane = Plane::new(self.config.plane);
        for (pattern, factory) in self.routes {
            plane
                .route(&pattern, factory)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        }
        let (stop, _) = watch::channel(false);
        let (life, _) = watch::channel(Life::Idle);
        let shared = Arc::new(Shared {
            hub: SharedHub::new(Hub::new(plane)),
            config: self.config,
            authenticator: self.authenticator,
            epoch: tokio::time::Instant::now(),
            stop,
            life,
        });
        Ok(Server {
            listener,
            shared,
            #[cfg(feature = "tls")]
            tls: self.tls,
        })
    }
}

/// A bound WARP server. Make one with [`Server::builder`] (or [`Server::bind`] for a server
/// whose routes are added later with [`ServerHandle::route`]), then [`run`](Server::run) it
/// or [`spawn`](Server::spawn) it; stop it with [`ServerHandle::shutdown`].
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A builder with the default configuration and no routes.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Binds a server with the default configuration and no routes yet (add them with
    /// [`ServerHandle::route`]) to `addr`.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<Server> {
        Server::builder().bind(addr).await
    }

    /// The address the server listens on (with the port chosen when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle to push changes and to shut the server down.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Runs the server on a new tokio task; returns its handle.
    pub fn spawn(self) -> ServerHandle {
        let handle = self.handle();
        tokio::spawn(self.run());
        handle
    }

    /// Accepts and serves connections, each on its own task, until
    /// [`ServerHandle::shutdown`]; then closes every connection with 1001 and waits for their
    /// tasks (at most [`ServerConfig::shutdown_timeout`], after which the remaining ones are
    /// dropped). Errors accepting a connection are logged and the server goes on.
    pub async fn run(self) {
        let shared = self.shared;
        shared.life.send_replace(Life::Running);
        // Marks the server stopped however `run` ends (also when its future is dropped), so
        // that `shutdown` never waits for a server that is gone.
        let _stopped = StopGuard(Arc::clone(&shared));
        let mut stop = shared.stop.subscribe();
        let permits = Arc::new(Semaphore::new(
            shared
                .config
                .max_connections
                .clamp(1, Semaphore::MAX_PERMITS),
        ));
        let mut tasks = JoinSet::new();
        tracing::info!(addr = ?self.listener.local_addr().ok(), "WARP server running");
        while !*stop.borrow_and_update() {
            tokio::select! {
                _ = stop.changed() => break,
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = joined {
                        tracing::error!("connection task failed: {e}");
                    }
                }
                permit = Arc::clone(&permits).acquire_owned() => {
                    let Ok(permit) = permit else { break };
                    let accepted = tokio::select! {
                        _ = stop.changed() => break,
                        accepted = self.listener.accept() => accepted,
                    };
                    match accepted {
                        Ok((stream, peer)) => {
                            let shared = Arc::clone(&shared);
                            #[cfg(feature = "tls")]
                            let tls = self.tls.clone();
                            tasks.spawn(async move {
                                #[cfg(feature = "tls")]
                                if let Some(acceptor) = tls {
                                    tls::serve(acceptor, stream, peer, shared, permit).await;
                                    return;
                                }
                                serve_tcp(stream, peer, shared, permit).await;
                            });
                        }
                        Err(e) => accept_failed(e, &mut stop).await,
                    }
                }
            }
        }
        drop(self.listener);
        shared.stop.send_replace(true);
        tracing::info!(connections = tasks.len(), "WARP server shutting down");
        let deadline = tokio::time::Instant::now().checked_add(shared.config.shutdown_timeout);
        loop {
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    None => break,
                    Some(Err(e)) if e.is_panic() => tracing::error!("connection task failed: {e}"),
                    Some(_) => {}
                },
                () = async {
                    match deadline {
                        Some(deadline) => tokio::time::sleep_until(deadline).await,
                        None => std::future::pending().await,
                    }
                } => {
                    tracing::warn!(connections = tasks.len(), "shutdown timeout: dropping connections");
                    tasks.shutdown().await;
                    break;
                }
            }
        }
        tracing::info!("WARP server stopped");
    }
}

/// Marks the server [`Life::Stopped`] when dropped.
struct StopGuard(Arc<Shared>);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.stop.send_replace(true);
        self.0.life.send_replace(Life::Stopped);
    }
}

/// After a failed `accept`: go on at once when only that connection failed, else (out of file
/// descriptors, memory) wait a little so as not to spin.
async fn accept_failed(e: io::Error, stop: &mut watch::Receiver<bool>) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) {
        tracing::debug!("accept failed: {e}");
        return;
    }
    tracing::warn!("accept failed: {e}; retrying shortly");
    tokio::select! {
        _ = stop.changed() => {}
        () = tokio::time::sleep(Duration::from_millis(100)) => {}
    }
}

/// Serves a plain TCP connection.
async fn serve_tcp(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    permit: OwnedSemaphorePermit,
) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%peer, "cannot set TCP_NODELAY: {e}");
    }
    let (reader, writer) = stream.into_split();
    conn::serve(reader, writer, peer, shared).await;
    drop(permit);
}

#[cfg(feature = "tls")]
pub use tls::tls_config_from_pem;

/// A handle to a [`Server`]: push changes to its agents, add routes, shut it down. Cheap to
/// clone; usable from any task.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("life", &*self.shared.life.borrow())
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// Stops accepting, closes every connection with 1001 ("going away") and returns once
    /// [`Server::run`] has finished (at once if it never ran).
    pub async fn shutdown(&self) {
        self.shared.stop.send_replace(true);
        let mut life = self.shared.life.subscribe();
        let _ = life.wait_for(|life| *life != Life::Running).await;
    }

    /// Whether shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        *self.shared.stop.borrow()
    }

    /// Runs `change` on the lanes of the agent of `node` (starting it if needed) and publishes
    /// the events it makes to every client linked to those lanes; returns to how many
    /// connections. This is how the application changes lanes outside of commands (a sensor
    /// reading, a timer). All or nothing: when `change` fails nothing changed.
    pub fn modify<F>(&self, node: &str, change: F) -> Result<usize, CommandError>
    where
        F: FnOnce(&mut AgentContext<'_>) -> Result<(), LaneError>,
    {
        let now = self.shared.now();
        let mut hub = self.shared.hub.lock();
        let published = hub.plane.modify(node, now, change)?;
        Ok(hub.publish(published))
    }

    /// Delivers a command to `node`/`lane` as if a client had sent it, and publishes what it
    /// changed; returns to how many connections.
    pub fn command(&self, node: &str, lane: &str, value: Value) -> Result<usize, CommandError> {
        let now = self.shared.now();
        let mut hub = self.shared.hub.lock();
        let published = hub.plane.command(node, lane, value, now)?;
        Ok(hub.publish(published))
    }

    /// Routes node URIs matching `pattern` to agents made by `factory`, from now on.
    pub fn route<F>(&self, pattern: &str, factory: F) -> Result<(), RouteError>
    where
        F: Fn(&Params) -> Option<Agent> + Send + Sync + 'static,
    {
        self.shared
            .hub
            .lock()
            .plane
            .route(pattern, factory)
            .map(|_| ())
    }

    /// Reads the plane (the running agents and their lanes) under the server's lock; keep
    /// `read` short, every connection waits for it.
    pub fn with_plane<R>(&self, read: impl FnOnce(&Plane) -> R) -> R {
        read(&self.shared.hub.lock().plane)
    }

    /// How many connections are being served.
    pub fn connections(&self) -> usize {
        self.shared.hub.lock().connections()
    }
}
