//! The general path: delimits the header, reads it with the Recon reader as a document of its
//! own, and interprets the arguments (named or positional).

use super::decode::{skip_space, Header};
use super::{Body, Envelope, EnvelopeError, EnvelopeErrorKind, Tag};
use crate::recon::{Error, ErrorKind, Event, Found, Number, Reader, Text};

/// Skips Recon whitespace and `#` comments.
fn skip_space_and_comments(b: &[u8], mut i: usize) -> usize {
    loop {
        i = skip_space(b, i);
        if b.get(i) != Some(&b'#') {
            return i;
        }
        while b.get(i).is_some_and(|&c| c != b'\n') {
            i += 1;
        }
    }
}

/// The end of a quoted string starting at `i` (the quote), after the closing quote.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let quote = *b.get(i)?;
    let mut j = i + 1;
    loop {
        let c = *b.get(j)?;
        if c == quote {
            return Some(j + 1);
        }
        j += if c == b'\\' { 2 } else { 1 };
    }
}

/// The end of a backtick raw string (single, empty or triple) starting at `i`.
fn skip_raw_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i + 1) == Some(&b'`') {
        if b.get(i + 2) != Some(&b'`') {
            return Some(i + 2);
        }
        let mut j = i + 3;
        loop {
            match *b.get(j)? {
                b'\\' => j += 2,
                b'`' if b.get(j + 1..j + 3) == Some(b"``") => return Some(j + 3),
                _ => j += 1,
            }
        }
    }
    let mut j = i + 1;
    loop {
        match *b.get(j)? {
            b'`' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
}

/// The deepest bracket nesting [`close_paren`] follows (deeper headers fail in the reader).
const NEST_BITS: usize = 256;

/// Open brackets, one bit each: set for markup `[`, clear for `(` and `{`.
struct Nest {
    bits: [u64; NEST_BITS / 64],
    depth: usize,
}

impl Nest {
    fn push(&mut self, markup: bool) -> Option<()> {
        let word = self.bits.get_mut(self.depth / 64)?;
        let mask = 1u64 << (self.depth % 64);
        if markup {
            *word |= mask;
        } else {
            *word &= !mask;
        }
        self.depth += 1;
        Some(())
    }

    fn in_markup(&self) -> bool {
        self.depth.checked_sub(1).is_some_and(|top| {
            self.bits
                .get(top / 64)
                .is_some_and(|w| w & (1u64 << (top % 64)) != 0)
        })
    }
}

/// The offset just after the `)` that closes the `(` at `open`, skipping strings, raw strings,
/// comments and markup text, and counting brackets. The reader then checks the header text
/// between `@` and this offset as a document of its own, so a wrong guess here could only
/// make a frame fail, never change what it means.
fn close_paren(frame: &str, open: usize) -> Option<usize> {
    let b = frame.as_bytes();
    let mut nest = Nest {
        bits: [0; NEST_BITS / 64],
        depth: 0,
    };
    nest.push(false)?;
    let mut i = open + 1;
    loop {
        let c = *b.get(i)?;
        if nest.in_markup() {
            match c {
                b'\\' => i += 2,
                b'[' => {
                    nest.push(true)?;
                    i += 1;
                }
                b'{' => {
                    nest.push(false)?;
                    i += 1;
                }
                b']' | b'}' => {
                    nest.depth = nest.depth.saturating_sub(1);
                    i += 1;
                }
                b'@' => {
                    // An attribute inside markup: its name, then maybe arguments.
                    i = attr_name_end(frame, i + 1).unwrap_or(i + 1);
                    if b.get(i) == Some(&b'(') {
                        nest.push(false)?;
                        i += 1;
                    }
                }
                _ => i += 1,
            }
            continue;
        }
        match c {
            b'(' | b'{' => {
                nest.push(false)?;
                i += 1;
            }
            b'[' => {
                nest.push(true)?;
                i += 1;
            }
            b')' | b'}' | b']' => {
                nest.depth = nest.depth.saturating_sub(1);
                i += 1;
                if nest.depth == 0 {
                    return (c == b')').then_some(i);
                }
            }
            b'"' | b'\'' => i = skip_string(b, i)?,
            b'`' => i = skip_raw_string(b, i)?,
            b'#' => {
                while b.get(i).is_some_and(|&c| c != b'\n' && c != b'\r') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
}

/// The end of the attribute name starting at `i` (just after `@`): an identifier or a string.
fn attr_name_end(frame: &str, i: usize) -> Option<usize> {
    let b = frame.as_bytes();
    match *b.get(i)? {
        b'"' | b'\'' => skip_string(b, i),
        _ => {
            let rest = frame.get(i..)?;
            let mut chars = rest.char_indices();
            match chars.next() {
                Some((_, c)) if crate::recon::ident::is_ident_start(c) => {}
                _ => return None,
            }
            let len = chars
                .find(|&(_, c)| !crate::recon::ident::is_ident_char(c))
                .map_or(rest.len(), |(at, _)| at);
            Some(i + len)
        }
    }
}

/// The error for a frame whose header cannot be delimited or that does not start with an
/// attribute: the reader's syntax error over the whole frame if there is one, else
/// [`EnvelopeErrorKind::NotAnEnvelope`] at `at`.
fn frame_error(frame: &str, at: usize) -> EnvelopeError {
    let mut reader = Reader::new(frame);
    loop {
        match reader.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => return EnvelopeError::new(EnvelopeErrorKind::NotAnEnvelope, at),
            Err(e) => return EnvelopeError::from_recon(e, 0),
        }
    }
}

/// A reader over the header text with one event of lookahead, reporting errors at frame
/// offsets.
struct HeaderReader<'a> {
    reader: Reader<'a>,
    base: usize,
    peeked: Option<Event<'a>>,
}

impl<'a> HeaderReader<'a> {
    fn next(&mut self) -> Result<Event<'a>, EnvelopeError> {
        if let Some(e) = self.peeked.take() {
            return Ok(e);
        }
        match self.reader.next_event() {
            Ok(Some(e)) => Ok(e),
            // A document's events are balanced, so the caller never reads past its end; an
            // early end is reported as one.
            Ok(None) => Err(self.unexpected_end()),
            Err(e) => Err(EnvelopeError::from_recon(e, self.base)),
        }
    }

    fn peek(&mut self) -> Result<Event<'a>, EnvelopeError> {
        let e = self.next()?;
        self.peeked = Some(e);
        Ok(e)
    }

    fn unexpected_end(&self) -> EnvelopeError {
        EnvelopeError::from_recon(
            Error::new(
                ErrorKind::Unexpected(Found::EndOfInput),
                self.reader.position(),
            ),
            self.base,
        )
    }

    /// The offset in the frame of the next unread byte.
    fn offset(&self) -> usize {
        self.base.saturating_add(self.reader.position())
    }

    /// Skips the rest of a value whose first event was `first`.
    fn skip_value(&mut self, first: Event<'a>) -> Result<(), EnvelopeError> {
        if first != Event::StartRecord {
            return Ok(());
        }
        let mut depth: usize = 1;
        while depth > 0 {
            match self.next()? {
                Event::StartRecord => depth += 1,
                Event::EndRecord => depth -= 1,
                _ => {}
            }
        }
        Ok(())
    }
}

