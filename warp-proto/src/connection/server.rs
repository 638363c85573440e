//! The server role: the links one client opened on this host, and the answers WARP requires.
//!
//! The machine answers what needs no application knowledge itself (a second `link` on an open
//! link, `unlink`, `deauth`, bad frames, links beyond the bounds) and hands the rest to the
//! application as a [`ServerRequest`]; the application answers with [`ServerConnection::accept`],
//! [`ServerConnection::reject`], [`ServerConnection::sync_event`] + [`ServerConnection::synced`]
//! and [`ServerConnection::authenticate`], and pushes lane changes with
//! [`ServerConnection::publish`]. The rules are those of PROFILE.md, "Link lifecycle (server
//! side)".

use super::endpoint::Endpoint;
use super::error::{CallError, Close, HandleError, ProtocolErrorKind, QueueError};
use super::storage::sealed::{Index, Name, Table};
use super::storage::{DefaultStorage, Lookup, Storage};
use super::{Config, LinkId, LinkState, Stats, Transmit};
use crate::envelope::{Body, Envelope, Tag};
use crate::recon::Text;

/// The body of the `unlinked` answering a client's `unlink` (what the SwimOS server sends).
const LINK_CLOSED: &str = "\"Link closed.\"";

/// What a received frame asks of the server application. Borrows the frame.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerRequest<'f> {
    /// A `link` or `sync` for a link not open on this connection. Answer with
    /// [`ServerConnection::accept`] (then, if it says so, the state and `synced`) or
    /// [`ServerConnection::reject`]. Until then, further `link`/`sync` frames for the same node
    /// and lane are merged into this request.
    Link {
        /// The new link.
        link: LinkId,
        /// The node URI as received.
        node: Text<'f>,
        /// The lane URI as received.
        lane: Text<'f>,
        /// `sync` rather than `link`.
        sync: bool,
        /// The requested priority (0 when absent).
        prio: f32,
        /// The requested rate (0 when absent).
        rate: f32,
    },
    /// A `sync` on an open link: send the lane's state with [`ServerConnection::sync_event`],
    /// then [`ServerConnection::synced`]. No second `linked` is sent.
    Sync {
        /// The link.
        link: LinkId,
    },
    /// The client unlinked: the link is gone, the `unlinked` answer is queued, and `link` is
    /// no longer valid (also when it was still pending: the request is withdrawn).
    Unlink {
        /// The link that ended.
        link: LinkId,
    },
    /// A `command`: deliver `body` to the lane. WARP sends no reply.
    Command {
        /// The node URI as received.
        node: Text<'f>,
        /// The lane URI as received.
        lane: Text<'f>,
        /// The command's value.
        body: Body<'f>,
    },
    /// An `auth`: check `body` and answer with [`ServerConnection::authenticate`].
    Auth {
        /// The credentials.
        body: Body<'f>,
    },
    /// A `deauth`: `deauthed` and the close (1000) are queued.
    Deauth,
    /// A `link`/`sync` the connection cannot hold; `@unlinked(...)` with the reason's body is
    /// queued. Nothing for the application to do but note it.
    Refused {
        /// The node URI as received.
        node: Text<'f>,
        /// The lane URI as received.
        lane: Text<'f>,
        /// Which bound.
        reason: Refusal,
    },
}

/// Why the connection itself refused a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// [`Config::max_links`] links are held: body `@tooManyLinks`.
    TooManyLinks,
    /// The node or lane is longer than [`Config::max_uri_len`]: body `@uriTooLong`.
    UriTooLong,
}

impl Refusal {
    /// The body of the `unlinked` envelope.
    pub const fn body(self) -> &'static str {
        match self {
            Refusal::TooManyLinks => "@tooManyLinks",
            Refusal::UriTooLong => "@uriTooLong",
        }
    }
}

/// Why the application refuses a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// No such node: `@unlinked(node:N,lane:L)@nodeNotFound`.
    NodeNotFound,
    /// No such lane on the node: `@unlinked(node:N,lane:L)@laneNotFound`.
    LaneNotFound,
}

