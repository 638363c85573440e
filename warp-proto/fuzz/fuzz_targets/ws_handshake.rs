//! Fuzz target `ws_handshake`: the opening handshake parsers: offsets, prefixes, accepted request → accepted answer.
//! The checks are in `warp-proto/tests/fuzz_checks/ws_handshake.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warp_proto_fuzz::checks::ws_handshake;

fuzz_target!(|data: &[u8]| ws_handshake::ws_handshake(data));
