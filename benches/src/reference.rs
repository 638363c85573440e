//! The reference implementations, called the way a benchmark pass calls them.
//!
//! - `swimos_recon` 0.1.1 reading into `swimos_model::Value` and printing with
//!   `print_recon_compact` (the printer the Rust server puts on the wire);
//! - `swimos_messages` 0.1.1 `peel_envelope_header_str` (the Rust server's envelope reader);
//! - `serde_json` reading the JSON rendering into `serde_json::Value` and into
//!   `serde::de::IgnoredAny`, and writing a `serde_json::Value`.

use std::fmt::Write as _;

use serde::de::IgnoredAny;
use swimos_messages::warp::{peel_envelope_header_str, RawEnvelope};
use swimos_model::{Item, Value};
use swimos_recon::parser::{parse_recognize, ParseError, Span};

use crate::doc::{Doc, DocItem};

/// Row name of `peel_envelope_header_str` in the envelope benchmark.
pub const PEEL_NAME: &str = "swimos peel_envelope_header_str";
/// Row name of `peel_envelope_header_str` followed by reading the body into a value.
pub const PEEL_BODY_NAME: &str = "swimos peel + body -> Value";

/// Parses one Recon document with `swimos_recon` into a `swimos_model::Value` (comments
/// disallowed, as on the WARP path).
pub fn swimos_parse(text: &str) -> Result<Value, ParseError> {
    parse_recognize::<Value>(Span::new(text), false)
}

/// Prints `value` with `swimos_recon::print_recon_compact` into `out` (appending).
pub fn swimos_print(value: &Value, out: &mut String) {
    let _ = write!(out, "{}", swimos_recon::print_recon_compact(value));
}

/// Parses JSON text into a `serde_json::Value`.
pub fn json_parse_value(text: &str) -> serde_json::Result<serde_json::Value> {
    serde_json::from_str(text)
}

/// Validates JSON text without building anything (`serde::de::IgnoredAny`).
pub fn json_parse_ignored(text: &str) -> serde_json::Result<IgnoredAny> {
    serde_json::from_str(text)
}

/// Writes a `serde_json::Value` as compact JSON into `out` (appending).
pub fn json_write(value: &serde_json::Value, out: &mut Vec<u8>) -> serde_json::Result<()> {
    serde_json::to_writer(out, value)
}

/// The node URI, lane URI and body text of an envelope, as read by
/// `swimos_messages::warp::peel_envelope_header_str`.
pub fn swimos_peel(text: &str) -> Option<(&str, &str, &str)> {
    let env = peel_envelope_header_str(text).ok()?;
    match env {
        RawEnvelope::Link {
            node_uri,
            lane_uri,
            body,
            ..
        }
        | RawEnvelope::Sync {
            node_uri,
            lane_uri,
            body,
            ..
        }
        | RawEnvelope::Linked {
            node_uri,
            lane_uri,
            body,
            ..
        }
        | RawEnvelope::Command {
            node_uri,
            lane_uri,
            body,
        }
        | RawEnvelope::Unlink {
            node_uri,
            lane_uri,
            body,
        }
        | RawEnvelope::Synced {
            node_uri,
            lane_uri,
            body,
        }
        | RawEnvelope::Event {
            node_uri,
            lane_uri,
            body,
        }
        | RawEnvelope::Unlinked {
            node_uri,
            lane_uri,
            body,
        } => match (node_uri, lane_uri) {
            (std::borrow::Cow::Borrowed(n), std::borrow::Cow::Borrowed(l)) => {
                Some((n, l, body.fragment()))
            }
            // The corpora have no escapes in node or lane URIs.
            _ => None,
        },
        RawEnvelope::Auth(_) | RawEnvelope::DeAuth(_) => None,
    }
}

/// Peels the envelope header with `swimos_messages` and returns a byte count (for `black_box`);
/// `None` if the frame is rejected.
pub fn swimos_peel_len(text: &str) -> Option<usize> {
    let env = peel_envelope_header_str(text).ok()?;
    Some(match env {
        RawEnvelope::Link {
            node_uri,
            lane_uri,
            body,
            ..
        }
        | RawEnvelope::Sync {
            node_uri,
            lane_uri,
            body,
            ..
        }
        | RawEnvelope::Linked {
            node_uri,
            lane_uri,
            body,
            ..
        }
        | RawEnvelope::Command {
            node_uri,
            lane_uri,
            body,
        }
        | RawEnvelope::Unlink {
            node_uri,
            lane_uri,
            body,
        }
        | RawEnvelope::Synced {
            node_uri,
            lane_uri,
            body,
        }
        | RawEnvelope::Event {
            node_uri,
            lane_uri,
            body,
        }
        | RawEnvelope::Unlinked {
            node_uri,
            lane_uri,
            body,
        } => node_uri.len() + lane_uri.len() + body.fragment().len(),
        RawEnvelope::Auth(body) | RawEnvelope::DeAuth(body) => body.fragment().len(),
    })
}

/// Peels the envelope header with `swimos_messages`, then parses the body with
/// `swimos_recon` into a `swimos_model::Value` (what the Rust server does for a lane that
/// wants a value). `None` if either step fails.
pub fn swimos_peel_and_body(text: &str) -> Option<Value> {
    let (_, _, body) = swimos_peel(text)?;
    swimos_parse(body).ok()
}

/// The logical tree of a `swimos_model::Value`, or `None` if it holds something the corpora
/// never contain (data, big integers, non-text slot keys).
pub fn swimos_to_doc(value: &Value) -> Option<Doc> {
    Some(match value {
        Value::Extant => Doc::Extant,
        Value::Int32Value(i) => Doc::Int(i64::from(*i)),
        Value::Int64Value(i) => Doc::Int(*i),
        Value::UInt32Value(u) => Doc::Int(i64::from(*u)),
        Value::UInt64Value(u) => Doc::Int(i64::try_from(*u).ok()?),
        Value::Float64Value(f) => Doc::Float(*f),
        Value::BooleanValue(b) => Doc::Bool(*b),
        Value::Text(t) => Doc::Text(t.as_str().to_owned()),
        Value::Record(attrs, items) => {
            let mut out = Vec::with_capacity(attrs.len() + items.len());
            for a in attrs {
                out.push(DocItem::Attr(
                    a.name.as_str().to_owned(),
                    swimos_to_doc(&a.value)?,
                ));
            }
            for item in items {
                out.push(match item {
                    Item::ValueItem(v) => DocItem::Value(swimos_to_doc(v)?),
                    Item::Slot(Value::Text(k), v) => {
                        DocItem::Slot(k.as_str().to_owned(), swimos_to_doc(v)?)
                    }
                    Item::Slot(..) => return None,
                });
            }
            Doc::Record(out)
        }
        Value::BigInt(_) | Value::BigUint(_) | Value::Data(_) => return None,
    })
}

/// A cheap number derived from a value (attribute and item counts of a record, 1 otherwise),
/// so a timed pass depends on the value it built.
pub fn swimos_shape(value: &Value) -> usize {
    match value {
        Value::Record(attrs, items) => attrs.len() + items.len() + 1,
        _ => 1,
    }
}
