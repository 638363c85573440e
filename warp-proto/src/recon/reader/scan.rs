//! The lookahead: a byte-level skip-scan that finds where an item ends without parsing it.
//!
//! Recon only tells whether a block (the whole document, or an attribute's argument list) is a
//! single value or a record of several items once its first item has been read: `@a{x:1}` is
//! one record, `@a{x:1},2` a record holding it and `2`. A pull parser must emit `StartRecord`
//! before the first item, so at a block start the reader skips over the first item here (strings,
//! raw strings, comments and nested brackets included) and looks at what follows it.
//!
//! The scan validates nothing. On valid input it finds the same item end as the parser; on
//! invalid input it may guess, and the parser reports the error when it gets there, before the
//! guess could show as a second top-level value (when in doubt the scan answers "record", which
//! holds any number of items). Its cost is
//! linear in the length of the first item and it keeps a fixed-size bit stack of open brackets,
//! so a hostile input costs at most (nesting depth × input length) over a whole parse, and
//! nesting deeper than the limit makes the scan give up (the parser then fails with
//! `DepthExceeded` before it could act on the guess).

use super::lex::{at, find_string_stop, ident_end, ident_start_len, word, HI, LO};

/// What a block or body turns out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    /// Nothing (a body of `{}`).
    Absent,
    /// Exactly one plain value.
    Single,
    /// A record of its items.
    Record,
}

/// The deepest bracket nesting the scan tracks.
const NEST_CAP: usize = 320;

/// A table marking the bytes of `stops`.
const fn build_stops(stops: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut k = 0;
    while k < stops.len() {
        t[stops[k] as usize] = true;
        k += 1;
    }
    t
}

/// Bytes that need attention inside `{…}` and `(…)`: quotes, backtick, `#` and brackets.
static NORMAL_STOP: [bool; 256] = build_stops(b"\"'`#(){}[]");

/// Bytes that need attention outside any bracket: the above, and what ends an item.
static ITEM_STOP: [bool; 256] = build_stops(b"\"'`#(){}[],;:\n\r");

/// Skips a `"…"` or `'…'` string whose quote is at `i`; `None` if it is not closed.
#[inline]
fn skip_quoted(b: &[u8], i: usize) -> Option<usize> {
    let quote = at(b, i)?;
    let mut i = i + 1;
    loop {
        i = find_string_stop(b, i, quote);
        match at(b, i)? {
            c if c == quote => return Some(i + 1),
            b'\\' => i += 2,
            // A control character: the parser rejects it; skip it here.
            _ => i += 1,
        }
    }
}

