//! The connection task: one per [`Client`](super::Client). A thin loop over the sans-IO
//! [`ClientSession`] of `warp-proto` (the same one `warp-tokio` drives), which decides
//! everything that is not IO: the task opens the sockets it asks for, moves bytes, runs its
//! `async-io` timer and carries events and answers to the handles' channels.
//!
//! Flow control: each downlink has a bounded queue. An event that does not fit goes back to
//! the session ([`ClientSession::hold`]); a small helper task waits for room and sends it, and
//! until it has, the session keeps that downlink's later events and the task reads nothing
//! more from the socket.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::{Duration, Instant as StdInstant};

use async_channel::{Receiver, Sender, TrySendError};
use async_io::Timer;
use async_net::TcpStream;
use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
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
use super::state::StateCell;
use super::transport;
use super::{ClientError, DownlinkEvent, ServerUrl};

/// Rounds of the client's loop between two turns given to the executor's other tasks.
const YIELD_EVERY: u32 = 16;

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
        events: Sender<DownlinkEvent>,
        reply: Sender<Result<(), ClientError>>,
    },
    /// Send a command; the reply comes once it is written (or refused).
    Command {
        node: String,
        lane: String,
        body: String,
        reply: Sender<Result<(), ClientError>>,
    },
    /// Close the client.
    Close { reply: Sender<()> },
}

/// The session's tag of a call: where its answer goes.
enum Tag {
    Command(Sender<Result<(), ClientError>>),
    Close(Sender<()>),
}

impl Tag {
    fn answer(self, result: Result<(), SessionError>) {
        match self {
            Tag::Command(reply) => {
                let _ = reply.try_send(result.map_err(ClientError::from));
            }
            Tag::Close(ack) => {
                let _ = ack.try_send(());
            }
        }
    }
}

/// A helper task's report: the downlink, and whether its event was delivered.
type Room = (DownlinkId, bool);

type OpenFuture = Pin<Box<dyn Future<Output = Result<TcpStream, ClientError>> + Send>>;

/// What woke the task up.
enum Wake {
    Opened(Result<TcpStream, ClientError>),
    Read(io::Result<usize>),
    Timer,
    Request(Option<Request>),
    Close(Option<HandleClose>),
    /// A held event was sent to the downlink (`true`), or the downlink is gone.
    Room(DownlinkId, bool),
}

/// The connection task's state.
pub(crate) struct Task {
    url: ServerUrl,
    requests: Receiver<Request>,
    closes: Receiver<HandleClose>,
    state: std::sync::Arc<StateCell>,
    /// Where the outcome of the first connection goes.
    first: Option<Sender<Result<(), ClientError>>>,
    session: ClientSession<Tag>,
    sinks: HashMap<DownlinkId, Sender<DownlinkEvent>>,
    /// Downlinks with an event being sent by a helper task.
    sending: HashSet<DownlinkId>,
    /// Where helper tasks report that they delivered (`true`) or the downlink is gone.
    room: (Sender<Room>, Receiver<Room>),
    io: Option<TcpStream>,
    opening: Option<OpenFuture>,
    open_error: Option<ClientError>,
    rbuf: Box<[u8]>,
    start: usize,
    end: usize,
    epoch: StdInstant,
    requests_gone: bool,
    closes_gone: bool,
    ended: bool,
}

