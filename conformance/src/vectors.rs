//! The codec vector checker: reads JSON Lines vector files and checks each line against the
//! Recon parser (and, once wired, the envelope decoder).
//!
//! A vector line is one JSON object of one of these shapes (other members, such as the
//! informational `canonical*` fields, are ignored):
//!
//! | members | check |
//! | --- | --- |
//! | `recon` + `value` | [`Value::parse`] accepts `recon` and returns `value` ([`same_value`]) |
//! | `recon` + `why` | [`Value::parse`] rejects `recon` (`why` is the references' message, for information) |
//! | `frame` + `envelope` | the envelope decoder returns `envelope` ([`check_frame_line`]) |
//! | `frame` + `why` | the envelope decoder rejects `frame` ([`check_frame_line`]) |
//!
//! | `kind` + `input` + `java` + `js` + `rust` | a `disagreements.jsonl` entry: see [`crate::disagreements`] |
//!
//! Anything else (bad JSON, a `recon` that is not a string, both `value` and `why`, a value
//! outside the format of [`crate::json`], ...) is a failure of that line, with the reason. Blank
//! lines are ignored. A panic in the code under test is caught and reported as a failure.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use warp_proto::recon::{Error, Value};

use crate::json::{
    is_canonical, json_string, parse_json, same_value, value_from_json, value_to_json,
    ExpectedEnvelope, Json,
};

/// The outcome of checking one vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The code under test did what the vector says.
    Pass,
    /// It did not, or the line is malformed; the reason says which.
    Fail(String),
    /// The line was not checked; the reason says why (for example, no decoder wired in yet).
    Skipped(String),
}

impl Outcome {
    /// Whether this is [`Outcome::Fail`].
    pub fn is_fail(&self) -> bool {
        matches!(self, Outcome::Fail(_))
    }
}

/// What checking one vector found: the outcome, and what was expected and obtained, each as one
/// line of text for diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Pass, fail or skipped.
    pub outcome: Outcome,
    /// What the vector expects.
    pub expected: String,
    /// What the code under test produced.
    pub actual: String,
}

impl Check {
    fn new(outcome: Outcome, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Check {
            outcome,
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

/// The kind of a vector line, by its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// `recon` + `value`.
    ReconValid,
    /// `recon` + `why`.
    ReconInvalid,
    /// `frame` + `envelope`.
    FrameValid,
    /// `frame` + `why`.
    FrameInvalid,
    /// A `disagreements.jsonl` entry (`kind`, `input`, `java`, `js`, `rust`), checked as
    /// [`crate::disagreements`] says.
    Disagreement,
    /// Not a vector line (or not JSON).
    Malformed,
}

/// The result of one line of a vector file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineResult {
    /// The file name as given.
    pub file: String,
    /// The 1-based line number.
    pub line: usize,
    /// What kind of vector the line is.
    pub kind: LineKind,
    /// The input (`recon` or `frame`) as a JSON string literal, or the raw line (also as a JSON
    /// string literal) when the line is malformed.
    pub input: String,
    /// What the vector expects.
    pub expected: String,
    /// What the code under test produced.
    pub actual: String,
    /// Pass, fail or skipped.
    pub outcome: Outcome,
}

impl fmt::Display for LineResult {
    /// One line: `file:line: STATUS[: reason]: input ..., expected ..., got ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        match &self.outcome {
            Outcome::Pass => f.write_str("PASS")?,
            Outcome::Fail(reason) => write!(f, "FAIL: {}", one_line(reason))?,
            Outcome::Skipped(reason) => write!(f, "SKIP: {}", one_line(reason))?,
        }
        write!(
            f,
            ": input {}, expected {}, got {}",
            self.input,
            one_line(&self.expected),
            one_line(&self.actual)
        )
    }
}

/// `s` with line breaks escaped, so a diagnostic stays on one line.
fn one_line(s: &str) -> String {
    s.replace('\r', "\\r").replace('\n', "\\n")
}

/// What a frame vector expects of the envelope decoder.
#[derive(Clone, Debug, PartialEq)]
pub enum FrameExpectation {
    /// The frame decodes to this envelope.
    Envelope(ExpectedEnvelope),
    /// The frame is rejected; `why` is the references' message (information only).
    Reject {
        /// The references' message.
        why: String,
    },
}

/// Counts of outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines that passed.
    pub passed: usize,
    /// Lines that failed.
    pub failed: usize,
    /// Lines not checked.
    pub skipped: usize,
}

