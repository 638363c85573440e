//! Same-run throughput ratios of `warp-proto` against the reference implementations.
//!
//! For every corpus and operation, K rounds; in each round every implementation is timed once
//! over the whole corpus (repeated a calibrated number of times), in an order that rotates and
//! reverses from round to round. The figure quoted for each pair is the median over rounds of
//! the per-round ratio of throughputs, which a noisy machine disturbs far less than absolute
//! times.
//!
//! ```text
//! cargo run --release -p warp-benches --bin ratios              # 15 rounds
//! cargo run --release -p warp-benches --bin ratios -- --quick   # 3 short rounds
//! ```
//!
//! Options: `--quick`, `--rounds N`, `--target-ms N` (time per measurement), `--corpus S|M|L`
//! (repeatable), `--op parse|write|envelope` (repeatable), `--only SUBSTRING` (implementations
//! whose name contains it; repeatable), `--skip-check` and `--reps N` (exactly N passes per
//! round, no warm-up: for profiling runs only).

#![forbid(unsafe_code)]

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use warp_benches::corpus::{self, Corpus};
use warp_benches::{check, reference, warp};

/// Who wrote an implementation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Theirs,
}

/// One implementation of an operation, as a pass over a whole corpus.
struct Imp<'a> {
    name: &'static str,
    side: Side,
    /// Bytes read (parsers) or written (printers) by one pass.
    bytes: usize,
    /// For our rows, the reference rows this one is compared with (`None`: all of them).
    vs: Option<&'static [&'static str]>,
    /// One pass; returns a value derived from the work so it cannot be optimised away.
    pass: Box<dyn FnMut() -> usize + 'a>,
}

/// A required ratio: `ours` must be at least `min` times as fast as `theirs`.
struct Target {
    ours: &'static str,
    theirs: &'static str,
    min: f64,
}

/// The implementations of one operation on one corpus.
struct Group<'a> {
    op: &'static str,
    corpus: &'a Corpus,
    imps: Vec<Imp<'a>>,
    targets: Vec<Target>,
}

struct Options {
    rounds: usize,
    target: Duration,
    corpora: Vec<String>,
    ops: Vec<String>,
    only: Vec<String>,
    skip_check: bool,
    reps: Option<usize>,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        rounds: 15,
        target: Duration::from_millis(40),
        corpora: Vec::new(),
        ops: Vec::new(),
        only: Vec::new(),
        skip_check: false,
        reps: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--quick" => {
                o.rounds = 3;
                o.target = Duration::from_millis(8);
            }
            "--rounds" => {
                o.rounds = value("--rounds")?
                    .parse()
                    .map_err(|e| format!("--rounds: {e}"))?
            }
            "--target-ms" => {
                let ms: u64 = value("--target-ms")?
                    .parse()
                    .map_err(|e| format!("--target-ms: {e}"))?;
                o.target = Duration::from_millis(ms);
            }
            "--corpus" => o.corpora.push(value("--corpus")?),
            "--op" => o.ops.push(value("--op")?),
            "--only" => o.only.push(value("--only")?),
            "--skip-check" => o.skip_check = true,
            "--reps" => {
                let n: usize = value("--reps")?
                    .parse()
                    .map_err(|e| format!("--reps: {e}"))?;
                o.reps = Some(n.max(1));
            }
            "-h" | "--help" => {
                return Err(
                    "usage: ratios [--quick] [--rounds N] [--target-ms N] [--corpus S|M|L]... \
                     [--op parse|write|envelope]... [--only SUBSTRING]... [--skip-check] [--reps N]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    Ok(o)
}

fn parse_group(c: &Corpus) -> Group<'_> {
    let recon = c.recon_bytes();
    let json = c.json_bytes();
    let imps = vec![
        Imp {
            name: "warp Reader (pull, all events)",
            side: Side::Ours,
            bytes: recon,
            vs: None,
            pass: Box::new(move || {
                c.frames
                    .iter()
                    .map(|f| warp::drain_events(f).unwrap_or(0))
                    .sum()
            }),
        },
        Imp {
            name: "warp Value::parse",
            side: Side::Ours,
            bytes: recon,
            vs: None,
            pass: Box::new(move || {
                c.frames
                    .iter()
                    .map(|f| warp::parse_value(f).map(|v| warp::shape(&v)).unwrap_or(0))
                    .sum()
            }),
        },
        Imp {
            name: "swimos_recon -> Value",
            side: Side::Theirs,
            bytes: recon,
            vs: None,
            pass: Box::new(move || {
                c.frames
                    .iter()
                    .map(|f| {
                        reference::swimos_parse(f)
                            .map(|v| reference::swimos_shape(&v))
                            .unwrap_or(0)
                    })
                    .sum()
            }),
        },
        Imp {
            name: "serde_json -> Value",
            side: Side::Theirs,
            bytes: json,
            vs: None,
            pass: Box::new(move || {
                c.json
                    .iter()
                    .map(|f| {
                        reference::json_parse_value(f)
                            .map(|v| usize::from(v.is_array()) + 1)
                            .unwrap_or(0)
                    })
                    .sum()
            }),
        },
        Imp {
            name: "serde_json -> IgnoredAny",
            side: Side::Theirs,
            bytes: json,
            vs: None,
            pass: Box::new(move || {
                c.json
                    .iter()
                    .map(|f| usize::from(reference::json_parse_ignored(f).is_ok()))
                    .sum()
            }),
        },
    ];
    Group {
        op: "parse",
        corpus: c,
        imps,
        targets: vec![
            Target {
                ours: "warp Value::parse",
                theirs: "serde_json -> Value",
                min: 1.0,
            },
            Target {
                ours: "warp Reader (pull, all events)",
                theirs: "serde_json -> IgnoredAny",
                min: 1.0,
            },
        ],
    }
}

