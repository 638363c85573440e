//! The `server` mode of `warp-conformance` against real servers: the SwimOS 0.1.1 peer
//! (`conformance::peers::SwimosServer`), whose results are pinned case by case with the reason,
//! and our tokio and smol demo servers (`warp_tokio::demo`, `warp_smol::demo`), which must pass
//! every required case.
//!
//! Each test starts its own server on a loopback port. Every wait inside the suite is bounded
//! (`--timeout`, `--quiet`); the first test to run builds the SwimOS peer (minutes from clean,
//! then cached in `target/peers`).

use std::net::TcpListener;
use std::process::{Command, Stdio};

use conformance::peers::SwimosServer;
use conformance::suite::report::{table, Basis, CaseResult, CaseSummary, Verdict};
use conformance::suite::server::{run_cases, ServerConfig, CASES};
use conformance::suite::ws::WsUrl;

const BIN: &str = env!("CARGO_BIN_EXE_warp-conformance");

fn start_swimos() -> SwimosServer {
    SwimosServer::start().unwrap_or_else(|e| panic!("starting the SwimOS peer: {e}"))
}

fn config(url: &str) -> ServerConfig {
    ServerConfig::new(WsUrl::parse(url).expect("a ws:// URL"))
}

/// What a case must give: the verdict and a piece of the detail that says why.
struct Pin {
    case: &'static str,
    verdict: Verdict,
    because: &'static str,
}

const fn pin(case: &'static str, verdict: Verdict, because: &'static str) -> Pin {
    Pin {
        case,
        verdict,
        because,
    }
}

/// SwimOS 0.1.1's results. The failures: positional header args (PROFILE.md reads them; the
/// Rust reference closes with 1002), auth and deauth (PROFILE.md answers them; the Rust
/// reference ignores them), invalid UTF-8 (closed with 1002 where RFC 6455 says 1007).
const SWIMOS: &[Pin] = &[
    pin(
        "handshake-warp0",
        Verdict::Pass,
        "101 with Sec-WebSocket-Protocol: warp0",
    ),
    pin(
        "handshake-no-subprotocol",
        Verdict::Info,
        "refused with HTTP 400",
    ),
    pin("link", Verdict::Pass, "linked, then nothing"),
    pin("sync-value", Verdict::Pass, "linked, event \"\", synced"),
    pin("prio-rate", Verdict::Pass, "prio/rate not echoed"),
    pin("positional-header", Verdict::Fail, "unexpected close 1002"),
    pin("command", Verdict::Pass, "event on the synced link"),
    pin("sync-map", Verdict::Pass, "the 3 entries"),
    pin("map-events", Verdict::Pass, "@update and @remove"),
    pin("unlink", Verdict::Pass, "unlinked"),
    pin("unlink-unopened", Verdict::Pass, "nothing"),
    pin("sync-twice", Verdict::Pass, "no second linked"),
    pin("link-twice", Verdict::Pass, "linked twice"),
    pin("node-not-found", Verdict::Pass, "@nodeNotFound"),
    pin("lane-not-found", Verdict::Pass, "@laneNotFound"),
    pin("auth", Verdict::Fail, "auth ignored"),
    pin("deauth", Verdict::Fail, "deauth ignored"),
    pin("malformed-recon", Verdict::Pass, "closed with 1002"),
    pin("unknown-tag", Verdict::Pass, "closed with 1002"),
    pin("bad-frame-limit", Verdict::Pass, "closed with 1002 after"),
    pin("binary-frame", Verdict::Pass, "closed with 1002"),
    pin("invalid-utf8", Verdict::Fail, "close 1002 (expected 1007"),
    pin(
        "oversized-frame",
        Verdict::Pass,
        "accepted a frame of 20.0 MiB",
    ),
    pin("ping", Verdict::Pass, "pong with the same payload"),
    pin("close", Verdict::Pass, "answered with close 1000"),
];

