//! The `server` mode: a suite of cases run against any WARP server hosting the demo agents.
//!
//! The server under test hosts, at `PREFIX/:id` (`/unit/:id` by default), agents with value
//! lanes `info` (text, initially `""`) and `count` (integer, initially 0), map lane `history`
//! (integer → integer) and command lanes `set_info` (sets `info`), `add` (adds to `count`, then
//! records the new total as key with the added amount as value in `history`) and `remove`
//! (removes a key of `history`). These are the agents of `peers/swimos-server` and of
//! `warp_tokio::demo`.
//!
//! Every case opens its own connection (offering `warp0`, except the case about not offering
//! it) and uses a node of its own (`PREFIX/wc<token>n<counter>`), so no case sees another's
//! state. A command has no reply, so a case that needs a command's effect watches the lane it
//! changes through a synced link: servers need not keep the order of commands across lanes.
//!
//! [`CASES`] lists the cases with what each requires and on which text it relies (PROFILE.md,
//! WARP.md, RFC 6455); [`run_cases`] runs them.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use warp_proto::envelope::Tag;
use warp_proto::recon::Value;

use crate::peers::OwnedEnvelope;
use crate::suite::expect::{key_of, show, text_literal, Key, PerLink, Step, Want};
use crate::suite::report::{Basis, CaseResult, Verdict};
use crate::suite::ws::{
    deadline_after, write_raw_client_frame, ConnectError, Incoming, WsPeer, WsUrl, WARP0,
};

/// What the `server` mode needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// The server.
    pub url: WsUrl,
    /// The path before `/:id` of the demo agents (`/unit`).
    pub node_prefix: String,
    /// How long to wait for a frame that must come.
    pub timeout: Duration,
    /// How long to watch for a frame that must not come.
    pub quiet: Duration,
    /// The size of the frame the `oversized-frame` case sends (0 skips the case).
    pub max_frame: usize,
    /// How many bad frames the `bad-frame-limit` case sends at most (0 skips the case).
    pub bad_frames: usize,
}

/// The default size of the oversized frame: 20 MiB.
pub const DEFAULT_MAX_FRAME: usize = 20 << 20;
/// The default number of bad frames sent by `bad-frame-limit`.
pub const DEFAULT_BAD_FRAMES: usize = 100;
/// The default wait for a frame that must come.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default watch for a frame that must not come.
pub const DEFAULT_QUIET: Duration = Duration::from_millis(300);

impl ServerConfig {
    /// The defaults for `url`: prefix `/unit`, [`DEFAULT_TIMEOUT`], [`DEFAULT_QUIET`],
    /// [`DEFAULT_MAX_FRAME`], [`DEFAULT_BAD_FRAMES`].
    pub fn new(url: WsUrl) -> ServerConfig {
        ServerConfig {
            url,
            node_prefix: "/unit".into(),
            timeout: DEFAULT_TIMEOUT,
            quiet: DEFAULT_QUIET,
            max_frame: DEFAULT_MAX_FRAME,
            bad_frames: DEFAULT_BAD_FRAMES,
        }
    }
}

/// A case of the suite: its name, whether it counts, and what it checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaseInfo {
    /// The name (`--only NAME`).
    pub name: &'static str,
    /// Whether a deviation is a failure.
    pub basis: Basis,
    /// What the case sends, what it accepts, and the text the expectation comes from.
    pub checks: &'static str,
}

const fn case(name: &'static str, basis: Basis, checks: &'static str) -> CaseInfo {
    CaseInfo {
        name,
        basis,
        checks,
    }
}

