//! Agents: a set of named lanes plus the application's logic, and the context through which the
//! logic changes lanes.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::body::{EventBody, MapMessage};
use super::lane::{Lane, LaneError, LaneKind, MapChange};
use crate::recon::Value;
use crate::ws::Instant;

/// One event a change produced: publish `body` on lane `lane` (of the agent's node) to every
/// open link.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneEvent {
    /// The lane URI.
    pub lane: String,
    /// The event body.
    pub body: EventBody,
}

/// The application's part of an agent: what it does with commands.
///
/// Value lanes and map lanes apply commands themselves (a value lane is set, a map lane applies
/// the [`MapMessage`]); commands to a command lane are handed to
/// [`on_command`](AgentLogic::on_command).
pub trait AgentLogic: Send {
    /// Handles one command to the command lane `lane`, already checked against the lane's
    /// type (and its echo event already recorded). Change lanes through `ctx`.
    ///
    /// Returning an error rolls back every change `ctx` made for this command and drops their
    /// events (the echo included): the command then had no effect.
    fn on_command(
        &mut self,
        lane: &str,
        value: &Value,
        ctx: &mut AgentContext<'_>,
    ) -> Result<(), LaneError>;
}

/// Logic for an agent whose command lanes (if any) do nothing but echo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoLogic;

impl AgentLogic for NoLogic {
    fn on_command(
        &mut self,
        _: &str,
        _: &Value,
        _: &mut AgentContext<'_>,
    ) -> Result<(), LaneError> {
        Ok(())
    }
}

/// An agent: named lanes and the logic reacting to commands. One instance per node URI lives
/// in a [`Plane`](super::Plane), shared by every connection.
///
/// ```
/// use warp_proto::app::{Agent, CommandLane, MapLane, NoLogic, ValueLane, ValueType};
///
/// let agent = Agent::new(NoLogic)
///     .with_lane("status", ValueLane::text("idle"))
///     .with_lane("readings", MapLane::new(ValueType::Int, ValueType::Float))
///     .with_lane("ping", CommandLane::any());
/// let names: Vec<&str> = agent.lanes().map(|(name, _)| name).collect();
/// assert_eq!(names, ["ping", "readings", "status"]);
/// ```
pub struct Agent {
    lanes: BTreeMap<String, Lane>,
    logic: Box<dyn AgentLogic>,
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agent")
            .field("lanes", &self.lanes)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// An agent with no lanes and `logic`.
    pub fn new(logic: impl AgentLogic + 'static) -> Agent {
        Agent {
            lanes: BTreeMap::new(),
            logic: Box::new(logic),
        }
    }

    /// This agent with the lane `name` (replacing a lane of the same name).
    pub fn with_lane(mut self, name: impl Into<String>, lane: impl Into<Lane>) -> Agent {
        self.lanes.insert(name.into(), lane.into());
        self
    }

    /// The lane `name`.
    pub fn lane(&self, name: &str) -> Option<&Lane> {
        self.lanes.get(name)
    }

    /// Every lane, by name.
    pub fn lanes(&self) -> impl Iterator<Item = (&str, &Lane)> + '_ {
        self.lanes.iter().map(|(n, l)| (n.as_str(), l))
    }

    /// How many lanes.
    pub fn lane_count(&self) -> usize {
        self.lanes.len()
    }

    /// Delivers a command: sets a value lane, applies a map message to a map lane, or echoes
    /// and hands it to the logic for a command lane. All or nothing.
    pub(crate) fn command(
        &mut self,
        node: &str,
        lane: &str,
        value: Value,
        now: Instant,
    ) -> Result<Vec<LaneEvent>, LaneError> {
        let Agent { lanes, logic } = self;
        let mut ctx = AgentContext::new(node, now, lanes);
        let result = match ctx.kind(lane) {
            None => Err(LaneError::NoSuchLane),
            Some(LaneKind::Value) => ctx.set_value(lane, value),
            Some(LaneKind::Map) => match MapMessage::from_value(value) {
                Some(msg) => ctx.apply_map(lane, msg),
                None => Err(LaneError::BadMapMessage),
            },
            Some(LaneKind::Command) => match ctx.echo(lane, value) {
                Ok(value) => logic.on_command(lane, &value, &mut ctx),
                Err(e) => Err(e),
            },
        };
        ctx.finish(result)
    }

    /// Runs `f` on a context over this agent's lanes. All or nothing.
    pub(crate) fn modify<F>(
        &mut self,
        node: &str,
        now: Instant,
        f: F,
    ) -> Result<Vec<LaneEvent>, LaneError>
    where
        F: FnOnce(&mut AgentContext<'_>) -> Result<(), LaneError>,
    {
        let mut ctx = AgentContext::new(node, now, &mut self.lanes);
        let result = f(&mut ctx);
        ctx.finish(result)
    }
}

/// The error for an operation needing a lane of kind `expected` on `lane`.
fn wrong_kind(lane: &Lane, expected: LaneKind) -> LaneError {
    LaneError::WrongKind {
        expected,
        found: lane.kind(),
    }
}

/// How to undo one change.
enum Undo {
    Value { lane: String, old: Value },
    Map { lane: String, change: MapChange },
}

