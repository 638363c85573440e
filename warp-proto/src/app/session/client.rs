//! The client side of a driver, sans-IO: one [`ClientSession`] per client, across all its
//! connections.
//!
//! A driver (`warp-tokio`, `warp-smol`) owns the socket, the clock, the timers and the
//! application's channels; the session decides everything else:
//!
//! - **Downlinks**, named by the driver's [`DownlinkId`], each with its own events: the session
//!   routes the endpoint's per-handle events to them as owned [`DownlinkEvent`]s. Downlinks on
//!   the same node and lane share one WARP link; one joining a link already confirmed hears
//!   `Linked` from the session (the server sends no second `linked`).
//! - **Reconnection** ([`SessionConfig::reconnect`]): when the connection is lost, linked
//!   downlinks hear [`UnlinkReason::Disconnected`]; after the back-off the session asks for a
//!   new transport ([`Output::Connect`]) and re-opens every downlink, in id order.
//! - **Commands** wait in a bounded buffer while disconnected and go out in order once
//!   connected; each carries the driver's tag `T` (its reply channel), answered once with
//!   [`Output::Done`]: `Ok` once its bytes are handed out and the driver polls again (so were
//!   written), or the reason it was refused or lost.
//! - **Flow control**: a driver that cannot hand an event to a downlink now gives it back
//!   ([`ClientSession::hold`]); the session keeps that downlink's later events behind it, and
//!   [`ClientSession::wants_input`] turns false until the driver has taken them back
//!   ([`ClientSession::take_held`]), so a slow reader slows the server down instead of growing
//!   memory.
//!
//! # The drive loop
//!
//! 1. Drain [`ClientSession::poll_output`] until [`Output::Timeout`], after every call that
//!    takes `now` and every application call:
//!    - [`Output::Connect`]: open a transport to the server (TCP, then TLS) and report
//!      [`ClientSession::connected`] or [`ClientSession::connect_failed`];
//!    - [`Output::Transmit`]: write all these bytes to the transport (and flush) before
//!      polling again; on a write error, hand in [`Input::TransportClosed`];
//!    - [`Output::CloseTransport`]: close the transport (or drop the attempt under way);
//!    - [`Output::Event`]: give it to the downlink, or back with [`ClientSession::hold`];
//!    - [`Output::Done`]: answer the call tagged `T`;
//!    - [`Output::State`]: publish where the client stands;
//!    - [`Output::Closed`]: the session has ended (reported once); keep delivering held
//!      events until none is left, then stop;
//!    - [`Output::Timeout`]: nothing more until this instant (or input).
//! 2. Wait for input: bytes read (only while [`ClientSession::wants_input`]) →
//!    [`Input::Receive`] (hand in the unconsumed rest after draining), the deadline →
//!    [`Input::Timeout`], end of stream or error → [`Input::TransportClosed`]; or an
//!    application call ([`open`](ClientSession::open), [`command`](ClientSession::command),
//!    [`close_downlink`](ClientSession::close_downlink), [`close`](ClientSession::close)).
//!
//! ```
//! use warp_proto::app::session::client::{ClientSession, ClientState, DownlinkId, Output, SessionConfig};
//! use warp_proto::endpoint::Connect;
//! use warp_proto::envelope::Body;
//! use warp_proto::ws::Instant;
//!
//! let now = Instant::ZERO;
//! let mut session: ClientSession<&str> = ClientSession::new(now, SessionConfig::default());
//! session.open(DownlinkId::new(0), "/unit/1", "info", true).unwrap();
//! session.command("/unit/1", "set_info", Body::from_raw("\"hi\""), "reply-1");
//! assert!(matches!(session.poll_output(), Output::State(ClientState::Connecting)));
//! assert!(matches!(session.poll_output(), Output::Connect));
//! // ... the driver opens a TCP socket, then:
//! assert!(session.connected(now, Connect::new("localhost:9001", "/", [1; 16], [2; 16])));
//! match session.poll_output() {
//!     Output::Transmit(bytes) => assert!(bytes.starts_with(b"GET / HTTP/1.1\r\n")),
//!     _ => unreachable!(),
//! }
//! // Nothing more until the server answers (the connect timeout is the deadline).
//! assert!(matches!(session.poll_output(), Output::Timeout(Some(_))));
//! ```

