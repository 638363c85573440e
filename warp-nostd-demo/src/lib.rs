//! # warp-nostd-demo
//!
//! WARP on a device with no heap: a sensor that speaks WARP through the sans-IO
//! [`warp_proto`] core (built without default features: no `alloc`, no `std`) over a tiny
//! socket shim. The program (`src/main.rs`, feature `firmware`) is `#![no_std]` and
//! `#![no_main]`, links no allocator, and runs on the host so CI can run it.
//!
//! What it does, as a sensor: connects, opens the WebSocket (offering `warp0`), `sync`s the
//! lanes it follows (`info` and `count` of its node), prints every event it receives as one
//! line, publishes its readings as `command`s to the `add` lane, follows `count` until they
//! have all landed, `unlink`s, waits for `unlinked`, closes the WebSocket and exits 0. See
//! [`sensor`] for the lines it prints.
//!
//! ## Modules
//! - [`platform`]: the two things the sensor needs besides the `embedded-io` traits: a socket
//!   that can wait for input ([`platform::Socket`]) and a clock ([`platform::Clock`]).
//! - [`shim`]: the host's implementation of them over raw `libc` calls, plus a console,
//!   randomness and the command line. **A device port swaps only this module**: a smoltcp
//!   `TcpSocket` polled with the interface, or an embassy-net socket, implements
//!   [`platform::Socket`]; a hardware timer implements [`platform::Clock`].
//! - [`sensor`]: the portable part: the drive loop over the endpoint and the sensor's script.
//! - [`args`]: the command line, parsed without an allocator.
//! - [`sizes`]: the memory figures of the core (`--sizes`).
//! - [`host`]: the program's body on the host, joining the shim to the sensor.
//!
//! ## Memory
//!
//! All WARP and WebSocket state lives in one [`DemoEndpoint`] (link and handle tables and the
//! outbound queue in [`Fixed`] storage, WebSocket and handshake state) and the two arrays it
//! borrows: a [`RX_LEN`]-byte receive storage (the largest message: one 4 KiB frame) and a
//! [`TX_LEN`]-byte transmit storage; the drive loop adds a [`READ_LEN`]-byte socket read
//! buffer. Nothing is allocated; everything sits on the stack of [`sensor::run`].
//! [`sizes::Sizes`] reports the figures.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod args;
pub mod host;
pub mod platform;
pub mod sensor;
#[allow(unsafe_code)] // raw libc calls: the one place that talks to the OS
pub mod shim;
pub mod sizes;

use warp_proto::connection::Fixed;
use warp_proto::endpoint::ClientEndpoint;

/// Links the demo's endpoint holds at once.
pub const LINKS: usize = 8;
/// Bytes of one node or lane URI.
pub const URI_LEN: usize = 64;
/// Bytes of the WARP outbound queue.
pub const OUT_LEN: usize = 1024;
/// Bytes of the receive storage: the largest message (and HTTP answer head) taken.
pub const RX_LEN: usize = 4096;
/// Bytes of the transmit storage: the upgrade request, then frames as they go out.
pub const TX_LEN: usize = 1536;
/// Bytes of the socket read buffer the drive loop reads into before handing bytes in.
pub const READ_LEN: usize = 512;

/// The WARP tables of the demo: [`LINKS`] links with one handle each, [`URI_LEN`]-byte URIs,
/// an [`OUT_LEN`]-byte outbound queue.
pub type DemoStorage = Fixed<LINKS, LINKS, URI_LEN, OUT_LEN>;

/// The demo's endpoint: all WARP and WebSocket state of one connection in fixed storage, with
/// its receive ([`RX_LEN`] bytes) and transmit ([`TX_LEN`] bytes) storages borrowed from
/// arrays the caller owns (on the stack here; a device may use `static` buffers).
///
/// Borrowed slices rather than arrays held by value: the endpoint moves its storages between
/// its phases, and moving a slice is copying two words, where moving an array copies (and
/// inlines the copy of) every byte.
pub type DemoEndpoint<'b> = ClientEndpoint<&'b mut [u8], &'b mut [u8], DemoStorage>;
