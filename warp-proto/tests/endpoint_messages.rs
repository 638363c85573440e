//! Message mode (the caller owns the WebSocket): round trips, bad messages, closes, and the
//! recorded traces of `conformance/traces/` replayed through a message-mode server endpoint.

mod common;
mod endpoint_util;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::trace::{read_trace, Dir, Payload, Trace};
use endpoint_util::*;
use warp_proto::connection::{Config, HandleError, ProtocolErrorKind, ServerConnection};
use warp_proto::endpoint::{
    ClientEndpoint, CloseReason, EndpointConfig, InputError, ServerEndpoint,
};
use warp_proto::envelope::{Body, Envelope, Tag};
use warp_proto::recon::Value;
use warp_proto::ws::{CloseCode, Message, WsConfig, WsErrorKind};
use warp_proto::{Input, Output};

type MsgServer = ServerSide<Vec<u8>, [u8; 0]>;
type MsgClient = ClientSide<Vec<u8>, [u8; 0]>;

fn msg_server(config: EndpointConfig) -> MsgServer {
    ServerSide::new(ServerEndpoint::new_message_mode(T0, config))
}

fn msg_pair() -> Pair<MsgClient, MsgServer> {
    let client = ClientSide::new(ClientEndpoint::new_message_mode(
        T0,
        EndpointConfig::default(),
    ));
    Pair::new(client, msg_server(EndpointConfig::default()))
}

#[test]
fn message_mode_round_trip() {
    let mut p = msg_pair();
    let h = p.client.ep.sync("/unit/1", "info").unwrap();
    p.run();
    assert_eq!(p.c2s.messages.len(), 0);
    assert_eq!(p.client.log, ["linked [0]", "event \"\" [0]", "synced [0]"]);
    p.client
        .ep
        .command("/unit/1", "set_info", Body::from_raw("\"warm day\""))
        .unwrap();
    p.run();
    assert_eq!(p.client.log[3], "event \"warm day\" [0]");
    p.client.ep.close_handle(h).unwrap();
    p.run();
    assert_eq!(
        p.server.log,
        [
            "sync /unit/1 info",
            "command /unit/1 set_info \"warm day\"",
            "unlink"
        ]
    );
    assert!(p.client.ep.is_connected() && p.server.ep.is_connected());
}

