//! The client half of the opening handshake.

use super::{
    check_head_len, is_header_value, is_token, is_visible, offset_in, tokens, AcceptKey, Field,
    HandshakeError, SliceWriter, TokenHeader, WebSocketKey, DEFAULT_MAX_HEAD_LEN, MAX_HEADERS,
    WARP_SUBPROTOCOL,
};
use crate::ws::Status;

const DEFAULT_PROTOCOLS: &[&str] = &[WARP_SUBPROTOCOL];

/// A client's opening handshake: writes the upgrade request and checks the server's answer.
///
/// ```
/// use warp_proto::ws::{ClientHandshake, Status};
///
/// let hs = ClientHandshake::new("example.com", "/chat", *b"the sample nonce");
/// let mut buf = [0u8; 512];
/// let n = hs.write_request(&mut buf).unwrap();
/// let request = core::str::from_utf8(&buf[..n]).unwrap();
/// assert!(request.starts_with("GET /chat HTTP/1.1\r\nHost: example.com\r\n"));
/// assert!(request.contains("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
/// assert!(request.contains("Sec-WebSocket-Protocol: warp0\r\n"));
///
/// let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
///     Sec-WebSocket-Protocol: warp0\r\n\r\n";
/// assert_eq!(hs.parse_response(&response[..20]).unwrap(), Status::Partial { needed: 1 });
/// let Status::Complete(accepted) = hs.parse_response(response).unwrap() else { panic!() };
/// assert_eq!(accepted.protocol, Some("warp0"));
/// assert_eq!(accepted.consumed, response.len());
/// ```
#[derive(Copy, Clone, Debug)]
pub struct ClientHandshake<'a> {
    host: &'a str,
    path: &'a str,
    key: WebSocketKey,
    protocols: &'a [&'a str],
    origin: Option<&'a str>,
    headers: &'a [(&'a str, &'a str)],
    max_head_len: usize,
}

/// The server's acceptance of a client handshake.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HandshakeResponse<'a> {
    /// The subprotocol the server chose, one of those offered (`None` if it chose none).
    pub protocol: Option<&'a str>,
    /// Bytes of the response head; the bytes after it are already WebSocket frames.
    pub consumed: usize,
}

impl<'a> ClientHandshake<'a> {
    /// A handshake for `path` (the request target, starting with `/`) on `host` (the `Host`
    /// header: host and optional port), with a key made from 16 random bytes. Offers the
    /// `warp0` subprotocol.
    pub fn new(host: &'a str, path: &'a str, nonce: [u8; 16]) -> Self {
        ClientHandshake {
            host,
            path,
            key: WebSocketKey::from_nonce(nonce),
            protocols: DEFAULT_PROTOCOLS,
            origin: None,
            headers: &[],
            max_head_len: DEFAULT_MAX_HEAD_LEN,
        }
    }

