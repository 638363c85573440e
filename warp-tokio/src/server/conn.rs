//! One connection, one task: moves bytes between the socket and a
//! [`ServerEndpoint`], and answers the endpoint's requests from the shared plane through
//! [`Uplinks`].
//!
//! The task owns the endpoint and never blocks on one direction only: it waits at once for the
//! socket to read, the socket to take bytes, the endpoint's next deadline, changes published
//! by other connections, and the server's shutdown. Output the endpoint hands out is written
//! in order; while more than [`ServerConfig::write_high_water`] bytes wait to be written the
//! task takes no new input (no reads, no changes), so a peer that does not read stops being
//! read from, and then falls behind on changes and is closed as overloaded (see
//! [`hub`](super::hub)).

use std::collections::HashMap;
use std::future::pending;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout};
use warp_proto::app::{Handled, Pump, UplinkError, Uplinks};
use warp_proto::connection::{CallError, Close, LinkId, QueueError};
use warp_proto::endpoint::{CloseReason, Input, Output, ServerEndpoint, ServerEvent};
use warp_proto::ws::Instant;

use super::hub::{Change, ConnId, Overload};
use super::request::Request;
use super::{ServerConfig, Shared};

/// How many published changes are taken from the channel in one go before writing.
const CHANGE_BATCH: usize = 64;

/// The endpoint type of a server connection: growable buffers within the configured limits.
type Endpoint = ServerEndpoint<Vec<u8>, Vec<u8>>;

/// Serves one accepted (and, with TLS, decrypted) connection until it ends; returns why.
pub(crate) async fn serve<R, W>(
    reader: R,
    writer: W,
    peer: SocketAddr,
    shared: Arc<Shared>,
) -> Option<CloseReason>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let config = &shared.config;
    let ep = match Endpoint::new(shared.now(), config.endpoint) {
        Ok(ep) => ep,
        Err(e) => {
            tracing::error!(%peer, "cannot create the endpoint: {e}");
            return None;
        }
    };
    let membership = shared.hub.lock().join(config.fanout_capacity);
    let mut conn = Conn {
        ep,
        uplinks: Uplinks::new(config.max_pending),
        links: HashMap::new(),
        id: membership.id,
        changes: membership.changes,
        overload: membership.overload,
        retry: None,
        blocked: false,
        out: Vec::new(),
        written: 0,
        needs_flush: false,
        write_broken: false,
        inbuf: vec![0; config.read_buffer_len.max(1)].into_boxed_slice(),
        start: 0,
        end: 0,
        stalled: false,
        closing: false,
        shared: Arc::clone(&shared),
    };
    let span = tracing::debug_span!("warp_conn", conn = conn.id, %peer);
    let reason = {
        let _enter = span.enter();
        tracing::debug!("connection accepted");
        drop(_enter);
        conn.run(reader, writer).await
    };
    shared
        .hub
        .lock()
        .leave(conn.id, conn.links.values().map(String::as_str));
    span.in_scope(|| tracing::debug!("connection ended: {reason}"));
    Some(reason)
}

/// What draining the endpoint ended with.
enum Drained {
    /// Wait for input until this deadline (`None`: no deadline).
    Wait(Option<Instant>),
    /// The endpoint ended.
    Closed(CloseReason),
}

/// The state of one connection task.
struct Conn {
    ep: Endpoint,
    uplinks: Uplinks<Change>,
    /// The open links answered from the plane, with their node (for the hub's watches).
    links: HashMap<LinkId, String>,
    id: ConnId,
    changes: mpsc::Receiver<Change>,
    overload: Arc<Overload>,
    /// A request refused for backpressure, to answer again once output drained.
    retry: Option<Request>,
    /// The uplinks have work the connection's queue could not take yet.
    blocked: bool,
    /// Bytes handed out by the endpoint, not yet written (from `written` on).
    out: Vec<u8>,
    written: usize,
    needs_flush: bool,
    /// Writing failed: what the endpoint hands out is dropped.
    write_broken: bool,
    /// Bytes read, handed to the endpoint from `start` to `end`.
    inbuf: Box<[u8]>,
    start: usize,
    end: usize,
    /// The endpoint took none of the unread bytes last time: wait for something else to
    /// happen before handing them in again (no busy loop).
    stalled: bool,
    /// This side has asked the endpoint to close (shutdown, overload).
    closing: bool,
    shared: Arc<Shared>,
}

impl Conn {
    fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// Bytes handed out and not yet written.
    fn unwritten(&self) -> usize {
        self.out.len().saturating_sub(self.written)
    }

    /// Whether the task may take new input (reads, changes, retries).
    fn has_room(&self) -> bool {
        self.unwritten() < self.config().write_high_water
    }

