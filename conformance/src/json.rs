//! The JSON side of the vector files: a small JSON reader, and the mapping between the vector
//! files' value format and [`warp_proto::recon::Value`].
//!
//! # The value format
//!
//! Every value is a one-key JSON object:
//!
//! | JSON | [`Value`] |
//! | --- | --- |
//! | `{"int": "<decimal>"}` | `Int`, `UInt` or `BigInt`, whichever the canonical form requires |
//! | `{"float": "<number>"}` | `Float`; also `"Infinity"`, `"-Infinity"`, `"NaN"`, `"-0.0"` |
//! | `{"text": "..."}` | `Text` |
//! | `{"bool": true}` | `Bool` |
//! | `{"data": "<base64>"}` | `Data` (standard alphabet, padded) |
//! | `{"extant": null}` | `Extant` |
//! | `{"absent": null}` | `Absent` |
//! | `{"record": [item, ...]}` | `Record` |
//!
//! A record item is `{"attr": ["name", value]}`, `{"slot": [key, value]}` or a plain value.
//!
//! Envelopes (`warp_valid.jsonl`) are `{"tag", "node", "lane", "prio", "rate", "body"}`, where
//! `node`/`lane`/`prio`/`rate` may be missing (host-addressed kinds) and `prio`/`rate` may be
//! `null` (absent, the same as 0), a JSON number or the string `"NaN"`; see [`ExpectedEnvelope`].
//!
//! # Why a hand-written JSON reader
//!
//! The vector files spell strings with `\u` escapes, and a few hold unpaired UTF-16 surrogates,
//! which general JSON libraries reject. [`parse_json`] decodes an unpaired surrogate escape to
//! U+FFFD, the same replacement the project's profile prescribes for Recon strings, keeps object
//! keys in file order, and keeps numbers as their exact source text.

use std::fmt;

use num_bigint::BigInt;
use warp_proto::recon::{Item, Value};

/// A parsed JSON value. Numbers keep their source text; objects keep their key order.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, exactly as written.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, its members in file order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The member `key` of an object (the first one, if repeated); `None` for non-objects.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is a JSON string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the JSON type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

/// Writes a JSON string literal: `"`, the text with `"`, `\` and control characters escaped,
/// `"`. Non-ASCII characters are written as they are.
pub fn write_json_string(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if (c as u32) < 0x20 || c == '\u{7f}' || c.is_control() => {
                write!(out, "\\u{:04x}", c as u32)?
            }
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

/// `s` as a one-line JSON string literal (see [`write_json_string`]).
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    // Writing to a String cannot fail.
    let _ = write_json_string(&mut out, s);
    out
}

impl fmt::Display for Json {
    /// Compact JSON on one line, `", "` and `": "` separated like the vector files.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{}", b),
            Json::Number(n) => f.write_str(n),
            Json::String(s) => write_json_string(f, s),
            Json::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    fmt::Display::fmt(item, f)?;
                }
                f.write_str("]")
            }
            Json::Object(members) => {
                f.write_str("{")?;
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_json_string(f, k)?;
                    f.write_str(": ")?;
                    fmt::Display::fmt(v, f)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// A JSON syntax error: what was wrong and the byte offset in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// What was wrong.
    pub message: String,
    /// Byte offset in the JSON text.
    pub offset: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for JsonError {}

/// The deepest JSON nesting [`parse_json`] accepts (to bound recursion).
pub const MAX_JSON_DEPTH: usize = 256;

/// Parses one JSON document (surrounding whitespace allowed, nothing else after it).
///
/// Unpaired UTF-16 surrogate escapes in strings decode to U+FFFD.
pub fn parse_json(text: &str) -> Result<Json, JsonError> {
    let mut p = JsonParser { text, pos: 0 };
    p.skip_ws();
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos < text.len() {
        return Err(p.error("trailing characters after the JSON value"));
    }
    Ok(value)
}

struct JsonParser<'a> {
    text: &'a str,
    pos: usize,
}

