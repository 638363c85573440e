//! `ws_frame`: the WebSocket frame decoder never panics, a decoded frame re-encodes to one that
//! decodes the same, a prefix of a valid frame is incomplete and never invalid; plus masking in
//! pieces, close payloads and the incremental UTF-8 validator against the standard library.

use warp_proto::ws::{
    apply_mask, decode_frame, decode_header, encode_close_payload, encode_frame, header_len,
    parse_close_payload, EncodeError, Frame, Role, Status, Utf8Validator, MAX_HEADER_LEN,
};

/// The `ws_frame` target.
pub fn ws_frame(data: &[u8]) {
    let header = decode_header(data);
    match header {
        Err(e) => assert!(
            (e.offset as usize) < data.len(),
            "header error {e:?} at an offset past {data:?}"
        ),
        Ok(Status::Partial { needed }) => assert!(
            needed >= 1 && data.len() + needed <= MAX_HEADER_LEN,
            "header Partial {{ needed: {needed} }} on {data:?}"
        ),
        Ok(Status::Complete((h, len))) => {
            assert!((2..=MAX_HEADER_LEN).contains(&len) && len <= data.len());
            assert!(
                h.encoded_len() <= len,
                "{h:?} shorter than its minimal form"
            );
            for k in 0..len {
                match decode_header(&data[..k]) {
                    Ok(Status::Partial { needed }) => assert!(
                        needed >= 1 && k + needed <= len,
                        "prefix {k} of header {data:?}: needed {needed}"
                    ),
                    other => panic!("prefix {k} of the header of {data:?} gave {other:?}"),
                }
            }
        }
    }
    for role in [Role::Server, Role::Client] {
        for limit in [u64::MAX, 125, 0] {
            check_decode(data, role, limit, header.is_err());
        }
    }
    check_close_payload(data);
    check_utf8(data);
}

fn check_decode(data: &[u8], role: Role, limit: u64, header_failed: bool) {
    match decode_frame(data, role, limit) {
        Err(e) => assert!(
            (e.offset as usize) < data.len(),
            "{e:?} at an offset past {data:?}"
        ),
        Ok(_) if header_failed => panic!("decode_frame accepted a bad header: {data:?}"),
        Ok(Status::Partial { needed }) => assert!(needed >= 1),
        Ok(Status::Complete(frame)) => {
            let len = frame.len();
            assert!(len <= data.len() && frame.payload_len as u64 <= limit);
            for k in 0..len {
                match decode_frame(&data[..k], role, limit) {
                    Ok(Status::Partial { needed }) => assert!(
                        needed >= 1 && k + needed <= len,
                        "prefix {k} of frame {data:?}: needed {needed}"
                    ),
                    other => panic!("prefix {k} of frame {data:?} ({role:?}) gave {other:?}"),
                }
            }
            re_encode(data, &frame, role, limit);
        }
    }
}

fn re_encode(data: &[u8], frame: &Frame, role: Role, limit: u64) {
    let h = frame.header;
    let mut copy = data[..frame.len()].to_vec();
    let payload = frame.unmask_payload(&mut copy).to_vec();
    assert_eq!(payload.len(), frame.payload_len);
    let mut out = vec![0u8; h.encoded_len() + payload.len()];
    let n = match encode_frame(&mut out, h.fin, h.opcode, h.mask, &payload) {
        Ok(n) => n,
        Err(e) => panic!("decoded {h:?} from {data:?} but it does not encode: {e:?}"),
    };
    assert_eq!(n, out.len());
    if !out.is_empty() {
        let mut short = vec![0u8; n - 1];
        assert_eq!(
            encode_frame(&mut short, h.fin, h.opcode, h.mask, &payload),
            Err(EncodeError::BufferTooSmall { needed: n })
        );
    }
    let Ok(Status::Complete(again)) = decode_frame(&out, role, limit) else {
        panic!("re-encoded {data:?} as {out:?}, which does not decode");
    };
    assert_eq!(again.header, h, "re-encoded header of {data:?}");
    assert_eq!(again.len(), n);
    let mut out_copy = out.clone();
    assert_eq!(again.unmask_payload(&mut out_copy), payload.as_slice());
    // A header in its minimal form is reproduced byte for byte.
    if frame.header_len == header_len(h.payload_len, h.mask.is_some()) {
        assert_eq!(out, &data[..frame.len()], "re-encoding changed the bytes");
    }
    // Masking in two pieces is masking at once.
    if let Some(mask) = h.mask {
        let split = usize::from(data[0]) % (payload.len() + 1);
        let mut whole = payload.clone();
        apply_mask(&mut whole, mask, 0);
        let mut pieces = payload.clone();
        let (a, b) = pieces.split_at_mut(split);
        apply_mask(a, mask, 0);
        apply_mask(b, mask, split);
        assert_eq!(pieces, whole);
    }
}

fn check_close_payload(data: &[u8]) {
    match parse_close_payload(data) {
        Ok(close) => {
            let mut out = [0u8; 125];
            match close.code {
                None => assert!(data.is_empty()),
                Some(code) => {
                    let n = encode_close_payload(code, close.reason, &mut out)
                        .unwrap_or_else(|e| panic!("{close:?} does not encode: {e:?}"));
                    assert_eq!(&out[..n], data);
                }
            }
        }
        Err(e) => assert!((e.offset as usize) < data.len().max(1), "{e:?} on {data:?}"),
    }
}

/// The incremental validator, fed in two pieces, agrees with `core::str::from_utf8`.
fn check_utf8(data: &[u8]) {
    let split = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let (a, b) = data.split_at(split);
    let mut v = Utf8Validator::new();
    let result = v.feed(a).and_then(|()| v.feed(b)).and_then(|()| v.finish());
    match core::str::from_utf8(data) {
        Ok(_) => assert_eq!(
            result,
            Ok(()),
            "valid UTF-8 refused: {data:?} split at {split}"
        ),
        Err(e) => match result {
            Ok(()) => panic!("invalid UTF-8 accepted: {data:?} split at {split}"),
            Err(err) => assert_eq!(
                err.offset,
                e.valid_up_to() as u64,
                "UTF-8 error offset on {data:?} split at {split}"
            ),
        },
    }
}
