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
//! - **Nodes of your own**: a [`NodeHandler`] serves the lanes of the nodes routed to it with
//!   [`ServerBuilder::route_handler`] (computed lanes, state kept elsewhere).
//! - **One task per connection**, moving bytes between the socket and the sans-IO
//!   [`ConnectionSession`](warp_proto::app::session::server::ConnectionSession) (which wraps the [`ServerEndpoint`](warp_proto::ServerEndpoint));
//!   all protocol and application logic, fan-out and slow-consumer decisions included, is in
//!   `warp_proto` ([`warp_proto::app::session::server`]), shared with the other drivers.
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
use warp_proto::app::session::server::{Hub, SharedHub};
use warp_proto::app::{
    AgentContext, CommandError, LaneError, Params, Plane, RouteError, RoutePattern, RouteTarget,
};
use warp_proto::recon::Value;
use warp_proto::ws::Instant as WarpInstant;

#[doc(no_inline)]
pub use warp_proto::app::session::server::{Authenticator, ServerConfig};
#[doc(no_inline)]
pub use warp_proto::app::{
    Agent, AgentLogic, CommandLane, MapLane, NoLogic, NodeHandler, ValueLane, ValueType,
};

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
    routes: Vec<(String, RouteTarget)>,
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
        self.routes
            .push((pattern.to_owned(), RouteTarget::Agent(Box::new(factory))));
        Ok(self)
    }

    /// Routes node URIs matching `pattern` to [`NodeHandler`]s made by `factory` on first use:
    /// nodes whose lanes the application serves itself. Fails on a malformed pattern.
    pub fn route_handler<F>(mut self, pattern: &str, factory: F) -> Result<Self, RouteError>
    where
        F: Fn(&Params) -> Option<Box<dyn NodeHandler>> + Send + Sync + 'static,
    {
        RoutePattern::parse(pattern)?;
        self.routes
            .push((pattern.to_owned(), RouteTarget::Handler(Box::new(factory))));
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
        for (pattern, target) in self.routes {
            match target {
                RouteTarget::Agent(factory) => plane.route(&pattern, factory),
                RouteTarget::Handler(factory) => plane.route_handler(&pattern, factory),
            }
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
        shared.hub.lock().shut_down();
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
        self.0.hub.lock().shut_down();
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
        self.shared.hub.lock().modify(node, now, change)
    }

    /// Delivers a command to `node`/`lane` as if a client had sent it, and publishes what it
    /// changed; returns to how many connections.
    pub fn command(&self, node: &str, lane: &str, value: Value) -> Result<usize, CommandError> {
        let now = self.shared.now();
        self.shared.hub.lock().command(node, lane, value, now)
    }

    /// Routes node URIs matching `pattern` to agents made by `factory`, from now on.
    pub fn route<F>(&self, pattern: &str, factory: F) -> Result<(), RouteError>
    where
        F: Fn(&Params) -> Option<Agent> + Send + Sync + 'static,
    {
        self.shared
            .hub
            .lock()
            .plane_mut()
            .route(pattern, factory)
            .map(|_| ())
    }

    /// Routes node URIs matching `pattern` to [`NodeHandler`]s made by `factory`, from now on.
    pub fn route_handler<F>(&self, pattern: &str, factory: F) -> Result<(), RouteError>
    where
        F: Fn(&Params) -> Option<Box<dyn NodeHandler>> + Send + Sync + 'static,
    {
        self.shared
            .hub
            .lock()
            .plane_mut()
            .route_handler(pattern, factory)
            .map(|_| ())
    }

    /// Publishes events the application made for `node` outside of any command (a node served
    /// by a [`NodeHandler`] whose state changed); returns to how many connections.
    pub fn publish(&self, node: &str, events: Vec<warp_proto::app::LaneEvent>) -> usize {
        let mut hub = self.shared.hub.lock();
        let published = hub.plane_mut().publish(node, events);
        hub.publish(published)
    }

    /// Reads the plane (the running agents and their lanes) under the server's lock; keep
    /// `read` short, every connection waits for it.
    pub fn with_plane<R>(&self, read: impl FnOnce(&Plane) -> R) -> R {
        read(self.shared.hub.lock().plane())
    }

    /// How many connections are being served.
    pub fn connections(&self) -> usize {
        self.shared.hub.lock().connections()
    }
}
