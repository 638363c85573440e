//! The streaming writer: [`Writer`], [`ValueWriter`] and [`RecordWriter`].

use core::fmt;

use super::scalar::{
    is_bare, write_bool, write_data, write_decimal, write_float, write_int, write_quoted,
    write_text,
};
#[cfg(feature = "alloc")]
use super::value::{bare_tail, is_empty_value, write_attr_value, write_value};
use super::{ArgForm, Fault, Kind, Out, Shape, SliceSink, R};
use crate::recon::Error;
#[cfg(feature = "alloc")]
use crate::recon::{Item, Value};

/// A streaming Recon writer: writes one value at a time into a [`fmt::Write`] sink without
/// building a [`Value`], and without an allocator.
///
/// # The text written
///
/// Only the portable subset of Recon, text that the Java, JavaScript and Rust reference parsers
/// read back as the same value (PROFILE.md, "Writing"):
///
/// - Text is bare when it is an identifier other than `true`/`false`, otherwise double-quoted
///   with the escapes `\" \\ \b \f \n \r \t` and `\u00XX` for the other C0 control characters.
///   Every other character, U+007F included, is written as it is.
/// - Integers in decimal; floats in the shortest form that reads back as the same `f64` (Ryu's,
///   as `swimos_recon` prints them), always with a `.` or an exponent (`1.0`, `0.00001`,
///   `1e21`, `1.5e-7`, `-0.0`). NaN and infinities have no portable form and are
///   refused with [`ErrorKind::NonFiniteFloat`].
/// - Data as `%` and padded standard base64. Extant as nothing (`{a:}`, `@a`).
/// - Records as `{a:1,b:2}`; attributes as `@name` with `(arguments)` unless the value is Extant.
///   No whitespace, except one space before a bare identifier, number or bool that follows
///   attributes: `@event(node:a,lane:b) 1`, `@a"two words"`, `@a{x:1}`.
/// - Never comments, markup, raw strings, hex or expressions.
///
/// # Records, precisely
///
/// A record's items are written in order. Attributes are written where they stand; each maximal
/// run of other items between them is written as `{item,...}` (after attributes, a `{...}` adds
/// its items to the same record), except the last run when it is a single bare value (a
/// number, text, bool or data), which follows the last attribute directly (`@a 1`). So
/// `[@a, 1]` prints `@a 1`, `[@a, x:1, y:2]` prints `@a{x:1,y:2}`, `[@a, {}]` prints `@a{{}}`,
/// `[1, @a]` prints `{1}@a` (a form only Java and JavaScript read: the Rust reference keeps
/// attributes before other items).
///
/// An Extant item is an empty position: `{a,,b}`; when it is the last item of a run a separator
/// follows it (`{a,,}`, `{,}`), because Java and JavaScript ignore a separator directly before
/// `}`. The Rust reference reads that separator as one more Extant, and reads `{a,}` as
/// `[a, Extant]` where Java and JavaScript read `[a]`: no text gives a record ending in Extant
/// in all three, and we write the Java/JavaScript form.
///
/// An attribute argument is written as itself when it is not a record (`@a(1)`); a record
/// argument with two or more items, or with a slot, is written as its items (`@a(x:1,y:2)`); a
/// record argument with attributes is written as a record (`@a(@b{c:1})`); any other record
/// argument keeps its braces (`@a({})`, `@a({1})`, `@a({a,,b})`), because the items alone would
/// read back as something else.
///
/// # Values with no exact text
///
/// - Extant at top level prints nothing, as in every reference printer. Java, JavaScript and
///   this crate read an empty document as Absent (the Rust reference as Extant); Java and
///   JavaScript have no text for a top-level Extant. Absent at top level prints nothing too.
/// - Absent inside a record (as an item, slot key or value, or attribute value) prints exactly as
///   Extant does and reads back as Extant: no reference can represent it there.
///
/// # Streaming
///
/// [`Writer::value`] hands out a [`ValueWriter`] for one document value; records are written by
/// closures that receive a [`RecordWriter`]. The output is the text [`Value`] printing gives for
/// the same data, byte for byte.
///
/// To choose the layout of a record (`@a 1` or `@a{1,2}`, `@a(x:1,y:2)` or `@a({1})`) without
/// buffering, the writer **calls each record closure twice**: once to learn the shape of the
/// record's items (their count and kinds, without writing and without entering nested records),
/// and once to write them. The closure must write the same items both times; being `Fn`, it can
/// only do otherwise through interior mutability. Should it differ anyway, nothing panics, but
/// the text may not read back as the items of the second call, or may not read back at all.
///
/// ```
/// use warp_proto::recon::Writer;
///
/// let mut buf = [0u8; 64];
/// let mut w = Writer::for_slice(&mut buf);
/// w.value().record(|r| {
///     r.attr_with("event", |v| {
///         v.record(|a| {
///             a.slot("node")?.text("/rooms/1")?;
///             a.slot("lane")?.text("temperature")
///         })
///     })?;
///     r.item()?.float(21.5)
/// })?;
/// let n = w.finish()?;
/// assert_eq!(&buf[..n], br#"@event(node:"/rooms/1",lane:temperature) 21.5"#);
/// # Ok::<(), warp_proto::recon::Error>(())
/// ```
///
/// [`ErrorKind::NonFiniteFloat`]: crate::recon::ErrorKind::NonFiniteFloat
pub struct Writer<W: fmt::Write> {
    out: Out<W>,
}

