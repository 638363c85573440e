//! The opening handshake (RFC 6455 section 4): an HTTP/1.1 Upgrade exchange.
//!
//! Both roles, sans-IO: a client writes its request with [`ClientHandshake::write_request`]
//! and reads the answer with [`ClientHandshake::parse_response`]; a server reads the request
//! with [`ServerHandshake::parse_request`] and answers with
//! [`UpgradeRequest::write_response`] or refuses with [`write_reject_response`]. Parsers take
//! the bytes received so far and say [`Status::Partial`](super::Status::Partial) until the
//! head is complete; then they report how many bytes the head took, so the bytes after it
//! (early frames) can be handed to the [`WsConnection`](super::WsConnection).
//!
//! Randomness comes from the caller: the client key is built from 16 bytes it passes in.

mod client;
mod server;

use core::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest, Sha1};

pub use client::{ClientHandshake, HandshakeResponse};
pub use server::{
    write_accept_response, write_error_response, write_reject_response, ServerHandshake,
    UpgradeRequest,
};

/// The WARP subprotocol name, offered by clients and accepted by servers by default.
pub const WARP_SUBPROTOCOL: &str = "warp0";

/// The default bound on the size of an HTTP handshake head, in bytes.
pub const DEFAULT_MAX_HEAD_LEN: usize = 8 * 1024;

/// The most header lines a handshake head may have.
pub const MAX_HEADERS: usize = 32;

const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A `Sec-WebSocket-Key` value: the base64 text of 16 bytes (24 ASCII characters).
///
/// ```
/// use warp_proto::ws::WebSocketKey;
///
/// // RFC 6455 section 1.3.
/// let key = WebSocketKey::parse(b"dGhlIHNhbXBsZSBub25jZQ==").unwrap();
/// assert_eq!(key.accept().as_str(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// assert_eq!(WebSocketKey::from_nonce(*b"the sample nonce"), key);
/// assert!(WebSocketKey::parse(b"dGhlIHNhbXBsZQ==").is_none()); // 10 bytes, not 16
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct WebSocketKey([u8; 24]);

impl WebSocketKey {
    /// The key for the 16 random bytes `nonce` (the caller's randomness: the core has no RNG).
    pub fn from_nonce(nonce: [u8; 16]) -> Self {
        let mut text = [0u8; 24];
        // 16 bytes always encode to exactly 24 characters.
        let _ = STANDARD.encode_slice(nonce, &mut text);
        WebSocketKey(text)
    }

