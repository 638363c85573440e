//! WebSocket frames (RFC 6455 section 5.2): decoding over a byte slice, encoding into a caller
//! buffer, and masking.
//!
//! ```text
//!  0               1               2               3
//!  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               | Masking-key, if MASK set to 1 |
//! +-------------------------------+-------------------------------+
//! ```

use core::ops::Range;

use super::error::{EncodeError, WsError, WsErrorKind};
use super::{Role, Status};

/// The largest frame header: 2 bytes, a 64-bit length and a masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The longest control frame payload.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: first frame of a text message.
    Text,
    /// 0x2: first frame of a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl Opcode {
    /// The opcode for the low four bits `bits`, if RFC 6455 defines it.
    pub const fn from_u8(bits: u8) -> Option<Opcode> {
        match bits {
            0x0 => Some(Opcode::Continuation),
            0x1 => Some(Opcode::Text),
            0x2 => Some(Opcode::Binary),
            0x8 => Some(Opcode::Close),
            0x9 => Some(Opcode::Ping),
            0xA => Some(Opcode::Pong),
            _ => None,
        }
    }

    /// The wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub const fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// A decoded frame header.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// The FIN bit: this frame ends its message.
    pub fin: bool,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length as announced (not yet checked against any limit).
    pub payload_len: u64,
}

impl FrameHeader {
    /// Bytes this header takes on the wire (minimal length encoding).
    pub const fn encoded_len(&self) -> usize {
        header_len(self.payload_len, self.mask.is_some())
    }

    /// Writes this header into `out`, returning its length. Checks the control frame rules
    /// (FIN set, payload at most 125 bytes).
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        if self.opcode.is_control() {
            if !self.fin {
                return Err(EncodeError::FragmentedControl);
            }
            if self.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(EncodeError::ControlTooLong {
                    len: usize::try_from(self.payload_len).unwrap_or(usize::MAX),
                });
            }
        }
        if self.payload_len >> 63 != 0 {
            return Err(EncodeError::LengthTooLarge);
        }
        let mut buf = [0u8; MAX_HEADER_LEN];
        let len = self.encoded_len();
        buf[0] = (u8::from(self.fin) << 7) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut at = 2;
        if self.payload_len <= 125 {
            buf[1] = mask_bit | self.payload_len as u8;
        } else if let Ok(len16) = u16::try_from(self.payload_len) {
            buf[1] = mask_bit | 126;
            buf[2..4].copy_from_slice(&len16.to_be_bytes());
            at = 4;
        } else {
            buf[1] = mask_bit | 127;
            buf[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
            at = 10;
        }
        if let Some(mask) = self.mask {
            buf[at..at + 4].copy_from_slice(&mask);
        }
        let Some(dest) = out.get_mut(..len) else {
            return Err(EncodeError::BufferTooSmall { needed: len });
        };
        dest.copy_from_slice(buf.get(..len).unwrap_or(&[]));
        Ok(len)
    }
}

/// The header length for a payload of `payload_len` bytes, masked or not.
///
/// ```
/// assert_eq!(warp_proto::ws::header_len(125, false), 2);
/// assert_eq!(warp_proto::ws::header_len(126, true), 8);
/// assert_eq!(warp_proto::ws::header_len(65_536, true), 14);
/// ```
pub const fn header_len(payload_len: u64, masked: bool) -> usize {
    let base = if payload_len <= 125 {
        2
    } else if payload_len <= 0xFFFF {
        4
    } else {
        10
    };
    if masked {
        base + 4
    } else {
        base
    }
}

