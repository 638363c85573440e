//! The two ends of `ws_node.rs`: our WebSocket connection driven over a real `TcpStream`
//! ([`Ours`]), and the Node peer `conformance/js/ws-peer.mjs` with the events it reports
//! ([`Node`]). Every wait is bounded: socket reads time out after [`POLL`], and every awaited
//! event gives up after [`STEP`] with the state of both ends in the panic message.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitStatus;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant as StdInstant};

use conformance::peers::{JsPeer, PeerError, START_TIMEOUT};
use serde_json::Value as Json;
use warp_proto::ws::{
    apply_mask, decode_frame, decode_header, encode_frame, ClientHandshake, CloseReason, Instant,
    Opcode, Role, ServerHandshake, Status, WsConfig, WsConnection,
};

/// The Node script.
pub const SCRIPT: &str = "ws-peer.mjs";
/// How long any one awaited thing may take.
pub const STEP: Duration = Duration::from_secs(10);
/// The read timeout of our socket: the longest one pump waits for bytes.
pub const POLL: Duration = Duration::from_millis(10);
/// The nonce of our client's handshake key.
const NONCE: [u8; 16] = *b"ws-node interop!";
/// The seed of our client's masking keys.
const MASK_SEED: [u8; 16] = [
    0x5a, 0x17, 0xc3, 0x08, 0x91, 0x2e, 0x64, 0xbd, 3, 1, 4, 1, 5, 9, 2, 6,
];
/// Frames longer than this are recorded by the tap with an empty payload, and it stops there.
const TAP_MAX_PAYLOAD: u64 = 1 << 20;

/// Our connection, with growable storages.
pub type Conn = WsConnection<Vec<u8>, Vec<u8>>;

/// A complete message our connection handed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// One frame as it crossed the wire, read independently of our connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireFrame {
    /// The opcode.
    pub opcode: Opcode,
    /// The FIN bit.
    pub fin: bool,
    /// Whether the frame was masked.
    pub masked: bool,
    /// The unmasked payload.
    pub payload: Vec<u8>,
}

/// Splits a byte stream into frames with `decode_header` alone (no role or size rules), so the
/// frames a peer sent can be checked even when our connection refuses them: control frames
/// our connection answers silently (pongs), masking, fragmentation.
#[derive(Debug, Default)]
pub struct Tap {
    buf: Vec<u8>,
    /// The frames seen, in order.
    pub frames: Vec<WireFrame>,
    /// Why the tap stopped, if it did (a header `decode_header` refuses, a huge payload).
    pub stopped: Option<String>,
}

impl Tap {
    /// Takes in more bytes of the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.stopped.is_some() {
            return;
        }
        self.buf.extend_from_slice(bytes);
        loop {
            let (header, header_len) = match decode_header(&self.buf) {
                Err(e) => {
                    self.stopped = Some(format!("undecodable header: {e}"));
                    return;
                }
                Ok(Status::Partial { .. }) => return,
                Ok(Status::Complete(found)) => found,
            };
            let frame = |payload| WireFrame {
                opcode: header.opcode,
                fin: header.fin,
                masked: header.mask.is_some(),
                payload,
            };
            if header.payload_len > TAP_MAX_PAYLOAD {
                self.frames.push(frame(Vec::new()));
                self.stopped = Some(format!("a frame of {} bytes", header.payload_len));
                return;
            }
            let end = header_len + header.payload_len as usize;
            if self.buf.len() < end {
                return;
            }
            let mut payload = self.buf[header_len..end].to_vec();
            if let Some(mask) = header.mask {
                apply_mask(&mut payload, mask, 0);
            }
            self.frames.push(frame(payload));
            self.buf.drain(..end);
        }
    }

    /// The payloads of the frames seen with `opcode`, as text.
    pub fn payloads(&self, opcode: Opcode) -> Vec<String> {
        self.frames
            .iter()
            .filter(|f| f.opcode == opcode)
            .map(|f| String::from_utf8_lossy(&f.payload).into_owned())
            .collect()
    }
}

