//! Records `conformance/traces/nostd_sensor.jsonl` from the real SwimOS server: the no_std
//! demo (`warp-nostd-demo`, a sensor on node `/unit/50` publishing 3 readings) talks to
//! `SwimosServer` through the recorder of `conformance::trace::record` (the proxy of
//! `warp-conformance record`).
//!
//! `cargo run -p conformance --example record_nostd_sensor_trace [OUT_DIR]` (default: the
//! crate's `traces/`). It first builds the demo program the way its README says (release,
//! `--features firmware`, `panic = "abort"`, into `target/nostd-demo`), then runs it once
//! through the recorder. `warp-nostd-demo/tests/trace_client.rs` plays the trace back to the
//! program with `warp-conformance client`.

use std::ffi::OsString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use conformance::peers::SwimosServer;
use conformance::suite::ws::WsUrl;
use conformance::trace::record::{record, RecordConfig};

/// The node the sensor reports to (no other trace uses it).
const NODE: &str = "/unit/50";
/// How many readings it publishes (`add` 1, 2, 3).
const READINGS: &str = "3";

const NOTES: &str = "the no_std demo (warp-nostd-demo) as a sensor on /unit/50 with 3 readings: \
    it syncs info and count (sent together once the WebSocket is open), publishes add 1, 2, 3 \
    once both are synced, follows count to 6, unlinks both lanes, waits for both @unlinked and \
    closes with 1000. SwimOS sent one @event of count per add (1, 3, 6) in every recording; \
    where the commands and those events interleave depends on timing, so only the order per \
    link counts. Recorded with `cargo run -p conformance --example \
    record_nostd_sensor_trace` (the demo program through the warp-conformance recorder); \
    warp-nostd-demo/tests/trace_client.rs plays it back to the program.";

/// The workspace root (this crate's parent).
fn workspace_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

/// Builds the demo program on its own (its own dependency graph: no `std`, no `alloc`) and
/// returns its path.
fn build_program() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let root = workspace_root();
    let target = root.join("target/nostd-demo");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command.current_dir(&root).args([
        "build",
        "-p",
        "warp-nostd-demo",
        "--features",
        "firmware",
        "--release",
        "--config",
        "profile.release.panic=\"abort\"",
        "--target-dir",
    ]);
    command.arg(&target);
    // The variables `cargo run` set for this process would make the nested build differ from
    // a shell build.
    for (key, _) in std::env::vars_os() {
        let set_by_cargo = key.to_str().is_some_and(|k| {
            [
                "CARGO_MANIFEST_",
                "CARGO_PKG_",
                "CARGO_BIN_",
                "CARGO_CRATE_",
            ]
            .iter()
            .any(|prefix| k.starts_with(prefix))
                || ["CARGO_PRIMARY_PACKAGE", "OUT_DIR"].contains(&k)
        });
        if set_by_cargo {
            command.env_remove(key);
        }
    }
    let status = command.status()?;
    if !status.success() {
        return Err(format!("building warp-nostd-demo failed: {status}").into());
    }
    Ok(target.join("release/warp-nostd-demo"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces"));
    let program = build_program()?;
    let server = SwimosServer::start()?;
    let upstream = WsUrl::parse(&server.ws_url())?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port().to_string();
    let mut config = RecordConfig::new(upstream, "nostd_sensor");
    config.header.server = "swimos 0.1.1 (peers/swimos-server)".into();
    config.header.client = "warp-nostd-demo (no_std sensor, record_nostd_sensor_trace)".into();
    config.header.notes = NOTES.into();
    config.header.order = "per-link".into();
    config.wait = Duration::from_secs(10);
    config.max_duration = Duration::from_secs(30);
    let recorder = std::thread::spawn(move || record(listener, &config));
    // The program bounds its own run (`--timeout-ms`), so waiting for it is bounded.
    let run = Command::new(&program)
        .args(["--timeout-ms", "10000", "127.0.0.1", &port, NODE, READINGS])
        .output()?;
    print!("{}", String::from_utf8_lossy(&run.stdout));
    eprint!("{}", String::from_utf8_lossy(&run.stderr));
    let traces = recorder
        .join()
        .map_err(|_| "the recorder thread panicked")??;
    if !run.status.success() {
        return Err(format!("the sensor failed: {}", run.status).into());
    }
    for trace in traces {
        if let Some(e) = &trace.error {
            return Err(format!("{}: {e}", trace.header.name).into());
        }
        let path = out_dir.join(format!("{}.jsonl", trace.header.name));
        trace.write(&path)?;
        println!("recorded {}: {} frames", path.display(), trace.frames.len());
    }
    server.stop()?;
    Ok(())
}
