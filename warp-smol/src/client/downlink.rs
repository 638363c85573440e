//! [`Downlink`]: the application's view of one lane, a [`Stream`] of
//! [`DownlinkEvent`](super::DownlinkEvent)s.

use std::pin::Pin;
use std::task::{Context, Poll};

use super::{ClientError, DownlinkEvent};
use async_channel::{Receiver, Sender};
use futures_lite::Stream;

/// The identity of a downlink within its client.
pub(crate) type DownlinkId = u64;

/// A downlink closing: sent by [`Downlink::close`] (with an acknowledgement) or its `Drop`.
#[derive(Debug)]
pub(crate) struct HandleClose {
    pub(crate) id: DownlinkId,
    pub(crate) ack: Option<Sender<()>>,
}

/// One downlink: a view of a lane, opened by [`Client::link`](super::Client::link) or
/// [`Client::sync`](super::Client::sync). Its events are a [`Stream`] of [`DownlinkEvent`]s
/// (use [`futures_lite::StreamExt::next`]).
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
    events: Pin<Box<Receiver<DownlinkEvent>>>,
    closes: Sender<HandleClose>,
    open: bool,
}

impl Downlink {
    pub(crate) fn new(
        id: DownlinkId,
        node: String,
        lane: String,
        events: Receiver<DownlinkEvent>,
        closes: Sender<HandleClose>,
    ) -> Downlink {
        Downlink {
            id,
            node,
            lane,
            events: Box::pin(events),
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
        let (ack, done) = async_channel::bounded(1);
        let close = HandleClose {
            id: self.id,
            ack: Some(ack),
        };
        if self.closes.try_send(close).is_err() {
            // The connection task has ended: nothing is open any more.
            return Ok(());
        }
        // A dropped acknowledgement means the task ended, which also closes everything.
        let _ = done.recv().await;
        Ok(())
    }
}

impl Stream for Downlink {
    type Item = DownlinkEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<DownlinkEvent>> {
        self.events.as_mut().poll_next(cx)
    }
}

impl Drop for Downlink {
    fn drop(&mut self) {
        if self.open {
            // Fails only when the connection task has ended, and then nothing is open.
            let _ = self.closes.try_send(HandleClose {
                id: self.id,
                ack: None,
            });
        }
    }
}