mod life;
mod route;
mod types;
mod url;

#[cfg(feature = "std")]
mod error;

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::app::{CommandBuffer, Reconnect};
use crate::connection::{CallError, HandleId, QueueError};
use crate::endpoint::{ClientEndpoint, CloseReason, Connect, InputError};
use crate::envelope::Body;
use crate::recon::Value;
use crate::ws::Instant;
use crate::{Input, Output as EpOutput};

#[cfg(feature = "std")]
pub use error::ClientError;
pub use types::{
    AttemptError, ClientState, DownlinkEvent, DownlinkId, SessionConfig, SessionEnd, SessionError,
    TransportEnd, UnlinkReason,
};
pub use url::{Scheme, ServerUrl, UrlError};

use route::{incoming, link_is_open};

type Endpoint = ClientEndpoint<Vec<u8>, Vec<u8>>;

/// What the session asks of the driver next; see the [module docs](self) for the loop.
#[derive(Debug)]
pub enum Output<'a, T> {
    /// Open a transport to the server now, then call [`ClientSession::connected`] or
    /// [`ClientSession::connect_failed`].
    Connect,
    /// Write these bytes to the transport, all of them, before polling again.
    Transmit(&'a [u8]),
    /// Close the transport, or drop the connection attempt under way.
    CloseTransport(TransportEnd),
    /// An event for the downlink: deliver it, or give it back with [`ClientSession::hold`].
    Event(DownlinkId, DownlinkEvent),
    /// The call tagged `T` is finished: a command written (`Ok`), refused or lost, a
    /// downlink's close written, the session's close done.
    Done(T, Result<(), SessionError>),
    /// Where the client stands now.
    State(ClientState),
    /// Nothing to do until this instant (`None`: until input); then hand in
    /// [`Input::Timeout`].
    Timeout(Option<Instant>),
    /// The session has ended, reported once. Held events may remain
    /// ([`ClientSession::take_held`]); afterwards only `Event`, `Done` and `Timeout(None)`
    /// come out.
    Closed(SessionEnd),
}

/// An owned output waiting its turn.
enum Queued<T> {
    Connect,
    CloseTransport(TransportEnd),
    Event(DownlinkId, DownlinkEvent),
    Done(T, Result<(), SessionError>),
    State(ClientState),
    Closed(SessionEnd),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Connect asked at `since`: the transport is being opened or the handshake runs.
    Connecting { since: Instant },
    /// The handshake is done.
    Connected,
    /// Waiting for the back-off.
    Waiting(Instant),
    /// Ended.
    Closed,
}

/// One connection: its endpoint.
struct Conn {
    ep: Endpoint,
    /// The WebSocket handshake completed.
    connected: bool,
    /// `close` was called on the endpoint.
    close_sent: bool,
    /// `poll_output` returned `Timeout` since the last change.
    drained: bool,
    /// The endpoint's deadline.
    deadline: Option<Instant>,
}

/// A downlink as the session knows it.
struct Record {
    node: String,
    lane: String,
    sync: bool,
    /// Its handle on the current connection.
    handle: Option<HandleId>,
    /// `linked` was received (or synthesized) on the current connection.
    linked: bool,
    /// Its link ended for good; kept until the driver closes it, for its held events.
    ending: bool,
    /// Events the driver gave back, oldest first.
    held: VecDeque<DownlinkEvent>,
}

/// How a connection ended.
enum Lost {
    /// The attempt made no connection.
    Attempt(AttemptError),
    /// The connection, once up, ended.
    Closed(CloseReason),
}

/// An endpoint event, owned (the handles it goes to are in `scratch`).
enum Incoming {
    Connected,
    Linked,
    Event(Value),
    Synced,
    Unlinked(UnlinkReason),
    Nothing,
}

