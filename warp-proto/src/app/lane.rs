//! Lanes: the named endpoints of an agent. A [`ValueLane`] holds one value, a [`MapLane`] keyed
//! entries, a [`CommandLane`] nothing (it hands commands to the agent's logic).
//!
//! Lanes are changed only through an [`AgentContext`](super::AgentContext) or a command, so that
//! every change yields the event bodies to publish. The bodies are those SwimOS sends (WARP.md
//! §3.1 and the traces `value_sync`, `map_sync`):
//! - a value lane's event is its new value; a sync replays the current value as one event
//!   (also before any set: the initial value, `""` for a text lane, `0` for an integer lane);
//! - a map lane's events are `@update(key:K)V` and `@remove(key:K)` (and `@clear`); a sync
//!   replays `@update(key:K)V` for every entry;
//! - a command lane's event echoes each command it accepts ("commands received are broadcast to
//!   any linked peers", SwimOS documentation); a sync replays nothing.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use super::body::{EventBody, MapMessage};
use super::key::Key;
use crate::recon::Value;

/// The type a lane accepts, as SwimOS's typed lanes do: a command or a set whose value does not
/// fit is refused (SwimOS drops such a command without any reply; trace `event_downlink`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueType {
    /// Any value.
    Any,
    /// Text (an identifier or a string). Numbers and booleans are not text.
    Text,
    /// An integer that fits `i64`.
    Int,
    /// A number, stored as a float (integers are converted, as SwimOS's `f64` form does).
    Float,
    /// `true` or `false`.
    Bool,
    /// A byte string.
    Data,
}

impl ValueType {
    /// `value` as this type, or [`LaneError::TypeMismatch`].
    ///
    /// ```
    /// use warp_proto::app::ValueType;
    /// use warp_proto::recon::Value;
    ///
    /// assert_eq!(ValueType::Float.accept(Value::Int(2)), Ok(Value::Float(2.0)));
    /// assert!(ValueType::Text.accept(Value::Int(2)).is_err());
    /// ```
    pub fn accept(self, value: Value) -> Result<Value, LaneError> {
        let ok = match (self, &value) {
            (ValueType::Any, _)
            | (ValueType::Text, Value::Text(_))
            | (ValueType::Int, Value::Int(_))
            | (ValueType::Bool, Value::Bool(_))
            | (ValueType::Data, Value::Data(_))
            | (ValueType::Float, Value::Float(_)) => true,
            (ValueType::Float, Value::Int(_) | Value::UInt(_) | Value::BigInt(_)) => {
                return match value.as_f64() {
                    Some(f) if f.is_finite() => Ok(Value::Float(f)),
                    _ => Err(LaneError::TypeMismatch { expected: self }),
                };
            }
            _ => false,
        };
        if ok {
            Ok(value)
        } else {
            Err(LaneError::TypeMismatch { expected: self })
        }
    }
}

/// The kind of a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LaneKind {
    /// A [`ValueLane`].
    Value,
    /// A [`MapLane`].
    Map,
    /// A [`CommandLane`].
    Command,
}

/// Why a lane operation was refused. Nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LaneError {
    /// The agent has no lane of that name.
    NoSuchLane,
    /// The lane is of another kind than the operation needs.
    WrongKind {
        /// The kind the operation needs.
        expected: LaneKind,
        /// The lane's kind.
        found: LaneKind,
    },
    /// The value does not fit the lane's type.
    TypeMismatch {
        /// The type the lane accepts.
        expected: ValueType,
    },
    /// A map lane holds its maximum number of entries; a new key cannot be added.
    MapFull {
        /// The bound ([`MapLane::max_entries`]).
        max: usize,
    },
    /// A command to a map lane is not a map message ([`MapMessage::from_value`]).
    BadMapMessage,
    /// The value holds a NaN or infinite float, which has no Recon text to publish.
    Unprintable,
    /// The agent's logic refused the operation, for this reason.
    Refused(&'static str),
}

