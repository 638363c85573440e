//! [`ClientEndpoint`]: the client end of one WARP connection, from the HTTP upgrade request
//! it writes to the close.

use core::fmt;

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

use super::core::{Core, Incoming, Next, Owned};
use super::error::{EndpointError, InputError};
use super::server::owned;
use super::{EndpointConfig, Input, Output};
#[cfg(feature = "alloc")]
use crate::connection::Heap;
use crate::connection::{
    self, CallError, ClientConnection, Close, DefaultStorage, HandleId, LinkId, ProtocolError,
    Storage as ConnStorage, Transmit, UnlinkReason,
};
use crate::envelope::Body;
use crate::recon::Text;
use crate::ws::{CloseCode, Instant, Storage as Buffer};

/// Where a client endpoint connects, and the randomness it needs (the core has no RNG).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connect<'a> {
    /// The `Host` header: host name and optional port, e.g. `example.com:9001`.
    pub host: &'a str,
    /// The request target, starting with `/`, e.g. `/`.
    pub path: &'a str,
    /// 16 random bytes for the `Sec-WebSocket-Key`.
    pub nonce: [u8; 16],
    /// 16 random bytes from which the masking key of every frame sent is derived.
    pub mask_seed: [u8; 16],
}

impl<'a> Connect<'a> {
    /// Connects to `path` on `host` with the caller's random `nonce` and `mask_seed`.
    pub const fn new(host: &'a str, path: &'a str, nonce: [u8; 16], mask_seed: [u8; 16]) -> Self {
        Connect {
            host,
            path,
            nonce,
            mask_seed,
        }
    }
}

/// The handles of a link, to deliver a [`ClientEvent`] to: an iterator borrowing the
/// endpoint, in slot order. Each step looks through the connection's handle table.
#[derive(Clone, Copy)]
pub struct Handles<'a> {
    source: &'a dyn HandleSource,
    link: LinkId,
    from: u64,
}

/// Where [`Handles`] looks handles up (the client connection, whatever its storage).
trait HandleSource {
    /// The first handle of `link` whose slot index is at least `from`.
    fn handle_from(&self, link: LinkId, from: u64) -> Option<HandleId>;
}

impl<S: ConnStorage> HandleSource for ClientConnection<S> {
    fn handle_from(&self, link: LinkId, from: u64) -> Option<HandleId> {
        self.handles(link).find(|h| u64::from(h.index()) >= from)
    }
}

impl Iterator for Handles<'_> {
    type Item = HandleId;

    fn next(&mut self) -> Option<HandleId> {
        let handle = self.source.handle_from(self.link, self.from)?;
        self.from = u64::from(handle.index()) + 1;
        Some(handle)
    }
}

impl fmt::Debug for Handles<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(*self).finish()
    }
}

/// What the client application hears from [`ClientEndpoint::poll_output`].
///
/// Link events carry `handles`: the handles of the link, to deliver the event to. Bodies,
/// nodes and lanes borrow the received frame.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ClientEvent<'a> {
    /// The server accepted the upgrade request; handles opened so far are being linked.
    Connected {
        /// The subprotocol the server chose (`Some("warp0")`, or `None`).
        protocol: Option<&'a str>,
    },
    /// The server confirmed the link.
    Linked {
        /// The link.
        link: LinkId,
        /// Its handles.
        handles: Handles<'a>,
    },
    /// A lane event.
    Event {
        /// The link.
        link: LinkId,
        /// Its handles.
        handles: Handles<'a>,
        /// The event's value.
        body: Body<'a>,
    },
    /// The state asked for by one `sync` has been received.
    Synced {
        /// The link.
        link: LinkId,
        /// Its handles.
        handles: Handles<'a>,
    },
    /// The server ended (or refused) the link. Its handles stay until each is closed with
    /// [`ClientEndpoint::close_handle`].
    Unlinked {
        /// The link that ended.
        link: LinkId,
        /// Its handles.
        handles: Handles<'a>,
        /// Its node URI as received.
        node: Text<'a>,
        /// Its lane URI as received.
        lane: Text<'a>,
        /// Why (`@nodeNotFound`, `@laneNotFound`, or the body as received).
        reason: UnlinkReason<'a>,
    },
    /// The server accepted the credentials (`authed`).
    Authed {
        /// The envelope's body.
        body: Body<'a>,
    },
    /// The server dropped or refused authentication; it closes the connection next.
    Deauthed {
        /// The envelope's body.
        body: Body<'a>,
    },
    /// A received frame was not a WARP envelope this client can use. It is counted; when
    /// [`ProtocolError::close`] is set the endpoint is closing because of it.
    ProtocolError(ProtocolError),
}

