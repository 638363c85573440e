//! The endpoint's events, owned and handed to the downlinks: each downlink's bounded queue,
//! its outbox for what does not fit, and the end of its stream.

use tokio::sync::mpsc::error::TrySendError;
use tracing::{debug, info, warn};
use warp_proto::connection::{self, HandleId, LinkState};
use warp_proto::endpoint::ClientEvent;
use warp_proto::recon::Value;

use super::{Conn, Incoming, PermitResult, Task};
use crate::client::downlink::{DownlinkEvent, DownlinkId, UnlinkReason};
use crate::client::ClientState;

impl Task {
    /// Acts on an endpoint event.
    pub(super) fn on_incoming(&mut self, conn: &mut Conn, incoming: Incoming) {
        let mut handles = std::mem::take(&mut self.scratch);
        match incoming {
            Incoming::Nothing => {}
            Incoming::Connected => {
                conn.connected = true;
                info!(url = %self.url, protocol = ?conn.ep.protocol(), "WARP client connected");
                self.state.send_replace(ClientState::Connected);
                if let Some(r) = self.reconnect.as_mut() {
                    r.connected();
                }
                if let Some(first) = self.first.take() {
                    let _ = first.send(Ok(()));
                }
            }
            Incoming::Linked => {
                for h in &handles {
                    if let Some(&id) = self.by_handle.get(h) {
                        if let Some(slot) = self.slots.get_mut(&id) {
                            slot.linked = true;
                        }
                        self.deliver(id, DownlinkEvent::Linked);
                    }
                }
            }
            Incoming::Event(value) => {
                let mut value = Some(value);
                let last = handles.len().saturating_sub(1);
                for (i, h) in handles.iter().enumerate() {
                    let Some(&id) = self.by_handle.get(h) else {
                        continue;
                    };
                    let value = if i == last {
                        value.take()
                    } else {
                        value.clone()
                    };
                    if let Some(value) = value {
                        self.deliver(id, DownlinkEvent::Event(value));
                    }
                }
            }
            Incoming::Synced => {
                for h in &handles {
                    if let Some(&id) = self.by_handle.get(h) {
                        self.deliver(id, DownlinkEvent::Synced);
                    }
                }
            }
            Incoming::Unlinked(reason) => {
                // The server ended the link without saying it cannot exist (a server shutting
                // down unlinks every link first): keep the downlink for the next connection.
                let keep = matches!(reason, UnlinkReason::Server(_))
                    && self.reconnect.is_some()
                    && !self.closing;
                for &h in &handles {
                    if let Some(id) = self.by_handle.remove(&h) {
                        self.deliver(id, DownlinkEvent::Unlinked(reason.clone()));
                        match self.slots.get_mut(&id) {
                            Some(slot) if keep => {
                                slot.handle = None;
                                slot.linked = false;
                            }
                            _ => self.end_slot(id),
                        }
                    }
                    // Frees the handle; sends nothing.
                    let _ = conn.ep.close_handle(h);
                }
            }
        }
        handles.clear();
        self.scratch = handles;
    }

