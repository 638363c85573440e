//! Criterion benches of WARP envelope decoding (header only, header and body) and encoding on
//! the corpora S, M and L, next to `swimos_messages::warp::peel_envelope_header_str`.
//!
//! `cargo bench -p warp-benches --bench envelope`. Quote ratios from the `ratios` binary, which
//! alternates implementations round by round; criterion's absolute times drift on a noisy
//! machine.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use warp_benches::corpus;
use warp_benches::{reference, warp};
use warp_proto::envelope::Envelope;

fn decode(c: &mut Criterion) {
    for corpus in corpus::all() {
        let mut g = c.benchmark_group(format!("envelope/{}", corpus.name));
        g.throughput(Throughput::Bytes(corpus.recon_bytes() as u64));
        g.bench_function("warp Envelope::decode_header", |b| {
            b.iter(|| {
                for f in &corpus.frames {
                    black_box(warp::decode_header_len(f).ok());
                }
            })
        });
        g.bench_function("warp Envelope::decode (body checked)", |b| {
            b.iter(|| {
                for f in &corpus.frames {
                    black_box(warp::decode_len(f).ok());
                }
            })
        });
        g.bench_function("warp decode_header + body -> Value", |b| {
            b.iter(|| {
                for f in &corpus.frames {
                    black_box(warp::decode_body_value(f));
                }
            })
        });
        g.bench_function("swimos peel_envelope_header_str", |b| {
            b.iter(|| {
                for f in &corpus.frames {
                    black_box(reference::swimos_peel_len(f));
                }
            })
        });
        g.bench_function("swimos peel + body -> Value", |b| {
            b.iter(|| {
                for f in &corpus.frames {
                    black_box(reference::swimos_peel_and_body(f));
                }
            })
        });
        let decoded: Vec<Envelope<'_>> = corpus
            .frames
            .iter()
            .filter_map(|f| Envelope::decode(f).ok())
            .collect();
        let mut buf = String::with_capacity(1 << 17);
        g.bench_function("warp Envelope::encode", |b| {
            b.iter(|| {
                for e in &decoded {
                    buf.clear();
                    black_box(e.encode(&mut buf).ok());
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
    targets = decode
}
criterion_main!(benches);
