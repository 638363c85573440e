//! Load (issue 7): one publisher pushing events to 1,000 subscribers.
//!
//! ```text
//! cargo run --release -p warp-benches --bin load_fanout -- --driver tokio|smol \
//!     [--subscribers 1000] [--rate 100] [--seconds 5]
//! ```
//!
//! Starts the demo server of the driver in a child process (see [`warp_benches::load`]),
//! opens `--subscribers` WebSockets each linking `/unit/1` `info`, and waits for every
//! `@linked`; memory per subscriber connection is the growth of the server process's resident
//! set from idle to all linked, divided by the subscribers. Then a publisher connection sends
//! stamped `set_info` commands to `/unit/1` at `--rate` per second for `--seconds`: every
//! command is an event for every subscriber. Events per second delivered and latency (command
//! written → event read by a subscriber) follow. Stops by itself. (`bin/fanout.rs` is the
//! other fan-out benchmark, comparing our server with SwimOS at saturation.)

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
    warp_benches::load::run(load_fanout)
}

fn load_fanout(args: &Args) -> Result<(), String> {
    let subscribers = args.get("subscribers", 1000)?.max(1);
    let rate = args.get("rate", 100)?;
    let seconds = args.get("seconds", 5)?;
    raise_nofile(subscribers + 256)?;
    let extra = ["--max-conns".to_owned(), (subscribers + 16).to_string()];
    let server = ServerProcess::spawn(args.driver, &extra)?;
    let outcome = client_runtime()?.block_on(run(&server, subscribers, rate, seconds));
    server.stop();
    let r = outcome?;
    println!(
        "load_fanout --driver {} --subscribers {subscribers} --rate {rate} --seconds {seconds}",
        args.driver.name()
    );
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
        "server memory per subscriber",
        format!("{} bytes (1 link each)", grown / subscribers),
    );
    r.delivery.report()
}

struct Report {
    rss_before: u64,
    rss_after: u64,
    delivery: Delivery,
}

async fn run(
    server: &ServerProcess,
    subscribers: u64,
    rate: u64,
    seconds: u64,
) -> Result<Report, String> {
    let clock = Clock::start();
    let received = Arc::new(Received::default());
    let linked = Arc::new(AtomicU64::new(0));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let rss_before = server.rss()?;
    let addr = server.addr;
    let opened: Vec<_> = futures::stream::iter(0..subscribers)
        .map(|_| {
            let (received, linked, stop_rx) =
                (Arc::clone(&received), Arc::clone(&linked), stop_rx.clone());
            async move {
                let (mut sink, stream) = connect(addr).await?;
                send_links(&mut sink, &[("/unit/1".to_owned(), "info")]).await?;
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
        subscribers,
        Duration::from_secs(60),
        "links answered",
    )
    .await?;
    let rss_after = server.rss()?;

    let (mut publisher, _unread) = connect(addr).await?;
    let started = Instant::now();
    let sent = publish_at_rate(
        &mut publisher,
        &["/unit/1".to_owned()],
        rate,
        seconds,
        clock,
    )
    .await?;
    let expected = sent.iter().sum::<u64>() * subscribers;
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
        delivery: Delivery {
            events,
            expected,
            elapsed,
            latency: Percentiles::of(&mut latencies),
            client_rss: rss_of("self")?,
        },
    })
}
