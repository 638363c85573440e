//! The program's command line, its memory report, and how it fails: every failure is a
//! non-zero exit within the time limit, with the reason on standard error.

mod common;

use std::io::Read as _;
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use common::run_program;

/// The `--sizes` report as name → value.
fn sizes() -> Vec<(String, String)> {
    let run = run_program(&["--sizes"]);
    assert!(run.status.success(), "{}", run.transcript());
    run.lines()
        .iter()
        .map(|line| {
            let (name, value) = line.split_once(' ').unwrap_or((line, ""));
            (name.to_string(), value.to_string())
        })
        .collect()
}

fn figure(sizes: &[(String, String)], name: &str) -> usize {
    sizes
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no figure {name} in {sizes:?}"))
}

#[test]
fn the_state_of_8_links_and_a_4k_frame_fits_16k() {
    let sizes = sizes();
    let endpoint = figure(&sizes, "endpoint-8-links");
    let endpoint_16 = figure(&sizes, "endpoint-16-links");
    let per_link = figure(&sizes, "per-link");
    let rx = figure(&sizes, "rx-storage");
    let total = figure(&sizes, "total");
    assert!(endpoint_16 > endpoint, "{sizes:?}");
    assert_eq!(per_link, (endpoint_16 - endpoint) / 8, "{sizes:?}");
    assert!(rx >= 4096, "one 4 KiB frame must fit: {sizes:?}");
    assert_eq!(
        total,
        endpoint + rx + figure(&sizes, "tx-storage") + figure(&sizes, "read-buffer"),
        "{sizes:?}"
    );
    assert!(total < 16 * 1024, "{sizes:?}");
    assert_eq!(
        sizes.last(),
        Some(&("budget".to_string(), "16384 met".to_string()))
    );
}

#[test]
fn a_bad_command_line_exits_2_with_the_usage() {
    for args in [
        &[][..],
        &["127.0.0.1"],
        &["example.com", "80"],
        &["127.0.0.1", "80", "x"],
    ] {
        let run = run_program(args);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", run.transcript());
        assert!(
            run.stderr.contains("usage: warp-nostd-demo"),
            "{}",
            run.transcript()
        );
        assert!(run.stdout.is_empty(), "{}", run.transcript());
    }
}

#[test]
fn a_refused_connection_exits_1_naming_the_error() {
    // A port that was free a moment ago and has no listener now.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let run = run_program(&["127.0.0.1", &port.to_string()]);
    assert_eq!(run.status.code(), Some(1), "{}", run.transcript());
    assert!(
        run.stderr.contains("connection refused"),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_server_that_never_answers_makes_the_run_time_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts the connection and reads the upgrade request, but never answers.
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut received = Vec::new();
        let _ = stream.read_to_end(&mut received);
        received
    });
    let started = Instant::now();
    let run = run_program(&["--timeout-ms", "700", "127.0.0.1", &port.to_string()]);
    let took = started.elapsed();
    assert_eq!(run.status.code(), Some(3), "{}", run.transcript());
    assert!(
        run.stderr
            .contains("timed out after 700 ms waiting for the handshake"),
        "{}",
        run.transcript()
    );
    assert!(run.stdout.is_empty(), "{}", run.transcript());
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // The program closed the socket when it exited: the server's read ended.
    let request = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request:?}");
    assert!(
        request.contains("Sec-WebSocket-Protocol: warp0\r\n"),
        "{request:?}"
    );
    assert!(
        request.contains(&format!("Host: 127.0.0.1:{port}\r\n")),
        "{request:?}"
    );
}
