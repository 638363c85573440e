//! `ws_connection`: a server-role [`WsConnection`] fed arbitrary bytes in fuzzer-chosen chunks at
//! fuzzer-chosen times. It never panics or stalls, its transmit and reassembly storages stay
//! within their bounds, what it transmits is a valid sequence of server frames ending at its
//! close, its state agrees with how it ended, and the same bytes give the same messages and the
//! same output whether they arrive at once or in chunks.

use core::time::Duration;

use warp_proto::ws::{
    decode_frame, parse_close_payload, CloseCode, CloseInitiator, CloseReason, Instant, Message,
    Opcode, Role, SendError, Status, Storage, WsConfig, WsConnection, WsState,
};

use super::input::Chunked;

/// The connection settings of `input`.
fn config(input: &Chunked, timers: bool) -> WsConfig {
    let config = WsConfig::default()
        .with_max_message_len((usize::from(input.max_message) + 1) * 16)
        .with_max_frame_len((usize::from(input.max_frame) + 1) * 16)
        .with_max_transmit_len(1024)
        .with_close_timeout(Some(Duration::from_millis(500)));
    if timers {
        config
            .with_ping_interval(Some(Duration::from_millis(100)))
            .with_idle_timeout(Some(Duration::from_millis(1000)))
    } else {
        config
    }
}

/// A received message, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Received {
    Text(String),
    Binary(Vec<u8>),
}

/// Everything a run produced.
#[derive(Debug, Default, PartialEq)]
struct Log {
    messages: Vec<Received>,
    transmitted: Vec<u8>,
    closed: Option<CloseReason>,
}

/// How the driver behaves.
#[derive(Clone, Copy)]
struct Driver {
    /// Write at most this many queued bytes per step (`usize::MAX`: all).
    write_at_most: usize,
    /// Run the timers.
    timers: bool,
    /// Start the close handshake after the first chunk.
    close_first: bool,
    /// Send a message after every chunk.
    send: bool,
}

struct Run<R: Storage, T: Storage> {
    conn: WsConnection<R, T>,
    /// The most bytes the transmit storage may hold.
    tx_bound: usize,
    driver: Driver,
    log: Log,
    fed: u64,
}

impl<R: Storage, T: Storage> Run<R, T> {
    fn new(config: WsConfig, rx: R, tx: T, driver: Driver) -> Self {
        let tx_bound = tx.max_len().min(config.max_transmit_len);
        let conn = match WsConnection::server(Instant::ZERO, config, rx, tx) {
            Ok(conn) => conn,
            Err(e) => panic!("storages refused: {e}"),
        };
        Run {
            conn,
            tx_bound,
            driver,
            log: Log::default(),
            fed: 0,
        }
    }

    /// Takes the messages and (some of) the queued bytes; whether anything came out.
    fn drain(&mut self, write_at_most: usize) -> bool {
        let mut progressed = false;
        let max = self.conn.config().max_message_len;
        while let Some(message) = self.conn.poll_message() {
            let received = match message {
                Message::Text(t) => Received::Text(t.to_owned()),
                Message::Binary(b) => Received::Binary(b.to_vec()),
            };
            let len = match &received {
                Received::Text(t) => t.len(),
                Received::Binary(b) => b.len(),
            };
            assert!(
                len <= max,
                "a message of {len} bytes with max_message_len {max}"
            );
            self.log.messages.push(received);
            progressed = true;
        }
        self.check_bounds();
        if write_at_most == usize::MAX {
            while let Some(bytes) = self.conn.poll_transmit() {
                self.log.transmitted.extend_from_slice(bytes);
                progressed = true;
            }
        } else {
            let pending = self.conn.pending_transmit();
            let n = pending.len().min(write_at_most);
            if n > 0 {
                self.log.transmitted.extend_from_slice(&pending[..n]);
                self.conn.advance_transmit(n);
                progressed = true;
            }
        }
        self.check_bounds();
        progressed
    }

    fn check_bounds(&self) {
        let queued = self.conn.pending_transmit().len();
        assert!(
            queued <= self.tx_bound,
            "{queued} bytes queued with a transmit bound of {}",
            self.tx_bound
        );
        assert_eq!(
            self.conn.state() == WsState::Closed,
            self.conn.poll_closed().is_some(),
            "state {:?} but poll_closed {:?}",
            self.conn.state(),
            self.conn.poll_closed()
        );
    }

