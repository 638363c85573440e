//! The official JavaScript client (`@swim/client` 4.0.0, driven by
//! `conformance/js/client-scenarios.mjs`) against the real SwimOS 0.1.1 server, through
//! `conformance/js/warp0-proxy.mjs` (the client offers no WebSocket subprotocol and SwimOS
//! insists on `warp0`).
//!
//! Each test runs one scenario and checks two things: what the client reported to the
//! application (the script's JSON observation lines), and what went over the wire (the proxy's
//! frame log, decoded with `warp_proto::envelope` and compared as envelopes). These are the
//! scenarios the interop tests will later run against our own server.
//!
//! Without `node` on the PATH each test says so on stderr and passes without checking.
//! `npm ci` installs the packages when `conformance/js/node_modules` lacks them.

use std::time::Duration;

use conformance::json::{parse_json, Json};
use conformance::peers::{
    node_available, split_log, JsPeer, OwnedEnvelope, SwimosServer, Warp0Proxy,
};

/// The time limit of one scenario run (the script bounds itself at 15 s).
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// Decodes `frame` as an envelope; panics with the reason if it is not one.
fn env(frame: &str) -> OwnedEnvelope {
    OwnedEnvelope::decode(frame).unwrap_or_else(|e| panic!("not an envelope: {e}"))
}

