//! Faults over real sockets (issue 7), shared by the drivers' tests
//! (`warp-tokio/tests/faults.rs`, `warp-smol/tests/faults.rs`): peers vanishing or stalling
//! mid-handshake and mid-frame, half-open peers under the ping and idle timers, the memory a
//! slow consumer costs, a server restart under a client sending commands, every malformed
//! input class of PROFILE.md with its documented reaction, and a flood of malformed frames
//! beside a healthy connection.
//!
//! Each driver implements [`FaultServer`] (start the demo server, read its state, run its own
//! client, shut down; all blocking). The peers are raw TCP sockets speaking WebSocket by hand
//! ([`Raw`]), so that they can send what no WebSocket library sends (half frames, unmasked
//! frames, invalid UTF-8). Every wait is bounded: sockets have a read timeout, and
//! [`wait_until`] polls a condition until a deadline.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use warp_proto::app::session::server::ServerConfig;
use warp_proto::connection::Config as WarpConfig;
use warp_proto::ws::{encode_frame, Opcode, WsConfig};

/// The longest any single read waits.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a whole scenario's client part, or a [`wait_until`], may take.
pub const TEST_LIMIT: Duration = Duration::from_secs(30);

/// A running demo server of one driver, driven from blocking test code.
pub trait FaultServer: Sized {
    /// The demo server with `config` bound to `addr` (port 0: a free loopback port).
    fn start(addr: SocketAddr, config: ServerConfig) -> Self;
    /// Where it listens.
    fn addr(&self) -> SocketAddr;
    /// How many connections the server serves (accepted and not yet released).
    fn connections(&self) -> usize;
    /// Sets the `info` lane of `node` through the handle; returns to how many connections.
    fn set_info(&self, node: &str, text: &str) -> usize;
    /// The value of the `count` lane of `node` (`None` when the agent never ran).
    fn count(&self, node: &str) -> Option<i64>;
    /// Shuts the server down and waits (bounded) for it to stop.
    fn shutdown(&self);
    /// Runs the driver's own client on a new thread: connected to `addr` with quick
    /// reconnection and a command buffer of `buffer` commands, `senders` concurrent loops each
    /// send `@command(node:NODE,lane:add)1` and wait for its outcome, counting it in `tally`,
    /// until `tally.stop`; then the client closes and the thread ends.
    fn command_senders(
        addr: SocketAddr,
        node: &'static str,
        senders: usize,
        buffer: usize,
        tally: Arc<Tally>,
    ) -> thread::JoinHandle<()>;
}

/// What the command senders of [`FaultServer::command_senders`] counted.
#[derive(Debug, Default)]
pub struct Tally {
    /// Commands the client reported sent (`Ok`).
    pub ok: AtomicUsize,
    /// Commands the client reported failed (buffer full, connection lost, ...).
    pub failed: AtomicUsize,
    /// Set to stop the senders.
    pub stop: AtomicBool,
}

impl Tally {
    /// Counts one outcome.
    pub fn record<E>(&self, outcome: &Result<(), E>) {
        match outcome {
            Ok(()) => self.ok.fetch_add(1, Ordering::SeqCst),
            Err(_) => self.failed.fetch_add(1, Ordering::SeqCst),
        };
    }

    /// Whether the senders are to stop.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn ok(&self) -> usize {
        self.ok.load(Ordering::SeqCst)
    }

    fn failed(&self) -> usize {
        self.failed.load(Ordering::SeqCst)
    }
}

/// A free loopback port.
pub fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Polls `condition` every few milliseconds until it holds (`true`) or `limit` passed
/// (`false`). For states with no event to wait on (a connection count).
pub fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Waits (bounded) until the server serves exactly `n` connections.
fn expect_connections<S: FaultServer>(server: &S, n: usize, why: &str) {
    let ok = wait_until(TEST_LIMIT, || server.connections() == n);
    assert!(
        ok,
        "{why}: expected {n} connections, the server still has {}",
        server.connections()
    );
}

/// Runs the blocking client part `f` on a thread, within [`TEST_LIMIT`].
pub fn client<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(TEST_LIMIT)
        .expect("the client part ended in time (and did not panic)")
}

