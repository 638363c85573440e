//! # warp-smol
//!
//! The smol driver of WARP, the multiplexed streaming protocol of SwimOS: the same server API
//! as [`warp-tokio`](https://docs.rs/warp-tokio) (same names, same lane types, same
//! configuration and errors) over `futures-io` sockets (`async-net`, `async-io` timers),
//! runnable with [`smol`](https://docs.rs/smol).
//!
//! The driver only moves bytes. The protocol (WebSocket handshake and framing, envelopes, link
//! state machines) is the sans-IO core in [`warp_proto::endpoint`]; the application layer
//! (routes, agents and their lanes, fan-out order, slow consumers, reconnect policy) is
//! [`warp_proto::app`], shared with `warp-tokio`: both drivers run the same
//! [`ConnectionSession`](warp_proto::app::session::server::ConnectionSession) per connection
//! and the same [`Hub`](warp_proto::app::session::server::Hub) across connections.
//!
//! - [`server`]: [`server::Server`]: routes from node URI patterns (`/unit/:id`) to agents with
//!   ready-made stateful lanes (or [`server::NodeHandler`]s), one task per connection, bounded
//!   fan-out, graceful shutdown.
//! - [`client`]: [`client::Client`]: `connect`, `link`/`sync` returning
//!   [`client::Downlink`] streams, `command`, `close`, reconnection; the same API and types as
//!   `warp_tokio::client`, over the same sans-IO
//!   [`ClientSession`](warp_proto::app::session::client::ClientSession).
//! - [`demo`]: the demo agents of the interop tests.
//!
//! ## Runtimes
//! - `smol` (default): connection tasks run on smol's global executor
//!   (`SMOL_THREADS` threads); sockets and timers are `async-io`'s, so the server also runs
//!   under any executor that can poll it, such as `smol::block_on`.
//! - `async-std`: connection tasks are spawned with `async_std::task::spawn`. Note that
//!   **async-std is discontinued upstream**; smol is its recommended successor. async-std runs
//!   on the same `async-io` reactor, so the sockets are the same.
//!
//! Logs go through `tracing`; nothing is printed unless the application installs a subscriber.
//!
//! ## A server in a few lines
//!
//! ```
//! smol::block_on(async {
//!     let server = warp_smol::demo::demo_server("127.0.0.1:0").await?;
//!     println!("serving ws://{}", server.local_addr()?);
//!     let handle = server.spawn();
//!     handle.command("/unit/1", "add", 5.into())?;
//!     handle.shutdown().await;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })
//! .unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod demo;
mod rt;
pub mod server;

#[doc(no_inline)]
pub use warp_proto;
