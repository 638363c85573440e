//! The smol client run by async-std (feature `async-std`: its connection task is spawned with
//! `async_std::task::spawn`, its sockets and timers are `async-io`'s, which async-std shares)
//! against the warp-tokio demo server.
#![cfg(feature = "async-std")]

/// The client under test, for the shared scenarios.
mod driver {
    pub use futures_lite::StreamExt;
    pub use warp_smol::client::{Client, Downlink};
}

#[path = "../../warp-tokio/tests/client_scenarios/mod.rs"]
mod client_scenarios;

use client_scenarios as scenarios;

#[test]
fn sync_value_lane_then_command_changes_it_under_async_std() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime for the demo server");
    let server = rt
        .block_on(warp_tokio::demo::demo_server("127.0.0.1:0"))
        .expect("binding the demo server");
    let url = format!("ws://{}", server.local_addr().expect("bound address"));
    let handle = {
        let _entered = rt.enter();
        server.spawn()
    };
    async_std::task::block_on(async {
        scenarios::sync_value_lane_then_command_changes_it(&url).await;
        scenarios::two_downlinks_on_one_lane_share_the_link(&url).await;
    });
    rt.block_on(handle.shutdown());
}
