//! The server half of the opening handshake.

use core::fmt::Write as _;

use super::{
    check_head_len, is_token, offset_in, tokens, trim, Field, HandshakeError, SliceWriter,
    TokenHeader, WebSocketKey, DEFAULT_MAX_HEAD_LEN, MAX_HEADERS, WARP_SUBPROTOCOL,
};
use crate::ws::Status;

const DEFAULT_PROTOCOLS: &[&str] = &[WARP_SUBPROTOCOL];

/// A server's view of opening handshakes: which subprotocols it speaks and how large a request
/// head it reads.
///
/// The subprotocol is negotiated, never required: a client offering none (like the JavaScript
/// WARP client) is accepted with no subprotocol.
///
/// ```
/// use warp_proto::ws::{ServerHandshake, Status};
///
/// let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Protocol: chat, warp0\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let server = ServerHandshake::new();
/// let Status::Complete(upgrade) = server.parse_request(request).unwrap() else { panic!() };
/// assert_eq!((upgrade.path, upgrade.protocol), ("/chat", Some("warp0")));
/// assert_eq!(upgrade.consumed, request.len());
///
/// let mut out = [0u8; 256];
/// let n = upgrade.write_response(&mut out).unwrap();
/// let response = core::str::from_utf8(&out[..n]).unwrap();
/// assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
/// assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
/// assert!(response.contains("Sec-WebSocket-Protocol: warp0\r\n"));
/// ```
#[derive(Copy, Clone, Debug)]
pub struct ServerHandshake<'a> {
    protocols: &'a [&'a str],
    max_head_len: usize,
}

impl Default for ServerHandshake<'static> {
    fn default() -> Self {
        ServerHandshake::new()
    }
}

impl ServerHandshake<'static> {
    /// Accepts the `warp0` subprotocol when offered; request heads up to
    /// [`DEFAULT_MAX_HEAD_LEN`] bytes.
    pub const fn new() -> Self {
        ServerHandshake {
            protocols: DEFAULT_PROTOCOLS,
            max_head_len: DEFAULT_MAX_HEAD_LEN,
        }
    }
}

impl<'a> ServerHandshake<'a> {
    /// Accepts these subprotocols (the first one the client lists that is here is chosen).
    pub fn with_protocols<'b>(self, protocols: &'b [&'b str]) -> ServerHandshake<'b> {
        ServerHandshake {
            protocols,
            max_head_len: self.max_head_len,
        }
    }

    /// Bounds the size of the request head.
    pub fn with_max_head_len(mut self, limit: usize) -> Self {
        self.max_head_len = limit;
        self
    }

    /// Reads a client's upgrade request from the start of `input` (the bytes received so far).
    ///
    /// [`Status::Partial`] until the head is complete. Then checks method `GET`, HTTP/1.1, a
    /// `Host`, `Upgrade: websocket` and `Connection: upgrade` (tokens in any ASCII case, among
    /// others), `Sec-WebSocket-Version: 13` and a key that is the base64 of 16 bytes. On an
    /// error, [`write_error_response`] writes the matching refusal.
    pub fn parse_request<'i>(
        &self,
        input: &'i [u8],
    ) -> Result<Status<UpgradeRequest<'i>>, HandshakeError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        let status = request.parse(input)?;
        let Some(consumed) = check_head_len(status, input.len(), self.max_head_len)? else {
            return Ok(Status::Partial { needed: 1 });
        };
        if request.method != Some("GET") {
            return Err(HandshakeError::MethodNotGet);
        }
        if request.version != Some(1) {
            return Err(HandshakeError::HttpVersion);
        }
        let Some(path) = request.path else {
            return Err(HandshakeError::Malformed);
        };
        let mut upgrade = TokenHeader::default();
        let mut connection = TokenHeader::default();
        let mut host = None;
        let mut key = None;
        let mut version = false;
        let mut origin = None;
        let mut protocol = None;
        for header in request.headers.iter() {
            let value: &'i [u8] = header.value;
            let offset = offset_in(input, value);
            let name = header.name;
            let duplicate = |field| HandshakeError::DuplicateHeader { field, offset };
            if name.eq_ignore_ascii_case("host") {
                if host.is_some() {
                    return Err(duplicate(Field::Host));
                }
                match core::str::from_utf8(trim(value)) {
                    Ok(text) if !text.is_empty() => host = Some(text),
                    _ => {
                        return Err(HandshakeError::InvalidHeader {
                            field: Field::Host,
                            offset,
                        })
                    }
                }
            } else if name.eq_ignore_ascii_case("upgrade") {
                upgrade.see(value, "websocket", offset);
            } else if name.eq_ignore_ascii_case("connection") {
                connection.see(value, "upgrade", offset);
            } else if name.eq_ignore_ascii_case("sec-websocket-key") {
                if key.is_some() {
                    return Err(duplicate(Field::Key));
                }
                key =
                    Some(WebSocketKey::parse(value).ok_or(HandshakeError::InvalidKey { offset })?);
            } else if name.eq_ignore_ascii_case("sec-websocket-version") {
                if version {
                    return Err(duplicate(Field::Version));
                }
                if trim(value) != b"13" {
                    return Err(HandshakeError::UnsupportedVersion { offset });
                }
                version = true;
            } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
                if protocol.is_none() {
                    protocol = tokens(value)
                        .find(|t| self.protocols.iter().any(|p| p.as_bytes() == *t))
                        .and_then(|t| core::str::from_utf8(t).ok());
                }
            } else if name.eq_ignore_ascii_case("origin") {
                origin = core::str::from_utf8(trim(value)).ok();
            }
        }
        upgrade.check(Field::Upgrade)?;
        connection.check(Field::Connection)?;
        if !version {
            return Err(HandshakeError::MissingHeader(Field::Version));
        }
        let key = key.ok_or(HandshakeError::MissingHeader(Field::Key))?;
        let host = host.ok_or(HandshakeError::MissingHeader(Field::Host))?;
        Ok(Status::Complete(UpgradeRequest {
            path,
            host,
            origin,
            key,
            protocol,
            consumed,
        }))
    }
}