    /// Feeds one chunk until it is all consumed, draining as a driver does.
    fn feed(&mut self, now: u64, chunk: &[u8]) {
        let mut rest = chunk;
        let closed_before = self.conn.poll_closed();
        while !rest.is_empty() {
            let n = self.conn.handle_input(Instant::from_millis(now), rest);
            assert!(n <= rest.len());
            rest = &rest[n..];
            self.fed += n as u64;
            let progressed = self.drain(self.driver.write_at_most);
            assert!(
                n > 0 || progressed,
                "stalled: nothing consumed and nothing to take, {} bytes left",
                rest.len()
            );
        }
        if let Some(reason) = closed_before {
            // Once closed, input changes nothing.
            assert_eq!(self.conn.poll_closed(), Some(reason));
        }
    }

    /// Runs the timers due at `now`.
    fn timers(&mut self, now: u64) {
        for _ in 0..4 {
            match self.conn.poll_timeout() {
                Some(at) if at.as_millis() <= now => {
                    self.conn.handle_timeout(Instant::from_millis(now));
                    self.drain(self.driver.write_at_most);
                }
                _ => return,
            }
        }
        panic!(
            "handle_timeout({now}) leaves a deadline of {:?} due",
            self.conn.poll_timeout()
        );
    }

    fn run(mut self, input: &Chunked) -> Log {
        let text = "@event(node:\"/unit/1\",lane:info) \"tick\"";
        for (i, (now, chunk)) in input.pieces().into_iter().enumerate() {
            if self.driver.timers {
                self.timers(now);
            }
            self.feed(now, chunk);
            if self.driver.send {
                match self.conn.send_text(text) {
                    Ok(())
                    | Err(SendError::WouldBlock { .. } | SendError::Closing | SendError::Closed) => {
                    }
                    Err(e) => panic!("send_text: {e:?}"),
                }
            }
            if self.driver.close_first && i == 0 {
                let closing = self
                    .conn
                    .close(Instant::from_millis(now), CloseCode::NORMAL, "bye");
                assert!(
                    matches!(
                        closing,
                        Ok(()) | Err(SendError::Closing | SendError::Closed)
                    ),
                    "close: {closing:?}"
                );
            }
            self.drain(self.driver.write_at_most);
        }
        // The driver writes everything still queued.
        while self.drain(usize::MAX) {}
        self.finish()
    }

    /// Checks the end state against the bytes transmitted, then ends the transport.
    fn finish(mut self) -> Log {
        let (frames, cut) = server_frames(&self.log.transmitted);
        // Only giving up on the connection drops bytes queued (the transport is closed then).
        assert!(
            !cut || self.conn.poll_closed() == Some(CloseReason::TimedOut),
            "the bytes written end inside a frame, and the connection ended {:?}",
            self.conn.poll_closed()
        );
        let closes: Vec<_> = frames
            .iter()
            .filter(|(op, _)| *op == Opcode::Close)
            .collect();
        assert!(closes.len() <= 1, "more than one close frame sent");
        if let Some((op, _)) = frames.last() {
            assert!(
                closes.is_empty() || *op == Opcode::Close,
                "frames sent after the close frame"
            );
        }
        let sent_close = closes
            .first()
            .map(|(_, payload)| match parse_close_payload(payload) {
                Ok(close) => close.code,
                Err(e) => panic!("sent a bad close payload {payload:?}: {e:?}"),
            });
        let state = self.conn.state();
        match self.conn.poll_closed() {
            None if state == WsState::Open => {
                assert!(sent_close.is_none(), "open after sending a close frame");
                assert!(
                    self.conn.peer_close().is_none(),
                    "open after the peer's close"
                );
            }
            None => assert!(
                sent_close.is_some(),
                "{state:?} with everything written but no close frame sent"
            ),
            Some(CloseReason::ProtocolError(e)) => {
                assert!(
                    e.offset <= self.fed,
                    "{e:?} past the {} bytes fed",
                    self.fed
                );
                if !self.driver.close_first {
                    assert_eq!(
                        sent_close,
                        Some(Some(e.close_code())),
                        "close code for {e:?}"
                    );
                }
            }
            Some(CloseReason::Closed { initiator, code }) => {
                let peer = self.conn.peer_close().map(|c| c.code);
                assert_eq!(peer, Some(code), "close code reported");
                assert!(sent_close.is_some(), "closed without sending a close frame");
                if initiator == CloseInitiator::Local {
                    assert!(self.driver.close_first, "a local close nobody asked for");
                }
            }
            Some(CloseReason::TimedOut) => assert!(self.driver.timers, "timed out without timers"),
            Some(CloseReason::Abnormal) => panic!("abnormal end before the transport closed"),
            Some(other) => panic!("unknown close reason {other:?}"),
        }
        self.log.closed = self.conn.poll_closed();
        let now = Instant::from_millis(u64::from(u32::MAX));
        self.conn.handle_transport_closed(now);
        let end = self.conn.poll_closed();
        assert!(end.is_some(), "still alive after the transport closed");
        if let Some(before) = self.log.closed {
            assert_eq!(end, Some(before), "transport close changed how it ended");
        }
        assert_eq!(self.conn.state(), WsState::Closed);
        assert_eq!(self.conn.poll_transmit(), None, "output after the end");
        let max_message = self.conn.config().max_message_len;
        let (rx, tx) = self.conn.into_storage();
        assert!(
            tx.bytes().len() <= self.tx_bound,
            "transmit storage grew to {}",
            tx.bytes().len()
        );
        if rx.max_len() == usize::MAX {
            assert!(
                rx.bytes().len() <= max_message,
                "reassembly storage grew to {} with max_message_len {max_message}",
                rx.bytes().len()
            );
        }
        self.log
    }
}

