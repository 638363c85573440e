//! Opening the byte stream under a connection: TCP, and TLS over it for `wss://`.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::config::ClientConfig;
use super::ClientError;
use super::ServerUrl;

/// A byte stream the connection task reads and writes.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// Opens TCP to the URL's host and port, then TLS when the scheme asks for it.
pub(crate) async fn open(
    url: &ServerUrl,
    config: &ClientConfig,
) -> Result<Box<dyn Io>, ClientError> {
    let addr = if url.host().contains(':') {
        format!("[{}]:{}", url.host(), url.port())
    } else {
        format!("{}:{}", url.host(), url.port())
    };
    let tcp = TcpStream::connect((url.host(), url.port()))
        .await
        .map_err(|source| ClientError::Connect {
            addr: addr.clone(),
            source,
        })?;
    // Small frames should leave at once; failing to set it only costs latency.
    let _ = tcp.set_nodelay(true);
    if !url.is_tls() {
        return Ok(Box::new(tcp));
    }
    tls(tcp, url, config, addr).await
}

#[cfg(not(feature = "tls"))]
async fn tls(
    _tcp: TcpStream,
    _url: &ServerUrl,
    _config: &ClientConfig,
    _addr: String,
) -> Result<Box<dyn Io>, ClientError> {
    Err(ClientError::TlsUnavailable)
}

#[cfg(feature = "tls")]
async fn tls(
    tcp: TcpStream,
    url: &ServerUrl,
    config: &ClientConfig,
    addr: String,
) -> Result<Box<dyn Io>, ClientError> {
    use std::io;
    use std::sync::Arc;
    use tokio_rustls::rustls::{self, pki_types::ServerName};

    let settings = match &config.tls {
        Some(settings) => settings.clone(),
        None => {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let settings = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| ClientError::Connect {
                    addr: addr.clone(),
                    source: io::Error::other(e),
                })?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(settings)
        }
    };
    let name = ServerName::try_from(url.host().to_string()).map_err(|e| ClientError::Connect {
        addr: addr.clone(),
        source: io::Error::new(io::ErrorKind::InvalidInput, e),
    })?;
    let stream = tokio_rustls::TlsConnector::from(settings)
        .connect(name, tcp)
        .await
        .map_err(|source| ClientError::Connect { addr, source })?;
    Ok(Box::new(stream))
}
