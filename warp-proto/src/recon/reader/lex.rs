//! Scalar tokens: identifiers, strings, raw strings, numbers, data and markup text.
//!
//! Every function works on the input's bytes, starts at a position the caller has checked holds
//! the token's first byte, validates the whole token and returns it with the position just past
//! it. Nothing is copied: texts are slices of the input, decoded later by [`Text::chars`].

use super::super::event::TextForm;
use super::super::ident::{is_ident_char, is_ident_start};
use super::super::{Data, Error, ErrorKind, Event, Expected, Found, Number, Text};

/// Byte classes, for the ASCII fast paths.
const C_IDENT_START: u8 = 1;
const C_IDENT: u8 = 2;
const C_DIGIT: u8 = 4;
const C_B64: u8 = 8;
/// A byte that may start a value: `@ { [ " ' ` % -`, a digit or an identifier start.
const C_VALUE_START: u8 = 16;
/// A byte that ends a run of markup text: `@ [ \ ] { }`.
const C_MARKUP_STOP: u8 = 32;

const fn build_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let mut v = 0u8;
        if b.is_ascii_alphabetic() || b == b'_' {
            v |= C_IDENT_START | C_IDENT | C_B64 | C_VALUE_START;
        }
        if b == b'_' {
            v &= !C_B64;
        }
        if b.is_ascii_digit() {
            v |= C_IDENT | C_DIGIT | C_B64 | C_VALUE_START;
        }
        if b == b'-' {
            v |= C_IDENT | C_VALUE_START;
        }
        if b == b'+' || b == b'/' {
            v |= C_B64;
        }
        if matches!(b, b'@' | b'{' | b'[' | b'"' | b'\'' | b'`' | b'%') {
            v |= C_VALUE_START;
        }
        if matches!(b, b'@' | b'[' | b'\\' | b']' | b'{' | b'}') {
            v |= C_MARKUP_STOP;
        }
        t[c] = v;
        c += 1;
    }
    t
}

static CLASS: [u8; 256] = build_classes();

#[inline(always)]
fn class(b: u8) -> u8 {
    CLASS[b as usize]
}

/// The byte at `i`, if any.
#[inline(always)]
pub(super) fn at(b: &[u8], i: usize) -> Option<u8> {
    b.get(i).copied()
}

/// The byte 0x01 in every byte of a word.
pub(super) const LO: u64 = 0x0101_0101_0101_0101;
/// The byte 0x80 in every byte of a word.
pub(super) const HI: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `i` as a little-endian word, if there are eight.
#[inline(always)]
pub(super) fn word(b: &[u8], i: usize) -> Option<u64> {
    let chunk = b.get(i..i.checked_add(8)?)?;
    <[u8; 8]>::try_from(chunk).ok().map(u64::from_le_bytes)
}

