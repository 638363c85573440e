//! [`ConnectionSession`]: one server connection above its endpoint, sans-IO.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::config::{Authenticator, ServerConfig};
use super::hub::{Change, ConnId, HubAccess, Signal};
use super::request::Request;
use crate::app::{CommandError, Handled, LinkError, Pump, UplinkError, Uplinks};
use crate::connection::{CallError, Close, LinkId, ProtocolError, QueueError};
use crate::endpoint::{CloseReason, EndpointError, Input, Output, ServerEndpoint, ServerEvent};
use crate::ws::Instant;

/// The endpoint of a session: growable buffers within the configured limits.
type Endpoint = ServerEndpoint<Vec<u8>, Vec<u8>>;

/// How many rounds [`ConnectionSession::poll`] runs before it lets the driver wait (with a
/// deadline of now, so that it comes back at once).
const MAX_ROUNDS: usize = 256;

/// Notes kept for the driver's log at most; older ones are dropped.
const MAX_NOTES: usize = 64;

/// How many changes a session takes from the hub at once, at most.
const CHANGE_BATCH: usize = 64;

/// What [`ConnectionSession::poll`] says to do next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Status {
    /// Wait for what the [`Interest`] names, hand it in, and poll again.
    Wait(Interest),
    /// The connection ended: write [`ConnectionSession::final_output`] (within
    /// [`ServerConfig::final_write_timeout`]), shut the socket down, and
    /// [`leave`](ConnectionSession::leave) the hub.
    Closed(CloseReason),
}

/// What a session waits for. A driver waits for all the named things at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Interest {
    /// Read from the socket into the read half of [`ConnectionSession::buffers`].
    pub read: bool,
    /// Write the write half of [`ConnectionSession::buffers`] to the socket.
    pub write: bool,
    /// Flush the socket (everything handed out was written).
    pub flush: bool,
    /// Wait for the hub's next [`Signal`] for this connection
    /// ([`Hub::poll_signal`](super::Hub::poll_signal)).
    pub hub: bool,
    /// At most this many changes to take from the hub with that signal (0: only an overload
    /// or a shutdown).
    pub changes: usize,
    /// Call [`ConnectionSession::timeout`] at this time (`None`: no deadline).
    pub deadline: Option<Instant>,
}

/// Something a driver may log; see [`ConnectionSession::poll_note`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Note {
    /// The WebSocket opened on `path` with the subprotocol `protocol`.
    Connected {
        /// The request target.
        path: String,
        /// The subprotocol chosen.
        protocol: Option<&'static str>,
    },
    /// A link was refused (or a synced link ended) with this reason.
    LinkRefused(LinkError),
    /// A command had no effect.
    CommandDropped(CommandError),
    /// An `auth` was answered.
    Auth {
        /// Whether the credentials were accepted.
        accepted: bool,
    },
    /// The peer sent a frame that is not a WARP envelope.
    ProtocolError(ProtocolError),
    /// The session closes the connection with 1013: it did not keep up with its changes
    /// (queued in the hub, or replays and changes in its uplinks).
    Overloaded,
    /// The session closes the connection with 1001: the server is shutting down.
    ShuttingDown,
    /// An event could not be written (larger than the outbound queue can ever hold); the
    /// session closes the connection.
    WriteRefused(CallError),
    /// The endpoint refused input handed in before it was drained (a timer firing while
    /// output was pending: the deadline comes back with the next poll).
    InputRefused,
}

