//! The sensor against the real SwimOS server (`conformance::peers::SwimosServer`, which
//! requires the `warp0` subprotocol the endpoint offers): it syncs, publishes, sees its
//! readings land on `count`, unlinks and closes cleanly.
//!
//! The first test to run builds the SwimOS peer (minutes from clean, then cached in
//! `target/peers`) and the program (`target/nostd-demo`).

mod common;

use common::{check_script, run_program};
use conformance::peers::SwimosServer;

fn start() -> SwimosServer {
    SwimosServer::start().unwrap_or_else(|e| panic!("starting the SwimOS peer: {e}"))
}

#[test]
fn readings_land_on_count_and_the_sensor_closes_cleanly() {
    let server = start();
    let port = server.addr().port().to_string();
    let run = run_program(&["127.0.0.1", &port, "/unit/7", "5"]);
    let initial = check_script(&run, "/unit/7", 5);
    assert_eq!(initial, 0, "a fresh server starts counting at 0");
    assert!(
        run.stdout.contains("event /unit/7 info \"\"\n"),
        "the synced info of a fresh unit is the empty text:\n{}",
        run.transcript()
    );
}

#[test]
fn a_second_sensor_starts_from_the_count_the_first_left() {
    let server = start();
    let port = server.addr().port().to_string();
    let first = run_program(&["localhost", &port, "/unit/8", "4"]);
    assert_eq!(check_script(&first, "/unit/8", 4), 0);
    let second = run_program(&["localhost", &port, "/unit/8", "3"]);
    assert_eq!(check_script(&second, "/unit/8", 3), 10);
    // Another node's count is untouched.
    let other = run_program(&["localhost", &port, "/unit/9", "1"]);
    assert_eq!(check_script(&other, "/unit/9", 1), 0);
}
