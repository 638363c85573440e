//! The entries of `vectors/disagreements.jsonl`: inputs on which the Java, JS and Rust
//! references differ, and the outcome the project's PROFILE.md prescribes for each.
//!
//! An entry is `{"kind", "input", "java", "js", "rust"}` (plus `rust_allow_comments` on some).
//! For `kind` = `recon-parse`, each reference's result is `{"value": VALUE}` or
//! `{"error": MESSAGE}`, and [`decide_recon_parse`] derives our expected outcome, in this
//! order:
//!
//! 1. **Java and JS both reject**: so must we.
//! 2. **Expressions are rejected.** If the Java or JS result is not a plain data value (an
//!    `other` member: an operator, selector or lambda object), or the input uses operator,
//!    selector, invocation or `(x)` grouping syntax outside strings, comments, data and markup
//!    ([`expression_syntax`]), the input must be rejected, whatever the references made of it.
//! 3. **Java and JS agree** on a value ([`same_value`]): so must we.
//! 4. **Java and JS disagree**, decided by PROFILE.md where it speaks:
//!    - an integer literal (decimal or `0x` hex, optional `-`) reads as its exact value
//!      ("Integers are exact"; this also makes `-0` the integer 0, as in Java);
//!    - a single double-quoted string reads with surrogate pairs joined and lone surrogates as
//!      U+FFFD;
//!    - when one accepts and the other rejects an input with a separator directly before `)`
//!      or `}`, the accepting reading stands ("A separator directly before `}` or `)` adds
//!      nothing");
//!    - otherwise the entry is [`Expect::Undecided`].
//!
//! `recon-print` entries (all three references parse the input to the same value and print it
//! differently) are checked for acceptance only: printed forms are information (PROFILE.md).
//!
//! For `kind` = `warp-parse`, each reference's result is `{"envelope": ENVELOPE}` or
//! `{"error": MESSAGE}`, and [`decide_warp_parse`] derives the expected outcome:
//!
//! 1. **Java and JS both reject**: so must we.
//! 2. **Java and JS agree** on an envelope: so must we (this is where `{}` reads as Absent).
//! 3. **Java and JS disagree**, decided by PROFILE.md where it speaks:
//!    - a body that is an integer literal reads as its exact value (Java's reading);
//!    - a separator directly before `)` adds nothing: the accepting reading stands;
//!    - otherwise PROFILE.md is silent, and SwimOS (the `rust` result) is the reference: the
//!      Java or JS reading that SwimOS shares stands (node or lane that is not text, a `prio`
//!      that is not a number).
//!    - an entry none of these decide is skipped as undecided.

use num_bigint::BigInt;
use warp_proto::recon::ident::{is_ident_char, is_ident_start};
use warp_proto::recon::Value;

use crate::json::ExpectedEnvelope;
use crate::json::{json_string, same_value, value_from_json, value_to_json, Json, ShapeError};
use crate::vectors::{
    check_frame_line, check_recon_invalid, parse_recon, Check, FrameExpectation, Outcome,
};

/// What PROFILE.md makes of a `recon-parse` entry.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// The input must parse to this value.
    Accept(Value),
    /// The input must be rejected.
    Reject,
    /// The profile does not decide between the references.
    Undecided,
}

/// The expected outcome of a `recon-parse` entry and the rule that decided it.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The expected outcome.
    pub expect: Expect,
    /// Which rule decided, in words.
    pub rule: String,
    /// Whether the input is rejected because it is an expression (PROFILE.md wants the error
    /// to say expressions are not supported).
    pub expression: bool,
}

fn decide(expect: Expect, rule: &str) -> Decision {
    Decision {
        expect,
        rule: rule.to_string(),
        expression: false,
    }
}

/// A reference's result in an entry: `Ok(json value)` or `Err(message)`.
fn reference_result<'j>(
    entry: &'j Json,
    who: &str,
) -> Result<Result<&'j Json, String>, ShapeError> {
    let r = entry
        .get(who)
        .ok_or_else(|| ShapeError(format!("entry has no `{}`", who)))?;
    match (r.get("value"), r.get("error")) {
        (Some(v), None) => Ok(Ok(v)),
        (None, Some(e)) => Ok(Err(e.as_str().unwrap_or("").to_string())),
        _ => Err(ShapeError(format!(
            "`{}` must have `value` or `error`: {}",
            who, r
        ))),
    }
}

