//! A client endpoint and a server endpoint wired back to back in memory, on a virtual clock:
//! handshake, links, keep-alive, close, and delivery split at every position.

mod endpoint_util;

use core::time::Duration;

use endpoint_util::*;
use warp_proto::connection::{CallError, Close, Config, LinkState};
use warp_proto::endpoint::{
    ClientEndpoint, CloseReason, Connect, EndpointConfig, InputError, ServerEndpoint,
};
use warp_proto::envelope::Body;
use warp_proto::ws::{CloseCode, Message, Opcode, Role, WsConfig};
use warp_proto::{Input, Output};

fn default() -> EndpointConfig {
    EndpointConfig::default()
}

fn connected() -> Pair<VecClient, VecServer> {
    let mut p = pair(default(), default());
    p.run();
    assert!(p.client.ep.is_connected() && p.server.ep.is_connected());
    p
}

#[test]
fn handshake_agrees_on_warp0_and_reports_both_ends() {
    let p = connected();
    assert_eq!(p.client.ep.protocol(), Some("warp0"));
    assert_eq!(p.server.ep.protocol(), Some("warp0"));
    assert_eq!(p.server.log, ["connected / Some(\"warp0\")"]);
    assert_eq!(p.client.log, ["connected Some(\"warp0\")"]);
    let request = String::from_utf8(p.c2s.log.clone()).unwrap();
    assert!(request.starts_with("GET / HTTP/1.1\r\nHost: localhost:9001\r\n"));
    assert!(request.contains("Sec-WebSocket-Protocol: warp0\r\n"));
    let answer = String::from_utf8(p.s2c.log.clone()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(answer.contains("Sec-WebSocket-Protocol: warp0\r\n"));
}

#[test]
fn a_client_offering_no_subprotocol_is_accepted_without_one() {
    // What the @swim/client JS client sends: no Sec-WebSocket-Protocol.
    let request = "GET /warp?x=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";
    let mut server = server(default());
    let mut out = Drained::default();
    feed(&mut server, T0, request.as_bytes(), &mut out);
    let answer = String::from_utf8(out.bytes.clone()).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{answer}"
    );
    assert!(answer.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert!(!answer.contains("Sec-WebSocket-Protocol"));
    assert_eq!(server.ep.protocol(), None);
    assert_eq!(server.log, ["connected /warp?x=1 None"]);
    // Then WARP flows: a masked text frame with a sync.
    let mut frame = [0u8; 64];
    let text = b"@sync(node:\"/unit/1\",lane:info)";
    let n = warp_proto::ws::encode_frame(&mut frame, true, Opcode::Text, Some([1, 2, 3, 4]), text)
        .unwrap();
    let mut out = Drained::default();
    feed(&mut server, T0, &frame[..n], &mut out);
    assert_eq!(
        texts(&frames(&out.bytes, Role::Server)),
        [
            "@linked(node:\"/unit/1\",lane:info)",
            "@event(node:\"/unit/1\",lane:info)\"\"",
            "@synced(node:\"/unit/1\",lane:info)",
        ]
    );
}

#[test]
fn a_server_choosing_no_subprotocol_is_accepted_by_the_client() {
    let mut client = client(default());
    let mut out = Drained::default();
    drain(&mut client, T0, &mut out);
    let key = warp_proto::ws::WebSocketKey::from_nonce([7; 16]);
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        key.accept()
    );
    let mut out = Drained::default();
    feed(&mut client, T0, answer.as_bytes(), &mut out);
    assert!(client.ep.is_connected());
    assert_eq!(client.ep.protocol(), None);
    assert_eq!(client.log, ["connected None"]);
}

