//! [`Value`] printing (feature `alloc`): the rules of [`Writer`](crate::recon::Writer) applied to a
//! whole value, with the lookahead a value allows.

use core::fmt;

use super::scalar::{write_bool, write_data, write_decimal, write_float, write_int, write_text};
use super::{ArgForm, Fault, Out, Shape, SliceSink, R};
use crate::recon::{Error, Item, Value};

fn is_attr(item: &Item) -> bool {
    matches!(item, Item::Attr(..))
}

pub(super) fn is_empty_value(v: &Value) -> bool {
    matches!(v, Value::Extant | Value::Absent)
}

pub(super) fn write_value<W: fmt::Write>(out: &mut Out<W>, v: &Value) -> R {
    match v {
        Value::Record(items) => write_record(out, items),
        Value::Text(s) => write_text(out, s),
        Value::Int(i) => write_int(out, *i),
        Value::UInt(u) => write_decimal(out, *u, false),
        Value::BigInt(b) => {
            use fmt::Write as _;
            write!(out, "{}", b).map_err(|_| Fault::Sink)
        }
        Value::Float(f) => write_float(out, *f),
        Value::Bool(b) => write_bool(out, *b),
        Value::Data(d) => write_data(out, d),
        Value::Extant | Value::Absent => Ok(()),
    }
}

/// Whether `v` is written bare as the last item after attributes (and whether with a space).
pub(super) fn bare_tail(v: &Value) -> Option<bool> {
    match v {
        // A bare identifier needs a space, or it would continue the attribute name.
        Value::Text(s) => Some(super::scalar::is_bare(s)),
        Value::Int(_) | Value::UInt(_) | Value::BigInt(_) | Value::Float(_) | Value::Bool(_) => {
            Some(true)
        }
        Value::Data(_) => Some(false),
        Value::Record(_) | Value::Extant | Value::Absent => None,
    }
}

fn write_record<W: fmt::Write>(out: &mut Out<W>, items: &[Item]) -> R {
    if !items.iter().any(is_attr) {
        out.put("{")?;
        write_items(out, items)?;
        return out.put("}");
    }
    let mut rest = items;
    while let Some((first, tail)) = rest.split_first() {
        if let Item::Attr(name, v) = first {
            write_attr(out, name, v)?;
            rest = tail;
            continue;
        }
        let run_len = rest.iter().position(is_attr).unwrap_or(rest.len());
        let (run, after) = rest.split_at(run_len);
        if let ([Item::Value(v)], true) = (run, after.is_empty()) {
            if let Some(spaced) = bare_tail(v) {
                if spaced {
                    out.put(" ")?;
                }
                return write_value(out, v);
            }
        }
        out.put("{")?;
        write_items(out, run)?;
        out.put("}")?;
        rest = after;
    }
    Ok(())
}

/// The items of a run (or of a record without attributes), separated by `,`.
fn write_items<W: fmt::Write>(out: &mut Out<W>, items: &[Item]) -> R {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.put(",")?;
        }
        match item {
            Item::Value(v) => write_value(out, v)?,
            Item::Slot(k, v) => {
                write_value(out, k)?;
                out.put(":")?;
                write_value(out, v)?;
            }
            // Not reached: callers pass runs without attributes.
            Item::Attr(name, v) => write_attr(out, name, v)?,
        }
    }
    if let Some(Item::Value(v)) = items.last() {
        if is_empty_value(v) {
            out.put(",")?;
        }
    }
    Ok(())
}

fn write_attr<W: fmt::Write>(out: &mut Out<W>, name: &str, v: &Value) -> R {
    out.put("@")?;
    write_text(out, name)?;
    write_attr_value(out, v)
}

/// What follows an attribute's name: nothing for Extant/Absent, else `(...)`.
pub(super) fn write_attr_value<W: fmt::Write>(out: &mut Out<W>, v: &Value) -> R {
    match v {
        Value::Extant | Value::Absent => Ok(()),
        Value::Record(items) => {
            out.put("(")?;
            let shape = Shape::of_items(items);
            match ArgForm::of(&shape) {
                ArgForm::Record => write_record(out, items)?,
                ArgForm::Block => {
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.put(",")?;
                        }
                        match item {
                            Item::Value(v) => write_value(out, v)?,
                            Item::Slot(k, v) => {
                                write_value(out, k)?;
                                out.put(":")?;
                                write_value(out, v)?;
                            }
                            Item::Attr(name, v) => write_attr(out, name, v)?,
                        }
                    }
                }
                ArgForm::Braces => {
                    out.put("{")?;
                    write_items(out, items)?;
                    out.put("}")?;
                }
            }
            out.put(")")
        }
        _ => {
            out.put("(")?;
            write_value(out, v)?;
            out.put(")")
        }
    }
}

