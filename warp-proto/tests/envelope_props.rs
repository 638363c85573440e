//! Properties of the envelope codec: the fast and general header paths agree, encoding then
//! decoding gives the envelope back, and no input makes the decoder panic.

use proptest::prelude::*;
use warp_proto::envelope::{write_uri, Body, Envelope, Tag};

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_-]{0,8}"
}

/// A double-quoted Recon string and the text it holds.
fn quoted() -> impl Strategy<Value = (String, String)> {
    let piece = prop_oneof![
        "[a-z/:.0-9 ]{1,4}".prop_map(|s| (s.clone(), s)),
        Just(("\\\"".to_string(), "\"".to_string())),
        Just(("\\\\".to_string(), "\\".to_string())),
        Just(("\\/".to_string(), "/".to_string())),
        Just(("\\n".to_string(), "\n".to_string())),
        Just(("\\u00e9".to_string(), "\u{e9}".to_string())),
        Just(("\u{e9}".to_string(), "\u{e9}".to_string())),
        Just(("\u{1F600}".to_string(), "\u{1F600}".to_string())),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|v| {
        let (src, text): (Vec<String>, Vec<String>) = v.into_iter().unzip();
        (format!("\"{}\"", src.concat()), text.concat())
    })
}

/// A node or lane as written in a frame, and its text.
fn text_value() -> impl Strategy<Value = (String, String)> {
    prop_oneof![ident().prop_map(|s| (s.clone(), s)), quoted()]
}

/// A decimal number literal and its value as the decoder reads it.
fn number() -> impl Strategy<Value = (String, f32)> {
    prop_oneof![
        any::<i32>().prop_map(|i| (i.to_string(), i as f32)),
        any::<i64>().prop_map(|i| (i.to_string(), i as f32)),
        (any::<i16>(), 0u32..1000).prop_map(|(i, f)| {
            let s = format!("{i}.{f}");
            let v = s.parse::<f64>().unwrap() as f32;
            (s, v)
        }),
        (-20i32..20, 1u32..99, -40i32..40).prop_map(|(i, f, e)| {
            let s = format!("{i}.{f}e{e}");
            let v = s.parse::<f64>().unwrap() as f32;
            (s, v)
        }),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    frame: String,
    tag: Tag,
    node: String,
    lane: String,
    prio: f32,
    rate: f32,
    body: &'static str,
}

fn body() -> impl Strategy<Value = (&'static str, &'static str)> {
    // (as written after the header, as `Body::raw` returns it)
    prop_oneof![
        Just(("", "")),
        Just((" 1", "1")),
        Just(("{x:1}", "{x:1}")),
        Just((" {x:1,y:\"z\"}", "{x:1,y:\"z\"}")),
        Just(("@update(key:k){temp:21.5}", "@update(key:k){temp:21.5}")),
        Just(("\"two words\"", "\"two words\"")),
        Just(("\n-7", "-7")),
        Just(("%AQ==", "%AQ==")),
    ]
}

/// Frames of the usual form, with their expected decoding. Arguments come in any order,
/// sometimes repeated (the last wins).
fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(Tag::ALL.to_vec()),
        text_value(),
        text_value(),
        prop::option::of(number()),
        prop::option::of(number()),
        prop::collection::vec(text_value(), 0..2),
        any::<u8>(),
        body(),
    )
        .prop_map(
            |(tag, node, lane, prio, rate, dup, order, (body_src, body))| {
                if tag.is_host_addressed() {
                    return Case {
                        frame: format!("@{}{}", tag.name(), body_src),
                        tag,
                        node: String::new(),
                        lane: String::new(),
                        prio: 0.0,
                        rate: 0.0,
                        body,
                    };
                }
                // Earlier duplicates of node are overridden by the real one, written after them.
                let mut args: Vec<String> = dup.iter().map(|(s, _)| format!("node:{s}")).collect();
                let mut named = vec![format!("node:{}", node.0), format!("lane:{}", lane.0)];
                if let Some((p, _)) = &prio {
                    named.push(format!("prio:{p}"));
                }
                if let Some((r, _)) = &rate {
                    named.push(format!("rate:{r}"));
                }
                let n = named.len();
                named.rotate_left(usize::from(order) % n);
                args.extend(named);
                let link = tag.is_link_addressed();
                Case {
                    frame: format!("@{}({}){}", tag.name(), args.join(","), body_src),
                    tag,
                    node: node.1,
                    lane: lane.1,
                    prio: if link { prio.map_or(0.0, |p| p.1) } else { 0.0 },
                    rate: if link { rate.map_or(0.0, |r| r.1) } else { 0.0 },
                    body,
                }
            },
        )
}