fn write_group(c: &Corpus) -> Group<'_> {
    let ours: Vec<_> = c
        .frames
        .iter()
        .filter_map(|f| warp::parse_value(f).ok())
        .collect();
    let theirs: Vec<_> = c
        .frames
        .iter()
        .filter_map(|f| reference::swimos_parse(f).ok())
        .collect();
    let json: Vec<_> = c
        .json
        .iter()
        .filter_map(|f| reference::json_parse_value(f).ok())
        .collect();
    let mut s = String::new();
    let ours_bytes: usize = ours
        .iter()
        .map(|v| {
            s.clear();
            warp::write_value(v, &mut s);
            s.len()
        })
        .sum();
    let theirs_bytes: usize = theirs
        .iter()
        .map(|v| {
            s.clear();
            reference::swimos_print(v, &mut s);
            s.len()
        })
        .sum();
    let mut b = Vec::new();
    let json_bytes: usize = json
        .iter()
        .map(|v| {
            b.clear();
            let _ = reference::json_write(v, &mut b);
            b.len()
        })
        .sum();
    let mut buf_ours = String::with_capacity(1 << 17);
    let mut buf_theirs = String::with_capacity(1 << 17);
    let mut buf_json = Vec::with_capacity(1 << 17);
    let imps = vec![
        Imp {
            name: "warp write",
            side: Side::Ours,
            bytes: ours_bytes,
            vs: None,
            pass: Box::new(move || {
                let mut n = 0;
                for v in &ours {
                    buf_ours.clear();
                    warp::write_value(v, &mut buf_ours);
                    n += black_box(&buf_ours).len();
                }
                n
            }),
        },
        Imp {
            name: "swimos print_recon_compact",
            side: Side::Theirs,
            bytes: theirs_bytes,
            vs: None,
            pass: Box::new(move || {
                let mut n = 0;
                for v in &theirs {
                    buf_theirs.clear();
                    reference::swimos_print(v, &mut buf_theirs);
                    n += black_box(&buf_theirs).len();
                }
                n
            }),
        },
        Imp {
            name: "serde_json to_writer(Value)",
            side: Side::Theirs,
            bytes: json_bytes,
            vs: None,
            pass: Box::new(move || {
                let mut n = 0;
                for v in &json {
                    buf_json.clear();
                    let _ = reference::json_write(v, &mut buf_json);
                    n += black_box(&buf_json).len();
                }
                n
            }),
        },
    ];
    Group {
        op: "write",
        corpus: c,
        imps,
        targets: vec![Target {
            ours: "warp write",
            theirs: "swimos print_recon_compact",
            min: 2.0,
        }],
    }
}

