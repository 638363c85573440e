//! Decoding WARP envelopes: every tag and every header rule of PROFILE.md "Reading envelopes".

use warp_proto::envelope::{Envelope, EnvelopeErrorKind as K, Tag};
use warp_proto::recon::{ErrorKind, Event};

fn ok(frame: &str) -> Envelope<'_> {
    match Envelope::decode(frame) {
        Ok(env) => env,
        Err(e) => panic!("{frame:?} failed: {e}"),
    }
}

fn err(frame: &str) -> (K, usize) {
    match Envelope::decode(frame) {
        Ok(env) => panic!("{frame:?} decoded to {env:?}"),
        Err(e) => (e.kind, e.offset),
    }
}

/// Also checks that the same frame after leading whitespace (which forces the general path)
/// decodes to the same envelope.
fn both(frame: &str) -> Envelope<'_> {
    let env = ok(frame);
    let spaced = format!(" {frame}");
    let slow = Envelope::decode(&spaced).unwrap_or_else(|e| panic!("{spaced:?} failed: {e}"));
    assert_eq!(env, slow, "fast and general paths differ on {frame:?}");
    env
}

#[test]
fn every_lane_addressed_tag_decodes_with_node_and_lane() {
    for tag in Tag::ALL.into_iter().filter(|t| !t.is_host_addressed()) {
        let frame = format!("@{}(node:\"/unit/1\",lane:info) 42", tag.name());
        let env = both(&frame);
        assert_eq!(env.tag, tag);
        assert_eq!(env.node, "/unit/1");
        assert_eq!(env.lane, "info");
        assert_eq!((env.prio, env.rate), (0.0, 0.0));
        assert_eq!(env.body.raw(), "42");
    }
}

#[test]
fn every_host_addressed_tag_decodes_without_header() {
    for tag in [Tag::Auth, Tag::Authed, Tag::Deauth, Tag::Deauthed] {
        let frame = format!("@{}{{token:abc}}", tag.name());
        let env = both(&frame);
        assert_eq!(env.tag, tag);
        assert_eq!(env.node, "");
        assert_eq!(env.lane, "");
        assert_eq!(env.body.raw(), "{token:abc}");
        let bare = format!("@{}", tag.name());
        let env = both(&bare);
        assert_eq!(env.tag, tag);
        assert!(env.body.is_absent());
    }
}

#[test]
fn authed_and_deauthed_are_accepted_unlike_the_rust_reference() {
    assert_eq!(ok("@authed \"tok\"").tag, Tag::Authed);
    assert_eq!(ok("@deauthed@cred(id:1)").tag, Tag::Deauthed);
}

#[test]
fn host_addressed_header_arguments_are_ignored() {
    for frame in [
        "@auth()",
        "@auth(x)",
        "@auth(token:abc)",
        "@deauthed(node:1,lane:{})",
    ] {
        let env = ok(frame);
        assert!(env.tag.is_host_addressed());
        assert!(env.body.is_absent(), "{frame}");
    }
    assert_eq!(ok("@auth(x) 1").body.raw(), "1");
}

#[test]
fn tags_are_case_sensitive_and_unknown_tags_are_typed_errors() {
    assert_eq!(err("@Event(node:\"/a\",lane:b)"), (K::UnknownTag, 0));
    assert_eq!(err("@EVENT(node:\"/a\",lane:b)"), (K::UnknownTag, 0));
    assert_eq!(err("@foo(node:\"/a\",lane:b)"), (K::UnknownTag, 0));
    assert_eq!(err("  @events(node:a,lane:b)"), (K::UnknownTag, 2));
}

#[test]
fn a_quoted_tag_is_a_tag() {
    let env = ok("@\"event\"(node:\"/a\",lane:b)");
    assert_eq!(env.tag, Tag::Event);
    assert_eq!(env.node, "/a");
}

#[test]
fn named_arguments_in_any_order() {
    let env = both("@event(lane:b,node:\"/a\")");
    assert_eq!(
        (env.node, env.lane),
        (
            warp_proto::recon::Text::plain("/a"),
            warp_proto::recon::Text::plain("b")
        )
    );
    let env = both("@link(rate:10,lane:b,prio:0.5,node:\"/a\")");
    assert_eq!((env.prio, env.rate), (0.5, 10.0));
}

#[test]
fn quoted_keys() {
    let env = ok("@event(\"node\":\"/a\",\"lane\":b)");
    assert_eq!(env.node, "/a");
    assert_eq!(env.lane, "b");
    let env = ok("@link('node':\"/a\",lane:b,\"prio\":2)");
    assert_eq!(env.prio, 2.0);
}