/// Which header argument a value is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arg {
    Node,
    Lane,
    Prio,
    Rate,
    Other,
}

fn key_arg(key: &Text<'_>) -> Arg {
    if key.eq_str("node") {
        Arg::Node
    } else if key.eq_str("lane") {
        Arg::Lane
    } else if key.eq_str("prio") {
        Arg::Prio
    } else if key.eq_str("rate") {
        Arg::Rate
    } else {
        Arg::Other
    }
}

/// The header arguments read so far.
struct Args<'a> {
    link: bool,
    node: Option<Text<'a>>,
    lane: Option<Text<'a>>,
    prio: f32,
    rate: f32,
}

impl<'a> Args<'a> {
    /// Records the value of argument `arg`, a scalar event `first` read at offset `at`
    /// (a record's `StartRecord` is refused for node and lane, ignored otherwise).
    fn interpret(&mut self, arg: Arg, first: Event<'a>, at: usize) -> Result<(), EnvelopeError> {
        use EnvelopeErrorKind as K;
        match arg {
            Arg::Node => self.node = Some(text_arg(first, at, K::EmptyNode, K::NodeNotText)?),
            Arg::Lane => self.lane = Some(text_arg(first, at, K::EmptyLane, K::LaneNotText)?),
            Arg::Prio if self.link => self.prio = number_arg(first, at, K::BadPrio)?,
            Arg::Rate if self.link => self.rate = number_arg(first, at, K::BadRate)?,
            _ => {}
        }
        Ok(())
    }

