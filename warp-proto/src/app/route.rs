//! Node URI patterns such as `/unit/:id`, and the parameters a node URI binds in them.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// One segment of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// Matches a node URI segment that decodes to this text.
    Literal(String),
    /// Binds one node URI segment to this name.
    Param(String),
}

/// A parsed node URI pattern.
///
/// The rules follow the SwimOS route patterns (`swimos_route::RoutePattern`), restricted to
/// absolute paths:
/// - a pattern is `/` followed by one or more non-empty segments separated by `/`;
/// - a segment `:name` captures one segment of the node URI (a non-empty one); names are unique
///   within a pattern and contain no `:`;
/// - a last segment `*` captures the rest of the node URI (one or more characters, slashes
///   included) as [`Params::rest`];
/// - any other segment is a literal, which may be percent-encoded (`/a%20b`).
///
/// Matching percent-decodes each segment of the node URI before comparing it with a literal or
/// binding it to a parameter, as SwimOS does (`/unit/a%2Fb` binds `id` to `a/b`); an invalid
/// escape is kept as written and bytes that are not UTF-8 become U+FFFD. The query (`?…`) and
/// fragment (`#…`) of a node URI take no part in matching. A node URI with a scheme or an
/// authority (`warp://host/unit/1`) matches nothing: WARP clients send node URIs relative to
/// the host.
///
/// ```
/// use warp_proto::app::RoutePattern;
///
/// let pattern = RoutePattern::parse("/unit/:id").unwrap();
/// let params = pattern.matches("/unit/42").unwrap();
/// assert_eq!(params.get("id"), Some("42"));
/// assert!(pattern.matches("/unit").is_none());
/// assert!(pattern.matches("/unit/42/more").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutePattern {
    text: String,
    segments: Vec<Segment>,
    rest: bool,
}

/// What is wrong with a pattern, or with adding it to a [`Router`](super::Router).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteErrorKind {
    /// The pattern does not start with `/`.
    NotAbsolute,
    /// An empty segment (`//`, a trailing `/`, or the pattern `/` alone).
    EmptySegment,
    /// A parameter with an empty name (`/:`) or a name holding `:`.
    BadParamName,
    /// Two parameters with the same name.
    DuplicateParam,
    /// `*` as a segment other than the last.
    MisplacedWildcard,
    /// A `%` not followed by two hex digits, or escapes that do not decode to UTF-8.
    BadEscape,
    /// The router already has a pattern matching exactly the same node URIs.
    Duplicate,
}

/// A pattern was refused: what is wrong and the byte offset in the pattern where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteError {
    /// What is wrong.
    pub kind: RouteErrorKind,
    /// Byte offset in the pattern text.
    pub offset: usize,
}

impl RouteError {
    const fn new(kind: RouteErrorKind, offset: usize) -> Self {
        RouteError { kind, offset }
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            RouteErrorKind::NotAbsolute => "pattern does not start with '/'",
            RouteErrorKind::EmptySegment => "empty segment",
            RouteErrorKind::BadParamName => "bad parameter name",
            RouteErrorKind::DuplicateParam => "duplicate parameter name",
            RouteErrorKind::MisplacedWildcard => "'*' is only allowed as the last segment",
            RouteErrorKind::BadEscape => "bad percent escape",
            RouteErrorKind::Duplicate => "an equivalent pattern is already routed",
        };
        write!(f, "{what} at byte {}", self.offset)
    }
}

impl core::error::Error for RouteError {}

/// The parameters a node URI binds in a pattern: each `:name` segment, decoded, and the rest
/// captured by a trailing `*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    named: Vec<(String, String)>,
    rest: Option<String>,
}

impl Params {
    /// The decoded value bound to `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.named
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every `(name, value)` pair, in the order of the pattern.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.named.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many named parameters are bound.
    pub fn len(&self) -> usize {
        self.named.len()
    }

    /// Whether no named parameter is bound (a trailing `*` does not count).
    pub fn is_empty(&self) -> bool {
        self.named.is_empty()
    }

    /// What a trailing `*` captured: the rest of the node URI's path after the segments before
    /// it, as written (still percent-encoded, since it may hold `/`).
    pub fn rest(&self) -> Option<&str> {
        self.rest.as_deref()
    }
}

