//! `endpoint`: the joined sans-IO [`ServerEndpoint`] (handshake, WebSocket, WARP links) fed a
//! valid upgrade request and then arbitrary bytes, in fuzzer-chosen chunks and times, with an
//! application that answers every request. It never panics, stalls or refuses drained input;
//! `poll_output` settles; what it writes is the `101` answer then valid server frames with
//! valid server envelopes, at most one close frame and nothing after it, carrying the code of
//! the reason reported; `Closed` comes exactly once; and the same bytes give the same output
//! and events at once or in chunks.

use core::time::Duration;

use warp_proto::connection::{
    Accepted, CallError, Config, Fixed, Heap, Rejection, ServerRequest, Storage as ConnStorage,
};
use warp_proto::endpoint::{
    CloseReason, EndpointConfig, Input, InputError, Output, ServerEndpoint, ServerEvent,
};
use warp_proto::envelope::{Body, Envelope, Tag};
use warp_proto::ws::{
    decode_frame, parse_close_payload, ClientHandshake, Instant, Opcode, Role, Status,
    Storage as Buffer, WsConfig,
};

use super::input::Chunked;
use super::ws_handshake::CLIENT_NONCE;

/// The fixed WARP storage exercised besides [`Heap`].
type Small = Fixed<3, 1, 24, 512>;

/// The client whose upgrade request opens every stream.
fn client() -> ClientHandshake<'static> {
    ClientHandshake::new("localhost", "/warp", CLIENT_NONCE)
}

/// The upgrade request that precedes the fuzzed bytes.
pub fn request() -> Vec<u8> {
    let mut buf = [0u8; 512];
    match client().write_request(&mut buf) {
        Ok(n) => buf[..n].to_vec(),
        Err(e) => panic!("the request does not fit: {e:?}"),
    }
}

/// The driver's behaviour, from the flags.
#[derive(Clone, Copy)]
struct App {
    timers: bool,
    reject: bool,
    refuse_auth: bool,
    close_first: bool,
}

/// What a run produced.
#[derive(Debug, Default, PartialEq)]
struct Log {
    transmitted: Vec<u8>,
    events: Vec<String>,
    closed: Option<CloseReason>,
}

/// An answer the application owes, taken out of an event.
enum Answer {
    Link(warp_proto::connection::LinkId),
    Sync(warp_proto::connection::LinkId),
    Auth,
}

struct Run<R: Buffer, T: Buffer, S: ConnStorage> {
    ep: ServerEndpoint<R, T, S>,
    app: App,
    tx_bound: usize,
    log: Log,
}

impl<R: Buffer, T: Buffer, S: ConnStorage> Run<R, T, S> {
    /// Drains `poll_output` until it settles, answering events; whether anything came out.
    fn drain(&mut self, now: u64) -> bool {
        let mut progressed = false;
        for _ in 0..10_000 {
            let mut answer = None;
            match self.ep.poll_output() {
                Output::Transmit(bytes) => {
                    assert!(!bytes.is_empty(), "an empty transmit");
                    assert!(
                        bytes.len() <= self.tx_bound,
                        "{} bytes at once",
                        bytes.len()
                    );
                    assert!(self.log.closed.is_none(), "bytes after Closed");
                    self.log.transmitted.extend_from_slice(bytes);
                }
                Output::Message(m) => panic!("a message {m:?} from a framed endpoint"),
                Output::Event(event) => {
                    assert!(self.log.closed.is_none(), "an event after Closed");
                    self.log.events.push(format!("{event:?}"));
                    answer = match event {
                        ServerEvent::Received(ServerRequest::Link { link, .. }) => {
                            Some(Answer::Link(link))
                        }
                        ServerEvent::Received(ServerRequest::Sync { link }) => {
                            Some(Answer::Sync(link))
                        }
                        ServerEvent::Received(ServerRequest::Auth { .. }) => Some(Answer::Auth),
                        _ => None,
                    };
                }
                Output::Timeout(Some(at)) if self.app.timers && at.as_millis() <= now => {
                    let taken = self
                        .ep
                        .handle_input(Input::Timeout(Instant::from_millis(now)));
                    assert!(taken.is_ok(), "timeout refused: {taken:?}");
                }
                Output::Timeout(_) => return progressed,
                Output::Closed(reason) => {
                    assert!(self.log.closed.is_none(), "Closed twice: {reason:?}");
                    self.log.closed = Some(reason);
                    return true;
                }
            }
            progressed = true;
            if let Some(answer) = answer {
                self.answer(answer);
            }
        }
        panic!("poll_output does not settle");
    }

