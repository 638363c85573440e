//! Model-based test: random sequences of client and server-application actions against a
//! client and a server machine wired back to back (client frames fed to the server, server
//! frames to the client), checked against a simple reference model:
//!
//! - every handle the application keeps ends linked, or unlinked with the reason the model
//!   predicts (nodeNotFound, laneNotFound, tooManyLinks);
//! - no event reaches a handle after it closed, and every event reaches exactly the open
//!   handles of its node and lane;
//! - a `sync` handle always sees the state (an event) and then `synced`; the last event a
//!   linked handle saw is the lane's current value;
//! - the client never sends a second `link` for a lane it has open, nor an `unlink` for one it
//!   has not;
//! - at rest, the server's open links are exactly the client's links;
//! - bounds hold at every step; nothing panics; the drive loop ends (no livelock).

mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use proptest::prelude::*;
use warp_proto::connection::{
    Accepted, CallError, ClientConnection, ClientEvent, Config, Fixed, HandleError, HandleId,
    HandleState, Heap, LinkId, LinkState, QueueError, Rejection, ServerConnection, ServerRequest,
    Storage, Transmit, UnlinkReason,
};
use warp_proto::envelope::{Body, Envelope, Tag};

const NODES: [&str; 3] = ["/unit/0", "/unit/1", "/nowhere"];
const LANES: [&str; 3] = ["info", "count", "nolane"];

const CLIENT_LINKS: usize = 4;
const CLIENT_HANDLES: usize = 6;
const SERVER_LINKS: usize = 3;
const QUEUE_FRAMES: usize = 4;

fn node_exists(node: &str) -> bool {
    node.starts_with("/unit/")
}

fn lane_exists(lane: &str) -> bool {
    lane == "info" || lane == "count"
}

#[derive(Clone, Debug)]
enum Action {
    Open {
        node: usize,
        lane: usize,
        sync: bool,
    },
    Close {
        pick: usize,
    },
    Command {
        node: usize,
        lane: usize,
        value: i64,
    },
    Publish {
        node: usize,
        lane: usize,
        value: i64,
    },
    DeliverC2s {
        defer: bool,
    },
    DeliverS2c,
    Answer {
        pick: usize,
    },
    Garbage {
        which: usize,
    },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..3usize, 0..3usize, any::<bool>())
            .prop_map(|(node, lane, sync)| Action::Open { node, lane, sync }),
        2 => (0..8usize).prop_map(|pick| Action::Close { pick }),
        1 => (0..2usize, 0..2usize, -5..5i64)
            .prop_map(|(node, lane, value)| Action::Command { node, lane, value }),
        1 => (0..2usize, 0..2usize, -5..5i64)
            .prop_map(|(node, lane, value)| Action::Publish { node, lane, value }),
        4 => any::<bool>().prop_map(|defer| Action::DeliverC2s { defer }),
        4 => Just(Action::DeliverS2c),
        1 => (0..8usize).prop_map(|pick| Action::Answer { pick }),
        1 => (0..3usize).prop_map(|which| Action::Garbage { which }),
    ]
}

#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Linked,
    Event(i64),
    Synced,
    Unlinked(String),
}

#[derive(Debug)]
struct HandleModel {
    id: HandleId,
    node: &'static str,
    lane: &'static str,
    sync: bool,
    log: Vec<Seen>,
}

struct World<S: Storage> {
    client: ClientConnection<S>,
    server: ServerConnection<S>,
    c2s: VecDeque<String>,
    s2c: VecDeque<String>,
    /// The server application's lane values.
    values: BTreeMap<(String, String), i64>,
    /// Link requests the server application has not answered yet.
    pending: Vec<LinkId>,
    /// Handles the client application holds (open or unlinked, not closed).
    handles: Vec<HandleModel>,
    /// Handles the application closed.
    closed: BTreeSet<HandleId>,
    /// Lanes the client has a link for on the wire (link/sync sent, unlink not yet sent).
    wire_open: BTreeSet<(String, String)>,
}

fn int_body(body: Body<'_>) -> i64 {
    body.raw().trim().parse().expect("integer body")
}

