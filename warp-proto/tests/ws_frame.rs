//! Frame codec, masking, close codes and UTF-8 validation (RFC 6455 section 5).

use warp_proto::ws::{
    apply_mask, decode_frame, decode_header, encode_close_payload, encode_frame, header_len,
    parse_close_payload, CloseCode, EncodeError, FrameHeader, Opcode, Role, Status, Utf8Validator,
    WsErrorKind,
};

const HELLO_MASKED: [u8; 11] = [
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];
const HELLO_UNMASKED: [u8; 7] = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn complete<T: std::fmt::Debug>(s: Status<T>) -> T {
    match s {
        Status::Complete(t) => t,
        other => panic!("expected a complete frame, got {other:?}"),
    }
}

#[test]
fn rfc_5_7_single_unmasked_text_frame() {
    let frame = complete(decode_frame(&HELLO_UNMASKED, Role::Client, 1024).unwrap());
    assert_eq!(frame.header.opcode, Opcode::Text);
    assert!(frame.header.fin);
    assert_eq!(frame.header.mask, None);
    assert_eq!(frame.raw_payload(&HELLO_UNMASKED), b"Hello");
    assert_eq!(frame.len(), 7);
    let mut out = [0u8; 7];
    assert_eq!(
        encode_frame(&mut out, true, Opcode::Text, None, b"Hello"),
        Ok(7)
    );
    assert_eq!(out, HELLO_UNMASKED);
}

#[test]
fn rfc_5_7_single_masked_text_frame() {
    let mut bytes = HELLO_MASKED;
    let frame = complete(decode_frame(&bytes, Role::Server, 1024).unwrap());
    assert_eq!(frame.header.mask, Some(MASK));
    assert_eq!(frame.payload_range(), 6..11);
    assert_eq!(frame.unmask_payload(&mut bytes), b"Hello");
    let mut out = [0u8; 11];
    assert_eq!(
        encode_frame(&mut out, true, Opcode::Text, Some(MASK), b"Hello"),
        Ok(11)
    );
    assert_eq!(out, HELLO_MASKED);
}

#[test]
fn rfc_5_7_fragmented_unmasked_text() {
    let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
    let second = [0x80, 0x02, 0x6c, 0x6f];
    let f1 = complete(decode_frame(&first, Role::Client, 1024).unwrap());
    assert_eq!((f1.header.opcode, f1.header.fin), (Opcode::Text, false));
    assert_eq!(f1.raw_payload(&first), b"Hel");
    let f2 = complete(decode_frame(&second, Role::Client, 1024).unwrap());
    assert_eq!(
        (f2.header.opcode, f2.header.fin),
        (Opcode::Continuation, true)
    );
    assert_eq!(f2.raw_payload(&second), b"lo");
}

#[test]
fn rfc_5_7_ping_and_masked_pong() {
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let f = complete(decode_frame(&ping, Role::Client, 1024).unwrap());
    assert_eq!(f.header.opcode, Opcode::Ping);
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let mut out = [0u8; 11];
    encode_frame(&mut out, true, Opcode::Pong, Some(MASK), b"Hello").unwrap();
    assert_eq!(out, pong);
}

