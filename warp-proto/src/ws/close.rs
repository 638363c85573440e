//! Close codes and close frame payloads (RFC 6455 sections 5.5.1 and 7.4).

use core::fmt;

use super::error::{EncodeError, WsError, WsErrorKind};

/// The longest close reason: a control payload is at most 125 bytes, two of them the code.
pub const MAX_CLOSE_REASON_LEN: usize = 123;

/// A WebSocket close status code.
///
/// Any `u16` can be held; [`CloseCode::is_valid`] tells whether it may appear in a close
/// frame. Valid: 1000-1003, 1007-1014 (1012-1014 were registered with IANA after RFC 6455),
/// and 3000-4999 (registered and private use). Invalid: below 1000, 1004-1006, 1015, 1016-2999
/// and 5000 and above.
///
/// ```
/// use warp_proto::ws::CloseCode;
///
/// assert!(CloseCode::NORMAL.is_valid());
/// assert!(CloseCode::new(4000).is_valid());
/// assert!(!CloseCode::NO_STATUS.is_valid()); // 1005 is only ever reported, never sent
/// assert!(!CloseCode::new(999).is_valid());
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present (reported locally, never sent).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection closed without a close frame (reported locally, never sent).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: data inconsistent with the message type (bad UTF-8 in a text message).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: policy violation.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1015: TLS handshake failure (reported locally, never sent).
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// The code `code`, valid or not.
    pub const fn new(code: u16) -> Self {
        CloseCode(code)
    }

    /// The numeric value.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether this code may appear in a close frame (see the type docs).
    pub const fn is_valid(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The content of a received close frame.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    /// The status code, if the payload had one.
    pub code: Option<CloseCode>,
    /// The reason (empty when absent).
    pub reason: &'a str,
}

/// Reads a close frame payload (already unmasked): empty, or a valid code and a UTF-8 reason.
///
/// Error offsets count from the start of the payload.
///
/// ```
/// use warp_proto::ws::{parse_close_payload, CloseCode, WsErrorKind};
///
/// let frame = parse_close_payload(b"\x03\xe8bye").unwrap();
/// assert_eq!(frame.code, Some(CloseCode::NORMAL));
/// assert_eq!(frame.reason, "bye");
/// assert_eq!(parse_close_payload(b"").unwrap().code, None);
/// let err = parse_close_payload(b"\x03\xed").unwrap_err(); // 1005
/// assert_eq!(err.kind, WsErrorKind::InvalidCloseCode(1005));
/// ```
pub fn parse_close_payload(payload: &[u8]) -> Result<CloseFrame<'_>, WsError> {
    match payload {
        [] => Ok(CloseFrame {
            code: None,
            reason: "",
        }),
        [_] => Err(WsError::new(WsErrorKind::ClosePayloadTooShort, 0)),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid() {
                return Err(WsError::new(WsErrorKind::InvalidCloseCode(code.0), 0));
            }
            if reason.len() > MAX_CLOSE_REASON_LEN {
                return Err(WsError::new(WsErrorKind::ControlTooLong, 0));
            }
            match core::str::from_utf8(reason) {
                Ok(reason) => Ok(CloseFrame {
                    code: Some(code),
                    reason,
                }),
                Err(e) => Err(WsError::new(
                    WsErrorKind::InvalidCloseReason,
                    (e.valid_up_to() as u64).saturating_add(2),
                )),
            }
        }
    }
}

/// Writes a close payload (code then reason) into `out`, returning its length.
///
/// ```
/// use warp_proto::ws::{encode_close_payload, CloseCode};
///
/// let mut out = [0u8; 125];
/// let n = encode_close_payload(CloseCode::GOING_AWAY, "bye", &mut out).unwrap();
/// assert_eq!(&out[..n], b"\x03\xe9bye");
/// ```
pub fn encode_close_payload(
    code: CloseCode,
    reason: &str,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    if !code.is_valid() {
        return Err(EncodeError::InvalidCloseCode(code.0));
    }
    if reason.len() > MAX_CLOSE_REASON_LEN {
        return Err(EncodeError::CloseReasonTooLong { len: reason.len() });
    }
    let len = reason.len() + 2;
    let Some(dest) = out.get_mut(..len) else {
        return Err(EncodeError::BufferTooSmall { needed: len });
    };
    let (code_bytes, reason_bytes) = dest.split_at_mut(2);
    code_bytes.copy_from_slice(&code.0.to_be_bytes());
    reason_bytes.copy_from_slice(reason.as_bytes());
    Ok(len)
}
