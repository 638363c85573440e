//! One connection, one task: moves bytes between the socket and a
//! [`ConnectionSession`], which decides everything else (see
//! [`warp_proto::app::session::server`]).

use std::future::pending;
use std::io;
use std::net::SocketAddr;

use async_io::Timer;
use futures_lite::future::{or, yield_now};
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use warp_proto::app::session::server::{ConnectionSession, Note, Signal, Status};
use warp_proto::endpoint::CloseReason;

use super::Shared;

/// Rounds of a connection's loop between two turns given to the executor's other tasks.
const YIELD_EVERY: u32 = 16;

/// What woke the task.
enum Woke {
    Signal(Signal),
    Read(io::Result<usize>),
    Wrote(io::Result<usize>),
    Flushed(io::Result<()>),
    Timeout,
}

/// Serves one accepted connection until it ends (or the server drops it at the end of a
/// shutdown); returns why.
pub(crate) async fn serve<R, W>(
    reader: R,
    writer: W,
    peer: SocketAddr,
    shared: &Shared,
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
    let reason = or(
        async { Some(run(&mut session, reader, writer, shared, &span).await) },
        async {
            shared.force.wait().await;
            None
        },
    )
    .await;
    session.leave(&shared.hub);
    match &reason {
        Some(reason) => span.in_scope(|| tracing::debug!("connection ended: {reason}")),
        None => span.in_scope(|| tracing::debug!("connection dropped at shutdown")),
    }
    reason
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
    let mut rounds = 0u32;
    loop {
        // smol's executor does not preempt a task whose socket is always ready (a peer
        // flooding it): give the other tasks on its thread a turn now and then.
        rounds = rounds.wrapping_add(1);
        if rounds % YIELD_EVERY == 0 {
            yield_now().await;
        }
        let status = session.poll(&shared.hub, shared.now());
        span.in_scope(|| log_notes(session));
        let interest = match status {
            Status::Wait(interest) => interest,
            Status::Closed(reason) => {
                finish(session, &mut writer, shared).await;
                return reason;
            }
        };
        let deadline = interest.deadline.map(|t| shared.instant(t));
        let (read_buf, write_buf) = session.buffers();
        let signal = async {
            if interest.hub {
                Woke::Signal(shared.hub.signal(id, interest.changes).await)
            } else {
                pending().await
            }
        };
        let write = async {
            if interest.write {
                Woke::Wrote(writer.write(write_buf).await)
            } else if interest.flush {
                Woke::Flushed(writer.flush().await)
            } else {
                pending().await
            }
        };
        let read = async {
            if interest.read {
                Woke::Read(reader.read(read_buf).await)
            } else {
                pending().await
            }
        };
        let timer = async {
            match deadline {
                Some(at) => {
                    Timer::at(at).await;
                    Woke::Timeout
                }
                None => pending().await,
            }
        };
        let woke = or(or(signal, write), or(read, timer)).await;
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
/// within the close timeout, then closes the socket.
async fn finish<W: AsyncWrite + Unpin>(
    session: &ConnectionSession,
    writer: &mut W,
    shared: &Shared,
) {
    let Some(rest) = session.final_output() else {
        return;
    };
    let limit = shared.config.final_write_timeout();
    let flushed = or(
        async {
            writer.write_all(rest).await?;
            writer.close().await
        },
        async {
            Timer::after(limit).await;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "final write timed out",
            ))
        },
    )
    .await;
    if let Err(e) = flushed {
        tracing::debug!("final write failed: {e}");
    }
}
