//! Properties of endpoints under arbitrary input: no panic, the drive loop always settles, and
//! growable storages never grow past the configured bounds.

mod endpoint_util;

use core::time::Duration;

use endpoint_util::*;
use proptest::prelude::*;
use warp_proto::connection::Config;
use warp_proto::endpoint::{ClientEndpoint, Connect, EndpointConfig, ServerEndpoint};
use warp_proto::envelope::Body;
use warp_proto::ws::{encode_frame, ClientHandshake, Message, Opcode, WebSocketKey, WsConfig};
use warp_proto::Input;

const MAX_MESSAGE: usize = 1024;
const MAX_TRANSMIT: usize = 4096;
const MAX_HEAD: usize = 512;

fn config() -> EndpointConfig {
    let ws = WsConfig::default()
        .with_max_message_len(MAX_MESSAGE)
        .with_max_frame_len(MAX_MESSAGE)
        .with_max_transmit_len(MAX_TRANSMIT)
        .with_ping_interval(Some(Duration::from_millis(300)))
        .with_idle_timeout(Some(Duration::from_millis(1_000)));
    let warp = Config::default()
        .with_max_links(4)
        .with_max_protocol_errors(3);
    EndpointConfig::default()
        .with_ws(ws)
        .with_warp(warp)
        .with_max_head_len(MAX_HEAD)
}

/// Something the peer or the application does.
#[derive(Clone, Debug)]
enum Op {
    /// Raw bytes, fed in chunks of the given size.
    Bytes(Vec<u8>, usize),
    /// A well-formed frame (masked when `mask`) with arbitrary opcode, FIN and payload.
    Frame {
        fin: bool,
        opcode: u8,
        mask: bool,
        payload: Vec<u8>,
    },
    /// A text frame holding an envelope-ish text.
    Text(String),
    /// The clock moves on.
    Wait(u64),
    /// The application publishes / links / closes.
    Publish,
    Link,
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    let envelope = prop::sample::select(vec![
        "@link(node:\"/unit/1\",lane:info)",
        "@sync(node:\"/unit/2\",lane:count)",
        "@unlink(node:\"/unit/1\",lane:info)",
        "@command(node:\"/unit/1\",lane:add) 2",
        "@linked(node:\"/unit/1\",lane:info)",
        "@event(node:\"/unit/1\",lane:info) 1",
        "@synced(node:\"/unit/2\",lane:count)",
        "@unlinked(node:\"/unit/1\",lane:info)@nodeNotFound",
        "@auth\"ok\"",
        "@deauth",
        "@event(node:",
    ]);
    prop_oneof![
        (prop::collection::vec(any::<u8>(), 0..200), 1..64usize).prop_map(|(b, c)| Op::Bytes(b, c)),
        (
            any::<bool>(),
            prop::sample::select(vec![0u8, 1, 2, 8, 9, 10]),
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(fin, opcode, mask, payload)| Op::Frame {
                fin,
                opcode,
                mask,
                payload
            }),
        (envelope, "[ -~]{0,20}").prop_map(|(e, tail)| Op::Text(format!("{e}{tail}"))),
        (0..700u64).prop_map(Op::Wait),
        Just(Op::Publish),
        Just(Op::Link),
        Just(Op::Close),
    ]
}

fn frame_bytes(fin: bool, opcode: u8, mask: bool, payload: &[u8]) -> Vec<u8> {
    let Some(op) = Opcode::from_u8(opcode) else {
        return Vec::new();
    };
    let mut buf = vec![0u8; payload.len() + 14];
    let mask = mask.then_some([0x5a, 0x01, 0xc3, 0x7e]);
    match encode_frame(&mut buf, fin, op, mask, payload) {
        Ok(n) => {
            buf.truncate(n);
            buf
        }
        // Control frames over 125 bytes or fragmented cannot be encoded: send raw bytes.
        Err(_) => payload.to_vec(),
    }
}

/// Runs `ops` against a side whose handshake prefix is `prefix`; returns whether it ended.
fn run<E: Side>(side: &mut E, prefix: &[u8], ops: &[Op], mut app: impl FnMut(&mut E, &Op)) -> bool {
    let mut now = T0;
    let mut out = Drained::default();
    feed(side, now, prefix, &mut out);
    for op in ops {
        if out.closed.is_some() {
            return true;
        }
        match op {
            Op::Bytes(bytes, chunk) => {
                for piece in bytes.chunks(*chunk) {
                    feed(side, now, piece, &mut out);
                }
            }
            Op::Frame {
                fin,
                opcode,
                mask,
                payload,
            } => feed(
                side,
                now,
                &frame_bytes(*fin, *opcode, *mask, payload),
                &mut out,
            ),
            Op::Text(text) => feed(
                side,
                now,
                &frame_bytes(true, 1, true, text.as_bytes()),
                &mut out,
            ),
            Op::Wait(millis) => {
                now = ms(now.as_millis() + millis);
                if out.deadline.is_some_and(|d| d <= now) {
                    side.input(Input::Timeout(now)).unwrap();
                }
                drain(side, now, &mut out);
            }
            Op::Publish | Op::Link | Op::Close => {
                app(side, op);
                drain(side, now, &mut out);
            }
        }
    }
    if out.closed.is_none() {
        side.input(Input::TransportClosed(now)).unwrap();
        drain(side, now, &mut out);
    }
    out.closed.is_some()
}

