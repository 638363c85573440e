//! Scalars: texts (bare or quoted), integers, floats, bools and data.

use core::fmt;

use super::{Fault, Out, R};
use crate::recon::ident;

/// Whether `s` is written without quotes: [`ident::is_bare_text`], with a byte loop for ASCII.
#[inline]
pub(super) fn is_bare(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return first >= 0x80 && ident::is_bare_text(s);
    }
    for &b in rest {
        if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return b >= 0x80 && ident::is_bare_text(s);
        }
    }
    s != "true" && s != "false"
}

/// The escape for an ASCII byte that cannot stand in a quoted string, if it has a short one;
/// `Some("")` marks the bytes written as `\u00XX`.
#[inline]
fn escape_of(b: u8) -> Option<&'static str> {
    match b {
        b'"' => Some("\\\""),
        b'\\' => Some("\\\\"),
        0x08 => Some("\\b"),
        0x0C => Some("\\f"),
        b'\n' => Some("\\n"),
        b'\r' => Some("\\r"),
        b'\t' => Some("\\t"),
        0x00..=0x1F => Some(""),
        _ => None,
    }
}

/// Whether any byte of the 8-byte word `w` needs escaping in a quoted string: a control byte
/// (below 0x20), `"` or `\\`. Word-at-a-time (SWAR) test: for each byte `x`, `x - k` borrows
/// into the high bit exactly when `x < k` (for bytes below 0x80; bytes at or above 0x80 are
/// masked off by `!w`), and `x ^ c` is zero exactly when `x == c`.
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let is_quote = quote.wrapping_sub(ONES) & !quote;
    let is_backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | is_quote | is_backslash) & HIGH != 0
}

/// The index of the first byte at or after `from` that needs escaping, if any.
#[inline]
fn next_escape(bytes: &[u8], mut from: usize) -> Option<usize> {
    while let Some(chunk) = bytes.get(from..from.saturating_add(8)) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        if word_needs_escape(u64::from_le_bytes(word)) {
            break;
        }
        from += 8;
    }
    let rest = bytes.get(from..)?;
    rest.iter()
        .position(|&b| escape_of(b).is_some())
        .map(|i| from + i)
}

pub(super) fn write_quoted<W: fmt::Write>(out: &mut Out<W>, s: &str) -> R {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.put("\"")?;
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        let b = bytes.get(i).copied().unwrap_or(0);
        let esc = escape_of(b).unwrap_or("");
        // `i` and `start` sit on ASCII bytes (or the start), so both are char boundaries.
        if let Some(run) = s.get(start..i) {
            if !run.is_empty() {
                out.put(run)?;
            }
        }
        if esc.is_empty() {
            let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            let lo = HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0');
            let buf = [b'\\', b'u', b'0', b'0', hi, lo];
            out.put(core::str::from_utf8(&buf).map_err(|_| Fault::Sink)?)?;
        } else {
            out.put(esc)?;
        }
        start = i + 1;
    }
    if let Some(run) = s.get(start..) {
        if !run.is_empty() {
            out.put(run)?;
        }
    }
    out.put("\"")
}

/// Text (also attribute names): bare or quoted.
#[inline]
pub(super) fn write_text<W: fmt::Write>(out: &mut Out<W>, s: &str) -> R {
    if is_bare(s) {
        out.put(s)
    } else {
        write_quoted(out, s)
    }
}

const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes the decimal digits of `n` into the end of `buf`; returns where they start.
#[inline(always)]
fn digits_u32(buf: &mut [u8; 21], mut at: usize, mut n: u32) -> usize {
    let mut pair = |at: usize, two: u32| {
        let from = (two as usize % 100) * 2;
        if let (Some(dst), Some(src)) = (buf.get_mut(at..at + 2), DIGIT_PAIRS.get(from..from + 2)) {
            dst.copy_from_slice(src);
        }
    };
    while n >= 10_000 {
        let four = n % 10_000;
        n /= 10_000;
        at = at.saturating_sub(4);
        pair(at, four / 100);
        pair(at + 2, four % 100);
    }
    if n >= 100 {
        at = at.saturating_sub(2);
        pair(at, n % 100);
        n /= 100;
    }
    if n >= 10 {
        at = at.saturating_sub(2);
        pair(at, n);
    } else {
        at = at.saturating_sub(1);
        if let Some(d) = buf.get_mut(at) {
            *d = b'0' + n as u8;
        }
    }
    at
}