fn envelope_group(c: &Corpus) -> Group<'_> {
    let recon = c.recon_bytes();
    let mut imps = warp::envelope_rows(c)
        .into_iter()
        .map(|r| Imp {
            name: r.name,
            side: Side::Ours,
            bytes: r.bytes,
            vs: Some(r.vs),
            pass: r.pass,
        })
        .collect::<Vec<_>>();
    imps.push(Imp {
        name: reference::PEEL_NAME,
        side: Side::Theirs,
        bytes: recon,
        vs: None,
        pass: Box::new(move || {
            c.frames
                .iter()
                .map(|f| reference::swimos_peel_len(f).unwrap_or(0))
                .sum()
        }),
    });
    imps.push(Imp {
        name: reference::PEEL_BODY_NAME,
        side: Side::Theirs,
        bytes: recon,
        vs: None,
        pass: Box::new(move || {
            c.frames
                .iter()
                .map(|f| {
                    reference::swimos_peel_and_body(f)
                        .map(|v| reference::swimos_shape(&v))
                        .unwrap_or(0)
                })
                .sum()
        }),
    });
    let targets = if c.name == "S" {
        vec![Target {
            ours: warp::ENVELOPE_HEADER_NAME,
            theirs: reference::PEEL_NAME,
            min: 30.0,
        }]
    } else {
        Vec::new()
    };
    Group {
        op: "envelope",
        corpus: c,
        imps,
        targets,
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Seconds per pass of each implementation, one entry per round.
///
/// Not inlined, so a profiler can collect exactly the timed passes:
/// `valgrind --tool=callgrind --toggle-collect=ratios::measure`.
#[inline(never)]
fn measure(
    group: &mut Group<'_>,
    rounds: usize,
    target: Duration,
    fixed_reps: Option<usize>,
) -> Vec<Vec<f64>> {
    let n = group.imps.len();
    // Warm up and calibrate: repetitions so that one measurement takes about `target`. With
    // `fixed_reps` (profiling runs), exactly that many passes per round and nothing else.
    let mut reps = vec![fixed_reps.unwrap_or(1); n];
    for (imp, r) in group.imps.iter_mut().zip(&mut reps) {
        if fixed_reps.is_some() {
            break;
        }
        black_box((imp.pass)());
        let t0 = Instant::now();
        black_box((imp.pass)());
        let once = t0.elapsed().as_secs_f64().max(1e-7);
        *r = ((target.as_secs_f64() / once).ceil() as usize).clamp(1, 100_000);
    }
    let mut per_pass = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        // Rounds come in mirrored pairs (a b c, c b a), each pair rotated by one (b c a, a c b,
        // ...), so slow drifts of the machine hit every implementation alike.
        let mut order: Vec<usize> = (0..n).map(|i| (i + round / 2) % n).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let imp = &mut group.imps[i];
            let t0 = Instant::now();
            for _ in 0..reps[i] {
                black_box((imp.pass)());
            }
            per_pass[i].push(t0.elapsed().as_secs_f64() / reps[i] as f64);
        }
    }
    per_pass
}

