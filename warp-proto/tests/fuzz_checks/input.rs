//! The byte layout of structured fuzz inputs: fixed-size little-endian fields read with
//! [`Unstructured::fill_buffer`] (zeros once the data runs out, so every byte string is an
//! input), variable parts length-prefixed, and a [`Writer`] producing the same layout for seeds.

use arbitrary::{Arbitrary, Unstructured};

/// Reads one byte (0 when the data has run out).
pub fn u8(u: &mut Unstructured<'_>) -> u8 {
    let mut b = [0u8; 1];
    // `fill_buffer` pads with zeros and never fails.
    let _ = u.fill_buffer(&mut b);
    b[0]
}

/// Reads a little-endian `u16` (zero-padded).
pub fn u16(u: &mut Unstructured<'_>) -> u16 {
    let mut b = [0u8; 2];
    let _ = u.fill_buffer(&mut b);
    u16::from_le_bytes(b)
}

/// Reads up to `len` bytes (fewer when the data runs out).
pub fn bytes<'a>(u: &mut Unstructured<'a>, len: usize) -> &'a [u8] {
    let n = len.min(u.len());
    u.bytes(n).unwrap_or(&[])
}

/// Writes the layout the readers above read.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// Appends one byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    /// Appends a little-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
}

/// The most chunks an input is split into.
const MAX_CHUNKS: usize = 32;

/// A byte stream cut into chunks that arrive at chosen times, with settings: the input of the
/// `ws_connection` and `endpoint` targets (each says what its flags mean).
///
/// Layout: `flags: u8`, `max_message: u8`, `max_frame: u8`, `chunks: u8` (taken modulo 33),
/// then per chunk `len: u16, dt_ms: u16`, then the stream (the rest). The stream is cut into
/// the chunk lengths in order; whatever is left arrives as one last chunk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chunked {
    /// Switches, read by the target.
    pub flags: u8,
    /// Selects the largest message accepted.
    pub max_message: u8,
    /// Selects the largest frame accepted.
    pub max_frame: u8,
    /// Per chunk: its length and the milliseconds since the previous chunk.
    pub chunks: Vec<(u16, u16)>,
    /// The bytes received.
    pub stream: Vec<u8>,
}

impl<'a> Arbitrary<'a> for Chunked {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let flags = u8(u);
        let max_message = u8(u);
        let max_frame = u8(u);
        let n = usize::from(u8(u)) % (MAX_CHUNKS + 1);
        let chunks = (0..n).map(|_| (u16(u), u16(u))).collect();
        let stream = bytes(u, u.len()).to_vec();
        Ok(Chunked {
            flags,
            max_message,
            max_frame,
            chunks,
            stream,
        })
    }
}

impl Chunked {
    /// The bytes that read back as this input.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(self.flags).u8(self.max_message).u8(self.max_frame);
        w.u8(self.chunks.len().min(MAX_CHUNKS) as u8);
        for &(len, dt) in self.chunks.iter().take(MAX_CHUNKS) {
            w.u16(len).u16(dt);
        }
        w.bytes(&self.stream);
        w.0
    }

    /// Whether bit `bit` of the flags is set.
    pub fn flag(&self, bit: u8) -> bool {
        self.flags & (1 << bit) != 0
    }

    /// The stream cut into chunks, each with its arrival time.
    pub fn pieces(&self) -> Vec<(u64, &[u8])> {
        let mut rest = self.stream.as_slice();
        let mut now = 0u64;
        let mut out = Vec::new();
        for &(len, dt) in &self.chunks {
            now += u64::from(dt);
            let (head, tail) = rest.split_at(usize::from(len).min(rest.len()));
            out.push((now, head));
            rest = tail;
        }
        out.push((now, rest));
        out
    }
}
