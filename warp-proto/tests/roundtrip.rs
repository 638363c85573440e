//! The Recon writer: printing then parsing gives the value back, the text stays in the portable
//! subset, the streaming writer writes what value printing writes, and the printed forms of the
//! RECON.md examples and the conformance vectors are pinned.
#![cfg(feature = "alloc")]

use std::fmt::Write as _;

use num_bigint::BigInt;
use proptest::prelude::*;
use warp_proto::recon::{ident, Error, ErrorKind, Item, Value, ValueWriter, Writer};

// ---------------------------------------------------------------------------------------------
// Helpers.

fn parse(text: &str) -> Result<Value, Error> {
    Value::parse(text)
}

fn print(v: &Value) -> String {
    match v.to_recon_string() {
        Ok(s) => s,
        Err(e) => panic!("printing {:?} failed: {}", v, e),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn rec(items: Vec<Item>) -> Value {
    Value::Record(items)
}

fn attr(name: &str, v: Value) -> Item {
    Item::Attr(name.to_string(), v)
}

fn slot(k: Value, v: Value) -> Item {
    Item::Slot(k, v)
}

fn val(v: Value) -> Item {
    Item::Value(v)
}

/// Structural equality with floats compared by bits (`-0.0` differs from `0.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Record(xs), Value::Record(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_item(x, y))
        }
        _ => a == b,
    }
}

fn same_item(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Attr(n, x), Item::Attr(m, y)) => n == m && same(x, y),
        (Item::Slot(k, x), Item::Slot(l, y)) => same(k, l) && same(x, y),
        (Item::Value(x), Item::Value(y)) => same(x, y),
        _ => false,
    }
}

