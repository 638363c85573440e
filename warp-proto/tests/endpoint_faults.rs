//! What an endpoint does when the peer misbehaves: bad handshakes, bad envelopes, binary
//! frames, invalid UTF-8, oversized and unmasked frames, a vanishing transport. Every case
//! ends in a typed `Closed` reason and (where the protocol wants one) the right close code.

mod endpoint_util;

use core::time::Duration;

use endpoint_util::*;
use warp_proto::connection::{Close, Config, ProtocolErrorKind};
use warp_proto::endpoint::{CloseReason, EndpointConfig};
use warp_proto::envelope::EnvelopeError;
use warp_proto::ws::{
    encode_frame, ClientHandshake, CloseCode, Field, HandshakeError, Opcode, Role, WsConfig,
    WsError, WsErrorKind,
};
use warp_proto::Input;

fn strict() -> EndpointConfig {
    EndpointConfig::default().with_warp(Config::default().with_max_protocol_errors(0))
}

/// A server endpoint after a raw client's handshake.
fn connected_server(config: EndpointConfig) -> VecServer {
    let mut s = server(config);
    let hs = ClientHandshake::new("h", "/", [5; 16]);
    let mut buf = [0u8; 512];
    let n = hs.write_request(&mut buf).unwrap();
    let mut out = Drained::default();
    feed(&mut s, T0, &buf[..n], &mut out);
    assert!(out.bytes.starts_with(b"HTTP/1.1 101"));
    s
}

/// A frame as a client sends it (masked).
fn masked(op: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; payload.len() + 14];
    let n = encode_frame(&mut buf, true, op, Some([0x11, 0x22, 0x33, 0x44]), payload).unwrap();
    buf.truncate(n);
    buf
}

/// A frame as a server sends it (unmasked).
fn unmasked(op: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; payload.len() + 14];
    let n = encode_frame(&mut buf, true, op, None, payload).unwrap();
    buf.truncate(n);
    buf
}

fn send<E: Side>(side: &mut E, bytes: &[u8]) -> Drained {
    let mut out = Drained::default();
    feed(side, T0, bytes, &mut out);
    out
}

fn close_payload(code: u16) -> Vec<u8> {
    code.to_be_bytes().to_vec()
}

#[test]
fn malformed_envelopes_are_reported_then_close_1002_past_the_tolerance() {
    let mut s = connected_server(EndpointConfig::default());
    for i in 1..=16 {
        let out = send(&mut s, &masked(Opcode::Text, b"@event(node:a"));
        assert!(out.bytes.is_empty() && out.closed.is_none());
        assert!(
            s.log[i].starts_with("protocol error Envelope("),
            "{}",
            s.log[i]
        );
        assert!(s.log[i].ends_with(&format!("(bad frame {i}, close None)")));
    }
    // The link table still works between bad frames.
    let out = send(
        &mut s,
        &masked(Opcode::Text, b"@link(node:\"/unit/1\",lane:info)"),
    );
    assert_eq!(
        texts(&frames(&out.bytes, Role::Server)),
        ["@linked(node:\"/unit/1\",lane:info)"]
    );
    // The 17th passes the default tolerance of 16.
    let out = send(&mut s, &masked(Opcode::Text, b"not recon {"));
    assert_eq!(close_code(&frames(&out.bytes, Role::Server)), Some(1002));
    assert!(out.closed.is_none(), "waits for the peer's close frame");
    let out = send(&mut s, &masked(Opcode::Close, &close_payload(1002)));
    let Some(CloseReason::Warp(e)) = out.closed else {
        panic!("{:?}", out.closed)
    };
    assert_eq!(e.count, 17);
    assert_eq!(e.close, Some(Close::ProtocolError));
    assert!(matches!(e.kind, ProtocolErrorKind::Envelope(_)));
}

#[test]
fn with_zero_tolerance_a_malformed_envelope_closes_1002_with_its_position() {
    let mut s = connected_server(strict());
    let out = send(&mut s, &masked(Opcode::Text, b"@event(node:\"/a\",lane:)"));
    let sent = frames(&out.bytes, Role::Server);
    assert_eq!(sent.len(), 1, "nothing but the close: {sent:?}");
    assert_eq!(close_code(&sent), Some(1002));
    // The peer never answers: the close timeout ends it, and the reason stays the error.
    let mut out = Drained::default();
    s.input(Input::Timeout(ms(5_000))).unwrap();
    drain(&mut s, ms(5_000), &mut out);
    let Some(CloseReason::Warp(e)) = out.closed else {
        panic!("{:?}", out.closed)
    };
    let ProtocolErrorKind::Envelope(EnvelopeError { offset, .. }) = e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(offset, 22, "the empty lane value");
    assert_eq!(out.closed.unwrap().code(), CloseCode::PROTOCOL_ERROR);
    assert_eq!(
        out.closed.unwrap().close_frame(),
        Some((CloseCode::PROTOCOL_ERROR, "Protocol error"))
    );
}