impl<W: fmt::Write> Writer<W> {
    /// A writer into `sink`.
    pub fn new(sink: W) -> Self {
        Writer {
            out: Out::new(sink),
        }
    }

    /// The writer for one document value.
    ///
    /// Each call writes one more document; two documents written one after the other do not
    /// form one valid document.
    pub fn value(&mut self) -> ValueWriter<'_, W> {
        ValueWriter {
            to: To::Out(&mut self.out, Pos::Plain),
        }
    }

    /// Bytes written so far (for a [`SliceSink`], bytes given, including any that did not fit).
    pub fn bytes_written(&self) -> usize {
        self.out.len
    }

    /// The sink.
    pub fn get_ref(&self) -> &W {
        &self.out.w
    }

    /// Gives the sink back.
    pub fn into_inner(self) -> W {
        self.out.w
    }
}

impl<'b> Writer<SliceSink<'b>> {
    /// A writer into `buf`.
    pub fn for_slice(buf: &'b mut [u8]) -> Self {
        Writer::new(SliceSink::new(buf))
    }

    /// The number of bytes written into the slice, or [`ErrorKind::BufferTooSmall`] with the
    /// size required when the text did not fit.
    ///
    /// [`ErrorKind::BufferTooSmall`]: crate::recon::ErrorKind::BufferTooSmall
    pub fn finish(&self) -> Result<usize, Error> {
        self.out.w.result()
    }
}

/// Where a [`ValueWriter`] writes: the position decides the few characters around the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pos {
    /// Top level, a record item, a slot key or value: the value as it is.
    Plain,
    /// An attribute's argument: `(value)`, nothing for Extant.
    Arg,
    /// The single last item after attributes: bare, with a space before identifiers, numbers
    /// and bools; anything else in braces.
    Tail,
}

enum To<'a, W: fmt::Write> {
    Out(&'a mut Out<W>, Pos),
    /// The shape pass: only note the kind of value.
    Measure(&'a mut Kind),
}

/// Writes exactly one value at one place of the document; obtained from [`Writer::value`],
/// [`RecordWriter::item`], [`RecordWriter::slot`] or an attribute's closure.
///
/// Every method consumes the writer. Dropping it without writing leaves an Extant value.
#[must_use = "a ValueWriter writes nothing until one of its methods is called"]
pub struct ValueWriter<'a, W: fmt::Write> {
    to: To<'a, W>,
}

