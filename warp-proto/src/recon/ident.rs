//! Recon identifiers: which characters start and continue a bare identifier.

/// Whether `c` may start an identifier (the Java/JS rule).
pub fn is_ident_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// Whether `c` may continue an identifier (the Java/JS rule).
pub fn is_ident_char(c: char) -> bool {
    is_ident_start(c)
        || matches!(c, '-' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Whether `s` is a non-empty identifier.
///
/// `true` and `false` are identifiers by this test, but read back as booleans; use
/// [`is_bare_text`] to decide whether a text may be written without quotes.
pub fn is_ident(s: &str) -> bool {
    let mut it = s.chars();
    match it.next() {
        Some(c) if is_ident_start(c) => it.all(is_ident_char),
        _ => false,
    }
}

/// Whether the text `s` may be written bare and read back as the same text: an identifier
/// other than `true` and `false`.
pub fn is_bare_text(s: &str) -> bool {
    is_ident(s) && s != "true" && s != "false"
}