/// One server connection above its [`ServerEndpoint`], sans-IO: the read buffer, the bytes
/// waiting to be written, the endpoint, and the [`Uplinks`] that answer its requests from the
/// shared [`Hub`](super::Hub). See [the module docs](super) for the driver's loop.
///
/// While more than [`ServerConfig::write_high_water`] bytes wait to be written, the session
/// takes no new input (no reads, no changes): a peer that does not read stops being read from,
/// then falls behind on its changes and is closed as overloaded by the hub.
///
/// ```
/// use warp_proto::app::demo::UnitAgent;
/// use warp_proto::app::session::server::{ConnectionSession, Hub, ServerConfig, Status};
/// use warp_proto::app::{Plane, PlaneConfig};
/// use warp_proto::ws::Instant;
///
/// let mut plane = Plane::new(PlaneConfig::default());
/// UnitAgent::route(&mut plane).unwrap();
/// let mut hub = Hub::new(plane);
/// let config = ServerConfig::default();
/// let mut session = ConnectionSession::new(&mut hub, Instant::ZERO, &config, None).unwrap();
/// // The client's upgrade request arrives.
/// let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let (read, _) = session.buffers();
/// read[..request.len()].copy_from_slice(request);
/// session.read(request.len(), Instant::ZERO);
/// let Status::Wait(interest) = session.poll(&mut hub, Instant::ZERO) else { panic!() };
/// assert!(interest.write);
/// let (_, write) = session.buffers();
/// assert!(write.starts_with(b"HTTP/1.1 101"));
/// ```
pub struct ConnectionSession {
    ep: Endpoint,
    uplinks: Uplinks<Change>,
    /// The open links answered from the plane, with their node (for the hub's watches).
    links: BTreeMap<LinkId, String>,
    id: ConnId,
    authenticator: Option<Authenticator>,
    write_high_water: usize,
    /// A request refused for backpressure, to answer again once output drained.
    retry: Option<Request>,
    /// The uplinks have work the connection's queue could not take yet.
    blocked: bool,
    /// Bytes handed out by the endpoint, not yet written (from `written` on).
    out: Vec<u8>,
    written: usize,
    needs_flush: bool,
    /// Writing failed: what the endpoint hands out is dropped.
    write_broken: bool,
    /// Bytes read, handed to the endpoint from `start` to `end`.
    inbuf: Box<[u8]>,
    start: usize,
    end: usize,
    /// The endpoint took none of the unread bytes last time: wait for something else to
    /// happen before handing them in again (no busy loop).
    stalled: bool,
    read_open: bool,
    /// This side has asked the endpoint to close (shutdown, overload).
    closing: bool,
    notes: VecDeque<Note>,
}

impl core::fmt::Debug for ConnectionSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConnectionSession")
            .field("id", &self.id)
            .field("links", &self.links)
            .field("unwritten", &self.unwritten())
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}

impl ConnectionSession {
    /// A session for a new connection accepted at `now`: joins the hub (with a queue of
    /// [`ServerConfig::fanout_capacity`] changes) and waits for the upgrade request.
    /// `authenticator` checks `auth` envelopes (`None`: every `auth` is accepted).
    pub fn new(
        mut hub: impl HubAccess,
        now: Instant,
        config: &ServerConfig,
        authenticator: Option<Authenticator>,
    ) -> Result<ConnectionSession, EndpointError> {
        let ep = Endpoint::new(now, config.endpoint)?;
        let id = hub.with_hub(|hub| hub.join(config.fanout_capacity));
        Ok(ConnectionSession {
            ep,
            uplinks: Uplinks::new(config.max_pending),
            links: BTreeMap::new(),
            id,
            authenticator,
            write_high_water: config.write_high_water,
            retry: None,
            blocked: false,
            out: Vec::new(),
            written: 0,
            needs_flush: false,
            write_broken: false,
            inbuf: vec![0; config.read_buffer_len.max(1)].into_boxed_slice(),
            start: 0,
            end: 0,
            stalled: false,
            read_open: true,
            closing: false,
            notes: VecDeque::new(),
        })
    }

    /// The connection's number in the hub.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The endpoint (to read its state; change it only through the session).
    pub fn endpoint(&self) -> &ServerEndpoint<Vec<u8>, Vec<u8>> {
        &self.ep
    }

    /// How many links are open on the connection.
    pub fn link_count(&self) -> usize {
        self.links.len()
    }

