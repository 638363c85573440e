//! The `client` mode of `warp-conformance`: the runner plays the server side of the recorded
//! traces, and a plain `tungstenite` client replays each trace's client side against it. A
//! faithful client must pass every trace; clients that deviate (retrying after
//! `@nodeNotFound`, syncing another lane, opening with a frame no trace has) must fail, with
//! the reason.
//!
//! Everything runs on loopback; every read has a timeout.
#![allow(clippy::result_large_err)] // tungstenite's error type, not ours

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use conformance::peers::{OwnedEnvelope, PeerProcess};
use conformance::suite::client::{serve, ClientConfig};
use conformance::suite::report::{table, CaseResult, Verdict};
use conformance::suite::trace::{Payload, Trace, ABNORMAL_CLOSE};
use tungstenite::client::IntoClientRequest as _;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message, WebSocket};

const BIN: &str = env!("CARGO_BIN_EXE_warp-conformance");
const WAIT: Duration = Duration::from_secs(5);

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("traces")
}

fn trace(name: &str) -> Trace {
    Trace::read(&traces_dir().join(format!("{name}.jsonl")))
        .unwrap_or_else(|e| panic!("reading trace {name}: {e}"))
}

fn all_traces() -> Vec<Trace> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(traces_dir())
        .expect("the traces directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the recorded traces, found {files:?}"
    );
    files
        .iter()
        .map(|f| Trace::read(f).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// How a test client departs from the trace it replays.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Deviation {
    /// None: replay the trace's client side faithfully.
    None,
    /// Where the recorded client ends the connection, send the first client frame again
    /// instead (a client retrying after `@unlinked ...@nodeNotFound`).
    RetryAtEnd,
    /// Send every client frame for lane `count` on lane `info` instead.
    WrongLane,
}

/// A WARP client over `tungstenite` with timed reads.
struct Client {
    ws: WebSocket<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr, warp0: bool) -> Client {
        let stream = TcpStream::connect_timeout(&addr, WAIT).expect("TCP connect");
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        stream.set_write_timeout(Some(WAIT)).expect("write timeout");
        let mut request = format!("ws://{addr}/")
            .into_client_request()
            .expect("request");
        if warp0 {
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("warp0"));
        }
        match tungstenite::client::client(request, stream) {
            Ok((ws, _)) => Client { ws },
            Err(e) => panic!("handshake with the runner: {e}"),
        }
    }

    fn send(&mut self, message: Message) {
        self.ws
            .send(message)
            .unwrap_or_else(|e| panic!("sending: {e}"));
    }

    /// The next message within [`WAIT`]; `None` once the connection is closed.
    fn recv(&mut self) -> Option<Message> {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the runner sent nothing for {WAIT:?}");
            self.ws
                .get_mut()
                .set_read_timeout(Some(left))
                .expect("read timeout");
            match self.ws.read() {
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(m) => return Some(m),
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(_) => return None,
            }
        }
    }
}

/// Replays the client side of `trace` against the runner at `addr`, checking that the runner
/// answers with the recorded server frames.
fn replay(addr: SocketAddr, trace: &Trace, warp0: bool, deviation: Deviation) {
    let mut c = Client::connect(addr, warp0);
    let mut server_closed = false;
    for round in trace.rounds() {
        for f in &round.c2s {
            match &f.payload {
                Payload::Text(t) => {
                    let t = match deviation {
                        Deviation::WrongLane => t.replace("lane:count", "lane:info"),
                        _ => t.clone(),
                    };
                    c.send(Message::text(t));
                }
                Payload::Binary(b) => c.send(Message::binary(b.clone())),
                Payload::Close(ABNORMAL_CLOSE) => {
                    if deviation == Deviation::RetryAtEnd {
                        if let Some(Payload::Text(t)) = trace.first_c2s().map(|f| &f.payload) {
                            c.send(Message::text(t.clone()));
                            while c.recv().is_some() {}
                        }
                    }
                    return; // drop the connection
                }
                Payload::Close(_) if server_closed => {
                    // tungstenite answered the runner's close already; let it flush.
                    while c.recv().is_some() {}
                    return;
                }
                Payload::Close(code) => {
                    c.ws.close(Some(CloseFrame {
                        code: CloseCode::from(*code),
                        reason: "".into(),
                    }))
                    .expect("sending close");
                    while c.recv().is_some() {}
                    return;
                }
            }
        }
        for f in &round.s2c {
            let got = c.recv();
            match (&f.payload, got) {
                (Payload::Text(want), Some(Message::Text(text))) => {
                    let want = OwnedEnvelope::decode(want).expect("recorded envelope");
                    let got = OwnedEnvelope::decode(text.as_str()).expect("an envelope");
                    assert_eq!(got, want, "trace {} line {}", trace.name, f.line);
                }
                (Payload::Close(code), Some(Message::Close(frame))) => {
                    assert_eq!(frame.map(|f| u16::from(f.code)), Some(*code));
                    server_closed = true;
                }
                (want, got) => {
                    if deviation == Deviation::None {
                        panic!(
                            "trace {} line {}: expected {want:?}, got {got:?}",
                            trace.name, f.line
                        )
                    }
                    return;
                }
            }
        }
    }
}

fn config() -> ClientConfig {
    ClientConfig {
        timeout: WAIT,
        quiet: Duration::from_millis(300),
        wait: Duration::from_secs(20),
    }
}

/// Starts the runner (the library) on a loopback port with `traces`; returns its address and
/// the thread that yields the results.
fn start_runner(
    traces: Vec<Trace>,
    config: ClientConfig,
) -> (SocketAddr, thread::JoinHandle<Vec<CaseResult>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let runner = thread::spawn(move || serve(listener, traces, &config, |_| {}).expect("serving"));
    (addr, runner)
}

