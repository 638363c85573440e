//! `wss://`: the tokio server behind TLS (feature `tls`), against `tungstenite` over a rustls
//! client stream that trusts the test CA in `tests/tls/`. Run with
//! `cargo test -p warp-tokio --features tls --test server_tls`.
#![cfg(feature = "tls")]

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use tungstenite::Message;
use warp_tokio::demo::demo_builder;
use warp_tokio::rustls;
use warp_tokio::rustls::pki_types::pem::PemObject;
use warp_tokio::rustls::pki_types::{CertificateDer, ServerName};
use warp_tokio::server::tls_config_from_pem;

const CA: &[u8] = include_bytes!("tls/ca.pem");
const CERT: &[u8] = include_bytes!("tls/server-cert.pem");
const KEY: &[u8] = include_bytes!("tls/server-key.pem");
const LIMIT: Duration = Duration::from_secs(30);

/// Links and syncs over `wss://localhost:PORT`, returning the frames the server sent.
fn tls_client(addr: SocketAddr) -> Vec<String> {
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(CA).expect("CA PEM");
    roots.add(ca).expect("add the CA");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("server name");
    let tls = rustls::ClientConnection::new(Arc::new(config), name).expect("client connection");
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let stream = rustls::StreamOwned::new(tls, tcp);
    let url = format!("wss://localhost:{}/", addr.port());
    let (mut ws, _) = tungstenite::client(url.as_str(), stream).expect("WebSocket over TLS");
    ws.send(Message::Text(r#"@sync(node:"/unit/1",lane:count)"#.into()))
        .expect("send");
    ws.send(Message::Text(
        r#"@command(node:"/unit/1",lane:add) 3"#.into(),
    ))
    .expect("send");
    let mut frames = Vec::new();
    while frames.len() < 4 {
        match ws.read().expect("read") {
            Message::Text(t) => frames.push(t.as_str().to_owned()),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let _ = ws.close(None);
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_serves_links_and_commands_over_tls() {
    let config = tls_config_from_pem(CERT, KEY).expect("TLS config");
    let server = demo_builder()
        .tls(config)
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr().expect("addr");
    let handle = server.spawn();
    let frames = tokio::time::timeout(LIMIT, tokio::task::spawn_blocking(move || tls_client(addr)))
        .await
        .expect("in time")
        .expect("client thread");
    assert_eq!(
        frames,
        [
            r#"@linked(node:"/unit/1",lane:count)"#,
            r#"@event(node:"/unit/1",lane:count) 0"#,
            r#"@synced(node:"/unit/1",lane:count)"#,
            r#"@event(node:"/unit/1",lane:count) 3"#,
        ]
    );
    tokio::time::timeout(LIMIT, handle.shutdown())
        .await
        .expect("shutdown in time");
}

#[test]
fn pem_without_a_certificate_or_key_is_refused() {
    assert!(tls_config_from_pem(b"", KEY).is_err());
    assert!(tls_config_from_pem(CERT, b"").is_err());
    assert!(tls_config_from_pem(CERT, KEY).is_ok());
}
