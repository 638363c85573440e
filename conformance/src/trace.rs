//! Recorded traces: what a replay expects from a server under test, and the comparison.
//!
//! # The format
//!
//! A trace (`conformance/traces/*.jsonl`) is JSON Lines: a header object, then one WebSocket
//! frame per line in the order the recording proxy saw them (CONFORMANCE.md; the README of this
//! crate has the full description):
//!
//! ```text
//! {"trace":"value_sync","server":"swimos 0.1.1","client":"...","recorded":"2026-11-24","notes":"...","order":"per-link"}
//! {"t_ms":12,"dir":"c2s","text":"@sync(node:\"/unit/1\",lane:info)"}
//! {"t_ms":15,"dir":"s2c","text":"@linked(node:\"/unit/1\",lane:info)"}
//! {"t_ms":40,"dir":"c2s","close":1000}
//! ```
//!
//! Parsing is [`suite::trace`](crate::suite::trace) (re-exported here: [`Trace`],
//! [`TraceFrame`], [`Dir`], [`Payload`], [`TraceError`]), so the crate has one parser; this
//! module adds what the header's `order` member allows ([`Allowances`]), the expectation a
//! replay checks ([`Expectation`], [`plan`]), the comparison ([`Checker`], [`Difference`]), the
//! replayer against servers ([`replay`]), the recorder ([`record`]) and the command line of the
//! `replay` and `record` modes ([`cli`]).
//!
//! `warp-proto/tests/trace_replay.rs` (with `warp-proto/tests/common/trace.rs`) replays the same
//! traces against the bare link machine (`ServerConnection`); warp-proto cannot depend on this
//! crate (this crate depends on it), so that test keeps its own small reader. The rules are the
//! same: decoded-envelope equality, order per link, the `order` allowances and the
//! `profile_differs` expectations, which here are data ([`PROFILE_RULES`]).
//!
//! # Allowances (the header's `order` member)
//!
//! `order` is a `;`-separated list; every item must be one of these (an unknown item is an
//! [`AllowanceError`], so a typo never loosens a check silently):
//!
//! - `per-link` (also the meaning of an absent `order`): frames are compared per link (node
//!   and lane) in order, and in order for the connection-level frames (`auth`, `authed`,
//!   `deauth`, `deauthed`, closes, frames that are not envelopes); links may interleave in any
//!   way;
//! - `map sync entries unordered`: the `@event`s right before a `@synced` on a link (the
//!   entries of a map lane's sync) may come in any order;
//! - `events may repeat`: an `@event` equal to the last event matched on its link may come
//!   again (a server that re-sends the current value).
//!
//! Timing (`t_ms`) is never compared: waits are bounded by a timeout instead.
//!
//! # The comparison
//!
//! Frames are compared decoded ([`OwnedEnvelope`]: tag, node, lane, prio, rate and the body's
//! value, floats by bits), never as bytes; an `s2c` text frame that is not an envelope is
//! compared as text, a binary frame as bytes, a close by its code. A close that answers the
//! replayer's own close may carry any code (RFC 6455 only says it "typically" echoes).
//!
//! ```
//! use conformance::trace::{plan, Checker, Expect, Item, Plan, Trace};
//!
//! let text = r#"{"trace":"t","order":"per-link"}
//! {"t_ms":1,"dir":"c2s","text":"@sync(node:a,lane:x)"}
//! {"t_ms":1,"dir":"c2s","text":"@sync(node:a,lane:y)"}
//! {"t_ms":2,"dir":"s2c","text":"@linked(node:a,lane:x)"}
//! {"t_ms":2,"dir":"s2c","text":"@linked(node:a,lane:y)"}
//! "#;
//! let trace = Trace::parse("t.jsonl", text).unwrap();
//! let Plan::Replay(expectation) = plan(&trace, Expect::Profile).unwrap() else { panic!() };
//! let mut check = Checker::new(&expectation);
//! // Another link's frame may come first...
//! check.offer(Item::from_text("@linked(node:a, lane:y)")).unwrap();
//! // ...but a frame nobody expects is a difference.
//! assert!(check.offer(Item::from_text("@synced(node:a,lane:x)")).is_err());
//! ```