/// The first position at or after `i` holding `quote`, a backslash or a control character
/// (below U+0020), or the end of input. Eight bytes at a time.
#[inline(always)]
pub(super) fn find_string_stop(b: &[u8], mut i: usize, quote: u8) -> usize {
    let q = LO.wrapping_mul(u64::from(quote));
    let bs = LO.wrapping_mul(u64::from(b'\\'));
    let ctl = LO.wrapping_mul(0x20);
    while let Some(w) = word(b, i) {
        // Per byte: high bit set where the byte is zero after the XOR (equal), or below 0x20.
        // Borrows may flag bytes above the first hit, never below it.
        let eq_q = (w ^ q).wrapping_sub(LO) & !(w ^ q);
        let eq_bs = (w ^ bs).wrapping_sub(LO) & !(w ^ bs);
        let low = w.wrapping_sub(ctl) & !w;
        let hits = (eq_q | eq_bs | low) & HI;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(c) = at(b, i) {
        if c == quote || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// What the input holds at byte `i` (a character, or the end of input).
pub(super) fn found_at(src: &str, i: usize) -> Found {
    match src.get(i..) {
        Some(rest) => Found::first_of(rest),
        None => Found::EndOfInput,
    }
}

/// An [`ErrorKind::Expected`] error at `i`.
#[cold]
#[inline(never)]
pub(super) fn expected(src: &str, what: Expected, i: usize) -> Error {
    Error::new(
        ErrorKind::Expected {
            expected: what,
            found: found_at(src, i),
        },
        i,
    )
}

/// An [`ErrorKind::Unexpected`] error at `i`.
#[cold]
#[inline(never)]
pub(super) fn unexpected(src: &str, i: usize) -> Error {
    Error::new(ErrorKind::Unexpected(found_at(src, i)), i)
}

/// A slice of the input; the positions are always character boundaries, but a slip is reported
/// as an error rather than a panic.
#[inline(always)]
fn slice(src: &str, from: usize, to: usize) -> Result<&str, Error> {
    src.get(from..to).ok_or_else(|| unexpected(src, from))
}

/// The character starting at byte `i` (which must be a character boundary).
#[inline]
fn char_at(src: &str, i: usize) -> Option<char> {
    src.get(i..).and_then(|s| s.chars().next())
}

#[inline(always)]
pub(super) fn is_digit(c: Option<u8>) -> bool {
    matches!(c, Some(b'0'..=b'9'))
}

/// Whether the value that starts at `i` begins with a character that may start a value:
/// `@ { [ " ' ` % -`, a digit or an identifier start.
#[inline(always)]
pub(super) fn is_value_start(src: &str, b: &[u8], i: usize) -> bool {
    match at(b, i) {
        Some(c) if c < 0x80 => class(c) & C_VALUE_START != 0,
        Some(_) => char_at(src, i).is_some_and(is_ident_start),
        None => false,
    }
}

/// The byte length of the identifier-start character at `i`, if there is one.
#[inline(always)]
pub(super) fn ident_start_len(src: &str, b: &[u8], i: usize) -> Option<usize> {
    match at(b, i)? {
        c if c < 0x80 => (class(c) & C_IDENT_START != 0).then_some(1),
        _ => char_at(src, i)
            .filter(|&c| is_ident_start(c))
            .map(char::len_utf8),
    }
}

/// The end of the identifier whose first character (already checked) starts at `i`.
#[inline(always)]
pub(super) fn ident_end(src: &str, b: &[u8], i: usize, first_len: usize) -> usize {
    let mut i = i + first_len;
    loop {
        match at(b, i) {
            Some(c) if c < 0x80 => {
                if class(c) & C_IDENT == 0 {
                    return i;
                }
                i += 1;
            }
            Some(_) => match char_at(src, i) {
                Some(c) if is_ident_char(c) => i += c.len_utf8(),
                _ => return i,
            },
            None => return i,
        }
    }
}

/// Whether the byte `c` is an ASCII identifier start (a letter or `_`).
#[inline(always)]
pub(super) fn is_ascii_ident_start(c: u8) -> bool {
    class(c) & C_IDENT_START != 0
}

/// The end of an all-ASCII identifier whose characters continue at `i`; `None` if a non-ASCII
/// byte follows the ASCII ones (the general path decides whether it continues the identifier).
#[inline(always)]
pub(super) fn ascii_ident_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        match b.get(i) {
            Some(&c) if class(c) & C_IDENT != 0 => i += 1,
            Some(&c) if c >= 0x80 => return None,
            _ => return Some(i),
        }
    }
}

/// The identifier starting at `i`, as a slice of the input, and the position after it; `None`
/// if no identifier starts there.
#[inline(always)]
pub(super) fn ident<'a>(src: &'a str, b: &[u8], i: usize) -> Option<(&'a str, usize)> {
    let first = at(b, i)?;
    let end = if first < 0x80 {
        if class(first) & C_IDENT_START == 0 {
            return None;
        }
        let mut j = i + 1;
        loop {
            match at(b, j) {
                Some(c) if class(c) & C_IDENT != 0 => j += 1,
                Some(c) if c >= 0x80 => break ident_end(src, b, j, 0),
                _ => break j,
            }
        }
    } else {
        let len = ident_start_len(src, b, i)?;
        ident_end(src, b, i, len)
    };
    Some((src.get(i..end)?, end))
}

