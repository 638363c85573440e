//! The smol client against the warp-tokio demo server (run on its own tokio runtime), on
//! loopback: the scenarios shared with the SwimOS interop test, then restarts (reconnection,
//! re-opened links, buffered commands delivered once or refused), flow control with a slow
//! reader, closing, and connection failures. Every wait is for an event, bounded by `WAIT`.

/// The client under test, for the shared scenarios.
mod driver {
    pub use futures_lite::StreamExt;
    pub use warp_smol::client::{Client, Downlink};
}

#[path = "../../warp-tokio/tests/client_scenarios/mod.rs"]
mod client_scenarios;

use std::net::SocketAddr;
use std::time::Duration;

use client_scenarios as scenarios;
use futures_lite::future::poll_once;
use scenarios::{event, expect, expect_end, next, timeout, WAIT};
use warp_proto::app::Backoff;
use warp_proto::connection::CallError;
use warp_proto::recon::Value;
use warp_smol::client::{
    Client, ClientConfig, ClientError, ClientState, Downlink, DownlinkEvent, UnlinkReason,
};

/// The warp-tokio demo server on its own runtime.
struct Demo {
    rt: tokio::runtime::Runtime,
    handle: Option<warp_tokio::server::ServerHandle>,
    addr: SocketAddr,
}

impl Demo {
    fn start() -> Demo {
        Demo::start_on("127.0.0.1:0".parse().expect("address"))
    }

    fn start_on(addr: SocketAddr) -> Demo {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime for the demo server");
        let server = rt
            .block_on(warp_tokio::demo::demo_server(addr))
            .unwrap_or_else(|e| panic!("binding the demo server to {addr}: {e}"));
        let addr = server.local_addr().expect("bound address");
        let handle = {
            let _entered = rt.enter();
            server.spawn()
        };
        Demo {
            rt,
            handle: Some(handle),
            addr,
        }
    }

    fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.rt.block_on(handle.shutdown());
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.stop();
    }
}

fn fast_reconnect() -> ClientConfig {
    ClientConfig::default().with_reconnect(Some(Backoff::new(
        Duration::from_millis(10),
        Duration::from_millis(100),
    )))
}

async fn connect_with(url: &str, config: ClientConfig) -> Client {
    match timeout(WAIT, Client::connect_with(url, config)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => panic!("connecting to {url}: {e}"),
        Err(()) => panic!("connecting to {url} took longer than {WAIT:?}"),
    }
}

async fn expect_link_lost(downlink: &mut Downlink) {
    match next(downlink).await {
        DownlinkEvent::Unlinked(reason) if !reason.is_final() => {}
        other => panic!("expected the link to be lost, got {other:?}"),
    }
}

#[test]
fn sync_value_lane_then_command_changes_it() {
    let demo = Demo::start();
    smol::block_on(scenarios::sync_value_lane_then_command_changes_it(
        &demo.url(),
    ));
}

#[test]
fn link_receives_only_changes() {
    let demo = Demo::start();
    let url = format!("warp://{}", demo.addr);
    smol::block_on(scenarios::link_receives_only_changes(&url));
}

#[test]
fn map_lane_sync_replays_entries_and_remove_is_an_event() {
    let demo = Demo::start();
    smol::block_on(scenarios::map_lane_sync_replays_entries_and_remove_is_an_event(&demo.url()));
}

#[test]
fn two_downlinks_on_one_lane_share_the_link() {
    let demo = Demo::start();
    smol::block_on(scenarios::two_downlinks_on_one_lane_share_the_link(
        &demo.url(),
    ));
}

#[test]
fn closing_the_last_downlink_unlinks_and_the_lane_can_be_linked_again() {
    let demo = Demo::start();
    smol::block_on(
        scenarios::closing_the_last_downlink_unlinks_and_the_lane_can_be_linked_again(&demo.url()),
    );
}