impl Task {
    /// A task for `url`; it reports the first connection's outcome on `first`.
    pub(crate) fn new(
        url: ServerUrl,
        config: ClientConfig,
        requests: Receiver<Request>,
        closes: Receiver<HandleClose>,
        state: std::sync::Arc<StateCell>,
        first: Sender<Result<(), ClientError>>,
    ) -> Task {
        Task {
            url,
            requests,
            closes,
            state,
            first: Some(first),
            session: ClientSession::new(Instant::ZERO, config.session()),
            sinks: HashMap::new(),
            sending: HashSet::new(),
            room: async_channel::unbounded(),
            io: None,
            opening: None,
            open_error: None,
            rbuf: vec![0; READ_CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            epoch: StdInstant::now(),
            requests_gone: false,
            closes_gone: false,
            ended: false,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// The clock instant of a session deadline (`None`: too far to matter).
    fn at(&self, t: Instant) -> Option<StdInstant> {
        self.epoch.checked_add(Duration::from_millis(t.as_millis()))
    }

    /// Whether to read from the socket: the session wants input and no event is on its way.
    fn readable(&self) -> bool {
        self.session.wants_input() && self.sending.is_empty() && self.io.is_some()
    }

    /// Connects, serves, reconnects, until the session ends; then delivers what is left.
    pub(crate) async fn run(mut self) {
        let mut rounds: u32 = 0;
        loop {
            // smol's executor does not preempt a task whose socket is always ready (a server
            // flooding it): give the other tasks on its thread a turn now and then, as the
            // server's connection loop does.
            rounds = rounds.wrapping_add(1);
            if rounds % YIELD_EVERY == 0 {
                future::yield_now().await;
            }
            let deadline = self.drain().await;
            if self.ended {
                break;
            }
            if self.readable() && self.start < self.end {
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
            let wake = self.wait(deadline).await;
            self.on_wake(wake);
        }
        self.finish().await;
    }

    /// Waits for the socket, the timer, a request, a close or room in a downlink's queue.
    async fn wait(&mut self, deadline: Option<Instant>) -> Wake {
        let readable = self.readable() && self.start >= self.end;
        let at = deadline.and_then(|t| self.at(t));
        let (requests_gone, closes_gone) = (self.requests_gone, self.closes_gone);
        let opening = &mut self.opening;
        let io = &mut self.io;
        let rbuf = &mut self.rbuf;
        let requests = &self.requests;
        let closes = &self.closes;
        let room = &self.room.1;
        let opened = async {
            match opening.as_mut() {
                Some(f) => Wake::Opened(f.await),
                None => future::pending().await,
            }
        };
        let read = async {
            match io.as_mut() {
                Some(io) if readable => Wake::Read(io.read(rbuf).await),
                _ => future::pending().await,
            }
        };
        let timer = async {
            match at {
                Some(at) => {
                    Timer::at(at).await;
                    Wake::Timer
                }
                None => future::pending().await,
            }
        };
        let request = async {
            if requests_gone {
                return future::pending().await;
            }
            Wake::Request(requests.recv().await.ok())
        };
        let close = async {
            if closes_gone {
                return future::pending().await;
            }
            Wake::Close(closes.recv().await.ok())
        };
        let made_room = async {
            match room.recv().await {
                Ok((id, ok)) => Wake::Room(id, ok),
                Err(_) => future::pending().await,
            }
        };
        future::or(
            future::or(opened, read),
            future::or(future::or(timer, made_room), future::or(close, request)),
        )
        .await
    }

    fn on_wake(&mut self, wake: Wake) {
        let now = self.now();
        match wake {
            Wake::Opened(opened) => {
                self.opening = None;
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
            Wake::Read(Ok(n)) if n > 0 => {
                self.start = 0;
                self.end = n.min(self.rbuf.len());
            }
            Wake::Read(_) => {
                self.io = None;
                let _ = self.session.handle_input(Input::TransportClosed(now));
            }
            Wake::Timer => {
                let _ = self.session.handle_input(Input::Timeout(now));
            }
            Wake::Request(None) => {
                self.requests_gone = true;
                self.session.handles_gone();
            }
            Wake::Request(Some(request)) => self.on_request(request),
            Wake::Close(None) => {
                self.closes_gone = true;
                self.requests_gone = true;
                self.session.handles_gone();
            }
            Wake::Close(Some(close)) => self.on_handle_close(close),
            Wake::Room(id, ok) => self.on_room(id, ok),
        }
    }

    /// Drains the session's output: opens and closes sockets, writes, delivers, answers.
    /// Returns the deadline to wake up at.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            match self.session.poll_output() {
                Output::Connect => {
                    let url = self.url.clone();
                    self.opening = Some(Box::pin(async move { transport::open(&url).await }));
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
                    if let Some(io) = self.io.take() {
                        let _ = io.shutdown(std::net::Shutdown::Both);
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
                                let _ = first.try_send(Ok(()));
                            }
                        }
                        ClientState::Disconnected => {
                            info!(url = %self.url, "WARP client disconnected; will reconnect");
                        }
                        _ => {}
                    }
                    self.state.set(state);
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
                        let _ = first.try_send(Err(error));
                    }
                    self.ended = true;
                }
                Output::Timeout(deadline) => return deadline,
            }
        }
    }

    /// Hands `event` to downlink `id`; what does not fit goes back to the session, and a
    /// helper task sends the first of them once there is room.
    fn deliver(&mut self, id: DownlinkId, event: DownlinkEvent) {
        if self.sending.contains(&id) {
            self.session.hold(SessionId::new(id), event);
            return;
        }
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
            Err(TrySendError::Full(event)) => self.send_later(id, event),
            // The downlink is gone; its close request is on its way.
            Err(TrySendError::Closed(_)) => {}
        }
    }

    /// Sends `event` to downlink `id` from a helper task, which reports when it is done.
    fn send_later(&mut self, id: DownlinkId, event: DownlinkEvent) {
        let Some(sink) = self.sinks.get(&id) else {
            return;
        };
        self.sending.insert(id);
        let sink = sink.clone();
        let room = self.room.0.clone();
        crate::rt::spawn(async move {
            let ok = sink.send(event).await.is_ok();
            let _ = room.send((id, ok)).await;
        });
    }

    /// The helper task of downlink `id` is done: hand the downlink its held events.
    fn on_room(&mut self, id: DownlinkId, ok: bool) {
        if !self.sending.remove(&id) {
            return;
        }
        let sid = SessionId::new(id);
        if !ok {
            while self.session.take_held(sid).is_some() {}
            return;
        }
        while let Some(event) = self.session.take_held(sid) {
            let Some(sink) = self.sinks.get(&id) else {
                return;
            };
            match sink.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(event)) => return self.send_later(id, event),
                Err(TrySendError::Closed(_)) => {
                    while self.session.take_held(sid).is_some() {}
                    return;
                }
            }
        }
        self.end_if_ended(id);
    }

    /// Drops the queue of a downlink whose link ended for good: its stream ends.
    fn end_if_ended(&mut self, id: DownlinkId) {
        let sid = SessionId::new(id);
        if self.session.is_ended(sid) && !self.sending.contains(&id) {
            self.sinks.remove(&id);
            self.session.close_downlink(sid, None);
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
                    let _ = reply.try_send(Err(ClientError::ClientClosed));
                    return;
                }
                let opened = self.session.open(SessionId::new(id), &node, &lane, sync);
                if opened.is_ok() {
                    self.sinks.insert(id, events);
                }
                let _ = reply.try_send(opened.map_err(ClientError::from));
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
        self.sending.remove(&close.id);
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
                    let _ = reply.try_send(Err(ClientError::ClientClosed));
                }
                Request::Close { reply } => self.session.close(Some(Tag::Close(reply))),
            }
        }
        self.requests_gone = true;
        loop {
            self.drain().await;
            if self.sending.is_empty() {
                break;
            }
            let wake = self.wait(None).await;
            self.on_wake(wake);
        }
        // Closes that arrived meanwhile: acknowledge them.
        self.closes.close();
        while let Ok(close) = self.closes.try_recv() {
            self.on_handle_close(close);
        }
        self.drain().await;
    }
}
