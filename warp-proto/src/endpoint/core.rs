//! What both roles share: the transport phases (handshake, framed WebSocket, message mode), the
//! drain-contract bookkeeping, and moving queued envelopes from the WARP machine into the
//! WebSocket transmit storage.

use super::error::{CloseReason, EndpointError, InputError};
use super::handshake::write_into;
use super::machine::{pump, Machine, CONTROL_RESERVE};
use super::{EndpointConfig, Input, MIN_TRANSMIT_LEN};
use crate::connection::{Close, Config as WarpConfig, HandleError, ProtocolError};
use crate::ws::{
    self, CloseCode, HandshakeError, Instant, Message, Storage as Buffer, WsConnection, WsError,
    WsErrorKind, WsState, MAX_HEADER_LEN,
};

/// The next output, decided without borrowing anything; the role's `poll_output` then takes
/// the one borrow it needs.
pub(crate) enum Next {
    /// Hand out the transmit storage's bytes ([`Phase::take_transmit`]).
    Transmit,
    /// Message mode: hand out the WARP machine's next frame (or its close).
    Outgoing,
    /// Report the completed handshake.
    Connected,
    /// A received message may be waiting: take it ([`Phase::take_frame`]) and handle it.
    Frame,
    /// An output that borrows nothing.
    Owned(Owned),
}

/// The outputs that borrow nothing.
pub(crate) enum Owned {
    /// Report a bad frame or message.
    ProtocolError(ProtocolError),
    /// Nothing to do until then.
    Timeout(Option<Instant>),
    /// The end, reported once.
    Closed(CloseReason),
    /// Reported already: nothing more, ever.
    Done,
}

impl From<Owned> for Next {
    fn from(owned: Owned) -> Self {
        Next::Owned(owned)
    }
}

/// A received message, as taken from the transport.
pub(crate) enum Incoming<'a> {
    Text(&'a str),
    Binary(usize),
}

/// Where the transport is. Storages move from phase to phase.
// The open phase is by far the largest; boxing it would need an allocator.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Phase<R, T> {
    /// Server: reading the upgrade request into `rx`.
    ServerHead { rx: R, tx: T, buffered: usize },
    /// Client: the request is in `tx` (handed out once `sent`); reading the answer into `rx`.
    ClientHead {
        rx: R,
        tx: T,
        buffered: usize,
        request: usize,
        sent: bool,
        nonce: [u8; 16],
        mask_seed: [u8; 16],
    },
    /// Server: the answer (`101`, or an HTTP error when `error` is set) is in `tx`; the
    /// request head, `head` bytes, is still in `rx`.
    Respond {
        rx: R,
        tx: T,
        head: usize,
        len: usize,
        sent: bool,
        error: Option<HandshakeError>,
    },
    /// The WebSocket connection.
    Open(WsConnection<R, T>),
    /// Message mode: `rx` holds the message handed in, `pending` until it is handled.
    Messages {
        rx: R,
        tx: T,
        pending: Option<usize>,
    },
    /// Ended; the storages are kept for [`Core::into_storage`].
    Done { rx: R, tx: T },
    /// Only while a phase change is under way (or after an impossible failure).
    Empty,
}

/// Everything but the storages.
pub(crate) struct State {
    pub(crate) config: EndpointConfig,
    /// The latest `now` handed in.
    pub(crate) now: Instant,
    /// Handshake and message mode: the last input, for the idle timeout.
    pub(crate) last_input: Instant,
    /// `poll_output` returned `Timeout` or `Closed` since the last change.
    pub(crate) drained: bool,
    /// Bytes went into the WebSocket connection since a message was last looked for.
    pub(crate) check_message: bool,
    /// The handshake completed and has not been reported.
    pub(crate) connected_pending: bool,
    /// The negotiated subprotocol.
    pub(crate) protocol: Option<&'static str>,
    /// A reason this end decided on; it wins over how the transport then ends.
    pub(crate) cause: Option<CloseReason>,
    /// The end, decided and not yet reported.
    pub(crate) closing: Option<CloseReason>,
    /// `Closed` has been returned.
    pub(crate) reported: bool,
    /// Message mode: a bad message to report.
    pub(crate) pending_error: Option<ProtocolError>,
    /// Message mode: bytes of the messages handed in.
    pub(crate) received: u64,
    /// The most bytes the transmit storage can hold.
    pub(crate) tx_capacity: usize,
    /// Messages, not bytes, are handed in.
    pub(crate) message_mode: bool,
}