#[test]
fn rfc_5_7_sixteen_and_sixty_four_bit_lengths() {
    let payload = vec![0xAB; 256];
    let mut out = vec![0u8; 300];
    let n = encode_frame(&mut out, true, Opcode::Binary, None, &payload).unwrap();
    assert_eq!(&out[..4], &[0x82, 0x7E, 0x01, 0x00]);
    assert_eq!(n, 260);
    let payload = vec![0xCD; 65536];
    let mut out = vec![0u8; 65546];
    let n = encode_frame(&mut out, true, Opcode::Binary, None, &payload).unwrap();
    assert_eq!(&out[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    assert_eq!(n, 65546);
    let f = complete(decode_frame(&out, Role::Client, 1 << 20).unwrap());
    assert_eq!((f.header_len, f.payload_len), (10, 65536));
}

#[test]
fn length_boundaries_use_minimal_encodings() {
    for (len, head) in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
        assert_eq!(header_len(len, false), head, "len {len}");
        assert_eq!(header_len(len, true), head + 4, "len {len}");
        let payload = vec![b'x'; len as usize];
        let mut out = vec![0u8; head + 4 + len as usize];
        let n = encode_frame(&mut out, true, Opcode::Binary, Some([1, 2, 3, 4]), &payload).unwrap();
        assert_eq!(n, head + 4 + len as usize);
        let f = complete(decode_frame(&out[..n], Role::Server, 1 << 20).unwrap());
        assert_eq!(f.payload_len, len as usize);
        assert_eq!(f.header_len, head + 4);
    }
}

#[test]
fn partial_input_reports_bytes_needed() {
    assert_eq!(decode_header(&[]).unwrap(), Status::Partial { needed: 2 });
    assert_eq!(
        decode_header(&[0x81]).unwrap(),
        Status::Partial { needed: 1 }
    );
    assert_eq!(
        decode_header(&[0x82, 0x7E, 0x01]).unwrap(),
        Status::Partial { needed: 1 }
    );
    assert_eq!(
        decode_header(&[0x82, 0xFF]).unwrap(),
        Status::Partial { needed: 12 }
    );
    assert_eq!(
        decode_frame(&HELLO_MASKED[..8], Role::Server, 1024).unwrap(),
        Status::Partial { needed: 3 }
    );
    for cut in 0..HELLO_MASKED.len() {
        assert!(decode_frame(&HELLO_MASKED[..cut], Role::Server, 1024)
            .unwrap()
            .is_partial());
    }
}

#[test]
fn reserved_bits_are_refused_with_their_value() {
    for (b0, bits) in [(0xC1, 0b100), (0xA1, 0b010), (0x91, 0b001), (0xF1, 0b111)] {
        let err = decode_header(&[b0]).unwrap_err();
        assert_eq!(err.kind, WsErrorKind::ReservedBits(bits));
        assert_eq!(err.offset, 0);
        assert_eq!(err.close_code(), CloseCode::PROTOCOL_ERROR);
    }
}

#[test]
fn unknown_opcodes_are_refused() {
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        let err = decode_header(&[0x80 | op, 0x00]).unwrap_err();
        assert_eq!(err.kind, WsErrorKind::UnknownOpcode(op));
        assert_eq!(Opcode::from_u8(op), None);
    }
    for op in [0u8, 1, 2, 8, 9, 0xA] {
        assert_eq!(Opcode::from_u8(op).map(Opcode::as_u8), Some(op));
    }
}

#[test]
fn control_frames_must_be_final_and_short() {
    for op in [0x8u8, 0x9, 0xA] {
        let err = decode_header(&[op, 0x00]).unwrap_err();
        assert_eq!(err.kind, WsErrorKind::FragmentedControl);
        let err = decode_header(&[0x80 | op, 126, 0, 126]).unwrap_err();
        assert_eq!((err.kind, err.offset), (WsErrorKind::ControlTooLong, 1));
    }
    let mut out = [0u8; 300];
    assert_eq!(
        encode_frame(&mut out, true, Opcode::Ping, None, &[0; 126]),
        Err(EncodeError::ControlTooLong { len: 126 })
    );
    assert_eq!(
        encode_frame(&mut out, false, Opcode::Pong, None, b""),
        Err(EncodeError::FragmentedControl)
    );
    // The control rule is reported even when the buffer is also too small.
    assert_eq!(
        encode_frame(&mut [0u8; 2], true, Opcode::Close, None, &[0; 126]),
        Err(EncodeError::ControlTooLong { len: 126 })
    );
    assert_eq!(
        encode_frame(&mut out, true, Opcode::Ping, None, &[7; 125]),
        Ok(127)
    );
}

