//! Event sequences of the pull reader for the grammar's tricky rules.

use warp_proto::recon::{Event, Number, Reader, Text};

/// A compact rendering of events: `{` `}` for records, `@name` for attributes, `:` for slots,
/// `!` for Extant, `~` for Absent, scalars as text (numbers as `i1`, `u1`, `f1.5`, texts quoted
/// only when escaped, data as `%…`).
fn events(reader: Reader<'_>) -> String {
    let mut out = Vec::new();
    for event in reader {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                out.push(format!("ERR@{}", e.offset));
                break;
            }
        };
        out.push(match event {
            Event::StartRecord => "{".to_string(),
            Event::EndRecord => "}".to_string(),
            Event::Attr(name) => format!("@{name}"),
            Event::Slot => ":".to_string(),
            Event::Text(t) if t.is_escaped() => format!("{:?}", t.to_string()),
            Event::Text(t) => t.to_string(),
            Event::Number(Number::Int(i)) => format!("i{i}"),
            Event::Number(Number::UInt(u)) => format!("u{u}"),
            Event::Number(Number::Float(f)) => format!("f{f}"),
            Event::Number(Number::Big {
                negative,
                digits,
                radix,
            }) => {
                format!("big{}{digits}/{radix}", if negative { "-" } else { "" })
            }
            Event::Bool(b) => b.to_string(),
            Event::Data(d) => format!("%{}", d.base64()),
            Event::Extant => "!".to_string(),
            Event::Absent => "~".to_string(),
        });
    }
    out.join(" ")
}

fn doc(s: &str) -> String {
    events(Reader::new(s))
}

fn body(s: &str) -> String {
    events(Reader::for_record_body(s))
}

#[test]
fn the_empty_document_is_absent() {
    for s in ["", " ", "\n", "\r\n", "\t", "# only comment", "#", "#\n#\n"] {
        assert_eq!(doc(s), "~", "{s:?}");
    }
}

#[test]
fn scalars_are_single_events() {
    assert_eq!(doc("1"), "i1");
    assert_eq!(doc("-1.5"), "f-1.5");
    assert_eq!(doc("true"), "true");
    assert_eq!(doc("truex"), "truex");
    assert_eq!(doc("\"a\\nb\""), "\"a\\nb\"");
    assert_eq!(doc("%AQ=="), "%AQ==");
    assert_eq!(doc("  \n  1  \n  "), "i1");
}

#[test]
fn top_level_blocks_are_records_when_they_hold_a_slot_or_two_items() {
    assert_eq!(doc("a:1"), "{ a : i1 }");
    assert_eq!(doc("1,2"), "{ i1 i2 }");
    assert_eq!(doc("1;2"), "{ i1 i2 }");
    assert_eq!(doc("1\n2"), "{ i1 i2 }");
    assert_eq!(doc("1 ,2"), "{ i1 i2 }");
    assert_eq!(doc("1,"), "i1");
    assert_eq!(doc("a,"), "a");
    assert_eq!(doc("1 # c"), "i1");
    assert_eq!(doc("a:"), "{ a : ! }");
    assert_eq!(doc("x: @a 1"), "{ x : { @a ! i1 } }");
    assert_eq!(doc("@a\n1"), "{ { @a ! } i1 }");
    assert_eq!(doc("@a 1,2"), "{ { @a ! i1 } i2 }");
}

#[test]
fn attributes_come_before_and_after_values() {
    assert_eq!(doc("@a"), "{ @a ! }");
    assert_eq!(doc("@a 1"), "{ @a ! i1 }");
    assert_eq!(doc("1 @a"), "{ i1 @a ! }");
    assert_eq!(doc("1@a"), "{ i1 @a ! }");
    assert_eq!(doc("\"s\"@a"), "{ s @a ! }");
    assert_eq!(doc("{1}@a"), "{ i1 @a ! }");
    assert_eq!(doc("@a{x:1}@b"), "{ @a ! x : i1 @b ! }");
    assert_eq!(doc("@a @b 1"), "{ @a ! @b ! i1 }");
    assert_eq!(doc("@a 1 @b 2"), "{ @a ! i1 @b ! i2 }");
    assert_eq!(doc("{1} @a {2}"), "{ i1 @a ! i2 }");
}

#[test]
fn braces_after_attributes_splice() {
    assert_eq!(doc("@a{x:1}"), "{ @a ! x : i1 }");
    assert_eq!(doc("@a {x:1}"), "{ @a ! x : i1 }");
    assert_eq!(doc("@a{}"), "{ @a ! }");
    assert_eq!(doc("@a{{}}"), "{ @a ! { } }");
    assert_eq!(doc("@a(){}"), "{ @a ! }");
    assert_eq!(doc("@a[text]"), "{ @a ! text }");
}

