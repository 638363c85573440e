//! The tokio server against an independent WebSocket client (`tungstenite`), on loopback: the
//! scenarios of `server_scenarios` (shared with `warp-smol`'s server), each against a fresh
//! server on its own tokio runtime.

mod server_scenarios;

use std::net::SocketAddr;

use server_scenarios::{calc_agent, squares_handler, TestServer, TEST_LIMIT};
use warp_tokio::demo::demo_builder;
use warp_tokio::server::{Server, ServerBuilder, ServerConfig, ServerHandle};

/// A tokio server on its own two-thread runtime.
struct Tokio {
    runtime: tokio::runtime::Runtime,
    handle: ServerHandle,
    addr: SocketAddr,
}

impl Tokio {
    fn start(make: impl FnOnce() -> ServerBuilder) -> Tokio {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let server = runtime.block_on(make().bind("127.0.0.1:0")).expect("bind");
        let addr = server.local_addr().expect("local addr");
        let handle = {
            let _entered = runtime.enter();
            server.spawn()
        };
        Tokio {
            runtime,
            handle,
            addr,
        }
    }
}

impl TestServer for Tokio {
    fn demo(config: ServerConfig, authenticator: Option<fn(&str) -> bool>) -> Self {
        Tokio::start(|| {
            let builder = demo_builder().config(config);
            match authenticator {
                Some(check) => builder.authenticator(check),
                None => builder,
            }
        })
    }

    fn with_app_routes() -> Self {
        let server = Tokio::start(|| {
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
        let handle = self.handle.clone();
        self.runtime
            .block_on(async move { tokio::time::timeout(TEST_LIMIT, handle.shutdown()).await })
            .expect("shutdown finished in time");
    }
}

server_scenarios!(Tokio);