/// Every case, in the order they run.
pub const CASES: &[CaseInfo] = &[
    case(
        "handshake-warp0",
        Basis::Required,
        "upgrade offering warp0 -> 101 selecting warp0 (WARP.md 1)",
    ),
    case(
        "handshake-no-subprotocol",
        Basis::Informative,
        "upgrade offering no subprotocol: records 101 or the refusal. WARP.md 1 says a server \
         must not require warp0 (the JS client offers none), the SwimOS server refuses with 400, \
         PROFILE.md is silent",
    ),
    case(
        "link",
        Basis::Required,
        "link -> linked, then nothing: no state without sync (PROFILE.md link lifecycle)",
    ),
    case(
        "sync-value",
        Basis::Required,
        "sync on value lane info -> linked, event \"\", synced, in that order (PROFILE.md)",
    ),
    case(
        "prio-rate",
        Basis::Required,
        "sync with prio:0.5,rate:2 -> linked (prio/rate not compared: echoing them is \
         optional), event, synced (WARP.md 2.2, trace prio_rate)",
    ),
    case(
        "positional-header",
        Basis::Required,
        "@sync(\"NODE\",info) -> linked, event, synced: PROFILE.md 'Reading envelopes' reads \
         positional header args (Java/JS accept them, the Rust reference closes with 1002)",
    ),
    case(
        "command",
        Basis::Required,
        "command set_info on a synced info link -> one event with the new value, no reply to \
         the command itself (PROFILE.md)",
    ),
    case(
        "sync-map",
        Basis::Required,
        "add 1, 2, 3 (effect awaited on a synced count link), then sync history -> linked, \
         entries {1:1, 3:2, 6:3} in any order, synced (PROFILE.md, trace map_sync)",
    ),
    case(
        "map-events",
        Basis::Required,
        "sync of an empty map -> linked, synced; add 4 -> @update(key:4) 4; remove 4 -> \
         @remove(key:4) (WARP.md 3.1, trace map_sync)",
    ),
    case(
        "unlink",
        Basis::Required,
        "link, unlink -> unlinked (any body), then no event for later changes (PROFILE.md)",
    ),
    case(
        "unlink-unopened",
        Basis::Required,
        "unlink of a link never opened -> nothing; a sync afterwards starts with linked \
         (PROFILE.md)",
    ),
    case(
        "sync-twice",
        Basis::Required,
        "a second sync on an open link -> the state again and synced, no second linked \
         (PROFILE.md)",
    ),
    case(
        "link-twice",
        Basis::Required,
        "a second link on an open link -> linked again (PROFILE.md)",
    ),
    case(
        "node-not-found",
        Basis::Required,
        "sync to an unknown node -> @unlinked(node,lane)@nodeNotFound, and the connection stays \
         usable (PROFILE.md: never a close)",
    ),
    case(
        "lane-not-found",
        Basis::Required,
        "sync to an unknown lane of a live node -> @unlinked(node,lane)@laneNotFound, and the \
         connection stays usable (PROFILE.md)",
    ),
    case(
        "auth",
        Basis::Required,
        "@auth{token:...} -> @authed, or @deauthed then a close. Reading checked: PROFILE.md \
         (as the Java server); the Rust reference ignores auth (WARP.md 3.1)",
    ),
    case(
        "deauth",
        Basis::Required,
        "@deauth -> @deauthed then a close. Reading checked: PROFILE.md (as the Java server); \
         the Rust reference ignores deauth (WARP.md 3.1)",
    ),
    case(
        "malformed-recon",
        Basis::Required,
        "an unparseable frame -> either close 1002 at once (a bad-frame limit of 0, as SwimOS) \
         or the connection kept with the frame dropped and the next envelope answered \
         (PROFILE.md 'A frame that is not a valid envelope'); both conform",
    ),
    case(
        "unknown-tag",
        Basis::Required,
        "@bogus(node,lane) -> as malformed-recon: close 1002 at once, or dropped with the \
         connection kept (PROFILE.md)",
    ),
    case(
        "bad-frame-limit",
        Basis::Required,
        "up to --bad-frames unparseable frames -> the connection closes with 1002 at some point \
         (PROFILE.md: after a configurable number of bad frames)",
    ),
    case(
        "binary-frame",
        Basis::Required,
        "a binary frame holding a sync envelope -> close 1002 or 1003, or dropped with the \
         connection kept; never answered as an envelope (WARP.md 1: envelopes are text frames; \
         PROFILE.md)",
    ),
    case(
        "invalid-utf8",
        Basis::Required,
        "a text frame with invalid UTF-8 -> close 1007 (RFC 6455 8.1, PROFILE.md), or dropped \
         with the connection kept (PROFILE.md's bad-frame tolerance); never applied",
    ),
    case(
        "oversized-frame",
        Basis::Required,
        "a --max-frame byte text frame (20 MiB) -> close 1009 (PROFILE.md: above the \
         configured limit) or accepted with the connection kept; the detail says which",
    ),
    case(
        "ping",
        Basis::Required,
        "a ping -> a pong with the same payload (RFC 6455 5.5.2)",
    ),
    case(
        "close",
        Basis::Required,
        "a close 1000 from the client -> a close frame back (RFC 6455 5.5.1)",
    ),
];

/// The case named `name`.
pub fn case_info(name: &str) -> Option<&'static CaseInfo> {
    CASES.iter().find(|c| c.name == name)
}

/// Runs the cases named in `only` (every case when empty; unknown names are ignored, check
/// them with [`case_info`] first), calling `each` with every result as it is known, and
/// returns the results in [`CASES`] order.
pub fn run_cases(
    config: &ServerConfig,
    only: &[String],
    mut each: impl FnMut(&CaseResult),
) -> Vec<CaseResult> {
    let mut results = Vec::new();
    for info in CASES {
        if !only.is_empty() && !only.iter().any(|n| n == info.name) {
            continue;
        }
        let result = run_case(config, info);
        each(&result);
        results.push(result);
    }
    results
}

/// Runs one case.
pub fn run_case(config: &ServerConfig, info: &CaseInfo) -> CaseResult {
    let ctx = Ctx { config };
    let outcome = match info.name {
        "handshake-warp0" => ctx.handshake_warp0(),
        "handshake-no-subprotocol" => ctx.handshake_plain(),
        "link" => ctx.link(),
        "sync-value" => ctx.sync_value(),
        "prio-rate" => ctx.prio_rate(),
        "positional-header" => ctx.positional_header(),
        "command" => ctx.command(),
        "sync-map" => ctx.sync_map(),
        "map-events" => ctx.map_events(),
        "unlink" => ctx.unlink(),
        "unlink-unopened" => ctx.unlink_unopened(),
        "sync-twice" => ctx.sync_twice(),
        "link-twice" => ctx.link_twice(),
        "node-not-found" => ctx.node_not_found(),
        "lane-not-found" => ctx.lane_not_found(),
        "auth" => ctx.auth(),
        "deauth" => ctx.deauth(),
        "malformed-recon" => ctx.bad_frame(BadFrame::Malformed),
        "unknown-tag" => ctx.bad_frame(BadFrame::UnknownTag),
        "bad-frame-limit" => ctx.bad_frame_limit(),
        "binary-frame" => ctx.bad_frame(BadFrame::Binary),
        "invalid-utf8" => ctx.invalid_utf8(),
        "oversized-frame" => ctx.oversized(),
        "ping" => ctx.ping(),
        "close" => ctx.close(),
        other => Outcome::Fail(format!("no such case `{other}`")),
    };
    let (verdict, detail) = match outcome {
        Outcome::Pass(d) => (Verdict::Pass, d),
        Outcome::Fail(d) => (Verdict::Fail, d),
        Outcome::Skip(d) => (Verdict::Skip, d),
        Outcome::Info(d) => (Verdict::Info, d),
    };
    let verdict = match (info.basis, verdict) {
        (Basis::Informative, Verdict::Pass | Verdict::Fail) => Verdict::Info,
        (_, v) => v,
    };
    CaseResult::new(info.name, info.basis, verdict, detail)
}

