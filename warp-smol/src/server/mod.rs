//! A WARP server over `async-net` sockets: listens on a TCP port, upgrades each connection to
//! WebSocket and serves the WARP links of its clients from one shared [`Plane`] of agents.
//! The same API as `warp_tokio::server`, with the same types where they are not about the
//! runtime ([`ServerConfig`], [`Authenticator`], the lanes, the errors).
//!
//! - **Routes** map node URI patterns (`/unit/:id`, `/files/*`) to agents made on first use:
//!   ready-made stateful lanes ([`ValueLane`], [`MapLane`], [`CommandLane`]) and your own
//!   [`AgentLogic`] reacting to commands, changes pushed from outside with
//!   [`ServerHandle::modify`], or, for anything else, a [`NodeHandler`] serving the lanes
//!   of its nodes itself ([`ServerBuilder::route_handler`]).
//! - **One agent per node**: every connection linked to `/unit/1` sees the same state; a change
//!   is published to every link on that lane, on every connection, in one order.
//! - **One task per connection**, moving bytes between the socket and the sans-IO
//!   [`ConnectionSession`](warp_proto::app::session::server::ConnectionSession); fan-out,
//!   backpressure and slow-consumer decisions are the shared
//!   [`Hub`](warp_proto::app::session::server::Hub)'s.
//! - **Bounded**: a connection that does not keep up with its changes is closed with code
//!   1013 ("try again later"); the others are not slowed down.
//! - **Graceful shutdown**: [`ServerHandle::shutdown`] stops accepting, closes every
//!   connection with 1001 ("going away") and waits for their tasks (at most
//!   [`ServerConfig::shutdown_timeout`], after which they are dropped).
//!
//! # Example
//!
//! ```
//! use warp_smol::server::{Agent, CommandLane, MapLane, NoLogic, Server, ValueLane, ValueType};
//!
//! smol::block_on(async {
//!     let server = Server::builder()
//!         .route("/sensor/:id", |_params| {
//!             Some(
//!                 Agent::new(NoLogic)
//!                     .with_lane("status", ValueLane::text("idle"))
//!                     .with_lane("readings", MapLane::new(ValueType::Int, ValueType::Float))
//!                     .with_lane("ping", CommandLane::any()),
//!             )
//!         })?
//!         .bind("127.0.0.1:0")
//!         .await?;
//!     println!("serving ws://{}", server.local_addr()?);
//!     let handle = server.spawn();
//!     // Push a change to every client linked to /sensor/1's `status` lane.
//!     handle.modify("/sensor/1", |lanes| lanes.set_value("status", "running"))?;
//!     handle.shutdown().await;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })
//! .unwrap();
//! ```

mod conn;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Timer;
use async_net::{AsyncToSocketAddrs, TcpListener, TcpStream};
use futures_lite::future::or;
use warp_proto::app::session::server::{Hub, SharedHub};
use warp_proto::app::{
    AgentContext, CommandError, LaneError, LaneEvent, Params, Plane, RouteError, RoutePattern,
    RouteTarget,
};
use warp_proto::recon::Value;
use warp_proto::ws::Instant as WarpInstant;

use crate::rt::{self, Flag, Tracker};

#[doc(no_inline)]
pub use warp_proto::app::session::server::{Authenticator, ServerConfig};
#[doc(no_inline)]
pub use warp_proto::app::{
    Agent, AgentLogic, CommandLane, MapLane, NoLogic, NodeHandler, ValueLane, ValueType,
};

/// What the server's tasks and handles share.
pub(crate) struct Shared {
    hub: SharedHub,
    config: ServerConfig,
    authenticator: Option<Authenticator>,
    /// Time zero of the endpoints' clocks.
    epoch: Instant,
    /// Shutdown was asked for.
    stop: Flag,
    /// The shutdown timeout passed: connection tasks end at once.
    force: Flag,
    /// [`Server::run`] is running.
    running: AtomicBool,
    /// [`Server::run`] has returned.
    stopped: Flag,
    connections: Tracker,
}

impl Shared {
    /// Now, on the endpoints' clock.
    pub(crate) fn now(&self) -> WarpInstant {
        let millis = self.epoch.elapsed().as_millis();
        WarpInstant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    /// An endpoint deadline on the system's clock.
    pub(crate) fn instant(&self, at: WarpInstant) -> Instant {
        let since = Duration::from_millis(at.as_millis());
        self.epoch
            .checked_add(since)
            .or_else(|| self.epoch.checked_add(Duration::from_secs(86_400 * 365)))
            .unwrap_or(self.epoch)
    }
}

/// Builds a [`Server`]: routes, configuration, authentication; then
/// [`bind`](ServerBuilder::bind).
#[derive(Default)]
pub struct ServerBuilder {
    config: ServerConfig,
    routes: Vec<(String, RouteTarget)>,
    authenticator: Option<Authenticator>,
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
            .finish()
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

