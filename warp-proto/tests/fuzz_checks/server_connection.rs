//! `server_connection`: a [`ServerConnection`] driven by arbitrary received frames and arbitrary
//! application answers. It never panics; its queue and link table stay within the configured
//! bounds; backpressure changes nothing; each link request is answered at most once; every
//! frame it sends is a valid server envelope; no frame goes out for a link after its
//! `unlinked` unless the client asked for the link again; nothing is sent after the close.

use std::collections::{HashMap, HashSet};

use arbitrary::{Arbitrary, Unstructured};
use warp_proto::connection::{
    Bound, CallError, Config, Fixed, HandleError, Heap, LinkId, QueueError, Rejection,
    ServerConnection, ServerRequest, Storage, Transmit,
};
use warp_proto::envelope::{write_uri, Body, Envelope, Tag};
use warp_proto::recon::Text;

use super::input::{self, Writer};

/// The fixed storage exercised besides [`Heap`]: 3 links, 24-byte URIs, a 512-byte queue.
type Small = Fixed<3, 1, 24, 512>;

/// One step of the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A received text frame (bytes, UTF-8 or not): `handle_frame_bytes`.
    Frame(Vec<u8>),
    /// A received binary frame of this length.
    Binary(u16),
    /// `accept` the picked link.
    Accept(u8),
    /// `reject` the picked link (lane not found when the flag is set).
    Reject(u8, bool),
    /// `sync_event` on the picked link with the picked body.
    SyncEvent(u8, u8),
    /// `synced` on the picked link.
    Synced(u8),
    /// `event` on the picked link with the picked body.
    Event(u8, u8),
    /// `publish` to the node and lane of the picked link.
    Publish(u8, u8),
    /// `unlink` the picked link with the picked body.
    Unlink(u8, u8),
    /// `authenticate`.
    Authenticate(bool),
    /// `close`.
    Close,
    /// Transmit this many queued frames (0: all of them).
    Drain(u8),
}

/// One input: the connection's bounds and the steps.
///
/// Layout: six bytes `links, frames, bytes, errors, uri, kind` (see [`ServerInput::config`];
/// bit 0 of `kind` picks the fixed storage), then steps until the data runs out: an opcode
/// byte (modulo 12, in the order of [`Op`]) and its arguments: a frame is a `u16` length and
/// that many bytes, a binary frame a `u16`, picks, bodies and flags one byte each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerInput {
    /// The bound selectors.
    pub bounds: [u8; 6],
    /// The steps.
    pub ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for ServerInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut bounds = [0u8; 6];
        for b in &mut bounds {
            *b = input::u8(u);
        }
        let mut ops = Vec::new();
        while !u.is_empty() {
            let op = match input::u8(u) % 12 {
                0 => {
                    let len = usize::from(input::u16(u));
                    Op::Frame(input::bytes(u, len).to_vec())
                }
                1 => Op::Binary(input::u16(u)),
                2 => Op::Accept(input::u8(u)),
                3 => Op::Reject(input::u8(u), input::u8(u) & 1 != 0),
                4 => Op::SyncEvent(input::u8(u), input::u8(u)),
                5 => Op::Synced(input::u8(u)),
                6 => Op::Event(input::u8(u), input::u8(u)),
                7 => Op::Publish(input::u8(u), input::u8(u)),
                8 => Op::Unlink(input::u8(u), input::u8(u)),
                9 => Op::Authenticate(input::u8(u) & 1 != 0),
                10 => Op::Close,
                _ => Op::Drain(input::u8(u)),
            };
            ops.push(op);
        }
        Ok(ServerInput { bounds, ops })
    }
}

