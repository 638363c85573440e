//! The `client` mode: a scripted WARP server for a client under test, driven by recorded
//! traces (the "as the server side" replay of CONFORMANCE.md).
//!
//! The runner listens; every connection accepted (offering `warp0` or not: `warp0` is selected
//! when offered) is matched to a trace by its first frame: the first trace not yet played whose
//! first `c2s` frame equals it. The trace is then played as rounds: the runner waits for the
//! round's `c2s` frames, checks them, and answers with the round's `s2c` frames as recorded.
//!
//! What is checked, per CONFORMANCE.md:
//! - `c2s` text frames are compared as decoded envelopes (tag, node, lane, body value; prio and
//!   rate where the trace has them); frames that are not envelopes (a malformed recording) as
//!   text, binary frames as bytes.
//! - Order is checked per link and for the connection-level envelopes; frames of different
//!   links within one round may come in any order.
//! - A `c2s` close with code 1006 (the recorder's "ended without a close frame") accepts a close
//!   with any code, the end of the connection, or silence for the timeout (the client staying
//!   connected but sending nothing more). A close the client sends in answer to the runner's
//!   close may carry any code; a close the client starts must carry the recorded code.
//! - After the trace's last frame, nothing more may come from the client for the quiet window.
//!
//! Traces every connection played once; traces no connection played fail, and so does a
//! connection whose first frame matches no remaining trace.

use std::io;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::peers::OwnedEnvelope;
use crate::suite::expect::{key_of, show, Key, Want};
use crate::suite::report::{Basis, CaseResult, Verdict};
use crate::suite::trace::{Payload, Trace, TraceFrame, ABNORMAL_CLOSE};
use crate::suite::ws::{clip, Incoming, WsPeer, WARP0};

/// What the `client` mode needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// How long to wait for a frame the client must send (and for a client that ends like a
    /// 1006 recording to close).
    pub timeout: Duration,
    /// How long to watch for frames the client must not send after a trace ends.
    pub quiet: Duration,
    /// How long to wait for the next connection while traces remain unplayed.
    pub wait: Duration,
}

impl Default for ClientConfig {
    /// 5 s timeout, 300 ms quiet window, 60 s wait for connections.
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(5),
            quiet: Duration::from_millis(300),
            wait: Duration::from_secs(60),
        }
    }
}

/// Whether `trace` can be played by the runner as the server: it must start with a `c2s`
/// frame (the connection is matched to its trace by that frame).
pub fn check_playable(trace: &Trace) -> Result<(), String> {
    match trace.frames.first() {
        None => Err(format!("trace `{}` has no frames", trace.name)),
        Some(f) if f.dir == crate::suite::trace::Dir::S2c => Err(format!(
            "trace `{}` starts with a server frame (line {}); the client mode matches a \
             connection by its first client frame",
            trace.name, f.line
        )),
        Some(_) => Ok(()),
    }
}

