//! The opening handshake, both roles (RFC 6455 section 4).

use warp_proto::ws::{
    write_accept_response, write_error_response, write_reject_response, ClientHandshake, Field,
    HandshakeError, ServerHandshake, Status, UpgradeRequest, WebSocketKey,
};

const NONCE: [u8; 16] = *b"the sample nonce";
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn request(extra: &str) -> String {
    format!(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
         {extra}\r\n"
    )
}

fn parse(req: &str) -> Result<Status<UpgradeRequest<'_>>, HandshakeError> {
    ServerHandshake::new().parse_request(req.as_bytes())
}

fn upgrade(req: &str) -> UpgradeRequest<'_> {
    match parse(req) {
        Ok(Status::Complete(u)) => u,
        other => panic!("expected a complete upgrade, got {other:?}"),
    }
}

fn response(accept: &str, extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
    )
}

#[test]
fn rfc_sample_key_gives_rfc_sample_accept() {
    let key = WebSocketKey::parse(KEY.as_bytes()).unwrap();
    assert_eq!(key.accept().as_str(), ACCEPT);
    assert_eq!(WebSocketKey::from_nonce(NONCE).as_str(), KEY);
    assert_eq!(
        ClientHandshake::new("h", "/", NONCE)
            .expected_accept()
            .as_str(),
        ACCEPT
    );
}

