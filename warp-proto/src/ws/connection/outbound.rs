//! The sending side of a connection: the transmit storage, queued control frames and the
//! close/failure transitions that produce them.

use super::{CloseInitiator, CloseReason, Core, Phase, SendError};
use crate::ws::close::CloseCode;
use crate::ws::frame::{apply_mask, encode_frame, header_len, FrameHeader, Opcode};
use crate::ws::{Role, Storage, WsError};

impl<T: Storage> Core<T> {
    /// Bytes queued for the transport and not yet handed out.
    pub(super) fn pending_tx(&self) -> &[u8] {
        self.tx
            .bytes()
            .get(self.tx_start..self.tx_end)
            .unwrap_or(&[])
    }

    /// The most bytes the transmit storage can ever hold.
    fn tx_capacity(&self) -> usize {
        self.tx.max_len().min(self.config.max_transmit_len)
    }

    /// A writable region of exactly `needed` bytes at the end of the queued bytes. The caller
    /// writes into it, then commits what it wrote with `self.tx_end += n`.
    pub(super) fn tx_reserve(&mut self, needed: usize) -> Result<&mut [u8], SendError> {
        if self.tx_start == self.tx_end {
            self.tx_start = 0;
            self.tx_end = 0;
        }
        let capacity = self.tx_capacity();
        let Some(end) = self.tx_end.checked_add(needed) else {
            return Err(SendError::TooLarge {
                needed,
                limit: capacity,
            });
        };
        if end > self.tx.bytes().len() && self.tx_start > 0 {
            let (start, stop) = (self.tx_start, self.tx_end);
            self.tx.bytes_mut().copy_within(start..stop, 0);
            self.tx_end = stop - start;
            self.tx_start = 0;
        }
        let end = self.tx_end.saturating_add(needed);
        if !self.tx.grow_to(end, capacity) {
            return Err(if needed > capacity {
                SendError::TooLarge {
                    needed,
                    limit: capacity,
                }
            } else {
                SendError::WouldBlock {
                    needed,
                    available: self.tx.bytes().len().saturating_sub(self.tx_end),
                }
            });
        }
        let start = self.tx_end;
        match self.tx.bytes_mut().get_mut(start..end) {
            Some(region) => Ok(region),
            None => Err(SendError::WouldBlock {
                needed,
                available: 0,
            }),
        }
    }

    /// The masking key for the next frame: fresh for a client, none for a server.
    pub(super) fn next_mask(&mut self) -> Option<[u8; 4]> {
        match self.role {
            Role::Client => Some(self.masks.next_key()),
            Role::Server => None,
        }
    }

    /// Queues one control frame, all or nothing.
    fn write_control(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), SendError> {
        let needed = header_len(payload.len() as u64, self.role == Role::Client) + payload.len();
        // Reserve first, so that no masking key is used up by a frame that is not sent.
        self.tx_reserve(needed)?;
        let mask = self.next_mask();
        let region = self.tx_reserve(needed)?;
        let written = encode_frame(region, true, opcode, mask, payload)?;
        self.tx_end = self.tx_end.saturating_add(written);
        Ok(())
    }

    /// Moves queued control frames (pong, keep-alive ping, close) into the transmit storage,
    /// in that order, as far as there is room. Returns whether none is left waiting.
    pub(super) fn flush_control(&mut self) -> bool {
        if let Some(len) = self.pong_len {
            let mut payload = [0u8; 125];
            let n = len.min(payload.len());
            payload[..n].copy_from_slice(self.pong_buf.get(..n).unwrap_or(&[]));
            if self.write_control(Opcode::Pong, &payload[..n]).is_err() {
                return false;
            }
            self.pong_len = None;
        }
        if self.ping_due {
            if self.write_control(Opcode::Ping, &[]).is_err() {
                return false;
            }
            self.ping_due = false;
        }
        if let Some(len) = self.close_len {
            let mut payload = [0u8; 125];
            let n = len.min(payload.len());
            payload[..n].copy_from_slice(self.close_buf.get(..n).unwrap_or(&[]));
            if self.write_control(Opcode::Close, &payload[..n]).is_err() {
                return false;
            }
            self.close_len = None;
        }
        true
    }

    /// Whether control frames are still waiting for room.
    pub(super) fn control_waiting(&self) -> bool {
        self.pong_len.is_some() || self.ping_due || self.close_len.is_some()
    }

