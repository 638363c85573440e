//! The events of the pull [`Reader`](super::Reader) and the borrowed scalar views they carry.

use core::fmt;

/// One step of a Recon document, as yielded by [`Reader::next_event`](super::Reader::next_event).
///
/// A document is exactly one value. A value is a scalar event, or a record:
/// `StartRecord`, then its items, then `EndRecord`. An item is
/// - an attribute: `Attr(name)` followed by exactly one value (its argument; `Extant` when it
///   has none),
/// - a slot: a value (the key), then `Slot`, then a value,
/// - or a plain value.
///
/// `Slot` comes *after* the key because Recon only reveals that a value is a key when the `:`
/// that follows it is read; a consumer that builds a tree turns its last item into the key.
/// The empty document is the single event `Absent`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event<'a> {
    /// A record begins (an explicit `{`, an attributed item, or a block of several items).
    StartRecord,
    /// The innermost open record ends.
    EndRecord,
    /// An attribute `@name`; the next value is its argument.
    Attr(Text<'a>),
    /// The value just completed is a slot key; the next value is the slot's value.
    Slot,
    /// A text value (identifier or string).
    Text(Text<'a>),
    /// A number.
    Number(Number<'a>),
    /// `true` or `false`.
    Bool(bool),
    /// A `%`-prefixed base64 byte string.
    Data(Data<'a>),
    /// A present-but-empty value: an empty slot value, an empty position between separators,
    /// or the argument of an attribute written without one.
    Extant,
    /// Nothing at all: the value of an empty document.
    Absent,
}

/// How the characters of a [`Text`] are stored in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextForm {
    /// The slice is the text itself.
    Plain,
    /// The slice is the inside of a `"…"` or `'…'` string, containing backslash escapes.
    Escaped,
    /// The slice is the inside of a backtick raw string, containing `` \` `` or `\\`.
    RawEscaped,
}

/// A text value borrowed from the input: a plain slice when it has no escapes, otherwise the
/// escaped slice, decoded on demand without allocating ([`Text::chars`], [`Text::decode_into`]).
///
/// Escapes are validated by the reader before a `Text` is handed out, so decoding never fails.
#[derive(Clone, Copy)]
pub struct Text<'a> {
    raw: &'a str,
    form: TextForm,
}

impl<'a> Text<'a> {
    /// A text that is exactly `s` (no escapes to decode).
    pub const fn plain(s: &'a str) -> Self {
        Text {
            raw: s,
            form: TextForm::Plain,
        }
    }

    /// Internal: a text stored in `raw` in the given form (already validated).
    pub(crate) const fn from_raw(raw: &'a str, form: TextForm) -> Self {
        Text { raw, form }
    }

    /// The text as a slice of the input, if it needs no decoding.
    pub fn as_str(&self) -> Option<&'a str> {
        match self.form {
            TextForm::Plain => Some(self.raw),
            _ => None,
        }
    }

    /// The characters as they stand in the input (escapes not decoded, quotes removed).
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether decoding is needed (the input spelled the text with escapes).
    pub fn is_escaped(&self) -> bool {
        self.form != TextForm::Plain
    }

    /// The decoded characters.
    pub fn chars(&self) -> TextChars<'a> {
        TextChars {
            rest: self.raw,
            form: self.form,
        }
    }

    /// The length in bytes of the decoded text, as UTF-8.
    pub fn decoded_len(&self) -> usize {
        match self.form {
            TextForm::Plain => self.raw.len(),
            _ => self.chars().map(char::len_utf8).sum(),
        }
    }

    /// Decodes into `buf` and returns the decoded text, a slice of `buf`.
    ///
    /// Fails with the number of bytes required when `buf` is too small.
    pub fn decode_into<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, usize> {
        let need = self.decoded_len();
        if buf.len() < need {
            return Err(need);
        }
        let mut at = 0;
        for c in self.chars() {
            at += c.encode_utf8(&mut buf[at..]).len();
        }
        core::str::from_utf8(&buf[..at]).map_err(|_| need)
    }

    /// Whether the decoded text equals `s`, without allocating.
    pub fn eq_str(&self, s: &str) -> bool {
        match self.form {
            TextForm::Plain => self.raw == s,
            _ => self.chars().eq(s.chars()),
        }
    }

    /// Appends the decoded text to `out`, copying the runs between escapes whole (crate-internal
    /// fast path of the owned value builder).
    #[cfg(feature = "alloc")]
    pub(crate) fn push_decoded(&self, out: &mut alloc::string::String) {
        if self.form == TextForm::Plain {
            out.push_str(self.raw);
            return;
        }
        let mut rest = self.raw;
        while let Some((run, escape)) = rest.find('\\').and_then(|at| rest.split_at_checked(at)) {
            out.push_str(run);
            let mut chars = TextChars {
                rest: escape,
                form: self.form,
            };
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.rest;
        }
        out.push_str(rest);
    }

    /// The decoded text as an owned `String`.
    ///
    /// Same result as the `Display`-based `ToString`, without going through the formatter.
    #[cfg(feature = "alloc")]
    #[allow(clippy::inherent_to_string_shadow_display)]
    pub fn to_string(&self) -> alloc::string::String {
        match self.form {
            TextForm::Plain => alloc::string::String::from(self.raw),
            _ => self.chars().collect(),
        }
    }

    /// The decoded text, borrowed when possible.
    #[cfg(feature = "alloc")]
    pub fn to_cow(&self) -> alloc::borrow::Cow<'a, str> {
        match self.form {
            TextForm::Plain => alloc::borrow::Cow::Borrowed(self.raw),
            _ => alloc::borrow::Cow::Owned(self.chars().collect()),
        }
    }
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        if self.form == TextForm::Plain && other.form == TextForm::Plain {
            self.raw == other.raw
        } else {
            self.chars().eq(other.chars())
        }
    }
}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        self.eq_str(other)
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.eq_str(other)
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Text(\"")?;
        for c in self.chars() {
            fmt::Display::fmt(&c.escape_debug(), f)?;
        }
        f.write_str("\")")
    }
}

