//! Differential test against the JavaScript reference parser (`@swim/recon` 4.0.0, run by Node
//! through `conformance/js/harness.mjs`): what our writer prints, `Recon.parse` reads back as the
//! value we printed.
//!
//! Values are generated with [`Profile::JS`] (integers within ±2^53, since JS numbers are
//! doubles) from a fixed seed, plus every value of `recon_valid.jsonl`; all of them go through
//! one Node process. Numbers compare by the vectors' rule for JS: a JS number equals our integer
//! exactly, or our float bit for bit (`1.0` reads back as the JS number 1).
//!
//! Without `node` on the PATH the test says so on stderr and passes without checking.
//! `npm ci` installs the harness's packages when `conformance/js/node_modules` is missing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use conformance::arb::{reads_back_as, value, Profile};
use conformance::json::{
    encode_base64, parse_json, same_float, value_from_json, value_to_json, Json,
};
use conformance::peers::{ensure_js_packages, node_available};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use warp_proto::recon::{Item, Value};

const GENERATED: usize = 3000;

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Runs the harness once over `texts`; one JSON result per text.
fn js_parse_all(texts: &[String]) -> Vec<Json> {
    let dir = js_dir();
    ensure_js_packages().unwrap_or_else(|e| panic!("installing the Node harness: {e}"));
    let mut child = Command::new("node")
        .arg("harness.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting node");
    let mut input = String::new();
    for text in texts {
        input.push_str(&encode_base64(text.as_bytes()));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("child stdin");
    // Write from another thread: the harness answers while it reads, and both pipes are finite.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("node output");
    writer
        .join()
        .expect("stdin writer thread")
        .expect("writing to node");
    assert!(
        output.status.success(),
        "node harness exited with {}",
        output.status
    );
    let stdout = String::from_utf8(output.stdout).expect("harness output is UTF-8");
    let results: Vec<Json> = stdout
        .lines()
        .map(|line| parse_json(line).expect("harness line is JSON"))
        .collect();
    assert_eq!(
        results.len(),
        texts.len(),
        "one harness answer per input line"
    );
    results
}

/// Whether the JS value `js` is our value `ours`, numbers compared as JS compares them: the JS
/// side spells an integer-valued double as `int`, so our float 1.0 matches the JS int 1, and
/// our integer must match the JS int exactly.
fn js_same(ours: &Value, js: &Value) -> bool {
    match (ours, js) {
        (Value::Float(x), Value::Float(y)) => same_float(*x, *y),
        (Value::Float(x), Value::Int(_) | Value::UInt(_) | Value::BigInt(_)) => {
            let decimal = value_to_json(js);
            let digits = decimal
                .get("int")
                .and_then(Json::as_str)
                .and_then(|s| s.parse::<f64>().ok());
            digits.is_some_and(|y| same_float(*x, y))
        }
        (Value::Record(xs), Value::Record(ys)) => {
            xs.len() == ys.len()
                && xs.iter().zip(ys).all(|(x, y)| match (x, y) {
                    (Item::Attr(n, a), Item::Attr(m, b)) => n == m && js_same(a, b),
                    (Item::Slot(k, a), Item::Slot(l, b)) => js_same(k, l) && js_same(a, b),
                    (Item::Value(a), Item::Value(b)) => js_same(a, b),
                    _ => false,
                })
        }
        _ => ours == js,
    }
}

fn generated_values() -> Vec<Value> {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = value(Profile::JS);
    (0..GENERATED)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("generating a value")
                .current()
        })
        .collect()
}

fn vector_values() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/recon_valid.jsonl");
    let lines = std::fs::read_to_string(path).expect("recon_valid.jsonl");
    lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let json = parse_json(line).expect("vector line is JSON");
            let v = json.get("value").expect("vector line has a value");
            value_from_json(v).expect("vector value has the vector shape")
        })
        // NaN and infinities have no portable text: the writer refuses them (tested elsewhere).
        .filter(|v| !matches!(v, Value::Float(f) if !f.is_finite()))
        .collect()
}

#[test]
fn js_recon_reads_generated_and_vector_values_as_we_wrote_them() {
    if !node_available() {
        eprintln!("SKIPPED differential_js: `node` is not on the PATH; nothing was checked");
        return;
    }
    let vectors = vector_values();
    let values: Vec<Value> = vectors.iter().cloned().chain(generated_values()).collect();
    let texts: Vec<String> = values
        .iter()
        .map(|v| {
            v.to_recon_string()
                .unwrap_or_else(|e| panic!("our writer refused {:?}: {}", v, e))
        })
        .collect();
    let results = js_parse_all(&texts);
    let mut failures = Vec::new();
    for ((v, text), result) in values.iter().zip(&texts).zip(&results) {
        let expected = reads_back_as(v);
        let verdict = match (result.get("ok"), result.get("error")) {
            (Some(js), _) => match value_from_json(js) {
                Ok(js_value) if js_same(&expected, &js_value) => continue,
                Ok(_) => format!("read {}", js),
                Err(e) => format!("answered a value we cannot map: {} ({})", js, e),
            },
            (None, Some(error)) => format!("rejected it: {}", error),
            (None, None) => format!("answered {}", result),
        };
        failures.push(format!(
            "{} printed {:?}; @swim/recon {}",
            value_to_json(v),
            text,
            verdict
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} values read back differently by @swim/recon:\n{}",
        failures.len(),
        values.len(),
        failures.join("\n")
    );
    assert!(vectors.len() >= 190, "only {} vector values", vectors.len());
}