/// The value that printing `v` reads back as (module docs of the writer): Extant at top level
/// reads back as Absent, Absent nested in a record reads back as Extant.
fn reads_back_as(v: &Value) -> Value {
    fn nested(v: &Value) -> Value {
        match v {
            Value::Absent => Value::Extant,
            Value::Record(items) => Value::Record(
                items
                    .iter()
                    .map(|item| match item {
                        Item::Attr(n, x) => Item::Attr(n.clone(), nested(x)),
                        Item::Slot(k, x) => Item::Slot(nested(k), nested(x)),
                        Item::Value(x) => Item::Value(nested(x)),
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    match v {
        Value::Extant | Value::Absent => Value::Absent,
        other => nested(other),
    }
}

/// Writes `v` through the streaming writer, item by item (big integers through
/// [`ValueWriter::value`], since the streaming writer has no big-integer method).
fn stream<W: std::fmt::Write>(v: &Value, w: ValueWriter<'_, W>) -> Result<(), Error> {
    match v {
        Value::Record(items) => w.record(|r| {
            for item in items {
                match item {
                    Item::Attr(name, x) => r.attr_with(name, |w| stream(x, w))?,
                    Item::Slot(k, x) => {
                        let value = r.slot_with(|w| stream(k, w))?;
                        stream(x, value)?;
                    }
                    Item::Value(x) => stream(x, r.item()?)?,
                }
            }
            Ok(())
        }),
        Value::Text(s) => w.text(s),
        Value::Int(i) => w.int(*i),
        Value::UInt(u) => w.uint(*u),
        Value::BigInt(_) => w.value(v),
        Value::Float(f) => w.float(*f),
        Value::Bool(b) => w.bool(*b),
        Value::Data(d) => w.data(d),
        Value::Extant | Value::Absent => w.extant(),
    }
}

fn streamed(v: &Value) -> Result<String, Error> {
    let mut w = Writer::new(String::new());
    stream(v, w.value())?;
    Ok(w.into_inner())
}

// ---------------------------------------------------------------------------------------------
// The portable subset, checked on the printed text.

fn is_portable_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i + 1),
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        let end = digits(i + 1);
        if end == i + 1 {
            return false;
        }
        i = end;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return false;
        }
        i = end;
    }
    i == b.len()
}

/// Scans the string whose opening quote is at `i`; returns the index after its closing quote.
fn scan_string(chars: &[char], mut i: usize) -> Result<usize, String> {
    i += 1;
    loop {
        match chars.get(i) {
            None => return Err("unterminated string".into()),
            Some('"') => return Ok(i + 1),
            Some('\\') => match chars.get(i + 1) {
                Some('"' | '\\' | 'b' | 'f' | 'n' | 'r' | 't') => i += 2,
                Some('u') => {
                    let hex: String = chars.iter().skip(i + 2).take(4).collect();
                    let unit = u32::from_str_radix(&hex, 16)
                        .map_err(|_| format!("bad \\u escape at {}", i))?;
                    if hex.len() != 4 || (0xD800..0xE000).contains(&unit) {
                        return Err(format!("bad \\u escape at {}", i));
                    }
                    i += 6;
                }
                other => return Err(format!("escape {:?} at {}", other, i)),
            },
            Some(&c) if c < ' ' => return Err(format!("raw control U+{:04X} in string", c as u32)),
            Some(_) => i += 1,
        }
    }
}

/// Checks that `text` uses only the portable subset of Recon (PROFILE.md, "Writing"): no
/// whitespace but one space between an attribute and a bare identifier, number or bool; strings
/// double-quoted with the portable escapes and no raw control characters; numbers in the
/// portable grammar; complete base64; no comments, markup, raw strings or expressions.
fn check_portable(text: &str) -> Result<(), String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    // Whether the previous token ended an attribute (its name or its `)`).
    let mut after_attr = false;
    while let Some(&c) = chars.get(i) {
        match c {
            '"' => {
                i = scan_string(&chars, i)?;
                after_attr = false;
            }
            '@' => {
                i += 1;
                match chars.get(i) {
                    Some('"') => i = scan_string(&chars, i)?,
                    Some(&c) if ident::is_ident_start(c) => {
                        while chars.get(i).is_some_and(|&c| ident::is_ident_char(c)) {
                            i += 1;
                        }
                    }
                    _ => return Err(format!("bad attribute name at {}", i)),
                }
                after_attr = chars.get(i) != Some(&'(');
            }
            ')' => {
                i += 1;
                after_attr = true;
            }
            ' ' => {
                if !after_attr {
                    return Err(format!("space not after an attribute at {}", i));
                }
                match chars.get(i + 1) {
                    Some(&c) if ident::is_ident_start(c) || c == '-' || c.is_ascii_digit() => {}
                    other => return Err(format!("space before {:?}", other)),
                }
                i += 1;
                after_attr = false;
            }
            '{' | '}' | '(' | ',' | ':' => {
                i += 1;
                after_attr = false;
            }
            '%' => {
                i += 1;
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || "+/=".contains(c))
                {
                    i += 1;
                }
                if (i - start) % 4 != 0 {
                    return Err("incomplete base64".into());
                }
                after_attr = false;
            }
            c if c == '-' || c.is_ascii_digit() => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|&c| c.is_ascii_digit() || "-+.eE".contains(c))
                {
                    i += 1;
                }
                let number: String = chars.iter().skip(start).take(i - start).collect();
                if !is_portable_number(&number) {
                    return Err(format!("number {:?} is not portable", number));
                }
                after_attr = false;
            }
            c if ident::is_ident_start(c) => {
                while chars.get(i).is_some_and(|&c| ident::is_ident_char(c)) {
                    i += 1;
                }
                after_attr = false;
            }
            other => {
                return Err(format!(
                    "{:?} at {} is outside the portable subset",
                    other, i
                ))
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generated values.

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z_][a-zA-Z0-9_-]{0,6}",
        1 => Just("true".to_string()),
        1 => Just("false".to_string()),
        1 => Just(String::new()),
        1 => "-?[0-9]{1,4}(\\.[0-9])?",
        2 => "[a-z_é日\u{300}\u{b7}\u{203f}\u{d7}\u{f7}\u{f0000}😀0-9 @:,{}()#$%\\[\\]-]{1,6}",
        2 => "[\"\\\\\u{0}-\u{1f}\u{7f}\u{80}\u{2028} a']{0,6}",
        1 => prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ]
}