#[test]
fn unknown_node_ends_the_downlink_with_node_not_found() {
    let demo = Demo::start();
    smol::block_on(scenarios::unknown_node_ends_the_downlink_with_node_not_found(&demo.url()));
}

#[test]
fn unknown_lane_ends_the_downlink_with_lane_not_found() {
    let demo = Demo::start();
    smol::block_on(scenarios::unknown_lane_ends_the_downlink_with_lane_not_found(&demo.url()));
}

/// The server restarts: links are re-opened (a `sync` gets the new server's state), the
/// commands sent meanwhile are delivered once and in order, the one beyond the buffer's bound
/// is refused.
#[test]
fn reconnect_reopens_links_and_delivers_buffered_commands_once() {
    let mut demo = Demo::start();
    let addr = demo.addr;
    smol::block_on(async {
        let config = fast_reconnect().with_command_buffer(2, 1 << 20);
        let client = connect_with(&demo.url(), config).await;
        let mut count = scenarios::sync(&client, "/unit/1", "count").await;
        expect(
            &mut count,
            &[DownlinkEvent::Linked, event("0"), DownlinkEvent::Synced],
        )
        .await;
        scenarios::command(&client, "/unit/1", "add", "5").await;
        expect(&mut count, &[event("5")]).await;

        demo.stop();
        expect_link_lost(&mut count).await;
        timeout(WAIT, client.disconnected())
            .await
            .expect("the client sees the disconnection");

        // During the outage: two commands wait in the buffer; the third is refused (the
        // requests reach the connection task in order).
        let mut first = Box::pin(client.command("/unit/1", "add", &2.into()));
        let mut second = Box::pin(client.command("/unit/1", "add", &3.into()));
        assert!(poll_once(&mut first).await.is_none(), "the first must wait");
        assert!(
            poll_once(&mut second).await.is_none(),
            "the second must wait"
        );
        match client.command("/unit/1", "add", &100.into()).await {
            Err(ClientError::CommandBufferFull(_)) => {}
            other => panic!("expected the buffer to be full, got {other:?}"),
        }
        let restarted = Demo::start_on(addr);
        timeout(WAIT, client.connected())
            .await
            .expect("reconnected in time")
            .expect("reconnected");
        timeout(WAIT, async {
            first.await.expect("first buffered command");
            second.await.expect("second buffered command");
        })
        .await
        .expect("the buffered commands are written in time");
        // A new server: the agent starts from 0; the buffered adds follow the sync, in order.
        expect(
            &mut count,
            &[
                DownlinkEvent::Linked,
                event("0"),
                DownlinkEvent::Synced,
                event("2"),
                event("5"),
            ],
        )
        .await;
        // Delivered once: one more makes 6 (100 never arrived).
        scenarios::command(&client, "/unit/1", "add", "1").await;
        expect(&mut count, &[event("6")]).await;
        client.close().await;
        drop(restarted);
    });
}

/// Without reconnection, losing the connection ends every downlink and closes the client.
#[test]
fn without_reconnect_a_lost_connection_ends_downlinks_and_refuses_calls() {
    let mut demo = Demo::start();
    smol::block_on(async {
        let config = ClientConfig::default().with_reconnect(None);
        let client = connect_with(&demo.url(), config).await;
        let mut count = scenarios::link(&client, "/unit/1", "count").await;
        expect(&mut count, &[DownlinkEvent::Linked]).await;
        demo.stop();
        match next(&mut count).await {
            DownlinkEvent::Unlinked(UnlinkReason::Closed | UnlinkReason::Server(_)) => {}
            other => panic!("expected the downlink to end, got {other:?}"),
        }
        expect_end(&mut count).await;
        timeout(WAIT, client.disconnected())
            .await
            .expect("closed in time");
        assert_eq!(client.state(), ClientState::Closed);
        assert!(matches!(
            client.command("/unit/1", "add", &1.into()).await,
            Err(ClientError::ClientClosed)
        ));
        assert!(matches!(
            client.link("/unit/1", "count").await,
            Err(ClientError::ClientClosed)
        ));
        assert!(client.connected().await.is_err());
    });
}

