//! A plain blocking WebSocket peer over `tungstenite`, independent of our own drivers: the
//! client side of the `server` mode and the server side of the `client` mode.
//!
//! Every read has a deadline ([`WsPeer::recv`] returns [`Incoming::Nothing`] when it passes);
//! sockets also carry read and write timeouts, so no call blocks for ever.

use std::fmt;
use std::io::{self, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest as _;
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::{HeaderValue, Uri};
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::{CloseFrame, Frame};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{HandshakeError, Message, WebSocket};

/// The WARP WebSocket subprotocol.
pub const WARP0: &str = "warp0";

/// The largest message or frame the runner reads (both modes); larger ones end the connection
/// on our side.
pub const MAX_READ: usize = 64 << 20;

/// A `ws://host[:port][/path]` URL, split for connecting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsUrl {
    /// The URL as given.
    pub url: String,
    /// The host (a name or an address; IPv6 without brackets).
    pub host: String,
    /// The port (80 when the URL has none).
    pub port: u16,
}

impl WsUrl {
    /// Parses `url`; only the `ws` scheme is supported (the runner has no TLS).
    ///
    /// ```
    /// use conformance::suite::ws::WsUrl;
    ///
    /// let u = WsUrl::parse("ws://127.0.0.1:9001/warp").unwrap();
    /// assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 9001));
    /// assert!(WsUrl::parse("wss://example.com").is_err());
    /// assert!(WsUrl::parse("not a url").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<WsUrl, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
        match uri.scheme_str() {
            Some("ws") => {}
            Some(other) => {
                return Err(format!(
                    "`{url}`: scheme `{other}` is not supported (only ws://)"
                ))
            }
            None => return Err(format!("`{url}` has no scheme (expected ws://HOST:PORT)")),
        }
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("`{url}` has no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Ok(WsUrl {
            url: url.to_string(),
            host,
            port: uri.port_u16().unwrap_or(80),
        })
    }

    /// The first address the host resolves to.
    pub fn resolve(&self) -> io::Result<SocketAddr> {
        (self.host.as_str(), self.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the host has no address"))
    }
}

/// Why a client handshake did not produce a connection.
#[derive(Debug)]
pub enum ConnectError {
    /// The TCP connection failed.
    Tcp(io::Error),
    /// The server answered the upgrade with this HTTP status instead of 101.
    Refused {
        /// The HTTP status.
        status: u16,
    },
    /// The server answered 101 without selecting a subprotocol although one was offered.
    NoSubprotocol,
    /// Any other handshake failure.
    Other(String),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Tcp(e) => write!(f, "TCP connect failed: {e}"),
            ConnectError::Refused { status } => write!(f, "upgrade refused with HTTP {status}"),
            ConnectError::NoSubprotocol => {
                f.write_str("101 without Sec-WebSocket-Protocol although warp0 was offered")
            }
            ConnectError::Other(e) => write!(f, "handshake failed: {e}"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// Something read from the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping (already answered by `tungstenite`).
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close frame, with its code if it had one.
    Close(Option<u16>),
    /// The connection ended without (or after) a close frame: end of stream, reset, or a
    /// WebSocket protocol error on our side; the text says which.
    Ended(String),
    /// Nothing arrived before the deadline.
    Nothing,
}

impl fmt::Display for Incoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Incoming::Text(t) => write!(f, "{}", clip(t, 160)),
            Incoming::Binary(b) => write!(f, "a binary frame of {} bytes", b.len()),
            Incoming::Ping(p) => write!(f, "a ping of {} bytes", p.len()),
            Incoming::Pong(p) => write!(f, "a pong of {} bytes", p.len()),
            Incoming::Close(Some(code)) => write!(f, "close {code}"),
            Incoming::Close(None) => f.write_str("close without a code"),
            Incoming::Ended(why) => write!(f, "the connection ended ({why})"),
            Incoming::Nothing => f.write_str("nothing"),
        }
    }
}

/// `text` cut to at most `max` characters, with `…` when cut, as a Rust string literal would
/// show it (so control characters stay visible).
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        format!("{text:?}")
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut:?}…")
    }
}

/// The instant `d` from now, with `d` capped at one day (so no duration overflows).
pub fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d.min(Duration::from_secs(24 * 3600)))
        .unwrap_or(now)
}