    /// Hands `event` to downlink `id`, keeping order; what does not fit waits in its outbox.
    pub(super) fn deliver(&mut self, id: DownlinkId, event: DownlinkEvent) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        if !slot.outbox.is_empty() {
            slot.outbox.push_back(event);
            return;
        }
        match slot.events.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(event)) => {
                slot.outbox.push_back(event);
                self.backlogged.insert(id);
                let events = slot.events.clone();
                self.permits
                    .push(Box::pin(async move { (id, events.reserve_owned().await) }));
            }
            // The downlink is gone; its close request is on its way.
            Err(TrySendError::Closed(_)) => {}
        }
    }

    /// Room was made in downlink `id`'s queue (or it is gone).
    pub(super) fn on_permit(&mut self, id: DownlinkId, permit: PermitResult) {
        let Some(slot) = self.slots.get_mut(&id) else {
            self.backlogged.remove(&id);
            return;
        };
        match permit {
            Ok(permit) => {
                if let Some(event) = slot.outbox.pop_front() {
                    permit.send(event);
                }
                while let Some(event) = slot.outbox.pop_front() {
                    match slot.events.try_send(event) {
                        Ok(()) => {}
                        Err(TrySendError::Full(event)) => {
                            slot.outbox.push_front(event);
                            break;
                        }
                        Err(TrySendError::Closed(_)) => slot.outbox.clear(),
                    }
                }
            }
            Err(_) => slot.outbox.clear(),
        }
        if slot.outbox.is_empty() {
            self.backlogged.remove(&id);
            if slot.ending {
                self.slots.remove(&id);
            }
        } else {
            let events = slot.events.clone();
            self.permits
                .push(Box::pin(async move { (id, events.reserve_owned().await) }));
        }
    }

    /// The link of downlink `id` ended for good: its stream ends once its outbox is delivered.
    pub(super) fn end_slot(&mut self, id: DownlinkId) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        slot.ending = true;
        slot.handle = None;
        if slot.outbox.is_empty() {
            self.slots.remove(&id);
        }
    }

    /// The connection was lost and the client reconnects: downlinks that were linked hear
    /// it; all are opened again on the next connection.
    pub(super) fn disconnected(&mut self) {
        let lost: Vec<DownlinkId> = self
            .slots
            .iter_mut()
            .filter(|(_, s)| !s.ending)
            .filter_map(|(&id, s)| {
                s.handle = None;
                std::mem::replace(&mut s.linked, false).then_some(id)
            })
            .collect();
        for id in lost {
            self.deliver(id, DownlinkEvent::Unlinked(UnlinkReason::Disconnected));
        }
    }
}

/// The owned form of an endpoint event; the handles it goes to are put in `handles`.
pub(super) fn incoming(event: ClientEvent<'_>, handles: &mut Vec<HandleId>) -> Incoming {
    handles.clear();
    match event {
        ClientEvent::Connected { .. } => Incoming::Connected,
        ClientEvent::Linked { handles: h, .. } => {
            handles.extend(h);
            Incoming::Linked
        }
        ClientEvent::Event {
            handles: h,
            body,
            link,
        } => match body.to_value() {
            Ok(value) => {
                handles.extend(h);
                Incoming::Event(value)
            }
            Err(e) => {
                warn!(?link, error = %e, body = body.raw(), "event body is not Recon; dropped");
                Incoming::Nothing
            }
        },
        ClientEvent::Synced { handles: h, .. } => {
            handles.extend(h);
            Incoming::Synced
        }
        ClientEvent::Unlinked {
            handles: h, reason, ..
        } => {
            handles.extend(h);
            Incoming::Unlinked(unlink_reason(reason))
        }
        ClientEvent::ProtocolError(e) => {
            warn!(error = %e, "WARP protocol error from the server");
            Incoming::Nothing
        }
        other => {
            debug!(event = ?other, "WARP client event ignored");
            Incoming::Nothing
        }
    }
}

/// Whether `handle` joined a link the server has already confirmed: the server sends no
/// second `linked`, so the driver tells the new downlink itself.
pub(super) fn link_is_open(conn: &Conn, handle: HandleId) -> bool {
    let connection = conn.ep.connection();
    let state = connection
        .handle_link(handle)
        .and_then(|link| connection.link_state(link));
    matches!(state, Some(LinkState::Linked | LinkState::Syncing))
}

/// The owned reason of an `unlinked`.
pub(super) fn unlink_reason(reason: connection::UnlinkReason<'_>) -> UnlinkReason {
    match reason {
        connection::UnlinkReason::NodeNotFound => UnlinkReason::NodeNotFound,
        connection::UnlinkReason::LaneNotFound => UnlinkReason::LaneNotFound,
        connection::UnlinkReason::Other(body) => UnlinkReason::Server(
            body.to_value()
                .unwrap_or_else(|_| Value::Text(body.raw().to_string())),
        ),
        _ => UnlinkReason::Server(Value::Absent),
    }
}
