//! What the sensor needs from the platform besides the `embedded-io` traits: a socket that can
//! wait for input with a time limit, and a monotonic clock.
//!
//! The sensor ([`crate::sensor::run`]) is generic over these two traits and over a
//! [`core::fmt::Write`] for its output, so a device port provides exactly these:
//!
//! - **smoltcp**: a `TcpSocket` handle plus the `Interface`; `read`/`write` poll the interface
//!   and call `recv_slice`/`send_slice`; `wait_readable` polls the interface until
//!   `can_recv()` (or `!may_recv()`) or until the time is up, sleeping on
//!   `Interface::poll_delay` in between.
//! - **embassy-net**: a `TcpSocket` (its `embedded-io-async` traits, or a blocking wrapper
//!   of them); `wait_readable` is `select(socket.wait_read_ready(), Timer::after(timeout))`.
//! - **Clock**: a hardware timer or `embassy_time::Instant::now()`, in milliseconds.
//!
//! The host implementations over `libc` are in [`crate::shim`].

use embedded_io::{Read, Write};
use warp_proto::ws::Instant;

/// A connected byte stream (`embedded-io` [`Read`] + [`Write`], blocking) that can wait for
/// input with a time limit.
///
/// `read` blocks until at least one byte is there and returns 0 at the end of the stream;
/// `write` blocks until at least one byte is taken.
pub trait Socket: Read + Write {
    /// Waits until a `read` would not block (bytes, the end of the stream or an error), at
    /// most `timeout_ms` milliseconds. `Ok(true)` when readable, `Ok(false)` when the time
    /// ran out (or the wait was interrupted: the caller looks at its clock again).
    fn wait_readable(&mut self, timeout_ms: u32) -> Result<bool, Self::Error>;
}

/// A monotonic clock in milliseconds, turned into [`Instant`]s for the endpoint.
pub trait Clock {
    /// The time now, since an epoch of the clock's choosing (fixed for the program's life).
    fn now(&mut self) -> Instant;
}
