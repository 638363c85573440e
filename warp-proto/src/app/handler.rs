//! [`NodeHandler`]: a node whose lanes the application serves itself, next to agents in the
//! [`Plane`](super::Plane).

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::agent::LaneEvent;
use super::body::EventBody;
use super::lane::LaneKind;
use super::plane::{CommandError, LinkError};
use super::route::Params;
use crate::recon::Value;
use crate::ws::Instant;

/// A node whose lanes the application serves itself: state kept elsewhere (a database, a
/// device), lanes computed on demand. The low-level alternative to an
/// [`Agent`](super::Agent) with ready-made lanes.
///
/// A plane routes node URIs to handlers with
/// [`Plane::route_handler`](super::Plane::route_handler); one handler instance lives per node
/// URI, like an agent, and is served through the same [`Uplinks`](super::Uplinks) (sequence
/// floors, one FIFO per connection, backpressure), so its links behave exactly like an agent's.
/// Changes the application makes outside of commands are published with
/// [`Plane::publish`](super::Plane::publish).
///
/// ```
/// use warp_proto::app::{
///     CommandError, EventBody, LaneEvent, LaneKind, LinkError, NodeHandler, Plane, PlaneConfig,
/// };
/// use warp_proto::recon::Value;
/// use warp_proto::ws::Instant;
///
/// /// `square` reports the square of the last integer commanded to `input`.
/// #[derive(Default)]
/// struct Squares(i64);
///
/// impl NodeHandler for Squares {
///     fn open(&mut self, _: &str, lane: &str) -> Result<LaneKind, LinkError> {
///         match lane {
///             "square" => Ok(LaneKind::Value),
///             "input" => Ok(LaneKind::Command),
///             _ => Err(LinkError::LaneNotFound),
///         }
///     }
///     fn sync(&mut self, node: &str, lane: &str) -> Result<Vec<EventBody>, LinkError> {
///         match self.open(node, lane)? {
///             LaneKind::Value => Ok(vec![EventBody::new(Value::Int(self.0 * self.0)).unwrap()]),
///             _ => Ok(Vec::new()),
///         }
///     }
///     fn command(
///         &mut self,
///         _: &str,
///         lane: &str,
///         body: Value,
///         _: Instant,
///     ) -> Result<Vec<LaneEvent>, CommandError> {
///         let (Some(n), "input") = (body.as_i64(), lane) else {
///             return Err(CommandError::LaneNotFound);
///         };
///         self.0 = n;
///         let body = EventBody::new(Value::Int(n.saturating_mul(n)))
///             .map_err(CommandError::BadBody)?;
///         Ok(vec![LaneEvent { lane: "square".into(), body }])
///     }
/// }
///
/// let mut plane = Plane::new(PlaneConfig::default());
/// plane
///     .route_handler("/calc/:id", |_| Some(Box::new(Squares::default())))
///     .unwrap();
/// let published = plane.command("/calc/1", "input", Value::Int(7), Instant::ZERO).unwrap();
/// assert_eq!(published.events()[0].body.text(), "49");
/// assert_eq!(plane.sync("/calc/1", "square").unwrap().bodies()[0].text(), "49");
/// ```
pub trait NodeHandler: Send {
    /// Whether `lane` of `node` exists, and its kind; [`LinkError::LaneNotFound`] refuses the
    /// link with `@laneNotFound`.
    fn open(&mut self, node: &str, lane: &str) -> Result<LaneKind, LinkError>;

    /// The state a sync of `node`/`lane` sends: these event bodies, then `synced`.
    fn sync(&mut self, node: &str, lane: &str) -> Result<Vec<EventBody>, LinkError>;

    /// A command to `node`/`lane`; returns the events to publish on this node's links (none:
    /// nothing changed). An error means the command had no effect.
    fn command(
        &mut self,
        node: &str,
        lane: &str,
        body: Value,
        now: Instant,
    ) -> Result<Vec<LaneEvent>, CommandError>;
}

/// Makes the handler of a node from the parameters its URI binds in the route's pattern;
/// `None` when there is no such node (links are refused with `@nodeNotFound`).
pub type HandlerFactory = Box<dyn Fn(&Params) -> Option<Box<dyn NodeHandler>> + Send + Sync>;