#[test]
fn outgoing_envelopes_are_whole_text_messages() {
    let mut client = ClientEndpoint::new_message_mode(T0, EndpointConfig::default());
    client.link("/unit/1", "info").unwrap();
    client
        .command("/unit/1", "add", Body::from_raw("1"))
        .unwrap();
    let mut sent = Vec::new();
    loop {
        match client.poll_output() {
            Output::Message(m) => sent.push(m.to_owned()),
            Output::Timeout(None) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        sent,
        [
            "@link(node:\"/unit/1\",lane:info)",
            "@command(node:\"/unit/1\",lane:add) 1"
        ]
    );
    // Bytes are for framed endpoints.
    assert_eq!(
        client.handle_input(Input::Receive(T0, b"\x81\x00")),
        Err(InputError::WrongMode)
    );
}

#[test]
fn a_binary_message_is_reported_and_closes_with_zero_tolerance() {
    let mut s = msg_server(EndpointConfig::default());
    s.input(Input::Message(T0, Message::Binary(&[1, 2])))
        .unwrap();
    let mut out = Drained::default();
    drain(&mut s, T0, &mut out);
    assert_eq!(s.log, ["protocol error Binary (bad frame 1, close None)"]);
    assert!(out.closed.is_none());

    let strict = EndpointConfig::default().with_warp(Config::default().with_max_protocol_errors(0));
    let mut s = msg_server(strict);
    s.input(Input::Message(T0, Message::Binary(&[1, 2])))
        .unwrap();
    let mut out = Drained::default();
    drain(&mut s, T0, &mut out);
    let end = out.closed.unwrap();
    assert!(matches!(end, CloseReason::Warp(e) if e.kind == ProtocolErrorKind::Binary));
    assert_eq!(
        end.close_frame(),
        Some((CloseCode::PROTOCOL_ERROR, "Protocol error"))
    );
}

#[test]
fn an_oversized_message_ends_with_1009() {
    let ws = WsConfig::default().with_max_message_len(64);
    let mut s = msg_server(EndpointConfig::default().with_ws(ws));
    let mut out = Drained::default();
    feed_message(&mut s, T0, "@command(node:a,lane:b) 1", &mut out);
    let big = format!("@command(node:a,lane:b)\"{}\"", "x".repeat(64));
    s.input(Input::Message(T0, Message::Text(&big))).unwrap();
    drain(&mut s, T0, &mut out);
    let Some(CloseReason::WebSocket(e)) = out.closed else {
        panic!("{:?}", out.closed)
    };
    assert!(matches!(
        e.kind,
        WsErrorKind::MessageTooLarge { len: 89, limit: 64 }
    ));
    assert_eq!(e.offset, 25, "bytes of the messages before it");
    assert_eq!(
        out.closed.unwrap().close_frame(),
        Some((CloseCode::MESSAGE_TOO_BIG, "message too large"))
    );
}

#[test]
fn closes_in_message_mode() {
    // The peer's close.
    let mut s = msg_server(EndpointConfig::default());
    s.input(Input::CloseReceived(T0, Some(CloseCode::GOING_AWAY)))
        .unwrap();
    let mut out = Drained::default();
    drain(&mut s, T0, &mut out);
    assert_eq!(
        out.closed,
        Some(CloseReason::Remote {
            code: Some(CloseCode::GOING_AWAY)
        })
    );
    assert_eq!(out.closed.unwrap().close_frame(), None);

    // This end's close, after what was queued before it.
    let mut p = msg_pair();
    p.client.ep.link("/unit/1", "count").unwrap();
    p.run();
    p.server
        .ep
        .publish("/unit/1", "count", Body::from_raw("3"))
        .unwrap();
    p.server.ep.close();
    p.run();
    assert_eq!(p.client.log.last().unwrap(), "event 3 [0]");
    let end = p.server_end.unwrap();
    assert_eq!(end.close_frame(), Some((CloseCode::NORMAL, "")));
    assert_eq!(p.client_end, Some(CloseReason::TransportClosed));
}

#[test]
fn the_idle_timeout_applies_in_message_mode() {
    let ws = WsConfig::default().with_idle_timeout(Some(core::time::Duration::from_secs(5)));
    let mut s = msg_server(EndpointConfig::default().with_ws(ws));
    let mut out = Drained::default();
    feed_message(
        &mut s,
        ms(1_000),
        "@link(node:\"/unit/1\",lane:info)",
        &mut out,
    );
    assert_eq!(out.deadline, Some(ms(6_000)));
    assert_eq!(out.messages, ["@linked(node:\"/unit/1\",lane:info)"]);
    s.input(Input::Timeout(ms(6_000))).unwrap();
    let mut out = Drained::default();
    drain(&mut s, ms(6_000), &mut out);
    assert_eq!(out.closed, Some(CloseReason::IdleTimeout));
}

// ---------------------------------------------------------------------------------------------
// The recorded traces.

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

/// The bytes of a recorded binary frame (its length is all that matters).
fn binary(b64: &str) -> Vec<u8> {
    vec![0; b64.len() * 3 / 4]
}

/// Replays the trace's c2s side through a message-mode server endpoint; returns its s2c side:
/// the text messages, then `close N` if it closed itself.
fn replay_endpoint(trace: &Trace, config: EndpointConfig) -> Vec<String> {
    let mut s = msg_server(config);
    let mut out = Drained::default();
    for frame in trace.frames.iter().filter(|f| f.dir == Dir::C2s) {
        if out.closed.is_some() {
            break;
        }
        match &frame.payload {
            Payload::Text(t) => feed_message(&mut s, T0, t, &mut out),
            Payload::Binary(b) => {
                s.input(Input::Message(T0, Message::Binary(&binary(b))))
                    .unwrap();
                drain(&mut s, T0, &mut out);
            }
            Payload::Close(code) => {
                s.input(Input::CloseReceived(T0, Some(CloseCode::new(*code))))
                    .unwrap();
                drain(&mut s, T0, &mut out);
            }
        }
    }
    let mut sent = out.messages;
    if let Some((code, _)) = out.closed.and_then(|r| r.close_frame()) {
        sent.push(format!("close {}", code.as_u16()));
    }
    sent
}

/// The same c2s side through the bare WARP machine, answered by the same agents.
fn replay_machine(trace: &Trace, config: Config) -> Vec<String> {
    let mut conn = ServerConnection::new(config);
    let mut agents = Agents::default();
    let mut sent = Vec::new();
    for frame in trace.frames.iter().filter(|f| f.dir == Dir::C2s) {
        let result = match &frame.payload {
            Payload::Text(t) => conn.handle_frame(t).map(|r| r.map(Owned::from)),
            Payload::Binary(b) => Err(conn.handle_binary_frame(binary(b).len())),
            Payload::Close(_) => break,
        };
        match result {
            Ok(Some(request)) => {
                agents.serve(&mut conn, request);
            }
            Ok(None) | Err(HandleError::Protocol(_)) | Err(HandleError::Closed) => {}
            Err(e) => panic!("{}: {e}", trace.name),
        }
        sent.extend(drain_machine(&mut conn));
    }
    sent
}

/// One s2c item as compared with a recording: a decoded envelope, or a close.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    Envelope(Tag, f32, f32, Value),
    Close(u16),
}

