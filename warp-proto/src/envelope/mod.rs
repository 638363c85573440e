//! WARP envelopes: the one Recon record each WebSocket text frame carries.
//!
//! [`Envelope::decode`] borrows from the frame: node and lane are slices of it unless they
//! contain escapes, and the body is kept as its raw Recon text ([`Body::raw`]), readable through
//! the pull parser ([`Body::reader`]) or as a [`Value`](crate::recon::Value) (feature `alloc`).

use crate::recon::Text;

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
        Tag::ALL.into_iter().find(|t| t.name() == name)
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

/// The body of an envelope: the items of the envelope record after the tag.
///
/// Kept as raw Recon text so it can be forwarded without re-encoding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Body<'a> {
    raw: &'a str,
}

/// A decoded (or to-be-encoded) WARP envelope, borrowing from its frame.
///
/// For host-addressed kinds, `node` and `lane` are empty. `prio` and `rate` are 0 when absent
/// (absent and 0 mean the same on the wire).
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