fn arb_big() -> impl Strategy<Value = BigInt> {
    (any::<bool>(), prop::collection::vec(any::<u32>(), 3..6)).prop_filter_map(
        "outside i64 and u64",
        |(negative, digits)| {
            let magnitude = num_bigint::BigUint::new(digits);
            let sign = if negative {
                num_bigint::Sign::Minus
            } else {
                num_bigint::Sign::Plus
            };
            let b = BigInt::from_biguint(sign, magnitude);
            let in_range = i64::try_from(&b).is_ok() || u64::try_from(&b).is_ok();
            (!in_range).then_some(b)
        },
    )
}

fn arb_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>().prop_filter("finite", |f| f.is_finite()),
        2 => (-4000i32..4000).prop_map(|n| f64::from(n) / 8.0),
        1 => prop::sample::select(vec![
            0.0,
            -0.0,
            1.0,
            0.1,
            1e16,
            1e21,
            1.5e-7,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
        ]),
    ]
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => arb_text().prop_map(Value::Text),
        3 => any::<i64>().prop_map(Value::Int),
        1 => ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInt),
        1 => arb_big().prop_map(Value::BigInt),
        3 => arb_float().prop_map(Value::Float),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(Value::Data),
        2 => Just(Value::Extant),
        1 => Just(Value::Absent),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(4, 48, 5, |inner| {
        let item = prop_oneof![
            2 => (arb_text(), inner.clone()).prop_map(|(n, v)| Item::Attr(n, v)),
            2 => (inner.clone(), inner.clone()).prop_map(|(k, v)| Item::Slot(k, v)),
            3 => inner.prop_map(Item::Value),
        ];
        prop::collection::vec(item, 0..5).prop_map(Value::Record)
    })
}