    fn answer(&mut self, answer: Answer) {
        let ok = |r: Result<(), CallError>, what: &str| {
            assert!(
                matches!(r, Ok(()) | Err(CallError::Queue(_) | CallError::Closed)),
                "{what}: {r:?}"
            );
        };
        match answer {
            Answer::Link(link) if self.app.reject => {
                ok(self.ep.reject(link, Rejection::NodeNotFound), "reject");
            }
            Answer::Link(link) => match self.ep.accept(link) {
                Ok(Accepted::Syncing) => {
                    ok(self.ep.sync_event(link, Body::from_raw("1")), "sync_event");
                    ok(self.ep.synced(link), "synced");
                }
                Ok(Accepted::Linked) => ok(self.ep.event(link, Body::from_raw("2")), "event"),
                Err(e) => ok(Err(e), "accept"),
            },
            Answer::Sync(link) => {
                ok(self.ep.sync_event(link, Body::from_raw("3")), "sync_event");
                ok(self.ep.synced(link), "synced");
            }
            Answer::Auth => ok(self.ep.authenticate(!self.app.refuse_auth), "authenticate"),
        }
    }

    /// Feeds one chunk, draining before every call.
    fn feed(&mut self, now: u64, chunk: &[u8]) {
        let mut rest = chunk;
        loop {
            let progressed = self.drain(now);
            if self.log.closed.is_some() {
                let after = self
                    .ep
                    .handle_input(Input::Receive(Instant::from_millis(now), rest));
                assert!(
                    rest.is_empty() || after == Err(InputError::Closed),
                    "input after Closed: {after:?}"
                );
                return;
            }
            if rest.is_empty() {
                return;
            }
            match self
                .ep
                .handle_input(Input::Receive(Instant::from_millis(now), rest))
            {
                Ok(n) => {
                    assert!(n <= rest.len());
                    assert!(
                        n > 0 || progressed,
                        "stalled with {} bytes left",
                        rest.len()
                    );
                    rest = &rest[n..];
                }
                Err(e) => panic!("drained, yet input refused: {e:?}"),
            }
        }
    }

    fn run(mut self, input: &Chunked) -> Log {
        let stream = Chunked {
            stream: [request(), input.stream.clone()].concat(),
            ..input.clone()
        };
        let mut last = 0;
        for (i, (now, chunk)) in stream.pieces().into_iter().enumerate() {
            last = now;
            self.feed(now, chunk);
            if self.app.close_first && i == 0 {
                self.ep.close();
            }
        }
        self.drain(last);
        let before = self.log.closed;
        let end = self
            .ep
            .handle_input(Input::TransportClosed(Instant::from_millis(last)));
        assert!(
            end.is_ok() || (before.is_some() && end == Err(InputError::Closed)),
            "transport close refused: {end:?}"
        );
        self.drain(last);
        let Some(reason) = self.log.closed else {
            panic!("no Closed after the transport closed");
        };
        if let Some(before) = before {
            assert_eq!(reason, before);
        }
        assert!(
            matches!(self.ep.poll_output(), Output::Timeout(None)),
            "output after Closed"
        );
        self.check_transmitted(reason);
        if let Some((_, tx)) = self.ep.into_storage() {
            assert!(tx.bytes().len() <= self.tx_bound, "transmit storage grew");
        }
        self.log
    }