impl ServerInput {
    /// The bytes that read back as this input.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(&self.bounds);
        for op in &self.ops {
            match op {
                Op::Frame(bytes) => {
                    let len = bytes.len().min(usize::from(u16::MAX));
                    w.u8(0).u16(len as u16).bytes(&bytes[..len]);
                }
                Op::Binary(len) => {
                    w.u8(1).u16(*len);
                }
                Op::Accept(p) => {
                    w.u8(2).u8(*p);
                }
                Op::Reject(p, lane) => {
                    w.u8(3).u8(*p).u8(u8::from(*lane));
                }
                Op::SyncEvent(p, b) => {
                    w.u8(4).u8(*p).u8(*b);
                }
                Op::Synced(p) => {
                    w.u8(5).u8(*p);
                }
                Op::Event(p, b) => {
                    w.u8(6).u8(*p).u8(*b);
                }
                Op::Publish(p, b) => {
                    w.u8(7).u8(*p).u8(*b);
                }
                Op::Unlink(p, b) => {
                    w.u8(8).u8(*p).u8(*b);
                }
                Op::Authenticate(yes) => {
                    w.u8(9).u8(u8::from(*yes));
                }
                Op::Close => {
                    w.u8(10);
                }
                Op::Drain(n) => {
                    w.u8(11).u8(*n);
                }
            }
        }
        w.0
    }

    /// The bounds: up to 4 links, 1 to 16 queued frames, 32 to 2072 queued bytes, 0 to 3
    /// protocol errors, URIs up to 64 bytes, frames of 64 bytes and more.
    pub fn config(&self) -> Config {
        let [links, frames, bytes, errors, uri, kind] = self.bounds.map(usize::from);
        Config::default()
            .with_max_links(links % 5)
            .with_max_queued_frames(1 + frames % 16)
            .with_max_queued_bytes(32 + bytes * 8)
            .with_max_protocol_errors((errors % 4) as u32)
            .with_max_uri_len(uri % 65)
            .with_max_frame_len(64 + (kind >> 1) * 16)
    }
}

/// The bodies the application sends, picked by index.
fn body(pick: u8) -> String {
    match pick % 10 {
        0 => String::new(),
        1 => "1".into(),
        2 => "\"hello\"".into(),
        3 => "{x:1,y:2}".into(),
        4 => "@update(key:k){temp:21.5}".into(),
        5 => "%AAECAw==".into(),
        6 => "[markup @b[x]]".into(),
        7 => "-1.5e3".into(),
        8 => "{}".into(),
        _ => format!("\"{}\"", "long".repeat(usize::from(pick))),
    }
}

/// Node and lane as the encoder writes them, the key under which links are tracked.
type Key = (String, String);

fn key(node: &Text<'_>, lane: &Text<'_>) -> Key {
    let enc = |t: &Text<'_>| {
        let decoded: String = t.chars().collect();
        let mut out = String::new();
        // Writing into a String never fails.
        let _ = write_uri(&decoded, &mut out);
        out
    };
    (enc(node), enc(lane))
}

struct Driver<S: Storage> {
    conn: ServerConnection<S>,
    config: Config,
    /// Capacity limits of the storage, beyond the configured bounds.
    max_links: usize,
    max_bytes: usize,
    /// Every link handed out by a request, in order.
    links: Vec<LinkId>,
    /// Links accepted or rejected.
    answered: HashSet<LinkId>,
    /// Per key, the queue positions at which the client asked for a link (frames queued
    /// before the request).
    starts: HashMap<Key, Vec<u64>>,
    /// Per key, the queue position of the last `unlinked` transmitted.
    unlinked: HashMap<Key, u64>,
    /// Frames transmitted so far.
    sent: u64,
    closed: bool,
}

impl<S: Storage> Driver<S> {
    fn queued(&self) -> (usize, usize, usize) {
        (
            self.conn.queued_frames(),
            self.conn.queued_bytes(),
            self.conn.link_count(),
        )
    }

    fn check_bounds(&self) {
        let (frames, bytes, links) = self.queued();
        assert!(
            frames <= self.config.max_queued_frames,
            "{frames} frames queued"
        );
        assert!(
            bytes <= self.config.max_queued_bytes.min(self.max_bytes),
            "{bytes} bytes queued"
        );
        assert!(
            links <= self.config.max_links.min(self.max_links),
            "{links} links held"
        );
        if self.closed {
            assert!(!self.conn.is_open() && self.conn.is_closed());
        }
    }

    fn pick(&self, p: u8) -> Option<LinkId> {
        match self.links.len() {
            0 => None,
            n => self.links.get(usize::from(p) % n).copied(),
        }
    }