// ---------------------------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn printed_value_parses_back_to_the_same_value(v in arb_value()) {
        let printed = print(&v);
        let back = parse(&printed);
        let expected = reads_back_as(&v);
        prop_assert!(
            matches!(&back, Ok(b) if same(b, &expected)),
            "value {:?}\nprinted {:?}\nread back {:?}", v, printed, back
        );
    }

    #[test]
    fn printed_text_stays_in_the_portable_subset(v in arb_value()) {
        let printed = print(&v);
        if let Err(why) = check_portable(&printed) {
            prop_assert!(false, "{:?} printed {:?}: {}", v, printed, why);
        }
    }

    #[test]
    fn printing_is_idempotent_through_the_parser(v in arb_value()) {
        let once = print(&v);
        let again = parse(&once).map(|back| print(&back));
        prop_assert_eq!(again, Ok(once));
    }

    #[test]
    fn streaming_writer_writes_what_value_printing_writes(v in arb_value()) {
        prop_assert_eq!(streamed(&v), Ok(print(&v)));
    }

    #[test]
    fn display_and_write_to_agree(v in arb_value()) {
        let mut s = String::new();
        prop_assert!(v.write_to(&mut s).is_ok());
        prop_assert_eq!(v.to_string(), s);
    }

    #[test]
    fn write_to_slice_fits_or_says_how_much_is_required(v in arb_value(), size in 0usize..64) {
        let full = print(&v);
        let mut buf = vec![0u8; size];
        match v.write_to_slice(&mut buf) {
            Ok(n) => prop_assert_eq!(buf.get(..n), Some(full.as_bytes())),
            Err(e) => {
                prop_assert!(full.len() > size, "{:?} fits {} bytes, yet {}", full, size, e);
                prop_assert_eq!(e.kind, ErrorKind::BufferTooSmall { required: full.len() });
                prop_assert!(e.offset <= size);
                // The slice holds a prefix of the text.
                prop_assert_eq!(buf.get(..e.offset), full.as_bytes().get(..e.offset));
            }
        }
    }

    #[test]
    fn streaming_into_a_slice_reports_the_size_required(v in arb_value(), size in 0usize..64) {
        let full = print(&v);
        let mut buf = vec![0u8; size];
        let mut w = Writer::for_slice(&mut buf);
        prop_assert!(stream(&v, w.value()).is_ok());
        match w.finish() {
            Ok(n) => {
                prop_assert_eq!(n, full.len());
                prop_assert_eq!(buf.get(..n), Some(full.as_bytes()));
            }
            Err(e) => {
                prop_assert!(full.len() > size);
                prop_assert_eq!(e.kind, ErrorKind::BufferTooSmall { required: full.len() });
            }
        }
    }

    #[test]
    fn integers_print_in_decimal(i in any::<i64>(), u in any::<u64>(), shift in 0u32..64) {
        let small = i >> shift;
        prop_assert_eq!(print(&Value::Int(i)), i.to_string());
        prop_assert_eq!(print(&Value::Int(small)), small.to_string());
        prop_assert_eq!(print(&Value::UInt(u)), u.to_string());
        prop_assert_eq!(print(&Value::UInt(u >> shift)), (u >> shift).to_string());
        let mut s = String::new();
        let mut w = Writer::new(&mut s);
        prop_assert!(w.value().uint(u >> shift).is_ok());
        prop_assert_eq!(s, (u >> shift).to_string());
    }

    #[test]
    fn finite_floats_print_as_portable_float_literals(f in any::<f64>()) {
        let printed = Value::Float(f).to_recon_string();
        if f.is_finite() {
            let s = printed.unwrap_or_default();
            prop_assert!(is_portable_number(&s) && s.contains(['.', 'e']), "{:?}", s);
            prop_assert_eq!(s.parse::<f64>().map(f64::to_bits), Ok(f.to_bits()));
        } else {
            prop_assert_eq!(printed.map_err(|e| e.kind), Err(ErrorKind::NonFiniteFloat));
        }
    }

    #[test]
    fn text_is_bare_exactly_when_it_is_an_identifier_other_than_true_or_false(s in arb_text()) {
        let printed = print(&Value::Text(s.clone()));
        if ident::is_bare_text(&s) {
            prop_assert_eq!(printed, s);
        } else {
            prop_assert!(printed.starts_with('"') && printed.ends_with('"'), "{:?}", printed);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pinned forms.

#[track_caller]
fn prints(v: Value, expected: &str) {
    assert_eq!(print(&v), expected, "printing {:?}", v);
    assert_eq!(streamed(&v).as_deref(), Ok(expected), "streaming {:?}", v);
}

#[test]
fn recon_md_examples_print_as_the_references_print_them() {
    // RECON.md 3.3: identical in Java, JavaScript and Rust.
    prints(
        rec(vec![
            slot(text("a"), Value::Int(1)),
            slot(text("b"), Value::Int(2)),
        ]),
        "{a:1,b:2}",
    );
    prints(
        rec(vec![
            val(Value::Int(1)),
            val(Value::Int(2)),
            val(Value::Int(3)),
        ]),
        "{1,2,3}",
    );
    prints(rec(vec![attr("a", Value::Extant)]), "@a");
    prints(
        rec(vec![attr(
            "a",
            rec(vec![
                slot(text("x"), Value::Int(1)),
                slot(text("y"), Value::Int(2)),
            ]),
        )]),
        "@a(x:1,y:2)",
    );
    prints(
        rec(vec![attr(
            "a",
            rec(vec![val(Value::Int(1)), val(Value::Int(2))]),
        )]),
        "@a(1,2)",
    );
    prints(rec(vec![attr("a", rec(vec![]))]), "@a({})");
    prints(
        rec(vec![attr("a", Value::Extant), val(Value::Int(1))]),
        "@a 1",
    );
    prints(
        rec(vec![
            val(rec(vec![attr("a", Value::Extant)])),
            val(Value::Int(2)),
        ]),
        "{@a,2}",
    );
    prints(
        rec(vec![slot(
            text("x"),
            rec(vec![attr("a", Value::Extant), val(Value::Int(1))]),
        )]),
        "{x:@a 1}",
    );
    prints(text("A"), "A");
    prints(text("two words"), "\"two words\"");
    prints(Value::Data(vec![1]), "%AQ==");
    prints(Value::Float(0.1), "0.1");
}

#[test]
fn attributes_and_their_arguments_print_in_the_profile_form() {
    // A one-item record argument keeps its braces (Java/JS print `@a(1)`, which reads as 1).
    prints(
        rec(vec![attr("a", rec(vec![val(Value::Int(1))]))]),
        "@a({1})",
    );
    prints(
        rec(vec![attr(
            "a",
            rec(vec![
                attr("b", Value::Extant),
                slot(text("c"), Value::Int(1)),
            ]),
        )]),
        "@a(@b{c:1})",
    );
    prints(
        rec(vec![attr(
            "a",
            rec(vec![
                val(rec(vec![attr("b", Value::Extant)])),
                val(rec(vec![attr("c", Value::Extant)])),
            ]),
        )]),
        "@a(@b,@c)",
    );
    prints(
        rec(vec![attr(
            "a",
            rec(vec![val(rec(vec![attr("b", Value::Extant)]))]),
        )]),
        "@a({@b})",
    );
    prints(
        rec(vec![attr("a", rec(vec![slot(text("x"), Value::Extant)]))]),
        "@a(x:)",
    );
    prints(
        rec(vec![attr(
            "a",
            rec(vec![slot(Value::Extant, Value::Int(1)), val(Value::Int(2))]),
        )]),
        "@a({:1,2})",
    );
    prints(
        rec(vec![attr(
            "a",
            rec(vec![val(Value::Int(1)), val(Value::Extant)]),
        )]),
        "@a({1,,})",
    );
    prints(rec(vec![attr("a b", Value::Int(1))]), "@\"a b\"(1)");
    prints(rec(vec![attr("true", Value::Extant)]), "@\"true\"");
    prints(rec(vec![attr("a", text("s"))]), "@a(s)");
    prints(rec(vec![attr("a", Value::Float(1.5))]), "@a(1.5)");
    prints(rec(vec![attr("a", Value::Absent)]), "@a");
    prints(
        rec(vec![
            attr("a", Value::Int(1)),
            attr("b", Value::Int(2)),
            val(Value::Int(3)),
        ]),
        "@a(1)@b(2) 3",
    );
    prints(
        rec(vec![
            attr(
                "event",
                rec(vec![
                    slot(text("node"), text("/a")),
                    slot(text("lane"), text("b")),
                ]),
            ),
            val(Value::Int(1)),
        ]),
        "@event(node:\"/a\",lane:b) 1",
    );
}

#[test]
fn values_after_attributes_are_bare_or_braced() {
    prints(
        rec(vec![attr("a", Value::Extant), val(text("two words"))]),
        "@a\"two words\"",
    );
    prints(
        rec(vec![attr("a", Value::Extant), val(text("hello"))]),
        "@a hello",
    );
    prints(
        rec(vec![attr("a", Value::Extant), val(Value::Bool(true))]),
        "@a true",
    );
    prints(
        rec(vec![attr("a", Value::Extant), val(Value::Float(-1.5))]),
        "@a -1.5",
    );
    prints(
        rec(vec![attr("a", Value::Extant), val(Value::Data(vec![1]))]),
        "@a%AQ==",
    );
    prints(
        rec(vec![attr("a", Value::Extant), val(rec(vec![]))]),
        "@a{{}}",
    );
    prints(
        rec(vec![attr("a", Value::Extant), val(Value::Extant)]),
        "@a{,}",
    );
    prints(
        rec(vec![
            attr("a", Value::Extant),
            slot(text("x"), Value::Int(1)),
        ]),
        "@a{x:1}",
    );
    prints(
        rec(vec![
            attr("a", Value::Extant),
            val(Value::Int(1)),
            val(Value::Int(2)),
        ]),
        "@a{1,2}",
    );
    prints(
        rec(vec![
            attr("a", Value::Extant),
            val(rec(vec![attr("b", Value::Extant), val(Value::Int(1))])),
        ]),
        "@a{@b 1}",
    );
    // Attributes after other items (Java/JS only).
    prints(
        rec(vec![val(Value::Int(1)), attr("a", Value::Extant)]),
        "{1}@a",
    );
    prints(
        rec(vec![
            attr("a", Value::Extant),
            val(Value::Int(1)),
            attr("b", Value::Extant),
        ]),
        "@a{1}@b",
    );
    prints(
        rec(vec![
            attr("a", Value::Extant),
            slot(text("x"), Value::Int(1)),
            attr("b", Value::Extant),
            val(text("y")),
        ]),
        "@a{x:1}@b y",
    );
}

#[test]
fn empty_positions_and_records_print_so_they_read_back() {
    prints(rec(vec![]), "{}");
    prints(rec(vec![val(rec(vec![]))]), "{{}}");
    prints(
        rec(vec![val(text("a")), val(Value::Extant), val(text("b"))]),
        "{a,,b}",
    );
    prints(rec(vec![val(text("a")), val(Value::Extant)]), "{a,,}");
    prints(rec(vec![val(Value::Extant)]), "{,}");
    prints(rec(vec![val(Value::Extant), val(text("a"))]), "{,a}");
    prints(rec(vec![slot(text("a"), Value::Extant)]), "{a:}");
    prints(rec(vec![slot(Value::Extant, Value::Int(1))]), "{:1}");
    prints(rec(vec![slot(Value::Extant, Value::Extant)]), "{:}");
    prints(
        rec(vec![slot(rec(vec![val(text("a"))]), Value::Int(1))]),
        "{{a}:1}",
    );
    prints(rec(vec![val(Value::Absent)]), "{,}");
    prints(rec(vec![slot(text("a"), Value::Absent)]), "{a:}");
    prints(Value::Absent, "");
    prints(Value::Extant, "");
}

#[test]
fn scalars_print_in_the_portable_form() {
    prints(text(""), "\"\"");
    prints(text("true"), "\"true\"");
    prints(text("false"), "\"false\"");
    prints(text("123"), "\"123\"");
    prints(text("a-b"), "a-b");
    prints(text("é"), "é");
    prints(text("\u{300}a"), "\"\u{300}a\"");
    prints(text("a\"b\\c"), "\"a\\\"b\\\\c\"");
    prints(text("\u{8}\u{c}\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
    prints(text("\u{0}\u{1}\u{1f}"), "\"\\u0000\\u0001\\u001f\"");
    prints(text("\u{7f}"), "\"\u{7f}\"");
    prints(text("a😀"), "a😀");
    prints(Value::Int(i64::MIN), "-9223372036854775808");
    prints(Value::Int(0), "0");
    for n in [
        9u64,
        10,
        99,
        100,
        9_999,
        10_000,
        99_999_999,
        100_000_000,
        u64::from(u32::MAX),
    ] {
        prints(Value::Int(n as i64), &n.to_string());
        prints(Value::Int(-(n as i64)), &format!("-{}", n));
    }
    for n in [
        1u64 << 32,
        100_000_000_000_000_000,
        10_000_000_000_000_000_000,
        u64::MAX,
    ] {
        let v = i64::try_from(n).map(Value::Int).unwrap_or(Value::UInt(n));
        prints(v, &n.to_string());
    }
    prints(Value::UInt(u64::MAX), "18446744073709551615");
    prints(
        Value::BigInt(BigInt::from(-(1i128 << 70))),
        "-1180591620717411303424",
    );
    prints(Value::Float(1.0), "1.0");
    prints(Value::Float(-0.0), "-0.0");
    prints(Value::Float(1e21), "1e21");
    prints(Value::Float(1.5e-7), "1.5e-7");
    // Ryu's layout: plain decimals from 1e-5 up to 1e16, an exponent outside.
    prints(Value::Float(0.00001), "0.00001");
    prints(Value::Float(0.000001), "1e-6");
    prints(Value::Float(1e15), "1000000000000000.0");
    prints(Value::Float(1e16), "1e16");
    prints(Value::Float(3135000000000.0), "3135000000000.0");
    prints(Value::Float(5e-324), "5e-324");
    prints(Value::Float(f64::MAX), "1.7976931348623157e308");
    prints(Value::Bool(false), "false");
    prints(Value::Data(vec![]), "%");
    prints(Value::Data(vec![1, 2]), "%AQI=");
    prints(Value::Data(vec![1, 2, 3]), "%AQID");
    prints(
        Value::Data((0..=255).collect()),
        &format!("%{}", base64_of(&(0..=255).collect::<Vec<u8>>())),
    );
}

/// Base64 by the textbook method, to check the writer's blockwise encoder.
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = String::new();
    for b in bytes {
        write!(bits, "{:08b}", b).unwrap_or_default();
    }
    while bits.len() % 6 != 0 {
        bits.push('0');
    }
    let mut out = String::new();
    for chunk in bits.as_bytes().chunks(6) {
        let six = chunk
            .iter()
            .fold(0usize, |n, &b| n * 2 + usize::from(b == b'1'));
        out.push(char::from(ALPHABET[six]));
    }
    while out.len() % 4 != 0 {
        out.push('=');
    }
    out
}

#[test]
fn non_finite_floats_are_refused_with_their_offset() {
    for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let v = rec(vec![slot(text("a"), Value::Float(f))]);
        let e = v.to_recon_string().unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::NonFiniteFloat, 3));
        let mut buf = [0u8; 16];
        assert_eq!(
            v.write_to_slice(&mut buf).unwrap_err().kind,
            ErrorKind::NonFiniteFloat
        );
        assert_eq!(streamed(&v).unwrap_err(), e);
        let mut s = String::new();
        assert!(write!(s, "{}", v).is_err());
    }
}