/// The client end of one WARP connection over WebSocket, sans-IO: feed it what the transport
/// reads with [`handle_input`](Self::handle_input), carry out what
/// [`poll_output`](Self::poll_output) says; see the [module docs](super) for the drain
/// contract.
///
/// It starts by handing out its HTTP upgrade request (offering `warp0`), then checks the
/// server's `101`. Handles can be opened at once: their `link`/`sync` go out as soon as the
/// WebSocket is open. Handles on the same node and lane share one link
/// ([`ClientConnection`]).
///
/// `R` is the receive storage (the answer head, then each received message: it bounds their
/// size), `T` the transmit storage, `S` the storage of the link and handle tables:
/// [`Heap`] with `alloc`, [`Fixed`](crate::connection::Fixed) without.
pub struct ClientEndpoint<R, T, S: ConnStorage = DefaultStorage> {
    core: Core<R, T>,
    conn: ClientConnection<S>,
}

#[cfg(feature = "alloc")]
impl ClientEndpoint<Vec<u8>, Vec<u8>, Heap> {
    /// A client endpoint with growable storages (bounded by `config`); its upgrade request is
    /// the first output.
    pub fn new(
        now: Instant,
        config: EndpointConfig,
        connect: Connect<'_>,
    ) -> Result<Self, EndpointError> {
        Self::with_storage(now, config, connect, Vec::new(), Vec::new())
    }
}

#[cfg(feature = "alloc")]
impl ClientEndpoint<Vec<u8>, [u8; 0], Heap> {
    /// A client endpoint in message mode with a growable receive storage: the caller runs the
    /// WebSocket and hands in whole messages ([`Input::Message`]); outgoing envelopes come out
    /// as [`Output::Message`].
    pub fn new_message_mode(now: Instant, config: EndpointConfig) -> Self {
        Self::message_mode_with_storage(now, config, Vec::new())
    }
}

impl<R: Buffer, T: Buffer, S: ConnStorage> ClientEndpoint<R, T, S> {
    /// A client endpoint in the given storages; its upgrade request is written into `tx` and
    /// is the first output.
    ///
    /// Fails when `tx` holds fewer than [`MIN_TRANSMIT_LEN`](super::MIN_TRANSMIT_LEN) bytes or
    /// cannot hold the request, or when host or path hold characters an HTTP head cannot.
    pub fn with_storage(
        now: Instant,
        config: EndpointConfig,
        connect: Connect<'_>,
        rx: R,
        tx: T,
    ) -> Result<Self, EndpointError> {
        let (core, warp) = Core::client(now, config, connect, rx, tx)?;
        Ok(ClientEndpoint {
            core,
            conn: ClientConnection::with_storage(warp),
        })
    }
}

impl<R: Buffer, S: ConnStorage> ClientEndpoint<R, [u8; 0], S> {
    /// A client endpoint in message mode (see
    /// [`new_message_mode`](ClientEndpoint::new_message_mode)); each message handed in is
    /// copied into `rx`, which bounds its size.
    pub fn message_mode_with_storage(now: Instant, config: EndpointConfig, rx: R) -> Self {
        let (core, warp) = Core::messages(now, config, rx, []);
        ClientEndpoint {
            core,
            conn: ClientConnection::with_storage(warp),
        }
    }
}

/// The endpoint's event for a received envelope, with the handles of its link.
fn client_event<'a, S: ConnStorage>(
    conn: &'a ClientConnection<S>,
    event: connection::ClientEvent<'a>,
) -> ClientEvent<'a> {
    use connection::ClientEvent as E;
    let handles = |link| Handles {
        source: conn,
        link,
        from: 0,
    };
    match event {
        E::Linked { link } => ClientEvent::Linked {
            link,
            handles: handles(link),
        },
        E::Event { link, body } => ClientEvent::Event {
            link,
            handles: handles(link),
            body,
        },
        E::Synced { link } => ClientEvent::Synced {
            link,
            handles: handles(link),
        },
        E::Unlinked {
            link,
            node,
            lane,
            reason,
        } => ClientEvent::Unlinked {
            link,
            handles: handles(link),
            node,
            lane,
            reason,
        },
        E::Authed { body } => ClientEvent::Authed { body },
        E::Deauthed { body } => ClientEvent::Deauthed { body },
    }
}