/// Whether a reference value holds a non-data (`other`) member anywhere.
fn contains_other(json: &Json) -> bool {
    match json {
        Json::Object(members) => members
            .iter()
            .any(|(k, v)| k == "other" || contains_other(v)),
        Json::Array(items) => items.iter().any(contains_other),
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Close {
    Brace,
    Paren,
}

/// A lexical scan for Recon expression syntax outside strings, raw strings, comments, data and
/// markup text.
struct Scanner {
    chars: Vec<char>,
    at: usize,
}

impl Scanner {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0);
        if c.is_some() {
            self.at += 1;
        }
        c
    }

    fn bump_if(&mut self, c: char) -> bool {
        if self.peek(0) == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn skip_while(&mut self, f: impl Fn(char) -> bool) {
        while self.peek(0).is_some_and(&f) {
            self.at += 1;
        }
    }

    fn skip_quoted(&mut self, quote: char) {
        while let Some(c) = self.bump() {
            if c == '\\' {
                self.bump();
            } else if c == quote {
                return;
            }
        }
    }

    /// After an opening backtick: a ```` ``` ```` block or a `` ` `` raw string.
    fn skip_raw(&mut self) {
        if self.peek(0) == Some('`') && self.peek(1) == Some('`') {
            self.at += 2;
            while self.peek(0).is_some() {
                if (0..3).all(|i| self.peek(i) == Some('`')) {
                    self.at += 3;
                    return;
                }
                self.at += 1;
            }
        } else {
            self.skip_quoted('`');
        }
    }

    fn skip_number(&mut self) {
        self.bump_if('-');
        if self.peek(0) == Some('0') && self.peek(1) == Some('x') {
            self.at += 2;
            self.skip_while(|c| c.is_ascii_hexdigit());
            return;
        }
        self.skip_while(|c| c.is_ascii_digit());
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
            self.skip_while(|c| c.is_ascii_digit());
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek(1), Some('+' | '-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                self.at += 1 + sign;
                self.skip_while(|c| c.is_ascii_digit());
            }
        }
    }

    /// After `@`: the name, then `(` opening arguments when it follows directly.
    fn attr(&mut self, stack: &mut Vec<Close>) {
        match self.peek(0) {
            Some(q @ ('"' | '\'')) => {
                self.at += 1;
                self.skip_quoted(q);
            }
            Some(c) if is_ident_start(c) => self.skip_while(is_ident_char),
            _ => return,
        }
        if self.bump_if('(') {
            stack.push(Close::Paren);
        }
    }

    /// After `[`: text up to the matching `]`; `{...}` blocks and `@attr(...)` inside are Recon.
    fn markup(&mut self) -> Option<String> {
        let mut depth = 1usize;
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        return None;
                    }
                }
                '{' => {
                    if let Some(found) = self.recon(&mut vec![Close::Brace]) {
                        return Some(found);
                    }
                }
                '@' => {
                    let mut inner = Vec::new();
                    self.attr(&mut inner);
                    if !inner.is_empty() {
                        if let Some(found) = self.recon(&mut inner) {
                            return Some(found);
                        }
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Scans Recon until `stack` empties (when it starts non-empty) or the input ends.
    fn recon(&mut self, stack: &mut Vec<Close>) -> Option<String> {
        let nested = !stack.is_empty();
        while let Some(c) = self.peek(0) {
            match c {
                '"' | '\'' => {
                    self.at += 1;
                    self.skip_quoted(c);
                }
                '`' => {
                    self.at += 1;
                    self.skip_raw();
                }
                '#' => self.skip_while(|c| c != '\n'),
                '%' => {
                    self.at += 1;
                    self.skip_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
                }
                '@' => {
                    self.at += 1;
                    self.attr(stack);
                }
                '{' => {
                    self.at += 1;
                    stack.push(Close::Brace);
                }
                '}' | ')' => {
                    self.at += 1;
                    let want = if c == '}' { Close::Brace } else { Close::Paren };
                    if stack.last() == Some(&want) {
                        stack.pop();
                        if nested && stack.is_empty() {
                            return None;
                        }
                    }
                }
                '(' => return Some("`(` grouping or invocation".into()),
                '[' => {
                    self.at += 1;
                    if let Some(found) = self.markup() {
                        return Some(found);
                    }
                }
                '-' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => self.skip_number(),
                d if d.is_ascii_digit() => self.skip_number(),
                '-' => return Some("`-` operator".into()),
                '$' => return Some("`$` selector".into()),
                '+' | '*' | '/' | '!' | '~' | '^' | '&' | '|' | '<' | '>' | '=' | '?' => {
                    return Some(format!("`{}` operator", c))
                }
                c if is_ident_start(c) => self.skip_while(is_ident_char),
                _ => self.at += 1,
            }
        }
        None
    }
}

/// The first token of Recon expression syntax in `input` (an operator, a `$` selector, an
/// invocation or `(x)` grouping), found lexically outside strings, raw strings, comments, data
/// and markup text; `None` if there is none.
///
/// ```
/// use conformance::disagreements::expression_syntax;
/// assert!(expression_syntax("1 + 2").is_some());
/// assert!(expression_syntax("@a (1)").is_some());
/// assert_eq!(expression_syntax("{a-b:-1,c:\"1+2\"}@d(1)"), None);
/// ```
pub fn expression_syntax(input: &str) -> Option<String> {
    Scanner {
        chars: input.chars().collect(),
        at: 0,
    }
    .recon(&mut Vec::new())
}

/// The exact value of `input` if it is an integer literal: `-`? then `0`, `[1-9][0-9]*` or
/// `0x` and hex digits; in the canonical variant documented on [`Value`].
pub fn integer_literal(input: &str) -> Option<Value> {
    let (negative, body) = match input.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, input),
    };
    let magnitude = if let Some(hex) = body.strip_prefix("0x") {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        BigInt::parse_bytes(hex.as_bytes(), 16)?
    } else {
        let decimal = body == "0"
            || (body.bytes().all(|b| b.is_ascii_digit())
                && body
                    .bytes()
                    .next()
                    .is_some_and(|b| (b'1'..=b'9').contains(&b)));
        if !decimal {
            return None;
        }
        BigInt::parse_bytes(body.as_bytes(), 10)?
    };
    let exact = if negative { -magnitude } else { magnitude };
    Some(if let Ok(i) = i64::try_from(&exact) {
        Value::Int(i)
    } else if let Ok(u) = u64::try_from(&exact) {
        Value::UInt(u)
    } else {
        Value::BigInt(exact)
    })
}