impl RoutePattern {
    /// Parses a pattern. See [`RoutePattern`] for the syntax.
    ///
    /// ```
    /// use warp_proto::app::{RouteErrorKind, RoutePattern};
    ///
    /// assert!(RoutePattern::parse("/files/*").is_ok());
    /// let err = RoutePattern::parse("/a//b").unwrap_err();
    /// assert_eq!((err.kind, err.offset), (RouteErrorKind::EmptySegment, 3));
    /// ```
    pub fn parse(pattern: &str) -> Result<RoutePattern, RouteError> {
        let Some(body) = pattern.strip_prefix('/') else {
            return Err(RouteError::new(RouteErrorKind::NotAbsolute, 0));
        };
        let mut segments = Vec::new();
        let mut rest = false;
        let mut offset = 1usize;
        let count = body.split('/').count();
        for (i, seg) in body.split('/').enumerate() {
            if seg.is_empty() {
                return Err(RouteError::new(RouteErrorKind::EmptySegment, offset));
            }
            if seg == "*" {
                if i.saturating_add(1) != count {
                    return Err(RouteError::new(RouteErrorKind::MisplacedWildcard, offset));
                }
                rest = true;
            } else if let Some(name) = seg.strip_prefix(':') {
                if name.is_empty() || name.contains(':') {
                    return Err(RouteError::new(RouteErrorKind::BadParamName, offset));
                }
                let taken = segments
                    .iter()
                    .any(|s| matches!(s, Segment::Param(n) if n == name));
                if taken {
                    return Err(RouteError::new(RouteErrorKind::DuplicateParam, offset));
                }
                segments.push(Segment::Param(String::from(name)));
            } else {
                let literal = decode_strict(seg)
                    .map_err(|at| RouteError::new(RouteErrorKind::BadEscape, offset + at))?;
                segments.push(Segment::Literal(literal));
            }
            offset = offset.saturating_add(seg.len()).saturating_add(1);
        }
        Ok(RoutePattern {
            text: String::from(pattern),
            segments,
            rest,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The names of the `:name` parameters, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(n) => Some(n.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Whether the pattern ends with the wildcard `*`.
    pub fn has_rest(&self) -> bool {
        self.rest
    }

    /// Matches `node` (a node URI) against the pattern and returns the parameters it binds, or
    /// `None` when it does not match.
    ///
    /// ```
    /// use warp_proto::app::RoutePattern;
    ///
    /// let p = RoutePattern::parse("/room/:id/*").unwrap();
    /// let params = p.matches("/room/a%20b/x/y?since=3").unwrap();
    /// assert_eq!(params.get("id"), Some("a b"));
    /// assert_eq!(params.rest(), Some("x/y"));
    /// ```
    pub fn matches(&self, node: &str) -> Option<Params> {
        let path = node.split(['?', '#']).next().unwrap_or("");
        let mut remaining = path.strip_prefix('/')?;
        let mut params = Params::default();
        let last = self.segments.len().saturating_sub(1);
        for (i, seg) in self.segments.iter().enumerate() {
            let (part, after) = match remaining.split_once('/') {
                Some((part, after)) => (part, Some(after)),
                None => (remaining, None),
            };
            if part.is_empty() {
                return None;
            }
            let decoded = decode_lossy(part);
            match seg {
                Segment::Literal(l) => {
                    if decoded != l.as_str() {
                        return None;
                    }
                }
                Segment::Param(name) => params.named.push((name.clone(), decoded.into_owned())),
            }
            match after {
                Some(after) => remaining = after,
                None if i == last && !self.rest => return Some(params),
                None => return None,
            }
        }
        if self.rest && !remaining.is_empty() {
            params.rest = Some(String::from(remaining));
            Some(params)
        } else {
            None
        }
    }

    /// How specific each position is: literal 2, parameter 1, wildcard 0. Of two patterns
    /// matching the same node URI, the one with the greater vector wins.
    pub(crate) fn specificity(&self) -> impl Iterator<Item = u8> + '_ {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Literal(_) => 2,
                Segment::Param(_) => 1,
            })
            .chain(self.rest.then_some(0))
    }

    /// Whether `other` matches exactly the same node URIs (parameter names aside).
    pub(crate) fn same_shape(&self, other: &RoutePattern) -> bool {
        self.rest == other.rest
            && self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|pair| match pair {
                    (Segment::Literal(a), Segment::Literal(b)) => a == b,
                    (Segment::Param(_), Segment::Param(_)) => true,
                    _ => false,
                })
    }
}

impl fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl core::str::FromStr for RoutePattern {
    type Err = RouteError;

    fn from_str(s: &str) -> Result<Self, RouteError> {
        RoutePattern::parse(s)
    }
}

/// The value of an ASCII hex digit.
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte a `%XY` escape at the start of `bytes` stands for.
fn escape_at(bytes: &[u8]) -> Option<u8> {
    match bytes {
        [b'%', hi, lo, ..] => Some((hex(*hi)? << 4) | hex(*lo)?),
        _ => None,
    }
}

/// Percent-decodes `s`, keeping an invalid escape as written and replacing bytes that are not
/// UTF-8 with U+FFFD (what SwimOS's matcher does). Borrows when there is nothing to decode.
pub(crate) fn decode_lossy(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match escape_at(bytes.get(i..).unwrap_or(&[])) {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Percent-decodes `s`, refusing a bad escape or a result that is not UTF-8 (the error is the
/// byte offset of the offending `%`, or 0 for bad UTF-8).
fn decode_strict(s: &str) -> Result<String, usize> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            out.push(escape_at(bytes.get(i..).unwrap_or(&[])).ok_or(i)?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| 0)
}