impl State {
    fn new(config: EndpointConfig, now: Instant, tx_capacity: usize) -> Self {
        State {
            config,
            now,
            last_input: now,
            drained: true,
            check_message: false,
            connected_pending: false,
            protocol: None,
            cause: None,
            closing: None,
            reported: false,
            pending_error: None,
            received: 0,
            tx_capacity,
            message_mode: false,
        }
    }

    /// Records a bad frame; one that closes the connection becomes the cause.
    pub(crate) fn note_protocol_error(&mut self, e: ProtocolError) {
        if e.close.is_some() && self.cause.is_none() {
            self.cause = Some(CloseReason::Warp(e));
        }
    }

    /// The WARP machine handed out its close: the cause (if none yet) and the close frame.
    pub(super) fn local_close(&mut self, close: Close) -> (CloseCode, &'static str) {
        let cause = *self.cause.get_or_insert(CloseReason::Local {
            code: CloseCode::new(close.code()),
        });
        cause
            .close_frame()
            .unwrap_or((CloseCode::new(close.code()), close.reason()))
    }

    /// Decides the end (the cause wins), unless one is decided already.
    fn decide(&mut self, reason: CloseReason) {
        if self.closing.is_none() && !self.reported {
            self.closing = Some(self.cause.unwrap_or(reason));
        }
    }

    /// The output after a handled message that asks nothing of the application: nothing is
    /// lost, but `poll_output` must be called again, which a deadline of `now` asks for.
    pub(crate) fn fallback(&mut self) -> Owned {
        self.drained = true;
        Owned::Timeout(Some(self.now))
    }

    /// What a `handle_*` error of the WARP machine becomes.
    pub(crate) fn frame_error<M: Machine>(&mut self, conn: &mut M, e: HandleError) -> Owned {
        match e {
            HandleError::Protocol(e) => {
                self.note_protocol_error(e);
                Owned::ProtocolError(e)
            }
            HandleError::Backpressure(_) => {
                // Cannot happen: frames are handled only once the outbound queue is empty.
                // Never drop the answer silently: end the connection instead.
                if self.cause.is_none() {
                    self.cause = Some(CloseReason::Local {
                        code: CloseCode::INTERNAL_ERROR,
                    });
                }
                conn.close();
                self.fallback()
            }
            _ => self.fallback(),
        }
    }

    fn idle_deadline(&self) -> Option<Instant> {
        self.config
            .ws
            .idle_timeout
            .map(|d| self.last_input.saturating_add(d))
    }
}

/// The transport and the shared state of one endpoint.
pub(crate) struct Core<R, T> {
    pub(crate) wire: Phase<R, T>,
    pub(crate) st: State,
}

/// The capacity of a transmit storage under `config`.
fn capacity<T: Buffer>(tx: &T, config: &EndpointConfig) -> usize {
    tx.max_len().min(config.ws.max_transmit_len)
}

/// The WARP bounds adjusted so that every queued frame fits an empty transmit storage of
/// `capacity` bytes (with room for control frames), and at least one frame may queue.
fn warp_bounds(mut warp: WarpConfig, capacity: Option<usize>) -> WarpConfig {
    if let Some(capacity) = capacity {
        let room = capacity.saturating_sub(CONTROL_RESERVE + MAX_HEADER_LEN);
        warp.max_queued_bytes = warp.max_queued_bytes.min(room);
    }
    warp.max_queued_frames = warp.max_queued_frames.max(1);
    warp
}

impl<R: Buffer, T: Buffer> Core<R, T> {
    /// A server endpoint waiting for the upgrade request. Returns the WARP bounds to use.
    pub(crate) fn server(
        now: Instant,
        config: EndpointConfig,
        rx: R,
        tx: T,
    ) -> Result<(Self, WarpConfig), EndpointError> {
        let cap = capacity(&tx, &config);
        if cap < MIN_TRANSMIT_LEN {
            return Err(EndpointError::TransmitStorageTooSmall {
                needed: MIN_TRANSMIT_LEN,
                capacity: cap,
            });
        }
        let warp = warp_bounds(config.warp, Some(cap));
        let core = Core {
            wire: Phase::ServerHead {
                rx,
                tx,
                buffered: 0,
            },
            st: State::new(config, now, cap),
        };
        Ok((core, warp))
    }

