//! The per-connection state machine: reassembly, control frames, closing, limits, timers.

mod ws_util;

use core::time::Duration;

use warp_proto::ws::{
    CloseCode, CloseInitiator, CloseReason, EncodeError, Instant, Message, SendError,
    SendWithError, WsConfig, WsConnection, WsError, WsErrorKind, WsState,
};
use ws_util::*;

fn protocol_error(kind: WsErrorKind, offset: u64) -> Option<CloseReason> {
    Some(CloseReason::ProtocolError(WsError::new(kind, offset)))
}

/// The close frames in `transmit`, as (code, reason).
fn close_sent(transmit: &[u8]) -> Vec<(Option<u16>, String)> {
    parse_frames(transmit)
        .into_iter()
        .filter(|(b0, _)| b0 & 0x0F == 0x8)
        .map(|(_, p)| {
            let code = (p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]));
            (
                code,
                String::from_utf8(p.get(2..).unwrap_or(&[]).to_vec()).unwrap(),
            )
        })
        .collect()
}

fn ms(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

#[test]
fn fragmented_text_is_reassembled_around_interleaved_control_frames() {
    let mut s = server(WsConfig::default());
    let mut input = client_frame(0x01, b"Hel");
    input.extend(client_frame(0x89, b"ping!"));
    input.extend(client_frame(0x8A, b"unsolicited pong"));
    input.extend(client_frame(0x00, b"l"));
    input.extend(client_frame(0x80, b"o"));
    let out = feed(&mut s, &input);
    assert_eq!(out.messages, vec![Msg::Text("Hello".into())]);
    assert_eq!(out.transmit, server_frame(0x8A, b"ping!"));
    assert_eq!(out.consumed, input.len());
    assert_eq!(out.closed, None);
    assert_eq!(s.state(), WsState::Open);
}

#[test]
fn binary_messages_and_empty_fragments() {
    let mut s = server(WsConfig::default());
    let mut input = client_frame(0x02, b"");
    input.extend(client_frame(0x00, &[1, 2, 3]));
    input.extend(client_frame(0x00, b""));
    input.extend(client_frame(0x80, &[4]));
    input.extend(client_frame(0x81, b""));
    input.extend(client_frame(0x82, b""));
    let out = feed(&mut s, &input);
    assert_eq!(
        out.messages,
        vec![
            Msg::Binary(vec![1, 2, 3, 4]),
            Msg::Text(String::new()),
            Msg::Binary(vec![])
        ]
    );
}

#[test]
fn code_point_split_across_fragments_is_accepted() {
    let euro = "€".as_bytes();
    for cut in 0..=euro.len() {
        let mut s = server(WsConfig::default());
        let mut input = client_frame(0x01, &euro[..cut]);
        input.extend(client_frame(0x80, &euro[cut..]));
        let out = feed(&mut s, &input);
        assert_eq!(out.messages, vec![Msg::Text("€".into())], "cut {cut}");
    }
}

#[test]
fn invalid_utf8_in_a_single_frame_closes_1007() {
    let mut s = server(WsConfig::default());
    let mut input = client_frame(0x81, b"ok");
    input.extend(client_frame(0x81, b"ab\xffcd"));
    input.extend(client_frame(0x81, b"never delivered"));
    let out = feed(&mut s, &input);
    assert_eq!(out.messages, vec![Msg::Text("ok".into())]);
    // Second frame starts at 8; its payload at 14; the bad byte is third.
    assert_eq!(out.closed, protocol_error(WsErrorKind::InvalidUtf8, 16));
    assert_eq!(
        close_sent(&out.transmit),
        vec![(Some(1007), "invalid UTF-8".into())]
    );
    assert_eq!(out.consumed, input.len());
}

#[test]
fn invalid_utf8_in_a_fragment_fails_before_the_message_ends() {
    let mut s = server(WsConfig::default());
    let input = client_frame(0x01, b"ab\xc0\xafcd");
    let out = feed(&mut s, &input);
    assert_eq!(out.closed, protocol_error(WsErrorKind::InvalidUtf8, 8));
    assert_eq!(
        close_sent(&out.transmit),
        vec![(Some(1007), "invalid UTF-8".into())]
    );
}

#[test]
fn invalid_utf8_fails_fast_even_within_a_frame_split_by_the_transport() {
    let mut s = server(WsConfig::default());
    let mut input = client_frame(0x01, b"a");
    let second = client_frame(0x00, &[b'b'; 1000]);
    let mut bad = second.clone();
    bad[8 + 10] ^= 0xFF ^ b'b' ^ 0x22; // make payload byte 10 unmask to 0xFF
    input.extend(&bad);
    // Only part of the second frame arrives: the error is already detected.
    let out = feed(&mut s, &input[..input.len() - 900]);
    assert!(matches!(
        out.closed,
        Some(CloseReason::ProtocolError(WsError {
            kind: WsErrorKind::InvalidUtf8,
            ..
        }))
    ));
}

#[test]
fn incomplete_code_point_at_the_end_of_the_message_closes_1007() {
    let mut s = server(WsConfig::default());
    let mut input = client_frame(0x01, b"abc");
    input.extend(client_frame(0x80, b"\xe2\x82"));
    let out = feed(&mut s, &input);
    assert_eq!(out.messages, vec![]);
    // The cut sequence starts at the first payload byte of the second frame (9 + 6).
    assert_eq!(out.closed, protocol_error(WsErrorKind::InvalidUtf8, 15));
    let mut s = server(WsConfig::default());
    let out = feed(&mut s, &client_frame(0x81, b"abc\xe2\x82"));
    assert_eq!(out.closed, protocol_error(WsErrorKind::InvalidUtf8, 9));
}

#[test]
fn masking_rules_close_1002() {
    let mut s = server(WsConfig::default());
    let out = feed(&mut s, &server_frame(0x81, b"hi"));
    assert_eq!(out.closed, protocol_error(WsErrorKind::UnmaskedFrame, 1));
    assert_eq!(
        close_sent(&out.transmit),
        vec![(Some(1002), "protocol error".into())]
    );

    let mut c = client(WsConfig::default());
    let out = feed(&mut c, &client_frame(0x81, b"hi"));
    assert_eq!(out.closed, protocol_error(WsErrorKind::MaskedFrame, 1));
    // The client's own close frame is masked.
    assert_ne!(out.transmit[1] & 0x80, 0);
    assert_eq!(
        close_sent(&out.transmit),
        vec![(Some(1002), "protocol error".into())]
    );
}

#[test]
fn frame_over_the_limit_closes_1009_from_its_header() {
    let mut s = server(WsConfig::default().with_max_frame_len(100));
    let input = client_frame(0x82, &[0; 101]);
    let out = feed(&mut s, &input[..8]); // the header only
    assert_eq!(
        out.closed,
        protocol_error(
            WsErrorKind::FrameTooLarge {
                len: 101,
                limit: 100
            },
            1
        )
    );
    assert_eq!(
        close_sent(&out.transmit),
        vec![(Some(1009), "frame too large".into())]
    );
}

#[test]
fn message_over_the_limit_closes_1009() {
    let mut s = server(WsConfig::default().with_max_message_len(10));
    let mut input = client_frame(0x02, &[0; 6]);
    input.extend(client_frame(0x80, &[0; 5]));
    let out = feed(&mut s, &input);
    assert_eq!(
        out.closed,
        protocol_error(WsErrorKind::MessageTooLarge { len: 11, limit: 10 }, 13)
    );
    assert_eq!(
        close_sent(&out.transmit),
        vec![(Some(1009), "message too large".into())]
    );
    // Exactly the limit is fine.
    let mut s = server(WsConfig::default().with_max_message_len(10));
    let mut input = client_frame(0x02, &[0; 6]);
    input.extend(client_frame(0x80, &[0; 4]));
    assert_eq!(
        feed(&mut s, &input).messages,
        vec![Msg::Binary(vec![0; 10])]
    );
}

#[test]
fn message_larger_than_a_fixed_storage_closes_1009() {
    let mut s = WsConnection::server(T0, WsConfig::default(), [0u8; 16], [0u8; 256]).unwrap();
    let out = feed(&mut s, &client_frame(0x81, &[b'a'; 16]));
    assert_eq!(out.messages, vec![Msg::Text("a".repeat(16))]);
    let out = feed(&mut s, &client_frame(0x81, &[b'a'; 17]));
    assert_eq!(
        out.closed,
        protocol_error(WsErrorKind::MessageTooLarge { len: 17, limit: 16 }, 23)
    );
}

#[test]
fn fragmentation_order_violations_close_1002() {
    let mut s = server(WsConfig::default());
    let out = feed(&mut s, &client_frame(0x80, b"x"));
    assert_eq!(
        out.closed,
        protocol_error(WsErrorKind::UnexpectedContinuation, 0)
    );
    let mut s = server(WsConfig::default());
    let mut input = client_frame(0x01, b"x");
    input.extend(client_frame(0x81, b"y"));
    let out = feed(&mut s, &input);
    assert_eq!(
        out.closed,
        protocol_error(WsErrorKind::ExpectedContinuation, 7)
    );
    assert_eq!(
        close_sent(&out.transmit),
        vec![(Some(1002), "protocol error".into())]
    );
}

#[test]
fn header_errors_carry_stream_offsets() {
    let first = client_frame(0x81, b"hello");
    for (b0, kind) in [
        (0xC1, WsErrorKind::ReservedBits(0b100)),
        (0x83, WsErrorKind::UnknownOpcode(3)),
        (0x09, WsErrorKind::FragmentedControl),
    ] {
        let mut s = server(WsConfig::default());
        let mut input = first.clone();
        input.extend(client_frame(b0, b""));
        let out = feed(&mut s, &input);
        assert_eq!(out.messages, vec![Msg::Text("hello".into())]);
        assert_eq!(out.closed, protocol_error(kind, first.len() as u64));
        assert_eq!(
            close_sent(&out.transmit),
            vec![(Some(1002), "protocol error".into())]
        );
    }
    let mut s = server(WsConfig::default());
    let mut input = first.clone();
    input.extend([0x89, 0xFE, 0, 126]);
    let out = feed(&mut s, &input);
    assert_eq!(
        out.closed,
        protocol_error(WsErrorKind::ControlTooLong, first.len() as u64 + 1)
    );
}

#[test]
fn pings_are_answered_with_the_same_payload() {
    let mut s = server(WsConfig::default());
    let out = feed(&mut s, &client_frame(0x89, b"are you there"));
    assert_eq!(out.transmit, server_frame(0x8A, b"are you there"));
    let mut c = client(WsConfig::default());
    let out = feed(&mut c, &server_frame(0x89, &[7; 125]));
    let frames = parse_frames(&out.transmit);
    assert_eq!(frames, vec![(0x8A, vec![7; 125])]);
    assert_ne!(out.transmit[1] & 0x80, 0, "a client masks its pong");
}

#[test]
fn peer_close_is_echoed_and_later_input_ignored() {
    let mut s = server(WsConfig::default());
    let mut input = client_frame(0x88, b"\x03\xe8bye");
    input.extend(client_frame(0x81, b"too late"));
    let out = feed(&mut s, &input);
    assert_eq!(out.messages, vec![]);
    assert_eq!(out.consumed, input.len());
    assert_eq!(close_sent(&out.transmit), vec![(Some(1000), String::new())]);
    assert_eq!(
        out.closed,
        Some(CloseReason::Closed {
            initiator: CloseInitiator::Remote,
            code: Some(CloseCode::NORMAL)
        })
    );
    let peer = s.peer_close().unwrap();
    assert_eq!((peer.code, peer.reason), (Some(CloseCode::NORMAL), "bye"));
    assert_eq!(s.state(), WsState::Closed);
    assert_eq!(s.send_text("x"), Err(SendError::Closed));
    // Nothing more is read or written.
    let again = feed(&mut s, &client_frame(0x89, b"p"));
    assert_eq!(again.transmit, Vec::<u8>::new());
}

#[test]
fn close_without_code_is_answered_without_code() {
    let mut s = server(WsConfig::default());
    let out = feed(&mut s, &client_frame(0x88, b""));
    assert_eq!(out.transmit, server_frame(0x88, b""));
    assert_eq!(out.closed.unwrap().code(), CloseCode::NO_STATUS);
}

#[test]
fn invalid_close_frames_fail_the_connection() {
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 2000, 5000] {
        let mut s = server(WsConfig::default());
        let out = feed(&mut s, &client_frame(0x88, &code.to_be_bytes()));
        assert_eq!(
            out.closed,
            protocol_error(WsErrorKind::InvalidCloseCode(code), 6),
            "{code}"
        );
        assert_eq!(
            close_sent(&out.transmit),
            vec![(Some(1002), "protocol error".into())]
        );
    }
    let mut s = server(WsConfig::default());
    let out = feed(&mut s, &client_frame(0x88, b"\x03"));
    assert_eq!(
        out.closed,
        protocol_error(WsErrorKind::ClosePayloadTooShort, 6)
    );
    let mut s = server(WsConfig::default());
    let out = feed(&mut s, &client_frame(0x88, b"\x03\xe8\xff"));
    assert_eq!(
        out.closed,
        protocol_error(WsErrorKind::InvalidCloseReason, 8)
    );
    assert_eq!(close_sent(&out.transmit)[0].0, Some(1007));
}