/// What the client handshake saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHandshake {
    /// The HTTP status of the answer (101).
    pub status: u16,
    /// The subprotocol the server selected.
    pub protocol: Option<String>,
}

/// What the server handshake saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHandshake {
    /// The request path.
    pub path: String,
    /// The subprotocols the client offered, in order.
    pub offered: Vec<String>,
    /// The subprotocol we selected (`warp0` when offered).
    pub selected: Option<String>,
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_READ))
        .max_frame_size(Some(MAX_READ))
}

/// One WebSocket connection (either role) with timed reads.
pub struct WsPeer {
    ws: WebSocket<TcpStream>,
}

impl fmt::Debug for WsPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsPeer")
            .field("peer", &self.ws.get_ref().peer_addr().ok())
            .finish_non_exhaustive()
    }
}

impl WsPeer {
    /// Opens a client connection to `url`, offering `protocol` if given; `timeout` bounds the
    /// TCP connect, the handshake and every later socket write.
    pub fn connect(
        url: &WsUrl,
        protocol: Option<&str>,
        timeout: Duration,
    ) -> Result<(WsPeer, ClientHandshake), ConnectError> {
        let addr = url.resolve().map_err(ConnectError::Tcp)?;
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(ConnectError::Tcp)?;
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .map_err(ConnectError::Tcp)?;
        let mut request = url
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| ConnectError::Other(e.to_string()))?;
        if let Some(p) = protocol {
            let value = HeaderValue::from_str(p).map_err(|e| ConnectError::Other(e.to_string()))?;
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", value);
        }
        match tungstenite::client::client_with_config(request, stream, Some(ws_config())) {
            Ok((ws, response)) => {
                let selected = response
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                Ok((
                    WsPeer { ws },
                    ClientHandshake {
                        status: response.status().as_u16(),
                        protocol: selected,
                    },
                ))
            }
            Err(HandshakeError::Failure(e)) => Err(match e {
                tungstenite::Error::Http(response) => ConnectError::Refused {
                    status: response.status().as_u16(),
                },
                tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(
                        tungstenite::error::SubProtocolError::NoSubProtocol,
                    ),
                ) => ConnectError::NoSubprotocol,
                tungstenite::Error::Io(e) => ConnectError::Tcp(e),
                other => ConnectError::Other(other.to_string()),
            }),
            Err(HandshakeError::Interrupted(_)) => Err(ConnectError::Other(
                "the handshake timed out (no complete answer)".into(),
            )),
        }
    }

    /// Accepts a server connection on `stream`: any path, `warp0` selected when the client
    /// offers it, no subprotocol otherwise. `timeout` bounds the handshake and later writes.
    #[allow(clippy::result_large_err)] // the callback's type is tungstenite's
    pub fn accept(
        stream: TcpStream,
        timeout: Duration,
    ) -> Result<(WsPeer, ServerHandshake), String> {
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .map_err(|e| e.to_string())?;
        let mut seen = ServerHandshake {
            path: String::new(),
            offered: Vec::new(),
            selected: None,
        };
        let callback = |request: &Request, mut response: Response| {
            seen.path = request.uri().path().to_string();
            seen.offered = request
                .headers()
                .get_all("Sec-WebSocket-Protocol")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            if seen.offered.iter().any(|p| p == WARP0) {
                response
                    .headers_mut()
                    .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(WARP0));
                seen.selected = Some(WARP0.to_string());
            }
            Ok::<Response, ErrorResponse>(response)
        };
        match tungstenite::accept_hdr_with_config(stream, callback, Some(ws_config())) {
            Ok(ws) => Ok((WsPeer { ws }, seen)),
            Err(HandshakeError::Failure(e)) => Err(format!("handshake failed: {e}")),
            Err(HandshakeError::Interrupted(_)) => {
                Err("the handshake timed out (no complete request)".into())
            }
        }
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), String> {
        self.send(Message::text(text))
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.send(Message::binary(bytes.to_vec()))
    }

    /// Sends a text frame whose payload is `bytes` as they are (they need not be UTF-8).
    pub fn send_raw_text(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.send(Message::Frame(Frame::message(
            bytes.to_vec(),
            OpCode::Data(Data::Text),
            true,
        )))
    }

    /// Sends a ping.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), String> {
        self.send(Message::Ping(payload.to_vec().into()))
    }

    /// Starts the close handshake with `code` (and an empty reason).
    pub fn send_close(&mut self, code: u16) -> Result<(), String> {
        self.ws
            .close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: "".into(),
            }))
            .map_err(|e| format!("sending close {code}: {e}"))
    }

    fn send(&mut self, message: Message) -> Result<(), String> {
        self.ws
            .send(message)
            .map_err(|e| format!("sending failed: {e}"))
    }

    /// A second handle on the TCP socket, for writing bytes that bypass `tungstenite` (used to
    /// write a huge frame on another thread while this one reads).
    pub fn raw_stream(&self) -> io::Result<TcpStream> {
        self.ws.get_ref().try_clone()
    }

    /// The next thing the peer sends, waiting at most `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Incoming {
        let deadline = deadline_after(timeout);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Incoming::Nothing;
            }
            if let Err(e) = self.ws.get_mut().set_read_timeout(Some(left)) {
                return Incoming::Ended(format!("setting a read timeout: {e}"));
            }
            match self.ws.read() {
                Ok(Message::Text(t)) => return Incoming::Text(t.as_str().to_string()),
                Ok(Message::Binary(b)) => return Incoming::Binary(b.to_vec()),
                Ok(Message::Ping(p)) => return Incoming::Ping(p.to_vec()),
                Ok(Message::Pong(p)) => return Incoming::Pong(p.to_vec()),
                Ok(Message::Close(frame)) => {
                    return Incoming::Close(frame.map(|f| u16::from(f.code)))
                }
                Ok(Message::Frame(_)) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(tungstenite::Error::ConnectionClosed) => {
                    return Incoming::Ended("closed after the close handshake".into())
                }
                Err(tungstenite::Error::AlreadyClosed) => {
                    return Incoming::Ended("already closed".into())
                }
                Err(tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                )) => return Incoming::Ended("end of stream without a close frame".into()),
                Err(e) => return Incoming::Ended(e.to_string()),
            }
        }
    }

    /// After a close frame was read: lets `tungstenite` send its answering close and waits
    /// (at most `timeout`) for the peer to end the stream.
    pub fn finish_close(&mut self, timeout: Duration) {
        let deadline = deadline_after(timeout);
        while !deadline.saturating_duration_since(Instant::now()).is_zero() {
            match self.recv(deadline.saturating_duration_since(Instant::now())) {
                Incoming::Ended(_) | Incoming::Nothing => return,
                _ => continue,
            }
        }
    }
}

