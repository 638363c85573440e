//! The program against the `client` mode of `warp-conformance` (`conformance::suite::client`,
//! the runner playing the server side of a recorded trace): `conformance/traces/nostd_sensor.jsonl`
//! is the program's own session with the real SwimOS server (recorded by `cargo run -p
//! conformance --example record_nostd_sensor_trace`: node `/unit/50`, 3 readings). Played back,
//! every frame the program sends must be the recorded one, in order per link; a sensor with
//! another number of readings must fail the trace.
//!
//! The runner serves on a loopback port in a thread of this process while the program (built
//! apart, see `tests/common/mod.rs`) runs as a child process; every wait is bounded.

mod common;

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{check_script, program, run_program, workspace_root, Run};
use conformance::suite::client::{check_playable, serve, ClientConfig};
use conformance::suite::report::{table, CaseResult, Verdict};
use conformance::suite::trace::Trace;

/// The trace's node and readings (see its header).
const NODE: &str = "/unit/50";
const READINGS: i64 = 3;

/// How long the runner may take beyond its own bounded waits.
const VERDICT_TIMEOUT: Duration = Duration::from_secs(120);

fn sensor_trace() -> Trace {
    let path = workspace_root().join("conformance/traces/nostd_sensor.jsonl");
    let trace = Trace::read(&path).unwrap_or_else(|e| panic!("{e}"));
    check_playable(&trace).unwrap_or_else(|e| panic!("{e}"));
    trace
}

/// Runs the program with `readings` readings against the runner serving the trace, and
/// returns the run and the runner's results (one per trace, then one per connection that
/// matched no trace).
fn play(readings: &str, config: ClientConfig) -> (Run, Vec<CaseResult>) {
    // Built before the runner listens, so its wait for a connection does not include the build.
    program();
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener
        .local_addr()
        .expect("its address")
        .port()
        .to_string();
    let trace = sensor_trace();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(serve(listener, vec![trace], &config, |_| {}));
    });
    let run = run_program(&["--timeout-ms", "8000", "127.0.0.1", &port, NODE, readings]);
    let results = rx
        .recv_timeout(VERDICT_TIMEOUT)
        .unwrap_or_else(|_| {
            panic!(
                "no verdict within {VERDICT_TIMEOUT:?}\n{}",
                run.transcript()
            )
        })
        .unwrap_or_else(|e| panic!("the runner failed: {e}"));
    (run, results)
}

/// The one result of the trace; no other connection came.
fn verdict<'r>(results: &'r [CaseResult], run: &Run) -> &'r CaseResult {
    let [result] = results else {
        panic!(
            "one result expected:\n{}\n{}",
            table(results),
            run.transcript()
        )
    };
    assert_eq!(result.name, "nostd_sensor", "{}", table(results));
    result
}

#[test]
fn the_sensor_plays_its_recorded_session_with_swimos() {
    let (run, results) = play(&READINGS.to_string(), ClientConfig::default());
    let result = verdict(&results, &run);
    assert_eq!(
        result.verdict,
        Verdict::Pass,
        "{}\n{}",
        table(&results),
        run.transcript()
    );
    // sync x2, add x3, unlink x2 and the close; the 12 recorded server frames but the last,
    // the close answering the program's close.
    assert!(
        result
            .detail
            .starts_with("8 client frames as recorded, 11 server frames played"),
        "{}",
        result.detail
    );
    assert!(result.detail.contains("offered warp0"), "{}", result.detail);
    // And the program surfaced what the recorded server said: count from 0 to 6.
    assert_eq!(check_script(&run, NODE, READINGS), 0);
    assert!(
        run.stdout.contains("event /unit/50 info \"\"\n"),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_sensor_with_another_number_of_readings_fails_the_trace() {
    let config = ClientConfig {
        timeout: Duration::from_secs(2),
        ..ClientConfig::default()
    };
    // Two readings: the runner waits for the third, which never comes.
    let (run, results) = play("2", config);
    let result = verdict(&results, &run);
    assert_eq!(result.verdict, Verdict::Fail, "{}", table(&results));
    assert!(
        result.detail.contains("waited 2s for")
            && result.detail.contains("lane:add) 3")
            && result.detail.contains("the client sent nothing"),
        "{}",
        result.detail
    );
    assert!(!run.status.success(), "{}", run.transcript());

    // Four readings: the fourth comes where the recording unlinks.
    let (run, results) = play("4", config);
    let result = verdict(&results, &run);
    assert_eq!(result.verdict, Verdict::Fail, "{}", table(&results));
    assert!(
        result.detail.contains("the client sent @command")
            && result.detail.contains("lane:add) 4")
            && result.detail.contains("expected \"@unlink"),
        "{}",
        result.detail
    );
    assert!(!run.status.success(), "{}", run.transcript());
}