pub mod cli;
mod memory;
pub mod record;
pub mod replay;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

use warp_proto::envelope::Tag;

use crate::json::{same_float, same_value};
use crate::peers::OwnedEnvelope;
use crate::suite::expect::show;
use crate::suite::ws::clip;

pub use crate::suite::trace::{Dir, Payload, Trace, TraceError, TraceFrame, ABNORMAL_CLOSE};

/// What a trace's header allows to vary, beyond the order across links (always allowed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allowances {
    /// The entries of a map sync may come in any order (`map sync entries unordered`).
    pub map_sync_unordered: bool,
    /// An event equal to the last one of its link may come again (`events may repeat`).
    pub repeated_events: bool,
}

/// An item of a header's `order` that this module does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowanceError {
    /// The trace.
    pub trace: String,
    /// The unknown item.
    pub item: String,
}

impl fmt::Display for AllowanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: unknown `order` item `{}` (known: per-link, map sync entries unordered, \
             events may repeat)",
            self.trace, self.item
        )
    }
}

impl std::error::Error for AllowanceError {}

impl Allowances {
    /// Reads the header's `order` member of `trace`.
    ///
    /// ```
    /// use conformance::trace::{Allowances, Trace};
    ///
    /// let t = Trace::parse("t", r#"{"order":"per-link; map sync entries unordered"}"#).unwrap();
    /// assert!(Allowances::of(&t).unwrap().map_sync_unordered);
    /// let bad = Trace::parse("t", r#"{"order":"per-lnk"}"#).unwrap();
    /// assert!(Allowances::of(&bad).is_err());
    /// ```
    pub fn of(trace: &Trace) -> Result<Allowances, AllowanceError> {
        let mut allow = Allowances::default();
        for item in trace.order.split(';').map(str::trim) {
            match item.to_ascii_lowercase().as_str() {
                "" | "per-link" => {}
                "map sync entries unordered" => allow.map_sync_unordered = true,
                "events may repeat" => allow.repeated_events = true,
                _ => {
                    return Err(AllowanceError {
                        trace: trace.name.clone(),
                        item: item.to_string(),
                    })
                }
            }
        }
        Ok(allow)
    }
}

/// The order key of a frame: its link, or the connection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// `auth`, `authed`, `deauth`, `deauthed`, closes, and frames that are not envelopes.
    Connection,
    /// A (node, lane) link.
    Link(String, String),
}

/// One server frame as compared.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A text frame that decodes as an envelope.
    Envelope(OwnedEnvelope),
    /// A text frame that is not an envelope (compared as text).
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// A close frame with its code (1005 when it had none).
    Close(u16),
}

impl Item {
    /// A text frame: the decoded envelope, or the text when it is not one.
    pub fn from_text(text: &str) -> Item {
        match OwnedEnvelope::decode(text) {
            Ok(env) => Item::Envelope(env),
            Err(_) => Item::Text(text.to_string()),
        }
    }

    /// The item a trace frame's payload stands for.
    pub fn from_payload(payload: &Payload) -> Item {
        match payload {
            Payload::Text(t) => Item::from_text(t),
            Payload::Binary(b) => Item::Binary(b.clone()),
            Payload::Close(code) => Item::Close(*code),
        }
    }

    /// The order key.
    pub fn key(&self) -> Key {
        match self {
            Item::Envelope(env) => match env.tag {
                Tag::Auth | Tag::Authed | Tag::Deauth | Tag::Deauthed => Key::Connection,
                _ => Key::Link(env.node.clone(), env.lane.clone()),
            },
            _ => Key::Connection,
        }
    }

    /// Whether `self` and `other` are the same frame: envelopes by decoded parts (floats by
    /// bits), the rest exactly.
    pub fn same(&self, other: &Item) -> bool {
        match (self, other) {
            (Item::Envelope(a), Item::Envelope(b)) => {
                a.tag == b.tag
                    && a.node == b.node
                    && a.lane == b.lane
                    && same_float(f64::from(a.prio), f64::from(b.prio))
                    && same_float(f64::from(a.rate), f64::from(b.rate))
                    && same_value(&a.body, &b.body)
            }
            (a, b) => a == b,
        }
    }

