//! The client session (`app::session::client`) against an in-memory server endpoint serving the
//! demo agents, on a virtual clock: shared links, the synthesized `Linked`, not-found reasons,
//! reconnection with back-off re-opening downlinks, the command buffer's bound and order,
//! flow control, close; nothing lost or duplicated.

#[path = "endpoint_util/mod.rs"]
mod endpoint_util;

use std::collections::BTreeMap;
use std::time::Duration;

use endpoint_util::{drain, feed, server, Drained, Side, VecServer};
use warp_proto::app::session::client::{
    AttemptError, ClientSession, ClientState, DownlinkEvent, DownlinkId, Output, SessionConfig,
    SessionEnd, SessionError, TransportEnd, UnlinkReason,
};
use warp_proto::app::{Backoff, BufferError};
use warp_proto::connection::CallError;
use warp_proto::endpoint::{Connect, EndpointConfig};
use warp_proto::envelope::Body;
use warp_proto::recon::Value;
use warp_proto::ws::Instant;
use warp_proto::Input;

type Done = (u32, Result<(), SessionError>);

/// A client session and a server endpoint wired in memory.
struct Sim {
    now: Instant,
    session: ClientSession<u32>,
    server: Option<VecServer>,
    /// Whether a connect attempt finds a server.
    server_up: bool,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    events: BTreeMap<u64, Vec<DownlinkEvent>>,
    /// Downlinks whose reader is stalled: their events are given back with `hold`.
    stalled: Vec<u64>,
    done: Vec<Done>,
    states: Vec<ClientState>,
    closed_transports: Vec<TransportEnd>,
    ended: Option<SessionEnd>,
    deadline: Option<Instant>,
    connects: usize,
    server_log: Vec<String>,
}

fn id(n: u64) -> DownlinkId {
    DownlinkId::new(n)
}

fn ev(recon: &str) -> DownlinkEvent {
    DownlinkEvent::Event(Value::parse_body(recon).expect("Recon"))
}

fn fast() -> SessionConfig {
    SessionConfig::default().with_reconnect(Some(Backoff::new(
        Duration::from_millis(100),
        Duration::from_secs(1),
    )))
}

impl Sim {
    fn new(config: SessionConfig) -> Sim {
        let now = Instant::ZERO;
        let mut sim = Sim {
            now,
            session: ClientSession::new(now, config),
            server: None,
            server_up: true,
            to_server: Vec::new(),
            to_client: Vec::new(),
            events: BTreeMap::new(),
            stalled: Vec::new(),
            done: Vec::new(),
            states: Vec::new(),
            closed_transports: Vec::new(),
            ended: None,
            deadline: None,
            connects: 0,
            server_log: Vec::new(),
        };
        sim.run();
        sim
    }

    /// Drains the session's output as a driver does.
    fn drain_client(&mut self) {
        for _ in 0..100_000 {
            match self.session.poll_output() {
                Output::Connect => {
                    self.connects += 1;
                    if self.server_up {
                        self.server = Some(server(EndpointConfig::default()));
                        let connect = Connect::new("localhost:9001", "/", [7; 16], [3; 16]);
                        assert!(self.session.connected(self.now, connect));
                    } else {
                        self.session.connect_failed(self.now);
                    }
                }
                Output::Transmit(bytes) => {
                    assert!(!bytes.is_empty(), "empty transmit");
                    self.to_server.extend_from_slice(bytes);
                }
                Output::CloseTransport(end) => {
                    self.closed_transports.push(end);
                    if let Some(mut s) = self.server.take() {
                        self.server_log.append(&mut s.log);
                        let _ = s.input(Input::TransportClosed(self.now));
                    }
                    self.to_client.clear();
                }
                Output::Event(d, event) => {
                    if self.stalled.contains(&d.get()) {
                        self.session.hold(d, event);
                    } else {
                        self.events.entry(d.get()).or_default().push(event);
                    }
                }
                Output::Done(tag, result) => self.done.push((tag, result)),
                Output::State(state) => self.states.push(state),
                Output::Closed(end) => {
                    assert!(self.ended.is_none(), "Closed reported twice");
                    self.ended = Some(end);
                }
                Output::Timeout(t) => {
                    self.deadline = t;
                    return;
                }
            }
        }
        panic!("the session's output does not end");
    }