    /// Reads the whole value of argument `arg`, whose first event `first` was read at `at`.
    fn take(
        &mut self,
        r: &mut HeaderReader<'a>,
        arg: Arg,
        first: Event<'a>,
        at: usize,
    ) -> Result<(), EnvelopeError> {
        self.interpret(arg, first, at)?;
        r.skip_value(first)
    }
}

/// Node or lane: text, or a bool taken as its name.
fn text_arg<'a>(
    first: Event<'a>,
    at: usize,
    empty: EnvelopeErrorKind,
    not_text: EnvelopeErrorKind,
) -> Result<Text<'a>, EnvelopeError> {
    match first {
        Event::Text(t) => Ok(t),
        Event::Bool(true) => Ok(Text::plain("true")),
        Event::Bool(false) => Ok(Text::plain("false")),
        Event::Extant | Event::Absent => Err(EnvelopeError::new(empty, at)),
        _ => Err(EnvelopeError::new(not_text, at)),
    }
}

/// Prio or rate: a number, or text holding a decimal number, NaN or infinity.
fn number_arg(first: Event<'_>, at: usize, bad: EnvelopeErrorKind) -> Result<f32, EnvelopeError> {
    let err = EnvelopeError::new(bad, at);
    match first {
        Event::Number(n) => Ok(number_to_f32(n)),
        Event::Text(t) => {
            let mut buf = [0u8; 64];
            let s = t.decode_into(&mut buf).map_err(|_| err)?;
            s.parse::<f32>().map_err(|_| err)
        }
        _ => Err(err),
    }
}

/// A number as `f32`, the way Java converts a Recon number (`(float)` of the long or double).
fn number_to_f32(n: Number<'_>) -> f32 {
    match n {
        Number::Int(i) => i as f32,
        Number::UInt(u) => u as f32,
        Number::Float(f) => f as f32,
        Number::Big {
            negative,
            digits,
            radix,
        } => {
            let magnitude = if radix == 10 {
                digits.parse::<f64>().unwrap_or(f64::INFINITY)
            } else {
                digits.chars().fold(0.0_f64, |acc, d| {
                    acc * f64::from(radix) + f64::from(d.to_digit(radix).unwrap_or(0))
                })
            };
            let v = if negative { -magnitude } else { magnitude };
            v as f32
        }
    }
}

