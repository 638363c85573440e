//! A SwimOS 0.1.1 server: the real WARP peer of the interop tests.
//!
//! It hosts one agent per node matching `/unit/:id`, each with these lanes:
//!
//! | lane | kind | behaviour |
//! | --- | --- | --- |
//! | `info` | value lane of text | initially `""` |
//! | `count` | value lane of `i64` | initially `0` |
//! | `history` | map lane `i64 → i64` | one entry per `add`: new total → amount added |
//! | `set_info` | command lane of text | sets `info` |
//! | `add` | command lane of `i64` | adds to `count`, then records the new total in `history` |
//! | `remove` | command lane of `i64` | removes that key from `history` |
//!
//! Usage: `swimos-peer-server [--bind ADDR]` (default `127.0.0.1:0`, a free loopback port).
//! Once bound it prints exactly one line on stdout, `listening ADDR` (for example
//! `listening 127.0.0.1:40123`), and flushes it. It stops on SIGINT, on SIGTERM, or when its
//! stdin reaches end of file, so a test process that dies takes the server with it. Errors go
//! to stderr with exit status 1.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use swimos::agent::agent_lifecycle::HandlerContext;
use swimos::agent::agent_model::AgentModel;
use swimos::agent::event_handler::{EventHandler, HandlerActionExt};
use swimos::agent::lanes::{CommandLane, MapLane, ValueLane};
use swimos::agent::{lifecycle, projections, AgentLaneModel};
use swimos::route::RoutePattern;
use swimos::server::{Server, ServerBuilder};

/// How long the server may take to stop once asked before the process exits anyway.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The agent at each `/unit/:id` node.
#[projections]
#[derive(AgentLaneModel)]
struct Unit {
    /// Free text, set by `set_info`.
    info: ValueLane<String>,
    /// Running total of the amounts sent to `add`.
    count: ValueLane<i64>,
    /// New total → amount added, one entry per `add`.
    history: MapLane<i64, i64>,
    /// Sets `info`.
    set_info: CommandLane<String>,
    /// Adds to `count` and records the step in `history`.
    add: CommandLane<i64>,
    /// Removes a key from `history`.
    remove: CommandLane<i64>,
}

/// The behaviour of [`Unit`]: the command lanes' handlers.
#[derive(Clone, Copy, Default)]
struct UnitLifecycle;

#[lifecycle(Unit)]
impl UnitLifecycle {
    #[on_command(set_info)]
    fn on_set_info(&self, context: HandlerContext<Unit>, value: &str) -> impl EventHandler<Unit> {
        context.set_value(Unit::INFO, value.to_string())
    }

    #[on_command(add)]
    fn on_add(&self, context: HandlerContext<Unit>, value: &i64) -> impl EventHandler<Unit> {
        let amount = *value;
        context.get_value(Unit::COUNT).and_then(move |count: i64| {
            let total = count.wrapping_add(amount);
            context
                .set_value(Unit::COUNT, total)
                .followed_by(context.update(Unit::HISTORY, total, amount))
        })
    }

    #[on_command(remove)]
    fn on_remove(&self, context: HandlerContext<Unit>, value: &i64) -> impl EventHandler<Unit> {
        context.remove(Unit::HISTORY, *value)
    }
}

/// The bind address from the command line: `--bind ADDR`, else `127.0.0.1:0`.
fn bind_addr() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 0));
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => {
                let value = args.next().ok_or("`--bind` needs an address")?;
                addr = value
                    .parse()
                    .map_err(|e| format!("bad `--bind` address {value:?}: {e}"))?;
            }
            other => return Err(format!("unknown argument {other:?}; usage: [--bind ADDR]")),
        }
    }
    Ok(addr)
}

/// Resolves when stdin reaches end of file (or fails): the parent is gone or wants us gone.
///
/// Reads on a plain thread: tokio's stdin would keep the runtime from shutting down while a
/// read is pending.
async fn stdin_closed() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 256];
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = tx.send(());
    });
    let _ = rx.await;
}

/// Resolves on SIGTERM (never, where there is no such signal or it cannot be watched).
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut sigterm) = signal(SignalKind::terminate()) {
            sigterm.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await;
}

/// Resolves on the first reason to stop.
async fn shutdown_requested() -> &'static str {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = terminated() => "SIGTERM",
        _ = stdin_closed() => "stdin closed",
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let addr = match bind_addr() {
        Ok(addr) => addr,
        Err(message) => {
            eprintln!("swimos-peer-server: {message}");
            return ExitCode::FAILURE;
        }
    };
    let route = match RoutePattern::parse_str("/unit/:id") {
        Ok(route) => route,
        Err(e) => {
            eprintln!("swimos-peer-server: bad route pattern: {e}");
            return ExitCode::FAILURE;
        }
    };
    let agent = AgentModel::new(Unit::default, UnitLifecycle.into_lifecycle());
    let server = match ServerBuilder::with_plane_name("warp-interop")
        .set_bind_addr(addr)
        .add_route(route, agent)
        .build()
        .await
    {
        Ok(server) => server,
        Err(e) => {
            eprintln!("swimos-peer-server: building the server failed: {e}");
            return ExitCode::FAILURE;
        }
    };

    let shutdown = shutdown_requested();
    tokio::pin!(shutdown);
    let (task, mut handle) = server.run();
    // The server binds only while its task is polled, so it runs on its own task from here.
    let mut task = tokio::spawn(task);
    let bound = tokio::select! {
        bound = handle.bound_addr() => bound,
        reason = &mut shutdown => {
            eprintln!("swimos-peer-server: {reason} before the server was bound");
            handle.stop();
            return ExitCode::FAILURE;
        }
    };
    let Some(bound) = bound else {
        let outcome = tokio::time::timeout(STOP_GRACE, &mut task).await;
        eprintln!("swimos-peer-server: the server did not bind {addr}: {outcome:?}");
        return ExitCode::FAILURE;
    };
    {
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "listening {bound}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            handle.stop();
            return ExitCode::FAILURE;
        }
    }

    let code = tokio::select! {
        reason = &mut shutdown => {
            eprintln!("swimos-peer-server: {reason}, stopping");
            handle.stop();
            match tokio::time::timeout(STOP_GRACE, &mut task).await {
                Ok(Ok(Ok(()))) => ExitCode::SUCCESS,
                Ok(Ok(Err(e))) => {
                    eprintln!("swimos-peer-server: the server failed while stopping: {e}");
                    ExitCode::FAILURE
                }
                Ok(Err(e)) => {
                    eprintln!("swimos-peer-server: the server task panicked: {e}");
                    ExitCode::FAILURE
                }
                Err(_) => {
                    eprintln!("swimos-peer-server: the server did not stop within {STOP_GRACE:?}");
                    ExitCode::SUCCESS
                }
            }
        }
        result = &mut task => {
            eprintln!("swimos-peer-server: the server stopped by itself: {result:?}");
            ExitCode::FAILURE
        }
    };
    code
}
