//! The receiving side of a connection: frame headers, payload streaming into the reassembly
//! storage, and control frames.

use super::{Assembly, Core, InFrame, Phase, WsConnection};
use crate::ws::close::parse_close_payload;
use crate::ws::frame::{
    apply_mask, check_frame_len, check_mask, decode_header, FrameHeader, Opcode, MAX_HEADER_LEN,
};
use crate::ws::{Status, Storage, WsError, WsErrorKind};

impl<R: Storage, T: Storage> WsConnection<R, T> {
    /// Consumes as much of `bytes` as the state allows; see `handle_input`.
    pub(super) fn receive(&mut self, bytes: &[u8]) -> usize {
        if matches!(self.core.assembly, Assembly::Taken) {
            self.core.reset_assembly();
        }
        let mut pos = 0;
        while pos < bytes.len() {
            if matches!(self.core.phase, Phase::Closed(_)) {
                // After a close frame (or a failure) nothing more is read: drop the rest.
                self.core.consumed = self
                    .core
                    .consumed
                    .saturating_add((bytes.len() - pos) as u64);
                return bytes.len();
            }
            if self.core.control_waiting() && !self.core.flush_control() {
                break;
            }
            if matches!(self.core.assembly, Assembly::Ready { .. }) {
                break;
            }
            let rest = bytes.get(pos..).unwrap_or(&[]);
            let used = if self.core.frame.is_some() {
                self.read_payload(rest)
            } else {
                self.read_header(rest)
            };
            pos = pos.saturating_add(used);
            self.core.consumed = self.core.consumed.saturating_add(used as u64);
            if used == 0 && !matches!(self.core.phase, Phase::Closed(_)) {
                break;
            }
        }
        pos
    }

    fn read_header(&mut self, rest: &[u8]) -> usize {
        let c = &mut self.core;
        if c.header_len == 0 {
            c.frame_start = c.consumed;
        }
        let mut used = 0;
        loop {
            let have = c.header.get(..c.header_len).unwrap_or(&[]);
            match decode_header(have) {
                Err(e) => {
                    let at = c.frame_start.saturating_add(e.offset);
                    c.fail(WsError::new(e.kind, at));
                    return used;
                }
                Ok(Status::Partial { needed }) => {
                    let avail = rest.get(used..).unwrap_or(&[]);
                    let room = MAX_HEADER_LEN.saturating_sub(c.header_len);
                    let n = needed.min(avail.len()).min(room);
                    if n == 0 {
                        return used;
                    }
                    let end = c.header_len + n;
                    if let (Some(dest), Some(src)) =
                        (c.header.get_mut(c.header_len..end), avail.get(..n))
                    {
                        dest.copy_from_slice(src);
                    }
                    c.header_len = end;
                    used += n;
                }
                Ok(Status::Complete((header, header_len))) => {
                    c.header_len = 0;
                    let payload_start = c.frame_start.saturating_add(header_len as u64);
                    self.begin_frame(header, payload_start);
                    return used;
                }
            }
        }
    }

    fn begin_frame(&mut self, header: FrameHeader, payload_start: u64) {
        let limit = self.message_limit();
        let c = &mut self.core;
        let start = c.frame_start;
        let at = |e: WsError| WsError::new(e.kind, start.saturating_add(e.offset));
        if let Err(e) = check_mask(&header, c.role) {
            return c.fail(at(e));
        }
        let len = match check_frame_len(&header, c.config.max_frame_len as u64) {
            Ok(len) => len,
            Err(e) => return c.fail(at(e)),
        };
        match header.opcode {
            Opcode::Continuation => {
                if !matches!(c.assembly, Assembly::Open { .. }) {
                    return c.fail(WsError::new(WsErrorKind::UnexpectedContinuation, start));
                }
            }
            Opcode::Text | Opcode::Binary => {
                if !matches!(c.assembly, Assembly::Idle) {
                    return c.fail(WsError::new(WsErrorKind::ExpectedContinuation, start));
                }
                c.utf8.reset();
                c.message_start = payload_start;
                c.assembly = Assembly::Open {
                    text: header.opcode == Opcode::Text,
                    len: 0,
                    fragmented: !header.fin,
                };
            }
            Opcode::Close | Opcode::Ping | Opcode::Pong => {}
        }
        if let Assembly::Open { len: so_far, .. } = c.assembly {
            if !header.opcode.is_control() {
                let total = so_far.checked_add(len);
                if total.is_none_or(|t| t > limit) {
                    let kind = WsErrorKind::MessageTooLarge {
                        len: (so_far as u64).saturating_add(len as u64),
                        limit: limit as u64,
                    };
                    return c.fail(WsError::new(kind, start.saturating_add(1)));
                }
            }
        }
        c.frame = Some(InFrame {
            opcode: header.opcode,
            fin: header.fin,
            mask: header.mask,
            remaining: len,
            done: 0,
            payload_start,
        });
        if len == 0 {
            self.end_frame();
        }
    }

