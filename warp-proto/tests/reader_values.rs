//! Values built from the reader, errors with their offsets, and depth limits.
#![cfg(feature = "alloc")]

use num_bigint::BigInt;
use warp_proto::recon::{
    Error, ErrorKind, Event, Expected, Found, Item, Reader, ReaderConfig, Value,
};

fn rec<const N: usize>(items: [Item; N]) -> Value {
    Value::record(items)
}

fn v(x: impl Into<Value>) -> Item {
    Item::value(x)
}

fn attr(name: &str) -> Item {
    Item::attr(name, Value::Extant)
}

fn parse(s: &str) -> Value {
    Value::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn err(s: &str) -> Error {
    match Value::parse(s) {
        Ok(v) => panic!("{s:?} parsed to {v:?}"),
        Err(e) => {
            assert!(
                e.offset <= s.len(),
                "{s:?}: offset {} beyond input",
                e.offset
            );
            e
        }
    }
}

#[test]
fn brief_examples() {
    assert_eq!(parse("a:1"), rec([Item::slot("a", 1)]));
    assert_eq!(parse("1,2"), rec([v(1), v(2)]));
    assert_eq!(parse("1,"), Value::Int(1));
    assert_eq!(parse("1 @a"), rec([v(1), attr("a")]));
    assert_eq!(
        parse("@a{x:1}@b"),
        rec([attr("a"), Item::slot("x", 1), attr("b")])
    );
    assert_eq!(parse("{a,,b}"), rec([v("a"), v(Value::Extant), v("b")]));
    assert_eq!(parse("{a,}"), rec([v("a")]));
    assert_eq!(parse("{,}"), rec([v(Value::Extant)]));
    assert_eq!(parse("{a\n,b}"), rec([v("a"), v(Value::Extant), v("b")]));
    assert_eq!(parse("{\n\n1\n\n}"), rec([v(1)]));
    assert_eq!(
        parse("{a:\n1}"),
        rec([Item::slot("a", Value::Extant), v(1)])
    );
    assert_eq!(
        parse("{a\n:1}"),
        rec([v("a"), Item::slot(Value::Extant, 1)])
    );
    assert_eq!(parse("@a()"), rec([attr("a")]));
    assert_eq!(parse("@a(1)"), rec([Item::attr("a", 1)]));
    assert_eq!(parse("@a(1,2)"), rec([Item::attr("a", rec([v(1), v(2)]))]));
    assert_eq!(parse("@a({1,2})"), parse("@a(1,2)"));
    assert_eq!(
        parse("@a(x:1)"),
        rec([Item::attr("a", rec([Item::slot("x", 1)]))])
    );
    assert_eq!(parse("@\"a b\""), rec([attr("a b")]));
}

#[test]
fn where_java_and_js_agree() {
    assert_eq!(parse("@a\n1"), rec([v(rec([attr("a")])), v(1)]));
    assert_eq!(parse("@a 1,2"), rec([v(rec([attr("a"), v(1)])), v(2)]));
    assert_eq!(parse("@a{1},2"), rec([v(rec([attr("a"), v(1)])), v(2)]));
    assert_eq!(parse("{@a:1}"), rec([Item::slot(rec([attr("a")]), 1)]));
    assert_eq!(parse("{[1]}"), rec([v(rec([v("1")]))]));
    assert_eq!(
        parse("@a({x:1}@b)"),
        rec([Item::attr("a", rec([Item::slot("x", 1), attr("b")]))])
    );
    assert_eq!(
        parse("first: 3,\nsecond: \"hello\",\n@name(7) { 1, 2, 3},\ntrue"),
        rec([
            Item::slot("first", 3),
            Item::slot("second", "hello"),
            v(rec([Item::attr("name", 7), v(1), v(2), v(3)])),
            v(true),
        ])
    );
    assert_eq!(parse("\"\\uD83D\\uDE00\""), Value::text("\u{1F600}"));
    assert_eq!(parse("\"\\ud800\""), Value::text("\u{FFFD}"));
    assert_eq!(
        parse("\"\\/\\'\\@\\$\\{\\}\\[\\]\""),
        Value::text("/'@${}[]")
    );
    assert_eq!(parse("'it\\'s'"), Value::text("it's"));
    assert_eq!(parse("-0"), Value::Int(0));
    assert_eq!(parse("-0x1"), Value::Int(-1));
    assert_eq!(parse("\"\u{7f}\""), Value::text("\u{7f}"));
}

#[test]
fn big_integers_are_exact_and_canonical() {
    assert_eq!(parse("9223372036854775807"), Value::Int(i64::MAX));
    assert_eq!(parse("9223372036854775808"), Value::UInt(1 << 63));
    assert_eq!(parse("-9223372036854775808"), Value::Int(i64::MIN));
    let big: BigInt = "-9223372036854775809".parse().unwrap();
    assert_eq!(parse("-9223372036854775809"), Value::BigInt(big));
    let big: BigInt = "123456789012345678901234567890".parse().unwrap();
    assert_eq!(parse("123456789012345678901234567890"), Value::BigInt(big));
    assert_eq!(parse("0xffffffffffffffff"), Value::UInt(u64::MAX));
    assert_eq!(
        parse("0x10000000000000000"),
        Value::BigInt(BigInt::from(u64::MAX) + 1)
    );
    assert_eq!(parse("-0x8000000000000000"), Value::Int(i64::MIN));
    assert_eq!(Value::from(u64::MAX), Value::UInt(u64::MAX));
    assert_eq!(Value::from(5u64), Value::Int(5));
    assert_eq!(Value::from(BigInt::from(7)), Value::Int(7));
}

#[test]
fn scalars() {
    assert_eq!(parse("%"), Value::Data(vec![]));
    assert_eq!(parse("%AQID"), Value::Data(vec![1, 2, 3]));
    assert_eq!(parse("%AQ=="), Value::Data(vec![1]));
    assert_eq!(parse("NaN"), Value::text("NaN"));
    assert_eq!(parse("1e309"), Value::Float(f64::INFINITY));
    assert_eq!(parse("-1e309"), Value::Float(f64::NEG_INFINITY));
    assert_eq!(parse("```a\nb```"), Value::text("a\nb"));
    assert_eq!(parse("[a\\nb]"), rec([v("a\nb")]));
    assert_eq!(parse("\u{65e5}\u{672c}"), Value::text("\u{65e5}\u{672c}"));
    assert_eq!(parse("a\u{b7}b"), Value::text("a\u{b7}b"));
}

#[test]
fn expressions_are_rejected_as_such() {
    for s in [
        "1 + 2",
        "1+2",
        "1 - 2",
        "2 * 3",
        "6 / 2",
        "7 % 2",
        "$a",
        "$.a",
        "!true",
        "~1",
        "1 < 2",
        "1 <= 2",
        "1 == 1",
        "1 != 2",
        "a ? b : c",
        "(1)",
        "(1, 2)",
        "x => x",
        "f(1)",
        "a && b",
        "a || b",
        "a & b",
        "a | b",
        "a ^ b",
        "$foo.bar",
        "$[0]",
        "$#1",
        "$*",
        "$**",
        "$;",
        "(a)",
        "1 > 2",
        "1 >= 2",
        "+1",
        "+1.5",
        "-Infinity",
        "-inf",
        "-a",
        "- 1",
        "--1",
        "@a (1)",
        "@a(1)(2)",
        "{a:-b}",
        "{x:(1)}",
        "@a(1+2)",
        "%-_-_",
        "{a -1}",
        "@a $b",
    ] {
        assert_eq!(err(s).kind, ErrorKind::ExpressionNotSupported, "{s:?}");
    }
}

#[test]
fn invalid_input_is_rejected() {
    for s in [
        "007",
        "00",
        "1.",
        "1.e5",
        ".5",
        "-.5",
        "1.2.3",
        "1e5.5",
        "0XFF",
        "0x",
        "0xg",
        "0b101",
        "0x1.5",
        "\u{b7}a",
        "\u{300}a",
        "a\u{d7}",
        "1a",
        "a.b",
        "a b",
        "\"\\u00\"",
        "\"\\uu0041\"",
        "\"line\nbreak\"",
        "\"tab\there\"",
        "\"a\"b",
        "\"a\" \"b\"",
        "%A",
        "%AB",
        "%ABC",
        "%AB=",
        "%A===",
        "%AQ==AQ==",
        "%AQ=",
        "% AQ==",
        "%====",
        "{a:1}}",
        "{1}{2}",
        "{a}b",
        "@a(,)",
        "@a(:1)",
        "@a(1))",
        "@a)",
        "@a 1 2",
        "@a{1}{2}",
        "@a{1} 2",
        "@true",
        "@false(1)",
        "1 2",
        "{a} b",
        "a::b",
        "a.b.c",
        "{a:1,b:2,c}}x",
        "{%}x",
        "{:,:}x",
        "@a{1}@",
        "1,,2",
        ",1",
        ":1",
        "`a\nb`",
        "```abc",
        "[a}",
        "[a",
        "@a(#c\n1",
        "\"\\u12\"",
        "{a:b:c}",
    ] {
        err(s);
    }
}

#[test]
fn errors_name_the_place_and_display_readably() {
    let e = err("{a:1,b:2,c:3,d:4 x}");
    assert_eq!(
        e,
        Error::new(
            ErrorKind::Expected {
                expected: Expected::RecordEnd,
                found: Found::Char('x')
            },
            17
        )
    );
    assert_eq!(
        e.to_string(),
        "expected '}', ';', ',', or newline at byte 17, found 'x'"
    );
    let e = err("{a:{b:1}");
    assert_eq!(e.to_string(), "expected '}' at byte 8, found end of input");
    let e = err("@a(1");
    assert_eq!(e.to_string(), "expected ')' at byte 4, found end of input");
    let e = err("@a(1 2)");
    assert_eq!(
        e.kind,
        ErrorKind::Expected {
            expected: Expected::AttrArgsEnd,
            found: Found::Char('2')
        }
    );
    let e = err("@1");
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::Expected {
                expected: Expected::AttrName,
                found: Found::Char('1')
            },
            1
        )
    );
    let e = err("\"\\x\"");
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::Expected {
                expected: Expected::EscapeChar,
                found: Found::Char('x')
            },
            2
        )
    );
    let e = err("\"\\u00G0\"");
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::Expected {
                expected: Expected::HexDigit,
                found: Found::Char('G')
            },
            5
        )
    );
    let e = err("%AB=");
    assert_eq!(
        e.kind,
        ErrorKind::Expected {
            expected: Expected::Char('='),
            found: Found::EndOfInput
        }
    );
    let e = err("%A===");
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::Expected {
                expected: Expected::Base64,
                found: Found::Char('=')
            },
            2
        )
    );
    let e = err("1.5e-");
    assert_eq!(
        (e.kind, e.offset),
        (
            ErrorKind::Expected {
                expected: Expected::Digit,
                found: Found::EndOfInput
            },
            5
        )
    );
    let e = err("\"a\u{1}\"");
    assert_eq!(e.to_string(), "expected '\"' at byte 2, found U+0001");
    let e = err("}");
    assert_eq!(e.to_string(), "unexpected '}' at byte 0");
    let e = err("1 + 2");
    assert_eq!(e.offset, 2);
}

