//! Random values written in random valid Recon spellings (all the block, splice, postfix
//! attribute, separator, comment, string and number forms) read back as the same value; and the
//! body reader agrees with the body rule applied to a whole envelope record.
//!
//! This checks the reader's lookahead: whether a block or body is one value or a record is
//! decided before its first item is read, and every spelling below exercises that decision.
#![cfg(feature = "alloc")]

use num_bigint::BigInt;
use proptest::prelude::*;
use warp_proto::recon::ident::is_bare_text;
use warp_proto::recon::{Item, Value};

/// A small deterministic generator for the spelling choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.next() % n == 0
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

struct Spell {
    out: String,
    rng: Rng,
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut s = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for k in 0..4 {
            if k <= chunk.len() {
                s.push(BASE64[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn is_plain(item: &Item) -> bool {
    matches!(item, Item::Value(v) if !v.is_record() && !v.is_extant())
}

/// Whether `items` may be written as a block (document or attribute arguments): no attributes
/// (a block item `@a` is a record of its own), no empty positions, and not a lone plain value
/// (which would read as that value).
fn block_form_ok(items: &[Item]) -> bool {
    let no_empties = items.iter().all(|i| match i {
        Item::Attr(..) => false,
        Item::Value(v) => !v.is_extant(),
        Item::Slot(k, _) => !k.is_extant(),
    });
    no_empties && (items.len() >= 2 || matches!(items, [Item::Slot(..)]))
}

impl Spell {
    fn new(seed: u64) -> Self {
        Spell {
            out: String::new(),
            rng: Rng(seed | 1),
        }
    }

    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn spaces(&mut self) {
        let s = self.rng.pick(&["", "", "", " ", "\t", "  "]);
        self.push(s);
    }

    /// Blank space where newlines and comments are allowed (after an opening or a separator).
    fn blank(&mut self) {
        let s = self
            .rng
            .pick(&["", "", " ", "\n", "\n  ", " # note\n", "\r\n"]);
        self.push(s);
    }

    fn separator(&mut self, after_empty: bool) {
        let s = if after_empty {
            self.rng.pick(&[",", ";", " ,", ", "])
        } else {
            self.rng
                .pick(&[",", ";", "\n", ", ", " ;", ",\n", " # c\n", "\r\n", "\n\n"])
        };
        self.push(s);
    }

    fn text(&mut self, s: &str) {
        if is_bare_text(s) && !self.rng.one_in(4) {
            return self.push(s);
        }
        let has_control = s.chars().any(|c| (c as u32) < 0x20);
        match self.rng.next() % 6 {
            0 if !has_control => {
                self.push("`");
                for c in s.chars() {
                    match c {
                        '`' => self.push("\\`"),
                        '\\' => self.push("\\\\"),
                        c => self.out.push(c),
                    }
                }
                self.push("`");
            }
            1 if !s.ends_with('\\') => {
                self.push("```");
                for c in s.chars() {
                    match c {
                        '`' => self.push("\\`"),
                        '\\' => self.push("\\\\"),
                        c => self.out.push(c),
                    }
                }
                self.push("```");
            }
            k => {
                let quote = if k == 2 { '\'' } else { '"' };
                self.out.push(quote);
                for c in s.chars() {
                    match c {
                        '\\' => self.push("\\\\"),
                        '\n' => self.push("\\n"),
                        '\t' => self.push("\\t"),
                        c if c == quote => {
                            self.out.push('\\');
                            self.out.push(c);
                        }
                        c if (c as u32) < 0x20 || self.rng.one_in(8) => {
                            let mut units = [0u16; 2];
                            for u in c.encode_utf16(&mut units) {
                                let esc = if self.rng.one_in(2) {
                                    format!("\\u{:04x}", u)
                                } else {
                                    format!("\\u{:04X}", u)
                                };
                                self.push(&esc);
                            }
                        }
                        '/' | '@' | '$' | '{' | '}' | '[' | ']' if self.rng.one_in(2) => {
                            self.out.push('\\');
                            self.out.push(c);
                        }
                        c => self.out.push(c),
                    }
                }
                self.out.push(quote);
            }
        }
    }

    /// A value where an item starts. Extant writes nothing (the caller knows the context).
    fn value(&mut self, v: &Value) {
        match v {
            Value::Record(items) => self.record(items),
            Value::Text(s) => self.text(s),
            Value::Int(i) => {
                let s = match self.rng.next() % 4 {
                    0 if *i >= 0 => format!("0x{i:x}"),
                    1 if *i < 0 && *i != i64::MIN => format!("-0x{:X}", -i),
                    _ => i.to_string(),
                };
                self.push(&s);
            }
            Value::UInt(u) => {
                let s = if self.rng.one_in(2) {
                    format!("0x{u:x}")
                } else {
                    u.to_string()
                };
                self.push(&s);
            }
            Value::BigInt(b) => self.push(&b.to_string()),
            Value::Float(f) => self.push(&format!("{f:?}")),
            Value::Bool(b) => self.push(if *b { "true" } else { "false" }),
            Value::Data(d) => {
                let s = format!("%{}", base64(d));
                self.push(&s);
            }
            Value::Extant | Value::Absent => {}
        }
    }

    fn record(&mut self, items: &[Item]) {
        let has_attr = items.iter().any(|i| matches!(i, Item::Attr(..)));
        if has_attr || (self.rng.one_in(3) && !items.is_empty()) {
            self.segments(items, false);
        } else {
            self.braces(items);
        }
    }

    /// `{items}` (no attribute items).
    fn braces(&mut self, items: &[Item]) {
        self.push("{");
        for (k, item) in items.iter().enumerate() {
            self.blank();
            let empty = match item {
                Item::Value(v) => {
                    self.value(v);
                    v.is_extant()
                }
                Item::Slot(key, value) => {
                    self.value(key);
                    self.spaces();
                    self.push(":");
                    self.spaces();
                    self.value(value);
                    false
                }
                Item::Attr(..) => unreachable!("braces hold no attributes"),
            };
            if k + 1 < items.len() {
                self.spaces();
                self.separator(empty);
            } else if empty {
                self.push(",");
            } else if self.rng.one_in(4) {
                self.separator(false);
            }
        }
        self.blank();
        self.push("}");
    }

    /// The items of a record as an item: attributes in line, the runs between them as `{…}`
    /// splices or, for a lone plain value next to an attribute, bare. `after_attr`: the first
    /// segment follows an attribute written by the caller. Returns the length of the output
    /// after the first segment.
    fn segments(&mut self, items: &[Item], after_attr: bool) -> usize {
        let mut first_end = None;
        let mut prev_attr = after_attr;
        let mut k = 0;
        while k < items.len() {
            if let Item::Attr(name, value) = &items[k] {
                if k > 0 {
                    self.spaces();
                }
                self.attr(name, value);
                prev_attr = true;
                k += 1;
                // An empty splice adds nothing: `@a{}` is `@a`.
                let next_is_run = items.get(k).is_some_and(|i| !matches!(i, Item::Attr(..)));
                if !next_is_run && self.rng.one_in(5) {
                    self.push("{}");
                }
            } else {
                let run_end = items[k..]
                    .iter()
                    .position(|i| matches!(i, Item::Attr(..)))
                    .map_or(items.len(), |p| k + p);
                let run = &items[k..run_end];
                let next_attr = run_end < items.len();
                if run.len() == 1
                    && is_plain(&run[0])
                    && (prev_attr || next_attr)
                    && !self.rng.one_in(4)
                {
                    if prev_attr {
                        let gap = self.rng.pick(&[" ", "  ", "\t"]);
                        self.push(gap);
                    }
                    if let Item::Value(v) = &run[0] {
                        self.value(v);
                    }
                } else {
                    if prev_attr {
                        self.spaces();
                    }
                    self.braces(run);
                }
                prev_attr = false;
                k = run_end;
            }
            first_end.get_or_insert(self.out.len());
        }
        first_end.unwrap_or(self.out.len())
    }

    fn attr(&mut self, name: &str, value: &Value) {
        self.push("@");
        if is_bare_text(name) && !self.rng.one_in(5) {
            self.push(name);
        } else {
            let mut inner = Spell::new(self.rng.next());
            // Attribute names are never written bare here, so force a quoted form.
            inner.push("\"");
            for c in name.chars() {
                match c {
                    '"' => inner.push("\\\""),
                    '\\' => inner.push("\\\\"),
                    c if (c as u32) < 0x20 => inner.push(&format!("\\u{:04x}", c as u32)),
                    c => inner.out.push(c),
                }
            }
            inner.push("\"");
            self.push(&inner.out);
        }
        match value {
            Value::Extant => {
                let s = self.rng.pick(&["", "", "()", "( )", "(\n)"]);
                self.push(s);
            }
            Value::Record(items) if block_form_ok(items) && !self.rng.one_in(3) => {
                self.push("(");
                self.blank();
                self.block(items);
                self.blank();
                self.push(")");
            }
            Value::Record(items) => {
                self.push("(");
                self.blank();
                // A record argument that is not written as a block needs its own braces (or
                // attribute form), never bare items.
                if items.iter().any(|i| matches!(i, Item::Attr(..))) {
                    self.segments(items, false);
                } else {
                    self.braces(items);
                }
                self.blank();
                self.push(")");
            }
            v => {
                self.push("(");
                self.spaces();
                self.value(v);
                self.spaces();
                self.push(")");
            }
        }
    }

    /// Block items (document or arguments), separated; see `block_form_ok`.
    fn block(&mut self, items: &[Item]) {
        for (k, item) in items.iter().enumerate() {
            if k > 0 {
                self.spaces();
                self.separator(false);
                self.blank();
            }
            match item {
                Item::Value(v) => self.value(v),
                Item::Slot(key, value) => {
                    self.value(key);
                    self.spaces();
                    self.push(":");
                    self.spaces();
                    self.value(value);
                }
                Item::Attr(..) => unreachable!(),
            }
        }
        if self.rng.one_in(4) {
            self.spaces();
            self.separator(false);
        }
    }

    fn document(&mut self, v: &Value) {
        self.blank();
        match v {
            Value::Record(items) if block_form_ok(items) && self.rng.one_in(2) => self.block(items),
            v => {
                self.value(v);
                if self.rng.one_in(4) {
                    self.spaces();
                    self.separator(false);
                }
            }
        }
        self.blank();
    }
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z_][a-z0-9_-]{0,6}".prop_map(Value::Text),
        any::<String>().prop_map(Value::Text),
        any::<i64>().prop_map(Value::Int),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInt),
        (any::<i64>(), 1u32..4).prop_map(|(i, shift)| {
            let big =
                BigInt::from(i) * BigInt::from(u64::MAX).pow(shift) + BigInt::from(i.signum());
            Value::int_from_big(big)
        }),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Bool),
        proptest::collection::vec(any::<u8>(), 0..7).prop_map(Value::Data),
        Just(Value::Extant),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-z][a-z0-9]{0,4}", 1 => any::<String>()]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 40, 5, |inner| {
        proptest::collection::vec(
            prop_oneof![
                inner.clone().prop_map(Item::Value),
                (inner.clone(), inner.clone()).prop_map(|(k, v)| Item::Slot(k, v)),
                (name(), inner).prop_map(|(n, v)| Item::Attr(n, v)),
            ],
            0..5,
        )
        .prop_map(Value::Record)
    })
}