impl Value {
    /// Writes this value as Recon text to `w`.
    ///
    /// Fails with [`ErrorKind::NonFiniteFloat`] on a NaN or infinite float and with
    /// [`ErrorKind::Fmt`] when `w` fails; the error's offset is the number of bytes written
    /// before. The text is the one described on [`Writer`](crate::recon::Writer).
    ///
    /// ```
    /// use warp_proto::recon::{Item, Value};
    ///
    /// let v = Value::Record(vec![
    ///     Item::Attr("event".into(), Value::Record(vec![
    ///         Item::Slot(Value::Text("node".into()), Value::Text("/a".into())),
    ///         Item::Slot(Value::Text("lane".into()), Value::Text("b".into())),
    ///     ])),
    ///     Item::Value(Value::Int(1)),
    /// ]);
    /// let mut s = String::new();
    /// v.write_to(&mut s)?;
    /// assert_eq!(s, r#"@event(node:"/a",lane:b) 1"#);
    /// # Ok::<(), warp_proto::recon::Error>(())
    /// ```
    ///
    /// [`ErrorKind::Fmt`]: crate::recon::ErrorKind::Fmt
    /// [`ErrorKind::NonFiniteFloat`]: crate::recon::ErrorKind::NonFiniteFloat
    pub fn write_to<W: fmt::Write + ?Sized>(&self, w: &mut W) -> Result<(), Error> {
        let mut out = Out::new(w);
        write_value(&mut out, self).map_err(|f| out.error(f))
    }

    /// Writes this value as Recon text into `buf` and returns the number of bytes written.
    ///
    /// When the text does not fit, fails with [`ErrorKind::BufferTooSmall`] carrying the exact
    /// size required (the start of `buf` then holds a prefix of the text, cut between two
    /// writes). Floats that are NaN or infinite fail with [`ErrorKind::NonFiniteFloat`].
    ///
    /// ```
    /// use warp_proto::recon::{ErrorKind, Value};
    ///
    /// let mut buf = [0u8; 8];
    /// let n = Value::Text("two words".into()).write_to_slice(&mut buf[..]);
    /// assert_eq!(n.unwrap_err().kind, ErrorKind::BufferTooSmall { required: 11 });
    /// let n = Value::Float(1.0).write_to_slice(&mut buf[..])?;
    /// assert_eq!(&buf[..n], b"1.0");
    /// # Ok::<(), warp_proto::recon::Error>(())
    /// ```
    ///
    /// [`ErrorKind::BufferTooSmall`]: crate::recon::ErrorKind::BufferTooSmall
    /// [`ErrorKind::NonFiniteFloat`]: crate::recon::ErrorKind::NonFiniteFloat
    pub fn write_to_slice(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut out = Out::new(SliceSink::new(buf));
        write_value(&mut out, self).map_err(|f| out.error(f))?;
        out.w.result()
    }

    /// This value as Recon text in a new `String`.
    ///
    /// Fails only on a NaN or infinite float ([`ErrorKind::NonFiniteFloat`]).
    ///
    /// ```
    /// use warp_proto::recon::Value;
    ///
    /// assert_eq!(Value::Text("true".into()).to_recon_string()?, r#""true""#);
    /// assert!(Value::Float(f64::NAN).to_recon_string().is_err());
    /// # Ok::<(), warp_proto::recon::Error>(())
    /// ```
    ///
    /// [`ErrorKind::NonFiniteFloat`]: crate::recon::ErrorKind::NonFiniteFloat
    pub fn to_recon_string(&self) -> Result<alloc::string::String, Error> {
        let mut s = alloc::string::String::new();
        self.write_to(&mut s)?;
        Ok(s)
    }
}

impl fmt::Display for Value {
    /// Compact Recon, as [`Value::write_to`] writes it.
    ///
    /// A NaN or infinite float makes this fail with `fmt::Error`; note that `to_string()` panics
    /// on that error, so use [`Value::to_recon_string`] for values that may hold such floats.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Out::new(f);
        write_value(&mut out, self).map_err(|_| fmt::Error)
    }
}
