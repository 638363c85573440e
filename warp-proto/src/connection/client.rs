//! The client role: downlink handles sharing one WARP link per node and lane.
//!
//! The application opens handles with [`ClientConnection::link`] / [`ClientConnection::sync`];
//! handles on the same node and lane share one link, so only the first sends `link`/`sync` on
//! the wire. A later handle that wants the state makes the link send one more `sync` once it is
//! open (unless the request on its way already is a `sync`); every handle of the link receives
//! that state and its `synced`. Closing the last handle sends `unlink`.
//!
//! While a link is opening exactly one request (`link` or `sync`) is outstanding, so the
//! server's answer, `linked` or `unlinked`, is never mistaken for the answer to another one. A
//! `linked` for a node and lane the client holds no link for (a late answer) is answered with
//! `unlink`, so that client and server agree on the open links.
//! Received envelopes come back from [`ClientConnection::handle_frame`] as [`ClientEvent`]s
//! naming the [`LinkId`]; [`ClientConnection::handles`] lists the handles to deliver them to.
//! A closed handle is gone from that list at once, so no event reaches it afterwards.

use super::endpoint::Endpoint;
use super::error::{CallError, Close, HandleError, ProtocolErrorKind, QueueError};
use super::storage::sealed::{Index, Name, Table};
use super::storage::{DefaultStorage, Lookup, SlotKey, Storage};
use super::{Config, HandleId, LinkId, LinkState, Stats, Transmit};
use crate::envelope::{Body, Envelope, Tag};
use crate::recon::{Event, Text};

/// What a received frame means to the client application. Borrows the frame.
///
/// For the link events, deliver to every handle of [`ClientConnection::handles`]`(link)`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent<'f> {
    /// The server confirmed the link.
    Linked {
        /// The link.
        link: LinkId,
    },
    /// A lane event.
    Event {
        /// The link.
        link: LinkId,
        /// The event's value.
        body: Body<'f>,
    },
    /// The state asked for by one `sync` has been received.
    Synced {
        /// The link.
        link: LinkId,
    },
    /// The server ended (or refused) the link. The link is gone; its handles stay listed by
    /// [`ClientConnection::handles`] in state [`HandleState::Unlinked`] until each is closed
    /// with [`ClientConnection::close_handle`] (which sends nothing).
    Unlinked {
        /// The link that ended.
        link: LinkId,
        /// Its node URI as received.
        node: Text<'f>,
        /// Its lane URI as received.
        lane: Text<'f>,
        /// Why, from the envelope's body.
        reason: UnlinkReason<'f>,
    },
    /// The server accepted the credentials (`authed`).
    Authed {
        /// The envelope's body.
        body: Body<'f>,
    },
    /// The server dropped or refused authentication (`deauthed` or `deauth`); it closes the
    /// connection next.
    Deauthed {
        /// The envelope's body.
        body: Body<'f>,
    },
}

/// Why a server ended a link, read from the body of its `unlinked`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum UnlinkReason<'f> {
    /// `@nodeNotFound`: no such node on the host.
    NodeNotFound,
    /// `@laneNotFound`: no such lane on the node.
    LaneNotFound,
    /// Any other body (including none), as received.
    Other(Body<'f>),
}

impl<'f> UnlinkReason<'f> {
    /// Reads the reason from an `unlinked` body.
    pub fn from_body(body: Body<'f>) -> Self {
        let mut reader = body.reader();
        if !matches!(reader.next_event(), Ok(Some(Event::StartRecord))) {
            return UnlinkReason::Other(body);
        }
        match reader.next_event() {
            Ok(Some(Event::Attr(name))) if name.eq_str("nodeNotFound") => {
                UnlinkReason::NodeNotFound
            }
            Ok(Some(Event::Attr(name))) if name.eq_str("laneNotFound") => {
                UnlinkReason::LaneNotFound
            }
            _ => UnlinkReason::Other(body),
        }
    }
}

