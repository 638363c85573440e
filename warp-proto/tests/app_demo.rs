//! The demo agent (`/unit/:id`, the agent the SwimOS peer server hosts) served through
//! `Plane` + `Uplinks` + `ServerConnection`: the scenario of the interop tests, and every
//! recorded trace the application layer concerns, replayed against it.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::trace::{read_trace, Dir, Payload, Trace};
use warp_proto::app::{demo::UnitAgent, Handled, Plane, PlaneConfig, Pump, Uplinks};
use warp_proto::connection::{Config, HandleError, ServerConnection, Transmit};
use warp_proto::envelope::{Envelope, Tag};
use warp_proto::recon::Value;
use warp_proto::ws::Instant;

/// A plane and its connections, wired as a driver would wire them.
struct Server {
    plane: Plane,
    conns: Vec<(ServerConnection, Uplinks)>,
    /// Frames written per connection.
    out: Vec<Vec<String>>,
}

impl Server {
    fn new(connections: usize, config: Config) -> Server {
        let mut plane = Plane::new(PlaneConfig::default());
        UnitAgent::route(&mut plane).unwrap();
        Server {
            plane,
            conns: (0..connections)
                .map(|_| (ServerConnection::new(config), Uplinks::default()))
                .collect(),
            out: vec![Vec::new(); connections],
        }
    }

    /// Feeds one frame to connection `i`; returns the protocol error count it caused.
    fn frame(&mut self, i: usize, frame: &str) -> u32 {
        let (conn, uplinks) = &mut self.conns[i];
        let mut bad = 0;
        match conn.handle_frame(frame) {
            Ok(Some(request)) => {
                match uplinks
                    .handle(&mut self.plane, conn, request, Instant::ZERO)
                    .unwrap()
                {
                    Handled::Publish(p) => {
                        for (_, u) in &mut self.conns {
                            u.deliver(p.clone()).unwrap();
                        }
                    }
                    Handled::Auth(_) => conn.authenticate(true).unwrap(),
                    _ => {}
                }
            }
            Ok(None) => {}
            Err(HandleError::Protocol(_)) => bad = 1,
            Err(e) => panic!("{frame}: {e}"),
        }
        self.pump_all();
        bad
    }

    fn pump_all(&mut self) {
        for ((conn, uplinks), out) in self.conns.iter_mut().zip(&mut self.out) {
            loop {
                let state = uplinks.pump(conn).unwrap();
                while let Some(t) = conn.poll_transmit() {
                    match t {
                        Transmit::Frame(f) => out.push(f.to_owned()),
                        Transmit::Close(c) => out.push(format!("close {}", c.code())),
                    }
                }
                if state == Pump::Idle {
                    break;
                }
            }
        }
    }

    fn take(&mut self, i: usize) -> Vec<String> {
        std::mem::take(&mut self.out[i])
    }
}