/// Skips a raw string whose first backtick is at `i`; `None` if it is not closed.
fn skip_raw(b: &[u8], i: usize) -> Option<usize> {
    if at(b, i + 1) == Some(b'`') {
        if at(b, i + 2) != Some(b'`') {
            return Some(i + 2);
        }
        let mut i = i + 3;
        loop {
            match at(b, i)? {
                b'\\' => i += 2,
                b'`' if at(b, i + 1) == Some(b'`') && at(b, i + 2) == Some(b'`') => {
                    return Some(i + 3)
                }
                _ => i += 1,
            }
        }
    }
    let mut i = i + 1;
    loop {
        match at(b, i)? {
            b'\\' => i += 2,
            b'`' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// Skips a `#` comment at `i` up to (not including) the newline that ends it.
#[inline]
pub(super) fn skip_comment(b: &[u8], mut i: usize) -> usize {
    while let Some(c) = at(b, i) {
        if c == b'\n' || c == b'\r' {
            break;
        }
        i += 1;
    }
    i
}

/// Skips spaces and tabs.
#[inline(always)]
pub(super) fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t') = at(b, i) {
        i += 1;
    }
    i
}

/// Skips spaces, tabs, newlines and comments.
#[inline]
pub(super) fn skip_blank(b: &[u8], mut i: usize) -> usize {
    loop {
        match at(b, i) {
            Some(b' ' | b'\t' | b'\n' | b'\r') => i += 1,
            Some(b'#') => i = skip_comment(b, i),
            _ => return i,
        }
    }
}

/// Skips an attribute name (after its `@`) inside markup, where the name decides whether a
/// following `(` opens arguments or is text.
fn skip_markup_attr_name(src: &str, b: &[u8], i: usize) -> Option<usize> {
    match at(b, i) {
        Some(b'"' | b'\'') => skip_quoted(b, i),
        _ => Some(match ident_start_len(src, b, i) {
            Some(len) => ident_end(src, b, i, len),
            None => i,
        }),
    }
}

/// Per byte of `v`, the high bit set where the byte is zero; borrows may flag bytes above the
/// lowest zero byte, never below it, so the lowest flag is always exact.
#[inline(always)]
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// The first position at or after `i` holding one of `NORMAL_STOP`, or the end of input; eight
/// bytes at a time.
#[inline(always)]
fn find_normal_stop(b: &[u8], mut i: usize) -> usize {
    while let Some(w) = word(b, i) {
        // `"` and `#` are 0x23 once bit 0 is set, `(` and `)` 0x29; `[` and `{` are 0x5B once
        // bit 5 is cleared, `]` and `}` 0x5D.
        let odd = w | LO;
        let folded = w & LO.wrapping_mul(0xDF);
        let hits = zero_bytes(odd ^ LO.wrapping_mul(0x23))
            | zero_bytes(odd ^ LO.wrapping_mul(0x29))
            | zero_bytes(w ^ LO.wrapping_mul(u64::from(b'\'')))
            | zero_bytes(w ^ LO.wrapping_mul(u64::from(b'`')))
            | zero_bytes(folded ^ LO.wrapping_mul(0x5B))
            | zero_bytes(folded ^ LO.wrapping_mul(0x5D));
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(c) = at(b, i) {
        if NORMAL_STOP[c as usize] {
            break;
        }
        i += 1;
    }
    i
}

/// How the fast group skip ended.
enum Skip {
    /// The group ends just before this position.
    Done(usize),
    /// A markup `[` was met: the full scan must decide.
    Markup,
    /// Unclosed, or nested deeper than the limit.
    Fail,
}

/// [`skip_group`] for a `(` or `{` group holding no markup: only a depth count is needed.
/// Gives up with [`Skip::Markup`] at the first `[`.
fn skip_plain_group(b: &[u8], mut i: usize, limit: usize) -> Skip {
    let limit = limit.min(NEST_CAP);
    let mut depth = 1usize;
    i += 1;
    loop {
        i = find_normal_stop(b, i);
        let Some(c) = at(b, i) else {
            return Skip::Fail;
        };
        match c {
            b'"' | b'\'' => match skip_quoted(b, i) {
                Some(j) => i = j,
                None => return Skip::Fail,
            },
            b'`' => match skip_raw(b, i) {
                Some(j) => i = j,
                None => return Skip::Fail,
            },
            b'#' => i = skip_comment(b, i),
            b'(' | b'{' => {
                if depth >= limit {
                    return Skip::Fail;
                }
                depth += 1;
                i += 1;
            }
            b'[' => return Skip::Markup,
            // `)`, `}` or `]`.
            _ => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return Skip::Done(i);
                }
            }
        }
    }
}

/// Skips the bracket group whose opening bracket (`(`, `{` or `[`) is at `i`; returns the
/// position after its closing bracket. `None` on end of input or nesting deeper than `limit`.
fn skip_group(src: &str, b: &[u8], i: usize, limit: usize) -> Option<usize> {
    if at(b, i) != Some(b'[') {
        match skip_plain_group(b, i, limit) {
            Skip::Done(end) => return Some(end),
            Skip::Fail => return None,
            Skip::Markup => {}
        }
    }
    skip_any_group(src, b, i, limit)
}

