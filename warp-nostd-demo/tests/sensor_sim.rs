//! The sensor's drive loop (`sensor::run`) in memory, on a virtual clock: an in-memory
//! `ServerEndpoint` plays the server behind a fake socket, so the script and its failures run
//! in microseconds and deterministically: a clean run, a 4 KiB state event, a link the server
//! refuses, a server that goes away, a server that never answers.

mod common;

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use common::check_output;
use embedded_io::{ErrorKind, ErrorType, Read, Write};
use warp_nostd_demo::args::Plan;
use warp_nostd_demo::platform::{Clock, Socket};
use warp_nostd_demo::sensor::{self, Failure, Outcome};
use warp_proto::connection::{Accepted, Close, LinkId, Rejection, ServerRequest};
use warp_proto::endpoint::{
    CloseReason, EndpointConfig, Input, Output, ServerEndpoint, ServerEvent,
};
use warp_proto::envelope::Body;
use warp_proto::ws::{CloseCode, Instant};

/// How the in-memory server behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Like the demo agents: `info`, `count`, `add`.
    Normal,
    /// Refuses links to `count` with `@laneNotFound`.
    RefuseCount,
    /// Closes the connection (1001) on the first command.
    GoAwayOnCommand,
    /// Reads everything, answers nothing.
    Silent,
}

/// A request copied out of the server's event.
enum Request {
    Link {
        link: LinkId,
        lane: String,
        sync: bool,
    },
    Command {
        lane: String,
        body: String,
    },
    Unlink(LinkId),
}

/// The server and the bytes on their way to the client.
struct SimServer {
    ep: ServerEndpoint<Vec<u8>, Vec<u8>>,
    behaviour: Behaviour,
    info: String,
    count: i64,
    count_links: Vec<LinkId>,
    to_client: VecDeque<u8>,
    closed: Option<CloseReason>,
    unlinks: usize,
    now: Rc<Cell<u64>>,
}

impl SimServer {
    fn new(behaviour: Behaviour, info: &str, now: Rc<Cell<u64>>) -> Self {
        let ep = ServerEndpoint::new(Instant::ZERO, EndpointConfig::default()).unwrap();
        SimServer {
            ep,
            behaviour,
            info: info.to_string(),
            count: 0,
            count_links: Vec::new(),
            to_client: VecDeque::new(),
            closed: None,
            unlinks: 0,
            now,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.now.get())
    }

    /// Drains the server, acting on each request.
    fn drain(&mut self) {
        loop {
            let request = match self.ep.poll_output() {
                Output::Transmit(bytes) => {
                    self.to_client.extend(bytes);
                    continue;
                }
                Output::Event(ServerEvent::Received(ServerRequest::Link {
                    link,
                    lane,
                    sync,
                    ..
                })) => Request::Link {
                    link,
                    lane: lane.to_string(),
                    sync,
                },
                Output::Event(ServerEvent::Received(ServerRequest::Command {
                    lane, body, ..
                })) => Request::Command {
                    lane: lane.to_string(),
                    body: body.raw().to_string(),
                },
                Output::Event(ServerEvent::Received(ServerRequest::Unlink { link })) => {
                    Request::Unlink(link)
                }
                Output::Event(_) | Output::Message(_) => continue,
                Output::Timeout(_) => return,
                Output::Closed(reason) => {
                    self.closed = Some(reason);
                    return;
                }
            };
            self.act(request);
        }
    }

    fn act(&mut self, request: Request) {
        match request {
            Request::Link { link, lane, .. }
                if lane == "count" && self.behaviour == Behaviour::RefuseCount =>
            {
                self.ep.reject(link, Rejection::LaneNotFound).unwrap();
            }
            Request::Link { link, lane, sync } => {
                let accepted = self.ep.accept(link).unwrap();
                assert_eq!(accepted == Accepted::Syncing, sync);
                if lane == "count" {
                    self.count_links.push(link);
                }
                if sync {
                    let state = if lane == "count" {
                        self.count.to_string()
                    } else {
                        format!("{:?}", self.info)
                    };
                    self.ep.sync_event(link, Body::from_raw(&state)).unwrap();
                    self.ep.synced(link).unwrap();
                }
            }
            Request::Command { .. } if self.behaviour == Behaviour::GoAwayOnCommand => {
                self.ep.close_with(Close::GoingAway);
            }
            Request::Command { lane, body } => {
                assert_eq!(lane, "add");
                self.count += body.parse::<i64>().unwrap();
                let value = self.count.to_string();
                for &link in &self.count_links {
                    self.ep.event(link, Body::from_raw(&value)).unwrap();
                }
            }
            Request::Unlink(link) => {
                self.unlinks += 1;
                self.count_links.retain(|&l| l != link);
            }
        }
    }
}

/// The client's socket: writes go into the server, reads come from it. Waiting with nothing to
/// read moves the virtual clock on by the whole timeout.
struct SimSocket {
    server: SimServer,
}

