//! The sensor: the drive loop over a [`DemoEndpoint`] and the script it plays, portable to any
//! [`Socket`] and [`Clock`].
//!
//! The script, for a node `NODE` and `READINGS` readings:
//! 1. `sync` the lanes it follows, `info` and `count` of `NODE` (queued before the WebSocket is
//!    open; they go out once it is);
//! 2. once both are synced, publish the readings: `command` to `add` with the integers 1 to
//!    `READINGS`;
//! 3. follow `count` until it has grown by their sum (from the value the sync gave);
//! 4. close both handles (`unlink`) and wait until the server has confirmed each (`unlinked`);
//! 5. close the WebSocket (1000) and wait for the server's close.
//!
//! Every step is bounded by the plan's time limit ([`Failure::Timeout`]).
//!
//! It prints one line per thing that happens, fields separated by single spaces (`BODY` is the
//! event's Recon text as received, control characters written as `\n`, `\r`, `\t` or
//! `\u{..}`, so a line is always one line):
//!
//! ```text
//! connected PROTOCOL         the server accepted the upgrade (warp0, or none)
//! linked NODE LANE           the server confirmed a link
//! event NODE LANE BODY       a lane event
//! synced NODE LANE           the state asked for by the sync is complete
//! command NODE add N         a reading was published
//! unlinked NODE LANE         the server confirmed the unlink
//! unlinked NODE LANE by-server REASON    the server ended a link itself (a failure)
//! protocol-error TEXT        the server sent a frame that is not a usable envelope
//! closed CODE                the WebSocket has closed, with this code
//! done COUNT                 all went to plan; the final value of count
//! ```

use core::fmt::{self, Write as _};
use core::net::Ipv4Addr;

use warp_proto::connection::{CallError, HandleId, LinkId, UnlinkReason};
use warp_proto::endpoint::{
    ClientEvent, CloseReason, Connect, EndpointConfig, EndpointError, Input, InputError, Output,
};
use warp_proto::envelope::Body;
use warp_proto::recon::{Event, Number};
use warp_proto::ws::{CloseCode, Instant};

use crate::args::Plan;
use crate::platform::{Clock, Socket};
use crate::{DemoEndpoint, READ_LEN, RX_LEN, TX_LEN};

/// The lane whose state the sensor follows and prints (free text).
pub const INFO_LANE: &str = "info";
/// The lane the sensor follows to see its readings land (the running total).
pub const COUNT_LANE: &str = "count";
/// The command lane the readings are published to (each adds to `count`).
pub const ADD_LANE: &str = "add";

/// The longest `Host` header: `255.255.255.255:65535`.
const HOST_LEN: usize = 21;

/// How a run went when it went to plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The value of `count` when the sensor stopped following it.
    pub count: i64,
    /// Lane events received.
    pub events: u32,
}

/// Why a run failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure<E> {
    /// The socket failed.
    Io(E),
    /// The endpoint could not be made.
    Endpoint(EndpointError),
    /// The endpoint refused an application call.
    Call(CallError),
    /// The endpoint refused input (a bug in the drive loop).
    Input(InputError),
    /// The connection ended before the script was done, or not with a clean close.
    Closed(CloseReason),
    /// The server ended the link to this lane itself.
    Unlinked(&'static str),
    /// The time limit ran out.
    Timeout {
        /// What the sensor was waiting for.
        waiting_for: &'static str,
        /// The time limit, in milliseconds.
        limit_ms: u32,
    },
    /// The readings would take `count` beyond the integer range.
    Overflow,
    /// The output could not be written.
    Output,
}

