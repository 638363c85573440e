//! The replayer, client side: it plays a trace's client frames to a server under test and
//! checks the server's frames against the trace ([`plan`], [`Checker`]).
//!
//! For each client frame in order, the replayer first waits (at most [`Limits::timeout`])
//! until every server frame the trace shows before it has come, then sends it. After the last
//! one it waits for the rest and watches [`Limits::quiet`] for extra frames. Server frames may
//! come earlier than the trace shows them, as long as each comes in order on its link. Once
//! the server closes (or the connection ends), the remaining client frames are not sent: the
//! expectation then must have nothing after them.
//!
//! A client close `1006` in a trace is the recorder's "ended without a close frame": the
//! replayer drops the connection instead of sending a close.
//!
//! Servers ([`Target`]): `core` (warp-proto's sans-IO server session with the demo agents, in
//! memory), `tokio` and `smol` (the drivers' demo servers on a free loopback port), or any
//! `ws://` URL. Each trace gets a fresh server of our drivers (the traces assume fresh
//! agents); a URL's server is whatever runs there.
//!
//! ```
//! use conformance::trace::replay::{replay_trace, Target};
//! use conformance::trace::{Expect, Limits, Trace};
//! use conformance::suite::report::Verdict;
//!
//! let text = r#"{"trace":"count","order":"per-link"}
//! {"t_ms":1,"dir":"c2s","text":"@command(node:\"/unit/1\",lane:add) 5"}
//! {"t_ms":2,"dir":"c2s","text":"@sync(node:\"/unit/1\",lane:count)"}
//! {"t_ms":3,"dir":"s2c","text":"@linked(node:\"/unit/1\",lane:count)"}
//! {"t_ms":3,"dir":"s2c","text":"@event(node:\"/unit/1\",lane:count) 5"}
//! {"t_ms":3,"dir":"s2c","text":"@synced(node:\"/unit/1\",lane:count)"}
//! {"t_ms":4,"dir":"c2s","close":1000}
//! {"t_ms":4,"dir":"s2c","close":1000}
//! "#;
//! let trace = Trace::parse("count.jsonl", text).unwrap();
//! let result = replay_trace(&Target::Core, &trace, Expect::Profile, Limits::default());
//! assert_eq!(result.verdict, Verdict::Pass, "{}", result.detail);
//! ```

use std::fmt;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use super::memory::MemoryConn;
use super::{plan, Checker, Difference, Expect, Expectation, Item, Limits, Payload, Plan, Source};
use super::{Trace, ABNORMAL_CLOSE};
use crate::suite::report::{Basis, CaseResult, Verdict};
use crate::suite::ws::{deadline_after, Incoming, WsPeer, WsUrl, WARP0};

/// A connection to a server under test, as the replayer uses it.
pub trait Transport {
    /// Sends a client frame: a text or binary message, a close with its code, or (close
    /// [`ABNORMAL_CLOSE`]) drops the connection without a close frame.
    fn send(&mut self, payload: &Payload) -> Result<(), String>;

    /// The next thing the server sends, waiting at most `timeout`
    /// ([`Incoming::Nothing`] when nothing came).
    fn recv(&mut self, timeout: Duration) -> Incoming;
}

impl Transport for WsPeer {
    fn send(&mut self, payload: &Payload) -> Result<(), String> {
        match payload {
            Payload::Text(t) => self.send_text(t),
            Payload::Binary(b) => self.send_binary(b),
            Payload::Close(ABNORMAL_CLOSE) => self
                .raw_stream()
                .and_then(|s| s.shutdown(Shutdown::Both))
                .map_err(|e| format!("dropping the connection: {e}")),
            Payload::Close(code) => self.send_close(*code),
        }
    }

    fn recv(&mut self, timeout: Duration) -> Incoming {
        WsPeer::recv(self, timeout)
    }
}

/// The server a replay runs against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// warp-proto's server session with the demo agents, in memory.
    Core,
    /// warp-tokio's demo server on a free loopback port.
    Tokio,
    /// warp-smol's demo server on a free loopback port.
    Smol,
    /// Any WARP server hosting the demo agents (offered `warp0`).
    Url(WsUrl),
}

impl Target {
    /// `core`, `tokio` or `smol`; `None` for another name.
    pub fn driver(name: &str) -> Option<Target> {
        match name {
            "core" => Some(Target::Core),
            "tokio" => Some(Target::Tokio),
            "smol" => Some(Target::Smol),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Core => f.write_str("core"),
            Target::Tokio => f.write_str("tokio"),
            Target::Smol => f.write_str("smol"),
            Target::Url(u) => f.write_str(&u.url),
        }
    }
}