/// Reads a handshake head from `stream` until `parse` finds it complete; returns what `parse`
/// extracted and the bytes after the head (already WebSocket frames).
fn read_head<T>(
    stream: &mut TcpStream,
    mut parse: impl FnMut(&[u8]) -> Option<(T, usize)>,
) -> (T, Vec<u8>) {
    let deadline = StdInstant::now() + STEP;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((found, consumed)) = parse(&buf) {
            return (found, buf.split_off(consumed));
        }
        assert!(
            StdInstant::now() < deadline,
            "no complete handshake head within {STEP:?}; got {:?}",
            String::from_utf8_lossy(&buf)
        );
        match stream.read(&mut chunk) {
            Ok(0) => panic!(
                "connection closed during the handshake after {:?}",
                String::from_utf8_lossy(&buf)
            ),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if is_timeout(&e) => {}
            Err(e) => panic!("reading the handshake: {e}"),
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The close frame the peer sent, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerClose {
    /// Its code, if it had one.
    pub code: Option<u16>,
    /// Its reason.
    pub reason: String,
}

/// Our end: a `WsConnection` over a blocking `TcpStream` with a short read timeout.
pub struct Ours {
    stream: TcpStream,
    /// The connection.
    pub conn: Conn,
    epoch: StdInstant,
    /// Everything received, split into frames independently of `conn`.
    pub tap: Tap,
    /// Messages handed out and not yet taken by the test.
    pub received: VecDeque<Msg>,
    /// Every byte written to the socket.
    pub sent: Vec<u8>,
    /// How the connection ended, once `poll_closed` said so (then our write side is shut).
    pub closed: Option<CloseReason>,
    /// Whether the transport ended (end of stream or an error).
    pub eof: bool,
}

impl Ours {
    fn new(stream: TcpStream, conn: Conn, epoch: StdInstant) -> Self {
        stream
            .set_read_timeout(Some(POLL))
            .expect("setting a read timeout");
        let _ = stream.set_nodelay(true);
        Ours {
            stream,
            conn,
            epoch,
            tap: Tap::default(),
            received: VecDeque::new(),
            sent: Vec::new(),
            closed: None,
            eof: false,
        }
    }

    /// Connects to `addr`, offering `protocols`; returns our end and the protocol chosen.
    pub fn connect(
        addr: SocketAddr,
        protocols: &[&str],
        config: WsConfig,
    ) -> (Ours, Option<String>) {
        let mut stream = TcpStream::connect_timeout(&addr, STEP)
            .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
        stream
            .set_read_timeout(Some(POLL))
            .expect("setting a read timeout");
        let host = addr.to_string();
        let handshake = ClientHandshake::new(&host, "/ws", NONCE).with_protocols(protocols);
        let mut request = [0u8; 1024];
        let n = handshake
            .write_request(&mut request)
            .expect("writing our request");
        stream
            .write_all(&request[..n])
            .expect("sending our request");
        let (protocol, rest) = read_head(&mut stream, |buf| match handshake.parse_response(buf) {
            Ok(Status::Complete(r)) => Some((r.protocol.map(str::to_string), r.consumed)),
            Ok(Status::Partial { .. }) => None,
            Err(e) => panic!(
                "our client refused the answer of ws ({e}): {:?}",
                String::from_utf8_lossy(buf)
            ),
        });
        let epoch = StdInstant::now();
        let conn = Conn::client(Instant::ZERO, config, MASK_SEED, Vec::new(), Vec::new())
            .expect("creating our client connection");
        let mut ours = Ours::new(stream, conn, epoch);
        ours.feed(&rest);
        (ours, protocol)
    }

    /// Runs the server handshake on an accepted `stream`; returns our end, the protocol chosen
    /// and the request path.
    pub fn accept(mut stream: TcpStream, config: WsConfig) -> (Ours, Option<String>, String) {
        stream
            .set_read_timeout(Some(POLL))
            .expect("setting a read timeout");
        let handshake = ServerHandshake::new();
        let mut response = [0u8; 512];
        let ((protocol, path, len), rest) =
            read_head(&mut stream, |buf| match handshake.parse_request(buf) {
                Ok(Status::Complete(request)) => {
                    let len = request
                        .write_response(&mut response)
                        .expect("writing our answer");
                    let found = (
                        request.protocol.map(str::to_string),
                        request.path.to_string(),
                        len,
                    );
                    Some((found, request.consumed))
                }
                Ok(Status::Partial { .. }) => None,
                Err(e) => panic!(
                    "our server refused the request of ws ({e}): {:?}",
                    String::from_utf8_lossy(buf)
                ),
            });
        stream
            .write_all(&response[..len])
            .expect("sending our answer");
        let epoch = StdInstant::now();
        let conn = Conn::server(Instant::ZERO, config, Vec::new(), Vec::new())
            .expect("creating our server connection");
        let mut ours = Ours::new(stream, conn, epoch);
        ours.feed(&rest);
        (ours, protocol, path)
    }

    /// The connection's clock: milliseconds since the handshake.
    pub fn now(&self) -> Instant {
        Instant::from_millis(self.epoch.elapsed().as_millis() as u64)
    }

    /// Writes what the connection has queued.
    pub fn flush(&mut self) {
        let mut broken = false;
        while let Some(bytes) = self.conn.poll_transmit() {
            self.sent.extend_from_slice(bytes);
            if self.stream.write_all(bytes).is_err() {
                broken = true;
                break;
            }
        }
        if broken {
            // The peer is gone; what it missed cannot be delivered.
            self.eof = true;
            let now = self.now();
            self.conn.handle_transport_closed(now);
        }
        self.check_closed();
    }

    /// Writes `bytes` straight on the socket, around the connection (for frames it would never
    /// send). Call only between frames: after [`flush`](Self::flush).
    pub fn write_raw(&mut self, bytes: &[u8]) {
        assert!(
            self.conn.pending_transmit().is_empty(),
            "bytes still queued"
        );
        self.sent.extend_from_slice(bytes);
        self.stream.write_all(bytes).expect("writing raw bytes");
    }

    fn check_closed(&mut self) {
        if self.closed.is_none() {
            if let Some(reason) = self.conn.poll_closed() {
                self.closed = Some(reason);
                // Our part is done; read on until the peer closes too.
                let _ = self.stream.shutdown(Shutdown::Write);
            }
        }
    }

    /// Feeds received bytes to the connection (and the tap), taking out messages and writing
    /// replies as they come.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.tap.push(bytes);
        let mut pos = 0;
        let mut stalls = 0;
        while pos < bytes.len() {
            let n = self.conn.handle_input(self.now(), &bytes[pos..]);
            pos += n;
            self.take_messages();
            self.flush();
            stalls = if n == 0 { stalls + 1 } else { 0 };
            assert!(stalls < 3, "the connection stopped consuming input");
        }
        self.take_messages();
        self.flush();
    }

    fn take_messages(&mut self) {
        while let Some(message) = self.conn.poll_message() {
            let owned = match message {
                warp_proto::ws::Message::Text(text) => Msg::Text(text.to_string()),
                warp_proto::ws::Message::Binary(bytes) => Msg::Binary(bytes.to_vec()),
            };
            self.received.push_back(owned);
        }
    }

    /// One turn: writes what is queued, waits up to [`POLL`] for bytes and feeds them, runs
    /// due timers.
    pub fn pump(&mut self) {
        self.flush();
        if self.eof {
            return;
        }
        let mut buf = [0u8; 16 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => {
                self.eof = true;
                self.conn.handle_transport_closed(self.now());
            }
            Ok(n) => self.feed(&buf[..n]),
            Err(e) if is_timeout(&e) => {}
            Err(_) => {
                self.eof = true;
                self.conn.handle_transport_closed(self.now());
            }
        }
        let now = self.now();
        if self.conn.poll_timeout().is_some_and(|at| now >= at) {
            self.conn.handle_timeout(now);
        }
        self.flush();
    }

    /// The close frame the peer sent, if any.
    pub fn peer_close(&self) -> Option<PeerClose> {
        self.conn.peer_close().map(|c| PeerClose {
            code: c.code.map(|code| code.as_u16()),
            reason: c.reason.to_string(),
        })
    }

    /// Whether the connection ended and the peer closed the transport too.
    pub fn finished(&self) -> bool {
        self.closed.is_some() && self.eof
    }

    /// A summary for panic messages.
    pub fn describe(&self) -> String {
        format!(
            "ours: closed {:?}, eof {}, peer close {:?}, received {:?}, wire frames {:?}, tap \
             stopped {:?}",
            self.closed,
            self.eof,
            self.peer_close(),
            self.received,
            self.tap.frames,
            self.tap.stopped
        )
    }
}

/// The frames of the byte stream `bytes` as `receiver` decodes them (its masking rule checked),
/// with their payloads unmasked: for checking what our own end sent.
pub fn frames_of(bytes: &[u8], receiver: Role) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    let mut rest = bytes.to_vec();
    while !rest.is_empty() {
        let Status::Complete(frame) =
            decode_frame(&rest, receiver, u64::MAX).expect("our own frames decode")
        else {
            panic!("a partial frame at the end of what we sent");
        };
        let masked = frame.header.mask.is_some();
        let payload = frame.unmask_payload(&mut rest).to_vec();
        frames.push(WireFrame {
            opcode: frame.header.opcode,
            fin: frame.header.fin,
            masked,
            payload,
        });
        rest.drain(..frame.len());
    }
    frames
}

