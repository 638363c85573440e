//! Helpers shared by the `endpoint_*` tests: the demo agents as a server application, a client
//! application that logs what it hears, the drain and feed loops a driver runs, and a client /
//! server pair wired in memory on a virtual clock (no sleeps).
#![allow(dead_code)]

use std::collections::BTreeMap;

use warp_proto::connection::{
    Accepted, CallError, ClientEvent as LinkEvent, LinkId, Rejection, ServerConnection,
    ServerRequest, Storage as ConnStorage, Transmit,
};
use warp_proto::endpoint::{
    ClientEndpoint, ClientEvent, CloseReason, Connect, EndpointConfig, InputError, ServerEndpoint,
    ServerEvent,
};
use warp_proto::envelope::Body;
use warp_proto::recon::Value;
use warp_proto::ws::{decode_frame, Instant, Message, Opcode, Role, Storage as Buffer};
use warp_proto::{Input, Output};

pub const T0: Instant = Instant::from_millis(0);

pub fn ms(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

// ---------------------------------------------------------------------------------------------
// The server application: the demo agents of the recorded traces.

/// The agents: nodes `/unit/:id`; lanes `info` (value lane of text), `count` (value lane of
/// integer), `history` (map lane integer → integer); command lanes `set_info`, `add`, `remove`.
/// Unknown node → `nodeNotFound`, unknown lane → `laneNotFound`. `auth` is accepted when its
/// body is `"ok"`.
#[derive(Default)]
pub struct Agents {
    units: BTreeMap<String, Unit>,
}

#[derive(Default)]
struct Unit {
    info: String,
    count: i64,
    history: BTreeMap<i64, i64>,
}

const LANES: [&str; 6] = ["info", "count", "history", "set_info", "add", "remove"];

fn is_unit(node: &str) -> bool {
    node.strip_prefix("/unit/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

fn text_body(s: &str) -> String {
    Value::Text(s.to_owned()).to_recon_string().unwrap()
}

/// The calls the agents make: on the endpoint or on the bare connection machine.
pub trait ServerCalls {
    fn accept(&mut self, link: LinkId) -> Result<Accepted, CallError>;
    fn reject(&mut self, link: LinkId, why: Rejection) -> Result<(), CallError>;
    fn sync_event(&mut self, link: LinkId, body: Body<'_>) -> Result<(), CallError>;
    fn synced(&mut self, link: LinkId) -> Result<(), CallError>;
    fn publish(&mut self, node: &str, lane: &str, body: Body<'_>) -> Result<usize, CallError>;
    fn authenticate(&mut self, ok: bool) -> Result<(), CallError>;
    fn uri(&self, link: LinkId) -> Option<(String, String)>;
}

impl<R: Buffer, T: Buffer, S: ConnStorage> ServerCalls for ServerEndpoint<R, T, S> {
    fn accept(&mut self, link: LinkId) -> Result<Accepted, CallError> {
        ServerEndpoint::accept(self, link)
    }
    fn reject(&mut self, link: LinkId, why: Rejection) -> Result<(), CallError> {
        ServerEndpoint::reject(self, link, why)
    }
    fn sync_event(&mut self, link: LinkId, body: Body<'_>) -> Result<(), CallError> {
        ServerEndpoint::sync_event(self, link, body)
    }
    fn synced(&mut self, link: LinkId) -> Result<(), CallError> {
        ServerEndpoint::synced(self, link)
    }
    fn publish(&mut self, node: &str, lane: &str, body: Body<'_>) -> Result<usize, CallError> {
        ServerEndpoint::publish(self, node, lane, body)
    }
    fn authenticate(&mut self, ok: bool) -> Result<(), CallError> {
        ServerEndpoint::authenticate(self, ok)
    }
    fn uri(&self, link: LinkId) -> Option<(String, String)> {
        self.link_uri(link)
            .map(|(n, l)| (n.to_owned(), l.to_owned()))
    }
}

impl<S: ConnStorage> ServerCalls for ServerConnection<S> {
    fn accept(&mut self, link: LinkId) -> Result<Accepted, CallError> {
        ServerConnection::accept(self, link)
    }
    fn reject(&mut self, link: LinkId, why: Rejection) -> Result<(), CallError> {
        ServerConnection::reject(self, link, why)
    }
    fn sync_event(&mut self, link: LinkId, body: Body<'_>) -> Result<(), CallError> {
        ServerConnection::sync_event(self, link, body)
    }
    fn synced(&mut self, link: LinkId) -> Result<(), CallError> {
        ServerConnection::synced(self, link)
    }
    fn publish(&mut self, node: &str, lane: &str, body: Body<'_>) -> Result<usize, CallError> {
        ServerConnection::publish(self, node, lane, body)
    }
    fn authenticate(&mut self, ok: bool) -> Result<(), CallError> {
        ServerConnection::authenticate(self, ok)
    }
    fn uri(&self, link: LinkId) -> Option<(String, String)> {
        Some((
            self.link_node(link)?.to_owned(),
            self.link_lane(link)?.to_owned(),
        ))
    }
}

impl Agents {
    fn unit(&mut self, node: &str) -> &mut Unit {
        self.units.entry(node.to_owned()).or_default()
    }

    fn state(&mut self, node: &str, lane: &str) -> Vec<String> {
        let unit = self.unit(node);
        match lane {
            "info" => vec![text_body(&unit.info)],
            "count" => vec![unit.count.to_string()],
            "history" => unit
                .history
                .iter()
                .map(|(k, v)| format!("@update(key:{k}) {v}"))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn send_state(&mut self, server: &mut dyn ServerCalls, link: LinkId) {
        let (node, lane) = server.uri(link).expect("link");
        for body in self.state(&node, &lane) {
            server.sync_event(link, Body::from_raw(&body)).unwrap();
        }
        server.synced(link).unwrap();
    }

    /// Answers one request; returns a line for the log.
    pub fn serve(&mut self, server: &mut dyn ServerCalls, request: Owned) -> String {
        match request {
            Owned::Link {
                link,
                node,
                lane,
                sync,
            } => {
                let word = if sync { "sync" } else { "link" };
                if !is_unit(&node) {
                    server.reject(link, Rejection::NodeNotFound).unwrap();
                    format!("{word} {node} {lane}: node not found")
                } else if !LANES.contains(&lane.as_str()) {
                    server.reject(link, Rejection::LaneNotFound).unwrap();
                    format!("{word} {node} {lane}: lane not found")
                } else {
                    if server.accept(link).unwrap() == Accepted::Syncing {
                        self.send_state(server, link);
                    }
                    format!("{word} {node} {lane}")
                }
            }
            Owned::Sync { link } => {
                self.send_state(server, link);
                "sync again".into()
            }
            Owned::Command { node, lane, body } => {
                let line = format!("command {node} {lane} {body}");
                if !is_unit(&node) {
                    return line;
                }
                let value = Body::from_raw(&body).to_value().unwrap_or(Value::Absent);
                let unit = self.unit(&node);
                let mut events: Vec<(&str, String)> = Vec::new();
                match (lane.as_str(), value) {
                    ("set_info", Value::Text(s)) => {
                        events.push(("info", text_body(&s)));
                        unit.info = s;
                    }
                    ("add", Value::Int(n)) => {
                        unit.count += n;
                        unit.history.insert(unit.count, n);
                        events.push(("count", unit.count.to_string()));
                        events.push(("history", format!("@update(key:{}) {n}", unit.count)));
                    }
                    ("remove", Value::Int(k)) if unit.history.remove(&k).is_some() => {
                        events.push(("history", format!("@remove(key:{k})")));
                    }
                    _ => {}
                }
                for (lane, body) in events {
                    server.publish(&node, lane, Body::from_raw(&body)).unwrap();
                }
                line
            }
            Owned::Auth { body } => {
                server
                    .authenticate(body == "\"ok\"" || body == "@ok")
                    .unwrap();
                format!("auth {body}")
            }
            Owned::Other(line) => line,
        }
    }
}

/// A server request with its borrowed parts copied, so the agents can answer it.
#[derive(Clone, Debug, PartialEq)]
pub enum Owned {
    Link {
        link: LinkId,
        node: String,
        lane: String,
        sync: bool,
    },
    Sync {
        link: LinkId,
    },
    Command {
        node: String,
        lane: String,
        body: String,
    },
    Auth {
        body: String,
    },
    /// Needs no answer; the log line.
    Other(String),
}

impl From<ServerRequest<'_>> for Owned {
    fn from(r: ServerRequest<'_>) -> Self {
        match r {
            ServerRequest::Link {
                link,
                node,
                lane,
                sync,
                ..
            } => Owned::Link {
                link,
                node: node.to_string(),
                lane: lane.to_string(),
                sync,
            },
            ServerRequest::Sync { link } => Owned::Sync { link },
            ServerRequest::Command { node, lane, body } => Owned::Command {
                node: node.to_string(),
                lane: lane.to_string(),
                body: body.raw().to_owned(),
            },
            ServerRequest::Auth { body } => Owned::Auth {
                body: body.raw().to_owned(),
            },
            ServerRequest::Unlink { .. } => Owned::Other("unlink".into()),
            ServerRequest::Deauth => Owned::Other("deauth".into()),
            ServerRequest::Refused { node, lane, reason } => {
                Owned::Other(format!("refused {node} {lane} {reason:?}"))
            }
            other => Owned::Other(format!("{other:?}")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One side of a connection, as a driver sees it.

/// What one `poll_output` gave, owned (events were handled and logged by the side).
#[derive(Clone, Debug, PartialEq)]
pub enum Polled {
    Transmit(Vec<u8>),
    Message(String),
    Event,
    Timeout(Option<Instant>),
    Closed(CloseReason),
}

pub trait Side {
    fn input(&mut self, input: Input<'_>) -> Result<usize, InputError>;
    /// One `poll_output`; events are answered (server) and logged.
    fn poll(&mut self) -> Polled;
    fn log(&mut self) -> &mut Vec<String>;
}

pub struct ServerSide<R, T, S: ConnStorage = warp_proto::connection::DefaultStorage> {
    pub ep: ServerEndpoint<R, T, S>,
    pub agents: Agents,
    pub log: Vec<String>,
}

impl<R: Buffer, T: Buffer, S: ConnStorage> ServerSide<R, T, S> {
    pub fn new(ep: ServerEndpoint<R, T, S>) -> Self {
        ServerSide {
            ep,
            agents: Agents::default(),
            log: Vec::new(),
        }
    }
}

impl<R: Buffer, T: Buffer, S: ConnStorage> Side for ServerSide<R, T, S> {
    fn input(&mut self, input: Input<'_>) -> Result<usize, InputError> {
        self.ep.handle_input(input)
    }

    fn poll(&mut self) -> Polled {
        let request = match self.ep.poll_output() {
            Output::Transmit(b) => return Polled::Transmit(b.to_vec()),
            Output::Message(m) => return Polled::Message(m.to_owned()),
            Output::Timeout(t) => return Polled::Timeout(t),
            Output::Closed(r) => return Polled::Closed(r),
            Output::Event(ServerEvent::Connected { path, protocol }) => {
                Owned::Other(format!("connected {path} {protocol:?}"))
            }
            Output::Event(ServerEvent::Received(r)) => Owned::from(r),
            Output::Event(ServerEvent::ProtocolError(e)) => Owned::Other(format!(
                "protocol error {:?} (bad frame {}, close {:?})",
                e.kind, e.count, e.close
            )),
            Output::Event(other) => Owned::Other(format!("{other:?}")),
        };
        let line = self.agents.serve(&mut self.ep, request);
        self.log.push(line);
        Polled::Event
    }

    fn log(&mut self) -> &mut Vec<String> {
        &mut self.log
    }
}

pub struct ClientSide<R, T, S: ConnStorage = warp_proto::connection::DefaultStorage> {
    pub ep: ClientEndpoint<R, T, S>,
    pub log: Vec<String>,
}

impl<R: Buffer, T: Buffer, S: ConnStorage> ClientSide<R, T, S> {
    pub fn new(ep: ClientEndpoint<R, T, S>) -> Self {
        ClientSide {
            ep,
            log: Vec::new(),
        }
    }
}

fn handles(h: warp_proto::endpoint::Handles<'_>) -> Vec<u32> {
    h.map(|h| h.index()).collect()
}

impl<R: Buffer, T: Buffer, S: ConnStorage> Side for ClientSide<R, T, S> {
    fn input(&mut self, input: Input<'_>) -> Result<usize, InputError> {
        self.ep.handle_input(input)
    }

    fn poll(&mut self) -> Polled {
        let line = match self.ep.poll_output() {
            Output::Transmit(b) => return Polled::Transmit(b.to_vec()),
            Output::Message(m) => return Polled::Message(m.to_owned()),
            Output::Timeout(t) => return Polled::Timeout(t),
            Output::Closed(r) => return Polled::Closed(r),
            Output::Event(e) => match e {
                ClientEvent::Connected { protocol } => format!("connected {protocol:?}"),
                ClientEvent::Linked { handles: h, .. } => format!("linked {:?}", handles(h)),
                ClientEvent::Event {
                    handles: h, body, ..
                } => format!("event {} {:?}", body.raw(), handles(h)),
                ClientEvent::Synced { handles: h, .. } => format!("synced {:?}", handles(h)),
                ClientEvent::Unlinked {
                    handles: h,
                    node,
                    lane,
                    reason,
                    ..
                } => format!("unlinked {node} {lane} {reason:?} {:?}", handles(h)),
                ClientEvent::Authed { body } => format!("authed {}", body.raw()),
                ClientEvent::Deauthed { body } => format!("deauthed {}", body.raw()),
                ClientEvent::ProtocolError(e) => format!(
                    "protocol error {:?} (bad frame {}, close {:?})",
                    e.kind, e.count, e.close
                ),
                other => format!("{other:?}"),
            },
        };
        self.log.push(line);
        Polled::Event
    }

    fn log(&mut self) -> &mut Vec<String> {
        &mut self.log
    }
}

/// A link event of the bare client machine, as a log line (for differential tests).
pub fn link_event_line(e: &LinkEvent<'_>) -> String {
    format!("{e:?}")
}

// ---------------------------------------------------------------------------------------------
// The driver loops.

/// What draining gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drained {
    pub bytes: Vec<u8>,
    pub messages: Vec<String>,
    pub deadline: Option<Instant>,
    pub closed: Option<CloseReason>,
}

/// Drains `poll_output` until `Timeout` (a deadline already come is handled at once) or
/// `Closed`. Panics if it does not end.
pub fn drain<E: Side + ?Sized>(side: &mut E, now: Instant, out: &mut Drained) {
    for _ in 0..1_000_000 {
        match side.poll() {
            Polled::Transmit(b) => {
                assert!(!b.is_empty(), "empty transmit");
                out.bytes.extend_from_slice(&b);
            }
            Polled::Message(m) => out.messages.push(m),
            Polled::Event => {}
            Polled::Timeout(Some(t)) if t <= now => {
                side.input(Input::Timeout(now)).unwrap();
            }
            Polled::Timeout(t) => {
                out.deadline = t;
                return;
            }
            Polled::Closed(r) => {
                out.closed = Some(r);
                out.deadline = None;
                return;
            }
        }
    }
    panic!("poll_output does not end");
}

/// Feeds `bytes` as a driver does: hand in, drain, hand in the rest. Stops at the end.
pub fn feed<E: Side + ?Sized>(side: &mut E, now: Instant, bytes: &[u8], out: &mut Drained) {
    drain(side, now, out);
    let mut fed = 0;
    let mut stuck = 0;
    while fed < bytes.len() && out.closed.is_none() {
        let n = side
            .input(Input::Receive(now, &bytes[fed..]))
            .expect("input after draining");
        fed += n;
        stuck = if n == 0 { stuck + 1 } else { 0 };
        assert!(stuck < 3, "input not consumed after draining");
        drain(side, now, out);
    }
}

/// Hands in one whole message (message mode), then drains.
pub fn feed_message<E: Side + ?Sized>(side: &mut E, now: Instant, text: &str, out: &mut Drained) {
    drain(side, now, out);
    if out.closed.is_some() {
        return;
    }
    let n = side
        .input(Input::Message(now, Message::Text(text)))
        .expect("message after draining");
    assert_eq!(n, text.len());
    drain(side, now, out);
}

// ---------------------------------------------------------------------------------------------
// A pair wired back to back.

/// One direction of the in-memory transport.
#[derive(Default)]
pub struct Wire {
    pub bytes: Vec<u8>,
    pub messages: Vec<String>,
    /// Everything that went through, for inspection.
    pub log: Vec<u8>,
    /// Drop what is sent (a dead peer).
    pub blackhole: bool,
}

pub struct Pair<C: Side, S: Side> {
    pub client: C,
    pub server: S,
    pub now: Instant,
    /// Bytes are delivered in chunks of this size.
    pub chunk: usize,
    pub c2s: Wire,
    pub s2c: Wire,
    pub client_end: Option<CloseReason>,
    pub server_end: Option<CloseReason>,
    client_deadline: Option<Instant>,
    server_deadline: Option<Instant>,
    client_told: bool,
    server_told: bool,
}

pub type VecServer = ServerSide<Vec<u8>, Vec<u8>>;
pub type VecClient = ClientSide<Vec<u8>, Vec<u8>>;

pub fn server(config: EndpointConfig) -> VecServer {
    ServerSide::new(ServerEndpoint::new(T0, config).unwrap())
}

pub fn client(config: EndpointConfig) -> VecClient {
    let connect = Connect::new("localhost:9001", "/", [7; 16], [3; 16]);
    ClientSide::new(ClientEndpoint::new(T0, config, connect).unwrap())
}

pub fn pair(
    client_config: EndpointConfig,
    server_config: EndpointConfig,
) -> Pair<VecClient, VecServer> {
    Pair::new(client(client_config), server(server_config))
}

/// Delivers what `wire` holds to `side` (unless it ended), collecting its output into `back`.
fn deliver<E: Side>(
    side: &mut E,
    now: Instant,
    chunk: usize,
    wire: &mut Wire,
    back: &mut Wire,
    end: &mut Option<CloseReason>,
    deadline: &mut Option<Instant>,
) -> bool {
    let bytes = std::mem::take(&mut wire.bytes);
    let messages = std::mem::take(&mut wire.messages);
    if end.is_some() {
        return false;
    }
    let mut out = Drained::default();
    let progress = !bytes.is_empty() || !messages.is_empty();
    for piece in bytes.chunks(chunk.max(1)) {
        feed(side, now, piece, &mut out);
    }
    for m in &messages {
        feed_message(side, now, m, &mut out);
    }
    drain(side, now, &mut out);
    if !back.blackhole {
        back.log.extend_from_slice(&out.bytes);
        back.bytes.extend_from_slice(&out.bytes);
        back.messages.extend(out.messages.iter().cloned());
    }
    *deadline = out.deadline;
    let sent = !out.bytes.is_empty() || !out.messages.is_empty();
    if out.closed.is_some() {
        *end = out.closed;
    }
    progress || sent
}

impl<C: Side, S: Side> Pair<C, S> {
    pub fn new(client: C, server: S) -> Self {
        Pair {
            client,
            server,
            now: T0,
            chunk: usize::MAX,
            c2s: Wire::default(),
            s2c: Wire::default(),
            client_end: None,
            server_end: None,
            client_deadline: None,
            server_deadline: None,
            client_told: false,
            server_told: false,
        }
    }

    /// Runs until nothing moves (no bytes in flight, both drained). Panics on a livelock.
    pub fn run(&mut self) {
        for _ in 0..10_000 {
            let mut progress = deliver(
                &mut self.client,
                self.now,
                self.chunk,
                &mut self.s2c,
                &mut self.c2s,
                &mut self.client_end,
                &mut self.client_deadline,
            );
            progress |= deliver(
                &mut self.server,
                self.now,
                self.chunk,
                &mut self.c2s,
                &mut self.s2c,
                &mut self.server_end,
                &mut self.server_deadline,
            );
            // A side that ended closes its transport: the peer sees the end of stream after
            // the bytes in flight.
            if self.server_end.is_some()
                && self.s2c.bytes.is_empty()
                && self.s2c.messages.is_empty()
                && !self.client_told
            {
                self.client_told = true;
                if self.client_end.is_none() {
                    let _ = self.client.input(Input::TransportClosed(self.now));
                    progress = true;
                }
            }
            if self.client_end.is_some()
                && self.c2s.bytes.is_empty()
                && self.c2s.messages.is_empty()
                && !self.server_told
            {
                self.server_told = true;
                if self.server_end.is_none() {
                    let _ = self.server.input(Input::TransportClosed(self.now));
                    progress = true;
                }
            }
            if !progress {
                return;
            }
        }
        panic!("the pair does not settle");
    }

    /// The earliest deadline of the two sides.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.client_deadline, self.server_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves the clock to `t`, firing every deadline on the way, and runs.
    pub fn advance_to(&mut self, t: Instant) {
        self.run();
        for _ in 0..100_000 {
            match self.next_deadline() {
                Some(d) if d <= t => {
                    self.now = self.now.max(d);
                    self.fire();
                    self.run();
                }
                _ => {
                    self.now = t;
                    return;
                }
            }
        }
        panic!("deadlines do not advance");
    }

    fn fire(&mut self) {
        if self.client_end.is_none() && self.client_deadline.is_some_and(|d| d <= self.now) {
            self.client.input(Input::Timeout(self.now)).unwrap();
        }
        if self.server_end.is_none() && self.server_deadline.is_some_and(|d| d <= self.now) {
            self.server.input(Input::Timeout(self.now)).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the wire.

/// The frames in `bytes` sent by `from` (masked when from a client): (opcode, payload).
pub fn frames(bytes: &[u8], from: Role) -> Vec<(Opcode, Vec<u8>)> {
    let receiver = match from {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    };
    let mut out = Vec::new();
    let mut rest = bytes.to_vec();
    while !rest.is_empty() {
        let frame = decode_frame(&rest, receiver, u64::MAX)
            .expect("valid frame")
            .complete()
            .expect("complete frame");
        let len = frame.len();
        let payload = frame.unmask_payload(&mut rest).to_vec();
        out.push((frame.header.opcode, payload));
        rest.drain(..len);
    }
    out
}

/// The code of the close frame among `frames`, if any.
pub fn close_code(frames: &[(Opcode, Vec<u8>)]) -> Option<u16> {
    frames
        .iter()
        .find(|(op, _)| *op == Opcode::Close)
        .map(|(_, p)| u16::from_be_bytes([p[0], p[1]]))
}

/// The text frames among `frames`.
pub fn texts(frames: &[(Opcode, Vec<u8>)]) -> Vec<String> {
    frames
        .iter()
        .filter(|(op, _)| *op == Opcode::Text)
        .map(|(_, p)| String::from_utf8(p.clone()).unwrap())
        .collect()
}

/// Drains a bare server machine (differential tests).
pub fn drain_machine<S: ConnStorage>(server: &mut ServerConnection<S>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(t) = server.poll_transmit() {
        out.push(match t {
            Transmit::Frame(s) => s.to_owned(),
            Transmit::Close(c) => format!("close {}", c.code()),
        });
    }
    out
}
