//! The replayer against every driver: each trace of `conformance/traces/` (and of
//! `traces/swimos_quirks/`) against `core`, `tokio` and `smol`; altered traces that must fail;
//! the recorder's round trip (record against our tokio server, replay on smol); and the
//! recordings replayed as recorded against the real SwimOS server they came from.
//!
//! A trace a driver cannot replay as recorded must be marked `profile_differs` and covered by
//! `conformance::trace::PROFILE_RULES`; a marked trace without a rule is reported SKIP, which
//! these tests count as a failure for the bundled traces.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use conformance::peers::SwimosServer;
use conformance::suite::report::{table, CaseResult, Verdict};
use conformance::suite::ws::{deadline_after, Incoming, WsPeer, WsUrl, WARP0};
use conformance::trace::cli::load_traces;
use conformance::trace::record::{record, RecordConfig};
use conformance::trace::replay::{replay_all, replay_trace, Target};
use conformance::trace::{plan, Expect, Limits, Payload, Plan, Trace};

fn trace_dirs() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces");
    vec![dir.clone(), dir.join("swimos_quirks")]
}

fn all_traces() -> Vec<Trace> {
    let traces = load_traces(&trace_dirs()).expect("the traces load");
    assert!(traces.len() >= 17, "traces missing: {}", traces.len());
    traces
}

fn trace(name: &str) -> Trace {
    all_traces()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("trace {name}"))
}

/// Every result must pass; failures and skips are listed with their reasons.
fn assert_all_pass(target: &str, results: &[CaseResult]) {
    let bad: Vec<String> = results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| format!("{}: {} {}", r.name, r.verdict.label(), r.detail))
        .collect();
    assert!(
        bad.is_empty(),
        "{target}: {} of {} traces did not pass:\n{}\n{}",
        bad.len(),
        results.len(),
        bad.join("\n"),
        table(results)
    );
}

fn replay_every_trace(target: Target) {
    let traces = all_traces();
    let results = replay_all(&target, &traces, Expect::Profile, Limits::default(), |_| {});
    assert_eq!(results.len(), traces.len());
    assert_all_pass(&target.to_string(), &results);
}

#[test]
fn every_trace_replays_against_core() {
    replay_every_trace(Target::Core);
}

#[test]
fn every_trace_replays_against_tokio() {
    replay_every_trace(Target::Tokio);
}

#[test]
fn every_trace_replays_against_smol() {
    replay_every_trace(Target::Smol);
}

fn altered(name: &str, change: impl Fn(&mut Trace)) -> Trace {
    let mut t = trace(name);
    change(&mut t);
    t
}

#[test]
fn an_altered_trace_fails_on_every_driver() {
    // A wrong value: count is 12 after adding 5 and 7, not 13.
    let wrong = altered("value_sync", |t| {
        for f in &mut t.frames {
            if let Payload::Text(text) = &mut f.payload {
                *text = text.replace(") 12", ") 13");
            }
        }
    });
    // A missing answer: without the recorded @update of the last add, the server's one is
    // extra. (Not the @remove: the unlink right after it may overtake that event in the
    // async drivers, which then never send it.)
    let missing = altered("map_sync", |t| {
        t.frames
            .retain(|f| !matches!(&f.payload, Payload::Text(x) if x.contains("@update(key:10)")));
    });
    // A reordered link: @synced recorded before the event.
    let reordered = altered("prio_rate", |t| {
        let event = t
            .frames
            .iter()
            .position(|f| matches!(&f.payload, Payload::Text(x) if x.starts_with("@event")))
            .expect("an event");
        t.frames.swap(event, event + 1);
    });
    for target in [Target::Core, Target::Tokio, Target::Smol] {
        let limits = Limits {
            timeout: Duration::from_secs(2),
            ..Limits::default()
        };
        let r = replay_trace(&target, &wrong, Expect::Profile, limits);
        assert_eq!(r.verdict, Verdict::Fail, "{target}: {}", r.detail);
        assert!(
            r.detail
                .contains("got @event(node:\"/unit/2\",lane:count) 12")
                && r.detail.contains("13"),
            "{target}: {}",
            r.detail
        );
        let r = replay_trace(&target, &missing, Expect::Profile, limits);
        assert_eq!(r.verdict, Verdict::Fail, "{target}: {}", r.detail);
        assert!(
            r.detail
                .contains("got @event(node:\"/unit/3\",lane:history)@update(key:10) 4"),
            "{target}: {}",
            r.detail
        );
        let r = replay_trace(&target, &reordered, Expect::Profile, limits);
        assert_eq!(r.verdict, Verdict::Fail, "{target}: {}", r.detail);
    }
}

#[test]
fn map_sync_entries_are_unordered_only_where_the_trace_says_so() {
    // map_remove's recording lists the entries 8, 2, 7; our agents send them in key order.
    let strict = altered("map_remove", |t| t.order = "per-link".into());
    let r = replay_trace(&Target::Core, &strict, Expect::Profile, Limits::default());
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.detail);
    let r = replay_trace(
        &Target::Core,
        &trace("map_remove"),
        Expect::Profile,
        Limits::default(),
    );
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.detail);
}