impl<R: Buffer, T: Buffer, S: ConnStorage> ClientEndpoint<R, T, S> {
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
    pub fn poll_output(&mut self) -> Output<'_, ClientEvent<'_>> {
        match self.core.prepare(&mut self.conn) {
            Next::Transmit => Output::Transmit(self.core.wire.take_transmit()),
            Next::Outgoing => match self.conn.poll_transmit() {
                Some(Transmit::Frame(text)) => Output::Message(text),
                Some(Transmit::Close(close)) => {
                    owned(self.core.outgoing_close(close), ClientEvent::ProtocolError)
                }
                None => owned(self.core.st.fallback(), ClientEvent::ProtocolError),
            },
            Next::Connected => Output::Event(ClientEvent::Connected {
                protocol: self.core.st.protocol,
            }),
            Next::Frame => {
                let st = &mut self.core.st;
                let o: Owned = match self.core.wire.take_frame() {
                    Some(Incoming::Text(text)) => match self.conn.handle_frame(text) {
                        Ok(Some(event)) => {
                            return Output::Event(client_event(&self.conn, event));
                        }
                        Ok(None) => st.fallback(),
                        Err(e) => st.frame_error(&mut self.conn, e),
                    },
                    Some(Incoming::Binary(len)) => {
                        let e = self.conn.handle_binary_frame(len);
                        st.frame_error(&mut self.conn, e)
                    }
                    None => st.fallback(),
                };
                owned(o, ClientEvent::ProtocolError)
            }
            Next::Owned(o) => owned(o, ClientEvent::ProtocolError),
        }
    }

    /// Opens a handle on `node`/`lane` that wants events: sends `link` unless the link is
    /// already there (before the handshake completes, once it does).
    pub fn link(&mut self, node: &str, lane: &str) -> Result<HandleId, CallError> {
        let handle = self.conn.link(node, lane)?;
        self.core.after_call(&mut self.conn);
        Ok(handle)
    }

    /// Opens a handle on `node`/`lane` that wants the lane's state, then its events: sends
    /// `sync` (see [`ClientConnection::sync`]).
    pub fn sync(&mut self, node: &str, lane: &str) -> Result<HandleId, CallError> {
        let handle = self.conn.sync(node, lane)?;
        self.core.after_call(&mut self.conn);
        Ok(handle)
    }

    /// Closes a handle; when it was the last of its link, sends `unlink`.
    pub fn close_handle(&mut self, handle: HandleId) -> Result<(), CallError> {
        self.conn.close_handle(handle)?;
        self.core.after_call(&mut self.conn);
        Ok(())
    }

    /// Sends a `command` to `node`/`lane` (no link needed).
    pub fn command(&mut self, node: &str, lane: &str, body: Body<'_>) -> Result<(), CallError> {
        self.conn.command(node, lane, body)?;
        self.core.after_call(&mut self.conn);
        Ok(())
    }

    /// Sends `auth` with the credentials `body`.
    pub fn auth(&mut self, body: Body<'_>) -> Result<(), CallError> {
        self.conn.auth(body)?;
        self.core.after_call(&mut self.conn);
        Ok(())
    }

    /// Sends `deauth`.
    pub fn deauth(&mut self) -> Result<(), CallError> {
        self.conn.deauth()?;
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
    pub fn with_connection<X>(&mut self, f: impl FnOnce(&mut ClientConnection<S>) -> X) -> X {
        let out = f(&mut self.conn);
        self.core.after_call(&mut self.conn);
        out
    }

    /// The handles of `link` (see [`ClientConnection::handles`]).
    pub fn handles(&self, link: LinkId) -> impl Iterator<Item = HandleId> + '_ {
        self.conn.handles(link)
    }

    /// The link and handle tables, for inspection.
    pub fn connection(&self) -> &ClientConnection<S> {
        &self.conn
    }

    /// Whether the handshake is done and the endpoint is not ending.
    pub fn is_connected(&self) -> bool {
        self.core.is_connected()
    }

    /// The subprotocol the server chose (`Some("warp0")` or `None`).
    pub fn protocol(&self) -> Option<&'static str> {
        self.core.st.protocol
    }

    /// Gives the receive and transmit storages back (for reuse on the next connection).
    pub fn into_storage(self) -> Option<(R, T)> {
        self.core.into_storage()
    }
}

impl<R: Buffer, T: Buffer, S: ConnStorage> fmt::Debug for ClientEndpoint<R, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientEndpoint")
            .field("connected", &self.is_connected())
            .field("protocol", &self.core.st.protocol)
            .field("links", &self.conn.link_count())
            .field("handles", &self.conn.handle_count())
            .finish_non_exhaustive()
    }
}