impl fmt::Display for Text<'_> {
    /// Writes the decoded characters (not Recon syntax).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.form {
            TextForm::Plain => f.write_str(self.raw),
            _ => {
                for c in self.chars() {
                    fmt::Write::write_char(f, c)?;
                }
                Ok(())
            }
        }
    }
}

/// Iterator over the decoded characters of a [`Text`].
#[derive(Clone, Debug)]
pub struct TextChars<'a> {
    rest: &'a str,
    form: TextForm,
}

fn hex4(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() < 4 {
        return None;
    }
    let mut v = 0u32;
    for &d in &b[..4] {
        v = v * 16 + (d as char).to_digit(16)?;
    }
    Some(v)
}

impl Iterator for TextChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let mut it = self.rest.chars();
        let c = it.next()?;
        if c != '\\' || self.form == TextForm::Plain {
            self.rest = it.as_str();
            return Some(c);
        }
        let after = it.as_str();
        let Some(e) = after.chars().next() else {
            // A trailing backslash cannot pass validation; yield it as is.
            self.rest = after;
            return Some('\\');
        };
        if self.form == TextForm::RawEscaped {
            return if e == '`' || e == '\\' {
                self.rest = &after[1..];
                Some(e)
            } else {
                self.rest = after;
                Some('\\')
            };
        }
        let simple = match e {
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'u' => None,
            other => Some(other),
        };
        if let Some(ch) = simple {
            self.rest = &after[e.len_utf8()..];
            return Some(ch);
        }
        // `\uXXXX`: one UTF-16 unit; a high surrogate followed by `\uDC00..=\uDFFF` joins.
        let digits = &after[1..];
        let Some(unit) = hex4(digits) else {
            self.rest = digits;
            return Some(char::REPLACEMENT_CHARACTER);
        };
        let next = &digits[4..];
        if (0xD800..0xDC00).contains(&unit) {
            if let Some(low_text) = next.strip_prefix("\\u") {
                if let Some(low) = hex4(low_text) {
                    if (0xDC00..0xE000).contains(&low) {
                        self.rest = &low_text[4..];
                        let cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        return Some(char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                }
            }
        }
        self.rest = next;
        Some(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER))
    }
}

