//! The zero-copy pull parser.
//!
//! [`Reader`] turns Recon text into [`Event`]s one at a time. It allocates nothing and copies
//! nothing: texts are slices of the input (or escape-decoding views of them), numbers are
//! decoded in place, data is validated base64 text. Nesting is tracked on a fixed array, one
//! byte per level, so a deep input costs no heap and cannot overflow the call stack; there is no
//! recursion anywhere.
//!
//! The grammar is the Java/JavaScript one for data, as the project profile restricts it: a
//! document is a *block* (`a:1` and `1,2` are records, `1,` is `1`), attributes may come before
//! and after values, `{…}` or `[…]` after attributes splice into the same record, strings take
//! `"` `'` and backticks, `#` starts a comment, markup `[…]` is read. Expression syntax is
//! rejected with [`ErrorKind::ExpressionNotSupported`], and input after the document's value is
//! an error.
//!
//! ```
//! use warp_proto::recon::{Event, Reader};
//!
//! let mut reader = Reader::new("@update(key:k1){temp:21.5}");
//! let mut events = 0;
//! while let Some(event) = reader.next_event().unwrap() {
//!     if let Event::Attr(name) = event {
//!         assert_eq!(name, "update");
//!     }
//!     events += 1;
//! }
//! assert_eq!(events, 11);
//! ```

mod lex;
mod machine;
mod scan;

use super::{Error, ErrorKind, Event, Found};
use machine::{frame, St};

/// The default maximum nesting depth of records and attributes.
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// Limits of a [`Reader`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderConfig {
    /// Maximum nesting depth of records and attribute arguments; deeper input is an
    /// [`ErrorKind::DepthExceeded`](super::ErrorKind::DepthExceeded) error.
    ///
    /// Each open `{`, `[` or `(` counts one level, and so does a record opened by an attribute
    /// (`@a 1` is one level, and so is `@a{…}`; `@a(…)` is two). Values above
    /// [`ReaderConfig::MAX_DEPTH_CAP`] are treated as the cap.
    pub max_depth: usize,
}

impl ReaderConfig {
    /// The largest supported nesting depth: the reader's fixed nesting storage holds this many
    /// levels.
    pub const MAX_DEPTH_CAP: usize = 256;

    /// The default configuration: a maximum depth of [`DEFAULT_MAX_DEPTH`].
    pub const fn new() -> Self {
        ReaderConfig {
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    /// This configuration with a maximum nesting depth of `max_depth` (capped at
    /// [`ReaderConfig::MAX_DEPTH_CAP`]).
    pub const fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }
}

impl Default for ReaderConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Storage of the nesting stack: the root frame plus [`ReaderConfig::MAX_DEPTH_CAP`] levels.
const STACK_LEN: usize = ReaderConfig::MAX_DEPTH_CAP + 1;

/// The outcome of one step of the reader (crate-internal; see `Reader::next_into`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// An event was written.
    Event,
    /// The document has ended.
    End,
    /// The reader has failed; the error is `Reader::error`.
    Failed,
}

/// A pull parser over one Recon document.
///
/// Call [`next_event`](Reader::next_event) until it returns `Ok(None)`; the events of a
/// document form exactly one value (see [`Event`]). The reader also iterates
/// `Result<Event, Error>`, ending after the first error.
///
/// ```
/// use warp_proto::recon::{Event, Number, Reader, Text};
///
/// let events: Result<Vec<_>, _> = Reader::new("a:1, 2").collect();
/// assert_eq!(
///     events.unwrap(),
///     [
///         Event::StartRecord,
///         Event::Text(Text::plain("a")),
///         Event::Slot,
///         Event::Number(Number::Int(1)),
///         Event::Number(Number::Int(2)),
///         Event::EndRecord,
///     ]
/// );
/// ```
#[derive(Clone)]
pub struct Reader<'a> {
    src: &'a str,
    pos: usize,
    config: ReaderConfig,
    /// `config.max_depth`, capped.
    max_depth: usize,
    st: St,
    /// An attribute without arguments was just returned; its `Extant` comes next.
    extant_next: bool,
    /// The first error, returned again by later calls.
    failed: Option<Error>,
    /// Body reader: the body is a record (`StartRecord` was emitted at the start).
    body_record: bool,
    /// Body reader: the body is Absent, reported at its end.
    body_absent: bool,
    /// Frames in use, root included (at least 1).
    len: usize,
    stack: [u8; STACK_LEN],
}

