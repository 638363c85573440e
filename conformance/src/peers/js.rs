//! Node scripts of `conformance/js/`: run with a time limit, and the `warp0` proxy in front of
//! the SwimOS server for `@swim/client`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::process::{lock, run_captured, PeerProcess};
use super::{js_dir, PeerError, START_TIMEOUT};
use crate::json::{parse_json, Json};

/// How long `npm ci` may take.
pub const NPM_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Whether `node` runs (`node --version`).
pub fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Serialises `npm ci` within this process.
static NPM: Mutex<()> = Mutex::new(());

/// The packages the Node harnesses import, each checked by its `package.json`.
const JS_PACKAGES: [&str; 5] = [
    "@swim/client",
    "@swim/args",
    "@swim/recon",
    "@swim/structure",
    "ws",
];

/// Makes sure the Node harnesses can run: [`PeerError::NodeMissing`] without `node`; runs
/// `npm ci` in `conformance/js` (from its lockfile) when one of the packages is missing.
pub fn ensure_js_packages() -> Result<(), PeerError> {
    if !node_available() {
        return Err(PeerError::NodeMissing);
    }
    let _guard = lock(&NPM);
    let dir = js_dir();
    let installed = |dir: &Path| {
        JS_PACKAGES.iter().all(|p| {
            dir.join("node_modules")
                .join(p)
                .join("package.json")
                .exists()
        })
    };
    if installed(&dir) {
        return Ok(());
    }
    let mut command = Command::new("npm");
    command
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir);
    run_captured(command, NPM_TIMEOUT)?;
    if installed(&dir) {
        Ok(())
    } else {
        Err(PeerError::Exited {
            name: "npm ci".to_string(),
            status: None,
            stderr: format!("packages still missing in {}", dir.display()),
        })
    }
}

/// What a Node script run to completion produced.
#[derive(Debug)]
pub struct ScriptRun {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its stdout, line by line.
    pub lines: Vec<String>,
    /// The end of its stderr.
    pub stderr: String,
}

/// A Node script of `conformance/js`, running. Dropping it kills the script.
#[derive(Debug)]
pub struct JsPeer {
    process: PeerProcess,
}

impl JsPeer {
    /// Starts `node SCRIPT ARGS...` in `conformance/js` after [`ensure_js_packages`].
    pub fn spawn(script: &str, args: &[&str]) -> Result<Self, PeerError> {
        ensure_js_packages()?;
        let mut command = Command::new("node");
        command.arg(script).args(args).current_dir(js_dir());
        Ok(JsPeer {
            process: PeerProcess::spawn(script, command)?,
        })
    }

