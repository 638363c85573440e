//! The application layer shared by the async drivers (feature `alloc`): everything a WARP
//! server or client does above the connection machines that is not IO.
//!
//! Sans-IO and deterministic like the rest of the crate: no clock (time comes in as
//! [`Instant`](crate::ws::Instant)), no threads, no async.
//!
//! # Server side
//! - [`RoutePattern`] and [`Router`]: node URI patterns (`/unit/:id`, `/files/*`) to handlers.
//! - Lanes: [`ValueLane`], [`MapLane`], [`CommandLane`]; they turn changes into the event
//!   bodies SwimOS sends (`"hello"`, `@update(key:6) 3`, `@remove(key:1)`) and command bodies
//!   into changes.
//! - [`Agent`]: named lanes plus [`AgentLogic`], which reacts to commands through an
//!   [`AgentContext`]; changes are all or nothing per command.
//! - [`Plane`]: one agent per node URI, started on the first link or command, bounded by
//!   [`PlaneConfig::max_agents`]. Its answers are explicit: [`LinkError`] (to refuse a link with
//!   `@nodeNotFound`/`@laneNotFound`), [`SyncState`] (the events of a sync), [`Published`] (the
//!   events of a change, for every connection).
//! - [`NodeHandler`]: for anything else, a node whose lanes the application serves itself,
//!   routed with [`Plane::route_handler`].
//! - [`session::server`]: the whole server side of a driver, sans-IO: one
//!   [`ConnectionSession`](session::server::ConnectionSession) per connection and the
//!   [`Hub`](session::server::Hub) they share (fan-out, slow consumers).
//! - [`Uplinks`]: per connection, applies those answers to a
//!   [`ServerConnection`](crate::connection::ServerConnection) in a consistent order; its
//!   docs state the driver's contract.
//! - [`demo::UnitAgent`]: the demo agent of the interop tests and traces.
//!
//! # Client side
//! - [`Backoff`] and [`Reconnect`]: when to connect again.
//! - [`CommandBuffer`]: the commands held while disconnected, each with the caller's tag.
//! - [`session::client`]: the whole client side of a driver, sans-IO: downlinks routed by
//!   id, shared links, reconnection re-opening every downlink, buffered commands.
//!
//! # Example: a server in a few lines
//!
//! ```
//! use warp_proto::app::{demo::UnitAgent, Handled, Plane, PlaneConfig, Uplinks};
//! use warp_proto::connection::{Config, ServerConnection, Transmit};
//! use warp_proto::ws::Instant;
//!
//! let mut plane = Plane::new(PlaneConfig::default());
//! UnitAgent::route(&mut plane).unwrap();
//! // Two connections; the second one watches `count`.
//! let mut conns = [
//!     ServerConnection::new(Config::default()),
//!     ServerConnection::new(Config::default()),
//! ];
//! let mut uplinks: [Uplinks; 2] = Default::default();
//! let inputs = [
//!     (1, "@link(node:\"/unit/1\",lane:count)"),
//!     (0, "@command(node:\"/unit/1\",lane:add) 5"),
//! ];
//! let mut seen = Vec::new();
//! for (i, frame) in inputs {
//!     let Some(request) = conns[i].handle_frame(frame).unwrap() else { continue };
//!     let handled = uplinks[i].handle(&mut plane, &mut conns[i], request, Instant::ZERO);
//!     if let Handled::Publish(p) = handled.unwrap() {
//!         for u in uplinks.iter_mut() {
//!             u.deliver(p.clone()).unwrap();
//!         }
//!     }
//!     for (conn, u) in conns.iter_mut().zip(uplinks.iter_mut()) {
//!         u.pump(conn).unwrap();
//!         while let Some(Transmit::Frame(f)) = conn.poll_transmit() {
//!             seen.push(f.to_owned());
//!         }
//!     }
//! }
//! assert_eq!(seen, [
//!     "@linked(node:\"/unit/1\",lane:count)",
//!     "@event(node:\"/unit/1\",lane:count) 5",
//! ]);
//! ```

mod agent;
mod backoff;
mod body;
pub mod demo;
mod handler;
mod key;
mod lane;
mod plane;
mod reconnect;
mod route;
mod router;
pub mod session;
mod uplinks;

pub use agent::{Agent, AgentContext, AgentLogic, LaneEvent, NoLogic};
pub use backoff::Backoff;
pub use body::{body_text, EventBody, MapMessage};
pub use handler::{HandlerFactory, NodeHandler};
pub use lane::{CommandLane, Lane, LaneError, LaneKind, MapLane, ValueLane, ValueType};
pub use plane::{
    AgentFactory, CommandError, LinkError, Plane, PlaneConfig, Published, RouteTarget, SyncState,
};
pub use reconnect::{BufferError, BufferedCommand, CommandBuffer, Reconnect, ReconnectState};
pub use route::{Params, RouteError, RouteErrorKind, RoutePattern};
pub use router::{RouteId, RouteMatch, Router};
pub use uplinks::{Handled, Pump, UplinkError, Uplinks};
