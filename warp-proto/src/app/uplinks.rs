//! The uplinks of one connection: the glue between a [`Plane`] and one [`ServerConnection`].

use alloc::collections::{BTreeMap, VecDeque};
use core::fmt;

use super::body::EventBody;
use super::plane::{CommandError, LinkError, Plane, Published};
use crate::connection::{
    Accepted, CallError, LinkId, QueueError, ServerConnection, ServerRequest, Storage,
};
use crate::envelope::Body;
use crate::ws::Instant;

/// What [`Uplinks::handle`] did, and what is left to the driver.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Handled<'f> {
    /// Nothing left to do but [`Uplinks::pump`].
    Done,
    /// A link was refused (`@unlinked…@nodeNotFound`/`@laneNotFound` is queued), or a synced
    /// link ended because its lane is gone.
    Rejected(LinkError),
    /// A command changed an agent: deliver this to every connection's [`Uplinks`].
    Publish(Published),
    /// A command had no effect (WARP sends no reply).
    CommandDropped(CommandError),
    /// An `auth`: check the credentials and answer with `ServerConnection::authenticate`.
    Auth(Body<'f>),
}

/// Where [`Uplinks::pump`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pump {
    /// Everything queued was written to the connection.
    Idle,
    /// The connection's outbound queue is full: drain `poll_transmit`, then pump again.
    Blocked,
}

/// Why [`Uplinks`] refused a call. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UplinkError {
    /// The connection refused a call (see [`Uplinks`]).
    Call(CallError),
    /// More than the bound of work is queued for this connection: close it.
    Overloaded {
        /// The bound ([`Uplinks::max_pending`]).
        max: usize,
    },
}

impl From<CallError> for UplinkError {
    fn from(e: CallError) -> Self {
        UplinkError::Call(e)
    }
}

impl fmt::Display for UplinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UplinkError::Call(e) => fmt::Display::fmt(e, f),
            UplinkError::Overloaded { max } => {
                write!(
                    f,
                    "connection has more than {max} pending replays and events"
                )
            }
        }
    }
}

impl core::error::Error for UplinkError {}

/// One unit of outbound work.
#[derive(Debug)]
enum Work<P> {
    /// A sync's state still to send on `link`, then `synced`.
    Replay {
        link: LinkId,
        bodies: VecDeque<EventBody>,
    },
    /// A change to write on the links it concerns, from its event `next` on.
    Publish { published: P, next: usize },
}

/// The application side of one server connection: answers its requests from a [`Plane`] and
/// writes lane events to it in a consistent order.
///
/// # The contract
///
/// A server driver owns one [`Plane`] (shared by all connections, behind whatever lock it
/// likes) and, per connection, a [`ServerConnection`] and an [`Uplinks`]. Then:
///
/// 1. For every [`ServerRequest`] a frame yields, call [`Uplinks::handle`] (holding the plane).
///    - [`Handled::Publish`]: a command changed an agent. **Deliver the [`Published`] to the
///      [`Uplinks`] of every connection, this one included** ([`Uplinks::deliver`]), in the
///      order the plane produced them (ascending [`Published::seq`]).
///    - [`Handled::Auth`]: answer with `ServerConnection::authenticate`.
///    - [`Handled::Rejected`] / [`Handled::CommandDropped`]: already answered as WARP requires
///      (`@unlinked…@nodeNotFound` / no reply); log if you like.
/// 2. After `handle` and after `deliver`, call [`Uplinks::pump`], then drain
///    `ServerConnection::poll_transmit`. While `pump` returns [`Pump::Blocked`] the connection's
///    outbound queue is full: drain it (write to the socket) and pump again.
///
/// Sync replays and published events go through one FIFO per connection, so a link never sees
/// an event of a change older than the state its sync replayed, and a map entry replayed by a
/// sync is never overtaken by a stale event. Each link remembers the plane's seq at which it
/// was linked or last synced; published changes up to that seq are skipped for it (they are in
/// its state already, or came before it was linked).
///
/// Errors: [`UplinkError::Overloaded`] means the connection has more queued work than its bound
/// (a client syncing faster than it reads, or a slow reader on a busy plane): close it.
/// [`UplinkError::Call`] with `CallError::Queue(QueueError::Full { .. })` from `handle` is
/// backpressure: drain and call `handle` again with the same request (the link is still
/// pending; starting the agent again is a no-op). Any other `CallError` means the connection is
/// closed or cannot take the frame at all: stop serving it.
///
/// `P` is how published changes are shared between connections: [`Published`] itself (one
/// clone per connection) or any pointer to it (`Arc<Published>`).
///
/// ```
/// use warp_proto::app::{demo::UnitAgent, Handled, Plane, PlaneConfig, Pump, Uplinks};
/// use warp_proto::connection::{Config, ServerConnection, Transmit};
/// use warp_proto::ws::Instant;
///
/// let mut plane = Plane::new(PlaneConfig::default());
/// plane.route("/unit/:id", |_| Some(UnitAgent::agent())).unwrap();
/// let mut conn = ServerConnection::new(Config::default());
/// let mut uplinks: Uplinks = Uplinks::default();
/// let now = Instant::ZERO;
///
/// let mut sent = Vec::new();
/// for frame in [
///     "@sync(node:\"/unit/1\",lane:info)",
///     "@command(node:\"/unit/1\",lane:set_info)\"hello\"",
/// ] {
///     if let Some(request) = conn.handle_frame(frame).unwrap() {
///         let handled = uplinks.handle(&mut plane, &mut conn, request, now).unwrap();
///         if let Handled::Publish(p) = handled {
///             uplinks.deliver(p).unwrap(); // and to every other connection's uplinks
///         }
///     }
///     assert_eq!(uplinks.pump(&mut conn).unwrap(), Pump::Idle);
///     while let Some(Transmit::Frame(f)) = conn.poll_transmit() {
///         sent.push(f.to_owned());
///     }
/// }
/// assert_eq!(sent, [
///     "@linked(node:\"/unit/1\",lane:info)",
///     "@event(node:\"/unit/1\",lane:info)\"\"",
///     "@synced(node:\"/unit/1\",lane:info)",
///     "@event(node:\"/unit/1\",lane:info) hello", // an identifier is written bare
/// ]);
/// ```
#[derive(Debug)]
pub struct Uplinks<P = Published> {
    floors: BTreeMap<LinkId, u64>,
    queue: VecDeque<Work<P>>,
    max_pending: usize,
}

