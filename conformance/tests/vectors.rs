//! The four codec vector files, run through the checker, and the `warp-conformance` binary run
//! on a small file.

use std::path::{Path, PathBuf};
use std::process::Command;

use conformance::json::{parse_json, Json};
use conformance::vectors::{check_file, LineKind, LineResult, Outcome, Summary};

fn vector_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(name)
}

/// Counts the non-blank lines of a vector file that have a `recon` member, and all non-blank
/// lines, independently of the checker's classification.
fn count_lines(path: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(path).expect("read vector file");
    let mut recon = 0;
    let mut total = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        total += 1;
        let json: Json = parse_json(line).expect("vector line is JSON");
        if json.get("recon").is_some() {
            recon += 1;
        }
    }
    (recon, total)
}

/// Runs one file and asserts: no failure, every line passed (`recon` and `frame` lines alike),
/// and the file was not empty.
fn run_file(name: &str, expect_kind: LineKind) {
    let path = vector_file(name);
    let results: Vec<LineResult> = check_file(&path).expect("read vector file");
    let (recon_lines, total) = count_lines(&path);
    assert!(total > 0, "{} has no vectors", name);
    assert_eq!(results.len(), total, "{}: one result per line", name);

    let failures: Vec<String> = results
        .iter()
        .filter(|r| r.outcome.is_fail())
        .map(|r| r.to_string())
        .collect();
    let summary = Summary::of(&results);
    println!("{}: {}", name, summary);
    assert!(
        failures.is_empty(),
        "{}: {}\n{}",
        name,
        summary,
        failures.join("\n")
    );
    for r in &results {
        assert_eq!(
            r.kind, expect_kind,
            "{}:{} has an unexpected shape",
            name, r.line
        );
        assert_eq!(r.outcome, Outcome::Pass, "{}", r);
    }
    assert!(
        summary.passed >= recon_lines,
        "{}: {} passed, but the file has {} recon lines",
        name,
        summary.passed,
        recon_lines
    );
    assert_eq!(summary.passed, total);
}

#[test]
fn recon_valid_vectors_parse_to_their_values() {
    run_file("recon_valid.jsonl", LineKind::ReconValid);
}

#[test]
fn recon_invalid_vectors_are_rejected() {
    run_file("recon_invalid.jsonl", LineKind::ReconInvalid);
}

#[test]
fn warp_valid_vectors_decode_to_their_envelopes() {
    run_file("warp_valid.jsonl", LineKind::FrameValid);
}

#[test]
fn warp_invalid_vectors_are_rejected() {
    run_file("warp_invalid.jsonl", LineKind::FrameInvalid);
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, contents).expect("write temp file");
    path
}

