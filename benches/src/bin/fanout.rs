//! Fan-out: events per second delivered from a server to N subscribers of one value lane over
//! loopback, our demo server next to the SwimOS server, in one run.
//!
//! Both servers run as child processes on a tokio multi-thread runtime with the default
//! number of workers (one per core): ours is this binary re-run as `fanout --serve-ours`
//! (a `warp_tokio` server with the demo agent of `warp serve` on `/unit/:id`, its `history`
//! map lane bounded at 2^24 entries instead of 2^16, as SwimOS's is unbounded and one phase
//! can send more `add`s than 2^16), SwimOS is `peers/swimos-server` (SwimOS 0.1.1, built by the
//! interop harness into `target/peers`). Both host `/unit/:id` with the value lane `count` and
//! the command lane `add`.
//!
//! The load client is [`warp_benches::fanout`], the same for both: N subscriber connections
//! syncing `/unit/R` `count` (R = the round, so each round starts on a fresh agent, the same
//! node on both servers) and one publisher sending `@command(node:"/unit/R",lane:add)1`,
//! raw WebSockets (`tokio-tungstenite`, offering `warp0`) on this process's own runtime. For
//! each round and server, in an order that alternates (ours first in even rounds, SwimOS first
//! in odd ones): connect and sync, a saturation phase (as fast as the server delivers to every
//! subscriber, at most `--window` commands ahead of the slowest; delivered events/s), then a
//! fixed-rate phase (`--rate` commands/s; latency from the command's write to each event's
//! receipt), then close.
//!
//! ```text
//! cargo run --release -p warp-benches --bin fanout -- --quick
//! cargo run --release -p warp-benches --bin fanout                      # 5 rounds, N = 100
//! cargo run --release -p warp-benches --bin fanout -- --subscribers 1000 --rate 20
//! ```
//!
//! Options: `--quick`, `--subscribers N` (100), `--rate R` (commands/s in the latency phase;
//! default 20,000 delivered events/s, i.e. 20000 / N), `--seconds S` (3, each measured
//! phase), `--warmup S` (0.5), `--rounds K` (5), `--window W` (128), `--only ours|swimos`
//! (profiling: one server only, no ratio), `--timeout S` (20).
//!
//! Exits with status 1 (after stopping both servers) if a server misbehaves: a subscriber not
//! synced in time, a link refused, a connection closed, values delivered out of order, a phase
//! whose final value does not reach every subscriber, a server process that exits.

#![forbid(unsafe_code)]

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::process::{Command, ExitCode};
use std::time::Duration;

use conformance::peers::{PeerProcess, SwimosServer, START_TIMEOUT};
use warp_benches::fanout::{percentile, FixedRate, LoadConfig, Saturation, Session};
use warp_tokio::server::Server;
use warp_tokio::warp_proto::app::demo::UnitAgent;
use warp_tokio::warp_proto::app::{Agent, CommandLane, MapLane, ValueLane, ValueType};

/// Command-line options.
#[derive(Clone, Debug)]
struct Options {
    subscribers: usize,
    rate: Option<f64>,
    seconds: f64,
    warmup: f64,
    rounds: usize,
    window: u64,
    timeout: f64,
    only: Option<Kind>,
}

impl Options {
    fn rate(&self) -> f64 {
        self.rate
            .unwrap_or(20_000.0 / self.subscribers.max(1) as f64)
    }
}

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ours,
    Swimos,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Swimos => "swimos",
        }
    }
}

