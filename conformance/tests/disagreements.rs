//! The `recon-parse` entries of `vectors/disagreements.jsonl`, checked against the outcome
//! PROFILE.md prescribes (the rules are in `conformance::disagreements`: where Java and JS both
//! reject, we reject; expressions are rejected; where Java and JS agree on a value, we agree;
//! where they disagree, PROFILE.md decides integer literals, quoted strings and trailing
//! separators, and anything else is skipped).
//!
//! Prints a summary of what was checked, the skipped entries and every failure (run with
//! `-- --nocapture`). With `WARP_DISAGREEMENTS_REPORT=PATH` set, also writes the failures as
//! Markdown to PATH, for the parser's author.

use std::fmt::Write as _;
use std::path::Path;

use conformance::disagreements::{
    check_decision, check_entry, decide_recon_parse, decide_warp_parse, expression_syntax, Expect,
};
use conformance::json::{json_string, parse_json, Json};
use conformance::vectors::{parse_recon, FrameExpectation, Outcome};
use warp_proto::recon::ErrorKind;

fn vector_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {}", path.display(), e))
}

fn recon_parse_entries() -> Vec<(usize, Json)> {
    vector_text("disagreements.jsonl")
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let json =
                parse_json(l).unwrap_or_else(|e| panic!("disagreements.jsonl:{}: {}", i + 1, e));
            (i + 1, json)
        })
        .filter(|(_, j)| j.get("kind").and_then(Json::as_str) == Some("recon-parse"))
        .collect()
}

struct Failure {
    line: usize,
    input: String,
    expected: String,
    got: String,
}

#[test]
fn recon_parse_disagreements_follow_the_profile() {
    let entries = recon_parse_entries();
    assert!(
        entries.len() > 100,
        "expected the recon-parse entries of disagreements.jsonl, found {}",
        entries.len()
    );
    let (mut accept, mut reject, mut expressions) = (0usize, 0usize, 0usize);
    let mut skipped = Vec::new();
    let mut failures = Vec::new();
    let mut not_typed_as_expression = Vec::new();
    for (line, entry) in &entries {
        let input = entry.get("input").and_then(Json::as_str).unwrap_or("");
        let decision = decide_recon_parse(entry)
            .unwrap_or_else(|e| panic!("disagreements.jsonl:{}: {}", line, e));
        match &decision.expect {
            Expect::Undecided => {
                skipped.push(format!(
                    "line {}: {} ({})",
                    line,
                    json_string(input),
                    decision.rule
                ));
                continue;
            }
            Expect::Accept(_) => accept += 1,
            Expect::Reject => reject += 1,
        }
        if decision.expression {
            expressions += 1;
            if let Ok(Err(e)) = parse_recon(input) {
                if e.kind != ErrorKind::ExpressionNotSupported {
                    not_typed_as_expression.push(format!(
                        "disagreements.jsonl:{}: input `{}` -> {}",
                        line,
                        json_string(input),
                        e
                    ));
                }
            }
        }
        let check = check_decision(input, &decision);
        if let Outcome::Fail(reason) = check.outcome {
            failures.push(Failure {
                line: *line,
                input: json_string(input),
                expected: check.expected,
                got: format!("{} ({})", check.actual, reason),
            });
        }
    }
    println!(
        "recon-parse disagreements: {} entries; checked {} (must accept {}, must reject {}, of which {} are expressions); skipped {}; failed {}",
        entries.len(),
        accept + reject,
        accept,
        reject,
        expressions,
        skipped.len(),
        failures.len()
    );
    for s in &skipped {
        println!("  skipped {}", s);
    }
    if !not_typed_as_expression.is_empty() {
        println!(
            "  note: {} expression inputs are rejected with an error other than ExpressionNotSupported:",
            not_typed_as_expression.len()
        );
        for s in &not_typed_as_expression {
            println!("    {}", s);
        }
    }
    for f in &failures {
        println!(
            "  FAIL disagreements.jsonl:{}: input {}: expected {}, got {}",
            f.line, f.input, f.expected, f.got
        );
    }
    if let Ok(path) = std::env::var("WARP_DISAGREEMENTS_REPORT") {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "## recon-parse disagreements (`cargo test -p conformance --test disagreements`)\n\n\
             {} entries; checked {}; skipped {}; failing {}.\n",
            entries.len(),
            accept + reject,
            skipped.len(),
            failures.len()
        );
        for f in &failures {
            let _ = writeln!(
                md,
                "- disagreements.jsonl:{}: input `{}`\n  - expected: `{}`\n  - got: `{}`",
                f.line, f.input, f.expected, f.got
            );
        }
        if !not_typed_as_expression.is_empty() {
            let _ = writeln!(
                md,
                "\nRejected, but not with `ErrorKind::ExpressionNotSupported` (PROFILE.md: \
                 expressions are rejected with an error that says so):\n"
            );
            for s in &not_typed_as_expression {
                let _ = writeln!(md, "- {}", s);
            }
        }
        std::fs::write(&path, md).unwrap_or_else(|e| panic!("cannot write {}: {}", path, e));
    }
    assert!(
        failures.is_empty(),
        "{} recon-parse disagreements do not follow PROFILE.md (listed above)",
        failures.len()
    );
}