impl<S: Storage> World<S> {
    fn new() -> Self {
        let client_config = Config::default()
            .with_max_links(CLIENT_LINKS)
            .with_max_handles(CLIENT_HANDLES)
            .with_max_queued_frames(QUEUE_FRAMES);
        let server_config = Config::default()
            .with_max_links(SERVER_LINKS)
            .with_max_queued_frames(QUEUE_FRAMES)
            .with_max_protocol_errors(u32::MAX);
        World {
            client: ClientConnection::with_storage(client_config),
            server: ServerConnection::with_storage(server_config),
            c2s: VecDeque::new(),
            s2c: VecDeque::new(),
            values: BTreeMap::new(),
            pending: Vec::new(),
            handles: Vec::new(),
            closed: BTreeSet::new(),
            wire_open: BTreeSet::new(),
        }
    }

    fn check_bounds(&self) {
        assert!(self.client.queued_frames() <= QUEUE_FRAMES);
        assert!(self.server.queued_frames() <= QUEUE_FRAMES);
        assert!(self.client.link_count() <= CLIENT_LINKS);
        assert!(self.client.handle_count() <= CLIENT_HANDLES);
        assert!(self.server.link_count() <= SERVER_LINKS);
    }

    /// Moves the client's output onto the wire, checking what it sends.
    fn drain_client(&mut self) {
        while let Some(t) = self.client.poll_transmit() {
            let Transmit::Frame(frame) = t else {
                panic!("the client never closes in this model")
            };
            let env = Envelope::decode(frame).expect("the client sends valid envelopes");
            let key = (env.node.to_string(), env.lane.to_string());
            match env.tag {
                Tag::Link => assert!(
                    self.wire_open.insert(key),
                    "second link on the wire: {frame}"
                ),
                Tag::Sync => {
                    self.wire_open.insert(key);
                }
                Tag::Unlink => assert!(self.wire_open.remove(&key), "unlink of no link: {frame}"),
                Tag::Command => {}
                other => panic!("client sent {other:?}"),
            }
            self.c2s.push_back(frame.to_owned());
        }
    }

    fn drain_server(&mut self) {
        while let Some(t) = self.server.poll_transmit() {
            let Transmit::Frame(frame) = t else {
                panic!("the server never closes in this model")
            };
            self.s2c.push_back(frame.to_owned());
        }
    }

    /// Runs a server call, draining and retrying once on backpressure.
    fn server_call<T>(
        &mut self,
        mut f: impl FnMut(&mut ServerConnection<S>) -> Result<T, CallError>,
    ) -> T {
        match f(&mut self.server) {
            Ok(v) => v,
            Err(CallError::Queue(QueueError::Full { .. })) => {
                self.drain_server();
                f(&mut self.server).expect("room after draining")
            }
            Err(e) => panic!("server call failed: {e:?}"),
        }
    }

    fn value(&self, node: &str, lane: &str) -> i64 {
        *self
            .values
            .get(&(node.to_owned(), lane.to_owned()))
            .unwrap_or(&0)
    }

    fn send_state(&mut self, link: LinkId) {
        let node = self.server.link_node(link).unwrap().to_owned();
        let lane = self.server.link_lane(link).unwrap().to_owned();
        let body = self.value(&node, &lane).to_string();
        self.server_call(|s| s.sync_event(link, Body::from_raw(&body)));
        self.server_call(|s| s.synced(link));
    }

    /// The server application answers a link request.
    fn answer(&mut self, link: LinkId) {
        let node = self.server.link_node(link).unwrap().to_owned();
        let lane = self.server.link_lane(link).unwrap().to_owned();
        if !node_exists(&node) {
            self.server_call(|s| s.reject(link, Rejection::NodeNotFound));
        } else if !lane_exists(&lane) {
            self.server_call(|s| s.reject(link, Rejection::LaneNotFound));
        } else if self.server_call(|s| s.accept(link)) == Accepted::Syncing {
            self.send_state(link);
        }
    }

    fn set_value(&mut self, node: &str, lane: &str, value: i64) {
        self.values
            .insert((node.to_owned(), lane.to_owned()), value);
        let body = value.to_string();
        let n = self.server_call(|s| s.publish(node, lane, Body::from_raw(&body)));
        assert!(n <= 1, "one link per lane per connection");
    }

