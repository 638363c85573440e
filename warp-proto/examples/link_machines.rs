//! A WARP server and a client linking to it, wired back to back in memory through the sans-IO
//! link machines. Every frame that crosses is printed.
//!
//! ```sh
//! cargo run -p warp-proto --example link_machines
//! ```
//!
//! The server hosts one node, `/unit/1`, with a value lane `count` (an integer, initially 0) and
//! a command lane `add` that adds its integer to `count`. The client syncs `count`, sends two
//! commands, watches the events they cause, and unlinks.

use warp_proto::connection::{
    Accepted, ClientConnection, ClientEvent, Config, Rejection, ServerConnection, ServerRequest,
    Transmit,
};
use warp_proto::envelope::Body;

/// The application behind the server: one agent's state.
struct Unit {
    count: i64,
}

/// Moves every queued client frame to the server application, printing it; returns how many
/// moved.
fn pump_client_to_server(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    unit: &mut Unit,
) -> usize {
    let mut frames = Vec::new();
    while let Some(t) = client.poll_transmit() {
        if let Transmit::Frame(f) = t {
            frames.push(f.to_owned());
        }
    }
    for frame in &frames {
        println!("client -> server  {frame}");
        serve(server, unit, frame);
    }
    frames.len()
}

/// The server application: answers requests the machine hands out for one frame.
fn serve(server: &mut ServerConnection, unit: &mut Unit, frame: &str) {
    let request = match server.handle_frame(frame) {
        Ok(Some(request)) => request,
        Ok(None) => return,
        Err(e) => {
            println!("server: protocol error: {e}");
            return;
        }
    };
    match request {
        ServerRequest::Link {
            link, node, lane, ..
        } => {
            let known = node.as_str() == Some("/unit/1");
            let lane_known = matches!(lane.as_str(), Some("count" | "add"));
            if !known {
                server
                    .reject(link, Rejection::NodeNotFound)
                    .expect("pending link");
            } else if !lane_known {
                server
                    .reject(link, Rejection::LaneNotFound)
                    .expect("pending link");
            } else if server.accept(link).expect("pending link") == Accepted::Syncing {
                sync(server, link, unit);
            }
        }
        ServerRequest::Sync { link } => sync(server, link, unit),
        ServerRequest::Command { lane, body, .. } if lane.as_str() == Some("add") => {
            match body.to_value().ok().and_then(|v| v.as_i64()) {
                Some(n) => {
                    unit.count += n;
                    let text = unit.count.to_string();
                    server
                        .publish("/unit/1", "count", Body::from_raw(&text))
                        .expect("queue has room");
                }
                None => println!("server: ignoring a non-integer command {}", body.raw()),
            }
        }
        other => println!("server: {other:?}"),
    }
}

fn sync(server: &mut ServerConnection, link: warp_proto::connection::LinkId, unit: &Unit) {
    let text = unit.count.to_string();
    server
        .sync_event(link, Body::from_raw(&text))
        .expect("syncing link");
    server.synced(link).expect("syncing link");
}

/// Moves every queued server frame to the client, printing it and what the client makes of it.
fn pump_server_to_client(server: &mut ServerConnection, client: &mut ClientConnection) -> usize {
    let mut frames = Vec::new();
    while let Some(t) = server.poll_transmit() {
        if let Transmit::Frame(f) = t {
            frames.push(f.to_owned());
        }
    }
    for frame in &frames {
        println!("server -> client  {frame}");
        match client.handle_frame(frame) {
            Ok(Some(ClientEvent::Event { body, .. })) => {
                println!("  client sees event {}", body.raw())
            }
            Ok(Some(ClientEvent::Unlinked { reason, .. })) => {
                println!("  client sees unlinked: {reason:?}")
            }
            Ok(Some(event)) => println!("  client sees {event:?}"),
            Ok(None) => {}
            Err(e) => println!("  client: protocol error: {e}"),
        }
    }
    frames.len()
}

/// Exchanges frames until both sides are quiet.
fn settle(client: &mut ClientConnection, server: &mut ServerConnection, unit: &mut Unit) {
    while pump_client_to_server(client, server, unit) + pump_server_to_client(server, client) > 0 {}
}

fn main() {
    let mut server = ServerConnection::new(Config::default());
    let mut client = ClientConnection::new(Config::default());
    let mut unit = Unit { count: 0 };

    println!("-- sync /unit/1 count");
    let handle = client.sync("/unit/1", "count").expect("room for a link");
    settle(&mut client, &mut server, &mut unit);

    println!("-- command add 5, then add 3");
    client
        .command("/unit/1", "add", Body::from_raw("5"))
        .expect("queue has room");
    client
        .command("/unit/1", "add", Body::from_raw("3"))
        .expect("queue has room");
    settle(&mut client, &mut server, &mut unit);

    println!("-- link a lane that does not exist");
    let missing = client.link("/unit/1", "nope").expect("room for a link");
    settle(&mut client, &mut server, &mut unit);
    client.close_handle(missing).expect("known handle");

    println!("-- close the handle: the client unlinks");
    client.close_handle(handle).expect("known handle");
    settle(&mut client, &mut server, &mut unit);

    assert_eq!(unit.count, 8);
    println!("-- done: count is {}", unit.count);
}
