//! Opening the byte stream under a connection: TCP through `async-net`.

use async_net::TcpStream;

use super::{ClientError, ServerUrl};

/// Opens TCP to the URL's host and port. `wss://` is refused before a task starts (this
/// driver has no TLS yet).
pub(crate) async fn open(url: &ServerUrl) -> Result<TcpStream, ClientError> {
    let addr = if url.host().contains(':') {
        format!("[{}]:{}", url.host(), url.port())
    } else {
        format!("{}:{}", url.host(), url.port())
    };
    let tcp = TcpStream::connect((url.host(), url.port()))
        .await
        .map_err(|source| ClientError::Connect { addr, source })?;
    // Small frames should leave at once; failing to set it only costs latency.
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}
