//! The plane: every agent of a server, by node URI, shared by all its connections.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::agent::{Agent, AgentContext, LaneEvent};
use super::body::EventBody;
use super::handler::{HandlerFactory, NodeHandler};
use super::lane::{LaneError, LaneKind};
use super::route::{Params, RouteError};
use super::router::{RouteId, Router};
use crate::connection::Rejection;
use crate::envelope::Body;
use crate::recon::Value;
use crate::ws::Instant;

/// The bounds of a [`Plane`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlaneConfig {
    /// Agents running at once. A link or command that would start one more fails with
    /// [`LinkError::TooManyAgents`] / [`CommandError::TooManyAgents`]. Default 4096.
    pub max_agents: usize,
}

impl PlaneConfig {
    /// The default bounds.
    pub const fn new() -> Self {
        PlaneConfig { max_agents: 4096 }
    }

    /// Sets [`PlaneConfig::max_agents`].
    pub const fn with_max_agents(mut self, n: usize) -> Self {
        self.max_agents = n;
        self
    }
}

impl Default for PlaneConfig {
    fn default() -> Self {
        PlaneConfig::new()
    }
}

/// Makes the agent of a node from the parameters its URI binds in the route's pattern; `None`
/// when there is no such node (the link is refused with `@nodeNotFound`).
pub type AgentFactory = Box<dyn Fn(&Params) -> Option<Agent> + Send + Sync>;

/// What a route of a [`Plane`] makes: agents with ready-made lanes, or
/// [`NodeHandler`]s serving their lanes themselves.
pub enum RouteTarget {
    /// Made by [`Plane::route`].
    Agent(AgentFactory),
    /// Made by [`Plane::route_handler`].
    Handler(HandlerFactory),
}

impl fmt::Debug for RouteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteTarget::Agent(_) => f.write_str("Agent"),
            RouteTarget::Handler(_) => f.write_str("Handler"),
        }
    }
}

/// A running node: an agent or a handler.
enum Node {
    Agent(Agent),
    Handler(Box<dyn NodeHandler>),
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Agent(agent) => fmt::Debug::fmt(agent, f),
            Node::Handler(_) => f.write_str("NodeHandler"),
        }
    }
}

/// Why a link (or sync) cannot be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkError {
    /// No route matches the node URI, or its factory made no agent.
    NodeNotFound,
    /// The node's agent has no lane of that name.
    LaneNotFound,
    /// The node's agent is not running and [`PlaneConfig::max_agents`] are.
    TooManyAgents {
        /// The bound.
        max: usize,
    },
}

impl LinkError {
    /// How to refuse the link on the connection: `@nodeNotFound` or `@laneNotFound`. An agent
    /// that cannot be started for lack of room is refused as `@nodeNotFound` (WARP has no body
    /// for it; SwimOS peers know these two).
    pub const fn rejection(self) -> Rejection {
        match self {
            LinkError::LaneNotFound => Rejection::LaneNotFound,
            LinkError::NodeNotFound | LinkError::TooManyAgents { .. } => Rejection::NodeNotFound,
        }
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::NodeNotFound => f.write_str("node not found"),
            LinkError::LaneNotFound => f.write_str("lane not found"),
            LinkError::TooManyAgents { max } => write!(f, "too many agents ({max})"),
        }
    }
}

impl core::error::Error for LinkError {}

/// Why a command (or a [`Plane::modify`]) had no effect. WARP sends no reply to a command; the
/// driver may log this. Nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// No route matches the node URI, or its factory made no agent.
    NodeNotFound,
    /// The node's agent has no lane of that name.
    LaneNotFound,
    /// The node's agent is not running and [`PlaneConfig::max_agents`] are.
    TooManyAgents {
        /// The bound.
        max: usize,
    },
    /// The command body is not valid Recon.
    BadBody(crate::recon::Error),
    /// The lane or the agent's logic refused the command.
    Lane(LaneError),
}

impl From<LinkError> for CommandError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::NodeNotFound => CommandError::NodeNotFound,
            LinkError::LaneNotFound => CommandError::LaneNotFound,
            LinkError::TooManyAgents { max } => CommandError::TooManyAgents { max },
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::NodeNotFound => f.write_str("node not found"),
            CommandError::LaneNotFound => f.write_str("lane not found"),
            CommandError::TooManyAgents { max } => write!(f, "too many agents ({max})"),
            CommandError::BadBody(e) => write!(f, "bad command body: {e}"),
            CommandError::Lane(e) => write!(f, "command refused: {e}"),
        }
    }
}

