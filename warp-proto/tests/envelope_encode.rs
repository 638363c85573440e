//! Encoding WARP envelopes: PROFILE.md "Writing".

use warp_proto::envelope::{uri_needs_encoding, write_uri, Body, Envelope, EnvelopeErrorKind, Tag};

fn enc(env: &Envelope<'_>) -> String {
    let mut s = String::new();
    env.encode(&mut s).unwrap();
    assert_eq!(s, env.to_string(), "Display differs from encode");
    assert_eq!(s.len(), env.encoded_len());
    s
}

#[test]
fn constructors_write_each_tag() {
    let absent = Body::absent();
    for (env, frame) in [
        (Envelope::link("/a", "b"), "@link(node:\"/a\",lane:b)"),
        (Envelope::sync("/a", "b"), "@sync(node:\"/a\",lane:b)"),
        (Envelope::linked("/a", "b"), "@linked(node:\"/a\",lane:b)"),
        (Envelope::synced("/a", "b"), "@synced(node:\"/a\",lane:b)"),
        (Envelope::unlink("/a", "b"), "@unlink(node:\"/a\",lane:b)"),
        (
            Envelope::unlinked("/a", "b"),
            "@unlinked(node:\"/a\",lane:b)",
        ),
        (
            Envelope::command("/a", "b", absent),
            "@command(node:\"/a\",lane:b)",
        ),
        (
            Envelope::event("/a", "b", absent),
            "@event(node:\"/a\",lane:b)",
        ),
        (Envelope::auth(absent), "@auth"),
        (Envelope::authed(absent), "@authed"),
        (Envelope::deauth(absent), "@deauth"),
        (Envelope::deauthed(absent), "@deauthed"),
    ] {
        assert_eq!(enc(&env), frame);
        let back = Envelope::decode(frame).unwrap();
        assert_eq!(back, env);
    }
    assert_eq!(
        Envelope::new(Tag::Event, "a", "b"),
        Envelope::event("a", "b", absent)
    );
}

#[test]
fn prio_then_rate_only_when_non_zero_and_only_on_link_kinds() {
    assert_eq!(
        enc(&Envelope::link("/a", "b").with_rate(10.0).with_prio(0.5)),
        "@link(node:\"/a\",lane:b,prio:0.5,rate:10.0)"
    );
    assert_eq!(
        enc(&Envelope::sync("/a", "b").with_rate(1e3)),
        "@sync(node:\"/a\",lane:b,rate:1000.0)"
    );
    assert_eq!(
        enc(&Envelope::linked("/a", "b").with_prio(-0.0)),
        "@linked(node:\"/a\",lane:b)"
    );
    assert_eq!(
        enc(&Envelope::link("/a", "b").with_prio(1e30).with_rate(1.5e-7)),
        "@link(node:\"/a\",lane:b,prio:1e30,rate:1.5e-7)"
    );
    assert_eq!(
        enc(&Envelope::event("/a", "b", Body::absent())
            .with_prio(1.0)
            .with_rate(2.0)),
        "@event(node:\"/a\",lane:b)"
    );
    assert_eq!(enc(&Envelope::auth(Body::absent()).with_prio(1.0)), "@auth");
}

#[test]
fn non_finite_prio_and_rate_are_written_in_forms_every_peer_reads() {
    let env = Envelope::link("/a", "b")
        .with_prio(f32::NAN)
        .with_rate(f32::INFINITY);
    let s = enc(&env);
    assert_eq!(s, "@link(node:\"/a\",lane:b,prio:NaN,rate:Infinity)");
    let back = Envelope::decode(&s).unwrap();
    assert!(back.prio.is_nan());
    assert_eq!(back.rate, f32::INFINITY);
    let s = enc(&Envelope::link("/a", "b").with_rate(f32::NEG_INFINITY));
    assert_eq!(Envelope::decode(&s).unwrap().rate, f32::NEG_INFINITY);
}

#[test]
fn node_and_lane_bare_when_identifiers_else_quoted() {
    assert_eq!(
        enc(&Envelope::link("node", "lane")),
        "@link(node:node,lane:lane)"
    );
    assert_eq!(
        enc(&Envelope::link("true", "false")),
        "@link(node:\"true\",lane:\"false\")"
    );
    assert_eq!(enc(&Envelope::link("", "1")), "@link(node:\"\",lane:\"1\")");
    assert_eq!(
        enc(&Envelope::link("a-b_c", "\u{e9}t\u{e9}")),
        "@link(node:a-b_c,lane:\"%C3%A9t%C3%A9\")"
    );
    assert_eq!(
        enc(&Envelope::link("swim://host:9001/a", "x/y")),
        "@link(node:\"swim://host:9001/a\",lane:\"x/y\")"
    );
}

