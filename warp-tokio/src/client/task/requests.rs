//! What the client's handles ask of the task: open and close downlinks, send commands,
//! close the client; and queuing it all on the endpoint when a connection can take it.

use std::collections::VecDeque;

use futures::StreamExt;
use tokio::sync::mpsc;
use warp_proto::connection::{CallError, QueueError};

use super::events::link_is_open;
use super::{Ack, Conn, Control, Request, Slot, Task};
use crate::client::downlink::{DownlinkEvent, DownlinkId, HandleClose, UnlinkReason};
use crate::client::error::ClientError;

impl Task {
    /// Queues what waits for the connection: downlinks to open, handles to close, commands.
    /// Returns whether anything was queued (then drain again).
    pub(super) fn queue_work(&mut self, conn: &mut Conn) -> bool {
        let mut queued = false;
        while let Some(&(handle, _)) = self.to_close.front() {
            match conn.ep.close_handle(handle) {
                Err(CallError::Queue(QueueError::Full { .. })) => break,
                result => {
                    queued |= result.is_ok();
                    if let Some((_, Some(ack))) = self.to_close.pop_front() {
                        self.unwritten.push(Ack::Close(ack));
                    }
                }
            }
        }
        while let Some(&id) = self.to_open.front() {
            let Some(slot) = self.slots.get_mut(&id) else {
                self.to_open.pop_front();
                continue;
            };
            if slot.ending || slot.handle.is_some() || slot.events.is_closed() {
                self.to_open.pop_front();
                continue;
            }
            let result = if slot.sync {
                conn.ep.sync(&slot.node, &slot.lane)
            } else {
                conn.ep.link(&slot.node, &slot.lane)
            };
            match result {
                Ok(handle) => {
                    slot.handle = Some(handle);
                    self.by_handle.insert(handle, id);
                    self.to_open.pop_front();
                    queued = true;
                    if link_is_open(conn, handle) {
                        slot.linked = true;
                        self.deliver(id, DownlinkEvent::Linked);
                    }
                }
                Err(CallError::Queue(QueueError::Full { .. }) | CallError::Closed) => break,
                Err(e) => {
                    self.to_open.pop_front();
                    self.deliver(id, DownlinkEvent::Unlinked(UnlinkReason::Refused(e)));
                    self.end_slot(id);
                }
            }
        }
        if conn.connected {
            while let Some(c) = self.commands.front() {
                match conn.ep.command(&c.node, &c.lane, c.body()) {
                    Ok(()) => {
                        self.commands.pop();
                        if let Some(reply) = self.command_replies.pop_front() {
                            self.unwritten.push(Ack::Command(reply));
                        }
                        queued = true;
                    }
                    Err(CallError::Queue(QueueError::Full { .. }) | CallError::Closed) => break,
                    Err(e) => {
                        self.commands.pop();
                        if let Some(reply) = self.command_replies.pop_front() {
                            let _ = reply.send(Err(ClientError::Call(e)));
                        }
                    }
                }
            }
        }
        queued
    }

    /// Waits for the next request, downlink close or room in a downlink's queue.
    pub(super) async fn next_control(&mut self) -> Control {
        let requests = !self.clients_gone;
        let closes = !self.closes_gone;
        let permits = !self.permits.is_empty();
        tokio::select! {
            r = self.requests.recv(), if requests => Control::Request(r),
            c = self.closes.recv(), if closes => Control::Close(c),
            Some((id, p)) = self.permits.next(), if permits => Control::Permit(id, p),
            else => std::future::pending().await,
        }
    }

    /// Acts on a [`Control`]; `conn` is the connection if one is open.
    pub(super) fn on_control(&mut self, conn: Option<&mut Conn>, control: Control) {
        match control {
            Control::Request(None) => self.clients_gone = true,
            Control::Request(Some(request)) => self.on_request(conn, request),
            Control::Close(None) => {
                self.closes_gone = true;
                self.clients_gone = true;
            }
            Control::Close(Some(close)) => self.on_handle_close(close),
            Control::Permit(id, permit) => self.on_permit(id, permit),
        }
    }

    pub(super) fn on_request(&mut self, conn: Option<&mut Conn>, request: Request) {
        match request {
            Request::Open {
                id,
                node,
                lane,
                sync,
                events,
                reply,
            } => {
                let result = self.open(conn, id, node, lane, sync, events);
                let _ = reply.send(result);
            }
            Request::Command {
                node,
                lane,
                body,
                reply,
            } => {
                let body = warp_proto::envelope::Body::from_raw(&body);
                match self.commands.push(&node, &lane, body) {
                    Ok(()) => self.command_replies.push_back(reply),
                    Err(e) => {
                        let _ = reply.send(Err(ClientError::CommandBufferFull(e)));
                    }
                }
            }
            Request::Close { reply } => {
                self.closing = true;
                if let Some(r) = self.reconnect.as_mut() {
                    r.give_up();
                }
                self.close_waiters.push(reply);
            }
        }
    }

    /// Registers a downlink and opens it at once when a connection can take it.
    pub(super) fn open(
        &mut self,
        conn: Option<&mut Conn>,
        id: DownlinkId,
        node: String,
        lane: String,
        sync: bool,
        events: mpsc::Sender<DownlinkEvent>,
    ) -> Result<(), ClientError> {
        let warp = &self.config.endpoint.warp;
        if node.is_empty() || lane.is_empty() {
            return Err(ClientError::Call(CallError::EmptyUri));
        }
        if node.len() > warp.max_uri_len || lane.len() > warp.max_uri_len {
            return Err(ClientError::Call(CallError::UriTooLong));
        }
        if self.slots.len() >= warp.max_handles {
            return Err(ClientError::Call(CallError::TooManyHandles));
        }
        if events.is_closed() {
            // The caller gave up waiting.
            return Err(ClientError::ClientClosed);
        }
        let mut slot = Slot {
            node,
            lane,
            sync,
            events,
            outbox: VecDeque::new(),
            handle: None,
            linked: false,
            ending: false,
        };
        if let Some(conn) = conn.filter(|c| !c.close_sent && !c.broken) {
            if self.to_open.is_empty() {
                let result = if sync {
                    conn.ep.sync(&slot.node, &slot.lane)
                } else {
                    conn.ep.link(&slot.node, &slot.lane)
                };
                match result {
                    Ok(handle) => {
                        slot.handle = Some(handle);
                        let joined = link_is_open(conn, handle);
                        slot.linked = joined;
                        self.by_handle.insert(handle, id);
                        self.slots.insert(id, slot);
                        if joined {
                            self.deliver(id, DownlinkEvent::Linked);
                        }
                        return Ok(());
                    }
                    Err(CallError::Queue(QueueError::Full { .. }) | CallError::Closed) => {}
                    Err(e) => return Err(ClientError::Call(e)),
                }
            }
            self.to_open.push_back(id);
        } else if self.closing {
            return Err(ClientError::ClientClosed);
        }
        self.slots.insert(id, slot);
        Ok(())
    }

    /// A downlink closed or was dropped.
    pub(super) fn on_handle_close(&mut self, close: HandleClose) {
        self.backlogged.remove(&close.id);
        let handle = self.slots.remove(&close.id).and_then(|s| s.handle);
        match handle {
            Some(h) => {
                self.by_handle.remove(&h);
                self.to_close.push_back((h, close.ack));
            }
            None => {
                if let Some(ack) = close.ack {
                    let _ = ack.send(());
                }
            }
        }
    }
}
