//! [`ServerEndpoint`]: the server end of one WARP connection, from the HTTP upgrade request to
//! the close.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

use super::core::{Core, Incoming, Next, Owned};
use super::error::{EndpointError, InputError};
use super::{EndpointConfig, Input, Output};
#[cfg(feature = "alloc")]
use crate::connection::Heap;
use crate::connection::{
    Accepted, CallError, Close, DefaultStorage, LinkId, ProtocolError, Rejection, ServerConnection,
    ServerRequest, Storage as ConnStorage,
};
use crate::envelope::Body;
use crate::ws::{CloseCode, Instant, Storage as Buffer};

/// What the server application hears from [`ServerEndpoint::poll_output`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent<'a> {
    /// The upgrade request was accepted (its `101` answer is the next output).
    Connected {
        /// The request target, e.g. `/` or `/warp?x=1`.
        path: &'a str,
        /// The subprotocol chosen: `Some("warp0")` when the client offered it, `None` when it
        /// offered none (the JavaScript client) or only others.
        protocol: Option<&'a str>,
    },
    /// A received envelope asks something of the application: answer a
    /// [`ServerRequest::Link`] with [`ServerEndpoint::accept`] or [`ServerEndpoint::reject`],
    /// a [`ServerRequest::Sync`] with [`ServerEndpoint::sync_event`]s and
    /// [`ServerEndpoint::synced`], an [`ServerRequest::Auth`] with
    /// [`ServerEndpoint::authenticate`]; the others are for information. Node, lane and body
    /// borrow the received frame.
    Received(ServerRequest<'a>),
    /// A received frame was not a WARP envelope (or was binary, or too large). It is counted;
    /// when [`ProtocolError::close`] is set the endpoint is closing because of it.
    ProtocolError(ProtocolError),
}

/// The server end of one WARP connection over WebSocket, sans-IO: feed it what the transport
/// reads with [`handle_input`](Self::handle_input), carry out what
/// [`poll_output`](Self::poll_output) says; see the [module docs](super) for the drain
/// contract.
///
/// It starts in the opening handshake: it reads the HTTP upgrade request, answers `101` (with
/// the `warp0` subprotocol when offered; a client offering none is accepted too) or an HTTP
/// error (400, 426, 431) followed by the end. Then it runs the WebSocket connection and the
/// WARP link table ([`ServerConnection`]).
///
/// `R` is the receive storage (the request head, then each received message: it bounds their
/// size), `T` the transmit storage (answers and frames to send), `S` the storage of the link
/// table and outbound queue: [`Heap`] with `alloc`, [`Fixed`](crate::connection::Fixed)
/// without.
pub struct ServerEndpoint<R, T, S: ConnStorage = DefaultStorage> {
    core: Core<R, T>,
    conn: ServerConnection<S>,
}

#[cfg(feature = "alloc")]
impl ServerEndpoint<Vec<u8>, Vec<u8>, Heap> {
    /// A server endpoint with growable storages (bounded by `config`), waiting at `now` for
    /// the upgrade request.
    pub fn new(now: Instant, config: EndpointConfig) -> Result<Self, EndpointError> {
        Self::with_storage(now, config, Vec::new(), Vec::new())
    }
}

#[cfg(feature = "alloc")]
impl ServerEndpoint<Vec<u8>, [u8; 0], Heap> {
    /// A server endpoint in message mode with a growable receive storage: the caller runs the
    /// WebSocket (axum, tungstenite, ...) and hands in whole messages ([`Input::Message`]);
    /// outgoing envelopes come out as [`Output::Message`].
    pub fn new_message_mode(now: Instant, config: EndpointConfig) -> Self {
        Self::message_mode_with_storage(now, config, Vec::new())
    }
}

impl<R: Buffer, T: Buffer, S: ConnStorage> ServerEndpoint<R, T, S> {
    /// A server endpoint in the given storages, waiting at `now` for the upgrade request.
    ///
    /// Fails when `tx` holds fewer than [`MIN_TRANSMIT_LEN`](super::MIN_TRANSMIT_LEN) bytes.
    /// The outbound queue bound ([`Config::max_queued_bytes`](crate::connection::Config)) is
    /// lowered, if need be, so that every queued envelope fits the transmit storage.
    pub fn with_storage(
        now: Instant,
        config: EndpointConfig,
        rx: R,
        tx: T,
    ) -> Result<Self, EndpointError> {
        let (core, warp) = Core::server(now, config, rx, tx)?;
        Ok(ServerEndpoint {
            core,
            conn: ServerConnection::with_storage(warp),
        })
    }
}

