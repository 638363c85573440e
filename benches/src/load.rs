//! The load runs of issue 7 (binaries `load_links`, `load_conns`, `load_fanout`; results in
//! `benches/LOAD.md`): a demo server of either driver in a **child process** (the same binary
//! started with `--serve`), loaded over loopback by raw WebSocket clients
//! (`tokio-tungstenite`, offering `warp0`) in the parent.
//!
//! - Memory is the **server process's** resident set (`VmRSS` of `/proc/<child>/status`),
//!   read before and after the connections and links are opened; the client's own memory is
//!   not in it.
//! - Latency: every command is `@command(node:N,lane:set_info)tMICROS`, where `MICROS` is the
//!   parent's clock (microseconds since the run started) when the command was written; each
//!   `info` event carries it back, so a reader's latency is its receipt time minus it (one
//!   clock, one process).
//! - Every run is bounded: it stops after its duration, waits at most [`DRAIN_LIMIT`] for the
//!   events still on their way, and reports those that never came.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use warp_proto::app::session::server::ServerConfig;
use warp_proto::app::PlaneConfig;
use warp_proto::connection::Config as WarpConfig;

/// How long a run waits, after its publisher stopped, for the events still on their way.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// The longest a connection (TCP and WebSocket handshake) may take.
pub const CONNECT_LIMIT: Duration = Duration::from_secs(20);

/// A client WebSocket over TCP.
pub type Ws = WebSocketStream<TcpStream>;
/// Its writing half.
pub type WsSink = SplitSink<Ws, Message>;
/// Its reading half.
pub type WsStream = SplitStream<Ws>;

/// The server driver under load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// `warp-tokio` on a 2-worker multi-thread runtime.
    Tokio,
    /// `warp-smol` on smol's global executor (`SMOL_THREADS=2` unless set).
    Smol,
}

impl Driver {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Tokio => "tokio",
            Driver::Smol => "smol",
        }
    }
}

/// The command line: `--driver tokio|smol`, `--serve` (the child's role) and `--key value`
/// options.
#[derive(Clone, Debug)]
pub struct Args {
    /// The server driver.
    pub driver: Driver,
    /// Whether this process is the server child.
    pub serve: bool,
    options: HashMap<String, String>,
}

impl Args {
    /// Parses the process's arguments.
    pub fn from_env() -> Result<Args, String> {
        let mut driver = Driver::Tokio;
        let mut serve = false;
        let mut options = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--serve" => serve = true,
                "--driver" => {
                    driver = match args.next().as_deref() {
                        Some("tokio") => Driver::Tokio,
                        Some("smol") => Driver::Smol,
                        other => return Err(format!("--driver tokio|smol, not {other:?}")),
                    }
                }
                key if key.starts_with("--") => {
                    let value = args.next().ok_or_else(|| format!("{key} needs a value"))?;
                    options.insert(key.trim_start_matches("--").to_owned(), value);
                }
                other => return Err(format!("unexpected argument {other:?}")),
            }
        }
        Ok(Args {
            driver,
            serve,
            options,
        })
    }

    /// The numeric option `--key` (`default` when absent).
    pub fn get(&self, key: &str, default: u64) -> Result<u64, String> {
        match self.options.get(key) {
            None => Ok(default),
            Some(v) => v
                .replace('_', "")
                .parse()
                .map_err(|e| format!("--{key} {v}: {e}")),
        }
    }
}

/// The child's server configuration: `max_links` links per connection, `max_agents` agents,
/// `max_conns` connections, the default bounds otherwise.
pub fn server_config(max_links: u64, max_agents: u64, max_conns: u64) -> ServerConfig {
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let endpoint = ServerConfig::default()
        .endpoint
        .with_warp(WarpConfig::default().with_max_links(as_usize(max_links)));
    ServerConfig::default()
        .with_endpoint(endpoint)
        .with_plane(PlaneConfig::default().with_max_agents(as_usize(max_agents)))
        .with_max_connections(as_usize(max_conns))
}

