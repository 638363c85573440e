//! The official JavaScript client (`@swim/client` 4.0.0) against OUR server: the
//! `warp-smol` demo server, on smol's global executor. The same seven scenarios and checks as
//! against the tokio server (`interop_js/mod.rs`, shared with `interop_js_tokio.rs`).
//!
//! With `--features async-std` the server's connection tasks run on async-std instead, and
//! one more test runs its accept loop on async-std too.
//!
//! Without `node` on the PATH each test says so on stderr and passes without checking.

mod interop_js;

use std::net::SocketAddr;

use futures_lite::future::or;
use interop_js::{OurServer, STOP_LIMIT};
use warp_smol::server::ServerHandle;

/// Our smol demo server on a free loopback port, its tasks on smol's global executor.
struct SmolServer {
    handle: ServerHandle,
    addr: SocketAddr,
}

impl OurServer for SmolServer {
    const DRIVER: &'static str = "smol";

    fn start() -> SmolServer {
        let server = smol::block_on(warp_smol::demo::demo_server("127.0.0.1:0"))
            .expect("bind the demo server");
        let addr = server.local_addr().expect("local address");
        SmolServer {
            handle: server.spawn(),
            addr,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for SmolServer {
    fn drop(&mut self) {
        let stopped = smol::block_on(or(
            async {
                self.handle.shutdown().await;
                true
            },
            async {
                async_io::Timer::after(STOP_LIMIT).await;
                false
            },
        ));
        if !stopped && !std::thread::panicking() {
            panic!("our server did not shut down within {STOP_LIMIT:?}");
        }
    }
}

interop_js_scenarios!(SmolServer);

/// The smol server run by async-std instead (`--features async-std`: connection tasks are
/// spawned on async-std; the accept loop is an async-std task too), against the same client
/// scenario.
#[cfg(feature = "async-std")]
#[test]
fn on_async_std_value_sync_reports_link_initial_value_sync_and_commanded_value() {
    interop_js::value_sync_reports_link_initial_value_sync_and_commanded_value::<AsyncStdServer>();
}

/// Our smol demo server with its accept loop on async-std's executor.
#[cfg(feature = "async-std")]
struct AsyncStdServer {
    handle: ServerHandle,
    addr: SocketAddr,
    task: Option<async_std::task::JoinHandle<()>>,
}

#[cfg(feature = "async-std")]
impl OurServer for AsyncStdServer {
    const DRIVER: &'static str = "smol-on-async-std";

    fn start() -> AsyncStdServer {
        let server = async_std::task::block_on(warp_smol::demo::demo_server("127.0.0.1:0"))
            .expect("bind the demo server");
        let addr = server.local_addr().expect("local address");
        let handle = server.handle();
        let task = async_std::task::spawn(server.run());
        AsyncStdServer {
            handle,
            addr,
            task: Some(task),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

#[cfg(feature = "async-std")]
impl Drop for AsyncStdServer {
    fn drop(&mut self) {
        let task = self.task.take();
        let stopped = async_std::task::block_on(async_std::future::timeout(STOP_LIMIT, async {
            self.handle.shutdown().await;
            if let Some(task) = task {
                task.await;
            }
        }));
        if stopped.is_err() && !std::thread::panicking() {
            panic!("our server did not shut down within {STOP_LIMIT:?}");
        }
    }
}