/// Checks the escape whose backslash is at `i` inside a quoted string; returns the position after
/// it. Allowed: `\" \' \\ \/ \@ \$ \[ \] \{ \}`, `\b \f \n \r \t`, and `\u` with four hex digits.
#[inline]
fn string_escape(src: &str, b: &[u8], i: usize) -> Result<usize, Error> {
    match at(b, i + 1) {
        Some(
            b'"' | b'\'' | b'\\' | b'/' | b'@' | b'$' | b'[' | b']' | b'{' | b'}' | b'b' | b'f'
            | b'n' | b'r' | b't',
        ) => Ok(i + 2),
        Some(b'u') => {
            for k in i + 2..i + 6 {
                if !at(b, k).is_some_and(|c| c.is_ascii_hexdigit()) {
                    return Err(expected(src, Expected::HexDigit, k));
                }
            }
            Ok(i + 6)
        }
        _ => Err(expected(src, Expected::EscapeChar, i + 1)),
    }
}

/// A `"…"` or `'…'` string whose opening quote is at `start`.
#[inline(always)]
pub(super) fn string<'a>(src: &'a str, b: &[u8], start: usize) -> Result<(Text<'a>, usize), Error> {
    let quote = at(b, start).unwrap_or(b'"');
    let mut i = start + 1;
    let mut escaped = false;
    loop {
        i = find_string_stop(b, i, quote);
        match at(b, i) {
            Some(c) if c == quote => {
                let raw = slice(src, start + 1, i)?;
                let form = if escaped {
                    TextForm::Escaped
                } else {
                    TextForm::Plain
                };
                return Ok((Text::from_raw(raw, form), i + 1));
            }
            Some(b'\\') => {
                escaped = true;
                i = string_escape(src, b, i)?;
            }
            _ => return Err(expected(src, Expected::Char(quote as char), i)),
        }
    }
}

/// A backtick raw string whose first backtick is at `start`: `` `…` `` (no raw control
/// characters), ```` ```…``` ```` (anything), or the empty ` `` `.
pub(super) fn raw_string<'a>(
    src: &'a str,
    b: &[u8],
    start: usize,
) -> Result<(Text<'a>, usize), Error> {
    let triple = if at(b, start + 1) == Some(b'`') {
        if at(b, start + 2) != Some(b'`') {
            return Ok((Text::plain(""), start + 2));
        }
        true
    } else {
        false
    };
    let from = if triple { start + 3 } else { start + 1 };
    let mut i = from;
    let mut escaped = false;
    loop {
        match at(b, i) {
            None => return Err(expected(src, Expected::Char('`'), i)),
            Some(b'\\') => {
                if at(b, i + 1).is_none() {
                    return Err(expected(src, Expected::EscapeChar, i + 1));
                }
                escaped = true;
                i += 2;
            }
            Some(b'`') => {
                if !triple || (at(b, i + 1) == Some(b'`') && at(b, i + 2) == Some(b'`')) {
                    let raw = slice(src, from, i)?;
                    let form = if escaped {
                        TextForm::RawEscaped
                    } else {
                        TextForm::Plain
                    };
                    let end = if triple { i + 3 } else { i + 1 };
                    return Ok((Text::from_raw(raw, form), end));
                }
                i += 1;
            }
            Some(c) if c < 0x20 && !triple => {
                return Err(expected(src, Expected::Char('`'), i));
            }
            Some(_) => i += 1,
        }
    }
}

/// A run of markup text starting at `start` (a byte that is not `@ [ ] { }`), up to the next
/// `@ [ ] { }` or the end of input. Markup escapes: `\" \$ \' \/ \@ \[ \\ \] \{ \}` and
/// `\b \f \n \r \t`.
pub(super) fn markup_text<'a>(
    src: &'a str,
    b: &[u8],
    start: usize,
) -> Result<(Text<'a>, usize), Error> {
    let mut i = start;
    let mut escaped = false;
    loop {
        while let Some(c) = at(b, i) {
            if class(c) & C_MARKUP_STOP != 0 {
                break;
            }
            i += 1;
        }
        if at(b, i) == Some(b'\\') {
            match at(b, i + 1) {
                Some(
                    b'"' | b'$' | b'\'' | b'/' | b'@' | b'[' | b'\\' | b']' | b'{' | b'}' | b'b'
                    | b'f' | b'n' | b'r' | b't',
                ) => {
                    escaped = true;
                    i += 2;
                }
                _ => return Err(expected(src, Expected::EscapeChar, i + 1)),
            }
        } else {
            let raw = slice(src, start, i)?;
            let form = if escaped {
                TextForm::Escaped
            } else {
                TextForm::Plain
            };
            return Ok((Text::from_raw(raw, form), i));
        }
    }
}

