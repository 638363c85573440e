//! The demo server: the agents the interop tests run against, the same as the SwimOS peer
//! server's (`peers/swimos-server`), so one scenario runs against both. `warp serve` runs it.
//!
//! Nodes `/unit/:id`, each a [`UnitAgent`] with lanes `info` (value lane of text, initially
//! `""`), `count` (value lane of integer, initially `0`), `history` (map lane integer to
//! integer), and command lanes `set_info` (sets `info`), `add` (adds its integer to `count` and
//! records the new total as key with the added amount as value in `history`) and `remove`
//! (removes a key from `history`).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = warp_tokio::demo::demo_server("127.0.0.1:0").await?;
//! println!("demo agents at ws://{}/ on /unit/:id", server.local_addr()?);
//! let handle = server.spawn();
//! handle.command("/unit/1", "add", 5.into())?;
//! let count = handle.with_plane(|plane| {
//!     plane.agent("/unit/1")?.lane("count")?.as_value().map(|lane| lane.get().clone())
//! });
//! assert_eq!(count, Some(5.into()));
//! handle.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::error::Error;
use std::io::{self, Write};
use std::time::Duration;

use futures::StreamExt;
use tokio::net::ToSocketAddrs;
use warp_proto::recon::Value;

pub use warp_proto::app::demo::UnitAgent;

use crate::client::{Client, Downlink, DownlinkEvent};
use crate::server::{Server, ServerBuilder};

/// A server builder routing [`UnitAgent::PATTERN`] (`/unit/:id`) to demo agents; add routes
/// or configuration, then bind it.
pub fn demo_builder() -> ServerBuilder {
    // The pattern is a constant known to parse; a failure would be a bug in warp-proto.
    match Server::builder().route(UnitAgent::PATTERN, |_| Some(UnitAgent::agent())) {
        Ok(builder) => builder,
        Err(e) => {
            tracing::error!("the demo route does not parse: {e}");
            Server::builder()
        }
    }
}

/// The demo server bound to `addr` (port 0: a free port), with the default configuration.
/// Run it with [`Server::run`] or [`Server::spawn`].
pub async fn demo_server(addr: impl ToSocketAddrs) -> io::Result<Server> {
    demo_builder().bind(addr).await
}

/// The project's main job, `warp demo` (and `cargo run -p warp-tokio --example demo`): starts
/// the demo server on a free loopback port, connects a client over WebSocket, syncs `count`
/// and `history` of `/unit/1`, sends `add 5`, `add 3` and `remove 5`, links a lane that does
/// not exist, closes its downlinks and shuts the server down (1001 to every connection),
/// writing one line to `out` for each thing the client sees.
///
/// Fails if an expected event does not come within two seconds, or on any IO error.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut out = Vec::new();
/// warp_tokio::demo::walkthrough(&mut out).await?;
/// let text = String::from_utf8(out)?;
/// assert!(text.contains("/unit/1 count    event 8"));
/// assert!(text.contains("unlinked(lanenotfound)"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn walkthrough(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let server = demo_server("127.0.0.1:0").await?;
    let url = format!("ws://{}", server.local_addr()?);
    writeln!(out, "server listening on {url}")?;
    let server = server.spawn();

    let client = Client::connect(&url).await?;
    writeln!(out, "client connected\n-- sync /unit/1 count and history")?;
    let mut count = client.sync("/unit/1", "count").await?;
    show_until(out, &mut count, |e| *e == DownlinkEvent::Synced).await?;
    let mut history = client.sync("/unit/1", "history").await?;
    show_until(out, &mut history, |e| *e == DownlinkEvent::Synced).await?;

    writeln!(out, "-- command add 5, then add 3")?;
    for n in [5, 3] {
        client.command("/unit/1", "add", &Value::from(n)).await?;
        show(out, &mut count).await?;
        show(out, &mut history).await?;
    }

    writeln!(out, "-- command remove 5")?;
    client.command("/unit/1", "remove", &Value::from(5)).await?;
    show(out, &mut history).await?;

    writeln!(out, "-- link a lane that does not exist")?;
    let mut missing = client.link("/unit/1", "nope").await?;
    show_until(out, &mut missing, |e| {
        matches!(e, DownlinkEvent::Unlinked(_))
    })
    .await?;

    writeln!(
        out,
        "-- close the downlinks (the client unlinks), then shut down"
    )?;
    count.close().await?;
    history.close().await?;
    client.close().await;
    server.shutdown().await;
    writeln!(out, "done")?;
    Ok(())
}

/// Writes the next event of `downlink`; fails if none comes within two seconds.
async fn show(
    out: &mut dyn Write,
    downlink: &mut Downlink,
) -> Result<DownlinkEvent, Box<dyn Error>> {
    let event = tokio::time::timeout(Duration::from_secs(2), downlink.next())
        .await
        .map_err(|_| {
            format!(
                "no event on {} {} within 2 s",
                downlink.node(),
                downlink.lane()
            )
        })?
        .ok_or("the downlink ended")?;
    let what = match &event {
        DownlinkEvent::Event(v) => format!("event {v}"),
        other => format!("{other:?}").to_lowercase(),
    };
    writeln!(out, "{} {:<8} {what}", downlink.node(), downlink.lane())?;
    Ok(event)
}

/// Writes events of `downlink` until (and including) the one `done` accepts.
async fn show_until(
    out: &mut dyn Write,
    downlink: &mut Downlink,
    done: impl Fn(&DownlinkEvent) -> bool,
) -> Result<(), Box<dyn Error>> {
    while !done(&show(out, downlink).await?) {}
    Ok(())
}
