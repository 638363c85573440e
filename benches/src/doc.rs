//! The logical content of a benchmark frame, independent of any implementation under test, and
//! its two renderings: Recon text and JSON text.
//!
//! The corpora are generated as [`Doc`] trees and rendered here, so the text every parser reads
//! comes from neither the parser nor the writer being measured.
//!
//! # Recon rendering
//!
//! Compact, in the style of the Java/JS printers (RECON.md 3.1): attributes as `@name(args)`,
//! records as `{a,b}` with `,` separators, slots as `key:value`, text bare when it is an ASCII
//! identifier other than `true`/`false` and double-quoted otherwise, floats in Rust's `{:?}`
//! form (`21.5`, `3.0`). A record that starts with attributes is written as the attributes
//! followed by `{…}` for the other items, or by a single bare value (after a space when it is an
//! identifier, number or Bool). Only the portable subset of RECON.md is produced, so every
//! implementation reads the same value.
//!
//! # JSON rendering
//!
//! - a record whose items are all attributes or text-keyed slots with distinct keys becomes an
//!   object: attribute `@name(v)` is the member `"@name": v`, slot `k:v` is the member `"k": v`;
//! - any other record becomes an array of its items: an attribute is the one-member object
//!   `{"@name": v}`, a slot the one-member object `{"k": v}`, a value itself;
//! - text is a JSON string, integers and floats are JSON numbers (floats with the same digits
//!   as in Recon), Bool is `true`/`false`, Extant is `null`.

use std::fmt::Write as _;

/// A value of the logical model (a subset of Recon: no data, no non-text slot keys).
#[derive(Clone, Debug, PartialEq)]
pub enum Doc {
    /// A record.
    Record(Vec<DocItem>),
    /// A text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A Bool.
    Bool(bool),
    /// Present but empty (an attribute without arguments).
    Extant,
}

/// One item of a [`Doc::Record`].
#[derive(Clone, Debug, PartialEq)]
pub enum DocItem {
    /// `@name(value)`.
    Attr(String, Doc),
    /// `key:value`, with a text key.
    Slot(String, Doc),
    /// A plain value.
    Value(Doc),
}

impl Doc {
    /// A text value.
    pub fn text(s: impl Into<String>) -> Doc {
        Doc::Text(s.into())
    }

    /// Whether two docs are equal, floats compared with a relative tolerance of 1e-12 (the
    /// references do not all round decimal floats exactly).
    pub fn approx_eq(&self, other: &Doc) -> bool {
        match (self, other) {
            (Doc::Float(a), Doc::Float(b)) => {
                a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
            }
            (Doc::Record(a), Doc::Record(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(x, y)| match (x, y) {
                        (DocItem::Attr(n, v), DocItem::Attr(m, w))
                        | (DocItem::Slot(n, v), DocItem::Slot(m, w)) => n == m && v.approx_eq(w),
                        (DocItem::Value(v), DocItem::Value(w)) => v.approx_eq(w),
                        _ => false,
                    })
            }
            (a, b) => a == b,
        }
    }

    /// The Recon text of this value (see the module docs).
    pub fn to_recon(&self) -> String {
        let mut out = String::new();
        write_recon(self, &mut out);
        out
    }

    /// The JSON text of this value (see the module docs).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_json(self, &mut out);
        out
    }
}

/// Whether `s` prints bare in Recon: an ASCII identifier that is not `true` or `false`.
pub fn is_plain_ident(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') && s != "true" && s != "false"
}