fn result<'r>(results: &'r [CaseResult], name: &str) -> &'r CaseResult {
    results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no result for {name}:\n{}", table(results)))
}

#[test]
fn a_faithful_client_passes_every_recorded_trace() {
    let traces = all_traces();
    let (addr, runner) = start_runner(traces.clone(), config());
    for (i, t) in traces.iter().enumerate() {
        // Half the connections offer warp0, half do not: the runner takes both.
        replay(addr, t, i % 2 == 0, Deviation::None);
    }
    let results = runner.join().expect("the runner thread");
    eprintln!("{}", table(&results));
    assert_eq!(results.len(), traces.len(), "\n{}", table(&results));
    for r in &results {
        assert_eq!(r.verdict, Verdict::Pass, "\n{}", table(&results));
    }
    let not_found = result(&results, "not_found");
    assert!(
        not_found
            .detail
            .contains("2 client frames as recorded, 2 server frames played"),
        "{not_found}"
    );
    let malformed = result(&results, "malformed_recon");
    assert!(
        malformed.detail.contains("PROFILE.md differs"),
        "{malformed}"
    );
}

#[test]
fn a_client_retrying_after_node_not_found_fails() {
    let t = trace("not_found");
    let (addr, runner) = start_runner(vec![t.clone()], config());
    replay(addr, &t, true, Deviation::RetryAtEnd);
    let results = runner.join().expect("the runner thread");
    let r = result(&results, "not_found");
    assert_eq!(r.verdict, Verdict::Fail, "{r}");
    assert!(
        r.detail.contains(
            r#"the client sent @sync(node:"/nowhere/1",lane:info); expected the client to end"#
        ),
        "{r}"
    );
}

#[test]
fn a_client_syncing_the_wrong_lane_fails_with_what_was_expected() {
    let t = trace("value_sync");
    let (addr, runner) = start_runner(vec![t.clone()], config());
    replay(addr, &t, true, Deviation::WrongLane);
    let results = runner.join().expect("the runner thread");
    let r = result(&results, "value_sync");
    assert_eq!(r.verdict, Verdict::Fail, "{r}");
    assert!(
        r.detail
            .contains(r#"the client sent @sync(node:"/unit/2",lane:info)"#)
            && r.detail.contains("lane:count"),
        "{r}"
    );
}

#[test]
fn a_connection_matching_no_trace_fails_and_the_trace_left_unplayed_fails() {
    let t = trace("value_link");
    let config = ClientConfig {
        wait: Duration::from_secs(2),
        ..config()
    };
    let (addr, runner) = start_runner(vec![t], config);
    let mut c = Client::connect(addr, true);
    c.send(Message::text(r#"@sync(node:"/elsewhere",lane:info)"#));
    drop(c);
    let results = runner.join().expect("the runner thread");
    assert_eq!(results.len(), 2, "\n{}", table(&results));
    let unplayed = result(&results, "value_link");
    assert_eq!(unplayed.verdict, Verdict::Fail);
    assert!(
        unplayed.detail.contains("no connection played this trace"),
        "{unplayed}"
    );
    let stray = result(&results, "connection 1");
    assert_eq!(stray.verdict, Verdict::Fail);
    assert!(
        stray.detail.contains("matches no remaining trace"),
        "{stray}"
    );
}

#[test]
fn the_binary_prints_its_address_and_expectations_and_exits_0_when_all_pass() {
    let files = [
        traces_dir().join("value_sync.jsonl"),
        traces_dir().join("not_found.jsonl"),
    ];
    let mut command = Command::new(BIN);
    command
        .args(["client", "--listen", "127.0.0.1:0", "--wait", "30"])
        .args(&files);
    let mut runner = PeerProcess::spawn("warp-conformance client", command).expect("spawn");
    let addr = runner
        .read_address(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    let expect_lines: Vec<String> = (0..2)
        .map(|_| {
            runner
                .next_line(WAIT)
                .expect("a line")
                .expect("an expect line")
        })
        .collect();
    assert!(
        expect_lines[0].starts_with("expect value_sync: 5 client frames, first @command"),
        "{expect_lines:?}"
    );
    assert!(
        expect_lines[1].starts_with("expect not_found: 3 client frames"),
        "{expect_lines:?}"
    );
    replay(addr, &trace("not_found"), false, Deviation::None);
    replay(addr, &trace("value_sync"), true, Deviation::None);
    let lines = runner.lines_until_quiet(Duration::from_secs(60), Duration::from_secs(60));
    let status = runner
        .wait_timeout(Duration::from_secs(10))
        .expect("waiting")
        .expect("the runner ended");
    let text = lines.join("\n");
    assert_eq!(status.code(), Some(0), "{text}\n{}", runner.stderr_text());
    assert!(text.contains("not_found: PASS"), "{text}");
    assert!(text.contains("value_sync: PASS"), "{text}");
    assert!(text.contains("| value_sync | required | PASS |"), "{text}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("2 passed, 0 failed"),
        "{text}"
    );
}

#[test]
fn the_binary_refuses_bad_arguments_with_exit_2() {
    for args in [
        vec!["client", "--listen", "127.0.0.1:0"],
        vec!["client", "conformance/traces/value_sync.jsonl"],
        vec!["client", "--listen", "127.0.0.1:0", "/no/such/trace.jsonl"],
        vec![
            "client",
            "--listen",
            "not-an-address",
            "traces/value_sync.jsonl",
        ],
        vec!["client", "--listen", "127.0.0.1:0", "--bogus", "x.jsonl"],
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("running the runner");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
