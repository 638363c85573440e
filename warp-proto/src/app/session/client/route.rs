//! Routing: queuing the session's work on the endpoint (closes, opens, commands) and turning
//! the endpoint's events into each downlink's owned events.

use alloc::string::ToString;
use alloc::vec::Vec;

use super::{
    ClientSession, ClientState, DownlinkEvent, DownlinkId, Endpoint, Incoming, Phase, Queued,
    SessionError, UnlinkReason,
};
use crate::connection::{self, CallError, HandleId, LinkState, QueueError};
use crate::endpoint::ClientEvent;
use crate::recon::Value;

impl<T> ClientSession<T> {
    /// Queues on the endpoint what waits for it: handles to close, downlinks to open,
    /// commands, and the close when stopping. Returns whether anything was queued.
    pub(super) fn queue_work(&mut self) -> bool {
        let stopping = self.stopping();
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        if conn.close_sent {
            return false;
        }
        let mut queued = false;
        while let Some(&(handle, _)) = self.to_close.front() {
            let result = conn.ep.close_handle(handle);
            if let Err(CallError::Queue(QueueError::Full { .. })) = result {
                break;
            }
            queued |= result.is_ok();
            if let Some((_, Some(tag))) = self.to_close.pop_front() {
                if result.is_ok() {
                    self.unwritten.push(tag);
                } else {
                    self.out.push_back(Queued::Done(tag, Ok(())));
                }
            }
        }
        while let Some(&id) = self.to_open.front() {
            let Some(r) = self
                .records
                .get_mut(&id)
                .filter(|r| !r.ending && r.handle.is_none())
            else {
                self.to_open.pop_front();
                continue;
            };
            let result = if r.sync {
                conn.ep.sync(&r.node, &r.lane)
            } else {
                conn.ep.link(&r.node, &r.lane)
            };
            match result {
                Ok(handle) => {
                    r.handle = Some(handle);
                    self.by_handle.insert(handle, id);
                    self.to_open.pop_front();
                    queued = true;
                    if link_is_open(&conn.ep, handle) {
                        r.linked = true;
                        self.out.push_back(Queued::Event(id, DownlinkEvent::Linked));
                    }
                }
                Err(CallError::Queue(QueueError::Full { .. }) | CallError::Closed) => break,
                Err(e) => {
                    self.to_open.pop_front();
                    r.ending = true;
                    self.out.push_back(Queued::Event(
                        id,
                        DownlinkEvent::Unlinked(UnlinkReason::Refused(e)),
                    ));
                }
            }
        }
        if conn.connected {
            while let Some(c) = self.commands.front() {
                match conn.ep.command(&c.node, &c.lane, c.body()) {
                    Ok(()) => {
                        if let Some((_, tag)) = self.commands.pop_tagged() {
                            self.unwritten.push(tag);
                        }
                        queued = true;
                    }
                    Err(CallError::Queue(QueueError::Full { .. }) | CallError::Closed) => break,
                    Err(e) => {
                        if let Some((_, tag)) = self.commands.pop_tagged() {
                            self.out
                                .push_back(Queued::Done(tag, Err(SessionError::Call(e))));
                        }
                    }
                }
            }
        }
        if !queued && stopping {
            conn.close_sent = true;
            conn.ep.close();
            queued = true;
        }
        if queued {
            conn.drained = false;
        }
        queued
    }

    /// Acts on an endpoint event.
    pub(super) fn on_incoming(&mut self, incoming: Incoming) {
        let handles = core::mem::take(&mut self.scratch);
        match incoming {
            Incoming::Nothing => {}
            Incoming::Connected => {
                if let Some(conn) = self.conn.as_mut() {
                    conn.connected = true;
                }
                self.phase = Phase::Connected;
                self.ever_connected = true;
                if let Some(r) = self.reconnect.as_mut() {
                    r.connected();
                }
                self.out.push_back(Queued::State(ClientState::Connected));
            }
            Incoming::Linked => {
                for h in &handles {
                    if let Some(&id) = self.by_handle.get(h) {
                        if let Some(r) = self.records.get_mut(&id) {
                            r.linked = true;
                        }
                        self.out.push_back(Queued::Event(id, DownlinkEvent::Linked));
                    }
                }
            }
            Incoming::Event(value) => {
                let ids: Vec<DownlinkId> = handles
                    .iter()
                    .filter_map(|h| self.by_handle.get(h).copied())
                    .collect();
                let mut value = Some(value);
                let last = ids.len().saturating_sub(1);
                for (i, id) in ids.into_iter().enumerate() {
                    let value = if i == last {
                        value.take()
                    } else {
                        value.clone()
                    };
                    if let Some(value) = value {
                        self.out
                            .push_back(Queued::Event(id, DownlinkEvent::Event(value)));
                    }
                }
            }
            Incoming::Synced => {
                for h in &handles {
                    if let Some(&id) = self.by_handle.get(h) {
                        self.out.push_back(Queued::Event(id, DownlinkEvent::Synced));
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
                        self.out
                            .push_back(Queued::Event(id, DownlinkEvent::Unlinked(reason.clone())));
                        if let Some(r) = self.records.get_mut(&id) {
                            r.handle = None;
                            r.linked = false;
                            r.ending |= !keep;
                        }
                    }
                    if let Some(conn) = self.conn.as_mut() {
                        // Frees the handle; sends nothing.
                        let _ = conn.ep.close_handle(h);
                        conn.drained = false;
                    }
                }
                self.check_stop();
            }
        }
        let mut handles = handles;
        handles.clear();
        self.scratch = handles;
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
            handles: h, body, ..
        } => match body.to_value() {
            Ok(value) => {
                handles.extend(h);
                Incoming::Event(value)
            }
            // Not Recon: no downlink can read it.
            Err(_) => Incoming::Nothing,
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
        _ => Incoming::Nothing,
    }
}

/// Whether `handle` joined a link the server has already confirmed: the server sends no
/// second `linked`, so the session tells the new downlink itself.
pub(super) fn link_is_open(ep: &Endpoint, handle: HandleId) -> bool {
    let connection = ep.connection();
    let state = connection
        .handle_link(handle)
        .and_then(|link| connection.link_state(link));
    matches!(state, Some(LinkState::Linked | LinkState::Syncing))
}

/// The owned reason of an `unlinked`.
fn unlink_reason(reason: connection::UnlinkReason<'_>) -> UnlinkReason {
    match reason {
        connection::UnlinkReason::NodeNotFound => UnlinkReason::NodeNotFound,
        connection::UnlinkReason::LaneNotFound => UnlinkReason::LaneNotFound,
        connection::UnlinkReason::Other(body) => UnlinkReason::Server(
            body.to_value()
                .unwrap_or_else(|_| Value::Text(body.raw().to_string())),
        ),
    }
}