impl<W: fmt::Write> ValueWriter<'_, W> {
    fn scalar(self, spaced: bool, write: impl FnOnce(&mut Out<W>) -> R) -> Result<(), Error> {
        match self.to {
            To::Measure(kind) => {
                *kind = Kind::Scalar;
                Ok(())
            }
            To::Out(out, pos) => {
                let r = match pos {
                    Pos::Plain => write(out),
                    Pos::Arg => out
                        .put("(")
                        .and_then(|()| write(out))
                        .and_then(|()| out.put(")")),
                    Pos::Tail => {
                        if spaced {
                            out.put(" ").and_then(|()| write(out))
                        } else {
                            write(out)
                        }
                    }
                };
                r.map_err(|f| out.error(f))
            }
        }
    }

    /// Writes a text: bare when it is an identifier other than `true`/`false`, else quoted.
    pub fn text(self, s: &str) -> Result<(), Error> {
        let bare = is_bare(s);
        self.scalar(bare, |out| {
            if bare {
                out.put(s)
            } else {
                write_quoted(out, s)
            }
        })
    }

    /// Writes a signed integer.
    pub fn int(self, i: i64) -> Result<(), Error> {
        self.scalar(true, |out| write_int(out, i))
    }

    /// Writes an unsigned integer.
    pub fn uint(self, u: u64) -> Result<(), Error> {
        self.scalar(true, |out| write_decimal(out, u, false))
    }

    /// Writes a float; NaN and infinities fail with [`ErrorKind::NonFiniteFloat`].
    ///
    /// [`ErrorKind::NonFiniteFloat`]: crate::recon::ErrorKind::NonFiniteFloat
    pub fn float(self, f: f64) -> Result<(), Error> {
        self.scalar(true, |out| write_float(out, f))
    }

    /// Writes `true` or `false`.
    pub fn bool(self, b: bool) -> Result<(), Error> {
        self.scalar(true, |out| write_bool(out, b))
    }

    /// Writes a byte string as `%` and base64.
    pub fn data(self, bytes: &[u8]) -> Result<(), Error> {
        self.scalar(false, |out| write_data(out, bytes))
    }

    /// Writes Extant: nothing, except as the last item after attributes, where it is `{,}`.
    pub fn extant(self) -> Result<(), Error> {
        match self.to {
            To::Measure(kind) => {
                *kind = Kind::Extant;
                Ok(())
            }
            To::Out(out, Pos::Tail) => out.put("{,}").map_err(|f| out.error(f)),
            To::Out(_, Pos::Plain | Pos::Arg) => Ok(()),
        }
    }

    /// Writes a whole [`Value`] here, as [`Value`] printing does.
    #[cfg(feature = "alloc")]
    pub fn value(self, v: &Value) -> Result<(), Error> {
        match self.to {
            To::Measure(kind) => {
                *kind = match v {
                    Value::Record(_) => Kind::Record,
                    Value::Extant | Value::Absent => Kind::Extant,
                    _ => Kind::Scalar,
                };
                Ok(())
            }
            To::Out(out, pos) => {
                let r = match pos {
                    Pos::Plain => write_value(out, v),
                    Pos::Arg => write_attr_value(out, v),
                    Pos::Tail => match bare_tail(v) {
                        Some(true) => out.put(" ").and_then(|()| write_value(out, v)),
                        Some(false) => write_value(out, v),
                        None => out
                            .put("{")
                            .and_then(|()| write_value(out, v))
                            .and_then(|()| {
                                if is_empty_value(v) {
                                    out.put(",")
                                } else {
                                    Ok(())
                                }
                            })
                            .and_then(|()| out.put("}")),
                    },
                };
                r.map_err(|f| out.error(f))
            }
        }
    }

    /// Writes a record whose items `f` writes (attributes, slots and values, in order).
    ///
    /// `f` is called twice, once to learn the shape of the items and once to write them: it
    /// must write the same items both times (see [`Writer`]).
    pub fn record<F>(self, f: F) -> Result<(), Error>
    where
        F: Fn(&mut RecordWriter<'_, W>) -> Result<(), Error>,
    {
        let (out, pos) = match self.to {
            To::Measure(kind) => {
                *kind = Kind::Record;
                return Ok(());
            }
            To::Out(out, pos) => (out, pos),
        };
        let mut shape = Shape::default();
        f(&mut RecordWriter {
            to: RTo::Measure(&mut shape),
        })?;
        shape.settle();
        let (form, open, close) = match pos {
            Pos::Plain if shape.attrs > 0 => (Form::Runs, "", ""),
            Pos::Plain => (Form::Braces, "{", "}"),
            Pos::Tail if shape.attrs > 0 => (Form::Runs, "{", "}"),
            Pos::Tail => (Form::Braces, "{{", "}}"),
            Pos::Arg => match ArgForm::of(&shape) {
                ArgForm::Record => (Form::Runs, "(", ")"),
                ArgForm::Block => (Form::Block, "(", ")"),
                ArgForm::Braces => (Form::Braces, "({", "})"),
            },
        };
        out.put(open).map_err(|e| out.error(e))?;
        let mut rw = RecordWriter {
            to: RTo::Out(Emit {
                out: &mut *out,
                shape,
                form,
                index: 0,
                run_open: false,
                plain_at: None,
            }),
        };
        f(&mut rw)?;
        rw.close()?;
        out.put(close).map_err(|e| out.error(e))
    }
}