impl<E> Failure<E> {
    /// The program's exit status for this failure: 3 for a timeout, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Timeout { .. } => 3,
            _ => 1,
        }
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Io(e) => write!(f, "socket: {e}"),
            Failure::Endpoint(e) => write!(f, "endpoint: {e}"),
            Failure::Call(e) => write!(f, "endpoint call refused: {e}"),
            Failure::Input(e) => write!(f, "endpoint input refused: {e}"),
            Failure::Closed(reason) => write!(f, "connection ended early: {reason}"),
            Failure::Unlinked(lane) => write!(f, "the server ended the link to lane {lane}"),
            Failure::Timeout {
                waiting_for,
                limit_ms,
            } => write!(f, "timed out after {limit_ms} ms waiting for {waiting_for}"),
            Failure::Overflow => f.write_str("the readings overflow the count"),
            Failure::Output => f.write_str("cannot write the output"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for Failure<E> {}

/// The endpoint's configuration: the defaults (keep-alive, idle and close timeouts), with
/// messages bounded by the receive storage.
pub fn config() -> EndpointConfig {
    let mut config = EndpointConfig::default();
    config.ws = config.ws.with_max_message_len(RX_LEN);
    config
}

/// Runs the script of the [module docs](self) over `socket` (already connected to
/// `plan.addr:plan.port`), printing to `out`, until `deadline` on `clock` at the latest (the
/// caller counts `plan.timeout_ms` from where it likes, such as before connecting). `random`
/// seeds the WebSocket key (first 16 bytes) and the frame masks (last 16).
///
/// All state is on this function's stack: the [`DemoEndpoint`], its receive and transmit
/// storages and a [`READ_LEN`]-byte read buffer. Returns when the WebSocket has closed, the time limit has run out or something
/// failed.
pub fn run<S, C, W>(
    socket: &mut S,
    clock: &mut C,
    out: &mut W,
    plan: &Plan<'_>,
    deadline: Instant,
    random: [u8; 32],
) -> Result<Outcome, Failure<S::Error>>
where
    S: Socket,
    C: Clock,
    W: fmt::Write,
{
    let start = clock.now();
    let host = host_header(plan.addr, plan.port)?;
    let (nonce, mask_seed) = split_random(random);
    let connect = Connect::new(&host, "/", nonce, mask_seed);
    let mut rx = [0u8; RX_LEN];
    let mut tx = [0u8; TX_LEN];
    let mut ep = DemoEndpoint::with_storage(start, config(), connect, &mut rx[..], &mut tx[..])
        .map_err(Failure::Endpoint)?;
    let mut sensor = Sensor::open(&mut ep, plan)?;
    let mut buf = [0u8; READ_LEN];
    // The bytes read but not yet taken by the endpoint: `buf[taken..read]`.
    let (mut taken, mut read) = (0, 0);
    loop {
        // 1. Drain: write what is to be sent, act on events, until the endpoint waits.
        let wake = loop {
            match ep.poll_output() {
                Output::Transmit(bytes) => socket.write_all(bytes).map_err(Failure::Io)?,
                Output::Event(event) => sensor.on_event(event, out)?,
                Output::Timeout(wake) => break wake,
                Output::Closed(reason) => return sensor.finish(reason, out),
                // Message mode only; this endpoint frames its own messages.
                Output::Message(_) => {}
            }
        };
        // 2. The script's next step, if the state allows one (then drain again).
        if sensor.step(&mut ep, out)? {
            continue;
        }
        let now = clock.now();
        if now >= deadline {
            return Err(Failure::Timeout {
                waiting_for: sensor.waiting_for(),
                limit_ms: plan.timeout_ms,
            });
        }
        // 3. Bytes read and not yet taken go in first.
        if taken < read {
            let rest = buf.get(taken..read).unwrap_or(&[]);
            let used = ep
                .handle_input(Input::Receive(now, rest))
                .map_err(Failure::Input)?;
            taken = taken.saturating_add(used).min(read);
            continue;
        }
        // 4. A deadline of the endpoint's (keep-alive, close timeout) that has come.
        if wake.is_some_and(|t| t <= now) {
            ep.handle_input(Input::Timeout(now))
                .map_err(Failure::Input)?;
            continue;
        }
        // 5. Wait for bytes until the endpoint's deadline or the run's, whichever is first.
        let until = wake.map_or(deadline, |t| t.min(deadline));
        let wait = until.saturating_duration_since(now).as_millis();
        let wait_ms = u32::try_from(wait).unwrap_or(u32::MAX).max(1);
        if socket.wait_readable(wait_ms).map_err(Failure::Io)? {
            let n = socket.read(&mut buf).map_err(Failure::Io)?;
            let now = clock.now();
            if n == 0 {
                ep.handle_input(Input::TransportClosed(now))
                    .map_err(Failure::Input)?;
            } else {
                (taken, read) = (0, n);
            }
        }
    }
}

/// `ADDR:PORT` for the `Host` header.
fn host_header<E>(addr: Ipv4Addr, port: u16) -> Result<heapless::String<HOST_LEN>, Failure<E>> {
    let mut host = heapless::String::new();
    write!(host, "{addr}:{port}").map_err(|_| Failure::Output)?;
    Ok(host)
}

/// The WebSocket key (first half) and the mask seed (second half).
fn split_random(random: [u8; 32]) -> ([u8; 16], [u8; 16]) {
    let mut nonce = [0; 16];
    let mut seed = [0; 16];
    let (a, b) = random.split_at(16);
    nonce.copy_from_slice(a);
    seed.copy_from_slice(b);
    (nonce, seed)
}

/// Where the script is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for both lanes' state.
    Syncing,
    /// Publishing; the next reading to send.
    Publishing(u16),
    /// Waiting for `count` to reach the target.
    Landing,
    /// `unlink` sent; waiting for `unlinked`.
    Unlinking,
    /// `close` sent; waiting for the server's close.
    Closing,
}

