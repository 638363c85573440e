//! The fan-out load client: one publisher and N subscribers of one value lane, over raw
//! WebSocket connections (`tokio-tungstenite`, offering `warp0`), the same for every server.
//!
//! A [`Session`] opens N subscriber connections to a server, each sending
//! `@sync(node:NODE,lane:count)` and waiting for `@synced`, plus one publisher connection that
//! sends `@command(node:NODE,lane:add)1`. Every command adds 1 to the lane's value, so the
//! event carrying value `base + k` answers the publisher's `k`-th command (`base` is the value
//! every subscriber received while syncing). Two phases measure it:
//!
//! - [`Session::saturate`]: the publisher keeps up to [`LoadConfig::window`] commands ahead of
//!   the **slowest** subscriber (the smallest value seen by any subscriber), refilling the
//!   window when half of it has been delivered. The server therefore runs as fast as it can
//!   deliver to all subscribers, and nothing queues up without bound: an open-loop flood would
//!   measure a server's overload policy (ours closes a subscriber that falls more than its
//!   fan-out capacity behind; SwimOS coalesces value-lane events) instead of its delivery
//!   rate. The result is the events delivered per second in the measured window, after a
//!   warm-up.
//! - [`Session::fixed_rate`]: the publisher sends at a fixed rate, and every subscriber records
//!   when each value arrives; the latency of an event is the time from the publisher's write
//!   of the command that produced it to the subscriber's receipt of it (one clock, one
//!   process).
//!
//! Events are counted, never assumed: every subscriber counts the events it receives, the
//! distinct values among them, the values it never saw (a server that coalesces value-lane
//! events skips values; they are reported as `missing`, not hidden) and values that did not
//! increase (`regressions`, which no correct server produces here). After each phase the
//! session waits until every subscriber has seen the last value, and fails if one has not
//! within [`LoadConfig::timeout`], if a connection closes or errs, or if a link is refused.

use std::fmt;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use warp_proto::envelope::{Body, Envelope, Tag};

/// A client WebSocket over TCP.
type Ws = WebSocketStream<TcpStream>;

/// What the load looks like.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// Subscriber connections, each syncing the lane once.
    pub subscribers: usize,
    /// The node every connection addresses.
    pub node: String,
    /// The value lane the subscribers sync (it must hold an integer).
    pub lane: String,
    /// The command lane the publisher sends `1` to (it must add its value to `lane`).
    pub command_lane: String,
    /// The most commands the saturation phase keeps ahead of the slowest subscriber.
    pub window: u64,
    /// The longest wait for anything: a connection, the subscribers' syncs, the delivery of
    /// the last value of a phase, progress during the saturation phase.
    pub timeout: Duration,
}

impl Default for LoadConfig {
    /// 100 subscribers of `/unit/1` `count`, commands to `add`, a window of 128 commands, a
    /// 20 s timeout.
    fn default() -> Self {
        LoadConfig {
            subscribers: 100,
            node: "/unit/1".to_string(),
            lane: "count".to_string(),
            command_lane: "add".to_string(),
            window: 128,
            timeout: Duration::from_secs(20),
        }
    }
}

/// Why a load run failed: the server misbehaved (refused, closed, stopped delivering) or a
/// socket failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

fn err(message: impl Into<String>) -> LoadError {
    LoadError(message.into())
}

/// Counters summed over all subscribers at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Lane events received after syncing.
    pub events: u64,
    /// Events whose value was higher than every value before it.
    pub distinct: u64,
    /// Values skipped: a jump from `a` to `b > a + 1` adds `b - a - 1`.
    pub missing: u64,
    /// Events whose value was not higher than the one before.
    pub regressions: u64,
}

impl Counts {
    /// `self - earlier`, field by field (saturating).
    pub fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            events: self.events.saturating_sub(earlier.events),
            distinct: self.distinct.saturating_sub(earlier.distinct),
            missing: self.missing.saturating_sub(earlier.missing),
            regressions: self.regressions.saturating_sub(earlier.regressions),
        }
    }
}

/// The result of [`Session::saturate`], over the measured window (after the warm-up).
#[derive(Clone, Copy, Debug)]
pub struct Saturation {
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Commands written in the window.
    pub commands: u64,
    /// What the subscribers received in the window.
    pub counts: Counts,
    /// Commands written in the whole phase (warm-up included).
    pub total_commands: u64,
    /// The value every subscriber saw last when the phase ended.
    pub final_value: i64,
}