/// Writes one masked client-to-server frame (`opcode`, FIN set) directly on `stream`: its
/// payload is `prefix`, then `fill_len` copies of `filler`, then `suffix`, written in chunks so
/// a huge frame needs no huge buffer. The mask key is zero, so the payload goes out as it is
/// (RFC 6455 allows any key).
pub fn write_raw_client_frame(
    stream: &mut TcpStream,
    opcode: u8,
    prefix: &[u8],
    filler: u8,
    fill_len: usize,
    suffix: &[u8],
) -> io::Result<()> {
    let len = (prefix.len() as u64)
        .saturating_add(fill_len as u64)
        .saturating_add(suffix.len() as u64);
    let mut header = vec![0x80 | (opcode & 0x0f)];
    if let Ok(short) = u8::try_from(len).map(|l| l.min(126)) {
        if short < 126 {
            header.push(0x80 | short);
        }
    }
    if header.len() == 1 {
        match u16::try_from(len) {
            Ok(medium) => {
                header.push(0x80 | 126);
                header.extend_from_slice(&medium.to_be_bytes());
            }
            Err(_) => {
                header.push(0x80 | 127);
                header.extend_from_slice(&len.to_be_bytes());
            }
        }
    }
    header.extend_from_slice(&[0, 0, 0, 0]);
    stream.write_all(&header)?;
    stream.write_all(prefix)?;
    let chunk = vec![filler; 64 * 1024];
    let mut left = fill_len;
    while left > 0 {
        let n = left.min(chunk.len());
        stream.write_all(chunk.get(..n).unwrap_or(&chunk))?;
        left -= n;
    }
    stream.write_all(suffix)?;
    stream.flush()
}