#[test]
fn link_sync_event_command_and_unlink_round_trip() {
    let mut p = pair(default(), default());
    // Opened before the handshake: goes out once connected.
    let h = p.client.ep.sync("/unit/1", "info").unwrap();
    p.run();
    assert_eq!(
        p.client.log,
        [
            "connected Some(\"warp0\")",
            "linked [0]",
            "event \"\" [0]",
            "synced [0]"
        ]
    );
    assert_eq!(p.server.log[1], "sync /unit/1 info");

    p.client
        .ep
        .command("/unit/1", "set_info", Body::from_raw("\"hot\""))
        .unwrap();
    p.run();
    assert_eq!(p.server.log[2], "command /unit/1 set_info \"hot\"");
    // The agent prints the text as Recon: an identifier goes bare.
    assert_eq!(p.client.log[4], "event hot [0]");

    // A second handle shares the link and asks for the state again.
    let h2 = p.client.ep.sync("/unit/1", "info").unwrap();
    p.run();
    assert_eq!(p.server.log[3], "sync again");
    assert_eq!(p.client.log[5..], ["event hot [0, 1]", "synced [0, 1]"]);

    p.client.ep.close_handle(h).unwrap();
    p.run();
    assert_eq!(p.server.log.len(), 4, "one handle left: no unlink");
    p.client.ep.close_handle(h2).unwrap();
    p.run();
    assert_eq!(p.server.log[4], "unlink");
    assert_eq!(p.client.ep.connection().link_count(), 0);
    assert_eq!(p.server.ep.connection().link_count(), 0);
    assert!(p.client.ep.is_connected());
}

#[test]
fn unknown_node_and_lane_are_refused_and_the_connection_stays() {
    let mut p = connected();
    p.client.ep.link("/nowhere", "info").unwrap();
    p.client.ep.link("/unit/1", "nope").unwrap();
    p.run();
    assert_eq!(
        p.client.log[1..],
        [
            "unlinked /nowhere info NodeNotFound [0]",
            "unlinked /unit/1 nope LaneNotFound [1]",
        ]
    );
    assert!(p.client.ep.is_connected() && p.server.ep.is_connected());
    // The link can be asked for again, and works.
    p.client.ep.link("/unit/1", "count").unwrap();
    p.run();
    assert_eq!(p.client.log[3], "linked [2]");
}

#[test]
fn server_publishes_to_every_open_link_on_the_lane() {
    let mut p = connected();
    p.client.ep.link("/unit/1", "count").unwrap();
    p.run();
    let link = p.server.ep.connection().links().next().unwrap();
    assert_eq!(
        p.server.ep.connection().link_state(link),
        Some(LinkState::Linked)
    );
    assert_eq!(
        p.server.ep.publish("/unit/1", "count", Body::from_raw("5")),
        Ok(1)
    );
    p.server.ep.event(link, Body::from_raw("6")).unwrap();
    p.run();
    assert_eq!(p.client.log[2..], ["event 5 [0]", "event 6 [0]"]);
    // The server ends the link.
    p.server.ep.unlink(link, Body::from_raw("@gone")).unwrap();
    p.run();
    assert!(p.client.log[4].starts_with("unlinked /unit/1 count Other"));
    assert_eq!(
        p.server.ep.event(link, Body::absent()),
        Err(CallError::UnknownLink)
    );
}