#[test]
fn utf8_is_checked_for_bytes() {
    let e = Reader::from_bytes(b"{a:\"\xc3\x28\"}").unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::InvalidUtf8, 4));
    let mut r = Reader::from_bytes("{a:\"\u{e9}\"}".as_bytes()).unwrap();
    assert_eq!(
        Value::from_reader(&mut r).unwrap(),
        rec([Item::slot("a", "\u{e9}")])
    );
}

fn nested(depth: usize) -> String {
    "{".repeat(depth) + &"}".repeat(depth)
}

#[test]
fn depth_is_limited_without_recursion() {
    assert!(Value::parse(&nested(64)).is_ok());
    let e = err(&nested(65));
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::DepthExceeded { limit: 64 }, 64)
    );
    let e = err(&"[".repeat(100_000));
    assert_eq!(e.kind, ErrorKind::DepthExceeded { limit: 64 });
    let e = err(&"@a(".repeat(100_000));
    assert_eq!(e.kind, ErrorKind::DepthExceeded { limit: 64 });
    let e = Value::parse_body(&nested(100_000)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::DepthExceeded { limit: 64 });

    let config = ReaderConfig::default().with_max_depth(3);
    let mut r = Reader::with_config("{{{}}}", config);
    assert!(Value::from_reader(&mut r).is_ok());
    let mut r = Reader::with_config("{@a{}}", config);
    assert!(Value::from_reader(&mut r).is_ok());
    let mut r = Reader::with_config("{{{{}}}}", config);
    assert_eq!(
        Value::from_reader(&mut r).unwrap_err().kind,
        ErrorKind::DepthExceeded { limit: 3 }
    );

    // The cap: the deepest supported nesting builds and drops fine.
    let config = ReaderConfig::default().with_max_depth(10_000);
    let deep = nested(ReaderConfig::MAX_DEPTH_CAP);
    let mut r = Reader::with_config(&deep, config);
    let value = Value::from_reader(&mut r).unwrap();
    drop(value);
    let deeper = nested(ReaderConfig::MAX_DEPTH_CAP + 1);
    let mut r = Reader::with_config(&deeper, config);
    assert!(matches!(
        Value::from_reader(&mut r).unwrap_err().kind,
        ErrorKind::DepthExceeded { .. }
    ));
}

