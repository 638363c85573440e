//! Faults over real sockets against the tokio server (issue 7): the scenarios of
//! `fault_scenarios` (shared with `warp-smol`), each against a fresh demo server on its own
//! tokio runtime; the restart scenario drives the tokio client.

mod fault_scenarios;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use fault_scenarios::{FaultServer, Tally, TEST_LIMIT};
use warp_proto::app::Backoff;
use warp_proto::recon::Value;
use warp_tokio::client::{Client, ClientConfig};
use warp_tokio::demo::demo_builder;
use warp_tokio::server::{ServerConfig, ServerHandle};

/// A tokio demo server on its own two-thread runtime.
struct Tokio {
    runtime: tokio::runtime::Runtime,
    handle: ServerHandle,
    addr: SocketAddr,
}

impl FaultServer for Tokio {
    fn start(addr: SocketAddr, config: ServerConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let server = runtime
            .block_on(demo_builder().config(config).bind(addr))
            .unwrap_or_else(|e| panic!("binding the demo server to {addr}: {e}"));
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

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn connections(&self) -> usize {
        self.handle.connections()
    }

    fn set_info(&self, node: &str, text: &str) -> usize {
        self.handle
            .modify(node, |lanes| lanes.set_value("info", text))
            .expect("modify")
    }

    fn count(&self, node: &str) -> Option<i64> {
        self.handle
            .with_plane(|plane| plane.agent(node)?.lane("count")?.as_value()?.get().as_i64())
    }

    fn shutdown(&self) {
        let handle = self.handle.clone();
        self.runtime
            .block_on(async move { tokio::time::timeout(TEST_LIMIT, handle.shutdown()).await })
            .expect("shutdown finished in time");
    }

    fn command_senders(
        addr: SocketAddr,
        node: &'static str,
        senders: usize,
        buffer: usize,
        tally: Arc<Tally>,
    ) -> thread::JoinHandle<()> {
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let config = ClientConfig::default()
                    .with_reconnect(Some(Backoff::new(
                        Duration::from_millis(10),
                        Duration::from_millis(50),
                    )))
                    .with_command_buffer(buffer, 1 << 20);
                let client = tokio::time::timeout(
                    TEST_LIMIT,
                    Client::connect_with(&format!("ws://{addr}"), config),
                )
                .await
                .expect("connected in time")
                .expect("connected");
                let mut loops = tokio::task::JoinSet::new();
                for _ in 0..senders {
                    let (client, tally) = (client.clone(), Arc::clone(&tally));
                    loops.spawn(async move {
                        while !tally.stopped() {
                            let outcome = client.command(node, "add", &Value::Int(1)).await;
                            tally.record(&outcome);
                            if outcome.is_err() {
                                // Refused at once while disconnected: do not spin.
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                        }
                    });
                }
                while let Some(joined) = loops.join_next().await {
                    joined.expect("a sender loop");
                }
                client.close().await;
            });
        })
    }
}

fault_scenarios!(Tokio);