impl JsonParser<'_> {
    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn error(&self, message: &str) -> JsonError {
        JsonError {
            message: message.to_string(),
            offset: self.pos,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, ' ' | '\t' | '\n' | '\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn keyword(&mut self, word: &str, value: Json) -> Result<Json, JsonError> {
        if self.rest().starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("unexpected character"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_JSON_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.peek() {
            None => Err(self.error("unexpected end of input")),
            Some('n') => self.keyword("null", Json::Null),
            Some('t') => self.keyword("true", Json::Bool(true)),
            Some('f') => self.keyword("false", Json::Bool(false)),
            Some('"') => self.string().map(Json::String),
            Some('[') => self.array(depth),
            Some('{') => self.object(depth),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(_) => Err(self.error("unexpected character")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.eat('[');
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat(']') {
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if self.eat(',') {
                continue;
            }
            if self.eat(']') {
                return Ok(Json::Array(items));
            }
            return Err(self.error("expected ',' or ']'"));
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.eat('{');
        let mut members = Vec::new();
        self.skip_ws();
        if self.eat('}') {
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some('"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if !self.eat(':') {
                return Err(self.error("expected ':'"));
            }
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_ws();
            if self.eat(',') {
                continue;
            }
            if self.eat('}') {
                return Ok(Json::Object(members));
            }
            return Err(self.error("expected ',' or '}'"));
        }
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.pos;
        self.eat('-');
        let int_start = self.pos;
        let digits = |p: &mut Self| {
            let n = p.rest().bytes().take_while(u8::is_ascii_digit).count();
            p.pos += n;
            n
        };
        let n = digits(self);
        if n == 0 {
            return Err(self.error("expected a digit"));
        }
        if n > 1 && self.text.as_bytes().get(int_start) == Some(&b'0') {
            return Err(JsonError {
                message: "leading zero in a number".to_string(),
                offset: int_start,
            });
        }
        if self.eat('.') && digits(self) == 0 {
            return Err(self.error("expected a digit after '.'"));
        }
        if self.eat('e') || self.eat('E') {
            if !self.eat('+') {
                self.eat('-');
            }
            if digits(self) == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        Ok(Json::Number(
            self.text.get(start..self.pos).unwrap_or("").to_string(),
        ))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .rest()
            .get(..4)
            .ok_or_else(|| self.error("expected 4 hex digits"))?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error("expected 4 hex digits"));
        }
        let unit = u32::from_str_radix(digits, 16).map_err(|_| self.error("bad hex digits"))?;
        self.pos += 4;
        Ok(unit)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.eat('"');
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.error("unterminated escape"));
                    };
                    self.pos += e.len_utf8();
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let unit = self.hex4()?;
                            out.push(self.surrogate_tail(unit)?);
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                c if (c as u32) < 0x20 => {
                    return Err(self.error("control character in a string"));
                }
                c => out.push(c),
            }
        }
    }

    /// The character for the UTF-16 unit `unit`, consuming a following low-surrogate escape
    /// when `unit` is a high surrogate. Unpaired surrogates become U+FFFD.
    fn surrogate_tail(&mut self, unit: u32) -> Result<char, JsonError> {
        if (0xD800..0xDC00).contains(&unit) && self.rest().starts_with("\\u") {
            let save = self.pos;
            self.pos += 2;
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return Ok(char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            self.pos = save;
        }
        Ok(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER))
    }
}

/// A vector-file JSON value that does not have the shape of the value format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShapeError {}

fn shape<T>(msg: impl Into<String>) -> Result<T, ShapeError> {
    Err(ShapeError(msg.into()))
}