    fn deliver_c2s(&mut self, defer: bool) {
        let Some(frame) = self.c2s.pop_front() else {
            return;
        };
        let request = loop {
            match self.server.handle_frame(&frame) {
                Err(HandleError::Backpressure(_)) => self.drain_server(),
                Ok(r) => break r,
                // Garbage: reported and counted, nothing for the application.
                Err(HandleError::Protocol(_)) => return,
                Err(e) => panic!("{e:?}"),
            }
        };
        // The request borrows the frame, not the server: the application answers at once.
        match request {
            Some(ServerRequest::Link {
                link, node, lane, ..
            }) => {
                assert_eq!(self.server.link_node(link), Some(node.to_string().as_str()));
                assert_eq!(self.server.link_lane(link), Some(lane.to_string().as_str()));
                if defer {
                    self.pending.push(link);
                } else {
                    self.answer(link);
                }
            }
            Some(ServerRequest::Sync { link }) => self.send_state(link),
            Some(ServerRequest::Unlink { link }) => self.pending.retain(|l| *l != link),
            Some(ServerRequest::Command { node, lane, body }) => {
                let (node, lane) = (node.to_string(), lane.to_string());
                if node_exists(&node) && lane_exists(&lane) {
                    self.set_value(&node, &lane, int_body(body));
                }
            }
            Some(ServerRequest::Refused { .. }) | None => {}
            Some(other) => panic!("unexpected {other:?}"),
        }
    }

    fn deliver_s2c(&mut self) {
        let Some(frame) = self.s2c.pop_front() else {
            return;
        };
        let event = loop {
            match self.client.handle_frame(&frame) {
                Err(HandleError::Backpressure(_)) => self.drain_client(),
                Ok(e) => break e,
                Err(e) => panic!("server frame refused: {e:?}: {frame}"),
            }
        };
        let Some(event) = event else { return };
        let (link, seen) = match event {
            ClientEvent::Linked { link } => (link, Seen::Linked),
            ClientEvent::Event { link, body } => (link, Seen::Event(int_body(body))),
            ClientEvent::Synced { link } => (link, Seen::Synced),
            ClientEvent::Unlinked {
                link,
                node,
                lane,
                reason,
                ..
            } => {
                let predicted = if !node_exists(&node.to_string()) {
                    Some(UnlinkReason::NodeNotFound)
                } else if !lane_exists(&lane.to_string()) {
                    Some(UnlinkReason::LaneNotFound)
                } else {
                    None
                };
                match reason {
                    // The server's link bound may refuse any link before the application
                    // sees it.
                    UnlinkReason::Other(b) if b.raw() == "@tooManyLinks" => {}
                    other => assert_eq!(Some(other), predicted, "unexpected unlink reason"),
                }
                self.wire_open.remove(&(node.to_string(), lane.to_string()));
                (link, Seen::Unlinked(format!("{reason:?}")))
            }
            other => panic!("unexpected {other:?}"),
        };
        let targets: Vec<HandleId> = self.client.handles(link).collect();
        for id in targets {
            assert!(!self.closed.contains(&id), "event reached a closed handle");
            let h = self
                .handles
                .iter_mut()
                .find(|h| h.id == id)
                .expect("listed handles are the application's");
            if let Some(n) = self.client.link_node(link) {
                assert_eq!(n, h.node);
            }
            h.log.push(seen.clone());
        }
    }

    fn step(&mut self, action: &Action) {
        match *action {
            Action::Open { node, lane, sync } => {
                let (node, lane) = (NODES[node], LANES[lane]);
                let mut result = self.client.open(node, lane, sync);
                if let Err(CallError::Queue(QueueError::Full { .. })) = result {
                    self.drain_client();
                    result = self.client.open(node, lane, sync);
                }
                match result {
                    Ok(id) => self.handles.push(HandleModel {
                        id,
                        node,
                        lane,
                        sync,
                        log: Vec::new(),
                    }),
                    Err(CallError::TooManyHandles) => {
                        assert_eq!(self.client.handle_count(), CLIENT_HANDLES)
                    }
                    Err(CallError::TooManyLinks) => {
                        assert_eq!(self.client.link_count(), CLIENT_LINKS)
                    }
                    Err(e) => panic!("open failed: {e:?}"),
                }
            }
            Action::Close { pick } => {
                if self.handles.is_empty() {
                    return;
                }
                let i = pick % self.handles.len();
                let id = self.handles[i].id;
                let mut result = self.client.close_handle(id);
                if let Err(CallError::Queue(QueueError::Full { .. })) = result {
                    self.drain_client();
                    result = self.client.close_handle(id);
                }
                result.expect("close");
                self.handles.remove(i);
                self.closed.insert(id);
            }
            Action::Command { node, lane, value } => {
                let body = value.to_string();
                let (node, lane) = (NODES[node], LANES[lane]);
                let mut result = self.client.command(node, lane, Body::from_raw(&body));
                if let Err(CallError::Queue(QueueError::Full { .. })) = result {
                    self.drain_client();
                    result = self.client.command(node, lane, Body::from_raw(&body));
                }
                result.expect("command");
            }
            Action::Publish { node, lane, value } => {
                self.set_value(NODES[node], LANES[lane], value)
            }
            Action::DeliverC2s { defer } => {
                self.drain_client();
                self.deliver_c2s(defer);
            }
            Action::DeliverS2c => {
                self.drain_server();
                self.deliver_s2c();
            }
            Action::Answer { pick } => {
                if self.pending.is_empty() {
                    return;
                }
                let link = self.pending.remove(pick % self.pending.len());
                self.answer(link);
            }
            Action::Garbage { which } => {
                let frame = ["@bogus(node:a,lane:b)", "@link(node:\"/unit/0\"", "1 2 3"][which];
                self.drain_client();
                self.c2s.push_back(frame.to_owned());
            }
        }
        self.check_bounds();
    }