/// A text frame with an arbitrary payload (UTF-8 or not), masked with `mask` if given.
pub fn raw_text_frame(payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![0u8; payload.len() + 14];
    let n = encode_frame(&mut out, true, Opcode::Text, mask, payload).expect("encoding a frame");
    out.truncate(n);
    out
}

/// The Node peer and the events it reported.
pub struct Node {
    peer: JsPeer,
    /// Every event line, parsed, in order.
    pub events: Vec<Json>,
    /// Whether its stdout ended.
    pub ended: bool,
}

impl Node {
    /// Starts `ws-peer.mjs` with `args`.
    pub fn spawn(args: &[&str]) -> Node {
        let peer = JsPeer::spawn(SCRIPT, args).unwrap_or_else(|e| panic!("starting {SCRIPT}: {e}"));
        Node {
            peer,
            events: Vec::new(),
            ended: false,
        }
    }

    /// Starts `ws-peer.mjs server ARGS` and reads its address.
    pub fn server(args: &[&str]) -> (Node, SocketAddr) {
        let mut all = vec!["server"];
        all.extend_from_slice(args);
        let mut node = Node::spawn(&all);
        let addr = node
            .peer
            .process()
            .read_address(START_TIMEOUT)
            .unwrap_or_else(|e| panic!("{SCRIPT} server did not start: {e}"));
        (node, addr)
    }