#[test]
fn keepalive_pings_are_answered_and_a_silent_peer_times_out() {
    let ws = WsConfig::default()
        .with_ping_interval(Some(Duration::from_secs(10)))
        .with_idle_timeout(Some(Duration::from_secs(25)));
    let mut p = pair(default(), default().with_ws(ws));
    p.run();
    let before = p.s2c.log.len();
    p.advance_to(ms(100_000));
    // The server pinged about every 10 s; the client answered each; nobody timed out.
    let pings = frames(&p.s2c.log[before..], Role::Server);
    assert!(pings.len() >= 9, "{pings:?}");
    assert!(pings.iter().all(|(op, _)| *op == Opcode::Ping));
    let pongs = frames(
        &p.c2s.log[p.c2s.log.len() - 6 * pings.len()..],
        Role::Client,
    );
    assert!(pongs.iter().all(|(op, _)| *op == Opcode::Pong));
    assert!(p.client.ep.is_connected() && p.server.ep.is_connected());

    // The client goes silent: the server gives up 25 s after the last input.
    p.c2s.blackhole = true;
    let silent_from = p.now;
    p.advance_to(ms(200_000));
    assert_eq!(p.server_end, Some(CloseReason::IdleTimeout));
    // Its last input was the pong answering a ping at most 10 s before the silence.
    let idle_since = silent_from.as_millis().saturating_sub(10_000);
    assert!(p.now.as_millis() >= idle_since + 25_000);
    // The client saw the transport close.
    assert_eq!(p.client_end, Some(CloseReason::TransportClosed));
}

#[test]
fn the_idle_timeout_fires_at_its_deadline() {
    let ws = WsConfig::default().with_idle_timeout(Some(Duration::from_secs(30)));
    let mut server = server(default().with_ws(ws));
    let mut out = Drained::default();
    drain(&mut server, T0, &mut out);
    // Waiting for the handshake: the idle timeout bounds it too.
    assert_eq!(out.deadline, Some(ms(30_000)));
    server.input(Input::Timeout(ms(29_999))).unwrap();
    let mut out = Drained::default();
    drain(&mut server, ms(29_999), &mut out);
    assert_eq!(out.closed, None);
    server.input(Input::Timeout(ms(30_000))).unwrap();
    let mut out = Drained::default();
    drain(&mut server, ms(30_000), &mut out);
    assert_eq!(out.closed, Some(CloseReason::IdleTimeout));
    assert!(out.bytes.is_empty());
}

#[test]
fn client_close_completes_the_close_handshake() {
    let mut p = connected();
    p.client.ep.close();
    p.run();
    assert_eq!(
        p.client_end,
        Some(CloseReason::Local {
            code: CloseCode::NORMAL
        })
    );
    assert_eq!(
        p.server_end,
        Some(CloseReason::Remote {
            code: Some(CloseCode::NORMAL)
        })
    );
    let head = p.s2c.log.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        close_code(&frames(&p.s2c.log[head..], Role::Server)),
        Some(1000)
    );
    assert_eq!(p.client.ep.link("/unit/1", "info"), Err(CallError::Closed));
    assert_eq!(
        p.client.ep.handle_input(Input::Timeout(p.now)),
        Err(InputError::Closed)
    );
    assert!(matches!(p.client.ep.poll_output(), Output::Timeout(None)));
}

#[test]
fn server_close_goes_out_after_the_frames_queued_before_it() {
    let mut p = connected();
    p.client.ep.link("/unit/1", "info").unwrap();
    p.run();
    p.server
        .ep
        .publish("/unit/1", "info", Body::from_raw("\"bye\""))
        .unwrap();
    p.server.ep.close();
    p.run();
    assert_eq!(p.client.log.last().unwrap(), "event \"bye\" [0]");
    assert_eq!(
        p.server_end,
        Some(CloseReason::Local {
            code: CloseCode::NORMAL
        })
    );
    assert_eq!(
        p.client_end,
        Some(CloseReason::Remote {
            code: Some(CloseCode::NORMAL)
        })
    );
}

#[test]
fn close_with_sends_the_chosen_code_after_queued_frames() {
    let mut p = connected();
    p.client.ep.link("/unit/1", "info").unwrap();
    p.run();
    p.server
        .ep
        .publish("/unit/1", "info", Body::from_raw("\"last\""))
        .unwrap();
    p.server.ep.close_with(Close::GoingAway);
    p.run();
    assert_eq!(p.client.log.last().unwrap(), "event \"last\" [0]");
    assert_eq!(
        p.client_end,
        Some(CloseReason::Remote {
            code: Some(CloseCode::GOING_AWAY)
        })
    );
    assert_eq!(
        p.server_end,
        Some(CloseReason::Local {
            code: CloseCode::GOING_AWAY
        })
    );
}

