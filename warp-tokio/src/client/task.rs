//! The connection task: one per [`Client`](super::Client). A thin loop over the sans-IO
//! [`ClientSession`] of `warp-proto`, which decides everything that is not IO (routing to
//! downlinks, shared links, reconnection, buffered commands): the task opens the sockets it
//! asks for, moves bytes, runs its timer, and carries events and answers to the handles'
//! channels.
//!
//! Flow control: each downlink has a bounded queue. An event that does not fit goes back to
//! the session ([`ClientSession::hold`]), which keeps that downlink's later events behind it
//! and stops asking for input until the task has delivered them, so a slow reader slows the
//! server down instead of growing memory.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::error::{SendError, TrySendError};
use tokio::sync::mpsc::{self, OwnedPermit};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant as TokioInstant;
use tracing::{debug, info, warn};
use warp_proto::app::session::client::{
    ClientSession, ClientState, DownlinkId as SessionId, Output, SessionEnd, SessionError,
};
use warp_proto::endpoint::Connect;
use warp_proto::envelope::Body;
use warp_proto::ws::Instant;
use warp_proto::Input;

use super::config::ClientConfig;
use super::downlink::{DownlinkId, HandleClose};
use super::random;
use super::transport::{self, Io};
use super::{ClientError, DownlinkEvent, ServerUrl};

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

/// The session's tag of a call: where its answer goes.
enum Tag {
    Command(oneshot::Sender<Result<(), ClientError>>),
    Close(oneshot::Sender<()>),
}

impl Tag {
    fn answer(self, result: Result<(), SessionError>) {
        match self {
            Tag::Command(reply) => {
                let _ = reply.send(result.map_err(ClientError::from));
            }
            Tag::Close(ack) => {
                let _ = ack.send(());
            }
        }
    }
}

type OpenFuture = Pin<Box<dyn Future<Output = Result<Box<dyn Io>, ClientError>> + Send>>;
type PermitResult = Result<OwnedPermit<DownlinkEvent>, SendError<()>>;
type PermitFuture = Pin<Box<dyn Future<Output = (DownlinkId, PermitResult)> + Send>>;