#[test]
fn a_profile_differs_trace_without_a_rule_is_skipped_with_the_reason() {
    let t = Trace::parse(
        "new_quirk.jsonl",
        r#"{"trace":"new_quirk","profile_differs":"something"}
{"t_ms":1,"dir":"c2s","text":"@sync(node:\"/unit/1\",lane:info)"}
"#,
    )
    .unwrap();
    let r = replay_trace(&Target::Core, &t, Expect::Profile, Limits::default());
    assert_eq!(r.verdict, Verdict::Skip);
    assert!(r.detail.contains("PROFILE_RULES"), "{}", r.detail);
    // As recorded, it is replayed (and fails here: the sync's answer is not in the trace).
    let r = replay_trace(&Target::Core, &t, Expect::Recorded, Limits::default());
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.detail);
    assert!(r.detail.contains("unexpected @linked"), "{}", r.detail);
    // An unknown allowance is an error, never ignored.
    let bad = Trace::parse("b", r#"{"trace":"b","order":"per-link; any order"}"#).unwrap();
    assert!(plan(&bad, Expect::Profile).is_err());
    assert!(matches!(
        plan(&trace("value_sync"), Expect::Profile),
        Ok(Plan::Replay(_))
    ));
}

/// Reads from `peer` until `count` frames (text or close) came; panics after 5 s.
fn expect_frames(peer: &mut WsPeer, count: usize) -> Vec<Incoming> {
    let deadline = deadline_after(Duration::from_secs(5));
    let mut got = Vec::new();
    while got.len() < count {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match peer.recv(left) {
            i @ (Incoming::Text(_) | Incoming::Close(_)) => got.push(i),
            Incoming::Ping(_) | Incoming::Pong(_) => {}
            other => panic!("after {got:?}: {other:?}"),
        }
    }
    got
}

#[test]
fn recorder_round_trip_tokio_recording_replays_on_smol() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(warp_tokio::demo::demo_server("127.0.0.1:0"))
        .unwrap();
    let upstream = WsUrl::parse(&format!("ws://{}/", server.local_addr().unwrap())).unwrap();
    let handle = {
        let _entered = rt.enter();
        server.spawn()
    };

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = WsUrl::parse(&format!("ws://{}/", listener.local_addr().unwrap())).unwrap();
    let mut config = RecordConfig::new(upstream, "round_trip");
    config.wait = Duration::from_secs(10);
    let recorder = std::thread::spawn(move || record(listener, &config));

    let (mut peer, _) = WsPeer::connect(&proxy, Some(WARP0), Duration::from_secs(5)).unwrap();
    peer.send_text("@command(node:\"/unit/5\",lane:add) 4")
        .unwrap();
    peer.send_text("@sync(node:\"/unit/5\",lane:count)")
        .unwrap();
    let sync = expect_frames(&mut peer, 3);
    assert_eq!(
        sync[1],
        Incoming::Text("@event(node:\"/unit/5\",lane:count) 4".into())
    );
    peer.send_text("@command(node:\"/unit/5\",lane:add) 3")
        .unwrap();
    expect_frames(&mut peer, 1);
    peer.send_text("@unlink(node:\"/unit/5\",lane:count)")
        .unwrap();
    expect_frames(&mut peer, 1);
    peer.send_close(1000).unwrap();
    assert_eq!(expect_frames(&mut peer, 1), [Incoming::Close(Some(1000))]);
    drop(peer);

    let traces = recorder.join().unwrap().unwrap();
    rt.block_on(handle.shutdown());
    let [recorded] = traces.as_slice() else {
        panic!("{traces:?}")
    };
    assert_eq!(recorded.error, None);

    let dir = std::env::temp_dir().join(format!("warp-replay-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("round_trip.jsonl");
    recorded.write(&path).unwrap();
    let trace = Trace::read(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let dirs: Vec<&str> = trace.frames.iter().map(|f| f.dir.name()).collect();
    assert_eq!(
        dirs,
        ["c2s", "c2s", "s2c", "s2c", "s2c", "c2s", "s2c", "c2s", "s2c", "c2s", "s2c"],
        "{trace:?}"
    );
    assert_eq!(trace.frames.last().unwrap().payload, Payload::Close(1000));

    let r = replay_trace(&Target::Smol, &trace, Expect::Profile, Limits::default());
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.detail);
    // And the replay can tell: the recorded count changed, it fails.
    let mut wrong = trace.clone();
    for f in &mut wrong.frames {
        if let Payload::Text(t) = &mut f.payload {
            *t = t.replace("lane:count) 7", "lane:count) 8");
        }
    }
    let r = replay_trace(&Target::Smol, &wrong, Expect::Profile, Limits::default());
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.detail);
}

#[test]
fn the_recordings_replay_as_recorded_against_swimos() {
    let server = SwimosServer::start().expect("the SwimOS peer server");
    let url = WsUrl::parse(&server.ws_url()).unwrap();
    let limits = Limits {
        pace: Duration::from_millis(100),
        ..Limits::default()
    };
    let results = replay_all(
        &Target::Url(url),
        &all_traces(),
        Expect::Recorded,
        limits,
        |_| {},
    );
    assert_all_pass("swimos (as recorded)", &results);
    // Under PROFILE.md's expectations SwimOS fails exactly the traces marked profile_differs.
    let server = SwimosServer::start().expect("a fresh SwimOS peer server");
    let url = WsUrl::parse(&server.ws_url()).unwrap();
    let traces = all_traces();
    let results = replay_all(&Target::Url(url), &traces, Expect::Profile, limits, |_| {});
    for (t, r) in traces.iter().zip(&results) {
        let want = if t.profile_differs.is_some() {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        assert_eq!(r.verdict, want, "{}: {}", t.name, r.detail);
    }
}