/// Splits what a server sent into frames, checking each is a valid unmasked server frame, and
/// tells whether the bytes end inside a frame.
fn server_frames(mut bytes: &[u8]) -> (Vec<(Opcode, Vec<u8>)>, bool) {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let frame = match decode_frame(bytes, Role::Client, u64::MAX) {
            Ok(Status::Complete(frame)) => frame,
            Ok(Status::Partial { .. }) => return (frames, true),
            Err(e) => panic!("transmitted bytes are not frames: {e:?} at {bytes:?}"),
        };
        assert!(frame.header.fin, "a server frame without FIN");
        frames.push((frame.header.opcode, frame.raw_payload(bytes).to_vec()));
        bytes = &bytes[frame.len()..];
    }
    (frames, false)
}

fn run_with<R: Storage, T: Storage>(input: &Chunked, rx: R, tx: T, driver: Driver) -> Log {
    Run::new(config(input, driver.timers), rx, tx, driver).run(input)
}

fn run(input: &Chunked, driver: Driver) -> Log {
    match (input.flag(0), input.flag(1)) {
        (false, false) => run_with(input, [0u8; 512], [0u8; 256], driver),
        (true, false) => run_with(input, Vec::new(), [0u8; 256], driver),
        (false, true) => run_with(input, [0u8; 512], Vec::new(), driver),
        (true, true) => run_with(input, Vec::new(), Vec::new(), driver),
    }
}

/// The `ws_connection` target. Flags: bit 0, growable (`Vec`) reassembly storage, else a
/// 512-byte array; bit 1, growable transmit storage bounded at 1 KiB, else a 256-byte array;
/// bit 2, the driver writes only part of the queued bytes each time; bit 3, ping and idle
/// timers; bit 4, the server starts the close handshake after the first chunk; bit 5, the
/// server sends a message after every chunk. `max_message_len` is `(max_message + 1) * 16`,
/// `max_frame_len` is `(max_frame + 1) * 16`.
pub fn ws_connection(input: &Chunked) {
    // As the input says: partial writes, timers, the server's own close and messages.
    run(
        input,
        Driver {
            write_at_most: if input.flag(2) {
                usize::from(input.max_frame % 7) + 1
            } else {
                usize::MAX
            },
            timers: input.flag(3),
            close_first: input.flag(4),
            send: input.flag(5),
        },
    );
    // The same bytes in chunks and at once: the same messages, output and end.
    let plain = Driver {
        write_at_most: usize::MAX,
        timers: false,
        close_first: false,
        send: false,
    };
    let chunked = run(input, plain);
    let whole = Chunked {
        chunks: Vec::new(),
        ..input.clone()
    };
    let at_once = run(&whole, plain);
    assert_eq!(chunked, at_once, "chunking changed the outcome");
}