    /// Offers these subprotocols, in order of preference (empty: offers none).
    pub fn with_protocols(mut self, protocols: &'a [&'a str]) -> Self {
        self.protocols = protocols;
        self
    }

    /// Sends an `Origin` header.
    pub fn with_origin(mut self, origin: &'a str) -> Self {
        self.origin = Some(origin);
        self
    }

    /// Sends these extra headers (name, value) after the WebSocket ones.
    pub fn with_headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = headers;
        self
    }

    /// Bounds the size of the response head (default [`DEFAULT_MAX_HEAD_LEN`]).
    pub fn with_max_head_len(mut self, limit: usize) -> Self {
        self.max_head_len = limit;
        self
    }

    /// The key this handshake sends.
    pub fn key(&self) -> &WebSocketKey {
        &self.key
    }

    /// The `Sec-WebSocket-Accept` value the server must answer with.
    pub fn expected_accept(&self) -> AcceptKey {
        self.key.accept()
    }

    /// Writes the request head into `out`, returning its length. A too-small buffer gives
    /// [`HandshakeError::BufferTooSmall`] with the size needed; a host, path, protocol or
    /// header that could break the head (spaces, line breaks, ...) gives
    /// [`HandshakeError::InvalidField`].
    pub fn write_request(&self, out: &mut [u8]) -> Result<usize, HandshakeError> {
        self.validate()?;
        let mut w = SliceWriter::new(out);
        w.push_str("GET ");
        w.push_str(self.path);
        w.push_str(" HTTP/1.1\r\nHost: ");
        w.push_str(self.host);
        w.push_str("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
        w.push_str(self.key.as_str());
        w.push_str("\r\nSec-WebSocket-Version: 13\r\n");
        if let Some((first, rest)) = self.protocols.split_first() {
            w.push_str("Sec-WebSocket-Protocol: ");
            w.push_str(first);
            for protocol in rest {
                w.push_str(", ");
                w.push_str(protocol);
            }
            w.push_str("\r\n");
        }
        if let Some(origin) = self.origin {
            w.push_str("Origin: ");
            w.push_str(origin);
            w.push_str("\r\n");
        }
        for (name, value) in self.headers {
            w.push_str(name);
            w.push_str(": ");
            w.push_str(value);
            w.push_str("\r\n");
        }
        w.push_str("\r\n");
        w.finish()
    }

    fn validate(&self) -> Result<(), HandshakeError> {
        if !self.path.starts_with('/') || !is_visible(self.path) {
            return Err(HandshakeError::InvalidField(Field::Path));
        }
        if !is_visible(self.host) {
            return Err(HandshakeError::InvalidField(Field::Host));
        }
        if !self.protocols.iter().all(|p| is_token(p)) {
            return Err(HandshakeError::InvalidField(Field::Protocol));
        }
        if self.origin.is_some_and(|o| !is_visible(o)) {
            return Err(HandshakeError::InvalidField(Field::Origin));
        }
        if !self
            .headers
            .iter()
            .all(|(name, value)| is_token(name) && is_header_value(value))
        {
            return Err(HandshakeError::InvalidField(Field::Extra));
        }
        Ok(())
    }

    /// Reads the server's response head from the start of `input` (the bytes received so far).
    ///
    /// [`Status::Partial`] until the head is complete. Then checks status 101, the `Upgrade`
    /// and `Connection` tokens (any ASCII case), the `Sec-WebSocket-Accept` value, that any
    /// chosen subprotocol was offered and that no extension was chosen.
    pub fn parse_response(
        &self,
        input: &[u8],
    ) -> Result<Status<HandshakeResponse<'a>>, HandshakeError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let status = response.parse(input)?;
        let Some(consumed) = check_head_len(status, input.len(), self.max_head_len)? else {
            return Ok(Status::Partial { needed: 1 });
        };
        if response.version != Some(1) {
            return Err(HandshakeError::HttpVersion);
        }
        let code = response.code.unwrap_or(0);
        if code != 101 {
            return Err(HandshakeError::Rejected { status: code });
        }
        let expected = self.key.accept();
        let mut upgrade = TokenHeader::default();
        let mut connection = TokenHeader::default();
        let mut accept = false;
        let mut protocol = None;
        for header in response.headers.iter() {
            let value = header.value;
            let offset = offset_in(input, value);
            let name = header.name;
            if name.eq_ignore_ascii_case("upgrade") {
                upgrade.see(value, "websocket", offset);
            } else if name.eq_ignore_ascii_case("connection") {
                connection.see(value, "upgrade", offset);
            } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
                if accept {
                    return Err(HandshakeError::DuplicateHeader {
                        field: Field::Accept,
                        offset,
                    });
                }
                if super::trim(value) != expected.as_str().as_bytes() {
                    return Err(HandshakeError::AcceptMismatch { offset });
                }
                accept = true;
            } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
                let chosen = super::trim(value);
                let offered = self.protocols.iter().find(|p| p.as_bytes() == chosen);
                match (protocol, offered) {
                    (None, Some(offered)) => protocol = Some(*offered),
                    _ => return Err(HandshakeError::UnexpectedProtocol { offset }),
                }
            } else if name.eq_ignore_ascii_case("sec-websocket-extensions")
                && tokens(value).next().is_some()
            {
                return Err(HandshakeError::UnexpectedExtension { offset });
            }
        }
        upgrade.check(Field::Upgrade)?;
        connection.check(Field::Connection)?;
        if !accept {
            return Err(HandshakeError::MissingHeader(Field::Accept));
        }
        Ok(Status::Complete(HandshakeResponse { protocol, consumed }))
    }
}