impl Summary {
    /// Counts the outcomes of `results`.
    pub fn of<'r>(results: impl IntoIterator<Item = &'r LineResult>) -> Self {
        let mut s = Summary::default();
        for r in results {
            s.add(&r.outcome);
        }
        s
    }

    /// Counts one more outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail(_) => self.failed += 1,
            Outcome::Skipped(_) => self.skipped += 1,
        }
    }
}

impl fmt::Display for Summary {
    /// `N passed, M failed`, followed by `, K skipped` when K > 0.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)?;
        if self.skipped > 0 {
            write!(f, ", {} skipped", self.skipped)?;
        }
        Ok(())
    }
}

/// The text of a caught panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-text panic payload)".to_string()
    }
}

/// Runs `f`, turning a panic into `Err(message)`.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_message(p.as_ref()))
}

/// Parses `input` with [`Value::parse`], catching a panic as `Err(message)`.
pub fn parse_recon(input: &str) -> Result<Result<Value, Error>, String> {
    catch_panic(|| Value::parse(input))
}

/// Checks that an error's offset points into the input (at most its length, on a character
/// boundary).
fn offset_problem(input: &str, err: &Error) -> Option<String> {
    if err.offset > input.len() {
        Some(format!(
            "error offset {} is beyond the input ({} bytes)",
            err.offset,
            input.len()
        ))
    } else if !input.is_char_boundary(err.offset) {
        Some(format!(
            "error offset {} is not on a character boundary",
            err.offset
        ))
    } else {
        None
    }
}

/// Checks a `recon` + `value` vector: `input` must parse to `expected`.
pub fn check_recon_valid(input: &str, expected: &Value) -> Check {
    let expected_text = value_to_json(expected).to_string();
    match parse_recon(input) {
        Err(panic) => Check::new(
            Outcome::Fail("the parser panicked".into()),
            expected_text,
            format!("panic: {}", panic),
        ),
        Ok(Err(err)) => Check::new(
            Outcome::Fail("rejected a valid input".into()),
            expected_text,
            format!("error: {}", err),
        ),
        Ok(Ok(value)) => {
            let actual = value_to_json(&value).to_string();
            let outcome = if !same_value(&value, expected) {
                Outcome::Fail("parsed to a different value".into())
            } else if !is_canonical(&value) {
                Outcome::Fail(format!(
                    "an integer is not in its canonical variant: {:?}",
                    value
                ))
            } else {
                Outcome::Pass
            };
            Check::new(outcome, expected_text, actual)
        }
    }
}

/// Checks a `recon` + `why` vector: `input` must be rejected with an error whose offset points
/// into the input.
pub fn check_recon_invalid(input: &str, why: &str) -> Check {
    let expected = format!("an error (references: {})", json_string(why));
    match parse_recon(input) {
        Err(panic) => Check::new(
            Outcome::Fail("the parser panicked".into()),
            expected,
            format!("panic: {}", panic),
        ),
        Ok(Ok(value)) => Check::new(
            Outcome::Fail("accepted an invalid input".into()),
            expected,
            value_to_json(&value).to_string(),
        ),
        Ok(Err(err)) => {
            let outcome = match offset_problem(input, &err) {
                Some(problem) => Outcome::Fail(problem),
                None => Outcome::Pass,
            };
            Check::new(outcome, expected, format!("error: {}", err))
        }
    }
}

