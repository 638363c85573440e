//! The WebSocket layer (RFC 6455), sans-IO: the opening handshake, frames, and a per-connection
//! state machine.
//!
//! Everything here works on byte slices the caller owns; nothing allocates, reads a clock or
//! touches a socket. Layers, from the bottom:
//!
//! - [`handshake`]: the HTTP/1.1 Upgrade exchange for both roles ([`ClientHandshake`],
//!   [`ServerHandshake`]), offering and accepting the `warp0` subprotocol by default.
//! - frames: [`decode_frame`] / [`decode_header`], [`encode_frame`], [`apply_mask`];
//!   [`CloseCode`] and close payloads; the incremental [`Utf8Validator`].
//! - [`WsConnection`]: one connection after the handshake. It reassembles fragmented
//!   messages into a caller-lent [`Storage`], answers pings, runs the close handshake, enforces
//!   size limits and keeps keep-alive deadlines from the time the caller passes in.
//!
//! WARP puts one envelope in each text message (see `WARP.md` section 1), so a received text
//! message is handed out as a `&str` borrowed from the reassembly storage, and an outgoing one
//! can be written straight into the transmit storage ([`WsConnection::send_text_with`]).
//!
//! ```
//! use warp_proto::ws::{
//!     ClientHandshake, Instant, Message, ServerHandshake, Status, WsConfig, WsConnection,
//! };
//!
//! // Handshake.
//! let client_hs = ClientHandshake::new("localhost", "/", [7; 16]);
//! let mut wire = [0u8; 512];
//! let n = client_hs.write_request(&mut wire).unwrap();
//! let Status::Complete(upgrade) = ServerHandshake::new().parse_request(&wire[..n]).unwrap()
//! else {
//!     panic!("incomplete")
//! };
//! let mut answer = [0u8; 256];
//! let m = upgrade.write_response(&mut answer).unwrap();
//! let Status::Complete(accepted) = client_hs.parse_response(&answer[..m]).unwrap() else {
//!     panic!("incomplete")
//! };
//! assert_eq!(accepted.protocol, Some("warp0"));
//!
//! // Frames: fixed buffers, no allocator.
//! let now = Instant::from_millis(0);
//! let mut client =
//!     WsConnection::client(now, WsConfig::default(), [1; 16], [0u8; 1024], [0u8; 1024])
//!         .unwrap();
//! let mut server =
//!     WsConnection::server(now, WsConfig::default(), [0u8; 1024], [0u8; 1024]).unwrap();
//! client.send_text("@event(node:a,lane:b)1").unwrap();
//! let bytes = client.poll_transmit().unwrap();
//! let mut buf = [0u8; 64];
//! buf[..bytes.len()].copy_from_slice(bytes);
//! let len = bytes.len();
//! assert_eq!(server.handle_input(now, &buf[..len]), len);
//! assert_eq!(server.poll_message(), Some(Message::Text("@event(node:a,lane:b)1")));
//! ```

pub mod handshake;

mod buffer;
mod close;
mod connection;
mod error;
mod frame;
mod time;
mod utf8;

pub use buffer::Storage;
pub use close::{
    encode_close_payload, parse_close_payload, CloseCode, CloseFrame, MAX_CLOSE_REASON_LEN,
};
pub use connection::{
    CloseInitiator, CloseReason, ConfigError, Message, SendError, SendWithError, WsConfig,
    WsConnection, WsState,
};
pub use error::{EncodeError, WsError, WsErrorKind};
pub use frame::{
    apply_mask, decode_frame, decode_header, encode_frame, header_len, Frame, FrameHeader, Opcode,
    MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
};
pub use handshake::{
    write_accept_response, write_error_response, write_reject_response, AcceptKey, ClientHandshake,
    Field, HandshakeError, HandshakeResponse, ServerHandshake, UpgradeRequest, WebSocketKey,
    WARP_SUBPROTOCOL,
};
pub use time::Instant;
pub use utf8::{Utf8Error, Utf8Validator};

/// Which end of the connection this is. It decides the masking rules: clients mask what they
/// send, servers must receive masked frames and send unmasked ones.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

/// The result of a decoder given the bytes received so far: complete, or in need of more.
///
/// "Need more bytes" is never an error: feed more input and decode again.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Status<T> {
    /// Decoded.
    Complete(T),
    /// The input ends too early.
    Partial {
        /// At least this many more bytes are needed (1 when unknown).
        needed: usize,
    },
}

impl<T> Status<T> {
    /// The complete value, if any.
    pub fn complete(self) -> Option<T> {
        match self {
            Status::Complete(value) => Some(value),
            Status::Partial { .. } => None,
        }
    }

    /// Whether more input is needed.
    pub const fn is_partial(&self) -> bool {
        matches!(self, Status::Partial { .. })
    }
}