#[test]
fn sixty_four_bit_length_with_top_bit_is_refused_early() {
    let err = decode_header(&[0x82, 0x7F, 0x80]).unwrap_err();
    assert_eq!((err.kind, err.offset), (WsErrorKind::LengthMsbSet, 2));
    let bytes = [0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    assert_eq!(
        decode_header(&bytes).unwrap_err().kind,
        WsErrorKind::LengthMsbSet
    );
    let header = FrameHeader {
        fin: true,
        opcode: Opcode::Binary,
        mask: None,
        payload_len: 1 << 63,
    };
    assert_eq!(
        header.encode(&mut [0u8; 14]),
        Err(EncodeError::LengthTooLarge)
    );
}

#[test]
fn masking_rules_depend_on_the_receiver() {
    let err = decode_frame(&HELLO_UNMASKED, Role::Server, 1024).unwrap_err();
    assert_eq!((err.kind, err.offset), (WsErrorKind::UnmaskedFrame, 1));
    assert_eq!(err.close_code(), CloseCode::PROTOCOL_ERROR);
    let err = decode_frame(&HELLO_MASKED, Role::Client, 1024).unwrap_err();
    assert_eq!(err.kind, WsErrorKind::MaskedFrame);
}

#[test]
fn oversized_frames_are_refused_before_the_payload() {
    // A header announcing 2^62 bytes, with no payload at all.
    let bytes = [0x82, 0x7F, 0x40, 0, 0, 0, 0, 0, 0, 0];
    let err = decode_frame(&bytes, Role::Client, 1 << 20).unwrap_err();
    assert_eq!(
        err.kind,
        WsErrorKind::FrameTooLarge {
            len: 1 << 62,
            limit: 1 << 20
        }
    );
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG);
    let err = decode_frame(&HELLO_UNMASKED, Role::Client, 4).unwrap_err();
    assert_eq!(err.kind, WsErrorKind::FrameTooLarge { len: 5, limit: 4 });
    assert!(decode_frame(&HELLO_UNMASKED, Role::Client, 5).is_ok());
}

#[test]
fn encoder_reports_the_size_needed() {
    let mut small = [0u8; 10];
    assert_eq!(
        encode_frame(&mut small, true, Opcode::Text, Some(MASK), b"Hello"),
        Err(EncodeError::BufferTooSmall { needed: 11 })
    );
    let mut out = [0u8; 3];
    let header = FrameHeader {
        fin: true,
        opcode: Opcode::Binary,
        mask: None,
        payload_len: 300,
    };
    assert_eq!(
        header.encode(&mut out),
        Err(EncodeError::BufferTooSmall { needed: 4 })
    );
}

#[test]
fn masking_with_any_phase_equals_bytewise_xor() {
    let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let key = [0xde, 0xad, 0xbe, 0xef];
    for phase in 0..8 {
        for len in [0usize, 1, 3, 7, 8, 9, 15, 16, 17, 100, 1000] {
            let mut fast = data[..len].to_vec();
            apply_mask(&mut fast, key, phase);
            let slow: Vec<u8> = data[..len]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[(i + phase) % 4])
                .collect();
            assert_eq!(fast, slow, "phase {phase} len {len}");
        }
    }
    let mut x = [1u8, 2, 3];
    apply_mask(&mut x, key, usize::MAX);
    assert_eq!(x, [1 ^ key[3], 2 ^ key[0], 3 ^ key[1]]);
}

#[test]
fn close_codes_valid_on_the_wire() {
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ] {
        assert!(CloseCode::new(code).is_valid(), "{code}");
        let payload = code.to_be_bytes();
        assert_eq!(
            parse_close_payload(&payload).unwrap().code,
            Some(CloseCode::new(code))
        );
    }
    for code in [
        0u16, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        assert!(!CloseCode::new(code).is_valid(), "{code}");
        let err = parse_close_payload(&code.to_be_bytes()).unwrap_err();
        assert_eq!(err.kind, WsErrorKind::InvalidCloseCode(code));
        assert_eq!(err.close_code(), CloseCode::PROTOCOL_ERROR);
    }
}