#[test]
fn local_close_completes_when_the_peer_answers() {
    let mut s = server(WsConfig::default());
    s.close(ms(5), CloseCode::GOING_AWAY, "restart").unwrap();
    assert_eq!(s.state(), WsState::Closing);
    assert_eq!(s.send_text("x"), Err(SendError::Closing));
    assert_eq!(
        s.close(ms(5), CloseCode::NORMAL, ""),
        Err(SendError::Closing)
    );
    let mut out = Outputs::default();
    drain(&mut s, &mut out);
    assert_eq!(
        close_sent(&out.transmit),
        vec![(Some(1001), "restart".into())]
    );
    assert_eq!(out.closed, None);
    // The peer may still send messages before its close frame; pings get no answer now.
    let mut input = client_frame(0x81, b"last words");
    input.extend(client_frame(0x89, b"p"));
    input.extend(client_frame(0x88, b"\x03\xe9"));
    let out = feed(&mut s, &input);
    assert_eq!(out.messages, vec![Msg::Text("last words".into())]);
    assert_eq!(out.transmit, Vec::<u8>::new());
    assert_eq!(
        out.closed,
        Some(CloseReason::Closed {
            initiator: CloseInitiator::Local,
            code: Some(CloseCode::GOING_AWAY)
        })
    );
}

