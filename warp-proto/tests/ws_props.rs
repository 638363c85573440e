//! Property tests: encode/decode identity, reassembly of random fragmentations, no panics on
//! arbitrary bytes, and the same result however the input is split.

mod ws_util;

use proptest::prelude::*;
use warp_proto::ws::{
    decode_frame, decode_header, encode_frame, parse_close_payload, ClientHandshake, FrameHeader,
    Opcode, Role, ServerHandshake, Status, Utf8Validator, WebSocketKey, WsConfig, WsConnection,
};
use ws_util::*;

fn opcode() -> impl Strategy<Value = Opcode> {
    prop_oneof![
        Just(Opcode::Continuation),
        Just(Opcode::Text),
        Just(Opcode::Binary),
        Just(Opcode::Close),
        Just(Opcode::Ping),
        Just(Opcode::Pong),
    ]
}

fn payload_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 0usize..300,
        1 => Just(65_535usize),
        1 => Just(65_536usize),
        1 => 65_530usize..65_540,
    ]
}

/// A message as it goes on the wire: text or binary content and its fragment sizes.
#[derive(Clone, Debug)]
struct Fragmented {
    text: bool,
    content: Vec<u8>,
    cuts: Vec<usize>,
    pings: Vec<bool>,
}

fn fragmented() -> impl Strategy<Value = Fragmented> {
    (
        any::<bool>(),
        ".{0,40}",
        proptest::collection::vec(any::<u8>(), 0..60),
        proptest::collection::vec(0usize..80, 0..5),
        proptest::collection::vec(any::<bool>(), 5),
    )
        .prop_map(|(text, s, bin, mut cuts, pings)| {
            let content = if text { s.into_bytes() } else { bin };
            for c in &mut cuts {
                *c = (*c).min(content.len());
            }
            cuts.sort_unstable();
            Fragmented {
                text,
                content,
                cuts,
                pings,
            }
        })
}

/// Client frames (masked with varying keys) for the messages, pings between fragments.
fn wire(messages: &[Fragmented], key_seed: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut k = key_seed;
    let mut key = || {
        k = k.wrapping_mul(31).wrapping_add(7);
        [k, k ^ 0x55, k.wrapping_add(3), !k]
    };
    for m in messages {
        let mut bounds = vec![0];
        bounds.extend(&m.cuts);
        bounds.push(m.content.len());
        let pieces: Vec<&[u8]> = bounds.windows(2).map(|w| &m.content[w[0]..w[1]]).collect();
        for (i, piece) in pieces.iter().enumerate() {
            let op = if i == 0 {
                if m.text {
                    0x1
                } else {
                    0x2
                }
            } else {
                0x0
            };
            let fin = if i + 1 == pieces.len() { 0x80 } else { 0 };
            out.extend(frame(fin | op, Some(key()), piece));
            if m.pings.get(i).copied().unwrap_or(false) {
                out.extend(frame(0x89, Some(key()), &[i as u8; 3]));
            }
        }
    }
    out
}