fn write_quoted(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_text(s: &str, out: &mut String) {
    if is_plain_ident(s) {
        out.push_str(s);
    } else {
        write_quoted(s, out);
    }
}

fn write_float(f: f64, out: &mut String) {
    let _ = write!(out, "{f:?}");
}

fn write_recon(doc: &Doc, out: &mut String) {
    match doc {
        Doc::Text(s) => write_text(s, out),
        Doc::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Doc::Float(f) => write_float(*f, out),
        Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Doc::Extant => {}
        Doc::Record(items) => write_record(items, out),
    }
}

fn write_item(item: &DocItem, out: &mut String) {
    match item {
        DocItem::Attr(..) => write_record(std::slice::from_ref(item), out),
        DocItem::Slot(k, v) => {
            write_text(k, out);
            out.push(':');
            write_recon(v, out);
        }
        DocItem::Value(v) => write_recon(v, out),
    }
}

fn write_record(items: &[DocItem], out: &mut String) {
    let attrs = items
        .iter()
        .take_while(|i| matches!(i, DocItem::Attr(..)))
        .count();
    let (head, rest) = items.split_at(attrs);
    for item in head {
        if let DocItem::Attr(name, value) = item {
            out.push('@');
            write_text(name, out);
            match value {
                Doc::Extant => {}
                Doc::Record(args) if !args.is_empty() => {
                    out.push('(');
                    for (i, a) in args.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write_item(a, out);
                    }
                    out.push(')');
                }
                v => {
                    out.push('(');
                    write_recon(v, out);
                    out.push(')');
                }
            }
        }
    }
    match rest {
        [DocItem::Value(v)] if attrs > 0 && !matches!(v, Doc::Record(_)) => {
            if matches!(v, Doc::Int(_) | Doc::Float(_) | Doc::Bool(_))
                || matches!(v, Doc::Text(s) if is_plain_ident(s))
            {
                out.push(' ');
            }
            write_recon(v, out);
        }
        [] if attrs > 0 => {}
        _ => {
            out.push('{');
            for (i, item) in rest.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_item(item, out);
            }
            out.push('}');
        }
    }
}

fn json_key(item: &DocItem) -> Option<String> {
    match item {
        DocItem::Attr(n, _) => Some(format!("@{n}")),
        DocItem::Slot(k, _) => Some(k.clone()),
        DocItem::Value(_) => None,
    }
}

fn is_json_object(items: &[DocItem]) -> bool {
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        match json_key(item) {
            Some(k) if !keys.contains(&k) => keys.push(k),
            _ => return false,
        }
    }
    true
}

fn write_json_member(key: &str, value: &Doc, out: &mut String) {
    write_quoted(key, out);
    out.push(':');
    write_json(value, out);
}

fn write_json(doc: &Doc, out: &mut String) {
    match doc {
        Doc::Text(s) => write_quoted(s, out),
        Doc::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Doc::Float(f) => write_float(*f, out),
        Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Doc::Extant => out.push_str("null"),
        Doc::Record(items) if is_json_object(items) => {
            out.push('{');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match item {
                    DocItem::Attr(n, v) => write_json_member(&format!("@{n}"), v, out),
                    DocItem::Slot(k, v) => write_json_member(k, v, out),
                    DocItem::Value(v) => write_json(v, out),
                }
            }
            out.push('}');
        }
        Doc::Record(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match item {
                    DocItem::Attr(n, v) => {
                        out.push('{');
                        write_json_member(&format!("@{n}"), v, out);
                        out.push('}');
                    }
                    DocItem::Slot(k, v) => {
                        out.push('{');
                        write_json_member(k, v, out);
                        out.push('}');
                    }
                    DocItem::Value(v) => write_json(v, out),
                }
            }
            out.push(']');
        }
    }
}

