//! Replays the recorded traces of `conformance/traces/` against the bare server machine, hosting
//! the demo agents of the recordings in test code.
//!
//! The agents: nodes `/unit/:id`; lanes `info` (value lane of text, initially `""`), `count`
//! (value lane of integer, initially 0), `history` (map lane integer → integer); command lanes
//! `set_info` (sets `info`), `add` (adds its integer to `count`, records the new total as a key
//! of `history` with the added amount as value) and `remove` (removes a key from `history`).
//! Unknown node → `nodeNotFound`, unknown lane → `laneNotFound`.
//!
//! The client's `c2s` frames are fed one by one; our `s2c` output is compared with the
//! recording as decoded envelopes (tag, node, lane, prio, rate, body value), in order per link
//! and for the connection-level envelopes, as CONFORMANCE.md says. After each `c2s` frame the
//! replies the recording shows before the next `c2s` frame must already be out, and no link may
//! have more output than the recording. Traces whose `order` says map sync entries are unordered
//! compare the events of each sync window as a multiset.
//!
//! The WebSocket close handshake (a `c2s` close and the `s2c` close answering it) belongs to the
//! WebSocket layer, not to this machine, and is not replayed. Traces marked `profile_differs`
//! are checked against PROFILE.md's behaviour, each in [`profile_expectation`]; where that
//! difference is only the bad-frame tolerance, the recording itself is also replayed with
//! `max_protocol_errors = 0`, which reproduces the reference's close with 1002.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::trace::{read_trace, Dir, Payload, Trace};
use warp_proto::connection::{
    Accepted, Config, HandleError, LinkId, ProtocolErrorKind, Rejection, ServerConnection,
    ServerRequest, Transmit,
};
use warp_proto::envelope::{Body, Envelope, Tag};
use warp_proto::recon::Value;

// ---------------------------------------------------------------------------------------------
// The demo agents.

#[derive(Default)]
struct Unit {
    info: String,
    count: i64,
    history: BTreeMap<i64, i64>,
}

/// The server application: the agents plus the glue to one server connection.
#[derive(Default)]
struct Agents {
    units: BTreeMap<String, Unit>,
}