/// s2c items per (node, lane) in order (host-addressed envelopes and closes under ("", "")).
fn per_link(s2c: &[String], unordered_sync: bool) -> BTreeMap<(String, String), Vec<Item>> {
    let mut map: BTreeMap<(String, String), Vec<Item>> = BTreeMap::new();
    for text in s2c {
        let (key, item) = match text.strip_prefix("close ") {
            Some(code) => (Default::default(), Item::Close(code.parse().unwrap())),
            None => {
                let e = Envelope::decode(text).unwrap_or_else(|e| panic!("{text}: {e}"));
                let body = e.body.to_value().unwrap();
                let key = (e.node.to_string(), e.lane.to_string());
                (key, Item::Envelope(e.tag, e.prio, e.rate, body))
            }
        };
        map.entry(key).or_default().push(item);
    }
    if unordered_sync {
        // The events right before a `synced` come in no fixed order: compare them sorted.
        for items in map.values_mut() {
            let mut start = None;
            for i in 0..items.len() {
                match &items[i] {
                    Item::Envelope(Tag::Event, ..) => {
                        start.get_or_insert(i);
                    }
                    Item::Envelope(Tag::Synced, ..) => {
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

/// The recording's s2c side, minus the close answering a c2s close.
fn recorded(trace: &Trace) -> Vec<String> {
    let mut out = Vec::new();
    let mut client_closed = false;
    for f in &trace.frames {
        match (&f.dir, &f.payload) {
            (Dir::C2s, Payload::Close(_)) => client_closed = true,
            (Dir::S2c, Payload::Close(_)) if client_closed => {}
            (Dir::S2c, Payload::Close(code)) => out.push(format!("close {code}")),
            (Dir::S2c, Payload::Text(t)) => out.push(t.clone()),
            _ => {}
        }
    }
    out
}

#[test]
fn recorded_traces_replay_through_a_message_mode_server_endpoint() {
    let traces = traces();
    assert!(traces.len() >= 14, "traces missing: {}", traces.len());
    let strict = Config::default().with_max_protocol_errors(0);
    let mut against_recording = 0;
    for trace in &traces {
        let unordered = trace.order.contains("unordered");
        // The endpoint answers exactly as the bare machine does, with either tolerance.
        for warp in [Config::default(), strict] {
            let ours = replay_endpoint(trace, EndpointConfig::default().with_warp(warp));
            assert_eq!(ours, replay_machine(trace, warp), "{}", trace.name);
        }
        // And as the recording does: every trace the profile does not set apart, plus the
        // bad-frame ones with zero tolerance (SwimOS closes with 1002 on the first).
        let config = match (&trace.profile_differs, trace.name.as_str()) {
            (None, _) => Config::default(),
            (Some(_), "malformed_recon" | "unknown_tag" | "missing_lane" | "binary_frame") => {
                strict
            }
            (Some(_), _) => continue,
        };
        let ours = replay_endpoint(trace, EndpointConfig::default().with_warp(config));
        assert_eq!(
            per_link(&ours, unordered),
            per_link(&recorded(trace), unordered),
            "{}",
            trace.name
        );
        against_recording += 1;
    }
    assert!(against_recording >= 12, "{against_recording}");
}

#[test]
fn the_trace_comparison_notices_a_changed_answer() {
    let trace = traces()
        .into_iter()
        .find(|t| t.name == "value_sync")
        .expect("value_sync trace");
    let ours = replay_endpoint(&trace, EndpointConfig::default());
    let mut changed = recorded(&trace);
    let i = changed.iter().position(|t| t.contains("@event")).unwrap();
    changed[i] = changed[i].replace(") ", ") 1");
    assert_ne!(per_link(&ours, false), per_link(&changed, false));
}