#[test]
fn node_and_lane_are_percent_encoded() {
    assert_eq!(
        enc(&Envelope::link("/a b", "\"q\"")),
        "@link(node:\"/a%20b\",lane:\"%22q%22\")"
    );
    assert_eq!(
        enc(&Envelope::link("/50%", "%41")),
        "@link(node:\"/50%25\",lane:\"%41\")"
    );
    assert_eq!(
        enc(&Envelope::link("/\\{|}^`<>\n", "b")),
        "@link(node:\"/%5C%7B%7C%7D%5E%60%3C%3E%0A\",lane:b)"
    );
    let mut s = String::new();
    write_uri("/a%2", &mut s).unwrap();
    assert_eq!(s, "/a%252");
    assert!(!uri_needs_encoding("/unit/1?x=1#f"));
    assert!(uri_needs_encoding("/a b"));
    assert!(uri_needs_encoding("/%zz"));
}

#[test]
fn percent_encoding_is_idempotent() {
    for s in ["/a b", "/é", "/%", "/%4", "/%41", "/\"", "x"] {
        let mut once = String::new();
        write_uri(s, &mut once).unwrap();
        let mut twice = String::new();
        write_uri(&once, &mut twice).unwrap();
        assert_eq!(once, twice);
        assert!(!uri_needs_encoding(&once));
    }
}

#[test]
fn escaped_decoded_node_is_written_from_its_characters() {
    let env = Envelope::decode("@event(node:\"/a\\u0020b\",lane:\"\\u0061\")").unwrap();
    assert!(env.node.is_escaped());
    assert_eq!(enc(&env), "@event(node:\"/a%20b\",lane:a)");
}

#[test]
fn raw_body_spacing_follows_the_java_printer() {
    let e = |raw| enc(&Envelope::event("/a", "b", Body::from_raw(raw)));
    assert_eq!(e("1"), "@event(node:\"/a\",lane:b) 1");
    assert_eq!(e("-7"), "@event(node:\"/a\",lane:b) -7");
    assert_eq!(e("hello"), "@event(node:\"/a\",lane:b) hello");
    assert_eq!(e("true"), "@event(node:\"/a\",lane:b) true");
    assert_eq!(e("{a:1,b:2}"), "@event(node:\"/a\",lane:b){a:1,b:2}");
    assert_eq!(
        e("\"two words\""),
        "@event(node:\"/a\",lane:b)\"two words\""
    );
    assert_eq!(e("%AQ=="), "@event(node:\"/a\",lane:b)%AQ==");
    assert_eq!(
        e("@update(key:k){temp:21.5}"),
        "@event(node:\"/a\",lane:b)@update(key:k){temp:21.5}"
    );
    // Leading whitespace of a forwarded body is dropped; `{}` and nothing are Absent.
    assert_eq!(e("\n  1"), "@event(node:\"/a\",lane:b) 1");
    assert_eq!(e(" {x:1}"), "@event(node:\"/a\",lane:b){x:1}");
    assert_eq!(e("{}"), "@event(node:\"/a\",lane:b)");
    assert_eq!(e("  "), "@event(node:\"/a\",lane:b)");
    assert_eq!(
        enc(&Envelope::auth(Body::from_raw("{token:abc}"))),
        "@auth{token:abc}"
    );
    assert_eq!(
        enc(&Envelope::deauth(Body::from_raw("\"tok\""))),
        "@deauth\"tok\""
    );
    assert_eq!(enc(&Envelope::auth(Body::from_raw("1"))), "@auth 1");
}

#[test]
fn forwarding_a_decoded_body_keeps_it() {
    for frame in [
        "@command(node:\"/a\",lane:b) {a:1,b:2}",
        "@command(node:\"/a\",lane:b)\n@update(key:k){temp:21.5}",
        "@command(node:\"/a\",lane:b) \"two words\"",
        "@command(node:\"/a\",lane:b){x:1}@b",
    ] {
        let cmd = Envelope::decode(frame).unwrap();
        let event = Envelope::event("/a", "b", cmd.body);
        let out = enc(&event);
        let back = Envelope::decode(&out).unwrap();
        assert_eq!(back.tag, Tag::Event);
        assert_eq!(back.body.raw(), cmd.body.raw());
    }
}

#[test]
fn encode_to_slice_reports_the_size_needed() {
    let env = Envelope::command("/unit/1", "info", Body::from_raw("{x:1}"));
    let frame = "@command(node:\"/unit/1\",lane:info){x:1}";
    let mut buf = [0u8; 64];
    let n = env.encode_to_slice(&mut buf).unwrap();
    assert_eq!(&buf[..n], frame.as_bytes());
    for len in 0..frame.len() {
        let mut small = vec![0u8; len];
        let e = env.encode_to_slice(&mut small).unwrap_err();
        assert_eq!(
            e.kind,
            EnvelopeErrorKind::BufferTooSmall {
                required: frame.len()
            }
        );
        assert_eq!(e.offset, len);
    }
    let mut exact = vec![0u8; frame.len()];
    assert_eq!(env.encode_to_slice(&mut exact), Ok(frame.len()));
}

#[test]
fn a_failing_sink_is_a_fmt_error() {
    struct Fails;
    impl core::fmt::Write for Fails {
        fn write_str(&mut self, _: &str) -> core::fmt::Result {
            Err(core::fmt::Error)
        }
    }
    let e = Envelope::link("/a", "b").encode(&mut Fails).unwrap_err();
    assert_eq!(e.kind, EnvelopeErrorKind::Fmt);
}