impl Rejection {
    /// The body of the `unlinked` envelope.
    pub const fn body(self) -> &'static str {
        match self {
            Rejection::NodeNotFound => "@nodeNotFound",
            Rejection::LaneNotFound => "@laneNotFound",
        }
    }
}

/// What [`ServerConnection::accept`] leaves the application to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Accepted {
    /// `linked` is queued; send events as the lane changes.
    Linked,
    /// `linked` is queued and the client asked for the state: send it with
    /// [`ServerConnection::sync_event`], then call [`ServerConnection::synced`].
    Syncing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Asked for; the application has not answered.
    Pending { sync: bool },
    /// `linked` sent; `syncs` syncs still to answer with `synced`.
    Open { syncs: u32 },
}

struct ServerLink<S: Storage> {
    node: S::Name,
    lane: S::Name,
    phase: Phase,
}

/// The server side of one WARP connection. See the [module docs](super) for the drain contract.
///
/// ```
/// # #[cfg(feature = "alloc")] {
/// use warp_proto::connection::{Config, Rejection, ServerConnection, ServerRequest, Transmit};
///
/// let mut server = ServerConnection::new(Config::default());
/// let Ok(Some(ServerRequest::Link { link, .. })) =
///     server.handle_frame("@link(node:\"/nowhere\",lane:info)")
/// else {
///     panic!()
/// };
/// server.reject(link, Rejection::NodeNotFound).unwrap();
/// assert_eq!(
///     server.poll_transmit(),
///     Some(Transmit::Frame("@unlinked(node:\"/nowhere\",lane:info)@nodeNotFound"))
/// );
/// assert_eq!(server.poll_transmit(), None);
/// # }
/// ```
pub struct ServerConnection<S: Storage = DefaultStorage> {
    ep: Endpoint<S>,
    links: S::Links<ServerLink<S>>,
    /// (node, lane) → link, in step with `links` (a no-op with [`Fixed`](super::Fixed)).
    index: S::Index,
    link_count: usize,
    auth_pending: u32,
}

impl ServerConnection {
    /// A connection with the given bounds, no links, and the [`DefaultStorage`].
    pub fn new(config: Config) -> Self {
        ServerConnection::with_storage(config)
    }
}

impl<S: Storage> ServerConnection<S> {
    /// A connection with the given bounds and no links, in storage `S`
    /// (`ServerConnection::<Fixed<8, 0, 64, 2048>>::with_storage(config)`).
    pub fn with_storage(config: Config) -> Self {
        let mut ep = Endpoint::new(config);
        ep.drains = true;
        ServerConnection {
            ep,
            links: Default::default(),
            index: Default::default(),
            link_count: 0,
            auth_pending: 0,
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

    /// Whether the close has been handed out by [`ServerConnection::poll_transmit`].
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

    /// Handles one received text frame. Drain [`ServerConnection::poll_transmit`] afterwards.
    ///
    /// Returns what the frame asks of the application, if anything. On
    /// [`HandleError::Backpressure`] nothing changed: drain and hand the frame in again.
    ///
    /// After a graceful close of this end ([`ServerConnection::close`], or
    /// [`ServerConnection::close_with`] [`Close::GoingAway`] / [`Close::Overloaded`]) the
    /// connection still takes `command`s until the driver stops feeding frames (the peer's
    /// close), since the client may have written them before it saw the close; any other
    /// frame (another envelope, which could not be answered any more, or a bad one) is refused
    /// with [`HandleError::Closed`]. After a close for a fault every frame is refused.
    pub fn handle_frame<'f>(
        &mut self,
        frame: &'f str,
    ) -> Result<Option<ServerRequest<'f>>, HandleError> {
        self.ep.receive(frame.len())?;
        if !self.ep.is_open() {
            return drained(Envelope::decode(frame).ok());
        }
        let envelope = self.ep.decode(frame)?;
        self.handle(envelope)
    }