fn check(env: &Envelope<'_>, case: &Case) -> Result<(), TestCaseError> {
    prop_assert_eq!(env.tag, case.tag);
    prop_assert!(
        env.node == case.node.as_str(),
        "node {:?} of {:?}",
        env.node,
        case.frame
    );
    prop_assert!(
        env.lane == case.lane.as_str(),
        "lane {:?} of {:?}",
        env.lane,
        case.frame
    );
    prop_assert_eq!(
        env.prio.to_bits(),
        case.prio.to_bits(),
        "prio of {:?}",
        case.frame
    );
    prop_assert_eq!(
        env.rate.to_bits(),
        case.rate.to_bits(),
        "rate of {:?}",
        case.frame
    );
    prop_assert_eq!(env.body.raw(), case.body);
    Ok(())
}

fn uri(s: &str) -> String {
    let mut out = String::new();
    write_uri(s, &mut out).unwrap();
    out
}

/// Any string: spaces, quotes, backslashes, controls, non-ASCII, `%`.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,6}",
        "[ -~]{0,10}",
        "\\PC{0,6}",
        "[/a% \"\\\\\u{e9}\u{1F600}\n\t]{0,8}",
        Just("true".to_string()),
        Just("false".to_string()),
    ]
}

fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        Just(0.0f32),
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        any::<f32>(),
        any::<u32>().prop_map(f32::from_bits),
        (-1000i32..1000).prop_map(|i| i as f32 / 8.0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Frames of the usual form decode as expected, and the same frame after a leading space
    /// (which the fast path never takes) decodes identically.
    #[test]
    fn fast_and_general_paths_agree(case in case()) {
        let env = Envelope::decode(&case.frame)
            .map_err(|e| TestCaseError::fail(format!("{:?}: {e}", case.frame)))?;
        check(&env, &case)?;
        let spaced = format!(" \n{}", case.frame);
        let slow = Envelope::decode(&spaced)
            .map_err(|e| TestCaseError::fail(format!("{spaced:?}: {e}")))?;
        check(&slow, &case)?;
        // A space inside the header also forces the general path.
        if !case.tag.is_host_addressed() {
            let inner = case.frame.replacen('(', "( ", 1);
            let slow = Envelope::decode(&inner)
                .map_err(|e| TestCaseError::fail(format!("{inner:?}: {e}")))?;
            check(&slow, &case)?;
        }
        let header = Envelope::decode_header(&case.frame).unwrap();
        prop_assert!(same(&header, &env));
    }

    /// Encoding then decoding gives the envelope back, with node and lane percent-encoded.
    #[test]
    fn encode_then_decode_is_identity(
        tag in prop::sample::select(Tag::ALL.to_vec()),
        node in any_text(),
        lane in any_text(),
        prio in any_f32(),
        rate in any_f32(),
        body in body(),
    ) {
        let env = Envelope::new(tag, &node, &lane)
            .with_prio(prio)
            .with_rate(rate)
            .with_body(Body::from_raw(body.1));
        let frame = env.to_string();
        let mut buf = vec![0u8; frame.len()];
        prop_assert_eq!(env.encode_to_slice(&mut buf), Ok(frame.len()));
        prop_assert_eq!(buf.as_slice(), frame.as_bytes());
        let back = Envelope::decode(&frame)
            .map_err(|e| TestCaseError::fail(format!("{frame:?}: {e}")))?;
        prop_assert_eq!(back.tag, tag);
        if tag.is_host_addressed() {
            prop_assert!(back.node == "" && back.lane == "");
        } else {
            prop_assert!(back.node == uri(&node).as_str(), "node {:?} in {:?}", node, frame);
            prop_assert!(back.lane == uri(&lane).as_str(), "lane {:?} in {:?}", lane, frame);
        }
        let (want_prio, want_rate) = if tag.is_link_addressed() { (prio, rate) } else { (0.0, 0.0) };
        prop_assert!(
            back.prio == want_prio || (back.prio.is_nan() && want_prio.is_nan()),
            "prio {} became {} in {:?}", want_prio, back.prio, frame
        );
        prop_assert!(
            back.rate == want_rate || (back.rate.is_nan() && want_rate.is_nan()),
            "rate {} became {} in {:?}", want_rate, back.rate, frame
        );
        prop_assert_eq!(back.body.raw(), body.1);
        // Encoding the decoded envelope again gives the same frame.
        prop_assert_eq!(back.to_string(), frame);
    }

    /// No input makes the decoder panic, and whatever it accepts can be encoded and decoded
    /// again to the same kind and body.
    #[test]
    fn arbitrary_text_never_panics(frame in "\\PC{0,64}") {
        reencode(&frame)?;
    }

    #[test]
    fn header_like_text_never_panics(
        frame in "[ @(),:;\"'`\\\\{}\\[\\]#\n%=a-z0-9.eE+\\-]{0,48}",
        tag in prop::sample::select(Tag::ALL.to_vec()),
    ) {
        reencode(&frame)?;
        reencode(&format!("@{}{}", tag.name(), frame))?;
        reencode(&format!("@{}(node:{}", tag.name(), frame))?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = Envelope::decode_bytes(&bytes);
        let _ = Envelope::decode_header_bytes(&bytes);
    }
}

