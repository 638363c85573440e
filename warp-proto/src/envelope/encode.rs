//! Writing envelopes: the header, node/lane URIs, prio/rate, and the body splice.

use core::fmt::{self, Write};

use super::{Envelope, EnvelopeError, EnvelopeErrorKind};
use crate::recon::{ident, Text};

/// Recon whitespace: spaces, tabs and newlines.
pub(super) fn is_recon_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Whether `c` must be percent-encoded in a node or lane URI: spaces and control characters,
/// non-ASCII characters, and the ASCII characters RFC 3986 does not allow anywhere in a URI
/// (`" < > \ ^ ` { | }`), all of which make the Java and JS URI parsers reject the frame.
fn needs_pct(c: char) -> bool {
    !c.is_ascii()
        || c <= ' '
        || c == '\u{7F}'
        || matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
}

fn is_hex(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_hexdigit())
}

/// Whether [`write_uri`] would change `s`.
pub fn uri_needs_encoding(s: &str) -> bool {
    needs_encoding_chars(s.chars())
}

fn needs_encoding_chars<I: Iterator<Item = char> + Clone>(mut it: I) -> bool {
    while let Some(c) = it.next() {
        if needs_pct(c) {
            return true;
        }
        if c == '%' {
            let mut look = it.clone();
            if !(is_hex(look.next()) && is_hex(look.next())) {
                return true;
            }
        }
    }
    false
}

/// Writes the node or lane URI `s` percent-encoded: every character that is not allowed in a
/// URI (space, control characters, non-ASCII, `" < > \ ^ ` { | }`) becomes `%XX` for each of
/// its UTF-8 bytes, and a `%` not followed by two hex digits becomes `%25`. Existing `%XX`
/// escapes are kept, so encoding is idempotent. This is what [`Envelope::encode`] does to node
/// and lane; a decoded node is not percent-decoded.
///
/// ```
/// let mut s = String::new();
/// warp_proto::envelope::write_uri("/a b/é", &mut s).unwrap();
/// assert_eq!(s, "/a%20b/%C3%A9");
/// ```
pub fn write_uri<W: Write + ?Sized>(s: &str, w: &mut W) -> fmt::Result {
    write_uri_chars(s.chars(), w)
}

fn write_uri_chars<I, W>(mut it: I, w: &mut W) -> fmt::Result
where
    I: Iterator<Item = char> + Clone,
    W: Write + ?Sized,
{
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    while let Some(c) = it.next() {
        let escape = if c == '%' {
            let mut look = it.clone();
            !(is_hex(look.next()) && is_hex(look.next()))
        } else {
            needs_pct(c)
        };
        if escape {
            let mut utf8 = [0u8; 4];
            for &b in c.encode_utf8(&mut utf8).as_bytes() {
                w.write_char('%')?;
                w.write_char(char::from(HEX[usize::from(b >> 4)]))?;
                w.write_char(char::from(HEX[usize::from(b & 0xF)]))?;
            }
        } else {
            w.write_char(c)?;
        }
    }
    Ok(())
}

/// Whether the characters form an identifier other than `true`/`false`.
fn is_bare_chars<I: Iterator<Item = char> + Clone>(it: I) -> bool {
    let mut chars = it.clone();
    let ident = match chars.next() {
        Some(c) if ident::is_ident_start(c) => chars.all(ident::is_ident_char),
        _ => false,
    };
    ident && !it.clone().eq("true".chars()) && !it.eq("false".chars())
}

/// Writes a node or lane: percent-encoded, then bare if an identifier other than `true` and
/// `false`, else double-quoted (percent-encoding has removed every character that would need
/// a Recon escape).
fn write_uri_text<W: Write + ?Sized>(t: &Text<'_>, w: &mut W) -> fmt::Result {
    if let Some(s) = t.as_str() {
        // An ASCII identifier holds no character that percent-encoding would change.
        if s.is_ascii() && ident::is_bare_text(s) {
            return w.write_str(s);
        }
        w.write_char('"')?;
        if uri_needs_encoding(s) {
            write_uri(s, w)?;
        } else {
            w.write_str(s)?;
        }
        return w.write_char('"');
    }
    if !needs_encoding_chars(t.chars()) && is_bare_chars(t.chars()) {
        for c in t.chars() {
            w.write_char(c)?;
        }
        return Ok(());
    }
    w.write_char('"')?;
    write_uri_chars(t.chars(), w)?;
    w.write_char('"')
}