/// One followed lane.
#[derive(Clone, Copy, Debug)]
struct Downlink {
    lane: &'static str,
    handle: HandleId,
    link: Option<LinkId>,
    synced: bool,
    unlinked: bool,
}

/// The script's state.
struct Sensor<'p> {
    node: &'p str,
    readings: u16,
    lanes: [Downlink; 2],
    phase: Phase,
    /// The last value of `count` received.
    count: Option<i64>,
    /// The value `count` reaches once all readings have landed.
    target: i64,
    events: u32,
    /// The lane whose link the server ended.
    ended_by_server: Option<&'static str>,
}

/// The index of `count` in [`Sensor::lanes`].
const COUNT: usize = 1;

impl<'p> Sensor<'p> {
    /// Opens the handles: `sync` on `info` and on `count`.
    fn open<E>(ep: &mut DemoEndpoint<'_>, plan: &Plan<'p>) -> Result<Self, Failure<E>> {
        let mut open = |lane: &'static str| -> Result<Downlink, Failure<E>> {
            let handle = ep.sync(plan.node, lane).map_err(Failure::Call)?;
            Ok(Downlink {
                lane,
                handle,
                link: ep.connection().handle_link(handle),
                synced: false,
                unlinked: false,
            })
        };
        let lanes = [open(INFO_LANE)?, open(COUNT_LANE)?];
        Ok(Sensor {
            node: plan.node,
            readings: plan.readings,
            lanes,
            phase: Phase::Syncing,
            count: None,
            target: 0,
            events: 0,
            ended_by_server: None,
        })
    }

    /// The followed lane of `link`.
    fn index(&self, link: LinkId) -> Option<usize> {
        self.lanes.iter().position(|d| d.link == Some(link))
    }

    /// Prints the event and keeps what the script needs of it.
    fn on_event<E, W: fmt::Write>(
        &mut self,
        event: ClientEvent<'_>,
        out: &mut W,
    ) -> Result<(), Failure<E>> {
        let node = self.node;
        let written = match event {
            ClientEvent::Connected { protocol } => {
                writeln!(out, "connected {}", protocol.unwrap_or("none"))
            }
            ClientEvent::Linked { link, .. } => match self.index(link) {
                Some(i) => writeln!(out, "linked {node} {}", self.lane(i)),
                None => Ok(()),
            },
            ClientEvent::Event { link, body, .. } => match self.index(link) {
                Some(i) => {
                    self.events = self.events.saturating_add(1);
                    if i == COUNT {
                        if let Some(value) = integer(body) {
                            self.count = Some(value);
                        }
                    }
                    writeln!(out, "event {node} {} {}", self.lane(i), OneLine(body.raw()))
                }
                None => Ok(()),
            },
            ClientEvent::Synced { link, .. } => match self.index(link) {
                Some(i) => {
                    if let Some(d) = self.lanes.get_mut(i) {
                        d.synced = true;
                    }
                    writeln!(out, "synced {node} {}", self.lane(i))
                }
                None => Ok(()),
            },
            ClientEvent::Unlinked {
                link,
                node,
                lane,
                reason,
                ..
            } => {
                if let Some(i) = self.index(link) {
                    self.ended_by_server = Some(self.lane(i));
                }
                let reason = match reason {
                    UnlinkReason::NodeNotFound => OneLine("@nodeNotFound"),
                    UnlinkReason::LaneNotFound => OneLine("@laneNotFound"),
                    UnlinkReason::Other(body) => OneLine(body.raw()),
                    _ => OneLine(""),
                };
                writeln!(out, "unlinked {node} {lane} by-server {reason}")
            }
            ClientEvent::ProtocolError(e) => writeln!(out, "protocol-error {e}"),
            ClientEvent::Authed { body } => writeln!(out, "authed {}", OneLine(body.raw())),
            ClientEvent::Deauthed { body } => writeln!(out, "deauthed {}", OneLine(body.raw())),
            _ => Ok(()),
        };
        written.map_err(|_| Failure::Output)
    }

    /// The name of followed lane `i`.
    fn lane(&self, i: usize) -> &'static str {
        self.lanes.get(i).map_or("", |d| d.lane)
    }

    /// Takes the script's next step if the state allows one. True when it made an endpoint
    /// call (drain next); false when it waits for input.
    fn step<E, W: fmt::Write>(
        &mut self,
        ep: &mut DemoEndpoint<'_>,
        out: &mut W,
    ) -> Result<bool, Failure<E>> {
        if self.ended_by_server.is_some() && self.phase != Phase::Closing {
            self.phase = Phase::Closing;
            ep.close();
            return Ok(true);
        }
        loop {
            match self.phase {
                Phase::Syncing => {
                    if !self.lanes.iter().all(|d| d.synced) {
                        return Ok(false);
                    }
                    let sum = u64::from(self.readings) * (u64::from(self.readings) + 1) / 2;
                    self.target = i64::try_from(sum)
                        .ok()
                        .and_then(|sum| self.count.unwrap_or(0).checked_add(sum))
                        .ok_or(Failure::Overflow)?;
                    self.phase = Phase::Publishing(1);
                }
                Phase::Publishing(next) if next > self.readings => self.phase = Phase::Landing,
                Phase::Publishing(next) => {
                    let mut text = heapless::String::<8>::new();
                    write!(text, "{next}").map_err(|_| Failure::Output)?;
                    ep.command(self.node, ADD_LANE, Body::from_raw(&text))
                        .map_err(Failure::Call)?;
                    writeln!(out, "command {} {ADD_LANE} {next}", self.node)
                        .map_err(|_| Failure::Output)?;
                    self.phase = Phase::Publishing(next.saturating_add(1));
                    return Ok(true);
                }
                Phase::Landing => {
                    if self.count.is_none_or(|count| count < self.target) {
                        return Ok(false);
                    }
                    for d in &self.lanes {
                        ep.close_handle(d.handle).map_err(Failure::Call)?;
                    }
                    self.phase = Phase::Unlinking;
                    return Ok(true);
                }
                Phase::Unlinking => {
                    for d in &mut self.lanes {
                        let gone = d
                            .link
                            .is_none_or(|link| ep.connection().link_state(link).is_none());
                        if !d.unlinked && gone {
                            d.unlinked = true;
                            writeln!(out, "unlinked {} {}", self.node, d.lane)
                                .map_err(|_| Failure::Output)?;
                        }
                    }
                    if !self.lanes.iter().all(|d| d.unlinked) {
                        return Ok(false);
                    }
                    self.phase = Phase::Closing;
                    ep.close();
                    return Ok(true);
                }
                Phase::Closing => return Ok(false),
            }
        }
    }

    /// What the script waits for now, for a timeout message.
    fn waiting_for(&self) -> &'static str {
        match self.phase {
            Phase::Syncing => "the handshake and the lanes' state",
            Phase::Publishing(_) => "the readings to go out",
            Phase::Landing => "the readings to land on count",
            Phase::Unlinking => "unlinked",
            Phase::Closing => "the server's close",
        }
    }

    /// The end: a clean close after the script is an [`Outcome`], anything else a failure.
    fn finish<E, W: fmt::Write>(
        &self,
        reason: CloseReason,
        out: &mut W,
    ) -> Result<Outcome, Failure<E>> {
        writeln!(out, "closed {}", reason.code()).map_err(|_| Failure::Output)?;
        if let Some(lane) = self.ended_by_server {
            return Err(Failure::Unlinked(lane));
        }
        let clean = CloseReason::Local {
            code: CloseCode::NORMAL,
        };
        if self.phase != Phase::Closing || reason != clean {
            return Err(Failure::Closed(reason));
        }
        let count = self.count.unwrap_or(0);
        writeln!(out, "done {count}").map_err(|_| Failure::Output)?;
        Ok(Outcome {
            count,
            events: self.events,
        })
    }
}

