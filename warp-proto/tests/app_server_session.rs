//! The sans-IO server session: [`ConnectionSession`]s sharing one [`Hub`], driven in memory
//! on a virtual clock against real client endpoints. Fan-out across connections, watches that
//! follow links, a slow consumer closed with 1013 while the others go on, auth, and nodes
//! served by a [`NodeHandler`].

mod endpoint_util;

use endpoint_util::{client, drain, feed, Drained, VecClient};
use warp_proto::app::demo::UnitAgent;
use warp_proto::app::session::server::{ConnectionSession, Hub, ServerConfig, Signal, Status};
use warp_proto::app::{
    CommandError, EventBody, LaneEvent, LaneKind, LinkError, NodeHandler, Plane, PlaneConfig,
};
use warp_proto::endpoint::{CloseReason, EndpointConfig};
use warp_proto::envelope::Body;
use warp_proto::recon::Value;
use warp_proto::ws::{Instant, WsConfig};

/// One simulated connection: a client endpoint and the server's session, wired in memory.
struct Conn {
    client: VecClient,
    session: ConnectionSession,
    /// Client to server bytes not yet read by the session.
    c2s: Vec<u8>,
    /// The client does not read (a slow consumer): the session's output stays unwritten.
    paused: bool,
    client_closed: Option<CloseReason>,
    server_closed: Option<CloseReason>,
}

/// A hub and its connections on a virtual clock.
struct World {
    hub: Hub,
    config: ServerConfig,
    conns: Vec<Conn>,
    now: Instant,
}

fn ws_config() -> WsConfig {
    WsConfig::default()
        .with_ping_interval(None)
        .with_idle_timeout(None)
}

impl World {
    fn new(plane: Plane, config: ServerConfig) -> World {
        World {
            hub: Hub::new(plane),
            config: config.with_endpoint(EndpointConfig::default().with_ws(ws_config())),
            conns: Vec::new(),
            now: Instant::ZERO,
        }
    }

    fn demo(config: ServerConfig) -> World {
        let mut plane = Plane::new(PlaneConfig::default());
        UnitAgent::route(&mut plane).unwrap();
        World::new(plane, config)
    }

    /// Opens a connection (upgrade included); returns its index.
    fn connect(
        &mut self,
        authenticator: Option<warp_proto::app::session::server::Authenticator>,
    ) -> usize {
        let session =
            ConnectionSession::new(&mut self.hub, self.now, &self.config, authenticator).unwrap();
        self.conns.push(Conn {
            client: client(EndpointConfig::default().with_ws(ws_config())),
            session,
            c2s: Vec::new(),
            paused: false,
            client_closed: None,
            server_closed: None,
        });
        let i = self.conns.len() - 1;
        self.run();
        assert!(self.conns[i].client.ep.is_connected(), "upgrade done");
        self.log(i).clear();
        i
    }

    fn log(&mut self, i: usize) -> &mut Vec<String> {
        &mut self.conns[i].client.log
    }

    /// Moves bytes and signals until nothing moves (bounded).
    fn run(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            for conn in &mut self.conns {
                moved |= step(conn, &mut self.hub, self.now);
            }
            if !moved {
                return;
            }
        }
        panic!("the world does not settle");
    }
}