/// The state of a client handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandleState {
    /// Its link is opening or open.
    Open,
    /// The server ended its link ([`ClientEvent::Unlinked`]); close the handle to free it.
    Unlinked,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// `link`/`sync` sent, `linked` not yet received.
    Opening,
    /// `linked` received.
    Linked,
    /// `unlink` sent, `unlinked` not yet received. Handles opened meanwhile wait for it; the
    /// link is then opened again.
    Unlinking,
}

struct ClientLink<S: Storage> {
    node: S::Name,
    lane: S::Name,
    phase: Phase,
    /// Open handles on this link.
    handles: u32,
    /// `sync`s sent whose `synced` has not arrived.
    syncs: u32,
    /// A handle wants the state and no `sync` that will deliver it has been sent: sent once the
    /// link is open (after `linked`, or when it is re-opened after `unlinked`). While a link is
    /// opening only one request is ever outstanding, so the server's one answer to it (`linked`
    /// or `unlinked`) is never mistaken for the answer to another.
    want_sync: bool,
}

#[derive(Clone, Copy, Debug)]
struct HandleEntry {
    link: SlotKey,
    /// The server ended the link.
    unlinked: bool,
}

/// The client side of one WARP connection. See the [module docs](super) for the drain contract.
///
/// ```
/// # #[cfg(feature = "alloc")] {
/// use warp_proto::connection::{ClientConnection, ClientEvent, Config, Transmit, UnlinkReason};
///
/// let mut client = ClientConnection::new(Config::default());
/// let a = client.link("/unit/1", "info").unwrap();
/// let b = client.link("/unit/1", "info").unwrap(); // shares the link: nothing more is sent
/// assert_eq!(client.poll_transmit(), Some(Transmit::Frame("@link(node:\"/unit/1\",lane:info)")));
/// assert_eq!(client.poll_transmit(), None);
///
/// let Ok(Some(ClientEvent::Unlinked { link, reason, .. })) =
///     client.handle_frame("@unlinked(node:\"/unit/1\",lane:info)@nodeNotFound")
/// else {
///     panic!()
/// };
/// assert_eq!(reason, UnlinkReason::NodeNotFound);
/// assert_eq!(client.handles(link).collect::<Vec<_>>(), [a, b]);
/// # }
/// ```
pub struct ClientConnection<S: Storage = DefaultStorage> {
    ep: Endpoint<S>,
    links: S::Links<ClientLink<S>>,
    /// (node, lane) → link, in step with `links` (a no-op with [`Fixed`](super::Fixed)).
    index: S::Index,
    link_count: usize,
    handles: S::Handles<HandleEntry>,
    handle_count: usize,
}

impl ClientConnection {
    /// A connection with the given bounds, no links, and the [`DefaultStorage`].
    pub fn new(config: Config) -> Self {
        ClientConnection::with_storage(config)
    }
}

impl Default for ClientConnection {
    fn default() -> Self {
        ClientConnection::new(Config::default())
    }
}

impl<S: Storage> ClientConnection<S> {
    /// A connection with the given bounds and no links, in storage `S`
    /// (`ClientConnection::<Fixed<8, 16, 64, 2048>>::with_storage(config)`).
    pub fn with_storage(config: Config) -> Self {
        ClientConnection {
            ep: Endpoint::new(config),
            links: Default::default(),
            index: Default::default(),
            link_count: 0,
            handles: Default::default(),
            handle_count: 0,
        }
    }

    /// The bounds.
    pub fn config(&self) -> &Config {
        &self.ep.config
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.ep.stats
    }

    /// Frames waiting in the outbound queue.
    pub fn queued_frames(&self) -> usize {
        self.ep.out.frames()
    }

    /// Bytes of frame text waiting in the outbound queue.
    pub fn queued_bytes(&self) -> usize {
        self.ep.out.bytes()
    }

    /// Whether the close has been handed out by [`ClientConnection::poll_transmit`].
    pub fn is_closed(&self) -> bool {
        self.ep.is_closed()
    }

