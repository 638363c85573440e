//! Helpers shared by the connection tests: draining a machine's output, and reading the
//! recorded traces of `conformance/traces/`.
#![allow(dead_code)]

pub mod trace;

use warp_proto::connection::{ClientConnection, ServerConnection, Storage, Transmit};

/// One thing a machine handed out, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    /// A text frame.
    Frame(String),
    /// A close frame with this code.
    Close(u16),
}

impl Out {
    /// The frame text (panics on a close).
    pub fn text(&self) -> &str {
        match self {
            Out::Frame(s) => s,
            Out::Close(c) => panic!("expected a frame, got close {c}"),
        }
    }
}

fn own(t: Transmit<'_>) -> Out {
    match t {
        Transmit::Frame(s) => Out::Frame(s.to_owned()),
        Transmit::Close(c) => Out::Close(c.code()),
    }
}

/// Drains a server's outbound queue.
pub fn drain_server<S: Storage>(server: &mut ServerConnection<S>) -> Vec<Out> {
    let mut out = Vec::new();
    while let Some(t) = server.poll_transmit() {
        out.push(own(t));
        assert!(out.len() < 100_000, "poll_transmit does not end");
    }
    out
}

/// Drains a client's outbound queue.
pub fn drain_client<S: Storage>(client: &mut ClientConnection<S>) -> Vec<Out> {
    let mut out = Vec::new();
    while let Some(t) = client.poll_transmit() {
        out.push(own(t));
        assert!(out.len() < 100_000, "poll_transmit does not end");
    }
    out
}

/// Frames as strings; a close as `close NNNN`.
pub fn texts(out: &[Out]) -> Vec<String> {
    out.iter()
        .map(|o| match o {
            Out::Frame(s) => s.clone(),
            Out::Close(c) => format!("close {c}"),
        })
        .collect()
}