fn run_binary(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warp-conformance"))
        .args(args)
        .output()
        .expect("run warp-conformance");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn binary_reports_the_failing_vector_and_exits_1() {
    let path = temp_file(
        "one_good_one_bad.jsonl",
        concat!(
            r#"{"recon": "{a:1}", "value": {"record": [{"slot": [{"text": "a"}, {"int": "1"}]}]}}"#,
            "\n",
            r#"{"recon": "2", "value": {"int": "3"}}"#,
            "\n"
        ),
    );
    let file = path.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = run_binary(&["vectors", file]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.last().copied(),
        Some("1 passed, 1 failed"),
        "{}{}",
        stdout,
        stderr
    );
    assert_eq!(
        lines.len(),
        2,
        "one line per failing vector, then the summary:\n{}",
        stdout
    );
    let fail = lines[0];
    assert!(fail.starts_with(&format!("{}:2: FAIL", file)), "{}", fail);
    assert!(fail.contains(r#"input "2""#), "{}", fail);
    assert!(fail.contains(r#"expected {"int": "3"}"#), "{}", fail);
    assert!(fail.contains(r#"got {"int": "2"}"#), "{}", fail);
    assert_eq!(code, Some(1));
}

#[test]
fn binary_exits_0_when_all_pass_and_counts_skips() {
    let path = temp_file(
        "all_good.jsonl",
        concat!(
            r#"{"recon": "@a(1)", "value": {"record": [{"attr": ["a", {"int": "1"}]}]}}"#,
            "\n\n",
            r#"{"recon": "{a", "why": "expected '}', but found end of input"}"#,
            "\n"
        ),
    );
    let (code, stdout, stderr) = run_binary(&["vectors", path.to_str().expect("utf-8 path")]);
    assert_eq!(stdout, "2 passed, 0 failed\n", "{}", stderr);
    assert_eq!(code, Some(0));

    let frames = temp_file(
        "frame.jsonl",
        "{\"frame\": \"@event\", \"why\": \"null envelope\"}\n",
    );
    let (code, stdout, _) = run_binary(&["vectors", frames.to_str().expect("utf-8 path")]);
    let last = stdout.lines().last().unwrap_or("");
    // Frame lines go through the envelope decoder.
    assert_eq!(last, "1 passed, 0 failed", "{}", stdout);
    assert_eq!(code, Some(0));
}

#[test]
fn binary_counts_a_bad_json_line_as_a_failure() {
    let path = temp_file("bad_json.jsonl", "{\"recon\": \n");
    let (code, stdout, _) = run_binary(&["vectors", path.to_str().expect("utf-8 path")]);
    assert_eq!(
        stdout.lines().last(),
        Some("0 passed, 1 failed"),
        "{}",
        stdout
    );
    assert!(
        stdout.contains("bad_json.jsonl:1: FAIL: not a JSON line"),
        "{}",
        stdout
    );
    assert_eq!(code, Some(1));
}

#[test]
fn binary_usage_errors_exit_2() {
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no_such_file.jsonl");
    let (code, stdout, stderr) = run_binary(&["vectors", missing.to_str().expect("utf-8 path")]);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{}", stdout);
    assert!(stderr.contains("cannot read"), "{}", stderr);
    for args in [
        &[][..],
        &["vectors"][..],
        &["nope"][..],
        &["vectors", "--bogus", "x"][..],
    ] {
        let (code, _, stderr) = run_binary(args);
        assert_eq!(code, Some(2), "{:?}", args);
        assert!(stderr.contains("help"), "{:?}: {}", args, stderr);
    }
}

#[test]
fn binary_help_explains_the_modes() {
    for args in [&["--help"][..], &["-h"][..], &["help"][..]] {
        let (code, stdout, _) = run_binary(args);
        assert_eq!(code, Some(0));
        assert!(stdout.contains("vectors FILE..."), "{}", stdout);
        assert!(stdout.contains("EXIT STATUS"), "{}", stdout);
    }
    let (code, stdout, _) = run_binary(&["help", "vectors"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("N passed, M failed"), "{}", stdout);
}

#[test]
fn no_prefix_of_a_recon_vector_input_panics_or_misplaces_its_error() {
    // PROFILE.md: no input, valid or not, may panic; errors carry a byte offset. Every prefix
    // (at character boundaries) of every Recon input in the vector files must parse or be
    // rejected with an offset within the prefix.
    let mut checked = 0usize;
    let mut problems = Vec::new();
    for name in [
        "recon_valid.jsonl",
        "recon_invalid.jsonl",
        "disagreements.jsonl",
    ] {
        let text = std::fs::read_to_string(vector_file(name)).expect("read vector file");
        for (i, line) in text.lines().enumerate() {
            let json = parse_json(line).expect("vector line is JSON");
            let Some(input) = json
                .get("recon")
                .or_else(|| match json.get("kind").and_then(Json::as_str) {
                    Some("recon-parse" | "recon-print") => json.get("input"),
                    _ => None,
                })
                .and_then(Json::as_str)
            else {
                continue;
            };
            for end in (0..=input.len()).filter(|&e| input.is_char_boundary(e)) {
                let prefix = &input[..end];
                checked += 1;
                match conformance::vectors::parse_recon(prefix) {
                    Err(panic) => problems.push(format!(
                        "{}:{}: prefix {:?} panicked: {}",
                        name,
                        i + 1,
                        prefix,
                        panic
                    )),
                    Ok(Err(e)) if e.offset > prefix.len() => problems.push(format!(
                        "{}:{}: prefix {:?}: offset {} beyond {} bytes",
                        name,
                        i + 1,
                        prefix,
                        e.offset,
                        prefix.len()
                    )),
                    Ok(_) => {}
                }
            }
        }
    }
    assert!(checked > 1000, "only {} prefixes checked", checked);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
