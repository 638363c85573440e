//! One sans-IO endpoint per WARP connection: the WebSocket handshake, framing and keep-alive
//! ([`ws`](crate::ws)) joined with the WARP link state machine
//! ([`connection`](crate::connection)), behind two verbs and a deadline.
//!
//! - [`ServerEndpoint`]: reads the HTTP upgrade request, answers `101` (`warp0` when offered;
//!   a client offering no subprotocol is accepted too) or an HTTP error, then hands the
//!   application typed requests ([`ServerEvent`]) and takes its answers (`accept`, `reject`,
//!   `sync_event`, `synced`, `event`, `publish`, `unlink`, `authenticate`, `close`).
//! - [`ClientEndpoint`]: writes the upgrade request for a host and path (the caller supplies
//!   the random key and mask seed: the core has no RNG), checks the `101`, then takes `link`,
//!   `sync`, `command`, `close_handle`, `close` and hands out [`ClientEvent`]s routed to handles.
//! - Message mode (`new_message_mode`, `message_mode_with_storage`): for a caller that already
//!   has a WebSocket (axum, tungstenite): no handshake, no framing; whole text messages go in
//!   as [`Input::Message`] and come out as [`Output::Message`].
//!
//! # The drive loop and the drain contract
//!
//! The endpoint owns no socket, reads no clock and spawns nothing. The caller:
//!
//! 1. hands in what happened with `handle_input(`[`Input`]`)`: bytes read (with `now`), a
//!    deadline reached, the transport closed (or, in message mode, a message or the peer's
//!    close). For bytes it returns how many were consumed: it stops after each complete
//!    message, so hand the rest in again after step 2;
//! 2. **drains `poll_output()` until it returns [`Output::Timeout`] or [`Output::Closed`],
//!    after every `handle_input` and after every application call that returned `Ok`**:
//!    - [`Output::Transmit`]: write these bytes to the transport, all of them, in order. They
//!      count as written once handed out (they stay borrowed until the next call);
//!    - [`Output::Message`] (message mode): send this text as one WebSocket text message;
//!    - [`Output::Event`]: the application acts on it (its answers are endpoint methods);
//!    - [`Output::Timeout`]`(Some(t))`: nothing more to do until `t` (when `t` has already
//!      come, at once): then hand in [`Input::Timeout`] and drain again. `None`: no timer,
//!      wait for input. Keep-alive pings and the idle and close timeouts of
//!      [`WsConfig`] run on these deadlines;
//!    - [`Output::Closed`]: the end, reported once, after every byte to send was handed out:
//!      close the transport. In message mode, close the WebSocket with
//!      [`CloseReason::close_frame`] when it is `Some`.
//!
//! `handle_input` refuses input with [`InputError::NotDrained`] while output is pending, so a
//! driver that forgets step 2 learns it at once ([`Input::TransportClosed`] is always taken).
//! Application calls only queue: their envelopes go out through `poll_output`, as WebSocket
//! text frames written straight into the transmit storage.
//!
//! The peer's mistakes never panic and never surface as errors of these calls: a malformed
//! envelope or a binary frame is reported as a `ProtocolError` event and counted, and closes
//! the connection with 1002 once [`Config::max_protocol_errors`] is passed (0: on the first,
//! as SwimOS does); a message over the size limits closes with 1009, invalid UTF-8 with 1007,
//! a framing error with 1002; each ends in [`Output::Closed`] with a typed [`CloseReason`].
//!
//! # Storage
//!
//! An endpoint is generic over its receive storage `R` and transmit storage `T`
//! ([`ws::Storage`](crate::ws::Storage): `Vec<u8>` growing within the configured limits, or
//! fixed arrays) and over the WARP tables' [`Storage`](crate::connection::Storage)
//! ([`Heap`](crate::connection::Heap) or [`Fixed`](crate::connection::Fixed)). With fixed
//! storages it needs no allocator: see `tests/endpoint_fixed.rs` for a server holding 8 links
//! and 4 KiB messages in well under 16 KiB.
//!
//! [`Config::max_protocol_errors`]: crate::connection::Config::max_protocol_errors
//!
//! # Example: a client and a server wired back to back
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use warp_proto::connection::{Accepted, ServerRequest};
//! use warp_proto::endpoint::{
//!     ClientEndpoint, ClientEvent, Connect, EndpointConfig, Input, Output, ServerEndpoint,
//!     ServerEvent,
//! };
//! use warp_proto::envelope::Body;
//! use warp_proto::ws::Instant;
//!
//! type Server = ServerEndpoint<Vec<u8>, Vec<u8>>;
//! type Client = ClientEndpoint<Vec<u8>, Vec<u8>>;
//!
//! /// The server's turn: feed what arrived, draining after each call.
//! fn server_turn(server: &mut Server, now: Instant, inbox: &[u8], out: &mut Vec<u8>, log: &mut Vec<String>) {
//!     let mut fed = 0;
//!     loop {
//!         loop {
//!             match server.poll_output() {
//!                 Output::Transmit(bytes) => out.extend_from_slice(bytes),
//!                 Output::Event(ServerEvent::Received(ServerRequest::Link { link, node, .. })) => {
//!                     log.push(format!("server: link {node}"));
//!                     if server.accept(link) == Ok(Accepted::Syncing) {
//!                         server.sync_event(link, Body::from_raw("\"hello\"")).unwrap();
//!                         server.synced(link).unwrap();
//!                     }
//!                 }
//!                 Output::Event(ServerEvent::Received(ServerRequest::Unlink { .. })) => {
//!                     log.push("server: unlink".into())
//!                 }
//!                 Output::Event(event) => log.push(format!("server: {event:?}")),
//!                 Output::Timeout(Some(t)) if t <= now => {
//!                     server.handle_input(Input::Timeout(now)).unwrap();
//!                 }
//!                 Output::Timeout(_) => break,
//!                 Output::Closed(reason) => return log.push(format!("server: {reason}")),
//!                 Output::Message(_) => unreachable!("not in message mode"),
//!             }
//!         }
//!         if fed == inbox.len() {
//!             return;
//!         }
//!         fed += server.handle_input(Input::Receive(now, &inbox[fed..])).unwrap();
//!     }
//! }
//!
//! /// The client's turn, alike.
//! fn client_turn(client: &mut Client, now: Instant, inbox: &[u8], out: &mut Vec<u8>, log: &mut Vec<String>) {
//!     let mut fed = 0;
//!     loop {
//!         loop {
//!             match client.poll_output() {
//!                 Output::Transmit(bytes) => out.extend_from_slice(bytes),
//!                 Output::Event(ClientEvent::Event { body, handles, .. }) => {
//!                     let to = handles.count();
//!                     log.push(format!("client: event {} to {to} handle", body.raw()));
//!                 }
//!                 Output::Event(ClientEvent::Linked { .. }) => log.push("client: linked".into()),
//!                 Output::Event(ClientEvent::Synced { .. }) => log.push("client: synced".into()),
//!                 Output::Event(event) => log.push(format!("client: {event:?}")),
//!                 Output::Timeout(Some(t)) if t <= now => {
//!                     client.handle_input(Input::Timeout(now)).unwrap();
//!                 }
//!                 Output::Timeout(_) => break,
//!                 Output::Closed(reason) => return log.push(format!("client: {reason}")),
//!                 Output::Message(_) => unreachable!("not in message mode"),
//!             }
//!         }
//!         if fed == inbox.len() {
//!             return;
//!         }
//!         fed += client.handle_input(Input::Receive(now, &inbox[fed..])).unwrap();
//!     }
//! }
//!
//! let now = Instant::ZERO;
//! let config = EndpointConfig::default();
//! let mut server = Server::new(now, config).unwrap();
//! let connect = Connect::new("localhost", "/", [7; 16], [9; 16]);
//! let mut client = Client::new(now, config, connect).unwrap();
//! let handle = client.sync("/unit/1", "info").unwrap(); // goes out once connected
//!
//! let (mut to_server, mut to_client, mut log) = (Vec::new(), Vec::new(), Vec::new());
//! let mut run = |client: &mut Client, server: &mut Server, log: &mut Vec<String>| {
//!     for _ in 0..4 {
//!         client_turn(client, now, &std::mem::take(&mut to_client), &mut to_server, log);
//!         server_turn(server, now, &std::mem::take(&mut to_server), &mut to_client, log);
//!     }
//! };
//! run(&mut client, &mut server, &mut log);
//! client.close_handle(handle).unwrap(); // the last handle: `unlink`
//! run(&mut client, &mut server, &mut log);
//! client.close();
//! run(&mut client, &mut server, &mut log);
//! assert_eq!(log, [
//!     "server: Connected { path: \"/\", protocol: Some(\"warp0\") }",
//!     "client: Connected { protocol: Some(\"warp0\") }",
//!     "server: link /unit/1",
//!     "client: linked",
//!     "client: event \"hello\" to 1 handle",
//!     "client: synced",
//!     "server: unlink",
//!     "server: closed by the peer with code 1000",
//!     "client: closed by this end with code 1000",
//! ]);
//! # }
//! ```

