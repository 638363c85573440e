//! Endpoints in fixed storage only (arrays and `Fixed` tables: what runs without an allocator):
//! 8 links and 4 KiB messages in well under 16 KiB per endpoint.

mod endpoint_util;

use endpoint_util::*;
use warp_proto::connection::{CallError, Fixed, QueueError};
use warp_proto::endpoint::{
    ClientEndpoint, CloseReason, Connect, EndpointConfig, EndpointError, ServerEndpoint,
    MIN_TRANSMIT_LEN,
};
use warp_proto::envelope::Body;
use warp_proto::ws::{Opcode, Role};

type FixedServer = ServerEndpoint<[u8; 4096], [u8; 1536], Fixed<8, 0, 64, 1024>>;
type FixedClient = ClientEndpoint<[u8; 4096], [u8; 1536], Fixed<8, 16, 64, 1024>>;

type FixedPair = Pair<
    ClientSide<[u8; 4096], [u8; 1536], Fixed<8, 16, 64, 1024>>,
    ServerSide<[u8; 4096], [u8; 1536], Fixed<8, 0, 64, 1024>>,
>;

fn fixed_pair() -> FixedPair {
    let config = EndpointConfig::default();
    let server = FixedServer::with_storage(T0, config, [0; 4096], [0; 1536]).unwrap();
    let connect = Connect::new("device.local", "/", [3; 16], [4; 16]);
    let client = FixedClient::with_storage(T0, config, connect, [0; 4096], [0; 1536]).unwrap();
    Pair::new(ClientSide::new(client), ServerSide::new(server))
}

#[test]
fn a_fixed_endpoint_with_8_links_and_4k_messages_fits_well_under_16k() {
    let server = core::mem::size_of::<FixedServer>();
    let client = core::mem::size_of::<FixedClient>();
    println!("server endpoint: {server} bytes, client endpoint: {client} bytes");
    assert!(server < 12 * 1024, "server endpoint is {server} bytes");
    assert!(client < 12 * 1024, "client endpoint is {client} bytes");
}

#[test]
fn eight_links_and_a_4k_message_through_fixed_storage() {
    let mut p = fixed_pair();
    for i in 0..8 {
        p.client.ep.sync(&format!("/unit/{i}"), "info").unwrap();
    }
    p.run();
    assert_eq!(p.server.ep.connection().link_count(), 8);
    assert_eq!(
        p.client
            .log
            .iter()
            .filter(|l| l.starts_with("synced"))
            .count(),
        8
    );
    // The client's table is full; the server's too.
    assert_eq!(
        p.client.ep.link("/unit/9", "info"),
        Err(CallError::TooManyLinks)
    );

    // Outgoing envelopes are bounded by the outbound queue (1 KiB here): a 900-byte command
    // goes out and its text comes back as an event; one over 1 KiB is refused at the call.
    let text = "y".repeat(900);
    let body = format!("\"{text}\"");
    p.client
        .ep
        .command("/unit/3", "set_info", Body::from_raw(&body))
        .unwrap();
    p.run();
    assert_eq!(p.client.log.last().unwrap(), &format!("event {text} [3]"));
    let too_big = format!("\"{}\"", "z".repeat(1100));
    assert!(matches!(
        p.client
            .ep
            .command("/unit/3", "set_info", Body::from_raw(&too_big)),
        Err(CallError::Queue(QueueError::FrameTooLarge { .. }))
    ));
}

#[test]
fn a_4k_message_is_received_and_a_larger_one_closes_1009() {
    let config = EndpointConfig::default();
    let ep = FixedServer::with_storage(T0, config, [0; 4096], [0; 1536]).unwrap();
    let mut s = ServerSide::new(ep);
    let mut buf = [0u8; 512];
    let n = warp_proto::ws::ClientHandshake::new("h", "/", [5; 16])
        .write_request(&mut buf)
        .unwrap();
    let mut out = Drained::default();
    feed(&mut s, T0, &buf[..n], &mut out);
    let frame = |text: &str| {
        let mut f = vec![0u8; text.len() + 14];
        let n = warp_proto::ws::encode_frame(
            &mut f,
            true,
            Opcode::Text,
            Some([1, 2, 3, 4]),
            text.as_bytes(),
        )
        .unwrap();
        f.truncate(n);
        f
    };
    let full = format!(
        "@command(node:\"/unit/1\",lane:set_info)\"{}\"",
        "w".repeat(4096 - 40)
    );
    assert_eq!(full.len(), 4096);
    let mut out = Drained::default();
    feed(&mut s, T0, &frame(&full), &mut out);
    assert!(s
        .log
        .last()
        .unwrap()
        .starts_with("command /unit/1 set_info \"www"));
    assert!(out.closed.is_none());
    let over = format!("{full}w");
    let mut out = Drained::default();
    feed(&mut s, T0, &frame(&over), &mut out);
    assert_eq!(close_code(&frames(&out.bytes, Role::Server)), Some(1009));
    assert!(matches!(out.closed, Some(CloseReason::WebSocket(_))));
}

#[test]
fn a_transmit_storage_below_the_minimum_is_refused() {
    let small = ServerEndpoint::<[u8; 64], [u8; 100], Fixed>::with_storage(
        T0,
        EndpointConfig::default(),
        [0; 64],
        [0; 100],
    );
    assert_eq!(
        small.err(),
        Some(EndpointError::TransmitStorageTooSmall {
            needed: MIN_TRANSMIT_LEN,
            capacity: 100
        })
    );
    let connect = Connect::new("a-very-long-host-name.example", "/", [0; 16], [0; 16]);
    let tight = ClientEndpoint::<[u8; 64], [u8; 512], Fixed>::with_storage(
        T0,
        EndpointConfig::default(),
        Connect {
            path: &"/p".repeat(200),
            ..connect
        },
        [0; 64],
        [0; 512],
    );
    assert!(matches!(tight.err(), Some(EndpointError::Request(_))));
}

#[test]
fn storages_come_back_for_the_next_connection() {
    let mut p = fixed_pair();
    p.client.ep.link("/unit/1", "info").unwrap();
    p.run();
    p.client.ep.close();
    p.run();
    assert!(p.client_end.is_some() && p.server_end.is_some());
    let (rx, tx) = p.server.ep.into_storage().unwrap();
    let again = FixedServer::with_storage(T0, EndpointConfig::default(), rx, tx);
    assert!(again.is_ok());
}
