//! WARP envelopes: the one Recon record each WebSocket text frame carries.
//!
//! An envelope is a Recon record whose first item is the tag attribute (`@event(…)`) and whose
//! remaining items are the body:
//!
//! ```text
//! @event(node:"/unit/1",lane:info)@update(key:k){temp:21.5}
//! └tag─┘└──────header args─────┘└────────── body ────────────┘
//! ```
//!
//! # Decoding
//!
//! [`Envelope::decode`] borrows from the frame: node and lane are slices of it (decoded lazily
//! when they contain escapes), and the body is kept as its raw Recon text ([`Body::raw`]),
//! readable through the pull parser ([`Body::reader`]) or as a [`Value`](crate::recon::Value)
//! (feature `alloc`, [`Body::to_value`]). Nothing is allocated or copied.
//!
//! - [`Envelope::decode_header`] reads the header only; the body is returned as a raw slice
//!   and **not validated**. This is the fast path for routing and forwarding.
//! - [`Envelope::decode`] also runs the Recon reader over the body, so a frame it accepts is
//!   a complete, valid envelope.
//!
//! Both first try a hand-rolled scanner for the usual header form
//! `@tag(node:<ident|"string">,lane:<ident|"string">[,prio:<num>][,rate:<num>])` (any order of
//! the named arguments) that looks at each byte once. Anything else (positional arguments,
//! quoted keys or tags, spaces or comments in the header, unknown arguments, hex numbers, …)
//! goes to a general path built on [`Reader`]. Both paths give the same
//! envelope; every error comes from the general path.
//!
//! The reading rules are those of the project profile (PROFILE.md, "Reading envelopes"):
//! - all twelve tags ([`Tag`]), case-sensitive; the tag may be written as a string
//!   (`@"event"`); leading whitespace before the tag is accepted (Java/JS do);
//! - header arguments named (`node:`, `lane:`, `prio:`, `rate:`; any order; keys may be
//!   quoted) or positional (the item at position 0 of the argument list is the node, at
//!   position 1 the lane); other arguments are ignored; a repeated argument: the last wins;
//! - node and lane must be text: an identifier or a string. `true`/`false` are taken as the
//!   texts `"true"`/`"false"`. A number, record or data is refused
//!   ([`EnvelopeErrorKind::NodeNotText`]); an empty value (`node:,`) is refused
//!   ([`EnvelopeErrorKind::EmptyNode`]); the empty *string* `node:""` is a valid, empty node.
//!   Node and lane are not checked as URIs and not percent-decoded;
//! - `prio` and `rate` of `link`, `sync` and `linked` are numbers (any Recon number, read as
//!   `f32`), or strings holding a number (`"1"`, `NaN`, `Infinity`; Java and JS accept
//!   those); anything else is [`EnvelopeErrorKind::BadPrio`]/[`EnvelopeErrorKind::BadRate`].
//!   On other kinds they are ignored. Absent reads as 0;
//! - host-addressed kinds (`auth`, `authed`, `deauth`, `deauthed`) ignore any header arguments
//!   (`@auth(x)` is `@auth`), as Java and JS do;
//! - spaces or newlines between the header and the body are accepted; the body is the rest of
//!   the envelope record (`@event(…){x:1}@b` has body `{x:1,@b}`), and `{}` is Absent.
//!
//! # Encoding
//!
//! [`Envelope::encode`] writes to any `core::fmt::Write`, [`Envelope::encode_to_slice`] into a
//! caller buffer (a buffer too small is an error carrying the exact size needed). The output
//! follows PROFILE.md "Writing": `@tag(node:N,lane:L)`, then `,prio:P` and `,rate:R` when
//! non-zero; host-addressed kinds as `@tag`; N and L bare when they are identifiers other than
//! `true`/`false`, otherwise double-quoted, after percent-encoding the characters that are not
//! allowed in a URI ([`write_uri`]); the body spliced as Java and JS print it, with one space
//! before an identifier, number or bool body and none before `{`, `@`, `"` or `%`.
//! [`Envelope::encode_with_value`] (feature `alloc`) writes a [`Value`](crate::recon::Value)
//! body without building an intermediate string.
//!
//! ```
//! use warp_proto::envelope::{Body, Envelope, Tag};
//!
//! let env = Envelope::decode("@event(node:\"/unit/1\",lane:info) 42").unwrap();
//! assert_eq!(env.tag, Tag::Event);
//! assert_eq!(env.node, "/unit/1");
//! assert_eq!(env.body.raw(), "42");
//!
//! let reply = Envelope::command("/unit/1", "info", Body::from_raw("{x:1}"));
//! let mut buf = [0u8; 64];
//! let n = reply.encode_to_slice(&mut buf).unwrap();
//! assert_eq!(&buf[..n], b"@command(node:\"/unit/1\",lane:info){x:1}");
//! ```

