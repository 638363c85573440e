//! Our client against our demo server (`warp_tokio::demo`), on loopback: the scenarios shared
//! with the SwimOS interop test, then what only a server we control can show: restarts
//! (reconnection, re-opened links, buffered commands delivered once or refused), flow control
//! with a slow reader, closing and dropping, and connection failures.

/// The client under test, for the shared scenarios.
mod driver {
    pub use futures::StreamExt;
    pub use warp_tokio::client::{Client, Downlink};
}

mod client_scenarios;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use client_scenarios as scenarios;
use futures::StreamExt;
use scenarios::{event, expect, expect_end, next, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use warp_proto::app::Backoff;
use warp_proto::connection::CallError;
use warp_proto::endpoint::CloseReason;
use warp_proto::recon::Value;
use warp_proto::ws::HandshakeError;
use warp_tokio::client::{
    Client, ClientConfig, ClientError, ClientState, DownlinkEvent, UnlinkReason,
};
use warp_tokio::demo::demo_server;
use warp_tokio::server::ServerHandle;

/// A demo server on a free loopback port.
async fn start() -> (ServerHandle, SocketAddr) {
    start_on("127.0.0.1:0".parse().expect("address")).await
}

async fn start_on(addr: SocketAddr) -> (ServerHandle, SocketAddr) {
    let server = demo_server(addr)
        .await
        .unwrap_or_else(|e| panic!("binding the demo server to {addr}: {e}"));
    let addr = server.local_addr().expect("bound address");
    (server.spawn(), addr)
}

fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}")
}

/// Reconnects quickly, so restarts take milliseconds.
fn fast_reconnect() -> ClientConfig {
    ClientConfig::default().with_reconnect(Some(Backoff::new(
        Duration::from_millis(10),
        Duration::from_millis(100),
    )))
}

async fn connect_with(addr: SocketAddr, config: ClientConfig) -> Client {
    match tokio::time::timeout(WAIT, Client::connect_with(&url(addr), config)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => panic!("connecting to {addr}: {e}"),
        Err(_) => panic!("connecting to {addr} took longer than {WAIT:?}"),
    }
}

/// Polls `future` once: it must not be ready yet (it has been handed to the client).
async fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) {
    let mut future = Some(future);
    std::future::poll_fn(|cx| {
        if let Some(f) = future.take() {
            assert!(f.poll(cx).is_pending(), "expected the call to wait");
        }
        Poll::Ready(())
    })
    .await;
}

/// The next item must be a non-final `Unlinked`: the server went away.
async fn expect_link_lost(downlink: &mut warp_tokio::client::Downlink) {
    match next(downlink).await {
        DownlinkEvent::Unlinked(reason) if !reason.is_final() => {}
        other => panic!("expected the link to be lost, got {other:?}"),
    }
}