/// How the items of a record are laid out by [`RecordWriter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// No attributes: `{` and `}` are written around by the caller, items separated by `,`.
    Braces,
    /// Attribute arguments as a block: items separated by `,`, no braces.
    Block,
    /// Attributes where they stand, runs of other items in braces, a bare last value.
    Runs,
}

struct Emit<'a, W: fmt::Write> {
    out: &'a mut Out<W>,
    shape: Shape,
    form: Form,
    /// Items written so far.
    index: usize,
    /// Whether a `{` of a run is open (form `Runs`).
    run_open: bool,
    /// Output length right after the separator of the last item, when it is a plain value (to
    /// tell whether it wrote nothing, i.e. was Extant).
    plain_at: Option<usize>,
}

enum RTo<'a, W: fmt::Write> {
    Out(Emit<'a, W>),
    Measure(&'a mut Shape),
}

/// Writes the items of one record; handed to the closure of [`ValueWriter::record`].
pub struct RecordWriter<'a, W: fmt::Write> {
    to: RTo<'a, W>,
}

impl<W: fmt::Write> Emit<'_, W> {
    /// Whether the last plain item wrote nothing, so that a closing `}` needs a `,` before it.
    fn last_empty(&self) -> bool {
        self.plain_at == Some(self.out.len)
    }

    fn close_run(&mut self) -> R {
        if self.last_empty() {
            self.out.put(",")?;
        }
        self.plain_at = None;
        if self.run_open {
            self.run_open = false;
            self.out.put("}")?;
        }
        Ok(())
    }

    /// Writes what comes before a new non-attribute item; returns whether the item is the bare
    /// tail.
    fn before_item(&mut self, plain: bool) -> Result<bool, Fault> {
        let index = self.index;
        self.index += 1;
        match self.form {
            Form::Braces | Form::Block => {
                if index > 0 {
                    self.out.put(",")?;
                }
            }
            Form::Runs => {
                if plain && self.shape.bare_tail() && index + 1 == self.shape.len {
                    self.plain_at = None;
                    return Ok(true);
                }
                if self.run_open {
                    self.out.put(",")?;
                } else {
                    self.out.put("{")?;
                    self.run_open = true;
                }
            }
        }
        self.plain_at = if plain { Some(self.out.len) } else { None };
        Ok(false)
    }
}