    /// Binds a TCP listener to `addr` (port 0: any free port) and makes the server; it
    /// accepts connections once [`Server::run`] (or [`Server::spawn`]) runs.
    pub async fn bind(self, addr: impl AsyncToSocketAddrs) -> io::Result<Server> {
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
        let shared = Arc::new(Shared {
            hub: SharedHub::new(Hub::new(plane)),
            config: self.config,
            authenticator: self.authenticator,
            epoch: Instant::now(),
            stop: Flag::default(),
            force: Flag::default(),
            running: AtomicBool::new(false),
            stopped: Flag::default(),
            connections: Tracker::default(),
        });
        Ok(Server { listener, shared })
    }
}

/// A bound WARP server. Make one with [`Server::builder`] (or [`Server::bind`] for a server
/// whose routes are added later with [`ServerHandle::route`]), then [`run`](Server::run) it
/// or [`spawn`](Server::spawn) it; stop it with [`ServerHandle::shutdown`].
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
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
    pub async fn bind(addr: impl AsyncToSocketAddrs) -> io::Result<Server> {
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

    /// Runs the server as a background task (on smol's global executor, or async-std's with
    /// the `async-std` feature); returns its handle.
    pub fn spawn(self) -> ServerHandle {
        let handle = self.handle();
        rt::spawn(self.run());
        handle
    }

    /// Accepts and serves connections, each on its own task, until
    /// [`ServerHandle::shutdown`]; then closes every connection with 1001 and waits for their
    /// tasks (at most [`ServerConfig::shutdown_timeout`], after which the remaining ones are
    /// dropped). Errors accepting a connection are logged and the server goes on.
    pub async fn run(self) {
        let shared = self.shared;
        shared.running.store(true, Ordering::SeqCst);
        // Marks the server stopped however `run` ends (also when its future is dropped), so
        // that `shutdown` never waits for a server that is gone.
        let _stopped = StopGuard(Arc::clone(&shared));
        let max = shared.config.max_connections.max(1);
        tracing::info!(addr = ?self.listener.local_addr().ok(), "WARP server running");
        while !shared.stop.is_set() {
            let room = or(
                async {
                    shared.connections.below(max).await;
                    true
                },
                async {
                    shared.stop.wait().await;
                    false
                },
            )
            .await;
            if !room {
                break;
            }
            let accepted = or(async { Some(self.listener.accept().await) }, async {
                shared.stop.wait().await;
                None
            })
            .await;
            match accepted {
                None => break,
                Some(Ok((stream, peer))) => {
                    let shared = Arc::clone(&shared);
                    rt::spawn(async move {
                        let _counted = shared.connections.enter();
                        serve_tcp(stream, peer, &shared).await;
                    });
                }
                Some(Err(e)) => accept_failed(e, &shared).await,
            }
        }
        drop(self.listener);
        shared.stop.set();
        shared.hub.lock().shut_down();
        tracing::info!(
            connections = shared.connections.active(),
            "WARP server shutting down"
        );
        let all_closed = or(
            async {
                shared.connections.below(1).await;
                true
            },
            async {
                Timer::after(shared.config.shutdown_timeout).await;
                false
            },
        )
        .await;
        if !all_closed {
            tracing::warn!(
                connections = shared.connections.active(),
                "shutdown timeout: dropping connections"
            );
            shared.force.set();
            // Dropped tasks end at their next poll; wait for them to leave the hub.
            shared.connections.below(1).await;
        }
        tracing::info!("WARP server stopped");
    }
}

/// Marks the server stopped when dropped.
struct StopGuard(Arc<Shared>);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.stop.set();
        self.0.hub.lock().shut_down();
        self.0.stopped.set();
        self.0.running.store(false, Ordering::SeqCst);
    }
}

/// After a failed `accept`: go on at once when only that connection failed, else (out of file
/// descriptors, memory) wait a little so as not to spin.
async fn accept_failed(e: io::Error, shared: &Shared) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) {
        tracing::debug!("accept failed: {e}");
        return;
    }
    tracing::warn!("accept failed: {e}; retrying shortly");
    or(shared.stop.wait(), async {
        Timer::after(Duration::from_millis(100)).await;
    })
    .await;
}

/// Serves a plain TCP connection.
async fn serve_tcp(stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%peer, "cannot set TCP_NODELAY: {e}");
    }
    let reader = stream.clone();
    conn::serve(reader, stream, peer, shared).await;
}

/// A handle to a [`Server`]: push changes to its agents, add routes, shut it down. Cheap to
/// clone; usable from any task or thread.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("running", &self.shared.running.load(Ordering::SeqCst))
            .field("stopping", &self.shared.stop.is_set())
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// Stops accepting, closes every connection with 1001 ("going away") and returns once
    /// [`Server::run`] has finished (at once if it never ran).
    pub async fn shutdown(&self) {
        self.shared.stop.set();
        if self.shared.running.load(Ordering::SeqCst) {
            self.shared.stopped.wait().await;
        }
    }

    /// Whether shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.stop.is_set()
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

    /// Publishes events the application made for `node` outside of any command (a node served
    /// by a [`NodeHandler`] whose state changed); returns to how many connections.
    pub fn publish(&self, node: &str, events: Vec<LaneEvent>) -> usize {
        let mut hub = self.shared.hub.lock();
        let published = hub.plane_mut().publish(node, events);
        hub.publish(published)
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