/// [`skip_group`] for any group, markup included.
///
/// The open brackets are kept as a bit stack (set for markup `[`, whose text hides quotes and
/// comments), in a register for the innermost 64 levels and spilled to an array beyond.
fn skip_any_group(src: &str, b: &[u8], mut i: usize, limit: usize) -> Option<usize> {
    let limit = limit.min(NEST_CAP);
    let mut spill = [0u64; NEST_CAP / 64];
    // Bit k of `bits`: whether level (depth - 1 - k) is markup, for the innermost 64 levels.
    let mut markup = at(b, i)? == b'[';
    let mut bits = u64::from(markup);
    let mut depth = 1usize;
    i += 1;
    loop {
        let opened = if markup {
            match at(b, i)? {
                b'\\' => {
                    i += 2;
                    continue;
                }
                b']' | b'}' => None,
                b'[' => Some(true),
                b'{' => Some(false),
                b'@' => {
                    i = skip_markup_attr_name(src, b, i + 1)?;
                    if at(b, i) != Some(b'(') {
                        continue;
                    }
                    Some(false)
                }
                _ => {
                    i += 1;
                    continue;
                }
            }
        } else {
            while let Some(c) = at(b, i) {
                if NORMAL_STOP[c as usize] {
                    break;
                }
                i += 1;
            }
            match at(b, i)? {
                b'"' | b'\'' => {
                    i = skip_quoted(b, i)?;
                    continue;
                }
                b'`' => {
                    i = skip_raw(b, i)?;
                    continue;
                }
                b'#' => {
                    i = skip_comment(b, i);
                    continue;
                }
                b'(' | b'{' => Some(false),
                b'[' => Some(true),
                // `)`, `}` or `]`.
                _ => None,
            }
        };
        i += 1;
        match opened {
            Some(inner) => {
                if depth >= limit {
                    return None;
                }
                if depth >= 64 {
                    // The outermost of the 64 levels in `bits` moves to the spill array.
                    let level = depth - 64;
                    let word = spill.get_mut(level / 64)?;
                    let mask = 1u64 << (level % 64);
                    if bits >> 63 != 0 {
                        *word |= mask;
                    } else {
                        *word &= !mask;
                    }
                }
                bits = bits << 1 | u64::from(inner);
                depth += 1;
                markup = inner;
            }
            None => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
                bits >>= 1;
                if depth >= 64 {
                    let level = depth - 64;
                    let word = spill.get(level / 64)?;
                    bits |= (word >> (level % 64) & 1) << 63;
                }
                markup = bits & 1 != 0;
            }
        }
    }
}

/// Skips the block item starting at `i` and returns where it ends: at the first `,` `;` newline
/// `#` `:` or closing bracket outside any bracket, or at the end of input.
fn skip_item(src: &str, b: &[u8], mut i: usize, limit: usize) -> Option<usize> {
    loop {
        while let Some(c) = at(b, i) {
            if ITEM_STOP[c as usize] {
                break;
            }
            i += 1;
        }
        match at(b, i) {
            Some(b'"' | b'\'') => i = skip_quoted(b, i)?,
            Some(b'`') => i = skip_raw(b, i)?,
            Some(b'(' | b'{' | b'[') => i = skip_group(src, b, i, limit)?,
            _ => return Some(i),
        }
    }
}

/// The shape of a block whose first item starts at `i` (not blank, not the closer). `closer` is
/// `)` for attribute arguments and `None` for a document, which ends at the end of input.
pub(super) fn block_shape(
    src: &str,
    b: &[u8],
    i: usize,
    closer: Option<u8>,
    limit: usize,
) -> Shape {
    let Some(end) = skip_item(src, b, i, limit) else {
        // Unclosed or too deep: the parser fails inside the first item. A record keeps the
        // events before that error a well-formed beginning of a document.
        return Shape::Record;
    };
    let j = skip_spaces(b, end);
    let next = at(b, j);
    let after_separator = match next {
        None => return Shape::Single,
        Some(b':') => return Shape::Record,
        Some(c) if Some(c) == closer => return Shape::Single,
        Some(b',' | b';' | b'\n' | b'\r') => skip_blank(b, j + 1),
        Some(b'#') => skip_blank(b, j),
        // Anything else is an error the parser reports after the first item.
        Some(_) => return Shape::Single,
    };
    match at(b, after_separator) {
        None => Shape::Single,
        Some(c) if Some(c) == closer => Shape::Single,
        Some(_) => Shape::Record,
    }
}

/// How many items a spliced group contributes, capped at 2 (2 also stands for "holds a slot").
type Count = u8;

/// The items of the record spliced from the `{` at `i`: their count, and the position after the
/// closing `}` (when the count is below 2).
fn record_items(src: &str, b: &[u8], i: usize, limit: usize) -> Option<(Count, usize)> {
    let j = skip_blank(b, i + 1);
    let (k, count) = match at(b, j)? {
        b'}' => return Some((0, j + 1)),
        b':' => return Some((2, j)),
        b',' | b';' => (skip_blank(b, j + 1), 1),
        _ => {
            let end = skip_spaces(b, skip_item(src, b, j, limit)?);
            match at(b, end)? {
                b'}' => return Some((1, end + 1)),
                b',' | b';' | b'\n' | b'\r' => (skip_blank(b, end + 1), 1),
                b'#' => (skip_blank(b, end), 1),
                _ => return Some((2, end)),
            }
        }
    };
    match at(b, k)? {
        b'}' => Some((count, k + 1)),
        _ => Some((2, k)),
    }
}