fn check_bounds((rx, tx): (Vec<u8>, Vec<u8>)) {
    assert!(
        rx.len() <= MAX_MESSAGE.max(MAX_HEAD),
        "rx grew to {}",
        rx.len()
    );
    assert!(tx.len() <= MAX_TRANSMIT, "tx grew to {}", tx.len());
}

fn request() -> Vec<u8> {
    let mut buf = [0u8; 512];
    let n = ClientHandshake::new("h", "/", [4; 16])
        .write_request(&mut buf)
        .unwrap();
    buf[..n].to_vec()
}

fn answer() -> Vec<u8> {
    let key = WebSocketKey::from_nonce([7; 16]);
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: warp0\r\n\r\n",
        key.accept()
    )
    .into_bytes()
}

fn server_app(s: &mut VecServer, op: &Op) {
    match op {
        Op::Publish => {
            let _ = s.ep.publish("/unit/1", "info", Body::from_raw("\"x\""));
        }
        Op::Close => s.ep.close(),
        _ => {}
    }
}

fn client_app(c: &mut VecClient, op: &Op) {
    match op {
        Op::Link => {
            let _ = c.ep.sync("/unit/1", "info");
        }
        Op::Publish => {
            let _ = c.ep.command("/unit/1", "add", Body::from_raw("1"));
        }
        Op::Close => c.ep.close(),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn server_survives_arbitrary_bytes_before_the_handshake(
        bytes in prop::collection::vec(any::<u8>(), 0..1500),
        chunk in 1..100usize,
    ) {
        let mut s = ServerSide::new(ServerEndpoint::new(T0, config()).unwrap());
        run(&mut s, &[], &[Op::Bytes(bytes, chunk)], server_app);
        check_bounds(s.ep.into_storage().unwrap());
    }

    #[test]
    fn server_survives_arbitrary_frames_and_calls(ops in prop::collection::vec(op(), 0..40)) {
        let mut s = ServerSide::new(ServerEndpoint::new(T0, config()).unwrap());
        assert!(run(&mut s, &request(), &ops, server_app));
        check_bounds(s.ep.into_storage().unwrap());
    }

    #[test]
    fn client_survives_arbitrary_answers(
        bytes in prop::collection::vec(any::<u8>(), 0..1500),
        chunk in 1..100usize,
    ) {
        let connect = Connect::new("h", "/", [7; 16], [1; 16]);
        let mut c = ClientSide::new(ClientEndpoint::new(T0, config(), connect).unwrap());
        run(&mut c, &[], &[Op::Bytes(bytes, chunk)], client_app);
        check_bounds(c.ep.into_storage().unwrap());
    }

    #[test]
    fn client_survives_arbitrary_frames_and_calls(ops in prop::collection::vec(op(), 0..40)) {
        let connect = Connect::new("h", "/", [7; 16], [1; 16]);
        let mut c = ClientSide::new(ClientEndpoint::new(T0, config(), connect).unwrap());
        let mut out = Drained::default();
        drain(&mut c, T0, &mut out);
        assert!(run(&mut c, &answer(), &ops, client_app));
        check_bounds(c.ep.into_storage().unwrap());
    }

    #[test]
    fn message_mode_survives_arbitrary_messages(
        messages in prop::collection::vec(
            prop_oneof![
                "[ -~]{0,40}".prop_map(|s| (true, s.into_bytes())),
                "@(link|sync|command|event|linked)\\(node:\"/unit/[0-9]\",lane:(info|count)\\)[ -~]{0,8}"
                    .prop_map(|s| (true, s.into_bytes())),
                prop::collection::vec(any::<u8>(), 0..30).prop_map(|b| (false, b)),
                "[ -~]{1100,1200}".prop_map(|s| (true, s.into_bytes())),
            ],
            0..30,
        ),
    ) {
        let mut s = ServerSide::new(ServerEndpoint::new_message_mode(T0, config()));
        let mut out = Drained::default();
        for (text, bytes) in &messages {
            if out.closed.is_some() {
                break;
            }
            let message = match (text, std::str::from_utf8(bytes)) {
                (true, Ok(t)) => Message::Text(t),
                _ => Message::Binary(bytes),
            };
            drain(&mut s, T0, &mut out);
            s.input(Input::Message(T0, message)).unwrap();
            drain(&mut s, T0, &mut out);
        }
        let (rx, _) = s.ep.into_storage().unwrap();
        assert!(rx.len() <= MAX_MESSAGE);
    }
}
