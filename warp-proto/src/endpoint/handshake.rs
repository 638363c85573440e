//! The opening handshake of both roles: reading the HTTP head into the receive storage,
//! writing the answer (or the request) into the transmit storage, and starting the WebSocket.

use super::core::{internal_error, Core, Phase};
use super::error::CloseReason;
use super::machine::Machine;
use super::MIN_TRANSMIT_LEN;
use crate::ws::{self, HandshakeError, Instant, Storage as Buffer, WsConnection};

/// Runs `write` on the transmit storage, growing it (within `cap`) when it asks for more.
pub(super) fn write_into<T: Buffer>(
    tx: &mut T,
    cap: usize,
    write: impl Fn(&mut [u8]) -> Result<usize, HandshakeError>,
) -> Result<usize, HandshakeError> {
    let _ = tx.grow_to(MIN_TRANSMIT_LEN.min(cap), cap);
    match write(tx.bytes_mut()) {
        Err(HandshakeError::BufferTooSmall { needed }) if tx.grow_to(needed, cap) => {
            write(tx.bytes_mut())
        }
        other => other,
    }
}

/// Copies `bytes` to the end of the `buffered` bytes of a head buffer (at most `limit` in
/// all); returns how many were copied.
fn buffer_head<R: Buffer>(rx: &mut R, buffered: usize, limit: usize, bytes: &[u8]) -> usize {
    let want = limit.saturating_sub(buffered).min(bytes.len());
    let _ = rx.grow_to(buffered.saturating_add(want), limit);
    let take = rx.bytes().len().saturating_sub(buffered).min(want);
    let end = buffered + take;
    if let (Some(dest), Some(src)) = (rx.bytes_mut().get_mut(buffered..end), bytes.get(..take)) {
        dest.copy_from_slice(src);
    }
    take
}

/// Writes the HTTP refusal for a failed handshake into `tx`; returns its length (0 if even
/// a bodiless refusal does not fit).
fn refusal<T: Buffer>(tx: &mut T, cap: usize, e: &HandshakeError) -> usize {
    write_into(tx, cap, |out| ws::write_error_response(e, out))
        .or_else(|_| {
            write_into(tx, cap, |out| {
                ws::write_reject_response(e.status_hint(), "", out)
            })
        })
        .unwrap_or(0)
}

impl<R: Buffer, T: Buffer> Core<R, T> {
    pub(super) fn server_head<M: Machine>(&mut self, conn: &mut M, bytes: &[u8]) -> usize {
        let Phase::ServerHead { rx, tx, buffered } = &mut self.wire else {
            return 0;
        };
        let cap = self.st.tx_capacity;
        let limit = rx.max_len().min(self.st.config.max_head_len);
        let start = *buffered;
        let take = buffer_head(rx, start, limit, bytes);
        let total = start + take;
        let hs = ws::ServerHandshake::new().with_max_head_len(limit);
        let head = rx.bytes().get(..total).unwrap_or(&[]);
        let (used, head_len, written, error) = match hs.parse_request(head) {
            Ok(ws::Status::Partial { .. }) => {
                *buffered = total;
                if take < bytes.len() {
                    // Cannot happen: a head that fills the limit is an error, not partial.
                    self.end(
                        conn,
                        CloseReason::Handshake(HandshakeError::HeadTooLarge { limit }),
                    );
                    return bytes.len();
                }
                return take;
            }
            Ok(ws::Status::Complete(upgrade)) => {
                let used = upgrade.consumed.saturating_sub(start);
                self.st.protocol = upgrade.protocol.map(|_| ws::WARP_SUBPROTOCOL);
                match write_into(tx, cap, |out| upgrade.write_response(out)) {
                    Ok(n) => (used, upgrade.consumed, n, None),
                    Err(e) => (bytes.len(), 0, refusal(tx, cap, &e), Some(e)),
                }
            }
            Err(e) => (bytes.len(), 0, refusal(tx, cap, &e), Some(e)),
        };
        self.st.connected_pending = error.is_none();
        if let Phase::ServerHead { rx, tx, .. } = core::mem::replace(&mut self.wire, Phase::Empty) {
            self.wire = Phase::Respond {
                rx,
                tx,
                head: head_len,
                len: written,
                sent: false,
                error,
            };
        }
        used
    }

    pub(super) fn client_head<M: Machine>(
        &mut self,
        conn: &mut M,
        now: Instant,
        bytes: &[u8],
    ) -> usize {
        let Phase::ClientHead {
            rx,
            buffered,
            nonce,
            ..
        } = &mut self.wire
        else {
            return 0;
        };
        let limit = rx.max_len().min(self.st.config.max_head_len);
        let start = *buffered;
        let take = buffer_head(rx, start, limit, bytes);
        let total = start + take;
        let hs = ws::ClientHandshake::new("", "", *nonce).with_max_head_len(limit);
        let head = rx.bytes().get(..total).unwrap_or(&[]);
        match hs.parse_response(head) {
            Ok(ws::Status::Partial { .. }) => {
                *buffered = total;
                if take < bytes.len() {
                    let e = HandshakeError::HeadTooLarge { limit };
                    self.end(conn, CloseReason::Handshake(e));
                    return bytes.len();
                }
                take
            }
            Ok(ws::Status::Complete(answer)) => {
                let used = answer.consumed.saturating_sub(start);
                self.st.protocol = answer.protocol;
                let Phase::ClientHead {
                    rx, tx, mask_seed, ..
                } = core::mem::replace(&mut self.wire, Phase::Empty)
                else {
                    return used;
                };
                match WsConnection::client(now, self.st.config.ws, mask_seed, rx, tx) {
                    Ok(ws) => {
                        self.wire = Phase::Open(ws);
                        self.st.connected_pending = true;
                    }
                    Err(_) => self.end(conn, internal_error()),
                }
                used
            }
            Err(e) => {
                self.end(conn, CloseReason::Handshake(e));
                bytes.len()
            }
        }
    }

    /// Finishes the server's answer once it has been handed out: the WebSocket starts, or
    /// (after a refusal) the endpoint ends.
    pub(super) fn settle<M: Machine>(&mut self, conn: &mut M) {
        if !matches!(self.wire, Phase::Respond { sent: true, .. }) {
            return;
        }
        if let Phase::Respond { rx, tx, error, .. } =
            core::mem::replace(&mut self.wire, Phase::Empty)
        {
            match error {
                None => match WsConnection::server(self.st.now, self.st.config.ws, rx, tx) {
                    Ok(ws) => self.wire = Phase::Open(ws),
                    Err(_) => self.end(conn, internal_error()),
                },
                Some(e) => {
                    self.wire = Phase::Done { rx, tx };
                    self.end(conn, CloseReason::Handshake(e));
                }
            }
        }
    }
}

impl<R: Buffer, T: Buffer> Phase<R, T> {
    /// The request target of the upgrade request being answered.
    pub(crate) fn upgrade_path(&self) -> &str {
        let Phase::Respond { rx, head, .. } = self else {
            return "";
        };
        let head = rx.bytes().get(..*head).unwrap_or(&[]);
        let hs = ws::ServerHandshake::new().with_max_head_len(usize::MAX);
        match hs.parse_request(head) {
            Ok(ws::Status::Complete(upgrade)) => upgrade.path,
            _ => "",
        }
    }
}