    /// Handles one received text frame given as bytes, checking UTF-8 first (a bad frame is a
    /// protocol error, closing with 1007 once too many). Drain
    /// [`ServerConnection::poll_transmit`] afterwards.
    pub fn handle_frame_bytes<'f>(
        &mut self,
        frame: &'f [u8],
    ) -> Result<Option<ServerRequest<'f>>, HandleError> {
        if !self.ep.is_open() {
            self.ep.receive(frame.len())?;
            let text = core::str::from_utf8(frame).ok();
            return drained(text.and_then(|t| Envelope::decode(t).ok()));
        }
        let text = self.ep.text(frame)?;
        let envelope = self.ep.decode(text)?;
        self.handle(envelope)
    }

    /// Reports a binary frame of `len` bytes: always a protocol error (WARP is text only).
    /// Drain [`ServerConnection::poll_transmit`] afterwards.
    pub fn handle_binary_frame(&mut self, len: usize) -> HandleError {
        self.ep.binary(len)
    }

    /// Handles an envelope decoded elsewhere (it counts as one received frame). Drain
    /// [`ServerConnection::poll_transmit`] afterwards.
    pub fn handle_envelope<'f>(
        &mut self,
        envelope: Envelope<'f>,
    ) -> Result<Option<ServerRequest<'f>>, HandleError> {
        self.ep.receive(0)?;
        if !self.ep.is_open() {
            return drained(Some(envelope));
        }
        self.handle(envelope)
    }

    fn handle<'f>(
        &mut self,
        envelope: Envelope<'f>,
    ) -> Result<Option<ServerRequest<'f>>, HandleError> {
        let Envelope {
            tag,
            node,
            lane,
            body,
            ..
        } = envelope;
        match tag {
            Tag::Link | Tag::Sync => self.on_link(envelope),
            Tag::Unlink => {
                let Some(key) = self.find_text(&node, &lane) else {
                    // Not open and not asked for: nothing is sent.
                    return Ok(None);
                };
                // Open, or asked for and not yet answered: the client waits for an answer
                // either way, so both get `unlinked`.
                let result =
                    self.ep
                        .push_text(Tag::Unlinked, node, lane, Body::from_raw(LINK_CLOSED));
                self.ep.respond(result)?;
                self.remove(key);
                Ok(Some(ServerRequest::Unlink { link: key }))
            }
            Tag::Command => Ok(Some(ServerRequest::Command { node, lane, body })),
            Tag::Auth => {
                self.auth_pending = self.auth_pending.saturating_add(1);
                Ok(Some(ServerRequest::Auth { body }))
            }
            Tag::Deauth => {
                let result = self.push_host(Tag::Deauthed);
                self.ep.respond(result)?;
                self.ep.close(Close::Deauthed);
                Ok(Some(ServerRequest::Deauth))
            }
            Tag::Linked
            | Tag::Synced
            | Tag::Unlinked
            | Tag::Event
            | Tag::Authed
            | Tag::Deauthed => Err(self.ep.protocol_error(ProtocolErrorKind::Unexpected(tag))),
        }
    }

    fn on_link<'f>(
        &mut self,
        envelope: Envelope<'f>,
    ) -> Result<Option<ServerRequest<'f>>, HandleError> {
        let sync = envelope.tag == Tag::Sync;
        let (node, lane) = (envelope.node, envelope.lane);
        if let Some(key) = self.find_text(&node, &lane) {
            let phase = self.links.get(key.0).map(|l| l.phase);
            return match phase {
                Some(Phase::Pending { sync: was }) => {
                    self.set_phase(key, Phase::Pending { sync: was || sync });
                    Ok(None)
                }
                Some(Phase::Open { syncs }) if sync => {
                    self.set_phase(
                        key,
                        Phase::Open {
                            syncs: syncs.saturating_add(1),
                        },
                    );
                    Ok(Some(ServerRequest::Sync { link: key }))
                }
                Some(Phase::Open { .. }) => {
                    let result = self.ep.push_text(Tag::Linked, node, lane, Body::absent());
                    self.ep.respond(result)?;
                    Ok(None)
                }
                None => Ok(None),
            };
        }
        let max = self.ep.config.max_uri_len;
        let mut entry = ServerLink::<S> {
            node: S::Name::default(),
            lane: S::Name::default(),
            phase: Phase::Pending { sync },
        };
        if !entry.node.set_text(&node, max) || !entry.lane.set_text(&lane, max) {
            return self.refuse(node, lane, Refusal::UriTooLong);
        }
        match self
            .links
            .insert(entry, self.link_count, self.ep.config.max_links)
        {
            Ok(key) => {
                self.link_count += 1;
                if let Some(l) = self.links.get(key) {
                    self.index.insert(l.node.as_str(), l.lane.as_str(), key);
                }
                Ok(Some(ServerRequest::Link {
                    link: LinkId(key),
                    node,
                    lane,
                    sync,
                    prio: envelope.prio,
                    rate: envelope.rate,
                }))
            }
            Err(_) => self.refuse(node, lane, Refusal::TooManyLinks),
        }
    }

    fn refuse<'f>(
        &mut self,
        node: Text<'f>,
        lane: Text<'f>,
        reason: Refusal,
    ) -> Result<Option<ServerRequest<'f>>, HandleError> {
        let result = self
            .ep
            .push_text(Tag::Unlinked, node, lane, Body::from_raw(reason.body()));
        self.ep.respond(result)?;
        self.ep.stats.refused_links = self.ep.stats.refused_links.saturating_add(1);
        Ok(Some(ServerRequest::Refused { node, lane, reason }))
    }

    fn push_host(&mut self, tag: Tag) -> Result<(), QueueError> {
        self.ep.push(tag, "", "", Body::absent())
    }

    fn find_text(&self, node: &Text<'_>, lane: &Text<'_>) -> Option<LinkId> {
        match self.index.find_text(node, lane) {
            Lookup::Found(key) => Some(LinkId(key)),
            Lookup::Missing => None,
            Lookup::Scan => self
                .links
                .iter()
                .find(|(_, l)| node.eq_str(l.node.as_str()) && lane.eq_str(l.lane.as_str()))
                .map(|(key, _)| LinkId(key)),
        }
    }

    fn set_phase(&mut self, link: LinkId, phase: Phase) {
        if let Some(l) = self.links.get_mut(link.0) {
            l.phase = phase;
        }
    }

    fn remove(&mut self, link: LinkId) {
        if let Some(l) = self.links.remove(link.0) {
            self.index.remove(l.node.as_str(), l.lane.as_str(), link.0);
            self.link_count = self.link_count.saturating_sub(1);
        }
    }

    fn check_open(&self) -> Result<(), CallError> {
        if self.ep.is_open() {
            Ok(())
        } else {
            Err(CallError::Closed)
        }
    }

    fn link(&self, link: LinkId) -> Result<&ServerLink<S>, CallError> {
        self.check_open()?;
        self.links.get(link.0).ok_or(CallError::UnknownLink)
    }

    /// Pushes a lane-addressed envelope for `link`.
    fn push_for(&mut self, link: LinkId, tag: Tag, body: Body<'_>) -> Result<(), CallError> {
        let Some(l) = self.links.get(link.0) else {
            return Err(CallError::UnknownLink);
        };
        let envelope = Envelope {
            tag,
            node: Text::plain(l.node.as_str()),
            lane: Text::plain(l.lane.as_str()),
            prio: 0.0,
            rate: 0.0,
            body,
        };
        Ok(self.ep.out.push(&envelope)?)
    }

    /// Accepts a pending link: queues `linked`. If the client asked for `sync` (in the request
    /// or in a later frame merged into it) returns [`Accepted::Syncing`]: send the state with
    /// [`ServerConnection::sync_event`], then [`ServerConnection::synced`].
    ///
    /// Drain [`ServerConnection::poll_transmit`] afterwards.
    pub fn accept(&mut self, link: LinkId) -> Result<Accepted, CallError> {
        let Phase::Pending { sync } = self.link(link)?.phase else {
            return Err(CallError::NotPending);
        };
        self.push_for(link, Tag::Linked, Body::absent())?;
        self.set_phase(
            link,
            Phase::Open {
                syncs: u32::from(sync),
            },
        );
        Ok(if sync {
            Accepted::Syncing
        } else {
            Accepted::Linked
        })
    }

    /// Refuses a pending link: queues `@unlinked(node:N,lane:L)@nodeNotFound` (or
    /// `@laneNotFound`); the connection stays open and `link` is no longer valid.
    ///
    /// Drain [`ServerConnection::poll_transmit`] afterwards.
    pub fn reject(&mut self, link: LinkId, why: Rejection) -> Result<(), CallError> {
        let Phase::Pending { .. } = self.link(link)?.phase else {
            return Err(CallError::NotPending);
        };
        self.push_for(link, Tag::Unlinked, Body::from_raw(why.body()))?;
        self.remove(link);
        Ok(())
    }

    /// Queues one `event` of the state a `sync` asked for. Only while the link has a sync to
    /// answer ([`Accepted::Syncing`] or [`ServerRequest::Sync`]).
    ///
    /// Drain [`ServerConnection::poll_transmit`] afterwards.
    pub fn sync_event(&mut self, link: LinkId, body: Body<'_>) -> Result<(), CallError> {
        match self.link(link)?.phase {
            Phase::Open { syncs } if syncs > 0 => self.push_for(link, Tag::Event, body),
            Phase::Open { .. } => Err(CallError::NotSyncing),
            Phase::Pending { .. } => Err(CallError::NotOpen),
        }
    }

    /// Queues `synced`: the state of one `sync` has been sent.
    ///
    /// Drain [`ServerConnection::poll_transmit`] afterwards.
    pub fn synced(&mut self, link: LinkId) -> Result<(), CallError> {
        match self.link(link)?.phase {
            Phase::Open { syncs } if syncs > 0 => {
                self.push_for(link, Tag::Synced, Body::absent())?;
                self.set_phase(link, Phase::Open { syncs: syncs - 1 });
                Ok(())
            }
            Phase::Open { .. } => Err(CallError::NotSyncing),
            Phase::Pending { .. } => Err(CallError::NotOpen),
        }
    }

    /// Queues one `event` on one open link.
    ///
    /// Drain [`ServerConnection::poll_transmit`] afterwards.
    pub fn event(&mut self, link: LinkId, body: Body<'_>) -> Result<(), CallError> {
        match self.link(link)?.phase {
            Phase::Open { .. } => self.push_for(link, Tag::Event, body),
            Phase::Pending { .. } => Err(CallError::NotOpen),
        }
    }

    /// Queues one `event` to every open link on `node`/`lane` of this connection, and returns
    /// how many. All or nothing: on an error no event is queued.
    ///
    /// Drain [`ServerConnection::poll_transmit`] afterwards.
    pub fn publish(&mut self, node: &str, lane: &str, body: Body<'_>) -> Result<usize, CallError> {
        self.check_open()?;
        // A connection holds at most one link per node and lane: with an index, that one.
        let only = match self.index.find(node, lane) {
            Lookup::Found(key) => Some(key),
            Lookup::Missing => return Ok(0),
            Lookup::Scan => None,
        };
        let mark = self.ep.out.mark();
        let mut sent = 0;
        let links = &self.links;
        let indexed = only.and_then(|key| Some((key, links.get(key)?)));
        let scanned = only.is_none().then(|| links.iter());
        for (_, l) in indexed.into_iter().chain(scanned.into_iter().flatten()) {
            if !matches!(l.phase, Phase::Open { .. })
                || l.node.as_str() != node
                || l.lane.as_str() != lane
            {
                continue;
            }
            let envelope = Envelope {
                tag: Tag::Event,
                node: Text::plain(node),
                lane: Text::plain(lane),
                prio: 0.0,
                rate: 0.0,
                body,
            };
            if let Err(e) = self.ep.out.push(&envelope) {
                self.ep.out.rollback(mark);
                return Err(CallError::Queue(e));
            }
            sent += 1;
        }
        Ok(sent)
    }

    /// Ends an open link from the server side (the lane or node went away): queues
    /// `unlinked` with `body`; `link` is no longer valid. For a pending link use
    /// [`ServerConnection::reject`].
    ///
    /// Drain [`ServerConnection::poll_transmit`] afterwards.
    pub fn unlink(&mut self, link: LinkId, body: Body<'_>) -> Result<(), CallError> {
        match self.link(link)?.phase {
            Phase::Open { .. } => {
                self.push_for(link, Tag::Unlinked, body)?;
                self.remove(link);
                Ok(())
            }
            Phase::Pending { .. } => Err(CallError::NotOpen),
        }
    }

    /// Answers the oldest unanswered `auth`: `@authed` when `accepted`, else `@deauthed` and a
    /// close with 1008.
    ///
    /// Drain [`ServerConnection::poll_transmit`] afterwards.
    pub fn authenticate(&mut self, accepted: bool) -> Result<(), CallError> {
        self.check_open()?;
        if self.auth_pending == 0 {
            return Err(CallError::NoAuthPending);
        }
        if accepted {
            self.push_host(Tag::Authed)?;
        } else {
            self.push_host(Tag::Deauthed)?;
            self.ep.close(Close::AuthRefused);
        }
        self.auth_pending -= 1;
        Ok(())
    }

    /// Closes the connection (1000) after the frames already queued.
    ///
    /// Drain [`ServerConnection::poll_transmit`] afterwards.
    pub fn close(&mut self) {
        self.ep.close(Close::Normal);
    }

    /// Closes the connection with a chosen reason, after what is already queued: for example
    /// [`Close::GoingAway`] on shutdown or [`Close::Overloaded`] for a peer that does not keep
    /// up. [`ServerConnection::poll_transmit`] hands out the queued frames, then the close.
    pub fn close_with(&mut self, close: Close) {
        self.ep.close(close);
    }

    /// The state of `link`, if it is one of this connection's links.
    pub fn link_state(&self, link: LinkId) -> Option<LinkState> {
        Some(match self.links.get(link.0)?.phase {
            Phase::Pending { .. } => LinkState::Opening,
            Phase::Open { syncs: 0 } => LinkState::Linked,
            Phase::Open { .. } => LinkState::Syncing,
        })
    }

    /// The node URI of `link` (decoded).
    pub fn link_node(&self, link: LinkId) -> Option<&str> {
        Some(self.links.get(link.0)?.node.as_str())
    }

    /// The lane URI of `link` (decoded).
    pub fn link_lane(&self, link: LinkId) -> Option<&str> {
        Some(self.links.get(link.0)?.lane.as_str())
    }

    /// The link on `node`/`lane`, if one is pending or open.
    pub fn find_link(&self, node: &str, lane: &str) -> Option<LinkId> {
        self.find_text(&Text::plain(node), &Text::plain(lane))
    }

    /// Every link of the connection (pending or open), in slot order.
    pub fn links(&self) -> impl Iterator<Item = LinkId> + '_ {
        self.links.iter().map(|(key, _)| LinkId(key))
    }

    /// How many links are pending or open.
    pub fn link_count(&self) -> usize {
        self.link_count
    }
}