const USAGE: &str = "usage: fanout [--quick] [--subscribers N] [--rate R] [--seconds S] \
[--warmup S] [--rounds K] [--window W] [--timeout S] [--only ours|swimos]";

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        subscribers: 100,
        rate: None,
        seconds: 3.0,
        warmup: 0.5,
        rounds: 5,
        window: 128,
        timeout: 20.0,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--quick" => {
                o.seconds = 0.5;
                o.warmup = 0.2;
                o.rounds = 2;
            }
            "--subscribers" => o.subscribers = number(&value(&arg)?)?,
            "--rate" => o.rate = Some(number(&value(&arg)?)?),
            "--seconds" => o.seconds = number(&value(&arg)?)?,
            "--warmup" => o.warmup = number(&value(&arg)?)?,
            "--rounds" => o.rounds = number(&value(&arg)?)?,
            "--window" => o.window = number(&value(&arg)?)?,
            "--timeout" => o.timeout = number(&value(&arg)?)?,
            "--only" => {
                o.only = Some(match value(&arg)?.as_str() {
                    "ours" => Kind::Ours,
                    "swimos" => Kind::Swimos,
                    other => return Err(format!("--only {other:?}: ours or swimos")),
                })
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if o.subscribers == 0 || o.rounds == 0 {
        return Err("--subscribers and --rounds must be at least 1".to_string());
    }
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !(positive(o.seconds) && positive(o.timeout) && o.warmup.is_finite() && o.warmup >= 0.0) {
        return Err("--seconds, --timeout must be > 0 and --warmup >= 0".to_string());
    }
    if !positive(o.rate()) {
        return Err("--rate must be > 0".to_string());
    }
    Ok(o)
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a valid number"))
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--serve-ours") {
        return serve_ours();
    }
    let options = match parse_args() {
        Ok(o) => o,
        Err(message) => {
            eprintln!("fanout: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fanout: FAILED: {message}");
            ExitCode::from(1)
        }
    }
}

/// `fanout --serve-ours`: our demo server on a default multi-thread runtime, printing
/// `listening ADDR`, until stdin closes (the peers' protocol of `conformance::peers`).
fn serve_ours() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fanout --serve-ours: runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result: Result<(), String> = runtime.block_on(async {
        let server = Server::builder()
            .route(UnitAgent::PATTERN, |_| Some(bench_agent()))
            .map_err(|e| format!("route: {e}"))?
            .bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let addr = server.local_addr().map_err(|e| format!("address: {e}"))?;
        let handle = server.spawn();
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening {addr}")
                .and_then(|()| out.flush())
                .map_err(|e| format!("stdout: {e}"))?;
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 256];
            while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
            let _ = tx.send(());
        });
        let _ = rx.await;
        handle.shutdown().await;
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fanout --serve-ours: {message}");
            ExitCode::from(1)
        }
    }
}

/// History entries our server keeps per node in this benchmark (the demo agent's default bound
/// is `MapLane::DEFAULT_MAX_ENTRIES`, 65,536, after which `add` is refused; SwimOS's history
/// is unbounded, and one saturation phase can send more commands than that).
const HISTORY_BOUND: usize = 1 << 24;

/// The demo agent of `warp_tokio::demo` (same lanes, same logic, [`UnitAgent`]), with the
/// history map lane bounded at [`HISTORY_BOUND`] entries instead of 65,536.
fn bench_agent() -> Agent {
    Agent::new(UnitAgent)
        .with_lane("info", ValueLane::text(""))
        .with_lane("count", ValueLane::int(0))
        .with_lane(
            "history",
            MapLane::new(ValueType::Int, ValueType::Int).with_max_entries(HISTORY_BOUND),
        )
        .with_lane("set_info", CommandLane::new(ValueType::Text))
        .with_lane("add", CommandLane::new(ValueType::Int))
        .with_lane("remove", CommandLane::new(ValueType::Int))
}

/// A server under test: a child process.
struct Peer {
    kind: Kind,
    process: PeerProcess,
    addr: SocketAddr,
}

impl Peer {
    fn start(kind: Kind) -> Result<Peer, String> {
        let command = match kind {
            Kind::Ours => {
                let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
                let mut c = Command::new(exe);
                c.arg("--serve-ours");
                c
            }
            Kind::Swimos => {
                eprintln!("fanout: building the SwimOS peer server (cached in target/peers)...");
                let binary = SwimosServer::build().map_err(|e| e.to_string())?;
                let mut c = Command::new(binary);
                c.arg("--bind").arg("127.0.0.1:0");
                c
            }
        };
        let name = match kind {
            Kind::Ours => "warp demo server",
            Kind::Swimos => "swimos-peer-server",
        };
        let mut process = PeerProcess::spawn(name, command).map_err(|e| e.to_string())?;
        let addr = process
            .read_address(START_TIMEOUT)
            .map_err(|e| e.to_string())?;
        Ok(Peer {
            kind,
            process,
            addr,
        })
    }