#[tokio::test]
async fn sync_value_lane_then_command_changes_it() {
    let (server, addr) = start().await;
    scenarios::sync_value_lane_then_command_changes_it(&url(addr)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn link_receives_only_changes() {
    let (server, addr) = start().await;
    scenarios::link_receives_only_changes(&format!("warp://{addr}")).await;
    server.shutdown().await;
}

#[tokio::test]
async fn map_lane_sync_replays_entries_and_remove_is_an_event() {
    let (server, addr) = start().await;
    scenarios::map_lane_sync_replays_entries_and_remove_is_an_event(&url(addr)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn two_downlinks_on_one_lane_share_the_link() {
    let (server, addr) = start().await;
    scenarios::two_downlinks_on_one_lane_share_the_link(&url(addr)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn closing_the_last_downlink_unlinks_and_the_lane_can_be_linked_again() {
    let (server, addr) = start().await;
    scenarios::closing_the_last_downlink_unlinks_and_the_lane_can_be_linked_again(&url(addr)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_node_ends_the_downlink_with_node_not_found() {
    let (server, addr) = start().await;
    scenarios::unknown_node_ends_the_downlink_with_node_not_found(&url(addr)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_lane_ends_the_downlink_with_lane_not_found() {
    let (server, addr) = start().await;
    scenarios::unknown_lane_ends_the_downlink_with_lane_not_found(&url(addr)).await;
    server.shutdown().await;
}

/// The server restarts: links are re-opened (a `sync` gets the new server's state), a
/// downlink opened during the outage opens once connected, the commands sent meanwhile are
/// delivered once and in order, and the one beyond the buffer's bound is refused.
#[tokio::test]
async fn reconnect_reopens_links_and_delivers_buffered_commands_once() {
    let (server, addr) = start().await;
    let client = connect_with(addr, fast_reconnect().with_command_buffer(2, 1 << 20)).await;
    let mut count = scenarios::sync(&client, "/unit/1", "count").await;
    let mut info = scenarios::link(&client, "/unit/1", "info").await;
    expect(
        &mut count,
        &[DownlinkEvent::Linked, event("0"), DownlinkEvent::Synced],
    )
    .await;
    expect(&mut info, &[DownlinkEvent::Linked]).await;
    scenarios::command(&client, "/unit/1", "add", "5").await;
    expect(&mut count, &[event("5")]).await;

    server.shutdown().await;
    expect_link_lost(&mut count).await;
    expect_link_lost(&mut info).await;
    tokio::time::timeout(WAIT, client.disconnected())
        .await
        .expect("the client sees the disconnection");
    assert_ne!(client.state(), ClientState::Connected);

    // During the outage: two commands fit the buffer and wait; the third is refused.
    let mut first = pin!(client.command("/unit/1", "add", &2.into()));
    let mut second = pin!(client.command("/unit/1", "add", &3.into()));
    poll_once(first.as_mut()).await;
    poll_once(second.as_mut()).await;
    match client.command("/unit/1", "add", &100.into()).await {
        Err(ClientError::CommandBufferFull(_)) => {}
        other => panic!("expected the buffer to be full, got {other:?}"),
    }
    let mut late = scenarios::link(&client, "/unit/2", "count").await;

    let (restarted, _) = start_on(addr).await;
    tokio::time::timeout(WAIT, client.connected())
        .await
        .expect("reconnected in time")
        .expect("reconnected");
    tokio::time::timeout(WAIT, async {
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
    expect(&mut info, &[DownlinkEvent::Linked]).await;
    expect(&mut late, &[DownlinkEvent::Linked]).await;
    // Delivered once: one more makes 6 (100 never arrived).
    scenarios::command(&client, "/unit/1", "add", "1").await;
    expect(&mut count, &[event("6")]).await;
    scenarios::command(&client, "/unit/2", "add", "7").await;
    expect(&mut late, &[event("7")]).await;
    client.close().await;
    restarted.shutdown().await;
}

/// Without reconnection, losing the connection ends every downlink and closes the client.
#[tokio::test]
async fn without_reconnect_a_lost_connection_ends_downlinks_and_refuses_calls() {
    let (server, addr) = start().await;
    let client = connect_with(addr, ClientConfig::default().with_reconnect(None)).await;
    let mut count = scenarios::link(&client, "/unit/1", "count").await;
    expect(&mut count, &[DownlinkEvent::Linked]).await;
    server.shutdown().await;
    match next(&mut count).await {
        DownlinkEvent::Unlinked(UnlinkReason::Closed | UnlinkReason::Server(_)) => {}
        other => panic!("expected the downlink to end, got {other:?}"),
    }
    expect_end(&mut count).await;
    tokio::time::timeout(WAIT, client.disconnected())
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
}

/// `close` ends every downlink with `Unlinked(Closed)`; later calls are refused; closing
/// again does nothing.
#[tokio::test]
async fn close_ends_downlinks_and_refuses_later_calls() {
    let (server, addr) = start().await;
    let client = connect_with(addr, ClientConfig::default()).await;
    let mut info = scenarios::sync(&client, "/unit/1", "info").await;
    let mut count = scenarios::link(&client, "/unit/1", "count").await;
    expect(
        &mut info,
        &[DownlinkEvent::Linked, event("\"\""), DownlinkEvent::Synced],
    )
    .await;
    expect(&mut count, &[DownlinkEvent::Linked]).await;
    client.close().await;
    assert_eq!(client.state(), ClientState::Closed);
    for downlink in [&mut info, &mut count] {
        expect(downlink, &[DownlinkEvent::Unlinked(UnlinkReason::Closed)]).await;
        expect_end(downlink).await;
    }
    assert!(matches!(
        client.command("/unit/1", "add", &1.into()).await,
        Err(ClientError::ClientClosed)
    ));
    assert!(matches!(
        client.sync("/unit/1", "info").await,
        Err(ClientError::ClientClosed)
    ));
    client.close().await;
    info.close()
        .await
        .expect("closing a downlink of a closed client");
    server.shutdown().await;
}

/// A downlink whose reader falls behind loses nothing: events wait (the connection stops
/// reading meanwhile) and arrive in order; commands still go out while it is full.
#[tokio::test]
async fn a_slow_reader_gets_every_event_in_order() {
    let (server, addr) = start().await;
    let client = connect_with(addr, ClientConfig::default().with_downlink_capacity(1)).await;
    let mut count = scenarios::link(&client, "/unit/1", "count").await;
    expect(&mut count, &[DownlinkEvent::Linked]).await;
    for _ in 0..200 {
        scenarios::command(&client, "/unit/1", "add", "1").await;
    }
    for n in 1..=200 {
        expect(&mut count, &[DownlinkEvent::Event(Value::Int(n))]).await;
    }
    client.close().await;
    server.shutdown().await;
}

/// The connection lives while a downlink does, even after every `Client` is dropped.
#[tokio::test]
async fn downlinks_outlive_the_dropped_client() {
    let (server, addr) = start().await;
    let client = connect_with(addr, ClientConfig::default()).await;
    let mut count = scenarios::link(&client, "/unit/1", "count").await;
    expect(&mut count, &[DownlinkEvent::Linked]).await;
    drop(client);
    server
        .command("/unit/1", "add", Value::Int(3))
        .expect("server-side command");
    expect(&mut count, &[event("3")]).await;
    server.shutdown().await;
    expect_link_lost(&mut count).await;
}

#[tokio::test]
async fn invalid_calls_are_refused_with_the_reason() {
    let (server, addr) = start().await;
    let client = connect_with(addr, ClientConfig::default()).await;
    assert!(matches!(
        client.link("", "info").await,
        Err(ClientError::Call(CallError::EmptyUri))
    ));
    let long = "x".repeat(10_000);
    assert!(matches!(
        client.sync("/unit/1", &long).await,
        Err(ClientError::Call(CallError::UriTooLong))
    ));
    assert!(matches!(
        client
            .command("/unit/1", "add", &Value::Float(f64::NAN))
            .await,
        Err(ClientError::InvalidBody(_))
    ));
    // The connection is still fine.
    let mut count = scenarios::sync(&client, "/unit/1", "count").await;
    expect(
        &mut count,
        &[DownlinkEvent::Linked, event("0"), DownlinkEvent::Synced],
    )
    .await;
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn connect_reports_bad_urls_and_unreachable_servers() {
    assert!(matches!(
        Client::connect("http://127.0.0.1:1").await,
        Err(ClientError::Url(_))
    ));
    // A port nobody listens on: bound then released.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    match Client::connect(&url(addr)).await {
        Err(ClientError::Connect { .. }) => {}
        other => panic!("expected a connection error, got {other:?}"),
    }
    #[cfg(not(feature = "tls"))]
    assert!(matches!(
        Client::connect("wss://127.0.0.1:1").await,
        Err(ClientError::TlsUnavailable)
    ));
}

/// The upgrade request offers `warp0` (the SwimOS server requires it) and an HTTP refusal is
/// reported with its status.
#[tokio::test]
async fn the_upgrade_offers_warp0_and_a_refusal_is_reported() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let refuser = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.expect("read");
            assert!(n > 0, "the client closed before sending its request");
            head.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        socket
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await
            .expect("write");
        String::from_utf8(head).expect("an ASCII request head")
    });
    let result = Client::connect(&format!("ws://{addr}/swim")).await;
    match result {
        Err(ClientError::Closed(CloseReason::Handshake(HandshakeError::Rejected {
            status: 400,
        }))) => {}
        other => panic!("expected the refusal, got {other:?}"),
    }
    let head = tokio::time::timeout(WAIT, refuser)
        .await
        .expect("the fake server finished")
        .expect("the fake server");
    let lower = head.to_ascii_lowercase();
    assert!(lower.starts_with("get /swim http/1.1\r\n"), "{head}");
    assert!(
        lower.contains("\r\nsec-websocket-protocol: warp0\r\n"),
        "{head}"
    );
    assert!(lower.contains(&format!("\r\nhost: {addr}\r\n")), "{head}");
}

/// A server that accepts TCP but never answers the upgrade: connecting times out.
#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let holder = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("accept");
        // Keep the socket open until the client gives up.
        let mut socket = socket;
        let mut buf = [0u8; 1024];
        while socket.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    });
    let config = ClientConfig::default().with_connect_timeout(Duration::from_millis(200));
    match Client::connect_with(&url(addr), config).await {
        Err(ClientError::ConnectTimeout(after)) => assert_eq!(after, Duration::from_millis(200)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    tokio::time::timeout(WAIT, holder)
        .await
        .expect("the client closed its socket")
        .expect("the fake server");
}

/// Every downlink sees `Linked` first, also one joining an open link; its stream carries on
/// through the shared link's later events.
#[tokio::test]
async fn a_downlink_joining_an_open_link_hears_linked_at_once() {
    let (server, addr) = start().await;
    let client = connect_with(addr, ClientConfig::default()).await;
    let mut a = scenarios::link(&client, "/unit/9", "info").await;
    expect(&mut a, &[DownlinkEvent::Linked]).await;
    let mut b = scenarios::link(&client, "/unit/9", "info").await;
    expect(&mut b, &[DownlinkEvent::Linked]).await;
    scenarios::command(&client, "/unit/9", "set_info", "\"x\"").await;
    expect(&mut a, &[event("\"x\"")]).await;
    expect(&mut b, &[event("\"x\"")]).await;
    assert_eq!(a.node(), "/unit/9");
    assert_eq!(b.lane(), "info");
    let queued = futures::FutureExt::now_or_never(a.next());
    assert!(queued.is_none(), "nothing more queued for a: {queued:?}");
    client.close().await;
    server.shutdown().await;
}