/// The server's resident memory now (VmRSS of this process, in bytes; the server runs in it).
fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .expect("a VmRSS line");
    kib * 1024
}

/// A WebSocket upgrade request offering `warp0`.
fn upgrade_request(addr: SocketAddr) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: warp0\r\n\r\n"
    )
}

/// One frame as read from the server.
#[derive(Debug)]
pub struct Frame {
    /// The opcode's 4 bits.
    pub opcode: u8,
    /// The (unmasked) payload.
    pub payload: Vec<u8>,
}

const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;

/// A WebSocket client written by hand over a blocking TCP socket, able to send anything.
pub struct Raw {
    stream: TcpStream,
}

impl Raw {
    /// A TCP connection (no handshake yet) with the read timeout.
    pub fn tcp(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("read timeout");
        stream.set_nodelay(true).expect("nodelay");
        Raw { stream }
    }

    /// A connection whose WebSocket handshake (offering `warp0`) succeeded.
    pub fn connect(addr: SocketAddr) -> Raw {
        let mut raw = Raw::tcp(addr);
        raw.write(upgrade_request(addr).as_bytes());
        let head = raw.read_head().expect("the handshake answer");
        assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
        raw
    }

    /// Writes raw bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Writes raw bytes; `false` when the socket is gone.
    pub fn try_write(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Reads an HTTP head (to the empty line).
    fn read_head(&mut self) -> io::Result<String> {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            self.stream.read_exact(&mut byte)?;
            head.push(byte[0]);
            if head.len() > 16 * 1024 {
                return Err(io::Error::other("HTTP head too long"));
            }
        }
        Ok(String::from_utf8_lossy(&head).into_owned())
    }

    /// Writes one frame; a client masks its frames, `masked: false` breaks that rule.
    pub fn frame(&mut self, opcode: Opcode, payload: &[u8], masked: bool) {
        self.write(&encoded(opcode, payload, masked));
    }

    /// Writes one masked text frame.
    pub fn text(&mut self, text: &str) {
        self.frame(Opcode::Text, text.as_bytes(), true);
    }

    /// Reads one frame; `Ok(None)` at the end of the stream (or a reset).
    pub fn read_frame(&mut self) -> io::Result<Option<Frame>> {
        let mut head = [0u8; 2];
        match self.stream.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if ended(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = match head[1] & 0x7F {
            126 => {
                let mut ext = [0u8; 2];
                self.stream.read_exact(&mut ext)?;
                u64::from(u16::from_be_bytes(ext))
            }
            127 => {
                let mut ext = [0u8; 8];
                self.stream.read_exact(&mut ext)?;
                u64::from_be_bytes(ext)
            }
            n => u64::from(n),
        };
        let mask = if head[1] & 0x80 != 0 {
            let mut key = [0u8; 4];
            self.stream.read_exact(&mut key)?;
            Some(key)
        } else {
            None
        };
        let len = usize::try_from(len).map_err(io::Error::other)?;
        let mut payload = vec![0u8; len];
        self.stream.read_exact(&mut payload)?;
        if let Some(key) = mask {
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= key[i % 4];
            }
        }
        Ok(Some(Frame {
            opcode: head[0] & 0x0F,
            payload,
        }))
    }