impl fmt::Display for LaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaneError::NoSuchLane => f.write_str("no such lane"),
            LaneError::WrongKind { expected, found } => {
                write!(f, "lane is a {found:?} lane, not a {expected:?} lane")
            }
            LaneError::TypeMismatch { expected } => {
                write!(f, "value does not fit the lane type {expected:?}")
            }
            LaneError::MapFull { max } => write!(f, "map lane full ({max} entries)"),
            LaneError::BadMapMessage => f.write_str("not a map message"),
            LaneError::Unprintable => f.write_str("value has no Recon text (NaN or infinity)"),
            LaneError::Refused(why) => write!(f, "refused: {why}"),
        }
    }
}

impl core::error::Error for LaneError {}

/// An event body of `value`, or [`LaneError::Unprintable`] (writing into a `String` fails only
/// on a NaN or infinite float).
pub(crate) fn event(value: Value) -> Result<EventBody, LaneError> {
    EventBody::new(value).map_err(|_| LaneError::Unprintable)
}

/// A lane holding one value.
///
/// ```
/// use warp_proto::app::{ValueLane, ValueType};
/// use warp_proto::recon::Value;
///
/// let lane = ValueLane::text("");
/// assert_eq!(lane.get(), &Value::text(""));
/// assert_eq!(lane.sync_bodies()[0].text(), "\"\"");
/// assert!(ValueLane::new(ValueType::Int, Value::text("x")).is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ValueLane {
    ty: ValueType,
    value: Value,
}

impl ValueLane {
    /// A lane of type `ty` holding `initial`. Fails when `initial` does not fit `ty` or holds a
    /// NaN or infinite float.
    pub fn new(ty: ValueType, initial: Value) -> Result<ValueLane, LaneError> {
        let value = ty.accept(initial)?;
        event(value.clone())?;
        Ok(ValueLane { ty, value })
    }

    /// A text lane holding `initial`.
    pub fn text(initial: &str) -> ValueLane {
        ValueLane {
            ty: ValueType::Text,
            value: Value::text(initial),
        }
    }

    /// An integer lane holding `initial`.
    pub fn int(initial: i64) -> ValueLane {
        ValueLane {
            ty: ValueType::Int,
            value: Value::Int(initial),
        }
    }

    /// A boolean lane holding `initial`.
    pub fn bool(initial: bool) -> ValueLane {
        ValueLane {
            ty: ValueType::Bool,
            value: Value::Bool(initial),
        }
    }

    /// A lane of any value, holding Absent (its sync sends one event with no body).
    pub fn any() -> ValueLane {
        ValueLane {
            ty: ValueType::Any,
            value: Value::Absent,
        }
    }

    /// The current value.
    pub fn get(&self) -> &Value {
        &self.value
    }

    /// The type the lane accepts.
    pub fn value_type(&self) -> ValueType {
        self.ty
    }

    /// What a sync sends: one event with the current value.
    pub fn sync_bodies(&self) -> Vec<EventBody> {
        // The value was checked to have a text when it was stored.
        event(self.value.clone()).into_iter().collect()
    }

    /// Sets the value; returns the old one and the event. All or nothing.
    pub(crate) fn set(&mut self, value: Value) -> Result<(Value, EventBody), LaneError> {
        let value = self.ty.accept(value)?;
        let body = event(value.clone())?;
        Ok((core::mem::replace(&mut self.value, value), body))
    }

    /// Puts back an old value (rollback).
    pub(crate) fn restore(&mut self, value: Value) {
        self.value = value;
    }
}

/// A lane of keyed entries, kept in key order (numbers by magnitude, texts byte-wise; see
/// [`MapLane::iter`]), bounded by [`MapLane::max_entries`].
///
/// ```
/// use warp_proto::app::{MapLane, ValueType};
///
/// let lane = MapLane::new(ValueType::Int, ValueType::Int).with_max_entries(100);
/// assert!(lane.is_empty());
/// assert_eq!(lane.max_entries(), 100);
/// assert!(lane.sync_bodies().is_empty());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MapLane {
    key_ty: ValueType,
    value_ty: ValueType,
    entries: BTreeMap<Key, Value>,
    max_entries: usize,
}