impl Saturation {
    /// Events delivered per second, over all subscribers.
    pub fn events_per_sec(&self) -> f64 {
        per_sec(self.counts.events, self.elapsed)
    }

    /// Commands written per second.
    pub fn commands_per_sec(&self) -> f64 {
        per_sec(self.commands, self.elapsed)
    }
}

/// The result of [`Session::fixed_rate`].
#[derive(Clone, Debug)]
pub struct FixedRate {
    /// Commands written (warm-up included).
    pub commands: u64,
    /// Commands whose events count for latency (those written after the warm-up).
    pub measured_commands: u64,
    /// The achieved rate of command writes, per second, over the whole phase.
    pub achieved_rate: f64,
    /// What the subscribers received in the whole phase.
    pub counts: Counts,
    /// Latency of every event of a measured command, in nanoseconds, sorted.
    pub latencies_ns: Vec<u64>,
    /// Events received before their command's write was recorded (a clock or bookkeeping
    /// fault; always 0 when all is well).
    pub anomalies: u64,
    /// The value every subscriber saw last when the phase ended.
    pub final_value: i64,
}

/// Per second, as a float (0 for an empty interval).
pub fn per_sec(n: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// The `p`-th percentile (0..=100, nearest rank) of sorted samples; `None` when empty.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted.get(index).copied()
}

/// One subscriber as the session sees it; its task updates it.
#[derive(Debug, Default)]
struct Sub {
    synced: AtomicBool,
    /// The value seen while syncing.
    base: AtomicI64,
    /// The highest value seen so far.
    max_seen: AtomicI64,
    events: AtomicU64,
    distinct: AtomicU64,
    missing: AtomicU64,
    regressions: AtomicU64,
    /// Bodiless events received while syncing.
    sync_absent: AtomicU64,
    /// `(value, receipt time in ns since the session's epoch)` while recording.
    records: Mutex<Vec<(i64, u64)>>,
}

/// What the session's tasks share.
#[derive(Debug)]
struct Shared {
    epoch: Instant,
    /// Whether subscribers record receipt times.
    recording: AtomicBool,
    /// A subscriber that sees a value at least this high wakes the publisher.
    wake_at: AtomicI64,
    progress: Notify,
    /// How many tasks failed, and the first few reasons.
    failures: Mutex<(usize, Vec<String>)>,
    /// Set while the session closes: closes are then expected.
    closing: AtomicBool,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn fail(&self, message: String) {
        if self.closing.load(Ordering::Acquire) {
            return;
        }
        let mut failures = lock(&self.failures);
        failures.0 = failures.0.saturating_add(1);
        if failures.1.len() < 3 {
            failures.1.push(message);
        }
        drop(failures);
        // Let a waiting publisher see it.
        self.progress.notify_one();
    }

    fn check(&self) -> Result<(), LoadError> {
        let failures = lock(&self.failures);
        match failures.0 {
            0 => Ok(()),
            1 => Err(err(failures.1.join(""))),
            n => Err(err(format!(
                "{n} connections failed, first: {}",
                failures.1.join("; ")
            ))),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A connected load: N synced subscribers and a publisher on one server.
pub struct Session {
    config: LoadConfig,
    shared: Arc<Shared>,
    subs: Vec<Arc<Sub>>,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    sink: SplitSink<Ws, Message>,
    command: Message,
    /// The value after the last command written (the value the next phase starts from).
    top: i64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("config", &self.config)
            .field("top", &self.top)
            .finish_non_exhaustive()
    }
}

/// Opens a WebSocket to `addr` offering `warp0`, with Nagle off.
async fn connect(addr: SocketAddr, limit: Duration) -> Result<Ws, LoadError> {
    let open = async {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| err(format!("connect {addr}: {e}")))?;
        tcp.set_nodelay(true)
            .map_err(|e| err(format!("TCP_NODELAY: {e}")))?;
        let mut request = format!("ws://{addr}/")
            .into_client_request()
            .map_err(|e| err(format!("request: {e}")))?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("warp0"));
        let config = WebSocketConfig::default()
            .read_buffer_size(16 * 1024)
            .write_buffer_size(16 * 1024);
        let (ws, _response) =
            tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
                .await
                .map_err(|e| err(format!("WebSocket handshake with {addr}: {e}")))?;
        Ok(ws)
    };
    tokio::time::timeout(limit, open)
        .await
        .map_err(|_| err(format!("connecting to {addr} took over {limit:?}")))?
}