/// The text of `input` if it is exactly one double-quoted string, decoded by the profile's
/// rules (the Java/JS escapes; `\u` surrogate pairs joined, lone surrogates U+FFFD). `None` if
/// it is anything else or holds an escape or character a quoted string may not.
pub fn quoted_string(input: &str) -> Option<String> {
    fn flush(units: &mut Vec<u16>, out: &mut String) {
        out.extend(
            char::decode_utf16(units.drain(..)).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)),
        );
    }
    let inner = input.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut units: Vec<u16> = Vec::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => {
                let e = chars.next()?;
                if e == 'u' {
                    let hex: String = chars.by_ref().take(4).collect();
                    if hex.len() != 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    units.push(u16::from_str_radix(&hex, 16).ok()?);
                    continue;
                }
                flush(&mut units, &mut out);
                out.push(match e {
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    '"' | '\\' | '/' | '\'' | '@' | '$' | '[' | ']' | '{' | '}' => e,
                    _ => return None,
                });
            }
            c if c.is_control() => return None,
            c => {
                flush(&mut units, &mut out);
                out.push(c);
            }
        }
    }
    flush(&mut units, &mut out);
    Some(out)
}

/// Whether a separator (`,`, `;` or a newline, then optional spaces or tabs) stands directly
/// before a `)` or `}` in `input`.
pub fn separator_before_close(input: &str) -> bool {
    let mut last_significant = None;
    for c in input.chars() {
        if matches!(c, ')' | '}') && matches!(last_significant, Some(',' | ';' | '\n')) {
            return true;
        }
        if !matches!(c, ' ' | '\t' | '\r') {
            last_significant = Some(c);
        }
    }
    false
}