mod client;
mod core;
mod error;
mod handshake;
mod machine;
mod server;

pub use client::{ClientEndpoint, ClientEvent, Connect, Handles};
pub use error::{CloseReason, EndpointError, InputError};
pub use server::{ServerEndpoint, ServerEvent};

use crate::connection::Config as WarpConfig;
use crate::ws::{handshake::DEFAULT_MAX_HEAD_LEN, CloseCode, Instant, Message, WsConfig};

/// The smallest transmit storage an endpoint takes: room for the handshake answers and for
/// control frames next to data.
pub const MIN_TRANSMIT_LEN: usize = 512;

/// The limits and timers of an endpoint: the WebSocket layer's, the WARP layer's, and the
/// size bound of the HTTP handshake head.
///
/// ```
/// use core::time::Duration;
/// use warp_proto::connection::Config;
/// use warp_proto::endpoint::EndpointConfig;
/// use warp_proto::ws::WsConfig;
///
/// let config = EndpointConfig::default()
///     .with_ws(WsConfig::default().with_ping_interval(Some(Duration::from_secs(30))))
///     .with_warp(Config::default().with_max_protocol_errors(0));
/// assert_eq!(config.warp.max_protocol_errors, 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointConfig {
    /// The WebSocket layer: message and frame size limits, ping interval, idle and close
    /// timeouts (the idle timeout also bounds the opening handshake).
    pub ws: WsConfig,
    /// The WARP layer: links, URIs, outbound queue, bad frames tolerated.
    pub warp: WarpConfig,
    /// The largest HTTP head read in the handshake (also bounded by the receive storage).
    /// Default 8 KiB.
    pub max_head_len: usize,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            ws: WsConfig::default(),
            warp: WarpConfig::default(),
            max_head_len: DEFAULT_MAX_HEAD_LEN,
        }
    }
}

