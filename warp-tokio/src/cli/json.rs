//! Recon values as JSON text, for `warp link|sync --json`.
//!
//! - text → string; integers (any size) → number; floats → number (NaN and infinities →
//!   `null`); `true`/`false` → boolean; data → base64 string; Absent and Extant → `null`;
//! - a record whose items are all slots with text keys, each key once → object;
//! - any other record → array of its items: a plain value as itself, an attribute `@a(v)` as
//!   `{"@a": v}`, a slot with a text key `k: v` as `{"k": v}`, a slot with another key as
//!   `{"$key": k, "$value": v}`. So the map-lane event `@update(key:5) 5` is
//!   `[{"@update":{"key":5}},5]`.

use std::collections::HashSet;
use std::fmt::Write;

use warp_proto::recon::{Item, Value};

/// The JSON text of `value` (compact, one line).
pub fn to_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Absent | Value::Extant => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::UInt(n) => {
            let _ = write!(out, "{n}");
        }
        Value::BigInt(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(x) if x.is_finite() => {
            // Rust prints whole floats without a point ("2"); keep them floats.
            let text = format!("{x:?}");
            out.push_str(&text);
        }
        Value::Float(_) => out.push_str("null"),
        Value::Text(s) => write_string(out, s),
        Value::Data(bytes) => {
            out.push('"');
            base64(out, bytes);
            out.push('"');
        }
        Value::Record(items) => write_record(out, items),
    }
}

fn write_record(out: &mut String, items: &[Item]) {
    let mut keys = HashSet::new();
    let object = items.iter().all(|item| match item {
        Item::Slot(Value::Text(key), _) => keys.insert(key.as_str()),
        _ => false,
    });
    if object && !items.is_empty() {
        out.push('{');
        for (i, item) in items.iter().enumerate() {
            if let Item::Slot(Value::Text(key), value) = item {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, value);
            }
        }
        out.push('}');
        return;
    }
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            Item::Value(value) => write_value(out, value),
            Item::Attr(name, value) => {
                out.push('{');
                write_string(out, &format!("@{name}"));
                out.push(':');
                write_value(out, value);
                out.push('}');
            }
            Item::Slot(Value::Text(key), value) => {
                out.push('{');
                write_string(out, key);
                out.push(':');
                write_value(out, value);
                out.push('}');
            }
            Item::Slot(key, value) => {
                out.push_str("{\"$key\":");
                write_value(out, key);
                out.push_str(",\"$value\":");
                write_value(out, value);
                out.push('}');
            }
        }
    }
    out.push(']');
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn base64(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextet = |n: u32| char::from(ALPHABET[(n & 63) as usize]);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sextet(n >> 18));
        out.push(sextet(n >> 12));
        out.push(if chunk.len() > 1 { sextet(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(n) } else { '=' });
    }
}

#[cfg(test)]
mod tests {
    use super::to_json;
    use warp_proto::recon::Value;

    fn json(recon: &str) -> String {
        to_json(&Value::parse_body(recon).unwrap())
    }

    #[test]
    fn scalars() {
        assert_eq!(json("\"a\\\"b\""), r#""a\"b""#);
        assert_eq!(json("42"), "42");
        assert_eq!(json("-7"), "-7");
        assert_eq!(json("18446744073709551615"), "18446744073709551615");
        assert_eq!(
            json("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(json("2.5"), "2.5");
        assert_eq!(json("true"), "true");
        assert_eq!(json(""), "null");
        assert_eq!(json("%AAEC"), r#""AAEC""#);
        assert_eq!(json("%AA=="), r#""AA==""#);
        assert_eq!(to_json(&Value::Float(f64::NAN)), "null");
        assert_eq!(to_json(&Value::Float(2.0)), "2.0");
        assert_eq!(
            to_json(&Value::text("tab\tnl\n\u{1}")),
            r#""tab\tnl\n\u0001""#
        );
    }

    #[test]
    fn records() {
        assert_eq!(json("{a:1,b:\"x\"}"), r#"{"a":1,"b":"x"}"#);
        assert_eq!(json("{a:1,a:2}"), r#"[{"a":1},{"a":2}]"#);
        assert_eq!(json("@update(key:5) 5"), r#"[{"@update":{"key":5}},5]"#);
        assert_eq!(json("@remove(key:5)"), r#"[{"@remove":{"key":5}}]"#);
        assert_eq!(json("{1,2}"), "[1,2]");
        assert_eq!(json("{1:2}"), r#"[{"$key":1,"$value":2}]"#);
    }
}
