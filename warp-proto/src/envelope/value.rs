//! Writing an envelope whose body is a [`Value`] (feature `alloc`), without building a string.

use core::fmt::{self, Write};

use super::encode::{BodyStart, Counting, SliceSink};
use super::{Envelope, EnvelopeError, EnvelopeErrorKind};
use crate::recon::{Item, Value};

impl Envelope<'_> {
    /// Writes the envelope with `body` as its body, ignoring `self.body`.
    ///
    /// The body's items are spliced into the envelope record the way Java and JavaScript print
    /// it, so that [`Envelope::decode`] (and the Java and JavaScript readers) give `body` back:
    /// `@event(node:a,lane:b) 1`, `@event(node:a,lane:b){x:1}`,
    /// `@event(node:a,lane:b)@update(key:k){temp:21.5}`. A record with exactly one plain item
    /// gets one more pair of braces (`{{1}}` for the record `{1}`), since `{1}` reads back as
    /// `1`. Absent, Extant and the empty record have no text distinct from "no body": nothing is
    /// written and the body reads back as Absent.
    ///
    /// The Rust reference hands the body text to the lane as a document of its own; for it,
    /// `{{1}}` is `{{1}}`. No text of a one-item record reads back the same everywhere.
    ///
    /// Fails with a Recon error of kind [`NonFiniteFloat`](crate::recon::ErrorKind::NonFiniteFloat)
    /// on a NaN or infinite float in `body` (the offset is where it would have been written),
    /// and with [`EnvelopeErrorKind::Fmt`] when `w` fails.
    ///
    /// ```
    /// use warp_proto::envelope::Envelope;
    /// use warp_proto::recon::{Item, Value};
    ///
    /// let body = Value::Record(vec![
    ///     Item::attr("update", Value::record([Item::slot("key", "k")])),
    ///     Item::slot("temp", 21.5),
    /// ]);
    /// let mut s = String::new();
    /// Envelope::event("/unit/1", "info", Default::default())
    ///     .encode_with_value(&body, &mut s)
    ///     .unwrap();
    /// assert_eq!(s, "@event(node:\"/unit/1\",lane:info)@update(key:k){temp:21.5}");
    /// assert_eq!(Envelope::decode(&s).unwrap().body.to_value().unwrap(), body);
    /// ```
    pub fn encode_with_value<W: Write + ?Sized>(
        &self,
        body: &Value,
        w: &mut W,
    ) -> Result<(), EnvelopeError> {
        let mut out = Counting { inner: w, count: 0 };
        self.write_header(&mut out)
            .map_err(|_| EnvelopeError::new(EnvelopeErrorKind::Fmt, out.count))?;
        let base = out.count;
        let result = match body {
            Value::Absent | Value::Extant => return Ok(()),
            Value::Record(items) if items.is_empty() => return Ok(()),
            Value::Record(items) if matches!(items.as_slice(), [Item::Value(_)]) => {
                wrapped(body, &mut out)
            }
            _ => body.write_to(&mut BodyStart {
                inner: &mut out,
                started: false,
            }),
        };
        result.map_err(|e| match e.kind {
            crate::recon::ErrorKind::Fmt => EnvelopeError::new(EnvelopeErrorKind::Fmt, out.count),
            _ => EnvelopeError::from_recon(e, base),
        })
    }

    /// [`Envelope::encode_with_value`] into `buf`; returns the frame's length.
    ///
    /// When `buf` is too small the error is [`EnvelopeErrorKind::BufferTooSmall`] with the
    /// exact length of the frame.
    pub fn encode_to_slice_with_value(
        &self,
        body: &Value,
        buf: &mut [u8],
    ) -> Result<usize, EnvelopeError> {
        let mut sink = SliceSink::new(buf);
        self.encode_with_value(body, &mut sink)?;
        sink.finish()
    }
}

/// Writes `{` body `}`, so the one item spliced into the envelope is the body record itself.
fn wrapped<W: Write + ?Sized>(
    body: &Value,
    out: &mut Counting<'_, W>,
) -> Result<(), crate::recon::Error> {
    let fmt_err = |at| crate::recon::Error::new(crate::recon::ErrorKind::Fmt, at);
    out.write_char('{').map_err(|_| fmt_err(0))?;
    body.write_to(out)
        .map_err(|e| crate::recon::Error::new(e.kind, e.offset.saturating_add(1)))?;
    out.write_char('}')
        .map_err(|_: fmt::Error| fmt_err(out.count))
}