/// Checks a `frame` vector against the envelope decoder (`warp_proto::envelope`).
///
/// The rules (vectors/CHECK.md, PROFILE.md): a valid frame must decode with the tag, node and
/// lane of the vector (`None` in the vector for `auth`/`authed`/`deauth`/`deauthed`), the body
/// [`same_value`] as the vector's (`Absent` for no body), and, only for `link`/`sync`/`linked`,
/// the same `prio` and `rate` as `f32` (the vector gives 0 for absent; NaN equals NaN). Then the
/// decoded envelope is encoded again and the output must decode to the same envelope (node and
/// lane percent-encoded where the encoder does so). An invalid frame must be rejected with an
/// error whose offset lies within the frame, on a character boundary.
pub fn check_frame_line(frame: &str, expect: &FrameExpectation) -> Check {
    let expected = match expect {
        FrameExpectation::Envelope(env) => env.to_json().to_string(),
        FrameExpectation::Reject { why } => {
            format!("an error (references: {})", json_string(why))
        }
    };
    let decoded = match catch_panic(|| decode_frame(frame)) {
        Err(panic) => {
            return Check::new(
                Outcome::Fail("the envelope decoder panicked".into()),
                expected,
                format!("panic: {}", panic),
            )
        }
        Ok(decoded) => decoded,
    };
    match (expect, decoded) {
        (FrameExpectation::Envelope(_), Err(err)) => Check::new(
            Outcome::Fail("rejected a valid frame".into()),
            expected,
            format!("error: {}", err),
        ),
        (FrameExpectation::Envelope(want), Ok(got)) => {
            let actual = got.to_json().to_string();
            if let Some(problem) = envelope_difference(&got, want) {
                return Check::new(Outcome::Fail(problem), expected, actual);
            }
            let outcome = match catch_panic(|| reencode_frame(frame)) {
                Err(panic) => Outcome::Fail(format!("re-encoding panicked: {}", panic)),
                Ok(Err(problem)) => Outcome::Fail(problem),
                Ok(Ok(again)) => match envelope_difference(&again, &percent_encoded(want)) {
                    Some(problem) => Outcome::Fail(format!("our encoding {}", problem)),
                    None => Outcome::Pass,
                },
            };
            Check::new(outcome, expected, actual)
        }
        (FrameExpectation::Reject { .. }, Ok(got)) => Check::new(
            Outcome::Fail("accepted an invalid frame".into()),
            expected,
            got.to_json().to_string(),
        ),
        (FrameExpectation::Reject { .. }, Err(err)) => {
            let outcome = if err.offset > frame.len() {
                Outcome::Fail(format!(
                    "error offset {} is beyond the frame ({} bytes)",
                    err.offset,
                    frame.len()
                ))
            } else if !frame.is_char_boundary(err.offset) {
                Outcome::Fail(format!(
                    "error offset {} is not on a character boundary",
                    err.offset
                ))
            } else {
                Outcome::Pass
            };
            Check::new(
                outcome,
                expected,
                format!("error: {} ({:?})", err, err.kind),
            )
        }
    }
}

/// Decodes `frame` and turns the envelope into the vectors' form (body as a value).
fn decode_frame(frame: &str) -> Result<ExpectedEnvelope, warp_proto::envelope::EnvelopeError> {
    let env = warp_proto::envelope::Envelope::decode(frame)?;
    envelope_as_expected(&env)
}

/// The decoded envelope in the vectors' form; the body error (which `decode` has ruled out)
/// is reported as an envelope error.
fn envelope_as_expected(
    env: &warp_proto::envelope::Envelope<'_>,
) -> Result<ExpectedEnvelope, warp_proto::envelope::EnvelopeError> {
    let host = env.tag.is_host_addressed();
    let body = env
        .body
        .to_value()
        .map_err(|e| warp_proto::envelope::EnvelopeError::from_recon(e, 0))?;
    Ok(ExpectedEnvelope {
        tag: env.tag.name().to_string(),
        node: (!host).then(|| env.node.to_string()),
        lane: (!host).then(|| env.lane.to_string()),
        prio: f64::from(env.prio),
        rate: f64::from(env.rate),
        body,
    })
}

/// Decodes `frame`, encodes the envelope again and decodes that output.
fn reencode_frame(frame: &str) -> Result<ExpectedEnvelope, String> {
    let env = warp_proto::envelope::Envelope::decode(frame).map_err(|e| e.to_string())?;
    let text = env.to_string();
    let again = warp_proto::envelope::Envelope::decode(&text)
        .map_err(|e| format!("our encoding {:?} does not decode: {}", text, e))?;
    envelope_as_expected(&again).map_err(|e| format!("our encoding {:?}: {}", text, e))
}

/// `want` with node and lane as the encoder writes them (percent-encoded where needed).
fn percent_encoded(want: &ExpectedEnvelope) -> ExpectedEnvelope {
    let encode = |s: &Option<String>| {
        s.as_ref().map(|s| {
            let mut out = String::new();
            // Writing to a String cannot fail.
            let _ = warp_proto::envelope::write_uri(s, &mut out);
            out
        })
    };
    ExpectedEnvelope {
        node: encode(&want.node),
        lane: encode(&want.lane),
        ..want.clone()
    }
}

/// Where `got` differs from `want`, in words (`None` when they match).
fn envelope_difference(got: &ExpectedEnvelope, want: &ExpectedEnvelope) -> Option<String> {
    if got.tag != want.tag {
        return Some(format!(
            "decoded tag {:?}, expected {:?}",
            got.tag, want.tag
        ));
    }
    if got.node != want.node {
        return Some(format!(
            "decoded node {:?}, expected {:?}",
            got.node, want.node
        ));
    }
    if got.lane != want.lane {
        return Some(format!(
            "decoded lane {:?}, expected {:?}",
            got.lane, want.lane
        ));
    }
    let link = matches!(got.tag.as_str(), "link" | "sync" | "linked");
    // prio and rate are f32 in every reference; 0 and absent are the same.
    let same = |a: f64, b: f64| {
        let (a, b) = (a as f32, b as f32);
        a == b || (a.is_nan() && b.is_nan())
    };
    if link && !same(got.prio, want.prio) {
        return Some(format!("decoded prio {}, expected {}", got.prio, want.prio));
    }
    if link && !same(got.rate, want.rate) {
        return Some(format!("decoded rate {}, expected {}", got.rate, want.rate));
    }
    if !same_value(&got.body, &want.body) {
        return Some("decoded a different body".into());
    }
    None
}