/// Decodes one frame header from the start of `input`.
///
/// Checks what the header alone can tell: reserved bits clear, a known opcode, control frames
/// final and at most 125 bytes, the 64-bit length's top bit clear. Errors are found as early as
/// the bytes allow (a bad first byte fails even when it is all there is). A length written with
/// more bytes than needed is read, not refused (senders must use the minimal form; receivers
/// such as tungstenite accept both). On success returns the header and its length in bytes.
///
/// ```
/// use warp_proto::ws::{decode_header, Opcode, Status};
///
/// // RFC 6455 5.7: a single-frame masked text message "Hello".
/// let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let Status::Complete((header, len)) = decode_header(&bytes).unwrap() else { panic!() };
/// assert_eq!((header.opcode, header.fin, header.payload_len, len), (Opcode::Text, true, 5, 6));
/// assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
/// assert_eq!(decode_header(&bytes[..3]).unwrap(), Status::Partial { needed: 3 });
/// ```
pub fn decode_header(input: &[u8]) -> Result<Status<(FrameHeader, usize)>, WsError> {
    let Some(&b0) = input.first() else {
        return Ok(Status::Partial { needed: 2 });
    };
    let rsv = (b0 >> 4) & 0b111;
    if rsv != 0 {
        return Err(WsError::new(WsErrorKind::ReservedBits(rsv), 0));
    }
    let fin = b0 & 0x80 != 0;
    let Some(opcode) = Opcode::from_u8(b0 & 0x0F) else {
        return Err(WsError::new(WsErrorKind::UnknownOpcode(b0 & 0x0F), 0));
    };
    if opcode.is_control() && !fin {
        return Err(WsError::new(WsErrorKind::FragmentedControl, 0));
    }
    let Some(&b1) = input.get(1) else {
        return Ok(Status::Partial { needed: 1 });
    };
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7F;
    if opcode.is_control() && len7 > 125 {
        return Err(WsError::new(WsErrorKind::ControlTooLong, 1));
    }
    let ext_len = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let total = 2 + ext_len + if masked { 4 } else { 0 };
    if input.len() < total {
        // A 64-bit length with its top bit set can be refused before the rest arrives.
        if ext_len == 8 {
            if let Some(&top) = input.get(2) {
                if top & 0x80 != 0 {
                    return Err(WsError::new(WsErrorKind::LengthMsbSet, 2));
                }
            }
        }
        return Ok(Status::Partial {
            needed: total - input.len(),
        });
    }
    let payload_len = match ext_len {
        2 => u64::from(u16::from_be_bytes([input[2], input[3]])),
        8 => {
            let mut be = [0u8; 8];
            be.copy_from_slice(&input[2..10]);
            let len = u64::from_be_bytes(be);
            if len >> 63 != 0 {
                return Err(WsError::new(WsErrorKind::LengthMsbSet, 2));
            }
            len
        }
        _ => u64::from(len7),
    };
    let mask = if masked {
        let at = 2 + ext_len;
        Some([input[at], input[at + 1], input[at + 2], input[at + 3]])
    } else {
        None
    };
    let header = FrameHeader {
        fin,
        opcode,
        mask,
        payload_len,
    };
    Ok(Status::Complete((header, total)))
}

/// A complete frame found at the start of an input slice.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    /// Its header.
    pub header: FrameHeader,
    /// Bytes of header before the payload.
    pub header_len: usize,
    /// Payload bytes (the announced length, checked to fit in `usize` and the limit).
    pub payload_len: usize,
}

impl Frame {
    /// Where the payload lies in the input the frame was decoded from.
    pub fn payload_range(&self) -> Range<usize> {
        self.header_len..self.len()
    }

    /// Total frame length: header and payload.
    pub fn len(&self) -> usize {
        self.header_len.saturating_add(self.payload_len)
    }

    /// Whether the frame has no payload.
    pub fn is_empty(&self) -> bool {
        self.payload_len == 0
    }

    /// The payload as it is on the wire (still masked if the frame is), or an empty slice if
    /// `input` is not the slice this frame was decoded from.
    pub fn raw_payload<'a>(&self, input: &'a [u8]) -> &'a [u8] {
        input.get(self.payload_range()).unwrap_or(&[])
    }

    /// Unmasks the payload inside `input` (the slice the frame was decoded from) and returns it.
    pub fn unmask_payload<'a>(&self, input: &'a mut [u8]) -> &'a mut [u8] {
        let payload = match input.get_mut(self.payload_range()) {
            Some(payload) => payload,
            None => &mut [],
        };
        if let Some(mask) = self.header.mask {
            apply_mask(payload, mask, 0);
        }
        payload
    }
}