/// The items of the markup spliced from the `[` at `i`: text runs, inline items and the items
/// of spliced groups, capped at 2, and the position after the closing `]`.
fn markup_items(src: &str, b: &[u8], i: usize, limit: usize) -> Option<(Count, usize)> {
    let mut count: Count = 0;
    let mut in_text = false;
    let mut open = 1usize;
    let mut j = i + 1;
    while count < 2 {
        match at(b, j)? {
            b']' => {
                in_text = false;
                open -= 1;
                j += 1;
                if open == 0 {
                    return Some((count, j));
                }
            }
            b'[' => {
                in_text = false;
                open += 1;
                if open > limit {
                    return None;
                }
                j += 1;
            }
            b'{' => {
                in_text = false;
                let (n, after) = record_items(src, b, j, limit)?;
                count = count.saturating_add(n);
                j = after;
            }
            b'}' => return None,
            b'@' => {
                in_text = false;
                count += 1;
                j = skip_markup_attr_name(src, b, j + 1)?;
                if at(b, j) == Some(b'(') {
                    j = skip_group(src, b, j, limit)?;
                }
                if let Some(b'{' | b'[') = at(b, j) {
                    j = skip_group(src, b, j, limit)?;
                }
            }
            c => {
                if !in_text {
                    in_text = true;
                    count += 1;
                }
                j += if c == b'\\' { 2 } else { 1 };
            }
        }
    }
    Some((count, j))
}