/// `close` ends every downlink with `Unlinked(Closed)`; later calls are refused.
#[test]
fn close_ends_downlinks_and_refuses_later_calls() {
    let demo = Demo::start();
    smol::block_on(async {
        let client = connect_with(&demo.url(), ClientConfig::default()).await;
        let mut info = scenarios::sync(&client, "/unit/1", "info").await;
        expect(
            &mut info,
            &[DownlinkEvent::Linked, event("\"\""), DownlinkEvent::Synced],
        )
        .await;
        client.close().await;
        assert_eq!(client.state(), ClientState::Closed);
        expect(&mut info, &[DownlinkEvent::Unlinked(UnlinkReason::Closed)]).await;
        expect_end(&mut info).await;
        assert!(matches!(
            client.sync("/unit/1", "info").await,
            Err(ClientError::ClientClosed)
        ));
        client.close().await;
        info.close()
            .await
            .expect("closing a downlink of a closed client");
    });
}

/// A downlink whose reader falls behind loses nothing: events wait and arrive in order.
#[test]
fn a_slow_reader_gets_every_event_in_order() {
    let demo = Demo::start();
    smol::block_on(async {
        let config = ClientConfig::default().with_downlink_capacity(1);
        let client = connect_with(&demo.url(), config).await;
        let mut count = scenarios::link(&client, "/unit/1", "count").await;
        expect(&mut count, &[DownlinkEvent::Linked]).await;
        for _ in 0..200 {
            scenarios::command(&client, "/unit/1", "add", "1").await;
        }
        for n in 1..=200 {
            expect(&mut count, &[DownlinkEvent::Event(Value::Int(n))]).await;
        }
        client.close().await;
    });
}

#[test]
fn invalid_calls_are_refused_with_the_reason() {
    let demo = Demo::start();
    smol::block_on(async {
        let client = connect_with(&demo.url(), ClientConfig::default()).await;
        assert!(matches!(
            client.link("", "info").await,
            Err(ClientError::Call(CallError::EmptyUri))
        ));
        assert!(matches!(
            client
                .command("/unit/1", "add", &Value::Float(f64::NAN))
                .await,
            Err(ClientError::InvalidBody(_))
        ));
        let mut count = scenarios::sync(&client, "/unit/1", "count").await;
        expect(
            &mut count,
            &[DownlinkEvent::Linked, event("0"), DownlinkEvent::Synced],
        )
        .await;
        client.close().await;
    });
}

#[test]
fn connect_reports_bad_urls_and_unreachable_servers() {
    smol::block_on(async {
        assert!(matches!(
            Client::connect("http://127.0.0.1:1").await,
            Err(ClientError::Url(_))
        ));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        drop(listener);
        match timeout(WAIT, Client::connect(&format!("ws://{addr}"))).await {
            Ok(Err(ClientError::Connect { .. })) => {}
            other => panic!("expected a connection error, got {other:?}"),
        }
        assert!(matches!(
            Client::connect("wss://127.0.0.1:1").await,
            Err(ClientError::TlsUnavailable)
        ));
    });
}

/// A server that accepts TCP but never answers the upgrade: connecting times out.
#[test]
fn a_silent_server_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let holder = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 1024];
        while std::io::Read::read(&mut socket, &mut buf).is_ok_and(|n| n > 0) {}
    });
    smol::block_on(async {
        let config = ClientConfig::default().with_connect_timeout(Duration::from_millis(200));
        match timeout(WAIT, Client::connect_with(&format!("ws://{addr}"), config)).await {
            Ok(Err(ClientError::ConnectTimeout(after))) => {
                assert_eq!(after, Duration::from_millis(200))
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
    });
    holder
        .join()
        .expect("the fake server ends once the client closed");
}