/// Writes `n` in decimal, preceded by `-` when `negative`, with one write to the sink.
pub(super) fn write_decimal<W: fmt::Write>(out: &mut Out<W>, n: u64, negative: bool) -> R {
    // 20 digits for u64::MAX, one sign.
    let mut buf = [0u8; 21];
    let mut at = buf.len();
    let low = match u32::try_from(n) {
        Ok(small) => small,
        Err(_) => {
            // Peel eight digits at a time until the rest fits u32 (at most twice).
            let mut high = n;
            loop {
                let eight = (high % 100_000_000) as u32;
                high /= 100_000_000;
                let start = digits_u32(&mut buf, at, eight);
                // Zero-pad the group to eight digits.
                let target = at.saturating_sub(8);
                for d in buf.get_mut(target..start).unwrap_or(&mut []) {
                    *d = b'0';
                }
                at = target;
                if let Ok(rest) = u32::try_from(high) {
                    break rest;
                }
            }
        }
    };
    if low > 0 || at == buf.len() {
        at = digits_u32(&mut buf, at, low);
    }
    if negative {
        at = at.saturating_sub(1);
        if let Some(d) = buf.get_mut(at) {
            *d = b'-';
        }
    }
    let digits = buf.get(at..).unwrap_or(&[]);
    out.put(core::str::from_utf8(digits).map_err(|_| Fault::Sink)?)
}

#[inline]
pub(super) fn write_int<W: fmt::Write>(out: &mut Out<W>, i: i64) -> R {
    write_decimal(out, i.unsigned_abs(), i < 0)
}

/// Whether `s` is a float literal of the portable grammar
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` with a `.` or an exponent.
fn is_portable_float(s: &[u8]) -> bool {
    fn digits(s: &[u8], mut i: usize) -> usize {
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    }
    let mut i = usize::from(s.first() == Some(&b'-'));
    match s.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(s, i + 1),
        _ => return false,
    }
    let mut float = false;
    if s.get(i) == Some(&b'.') {
        let end = digits(s, i + 1);
        if end == i + 1 {
            return false;
        }
        i = end;
        float = true;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits(s, i);
        if end == i {
            return false;
        }
        i = end;
        float = true;
    }
    float && i == s.len()
}

pub(super) fn write_float<W: fmt::Write>(out: &mut Out<W>, f: f64) -> R {
    if !f.is_finite() {
        return Err(Fault::NonFinite);
    }
    // Ryu's shortest text that reads back as the same f64, with `.0` on whole numbers and an
    // exponent outside about 1e-5..1e16. `{:e}` is the fallback should it ever not be portable.
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(f);
    if is_portable_float(text.as_bytes()) {
        out.put(text)
    } else {
        use fmt::Write as _;
        write!(out, "{:e}", f).map_err(|_| Fault::Sink)
    }
}

#[inline]
pub(super) fn write_bool<W: fmt::Write>(out: &mut Out<W>, b: bool) -> R {
    out.put(if b { "true" } else { "false" })
}

/// `%` and the padded standard base64 of `bytes`, in blocks of 1024 characters.
pub(super) fn write_data<W: fmt::Write>(out: &mut Out<W>, bytes: &[u8]) -> R {
    use base64::Engine as _;
    out.put("%")?;
    let mut block = [0u8; 1024];
    // 768 bytes make 1024 characters without padding: only the last block is padded.
    for chunk in bytes.chunks(768) {
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(chunk, &mut block)
            .map_err(|_| Fault::Sink)?;
        let text = block.get(..n).unwrap_or(&[]);
        out.put(core::str::from_utf8(text).map_err(|_| Fault::Sink)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod swar_tests {
    use super::{escape_of, next_escape, word_needs_escape};
    use alloc::format;

    #[test]
    fn the_word_test_agrees_with_the_byte_test_for_every_byte_in_every_lane() {
        for lane in 0..8 {
            for b in 0..=255u8 {
                let mut word = [b'a'; 8];
                word[lane] = b;
                assert_eq!(
                    word_needs_escape(u64::from_le_bytes(word)),
                    escape_of(b).is_some(),
                    "byte {b:#04x} in lane {lane}"
                );
            }
        }
    }

    #[test]
    fn next_escape_finds_the_first_escape_at_any_offset() {
        let base = "héllo wörld, a fairly long run of text without escapes";
        for at in 0..base.len() {
            if !base.is_char_boundary(at) {
                continue;
            }
            let s = format!("{}\n{}", &base[..at], &base[at..]);
            assert_eq!(next_escape(s.as_bytes(), 0), Some(at), "{s:?}");
        }
        assert_eq!(next_escape(base.as_bytes(), 0), None);
    }
}
