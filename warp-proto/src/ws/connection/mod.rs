//! [`WsConnection`]: one WebSocket connection after the opening handshake, as a state machine.

mod config;
mod inbound;
mod mask;
mod outbound;
mod outcome;

pub use config::WsConfig;
pub use outcome::{
    CloseInitiator, CloseReason, ConfigError, Message, SendError, SendWithError, WsState,
};

use self::mask::MaskKeys;
use super::close::{CloseCode, CloseFrame, MAX_CLOSE_REASON_LEN};
use super::error::{EncodeError, WsError, WsErrorKind};
use super::frame::{
    apply_mask, header_len, FrameHeader, Opcode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
};
use super::utf8::Utf8Validator;
use super::{Instant, Role, Storage};

/// The smallest transmit storage a connection accepts: one full control frame.
const MIN_TRANSMIT_LEN: usize = MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    CloseSent { since: Instant },
    Closed(CloseReason),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Assembly {
    /// No message in progress.
    Idle,
    /// A message is being received; `len` bytes are in the reassembly storage.
    Open {
        text: bool,
        len: usize,
        fragmented: bool,
    },
    /// A complete message waits for `poll_message`.
    Ready { text: bool, len: usize },
    /// `poll_message` handed the message out; the storage is reused on the next input.
    Taken,
}

/// The frame whose payload is being received.
#[derive(Copy, Clone, Debug)]
struct InFrame {
    opcode: Opcode,
    fin: bool,
    mask: Option<[u8; 4]>,
    remaining: usize,
    done: usize,
    payload_start: u64,
}

/// Everything but the reassembly storage (kept apart so a message borrowed from it can be
/// returned while the rest of the state changes).
#[derive(Debug)]
struct Core<T> {
    role: Role,
    config: WsConfig,
    phase: Phase,
    consumed: u64,
    header: [u8; MAX_HEADER_LEN],
    header_len: usize,
    frame_start: u64,
    frame: Option<InFrame>,
    assembly: Assembly,
    message_start: u64,
    utf8: Utf8Validator,
    ctrl: [u8; MAX_CONTROL_PAYLOAD],
    peer_close_seen: bool,
    peer_code: Option<CloseCode>,
    peer_reason: [u8; MAX_CLOSE_REASON_LEN],
    peer_reason_len: usize,
    tx: T,
    tx_start: usize,
    tx_end: usize,
    masks: MaskKeys,
    pong_buf: [u8; MAX_CONTROL_PAYLOAD],
    pong_len: Option<usize>,
    ping_due: bool,
    close_buf: [u8; MAX_CONTROL_PAYLOAD],
    close_len: Option<usize>,
    last_input: Instant,
    last_ping: Instant,
}

impl<T> Core<T> {
    fn reset_assembly(&mut self) {
        self.assembly = Assembly::Idle;
        self.utf8.reset();
    }
}

