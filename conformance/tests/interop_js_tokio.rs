//! The official JavaScript client (`@swim/client` 4.0.0) against OUR server: the
//! `warp-tokio` demo server. The scenarios and their checks are in `interop_js/mod.rs`,
//! shared with `interop_js_smol.rs`.
//!
//! Without `node` on the PATH each test says so on stderr and passes without checking.

mod interop_js;

use std::net::SocketAddr;

use interop_js::{OurServer, STOP_LIMIT};
use warp_tokio::server::ServerHandle;

/// Our tokio demo server on a free loopback port, on its own tokio runtime.
struct TokioServer {
    runtime: tokio::runtime::Runtime,
    handle: ServerHandle,
    addr: SocketAddr,
}

impl OurServer for TokioServer {
    const DRIVER: &'static str = "tokio";

    fn start() -> TokioServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let server = runtime
            .block_on(warp_tokio::demo::demo_server("127.0.0.1:0"))
            .expect("bind the demo server");
        let addr = server.local_addr().expect("local address");
        let handle = {
            let _entered = runtime.enter();
            server.spawn()
        };
        TokioServer {
            runtime,
            handle,
            addr,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TokioServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let stopped = self
            .runtime
            .block_on(async move { tokio::time::timeout(STOP_LIMIT, handle.shutdown()).await });
        if stopped.is_err() && !std::thread::panicking() {
            panic!("our server did not shut down within {STOP_LIMIT:?}");
        }
    }
}

interop_js_scenarios!(TokioServer);
