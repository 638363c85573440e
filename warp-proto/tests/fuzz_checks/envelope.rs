//! `envelope`: `Envelope::decode` agrees with `Envelope::decode_header`, what decodes encodes
//! and decodes back to the same envelope, and errors point inside the frame.

use warp_proto::envelope::{write_uri, Envelope, EnvelopeError, EnvelopeErrorKind};
use warp_proto::recon::{ErrorKind, Text, Value};

fn check_error(frame: &str, e: &EnvelopeError) {
    assert!(
        e.offset <= frame.len(),
        "error offset {} past the frame: {e} on {frame:?}",
        e.offset
    );
    assert!(!e.to_string().is_empty());
}

/// The text as the encoder writes it: percent-encoded (encoding twice changes nothing).
fn uri(t: &Text<'_>) -> String {
    let decoded: String = t.chars().collect();
    let mut out = String::new();
    // Writing into a String never fails.
    let _ = write_uri(&decoded, &mut out);
    out
}

/// prio and rate read back: equal, or both NaN.
fn same_f32(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// The `envelope` target.
pub fn envelope(data: &[u8]) {
    match (
        Envelope::decode_bytes(data),
        Envelope::decode_header_bytes(data),
    ) {
        (Err(e), _) | (_, Err(e)) if e.kind == EnvelopeErrorKind::Recon(ErrorKind::InvalidUtf8) => {
            let valid = core::str::from_utf8(data).err().map(|u| u.valid_up_to());
            assert_eq!(Some(e.offset), valid, "UTF-8 error offset on {data:?}");
            return;
        }
        _ => {}
    }
    let Ok(frame) = core::str::from_utf8(data) else {
        panic!("decode_bytes accepted invalid UTF-8 {data:?}");
    };
    check_frame(frame);
}

/// The checks on one frame of text.
pub fn check_frame(frame: &str) {
    let full = Envelope::decode(frame);
    let header = Envelope::decode_header(frame);
    if let Err(e) = &full {
        check_error(frame, e);
    }
    if let Err(e) = &header {
        check_error(frame, e);
    }
    match (&full, &header) {
        (Ok(env), Ok(head)) => {
            assert_eq!(env.tag, head.tag, "tag on {frame:?}");
            assert_eq!(env.node, head.node, "node on {frame:?}");
            assert_eq!(env.lane, head.lane, "lane on {frame:?}");
            assert!(same_f32(env.prio, head.prio) && same_f32(env.rate, head.rate));
            assert_eq!(env.body.raw(), head.body.raw(), "raw body on {frame:?}");
        }
        (Ok(env), Err(e)) => {
            panic!("decode gave {env:?} but decode_header failed: {e} on {frame:?}")
        }
        (Err(e), Ok(head)) => {
            // Then only the body is wrong, and the error lies inside it.
            let body_at = frame.len() - head.body.raw().len();
            assert!(
                matches!(e.kind, EnvelopeErrorKind::Recon(_)) && e.offset >= body_at,
                "header decoded but decode failed outside the body: {e} on {frame:?}"
            );
            assert!(head.body.to_value().is_err(), "body {:?}", head.body);
        }
        (Err(_), Err(_)) => {}
    }
    if let Ok(env) = full {
        round_trip(frame, &env);
    }
}

fn round_trip(frame: &str, env: &Envelope<'_>) {
    let mut encoded = String::new();
    if let Err(e) = env.encode(&mut encoded) {
        panic!("decoded {env:?} from {frame:?} but encoding failed: {e}");
    }
    assert_eq!(env.encoded_len(), encoded.len(), "encoded_len of {env:?}");
    let mut buf = vec![0u8; encoded.len()];
    assert_eq!(env.encode_to_slice(&mut buf), Ok(encoded.len()));
    assert_eq!(buf, encoded.as_bytes());
    let back = match Envelope::decode(&encoded) {
        Ok(back) => back,
        Err(e) => panic!("{frame:?} decoded, encoded as {encoded:?}, which fails: {e}"),
    };
    let what = || format!("{frame:?} → {encoded:?}");
    assert_eq!(back.tag, env.tag, "tag: {}", what());
    if !env.tag.is_host_addressed() {
        assert_eq!(uri(&back.node), uri(&env.node), "node: {}", what());
        assert_eq!(uri(&back.lane), uri(&env.lane), "lane: {}", what());
    }
    if env.tag.is_link_addressed() {
        assert!(same_f32(back.prio, env.prio), "prio: {}", what());
        assert!(same_f32(back.rate, env.rate), "rate: {}", what());
    }
    let value = env.body.to_value();
    let value_back = back.body.to_value();
    assert_eq!(value_back, value, "body: {}", what());
    // Encoding the body as a value gives it back too (a value with no text of its own reads
    // back as Absent).
    if let Ok(value) = value {
        let mut with_value = String::new();
        match env.encode_with_value(&value, &mut with_value) {
            Ok(()) => {
                let again = match Envelope::decode(&with_value) {
                    Ok(again) => again,
                    Err(e) => panic!("{frame:?}: body value written as {with_value:?}: {e}"),
                };
                let expected = match value {
                    Value::Extant => Value::Absent,
                    Value::Record(ref items) if items.is_empty() => Value::Absent,
                    v => v,
                };
                assert_eq!(
                    again.body.to_value(),
                    Ok(expected),
                    "{frame:?}: body value written as {with_value:?}"
                );
            }
            Err(e) => assert_eq!(
                e.kind,
                EnvelopeErrorKind::Recon(ErrorKind::NonFiniteFloat),
                "{frame:?}: encode_with_value"
            ),
        }
    }
}
