//! Reading envelopes: the entry points and body validation. The header is read by the
//! byte-scanning fast path ([`super::fast`]) or, for anything else, the general path
//! ([`super::general`]).

use super::fast::fast_header;
use super::general::general_header;
use super::{Body, Envelope, EnvelopeError, EnvelopeErrorKind};
use crate::recon::ErrorKind;

/// The result of reading a header: the envelope (with an empty body) and the offset of the
/// first byte after the header.
pub(super) type Header<'a> = (Envelope<'a>, usize);

impl<'a> Envelope<'a> {
    /// Decodes a whole frame: the header, and the body, which is checked to be valid Recon
    /// by running the reader over it.
    ///
    /// The result borrows from `frame`. Errors carry the byte offset in `frame` where they
    /// were noticed. See the [module docs](super) for the rules.
    ///
    /// ```
    /// use warp_proto::envelope::{Envelope, EnvelopeErrorKind, Tag};
    ///
    /// let env = Envelope::decode("@link(node:\"/a\",lane:b,prio:0.5){x:1}").unwrap();
    /// assert_eq!((env.tag, env.prio, env.body.raw()), (Tag::Link, 0.5, "{x:1}"));
    ///
    /// let err = Envelope::decode("@event(node:\"/a\") 1").unwrap_err();
    /// assert_eq!(err.kind, EnvelopeErrorKind::MissingLane);
    /// assert!(Envelope::decode("@event(node:\"/a\",lane:b) {").is_err());
    /// ```
    pub fn decode(frame: &'a str) -> Result<Envelope<'a>, EnvelopeError> {
        let (env, body_at) = decode_header_at(frame)?;
        let mut reader = env.body.reader();
        loop {
            match reader.next_event() {
                Ok(Some(_)) => {}
                Ok(None) => return Ok(env),
                Err(e) => return Err(EnvelopeError::from_recon(e, body_at)),
            }
        }
    }

    /// [`Envelope::decode`] of a frame given as bytes, which must be UTF-8 (an invalid frame
    /// is a [`ErrorKind::InvalidUtf8`] Recon error at the first bad byte).
    pub fn decode_bytes(frame: &'a [u8]) -> Result<Envelope<'a>, EnvelopeError> {
        Envelope::decode(utf8(frame)?)
    }

    /// Decodes the header only: tag, node, lane, prio and rate. The body is the rest of the
    /// frame after the header (leading whitespace removed), returned as raw text and **not
    /// checked**; use [`Envelope::decode`] when the body must be valid, or read it later with
    /// [`Body::reader`], which reports any error then.
    ///
    /// ```
    /// use warp_proto::envelope::Envelope;
    /// let env = Envelope::decode_header("@event(node:\"/a\",lane:b) {unchecked").unwrap();
    /// assert_eq!(env.body.raw(), "{unchecked");
    /// ```
    pub fn decode_header(frame: &'a str) -> Result<Envelope<'a>, EnvelopeError> {
        decode_header_at(frame).map(|(env, _)| env)
    }

    /// [`Envelope::decode_header`] of a frame given as bytes (UTF-8 checked).
    pub fn decode_header_bytes(frame: &'a [u8]) -> Result<Envelope<'a>, EnvelopeError> {
        Envelope::decode_header(utf8(frame)?)
    }
}

fn utf8(frame: &[u8]) -> Result<&str, EnvelopeError> {
    core::str::from_utf8(frame).map_err(|e| {
        EnvelopeError::new(
            EnvelopeErrorKind::Recon(ErrorKind::InvalidUtf8),
            e.valid_up_to(),
        )
    })
}

/// Reads the header (fast path, else the general path) and attaches the body; returns the
/// envelope and the offset of the body in the frame.
fn decode_header_at(frame: &str) -> Result<(Envelope<'_>, usize), EnvelopeError> {
    let (env, end) = match fast_header(frame) {
        Some(h) => h,
        None => general_header(frame)?,
    };
    let body_at = skip_space(frame.as_bytes(), end);
    let raw = frame.get(body_at..).unwrap_or("");
    Ok((env.with_body(Body::from_raw(raw)), body_at))
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

pub(super) fn skip_space(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    i
}
