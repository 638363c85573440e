//! Helpers shared by the `ws_*` tests: drive a connection over byte slices and collect what it
//! produces.
#![allow(dead_code)]

use warp_proto::ws::{
    CloseReason, Instant, Message, Role, Storage, WsConfig, WsConnection, WsState,
};

/// A received message, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    Text(String),
    Binary(Vec<u8>),
}

impl From<Message<'_>> for Msg {
    fn from(m: Message<'_>) -> Self {
        match m {
            Message::Text(t) => Msg::Text(t.to_owned()),
            Message::Binary(b) => Msg::Binary(b.to_vec()),
        }
    }
}

/// Everything a connection produced while fed some input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    pub messages: Vec<Msg>,
    pub transmit: Vec<u8>,
    pub closed: Option<CloseReason>,
    pub consumed: usize,
}

pub type VecConn = WsConnection<Vec<u8>, Vec<u8>>;

pub const T0: Instant = Instant::from_millis(0);

pub fn server(config: WsConfig) -> VecConn {
    WsConnection::server(T0, config, Vec::new(), Vec::new()).expect("server")
}

pub fn client(config: WsConfig) -> VecConn {
    WsConnection::client(T0, config, [9; 16], Vec::new(), Vec::new()).expect("client")
}

pub fn conn(role: Role, config: WsConfig) -> VecConn {
    match role {
        Role::Server => server(config),
        Role::Client => client(config),
    }
}

/// Drains messages and transmit bytes into `out`.
pub fn drain<R: Storage, T: Storage>(conn: &mut WsConnection<R, T>, out: &mut Outputs) {
    loop {
        let mut progress = false;
        while let Some(m) = conn.poll_message() {
            out.messages.push(m.into());
            progress = true;
        }
        while let Some(bytes) = conn.poll_transmit() {
            out.transmit.extend_from_slice(bytes);
            progress = true;
        }
        if !progress {
            break;
        }
    }
    out.closed = conn.poll_closed();
}

/// Feeds `input` in pieces split at `splits` (positions), draining after every call, as a
/// driver would. Panics if the connection stops consuming without anything to drain.
pub fn feed_split<R: Storage, T: Storage>(
    conn: &mut WsConnection<R, T>,
    input: &[u8],
    splits: &[usize],
) -> Outputs {
    let mut out = Outputs::default();
    let mut bounds: Vec<usize> = splits
        .iter()
        .copied()
        .filter(|&s| s <= input.len())
        .collect();
    bounds.push(input.len());
    bounds.sort_unstable();
    let mut start = 0;
    for end in bounds {
        let mut piece = &input[start..end];
        let mut stalls = 0;
        while !piece.is_empty() {
            let n = conn.handle_input(T0, piece);
            out.consumed += n;
            piece = &piece[n..];
            drain(conn, &mut out);
            if n == 0 {
                stalls += 1;
                assert!(stalls < 3, "connection stopped consuming input");
            }
        }
        start = end;
    }
    drain(conn, &mut out);
    out
}

/// Feeds `input` in one piece.
pub fn feed<R: Storage, T: Storage>(conn: &mut WsConnection<R, T>, input: &[u8]) -> Outputs {
    feed_split(conn, input, &[])
}

/// Moves bytes between two connections until neither has anything to say. Returns the
/// messages each received (a's, b's).
pub fn pump(a: &mut VecConn, b: &mut VecConn, now: Instant) -> (Vec<Msg>, Vec<Msg>) {
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    for _ in 0..1000 {
        let mut progress = false;
        while let Some(m) = a.poll_message() {
            got_a.push(m.into());
            progress = true;
        }
        while let Some(m) = b.poll_message() {
            got_b.push(m.into());
            progress = true;
        }
        if let Some(bytes) = a.poll_transmit() {
            let bytes = bytes.to_vec();
            deliver(b, &bytes, now, &mut got_b);
            progress = true;
        }
        if let Some(bytes) = b.poll_transmit() {
            let bytes = bytes.to_vec();
            deliver(a, &bytes, now, &mut got_a);
            progress = true;
        }
        if !progress {
            return (got_a, got_b);
        }
    }
    panic!("pump did not settle (livelock)");
}

fn deliver(to: &mut VecConn, mut bytes: &[u8], now: Instant, got: &mut Vec<Msg>) {
    let mut stalls = 0;
    while !bytes.is_empty() {
        let n = to.handle_input(now, bytes);
        bytes = &bytes[n..];
        while let Some(m) = to.poll_message() {
            got.push(m.into());
        }
        if n == 0 {
            stalls += 1;
            // The receiver waits for its transmit storage to drain; our pump would do that,
            // but with Vec storages this does not happen.
            assert!(stalls < 3, "receiver stopped consuming");
        }
    }
}

/// Whether the connection is fully closed.
pub fn is_closed<R: Storage, T: Storage>(conn: &WsConnection<R, T>) -> bool {
    conn.state() == WsState::Closed
}

/// A masked client frame (fixed key) with the given first byte.
pub fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, Some([0x11, 0x22, 0x33, 0x44]), payload)
}

/// An unmasked server frame with the given first byte.
pub fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, None, payload)
}

/// Builds a frame by hand (independently of the crate's encoder).
pub fn frame(b0: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    let m = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len <= 125 {
        out.push(m | len as u8);
    } else if len <= 0xFFFF {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// Decodes all unmasked-or-masked frames in `bytes` into (first byte, unmasked payload), by
/// hand. Panics on truncated input.
pub fn parse_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let b0 = bytes[0];
        let masked = bytes[1] & 0x80 != 0;
        let mut len = u64::from(bytes[1] & 0x7F);
        let mut at = 2;
        if len == 126 {
            len = u64::from(u16::from_be_bytes([bytes[2], bytes[3]]));
            at = 4;
        } else if len == 127 {
            len = u64::from_be_bytes(bytes[2..10].try_into().unwrap());
            at = 10;
        }
        let key = if masked {
            let k = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
            at += 4;
            Some(k)
        } else {
            None
        };
        let len = len as usize;
        let mut payload = bytes[at..at + len].to_vec();
        if let Some(k) = key {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= k[i % 4];
            }
        }
        frames.push((b0, payload));
        bytes = &bytes[at + len..];
    }
    frames
}