    /// Leaves the hub: the connection's watches end. Call it once the session is done.
    pub fn leave(&self, mut hub: impl HubAccess) {
        let id = self.id;
        hub.with_hub(|hub| hub.leave(id));
    }

    /// The next note for the driver's log, oldest first (at most 64 are kept). Poll it after
    /// [`ConnectionSession::poll`] if you log.
    pub fn poll_note(&mut self) -> Option<Note> {
        self.notes.pop_front()
    }

    fn note(&mut self, note: Note) {
        if self.notes.len() >= MAX_NOTES {
            self.notes.pop_front();
        }
        self.notes.push_back(note);
    }

    /// Bytes handed out and not yet written.
    pub fn unwritten(&self) -> usize {
        self.out.len().saturating_sub(self.written)
    }

    /// Whether the session may take new input (reads, changes, retries).
    fn has_room(&self) -> bool {
        self.unwritten() < self.write_high_water
    }

    /// The read buffer (fill it from the socket, then [`ConnectionSession::read`]) and the
    /// bytes to write (then [`ConnectionSession::wrote`]), borrowed at once so that a driver
    /// can wait on both.
    pub fn buffers(&mut self) -> (&mut [u8], &[u8]) {
        let ConnectionSession {
            inbuf,
            out,
            written,
            ..
        } = self;
        (&mut inbuf[..], out.get(*written..).unwrap_or_default())
    }

    /// After the connection closed: the bytes still to write (its close frame, an HTTP error
    /// answer); `None` when writing had failed.
    pub fn final_output(&self) -> Option<&[u8]> {
        if self.write_broken {
            return None;
        }
        self.out.get(self.written..)
    }

    /// Runs everything that needs no IO: drains the endpoint into the write buffer, answers
    /// requests from the hub (held only while answering), retries what backpressure held back,
    /// writes queued replays and changes, hands buffered input in. Call it after every other
    /// call, before waiting.
    pub fn poll(&mut self, mut hub: impl HubAccess, now: Instant) -> Status {
        for _ in 0..MAX_ROUNDS {
            let deadline = match self.drain(&mut hub, now) {
                Ok(deadline) => deadline,
                Err(reason) => return Status::Closed(reason),
            };
            if self.has_room() {
                if let Some(request) = self.retry.take() {
                    self.answer(&mut hub, request, now);
                    continue;
                }
                if self.blocked {
                    self.pump();
                    continue;
                }
                if self.start < self.end && !self.stalled {
                    self.receive(now);
                    continue;
                }
            }
            self.stalled = false;
            return Status::Wait(self.interest(deadline));
        }
        // Still busy: let the driver wait for nothing but come back at once.
        Status::Wait(Interest {
            read: false,
            write: self.unwritten() > 0 && !self.write_broken,
            flush: false,
            hub: false,
            changes: 0,
            deadline: Some(now),
        })
    }

    fn interest(&self, deadline: Option<Instant>) -> Interest {
        let take_input = self.has_room() && self.retry.is_none();
        let changes = if take_input && !self.closing && !self.blocked {
            self.uplinks
                .max_pending()
                .saturating_sub(self.uplinks.pending())
                .min(CHANGE_BATCH)
        } else {
            0
        };
        Interest {
            read: self.read_open && take_input && self.start >= self.end,
            write: self.unwritten() > 0 && !self.write_broken,
            flush: self.needs_flush && !self.write_broken && self.unwritten() == 0,
            hub: !self.closing,
            changes,
            deadline,
        }
    }

    /// `n` bytes were read into the read half of [`ConnectionSession::buffers`]; 0 means the
    /// peer closed its side.
    pub fn read(&mut self, n: usize, now: Instant) {
        if n == 0 {
            self.read_open = false;
            self.transport_closed(now);
            return;
        }
        self.start = 0;
        self.end = n.min(self.inbuf.len());
        self.receive(now);
    }