/// What a map lane change did, for the events and the rollback.
pub(crate) enum MapChange {
    /// `key` was set; it held `old` before.
    Updated { key: Value, old: Option<Value> },
    /// `key` was removed; it held `old`.
    Removed { key: Value, old: Value },
    /// Every entry was removed; these were they.
    Cleared { old: BTreeMap<Key, Value> },
}

impl MapLane {
    /// The default bound on entries: 65 536.
    pub const DEFAULT_MAX_ENTRIES: usize = 1 << 16;

    /// An empty lane with keys of type `key` and values of type `value`, bounded by
    /// [`MapLane::DEFAULT_MAX_ENTRIES`].
    pub fn new(key: ValueType, value: ValueType) -> MapLane {
        MapLane {
            key_ty: key,
            value_ty: value,
            entries: BTreeMap::new(),
            max_entries: Self::DEFAULT_MAX_ENTRIES,
        }
    }

    /// This lane with at most `max` entries.
    pub fn with_max_entries(mut self, max: usize) -> MapLane {
        self.max_entries = max;
        self
    }

    /// The bound on entries.
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// The key type.
    pub fn key_type(&self) -> ValueType {
        self.key_ty
    }

    /// The value type.
    pub fn value_type(&self) -> ValueType {
        self.value_ty
    }

    /// The value of `key`.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.entries.get(&Key(key.clone()))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the lane has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in key order: values of different kinds as Absent < Extant < Bool <
    /// numbers < Text < Data < Record; numbers by magnitude (an integer before an equal float);
    /// texts and data byte-wise; records item by item.
    pub fn iter(&self) -> impl Iterator<Item = (&Value, &Value)> + '_ {
        self.entries.iter().map(|(k, v)| (&k.0, v))
    }

    /// What a sync sends: `@update(key:K)V` for every entry, in key order.
    pub fn sync_bodies(&self) -> Vec<EventBody> {
        // Every entry was checked to have a text when it was stored.
        self.entries
            .iter()
            .filter_map(|(k, v)| event(MapMessage::update(k.0.clone(), v.clone()).to_value()).ok())
            .collect()
    }

    /// Applies `msg`; returns the changes and their events (none for the removal of a key that
    /// is not there, as SwimOS). All or nothing.
    pub(crate) fn apply(
        &mut self,
        msg: MapMessage,
    ) -> Result<Vec<(MapChange, EventBody)>, LaneError> {
        match msg {
            MapMessage::Update { key, value } => {
                let key = self.key_ty.accept(key)?;
                let value = self.value_ty.accept(value)?;
                let k = Key(key);
                if !self.entries.contains_key(&k) && self.entries.len() >= self.max_entries {
                    return Err(LaneError::MapFull {
                        max: self.max_entries,
                    });
                }
                let body = event(MapMessage::update(k.0.clone(), value.clone()).to_value())?;
                let key = k.0.clone();
                let old = self.entries.insert(k, value);
                Ok(alloc::vec![(MapChange::Updated { key, old }, body)])
            }
            MapMessage::Remove { key } => {
                let key = self.key_ty.accept(key)?;
                let k = Key(key);
                if !self.entries.contains_key(&k) {
                    return Ok(Vec::new());
                }
                let body = event(MapMessage::remove(k.0.clone()).to_value())?;
                match self.entries.remove_entry(&k) {
                    Some((k, old)) => Ok(alloc::vec![(MapChange::Removed { key: k.0, old }, body)]),
                    None => Ok(Vec::new()),
                }
            }
            MapMessage::Clear => {
                let body = event(MapMessage::Clear.to_value())?;
                let old = core::mem::take(&mut self.entries);
                Ok(alloc::vec![(MapChange::Cleared { old }, body)])
            }
            MapMessage::Take(n) => {
                let keep = usize::try_from(n).unwrap_or(usize::MAX);
                let doomed: Vec<Key> = self.entries.keys().skip(keep).cloned().collect();
                self.remove_keys(doomed)
            }
            MapMessage::Drop(n) => {
                let count = usize::try_from(n).unwrap_or(usize::MAX);
                let doomed: Vec<Key> = self.entries.keys().take(count).cloned().collect();
                self.remove_keys(doomed)
            }
        }
    }

    /// Removes `keys` (all present), one `@remove` event each. All or nothing.
    fn remove_keys(&mut self, keys: Vec<Key>) -> Result<Vec<(MapChange, EventBody)>, LaneError> {
        let mut bodies = Vec::with_capacity(keys.len());
        for k in &keys {
            bodies.push(event(MapMessage::remove(k.0.clone()).to_value())?);
        }
        let mut out = Vec::with_capacity(keys.len());
        for (k, body) in keys.into_iter().zip(bodies) {
            if let Some((k, old)) = self.entries.remove_entry(&k) {
                out.push((MapChange::Removed { key: k.0, old }, body));
            }
        }
        Ok(out)
    }

    /// Reverts one change (rollback), without bound checks: it restores an earlier state.
    pub(crate) fn revert(&mut self, change: MapChange) {
        match change {
            MapChange::Updated {
                key,
                old: Some(old),
            } => {
                self.entries.insert(Key(key), old);
            }
            MapChange::Updated { key, old: None } => {
                self.entries.remove(&Key(key));
            }
            MapChange::Removed { key, old } => {
                self.entries.insert(Key(key), old);
            }
            MapChange::Cleared { old } => self.entries = old,
        }
    }
}