    /// Reads a header value: optional surrounding whitespace around the padded base64 of
    /// exactly 16 bytes.
    pub fn parse(value: &[u8]) -> Option<Self> {
        let text: [u8; 24] = trim(value).try_into().ok()?;
        let mut decoded = [0u8; 18];
        match STANDARD.decode_slice(text, &mut decoded) {
            Ok(16) => Some(WebSocketKey(text)),
            _ => None,
        }
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The `Sec-WebSocket-Accept` value answering this key.
    pub fn accept(&self) -> AcceptKey {
        let mut sha = Sha1::new();
        sha.update(self.0);
        sha.update(GUID);
        let digest: [u8; 20] = sha.finalize().into();
        let mut text = [0u8; 28];
        // 20 bytes always encode to exactly 28 characters.
        let _ = STANDARD.encode_slice(digest, &mut text);
        AcceptKey(text)
    }
}

impl fmt::Display for WebSocketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `Sec-WebSocket-Accept` value: base64 of the SHA-1 of key and GUID (28 characters).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AcceptKey([u8; 28]);

impl AcceptKey {
    /// The accept text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for AcceptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A part of the handshake an error is about.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The request target.
    Path,
    /// `Host`.
    Host,
    /// `Upgrade`.
    Upgrade,
    /// `Connection`.
    Connection,
    /// `Sec-WebSocket-Key`.
    Key,
    /// `Sec-WebSocket-Version`.
    Version,
    /// `Sec-WebSocket-Accept`.
    Accept,
    /// `Sec-WebSocket-Protocol`.
    Protocol,
    /// `Sec-WebSocket-Extensions`.
    Extensions,
    /// `Origin`.
    Origin,
    /// A caller-supplied extra header.
    Extra,
    /// The status code of a refusal.
    Status,
}

impl Field {
    /// The header name (or a description for non-headers).
    pub const fn name(self) -> &'static str {
        match self {
            Field::Path => "request target",
            Field::Host => "Host",
            Field::Upgrade => "Upgrade",
            Field::Connection => "Connection",
            Field::Key => "Sec-WebSocket-Key",
            Field::Version => "Sec-WebSocket-Version",
            Field::Accept => "Sec-WebSocket-Accept",
            Field::Protocol => "Sec-WebSocket-Protocol",
            Field::Extensions => "Sec-WebSocket-Extensions",
            Field::Origin => "Origin",
            Field::Extra => "extra header",
            Field::Status => "status code",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a handshake failed. Offsets count bytes from the start of the head.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The bytes are not a well-formed HTTP/1.x head.
    Malformed,
    /// The head is longer than the configured bound.
    HeadTooLarge {
        /// The bound in bytes.
        limit: usize,
    },
    /// More header lines than [`MAX_HEADERS`].
    TooManyHeaders,
    /// The request method is not `GET`.
    MethodNotGet,
    /// The HTTP version is not 1.1.
    HttpVersion,
    /// A required header is missing.
    MissingHeader(Field),
    /// A header has a value the handshake forbids.
    InvalidHeader {
        /// Which header.
        field: Field,
        /// Where its value starts.
        offset: usize,
    },
    /// A header that must appear once appears again.
    DuplicateHeader {
        /// Which header.
        field: Field,
        /// Where the second one's value starts.
        offset: usize,
    },
    /// `Sec-WebSocket-Version` is not 13 (answer 426 with `Sec-WebSocket-Version: 13`).
    UnsupportedVersion {
        /// Where the value starts.
        offset: usize,
    },
    /// `Sec-WebSocket-Key` is not the base64 of 16 bytes.
    InvalidKey {
        /// Where the value starts.
        offset: usize,
    },
    /// The server answered with a status other than 101.
    Rejected {
        /// The HTTP status code.
        status: u16,
    },
    /// `Sec-WebSocket-Accept` does not match the key sent.
    AcceptMismatch {
        /// Where the value starts.
        offset: usize,
    },
    /// The server chose a subprotocol the client did not offer.
    UnexpectedProtocol {
        /// Where the value starts.
        offset: usize,
    },
    /// The server answered with an extension the client did not offer.
    UnexpectedExtension {
        /// Where the value starts.
        offset: usize,
    },
    /// The output buffer is too small; `needed` bytes would do.
    BufferTooSmall {
        /// Total bytes the output needs.
        needed: usize,
    },
    /// A value given to a writer holds characters that cannot go into an HTTP head.
    InvalidField(Field),
}

impl HandshakeError {
    /// The HTTP status a server answers this error with: 426 for an unsupported version
    /// (RFC 6455 section 4.4), 431 for an oversized head, 400 otherwise.
    pub const fn status_hint(&self) -> u16 {
        match self {
            HandshakeError::UnsupportedVersion { .. } => 426,
            HandshakeError::HeadTooLarge { .. } | HandshakeError::TooManyHeaders => 431,
            _ => 400,
        }
    }

    /// The byte offset this error points at, when it has one.
    pub const fn offset(&self) -> Option<usize> {
        match *self {
            HandshakeError::InvalidHeader { offset, .. }
            | HandshakeError::DuplicateHeader { offset, .. }
            | HandshakeError::UnsupportedVersion { offset }
            | HandshakeError::InvalidKey { offset }
            | HandshakeError::AcceptMismatch { offset }
            | HandshakeError::UnexpectedProtocol { offset }
            | HandshakeError::UnexpectedExtension { offset } => Some(offset),
            _ => None,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HandshakeError::Malformed => f.write_str("malformed HTTP head"),
            HandshakeError::HeadTooLarge { limit } => {
                write!(f, "HTTP head exceeds {limit} bytes")
            }
            HandshakeError::TooManyHeaders => write!(f, "more than {MAX_HEADERS} headers"),
            HandshakeError::MethodNotGet => f.write_str("method is not GET"),
            HandshakeError::HttpVersion => f.write_str("HTTP version is not 1.1"),
            HandshakeError::MissingHeader(field) => write!(f, "missing {field} header"),
            HandshakeError::InvalidHeader { field, offset } => {
                write!(f, "invalid {field} header at byte {offset}")
            }
            HandshakeError::DuplicateHeader { field, offset } => {
                write!(f, "duplicate {field} header at byte {offset}")
            }
            HandshakeError::UnsupportedVersion { offset } => {
                write!(
                    f,
                    "unsupported WebSocket version at byte {offset} (13 required)"
                )
            }
            HandshakeError::InvalidKey { offset } => {
                write!(
                    f,
                    "Sec-WebSocket-Key at byte {offset} is not base64 of 16 bytes"
                )
            }
            HandshakeError::Rejected { status } => {
                write!(f, "server answered HTTP {status} instead of 101")
            }
            HandshakeError::AcceptMismatch { offset } => {
                write!(
                    f,
                    "Sec-WebSocket-Accept at byte {offset} does not match the key"
                )
            }
            HandshakeError::UnexpectedProtocol { offset } => {
                write!(
                    f,
                    "server chose a subprotocol that was not offered, at byte {offset}"
                )
            }
            HandshakeError::UnexpectedExtension { offset } => {
                write!(
                    f,
                    "server chose an extension that was not offered, at byte {offset}"
                )
            }
            HandshakeError::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            HandshakeError::InvalidField(field) => {
                write!(f, "{field} holds characters not allowed in an HTTP head")
            }
        }
    }
}

impl core::error::Error for HandshakeError {}

impl From<httparse::Error> for HandshakeError {
    fn from(err: httparse::Error) -> Self {
        match err {
            httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders,
            httparse::Error::Version => HandshakeError::HttpVersion,
            _ => HandshakeError::Malformed,
        }
    }
}

/// Writes into a slice, counting what would be needed when it does not fit.
pub(crate) struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceWriter<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        SliceWriter { buf, len: 0 }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(dest) = self.buf.get_mut(self.len..end) {
            dest.copy_from_slice(bytes);
        }
        self.len = end;
    }

