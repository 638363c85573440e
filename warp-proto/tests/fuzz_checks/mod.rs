//! The property checks of the fuzz targets, in one place for two users: the cargo-fuzz crate in
//! `warp-proto/fuzz` (which includes this module by path) and the seed-corpus test
//! `tests/fuzz_seeds.rs`, which runs every committed seed through the same checks. A check
//! panics, with the input in the message, when its property fails.
//!
//! Targets that take structured input (`ws_connection`, `server_connection`, `endpoint`) read it with
//! [`arbitrary`] from an explicit byte layout (see [`input`]) and can write it back, so the
//! seed generator can build seeds from real frames.

pub mod endpoint;
pub mod envelope;
pub mod input;
pub mod recon;
pub mod server_connection;
pub mod ws_connection;
pub mod ws_frame;
pub mod ws_handshake;

use arbitrary::{Arbitrary, Unstructured};

/// Runs a target's checks on the raw bytes of one input (a seed file or a fuzzer input).
pub type Check = fn(&[u8]);

/// Every fuzz target, by name, with its checks.
pub const TARGETS: &[(&str, Check)] = &[
    ("recon_reader", recon::recon_reader),
    ("recon_value", recon::recon_value),
    ("envelope", envelope::envelope),
    ("ws_frame", ws_frame::ws_frame),
    ("ws_handshake", ws_handshake::ws_handshake),
    ("ws_connection", |data| {
        ws_connection::ws_connection(&structured(data))
    }),
    ("server_connection", |data| {
        server_connection::server_connection(&structured(data))
    }),
    ("endpoint", |data| endpoint::endpoint(&structured(data))),
];

/// Reads a structured input the way `fuzz_target!(|input: T| ...)` does.
pub fn structured<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> T {
    match T::arbitrary_take_rest(Unstructured::new(data)) {
        Ok(input) => input,
        // The inputs of these checks read every field with defaults; they never fail.
        Err(e) => panic!("structured input refused: {e}"),
    }
}