fn single_member<'j>(json: &'j Json, what: &str) -> Result<(&'j str, &'j Json), ShapeError> {
    match json {
        Json::Object(members) => match members.as_slice() {
            [(k, v)] => Ok((k.as_str(), v)),
            _ => shape(format!(
                "{} must be an object with exactly one key, got {}",
                what, json
            )),
        },
        other => shape(format!(
            "{} must be a one-key object, got {}: {}",
            what,
            other.type_name(),
            other
        )),
    }
}

fn expect_str<'j>(json: &'j Json, what: &str) -> Result<&'j str, ShapeError> {
    json.as_str()
        .ok_or_else(|| ShapeError(format!("{} must be a string, got {}", what, json)))
}

/// The canonical integer [`Value`] for the decimal text `s` (optional `-`, digits).
///
/// `Int` when it fits `i64`, `UInt` when it fits only `u64`, `BigInt` otherwise.
pub fn int_value_from_decimal(s: &str) -> Result<Value, ShapeError> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return shape(format!(
            "\"int\" must be a decimal integer string, got {:?}",
            s
        ));
    }
    if let Ok(i) = s.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    if let Ok(u) = s.parse::<u64>() {
        return Ok(Value::UInt(u));
    }
    match s.parse::<BigInt>() {
        Ok(b) => Ok(Value::BigInt(b)),
        Err(e) => shape(format!("bad integer {:?}: {}", s, e)),
    }
}