    /// The largest message the configuration and the reassembly storage allow.
    fn message_limit(&self) -> usize {
        self.core.config.max_message_len.min(self.rx.max_len())
    }

    fn read_payload(&mut self, rest: &[u8]) -> usize {
        let limit = self.message_limit();
        let WsConnection { rx, core: c } = self;
        let Some(mut frame) = c.frame else {
            return 0;
        };
        let n = frame.remaining.min(rest.len());
        let chunk = rest.get(..n).unwrap_or(&[]);
        if frame.opcode.is_control() {
            let end = frame.done.saturating_add(n);
            if let Some(dest) = c.ctrl.get_mut(frame.done..end) {
                dest.copy_from_slice(chunk);
                if let Some(mask) = frame.mask {
                    apply_mask(dest, mask, frame.done);
                }
            }
        } else {
            let Assembly::Open {
                text,
                len,
                fragmented,
            } = c.assembly
            else {
                return 0;
            };
            let end = len.saturating_add(n);
            let too_large = WsError::new(
                WsErrorKind::MessageTooLarge {
                    len: end as u64,
                    limit: limit as u64,
                },
                c.frame_start.saturating_add(1),
            );
            if !rx.grow_to(end, limit) {
                c.fail(too_large);
                return 0;
            }
            let Some(dest) = rx.bytes_mut().get_mut(len..end) else {
                c.fail(too_large);
                return 0;
            };
            dest.copy_from_slice(chunk);
            if let Some(mask) = frame.mask {
                apply_mask(dest, mask, frame.done);
            }
            if text && fragmented {
                let fed_before = c.utf8.fed();
                if let Err(e) = c.utf8.feed(dest) {
                    // The bad sequence may have begun before this chunk (the validator keeps
                    // up to three bytes of an unfinished code point): count back from the
                    // chunk, so the offset does not depend on how the transport split the
                    // bytes; a sequence begun in an earlier frame is reported at this
                    // frame's first payload byte.
                    let chunk_start = frame.payload_start.saturating_add(frame.done as u64);
                    let at = if e.offset >= fed_before {
                        chunk_start.saturating_add(e.offset - fed_before)
                    } else {
                        chunk_start
                            .saturating_sub(fed_before - e.offset)
                            .max(frame.payload_start)
                    };
                    c.fail(WsError::new(WsErrorKind::InvalidUtf8, at));
                    return n;
                }
            }
            c.assembly = Assembly::Open {
                text,
                len: end,
                fragmented,
            };
        }
        frame.done = frame.done.saturating_add(n);
        frame.remaining -= n;
        c.frame = Some(frame);
        if frame.remaining == 0 {
            self.end_frame();
        }
        n
    }

    fn end_frame(&mut self) {
        let c = &mut self.core;
        let Some(frame) = c.frame.take() else {
            return;
        };
        if frame.opcode.is_control() {
            c.control_frame(&frame);
            return;
        }
        if !frame.fin {
            return;
        }
        if let Assembly::Open {
            text,
            len,
            fragmented,
        } = c.assembly
        {
            if text && fragmented {
                if let Err(e) = c.utf8.finish() {
                    // As in `read_payload`: within this frame's payload.
                    let back = c.utf8.fed().saturating_sub(e.offset);
                    let at = frame
                        .payload_start
                        .saturating_add(frame.done as u64)
                        .saturating_sub(back)
                        .max(frame.payload_start);
                    return c.fail(WsError::new(WsErrorKind::InvalidUtf8, at));
                }
            }
            c.assembly = Assembly::Ready { text, len };
        }
    }
}

impl<T: Storage> Core<T> {
    fn control_frame(&mut self, frame: &InFrame) {
        let mut payload = [0u8; 125];
        let n = frame.done.min(payload.len());
        payload[..n].copy_from_slice(self.ctrl.get(..n).unwrap_or(&[]));
        let payload = &payload[..n];
        match frame.opcode {
            Opcode::Ping => {
                if matches!(self.phase, Phase::Open) {
                    self.pong_buf[..n].copy_from_slice(payload);
                    self.pong_len = Some(n);
                    self.flush_control();
                }
            }
            // Any input already counts as a sign of life for the keep-alive.
            Opcode::Pong => {}
            Opcode::Close => match parse_close_payload(payload) {
                Err(e) => {
                    let at = frame.payload_start.saturating_add(e.offset);
                    self.fail(WsError::new(e.kind, at));
                }
                Ok(close) => {
                    let reason = close.reason.as_bytes();
                    let r = reason.len().min(self.peer_reason.len());
                    self.peer_reason[..r].copy_from_slice(reason.get(..r).unwrap_or(&[]));
                    self.peer_reason_len = r;
                    self.peer_code = close.code;
                    self.peer_close_seen = true;
                    self.peer_closed(close.code);
                }
            },
            Opcode::Continuation | Opcode::Text | Opcode::Binary => {}
        }
    }
}
