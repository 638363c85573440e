//! What both roles share: the outbound queue, the close state, bad-frame accounting and the
//! counters.

use super::error::{Close, HandleError, ProtocolError, ProtocolErrorKind, QueueError};
use super::outbound::Outbound;
use super::storage::Storage;
use super::{Config, Stats, Transmit};
use crate::envelope::{Body, Envelope, Tag};
use crate::recon::Text;

/// Where the connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    /// A close is decided; it goes out after the frames already queued.
    Closing(Close),
    /// The close has been handed out.
    Closed,
}

pub(crate) struct Endpoint<S: Storage> {
    pub(crate) config: Config,
    pub(crate) out: Outbound<S::Bytes>,
    phase: Phase,
    /// The close decided, kept after it is handed out.
    decided: Option<Close>,
    /// Whether frames are still taken while [`draining`](Self::draining) (the server role:
    /// commands the client wrote before it saw the close are delivered, not lost).
    pub(crate) drains: bool,
    pub(crate) stats: Stats,
}

impl<S: Storage> Endpoint<S> {
    pub(crate) fn new(config: Config) -> Self {
        Endpoint {
            out: Outbound::new(&config),
            config,
            phase: Phase::Open,
            decided: None,
            drains: false,
            stats: Stats::default(),
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Decides to close; the first decision wins.
    pub(crate) fn close(&mut self, close: Close) {
        if self.phase == Phase::Open {
            self.phase = Phase::Closing(close);
            self.decided = Some(close);
        }
    }

    /// Whether this end closed gracefully (1000 by the application, 1001 going away, 1013
    /// overloaded) and the peer may still be sending what it wrote before it saw the close:
    /// frames that need no answer (`command`) are still worth taking until the peer's close
    /// arrives. After a close for a fault (protocol error, bad UTF-8, oversized frame, refused
    /// or dropped authentication) nothing more is taken.
    pub(crate) fn draining(&self) -> bool {
        !self.is_open()
            && matches!(
                self.decided,
                Some(Close::Normal | Close::GoingAway | Close::Overloaded)
            )
    }

    /// The next thing to send; see the drain contract in the module docs.
    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        if self.out.frames() > 0 {
            self.stats.frames_sent = self.stats.frames_sent.saturating_add(1);
            return self.out.pop().map(Transmit::Frame);
        }
        if let Phase::Closing(close) = self.phase {
            self.phase = Phase::Closed;
            self.out.clear();
            return Some(Transmit::Close(close));
        }
        None
    }

    /// Counts a received frame; refuses it when the connection is closing or closed, unless
    /// it is [`draining`](Self::draining), the role takes frames while draining, and the frame
    /// is within the size bound (the caller then takes only commands from it).
    pub(crate) fn receive(&mut self, len: usize) -> Result<(), HandleError> {
        if !self.is_open() {
            if self.drains && self.draining() && len <= self.config.max_frame_len {
                self.stats.frames_received = self.stats.frames_received.saturating_add(1);
                return Ok(());
            }
            return Err(HandleError::Closed);
        }
        self.stats.frames_received = self.stats.frames_received.saturating_add(1);
        if len > self.config.max_frame_len {
            return Err(self.protocol_error(ProtocolErrorKind::FrameTooLarge { len }));
        }
        Ok(())
    }

    /// Counts a bad frame and closes when the count passes the bound.
    pub(crate) fn protocol_error(&mut self, kind: ProtocolErrorKind) -> HandleError {
        self.stats.protocol_errors = self.stats.protocol_errors.saturating_add(1);
        let count = self.stats.protocol_errors;
        let close = match kind {
            ProtocolErrorKind::FrameTooLarge { .. } => Some(Close::FrameTooLarge),
            _ if count > self.config.max_protocol_errors => Some(match kind {
                ProtocolErrorKind::InvalidUtf8 { .. } => Close::InvalidUtf8,
                _ => Close::ProtocolError,
            }),
            _ => None,
        };
        if let Some(close) = close {
            self.close(close);
        }
        HandleError::Protocol(ProtocolError { kind, count, close })
    }

    /// The text of a frame given as bytes, or the protocol error it is.
    pub(crate) fn text<'f>(&mut self, frame: &'f [u8]) -> Result<&'f str, HandleError> {
        self.receive(frame.len())?;
        core::str::from_utf8(frame).map_err(|e| {
            self.protocol_error(ProtocolErrorKind::InvalidUtf8 {
                valid_up_to: e.valid_up_to(),
            })
        })
    }

    /// A binary frame arrived (never taken once the connection is closing).
    pub(crate) fn binary(&mut self, len: usize) -> HandleError {
        if !self.is_open() {
            return HandleError::Closed;
        }
        match self.receive(len) {
            Ok(()) => self.protocol_error(ProtocolErrorKind::Binary),
            Err(e) => e,
        }
    }

    /// Decodes a text frame already counted by [`Endpoint::receive`].
    pub(crate) fn decode<'f>(&mut self, frame: &'f str) -> Result<Envelope<'f>, HandleError> {
        Envelope::decode(frame).map_err(|e| self.protocol_error(ProtocolErrorKind::Envelope(e)))
    }

    /// Queues a lane-addressed envelope.
    pub(crate) fn push(
        &mut self,
        tag: Tag,
        node: &str,
        lane: &str,
        body: Body<'_>,
    ) -> Result<(), QueueError> {
        self.push_text(tag, Text::plain(node), Text::plain(lane), body)
    }

    /// Queues an envelope whose node and lane are still the received text.
    pub(crate) fn push_text(
        &mut self,
        tag: Tag,
        node: Text<'_>,
        lane: Text<'_>,
        body: Body<'_>,
    ) -> Result<(), QueueError> {
        let envelope = Envelope {
            tag,
            node,
            lane,
            prio: 0.0,
            rate: 0.0,
            body,
        };
        self.out.push(&envelope)
    }

    /// Queues an answer the peer's frame requires: a full queue is backpressure (the frame must
    /// be handed in again); a frame that can never fit is counted and skipped.
    pub(crate) fn respond(&mut self, result: Result<(), QueueError>) -> Result<(), HandleError> {
        match result {
            Ok(()) => Ok(()),
            Err(QueueError::Full { bound }) => Err(HandleError::Backpressure(bound)),
            Err(_) => {
                self.stats.unsendable_responses = self.stats.unsendable_responses.saturating_add(1);
                Ok(())
            }
        }
    }
}