#[test]
fn positional_arguments_by_position_in_the_list() {
    for (frame, node, lane) in [
        ("@link(\"/a\",b)", "/a", "b"),
        ("@event(\"/a\",lane:b)", "/a", "b"),
        ("@event(node:\"/a\",b)", "/a", "b"),
        ("@event(x,y,z)", "x", "y"),
        ("@event(node:\"/a\",lane:b,c)", "/a", "b"),
    ] {
        let env = both(frame);
        assert_eq!(env.node, node, "{frame}");
        assert_eq!(env.lane, lane, "{frame}");
    }
    let env = ok("@link(\"/a\",b,prio:0.5)");
    assert_eq!(env.prio, 0.5);
    // A later positional lane replaces the named one.
    assert_eq!(ok("@event(lane:b,c,node:\"/a\")").lane, "c");
}

#[test]
fn unknown_named_arguments_are_ignored() {
    let env = both("@event(node:\"/a\",lane:b,foo:1,bar:{x:[y]})");
    assert_eq!(env.node, "/a");
    assert_eq!(env.lane, "b");
    let env = ok("@event(node:\"/a\",lane:b,1)");
    assert_eq!(env.lane, "b");
}

#[test]
fn duplicate_arguments_last_wins() {
    assert_eq!(both("@event(node:\"/a\",node:\"/c\",lane:b)").node, "/c");
    assert_eq!(both("@link(node:a,lane:b,prio:1,prio:2)").prio, 2.0);
}

#[test]
fn node_and_lane_are_identifiers_or_strings() {
    let env = both("@event(node:a,lane:b-c_1)");
    assert_eq!(env.node, "a");
    assert_eq!(env.lane, "b-c_1");
    let env = both("@event(node:\"\",lane:\"x/y\")");
    assert_eq!(env.node, "");
    assert_eq!(env.lane, "x/y");
    let env = ok("@event(node:'/single',lane:\u{e9}t\u{e9})");
    assert_eq!(env.node, "/single");
    assert_eq!(env.lane, "\u{e9}t\u{e9}");
    // The bools read as their names.
    let env = both("@event(node:true,lane:false)");
    assert_eq!(env.node, "true");
    assert_eq!(env.lane, "false");
    // Not URI-checked, not percent-decoded.
    let env = both("@event(node:\"/a b%20\u{e9}\",lane:b)");
    assert_eq!(env.node, "/a b%20\u{e9}");
}

#[test]
fn escaped_node_and_lane_decode_lazily() {
    let env = both("@event(node:\"/a\\\"q\\\"\",lane:\"\\u00e9\\n\")");
    assert!(env.node.is_escaped());
    assert_eq!(env.node, "/a\"q\"");
    assert_eq!(env.lane, "\u{e9}\n");
    assert_eq!(
        ok("@event(node:\"\\uD83D\\uDE00\",lane:b)").node,
        "\u{1F600}"
    );
}

#[test]
fn non_text_node_or_lane_is_refused() {
    assert_eq!(err("@event(node:1,lane:b)").0, K::NodeNotText);
    assert_eq!(err("@event(node:\"/a\",lane:1.5)").0, K::LaneNotText);
    assert_eq!(err("@event(node:{},lane:b)").0, K::NodeNotText);
    assert_eq!(err("@event(node:%AQ==,lane:b)").0, K::NodeNotText);
    assert_eq!(err("@event(node:\"/a\",lane:{x:1})").0, K::LaneNotText);
    assert_eq!(err("@event(1,2,3)").0, K::NodeNotText);
}

#[test]
fn empty_node_or_lane_is_refused() {
    assert_eq!(err("@event(node:,lane:b)").0, K::EmptyNode);
    assert_eq!(err("@event(node:\"/a\",lane:)").0, K::EmptyLane);
}

#[test]
fn missing_node_or_lane_is_refused() {
    assert_eq!(err("@event(node:\"/a\")"), (K::MissingLane, 17));
    assert_eq!(err("@event(lane:b)").0, K::MissingNode);
    assert_eq!(err("@event").0, K::MissingNode);
    assert_eq!(err("@event()").0, K::MissingNode);
    assert_eq!(err("@link").0, K::MissingNode);
    assert_eq!(err("@unlinked").0, K::MissingNode);
    assert_eq!(err("@command(lane:b) 1").0, K::MissingNode);
    // A space before `(` makes the parentheses the body.
    assert_eq!(err("@event (node:a,lane:b)").0, K::MissingNode);
}