#[inline(always)]
fn is_b64(c: Option<u8>) -> bool {
    c.is_some_and(|c| class(c) & C_B64 != 0)
}

/// Data: `%` at `start`, then complete groups of four base64 characters with correct padding.
/// The data ends at the first group that does not start with a base64 digit, or after a padded
/// group.
pub(super) fn data<'a>(src: &'a str, b: &[u8], start: usize) -> Result<(Data<'a>, usize), Error> {
    let from = start + 1;
    let mut i = from;
    while is_b64(at(b, i)) {
        if !is_b64(at(b, i + 1)) {
            return Err(expected(src, Expected::Base64, i + 1));
        }
        match at(b, i + 2) {
            Some(b'=') => {
                if at(b, i + 3) != Some(b'=') {
                    return Err(expected(src, Expected::Char('='), i + 3));
                }
                i += 4;
                break;
            }
            c if is_b64(c) => {}
            _ => return Err(expected(src, Expected::Base64, i + 2)),
        }
        match at(b, i + 3) {
            Some(b'=') => {
                i += 4;
                break;
            }
            c if is_b64(c) => i += 4,
            _ => return Err(expected(src, Expected::Base64, i + 3)),
        }
    }
    Ok((Data::from_base64_unchecked(slice(src, from, i)?), i))
}

/// Powers of ten that are exact in an `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Accumulates the decimal digits from `i` into `mantissa` (wrapping: the caller counts the
/// digits and only trusts the result for up to 19 of them); returns the end of the digits.
#[inline(always)]
fn digits(b: &[u8], mut i: usize, mantissa: &mut u64) -> usize {
    let mut m = *mantissa;
    // Four digits at a time while there are four.
    while let Some(&[c0, c1, c2, c3]) = b.get(i..i + 4) {
        let w = u32::from_le_bytes([c0, c1, c2, c3]);
        // Every byte in b'0'..=b'9': (byte - 0x30) has no borrow and stays below 10.
        let sub = w.wrapping_sub(0x3030_3030);
        let high = (w.wrapping_add(0x4646_4646) | sub) & 0x8080_8080;
        if high != 0 {
            break;
        }
        // Pairs, then the two pairs: "1234" -> 12 * 100 + 34.
        let pairs = (sub.wrapping_mul(10).wrapping_add(sub >> 8)) & 0x00ff_00ff;
        let four = (pairs & 0xffff).wrapping_mul(100).wrapping_add(pairs >> 16);
        m = m.wrapping_mul(10_000).wrapping_add(u64::from(four));
        i += 4;
    }
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        m = m.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    *mantissa = m;
    i
}