/// The child's part: serves the demo agents with the configuration of the options
/// `--max-links`, `--max-agents`, `--max-conns`, prints `ADDR` on a line, and stops (graceful
/// shutdown) when its standard input ends.
pub fn serve(args: &Args) -> ExitCode {
    match serve_until_stdin_ends(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve_until_stdin_ends(args: &Args) -> Result<(), String> {
    let config = server_config(
        args.get("max-links", 1024)?,
        args.get("max-agents", 4096)?,
        args.get("max-conns", 10_000)?,
    );
    let wait_for_eof = || {
        let mut sink = Vec::new();
        let _ = io::stdin().read_to_end(&mut sink);
    };
    match args.driver {
        Driver::Tokio => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| format!("tokio runtime: {e}"))?;
            let server = runtime
                .block_on(
                    warp_tokio::demo::demo_builder()
                        .config(config)
                        .bind("127.0.0.1:0"),
                )
                .map_err(|e| format!("bind: {e}"))?;
            println!("{}", server.local_addr().map_err(|e| e.to_string())?);
            let handle = {
                let _entered = runtime.enter();
                server.spawn()
            };
            wait_for_eof();
            runtime.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(15), handle.shutdown()).await;
            });
        }
        Driver::Smol => {
            let server = smol::block_on(
                warp_smol::demo::demo_builder()
                    .config(config)
                    .bind("127.0.0.1:0"),
            )
            .map_err(|e| format!("bind: {e}"))?;
            println!("{}", server.local_addr().map_err(|e| e.to_string())?);
            let handle = server.spawn();
            wait_for_eof();
            smol::block_on(futures::future::select(
                Box::pin(handle.shutdown()),
                Box::pin(async_io::Timer::after(Duration::from_secs(15))),
            ));
        }
    }
    Ok(())
}