#[test]
fn every_recon_parse_disagreement_in_the_sample_is_decided() {
    // Every recon-parse entry in the sample is decided by a rule; a skip here means a rule
    // stopped applying (or the file changed) and deserves a look.
    let undecided: Vec<String> = recon_parse_entries()
        .iter()
        .filter_map(|(line, entry)| {
            let d = decide_recon_parse(entry).ok()?;
            matches!(d.expect, Expect::Undecided).then(|| format!("line {}", line))
        })
        .collect();
    assert!(undecided.is_empty(), "undecided: {:?}", undecided);
}

#[test]
fn the_expression_scanner_finds_no_expression_in_valid_vectors() {
    let mut seen = 0;
    for (i, line) in vector_text("recon_valid.jsonl").lines().enumerate() {
        let json = parse_json(line).expect("json line");
        let input = json.get("recon").and_then(Json::as_str).expect("recon");
        assert_eq!(
            expression_syntax(input),
            None,
            "recon_valid.jsonl:{}",
            i + 1
        );
        seen += 1;
    }
    assert!(seen > 100, "only {} valid vectors", seen);
}

#[test]
fn every_warp_parse_disagreement_is_decided_and_holds() {
    let entries: Vec<(usize, Json)> = vector_text("disagreements.jsonl")
        .lines()
        .enumerate()
        .filter_map(|(i, l)| parse_json(l).ok().map(|j| (i + 1, j)))
        .filter(|(_, j)| j.get("kind").and_then(Json::as_str) == Some("warp-parse"))
        .collect();
    assert!(
        entries.len() >= 80,
        "expected the warp-parse entries of disagreements.jsonl, found {}",
        entries.len()
    );
    let mut problems = Vec::new();
    for (line, entry) in &entries {
        let decision = decide_warp_parse(entry).expect("well-formed entry");
        if decision.expect.is_none() {
            problems.push(format!("line {}: undecided ({})", line, decision.rule));
            continue;
        }
        let (input, check) = check_entry(entry).expect("well-formed entry");
        if !matches!(check.outcome, Outcome::Pass) {
            problems.push(format!(
                "line {}: {} expected {}, got {}",
                line, input, check.expected, check.actual
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn profile_rules_override_agreeing_references_for_envelopes() {
    // Java and JS both read a numeric node as the text "1"; PROFILE.md says node is text.
    let entry = parse_json(
        r#"{"kind":"warp-parse","input":"@event(node:1,lane:b)","java":{"envelope":{"tag":"event","node":"1","lane":"b","prio":null,"rate":null,"body":{"absent":null}}},"js":{"envelope":{"tag":"event","node":"1","lane":"b","prio":null,"rate":null,"body":{"absent":null}}},"rust":{"error":"x"}}"#,
    )
    .unwrap();
    let decision = decide_warp_parse(&entry).unwrap();
    assert!(
        matches!(decision.expect, Some(FrameExpectation::Reject { .. })),
        "{:?}",
        decision
    );
    assert!(decision.rule.starts_with("PROFILE"), "{}", decision.rule);
}