impl<R: Buffer, S: ConnStorage> ServerEndpoint<R, [u8; 0], S> {
    /// A server endpoint in message mode (see
    /// [`new_message_mode`](ServerEndpoint::new_message_mode)); each message handed in is
    /// copied into `rx`, which bounds its size.
    pub fn message_mode_with_storage(now: Instant, config: EndpointConfig, rx: R) -> Self {
        let (core, warp) = Core::messages(now, config, rx, []);
        ServerEndpoint {
            core,
            conn: ServerConnection::with_storage(warp),
        }
    }
}

impl<R: Buffer, T: Buffer, S: ConnStorage> ServerEndpoint<R, T, S> {
    /// Hands in what happened: bytes received, a message (message mode), a deadline reached,
    /// the transport closed. Returns how many of the bytes (or of the message) were consumed;
    /// hand the rest in again after draining [`poll_output`](Self::poll_output).
    ///
    /// Refused with [`InputError::NotDrained`] until `poll_output` has returned
    /// [`Output::Timeout`] since the last change ([`Input::TransportClosed`] is always taken).
    pub fn handle_input(&mut self, input: Input<'_>) -> Result<usize, InputError> {
        self.core.handle_input(&mut self.conn, input)
    }

    /// The next thing to do; call it until it returns [`Output::Timeout`] or
    /// [`Output::Closed`] after every `handle_input` and every application call. What it
    /// returns borrows the endpoint until the next call.
    pub fn poll_output(&mut self) -> Output<'_, ServerEvent<'_>> {
        fn out<'a>(o: Owned) -> Output<'a, ServerEvent<'a>> {
            owned(o, ServerEvent::ProtocolError)
        }
        match self.core.prepare(&mut self.conn) {
            Next::Transmit => Output::Transmit(self.core.wire.take_transmit()),
            Next::Outgoing => match self.conn.poll_transmit() {
                Some(crate::connection::Transmit::Frame(text)) => Output::Message(text),
                Some(crate::connection::Transmit::Close(close)) => {
                    out(self.core.outgoing_close(close))
                }
                None => out(self.core.st.fallback()),
            },
            Next::Connected => Output::Event(ServerEvent::Connected {
                path: self.core.wire.upgrade_path(),
                protocol: self.core.st.protocol,
            }),
            Next::Frame => {
                let st = &mut self.core.st;
                match self.core.wire.take_frame() {
                    Some(Incoming::Text(text)) => match self.conn.handle_frame(text) {
                        Ok(Some(request)) => Output::Event(ServerEvent::Received(request)),
                        Ok(None) => out(st.fallback()),
                        Err(e) => out(st.frame_error(&mut self.conn, e)),
                    },
                    Some(Incoming::Binary(len)) => {
                        let e = self.conn.handle_binary_frame(len);
                        out(st.frame_error(&mut self.conn, e))
                    }
                    None => out(st.fallback()),
                }
            }
            Next::Owned(o) => out(o),
        }
    }

    /// Accepts a pending link: queues `linked`. [`Accepted::Syncing`] asks for the lane's
    /// state: [`sync_event`](Self::sync_event)s, then [`synced`](Self::synced).
    pub fn accept(&mut self, link: LinkId) -> Result<Accepted, CallError> {
        let accepted = self.conn.accept(link)?;
        self.core.after_call(&mut self.conn);
        Ok(accepted)
    }

    /// Refuses a pending link: queues `@unlinked(...)@nodeNotFound` or `@laneNotFound`.
    pub fn reject(&mut self, link: LinkId, why: Rejection) -> Result<(), CallError> {
        self.conn.reject(link, why)?;
        self.core.after_call(&mut self.conn);
        Ok(())
    }

    /// Queues one `event` of the state a `sync` asked for.
    pub fn sync_event(&mut self, link: LinkId, body: Body<'_>) -> Result<(), CallError> {
        self.conn.sync_event(link, body)?;
        self.core.after_call(&mut self.conn);
        Ok(())
    }

    /// Queues `synced`: the state asked for by one `sync` has been sent.
    pub fn synced(&mut self, link: LinkId) -> Result<(), CallError> {
        self.conn.synced(link)?;
        self.core.after_call(&mut self.conn);
        Ok(())
    }

    /// Queues one `event` on an open link.
    pub fn event(&mut self, link: LinkId, body: Body<'_>) -> Result<(), CallError> {
        self.conn.event(link, body)?;
        self.core.after_call(&mut self.conn);
        Ok(())
    }

    /// Queues one `event` to every open link on `node`/`lane`; returns how many.
    pub fn publish(&mut self, node: &str, lane: &str, body: Body<'_>) -> Result<usize, CallError> {
        let sent = self.conn.publish(node, lane, body)?;
        self.core.after_call(&mut self.conn);
        Ok(sent)
    }

    /// Ends an open link from the server side: queues `unlinked` with `body`.
    pub fn unlink(&mut self, link: LinkId, body: Body<'_>) -> Result<(), CallError> {
        self.conn.unlink(link, body)?;
        self.core.after_call(&mut self.conn);
        Ok(())
    }

    /// Answers the oldest unanswered `auth`: `@authed`, or `@deauthed` and a close (1008).
    pub fn authenticate(&mut self, accepted: bool) -> Result<(), CallError> {
        self.conn.authenticate(accepted)?;
        self.core.after_call(&mut self.conn);
        Ok(())
    }

    /// Closes the connection (1000) after what is already queued. Before the handshake is
    /// done the endpoint just ends ([`CloseReason::Local`](super::CloseReason::Local)). The
    /// close timeout counts from the instant of the last input.
    pub fn close(&mut self) {
        self.close_with(Close::Normal);
    }

    /// Closes the connection with a chosen reason after what is already queued: for example
    /// [`Close::GoingAway`] (1001) on shutdown, or [`Close::Overloaded`] (1013) for a peer that
    /// does not keep up. Before the handshake is done the endpoint just ends with that code.
    pub fn close_with(&mut self, close: Close) {
        self.conn.close_with(close);
        self.core
            .close(&mut self.conn, CloseCode::new(close.code()));
    }

    /// Runs `f` on the WARP link machine, for code that works on it directly (such as
    /// `app::Uplinks`), then takes what it queued as after any application call:
    /// drain [`poll_output`](Self::poll_output) afterwards. `f` must not hand in frames nor
    /// take transmits itself (that is the endpoint's job); whatever it queues is sent.
    pub fn with_connection<X>(&mut self, f: impl FnOnce(&mut ServerConnection<S>) -> X) -> X {
        let out = f(&mut self.conn);
        self.core.after_call(&mut self.conn);
        out
    }

    /// The WARP link table, for inspection: link states, node and lane names, counters.
    pub fn connection(&self) -> &ServerConnection<S> {
        &self.conn
    }

    /// The node and lane of `link`, if it is one of this connection's links.
    pub fn link_uri(&self, link: LinkId) -> Option<(&str, &str)> {
        Some((self.conn.link_node(link)?, self.conn.link_lane(link)?))
    }

    /// Whether the handshake is done and the endpoint is not ending.
    pub fn is_connected(&self) -> bool {
        self.core.is_connected()
    }

    /// The subprotocol negotiated in the handshake (`Some("warp0")` or `None`).
    pub fn protocol(&self) -> Option<&'static str> {
        self.core.st.protocol
    }

    /// Gives the receive and transmit storages back (for reuse on the next connection).
    pub fn into_storage(self) -> Option<(R, T)> {
        self.core.into_storage()
    }
}

/// The outputs that borrow nothing; a protocol error becomes the role's event.
pub(crate) fn owned<'a, E>(owned: Owned, protocol_error: fn(ProtocolError) -> E) -> Output<'a, E> {
    match owned {
        Owned::ProtocolError(e) => Output::Event(protocol_error(e)),
        Owned::Timeout(deadline) => Output::Timeout(deadline),
        Owned::Closed(reason) => Output::Closed(reason),
        Owned::Done => Output::Timeout(None),
    }
}

impl<R: Buffer, T: Buffer, S: ConnStorage> core::fmt::Debug for ServerEndpoint<R, T, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerEndpoint")
            .field("connected", &self.is_connected())
            .field("protocol", &self.core.st.protocol)
            .field("links", &self.conn.link_count())
            .finish_non_exhaustive()
    }
}