    /// The position in the queue of the next frame queued.
    fn position(&self) -> u64 {
        self.sent + self.conn.queued_frames() as u64
    }

    fn frame(&mut self, bytes: &[u8]) {
        let before = self.queued();
        let errors = self.conn.stats().protocol_errors;
        let was_open = self.conn.is_open();
        // Frames queued from here on answer this frame.
        let position = self.position();
        let result = self.conn.handle_frame_bytes(bytes);
        let result = match result {
            Ok(request) => request,
            Err(HandleError::Backpressure(bound)) => {
                assert_eq!(self.queued(), before, "backpressure changed the connection");
                self.check_full(bound);
                assert_eq!(self.conn.stats().protocol_errors, errors);
                return;
            }
            Err(HandleError::Closed) => {
                assert!(!was_open && !self.conn.is_open(), "refused while open");
                return;
            }
            Err(HandleError::Protocol(e)) => {
                assert_eq!(e.count, errors + 1, "protocol errors counted");
                if e.close.is_some() {
                    assert!(
                        !self.conn.is_open(),
                        "a closing error left the connection open"
                    );
                }
                return;
            }
            Err(other) => panic!("unknown error {other:?}"),
        };
        if !was_open {
            // A gracefully closing connection still takes commands (written by the client
            // before it saw the close); nothing else, and it queues nothing for them.
            assert!(
                matches!(result, Some(ServerRequest::Command { .. })),
                "a frame other than a command handled after the close: {result:?}"
            );
            assert_eq!(
                self.queued(),
                before,
                "a frame after the close queued something"
            );
            return;
        }
        match result {
            Some(ServerRequest::Link {
                link, node, lane, ..
            }) => {
                assert!(
                    !self.links.contains(&link),
                    "link id {link:?} handed out twice"
                );
                self.links.push(link);
                self.starts
                    .entry(key(&node, &lane))
                    .or_default()
                    .push(position);
            }
            // A refused request is answered with `unlinked` too.
            Some(ServerRequest::Refused { node, lane, .. }) => self
                .starts
                .entry(key(&node, &lane))
                .or_default()
                .push(position),
            _ => {}
        }
    }

    /// A full queue holds frames (draining makes room: retrying after a drain cannot loop).
    fn check_full(&self, bound: Bound) {
        let frames = self.conn.queued_frames();
        assert!(frames > 0, "backpressure ({bound:?}) with an empty queue");
        if bound == Bound::Frames {
            assert_eq!(frames, self.config.max_queued_frames);
        }
    }

    /// Checks an application call: all or nothing on a full queue; never answering twice.
    fn call<T>(&mut self, f: impl FnOnce(&mut ServerConnection<S>) -> Result<T, CallError>) {
        let before = self.queued();
        match f(&mut self.conn) {
            Err(CallError::Queue(QueueError::Full { bound })) => {
                assert_eq!(
                    self.queued(),
                    before,
                    "a full queue ({bound:?}) changed things"
                );
                self.check_full(bound);
            }
            Err(CallError::Closed) => assert!(!self.conn.is_open()),
            Ok(_) | Err(_) => {}
        }
    }

    /// Records a successful `accept` or `reject` of `link`.
    fn answer(&mut self, link: LinkId, ok: bool) {
        if ok {
            assert!(self.answered.insert(link), "link {link:?} answered twice");
        }
    }

    fn drain(&mut self, max: usize) {
        for _ in 0..max {
            let sent = self.sent;
            let Some(out) = self.conn.poll_transmit() else {
                return;
            };
            assert!(!self.closed, "output after the close: {out:?}");
            match out {
                Transmit::Close(_) => self.closed = true,
                Transmit::Frame(text) => {
                    let text = text.to_owned();
                    self.sent += 1;
                    self.check_sent(sent, &text);
                }
            }
        }
    }