fn reencode(frame: &str) -> Result<(), TestCaseError> {
    let header = Envelope::decode_header(frame);
    let Ok(env) = Envelope::decode(frame) else {
        if let Err(e) = Envelope::decode(frame) {
            prop_assert!(
                e.offset <= frame.len(),
                "offset {} past the end of {:?}",
                e.offset,
                frame
            );
            let _ = e.to_string();
        }
        return Ok(());
    };
    let header =
        header.map_err(|e| TestCaseError::fail(format!("decode_header {frame:?}: {e}")))?;
    prop_assert!(same(&header, &env), "decode_header differs on {:?}", frame);
    let again = env.to_string();
    let back = Envelope::decode(&again)
        .map_err(|e| TestCaseError::fail(format!("{frame:?} -> {again:?}: {e}")))?;
    prop_assert_eq!(back.tag, env.tag);
    prop_assert_eq!(back.body.is_absent(), env.body.is_absent());
    if !env.body.is_absent() {
        prop_assert_eq!(back.body.raw(), env.body.raw());
    }
    Ok(())
}

/// Envelope equality with NaN prio/rate equal to themselves.
fn same(a: &Envelope<'_>, b: &Envelope<'_>) -> bool {
    a.tag == b.tag
        && a.node == b.node
        && a.lane == b.lane
        && a.prio.to_bits() == b.prio.to_bits()
        && a.rate.to_bits() == b.rate.to_bits()
        && a.body == b.body
}

#[cfg(feature = "alloc")]
mod value_bodies {
    use proptest::prelude::*;
    use warp_proto::envelope::{Body, Envelope};
    use warp_proto::recon::{Item, Value};

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::Int),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::Float),
            any::<bool>().prop_map(Value::Bool),
            "\\PC{0,6}".prop_map(Value::Text),
            "[a-z]{1,5}".prop_map(Value::Text),
            prop::collection::vec(any::<u8>(), 0..5).prop_map(Value::Data),
            Just(Value::Extant),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            let item = prop_oneof![
                inner.clone().prop_map(Item::Value),
                ("[a-z]{1,4}", inner.clone()).prop_map(|(k, v)| Item::Slot(Value::Text(k), v)),
                ("[a-z]{1,4}|\\PC{0,3}", inner.clone()).prop_map(|(n, v)| Item::Attr(n, v)),
            ];
            prop::collection::vec(item, 0..4).prop_map(Value::Record)
        })
    }

    /// What a body reads back as: Absent for the bodies that have no text of their own.
    fn normal(v: &Value) -> Value {
        match v {
            Value::Extant => Value::Absent,
            Value::Record(items) if items.is_empty() => Value::Absent,
            other => other.clone(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn value_bodies_read_back(body in value()) {
            let env = Envelope::command("/a", "b", Body::absent());
            let mut frame = String::new();
            env.encode_with_value(&body, &mut frame).unwrap();
            let back = Envelope::decode(&frame)
                .map_err(|e| TestCaseError::fail(format!("{frame:?}: {e}")))?;
            let value = back.body.to_value()
                .map_err(|e| TestCaseError::fail(format!("{frame:?}: {e}")))?;
            prop_assert_eq!(value, normal(&body), "frame {:?}", frame);
            // Forwarding the decoded body as raw text gives the same frame.
            prop_assert_eq!(Envelope::event("/a", "b", back.body).to_string().replacen("@event", "@command", 1), frame);
        }
    }
}
