//! Runs the demo server on smol until stdin closes:
//! `cargo run -p warp-smol --example serve -- 127.0.0.1:9001`.
//!
//! Nodes `/unit/:id` with lanes `info`, `count`, `history` and command lanes `set_info`,
//! `add`, `remove` (see `warp_smol::demo`). Try it with the `warp` tool of warp-tokio:
//! `warp sync ws://127.0.0.1:9001 /unit/1 count`.

use std::io::Read;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    smol::block_on(async {
        let server = warp_smol::demo::demo_server(addr.as_str()).await?;
        println!(
            "demo agents at ws://{}/ (close stdin to stop)",
            server.local_addr()?
        );
        let handle = server.spawn();
        // Wait for stdin to close, on a blocking thread.
        smol::unblock(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await;
        handle.shutdown().await;
        Ok(())
    })
}
