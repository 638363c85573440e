//! The real SwimOS 0.1.1 server (`peers/swimos-server`, started by
//! [`conformance::peers::SwimosServer`]) answers a plain WebSocket client (`tungstenite`, offering
//! `warp0`) the way WARP.md and the recorded traces say.
//!
//! Frames are decoded with `warp_proto::envelope` and compared as envelopes (tag, node, lane,
//! body value), never as bytes. Each test starts its own server on a loopback port; every read
//! has a timeout. The first test to run builds the peer (about 2.5 minutes from clean, then
//! cached in `target/peers`).
//!
//! A command gets no reply, so a test that needs a command to have taken effect watches a lane
//! the command changes and waits for the event: SwimOS does not keep the order of commands
//! relative to other envelopes for other lanes of the same agent.
#![allow(clippy::result_large_err)] // tungstenite's error type, not ours

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use conformance::peers::{free_loopback_port, OwnedEnvelope, SwimosServer};
use tungstenite::client::IntoClientRequest as _;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// How long to wait for an expected frame.
const WAIT: Duration = Duration::from_secs(5);
/// How long to watch for a frame that must not come.
const SILENCE: Duration = Duration::from_millis(300);

/// Decodes `frame` as an envelope; panics with the reason if it is not one.
fn env(frame: &str) -> OwnedEnvelope {
    OwnedEnvelope::decode(frame).unwrap_or_else(|e| panic!("not an envelope: {e}"))
}

fn start() -> SwimosServer {
    SwimosServer::start().unwrap_or_else(|e| panic!("starting the SwimOS peer: {e}"))
}

/// A WARP client connection over `tungstenite`, with timed reads.
struct Client {
    ws: WebSocket<TcpStream>,
}

impl Client {
    /// Connects to `addr`, offering the `warp0` subprotocol.
    fn connect(addr: SocketAddr) -> Client {
        let ws = connect_with(addr, Some("warp0")).unwrap_or_else(|e| panic!("connect: {e}"));
        Client { ws }
    }

    fn send(&mut self, frame: &str) {
        self.ws
            .send(Message::text(frame))
            .unwrap_or_else(|e| panic!("sending {frame:?}: {e}"));
    }

    /// The next message within `timeout`, `None` if none came.
    fn recv(&mut self, timeout: Duration) -> Option<Message> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.ws
                .get_mut()
                .set_read_timeout(Some(left))
                .expect("setting the read timeout");
            match self.ws.read() {
                Ok(message) => return Some(message),
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(e) => panic!("reading from the server: {e}"),
            }
        }
    }

    /// The next text frame as an envelope; panics on anything else or after [`WAIT`].
    fn expect_env(&mut self) -> OwnedEnvelope {
        match self.recv(WAIT) {
            Some(Message::Text(text)) => env(text.as_str()),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next `n` envelopes.
    fn expect_envs(&mut self, n: usize) -> Vec<OwnedEnvelope> {
        (0..n).map(|_| self.expect_env()).collect()
    }

    /// Asserts that nothing arrives for [`SILENCE`].
    fn expect_silence(&mut self) {
        if let Some(message) = self.recv(SILENCE) {
            panic!("expected no frame, got {message:?}");
        }
    }

    /// Closes with 1000 and waits for the server's close.
    fn close(mut self) {
        self.ws.close(None).expect("sending close");
        loop {
            match self.recv(WAIT) {
                Some(Message::Close(frame)) => {
                    let code = frame.map(|f| f.code);
                    assert_eq!(code, Some(CloseCode::Normal), "server's close code");
                    return;
                }
                Some(_) => continue,
                None => panic!("no close from the server"),
            }
        }
    }
}

/// Opens a WebSocket to `addr`, offering `protocol` if given.
fn connect_with(
    addr: SocketAddr,
    protocol: Option<&'static str>,
) -> Result<WebSocket<TcpStream>, tungstenite::Error> {
    let stream = TcpStream::connect_timeout(&addr, WAIT).expect("TCP connect");
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    stream.set_write_timeout(Some(WAIT)).expect("write timeout");
    let mut request = format!("ws://{addr}/").into_client_request()?;
    if let Some(p) = protocol {
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(p));
    }
    match tungstenite::client::client(request, stream) {
        Ok((ws, _response)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(e)) => Err(e),
        Err(tungstenite::HandshakeError::Interrupted(_)) => {
            panic!("handshake interrupted on a blocking socket")
        }
    }
}

