//! Load (issue 7): 10,000 concurrent connections, each with a few links.
//!
//! ```text
//! cargo run --release -p warp-benches --bin load_conns -- --driver tokio|smol \
//!     [--conns 10000] [--per-node 10] [--rate 1000] [--seconds 5]
//! ```
//!
//! Needs about `conns + 256` file descriptors in each of the two processes (client and
//! server): the binary raises its soft `RLIMIT_NOFILE` to that (the server child inherits
//! it) and fails with what to do when the hard limit (`ulimit -Hn`) is lower.
//!
//! Starts the demo server of the driver in a child process (see [`warp_benches::load`]), opens
//! `--conns` WebSockets (256 handshakes at a time), each linking `info`, `count` and
//! `history` of `/unit/{c / per-node}` (so `--per-node` connections share each node), and
//! waits for every `@linked`. Memory per connection is the growth of the server process's
//! resident set from idle to all connections linked, divided by the connections (3 links and
//! a share of an agent each). Then one more connection publishes stamped `set_info` commands
//! to the nodes in turn at `--rate` per second for `--seconds`; each reaches the
//! `--per-node` connections of its node. Events per second delivered and latency (command
//! written → event read by a subscriber) follow. Stops by itself.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use warp_benches::load::{
    client_runtime, collect, connect, figure, mib, publish_at_rate, raise_nofile, read_events,
    rss_of, send_links, wait_count, Args, Clock, Delivery, Percentiles, Received, ServerProcess,
    DRAIN_LIMIT,
};

fn main() -> ExitCode {
    warp_benches::load::run(load_conns)
}

fn load_conns(args: &Args) -> Result<(), String> {
    let conns = args.get("conns", 10_000)?.max(1);
    let per_node = args.get("per-node", 10)?.max(1);
    let rate = args.get("rate", 1000)?;
    let seconds = args.get("seconds", 5)?;
    let limit = raise_nofile(conns + 256)?;
    let nodes = conns.div_ceil(per_node);
    let extra = [
        "--max-conns".to_owned(),
        (conns + 16).to_string(),
        "--max-agents".to_owned(),
        (nodes + 16).to_string(),
        "--max-links".to_owned(),
        "16".to_owned(),
    ];
    let server = ServerProcess::spawn(args.driver, &extra)?;
    let outcome = client_runtime()?.block_on(run(&server, conns, per_node, rate, seconds));
    server.stop();
    let r = outcome?;
    println!(
        "load_conns --driver {} --conns {conns} --per-node {per_node} --rate {rate} --seconds {seconds}",
        args.driver.name()
    );
    figure("file descriptor limit", limit);
    let grown = r.rss_after.saturating_sub(r.rss_before);
    figure(
        "server RSS, all linked",
        format!(
            "{:.1} MiB (from {:.1} MiB idle)",
            mib(r.rss_after),
            mib(r.rss_before)
        ),
    );
    figure(
        "server memory per connection",
        format!("{} bytes (3 links each)", grown / conns),
    );
    figure(
        "server memory per link",
        format!("{} bytes", grown / (conns * 3)),
    );
    figure(
        "connected and linked in",
        format!("{:.2} s", r.open_time.as_secs_f64()),
    );
    r.delivery.report()
}

struct Report {
    rss_before: u64,
    rss_after: u64,
    open_time: Duration,
    delivery: Delivery,
}

async fn run(
    server: &ServerProcess,
    conns: u64,
    per_node: u64,
    rate: u64,
    seconds: u64,
) -> Result<Report, String> {
    let clock = Clock::start();
    let received = Arc::new(Received::default());
    let linked = Arc::new(AtomicU64::new(0));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let rss_before = server.rss()?;
    let started = Instant::now();
    let addr = server.addr;
    let opened: Vec<_> = futures::stream::iter(0..conns)
        .map(|c| {
            let (received, linked, stop_rx) =
                (Arc::clone(&received), Arc::clone(&linked), stop_rx.clone());
            async move {
                let (mut sink, stream) = connect(addr).await?;
                let node = format!("/unit/{}", c / per_node);
                let pairs = [
                    (node.clone(), "info"),
                    (node.clone(), "count"),
                    (node, "history"),
                ];
                send_links(&mut sink, &pairs).await?;
                let reader = tokio::spawn(read_events(stream, clock, received, linked, stop_rx));
                Ok::<_, String>((sink, reader))
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    let mut sinks = Vec::new();
    let mut readers = Vec::new();
    for conn in opened {
        let (sink, reader) = conn?;
        sinks.push(sink);
        readers.push(reader);
    }
    wait_count(
        &linked,
        conns * 3,
        Duration::from_secs(120),
        "links answered",
    )
    .await?;
    let open_time = started.elapsed();
    let rss_after = server.rss()?;

    let (mut publisher, _unread) = connect(addr).await?;
    let nodes: Vec<String> = (0..conns.div_ceil(per_node))
        .map(|n| format!("/unit/{n}"))
        .collect();
    let started = Instant::now();
    let sent = publish_at_rate(&mut publisher, &nodes, rate, seconds, clock).await?;
    let expected: u64 = sent
        .iter()
        .enumerate()
        .map(|(n, commands)| {
            let first = n as u64 * per_node;
            commands * per_node.min(conns.saturating_sub(first))
        })
        .sum();
    let drained = received.wait_for(expected, DRAIN_LIMIT).await;
    let elapsed = started.elapsed();
    if let Err(e) = drained {
        eprintln!("not every event arrived: {e}");
    }
    let events = received.events.load(Ordering::Relaxed);
    let mut latencies = collect(&stop, readers).await?;
    let _ = publisher.close().await;
    for mut sink in sinks {
        let _ = sink.close().await;
    }
    Ok(Report {
        rss_before,
        rss_after,
        open_time,
        delivery: Delivery {
            events,
            expected,
            elapsed,
            latency: Percentiles::of(&mut latencies),
            client_rss: rss_of("self")?,
        },
    })
}