    /// Queues a close frame with `code` and `reason` (already checked), or an empty one.
    pub(super) fn queue_close(&mut self, code: Option<CloseCode>, reason: &str) {
        self.pong_len = None;
        self.ping_due = false;
        let mut len = 0;
        if let Some(code) = code {
            self.close_buf[..2].copy_from_slice(&code.as_u16().to_be_bytes());
            let reason = reason.as_bytes();
            let n = reason.len().min(self.close_buf.len() - 2);
            self.close_buf[2..2 + n].copy_from_slice(reason.get(..n).unwrap_or(&[]));
            len = 2 + n;
        }
        self.close_len = Some(len);
        self.flush_control();
    }

    /// Fails the connection because the peer broke the protocol: sends a close frame with the
    /// matching code (unless one was sent already) and stops reading.
    pub(super) fn fail(&mut self, error: WsError) {
        match self.phase {
            Phase::Closed(_) => return,
            Phase::Open => self.queue_close(Some(error.close_code()), error.kind.close_reason()),
            Phase::CloseSent { .. } => {}
        }
        self.frame = None;
        self.reset_assembly();
        self.phase = Phase::Closed(CloseReason::ProtocolError(error));
    }

    /// Ends the connection without a close frame (transport gone, timeout): drops everything
    /// queued, since nobody will read it.
    pub(super) fn abandon(&mut self, reason: CloseReason) {
        self.tx_start = 0;
        self.tx_end = 0;
        self.pong_len = None;
        self.ping_due = false;
        self.close_len = None;
        self.frame = None;
        self.reset_assembly();
        self.phase = Phase::Closed(reason);
    }

    /// Handles a valid close frame from the peer.
    pub(super) fn peer_closed(&mut self, code: Option<CloseCode>) {
        match self.phase {
            Phase::Open => {
                // Echo the status code, as RFC 6455 section 5.5.1 suggests.
                self.queue_close(code, "");
                self.phase = Phase::Closed(CloseReason::Closed {
                    initiator: CloseInitiator::Remote,
                    code,
                });
            }
            Phase::CloseSent { .. } => {
                self.phase = Phase::Closed(CloseReason::Closed {
                    initiator: CloseInitiator::Local,
                    code,
                });
            }
            Phase::Closed(_) => {}
        }
        self.frame = None;
        self.reset_assembly();
    }

    /// Queues one data message as frames of at most `max_send_frame_len` payload bytes, all or
    /// nothing.
    pub(super) fn send_data(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), SendError> {
        self.check_open()?;
        self.flush_control();
        let masked = self.role == Role::Client;
        let chunk = self.config.max_send_frame_len.max(1);
        let mut needed = 0usize;
        let mut rest = payload.len();
        loop {
            let n = rest.min(chunk);
            needed = needed
                .checked_add(header_len(n as u64, masked))
                .and_then(|x| x.checked_add(n))
                .ok_or(SendError::TooLarge {
                    needed: usize::MAX,
                    limit: self.tx_capacity(),
                })?;
            rest -= n;
            if rest == 0 {
                break;
            }
        }
        self.tx_reserve(needed)?;
        let mut first = true;
        let mut pieces = payload.chunks(chunk);
        let mut piece = pieces.next().unwrap_or(&[]);
        loop {
            let next = pieces.next();
            let header = FrameHeader {
                fin: next.is_none(),
                opcode: if first { opcode } else { Opcode::Continuation },
                mask: self.next_mask(),
                payload_len: piece.len() as u64,
            };
            let frame_len = header.encoded_len() + piece.len();
            let region = self.tx_reserve(frame_len)?;
            let head_len = header.encode(region)?;
            if let Some(body) = region.get_mut(head_len..frame_len) {
                body.copy_from_slice(piece);
                if let Some(mask) = header.mask {
                    apply_mask(body, mask, 0);
                }
            }
            self.tx_end = self.tx_end.saturating_add(frame_len);
            first = false;
            match next {
                Some(p) => piece = p,
                None => return Ok(()),
            }
        }
    }

    pub(super) fn check_open(&self) -> Result<(), SendError> {
        match self.phase {
            Phase::Open => Ok(()),
            Phase::CloseSent { .. } => Err(SendError::Closing),
            Phase::Closed(_) if self.close_len.is_some() || self.tx_start != self.tx_end => {
                Err(SendError::Closing)
            }
            Phase::Closed(_) => Err(SendError::Closed),
        }
    }
}