impl ErrorType for SimSocket {
    type Error = ErrorKind;
}

impl Write for SimSocket {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        let server = &mut self.server;
        if server.behaviour == Behaviour::Silent || server.closed.is_some() {
            return Ok(buf.len());
        }
        let mut fed = 0;
        while fed < buf.len() {
            let now = server.now();
            match server.ep.handle_input(Input::Receive(now, &buf[fed..])) {
                Ok(n) => fed += n,
                Err(_) => break,
            }
            server.drain();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

impl Read for SimSocket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        let mut n = 0;
        while n < buf.len() {
            match self.server.to_client.pop_front() {
                Some(byte) => {
                    buf[n] = byte;
                    n += 1;
                }
                None => break,
            }
        }
        // Nothing left and the server has ended: the end of the stream.
        Ok(n)
    }
}

impl Socket for SimSocket {
    fn wait_readable(&mut self, timeout_ms: u32) -> Result<bool, ErrorKind> {
        if !self.server.to_client.is_empty() || self.server.closed.is_some() {
            return Ok(true);
        }
        let now = &self.server.now;
        now.set(now.get() + u64::from(timeout_ms));
        Ok(false)
    }
}

/// The virtual clock the client reads.
struct SimClock(Rc<Cell<u64>>);

impl Clock for SimClock {
    fn now(&mut self) -> Instant {
        Instant::from_millis(self.0.get())
    }
}

/// Runs the sensor against a server behaving so; its result, output and the server.
fn run(
    behaviour: Behaviour,
    info: &str,
    readings: u16,
) -> (Result<Outcome, Failure<ErrorKind>>, String, SimServer) {
    let time = Rc::new(Cell::new(0));
    let mut socket = SimSocket {
        server: SimServer::new(behaviour, info, Rc::clone(&time)),
    };
    let mut clock = SimClock(time);
    let plan = Plan {
        readings,
        timeout_ms: 5_000,
        ..Plan::new(core::net::Ipv4Addr::LOCALHOST, 9001)
    };
    let deadline = Instant::from_millis(5_000);
    let mut out = String::new();
    let result = sensor::run(&mut socket, &mut clock, &mut out, &plan, deadline, [7; 32]);
    (result, out, socket.server)
}

#[test]
fn the_script_runs_to_a_clean_close() {
    let (result, out, server) = run(Behaviour::Normal, "hello", 5);
    assert_eq!(
        result.unwrap(),
        Outcome {
            count: 15,
            events: 7
        }
    );
    assert_eq!(check_output(&out, "/unit/1", 5), 0);
    assert!(out.contains("event /unit/1 info \"hello\"\n"), "{out}");
    assert_eq!(server.unlinks, 2);
    assert_eq!(
        server.closed,
        Some(CloseReason::Remote {
            code: Some(CloseCode::NORMAL)
        })
    );
}

#[test]
fn a_4k_state_event_arrives_whole_on_one_line() {
    let info = "é".repeat(1990); // 3980 bytes of text: the frame is just under 4 KiB
    let (result, out, _) = run(Behaviour::Normal, &info, 1);
    assert_eq!(result.unwrap().count, 1);
    let line = format!("event /unit/1 info \"{info}\"\n");
    assert!(out.contains(&line), "{out}");
}

#[test]
fn a_refused_link_fails_the_run_and_closes_the_connection() {
    let (result, out, server) = run(Behaviour::RefuseCount, "", 3);
    assert!(
        matches!(result, Err(Failure::Unlinked("count"))),
        "{result:?}"
    );
    assert!(
        out.contains("unlinked /unit/1 count by-server @laneNotFound\n"),
        "{out}"
    );
    assert!(!out.contains("command"), "{out}");
    assert!(out.ends_with("closed 1000\n"), "{out}");
    assert_eq!(
        server.closed,
        Some(CloseReason::Remote {
            code: Some(CloseCode::NORMAL)
        })
    );
}

#[test]
fn a_server_going_away_ends_the_run_with_its_code() {
    let (result, out, _) = run(Behaviour::GoAwayOnCommand, "", 3);
    assert!(
        matches!(
            result,
            Err(Failure::Closed(CloseReason::Remote { code: Some(code) })) if code.as_u16() == 1001
        ),
        "{result:?}"
    );
    assert!(out.ends_with("closed 1001\n"), "{out}");
    assert_eq!(result.unwrap_err().exit_code(), 1);
}

#[test]
fn a_silent_server_times_the_run_out_at_the_deadline() {
    let (result, out, server) = run(Behaviour::Silent, "", 3);
    match result {
        Err(Failure::Timeout {
            waiting_for,
            limit_ms,
        }) => {
            assert_eq!(waiting_for, "the handshake and the lanes' state");
            assert_eq!(limit_ms, 5_000);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(out.is_empty(), "{out}");
    let now = server.now.get();
    assert!((5_000..5_100).contains(&now), "stopped at {now} ms");
}