impl core::error::Error for CommandError {}

/// The events of one change of one agent, to publish on every connection: for each
/// [`LaneEvent`], an `event` on the link to (`node`, `lane`) of every connection that has it open.
///
/// `seq` orders changes across the plane: it is the plane's [`Plane::seq`] right after the
/// change. A connection whose link was synced (or linked) at a later or equal seq already has
/// this change in its state and must not get these events again ([`Uplinks`](super::Uplinks)
/// does this).
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    node: String,
    seq: u64,
    events: Vec<LaneEvent>,
}

impl Published {
    /// The node URI (as the links name it).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The plane's sequence number of this change.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The events, in the order the change made them.
    pub fn events(&self) -> &[LaneEvent] {
        &self.events
    }

    /// Whether the change produced no event (nothing to publish).
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

impl AsRef<Published> for Published {
    fn as_ref(&self) -> &Published {
        self
    }
}

/// A lane's state as a sync sends it: these events, then `synced`.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncState {
    seq: u64,
    bodies: Vec<EventBody>,
}

impl SyncState {
    /// The plane's [`Plane::seq`] when the state was taken: it holds every change up to it.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The event bodies (one for a value lane; one `@update(key:K)V` per entry for a map lane;
    /// none for a command lane).
    pub fn bodies(&self) -> &[EventBody] {
        &self.bodies
    }

    /// The event bodies, owned.
    pub fn into_bodies(self) -> Vec<EventBody> {
        self.bodies
    }
}

/// Every agent of a server, keyed by node URI, with the route table that makes them.
///
/// An agent starts on the first link, sync or command to its node (as in SwimOS, where a
/// command alone starts an agent; trace `value_sync`) and then lives until
/// [`Plane::stop_agent`]. Agents are keyed by the node URI exactly as the client wrote it, which
/// is also how connections match links when publishing: `/unit/1` and `/unit/%31` are two
/// agents.
///
/// Every call is all or nothing: on an error nothing changed (an agent started by the failing
/// call is dropped again). The plane reads no clock: `now` is passed in and handed to the
/// agents' logic.
///
/// ```
/// use warp_proto::app::{demo::UnitAgent, Plane, PlaneConfig};
/// use warp_proto::recon::Value;
/// use warp_proto::ws::Instant;
///
/// let mut plane = Plane::new(PlaneConfig::default());
/// plane.route("/unit/:id", |_| Some(UnitAgent::agent())).unwrap();
///
/// let now = Instant::ZERO;
/// let published = plane.command("/unit/1", "add", Value::Int(5), now).unwrap();
/// let events: Vec<_> = published
///     .events()
///     .iter()
///     .map(|e| (e.lane.as_str(), e.body.text()))
///     .collect();
/// assert_eq!(events, [("add", "5"), ("count", "5"), ("history", "@update(key:5) 5")]);
///
/// let state = plane.sync("/unit/1", "count").unwrap();
/// assert_eq!(state.bodies()[0].text(), "5");
/// assert!(plane.sync("/nowhere", "count").is_err());
/// ```
pub struct Plane {
    router: Router<RouteTarget>,
    agents: BTreeMap<String, Node>,
    config: PlaneConfig,
    seq: u64,
}

impl fmt::Debug for Plane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plane")
            .field(
                "routes",
                &self
                    .router
                    .iter()
                    .map(|(_, p, _)| p.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("agents", &self.agents)
            .field("config", &self.config)
            .field("seq", &self.seq)
            .finish()
    }
}

impl Plane {
    /// A plane with no routes and no agents.
    pub fn new(config: PlaneConfig) -> Plane {
        Plane {
            router: Router::new(),
            agents: BTreeMap::new(),
            config,
            seq: 0,
        }
    }

    /// The bounds.
    pub fn config(&self) -> &PlaneConfig {
        &self.config
    }

    /// Routes node URIs matching `pattern` (see [`RoutePattern`](super::RoutePattern)) to
    /// agents made by `factory`.
    pub fn route<F>(&mut self, pattern: &str, factory: F) -> Result<RouteId, RouteError>
    where
        F: Fn(&Params) -> Option<Agent> + Send + Sync + 'static,
    {
        self.router
            .add(pattern, RouteTarget::Agent(Box::new(factory)))
    }