/// The integer body of an event frame for the session's lane, if it is one.
enum Frame {
    Linked,
    Synced,
    Event(i64),
    /// An event without a body.
    Absent,
    Other,
}

fn classify(text: &str, lane: &str) -> Result<Frame, String> {
    let envelope = Envelope::decode_header(text).map_err(|e| format!("bad frame {text:?}: {e}"))?;
    if !envelope.lane.eq_str(lane) && envelope.tag != Tag::Unlinked {
        return Ok(Frame::Other);
    }
    match envelope.tag {
        Tag::Linked => Ok(Frame::Linked),
        Tag::Synced => Ok(Frame::Synced),
        Tag::Event => {
            let raw = envelope.body.raw().trim();
            if envelope.body.is_absent() {
                return Ok(Frame::Absent);
            }
            match raw.parse::<i64>() {
                Ok(v) => Ok(Frame::Event(v)),
                Err(_) => envelope
                    .body
                    .to_value()
                    .ok()
                    .and_then(|v| v.as_i64())
                    .map(Frame::Event)
                    .ok_or_else(|| format!("event body is not an integer: {text:?}")),
            }
        }
        Tag::Unlinked => Err(format!("link refused or ended: {text}")),
        _ => Ok(Frame::Other),
    }
}

impl Session {
    /// Connects `config.subscribers` subscribers to the server at `addr`, syncs each with
    /// the lane, connects the publisher, and waits until every subscriber has synced and all
    /// agree on the lane's value.
    pub async fn open(addr: SocketAddr, config: LoadConfig) -> Result<Session, LoadError> {
        if config.subscribers == 0 {
            return Err(err("at least one subscriber is needed"));
        }
        if config.window < 2 {
            return Err(err("the window must be at least 2 commands"));
        }
        let shared = Arc::new(Shared {
            epoch: Instant::now(),
            recording: AtomicBool::new(false),
            wake_at: AtomicI64::new(i64::MAX),
            progress: Notify::new(),
            failures: Mutex::new((0, Vec::new())),
            closing: AtomicBool::new(false),
        });
        let (stop, stop_rx) = watch::channel(false);
        let sync = Message::text(Envelope::new(Tag::Sync, &config.node, &config.lane).to_string());
        let mut subs = Vec::with_capacity(config.subscribers);
        let mut tasks = Vec::with_capacity(config.subscribers.saturating_add(1));
        for i in 0..config.subscribers {
            let mut ws = connect(addr, config.timeout)
                .await
                .map_err(|e| err(format!("subscriber {i}: {e}")))?;
            ws.send(sync.clone())
                .await
                .map_err(|e| err(format!("subscriber {i}: sending sync: {e}")))?;
            let sub = Arc::new(Sub::default());
            subs.push(Arc::clone(&sub));
            tasks.push(tokio::spawn(subscriber(
                i,
                ws,
                Arc::clone(&sub),
                Arc::clone(&shared),
                config.lane.clone(),
                stop_rx.clone(),
            )));
            if i == 0 {
                // The first sync starts the agent (SwimOS starts agents on first use); the
                // others connect once it runs, so that no sync races an agent's start-up
                // (SwimOS 0.1.1 then sometimes answers a sync with a bodiless `@event`).
                let deadline = Instant::now() + config.timeout;
                while !sub.synced.load(Ordering::Acquire) {
                    shared.check()?;
                    if Instant::now() >= deadline {
                        return Err(err(format!(
                            "subscriber 0 not synced within {:?}",
                            config.timeout
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
        let publisher = connect(addr, config.timeout)
            .await
            .map_err(|e| err(format!("publisher: {e}")))?;
        let (sink, stream) = publisher.split();
        tasks.push(tokio::spawn(publisher_reader(
            stream,
            Arc::clone(&shared),
            stop_rx,
        )));
        let mut body = Envelope::new(Tag::Command, &config.node, &config.command_lane);
        body.body = Body::from_raw("1");
        let command = Message::text(body.to_string());
        let mut session = Session {
            config,
            shared,
            subs,
            tasks,
            stop,
            sink,
            command,
            top: 0,
        };
        let limit = session.config.timeout;
        let synced = session
            .wait_until(limit, |s| {
                s.subs.iter().all(|sub| sub.synced.load(Ordering::Acquire))
            })
            .await;
        if let Err(e) = synced {
            let n = session
                .subs
                .iter()
                .filter(|sub| sub.synced.load(Ordering::Acquire))
                .count();
            session.abort();
            return Err(err(format!(
                "{n} of {} subscribers synced (time limit {limit:?}): {e}",
                session.config.subscribers
            )));
        }
        let base = session
            .subs
            .first()
            .map_or(0, |s| s.base.load(Ordering::Acquire));
        if let Some(i) = session
            .subs
            .iter()
            .position(|s| s.base.load(Ordering::Acquire) != base)
        {
            session.abort();
            return Err(err(format!(
                "subscribers disagree on the synced value: subscriber 0 has {base}, subscriber {i} something else"
            )));
        }
        session.top = base;
        Ok(session)
    }

    /// The value after the last command written: what every subscriber has seen after a
    /// phase.
    pub fn value(&self) -> i64 {
        self.top
    }

    /// Bodiless events the subscribers received while syncing, in all (they are ignored; an
    /// integer value must still arrive before `@synced`).
    pub fn sync_absent(&self) -> u64 {
        self.subs
            .iter()
            .map(|s| s.sync_absent.load(Ordering::Relaxed))
            .sum()
    }

    /// The highest value each subscriber has seen.
    pub fn last_values(&self) -> Vec<i64> {
        self.subs
            .iter()
            .map(|s| s.max_seen.load(Ordering::Acquire))
            .collect()
    }

    /// The counters summed over the subscribers now.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.subs {
            c.events = c.events.saturating_add(s.events.load(Ordering::Relaxed));
            c.distinct = c
                .distinct
                .saturating_add(s.distinct.load(Ordering::Relaxed));
            c.missing = c.missing.saturating_add(s.missing.load(Ordering::Relaxed));
            c.regressions = c
                .regressions
                .saturating_add(s.regressions.load(Ordering::Relaxed));
        }
        c
    }

    /// The smallest value seen by any subscriber.
    fn min_seen(&self) -> i64 {
        self.subs
            .iter()
            .map(|s| s.max_seen.load(Ordering::Acquire))
            .min()
            .unwrap_or(i64::MAX)
    }

    /// Polls `done` every 2 ms until it holds; fails on a task's failure or after `limit`.
    async fn wait_until(
        &self,
        limit: Duration,
        done: impl Fn(&Session) -> bool,
    ) -> Result<(), LoadError> {
        let deadline = Instant::now() + limit;
        loop {
            self.shared.check()?;
            if done(self) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(err(format!("not done within {limit:?}")));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Waits until every subscriber has seen the value after the last command.
    async fn drain(&self, phase: &str) -> Result<(), LoadError> {
        let top = self.top;
        let limit = self.config.timeout;
        self.wait_until(limit, |s| s.min_seen() >= top)
            .await
            .map_err(|e| {
                let behind = self.subs.iter().filter(|s| s.max_seen.load(Ordering::Acquire) < top).count();
                err(format!(
                    "{phase}: {behind} subscribers had not seen the final value {top} (slowest at {}): {e}",
                    self.min_seen()
                ))
            })
    }

    /// Writes `n` commands and flushes.
    async fn send_commands(&mut self, n: u64) -> Result<(), LoadError> {
        for _ in 0..n {
            self.sink
                .feed(self.command.clone())
                .await
                .map_err(|e| err(format!("publisher: {e}")))?;
            self.top = self.top.saturating_add(1);
        }
        self.sink
            .flush()
            .await
            .map_err(|e| err(format!("publisher: {e}")))
    }

    /// Runs the publisher as fast as the server delivers to every subscriber, keeping at most
    /// [`LoadConfig::window`] commands ahead of the slowest one, for `warmup + measure`;
    /// measures the last `measure`, then waits until every subscriber has the final value.
    ///
    /// `probe` is called at the start and the end of the measured window (for example to
    /// read a process's CPU time), so what it measures covers the same interval.
    pub async fn saturate<P>(
        &mut self,
        warmup: Duration,
        measure: Duration,
        mut probe: impl FnMut() -> P,
    ) -> Result<(Saturation, P, P), LoadError> {
        let window = i64::try_from(self.config.window).unwrap_or(i64::MAX);
        let half = window / 2;
        let start = Instant::now();
        let first_top = self.top;
        let window_start = start + warmup;
        let end = window_start + measure;
        let mut begin: Option<(Instant, Counts, i64, P)> = None;
        let mut last_progress = (Instant::now(), self.min_seen());
        loop {
            self.shared.check()?;
            let now = Instant::now();
            if begin.is_none() && now >= window_start {
                let counts = self.counts();
                begin = Some((now, counts, self.top, probe()));
            }
            if now >= end {
                break;
            }
            let min = self.min_seen();
            if min != last_progress.1 {
                last_progress = (now, min);
            } else if now.duration_since(last_progress.0) > self.config.timeout {
                return Err(err(format!(
                    "saturation: no subscriber progress for {:?} (slowest at {min}, {} commands written)",
                    self.config.timeout,
                    self.top.saturating_sub(first_top)
                )));
            }
            let in_flight = self.top.saturating_sub(min);
            if in_flight <= half {
                let n = u64::try_from(window.saturating_sub(in_flight)).unwrap_or(0);
                self.send_commands(n).await?;
                continue;
            }
            // Wait until the slowest subscriber is within half a window again, or the next
            // boundary of the phase.
            let notified = self.shared.progress.notified();
            let mut notified = pin!(notified);
            notified.as_mut().enable();
            let target = self.top.saturating_sub(half);
            self.shared.wake_at.store(target, Ordering::Release);
            if self.min_seen() >= target {
                continue;
            }
            let boundary = if begin.is_none() { window_start } else { end };
            let wait = boundary
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100));
            let _ = tokio::time::timeout(wait, notified).await;
        }
        self.shared.wake_at.store(i64::MAX, Ordering::Release);
        let now = Instant::now();
        let counts = self.counts();
        let after = probe();
        let top = self.top;
        let (t0, c0, top0, before) = match begin {
            Some(b) => b,
            None => return Err(err("saturation: the measured window never started")),
        };
        self.drain("saturation").await?;
        let result = Saturation {
            elapsed: now.duration_since(t0),
            commands: u64::try_from(top.saturating_sub(top0)).unwrap_or(0),
            counts: counts.since(&c0),
            total_commands: u64::try_from(top.saturating_sub(first_top)).unwrap_or(0),
            final_value: self.top,
        };
        Ok((result, before, after))
    }

    /// Runs the publisher at `rate` commands per second for `warmup + measure`, waits until
    /// every subscriber has the final value, and returns the latencies of the events of the
    /// commands written after the warm-up.
    pub async fn fixed_rate(
        &mut self,
        rate: f64,
        warmup: Duration,
        measure: Duration,
    ) -> Result<FixedRate, LoadError> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(err(format!("bad rate {rate}")));
        }
        let total = ((warmup + measure).as_secs_f64() * rate).round().max(1.0) as u64;
        let warm = ((warmup.as_secs_f64() * rate).round() as u64).min(total.saturating_sub(1));
        let period = Duration::from_secs_f64(1.0 / rate);
        for sub in &self.subs {
            lock(&sub.records).clear();
        }
        self.shared.recording.store(true, Ordering::Release);
        let base = self.top;
        let before = self.counts();
        let mut send_ns: Vec<u64> = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        let start = Instant::now();
        let mut i: u64 = 0;
        while i < total {
            self.shared.check()?;
            let due = start + period.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX));
            tokio::time::sleep_until(due.into()).await;
            let now = Instant::now();
            let now_ns = self.shared.now_ns();
            let mut batch = 0;
            while i < total
                && start + period.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX)) <= now
            {
                send_ns.push(now_ns);
                batch += 1;
                i += 1;
            }
            self.send_commands(batch).await?;
        }
        let elapsed = start.elapsed();
        self.drain("fixed rate").await?;
        self.shared.recording.store(false, Ordering::Release);
        let counts = self.counts().since(&before);
        let mut latencies = Vec::new();
        let mut anomalies = 0u64;
        for sub in &self.subs {
            let records = std::mem::take(&mut *lock(&sub.records));
            for (value, at) in records {
                let Some(k) = value
                    .checked_sub(base)
                    .and_then(|d| d.checked_sub(1))
                    .and_then(|d| u64::try_from(d).ok())
                else {
                    continue;
                };
                if k < warm {
                    continue;
                }
                match usize::try_from(k).ok().and_then(|k| send_ns.get(k)) {
                    Some(&sent) if at >= sent => latencies.push(at - sent),
                    _ => anomalies += 1,
                }
            }
        }
        latencies.sort_unstable();
        Ok(FixedRate {
            commands: total,
            measured_commands: total.saturating_sub(warm),
            achieved_rate: per_sec(total, elapsed),
            counts,
            latencies_ns: latencies,
            anomalies,
            final_value: self.top,
        })
    }

    /// Closes every connection (WebSocket close handshake, at most `timeout` in all) and
    /// reports a failure that happened before.
    pub async fn close(mut self) -> Result<(), LoadError> {
        let failure = self.shared.check();
        self.shared.closing.store(true, Ordering::Release);
        let _ = self.stop.send(true);
        let limit = self.config.timeout;
        let _ = tokio::time::timeout(limit, self.sink.close()).await;
        let tasks = std::mem::take(&mut self.tasks);
        let joined = tokio::time::timeout(limit, futures::future::join_all(tasks)).await;
        if joined.is_err() {
            self.abort();
        }
        failure
    }

    fn abort(&mut self) {
        self.shared.closing.store(true, Ordering::Release);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.abort();
    }
}