    /// The bytes written: the `101` answer, then server frames ending with the close.
    fn check_transmitted(&self, reason: CloseReason) {
        let bytes = self.log.transmitted.as_slice();
        if bytes.is_empty() {
            assert!(
                matches!(reason, CloseReason::Local { .. } | CloseReason::IdleTimeout),
                "nothing written, and the end was {reason:?}"
            );
            return;
        }
        let head = match client().parse_response(bytes) {
            Ok(Status::Complete(response)) => response,
            other => panic!("the answer to a valid request is {other:?}"),
        };
        assert_eq!(head.protocol, Some("warp0"));
        let mut rest = &bytes[head.consumed..];
        let mut close = None;
        while !rest.is_empty() {
            let frame = match decode_frame(rest, Role::Client, u64::MAX) {
                Ok(Status::Complete(frame)) => frame,
                Ok(Status::Partial { .. }) => {
                    assert_eq!(reason, CloseReason::IdleTimeout, "cut frame");
                    return;
                }
                Err(e) => panic!("written bytes are not server frames: {e:?}"),
            };
            assert!(close.is_none(), "a frame after the close frame");
            let payload = frame.raw_payload(rest);
            match frame.header.opcode {
                Opcode::Text => {
                    let text = core::str::from_utf8(payload).expect("text frame is UTF-8");
                    match Envelope::decode(text) {
                        Ok(env) => assert!(
                            matches!(
                                env.tag,
                                Tag::Linked
                                    | Tag::Synced
                                    | Tag::Unlinked
                                    | Tag::Event
                                    | Tag::Authed
                                    | Tag::Deauthed
                            ),
                            "a server sent {text:?}"
                        ),
                        Err(e) => panic!("sent {text:?}, not an envelope: {e}"),
                    }
                }
                Opcode::Close => match parse_close_payload(payload) {
                    Ok(c) => close = Some(c.code),
                    Err(e) => panic!("bad close payload {payload:?}: {e:?}"),
                },
                Opcode::Ping | Opcode::Pong => {}
                other => panic!("a server sent a {other:?} frame"),
            }
            rest = &rest[frame.len()..];
        }
        if let Some((code, _)) = reason.close_frame() {
            assert_eq!(close, Some(Some(code)), "close frame for {reason:?}");
        }
    }
}

fn config(input: &Chunked, timers: bool) -> EndpointConfig {
    let ws = WsConfig::default()
        .with_max_message_len((usize::from(input.max_message) + 1) * 16)
        .with_max_frame_len((usize::from(input.max_frame) + 1) * 16)
        .with_max_transmit_len(8192)
        .with_close_timeout(Some(Duration::from_millis(500)));
    let ws = if timers {
        ws.with_ping_interval(Some(Duration::from_millis(100)))
            .with_idle_timeout(Some(Duration::from_millis(1000)))
    } else {
        ws
    };
    let warp = Config::default()
        .with_max_links(4)
        .with_max_queued_frames(8)
        .with_max_protocol_errors(u32::from(input.flags >> 6));
    EndpointConfig::default().with_ws(ws).with_warp(warp)
}

fn run_with<R: Buffer, T: Buffer, S: ConnStorage>(input: &Chunked, rx: R, tx: T, app: App) -> Log {
    let config = config(input, app.timers);
    let tx_bound = tx.max_len().min(config.ws.max_transmit_len);
    let ep = match ServerEndpoint::<R, T, S>::with_storage(Instant::ZERO, config, rx, tx) {
        Ok(ep) => ep,
        Err(e) => panic!("endpoint refused its storages: {e:?}"),
    };
    Run {
        ep,
        app,
        tx_bound,
        log: Log::default(),
    }
    .run(input)
}

fn run(input: &Chunked, app: App) -> Log {
    match (input.flag(0), input.flag(1)) {
        (false, false) => run_with::<_, _, Heap>(input, Vec::new(), Vec::new(), app),
        (true, false) => run_with::<_, _, Small>(input, Vec::new(), Vec::new(), app),
        (false, true) => run_with::<_, _, Heap>(input, [0u8; 4096], [0u8; 2048], app),
        (true, true) => run_with::<_, _, Small>(input, [0u8; 4096], [0u8; 2048], app),
    }
}

/// The `endpoint` target. Flags: bit 0, fixed WARP storage (3 links, 24-byte URIs, a 512-byte
/// queue), else growable; bit 1, fixed receive and transmit arrays (4 KiB, 2 KiB), else
/// growable; bit 2, ping and idle timers; bit 3, the application rejects links; bit 4, it
/// refuses credentials; bit 5, it closes after the first chunk; bits 6 and 7, the bad frames
/// tolerated. `max_message` and `max_frame` select the WebSocket size limits as in
/// `ws_connection`. The stream is the upgrade request followed by the input's bytes.
pub fn endpoint(input: &Chunked) {
    let app = App {
        timers: input.flag(2),
        reject: input.flag(3),
        refuse_auth: input.flag(4),
        close_first: input.flag(5),
    };
    run(input, app);
    // The same bytes in chunks and at once (no timers, no early close).
    let plain = App {
        timers: false,
        close_first: false,
        ..app
    };
    let chunked = run(input, plain);
    let whole = Chunked {
        chunks: Vec::new(),
        ..input.clone()
    };
    let at_once = run(&whole, plain);
    assert_eq!(chunked, at_once, "chunking changed the outcome");
}