fn expected(messages: &[Fragmented]) -> Vec<Msg> {
    messages
        .iter()
        .map(|m| {
            if m.text {
                Msg::Text(String::from_utf8(m.content.clone()).unwrap())
            } else {
                Msg::Binary(m.content.clone())
            }
        })
        .collect()
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(
        fin in any::<bool>(),
        op in opcode(),
        mask in proptest::option::of(any::<[u8; 4]>()),
        len in payload_len(),
        seed in any::<u8>(),
    ) {
        let payload: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seed)).collect();
        let mut out = vec![0u8; len + 14];
        let encoded = encode_frame(&mut out, fin, op, mask, &payload);
        if op.is_control() && (!fin || len > 125) {
            prop_assert!(encoded.is_err());
            return Ok(());
        }
        let n = encoded.unwrap();
        let receiver = if mask.is_some() { Role::Server } else { Role::Client };
        let Status::Complete(f) = decode_frame(&out[..n], receiver, u64::MAX).unwrap() else {
            panic!("incomplete");
        };
        prop_assert_eq!(f.header, FrameHeader { fin, opcode: op, mask, payload_len: len as u64 });
        prop_assert_eq!(f.len(), n);
        prop_assert_eq!(f.header_len, f.header.encoded_len());
        prop_assert_eq!(&*f.unmask_payload(&mut out[..n]), &payload[..]);
        for cut in [0, 1, f.header_len - 1, n - 1] {
            if cut < n {
                prop_assert!(decode_frame(&out[..cut], receiver, u64::MAX).unwrap().is_partial());
            }
        }
    }

    #[test]
    fn random_fragmentations_reassemble(
        messages in proptest::collection::vec(fragmented(), 0..6),
        seed in any::<u8>(),
        splits in proptest::collection::vec(0usize..2000, 0..8),
    ) {
        let input = wire(&messages, seed);
        let mut s = server(WsConfig::default());
        let out = feed_split(&mut s, &input, &splits);
        prop_assert_eq!(out.messages, expected(&messages));
        prop_assert_eq!(out.consumed, input.len());
        prop_assert_eq!(out.closed, None);
        let pings = messages
            .iter()
            .flat_map(|m| (0..=m.cuts.len()).filter(|&i| m.pings.get(i).copied().unwrap_or(false)))
            .map(|i| (0x8A, vec![i as u8; 3]))
            .collect::<Vec<_>>();
        prop_assert_eq!(parse_frames(&out.transmit), pings);
    }

    #[test]
    fn our_client_and_server_round_trip_messages(
        texts in proptest::collection::vec(".{0,50}", 0..6),
        binaries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..70), 0..4),
        frame_len in 1usize..20,
    ) {
        let config = WsConfig::default().with_max_send_frame_len(frame_len);
        let mut c = client(config);
        let mut s = server(config);
        for t in &texts {
            c.send_text(t).unwrap();
            s.send_text(t).unwrap();
        }
        for b in &binaries {
            c.send_binary(b).unwrap();
        }
        let (to_c, to_s) = pump(&mut c, &mut s, T0);
        let texts: Vec<Msg> = texts.iter().map(|t| Msg::Text(t.clone())).collect();
        let mut all = texts.clone();
        all.extend(binaries.iter().map(|b| Msg::Binary(b.clone())));
        prop_assert_eq!(to_s, all);
        prop_assert_eq!(to_c, texts);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_header(&bytes);
        for role in [Role::Client, Role::Server] {
            for limit in [0, 5, 1 << 20, u64::MAX] {
                if let Ok(Status::Complete(f)) = decode_frame(&bytes, role, limit) {
                    prop_assert!(f.len() <= bytes.len());
                    let mut copy = bytes.clone();
                    let _ = f.unmask_payload(&mut copy);
                }
            }
        }
        let _ = parse_close_payload(&bytes);
        let _ = WebSocketKey::parse(&bytes);
        let mut v = Utf8Validator::new();
        let ok = bytes.chunks(3).all(|c| v.feed(c).is_ok()) && v.finish().is_ok();
        prop_assert_eq!(ok, std::str::from_utf8(&bytes).is_ok());
        let _ = ServerHandshake::new().parse_request(&bytes);
        let _ = ClientHandshake::new("h", "/", [0; 16]).parse_response(&bytes);
    }

    #[test]
    fn arbitrary_bytes_give_the_same_result_however_split(
        prefix in proptest::collection::vec(fragmented(), 0..3),
        noise in proptest::collection::vec(any::<u8>(), 0..200),
        splits in proptest::collection::vec(0usize..600, 0..6),
        client_role in any::<bool>(),
        small in any::<bool>(),
    ) {
        let mut input = wire(&prefix, 1);
        input.extend(&noise);
        let run = |splits: &[usize]| {
            let config = WsConfig::default().with_max_frame_len(100).with_max_message_len(150);
            if small {
                let mut c = if client_role {
                    WsConnection::client(T0, config, [3; 16], [0u8; 64], [0u8; 139]).unwrap()
                } else {
                    WsConnection::server(T0, config, [0u8; 64], [0u8; 139]).unwrap()
                };
                feed_split(&mut c, &input, splits)
            } else {
                let role = if client_role { Role::Client } else { Role::Server };
                let mut c = conn(role, config);
                feed_split(&mut c, &input, splits)
            }
        };
        let whole = run(&[]);
        prop_assert_eq!(whole.consumed, input.len());
        let split = run(&splits);
        prop_assert_eq!(split, whole);
    }

    #[test]
    fn server_handshake_is_case_insensitive_in_names_and_tokens(
        upper in proptest::collection::vec(any::<bool>(), 64),
        offer in any::<bool>(),
    ) {
        let mut flip = upper.into_iter().cycle();
        let mut case = |s: &str| -> String {
            s.chars()
                .map(|c| if flip.next().unwrap() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect()
        };
        let mut req = format!(
            "GET / HTTP/1.1\r\n{}: h\r\n{}: {}\r\n{}: keep-alive, {}\r\n{}: dGhlIHNhbXBsZSBub25jZQ==\r\n{}: 13\r\n",
            case("host"), case("upgrade"), case("websocket"), case("connection"), case("upgrade"),
            case("sec-websocket-key"), case("sec-websocket-version"),
        );
        if offer {
            req += &format!("{}: warp0\r\n", case("sec-websocket-protocol"));
        }
        req += "\r\n";
        let Status::Complete(up) = ServerHandshake::new().parse_request(req.as_bytes()).unwrap() else {
            panic!("incomplete");
        };
        prop_assert_eq!(up.protocol, offer.then_some("warp0"));
        prop_assert_eq!(up.consumed, req.len());
    }
}

#[test]
fn split_at_every_position_gives_the_same_result() {
    let mut input = client_frame(0x01, "héllo ".as_bytes());
    input.extend(client_frame(0x89, b"ping"));
    input.extend(client_frame(0x80, "wörld".as_bytes()));
    input.extend(client_frame(0x82, &[0xAA; 300]));
    input.extend(client_frame(0x81, &[b'z'; 70_000]));
    input.extend(client_frame(0x88, b"\x03\xe8bye"));
    let config = WsConfig::default();
    let whole = feed(&mut server(config), &input);
    assert_eq!(whole.messages.len(), 3);
    assert_eq!(whole.messages[0], Msg::Text("héllo wörld".into()));
    assert!(whole.closed.is_some());
    let step = if cfg!(debug_assertions) { 7 } else { 1 };
    for p in (0..=input.len()).step_by(step).chain(0..400) {
        let split = feed_split(&mut server(config), &input, &[p]);
        assert_eq!(split, whole, "split at {p}");
    }
    // And byte by byte.
    let every: Vec<usize> = (0..input.len()).collect();
    assert_eq!(feed_split(&mut server(config), &input, &every), whole);
}