/// What woke the task up, other than the socket and the timer.
enum Control {
    Request(Option<Request>),
    Close(Option<HandleClose>),
    Permit(DownlinkId, PermitResult),
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
    session: ClientSession<Tag>,
    /// Each open downlink's queue.
    sinks: HashMap<DownlinkId, mpsc::Sender<DownlinkEvent>>,
    /// Downlinks waiting for room in their queue.
    waiting: HashSet<DownlinkId>,
    permits: FuturesUnordered<PermitFuture>,
    /// The socket, once open.
    io: Option<Box<dyn Io>>,
    /// The socket being opened.
    opening: Option<OpenFuture>,
    /// Why the last transport could not be opened.
    open_error: Option<ClientError>,
    rbuf: Box<[u8]>,
    /// Unconsumed bytes of `rbuf`: `start..end`.
    start: usize,
    end: usize,
    epoch: TokioInstant,
    requests_gone: bool,
    closes_gone: bool,
    ended: bool,
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
        let epoch = TokioInstant::now();
        let session = ClientSession::new(Instant::ZERO, config.session());
        Task {
            url,
            config,
            requests,
            closes,
            state,
            first: Some(first),
            session,
            sinks: HashMap::new(),
            waiting: HashSet::new(),
            permits: FuturesUnordered::new(),
            io: None,
            opening: None,
            open_error: None,
            rbuf: vec![0; READ_CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            epoch,
            requests_gone: false,
            closes_gone: false,
            ended: false,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// The tokio instant of a session deadline.
    fn at(&self, t: Instant) -> TokioInstant {
        let far = Duration::from_secs(365 * 24 * 3600);
        self.epoch
            .checked_add(Duration::from_millis(t.as_millis()))
            .or_else(|| TokioInstant::now().checked_add(far))
            .unwrap_or_else(TokioInstant::now)
    }

    /// Connects, serves, reconnects, until the session ends; then delivers what is left.
    pub(crate) async fn run(mut self) {
        loop {
            let deadline = self.drain().await;
            if self.ended {
                break;
            }
            if self.session.wants_input() && self.start < self.end {
                let now = self.now();
                let input = self.rbuf.get(self.start..self.end).unwrap_or_default();
                match self.session.handle_input(Input::Receive(now, input)) {
                    Ok(n) => self.start = self.start.saturating_add(n).min(self.end),
                    Err(e) => {
                        debug!(error = %e, "session refused input");
                        self.start = self.end;
                        let _ = self.session.handle_input(Input::TransportClosed(now));
                    }
                }
                continue;
            }
            let readable = self.session.wants_input() && self.io.is_some();
            let at = deadline.map(|t| self.at(t));
            tokio::select! {
                opened = poll_opt(&mut self.opening) => {
                    self.opening = None;
                    let now = self.now();
                    match opened {
                        Ok(io) => {
                            let connect = Connect::new(
                                self.url.authority(),
                                self.url.path(),
                                random::bytes(),
                                random::bytes(),
                            );
                            if self.session.connected(now, connect) {
                                self.io = Some(io);
                                self.start = 0;
                                self.end = 0;
                            }
                        }
                        Err(e) => {
                            info!(url = %self.url, error = %e, "WARP connection attempt failed");
                            self.open_error = Some(e);
                            self.session.connect_failed(now);
                        }
                    }
                }
                r = read_opt(&mut self.io, &mut self.rbuf), if readable => match r {
                    Ok(n) if n > 0 => {
                        self.start = 0;
                        self.end = n.min(self.rbuf.len());
                    }
                    _ => {
                        self.io = None;
                        let _ = self.session.handle_input(Input::TransportClosed(self.now()));
                    }
                },
                _ = sleep_opt(at) => {
                    let _ = self.session.handle_input(Input::Timeout(self.now()));
                }
                control = next_control(
                    &mut self.requests,
                    &mut self.closes,
                    &mut self.permits,
                    self.requests_gone,
                    self.closes_gone,
                ) => self.on_control(control),
            }
        }
        self.finish().await;
    }

    /// Drains the session's output: opens and closes sockets, writes, delivers, answers.
    /// Returns the deadline to wake up at.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            match self.session.poll_output() {
                Output::Connect => {
                    let (url, config) = (self.url.clone(), self.config.clone());
                    self.opening = Some(Box::pin(
                        async move { transport::open(&url, &config).await },
                    ));
                }
                Output::Transmit(bytes) => {
                    let written = match self.io.as_mut() {
                        Some(io) => io.write_all(bytes).await.is_ok() && io.flush().await.is_ok(),
                        None => false,
                    };
                    if !written {
                        self.io = None;
                        let now = self.now();
                        let _ = self.session.handle_input(Input::TransportClosed(now));
                    }
                }
                Output::CloseTransport(why) => {
                    debug!(url = %self.url, %why, "WARP transport closed");
                    if let Some(mut io) = self.io.take() {
                        let _ = io.shutdown().await;
                    }
                    self.opening = None;
                    self.start = 0;
                    self.end = 0;
                }
                Output::Event(id, event) => self.deliver(id.get(), event),
                Output::Done(tag, result) => tag.answer(result),
                Output::State(state) => {
                    match state {
                        ClientState::Connected => {
                            info!(url = %self.url, "WARP client connected");
                            if let Some(first) = self.first.take() {
                                let _ = first.send(Ok(()));
                            }
                        }
                        ClientState::Disconnected => {
                            info!(url = %self.url, "WARP client disconnected; will reconnect");
                        }
                        _ => {}
                    }
                    self.state.send_replace(state);
                }
                Output::Closed(end) => {
                    match end {
                        SessionEnd::GaveUp => {
                            warn!(url = %self.url, "WARP client gave up reconnecting")
                        }
                        _ => info!(url = %self.url, %end, "WARP client closed"),
                    }
                    if let Some(first) = self.first.take() {
                        let error = match end {
                            SessionEnd::ConnectFailed(e) => {
                                let open_error = self.open_error.take();
                                ClientError::from_attempt(e, || {
                                    open_error.unwrap_or(ClientError::ClientClosed)
                                })
                            }
                            _ => ClientError::ClientClosed,
                        };
                        let _ = first.send(Err(error));
                    }
                    self.ended = true;
                }
                Output::Timeout(deadline) => return deadline,
            }
        }
    }

    /// Hands `event` to downlink `id`; what does not fit goes back to the session.
    fn deliver(&mut self, id: DownlinkId, event: DownlinkEvent) {
        let Some(sink) = self.sinks.get(&id) else {
            return;
        };
        let last = matches!(event, DownlinkEvent::Unlinked(_));
        match sink.try_send(event) {
            Ok(()) => {
                if last {
                    self.end_if_ended(id);
                }
            }
            Err(TrySendError::Full(event)) => {
                self.session.hold(SessionId::new(id), event);
                self.wait_for_room(id);
            }
            // The downlink is gone; its close request is on its way.
            Err(TrySendError::Closed(_)) => {}
        }
    }

    /// Drops the queue of a downlink whose link ended for good: its stream ends.
    fn end_if_ended(&mut self, id: DownlinkId) {
        let sid = SessionId::new(id);
        if self.session.is_ended(sid) && !self.waiting.contains(&id) {
            self.sinks.remove(&id);
            self.session.close_downlink(sid, None);
        }
    }

    fn wait_for_room(&mut self, id: DownlinkId) {
        let Some(sink) = self.sinks.get(&id) else {
            return;
        };
        if self.waiting.insert(id) {
            let sink = sink.clone();
            self.permits
                .push(Box::pin(async move { (id, sink.reserve_owned().await) }));
        }
    }

    /// Room was made in downlink `id`'s queue (or it is gone): hand it its held events.
    fn on_permit(&mut self, id: DownlinkId, permit: PermitResult) {
        self.waiting.remove(&id);
        let sid = SessionId::new(id);
        let Ok(permit) = permit else {
            while self.session.take_held(sid).is_some() {}
            return;
        };
        let Some(event) = self.session.take_held(sid) else {
            return;
        };
        permit.send(event);
        while let Some(event) = self.session.take_held(sid) {
            let Some(sink) = self.sinks.get(&id) else {
                return;
            };
            match sink.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(event)) => {
                    self.session.hold(sid, event);
                    self.wait_for_room(id);
                    return;
                }
                Err(TrySendError::Closed(_)) => {
                    while self.session.take_held(sid).is_some() {}
                    return;
                }
            }
        }
        self.end_if_ended(id);
    }

    fn on_control(&mut self, control: Control) {
        match control {
            Control::Request(None) => {
                self.requests_gone = true;
                self.session.handles_gone();
            }
            Control::Request(Some(request)) => self.on_request(request),
            Control::Close(None) => {
                self.closes_gone = true;
                self.requests_gone = true;
                self.session.handles_gone();
            }
            Control::Close(Some(close)) => self.on_handle_close(close),
            Control::Permit(id, permit) => self.on_permit(id, permit),
        }
    }

    fn on_request(&mut self, request: Request) {
        match request {
            Request::Open {
                id,
                node,
                lane,
                sync,
                events,
                reply,
            } => {
                if events.is_closed() {
                    // The caller gave up waiting.
                    let _ = reply.send(Err(ClientError::ClientClosed));
                    return;
                }
                let opened = self.session.open(SessionId::new(id), &node, &lane, sync);
                if opened.is_ok() {
                    self.sinks.insert(id, events);
                }
                let _ = reply.send(opened.map_err(ClientError::from));
            }
            Request::Command {
                node,
                lane,
                body,
                reply,
            } => {
                self.session
                    .command(&node, &lane, Body::from_raw(&body), Tag::Command(reply));
            }
            Request::Close { reply } => self.session.close(Some(Tag::Close(reply))),
        }
    }

    /// A downlink closed or was dropped.
    fn on_handle_close(&mut self, close: HandleClose) {
        self.sinks.remove(&close.id);
        self.waiting.remove(&close.id);
        self.session
            .close_downlink(SessionId::new(close.id), close.ack.map(Tag::Close));
    }

    /// The session has ended: answer the requests still queued, deliver the held events,
    /// acknowledge the closes that come meanwhile.
    async fn finish(mut self) {
        self.requests.close();
        while let Ok(request) = self.requests.try_recv() {
            match request {
                Request::Open { reply, .. } | Request::Command { reply, .. } => {
                    let _ = reply.send(Err(ClientError::ClientClosed));
                }
                Request::Close { reply } => self.session.close(Some(Tag::Close(reply))),
            }
        }
        loop {
            self.drain().await;
            if self.permits.is_empty() {
                break;
            }
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
        self.drain().await;
    }
}

/// Waits for the next request, downlink close or room in a downlink's queue.
async fn next_control(
    requests: &mut mpsc::Receiver<Request>,
    closes: &mut mpsc::UnboundedReceiver<HandleClose>,
    permits: &mut FuturesUnordered<PermitFuture>,
    requests_gone: bool,
    closes_gone: bool,
) -> Control {
    let permitted = !permits.is_empty();
    tokio::select! {
        r = requests.recv(), if !requests_gone => Control::Request(r),
        c = closes.recv(), if !closes_gone => Control::Close(c),
        Some((id, p)) = permits.next(), if permitted => Control::Permit(id, p),
        else => std::future::pending().await,
    }
}

/// The socket being opened, if any (else never ready).
async fn poll_opt(opening: &mut Option<OpenFuture>) -> Result<Box<dyn Io>, ClientError> {
    match opening.as_mut() {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// Reads from the socket, if any (else never ready).
async fn read_opt(io: &mut Option<Box<dyn Io>>, buf: &mut [u8]) -> std::io::Result<usize> {
    match io.as_mut() {
        Some(io) => io.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `at`, if any (else never ready).
async fn sleep_opt(at: Option<TokioInstant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