#[test]
fn a_binary_frame_is_a_protocol_error() {
    let mut s = connected_server(strict());
    let out = send(&mut s, &masked(Opcode::Binary, &[1, 2, 3]));
    assert_eq!(close_code(&frames(&out.bytes, Role::Server)), Some(1002));
    assert_eq!(
        s.log[1],
        "protocol error Binary (bad frame 1, close Some(ProtocolError))"
    );
    let out = send(&mut s, &masked(Opcode::Close, &close_payload(1000)));
    assert!(matches!(
        out.closed,
        Some(CloseReason::Warp(e)) if e.kind == ProtocolErrorKind::Binary
    ));
}

#[test]
fn invalid_utf8_closes_1007_at_once() {
    let mut s = connected_server(EndpointConfig::default());
    let out = send(&mut s, &masked(Opcode::Text, b"@event(node:a,lane:b)\xff"));
    assert_eq!(close_code(&frames(&out.bytes, Role::Server)), Some(1007));
    // Offsets count from the first byte after the handshake: a 6-byte header, then 21 bytes.
    assert_eq!(
        out.closed,
        Some(CloseReason::WebSocket(WsError::new(
            WsErrorKind::InvalidUtf8,
            27
        )))
    );
}

#[test]
fn oversized_frames_close_1009() {
    let ws = WsConfig::default().with_max_message_len(1024);
    let mut s = connected_server(EndpointConfig::default().with_ws(ws));
    let big = format!("@command(node:a,lane:b)\"{}\"", "x".repeat(2000));
    let out = send(&mut s, &masked(Opcode::Text, big.as_bytes()));
    assert_eq!(close_code(&frames(&out.bytes, Role::Server)), Some(1009));
    let Some(CloseReason::WebSocket(e)) = out.closed else {
        panic!("{:?}", out.closed)
    };
    assert!(
        matches!(e.kind, WsErrorKind::MessageTooLarge { .. }),
        "{e:?}"
    );
    assert_eq!(out.closed.unwrap().code(), CloseCode::MESSAGE_TOO_BIG);

    // Within the WebSocket limit but over the WARP frame limit: 1009 too.
    let warp = Config::default().with_max_frame_len(512);
    let mut s = connected_server(EndpointConfig::default().with_warp(warp));
    let big = format!("@command(node:a,lane:b)\"{}\"", "x".repeat(600));
    let out = send(&mut s, &masked(Opcode::Text, big.as_bytes()));
    assert_eq!(close_code(&frames(&out.bytes, Role::Server)), Some(1009));
    let out = send(&mut s, &masked(Opcode::Close, &close_payload(1009)));
    assert!(matches!(
        out.closed,
        Some(CloseReason::Warp(e)) if e.close == Some(Close::FrameTooLarge)
    ));
}

#[test]
fn a_fixed_receive_storage_bounds_messages_with_1009() {
    let ep = warp_proto::ServerEndpoint::<[u8; 1024], Vec<u8>>::with_storage(
        T0,
        EndpointConfig::default(),
        [0; 1024],
        Vec::new(),
    )
    .unwrap();
    let mut s = ServerSide::new(ep);
    let hs = ClientHandshake::new("h", "/", [5; 16]);
    let mut buf = [0u8; 512];
    let n = hs.write_request(&mut buf).unwrap();
    send(&mut s, &buf[..n]);
    let big = format!("@command(node:a,lane:b)\"{}\"", "x".repeat(1100));
    let out = send(&mut s, &masked(Opcode::Text, big.as_bytes()));
    assert_eq!(close_code(&frames(&out.bytes, Role::Server)), Some(1009));
}

#[test]
fn an_unmasked_frame_to_a_server_closes_1002() {
    let mut s = connected_server(EndpointConfig::default());
    let out = send(&mut s, &unmasked(Opcode::Text, b"@auth"));
    assert_eq!(close_code(&frames(&out.bytes, Role::Server)), Some(1002));
    assert_eq!(
        out.closed,
        Some(CloseReason::WebSocket(WsError::new(
            WsErrorKind::UnmaskedFrame,
            1
        )))
    );
}

#[test]
fn a_peer_close_is_echoed_and_reported_with_its_code() {
    let mut s = connected_server(EndpointConfig::default());
    let out = send(&mut s, &masked(Opcode::Close, &close_payload(1001)));
    assert_eq!(close_code(&frames(&out.bytes, Role::Server)), Some(1001));
    assert_eq!(
        out.closed,
        Some(CloseReason::Remote {
            code: Some(CloseCode::GOING_AWAY)
        })
    );
}

#[test]
fn the_transport_closing_mid_frame_is_reported() {
    let mut s = connected_server(EndpointConfig::default());
    let frame = masked(Opcode::Text, b"@link(node:a,lane:b)");
    let out = send(&mut s, &frame[..7]);
    assert!(out.closed.is_none());
    s.input(Input::TransportClosed(T0)).unwrap();
    let mut out = Drained::default();
    drain(&mut s, T0, &mut out);
    assert_eq!(out.closed, Some(CloseReason::TransportClosed));
    assert!(out.bytes.is_empty());
}

fn refused(request: &str, config: EndpointConfig) -> (String, Option<CloseReason>) {
    let mut s = server(config);
    let out = send(&mut s, request.as_bytes());
    (String::from_utf8(out.bytes).unwrap(), out.closed)
}