mod decode;
mod encode;
mod error;
mod fast;
mod general;
#[cfg(all(test, feature = "std"))]
mod tests;
#[cfg(feature = "alloc")]
mod value;

use core::fmt;

use crate::recon::{Event, Reader, Text};

pub use encode::{uri_needs_encoding, write_uri};
pub use error::{EnvelopeError, EnvelopeErrorKind};

/// The kind of an envelope: its tag attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    /// `@link`: client asks to link to a lane.
    Link,
    /// `@sync`: client asks to link and receive the lane's state.
    Sync,
    /// `@linked`: server confirms a link.
    Linked,
    /// `@synced`: server has sent the lane's state.
    Synced,
    /// `@unlink`: client closes a link.
    Unlink,
    /// `@unlinked`: server confirms (or forces) the end of a link.
    Unlinked,
    /// `@command`: client sends a value to a lane.
    Command,
    /// `@event`: server sends a lane event.
    Event,
    /// `@auth`: client sends credentials.
    Auth,
    /// `@authed`: server accepted the credentials.
    Authed,
    /// `@deauth`: either side drops authentication.
    Deauth,
    /// `@deauthed`: server dropped (or refused) authentication.
    Deauthed,
}

impl Tag {
    /// Every tag, in the order of the table in WARP.md.
    pub const ALL: [Tag; 12] = [
        Tag::Link,
        Tag::Sync,
        Tag::Linked,
        Tag::Synced,
        Tag::Unlink,
        Tag::Unlinked,
        Tag::Command,
        Tag::Event,
        Tag::Auth,
        Tag::Authed,
        Tag::Deauth,
        Tag::Deauthed,
    ];

    /// The tag as written after `@`.
    pub const fn name(self) -> &'static str {
        match self {
            Tag::Link => "link",
            Tag::Sync => "sync",
            Tag::Linked => "linked",
            Tag::Synced => "synced",
            Tag::Unlink => "unlink",
            Tag::Unlinked => "unlinked",
            Tag::Command => "command",
            Tag::Event => "event",
            Tag::Auth => "auth",
            Tag::Authed => "authed",
            Tag::Deauth => "deauth",
            Tag::Deauthed => "deauthed",
        }
    }

    /// The tag named `name` (case-sensitive).
    pub fn from_name(name: &str) -> Option<Tag> {
        Tag::from_name_bytes(name.as_bytes())
    }

    /// The tag named `name` as bytes (case-sensitive).
    pub(crate) fn from_name_bytes(name: &[u8]) -> Option<Tag> {
        Some(match name {
            b"link" => Tag::Link,
            b"sync" => Tag::Sync,
            b"linked" => Tag::Linked,
            b"synced" => Tag::Synced,
            b"unlink" => Tag::Unlink,
            b"unlinked" => Tag::Unlinked,
            b"command" => Tag::Command,
            b"event" => Tag::Event,
            b"auth" => Tag::Auth,
            b"authed" => Tag::Authed,
            b"deauth" => Tag::Deauth,
            b"deauthed" => Tag::Deauthed,
            _ => return None,
        })
    }

    /// Whether envelopes of this kind carry no node or lane (`auth`, `authed`, `deauth`,
    /// `deauthed`).
    pub const fn is_host_addressed(self) -> bool {
        matches!(self, Tag::Auth | Tag::Authed | Tag::Deauth | Tag::Deauthed)
    }

    /// Whether envelopes of this kind may carry `prio` and `rate` (`link`, `sync`, `linked`).
    pub const fn is_link_addressed(self) -> bool {
        matches!(self, Tag::Link | Tag::Sync | Tag::Linked)
    }
}