#[test]
fn prio_and_rate_are_f32_numbers() {
    for (frame, prio, rate) in [
        ("@link(node:a,lane:b,prio:0.5)", 0.5, 0.0),
        ("@link(node:a,lane:b,rate:1e3)", 0.0, 1000.0),
        ("@sync(node:a,lane:b,prio:-1,rate:2.5)", -1.0, 2.5),
        ("@linked(node:a,lane:b,prio:0)", 0.0, 0.0),
        ("@link(node:a,lane:b,prio:1E-2)", 0.01, 0.0),
        ("@link(node:a,lane:b,prio:0.1)", 0.1, 0.0),
    ] {
        let env = both(frame);
        assert_eq!((env.prio, env.rate), (prio, rate), "{frame}");
    }
    assert_eq!(ok("@link(node:a,lane:b,prio:0x10)").prio, 16.0);
    assert_eq!(ok("@link(node:a,lane:b,prio:\"1\")").prio, 1.0);
    assert!(ok("@link(node:a,lane:b,prio:NaN)").prio.is_nan());
    assert_eq!(ok("@link(node:a,lane:b,rate:Infinity)").rate, f32::INFINITY);
    assert_eq!(ok("@link(node:a,lane:b,rate:1e39)").rate, f32::INFINITY);
    assert_eq!(
        ok("@link(node:a,lane:b,rate:12345678901234567890123)").rate,
        12345678901234567890123.0
    );
}

#[test]
fn bad_prio_or_rate_is_refused_on_link_kinds_only() {
    assert_eq!(err("@link(node:a,lane:b,prio:x)").0, K::BadPrio);
    assert_eq!(err("@sync(node:a,lane:b,rate:{})").0, K::BadRate);
    assert_eq!(err("@linked(node:a,lane:b,prio:)").0, K::BadPrio);
    assert_eq!(err("@link(node:a,lane:b,rate:true)").0, K::BadRate);
    let env = both("@command(node:a,lane:b,rate:5,prio:1) 1");
    assert_eq!((env.prio, env.rate), (0.0, 0.0));
    let env = ok("@event(node:a,lane:b,prio:x)");
    assert_eq!(env.prio, 0.0);
}

#[test]
fn whitespace_inside_the_header() {
    for frame in [
        "@event(node: \"/a\", lane: b) 1",
        "@event( node:\"/a\" , lane:b ) 1",
        "@event(node:\"/a\"\nlane:b) 1",
        "@event(node:\"/a\";lane:b) 1",
        "@event(node:\"/a\",lane:b,) 1",
        "@event(node:\"/a\", # a comment\n lane:b) 1",
    ] {
        let env = ok(frame);
        assert_eq!(env.node, "/a", "{frame}");
        assert_eq!(env.lane, "b", "{frame}");
        assert_eq!(env.body.raw(), "1", "{frame}");
    }
}

#[test]
fn leading_whitespace_before_the_tag_is_accepted() {
    assert_eq!(ok(" @event(node:\"/a\",lane:b)").node, "/a");
    assert_eq!(ok("\n@event(node:\"/a\",lane:b)").lane, "b");
    assert_eq!(ok("\t\r\n  @auth").tag, Tag::Auth);
}

#[test]
fn newline_or_spaces_between_header_and_body() {
    for frame in [
        "@event(node:\"/a\",lane:b)\n1",
        "@event(node:\"/a\",lane:b)   1",
        "@event(node:\"/a\",lane:b) \r\n\t1",
    ] {
        let env = both(frame);
        assert_eq!(env.body.raw(), "1");
        assert_eq!(
            env.body.reader().next_event(),
            Ok(Some(Event::Number(warp_proto::recon::Number::Int(1))))
        );
    }
}

#[test]
fn the_body_is_the_rest_of_the_record() {
    assert_eq!(both("@event(node:a,lane:b){x:1}").body.raw(), "{x:1}");
    assert_eq!(both("@event(node:a,lane:b) {x:1}").body.raw(), "{x:1}");
    assert_eq!(
        both("@event(node:a,lane:b)@update(key:k){temp:21.5}")
            .body
            .raw(),
        "@update(key:k){temp:21.5}"
    );
    assert_eq!(
        both("@event(node:a,lane:b)\"two words\"").body.raw(),
        "\"two words\""
    );
    assert_eq!(both("@command(node:a,lane:b)%AQ==").body.raw(), "%AQ==");
    assert_eq!(ok("@event(node:a,lane:b){x:1}@b").body.raw(), "{x:1}@b");
}

