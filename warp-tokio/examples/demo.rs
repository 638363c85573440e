//! The project's main job: a WARP server and a client linking to it, over a real loopback
//! WebSocket ([`warp_tokio::demo::walkthrough`], also `warp demo`).
//!
//! ```sh
//! cargo run -p warp-tokio --example demo
//! ```
//!
//! It starts the demo server (the agents of `warp serve`: nodes `/unit/:id` with lanes `info`,
//! `count`, `history` and the command lanes `set_info`, `add`, `remove`) on a free port, then a
//! client that syncs `count` and `history`, sends commands, prints every event as it arrives,
//! links a lane that does not exist, closes its downlinks, and shuts the server down.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    warp_tokio::demo::walkthrough(&mut std::io::stdout()).await
}