/// One WebSocket connection after the opening handshake: a deterministic state machine that
/// owns no socket and reads no clock.
///
/// `R` is the reassembly storage (received messages are built there, so it bounds their size),
/// `T` the transmit storage (frames to send queue there). Both are the caller's: fixed arrays
/// or slices without an allocator, `Vec<u8>` growing up to the configured limits with one.
///
/// ## The run loop
///
/// 1. Feed received bytes with [`handle_input`](Self::handle_input); it returns how many it
///    consumed. It stops early when a complete message waits to be taken, or when a reply
///    (pong, close) waits for room in the transmit storage: then drain the outputs and feed the
///    unconsumed rest again.
/// 2. Drain the outputs: [`poll_message`](Self::poll_message) until `None`,
///    [`poll_transmit`](Self::poll_transmit) until `None` (write those bytes to the transport),
///    then [`poll_closed`](Self::poll_closed) (once it is `Some`, close the transport) and
///    [`poll_timeout`](Self::poll_timeout) (call [`handle_timeout`](Self::handle_timeout) when
///    that instant comes).
/// 3. Send with [`send_text`](Self::send_text), [`send_text_with`](Self::send_text_with),
///    [`send_binary`](Self::send_binary), [`send_ping`](Self::send_ping) and
///    [`close`](Self::close); each queues bytes to drain with `poll_transmit`.
///
/// A protocol violation by the peer is never returned as an error: the connection sends a close
/// frame with the matching code (1002, 1007 or 1009), stops reading, and `poll_closed` reports
/// [`CloseReason::ProtocolError`] once that frame has been transmitted.
///
/// ```
/// use warp_proto::ws::{Instant, Message, WsConfig, WsConnection};
///
/// let now = Instant::from_millis(0);
/// let mut server =
///     WsConnection::server(now, WsConfig::default(), [0u8; 256], [0u8; 256]).unwrap();
/// // RFC 6455 5.7: a fragmented unmasked text... here masked, as from a client: "Hel", "lo".
/// let wire = [
///     0x01, 0x83, 0, 0, 0, 0, b'H', b'e', b'l', // text, not final
///     0x89, 0x80, 1, 2, 3, 4, // a ping in between, empty
///     0x80, 0x82, 0, 0, 0, 0, b'l', b'o', // continuation, final
/// ];
/// assert_eq!(server.handle_input(now, &wire), wire.len());
/// assert_eq!(server.poll_message(), Some(Message::Text("Hello")));
/// assert_eq!(server.poll_transmit(), Some(&[0x8A, 0x00][..])); // the automatic pong
/// assert_eq!(server.poll_transmit(), None);
/// ```
#[derive(Debug)]
pub struct WsConnection<R, T> {
    rx: R,
    core: Core<T>,
}

impl<R: Storage, T: Storage> WsConnection<R, T> {
    /// The server end of a connection whose handshake completed at `now`.
    pub fn server(now: Instant, config: WsConfig, rx: R, tx: T) -> Result<Self, ConfigError> {
        Self::new(Role::Server, now, config, [0; 16], rx, tx)
    }

    /// The client end of a connection whose handshake completed at `now`. `mask_seed` must be
    /// 16 random bytes: the masking key of every frame sent is derived from it.
    pub fn client(
        now: Instant,
        config: WsConfig,
        mask_seed: [u8; 16],
        rx: R,
        tx: T,
    ) -> Result<Self, ConfigError> {
        Self::new(Role::Client, now, config, mask_seed, rx, tx)
    }

    fn new(
        role: Role,
        now: Instant,
        config: WsConfig,
        mask_seed: [u8; 16],
        rx: R,
        tx: T,
    ) -> Result<Self, ConfigError> {
        let capacity = tx.max_len().min(config.max_transmit_len);
        if capacity < MIN_TRANSMIT_LEN {
            return Err(ConfigError::TransmitStorageTooSmall {
                needed: MIN_TRANSMIT_LEN,
                capacity,
            });
        }
        Ok(WsConnection {
            rx,
            core: Core {
                role,
                config,
                phase: Phase::Open,
                consumed: 0,
                header: [0; MAX_HEADER_LEN],
                header_len: 0,
                frame_start: 0,
                frame: None,
                assembly: Assembly::Idle,
                message_start: 0,
                utf8: Utf8Validator::new(),
                ctrl: [0; MAX_CONTROL_PAYLOAD],
                peer_close_seen: false,
                peer_code: None,
                peer_reason: [0; MAX_CLOSE_REASON_LEN],
                peer_reason_len: 0,
                tx,
                tx_start: 0,
                tx_end: 0,
                masks: MaskKeys::new(mask_seed),
                pong_buf: [0; MAX_CONTROL_PAYLOAD],
                pong_len: None,
                ping_due: false,
                close_buf: [0; MAX_CONTROL_PAYLOAD],
                close_len: None,
                last_input: now,
                last_ping: now,
            },
        })
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.core.role
    }