/// The client side of a driver, across all its connections: downlinks, reconnection,
/// buffered commands; see the [module docs](self). `T` is the driver's tag of a call (its
/// reply channel), handed back with the call's outcome in [`Output::Done`].
pub struct ClientSession<T> {
    config: SessionConfig,
    phase: Phase,
    conn: Option<Conn>,
    /// [`Output::Connect`] was asked and the driver has not answered yet.
    transport_pending: bool,
    reconnect: Option<Reconnect>,
    ever_connected: bool,
    now: Instant,
    records: BTreeMap<DownlinkId, Record>,
    by_handle: BTreeMap<HandleId, DownlinkId>,
    /// Downlinks to open on the current connection, in order.
    to_open: VecDeque<DownlinkId>,
    /// Handles to close once the endpoint's queue has room, with the close's tag.
    to_close: VecDeque<(HandleId, Option<T>)>,
    commands: CommandBuffer<T>,
    /// Tags of calls queued on the endpoint, waiting for their bytes.
    unwritten: Vec<T>,
    /// Tags whose bytes are in the transmit handed out (or about to be).
    in_flight: Vec<T>,
    /// Downlinks with held events.
    backlogged: BTreeSet<DownlinkId>,
    out: VecDeque<Queued<T>>,
    /// The bytes of the current transmit (the endpoint's transmits, joined).
    wbuf: Vec<u8>,
    /// `wbuf` was handed out: the driver has written it once it polls again.
    tx_handed: bool,
    closing: bool,
    handles_gone: bool,
    close_waiters: Vec<T>,
    scratch: Vec<HandleId>,
}

impl<T> core::fmt::Debug for ClientSession<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientSession")
            .field("state", &self.state())
            .field("downlinks", &self.records.len())
            .field("buffered_commands", &self.commands.len())
            .finish_non_exhaustive()
    }
}

