//! Expected envelopes and the per-link order check.
//!
//! Envelopes are compared decoded (tag, node, lane, body value; prio and rate only when the
//! expectation carries them), never as bytes. Order is checked per link (node, lane) and for the
//! connection-level envelopes (`auth`, `authed`, `deauth`, `deauthed`); envelopes of different
//! links may interleave in any way (CONFORMANCE.md).
//!
//! ```
//! use conformance::peers::OwnedEnvelope;
//! use conformance::suite::expect::{PerLink, Step, Want};
//!
//! let mut check = PerLink::new(vec![
//!     Step::One(Want::parse(r#"@linked(node:"/a",lane:x)"#).unwrap()),
//!     Step::One(Want::parse(r#"@linked(node:"/a",lane:y)"#).unwrap()),
//! ]);
//! // Another link's envelope may come first...
//! check.offer(&OwnedEnvelope::decode(r#"@linked(node:"/a",lane:y)"#).unwrap()).unwrap();
//! // ...but an envelope nobody expects is an error.
//! assert!(check.offer(&OwnedEnvelope::decode(r#"@synced(node:"/a",lane:x)"#).unwrap()).is_err());
//! ```

use std::collections::VecDeque;

use warp_proto::envelope::Tag;
use warp_proto::recon::Value;

use crate::json::{same_float, same_value};
use crate::peers::OwnedEnvelope;
use crate::suite::ws::clip;

/// An expected envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Want {
    /// The envelope.
    pub env: OwnedEnvelope,
    /// Its text, for messages.
    pub text: String,
    /// Whether any body is accepted (tag, node and lane still compared).
    pub any_body: bool,
}

impl Want {
    /// The envelope `text`; the error says why it does not decode.
    pub fn parse(text: &str) -> Result<Want, String> {
        Ok(Want {
            env: OwnedEnvelope::decode(text)?,
            text: text.to_string(),
            any_body: false,
        })
    }

    /// The envelope `text` with any body accepted.
    pub fn any_body(text: &str) -> Result<Want, String> {
        Ok(Want {
            any_body: true,
            ..Want::parse(text)?
        })
    }

    /// Whether `got` is this envelope: same tag, node and lane, the same body value (unless any
    /// body goes), and the same prio and rate where this expectation has them non-zero.
    pub fn matches(&self, got: &OwnedEnvelope) -> bool {
        let want = &self.env;
        want.tag == got.tag
            && want.node == got.node
            && want.lane == got.lane
            && (self.any_body || same_value(&want.body, &got.body))
            && (want.prio == 0.0 || same_float(f64::from(want.prio), f64::from(got.prio)))
            && (want.rate == 0.0 || same_float(f64::from(want.rate), f64::from(got.rate)))
    }

    /// How the expectation reads in messages.
    pub fn describe(&self) -> String {
        if self.any_body {
            format!("{} (any body)", clip(&self.text, 120))
        } else {
            clip(&self.text, 120)
        }
    }
}

/// The order key of an envelope: its link, or the connection for host-addressed kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// A (node, lane) link.
    Link(String, String),
    /// `auth`, `authed`, `deauth`, `deauthed`.
    Connection,
}

/// The order key of `env`.
pub fn key_of(env: &OwnedEnvelope) -> Key {
    match env.tag {
        Tag::Auth | Tag::Authed | Tag::Deauth | Tag::Deauthed => Key::Connection,
        _ => Key::Link(env.node.clone(), env.lane.clone()),
    }
}

/// One step of a link's expected sequence.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// This envelope, next.
    One(Want),
    /// These envelopes next, in any order (the entries of a map sync).
    AnyOrder(Vec<Want>),
}

impl Step {
    fn key(&self) -> Option<Key> {
        match self {
            Step::One(w) => Some(key_of(&w.env)),
            Step::AnyOrder(ws) => ws.first().map(|w| key_of(&w.env)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Step::One(w) => w.describe(),
            Step::AnyOrder(ws) => format!(
                "one of [{}] (any order)",
                ws.iter().map(Want::describe).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// The per-link order check: offer each received envelope; it must be the next expected one
/// of its link.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerLink {
    queues: Vec<(Key, VecDeque<Step>)>,
}

impl PerLink {
    /// Expects `steps`, ordered within each link. An empty [`Step::AnyOrder`] is dropped.
    pub fn new(steps: Vec<Step>) -> PerLink {
        let mut check = PerLink::default();
        for step in steps {
            let Some(key) = step.key() else { continue };
            match check.queues.iter_mut().find(|(k, _)| *k == key) {
                Some((_, q)) => q.push_back(step),
                None => check.queues.push((key, VecDeque::from([step]))),
            }
        }
        check
    }

    /// Whether every expected envelope has arrived.
    pub fn is_done(&self) -> bool {
        self.queues.iter().all(|(_, q)| q.is_empty())
    }

    /// The next expected step of every link that still waits for one.
    pub fn pending(&self) -> String {
        self.queues
            .iter()
            .filter_map(|(_, q)| q.front().map(Step::describe))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Checks `got` against the next expected step of its link and consumes it; the error says
    /// what was expected instead.
    pub fn offer(&mut self, got: &OwnedEnvelope) -> Result<(), String> {
        let key = key_of(got);
        let queue = self
            .queues
            .iter_mut()
            .find(|(k, _)| *k == key)
            .map(|(_, q)| q);
        let Some(queue) = queue.filter(|q| !q.is_empty()) else {
            return Err(format!(
                "unexpected {}; nothing more expected on that {}",
                show(got),
                if key == Key::Connection {
                    "connection"
                } else {
                    "link"
                }
            ));
        };
        let matched = match queue.front_mut() {
            Some(Step::One(w)) if w.matches(got) => true,
            Some(Step::AnyOrder(ws)) => match ws.iter().position(|w| w.matches(got)) {
                Some(i) => {
                    ws.remove(i);
                    ws.is_empty()
                }
                None => {
                    return Err(format!(
                        "got {}, expected {}",
                        show(got),
                        Step::AnyOrder(ws.clone()).describe()
                    ))
                }
            },
            Some(step) => return Err(format!("got {}, expected {}", show(got), step.describe())),
            None => false,
        };
        if matched {
            queue.pop_front();
        }
        Ok(())
    }
}

/// An envelope as text for messages (re-encoded from its parts).
pub fn show(env: &OwnedEnvelope) -> String {
    let mut out = format!("@{}", env.tag.name());
    if !matches!(
        env.tag,
        Tag::Auth | Tag::Authed | Tag::Deauth | Tag::Deauthed
    ) {
        out.push_str(&format!(
            "(node:{},lane:{}",
            text_literal(&env.node),
            text_literal(&env.lane)
        ));
        if env.prio != 0.0 {
            out.push_str(&format!(",prio:{}", env.prio));
        }
        if env.rate != 0.0 {
            out.push_str(&format!(",rate:{}", env.rate));
        }
        out.push(')');
    }
    match &env.body {
        Value::Absent => {}
        body => match body.to_recon_string() {
            Ok(text) if text.starts_with('@') || text.starts_with('{') => out.push_str(&text),
            Ok(text) => {
                out.push(' ');
                out.push_str(&text);
            }
            Err(_) => out.push_str(&format!(" {body:?}")),
        },
    }
    clip_plain(&out, 160)
}

/// `s` as a Recon string literal.
pub fn text_literal(s: &str) -> String {
    Value::Text(s.to_string())
        .to_recon_string()
        .unwrap_or_else(|_| format!("{s:?}"))
}

fn clip_plain(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}