    fn is_event(&self) -> bool {
        matches!(self, Item::Envelope(e) if e.tag == Tag::Event)
    }

    fn is_tag(&self, tag: Tag) -> bool {
        matches!(self, Item::Envelope(e) if e.tag == tag)
    }

    /// The item for messages.
    pub fn show(&self) -> String {
        match self {
            Item::Envelope(env) => show(env),
            Item::Text(t) => format!("text {}", clip(t, 120)),
            Item::Binary(b) => format!("a binary frame of {} bytes", b.len()),
            Item::Close(code) => format!("close {code}"),
        }
    }
}

/// One expected server frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    /// The frame.
    pub item: Item,
    /// How many client frames come before it in the trace: it is due before client frame
    /// `before_c2s` is sent (or at the end).
    pub before_c2s: usize,
    /// The trace line (0 for a frame of a [`ProfileRule`]).
    pub line: usize,
    /// Whether it is the close answering the client's close (any code accepted).
    pub answers_close: bool,
    /// The map sync it belongs to, when its entries may come in any order.
    pub group: Option<usize>,
}

impl Expected {
    fn accepts(&self, got: &Item, client_closed: bool) -> bool {
        if self.answers_close {
            client_closed && matches!(got, Item::Close(_))
        } else {
            self.item.same(got)
        }
    }

    fn describe(&self) -> String {
        let what = if self.answers_close {
            "a close answering ours (any code)".to_string()
        } else {
            self.item.show()
        };
        if self.line > 0 {
            format!("{what} (line {})", self.line)
        } else {
            what
        }
    }
}

/// Where an expectation comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The trace's own `s2c` frames.
    Recorded,
    /// A [`ProfileRule`]: PROFILE.md's behaviour, which the recording deliberately differs
    /// from; the text says how.
    Profile(&'static str),
}

/// What a replay sends and expects.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The trace's name.
    pub name: String,
    /// The client frames, in order.
    pub c2s: Vec<TraceFrame>,
    /// The server frames, in trace order.
    pub s2c: Vec<Expected>,
    /// What may vary.
    pub allow: Allowances,
    /// Where the server frames come from.
    pub source: Source,
}

/// Which behaviour a replay checks for traces marked `profile_differs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expect {
    /// PROFILE.md's, from [`PROFILE_RULES`] (our drivers; the default).
    #[default]
    Profile,
    /// The recording's (the reference server the trace was recorded from).
    Recorded,
}

/// What to do with a trace.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Replay it against this expectation.
    Replay(Expectation),
    /// Skip it, for this reason (reported, never silent).
    Skip(String),
}

/// A server frame of a [`ProfileRule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileFrame {
    /// This envelope.
    Text(&'static str),
    /// A close the server starts, with this code.
    Close(u16),
    /// The close answering the client's close (any code).
    AnswerClose,
}

/// PROFILE.md's behaviour for one trace marked `profile_differs`: the server frames expected
/// after each client frame (the client frames are the trace's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileRule {
    /// The trace's name.
    pub trace: &'static str,
    /// How PROFILE.md differs from the recording.
    pub why: &'static str,
    /// (index of a client frame, the server frames due after it, before the next client frame).
    pub after: &'static [(usize, &'static [ProfileFrame])],
}

/// The answer to a bad frame under PROFILE.md: nothing (the frame is reported and counted; the
/// connection goes on), then the answer to the client's close.
const BAD_FRAME_KEPT: &[(usize, &[ProfileFrame])] = &[(1, &[ProfileFrame::AnswerClose])];