impl Default for ServerConnection {
    fn default() -> Self {
        ServerConnection::new(Config::default())
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use crate::connection::Fixed;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    fn drain<S: Storage>(s: &mut ServerConnection<S>) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(t) = s.poll_transmit() {
            if let Transmit::Frame(f) = t {
                out.push(String::from(f));
            }
        }
        out
    }

    fn open<S: Storage>(s: &mut ServerConnection<S>, frame: &str) -> LinkId {
        match s.handle_frame(frame) {
            Ok(Some(ServerRequest::Link { link, .. })) => link,
            other => panic!("expected a link request for {frame}, got {other:?}"),
        }
    }

    #[test]
    fn many_links_are_found_unlinked_and_reopened_in_the_lowest_slots() {
        let n = 3000;
        let mut s = ServerConnection::new(Config::default().with_max_links(n));
        let links: Vec<LinkId> = (0..n)
            .map(|i| open(&mut s, &format!("@link(node:\"/unit/{i}\",lane:info)")))
            .collect();
        for (i, &link) in links.iter().enumerate() {
            assert_eq!(s.find_link(&format!("/unit/{i}"), "info"), Some(link));
            s.accept(link).expect("accept");
            drain(&mut s);
        }
        assert_eq!(s.find_link("/unit/1", "count"), None);
        assert_eq!(s.find_link(&format!("/unit/{n}"), "info"), None);
        for i in (0..n).step_by(2) {
            match s.handle_frame(&format!("@unlink(node:\"/unit/{i}\",lane:info)")) {
                Ok(Some(ServerRequest::Unlink { link })) => assert_eq!(link, links[i]),
                other => panic!("expected an unlink, got {other:?}"),
            }
            drain(&mut s);
        }
        assert_eq!(s.link_count(), n / 2);
        for (i, &link) in links.iter().enumerate() {
            let found = s.find_link(&format!("/unit/{i}"), "info");
            assert_eq!(found, (i % 2 == 1).then_some(link));
            let sent = s
                .publish(&format!("/unit/{i}"), "info", Body::from_raw("1"))
                .expect("room");
            assert_eq!(sent, i % 2);
            drain(&mut s);
        }
        // A link on the same node and lane as an old one takes the lowest free slot.
        let again = open(&mut s, "@link(node:\"/unit/4\",lane:info)");
        assert_eq!(again.0.index, 0);
        assert_ne!(again, links[0]);
        assert_eq!(s.find_link("/unit/4", "info"), Some(again));
        // A pending link gets no events.
        assert_eq!(s.publish("/unit/4", "info", Body::from_raw("1")), Ok(0));
    }

