//! The WARP connection state machines: [`ServerConnection`] and [`ClientConnection`], each
//! owning the link table of one WARP connection.
//!
//! They are sans-IO: no socket, no clock, no threads; the same input always gives the same
//! output. A driver feeds them what arrives and carries out what they ask.
//!
//! # Input
//!
//! - A received text frame: `handle_frame(&str)` (or `handle_frame_bytes(&[u8])`, which checks
//!   UTF-8 first, `handle_binary_frame()` for a binary frame, or `handle_envelope` for an
//!   envelope decoded elsewhere). What the frame asks of the application is **returned** from
//!   the call, borrowing the frame: a [`ServerRequest`] on the server, a [`ClientEvent`] on the
//!   client. A bad frame is returned as [`HandleError::Protocol`], counted, and the connection
//!   goes on until [`Config::max_protocol_errors`] is passed.
//! - The application's calls: `accept`, `reject`, `publish`, … on the server; `link`, `sync`,
//!   `command`, `close_handle`, … on the client.
//!
//! Every input is all or nothing: when it returns an error, nothing changed (a bad frame is the
//! one exception: it is consumed and counted).
//!
//! # Output: the drain contract
//!
//! Everything to send goes into a bounded outbound queue of encoded frames. **After every
//! `handle_*` call and every application call that returned `Ok` (or a
//! [`HandleError::Protocol`]), the driver drains `poll_transmit` until it returns `None`**,
//! writing each [`Transmit::Frame`] as one WebSocket text frame, in order, and the final
//! [`Transmit::Close`] as a close frame. A driver that does not drain is told so: the queue's
//! bounds ([`Config::max_queued_frames`], [`Config::max_queued_bytes`]) turn further output into
//! [`HandleError::Backpressure`] / [`QueueError::Full`], never into growth or a silent drop.
//!
//! # Bounds
//!
//! Links, handles, URI lengths, queued frames and bytes are bounded by [`Config`] (and, with
//! [`Fixed`] storage, by its capacity). A link the server cannot hold is refused with
//! `@unlinked(...)@tooManyLinks` or `@uriTooLong` and reported as [`ServerRequest::Refused`];
//! a client call beyond a bound fails with a [`CallError`].
//!
//! # Example: a server and a client wired back to back
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use warp_proto::connection::{
//!     ClientConnection, ClientEvent, Config, ServerConnection, ServerRequest, Transmit,
//! };
//! use warp_proto::envelope::Body;
//!
//! let mut client = ClientConnection::new(Config::default());
//! let mut server = ServerConnection::new(Config::default());
//! let handle = client.sync("/unit/1", "info").unwrap();
//!
//! // Client → server: the `sync` frame.
//! let Some(Transmit::Frame(frame)) = client.poll_transmit() else { panic!() };
//! let frame = frame.to_owned();
//! let Ok(Some(ServerRequest::Link { link, sync: true, .. })) = server.handle_frame(&frame) else {
//!     panic!()
//! };
//! server.accept(link).unwrap();
//! server.sync_event(link, Body::from_raw("\"hello\"")).unwrap();
//! server.synced(link).unwrap();
//!
//! // Server → client: linked, the state, synced.
//! let mut seen = Vec::new();
//! while let Some(Transmit::Frame(frame)) = server.poll_transmit() {
//!     let frame = frame.to_owned();
//!     match client.handle_frame(&frame).unwrap() {
//!         Some(ClientEvent::Linked { .. }) => seen.push("linked"),
//!         Some(ClientEvent::Event { link, .. }) => {
//!             assert_eq!(client.handles(link).collect::<Vec<_>>(), [handle]);
//!             seen.push("event");
//!         }
//!         Some(ClientEvent::Synced { .. }) => seen.push("synced"),
//!         other => panic!("{other:?}"),
//!     }
//! }
//! assert_eq!(seen, ["linked", "event", "synced"]);
//! # }
//! ```

mod client;
mod endpoint;
mod error;
mod outbound;
mod server;
mod storage;

pub use client::{ClientConnection, ClientEvent, HandleState, UnlinkReason};
pub use error::{
    Bound, CallError, Close, HandleError, ProtocolError, ProtocolErrorKind, QueueError,
};
pub use server::{Accepted, Refusal, Rejection, ServerConnection, ServerRequest};
pub use storage::{DefaultStorage, Fixed, Storage};

#[cfg(feature = "alloc")]
pub use storage::Heap;

use storage::SlotKey;

/// The bounds of one connection. With [`Fixed`] storage the effective bound is the smaller of
/// the configured one and the storage capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Links held at once (server: pending and open; client: opening, open and closing).
    /// Default 1024.
    pub max_links: usize,
    /// Client handles held at once. Default 4096.
    pub max_handles: usize,
    /// Longest node or lane URI, in bytes of decoded text. Default 512.
    pub max_uri_len: usize,
    /// Frames waiting in the outbound queue. Default 1024.
    pub max_queued_frames: usize,
    /// Bytes of frame text waiting in the outbound queue. Default 1 MiB.
    pub max_queued_bytes: usize,
    /// Bad frames tolerated: the connection closes (1002, or 1007 when the last one was not
    /// UTF-8) on the bad frame that makes the count exceed this. 0 closes on the first bad
    /// frame, as the SwimOS server does. Default 16.
    pub max_protocol_errors: u32,
    /// Longest frame accepted; a longer one closes the connection with 1009. Default 1 MiB.
    pub max_frame_len: usize,
}