/// One round of one connection; returns whether anything moved.
fn step(conn: &mut Conn, hub: &mut Hub, now: Instant) -> bool {
    let mut moved = false;
    // The client's output goes on the wire.
    if conn.client_closed.is_none() {
        let mut out = Drained::default();
        drain(&mut conn.client, now, &mut out);
        moved |= !out.bytes.is_empty();
        conn.c2s.extend_from_slice(&out.bytes);
        conn.client_closed = out.closed;
    }
    if conn.server_closed.is_some() {
        return moved;
    }
    let interest = match conn.session.poll(&mut *hub, now) {
        Status::Wait(interest) => interest,
        Status::Closed(reason) => {
            // The last bytes (the close frame) reach a client that reads.
            let rest = conn.session.final_output().unwrap_or_default().to_vec();
            if !conn.paused && conn.client_closed.is_none() {
                let mut out = Drained::default();
                feed(&mut conn.client, now, &rest, &mut out);
                conn.c2s.extend_from_slice(&out.bytes);
                conn.client_closed = out.closed;
            }
            conn.session.leave(&mut *hub);
            conn.server_closed = Some(reason);
            return true;
        }
    };
    if interest.read && !conn.c2s.is_empty() {
        let (read, _) = conn.session.buffers();
        let n = read.len().min(conn.c2s.len());
        read[..n].copy_from_slice(&conn.c2s[..n]);
        conn.c2s.drain(..n);
        conn.session.read(n, now);
        return true;
    }
    if interest.write && !conn.paused {
        let (_, write) = conn.session.buffers();
        let bytes = write.to_vec();
        conn.session.wrote(bytes.len(), now);
        if conn.client_closed.is_none() {
            let mut out = Drained::default();
            feed(&mut conn.client, now, &bytes, &mut out);
            conn.c2s.extend_from_slice(&out.bytes);
            conn.client_closed = out.closed;
        }
        return true;
    }
    if interest.flush {
        conn.session.flushed();
        moved = true;
    }
    if interest.hub {
        if let Some(signal) = hub.take_signal(conn.session.id(), interest.changes) {
            conn.session.signal(signal);
            return true;
        }
    }
    moved
}

fn body(text: &str) -> Body<'_> {
    Body::from_raw(text)
}

#[test]
fn a_change_fans_out_to_every_connection_watching_the_node_and_no_other() {
    let mut w = World::demo(ServerConfig::default());
    let (a, b, c) = (w.connect(None), w.connect(None), w.connect(None));
    w.conns[a].client.ep.link("/unit/2", "count").unwrap();
    w.conns[b].client.ep.link("/unit/2", "count").unwrap();
    w.conns[c].client.ep.link("/unit/3", "count").unwrap();
    w.run();
    w.conns[c]
        .client
        .ep
        .command("/unit/2", "add", body("4"))
        .unwrap();
    w.conns[c]
        .client
        .ep
        .command("/unit/3", "add", body("1"))
        .unwrap();
    w.run();
    assert_eq!(w.log(a).as_slice(), ["linked [0]", "event 4 [0]"]);
    assert_eq!(w.log(b).as_slice(), ["linked [0]", "event 4 [0]"]);
    assert_eq!(w.log(c).as_slice(), ["linked [0]", "event 1 [0]"]);
}

#[test]
fn link_watches_and_unlink_or_refusal_unwatches_the_node() {
    let mut w = World::demo(ServerConfig::default());
    let a = w.connect(None);
    let id = w.conns[a].session.id();
    let h = w.conns[a].client.ep.link("/unit/1", "info").unwrap();
    w.conns[a].client.ep.link("/unit/1", "nolane").unwrap();
    w.conns[a].client.ep.link("/nowhere/1", "info").unwrap();
    w.run();
    assert!(w.hub.watches(id, "/unit/1"));
    assert!(
        !w.hub.watches(id, "/nowhere/1"),
        "a refused link watches nothing"
    );
    assert_eq!(w.conns[a].session.link_count(), 1);
    w.conns[a].client.ep.close_handle(h).unwrap();
    w.run();
    assert!(!w.hub.watches(id, "/unit/1"), "unlinked: no longer watched");
    assert_eq!(
        w.hub
            .command("/unit/1", "set_info", Value::text("x"), w.now),
        Ok(0)
    );
    w.run();
    let log = w.log(a).clone();
    assert_eq!(log.first().map(String::as_str), Some("linked [0]"));
    assert!(
        log.iter()
            .any(|l| l.contains("nolane") && l.contains("LaneNotFound")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("/nowhere/1") && l.contains("NodeNotFound")),
        "{log:?}"
    );
    assert!(!log.iter().any(|l| l.starts_with("event")), "{log:?}");
}