/// A number starting at `start` (`-` or a digit): `-`? (`0` | `[1-9][0-9]*`) (`.` digits)?
/// (`e`|`E` `+`|`-`? digits)?, or `-`? `0x` hex digits. Writes the `Number` event into `out`
/// and returns the position after the number.
#[inline(always)]
pub(super) fn number<'a>(
    src: &'a str,
    b: &[u8],
    start: usize,
    out: &mut Event<'a>,
) -> Result<usize, Error> {
    let negative = at(b, start) == Some(b'-');
    let int_from = if negative { start + 1 } else { start };
    let mut mantissa = 0u64;
    let mut i = int_from;
    match at(b, i) {
        Some(b'0') => {
            i += 1;
            if at(b, i) == Some(b'x') {
                let (n, end) = hex(src, b, start, i + 1, negative)?;
                *out = Event::Number(n);
                return Ok(end);
            }
        }
        Some(b'1'..=b'9') => i = digits(b, i, &mut mantissa),
        _ => return Err(minus_error(src, b, i)),
    }
    let int_digits = i - int_from;
    match at(b, i) {
        Some(b'.' | b'e' | b'E') => {}
        _ => {
            // Up to 18 digits are below 10^18 < 2^63: an exact `Int` either way.
            if int_digits <= 18 {
                let v = mantissa as i64;
                *out = Event::Number(Number::Int(if negative { v.wrapping_neg() } else { v }));
                return Ok(i);
            }
            *out = Event::Number(long_integer(src, start, int_from, i, negative)?);
            return Ok(i);
        }
    }
    let mut scale = 0i64;
    let mut total_digits = int_digits;
    if at(b, i) == Some(b'.') {
        i += 1;
        if !is_digit(at(b, i)) {
            return Err(expected(src, Expected::Digit, i));
        }
        let from = i;
        i = digits(b, i, &mut mantissa);
        let taken = i - from;
        total_digits += taken;
        scale = -(taken as i64);
    }
    if matches!(at(b, i), Some(b'e' | b'E')) {
        i += 1;
        let exp_negative = match at(b, i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        if !is_digit(at(b, i)) {
            return Err(expected(src, Expected::Digit, i));
        }
        let mut exp = 0i64;
        while let Some(c) = at(b, i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            exp = (exp * 10 + i64::from(d)).min(1 << 40);
            i += 1;
        }
        scale += if exp_negative { -exp } else { exp };
    }
    // Clinger's fast path: an exact mantissa (at most 19 digits, so no wrapping) below 2^53
    // times or over an exact power of ten is correctly rounded.
    if total_digits <= 19 && mantissa < (1 << 53) && (-22..=22).contains(&scale) {
        let m = mantissa as f64;
        let p = POW10[scale.unsigned_abs() as usize % 23];
        let v = if scale < 0 { m / p } else { m * p };
        *out = Event::Number(Number::Float(if negative { -v } else { v }));
        return Ok(i);
    }
    *out = Event::Number(Number::Float(long_float(src, start, i)?));
    Ok(i)
}

/// A decimal integer of 19 digits or more (`int_from..end` are its digits, `start` its sign if
/// any): `Int`, `UInt` or `Big` by value.
#[cold]
#[inline(never)]
fn long_integer(
    src: &str,
    start: usize,
    int_from: usize,
    end: usize,
    negative: bool,
) -> Result<Number<'_>, Error> {
    let digits = slice(src, int_from, end)?;
    let value = digits.bytes().try_fold(0u64, |v, d| {
        v.checked_mul(10)?
            .checked_add(u64::from(d.wrapping_sub(b'0')))
    });
    integer(negative, value, digits, 10, start)
}

/// A float literal (`start..end`) beyond the fast path: too many digits, or a mantissa or
/// exponent too large for an exact computation; correctly rounded by the standard library.
#[cold]
#[inline(never)]
fn long_float(src: &str, start: usize, end: usize) -> Result<f64, Error> {
    slice(src, start, end)?
        .parse::<f64>()
        .map_err(|_| expected(src, Expected::Digit, start))
}

/// The error for a `-` (at `i - 1`) that is not followed by a digit: a prefix operator (an
/// expression) when something that could be an operand follows, else a missing digit.
#[cold]
#[inline(never)]
fn minus_error(src: &str, b: &[u8], i: usize) -> Error {
    match at(b, i) {
        Some(
            b' ' | b'\t' | b'-' | b'+' | b'!' | b'~' | b'(' | b'$' | b'"' | b'\'' | b'`' | b'{'
            | b'[' | b'@' | b'%',
        ) => Error::new(ErrorKind::ExpressionNotSupported, i.saturating_sub(1)),
        Some(_) if ident_start_len(src, b, i).is_some() => {
            Error::new(ErrorKind::ExpressionNotSupported, i.saturating_sub(1))
        }
        _ => expected(src, Expected::Digit, i),
    }
}

/// A hex literal: the digits start at `from` (after `0x`).
fn hex<'a>(
    src: &'a str,
    b: &[u8],
    start: usize,
    from: usize,
    negative: bool,
) -> Result<(Number<'a>, usize), Error> {
    let mut i = from;
    while at(b, i).is_some_and(|c| c.is_ascii_hexdigit()) {
        i += 1;
    }
    if i == from {
        return Err(expected(src, Expected::HexDigit, i));
    }
    let all = slice(src, from, i)?;
    let digits = all.trim_start_matches('0');
    let value = if digits.len() <= 16 {
        Some(digits.bytes().fold(0u64, |v, d| {
            let d = (d as char).to_digit(16).unwrap_or(0);
            (v << 4) | u64::from(d)
        }))
    } else {
        None
    };
    Ok((integer(negative, value, digits, 16, start)?, i))
}