/// Derives our expected outcome for a `recon-parse` entry (see the module docs for the rules).
pub fn decide_recon_parse(entry: &Json) -> Result<Decision, ShapeError> {
    let input = entry
        .get("input")
        .and_then(Json::as_str)
        .ok_or_else(|| ShapeError("entry has no string `input`".into()))?;
    let java = reference_result(entry, "java")?;
    let js = reference_result(entry, "js")?;
    if java.is_err() && js.is_err() {
        return Ok(decide(Expect::Reject, "Java and JS both reject"));
    }
    let other = [&java, &js]
        .iter()
        .any(|r| matches!(r, Ok(v) if contains_other(v)));
    let syntax = expression_syntax(input);
    if other || syntax.is_some() {
        let why = match syntax {
            Some(token) => format!("expression syntax ({})", token),
            None => "a reference read an expression object".to_string(),
        };
        return Ok(Decision {
            expect: Expect::Reject,
            rule: format!("PROFILE: expressions are rejected: {}", why),
            expression: true,
        });
    }
    let (java_value, js_value) = match (java, js) {
        (Err(_), Err(_)) => (None, None),
        (Ok(a), Ok(b)) => {
            let (a, b) = (value_from_json(a)?, value_from_json(b)?);
            if same_value(&a, &b) {
                return Ok(decide(Expect::Accept(a), "Java and JS agree"));
            }
            (Some(a), Some(b))
        }
        (Ok(a), Err(_)) => (Some(value_from_json(a)?), None),
        (Err(_), Ok(b)) => (None, Some(value_from_json(b)?)),
    };
    // Java and JS disagree.
    if let Some(exact) = integer_literal(input) {
        return Ok(decide(
            Expect::Accept(exact),
            "PROFILE: integers are exact (Java's reading)",
        ));
    }
    if let Some(text) = quoted_string(input) {
        return Ok(decide(
            Expect::Accept(Value::Text(text)),
            "PROFILE: surrogate pairs join, lone surrogates become U+FFFD",
        ));
    }
    if separator_before_close(input) {
        if let (Some(v), None) | (None, Some(v)) = (java_value, js_value) {
            return Ok(decide(
                Expect::Accept(v),
                "PROFILE: a separator directly before `)` or `}` adds nothing",
            ));
        }
    }
    Ok(decide(
        Expect::Undecided,
        "Java and JS disagree and PROFILE.md does not decide",
    ))
}

/// Checks `input` against a decision: [`Expect::Accept`] and [`Expect::Reject`] as the vector
/// checks do, [`Expect::Undecided`] is skipped. The expected text names the deciding rule.
pub fn check_decision(input: &str, decision: &Decision) -> Check {
    let mut check = match &decision.expect {
        Expect::Accept(v) => crate::vectors::check_recon_valid(input, v),
        Expect::Reject => check_recon_invalid(input, &decision.rule),
        Expect::Undecided => Check {
            outcome: Outcome::Skipped(decision.rule.clone()),
            expected: "(undecided)".into(),
            actual: "(not checked)".into(),
        },
    };
    match decision.expect {
        Expect::Reject => check.expected = format!("an error [{}]", decision.rule),
        Expect::Accept(_) => check.expected = format!("{} [{}]", check.expected, decision.rule),
        Expect::Undecided => {}
    }
    check
}

/// Checks a `recon-print` entry: all three references accept the input, so must we (the
/// printed forms are information).
pub fn check_recon_print(input: &str) -> Check {
    let expected = "accepted (all three references parse it)".to_string();
    match parse_recon(input) {
        Ok(Ok(value)) => Check {
            outcome: Outcome::Pass,
            expected,
            actual: value_to_json(&value).to_string(),
        },
        Ok(Err(e)) => Check {
            outcome: Outcome::Fail("rejected an input all references accept".into()),
            expected,
            actual: format!("error: {}", e),
        },
        Err(panic) => Check {
            outcome: Outcome::Fail("the parser panicked".into()),
            expected,
            actual: format!("panic: {}", panic),
        },
    }
}

/// A reference's result in a `warp-parse` entry: `Ok(envelope json)` or `Err(message)`.
fn envelope_result<'j>(entry: &'j Json, who: &str) -> Result<Result<&'j Json, String>, ShapeError> {
    let r = entry
        .get(who)
        .ok_or_else(|| ShapeError(format!("entry has no `{}`", who)))?;
    match (r.get("envelope"), r.get("error")) {
        (Some(v), None) => Ok(Ok(v)),
        (None, Some(e)) => Ok(Err(e.as_str().unwrap_or("").to_string())),
        _ => Err(ShapeError(format!(
            "`{}` must have `envelope` or `error`: {}",
            who, r
        ))),
    }
}

