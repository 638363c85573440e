//! `ws_handshake`: the server's request parser and the client's response parser never panic,
//! point inside the head, say "incomplete" on every prefix of a head they accept, and a
//! request the server accepts gets an answer the matching client accepts.

use base64::Engine as _;
use warp_proto::ws::{
    write_error_response, ClientHandshake, HandshakeError, ServerHandshake, Status, UpgradeRequest,
};

/// The nonce of the client whose answers the seeds hold (`Sec-WebSocket-Key:
/// AAECAwQFBgcICQoLDA0ODw==`).
pub const CLIENT_NONCE: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// Subprotocols a second server and client speak, besides the default `warp0` only.
const PROTOCOLS: &[&str] = &["chat", "warp0"];

/// The `ws_handshake` target: `data` is read both as a request and as a response.
pub fn ws_handshake(data: &[u8]) {
    check_request(data, ServerHandshake::new(), &["warp0"]);
    check_request(
        data,
        ServerHandshake::new().with_protocols(PROTOCOLS),
        PROTOCOLS,
    );
    check_request(
        data,
        ServerHandshake::new().with_max_head_len(64),
        &["warp0"],
    );
    check_response(data, ClientHandshake::new("localhost", "/", CLIENT_NONCE));
    check_response(
        data,
        ClientHandshake::new("localhost", "/", CLIENT_NONCE).with_protocols(PROTOCOLS),
    );
}

/// Prefix lengths below `len` to try: all of the first and last 64, and 64 more in between
/// (heads run to kilobytes; every prefix would make each input quadratic).
fn prefixes(len: usize) -> impl Iterator<Item = usize> {
    let step = (len / 64).max(1);
    (0..len).filter(move |&k| k < 64 || k + 64 >= len || k % step == 0)
}

fn check_error(data: &[u8], e: &HandshakeError) {
    if let Some(at) = e.offset() {
        assert!(at <= data.len(), "{e:?} points past {data:?}");
    }
    assert!(!e.to_string().is_empty());
}

fn check_request(data: &[u8], server: ServerHandshake<'_>, protocols: &[&str]) {
    match server.parse_request(data) {
        Err(e) => {
            check_error(data, &e);
            // The refusal is a well-formed answer that a client reads as a refusal.
            let mut out = [0u8; 1024];
            let n = write_error_response(&e, &mut out)
                .unwrap_or_else(|w| panic!("no refusal for {e:?}: {w:?}"));
            let client = ClientHandshake::new("localhost", "/", CLIENT_NONCE);
            assert_eq!(
                client.parse_response(&out[..n]),
                Err(HandshakeError::Rejected {
                    status: e.status_hint()
                }),
                "refusal of {e:?}"
            );
        }
        Ok(Status::Partial { needed }) => assert!(needed >= 1),
        Ok(Status::Complete(request)) => {
            assert!(request.consumed <= data.len());
            for k in prefixes(request.consumed) {
                match server.parse_request(&data[..k]) {
                    Ok(Status::Partial { .. }) => {}
                    other => panic!("prefix {k} of an accepted request {data:?} gave {other:?}"),
                }
            }
            answer(data, &request, protocols);
        }
    }
}

/// The accepted request's answer satisfies a client that sent the same key and offered the
/// same subprotocols.
fn answer(data: &[u8], request: &UpgradeRequest<'_>, protocols: &[&str]) {
    if let Some(p) = request.protocol {
        assert!(
            protocols.contains(&p),
            "chose {p:?}, not one the server speaks"
        );
    }
    let mut out = [0u8; 512];
    let n = request
        .write_response(&mut out)
        .unwrap_or_else(|e| panic!("no answer to {request:?}: {e:?}"));
    let mut nonce = [0u8; 18];
    let decoded = base64::engine::general_purpose::STANDARD
        .decode_slice(request.key.as_str(), &mut nonce)
        .unwrap_or_else(|e| panic!("accepted key {} does not decode: {e}", request.key));
    assert_eq!(decoded, 16, "accepted key {} is not 16 bytes", request.key);
    let mut sixteen = [0u8; 16];
    sixteen.copy_from_slice(&nonce[..16]);
    let client = ClientHandshake::new("localhost", "/", sixteen).with_protocols(protocols);
    assert_eq!(
        client.key(),
        &request.key,
        "accepted a key that is not canonical base64: {data:?}"
    );
    match client.parse_response(&out[..n]) {
        Ok(Status::Complete(response)) => {
            assert_eq!(response.consumed, n);
            assert_eq!(response.protocol, request.protocol);
        }
        other => panic!(
            "the answer {:?} to {data:?} is refused: {other:?}",
            String::from_utf8_lossy(&out[..n])
        ),
    }
}

fn check_response(data: &[u8], client: ClientHandshake<'_>) {
    match client.parse_response(data) {
        Err(e) => check_error(data, &e),
        Ok(Status::Partial { needed }) => assert!(needed >= 1),
        Ok(Status::Complete(response)) => {
            assert!(response.consumed <= data.len());
            for k in prefixes(response.consumed) {
                match client.parse_response(&data[..k]) {
                    Ok(Status::Partial { .. }) => {}
                    other => panic!("prefix {k} of an accepted answer {data:?} gave {other:?}"),
                }
            }
        }
    }
}