impl<T> ClientSession<T> {
    /// A session that connects at once: its first outputs are `State(Connecting)` and
    /// `Connect`.
    pub fn new(now: Instant, config: SessionConfig) -> ClientSession<T> {
        let mut out = VecDeque::new();
        out.push_back(Queued::State(ClientState::Connecting));
        out.push_back(Queued::Connect);
        ClientSession {
            config,
            phase: Phase::Connecting { since: now },
            conn: None,
            transport_pending: true,
            reconnect: config.reconnect.map(Reconnect::new),
            ever_connected: false,
            now,
            records: BTreeMap::new(),
            by_handle: BTreeMap::new(),
            to_open: VecDeque::new(),
            to_close: VecDeque::new(),
            commands: CommandBuffer::new(config.max_buffered_commands, config.max_buffered_bytes),
            unwritten: Vec::new(),
            in_flight: Vec::new(),
            backlogged: BTreeSet::new(),
            out,
            wbuf: Vec::new(),
            tx_handed: false,
            closing: false,
            handles_gone: false,
            close_waiters: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Where the client stands.
    pub fn state(&self) -> ClientState {
        match self.phase {
            Phase::Connecting { .. } => ClientState::Connecting,
            Phase::Connected => ClientState::Connected,
            Phase::Waiting(_) => ClientState::Disconnected,
            Phase::Closed => ClientState::Closed,
        }
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Whether the driver should read from the transport: a transport is up and no downlink
    /// has held events.
    pub fn wants_input(&self) -> bool {
        self.conn.is_some() && self.backlogged.is_empty()
    }

    /// Whether some downlink has held events ([`hold`](Self::hold)).
    pub fn is_backlogged(&self) -> bool {
        !self.backlogged.is_empty()
    }

    /// Whether downlink `id` has ended for good (its link ended with a final reason, the
    /// session closed) or is unknown: once its held events are delivered, its stream ends.
    pub fn is_ended(&self, id: DownlinkId) -> bool {
        self.records.get(&id).is_none_or(|r| r.ending)
    }

    /// The open downlinks (not ended), for inspection.
    pub fn downlinks(&self) -> usize {
        self.records.values().filter(|r| !r.ending).count()
    }

    /// The commands waiting to be sent.
    pub fn buffered_commands(&self) -> usize {
        self.commands.len()
    }

    /// The transport asked by [`Output::Connect`] is open: the session starts the WebSocket
    /// handshake on it with `connect` (host, path and the driver's randomness). Returns
    /// `false`, and takes nothing, when no transport was asked for (the attempt was dropped
    /// meanwhile): close it.
    pub fn connected(&mut self, now: Instant, connect: Connect<'_>) -> bool {
        self.now = now;
        if !self.transport_pending {
            return false;
        }
        self.transport_pending = false;
        match Endpoint::new(now, self.config.endpoint, connect) {
            Ok(ep) => {
                self.conn = Some(Conn {
                    ep,
                    connected: false,
                    close_sent: false,
                    drained: false,
                    deadline: None,
                });
                self.to_open = self
                    .records
                    .iter()
                    .filter(|(_, r)| !r.ending)
                    .map(|(&id, _)| id)
                    .collect();
                true
            }
            Err(e) => {
                self.out
                    .push_back(Queued::CloseTransport(TransportEnd::Abandoned));
                self.lost(now, Lost::Attempt(AttemptError::Endpoint(e)));
                true
            }
        }
    }

    /// The transport asked by [`Output::Connect`] could not be opened (the driver keeps its
    /// own error to report).
    pub fn connect_failed(&mut self, now: Instant) {
        self.now = now;
        if core::mem::take(&mut self.transport_pending) {
            self.lost(now, Lost::Attempt(AttemptError::Transport));
        }
    }

    /// Hands in what happened on the transport: bytes read ([`Input::Receive`], returns how
    /// many were consumed: hand in the rest after draining), a deadline reached
    /// ([`Input::Timeout`]), the transport ended ([`Input::TransportClosed`], also after a
    /// failed write). Message-mode inputs are refused with [`InputError::WrongMode`]; bytes
    /// with no transport up with [`InputError::Closed`]; input before draining with
    /// [`InputError::NotDrained`].
    pub fn handle_input(&mut self, input: Input<'_>) -> Result<usize, InputError> {
        match input {
            Input::Receive(now, bytes) => {
                self.now = now;
                let conn = self.conn.as_mut().ok_or(InputError::Closed)?;
                let n = conn.ep.handle_input(Input::Receive(now, bytes))?;
                conn.drained = false;
                Ok(n)
            }
            Input::Timeout(now) => {
                self.now = now;
                self.on_timeout(now);
                Ok(0)
            }
            Input::TransportClosed(now) => {
                self.now = now;
                self.wbuf.clear();
                self.tx_handed = false;
                for tag in self.in_flight.drain(..) {
                    self.out
                        .push_back(Queued::Done(tag, Err(SessionError::ConnectionLost)));
                }
                if let Some(conn) = self.conn.as_mut() {
                    let _ = conn.ep.handle_input(Input::TransportClosed(now));
                    conn.drained = false;
                }
                Ok(0)
            }
            _ => Err(InputError::WrongMode),
        }
    }

    /// Opens downlink `id` on `node`/`lane`, with `sync` (the state, then the changes) or
    /// `link` (the changes). Its first event is `Linked` (or `Unlinked` if the server
    /// refuses). While disconnected it opens after reconnecting. Refused, registering nothing,
    /// for an empty or over-long URI, too many downlinks, an id in use, a closed session, or a
    /// connection refusing it at once.
    pub fn open(
        &mut self,
        id: DownlinkId,
        node: &str,
        lane: &str,
        sync: bool,
    ) -> Result<(), SessionError> {
        if self.phase == Phase::Closed || self.closing {
            return Err(SessionError::Closed);
        }
        let warp = &self.config.endpoint.warp;
        if node.is_empty() || lane.is_empty() {
            return Err(SessionError::Call(CallError::EmptyUri));
        }
        if node.len() > warp.max_uri_len || lane.len() > warp.max_uri_len {
            return Err(SessionError::Call(CallError::UriTooLong));
        }
        if self.downlinks() >= warp.max_handles {
            return Err(SessionError::Call(CallError::TooManyHandles));
        }
        if self.records.contains_key(&id) {
            return Err(SessionError::DuplicateId);
        }
        let mut record = Record {
            node: node.to_string(),
            lane: lane.to_string(),
            sync,
            handle: None,
            linked: false,
            ending: false,
            held: VecDeque::new(),
        };
        if let Some(conn) = self.conn.as_mut().filter(|c| !c.close_sent) {
            if self.to_open.is_empty() {
                let result = if sync {
                    conn.ep.sync(node, lane)
                } else {
                    conn.ep.link(node, lane)
                };
                match result {
                    Ok(handle) => {
                        conn.drained = false;
                        record.handle = Some(handle);
                        record.linked = link_is_open(&conn.ep, handle);
                        if record.linked {
                            self.out.push_back(Queued::Event(id, DownlinkEvent::Linked));
                        }
                        self.by_handle.insert(handle, id);
                        self.records.insert(id, record);
                        return Ok(());
                    }
                    Err(CallError::Queue(QueueError::Full { .. }) | CallError::Closed) => {}
                    Err(e) => return Err(SessionError::Call(e)),
                }
            }
            self.to_open.push_back(id);
        }
        self.records.insert(id, record);
        Ok(())
    }

    /// Closes downlink `id` (the application closed or dropped it): when it was the last on
    /// its link, `unlink` goes out. Its held events are dropped. `tag`, if any, is answered
    /// with `Done(tag, Ok)` once the `unlink` is written (at once when nothing is to send).
    pub fn close_downlink(&mut self, id: DownlinkId, tag: Option<T>) {
        self.backlogged.remove(&id);
        let handle = self.records.remove(&id).and_then(|r| r.handle);
        match handle {
            Some(h) if self.conn.is_some() => {
                self.by_handle.remove(&h);
                self.to_close.push_back((h, tag));
            }
            _ => {
                if let Some(tag) = tag {
                    self.out.push_back(Queued::Done(tag, Ok(())));
                }
            }
        }
        self.check_stop();
    }

    /// Sends a `command` of `body` to `node`/`lane`, tagged `tag`: at once when connected,
    /// else after reconnecting, in order. Answered once with [`Output::Done`]: `Ok` when
    /// written; `BufferFull` beyond the buffer's bounds; `Call` if the connection refuses it;
    /// `ConnectionLost` if the connection died while writing it; `Closed` when the session
    /// ends first. A command is never sent twice.
    pub fn command(&mut self, node: &str, lane: &str, body: Body<'_>, tag: T) {
        if self.phase == Phase::Closed {
            self.out
                .push_back(Queued::Done(tag, Err(SessionError::Closed)));
            return;
        }
        if let Err(e) = self.commands.would_accept(node, lane, body) {
            self.out
                .push_back(Queued::Done(tag, Err(SessionError::BufferFull(e))));
            return;
        }
        // Cannot fail: checked just above.
        let _ = self.commands.push_tagged(node, lane, body, tag);
    }

    /// Closes the session: the connection closes (1000) after what is already queued, it
    /// stops reconnecting, every downlink hears `Unlinked(Closed)`, buffered commands are
    /// refused. `tag`, if any, is answered with `Done(tag, Ok)` once the session has ended.
    pub fn close(&mut self, tag: Option<T>) {
        if self.phase == Phase::Closed {
            if let Some(tag) = tag {
                self.out.push_back(Queued::Done(tag, Ok(())));
            }
            return;
        }
        self.closing = true;
        if let Some(r) = self.reconnect.as_mut() {
            r.give_up();
        }
        if let Some(tag) = tag {
            self.close_waiters.push(tag);
        }
        self.check_stop();
    }

    /// No handle can make calls any more (the application dropped every client handle): the
    /// session ends ([`SessionEnd::Abandoned`]) once no downlink is open.
    pub fn handles_gone(&mut self) {
        self.handles_gone = true;
        self.check_stop();
    }

    /// Gives back an event [`Output::Event`] handed out, that downlink `id` cannot take now:
    /// it is handed out again by [`take_held`](Self::take_held), before any later event of
    /// that downlink. While any is held, [`wants_input`](Self::wants_input) is false.
    pub fn hold(&mut self, id: DownlinkId, event: DownlinkEvent) {
        if let Some(r) = self.records.get_mut(&id) {
            r.held.push_front(event);
            self.backlogged.insert(id);
        }
    }

    /// The oldest held event of downlink `id`, to deliver now (give it back with
    /// [`hold`](Self::hold) if it still does not fit).
    pub fn take_held(&mut self, id: DownlinkId) -> Option<DownlinkEvent> {
        let r = self.records.get_mut(&id)?;
        let event = r.held.pop_front();
        if r.held.is_empty() {
            self.backlogged.remove(&id);
        }
        event
    }

    /// The downlinks with held events.
    pub fn held_downlinks(&self) -> impl Iterator<Item = DownlinkId> + '_ {
        self.backlogged.iter().copied()
    }

    /// The next thing to do; call it until it returns [`Output::Timeout`] after every call
    /// that takes `now` and every application call. What it returns borrows the session
    /// until the next call.
    pub fn poll_output(&mut self) -> Output<'_, T> {
        if self.tx_handed {
            self.tx_handed = false;
            self.wbuf.clear();
            for tag in self.in_flight.drain(..) {
                self.out.push_back(Queued::Done(tag, Ok(())));
            }
        }
        loop {
            if let Some(conn) = self.conn.as_mut().filter(|c| !c.drained) {
                match conn.ep.poll_output() {
                    EpOutput::Transmit(bytes) => self.wbuf.extend_from_slice(bytes),
                    EpOutput::Message(_) => {}
                    EpOutput::Event(event) => {
                        let incoming = incoming(event, &mut self.scratch);
                        self.on_incoming(incoming);
                    }
                    EpOutput::Timeout(deadline) => {
                        conn.drained = true;
                        conn.deadline = deadline;
                        self.in_flight.append(&mut self.unwritten);
                    }
                    EpOutput::Closed(reason) => {
                        let up = conn.connected;
                        self.in_flight.append(&mut self.unwritten);
                        self.conn = None;
                        self.out
                            .push_back(Queued::CloseTransport(TransportEnd::Closed(reason)));
                        let lost = if up {
                            Lost::Closed(reason)
                        } else {
                            Lost::Attempt(AttemptError::Closed(reason))
                        };
                        self.lost(self.now, lost);
                    }
                }
                continue;
            }
            if !self.wbuf.is_empty() {
                self.tx_handed = true;
                return Output::Transmit(&self.wbuf);
            }
            if let Some(queued) = self.out.pop_front() {
                return match queued {
                    Queued::Event(id, event) => {
                        if self.backlogged.contains(&id) {
                            if let Some(r) = self.records.get_mut(&id) {
                                r.held.push_back(event);
                                continue;
                            }
                        }
                        Output::Event(id, event)
                    }
                    Queued::Connect => Output::Connect,
                    Queued::CloseTransport(end) => Output::CloseTransport(end),
                    Queued::Done(tag, result) => Output::Done(tag, result),
                    Queued::State(state) => Output::State(state),
                    Queued::Closed(end) => Output::Closed(end),
                };
            }
            if self.queue_work() {
                continue;
            }
            if !self.in_flight.is_empty() {
                // Queued, but nothing to write for them (nothing was due on the wire).
                for tag in self.in_flight.drain(..) {
                    self.out.push_back(Queued::Done(tag, Ok(())));
                }
                continue;
            }
            return Output::Timeout(self.next_deadline());
        }
    }
}