    /// The next text frame, skipping pings; panics on anything else.
    pub fn next_text(&mut self) -> String {
        loop {
            match self.read_frame() {
                Ok(Some(Frame {
                    opcode: TEXT,
                    payload,
                })) => return String::from_utf8(payload).expect("UTF-8 text"),
                Ok(Some(Frame { opcode: PING, .. })) => {}
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Reads to the server's close frame, skipping everything else, and answers it; returns
    /// its code, `None` when the stream ended without one. Also returns how many text frames
    /// were skipped.
    pub fn close_code(&mut self) -> (Option<u16>, usize) {
        let mut texts = 0usize;
        loop {
            match self.read_frame() {
                Ok(Some(Frame {
                    opcode: CLOSE,
                    payload,
                })) => {
                    let code = payload
                        .get(..2)
                        .map(|code| u16::from_be_bytes([code[0], code[1]]));
                    let _ = self.try_write(&encoded(Opcode::Close, &payload, true));
                    return (code, texts);
                }
                Ok(Some(Frame { opcode: TEXT, .. })) => texts += 1,
                Ok(Some(_)) => {}
                Ok(None) => return (None, texts),
                Err(e) => panic!("expected a close frame, got {e}"),
            }
        }
    }

    /// Whether the server ends the stream (possibly after a close frame and other frames)
    /// within the read timeout; how many pings it sent first.
    pub fn ends(&mut self) -> (bool, usize) {
        let mut pings = 0usize;
        loop {
            match self.read_frame() {
                Ok(Some(Frame { opcode: PING, .. })) => pings += 1,
                Ok(Some(_)) => {}
                Ok(None) => return (true, pings),
                Err(_) => return (false, pings),
            }
        }
    }

    /// Another handle to the same socket (to read on one thread and write on another).
    pub fn try_clone(&self) -> Raw {
        Raw {
            stream: self.stream.try_clone().expect("clone the socket"),
        }
    }

    /// Closes the write half (FIN), keeping the socket.
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

/// Whether a read error means the peer ended the stream.
fn ended(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
    )
}

/// A frame as a client writes it (masked unless told otherwise).
fn encoded(opcode: Opcode, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut buf = vec![0u8; payload.len() + 14];
    let mask = masked.then_some([0x37, 0xfa, 0x21, 0x3d]);
    let n = encode_frame(&mut buf, true, opcode, mask, payload).expect("encode a frame");
    buf.truncate(n);
    buf
}

const LINK_INFO: &str = r#"@link(node:"/unit/1",lane:info)"#;
const LINKED_INFO: &str = r#"@linked(node:"/unit/1",lane:info)"#;

/// A connection linked to `/unit/1` `info`.
fn linked_watcher(addr: SocketAddr) -> Raw {
    let mut raw = Raw::connect(addr);
    raw.text(LINK_INFO);
    assert_eq!(raw.next_text(), LINKED_INFO);
    raw
}

/// Publishes `text` to `/unit/1` `info` and checks that `watcher` gets it.
fn still_served<S: FaultServer>(server: &S, watcher: &mut Raw, text: &str) {
    server.set_info("/unit/1", text);
    let event = watcher.next_text();
    assert!(
        event.starts_with(r#"@event(node:"/unit/1",lane:info)"#) && event.ends_with(text),
        "the watcher got {event:?}"
    );
}

/// Peers that vanish (FIN, or a reset: closing with unread input) in the middle of the HTTP
/// handshake or in the middle of a frame: the server releases each connection, and a watcher
/// connected all along keeps getting its events.
pub fn peers_vanishing_mid_handshake_or_mid_frame_are_released_and_others_go_on<S: FaultServer>() {
    let server = S::start(any_port(), ServerConfig::default());
    let addr = server.addr();
    let mut watcher = linked_watcher(addr);
    let request = upgrade_request(addr);
    let frame = encoded(
        Opcode::Text,
        br#"@command(node:"/unit/1",lane:set_info)"never complete""#,
        true,
    );

    let mut peers = Vec::new();
    // Half a request head, then FIN.
    let mut peer = Raw::tcp(addr);
    peer.write(&request.as_bytes()[..20]);
    peers.push(peer);
    // A whole request (its answer unread), then gone: a reset.
    let mut peer = Raw::tcp(addr);
    peer.write(request.as_bytes());
    peers.push(peer);
    // Upgraded, then the first bytes of a frame header only.
    let mut peer = Raw::connect(addr);
    peer.write(&frame[..1]);
    peers.push(peer);
    // Upgraded, a link answered (unread), half a frame, then gone: a reset.
    let mut peer = Raw::connect(addr);
    peer.text(r#"@link(node:"/unit/1",lane:count)"#);
    peer.write(&frame[..frame.len() / 2]);
    peers.push(peer);
    expect_connections(&server, 1 + peers.len(), "every peer accepted");
    still_served(&server, &mut watcher, "before");

    // The first peer half-closes and keeps its socket; the others drop theirs.
    let first = peers.remove(0);
    first.shutdown_write();
    drop(peers);
    expect_connections(&server, 1, "the vanished peers are released");
    still_served(&server, &mut watcher, "after");
    // New connections are served as before.
    let mut late = linked_watcher(addr);
    still_served(&server, &mut late, "late");
    drop(first);
    server.shutdown();
}

/// Peers that stop sending in the middle of the handshake or of a frame, keeping the socket
/// open: the idle timeout (which also bounds the handshake) closes them.
pub fn peers_stalling_mid_handshake_or_mid_frame_are_dropped_by_the_idle_timeout<S: FaultServer>() {
    let ws = WsConfig::default()
        .with_ping_interval(None)
        .with_idle_timeout(Some(Duration::from_millis(300)));
    let config =
        ServerConfig::default().with_endpoint(ServerConfig::default().endpoint.with_ws(ws));
    let server = S::start(any_port(), config);
    let addr = server.addr();
    let started = Instant::now();
    let outcomes = client(move || {
        let mut head = Raw::tcp(addr);
        head.write(&upgrade_request(addr).as_bytes()[..30]);
        let mut body = Raw::connect(addr);
        let frame = encoded(Opcode::Text, LINK_INFO.as_bytes(), true);
        body.write(&frame[..5]);
        [head.ends(), body.ends()]
    });
    assert_eq!(outcomes, [(true, 0), (true, 0)], "(ended, pings) of each");
    assert!(started.elapsed() < READ_TIMEOUT);
    expect_connections(&server, 0, "the stalled peers are released");
    server.shutdown();
}

/// A half-open peer (it neither reads nor writes, as when its host vanished without a FIN):
/// the server pings it, and with no answer the idle timeout drops it; a peer that answers
/// the pings stays connected well past the idle timeout.
pub fn a_half_open_peer_is_dropped_by_the_ping_and_idle_timers_and_a_live_one_is_not<
    S: FaultServer,
>() {
    let idle = Duration::from_millis(500);
    let ws = WsConfig::default()
        .with_ping_interval(Some(Duration::from_millis(100)))
        .with_idle_timeout(Some(idle));
    let config =
        ServerConfig::default().with_endpoint(ServerConfig::default().endpoint.with_ws(ws));
    let server = S::start(any_port(), config);
    let addr = server.addr();

    // The live peer answers every ping, up to 10 of them (over at least 1 s: twice the idle
    // timeout), and reports how long that took and whether the server closed meanwhile.
    let (live_tx, live_rx) = mpsc::channel();
    let mut live = Raw::connect(addr);
    thread::spawn(move || {
        let since = Instant::now();
        let mut pongs = 0;
        let outcome = loop {
            match live.read_frame() {
                Ok(Some(Frame {
                    opcode: PING,
                    payload,
                })) => {
                    live.frame(Opcode::Pong, &payload, true);
                    pongs += 1;
                    if pongs == 10 {
                        break Ok(since.elapsed());
                    }
                }
                Ok(Some(frame)) => break Err(format!("unexpected {frame:?}")),
                Ok(None) => break Err("closed".to_owned()),
                Err(e) => break Err(e.to_string()),
            }
        };
        let _ = live_tx.send((outcome, live));
    });
    let mut silent = Raw::connect(addr);
    expect_connections(&server, 2, "both accepted");
    expect_connections(&server, 1, "the half-open peer is dropped");
    let (outcome, live) = live_rx
        .recv_timeout(TEST_LIMIT)
        .expect("the live peer answered its pings in time");
    let lived = outcome.expect("the live peer stays connected");
    assert!(lived > idle, "answered pings for {lived:?}");
    assert_eq!(server.connections(), 1, "the live peer is still served");
    // What the silent peer was sent: pings, then the end of the stream (no close handshake
    // with a peer that does not answer).
    let (ended, pings) = silent.ends();
    assert!(ended, "the server ended the half-open connection");
    assert!(pings >= 1, "it was pinged before being dropped");
    drop(live);
    expect_connections(&server, 0, "the live peer left");
    server.shutdown();
}

/// A consumer that stops reading while 128 MiB of events are published to its link: the
/// server drops it from the fan-out once its bounded queues are full, its resident memory
/// grows by far less than what was published, and the connection is closed with 1013.
pub fn a_slow_consumer_costs_the_server_its_bounds_not_what_is_published<S: FaultServer>() {
    const EVENTS: usize = 1024;
    const EVENT_LEN: usize = 128 * 1024;
    const GROWTH_LIMIT: usize = 48 * 1024 * 1024;
    let config = ServerConfig::default()
        .with_fanout_capacity(8)
        .with_write_high_water(64 * 1024);
    let server = S::start(any_port(), config);
    let addr = server.addr();
    let mut slow = Raw::connect(addr);
    slow.text(r#"@link(node:"/unit/5",lane:info)"#);
    assert_eq!(slow.next_text(), r#"@linked(node:"/unit/5",lane:info)"#);

    let filler = "x".repeat(EVENT_LEN);
    let before = rss_bytes();
    let mut peak = before;
    let mut dropped_at = None;
    for i in 0..EVENTS {
        let reached = server.set_info("/unit/5", &format!("{i:08}{filler}"));
        if reached == 0 && dropped_at.is_none() {
            dropped_at = Some(i);
        }
        if i % 32 == 0 {
            peak = peak.max(rss_bytes());
        }
    }
    peak = peak.max(rss_bytes());
    let growth = peak.saturating_sub(before);
    eprintln!(
        "slow consumer: dropped after {dropped_at:?} of {EVENTS} events; resident memory grew \
         by {growth} bytes while {} were published",
        EVENTS * EVENT_LEN
    );
    let dropped_at = dropped_at.expect("the slow consumer was dropped from the fan-out");
    assert!(
        growth < GROWTH_LIMIT,
        "resident memory grew by {growth} bytes while {} were published",
        EVENTS * EVENT_LEN
    );
    // The documented outcome: what was queued, then a close with 1013.
    let (code, texts) = client(move || slow.close_code());
    assert_eq!(code, Some(1013), "closed as overloaded");
    assert!(
        texts <= dropped_at,
        "{texts} events of the {dropped_at} queued"
    );
    expect_connections(&server, 0, "the slow consumer is released");
    server.shutdown();
}

/// What a restart under a sending client left: commands counted by the first server, by the
/// second, reported sent, reported failed.
#[derive(Debug)]
struct Restart {
    counted_first: usize,
    counted_second: usize,
    ok: usize,
    failed: usize,
}

/// The server restarts (graceful shutdown, then a new server on the same port) under the
/// driver's client sending commands from 4 concurrent loops, with a command buffer of 2 while
/// disconnected; returns what each side counted once the client closed.
fn restart_under_sending_client<S: FaultServer>() -> Restart {
    const NODE: &str = "/unit/8";
    let first = S::start(any_port(), ServerConfig::default());
    let addr = first.addr();
    let tally = Arc::new(Tally::default());
    let senders = S::command_senders(addr, NODE, 4, 2, Arc::clone(&tally));
    assert!(
        wait_until(TEST_LIMIT, || tally.ok() >= 200),
        "commands flow before the restart"
    );
    first.shutdown();
    let counted_first = first.count(NODE).expect("the first server ran the agent");
    // The outage is seen: with 4 senders and room for 2 commands, some are refused.
    let failed_before = tally.failed();
    assert!(
        wait_until(TEST_LIMIT, || tally.failed() > failed_before),
        "commands are refused during the outage"
    );
    let second = S::start(addr, ServerConfig::default());
    let ok_at_restart = tally.ok();
    assert!(
        wait_until(TEST_LIMIT, || tally.ok() >= ok_at_restart + 200),
        "commands flow after the restart (the client reconnected)"
    );
    tally.stop.store(true, Ordering::SeqCst);
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = done_tx.send(senders.join().is_ok());
    });
    let joined = done_rx
        .recv_timeout(TEST_LIMIT)
        .expect("the client closed in time");
    assert!(joined, "the client thread did not panic");
    // The client closed after its last command: once the server released the connection it
    // has read everything.
    expect_connections(&second, 0, "the client left");
    let counted_second = second.count(NODE).unwrap_or(0);
    second.shutdown();
    let count = |n: i64| usize::try_from(n).expect("a non-negative count");
    Restart {
        counted_first: count(counted_first),
        counted_second: count(counted_second),
        ok: tally.ok(),
        failed: tally.failed(),
    }
}

/// A restart under a sending client: no command is delivered twice (the servers together
/// counted at most the commands reported sent), refusals are reported, and commands flow
/// again after the client reconnected.
pub fn a_restart_under_a_sending_client_delivers_no_command_twice<S: FaultServer>() {
    let r = restart_under_sending_client::<S>();
    assert!(r.failed > 0, "{r:?}");
    assert!(r.counted_second > 0, "{r:?}");
    assert!(r.counted_first + r.counted_second <= r.ok, "{r:?}");
}

/// The strong form: every command reported sent is counted by exactly one server (none
/// silently lost). Commands in flight when the server starts its close handshake still
/// reach the agent: a server connection that closed gracefully keeps taking `command`s until
/// the client's close arrives.
pub fn a_restart_under_a_sending_client_loses_no_command_reported_sent<S: FaultServer>() {
    let r = restart_under_sending_client::<S>();
    assert_eq!(r.counted_first + r.counted_second, r.ok, "{r:?}");
}

/// One malformed input and what it does, over a real socket.
struct Case {
    name: &'static str,
    opcode: Opcode,
    payload: &'static [u8],
    masked: bool,
    /// The close code on a server with a zero bad-frame tolerance.
    strict: u16,
    /// The close code on a server with the default tolerance (16 bad frames), `None`: the
    /// connection goes on.
    tolerant: Option<u16>,
}

const CASES: &[Case] = &[
    Case {
        name: "bad Recon",
        opcode: Opcode::Text,
        payload: br#"@command(node:"/unit/1",lane:add){x:"#,
        masked: true,
        strict: 1002,
        tolerant: None,
    },
    Case {
        name: "expression syntax",
        opcode: Opcode::Text,
        payload: br#"@command(node:"/unit/1",lane:add) 1 + 2"#,
        masked: true,
        strict: 1002,
        tolerant: None,
    },
    Case {
        name: "unknown tag",
        opcode: Opcode::Text,
        payload: br#"@subscribe(node:"/unit/1",lane:info)"#,
        masked: true,
        strict: 1002,
        tolerant: None,
    },
    Case {
        name: "missing node",
        opcode: Opcode::Text,
        payload: br#"@link(lane:info)"#,
        masked: true,
        strict: 1002,
        tolerant: None,
    },
    Case {
        name: "missing lane",
        opcode: Opcode::Text,
        payload: br#"@link(node:"/unit/1")"#,
        masked: true,
        strict: 1002,
        tolerant: None,
    },
    Case {
        name: "empty lane",
        opcode: Opcode::Text,
        payload: br#"@sync(node:"/unit/1",lane:)"#,
        masked: true,
        strict: 1002,
        tolerant: None,
    },
    Case {
        name: "binary frame",
        opcode: Opcode::Binary,
        payload: &[0x40, 0x6c, 0x69, 0x6e, 0x6b],
        masked: true,
        strict: 1002,
        tolerant: None,
    },
    Case {
        name: "invalid UTF-8",
        opcode: Opcode::Text,
        payload: b"@command(node:\"/unit/1\",lane:set_info)\"\xff\xfe\"",
        masked: true,
        strict: 1007,
        tolerant: Some(1007),
    },
    Case {
        name: "unmasked client frame",
        opcode: Opcode::Text,
        payload: br#"@link(node:"/unit/1",lane:info)"#,
        masked: false,
        strict: 1002,
        tolerant: Some(1002),
    },
];

/// The configuration of the malformed-input servers: `tolerance` bad frames, frames of at
/// most 1 KiB at the WARP layer and messages of at most 4 KiB at the WebSocket layer.
fn bounded(tolerance: u32) -> ServerConfig {
    let endpoint = ServerConfig::default()
        .endpoint
        .with_warp(
            WarpConfig::default()
                .with_max_protocol_errors(tolerance)
                .with_max_frame_len(1024),
        )
        .with_ws(
            ServerConfig::default()
                .endpoint
                .ws
                .with_max_message_len(4096),
        );
    ServerConfig::default().with_endpoint(endpoint)
}

/// Every malformed input class of PROFILE.md, each on its own connection to a strict server
/// (no bad frame tolerated) and to a tolerant one (the default 16): the documented close code,
/// or, where tolerated, the connection goes on and answers a link. Oversized frames close with
/// 1009 at both layers. After all of it the servers hold no connection.
pub fn every_malformed_input_class_gets_its_documented_reaction<S: FaultServer>() {
    let strict = S::start(any_port(), bounded(0));
    let tolerant = S::start(any_port(), bounded(16));
    let (strict_addr, tolerant_addr) = (strict.addr(), tolerant.addr());
    let outcomes = client(move || {
        let mut outcomes = Vec::new();
        for case in CASES {
            let mut raw = Raw::connect(strict_addr);
            raw.frame(case.opcode, case.payload, case.masked);
            let strict = raw.close_code().0;
            let mut raw = Raw::connect(tolerant_addr);
            raw.frame(case.opcode, case.payload, case.masked);
            let tolerant = if case.tolerant.is_some() {
                raw.close_code().0
            } else {
                raw.text(LINK_INFO);
                assert_eq!(raw.next_text(), LINKED_INFO, "{}: goes on", case.name);
                None
            };
            outcomes.push((case.name, strict, tolerant));
        }
        // Oversized: over the WARP frame limit (1 KiB), over the WebSocket message limit
        // (4 KiB, here in two fragments of 3 KiB).
        let warp_big = format!(
            r#"@command(node:"/unit/1",lane:set_info)"{}""#,
            "x".repeat(2000)
        );
        let mut raw = Raw::connect(tolerant_addr);
        raw.text(&warp_big);
        outcomes.push(("over the WARP frame limit", raw.close_code().0, None));
        let mut raw = Raw::connect(tolerant_addr);
        let part = vec![b'x'; 3 * 1024];
        let mut first = vec![0u8; part.len() + 14];
        let n = encode_frame(&mut first, false, Opcode::Text, Some([1, 2, 3, 4]), &part)
            .expect("encode");
        first.truncate(n);
        raw.write(&first);
        let mut second = vec![0u8; part.len() + 14];
        let n = encode_frame(
            &mut second,
            true,
            Opcode::Continuation,
            Some([1, 2, 3, 4]),
            &part,
        )
        .expect("encode");
        second.truncate(n);
        raw.write(&second);
        outcomes.push(("over the WebSocket message limit", raw.close_code().0, None));
        outcomes
    });
    let expected: Vec<_> = CASES
        .iter()
        .map(|case| (case.name, Some(case.strict), case.tolerant))
        .chain([
            ("over the WARP frame limit", Some(1009), None),
            ("over the WebSocket message limit", Some(1009), None),
        ])
        .collect();
    assert_eq!(outcomes, expected, "(case, strict close, tolerant close)");
    expect_connections(&strict, 0, "every strict connection released");
    expect_connections(&tolerant, 0, "every tolerant connection released");
    strict.shutdown();
    tolerant.shutdown();
}

/// The default tolerance counts bad frames of every class together: 16 are reported and the
/// connection goes on (links still work between them), the 17th closes it with 1002.
pub fn bad_frames_of_every_class_count_towards_one_tolerance<S: FaultServer>() {
    let server = S::start(any_port(), bounded(16));
    let addr = server.addr();
    let code = client(move || {
        let mut raw = Raw::connect(addr);
        let tolerated: Vec<_> = CASES.iter().filter(|c| c.tolerant.is_none()).collect();
        for i in 0..16 {
            let case = tolerated[i % tolerated.len()];
            raw.frame(case.opcode, case.payload, case.masked);
            if i % 4 == 3 {
                raw.text(LINK_INFO);
                assert_eq!(
                    raw.next_text(),
                    LINKED_INFO,
                    "still served after {i} bad frames"
                );
            }
        }
        raw.text("@event(node:a,lane:b"); // the 17th
        raw.close_code().0
    });
    assert_eq!(code, Some(1002));
    expect_connections(&server, 0, "released");
    server.shutdown();
}

/// While one client floods the server with malformed frames on a connection it keeps (the
/// server tolerates them) and another opens connections that are closed for invalid UTF-8
/// and unmasked frames, a third connection gets each of 200 published events, one at a time,
/// within the read timeout. The flood really ran meanwhile: each batch of the flooder's bad
/// frames ends with one `add 1` command to `/unit/2`, so that lane's count is how many
/// batches the server has read.
pub fn a_flood_of_malformed_frames_does_not_hold_up_another_connection<S: FaultServer>() {
    let tolerant = bounded(u32::MAX);
    let server = S::start(any_port(), tolerant);
    let addr = server.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let churned = Arc::new(AtomicUsize::new(0));

    let bad: Vec<_> = CASES.iter().filter(|c| c.tolerant.is_none()).collect();
    let per_batch = bad.len();
    let batch: Vec<u8> = bad
        .iter()
        .flat_map(|c| encoded(c.opcode, c.payload, c.masked))
        .chain(encoded(
            Opcode::Text,
            br#"@command(node:"/unit/2",lane:add)1"#,
            true,
        ))
        .collect();
    let flooder = {
        let stop = Arc::clone(&stop);
        let mut raw = Raw::connect(addr);
        // Whatever the server sends the flooder is read (and dropped), so that the server's
        // backpressure on a peer that does not read is not what stops the flood.
        let mut drain = raw.try_clone();
        thread::spawn(move || while let Ok(Some(_)) = drain.read_frame() {});
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if !raw.try_write(&batch) {
                    return false;
                }
            }
            true
        })
    };
    let churner = {
        let (stop, churned) = (Arc::clone(&stop), Arc::clone(&churned));
        thread::spawn(move || {
            let fatal: Vec<_> = CASES.iter().filter(|c| c.tolerant.is_some()).collect();
            while !stop.load(Ordering::SeqCst) {
                let case = fatal[churned.load(Ordering::SeqCst) % fatal.len()];
                let mut raw = Raw::connect(addr);
                raw.frame(case.opcode, case.payload, case.masked);
                if raw.close_code().0 != case.tolerant {
                    return false;
                }
                churned.fetch_add(1, Ordering::SeqCst);
            }
            true
        })
    };
    let batches = || usize::try_from(server.count("/unit/2").unwrap_or(0)).unwrap_or(0);
    assert!(
        wait_until(TEST_LIMIT, || batches() > 100
            && churned.load(Ordering::SeqCst) > 10),
        "the flood is running"
    );

    let mut watcher = linked_watcher(addr);
    let (batches_start, churn_start) = (batches(), churned.load(Ordering::SeqCst));
    let mut slowest = Duration::ZERO;
    for i in 0..200 {
        let sent = Instant::now();
        still_served(&server, &mut watcher, &format!("n{i}"));
        slowest = slowest.max(sent.elapsed());
    }
    let flood = (batches() - batches_start) * per_batch;
    let churn = churned.load(Ordering::SeqCst) - churn_start;
    stop.store(true, Ordering::SeqCst);
    assert!(
        flooder.join().expect("the flooder"),
        "the flood connection was kept"
    );
    assert!(
        churner.join().expect("the churner"),
        "each churned connection closed as documented"
    );
    assert!(
        flood > 0 && churn > 0,
        "the flood ran meanwhile: {flood} bad frames read, {churn} churned connections"
    );
    assert!(slowest < READ_TIMEOUT, "slowest event {slowest:?}");
    drop(watcher);
    server.shutdown();
}

/// Every scenario as a `#[test]` of the calling test file, run against `$server`.
#[macro_export]
macro_rules! fault_scenarios {
    ($server:ty) => {
        $crate::fault_scenarios!(@tests $server;
            peers_vanishing_mid_handshake_or_mid_frame_are_released_and_others_go_on,
            peers_stalling_mid_handshake_or_mid_frame_are_dropped_by_the_idle_timeout,
            a_half_open_peer_is_dropped_by_the_ping_and_idle_timers_and_a_live_one_is_not,
            a_slow_consumer_costs_the_server_its_bounds_not_what_is_published,
            a_restart_under_a_sending_client_delivers_no_command_twice,
            every_malformed_input_class_gets_its_documented_reaction,
            bad_frames_of_every_class_count_towards_one_tolerance,
            a_flood_of_malformed_frames_does_not_hold_up_another_connection,
        );
    };
    (@tests $server:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                fault_scenarios::$name::<$server>();
            }
        )*

        #[test]
        fn a_restart_under_a_sending_client_loses_no_command_reported_sent() {
            fault_scenarios::a_restart_under_a_sending_client_loses_no_command_reported_sent::<$server>();
        }
    };
}