/// PROFILE.md's expectations for the traces marked `profile_differs` (see [`plan`]).
pub const PROFILE_RULES: &[ProfileRule] = &[
    ProfileRule {
        trace: "malformed_recon",
        why: "an unparseable frame is reported and counted, the connection goes on \
              (SwimOS closes with 1002)",
        after: BAD_FRAME_KEPT,
    },
    ProfileRule {
        trace: "unknown_tag",
        why: "an unknown tag is a typed error, the connection goes on (SwimOS closes with 1002)",
        after: BAD_FRAME_KEPT,
    },
    ProfileRule {
        trace: "missing_lane",
        why: "an envelope without lane is reported, the connection goes on \
              (SwimOS closes with 1002)",
        after: BAD_FRAME_KEPT,
    },
    ProfileRule {
        trace: "binary_frame",
        why: "a binary frame is reported, the connection goes on (SwimOS closes with 1002)",
        after: BAD_FRAME_KEPT,
    },
    ProfileRule {
        trace: "positional_header",
        why: "positional header arguments are read (node, lane): the sync is answered \
              (SwimOS closes with 1002)",
        after: &[
            (
                0,
                &[
                    ProfileFrame::Text("@linked(node:\"/unit/17\",lane:info)"),
                    ProfileFrame::Text("@event(node:\"/unit/17\",lane:info)\"\""),
                    ProfileFrame::Text("@synced(node:\"/unit/17\",lane:info)"),
                ],
            ),
            (1, &[ProfileFrame::AnswerClose]),
        ],
    },
    ProfileRule {
        trace: "map_remove_absent",
        why: "every change of a linked lane is an event: the @update after a remove of an \
              absent key is sent (SwimOS drops it)",
        after: &[
            (
                3,
                &[
                    ProfileFrame::Text("@linked(node:\"/unit/42\",lane:history)"),
                    ProfileFrame::Text("@event(node:\"/unit/42\",lane:history)@update(key:2) 2"),
                    ProfileFrame::Text("@event(node:\"/unit/42\",lane:history)@update(key:7) 5"),
                    ProfileFrame::Text("@event(node:\"/unit/42\",lane:history)@update(key:8) 1"),
                    ProfileFrame::Text("@synced(node:\"/unit/42\",lane:history)"),
                ],
            ),
            (
                4,
                &[ProfileFrame::Text(
                    "@event(node:\"/unit/42\",lane:history)@remove(key:7)",
                )],
            ),
            (
                6,
                &[ProfileFrame::Text(
                    "@event(node:\"/unit/42\",lane:history)@update(key:11) 3",
                )],
            ),
            (
                7,
                &[ProfileFrame::Text(
                    "@unlinked(node:\"/unit/42\",lane:history)\"Link closed.\"",
                )],
            ),
            (8, &[ProfileFrame::AnswerClose]),
        ],
    },
    ProfileRule {
        trace: "auth_ignored",
        why: "auth is answered @authed (the demo servers accept everyone), deauth with \
              @deauthed and a close 1000, so the later frames are not sent \
              (SwimOS ignores both)",
        after: &[
            (0, &[ProfileFrame::Text("@authed")]),
            (
                1,
                &[ProfileFrame::Text("@deauthed"), ProfileFrame::Close(1000)],
            ),
        ],
    },
];

/// Decides how `trace` is replayed:
///
/// - a trace without `profile_differs` is checked as recorded;
/// - a trace with `profile_differs` is checked as recorded with [`Expect::Recorded`], and with
///   [`Expect::Profile`] against its [`ProfileRule`]; one without a rule is skipped, with the
///   reason (the rule must be written after reading the difference, never guessed).
///
/// The error is an unknown `order` item.
pub fn plan(trace: &Trace, expect: Expect) -> Result<Plan, AllowanceError> {
    let allow = Allowances::of(trace)?;
    let Some(differs) = &trace.profile_differs else {
        return Ok(Plan::Replay(recorded(trace, allow)));
    };
    if expect == Expect::Recorded {
        return Ok(Plan::Replay(recorded(trace, allow)));
    }
    match PROFILE_RULES.iter().find(|r| r.trace == trace.name) {
        Some(rule) => Ok(Plan::Replay(from_rule(trace, allow, rule))),
        None => Ok(Plan::Skip(format!(
            "marked profile_differs ({differs}) and conformance::trace::PROFILE_RULES has no \
             PROFILE.md expectation for it; replay it with --expect recorded against the \
             reference server"
        ))),
    }
}

fn client_frames(trace: &Trace) -> Vec<TraceFrame> {
    trace
        .frames
        .iter()
        .filter(|f| f.dir == Dir::C2s)
        .cloned()
        .collect()
}