    /// Delivers everything and answers every request until nothing moves.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            self.drain_client();
            self.drain_server();
            if let Some(link) = self.pending.pop() {
                self.answer(link);
            } else if !self.c2s.is_empty() {
                self.deliver_c2s(false);
            } else if !self.s2c.is_empty() {
                self.deliver_s2c();
            } else if self.client.queued_frames() == 0 && self.server.queued_frames() == 0 {
                return;
            }
            self.check_bounds();
        }
        panic!("the connection does not settle");
    }

    fn check_at_rest(&self) {
        for h in &self.handles {
            match self.client.handle_state(h.id).expect("held handles exist") {
                HandleState::Unlinked => {
                    assert!(
                        matches!(h.log.last(), Some(Seen::Unlinked(_))),
                        "unlinked handle without a reason: {h:?}"
                    );
                }
                HandleState::Open => {
                    let link = self.client.handle_link(h.id).unwrap();
                    assert_eq!(
                        self.client.link_state(link),
                        Some(LinkState::Linked),
                        "handle neither linked nor unlinked: {h:?}"
                    );
                    if h.sync {
                        let first_event = h.log.iter().position(|s| matches!(s, Seen::Event(_)));
                        let last_synced = h.log.iter().rposition(|s| *s == Seen::Synced);
                        assert!(
                            matches!((first_event, last_synced), (Some(e), Some(s)) if e < s),
                            "sync handle did not get state then synced: {h:?}"
                        );
                    }
                    if let Some(last) = h.log.iter().rev().find_map(|s| match s {
                        Seen::Event(v) => Some(*v),
                        _ => None,
                    }) {
                        assert_eq!(last, self.value(h.node, h.lane), "stale value: {h:?}");
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        // The server's links are exactly the client's.
        let server: BTreeSet<(String, String)> = self
            .server
            .links()
            .map(|l| {
                assert_eq!(self.server.link_state(l), Some(LinkState::Linked));
                (
                    self.server.link_node(l).unwrap().to_owned(),
                    self.server.link_lane(l).unwrap().to_owned(),
                )
            })
            .collect();
        let client: BTreeSet<(String, String)> = self
            .client
            .links()
            .map(|l| {
                (
                    self.client.link_node(l).unwrap().to_owned(),
                    self.client.link_lane(l).unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(server, client);
        assert_eq!(client, self.wire_open, "wire view and client table differ");
    }
}

/// Runs the actions, settles, checks the model, then closes every handle and checks that
/// everything is unlinked on both sides.
fn run<S: Storage>(actions: &[Action]) {
    let mut world = World::<S>::new();
    for a in actions {
        world.step(a);
    }
    world.settle();
    world.check_at_rest();
    while !world.handles.is_empty() {
        world.step(&Action::Close { pick: 0 });
    }
    world.settle();
    assert_eq!(world.client.link_count(), 0);
    assert_eq!(world.client.handle_count(), 0);
    assert_eq!(world.server.link_count(), 0);
    assert!(world.wire_open.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn client_and_server_agree_with_the_model(actions in prop::collection::vec(action(), 0..80)) {
        run::<Heap>(&actions);
    }

    /// The same with fixed-capacity storage sized to the bounds (no heap in the machines).
    #[test]
    fn fixed_storage_machines_agree_with_the_model(
        actions in prop::collection::vec(action(), 0..80)
    ) {
        run::<Fixed<CLIENT_LINKS, CLIENT_HANDLES, 16, 256>>(&actions);
    }
}