fn is_unit(node: &str) -> bool {
    node.strip_prefix("/unit/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

const LANES: [&str; 6] = ["info", "count", "history", "set_info", "add", "remove"];

fn text_body(s: &str) -> String {
    Value::Text(s.to_owned()).to_recon_string().unwrap()
}

impl Agents {
    fn unit(&mut self, node: &str) -> &mut Unit {
        self.units.entry(node.to_owned()).or_default()
    }

    /// The state a `sync` sends: one event per value lane, one per map entry.
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

    fn send_state(&mut self, server: &mut ServerConnection, link: LinkId) {
        let node = server.link_node(link).unwrap().to_owned();
        let lane = server.link_lane(link).unwrap().to_owned();
        for body in self.state(&node, &lane) {
            server.sync_event(link, Body::from_raw(&body)).unwrap();
        }
        server.synced(link).unwrap();
    }

    /// Answers what one frame asked.
    fn serve(&mut self, server: &mut ServerConnection, request: Option<ServerRequest<'_>>) {
        match request {
            None | Some(ServerRequest::Unlink { .. }) | Some(ServerRequest::Deauth) => {}
            Some(ServerRequest::Link {
                link, node, lane, ..
            }) => {
                let (node, lane) = (node.to_string(), lane.to_string());
                if !is_unit(&node) {
                    server.reject(link, Rejection::NodeNotFound).unwrap();
                } else if !LANES.contains(&lane.as_str()) {
                    server.reject(link, Rejection::LaneNotFound).unwrap();
                } else if server.accept(link).unwrap() == Accepted::Syncing {
                    self.send_state(server, link);
                }
            }
            Some(ServerRequest::Sync { link }) => self.send_state(server, link),
            Some(ServerRequest::Command { node, lane, body }) => {
                let node = node.to_string();
                if !is_unit(&node) {
                    return;
                }
                let value = body.to_value().unwrap_or(Value::Absent);
                let unit = self.unit(&node);
                let mut events: Vec<(&str, String)> = Vec::new();
                match (lane.to_string().as_str(), value) {
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
                    // A body that does not fit the command lane is dropped, as SwimOS does; so
                    // is the removal of a key not in the map.
                    _ => {}
                }
                for (lane, body) in events {
                    server.publish(&node, lane, Body::from_raw(&body)).unwrap();
                }
            }
            Some(ServerRequest::Auth { .. }) => server.authenticate(true).unwrap(),
            Some(other) => panic!("unexpected request {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing output.

/// One s2c item as compared: a decoded envelope, or a close.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    Envelope {
        tag: Tag,
        node: String,
        lane: String,
        prio: f32,
        rate: f32,
        body: Value,
    },
    Close(u16),
}

/// Per-link order key: (node, lane), or ("", "") for host-addressed envelopes and closes.
type Key = (String, String);

fn decode_item(frame: &str) -> (Key, Item) {
    let env = Envelope::decode(frame).unwrap_or_else(|e| panic!("{frame}: {e}"));
    let body = env
        .body
        .to_value()
        .unwrap_or_else(|e| panic!("{frame}: {e}"));
    let key = (env.node.to_string(), env.lane.to_string());
    let item = Item::Envelope {
        tag: env.tag,
        node: key.0.clone(),
        lane: key.1.clone(),
        prio: env.prio,
        rate: env.rate,
        body,
    };
    (key, item)
}

fn close_item(code: u16) -> (Key, Item) {
    ((String::new(), String::new()), Item::Close(code))
}

#[derive(Default, Debug)]
struct PerLink(BTreeMap<Key, Vec<Item>>);

impl PerLink {
    fn push(&mut self, (key, item): (Key, Item)) {
        self.0.entry(key).or_default().push(item);
    }

    fn len(&self, key: &Key) -> usize {
        self.0.get(key).map_or(0, Vec::len)
    }

    /// Sorts the events of each sync window (the events right before a `synced`).
    fn canonical(&self, unordered_sync: bool) -> BTreeMap<Key, Vec<Item>> {
        let mut out = self.0.clone();
        if !unordered_sync {
            return out;
        }
        for items in out.values_mut() {
            let mut start = None;
            for i in 0..items.len() {
                match &items[i] {
                    Item::Envelope {
                        tag: Tag::Event, ..
                    } => {
                        start.get_or_insert(i);
                    }
                    Item::Envelope {
                        tag: Tag::Synced, ..
                    } => {
                        if let Some(s) = start.take() {
                            items[s..i].sort_by_key(|it| format!("{it:?}"));
                        }
                    }
                    _ => start = None,
                }
            }
        }
        out
    }
}

/// What a replay expects: the s2c items, and how many frames must be reported as bad.
struct Expectation {
    s2c: Vec<(Key, Item)>,
    protocol_errors: u32,
    /// After each c2s frame (by index among c2s frames), the s2c items that must be out.
    due: Vec<Vec<(Key, Item)>>,
}

/// The recording's own expectation: its s2c frames, minus the closes answering a c2s close.
fn recorded_expectation(trace: &Trace) -> Expectation {
    let mut s2c = Vec::new();
    let mut due: Vec<Vec<(Key, Item)>> = Vec::new();
    let mut client_closed = false;
    for f in &trace.frames {
        match (&f.dir, &f.payload) {
            (Dir::C2s, Payload::Close(_)) => client_closed = true,
            (Dir::C2s, _) => due.push(s2c.clone()),
            (Dir::S2c, Payload::Close(_)) if client_closed => {}
            (Dir::S2c, Payload::Close(code)) => s2c.push(close_item(*code)),
            (Dir::S2c, Payload::Text(t)) => s2c.push(decode_item(t)),
            (Dir::S2c, Payload::Binary(_)) => panic!("{}: binary s2c frame", trace.name),
        }
    }
    // What is due after c2s frame i is everything recorded before c2s frame i + 1.
    let mut shifted: Vec<Vec<(Key, Item)>> = due.iter().skip(1).cloned().collect();
    shifted.push(s2c.clone());
    Expectation {
        protocol_errors: 0,
        s2c,
        due: shifted,
    }
}

/// PROFILE.md's behaviour for the traces marked `profile_differs`. A trace marked so that is
/// not listed here fails the test: every difference must be looked at and documented.
fn profile_expectation(trace: &Trace) -> Option<Expectation> {
    let c2s = trace
        .frames
        .iter()
        .filter(|f| f.dir == Dir::C2s && !matches!(f.payload, Payload::Close(_)))
        .count();
    let nothing = |errors| Expectation {
        s2c: Vec::new(),
        protocol_errors: errors,
        due: vec![Vec::new(); c2s],
    };
    match trace.name.as_str() {
        // SwimOS closes with 1002 on the first frame that is not an envelope (unparseable
        // Recon, an unknown tag, a missing lane) or is binary. PROFILE.md: the frame is
        // reported as a protocol error and counted; the connection goes on; nothing is sent.
        "malformed_recon" | "unknown_tag" | "missing_lane" | "binary_frame" => Some(nothing(1)),
        // SwimOS rejects positional header arguments with 1002; PROFILE.md reads them (first
        // value node, second lane), so the sync is answered as any sync.
        "positional_header" => {
            let s2c: Vec<(Key, Item)> = [
                "@linked(node:\"/unit/17\",lane:info)",
                "@event(node:\"/unit/17\",lane:info)\"\"",
                "@synced(node:\"/unit/17\",lane:info)",
            ]
            .into_iter()
            .map(decode_item)
            .collect();
            Some(Expectation {
                due: vec![s2c.clone()],
                s2c,
                protocol_errors: 0,
            })
        }
        // SwimOS ignores auth and deauth. PROFILE.md: `auth` is answered `@authed` (the demo
        // authenticator accepts everyone), `deauth` with `@deauthed` and a close (1000); the
        // sync that follows arrives on a closing connection and is not answered.
        "auth_ignored" => {
            let authed = decode_item("@authed");
            let deauthed = decode_item("@deauthed");
            let close = close_item(1000);
            Some(Expectation {
                s2c: vec![authed.clone(), deauthed.clone(), close.clone()],
                protocol_errors: 0,
                due: vec![
                    vec![authed.clone()],
                    vec![authed.clone(), deauthed.clone()],
                    vec![authed, deauthed, close],
                ],
            })
        }
        _ => None,
    }
}

/// Feeds the trace's c2s frames to a fresh server and checks its output against `expect`.
fn replay(trace: &Trace, config: Config, expect: &Expectation) -> Result<(), String> {
    let mut server = ServerConnection::new(config);
    let mut agents = Agents::default();
    let mut actual = PerLink::default();
    let mut errors = 0;
    let total = {
        let mut p = PerLink::default();
        for it in &expect.s2c {
            p.push(it.clone());
        }
        p
    };
    let unordered = trace.order.contains("unordered");
    let mut step = 0;
    for f in trace.frames.iter().filter(|f| f.dir == Dir::C2s) {
        let result = match &f.payload {
            Payload::Close(_) => continue, // the WebSocket layer's close handshake
            Payload::Text(t) => server.handle_frame(t).map(|r| agents.serve(&mut server, r)),
            Payload::Binary(b) => Err(server.handle_binary_frame(b.len() * 3 / 4)),
        };
        match result {
            Ok(()) => {}
            Err(HandleError::Protocol(e)) => {
                errors += 1;
                assert_eq!(e.count, errors);
                if matches!(f.payload, Payload::Binary(_)) {
                    assert_eq!(e.kind, ProtocolErrorKind::Binary);
                } else {
                    assert!(matches!(e.kind, ProtocolErrorKind::Envelope(_)), "{e:?}");
                }
            }
            Err(HandleError::Closed) => {} // a frame after our close: not answered
            Err(e) => return Err(format!("frame {f:?}: {e}")),
        }
        while let Some(t) = server.poll_transmit() {
            actual.push(match t {
                Transmit::Frame(s) => decode_item(s),
                Transmit::Close(c) => close_item(c.code()),
            });
        }
        // What the recording shows before the next c2s frame is out; nothing beyond the
        // recording is.
        let due = {
            let mut p = PerLink::default();
            for it in expect.due.get(step).into_iter().flatten() {
                p.push(it.clone());
            }
            p
        };
        for key in actual.0.keys().chain(due.0.keys()) {
            if actual.len(key) < due.len(key) {
                return Err(format!(
                    "after c2s frame {step}: {key:?} has {} items, {} due",
                    actual.len(key),
                    due.len(key)
                ));
            }
            if actual.len(key) > total.len(key) {
                return Err(format!(
                    "after c2s frame {step}: extra output on {key:?}: {:?}",
                    actual.0.get(key)
                ));
            }
        }
        step += 1;
    }
    if errors != expect.protocol_errors {
        return Err(format!(
            "{errors} protocol errors, expected {}",
            expect.protocol_errors
        ));
    }
    let (got, want) = (actual.canonical(unordered), total.canonical(unordered));
    if got != want {
        return Err(format!("output differs:\n got {got:#?}\nwant {want:#?}"));
    }
    Ok(())
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
fn every_recorded_trace_replays_against_the_server_machine() {
    let traces = traces();
    assert!(traces.len() >= 14, "traces missing: {}", traces.len());
    let mut failures = Vec::new();
    for trace in &traces {
        let result = match &trace.profile_differs {
            None => replay(trace, Config::default(), &recorded_expectation(trace)),
            Some(_) => match profile_expectation(trace) {
                Some(expect) => replay(trace, Config::default(), &expect),
                None => Err("profile_differs trace without a documented expectation".into()),
            },
        };
        if let Err(e) = result {
            failures.push(format!("{}: {e}", trace.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn with_zero_tolerance_bad_frames_close_with_1002_exactly_as_recorded() {
    // The traces where the reference's only difference is closing on the first bad frame.
    let strict = Config::default().with_max_protocol_errors(0);
    let mut checked = 0;
    for trace in traces() {
        if !matches!(
            trace.name.as_str(),
            "malformed_recon" | "unknown_tag" | "missing_lane" | "binary_frame"
        ) {
            continue;
        }
        let mut expect = recorded_expectation(&trace);
        expect.protocol_errors = 1;
        replay(&trace, strict, &expect).unwrap_or_else(|e| panic!("{}: {e}", trace.name));
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[test]
fn replay_notices_a_wrong_answer() {
    // The comparison itself must be able to fail: a trace whose recorded answer is changed.
    let mut trace = traces()
        .into_iter()
        .find(|t| t.name == "value_sync")
        .expect("value_sync trace");
    for f in &mut trace.frames {
        if let Payload::Text(t) = &mut f.payload {
            *t = t.replace(") 12", ") 13");
        }
    }
    let err = replay(&trace, Config::default(), &recorded_expectation(&trace)).unwrap_err();
    assert!(err.contains("output differs"), "{err}");
}

#[test]
fn replay_notices_a_missing_answer() {
    let mut trace = traces()
        .into_iter()
        .find(|t| t.name == "map_sync")
        .expect("map_sync trace");
    // Drop the recorded `@remove` event: our server's output is then extra.
    trace
        .frames
        .retain(|f| !matches!(&f.payload, Payload::Text(t) if t.contains("@remove")));
    let err = replay(&trace, Config::default(), &recorded_expectation(&trace)).unwrap_err();
    assert!(err.contains("extra output"), "{err}");
}

#[test]
fn map_sync_entries_are_compared_as_a_multiset_only_where_the_trace_says_so() {
    let trace = traces()
        .into_iter()
        .find(|t| t.name == "map_sync")
        .expect("map_sync trace");
    assert!(trace.order.contains("unordered"));
    // The recording lists the entries 6, 1, 3; our agent sends them in key order.
    let mut strict = trace.clone();
    strict.order = "per-link".into();
    assert!(replay(&strict, Config::default(), &recorded_expectation(&strict)).is_err());
    replay(&trace, Config::default(), &recorded_expectation(&trace)).unwrap();
}

#[test]
fn json_reader_reads_the_trace_line_shapes() {
    use common::trace::{parse_json, Json};
    let v = parse_json(
        r#"{"t_ms": 12, "dir": "c2s", "text": "@sync(node:\"/unit/1\",lane:info) \u00e9"}"#,
    )
    .unwrap();
    let Json::Object(o) = v else { panic!() };
    assert_eq!(
        o["text"].as_str(),
        Some("@sync(node:\"/unit/1\",lane:info) é")
    );
    assert_eq!(o["t_ms"].as_f64(), Some(12.0));
    assert!(parse_json(r#"{"a": 1"#).is_err());
    assert!(parse_json(r#"{"a": "x"} y"#).is_err());
}