#[test]
fn attribute_arguments() {
    assert_eq!(doc("@a()"), "{ @a ! }");
    assert_eq!(doc("@a( )"), "{ @a ! }");
    assert_eq!(doc("@a(\n)"), "{ @a ! }");
    assert_eq!(doc("@a(1)"), "{ @a i1 }");
    assert_eq!(doc("@a(1,2)"), "{ @a { i1 i2 } }");
    assert_eq!(doc("@a({1,2})"), "{ @a { i1 i2 } }");
    assert_eq!(doc("@a(x:1)"), "{ @a { x : i1 } }");
    assert_eq!(doc("@a(x:)"), "{ @a { x : ! } }");
    assert_eq!(doc("@a(1,)"), "{ @a i1 }");
    assert_eq!(doc("@a(\n1\n)"), "{ @a i1 }");
    assert_eq!(doc("@a(@b)"), "{ @a { @b ! } }");
    assert_eq!(doc("@a(@b,@c)"), "{ @a { { @b ! } { @c ! } } }");
    assert_eq!(doc("@a({x:1}@b)"), "{ @a { x : i1 @b ! } }");
    assert_eq!(doc("@\"a b\"(1)"), "{ @a b i1 }");
    assert_eq!(doc("@'q'"), "{ @q ! }");
}

#[test]
fn separators_and_extant() {
    assert_eq!(doc("{a,,b}"), "{ a ! b }");
    assert_eq!(doc("{a,}"), "{ a }");
    assert_eq!(doc("{,}"), "{ ! }");
    assert_eq!(doc("{,,}"), "{ ! ! }");
    assert_eq!(doc("{,a}"), "{ ! a }");
    assert_eq!(doc("{a\n,b}"), "{ a ! b }");
    assert_eq!(doc("{a,\nb}"), "{ a b }");
    assert_eq!(doc("{\n\n1\n\n}"), "{ i1 }");
    assert_eq!(doc("{a:\n1}"), "{ a : ! i1 }");
    assert_eq!(doc("{a\n:1}"), "{ a ! : i1 }");
    assert_eq!(doc("{:1}"), "{ ! : i1 }");
    assert_eq!(doc("{:}"), "{ ! : ! }");
    assert_eq!(doc("{a:1\n,b:2}"), "{ a : i1 ! b : i2 }");
    assert_eq!(doc("{1 # c\n2}"), "{ i1 i2 }");
    assert_eq!(doc("{1 # c\n,2}"), "{ i1 ! i2 }");
    assert_eq!(doc("{# c\n}"), "{ }");
}

#[test]
fn record_items_may_be_attributed_records() {
    assert_eq!(doc("{@a 1}"), "{ { @a ! i1 } }");
    assert_eq!(doc("{x:@a 1}"), "{ x : { @a ! i1 } }");
    assert_eq!(doc("{@a:1}"), "{ { @a ! } : i1 }");
    assert_eq!(doc("{@a @b}"), "{ { @a ! @b ! } }");
    assert_eq!(doc("{@a,@b}"), "{ { @a ! } { @b ! } }");
    assert_eq!(doc("{{a}:1}"), "{ { a } : i1 }");
}

#[test]
fn markup() {
    assert_eq!(doc("[hello]"), "{ hello }");
    assert_eq!(doc("[]"), "{ }");
    assert_eq!(doc("[ ]"), "{   }");
    assert_eq!(doc("[a{1}b]"), "{ a i1 b }");
    assert_eq!(doc("[{x:1}]"), "{ x : i1 }");
    assert_eq!(doc("[hello @b[world]]"), "{ hello  { @b ! world } }");
    assert_eq!(doc("[a@b c]"), "{ a { @b ! }  c }");
    assert_eq!(doc("[@a]"), "{ { @a ! } }");
    assert_eq!(doc("[@a(1){x}y]"), "{ { @a i1 x } y }");
    assert_eq!(doc("[a[b]c]"), "{ a b c }");
    assert_eq!(doc("[\\[]"), "{ \"[\" }");
    assert_eq!(doc("[it's \"fine\" # here]"), "{ it's \"fine\" # here }");
    assert_eq!(doc("{[1]}"), "{ { 1 } }");
}

#[test]
fn strings_and_raw_strings() {
    assert_eq!(doc("'single'"), "single");
    assert_eq!(doc("'a\"b'"), "a\"b");
    assert_eq!(doc("`raw`"), "raw");
    assert_eq!(doc("```raw```"), "raw");
    assert_eq!(doc("``"), "");
    assert_eq!(doc("`a\\`b`"), "\"a`b\"");
    assert_eq!(doc("`a\\nb`"), "\"a\\\\nb\"");
}

#[test]
fn numbers_are_canonical() {
    assert_eq!(doc("-0"), "i0");
    assert_eq!(doc("-0.0"), "f-0");
    assert_eq!(doc("0x10"), "i16");
    assert_eq!(doc("9223372036854775808"), "u9223372036854775808");
    assert_eq!(doc("1e309"), "finf");
}