    /// The configuration in force.
    pub fn config(&self) -> &WsConfig {
        &self.core.config
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> WsState {
        match self.core.phase {
            Phase::Open => WsState::Open,
            Phase::CloseSent { .. } => WsState::Closing,
            Phase::Closed(_) if self.poll_closed().is_some() => WsState::Closed,
            Phase::Closed(_) => WsState::Closing,
        }
    }

    /// Total bytes consumed by [`handle_input`](Self::handle_input) so far (the base of the
    /// offsets in [`WsError`]).
    pub fn bytes_received(&self) -> u64 {
        self.core.consumed
    }

    /// Feeds bytes received from the transport at `now`; returns how many were consumed.
    ///
    /// Fewer than `bytes.len()` are consumed only while a complete message waits for
    /// [`poll_message`](Self::poll_message) or a pong/close reply waits for room in the
    /// transmit storage ([`poll_transmit`](Self::poll_transmit)); feed the rest after draining
    /// those. Once the connection is closing because of a received close frame or a protocol
    /// error, input is consumed and ignored. Partial frames are kept internally (headers) or
    /// streamed into the reassembly storage (payloads): the caller need not keep them.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> usize {
        if !bytes.is_empty() && !matches!(self.core.phase, Phase::Closed(_)) {
            self.core.last_input = self.core.last_input.max(now);
        }
        self.receive(bytes)
    }