#[test]
fn demo_scenario_set_info_add_add_remove() {
    let mut server = Server::new(2, Config::default());
    // Connection 0 watches every stateful lane; connection 1 sends the commands.
    for lane in ["info", "count", "history"] {
        server.frame(0, &format!("@sync(node:\"/unit/1\",lane:{lane})"));
    }
    assert_eq!(
        server.take(0),
        [
            "@linked(node:\"/unit/1\",lane:info)",
            "@event(node:\"/unit/1\",lane:info)\"\"",
            "@synced(node:\"/unit/1\",lane:info)",
            "@linked(node:\"/unit/1\",lane:count)",
            "@event(node:\"/unit/1\",lane:count) 0",
            "@synced(node:\"/unit/1\",lane:count)",
            "@linked(node:\"/unit/1\",lane:history)",
            "@synced(node:\"/unit/1\",lane:history)",
        ]
    );
    server.frame(1, "@command(node:\"/unit/1\",lane:set_info)\"unit one\"");
    server.frame(1, "@command(node:\"/unit/1\",lane:add) 5");
    server.frame(1, "@command(node:\"/unit/1\",lane:add) 3");
    assert_eq!(
        server.take(0),
        [
            "@event(node:\"/unit/1\",lane:info)\"unit one\"",
            "@event(node:\"/unit/1\",lane:count) 5",
            "@event(node:\"/unit/1\",lane:history)@update(key:5) 5",
            "@event(node:\"/unit/1\",lane:count) 8",
            "@event(node:\"/unit/1\",lane:history)@update(key:8) 3",
        ]
    );
    // The commander has no links: it gets nothing.
    assert!(server.take(1).is_empty());

    // A late syncer sees the state: count 8, history {5:5, 8:3}.
    server.frame(1, "@sync(node:\"/unit/1\",lane:count)");
    server.frame(1, "@sync(node:\"/unit/1\",lane:history)");
    assert_eq!(
        server.take(1),
        [
            "@linked(node:\"/unit/1\",lane:count)",
            "@event(node:\"/unit/1\",lane:count) 8",
            "@synced(node:\"/unit/1\",lane:count)",
            "@linked(node:\"/unit/1\",lane:history)",
            "@event(node:\"/unit/1\",lane:history)@update(key:5) 5",
            "@event(node:\"/unit/1\",lane:history)@update(key:8) 3",
            "@synced(node:\"/unit/1\",lane:history)",
        ]
    );

    server.frame(1, "@command(node:\"/unit/1\",lane:remove) 5");
    let removed = "@event(node:\"/unit/1\",lane:history)@remove(key:5)";
    assert_eq!(server.take(0), [removed]);
    assert_eq!(server.take(1), [removed]);
    // Removing it again changes nothing and publishes nothing.
    server.frame(1, "@command(node:\"/unit/1\",lane:remove) 5");
    assert!(server.take(0).is_empty());

    // A record to the text command lane is dropped (trace event_downlink).
    server.frame(1, "@command(node:\"/unit/1\",lane:set_info){a:1}");
    assert!(server.take(0).is_empty());

    let agent = server.plane.agent("/unit/1").unwrap();
    assert_eq!(
        agent.lane("info").unwrap().as_value().unwrap().get(),
        &Value::text("unit one")
    );
    assert_eq!(
        agent.lane("count").unwrap().as_value().unwrap().get(),
        &Value::Int(8)
    );
    let history: Vec<(i64, i64)> = agent
        .lane("history")
        .unwrap()
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_i64().unwrap(), v.as_i64().unwrap()))
        .collect();
    assert_eq!(history, [(8, 3)]);
    // Another node is another agent, with its own state.
    server.frame(1, "@sync(node:\"/unit/2\",lane:count)");
    assert_eq!(server.take(1)[1], "@event(node:\"/unit/2\",lane:count) 0");
    assert_eq!(server.plane.agent_count(), 2);
}