fn report(group: &Group<'_>, per_pass: &[Vec<f64>], rounds: usize, misses: &mut Vec<String>) {
    let frames = group.corpus.frames.len() as f64;
    let refs: Vec<usize> = (0..group.imps.len())
        .filter(|&i| group.imps[i].side == Side::Theirs)
        .collect();
    let mut header = String::from("| corpus | op | implementation | MB/s | frames/s |");
    let mut rule = String::from("| --- | --- | --- | ---: | ---: |");
    for &r in &refs {
        header.push_str(&format!(" vs {} |", group.imps[r].name));
        rule.push_str(" ---: |");
    }
    println!("{header}\n{rule}");
    let per_round = |ours: usize, theirs: usize| -> Vec<f64> {
        (0..rounds)
            .map(|k| per_pass[theirs][k] / per_pass[ours][k])
            .collect()
    };
    let ratio = |ours: usize, theirs: usize| median(&mut per_round(ours, theirs));
    for (i, imp) in group.imps.iter().enumerate() {
        let mut t = per_pass[i].clone();
        let secs = median(&mut t);
        let mut line = format!(
            "| {} | {} | {} | {:.1} | {:.0} |",
            group.corpus.name,
            group.op,
            imp.name,
            imp.bytes as f64 / secs / 1e6,
            frames / secs
        );
        for &r in &refs {
            let wanted = imp.vs.is_none_or(|vs| vs.contains(&group.imps[r].name));
            if imp.side == Side::Ours && wanted {
                line.push_str(&format!(" {:.2}x |", ratio(i, r)));
            } else if imp.side == Side::Ours {
                line.push_str(" - |");
            } else {
                line.push_str(" |");
            }
        }
        println!("{line}");
    }
    println!();
    for t in &group.targets {
        let find = |name: &str| group.imps.iter().position(|i| i.name == name);
        if let (Some(o), Some(r)) = (find(t.ours), find(t.theirs)) {
            let x = ratio(o, r);
            let verdict = if x >= t.min {
                "PASS".to_string()
            } else {
                let line = format!(
                    "MISS by {:.0}% ({:.2}x of the {:.0}x required)",
                    (1.0 - x / t.min) * 100.0,
                    x,
                    t.min
                );
                misses.push(format!(
                    "{} {}: {} vs {}: {line}",
                    group.corpus.name, group.op, t.ours, t.theirs
                ));
                line
            };
            let v = per_round(o, r);
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(0.0, f64::max);
            println!(
                "target {} {}: {} >= {:.0}x {} -> median ratio {:.2}x \
                 (rounds {lo:.2}x..{hi:.2}x): {verdict}",
                group.corpus.name, group.op, t.ours, t.min, t.theirs, x
            );
        }
    }
    if !group.targets.is_empty() {
        println!();
    }
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", load.trim());
    }
    let corpora: Vec<Corpus> = corpus::all()
        .into_iter()
        .filter(|c| opts.corpora.is_empty() || opts.corpora.iter().any(|n| n == c.name))
        .collect();
    for c in &corpora {
        let (lo, hi) = c.frame_size_range();
        println!(
            "corpus {}: {} frames, {} bytes of Recon ({lo}..{hi} per frame), {} bytes of JSON",
            c.name,
            c.frames.len(),
            c.recon_bytes(),
            c.json_bytes()
        );
        if !opts.skip_check {
            if let Err(e) = check::check_references(c).and_then(|()| check::check_warp(c)) {
                eprintln!("agreement check failed, nothing timed:\n{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if opts.skip_check {
        println!("agreement checks SKIPPED (--skip-check): profiling run, not a measurement");
    } else {
        println!("agreement checks passed: every implementation accepts every frame");
    }
    println!(
        "{} rounds, about {} ms per measurement; ratios are medians of per-round throughput \
         ratios (frames per second, ours / theirs)\n",
        opts.rounds,
        opts.target.as_millis()
    );
    let want_op = |op: &str| opts.ops.is_empty() || opts.ops.iter().any(|o| o == op);
    let mut misses = Vec::new();
    for c in &corpora {
        let mut groups = Vec::new();
        if want_op("parse") {
            groups.push(parse_group(c));
        }
        if want_op("write") {
            groups.push(write_group(c));
        }
        if want_op("envelope") {
            groups.push(envelope_group(c));
        }
        for mut g in groups {
            if !opts.only.is_empty() {
                g.imps
                    .retain(|i| opts.only.iter().any(|s| i.name.contains(s.as_str())));
            }
            if g.imps.is_empty() {
                continue;
            }
            let per_pass = measure(&mut g, opts.rounds, opts.target, opts.reps);
            report(&g, &per_pass, opts.rounds, &mut misses);
        }
    }
    if misses.is_empty() {
        println!("all targets measured in this run: PASS");
    } else {
        println!("targets missed:");
        for m in &misses {
            println!("- {m}");
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn every_round_times_every_implementation_once() {
        let c = corpus::Corpus {
            name: "T",
            docs: Vec::new(),
            frames: vec!["1".into()],
            json: vec!["1".into()],
        };
        let calls = &std::cell::RefCell::new(Vec::new());
        let imp = |name: &'static str| Imp {
            name,
            side: Side::Theirs,
            bytes: 1,
            vs: None,
            pass: Box::new(move || {
                calls.borrow_mut().push(name);
                1
            }),
        };
        let mut g = Group {
            op: "parse",
            corpus: &c,
            imps: vec![imp("a"), imp("b"), imp("c")],
            targets: Vec::new(),
        };
        let per_pass = measure(&mut g, 4, Duration::ZERO, Some(1));
        drop(g);
        assert!(per_pass.iter().all(|p| p.len() == 4));
        let calls = calls.take();
        assert_eq!(calls.len(), 12);
        // The order changes from round to round.
        let firsts: Vec<_> = calls.chunks(3).map(|r| r[0]).collect();
        assert_eq!(firsts, ["a", "c", "b", "a"]);
        for round in calls.chunks(3) {
            let mut r = round.to_vec();
            r.sort_unstable();
            assert_eq!(r, ["a", "b", "c"]);
        }
    }
}