fn malformed(input: String, reason: String) -> (LineKind, String, Check) {
    (
        LineKind::Malformed,
        input,
        Check::new(Outcome::Fail(reason), "a vector line", "(not checked)"),
    )
}

/// Checks one line of a vector file (already known not to be blank).
///
/// Returns the line's kind, its input as a JSON string literal, and the check.
pub fn check_line(text: &str) -> (LineKind, String, Check) {
    let json = match parse_json(text) {
        Ok(json) => json,
        Err(e) => return malformed(json_string(text), format!("not a JSON line: {}", e)),
    };
    if !matches!(json, Json::Object(_)) {
        return malformed(
            json_string(text),
            format!(
                "a vector line must be a JSON object, got {}",
                json.type_name()
            ),
        );
    }
    let recon = json.get("recon");
    let frame = json.get("frame");
    let value = json.get("value");
    let envelope = json.get("envelope");
    let why = json.get("why");
    let (input, is_frame) = match (recon, frame) {
        (Some(r), None) => (r, false),
        (None, Some(f)) => (f, true),
        (Some(_), Some(_)) => {
            return malformed(
                json_string(text),
                "a vector line has `recon` or `frame`, not both".into(),
            )
        }
        (None, None) if json.get("kind").is_some() => {
            return match crate::disagreements::check_entry(&json) {
                Ok((input, check)) => (LineKind::Disagreement, input, check),
                Err(e) => malformed(json_string(text), format!("bad disagreements entry: {}", e)),
            };
        }
        (None, None) => {
            return malformed(
                json_string(text),
                "not a vector line: no `recon`, `frame` or `kind` member".into(),
            );
        }
    };
    let field = if is_frame { "frame" } else { "recon" };
    let Some(input) = input.as_str() else {
        return malformed(
            json_string(text),
            format!("`{}` must be a string, got {}", field, input.type_name()),
        );
    };
    let shown = json_string(input);
    let why = match why {
        None => None,
        Some(Json::String(s)) => Some(s.as_str()),
        Some(other) => {
            return malformed(
                shown,
                format!("`why` must be a string, got {}", other.type_name()),
            )
        }
    };
    let bad_shape = |reason: String| malformed(shown.clone(), reason);
    if is_frame {
        if value.is_some() {
            return bad_shape("a `frame` line carries `envelope` or `why`, not `value`".into());
        }
        let expectation = match (envelope, why) {
            (Some(env), None) => match ExpectedEnvelope::from_json(env) {
                Ok(env) => FrameExpectation::Envelope(env),
                Err(e) => return bad_shape(format!("bad `envelope`: {}", e)),
            },
            (None, Some(why)) => FrameExpectation::Reject { why: why.into() },
            (Some(_), Some(_)) => {
                return bad_shape("a `frame` line has `envelope` or `why`, not both".into())
            }
            (None, None) => return bad_shape("a `frame` line needs `envelope` or `why`".into()),
        };
        let kind = match expectation {
            FrameExpectation::Envelope(_) => LineKind::FrameValid,
            FrameExpectation::Reject { .. } => LineKind::FrameInvalid,
        };
        let check = check_frame_line(input, &expectation);
        (kind, shown, check)
    } else {
        if envelope.is_some() {
            return bad_shape("a `recon` line carries `value` or `why`, not `envelope`".into());
        }
        match (value, why) {
            (Some(v), None) => match value_from_json(v) {
                Ok(expected) => (
                    LineKind::ReconValid,
                    shown,
                    check_recon_valid(input, &expected),
                ),
                Err(e) => bad_shape(format!("bad `value`: {}", e)),
            },
            (None, Some(why)) => (
                LineKind::ReconInvalid,
                shown,
                check_recon_invalid(input, why),
            ),
            (Some(_), Some(_)) => bad_shape("a `recon` line has `value` or `why`, not both".into()),
            (None, None) => bad_shape("a `recon` line needs `value` or `why`".into()),
        }
    }
}