/// The body as an integer, if it is one.
fn integer(body: Body<'_>) -> Option<i64> {
    let mut reader = body.reader();
    match (reader.next_event(), reader.next_event()) {
        (Ok(Some(Event::Number(Number::Int(value)))), Ok(None)) => Some(value),
        _ => None,
    }
}

/// Text written on one line: control characters escaped.
struct OneLine<'a>(&'a str);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(char::is_control) {
            let (plain, tail) = rest.split_at(at);
            f.write_str(plain)?;
            let mut chars = tail.chars();
            match chars.next() {
                Some('\n') => f.write_str("\\n")?,
                Some('\r') => f.write_str("\\r")?,
                Some('\t') => f.write_str("\\t")?,
                Some(c) => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                None => {}
            }
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_escapes_control_characters_only() {
        let text = "a\nb\r\tc\u{1}\"q\\\" é";
        assert_eq!(OneLine(text).to_string(), "a\\nb\\r\\tc\\u{1}\"q\\\" é");
    }

    #[test]
    fn only_a_lone_integer_is_a_count() {
        assert_eq!(integer(Body::from_raw("15")), Some(15));
        assert_eq!(integer(Body::from_raw("-3")), Some(-3));
        assert_eq!(integer(Body::from_raw("1.5")), None);
        assert_eq!(integer(Body::from_raw("\"15\"")), None);
        assert_eq!(integer(Body::from_raw("{1,2}")), None);
        assert_eq!(integer(Body::from_raw("")), None);
    }

    #[test]
    fn the_host_header_fits_the_longest_address() {
        let host = host_header::<()>(Ipv4Addr::new(255, 255, 255, 255), 65535).unwrap();
        assert_eq!(host.as_str(), "255.255.255.255:65535");
    }

    #[test]
    fn random_bytes_split_into_key_and_seed() {
        let mut random = [0u8; 32];
        for (i, b) in random.iter_mut().enumerate() {
            *b = i as u8;
        }
        let (nonce, seed) = split_random(random);
        assert_eq!(nonce[0], 0);
        assert_eq!(nonce[15], 15);
        assert_eq!(seed[0], 16);
        assert_eq!(seed[15], 31);
    }
}