/// How long starting or stopping one of our servers may take.
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// warp-tokio's demo server on its own runtime.
struct TokioServer {
    rt: tokio::runtime::Runtime,
    handle: warp_tokio::server::ServerHandle,
    addr: SocketAddr,
}

impl TokioServer {
    fn start() -> Result<TokioServer, String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        let server = rt
            .block_on(warp_tokio::demo::demo_server("127.0.0.1:0"))
            .map_err(|e| format!("binding the tokio demo server: {e}"))?;
        let addr = server.local_addr().map_err(|e| e.to_string())?;
        let handle = {
            let _entered = rt.enter();
            server.spawn()
        };
        Ok(TokioServer { rt, handle, addr })
    }

    fn stop(self) {
        let handle = self.handle;
        let _ = self
            .rt
            .block_on(async { tokio::time::timeout(SERVER_TIMEOUT, handle.shutdown()).await });
        self.rt.shutdown_timeout(Duration::from_secs(1));
    }
}

/// warp-smol's demo server, run on a thread of its own.
struct SmolServer {
    handle: warp_smol::server::ServerHandle,
    thread: std::thread::JoinHandle<()>,
    addr: SocketAddr,
}

impl SmolServer {
    fn start() -> Result<SmolServer, String> {
        let server = smol::block_on(warp_smol::demo::demo_server("127.0.0.1:0"))
            .map_err(|e| format!("binding the smol demo server: {e}"))?;
        let addr = server.local_addr().map_err(|e| e.to_string())?;
        let handle = server.handle();
        let thread = std::thread::Builder::new()
            .name("smol-demo-server".into())
            .spawn(move || smol::block_on(server.run()))
            .map_err(|e| format!("server thread: {e}"))?;
        Ok(SmolServer {
            handle,
            thread,
            addr,
        })
    }

    fn stop(self) {
        let handle = self.handle;
        let stopped = smol::block_on(smol::future::or(
            async {
                handle.shutdown().await;
                true
            },
            async {
                smol::Timer::after(SERVER_TIMEOUT).await;
                false
            },
        ));
        if stopped {
            let _ = self.thread.join();
        }
    }
}

fn connect(url: &WsUrl, limits: Limits) -> Result<WsPeer, Difference> {
    WsPeer::connect(url, Some(WARP0), limits.timeout)
        .map(|(peer, _)| peer)
        .map_err(|e| Difference::Connect(e.to_string()))
}

fn local_url(addr: SocketAddr) -> Result<WsUrl, Difference> {
    WsUrl::parse(&format!("ws://{addr}/")).map_err(Difference::Connect)
}

/// Replays `exp` against a fresh server of `target` (see the module docs).
pub fn replay_expectation(
    target: &Target,
    exp: &Expectation,
    limits: Limits,
) -> Result<(), Difference> {
    match target {
        Target::Core => {
            let mut conn = MemoryConn::connect().map_err(Difference::Connect)?;
            replay_on(&mut conn, exp, limits)
        }
        Target::Tokio => {
            let server = TokioServer::start().map_err(Difference::Connect)?;
            let result = local_url(server.addr)
                .and_then(|url| connect(&url, limits))
                .and_then(|mut peer| replay_on(&mut peer, exp, limits));
            server.stop();
            result
        }
        Target::Smol => {
            let server = SmolServer::start().map_err(Difference::Connect)?;
            let result = local_url(server.addr)
                .and_then(|url| connect(&url, limits))
                .and_then(|mut peer| replay_on(&mut peer, exp, limits));
            server.stop();
            result
        }
        Target::Url(url) => replay_on(&mut connect(url, limits)?, exp, limits),
    }
}

/// Replays one trace against `target` and reports it: PASS, FAIL with the first difference,
/// or SKIP with the reason ([`plan`]).
pub fn replay_trace(target: &Target, trace: &Trace, expect: Expect, limits: Limits) -> CaseResult {
    let result =
        |verdict, detail: String| CaseResult::new(&trace.name, Basis::Required, verdict, detail);
    let exp = match plan(trace, expect) {
        Ok(Plan::Replay(exp)) => exp,
        Ok(Plan::Skip(why)) => return result(Verdict::Skip, why),
        Err(e) => return result(Verdict::Fail, e.to_string()),
    };
    let basis = match &exp.source {
        Source::Recorded => "as recorded".to_string(),
        Source::Profile(why) => format!("PROFILE.md: {why}"),
    };
    match replay_expectation(target, &exp, limits) {
        Ok(()) => result(
            Verdict::Pass,
            format!(
                "{} client frames, {} server frames, {basis}",
                exp.c2s.len(),
                exp.s2c.len()
            ),
        ),
        Err(d) => result(Verdict::Fail, format!("{d} ({basis})")),
    }
}