/// The body rule of WARP.md 2.1 over the items after the tag.
fn body_of(items: &[Item]) -> Value {
    match items {
        [] => Value::Absent,
        [Item::Value(v)] => v.clone(),
        items => Value::Record(items.to_vec()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: ProptestConfig::default().cases.max(2000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_spelling_reads_back(v in value(), seed in any::<u64>()) {
        prop_assume!(!v.is_extant());
        let mut spell = Spell::new(seed);
        spell.document(&v);
        let text = spell.out;
        let read = Value::parse(&text);
        prop_assert_eq!(read.as_ref().ok(), Some(&v), "text {:?}: {:?}", text, read);
    }

    #[test]
    fn a_body_reads_as_the_rest_of_its_envelope(
        tag in name(),
        tag_value in value(),
        rest in proptest::collection::vec(
            prop_oneof![
                value().prop_map(Item::Value),
                (value(), value()).prop_map(|(k, v)| Item::Slot(k, v)),
                (name(), value()).prop_map(|(n, v)| Item::Attr(n, v)),
            ],
            0..4,
        ),
        seed in any::<u64>(),
    ) {
        let mut items = vec![Item::Attr(tag, tag_value)];
        items.extend(rest);
        let mut spell = Spell::new(seed);
        let header_end = spell.segments(&items, false);
        let frame = spell.out;
        let whole = Value::parse(&frame);
        prop_assert_eq!(whole.as_ref().ok(), Some(&Value::Record(items.clone())), "frame {:?}", frame);
        let body = &frame[header_end..];
        let read = Value::parse_body(body);
        prop_assert_eq!(read.as_ref().ok(), Some(&body_of(&items[1..])), "body {:?}", body);
        let spaced = format!("\n {body}");
        let read = Value::parse_body(&spaced);
        prop_assert_eq!(read.as_ref().ok(), Some(&body_of(&items[1..])), "body {:?}", spaced);
    }
}
