//! Our WebSocket layer (`warp_proto::ws`: `ClientHandshake`/`ServerHandshake` and
//! `WsConnection`) against Node's `ws` package 8.23.0, an independent implementation, over real
//! loopback TCP sockets, in both roles.
//!
//! The Node side is `conformance/js/ws-peer.mjs`: a `ws` server that echoes and does scripted
//! things on command (fragments, pings, closes, oversized and hostile frames), and a `ws`
//! client that runs a list of steps; both print what `ws` observes as JSON lines. Our side
//! drives a `WsConnection` over a `std::net::TcpStream` (helpers in `ws_node_util`); a tap
//! splits the received byte stream into frames independently of our connection, so frames our
//! connection handles silently (pongs) or refuses can be checked too. As a server our end
//! echoes, pings on `ping-me DATA` and closes on `close-me CODE REASON`.
//!
//! Covered, each way: the handshake with and without `warp0`, text echo, fragmented messages
//! reassembled (with a ping between fragments), ping and pong, close codes 1000, 1001 and 4000
//! with reasons, masking (clients mask; an unmasked client frame or a masked server frame gets
//! 1002), oversized frames and messages (1009 by our limits and by `ws`'s `maxPayload`), and
//! invalid UTF-8 in text messages, also across fragments (1007).
//!
//! Without `node` on the PATH each test says so on stderr and passes without checking.
//! `npm ci` installs `ws` when `conformance/js/node_modules` lacks it.

mod ws_node_util;

use std::net::TcpListener;
use std::process::ExitStatus;
use std::time::{Duration, Instant as StdInstant};

use conformance::peers::node_available;
use warp_proto::ws::{CloseCode, CloseInitiator, CloseReason, Opcode, Role, WsConfig, WsErrorKind};
use ws_node_util::{
    accept_one, frames_of, raw_text_frame, Msg, Node, Ours, PeerClose, Session, STEP,
};

/// Whether to skip `test` (after saying so) because `node` is missing.
fn skip(test: &str) -> bool {
    if node_available() {
        return false;
    }
    eprintln!("SKIPPED ws_node {test}: `node` is not on the PATH; nothing was checked");
    true
}

fn text(s: &str) -> Msg {
    Msg::Text(s.to_string())
}

fn peer_close(code: u16, reason: &str) -> Option<PeerClose> {
    Some(PeerClose {
        code: Some(code),
        reason: reason.to_string(),
    })
}

fn closed(initiator: CloseInitiator, code: u16) -> Option<CloseReason> {
    Some(CloseReason::Closed {
        initiator,
        code: Some(CloseCode::new(code)),
    })
}