/// The server child process.
pub struct ServerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts this binary again as the server child of `driver` with the options `extra`
    /// (`["--max-links", "200000"]`), and reads its address.
    pub fn spawn(driver: Driver, extra: &[String]) -> Result<ServerProcess, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
        let mut command = Command::new(exe);
        command
            .args(["--serve", "--driver", driver.name()])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if std::env::var_os("SMOL_THREADS").is_none() {
            command.env("SMOL_THREADS", "2");
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("starting the server: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no server stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("reading the server's address: {e}"))?;
        let addr = line
            .trim()
            .parse()
            .map_err(|e| format!("the server printed {line:?}: {e}"))?;
        Ok(ServerProcess { child, stdin, addr })
    }

    /// The server process's resident memory, in bytes.
    pub fn rss(&self) -> Result<u64, String> {
        rss_of(&self.child.id().to_string())
    }

    /// Closes the server's standard input (it shuts down) and waits for it, at most 20 s,
    /// then kills it.
    pub fn stop(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmRSS` of `/proc/<pid>/status` (`pid` may be `self`), in bytes.
pub fn rss_of(pid: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// Makes sure this process (and the children it starts, which inherit it) may open `needed`
/// file descriptors: raises the soft `RLIMIT_NOFILE` up to the hard limit if it is lower.
/// Fails with what to do when the hard limit is too low. Returns the soft limit now.
pub fn raise_nofile(needed: u64) -> Result<u64, String> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft >= needed {
        return Ok(soft);
    }
    let hard = limit.maximum.unwrap_or(u64::MAX);
    if hard < needed {
        return Err(format!(
            "{needed} file descriptors are needed but the hard limit is {hard}: raise it \
             (`ulimit -Hn {needed}` as root, or `LimitNOFILE=` / limits.conf) and retry"
        ));
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(needed),
            maximum: limit.maximum,
        },
    )
    .map_err(|e| format!("raising the soft file limit to {needed}: {e}"))?;
    Ok(needed)
}

/// Opens a WebSocket to `addr` offering `warp0`, Nagle off; split into its halves.
pub async fn connect(addr: SocketAddr) -> Result<(WsSink, WsStream), String> {
    let open = async {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        tcp.set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let mut request = format!("ws://{addr}/")
            .into_client_request()
            .map_err(|e| format!("request: {e}"))?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("warp0"));
        let (ws, _) = tokio_tungstenite::client_async(request, tcp)
            .await
            .map_err(|e| format!("WebSocket handshake with {addr}: {e}"))?;
        Ok::<_, String>(ws.split())
    };
    tokio::time::timeout(CONNECT_LIMIT, open)
        .await
        .map_err(|_| format!("connecting to {addr} took over {CONNECT_LIMIT:?}"))?
}

/// The run's clock: microseconds since it started.
#[derive(Clone, Copy, Debug)]
pub struct Clock(Instant);

impl Clock {
    /// A clock starting now.
    pub fn start() -> Clock {
        Clock(Instant::now())
    }

    /// Microseconds since the start.
    pub fn micros(self) -> u64 {
        u64::try_from(self.0.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// The `set_info` command to `node` carrying the time `micros`.
pub fn stamped_command(node: &str, micros: u64) -> Message {
    Message::text(format!("@command(node:\"{node}\",lane:set_info)t{micros}"))
}

/// The time carried by an `info` event (`@event(node:N,lane:info) t123`), if the frame is one.
pub fn event_stamp(frame: &str) -> Option<u64> {
    if !frame.starts_with("@event(") {
        return None;
    }
    let (_, rest) = frame.split_once("lane:info)")?;
    rest.trim()
        .trim_matches('"')
        .strip_prefix('t')?
        .parse()
        .ok()
}

/// What the readers of a run share: the events received.
#[derive(Debug, Default)]
pub struct Received {
    /// Events with a time stamp received by every reader together.
    pub events: AtomicU64,
    /// Notified after every event.
    pub progress: tokio::sync::Notify,
}

impl Received {
    /// Waits until `target` events were received, or fails after `limit`.
    pub async fn wait_for(&self, target: u64, limit: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.progress.notified();
            let now = self.events.load(Ordering::Relaxed);
            if now >= target {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!("{now} of {target} events after {limit:?}"));
            }
            // The short sleep covers a notification sent between the load and the wait.
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(Duration::from_millis(5)) => {}
            }
        }
    }
}

/// Reads `stream` until it ends or `stop` is set: answers nothing, counts the stamped events
/// into `received` and returns their latencies in microseconds. Frames named in `expect`
/// (`@linked`) are counted into `ready` as they come.
pub async fn read_events(
    mut stream: WsStream,
    clock: Clock,
    received: Arc<Received>,
    ready: Arc<AtomicU64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<u32>, String> {
    let mut latencies = Vec::new();
    loop {
        let message = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return Ok(latencies),
            message = stream.next() => message,
        };
        match message {
            Some(Ok(Message::Text(text))) => {
                let text = text.as_str();
                if let Some(sent) = event_stamp(text) {
                    let latency = clock.micros().saturating_sub(sent);
                    latencies.push(u32::try_from(latency).unwrap_or(u32::MAX));
                    received.events.fetch_add(1, Ordering::Relaxed);
                    received.progress.notify_waiters();
                } else if text.starts_with("@linked") {
                    ready.fetch_add(1, Ordering::Relaxed);
                } else if text.starts_with("@unlinked") {
                    return Err(format!("link refused: {text}"));
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("the server closed a connection: {frame:?}"));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("a connection ended".to_owned()),
        }
    }
}

/// Sends `@link(node:N,lane:L)` for every pair.
pub async fn send_links(sink: &mut WsSink, links: &[(String, &str)]) -> Result<(), String> {
    for (node, lane) in links {
        sink.feed(Message::text(format!("@link(node:\"{node}\",lane:{lane})")))
            .await
            .map_err(|e| format!("send link: {e}"))?;
    }
    sink.flush().await.map_err(|e| format!("flush: {e}"))
}

/// Waits until `counter` reaches `target` (polling every 10 ms), or fails after `limit`.
pub async fn wait_count(
    counter: &AtomicU64,
    target: u64,
    limit: Duration,
    what: &str,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let now = counter.load(Ordering::Relaxed);
        if now >= target {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("{what}: {now} of {target} after {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Latency percentiles, in microseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: u32,
    /// 99th percentile.
    pub p99: u32,
    /// Largest.
    pub max: u32,
}

impl Percentiles {
    /// Of `samples` (sorted here).
    pub fn of(samples: &mut [u32]) -> Percentiles {
        samples.sort_unstable();
        let at = |q: f64| -> u32 {
            if samples.is_empty() {
                return 0;
            }
            let i = ((samples.len() - 1) as f64 * q).round() as usize;
            samples.get(i).copied().unwrap_or(0)
        };
        Percentiles {
            p50: at(0.5),
            p99: at(0.99),
            max: samples.last().copied().unwrap_or(0),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |us: u32| f64::from(us) / 1000.0;
        write!(
            f,
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(self.p50),
            ms(self.p99),
            ms(self.max)
        )
    }
}

/// Bytes as MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The 1-minute load average (`/proc/loadavg`), to print next to the figures.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// A 2-worker tokio runtime for the load client.
pub fn client_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

/// Runs `main` unless this process is the server child; prints an error and fails on `Err`.
pub fn run(main: impl FnOnce(&Args) -> Result<(), String>) -> ExitCode {
    let args = match Args::from_env() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if args.serve {
        return serve(&args);
    }
    match main(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sends stamped `set_info` commands to `nodes` in turn, `rate` per second in ticks of 10 ms,
/// for `seconds`; returns how many were sent to each node.
pub async fn publish_at_rate(
    sink: &mut WsSink,
    nodes: &[String],
    rate: u64,
    seconds: u64,
    clock: Clock,
) -> Result<Vec<u64>, String> {
    let mut sent = vec![0u64; nodes.len()];
    if nodes.is_empty() {
        return Ok(sent);
    }
    let per_tick = (rate / 100).max(1);
    let ticks = seconds.saturating_mul(100).max(1);
    let mut interval = tokio::time::interval(Duration::from_millis(10));
    let mut next = 0usize;
    for _ in 0..ticks {
        interval.tick().await;
        for _ in 0..per_tick {
            let node = &nodes[next];
            sink.feed(stamped_command(node, clock.micros()))
                .await
                .map_err(|e| format!("send command: {e}"))?;
            sent[next] += 1;
            next = (next + 1) % nodes.len();
        }
        sink.flush().await.map_err(|e| format!("flush: {e}"))?;
    }
    Ok(sent)
}

/// Stops the readers and gathers their latencies; fails with the first reader's error.
pub async fn collect(
    stop: &tokio::sync::watch::Sender<bool>,
    readers: Vec<tokio::task::JoinHandle<Result<Vec<u32>, String>>>,
) -> Result<Vec<u32>, String> {
    stop.send_replace(true);
    let mut all = Vec::new();
    for reader in readers {
        let latencies = reader
            .await
            .map_err(|e| format!("a reader failed: {e}"))??;
        all.extend(latencies);
    }
    Ok(all)
}

/// Prints one figure line, `name: value`.
pub fn figure(name: &str, value: impl std::fmt::Display) {
    println!("  {name:<28} {value}");
}

/// What a load run delivered, as the `load_conns` and `load_fanout` binaries report it.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Events received by the load client.
    pub events: u64,
    /// Events that should have been received.
    pub expected: u64,
    /// How long the delivery phase took.
    pub elapsed: Duration,
    /// Latency from send to receipt.
    pub latency: Percentiles,
    /// The load client's own resident memory, in bytes.
    pub client_rss: u64,
}

impl Delivery {
    /// Prints the delivery figures (events, events per second, latency, client memory, load
    /// average); an error if any expected event is missing.
    pub fn report(&self) -> Result<(), String> {
        figure(
            "events",
            format!(
                "{} of {} expected, in {:.2} s",
                self.events,
                self.expected,
                self.elapsed.as_secs_f64()
            ),
        );
        figure(
            "events per second",
            format!(
                "{:.0}",
                self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
            ),
        );
        figure("latency", self.latency);
        figure("client RSS", format!("{:.1} MiB", mib(self.client_rss)));
        figure("load average (1 min)", load_average());
        if self.events != self.expected {
            return Err(format!(
                "{} events missing",
                self.expected.saturating_sub(self.events)
            ));
        }
        Ok(())
    }
}