/// A lane with no state: each command it accepts goes to the agent's
/// [`AgentLogic::on_command`](super::AgentLogic::on_command) and is echoed as an event.
///
/// ```
/// use warp_proto::app::{CommandLane, ValueType};
///
/// assert_eq!(CommandLane::new(ValueType::Int).value_type(), ValueType::Int);
/// assert!(CommandLane::any().sync_bodies().is_empty());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandLane {
    ty: ValueType,
}

impl CommandLane {
    /// A lane accepting commands of type `ty`.
    pub const fn new(ty: ValueType) -> CommandLane {
        CommandLane { ty }
    }

    /// A lane accepting any command.
    pub const fn any() -> CommandLane {
        CommandLane::new(ValueType::Any)
    }

    /// The type the lane accepts.
    pub fn value_type(&self) -> ValueType {
        self.ty
    }

    /// What a sync sends: nothing (only `synced`).
    pub fn sync_bodies(&self) -> Vec<EventBody> {
        Vec::new()
    }

    /// Checks a command; returns the accepted value and its echo event.
    pub(crate) fn accept(&self, value: Value) -> Result<(Value, EventBody), LaneError> {
        let value = self.ty.accept(value)?;
        let body = event(value.clone())?;
        Ok((value, body))
    }
}

/// One lane of an agent.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Lane {
    /// A value lane.
    Value(ValueLane),
    /// A map lane.
    Map(MapLane),
    /// A command lane.
    Command(CommandLane),
}

impl Lane {
    /// The lane's kind.
    pub fn kind(&self) -> LaneKind {
        match self {
            Lane::Value(_) => LaneKind::Value,
            Lane::Map(_) => LaneKind::Map,
            Lane::Command(_) => LaneKind::Command,
        }
    }

    /// What a sync sends before `synced`.
    pub fn sync_bodies(&self) -> Vec<EventBody> {
        match self {
            Lane::Value(l) => l.sync_bodies(),
            Lane::Map(l) => l.sync_bodies(),
            Lane::Command(l) => l.sync_bodies(),
        }
    }

    /// The value lane, if this is one.
    pub fn as_value(&self) -> Option<&ValueLane> {
        match self {
            Lane::Value(l) => Some(l),
            _ => None,
        }
    }

    /// The map lane, if this is one.
    pub fn as_map(&self) -> Option<&MapLane> {
        match self {
            Lane::Map(l) => Some(l),
            _ => None,
        }
    }

    /// The command lane, if this is one.
    pub fn as_command(&self) -> Option<&CommandLane> {
        match self {
            Lane::Command(l) => Some(l),
            _ => None,
        }
    }
}

impl From<ValueLane> for Lane {
    fn from(l: ValueLane) -> Lane {
        Lane::Value(l)
    }
}

impl From<MapLane> for Lane {
    fn from(l: MapLane) -> Lane {
        Lane::Map(l)
    }
}

impl From<CommandLane> for Lane {
    fn from(l: CommandLane) -> Lane {
        Lane::Command(l)
    }
}