enum Outcome {
    Pass(String),
    Fail(String),
    Skip(String),
    Info(String),
}

impl From<Result<String, String>> for Outcome {
    fn from(r: Result<String, String>) -> Outcome {
        match r {
            Ok(d) => Outcome::Pass(d),
            Err(d) => Outcome::Fail(d),
        }
    }
}

/// A per-process token that keeps node ids of two runs against one server apart.
fn run_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        if let Ok(d) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
            h.write_u128(d.as_nanos());
        }
        format!("{:08x}", h.finish() as u32)
    })
}

fn next_id() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// Builds `@tag(node:N,lane:L)BODY`.
fn env(tag: &str, node: &str, lane: &str, body: &str) -> String {
    format!(
        "@{tag}(node:{},lane:{}){body}",
        text_literal(node),
        text_literal(lane)
    )
}

fn want(text: &str) -> Result<Step, String> {
    Want::parse(text)
        .map(Step::One)
        .map_err(|e| format!("runner bug: expectation does not decode: {e}"))
}

/// What ended a [`Session::gather`].
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The stop condition held and the quiet window passed.
    Done,
    /// A close frame arrived (its code).
    Closed(Option<u16>),
    /// The connection ended without a close frame.
    Dropped(String),
    /// The time limit passed first.
    TimedOut,
}

struct Gathered {
    envs: Vec<OwnedEnvelope>,
    /// Frames that are not envelopes (text that does not decode, binary).
    other: Vec<String>,
    end: End,
}

/// One connection of a case.
struct Session<'c> {
    config: &'c ServerConfig,
    peer: WsPeer,
}

impl<'c> Session<'c> {
    fn open(config: &'c ServerConfig) -> Result<Session<'c>, String> {
        let (peer, _) = WsPeer::connect(&config.url, Some(WARP0), config.timeout)
            .map_err(|e| format!("connect: {e}"))?;
        Ok(Session { config, peer })
    }

    fn send(&mut self, text: &str) -> Result<(), String> {
        self.peer.send_text(text)
    }

    /// The next envelope within `timeout`; `Ok(None)` when nothing came; an error for
    /// anything that is not an envelope.
    fn next_env(&mut self, timeout: Duration) -> Result<Option<OwnedEnvelope>, String> {
        let deadline = deadline_after(timeout);
        loop {
            match self
                .peer
                .recv(deadline.saturating_duration_since(Instant::now()))
            {
                Incoming::Text(t) => {
                    return OwnedEnvelope::decode(&t)
                        .map(Some)
                        .map_err(|e| format!("received a frame that is not an envelope: {e}"))
                }
                Incoming::Ping(_) | Incoming::Pong(_) => continue,
                Incoming::Nothing => return Ok(None),
                other => return Err(format!("unexpected {other}")),
            }
        }
    }

    /// Waits for `steps` (per-link order); every envelope must be expected.
    fn expect(&mut self, steps: Vec<Step>) -> Result<(), String> {
        let mut check = PerLink::new(steps);
        while !check.is_done() {
            match self.next_env(self.config.timeout)? {
                Some(got) => check.offer(&got)?,
                None => {
                    return Err(format!(
                        "waited {:?} for {}; nothing came",
                        self.config.timeout,
                        check.pending()
                    ))
                }
            }
        }
        Ok(())
    }

    /// Checks that nothing arrives for the quiet window.
    fn expect_quiet(&mut self, after: &str) -> Result<(), String> {
        match self.peer.recv(self.config.quiet) {
            Incoming::Nothing => Ok(()),
            Incoming::Text(t) => Err(format!(
                "unexpected {} after {after}",
                OwnedEnvelope::decode(&t)
                    .map(|e| show(&e))
                    .unwrap_or_else(|_| crate::suite::ws::clip(&t, 120))
            )),
            other => Err(format!("unexpected {other} after {after}")),
        }
    }

    /// Reads until `stop` holds for the envelopes so far and then the quiet window passes, or
    /// the connection closes, or the timeout passes.
    fn gather(&mut self, stop: impl Fn(&[OwnedEnvelope]) -> bool) -> Gathered {
        self.gather_for(self.config.timeout, stop)
    }

    /// [`Session::gather`] with a time limit of `limit`.
    fn gather_for(&mut self, limit: Duration, stop: impl Fn(&[OwnedEnvelope]) -> bool) -> Gathered {
        let mut g = Gathered {
            envs: Vec::new(),
            other: Vec::new(),
            end: End::TimedOut,
        };
        let deadline = deadline_after(limit);
        let mut quiet_until: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let limit = match quiet_until {
                Some(q) => q,
                None => deadline,
            };
            let left = limit.saturating_duration_since(now);
            if left.is_zero() {
                g.end = if quiet_until.is_some() {
                    End::Done
                } else {
                    End::TimedOut
                };
                return g;
            }
            match self.peer.recv(left) {
                Incoming::Text(t) => match OwnedEnvelope::decode(&t) {
                    Ok(e) => g.envs.push(e),
                    Err(e) => g
                        .other
                        .push(format!("a frame that is not an envelope: {e}")),
                },
                Incoming::Binary(b) => g.other.push(format!("a binary frame of {} bytes", b.len())),
                Incoming::Ping(_) | Incoming::Pong(_) => {}
                Incoming::Close(code) => {
                    g.end = End::Closed(code);
                    self.peer.finish_close(self.config.quiet);
                    return g;
                }
                Incoming::Ended(why) => {
                    g.end = End::Dropped(why);
                    return g;
                }
                Incoming::Nothing => {}
            }
            if quiet_until.is_none() && stop(&g.envs) {
                quiet_until = Some(deadline_after(self.config.quiet));
            }
        }
    }

