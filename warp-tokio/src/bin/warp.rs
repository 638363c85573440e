//! `warp`: the WARP command-line tool.
//!
//! - `warp demo` starts the demo server and a client linking to it over loopback, and prints
//!   what the client sees (the project's main job);
//! - `warp serve [--bind ADDR]` runs the demo server (the agents of the interop tests on
//!   `/unit/:id`) and prints `listening ADDR` once bound;
//! - `warp link URL NODE LANE` / `warp sync URL NODE LANE` print the lane's events as they
//!   arrive, one per line, in Recon (or JSON with `--json`); `--count N` stops after N events,
//!   `--timeout SECS` after that long;
//! - `warp command URL NODE LANE VALUE` sends one command (VALUE in Recon) and exits once it
//!   is written.
//!
//! Link status (linked, synced, unlinked, reconnecting) goes to stderr, so stdout holds only
//! the events. Exit codes: 0 success, 1 failure (connection, refusal, timeout), 2 bad usage.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use futures::StreamExt;
use warp_proto::recon::Value;
use warp_tokio::client::{Client, ClientConfig, DownlinkEvent, ServerUrl, UnlinkReason};

#[path = "../cli/json.rs"]
mod json;

const EXIT_CODES: &str = "\
Exit codes: 0 success; 1 failure (cannot connect, link refused, connection closed, timed out \
before --count events); 2 bad usage (arguments, URL, VALUE not Recon).";

/// The WARP command-line tool: run the demo server, watch lanes, send commands.
#[derive(Debug, Parser)]
#[command(name = "warp", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Subcmd,
}

#[derive(Debug, Subcommand)]
enum Subcmd {
    /// Starts the demo server and a client on loopback: syncs lanes, sends commands, prints
    /// every event the client sees, then shuts down.
    Demo,
    /// Runs the demo server (agents on /unit/:id) until interrupted; prints `listening ADDR`.
    Serve {
        /// The address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:9001")]
        bind: String,
    },
    /// Links to a lane and prints its events as they arrive.
    Link(Watch),
    /// Syncs with a lane: prints its state, then its events as they arrive.
    Sync(Watch),
    /// Sends one command and exits once it is written.
    Command {
        /// The server: ws://HOST:PORT, warp://HOST:PORT (wss:// with the `tls` feature).
        url: String,
        /// The node URI, for example /unit/1.
        node: String,
        /// The lane URI, for example set_info.
        lane: String,
        /// The command's value, in Recon: 5, "hello", {x:1,y:2}.
        value: String,
        /// Give up after this many seconds (connecting and sending).
        #[arg(long, value_parser = seconds)]
        timeout: Option<Duration>,
    },
}

#[derive(Debug, Args)]
struct Watch {
    /// The server: ws://HOST:PORT, warp://HOST:PORT (wss:// with the `tls` feature).
    url: String,
    /// The node URI, for example /unit/1.
    node: String,
    /// The lane URI, for example info.
    lane: String,
    /// Print each event as JSON instead of Recon.
    #[arg(long)]
    json: bool,
    /// Exit after this many events.
    #[arg(long)]
    count: Option<u64>,
    /// Exit after this many seconds (a failure if --count events have not arrived).
    #[arg(long, value_parser = seconds)]
    timeout: Option<Duration>,
    /// Exit when the connection is lost instead of reconnecting.
    #[arg(long)]
    no_reconnect: bool,
}

/// A failure: the message for stderr and the exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn runtime(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
        }
    }

    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{text:?} is not a duration"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("warp: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Subcmd::Demo => warp_tokio::demo::walkthrough(&mut io::stdout())
                .await
                .map_err(|e| Failure::runtime(format!("demo: {e}"))),
            Subcmd::Serve { bind } => serve(&bind).await,
            Subcmd::Link(watch) => watch_lane(watch, false).await,
            Subcmd::Sync(watch) => watch_lane(watch, true).await,
            Subcmd::Command {
                url,
                node,
                lane,
                value,
                timeout,
            } => command(&url, &node, &lane, &value, timeout).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("warp: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// `warp serve`: the demo server until SIGINT or SIGTERM.
async fn serve(bind: &str) -> Result<(), Failure> {
    let server = warp_tokio::demo::demo_server(bind)
        .await
        .map_err(|e| Failure::runtime(format!("cannot listen on {bind}: {e}")))?;
    let addr = server
        .local_addr()
        .map_err(|e| Failure::runtime(format!("cannot read the bound address: {e}")))?;
    let handle = server.spawn();
    {
        let mut out = io::stdout().lock();
        // Scripts wait for this line; a closed stdout does not stop the server.
        let _ = writeln!(out, "listening {addr}").and_then(|()| out.flush());
    }
    eprintln!("warp: demo agents on /unit/:id at ws://{addr}/ (Ctrl-C stops)");
    stop_signal().await;
    eprintln!("warp: shutting down");
    handle.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT (or SIGTERM on Unix).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling: run until killed.
        std::future::pending::<()>().await;
    }
}