/// The agent's lanes during one command (or one [`Plane::modify`](super::Plane::modify)): read
/// them, change them, and every change records the event to publish.
///
/// Changes are all or nothing per command: when the logic returns an error, every change made
/// through the context is undone and no event is published.
pub struct AgentContext<'a> {
    node: &'a str,
    now: Instant,
    lanes: &'a mut BTreeMap<String, Lane>,
    events: Vec<LaneEvent>,
    undo: Vec<Undo>,
}

impl fmt::Debug for AgentContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentContext")
            .field("node", &self.node)
            .field("now", &self.now)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl<'a> AgentContext<'a> {
    fn new(node: &'a str, now: Instant, lanes: &'a mut BTreeMap<String, Lane>) -> Self {
        AgentContext {
            node,
            now,
            lanes,
            events: Vec::new(),
            undo: Vec::new(),
        }
    }

    /// The node URI of the agent.
    pub fn node(&self) -> &str {
        self.node
    }

    /// The time the driver passed in.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The events recorded so far, in order.
    pub fn events(&self) -> &[LaneEvent] {
        &self.events
    }

    fn kind(&self, lane: &str) -> Option<LaneKind> {
        self.lanes.get(lane).map(Lane::kind)
    }

    fn lane_mut(&mut self, lane: &str) -> Result<&mut Lane, LaneError> {
        self.lanes.get_mut(lane).ok_or(LaneError::NoSuchLane)
    }

    fn record(&mut self, lane: &str, body: EventBody) {
        self.events.push(LaneEvent {
            lane: String::from(lane),
            body,
        });
    }

    /// The value of the value lane `lane`.
    pub fn value(&self, lane: &str) -> Option<&Value> {
        self.lanes.get(lane)?.as_value().map(|l| l.get())
    }

    /// The value of `key` in the map lane `lane`.
    pub fn map_get(&self, lane: &str, key: &Value) -> Option<&Value> {
        self.lanes.get(lane)?.as_map()?.get(key)
    }

    /// The number of entries of the map lane `lane`.
    pub fn map_len(&self, lane: &str) -> Option<usize> {
        self.lanes.get(lane)?.as_map().map(|m| m.len())
    }

    /// Sets the value lane `lane` to `value`: one event with the new value (also when it equals
    /// the old one, as SwimOS).
    pub fn set_value(&mut self, lane: &str, value: impl Into<Value>) -> Result<(), LaneError> {
        let (old, body) = match self.lane_mut(lane)? {
            Lane::Value(l) => l.set(value.into())?,
            other => return Err(wrong_kind(other, LaneKind::Value)),
        };
        self.undo.push(Undo::Value {
            lane: String::from(lane),
            old,
        });
        self.record(lane, body);
        Ok(())
    }

    /// Sets `key` to `value` in the map lane `lane`: one `@update(key:K)V` event. Fails with
    /// [`LaneError::MapFull`] when the key is new and the lane is at its bound.
    pub fn map_update(
        &mut self,
        lane: &str,
        key: impl Into<Value>,
        value: impl Into<Value>,
    ) -> Result<(), LaneError> {
        self.apply_map(lane, MapMessage::update(key, value))
    }

    /// Removes `key` from the map lane `lane` and returns its value: one `@remove(key:K)`
    /// event, or none when the key was not there.
    pub fn map_remove(
        &mut self,
        lane: &str,
        key: impl Into<Value>,
    ) -> Result<Option<Value>, LaneError> {
        let before = self.undo.len();
        self.apply_map(lane, MapMessage::remove(key))?;
        Ok(match self.undo.get(before) {
            Some(Undo::Map {
                change: MapChange::Removed { old, .. },
                ..
            }) => Some(old.clone()),
            _ => None,
        })
    }

    /// Removes every entry of the map lane `lane`: one `@clear` event.
    pub fn map_clear(&mut self, lane: &str) -> Result<(), LaneError> {
        self.apply_map(lane, MapMessage::Clear)
    }

    /// Applies a map message to the map lane `lane`.
    pub fn apply_map(&mut self, lane: &str, msg: MapMessage) -> Result<(), LaneError> {
        let changes = match self.lane_mut(lane)? {
            Lane::Map(l) => l.apply(msg)?,
            other => return Err(wrong_kind(other, LaneKind::Map)),
        };
        for (change, body) in changes {
            self.undo.push(Undo::Map {
                lane: String::from(lane),
                change,
            });
            self.record(lane, body);
        }
        Ok(())
    }

    /// Checks a command for the command lane `lane` and records its echo.
    fn echo(&mut self, lane: &str, value: Value) -> Result<Value, LaneError> {
        let (value, body) = match self.lane_mut(lane)? {
            Lane::Command(l) => l.accept(value)?,
            other => return Err(wrong_kind(other, LaneKind::Command)),
        };
        self.record(lane, body);
        Ok(value)
    }

    /// Keeps the changes and returns their events, or undoes them all on `Err`.
    fn finish(mut self, result: Result<(), LaneError>) -> Result<Vec<LaneEvent>, LaneError> {
        match result {
            Ok(()) => Ok(self.events),
            Err(e) => {
                while let Some(undo) = self.undo.pop() {
                    match undo {
                        Undo::Value { lane, old } => {
                            if let Some(Lane::Value(l)) = self.lanes.get_mut(&lane) {
                                l.restore(old);
                            }
                        }
                        Undo::Map { lane, change } => {
                            if let Some(Lane::Map(l)) = self.lanes.get_mut(&lane) {
                                l.revert(change);
                            }
                        }
                    }
                }
                Err(e)
            }
        }
    }
}