    /// Tells the connection that `now` has come: sends a keep-alive ping, or ends the connection
    /// on an idle or close timeout. Call it when [`poll_timeout`](Self::poll_timeout)'s instant
    /// has passed; calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let c = &mut self.core;
        match c.phase {
            Phase::Open => {
                if let Some(idle) = c.config.idle_timeout {
                    if now >= c.last_input.saturating_add(idle) {
                        return c.abandon(CloseReason::TimedOut);
                    }
                }
                if let Some(interval) = c.config.ping_interval {
                    if !c.ping_due && now >= c.last_input.max(c.last_ping).saturating_add(interval)
                    {
                        c.ping_due = true;
                        c.last_ping = now;
                        c.flush_control();
                    }
                }
            }
            Phase::CloseSent { since } => {
                if let Some(timeout) = c.config.close_timeout {
                    if now >= since.saturating_add(timeout) {
                        c.abandon(CloseReason::TimedOut);
                    }
                }
            }
            Phase::Closed(_) => {}
        }
    }

    /// Tells the connection the transport ended (end of stream or error). Without a completed
    /// close handshake this is [`CloseReason::Abnormal`]; anything still queued is dropped.
    pub fn handle_transport_closed(&mut self, now: Instant) {
        let _ = now;
        let reason = match self.core.phase {
            Phase::Closed(reason) => reason,
            Phase::Open | Phase::CloseSent { .. } => CloseReason::Abnormal,
        };
        self.core.abandon(reason);
    }

    /// The next complete message, borrowed from the reassembly storage until the next call
    /// that takes `&mut self`.
    ///
    /// Poll after every [`handle_input`](Self::handle_input) until `None`. A text message is
    /// checked for UTF-8 here; if it is invalid the connection fails with 1007 and this returns
    /// `None` (see [`poll_closed`](Self::poll_closed)).
    pub fn poll_message(&mut self) -> Option<Message<'_>> {
        let Assembly::Ready { text, len } = self.core.assembly else {
            return None;
        };
        self.core.assembly = Assembly::Taken;
        let bytes = self.rx.bytes().get(..len).unwrap_or(&[]);
        if !text {
            return Some(Message::Binary(bytes));
        }
        match core::str::from_utf8(bytes) {
            Ok(text) => Some(Message::Text(text)),
            Err(e) => {
                let at = self
                    .core
                    .message_start
                    .saturating_add(e.valid_up_to() as u64);
                self.core.fail(WsError::new(WsErrorKind::InvalidUtf8, at));
                None
            }
        }
    }

    /// All bytes queued for the transport, handed out at once; they stay valid until the next
    /// call that takes `&mut self` and count as transmitted. `None` when nothing is queued.
    ///
    /// Poll after every `handle_input`, `handle_timeout`, `poll_message` and send call until
    /// `None`. For partial writes use [`pending_transmit`](Self::pending_transmit) and
    /// [`advance_transmit`](Self::advance_transmit) instead.
    pub fn poll_transmit(&mut self) -> Option<&[u8]> {
        self.core.flush_control();
        let c = &mut self.core;
        if c.tx_start == c.tx_end {
            return None;
        }
        let (start, end) = (c.tx_start, c.tx_end);
        c.tx_start = end;
        c.tx.bytes().get(start..end)
    }

    /// The bytes queued for the transport, without taking them.
    pub fn pending_transmit(&self) -> &[u8] {
        self.core.pending_tx()
    }

    /// Marks the first `n` bytes of [`pending_transmit`](Self::pending_transmit) as written.
    pub fn advance_transmit(&mut self, n: usize) {
        let c = &mut self.core;
        c.tx_start = c.tx_start.saturating_add(n).min(c.tx_end);
        c.flush_control();
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout) has work to do, if
    /// any. Poll again after every call that takes `&mut self`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let c = &self.core;
        match c.phase {
            Phase::Open => {
                let idle = c
                    .config
                    .idle_timeout
                    .map(|d| c.last_input.saturating_add(d));
                let ping = match (c.config.ping_interval, c.ping_due) {
                    (Some(interval), false) => {
                        Some(c.last_input.max(c.last_ping).saturating_add(interval))
                    }
                    _ => None,
                };
                match (idle, ping) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            Phase::CloseSent { since } => c.config.close_timeout.map(|d| since.saturating_add(d)),
            Phase::Closed(_) => None,
        }
    }

    /// Why the connection ended, once it has and everything queued has been transmitted; then
    /// the driver closes the transport. `None` while it lives.
    pub fn poll_closed(&self) -> Option<CloseReason> {
        let c = &self.core;
        match c.phase {
            Phase::Closed(reason) if !c.control_waiting() && c.tx_start == c.tx_end => Some(reason),
            _ => None,
        }
    }

    /// The code and reason of the close frame the peer sent, if it sent one.
    pub fn peer_close(&self) -> Option<CloseFrame<'_>> {
        let c = &self.core;
        if !c.peer_close_seen {
            return None;
        }
        let reason = c.peer_reason.get(..c.peer_reason_len).unwrap_or(&[]);
        Some(CloseFrame {
            code: c.peer_code,
            reason: core::str::from_utf8(reason).unwrap_or(""),
        })
    }

    /// Queues a text message (split per [`WsConfig::max_send_frame_len`]); all or nothing.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.core.send_data(Opcode::Text, text.as_bytes())
    }

    /// Queues a binary message (split per [`WsConfig::max_send_frame_len`]); all or nothing.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.core.send_data(Opcode::Binary, data)
    }

    /// Queues a text message that `write` encodes straight into the transmit storage: no copy.
    ///
    /// `write` gets room for at most `max_len` bytes (less if the transmit storage has less
    /// free) and returns how many it wrote; they must be UTF-8. A growable transmit storage is
    /// grown to fit `max_len`. The message goes out as one frame. On any error nothing is
    /// queued. Returns the length of the text.
    ///
    /// ```
    /// use warp_proto::ws::{Instant, SendError, WsConfig, WsConnection};
    ///
    /// let now = Instant::from_millis(0);
    /// let mut server =
    ///     WsConnection::server(now, WsConfig::default(), [0u8; 256], [0u8; 256]).unwrap();
    /// let n = server
    ///     .send_text_with(64, |buf| {
    ///         let text = b"@synced(node:a,lane:b)";
    ///         buf.get_mut(..text.len()).ok_or(())?.copy_from_slice(text);
    ///         Ok::<_, ()>(text.len())
    ///     })
    ///     .unwrap();
    /// assert_eq!(n, 22);
    /// assert_eq!(server.poll_transmit().unwrap(), b"\x81\x16@synced(node:a,lane:b)");
    /// ```
    pub fn send_text_with<E, F>(
        &mut self,
        max_len: usize,
        write: F,
    ) -> Result<usize, SendWithError<E>>
    where
        F: FnOnce(&mut [u8]) -> Result<usize, E>,
    {
        let c = &mut self.core;
        c.check_open()?;
        c.flush_control();
        let masked = c.role == Role::Client;
        let reserved = header_len(max_len as u64, masked);
        let want = reserved.saturating_add(max_len);
        // Grow or compact as far as possible; then use whatever room there is.
        let _ = c.tx_reserve(want);
        let available = c.tx.bytes().len().saturating_sub(c.tx_end);
        let room = max_len.min(available.saturating_sub(reserved));
        if room == 0 && max_len > 0 {
            return Err(SendError::WouldBlock {
                needed: want,
                available,
            }
            .into());
        }
        let mask = c.next_mask();
        let region = c.tx_reserve(reserved + room)?;
        let Some(body) = region.get_mut(reserved..) else {
            return Err(SendError::WouldBlock {
                needed: want,
                available,
            }
            .into());
        };
        let n = write(body).map_err(SendWithError::Write)?;
        if n > room {
            return Err(SendError::WriterOverrun {
                written: n,
                capacity: room,
            }
            .into());
        }
        let end = reserved + n;
        if let Err(e) = core::str::from_utf8(region.get(reserved..end).unwrap_or(&[])) {
            return Err(SendError::InvalidUtf8 {
                offset: e.valid_up_to(),
            }
            .into());
        }
        let header = FrameHeader {
            fin: true,
            opcode: Opcode::Text,
            mask,
            payload_len: n as u64,
        };
        let head = header.encoded_len();
        if head < reserved {
            region.copy_within(reserved..end, head);
        }
        header.encode(region).map_err(SendError::from)?;
        if let (Some(mask), Some(payload)) = (mask, region.get_mut(head..head + n)) {
            apply_mask(payload, mask, 0);
        }
        c.tx_end = c.tx_end.saturating_add(head + n);
        Ok(n)
    }

    /// Queues a ping with `payload` (at most 125 bytes). The peer's pong needs no action: any
    /// input already counts as a sign of life.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        let c = &mut self.core;
        c.check_open()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(EncodeError::ControlTooLong { len: payload.len() }.into());
        }
        c.flush_control();
        let needed = header_len(payload.len() as u64, c.role == Role::Client) + payload.len();
        c.tx_reserve(needed)?;
        let mask = c.next_mask();
        let region = c.tx_reserve(needed)?;
        let n = super::frame::encode_frame(region, true, Opcode::Ping, mask, payload)?;
        c.tx_end = c.tx_end.saturating_add(n);
        Ok(())
    }

    /// Starts the close handshake at `now`: queues a close frame with `code` (one that
    /// [`CloseCode::is_valid`]) and `reason` (at most 123 bytes). Messages still arrive until
    /// the peer's close frame does; then, or after [`WsConfig::close_timeout`],
    /// [`poll_closed`](Self::poll_closed) reports the end.
    pub fn close(&mut self, now: Instant, code: CloseCode, reason: &str) -> Result<(), SendError> {
        let c = &mut self.core;
        c.check_open()?;
        if !code.is_valid() {
            return Err(EncodeError::InvalidCloseCode(code.as_u16()).into());
        }
        if reason.len() > MAX_CLOSE_REASON_LEN {
            return Err(EncodeError::CloseReasonTooLong { len: reason.len() }.into());
        }
        c.queue_close(Some(code), reason);
        c.phase = Phase::CloseSent { since: now };
        Ok(())
    }

    /// Gives the storages back.
    pub fn into_storage(self) -> (R, T) {
        (self.rx, self.core.tx)
    }
}