#[test]
fn bad_upgrade_requests_get_an_http_error_and_the_end() {
    let head = |first: &str, extra: &str| {
        format!(
            "{first}\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
        )
    };
    let v13 = "Sec-WebSocket-Version: 13\r\n";
    let (answer, end) = refused(&head("POST / HTTP/1.1", v13), EndpointConfig::default());
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert_eq!(
        end,
        Some(CloseReason::Handshake(HandshakeError::MethodNotGet))
    );

    let (answer, end) = refused(
        &head("GET / HTTP/1.1", "Sec-WebSocket-Version: 8\r\n"),
        EndpointConfig::default(),
    );
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(answer.contains("Sec-WebSocket-Version: 13\r\n"));
    assert!(matches!(
        end,
        Some(CloseReason::Handshake(
            HandshakeError::UnsupportedVersion { .. }
        ))
    ));

    let (answer, end) = refused(&head("GET / HTTP/1.1", ""), EndpointConfig::default());
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"));
    assert_eq!(
        end,
        Some(CloseReason::Handshake(HandshakeError::MissingHeader(
            Field::Version
        )))
    );

    let long = format!("X-Filler: {}\r\n{v13}", "y".repeat(400));
    let config = EndpointConfig::default().with_max_head_len(256);
    let (answer, end) = refused(&head("GET / HTTP/1.1", &long), config);
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    assert_eq!(
        end,
        Some(CloseReason::Handshake(HandshakeError::HeadTooLarge {
            limit: 256
        }))
    );

    let (answer, end) = refused(
        "\x16\x03\x01\x02\x00garbage\r\n\r\n",
        EndpointConfig::default(),
    );
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(matches!(end, Some(CloseReason::Handshake(_))));
}

fn client_answered(answer: &str) -> Option<CloseReason> {
    let mut c = client(EndpointConfig::default());
    let mut out = Drained::default();
    drain(&mut c, T0, &mut out);
    let out = send(&mut c, answer.as_bytes());
    out.closed
}

#[test]
fn a_client_refuses_anything_but_a_valid_101() {
    assert_eq!(
        client_answered("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        Some(CloseReason::Handshake(HandshakeError::Rejected {
            status: 404
        }))
    );
    let bad_accept = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    assert!(matches!(
        client_answered(bad_accept),
        Some(CloseReason::Handshake(
            HandshakeError::AcceptMismatch { .. }
        ))
    ));
    let key = warp_proto::ws::WebSocketKey::from_nonce([7; 16]);
    let other_protocol = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
        key.accept()
    );
    assert!(matches!(
        client_answered(&other_protocol),
        Some(CloseReason::Handshake(
            HandshakeError::UnexpectedProtocol { .. }
        ))
    ));
}

/// A client endpoint after a raw server's `101`.
fn connected_client() -> VecClient {
    let mut c = client(EndpointConfig::default());
    let mut out = Drained::default();
    drain(&mut c, T0, &mut out);
    let key = warp_proto::ws::WebSocketKey::from_nonce([7; 16]);
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: warp0\r\n\r\n",
        key.accept()
    );
    send(&mut c, answer.as_bytes());
    assert!(c.ep.is_connected());
    c
}

#[test]
fn a_client_reports_bad_envelopes_and_refuses_masked_frames() {
    let mut c = connected_client();
    let out = send(&mut c, &unmasked(Opcode::Text, b"@link(node:a,lane:b)"));
    assert!(out.closed.is_none());
    assert!(
        c.log[1].starts_with("protocol error Unexpected(Link)"),
        "{}",
        c.log[1]
    );
    assert!(c.ep.is_connected());
    let out = send(&mut c, &masked(Opcode::Text, b"@event(node:a,lane:b)"));
    // The client's close frame is masked: decode it as sent by a client.
    assert_eq!(close_code(&frames(&out.bytes, Role::Client)), Some(1002));
    assert!(matches!(
        out.closed,
        Some(CloseReason::WebSocket(e)) if e.kind == WsErrorKind::MaskedFrame
    ));
}

#[test]
fn a_client_waits_for_the_close_echo_then_times_out() {
    let ws = WsConfig::default().with_close_timeout(Some(Duration::from_millis(700)));
    let mut c = client(EndpointConfig::default().with_ws(ws));
    let mut out = Drained::default();
    drain(&mut c, T0, &mut out);
    let key = warp_proto::ws::WebSocketKey::from_nonce([7; 16]);
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        key.accept()
    );
    send(&mut c, answer.as_bytes());
    c.ep.close();
    let mut out = Drained::default();
    drain(&mut c, ms(100), &mut out);
    assert_eq!(close_code(&frames(&out.bytes, Role::Client)), Some(1000));
    assert_eq!(
        out.deadline,
        Some(ms(700)),
        "the close timeout runs from the last input"
    );
    c.input(Input::Timeout(ms(700))).unwrap();
    let mut out = Drained::default();
    drain(&mut c, ms(700), &mut out);
    assert_eq!(
        out.closed,
        Some(CloseReason::Local {
            code: CloseCode::NORMAL
        })
    );
}
