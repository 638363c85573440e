//! Interoperability with an independent implementation: `tungstenite`, in both roles, over an
//! in-memory non-blocking byte pipe (deterministic: no sockets, threads or sleeps).
#![allow(clippy::result_large_err)] // tungstenite's error and response types, not ours

mod ws_util;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;

use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::protocol::frame::coding::{CloseCode as TCode, Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::{CloseFrame as TClose, Role as TRole, WebSocketConfig};
use tungstenite::{
    ClientRequestBuilder, Error as TError, HandshakeError, Message as TMsg, WebSocket,
};
use warp_proto::ws::{
    decode_frame, write_reject_response, ClientHandshake, CloseCode, CloseInitiator, CloseReason,
    Opcode, Role, ServerHandshake, Status, WsConfig, WsError, WsErrorKind,
};
use ws_util::*;

type Queue = Rc<RefCell<VecDeque<u8>>>;

/// tungstenite's end of the pipe: reads what we transmit, writes what we receive.
struct Pipe {
    inbound: Queue,
    outbound: Queue,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut q = self.inbound.borrow_mut();
        if q.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(q.len());
        for (slot, byte) in buf.iter_mut().zip(q.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outbound.borrow_mut().extend(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Our end: a connection plus the two queues.
struct Ours {
    conn: VecConn,
    to_them: Queue,
    from_them: Queue,
    unconsumed: Vec<u8>,
    received: Vec<Msg>,
    raw: Vec<u8>,
}

impl Ours {
    fn new(conn: VecConn, to_them: Queue, from_them: Queue, leftover: &[u8]) -> Self {
        let mut ours = Ours {
            conn,
            to_them,
            from_them,
            unconsumed: leftover.to_vec(),
            received: Vec::new(),
            raw: leftover.to_vec(),
        };
        ours.pump();
        ours
    }

    /// Reads what tungstenite wrote, feeds it, sends what the connection queued.
    fn pump(&mut self) {
        let fresh: Vec<u8> = self.from_them.borrow_mut().drain(..).collect();
        self.raw.extend(&fresh);
        self.unconsumed.extend(fresh);
        for _ in 0..100 {
            let n = self.conn.handle_input(T0, &self.unconsumed);
            self.unconsumed.drain(..n);
            while let Some(m) = self.conn.poll_message() {
                self.received.push(m.into());
            }
            while let Some(bytes) = self.conn.poll_transmit() {
                self.to_them.borrow_mut().extend(bytes);
            }
            if self.unconsumed.is_empty() {
                return;
            }
        }
        panic!("our connection stopped consuming");
    }
}

/// Reads the next message on tungstenite's side, pumping ours in between.
fn their_read(ws: &mut WebSocket<Pipe>, ours: &mut Ours) -> Result<TMsg, TError> {
    for _ in 0..100 {
        ours.pump();
        match ws.read() {
            Err(TError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
    panic!("tungstenite never got a message");
}

fn queues() -> (Queue, Queue) {
    (Rc::default(), Rc::default())
}

/// A tungstenite client connected to our server; returns the subprotocol tungstenite saw.
fn their_client_our_server(
    protocols: &[&str],
    server_config: WsConfig,
    client_config: WebSocketConfig,
) -> (WebSocket<Pipe>, Ours, Option<String>) {
    let (to_them, from_them) = queues();
    let pipe = Pipe {
        inbound: to_them.clone(),
        outbound: from_them.clone(),
    };
    let mut request = ClientRequestBuilder::new("ws://localhost:9001/warp".parse().unwrap());
    for p in protocols {
        request = request.with_sub_protocol(*p);
    }
    let mid = match tungstenite::client::client_with_config(request, pipe, Some(client_config)) {
        Err(HandshakeError::Interrupted(mid)) => mid,
        other => panic!("expected the handshake to wait for us: {:?}", other.err()),
    };
    let head: Vec<u8> = from_them.borrow_mut().drain(..).collect();
    let Status::Complete(up) = ServerHandshake::new().parse_request(&head).unwrap() else {
        panic!("incomplete request");
    };
    assert_eq!(up.path, "/warp");
    assert_eq!(up.host, "localhost:9001");
    let mut out = [0u8; 512];
    let n = up.write_response(&mut out).unwrap();
    to_them.borrow_mut().extend(&out[..n]);
    let leftover = head[up.consumed..].to_vec();
    let (ws, response) = mid.handshake().expect("tungstenite accepts our response");
    let protocol = response
        .headers()
        .get("sec-websocket-protocol")
        .map(|v| v.to_str().unwrap().to_owned());
    let conn = server(server_config);
    (ws, Ours::new(conn, to_them, from_them, &leftover), protocol)
}

/// Our client connected to a tungstenite server that echoes `warp0` if offered.
fn our_client_their_server(
    offer: &[&str],
    client_config: WsConfig,
    server_config: WebSocketConfig,
) -> (WebSocket<Pipe>, Ours, Option<String>) {
    let (to_them, from_them) = queues();
    let pipe = Pipe {
        inbound: to_them.clone(),
        outbound: from_them.clone(),
    };
    let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        let offered = req
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .any(|v| v.to_str().unwrap().split(',').any(|p| p.trim() == "warp0"));
        if offered {
            resp.headers_mut()
                .insert("sec-websocket-protocol", "warp0".parse().unwrap());
        }
        Ok(resp)
    };
    let hs = ClientHandshake::new("localhost", "/unit/1", [5; 16]).with_protocols(offer);
    let mut out = [0u8; 512];
    let n = hs.write_request(&mut out).unwrap();
    to_them.borrow_mut().extend(&out[..n]);
    let ws = tungstenite::accept_hdr_with_config(pipe, callback, Some(server_config))
        .expect("tungstenite accepts our request");
    let answer: Vec<u8> = from_them.borrow_mut().drain(..).collect();
    let Status::Complete(done) = hs.parse_response(&answer).unwrap() else {
        panic!("incomplete response");
    };
    let conn = client(client_config);
    let ours = Ours::new(conn, to_them, from_them, &answer[done.consumed..]);
    (ws, ours, done.protocol.map(str::to_owned))
}

fn default_config() -> WebSocketConfig {
    WebSocketConfig::default()
}

#[test]
fn tungstenite_client_handshakes_with_our_server_with_and_without_warp0() {
    let (_, _, protocol) =
        their_client_our_server(&["warp0"], WsConfig::default(), default_config());
    assert_eq!(protocol.as_deref(), Some("warp0"));
    let (_, _, protocol) = their_client_our_server(&[], WsConfig::default(), default_config());
    assert_eq!(protocol, None);
    let (_, _, protocol) =
        their_client_our_server(&["chat", "warp0"], WsConfig::default(), default_config());
    assert_eq!(protocol.as_deref(), Some("warp0"));
}

#[test]
fn our_client_handshakes_with_tungstenite_server_with_and_without_warp0() {
    let (_, _, p) = our_client_their_server(&["warp0"], WsConfig::default(), default_config());
    assert_eq!(p.as_deref(), Some("warp0"));
    let (_, _, p) = our_client_their_server(&[], WsConfig::default(), default_config());
    assert_eq!(p, None);
}

#[test]
fn tungstenite_client_sees_our_refusal() {
    let (to_them, from_them) = queues();
    let pipe = Pipe {
        inbound: to_them.clone(),
        outbound: from_them.clone(),
    };
    let mid = match tungstenite::client::client("ws://localhost/", pipe) {
        Err(HandshakeError::Interrupted(mid)) => mid,
        _ => panic!("expected to wait"),
    };
    let mut out = [0u8; 256];
    let n = write_reject_response(400, "Failed to negotiate warp0 subprotocol", &mut out).unwrap();
    to_them.borrow_mut().extend(&out[..n]);
    match mid.handshake() {
        Err(HandshakeError::Failure(TError::Http(resp))) => {
            assert_eq!(resp.status(), 400);
            assert_eq!(
                resp.body().as_deref(),
                Some(&b"Failed to negotiate warp0 subprotocol"[..])
            );
        }
        other => panic!("expected an HTTP error, got {:?}", other.err()),
    }
}

#[test]
fn messages_flow_both_ways_with_tungstenite_client() {
    let (mut ws, mut ours, _) =
        their_client_our_server(&["warp0"], WsConfig::default(), default_config());
    ws.send(TMsg::text("@link(node:\"/unit/1\",lane:info)"))
        .unwrap();
    ws.send(TMsg::binary(vec![0u8, 1, 2, 255])).unwrap();
    let big = "é".repeat(40_000); // 80 000 bytes: a 64-bit length
    ws.send(TMsg::text(big.clone())).unwrap();
    ours.pump();
    assert_eq!(
        ours.received,
        vec![
            Msg::Text("@link(node:\"/unit/1\",lane:info)".into()),
            Msg::Binary(vec![0, 1, 2, 255]),
            Msg::Text(big.clone()),
        ]
    );
    // Every frame tungstenite sent was masked (our server would have failed otherwise).
    ours.conn
        .send_text("@linked(node:\"/unit/1\",lane:info)")
        .unwrap();
    ours.conn.send_binary(&[9; 300]).unwrap();
    ours.conn.send_text(&big).unwrap();
    assert_eq!(
        their_read(&mut ws, &mut ours).unwrap(),
        TMsg::text("@linked(node:\"/unit/1\",lane:info)")
    );
    assert_eq!(
        their_read(&mut ws, &mut ours).unwrap(),
        TMsg::binary(vec![9u8; 300])
    );
    assert_eq!(their_read(&mut ws, &mut ours).unwrap(), TMsg::text(big));
}

#[test]
fn messages_flow_both_ways_with_tungstenite_server() {
    let (mut ws, mut ours, _) =
        our_client_their_server(&["warp0"], WsConfig::default(), default_config());
    // tungstenite's server refuses unmasked frames: ours are masked.
    ours.conn.send_text("@sync(node:a,lane:b)").unwrap();
    ours.conn.send_binary(&[]).unwrap();
    ours.conn
        .send_text_with(1 << 16, |buf| {
            let text = "@command(node:a,lane:b){x:1}".as_bytes();
            buf[..text.len()].copy_from_slice(text);
            Ok::<_, ()>(text.len())
        })
        .unwrap();
    assert_eq!(
        their_read(&mut ws, &mut ours).unwrap(),
        TMsg::text("@sync(node:a,lane:b)")
    );
    assert_eq!(
        their_read(&mut ws, &mut ours).unwrap(),
        TMsg::binary(Vec::<u8>::new())
    );
    assert_eq!(
        their_read(&mut ws, &mut ours).unwrap(),
        TMsg::text("@command(node:a,lane:b){x:1}")
    );
    ws.send(TMsg::text("@synced(node:a,lane:b)")).unwrap();
    ours.pump();
    assert_eq!(
        ours.received,
        vec![Msg::Text("@synced(node:a,lane:b)".into())]
    );
}

#[test]
fn tungstenite_fragments_and_interleaved_pings_are_reassembled() {
    let (mut ws, mut ours, _) = their_client_our_server(&[], WsConfig::default(), default_config());
    let euro = "€".as_bytes();
    ws.send(TMsg::Frame(Frame::message(
        [b"price ".as_slice(), &euro[..1]].concat(),
        OpCode::Data(Data::Text),
        false,
    )))
    .unwrap();
    ws.send(TMsg::Ping(b"mid-message".to_vec().into())).unwrap();
    ws.send(TMsg::Frame(Frame::message(
        euro[1..].to_vec(),
        OpCode::Data(Data::Continue),
        false,
    )))
    .unwrap();
    ws.send(TMsg::Frame(Frame::message(
        b" 5".to_vec(),
        OpCode::Data(Data::Continue),
        true,
    )))
    .unwrap();
    ours.pump();
    assert_eq!(ours.received, vec![Msg::Text("price € 5".into())]);
    assert_eq!(
        their_read(&mut ws, &mut ours).unwrap(),
        TMsg::Pong(b"mid-message".to_vec().into())
    );
}

#[test]
fn our_fragments_are_reassembled_by_tungstenite() {
    let config = WsConfig::default().with_max_send_frame_len(4);
    let (mut ws, mut ours, _) = our_client_their_server(&["warp0"], config, default_config());
    let text = "@event(node:\"/ünit\",lane:x)€€";
    ours.conn.send_text(text).unwrap();
    ours.conn.send_binary(&[1, 2, 3, 4, 5, 6, 7, 8, 9]).unwrap();
    assert_eq!(their_read(&mut ws, &mut ours).unwrap(), TMsg::text(text));
    assert_eq!(
        their_read(&mut ws, &mut ours).unwrap(),
        TMsg::binary(vec![1u8, 2, 3, 4, 5, 6, 7, 8, 9])
    );
}

#[test]
fn pings_are_answered_both_ways() {
    let (mut ws, mut ours, _) = our_client_their_server(&[], WsConfig::default(), default_config());
    ours.conn.send_ping(b"hello?").unwrap();
    ours.pump();
    assert_eq!(
        their_read(&mut ws, &mut ours).unwrap(),
        TMsg::Ping(b"hello?".to_vec().into())
    );
    ws.flush().unwrap(); // writes tungstenite's automatic pong
    let before = ours.raw.len();
    ours.pump();
    let pong = &ours.raw[before..];
    let Status::Complete(f) = decode_frame(pong, Role::Client, 1024).unwrap() else {
        panic!("no pong")
    };
    assert_eq!(f.header.opcode, Opcode::Pong);
    assert_eq!(f.raw_payload(pong), b"hello?");

    ws.send(TMsg::Ping(b"and you?".to_vec().into())).unwrap();
    assert_eq!(
        their_read(&mut ws, &mut ours).unwrap(),
        TMsg::Pong(b"and you?".to_vec().into())
    );
}

#[test]
fn close_initiated_by_tungstenite() {
    let (mut ws, mut ours, _) = their_client_our_server(&[], WsConfig::default(), default_config());
    ws.close(Some(TClose {
        code: TCode::Away,
        reason: "bye".into(),
    }))
    .unwrap();
    ours.pump();
    assert_eq!(
        ours.conn.poll_closed(),
        Some(CloseReason::Closed {
            initiator: CloseInitiator::Remote,
            code: Some(CloseCode::GOING_AWAY)
        })
    );
    assert_eq!(ours.conn.peer_close().unwrap().reason, "bye");
    // tungstenite receives our echo and completes its side.
    match their_read(&mut ws, &mut ours) {
        Ok(TMsg::Close(Some(frame))) => assert_eq!(frame.code, TCode::Away),
        Err(TError::ConnectionClosed) => {}
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn close_initiated_by_us() {
    let (mut ws, mut ours, _) =
        our_client_their_server(&["warp0"], WsConfig::default(), default_config());
    ours.conn
        .close(T0, CloseCode::new(4001), "going home")
        .unwrap();
    match their_read(&mut ws, &mut ours) {
        Ok(TMsg::Close(Some(frame))) => {
            assert_eq!(frame.code, TCode::Library(4001));
            assert_eq!(frame.reason.as_str(), "going home");
        }
        other => panic!("unexpected {other:?}"),
    }
    // tungstenite's server answers and terminates.
    let _ = ws.flush();
    ours.pump();
    assert_eq!(
        ours.conn.poll_closed(),
        Some(CloseReason::Closed {
            initiator: CloseInitiator::Local,
            code: Some(CloseCode::new(4001))
        })
    );
}

fn close_code_seen_by_tungstenite(ws: &mut WebSocket<Pipe>, ours: &mut Ours) -> TCode {
    match their_read(ws, ours) {
        Ok(TMsg::Close(Some(frame))) => frame.code,
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[test]
fn invalid_close_codes_from_tungstenite_get_1002() {
    for code in [1005u16, 1006, 999, 1015, 5000] {
        let (mut ws, mut ours, _) =
            their_client_our_server(&[], WsConfig::default(), default_config());
        let frame = Frame::close(Some(TClose {
            code: TCode::from(code),
            reason: "".into(),
        }));
        ws.send(TMsg::Frame(frame)).unwrap();
        assert_eq!(
            close_code_seen_by_tungstenite(&mut ws, &mut ours),
            TCode::Protocol,
            "{code}"
        );
        assert_eq!(
            ours.conn.poll_closed(),
            Some(CloseReason::ProtocolError(WsError::new(
                WsErrorKind::InvalidCloseCode(code),
                6
            )))
        );
    }
}

#[test]
fn invalid_utf8_from_tungstenite_gets_1007() {
    let (mut ws, mut ours, _) = their_client_our_server(&[], WsConfig::default(), default_config());
    ws.send(TMsg::Frame(Frame::message(
        b"ok \xff".to_vec(),
        OpCode::Data(Data::Text),
        true,
    )))
    .unwrap();
    assert_eq!(
        close_code_seen_by_tungstenite(&mut ws, &mut ours),
        TCode::Invalid
    );
    // Split inside a code point, then an invalid continuation in the next fragment.
    let (mut ws, mut ours, _) = their_client_our_server(&[], WsConfig::default(), default_config());
    ws.send(TMsg::Frame(Frame::message(
        b"\xe2".to_vec(),
        OpCode::Data(Data::Text),
        false,
    )))
    .unwrap();
    ws.send(TMsg::Frame(Frame::message(
        b"\x82A".to_vec(),
        OpCode::Data(Data::Continue),
        false,
    )))
    .unwrap();
    assert_eq!(
        close_code_seen_by_tungstenite(&mut ws, &mut ours),
        TCode::Invalid
    );
    assert!(ours.received.is_empty());
}

#[test]
fn oversized_messages_get_1009_both_ways() {
    let small = WsConfig::default()
        .with_max_message_len(1000)
        .with_max_frame_len(600);
    let (mut ws, mut ours, _) = their_client_our_server(&[], small, default_config());
    ws.send(TMsg::binary(vec![0u8; 601])).unwrap();
    assert_eq!(
        close_code_seen_by_tungstenite(&mut ws, &mut ours),
        TCode::Size
    );
    let (mut ws, mut ours, _) = their_client_our_server(&[], small, default_config());
    for (op, fin) in [
        (Data::Binary, false),
        (Data::Continue, false),
        (Data::Continue, true),
    ] {
        ws.send(TMsg::Frame(Frame::message(
            vec![0u8; 400],
            OpCode::Data(op),
            fin,
        )))
        .unwrap();
        ours.pump();
    }
    assert_eq!(
        close_code_seen_by_tungstenite(&mut ws, &mut ours),
        TCode::Size
    );
    assert!(matches!(
        ours.conn.poll_closed(),
        Some(CloseReason::ProtocolError(WsError {
            kind: WsErrorKind::MessageTooLarge {
                len: 1200,
                limit: 1000
            },
            ..
        }))
    ));
    // Our frames announce their true length: tungstenite's own limit catches them.
    let theirs = default_config()
        .max_message_size(Some(500))
        .max_frame_size(Some(500));
    let (mut ws, mut ours, _) = our_client_their_server(&[], WsConfig::default(), theirs);
    ours.conn.send_binary(&[1; 501]).unwrap();
    assert!(matches!(
        their_read(&mut ws, &mut ours),
        Err(TError::Capacity(_))
    ));
}

#[test]
fn masking_violations_are_refused_by_both_sides() {
    // A tungstenite endpoint in the server role sends unmasked frames: our server refuses them.
    let (to_them, from_them) = queues();
    let pipe = Pipe {
        inbound: to_them.clone(),
        outbound: from_them.clone(),
    };
    let mut theirs = WebSocket::from_raw_socket(pipe, TRole::Server, None);
    let mut ours = Ours::new(server(WsConfig::default()), to_them, from_them, &[]);
    theirs.send(TMsg::text("unmasked")).unwrap();
    ours.pump();
    assert_eq!(
        ours.conn.poll_closed(),
        Some(CloseReason::ProtocolError(WsError::new(
            WsErrorKind::UnmaskedFrame,
            1
        )))
    );
    assert!(ours.received.is_empty());

    // A tungstenite endpoint in the client role sends masked frames: our client refuses them.
    let (to_them, from_them) = queues();
    let pipe = Pipe {
        inbound: to_them.clone(),
        outbound: from_them.clone(),
    };
    let mut theirs = WebSocket::from_raw_socket(pipe, TRole::Client, None);
    let mut ours = Ours::new(client(WsConfig::default()), to_them, from_them, &[]);
    theirs.send(TMsg::text("masked")).unwrap();
    ours.pump();
    assert_eq!(
        ours.conn.poll_closed(),
        Some(CloseReason::ProtocolError(WsError::new(
            WsErrorKind::MaskedFrame,
            1
        )))
    );
    // Our client masks its close frame, which an endpoint in the client role must refuse.
    assert!(matches!(
        their_read(&mut theirs, &mut ours),
        Err(TError::Protocol(
            tungstenite::error::ProtocolError::MaskedFrameFromServer
        ))
    ));
}
