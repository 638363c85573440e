//! Our smol client (`warp_smol::client`) against the real SwimOS 0.1.1 server
//! (`peers/swimos-server`, started by [`SwimosServer`]): link, sync of a value lane and a map
//! lane, commands that change state, two downlinks on one lane, unlink, node and lane not
//! found, and reconnecting after the server restarts.
//!
//! The scenarios are the ones `warp-smol/tests/client_demo.rs` runs against the demo server
//! (source: `warp-tokio/tests/client_scenarios/mod.rs`, shared by both drivers), and
//! the ones `interop_swimos_tokio.rs` runs with the tokio client. Each test starts its own
//! server on a free loopback port; every wait is bounded; the server is killed when its handle
//! drops. The first test to run builds the peer (minutes from clean, then cached in
//! `target/peers`).

use std::time::Duration;

use conformance::peers::SwimosServer;
use warp_proto::app::Backoff;
use warp_proto::recon::Value;
use warp_smol::client::{Client, ClientConfig, DownlinkEvent, UnlinkReason};

/// The client under test, for the shared scenarios.
mod driver {
    pub use futures_lite::StreamExt;
    pub use warp_smol::client::{Client, Downlink};
}

#[path = "../../warp-tokio/tests/client_scenarios/mod.rs"]
mod scenarios;

use scenarios::{event, expect, timeout, v, WAIT};

fn start() -> SwimosServer {
    SwimosServer::start().unwrap_or_else(|e| panic!("starting the SwimOS peer: {e}"))
}

#[test]
fn sync_value_lane_then_command_changes_it() {
    smol::block_on(async {
        let server = start();
        scenarios::sync_value_lane_then_command_changes_it(&server.ws_url()).await;
    });
}

#[test]
fn link_receives_only_changes() {
    smol::block_on(async {
        let server = start();
        scenarios::link_receives_only_changes(&server.host_uri()).await;
    });
}

#[test]
fn map_lane_sync_replays_entries_and_remove_is_an_event() {
    smol::block_on(async {
        let server = start();
        scenarios::map_lane_sync_replays_entries_and_remove_is_an_event(&server.ws_url()).await;
    });
}

#[test]
fn two_downlinks_on_one_lane_share_the_link() {
    smol::block_on(async {
        let server = start();
        scenarios::two_downlinks_on_one_lane_share_the_link(&server.ws_url()).await;
    });
}

#[test]
fn closing_the_last_downlink_unlinks_and_the_lane_can_be_linked_again() {
    smol::block_on(async {
        let server = start();
        scenarios::closing_the_last_downlink_unlinks_and_the_lane_can_be_linked_again(
            &server.ws_url(),
        )
        .await;
    });
}

#[test]
fn unknown_node_ends_the_downlink_with_node_not_found() {
    smol::block_on(async {
        let server = start();
        scenarios::unknown_node_ends_the_downlink_with_node_not_found(&server.ws_url()).await;
    });
}

#[test]
fn unknown_lane_ends_the_downlink_with_lane_not_found() {
    smol::block_on(async {
        let server = start();
        scenarios::unknown_lane_ends_the_downlink_with_lane_not_found(&server.ws_url()).await;
    });
}

/// The server stops and starts again on the same address: the downlink hears the server's
/// `unlinked` or the disconnection, the client reconnects and re-opens it (`sync`: the new server's state), and
/// the command sent during the outage reaches the new server once.
#[test]
fn reconnects_after_the_server_restarts_and_reopens_links() {
    smol::block_on(async {
        let server = start();
        let addr = server.addr();
        let config = ClientConfig::default().with_reconnect(Some(Backoff::new(
            Duration::from_millis(20),
            Duration::from_millis(200),
        )));
        let client = timeout(WAIT, Client::connect_with(&server.ws_url(), config))
            .await
            .expect("connect in time")
            .expect("connect");
        let mut count = scenarios::sync(&client, "/unit/1", "count").await;
        expect(
            &mut count,
            &[DownlinkEvent::Linked, event("0"), DownlinkEvent::Synced],
        )
        .await;
        scenarios::command(&client, "/unit/1", "add", "5").await;
        expect(&mut count, &[event("5")]).await;

        let status = server.stop().expect("stopping the SwimOS peer");
        assert!(status.success(), "exit status {status}");
        // Shutting down, SwimOS often (not always) unlinks every link (`@unlinked` with no body)
        // before the connection ends: the downlink hears that or the disconnection, once.
        match scenarios::next(&mut count).await {
            DownlinkEvent::Unlinked(
                UnlinkReason::Disconnected | UnlinkReason::Server(Value::Absent),
            ) => {}
            other => panic!("expected the link to end with the server, got {other:?}"),
        }
        timeout(WAIT, client.disconnected())
            .await
            .expect("the client sees the disconnection");

        // Sent during the outage: buffered, written after reconnecting.
        let during = {
            let client = client.clone();
            smol::spawn(async move { client.command("/unit/1", "add", &2.into()).await })
        };
        let restarted = SwimosServer::start_on(addr)
            .unwrap_or_else(|e| panic!("restarting the SwimOS peer on {addr}: {e}"));
        timeout(WAIT, client.connected())
            .await
            .expect("reconnected in time")
            .expect("reconnected");
        timeout(WAIT, during)
            .await
            .expect("the buffered command is written in time")
            .expect("the buffered command is sent");

        // The new server's agent starts from 0. Its sync and the buffered `add` are for different
        // lanes, whose order SwimOS does not keep: the state is 0 or 2; in the end it is 2.
        expect(&mut count, &[DownlinkEvent::Linked]).await;
        let (mut synced, mut last) = (false, None);
        while !(synced && last == Some(v("2"))) {
            match scenarios::next(&mut count).await {
                DownlinkEvent::Synced => synced = true,
                DownlinkEvent::Event(x) if x == v("0") || x == v("2") => last = Some(x),
                other => panic!("unexpected {other:?} after reconnecting"),
            }
        }
        // Delivered once: one more add makes 3.
        scenarios::command(&client, "/unit/1", "add", "1").await;
        expect(&mut count, &[event("3")]).await;
        client.close().await;
        drop(restarted);
    });
}