/// Writes prio or rate (non-zero): finite values with `.` or an exponent (Rust's shortest
/// round-trip form, which every reference reads back to the same `f32`); NaN as `NaN` and
/// +∞ as `Infinity` (identifiers that Java, JS and Rust all convert to those floats); -∞ as
/// `-1e39`, a literal that overflows `f32` to -∞ in Java and Rust.
pub(super) fn write_f32<W: Write + ?Sized>(v: f32, w: &mut W) -> fmt::Result {
    if v.is_nan() {
        w.write_str("NaN")
    } else if v == f32::INFINITY {
        w.write_str("Infinity")
    } else if v == f32::NEG_INFINITY {
        w.write_str("-1e39")
    } else if v > -1e7 && v < 1e7 && (v as i32) as f32 == v {
        // Whole numbers below 10^7 (the usual prio/rate) print as `{:?}` does (`10.0`), without
        // going through the float formatter.
        let mut digits = [0u8; 8];
        let mut n = (v as i32).unsigned_abs();
        let mut at = digits.len();
        loop {
            at -= 1;
            if let Some(d) = digits.get_mut(at) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || at == 0 {
                break;
            }
        }
        if v < 0.0 {
            w.write_char('-')?;
        }
        for &d in digits.get(at..).unwrap_or(&[]) {
            w.write_char(char::from(d))?;
        }
        w.write_str(".0")
    } else {
        write!(w, "{:?}", v)
    }
}

/// A `fmt::Write` adapter counting the bytes written.
pub(super) struct Counting<'w, W: ?Sized> {
    pub(super) inner: &'w mut W,
    pub(super) count: usize,
}

impl<W: Write + ?Sized> Write for Counting<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.inner.write_str(s)?;
        self.count = self.count.saturating_add(s.len());
        Ok(())
    }
}

/// A `fmt::Write` into a byte slice that never fails: once a write does not fit it stops
/// copying and keeps counting, so the exact size needed is known at the end.
pub(super) struct SliceSink<'b> {
    buf: &'b mut [u8],
    len: usize,
    overflow: bool,
}

impl<'b> SliceSink<'b> {
    pub(super) fn new(buf: &'b mut [u8]) -> Self {
        SliceSink {
            buf,
            len: 0,
            overflow: false,
        }
    }

    /// The number of bytes written, or the error carrying the size the whole output needed.
    pub(super) fn finish(self) -> Result<usize, EnvelopeError> {
        if self.overflow {
            Err(EnvelopeError::new(
                EnvelopeErrorKind::BufferTooSmall { required: self.len },
                self.buf.len(),
            ))
        } else {
            Ok(self.len)
        }
    }
}

impl Write for SliceSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.saturating_add(s.len());
        if !self.overflow {
            match self.buf.get_mut(self.len..end) {
                Some(dst) => dst.copy_from_slice(s.as_bytes()),
                None => self.overflow = true,
            }
        }
        self.len = end;
        Ok(())
    }
}

/// Adds the separator a body needs after the header: one space unless the body text starts
/// with `{`, `@`, `"` or `%` (the Java/JS printer's rule). Decided on the first write.
pub(super) struct BodyStart<'w, W: ?Sized> {
    pub(super) inner: &'w mut W,
    pub(super) started: bool,
}

impl<W: Write + ?Sized> Write for BodyStart<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if !self.started {
            let Some(first) = s.bytes().next() else {
                return Ok(());
            };
            self.started = true;
            if !matches!(first, b'{' | b'@' | b'"' | b'%') {
                self.inner.write_char(' ')?;
            }
        }
        self.inner.write_str(s)
    }
}

