//! The connection task: one per [`Client`](super::Client). It owns the socket and the sans-IO
//! [`ClientEndpoint`], moves bytes between them, turns the endpoint's events into owned
//! [`DownlinkEvent`]s for the downlinks, and carries out the requests of the client's handles.
//! When the connection is lost it reconnects with back-off ([`Reconnect`]), re-opens every
//! open downlink and sends the commands held meanwhile ([`CommandBuffer`]).
//!
//! Flow control: each downlink has a bounded queue. An event that does not fit waits in the
//! downlink's small outbox in the task, and while any outbox holds events the task reads
//! nothing more from the socket (it still serves requests and timers), so a slow reader slows
//! the server down instead of growing memory.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc::error::SendError;
use tokio::sync::mpsc::{self, OwnedPermit};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant as TokioInstant;
use tracing::{debug, info, warn};
use warp_proto::app::{CommandBuffer, Reconnect};
use warp_proto::connection::HandleId;
use warp_proto::endpoint::{ClientEndpoint, CloseReason, Connect, Input, Output};
use warp_proto::recon::Value;
use warp_proto::ws::Instant;

mod events;
mod requests;

use super::config::ClientConfig;
use super::downlink::{DownlinkEvent, DownlinkId, HandleClose, UnlinkReason};
use super::error::ClientError;
use super::random;
use super::transport::{self, Io};
use super::url::ServerUrl;
use super::ClientState;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// What a [`Client`](super::Client) asks of its connection task.
pub(crate) enum Request {
    /// Open a downlink.
    Open {
        id: DownlinkId,
        node: String,
        lane: String,
        sync: bool,
        events: mpsc::Sender<DownlinkEvent>,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    /// Send a command; the reply comes once it is written (or refused).
    Command {
        node: String,
        lane: String,
        body: String,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    /// Close the client.
    Close { reply: oneshot::Sender<()> },
}

type Endpoint = ClientEndpoint<Vec<u8>, Vec<u8>>;

/// One connection: the endpoint and its socket.
struct Conn {
    ep: Endpoint,
    io: BufWriter<Box<dyn Io>>,
    rbuf: Box<[u8]>,
    /// Unconsumed bytes of `rbuf`: `start..end`.
    start: usize,
    end: usize,
    /// A write failed or the read side ended: nothing more is written.
    broken: bool,
    /// The WebSocket handshake completed.
    connected: bool,
    /// `close` was called on the endpoint.
    close_sent: bool,
    /// The handshake did not complete within the connect timeout.
    handshake_timed_out: bool,
}

/// A downlink as the task knows it.
struct Slot {
    node: String,
    lane: String,
    sync: bool,
    events: mpsc::Sender<DownlinkEvent>,
    /// Events that did not fit the downlink's queue, oldest first.
    outbox: VecDeque<DownlinkEvent>,
    /// Its handle on the current connection.
    handle: Option<HandleId>,
    /// `linked` was received on the current connection.
    linked: bool,
    /// Its link ended for good: removed once the outbox is delivered.
    ending: bool,
}

/// Something acknowledged once the bytes it queued have been written.
enum Ack {
    Command(oneshot::Sender<Result<(), ClientError>>),
    Close(oneshot::Sender<()>),
}

impl Ack {
    /// The bytes were written.
    fn written(self) {
        match self {
            Ack::Command(reply) => {
                let _ = reply.send(Ok(()));
            }
            Ack::Close(ack) => {
                let _ = ack.send(());
            }
        }
    }

    /// The connection ended before the bytes were written.
    fn lost(self) {
        match self {
            Ack::Command(reply) => {
                let _ = reply.send(Err(ClientError::ConnectionLost));
            }
            Ack::Close(ack) => {
                let _ = ack.send(());
            }
        }
    }
}

type PermitResult = Result<OwnedPermit<DownlinkEvent>, SendError<()>>;
type PermitFuture = Pin<Box<dyn Future<Output = (DownlinkId, PermitResult)> + Send>>;

/// What woke the task up, other than the socket and the endpoint's timer.
enum Control {
    Request(Option<Request>),
    Close(Option<HandleClose>),
    Permit(DownlinkId, PermitResult),
}

/// An endpoint event, owned (the handles it goes to are in `Task::scratch`).
enum Incoming {
    Connected,
    Linked,
    Event(Value),
    Synced,
    Unlinked(UnlinkReason),
    Nothing,
}

/// How the endpoint's output was drained.
enum Drained {
    /// Everything written; wake up at this deadline (or on input).
    Idle(Option<Instant>),
    /// The connection has ended.
    Closed(CloseReason),
}

/// How one connection attempt ended.
enum Attempt {
    /// The client is closing: no more attempts.
    Stopped,
    /// No connection was made.
    Failed(ClientError),
    /// A connection was made, and has ended.
    Ended(CloseReason),
}

/// The connection task's state.
pub(crate) struct Task {
    url: ServerUrl,
    config: ClientConfig,
    requests: mpsc::Receiver<Request>,
    closes: mpsc::UnboundedReceiver<HandleClose>,
    state: watch::Sender<ClientState>,
    /// Where the outcome of the first connection goes ([`Client::connect`](super::Client::connect)).
    first: Option<oneshot::Sender<Result<(), ClientError>>>,
    slots: BTreeMap<DownlinkId, Slot>,
    by_handle: HashMap<HandleId, DownlinkId>,
    /// Downlinks to open on the current connection, in order.
    to_open: VecDeque<DownlinkId>,
    /// Handles to close once the endpoint's queue has room.
    to_close: VecDeque<(HandleId, Option<oneshot::Sender<()>>)>,
    /// Downlinks whose outbox holds events.
    backlogged: HashSet<DownlinkId>,
    permits: FuturesUnordered<PermitFuture>,
    commands: CommandBuffer,
    command_replies: VecDeque<oneshot::Sender<Result<(), ClientError>>>,
    /// Acknowledged once the bytes queued so far are written.
    unwritten: Vec<Ack>,
    reconnect: Option<Reconnect>,
    epoch: TokioInstant,
    clients_gone: bool,
    closes_gone: bool,
    closing: bool,
    close_waiters: Vec<oneshot::Sender<()>>,
    /// The handles of the event being handled.
    scratch: Vec<HandleId>,
}

impl Task {
    /// A task for `url`; it reports the first connection's outcome on `first`.
    pub(crate) fn new(
        url: ServerUrl,
        config: ClientConfig,
        requests: mpsc::Receiver<Request>,
        closes: mpsc::UnboundedReceiver<HandleClose>,
        state: watch::Sender<ClientState>,
        first: oneshot::Sender<Result<(), ClientError>>,
    ) -> Task {
        let commands = CommandBuffer::new(config.max_buffered_commands, config.max_buffered_bytes);
        let reconnect = config.reconnect.map(Reconnect::new);
        Task {
            url,
            config,
            requests,
            closes,
            state,
            first: Some(first),
            slots: BTreeMap::new(),
            by_handle: HashMap::new(),
            to_open: VecDeque::new(),
            to_close: VecDeque::new(),
            backlogged: HashSet::new(),
            permits: FuturesUnordered::new(),
            commands,
            command_replies: VecDeque::new(),
            unwritten: Vec::new(),
            reconnect,
            epoch: TokioInstant::now(),
            clients_gone: false,
            closes_gone: false,
            closing: false,
            close_waiters: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Connects, serves, reconnects, until the client closes or gives up.
    pub(crate) async fn run(mut self) {
        loop {
            self.state.send_replace(ClientState::Connecting);
            let attempt = self.attempt().await;
            let now = self.now();
            match attempt {
                Attempt::Stopped => break,
                Attempt::Failed(e) => {
                    if let Some(first) = self.first.take() {
                        let _ = first.send(Err(e));
                        break;
                    }
                    info!(url = %self.url, error = %e, "WARP reconnection attempt failed");
                }
                Attempt::Ended(reason) => {
                    info!(url = %self.url, %reason, "WARP connection ended");
                }
            }
            if self.stopping() {
                break;
            }
            let Some(deadline) = self.reconnect.as_mut().and_then(|r| r.disconnected(now)) else {
                if self.reconnect.is_some() {
                    warn!(url = %self.url, "WARP client gave up reconnecting");
                }
                break;
            };
            self.disconnected();
            self.state.send_replace(ClientState::Disconnected);
            debug!(url = %self.url, retry_at = %deadline, "WARP client waiting to reconnect");
            if !self.wait_until(deadline).await {
                break;
            }
            if let Some(r) = self.reconnect.as_mut() {
                r.handle_timeout(deadline);
            }
        }
        self.finish().await;
    }

    /// Whether the connection is no longer wanted: the client was closed, or no client and no
    /// open downlink is left.
    fn stopping(&self) -> bool {
        self.closing || (self.clients_gone && self.slots.values().all(|s| s.ending))
    }

    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// The tokio instant of an endpoint deadline.
    fn at(&self, t: Instant) -> TokioInstant {
        let far = Duration::from_secs(365 * 24 * 3600);
        self.epoch
            .checked_add(Duration::from_millis(t.as_millis()))
            .or_else(|| TokioInstant::now().checked_add(far))
            .unwrap_or_else(TokioInstant::now)
    }

    /// One connection: open the transport, run the endpoint until it closes.
    async fn attempt(&mut self) -> Attempt {
        let timeout = self.config.connect_timeout;
        let start = TokioInstant::now();
        let deadline = start.checked_add(timeout).unwrap_or(start);
        let (url, config) = (self.url.clone(), self.config.clone());
        let open = async move { transport::open(&url, &config).await };
        tokio::pin!(open);
        let io = loop {
            if self.stopping() {
                return Attempt::Stopped;
            }
            tokio::select! {
                r = &mut open => match r {
                    Ok(io) => break io,
                    Err(e) => return Attempt::Failed(e),
                },
                _ = tokio::time::sleep_until(deadline) => {
                    return Attempt::Failed(ClientError::ConnectTimeout(timeout));
                }
                control = self.next_control() => self.on_control(None, control),
            }
        };
        let connect = Connect::new(
            self.url.authority(),
            self.url.path(),
            random::bytes(),
            random::bytes(),
        );
        let ep = match Endpoint::new(self.now(), self.config.endpoint, connect) {
            Ok(ep) => ep,
            Err(e) => return Attempt::Failed(ClientError::Endpoint(e)),
        };
        let mut conn = Conn {
            ep,
            io: BufWriter::new(io),
            rbuf: vec![0; READ_CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            broken: false,
            connected: false,
            close_sent: false,
            handshake_timed_out: false,
        };
        self.to_open = self
            .slots
            .iter()
            .filter(|(_, s)| !s.ending)
            .map(|(&id, _)| id)
            .collect();
        let reason = self.serve(&mut conn, deadline).await;
        for ack in self.unwritten.drain(..) {
            ack.lost();
        }
        for (_, ack) in self.to_close.drain(..) {
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
        }
        self.by_handle.clear();
        if !conn.connected {
            for slot in self.slots.values_mut() {
                slot.handle = None;
            }
            return Attempt::Failed(if conn.handshake_timed_out {
                ClientError::ConnectTimeout(timeout)
            } else {
                ClientError::Closed(reason)
            });
        }
        Attempt::Ended(reason)
    }

    /// Runs one connection until the endpoint reports `Closed`.
    async fn serve(&mut self, conn: &mut Conn, handshake_deadline: TokioInstant) -> CloseReason {
        let handshake = tokio::time::sleep_until(handshake_deadline);
        tokio::pin!(handshake);
        // The endpoint's timer, reset only when its deadline changes.
        let timer = tokio::time::sleep_until(handshake_deadline);
        tokio::pin!(timer);
        let mut timer_at: Option<TokioInstant> = None;
        loop {
            let deadline = match self.drain(conn).await {
                Drained::Idle(deadline) => deadline,
                Drained::Closed(reason) => return reason,
            };
            if !conn.close_sent && self.queue_work(conn) {
                continue;
            }
            if self.stopping() && !conn.close_sent {
                conn.close_sent = true;
                conn.ep.close();
                continue;
            }
            if conn.start < conn.end && self.backlogged.is_empty() {
                let now = self.now();
                let input = conn.rbuf.get(conn.start..conn.end).unwrap_or_default();
                match conn.ep.handle_input(Input::Receive(now, input)) {
                    Ok(n) => conn.start = conn.start.saturating_add(n).min(conn.end),
                    Err(e) => {
                        debug!(error = %e, "endpoint refused input");
                        conn.start = conn.end;
                        let _ = conn.ep.handle_input(Input::TransportClosed(now));
                    }
                }
                continue;
            }
            let at = deadline.map(|t| self.at(t));
            if at != timer_at {
                if let Some(at) = at {
                    timer.as_mut().reset(at);
                }
                timer_at = at;
            }
            let readable = conn.start >= conn.end && self.backlogged.is_empty() && !conn.broken;
            let timed = timer_at.is_some();
            let handshaking = !conn.connected && !conn.broken;
            tokio::select! {
                r = conn.io.read(&mut conn.rbuf), if readable => match r {
                    Ok(n) if n > 0 => {
                        conn.start = 0;
                        conn.end = n.min(conn.rbuf.len());
                    }
                    _ => {
                        conn.broken = true;
                        let _ = conn.ep.handle_input(Input::TransportClosed(self.now()));
                    }
                },
                _ = &mut timer, if timed => {
                    timer_at = None;
                    let _ = conn.ep.handle_input(Input::Timeout(self.now()));
                }
                _ = &mut handshake, if handshaking => {
                    conn.handshake_timed_out = true;
                    conn.broken = true;
                    let _ = conn.ep.handle_input(Input::TransportClosed(self.now()));
                }
                control = self.next_control() => self.on_control(Some(&mut *conn), control),
            }
        }
    }

    /// Drains the endpoint's output: writes what it hands out, handles its events.
    async fn drain(&mut self, conn: &mut Conn) -> Drained {
        loop {
            let mut failed = false;
            let incoming = match conn.ep.poll_output() {
                Output::Transmit(bytes) => {
                    if !conn.broken && conn.io.write_all(bytes).await.is_err() {
                        failed = true;
                    }
                    Incoming::Nothing
                }
                Output::Event(event) => events::incoming(event, &mut self.scratch),
                Output::Timeout(deadline) => {
                    if conn.broken {
                        return Drained::Idle(deadline);
                    }
                    if conn.io.flush().await.is_ok() {
                        for ack in self.unwritten.drain(..) {
                            ack.written();
                        }
                        return Drained::Idle(deadline);
                    }
                    failed = true;
                    Incoming::Nothing
                }
                Output::Closed(reason) => {
                    if !conn.broken && conn.io.flush().await.is_ok() {
                        for ack in self.unwritten.drain(..) {
                            ack.written();
                        }
                    }
                    return Drained::Closed(reason);
                }
                // Only in message mode, which this driver does not use.
                Output::Message(_) => Incoming::Nothing,
            };
            if failed {
                conn.broken = true;
                let _ = conn.ep.handle_input(Input::TransportClosed(self.now()));
            }
            self.on_incoming(conn, incoming);
        }
    }

    /// Sleeps until `deadline` while serving requests; `false` if the client stops meanwhile.
    async fn wait_until(&mut self, deadline: Instant) -> bool {
        let at = self.at(deadline);
        loop {
            if self.stopping() {
                return false;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(at) => return true,
                control = self.next_control() => self.on_control(None, control),
            }
        }
    }

    /// The client is closed: every downlink ends with `Unlinked(Closed)`, every waiting call
    /// is answered, then the queued events are delivered.
    async fn finish(mut self) {
        self.state.send_replace(ClientState::Closed);
        if let Some(first) = self.first.take() {
            let _ = first.send(Err(ClientError::ClientClosed));
        }
        self.requests.close();
        while let Ok(request) = self.requests.try_recv() {
            match request {
                Request::Open { reply, .. } | Request::Command { reply, .. } => {
                    let _ = reply.send(Err(ClientError::ClientClosed));
                }
                Request::Close { reply } => self.close_waiters.push(reply),
            }
        }
        let dropped = self.commands.len();
        if dropped > 0 {
            warn!(url = %self.url, dropped, "WARP client closed with commands unsent");
        }
        self.commands.clear();
        for reply in self.command_replies.drain(..) {
            let _ = reply.send(Err(ClientError::ClientClosed));
        }
        let ids: Vec<DownlinkId> = self
            .slots
            .iter()
            .filter(|(_, s)| !s.ending)
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            self.deliver(id, DownlinkEvent::Unlinked(UnlinkReason::Closed));
            self.end_slot(id);
        }
        for waiter in self.close_waiters.drain(..) {
            let _ = waiter.send(());
        }
        while !self.permits.is_empty() {
            let closes = !self.closes_gone;
            tokio::select! {
                Some((id, p)) = self.permits.next() => self.on_permit(id, p),
                c = self.closes.recv(), if closes => match c {
                    Some(close) => self.on_handle_close(close),
                    None => self.closes_gone = true,
                },
                else => break,
            }
        }
        // Closes that arrived meanwhile: acknowledge them.
        self.closes.close();
        while let Ok(close) = self.closes.try_recv() {
            self.on_handle_close(close);
        }
        for (_, ack) in self.to_close.drain(..) {
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
        }
    }
}