fn check_pins(results: &[CaseResult], pins: &[Pin]) {
    let mut wrong = Vec::new();
    for p in pins {
        match results.iter().find(|r| r.name == p.case) {
            Some(r) if r.verdict == p.verdict && r.detail.contains(p.because) => {}
            Some(r) => wrong.push(format!(
                "{}: expected {} because {:?}, got {}",
                p.case,
                p.verdict.label(),
                p.because,
                r
            )),
            None => wrong.push(format!("{}: not run", p.case)),
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\n\n{}",
        wrong.join("\n"),
        table(results)
    );
}

#[test]
fn every_case_is_pinned() {
    assert_eq!(SWIMOS.len(), CASES.len());
    for c in CASES {
        assert!(
            SWIMOS.iter().any(|p| p.case == c.name),
            "{} is not pinned",
            c.name
        );
    }
}

#[test]
fn swimos_results_are_pinned_case_by_case() {
    let server = start_swimos();
    let results = run_cases(&config(&server.ws_url()), &[], |_| {});
    check_pins(&results, SWIMOS);
    assert_eq!(
        CaseSummary::of(&results).to_string(),
        "20 passed, 4 failed, 1 informative",
        "\n{}",
        table(&results)
    );
    // The informative case is the only one that is not required.
    for r in &results {
        assert_eq!(
            r.basis == Basis::Informative,
            r.name == "handshake-no-subprotocol",
            "{r}"
        );
    }
}

/// Runs the binary to completion (every wait inside it is bounded) and returns its exit code,
/// stdout lines and stderr.
fn run_bin(args: &[&str]) -> (Option<i32>, Vec<String>, String) {
    let out = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running the runner");
    let stdout = String::from_utf8_lossy(&out.stdout);
    (
        out.status.code(),
        stdout.lines().map(str::to_string).collect(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_binary_prints_lines_table_and_summary_and_exits_1_on_a_failure() {
    let server = start_swimos();
    let url = server.ws_url();
    let (code, lines, stderr) = run_bin(&["server", &url, "--only", "link,auth", "--only=ping"]);
    assert_eq!(code, Some(1), "{lines:#?}\n{stderr}");
    let text = lines.join("\n");
    assert_eq!(
        lines.first().map(String::as_str),
        Some("link: PASS"),
        "{text}"
    );
    assert_eq!(
        lines.get(1).map(String::as_str),
        Some("auth: FAIL"),
        "{text}"
    );
    assert_eq!(
        lines.get(2).map(String::as_str),
        Some("ping: PASS"),
        "{text}"
    );
    assert!(
        text.contains("| case | basis | result | detail |"),
        "{text}"
    );
    assert!(
        text.contains("| auth | required | FAIL | auth ignored"),
        "{text}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("2 passed, 1 failed"),
        "{text}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("| ")).count(),
        2 + 3,
        "only the cases asked for run: {text}"
    );

    let (code, lines, stderr) = run_bin(&["server", &url, "--only", "sync-value", "--json"]);
    assert_eq!(code, Some(0), "{lines:#?}\n{stderr}");
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let json: serde_json::Value = serde_json::from_str(&lines[0]).expect("a JSON line");
    assert_eq!(json["case"], "sync-value");
    assert_eq!(json["basis"], "required");
    assert_eq!(json["verdict"], "pass");
    assert_eq!(lines[1], "1 passed, 0 failed");
}

#[test]
fn usage_errors_and_an_unreachable_server_exit_2() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let closed = format!("ws://127.0.0.1:{port}");
    let (code, lines, stderr) = run_bin(&["server", &closed, "--timeout", "2"]);
    assert_eq!(code, Some(2), "{lines:?}");
    assert!(stderr.contains("cannot reach"), "{stderr}");

    for args in [
        vec!["server"],
        vec!["server", "http://127.0.0.1:1"],
        vec!["server", "ws://127.0.0.1:1", "--only", "no-such-case"],
        vec!["server", "ws://127.0.0.1:1", "--timeout", "soon"],
        vec!["server", "ws://127.0.0.1:1", "--frobnicate"],
    ] {
        let (code, _, stderr) = run_bin(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
    }
    let (code, lines, _) = run_bin(&["help", "server"]);
    assert_eq!(code, Some(0));
    let help = lines.join("\n");
    for c in CASES {
        assert!(help.contains(c.name), "{} missing from the help", c.name);
    }
}

#[test]
fn our_tokio_demo_server_passes_every_required_case() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let server = runtime
        .block_on(warp_tokio::demo::demo_server("127.0.0.1:0"))
        .expect("binding the demo server");
    let addr = server.local_addr().expect("its address");
    let handle = runtime.block_on(async { server.spawn() });
    let results = run_cases(&config(&format!("ws://{addr}")), &[], |_| {});
    runtime.block_on(handle.shutdown());
    check_our_demo_server(&results);
}

#[test]
fn our_smol_demo_server_passes_every_required_case() {
    let server = smol::block_on(warp_smol::demo::demo_server("127.0.0.1:0"))
        .expect("binding the demo server");
    let addr = server.local_addr().expect("its address");
    let handle = server.spawn();
    let results = run_cases(&config(&format!("ws://{addr}")), &[], |_| {});
    let stopped = smol::block_on(smol::future::or(
        async {
            handle.shutdown().await;
            true
        },
        async {
            smol::Timer::after(std::time::Duration::from_secs(10)).await;
            false
        },
    ));
    assert!(stopped, "the smol demo server did not stop within 10 s");
    check_our_demo_server(&results);
}

/// What our demo servers (tokio and smol, the same core session) must give: every required
/// case passes, with our choices where PROFILE.md allows more than one reaction.
fn check_our_demo_server(results: &[CaseResult]) {
    let summary = CaseSummary::of(results);
    assert_eq!(
        (summary.failed, summary.skipped, summary.passed),
        (0, 0, CASES.len() - 1),
        "\n{}",
        table(results)
    );
    check_pins(
        results,
        &[
            pin("handshake-no-subprotocol", Verdict::Info, "accepted: 101"),
            pin("auth", Verdict::Pass, "@authed"),
            pin("deauth", Verdict::Pass, "@deauthed then close"),
            pin(
                "malformed-recon",
                Verdict::Pass,
                "dropped; the connection stays usable",
            ),
            pin(
                "binary-frame",
                Verdict::Pass,
                "dropped; the connection stays usable",
            ),
            pin("bad-frame-limit", Verdict::Pass, "closed with 1002"),
            pin("invalid-utf8", Verdict::Pass, "closed with 1007"),
            pin("oversized-frame", Verdict::Pass, "closed with 1009"),
        ],
    );
}