fn fmt_error(offset: usize) -> EnvelopeError {
    EnvelopeError::new(EnvelopeErrorKind::Fmt, offset)
}

impl<'a> Envelope<'a> {
    /// Writes the header: `@tag`, and for lane- and link-addressed kinds
    /// `(node:N,lane:L[,prio:P][,rate:R])`.
    pub(super) fn write_header<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        w.write_char('@')?;
        w.write_str(self.tag.name())?;
        if self.tag.is_host_addressed() {
            return Ok(());
        }
        w.write_str("(node:")?;
        write_uri_text(&self.node, w)?;
        w.write_str(",lane:")?;
        write_uri_text(&self.lane, w)?;
        if self.tag.is_link_addressed() {
            // NaN != 0.0, so NaN is written; -0.0 == 0.0 is not.
            if self.prio != 0.0 {
                w.write_str(",prio:")?;
                write_f32(self.prio, w)?;
            }
            if self.rate != 0.0 {
                w.write_str(",rate:")?;
                write_f32(self.rate, w)?;
            }
        }
        w.write_char(')')
    }

    /// Writes the envelope as one WARP frame (PROFILE.md "Writing"), with the raw body.
    ///
    /// The body text ([`Body::raw`](super::Body::raw)) is written after the header with leading whitespace
    /// dropped and the separator the Java/JS printer uses (one space before an identifier,
    /// number or bool; none before `{`, `@`, `"`, `%`). A body that is empty or exactly `{}`
    /// is written as nothing (both read as Absent).
    ///
    /// The only error is [`EnvelopeErrorKind::Fmt`], when `w` fails.
    ///
    /// ```
    /// use warp_proto::envelope::{Body, Envelope};
    /// let env = Envelope::event("/a b", "info", Body::from_raw("1")).with_prio(2.0);
    /// let mut s = String::new();
    /// env.encode(&mut s).unwrap();
    /// assert_eq!(s, "@event(node:\"/a%20b\",lane:info) 1");
    /// ```
    pub fn encode<W: Write + ?Sized>(&self, w: &mut W) -> Result<(), EnvelopeError> {
        let mut out = Counting { inner: w, count: 0 };
        self.write_header(&mut out)
            .map_err(|_| fmt_error(out.count))?;
        let body = self.body.raw().trim_start_matches(is_recon_space);
        if body.is_empty() || body.trim_end_matches(is_recon_space) == "{}" {
            return Ok(());
        }
        let mut sep = BodyStart {
            inner: &mut out,
            started: false,
        };
        sep.write_str(body).map_err(|_| fmt_error(out.count))
    }

    /// Writes the frame into `buf` and returns its length.
    ///
    /// When `buf` is too small the error is [`EnvelopeErrorKind::BufferTooSmall`] with the
    /// exact length of the frame; the content of `buf` is then unspecified.
    ///
    /// ```
    /// use warp_proto::envelope::{Envelope, EnvelopeErrorKind};
    /// let env = Envelope::link("/unit/1", "info");
    /// let mut small = [0u8; 8];
    /// let err = env.encode_to_slice(&mut small).unwrap_err();
    /// assert_eq!(err.kind, EnvelopeErrorKind::BufferTooSmall { required: 31 });
    /// ```
    pub fn encode_to_slice(&self, buf: &mut [u8]) -> Result<usize, EnvelopeError> {
        let mut sink = SliceSink::new(buf);
        self.encode(&mut sink)?;
        sink.finish()
    }

    /// The length in bytes of the frame [`Envelope::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let mut sink = SliceSink::new(&mut []);
        // Writing into a SliceSink never fails.
        let _ = self.encode(&mut sink);
        match sink.finish() {
            Ok(n) => n,
            Err(EnvelopeError {
                kind: EnvelopeErrorKind::BufferTooSmall { required },
                ..
            }) => required,
            Err(_) => 0,
        }
    }
}