impl<P> Uplinks<P> {
    /// The default bound on queued work items: 1024.
    pub const DEFAULT_MAX_PENDING: usize = 1024;
}

impl<P: AsRef<Published>> Default for Uplinks<P> {
    /// [`Uplinks::new`] with [`Uplinks::DEFAULT_MAX_PENDING`].
    fn default() -> Self {
        Uplinks::new(Self::DEFAULT_MAX_PENDING)
    }
}

impl<P: AsRef<Published>> Uplinks<P> {
    /// No links yet; at most `max_pending` replays and published changes queued.
    pub fn new(max_pending: usize) -> Self {
        Uplinks {
            floors: BTreeMap::new(),
            queue: VecDeque::new(),
            max_pending,
        }
    }

    /// The bound on queued work.
    pub fn max_pending(&self) -> usize {
        self.max_pending
    }

    /// Replays and published changes not yet fully written.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is queued.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    fn check_room(&self) -> Result<(), UplinkError> {
        if self.queue.len() >= self.max_pending {
            Err(UplinkError::Overloaded {
                max: self.max_pending,
            })
        } else {
            Ok(())
        }
    }

    /// Answers one request of `conn` from `plane`. See [`Uplinks`] for what the
    /// driver does with the result; call [`Uplinks::pump`] afterwards.
    pub fn handle<'f, S: Storage>(
        &mut self,
        plane: &mut Plane,
        conn: &mut ServerConnection<S>,
        request: ServerRequest<'f>,
        now: Instant,
    ) -> Result<Handled<'f>, UplinkError> {
        match request {
            ServerRequest::Link {
                link, node, lane, ..
            } => {
                self.check_room()?;
                let (node, lane) = (node.to_cow(), lane.to_cow());
                if let Err(e) = plane.open(&node, &lane) {
                    conn.reject(link, e.rejection())?;
                    return Ok(Handled::Rejected(e));
                }
                match conn.accept(link)? {
                    Accepted::Linked => {
                        self.floors.insert(link, plane.seq());
                        Ok(Handled::Done)
                    }
                    Accepted::Syncing => self.replay(plane, conn, link, &node, &lane),
                }
            }
            ServerRequest::Sync { link } => {
                self.check_room()?;
                let (Some(node), Some(lane)) = (conn.link_node(link), conn.link_lane(link)) else {
                    return Err(UplinkError::Call(CallError::UnknownLink));
                };
                let (node, lane) = (
                    alloc::string::String::from(node),
                    alloc::string::String::from(lane),
                );
                self.replay(plane, conn, link, &node, &lane)
            }
            ServerRequest::Unlink { link } => {
                self.forget(link);
                Ok(Handled::Done)
            }
            ServerRequest::Command { node, lane, body } => {
                match plane.command_body(&node.to_cow(), &lane.to_cow(), body, now) {
                    Ok(p) if p.is_empty() => Ok(Handled::Done),
                    Ok(p) => Ok(Handled::Publish(p)),
                    Err(e) => Ok(Handled::CommandDropped(e)),
                }
            }
            ServerRequest::Auth { body } => Ok(Handled::Auth(body)),
            _ => Ok(Handled::Done),
        }
    }

    /// Takes the state of `node`/`lane` for `link` (open, with a sync to answer) and queues it.
    fn replay<'f, S: Storage>(
        &mut self,
        plane: &mut Plane,
        conn: &mut ServerConnection<S>,
        link: LinkId,
        node: &str,
        lane: &str,
    ) -> Result<Handled<'f>, UplinkError> {
        match plane.sync(node, lane) {
            Ok(state) => {
                self.floors.insert(link, state.seq());
                self.queue.push_back(Work::Replay {
                    link,
                    bodies: state.into_bodies().into(),
                });
                Ok(Handled::Done)
            }
            Err(e) => {
                // The agent was stopped and cannot start again: end the link.
                conn.unlink(link, Body::from_raw(e.rejection().body()))?;
                self.forget(link);
                Ok(Handled::Rejected(e))
            }
        }
    }

    /// Ends an open link from the server side (`ServerConnection::unlink` with `body`) and
    /// forgets it. Use this rather than calling the connection directly.
    pub fn unlink<S: Storage>(
        &mut self,
        conn: &mut ServerConnection<S>,
        link: LinkId,
        body: Body<'_>,
    ) -> Result<(), CallError> {
        conn.unlink(link, body)?;
        self.forget(link);
        Ok(())
    }

    /// Forgets `link` and drops its queued replays.
    fn forget(&mut self, link: LinkId) {
        self.floors.remove(&link);
        self.queue
            .retain(|w| !matches!(w, Work::Replay { link: l, .. } if *l == link));
    }

    /// Queues a change for the links of this connection it concerns. Call it for every
    /// [`Handled::Publish`] of any connection, in the plane's order, then [`Uplinks::pump`].
    pub fn deliver(&mut self, published: P) -> Result<(), UplinkError> {
        if published.as_ref().is_empty() {
            return Ok(());
        }
        self.check_room()?;
        self.queue.push_back(Work::Publish { published, next: 0 });
        Ok(())
    }

    /// Writes queued work to `conn` until done or its outbound queue is full. Drain
    /// `poll_transmit` afterwards; on [`Pump::Blocked`] drain and pump again.
    ///
    /// Fails only when the connection cannot go on (closed, or a single event larger than its
    /// outbound queue can ever hold); the work stays queued.
    pub fn pump<S: Storage>(&mut self, conn: &mut ServerConnection<S>) -> Result<Pump, CallError> {
        let Uplinks { floors, queue, .. } = self;
        while let Some(work) = queue.front_mut() {
            match work {
                Work::Replay { link, bodies } => {
                    let link = *link;
                    let mut gone = false;
                    while let Some(body) = bodies.front() {
                        match absorb(conn.sync_event(link, body.as_body()))? {
                            Step::Sent => {
                                bodies.pop_front();
                            }
                            Step::Blocked => return Ok(Pump::Blocked),
                            Step::Gone => {
                                gone = true;
                                break;
                            }
                        }
                    }
                    if !gone && absorb(conn.synced(link))? == Step::Blocked {
                        return Ok(Pump::Blocked);
                    }
                }
                Work::Publish { published, next } => {
                    let p = published.as_ref();
                    while let Some(event) = p.events().get(*next) {
                        let target = conn
                            .find_link(p.node(), &event.lane)
                            .filter(|link| floors.get(link).is_some_and(|&f| f < p.seq()));
                        if let Some(link) = target {
                            if absorb(conn.event(link, event.body.as_body()))? == Step::Blocked {
                                return Ok(Pump::Blocked);
                            }
                        }
                        *next = next.saturating_add(1);
                    }
                }
            }
            queue.pop_front();
        }
        Ok(Pump::Idle)
    }
}

/// The outcome of one write to the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Sent,
    /// Backpressure: try again after draining.
    Blocked,
    /// The link ended meanwhile: skip it.
    Gone,
}

fn absorb(result: Result<(), CallError>) -> Result<Step, CallError> {
    match result {
        Ok(()) => Ok(Step::Sent),
        Err(CallError::Queue(QueueError::Full { .. })) => Ok(Step::Blocked),
        Err(CallError::UnknownLink | CallError::NotOpen | CallError::NotSyncing) => Ok(Step::Gone),
        Err(e) => Err(e),
    }
}