impl fmt::Display for Tag {
    /// Writes the tag name (without `@`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The body of an envelope: the items of the envelope record after the tag.
///
/// Kept as raw Recon text so it can be forwarded without re-encoding. A decoded body is the
/// frame's text after the header, with leading spaces and newlines removed; it may start with
/// `{` (items spliced into the envelope record), `@` (attributes), or be a single value.
///
/// Equality compares the raw text: `{}` and the empty body are different texts for the same
/// (Absent) body value; compare [`Body::to_value`] for value equality.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Body<'a> {
    raw: &'a str,
}

impl<'a> Body<'a> {
    /// No body.
    pub const fn absent() -> Self {
        Body { raw: "" }
    }

    /// A body given as Recon text, trusted to be well formed.
    ///
    /// `raw` must be a body as [`Envelope::decode`] returns it ([`Body::raw`]): the Recon text
    /// of the items after the tag, for example `42`, `"two words"`, `{x:1,y:2}` (a record's
    /// items, spliced into the envelope), `@update(key:k){temp:21.5}`, or the empty string.
    /// Text printed by the Recon writer for a value qualifies, except that a record with exactly
    /// one plain item (`{1}`) reads back as that item, as in Java and JS; write such a value with
    /// [`Envelope::encode_with_value`] instead. Leading whitespace is dropped when encoding.
    /// Nothing is checked here; [`Envelope::decode`] of the encoded frame would report bad text.
    pub const fn from_raw(raw: &'a str) -> Self {
        Body { raw }
    }

    /// The Recon text of the body, as received (leading whitespace removed). Empty when the
    /// frame ended after the header.
    pub const fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether the body reads as Absent: empty, only whitespace or comments, or `{}`.
    ///
    /// Runs the reader over the body unless it is empty or exactly `{}`; a body that is not
    /// valid Recon is not absent.
    pub fn is_absent(&self) -> bool {
        let t = self.raw.trim_end_matches(encode::is_recon_space);
        if t.is_empty() || t == "{}" {
            return true;
        }
        let mut r = self.reader();
        matches!(r.next_event(), Ok(Some(Event::Absent))) && matches!(r.next_event(), Ok(None))
    }

    /// A pull reader over the body, yielding it as one value by the envelope body rule: no
    /// items is Absent, one plain item is that item, otherwise a record of the items; `{}` is
    /// Absent. Error offsets are relative to [`Body::raw`].
    pub fn reader(&self) -> Reader<'a> {
        Reader::for_record_body(self.raw)
    }

    /// The body as an owned value (same rule as [`Body::reader`]). Error offsets are relative
    /// to [`Body::raw`].
    #[cfg(feature = "alloc")]
    pub fn to_value(&self) -> Result<crate::recon::Value, crate::recon::Error> {
        crate::recon::Value::parse_body(self.raw)
    }
}

impl fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Body(")?;
        fmt::Debug::fmt(self.raw, f)?;
        f.write_str(")")
    }
}

impl fmt::Display for Body<'_> {
    /// Writes the raw Recon text of the body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw)
    }
}

/// A decoded (or to-be-encoded) WARP envelope, borrowing from its frame.
///
/// For host-addressed kinds, `node` and `lane` are empty and ignored when encoding. `prio` and
/// `rate` are 0 when absent (absent and 0 mean the same on the wire), and always 0 after
/// decoding a kind other than `link`, `sync` and `linked`; they are not written for those kinds.
///
/// `Display` writes the encoded frame (as [`Envelope::encode`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Envelope<'a> {
    /// The kind.
    pub tag: Tag,
    /// The node URI.
    pub node: Text<'a>,
    /// The lane URI.
    pub lane: Text<'a>,
    /// Link priority (`link`, `sync`, `linked` only).
    pub prio: f32,
    /// Link rate (`link`, `sync`, `linked` only).
    pub rate: f32,
    /// The body.
    pub body: Body<'a>,
}