/// Whether `s` is a plain decimal float literal: `-`? digits (`.` digits)? (`e` [+-]? digits)?.
fn is_decimal_literal(s: &str) -> bool {
    let b = s.strip_prefix('-').unwrap_or(s).as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// The f64 spelled `s` in the vector files: a decimal literal, `Infinity`, `-Infinity` or `NaN`.
pub fn float_from_text(s: &str) -> Result<f64, ShapeError> {
    match s {
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if is_decimal_literal(s) => s
            .parse::<f64>()
            .map_err(|e| ShapeError(format!("bad float {:?}: {}", s, e))),
        _ => shape(format!(
            "\"float\" must be a decimal number, Infinity, -Infinity or NaN, got {:?}",
            s
        )),
    }
}

fn b64_digit(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Decodes standard, padded base64 (the vector files' `data` form).
pub fn decode_base64(s: &str) -> Result<Vec<u8>, ShapeError> {
    let b = s.as_bytes();
    if !b.chunks_exact(4).remainder().is_empty() {
        return shape(format!("base64 {:?} is not a multiple of 4 characters", s));
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    let groups = b.len() / 4;
    for (g, group) in b.chunks_exact(4).enumerate() {
        let pad = group.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && g + 1 != groups) {
            return shape(format!("misplaced '=' padding in base64 {:?}", s));
        }
        let mut n = 0u32;
        for &c in group.get(..4 - pad).unwrap_or(&[]) {
            let Some(d) = b64_digit(c) else {
                return shape(format!("invalid base64 character in {:?}", s));
            };
            n = (n << 6) | d;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(bytes.get(..3 - pad).unwrap_or(&[]));
    }
    Ok(out)
}

/// Encodes bytes as standard, padded base64.
pub fn encode_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = chunk.first().copied().unwrap_or(0);
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(B64.get(idx).copied().unwrap_or(b'=')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Maps a vector-file JSON value to a [`Value`].
pub fn value_from_json(json: &Json) -> Result<Value, ShapeError> {
    value_at_depth(json, 0)
}

fn value_at_depth(json: &Json, depth: usize) -> Result<Value, ShapeError> {
    if depth > MAX_JSON_DEPTH {
        return shape("value nested too deeply");
    }
    let (key, inner) = single_member(json, "a value")?;
    match key {
        "int" => int_value_from_decimal(expect_str(inner, "\"int\"")?),
        "float" => float_from_text(expect_str(inner, "\"float\"")?).map(Value::Float),
        "text" => Ok(Value::Text(expect_str(inner, "\"text\"")?.to_string())),
        "bool" => match inner {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            other => shape(format!("\"bool\" must be true or false, got {}", other)),
        },
        "data" => decode_base64(expect_str(inner, "\"data\"")?).map(Value::Data),
        "extant" => match inner {
            Json::Null => Ok(Value::Extant),
            other => shape(format!("\"extant\" must be null, got {}", other)),
        },
        "absent" => match inner {
            Json::Null => Ok(Value::Absent),
            other => shape(format!("\"absent\" must be null, got {}", other)),
        },
        "record" => match inner {
            Json::Array(items) => items
                .iter()
                .map(|item| item_at_depth(item, depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Record),
            other => shape(format!("\"record\" must be an array, got {}", other)),
        },
        other => shape(format!(
            "unknown value kind {:?} (expected int, float, text, bool, data, extant, absent or record)",
            other
        )),
    }
}

fn pair<'j>(inner: &'j Json, what: &str) -> Result<(&'j Json, &'j Json), ShapeError> {
    match inner {
        Json::Array(v) => match v.as_slice() {
            [a, b] => Ok((a, b)),
            _ => shape(format!("{} must be a 2-element array, got {}", what, inner)),
        },
        other => shape(format!("{} must be a 2-element array, got {}", what, other)),
    }
}

/// Maps a vector-file record item (`{"attr": [name, value]}`, `{"slot": [key, value]}` or a plain
/// value) to an [`Item`].
pub fn item_from_json(json: &Json) -> Result<Item, ShapeError> {
    item_at_depth(json, 0)
}

fn item_at_depth(json: &Json, depth: usize) -> Result<Item, ShapeError> {
    let (key, inner) = single_member(json, "a record item")?;
    match key {
        "attr" => {
            let (name, value) = pair(inner, "\"attr\"")?;
            let name = expect_str(name, "an attribute name")?.to_string();
            Ok(Item::Attr(name, value_at_depth(value, depth + 1)?))
        }
        "slot" => {
            let (k, v) = pair(inner, "\"slot\"")?;
            Ok(Item::Slot(
                value_at_depth(k, depth + 1)?,
                value_at_depth(v, depth + 1)?,
            ))
        }
        _ => value_at_depth(json, depth).map(Item::Value),
    }
}

fn one(key: &str, value: Json) -> Json {
    Json::Object(vec![(key.to_string(), value)])
}

/// The vector-file spelling of a float: `Infinity`, `-Infinity`, `NaN`, or a decimal literal
/// that always carries a `.` or an exponent (`1.0`, `-0.0`, `1e21`).
pub fn float_to_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f == f64::INFINITY {
        "Infinity".to_string()
    } else if f == f64::NEG_INFINITY {
        "-Infinity".to_string()
    } else {
        format!("{:?}", f)
    }
}

/// Maps a [`Value`] to the vector-file JSON form (for diagnostics and round trips).
pub fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Record(items) => one(
            "record",
            Json::Array(items.iter().map(item_to_json).collect()),
        ),
        Value::Text(s) => one("text", Json::String(s.clone())),
        Value::Int(i) => one("int", Json::String(i.to_string())),
        Value::UInt(u) => one("int", Json::String(u.to_string())),
        Value::BigInt(b) => one("int", Json::String(b.to_string())),
        Value::Float(f) => one("float", Json::String(float_to_text(*f))),
        Value::Bool(b) => one("bool", Json::Bool(*b)),
        Value::Data(d) => one("data", Json::String(encode_base64(d))),
        Value::Extant => one("extant", Json::Null),
        Value::Absent => one("absent", Json::Null),
    }
}

/// Maps an [`Item`] to the vector-file JSON form.
pub fn item_to_json(item: &Item) -> Json {
    match item {
        Item::Attr(name, value) => one(
            "attr",
            Json::Array(vec![Json::String(name.clone()), value_to_json(value)]),
        ),
        Item::Slot(k, v) => one(
            "slot",
            Json::Array(vec![value_to_json(k), value_to_json(v)]),
        ),
        Item::Value(v) => value_to_json(v),
    }
}

/// Whether two floats are the same by the vectors' rules: equal bits, so `-0.0 != 0.0` and
/// `NaN == NaN` (any NaN payload).
pub fn same_float(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Structural equality of values by the vectors' rules: integers by value (whatever variant
/// holds them), floats by [`same_float`], an integer never equal to a float.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Record(x), Value::Record(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(i, j)| same_item(i, j))
        }
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => same_float(*x, *y),
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Data(x), Value::Data(y)) => x == y,
        (Value::Extant, Value::Extant) | (Value::Absent, Value::Absent) => true,
        (x, y) => match (int_of(x), int_of(y)) {
            (Some(i), Some(j)) => i == j,
            _ => false,
        },
    }
}