impl<W: fmt::Write> RecordWriter<'_, W> {
    /// Writes an attribute with no value (`@name`).
    pub fn attr(&mut self, name: &str) -> Result<(), Error> {
        self.attr_with(name, |v| v.extant())
    }

    /// Writes an attribute whose value `value` writes (`@name(...)`; just `@name` when the
    /// value is Extant).
    pub fn attr_with<F>(&mut self, name: &str, value: F) -> Result<(), Error>
    where
        F: FnOnce(ValueWriter<'_, W>) -> Result<(), Error>,
    {
        match &mut self.to {
            RTo::Measure(shape) => {
                shape.add_attr();
                Ok(())
            }
            RTo::Out(emit) => {
                emit.index += 1;
                let r = match emit.form {
                    Form::Runs => emit.close_run(),
                    Form::Braces | Form::Block => Ok(()),
                };
                r.and_then(|()| emit.out.put("@"))
                    .and_then(|()| write_text(emit.out, name))
                    .map_err(|f| emit.out.error(f))?;
                emit.plain_at = None;
                value(ValueWriter {
                    to: To::Out(&mut *emit.out, Pos::Arg),
                })
            }
        }
    }

    /// Starts a plain item; the returned writer writes its value.
    pub fn item(&mut self) -> Result<ValueWriter<'_, W>, Error> {
        match &mut self.to {
            RTo::Measure(shape) => {
                shape.add_plain();
                Ok(ValueWriter {
                    to: To::Measure(&mut shape.last_kind),
                })
            }
            RTo::Out(emit) => {
                let tail = emit.before_item(true).map_err(|f| emit.out.error(f))?;
                let pos = if tail { Pos::Tail } else { Pos::Plain };
                Ok(ValueWriter {
                    to: To::Out(&mut *emit.out, pos),
                })
            }
        }
    }

    /// Starts a slot whose key is the text `key`; the returned writer writes its value.
    pub fn slot(&mut self, key: &str) -> Result<ValueWriter<'_, W>, Error> {
        self.slot_with(|k| k.text(key))
    }

    /// Starts a slot whose key `key` writes (any value); the returned writer writes its value.
    pub fn slot_with<F>(&mut self, key: F) -> Result<ValueWriter<'_, W>, Error>
    where
        F: FnOnce(ValueWriter<'_, W>) -> Result<(), Error>,
    {
        match &mut self.to {
            RTo::Measure(shape) => {
                let mut kind = Kind::Extant;
                key(ValueWriter {
                    to: To::Measure(&mut kind),
                })?;
                shape.add_slot(kind);
                Ok(ValueWriter {
                    to: To::Measure(&mut shape.last_kind),
                })
            }
            RTo::Out(emit) => {
                emit.before_item(false).map_err(|f| emit.out.error(f))?;
                key(ValueWriter {
                    to: To::Out(&mut *emit.out, Pos::Plain),
                })?;
                emit.out.put(":").map_err(|f| emit.out.error(f))?;
                Ok(ValueWriter {
                    to: To::Out(&mut *emit.out, Pos::Plain),
                })
            }
        }
    }

    /// Writes the items of a [`Value::Record`] (or one plain item for any other value).
    #[cfg(feature = "alloc")]
    pub fn items_of(&mut self, v: &Value) -> Result<(), Error> {
        let Value::Record(items) = v else {
            return self.item()?.value(v);
        };
        for item in items {
            match item {
                Item::Attr(name, value) => self.attr_with(name, |w| w.value(value))?,
                Item::Slot(k, value) => self.slot_with(|w| w.value(k))?.value(value)?,
                Item::Value(value) => self.item()?.value(value)?,
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        match &mut self.to {
            RTo::Measure(_) => Ok(()),
            RTo::Out(emit) => {
                let r = match emit.form {
                    Form::Runs => emit.close_run(),
                    Form::Braces => {
                        if emit.last_empty() {
                            emit.out.put(",")
                        } else {
                            Ok(())
                        }
                    }
                    Form::Block => Ok(()),
                };
                r.map_err(|f| emit.out.error(f))
            }
        }
    }
}

impl<W: fmt::Write> fmt::Debug for RecordWriter<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.to {
            RTo::Out(emit) => f
                .debug_struct("RecordWriter")
                .field("form", &emit.form)
                .field("index", &emit.index)
                .finish(),
            RTo::Measure(_) => f
                .debug_struct("RecordWriter")
                .field("measure", &true)
                .finish(),
        }
    }
}

impl<W: fmt::Write> fmt::Debug for ValueWriter<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.to {
            To::Out(out, pos) => f
                .debug_struct("ValueWriter")
                .field("pos", pos)
                .field("offset", &out.len)
                .finish(),
            To::Measure(_) => f
                .debug_struct("ValueWriter")
                .field("measure", &true)
                .finish(),
        }
    }
}

impl<W: fmt::Write> fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("bytes_written", &self.out.len)
            .finish()
    }
}