/// Checks every non-blank line of `bytes`, the contents of the vector file `file`.
///
/// Lines end at `\n` (a `\r` before it is dropped); a line that is not UTF-8 fails.
pub fn check_bytes(file: &str, bytes: &[u8]) -> Vec<LineResult> {
    let mut results = Vec::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = index + 1;
        let (kind, input, check) = match std::str::from_utf8(raw) {
            Err(e) => malformed(
                json_string(&String::from_utf8_lossy(raw)),
                format!("line is not valid UTF-8: {}", e),
            ),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => check_line(text),
        };
        results.push(LineResult {
            file: file.to_string(),
            line,
            kind,
            input,
            expected: check.expected,
            actual: check.actual,
            outcome: check.outcome,
        });
    }
    results
}

/// Reads and checks the vector file at `path` (named in results as `path` displays).
pub fn check_file(path: &Path) -> std::io::Result<Vec<LineResult>> {
    let bytes = std::fs::read(path)?;
    Ok(check_bytes(&path.display().to_string(), &bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_and_outcome(line: &str) -> (LineKind, Outcome) {
        let (kind, _, check) = check_line(line);
        (kind, check.outcome)
    }

    #[test]
    fn malformed_lines_fail_with_a_reason() {
        for line in [
            "not json",
            "[1]",
            r#"{"input": "1"}"#,
            r#"{"kind": "recon-parse", "input": "1"}"#,
            r#"{"kind": 1, "input": "1"}"#,
            r#"{"recon": 1, "value": {"int": "1"}}"#,
            r#"{"recon": "1"}"#,
            r#"{"recon": "1", "value": {"int": "1"}, "why": "x"}"#,
            r#"{"recon": "1", "value": {"number": "1"}}"#,
            r#"{"recon": "1", "envelope": {"tag": "auth", "body": {"absent": null}}}"#,
            r#"{"recon": "1", "frame": "1", "why": "x"}"#,
            r#"{"frame": "@auth"}"#,
            r#"{"frame": "@auth", "value": {"int": "1"}}"#,
            r#"{"frame": "@auth", "envelope": {"body": {"absent": null}}}"#,
            r#"{"frame": "@auth", "why": 3}"#,
        ] {
            let (kind, outcome) = kind_and_outcome(line);
            assert_eq!(kind, LineKind::Malformed, "{}", line);
            assert!(outcome.is_fail(), "{}", line);
        }
    }

    #[test]
    fn frame_lines_go_to_the_envelope_hook() {
        let (kind, outcome) = kind_and_outcome(
            r#"{"frame": "@auth", "envelope": {"tag": "auth", "body": {"absent": null}}, "canonical": "@auth"}"#,
        );
        assert_eq!(kind, LineKind::FrameValid);
        assert!(!outcome.is_fail());
        let (kind, _) = kind_and_outcome(r#"{"frame": "", "why": "null envelope"}"#);
        assert_eq!(kind, LineKind::FrameInvalid);
    }

    #[test]
    fn blank_lines_are_ignored_and_numbering_is_physical() {
        let text = b"\n{\"frame\": \"\", \"why\": \"x\"}\r\n  \n\xff\n";
        let results = check_bytes("f.jsonl", text);
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].line, 2);
        assert_eq!(results[1].line, 4);
        assert!(results[1].outcome.is_fail());
    }

    #[test]
    fn summary_mentions_skipped_only_when_some_are() {
        let mut s = Summary::default();
        s.add(&Outcome::Pass);
        s.add(&Outcome::Fail("x".into()));
        assert_eq!(s.to_string(), "1 passed, 1 failed");
        s.add(&Outcome::Skipped("y".into()));
        assert_eq!(s.to_string(), "1 passed, 1 failed, 1 skipped");
    }

    #[test]
    fn diagnostics_stay_on_one_line() {
        let r = LineResult {
            file: "f".into(),
            line: 3,
            kind: LineKind::ReconValid,
            input: json_string("a\nb"),
            expected: "x\ny".into(),
            actual: "z".into(),
            outcome: Outcome::Fail("multi\nline".into()),
        };
        let shown = r.to_string();
        assert!(!shown.contains('\n'), "{}", shown);
        assert!(
            shown.starts_with("f:3: FAIL: multi\\nline: input \"a\\nb\""),
            "{}",
            shown
        );
    }

    #[test]
    fn panics_are_caught_as_messages() {
        assert_eq!(catch_panic(|| 1), Ok(1));
        let r: Result<(), String> = catch_panic(|| panic!("boom {}", 7));
        assert_eq!(r, Err("boom 7".to_string()));
    }
}
