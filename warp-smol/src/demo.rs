//! The demo server: the agents the interop tests run against, the same as the SwimOS peer
//! server's (`peers/swimos-server`) and `warp_tokio::demo`'s, so one scenario runs against all
//! of them.
//!
//! Nodes `/unit/:id`, each a [`UnitAgent`] with lanes `info` (value lane of text, initially
//! `""`), `count` (value lane of integer, initially `0`), `history` (map lane integer to
//! integer), and command lanes `set_info` (sets `info`), `add` (adds its integer to `count` and
//! records the new total as key with the added amount as value in `history`) and `remove`
//! (removes a key from `history`).
//!
//! ```
//! smol::block_on(async {
//!     let server = warp_smol::demo::demo_server("127.0.0.1:0").await?;
//!     println!("demo agents at ws://{}/ on /unit/:id", server.local_addr()?);
//!     let handle = server.spawn();
//!     handle.command("/unit/1", "add", 5.into())?;
//!     let count = handle.with_plane(|plane| {
//!         plane.agent("/unit/1")?.lane("count")?.as_value().map(|lane| lane.get().clone())
//!     });
//!     assert_eq!(count, Some(5.into()));
//!     handle.shutdown().await;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })
//! .unwrap();
//! ```

use std::io;

use async_net::AsyncToSocketAddrs;

pub use warp_proto::app::demo::UnitAgent;

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
pub async fn demo_server(addr: impl AsyncToSocketAddrs) -> io::Result<Server> {
    demo_builder().bind(addr).await
}