#[test]
fn a_failing_sink_is_reported_as_fmt_at_its_offset() {
    struct Limited(usize);
    impl std::fmt::Write for Limited {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 = self.0.checked_sub(s.len()).ok_or(std::fmt::Error)?;
            Ok(())
        }
    }
    let v = rec(vec![
        slot(text("a"), Value::Int(1)),
        slot(text("b"), Value::Int(2)),
    ]);
    let e = v.write_to(&mut Limited(5)).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Fmt, 5));
}

#[test]
fn streaming_writer_writes_an_envelope_without_allocating() {
    let mut buf = [0u8; 64];
    let mut w = Writer::for_slice(&mut buf);
    w.value()
        .record(|r| {
            r.attr_with("command", |v| {
                v.record(|h| {
                    h.slot("node")?.text("/unit/1")?;
                    h.slot("lane")?.text("light")
                })
            })?;
            r.item()?.bool(true)
        })
        .unwrap();
    let n = w.finish().unwrap();
    assert_eq!(&buf[..n], b"@command(node:\"/unit/1\",lane:light) true");

    let mut small = [0u8; 10];
    let mut w = Writer::for_slice(&mut small);
    w.value()
        .record(|r| r.slot("key")?.text("a value that does not fit"))
        .unwrap();
    assert_eq!(
        w.finish().unwrap_err().kind,
        ErrorKind::BufferTooSmall { required: 33 }
    );
}

