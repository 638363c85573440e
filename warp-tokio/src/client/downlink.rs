//! [`Downlink`]: the application's view of one lane, a [`Stream`] of [`DownlinkEvent`]s.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::{mpsc, oneshot};
use warp_proto::connection::CallError;
use warp_proto::recon::Value;

use super::error::ClientError;

/// What a [`Downlink`] hears, in the order the server sent it. Owned values.
///
/// A `link` downlink sees `Linked`, then an `Event` per change of the lane. A `sync` downlink
/// sees `Linked`, the lane's state as `Event`s (one per entry of a map lane), `Synced`, then
/// the changes. Downlinks sharing a link all see everything sent on it: a second `sync` on a
/// lane already linked makes every downlink of that lane see the state again and a `Synced`.
///
/// After `Unlinked` the stream ends, except for [`UnlinkReason::Disconnected`] and, while the
/// client reconnects, [`UnlinkReason::Server`]: the downlink is opened again on the next
/// connection and the stream goes on with `Linked` (and, for a `sync` downlink, the state and
/// `Synced` again).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DownlinkEvent {
    /// The server confirmed the link (`linked`).
    Linked,
    /// A lane event: a value of a value lane, or `@update(key:K) V` / `@remove(key:K)` of a map
    /// lane, as a Recon value.
    Event(Value),
    /// The state asked for by a `sync` has been sent (`synced`).
    Synced,
    /// The link ended; see [`UnlinkReason`].
    Unlinked(UnlinkReason),
}

/// Why a downlink's link ended.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum UnlinkReason {
    /// The server has no such node (`@unlinked ... @nodeNotFound`). The stream ends.
    NodeNotFound,
    /// The node has no such lane (`@unlinked ... @laneNotFound`). The stream ends.
    LaneNotFound,
    /// The server ended the link with another body (none, or for example SwimOS's
    /// `"Link closed."`), as a Recon value. A server shutting down does this for every link
    /// before closing (SwimOS does). With reconnection on, the downlink stays and is opened
    /// again after the next reconnection (not on the same connection); otherwise the stream
    /// ends.
    Server(Value),
    /// The client could not open the link on a new connection (too many links or handles).
    /// The stream ends.
    Refused(CallError),
    /// The connection was lost and the client is reconnecting: the stream goes on with
    /// `Linked` once the link is open again.
    Disconnected,
    /// The connection ended for good: the client was closed, gave up reconnecting, or does not
    /// reconnect. The stream ends.
    Closed,
}

impl UnlinkReason {
    /// Whether the link is gone for good: node or lane not found, refused, client closed.
    /// `false` for [`UnlinkReason::Disconnected`] and [`UnlinkReason::Server`], after which the
    /// downlink is re-opened when the client reconnects (with reconnection off, the stream
    /// ends after any `Unlinked`).
    pub fn is_final(&self) -> bool {
        !matches!(self, UnlinkReason::Disconnected | UnlinkReason::Server(_))
    }
}

impl std::fmt::Display for UnlinkReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnlinkReason::NodeNotFound => f.write_str("node not found"),
            UnlinkReason::LaneNotFound => f.write_str("lane not found"),
            UnlinkReason::Server(v) => match v.to_recon_string() {
                Ok(text) if !text.is_empty() => write!(f, "unlinked by the server: {text}"),
                _ => f.write_str("unlinked by the server"),
            },
            UnlinkReason::Refused(e) => write!(f, "link refused by the client: {e}"),
            UnlinkReason::Disconnected => f.write_str("disconnected; reconnecting"),
            UnlinkReason::Closed => f.write_str("connection closed"),
        }
    }
}

/// The identity of a downlink within its client.
pub(crate) type DownlinkId = u64;

/// A downlink closing: sent by [`Downlink::close`] (with an acknowledgement) or its `Drop`.
#[derive(Debug)]
pub(crate) struct HandleClose {
    pub(crate) id: DownlinkId,
    pub(crate) ack: Option<oneshot::Sender<()>>,
}

/// One downlink: a view of a lane, opened by [`Client::link`](super::Client::link) or
/// [`Client::sync`](super::Client::sync). Its events are a [`Stream`] of [`DownlinkEvent`]s
/// (use [`futures::StreamExt::next`]).
///
/// Downlinks on the same node and lane share one WARP link; the last one closing sends
/// `unlink`. Dropping a downlink closes it too. Events wait in a bounded queue
/// ([`ClientConfig::downlink_capacity`](super::ClientConfig::downlink_capacity)); while a
/// downlink's queue is full the connection stops reading from the server, so a downlink that
/// is not read holds up its whole connection: read it, or drop it.
#[derive(Debug)]
pub struct Downlink {
    id: DownlinkId,
    node: String,
    lane: String,
    events: mpsc::Receiver<DownlinkEvent>,
    closes: mpsc::UnboundedSender<HandleClose>,
    open: bool,
}

impl Downlink {
    pub(crate) fn new(
        id: DownlinkId,
        node: String,
        lane: String,
        events: mpsc::Receiver<DownlinkEvent>,
        closes: mpsc::UnboundedSender<HandleClose>,
    ) -> Downlink {
        Downlink {
            id,
            node,
            lane,
            events,
            closes,
            open: true,
        }
    }

    /// Marks the downlink as never opened: dropping it sends nothing.
    pub(crate) fn forget(&mut self) {
        self.open = false;
    }

    /// The node URI.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The lane URI.
    pub fn lane(&self) -> &str {
        &self.lane
    }

    /// Closes the downlink and waits until the connection has handled it: when it was the last
    /// downlink of its link, the `unlink` has been written. Events not yet read are dropped.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.open = false;
        let (ack, done) = oneshot::channel();
        let close = HandleClose {
            id: self.id,
            ack: Some(ack),
        };
        if self.closes.send(close).is_err() {
            // The connection task has ended: nothing is open any more.
            return Ok(());
        }
        // A dropped acknowledgement means the task ended, which also closes everything.
        let _ = done.await;
        Ok(())
    }
}

impl Stream for Downlink {
    type Item = DownlinkEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<DownlinkEvent>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for Downlink {
    fn drop(&mut self) {
        if self.open {
            // Fails only when the connection task has ended, and then nothing is open.
            let _ = self.closes.send(HandleClose {
                id: self.id,
                ack: None,
            });
        }
    }
}