    /// A client endpoint whose upgrade request (for `host` and `path`, key from `nonce`) is
    /// written and waits to be handed out.
    pub(crate) fn client(
        now: Instant,
        config: EndpointConfig,
        connect: super::Connect<'_>,
        rx: R,
        mut tx: T,
    ) -> Result<(Self, WarpConfig), EndpointError> {
        let cap = capacity(&tx, &config);
        if cap < MIN_TRANSMIT_LEN {
            return Err(EndpointError::TransmitStorageTooSmall {
                needed: MIN_TRANSMIT_LEN,
                capacity: cap,
            });
        }
        let hs = ws::ClientHandshake::new(connect.host, connect.path, connect.nonce);
        let request = write_into(&mut tx, cap, |out| hs.write_request(out))
            .map_err(EndpointError::Request)?;
        let warp = warp_bounds(config.warp, Some(cap));
        let mut st = State::new(config, now, cap);
        st.drained = false;
        let core = Core {
            wire: Phase::ClientHead {
                rx,
                tx,
                buffered: 0,
                request,
                sent: false,
                nonce: connect.nonce,
                mask_seed: connect.mask_seed,
            },
            st,
        };
        Ok((core, warp))
    }

    /// An endpoint in message mode: the WebSocket is the caller's.
    pub(crate) fn messages(
        now: Instant,
        config: EndpointConfig,
        rx: R,
        tx: T,
    ) -> (Self, WarpConfig) {
        let warp = warp_bounds(config.warp, None);
        let core = Core {
            wire: Phase::Messages {
                rx,
                tx,
                pending: None,
            },
            st: State {
                message_mode: true,
                ..State::new(config, now, 0)
            },
        };
        (core, warp)
    }

    /// Whether the handshake is done and the endpoint has not started to end.
    pub(crate) fn is_connected(&self) -> bool {
        let open = match &self.wire {
            Phase::Open(ws) => ws.state() == WsState::Open,
            Phase::Messages { .. } => true,
            _ => false,
        };
        open && self.st.closing.is_none() && !self.st.reported
    }