/// The header by the general rules: delimits `@tag(…)` (after optional whitespace and
/// comments), reads it with the Recon reader as a document of its own, and interprets the
/// arguments.
pub(super) fn general_header(frame: &str) -> Result<Header<'_>, EnvelopeError> {
    let b = frame.as_bytes();
    let start = skip_space_and_comments(b, 0);
    if b.get(start) != Some(&b'@') {
        return Err(frame_error(frame, start));
    }
    let Some(name_end) = attr_name_end(frame, start + 1) else {
        return Err(frame_error(frame, start));
    };
    let end = if b.get(name_end) == Some(&b'(') {
        match close_paren(frame, name_end) {
            Some(end) => end,
            None => return Err(frame_error(frame, start)),
        }
    } else {
        name_end
    };
    let header = frame.get(start..end).unwrap_or("");
    let mut r = HeaderReader {
        reader: Reader::new(header),
        base: start,
        peeked: None,
    };
    if r.next()? != Event::StartRecord {
        return Err(EnvelopeError::new(EnvelopeErrorKind::NotAnEnvelope, start));
    }
    let Event::Attr(name) = r.next()? else {
        return Err(EnvelopeError::new(EnvelopeErrorKind::NotAnEnvelope, start));
    };
    let tag = match name.as_str() {
        Some(s) => Tag::from_name(s),
        None => Tag::ALL.into_iter().find(|t| name.eq_str(t.name())),
    }
    .ok_or(EnvelopeError::new(EnvelopeErrorKind::UnknownTag, start))?;

    let mut args = Args {
        link: tag.is_link_addressed(),
        node: None,
        lane: None,
        prio: 0.0,
        rate: 0.0,
    };
    let at = r.offset();
    match r.next()? {
        Event::Extant => {}
        Event::StartRecord => read_arg_items(&mut r, &mut args, tag)?,
        // A single value is the argument at position 0: the node.
        first if !tag.is_host_addressed() => args.interpret(Arg::Node, first, at)?,
        _ => {}
    }
    // The header document is the one attribute: its record ends here.
    let not_envelope = EnvelopeError::new(EnvelopeErrorKind::NotAnEnvelope, start);
    if r.next()? != Event::EndRecord {
        return Err(not_envelope);
    }
    match r.reader.next_event() {
        Ok(None) => {}
        Ok(Some(_)) => return Err(not_envelope),
        Err(e) => return Err(EnvelopeError::from_recon(e, start)),
    }

    if tag.is_host_addressed() {
        return Ok((Envelope::new(tag, "", ""), end));
    }
    let node = args
        .node
        .ok_or(EnvelopeError::new(EnvelopeErrorKind::MissingNode, end))?;
    let lane = args
        .lane
        .ok_or(EnvelopeError::new(EnvelopeErrorKind::MissingLane, end))?;
    Ok((
        Envelope {
            tag,
            node,
            lane,
            prio: args.prio,
            rate: args.rate,
            body: Body::absent(),
        },
        end,
    ))
}

/// Reads the items of the argument record (its `StartRecord` already read) up to its
/// `EndRecord`: slots by key, plain values by position in the list.
fn read_arg_items<'a>(
    r: &mut HeaderReader<'a>,
    args: &mut Args<'a>,
    tag: Tag,
) -> Result<(), EnvelopeError> {
    let host = tag.is_host_addressed();
    let mut index: usize = 0;
    loop {
        let at = r.offset();
        let first = r.next()?;
        match first {
            Event::EndRecord => return Ok(()),
            Event::Attr(_) | Event::Slot => {
                // An attribute item (its value follows), or a stray `Slot`: skip.
                let value = r.next()?;
                r.skip_value(value)?;
            }
            _ => {
                // A value: a slot key if `Slot` follows, else a positional argument.
                r.skip_value(first)?;
                if r.peek()? == Event::Slot {
                    r.next()?;
                    let key = match first {
                        Event::Text(t) if !host => key_arg(&t),
                        _ => Arg::Other,
                    };
                    let value_at = r.offset();
                    let value = r.next()?;
                    args.take(r, key, value, value_at)?;
                } else {
                    let arg = match (host, index) {
                        (false, 0) => Arg::Node,
                        (false, 1) => Arg::Lane,
                        _ => Arg::Other,
                    };
                    args.interpret(arg, first, at)?;
                }
            }
        }
        index = index.saturating_add(1);
    }
}