    /// Fails if the process has exited.
    fn check_alive(&mut self) -> Result<(), String> {
        match self.process.wait_timeout(Duration::ZERO) {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "the {} server exited ({status}); stderr:\n{}",
                self.kind.name(),
                self.process.stderr_text()
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    fn cpu(&self) -> Option<Duration> {
        process_cpu(&format!("/proc/{}/stat", self.process.id()))
    }

    fn stop(mut self) {
        // Ours and SwimOS both exit when stdin closes; kill after 5 s otherwise.
        if let Err(e) = self.process.stop(Duration::from_secs(5)) {
            eprintln!("fanout: stopping the {} server: {e}", self.kind.name());
        }
    }
}

/// User + system CPU time of a process from its `/proc/PID/stat` (Linux; `None` elsewhere).
fn process_cpu(path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (state);
    // utime and stime are fields 14 and 15.
    let rest = stat.get(stat.rfind(')')?.checked_add(1)?..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = clock_ticks();
    Some(Duration::from_secs_f64(
        utime.saturating_add(stime) as f64 / ticks,
    ))
}

/// Clock ticks per second of `/proc` times (`getconf CLK_TCK`, 100 if unknown).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// CPU time used over a window, as cores (seconds of CPU per second).
#[derive(Clone, Copy, Debug, Default)]
struct Cpu {
    server: Option<Duration>,
    client: Option<Duration>,
}

/// One server's measurements in one round.
#[derive(Debug)]
struct Trial {
    /// Bodiless events received while syncing (SwimOS quirk; ignored).
    sync_absent: u64,
    saturation: Saturation,
    cpu: Cpu,
    fixed: FixedRate,
}

impl Trial {
    fn server_cores(&self) -> Option<f64> {
        self.cpu
            .server
            .map(|c| c.as_secs_f64() / self.saturation.elapsed.as_secs_f64().max(1e-9))
    }

    fn client_cores(&self) -> Option<f64> {
        self.cpu
            .client
            .map(|c| c.as_secs_f64() / self.saturation.elapsed.as_secs_f64().max(1e-9))
    }

    /// Server CPU nanoseconds per delivered event in the saturation window.
    fn server_ns_per_event(&self) -> Option<f64> {
        let events = self.saturation.counts.events;
        self.cpu
            .server
            .filter(|_| events > 0)
            .map(|c| c.as_secs_f64() * 1e9 / events as f64)
    }
}

async fn trial(server: &Peer, node: String, o: &Options) -> Result<Trial, String> {
    let config = LoadConfig {
        subscribers: o.subscribers,
        node,
        window: o.window,
        timeout: Duration::from_secs_f64(o.timeout),
        ..LoadConfig::default()
    };
    let name = server.kind.name();
    let mut session = Session::open(server.addr, config)
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    let sync_absent = session.sync_absent();
    let warmup = Duration::from_secs_f64(o.warmup);
    let measure = Duration::from_secs_f64(o.seconds);
    let probe = || (server.cpu(), process_cpu("/proc/self/stat"));
    let (saturation, before, after) = session
        .saturate(warmup, measure, probe)
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    let fixed = session
        .fixed_rate(o.rate(), warmup, measure)
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    let closed = session.close().await;
    closed.map_err(|e| format!("{name}: {e}"))?;
    for (phase, counts) in [
        ("saturation", saturation.counts),
        ("fixed rate", fixed.counts),
    ] {
        if counts.regressions > 0 {
            return Err(format!(
                "{name}: {phase}: {} events did not increase the value",
                counts.regressions
            ));
        }
    }
    if fixed.anomalies > 0 {
        return Err(format!(
            "{name}: {} events arrived before their command was recorded as written",
            fixed.anomalies
        ));
    }
    let delta = |a: Option<Duration>, b: Option<Duration>| Some(b?.saturating_sub(a?));
    Ok(Trial {
        sync_absent,
        saturation,
        cpu: Cpu {
            server: delta(before.0, after.0),
            client: delta(before.1, after.1),
        },
        fixed,
    })
}

fn ms(ns: Option<u64>) -> String {
    ns.map_or_else(|| "-".to_string(), |ns| format!("{:.2}", ns as f64 / 1e6))
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"))
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    if n % 2 == 1 {
        values.get(mid).copied()
    } else {
        Some((values.get(mid - 1)? + values.get(mid)?) / 2.0)
    }
}

fn run(o: &Options) -> Result<(), String> {
    let kinds: Vec<Kind> = match o.only {
        Some(k) => vec![k],
        None => vec![Kind::Ours, Kind::Swimos],
    };
    let load_start = load_average();
    let mut servers = Vec::new();
    for &kind in &kinds {
        servers.push(Peer::start(kind)?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    println!(
        "fan-out: {} subscribers of /unit/R count, 1 publisher of /unit/R add (R = round); {} rounds of \
         {:.1} s warm-up + {:.1} s saturation (window {}) and {:.1} s warm-up + {:.1} s at {:.0} \
         commands/s ({:.0} events/s offered) per server",
        o.subscribers,
        o.rounds,
        o.warmup,
        o.seconds,
        o.window,
        o.warmup,
        o.seconds,
        o.rate(),
        o.rate() * o.subscribers as f64,
    );
    for s in &servers {
        println!(
            "  {}: ws://{} (pid {})",
            s.kind.name(),
            s.addr,
            s.process.id()
        );
    }
    println!("load average at start: {load_start}");
    println!();
    println!("| round | server | events/s | commands/s | missing | server cores | server ns/event | client cores | p50 ms | p99 ms | max ms |");
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut results: Vec<Vec<Trial>> = kinds.iter().map(|_| Vec::new()).collect();
    let outcome = runtime.block_on(async {
        for round in 0..o.rounds {
            let mut order: Vec<usize> = (0..servers.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let server = servers.get_mut(i).ok_or("no such server")?;
                // A fresh agent for every round, the same node on both servers.
                let t = trial(server, format!("/unit/{}", round + 1), o).await?;
                server.check_alive()?;
                println!(
                    "| {} | {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
                    round + 1,
                    server.kind.name(),
                    t.saturation.events_per_sec(),
                    t.saturation.commands_per_sec(),
                    t.saturation.counts.missing,
                    opt(t.server_cores(), 2),
                    opt(t.server_ns_per_event(), 0),
                    opt(t.client_cores(), 2),
                    ms(percentile(&t.fixed.latencies_ns, 50.0)),
                    ms(percentile(&t.fixed.latencies_ns, 99.0)),
                    ms(t.fixed.latencies_ns.last().copied()),
                );
                if t.sync_absent > 0 {
                    println!(
                        "  note: {} bodiless @event frames while syncing (ignored)",
                        t.sync_absent
                    );
                }
                if let Some(r) = results.get_mut(i) {
                    r.push(t);
                }
            }
        }
        Ok::<(), String>(())
    });
    drop(runtime);
    let load_end = load_average();
    for s in servers {
        s.stop();
    }
    outcome?;
    println!();
    println!("load average at end: {load_end}");
    summarize(o, &kinds, &results);
    Ok(())
}

/// Pooled statistics of one server over all rounds.
struct Pooled {
    events_per_sec: f64,
    commands_per_sec: f64,
    ns_per_event: Option<f64>,
    latencies: Vec<u64>,
    fixed_events: u64,
    fixed_expected: u64,
    fixed_missing: u64,
    sat_missing: u64,
    sat_distinct: u64,
    achieved_rate: f64,
}

fn pool(o: &Options, trials: &[Trial]) -> Pooled {
    let mut eps: Vec<f64> = trials
        .iter()
        .map(|t| t.saturation.events_per_sec())
        .collect();
    let mut cps: Vec<f64> = trials
        .iter()
        .map(|t| t.saturation.commands_per_sec())
        .collect();
    let mut npe: Vec<f64> = trials
        .iter()
        .filter_map(Trial::server_ns_per_event)
        .collect();
    let mut rates: Vec<f64> = trials.iter().map(|t| t.fixed.achieved_rate).collect();
    let mut latencies: Vec<u64> = trials
        .iter()
        .flat_map(|t| t.fixed.latencies_ns.iter().copied())
        .collect();
    latencies.sort_unstable();
    let subs = o.subscribers as u64;
    Pooled {
        events_per_sec: median(&mut eps).unwrap_or(0.0),
        commands_per_sec: median(&mut cps).unwrap_or(0.0),
        ns_per_event: median(&mut npe),
        latencies,
        fixed_events: trials.iter().map(|t| t.fixed.counts.events).sum(),
        fixed_expected: trials
            .iter()
            .map(|t| t.fixed.commands.saturating_mul(subs))
            .sum(),
        fixed_missing: trials.iter().map(|t| t.fixed.counts.missing).sum(),
        sat_missing: trials.iter().map(|t| t.saturation.counts.missing).sum(),
        sat_distinct: trials.iter().map(|t| t.saturation.counts.distinct).sum(),
        achieved_rate: median(&mut rates).unwrap_or(0.0),
    }
}

fn summarize(o: &Options, kinds: &[Kind], results: &[Vec<Trial>]) {
    let pooled: Vec<Pooled> = results.iter().map(|t| pool(o, t)).collect();
    println!();
    println!("| server | events/s (median) | commands/s | server ns/event | latency p50 ms | p99 ms | max ms | latency samples | fixed-rate events delivered / expected | coalesced (missing values) sat. / fixed |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (kind, p) in kinds.iter().zip(&pooled) {
        println!(
            "| {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} / {} | {} of {} / {} |",
            kind.name(),
            p.events_per_sec,
            p.commands_per_sec,
            opt(p.ns_per_event, 0),
            ms(percentile(&p.latencies, 50.0)),
            ms(percentile(&p.latencies, 99.0)),
            ms(p.latencies.last().copied()),
            p.latencies.len(),
            p.fixed_events,
            p.fixed_expected,
            p.sat_missing,
            p.sat_missing.saturating_add(p.sat_distinct),
            p.fixed_missing,
        );
        let offered = o.rate() * o.subscribers as f64;
        if p.events_per_sec > 0.0 && offered > 0.5 * p.events_per_sec {
            println!(
                "  note: the fixed-rate phase offered {offered:.0} events/s, over half of {}'s \
                 saturated {:.0}: its latencies are not those of a moderate load",
                kind.name(),
                p.events_per_sec
            );
        }
        if p.achieved_rate < 0.95 * o.rate() {
            println!(
                "  note: the publisher achieved only {:.0} of {:.0} commands/s against {}",
                p.achieved_rate,
                o.rate(),
                kind.name()
            );
        }
    }
    let ([ours], [theirs]) = (
        results.get(..1).unwrap_or_default(),
        results.get(1..2).unwrap_or_default(),
    ) else {
        println!("\n(one server only: no ratio)");
        return;
    };
    let mut ratios: Vec<f64> = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| a.saturation.events_per_sec() / b.saturation.events_per_sec().max(1e-9))
        .collect();
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(0.0, f64::max);
    let ratio = median(&mut ratios).unwrap_or(0.0);
    println!();
    println!(
        "delivered events/s, ours / swimos: median of per-round ratios {ratio:.2}x (range {lo:.2}x-{hi:.2}x over {} rounds)",
        ours.len().min(theirs.len())
    );
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!(
        "target >= 3x swimos's delivered events/s: {ratio:.2}x {}{}",
        verdict(ratio >= 3.0),
        if ratio >= 3.0 {
            String::new()
        } else {
            format!(" ({:.0}% short of 3x)", (1.0 - ratio / 3.0) * 100.0)
        }
    );
    let (Some(p_ours), Some(p_theirs)) = (pooled.first(), pooled.get(1)) else {
        return;
    };
    let p99 = |p: &Pooled| percentile(&p.latencies, 99.0);
    match (p99(p_ours), p99(p_theirs)) {
        (Some(a), Some(b)) => println!(
            "target p99 latency below swimos's: ours {} ms vs swimos {} ms at {:.0} commands/s x {} subscribers: {}",
            ms(Some(a)),
            ms(Some(b)),
            o.rate(),
            o.subscribers,
            verdict(a < b)
        ),
        _ => println!("target p99 latency below swimos's: no samples"),
    }
}