#[test]
fn close_payload_rules() {
    let empty = parse_close_payload(b"").unwrap();
    assert_eq!((empty.code, empty.reason), (None, ""));
    let err = parse_close_payload(b"\x03").unwrap_err();
    assert_eq!(err.kind, WsErrorKind::ClosePayloadTooShort);
    let ok = parse_close_payload(b"\x03\xe8h\xc3\xa9").unwrap();
    assert_eq!(ok.reason, "hé");
    let err = parse_close_payload(b"\x03\xe8ab\xff").unwrap_err();
    assert_eq!((err.kind, err.offset), (WsErrorKind::InvalidCloseReason, 4));
    assert_eq!(err.close_code(), CloseCode::INVALID_PAYLOAD);

    let mut out = [0u8; 125];
    assert_eq!(encode_close_payload(CloseCode::NORMAL, "", &mut out), Ok(2));
    assert_eq!(
        encode_close_payload(CloseCode::NO_STATUS, "", &mut out),
        Err(EncodeError::InvalidCloseCode(1005))
    );
    let long = "x".repeat(124);
    assert_eq!(
        encode_close_payload(CloseCode::NORMAL, &long, &mut out),
        Err(EncodeError::CloseReasonTooLong { len: 124 })
    );
    assert_eq!(
        encode_close_payload(CloseCode::NORMAL, &long[..123], &mut out),
        Ok(125)
    );
    assert_eq!(
        encode_close_payload(CloseCode::NORMAL, "abc", &mut out[..4]),
        Err(EncodeError::BufferTooSmall { needed: 5 })
    );
}

#[test]
fn utf8_validator_accepts_code_points_split_anywhere() {
    let text = "aé€😀z".as_bytes();
    for a in 0..=text.len() {
        for b in a..=text.len() {
            let mut v = Utf8Validator::new();
            v.feed(&text[..a]).unwrap();
            v.feed(&text[a..b]).unwrap();
            v.feed(&text[b..]).unwrap();
            v.finish().unwrap();
            assert_eq!(v.fed(), text.len() as u64);
        }
    }
}

#[test]
fn utf8_validator_fails_fast_at_the_first_impossible_byte() {
    let cases: &[(&[u8], u64)] = &[
        (b"\xff", 0),
        (b"ab\xc0\xaf", 2),       // overlong
        (b"\xe0\x80", 0),         // overlong 3-byte prefix
        (b"\xed\xa0\x80", 0),     // surrogate
        (b"\xf4\x90\x80\x80", 0), // above U+10FFFF
        (b"\xf5", 0),
        (b"a\x80", 1), // lone continuation
        (
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            11,
        ),
    ];
    for (bytes, offset) in cases {
        let mut v = Utf8Validator::new();
        let err = v.feed(bytes).unwrap_err();
        assert_eq!(err.offset, *offset, "{bytes:x?}");
        // The same bytes one at a time fail at the same offset, before the end.
        let mut v = Utf8Validator::new();
        let mut failed = None;
        for (i, b) in bytes.iter().enumerate() {
            if let Err(e) = v.feed(&[*b]) {
                failed = Some((i, e.offset));
                break;
            }
        }
        let (_, at) = failed.expect("byte-wise feeding must fail");
        assert_eq!(at, *offset, "{bytes:x?}");
    }
}

#[test]
fn utf8_validator_incomplete_is_fine_until_finish() {
    let mut v = Utf8Validator::new();
    v.feed(b"abc\xf0\x9f").unwrap();
    assert!(v.is_incomplete());
    assert_eq!(v.finish().unwrap_err().offset, 3);
    v.feed(b"\x98").unwrap();
    assert!(v.feed(b"A").is_err()); // the 4-byte sequence was cut by an ASCII byte
    v.reset();
    v.feed(b"\xf0\x9f\x98\x80").unwrap();
    v.finish().unwrap();
}

#[test]
fn non_minimal_lengths_are_read() {
    // 5 bytes announced in the 16-bit and in the 64-bit form.
    let mut sixteen = vec![0x82, 0x7E, 0x00, 0x05];
    sixteen.extend_from_slice(b"abcde");
    let f = complete(decode_frame(&sixteen, Role::Client, 1024).unwrap());
    assert_eq!((f.header_len, f.raw_payload(&sixteen)), (4, &b"abcde"[..]));
    let mut sixty_four = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 5];
    sixty_four.extend_from_slice(b"abcde");
    let f = complete(decode_frame(&sixty_four, Role::Client, 1024).unwrap());
    assert_eq!((f.header_len, f.payload_len), (10, 5));
}