#[test]
fn debug_shows_the_fields() {
    let env = Envelope::event("/a", "b", Body::from_raw("1"));
    let d = format!("{env:?}");
    assert!(
        d.contains("Event") && d.contains("\"/a\"") && d.contains("Body(\"1\")"),
        "{d}"
    );
}

#[cfg(feature = "alloc")]
mod value_bodies {
    use warp_proto::envelope::{Body, Envelope, EnvelopeErrorKind};
    use warp_proto::recon::{ErrorKind, Item, Value};

    fn enc(body: &Value) -> String {
        let env = Envelope::event("/a", "b", Body::absent());
        let mut s = String::new();
        env.encode_with_value(body, &mut s).unwrap();
        let mut buf = vec![0u8; s.len()];
        assert_eq!(env.encode_to_slice_with_value(body, &mut buf), Ok(s.len()));
        assert_eq!(buf, s.as_bytes());
        s
    }

    fn back(frame: &str) -> Value {
        Envelope::decode(frame).unwrap().body.to_value().unwrap()
    }

    #[test]
    fn scalars_follow_the_spacing_rule() {
        for (v, frame) in [
            (Value::Int(1), "@event(node:\"/a\",lane:b) 1"),
            (Value::Int(-7), "@event(node:\"/a\",lane:b) -7"),
            (Value::Float(1.0), "@event(node:\"/a\",lane:b) 1.0"),
            (Value::Bool(true), "@event(node:\"/a\",lane:b) true"),
            (Value::text("hello"), "@event(node:\"/a\",lane:b) hello"),
            (
                Value::text("two words"),
                "@event(node:\"/a\",lane:b)\"two words\"",
            ),
            (Value::text("true"), "@event(node:\"/a\",lane:b)\"true\""),
            (Value::Data(vec![1]), "@event(node:\"/a\",lane:b)%AQ=="),
        ] {
            assert_eq!(enc(&v), frame);
            assert_eq!(back(frame), v);
        }
    }

    #[test]
    fn records_are_spliced() {
        for (v, frame) in [
            (
                Value::record([Item::slot("a", 1), Item::slot("b", 2)]),
                "@event(node:\"/a\",lane:b){a:1,b:2}",
            ),
            (
                Value::record([
                    Item::attr("update", Value::record([Item::slot("key", "k")])),
                    Item::slot("temp", 21.5),
                ]),
                "@event(node:\"/a\",lane:b)@update(key:k){temp:21.5}",
            ),
            (
                Value::record([Item::attr("clear", Value::Extant)]),
                "@event(node:\"/a\",lane:b)@clear",
            ),
            (
                Value::record([Item::value(1), Item::value(2), Item::value(3)]),
                "@event(node:\"/a\",lane:b){1,2,3}",
            ),
            (
                Value::record([Item::slot("x", 1)]),
                "@event(node:\"/a\",lane:b){x:1}",
            ),
        ] {
            assert_eq!(enc(&v), frame);
            assert_eq!(back(frame), v);
        }
    }

    #[test]
    fn a_record_of_one_plain_item_keeps_its_braces() {
        let one = Value::record([Item::value(1)]);
        let frame = enc(&one);
        assert_eq!(frame, "@event(node:\"/a\",lane:b){{1}}");
        assert_eq!(back(&frame), one);
        let nested = Value::record([Item::value(Value::record([Item::slot("a", 1)]))]);
        assert_eq!(back(&enc(&nested)), nested);
    }

    #[test]
    fn bodies_without_text_are_written_as_nothing() {
        for v in [Value::Absent, Value::Extant, Value::Record(vec![])] {
            assert_eq!(enc(&v), "@event(node:\"/a\",lane:b)");
        }
    }

    #[test]
    fn non_finite_floats_are_refused() {
        let env = Envelope::event("/a", "b", Body::absent());
        let mut s = String::new();
        let e = env
            .encode_with_value(&Value::Float(f64::NAN), &mut s)
            .unwrap_err();
        assert_eq!(e.kind, EnvelopeErrorKind::Recon(ErrorKind::NonFiniteFloat));
        assert_eq!(e.offset, "@event(node:\"/a\",lane:b)".len());
        let e = env
            .encode_with_value(
                &Value::record([Item::slot("x", f64::INFINITY)]),
                &mut String::new(),
            )
            .unwrap_err();
        assert_eq!(e.kind, EnvelopeErrorKind::Recon(ErrorKind::NonFiniteFloat));
    }

    #[test]
    fn a_small_buffer_reports_the_size_needed() {
        let env = Envelope::event("/a", "b", Body::absent());
        let v = Value::record([Item::slot("a", 1)]);
        let mut small = [0u8; 10];
        let e = env.encode_to_slice_with_value(&v, &mut small).unwrap_err();
        assert_eq!(e.kind, EnvelopeErrorKind::BufferTooSmall { required: 29 });
    }
}
