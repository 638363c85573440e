//! The WARP machine as the endpoint drives it: the [`Machine`] both roles implement, and the
//! pump that moves their queued envelopes into the WebSocket transmit storage.

use super::core::{internal_error, State};
use crate::connection::{
    ClientConnection, HandleError, ServerConnection, Storage as ConnStorage, Transmit,
};
use crate::ws::{Storage as Buffer, WsConnection, WsState, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};

/// Room kept free in the transmit storage for control frames (a pong and a ping, masked).
pub(super) const CONTROL_RESERVE: usize = 2 * (MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD);

/// What the endpoint needs of a WARP connection machine, whatever its role.
pub(crate) trait Machine {
    fn poll_transmit(&mut self) -> Option<Transmit<'_>>;
    fn queued_frames(&self) -> usize;
    fn queued_bytes(&self) -> usize;
    fn is_open(&self) -> bool;
    fn is_closed(&self) -> bool;
    fn close(&mut self);
    fn handle_binary_frame(&mut self, len: usize) -> HandleError;
}

macro_rules! machine {
    ($ty:ident) => {
        impl<S: ConnStorage> Machine for $ty<S> {
            fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
                $ty::poll_transmit(self)
            }
            fn queued_frames(&self) -> usize {
                $ty::queued_frames(self)
            }
            fn queued_bytes(&self) -> usize {
                $ty::queued_bytes(self)
            }
            fn is_open(&self) -> bool {
                $ty::is_open(self)
            }
            fn is_closed(&self) -> bool {
                $ty::is_closed(self)
            }
            fn close(&mut self) {
                $ty::close(self)
            }
            fn handle_binary_frame(&mut self, len: usize) -> HandleError {
                $ty::handle_binary_frame(self, len)
            }
        }
    };
}

machine!(ServerConnection);
machine!(ClientConnection);

/// Moves queued envelopes from the WARP machine into the WebSocket transmit storage while they
/// surely fit, and its close into a close frame. Once the WebSocket no longer sends, the
/// machine is closed and what it queued is dropped.
pub(super) fn pump<R: Buffer, T: Buffer, M: Machine>(
    ws: &mut WsConnection<R, T>,
    st: &mut State,
    conn: &mut M,
) {
    if ws.state() != WsState::Open {
        if conn.is_open() {
            conn.close();
        }
        while conn.poll_transmit().is_some() {}
        return;
    }
    loop {
        if conn.queued_frames() > 0 {
            // The frames queued, all together, are an upper bound of the next one.
            let free = st
                .tx_capacity
                .saturating_sub(ws.pending_transmit().len())
                .saturating_sub(CONTROL_RESERVE);
            if conn.queued_bytes().saturating_add(MAX_HEADER_LEN) > free {
                return;
            }
        } else if conn.is_open() || conn.is_closed() {
            return;
        }
        match conn.poll_transmit() {
            Some(Transmit::Frame(text)) => {
                let sent = ws.send_text_with(text.len(), |buf| match buf.get_mut(..text.len()) {
                    Some(dest) => {
                        dest.copy_from_slice(text.as_bytes());
                        Ok(text.len())
                    }
                    None => Err(()),
                });
                if sent.is_err() {
                    // Cannot happen given the room checked above; never drop a frame
                    // silently: end the connection.
                    if st.cause.is_none() {
                        st.cause = Some(internal_error());
                    }
                    conn.close();
                }
            }
            Some(Transmit::Close(close)) => {
                let (code, reason) = st.local_close(close);
                let _ = ws.close(st.now, code, reason);
                return;
            }
            None => return,
        }
    }
}