/// The canonical integer: `Int` when it fits `i64`, `UInt` above `i64::MAX` up to `u64::MAX`,
/// `Big` beyond (an error without `alloc`). `value` is the magnitude, `None` when it overflows
/// `u64`.
fn integer<'a>(
    negative: bool,
    value: Option<u64>,
    digits: &'a str,
    radix: u32,
    start: usize,
) -> Result<Number<'a>, Error> {
    const I64_MIN_MAGNITUDE: u64 = 1 << 63;
    match value {
        Some(v) if !negative => Ok(if v <= i64::MAX as u64 {
            Number::Int(v as i64)
        } else {
            Number::UInt(v)
        }),
        // `v as i64` wraps 2^63 to i64::MIN, whose negation (wrapping) is itself.
        Some(v) if v <= I64_MIN_MAGNITUDE => Ok(Number::Int((v as i64).wrapping_neg())),
        _ => big(negative, digits, radix, start),
    }
}

#[cfg(feature = "alloc")]
fn big(negative: bool, digits: &str, radix: u32, _start: usize) -> Result<Number<'_>, Error> {
    Ok(Number::Big {
        negative,
        digits,
        radix,
    })
}

#[cfg(not(feature = "alloc"))]
fn big(_negative: bool, _digits: &str, _radix: u32, start: usize) -> Result<Number<'_>, Error> {
    Err(Error::new(ErrorKind::IntegerOutOfRange, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Result<(Number<'_>, usize), Error> {
        let mut out = Event::Absent;
        let end = number(s, s.as_bytes(), 0, &mut out)?;
        match out {
            Event::Number(n) => Ok((n, end)),
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn integers_take_the_narrowest_canonical_form() {
        assert_eq!(num("0").unwrap(), (Number::Int(0), 1));
        assert_eq!(num("-0").unwrap(), (Number::Int(0), 2));
        assert_eq!(num("9223372036854775807").unwrap().0, Number::Int(i64::MAX));
        assert_eq!(num("9223372036854775808").unwrap().0, Number::UInt(1 << 63));
        assert_eq!(
            num("-9223372036854775808").unwrap().0,
            Number::Int(i64::MIN)
        );
        assert_eq!(
            num("18446744073709551615").unwrap().0,
            Number::UInt(u64::MAX)
        );
        assert_eq!(num("0xff").unwrap().0, Number::Int(255));
        assert_eq!(num("-0x1").unwrap().0, Number::Int(-1));
        assert_eq!(num("0xffffffffffffffff").unwrap().0, Number::UInt(u64::MAX));
        assert_eq!(num("0x0000000000000000001").unwrap().0, Number::Int(1));
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn integers_beyond_64_bits_are_big() {
        assert_eq!(
            num("18446744073709551616").unwrap().0,
            Number::Big {
                negative: false,
                digits: "18446744073709551616",
                radix: 10
            }
        );
        assert_eq!(
            num("-9223372036854775809").unwrap().0,
            Number::Big {
                negative: true,
                digits: "9223372036854775809",
                radix: 10
            }
        );
        assert_eq!(
            num("0x10000000000000000").unwrap().0,
            Number::Big {
                negative: false,
                digits: "10000000000000000",
                radix: 16
            }
        );
    }

    #[cfg(not(feature = "alloc"))]
    #[test]
    fn integers_beyond_64_bits_are_out_of_range_without_alloc() {
        assert_eq!(
            num("18446744073709551616").unwrap_err().kind,
            ErrorKind::IntegerOutOfRange
        );
    }

    #[test]
    fn floats_follow_the_java_grammar() {
        assert_eq!(num("1.5").unwrap(), (Number::Float(1.5), 3));
        assert_eq!(num("-0.0").unwrap().0, Number::Float(-0.0));
        assert_eq!(num("1e309").unwrap().0, Number::Float(f64::INFINITY));
        assert_eq!(num("1E+5").unwrap().0, Number::Float(1e5));
        assert_eq!(num("007").unwrap(), (Number::Int(0), 1));
        assert_eq!(num("1.").unwrap_err().offset, 2);
        assert_eq!(num("1e").unwrap_err().offset, 2);
        assert_eq!(num("1.5e-").unwrap_err().offset, 5);
        assert_eq!(num("0x").unwrap_err().offset, 2);
        assert_eq!(
            num("-a").unwrap_err().kind,
            ErrorKind::ExpressionNotSupported
        );
        assert_eq!(
            num("- 1").unwrap_err().kind,
            ErrorKind::ExpressionNotSupported
        );
    }

    #[test]
    fn floats_are_correctly_rounded() {
        for s in [
            "0.1",
            "21.5",
            "-40.25",
            "3.14159",
            "0.30000000000000004",
            "1e22",
            "1e23",
            "9007199254740993.0",
            "0.00000000000000000000001",
            "123456789012345678901.5",
            "1.7976931348623157e308",
            "5e-324",
            "2.2250738585072014e-308",
            "0.000123",
            "-0.135e-12",
            "1234567890.0987654321",
            "1e-22",
            "4.35e+21",
            "0.0000000000000000000000000000001e31",
        ] {
            let want: f64 = s.parse().unwrap();
            match num(s).unwrap() {
                (Number::Float(got), end) => {
                    assert_eq!(got.to_bits(), want.to_bits(), "{s}");
                    assert_eq!(end, s.len());
                }
                other => panic!("{s}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_word_at_a_time_string_scan_finds_the_first_stop() {
        let alphabet = [
            b'a', b'"', b'\'', b'\\', 0x00, 0x01, 0x1f, 0x20, 0x21, 0x5c, 0x7f, 0x80, 0xc3, 0xff,
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            let mut buf = [0u8; 24];
            for (k, slot) in buf.iter_mut().enumerate().take(len) {
                *slot = alphabet[((state >> (k % 8 * 8)) as usize + k * 7) % alphabet.len()];
            }
            let bytes = &buf[..len];
            for quote in [b'"', b'\''] {
                let naive = bytes
                    .iter()
                    .position(|&c| c == quote || c == b'\\' || c < 0x20)
                    .unwrap_or(len);
                assert_eq!(find_string_stop(bytes, 0, quote), naive, "{bytes:?}");
            }
        }
    }

    #[test]
    fn strings_validate_escapes() {
        let s = r#""a\u00e9\n""#;
        let (t, end) = string(s, s.as_bytes(), 0).unwrap();
        assert_eq!(end, s.len());
        assert!(t.eq_str("a\u{e9}\n"));
        let bad = r#""\u00G0""#;
        assert_eq!(string(bad, bad.as_bytes(), 0).unwrap_err().offset, 5);
        let ctl = "\"a\tb\"";
        assert_eq!(string(ctl, ctl.as_bytes(), 0).unwrap_err().offset, 2);
    }

    #[test]
    fn data_needs_complete_padded_groups() {
        for ok in ["%", "%AQ==", "%AQI=", "%AQID"] {
            let (d, end) = data(ok, ok.as_bytes(), 0).unwrap();
            assert_eq!(end, ok.len());
            assert_eq!(d.base64(), &ok[1..]);
        }
        for bad in ["%A", "%AB", "%ABC", "%AB=", "%A===", "%AQ="] {
            assert!(data(bad, bad.as_bytes(), 0).is_err(), "{bad}");
        }
        let (_, end) = data("%AQ==AQ==", b"%AQ==AQ==", 0).unwrap();
        assert_eq!(end, 5);
    }

    #[test]
    fn raw_strings_single_triple_and_empty() {
        for (s, want, end) in [
            ("`raw`", "raw", 5),
            ("``", "", 2),
            ("```a`b``c```", "a`b``c", 12),
            ("`a\\`b`", "a`b", 6),
            ("```x\ny```", "x\ny", 9),
        ] {
            let (t, e) = raw_string(s, s.as_bytes(), 0).unwrap();
            assert!(t.eq_str(want), "{s}");
            assert_eq!(e, end, "{s}");
        }
        assert!(raw_string("`a\nb`", b"`a\nb`", 0).is_err());
        assert!(raw_string("```abc``", b"```abc``", 0).is_err());
    }
}
