//! The Recon writer: prints values in the project's portable profile.
//!
//! Two entry points share one set of rules, documented on [`Writer`]:
//! - [`Value`](super::Value) printing (feature `alloc`, `value.rs`): `Value::write_to`,
//!   `Value::write_to_slice`, `Value::to_recon_string` and `Display`;
//! - [`Writer`], a streaming writer that needs no allocator (`stream.rs`).
//!
//! This file holds the sink wrapper, the layout decisions both share, and [`SliceSink`];
//! `scalar.rs` writes texts, numbers and data.

mod scalar;
mod stream;
#[cfg(feature = "alloc")]
mod value;

pub use stream::{RecordWriter, ValueWriter, Writer};

use core::fmt;

use super::{Error, ErrorKind};

#[cfg(feature = "alloc")]
use super::{Item, Value};

/// Why an internal write stopped. Kept to one byte so the hot paths return a small `Result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// The sink's `write_str` failed.
    Sink,
    /// A NaN or infinite float.
    NonFinite,
}

type R = Result<(), Fault>;

/// A sink plus the count of bytes written to it (error offsets are positions in the output).
struct Out<W> {
    w: W,
    len: usize,
}

impl<W: fmt::Write> Out<W> {
    fn new(w: W) -> Self {
        Out { w, len: 0 }
    }

    #[inline]
    fn put(&mut self, s: &str) -> R {
        self.w.write_str(s).map_err(|_| Fault::Sink)?;
        self.len = self.len.saturating_add(s.len());
        Ok(())
    }

    fn error(&self, fault: Fault) -> Error {
        let kind = match fault {
            Fault::Sink => ErrorKind::Fmt,
            Fault::NonFinite => ErrorKind::NonFiniteFloat,
        };
        Error::new(kind, self.len)
    }
}

impl<W: fmt::Write> fmt::Write for Out<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s).map_err(|_| fmt::Error)
    }
}

// ---------------------------------------------------------------------------------------------
// The layout decisions, shared by Value printing and the streaming writer.

/// The kind of a value, as far as the layout of the record holding it depends on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Kind {
    /// Extant (or nothing written): an empty position.
    #[default]
    Extant,
    /// A number, text, bool or data.
    Scalar,
    /// A record.
    Record,
}

/// What the layout of a record depends on, from one pass over its items.
#[derive(Clone, Copy, Debug, Default)]
struct Shape {
    /// Items, attributes included.
    len: usize,
    /// Attributes.
    attrs: usize,
    /// Index of the last attribute.
    last_attr: Option<usize>,
    /// Slots.
    slots: usize,
    /// Whether some plain item is Extant.
    plain_extant: bool,
    /// Whether some slot key is Extant.
    extant_key: bool,
    /// Whether the last item is a plain value, and its kind.
    last_plain: bool,
    last_kind: Kind,
}

impl Shape {
    /// Accounts for the last item's kind, now known.
    fn settle(&mut self) {
        if self.last_plain && self.last_kind == Kind::Extant {
            self.plain_extant = true;
        }
    }

    fn add_attr(&mut self) {
        self.settle();
        self.last_attr = Some(self.len);
        self.len += 1;
        self.attrs += 1;
        self.last_plain = false;
    }

    fn add_plain(&mut self) {
        self.settle();
        self.len += 1;
        self.last_plain = true;
        self.last_kind = Kind::Extant;
    }

    fn add_slot(&mut self, key: Kind) {
        self.settle();
        self.len += 1;
        self.slots += 1;
        self.last_plain = false;
        if key == Kind::Extant {
            self.extant_key = true;
        }
    }

    /// Whether the last item is written bare after the last attribute.
    fn bare_tail(&self) -> bool {
        self.attrs > 0
            && self.last_attr.map(|a| a + 2) == Some(self.len)
            && self.last_plain
            && self.last_kind == Kind::Scalar
    }

    #[cfg(feature = "alloc")]
    fn of_items(items: &[Item]) -> Shape {
        fn kind(v: &Value) -> Kind {
            match v {
                Value::Record(_) => Kind::Record,
                Value::Extant | Value::Absent => Kind::Extant,
                _ => Kind::Scalar,
            }
        }
        let mut shape = Shape::default();
        for item in items {
            match item {
                Item::Attr(..) => shape.add_attr(),
                Item::Slot(k, _) => shape.add_slot(kind(k)),
                Item::Value(v) => {
                    shape.add_plain();
                    shape.last_kind = kind(v);
                }
            }
        }
        shape.settle();
        shape
    }
}

/// How a record attribute argument is written inside the parentheses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ArgForm {
    /// As a record (`@a(@b{c:1})`): it has attributes, which make it one item of the block.
    Record,
    /// As its items (`@a(x:1,y:2)`): two or more, or a slot, with no empty position.
    Block,
    /// In braces (`@a({})`, `@a({1})`, `@a({a,,b})`).
    Braces,
}

impl ArgForm {
    fn of(shape: &Shape) -> ArgForm {
        if shape.attrs > 0 {
            ArgForm::Record
        } else if (shape.len >= 2 || shape.slots > 0) && !shape.plain_extant && !shape.extant_key {
            ArgForm::Block
        } else {
            ArgForm::Braces
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Byte-slice sink.

/// A [`fmt::Write`] sink over a byte slice, for writing Recon without an allocator.
///
/// Text that does not fit is not written but still counted, so that after an overflow
/// [`SliceSink::required`] tells the size a second attempt needs. Writes never fail;
/// check [`SliceSink::overflowed`] (or use [`Writer::finish`]) when done.
///
/// ```
/// use core::fmt::Write;
/// use warp_proto::recon::SliceSink;
///
/// let mut buf = [0u8; 4];
/// let mut sink = SliceSink::new(&mut buf);
/// sink.write_str("abc").unwrap();
/// sink.write_str("de").unwrap();
/// assert_eq!((sink.as_bytes(), sink.overflowed(), sink.required()), (&b"abc"[..], true, 5));
/// ```
#[derive(Debug)]
pub struct SliceSink<'a> {
    buf: &'a mut [u8],
    len: usize,
    required: usize,
    overflowed: bool,
}

impl<'a> SliceSink<'a> {
    /// A sink writing into `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        SliceSink {
            buf,
            len: 0,
            required: 0,
            overflowed: false,
        }
    }

    /// The bytes written (all of them, unless [`overflowed`](Self::overflowed)).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The number of bytes written into the slice.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of bytes all the text given so far needs.
    pub fn required(&self) -> usize {
        self.required
    }

    /// Whether some text did not fit (and was dropped, along with all text after it).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// `Ok(len)`, or [`ErrorKind::BufferTooSmall`] at the offset of the first text that did
    /// not fit.
    ///
    /// [`ErrorKind::BufferTooSmall`]: crate::recon::ErrorKind::BufferTooSmall
    fn result(&self) -> Result<usize, Error> {
        if self.overflowed {
            Err(Error::new(
                ErrorKind::BufferTooSmall {
                    required: self.required,
                },
                self.len,
            ))
        } else {
            Ok(self.len)
        }
    }
}

impl fmt::Write for SliceSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.required = self.required.saturating_add(s.len());
        if self.overflowed {
            return Ok(());
        }
        let end = self.len.saturating_add(s.len());
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(s.as_bytes());
                self.len = end;
            }
            None => self.overflowed = true,
        }
        Ok(())
    }
}