// ---------------------------------------------------------------------------------------------
// The conformance vectors.

#[test]
fn vector_values_print_in_a_reference_canonical_form_and_read_back() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../conformance/vectors/recon_valid.jsonl"
    );
    let lines = std::fs::read_to_string(path).expect("recon_valid.jsonl");
    let mut checked = 0;
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let json: serde_json::Value = serde_json::from_str(line).expect("vector line is JSON");
        let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_string);
        let recon = field("recon").expect("recon field");
        let v = parse(&recon).unwrap_or_else(|e| panic!("{:?} does not parse: {}", recon, e));
        let non_finite = matches!(v, Value::Float(f) if !f.is_finite());
        if non_finite {
            let e = v.to_recon_string().unwrap_err();
            assert_eq!(e.kind, ErrorKind::NonFiniteFloat, "{:?}", recon);
            continue;
        }
        let printed = print(&v);
        match field("canonical") {
            Some(canonical) => assert_eq!(printed, canonical, "printing {:?}", recon),
            None => {
                // The references disagree; ours is one of theirs (PROFILE.md: `1.0` like Rust,
                // `@a({1})` like Rust, `@"a b"` and `@a{{}}` like Java/JS).
                let options: Vec<String> = ["canonical_java", "canonical_js", "canonical_rust"]
                    .iter()
                    .filter_map(|n| field(n))
                    .collect();
                assert!(
                    options.contains(&printed),
                    "{:?} printed {:?}, not one of {:?}",
                    recon,
                    printed,
                    options
                );
            }
        }
        let back =
            parse(&printed).unwrap_or_else(|e| panic!("{:?} does not parse: {}", printed, e));
        assert!(
            same(&back, &v),
            "{:?} printed {:?} read back as {:?}",
            v,
            printed,
            back
        );
        check_portable(&printed).unwrap_or_else(|why| panic!("{:?}: {}", printed, why));
        checked += 1;
    }
    assert!(checked >= 190, "only {} vectors checked", checked);
}