#[test]
fn empty_braces_and_no_body_are_absent() {
    for frame in [
        "@event(node:a,lane:b)",
        "@event(node:a,lane:b){}",
        "@event(node:a,lane:b) { }",
        "@event(node:a,lane:b)  ",
        "@event(node:a,lane:b) # just a comment",
    ] {
        assert!(ok(frame).body.is_absent(), "{frame}");
    }
    assert!(!ok("@event(node:a,lane:b) 0").body.is_absent());
    assert!(!ok("@event(node:a,lane:b){{}}").body.is_absent());
}

#[test]
fn not_an_envelope() {
    for frame in [
        "",
        "   ",
        "{}",
        "1",
        "\"@event\"",
        "{@event(node:\"/a\",lane:b)}",
        "[@event(node:\"/a\",lane:b)]",
        "a:1",
    ] {
        let (kind, _) = err(frame);
        assert_eq!(kind, K::NotAnEnvelope, "{frame:?}");
    }
}

#[test]
fn recon_errors_carry_offsets() {
    for (frame, offset) in [
        ("@event(node:\"/a\",lane:b) {a:1", 29),
        ("@event(node:\"/a\",lane:b) {", 26),
        ("@event(node:\"/a\",lane:b) \"unterminated", 38),
        ("@event(node:\"/a\",lane:b))", 24),
        ("@event(node:\"/a\",lane:b) )", 25),
    ] {
        let (kind, at) = err(frame);
        assert!(matches!(kind, K::Recon(_)), "{frame}: {kind:?}");
        assert!(at <= frame.len(), "{frame}: offset {at}");
        assert!(
            at + 2 >= offset && at <= offset + 2,
            "{frame}: offset {at}, expected about {offset}"
        );
    }
    for frame in [
        "@event(node:\"/a\" lane:b)",
        "@(node:\"/a\",lane:b)",
        "@ event(node:\"/a\",lane:b)",
        "@event(node:\"/a\",lane:b) @",
        "@event(node:\"/a\",lane:b) \\x",
        "@event(node:\"/a\",lane:\"\\q\")",
        "@auth{",
        "@deauth \"x",
        "@event(node:\"/a\",lane:b) 1 2",
        "@event(node:\"/a\",lane:b) {a:1}}",
        "@event(node:\"/a\",lane:b",
        "@event(node:\"/a\",lane:\"b)",
    ] {
        let (kind, at) = err(frame);
        assert!(matches!(kind, K::Recon(_)), "{frame}: {kind:?}");
        assert!(at <= frame.len(), "{frame}: offset {at}");
    }
}

#[test]
fn decode_header_leaves_the_body_unchecked() {
    let frame = "@event(node:\"/a\",lane:b) {a:1";
    let env = Envelope::decode_header(frame).unwrap();
    assert_eq!(env.body.raw(), "{a:1");
    assert!(Envelope::decode(frame).is_err());
    let mut r = env.body.reader();
    let mut failed = false;
    for _ in 0..10 {
        match r.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed);
    // Header errors are still reported.
    assert_eq!(
        Envelope::decode_header("@event(node:a)").unwrap_err().kind,
        K::MissingLane
    );
}

#[test]
fn decode_bytes_checks_utf8() {
    let env = Envelope::decode_bytes(b"@event(node:a,lane:b) 1").unwrap();
    assert_eq!(env.tag, Tag::Event);
    let e = Envelope::decode_bytes(b"@event(node:\"\xff\",lane:b)").unwrap_err();
    assert_eq!(e.kind, K::Recon(ErrorKind::InvalidUtf8));
    assert_eq!(e.offset, 13);
    assert!(Envelope::decode_header_bytes(b"@auth \xc3").is_err());
}

#[test]
fn errors_display_their_offset() {
    let e = Envelope::decode("@event(node:\"/a\")").unwrap_err();
    assert_eq!(e.to_string(), "missing lane at byte 17");
    let e = Envelope::decode("@event(node:\"/a\",lane:b) {").unwrap_err();
    assert!(e.to_string().contains("at byte 26"), "{e}");
    assert!(e.recon_error().is_some());
}

#[cfg(feature = "alloc")]
#[test]
fn body_to_value() {
    use warp_proto::recon::{Item, Value};
    let env = ok("@event(node:a,lane:b)@update(key:k){temp:21.5}");
    let v = env.body.to_value().unwrap();
    let Value::Record(items) = v else {
        panic!("not a record")
    };
    assert_eq!(items.len(), 2);
    assert!(matches!(&items[0], Item::Attr(name, _) if name == "update"));
    assert_eq!(
        ok("@event(node:a,lane:b){}").body.to_value().unwrap(),
        Value::Absent
    );
    assert_eq!(
        ok("@event(node:a,lane:b){1}").body.to_value().unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        ok("@event(node:a,lane:b)").body.to_value().unwrap(),
        Value::Absent
    );
}
