//! The operations under test, with `warp-proto`, called the way a benchmark pass calls them.

use warp_proto::envelope::{Envelope, EnvelopeError};
use warp_proto::recon::{Error, Item, Reader, Value};

use crate::corpus::Corpus;
use crate::doc::{Doc, DocItem};
use crate::reference::{PEEL_BODY_NAME, PEEL_NAME};

/// Drains every event of the pull [`Reader`] over `text`; returns the number of events.
pub fn drain_events(text: &str) -> Result<usize, Error> {
    let mut reader = Reader::new(text);
    let mut n = 0;
    while reader.next_event()?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// Parses `text` into an owned [`Value`] (`Value::parse`).
pub fn parse_value(text: &str) -> Result<Value, Error> {
    Value::parse(text)
}

/// Writes `value` as Recon text into `out` (appending), with `Value::write_to`.
pub fn write_value(value: &Value, out: &mut String) {
    let _ = value.write_to(out);
}

/// A cheap number derived from a value (item count of a record, 1 otherwise), so a timed pass
/// depends on the value it built.
pub fn shape(value: &Value) -> usize {
    match value {
        Value::Record(items) => items.len() + 1,
        _ => 1,
    }
}

/// Decodes the envelope header only and returns a number derived from it.
pub fn decode_header_len(frame: &str) -> Result<usize, EnvelopeError> {
    let env = Envelope::decode_header(frame)?;
    Ok(env.node.raw().len() + env.lane.raw().len() + env.body.raw().len())
}

/// Decodes the whole envelope (header, and the body checked by the reader).
pub fn decode_len(frame: &str) -> Result<usize, EnvelopeError> {
    let env = Envelope::decode(frame)?;
    Ok(env.node.raw().len() + env.lane.raw().len() + env.body.raw().len())
}

/// Decodes the header, then reads the body into an owned [`Value`].
pub fn decode_body_value(frame: &str) -> Option<Value> {
    let env = Envelope::decode_header(frame).ok()?;
    env.body.to_value().ok()
}

/// Name of the header-only envelope decode row (the one with the 30x target on corpus S).
pub const ENVELOPE_HEADER_NAME: &str = "warp Envelope::decode_header";

/// One pass of a benchmark over a whole corpus.
pub type Pass<'a> = Box<dyn FnMut() -> usize + 'a>;

/// One `warp-proto` row of the envelope benchmark.
pub struct Row<'a> {
    /// Implementation name as printed.
    pub name: &'static str,
    /// Bytes read or written by one pass.
    pub bytes: usize,
    /// The reference rows this one is compared with (none for encoding, which has no
    /// counterpart among the references).
    pub vs: &'static [&'static str],
    /// One pass.
    pub pass: Pass<'a>,
}

/// The envelope rows: header decode, full decode, header + body to `Value`, and encode.
pub fn envelope_rows(c: &Corpus) -> Vec<Row<'_>> {
    let recon = c.recon_bytes();
    let decoded: Vec<Envelope<'_>> = c
        .frames
        .iter()
        .filter_map(|f| Envelope::decode(f).ok())
        .collect();
    let mut s = String::new();
    let encoded: usize = decoded
        .iter()
        .map(|e| {
            s.clear();
            let _ = e.encode(&mut s);
            s.len()
        })
        .sum();
    let mut buf = String::with_capacity(1 << 17);
    vec![
        Row {
            name: ENVELOPE_HEADER_NAME,
            bytes: recon,
            vs: &[PEEL_NAME],
            pass: Box::new(move || {
                c.frames
                    .iter()
                    .map(|f| decode_header_len(f).unwrap_or(0))
                    .sum()
            }),
        },
        Row {
            name: "warp Envelope::decode (body checked)",
            bytes: recon,
            vs: &[PEEL_BODY_NAME],
            pass: Box::new(move || c.frames.iter().map(|f| decode_len(f).unwrap_or(0)).sum()),
        },
        Row {
            name: "warp decode_header + body -> Value",
            bytes: recon,
            vs: &[PEEL_BODY_NAME],
            pass: Box::new(move || {
                c.frames
                    .iter()
                    .map(|f| decode_body_value(f).map(|v| shape(&v)).unwrap_or(0))
                    .sum()
            }),
        },
        Row {
            name: "warp Envelope::encode",
            bytes: encoded,
            vs: &[],
            pass: Box::new(move || {
                let mut n = 0;
                for e in &decoded {
                    buf.clear();
                    let _ = e.encode(&mut buf);
                    n += std::hint::black_box(&buf).len();
                }
                n
            }),
        },
    ]
}

/// The logical tree of a `warp-proto` value, or `None` if it holds something the corpora never
/// contain (data, big or unsigned integers, non-text slot keys, Absent).
pub fn value_to_doc(value: &Value) -> Option<Doc> {
    Some(match value {
        Value::Extant => Doc::Extant,
        Value::Int(i) => Doc::Int(*i),
        Value::Float(f) => Doc::Float(*f),
        Value::Bool(b) => Doc::Bool(*b),
        Value::Text(t) => Doc::Text(t.clone()),
        Value::Record(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match item {
                    Item::Attr(n, v) => DocItem::Attr(n.clone(), value_to_doc(v)?),
                    Item::Slot(Value::Text(k), v) => DocItem::Slot(k.clone(), value_to_doc(v)?),
                    Item::Slot(..) => return None,
                    Item::Value(v) => DocItem::Value(value_to_doc(v)?),
                });
            }
            Doc::Record(out)
        }
        Value::UInt(_) | Value::BigInt(_) | Value::Data(_) | Value::Absent => return None,
    })
}