/// Structural equality of record items (see [`same_value`]).
pub fn same_item(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Attr(n, x), Item::Attr(m, y)) => n == m && same_value(x, y),
        (Item::Slot(k, x), Item::Slot(l, y)) => same_value(k, l) && same_value(x, y),
        (Item::Value(x), Item::Value(y)) => same_value(x, y),
        _ => false,
    }
}

fn int_of(v: &Value) -> Option<BigInt> {
    match v {
        Value::Int(i) => Some(BigInt::from(*i)),
        Value::UInt(u) => Some(BigInt::from(*u)),
        Value::BigInt(b) => Some(b.clone()),
        _ => None,
    }
}

/// Whether an integer [`Value`] is in the canonical form documented on [`Value`]: `Int` for
/// everything that fits `i64`, `UInt` only above `i64::MAX`, `BigInt` only outside both.
/// Non-integers are trivially canonical; records are checked recursively.
pub fn is_canonical(value: &Value) -> bool {
    match value {
        Value::UInt(u) => i64::try_from(*u).is_err(),
        Value::BigInt(b) => i64::try_from(b).is_err() && u64::try_from(b).is_err(),
        Value::Record(items) => items.iter().all(|item| match item {
            Item::Attr(_, v) | Item::Value(v) => is_canonical(v),
            Item::Slot(k, v) => is_canonical(k) && is_canonical(v),
        }),
        _ => true,
    }
}

/// The header of an expected envelope in `warp_valid.jsonl`.
///
/// `node` and `lane` are `None` when the vector leaves them out (host-addressed kinds: `auth`,
/// `authed`, `deauth`, `deauthed`). `prio` and `rate` are 0 when `null` or missing (the vectors'
/// rule: absent and 0 mean the same), NaN for `"NaN"`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedEnvelope {
    /// The tag name (`event`, `link`, ...).
    pub tag: String,
    /// The node URI, if given.
    pub node: Option<String>,
    /// The lane URI, if given.
    pub lane: Option<String>,
    /// The priority (0 for absent).
    pub prio: f64,
    /// The rate (0 for absent).
    pub rate: f64,
    /// The body (`Absent` for none).
    pub body: Value,
}

fn prio_rate(json: Option<&Json>, what: &str) -> Result<f64, ShapeError> {
    match json {
        None | Some(Json::Null) => Ok(0.0),
        Some(Json::Number(n)) => n
            .parse::<f64>()
            .map_err(|e| ShapeError(format!("bad {} {}: {}", what, n, e))),
        Some(Json::String(s)) => float_from_text(s),
        Some(other) => shape(format!(
            "{} must be null, a number or \"NaN\", got {}",
            what, other
        )),
    }
}

fn opt_text(json: Option<&Json>, what: &str) -> Result<Option<String>, ShapeError> {
    match json {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => shape(format!("{} must be a string, got {}", what, other)),
    }
}

