//! The server scenarios against an independent WebSocket client (`tungstenite`), on loopback,
//! shared by the drivers' tests (`warp-tokio/tests/server_tungstenite.rs`,
//! `warp-smol/tests/server_tungstenite.rs`): link, sync of value and map lanes, commands that
//! change shared state, fan-out to every connection, not-found answers, unlink, auth,
//! malformed and binary frames, a slow consumer, graceful shutdown, routes added at run time
//! and nodes served by a `NodeHandler`.
//!
//! Each driver implements [`TestServer`] (start, push a change, shut down, all blocking);
//! each scenario is a blocking function generic over it. Clients run on threads with a read
//! timeout, so every wait is bounded.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};
use warp_proto::app::session::server::ServerConfig;
use warp_proto::app::{
    Agent, AgentContext, AgentLogic, CommandError, CommandLane, EventBody, LaneError, LaneEvent,
    LaneKind, LinkError, NodeHandler, Params, ValueLane, ValueType,
};
use warp_proto::connection::Config as WarpConfig;
use warp_proto::recon::Value;
use warp_proto::ws::Instant;

/// The longest any single read waits.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a whole test's client part may take.
pub const TEST_LIMIT: Duration = Duration::from_secs(30);

/// A running server of one driver, driven from blocking test code.
pub trait TestServer: Sized {
    /// The demo server with `config` (and `authenticator`, if any) on a free loopback port.
    fn demo(config: ServerConfig, authenticator: Option<fn(&str) -> bool>) -> Self;
    /// The server with [`calc_agent`] routed at `/calc/:id` through its handle, and
    /// [`squares_handler`] at `/squares/:id` through its builder.
    fn with_app_routes() -> Self;
    /// Where it listens.
    fn addr(&self) -> SocketAddr;
    /// Sets the `info` lane of `node` through the handle; returns to how many connections.
    fn set_info(&self, node: &str, text: &str) -> usize;
    /// How many connections the server serves.
    fn connections(&self) -> usize;
    /// Shuts the server down and waits (bounded) for it to stop.
    fn shutdown(&self);
}

type Ws = WebSocket<TcpStream>;

/// Runs the blocking client part `f` on a thread, within [`TEST_LIMIT`].
pub fn client<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(TEST_LIMIT)
        .expect("the client part ended in time (and did not panic)")
}

/// Connects a WebSocket client offering `protocol` (or no subprotocol); returns it and the
/// subprotocol the server chose.
fn connect_with(addr: SocketAddr, protocol: Option<&str>) -> (Ws, Option<String>) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .expect("read timeout");
    let mut request = format!("ws://{addr}/")
        .into_client_request()
        .expect("request");
    if let Some(protocol) = protocol {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(protocol).expect("header"),
        );
    }
    let (ws, response) = tungstenite::client(request, stream).expect("handshake");
    let chosen = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (ws, chosen)
}

fn connect(addr: SocketAddr) -> Ws {
    connect_with(addr, Some("warp0")).0
}

fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::Text(text.into())).expect("send");
}