/// The kind of protocol error our end closed the connection for, if that is how it ended.
fn failure(ours: &Ours) -> Option<WsErrorKind> {
    match ours.closed {
        Some(CloseReason::ProtocolError(e)) => Some(e.kind),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// A Node client against our server.

/// What one run of a Node client against our echo server left.
struct ServerRun {
    session: Session,
    /// The subprotocol our server chose.
    protocol: Option<String>,
    /// The request path our server read.
    path: String,
    /// Every message our server received, in order.
    got: Vec<Msg>,
    /// How the Node client exited.
    status: ExitStatus,
}

impl ServerRun {
    fn ours(&self) -> &Ours {
        &self.session.ours
    }

    fn node(&self) -> &Node {
        &self.session.node
    }

    /// Panics unless the Node client exited 0 after `steps` steps and a close.
    fn assert_done(&self, steps: u64) {
        let node = self.node();
        assert!(self.status.success(), "node client exited {}", self.status);
        assert_eq!(node.one("done")["steps"], steps, "{:?}", node.events);
        assert!(node.of("timeout").is_empty(), "{:?}", node.events);
    }
}

/// Our echo server's reaction to `msg`.
fn react(ours: &mut Ours, msg: &Msg) {
    match msg {
        Msg::Text(t) => {
            if let Some(data) = t.strip_prefix("ping-me ") {
                ours.conn
                    .send_ping(data.as_bytes())
                    .expect("queueing a ping");
            } else if let Some(rest) = t.strip_prefix("close-me ") {
                let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
                let code = CloseCode::new(code.parse().expect("a close code"));
                let now = ours.now();
                ours.conn.close(now, code, reason).expect("closing");
            } else {
                ours.conn.send_text(t).expect("echoing");
            }
        }
        Msg::Binary(b) => ours.conn.send_binary(b).expect("echoing"),
    }
    ours.flush();
}

/// Runs `ws-peer.mjs client` with `options` and `steps` against our echo server with `config`,
/// until both ends have closed and the client has exited.
fn node_client(config: WsConfig, options: &[&str], steps: &[&str]) -> ServerRun {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding");
    let url = format!(
        "ws://{}/chat?room=1",
        listener.local_addr().expect("address")
    );
    let mut args = vec!["client", url.as_str()];
    args.extend_from_slice(options);
    args.extend_from_slice(steps);
    let mut node = Node::spawn(&args);
    let stream = accept_one(listener, &mut node);
    let (ours, protocol, path) = Ours::accept(stream, config);
    let mut session = Session { ours, node };
    let mut got = Vec::new();
    let deadline = StdInstant::now() + 2 * STEP;
    while !session.ours.finished() {
        if StdInstant::now() >= deadline {
            let stderr = session.node.stderr();
            panic!(
                "our server did not finish\n{}\nnode events: {:?}\nnode stderr: {stderr}",
                session.ours.describe(),
                session.node.events
            );
        }
        session.ours.pump();
        session.node.poll(Duration::ZERO);
        while let Some(msg) = session.ours.received.pop_front() {
            if session.ours.closed.is_none() {
                react(&mut session.ours, &msg);
            }
            got.push(msg);
        }
    }
    let status = session.node.finish();
    ServerRun {
        session,
        protocol,
        path,
        got,
        status,
    }
}

/// Every frame the Node client sent was masked (it must mask them all).
fn assert_client_frames_masked(run: &ServerRun) {
    let frames = &run.ours().tap.frames;
    assert!(!frames.is_empty());
    assert!(frames.iter().all(|f| f.masked), "{frames:?}");
}

#[test]
fn node_client_handshakes_with_our_server_with_and_without_warp0() {
    if skip("node_client_handshakes_with_our_server_with_and_without_warp0") {
        return;
    }
    let cases: [(&[&str], Option<&str>); 3] = [
        (&["--protocol", "warp0"], Some("warp0")),
        (&[], None),
        (
            &["--protocol", "chat", "--protocol", "warp0"],
            Some("warp0"),
        ),
    ];
    for (offer, chosen) in cases {
        let run = node_client(
            WsConfig::default(),
            offer,
            &["text:hello", "wait:message", "close:1000:bye"],
        );
        assert_eq!(run.protocol.as_deref(), chosen, "offering {offer:?}");
        assert_eq!(run.path, "/chat?room=1");
        let open = run.node().one("open");
        assert_eq!(open["protocol"], chosen.unwrap_or(""), "offering {offer:?}");
        // ws offered permessage-deflate; we accept no extension, and ws goes on without.
        assert_eq!(open["extensions"], "");
        assert_eq!(run.got, [text("hello")]);
        assert_eq!(run.node().messages(), ["hello"]);
        assert_eq!(run.ours().peer_close(), peer_close(1000, "bye"));
        assert_eq!(run.ours().closed, closed(CloseInitiator::Remote, 1000));
        assert_eq!(run.node().close(), (1000, String::new()));
        assert_client_frames_masked(&run);
        run.assert_done(3);
    }
}

#[test]
fn node_fragments_are_reassembled_by_our_server() {
    if skip("node_fragments_are_reassembled_by_our_server") {
        return;
    }
    let run = node_client(
        WsConfig::default(),
        &[],
        &[
            "fragments:Hel|lo |wor|ld",
            "wait:message",
            "wait:pong",
            // "€" is E2 82 AC: a code point split across fragments is still valid.
            "rawtext-split:e282|ac",
            "wait:message",
            "close:1000:",
        ],
    );
    assert_eq!(run.got, [text("Hello world"), text("€")]);
    assert_eq!(run.node().messages(), ["Hello world", "€"]);
    // The ping between the fragments was answered.
    assert_eq!(run.node().data_of("pong"), ["mid"]);
    let kinds: Vec<(Opcode, bool)> = run
        .ours()
        .tap
        .frames
        .iter()
        .map(|f| (f.opcode, f.fin))
        .collect();
    assert_eq!(
        kinds.get(..5),
        Some(
            &[
                (Opcode::Text, false),
                (Opcode::Ping, true),
                (Opcode::Continuation, false),
                (Opcode::Continuation, false),
                (Opcode::Continuation, true),
            ][..]
        ),
        "{kinds:?}"
    );
    assert_client_frames_masked(&run);
    run.assert_done(6);
}

#[test]
fn our_server_fragments_are_reassembled_by_node() {
    if skip("our_server_fragments_are_reassembled_by_node") {
        return;
    }
    let message = "fragment me, please: héllo wörld";
    let step = format!("text:{message}");
    let run = node_client(
        WsConfig::default().with_max_send_frame_len(4),
        &[],
        &[&step, "wait:message", "close:1000:"],
    );
    assert_eq!(run.node().messages(), [message]);
    // What we sent: the echo as frames of at most 4 bytes (splitting "é" and "ö" between
    // frames), then the close.
    let frames = frames_of(&run.ours().sent, Role::Client);
    let data: Vec<_> = frames.iter().filter(|f| !f.opcode.is_control()).collect();
    assert_eq!(data.len(), message.len().div_ceil(4));
    assert_eq!(
        data.first().map(|f| (f.opcode, f.fin)),
        Some((Opcode::Text, false))
    );
    assert!(data[1..].iter().all(|f| f.opcode == Opcode::Continuation));
    assert!(data.iter().all(|f| f.payload.len() <= 4 && !f.masked));
    assert_eq!(data.iter().filter(|f| f.fin).count(), 1);
    assert!(data.last().is_some_and(|f| f.fin));
    let joined: Vec<u8> = data.iter().flat_map(|f| f.payload.clone()).collect();
    assert_eq!(joined, message.as_bytes());
    run.assert_done(3);
}

#[test]
fn pings_are_answered_between_node_client_and_our_server() {
    if skip("pings_are_answered_between_node_client_and_our_server") {
        return;
    }
    let run = node_client(
        WsConfig::default(),
        &[],
        &[
            "ping:from-node",
            "wait:pong",
            "text:ping-me from-us",
            "wait:ping",
            "close:1000:",
        ],
    );
    // Our automatic pong carried ws's payload back; ws's automatic pong carried ours.
    assert_eq!(run.node().data_of("pong"), ["from-node"]);
    assert_eq!(run.node().data_of("ping"), ["from-us"]);
    assert_eq!(run.ours().tap.payloads(Opcode::Ping), ["from-node"]);
    assert_eq!(run.ours().tap.payloads(Opcode::Pong), ["from-us"]);
    let ours_sent = frames_of(&run.ours().sent, Role::Client);
    let pongs: Vec<_> = ours_sent
        .iter()
        .filter(|f| f.opcode == Opcode::Pong)
        .map(|f| f.payload.clone())
        .collect();
    assert_eq!(pongs, [b"from-node".to_vec()]);
    run.assert_done(5);
}

#[test]
fn close_codes_from_node_client_reach_our_server() {
    if skip("close_codes_from_node_client_reach_our_server") {
        return;
    }
    for (code, reason) in [
        (1000, "normal"),
        (1001, "going away"),
        (4000, "custom reason"),
    ] {
        let step = format!("close:{code}:{reason}");
        let run = node_client(WsConfig::default(), &[], &[&step]);
        assert_eq!(run.ours().peer_close(), peer_close(code, reason));
        assert_eq!(run.ours().closed, closed(CloseInitiator::Remote, code));
        // We echo the code (RFC 6455 5.5.1), without a reason.
        assert_eq!(run.node().close(), (u64::from(code), String::new()));
        run.assert_done(1);
    }
    // A close frame without a code: we report none and echo none (ws reports 1005).
    let run = node_client(WsConfig::default(), &[], &["close:"]);
    let no_code = Some(PeerClose {
        code: None,
        reason: String::new(),
    });
    assert_eq!(run.ours().peer_close(), no_code);
    assert_eq!(
        run.ours().closed,
        Some(CloseReason::Closed {
            initiator: CloseInitiator::Remote,
            code: None
        })
    );
    assert_eq!(run.node().close(), (1005, String::new()));
    run.assert_done(1);
}

#[test]
fn close_codes_from_our_server_reach_node_client() {
    if skip("close_codes_from_our_server_reach_node_client") {
        return;
    }
    for (code, reason) in [
        (1000, "normal"),
        (1001, "going away"),
        (4000, "custom reason"),
    ] {
        let step = format!("text:close-me {code} {reason}");
        let run = node_client(WsConfig::default(), &[], &[&step]);
        assert_eq!(run.node().close(), (u64::from(code), reason.to_string()));
        assert_eq!(run.ours().closed, closed(CloseInitiator::Local, code));
        // ws echoes code and reason.
        assert_eq!(run.ours().peer_close(), peer_close(code, reason));
        run.assert_done(1);
    }
}

#[test]
fn unmasked_frame_from_node_client_gets_1002() {
    if skip("unmasked_frame_from_node_client_gets_1002") {
        return;
    }
    let run = node_client(WsConfig::default(), &[], &["unmasked:sneaky"]);
    // ws really sent it unmasked.
    let first = run.ours().tap.frames.first().expect("a frame");
    assert_eq!((first.opcode, first.masked), (Opcode::Text, false));
    assert_eq!(failure(run.ours()), Some(WsErrorKind::UnmaskedFrame));
    assert!(run.got.is_empty(), "{:?}", run.got);
    assert_eq!(run.node().close(), (1002, "protocol error".to_string()));
    run.assert_done(1);
}

#[test]
fn oversized_frames_and_messages_from_node_client_get_1009() {
    if skip("oversized_frames_and_messages_from_node_client_get_1009") {
        return;
    }
    let config = WsConfig::default()
        .with_max_frame_len(512)
        .with_max_message_len(1024);
    let (a400, a200, a512) = ("a".repeat(400), "b".repeat(200), "c".repeat(512));
    // Within the limits: a frame of 512, and a message of 1000 in fragments of at most 400.
    let single = format!("text:{a512}");
    let fragmented = format!("fragments:{a400}|{a400}|{a200}");
    let run = node_client(
        config,
        &[],
        &[
            &single,
            "wait:message",
            &fragmented,
            "wait:message",
            "close:1000:",
        ],
    );
    let thousand = format!("{a400}{a400}{a200}");
    assert_eq!(run.got, [text(&a512), text(&thousand)]);
    assert_eq!(run.node().messages(), [a512.clone(), thousand]);
    run.assert_done(5);

    // One frame over the frame limit.
    let run = node_client(config, &[], &["big:513"]);
    assert_eq!(
        failure(run.ours()),
        Some(WsErrorKind::FrameTooLarge {
            len: 513,
            limit: 512
        })
    );
    assert_eq!(run.node().close(), (1009, "frame too large".to_string()));
    assert!(run.got.is_empty());
    run.assert_done(1);

    // Frames within the frame limit, adding up to more than the message limit.
    let over = format!("fragments:{a400}|{a400}|{a400}");
    let run = node_client(config, &[], &[&over]);
    assert_eq!(
        failure(run.ours()),
        Some(WsErrorKind::MessageTooLarge {
            len: 1200,
            limit: 1024
        })
    );
    assert_eq!(run.node().close(), (1009, "message too large".to_string()));
    assert!(run.got.is_empty());
    run.assert_done(1);
}

#[test]
fn invalid_utf8_from_node_client_gets_1007() {
    if skip("invalid_utf8_from_node_client_gets_1007") {
        return;
    }
    // C3 28: a lead byte without its continuation, in one frame; E2 82 | 28: a sequence cut by
    // a non-continuation byte in the next fragment; FF | 41: a byte never valid, in the first
    // of two fragments.
    for step in [
        "rawtext:c328",
        "rawtext-split:e282|28",
        "rawtext-split:ff|41",
    ] {
        let run = node_client(WsConfig::default(), &[], &[step]);
        assert_eq!(
            failure(run.ours()),
            Some(WsErrorKind::InvalidUtf8),
            "{step}"
        );
        assert!(run.got.is_empty(), "{step}: {:?}", run.got);
        assert_eq!(
            run.node().close(),
            (1007, "invalid UTF-8".to_string()),
            "{step}"
        );
        run.assert_done(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Our client against a Node server.

/// Connects our client with `config`, offering `protocols`, to a new Node server started with
/// `server_args`; returns the session and the protocol chosen, once Node reported the open.
fn our_client(
    server_args: &[&str],
    protocols: &[&str],
    config: WsConfig,
) -> (Session, Option<String>) {
    let (node, addr) = Node::server(server_args);
    let (ours, protocol) = Ours::connect(addr, protocols, config);
    let mut session = Session { ours, node };
    session.until("ws to report the connection", |_, node| {
        !node.of("open").is_empty()
    });
    (session, protocol)
}

/// Sends `message` from our client and waits for the Node server's echo.
fn echo(session: &mut Session, message: &str) {
    session.ours.conn.send_text(message).expect("sending");
    let echoed = session.next_message("the echo");
    assert_eq!(echoed, text(message));
}

/// Ends the session: our client closes with 1000 if still open, both ends finish.
fn end(mut session: Session) -> Session {
    if session.ours.closed.is_none() && session.ours.conn.peer_close().is_none() {
        let now = session.ours.now();
        if session.ours.conn.close(now, CloseCode::NORMAL, "").is_ok() {
            session.ours.flush();
        }
    }
    session.until_closed();
    session
}

/// Every frame the Node server sent was unmasked (it must not mask them).
fn assert_server_frames_unmasked(session: &Session) {
    let frames = &session.ours.tap.frames;
    assert!(frames.iter().all(|f| !f.masked), "{frames:?}");
}

#[test]
fn our_client_handshakes_with_node_server_with_and_without_warp0() {
    if skip("our_client_handshakes_with_node_server_with_and_without_warp0") {
        return;
    }
    let cases: [(&[&str], Option<&str>); 3] = [
        (&["warp0"], Some("warp0")),
        (&[], None),
        (&["chat", "warp0"], Some("warp0")),
    ];
    for (offer, chosen) in cases {
        let (mut session, protocol) = our_client(&[], offer, WsConfig::default());
        assert_eq!(protocol.as_deref(), chosen, "offering {offer:?}");
        let open = session.node.one("open");
        assert_eq!(open["protocol"], chosen.unwrap_or(""), "offering {offer:?}");
        echo(&mut session, "hello");
        let session = end(session);
        assert_eq!(session.node.messages(), ["hello"]);
        assert_server_frames_unmasked(&session);
    }
}

#[test]
fn node_fragments_are_reassembled_by_our_client() {
    if skip("node_fragments_are_reassembled_by_our_client") {
        return;
    }
    let (mut session, _) = our_client(&[], &["warp0"], WsConfig::default());
    session
        .ours
        .conn
        .send_text("!fragments Hel|lo |wor|ld")
        .expect("sending");
    assert_eq!(
        session.next_message("the fragmented message"),
        text("Hello world")
    );
    session.until("ws to see our pong", |_, node| !node.of("pong").is_empty());
    assert_eq!(session.node.data_of("pong"), ["mid"]);
    let kinds: Vec<(Opcode, bool)> = session
        .ours
        .tap
        .frames
        .iter()
        .map(|f| (f.opcode, f.fin))
        .collect();
    assert_eq!(
        kinds,
        [
            (Opcode::Text, false),
            (Opcode::Ping, true),
            (Opcode::Continuation, false),
            (Opcode::Continuation, false),
            (Opcode::Continuation, true),
        ]
    );
    // "€" (E2 82 AC) split across two fragments.
    session
        .ours
        .conn
        .send_text("!rawtext-split e282|ac")
        .expect("sending");
    assert_eq!(session.next_message("the split code point"), text("€"));
    let session = end(session);
    assert_server_frames_unmasked(&session);
}

#[test]
fn our_client_fragments_are_reassembled_by_node_server() {
    if skip("our_client_fragments_are_reassembled_by_node_server") {
        return;
    }
    let config = WsConfig::default().with_max_send_frame_len(4);
    let (mut session, _) = our_client(&[], &["warp0"], config);
    let message = "reassemble me, nöde";
    echo(&mut session, message);
    let session = end(session);
    assert_eq!(session.node.messages(), [message]);
    let frames = frames_of(&session.ours.sent, Role::Server);
    let data: Vec<_> = frames.iter().filter(|f| !f.opcode.is_control()).collect();
    assert_eq!(data.len(), message.len().div_ceil(4));
    assert_eq!(
        data.first().map(|f| (f.opcode, f.fin)),
        Some((Opcode::Text, false))
    );
    assert!(data[1..].iter().all(|f| f.opcode == Opcode::Continuation));
    assert!(data.last().is_some_and(|f| f.fin));
    // Every frame we sent was masked (`frames_of` as a server refuses unmasked ones).
    assert!(frames.iter().all(|f| f.masked));
}

#[test]
fn pings_are_answered_between_our_client_and_node_server() {
    if skip("pings_are_answered_between_our_client_and_node_server") {
        return;
    }
    let (mut session, _) = our_client(&[], &["warp0"], WsConfig::default());
    session.ours.conn.send_ping(b"from-us").expect("pinging");
    session.ours.flush();
    session.until("ws's pong", |ours, _| {
        !ours.tap.payloads(Opcode::Pong).is_empty()
    });
    assert_eq!(session.ours.tap.payloads(Opcode::Pong), ["from-us"]);
    session.until("ws to report our ping", |_, node| {
        !node.of("ping").is_empty()
    });
    assert_eq!(session.node.data_of("ping"), ["from-us"]);

    session
        .ours
        .conn
        .send_text("!ping from-node")
        .expect("sending");
    session.until("ws to see our pong", |_, node| !node.of("pong").is_empty());
    assert_eq!(session.node.data_of("pong"), ["from-node"]);
    assert_eq!(session.ours.tap.payloads(Opcode::Ping), ["from-node"]);
    end(session);
}

#[test]
fn close_codes_from_our_client_reach_node_server() {
    if skip("close_codes_from_our_client_reach_node_server") {
        return;
    }
    for (code, reason) in [
        (1000, "normal"),
        (1001, "going away"),
        (4000, "custom reason"),
    ] {
        let (mut session, _) = our_client(&[], &["warp0"], WsConfig::default());
        let now = session.ours.now();
        session
            .ours
            .conn
            .close(now, CloseCode::new(code), reason)
            .expect("closing");
        session.ours.flush();
        session.until_closed();
        assert_eq!(session.node.close(), (u64::from(code), reason.to_string()));
        assert_eq!(session.ours.closed, closed(CloseInitiator::Local, code));
        // ws echoes code and reason.
        assert_eq!(session.ours.peer_close(), peer_close(code, reason));
    }
}

#[test]
fn close_codes_from_node_server_reach_our_client() {
    if skip("close_codes_from_node_server_reach_our_client") {
        return;
    }
    for (code, reason) in [
        (1000, "normal"),
        (1001, "going away"),
        (4000, "custom reason"),
    ] {
        let (mut session, _) = our_client(&[], &["warp0"], WsConfig::default());
        let command = format!("!close {code} {reason}");
        session.ours.conn.send_text(&command).expect("sending");
        session.until_closed();
        assert_eq!(session.ours.peer_close(), peer_close(code, reason));
        assert_eq!(session.ours.closed, closed(CloseInitiator::Remote, code));
        assert_eq!(session.node.close(), (u64::from(code), String::new()));
    }
    let (mut session, _) = our_client(&[], &["warp0"], WsConfig::default());
    session.ours.conn.send_text("!close").expect("sending");
    session.until_closed();
    let no_code = Some(PeerClose {
        code: None,
        reason: String::new(),
    });
    assert_eq!(session.ours.peer_close(), no_code);
    assert_eq!(
        session.ours.closed,
        Some(CloseReason::Closed {
            initiator: CloseInitiator::Remote,
            code: None
        })
    );
    assert_eq!(session.node.close(), (1005, String::new()));
}

#[test]
fn invalid_close_frames_from_node_server_are_refused() {
    if skip("invalid_close_frames_from_node_server_are_refused") {
        return;
    }
    // ws's `close()` sends only valid close frames, so the server writes these straight on its
    // socket: code 1005 (never on the wire), code 999, a one-byte payload, and code 1000 with
    // a reason that is not UTF-8 (C3 28).
    let cases = [
        (
            "880203ed",
            WsErrorKind::InvalidCloseCode(1005),
            1002,
            "protocol error",
        ),
        (
            "880203e7",
            WsErrorKind::InvalidCloseCode(999),
            1002,
            "protocol error",
        ),
        (
            "880103",
            WsErrorKind::ClosePayloadTooShort,
            1002,
            "protocol error",
        ),
        (
            "880403e8c328",
            WsErrorKind::InvalidCloseReason,
            1007,
            "invalid UTF-8 in close reason",
        ),
    ];
    for (hex, kind, code, reason) in cases {
        let (mut session, _) = our_client(&[], &["warp0"], WsConfig::default());
        let command = format!("!raw {hex}");
        session.ours.conn.send_text(&command).expect("sending");
        session.until_closed();
        assert_eq!(failure(&session.ours), Some(kind), "{hex}");
        assert_eq!(session.ours.peer_close(), None, "{hex}");
        assert_eq!(session.node.close(), (code, reason.to_string()), "{hex}");
    }
}

#[test]
fn masking_rules_hold_between_our_client_and_node_server() {
    if skip("masking_rules_hold_between_our_client_and_node_server") {
        return;
    }
    // ws checks that client frames are masked: an unmasked one written around our connection
    // gets 1002. So the echo in the other tests also shows that ours are masked.
    let (mut session, _) = our_client(&[], &["warp0"], WsConfig::default());
    echo(&mut session, "masked");
    session.ours.flush();
    session.ours.write_raw(&raw_text_frame(b"unmasked", None));
    session.until_closed();
    assert_eq!(session.node.error_codes(), ["WS_ERR_EXPECTED_MASK"]);
    assert_eq!(session.ours.peer_close().and_then(|c| c.code), Some(1002));
    assert_eq!(session.node.messages(), ["masked"]);

    // A masked frame from the server gets 1002 from our client.
    let (mut session, _) = our_client(&[], &["warp0"], WsConfig::default());
    session
        .ours
        .conn
        .send_text("!masked hidden")
        .expect("sending");
    session.until_closed();
    let first = session.ours.tap.frames.first().expect("a frame");
    assert_eq!((first.opcode, first.masked), (Opcode::Text, true));
    assert_eq!(failure(&session.ours), Some(WsErrorKind::MaskedFrame));
    assert!(session.ours.received.is_empty());
    assert_eq!(session.node.close(), (1002, "protocol error".to_string()));
}

#[test]
fn oversized_messages_get_1009_between_our_client_and_node_server() {
    if skip("oversized_messages_get_1009_between_our_client_and_node_server") {
        return;
    }
    // ws's maxPayload of 1000 bytes: a message of 1000 passes; 1001 in one frame, or 1200 in
    // frames of 400, gets 1009.
    let (mut session, _) = our_client(&["--max-payload", "1000"], &["warp0"], WsConfig::default());
    echo(&mut session, &"x".repeat(1000));
    session
        .ours
        .conn
        .send_text(&"y".repeat(1001))
        .expect("sending");
    session.until_closed();
    assert_eq!(
        session.node.error_codes(),
        ["WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"]
    );
    assert_eq!(session.ours.peer_close().and_then(|c| c.code), Some(1009));
    assert_eq!(session.node.messages().len(), 1);

    let config = WsConfig::default().with_max_send_frame_len(400);
    let (mut session, _) = our_client(&["--max-payload", "1000"], &["warp0"], config);
    session
        .ours
        .conn
        .send_text(&"z".repeat(1200))
        .expect("sending");
    session.until_closed();
    assert_eq!(
        session.node.error_codes(),
        ["WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"]
    );
    assert_eq!(session.ours.peer_close().and_then(|c| c.code), Some(1009));
    assert!(session.node.messages().is_empty());

    // Our limits: frames of 1024, messages of 2048.
    let limits = WsConfig::default()
        .with_max_frame_len(1024)
        .with_max_message_len(2048);
    let (mut session, _) = our_client(&[], &["warp0"], limits);
    session.ours.conn.send_text("!big 1024").expect("sending");
    assert_eq!(session.next_message("1024 bytes"), text(&"x".repeat(1024)));
    session.ours.conn.send_text("!big 1025").expect("sending");
    session.until_closed();
    assert_eq!(
        failure(&session.ours),
        Some(WsErrorKind::FrameTooLarge {
            len: 1025,
            limit: 1024
        })
    );
    assert_eq!(session.node.close(), (1009, "frame too large".to_string()));

    // A frame announcing 2^40 bytes is refused at its header, before any payload. `ws` will
    // not send such a frame, so the server writes the header straight on its socket.
    let (mut session, _) = our_client(&[], &["warp0"], limits);
    session
        .ours
        .conn
        .send_text("!raw 817f0000010000000000")
        .expect("sending");
    session.until_closed();
    assert_eq!(
        failure(&session.ours),
        Some(WsErrorKind::FrameTooLarge {
            len: 1 << 40,
            limit: 1024
        })
    );
    assert_eq!(session.node.close(), (1009, "frame too large".to_string()));
}

#[test]
fn invalid_utf8_gets_1007_between_our_client_and_node_server() {
    if skip("invalid_utf8_gets_1007_between_our_client_and_node_server") {
        return;
    }
    // From us: a masked text frame with C3 28, written around our connection (its send API
    // takes only `&str`).
    let (mut session, _) = our_client(&[], &["warp0"], WsConfig::default());
    session.ours.flush();
    session
        .ours
        .write_raw(&raw_text_frame(&[0xC3, 0x28], Some([9, 8, 7, 6])));
    session.until_closed();
    assert_eq!(session.node.error_codes(), ["WS_ERR_INVALID_UTF8"]);
    assert_eq!(session.ours.peer_close().and_then(|c| c.code), Some(1007));
    assert!(session.node.messages().is_empty());

    // From ws: in one frame, and across two fragments.
    for command in [
        "!rawtext c328",
        "!rawtext-split e282|28",
        "!rawtext-split ff|41",
    ] {
        let (mut session, _) = our_client(&[], &["warp0"], WsConfig::default());
        session.ours.conn.send_text(command).expect("sending");
        session.until_closed();
        assert_eq!(
            failure(&session.ours),
            Some(WsErrorKind::InvalidUtf8),
            "{command}"
        );
        assert!(session.ours.received.is_empty(), "{command}");
        assert_eq!(
            session.node.close(),
            (1007, "invalid UTF-8".to_string()),
            "{command}"
        );
    }
}