#[test]
fn local_close_validates_code_and_reason() {
    let mut s = server(WsConfig::default());
    assert_eq!(
        s.close(T0, CloseCode::ABNORMAL, ""),
        Err(SendError::Encode(EncodeError::InvalidCloseCode(1006)))
    );
    assert_eq!(
        s.close(T0, CloseCode::NORMAL, &"r".repeat(124)),
        Err(SendError::Encode(EncodeError::CloseReasonTooLong {
            len: 124
        }))
    );
    assert_eq!(s.state(), WsState::Open);
    s.close(T0, CloseCode::new(4000), &"r".repeat(123)).unwrap();
}

#[test]
fn close_handshake_times_out() {
    let mut s = server(WsConfig::default().with_close_timeout(Some(Duration::from_secs(2))));
    s.close(ms(1000), CloseCode::NORMAL, "").unwrap();
    assert_eq!(s.poll_timeout(), Some(ms(3000)));
    s.handle_timeout(ms(2999));
    assert_eq!(s.poll_closed(), None);
    s.handle_timeout(ms(3000));
    assert_eq!(s.poll_closed(), Some(CloseReason::TimedOut));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn keepalive_pings_then_idle_timeout() {
    let config = WsConfig::default()
        .with_ping_interval(Some(Duration::from_secs(10)))
        .with_idle_timeout(Some(Duration::from_secs(30)));
    let mut c = client(config);
    assert_eq!(c.poll_timeout(), Some(ms(10_000)));
    c.handle_timeout(ms(9_999));
    assert_eq!(c.poll_transmit(), None);
    c.handle_timeout(ms(10_000));
    let ping = c.poll_transmit().unwrap().to_vec();
    assert_eq!(parse_frames(&ping), vec![(0x89, vec![])]);
    assert_eq!(c.poll_timeout(), Some(ms(20_000)));
    // Input (the pong) moves both deadlines.
    assert_eq!(c.handle_input(ms(15_000), &server_frame(0x8A, b"")), 2);
    assert_eq!(c.poll_timeout(), Some(ms(25_000)));
    c.handle_timeout(ms(25_000));
    assert!(c.poll_transmit().is_some());
    c.handle_timeout(ms(35_000));
    assert!(c.poll_transmit().is_some());
    assert_eq!(c.poll_timeout(), Some(ms(45_000)));
    c.handle_timeout(ms(45_000));
    assert_eq!(c.poll_closed(), Some(CloseReason::TimedOut));
    assert_eq!(c.poll_transmit(), None);
}

#[test]
fn transport_closed_without_a_handshake_is_abnormal() {
    let mut s = server(WsConfig::default());
    s.send_text("queued").unwrap();
    s.handle_transport_closed(ms(1));
    assert_eq!(s.poll_closed(), Some(CloseReason::Abnormal));
    assert_eq!(s.poll_transmit(), None);
    assert_eq!(CloseReason::Abnormal.code(), CloseCode::ABNORMAL);
    // After a completed handshake the reason stays.
    let mut s = server(WsConfig::default());
    feed(&mut s, &client_frame(0x88, b"\x03\xe8"));
    s.handle_transport_closed(ms(2));
    assert!(matches!(s.poll_closed(), Some(CloseReason::Closed { .. })));
}

#[test]
fn a_complete_message_pauses_input_until_polled() {
    let mut s = server(WsConfig::default());
    let first = client_frame(0x81, b"one");
    let mut input = first.clone();
    input.extend(client_frame(0x81, b"two"));
    assert_eq!(s.handle_input(T0, &input), first.len());
    assert_eq!(s.handle_input(T0, &input[first.len()..]), 0);
    assert_eq!(s.poll_message(), Some(Message::Text("one")));
    assert_eq!(s.poll_message(), None);
    assert_eq!(
        s.handle_input(T0, &input[first.len()..]),
        input.len() - first.len()
    );
    assert_eq!(s.poll_message(), Some(Message::Text("two")));
}

#[test]
fn a_full_transmit_storage_pauses_input_until_drained() {
    let mut s = WsConnection::server(T0, WsConfig::default(), [0u8; 64], [0u8; 139]).unwrap();
    s.send_binary(&[1; 120]).unwrap(); // 122 bytes queued, 17 free
    let ping = client_frame(0x89, &[5; 20]); // its pong needs 22
    let mut input = ping.clone();
    input.extend(client_frame(0x81, b"after"));
    assert_eq!(s.handle_input(T0, &input), ping.len());
    assert_eq!(s.handle_input(T0, &input[ping.len()..]), 0);
    assert_eq!(s.pending_transmit().len(), 122);
    s.advance_transmit(100);
    assert_eq!(s.pending_transmit().len(), 22 + 22); // the rest and the pong
    assert_eq!(
        &s.pending_transmit()[22..],
        &server_frame(0x8A, &[5; 20])[..]
    );
    assert_eq!(
        s.handle_input(T0, &input[ping.len()..]),
        input.len() - ping.len()
    );
    assert_eq!(s.poll_message(), Some(Message::Text("after")));
}

#[test]
fn closed_is_reported_only_once_the_close_frame_is_transmitted() {
    let mut s = WsConnection::server(T0, WsConfig::default(), [0u8; 64], [0u8; 139]).unwrap();
    s.send_binary(&[1; 130]).unwrap(); // 134 bytes queued: no room for a close frame
    assert_eq!(s.handle_input(T0, &server_frame(0x81, b"x")), 3);
    assert_eq!(s.poll_closed(), None);
    assert_eq!(s.state(), WsState::Closing);
    assert_eq!(s.poll_transmit().map(<[u8]>::len), Some(134));
    let close = s.poll_transmit().unwrap().to_vec();
    assert_eq!(
        close_sent(&close),
        vec![(Some(1002), "protocol error".into())]
    );
    assert_eq!(
        s.poll_closed(),
        protocol_error(WsErrorKind::UnmaskedFrame, 1)
    );
    assert_eq!(s.state(), WsState::Closed);
}

#[test]
fn send_errors_are_typed() {
    let mut s = WsConnection::server(T0, WsConfig::default(), [0u8; 64], [0u8; 200]).unwrap();
    assert_eq!(
        s.send_binary(&[0; 300]),
        Err(SendError::TooLarge {
            needed: 304,
            limit: 200
        })
    );
    s.send_binary(&[0; 150]).unwrap();
    assert_eq!(
        s.send_text("0123456789012345678901234567890123456789012345678901234567890"),
        Err(SendError::WouldBlock {
            needed: 63,
            available: 46
        })
    );
    assert_eq!(
        s.send_ping(&[0; 126]),
        Err(SendError::Encode(EncodeError::ControlTooLong { len: 126 }))
    );
    assert!(s.poll_transmit().is_some());
    s.send_text("0123456789012345678901234567890123456789012345678901234567890")
        .unwrap();
    assert!(WsConnection::server(T0, WsConfig::default(), [0u8; 1], [0u8; 138]).is_err());
}

#[test]
fn send_text_with_encodes_in_place_with_a_minimal_header() {
    for len in [0usize, 5, 125, 126, 300, 70_000] {
        let mut c = client(WsConfig::default());
        let text = "x".repeat(len);
        let n = c
            .send_text_with(100_000, |buf| {
                buf[..len].copy_from_slice(text.as_bytes());
                Ok::<_, ()>(len)
            })
            .unwrap();
        assert_eq!(n, len);
        let bytes = c.poll_transmit().unwrap().to_vec();
        assert_eq!(
            bytes.len(),
            warp_proto::ws::header_len(len as u64, true) + len
        );
        assert_eq!(
            parse_frames(&bytes),
            vec![(0x81, text.clone().into_bytes())]
        );
        // And a server reads it back.
        let mut s = server(WsConfig::default());
        assert_eq!(feed(&mut s, &bytes).messages, vec![Msg::Text(text)]);
    }
}

#[test]
fn send_text_with_queues_nothing_on_error() {
    let mut s = server(WsConfig::default());
    let r = s.send_text_with(16, |buf| {
        buf[..3].copy_from_slice(b"a\xffb");
        Ok::<_, ()>(3)
    });
    assert_eq!(
        r,
        Err(SendWithError::Send(SendError::InvalidUtf8 { offset: 1 }))
    );
    let r = s.send_text_with(16, |_| Ok::<_, ()>(17));
    assert_eq!(
        r,
        Err(SendWithError::Send(SendError::WriterOverrun {
            written: 17,
            capacity: 16
        }))
    );
    let r = s.send_text_with(16, |_| Err::<usize, _>("writer failed"));
    assert_eq!(r, Err(SendWithError::Write("writer failed")));
    assert_eq!(s.poll_transmit(), None);
    // A fixed storage gives the writer what room it has.
    let mut s = WsConnection::server(T0, WsConfig::default(), [0u8; 8], [0u8; 150]).unwrap();
    let n = s
        .send_text_with(1000, |buf| Ok::<_, ()>(buf.len()))
        .unwrap();
    assert_eq!(n, 146);
    assert_eq!(s.pending_transmit().len(), 150);
}

#[test]
fn outgoing_messages_are_fragmented_on_request() {
    let config = WsConfig::default().with_max_send_frame_len(3);
    let mut c = client(config);
    let mut s = server(WsConfig::default());
    c.send_text("Hello €!").unwrap();
    let bytes = c.pending_transmit().to_vec();
    let frames = parse_frames(&bytes);
    assert_eq!(frames[0], (0x01, b"Hel".to_vec()));
    assert_eq!(frames.last().unwrap().0, 0x80);
    assert!(frames[1..frames.len() - 1]
        .iter()
        .all(|(b0, _)| *b0 == 0x00));
    let (_, got) = pump(&mut c, &mut s, T0);
    assert_eq!(got, vec![Msg::Text("Hello €!".into())]);
}

#[test]
fn client_and_server_talk_and_close() {
    let mut c = client(WsConfig::default());
    let mut s = server(WsConfig::default());
    c.send_text("@link(node:a,lane:b)").unwrap();
    c.send_binary(&[0, 1, 2]).unwrap();
    c.send_ping(b"p").unwrap();
    s.send_text("@linked(node:a,lane:b)").unwrap();
    let (to_c, to_s) = pump(&mut c, &mut s, T0);
    assert_eq!(
        to_s,
        vec![
            Msg::Text("@link(node:a,lane:b)".into()),
            Msg::Binary(vec![0, 1, 2])
        ]
    );
    assert_eq!(to_c, vec![Msg::Text("@linked(node:a,lane:b)".into())]);
    c.close(T0, CloseCode::NORMAL, "done").unwrap();
    pump(&mut c, &mut s, T0);
    assert_eq!(
        s.poll_closed(),
        Some(CloseReason::Closed {
            initiator: CloseInitiator::Remote,
            code: Some(CloseCode::NORMAL)
        })
    );
    assert_eq!(
        c.poll_closed(),
        Some(CloseReason::Closed {
            initiator: CloseInitiator::Local,
            code: Some(CloseCode::NORMAL)
        })
    );
    assert_eq!(s.peer_close().unwrap().reason, "done");
    assert!(is_closed(&c) && is_closed(&s));
}

#[test]
fn display_of_errors_names_the_position() {
    let e = WsError::new(WsErrorKind::InvalidUtf8, 1234);
    assert_eq!(
        e.to_string(),
        "text message is not valid UTF-8 at byte 1234"
    );
    let r = CloseReason::ProtocolError(e);
    assert!(r.to_string().contains("1234"));
    assert_eq!(r.code(), CloseCode::INVALID_PAYLOAD);
}

#[test]
fn storages_grow_only_within_limits() {
    use warp_proto::ws::Storage;
    let mut v: Vec<u8> = Vec::new();
    assert!(v.grow_to(10, 100));
    assert!(v.len() >= 10 && v.len() <= 100);
    assert!(v.grow_to(100, 100));
    assert_eq!(v.len(), 100);
    assert!(!v.grow_to(101, 100));
    assert_eq!(Storage::max_len(&v), usize::MAX);
    let mut backing = [0u8; 32];
    let mut slice: &mut [u8] = &mut backing;
    assert!(slice.grow_to(32, usize::MAX));
    assert!(!slice.grow_to(33, usize::MAX));
    assert_eq!(Storage::max_len(&slice), 32);
}

#[test]
fn borrowed_slices_work_as_storages() {
    let mut rx = [0u8; 64];
    let mut tx = [0u8; 256];
    let mut s = WsConnection::server(T0, WsConfig::default(), &mut rx[..], &mut tx[..]).unwrap();
    let out = feed(&mut s, &client_frame(0x81, b"no heap"));
    assert_eq!(out.messages, vec![Msg::Text("no heap".into())]);
    s.send_text("reply").unwrap();
    assert_eq!(s.poll_transmit(), Some(&server_frame(0x81, b"reply")[..]));
    let (rx_back, _) = s.into_storage();
    assert_eq!(&rx_back[..7], b"no heap");
}