impl Config {
    /// The default bounds.
    pub const fn new() -> Self {
        Config {
            max_links: 1024,
            max_handles: 4096,
            max_uri_len: 512,
            max_queued_frames: 1024,
            max_queued_bytes: 1 << 20,
            max_protocol_errors: 16,
            max_frame_len: 1 << 20,
        }
    }

    /// Sets [`Config::max_links`].
    pub const fn with_max_links(mut self, n: usize) -> Self {
        self.max_links = n;
        self
    }

    /// Sets [`Config::max_handles`].
    pub const fn with_max_handles(mut self, n: usize) -> Self {
        self.max_handles = n;
        self
    }

    /// Sets [`Config::max_uri_len`].
    pub const fn with_max_uri_len(mut self, n: usize) -> Self {
        self.max_uri_len = n;
        self
    }

    /// Sets [`Config::max_queued_frames`].
    pub const fn with_max_queued_frames(mut self, n: usize) -> Self {
        self.max_queued_frames = n;
        self
    }

    /// Sets [`Config::max_queued_bytes`].
    pub const fn with_max_queued_bytes(mut self, n: usize) -> Self {
        self.max_queued_bytes = n;
        self
    }

    /// Sets [`Config::max_protocol_errors`].
    pub const fn with_max_protocol_errors(mut self, n: u32) -> Self {
        self.max_protocol_errors = n;
        self
    }

    /// Sets [`Config::max_frame_len`].
    pub const fn with_max_frame_len(mut self, n: usize) -> Self {
        self.max_frame_len = n;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

/// One link of a connection, as named to the application.
///
/// Valid from the call or event that hands it out until the link ends; a stale id is refused
/// with [`CallError::UnknownLink`], never confused with a later link in the same slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(SlotKey);

impl LinkId {
    /// The slot index: below the connection's link bound, reused after the link ends. Handy to
    /// index the application's own per-link array.
    pub fn index(self) -> u32 {
        self.0.index
    }
}

/// One client handle (a downlink view) on a link.
///
/// Valid until [`ClientConnection::close_handle`]; a stale id is refused with
/// [`CallError::UnknownHandle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HandleId(SlotKey);

impl HandleId {
    /// The slot index: below the connection's handle bound, reused after the handle closes.
    pub fn index(self) -> u32 {
        self.0.index
    }
}

/// What `poll_transmit` hands the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transmit<'a> {
    /// One encoded envelope: send it as one WebSocket text frame.
    Frame(&'a str),
    /// Send a close frame with this code and reason; the connection is over.
    Close(Close),
}

/// Counters of one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Frames handed in (good or bad).
    pub frames_received: u64,
    /// Frames handed out by `poll_transmit`.
    pub frames_sent: u64,
    /// Bad frames received.
    pub protocol_errors: u32,
    /// Client: envelopes dropped because no open link matches their node and lane.
    pub dropped_envelopes: u64,
    /// Server: links refused because of a bound.
    pub refused_links: u64,
    /// Responses never sent because a single frame could not fit the outbound queue
    /// (for example a refusal echoing an over-long URI).
    pub unsendable_responses: u64,
}

/// The state of a link, as the application may inspect it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkState {
    /// Server: asked for, not yet accepted or rejected. Client: `link`/`sync` sent, `linked`
    /// not yet received.
    Opening,
    /// `linked` sent (server) or received (client).
    Linked,
    /// Server: `linked` sent and a `sync` still to answer with `synced`. Client: linked, with a
    /// `sync` sent and its `synced` not yet received.
    Syncing,
    /// Client: `unlink` sent, `unlinked` not yet received.
    Unlinking,
}