    async fn run<R, W>(&mut self, mut reader: R, mut writer: W) -> CloseReason
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut stop = self.shared.stop.subscribe();
        let mut read_open = true;
        loop {
            let deadline = match self.drain() {
                Drained::Wait(deadline) => deadline,
                Drained::Closed(reason) => {
                    self.finish(&mut writer).await;
                    return reason;
                }
            };
            if self.has_room() {
                if let Some(request) = self.retry.take() {
                    self.answer(request);
                    continue;
                }
                if self.blocked {
                    self.pump();
                    continue;
                }
                if self.start < self.end && !self.stalled {
                    self.receive();
                    continue;
                }
            }
            self.stalled = false;
            let has_out = self.unwritten() > 0 && !self.write_broken;
            let flush = self.needs_flush && !self.write_broken;
            let take_input = self.has_room() && self.retry.is_none();
            let read_more = read_open && take_input && self.start >= self.end;
            let take_changes = take_input
                && !self.closing
                && !self.blocked
                && self.uplinks.pending() < self.uplinks.max_pending();
            let deadline = deadline.map(|t| self.shared.instant(t));
            let Conn {
                out,
                written,
                inbuf,
                changes,
                overload,
                closing,
                ..
            } = self;
            let pending_out = out.get(*written..).unwrap_or_default();
            tokio::select! {
                () = overload.raised(), if !*closing => {
                    tracing::warn!("closing a connection that does not keep up with its changes");
                    self.close(Close::Overloaded);
                }
                _ = stop.wait_for(|stopping| *stopping), if !*closing => {
                    tracing::debug!("server shutting down: closing");
                    self.close(Close::GoingAway);
                }
                wrote = async {
                    if has_out {
                        writer.write(pending_out).await.map(Some)
                    } else {
                        writer.flush().await.map(|()| None)
                    }
                }, if has_out || flush => self.wrote(wrote),
                read = reader.read(inbuf), if read_more => match read {
                    Ok(0) | Err(_) => {
                        read_open = false;
                        self.transport_closed();
                    }
                    Ok(n) => {
                        self.start = 0;
                        self.end = n;
                        self.receive();
                    }
                },
                change = changes.recv(), if take_changes => match change {
                    Some(change) => self.deliver(change),
                    // The hub dropped this connection (it cannot while the task runs).
                    None => self.close(Close::Overloaded),
                },
                () = async {
                    match deadline {
                        Some(deadline) => sleep_until(deadline).await,
                        None => pending().await,
                    }
                } => self.input(Input::Timeout(self.shared.now())),
            }
        }
    }

    /// Handles the outcome of one write or flush.
    fn wrote(&mut self, result: io::Result<Option<usize>>) {
        match result {
            Ok(Some(0)) | Err(_) => {
                if let Err(e) = result {
                    tracing::debug!("write failed: {e}");
                }
                self.write_broken = true;
                self.out.clear();
                self.written = 0;
                self.transport_closed();
            }
            Ok(Some(n)) => {
                self.written = self.written.saturating_add(n);
                let high_water = self.config().write_high_water;
                if self.written >= self.out.len() {
                    self.out.clear();
                    self.written = 0;
                    self.needs_flush = true;
                    // Give back what a burst (a large sync) made the buffer grow to.
                    if self.out.capacity() > high_water.saturating_mul(2) {
                        self.out.shrink_to(high_water);
                    }
                } else if self.written >= high_water {
                    // Output keeps coming before it is all written: drop the written part
                    // so that the buffer does not grow with it.
                    self.out.drain(..self.written);
                    self.written = 0;
                }
            }
            Ok(None) => self.needs_flush = false,
        }
    }

    /// Drains the endpoint: queues what it transmits and answers its requests.
    fn drain(&mut self) -> Drained {
        loop {
            match self.ep.poll_output() {
                Output::Transmit(bytes) => {
                    self.stalled = false;
                    if !self.write_broken {
                        self.out.extend_from_slice(bytes);
                    }
                }
                Output::Event(ServerEvent::Received(request)) => {
                    self.stalled = false;
                    let request = Request::copy(&request);
                    self.answer(request);
                }
                Output::Event(ServerEvent::Connected { path, protocol }) => {
                    tracing::debug!(path, protocol, "WebSocket open");
                }
                Output::Event(ServerEvent::ProtocolError(e)) => {
                    tracing::debug!("peer sent a bad frame: {e}");
                }
                Output::Event(_) => {}
                Output::Message(_) => {
                    // Only message-mode endpoints hand out messages; this one frames its own.
                    tracing::error!("a framed endpoint handed out a message; closing");
                    self.ep.close();
                }
                Output::Timeout(deadline) => return Drained::Wait(deadline),
                Output::Closed(reason) => return Drained::Closed(reason),
            }
        }
    }

    /// Hands the endpoint the unread part of the input buffer (it may take only part of it).
    fn receive(&mut self) {
        let now = self.shared.now();
        let bytes = self.inbuf.get(self.start..self.end).unwrap_or_default();
        match self.ep.handle_input(Input::Receive(now, bytes)) {
            Ok(n) => {
                self.stalled = n == 0;
                self.start = self.start.saturating_add(n).min(self.end);
            }
            Err(e) => {
                tracing::error!("endpoint refused input: {e}");
                self.start = self.end;
                self.transport_closed();
            }
        }
    }

    /// Hands the endpoint an input other than bytes.
    fn input(&mut self, input: Input<'_>) {
        if let Err(e) = self.ep.handle_input(input) {
            tracing::error!("endpoint refused input: {e}");
            self.transport_closed();
        }
    }

    /// The transport is gone (always accepted by the endpoint).
    fn transport_closed(&mut self) {
        let _ = self
            .ep
            .handle_input(Input::TransportClosed(self.shared.now()));
    }

    /// Closes the endpoint with `why` and stops taking changes.
    fn close(&mut self, why: Close) {
        self.closing = true;
        self.ep.close_with(why);
    }

    /// Answers one request from the plane.
    fn answer(&mut self, request: Request) {
        let Some(server_request) = request.as_server_request() else {
            return;
        };
        let now = self.shared.now();
        let Conn {
            ep,
            uplinks,
            links,
            shared,
            id,
            ..
        } = self;
        let mut hub = shared.hub.lock();
        let handled =
            ep.with_connection(|conn| uplinks.handle(&mut hub.plane, conn, server_request, now));
        let mut auth = None;
        match handled {
            Ok(Handled::Done) => match &request {
                Request::Link { link, node, .. } => {
                    // A link opened again keeps its id: watch its node once.
                    let first = links.insert(*link, node.clone()).is_none();
                    if first {
                        hub.watch(*id, node);
                    }
                }
                Request::Unlink { link } => {
                    if let Some(node) = links.remove(link) {
                        hub.unwatch(*id, &node);
                    }
                }
                _ => {}
            },
            Ok(Handled::Rejected(e)) => {
                if let Request::Sync { link } = &request {
                    if let Some(node) = links.remove(link) {
                        hub.unwatch(*id, &node);
                    }
                }
                tracing::debug!("link refused: {e}");
            }
            Ok(Handled::Publish(published)) => {
                hub.publish(published);
            }
            Ok(Handled::CommandDropped(e)) => tracing::debug!("command dropped: {e}"),
            Ok(Handled::Auth(body)) => auth = Some(body),
            Ok(_) => {}
            Err(UplinkError::Call(CallError::Queue(QueueError::Full { .. }))) => {
                drop(hub);
                self.retry = Some(request);
                return;
            }
            Err(UplinkError::Overloaded { max }) => {
                drop(hub);
                tracing::warn!("more than {max} replays and changes queued; closing");
                self.close(Close::Overloaded);
                return;
            }
            Err(e) => tracing::debug!("cannot answer a request: {e}"),
        }
        drop(hub);
        if let Some(body) = auth {
            let accepted = match &self.shared.authenticator {
                Some(check) => check(body.raw()),
                None => true,
            };
            if let Err(e) = self.ep.authenticate(accepted) {
                tracing::debug!("cannot answer auth: {e}");
            }
        }
        self.pump();
    }

    /// Queues a change published by any connection (this one included) and writes it.
    fn deliver(&mut self, first: Change) {
        let mut next = Some(first);
        let mut taken = 0usize;
        while let Some(change) = next.take() {
            if let Err(e) = self.uplinks.deliver(change) {
                tracing::warn!("{e}; closing");
                self.close(Close::Overloaded);
                return;
            }
            taken = taken.saturating_add(1);
            if taken < CHANGE_BATCH && self.uplinks.pending() < self.uplinks.max_pending() {
                next = self.changes.try_recv().ok();
            }
        }
        self.pump();
    }

    /// Writes queued replays and changes into the connection, as far as its queue takes them.
    fn pump(&mut self) {
        let Conn { ep, uplinks, .. } = self;
        match ep.with_connection(|conn| uplinks.pump(conn)) {
            Ok(Pump::Idle) => self.blocked = false,
            Ok(Pump::Blocked) => self.blocked = true,
            Err(CallError::Closed) => self.blocked = false,
            Err(e) => {
                self.blocked = false;
                tracing::warn!("cannot write an event: {e}; closing");
                self.close(Close::Normal);
            }
        }
    }

    /// After the endpoint ended: writes what is left (the close frame, an HTTP error answer)
    /// within the close timeout, then shuts the socket down.
    async fn finish<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) {
        if self.write_broken {
            return;
        }
        let limit = self
            .config()
            .endpoint
            .ws
            .close_timeout
            .unwrap_or(Duration::from_secs(5));
        let rest = self.out.get(self.written..).unwrap_or_default();
        let flushed = timeout(limit, async {
            writer.write_all(rest).await?;
            writer.shutdown().await
        })
        .await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!("final write failed: {e}"),
            Err(_) => tracing::debug!("final write timed out"),
        }
        self.out.clear();
        self.written = 0;
    }
}
