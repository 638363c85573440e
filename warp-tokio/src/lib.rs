//! # warp-tokio
//!
//! The tokio driver of WARP, the multiplexed streaming protocol of SwimOS: an async WARP
//! [server] and client over tokio sockets. The driver only moves bytes: the protocol
//! (WebSocket handshake and framing, envelopes, link state machines) is the sans-IO core in
//! [`warp_proto::endpoint`], and the application layer (routes, agents and their value, map
//! and command lanes, fan-out order, reconnect policy) is [`warp_proto::app`], shared with the
//! other drivers.
//!
//! - [`server`]: [`server::Server`]: routes from node URI patterns (`/unit/:id`) to agents with
//!   ready-made stateful lanes, one task per connection, one agent per node shared by every
//!   connection, bounded fan-out, graceful shutdown.
//! - [`demo`]: the demo agents of the interop tests (`warp serve`).
//! - [`client`]: [`client::Client::connect`], downlinks as streams, commands, reconnect with
//!   back-off.
//!
//! ## Features
//! - `tls`: `wss://` through tokio-rustls (ring crypto provider), for the server and the client.
//! - `cli` (default): the `warp` command-line tool.
//!
//! Logs go through `tracing`; nothing is printed unless the application installs a subscriber.
//!
//! ## A server in a few lines
//!
//! ```no_run
//! # async fn serve() -> std::io::Result<()> {
//! let server = warp_tokio::demo::demo_server("127.0.0.1:9001").await?;
//! server.run().await; // until `server.handle().shutdown()` is called elsewhere
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod demo;
pub mod server;

#[cfg(feature = "tls")]
#[doc(no_inline)]
pub use tokio_rustls::rustls;

#[doc(no_inline)]
pub use warp_proto;
