//! `wss://` (feature `tls`): our client against our demo server behind TLS, trusting the test
//! CA of `tests/tls/`; and a certificate the client does not trust is refused. Run with
//! `cargo test -p warp-tokio --features tls --test client_tls`.
#![cfg(feature = "tls")]

/// The client under test, for the shared scenarios.
mod driver {
    pub use futures::StreamExt;
    pub use warp_tokio::client::{Client, Downlink};
}

mod client_scenarios;

use std::sync::Arc;

use client_scenarios as scenarios;
use scenarios::{event, expect, WAIT};
use warp_tokio::client::{Client, ClientConfig, ClientError, DownlinkEvent};
use warp_tokio::demo::demo_builder;
use warp_tokio::rustls;
use warp_tokio::rustls::pki_types::pem::PemObject;
use warp_tokio::rustls::pki_types::CertificateDer;
use warp_tokio::server::{tls_config_from_pem, ServerHandle};

const CA: &[u8] = include_bytes!("tls/ca.pem");
const CERT: &[u8] = include_bytes!("tls/server-cert.pem");
const KEY: &[u8] = include_bytes!("tls/server-key.pem");

/// The demo server behind TLS on a free loopback port; returns its port.
async fn start_tls() -> (ServerHandle, u16) {
    let tls = tls_config_from_pem(CERT, KEY).expect("test certificate and key");
    let server = demo_builder()
        .tls(tls)
        .bind("127.0.0.1:0")
        .await
        .expect("binding the TLS demo server");
    let port = server.local_addr().expect("bound address").port();
    (server.spawn(), port)
}

/// Client settings trusting only the test CA.
fn trusting_test_ca() -> ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(CA).expect("CA PEM"))
        .expect("adding the CA");
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    ClientConfig::default().with_tls(Arc::new(tls))
}

#[tokio::test]
async fn wss_sync_and_command_round_trip() {
    let (server, port) = start_tls().await;
    for url in [
        format!("wss://localhost:{port}"),
        format!("warps://localhost:{port}/"),
    ] {
        let client = tokio::time::timeout(WAIT, Client::connect_with(&url, trusting_test_ca()))
            .await
            .expect("connected in time")
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        let mut count = scenarios::sync(&client, "/unit/1", "count").await;
        expect(&mut count, &[DownlinkEvent::Linked]).await;
        let state = scenarios::next(&mut count).await;
        expect(&mut count, &[DownlinkEvent::Synced]).await;
        scenarios::command(&client, "/unit/1", "add", "3").await;
        let DownlinkEvent::Event(before) = state else {
            panic!("expected the state, got {state:?}");
        };
        let after = before.as_i64().expect("an integer count") + 3;
        expect(&mut count, &[event(&after.to_string())]).await;
        client.close().await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_certificate_not_trusted_is_refused() {
    let (server, port) = start_tls().await;
    // The default settings trust the public web roots, not the test CA.
    match Client::connect(&format!("wss://localhost:{port}")).await {
        Err(ClientError::Connect { source, .. }) => {
            let text = source.to_string().to_ascii_lowercase();
            assert!(text.contains("certificate"), "{text}");
        }
        other => panic!("expected a TLS refusal, got {other:?}"),
    }
    server.shutdown().await;
}
