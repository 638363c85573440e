//! Faults over real sockets against the smol server (issue 7): the same scenarios as
//! `warp-tokio`'s (`warp-tokio/tests/fault_scenarios`), each against a fresh demo server on
//! smol's global executor; the restart scenario drives the smol client.

#[path = "../../warp-tokio/tests/fault_scenarios/mod.rs"]
mod fault_scenarios;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use fault_scenarios::{FaultServer, Tally, TEST_LIMIT};
use futures_lite::future::or;
use warp_proto::app::Backoff;
use warp_proto::recon::Value;
use warp_smol::client::{Client, ClientConfig};
use warp_smol::demo::demo_builder;
use warp_smol::server::{ServerConfig, ServerHandle};

/// A smol demo server, spawned on the global executor.
struct Smol {
    handle: ServerHandle,
    addr: SocketAddr,
}

/// `future`'s output, or `None` after [`TEST_LIMIT`].
async fn within<T>(future: impl Future<Output = T>) -> Option<T> {
    or(async { Some(future.await) }, async {
        async_io::Timer::after(TEST_LIMIT).await;
        None
    })
    .await
}

impl FaultServer for Smol {
    fn start(addr: SocketAddr, config: ServerConfig) -> Self {
        let server = smol::block_on(demo_builder().config(config).bind(addr))
            .unwrap_or_else(|e| panic!("binding the demo server to {addr}: {e}"));
        let addr = server.local_addr().expect("local addr");
        Smol {
            handle: server.spawn(),
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
        let stopped = smol::block_on(within(self.handle.shutdown()));
        assert!(stopped.is_some(), "shutdown finished in time");
    }

    fn command_senders(
        addr: SocketAddr,
        node: &'static str,
        senders: usize,
        buffer: usize,
        tally: Arc<Tally>,
    ) -> thread::JoinHandle<()> {
        thread::spawn(move || {
            smol::block_on(async move {
                let config = ClientConfig::default()
                    .with_reconnect(Some(Backoff::new(
                        Duration::from_millis(10),
                        Duration::from_millis(50),
                    )))
                    .with_command_buffer(buffer, 1 << 20);
                let client = within(Client::connect_with(&format!("ws://{addr}"), config))
                    .await
                    .expect("connected in time")
                    .expect("connected");
                let loops: Vec<_> = (0..senders)
                    .map(|_| {
                        let (client, tally) = (client.clone(), Arc::clone(&tally));
                        smol::spawn(async move {
                            while !tally.stopped() {
                                let outcome = client.command(node, "add", &Value::Int(1)).await;
                                tally.record(&outcome);
                                if outcome.is_err() {
                                    // Refused at once while disconnected: do not spin.
                                    async_io::Timer::after(Duration::from_millis(1)).await;
                                }
                            }
                        })
                    })
                    .collect();
                for task in loops {
                    task.await;
                }
                client.close().await;
            });
        })
    }
}

fault_scenarios!(Smol);