impl<'a> Envelope<'a> {
    /// An envelope of kind `tag` for `node` and `lane`, with no body, prio or rate.
    ///
    /// For host-addressed kinds pass empty strings (or use [`Envelope::host`]).
    pub const fn new(tag: Tag, node: &'a str, lane: &'a str) -> Self {
        Envelope {
            tag,
            node: Text::plain(node),
            lane: Text::plain(lane),
            prio: 0.0,
            rate: 0.0,
            body: Body::absent(),
        }
    }

    /// A host-addressed envelope (`auth`, `authed`, `deauth`, `deauthed`) with `body`.
    pub const fn host(tag: Tag, body: Body<'a>) -> Self {
        Envelope::new(tag, "", "").with_body(body)
    }

    /// `@link(node:…,lane:…)`.
    pub const fn link(node: &'a str, lane: &'a str) -> Self {
        Envelope::new(Tag::Link, node, lane)
    }

    /// `@sync(node:…,lane:…)`.
    pub const fn sync(node: &'a str, lane: &'a str) -> Self {
        Envelope::new(Tag::Sync, node, lane)
    }

    /// `@linked(node:…,lane:…)`.
    pub const fn linked(node: &'a str, lane: &'a str) -> Self {
        Envelope::new(Tag::Linked, node, lane)
    }

    /// `@synced(node:…,lane:…)`.
    pub const fn synced(node: &'a str, lane: &'a str) -> Self {
        Envelope::new(Tag::Synced, node, lane)
    }

    /// `@unlink(node:…,lane:…)`.
    pub const fn unlink(node: &'a str, lane: &'a str) -> Self {
        Envelope::new(Tag::Unlink, node, lane)
    }

    /// `@unlinked(node:…,lane:…)`; give a reason with [`Envelope::with_body`]
    /// (`Body::from_raw("@nodeNotFound")`).
    pub const fn unlinked(node: &'a str, lane: &'a str) -> Self {
        Envelope::new(Tag::Unlinked, node, lane)
    }

    /// `@command(node:…,lane:…)` carrying `body`.
    pub const fn command(node: &'a str, lane: &'a str, body: Body<'a>) -> Self {
        Envelope::new(Tag::Command, node, lane).with_body(body)
    }

    /// `@event(node:…,lane:…)` carrying `body`.
    pub const fn event(node: &'a str, lane: &'a str, body: Body<'a>) -> Self {
        Envelope::new(Tag::Event, node, lane).with_body(body)
    }

    /// `@auth` carrying `body` (credentials).
    pub const fn auth(body: Body<'a>) -> Self {
        Envelope::host(Tag::Auth, body)
    }

    /// `@authed` carrying `body`.
    pub const fn authed(body: Body<'a>) -> Self {
        Envelope::host(Tag::Authed, body)
    }

    /// `@deauth` carrying `body`.
    pub const fn deauth(body: Body<'a>) -> Self {
        Envelope::host(Tag::Deauth, body)
    }

    /// `@deauthed` carrying `body`.
    pub const fn deauthed(body: Body<'a>) -> Self {
        Envelope::host(Tag::Deauthed, body)
    }

    /// This envelope with `body`.
    pub const fn with_body(mut self, body: Body<'a>) -> Self {
        self.body = body;
        self
    }

    /// This envelope with `prio` (written for `link`, `sync` and `linked` only).
    pub const fn with_prio(mut self, prio: f32) -> Self {
        self.prio = prio;
        self
    }

    /// This envelope with `rate` (written for `link`, `sync` and `linked` only).
    pub const fn with_rate(mut self, rate: f32) -> Self {
        self.rate = rate;
        self
    }
}

impl fmt::Display for Envelope<'_> {
    /// Writes the frame, as [`Envelope::encode`] does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.encode(f).map_err(|_| fmt::Error)
    }
}