/// The `serde_json::Value` a correct JSON parser must produce for [`Doc::to_json`], built
/// directly from the tree (not by parsing).
pub fn to_json_value(doc: &Doc) -> serde_json::Value {
    use serde_json::{Map, Value as J};
    fn member(key: String, v: &Doc) -> J {
        let mut m = Map::new();
        m.insert(key, to_json_value(v));
        J::Object(m)
    }
    match doc {
        Doc::Text(s) => J::String(s.clone()),
        Doc::Int(i) => J::from(*i),
        Doc::Float(f) => J::from(*f),
        Doc::Bool(b) => J::Bool(*b),
        Doc::Extant => J::Null,
        Doc::Record(items) if is_json_object(items) => {
            let mut m = Map::new();
            for item in items {
                match item {
                    DocItem::Attr(n, v) => {
                        m.insert(format!("@{n}"), to_json_value(v));
                    }
                    DocItem::Slot(k, v) => {
                        m.insert(k.clone(), to_json_value(v));
                    }
                    DocItem::Value(_) => {}
                }
            }
            J::Object(m)
        }
        Doc::Record(items) => J::Array(
            items
                .iter()
                .map(|item| match item {
                    DocItem::Attr(n, v) => member(format!("@{n}"), v),
                    DocItem::Slot(k, v) => member(k.clone(), v),
                    DocItem::Value(v) => to_json_value(v),
                })
                .collect(),
        ),
    }
}

/// Whether two JSON values are equal, floats compared with a relative tolerance of 1e-12.
pub fn json_approx_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => {
                    x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0)
                }
                _ => false,
            }
        }
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_approx_eq(p, q))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k, p), (l, q))| k == l && json_approx_eq(p, q))
        }
        (x, y) => x == y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Doc {
        Doc::Record(vec![
            DocItem::Attr(
                "event".into(),
                Doc::Record(vec![
                    DocItem::Slot("node".into(), Doc::text("/unit/1")),
                    DocItem::Slot("lane".into(), Doc::text("info")),
                ]),
            ),
            DocItem::Attr(
                "update".into(),
                Doc::Record(vec![DocItem::Slot("key".into(), Doc::text("k 1"))]),
            ),
            DocItem::Slot("temp".into(), Doc::Float(21.5)),
            DocItem::Slot("note".into(), Doc::text("a \"b\"\n")),
        ])
    }

    #[test]
    fn recon_rendering() {
        assert_eq!(
            envelope().to_recon(),
            r#"@event(node:"/unit/1",lane:info)@update(key:"k 1"){temp:21.5,note:"a \"b\"\n"}"#
        );
        let single = Doc::Record(vec![
            DocItem::Attr("a".into(), Doc::Extant),
            DocItem::Value(Doc::Int(1)),
        ]);
        assert_eq!(single.to_recon(), "@a 1");
        let quoted = Doc::Record(vec![
            DocItem::Attr("a".into(), Doc::Int(2)),
            DocItem::Value(Doc::text("two words")),
        ]);
        assert_eq!(quoted.to_recon(), "@a(2)\"two words\"");
        let plain = Doc::Record(vec![
            DocItem::Value(Doc::Bool(true)),
            DocItem::Value(Doc::text("true")),
        ]);
        assert_eq!(plain.to_recon(), "{true,\"true\"}");
    }

    #[test]
    fn json_rendering() {
        assert_eq!(
            envelope().to_json(),
            r#"{"@event":{"node":"/unit/1","lane":"info"},"@update":{"key":"k 1"},"temp":21.5,"note":"a \"b\"\n"}"#
        );
        let mixed = Doc::Record(vec![
            DocItem::Attr("a".into(), Doc::Extant),
            DocItem::Value(Doc::Int(1)),
            DocItem::Slot("x".into(), Doc::Float(2.0)),
        ]);
        assert_eq!(mixed.to_json(), r#"[{"@a":null},1,{"x":2.0}]"#);
        for doc in [envelope(), mixed] {
            let parsed: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
            assert!(json_approx_eq(&parsed, &to_json_value(&doc)));
        }
    }

    #[test]
    fn approx_eq_distinguishes() {
        assert!(Doc::Float(0.1).approx_eq(&Doc::Float(0.1 + 1e-17)));
        assert!(!Doc::Float(0.1).approx_eq(&Doc::Float(0.2)));
        assert!(!Doc::Int(1).approx_eq(&Doc::Float(1.0)));
        assert!(!envelope().approx_eq(&Doc::Record(vec![])));
    }
}
