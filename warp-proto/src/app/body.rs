//! Event and command bodies: the Recon text a driver hands to
//! [`ServerConnection`](crate::connection::ServerConnection), and the map lane messages
//! `@update(key:K)V`, `@remove(key:K)`, `@clear`, `@take(n)`, `@drop(n)`.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::envelope::Body;
use crate::recon::{Error, Item, Value};

/// The envelope body text of `value`: what follows the header when
/// [`Envelope::encode_with_value`](crate::envelope::Envelope::encode_with_value) writes it,
/// fit for [`Body::from_raw`] (the encoder adds the separating space itself).
///
/// Absent, Extant and the empty record have no text; a record with exactly one plain item
/// gets one more pair of braces, since `{1}` as a body reads back as `1`. Fails only on a NaN
/// or infinite float.
///
/// ```
/// use warp_proto::app::body_text;
/// use warp_proto::recon::Value;
///
/// assert_eq!(body_text(&Value::Int(5)).unwrap(), "5");
/// assert_eq!(body_text(&Value::text("")).unwrap(), "\"\"");
/// assert_eq!(body_text(&Value::parse("@update(key:6) 3").unwrap()).unwrap(), "@update(key:6) 3");
/// assert_eq!(body_text(&Value::Absent).unwrap(), "");
/// ```
pub fn body_text(value: &Value) -> Result<String, Error> {
    match value {
        Value::Absent | Value::Extant => Ok(String::new()),
        Value::Record(items) if items.is_empty() => Ok(String::new()),
        Value::Record(items) if matches!(items.as_slice(), [Item::Value(_)]) => {
            let inner = value.to_recon_string()?;
            let mut s = String::with_capacity(inner.len().saturating_add(2));
            s.push('{');
            s.push_str(&inner);
            s.push('}');
            Ok(s)
        }
        _ => value.to_recon_string(),
    }
}

/// One event body: the value and its Recon text (see [`body_text`]), computed once so that the
/// same event can be written on many connections.
#[derive(Clone, Debug, PartialEq)]
pub struct EventBody {
    value: Value,
    text: String,
}

impl EventBody {
    /// The body of `value`. Fails only when `value` holds a NaN or infinite float, which has no
    /// Recon text.
    pub fn new(value: Value) -> Result<EventBody, Error> {
        let text = body_text(&value)?;
        Ok(EventBody { value, text })
    }

    /// The value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The Recon text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The body, ready for `ServerConnection::event`, `sync_event` or `publish`.
    pub fn as_body(&self) -> Body<'_> {
        Body::from_raw(&self.text)
    }

    /// The value, dropping the text.
    pub fn into_value(self) -> Value {
        self.value
    }
}

/// Appends `value` to a record's items the way an envelope body holds it after an attribute:
/// a record's items are spliced in (except a record of one plain item, which stays nested so
/// that it reads back as a record), nothing for Absent and Extant, else one plain item.
pub(crate) fn splice_into(items: &mut Vec<Item>, value: Value) {
    match value {
        Value::Absent | Value::Extant => {}
        Value::Record(inner) if matches!(inner.as_slice(), [Item::Value(_)]) => {
            items.push(Item::Value(Value::Record(inner)));
        }
        Value::Record(inner) => items.extend(inner),
        other => items.push(Item::Value(other)),
    }
}

/// The value of the items after an attribute, by the envelope body rule: none is Absent, one
/// plain item is that item, anything else a record of the items.
pub(crate) fn body_of(mut items: Vec<Item>) -> Value {
    match items.as_slice() {
        [] => Value::Absent,
        [Item::Value(_)] => match items.pop() {
            Some(Item::Value(v)) => v,
            _ => Value::Absent,
        },
        _ => Value::Record(items),
    }
}

/// A map lane message, as a command body (client to lane) or an event body (lane to client).
///
/// The shapes are those of SwimOS (`MapMessage` in `swimos_agent_protocol`, and the recorded
/// trace `map_sync`): `@update(key:K)V` with the value spliced after the attribute,
/// `@remove(key:K)`, `@clear`, `@take(n)` (keep the first `n` entries) and `@drop(n)` (remove
/// the first `n` entries).
///
/// ```
/// use warp_proto::app::MapMessage;
/// use warp_proto::recon::Value;
///
/// let msg = MapMessage::update(6, 3);
/// assert_eq!(msg.to_value().to_recon_string().unwrap(), "@update(key:6) 3");
/// let parsed = MapMessage::from_value(Value::parse("@remove(key:1)").unwrap()).unwrap();
/// assert_eq!(parsed, MapMessage::Remove { key: Value::Int(1) });
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum MapMessage {
    /// Set the entry `key` to `value`.
    Update {
        /// The key.
        key: Value,
        /// The new value.
        value: Value,
    },
    /// Remove the entry `key`.
    Remove {
        /// The key.
        key: Value,
    },
    /// Remove every entry.
    Clear,
    /// Keep the first `n` entries (in key order), removing the others.
    Take(u64),
    /// Remove the first `n` entries (in key order).
    Drop(u64),
}

impl MapMessage {
    /// `@update(key:K)V`.
    pub fn update(key: impl Into<Value>, value: impl Into<Value>) -> MapMessage {
        MapMessage::Update {
            key: key.into(),
            value: value.into(),
        }
    }

    /// `@remove(key:K)`.
    pub fn remove(key: impl Into<Value>) -> MapMessage {
        MapMessage::Remove { key: key.into() }
    }

    /// Reads a map message from a body value; `None` when it is not one.
    ///
    /// The first item must be the attribute `update`, `remove`, `clear`, `take` or `drop`.
    /// `update` and `remove` need a `key` slot in the attribute (other slots are ignored);
    /// `take` and `drop` a non-negative integer. Items after `@update(…)` are the value, by the
    /// envelope body rule (none is Absent, one plain item is that item).
    pub fn from_value(body: Value) -> Option<MapMessage> {
        let Value::Record(mut items) = body else {
            return None;
        };
        if !matches!(items.first(), Some(Item::Attr(..))) {
            return None;
        }
        let rest = items.split_off(1);
        let Some(Item::Attr(name, args)) = items.pop() else {
            return None;
        };
        let key = |args: &Value| args.get("key").cloned();
        match name.as_str() {
            "update" => Some(MapMessage::Update {
                key: key(&args)?,
                value: body_of(rest),
            }),
            "remove" if rest.is_empty() => Some(MapMessage::Remove { key: key(&args)? }),
            "clear" if rest.is_empty() => Some(MapMessage::Clear),
            "take" if rest.is_empty() => Some(MapMessage::Take(args.as_u64()?)),
            "drop" if rest.is_empty() => Some(MapMessage::Drop(args.as_u64()?)),
            _ => None,
        }
    }

    /// The body value of this message.
    pub fn to_value(&self) -> Value {
        let key_arg = |key: &Value| Value::Record(vec![Item::slot("key", key.clone())]);
        match self {
            MapMessage::Update { key, value } => {
                let mut items = vec![Item::Attr(String::from("update"), key_arg(key))];
                splice_into(&mut items, value.clone());
                Value::Record(items)
            }
            MapMessage::Remove { key } => {
                Value::Record(vec![Item::Attr(String::from("remove"), key_arg(key))])
            }
            MapMessage::Clear => {
                Value::Record(vec![Item::Attr(String::from("clear"), Value::Extant)])
            }
            MapMessage::Take(n) => Value::Record(vec![Item::attr("take", *n)]),
            MapMessage::Drop(n) => Value::Record(vec![Item::attr("drop", *n)]),
        }
    }
}