/// A subscriber connection's task: counts what arrives until told to stop.
async fn subscriber(
    index: usize,
    mut ws: Ws,
    sub: Arc<Sub>,
    shared: Arc<Shared>,
    lane: String,
    mut stop: watch::Receiver<bool>,
) {
    let mut synced = false;
    // The value while syncing (none before the first event).
    let mut state: Option<i64> = None;
    let mut last: i64 = 0;
    loop {
        let message = tokio::select! {
            biased;
            m = ws.next() => m,
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                // Read until the server's close frame (or the end of the stream).
                while let Some(Ok(_)) = ws.next().await {}
                return;
            }
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                shared.fail(format!("subscriber {index}: the server closed: {frame:?}"));
                return;
            }
            Some(Ok(Message::Binary(_))) => {
                shared.fail(format!("subscriber {index}: unexpected binary message"));
                return;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                shared.fail(format!("subscriber {index}: {e}"));
                return;
            }
            None => {
                shared.fail(format!("subscriber {index}: the connection ended"));
                return;
            }
        };
        let frame = match classify(text.as_str(), &lane) {
            Ok(frame) => frame,
            Err(e) => {
                shared.fail(format!("subscriber {index}: {e}"));
                return;
            }
        };
        match frame {
            Frame::Event(v) if synced => {
                sub.events.fetch_add(1, Ordering::Relaxed);
                if v > last {
                    sub.distinct.fetch_add(1, Ordering::Relaxed);
                    let skipped = v.saturating_sub(last).saturating_sub(1);
                    sub.missing
                        .fetch_add(u64::try_from(skipped).unwrap_or(0), Ordering::Relaxed);
                    last = v;
                    sub.max_seen.store(v, Ordering::Release);
                } else {
                    sub.regressions.fetch_add(1, Ordering::Relaxed);
                }
                if shared.recording.load(Ordering::Acquire) {
                    let at = shared.now_ns();
                    lock(&sub.records).push((v, at));
                }
                if v >= shared.wake_at.load(Ordering::Acquire) {
                    shared.progress.notify_one();
                }
            }
            // The lane's state while syncing.
            Frame::Event(v) => state = Some(v),
            Frame::Absent if !synced => {
                sub.sync_absent.fetch_add(1, Ordering::Relaxed);
            }
            Frame::Absent => {
                shared.fail(format!(
                    "subscriber {index}: an event without a value: {text}"
                ));
                return;
            }
            Frame::Synced if !synced => {
                let Some(value) = state else {
                    shared.fail(format!("subscriber {index}: synced without a value"));
                    return;
                };
                last = value;
                synced = true;
                sub.base.store(last, Ordering::Release);
                sub.max_seen.store(last, Ordering::Release);
                sub.synced.store(true, Ordering::Release);
            }
            Frame::Synced => {
                shared.fail(format!("subscriber {index}: a second @synced"));
                return;
            }
            Frame::Linked | Frame::Other => {}
        }
    }
}

/// Reads the publisher's connection (answering pings; nothing else is expected) until told to
/// stop.
async fn publisher_reader(
    mut stream: SplitStream<Ws>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let message = tokio::select! {
            biased;
            m = stream.next() => m,
            _ = stop.changed() => {
                while let Some(Ok(_)) = stream.next().await {}
                return;
            }
        };
        match message {
            Some(Ok(Message::Close(frame))) => {
                shared.fail(format!("publisher: the server closed: {frame:?}"));
                return;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                shared.fail(format!("publisher: {e}"));
                return;
            }
            None => {
                shared.fail("publisher: the connection ended".to_string());
                return;
            }
        }
    }
}