    /// Checks one transmitted frame, the `at`-th.
    fn check_sent(&mut self, at: u64, text: &str) {
        let env = match Envelope::decode(text) {
            Ok(env) => env,
            Err(e) => panic!("sent a frame that does not decode: {text:?}: {e}"),
        };
        match env.tag {
            Tag::Authed | Tag::Deauthed => return,
            Tag::Linked | Tag::Synced | Tag::Event | Tag::Unlinked => {}
            tag => panic!("a server sent @{tag}: {text:?}"),
        }
        let k = key(&env.node, &env.lane);
        if let Some(&ended) = self.unlinked.get(&k) {
            let asked_again = self
                .starts
                .get(&k)
                .is_some_and(|s| s.iter().any(|&s| ended < s && s <= at));
            assert!(
                asked_again,
                "{text:?} sent after the link's unlinked, with no new request"
            );
        }
        if env.tag == Tag::Unlinked {
            self.unlinked.insert(k, at);
        }
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::Frame(ref bytes) => self.frame(bytes),
            Op::Binary(len) => {
                let was_open = self.conn.is_open();
                match self.conn.handle_binary_frame(usize::from(len)) {
                    HandleError::Protocol(_) => assert!(was_open),
                    HandleError::Closed => assert!(!was_open),
                    other => panic!("binary frame: {other:?}"),
                }
            }
            Op::Accept(p) => {
                if let Some(link) = self.pick(p) {
                    let mut ok = false;
                    self.call(|c| {
                        let r = c.accept(link);
                        ok = r.is_ok();
                        r
                    });
                    self.answer(link, ok);
                }
            }
            Op::Reject(p, lane) => {
                if let Some(link) = self.pick(p) {
                    let why = if lane {
                        Rejection::LaneNotFound
                    } else {
                        Rejection::NodeNotFound
                    };
                    let mut ok = false;
                    self.call(|c| {
                        let r = c.reject(link, why);
                        ok = r.is_ok();
                        r
                    });
                    self.answer(link, ok);
                }
            }
            Op::SyncEvent(p, b) => {
                if let Some(link) = self.pick(p) {
                    let text = body(b);
                    self.call(|c| c.sync_event(link, Body::from_raw(&text)));
                }
            }
            Op::Synced(p) => {
                if let Some(link) = self.pick(p) {
                    self.call(|c| c.synced(link));
                }
            }
            Op::Event(p, b) => {
                if let Some(link) = self.pick(p) {
                    let text = body(b);
                    self.call(|c| c.event(link, Body::from_raw(&text)));
                }
            }
            Op::Publish(p, b) => {
                let target = self.pick(p).and_then(|link| {
                    Some((
                        self.conn.link_node(link)?.to_owned(),
                        self.conn.link_lane(link)?.to_owned(),
                    ))
                });
                let (node, lane) = target.unwrap_or_else(|| ("/none".into(), "none".into()));
                let text = body(b);
                self.call(|c| c.publish(&node, &lane, Body::from_raw(&text)));
            }
            Op::Unlink(p, b) => {
                if let Some(link) = self.pick(p) {
                    let text = body(b);
                    self.call(|c| c.unlink(link, Body::from_raw(&text)));
                }
            }
            Op::Authenticate(yes) => self.call(|c| c.authenticate(yes)),
            Op::Close => self.conn.close(),
            Op::Drain(n) => self.drain(if n == 0 { usize::MAX } else { usize::from(n) }),
        }
        self.check_bounds();
    }
}

fn run<S: Storage>(input: &ServerInput, max_links: usize, max_bytes: usize) {
    let config = input.config();
    let mut driver = Driver::<S> {
        conn: ServerConnection::with_storage(config),
        config,
        max_links,
        max_bytes,
        links: Vec::new(),
        answered: HashSet::new(),
        starts: HashMap::new(),
        unlinked: HashMap::new(),
        sent: 0,
        closed: false,
    };
    for op in &input.ops {
        driver.step(op);
    }
    driver.drain(usize::MAX);
    assert_eq!(driver.conn.queued_frames(), 0, "frames left after draining");
    driver.conn.close();
    driver.drain(usize::MAX);
    assert!(
        driver.closed && driver.conn.is_closed(),
        "no close after close()"
    );
    assert_eq!(driver.conn.poll_transmit(), None);
}

/// The `server_connection` target: the same steps over growable and fixed storage.
pub fn server_connection(input: &ServerInput) {
    run::<Heap>(input, usize::MAX, usize::MAX);
    run::<Small>(input, 3, 512);
}