#[test]
fn body_values() {
    let body = |s: &str| Value::parse_body(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
    assert_eq!(body(""), Value::Absent);
    assert_eq!(body("{}"), Value::Absent);
    assert_eq!(body("{x:1}"), rec([Item::slot("x", 1)]));
    assert_eq!(body("{{x:1}}"), rec([Item::slot("x", 1)]));
    assert_eq!(body("{x:1}@b"), rec([Item::slot("x", 1), attr("b")]));
    assert_eq!(
        body("@update(key:k){temp:21.5}"),
        rec([
            Item::attr("update", rec([Item::slot("key", "k")])),
            Item::slot("temp", 21.5)
        ])
    );
    assert_eq!(body(" 1"), Value::Int(1));
    assert_eq!(body(" [x]"), Value::text("x"));
    assert_eq!(body("{@a}"), rec([attr("a")]));
    assert!(Value::parse_body("\n1\n2").is_err());
}

#[test]
fn from_reader_takes_exactly_one_value() {
    let mut r = Reader::new("{a:{b:1},c:2}");
    assert_eq!(r.next_event().unwrap(), Some(Event::StartRecord));
    r.next_event().unwrap();
    assert_eq!(r.next_event().unwrap(), Some(Event::Slot));
    assert_eq!(
        Value::from_reader(&mut r).unwrap(),
        rec([Item::slot("b", 1)])
    );
    assert!(matches!(r.next_event().unwrap(), Some(Event::Text(_))));
    assert_eq!(r.next_event().unwrap(), Some(Event::Slot));
    assert_eq!(Value::from_reader(&mut r).unwrap(), Value::Int(2));
    assert_eq!(r.next_event().unwrap(), Some(Event::EndRecord));
    assert_eq!(r.next_event().unwrap(), None);
}

#[test]
fn accessors() {
    let v: Value = "@event(node:a,lane:b){temp:21.5,name:\"abc\",ok:true,n:-3}"
        .parse()
        .unwrap();
    assert_eq!(v.tag(), Some("event"));
    assert!(v.is_record());
    assert_eq!(
        v.attr("event").and_then(|a| a.get("lane")),
        Some(&Value::text("b"))
    );
    assert_eq!(v.get("temp").and_then(Value::as_f64), Some(21.5));
    assert_eq!(v.get("name").and_then(Value::as_str), Some("abc"));
    assert_eq!(v.get("ok").and_then(Value::as_bool), Some(true));
    assert_eq!(v.get("n").and_then(Value::as_i64), Some(-3));
    assert_eq!(v.get("n").and_then(Value::as_u64), None);
    assert_eq!(v.items().len(), 5);
    assert!(Value::Int(1).items().is_empty());
    assert!(Item::slot("a", 1).is_field());
}

#[test]
fn skip_value_skips_a_whole_value() {
    let mut r = Reader::new("{a:@x(1){2,{3}},b:4}");
    assert_eq!(r.next_event().unwrap(), Some(Event::StartRecord));
    r.next_event().unwrap();
    r.next_event().unwrap();
    r.skip_value().unwrap();
    assert!(matches!(r.next_event().unwrap(), Some(Event::Text(t)) if t == "b"));
}