    /// Runs `node SCRIPT ARGS...` to completion, collecting its stdout lines; kills it and
    /// fails with [`PeerError::Timeout`] if it runs longer than `limit`. A non-zero exit is
    /// not an error here: it is in [`ScriptRun::status`].
    pub fn run(script: &str, args: &[&str], limit: Duration) -> Result<ScriptRun, PeerError> {
        let mut peer = JsPeer::spawn(script, args)?;
        peer.process.close_stdin();
        let deadline = Instant::now() + limit;
        let mut lines = Vec::new();
        let timeout = |what: String, process: &PeerProcess| PeerError::Timeout {
            what,
            after: limit,
            stderr: process.stderr_text(),
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match peer.process.next_line(left) {
                Ok(Some(line)) => lines.push(line),
                Ok(None) => break,
                Err(PeerError::Timeout { .. }) => {
                    return Err(timeout(format!("`node {script}` to finish"), &peer.process))
                }
                Err(e) => return Err(e),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(status) = peer.process.wait_timeout(left)? else {
            return Err(timeout(format!("`node {script}` to exit"), &peer.process));
        };
        Ok(ScriptRun {
            status,
            lines,
            stderr: peer.process.stderr_text(),
        })
    }

    /// The process underneath (stdout lines, stderr, stop).
    pub fn process(&mut self) -> &mut PeerProcess {
        &mut self.process
    }
}

/// `conformance/js/warp0-proxy.mjs` running: a loopback WebSocket proxy that accepts clients
/// with or without a subprotocol and connects to the upstream server offering `warp0`, so
/// `@swim/client` can reach the SwimOS server. It logs every frame as a JSON line in the trace
/// format of `conformance/traces` plus `conn` (a connection number from 1): `{"conn":1,
/// "t_ms":..,"dir":"c2s","text":".."}`, `"bin"` (base64) or `"close":CODE`, and
/// `{"conn":1,"open":true,"protocol":".."}` per accepted client. Dropping it kills the proxy.
#[derive(Debug)]
pub struct Warp0Proxy {
    peer: JsPeer,
    addr: SocketAddr,
}

impl Warp0Proxy {
    /// Starts the proxy in front of the WebSocket server at `upstream` (`ws://upstream`).
    pub fn start(upstream: SocketAddr) -> Result<Self, PeerError> {
        let url = format!("ws://{upstream}");
        let mut peer = JsPeer::spawn("warp0-proxy.mjs", &[&url])?;
        let addr = peer.process.read_address(START_TIMEOUT)?;
        Ok(Warp0Proxy { peer, addr })
    }

    /// The proxy's own address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `warp://ADDR` of the proxy, for `@swim/client`.
    pub fn host_uri(&self) -> String {
        format!("warp://{}", self.addr)
    }

    /// The log records written since the last call, reading until none has come for `quiet`
    /// (at most `limit`). The proxy writes a frame's record before forwarding the frame, so
    /// whatever a client has seen is in the log.
    pub fn take_log(&mut self, quiet: Duration, limit: Duration) -> Result<Vec<Json>, PeerError> {
        self.peer
            .process
            .lines_until_quiet(quiet, limit)
            .into_iter()
            .map(|line| {
                parse_json(&line).map_err(|_| PeerError::BadOutput {
                    name: "warp0-proxy.mjs".to_string(),
                    line,
                    expected: "one JSON object per line",
                })
            })
            .collect()
    }
}

/// The text frames of a [`Warp0Proxy`] log, split by direction and kept in order:
/// `(client to server, server to client)`. An error names the offending record when the proxy
/// reported an error, saw more than one connection, or carried a binary frame (the interop
/// scenarios use one connection and text frames only).
pub fn split_log(log: &[Json]) -> Result<(Vec<String>, Vec<String>), String> {
    let mut sent = Vec::new();
    let mut received = Vec::new();
    for record in log {
        if record.get("error").is_some() {
            return Err(format!("the proxy reported {record}"));
        }
        if record.get("conn") != Some(&Json::Number("1".into())) {
            return Err(format!("one connection only: {record}"));
        }
        match (record.get("dir").and_then(Json::as_str), record.get("text")) {
            (Some("c2s"), Some(Json::String(t))) => sent.push(t.clone()),
            (Some("s2c"), Some(Json::String(t))) => received.push(t.clone()),
            _ if record.get("bin").is_some() => return Err(format!("binary frame {record}")),
            _ => {}
        }
    }
    Ok((sent, received))
}

#[cfg(test)]
mod split_log_tests {
    use super::split_log;
    use crate::json::parse_json;

    fn log(lines: &[&str]) -> Vec<crate::json::Json> {
        lines.iter().map(|l| parse_json(l).unwrap()).collect()
    }

    #[test]
    fn frames_are_split_by_direction_in_order() {
        let (sent, received) = split_log(&log(&[
            r#"{"conn":1,"dir":"c2s","text":"a"}"#,
            r#"{"conn":1,"dir":"s2c","text":"b"}"#,
            r#"{"conn":1,"dir":"c2s","text":"c"}"#,
            r#"{"conn":1,"dir":"s2c","close":1000}"#,
        ]))
        .unwrap();
        assert_eq!(sent, ["a", "c"]);
        assert_eq!(received, ["b"]);
    }

    #[test]
    fn a_second_connection_a_binary_frame_or_a_proxy_error_is_refused() {
        for bad in [
            r#"{"conn":2,"dir":"c2s","text":"a"}"#,
            r#"{"conn":1,"dir":"c2s","bin":"00"}"#,
            r#"{"conn":1,"error":"upstream refused"}"#,
        ] {
            assert!(split_log(&log(&[bad])).is_err(), "{bad}");
        }
    }
}