impl EndpointConfig {
    /// Sets [`ws`](Self::ws).
    pub fn with_ws(mut self, ws: WsConfig) -> Self {
        self.ws = ws;
        self
    }

    /// Sets [`warp`](Self::warp).
    pub fn with_warp(mut self, warp: WarpConfig) -> Self {
        self.warp = warp;
        self
    }

    /// Sets [`max_head_len`](Self::max_head_len).
    pub fn with_max_head_len(mut self, len: usize) -> Self {
        self.max_head_len = len;
        self
    }
}

/// What the caller hands in: what happened, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input<'a> {
    /// Bytes read from the transport at the instant.
    Receive(Instant, &'a [u8]),
    /// Message mode: one whole WebSocket message received at the instant (a binary one is a
    /// WARP protocol error).
    Message(Instant, Message<'a>),
    /// Message mode: the peer's close frame arrived, with its code.
    CloseReceived(Instant, Option<CloseCode>),
    /// The deadline of the last [`Output::Timeout`] has come; this is the instant now.
    Timeout(Instant),
    /// The transport ended (end of stream or an error) at the instant.
    TransportClosed(Instant),
}

/// What the endpoint asks of the caller next; see the [module docs](self) for the loop.
#[derive(Debug)]
pub enum Output<'a, E> {
    /// Write these bytes to the transport. They count as written once handed out.
    Transmit(&'a [u8]),
    /// Message mode: send this text as one WebSocket text message.
    Message(&'a str),
    /// For the application: [`ServerEvent`] or [`ClientEvent`].
    Event(E),
    /// Nothing to do until this instant (`None`: until input arrives); then hand in
    /// [`Input::Timeout`]. An instant already past means at once.
    Timeout(Option<Instant>),
    /// The endpoint has ended: close the transport. Returned once; afterwards `poll_output`
    /// returns `Timeout(None)` and `handle_input` refuses input.
    Closed(CloseReason),
}
