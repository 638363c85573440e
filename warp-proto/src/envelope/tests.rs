//! The fast header scanner against the general path, directly.

use proptest::prelude::*;
use std::string::{String, ToString};
use std::{format, vec};

use super::fast::fast_header;
use super::general::general_header;
use super::Tag;

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_-]{0,8}"
}

/// A double-quoted string with plain characters and portable escapes.
fn quoted() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z/:.0-9 ]{1,4}",
        Just("\\\"".to_string()),
        Just("\\\\".to_string()),
        Just("\\/".to_string()),
        Just("\\n".to_string()),
        Just("\\u00e9".to_string()),
        Just("\\uD83D\\uDE00".to_string()),
        Just("\u{e9}".to_string()),
        Just("\u{1F600}".to_string()),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|v| format!("\"{}\"", v.concat()))
}

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![ident(), quoted()]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i32>().prop_map(|i| i.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        (any::<i32>(), 0u32..1000).prop_map(|(i, f)| format!("{i}.{f}")),
        (-20i32..20, 1u32..99, -40i32..40).prop_map(|(i, f, e)| format!("{i}.{f}e{e}")),
        (1u32..9, -50i32..50).prop_map(|(i, e)| format!("{i}E{e}")),
        Just("0".to_string()),
        Just("-0".to_string()),
        Just("-0.0".to_string()),
        Just("1e39".to_string()),
    ]
}

fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        text_value().prop_map(|v| format!("node:{v}")),
        text_value().prop_map(|v| format!("lane:{v}")),
        number().prop_map(|v| format!("prio:{v}")),
        number().prop_map(|v| format!("rate:{v}")),
    ]
}

fn body() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just(""),
        Just(" 1"),
        Just("{x:1}"),
        Just(" {x:1}"),
        Just("@update(key:k){temp:21.5}"),
        Just("\"two words\""),
        Just("\n1"),
        Just("%AQ=="),
    ]
}

fn header_frame() -> impl Strategy<Value = String> {
    (
        prop::sample::select(Tag::ALL.to_vec()),
        text_value(),
        text_value(),
        prop::collection::vec(arg(), 0..4),
        any::<bool>(),
        body(),
    )
        .prop_map(|(tag, node, lane, extra, lane_first, body)| {
            if tag.is_host_addressed() {
                return format!("@{}{}", tag.name(), body);
            }
            let mut args = if lane_first {
                vec![format!("lane:{lane}"), format!("node:{node}")]
            } else {
                vec![format!("node:{node}"), format!("lane:{lane}")]
            };
            args.extend(extra);
            format!("@{}({}){}", tag.name(), args.join(","), body)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The usual header forms are taken by the fast path, and the general path reads them the
    /// same (same envelope, same header end).
    #[test]
    fn fast_path_agrees_with_general_path(frame in header_frame()) {
        let general = general_header(&frame);
        match fast_header(&frame) {
            Some(fast) => {
                let general = general.map_err(|e| TestCaseError::fail(format!("{frame:?}: {e}")))?;
                prop_assert_eq!(fast.1, general.1, "header end of {:?}", frame);
                let (f, g) = (fast.0, general.0);
                prop_assert_eq!(f.tag, g.tag);
                prop_assert_eq!(f.node, g.node, "node of {:?}", frame);
                prop_assert_eq!(f.lane, g.lane, "lane of {:?}", frame);
                prop_assert_eq!(f.prio.to_bits(), g.prio.to_bits(), "prio of {:?}", frame);
                prop_assert_eq!(f.rate.to_bits(), g.rate.to_bits(), "rate of {:?}", frame);
            }
            None => prop_assert!(false, "fast path refused {:?}", frame),
        }
    }

    /// On any input the fast path never accepts what the general path refuses, and agrees
    /// with it when both accept.
    #[test]
    fn fast_path_never_accepts_more(frame in "[@a-z(),:\"\\\\0-9.e\\- {}#\n]{0,40}") {
        if let Some(fast) = fast_header(&frame) {
            let general = general_header(&frame);
            prop_assert!(general.is_ok(), "fast accepted {:?}, general: {:?}", frame, general);
            if let Ok(general) = general {
                prop_assert_eq!(fast.1, general.1);
                prop_assert_eq!(fast.0, general.0);
            }
        }
    }
}

#[test]
fn fast_path_takes_the_common_forms() {
    for frame in [
        "@event(node:\"/unit/1\",lane:info) 42",
        "@link(node:\"/a\",lane:b,prio:0.5,rate:10)",
        "@sync(lane:b,node:a)",
        "@command(node:\"/a\\\"\",lane:b){x:1}",
        "@auth",
        "@deauth{token:abc}",
        "@unlinked(node:\"/a\",lane:b)@nodeNotFound",
    ] {
        assert!(fast_header(frame).is_some(), "{frame}");
    }
    for frame in [
        " @event(node:a,lane:b)",
        "@event(\"/a\",b)",
        "@event(node: a,lane:b)",
        "@event(\"node\":a,lane:b)",
        "@event(node:a,lane:b,foo:1)",
        "@link(node:a,lane:b,prio:0x10)",
        "@auth()",
        "@\"event\"(node:a,lane:b)",
        "@event(node:a,lane:b)x",
        "@event(node:\u{e9},lane:b)",
        "@link(node:a,lane:b,prio:99999999999999999999)",
    ] {
        assert!(fast_header(frame).is_none(), "{frame}");
    }
}

proptest! {
    /// prio and rate print like `{:?}` (Rust's shortest round-trip form) for finite values.
    #[test]
    fn prio_prints_like_debug(v in prop_oneof![
        any::<f32>(),
        (-20_000_000i32..20_000_000).prop_map(|i| i as f32),
        (-1000i32..1000).prop_map(|i| i as f32 / 4.0),
    ]) {
        prop_assume!(v.is_finite() && v != 0.0);
        let mut s = String::new();
        super::encode::write_f32(v, &mut s).unwrap();
        prop_assert_eq!(s, format!("{v:?}"));
    }
}
