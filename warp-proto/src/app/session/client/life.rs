//! The session's life cycle: deadlines, connection attempts and their timeouts, losing a
//! connection (reconnect or end) and ending.

use super::{
    AttemptError, ClientSession, ClientState, CloseReason, DownlinkEvent, Lost, Phase, Queued,
    SessionEnd, SessionError, TransportEnd, UnlinkReason,
};
use crate::ws::Instant;
use crate::Input;

impl<T> ClientSession<T> {
    /// The earliest deadline: the endpoint's, the connect timeout's, the back-off's.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let ep = self.conn.as_ref().and_then(|c| c.deadline);
        let own = match self.phase {
            Phase::Connecting { since } => Some(since.saturating_add(self.config.connect_timeout)),
            Phase::Waiting(at) => Some(at),
            Phase::Connected | Phase::Closed => None,
        };
        match (ep, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(super) fn on_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Waiting(at) if now >= at => {
                if let Some(r) = self.reconnect.as_mut() {
                    r.handle_timeout(now);
                }
                self.start_attempt(now);
            }
            Phase::Connecting { since }
                if now >= since.saturating_add(self.config.connect_timeout) =>
            {
                let up = self.conn.as_ref().is_some_and(|c| c.connected);
                if !up {
                    self.conn = None;
                    self.transport_pending = false;
                    self.out
                        .push_back(Queued::CloseTransport(TransportEnd::TimedOut));
                    let after = self.config.connect_timeout;
                    self.lost(now, Lost::Attempt(AttemptError::Timeout(after)));
                    return;
                }
            }
            _ => {}
        }
        if let Some(conn) = self.conn.as_mut() {
            if conn.deadline.is_some_and(|t| t <= now) {
                conn.deadline = None;
                let _ = conn.ep.handle_input(Input::Timeout(now));
                conn.drained = false;
            }
        }
    }

    pub(super) fn start_attempt(&mut self, now: Instant) {
        self.phase = Phase::Connecting { since: now };
        self.transport_pending = true;
        self.out.push_back(Queued::State(ClientState::Connecting));
        self.out.push_back(Queued::Connect);
    }

    /// Whether the connection is no longer wanted: closed by the application, or no handle
    /// and no open downlink left.
    pub(super) fn stopping(&self) -> bool {
        self.closing || (self.handles_gone && self.records.values().all(|r| r.ending))
    }

    pub(super) fn end_reason(&self) -> SessionEnd {
        if self.closing {
            SessionEnd::Closed
        } else {
            SessionEnd::Abandoned
        }
    }

    /// Ends the session now if it is stopping and no connection needs closing first.
    pub(super) fn check_stop(&mut self) {
        if !self.stopping() || self.conn.is_some() {
            return;
        }
        match self.phase {
            Phase::Waiting(_) => self.finish(self.end_reason()),
            Phase::Connecting { .. } => {
                if core::mem::take(&mut self.transport_pending) {
                    self.out
                        .push_back(Queued::CloseTransport(TransportEnd::Abandoned));
                }
                self.finish(self.end_reason());
            }
            Phase::Connected | Phase::Closed => {}
        }
    }

    /// The connection (or the attempt) ended: reconnect, or end.
    pub(super) fn lost(&mut self, now: Instant, lost: Lost) {
        self.conn = None;
        self.transport_pending = false;
        self.by_handle.clear();
        self.to_open.clear();
        for r in self.records.values_mut() {
            r.handle = None;
        }
        while let Some((_, tag)) = self.to_close.pop_front() {
            if let Some(tag) = tag {
                self.out.push_back(Queued::Done(tag, Ok(())));
            }
        }
        for tag in self.unwritten.drain(..) {
            self.out
                .push_back(Queued::Done(tag, Err(SessionError::ConnectionLost)));
        }
        if self.stopping() {
            return self.finish(self.end_reason());
        }
        if !self.ever_connected {
            let e = match lost {
                Lost::Attempt(e) => e,
                Lost::Closed(reason) => AttemptError::Closed(reason),
            };
            return self.finish(SessionEnd::ConnectFailed(e));
        }
        let Some(reconnect) = self.reconnect.as_mut() else {
            let reason = match lost {
                Lost::Closed(reason) | Lost::Attempt(AttemptError::Closed(reason)) => reason,
                Lost::Attempt(_) => CloseReason::TransportClosed,
            };
            return self.finish(SessionEnd::Lost(reason));
        };
        let Some(at) = reconnect.disconnected(now) else {
            return self.finish(SessionEnd::GaveUp);
        };
        for (&id, r) in self.records.iter_mut().filter(|(_, r)| !r.ending) {
            if core::mem::replace(&mut r.linked, false) {
                self.out.push_back(Queued::Event(
                    id,
                    DownlinkEvent::Unlinked(UnlinkReason::Disconnected),
                ));
            }
        }
        self.phase = Phase::Waiting(at);
        self.out.push_back(Queued::State(ClientState::Disconnected));
    }

    /// The session ends: every downlink hears `Unlinked(Closed)`, every waiting call is
    /// answered.
    pub(super) fn finish(&mut self, end: SessionEnd) {
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        self.conn = None;
        self.transport_pending = false;
        if let Some(r) = self.reconnect.as_mut() {
            r.give_up();
        }
        self.out.push_back(Queued::State(ClientState::Closed));
        for (_, tag) in self.commands.drain() {
            self.out
                .push_back(Queued::Done(tag, Err(SessionError::Closed)));
        }
        for (&id, r) in self.records.iter_mut().filter(|(_, r)| !r.ending) {
            r.ending = true;
            r.linked = false;
            self.out.push_back(Queued::Event(
                id,
                DownlinkEvent::Unlinked(UnlinkReason::Closed),
            ));
        }
        for tag in self.close_waiters.drain(..) {
            self.out.push_back(Queued::Done(tag, Ok(())));
        }
        self.out.push_back(Queued::Closed(end));
    }
}