    /// Gives the storages back, unless a phase change failed.
    pub(crate) fn into_storage(self) -> Option<(R, T)> {
        match self.wire {
            Phase::ServerHead { rx, tx, .. }
            | Phase::ClientHead { rx, tx, .. }
            | Phase::Respond { rx, tx, .. }
            | Phase::Messages { rx, tx, .. }
            | Phase::Done { rx, tx } => Some((rx, tx)),
            Phase::Open(ws) => Some(ws.into_storage()),
            Phase::Empty => None,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Input.

    /// The one input verb; see the module docs.
    pub(crate) fn handle_input<M: Machine>(
        &mut self,
        conn: &mut M,
        input: Input<'_>,
    ) -> Result<usize, InputError> {
        if self.st.reported {
            return Err(InputError::Closed);
        }
        let message_mode = self.st.message_mode;
        let now = match input {
            Input::Receive(now, _) | Input::Timeout(now) | Input::TransportClosed(now) => now,
            Input::Message(now, _) | Input::CloseReceived(now, _) => now,
        };
        match input {
            Input::Receive(..) if message_mode => return Err(InputError::WrongMode),
            Input::Message(..) | Input::CloseReceived(..) if !message_mode => {
                return Err(InputError::WrongMode)
            }
            Input::TransportClosed(_) => {}
            _ if !self.st.drained => return Err(InputError::NotDrained),
            _ => {}
        }
        self.settle(conn);
        self.st.now = self.st.now.max(now);
        self.st.drained = false;
        match input {
            Input::Receive(now, bytes) => Ok(self.receive(conn, now, bytes)),
            Input::Message(now, message) => Ok(self.message(conn, now, message)),
            Input::CloseReceived(_, code) => {
                self.end(conn, CloseReason::Remote { code });
                Ok(0)
            }
            Input::Timeout(now) => {
                self.timeout(conn, now);
                Ok(0)
            }
            Input::TransportClosed(now) => {
                match &mut self.wire {
                    Phase::Open(ws) => ws.handle_transport_closed(now),
                    _ => self.end(conn, CloseReason::TransportClosed),
                }
                Ok(0)
            }
        }
    }

    fn receive<M: Machine>(&mut self, conn: &mut M, now: Instant, bytes: &[u8]) -> usize {
        if !bytes.is_empty() {
            self.st.last_input = self.st.last_input.max(now);
        }
        match &mut self.wire {
            Phase::ServerHead { .. } => self.server_head(conn, bytes),
            Phase::ClientHead { .. } => self.client_head(conn, now, bytes),
            Phase::Open(ws) => {
                let n = ws.handle_input(now, bytes);
                if n > 0 {
                    self.st.check_message = true;
                }
                n
            }
            // Refusing the handshake, or ended: what follows is not read.
            Phase::Respond { .. } | Phase::Messages { .. } | Phase::Done { .. } | Phase::Empty => {
                bytes.len()
            }
        }
    }

    fn message<M: Machine>(&mut self, conn: &mut M, now: Instant, message: Message<'_>) -> usize {
        self.st.last_input = self.st.last_input.max(now);
        let Phase::Messages { rx, pending, .. } = &mut self.wire else {
            return 0;
        };
        let at = self.st.received;
        let len = match message {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
        };
        self.st.received = at.saturating_add(len as u64);
        match message {
            Message::Text(text) => {
                let limit = self.st.config.ws.max_message_len.min(rx.max_len());
                let fits = len <= limit && rx.grow_to(len, limit);
                match rx.bytes_mut().get_mut(..len) {
                    Some(dest) if fits => {
                        dest.copy_from_slice(text.as_bytes());
                        *pending = Some(len);
                    }
                    _ => {
                        let kind = WsErrorKind::MessageTooLarge {
                            len: len as u64,
                            limit: limit as u64,
                        };
                        self.end(conn, CloseReason::WebSocket(WsError::new(kind, at)));
                    }
                }
            }
            Message::Binary(_) => {
                if let HandleError::Protocol(e) = conn.handle_binary_frame(len) {
                    self.st.note_protocol_error(e);
                    self.st.pending_error = Some(e);
                }
            }
        }
        len
    }

    fn timeout<M: Machine>(&mut self, conn: &mut M, now: Instant) {
        match &mut self.wire {
            Phase::Open(ws) => ws.handle_timeout(now),
            Phase::ServerHead { .. } | Phase::ClientHead { .. } | Phase::Messages { .. } => {
                if self.st.idle_deadline().is_some_and(|d| now >= d) {
                    self.end(conn, CloseReason::IdleTimeout);
                }
            }
            Phase::Respond { .. } | Phase::Done { .. } | Phase::Empty => {}
        }
    }

    /// Ends the endpoint before (or without) a WebSocket close handshake: decides the reason,
    /// closes the WARP machine and drops what it still had to send.
    pub(super) fn end<M: Machine>(&mut self, conn: &mut M, reason: CloseReason) {
        self.st.decide(reason);
        self.st.pending_error = None;
        if conn.is_open() {
            conn.close();
        }
        while conn.poll_transmit().is_some() {}
        self.retire();
    }

    /// Moves the storages to [`Phase::Done`].
    fn retire(&mut self) {
        self.wire = match core::mem::replace(&mut self.wire, Phase::Empty) {
            Phase::ServerHead { rx, tx, .. }
            | Phase::ClientHead { rx, tx, .. }
            | Phase::Respond { rx, tx, .. }
            | Phase::Messages { rx, tx, .. }
            | Phase::Done { rx, tx } => Phase::Done { rx, tx },
            Phase::Open(ws) => {
                let (rx, tx) = ws.into_storage();
                Phase::Done { rx, tx }
            }
            Phase::Empty => Phase::Empty,
        };
    }

    /// Called after every application call that changed something: the output must be
    /// drained again, and queued envelopes move to the transmit storage now if they fit.
    pub(crate) fn after_call<M: Machine>(&mut self, conn: &mut M) {
        self.st.drained = false;
        if let Phase::Open(ws) = &mut self.wire {
            pump(ws, &mut self.st, conn);
        }
    }

    /// The application closes the endpoint (the WARP machine is closed already).
    pub(crate) fn close<M: Machine>(&mut self, conn: &mut M, code: CloseCode) {
        self.st.drained = false;
        match &mut self.wire {
            Phase::Open(ws) => pump(ws, &mut self.st, conn),
            // The machine's close goes out in order, after its frames.
            Phase::Messages { .. } => {}
            _ => self.end(conn, CloseReason::Local { code }),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Output.

    /// Decides the next output; see [`Next`].
    pub(crate) fn prepare<M: Machine>(&mut self, conn: &mut M) -> Next {
        if self.st.reported {
            self.st.drained = true;
            return Owned::Done.into();
        }
        if let Phase::Respond { len: 0, sent, .. } = &mut self.wire {
            // Not even a bodiless refusal fitted (impossible above the minimum storage):
            // nothing to send, the endpoint just ends.
            *sent = true;
        }
        self.settle(conn);
        if self.st.closing.is_some() && !matches!(self.wire, Phase::Open(_)) {
            return self.report().into();
        }
        match &mut self.wire {
            Phase::ServerHead { .. } => self.wait(self.st.idle_deadline()),
            Phase::ClientHead { sent: false, .. } => Next::Transmit,
            Phase::ClientHead { .. } => self.wait(self.st.idle_deadline()),
            Phase::Respond { .. } if self.st.connected_pending => {
                self.st.connected_pending = false;
                Next::Connected
            }
            Phase::Respond { .. } => Next::Transmit,
            Phase::Open(ws) => {
                if self.st.connected_pending {
                    self.st.connected_pending = false;
                    return Next::Connected;
                }
                pump(ws, &mut self.st, conn);
                // Moves control frames that waited for room into the storage.
                ws.advance_transmit(0);
                if !ws.pending_transmit().is_empty() {
                    return Next::Transmit;
                }
                if let Some(reason) = ws.poll_closed() {
                    let reason = ws_reason(reason);
                    self.st.decide(reason);
                    if conn.is_open() {
                        conn.close();
                    }
                    while conn.poll_transmit().is_some() {}
                    return self.report().into();
                }
                if self.st.check_message {
                    self.st.check_message = false;
                    return Next::Frame;
                }
                let deadline = ws.poll_timeout();
                self.wait(deadline)
            }
            Phase::Messages { pending, .. } => {
                if let Some(e) = self.st.pending_error.take() {
                    return Owned::ProtocolError(e).into();
                }
                if conn.queued_frames() > 0 || (!conn.is_open() && !conn.is_closed()) {
                    return Next::Outgoing;
                }
                if pending.is_some() {
                    return Next::Frame;
                }
                self.wait(self.st.idle_deadline())
            }
            Phase::Done { .. } | Phase::Empty => {
                self.st.decide(internal_error());
                self.report().into()
            }
        }
    }

    fn wait(&mut self, deadline: Option<Instant>) -> Next {
        self.st.drained = true;
        Owned::Timeout(deadline).into()
    }

    /// Reports the end, once.
    pub(crate) fn report(&mut self) -> Owned {
        let reason = self.st.closing.take().unwrap_or(internal_error());
        self.st.reported = true;
        self.st.drained = true;
        self.st.pending_error = None;
        self.retire();
        Owned::Closed(reason)
    }

    /// Message mode: the WARP machine handed out its close; the endpoint ends with it.
    pub(crate) fn outgoing_close(&mut self, close: Close) -> Owned {
        let _ = self.st.local_close(close);
        let cause = self.st.cause;
        if let Some(cause) = cause {
            self.st.decide(cause);
        }
        self.report()
    }
}

impl<R: Buffer, T: Buffer> Phase<R, T> {
    /// The bytes to write, handed out (and counted as written).
    pub(crate) fn take_transmit(&mut self) -> &[u8] {
        match self {
            Phase::ClientHead {
                tx, request, sent, ..
            } => {
                *sent = true;
                tx.bytes().get(..*request).unwrap_or(&[])
            }
            Phase::Respond { tx, len, sent, .. } => {
                *sent = true;
                tx.bytes().get(..*len).unwrap_or(&[])
            }
            Phase::Open(ws) => ws.poll_transmit().unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The received message, if one waits (taken: it is not handed out again).
    pub(crate) fn take_frame(&mut self) -> Option<Incoming<'_>> {
        match self {
            Phase::Open(ws) => match ws.poll_message()? {
                Message::Text(text) => Some(Incoming::Text(text)),
                Message::Binary(bytes) => Some(Incoming::Binary(bytes.len())),
            },
            Phase::Messages { rx, pending, .. } => {
                let len = pending.take()?;
                let bytes = rx.bytes().get(..len)?;
                core::str::from_utf8(bytes).ok().map(Incoming::Text)
            }
            _ => None,
        }
    }
}

/// The end reported for a WebSocket's own end (when this end decided no cause).
fn ws_reason(reason: ws::CloseReason) -> CloseReason {
    match reason {
        ws::CloseReason::Closed {
            initiator: ws::CloseInitiator::Remote,
            code,
        } => CloseReason::Remote { code },
        ws::CloseReason::Closed { .. } => CloseReason::Local {
            code: CloseCode::NORMAL,
        },
        ws::CloseReason::ProtocolError(e) => CloseReason::WebSocket(e),
        ws::CloseReason::Abnormal => CloseReason::TransportClosed,
        ws::CloseReason::TimedOut => CloseReason::IdleTimeout,
    }
}

/// The end after a failure of this endpoint itself (never expected).
pub(super) fn internal_error() -> CloseReason {
    CloseReason::Local {
        code: CloseCode::INTERNAL_ERROR,
    }
}