    /// Ends the connection politely (close 1000, wait briefly for the answer).
    fn finish(mut self) {
        if self.peer.send_close(1000).is_ok() {
            self.peer.finish_close(self.config.quiet);
        }
    }
}

fn has(envs: &[OwnedEnvelope], tag: Tag, node: &str, lane: &str) -> bool {
    envs.iter()
        .any(|e| e.tag == tag && e.node == node && e.lane == lane)
}

fn describe_end(end: &End) -> String {
    match end {
        End::Done => "the connection stayed open".into(),
        End::Closed(Some(code)) => format!("close {code}"),
        End::Closed(None) => "a close without a code".into(),
        End::Dropped(why) => format!("the connection dropped without a close frame ({why})"),
        End::TimedOut => "no answer before the timeout".into(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BadFrame {
    Malformed,
    UnknownTag,
    Binary,
}

struct Ctx<'c> {
    config: &'c ServerConfig,
}

impl Ctx<'_> {
    fn node(&self) -> String {
        format!(
            "{}/wc{}n{}",
            self.config.node_prefix.trim_end_matches('/'),
            run_token(),
            next_id()
        )
    }

    fn open(&self) -> Result<Session<'_>, String> {
        Session::open(self.config)
    }

    /// The three frames of a sync of `lane` whose state is the single value `body`.
    fn synced_value(node: &str, lane: &str, body: &str) -> Result<Vec<Step>, String> {
        Ok(vec![
            want(&env("linked", node, lane, ""))?,
            want(&env("event", node, lane, body))?,
            want(&env("synced", node, lane, ""))?,
        ])
    }

    fn handshake_warp0(&self) -> Outcome {
        match WsPeer::connect(&self.config.url, Some(WARP0), self.config.timeout) {
            Ok((mut peer, hs)) => {
                let r = match hs.protocol.as_deref() {
                    Some(WARP0) => Ok(format!("{} with Sec-WebSocket-Protocol: warp0", hs.status)),
                    Some(other) => Err(format!("{} selecting `{other}`, not warp0", hs.status)),
                    None => Err(format!("{} without a subprotocol", hs.status)),
                };
                peer.send_close(1000).ok();
                peer.finish_close(self.config.quiet);
                r.into()
            }
            Err(e) => Outcome::Fail(e.to_string()),
        }
    }

    fn handshake_plain(&self) -> Outcome {
        match WsPeer::connect(&self.config.url, None, self.config.timeout) {
            Ok((peer, hs)) => {
                let mut s = Session {
                    config: self.config,
                    peer,
                };
                let node = self.node();
                let used = Ctx::synced_value(&node, "info", "\"\"").and_then(|steps| {
                    s.send(&env("sync", &node, "info", ""))?;
                    s.expect(steps)
                });
                s.finish();
                Outcome::Info(match used {
                    Ok(()) => format!(
                        "accepted: {} without a subprotocol, and a sync on it is answered",
                        hs.status
                    ),
                    Err(e) => format!(
                        "accepted ({} without a subprotocol) but a sync on it failed: {e}",
                        hs.status
                    ),
                })
            }
            Err(ConnectError::Refused { status }) => Outcome::Info(format!(
                "refused with HTTP {status}: the server requires warp0 (WARP.md 1 says a server \
                 must not; PROFILE.md is silent)"
            )),
            Err(e) => Outcome::Info(e.to_string()),
        }
    }

    fn link(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&env("link", &node, "info", ""))?;
            s.expect(vec![want(&env("linked", &node, "info", ""))?])?;
            s.expect_quiet("linked (a link sends no state)")?;
            s.finish();
            Ok("linked, then nothing".to_string())
        });
        r.into()
    }

    fn sync_value(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&env("sync", &node, "info", ""))?;
            s.expect(Ctx::synced_value(&node, "info", "\"\"")?)?;
            s.expect_quiet("synced")?;
            s.finish();
            Ok("linked, event \"\", synced, then nothing".to_string())
        });
        r.into()
    }

    fn prio_rate(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&format!(
                "@sync(node:{},lane:info,prio:0.5,rate:2)",
                text_literal(&node)
            ))?;
            let mut echoed = None;
            let mut check = PerLink::new(Ctx::synced_value(&node, "info", "\"\"")?);
            while !check.is_done() {
                let got = s
                    .next_env(self.config.timeout)?
                    .ok_or_else(|| format!("waited for {}; nothing came", check.pending()))?;
                if got.tag == Tag::Linked {
                    echoed = Some((got.prio, got.rate));
                }
                check.offer(&got)?;
            }
            s.expect_quiet("synced")?;
            s.finish();
            Ok(match echoed {
                Some((p, r)) if p != 0.0 || r != 0.0 => {
                    format!("linked (echoing prio:{p},rate:{r}), event, synced")
                }
                _ => "linked (prio/rate not echoed), event, synced".to_string(),
            })
        });
        r.into()
    }

    fn positional_header(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&format!("@sync({},info)", text_literal(&node)))?;
            s.expect(Ctx::synced_value(&node, "info", "\"\"")?)
                .map_err(|e| {
                    format!("{e} (PROFILE.md reads positional header args as node, lane)")
                })?;
            s.finish();
            Ok("answered like @sync(node:...,lane:info)".to_string())
        });
        r.into()
    }

    fn command(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&env("sync", &node, "info", ""))?;
            s.expect(Ctx::synced_value(&node, "info", "\"\"")?)?;
            s.send(&env("command", &node, "set_info", "\"hello warp\""))?;
            s.expect(vec![want(&env("event", &node, "info", "\"hello warp\""))?])?;
            s.expect_quiet("the event")?;
            s.finish();
            Ok("the new value arrived as an event on the synced link; no reply".to_string())
        });
        r.into()
    }

    /// Sends `add` commands and waits until the synced `count` link shows `total`.
    fn add_and_wait(s: &mut Session<'_>, node: &str, amounts: &[i64]) -> Result<(), String> {
        let total: i64 = amounts.iter().sum();
        for a in amounts {
            s.send(&env("command", node, "add", &format!(" {a}")))?;
        }
        loop {
            let got = s.next_env(s.config.timeout)?.ok_or_else(|| {
                format!("waited {:?} for count to reach {total}", s.config.timeout)
            })?;
            let is_count_event = got.tag == Tag::Event && got.node == node && got.lane == "count";
            if !is_count_event {
                return Err(format!(
                    "unexpected {} while waiting for count events",
                    show(&got)
                ));
            }
            if got.body == Value::Int(total) {
                return Ok(());
            }
        }
    }

    fn sync_map(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&env("sync", &node, "count", ""))?;
            s.expect(Ctx::synced_value(&node, "count", " 0")?)?;
            Ctx::add_and_wait(&mut s, &node, &[1, 2, 3])?;
            s.send(&env("sync", &node, "history", ""))?;
            let entries = [(1, 1), (3, 2), (6, 3)]
                .iter()
                .map(|(k, v)| {
                    Want::parse(&env(
                        "event",
                        &node,
                        "history",
                        &format!("@update(key:{k}) {v}"),
                    ))
                })
                .collect::<Result<Vec<_>, _>>()?;
            s.expect(vec![
                want(&env("linked", &node, "history", ""))?,
                Step::AnyOrder(entries),
                want(&env("synced", &node, "history", ""))?,
            ])?;
            s.expect_quiet("synced")?;
            s.finish();
            Ok("linked, the 3 entries, synced".to_string())
        });
        r.into()
    }

    fn map_events(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&env("sync", &node, "history", ""))?;
            s.expect(vec![
                want(&env("linked", &node, "history", ""))?,
                want(&env("synced", &node, "history", ""))?,
            ])?;
            s.send(&env("command", &node, "add", " 4"))?;
            s.expect(vec![want(&env(
                "event",
                &node,
                "history",
                "@update(key:4) 4",
            ))?])?;
            s.send(&env("command", &node, "remove", " 4"))?;
            s.expect(vec![want(&env(
                "event",
                &node,
                "history",
                "@remove(key:4)",
            ))?])?;
            s.expect_quiet("the remove event")?;
            s.finish();
            Ok("empty sync: linked, synced; then @update and @remove events".to_string())
        });
        r.into()
    }

    fn unlink(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&env("link", &node, "info", ""))?;
            s.expect(vec![want(&env("linked", &node, "info", ""))?])?;
            s.send(&env("unlink", &node, "info", ""))?;
            let unlinked = Want::any_body(&env("unlinked", &node, "info", ""))?;
            s.expect(vec![Step::One(unlinked)])?;
            s.send(&env("command", &node, "set_info", "\"after\""))?;
            s.expect_quiet("unlinked and a change of the lane")?;
            s.finish();
            Ok("unlinked, then no event for a later change".to_string())
        });
        r.into()
    }

    fn unlink_unopened(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&env("unlink", &node, "info", ""))?;
            s.expect_quiet("an unlink of a link never opened")?;
            s.send(&env("sync", &node, "info", ""))?;
            s.expect(Ctx::synced_value(&node, "info", "\"\"")?)?;
            s.finish();
            Ok("nothing; a later sync starts with linked".to_string())
        });
        r.into()
    }

    fn sync_twice(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&env("sync", &node, "info", ""))?;
            s.expect(Ctx::synced_value(&node, "info", "\"\"")?)?;
            s.send(&env("sync", &node, "info", ""))?;
            s.expect(vec![
                want(&env("event", &node, "info", "\"\""))?,
                want(&env("synced", &node, "info", ""))?,
            ])?;
            s.expect_quiet("the second synced")?;
            s.finish();
            Ok("second sync: event, synced, no second linked".to_string())
        });
        r.into()
    }

    fn link_twice(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&env("link", &node, "info", ""))?;
            s.expect(vec![want(&env("linked", &node, "info", ""))?])?;
            s.send(&env("link", &node, "info", ""))?;
            s.expect(vec![want(&env("linked", &node, "info", ""))?])?;
            s.expect_quiet("the second linked")?;
            s.finish();
            Ok("linked twice".to_string())
        });
        r.into()
    }

    fn node_not_found(&self) -> Outcome {
        let node = self.node();
        let missing = format!(
            "/warp-conformance-no-such-node/wc{}n{}",
            run_token(),
            next_id()
        );
        let r = self.open().and_then(|mut s| {
            s.send(&env("sync", &missing, "info", ""))?;
            s.expect(vec![want(&env(
                "unlinked",
                &missing,
                "info",
                "@nodeNotFound",
            ))?])?;
            s.send(&env("sync", &node, "info", ""))?;
            s.expect(Ctx::synced_value(&node, "info", "\"\"")?)
                .map_err(|e| format!("after @nodeNotFound: {e}"))?;
            s.finish();
            Ok("@unlinked(...)@nodeNotFound; the connection stays usable".to_string())
        });
        r.into()
    }

    fn lane_not_found(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            s.send(&env("sync", &node, "no_such_lane", ""))?;
            s.expect(vec![want(&env(
                "unlinked",
                &node,
                "no_such_lane",
                "@laneNotFound",
            ))?])?;
            s.send(&env("sync", &node, "info", ""))?;
            s.expect(Ctx::synced_value(&node, "info", "\"\"")?)
                .map_err(|e| format!("after @laneNotFound: {e}"))?;
            s.finish();
            Ok("@unlinked(...)@laneNotFound; the connection stays usable".to_string())
        });
        r.into()
    }

    /// Sends `frame` (auth or deauth), then a sync of `info` as a sentinel, and gathers what
    /// comes until the sentinel's synced (and the quiet window), a close, or the timeout.
    fn auth_exchange(&self, frame: &str) -> Result<(Gathered, String), String> {
        let node = self.node();
        let mut s = self.open()?;
        s.send(frame)?;
        s.send(&env("sync", &node, "info", ""))?;
        let sentinel = node.clone();
        let g = s.gather(|envs| has(envs, Tag::Synced, &sentinel, "info"));
        if g.end == End::Done {
            s.finish();
        }
        Ok((g, node))
    }

    fn auth(&self) -> Outcome {
        let r = self
            .auth_exchange("@auth{token:\"warp-conformance\"}")
            .and_then(|(g, _)| {
                let authed = g.envs.iter().position(|e| e.tag == Tag::Authed);
                let deauthed = g.envs.iter().position(|e| e.tag == Tag::Deauthed);
                match (authed, deauthed, &g.end) {
                    (Some(_), None, End::Done) => {
                        Ok("@authed: accepted, the connection stays usable".to_string())
                    }
                    (None, Some(_), End::Closed(code)) => Ok(format!(
                        "@deauthed then {}: refused",
                        describe_end(&End::Closed(*code))
                    )),
                    (None, Some(_), end) => Err(format!(
                        "@deauthed but then {} (PROFILE.md: the connection closes)",
                        describe_end(end)
                    )),
                    (Some(_), Some(_), _) => Err("both @authed and @deauthed".to_string()),
                    (Some(_), None, end) => Err(format!("@authed, then {}", describe_end(end))),
                    (None, None, End::Done) => Err(
                        "auth ignored: no @authed or @deauthed, the next sync answered \
                         (PROFILE.md requires @authed, or @deauthed and a close; the Rust \
                         reference ignores auth)"
                            .to_string(),
                    ),
                    (None, None, end) => {
                        Err(format!("no @authed or @deauthed; {}", describe_end(end)))
                    }
                }
            });
        r.into()
    }

    fn deauth(&self) -> Outcome {
        let r = self.auth_exchange("@deauth").and_then(|(g, _)| {
            let deauthed = g.envs.iter().any(|e| e.tag == Tag::Deauthed);
            match (deauthed, &g.end) {
                (true, End::Closed(code)) => Ok(format!(
                    "@deauthed then {}",
                    describe_end(&End::Closed(*code))
                )),
                (true, end) => Err(format!(
                    "@deauthed, then {} (PROFILE.md: then close)",
                    describe_end(end)
                )),
                (false, End::Done) => Err(
                    "deauth ignored: no @deauthed, the next sync answered (PROFILE.md requires \
                     @deauthed then a close; the Rust reference ignores deauth)"
                        .to_string(),
                ),
                (false, end) => Err(format!("no @deauthed; {}", describe_end(end))),
            }
        });
        r.into()
    }

    /// Sends a frame that is not a valid envelope; then, unless the server closed within the
    /// quiet window, a sync of `count` as a sentinel.
    fn bad_frame(&self, kind: BadFrame) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            match kind {
                BadFrame::Malformed => {
                    s.send(&format!("@link(node:{},lane:info", text_literal(&node)))?
                }
                BadFrame::UnknownTag => s.send(&env("bogus", &node, "info", ""))?,
                BadFrame::Binary => s
                    .peer
                    .send_binary(env("sync", &node, "info", "").as_bytes())?,
            }
            let allowed: &[u16] = match kind {
                BadFrame::Binary => &[1002, 1003],
                _ => &[1002],
            };
            judge_bad_frame(&mut s, &node, allowed, "info", None)
        });
        r.into()
    }

    /// Sends bad frames one at a time, each followed by a ping whose pong shows the server
    /// has read the frame and kept the connection (a peer that closes while frames it has not
    /// read are queued may reset the connection and lose its close frame, so nothing is sent
    /// ahead of the answer). The first bad frame is followed by the quiet window instead, like
    /// `malformed-recon`.
    fn bad_frame_limit(&self) -> Outcome {
        let n = self.config.bad_frames;
        if n == 0 {
            return Outcome::Skip("--bad-frames 0".into());
        }
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            let bad = format!("@link(node:{},lane:info", text_literal(&node));
            for k in 1..=n {
                s.send(&bad)?;
                let got = if k == 1 {
                    match s.peer.recv(s.config.quiet) {
                        Incoming::Nothing => Incoming::Pong(Vec::new()),
                        other => other,
                    }
                } else {
                    s.peer.send_ping(b"bad-frame-limit")?;
                    let deadline = deadline_after(s.config.timeout);
                    loop {
                        match s
                            .peer
                            .recv(deadline.saturating_duration_since(Instant::now()))
                        {
                            Incoming::Ping(_) => continue,
                            other => break other,
                        }
                    }
                };
                match got {
                    Incoming::Pong(_) => continue,
                    Incoming::Close(Some(1002)) => {
                        s.peer.finish_close(s.config.quiet);
                        return Ok(format!(
                            "closed with 1002 after {k} bad frame{}",
                            if k == 1 { "" } else { "s" }
                        ));
                    }
                    Incoming::Close(code) => {
                        return Err(format!(
                            "after {k} bad frames: {} (expected close 1002)",
                            describe_end(&End::Closed(code))
                        ))
                    }
                    Incoming::Nothing => {
                        return Err(format!(
                            "after {k} bad frames: no pong and no close within {:?}",
                            s.config.timeout
                        ))
                    }
                    other => return Err(format!("after {k} bad frames: unexpected {other}")),
                }
            }
            Err(format!(
                "still open after {n} bad frames (PROFILE.md: close 1002 after a configurable \
                 number; raise --bad-frames if the server's limit is higher)"
            ))
        });
        r.into()
    }

    fn invalid_utf8(&self) -> Outcome {
        let node = self.node();
        let r = self.open().and_then(|mut s| {
            let mut frame = env("command", &node, "set_info", "\"").into_bytes();
            frame.extend_from_slice(&[0xc3, 0x28, b'"']);
            s.peer.send_raw_text(&frame)?;
            judge_bad_frame(&mut s, &node, &[1007], "set_info", Some("info"))
        });
        r.into()
    }

    fn oversized(&self) -> Outcome {
        let size = self.config.max_frame;
        if size == 0 {
            return Outcome::Skip("--max-frame 0".into());
        }
        let node = self.node();
        let mib = size as f64 / f64::from(1 << 20);
        let r = self.open().and_then(|mut s| {
            let prefix = env("command", &node, "set_info", "\"");
            let fill = size.saturating_sub(prefix.len() + 1);
            let clone = || {
                s.peer
                    .raw_stream()
                    .map_err(|e| format!("cloning the socket: {e}"))
            };
            let mut writer = clone()?;
            let shutdown = clone()?;
            let prefix_bytes = prefix.into_bytes();
            let write = thread::spawn(move || {
                write_raw_client_frame(&mut writer, 0x1, &prefix_bytes, b'a', fill, b"\"")
            });
            // Read while the frame goes out: a server that refuses it may close before
            // reading all of it.
            let deadline = deadline_after(self.config.timeout.saturating_mul(2));
            let mut seen = Incoming::Nothing;
            while !write.is_finished() && Instant::now() < deadline {
                match s.peer.recv(Duration::from_millis(50)) {
                    Incoming::Nothing | Incoming::Ping(_) | Incoming::Pong(_) => continue,
                    other => {
                        seen = other;
                        break;
                    }
                }
            }
            let stuck = seen == Incoming::Nothing && !write.is_finished();
            if stuck {
                let _ = shutdown.shutdown(Shutdown::Both);
            }
            let written = match write.join() {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err("the writer thread panicked".to_string()),
            };
            if stuck {
                return Err(format!(
                    "the server neither read the {mib:.1} MiB frame nor closed within {:?}",
                    self.config.timeout.saturating_mul(2)
                ));
            }
            let end = match seen {
                Incoming::Close(code) => {
                    s.peer.finish_close(self.config.quiet);
                    End::Closed(code)
                }
                Incoming::Ended(why) => End::Dropped(why),
                Incoming::Nothing => {
                    // Written (or the write failed): a sentinel sync tells an accepted frame
                    // from a refusal that comes after the whole frame was read. A server that
                    // accepts the frame may take a while to digest it: allow four timeouts.
                    s.send(&env("sync", &node, "count", "")).ok();
                    let limit = self.config.timeout.saturating_mul(4);
                    let g = s.gather_for(limit, |envs| has(envs, Tag::Synced, &node, "count"));
                    if let Some(o) = g.other.first() {
                        return Err(format!("unexpected {o}"));
                    }
                    if g.end == End::Done {
                        s.finish();
                        return Ok(format!(
                            "accepted a frame of {mib:.1} MiB; the connection stays usable"
                        ));
                    }
                    g.end
                }
                other => return Err(format!("unexpected {other}")),
            };
            match end {
                End::Closed(Some(1009)) => {
                    Ok(format!("closed with 1009 (frame of {mib:.1} MiB refused)"))
                }
                end => Err(format!(
                    "{} (expected 1009, or the frame accepted); writing the frame: {}",
                    describe_end(&end),
                    match written {
                        Ok(()) => "completed".to_string(),
                        Err(e) => e,
                    }
                )),
            }
        });
        r.into()
    }

    fn ping(&self) -> Outcome {
        let r = self.open().and_then(|mut s| {
            let payload = b"warp-conformance ping";
            s.peer.send_ping(payload)?;
            let deadline = deadline_after(self.config.timeout);
            loop {
                match s
                    .peer
                    .recv(deadline.saturating_duration_since(Instant::now()))
                {
                    Incoming::Pong(p) if p == payload => break,
                    Incoming::Pong(p) => {
                        return Err(format!("a pong with another payload ({} bytes)", p.len()))
                    }
                    Incoming::Ping(_) => continue,
                    Incoming::Nothing => return Err("no pong".to_string()),
                    other => return Err(format!("unexpected {other}")),
                }
            }
            s.finish();
            Ok("pong with the same payload".to_string())
        });
        r.into()
    }

    fn close(&self) -> Outcome {
        let r = self.open().and_then(|mut s| {
            s.peer.send_close(1000)?;
            let deadline = deadline_after(self.config.timeout);
            loop {
                match s
                    .peer
                    .recv(deadline.saturating_duration_since(Instant::now()))
                {
                    Incoming::Close(code) => {
                        s.peer.finish_close(self.config.quiet);
                        return Ok(match code {
                            Some(c) => format!("answered with close {c}"),
                            None => "answered with a close without a code".to_string(),
                        });
                    }
                    Incoming::Nothing => return Err("no close frame back".to_string()),
                    Incoming::Ended(why) => {
                        return Err(format!("the connection dropped without a close ({why})"))
                    }
                    _ => continue,
                }
            }
        });
        r.into()
    }
}