#[test]
fn leaving_the_hub_ends_every_watch_of_the_connection() {
    let mut w = World::demo(ServerConfig::default());
    let a = w.connect(None);
    let id = w.conns[a].session.id();
    w.conns[a].client.ep.link("/unit/1", "info").unwrap();
    w.conns[a].client.ep.link("/unit/2", "info").unwrap();
    w.run();
    assert!(w.hub.watches(id, "/unit/1") && w.hub.watches(id, "/unit/2"));
    w.conns[a].client.ep.close();
    w.run();
    assert!(w.conns[a].server_closed.is_some());
    assert_eq!(w.hub.connections(), 0);
    assert!(!w.hub.watches(id, "/unit/1") && !w.hub.watches(id, "/unit/2"));
}

#[test]
fn a_slow_consumer_is_closed_with_1013_while_the_others_get_every_change() {
    let config = ServerConfig::default()
        .with_fanout_capacity(4)
        .with_write_high_water(1024);
    let mut w = World::demo(config);
    let (slow, fast) = (w.connect(None), w.connect(None));
    for i in [slow, fast] {
        w.conns[i].client.ep.link("/unit/9", "info").unwrap();
    }
    w.run();
    w.conns[slow].paused = true;
    let text = "x".repeat(300);
    let mut published = 0;
    for _ in 0..64 {
        w.hub
            .modify("/unit/9", w.now, |lanes| {
                lanes.set_value("info", text.as_str())
            })
            .unwrap();
        published += 1;
        w.run();
    }
    assert!(
        w.conns[fast].server_closed.is_none(),
        "the healthy one goes on"
    );
    let events = |w: &mut World, i| w.log(i).iter().filter(|l| l.starts_with("event")).count();
    assert_eq!(events(&mut w, fast), published);
    // Once it reads again, the slow client gets what was written before its queue
    // overflowed, then the close frame: 1013.
    w.conns[slow].paused = false;
    w.run();
    assert!(
        events(&mut w, slow) < published,
        "changes were dropped for it"
    );
    assert!(
        w.conns[slow].server_closed.is_some(),
        "the slow consumer was closed"
    );
    let closed = format!("{:?}", w.conns[slow].client_closed);
    assert!(
        closed.contains("1013") || closed.contains("TryAgainLater"),
        "{closed}"
    );
    assert!(w.conns[fast].server_closed.is_none());
}

#[test]
fn shutting_down_the_hub_closes_every_connection_with_1001() {
    let mut w = World::demo(ServerConfig::default());
    let (a, b) = (w.connect(None), w.connect(None));
    w.hub.shut_down();
    w.run();
    for i in [a, b] {
        let server = format!("{:?}", w.conns[i].server_closed);
        assert!(
            server.contains("1001") || server.contains("GoingAway"),
            "{server}"
        );
        let client = format!("{:?}", w.conns[i].client_closed);
        assert!(
            client.contains("1001") || client.contains("GoingAway"),
            "{client}"
        );
    }
    assert_eq!(w.hub.connections(), 0);
    assert_eq!(w.hub.take_signal(0, 8), Some(Signal::Gone));
}

#[test]
fn auth_is_answered_by_the_authenticator_and_refusal_closes_with_1008() {
    let mut w = World::demo(ServerConfig::default());
    let check: warp_proto::app::session::server::Authenticator =
        std::sync::Arc::new(|credentials: &str| credentials == "{token:secret}");
    let (good, bad) = (w.connect(Some(check.clone())), w.connect(Some(check)));
    w.conns[good]
        .client
        .ep
        .auth(body("{token:secret}"))
        .unwrap();
    w.conns[bad].client.ep.auth(body("{token:guess}")).unwrap();
    w.run();
    assert_eq!(w.log(good).as_slice(), ["authed "]);
    assert!(
        w.log(bad).iter().any(|l| l.starts_with("deauthed")),
        "{:?}",
        w.log(bad)
    );
    let closed = format!("{:?}", w.conns[bad].client_closed);
    assert!(
        closed.contains("1008") || closed.contains("Policy"),
        "{closed}"
    );
    assert!(w.conns[good].server_closed.is_none());
}