/// The byte index just past an envelope frame's header (its closing `)`), or `None` if the
/// frame has no argument list or it never closes.
fn header_end(input: &str) -> Option<usize> {
    let open = input.find('(')?;
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in input.char_indices().skip_while(|&(i, _)| i < open) {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The body text of an envelope frame (what follows the header), trimmed.
fn frame_body(input: &str) -> Option<&str> {
    input.get(header_end(input)?..).map(str::trim)
}

/// Whether whitespace separates the header from a non-empty body that is valid Recon on its
/// own (so the whitespace is the only thing a reference could object to).
fn whitespace_before_body(input: &str) -> bool {
    header_end(input)
        .and_then(|end| input.get(end..))
        .is_some_and(|rest| {
            rest.starts_with(char::is_whitespace)
                && !rest.trim().is_empty()
                && matches!(parse_recon(rest.trim()), Ok(Ok(_)))
        })
}

/// The node and lane of an envelope frame's header as Recon values (named `node:`/`lane:`
/// arguments, the last one winning, or the first two positional values), read with the Recon
/// parser alone. `None` when the header is not Recon, or the tag is host-addressed (`auth`,
/// `authed`, `deauth`, `deauthed` have no node or lane).
fn header_node_lane(input: &str) -> Option<(Option<Value>, Option<Value>)> {
    use warp_proto::recon::Item;
    let header = input.get(..header_end(input)?)?;
    let value = parse_recon(header).ok()?.ok()?;
    let args = match value.items().first()? {
        Item::Attr(tag, _) if matches!(tag.as_str(), "auth" | "authed" | "deauth" | "deauthed") => {
            return None
        }
        Item::Attr(_, args) => args.clone(),
        _ => return None,
    };
    let items = match args {
        Value::Record(items) => items,
        Value::Absent => Vec::new(),
        single => vec![Item::Value(single)],
    };
    let (mut node, mut lane) = (None, None);
    for (position, item) in items.into_iter().enumerate() {
        match (position, item) {
            (_, Item::Slot(Value::Text(key), v)) if key == "node" => node = Some(v),
            (_, Item::Slot(Value::Text(key), v)) if key == "lane" => lane = Some(v),
            (0, Item::Value(v)) => node = Some(v),
            (1, Item::Value(v)) => lane = Some(v),
            _ => {}
        }
    }
    Some((node, lane))
}

/// Whether a header argument value is text in PROFILE.md's sense (an identifier or string;
/// `true`/`false` read as text too), and not empty.
fn is_header_text(value: &Option<Value>) -> bool {
    matches!(value, Some(Value::Text(_)) | Some(Value::Bool(_)))
}

/// Whether text holds a character a URI does not allow unescaped (space, quote, non-ASCII...).
fn uri_unsafe(value: &Option<Value>) -> bool {
    match value {
        Some(Value::Text(t)) => t.chars().any(|c| {
            !c.is_ascii()
                || c.is_ascii_whitespace()
                || c.is_ascii_control()
                || matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
        }),
        _ => false,
    }
}

/// A decided `warp-parse` outcome and the rule that decided it.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameDecision {
    /// What the decoder must do, or `None` if undecided.
    pub expect: Option<FrameExpectation>,
    /// Which rule decided, in words.
    pub rule: String,
}

/// Derives our expected outcome for a `warp-parse` entry (see the module docs for the rules).
pub fn decide_warp_parse(entry: &Json) -> Result<FrameDecision, ShapeError> {
    let input = entry
        .get("input")
        .and_then(Json::as_str)
        .ok_or_else(|| ShapeError("entry has no string `input`".into()))?;
    let java = envelope_result(entry, "java")?;
    let js = envelope_result(entry, "js")?;
    let rust = envelope_result(entry, "rust")?;
    let accept = |json: &Json, rule: &str| -> Result<FrameDecision, ShapeError> {
        Ok(FrameDecision {
            expect: Some(FrameExpectation::Envelope(ExpectedEnvelope::from_json(
                json,
            )?)),
            rule: rule.to_string(),
        })
    };
    let reject = |why: &str, rule: &str| FrameDecision {
        expect: Some(FrameExpectation::Reject { why: why.into() }),
        rule: rule.to_string(),
    };
    // PROFILE.md "Reading envelopes" first: it overrides any reference.
    if let Some((node, lane)) = header_node_lane(input) {
        if !is_header_text(&node) || !is_header_text(&lane) {
            return Ok(reject(
                "node or lane is not text",
                "PROFILE: node and lane are text; empty or missing is an error",
            ));
        }
        if (uri_unsafe(&node) || uri_unsafe(&lane) || whitespace_before_body(input))
            && java.is_err()
            && js.is_err()
        {
            if let Ok(env) = &rust {
                return accept(
                    env,
                    "PROFILE: node and lane are read as text, not URIs; whitespace before the body is accepted",
                );
            }
        }
    }
    match (&java, &js) {
        (Err(a), Err(_)) => return Ok(reject(a, "Java and JS both reject")),
        (Ok(a), Ok(b)) if a == b => return accept(a, "Java and JS agree"),
        _ => {}
    }
    // Java and JS disagree.
    if let (Some(body), Ok(java_env)) = (frame_body(input), &java) {
        if integer_literal(body).is_some() {
            return accept(java_env, "PROFILE: integers are exact (Java's reading)");
        }
    }
    if separator_before_close(input) {
        if let (Ok(v), Err(_)) | (Err(_), Ok(v)) = (&java, &js) {
            return accept(v, "PROFILE: a separator directly before `)` adds nothing");
        }
    }
    let silent = "PROFILE.md is silent; SwimOS's reading stands";
    for reading in [&java, &js] {
        match (reading, &rust) {
            (Err(why), Err(_)) => return Ok(reject(why, silent)),
            (Ok(a), Ok(b)) if a == b => return accept(a, silent),
            _ => {}
        }
    }
    Ok(FrameDecision {
        expect: None,
        rule: "Java, JS and SwimOS all disagree and PROFILE.md does not decide".into(),
    })
}

/// Checks one disagreements entry (a JSON object with `kind`). Returns the entry's input as a
/// JSON string literal and the check.
pub fn check_entry(entry: &Json) -> Result<(String, Check), ShapeError> {
    let kind = entry
        .get("kind")
        .and_then(Json::as_str)
        .ok_or_else(|| ShapeError("`kind` must be a string".into()))?;
    let input = entry
        .get("input")
        .and_then(Json::as_str)
        .ok_or_else(|| ShapeError("entry has no string `input`".into()))?;
    let shown = json_string(input);
    match kind {
        "recon-parse" => {
            let decision = decide_recon_parse(entry)?;
            Ok((shown, check_decision(input, &decision)))
        }
        "recon-print" => Ok((shown, check_recon_print(input))),
        "warp-parse" => {
            let decision = decide_warp_parse(entry)?;
            let check = match &decision.expect {
                Some(expect) => {
                    let mut check = check_frame_line(input, expect);
                    check.expected = format!("{} [{}]", check.expected, decision.rule);
                    check
                }
                None => Check {
                    outcome: Outcome::Skipped(decision.rule.clone()),
                    expected: "(undecided)".into(),
                    actual: "(not checked)".into(),
                },
            };
            Ok((shown, check))
        }
        other => Err(ShapeError(format!(
            "unknown disagreement kind {:?} (expected recon-parse, recon-print or warp-parse)",
            other
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_json;

    #[test]
    fn scanner_finds_operators_selectors_and_grouping() {
        for input in [
            "1 + 2",
            "-a",
            "- 1",
            "--1",
            "$a",
            "a ? b : c",
            "(1)",
            "@a (1)",
            "@a(1)(2)",
            "f(1)",
            "x => x",
            "!true",
            "~1",
            "{a:1+2}",
            "[a{$b}]",
            "%-_-_",
            "[x@a($b)]",
        ] {
            assert!(expression_syntax(input).is_some(), "{:?}", input);
        }
        for input in [
            "-1",
            "1e-5",
            "a-b",
            "@a(-1)",
            "\"1+2\"",
            "'$'",
            "`a+b`",
            "```a`b+```",
            "# a+b\n1",
            "%AQ==",
            "[a+b]",
            "@a(x:1)",
            "{-1:-2}",
            "-0x1",
            "1.5E+3",
            "[a\\]+]",
            "@\"a(\"(1)",
        ] {
            assert_eq!(expression_syntax(input), None, "{:?}", input);
        }
    }

    #[test]
    fn literals_follow_the_profile() {
        assert_eq!(integer_literal("-0"), Some(Value::Int(0)));
        assert_eq!(
            integer_literal("0x10000000000000000"),
            Some(Value::BigInt(BigInt::from(u64::MAX) + 1u8))
        );
        assert_eq!(
            integer_literal("9223372036854775808"),
            Some(Value::UInt(1 << 63))
        );
        assert_eq!(integer_literal("-0x1"), Some(Value::Int(-1)));
        for bad in ["007", "1.0", "0x", "+1", "", "-", "1e5"] {
            assert_eq!(integer_literal(bad), None, "{:?}", bad);
        }
        assert_eq!(
            quoted_string(r#""\uD83D\uDE00""#).as_deref(),
            Some("\u{1F600}")
        );
        assert_eq!(quoted_string(r#""\ud800""#).as_deref(), Some("\u{FFFD}"));
        assert_eq!(
            quoted_string(r#""\ude00\ud83d""#).as_deref(),
            Some("\u{FFFD}\u{FFFD}")
        );
        assert_eq!(quoted_string(r#""a\/\@""#).as_deref(), Some("a/@"));
        assert_eq!(quoted_string(r#""a"b""#), None);
        assert_eq!(quoted_string(r#""\x""#), None);
        assert!(separator_before_close("@a(1,)"));
        assert!(separator_before_close("@a(\n1\n)"));
        assert!(separator_before_close("{a; }"));
        assert!(!separator_before_close("@a(1)"));
    }

    fn decision(line: &str) -> Decision {
        decide_recon_parse(&parse_json(line).expect("json")).expect("entry")
    }

    #[test]
    fn decisions_apply_the_rules_in_order() {
        let d = decision(
            r#"{"kind": "recon-parse", "input": "(1)", "java": {"value": {"int": "1"}}, "js": {"value": {"int": "1"}}, "rust": {"error": "x"}}"#,
        );
        assert_eq!((d.expect, d.expression), (Expect::Reject, true));
        let d = decision(
            r#"{"kind": "recon-parse", "input": "%AQ==%AQ==", "java": {"value": {"other": "x"}}, "js": {"value": {"other": "y"}}, "rust": {"value": {"data": "AQ=="}}}"#,
        );
        assert_eq!((d.expect, d.expression), (Expect::Reject, true));
        let d = decision(
            r#"{"kind": "recon-parse", "input": "-0", "java": {"value": {"int": "0"}}, "js": {"value": {"float": "-0.0"}}, "rust": {"value": {"int": "0"}}}"#,
        );
        assert_eq!(d.expect, Expect::Accept(Value::Int(0)));
        let d = decision(
            r#"{"kind": "recon-parse", "input": "@a(1,)", "java": {"error": "x"}, "js": {"value": {"record": [{"attr": ["a", {"int": "1"}]}]}}, "rust": {"error": "x"}}"#,
        );
        assert!(matches!(d.expect, Expect::Accept(Value::Record(_))));
        let d = decision(
            r#"{"kind": "recon-parse", "input": "{a}", "java": {"value": {"text": "a"}}, "js": {"value": {"text": "b"}}, "rust": {"error": "x"}}"#,
        );
        assert_eq!(d.expect, Expect::Undecided);
        let d = decision(
            r#"{"kind": "recon-parse", "input": "a", "java": {"error": "x"}, "js": {"error": "y"}, "rust": {"value": {"text": "a"}}}"#,
        );
        assert_eq!((d.expect, d.expression), (Expect::Reject, false));
    }

    #[test]
    fn malformed_entries_are_errors() {
        for line in [
            r#"{"kind": "recon-parse", "input": "1", "java": {"value": {"int": "1"}}}"#,
            r#"{"kind": "recon-parse", "input": "1", "java": {}, "js": {"error": "x"}}"#,
            r#"{"kind": "recon-parse", "java": {"error": "x"}, "js": {"error": "x"}}"#,
            r#"{"kind": "nope", "input": "1"}"#,
        ] {
            assert!(check_entry(&parse_json(line).unwrap()).is_err(), "{}", line);
        }
    }
}