/// The shape of a record body that starts with the `{` or `[` at `i`: the group's items splice
/// into the envelope record, so `{}` is Absent, `{1}` and `[x]` single values, `{x:1}`, `{1,2}`
/// or a group followed by an attribute a record.
pub(super) fn body_shape(src: &str, b: &[u8], i: usize, limit: usize) -> Shape {
    let scanned = if at(b, i) == Some(b'[') {
        markup_items(src, b, i, limit)
    } else {
        record_items(src, b, i, limit)
    };
    let Some((count, after)) = scanned else {
        // Unclosed or too deep: the parser fails inside the group (see `block_shape`).
        return Shape::Record;
    };
    if count >= 2 || at(b, skip_spaces(b, after)) == Some(b'@') {
        return Shape::Record;
    }
    if count == 0 {
        Shape::Absent
    } else {
        Shape::Single
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(s: &str) -> Shape {
        block_shape(s, s.as_bytes(), 0, None, 64)
    }

    fn args(s: &str) -> Shape {
        block_shape(s, s.as_bytes(), 0, Some(b')'), 64)
    }

    fn body(s: &str) -> Shape {
        body_shape(s, s.as_bytes(), 0, 64)
    }

    #[test]
    fn a_block_with_one_item_is_single() {
        for s in [
            "1",
            "1,",
            "1 # c",
            "1,\n\n# c\n",
            "@a(x:1,y:2){z:3}@b",
            "{a:1,b:2}",
            "\"a,b\"",
            "`a,b`",
            "[a,b]",
            "[a @b(x,y) c]",
            "{a:\"}\"}",
            "{a # }\n}",
            "@\"a,b\"",
        ] {
            assert_eq!(block(s), Shape::Single, "{s:?}");
        }
    }

    #[test]
    fn a_block_with_a_slot_or_two_items_is_a_record() {
        for s in [
            "a:1",
            "1,2",
            "1\n2",
            "@a\n1",
            "{a} , {b}",
            "1 # c\n2",
            "a :1",
        ] {
            assert_eq!(block(s), Shape::Record, "{s:?}");
        }
    }

    #[test]
    fn argument_blocks_end_at_the_parenthesis() {
        assert_eq!(args("1)"), Shape::Single);
        assert_eq!(args("1,)"), Shape::Single);
        assert_eq!(args("1\n)"), Shape::Single);
        assert_eq!(args("{1,2})"), Shape::Single);
        assert_eq!(args("1,2)"), Shape::Record);
        assert_eq!(args("x:1)"), Shape::Record);
    }

    #[test]
    fn markup_text_hides_quotes_but_not_attribute_arguments() {
        assert_eq!(block("[it's]"), Shape::Single);
        assert_eq!(block("[a@b(\"]\")c],2"), Shape::Record);
        assert_eq!(block("[a@b×(c],2"), Shape::Record);
    }

    #[test]
    fn body_groups_splice() {
        assert_eq!(body("{}"), Shape::Absent);
        assert_eq!(body("{ # c\n}"), Shape::Absent);
        assert_eq!(body("[]"), Shape::Absent);
        assert_eq!(body("{1}"), Shape::Single);
        assert_eq!(body("{{x:1}}"), Shape::Single);
        assert_eq!(body("{,}"), Shape::Single);
        assert_eq!(body("{1,}"), Shape::Single);
        assert_eq!(body("[x]"), Shape::Single);
        assert_eq!(body("[[x]]"), Shape::Single);
        assert_eq!(body("[@a{b}]"), Shape::Single);
        assert_eq!(body("{x:1}"), Shape::Record);
        assert_eq!(body("{1,2}"), Shape::Record);
        assert_eq!(body("{,,}"), Shape::Record);
        assert_eq!(body("{}@a"), Shape::Record);
        assert_eq!(body("{1} @a"), Shape::Record);
        assert_eq!(body("[a{1}]"), Shape::Record);
        assert_eq!(body("[a[b]]"), Shape::Record);
    }

    #[test]
    fn deep_mixed_nesting_keeps_each_level_s_mode() {
        extern crate alloc;
        use alloc::string::String;
        // Markup levels hold `it's` (a quote that is text there); other levels a string whose
        // content would close brackets if it were not skipped as a string.
        for depth in [1usize, 63, 64, 65, 130, 200] {
            let mut s = String::new();
            let opener = |k: usize| if k % 3 == 0 { '[' } else { '{' };
            for k in 0..depth {
                s.push(opener(k));
                s.push_str(if opener(k) == '[' {
                    "it's "
                } else {
                    "\"]})\" "
                });
            }
            for k in (0..depth).rev() {
                s.push_str(if opener(k) == '[' { " it's" } else { " '}'" });
                s.push(if opener(k) == '[' { ']' } else { '}' });
            }
            s.push_str(",tail");
            let b = s.as_bytes();
            assert_eq!(
                skip_group(&s, b, 0, 300),
                Some(s.len() - 5),
                "depth {depth}"
            );
            if depth > 1 {
                assert_eq!(skip_group(&s, b, 0, depth - 1), None, "depth {depth}");
            }
        }
    }

    /// A small xorshift generator for the randomized tests.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn the_word_at_a_time_stop_scan_finds_the_first_stop() {
        let alphabet = b"a\"'`#(){}[]@\\ :,\n\x7b\x5b\x22\x23\x21\x2a\x5c\x7f\x80\xdb\xfb\xff\x00";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let len = (next(&mut state) % 24) as usize;
            let mut buf = [0u8; 24];
            for slot in buf.iter_mut().take(len) {
                *slot = alphabet[(next(&mut state) % alphabet.len() as u64) as usize];
            }
            let bytes = &buf[..len];
            let naive = bytes
                .iter()
                .position(|&c| NORMAL_STOP[c as usize])
                .unwrap_or(len);
            assert_eq!(find_normal_stop(bytes, 0), naive, "{bytes:?}");
        }
    }

    #[test]
    fn the_plain_group_skip_agrees_with_the_full_one() {
        extern crate alloc;
        use alloc::string::String;
        let pieces = [
            "(", ")", "{", "}", "[", "]", "\"a)\"", "'}'", "`]`", "```a}```", "#c}\n", "x", "1",
            ",", ":", "@a", "\\", "\"", "'", "`",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut s = String::from(if next(&mut state) % 2 == 0 { "{" } else { "(" });
            for _ in 0..(next(&mut state) % 12) {
                s.push_str(pieces[(next(&mut state) % pieces.len() as u64) as usize]);
            }
            let b = s.as_bytes();
            for limit in [2, 3, 64] {
                let full = skip_any_group(&s, b, 0, limit);
                match skip_plain_group(b, 0, limit) {
                    Skip::Done(end) => assert_eq!(Some(end), full, "{s:?}"),
                    Skip::Fail => assert_eq!(None, full, "{s:?}"),
                    Skip::Markup => assert!(s.contains('['), "{s:?}"),
                }
                assert_eq!(skip_group(&s, b, 0, limit), full, "{s:?}");
            }
        }
    }

    #[test]
    fn too_deep_or_unclosed_input_gives_up_without_panicking() {
        let deep = "{".repeat(1000);
        assert_eq!(block(&deep), Shape::Record);
        assert_eq!(body(&deep), Shape::Record);
        assert_eq!(block("\"abc"), Shape::Record);
        assert_eq!(body("[abc"), Shape::Record);
        assert_eq!(body("[@"), Shape::Record);
    }
}