    /// `n` bytes of the write half of [`ConnectionSession::buffers`] were written; 0 means the
    /// socket takes no more.
    pub fn wrote(&mut self, n: usize, now: Instant) {
        if n == 0 {
            self.transport_failed(now);
            return;
        }
        self.written = self.written.saturating_add(n).min(self.out.len());
        if self.written >= self.out.len() {
            self.out.clear();
            self.written = 0;
            self.needs_flush = true;
            // Give back what a burst (a large sync) made the buffer grow to.
            if self.out.capacity() > self.write_high_water.saturating_mul(2) {
                self.out.shrink_to(self.write_high_water);
            }
        } else if self.written >= self.write_high_water {
            // Output keeps coming before it is all written: drop the written part so that
            // the buffer does not grow with it.
            self.out.drain(..self.written);
            self.written = 0;
        }
    }

    /// The socket was flushed.
    pub fn flushed(&mut self) {
        self.needs_flush = false;
    }

    /// Reading or writing failed: the transport is gone; what is left to write is dropped.
    pub fn transport_failed(&mut self, now: Instant) {
        self.write_broken = true;
        self.read_open = false;
        self.out.clear();
        self.written = 0;
        self.transport_closed(now);
    }

    /// The deadline of the last [`Interest`] passed.
    pub fn timeout(&mut self, now: Instant) {
        if self.ep.handle_input(Input::Timeout(now)).is_err() {
            // Only refused while output is pending: the next `poll` drains it and hands out
            // the deadline again.
            self.note(Note::InputRefused);
        }
    }

    /// Hands in what the hub had for this connection.
    pub fn signal(&mut self, signal: Signal) {
        match signal {
            Signal::Changes(changes) => self.deliver(changes),
            Signal::Overloaded | Signal::Gone => {
                if !self.closing {
                    self.note(Note::Overloaded);
                    self.close(Close::Overloaded);
                }
            }
            Signal::ShuttingDown => {
                if !self.closing {
                    self.note(Note::ShuttingDown);
                    self.close(Close::GoingAway);
                }
            }
        }
    }

    /// Closes the connection with `why` (the close handshake follows) and stops taking changes.
    pub fn close(&mut self, why: Close) {
        self.closing = true;
        self.ep.close_with(why);
    }

    /// Drains the endpoint: queues what it transmits and answers its requests; returns its
    /// deadline, or why it ended.
    fn drain(
        &mut self,
        hub: &mut impl HubAccess,
        now: Instant,
    ) -> Result<Option<Instant>, CloseReason> {
        loop {
            match self.ep.poll_output() {
                Output::Transmit(bytes) => {
                    self.stalled = false;
                    if !self.write_broken {
                        self.out.extend_from_slice(bytes);
                    }
                }
                Output::Event(ServerEvent::Received(request)) => {
                    self.stalled = false;
                    let request = Request::copy(&request);
                    self.answer(hub, request, now);
                }
                Output::Event(ServerEvent::Connected { path, protocol }) => {
                    let path = String::from(path);
                    let protocol = protocol.map(|_| "warp0");
                    self.note(Note::Connected { path, protocol });
                }
                Output::Event(ServerEvent::ProtocolError(e)) => self.note(Note::ProtocolError(e)),
                // Only message-mode endpoints hand out messages; this one frames its own.
                Output::Message(_) => self.ep.close(),
                Output::Timeout(deadline) => return Ok(deadline),
                Output::Closed(reason) => return Err(reason),
            }
        }
    }

    /// Hands the endpoint the unread part of the read buffer (it may take only part of it).
    fn receive(&mut self, now: Instant) {
        let bytes = self.inbuf.get(self.start..self.end).unwrap_or_default();
        match self.ep.handle_input(Input::Receive(now, bytes)) {
            Ok(n) => {
                self.stalled = n == 0;
                self.start = self.start.saturating_add(n).min(self.end);
            }
            Err(_) => {
                self.note(Note::InputRefused);
                self.start = self.end;
                self.transport_closed(now);
            }
        }
    }