#[test]
fn sync_on_value_lane_sends_linked_state_synced_then_command_events() {
    let server = start();
    let mut c = Client::connect(server.addr());
    c.send(r#"@sync(node:"/unit/1",lane:info)"#);
    assert_eq!(
        c.expect_envs(3),
        [
            env(r#"@linked(node:"/unit/1",lane:info)"#),
            env(r#"@event(node:"/unit/1",lane:info)"""#),
            env(r#"@synced(node:"/unit/1",lane:info)"#),
        ]
    );
    c.send(r#"@command(node:"/unit/1",lane:set_info)"hello""#);
    assert_eq!(
        c.expect_env(),
        env(r#"@event(node:"/unit/1",lane:info)"hello""#)
    );
    c.expect_silence();
    c.close();
}

#[test]
fn link_without_sync_sends_linked_then_only_changes() {
    let server = start();
    let mut c = Client::connect(server.addr());
    c.send(r#"@link(node:"/unit/2",lane:count)"#);
    assert_eq!(c.expect_env(), env(r#"@linked(node:"/unit/2",lane:count)"#));
    c.expect_silence();
    c.send(r#"@command(node:"/unit/2",lane:add) 2"#);
    assert_eq!(
        c.expect_env(),
        env(r#"@event(node:"/unit/2",lane:count) 2"#)
    );
    c.close();
}

#[test]
fn add_commands_fill_history_and_map_sync_sends_every_entry() {
    let server = start();
    let mut c = Client::connect(server.addr());
    // Watch `count` so each command is known to have run before the next step.
    c.send(r#"@link(node:"/unit/3",lane:count)"#);
    assert_eq!(c.expect_env(), env(r#"@linked(node:"/unit/3",lane:count)"#));
    c.send(r#"@command(node:"/unit/3",lane:add) 5"#);
    assert_eq!(
        c.expect_env(),
        env(r#"@event(node:"/unit/3",lane:count) 5"#)
    );
    c.send(r#"@command(node:"/unit/3",lane:add) 3"#);
    assert_eq!(
        c.expect_env(),
        env(r#"@event(node:"/unit/3",lane:count) 8"#)
    );

    c.send(r#"@sync(node:"/unit/3",lane:history)"#);
    let got = c.expect_envs(4);
    assert_eq!(
        got.first(),
        Some(&env(r#"@linked(node:"/unit/3",lane:history)"#))
    );
    assert_eq!(
        got.last(),
        Some(&env(r#"@synced(node:"/unit/3",lane:history)"#))
    );
    // The entries come in no fixed order.
    let mut entries: Vec<OwnedEnvelope> = got.get(1..3).expect("two entries").to_vec();
    let wanted = [
        env(r#"@event(node:"/unit/3",lane:history)@update(key:5) 5"#),
        env(r#"@event(node:"/unit/3",lane:history)@update(key:8) 3"#),
    ];
    entries.sort_by_key(|e| format!("{:?}", e.body));
    let mut wanted_sorted = wanted.to_vec();
    wanted_sorted.sort_by_key(|e| format!("{:?}", e.body));
    assert_eq!(entries, wanted_sorted, "history entries (any order)");

    c.send(r#"@command(node:"/unit/3",lane:remove) 5"#);
    assert_eq!(
        c.expect_env(),
        env(r#"@event(node:"/unit/3",lane:history)@remove(key:5)"#)
    );
    // A new add: the count event and the history entry (two lanes, either order).
    c.send(r#"@command(node:"/unit/3",lane:add) 1"#);
    let mut got = c.expect_envs(2);
    got.sort_by_key(|e| e.lane.clone());
    assert_eq!(
        got,
        [
            env(r#"@event(node:"/unit/3",lane:count) 9"#),
            env(r#"@event(node:"/unit/3",lane:history)@update(key:9) 1"#),
        ]
    );
    c.close();
}

#[test]
fn unknown_node_is_unlinked_with_node_not_found_and_connection_stays() {
    let server = start();
    let mut c = Client::connect(server.addr());
    c.send(r#"@sync(node:"/nowhere/1",lane:info)"#);
    assert_eq!(
        c.expect_env(),
        env(r#"@unlinked(node:"/nowhere/1",lane:info)@nodeNotFound"#)
    );
    c.expect_silence();
    c.send(r#"@link(node:"/unit/4",lane:info)"#);
    assert_eq!(c.expect_env(), env(r#"@linked(node:"/unit/4",lane:info)"#));
    c.close();
}

#[test]
fn unknown_lane_is_unlinked_with_lane_not_found_and_connection_stays() {
    let server = start();
    let mut c = Client::connect(server.addr());
    c.send(r#"@sync(node:"/unit/5",lane:nolane)"#);
    assert_eq!(
        c.expect_env(),
        env(r#"@unlinked(node:"/unit/5",lane:nolane)@laneNotFound"#)
    );
    c.expect_silence();
    c.send(r#"@link(node:"/unit/5",lane:info)"#);
    assert_eq!(c.expect_env(), env(r#"@linked(node:"/unit/5",lane:info)"#));
    c.close();
}

#[test]
fn unlink_of_open_link_is_answered_and_of_unopened_link_is_silent() {
    let server = start();
    let mut c = Client::connect(server.addr());
    c.send(r#"@unlink(node:"/unit/6",lane:info)"#);
    c.expect_silence();
    c.send(r#"@link(node:"/unit/6",lane:info)"#);
    assert_eq!(c.expect_env(), env(r#"@linked(node:"/unit/6",lane:info)"#));
    c.send(r#"@unlink(node:"/unit/6",lane:info)"#);
    assert_eq!(
        c.expect_env(),
        env(r#"@unlinked(node:"/unit/6",lane:info)"Link closed.""#)
    );
    // Unlinked: a change to the lane is no longer sent.
    c.send(r#"@command(node:"/unit/6",lane:set_info) gone"#);
    c.expect_silence();
    c.close();
}

#[test]
fn second_sync_resends_state_without_linked_and_second_link_relinks() {
    let server = start();
    let mut c = Client::connect(server.addr());
    c.send(r#"@sync(node:"/unit/7",lane:count)"#);
    assert_eq!(
        c.expect_envs(3),
        [
            env(r#"@linked(node:"/unit/7",lane:count)"#),
            env(r#"@event(node:"/unit/7",lane:count) 0"#),
            env(r#"@synced(node:"/unit/7",lane:count)"#),
        ]
    );
    c.send(r#"@sync(node:"/unit/7",lane:count)"#);
    assert_eq!(
        c.expect_envs(2),
        [
            env(r#"@event(node:"/unit/7",lane:count) 0"#),
            env(r#"@synced(node:"/unit/7",lane:count)"#),
        ]
    );
    c.send(r#"@link(node:"/unit/7",lane:count)"#);
    assert_eq!(c.expect_env(), env(r#"@linked(node:"/unit/7",lane:count)"#));
    // Still one link: one event per change.
    c.send(r#"@command(node:"/unit/7",lane:add) 4"#);
    assert_eq!(
        c.expect_env(),
        env(r#"@event(node:"/unit/7",lane:count) 4"#)
    );
    c.expect_silence();
    c.close();
}

#[test]
fn upgrade_without_warp0_is_refused_with_400() {
    let server = start();
    match connect_with(server.addr(), None) {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 400);
            let body = response.body().as_deref().unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(body),
                "Failed to negotiate warp0 subprotocol"
            );
        }
        Ok(_) => panic!("the server accepted an upgrade without warp0"),
        Err(e) => panic!("expected an HTTP 400 refusal, got {e}"),
    }
}

#[test]
fn unparseable_frame_closes_the_connection_with_1002() {
    let server = start();
    let mut c = Client::connect(server.addr());
    c.send(r#"@link(node:"/unit/8",lane:info"#);
    match c.recv(WAIT) {
        Some(Message::Close(frame)) => {
            assert_eq!(frame.map(|f| f.code), Some(CloseCode::Protocol));
        }
        other => panic!("expected a close with 1002, got {other:?}"),
    }
}

#[test]
fn peer_binds_the_requested_address_and_exits_when_stdin_closes() {
    let port = free_loopback_port().expect("a free port");
    let bind = SocketAddr::from(([127, 0, 0, 1], port));
    let server = SwimosServer::start_on(bind).unwrap_or_else(|e| panic!("starting: {e}"));
    assert_eq!(server.addr(), bind);
    assert_eq!(server.host_uri(), format!("warp://127.0.0.1:{port}"));
    let mut c = Client::connect(server.addr());
    c.send(r#"@link(node:"/unit/9",lane:info)"#);
    assert_eq!(c.expect_env(), env(r#"@linked(node:"/unit/9",lane:info)"#));
    let status = server.stop().unwrap_or_else(|e| panic!("stopping: {e}"));
    assert!(status.success(), "exit status {status}");
}