/// Computed lanes: `square` is the square of the last value commanded to `input`; `total` is
/// a value lane the application publishes itself.
#[derive(Default)]
struct Squares {
    last: i64,
}

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
            LaneKind::Value => Ok(vec![EventBody::new(Value::Int(
                self.last.saturating_mul(self.last),
            ))
            .unwrap()]),
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
        if lane != "input" {
            return Err(CommandError::LaneNotFound);
        }
        let n = body.as_i64().ok_or(CommandError::LaneNotFound)?;
        self.last = n;
        let body =
            EventBody::new(Value::Int(n.saturating_mul(n))).map_err(CommandError::BadBody)?;
        Ok(vec![LaneEvent {
            lane: "square".into(),
            body,
        }])
    }
}

fn squares_world() -> World {
    let mut plane = Plane::new(PlaneConfig::default());
    plane
        .route_handler("/calc/:id", |params| {
            params.get("id")?.parse::<u32>().ok()?;
            Some(Box::new(Squares::default()))
        })
        .unwrap();
    World::new(plane, ServerConfig::default())
}

#[test]
fn a_node_handler_serves_the_sync_of_a_computed_lane_and_publishes_its_commands() {
    let mut w = squares_world();
    let (a, b) = (w.connect(None), w.connect(None));
    w.conns[a]
        .client
        .ep
        .command("/calc/1", "input", body("3"))
        .unwrap();
    w.run();
    w.conns[b].client.ep.sync("/calc/1", "square").unwrap();
    w.run();
    assert_eq!(
        w.log(b).as_slice(),
        ["linked [0]", "event 9 [0]", "synced [0]"]
    );
    w.conns[a]
        .client
        .ep
        .command("/calc/1", "input", body("-5"))
        .unwrap();
    w.run();
    assert_eq!(w.log(b).last().map(String::as_str), Some("event 25 [0]"));
    assert!(w.log(a).is_empty(), "a is not linked: {:?}", w.log(a));
}

#[test]
fn a_node_handler_refuses_unknown_nodes_and_lanes() {
    let mut w = squares_world();
    let a = w.connect(None);
    w.conns[a].client.ep.link("/calc/x", "square").unwrap();
    w.conns[a].client.ep.link("/calc/1", "cube").unwrap();
    w.run();
    let log = w.log(a).clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log[0].contains("/calc/x") && log[0].contains("NodeNotFound"),
        "{log:?}"
    );
    assert!(
        log[1].contains("cube") && log[1].contains("LaneNotFound"),
        "{log:?}"
    );
    assert_eq!(
        w.hub.plane().agent_count(),
        0,
        "the node started for a refused lane is dropped again"
    );
}

#[test]
fn events_the_application_publishes_for_a_handler_node_reach_its_links() {
    let mut w = squares_world();
    let a = w.connect(None);
    w.conns[a].client.ep.link("/calc/2", "square").unwrap();
    w.run();
    let body = EventBody::new(Value::Int(64)).unwrap();
    let published = w.hub.plane_mut().publish(
        "/calc/2",
        vec![LaneEvent {
            lane: "square".into(),
            body,
        }],
    );
    assert_eq!(w.hub.publish(published), 1);
    w.run();
    assert_eq!(w.log(a).as_slice(), ["linked [0]", "event 64 [0]"]);
}

#[test]
fn the_session_hands_timeouts_to_the_endpoint() {
    // A server with an idle timeout drops a silent client at the deadline it asked for.
    let mut w = World::demo(ServerConfig::default());
    w.config = w.config.with_endpoint(
        EndpointConfig::default().with_ws(
            WsConfig::default()
                .with_ping_interval(None)
                .with_idle_timeout(Some(core::time::Duration::from_millis(300))),
        ),
    );
    let a = w.connect(None);
    let Status::Wait(interest) = w.conns[a].session.poll(&mut w.hub, w.now) else {
        panic!("open");
    };
    let deadline = interest.deadline.expect("an idle deadline");
    assert_eq!(deadline, Instant::from_millis(300));
    w.now = deadline;
    w.conns[a].session.timeout(w.now);
    w.run();
    assert_eq!(w.conns[a].server_closed, Some(CloseReason::IdleTimeout));
}