/// Decodes one whole frame from the start of `input`, as received by `receiver`.
///
/// On top of [`decode_header`]: a server refuses unmasked frames and a client masked ones
/// (close code 1002), and a payload longer than `max_payload_len` is refused (1009) before
/// any of it arrives. Returns [`Status::Partial`] with the bytes still missing until the
/// whole payload is in `input`.
///
/// ```
/// use warp_proto::ws::{decode_frame, Role, Status, WsErrorKind};
///
/// let mut bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let Status::Complete(frame) = decode_frame(&bytes, Role::Server, 1024).unwrap() else {
///     panic!()
/// };
/// assert_eq!(frame.unmask_payload(&mut bytes), b"Hello");
/// // A client must not receive masked frames.
/// let err = decode_frame(&bytes, Role::Client, 1024).unwrap_err();
/// assert_eq!(err.kind, WsErrorKind::MaskedFrame);
/// ```
pub fn decode_frame(
    input: &[u8],
    receiver: Role,
    max_payload_len: u64,
) -> Result<Status<Frame>, WsError> {
    let (header, header_len) = match decode_header(input)? {
        Status::Complete(found) => found,
        Status::Partial { needed } => return Ok(Status::Partial { needed }),
    };
    check_mask(&header, receiver)?;
    let payload_len = check_frame_len(&header, max_payload_len)?;
    let have = input.len().saturating_sub(header_len);
    if have < payload_len {
        return Ok(Status::Partial {
            needed: payload_len - have,
        });
    }
    Ok(Status::Complete(Frame {
        header,
        header_len,
        payload_len,
    }))
}

/// Checks the masking rule for a frame received by `receiver`.
pub(crate) fn check_mask(header: &FrameHeader, receiver: Role) -> Result<(), WsError> {
    match (receiver, header.mask.is_some()) {
        (Role::Server, false) => Err(WsError::new(WsErrorKind::UnmaskedFrame, 1)),
        (Role::Client, true) => Err(WsError::new(WsErrorKind::MaskedFrame, 1)),
        _ => Ok(()),
    }
}

/// Checks the payload length against `limit` and converts it to `usize`.
pub(crate) fn check_frame_len(header: &FrameHeader, limit: u64) -> Result<usize, WsError> {
    let too_large = WsError::new(
        WsErrorKind::FrameTooLarge {
            len: header.payload_len,
            limit,
        },
        1,
    );
    if header.payload_len > limit {
        return Err(too_large);
    }
    usize::try_from(header.payload_len).map_err(|_| too_large)
}

/// Encodes one frame (header then payload) into `out`, returning the bytes written.
///
/// With `mask`, the payload is written masked with that key; a client must pass a fresh,
/// unpredictable key for every frame, a server `None`.
///
/// ```
/// use warp_proto::ws::{encode_frame, Opcode};
///
/// let mut out = [0u8; 16];
/// let n = encode_frame(&mut out, true, Opcode::Text, Some([0x37, 0xfa, 0x21, 0x3d]), b"Hello")
///     .unwrap();
/// assert_eq!(&out[..n], &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
pub fn encode_frame(
    out: &mut [u8],
    fin: bool,
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) -> Result<usize, EncodeError> {
    let header = FrameHeader {
        fin,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    let needed = header.encoded_len().saturating_add(payload.len());
    if out.len() < needed {
        // Report the control frame rules first: no buffer would make those frames valid.
        header.encode(&mut [0u8; MAX_HEADER_LEN])?;
        return Err(EncodeError::BufferTooSmall { needed });
    }
    let header_len = header.encode(out)?;
    let Some(dest) = out.get_mut(header_len..needed) else {
        return Err(EncodeError::BufferTooSmall { needed });
    };
    dest.copy_from_slice(payload);
    if let Some(mask) = mask {
        apply_mask(dest, mask, 0);
    }
    Ok(needed)
}

/// XORs `data` with the masking key, starting `phase` bytes into the key's cycle (the number of
/// payload bytes already processed). Masking and unmasking are the same operation.
///
/// ```
/// let mut data = *b"Hello";
/// warp_proto::ws::apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// // The same in two pieces.
/// let mut split = *b"Hello";
/// let (a, b) = split.split_at_mut(3);
/// warp_proto::ws::apply_mask(a, [0x37, 0xfa, 0x21, 0x3d], 0);
/// warp_proto::ws::apply_mask(b, [0x37, 0xfa, 0x21, 0x3d], 3);
/// assert_eq!(split, data);
/// ```
pub fn apply_mask(data: &mut [u8], mask: [u8; 4], phase: usize) {
    let p = phase & 3;
    let key = [
        mask[p],
        mask[(p + 1) & 3],
        mask[(p + 2) & 3],
        mask[(p + 3) & 3],
    ];
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        if let Ok(bytes) = <[u8; 8]>::try_from(&*chunk) {
            chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ wide).to_ne_bytes());
        }
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i & 3];
    }
}
