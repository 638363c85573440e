//! The sensor against our own server: `warp_tokio::demo::demo_server`, the same agents as the
//! SwimOS peer (`/unit/:id` with `info`, `count` and the `add` command lane), run in this
//! process on a tokio runtime while the program runs as a child process.

mod common;

use common::{check_script, run_program};
use warp_tokio::demo::demo_server;
use warp_tokio::server::ServerHandle;

/// The demo server on a free loopback port: the runtime serving it, its handle, its port.
fn start() -> (tokio::runtime::Runtime, ServerHandle, u16) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let server = runtime
        .block_on(demo_server("127.0.0.1:0"))
        .expect("binding the demo server");
    let port = server.local_addr().expect("its address").port();
    let handle = {
        let _entered = runtime.enter();
        server.spawn()
    };
    (runtime, handle, port)
}

#[test]
fn readings_land_on_count_of_our_server_and_the_sensor_closes_cleanly() {
    let (runtime, server, port) = start();
    let port = port.to_string();
    let run = run_program(&["127.0.0.1", &port, "/unit/7", "5"]);
    assert_eq!(check_script(&run, "/unit/7", 5), 0);
    let again = run_program(&["127.0.0.1", &port, "/unit/7", "2"]);
    assert_eq!(check_script(&again, "/unit/7", 2), 15);
    runtime.block_on(server.shutdown());
}