#[test]
fn with_connection_changes_are_sent_like_endpoint_calls() {
    let mut p = connected();
    p.client.ep.link("/unit/1", "info").unwrap();
    p.run();
    let sent = p
        .server
        .ep
        .with_connection(|conn| conn.publish("/unit/1", "info", Body::from_raw("7")))
        .unwrap();
    assert_eq!(sent, 1);
    p.run();
    assert_eq!(p.client.log.last().unwrap(), "event 7 [0]");
    // A slow consumer is dropped with 1013 by the same route.
    p.server
        .ep
        .with_connection(|conn| conn.close_with(Close::Overloaded));
    p.run();
    assert_eq!(
        p.client_end,
        Some(CloseReason::Remote {
            code: Some(CloseCode::new(1013))
        })
    );
}

#[test]
fn deauth_is_answered_and_closes() {
    let mut p = connected();
    p.client.ep.deauth().unwrap();
    p.run();
    assert_eq!(p.server.log[1], "deauth");
    assert_eq!(p.client.log[1], "deauthed ");
    assert_eq!(
        p.server_end,
        Some(CloseReason::Local {
            code: CloseCode::NORMAL
        })
    );
    assert_eq!(
        p.client_end,
        Some(CloseReason::Remote {
            code: Some(CloseCode::NORMAL)
        })
    );
}

#[test]
fn auth_is_answered_authed_or_refused_with_1008() {
    let mut p = connected();
    p.client.ep.auth(Body::from_raw("\"ok\"")).unwrap();
    p.run();
    assert_eq!(p.client.log[1], "authed ");
    p.client.ep.auth(Body::from_raw("\"bad\"")).unwrap();
    p.run();
    assert_eq!(p.client.log[2], "deauthed ");
    let policy = CloseCode::POLICY_VIOLATION;
    assert_eq!(p.server_end, Some(CloseReason::Local { code: policy }));
    assert_eq!(
        p.client_end,
        Some(CloseReason::Remote { code: Some(policy) })
    );
    assert_eq!(
        p.server_end.unwrap().close_frame(),
        Some((policy, "Forbidden"))
    );
}

/// The whole conversation, as both logs and the bytes each way.
fn conversation(chunk: usize) -> (Vec<String>, Vec<String>, Vec<u8>, Vec<u8>) {
    let mut p = pair(default(), default());
    p.chunk = chunk;
    let h = p.client.ep.sync("/unit/7", "history").unwrap();
    p.client.ep.link("/unit/7", "count").unwrap();
    p.client.ep.link("/unit/8", "nope").unwrap();
    p.run();
    for n in [3, 4, -2] {
        let body = n.to_string();
        p.client
            .ep
            .command("/unit/7", "add", Body::from_raw(&body))
            .unwrap();
    }
    p.client
        .ep
        .command("/unit/7", "remove", Body::from_raw("7"))
        .unwrap();
    p.run();
    p.client.ep.close_handle(h).unwrap();
    p.run();
    p.client.ep.close();
    p.run();
    assert!(p.client_end.is_some() && p.server_end.is_some());
    (p.client.log, p.server.log, p.c2s.log, p.s2c.log)
}