#[cfg(feature = "alloc")]
#[test]
fn integers_beyond_64_bits_are_big() {
    assert_eq!(doc("18446744073709551616"), "big18446744073709551616/10");
    assert_eq!(doc("-18446744073709551616"), "big-18446744073709551616/10");
    assert_eq!(doc("0x10000000000000000"), "big10000000000000000/16");
}

#[cfg(not(feature = "alloc"))]
#[test]
fn integers_beyond_64_bits_are_out_of_range_without_alloc() {
    for s in [
        "18446744073709551616",
        "-18446744073709551616",
        "0x10000000000000000",
    ] {
        let e = Reader::new(s).find_map(Result::err).unwrap();
        assert_eq!(
            (e.kind, e.offset),
            (warp_proto::recon::ErrorKind::IntegerOutOfRange, 0)
        );
    }
}

#[test]
fn body_rule() {
    assert_eq!(body(""), "~");
    assert_eq!(body("{}"), "~");
    assert_eq!(body(" {}"), "~");
    assert_eq!(body("[]"), "~");
    assert_eq!(body(" 1"), "i1");
    assert_eq!(body("\n1"), "i1");
    assert_eq!(body("{1}"), "i1");
    assert_eq!(body("[x]"), "x");
    assert_eq!(body("{x:1}"), "{ x : i1 }");
    assert_eq!(body("{{x:1}}"), "{ x : i1 }");
    assert_eq!(body("{x:1}@b"), "{ x : i1 @b ! }");
    assert_eq!(body(" {a:1}@x"), "{ a : i1 @x ! }");
    assert_eq!(
        body("@update(key:k){temp:21.5}"),
        "{ @update { key : k } temp : f21.5 }"
    );
    assert_eq!(body("@cred(id:1)"), "{ @cred { id : i1 } }");
    assert_eq!(body("1 @a"), "{ i1 @a ! }");
    assert_eq!(body("{1,2}"), "{ i1 i2 }");
    assert_eq!(body("{,}"), "!");
    assert_eq!(body("#c"), "~");
    assert_eq!(body(" 1,"), "i1");
    assert_eq!(body("{}@a"), "{ @a ! }");
    assert_eq!(body("[a{1}]"), "{ a i1 }");
}

#[test]
fn body_errors() {
    assert_eq!(body(" 1 2"), "i1 ERR@3");
    assert_eq!(body("{a:1}}"), "{ a : i1 ERR@5");
    assert_eq!(body("1,2"), "i1 ERR@2");
    assert_eq!(body("1 + 2"), "i1 ERR@2");
}

#[test]
fn errors_end_the_iteration() {
    assert_eq!(doc("{a b}"), "{ a ERR@3");
    assert_eq!(doc("1 2"), "i1 ERR@2");
    let mut r = Reader::new("{a:1}{a");
    assert_eq!(r.next_event().unwrap(), Some(Event::StartRecord));
    r.skip_value().unwrap();
    let e = r.next_event().unwrap_err();
    assert_eq!(e.offset, 5);
    let mut r = Reader::new("@x {a");
    assert_eq!(r.next_event().unwrap(), Some(Event::StartRecord));
    assert!(matches!(r.next_event().unwrap(), Some(Event::StartRecord)));
    assert!(matches!(r.next_event().unwrap(), Some(Event::Attr(_))));
    assert_eq!(r.next_event().unwrap(), Some(Event::Extant));
    assert_eq!(r.next_event().unwrap(), Some(Event::Text(Text::plain("a"))));
    let e = r.next_event().unwrap_err();
    assert_eq!(e.offset, 5);
    assert_eq!(r.next_event().unwrap_err(), e);
    assert!(r.next().is_none());
}

#[test]
fn ok_none_after_the_value() {
    let mut r = Reader::new("1");
    assert_eq!(r.next_event().unwrap(), Some(Event::Number(Number::Int(1))));
    assert_eq!(r.next_event().unwrap(), None);
    assert_eq!(r.next_event().unwrap(), None);
    assert_eq!(r.position(), 1);
}

#[test]
fn texts_borrow_the_input() {
    let input = String::from("{name:\"abc\",k:v}");
    let mut r = Reader::new(&input);
    r.next_event().unwrap();
    match r.next_event().unwrap() {
        Some(Event::Text(t)) => assert_eq!(t.as_str(), Some("name")),
        other => panic!("{other:?}"),
    }
    r.next_event().unwrap();
    match r.next_event().unwrap() {
        Some(Event::Text(t)) => {
            let s = t.as_str().unwrap();
            let offset = s.as_ptr() as usize - input.as_ptr() as usize;
            assert_eq!((s, offset), ("abc", 7));
        }
        other => panic!("{other:?}"),
    }
}
