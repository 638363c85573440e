//! A short run of the fan-out load client against our demo server (in this process): events
//! flow, every subscriber sees every value in order, the counting matches the server's state,
//! and a refused link makes the harness fail instead of hanging.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use warp_benches::fanout::{percentile, LoadConfig, Session};
use warp_tokio::demo::demo_server;

const SUBSCRIBERS: usize = 5;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn config(subscribers: usize) -> LoadConfig {
    LoadConfig {
        subscribers,
        window: 64,
        timeout: Duration::from_secs(10),
        ..LoadConfig::default()
    }
}

/// The value of `/unit/1` `count` as a fresh subscriber syncs it.
async fn synced_count(addr: SocketAddr) -> i64 {
    let probe = Session::open(addr, config(1)).await.expect("probe session");
    let value = probe.value();
    probe.close().await.expect("probe close");
    value
}

#[test]
fn events_flow_and_are_counted() {
    let started = Instant::now();
    runtime().block_on(async {
        let server = demo_server("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr().expect("address");
        let handle = server.spawn();

        let mut session = Session::open(addr, config(SUBSCRIBERS))
            .await
            .expect("open");
        assert_eq!(session.value(), 0, "a fresh server's count is 0");

        let (sat, before, after) = session
            .saturate(
                Duration::from_millis(50),
                Duration::from_millis(300),
                Instant::now,
            )
            .await
            .expect("saturation phase");
        assert!(after > before, "the probe runs at both ends of the window");
        assert!(sat.commands > 0, "commands were written: {sat:?}");
        assert!(sat.counts.events > 0, "events were delivered: {sat:?}");
        assert!(sat.events_per_sec() > 0.0);
        assert_eq!(sat.counts.missing, 0, "our server never coalesces: {sat:?}");
        assert_eq!(sat.counts.regressions, 0, "{sat:?}");
        // Without coalescing every delivered event is a new value for its subscriber.
        assert_eq!(sat.counts.events, sat.counts.distinct, "{sat:?}");
        let total = i64::try_from(sat.total_commands).expect("small");
        assert_eq!(sat.final_value, total);
        assert_eq!(session.value(), total);
        assert_eq!(
            session.last_values(),
            vec![total; SUBSCRIBERS],
            "every subscriber saw the final count"
        );

        let before = session.counts();
        let fixed = session
            .fixed_rate(400.0, Duration::from_millis(50), Duration::from_millis(250))
            .await
            .expect("fixed-rate phase");
        assert_eq!(fixed.commands, 120, "0.3 s at 400 commands/s");
        assert_eq!(fixed.measured_commands, 100, "after 0.05 s of warm-up");
        let n = SUBSCRIBERS as u64;
        assert_eq!(fixed.counts.events, fixed.commands * n, "{fixed:?}");
        assert_eq!(fixed.counts.missing, 0);
        assert_eq!(fixed.anomalies, 0);
        assert_eq!(
            fixed.latencies_ns.len() as u64,
            fixed.measured_commands * n,
            "one latency per measured event"
        );
        assert!(
            fixed.latencies_ns.windows(2).all(|w| w[0] <= w[1]),
            "sorted"
        );
        let p50 = percentile(&fixed.latencies_ns, 50.0).expect("samples");
        assert!(p50 > 0 && p50 < 5_000_000_000, "p50 {p50} ns");
        assert_eq!(session.counts().since(&before), fixed.counts);
        let end = total + i64::try_from(fixed.commands).expect("small");
        assert_eq!(fixed.final_value, end);
        assert_eq!(session.last_values(), vec![end; SUBSCRIBERS]);
        session.close().await.expect("close");

        // The server's own state, read by a new subscriber, is what the client counted.
        assert_eq!(synced_count(addr).await, end);
        handle.shutdown().await;
    });
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_refused_link_fails_the_run() {
    runtime().block_on(async {
        let server = demo_server("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr().expect("address");
        let handle = server.spawn();
        let config = LoadConfig {
            lane: "no_such_lane".to_string(),
            ..config(2)
        };
        let started = Instant::now();
        let e = Session::open(addr, config).await.expect_err("must fail");
        assert!(started.elapsed() < Duration::from_secs(10), "failed fast");
        assert!(e.0.contains("link refused"), "{e}");
        assert!(e.0.contains("no_such_lane"), "{e}");
        handle.shutdown().await;
    });
}

#[test]
fn percentiles_use_the_nearest_rank() {
    let samples: Vec<u64> = (1..=100).collect();
    assert_eq!(percentile(&samples, 50.0), Some(50));
    assert_eq!(percentile(&samples, 99.0), Some(99));
    assert_eq!(percentile(&samples, 100.0), Some(100));
    assert_eq!(percentile(&samples, 0.0), Some(1));
    assert_eq!(percentile(&[], 50.0), None);
}