/// A number as read from the input.
///
/// Integers are exact: non-negative integers that fit `i64` and all negative integers that fit
/// are `Int`; integers above `i64::MAX` that fit `u64` are `UInt`; larger ones are `Big` (turned
/// into a big integer by the `alloc` value model, an [`IntegerOutOfRange`] error without it).
/// Hex literals follow the same rule by value.
///
/// [`IntegerOutOfRange`]: super::ErrorKind::IntegerOutOfRange
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number<'a> {
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer above `i64::MAX` that fits `u64`.
    UInt(u64),
    /// An integer beyond 64 bits: its digits as they stand in the input.
    Big {
        /// Whether a `-` preceded the digits.
        negative: bool,
        /// The digits (no sign, no `0x` prefix).
        digits: &'a str,
        /// 10, or 16 for a `0x` literal.
        radix: u32,
    },
    /// A float (the literal had a `.` or an exponent). Overflowing literals read as infinity.
    Float(f64),
}

/// A byte string borrowed from the input as its (validated) base64 text.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Data<'a> {
    base64: &'a str,
}

/// The buffer given to [`Data::decode_into`] is shorter than the decoded bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataDecodeError {
    /// Bytes required.
    pub required: usize,
}

impl fmt::Display for DataDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "buffer too small for decoded data ({} bytes required)",
            self.required
        )
    }
}

impl core::error::Error for DataDecodeError {}

fn b64_digit(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

impl<'a> Data<'a> {
    /// Wraps base64 text that has already been validated as complete, padded groups.
    pub(crate) const fn from_base64_unchecked(base64: &'a str) -> Self {
        Data { base64 }
    }

    /// Checks that `s` is complete standard base64 (groups of four, correct `=` padding) and
    /// wraps it; otherwise returns the byte offset within `s` of the first fault.
    pub fn from_base64(s: &'a str) -> Result<Self, usize> {
        let b = s.as_bytes();
        if b.len() % 4 != 0 {
            // Point at the end of the last complete group: the incomplete one starts there.
            return Err(b.len() - b.len() % 4);
        }
        for (i, &c) in b.iter().enumerate() {
            if b64_digit(c).is_some() {
                continue;
            }
            let group_end = i - i % 4 + 4;
            let pad_ok = c == b'='
                && group_end == b.len()
                && i % 4 >= 2
                && b[i..].iter().all(|&p| p == b'=');
            if !pad_ok {
                return Err(i);
            }
            return Ok(Data { base64: s });
        }
        Ok(Data { base64: s })
    }

    /// The base64 text as it stands in the input.
    pub fn base64(&self) -> &'a str {
        self.base64
    }

    /// The number of decoded bytes.
    pub fn decoded_len(&self) -> usize {
        let b = self.base64.as_bytes();
        let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
        b.len() / 4 * 3 - pad
    }

    /// Decodes into `buf`, returning the filled prefix.
    pub fn decode_into<'b>(&self, buf: &'b mut [u8]) -> Result<&'b [u8], DataDecodeError> {
        let need = self.decoded_len();
        if buf.len() < need {
            return Err(DataDecodeError { required: need });
        }
        let mut at = 0;
        for group in self.base64.as_bytes().chunks_exact(4) {
            let mut n = 0u32;
            let mut valid: usize = 0;
            for &c in group {
                if let Some(d) = b64_digit(c) {
                    n = (n << 6) | u32::from(d);
                    valid += 1;
                } else {
                    n <<= 6;
                }
            }
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            let take = valid.saturating_sub(1).min(3);
            for &byte in &bytes[..take] {
                if at < buf.len() {
                    buf[at] = byte;
                    at += 1;
                }
            }
        }
        Ok(&buf[..at])
    }

    /// The decoded bytes in a new `Vec`.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec![0u8; self.decoded_len()];
        let n = self.decode_into(&mut v).map(|s| s.len()).unwrap_or(0);
        v.truncate(n);
        v
    }
}

impl fmt::Debug for Data<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Data(%{})", self.base64)
    }
}
