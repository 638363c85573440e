//! The fast path: a byte scanner for the usual header form, which looks at each byte once.

use super::decode::Header;
use super::{Body, Envelope, Tag};
use crate::recon::{Text, TextForm};

/// The header of the common form `@tag(node:V,lane:V[,prio:N][,rate:N])` (named arguments in
/// any order, no whitespace, identifiers or plain/escaped double-quoted strings, decimal
/// numbers), or `@tag` for host-addressed kinds. `None` for anything else, including every
/// invalid frame: the general path decides those.
pub(super) fn fast_header(frame: &str) -> Option<Header<'_>> {
    let b = frame.as_bytes();
    if b.first() != Some(&b'@') {
        return None;
    }
    let mut i = 1;
    while b.get(i).is_some_and(u8::is_ascii_lowercase) {
        i += 1;
    }
    let tag = Tag::from_name_bytes(b.get(1..i)?)?;
    if tag.is_host_addressed() {
        return match b.get(i) {
            None => Some((Envelope::new(tag, "", ""), i)),
            Some(&c) if fast_after_header(c) => Some((Envelope::new(tag, "", ""), i)),
            Some(_) => None,
        };
    }
    if b.get(i) != Some(&b'(') {
        return None;
    }
    i += 1;
    let mut node = None;
    let mut lane = None;
    let mut prio = 0.0;
    let mut rate = 0.0;
    loop {
        let key_start = i;
        while b.get(i).is_some_and(u8::is_ascii_lowercase) {
            i += 1;
        }
        let key = b.get(key_start..i)?;
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        match key {
            b"node" => {
                let (t, end) = fast_text(frame, i)?;
                node = Some(t);
                i = end;
            }
            b"lane" => {
                let (t, end) = fast_text(frame, i)?;
                lane = Some(t);
                i = end;
            }
            b"prio" => {
                let (v, end) = fast_number(frame, i)?;
                prio = v;
                i = end;
            }
            b"rate" => {
                let (v, end) = fast_number(frame, i)?;
                rate = v;
                i = end;
            }
            _ => return None,
        }
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b')') => {
                i += 1;
                break;
            }
            _ => return None,
        }
    }
    if let Some(&c) = b.get(i) {
        if !fast_after_header(c) {
            return None;
        }
    }
    let (node, lane) = (node?, lane?);
    let (prio, rate) = if tag.is_link_addressed() {
        (prio, rate)
    } else {
        (0.0, 0.0)
    };
    Some((
        Envelope {
            tag,
            node,
            lane,
            prio,
            rate,
            body: Body::absent(),
        },
        i,
    ))
}

/// The bytes the fast path accepts right after a header: whitespace or the start of a body
/// that cannot extend the header.
fn fast_after_header(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'@' | b'"' | b'%')
}

/// An identifier of ASCII characters, or a double-quoted string with the escapes the portable
/// subset allows (plus `\/`), followed by the offset after it.
fn fast_text(frame: &str, i: usize) -> Option<(Text<'_>, usize)> {
    let b = frame.as_bytes();
    let first = *b.get(i)?;
    if first == b'"' {
        let mut j = i + 1;
        let mut escaped = false;
        loop {
            match *b.get(j)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    match *b.get(j + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                        b'u' => {
                            if !b.get(j + 2..j + 6)?.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            j += 6;
                        }
                        _ => return None,
                    }
                }
                // Control characters (C0, DEL, and the C1 range behind 0xC2) go to the
                // general path, which decides whether they are allowed.
                c if c < 0x20 || c == 0x7F || c == 0xC2 => return None,
                _ => j += 1,
            }
        }
        let raw = frame.get(i + 1..j)?;
        let text = if escaped {
            Text::from_raw(raw, TextForm::Escaped)
        } else {
            Text::plain(raw)
        };
        return Some((text, j + 1));
    }
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let mut j = i + 1;
    while b
        .get(j)
        .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        j += 1;
    }
    if b.get(j).is_some_and(|&c| c >= 0x80) {
        // A non-ASCII character may continue the identifier.
        return None;
    }
    Some((Text::plain(frame.get(i..j)?), j))
}

/// A decimal Recon number (`-`? (`0`|[1-9][0-9]*) (`.`[0-9]+)? ([eE][+-]?[0-9]+)?) read as the
/// reader would (an `i64` or an `f64`) and converted to `f32`.
fn fast_number(frame: &str, i: usize) -> Option<(f32, usize)> {
    let b = frame.as_bytes();
    let digit = |j: usize| b.get(j).is_some_and(u8::is_ascii_digit);
    let mut j = i;
    let negative = b.get(j) == Some(&b'-');
    if negative {
        j += 1;
    }
    match b.get(j) {
        Some(b'0') => j += 1,
        Some(b'1'..=b'9') => {
            while digit(j) {
                j += 1;
            }
        }
        _ => return None,
    }
    let int_end = j;
    let mut float = false;
    if b.get(j) == Some(&b'.') {
        j += 1;
        if !digit(j) {
            return None;
        }
        while digit(j) {
            j += 1;
        }
        float = true;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if !digit(j) {
            return None;
        }
        while digit(j) {
            j += 1;
        }
        float = true;
    }
    if float {
        let v: f64 = frame.get(i..j)?.parse().ok()?;
        return Some((v as f32, j));
    }
    let digits = b.get(if negative { i + 1 } else { i }..int_end)?;
    let mut n: i64 = 0;
    for &d in digits {
        let d = i64::from(d - b'0');
        n = n.checked_mul(10)?;
        n = if negative {
            n.checked_sub(d)?
        } else {
            n.checked_add(d)?
        };
    }
    Some((n as f32, j))
}
