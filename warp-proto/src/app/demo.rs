//! The demo agent: the one the SwimOS peer server of the interop tests hosts on `/unit/:id`, so
//! one scenario runs against both servers (and the recorded traces replay against it).
//!
//! Lanes:
//! - `info`: value lane of text, initially `""`;
//! - `count`: value lane of integer, initially `0`;
//! - `history`: map lane integer → integer;
//! - `set_info`: command lane of text; sets `info`;
//! - `add`: command lane of integer; adds it to `count` and records the new total as a key of
//!   `history` with the added amount as its value (`add 5`, `add 3` → `count` 8,
//!   `history` {5:5, 8:3});
//! - `remove`: command lane of integer; removes that key from `history`.
//!
//! A command whose body does not fit the lane's type (a record to `set_info`) is dropped, as
//! SwimOS does (trace `event_downlink`); so is an `add` that would overflow `count`.

use super::agent::{Agent, AgentContext, AgentLogic};
use super::lane::{CommandLane, LaneError, MapLane, ValueLane, ValueType};
use super::plane::Plane;
use super::route::RouteError;
use super::router::RouteId;
use crate::recon::Value;

/// The demo agent's logic. See the [module docs](self).
///
/// ```
/// use warp_proto::app::{demo::UnitAgent, Plane, PlaneConfig};
/// use warp_proto::recon::Value;
/// use warp_proto::ws::Instant;
///
/// let mut plane = Plane::new(PlaneConfig::default());
/// UnitAgent::route(&mut plane).unwrap();
/// for n in [5, 3] {
///     plane.command("/unit/1", "add", Value::Int(n), Instant::ZERO).unwrap();
/// }
/// let agent = plane.agent("/unit/1").unwrap();
/// assert_eq!(agent.lane("count").unwrap().as_value().unwrap().get(), &Value::Int(8));
/// assert_eq!(agent.lane("history").unwrap().as_map().unwrap().len(), 2);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnitAgent;

impl UnitAgent {
    /// The node URI pattern the demo agent is hosted on.
    pub const PATTERN: &'static str = "/unit/:id";

    /// A fresh demo agent.
    pub fn agent() -> Agent {
        Agent::new(UnitAgent)
            .with_lane("info", ValueLane::text(""))
            .with_lane("count", ValueLane::int(0))
            .with_lane("history", MapLane::new(ValueType::Int, ValueType::Int))
            .with_lane("set_info", CommandLane::new(ValueType::Text))
            .with_lane("add", CommandLane::new(ValueType::Int))
            .with_lane("remove", CommandLane::new(ValueType::Int))
    }

    /// Routes [`UnitAgent::PATTERN`] to demo agents on `plane`.
    pub fn route(plane: &mut Plane) -> Result<RouteId, RouteError> {
        plane.route(Self::PATTERN, |_| Some(UnitAgent::agent()))
    }
}

impl AgentLogic for UnitAgent {
    fn on_command(
        &mut self,
        lane: &str,
        value: &Value,
        ctx: &mut AgentContext<'_>,
    ) -> Result<(), LaneError> {
        let int = || {
            value.as_i64().ok_or(LaneError::TypeMismatch {
                expected: ValueType::Int,
            })
        };
        match lane {
            "set_info" => ctx.set_value("info", value.clone()),
            "add" => {
                let n = int()?;
                let count = ctx.value("count").and_then(Value::as_i64).unwrap_or(0);
                let total = count
                    .checked_add(n)
                    .ok_or(LaneError::Refused("count would overflow"))?;
                ctx.set_value("count", total)?;
                ctx.map_update("history", total, n)
            }
            "remove" => ctx.map_remove("history", int()?).map(|_| ()),
            _ => Ok(()),
        }
    }
}