impl core::fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reader")
            .field("position", &self.pos)
            .field("depth", &self.depth())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<'a> Reader<'a> {
    /// A reader over `input` with the default configuration.
    pub fn new(input: &'a str) -> Self {
        Self::with_config(input, ReaderConfig::default())
    }

    /// A reader over `input` with `config`.
    pub fn with_config(input: &'a str, config: ReaderConfig) -> Self {
        Reader {
            src: input,
            pos: 0,
            config,
            max_depth: config.max_depth.min(ReaderConfig::MAX_DEPTH_CAP),
            st: St::TopStart,
            extant_next: false,
            failed: None,
            body_record: false,
            body_absent: false,
            len: 1,
            stack: [frame::TOP; STACK_LEN],
        }
    }

    /// A document reader that skips the lookahead at the start of the document, for the owned
    /// value builder, which can wrap a finished value itself: the document's first item is read
    /// as if it were the whole document; if a `:` or a second item follows, the reader emits a
    /// `StartRecord` *after* that item's events, meaning "the document is a record whose first
    /// item (or slot key) is the value just read", then continues as usual up to the record's
    /// `EndRecord`. Crate-internal: this breaks the event contract of [`Event`].
    #[cfg(feature = "alloc")]
    pub(crate) fn new_lazy(input: &'a str) -> Self {
        let mut reader = Self::new(input);
        reader.stack[0] = frame::TOP | frame::LAZY;
        reader
    }

    /// Whether this reader was made by [`Reader::new_lazy`] and its document has not turned out
    /// to be a record yet.
    #[cfg(feature = "alloc")]
    pub(crate) fn is_lazy(&self) -> bool {
        self.stack[0] & frame::LAZY != 0
    }

    /// A reader over UTF-8 bytes; fails with [`ErrorKind::InvalidUtf8`] at the offset of the
    /// first byte that is not valid UTF-8.
    ///
    /// ```
    /// use warp_proto::recon::{ErrorKind, Reader};
    ///
    /// assert!(Reader::from_bytes(b"{a:1}").is_ok());
    /// let err = Reader::from_bytes(b"{a:\xff}").unwrap_err();
    /// assert_eq!((err.kind, err.offset), (ErrorKind::InvalidUtf8, 3));
    /// ```
    pub fn from_bytes(input: &'a [u8]) -> Result<Self, Error> {
        Self::from_bytes_with_config(input, ReaderConfig::default())
    }

    /// [`Reader::from_bytes`] with `config`.
    pub fn from_bytes_with_config(input: &'a [u8], config: ReaderConfig) -> Result<Self, Error> {
        match core::str::from_utf8(input) {
            Ok(s) => Ok(Self::with_config(s, config)),
            Err(e) => Err(Error::new(ErrorKind::InvalidUtf8, e.valid_up_to())),
        }
    }

    /// A reader over the rest of an envelope record after its tag attribute (the text that
    /// follows `@tag(…)` in a WARP frame), yielding that record's *body* as one value.
    ///
    /// The body rule (WARP.md 2.1): no items → `Absent`; exactly one plain value → that value;
    /// otherwise a record of the items. Braces and markup right at the start splice into the
    /// envelope record, so `{x:1}` is the record `{x:1}`, `{}` is Absent, `{1}` is `1`,
    /// `{{x:1}}` is `{x:1}`, `{x:1}@b` is `{x:1,@b}` and `@update(key:k){temp:21.5}` is
    /// `{@update(key:k),temp:21.5}`. Spaces, newlines and comments before the body are skipped.
    ///
    /// ```
    /// use warp_proto::recon::{Event, Number, Reader};
    ///
    /// let mut r = Reader::for_record_body(" {42}");
    /// assert_eq!(r.next_event().unwrap(), Some(Event::Number(Number::Int(42))));
    /// assert_eq!(r.next_event().unwrap(), None);
    /// let mut r = Reader::for_record_body("{}");
    /// assert_eq!(r.next_event().unwrap(), Some(Event::Absent));
    /// ```
    pub fn for_record_body(input: &'a str) -> Self {
        Self::for_record_body_with_config(input, ReaderConfig::default())
    }

    /// [`Reader::for_record_body`] with `config`.
    pub fn for_record_body_with_config(input: &'a str, config: ReaderConfig) -> Self {
        let mut reader = Self::with_config(input, config);
        reader.st = St::BodyStart;
        reader.stack[0] = frame::CONT;
        reader
    }

    /// The byte offset of the next unread byte.
    ///
    /// Through a `&mut Reader`, method syntax finds [`Iterator::position`] first; write
    /// `Reader::position(reader)` there.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The input this reader reads.
    pub fn input(&self) -> &'a str {
        self.src
    }

    /// The configuration this reader was made with.
    pub fn config(&self) -> ReaderConfig {
        self.config
    }

    /// The current nesting depth (see [`ReaderConfig::max_depth`]).
    pub fn depth(&self) -> usize {
        self.len - 1
    }

    /// The next event, `Ok(None)` once the document has ended.
    ///
    /// After an error, every later call returns the same error.
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<Event<'a>>, Error> {
        let mut event = Event::Absent;
        match self.next_into(&mut event) {
            Status::Event => Ok(Some(event)),
            Status::End => Ok(None),
            Status::Failed => Err(self.error()),
        }
    }

    /// The next event, written into `out` (left alone unless [`Status::Event`] is returned);
    /// the error of [`Status::Failed`] is [`Reader::error`]. A small status in a register and
    /// an event written in place cost less than returning a `Result` holding the event.
    #[inline]
    pub(crate) fn next_into(&mut self, out: &mut Event<'a>) -> Status {
        if self.extant_next {
            self.extant_next = false;
            *out = Event::Extant;
            return Status::Event;
        }
        self.step(out)
    }

    /// The error that stopped the reader.
    #[cold]
    pub(crate) fn error(&self) -> Error {
        self.failed.unwrap_or(Error::new(
            ErrorKind::Unexpected(Found::EndOfInput),
            self.pos,
        ))
    }

    /// Reads the events of one value (the next event and, if it starts a record, everything up
    /// to its end) and discards them.
    pub fn skip_value(&mut self) -> Result<(), Error> {
        let mut open = 0usize;
        loop {
            match self.next_event()? {
                None => {
                    return Err(Error::new(
                        ErrorKind::Unexpected(Found::EndOfInput),
                        self.pos,
                    ))
                }
                Some(Event::StartRecord) => open += 1,
                Some(Event::EndRecord) => open = open.saturating_sub(1),
                Some(Event::Attr(_) | Event::Slot) => continue,
                Some(_) => {}
            }
            if open == 0 {
                return Ok(());
            }
        }
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Event<'a>, Error>;

    /// The next event; `None` at the end of the document and after the first error.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed.is_some() && !self.extant_next {
            return None;
        }
        self.next_event().transpose()
    }
}

impl core::iter::FusedIterator for Reader<'_> {}
