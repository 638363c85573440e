//! Criterion benches of Recon parsing and printing on the corpora S, M and L, next to
//! `swimos_recon` and `serde_json` (on the JSON rendering of the same content).
//!
//! `cargo bench -p warp-benches --bench recon`. Criterion's absolute times drift by tens of
//! percent on a noisy machine; quote ratios from the `ratios` binary instead.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use warp_benches::corpus;
use warp_benches::{reference, warp};

fn parse(c: &mut Criterion) {
    for corpus in corpus::all() {
        let mut g = c.benchmark_group(format!("parse/{}", corpus.name));
        g.throughput(Throughput::Bytes(corpus.recon_bytes() as u64));
        g.bench_function("warp Reader (pull)", |b| {
            b.iter(|| {
                for f in &corpus.frames {
                    black_box(warp::drain_events(f).ok());
                }
            })
        });
        g.bench_function("warp Value::parse", |b| {
            b.iter(|| {
                for f in &corpus.frames {
                    black_box(warp::parse_value(f).ok());
                }
            })
        });
        g.bench_function("swimos_recon -> Value", |b| {
            b.iter(|| {
                for f in &corpus.frames {
                    black_box(reference::swimos_parse(f).ok());
                }
            })
        });
        g.throughput(Throughput::Bytes(corpus.json_bytes() as u64));
        g.bench_function("serde_json -> Value", |b| {
            b.iter(|| {
                for f in &corpus.json {
                    black_box(reference::json_parse_value(f).ok());
                }
            })
        });
        g.bench_function("serde_json -> IgnoredAny", |b| {
            b.iter(|| {
                for f in &corpus.json {
                    black_box(reference::json_parse_ignored(f).ok());
                }
            })
        });
        g.finish();
    }
}

fn write(c: &mut Criterion) {
    for corpus in corpus::all() {
        let ours: Vec<_> = corpus
            .frames
            .iter()
            .filter_map(|f| warp::parse_value(f).ok())
            .collect();
        let theirs: Vec<_> = corpus
            .frames
            .iter()
            .filter_map(|f| reference::swimos_parse(f).ok())
            .collect();
        let json: Vec<_> = corpus
            .json
            .iter()
            .filter_map(|f| reference::json_parse_value(f).ok())
            .collect();
        let mut g = c.benchmark_group(format!("write/{}", corpus.name));
        g.throughput(Throughput::Bytes(corpus.recon_bytes() as u64));
        let mut buf = String::with_capacity(1 << 17);
        g.bench_function("warp write", |b| {
            b.iter(|| {
                for v in &ours {
                    buf.clear();
                    warp::write_value(v, &mut buf);
                    black_box(&buf);
                }
            })
        });
        g.bench_function("swimos print_recon_compact", |b| {
            b.iter(|| {
                for v in &theirs {
                    buf.clear();
                    reference::swimos_print(v, &mut buf);
                    black_box(&buf);
                }
            })
        });
        g.throughput(Throughput::Bytes(corpus.json_bytes() as u64));
        let mut bytes = Vec::with_capacity(1 << 17);
        g.bench_function("serde_json to_writer(Value)", |b| {
            b.iter(|| {
                for v in &json {
                    bytes.clear();
                    black_box(reference::json_write(v, &mut bytes).ok());
                }
            })
        });
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse, write
}
criterion_main!(benches);