    /// Whether the connection still takes frames and calls (no close decided).
    pub fn is_open(&self) -> bool {
        self.ep.is_open()
    }

    /// The next frame to send, or the close, or `None` when there is nothing to send.
    ///
    /// Poll until `None` after every `handle_*` call and every application call that returned
    /// `Ok` or a protocol error. A frame stays lent until the next call on the connection.
    /// After [`Transmit::Close`] it always returns `None`.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        self.ep.poll_transmit()
    }

    /// Handles one received text frame. Drain [`ClientConnection::poll_transmit`] afterwards.
    ///
    /// Returns what the frame means to the application, if anything; envelopes for no open
    /// link are dropped and counted ([`Stats::dropped_envelopes`]) (a `linked` among them is
    /// answered with `unlink`). On
    /// [`HandleError::Backpressure`] nothing changed: drain and hand the frame in again.
    pub fn handle_frame<'f>(
        &mut self,
        frame: &'f str,
    ) -> Result<Option<ClientEvent<'f>>, HandleError> {
        self.ep.receive(frame.len())?;
        let envelope = self.ep.decode(frame)?;
        self.handle(envelope)
    }

    /// Handles one received text frame given as bytes, checking UTF-8 first. Drain
    /// [`ClientConnection::poll_transmit`] afterwards.
    pub fn handle_frame_bytes<'f>(
        &mut self,
        frame: &'f [u8],
    ) -> Result<Option<ClientEvent<'f>>, HandleError> {
        let text = self.ep.text(frame)?;
        let envelope = self.ep.decode(text)?;
        self.handle(envelope)
    }

    /// Reports a binary frame of `len` bytes: always a protocol error (WARP is text only).
    /// Drain [`ClientConnection::poll_transmit`] afterwards.
    pub fn handle_binary_frame(&mut self, len: usize) -> HandleError {
        self.ep.binary(len)
    }

    /// Handles an envelope decoded elsewhere (it counts as one received frame). Drain
    /// [`ClientConnection::poll_transmit`] afterwards.
    pub fn handle_envelope<'f>(
        &mut self,
        envelope: Envelope<'f>,
    ) -> Result<Option<ClientEvent<'f>>, HandleError> {
        self.ep.receive(0)?;
        self.handle(envelope)
    }

    fn handle<'f>(
        &mut self,
        envelope: Envelope<'f>,
    ) -> Result<Option<ClientEvent<'f>>, HandleError> {
        let Envelope {
            tag,
            node,
            lane,
            body,
            ..
        } = envelope;
        match tag {
            Tag::Authed => return Ok(Some(ClientEvent::Authed { body })),
            Tag::Deauthed | Tag::Deauth => return Ok(Some(ClientEvent::Deauthed { body })),
            Tag::Link | Tag::Sync | Tag::Unlink | Tag::Command | Tag::Auth => {
                return Err(self.ep.protocol_error(ProtocolErrorKind::Unexpected(tag)));
            }
            Tag::Linked | Tag::Event | Tag::Synced | Tag::Unlinked => {}
        }
        let found = self
            .find_text(&node, &lane)
            .and_then(|key| self.links.get(key).map(|l| (key, l.phase, l.handles)));
        let Some((key, phase, handles)) = found else {
            if tag == Tag::Linked {
                // A link the client does not hold (a late answer to a request it gave up):
                // close it on the server too, so both sides agree.
                let result = self.ep.push_text(Tag::Unlink, node, lane, Body::absent());
                self.ep.respond(result)?;
            }
            return Ok(self.drop_envelope());
        };
        let link = LinkId(key);
        if phase == Phase::Unlinking {
            if tag != Tag::Unlinked {
                return Ok(self.drop_envelope());
            }
            if handles == 0 {
                self.remove_link(key);
                return Ok(None);
            }
            // Handles were opened while unlinking: open the link again.
            let want_sync = self.links.get(key).is_some_and(|l| l.want_sync);
            let result = self.push_open(key, want_sync);
            self.ep.respond(result)?;
            if let Some(l) = self.links.get_mut(key) {
                l.phase = Phase::Opening;
                l.syncs = u32::from(want_sync);
                l.want_sync = false;
            }
            return Ok(None);
        }
        Ok(Some(match tag {
            Tag::Linked => {
                if phase == Phase::Linked {
                    // A repeated `linked` (answer to a repeated `link`) changes nothing.
                    return Ok(None);
                }
                let want_sync = self.links.get(key).is_some_and(|l| l.want_sync);
                if want_sync {
                    let result = self.push_for(key, Tag::Sync, Body::absent());
                    self.ep.respond(result)?;
                }
                if let Some(l) = self.links.get_mut(key) {
                    l.phase = Phase::Linked;
                    if want_sync {
                        l.syncs = l.syncs.saturating_add(1);
                        l.want_sync = false;
                    }
                }
                ClientEvent::Linked { link }
            }
            Tag::Event => ClientEvent::Event { link, body },
            Tag::Synced => {
                if let Some(l) = self.links.get_mut(key) {
                    l.syncs = l.syncs.saturating_sub(1);
                }
                ClientEvent::Synced { link }
            }
            _ => {
                for (_, h) in self.handles.iter_mut() {
                    if h.link == key {
                        h.unlinked = true;
                    }
                }
                self.remove_link(key);
                ClientEvent::Unlinked {
                    link,
                    node,
                    lane,
                    reason: UnlinkReason::from_body(body),
                }
            }
        }))
    }

    fn drop_envelope<'f>(&mut self) -> Option<ClientEvent<'f>> {
        self.ep.stats.dropped_envelopes = self.ep.stats.dropped_envelopes.saturating_add(1);
        None
    }

    /// The link on the received `node`/`lane`.
    fn find_text(&self, node: &Text<'_>, lane: &Text<'_>) -> Option<SlotKey> {
        match self.index.find_text(node, lane) {
            Lookup::Found(key) => Some(key),
            Lookup::Missing => None,
            Lookup::Scan => self
                .links
                .iter()
                .find(|(_, l)| node.eq_str(l.node.as_str()) && lane.eq_str(l.lane.as_str()))
                .map(|(key, _)| key),
        }
    }

    /// The link on `node`/`lane`.
    fn find_str(&self, node: &str, lane: &str) -> Option<SlotKey> {
        match self.index.find(node, lane) {
            Lookup::Found(key) => Some(key),
            Lookup::Missing => None,
            Lookup::Scan => self
                .links
                .iter()
                .find(|(_, l)| l.node.as_str() == node && l.lane.as_str() == lane)
                .map(|(key, _)| key),
        }
    }

    /// Removes the link `key` from the table and the index (without counting it).
    fn take_link(&mut self, key: SlotKey) -> bool {
        match self.links.remove(key) {
            Some(l) => {
                self.index.remove(l.node.as_str(), l.lane.as_str(), key);
                true
            }
            None => false,
        }
    }

    fn remove_link(&mut self, key: SlotKey) {
        if self.take_link(key) {
            self.link_count = self.link_count.saturating_sub(1);
        }
    }

    fn remove_handle(&mut self, key: SlotKey) {
        if self.handles.remove(key).is_some() {
            self.handle_count = self.handle_count.saturating_sub(1);
        }
    }

    fn check_open(&self) -> Result<(), CallError> {
        if self.ep.is_open() {
            Ok(())
        } else {
            Err(CallError::Closed)
        }
    }

    fn check_uri(&self, uri: &str) -> Result<(), CallError> {
        if uri.is_empty() {
            Err(CallError::EmptyUri)
        } else if uri.len() > self.ep.config.max_uri_len {
            Err(CallError::UriTooLong)
        } else {
            Ok(())
        }
    }

    /// Queues `link` or `sync` for the link `key`.
    fn push_open(&mut self, key: SlotKey, sync: bool) -> Result<(), QueueError> {
        let tag = if sync { Tag::Sync } else { Tag::Link };
        self.push_for(key, tag, Body::absent())
    }

    /// Queues an envelope addressed to the link `key` (nothing if there is no such link).
    fn push_for(&mut self, key: SlotKey, tag: Tag, body: Body<'_>) -> Result<(), QueueError> {
        match self.links.get(key) {
            Some(l) => self.ep.push(tag, l.node.as_str(), l.lane.as_str(), body),
            None => Ok(()),
        }
    }

    /// Opens a handle on `node`/`lane` that only wants events: sends `link` unless the link is
    /// already there. Drain [`ClientConnection::poll_transmit`] afterwards.
    pub fn link(&mut self, node: &str, lane: &str) -> Result<HandleId, CallError> {
        self.open(node, lane, false)
    }

    /// Opens a handle on `node`/`lane` that wants the lane's state, then its events: sends
    /// `sync` for a new link or an open one; on a link still opening, the `sync` goes out when
    /// `linked` arrives (unless the request on its way is a `sync`). Drain
    /// [`ClientConnection::poll_transmit`] afterwards.
    pub fn sync(&mut self, node: &str, lane: &str) -> Result<HandleId, CallError> {
        self.open(node, lane, true)
    }

    /// Opens a handle: [`ClientConnection::link`] or [`ClientConnection::sync`].
    pub fn open(&mut self, node: &str, lane: &str, sync: bool) -> Result<HandleId, CallError> {
        self.check_open()?;
        self.check_uri(node)?;
        self.check_uri(lane)?;
        let max_handles = self.ep.config.max_handles;
        let existing = self
            .find_str(node, lane)
            .and_then(|key| self.links.get(key).map(|l| (key, l.phase, l.syncs)));
        let Some((key, phase, syncs)) = existing else {
            return self.open_new(node, lane, sync);
        };
        let entry = HandleEntry {
            link: key,
            unlinked: false,
        };
        let handle = self
            .handles
            .insert(entry, self.handle_count, max_handles)
            .map_err(|_| CallError::TooManyHandles)?;
        // Only an open link takes a `sync` at once; otherwise it is sent when the link opens
        // (unless the request on its way is already a `sync`).
        let sync_now = sync && phase == Phase::Linked;
        if sync_now {
            if let Err(e) = self.push_open(key, true) {
                let _ = self.handles.remove(handle);
                return Err(e.into());
            }
        }
        self.handle_count += 1;
        if let Some(l) = self.links.get_mut(key) {
            l.handles = l.handles.saturating_add(1);
            if sync_now {
                l.syncs = l.syncs.saturating_add(1);
            } else if sync && !(phase == Phase::Opening && syncs > 0) {
                l.want_sync = true;
            }
        }
        Ok(HandleId(handle))
    }

    fn open_new(&mut self, node: &str, lane: &str, sync: bool) -> Result<HandleId, CallError> {
        let max = self.ep.config.max_uri_len;
        let mut entry = ClientLink::<S> {
            node: S::Name::default(),
            lane: S::Name::default(),
            phase: Phase::Opening,
            handles: 1,
            syncs: u32::from(sync),
            want_sync: false,
        };
        if !entry.node.set_str(node, max) || !entry.lane.set_str(lane, max) {
            return Err(CallError::UriTooLong);
        }
        let key = self
            .links
            .insert(entry, self.link_count, self.ep.config.max_links)
            .map_err(|_| CallError::TooManyLinks)?;
        if let Some(l) = self.links.get(key) {
            self.index.insert(l.node.as_str(), l.lane.as_str(), key);
        }
        let handle = HandleEntry {
            link: key,
            unlinked: false,
        };
        let handle =
            match self
                .handles
                .insert(handle, self.handle_count, self.ep.config.max_handles)
            {
                Ok(h) => h,
                Err(_) => {
                    let _ = self.take_link(key);
                    return Err(CallError::TooManyHandles);
                }
            };
        if let Err(e) = self.push_open(key, sync) {
            let _ = self.handles.remove(handle);
            let _ = self.take_link(key);
            return Err(e.into());
        }
        self.link_count += 1;
        self.handle_count += 1;
        Ok(HandleId(handle))
    }

    /// Closes a handle; it receives nothing more. When it was the last open handle of its link,
    /// `unlink` is sent (or, for a link still waiting to be re-opened, nothing). A handle whose
    /// link the server ended is just freed. Works on a closed connection too (sending nothing).
    ///
    /// Drain [`ClientConnection::poll_transmit`] afterwards.
    pub fn close_handle(&mut self, handle: HandleId) -> Result<(), CallError> {
        let Some(&entry) = self.handles.get(handle.0) else {
            return Err(CallError::UnknownHandle);
        };
        if entry.unlinked {
            self.remove_handle(handle.0);
            return Ok(());
        }
        let Some(l) = self.links.get(entry.link) else {
            // Unreachable by construction: open handles always have a link.
            self.remove_handle(handle.0);
            return Ok(());
        };
        let last = l.handles <= 1;
        let phase = l.phase;
        if last && self.ep.is_open() && matches!(phase, Phase::Opening | Phase::Linked) {
            self.push_for(entry.link, Tag::Unlink, Body::absent())?;
        }
        self.remove_handle(handle.0);
        let connection_open = self.ep.is_open();
        let mut remove = false;
        if let Some(l) = self.links.get_mut(entry.link) {
            l.handles = l.handles.saturating_sub(1);
            if l.handles == 0 {
                l.phase = Phase::Unlinking;
                l.want_sync = false;
                remove = !connection_open;
            }
        }
        if remove {
            self.remove_link(entry.link);
        }
        Ok(())
    }

    /// Sends a `command` to `node`/`lane` (no link needed). Drain
    /// [`ClientConnection::poll_transmit`] afterwards.
    pub fn command(&mut self, node: &str, lane: &str, body: Body<'_>) -> Result<(), CallError> {
        self.check_open()?;
        self.check_uri(node)?;
        self.check_uri(lane)?;
        Ok(self.ep.push(Tag::Command, node, lane, body)?)
    }

    /// Sends `auth` with the credentials `body`. Drain [`ClientConnection::poll_transmit`]
    /// afterwards.
    pub fn auth(&mut self, body: Body<'_>) -> Result<(), CallError> {
        self.check_open()?;
        Ok(self.ep.push(Tag::Auth, "", "", body)?)
    }

    /// Sends `deauth`. Drain [`ClientConnection::poll_transmit`] afterwards.
    pub fn deauth(&mut self) -> Result<(), CallError> {
        self.check_open()?;
        Ok(self.ep.push(Tag::Deauth, "", "", Body::absent())?)
    }

    /// Closes the connection (1000) after the frames already queued. Drain
    /// [`ClientConnection::poll_transmit`] afterwards.
    pub fn close(&mut self) {
        self.ep.close(Close::Normal);
    }

    /// Closes the connection with a chosen reason (e.g. [`Close::GoingAway`]), after what is
    /// already queued.
    pub fn close_with(&mut self, close: Close) {
        self.ep.close(close);
    }

    /// The handles of `link`, in slot order: the open ones while the link lives; after
    /// [`ClientEvent::Unlinked`], the ones not yet closed.
    pub fn handles(&self, link: LinkId) -> impl Iterator<Item = HandleId> + '_ {
        self.handles
            .iter()
            .filter(move |(_, h)| h.link == link.0)
            .map(|(key, _)| HandleId(key))
    }

    /// The link of `handle` (also after the server ended it).
    pub fn handle_link(&self, handle: HandleId) -> Option<LinkId> {
        Some(LinkId(self.handles.get(handle.0)?.link))
    }

    /// The state of `handle`, if it is one of this connection's handles.
    pub fn handle_state(&self, handle: HandleId) -> Option<HandleState> {
        let h = self.handles.get(handle.0)?;
        Some(if h.unlinked {
            HandleState::Unlinked
        } else {
            HandleState::Open
        })
    }

    /// The state of `link`, if it is one of this connection's links.
    pub fn link_state(&self, link: LinkId) -> Option<LinkState> {
        let l = self.links.get(link.0)?;
        Some(match l.phase {
            Phase::Opening => LinkState::Opening,
            Phase::Linked if l.syncs > 0 => LinkState::Syncing,
            Phase::Linked => LinkState::Linked,
            Phase::Unlinking => LinkState::Unlinking,
        })
    }

    /// The node URI of `link`.
    pub fn link_node(&self, link: LinkId) -> Option<&str> {
        Some(self.links.get(link.0)?.node.as_str())
    }

    /// The lane URI of `link`.
    pub fn link_lane(&self, link: LinkId) -> Option<&str> {
        Some(self.links.get(link.0)?.lane.as_str())
    }

    /// The link on `node`/`lane`, if there is one.
    pub fn find_link(&self, node: &str, lane: &str) -> Option<LinkId> {
        self.find_str(node, lane).map(LinkId)
    }

    /// Every link of the connection, in slot order.
    pub fn links(&self) -> impl Iterator<Item = LinkId> + '_ {
        self.links.iter().map(|(key, _)| LinkId(key))
    }

    /// How many links are held (opening, open or unlinking).
    pub fn link_count(&self) -> usize {
        self.link_count
    }

    /// How many handles are held (including unlinked ones not yet closed).
    pub fn handle_count(&self) -> usize {
        self.handle_count
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use alloc::format;

    fn drain(c: &mut ClientConnection) -> usize {
        let mut n = 0;
        while c.poll_transmit().is_some() {
            n += 1;
        }
        n
    }

    #[test]
    fn many_links_are_shared_found_and_removed() {
        let n = 2000;
        let config = Config::default()
            .with_max_links(n)
            .with_max_handles(2 * n + 1);
        let mut c = ClientConnection::new(config);
        for i in 0..n {
            let a = c.link(&format!("/unit/{i}"), "info").expect("room");
            let b = c.sync(&format!("/unit/{i}"), "info").expect("room");
            assert_eq!(
                c.handle_link(a),
                c.handle_link(b),
                "one link per node and lane"
            );
            assert_eq!(drain(&mut c), 1, "one `link` for both handles");
        }
        assert_eq!(c.link_count(), n);
        for i in 0..n {
            let link = c.find_link(&format!("/unit/{i}"), "info").expect("held");
            let frame = format!("@linked(node:\"/unit/{i}\",lane:info)");
            assert_eq!(
                c.handle_frame(&frame),
                Ok(Some(ClientEvent::Linked { link }))
            );
            // The link now sends the `sync` its second handle asked for.
            assert_eq!(drain(&mut c), 1);
        }
        let link = c.find_link("/unit/7", "info").expect("held");
        match c.handle_frame("@unlinked(node:\"/unit/7\",lane:info)@laneNotFound") {
            Ok(Some(ClientEvent::Unlinked { link: gone, .. })) => assert_eq!(gone, link),
            other => panic!("expected unlinked, got {other:?}"),
        }
        assert_eq!(c.find_link("/unit/7", "info"), None);
        assert_eq!(c.link_count(), n - 1);
        // A new link on the same names is a new link in the freed slot.
        let h = c.link("/unit/7", "info").expect("room");
        let again = c.handle_link(h).expect("linked");
        assert_ne!(again, link);
        assert_eq!(again.0.index, link.0.index);
        assert_eq!(c.find_link("/unit/7", "info"), Some(again));
        assert_eq!(
            c.handle_frame("@event(node:\"/unit/7\",lane:info)1"),
            Ok(Some(ClientEvent::Event {
                link: again,
                body: Body::from_raw("1")
            }))
        );
    }
}