    /// Moves bytes both ways until nothing moves.
    fn run(&mut self) {
        for _ in 0..1000 {
            self.drain_client();
            let mut moved = false;
            if let Some(s) = self.server.as_mut() {
                let bytes = std::mem::take(&mut self.to_server);
                let mut out = Drained::default();
                feed(s, self.now, &bytes, &mut out);
                drain(s, self.now, &mut out);
                moved |= !bytes.is_empty() || !out.bytes.is_empty();
                self.to_client.extend_from_slice(&out.bytes);
            } else {
                self.to_server.clear();
            }
            let bytes = std::mem::take(&mut self.to_client);
            let mut fed = 0;
            while fed < bytes.len() && self.session.wants_input() {
                let n = self
                    .session
                    .handle_input(Input::Receive(self.now, &bytes[fed..]))
                    .expect("input after draining");
                fed += n;
                moved = true;
                self.drain_client();
            }
            if let Some(rest) = bytes.get(fed..).filter(|r| !r.is_empty()) {
                if self.session.wants_input() || self.server.is_some() {
                    let mut keep = rest.to_vec();
                    keep.append(&mut self.to_client);
                    self.to_client = keep;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the pair does not settle");
    }

    fn advance_to(&mut self, t: Instant) {
        self.now = t;
        self.session
            .handle_input(Input::Timeout(t))
            .expect("timeout");
        if let Some(s) = self.server.as_mut() {
            let mut out = Drained::default();
            drain(s, t, &mut out);
            self.to_client.extend_from_slice(&out.bytes);
        }
        self.run();
    }

    /// The server goes away: its socket closes under the client.
    fn kill_server(&mut self) {
        if let Some(mut s) = self.server.take() {
            self.server_log.append(&mut s.log);
        }
        self.to_client.clear();
        self.to_server.clear();
        self.session
            .handle_input(Input::TransportClosed(self.now))
            .expect("transport closed");
        self.run();
    }

    fn command(&mut self, node: &str, lane: &str, body: &str, tag: u32) {
        self.session.command(node, lane, Body::from_raw(body), tag);
        self.run();
    }

    fn open(&mut self, n: u64, node: &str, lane: &str, sync: bool) {
        self.session
            .open(id(n), node, lane, sync)
            .unwrap_or_else(|e| panic!("open {node} {lane}: {e}"));
        self.run();
    }

    fn take(&mut self, n: u64) -> Vec<DownlinkEvent> {
        self.events.remove(&n).unwrap_or_default()
    }

    fn server_lines(&mut self) -> Vec<String> {
        if let Some(s) = self.server.as_mut() {
            self.server_log.append(&mut s.log);
        }
        self.server_log.clone()
    }
}

#[test]
fn sync_replays_state_then_a_command_changes_it_and_is_done_once() {
    let mut sim = Sim::new(SessionConfig::default());
    assert_eq!(
        sim.states,
        [ClientState::Connecting, ClientState::Connected]
    );
    sim.open(0, "/unit/1", "info", true);
    sim.command("/unit/1", "set_info", "\"hi\"", 1);
    assert_eq!(
        sim.take(0),
        [
            DownlinkEvent::Linked,
            ev("\"\""),
            DownlinkEvent::Synced,
            ev("\"hi\"")
        ]
    );
    assert_eq!(sim.done, [(1, Ok(()))]);
    assert_eq!(sim.session.state(), ClientState::Connected);
}

#[test]
fn downlinks_on_one_lane_share_one_link_and_a_joiner_hears_linked_at_once() {
    let mut sim = Sim::new(SessionConfig::default());
    sim.open(0, "/unit/7", "count", false);
    sim.open(1, "/unit/7", "count", false);
    assert_eq!(sim.take(0), [DownlinkEvent::Linked]);
    assert_eq!(sim.take(1), [DownlinkEvent::Linked]);
    // The third joins the confirmed link: the server sends nothing, the session says Linked.
    sim.session
        .open(id(2), "/unit/7", "count", false)
        .expect("open");
    sim.drain_client();
    assert_eq!(sim.take(2), [DownlinkEvent::Linked]);
    assert!(sim.to_server.is_empty(), "a second link went out");
    sim.command("/unit/7", "add", "4", 1);
    for n in 0..3 {
        assert_eq!(sim.take(n), [ev("4")], "downlink {n}");
    }
    let links = sim
        .server_lines()
        .iter()
        .filter(|l| l.starts_with("link /unit/7 count"))
        .count();
    assert_eq!(links, 1);
    // Closing two of three keeps the link; the last closing unlinks.
    sim.session.close_downlink(id(0), Some(10));
    sim.session.close_downlink(id(1), None);
    sim.run();
    sim.command("/unit/7", "add", "1", 2);
    assert_eq!(sim.take(2), [ev("5")]);
    assert!(sim.take(0).is_empty() && sim.take(1).is_empty());
    sim.session.close_downlink(id(2), Some(11));
    sim.run();
    assert!(sim.server_lines().iter().any(|l| l.contains("unlink")));
    assert_eq!(
        sim.done,
        [(1, Ok(())), (10, Ok(())), (2, Ok(())), (11, Ok(()))]
    );
}

#[test]
fn unknown_node_and_lane_end_downlinks_with_the_reason() {
    let mut sim = Sim::new(SessionConfig::default());
    sim.open(0, "/nowhere/1", "info", true);
    sim.open(1, "/unit/5", "nolane", false);
    sim.open(2, "/unit/5", "info", false);
    assert_eq!(
        sim.take(0),
        [DownlinkEvent::Unlinked(UnlinkReason::NodeNotFound)]
    );
    assert_eq!(
        sim.take(1),
        [DownlinkEvent::Unlinked(UnlinkReason::LaneNotFound)]
    );
    assert_eq!(sim.take(2), [DownlinkEvent::Linked]);
    assert_eq!(sim.session.downlinks(), 1);
    // Ended downlinks are not re-opened after a reconnection.
    let mut sim2 = Sim::new(fast());
    sim2.open(0, "/nowhere/1", "info", true);
    sim2.take(0);
    sim2.kill_server();
    sim2.advance_to(Instant::from_millis(100));
    assert!(sim2.take(0).is_empty());
    assert_eq!(
        sim2.server_lines()
            .iter()
            .filter(|l| l.contains("/nowhere/1"))
            .count(),
        1
    );
}

#[test]
fn calls_are_refused_with_the_reason() {
    let mut sim = Sim::new(SessionConfig::default());
    let s = &mut sim.session;
    assert_eq!(
        s.open(id(0), "", "info", false),
        Err(SessionError::Call(CallError::EmptyUri))
    );
    let long = "x".repeat(10_000);
    assert_eq!(
        s.open(id(0), "/unit/1", &long, false),
        Err(SessionError::Call(CallError::UriTooLong))
    );
    s.open(id(0), "/unit/1", "info", false).expect("open");
    assert_eq!(
        s.open(id(0), "/unit/1", "count", false),
        Err(SessionError::DuplicateId)
    );
}

#[test]
fn reconnect_backs_off_then_reopens_downlinks_and_sends_buffered_commands_once_in_order() {
    let mut sim = Sim::new(fast());
    sim.open(0, "/unit/1", "count", true);
    sim.open(1, "/unit/1", "info", false);
    sim.command("/unit/1", "add", "5", 1);
    assert_eq!(
        sim.take(0),
        [
            DownlinkEvent::Linked,
            ev("0"),
            DownlinkEvent::Synced,
            ev("5")
        ]
    );
    assert_eq!(sim.take(1), [DownlinkEvent::Linked]);

    sim.server_up = false;
    sim.kill_server();
    for n in 0..2 {
        assert_eq!(
            sim.take(n),
            [DownlinkEvent::Unlinked(UnlinkReason::Disconnected)]
        );
    }
    assert_eq!(sim.session.state(), ClientState::Disconnected);
    assert_eq!(sim.deadline, Some(Instant::from_millis(100)));
    // During the outage: buffered, not answered yet.
    sim.command("/unit/1", "add", "2", 2);
    sim.command("/unit/1", "add", "3", 3);
    sim.session
        .open(id(2), "/unit/2", "count", false)
        .expect("open while disconnected");
    assert_eq!(sim.done, [(1, Ok(()))]);
    assert_eq!(sim.session.buffered_commands(), 2);

    // Not before the deadline.
    sim.advance_to(Instant::from_millis(99));
    assert_eq!(sim.connects, 1);
    // The attempt fails: the back-off doubles.
    sim.advance_to(Instant::from_millis(100));
    assert_eq!(sim.connects, 2);
    assert_eq!(sim.deadline, Some(Instant::from_millis(300)));
    assert_eq!(sim.session.state(), ClientState::Disconnected);

    sim.server_up = true;
    sim.advance_to(Instant::from_millis(300));
    assert_eq!(sim.connects, 3);
    assert_eq!(sim.session.state(), ClientState::Connected);
    // A new server: state from 0; the buffered adds follow the sync, in order, once.
    assert_eq!(
        sim.take(0),
        [
            DownlinkEvent::Linked,
            ev("0"),
            DownlinkEvent::Synced,
            ev("2"),
            ev("5")
        ]
    );
    assert_eq!(sim.take(1), [DownlinkEvent::Linked]);
    assert_eq!(sim.take(2), [DownlinkEvent::Linked]);
    assert_eq!(sim.done, [(1, Ok(())), (2, Ok(())), (3, Ok(()))]);
    let adds: Vec<String> = sim
        .server_lines()
        .into_iter()
        .filter(|l| l.starts_with("command /unit/1 add"))
        .collect();
    assert_eq!(
        adds,
        [
            "command /unit/1 add 5",
            "command /unit/1 add 2",
            "command /unit/1 add 3"
        ]
    );
    // After a success the back-off starts over.
    sim.kill_server();
    assert_eq!(sim.deadline, Some(Instant::from_millis(400)));
}

#[test]
fn the_command_buffer_refuses_beyond_its_bound_and_keeps_order() {
    let mut sim = Sim::new(fast().with_command_buffer(2, 1 << 20));
    sim.server_up = false;
    sim.kill_server();
    sim.command("/unit/1", "add", "1", 1);
    sim.command("/unit/1", "add", "2", 2);
    sim.command("/unit/1", "add", "3", 3);
    assert_eq!(
        sim.done,
        [(
            3,
            Err(SessionError::BufferFull(BufferError::TooMany { max: 2 }))
        )]
    );
    sim.server_up = true;
    sim.advance_to(Instant::from_millis(100));
    assert_eq!(
        sim.done,
        [
            (
                3,
                Err(SessionError::BufferFull(BufferError::TooMany { max: 2 }))
            ),
            (1, Ok(())),
            (2, Ok(()))
        ]
    );
    let commands = sim
        .server_lines()
        .into_iter()
        .filter(|l| l.starts_with("command"))
        .collect::<Vec<_>>();
    assert_eq!(commands, ["command /unit/1 add 1", "command /unit/1 add 2"]);
}

#[test]
fn the_first_connection_failing_ends_the_session() {
    let mut sim = Sim::new(fast());
    // That first attempt succeeded; a fresh session whose first attempt fails:
    let mut session: ClientSession<u32> = ClientSession::new(Instant::ZERO, fast());
    session.open(id(0), "/unit/1", "info", false).expect("open");
    session.command("/unit/1", "add", Body::from_raw("1"), 7);
    let mut outputs = Vec::new();
    loop {
        match session.poll_output() {
            Output::Connect => session.connect_failed(Instant::ZERO),
            Output::Timeout(t) => {
                assert_eq!(t, None);
                break;
            }
            Output::Event(d, e) => outputs.push(format!("{} {e:?}", d.get())),
            Output::Done(tag, r) => outputs.push(format!("done {tag} {r:?}")),
            Output::Closed(end) => outputs.push(format!("closed {end:?}")),
            Output::State(s) => outputs.push(format!("{s:?}")),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        outputs,
        [
            "Connecting",
            "Closed",
            "done 7 Err(Closed)",
            "0 Unlinked(Closed)",
            "closed ConnectFailed(Transport)"
        ]
    );
    assert!(session.is_closed());
    assert_eq!(
        session.open(id(1), "/unit/1", "info", false),
        Err(SessionError::Closed)
    );
    sim.command("/unit/1", "add", "1", 1);
    assert_eq!(sim.done, [(1, Ok(()))]);
}

#[test]
fn a_silent_server_times_the_connection_out() {
    let config = fast().with_connect_timeout(Duration::from_millis(500));
    let mut session: ClientSession<u32> = ClientSession::new(Instant::ZERO, config);
    let mut seen = Vec::new();
    let deadline = loop {
        match session.poll_output() {
            Output::Connect => {
                let connect = Connect::new("h", "/", [1; 16], [2; 16]);
                assert!(session.connected(Instant::ZERO, connect));
            }
            Output::Transmit(_) => seen.push("request".to_string()),
            Output::Timeout(t) => break t,
            _ => {}
        }
    };
    assert_eq!(seen, ["request"]);
    assert_eq!(deadline, Some(Instant::from_millis(500)));
    session
        .handle_input(Input::Timeout(Instant::from_millis(500)))
        .expect("timeout");
    let mut outputs = Vec::new();
    loop {
        match session.poll_output() {
            Output::Timeout(_) => break,
            Output::CloseTransport(e) => outputs.push(format!("close {e:?}")),
            Output::Closed(e) => outputs.push(format!("end {e:?}")),
            _ => {}
        }
    }
    assert_eq!(
        outputs,
        [
            "close TimedOut".to_string(),
            format!(
                "end {:?}",
                SessionEnd::ConnectFailed(AttemptError::Timeout(Duration::from_millis(500)))
            )
        ]
    );
}

#[test]
fn a_stalled_downlink_holds_its_events_in_order_and_pauses_input() {
    let mut sim = Sim::new(SessionConfig::default());
    sim.open(0, "/unit/1", "count", false);
    sim.open(1, "/unit/1", "info", false);
    assert_eq!(sim.take(0), [DownlinkEvent::Linked]);
    sim.stalled.push(0);
    for (i, n) in ["1", "2", "3"].into_iter().enumerate() {
        sim.session
            .command("/unit/1", "add", Body::from_raw(n), i as u32);
    }
    sim.command("/unit/1", "set_info", "\"x\"", 9);
    // The first event is held; the session stops asking for input.
    assert!(sim.session.is_backlogged());
    assert!(!sim.session.wants_input());
    assert!(sim.take(0).is_empty());
    assert_eq!(sim.session.held_downlinks().collect::<Vec<_>>(), [id(0)]);
    // The reader catches up: every event, once, in order; input resumes.
    sim.stalled.clear();
    let mut got = Vec::new();
    while let Some(e) = sim.session.take_held(id(0)) {
        got.push(e);
    }
    assert!(sim.session.wants_input());
    sim.run();
    got.extend(sim.take(0));
    assert_eq!(got, [ev("1"), ev("3"), ev("6")]);
    assert_eq!(sim.take(1), [DownlinkEvent::Linked, ev("\"x\"")]);
}

#[test]
fn close_ends_downlinks_refuses_buffered_commands_and_answers_the_closer() {
    let mut sim = Sim::new(fast());
    sim.open(0, "/unit/1", "info", true);
    sim.take(0);
    sim.session.close(Some(5));
    sim.run();
    assert_eq!(sim.take(0), [DownlinkEvent::Unlinked(UnlinkReason::Closed)]);
    assert_eq!(sim.ended, Some(SessionEnd::Closed));
    assert_eq!(sim.done, [(5, Ok(()))]);
    assert_eq!(sim.states.last(), Some(&ClientState::Closed));
    assert!(matches!(
        sim.closed_transports.as_slice(),
        [TransportEnd::Closed(_)]
    ));
    // The close went out as a close frame (the server saw the peer close with 1000).
    sim.command("/unit/1", "add", "1", 6);
    assert_eq!(sim.done, [(5, Ok(())), (6, Err(SessionError::Closed))]);
    sim.session.close(Some(7));
    sim.run();
    assert_eq!(sim.done.last(), Some(&(7, Ok(()))));
    assert_eq!(sim.connects, 1);

    // Closed while disconnected: buffered commands are refused.
    let mut sim = Sim::new(fast());
    sim.server_up = false;
    sim.kill_server();
    sim.command("/unit/1", "add", "1", 1);
    sim.session.close(None);
    sim.run();
    assert_eq!(sim.done, [(1, Err(SessionError::Closed))]);
    assert_eq!(sim.ended, Some(SessionEnd::Closed));
}

#[test]
fn without_reconnect_a_lost_connection_ends_the_session() {
    let mut sim = Sim::new(SessionConfig::default().with_reconnect(None));
    sim.open(0, "/unit/1", "count", false);
    sim.take(0);
    sim.kill_server();
    assert_eq!(sim.take(0), [DownlinkEvent::Unlinked(UnlinkReason::Closed)]);
    assert!(matches!(sim.ended, Some(SessionEnd::Lost(_))));
    assert_eq!(sim.session.state(), ClientState::Closed);
}

#[test]
fn dropping_every_handle_ends_the_session_once_no_downlink_is_left() {
    let mut sim = Sim::new(SessionConfig::default());
    sim.open(0, "/unit/1", "count", false);
    sim.session.handles_gone();
    sim.run();
    assert_eq!(sim.ended, None, "a downlink is still open");
    sim.session.close_downlink(id(0), None);
    sim.run();
    assert_eq!(sim.ended, Some(SessionEnd::Abandoned));
}