/// Replays every trace against `target` in order, calling `progress` after each.
pub fn replay_all(
    target: &Target,
    traces: &[Trace],
    expect: Expect,
    limits: Limits,
    mut progress: impl FnMut(&CaseResult),
) -> Vec<CaseResult> {
    traces
        .iter()
        .map(|t| {
            let r = replay_trace(target, t, expect, limits);
            progress(&r);
            r
        })
        .collect()
}

/// The state of one replay.
struct Run<'e> {
    checker: Checker<'e>,
    /// How the connection ended, when it did.
    ended: Option<String>,
    /// The server sent a close.
    server_closed: bool,
}

impl Run<'_> {
    fn take(&mut self, incoming: Incoming) -> Result<(), Difference> {
        match incoming {
            Incoming::Text(t) => self.checker.offer(Item::from_text(&t)),
            Incoming::Binary(b) => self.checker.offer(Item::Binary(b)),
            Incoming::Close(code) => {
                self.server_closed = true;
                self.checker.offer(Item::Close(code.unwrap_or(1005)))
            }
            Incoming::Ping(_) | Incoming::Pong(_) | Incoming::Nothing => Ok(()),
            Incoming::Ended(why) => {
                self.ended = Some(why);
                Ok(())
            }
        }
    }

    /// Waits until every server frame due before client frame `sent` has come.
    fn wait_due(
        &mut self,
        conn: &mut dyn Transport,
        sent: usize,
        timeout: Duration,
    ) -> Result<(), Difference> {
        let deadline = deadline_after(timeout);
        loop {
            let Some(missing) = self.checker.first_missing(sent) else {
                return Ok(());
            };
            if let Some(why) = &self.ended {
                let why = match sent.checked_sub(1) {
                    Some(last) => format!("the connection ended after client frame {last} ({why})"),
                    None => format!("the connection ended ({why})"),
                };
                return Err(Checker::missing(missing, why));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let nothing = || Checker::missing(missing, format!("not sent within {timeout:?}"));
            if left.is_zero() {
                return Err(nothing());
            }
            match conn.recv(left) {
                Incoming::Nothing => return Err(nothing()),
                other => self.take(other)?,
            }
        }
    }

    /// Takes whatever comes within `quiet` (extra frames are differences).
    fn drain(&mut self, conn: &mut dyn Transport, quiet: Duration) -> Result<(), Difference> {
        let deadline = deadline_after(quiet);
        while self.ended.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match conn.recv(left) {
                Incoming::Nothing => break,
                other => self.take(other)?,
            }
        }
        Ok(())
    }
}

/// Replays `exp` on an open connection (see the module docs); the first difference is the
/// error.
pub fn replay_on(
    conn: &mut dyn Transport,
    exp: &Expectation,
    limits: Limits,
) -> Result<(), Difference> {
    let mut run = Run {
        checker: Checker::new(exp),
        ended: None,
        server_closed: false,
    };
    let mut client_closed = false;
    for (sent, frame) in exp.c2s.iter().enumerate() {
        run.wait_due(conn, sent, limits.timeout)?;
        if run.server_closed || run.ended.is_some() || client_closed {
            break;
        }
        if sent > 0 && !limits.pace.is_zero() {
            run.drain(conn, limits.pace)?;
            if run.server_closed || run.ended.is_some() {
                break;
            }
        }
        if let Err(error) = conn.send(&frame.payload) {
            // The server may have closed meanwhile: what it sent decides.
            run.drain(conn, limits.quiet)?;
            if run.server_closed || run.ended.is_some() {
                break;
            }
            return Err(Difference::Send {
                line: frame.line,
                error,
            });
        }
        client_closed = matches!(frame.payload, Payload::Close(_));
        if client_closed {
            run.checker.client_closed();
        }
    }
    run.wait_due(conn, exp.c2s.len(), limits.timeout)?;
    run.drain(conn, limits.quiet)
}