impl ExpectedEnvelope {
    /// Reads the `envelope` object of a vector line.
    pub fn from_json(json: &Json) -> Result<Self, ShapeError> {
        let Json::Object(members) = json else {
            return shape(format!("\"envelope\" must be an object, got {}", json));
        };
        const KNOWN: [&str; 6] = ["tag", "node", "lane", "prio", "rate", "body"];
        if let Some((k, _)) = members.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
            return shape(format!("unknown envelope field {:?}", k));
        }
        let tag = match json.get("tag") {
            Some(t) => expect_str(t, "\"tag\"")?.to_string(),
            None => return shape("envelope has no \"tag\""),
        };
        let body = match json.get("body") {
            Some(b) => value_from_json(b)?,
            None => return shape("envelope has no \"body\""),
        };
        Ok(ExpectedEnvelope {
            tag,
            node: opt_text(json.get("node"), "\"node\"")?,
            lane: opt_text(json.get("lane"), "\"lane\"")?,
            prio: prio_rate(json.get("prio"), "\"prio\"")?,
            rate: prio_rate(json.get("rate"), "\"rate\"")?,
            body,
        })
    }

    /// The vector-file JSON form (for diagnostics).
    pub fn to_json(&self) -> Json {
        let mut members = vec![("tag".to_string(), Json::String(self.tag.clone()))];
        if let Some(node) = &self.node {
            members.push(("node".to_string(), Json::String(node.clone())));
        }
        if let Some(lane) = &self.lane {
            members.push(("lane".to_string(), Json::String(lane.clone())));
        }
        for (name, v) in [("prio", self.prio), ("rate", self.rate)] {
            let j = if v == 0.0 {
                Json::Null
            } else if v.is_finite() {
                Json::Number(float_to_text(v))
            } else {
                Json::String(float_to_text(v))
            };
            members.push((name.to_string(), j));
        }
        members.push(("body".to_string(), value_to_json(&self.body)));
        Json::Object(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Value {
        value_from_json(&parse_json(text).expect("json")).expect("shape")
    }

    #[test]
    fn integers_take_their_canonical_variant() {
        assert_eq!(v(r#"{"int":"-5"}"#), Value::Int(-5));
        assert_eq!(v(r#"{"int":"9223372036854775807"}"#), Value::Int(i64::MAX));
        assert_eq!(v(r#"{"int":"9223372036854775808"}"#), Value::UInt(1 << 63));
        assert_eq!(
            v(r#"{"int":"18446744073709551615"}"#),
            Value::UInt(u64::MAX)
        );
        let big = v(r#"{"int":"18446744073709551616"}"#);
        assert!(matches!(big, Value::BigInt(_)));
        assert!(is_canonical(&big));
        assert!(matches!(
            v(r#"{"int":"-9223372036854775809"}"#),
            Value::BigInt(_)
        ));
        assert!(!is_canonical(&Value::UInt(3)));
        assert!(value_from_json(&parse_json(r#"{"int":"1.0"}"#).unwrap()).is_err());
        assert!(value_from_json(&parse_json(r#"{"int":"+1"}"#).unwrap()).is_err());
    }

    #[test]
    fn floats_cover_specials_and_signed_zero() {
        assert!(same_value(&v(r#"{"float":"-0.0"}"#), &Value::Float(-0.0)));
        assert!(!same_value(&v(r#"{"float":"-0.0"}"#), &Value::Float(0.0)));
        assert!(same_value(
            &v(r#"{"float":"NaN"}"#),
            &Value::Float(f64::NAN)
        ));
        assert_eq!(v(r#"{"float":"Infinity"}"#), Value::Float(f64::INFINITY));
        assert_eq!(
            v(r#"{"float":"-Infinity"}"#),
            Value::Float(f64::NEG_INFINITY)
        );
        assert_eq!(v(r#"{"float":"1e+21"}"#), Value::Float(1e21));
        assert!(value_from_json(&parse_json(r#"{"float":"inf"}"#).unwrap()).is_err());
        assert!(!same_value(&Value::Float(1.0), &Value::Int(1)));
    }

    #[test]
    fn integers_compare_by_value_across_variants() {
        assert!(same_value(&Value::Int(5), &Value::BigInt(BigInt::from(5))));
        assert!(same_value(&Value::UInt(5), &Value::Int(5)));
        assert!(!same_value(&Value::Int(5), &Value::Int(6)));
    }

    #[test]
    fn records_map_items_both_ways() {
        let text = r#"{"record": [{"attr": ["a", {"extant": null}]}, {"slot": [{"text": "x"}, {"data": "AQI="}]}, {"bool": false}, {"absent": null}]}"#;
        let value = v(text);
        assert_eq!(
            value,
            Value::Record(vec![
                Item::Attr("a".into(), Value::Extant),
                Item::Slot(Value::Text("x".into()), Value::Data(vec![1, 2])),
                Item::Value(Value::Bool(false)),
                Item::Value(Value::Absent),
            ])
        );
        assert_eq!(value_to_json(&value).to_string(), text);
    }

    #[test]
    fn base64_is_strict_and_round_trips() {
        for bytes in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\xff\x00\xfe"] {
            let enc = encode_base64(bytes);
            assert_eq!(decode_base64(&enc).unwrap(), bytes, "{}", enc);
        }
        assert_eq!(encode_base64(b"fo"), "Zm8=");
        assert!(decode_base64("Zm8").is_err());
        assert!(decode_base64("Z===").is_err());
        assert!(decode_base64("Zm==Zm8=").is_err());
        assert!(decode_base64("Zm8*").is_err());
    }

    #[test]
    fn json_strings_join_surrogates_and_replace_lone_ones() {
        assert_eq!(
            parse_json(r#""\ud83d\ude00""#).unwrap(),
            Json::String("\u{1F600}".into())
        );
        assert_eq!(
            parse_json(r#""\ud800x""#).unwrap(),
            Json::String("\u{FFFD}x".into())
        );
        assert_eq!(
            parse_json(r#""\udc00\ud800\u0041""#).unwrap(),
            Json::String("\u{FFFD}\u{FFFD}A".into())
        );
    }

    #[test]
    fn json_rejects_malformed_documents() {
        for bad in [
            "", "{", "[1,]", "{\"a\"}", "01", "1.", "\"\\x\"", "tru", "{} x", "\"a\nb\"", "-",
        ] {
            assert!(parse_json(bad).is_err(), "{:?}", bad);
        }
        let deep = "[".repeat(MAX_JSON_DEPTH + 2);
        assert!(parse_json(&deep).is_err());
    }

    #[test]
    fn unknown_shapes_are_errors() {
        for bad in [
            r#"{"other": "x"}"#,
            r#"{"int": 1}"#,
            r#"{"int": "1", "text": "a"}"#,
            r#"{"record": [{"attr": ["a"]}]}"#,
            r#"{"record": [{"attr": [1, {"extant": null}]}]}"#,
            r#"{"extant": 0}"#,
            r#""text""#,
        ] {
            let json = parse_json(bad).unwrap();
            assert!(value_from_json(&json).is_err(), "{}", bad);
        }
    }

    #[test]
    fn envelopes_read_absent_prio_as_zero_and_nan_as_nan() {
        let json = parse_json(
            r#"{"tag": "link", "node": "/a", "lane": "b", "prio": "NaN", "rate": 10, "body": {"absent": null}}"#,
        )
        .unwrap();
        let env = ExpectedEnvelope::from_json(&json).unwrap();
        assert!(env.prio.is_nan());
        assert_eq!(env.rate, 10.0);
        let auth = parse_json(r#"{"tag": "auth", "body": {"int": "1"}}"#).unwrap();
        let env = ExpectedEnvelope::from_json(&auth).unwrap();
        assert_eq!((env.node, env.prio), (None, 0.0));
        let bad = parse_json(r#"{"tag": "auth", "body": {"int": "1"}, "x": 1}"#).unwrap();
        assert!(ExpectedEnvelope::from_json(&bad).is_err());
    }
}
