//! Case results, their summary line and the table and JSON forms the runner prints.

use std::fmt;

use crate::json::json_string;

/// Whether a case's outcome counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// PROFILE.md (or RFC 6455 for the WebSocket layer) prescribes the behaviour: a deviation
    /// is a failure.
    Required,
    /// The references disagree and PROFILE.md does not decide: the runner records what the
    /// peer does, and it is never a failure.
    Informative,
}

impl Basis {
    /// `required` or `informative`.
    pub fn name(self) -> &'static str {
        match self {
            Basis::Required => "required",
            Basis::Informative => "informative",
        }
    }
}

/// The outcome of one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The peer behaved as the case requires.
    Pass,
    /// The peer deviated; the detail says how.
    Fail,
    /// The case was not run; the detail says why.
    Skip,
    /// An informative case: the detail records what the peer did.
    Info,
}

impl Verdict {
    /// `PASS`, `FAIL`, `SKIP` or `INFO`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "SKIP",
            Verdict::Info => "INFO",
        }
    }
}

/// The result of one case: its name, whether it counts, the verdict and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// The case (or trace) name.
    pub name: String,
    /// Whether the case counts.
    pub basis: Basis,
    /// The outcome.
    pub verdict: Verdict,
    /// What was observed: why it passed, how it failed, why it was skipped, or (informative)
    /// what the peer did. One line.
    pub detail: String,
}

impl CaseResult {
    /// A result; newlines in `detail` are replaced by spaces so it stays on one line.
    pub fn new(name: &str, basis: Basis, verdict: Verdict, detail: impl Into<String>) -> Self {
        let detail: String = detail.into();
        CaseResult {
            name: name.to_string(),
            basis,
            verdict,
            detail: detail.replace(['\n', '\r'], " "),
        }
    }

    /// The result as one JSON object:
    /// `{"case":…,"basis":"required","verdict":"pass","detail":…}`.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"case\":{},\"basis\":{},\"verdict\":{},\"detail\":{}}}",
            json_string(&self.name),
            json_string(self.basis.name()),
            json_string(&self.verdict.label().to_ascii_lowercase()),
            json_string(&self.detail)
        )
    }
}

impl fmt::Display for CaseResult {
    /// `NAME: VERDICT (basis): DETAIL`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({}): {}",
            self.name,
            self.verdict.label(),
            self.basis.name(),
            self.detail
        )
    }
}

/// Counts of a run's verdicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaseSummary {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases not run.
    pub skipped: usize,
    /// Informative cases (never failures).
    pub informative: usize,
}

impl CaseSummary {
    /// Counts the verdicts of `results`.
    pub fn of<'r>(results: impl IntoIterator<Item = &'r CaseResult>) -> Self {
        let mut s = CaseSummary::default();
        for r in results {
            match r.verdict {
                Verdict::Pass => s.passed += 1,
                Verdict::Fail => s.failed += 1,
                Verdict::Skip => s.skipped += 1,
                Verdict::Info => s.informative += 1,
            }
        }
        s
    }

    /// The summary as one JSON object.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"passed\":{},\"failed\":{},\"skipped\":{},\"informative\":{}}}",
            self.passed, self.failed, self.skipped, self.informative
        )
    }
}

impl fmt::Display for CaseSummary {
    /// `N passed, M failed`, then `, K skipped` when K > 0 and `, I informative` when I > 0.
    ///
    /// ```
    /// use conformance::suite::report::CaseSummary;
    ///
    /// let s = CaseSummary { passed: 3, failed: 1, skipped: 0, informative: 2 };
    /// assert_eq!(s.to_string(), "3 passed, 1 failed, 2 informative");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)?;
        if self.skipped > 0 {
            write!(f, ", {} skipped", self.skipped)?;
        }
        if self.informative > 0 {
            write!(f, ", {} informative", self.informative)?;
        }
        Ok(())
    }
}

/// The results as a Markdown table (`| case | basis | result | detail |`), one row per case,
/// ending with a newline. `|` in a detail is escaped so the table stays well formed.
///
/// ```
/// use conformance::suite::report::{table, Basis, CaseResult, Verdict};
///
/// let rows = [CaseResult::new("link", Basis::Required, Verdict::Pass, "linked")];
/// assert!(table(&rows).contains("| link | required | PASS | linked |"));
/// ```
pub fn table(results: &[CaseResult]) -> String {
    let mut out = String::from("| case | basis | result | detail |\n| --- | --- | --- | --- |\n");
    for r in results {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.name.replace('|', "\\|"),
            r.basis.name(),
            r.verdict.label(),
            r.detail.replace('|', "\\|")
        ));
    }
    out
}