/// Serves `traces` on `listener` until each was played by a connection, or no connection came
/// for `config.wait`. Calls `each` with every result as it is known; returns one result per
/// trace (in the given order) followed by one per connection that matched no trace.
pub fn serve(
    listener: TcpListener,
    traces: Vec<Trace>,
    config: &ClientConfig,
    mut each: impl FnMut(&CaseResult),
) -> io::Result<Vec<CaseResult>> {
    listener.set_nonblocking(true)?;
    let traces = Arc::new(traces);
    let claimed = Arc::new(Mutex::new(vec![false; traces.len()]));
    let matching = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<(Option<usize>, CaseResult)>();
    let mut by_trace: Vec<Option<CaseResult>> = vec![None; traces.len()];
    let mut extra = Vec::new();
    let mut workers = Vec::new();
    let mut last = Instant::now();
    let mut connections = 0usize;
    let mut take = |(slot, result): (Option<usize>, CaseResult),
                    by_trace: &mut Vec<Option<CaseResult>>| {
        each(&result);
        match slot.and_then(|i| by_trace.get_mut(i)) {
            Some(place) => *place = Some(result),
            None => extra.push(result),
        }
    };
    loop {
        while let Ok(r) = rx.try_recv() {
            take(r, &mut by_trace);
        }
        let all_claimed = claimed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .all(|c| *c);
        if all_claimed {
            break;
        }
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                connections += 1;
                last = Instant::now();
                matching.fetch_add(1, Ordering::SeqCst);
                let (traces, claimed, matching, tx) = (
                    Arc::clone(&traces),
                    Arc::clone(&claimed),
                    Arc::clone(&matching),
                    tx.clone(),
                );
                let config = *config;
                let n = connections;
                workers.push(thread::spawn(move || {
                    let r = play_connection(stream, n, &traces, &claimed, &matching, &config);
                    let _ = tx.send(r);
                }));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if last.elapsed() >= config.wait && matching.load(Ordering::SeqCst) == 0 {
                    break;
                }
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
    drop(tx);
    for w in workers {
        let _ = w.join();
    }
    while let Ok(r) = rx.try_recv() {
        take(r, &mut by_trace);
    }
    let mut results = Vec::new();
    for (trace, r) in traces.iter().zip(by_trace) {
        let r = r.unwrap_or_else(|| {
            let r = CaseResult::new(
                &trace.name,
                Basis::Required,
                Verdict::Fail,
                format!(
                    "no connection played this trace (none came for {:?})",
                    config.wait
                ),
            );
            each(&r);
            r
        });
        results.push(r);
    }
    results.extend(extra);
    Ok(results)
}

/// Handles one connection: handshake, first frame, matching, play.
fn play_connection(
    stream: std::net::TcpStream,
    n: usize,
    traces: &[Trace],
    claimed: &Mutex<Vec<bool>>,
    matching: &AtomicUsize,
    config: &ClientConfig,
) -> (Option<usize>, CaseResult) {
    let conn_name = format!("connection {n}");
    let fail = |detail: String| {
        (
            None,
            CaseResult::new(&conn_name, Basis::Required, Verdict::Fail, detail),
        )
    };
    let done_matching = || {
        matching.fetch_sub(1, Ordering::SeqCst);
    };
    let (mut peer, hs) = match WsPeer::accept(stream, config.timeout) {
        Ok(ok) => ok,
        Err(e) => {
            done_matching();
            return fail(e);
        }
    };
    let first = peer.recv(config.timeout);
    let slot = match &first {
        Incoming::Text(_) | Incoming::Binary(_) | Incoming::Close(_) => {
            let mut claimed = claimed.lock().unwrap_or_else(PoisonError::into_inner);
            let found = traces.iter().enumerate().position(|(i, t)| {
                !claimed.get(i).copied().unwrap_or(true)
                    && t.first_c2s().is_some_and(|f| matches_frame(f, &first))
            });
            if let Some(c) = found.and_then(|i| claimed.get_mut(i)) {
                *c = true;
            }
            found
        }
        _ => None,
    };
    done_matching();
    let Some(index) = slot else {
        return fail(match first {
            Incoming::Nothing => format!("sent nothing for {:?}", config.timeout),
            Incoming::Ended(why) => format!("ended before sending a frame ({why})"),
            other => format!("first frame {other} matches no remaining trace"),
        });
    };
    let Some(trace) = traces.get(index) else {
        return fail("internal: trace index out of range".into());
    };
    let offered = if hs.selected.as_deref() == Some(WARP0) {
        "offered warp0"
    } else {
        "did not offer warp0"
    };
    let result = match play(&mut peer, trace, first, config) {
        Ok(detail) => {
            let mut detail = format!("{detail}; the client {offered}");
            if let Some(d) = &trace.profile_differs {
                let why = if d == "see notes" { &trace.notes } else { d };
                detail.push_str(&format!(
                    " (the server side replays the reference, where PROFILE.md differs: {why})"
                ));
            }
            CaseResult::new(&trace.name, Basis::Required, Verdict::Pass, detail)
        }
        Err(e) => CaseResult::new(
            &trace.name,
            Basis::Required,
            Verdict::Fail,
            format!("{e} ({conn_name}, the client {offered})"),
        ),
    };
    (Some(index), result)
}

/// Whether the received `got` is the recorded client frame `f`.
fn matches_frame(f: &TraceFrame, got: &Incoming) -> bool {
    match (&f.payload, got) {
        (Payload::Text(want), Incoming::Text(t)) => match Want::parse(want) {
            Ok(w) => OwnedEnvelope::decode(t).is_ok_and(|e| w.matches(&e)),
            Err(_) => want == t,
        },
        (Payload::Binary(want), Incoming::Binary(b)) => want == b,
        (Payload::Close(want), Incoming::Close(code)) => {
            *want == ABNORMAL_CLOSE || Some(*want) == *code
        }
        _ => false,
    }
}

/// One expected client frame.
enum Expected {
    Env(Want),
    Raw(String),
    Binary(Vec<u8>),
}

impl Expected {
    fn describe(&self) -> String {
        match self {
            Expected::Env(w) => w.describe(),
            Expected::Raw(t) => clip(t, 120),
            Expected::Binary(b) => format!("a binary frame of {} bytes", b.len()),
        }
    }
}

#[derive(PartialEq, Eq)]
enum MatchKey {
    Env(Key),
    Raw,
}

/// The client frames of one round, checked in order per link.
struct Round {
    queues: Vec<(MatchKey, Vec<Expected>)>,
    close: Option<u16>,
}

impl Round {
    fn new(frames: &[&TraceFrame]) -> Round {
        let mut round = Round {
            queues: Vec::new(),
            close: None,
        };
        for f in frames {
            let (key, item) = match &f.payload {
                Payload::Close(code) => {
                    round.close = Some(*code);
                    continue;
                }
                Payload::Binary(b) => (MatchKey::Raw, Expected::Binary(b.clone())),
                Payload::Text(t) => match Want::parse(t) {
                    Ok(w) => (MatchKey::Env(key_of(&w.env)), Expected::Env(w)),
                    Err(_) => (MatchKey::Raw, Expected::Raw(t.clone())),
                },
            };
            match round.queues.iter_mut().find(|(k, _)| *k == key) {
                Some((_, q)) => q.push(item),
                None => round.queues.push((key, vec![item])),
            }
        }
        round
    }

    fn frames_done(&self) -> bool {
        self.queues.iter().all(|(_, q)| q.is_empty())
    }

    fn is_done(&self) -> bool {
        self.frames_done() && self.close.is_none()
    }

    fn pending(&self) -> String {
        let mut items: Vec<String> = self
            .queues
            .iter()
            .filter_map(|(_, q)| q.first().map(Expected::describe))
            .collect();
        if let Some(code) = self.close {
            items.push(if code == ABNORMAL_CLOSE {
                "the client to end the connection (or send nothing more)".into()
            } else {
                format!("close {code}")
            });
        }
        items.join("; ")
    }

    /// Consumes the expected frame `got` is, or says why it is not one.
    fn offer(&mut self, got: &Incoming) -> Result<(), String> {
        let (key, describe) = match got {
            Incoming::Text(t) => match OwnedEnvelope::decode(t) {
                Ok(e) => (MatchKey::Env(key_of(&e)), show(&e)),
                Err(_) => (MatchKey::Raw, clip(t, 120)),
            },
            Incoming::Binary(b) => (
                MatchKey::Raw,
                format!("a binary frame of {} bytes", b.len()),
            ),
            other => return Err(format!("unexpected {other}")),
        };
        let queue = self
            .queues
            .iter_mut()
            .find(|(k, _)| *k == key)
            .map(|(_, q)| q)
            .filter(|q| !q.is_empty());
        let Some(queue) = queue else {
            return Err(format!(
                "the client sent {describe}; expected {}",
                self.pending_or_nothing()
            ));
        };
        let ok = match (queue.first(), got) {
            (Some(Expected::Env(w)), Incoming::Text(t)) => {
                OwnedEnvelope::decode(t).is_ok_and(|e| w.matches(&e))
            }
            (Some(Expected::Raw(want)), Incoming::Text(t)) => want == t,
            (Some(Expected::Binary(want)), Incoming::Binary(b)) => want == b,
            _ => false,
        };
        if !ok {
            let wanted = queue.first().map(Expected::describe).unwrap_or_default();
            return Err(format!("the client sent {describe}; expected {wanted}"));
        }
        queue.remove(0);
        Ok(())
    }

    fn pending_or_nothing(&self) -> String {
        let p = self.pending();
        if p.is_empty() {
            "nothing more in this round".into()
        } else {
            p
        }
    }
}

/// Plays `trace` on a connection whose first client frame `first` was already read.
fn play(
    peer: &mut WsPeer,
    trace: &Trace,
    first: Incoming,
    config: &ClientConfig,
) -> Result<String, String> {
    let mut pending_first = Some(first);
    let mut closed = false;
    let mut server_closed = false;
    let mut quiet_end = false;
    let (mut checked, mut sent) = (0usize, 0usize);
    for round in trace.rounds() {
        let mut expect = Round::new(&round.c2s);
        while !expect.is_done() {
            if closed {
                return Err(format!(
                    "the connection ended while expecting {}",
                    expect.pending()
                ));
            }
            let got = pending_first
                .take()
                .unwrap_or_else(|| peer.recv(config.timeout));
            match got {
                Incoming::Ping(_) | Incoming::Pong(_) => continue,
                Incoming::Close(code) => {
                    if !expect.frames_done() {
                        return Err(format!(
                            "the client closed ({}) while expecting {}",
                            code.map_or_else(|| "no code".to_string(), |c| c.to_string()),
                            expect.pending()
                        ));
                    }
                    match expect.close {
                        Some(want) if want == ABNORMAL_CLOSE || server_closed => {}
                        Some(want) if Some(want) == code => {}
                        Some(want) => {
                            return Err(format!(
                                "the client closed with {}; the trace has close {want}",
                                code.map_or_else(|| "no code".to_string(), |c| c.to_string())
                            ))
                        }
                        None => {
                            return Err(format!(
                                "the client closed ({}) where the trace goes on",
                                code.map_or_else(|| "no code".to_string(), |c| c.to_string())
                            ))
                        }
                    }
                    expect.close = None;
                    checked += 1;
                    closed = true;
                    peer.finish_close(config.quiet);
                }
                Incoming::Ended(why) => {
                    if expect.frames_done() && expect.close == Some(ABNORMAL_CLOSE) {
                        expect.close = None;
                        closed = true;
                    } else {
                        return Err(format!(
                            "the connection ended ({why}) while expecting {}",
                            expect.pending()
                        ));
                    }
                }
                Incoming::Nothing => {
                    if expect.frames_done() && expect.close == Some(ABNORMAL_CLOSE) {
                        expect.close = None;
                        quiet_end = true;
                    } else {
                        return Err(format!(
                            "waited {:?} for {}; the client sent nothing",
                            config.timeout,
                            expect.pending()
                        ));
                    }
                }
                got @ (Incoming::Text(_) | Incoming::Binary(_)) => {
                    expect.offer(&got)?;
                    checked += 1;
                }
            }
        }
        for f in &round.s2c {
            if closed {
                break;
            }
            let r = match &f.payload {
                Payload::Text(t) => peer.send_text(t),
                Payload::Binary(b) => peer.send_binary(b),
                Payload::Close(code) => {
                    server_closed = true;
                    peer.send_close(*code)
                }
            };
            r.map_err(|e| format!("answering with line {} of the trace: {e}", f.line))?;
            sent += 1;
        }
    }
    if !closed {
        match peer.recv(config.quiet) {
            Incoming::Text(t) => {
                let what = OwnedEnvelope::decode(&t)
                    .map(|e| show(&e))
                    .unwrap_or_else(|_| clip(&t, 120));
                return Err(format!(
                    "the client sent {what} after the trace's last frame"
                ));
            }
            Incoming::Binary(b) => {
                return Err(format!(
                    "the client sent a binary frame of {} bytes after the trace's last frame",
                    b.len()
                ))
            }
            Incoming::Close(_) => peer.finish_close(config.quiet),
            _ => {
                if peer.send_close(1000).is_ok() {
                    peer.finish_close(config.quiet);
                }
            }
        }
    }
    let ending = if quiet_end {
        "; the client stayed connected and quiet where the recording ends"
    } else {
        ""
    };
    Ok(format!(
        "{checked} client frame{} as recorded, {sent} server frame{} played{ending}",
        if checked == 1 { "" } else { "s" },
        if sent == 1 { "" } else { "s" }
    ))
}
