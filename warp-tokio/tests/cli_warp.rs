//! The `warp` binary end to end: `warp serve`, `warp sync`/`link` with `--count`, `--json` and
//! `--timeout`, `warp command`, and the exit codes and messages of its failures.
//!
//! Every child process is killed when its guard drops; every read has a time limit.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const WARP: &str = env!("CARGO_BIN_EXE_warp");

/// How long to wait for a line or an exit.
const WAIT: Duration = Duration::from_secs(20);

/// A running `warp`, killed on drop, with its stdout and stderr lines arriving on channels.
struct Running {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

fn lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Running {
    fn spawn(args: &[&str]) -> Running {
        let mut child = Command::new(WARP)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting warp {args:?}: {e}"));
        let stdout = lines(child.stdout.take().expect("stdout"));
        let stderr = lines(child.stderr.take().expect("stderr"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// The next stdout line.
    fn line(&self) -> String {
        self.stdout
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no stdout line within {WAIT:?}: {e}"))
    }

    /// Waits for a stderr line containing `text`; returns the lines seen.
    fn wait_stderr(&self, text: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.stderr.recv_timeout(WAIT) {
                Ok(line) => {
                    let found = line.contains(text);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Err(e) => panic!("no stderr line with {text:?} within {WAIT:?} ({e}): {seen:?}"),
            }
        }
    }

    /// Waits for the exit (its pipes closing, then the status); returns the status, all
    /// stdout lines and all stderr text.
    fn finish(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + WAIT;
        let out = until_closed(&self.stdout, deadline);
        let err = until_closed(&self.stderr, deadline).join("\n");
        let status = self.child.wait().expect("waiting for warp");
        (status, out, err)
    }
}

/// Every line until the pipe closes; fails the test at `deadline`.
fn until_closed(lines: &mpsc::Receiver<String>, deadline: Instant) -> Vec<String> {
    let mut all = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => all.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => return all,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("warp did not exit within {WAIT:?}; output so far: {all:?}")
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `warp serve` on a free port; returns it and its `ws://` URL.
fn serve() -> (Running, String) {
    let server = Running::spawn(&["serve", "--bind", "127.0.0.1:0"]);
    let line = server.line();
    let addr = line
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("expected `listening ADDR`, got {line:?}"));
    let url = format!("ws://{addr}");
    (server, url)
}

/// Runs `warp` to completion.
fn run(args: &[&str]) -> (ExitStatus, Vec<String>, String) {
    Running::spawn(args).finish()
}

#[test]
fn serve_then_sync_with_count_prints_state_and_the_command_s_change() {
    let (_server, url) = serve();
    let sync = Running::spawn(&[
        "sync",
        &url,
        "/unit/1",
        "info",
        "--count",
        "2",
        "--timeout",
        "20",
    ]);
    // Only once the state is in does the command go: then it is the second event.
    sync.wait_stderr("synced /unit/1 info");
    let (status, out, err) = run(&["command", &url, "/unit/1", "set_info", "\"hi there\""]);
    assert!(status.success(), "command: {status} {err}");
    assert!(out.is_empty(), "command printed {out:?}");
    let (status, out, err) = sync.finish();
    assert!(status.success(), "sync: {status} {err}");
    assert_eq!(out, ["\"\"", "\"hi there\""]);
}

#[test]
fn link_prints_changes_only_and_json_renders_map_events() {
    let (_server, url) = serve();
    let link = Running::spawn(&["link", &url, "/unit/2", "count", "--count", "2"]);
    link.wait_stderr("linked /unit/2 count");
    for n in ["5", "3"] {
        let (status, _, err) = run(&["command", &url, "/unit/2", "add", n]);
        assert!(status.success(), "command add {n}: {status} {err}");
    }
    let (status, out, err) = link.finish();
    assert!(status.success(), "link: {status} {err}");
    assert_eq!(out, ["5", "8"]);

    let (status, out, err) = run(&["sync", &url, "/unit/2", "history", "--json", "--count", "2"]);
    assert!(status.success(), "sync --json: {status} {err}");
    let mut out = out;
    out.sort();
    assert_eq!(
        out,
        [
            r#"[{"@update":{"key":5}},5]"#,
            r#"[{"@update":{"key":8}},3]"#
        ]
    );
}

#[test]
fn unknown_node_exits_1_with_the_reason() {
    let (_server, url) = serve();
    let (status, out, err) = run(&["sync", &url, "/nowhere/1", "info"]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(out.is_empty(), "{out:?}");
    assert!(err.contains("node not found"), "{err}");
    let (status, _, err) = run(&["link", &url, "/unit/1", "nolane"]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("lane not found"), "{err}");
}

#[test]
fn timeout_before_count_exits_1_and_without_count_exits_0() {
    let (_server, url) = serve();
    let (status, out, err) = run(&[
        "sync",
        &url,
        "/unit/3",
        "count",
        "--count",
        "2",
        "--timeout",
        "0.3",
    ]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(out, ["0"]);
    assert!(err.contains("timed out"), "{err}");
    let (status, out, err) = run(&["sync", &url, "/unit/3", "count", "--timeout", "0.3"]);
    assert!(status.success(), "{status} {err}");
    assert_eq!(out, ["0"]);
}

#[test]
fn bad_usage_exits_2_and_failures_exit_1() {
    let (status, _, err) = run(&["command", "ws://127.0.0.1:9", "/unit/1", "add", "{"]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("not Recon"), "{err}");
    let (status, _, err) = run(&["link", "http://127.0.0.1:9", "/unit/1", "info"]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("unsupported scheme"), "{err}");
    let (status, _, err) = run(&["link", "ws://127.0.0.1:9"]);
    assert_eq!(status.code(), Some(2), "{err}");

    // Nobody listens on a port that was just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("ws://127.0.0.1:{port}");
    let (status, _, err) = run(&["command", &url, "/unit/1", "add", "1"]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
}

#[test]
fn serve_reports_an_address_in_use() {
    let (_server, url) = serve();
    let addr = url.trim_start_matches("ws://");
    let (status, out, err) = run(&["serve", "--bind", addr]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(out.is_empty(), "{out:?}");
    assert!(err.contains("cannot listen"), "{err}");
}

/// `warp serve` on `addr`.
fn serve_on(addr: &str) -> Running {
    let server = Running::spawn(&["serve", "--bind", addr]);
    let line = server.line();
    assert_eq!(line, format!("listening {addr}"));
    server
}

#[test]
fn link_reconnects_after_the_server_restarts() {
    let (server, url) = serve();
    let addr = url.trim_start_matches("ws://").to_string();
    let link = Running::spawn(&["link", &url, "/unit/4", "count", "--count", "1"]);
    link.wait_stderr("linked /unit/4 count");
    drop(server); // killed: the connection drops without a close handshake
    link.wait_stderr("reconnecting");
    let _restarted = serve_on(&addr);
    link.wait_stderr("linked /unit/4 count");
    let (status, _, err) = run(&["command", &url, "/unit/4", "add", "4"]);
    assert!(status.success(), "command: {status} {err}");
    let (status, out, err) = link.finish();
    assert!(status.success(), "link: {status} {err}");
    assert_eq!(out, ["4"]);
}

#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_sigterm() {
    let (server, url) = serve();
    let (status, _, err) = run(&["command", &url, "/unit/1", "add", "1"]);
    assert!(status.success(), "command: {status} {err}");
    let pid = server.child.id().to_string();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("running kill");
    assert!(kill.success(), "kill -TERM {pid}: {kill}");
    let (status, _, err) = server.finish();
    assert!(status.success(), "serve after SIGTERM: {status} {err}");
    assert!(err.contains("shutting down"), "{err}");
}

#[test]
fn demo_runs_a_server_and_a_client_and_prints_what_the_client_sees() {
    let (status, out, err) = run(&["demo"]);
    assert!(status.success(), "warp demo failed: {err}");
    for expected in [
        "/unit/1 count    synced",
        "/unit/1 count    event 8",
        "/unit/1 history  event @update(key:8) 3",
        "/unit/1 history  event @remove(key:5)",
        "/unit/1 nope     unlinked(lanenotfound)",
        "done",
    ] {
        assert!(
            out.iter().any(|l| l == expected),
            "missing {expected:?} in {out:#?}"
        );
    }
}