/// The recording's own expectation.
fn recorded(trace: &Trace, allow: Allowances) -> Expectation {
    let mut s2c = Vec::new();
    let mut sent = 0;
    let mut client_closed = false;
    for f in &trace.frames {
        match f.dir {
            Dir::C2s => {
                sent += 1;
                if matches!(f.payload, Payload::Close(_)) {
                    client_closed = true;
                }
            }
            Dir::S2c => s2c.push(Expected {
                item: Item::from_payload(&f.payload),
                before_c2s: sent,
                line: f.line,
                answers_close: client_closed && matches!(f.payload, Payload::Close(_)),
                group: None,
            }),
        }
    }
    let mut exp = Expectation {
        name: trace.name.clone(),
        c2s: client_frames(trace),
        s2c,
        allow,
        source: Source::Recorded,
    };
    if allow.map_sync_unordered {
        group_map_syncs(&mut exp.s2c);
    }
    exp
}

fn from_rule(trace: &Trace, allow: Allowances, rule: &ProfileRule) -> Expectation {
    let mut s2c = Vec::new();
    for (index, frames) in rule.after {
        for frame in *frames {
            let (item, answers_close) = match frame {
                ProfileFrame::Text(t) => (Item::from_text(t), false),
                ProfileFrame::Close(code) => (Item::Close(*code), false),
                ProfileFrame::AnswerClose => (Item::Close(1000), true),
            };
            s2c.push(Expected {
                item,
                before_c2s: index.saturating_add(1),
                line: 0,
                answers_close,
                group: None,
            });
        }
    }
    let mut exp = Expectation {
        name: trace.name.clone(),
        c2s: client_frames(trace),
        s2c,
        allow,
        source: Source::Profile(rule.why),
    };
    if allow.map_sync_unordered {
        group_map_syncs(&mut exp.s2c);
    }
    exp
}

/// Marks each run of events directly before a `synced` on its link as one group.
fn group_map_syncs(s2c: &mut [Expected]) {
    let mut runs: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    let mut next_group = 0;
    for i in 0..s2c.len() {
        let Some(e) = s2c.get(i) else { continue };
        let key = e.item.key();
        if e.item.is_event() {
            runs.entry(key).or_default().push(i);
        } else if e.item.is_tag(Tag::Synced) {
            if let Some(run) = runs.remove(&key) {
                for j in run {
                    if let Some(member) = s2c.get_mut(j) {
                        member.group = Some(next_group);
                    }
                }
                next_group += 1;
            }
        } else {
            runs.remove(&key);
        }
    }
}

/// The first difference between a server's frames and the expectation.
#[derive(Clone, Debug, PartialEq)]
pub enum Difference {
    /// A frame on a link (or the connection) where nothing more was expected.
    Unexpected {
        /// The frame.
        got: String,
    },
    /// A frame other than the one expected next on its link.
    Wrong {
        /// The frame.
        got: String,
        /// What was expected.
        expected: String,
    },
    /// An expected frame did not come.
    Missing {
        /// What was expected.
        expected: String,
        /// Why the wait ended: the timeout, or how the connection ended.
        why: String,
    },
    /// A client frame could not be sent.
    Send {
        /// The trace line of the frame.
        line: usize,
        /// Why.
        error: String,
    },
    /// The connection to the server under test could not be made.
    Connect(String),
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Unexpected { got } => write!(f, "unexpected {got}"),
            Difference::Wrong { got, expected } => write!(f, "got {got}, expected {expected}"),
            Difference::Missing { expected, why } => write!(f, "missing {expected}: {why}"),
            Difference::Send { line, error } => {
                write!(f, "sending the client frame of line {line}: {error}")
            }
            Difference::Connect(e) => write!(f, "cannot connect: {e}"),
        }
    }
}

impl std::error::Error for Difference {}

/// The incremental comparison: offer each server frame as it arrives; ask what is still
/// missing before sending the next client frame.
#[derive(Clone, Debug)]
pub struct Checker<'e> {
    exp: &'e Expectation,
    done: Vec<bool>,
    queues: BTreeMap<Key, VecDeque<usize>>,
    last_event: BTreeMap<Key, Item>,
    client_closed: bool,
}

