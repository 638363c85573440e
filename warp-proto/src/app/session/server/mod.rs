//! The server side of a driver, sans-IO: everything a WARP server does per connection and
//! across connections that is not moving bytes, reading a clock or waiting.
//!
//! - [`Hub`]: the [`Plane`](crate::app::Plane) of agents shared by every connection, which
//!   connection watches which node, and the fan-out of each change
//!   ([`Published`](crate::app::Published)) into a **bounded** queue per connection. A
//!   connection whose queue is full does not keep up: it is marked overloaded and its session
//!   closes it with code 1013 ("try again later"); the others are not slowed down.
//! - [`ConnectionSession`]: one per connection. It owns the
//!   [`ServerEndpoint`](crate::endpoint::ServerEndpoint), the
//!   [`Uplinks`](crate::app::Uplinks), the read buffer and the bytes waiting to be written;
//!   it answers requests from the hub (links, syncs, commands, auth) and says what it waits
//!   for next ([`Interest`]).
//! - [`ServerConfig`] and [`Authenticator`]: the configuration every driver exposes, so that
//!   their server APIs are the same.
//!
//! # The driver's loop
//!
//! A driver keeps the hub behind a lock ([`SharedHub`] with `std`) and runs, per connection:
//!
//! 1. [`ConnectionSession::poll`] (with the hub): it returns [`Status::Closed`] (write
//!    [`ConnectionSession::final_output`], shut the socket, [`ConnectionSession::leave`]) or
//!    [`Status::Wait`] with an [`Interest`].
//! 2. Wait for whichever of these the interest asks for, and hand in what happened:
//!    - the socket is readable into [`ConnectionSession::buffers`]' read half:
//!      [`ConnectionSession::read`] (0 bytes: the peer closed);
//!    - the socket took bytes of the write half: [`ConnectionSession::wrote`]; a flush ended:
//!      [`ConnectionSession::flushed`]; an IO error: [`ConnectionSession::transport_failed`];
//!    - the hub has a [`Signal`] for this connection ([`Hub::poll_signal`]):
//!      [`ConnectionSession::signal`];
//!    - the deadline passed: [`ConnectionSession::timeout`].
//! 3. Go to 1.
//!
//! Changes the application makes outside of connections ([`Hub::modify`], [`Hub::command`],
//! [`Hub::publish`]) reach the connections through the same queues.

mod config;
mod connection;
mod hub;
mod request;

pub use config::{Authenticator, ServerConfig};
pub use connection::{ConnectionSession, Interest, Note, Status};
#[cfg(feature = "std")]
pub use hub::SharedHub;
pub use hub::{Change, ConnId, Hub, HubAccess, Signal};