/// The next text frame (pings are answered by tungstenite); panics on anything else.
fn next_text(ws: &mut Ws) -> String {
    loop {
        match ws.read().expect("read a frame") {
            Message::Text(text) => return text.as_str().to_owned(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The next `n` text frames.
fn texts(ws: &mut Ws, n: usize) -> Vec<String> {
    (0..n).map(|_| next_text(ws)).collect()
}

/// Reads until the server's close frame; returns its code (skipping text frames).
fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match ws.read() {
            Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
            Ok(_) => {}
            Err(e) => panic!("expected a close frame, got {e}"),
        }
    }
}

pub fn sync_replays_value_then_synced_and_a_command_publishes_the_new_value<S: TestServer>() {
    let server = S::demo(ServerConfig::default(), None);
    let addr = server.addr();
    let frames = client(move || {
        let mut ws = connect(addr);
        send(&mut ws, r#"@sync(node:"/unit/1",lane:info)"#);
        let mut frames = texts(&mut ws, 3);
        send(
            &mut ws,
            r#"@command(node:"/unit/1",lane:set_info)"hello world""#,
        );
        frames.extend(texts(&mut ws, 1));
        frames
    });
    assert_eq!(
        frames,
        [
            r#"@linked(node:"/unit/1",lane:info)"#,
            r#"@event(node:"/unit/1",lane:info)"""#,
            r#"@synced(node:"/unit/1",lane:info)"#,
            r#"@event(node:"/unit/1",lane:info)"hello world""#,
        ]
    );
    server.shutdown();
}

pub fn map_sync_replays_every_entry_and_commands_update_and_remove<S: TestServer>() {
    let server = S::demo(ServerConfig::default(), None);
    let addr = server.addr();
    let frames = client(move || {
        // One connection changes the agent; another one syncs its map lane afterwards.
        let mut writer = connect(addr);
        send(&mut writer, r#"@sync(node:"/unit/7",lane:count)"#);
        let _ = texts(&mut writer, 3);
        for n in [5, 3] {
            send(
                &mut writer,
                &format!(r#"@command(node:"/unit/7",lane:add) {n}"#),
            );
        }
        // Both changes are applied once their events came back to the writer.
        assert_eq!(
            texts(&mut writer, 2),
            [
                r#"@event(node:"/unit/7",lane:count) 5"#,
                r#"@event(node:"/unit/7",lane:count) 8"#
            ]
        );
        let mut reader = connect(addr);
        send(&mut reader, r#"@sync(node:"/unit/7",lane:history)"#);
        let mut frames = texts(&mut reader, 4);
        send(&mut writer, r#"@command(node:"/unit/7",lane:remove) 5"#);
        frames.extend(texts(&mut reader, 1));
        frames
    });
    assert_eq!(
        frames,
        [
            r#"@linked(node:"/unit/7",lane:history)"#,
            r#"@event(node:"/unit/7",lane:history)@update(key:5) 5"#,
            r#"@event(node:"/unit/7",lane:history)@update(key:8) 3"#,
            r#"@synced(node:"/unit/7",lane:history)"#,
            r#"@event(node:"/unit/7",lane:history)@remove(key:5)"#,
        ]
    );
    server.shutdown();
}

pub fn a_change_reaches_every_connection_linked_to_the_lane_and_no_other<S: TestServer>() {
    let server = S::demo(ServerConfig::default(), None);
    let addr = server.addr();
    let (a, b, c) = client(move || {
        let mut a = connect(addr);
        let mut b = connect(addr);
        let mut c = connect(addr);
        send(&mut a, r#"@link(node:"/unit/2",lane:count)"#);
        send(&mut b, r#"@link(node:"/unit/2",lane:count)"#);
        send(&mut c, r#"@link(node:"/unit/3",lane:count)"#);
        for ws in [&mut a, &mut b, &mut c] {
            let _ = next_text(ws); // linked
        }
        // A third connection's command changes the shared agent of /unit/2 only.
        send(&mut c, r#"@command(node:"/unit/2",lane:add) 4"#);
        send(&mut c, r#"@command(node:"/unit/3",lane:add) 1"#);
        (next_text(&mut a), next_text(&mut b), next_text(&mut c))
    });
    assert_eq!(a, r#"@event(node:"/unit/2",lane:count) 4"#);
    assert_eq!(b, a);
    assert_eq!(c, r#"@event(node:"/unit/3",lane:count) 1"#);
    server.shutdown();
}

pub fn unknown_node_and_lane_are_refused_with_unlinked_and_the_connection_goes_on<S: TestServer>() {
    let server = S::demo(ServerConfig::default(), None);
    let addr = server.addr();
    let frames = client(move || {
        let mut ws = connect(addr);
        send(&mut ws, r#"@sync(node:"/nowhere/1",lane:info)"#);
        send(&mut ws, r#"@link(node:"/unit/1",lane:nolane)"#);
        send(&mut ws, r#"@link(node:"/unit/1",lane:info)"#);
        texts(&mut ws, 3)
    });
    assert_eq!(
        frames,
        [
            r#"@unlinked(node:"/nowhere/1",lane:info)@nodeNotFound"#,
            r#"@unlinked(node:"/unit/1",lane:nolane)@laneNotFound"#,
            r#"@linked(node:"/unit/1",lane:info)"#,
        ]
    );
    server.shutdown();
}

pub fn unlink_is_answered_and_stops_the_events_of_that_link<S: TestServer>() {
    let server = S::demo(ServerConfig::default(), None);
    let addr = server.addr();
    let frames = client(move || {
        let mut ws = connect(addr);
        send(&mut ws, r#"@link(node:"/unit/4",lane:info)"#);
        let mut frames = texts(&mut ws, 1);
        send(&mut ws, r#"@unlink(node:"/unit/4",lane:info)"#);
        frames.extend(texts(&mut ws, 1));
        // This change is not sent on the closed link; the next frame is the count link's.
        send(&mut ws, r#"@command(node:"/unit/4",lane:set_info)gone"#);
        send(&mut ws, r#"@link(node:"/unit/4",lane:count)"#);
        frames.extend(texts(&mut ws, 1));
        frames
    });
    assert_eq!(
        frames,
        [
            r#"@linked(node:"/unit/4",lane:info)"#,
            r#"@unlinked(node:"/unit/4",lane:info)"Link closed.""#,
            r#"@linked(node:"/unit/4",lane:count)"#,
        ]
    );
    server.shutdown();
}

pub fn clients_offering_warp0_or_no_subprotocol_are_both_accepted<S: TestServer>() {
    let server = S::demo(ServerConfig::default(), None);
    let addr = server.addr();
    let chosen = client(move || {
        let mut chosen = Vec::new();
        for offer in [Some("warp0"), None, Some("other, warp0")] {
            let (mut ws, protocol) = connect_with(addr, offer);
            send(&mut ws, r#"@link(node:"/unit/1",lane:info)"#);
            assert_eq!(next_text(&mut ws), r#"@linked(node:"/unit/1",lane:info)"#);
            chosen.push(protocol);
        }
        chosen
    });
    assert_eq!(
        chosen,
        [Some("warp0".to_owned()), None, Some("warp0".to_owned())]
    );
    server.shutdown();
}

pub fn a_bad_frame_is_tolerated_by_default_and_closes_with_1002_when_configured<S: TestServer>() {
    let server = S::demo(ServerConfig::default(), None);
    let strict = ServerConfig::default().with_endpoint(
        ServerConfig::default()
            .endpoint
            .with_warp(WarpConfig::default().with_max_protocol_errors(0)),
    );
    let strict_server = S::demo(strict, None);
    let (addr, strict_addr) = (server.addr(), strict_server.addr());
    let (tolerated, text_code, binary_code) = client(move || {
        let mut ws = connect(addr);
        send(&mut ws, "this is not an envelope");
        send(&mut ws, r#"@link(node:"/unit/1",lane:info)"#);
        let tolerated = next_text(&mut ws);

        let mut ws = connect(strict_addr);
        send(&mut ws, "@nosuchtag(node:a,lane:b)");
        let text_code = close_code(&mut ws);

        let mut ws = connect(strict_addr);
        ws.send(Message::Binary(vec![1u8, 2, 3].into()))
            .expect("send binary");
        let binary_code = close_code(&mut ws);
        (tolerated, text_code, binary_code)
    });
    assert_eq!(tolerated, r#"@linked(node:"/unit/1",lane:info)"#);
    assert_eq!(text_code, Some(1002));
    assert_eq!(binary_code, Some(1002));
    server.shutdown();
    strict_server.shutdown();
}

pub fn auth_is_answered_by_the_authenticator<S: TestServer>() {
    let server = S::demo(
        ServerConfig::default(),
        Some(|credentials| credentials == r#"{token:"secret"}"#),
    );
    let addr = server.addr();
    let (accepted, refused, code) = client(move || {
        let mut ws = connect(addr);
        send(&mut ws, r#"@auth{token:"secret"}"#);
        let accepted = next_text(&mut ws);
        let mut ws = connect(addr);
        send(&mut ws, r#"@auth{token:"guess"}"#);
        let refused = next_text(&mut ws);
        (accepted, refused, close_code(&mut ws))
    });
    assert_eq!(accepted, "@authed");
    assert_eq!(refused, "@deauthed");
    assert_eq!(code, Some(1008));
    server.shutdown();
}

pub fn shutdown_closes_connections_with_going_away_and_stops_accepting<S: TestServer>() {
    let server = S::demo(ServerConfig::default(), None);
    let addr = server.addr();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut ws = connect(addr);
        send(&mut ws, r#"@link(node:"/unit/1",lane:info)"#);
        let linked = next_text(&mut ws);
        let _ = ready_tx.send(());
        let _ = done_tx.send((linked, close_code(&mut ws)));
    });
    ready_rx
        .recv_timeout(TEST_LIMIT)
        .expect("client linked in time");
    assert_eq!(server.connections(), 1);
    server.shutdown();
    let (linked, code) = done_rx
        .recv_timeout(TEST_LIMIT)
        .expect("client saw the close in time");
    assert_eq!(linked, r#"@linked(node:"/unit/1",lane:info)"#);
    assert_eq!(code, Some(1001));
    assert_eq!(server.connections(), 0);
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
}

pub fn a_client_that_stops_reading_is_closed_as_overloaded_and_others_are_not<S: TestServer>() {
    let config = ServerConfig::default()
        .with_fanout_capacity(16)
        .with_write_high_water(4 * 1024);
    let server = S::demo(config, None);
    let addr = server.addr();
    let link = r#"@link(node:"/unit/9",lane:info)"#;
    let linked = r#"@linked(node:"/unit/9",lane:info)"#;

    // The slow client links, then stops reading until told to go on.
    let (slow_ready_tx, slow_ready_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (slow_tx, slow_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut ws = connect(addr);
        send(&mut ws, link);
        assert_eq!(next_text(&mut ws), linked);
        let _ = slow_ready_tx.send(());
        go_rx.recv_timeout(TEST_LIMIT).expect("go signal");
        let mut events = 0usize;
        let code = loop {
            match ws.read() {
                Ok(Message::Text(_)) => events += 1,
                Ok(Message::Close(frame)) => break frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(e) => panic!("expected events then a close, got {e}"),
            }
        };
        let _ = slow_tx.send((events, code));
    });
    slow_ready_rx
        .recv_timeout(TEST_LIMIT)
        .expect("slow client linked in time");

    // The healthy client reads everything and reports each event it got.
    let (fast_ready_tx, fast_ready_rx) = mpsc::channel();
    let (seen_tx, seen_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (fast_tx, fast_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut ws = connect(addr);
        send(&mut ws, link);
        assert_eq!(next_text(&mut ws), linked);
        let _ = fast_ready_tx.send(());
        let mut events = 0usize;
        while done_rx.try_recv().is_err() {
            match ws.read() {
                Ok(Message::Text(_)) => {
                    events += 1;
                    let _ = seen_tx.send(());
                }
                Ok(_) => {}
                // The read timeout while idle: look for the done signal again.
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("the healthy client lost its connection: {e}"),
            }
        }
        let _ = fast_tx.send(events);
    });
    fast_ready_rx
        .recv_timeout(TEST_LIMIT)
        .expect("healthy client linked in time");

    // Publish one change at a time, each once the healthy client got the previous one, until
    // only the healthy client takes them: the slow one has been dropped from the fan-out.
    // Bounded: the socket buffers of the slow client hold a few MiB at most.
    let body = "x".repeat(2000);
    let mut published = 0usize;
    loop {
        let reached = server.set_info("/unit/9", &body);
        published += 1;
        seen_rx
            .recv_timeout(TEST_LIMIT)
            .expect("the healthy client keeps getting events");
        if reached == 1 {
            break;
        }
        assert_eq!(reached, 2);
        assert!(published < 100_000, "the slow client was never dropped");
    }
    let _ = go_tx.send(());
    // Tell the healthy client to stop, and wake it with one more event.
    let _ = done_tx.send(());
    server.set_info("/unit/9", "last");
    published += 1;
    let (slow_events, code) = slow_rx
        .recv_timeout(TEST_LIMIT)
        .expect("slow client finished in time");
    let fast_events = fast_rx
        .recv_timeout(TEST_LIMIT)
        .expect("healthy client finished in time");
    assert_eq!(code, Some(1013), "closed as overloaded");
    assert!(
        slow_events < published - 1,
        "{slow_events} events of {published}: some were dropped"
    );
    assert_eq!(fast_events, published, "the healthy client got every event");
    server.shutdown();
}

pub fn a_request_that_is_not_a_websocket_upgrade_gets_an_http_error<S: TestServer>() {
    use std::io::{Read, Write};
    let server = S::demo(ServerConfig::default(), None);
    let addr = server.addr();
    let answer = client(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("read timeout");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .expect("write");
        // The server answers and closes: read to the end.
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("read the answer");
        String::from_utf8_lossy(&answer).into_owned()
    });
    let status = answer.lines().next().unwrap_or_default().to_owned();
    assert!(
        status.starts_with("HTTP/1.1 4"),
        "an HTTP client error, got {answer:?}"
    );
    server.shutdown();
}

pub fn a_silent_client_is_dropped_after_the_idle_timeout<S: TestServer>() {
    let ws_config = warp_proto::ws::WsConfig::default()
        .with_ping_interval(None)
        .with_idle_timeout(Some(Duration::from_millis(300)));
    let config =
        ServerConfig::default().with_endpoint(ServerConfig::default().endpoint.with_ws(ws_config));
    let server = S::demo(config, None);
    let addr = server.addr();
    let outcome = client(move || {
        let mut ws = connect(addr);
        // Send nothing; the next read ends when the server drops the connection.
        match ws.read() {
            Ok(message) => format!("unexpected {message:?}"),
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                "still open after the read timeout".to_owned()
            }
            Err(_) => "dropped".to_owned(),
        }
    });
    assert_eq!(outcome, "dropped");
    server.shutdown();
}

/// An agent logic of the application's own: `double` sets `total` to twice its integer and
/// refuses negative ones (the whole command then has no effect).
struct Doubler;

impl AgentLogic for Doubler {
    fn on_command(
        &mut self,
        lane: &str,
        value: &Value,
        lanes: &mut AgentContext<'_>,
    ) -> Result<(), LaneError> {
        match (lane, value.as_i64()) {
            ("double", Some(n)) if n >= 0 => lanes.set_value("total", n.saturating_mul(2)),
            _ => Err(LaneError::Refused("not a non-negative integer")),
        }
    }
}

/// The agents of `/calc/:id`: only numeric ids exist; lanes `total` and `double`.
pub fn calc_agent(params: &Params) -> Option<Agent> {
    params.get("id")?.parse::<u32>().ok()?;
    Some(
        Agent::new(Doubler)
            .with_lane("total", ValueLane::int(0))
            .with_lane("double", CommandLane::new(ValueType::Int)),
    )
}

/// A node handler computing its lane: `square` is the square of the last integer commanded
/// to `input`.
#[derive(Default)]
struct Squares(i64);

impl NodeHandler for Squares {
    fn open(&mut self, _: &str, lane: &str) -> Result<LaneKind, LinkError> {
        match lane {
            "square" => Ok(LaneKind::Value),
            "input" => Ok(LaneKind::Command),
            _ => Err(LinkError::LaneNotFound),
        }
    }

    fn sync(&mut self, node: &str, lane: &str) -> Result<Vec<EventBody>, LinkError> {
        match self.open(node, lane)? {
            LaneKind::Value => Ok(EventBody::new(Value::Int(self.0.saturating_mul(self.0)))
                .into_iter()
                .collect()),
            _ => Ok(Vec::new()),
        }
    }

    fn command(
        &mut self,
        _: &str,
        lane: &str,
        body: Value,
        _: Instant,
    ) -> Result<Vec<LaneEvent>, CommandError> {
        let (Some(n), "input") = (body.as_i64(), lane) else {
            return Err(CommandError::LaneNotFound);
        };
        self.0 = n;
        let body =
            EventBody::new(Value::Int(n.saturating_mul(n))).map_err(CommandError::BadBody)?;
        Ok(vec![LaneEvent {
            lane: "square".into(),
            body,
        }])
    }
}

/// The handlers of `/squares/:id`.
pub fn squares_handler(_: &Params) -> Option<Box<dyn NodeHandler>> {
    Some(Box::new(Squares::default()))
}

pub fn routes_added_at_run_time_serve_agents_with_the_applications_logic<S: TestServer>() {
    let server = S::with_app_routes();
    let addr = server.addr();
    let frames = client(move || {
        let mut ws = connect(addr);
        send(&mut ws, r#"@link(node:"/calc/x",lane:total)"#);
        send(&mut ws, r#"@link(node:"/calc/1",lane:total)"#);
        let mut frames = texts(&mut ws, 2);
        send(&mut ws, r#"@command(node:"/calc/1",lane:double) -4"#);
        send(&mut ws, r#"@command(node:"/calc/1",lane:double) 21"#);
        frames.extend(texts(&mut ws, 1));
        frames
    });
    assert_eq!(
        frames,
        [
            r#"@unlinked(node:"/calc/x",lane:total)@nodeNotFound"#,
            r#"@linked(node:"/calc/1",lane:total)"#,
            r#"@event(node:"/calc/1",lane:total) 42"#,
        ]
    );
    server.shutdown();
}

pub fn a_node_handler_serves_a_computed_lane<S: TestServer>() {
    let server = S::with_app_routes();
    let addr = server.addr();
    let frames = client(move || {
        let mut ws = connect(addr);
        send(&mut ws, r#"@command(node:"/squares/1",lane:input) 3"#);
        send(&mut ws, r#"@sync(node:"/squares/1",lane:square)"#);
        send(&mut ws, r#"@link(node:"/squares/1",lane:cube)"#);
        let mut frames = texts(&mut ws, 4);
        send(&mut ws, r#"@command(node:"/squares/1",lane:input) 12"#);
        frames.extend(texts(&mut ws, 1));
        frames
    });
    assert_eq!(
        frames,
        [
            r#"@linked(node:"/squares/1",lane:square)"#,
            r#"@event(node:"/squares/1",lane:square) 9"#,
            r#"@synced(node:"/squares/1",lane:square)"#,
            r#"@unlinked(node:"/squares/1",lane:cube)@laneNotFound"#,
            r#"@event(node:"/squares/1",lane:square) 144"#,
        ]
    );
    server.shutdown();
}

/// Every scenario as a `#[test]` of the calling test file, run against `$server`.
#[macro_export]
macro_rules! server_scenarios {
    ($server:ty) => {
        $crate::server_scenarios!(@tests $server;
            sync_replays_value_then_synced_and_a_command_publishes_the_new_value,
            map_sync_replays_every_entry_and_commands_update_and_remove,
            a_change_reaches_every_connection_linked_to_the_lane_and_no_other,
            unknown_node_and_lane_are_refused_with_unlinked_and_the_connection_goes_on,
            unlink_is_answered_and_stops_the_events_of_that_link,
            clients_offering_warp0_or_no_subprotocol_are_both_accepted,
            a_bad_frame_is_tolerated_by_default_and_closes_with_1002_when_configured,
            auth_is_answered_by_the_authenticator,
            shutdown_closes_connections_with_going_away_and_stops_accepting,
            a_client_that_stops_reading_is_closed_as_overloaded_and_others_are_not,
            a_request_that_is_not_a_websocket_upgrade_gets_an_http_error,
            a_silent_client_is_dropped_after_the_idle_timeout,
            routes_added_at_run_time_serve_agents_with_the_applications_logic,
            a_node_handler_serves_a_computed_lane,
        );
    };
    (@tests $server:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                server_scenarios::$name::<$server>();
            }
        )*
    };
}