impl<'e> Checker<'e> {
    /// A checker expecting `exp`'s server frames.
    pub fn new(exp: &'e Expectation) -> Checker<'e> {
        let mut queues: BTreeMap<Key, VecDeque<usize>> = BTreeMap::new();
        for (i, e) in exp.s2c.iter().enumerate() {
            queues.entry(e.item.key()).or_default().push_back(i);
        }
        Checker {
            exp,
            done: vec![false; exp.s2c.len()],
            queues,
            last_event: BTreeMap::new(),
            client_closed: false,
        }
    }

    /// The client sent its close: from now on a close answers it. (Before, a close the trace
    /// shows as an answer is a close the server started, and a difference.)
    pub fn client_closed(&mut self) {
        self.client_closed = true;
    }

    fn is_repeat(&self, key: &Key, got: &Item) -> bool {
        self.exp.allow.repeated_events
            && got.is_event()
            && self.last_event.get(key).is_some_and(|last| last.same(got))
    }

    fn consume(&mut self, key: &Key, position: usize, got: Item) {
        if let Some(i) = self.queues.get_mut(key).and_then(|q| q.remove(position)) {
            if let Some(d) = self.done.get_mut(i) {
                *d = true;
            }
        }
        if got.is_event() {
            self.last_event.insert(key.clone(), got);
        }
    }

    /// Checks `got` against the next expected frame of its link (any member of a map sync
    /// group), and consumes it.
    pub fn offer(&mut self, got: Item) -> Result<(), Difference> {
        let key = got.key();
        let s2c = &self.exp.s2c;
        let client_closed = self.client_closed;
        let queue = self.queues.get(&key);
        let Some(&front) = queue.and_then(|q| q.front()) else {
            if self.is_repeat(&key, &got) {
                return Ok(());
            }
            return Err(Difference::Unexpected { got: got.show() });
        };
        let Some(first) = s2c.get(front) else {
            return Err(Difference::Unexpected { got: got.show() });
        };
        let (position, expected) = match first.group {
            Some(g) => {
                let run: Vec<usize> = queue
                    .into_iter()
                    .flatten()
                    .copied()
                    .take_while(|&j| s2c.get(j).is_some_and(|e| e.group == Some(g)))
                    .collect();
                let found = run
                    .iter()
                    .position(|&j| s2c.get(j).is_some_and(|e| e.accepts(&got, client_closed)));
                let expected = format!(
                    "one of [{}] (map sync entries, any order)",
                    run.iter()
                        .filter_map(|&j| s2c.get(j).map(Expected::describe))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                (found, expected)
            }
            None => (
                first.accepts(&got, client_closed).then_some(0),
                first.describe(),
            ),
        };
        match position {
            Some(p) => {
                self.consume(&key, p, got);
                Ok(())
            }
            None if self.is_repeat(&key, &got) => Ok(()),
            None => Err(Difference::Wrong {
                got: got.show(),
                expected,
            }),
        }
    }

    /// The first expected frame (in trace order) due before client frame `sent` that has not
    /// come; `None` when all have.
    pub fn first_missing(&self, sent: usize) -> Option<&'e Expected> {
        let exp = self.exp;
        exp.s2c
            .iter()
            .zip(&self.done)
            .find(|(e, done)| !**done && e.before_c2s <= sent)
            .map(|(e, _)| e)
    }

    /// Describes a missing frame for a [`Difference::Missing`].
    pub fn missing(expected: &Expected, why: impl Into<String>) -> Difference {
        Difference::Missing {
            expected: expected.describe(),
            why: why.into(),
        }
    }
}

/// The time limits of a replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How long to wait for a frame that is due.
    pub timeout: Duration,
    /// How long to watch for extra frames after the last expected one.
    pub quiet: Duration,
    /// How long to keep reading before each client frame after the first, once its due
    /// frames came (0: send at once). For servers that do not apply a connection's commands
    /// before its later requests to other lanes (SwimOS): the recordings had such gaps.
    pub pace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(5),
            quiet: Duration::from_millis(300),
            pace: Duration::ZERO,
        }
    }
}