    /// Reads one event line if one comes within `wait`.
    pub fn poll(&mut self, wait: Duration) {
        if self.ended {
            return;
        }
        match self.peer.process().next_line(wait) {
            Ok(Some(line)) => {
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("{SCRIPT} printed {line:?}: {e}"));
                self.events.push(event);
            }
            Ok(None) => self.ended = true,
            Err(PeerError::Timeout { .. }) => {}
            Err(e) => panic!("reading {SCRIPT}: {e}"),
        }
    }

    /// The events of kind `ev`.
    pub fn of(&self, ev: &str) -> Vec<&Json> {
        self.events.iter().filter(|e| e["ev"] == ev).collect()
    }

    /// The first event of kind `ev`; panics if there is none.
    pub fn one(&self, ev: &str) -> &Json {
        self.of(ev)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {ev:?} event among {:?}", self.events))
    }

    /// The texts of the message events.
    pub fn messages(&self) -> Vec<String> {
        self.of("message")
            .into_iter()
            .map(|e| e["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The `data` of the events of kind `ev` (pings, pongs).
    pub fn data_of(&self, ev: &str) -> Vec<String> {
        self.of(ev)
            .into_iter()
            .map(|e| e["data"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The close event's code and reason; panics if there is none.
    pub fn close(&self) -> (u64, String) {
        let close = self.one("close");
        (
            close["code"].as_u64().unwrap_or_default(),
            close["reason"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// The `code` of the error events (ws's error codes, e.g. `WS_ERR_INVALID_UTF8`).
    pub fn error_codes(&self) -> Vec<String> {
        self.of("error")
            .into_iter()
            .map(|e| e["code"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Reads the rest of its output and waits for it to exit, within [`STEP`].
    pub fn finish(&mut self) -> ExitStatus {
        let deadline = StdInstant::now() + STEP;
        while !self.ended {
            assert!(
                StdInstant::now() < deadline,
                "{SCRIPT} did not finish: {:?}\nstderr: {}",
                self.events,
                self.peer.process().stderr_text()
            );
            self.poll(POLL);
        }
        let left = deadline.saturating_duration_since(StdInstant::now());
        match self.peer.process().wait_timeout(left) {
            Ok(Some(status)) => status,
            Ok(None) => panic!("{SCRIPT} did not exit"),
            Err(e) => panic!("waiting for {SCRIPT}: {e}"),
        }
    }

    /// Its stderr so far.
    pub fn stderr(&mut self) -> String {
        self.peer.process().stderr_text()
    }
}

/// Both ends of one connection.
pub struct Session {
    /// Our end.
    pub ours: Ours,
    /// The Node end.
    pub node: Node,
}

impl Session {
    /// Pumps both ends until `done` holds, at most [`STEP`]; panics with both ends' state
    /// otherwise.
    pub fn until(&mut self, what: &str, done: impl Fn(&Ours, &Node) -> bool) {
        let deadline = StdInstant::now() + STEP;
        loop {
            if done(&self.ours, &self.node) {
                return;
            }
            if StdInstant::now() >= deadline {
                let stderr = self.node.stderr();
                panic!(
                    "timed out waiting for {what}\n{}\nnode events: {:?}\nnode stderr: {stderr}",
                    self.ours.describe(),
                    self.node.events
                );
            }
            if self.ours.eof {
                self.node.poll(POLL);
            } else {
                self.ours.pump();
                self.node.poll(Duration::ZERO);
            }
        }
    }

    /// Pumps until our next message arrives and returns it.
    pub fn next_message(&mut self, what: &str) -> Msg {
        self.until(what, |ours, _| !ours.received.is_empty());
        self.ours.received.pop_front().expect("a message")
    }

    /// Pumps until our end has closed, the transport has ended and Node reported its close.
    pub fn until_closed(&mut self) {
        self.until("both ends to close", |ours, node| {
            ours.finished() && !node.of("close").is_empty()
        });
    }
}

/// Accepts one connection on `listener` within [`START_TIMEOUT`] (the accept runs on a thread,
/// so the wait can be bounded).
pub fn accept_one(listener: TcpListener, node: &mut Node) -> TcpStream {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(listener.accept());
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok((stream, _))) => stream,
        Ok(Err(e)) => panic!("accepting: {e}"),
        Err(_) => {
            let stderr = node.stderr();
            panic!(
                "the Node client did not connect: {:?}\nstderr: {stderr}",
                node.events
            )
        }
    }
}