/// The client configuration for a CLI run.
fn config(timeout: Option<Duration>, reconnect: bool) -> ClientConfig {
    let mut config = ClientConfig::default();
    if let Some(timeout) = timeout {
        config = config.with_connect_timeout(timeout);
    }
    if !reconnect {
        config = config.with_reconnect(None);
    }
    config
}

async fn connect(url: &str, config: ClientConfig) -> Result<Client, Failure> {
    ServerUrl::parse(url).map_err(|e| Failure::usage(format!("{url}: {e}")))?;
    Client::connect_with(url, config)
        .await
        .map_err(|e| Failure::runtime(format!("{url}: {e}")))
}

/// `warp link` / `warp sync`.
async fn watch_lane(watch: Watch, sync: bool) -> Result<(), Failure> {
    let run = watch_events(&watch, sync);
    match watch.timeout {
        None => run.await,
        Some(limit) => match tokio::time::timeout(limit, run).await {
            Ok(result) => result,
            Err(_) => match watch.count {
                Some(n) => Err(Failure::runtime(format!(
                    "timed out after {limit:?} before {n} events"
                ))),
                None => Ok(()),
            },
        },
    }
}

async fn watch_events(watch: &Watch, sync: bool) -> Result<(), Failure> {
    let client = connect(&watch.url, config(watch.timeout, !watch.no_reconnect)).await?;
    let opened = if sync {
        client.sync(&watch.node, &watch.lane).await
    } else {
        client.link(&watch.node, &watch.lane).await
    };
    let mut downlink = opened.map_err(|e| Failure::runtime(e.to_string()))?;
    let target = format!("{} {}", watch.node, watch.lane);
    let mut seen = 0u64;
    // Whether the loop stopped by choice (count reached, stdout closed), not by the end of
    // the stream.
    let mut done = watch.count == Some(0);
    while !done {
        let Some(item) = downlink.next().await else {
            break;
        };
        match item {
            DownlinkEvent::Linked => eprintln!("warp: linked {target}"),
            DownlinkEvent::Synced => eprintln!("warp: synced {target}"),
            DownlinkEvent::Event(value) => {
                // `false`: stdout is closed (`| head`): nothing more to do.
                let printed = print_event(&value, watch.json)?;
                seen = seen.saturating_add(1);
                done = !printed || watch.count.is_some_and(|n| seen >= n);
            }
            DownlinkEvent::Unlinked(UnlinkReason::Disconnected) => {
                eprintln!("warp: disconnected; reconnecting");
            }
            // The server ended the link (SwimOS does while shutting down): the client opens
            // it again after reconnecting.
            DownlinkEvent::Unlinked(reason) if !reason.is_final() && !watch.no_reconnect => {
                eprintln!("warp: {target}: {reason}; waiting to reconnect");
            }
            DownlinkEvent::Unlinked(reason) => {
                return Err(Failure::runtime(format!("{target}: {reason}")));
            }
            other => eprintln!("warp: {other:?}"),
        }
    }
    client.close().await;
    if !done {
        return Err(Failure::runtime(format!("{target}: connection closed")));
    }
    Ok(())
}

/// Prints one event; `Ok(false)` when stdout is closed.
fn print_event(value: &Value, json: bool) -> Result<bool, Failure> {
    let line = if json {
        json::to_json(value)
    } else {
        match value.to_recon_string() {
            Ok(text) => text,
            Err(e) => {
                eprintln!("warp: event with no Recon text ({e}): {value:?}");
                return Ok(true);
            }
        }
    };
    let mut out = io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Failure::runtime(format!("writing to stdout: {e}"))),
    }
}

/// `warp command`.
async fn command(
    url: &str,
    node: &str,
    lane: &str,
    value: &str,
    timeout: Option<Duration>,
) -> Result<(), Failure> {
    let body = Value::parse(value)
        .map_err(|e| Failure::usage(format!("VALUE {value:?} is not Recon: {e}")))?;
    let send = async {
        let client = connect(url, config(timeout, false)).await?;
        let sent = client.command(node, lane, &body).await;
        client.close().await;
        sent.map_err(|e| Failure::runtime(format!("command {node} {lane}: {e}")))
    };
    match timeout {
        None => send.await,
        Some(limit) => tokio::time::timeout(limit, send)
            .await
            .map_err(|_| Failure::runtime(format!("timed out after {limit:?}")))?,
    }
}
