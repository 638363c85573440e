//! The smol server against an independent WebSocket client (`tungstenite`), on loopback: the
//! same scenarios as `warp-tokio`'s server (`warp-tokio/tests/server_scenarios`), each against
//! a fresh server running on smol's global executor.

#[path = "../../warp-tokio/tests/server_scenarios/mod.rs"]
mod server_scenarios;

use std::net::SocketAddr;

use futures_lite::future::or;
use server_scenarios::{calc_agent, squares_handler, TestServer, TEST_LIMIT};
use warp_smol::demo::demo_builder;
use warp_smol::server::{Server, ServerBuilder, ServerConfig, ServerHandle};

/// A smol server, spawned on the global executor.
struct Smol {
    handle: ServerHandle,
    addr: SocketAddr,
}

impl Smol {
    fn start(make: impl FnOnce() -> ServerBuilder) -> Smol {
        let server = smol::block_on(make().bind("127.0.0.1:0")).expect("bind");
        let addr = server.local_addr().expect("local addr");
        Smol {
            handle: server.spawn(),
            addr,
        }
    }
}

impl TestServer for Smol {
    fn demo(config: ServerConfig, authenticator: Option<fn(&str) -> bool>) -> Self {
        Smol::start(|| {
            let builder = demo_builder().config(config);
            match authenticator {
                Some(check) => builder.authenticator(check),
                None => builder,
            }
        })
    }

    fn with_app_routes() -> Self {
        let server = Smol::start(|| {
            Server::builder()
                .route_handler("/squares/:id", squares_handler)
                .expect("route")
        });
        server.handle.route("/calc/:id", calc_agent).expect("route");
        server
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn set_info(&self, node: &str, text: &str) -> usize {
        self.handle
            .modify(node, |lanes| lanes.set_value("info", text))
            .expect("modify")
    }

    fn connections(&self) -> usize {
        self.handle.connections()
    }

    fn shutdown(&self) {
        let stopped = smol::block_on(or(
            async {
                self.handle.shutdown().await;
                true
            },
            async {
                async_io::Timer::after(TEST_LIMIT).await;
                false
            },
        ));
        assert!(stopped, "shutdown finished in time");
    }
}

server_scenarios!(Smol);