/// A valid upgrade request, borrowed from the input it was read from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UpgradeRequest<'a> {
    /// The request target (path and query), e.g. `/` or `/chat?room=1`.
    pub path: &'a str,
    /// The `Host` header value.
    pub host: &'a str,
    /// The `Origin` header value, when sent (browsers send it).
    pub origin: Option<&'a str>,
    /// The client's key.
    pub key: WebSocketKey,
    /// The subprotocol chosen: the first one the client offered that the server accepts.
    pub protocol: Option<&'a str>,
    /// Bytes of the request head; the bytes after it are already WebSocket frames.
    pub consumed: usize,
}

impl UpgradeRequest<'_> {
    /// Writes the `101 Switching Protocols` answer (see [`write_accept_response`]).
    pub fn write_response(&self, out: &mut [u8]) -> Result<usize, HandshakeError> {
        write_accept_response(&self.key, self.protocol, out)
    }
}

/// Writes a `101 Switching Protocols` answer to `key`, naming `protocol` if one was chosen.
///
/// ```
/// use warp_proto::ws::{write_accept_response, WebSocketKey};
///
/// let key = WebSocketKey::parse(b"dGhlIHNhbXBsZSBub25jZQ==").unwrap();
/// let mut out = [0u8; 256];
/// let n = write_accept_response(&key, None, &mut out).unwrap();
/// assert_eq!(
///     &out[..n],
///     b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///       Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
/// );
/// ```
pub fn write_accept_response(
    key: &WebSocketKey,
    protocol: Option<&str>,
    out: &mut [u8],
) -> Result<usize, HandshakeError> {
    if protocol.is_some_and(|p| !is_token(p)) {
        return Err(HandshakeError::InvalidField(Field::Protocol));
    }
    let mut w = SliceWriter::new(out);
    w.push_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n");
    w.push_str("Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    w.push_str(key.accept().as_str());
    w.push_str("\r\n");
    if let Some(protocol) = protocol {
        w.push_str("Sec-WebSocket-Protocol: ");
        w.push_str(protocol);
        w.push_str("\r\n");
    }
    w.push_str("\r\n");
    w.finish()
}

/// Writes a refusal: an HTTP error `status` (400 to 599) with `reason` as a plain-text body,
/// and `Connection: close`. A 426 also carries `Sec-WebSocket-Version: 13`.
///
/// ```
/// use warp_proto::ws::write_reject_response;
///
/// let mut out = [0u8; 256];
/// let n = write_reject_response(400, "Failed to negotiate warp0 subprotocol", &mut out).unwrap();
/// let text = core::str::from_utf8(&out[..n]).unwrap();
/// assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"));
/// assert!(text.contains("Content-Length: 37\r\n"));
/// assert!(text.ends_with("\r\n\r\nFailed to negotiate warp0 subprotocol"));
/// ```
pub fn write_reject_response(
    status: u16,
    reason: &str,
    out: &mut [u8],
) -> Result<usize, HandshakeError> {
    if !(400..=599).contains(&status) {
        return Err(HandshakeError::InvalidField(Field::Status));
    }
    let phrase = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut w = SliceWriter::new(out);
    // SliceWriter never fails; it counts what does not fit.
    let _ = write!(
        w,
        "HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        reason.len()
    );
    if status == 426 {
        w.push_str("Sec-WebSocket-Version: 13\r\n");
    }
    w.push_str("\r\n");
    w.push_str(reason);
    w.finish()
}

/// Writes the refusal for a failed [`ServerHandshake::parse_request`]: status
/// [`HandshakeError::status_hint`], the error's description as the body.
///
/// ```
/// use warp_proto::ws::{write_error_response, HandshakeError};
///
/// let mut out = [0u8; 512];
/// let err = HandshakeError::UnsupportedVersion { offset: 120 };
/// let n = write_error_response(&err, &mut out).unwrap();
/// let text = core::str::from_utf8(&out[..n]).unwrap();
/// assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
/// assert!(text.contains("Sec-WebSocket-Version: 13\r\n"));
/// ```
pub fn write_error_response(err: &HandshakeError, out: &mut [u8]) -> Result<usize, HandshakeError> {
    let mut text = [0u8; 160];
    let mut w = SliceWriter::new(&mut text);
    let _ = write!(w, "{err}");
    let len = w.written();
    let reason = text.get(..len).unwrap_or(&[]);
    let reason = match core::str::from_utf8(reason) {
        Ok(reason) => reason,
        Err(e) => core::str::from_utf8(reason.get(..e.valid_up_to()).unwrap_or(&[])).unwrap_or(""),
    };
    write_reject_response(err.status_hint(), reason, out)
}