    pub(crate) fn push_str(&mut self, text: &str) {
        self.push(text.as_bytes());
    }

    /// Bytes actually written (at most the buffer length).
    pub(crate) fn written(&self) -> usize {
        self.len.min(self.buf.len())
    }

    /// The bytes written, or the size the buffer would have needed.
    pub(crate) fn finish(self) -> Result<usize, HandshakeError> {
        if self.len <= self.buf.len() {
            Ok(self.len)
        } else {
            Err(HandshakeError::BufferTooSmall { needed: self.len })
        }
    }
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// Strips HTTP optional whitespace (spaces and tabs) from both ends.
pub(crate) fn trim(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i.saturating_add(1));
    value.get(start..end).unwrap_or(&[])
}

/// The comma-separated, whitespace-trimmed, non-empty elements of a header value.
pub(crate) fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|t| !t.is_empty())
}

/// Whether the comma-separated header value lists `token`, ignoring ASCII case.
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    tokens(value).any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

/// Where `part` (a subslice of `whole`) starts inside `whole`; 0 if it is not inside.
pub(crate) fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    let offset = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    if offset <= whole.len() {
        offset
    } else {
        0
    }
}

/// Whether `c` is an RFC 7230 `tchar` (allowed in tokens such as header names).
pub(crate) const fn is_tchar(c: u8) -> bool {
    matches!(
        c,
        b'!' | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'\''
            | b'*'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~'
    ) || c.is_ascii_alphanumeric()
}

/// Whether `text` is a non-empty token.
pub(crate) fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_tchar)
}

/// Whether `text` is non-empty visible ASCII (no spaces, no control characters).
pub(crate) fn is_visible(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether `text` can be a header value: visible ASCII, spaces and tabs.
pub(crate) fn is_header_value(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
}

/// Checks the head length bound for a parse result.
pub(crate) fn check_head_len(
    status: httparse::Status<usize>,
    input_len: usize,
    limit: usize,
) -> Result<Option<usize>, HandshakeError> {
    match status {
        httparse::Status::Complete(len) if len <= limit => Ok(Some(len)),
        httparse::Status::Partial if input_len < limit => Ok(None),
        _ => Err(HandshakeError::HeadTooLarge { limit }),
    }
}

/// Tracks a header that must list a token (`Upgrade: websocket`, `Connection: Upgrade`),
/// possibly over several header lines.
#[derive(Copy, Clone, Default)]
pub(crate) struct TokenHeader {
    found: bool,
    bad_at: Option<usize>,
}

impl TokenHeader {
    pub(crate) fn see(&mut self, value: &[u8], token: &str, offset: usize) {
        if has_token(value, token) {
            self.found = true;
        } else if self.bad_at.is_none() {
            self.bad_at = Some(offset);
        }
    }

    /// Ok when some line listed the token; otherwise the first bad line, or a missing header.
    pub(crate) fn check(self, field: Field) -> Result<(), HandshakeError> {
        match (self.found, self.bad_at) {
            (true, _) => Ok(()),
            (false, Some(offset)) => Err(HandshakeError::InvalidHeader { field, offset }),
            (false, None) => Err(HandshakeError::MissingHeader(field)),
        }
    }
}
