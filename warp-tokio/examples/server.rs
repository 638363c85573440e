//! A WARP server in a few lines: the demo agents (`/unit/:id`, lanes `info`, `count`,
//! `history`, `set_info`, `add`, `remove`) plus a `/clock` agent whose `ticks` lane the server
//! itself changes every second.
//!
//! Run: `cargo run -p warp-tokio --example server -- [ADDR]` (default `127.0.0.1:9001`), then
//! for instance `warp sync ws://127.0.0.1:9001 /unit/1 count` and
//! `warp command ws://127.0.0.1:9001 /unit/1 add 5`. Ctrl-C stops it gracefully.

use std::time::Duration;

use warp_tokio::demo::demo_builder;
use warp_tokio::server::{NoLogic, ValueLane};
use warp_tokio::warp_proto::app::Agent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let server = demo_builder()
        .route("/clock", |_| {
            Some(Agent::new(NoLogic).with_lane("ticks", ValueLane::int(0)))
        })?
        .bind(addr)
        .await?;
    println!("WARP server on ws://{}", server.local_addr()?);
    let handle = server.spawn();

    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut n: i64 = 0;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                n = n.wrapping_add(1);
                handle.modify("/clock", |lanes| lanes.set_value("ticks", n))?;
            }
            _ = &mut ctrl_c => break,
        }
    }
    handle.shutdown().await; // every client gets a 1001 close
    Ok(())
}
