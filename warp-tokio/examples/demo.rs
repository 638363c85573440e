//! The project's main job: a WARP server and a client linking to it, over a real loopback
//! WebSocket.
//!
//! ```sh
//! cargo run -p warp-tokio --example demo
//! ```
//!
//! It starts the demo server (the agents of `warp serve`: nodes `/unit/:id` with lanes `info`,
//! `count`, `history` and the command lanes `set_info`, `add`, `remove`) on a free port, then a
//! client that syncs `count` and `history`, sends commands, prints every event as it arrives,
//! links a lane that does not exist, closes its downlinks, and shuts the server down (every
//! connection gets a 1001 close). Run with `RUST_LOG`-style tracing off; it prints only what
//! the client sees.

use std::time::Duration;

use futures::StreamExt;
use warp_tokio::client::{Client, Downlink, DownlinkEvent};
use warp_tokio::warp_proto::recon::Value;

/// Prints the next event of `downlink`; fails if none comes within two seconds.
async fn show(downlink: &mut Downlink) -> Result<DownlinkEvent, Box<dyn std::error::Error>> {
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
    println!("{} {:<8} {what}", downlink.node(), downlink.lane());
    Ok(event)
}

/// Prints events of `downlink` until (and including) the one `done` accepts.
async fn show_until(
    downlink: &mut Downlink,
    done: impl Fn(&DownlinkEvent) -> bool,
) -> Result<(), Box<dyn std::error::Error>> {
    while !done(&show(downlink).await?) {}
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = warp_tokio::demo::demo_server("127.0.0.1:0").await?;
    let url = format!("ws://{}", server.local_addr()?);
    println!("server listening on {url}");
    let server = server.spawn();

    let client = Client::connect(&url).await?;
    println!("client connected\n-- sync /unit/1 count and history");
    let mut count = client.sync("/unit/1", "count").await?;
    show_until(&mut count, |e| *e == DownlinkEvent::Synced).await?;
    let mut history = client.sync("/unit/1", "history").await?;
    show_until(&mut history, |e| *e == DownlinkEvent::Synced).await?;

    println!("-- command add 5, then add 3");
    for n in [5, 3] {
        client.command("/unit/1", "add", &Value::from(n)).await?;
        show(&mut count).await?;
        show(&mut history).await?;
    }

    println!("-- command remove 5");
    client.command("/unit/1", "remove", &Value::from(5)).await?;
    show(&mut history).await?;

    println!("-- link a lane that does not exist");
    let mut missing = client.link("/unit/1", "nope").await?;
    show_until(&mut missing, |e| matches!(e, DownlinkEvent::Unlinked(_))).await?;

    println!("-- close the downlinks (the client unlinks), then shut down");
    count.close().await?;
    history.close().await?;
    client.close().await;
    server.shutdown().await;
    println!("done");
    Ok(())
}