fn json(text: &str) -> Json {
    parse_json(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// What one scenario run produced.
struct Outcome {
    /// The downlink callbacks the client reported, in order (lines with `dl` and `cb`).
    observed: Vec<Json>,
    /// Text frames the client sent, in order.
    sent: Vec<OwnedEnvelope>,
    /// Text frames the server sent, in order.
    received: Vec<OwnedEnvelope>,
}

/// Runs `scenario` against a fresh SwimOS server through the proxy; `None` (after saying so)
/// when `node` is missing.
fn run(scenario: &str) -> Option<Outcome> {
    if !node_available() {
        eprintln!("SKIPPED peers_js {scenario}: `node` is not on the PATH; nothing was checked");
        return None;
    }
    let server = SwimosServer::start().unwrap_or_else(|e| panic!("starting SwimOS: {e}"));
    let mut proxy =
        Warp0Proxy::start(server.addr()).unwrap_or_else(|e| panic!("starting the proxy: {e}"));
    let host = proxy.host_uri();
    let run = JsPeer::run("client-scenarios.mjs", &[&host, scenario], RUN_LIMIT)
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
    let observed = lines
        .into_iter()
        .filter(|o| o.get("dl").is_some() && o.get("cb").is_some())
        .collect();

    let log = proxy
        .take_log(Duration::from_millis(200), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("reading the proxy log: {e}"));
    let (sent, received) = split_log(&log).unwrap_or_else(|e| panic!("{scenario}: {e}"));
    let sent: Vec<_> = sent.iter().map(|t| env(t)).collect();
    let received: Vec<_> = received.iter().map(|t| env(t)).collect();
    drop(proxy);
    drop(server);
    Some(Outcome {
        observed,
        sent,
        received,
    })
}

/// Parses each expected observation line.
fn observations(lines: &[&str]) -> Vec<Json> {
    lines.iter().map(|l| json(l)).collect()
}

fn envs(frames: &[&str]) -> Vec<OwnedEnvelope> {
    frames.iter().map(|f| env(f)).collect()
}

#[test]
fn value_sync_reports_link_initial_value_sync_and_commanded_value() {
    let Some(out) = run("value-sync") else { return };
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
    assert_eq!(
        out.sent,
        envs(&[
            r#"@sync(node:"/unit/1",lane:info)"#,
            r#"@command(node:"/unit/1",lane:set_info)"hello""#,
            r#"@unlink(node:"/unit/1",lane:info)"#,
        ])
    );
    assert_eq!(
        out.received,
        envs(&[
            r#"@linked(node:"/unit/1",lane:info)"#,
            r#"@event(node:"/unit/1",lane:info)"""#,
            r#"@synced(node:"/unit/1",lane:info)"#,
            r#"@event(node:"/unit/1",lane:info)"hello""#,
            r#"@unlinked(node:"/unit/1",lane:info)"Link closed.""#,
        ])
    );
}

#[test]
fn map_sync_reports_each_entry_once_and_the_removal() {
    let Some(out) = run("map-sync") else { return };
    let o = &out.observed;
    assert_eq!(o.first(), Some(&json(r#"{"dl":"history","cb":"didLink"}"#)));
    assert_eq!(o.last(), Some(&json(r#"{"dl":"history","cb":"didClose"}"#)));
    // SwimOS may run the second add before or after answering the sync, so the entries come
    // before or after didSync; each exactly once, and the removal after both.
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
    // The client sends the sync of the downlink opened after the commands before them: on
    // connect it opens its downlinks first, then flushes the commands it buffered.
    assert_eq!(
        out.sent,
        envs(&[
            r#"@sync(node:"/unit/1",lane:history)"#,
            r#"@command(node:"/unit/1",lane:add) 5"#,
            r#"@command(node:"/unit/1",lane:add) 3"#,
            r#"@command(node:"/unit/1",lane:remove) 5"#,
            r#"@unlink(node:"/unit/1",lane:history)"#,
        ])
    );
    assert_eq!(
        out.received.first(),
        Some(&env(r#"@linked(node:"/unit/1",lane:history)"#))
    );
    assert_eq!(
        out.received.last(),
        Some(&env(
            r#"@unlinked(node:"/unit/1",lane:history)"Link closed.""#
        ))
    );
}

#[test]
fn count_reports_zero_then_the_sum() {
    let Some(out) = run("count") else { return };
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
    assert_eq!(
        out.sent,
        envs(&[
            r#"@sync(node:"/unit/1",lane:count)"#,
            r#"@command(node:"/unit/1",lane:add) 2"#,
            r#"@unlink(node:"/unit/1",lane:count)"#,
        ])
    );
}

#[test]
fn two_downlinks_share_one_link_and_both_see_events() {
    let Some(out) = run("two-downlinks") else {
        return;
    };
    assert_eq!(
        out.observed,
        observations(&[
            r#"{"dl":"a","cb":"didLink"}"#,
            r#"{"dl":"a","cb":"didSet","value":""}"#,
            r#"{"dl":"a","cb":"didSync"}"#,
            // The second view gets link, state and sync from the shared link, locally.
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
    // One sync and one unlink on the wire for the two views.
    assert_eq!(
        out.sent,
        envs(&[
            r#"@sync(node:"/unit/1",lane:info)"#,
            r#"@command(node:"/unit/1",lane:set_info)"one""#,
            r#"@command(node:"/unit/1",lane:set_info)"two""#,
            r#"@unlink(node:"/unit/1",lane:info)"#,
        ])
    );
}

#[test]
fn unlink_sends_unlink_and_the_view_reports_only_close() {
    let Some(out) = run("unlink") else { return };
    assert_eq!(
        out.observed,
        observations(&[
            r#"{"dl":"info","cb":"didLink"}"#,
            r#"{"dl":"info","cb":"didClose"}"#,
        ])
    );
    assert_eq!(
        out.sent,
        envs(&[
            r#"@link(node:"/unit/1",lane:info)"#,
            r#"@unlink(node:"/unit/1",lane:info)"#,
        ])
    );
    assert_eq!(
        out.received,
        envs(&[
            r#"@linked(node:"/unit/1",lane:info)"#,
            r#"@unlinked(node:"/unit/1",lane:info)"Link closed.""#,
        ])
    );
}

#[test]
fn node_not_found_reports_one_unlink_and_no_retry() {
    let Some(out) = run("node-not-found") else {
        return;
    };
    assert_eq!(
        out.observed,
        observations(&[
            r#"{"dl":"missing","cb":"didUnlink"}"#,
            r#"{"dl":"missing","cb":"didClose"}"#,
        ])
    );
    // No second sync after the refusal, and no unlink when the view closes.
    assert_eq!(out.sent, envs(&[r#"@sync(node:"/nowhere/1",lane:info)"#]));
    assert_eq!(
        out.received,
        envs(&[r#"@unlinked(node:"/nowhere/1",lane:info)@nodeNotFound"#])
    );
}

#[test]
fn lane_not_found_reports_one_unlink_and_no_retry() {
    let Some(out) = run("lane-not-found") else {
        return;
    };
    assert_eq!(
        out.observed,
        observations(&[
            r#"{"dl":"missing","cb":"didUnlink"}"#,
            r#"{"dl":"missing","cb":"didClose"}"#,
        ])
    );
    assert_eq!(out.sent, envs(&[r#"@sync(node:"/unit/1",lane:nolane)"#]));
    assert_eq!(
        out.received,
        envs(&[r#"@unlinked(node:"/unit/1",lane:nolane)@laneNotFound"#])
    );
}