/// Judges what follows a frame that is not a valid envelope, sent on `node`'s `bad_lane`:
/// a close with one of `allowed` codes within the quiet window (the server's bad-frame limit
/// is 0), or the connection kept: a sentinel sync (of `sentinel_lane`, default `count`) is
/// answered, and nothing answers the bad frame. With `sentinel_lane` = `info` the sentinel also
/// shows the bad command was not applied (`info` still `""`).
fn judge_bad_frame(
    s: &mut Session<'_>,
    node: &str,
    allowed: &[u16],
    bad_lane: &str,
    sentinel_lane: Option<&str>,
) -> Result<String, String> {
    let codes = allowed
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    let first = s.peer.recv(s.config.quiet);
    let answered = |envs: &[OwnedEnvelope]| {
        envs.iter()
            .find(|e| key_of(e) == Key::Link(node.to_string(), bad_lane.to_string()))
            .map(show)
    };
    let g = match first {
        Incoming::Close(Some(code)) if allowed.contains(&code) => {
            s.peer.finish_close(s.config.quiet);
            return Ok(if code == 1007 {
                "closed with 1007 at once".to_string()
            } else {
                format!("closed with {code} at once (a bad-frame limit of 0)")
            });
        }
        Incoming::Close(code) => {
            return Err(format!(
                "{} (expected {codes}, or the frame dropped)",
                describe_end(&End::Closed(code))
            ))
        }
        Incoming::Ended(why) => {
            return Err(format!(
                "the connection dropped without a close frame ({why}); expected close {codes} \
                 or the frame dropped"
            ))
        }
        Incoming::Text(t) => {
            let e = OwnedEnvelope::decode(&t).map_err(|e| format!("answered with {e}"))?;
            return Err(format!("answered the bad frame with {}", show(&e)));
        }
        Incoming::Binary(_) => return Err("answered with a binary frame".into()),
        Incoming::Nothing | Incoming::Ping(_) | Incoming::Pong(_) => {
            let lane = sentinel_lane.unwrap_or("count");
            // A server slower to close than the quiet window makes this send fail; the
            // close frame is then still read below.
            s.send(&env("sync", node, lane, "")).ok();
            s.gather(|envs| has(envs, Tag::Synced, node, lane))
        }
    };
    if let Some(a) = answered(&g.envs) {
        return Err(format!("answered the bad frame: {a}"));
    }
    if let Some(o) = g.other.first() {
        return Err(format!("unexpected {o}"));
    }
    match g.end {
        End::Done => {
            let lane = sentinel_lane.unwrap_or("count");
            let state = g
                .envs
                .iter()
                .find(|e| e.tag == Tag::Event && e.node == node && e.lane == lane);
            let unchanged = match lane {
                "info" => state.is_some_and(|e| e.body == Value::Text(String::new())),
                _ => state.is_some(),
            };
            if !unchanged {
                return Err(format!(
                    "the sentinel sync of {lane} shows {}",
                    state.map(show).unwrap_or_else(|| "no state".into())
                ));
            }
            s.peer.send_close(1000).ok();
            s.peer.finish_close(s.config.quiet);
            Ok("dropped; the connection stays usable (a bad-frame limit above 0)".to_string())
        }
        End::Closed(Some(code)) if allowed.contains(&code) => {
            Ok(format!("closed with {code} (after the next frame)"))
        }
        ref end => Err(format!(
            "{} (expected close {codes}, or the frame dropped)",
            describe_end(end)
        )),
    }
}
