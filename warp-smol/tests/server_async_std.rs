//! The smol server on async-std (`--features async-std`): connection tasks are spawned with
//! `async_std::task::spawn`, the accept loop runs on an async-std task, and a client on a
//! blocking thread syncs a lane and sees a command's event.
#![cfg(feature = "async-std")]

use std::net::TcpStream;
use std::time::Duration;

use tungstenite::{Message, WebSocket};

const LIMIT: Duration = Duration::from_secs(30);

fn next_text(ws: &mut WebSocket<TcpStream>) -> String {
    loop {
        match ws.read().expect("read a frame") {
            Message::Text(text) => return text.as_str().to_owned(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

#[test]
fn the_demo_server_runs_on_async_std() {
    async_std::task::block_on(async {
        let server = warp_smol::demo::demo_server("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = server.local_addr().expect("addr");
        let handle = server.handle();
        let task = async_std::task::spawn(server.run());
        let client = async_std::task::spawn_blocking(move || {
            let stream = TcpStream::connect(addr).expect("connect");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("read timeout");
            let (mut ws, _) =
                tungstenite::client(format!("ws://{addr}/"), stream).expect("handshake");
            let send = |ws: &mut WebSocket<TcpStream>, text: &str| {
                ws.send(Message::Text(text.into())).expect("send")
            };
            send(&mut ws, r#"@sync(node:"/unit/1",lane:count)"#);
            let mut frames: Vec<String> = (0..3).map(|_| next_text(&mut ws)).collect();
            send(&mut ws, r#"@command(node:"/unit/1",lane:add) 7"#);
            frames.push(next_text(&mut ws));
            frames
        });
        let frames = async_std::future::timeout(LIMIT, client)
            .await
            .expect("client in time");
        assert_eq!(
            frames,
            [
                r#"@linked(node:"/unit/1",lane:count)"#,
                r#"@event(node:"/unit/1",lane:count) 0"#,
                r#"@synced(node:"/unit/1",lane:count)"#,
                r#"@event(node:"/unit/1",lane:count) 7"#,
            ]
        );
        async_std::future::timeout(LIMIT, async {
            handle.shutdown().await;
            task.await;
        })
        .await
        .expect("shutdown in time");
    });
}
