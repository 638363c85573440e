//! The `core` driver: the sans-IO server of warp-proto (a
//! [`ConnectionSession`] on a [`Hub`] of demo agents, the code both async drivers run) in
//! memory, with a `tungstenite` client over an in-memory pipe. No socket, no thread, no clock
//! wait: every call runs the server until it has nothing more to do.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::Duration;

use tungstenite::client::IntoClientRequest as _;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::{HandshakeError, Message, WebSocket};
use warp_proto::app::demo::UnitAgent;
use warp_proto::app::session::server::{ConnectionSession, Hub, ServerConfig, Status};
use warp_proto::app::Plane;
use warp_proto::ws::Instant;

use super::replay::Transport;
use super::{Payload, ABNORMAL_CLOSE};
use crate::suite::ws::{Incoming, WARP0};

/// How many server rounds one call runs at most (a bound, never reached by the traces).
const MAX_ROUNDS: usize = 100_000;

/// The bytes between the client and the server.
#[derive(Debug, Default)]
struct Pipe {
    to_server: Vec<u8>,
    to_client: VecDeque<u8>,
    /// The client dropped the connection (no close frame).
    client_dropped: bool,
    /// The server closed the transport: reads end once `to_client` is empty.
    server_gone: bool,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.to_client.is_empty() {
            if self.server_gone {
                return Ok(0);
            }
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.to_client.len());
        for (slot, byte) in buf.iter_mut().zip(self.to_client.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.client_dropped || self.server_gone {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.to_server.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The server side: the hub of demo agents and one connection session.
struct Server {
    hub: Hub,
    session: ConnectionSession,
    epoch: std::time::Instant,
    eof_sent: bool,
    done: bool,
}

impl Server {
    fn now(&self) -> Instant {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        Instant::from_millis(ms)
    }

    /// Runs the session until it waits for nothing the pipe can give; whether anything
    /// happened.
    fn pump(&mut self, pipe: &mut Pipe) -> bool {
        let mut any = false;
        for _ in 0..MAX_ROUNDS {
            if self.done {
                return any;
            }
            let now = self.now();
            let interest = match self.session.poll(&mut self.hub, now) {
                Status::Closed(_) => {
                    if let Some(rest) = self.session.final_output() {
                        pipe.to_client.extend(rest.iter().copied());
                    }
                    self.session.leave(&mut self.hub);
                    pipe.server_gone = true;
                    self.done = true;
                    return true;
                }
                Status::Wait(interest) => interest,
            };
            let mut progressed = false;
            if interest.write {
                let (_, out) = self.session.buffers();
                let n = out.len();
                if n > 0 {
                    pipe.to_client.extend(out.iter().copied());
                    self.session.wrote(n, now);
                    progressed = true;
                }
            }
            if interest.flush {
                self.session.flushed();
                progressed = true;
            }
            if interest.hub {
                let id = self.session.id();
                if let Some(signal) = self.hub.take_signal(id, interest.changes) {
                    self.session.signal(signal);
                    progressed = true;
                }
            }
            if interest.read {
                if !pipe.to_server.is_empty() {
                    let (read_buf, _) = self.session.buffers();
                    let n = read_buf.len().min(pipe.to_server.len());
                    if let (Some(dst), Some(src)) = (read_buf.get_mut(..n), pipe.to_server.get(..n))
                    {
                        dst.copy_from_slice(src);
                    }
                    pipe.to_server.drain(..n);
                    self.session.read(n, now);
                    progressed = true;
                } else if pipe.client_dropped && !self.eof_sent {
                    self.eof_sent = true;
                    self.session.read(0, now);
                    progressed = true;
                }
            }
            if interest.deadline.is_some_and(|d| d <= now) {
                self.session.timeout(now);
                progressed = true;
            }
            if !progressed {
                return any;
            }
            any = true;
        }
        any
    }
}

/// A connection to a fresh in-memory demo server (see the module docs).
pub(super) struct MemoryConn {
    ws: WebSocket<Pipe>,
    server: Server,
}

impl MemoryConn {
    /// Starts a server with the demo agents and connects to it, offering `warp0`.
    pub(super) fn connect() -> Result<MemoryConn, String> {
        let config = ServerConfig::default();
        let mut plane = Plane::new(config.plane);
        UnitAgent::route(&mut plane).map_err(|e| format!("routing the demo agents: {e}"))?;
        let mut hub = Hub::new(plane);
        let epoch = std::time::Instant::now();
        let session = ConnectionSession::new(&mut hub, Instant::ZERO, &config, None)
            .map_err(|e| format!("starting the session: {e}"))?;
        let mut server = Server {
            hub,
            session,
            epoch,
            eof_sent: false,
            done: false,
        };
        let mut request = "ws://memory/"
            .into_client_request()
            .map_err(|e| e.to_string())?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(WARP0));
        let mut attempt = tungstenite::client::client(request, Pipe::default());
        for _ in 0..16 {
            match attempt {
                Ok((ws, _response)) => return Ok(MemoryConn { ws, server }),
                Err(HandshakeError::Interrupted(mut mid)) => {
                    server.pump(mid.get_mut().get_mut());
                    attempt = mid.handshake();
                }
                Err(HandshakeError::Failure(e)) => return Err(format!("handshake failed: {e}")),
            }
        }
        Err("the in-memory handshake did not complete".into())
    }

    fn pump(&mut self) -> bool {
        self.server.pump(self.ws.get_mut())
    }
}

impl Transport for MemoryConn {
    fn send(&mut self, payload: &Payload) -> Result<(), String> {
        let result = match payload {
            Payload::Text(t) => self.ws.send(Message::text(t.as_str())),
            Payload::Binary(b) => self.ws.send(Message::binary(b.clone())),
            Payload::Close(ABNORMAL_CLOSE) => {
                self.ws.get_mut().client_dropped = true;
                Ok(())
            }
            Payload::Close(code) => self.ws.close(Some(CloseFrame {
                code: CloseCode::from(*code),
                reason: "".into(),
            })),
        };
        result.map_err(|e| format!("sending failed: {e}"))?;
        self.pump();
        Ok(())
    }

    fn recv(&mut self, _timeout: Duration) -> Incoming {
        for _ in 0..MAX_ROUNDS {
            let progressed = self.pump();
            match self.ws.read() {
                Ok(Message::Text(t)) => return Incoming::Text(t.as_str().to_string()),
                Ok(Message::Binary(b)) => return Incoming::Binary(b.to_vec()),
                Ok(Message::Ping(p)) => return Incoming::Ping(p.to_vec()),
                Ok(Message::Pong(p)) => return Incoming::Pong(p.to_vec()),
                Ok(Message::Close(frame)) => {
                    // Let tungstenite's answering close reach the server.
                    let _ = self.ws.flush();
                    self.pump();
                    return Incoming::Close(frame.map(|f| u16::from(f.code)));
                }
                Ok(Message::Frame(_)) => continue,
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The server is synchronous: when it did nothing, nothing will come.
                    if !progressed {
                        return Incoming::Nothing;
                    }
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
        Incoming::Nothing
    }
}