#[test]
fn delivery_split_at_every_position_gives_the_same_conversation() {
    let whole = conversation(usize::MAX);
    assert_eq!(
        whole.0,
        [
            "connected Some(\"warp0\")",
            "linked [0]",
            "synced [0]",
            "linked [1]",
            "unlinked /unit/8 nope LaneNotFound [2]",
            "event 3 [1]",
            "event @update(key:3) 3 [0]",
            "event 7 [1]",
            "event @update(key:7) 4 [0]",
            "event 5 [1]",
            "event @update(key:5) -2 [0]",
            "event @remove(key:7) [0]",
        ]
    );
    assert_eq!(
        whole.1,
        [
            "connected / Some(\"warp0\")",
            "sync /unit/7 history",
            "link /unit/7 count",
            "link /unit/8 nope: lane not found",
            "command /unit/7 add 3",
            "command /unit/7 add 4",
            "command /unit/7 add -2",
            "command /unit/7 remove 7",
            "unlink",
        ]
    );
    for chunk in [1, 2, 3, 5, 7, 13, 64] {
        assert_eq!(conversation(chunk), whole, "chunk {chunk}");
    }
}

#[test]
fn head_and_first_frames_in_one_read_are_both_used() {
    // A client that pipelines its first frame right behind the request head.
    let mut client = client(default());
    client.ep.link("/unit/1", "info").unwrap();
    let mut out = Drained::default();
    drain(&mut client, T0, &mut out);
    let mut bytes = out.bytes;
    let mut frame = [0u8; 64];
    let text = b"@link(node:\"/unit/2\",lane:info)";
    let n = warp_proto::ws::encode_frame(&mut frame, true, Opcode::Text, Some([9, 9, 9, 9]), text)
        .unwrap();
    bytes.extend_from_slice(&frame[..n]);
    let mut server = server(default());
    let mut out = Drained::default();
    feed(&mut server, T0, &bytes, &mut out);
    assert_eq!(server.log[1], "link /unit/2 info");
}

#[test]
fn the_drain_contract_is_enforced() {
    let connect = Connect::new("h", "/", [1; 16], [2; 16]);
    let mut client = ClientEndpoint::new(T0, default(), connect).unwrap();
    // The request has not been handed out yet.
    assert_eq!(
        client.handle_input(Input::Receive(T0, b"HTTP/1.1")),
        Err(InputError::NotDrained)
    );
    assert!(matches!(client.poll_output(), Output::Transmit(_)));
    assert!(matches!(client.poll_output(), Output::Timeout(None)));
    assert_eq!(client.handle_input(Input::Receive(T0, b"HTTP/1.1")), Ok(8));
    // A call that queues something makes the output pending again.
    let mut server = ServerEndpoint::new(T0, default()).unwrap();
    assert!(matches!(server.poll_output(), Output::Timeout(None)));
    server.close();
    assert_eq!(
        server.handle_input(Input::Receive(T0, b"GET")),
        Err(InputError::NotDrained)
    );
    // Messages are for message mode only.
    let mut server = ServerEndpoint::new(T0, default()).unwrap();
    assert_eq!(
        server.handle_input(Input::Message(T0, Message::Text("@auth"))),
        Err(InputError::WrongMode)
    );
    // The transport closing is always taken.
    let mut client = ClientEndpoint::new(T0, default(), connect).unwrap();
    assert_eq!(client.handle_input(Input::TransportClosed(T0)), Ok(0));
    assert!(matches!(
        client.poll_output(),
        Output::Closed(CloseReason::TransportClosed)
    ));
}

#[test]
fn closing_before_the_handshake_ends_without_bytes() {
    let mut server = server(default());
    server.ep.close();
    let mut out = Drained::default();
    drain(&mut server, T0, &mut out);
    assert!(out.bytes.is_empty());
    assert_eq!(
        out.closed,
        Some(CloseReason::Local {
            code: CloseCode::NORMAL
        })
    );
}

#[test]
fn bounds_of_the_warp_layer_apply_through_the_endpoint() {
    let warp = Config::default().with_max_links(1);
    let mut p = pair(default(), default().with_warp(warp));
    p.client.ep.link("/unit/1", "info").unwrap();
    p.client.ep.link("/unit/2", "info").unwrap();
    p.run();
    assert_eq!(p.server.log[2], "refused /unit/2 info TooManyLinks");
    assert!(p.client.log[2].starts_with("unlinked /unit/2 info Other"));
}
