//! The one error type of the Recon codec.

use core::fmt;

/// A Recon error: what went wrong, and the byte offset in the input where it was noticed.
///
/// `Display` reads like `expected '}' at byte 17, found end of input`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset into the input (for the writer: into the output) where it was noticed.
    pub offset: usize,
}

impl Error {
    /// An error of `kind` at byte `offset`.
    pub const fn new(kind: ErrorKind, offset: usize) -> Self {
        Error { kind, offset }
    }
}

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The grammar required `expected` here, but the input has `found`.
    Expected {
        /// What the grammar allows at this point.
        expected: Expected,
        /// What the input holds instead.
        found: Found,
    },
    /// A character (or the end of input) that cannot start or continue anything here.
    Unexpected(Found),
    /// Recon expression syntax (operators, `$` selectors, lambdas, `(x)` grouping), which this
    /// implementation deliberately does not support.
    ExpressionNotSupported,
    /// Records and attributes nest deeper than the configured limit.
    DepthExceeded {
        /// The configured maximum depth.
        limit: usize,
    },
    /// An integer that does not fit the representation available (without `alloc`, integers
    /// outside `i64`/`u64`; hex literals longer than 16 digits).
    IntegerOutOfRange,
    /// The input bytes are not valid UTF-8.
    InvalidUtf8,
    /// The writer was given a float with no portable Recon form (NaN or an infinity).
    NonFiniteFloat,
    /// The writer's output buffer is too small; `required` is a lower bound on the size needed
    /// (0 when unknown).
    BufferTooSmall {
        /// Bytes needed, when known.
        required: usize,
    },
    /// The `core::fmt::Write` sink of the writer reported an error.
    Fmt,
}

/// What the grammar allows at the point of an [`ErrorKind::Expected`] error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// One specific character.
    Char(char),
    /// The end of a record: `}`, `;`, `,`, or a newline.
    RecordEnd,
    /// The end of attribute arguments: `)`, `;`, `,`, or a newline.
    AttrArgsEnd,
    /// A decimal digit.
    Digit,
    /// A hexadecimal digit.
    HexDigit,
    /// A character after `\` in a string.
    EscapeChar,
    /// An attribute name (identifier or string) after `@`.
    AttrName,
    /// A value.
    Value,
    /// A base64 digit or padding, completing a 4-character group.
    Base64,
    /// The end of the input.
    EndOfInput,
}

/// What the input holds where an error was noticed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// This character.
    Char(char),
    /// Nothing: the input ended.
    EndOfInput,
}

impl Found {
    /// `Found` for the next character of `rest` (end of input when empty).
    pub fn first_of(rest: &str) -> Found {
        match rest.chars().next() {
            Some(c) => Found::Char(c),
            None => Found::EndOfInput,
        }
    }
}

fn fmt_char(c: char, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match c {
        '\n' => f.write_str("newline"),
        '\r' => f.write_str("carriage return"),
        '\t' => f.write_str("tab"),
        c if c.is_control() => write!(f, "U+{:04X}", c as u32),
        c => write!(f, "'{}'", c),
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Found::Char(c) => fmt_char(c, f),
            Found::EndOfInput => f.write_str("end of input"),
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Expected::Char(c) => fmt_char(c, f),
            Expected::RecordEnd => f.write_str("'}', ';', ',', or newline"),
            Expected::AttrArgsEnd => f.write_str("')', ';', ',', or newline"),
            Expected::Digit => f.write_str("digit"),
            Expected::HexDigit => f.write_str("hex digit"),
            Expected::EscapeChar => f.write_str("escape character"),
            Expected::AttrName => f.write_str("attribute name"),
            Expected::Value => f.write_str("value"),
            Expected::Base64 => f.write_str("base64 digit"),
            Expected::EndOfInput => f.write_str("end of input"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset;
        match self.kind {
            ErrorKind::Expected { expected, found } => {
                write!(f, "expected {} at byte {}, found {}", expected, at, found)
            }
            ErrorKind::Unexpected(found) => write!(f, "unexpected {} at byte {}", found, at),
            ErrorKind::ExpressionNotSupported => write!(
                f,
                "Recon expressions are not supported (operator, selector or grouping at byte {})",
                at
            ),
            ErrorKind::DepthExceeded { limit } => {
                write!(f, "nesting deeper than {} at byte {}", limit, at)
            }
            ErrorKind::IntegerOutOfRange => write!(f, "integer out of range at byte {}", at),
            ErrorKind::InvalidUtf8 => write!(f, "invalid UTF-8 at byte {}", at),
            ErrorKind::NonFiniteFloat => write!(
                f,
                "NaN or infinite float has no portable Recon form (at byte {} of output)",
                at
            ),
            ErrorKind::BufferTooSmall { required: 0 } => {
                write!(f, "output buffer too small at byte {}", at)
            }
            ErrorKind::BufferTooSmall { required } => write!(
                f,
                "output buffer too small at byte {} ({} bytes required)",
                at, required
            ),
            ErrorKind::Fmt => write!(f, "formatter error at byte {} of output", at),
        }
    }
}

impl core::error::Error for Error {}
