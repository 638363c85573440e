//! Differential test against the Rust reference parser (`swimos_recon` 0.1.1): what our writer
//! prints, `swimos_recon` reads back as the value we printed.
//!
//! Values are generated within what the Rust reference represents ([`Profile::RUST`]:
//! attributes before other items, no Absent, no quoted attribute names or attributed slot keys,
//! no Extant as a record's last item, which has no text Java/JS and Rust read alike). Every
//! value of `recon_valid.jsonl` (all three references read those alike) goes through too.
//! A panic of the reference is caught and counts as a failure.

use std::panic::{catch_unwind, AssertUnwindSafe};

use conformance::arb::{value, Profile};
use conformance::json::{int_value_from_decimal, parse_json, same_value, value_from_json};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use swimos_model::Value as RustValue;
use swimos_recon::parser::{parse_recognize, Span};
use warp_proto::recon::{ErrorKind, Item, Value};

/// Our value for a `swimos_model::Value` (attributes first, integers in canonical form).
fn from_reference(v: &RustValue) -> Value {
    let int = |decimal: String| int_value_from_decimal(&decimal).unwrap_or(Value::Text(decimal));
    match v {
        RustValue::Extant => Value::Extant,
        RustValue::Int32Value(i) => Value::Int(i64::from(*i)),
        RustValue::Int64Value(i) => Value::Int(*i),
        RustValue::UInt32Value(u) => Value::Int(i64::from(*u)),
        RustValue::UInt64Value(u) => int(u.to_string()),
        RustValue::BigInt(b) => int(b.to_string()),
        RustValue::BigUint(b) => int(b.to_string()),
        RustValue::Float64Value(f) => Value::Float(*f),
        RustValue::BooleanValue(b) => Value::Bool(*b),
        RustValue::Text(t) => Value::Text(t.as_str().to_string()),
        RustValue::Data(blob) => Value::Data(blob.as_ref().to_vec()),
        RustValue::Record(attrs, items) => Value::Record(
            attrs
                .iter()
                .map(|a| Item::Attr(a.name.as_str().to_string(), from_reference(&a.value)))
                .chain(items.iter().map(|item| match item {
                    swimos_model::Item::ValueItem(x) => Item::Value(from_reference(x)),
                    swimos_model::Item::Slot(k, x) => {
                        Item::Slot(from_reference(k), from_reference(x))
                    }
                }))
                .collect(),
        ),
    }
}

/// What `swimos_recon` reads from `text`, as our value; a parse error or a panic as `Err`.
fn reference_reads(text: &str) -> Result<Value, String> {
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        parse_recognize::<RustValue>(Span::new(text), false)
    }));
    match parsed {
        Ok(Ok(v)) => Ok(from_reference(&v)),
        Ok(Err(e)) => Err(format!("rejected: {}", e)),
        Err(_) => Err("PANIC".to_string()),
    }
}

/// Prints `v` with our writer and checks that the reference reads it back as `v`.
fn check(v: &Value) -> Result<(), String> {
    let text = v
        .to_recon_string()
        .map_err(|e| format!("our writer refused {:?}: {}", v, e))?;
    match reference_reads(&text) {
        Ok(back) if same_value(&back, v) => Ok(()),
        Ok(back) => Err(format!(
            "{:?} printed {:?}, swimos_recon read {:?}",
            v, text, back
        )),
        Err(e) => Err(format!("{:?} printed {:?}, swimos_recon {}", v, text, e)),
    }
}

#[test]
fn swimos_recon_reads_generated_values_as_we_wrote_them() {
    let config = Config {
        cases: 3000,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&value(Profile::RUST), |v| {
        check(&v).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{}", e);
    }
}

#[test]
fn swimos_recon_reads_every_valid_vector_value_as_we_wrote_it() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/recon_valid.jsonl");
    let lines = std::fs::read_to_string(path).expect("recon_valid.jsonl");
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let json = parse_json(line).expect("vector line is JSON");
        let v = json
            .get("value")
            .map(value_from_json)
            .expect("vector line has a value")
            .expect("vector value has the vector shape");
        if let Value::Float(f) = v {
            if !f.is_finite() {
                // No portable text: the writer refuses it (the references print NaN/Infinity).
                let refused = v.to_recon_string().map_err(|e| e.kind);
                assert_eq!(refused, Err(ErrorKind::NonFiniteFloat), "{}", line);
                continue;
            }
        }
        if let Err(e) = check(&v) {
            failures.push(e);
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 190, "only {} vectors checked", checked);
}

#[test]
fn swimos_recon_reads_the_profile_forms_as_we_wrote_them() {
    // Forms where the references' printers differ, or that only our writer produces.
    let a = |v: Value| Item::Attr("a".into(), v);
    let forms = [
        Value::Record(vec![a(Value::Record(vec![Item::Value(Value::Int(1))]))]),
        Value::Record(vec![a(Value::Extant), Item::Value(Value::Record(vec![]))]),
        Value::Record(vec![
            a(Value::Extant),
            Item::Value(Value::Text("two words".into())),
        ]),
        Value::Record(vec![a(Value::Extant), Item::Value(Value::Data(vec![1, 2]))]),
        Value::Record(vec![a(Value::Extant), Item::Value(Value::Float(-1.5e-7))]),
        Value::Record(vec![a(Value::Record(vec![
            Item::Attr("b".into(), Value::Extant),
            Item::Slot(Value::Text("c".into()), Value::Int(1)),
        ]))]),
        Value::Record(vec![a(Value::Record(vec![Item::Slot(
            Value::Extant,
            Value::Int(1),
        )]))]),
        Value::Text("true".into()),
        Value::Float(1e21),
        Value::Float(-0.0),
        Value::Text("\u{0}\u{1f}\u{7f}\"\\".into()),
    ];
    let failures: Vec<String> = forms.iter().filter_map(|v| check(v).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
