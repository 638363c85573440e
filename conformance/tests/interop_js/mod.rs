//! The `@swim/client` interop scenarios against OUR server, shared by the drivers' tests
//! (`interop_js_tokio.rs`, `interop_js_smol.rs`): the official JavaScript client
//! (`@swim/client` 4.0.0, driven by `conformance/js/client-scenarios.mjs`) against a driver's
//! demo server, which hosts the same agents as the SwimOS peer server of `peers_js.rs`.
//!
//! Every scenario runs twice, each time against a fresh server:
//! - **direct**: the client connects to our server as it is, offering no WebSocket subprotocol
//!   (our server accepts that, where SwimOS insists on `warp0`); what the client reported to
//!   the application is checked;
//! - **proxied**: through `conformance/js/warp0-proxy.mjs`, which offers `warp0` upstream and
//!   logs every frame, so what went over the wire is checked too, as envelopes.
//!
//! The expected observations and frames are those of the SwimOS run in `peers_js.rs`; where
//! SwimOS leaves an order open (map-sync) the same latitude is kept.
//!
//! Without `node` on the PATH each test says so on stderr and passes without checking.
//! `npm ci` installs the packages when `conformance/js/node_modules` lacks them.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use conformance::json::{parse_json, Json};
use conformance::peers::{node_available, split_log, JsPeer, OwnedEnvelope, Warp0Proxy};

/// The time limit of one scenario run (the script bounds itself at 15 s).
const RUN_LIMIT: Duration = Duration::from_secs(30);
/// How long our server may take to shut down.
pub const STOP_LIMIT: Duration = Duration::from_secs(15);

/// Decodes `frame` as an envelope; panics with the reason if it is not one.
fn env(frame: &str) -> OwnedEnvelope {
    OwnedEnvelope::decode(frame).unwrap_or_else(|e| panic!("not an envelope: {e}"))
}