    /// Routes node URIs matching `pattern` to [`NodeHandler`]s made by `factory`: nodes whose
    /// lanes the application serves itself. One handler lives per node URI, like an agent.
    pub fn route_handler<F>(&mut self, pattern: &str, factory: F) -> Result<RouteId, RouteError>
    where
        F: Fn(&Params) -> Option<Box<dyn NodeHandler>> + Send + Sync + 'static,
    {
        self.router
            .add(pattern, RouteTarget::Handler(Box::new(factory)))
    }

    /// The route table.
    pub fn router(&self) -> &Router<RouteTarget> {
        &self.router
    }

    /// The sequence number of the last change that produced events (0 before any).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The running agent of `node` (`None` for a node served by a [`NodeHandler`]).
    pub fn agent(&self, node: &str) -> Option<&Agent> {
        match self.agents.get(node) {
            Some(Node::Agent(agent)) => Some(agent),
            _ => None,
        }
    }

    /// The node URIs of the running agents and handlers, in order.
    pub fn nodes(&self) -> impl Iterator<Item = &str> + '_ {
        self.agents.keys().map(String::as_str)
    }

    /// How many nodes (agents and handlers) are running: the count
    /// [`PlaneConfig::max_agents`] bounds.
    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }

    /// Stops the agent of `node` and returns it. Its state is gone; links open on it stay
    /// open on their connections (the driver may end them with `ServerConnection::unlink`), and
    /// the next link or command starts a fresh agent. A node served by a handler is left
    /// running (see [`Plane::stop_node`]).
    pub fn stop_agent(&mut self, node: &str) -> Option<Agent> {
        match self.agents.remove(node) {
            Some(Node::Agent(agent)) => Some(agent),
            Some(handler) => {
                self.agents.insert(String::from(node), handler);
                None
            }
            None => None,
        }
    }

    /// Stops the agent or handler of `node`; returns whether one was running.
    pub fn stop_node(&mut self, node: &str) -> bool {
        self.agents.remove(node).is_some()
    }

    /// Publishes events the application made outside of any command (typically for a node
    /// served by a [`NodeHandler`], whose state the plane does not hold): sequences them like
    /// a change of an agent. Empty `events` publish nothing and take no sequence number.
    ///
    /// ```
    /// use warp_proto::app::{EventBody, LaneEvent, Plane, PlaneConfig};
    /// use warp_proto::recon::Value;
    ///
    /// let mut plane = Plane::new(PlaneConfig::default());
    /// let body = EventBody::new(Value::Int(3)).unwrap();
    /// let published = plane.publish("/sensor/1", vec![LaneEvent { lane: "level".into(), body }]);
    /// assert_eq!((published.node(), published.seq()), ("/sensor/1", 1));
    /// ```
    pub fn publish(&mut self, node: &str, events: Vec<LaneEvent>) -> Published {
        if !events.is_empty() {
            self.seq = self.seq.saturating_add(1);
        }
        Published {
            node: String::from(node),
            seq: self.seq,
            events,
        }
    }

    /// Starts the agent of `node` if it is not running; returns whether it was started now.
    fn start(&mut self, node: &str) -> Result<bool, LinkError> {
        if self.agents.contains_key(node) {
            return Ok(false);
        }
        let found = self.router.find(node).ok_or(LinkError::NodeNotFound)?;
        if self.agents.len() >= self.config.max_agents {
            return Err(LinkError::TooManyAgents {
                max: self.config.max_agents,
            });
        }
        let made = match found.handler {
            RouteTarget::Agent(factory) => factory(&found.params).map(Node::Agent),
            RouteTarget::Handler(factory) => factory(&found.params).map(Node::Handler),
        };
        let made = made.ok_or(LinkError::NodeNotFound)?;
        self.agents.insert(String::from(node), made);
        Ok(true)
    }

    /// Drops the agent of `node` if this call started it (undoing a failed call).
    fn undo_start(&mut self, node: &str, started: bool) {
        if started {
            self.agents.remove(node);
        }
    }

    /// Checks that a link to `node`/`lane` can open, starting the agent if needed; returns the
    /// lane's kind. Call it for a `link` request, then `ServerConnection::accept` (or `reject`
    /// with [`LinkError::rejection`]).
    pub fn open(&mut self, node: &str, lane: &str) -> Result<LaneKind, LinkError> {
        let started = self.start(node)?;
        let result = match self.agents.get_mut(node) {
            Some(Node::Agent(agent)) => agent
                .lane(lane)
                .map(|l| l.kind())
                .ok_or(LinkError::LaneNotFound),
            Some(Node::Handler(handler)) => handler.open(node, lane),
            None => Err(LinkError::NodeNotFound),
        };
        if result.is_err() {
            self.undo_start(node, started);
        }
        result
    }

    /// The state a `sync` of `node`/`lane` sends (starting the agent if needed): send each body
    /// with `ServerConnection::sync_event`, then `ServerConnection::synced`.
    pub fn sync(&mut self, node: &str, lane: &str) -> Result<SyncState, LinkError> {
        let started = self.start(node)?;
        let result = match self.agents.get_mut(node) {
            Some(Node::Agent(agent)) => agent
                .lane(lane)
                .map(|l| l.sync_bodies())
                .ok_or(LinkError::LaneNotFound),
            Some(Node::Handler(handler)) => handler.sync(node, lane),
            None => Err(LinkError::NodeNotFound),
        };
        match result {
            Ok(bodies) => Ok(SyncState {
                seq: self.seq,
                bodies,
            }),
            Err(e) => {
                self.undo_start(node, started);
                Err(e)
            }
        }
    }

    /// Delivers a command to `node`/`lane` (starting the agent if needed) and returns the
    /// events to publish. See [`Agent`] for what each lane kind does with a command.
    pub fn command(
        &mut self,
        node: &str,
        lane: &str,
        body: Value,
        now: Instant,
    ) -> Result<Published, CommandError> {
        let started = self.start(node)?;
        let result = match self.agents.get_mut(node) {
            Some(Node::Agent(agent)) if agent.lane(lane).is_some() => agent
                .command(node, lane, body, now)
                .map_err(CommandError::Lane),
            Some(Node::Handler(handler)) => handler.command(node, lane, body, now),
            _ => Err(CommandError::LaneNotFound),
        };
        self.finish(node, started, result)
    }

    /// [`Plane::command`] with the body as received (`ServerRequest::Command`'s body).
    pub fn command_body(
        &mut self,
        node: &str,
        lane: &str,
        body: Body<'_>,
        now: Instant,
    ) -> Result<Published, CommandError> {
        let value = body.to_value().map_err(CommandError::BadBody)?;
        self.command(node, lane, value, now)
    }

    /// Runs `f` on the lanes of the agent of `node` (starting it if needed) and returns the
    /// events to publish: how the application changes lanes outside of commands (a sensor
    /// reading, a timer the driver keeps). All or nothing: when `f` fails, its changes are
    /// undone.
    ///
    /// ```
    /// use warp_proto::app::{demo::UnitAgent, Plane, PlaneConfig};
    /// use warp_proto::ws::Instant;
    ///
    /// let mut plane = Plane::new(PlaneConfig::default());
    /// plane.route("/unit/:id", |_| Some(UnitAgent::agent())).unwrap();
    /// let published = plane
    ///     .modify("/unit/1", Instant::ZERO, |ctx| ctx.set_value("info", "online"))
    ///     .unwrap();
    /// assert_eq!(published.events()[0].body.text(), "online");
    /// ```
    pub fn modify<F>(&mut self, node: &str, now: Instant, f: F) -> Result<Published, CommandError>
    where
        F: FnOnce(&mut AgentContext<'_>) -> Result<(), LaneError>,
    {
        let started = self.start(node)?;
        let result = match self.agents.get_mut(node) {
            Some(Node::Agent(agent)) => agent.modify(node, now, f).map_err(CommandError::Lane),
            // A handler's state is not in the plane: it publishes with `Plane::publish`.
            Some(Node::Handler(_)) | None => Err(CommandError::NodeNotFound),
        };
        self.finish(node, started, result)
    }

    fn finish(
        &mut self,
        node: &str,
        started: bool,
        result: Result<Vec<LaneEvent>, CommandError>,
    ) -> Result<Published, CommandError> {
        match result {
            Ok(events) => {
                if !events.is_empty() {
                    self.seq = self.seq.saturating_add(1);
                }
                Ok(Published {
                    node: String::from(node),
                    seq: self.seq,
                    events,
                })
            }
            Err(e) => {
                self.undo_start(node, started);
                Err(e)
            }
        }
    }
}
