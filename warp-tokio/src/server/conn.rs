//! One connection, one task: moves bytes between the socket and a
//! [`ConnectionSession`], which decides everything else (the endpoint, answers from the shared
//! hub, fan-out queues, backpressure; see [`warp_proto::app::session::server`]).
//!
//! The task waits at once for whatever the session's [`Interest`] names: the socket to read,
//! the socket to take bytes, the session's next deadline, and the hub's next signal (changes,
//! overload, shutdown).

use std::future::pending;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{sleep_until, timeout};
use warp_proto::app::session::server::{ConnectionSession, Interest, Note, Signal, Status};
use warp_proto::endpoint::CloseReason;

use super::Shared;

/// What woke the task.
enum Woke {
    Signal(Signal),
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
    Flushed(std::io::Result<()>),
    Timeout,
}

/// Serves one accepted (and, with TLS, decrypted) connection until it ends; returns why.
pub(crate) async fn serve<R, W>(
    reader: R,
    writer: W,
    peer: SocketAddr,
    shared: Arc<Shared>,
) -> Option<CloseReason>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let authenticator = shared.authenticator.clone();
    let mut session =
        match ConnectionSession::new(&shared.hub, shared.now(), &shared.config, authenticator) {
            Ok(session) => session,
            Err(e) => {
                tracing::error!(%peer, "cannot create the endpoint: {e}");
                return None;
            }
        };
    let span = tracing::debug_span!("warp_conn", conn = session.id(), %peer);
    span.in_scope(|| tracing::debug!("connection accepted"));
    let reason = run(&mut session, reader, writer, &shared, &span).await;
    session.leave(&shared.hub);
    span.in_scope(|| tracing::debug!("connection ended: {reason}"));
    Some(reason)
}

async fn run<R, W>(
    session: &mut ConnectionSession,
    mut reader: R,
    mut writer: W,
    shared: &Shared,
    span: &tracing::Span,
) -> CloseReason
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let id = session.id();
    loop {
        let status = session.poll(&shared.hub, shared.now());
        span.in_scope(|| log_notes(session));
        let interest: Interest = match status {
            Status::Wait(interest) => interest,
            Status::Closed(reason) => {
                finish(session, &mut writer, shared).await;
                return reason;
            }
        };
        let deadline = interest.deadline.map(|t| shared.instant(t));
        let (read_buf, write_buf) = session.buffers();
        let woke = tokio::select! {
            signal = shared.hub.signal(id, interest.changes), if interest.hub => Woke::Signal(signal),
            woke = async {
                if interest.write {
                    Woke::Wrote(writer.write(write_buf).await)
                } else {
                    Woke::Flushed(writer.flush().await)
                }
            }, if interest.write || interest.flush => woke,
            read = reader.read(read_buf), if interest.read => Woke::Read(read),
            () = async {
                match deadline {
                    Some(deadline) => sleep_until(deadline).await,
                    None => pending().await,
                }
            } => Woke::Timeout,
        };
        let now = shared.now();
        match woke {
            Woke::Signal(signal) => session.signal(signal),
            Woke::Read(Ok(n)) => session.read(n, now),
            Woke::Wrote(Ok(n)) => session.wrote(n, now),
            Woke::Flushed(Ok(())) => session.flushed(),
            Woke::Read(Err(e)) | Woke::Wrote(Err(e)) | Woke::Flushed(Err(e)) => {
                span.in_scope(|| tracing::debug!("socket failed: {e}"));
                session.transport_failed(now);
            }
            Woke::Timeout => session.timeout(now),
        }
    }
}

/// Logs what the session noted.
fn log_notes(session: &mut ConnectionSession) {
    while let Some(note) = session.poll_note() {
        match note {
            Note::Connected { path, protocol } => tracing::debug!(path, protocol, "WebSocket open"),
            Note::Overloaded => {
                tracing::warn!("closing a connection that does not keep up with its changes")
            }
            Note::ShuttingDown => tracing::debug!("server shutting down: closing"),
            Note::WriteRefused(e) => tracing::warn!("cannot write an event: {e}; closing"),
            other => tracing::debug!("{other:?}"),
        }
    }
}

/// After the session ended: writes what is left (the close frame, an HTTP error answer)
/// within the close timeout, then shuts the socket down.
async fn finish<W: AsyncWrite + Unpin>(
    session: &ConnectionSession,
    writer: &mut W,
    shared: &Shared,
) {
    let Some(rest) = session.final_output() else {
        return;
    };
    let flushed = timeout(shared.config.final_write_timeout(), async {
        writer.write_all(rest).await?;
        writer.shutdown().await
    })
    .await;
    match flushed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!("final write failed: {e}"),
        Err(_) => tracing::debug!("final write timed out"),
    }
}