    /// The transport is gone (always accepted by the endpoint).
    fn transport_closed(&mut self, now: Instant) {
        let _ = self.ep.handle_input(Input::TransportClosed(now));
    }

    /// Answers one request from the hub's plane.
    fn answer(&mut self, hub: &mut impl HubAccess, request: Request, now: Instant) {
        let Some(server_request) = request.as_server_request() else {
            return;
        };
        let ConnectionSession {
            ep,
            uplinks,
            links,
            id,
            ..
        } = self;
        let id = *id;
        let outcome = hub.with_hub(|hub| {
            let handled = ep
                .with_connection(|conn| uplinks.handle(hub.plane_mut(), conn, server_request, now));
            match handled {
                Ok(Handled::Done) => {
                    match &request {
                        Request::Link { link, node, .. } => {
                            // A link opened again keeps its id: watch its node once.
                            let first = links.insert(*link, node.clone()).is_none();
                            if first {
                                hub.watch(id, node);
                            }
                        }
                        Request::Unlink { link } => {
                            if let Some(node) = links.remove(link) {
                                hub.unwatch(id, &node);
                            }
                        }
                        _ => {}
                    }
                    Answer::Done
                }
                Ok(Handled::Rejected(e)) => {
                    if let Request::Sync { link } = &request {
                        if let Some(node) = links.remove(link) {
                            hub.unwatch(id, &node);
                        }
                    }
                    Answer::Note(Note::LinkRefused(e))
                }
                Ok(Handled::Publish(published)) => {
                    hub.publish(published);
                    Answer::Done
                }
                Ok(Handled::CommandDropped(e)) => Answer::Note(Note::CommandDropped(e)),
                Ok(Handled::Auth(_)) => Answer::Auth,
                Err(UplinkError::Call(CallError::Queue(QueueError::Full { .. }))) => Answer::Retry,
                Err(UplinkError::Overloaded { .. }) => Answer::Overloaded,
                // The connection is closed or cannot take the frame: nothing to answer.
                Err(_) => Answer::Done,
            }
        });
        match outcome {
            Answer::Done => {}
            Answer::Note(note) => self.note(note),
            Answer::Retry => {
                self.retry = Some(request);
                return;
            }
            Answer::Overloaded => {
                self.note(Note::Overloaded);
                self.close(Close::Overloaded);
                return;
            }
            Answer::Auth => {
                let accepted = match (&self.authenticator, &request) {
                    (Some(check), Request::Auth { body }) => check(body),
                    _ => true,
                };
                // Fails only when the connection is closing: nothing left to answer.
                let _ = self.ep.authenticate(accepted);
                self.note(Note::Auth { accepted });
            }
        }
        self.pump();
    }

    /// Queues changes published by any connection (this one included) and writes them.
    fn deliver(&mut self, changes: Vec<Change>) {
        for change in changes {
            if self.uplinks.deliver(change).is_err() {
                if !self.closing {
                    self.note(Note::Overloaded);
                    self.close(Close::Overloaded);
                }
                return;
            }
        }
        self.pump();
    }

    /// Writes queued replays and changes into the connection, as far as its queue takes them.
    fn pump(&mut self) {
        let ConnectionSession { ep, uplinks, .. } = self;
        match ep.with_connection(|conn| uplinks.pump(conn)) {
            Ok(Pump::Idle) => self.blocked = false,
            Ok(Pump::Blocked) => self.blocked = true,
            Err(CallError::Closed) => self.blocked = false,
            Err(e) => {
                self.blocked = false;
                self.note(Note::WriteRefused(e));
                self.close(Close::Normal);
            }
        }
    }
}

/// What answering a request left to do once the hub is released.
enum Answer {
    Done,
    Note(Note),
    Retry,
    Overloaded,
    Auth,
}
