//! # warp-proto
//!
//! The sans-IO core of WARP, the multiplexed streaming protocol of SwimOS.
//!
//! This crate is `#![no_std]` and needs no allocator. It holds the codecs and state machines of
//! the protocol; it owns no socket, reads no clock and spawns nothing. Drivers (`warp-tokio`,
//! `warp-smol`) and embedded programs feed it bytes and carry out what it asks.
//!
//! ## Modules
//! - [`recon`]: the Recon data notation: a zero-copy pull [`recon::Reader`], the
//!   [`recon::Value`] model (feature `alloc`), and the writer.
//! - [`envelope`]: WARP envelopes: [`envelope::Envelope::decode`] (zero-copy, with a fast
//!   header scanner) and [`envelope::Envelope::encode`] into any `fmt::Write` or a byte slice.
//! - [`connection`]: the link-lifecycle state machines of one WARP connection,
//!   [`connection::ServerConnection`] and [`connection::ClientConnection`], with growable
//!   (`alloc`) or fixed-capacity storage.
//! - [`ws`]: WebSocket (RFC 6455) for both roles: the upgrade handshake offering `warp0`, frame
//!   codec, and [`ws::WsConnection`] with reassembly, ping/pong, close handshake and timers.
//! - [`endpoint`]: one sans-IO endpoint per connection joining the two:
//!   [`ServerEndpoint`] and [`ClientEndpoint`], driven by `handle_input` / `poll_output`.
//! - [`app`] (feature `alloc`): what the drivers share that is not IO: node-URI routes
//!   (`/unit/:id`), stateful value, map and command lanes, agents and the plane that owns them,
//!   per-connection uplink fan-out, and the client's reconnect policy.
//!
//! ## Features
//! - `alloc`: owned values ([`recon::Value`]), big integers, growable buffers.
//! - `std` (default): implies `alloc`.
//!
//! Without default features the crate builds for targets with no allocator.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "alloc")]
pub mod app;
pub mod connection;
pub mod endpoint;
pub mod envelope;
pub mod recon;
pub mod ws;

pub use endpoint::{ClientEndpoint, Input, Output, ServerEndpoint};