#[test]
fn key_must_be_base64_of_sixteen_bytes() {
    assert!(WebSocketKey::parse(b"  dGhlIHNhbXBsZSBub25jZQ==\t").is_some());
    for bad in [
        &b""[..],
        b"dGhlIHNhbXBsZSBub25jZQ=",   // 23 characters
        b"dGhlIHNhbXBsZSBub25jZQ",    // no padding
        b"dGhlIHNhbXBsZSBub25jZR==",  // non-canonical trailing bits
        b"dGhlIHNhbXBsZSBub25jZ!==",  // not base64
        b"dGhlIHNhbXBsZSBub25jZWVl",  // 18 bytes
        b"dGhlIHNhbXBsZSBub25j ZQ==", // a space inside
    ] {
        assert!(
            WebSocketKey::parse(bad).is_none(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn client_request_offers_warp0_by_default() {
    let hs = ClientHandshake::new("localhost:9001", "/unit/1?x=y", NONCE);
    let mut out = [0u8; 512];
    let n = hs.write_request(&mut out).unwrap();
    let text = std::str::from_utf8(&out[..n]).unwrap();
    assert_eq!(
        text,
        "GET /unit/1?x=y HTTP/1.1\r\nHost: localhost:9001\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: warp0\r\n\r\n"
    );
    // Our own server reads it back.
    let up = upgrade(text);
    assert_eq!(
        (up.path, up.host, up.protocol),
        ("/unit/1?x=y", "localhost:9001", Some("warp0"))
    );
}

#[test]
fn client_request_with_other_protocols_origin_and_headers() {
    let hs = ClientHandshake::new("h", "/", NONCE)
        .with_protocols(&["chat", "warp0"])
        .with_origin("http://example.com")
        .with_headers(&[("Authorization", "Bearer abc")]);
    let mut out = [0u8; 512];
    let n = hs.write_request(&mut out).unwrap();
    let text = std::str::from_utf8(&out[..n]).unwrap();
    assert!(text.contains("Sec-WebSocket-Protocol: chat, warp0\r\n"));
    assert!(text.contains("Origin: http://example.com\r\n"));
    assert!(text.contains("Authorization: Bearer abc\r\n"));
    let none = ClientHandshake::new("h", "/", NONCE).with_protocols(&[]);
    let n = none.write_request(&mut out).unwrap();
    assert!(!std::str::from_utf8(&out[..n]).unwrap().contains("Protocol"));
}

#[test]
fn client_request_refuses_head_injection_and_small_buffers() {
    let mut out = [0u8; 512];
    let cases = [
        (ClientHandshake::new("h", "/a b", NONCE), Field::Path),
        (ClientHandshake::new("h", "nopath", NONCE), Field::Path),
        (ClientHandshake::new("h\r\nX: y", "/", NONCE), Field::Host),
        (ClientHandshake::new("", "/", NONCE), Field::Host),
        (
            ClientHandshake::new("h", "/", NONCE).with_protocols(&["a b"]),
            Field::Protocol,
        ),
        (
            ClientHandshake::new("h", "/", NONCE).with_origin("o\n"),
            Field::Origin,
        ),
        (
            ClientHandshake::new("h", "/", NONCE).with_headers(&[("X", "a\r\nb")]),
            Field::Extra,
        ),
        (
            ClientHandshake::new("h", "/", NONCE).with_headers(&[("X:", "a")]),
            Field::Extra,
        ),
    ];
    for (hs, field) in cases {
        assert_eq!(
            hs.write_request(&mut out),
            Err(HandshakeError::InvalidField(field))
        );
    }
    let hs = ClientHandshake::new("h", "/", NONCE);
    let full = hs.write_request(&mut out).unwrap();
    assert_eq!(
        hs.write_request(&mut out[..full - 1]),
        Err(HandshakeError::BufferTooSmall { needed: full })
    );
}

#[test]
fn client_accepts_matching_response_and_reports_consumed() {
    let hs = ClientHandshake::new("h", "/", NONCE);
    let resp = response(ACCEPT, "Sec-WebSocket-Protocol: warp0\r\n");
    let mut bytes = resp.clone().into_bytes();
    bytes.extend_from_slice(&[0x81, 0x02, b'h', b'i']); // a frame right behind the head
    let Status::Complete(r) = hs.parse_response(&bytes).unwrap() else {
        panic!()
    };
    assert_eq!(r.protocol, Some("warp0"));
    assert_eq!(r.consumed, resp.len());
    // Header names and the token values are case-insensitive; the server may choose none.
    let loud = "HTTP/1.1 101 OK\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n\
                sec-websocket-accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n\r\n";
    let Status::Complete(r) = hs.parse_response(loud.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r.protocol, None);
}

#[test]
fn client_needs_more_bytes_until_the_head_ends() {
    let hs = ClientHandshake::new("h", "/", NONCE);
    let resp = response(ACCEPT, "");
    for cut in 0..resp.len() {
        assert_eq!(
            hs.parse_response(&resp.as_bytes()[..cut]),
            Ok(Status::Partial { needed: 1 }),
            "cut at {cut}"
        );
    }
    assert!(matches!(
        hs.parse_response(resp.as_bytes()),
        Ok(Status::Complete(_))
    ));
}

#[test]
fn client_refuses_bad_responses() {
    let hs = ClientHandshake::new("h", "/", NONCE);
    let check = |text: &str, expected: HandshakeError| {
        assert_eq!(hs.parse_response(text.as_bytes()), Err(expected), "{text}");
    };
    let bad_accept = response("dGhlIHNhbXBsZSBub25jZQ==", "");
    check(
        &bad_accept,
        HandshakeError::AcceptMismatch {
            offset: bad_accept.find("dGhl").unwrap(),
        },
    );
    check(
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        HandshakeError::Rejected { status: 400 },
    );
    check(
        "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        HandshakeError::MissingHeader(Field::Upgrade),
    );
    check(
        "HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
        HandshakeError::InvalidHeader {
            field: Field::Upgrade,
            offset: 26,
        },
    );
    check(
        "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        HandshakeError::MissingHeader(Field::Accept),
    );
    let chat = response(ACCEPT, "Sec-WebSocket-Protocol: chat\r\n");
    check(
        &chat,
        HandshakeError::UnexpectedProtocol {
            offset: chat.find("chat").unwrap(),
        },
    );
    let ext = response(ACCEPT, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    check(
        &ext,
        HandshakeError::UnexpectedExtension {
            offset: ext.find("permessage").unwrap(),
        },
    );
    check("HTTP/1.0 101 OK\r\n\r\n", HandshakeError::HttpVersion);
    check("HTTP/1.1 abc OK\r\n\r\n", HandshakeError::Malformed);
    check("HTTP/2.0 101 OK\r\n\r\n", HandshakeError::HttpVersion);
}

#[test]
fn client_bounds_the_response_head() {
    let hs = ClientHandshake::new("h", "/", NONCE).with_max_head_len(64);
    let resp = response(ACCEPT, "");
    assert!(resp.len() > 64);
    assert_eq!(
        hs.parse_response(resp.as_bytes()),
        Err(HandshakeError::HeadTooLarge { limit: 64 })
    );
    let endless = "HTTP/1.1 101 OK\r\nX: ".to_string() + &"a".repeat(100);
    assert_eq!(
        hs.parse_response(endless.as_bytes()),
        Err(HandshakeError::HeadTooLarge { limit: 64 })
    );
    assert_eq!(
        hs.parse_response(&endless.as_bytes()[..60]),
        Ok(Status::Partial { needed: 1 })
    );
}

#[test]
fn server_reads_path_key_and_consumed() {
    let req = request("");
    let mut bytes = req.clone().into_bytes();
    bytes.extend_from_slice(b"\x81\x80\x00\x00\x00\x00"); // an early frame
    let Status::Complete(up) = ServerHandshake::new().parse_request(&bytes).unwrap() else {
        panic!()
    };
    assert_eq!(up.path, "/chat");
    assert_eq!(up.host, "server.example.com");
    assert_eq!(up.key.as_str(), KEY);
    assert_eq!(up.protocol, None); // warp0 is accepted, never required
    assert_eq!(up.origin, None);
    assert_eq!(up.consumed, req.len());
}

#[test]
fn server_negotiates_warp0_only_when_offered() {
    assert_eq!(
        upgrade(&request("Sec-WebSocket-Protocol: warp0\r\n")).protocol,
        Some("warp0")
    );
    assert_eq!(
        upgrade(&request(
            "Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Protocol: warp0\r\n"
        ))
        .protocol,
        Some("warp0")
    );
    assert_eq!(
        upgrade(&request("Sec-WebSocket-Protocol: chat\r\n")).protocol,
        None
    );
    // Subprotocol names are case-sensitive.
    assert_eq!(
        upgrade(&request("Sec-WebSocket-Protocol: WARP0\r\n")).protocol,
        None
    );
    let custom = ServerHandshake::new().with_protocols(&["chat", "warp0"]);
    let req = request("Sec-WebSocket-Protocol: superchat, chat\r\n");
    let Status::Complete(up) = custom.parse_request(req.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(up.protocol, Some("chat"));
    let origin = request("Origin: http://example.com\r\n");
    assert_eq!(upgrade(&origin).origin, Some("http://example.com"));
}

#[test]
fn server_tokens_are_case_insensitive_and_listed() {
    let req =
        "GET / HTTP/1.1\r\nhost: h\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, Upgrade\r\n\
               SEC-WEBSOCKET-KEY: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version:  13 \r\n\r\n";
    assert_eq!(upgrade(req).path, "/");
}

#[test]
fn server_refuses_what_rfc_6455_forbids() {
    let base = request("");
    let cases: Vec<(String, HandshakeError)> = vec![
        (
            base.replacen("GET", "POST", 1),
            HandshakeError::MethodNotGet,
        ),
        (
            base.replacen("HTTP/1.1", "HTTP/1.0", 1),
            HandshakeError::HttpVersion,
        ),
        (
            base.replacen("Upgrade: websocket\r\n", "", 1),
            HandshakeError::MissingHeader(Field::Upgrade),
        ),
        (
            base.replacen("Upgrade: websocket", "Upgrade: h2c", 1),
            HandshakeError::InvalidHeader {
                field: Field::Upgrade,
                offset: base.find("websocket").unwrap(),
            },
        ),
        (
            base.replacen("Connection: Upgrade\r\n", "", 1),
            HandshakeError::MissingHeader(Field::Connection),
        ),
        (
            base.replacen("Connection: Upgrade", "Connection: close", 1),
            HandshakeError::InvalidHeader {
                field: Field::Connection,
                offset: base.find("Upgrade\r\nSec").unwrap(),
            },
        ),
        (
            base.replacen("Sec-WebSocket-Version: 13\r\n", "", 1),
            HandshakeError::MissingHeader(Field::Version),
        ),
        (
            base.replacen("Version: 13", "Version: 8", 1),
            HandshakeError::UnsupportedVersion {
                offset: base.find("13\r\n").unwrap(),
            },
        ),
        (
            base.replacen(&format!("Sec-WebSocket-Key: {KEY}\r\n"), "", 1),
            HandshakeError::MissingHeader(Field::Key),
        ),
        (
            base.replacen(KEY, "dGhlIHNhbXBsZQ==", 1),
            HandshakeError::InvalidKey {
                offset: base.find(KEY).unwrap(),
            },
        ),
        (
            base.replacen("Host: server.example.com\r\n", "", 1),
            HandshakeError::MissingHeader(Field::Host),
        ),
        (
            request(&format!("Sec-WebSocket-Key: {KEY}\r\n")),
            HandshakeError::DuplicateHeader {
                field: Field::Key,
                offset: base.len() - 2 + 19,
            },
        ),
        (
            "GET / HTTP/1.1\r\nHost h\r\n\r\n".to_string(),
            HandshakeError::Malformed,
        ),
    ];
    for (req, expected) in cases {
        assert_eq!(parse(&req), Err(expected), "{req}");
    }
}

#[test]
fn server_bounds_the_request_head_and_header_count() {
    let req = request("");
    let hs = ServerHandshake::new().with_max_head_len(100);
    assert_eq!(
        hs.parse_request(req.as_bytes()),
        Err(HandshakeError::HeadTooLarge { limit: 100 })
    );
    assert_eq!(
        hs.parse_request(&req.as_bytes()[..99]),
        Ok(Status::Partial { needed: 1 })
    );
    let many: String = (0..40).map(|i| format!("X-{i}: v\r\n")).collect();
    assert_eq!(parse(&request(&many)), Err(HandshakeError::TooManyHeaders));
    let err = HandshakeError::TooManyHeaders;
    assert_eq!(err.status_hint(), 431);
}

#[test]
fn server_needs_more_bytes_until_the_head_ends() {
    let req = request("Sec-WebSocket-Protocol: warp0\r\n");
    for cut in 0..req.len() {
        assert_eq!(
            ServerHandshake::new().parse_request(&req.as_bytes()[..cut]),
            Ok(Status::Partial { needed: 1 }),
            "cut at {cut}"
        );
    }
}

#[test]
fn server_response_writers() {
    let key = WebSocketKey::parse(KEY.as_bytes()).unwrap();
    let mut out = [0u8; 256];
    let n = write_accept_response(&key, Some("warp0"), &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: warp0\r\n\r\n"
    );
    assert_eq!(
        write_accept_response(&key, Some("bad token"), &mut out),
        Err(HandshakeError::InvalidField(Field::Protocol))
    );
    assert_eq!(
        write_accept_response(&key, None, &mut out[..10]),
        Err(HandshakeError::BufferTooSmall { needed: 129 })
    );

    let n = write_reject_response(400, "Failed to negotiate warp0 subprotocol", &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: 37\r\nConnection: close\r\n\r\nFailed to negotiate warp0 subprotocol"
    );
    assert_eq!(
        write_reject_response(200, "", &mut out),
        Err(HandshakeError::InvalidField(Field::Status))
    );

    let err = parse(&request("").replacen("Version: 13", "Version: 8", 1)).unwrap_err();
    let mut big = [0u8; 512];
    let n = write_error_response(&err, &mut big).unwrap();
    let text = std::str::from_utf8(&big[..n]).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{text}"
    );
    assert!(text.contains("Sec-WebSocket-Version: 13\r\n"));
    assert!(text.ends_with(&format!("{err}")), "{text}");
}

#[test]
fn errors_display_their_positions() {
    let err = HandshakeError::InvalidKey { offset: 77 };
    assert_eq!(err.offset(), Some(77));
    assert!(err.to_string().contains("77"));
    assert_eq!(err.status_hint(), 400);
    assert_eq!(HandshakeError::Rejected { status: 403 }.offset(), None);
}

#[test]
fn full_exchange_between_our_client_and_server() {
    for protocols in [&["warp0"][..], &[][..], &["chat"][..]] {
        let hs = ClientHandshake::new("example.com:80", "/ws", [42; 16]).with_protocols(protocols);
        let mut req = [0u8; 512];
        let n = hs.write_request(&mut req).unwrap();
        let Status::Complete(up) = ServerHandshake::new().parse_request(&req[..n]).unwrap() else {
            panic!()
        };
        let mut resp = [0u8; 512];
        let m = up.write_response(&mut resp).unwrap();
        let Status::Complete(done) = hs.parse_response(&resp[..m]).unwrap() else {
            panic!()
        };
        let expected = if protocols == ["warp0"] {
            Some("warp0")
        } else {
            None
        };
        assert_eq!(done.protocol, expected);
        assert_eq!(done.consumed, m);
    }
}
