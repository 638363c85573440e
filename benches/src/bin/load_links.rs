//! Load (issue 7): one connection carrying 100,000 links.
//!
//! ```text
//! cargo run --release -p warp-benches --bin load_links -- --driver tokio|smol \
//!     [--links 100000] [--seconds 5] [--window 64]
//! ```
//!
//! Starts the demo server of the driver in a child process (see [`warp_benches::load`]), opens
//! one WebSocket, links `info` on `/unit/0` .. `/unit/{links-1}` (each its own demo agent) and
//! waits for every `@linked`. Memory per link is the growth of the server process's resident
//! set from the connected, link-less state to all links open, divided by the links (so it
//! includes the agent behind each link). Then, for `--seconds`, the same connection sends
//! batches of `--window` stamped `set_info` commands to nodes in turn, each batch once the
//! previous one's events all came back; events per second and latency (command written →
//! its event read) follow. Stops by itself.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::SinkExt;
use warp_benches::load::{
    client_runtime, collect, connect, figure, load_average, mib, read_events, rss_of, send_links,
    stamped_command, wait_count, Args, Clock, Percentiles, Received, ServerProcess, DRAIN_LIMIT,
};

fn main() -> ExitCode {
    warp_benches::load::run(load_links)
}

fn load_links(args: &Args) -> Result<(), String> {
    let links = args.get("links", 100_000)?.max(1);
    let seconds = args.get("seconds", 5)?;
    let window = args.get("window", 64)?.max(1);
    let bound = (links + 16).to_string();
    let extra = [
        "--max-links".to_owned(),
        bound.clone(),
        "--max-agents".to_owned(),
        bound,
        "--max-conns".to_owned(),
        "16".to_owned(),
    ];
    let server = ServerProcess::spawn(args.driver, &extra)?;
    let outcome = client_runtime()?.block_on(run(&server, links, seconds, window));
    server.stop();
    let report = outcome?;
    println!(
        "load_links --driver {} --links {links} --seconds {seconds} --window {window}",
        args.driver.name()
    );
    report.print(links);
    Ok(())
}

struct Report {
    rss_before: u64,
    rss_after: u64,
    link_time: Duration,
    events: u64,
    elapsed: Duration,
    latency: Percentiles,
    client_rss: u64,
}

impl Report {
    fn print(&self, links: u64) {
        let grown = self.rss_after.saturating_sub(self.rss_before);
        figure(
            "server RSS, linked",
            format!(
                "{:.1} MiB (from {:.1} MiB connected without links)",
                mib(self.rss_after),
                mib(self.rss_before)
            ),
        );
        figure(
            "server memory per link",
            format!("{} bytes (incl. its agent)", grown / links),
        );
        figure(
            "links opened in",
            format!(
                "{:.2} s ({:.0} links/s)",
                self.link_time.as_secs_f64(),
                links as f64 / self.link_time.as_secs_f64().max(1e-9)
            ),
        );
        figure(
            "events",
            format!("{} in {:.2} s", self.events, self.elapsed.as_secs_f64()),
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
    }
}

async fn run(
    server: &ServerProcess,
    links: u64,
    seconds: u64,
    window: u64,
) -> Result<Report, String> {
    let clock = Clock::start();
    let (mut sink, stream) = connect(server.addr).await?;
    let received = Arc::new(Received::default());
    let linked = Arc::new(AtomicU64::new(0));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let reader = tokio::spawn(read_events(
        stream,
        clock,
        Arc::clone(&received),
        Arc::clone(&linked),
        stop_rx,
    ));
    let rss_before = server.rss()?;

    let started = Instant::now();
    let nodes: Vec<String> = (0..links).map(|i| format!("/unit/{i}")).collect();
    let pairs: Vec<(String, &str)> = nodes.iter().map(|n| (n.clone(), "info")).collect();
    send_links(&mut sink, &pairs).await?;
    let limit = Duration::from_secs(120);
    wait_count(&linked, links, limit, "links answered").await?;
    let link_time = started.elapsed();
    let rss_after = server.rss()?;

    let started = Instant::now();
    let mut sent = 0u64;
    let mut next = 0usize;
    while started.elapsed() < Duration::from_secs(seconds) {
        for _ in 0..window {
            sink.feed(stamped_command(&nodes[next], clock.micros()))
                .await
                .map_err(|e| format!("send command: {e}"))?;
            next = (next + 1) % nodes.len();
        }
        sink.flush().await.map_err(|e| format!("flush: {e}"))?;
        sent += window;
        received.wait_for(sent, DRAIN_LIMIT).await?;
    }
    let elapsed = started.elapsed();
    let events = received.events.load(Ordering::Relaxed);
    let mut latencies = collect(&stop, vec![reader]).await?;
    let _ = sink.close().await;
    Ok(Report {
        rss_before,
        rss_after,
        link_time,
        events,
        elapsed,
        latency: Percentiles::of(&mut latencies),
        client_rss: rss_of("self")?,
    })
}