#[test]
fn demo_agent_refuses_an_add_that_would_overflow() {
    let mut server = Server::new(1, Config::default());
    server.frame(0, "@link(node:\"/unit/1\",lane:count)");
    server.frame(
        0,
        &format!("@command(node:\"/unit/1\",lane:add) {}", i64::MAX),
    );
    server.frame(0, "@command(node:\"/unit/1\",lane:add) 1");
    server.frame(0, "@command(node:\"/unit/1\",lane:add) 1.5");
    assert_eq!(
        server.take(0),
        [
            "@linked(node:\"/unit/1\",lane:count)".to_owned(),
            format!("@event(node:\"/unit/1\",lane:count) {}", i64::MAX),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Recorded traces.

/// A compared server-to-client item: (tag, node, lane, body).
type Item = (Tag, String, String, Value);

fn decode(frame: &str) -> Item {
    let env = Envelope::decode(frame).unwrap_or_else(|e| panic!("{frame}: {e}"));
    (
        env.tag,
        env.node.to_string(),
        env.lane.to_string(),
        env.body.to_value().unwrap(),
    )
}

/// Items per (node, lane), in order; the events of each sync window sorted when `unordered`.
fn per_link(frames: &[String], unordered: bool) -> BTreeMap<(String, String), Vec<Item>> {
    let mut map: BTreeMap<(String, String), Vec<Item>> = BTreeMap::new();
    for f in frames {
        let item = decode(f);
        map.entry((item.1.clone(), item.2.clone()))
            .or_default()
            .push(item);
    }
    if unordered {
        for items in map.values_mut() {
            let mut start = None;
            for i in 0..items.len() {
                match items[i].0 {
                    Tag::Event => {
                        start.get_or_insert(i);
                    }
                    Tag::Synced => {
                        if let Some(s) = start.take() {
                            items[s..i].sort_by_key(|it| format!("{it:?}"));
                        }
                    }
                    _ => start = None,
                }
            }
        }
    }
    map
}

/// Replays the client frames of `trace`; returns what the server wrote and the bad frames.
fn replay(trace: &Trace) -> (Vec<String>, u32) {
    let mut server = Server::new(1, Config::default());
    let mut bad = 0;
    for f in trace.frames.iter().filter(|f| f.dir == Dir::C2s) {
        match &f.payload {
            Payload::Text(t) => bad += server.frame(0, t),
            Payload::Binary(_) => {
                server.conns[0].0.handle_binary_frame(8);
                bad += 1;
            }
            Payload::Close(_) => {} // the WebSocket layer's close handshake
        }
    }
    (server.take(0), bad)
}

fn recorded(trace: &Trace) -> Vec<String> {
    trace
        .frames
        .iter()
        .filter(|f| f.dir == Dir::S2c)
        .filter_map(|f| match &f.payload {
            Payload::Text(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

fn traces() -> Vec<Trace> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/traces");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    paths.sort();
    paths.iter().map(|p| read_trace(p).unwrap()).collect()
}

#[test]
fn recorded_swimos_traces_replay_against_the_demo_agent() {
    let traces = traces();
    let mut replayed = Vec::new();
    for trace in &traces {
        if trace.profile_differs.is_some() {
            continue; // connection-level differences, checked by trace_replay.rs
        }
        let (got, bad) = replay(trace);
        assert_eq!(bad, 0, "{}", trace.name);
        let unordered = trace.order.contains("unordered");
        assert_eq!(
            per_link(&got, unordered),
            per_link(&recorded(trace), unordered),
            "{}: got {got:#?}",
            trace.name
        );
        replayed.push(trace.name.as_str());
    }
    for name in [
        "value_link",
        "value_sync",
        "map_sync",
        "shared_downlink",
        "not_found",
        "event_downlink",
        "unlink_unopened",
        "prio_rate",
    ] {
        assert!(
            replayed.contains(&name),
            "trace {name} not replayed: {replayed:?}"
        );
    }
}

#[test]
fn positional_header_sync_is_answered_as_profile_md_says() {
    // SwimOS closes with 1002; PROFILE.md reads positional header arguments.
    let trace = traces()
        .into_iter()
        .find(|t| t.name == "positional_header")
        .expect("trace positional_header");
    let (got, bad) = replay(&trace);
    assert_eq!(bad, 0);
    assert_eq!(
        got,
        [
            "@linked(node:\"/unit/17\",lane:info)",
            "@event(node:\"/unit/17\",lane:info)\"\"",
            "@synced(node:\"/unit/17\",lane:info)",
        ]
    );
}

#[test]
fn trace_comparison_notices_a_wrong_body() {
    let trace = traces().into_iter().find(|t| t.name == "map_sync").unwrap();
    let (mut got, _) = replay(&trace);
    let i = got
        .iter()
        .position(|f| f.contains("@update(key:10) 4"))
        .unwrap();
    got[i] = got[i].replace("4", "5");
    assert_ne!(per_link(&got, true), per_link(&recorded(&trace), true));
}