    fn escaped_names_are_one_link<S: Storage>(mut s: ServerConnection<S>) {
        let link = open(&mut s, "@link(node:\"/q\\\"x\",lane:info)");
        assert_eq!(s.find_link("/q\"x", "info"), Some(link));
        assert_eq!(s.link_node(link), Some("/q\"x"));
        // The same names spelled plainly, or escaped again, are the same link.
        assert_eq!(
            s.handle_frame("@sync(node:\"/q\\\"x\",lane:\"info\")"),
            Ok(None)
        );
        let long = "y".repeat(300);
        let long_link = open(&mut s, &format!("@link(node:\"/\\\"{long}\",lane:info)"));
        assert_eq!(
            s.handle_frame(&format!("@link(node:\"/\\\"{long}\",lane:info)")),
            Ok(None)
        );
        assert_eq!(s.find_link(&format!("/\"{long}"), "info"), Some(long_link));
        match s.handle_frame(&format!("@unlink(node:\"/\\\"{long}\",lane:info)")) {
            Ok(Some(ServerRequest::Unlink { link })) => assert_eq!(link, long_link),
            other => panic!("expected an unlink, got {other:?}"),
        }
        s.reject(link, Rejection::LaneNotFound).expect("reject");
        assert_eq!(s.find_link("/q\"x", "info"), None);
        assert_eq!(s.link_count(), 0);
        drain(&mut s);
        let again = open(&mut s, "@link(node:\"/q\\\"x\",lane:info)");
        assert_eq!(s.find_link("/q\"x", "info"), Some(again));
    }

    #[test]
    fn escaped_names_are_one_link_in_heap_and_fixed_storage() {
        escaped_names_are_one_link(ServerConnection::new(Config::default()));
        escaped_names_are_one_link(ServerConnection::<Fixed<4, 0, 512, 4096>>::with_storage(
            Config::default(),
        ));
    }
}

/// What a gracefully closing server connection makes of a received frame: a `command` is
/// still delivered; anything else (or a frame that is not an envelope) is refused as closed.
fn drained(envelope: Option<Envelope<'_>>) -> Result<Option<ServerRequest<'_>>, HandleError> {
    match envelope {
        Some(Envelope {
            tag: Tag::Command,
            node,
            lane,
            body,
            ..
        }) => Ok(Some(ServerRequest::Command { node, lane, body })),
        _ => Err(HandleError::Closed),
    }
}