fn json(text: &str) -> Json {
    parse_json(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn observations(lines: &[&str]) -> Vec<Json> {
    lines.iter().map(|l| json(l)).collect()
}

fn envs(frames: &[&str]) -> Vec<OwnedEnvelope> {
    frames.iter().map(|f| env(f)).collect()
}

/// One driver's demo server on a free loopback port; shut down (1001) and waited for (at most
/// [`STOP_LIMIT`]) when dropped.
pub trait OurServer: Sized {
    /// The driver's name, for messages.
    const DRIVER: &'static str;
    /// Starts the demo server.
    fn start() -> Self;
    /// Where it listens.
    fn addr(&self) -> SocketAddr;
}

/// What one scenario run produced.
struct Outcome {
    /// The downlink callbacks the client reported, in order (lines with `dl` and `cb`).
    observed: Vec<Json>,
    /// Proxied runs: the text frames the client sent and the server sent, in order.
    wire: Option<(Vec<OwnedEnvelope>, Vec<OwnedEnvelope>)>,
}

/// Runs the script's `scenario` against `host`; checks it ended well and returns the
/// downlink observations.
fn run_script(scenario: &str, host: &str) -> Vec<Json> {
    let run = JsPeer::run("client-scenarios.mjs", &[host, scenario], RUN_LIMIT)
        .unwrap_or_else(|e| panic!("running {scenario}: {e}"));
    let transcript = run.lines.join("\n");
    assert!(
        run.status.success(),
        "{scenario} failed ({}):\n{transcript}\nstderr:\n{}",
        run.status,
        run.stderr
    );
    let lines: Vec<Json> = run.lines.iter().map(|l| json(l)).collect();
    assert_eq!(
        lines.last(),
        Some(&json(r#"{"done":true}"#)),
        "{scenario}: last line\n{transcript}"
    );
    lines
        .into_iter()
        .filter(|o| o.get("dl").is_some() && o.get("cb").is_some())
        .collect()
}

/// Runs `scenario` directly and through the proxy, each against a fresh server; `None` (after
/// saying so) when `node` is missing.
fn run<S: OurServer>(scenario: &str) -> Option<[Outcome; 2]> {
    if !node_available() {
        eprintln!(
            "SKIPPED interop_js_{} {scenario}: `node` is not on the PATH; nothing was checked",
            S::DRIVER
        );
        return None;
    }
    let direct = {
        let server = S::start();
        let observed = run_script(scenario, &format!("warp://{}", server.addr()));
        Outcome {
            observed,
            wire: None,
        }
    };
    let proxied = {
        let server = S::start();
        let mut proxy =
            Warp0Proxy::start(server.addr()).unwrap_or_else(|e| panic!("starting the proxy: {e}"));
        let observed = run_script(scenario, &proxy.host_uri());
        let log = proxy
            .take_log(Duration::from_millis(200), Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("reading the proxy log: {e}"));
        let (sent, received) = split_log(&log).unwrap_or_else(|e| panic!("{scenario}: {e}"));
        let sent: Vec<_> = sent.iter().map(|t| env(t)).collect();
        let received: Vec<_> = received.iter().map(|t| env(t)).collect();
        Outcome {
            observed,
            wire: Some((sent, received)),
        }
    };
    Some([direct, proxied])
}

pub fn value_sync_reports_link_initial_value_sync_and_commanded_value<S: OurServer>() {
    let Some(outcomes) = run::<S>("value-sync") else {
        return;
    };
    for out in outcomes {
        assert_eq!(
            out.observed,
            observations(&[
                r#"{"dl":"info","cb":"didLink"}"#,
                r#"{"dl":"info","cb":"didSet","value":""}"#,
                r#"{"dl":"info","cb":"didSync"}"#,
                r#"{"dl":"info","cb":"didSet","value":"hello"}"#,
                r#"{"dl":"info","cb":"didClose"}"#,
            ])
        );
        let Some((sent, received)) = out.wire else {
            continue;
        };
        assert_eq!(
            sent,
            envs(&[
                r#"@sync(node:"/unit/1",lane:info)"#,
                r#"@command(node:"/unit/1",lane:set_info)"hello""#,
                r#"@unlink(node:"/unit/1",lane:info)"#,
            ])
        );
        assert_eq!(
            received,
            envs(&[
                r#"@linked(node:"/unit/1",lane:info)"#,
                r#"@event(node:"/unit/1",lane:info)"""#,
                r#"@synced(node:"/unit/1",lane:info)"#,
                r#"@event(node:"/unit/1",lane:info)"hello""#,
                r#"@unlinked(node:"/unit/1",lane:info)"Link closed.""#,
            ])
        );
    }
}

pub fn map_sync_reports_each_entry_once_and_the_removal<S: OurServer>() {
    let Some(outcomes) = run::<S>("map-sync") else {
        return;
    };
    for out in outcomes {
        let o = &out.observed;
        assert_eq!(o.first(), Some(&json(r#"{"dl":"history","cb":"didLink"}"#)));
        assert_eq!(o.last(), Some(&json(r#"{"dl":"history","cb":"didClose"}"#)));
        // As against SwimOS: each entry exactly once, before or after didSync, the removal
        // after both.
        let position = |line: &str| {
            let want = json(line);
            let at: Vec<usize> = (0..o.len()).filter(|&i| o.get(i) == Some(&want)).collect();
            assert_eq!(at.len(), 1, "{line} once in {o:?}");
            at.first().copied().unwrap_or_default()
        };
        position(r#"{"dl":"history","cb":"didSync"}"#);
        let five = position(r#"{"dl":"history","cb":"didUpdate","key":5,"value":5}"#);
        let eight = position(r#"{"dl":"history","cb":"didUpdate","key":8,"value":3}"#);
        let removed = position(r#"{"dl":"history","cb":"didRemove","key":5}"#);
        assert!(five < removed && eight < removed, "{o:?}");
        assert_eq!(o.len(), 6, "nothing else reported: {o:?}");
        let Some((sent, received)) = out.wire else {
            continue;
        };
        assert_eq!(
            sent,
            envs(&[
                r#"@sync(node:"/unit/1",lane:history)"#,
                r#"@command(node:"/unit/1",lane:add) 5"#,
                r#"@command(node:"/unit/1",lane:add) 3"#,
                r#"@command(node:"/unit/1",lane:remove) 5"#,
                r#"@unlink(node:"/unit/1",lane:history)"#,
            ])
        );
        assert_eq!(
            received.first(),
            Some(&env(r#"@linked(node:"/unit/1",lane:history)"#))
        );
        assert_eq!(
            received.last(),
            Some(&env(
                r#"@unlinked(node:"/unit/1",lane:history)"Link closed.""#
            ))
        );
    }
}

pub fn count_reports_zero_then_the_sum<S: OurServer>() {
    let Some(outcomes) = run::<S>("count") else {
        return;
    };
    for out in outcomes {
        assert_eq!(
            out.observed,
            observations(&[
                r#"{"dl":"count","cb":"didLink"}"#,
                r#"{"dl":"count","cb":"didSet","value":0}"#,
                r#"{"dl":"count","cb":"didSync"}"#,
                r#"{"dl":"count","cb":"didSet","value":2}"#,
                r#"{"dl":"count","cb":"didClose"}"#,
            ])
        );
        let Some((sent, _)) = out.wire else {
            continue;
        };
        assert_eq!(
            sent,
            envs(&[
                r#"@sync(node:"/unit/1",lane:count)"#,
                r#"@command(node:"/unit/1",lane:add) 2"#,
                r#"@unlink(node:"/unit/1",lane:count)"#,
            ])
        );
    }
}

pub fn two_downlinks_share_one_link_and_both_see_events<S: OurServer>() {
    let Some(outcomes) = run::<S>("two-downlinks") else {
        return;
    };
    for out in outcomes {
        assert_eq!(
            out.observed,
            observations(&[
                r#"{"dl":"a","cb":"didLink"}"#,
                r#"{"dl":"a","cb":"didSet","value":""}"#,
                r#"{"dl":"a","cb":"didSync"}"#,
                r#"{"dl":"b","cb":"didLink"}"#,
                r#"{"dl":"b","cb":"didSet","value":""}"#,
                r#"{"dl":"b","cb":"didSync"}"#,
                r#"{"dl":"a","cb":"didSet","value":"one"}"#,
                r#"{"dl":"b","cb":"didSet","value":"one"}"#,
                r#"{"dl":"a","cb":"didClose"}"#,
                r#"{"dl":"b","cb":"didSet","value":"two"}"#,
                r#"{"dl":"b","cb":"didClose"}"#,
            ])
        );
        let Some((sent, _)) = out.wire else {
            continue;
        };
        assert_eq!(
            sent,
            envs(&[
                r#"@sync(node:"/unit/1",lane:info)"#,
                r#"@command(node:"/unit/1",lane:set_info)"one""#,
                r#"@command(node:"/unit/1",lane:set_info)"two""#,
                r#"@unlink(node:"/unit/1",lane:info)"#,
            ])
        );
    }
}

pub fn unlink_sends_unlink_and_the_view_reports_only_close<S: OurServer>() {
    let Some(outcomes) = run::<S>("unlink") else {
        return;
    };
    for out in outcomes {
        assert_eq!(
            out.observed,
            observations(&[
                r#"{"dl":"info","cb":"didLink"}"#,
                r#"{"dl":"info","cb":"didClose"}"#,
            ])
        );
        let Some((sent, received)) = out.wire else {
            continue;
        };
        assert_eq!(
            sent,
            envs(&[
                r#"@link(node:"/unit/1",lane:info)"#,
                r#"@unlink(node:"/unit/1",lane:info)"#,
            ])
        );
        assert_eq!(
            received,
            envs(&[
                r#"@linked(node:"/unit/1",lane:info)"#,
                r#"@unlinked(node:"/unit/1",lane:info)"Link closed.""#,
            ])
        );
    }
}

pub fn node_not_found_reports_one_unlink_and_no_retry<S: OurServer>() {
    not_found::<S>(
        "node-not-found",
        r#"@sync(node:"/nowhere/1",lane:info)"#,
        r#"@unlinked(node:"/nowhere/1",lane:info)@nodeNotFound"#,
    );
}

pub fn lane_not_found_reports_one_unlink_and_no_retry<S: OurServer>() {
    not_found::<S>(
        "lane-not-found",
        r#"@sync(node:"/unit/1",lane:nolane)"#,
        r#"@unlinked(node:"/unit/1",lane:nolane)@laneNotFound"#,
    );
}

/// A not-found scenario: the client reports one unlink and closes, sending `sync` once (no
/// retry) and receiving one `unlinked` with the reason.
fn not_found<S: OurServer>(scenario: &str, sync: &str, unlinked: &str) {
    let Some(outcomes) = run::<S>(scenario) else {
        return;
    };
    for out in outcomes {
        assert_eq!(
            out.observed,
            observations(&[
                r#"{"dl":"missing","cb":"didUnlink"}"#,
                r#"{"dl":"missing","cb":"didClose"}"#,
            ])
        );
        let Some((sent, received)) = out.wire else {
            continue;
        };
        assert_eq!(sent, envs(&[sync]));
        assert_eq!(received, envs(&[unlinked]));
    }
}

/// Every scenario as a `#[test]` of the calling test file, run against `$server`.
#[macro_export]
macro_rules! interop_js_scenarios {
    ($server:ty) => {
        #[test]
        fn value_sync_reports_link_initial_value_sync_and_commanded_value() {
            interop_js::value_sync_reports_link_initial_value_sync_and_commanded_value::<$server>();
        }
        #[test]
        fn map_sync_reports_each_entry_once_and_the_removal() {
            interop_js::map_sync_reports_each_entry_once_and_the_removal::<$server>();
        }
        #[test]
        fn count_reports_zero_then_the_sum() {
            interop_js::count_reports_zero_then_the_sum::<$server>();
        }
        #[test]
        fn two_downlinks_share_one_link_and_both_see_events() {
            interop_js::two_downlinks_share_one_link_and_both_see_events::<$server>();
        }
        #[test]
        fn unlink_sends_unlink_and_the_view_reports_only_close() {
            interop_js::unlink_sends_unlink_and_the_view_reports_only_close::<$server>();
        }
        #[test]
        fn node_not_found_reports_one_unlink_and_no_retry() {
            interop_js::node_not_found_reports_one_unlink_and_no_retry::<$server>();
        }
        #[test]
        fn lane_not_found_reports_one_unlink_and_no_retry() {
            interop_js::lane_not_found_reports_one_unlink_and_no_retry::<$server>();
        }
    };
}
